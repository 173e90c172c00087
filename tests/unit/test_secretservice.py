"""Unit tests of :mod:`mfa_process.keystore.secretservice`: the backend decision, checked against keyring's own
code, keyring's backend properties, the lookup protocol against a fake Secret Service (as calls, and on the
wire), and failures to reach one. Reads from a real gnome-keyring are in
``tests/integration/test_secretservice.py``."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jeepney
import pytest
from jeepney.low_level import HeaderFields, Message

from mfa_process.keystore import secretservice as fastkeyring
from mfa_process.keystore.secretservice import SECRET_SERVICE_BACKEND as SS
from mfa_process.keystore.secretservice import FastReadUnavailable
from tests.support.fastread import fresh_fast_reads  # noqa: F401 - an autouse fixture
from tests.unit.test_dbus import Peer, Script

ROOT = Path(__file__).resolve().parents[2]
CHAINER = "keyring.backends.chainer.ChainerBackend"
KWALLET = "keyring.backends.kwallet.DBusKeyring"
DEFAULT_COLLECTION = "/org/freedesktop/secrets/aliases/default"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No keyring-related variables from the developer's environment."""
    for name in list(os.environ):
        if "KEYRING_PROPERTY_" in name or name == "PYTHON_KEYRING_BACKEND":
            monkeypatch.delenv(name)


# -- decide: the pure logic ------------------------------------------------------------------------

SS_CONFIG = f"[backend]\ndefault-keyring={SS}\n"


@pytest.mark.parametrize(
    ("env", "config_text", "remembered", "expected"),
    [
        # PYTHON_KEYRING_BACKEND decides alone, compared exactly.
        ({"PYTHON_KEYRING_BACKEND": SS}, None, None, True),
        ({"PYTHON_KEYRING_BACKEND": SS}, f"[backend]\ndefault-keyring={KWALLET}\n", CHAINER, True),
        ({"PYTHON_KEYRING_BACKEND": KWALLET}, SS_CONFIG, SS, False),
        ({"PYTHON_KEYRING_BACKEND": ""}, None, SS, False),
        ({"PYTHON_KEYRING_BACKEND": f" {SS}"}, None, SS, False),
        ({"PYTHON_KEYRING_BACKEND": SS.lower()}, None, SS, False),
        # Then the config file's [backend] default-keyring (stripped; option names are case-insensitive).
        ({}, SS_CONFIG, None, True),
        ({}, SS_CONFIG, CHAINER, True),
        ({}, f"[backend]\nDefault-Keyring : {SS}  \n", None, True),
        ({}, f"[backend]\ndefault-keyring={KWALLET}\n", SS, False),
        ({}, f"[backend]\ndefault-keyring={CHAINER}\n", SS, False),
        ({}, "[backend]\ndefault-keyring=\n", SS, False),
        ({}, f"[DEFAULT]\ndefault-keyring={SS}\n[backend]\n", None, True),
        # A file without a backend choice falls through to the remembered auto-detection.
        ({}, "", SS, True),
        ({}, "# nothing\n", None, False),
        ({}, "[backend]\nkeyring-path=/opt/keyrings\n", SS, True),
        ({}, f"[DEFAULT]\ndefault-keyring={SS}\n", CHAINER, False),
        ({}, f"[Backend]\ndefault-keyring={SS}\n", None, False),
        # A file keyring cannot parse makes keyring raise: never the fast path.
        ({}, f"default-keyring={SS}\n", SS, False),
        ({}, f"[backend]\ndefault-keyring={SS}\ndefault-keyring={SS}\n", SS, False),
        ({}, "[backend]\n[backend]\n", SS, False),
        ({}, "[backend]\ndefault-keyring\n", SS, False),
        # No env, no file: the remembered class path.
        ({}, None, SS, True),
        ({}, None, CHAINER, False),
        ({}, None, "keyring.backends.fail.Keyring", False),
        ({}, None, None, False),
        ({"OTHER": "x"}, None, SS + "\n", False),
    ],
)
def test_decide(env: dict[str, str], config_text: str | None, remembered: str | None, expected: bool) -> None:
    assert fastkeyring.decide(env, config_text, remembered) is expected


# -- decide agrees with keyring's own load_env / load_config -------------------------------------------

