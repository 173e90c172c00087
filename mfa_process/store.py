"""Secret storage: named items in the OS keyring, split into parts when one item would be too large.

Windows Credential Manager caps a secret at 2560 bytes and ``keyring`` stores UTF-16 there, so an item holds
about 1280 characters; a role session token alone can come close. Every backend therefore gets values of at
most :data:`PART_SIZE` characters. A longer value is written as parts under a fresh generation id first and
then published by rewriting the head item (``parts:<gen>:<count>:<digest>``); a reader follows the head and
checks the digest, so it sees the old value or the new one, never a mix.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from mfa_process.errors import KeyringError, KeyringUnavailable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Final, Protocol, TypeVar

#: Keyring service name of every item the tool writes.
SERVICE: Final = "mfa-process"
#: Largest value stored in one keyring item, in characters (fits Windows' 2560-byte UTF-16 limit).
PART_SIZE: Final = 1000
#: How long one keyring call may take before we stop waiting (a locked keyring may wait on a prompt).
KEYRING_TIMEOUT: Final = 20.0
HEAD_PREFIX: Final = "parts:"

if TYPE_CHECKING:
    T = TypeVar("T")

    class RawStore(Protocol):
        """One keyring-like namespace of single items."""

        def get(self, name: str) -> str | None:
            """The item's value, or None."""

        def set(self, name: str, value: str) -> None:
            """Create or replace the item."""

        def delete(self, name: str) -> None:
            """Remove the item if it exists."""


class MemoryStore:
    """In-memory :class:`RawStore` for unit tests; *limit* emulates a backend's size cap."""

    def __init__(self, limit: int | None = None) -> None:
        self.items: dict[str, str] = {}
        self.limit = limit

    def get(self, name: str) -> str | None:
        """The item's value, or None."""
        return self.items.get(name)

    def set(self, name: str, value: str) -> None:
        """Store the item, refusing values over the limit as a real capped backend would."""
        if self.limit is not None and len(value) > self.limit:
            raise KeyringError(f"value of {len(value)} characters exceeds the backend limit")
        self.items[name] = value

    def delete(self, name: str) -> None:
        """Remove the item if it exists."""
        self.items.pop(name, None)


def _digest(value: str) -> str:
    import hashlib

    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]


class SecretStore:
    """Values of any length on top of a :class:`RawStore`, split into parts as needed."""

    def __init__(self, raw: RawStore, part_size: int = PART_SIZE) -> None:
        self.raw = raw
        self.part_size = part_size

    def _parts_of(self, head: str | None) -> list[str]:
        if not head or not head.startswith(HEAD_PREFIX):
            return []
        try:
            _, gen, count, _ = head.split(":")
            return [f"#{gen}.{i}" for i in range(int(count))]
        except ValueError:
            return []

    def _old_parts(self, key: str) -> list[str]:
        """Parts of the value stored now; an unreadable head (corrupt, not UTF-8) has none to clean up."""
        try:
            return self._parts_of(self.raw.get(key))
        except KeyringUnavailable:
            raise
        except KeyringError:
            return []

    def get(self, key: str) -> str | None:
        """The value under *key*; None when absent or when its parts do not add up."""
        head = self.raw.get(key)
        if head is None or not head.startswith(HEAD_PREFIX):
            return head
        pieces = []
        for suffix in self._parts_of(head):
            piece = self.raw.get(key + suffix)
            if piece is None:
                return None
            pieces.append(piece)
        value = "".join(pieces)
        if not pieces or _digest(value) != head.rsplit(":", 1)[-1]:
            return None
        return value

    def set(self, key: str, value: str) -> None:
        """Store *value*, publishing a multi-part value only once all its parts are written."""
        old = self._old_parts(key)
        if len(value) <= self.part_size and not value.startswith(HEAD_PREFIX):
            self.raw.set(key, value)
        else:
            import secrets

            gen = secrets.token_hex(4)
            chunks = [value[i : i + self.part_size] for i in range(0, len(value), self.part_size)]
            for i, chunk in enumerate(chunks):
                self.raw.set(f"{key}#{gen}.{i}", chunk)
            self.raw.set(key, f"{HEAD_PREFIX}{gen}:{len(chunks)}:{_digest(value)}")
        for suffix in old:
            self.raw.delete(key + suffix)

    def delete(self, key: str) -> None:
        """Remove *key* and any parts it has."""
        for suffix in self._old_parts(key):
            self.raw.delete(key + suffix)
        self.raw.delete(key)


#: Backends that keep secrets in plain text or not at all; never used for the session cache silently.
PLAINTEXT_BACKENDS: Final = frozenset(
    {
        "keyrings.alt.file.PlaintextKeyring",
        "keyrings.alt.file_base.Keyring",
        "keyrings.alt.Gnome.Keyring",
    }
)
NO_BACKENDS: Final = frozenset({"keyring.backends.fail.Keyring", "keyring.backends.null.Keyring"})

NO_BACKEND_HELP: Final = (
    "no usable keyring backend; install and unlock a desktop keyring (GNOME Keyring, KWallet), or on a "
    "headless machine run inside `dbus-run-session` with `gnome-keyring-daemon --unlock`, or "
    "`pip install keyrings.cryptfile` and set PYTHON_KEYRING_BACKEND=keyrings.cryptfile.cryptfile.CryptFileKeyring"
    " (see docs/keyrings.md)"
)


