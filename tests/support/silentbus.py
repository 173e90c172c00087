"""A session bus that authenticates its clients and then never answers: the hang a stale bus address gives."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


def _serve(conn: socket.socket) -> None:
    pending = b""
    try:
        while b"BEGIN\r\n" not in pending:
            chunk = conn.recv(4096)
            if not chunk:
                return
            pending += chunk
            while b"\r\n" in pending and b"BEGIN\r\n" not in pending.split(b"\r\n", 1)[0] + b"\r\n":
                line, pending = pending.split(b"\r\n", 1)
                if b"AUTH" in line:
                    conn.sendall(b"OK 0123456789abcdef0123456789abcdef\r\n")
                elif line.startswith(b"NEGOTIATE_UNIX_FD"):
                    conn.sendall(b"AGREE_UNIX_FD\r\n")
        while conn.recv(65536):  # Hello and every call after it: read, never answered
            pass
    except OSError:
        pass


@contextmanager
def silent_bus(directory: str) -> Iterator[str]:
    """Listen on a unix socket in *directory*; yield its ``DBUS_SESSION_BUS_ADDRESS``."""
    path = os.path.join(directory, "silent-bus")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen()
    conns: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conns.append(conn)
            threading.Thread(target=_serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"unix:path={path}"
    finally:
        server.close()
        for conn in conns:
            conn.close()
