"""A small blocking D-Bus client: method calls over a Unix socket, standard library only.

Just enough of the D-Bus specification for short-lived clients: ``unix:path=`` and ``unix:abstract=``
addresses, SASL ``EXTERNAL`` authentication, ``Hello``, method calls and their replies. Every value type but
``d`` (double) and ``h`` (Unix fd) is marshalled, in either byte order. Python values: ``b`` is a bool,
integers are ints, ``s``/``o``/``g`` are str, ``ay`` is bytes, other arrays are lists, ``a{..}`` dicts,
structs tuples, ``v`` a ``(signature, value)`` pair.

It imports only ``_socket`` (not ``socket``, which pulls in ``enum`` and ``selectors``), ``os`` and ``time``:
it sits on the cache-hit path, where every millisecond of start-up counts.
"""

from __future__ import annotations

import _socket
import os
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any, Final, Literal

    ByteOrder = Literal["little", "big"]

BUS_NAME: Final = "org.freedesktop.DBus"
BUS_PATH: Final = "/org/freedesktop/DBus"
PROPERTIES: Final = "org.freedesktop.DBus.Properties"

#: Largest message the specification allows (128 MiB); an array's data is limited to 64 MiB.
_MAX_MESSAGE: Final = 1 << 27
_MAX_ARRAY: Final = 1 << 26
#: This client's own limit on any message it receives (a :class:`Connection`'s default ``max_message``):
#: a secret, a search result or a property is a few KB; nothing it asks for comes near 256 KiB.
MAX_REPLY: Final = 1 << 18
#: Values decoded between two looks at the clock.
_CLOCK_EVERY: Final = 256
#: Deepest nesting of variants in a value read (the specification allows 64 levels of containers).
_MAX_DEPTH: Final = 64
#: Longest SASL line accepted from the server.
_MAX_LINE: Final = 16384

#: Message types and header field codes.
_METHOD_CALL: Final = 1
_METHOD_RETURN: Final = 2
_ERROR: Final = 3
_PATH, _INTERFACE, _MEMBER, _ERROR_NAME, _REPLY_SERIAL, _DESTINATION, _SIGNATURE = 1, 2, 3, 4, 5, 6, 8

#: Alignment of each type code; ``{`` is a dict entry, aligned like a struct.
_ALIGN: Final = {
    "y": 1, "b": 4, "n": 2, "q": 2, "i": 4, "u": 4, "x": 8, "t": 8,
    "s": 4, "o": 4, "g": 1, "v": 1, "a": 4, "(": 8, "{": 8,
}  # fmt: skip
#: Size of each fixed-size integer type, and which of them are signed.
_INT_SIZE: Final = {"y": 1, "n": 2, "q": 2, "i": 4, "u": 4, "x": 8, "t": 8}
_SIGNED: Final = "nix"
_BASIC: Final = "ybnqiuxtsog"
_BASIC_KEYS: Final = frozenset(_BASIC)