CONFIG_TEXTS = [
    SS_CONFIG,
    f"[backend]\ndefault-keyring = {SS}  \n",
    f"[backend]\nDEFAULT-KEYRING: {SS}\n",
    f"[backend]\ndefault-keyring={KWALLET}\n",
    f"[backend]\ndefault-keyring={SS}\n  continued\n",
    "[backend]\nkeyring-path=/nonexistent/keyrings\n",
    "[other]\nx=1\n",
    "",
    "; comment\n",
    f"[DEFAULT]\ndefault-keyring={SS}\n",
    f"[DEFAULT]\ndefault-keyring={SS}\n[backend]\n",
    f"[Backend]\ndefault-keyring={SS}\n",
    f"default-keyring={SS}\n",
    f"[backend]\ndefault-keyring=a\ndefault-keyring={SS}\n",
    "[backend]\n[backend]\n",
    "[backend]\ndefault-keyring\n",
    f"[backend]\r\ndefault-keyring={SS}\r\n",
]


def _keyring_choice(monkeypatch: pytest.MonkeyPatch) -> tuple[str, str | None]:
    """What keyring.core would do with the current environment and config file, without loading it."""
    import keyring.core

    monkeypatch.setattr(keyring.core, "load_keyring", lambda name: name)
    monkeypatch.setattr(sys, "path", list(sys.path))  # keyring-path inserts into sys.path
    try:
        choice = keyring.core.load_env()
        if choice is None:
            choice = keyring.core.load_config()
    except Exception:
        return "error", None
    # load_keyring is patched to return the class path it was given.
    return ("chosen", str(choice)) if choice is not None else ("auto-detect", None)


@pytest.mark.parametrize("text", CONFIG_TEXTS)
@pytest.mark.parametrize("remembered", [None, SS, CHAINER])
def test_decide_for_agrees_with_keyring_config(
    text: str, remembered: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "python_keyring").mkdir()
    (tmp_path / "python_keyring" / "keyringrc.cfg").write_bytes(text.encode("utf-8"))
    kind, choice = _keyring_choice(monkeypatch)
    expected = {"error": False, "chosen": choice == SS, "auto-detect": remembered == SS}[kind]
    assert fastkeyring.decide_for(os.environ, remembered) is expected
    assert fastkeyring.backend_is_secret_service(remembered) is expected


@pytest.mark.parametrize("value", [SS, "", f" {SS}", KWALLET, CHAINER])
def test_decide_agrees_with_keyring_env(value: str, monkeypatch: pytest.MonkeyPatch, clean_env: None) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", value)
    kind, choice = _keyring_choice(monkeypatch)
    assert kind == "chosen"
    assert fastkeyring.decide_for(os.environ, SS) is (choice == SS)


