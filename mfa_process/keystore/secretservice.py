"""Fast, read-only Secret Service lookups for the cache-hit path.

``import keyring`` and its backend discovery cost several times more than the rest of a cache hit, so reads
talk to ``org.freedesktop.secrets`` over D-Bus with the small client in :mod:`mfa_process.dbus` (imported
on the first :func:`read`). Writes and deletes, and every case this module cannot answer with certainty,
stay with ``keyring``.

:func:`read` mirrors ``keyring.backends.SecretService.Keyring.get_password`` (keyring 23.9-25,
SecretStorage 3):

* collection: ``/org/freedesktop/secrets/aliases/default``, or the object path in
  ``KEYRING_PROPERTY_PREFERRED_COLLECTION``;
* query: ``{"username": username, "service": service}`` (``{"UserName": ..., "Title": ...}`` with
  ``KEYRING_PROPERTY_SCHEME=KeePassXC``) through ``Collection.SearchItems``. ``keyring.set_password`` also
  stores ``application="Python keyring library"``, but lookups do not filter on it;
* result: the secret of the *first* item found, decoded as strict UTF-8; the content type is ignored.

Where keyring would prompt (no default collection, a locked collection or item) or fail, :func:`read`
raises :class:`FastReadUnavailable` and the caller asks ``keyring``. So does a bus the client cannot use:
an address with no ``unix:path=`` or ``unix:abstract=`` entry, or a bus that refuses SASL ``EXTERNAL``.

Transfer encryption: secrets cross the session bus with the ``plain`` algorithm by default. SecretStorage
negotiates ``dh-ietf1024-sha256-aes128-cbc-pkcs7``, which needs AES from ``cryptography``: on a 2-core
machine a DH read took 32 ms against 10 ms plain (``python -c pass``: 7.7 ms). The Secret Service specification
(section 7, "Transfer of Secrets") states that this encryption is not meant to resist active attackers and
is of "questionable value" for Python programs; the bus is a per-user socket, and a process able to
watch it runs as the user and can call ``GetSecret`` itself. ``read(..., encrypted=True)`` selects the
DH session anyway.
"""

from __future__ import annotations

import errno
import os
import sys
import time

from mfa_process.keystore import config_path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, Final

#: Fully qualified name of keyring's Secret Service backend class.
SECRET_SERVICE_BACKEND: Final = "keyring.backends.SecretService.Keyring"  # noqa: S105 - a class name
#: Default bound, in seconds, on connecting and on each D-Bus exchange. Generous, because a service may
#: hold its reply while it asks the user to allow access (KeePassXC can); gnome-keyring answers in < 1 ms.
TIMEOUT: Final = 20.0

_BUS_NAME: Final = "org.freedesktop.secrets"
_SERVICE_PATH: Final = "/org/freedesktop/secrets"
_DEFAULT_COLLECTION: Final = "/org/freedesktop/secrets/aliases/default"
_IFACE: Final = "org.freedesktop.Secret."
_DH: Final = "dh-ietf1024-sha256-aes128-cbc-pkcs7"
#: RFC 2409 Second Oakley Group (1024-bit MODP, generator 2), the group of the DH algorithm.
_DH_PRIME: Final = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF",
    16,
)
#: ``keyring.backend.SchemeSelectable.schemes``: scheme -> (username attribute, service attribute).
_SCHEMES: Final = {"default": ("username", "service"), "KeePassXC": ("UserName", "Title")}
#: ``KEYRING_PROPERTY_*`` names this module honours (``appid`` changes writes only).
_KNOWN_PROPERTIES: Final = frozenset({"scheme", "preferred_collection", "appid"})


#: Reply signature of each Secret Service method this module calls (Secret Service API 0.2).
_REPLIES: Final = {"SearchItems": "ao", "OpenSession": "vo", "GetSecret": "(oayays)"}


class FastReadUnavailable(Exception):
    """The fast path cannot answer with certainty; ask ``keyring`` instead."""


class FastReadTimeout(FastReadUnavailable):
    """The Secret Service took the whole time budget of this process; it is not asked again."""


class EntryUnreadable(FastReadUnavailable):
    """The Secret Service answered, but this one entry cannot be read fast (keyring decides what it is)."""


class ServiceAbsent(FastReadUnavailable):
    """No Secret Service to read from here: no session bus, none on it, or its collection missing or locked.

    Only this (and a timeout) lets ``--cache auto`` choose another backend. Any other failed read is
    left to ``keyring``: a read that failed once under load must not look like an empty cache.
    """


#: D-Bus errors that mean nobody serves the Secret Service, or not the collection asked for.
_ABSENT_ERRORS: Final = frozenset(
    {
        "org.freedesktop.DBus.Error.ServiceUnknown",
        "org.freedesktop.DBus.Error.NameHasNoOwner",
        "org.freedesktop.DBus.Error.UnknownObject",
        "org.freedesktop.Secret.Error.NoSuchObject",
    }
)