class DBusError(Exception):
    """An error reply: ``name`` is the D-Bus error name, ``message`` its text (may be empty)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}" if message else name)
        self.name = name
        self.message = message


class ProtocolError(Exception):
    """The peer broke the protocol, refused authentication, or the address or a value is unsupported."""


# -- addresses ----------------------------------------------------------------------------------------


def parse_address(address: str) -> list[tuple[str, dict[str, bytes]]]:
    """Split a D-Bus server address into ``(transport, {key: unescaped value})``, in order of preference.

    Raises :class:`ProtocolError` for a malformed address (a missing ``:`` or ``=``, a bad ``%`` escape).
    """
    entries = []
    for entry in address.split(";"):
        if not entry:
            continue
        transport, colon, rest = entry.partition(":")
        if not colon or not transport:
            raise ProtocolError(f"malformed D-Bus address {entry!r}")
        params: dict[str, bytes] = {}
        for pair in rest.split(",") if rest else ():
            key, equals, value = pair.partition("=")
            if not equals or not key or key in params:
                raise ProtocolError(f"malformed D-Bus address {entry!r}")
            params[key] = _unescape(value)
        entries.append((transport, params))
    return entries


def _unescape(value: str) -> bytes:
    head, *rest = value.split("%")
    out = bytearray(os.fsencode(head))
    for part in rest:
        if len(part) < 2 or not all(c in "0123456789abcdefABCDEF" for c in part[:2]):
            raise ProtocolError(f"bad escape in D-Bus address value {value!r}")
        out.append(int(part[:2], 16))
        out += os.fsencode(part[2:])
    return bytes(out)


def socket_address(transport: str, params: dict[str, bytes]) -> bytes | None:
    """The ``AF_UNIX`` address to connect to for one parsed entry, or None if it is not supported."""
    if transport != "unix":
        return None
    keys = set(params) - {"guid"}
    if keys == {"path"}:
        return params["path"]
    if keys == {"abstract"}:
        return b"\0" + params["abstract"]
    return None  # tmpdir=, dir=, runtime= are for servers only


def _connect_unix(target: bytes, timeout: float) -> _socket.socket:
    """A socket connected to *target*, waiting (up to *timeout*) while the bus's accept queue is full.

    A Unix socket's ``connect`` does not wait for a listener that is slow to accept: with the listen queue
    full (a burst of processes, a busy dbus-daemon) it fails at once with ``EAGAIN``. That is a busy bus,
    not an absent one, so the attempt is repeated after a short pause until *timeout* has passed.
    """
    deadline = time.monotonic() + timeout
    pause = 0.001
    while True:
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(target)
        except BlockingIOError:
            sock.close()
            if time.monotonic() + pause >= deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.05)
        except BaseException:
            sock.close()
            raise
        else:
            return sock


def connect(address: str, timeout: float) -> Connection:
    """Connect to the first reachable entry of ``address``, authenticate, and say ``Hello``.

    ``timeout`` bounds the connection attempt to each entry and each exchange (authentication, ``Hello``).
    """
    error: Exception = ProtocolError(f"no supported transport in D-Bus address {address!r}")
    for transport, params in parse_address(address):
        target = socket_address(transport, params)
        if target is None:
            continue
        try:
            sock = _connect_unix(target, timeout)
        except OSError as exc:
            error = exc
            continue
        try:
            return Connection(sock, timeout)
        except BaseException:
            sock.close()
            raise
    raise error


# -- connections ----------------------------------------------------------------------------------------


class Connection:
    """A blocking, authenticated message-bus connection over a connected stream socket.

    ``timeout`` (seconds, settable) bounds each exchange: a call's send, the wait for its reply and its
    decoding. ``max_message`` (bytes, settable, :data:`MAX_REPLY` by default) bounds every message received:
    a larger one is refused from its 16-byte fixed header, before more is read. Messages other than the
    awaited reply (signals, other replies, calls to this client) are dropped.
    """

    def __init__(self, sock: _socket.socket, timeout: float) -> None:
        """Authenticate with SASL ``EXTERNAL`` as the effective uid, then call ``Hello``."""
        self.sock = sock
        self.timeout = timeout
        self.max_message = MAX_REPLY
        self._buffer = bytearray()
        self._serial = 0
        deadline = time.monotonic() + timeout
        uid = str(os.geteuid()).encode("ascii").hex().encode("ascii")
        self._send(b"\0AUTH EXTERNAL " + uid + b"\r\n", deadline)
        line = self._read_line(deadline)
        if line[:3] != b"OK ":
            raise ProtocolError(f"the bus refused authentication: {line[:200]!r}")
        self._send(b"BEGIN\r\n", deadline)
        (name,) = self.call(BUS_NAME, BUS_PATH, BUS_NAME, "Hello")
        self.unique_name: str = name

    def call(
        self,
        destination: str,
        path: str,
        interface: str | None,
        member: str,
        signature: str = "",
        *body: Any,
        reply: str | None = None,
    ) -> list[Any]:
        """Call a method and return its reply's values; an error reply raises :class:`DBusError`.

        ``reply``, when given, is the signature the reply must have (anything else is a
        :class:`ProtocolError`), so a caller never mistakes, say, an integer for the bytes it expects.
        """
        deadline = time.monotonic() + self.timeout
        self._serial += 1
        serial = self._serial
        message = method_call(serial, destination, path, interface, member, signature=signature, body=body)
        self._send(message, deadline)
        while True:
            received = self._read_message(deadline)
            if received[1] not in (_METHOD_RETURN, _ERROR):
                continue
            fields, body_start = _header_fields(received, deadline)
            if fields.get(_REPLY_SERIAL) != ("u", serial):
                continue
            found = _field(fields, _SIGNATURE, "g") or ""
            if received[1] == _METHOD_RETURN and reply is not None and found != reply:
                raise ProtocolError(f"{member} answered with signature {found!r}, not {reply!r}")
            values = unmarshal(found, received, body_start, deadline)
            if received[1] == _ERROR:
                text = values[0] if values and isinstance(values[0], str) else ""
                raise DBusError(_field(fields, _ERROR_NAME, "s") or "(no error name)", text)
            return values

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()

    def _send(self, data: bytes, deadline: float) -> None:
        self.sock.settimeout(_remaining(deadline))
        try:
            self.sock.sendall(data)
        except _socket.timeout:  # TimeoutError itself from Python 3.10
            raise TimeoutError("the D-Bus exchange timed out") from None

    def _receive(self, deadline: float) -> None:
        self.sock.settimeout(_remaining(deadline))
        try:
            chunk = self.sock.recv(65536)
        except _socket.timeout:
            raise TimeoutError("the D-Bus exchange timed out") from None
        if not chunk:
            raise ConnectionError("the bus closed the connection")
        self._buffer += chunk

    def _read_line(self, deadline: float) -> bytes:
        while (end := self._buffer.find(b"\r\n")) < 0:
            if len(self._buffer) > _MAX_LINE:
                raise ProtocolError("overlong authentication line")
            self._receive(deadline)
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 2]
        return line

    def _read_message(self, deadline: float) -> bytes:
        """Return the next whole message (its fixed header checked)."""
        while len(self._buffer) < 16:
            self._receive(deadline)
        order = _byte_order(self._buffer[0])
        if self._buffer[3] != 1:
            raise ProtocolError(f"unsupported D-Bus protocol version {self._buffer[3]}")
        body_length = int.from_bytes(self._buffer[4:8], order)
        fields_length = int.from_bytes(self._buffer[12:16], order)
        total = _pad(16 + fields_length, 8) + body_length
        if total > _MAX_MESSAGE:
            raise ProtocolError(f"a {total}-byte message exceeds the D-Bus limit")
        if total > self.max_message:
            raise ProtocolError(f"a {total}-byte message exceeds this client's limit of {self.max_message} bytes")
        while len(self._buffer) < total:
            self._receive(deadline)
        message = bytes(self._buffer[:total])
        del self._buffer[:total]
        return message


def _remaining(deadline: float) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("the D-Bus exchange timed out")
    return remaining


def _byte_order(flag: int) -> ByteOrder:
    if flag == 0x6C:  # "l"
        return "little"
    if flag == 0x42:  # "B"
        return "big"
    raise ProtocolError(f"bad D-Bus byte-order flag {flag:#x}")


def _pad(offset: int, alignment: int) -> int:
    return (offset + alignment - 1) & -alignment


def _header_fields(message: bytes, deadline: float | None = None) -> tuple[dict[int, tuple[str, Any]], int]:
    """Return a whole message's header fields by code, and where its body starts."""
    reader = _Reader(message, _byte_order(message[0]), 12, deadline)
    fields = dict(reader.value("a(yv)", 0)[0])
    return fields, _pad(reader.pos, 8)