@pytest.mark.parametrize("xdg", [None, "", "/somewhere/config", "relative/config"])
def test_config_path_is_keyrings(xdg: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    from keyring.util import platform_

    if xdg is None:
        monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_CONFIG_HOME", xdg)
    assert fastkeyring.config_path(os.environ) == str(platform_.config_root() / "keyringrc.cfg")


# -- decide_for: the file system side ------------------------------------------------------------------


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_env: None) -> Path:
    """An empty XDG_CONFIG_HOME; returns where keyringrc.cfg goes."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "python_keyring").mkdir()
    return tmp_path / "python_keyring" / "keyringrc.cfg"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX config location")
def test_decide_for_without_config_file_uses_remembered(config_home: Path) -> None:
    assert fastkeyring.decide_for(os.environ, SS) is True
    assert fastkeyring.decide_for(os.environ, CHAINER) is False
    assert fastkeyring.decide_for(os.environ, None) is False


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX config location")
def test_decide_for_env_wins_over_file(config_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config_home.write_text(f"[backend]\ndefault-keyring={KWALLET}\n", encoding="utf-8")
    assert fastkeyring.decide_for(os.environ, SS) is False
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", SS)
    assert fastkeyring.decide_for(os.environ, None) is True


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX config location")
def test_decide_for_non_utf8_config_is_false(config_home: Path) -> None:
    config_home.write_bytes(b"[backend]\ndefault-keyring=\xff\n")
    assert fastkeyring.decide_for(os.environ, SS) is False


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX config location")
def test_decide_for_unopenable_config_is_skipped_like_keyring(config_home: Path) -> None:
    config_home.mkdir()  # exists but cannot be read: configparser skips it, keyring auto-detects
    assert fastkeyring.decide_for(os.environ, SS) is True
    assert fastkeyring.decide_for(os.environ, None) is False


def test_decide_for_is_false_on_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    assert fastkeyring.decide_for({"PYTHON_KEYRING_BACKEND": SS}, SS) is False


# -- keyring's backend properties --------------------------------------------------------------------


@pytest.mark.parametrize(
    "props",
    [
        {},
        {"KEYRING_PROPERTY_SCHEME": "KeePassXC"},
        {"KEYRING_PROPERTY_SCHEME": "default"},
        {"KEYRING_PROPERTY_Scheme": "KeePassXC"},
        {"MY_KEYRING_PROPERTY_SCHEME": "KeePassXC"},
        {"KEYRING_PROPERTY_PREFERRED_COLLECTION": "/org/freedesktop/secrets/collection/work"},
        {"KEYRING_PROPERTY_APPID": "someone else"},
    ],
)
def test_backend_settings_match_keyring(
    props: dict[str, str], monkeypatch: pytest.MonkeyPatch, clean_env: None
) -> None:
    from keyring.backends.SecretService import Keyring

    for name, value in props.items():
        monkeypatch.setenv(name, value)
    backend = Keyring()  # type: ignore[no-untyped-call]  # reads KEYRING_PROPERTY_* as get_keyring() would
    username_attr, service_attr, collection = fastkeyring._backend_settings(os.environ)
    assert {username_attr: "alice", service_attr: "mfa-process"} == backend._query("mfa-process", "alice")
    assert collection == getattr(backend, "preferred_collection", DEFAULT_COLLECTION)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"KEYRING_PROPERTY_SCHEME": "keepassxc"}, "unknown keyring scheme"),
        ({"KEYRING_PROPERTY_SCHEMES": "x"}, "schemes"),
        ({"KEYRING_PROPERTY_GET_PASSWORD": "x"}, "get_password"),
    ],
)
def test_unhandled_backend_properties_make_read_unavailable(props: dict[str, str], message: str) -> None:
    env = {"DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent", **props}
    with pytest.raises(FastReadUnavailable, match=message):
        fastkeyring.read("mfa-process", "alice", env=env)


# -- read: no Secret Service reachable ---------------------------------------------------------------


def test_read_without_session_bus_address() -> None:
    with pytest.raises(FastReadUnavailable, match="DBUS_SESSION_BUS_ADDRESS"):
        fastkeyring.read("mfa-process", "alice", env={})
    with pytest.raises(FastReadUnavailable, match="DBUS_SESSION_BUS_ADDRESS"):
        fastkeyring.read("mfa-process", "alice", env={"DBUS_SESSION_BUS_ADDRESS": ""})


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("unix:path=/nonexistent/mfa-process/bus", "cannot connect to the session bus: No such file or directory"),
        ("unix:abstract=mfa-process-no-such-bus", "cannot connect to the session bus: Connection refused"),
        ("tcp:host=127.0.0.1,port=1", "lookup failed: ProtocolError: no supported transport"),  # keyring may speak it
        ("not an address", "lookup failed"),
    ],
)
def test_read_with_bogus_bus_address(address: str, expected: str) -> None:
    with pytest.raises(FastReadUnavailable, match=expected):
        fastkeyring.read("mfa-process", "alice", env={"DBUS_SESSION_BUS_ADDRESS": address})
    assert fastkeyring._bus is None


@pytest.fixture
def short_dir() -> Iterator[str]:
    """A temporary directory with a short path (socket paths are limited to ~100 bytes)."""
    directory = tempfile.mkdtemp(prefix="fk")
    try:
        yield directory
    finally:
        for name in os.listdir(directory):
            os.unlink(os.path.join(directory, name))
        os.rmdir(directory)


@pytest.fixture
def unix_server() -> Iterator[tuple[str, list[socket.socket]]]:
    """A listening Unix socket that accepts connections and never speaks; yields (address, accepted)."""
    directory = tempfile.mkdtemp(prefix="fk")  # short: socket paths are limited to ~100 bytes
    path = os.path.join(directory, "bus")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen()
    accepted: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            accepted.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"unix:path={path}", accepted
    finally:
        server.close()
        for conn in accepted:
            conn.close()
        os.unlink(path)
        os.rmdir(directory)


def test_read_times_out_on_a_silent_bus(unix_server: tuple[str, list[socket.socket]]) -> None:
    address, _accepted = unix_server
    start = time.monotonic()
    with pytest.raises(FastReadUnavailable):
        fastkeyring.read("mfa-process", "alice", env={"DBUS_SESSION_BUS_ADDRESS": address}, timeout=0.3)
    assert time.monotonic() - start < 60  # a hang guard: without the timeout a silent bus never answers


def test_read_when_the_bus_hangs_up(unix_server: tuple[str, list[socket.socket]]) -> None:
    address, accepted = unix_server

    def hang_up() -> None:
        deadline = time.monotonic() + 5
        while not accepted and time.monotonic() < deadline:
            time.sleep(0.01)
        for conn in accepted:
            conn.close()

    threading.Thread(target=hang_up, daemon=True).start()
    with pytest.raises(FastReadUnavailable):
        fastkeyring.read("mfa-process", "alice", env={"DBUS_SESSION_BUS_ADDRESS": address}, timeout=5)


# -- the lookup protocol, against a fake Secret Service ------------------------------------------------


class FakeSecretService:
    """Answers the calls :func:`fastkeyring._lookup` makes, the way gnome-keyring does."""

    def __init__(self, items: dict[str, tuple[dict[str, str], bytes]], locked: bool = False) -> None:
        self.items = items
        self.locked = locked
        self.sessions: dict[str, bytes | None] = {}
        self.calls: list[str] = []
        self.plain_session: str | None = None
        self.bad_public_key: int | None = None
        self.bad_padding = False

    def get_property(self, path: str, interface: str, name: str) -> Any:
        self.calls.append(f"Properties.Get({interface}.{name})")
        assert (path, interface, name) == (DEFAULT_COLLECTION, "Collection", "Locked")
        return "b", self.locked

    def call(self, path: str, interface: str, method: str, signature: str, *body: Any) -> Any:
        self.calls.append(f"{interface}.{method}")
        if method == "SearchItems":
            (query,) = body
            return ([p for p, (attrs, _) in self.items.items() if query.items() <= attrs.items()],)
        if method == "OpenSession":
            return self._open_session(*body)
        if method == "GetSecret":
            if self.locked:
                from mfa_process.dbus import DBusError

                raise DBusError("org.freedesktop.Secret.Error.IsLocked", "Cannot get secret of a locked object")
            return (self._secret(path, body[0]),)
        raise AssertionError(method)

    def _open_session(self, algorithm: str, parameter: tuple[str, Any]) -> Any:
        session = f"/org/freedesktop/secrets/session/s{len(self.sessions) + 1}"
        if algorithm == "plain":
            self.sessions[session] = None
            return ("s", ""), session
        private = int.from_bytes(os.urandom(128), "big")
        public = pow(2, private, fastkeyring._DH_PRIME)
        shared = pow(int.from_bytes(parameter[1], "big"), private, fastkeyring._DH_PRIME).to_bytes(128, "big")
        prk = hmac.new(b"\0" * 32, shared, hashlib.sha256).digest()
        self.sessions[session] = hmac.new(prk, b"\x01", hashlib.sha256).digest()[:16]
        if self.bad_public_key is not None:
            public = self.bad_public_key
        return ("ay", public.to_bytes(128, "big")), session

    def _secret(self, item: str, session: str) -> tuple[str, bytes, bytes, str]:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        value = self.items[item][1]
        key = self.sessions[session]
        if key is None:
            return session, b"", value, "text/plain"
        pad = 16 - len(value) % 16
        iv = os.urandom(16)
        padded = value + bytes([pad]) * pad
        if self.bad_padding:
            padded = padded[:-1] + b"\x00"
        encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
        return session, iv, encryptor.update(padded) + encryptor.finalize(), "text/plain"


def _item(user: str, secret: bytes, **extra: str) -> tuple[dict[str, str], bytes]:
    return {"service": "mfa-process", "username": user, **extra}, secret


QUERY = {"username": "alice", "service": "mfa-process"}


@pytest.mark.parametrize("encrypted", [False, True])
@pytest.mark.parametrize("secret", [b"", b"v", "h\u00e9llo \u2713 \U0001f389".encode(), b"x" * 4096, bytes(range(16))])
def test_lookup_returns_the_secret_bytes(encrypted: bool, secret: bytes) -> None:
    fake = FakeSecretService({"/i/1": _item("alice", secret), "/i/2": _item("bob", b"other")})
    assert fastkeyring._lookup(fake, DEFAULT_COLLECTION, QUERY, encrypted) == secret  # type: ignore[arg-type]


def test_lookup_takes_the_first_match_and_reuses_the_plain_session() -> None:
    fake = FakeSecretService({"/i/1": _item("alice", b"first"), "/i/2": _item("alice", b"second", extra="1")})
    for _ in range(2):
        assert fastkeyring._lookup(fake, DEFAULT_COLLECTION, QUERY, False) == b"first"  # type: ignore[arg-type]
    assert fake.calls.count("Service.OpenSession") == 1


def test_lookup_of_a_missing_item_is_none() -> None:
    fake = FakeSecretService({"/i/1": _item("bob", b"v")})
    assert fastkeyring._lookup(fake, DEFAULT_COLLECTION, QUERY, False) is None  # type: ignore[arg-type]
    assert fake.calls == ["Collection.SearchItems", "Properties.Get(Collection.Locked)"]


def test_a_hit_reads_no_property() -> None:
    """No ``Properties.Get`` on a hit: the call during which gnome-keyring aborted when a client went away."""
    fake = FakeSecretService({"/i/1": _item("alice", b"v")})
    for _ in range(3):
        assert fastkeyring._lookup(fake, DEFAULT_COLLECTION, QUERY, False) == b"v"  # type: ignore[arg-type]
    assert not [call for call in fake.calls if call.startswith("Properties.")]
    assert fake.calls == ["Collection.SearchItems", "Service.OpenSession", "Item.GetSecret"] + 2 * [
        "Collection.SearchItems",
        "Item.GetSecret",
    ]


@pytest.mark.parametrize("present", [True, False], ids=["item", "no item"])
def test_lookup_in_a_locked_collection_is_unavailable(present: bool) -> None:
    """Where keyring would ask to unlock (before a hit, and before a miss alike), the fast path steps aside."""
    fake = FakeSecretService({"/i/1": _item("alice" if present else "bob", b"v")}, locked=True)
    with pytest.raises(FastReadUnavailable, match="locked"):
        fastkeyring._lookup(fake, DEFAULT_COLLECTION, QUERY, False)  # type: ignore[arg-type]


@pytest.mark.parametrize("public", [0, 1, fastkeyring._DH_PRIME - 1])
def test_dh_rejects_a_degenerate_server_key(public: int) -> None:
    fake = FakeSecretService({"/i/1": _item("alice", b"v")})
    fake.bad_public_key = public
    with pytest.raises(FastReadUnavailable, match="DH public key"):
        fastkeyring._lookup(fake, DEFAULT_COLLECTION, QUERY, True)  # type: ignore[arg-type]


def test_dh_rejects_bad_padding() -> None:
    fake = FakeSecretService({"/i/1": _item("alice", b"v")})
    fake.bad_padding = True
    with pytest.raises(FastReadUnavailable, match="padded"):
        fastkeyring._lookup(fake, DEFAULT_COLLECTION, QUERY, True)  # type: ignore[arg-type]


# -- the lookup on the wire, against a scripted Secret Service -----------------------------------------------


def _expect(peer: Peer, path: str, interface: str, member: str, body: tuple[Any, ...]) -> Message:
    """Read the client's next message and check that it is the method call described."""
    msg = peer.message()
    fields = msg.header.fields
    assert fields[HeaderFields.destination] == "org.freedesktop.secrets"
    called = (fields[HeaderFields.path], fields[HeaderFields.interface], fields[HeaderFields.member])
    assert called == (path, interface, member)
    assert msg.body == body
    return msg


