"""Unit tests of :mod:`mfa_process.dbus`: messages checked byte for byte against ``jeepney`` (installed as
keyring's dependency), malformed input, bus addresses, and whole conversations with a scripted bus over a
socket pair or a listening socket. Calls to a real bus are in ``tests/integration/test_secretservice.py``."""

from __future__ import annotations

import os
import re
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import jeepney
import pytest
from jeepney.low_level import Endianness, HeaderFields, Message, MessageType, Parser

from mfa_process import dbus
from mfa_process.dbus import DBusError, ProtocolError

SECRETS = jeepney.DBusAddress("/org/freedesktop/secrets", "org.freedesktop.secrets", "org.freedesktop.Secret.Service")
BUS = jeepney.DBusAddress(dbus.BUS_PATH, dbus.BUS_NAME, dbus.BUS_NAME)

#: (signature, values): every type the client supports, alignments, empty and nested containers.
BODIES: list[tuple[str, tuple[Any, ...]]] = [
    ("s", ("plain",)),
    ("o", ("/org/freedesktop/secrets/session/s1",)),
    ("g", ("a{sv}",)),
    ("ss", ("h\u00e9llo \u2713 \U0001f389", "")),
    ("a{ss}", ({"username": "alice", "service": "mfa-process"},)),
    ("a{ss}", ({},)),
    ("sv", ("plain", ("s", ""))),
    ("sv", ("dh-ietf1024-sha256-aes128-cbc-pkcs7", ("ay", bytes(range(128))))),
    ("ao", (["/org/freedesktop/secrets/collection/login/1", "/b"],)),
    ("ao", ([],)),
    ("(oayays)", (("/s/1", b"", b"secret\x00bytes", "text/plain"),)),
    ("a{o(oayays)}", ({"/i/1": ("/s/1", b"iv", b"v", "text/plain"), "/i/2": ("/s/1", b"", b"", "")},)),
    ("a{sv}(oayays)", ({"org.freedesktop.Secret.Collection.Label": ("s", "x")}, ("/s", b"", b"pw", "text/plain"))),
    ("ybnqiuxt", (255, True, -2, 65535, -(2**31), 2**32 - 1, -(2**63), 2**64 - 1)),
    ("bb", (False, True)),
    ("yt", (1, 2)),
    ("yat", (1, [])),
    ("ya(yy)", (1, [])),
    ("ya{yt}", (1, {2: 3, 4: 5})),
    ("yv", (1, ("(yt)", (2, 3)))),
    ("vv", (("v", ("s", "nested")), ("a{sv}", {"k": ("u", 1)}))),
    ("aay", ([b"", b"x" * 300],)),
    ("aas", ([[], ["a", "bc"]],)),
    ("ay", (b"x" * 70000,)),
]


def _call(signature: str, body: tuple[Any, ...], serial: int = 7) -> bytes:
    return dbus.method_call(
        serial, SECRETS.bus_name, SECRETS.object_path, SECRETS.interface, "M", signature=signature, body=body
    )


def _parse(message: bytes) -> tuple[dict[int, tuple[str, Any]], list[Any]]:
    """A whole message's header fields and body values, as the client reads them."""
    fields, start = dbus._header_fields(message)
    signature = fields.get(8, ("g", ""))[1]
    return fields, dbus.unmarshal(signature, message, start)


# -- marshalling -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("signature", "body"), BODIES)
def test_method_call_bytes_match_jeepney(signature: str, body: tuple[Any, ...]) -> None:
    expected = jeepney.new_method_call(SECRETS, "M", signature, body).serialise(serial=7)
    assert _call(signature, body) == expected


def test_method_call_without_body_or_interface_matches_jeepney() -> None:
    """No SIGNATURE header field for an empty body; no INTERFACE field when there is no interface."""
    assert dbus.method_call(1, dbus.BUS_NAME, dbus.BUS_PATH, dbus.BUS_NAME, "Hello") == (
        jeepney.new_method_call(BUS, "Hello").serialise(serial=1)
    )
    no_interface = jeepney.DBusAddress("/p", "org.example")
    assert dbus.method_call(2**32 - 1, "org.example", "/p", None, "Ping") == (
        jeepney.new_method_call(no_interface, "Ping").serialise(serial=2**32 - 1)
    )