def _field(fields: dict[int, tuple[str, Any]], code: int, signature: str) -> Any:
    """A header field's value, None when absent; a field of the wrong type breaks the protocol."""
    if code not in fields:
        return None
    found, value = fields[code]
    if found != signature:
        raise ProtocolError(f"header field {code} has type {found!r}, not {signature!r}")
    return value


# -- marshalling ----------------------------------------------------------------------------------------


def method_call(
    serial: int,
    destination: str,
    path: str,
    interface: str | None,
    member: str,
    *,
    signature: str = "",
    body: Sequence[Any] = (),
) -> bytes:
    """A whole little-endian ``METHOD_CALL`` message."""
    payload = marshal(signature, body)
    fields = [(_PATH, ("o", path))]
    if interface is not None:
        fields.append((_INTERFACE, ("s", interface)))
    fields += [(_MEMBER, ("s", member)), (_DESTINATION, ("s", destination))]
    if signature:
        fields.append((_SIGNATURE, ("g", signature)))
    header = bytearray((0x6C, _METHOD_CALL, 0, 1))  # "l"ittle-endian, no flags, protocol version 1
    header += len(payload).to_bytes(4, "little") + serial.to_bytes(4, "little")
    _write(header, "a(yv)", 0, fields)
    header += bytes(_pad(len(header), 8) - len(header))
    return bytes(header + payload)