def _reply(peer: Peer, call: Message, signature: str, *body: Any) -> None:
    peer.send(jeepney.new_method_return(call, signature, body))


SERVICE_PATH = "/org/freedesktop/secrets"
SERVICE_IFACE = "org.freedesktop.Secret.Service"
COLLECTION_IFACE = "org.freedesktop.Secret.Collection"
PROPERTIES_IFACE = "org.freedesktop.DBus.Properties"


def test_read_on_the_wire(short_dir: str) -> None:
    """Two reads over one connection: the calls, their arguments and destinations, and one plain session."""
    path = os.path.join(short_dir, "ss")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen()
    secret = "h\u00e9llo \U0001f389"

    def secret_service(peer: Peer) -> None:
        peer.sock, _ = server.accept()
        peer.handshake()
        for first in (True, False):
            call = _expect(peer, DEFAULT_COLLECTION, COLLECTION_IFACE, "SearchItems", (QUERY,))
            _reply(peer, call, "ao", ["/i/1", "/i/2"])
            if first:
                call = _expect(peer, SERVICE_PATH, SERVICE_IFACE, "OpenSession", ("plain", ("s", "")))
                _reply(peer, call, "vo", ("s", ""), "/s/1")
            call = _expect(peer, "/i/1", "org.freedesktop.Secret.Item", "GetSecret", ("/s/1",))
            _reply(peer, call, "(oayays)", ("/s/1", b"", secret.encode(), "text/plain"))
        peer.sock.close()

    running = Script(server, secret_service)
    env = {"DBUS_SESSION_BUS_ADDRESS": f"unix:path={path}"}
    try:
        assert fastkeyring.read("mfa-process", "alice", env=env) == secret
        assert fastkeyring.read("mfa-process", "alice", env=env) == secret
        running.join()
    finally:
        server.close()