def test_a_known_message_byte_for_byte() -> None:
    """Independent of jeepney: the spec's layout, written out by hand."""
    expected = (
        b"l\x01\x00\x01"  # little-endian, METHOD_CALL, no flags, version 1
        b"\x08\x00\x00\x00"  # body length
        b"\x03\x00\x00\x00"  # serial
        b"\x37\x00\x00\x00"  # header fields: 55 bytes
        b"\x01\x01o\x00\x02\x00\x00\x00/p\x00"  # PATH
        + b"\x00" * 5
        + b"\x03\x01s\x00\x01\x00\x00\x00M\x00"  # MEMBER
        + b"\x00" * 6
        + b"\x06\x01s\x00\x01\x00\x00\x00d\x00"  # DESTINATION
        + b"\x00" * 6
        + b"\x08\x01g\x00\x01s\x00"  # SIGNATURE "s"
        + b"\x00"  # header padded to 8
        + b"\x03\x00\x00\x00abc\x00"  # body: "abc"
    )
    assert dbus.method_call(3, "d", "/p", None, "M", signature="s", body=("abc",)) == expected


@pytest.mark.parametrize(("signature", "body", "message"), [
    ("s", (), "0 values"),
    ("s", ("a", "b"), "2 values"),
    ("s", ("a\x00b",), "NUL"),
    ("d", (1.5,), "'d'"),
    ("h", (0,), "'h'"),
    ("v", (("ss", ("a", "b")),), "one complete type"),
    ("(ss)", (("a",),), "struct"),
    ("a{ss", ({},), "malformed"),
    ("a{vs}", ({},), "malformed"),
    ("{ss}", ({},), "malformed"),
    ("()", ((),), "empty struct"),
    ("a", ([],), "incomplete"),
])  # fmt: skip
def test_marshal_rejects(signature: str, body: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        dbus.marshal(signature, body)


# -- unmarshalling ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("signature", "body"), BODIES)
def test_own_messages_read_back(signature: str, body: tuple[Any, ...]) -> None:
    fields, values = _parse(_call(signature, body))
    assert values == list(body)
    assert fields[1] == ("o", SECRETS.object_path)
    assert fields[3] == ("s", "M")


def _jeepney_reply(signature: str, body: tuple[Any, ...], endianness: Endianness, reply_serial: int = 7) -> bytes:
    call = jeepney.new_method_call(SECRETS, "M")
    call.header.serial = reply_serial
    reply = jeepney.new_method_return(call, signature or None, body)
    reply.header.endianness = endianness
    reply.header.fields[HeaderFields.sender] = ":1.3"
    return reply.serialise(serial=99)


@pytest.mark.parametrize("endianness", [Endianness.little, Endianness.big], ids=["little", "big"])
@pytest.mark.parametrize(("signature", "body"), [*BODIES, ("", ())])
def test_replies_read_like_jeepney(signature: str, body: tuple[Any, ...], endianness: Endianness) -> None:
    data = _jeepney_reply(signature, body, endianness)
    fields, values = _parse(data)
    assert values == list(Message.from_buffer(data).body) == list(body)
    assert fields[5] == ("u", 7)
    assert fields[7] == ("s", ":1.3")


def _body(signature: str, body: bytes, order: bytes = b"l") -> list[Any]:
    """Read ``body`` as the (8-aligned) body of a message in byte order ``order``."""
    return dbus.unmarshal(signature, order + bytes(7) + body, 8)


@pytest.mark.parametrize(("signature", "body", "message"), [
    ("s", b"\x05\x00\x00\x00abc", "truncated"),
    ("s", b"\x01\x00\x00\x00ab", "unterminated"),
    ("s", b"\x01\x00\x00\x00\xff\x00", "UTF-8"),
    ("g", b"\x02s", "truncated"),
    ("b", b"\x02\x00\x00\x00", "boolean"),
    ("u", b"\x01\x00\x00", "truncated"),
    ("u", b"\x01\x00\x00\x00\x00", "trailing"),
    ("ay", b"\x10\x00\x00\x00ab", "truncated"),
    ("ay", b"\x00\x00\x00\x08", "limit"),
    ("au", b"\x06\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00", "overrun"),
    ("v", b"\x02ss\x00\x00\x00\x00\x00", "one complete type"),
    ("v", b"\x01d\x00\x00\x00\x00\x00\x00" + bytes(8), "'d'"),
    ("v", b"\x01v\x00" * 70 + b"\x01y\x00\x01", "too deeply"),
    ("a{vs}", bytes(4), "malformed"),
    ("(", bytes(8), "incomplete"),
    ("d", bytes(8), "'d'"),
])  # fmt: skip
def test_unmarshal_rejects(signature: str, body: bytes, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        _body(signature, body)


def test_unmarshal_reads_big_endian_and_rejects_unknown_byte_orders() -> None:
    assert _body("uq", b"\x00\x00\x01\x02\x00\x03", b"B") == [0x102, 3]
    with pytest.raises(ProtocolError, match="byte-order"):
        _body("u", bytes(4), b"X")


def test_empty_arrays_are_padded_to_their_element_alignment() -> None:
    assert _body("yat", b"\x01\x00\x00\x00" + bytes(4)) == [1, []]
    assert _body("yau", b"\x01\x00\x00\x00" + bytes(4)) == [1, []]
    with pytest.raises(ProtocolError, match="truncated"):
        _body("yat", b"\x01\x00\x00\x00" + bytes(3))


# -- addresses -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("address", "expected"), [
    ("unix:path=/run/user/1000/bus", [("unix", {"path": b"/run/user/1000/bus"})]),
    ("unix:abstract=/tmp/dbus-AbC,guid=0123abcd", [("unix", {"abstract": b"/tmp/dbus-AbC", "guid": b"0123abcd"})]),
    ("unix:path=/a%20b%2c%2C%25%ff;", [("unix", {"path": b"/a b,,%\xff"})]),
    (
        "tcp:host=localhost,port=1;unix:path=/x;autolaunch:",
        [("tcp", {"host": b"localhost", "port": b"1"}), ("unix", {"path": b"/x"}), ("autolaunch", {})],
    ),
    ("unix:path=", [("unix", {"path": b""})]),
    ("", []),
])  # fmt: skip
def test_parse_address(address: str, expected: list[tuple[str, dict[str, bytes]]]) -> None:
    assert dbus.parse_address(address) == expected