class _Bus:
    """A session-bus connection and, once opened, its ``plain`` Secret Service session."""

    def __init__(self, address: str, timeout: float) -> None:
        from mfa_process import dbus

        self.address = address
        self.conn = dbus.connect(address, timeout)
        self.plain_session: str | None = None
        #: ``time.monotonic()`` by which the current read must be done (set by :func:`read`).
        self.deadline = time.monotonic() + timeout

    def call(self, path: str, interface: str, method: str, signature: str, *body: Any) -> list[Any]:
        """Call ``org.freedesktop.Secret.<interface>.<method>`` on ``path``; return the reply's values.

        The reply must have the signature the specification gives the method (:data:`_REPLIES`).
        """
        self._bound()
        reply = _REPLIES[method]
        return self.conn.call(_BUS_NAME, path, _IFACE + interface, method, signature, *body, reply=reply)

    def _bound(self) -> None:
        """Give the next exchange only what is left of the read's deadline."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the read's deadline passed")
        self.conn.timeout = left

    def get_property(self, path: str, interface: str, name: str) -> Any:
        """Return ``(signature, value)`` of property ``org.freedesktop.Secret.<interface>.<name>``."""
        from mfa_process.dbus import PROPERTIES

        self._bound()
        (variant,) = self.conn.call(_BUS_NAME, path, PROPERTIES, "Get", "ss", _IFACE + interface, name, reply="v")
        return variant

    def close(self) -> None:
        """Close the connection; the daemon then closes its sessions."""
        self.conn.close()


#: The connection :func:`read` keeps for the rest of the (short-lived) process; see :func:`close`.
#: Not guarded by a lock: call :func:`read` from one thread at a time.
_bus: _Bus | None = None
#: Seconds this process has spent in :func:`read` so far: all its reads share one budget of
#: :data:`TIMEOUT`, so a slow service costs a hit (head and parts, several exchanges each) at most that.
_spent = 0.0


def read(
    service: str,
    username: str,
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = TIMEOUT,
    encrypted: bool = False,
) -> str | None:
    """Return what ``keyring.get_password(service, username)`` would, or None when no item matches.

    Valid only when keyring's backend is the Secret Service one (see :func:`decide_for`). ``env`` defaults
    to ``os.environ`` (``DBUS_SESSION_BUS_ADDRESS``, ``KEYRING_PROPERTY_*``). ``timeout`` bounds the whole
    read (connecting and every exchange), in seconds, and no more than what is left of the process's
    budget of :data:`TIMEOUT` seconds for all its reads. ``encrypted`` selects the DH transfer session.
    The connection is kept for later calls in this process until :func:`close`.

    Raises :class:`FastReadUnavailable` when no session bus or Secret Service answers, the collection is
    missing or locked, the item needs unlocking, D-Bus fails, or the secret is not valid UTF-8;
    :class:`FastReadTimeout` once the budget is spent.
    """
    global _bus, _spent  # noqa: PLW0603 - one connection and one time budget per process
    environ = os.environ if env is None else env
    username_attr, service_attr, collection = _backend_settings(environ)
    address = environ.get("DBUS_SESSION_BUS_ADDRESS")
    if not address:
        raise ServiceAbsent("DBUS_SESSION_BUS_ADDRESS is not set")
    start = time.monotonic()
    left = min(timeout, TIMEOUT - _spent)
    if left <= 0:
        raise FastReadTimeout(f"the Secret Service did not answer within {TIMEOUT:g} s")
    try:
        if _bus is None or _bus.address != address:
            close()
            try:
                _bus = _Bus(address, left)
            except OSError as exc:
                if isinstance(exc, TimeoutError):
                    raise
                raise ServiceAbsent(f"cannot connect to the session bus: {exc.strerror or exc}") from None
        _bus.deadline = start + left
        secret = _lookup(_bus, collection, {username_attr: username, service_attr: service}, encrypted)
    except Exception as exc:  # OSError (timeouts included), dbus.DBusError, dbus.ProtocolError, ValueError...
        close()
        if isinstance(exc, FastReadUnavailable):
            raise
        if isinstance(exc, TimeoutError):
            _spent = TIMEOUT  # a service that let one read time out is not waited for again
            raise FastReadTimeout(f"the Secret Service did not answer within {left:g} s") from None
        if getattr(exc, "name", None) in _ABSENT_ERRORS:
            raise ServiceAbsent(f"no Secret Service or collection to read on the session bus ({exc})") from None
        raise FastReadUnavailable(f"Secret Service lookup failed: {type(exc).__name__}: {exc}") from exc
    finally:
        _spent = min(TIMEOUT, _spent + time.monotonic() - start)
    if secret is None:
        return None
    try:
        return secret.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # keyring would raise too. Raised out here so that no exception or frame keeps the secret's bytes.
    del secret
    raise EntryUnreadable("the stored secret is not valid UTF-8")


def close() -> None:
    """Close the connection :func:`read` keeps, if any."""
    global _bus
    bus, _bus = _bus, None
    if bus is not None:
        import contextlib

        with contextlib.suppress(OSError):
            bus.close()


def _lookup(bus: _Bus, collection: str, query: dict[str, str], encrypted: bool) -> bytes | None:
    """Return the secret bytes of the first item of ``collection`` matching ``query``, or None.

    A hit is ``SearchItems`` and ``GetSecret`` (plus ``OpenSession`` once per connection); no property is
    read. A locked item makes ``GetSecret`` fail with ``IsLocked``, where keyring would ask to unlock; only
    a miss asks whether the collection is locked (keyring would ask to unlock before searching, so "no
    item" is certain only in an unlocked collection). gnome-keyring 42 aborted under load when a client
    went away during a ``Properties.Get``; keeping that call off the hit keeps it off the busy path.
    """
    (paths,) = bus.call(collection, "Collection", "SearchItems", "a{ss}", query)
    if not paths:
        if bus.get_property(collection, "Collection", "Locked") != ("b", False):
            raise ServiceAbsent(f"the collection {collection} is locked")
        return None
    try:
        if encrypted:
            return _get_secret_dh(bus, paths[0])
        if bus.plain_session is None:
            _output, bus.plain_session = bus.call(_SERVICE_PATH, "Service", "OpenSession", "sv", "plain", ("s", ""))
        ((_session, _parameters, value, _content_type),) = bus.call(
            paths[0], "Item", "GetSecret", "o", bus.plain_session
        )
    except Exception as exc:
        if getattr(exc, "name", "") == _IFACE + "Error.IsLocked":
            raise ServiceAbsent(f"the item is locked in {collection}") from None
        raise
    return bytes(value)


def _get_secret_dh(bus: _Bus, item: str) -> bytes:
    """Fetch ``item``'s secret through a new ``dh-ietf1024-sha256-aes128-cbc-pkcs7`` session."""
    import hashlib
    import hmac

    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    private = int.from_bytes(os.urandom(128), "big")
    public = pow(2, private, _DH_PRIME).to_bytes(128, "big")
    (signature, server_public), session = bus.call(_SERVICE_PATH, "Service", "OpenSession", "sv", _DH, ("ay", public))
    peer = int.from_bytes(bytes(server_public), "big")
    if signature != "ay" or not 1 < peer < _DH_PRIME - 1:
        raise FastReadUnavailable("the Secret Service sent an invalid DH public key")
    shared = pow(peer, private, _DH_PRIME).to_bytes(128, "big")
    # HKDF-SHA256, zero salt, empty info, 16 bytes: the algorithm's AES-128 key.
    prk = hmac.new(b"\0" * 32, shared, hashlib.sha256).digest()
    key = hmac.new(prk, b"\x01", hashlib.sha256).digest()[:16]
    ((_session, iv, ciphertext, _content_type),) = bus.call(item, "Item", "GetSecret", "o", session)
    decryptor = Cipher(algorithms.AES(key), modes.CBC(bytes(iv))).decryptor()
    padded = decryptor.update(bytes(ciphertext)) + decryptor.finalize()
    pad = padded[-1] if padded else 0
    if not 1 <= pad <= 16 or padded[-pad:] != bytes([pad]) * pad:
        raise FastReadUnavailable("the Secret Service sent a badly padded secret")
    return padded[:-pad]


def _backend_settings(env: Mapping[str, str]) -> tuple[str, str, str]:
    """Return (username attribute, service attribute, collection path) as keyring's backend would use.

    keyring sets every ``*KEYRING_PROPERTY_<NAME>`` variable as attribute ``<name>`` of the backend; one
    this module does not know could change the backend's behaviour, so it makes the fast path unavailable.
    """
    props: dict[str, str] = {}
    for key, value in env.items():
        _prefix, found, name = key.partition("KEYRING_PROPERTY_")
        if found:
            props[name.lower()] = value
    unknown = sorted(set(props) - _KNOWN_PROPERTIES)
    if unknown:
        raise FastReadUnavailable(f"keyring backend properties the fast path does not handle: {unknown}")
    scheme = props.get("scheme", "default")
    if scheme not in _SCHEMES:
        raise FastReadUnavailable(f"unknown keyring scheme {scheme!r}")
    username_attr, service_attr = _SCHEMES[scheme]
    return username_attr, service_attr, props.get("preferred_collection", _DEFAULT_COLLECTION)


def decide(env: Mapping[str, str], config_text: str | None, remembered: str | None) -> bool:
    """Tell whether keyring would use its Secret Service backend, in keyring's order of precedence.

    ``env``: ``PYTHON_KEYRING_BACKEND``, when set, decides alone (compared exactly: keyring does not strip
    it). ``config_text``: keyring's ``keyringrc.cfg`` (None when it does not exist); its ``[backend]
    default-keyring`` decides next, and a file keyring could not parse gives False. ``remembered``: the
    class path (``module.QualName``) keyring's auto-detection chose last time; only
    :data:`SECRET_SERVICE_BACKEND` gives True (a chainer may find items in another backend).
    """
    if "PYTHON_KEYRING_BACKEND" in env:
        return env["PYTHON_KEYRING_BACKEND"] == SECRET_SERVICE_BACKEND
    if config_text is not None:
        import configparser

        config = configparser.RawConfigParser()
        try:
            config.read_string(config_text)
        except configparser.Error:
            return False
        if config.has_option("backend", "default-keyring"):
            return config.get("backend", "default-keyring").strip() == SECRET_SERVICE_BACKEND
    return remembered == SECRET_SERVICE_BACKEND


def decide_for(env: Mapping[str, str], remembered: str | None) -> bool:
    """:func:`decide` for ``env`` and the config file it points to; False whenever unsure (e.g. Windows).

    ``env`` must be the environment keyring will see (``os.environ`` in production).
    """
    if sys.platform == "win32":
        return False
    if "PYTHON_KEYRING_BACKEND" in env:
        return decide(env, None, remembered)
    path = config_path(env)
    try:
        os.stat(path)
    except OSError as exc:
        # What pathlib.Path.exists(), which keyring uses, reports as "no file"; other errors make it raise.
        if exc.errno not in (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP):
            return False
        return decide(env, None, remembered)
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except UnicodeDecodeError:
        return False  # keyring would raise
    except OSError:
        text = ""  # configparser skips a file it cannot open
    return decide(env, text, remembered)


def backend_is_secret_service(remembered: str | None = None) -> bool:
    """:func:`decide_for` this process's environment."""
    return decide_for(os.environ, remembered)


class SecretServiceBackend:
    """:class:`~mfa_process.keystore.Backend` on the Secret Service: reads over the project's D-Bus client,
    writes and deletes through keyring's Secret Service backend (so both always agree)."""

    def __init__(self, state: Any, env: Mapping[str, str]) -> None:
        self.state = state
        self.env = env
        self._writer: Any = None
        #: Why the last read could not take the fast path (None when it did).
        self.slow_reason: str | None = None

    @property
    def writer(self) -> Any:
        """keyring's Secret Service backend, loaded on first use."""
        if self._writer is None:
            from mfa_process.keystore.keyringlib import KeyringStore

            self._writer = KeyringStore(self.state, self.env, forced=SECRET_SERVICE_BACKEND)
        return self._writer

    def get(self, name: str) -> str | None:
        """Read over D-Bus; where that cannot answer with certainty, through keyring (not after a timeout:
        keyring would wait on the same silent service again)."""
        from mfa_process.keystore import SERVICE

        try:
            value = read(SERVICE, name, env=self.env)
        except FastReadTimeout as exc:
            raise timed_out(exc) from None
        except FastReadUnavailable as exc:
            self.slow_reason = str(exc)
            return self.writer.get(name)  # type: ignore[no-any-return]
        self.slow_reason = None
        return value

    def set(self, name: str, value: str, expires: float | None = None) -> None:
        """Write through keyring (the Secret Service keeps no expiry)."""
        self.writer.set(name, value)

    def delete(self, name: str) -> None:
        """Delete through keyring; an absent item is not an error."""
        self.writer.delete(name)

    def names(self) -> list[str]:
        """Names of every item with this tool's service attribute in keyring's collection."""
        import secretstorage

        from mfa_process.keystore import SERVICE

        username_attr, service_attr, path = _backend_settings(self.env)
        connection = secretstorage.dbus_init()
        try:
            collection = secretstorage.Collection(connection, path)
            items = collection.search_items({service_attr: SERVICE})
            return [str(item.get_attributes().get(username_attr, "")) for item in items]
        finally:
            connection.close()

    def describe(self) -> dict[str, Any]:
        """The backend class and whether reads take the fast path."""
        return {"backend": SECRET_SERVICE_BACKEND, "fast_path": self.slow_reason or "active"}


def timed_out(exc: FastReadTimeout) -> Exception:
    """The one line for a Secret Service that let a read run out of time."""
    from mfa_process.errors import KeyringUnavailable

    return KeyringUnavailable(
        f"{exc}; restart the keyring daemon (log out and in, or `gnome-keyring-daemon --replace`), "
        "or use --cache kernel"
    )