def marshal(signature: str, values: Sequence[Any]) -> bytes:
    """Marshal ``values`` (one per complete type of ``signature``) little-endian, as a message body."""
    starts = _complete_types(signature)
    if len(starts) != len(values):
        raise ProtocolError(f"{len(values)} values for signature {signature!r}")
    buffer = bytearray()
    for index, value in zip(starts, values):
        _write(buffer, signature, index, value)
    return bytes(buffer)


def _complete_types(signature: str) -> list[int]:
    """Where each complete type of ``signature`` starts; raises :class:`ProtocolError` if it is invalid."""
    starts = []
    index = 0
    while index < len(signature):
        starts.append(index)
        index = _end(signature, index)
    return starts


def _write(buffer: bytearray, signature: str, index: int, value: Any) -> int:
    """Append ``value`` as the complete type at ``signature[index]``; return the index after that type."""
    code = signature[index]
    buffer += bytes(_pad(len(buffer), _ALIGN.get(code, 1)) - len(buffer))
    if code in _INT_SIZE:
        buffer += int(value).to_bytes(_INT_SIZE[code], "little", signed=code in _SIGNED)
    elif code == "b":
        buffer += (1 if value else 0).to_bytes(4, "little")
    elif code in "sog":
        data = value.encode("utf-8")
        if b"\0" in data:
            raise ProtocolError("D-Bus strings cannot contain NUL")
        buffer += len(data).to_bytes(1 if code == "g" else 4, "little") + data + b"\0"
    elif code == "v":
        inner, inner_value = value
        if _end(inner, 0) != len(inner):
            raise ProtocolError(f"a variant holds one complete type, not {inner!r}")
        _write(buffer, "g", 0, inner)
        _write(buffer, inner, 0, inner_value)
    elif code == "a":
        return _write_array(buffer, signature, index, value)
    elif code == "(":
        index += 1
        for item in value:
            index = _write(buffer, signature, index, item)
        if signature[index] != ")":
            raise ProtocolError(f"struct value does not match signature {signature!r}")
    else:
        raise ProtocolError(f"cannot marshal type {code!r}")
    return index + 1


def _write_array(buffer: bytearray, signature: str, index: int, value: Any) -> int:
    element = index + 1
    end = _end(signature, element)
    start_of_length = len(buffer)
    buffer += bytes(4)
    buffer += bytes(_pad(len(buffer), _ALIGN.get(signature[element], 1)) - len(buffer))
    start = len(buffer)
    if signature[element] == "y":
        buffer += bytes(value)
    elif signature[element] == "{":
        key_end = _end(signature, element + 1)
        for key, item in value.items():
            buffer += bytes(_pad(len(buffer), 8) - len(buffer))
            _write(buffer, signature, element + 1, key)
            _write(buffer, signature, key_end, item)
    else:
        for item in value:
            _write(buffer, signature, element, item)
    buffer[start_of_length : start_of_length + 4] = (len(buffer) - start).to_bytes(4, "little")
    return end


def _end(signature: str, index: int) -> int:
    """The index just after the complete type starting at ``signature[index]``."""
    if index >= len(signature):
        raise ProtocolError(f"incomplete signature {signature!r}")
    code = signature[index]
    if code in _BASIC or code == "v":
        return index + 1
    if code == "a":
        return _end(signature, index + 1)
    if code == "(":
        index += 1
        if signature[index : index + 1] == ")":
            raise ProtocolError(f"empty struct in signature {signature!r}")
        while signature[index : index + 1] != ")":
            index = _end(signature, index)
        return index + 1
    if code == "{" and signature[index - 1 : index] == "a" and signature[index + 1 : index + 2] in _BASIC_KEYS:
        index = _end(signature, index + 2)
        if signature[index : index + 1] == "}":
            return index + 1
    raise ProtocolError(f"unsupported or malformed signature {signature!r}")


# -- unmarshalling --------------------------------------------------------------------------------------