@pytest.mark.parametrize(
    "address",
    ["not an address", ":path=/x", "unix:path", "unix:path=/x,", "unix:path=a,path=b", "unix:path=%zz", "unix:path=%4"],
)
def test_parse_address_rejects(address: str) -> None:
    with pytest.raises(ProtocolError, match="D-Bus address"):
        dbus.parse_address(address)


@pytest.mark.parametrize(("transport", "params", "expected"), [
    ("unix", {"path": b"/run/bus"}, b"/run/bus"),
    ("unix", {"path": b"/run/bus", "guid": b"ab"}, b"/run/bus"),
    ("unix", {"abstract": b"/tmp/dbus-x"}, b"\0/tmp/dbus-x"),
    ("unix", {"path": b"/a", "abstract": b"b"}, None),
    ("unix", {"tmpdir": b"/tmp"}, None),
    ("unix", {"runtime": b"yes"}, None),
    ("unix", {}, None),
    ("tcp", {"host": b"localhost", "port": b"1"}, None),
    ("autolaunch", {}, None),
])  # fmt: skip
def test_socket_address(transport: str, params: dict[str, bytes], expected: bytes | None) -> None:
    assert dbus.socket_address(transport, params) == expected


# -- conversations with a scripted bus ---------------------------------------------------------------------