def _listening(short_dir: str) -> tuple[socket.socket, str]:
    """A Unix socket listening in *short_dir*, for a scripted Secret Service; and its path."""
    path = os.path.join(short_dir, "ss")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen()
    return server, path


def _read_is_unavailable(server: socket.socket, path: str, script: Any, pattern: str) -> None:
    """A read against *script* on *server* fails with :class:`FastReadUnavailable` matching *pattern*."""
    running = Script(server, script)
    try:
        with pytest.raises(FastReadUnavailable, match=pattern):
            fastkeyring.read("mfa-process", "alice", env={"DBUS_SESSION_BUS_ADDRESS": f"unix:path={path}"})
        running.join()
    finally:
        server.close()
    assert fastkeyring._bus is None


def test_an_error_reply_on_the_wire_is_unavailable(short_dir: str) -> None:
    server, path = _listening(short_dir)

    def secret_service(peer: Peer) -> None:
        peer.sock, _ = server.accept()
        peer.handshake()
        call = peer.message()
        peer.send(jeepney.new_error(call, "org.freedesktop.Secret.Error.NoSuchObject", "s", ("No such collection",)))
        peer.sock.close()

    _read_is_unavailable(
        server, path, secret_service, r"no Secret Service or collection .*NoSuchObject: No such collection"
    )