def class_path(obj: object) -> str:
    """``module.Class`` of an object's type."""
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def classify_backend(backend: Any) -> str:
    """``secure``, ``plaintext`` or ``none`` for a keyring backend (a chainer is judged by its members)."""
    path = class_path(backend)
    if path == "keyring.backends.chainer.ChainerBackend":
        kinds = {classify_backend(b) for b in getattr(backend, "backends", [])}
        if "secure" in kinds:
            return "secure"
        return "plaintext" if "plaintext" in kinds else "none"
    if path in NO_BACKENDS:
        return "none"
    if path in PLAINTEXT_BACKENDS:
        return "plaintext"
    return "secure"


def _with_timeout(func: Callable[..., T], *args: str, timeout: float = KEYRING_TIMEOUT) -> T:
    """Run one keyring call in a daemon thread so a keyring that waits on an unlock prompt cannot hang us."""
    import threading

    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = func(*args)
        except BaseException as exc:  # handed to the caller's thread below
            box["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise KeyringUnavailable(
            f"the keyring did not answer within {int(timeout)} s; it is probably locked: unlock it "
            "(log in to the desktop, or `gnome-keyring-daemon --unlock`) and retry"
        )
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


class KeyringStore:
    """:class:`RawStore` over the ``keyring`` library, with errors turned into :class:`KeyringError`.

    Reads try the fast Secret Service path first when keyring would use Secret Service anyway, so a cache
    hit does not pay for importing keyring and probing its backends.
    """

    def __init__(self, state: Path, env: Mapping[str, str], *, allow_insecure: bool = False) -> None:
        self.state = state
        self.env = env
        self.allow_insecure = allow_insecure
        self._backend: Any = None

    @property
    def backend_file(self) -> Path:
        """Where the class path of the backend keyring resolved to last time is remembered."""
        return self.state / "backend"

    def remembered_backend(self) -> str | None:
        """The backend class path written by an earlier run, if any."""
        try:
            return self.backend_file.read_text(encoding="utf-8").strip() or None
        except OSError:
            return None

    def backend(self) -> Any:
        """The keyring backend, checked once: absent or plain-text backends are refused."""
        if self._backend is not None:
            return self._backend
        try:
            import keyring
        except ImportError:  # pragma: no cover - keyring is a dependency
            raise KeyringUnavailable(NO_BACKEND_HELP) from None
        try:
            backend = self._remembered_or_none() or keyring.get_keyring()
        except Exception as exc:
            raise KeyringUnavailable(
                f"the keyring backend failed to load ({type(exc).__name__}); {NO_BACKEND_HELP}"
            ) from None
        kind = classify_backend(backend)
        if kind == "none":
            raise KeyringUnavailable(NO_BACKEND_HELP)
        if kind == "plaintext" and not self.allow_insecure:
            raise KeyringUnavailable(
                f"the only keyring backend is {class_path(backend)}, which stores secrets in plain text; "
                "set up a real keyring (docs/keyrings.md) or pass --allow-insecure-keyring to accept it"
            )
        self._backend = backend
        self._remember(class_path(backend))
        return backend

    def _remembered_or_none(self) -> Any:
        """The backend found by an earlier run, loaded directly: keyring's discovery costs more than the write.

        Used only where keyring itself would discover (no PYTHON_KEYRING_BACKEND, no keyringrc.cfg) and only
        while that backend is still viable; delete the state directory's ``backend`` file to re-detect.
        """
        remembered = self.remembered_backend()
        if not remembered or self.env.get("PYTHON_KEYRING_BACKEND"):
            return None
        import os

        from mfa_process.fastkeyring import config_path

        if os.path.exists(config_path(self.env)):
            return None
        import keyring.core

        try:
            return keyring.core.load_keyring(remembered)
        except Exception:  # gone or no longer viable: let keyring discover again
            return None

    def _remember(self, path: str) -> None:
        if self.remembered_backend() == path:
            return
        from mfa_process.paths import private_dir, write_private

        try:
            private_dir(self.state)
            write_private(self.backend_file, path + "\n")
        except Exception:  # noqa: S110 - remembering is an optimisation only
            pass

    def _fast_get(self, name: str) -> tuple[bool, str | None]:
        from mfa_process import fastkeyring

        if not fastkeyring.decide_for(self.env, self.remembered_backend()):
            return False, None
        try:
            return True, fastkeyring.read(SERVICE, name, env=self.env, timeout=KEYRING_TIMEOUT)
        except fastkeyring.FastReadUnavailable:
            return False, None

    def get(self, name: str) -> str | None:
        """Read one item (fast path first)."""
        answered, value = self._fast_get(name)
        if answered:
            return value
        value = self._call("read", "get_password", name)
        return value if isinstance(value, str) else None

    def set(self, name: str, value: str) -> None:
        """Write one item through keyring."""
        self._call("write", "set_password", name, value)

    def delete(self, name: str) -> None:
        """Delete one item through keyring; an absent item is not an error."""
        import keyring.errors

        try:
            self._call("delete", "delete_password", name)
        except KeyringError as exc:
            if isinstance(exc.__cause__, keyring.errors.PasswordDeleteError):
                return
            raise

    def _call(self, verb: str, method: str, *args: str) -> Any:
        backend = self.backend()
        import keyring.errors

        try:
            return _with_timeout(getattr(backend, method), SERVICE, *args)
        except KeyringError:
            raise
        except keyring.errors.KeyringLocked:
            raise KeyringUnavailable(
                "the keyring is locked; unlock it (log in to the desktop, or `gnome-keyring-daemon --unlock`) and retry"
            ) from None
        except keyring.errors.PasswordDeleteError as exc:
            raise KeyringError("no such keyring item") from exc
        except Exception as exc:
            raise KeyringError(
                f"the keyring ({class_path(backend)}) failed to {verb} an item: {type(exc).__name__}"
            ) from None