class Peer:
    """The bus end of a connection, driven by a test script in another thread."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.pending = b""
        self.parser = Parser()

    def line(self) -> bytes:
        while b"\r\n" not in self.pending:
            self.pending += self._recv()
        line, _, self.pending = self.pending.partition(b"\r\n")
        return line

    def message(self) -> Message:
        if self.pending:
            self.parser.add_data(self.pending)
            self.pending = b""
        while (msg := self.parser.get_next_message()) is None:
            self.parser.add_data(self._recv())
        return msg

    def send(self, *messages: Message | bytes) -> None:
        self.sock.sendall(b"".join(m if isinstance(m, bytes) else m.serialise(serial=1000) for m in messages))

    def _recv(self) -> bytes:
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("client hung up")
        return data

    def handshake(self, unique_name: str = ":1.42") -> None:
        """Accept the client's authentication and Hello, as dbus-daemon does."""
        uid = str(os.geteuid()).encode("ascii").hex().encode("ascii")
        assert self.line() == b"\0AUTH EXTERNAL " + uid
        self.send(b"OK 0123456789abcdef0123456789abcdef\r\n")
        assert self.line() == b"BEGIN"
        hello = self.message()
        assert hello.header.message_type == MessageType.method_call
        assert hello.header.fields == {
            HeaderFields.path: dbus.BUS_PATH,
            HeaderFields.interface: dbus.BUS_NAME,
            HeaderFields.member: "Hello",
            HeaderFields.destination: dbus.BUS_NAME,
        }
        acquired = jeepney.new_signal(BUS, "NameAcquired", "s", (unique_name,))
        self.send(jeepney.new_method_return(hello, "s", (unique_name,)), acquired)


class Script:
    """Runs ``script(peer)`` in a thread; :meth:`join` re-raises what it raised."""

    def __init__(self, sock: socket.socket, script: Callable[[Peer], None]) -> None:
        self.error: BaseException | None = None
        self.peer = Peer(sock)

        def run() -> None:
            try:
                script(self.peer)
            except BaseException as exc:  # handed to the test thread
                self.error = exc

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def join(self) -> None:
        self.thread.join(10)
        assert not self.thread.is_alive()
        if self.error is not None:
            raise self.error


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    client, server = socket.socketpair()
    try:
        yield client, server
    finally:
        client.close()
        server.close()


def _converse(
    pair: tuple[socket.socket, socket.socket], script: Callable[[Peer], None], timeout: float = 5
) -> tuple[dbus.Connection, Script]:
    client, server = pair
    running = Script(server, script)
    return dbus.Connection(client, timeout), running


def test_authentication_hello_and_a_call(pair: tuple[socket.socket, socket.socket]) -> None:
    def script(peer: Peer) -> None:
        peer.handshake()
        call = peer.message()
        assert call.header.fields[HeaderFields.member] == "SearchItems"
        assert call.header.fields[HeaderFields.destination] == "org.freedesktop.secrets"
        assert call.body == ({"username": "alice", "service": "mfa-process"},)
        serial = call.header.serial
        other = jeepney.new_method_call(SECRETS, "M")
        other.header.serial = serial + 1
        reply = jeepney.new_method_return(call, "ao", (["/i/1", "/i/2"],)).serialise(serial=1002)
        peer.send(
            jeepney.new_signal(SECRETS, "CollectionChanged", "o", ("/c",)),  # a signal
            jeepney.new_method_return(other, "s", ("not yours",)),  # a reply to another serial
            jeepney.new_error(other, "org.example.Error", "s", ("not yours either",)),
            jeepney.new_method_call(SECRETS, "Ping"),  # a call to the client
            reply[:5],  # the reply, in two pieces
        )
        time.sleep(0.05)
        peer.send(reply[5:])

    conn, running = _converse(pair, script)
    assert conn.unique_name == ":1.42"
    paths = conn.call(
        "org.freedesktop.secrets", "/c", "org.freedesktop.Secret.Collection", "SearchItems", "a{ss}",
        {"username": "alice", "service": "mfa-process"},
    )  # fmt: skip
    assert paths == [["/i/1", "/i/2"]]
    running.join()


@pytest.mark.parametrize("endianness", [Endianness.little, Endianness.big], ids=["little", "big"])
def test_error_replies_raise(pair: tuple[socket.socket, socket.socket], endianness: Endianness) -> None:
    def script(peer: Peer) -> None:
        peer.handshake()
        error = jeepney.new_error(peer.message(), "org.freedesktop.DBus.Error.ServiceUnknown", "s", ("no such name",))
        error.header.endianness = endianness
        peer.send(error)
        bare = jeepney.new_error(peer.message(), "org.example.Bare")
        bare.header.endianness = endianness
        peer.send(bare)

    conn, running = _converse(pair, script)
    with pytest.raises(DBusError, match="ServiceUnknown: no such name") as caught:
        conn.call("org.freedesktop.secrets", "/", "org.example", "M")
    assert (caught.value.name, caught.value.message) == ("org.freedesktop.DBus.Error.ServiceUnknown", "no such name")
    with pytest.raises(DBusError) as caught:
        conn.call("org.freedesktop.secrets", "/", "org.example", "M")
    assert str(caught.value) == "org.example.Bare"
    running.join()