#: What a hostile or broken Secret Service answers GetSecret with; each must end the read at once.
HOSTILE_SECRETS = {
    "a 2 GiB byte count where the secret belongs": ("(oayus)", (("/s/1", b"", 1 << 31, "text/plain"),)),
    "300 KiB of secret": ("(oayays)", (("/s/1", b"", b"x" * (300 << 10), "text/plain"),)),
}


@pytest.mark.parametrize("reply", HOSTILE_SECRETS.values(), ids=HOSTILE_SECRETS.keys())
def test_a_hostile_secret_reply_on_the_wire_is_unavailable(short_dir: str, reply: tuple[str, tuple[Any, ...]]) -> None:
    server, path = _listening(short_dir)
    signature, body = reply

    def secret_service(peer: Peer) -> None:
        peer.sock, _ = server.accept()
        peer.handshake()
        _reply(peer, _expect(peer, DEFAULT_COLLECTION, COLLECTION_IFACE, "SearchItems", (QUERY,)), "ao", ["/i/1"])
        _reply(
            peer,
            _expect(peer, SERVICE_PATH, SERVICE_IFACE, "OpenSession", ("plain", ("s", ""))),
            "vo",
            ("s", ""),
            "/s/1",
        )
        call = _expect(peer, "/i/1", "org.freedesktop.Secret.Item", "GetSecret", ("/s/1",))
        with contextlib.suppress(OSError):  # the client hangs up as soon as it has seen enough
            peer.send(jeepney.new_method_return(call, signature, body))
        peer.sock.close()

    _read_is_unavailable(server, path, secret_service, r"lookup failed: ProtocolError: .*(signature|limit)")