def unmarshal(signature: str, message: bytes, start: int, deadline: float | None = None) -> list[Any]:
    """Read the body at ``message[start:]`` (8-aligned) of a message whose first byte gives its byte order.

    The body must hold exactly the values ``signature`` describes. Every size read is checked against the
    bytes actually there before anything is built, and the ``time.monotonic()`` *deadline*, when given, is
    checked while decoding (:class:`TimeoutError`).
    """
    reader = _Reader(message, _byte_order(message[0]), start, deadline)
    values = [reader.value(signature, index)[0] for index in _complete_types(signature)]
    if reader.pos != len(message):
        raise ProtocolError("trailing bytes after the message body")
    return values


class _Reader:
    """Reads values from ``data`` at ``pos``; alignment is relative to the start of ``data``."""

    def __init__(self, data: bytes, order: ByteOrder, pos: int, deadline: float | None = None) -> None:
        self.data = data
        self.order = order
        self.pos = pos
        self.depth = 0
        self.deadline = deadline
        self.count = 0

    def tick(self) -> None:
        """Count one value; every :data:`_CLOCK_EVERY` values, give up if the deadline has passed."""
        self.count += 1
        if self.deadline is not None and not self.count % _CLOCK_EVERY and time.monotonic() > self.deadline:
            raise TimeoutError("the D-Bus exchange timed out while decoding the reply")

    def take(self, size: int, alignment: int = 1) -> bytes:
        start = _pad(self.pos, alignment)
        end = start + size
        if end > len(self.data):
            raise ProtocolError("truncated D-Bus message")
        self.pos = end
        return self.data[start:end]

    def integer(self, size: int, signed: bool = False) -> int:
        return int.from_bytes(self.take(size, size), self.order, signed=signed)

    def value(self, signature: str, index: int) -> tuple[Any, int]:
        """Read the complete type at ``signature[index]``; return it and the index after that type."""
        code = signature[index]
        self.tick()
        if code in _INT_SIZE:
            return self.integer(_INT_SIZE[code], code in _SIGNED), index + 1
        if code == "b":
            flag = self.integer(4)
            if flag > 1:
                raise ProtocolError(f"bad boolean {flag}")
            return flag == 1, index + 1
        if code in "sog":
            size = self.integer(1) if code == "g" else self.integer(4)
            data = self.take(size + 1)
            if data[-1] != 0:
                raise ProtocolError("unterminated string")
            try:
                return data[:-1].decode("utf-8"), index + 1
            except UnicodeDecodeError:
                raise ProtocolError("a string is not valid UTF-8") from None
        if code == "v":
            inner = self.value("g", 0)[0]
            if _end(inner, 0) != len(inner):
                raise ProtocolError(f"a variant holds one complete type, not {inner!r}")
            self.depth += 1
            if self.depth > _MAX_DEPTH:
                raise ProtocolError("variants nested too deeply")
            value = self.value(inner, 0)[0]
            self.depth -= 1
            return (inner, value), index + 1
        if code == "a":
            return self.array(signature, index)
        if code == "(":
            items = []
            index += 1
            self.take(0, 8)
            while signature[index] != ")":
                item, index = self.value(signature, index)
                items.append(item)
            return tuple(items), index + 1
        raise ProtocolError(f"cannot unmarshal type {code!r}")

    def array(self, signature: str, index: int) -> tuple[Any, int]:
        element = index + 1
        end_of_type = _end(signature, element)
        size = self.integer(4)
        if size > _MAX_ARRAY:
            raise ProtocolError(f"a {size}-byte array exceeds the D-Bus limit")
        self.take(0, _ALIGN.get(signature[element], 1))
        end = self.pos + size
        if end > len(self.data):
            raise ProtocolError("truncated D-Bus message")
        if signature[element] == "y":
            return self.take(size), end_of_type
        if signature[element] == "{":
            key_end = _end(signature, element + 1)
            entries = {}
            while self.pos < end:
                self.take(0, 8)
                key = self.value(signature, element + 1)[0]
                entries[key] = self.value(signature, key_end)[0]
            result: Any = entries
        else:
            result = []
            while self.pos < end:
                result.append(self.value(signature, element)[0])
        if self.pos != end:
            raise ProtocolError("array contents overrun their length")
        return result, end_of_type