def test_big_endian_replies(pair: tuple[socket.socket, socket.socket]) -> None:
    def script(peer: Peer) -> None:
        peer.handshake()
        reply = jeepney.new_method_return(peer.message(), "vo", (("s", ""), "/org/freedesktop/secrets/session/s1"))
        reply.header.endianness = Endianness.big
        peer.send(reply)

    conn, running = _converse(pair, script)
    assert conn.call("a.b", "/", "a.b", "M") == [("s", ""), "/org/freedesktop/secrets/session/s1"]
    running.join()


def test_rejected_authentication(pair: tuple[socket.socket, socket.socket]) -> None:
    def script(peer: Peer) -> None:
        peer.line()
        peer.send(b"REJECTED DBUS_COOKIE_SHA1\r\n")

    with pytest.raises(ProtocolError, match="refused authentication"):
        _converse(pair, script)


@pytest.mark.parametrize("stage", ["auth", "hello"])
def test_silent_bus_times_out(pair: tuple[socket.socket, socket.socket], stage: str) -> None:
    def script(peer: Peer) -> None:
        if stage == "hello":
            peer.line()
            peer.send(b"OK 0123456789abcdef0123456789abcdef\r\n")

    start = time.monotonic()
    with pytest.raises(TimeoutError):
        _converse(pair, script, timeout=0.2)
    assert time.monotonic() - start < 60  # a hang guard: it never ends without the timeout


def test_a_call_times_out_even_while_other_messages_arrive(pair: tuple[socket.socket, socket.socket]) -> None:
    stop = threading.Event()

    def script(peer: Peer) -> None:
        peer.handshake()
        peer.message()
        while not stop.wait(0.02):
            peer.send(jeepney.new_signal(SECRETS, "CollectionChanged", "o", ("/c",)))

    conn, running = _converse(pair, script)
    conn.timeout = 0.3
    start = time.monotonic()
    try:
        with pytest.raises(TimeoutError):
            conn.call("a.b", "/", "a.b", "M")
        assert time.monotonic() - start < 60  # a hang guard: it never ends without the timeout
    finally:
        stop.set()
    running.join()


@pytest.mark.parametrize("stage", ["auth", "hello", "call"])
def test_bus_hanging_up(pair: tuple[socket.socket, socket.socket], stage: str) -> None:
    def script(peer: Peer) -> None:
        if stage == "hello":
            peer.line()
        elif stage == "call":
            peer.handshake()
        peer.sock.shutdown(socket.SHUT_RDWR)

    def converse_and_call() -> None:
        conn, _running = _converse(pair, script)
        conn.call("a.b", "/", "a.b", "M")

    with pytest.raises(ConnectionError):
        converse_and_call()


@pytest.mark.parametrize(
    "garbage",
    [
        b"X" + bytes(15),  # bad byte order
        b"l\x02\x00\x02" + bytes(12),  # protocol version 2
        b"l\x02\x00\x01" + bytes(8) + b"\xff\xff\xff\x7f",  # far too long
    ],
)
def test_garbage_from_the_bus(pair: tuple[socket.socket, socket.socket], garbage: bytes) -> None:
    def script(peer: Peer) -> None:
        peer.handshake()
        peer.message()
        peer.send(garbage)

    conn, running = _converse(pair, script)
    with pytest.raises(ProtocolError):
        conn.call("a.b", "/", "a.b", "M")
    running.join()


# -- limits: sizes checked against what arrived, our own cap, the deadline while decoding ----------------


def _fixed_header(body_length: int, fields_length: int, serial: int = 7) -> bytes:
    """The 16-byte fixed header of a little-endian METHOD_RETURN announcing the given lengths."""
    return (
        b"l\x02\x00\x01"
        + body_length.to_bytes(4, "little")
        + serial.to_bytes(4, "little")
        + (fields_length.to_bytes(4, "little"))
    )


OVERSIZED = {
    "64 MiB of header fields": _fixed_header(0, 1 << 26),
    "2 GiB body": _fixed_header(0x7FFFFFFF, 0),
    "just over our own limit": _fixed_header(1 << 18, 0),
}