# -- import cost -----------------------------------------------------------------------------------------


def test_import_and_decision_stay_light(tmp_path: Path) -> None:
    """The module and the backend decision import neither keyring nor a D-Bus client (nor configparser here)."""
    code = (
        "import os, sys\n"
        "import mfa_process.keystore.secretservice as f\n"
        "f.decide_for(os.environ, f.SECRET_SERVICE_BACKEND)\n"
        "heavy = {'keyring', 'jeepney', 'secretstorage', 'cryptography', 'configparser', '_socket', 'socket'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m == 'mfa_process.dbus'))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_KEYRING_BACKEND"}
    env.update(XDG_CONFIG_HOME=str(tmp_path), PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_read_imports_only_the_small_client() -> None:
    """A plain read loads :mod:`mfa_process.dbus` and ``_socket``, not jeepney, socket, typing, enum or re."""
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "from mfa_process.keystore import secretservice as fastkeyring\n"
        "try:\n"
        "    fastkeyring.read('s', 'u', env={'DBUS_SESSION_BUS_ADDRESS': 'unix:path=/nonexistent/bus'})\n"
        "except fastkeyring.FastReadUnavailable:\n"
        "    pass\n"
        "print(*sorted(set(sys.modules) - before))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    assert set(out.stdout.split()) <= {
        "mfa_process",
        "mfa_process.keystore",
        "mfa_process.keystore.secretservice",
        "mfa_process.dbus",
        "errno",
        "_socket",
        "__future__",
    }


# -- one time budget for all the reads of a process --------------------------------------------------------


def test_a_slow_service_costs_one_deadline_in_total_not_one_per_exchange(short_dir: str) -> None:
    """Each reply comes well within the exchange limit, but together they exceed the read's deadline: the
    read gives up at the deadline, and later reads in the process do not ask the service again."""
    path = os.path.join(short_dir, "ss")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen()
    connections: list[int] = []

    def slow_service(peer: Peer) -> None:
        peer.sock, _ = server.accept()
        connections.append(1)
        peer.handshake()
        for signature, body in (("ao", (["/i/1"],)), ("vo", (("s", ""), "/s/1"))):
            call = peer.message()
            time.sleep(0.45)  # a slow daemon: under the per-exchange limit every time
            _reply(peer, call, signature, *body)
        try:
            call = peer.message()
            time.sleep(0.45)
            _reply(peer, call, "(oayays)", ("/s/1", b"", b"v", "text/plain"))
        except (EOFError, OSError):
            pass  # the client gave up first

    running = Script(server, slow_service)
    env = {"DBUS_SESSION_BUS_ADDRESS": f"unix:path={path}"}
    try:
        with pytest.raises(fastkeyring.FastReadTimeout, match="did not answer within 1 s"):
            fastkeyring.read("mfa-process", "alice", env=env, timeout=1.0)
        running.join()
        with pytest.raises(fastkeyring.FastReadTimeout):  # the budget is spent: not even a connection
            fastkeyring.read("mfa-process", "alice", env=env, timeout=1.0)
        assert connections == [1]
    finally:
        server.close()


def test_a_timed_out_fast_read_fails_clearly_instead_of_waiting_again_in_keyring(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mfa_process.errors import KeyringUnavailable

    monkeypatch.setattr(fastkeyring, "_spent", fastkeyring.TIMEOUT)
    backend = fastkeyring.SecretServiceBackend("/nonexistent", {"DBUS_SESSION_BUS_ADDRESS": "unix:path=/x"})
    with pytest.raises(KeyringUnavailable, match=r"did not answer within 20 s; restart the keyring daemon"):
        backend.get("session|v1|p|s")
    assert backend._writer is None  # keyring was not asked
