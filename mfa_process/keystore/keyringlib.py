"""The ``keyring`` library as a backend: every OS keyring it supports, with checks and a time limit.

Reads try :mod:`mfa_process.keystore.secretservice` first when keyring would use the Secret Service anyway,
so a cache hit does not pay for importing keyring and probing its backends.
"""

from __future__ import annotations

import os

from mfa_process import DOCS_URL
from mfa_process.errors import KeyringError, KeyringUnavailable, StateError
from mfa_process.keystore import SERVICE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path
    from typing import Any, Callable, Final, TypeVar

    T = TypeVar("T")

#: How long one keyring call may take before we stop waiting (a locked keyring may wait on a prompt).
KEYRING_TIMEOUT: Final = 20.0


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
    f" (see {DOCS_URL}/keyrings.md)"
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


#: What a keyring call that does not come back means, most of the time.
LOCKED_HINT: Final = (
    "the keyring did not answer within {seconds} s; it is probably locked: unlock it "
    "(log in to the desktop, or `gnome-keyring-daemon --unlock`) and retry"
)
#: What a backend discovery that does not come back means: something on the session bus accepts
#: connections and never answers (keyring's Secret Service probe talks to it before any item call).
SILENT_BUS_HINT: Final = (
    "the keyring backend did not load within {seconds} s: the D-Bus session bus (DBUS_SESSION_BUS_ADDRESS) "
    "accepts connections but does not answer; restart the session or unset the variable and use --cache kernel"
)


def _with_timeout(func: Callable[..., T], *args: str, timeout: float = KEYRING_TIMEOUT, hint: str = LOCKED_HINT) -> T:
    """Run one keyring call under a deadline so a keyring that waits on an unlock prompt cannot hang us."""
    from mfa_process.deadline import DeadlineExceeded, call_within

    try:
        return call_within(timeout, func, *args)
    except DeadlineExceeded:
        raise KeyringUnavailable(hint.format(seconds=int(timeout) or timeout)) from None


class KeyringStore:
    """:class:`~mfa_process.keystore.Backend` over ``keyring``, with errors turned into :class:`KeyringError`."""

    def __init__(
        self,
        state: str | os.PathLike[str],
        env: Mapping[str, str],
        *,
        allow_insecure: bool = False,
        fast_reads: bool = True,
        forced: str | None = None,
    ) -> None:
        self.state = state
        self.env = env
        self.allow_insecure = allow_insecure
        #: Whether reads may go straight to the Secret Service (when keyring would use it anyway).
        self.fast_reads = fast_reads and forced is None
        #: A keyring backend class path to use instead of keyring's own choice.
        self.forced = forced
        #: Bound, in seconds, on loading the backend and on each keyring call.
        self.timeout = KEYRING_TIMEOUT
        self._backend: Any = None

    @property
    def backend_file(self) -> Path:
        """Where the class path of the backend keyring resolved to last time is remembered."""
        from pathlib import Path

        return Path(self.state, "backend")

    def remembered_backend(self) -> str | None:
        """The backend class path written by an earlier run, if any (read without ``pathlib``: a hit reads it)."""
        from mfa_process.paths import read_state

        text = read_state(os.path.join(self.state, "backend"))  # refuses a state dir or file not the user's own
        return text.strip() or None if text else None

    def backend(self) -> Any:
        """The keyring backend, checked once: absent or plain-text backends are refused."""
        if self._backend is not None:
            return self._backend

        def load() -> Any:
            import keyring.core

            if self.forced:
                return keyring.core.load_keyring(self.forced)
            return self._remembered_or_none() or keyring.core.get_keyring()

        try:
            # Discovery asks each backend whether it is viable; the Secret Service's answer needs the
            # session bus, which may accept the connection and never reply: bounded like every call.
            backend = _with_timeout(load, timeout=self.timeout, hint=SILENT_BUS_HINT)
        except (StateError, KeyringUnavailable):  # the state directory or its backend file cannot be trusted: say so
            raise
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
                f"set up a real keyring ({DOCS_URL}/keyrings.md) or pass --allow-insecure-keyring to accept it"
            )
        self._backend = backend
        if not self.forced:
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
        from mfa_process.keystore import config_path

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
            private_dir(self.backend_file.parent)
            write_private(self.backend_file, path + "\n")
        except Exception:  # noqa: S110 - remembering is an optimisation only
            pass

    def _fast_get(self, name: str) -> tuple[bool, str | None]:
        from mfa_process.keystore import secretservice

        if not self.fast_reads or not secretservice.decide_for(self.env, self.remembered_backend()):
            return False, None
        try:
            return True, secretservice.read(SERVICE, name, env=self.env, timeout=KEYRING_TIMEOUT)
        except secretservice.FastReadTimeout as exc:
            raise secretservice.timed_out(exc) from None
        except secretservice.FastReadUnavailable:
            return False, None

    def get(self, name: str) -> str | None:
        """Read one item (fast path first)."""
        answered, value = self._fast_get(name)
        if answered:
            return value
        value = self._call("read", "get_password", name)
        return value if isinstance(value, str) else None

    def set(self, name: str, value: str, expires: float | None = None) -> None:
        """Write one item through keyring (which has no expiry: *expires* is ignored)."""
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

    def names(self) -> list[str]:
        """keyring has no listing API: entries are found through the index only."""
        return []

    def describe(self) -> dict[str, Any]:
        """The keyring backend's class path, and whether reads take the Secret Service fast path."""
        from mfa_process.keystore import secretservice

        backend = class_path(self.backend())
        if self.fast_reads and secretservice.decide_for(self.env, self.remembered_backend()):
            return {"backend": backend, "fast_path": "active"}
        return {"backend": backend, "fast_path": f"off: keyring's backend is {backend}"}

    def _call(self, verb: str, method: str, *args: str) -> Any:
        backend = self.backend()
        import keyring.errors

        try:
            return _with_timeout(getattr(backend, method), SERVICE, *args, timeout=self.timeout)
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