@pytest.mark.parametrize("header", OVERSIZED.values(), ids=OVERSIZED.keys())
def test_an_oversized_reply_is_refused_from_its_fixed_header(
    pair: tuple[socket.socket, socket.socket], header: bytes
) -> None:
    """Refused as soon as 16 bytes arrived: nothing more is read, waited for or allocated."""
    hold = threading.Event()

    def script(peer: Peer) -> None:
        peer.handshake()
        peer.message()
        peer.send(header)  # and nothing else: waiting for the rest would end in a timeout instead
        hold.wait(10)

    conn, running = _converse(pair, script, timeout=30)
    try:
        with pytest.raises(ProtocolError, match=r"message exceeds (the D-Bus limit|this client's limit of 262144)"):
            conn.call("a.b", "/", "a.b", "M")
    finally:
        hold.set()
    running.join()


def test_a_large_reply_within_our_limit_is_read(pair: tuple[socket.socket, socket.socket]) -> None:
    blob = os.urandom((1 << 18) - 1024)

    def script(peer: Peer) -> None:
        peer.handshake()
        peer.send(jeepney.new_method_return(peer.message(), "ay", (blob,)))

    conn, running = _converse(pair, script)
    assert conn.call("a.b", "/", "a.b", "M") == [blob]
    running.join()


def test_the_limit_is_the_connections_to_set(pair: tuple[socket.socket, socket.socket]) -> None:
    def script(peer: Peer) -> None:
        peer.handshake()
        peer.send(jeepney.new_method_return(peer.message(), "ay", (bytes(5000),)))

    conn, running = _converse(pair, script)
    conn.max_message = 4096
    with pytest.raises(ProtocolError, match="exceeds this client's limit of 4096 bytes"):
        conn.call("a.b", "/", "a.b", "M")
    running.join()


@pytest.mark.parametrize(
    ("signature", "body"),
    [("(oayus)", ("/s/1", b"", 1 << 31, "text/plain")), ("(oayays)", ("/s/1", b"", b"x", "t")), ("", ())],
    ids=["an integer where bytes belong", "the right one", "no body"],
)
def test_a_reply_of_another_signature_is_refused(
    pair: tuple[socket.socket, socket.socket], signature: str, body: tuple[Any, ...]
) -> None:
    def script(peer: Peer) -> None:
        peer.handshake()
        peer.send(jeepney.new_method_return(peer.message(), signature, (body,) if body else ()))

    conn, running = _converse(pair, script)
    if signature == "(oayays)":
        assert conn.call("a.b", "/", "a.b", "GetSecret", reply="(oayays)") == [body]
    else:
        with pytest.raises(ProtocolError, match=rf"GetSecret answered with signature '{re.escape(signature)}', not"):
            conn.call("a.b", "/", "a.b", "GetSecret", reply="(oayays)")
    running.join()


def test_decoding_gives_up_at_the_deadline() -> None:
    """The clock is looked at while decoding: a passed deadline stops a long array at once."""
    call = jeepney.new_method_call(jeepney.DBusAddress("/", bus_name="a.b", interface="a.b"), "M")
    call.header.serial = 2
    ints = jeepney.new_method_return(call, "ai", ([7] * 5000,)).serialise(serial=3)
    _fields, start = dbus._header_fields(ints)
    assert dbus.unmarshal("ai", ints, start, deadline=time.monotonic() + 60) == [[7] * 5000]
    with pytest.raises(TimeoutError, match="while decoding"):
        dbus.unmarshal("ai", ints, start, deadline=time.monotonic() - 1)


# -- connect: addresses to sockets -------------------------------------------------------------------------


@pytest.fixture
def listener() -> Iterator[tuple[socket.socket, str]]:
    """A listening Unix socket in a short temporary directory; yields it and its path."""
    directory = tempfile.mkdtemp(prefix="db")  # socket paths are limited to ~100 bytes
    path = os.path.join(directory, "bus")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen()
    try:
        yield server, path
    finally:
        server.close()
        os.unlink(path)
        os.rmdir(directory)


def _serve_once(server: socket.socket) -> Script:
    def accept_and_handshake(peer: Peer) -> None:
        conn, _ = server.accept()
        peer.sock = conn
        try:
            peer.handshake()
        finally:
            conn.close()

    return Script(server, accept_and_handshake)


def test_connect_takes_the_first_reachable_unix_address(listener: tuple[socket.socket, str]) -> None:
    server, path = listener
    running = _serve_once(server)
    escaped = "".join(c if c.isalnum() or c in "/._-" else f"%{ord(c):02x}" for c in path)
    conn = dbus.connect(f"tcp:host=localhost,port=1;unix:path=/nonexistent/bus;unix:path={escaped},guid=00", 5)
    try:
        assert conn.unique_name == ":1.42"
    finally:
        conn.close()
    running.join()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="abstract sockets are Linux-only")
def test_connect_to_an_abstract_socket() -> None:
    name = f"mfa-process-test-{uuid.uuid4().hex}"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(b"\0" + name.encode())
    server.listen()
    try:
        running = _serve_once(server)
        conn = dbus.connect(f"unix:abstract={name}", 5)
        assert conn.unique_name == ":1.42"
        conn.close()
        running.join()
    finally:
        server.close()


@pytest.mark.parametrize(
    ("address", "error"),
    [
        ("tcp:host=localhost,port=1", ProtocolError),
        ("unix:tmpdir=/tmp", ProtocolError),
        ("", ProtocolError),
        ("nonsense", ProtocolError),
        ("unix:path=/nonexistent/mfa-process/bus", FileNotFoundError),
        ("unix:abstract=mfa-process-no-such-bus", ConnectionRefusedError),
    ],
)
def test_connect_failures(address: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        dbus.connect(address, 1)


def fill_accept_queue(path: str) -> list[socket.socket]:
    """Connect to the listener at *path* until its accept queue is full and the kernel refuses at once."""
    queued = []
    while True:
        filler = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        filler.setblocking(False)
        try:
            filler.connect(path)
        except BlockingIOError:
            filler.close()
            return queued
        queued.append(filler)


def test_connect_waits_while_the_accept_queue_is_full(listener: tuple[socket.socket, str]) -> None:
    """A bus that is slow to accept (its listen queue full, as in a burst of fifty hits) is waited for."""
    server, path = listener
    server.listen(0)
    queued = fill_accept_queue(path)
    try:
        refused = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        refused.setblocking(False)
        with pytest.raises(BlockingIOError):
            refused.connect(path)
        refused.close()

        def drain_then_serve(peer: Peer) -> None:
            time.sleep(0.3)  # the client is retrying meanwhile
            for _ in queued:
                server.accept()[0].close()
            conn, _ = server.accept()
            peer.sock = conn
            try:
                peer.handshake()
            finally:
                conn.close()

        running = Script(server, drain_then_serve)
        conn = dbus.connect(f"unix:path={path}", 5)
        assert conn.unique_name == ":1.42"
        conn.close()
        running.join()
    finally:
        for filler in queued:
            filler.close()


def test_connect_gives_up_on_a_full_queue_after_its_timeout(listener: tuple[socket.socket, str]) -> None:
    server, path = listener
    server.listen(0)
    queued = fill_accept_queue(path)
    try:
        with pytest.raises(BlockingIOError):
            dbus.connect(f"unix:path={path}", 0.2)
    finally:
        for filler in queued:
            filler.close()


def test_connect_closes_the_socket_when_authentication_fails(listener: tuple[socket.socket, str]) -> None:
    server, path = listener
    seen: list[bytes] = []

    def reject(peer: Peer) -> None:
        conn, _ = server.accept()
        peer.sock = conn
        try:
            peer.line()
            peer.send(b"REJECTED\r\n")
            seen.append(conn.recv(100))  # b"" once the client has closed its end
        finally:
            conn.close()

    running = Script(server, reject)
    with pytest.raises(ProtocolError):
        dbus.connect(f"unix:path={path}", 5)
    running.join()
    assert seen == [b""]


def test_import_is_light() -> None:
    """Importing the module loads nothing but ``_socket`` (no socket, struct, typing, enum, re...)."""
    import subprocess

    code = "import sys\nbefore = set(sys.modules)\nimport mfa_process.dbus\nprint(*sorted(set(sys.modules) - before))"
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {**os.environ, "PYTHONPATH": root}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert set(out.stdout.split()) <= {"_socket", "mfa_process", "mfa_process.dbus", "__future__"}
