"""The credential server's I/O: the service behind every request, and a small threaded HTTP layer.

Each request goes through :func:`mfa_process.refresh.credentials`, the flow of ``credential_process``: the
cache, the per-entry file lock, a silent ``AssumeRole`` from the cached MFA session, and a prompt only
when the MFA session itself needs renewing. Requests are served one at a time through it (the refresh
context is not shared between threads), so any number of clients asking at once cost one prompt.

When a code was needed and could not be had (no terminal, the prompt cancelled, wrong codes), the server
stops asking: every request is answered at once with the same error until credentials can be served again
(``mfa-process login`` in a terminal fills the cache). A polling client therefore costs one pass through
the cache per request, never a prompt loop.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import socketserver
import threading

from mfa_process import lock
from mfa_process.errors import MfaCodeRejected, MfaProcessError, NoTerminalError, PromptCancelled, PromptError
from mfa_process.redact import redact
from mfa_process.refresh import Context, credentials
from mfa_process.server import (
    MAX_HEAD,
    Reply,
    allowed_hosts,
    check,
    credentials_reply,
    error_reply,
    failure,
    parse_head,
    too_large,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Final

#: Seconds a client may take to send its request head.
READ_TIMEOUT: Final = 5.0
#: Connections the kernel queues while every thread is busy (100 clients at once must all get in).
BACKLOG: Final = 256
#: Signals that ``serve`` and ``exec --server`` handle: the server's threads leave them to the main thread.
HANDLED_SIGNALS: Final = frozenset(
    getattr(signal, name)
    for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")
    if hasattr(signal, name)
)


def lapse_reason(exc: MfaProcessError) -> str:
    """Why no code could be had, in a few words."""
    if isinstance(exc, NoTerminalError):
        return "no terminal or dialog to ask on"
    if isinstance(exc, PromptCancelled):
        return "the prompt was cancelled"
    return "no valid code was given"


class Service:
    """Credentials for each request, through the refresh flow of *ctx*; *notify* tells the user one line."""

    def __init__(self, ctx: Context, notify: Callable[[str], None], *, wait: float = lock.DEFAULT_WAIT) -> None:
        self.ctx = ctx
        self.notify = notify
        self.wait = wait
        self._turn = threading.Lock()
        #: The error every request gets while the server may not ask for a code; None when it may.
        self._lapsed: PromptError | None = None
        self._last_logged: str | None = None
        ctx.remember_refusals = False  # the lapsed state below is this server's memory of a failed prompt
        asker = ctx.ask

        def ask(message: str) -> str:
            if self._lapsed is not None:
                raise PromptError(str(self._lapsed))
            return asker(message)

        ctx.ask = ask

    def answer(self) -> Reply:
        """The reply to one authorised request."""
        if not self._turn.acquire(timeout=self.wait):
            return failure(503, "Service Unavailable", "Busy", "still waiting for the MFA code; try again")
        try:
            try:
                creds = credentials(self.ctx)
            except MfaProcessError as exc:
                return self._failed(exc)
            if self._last_logged is not None:
                self.notify("serving credentials again")
            self._lapsed = self._last_logged = None
            return credentials_reply(creds)
        finally:
            self._turn.release()

    def _failed(self, exc: MfaProcessError) -> Reply:
        if isinstance(exc, (PromptError, MfaCodeRejected)) and self._lapsed is None:
            profile = self.ctx.settings.profile
            self._lapsed = PromptError(
                f"the MFA session of profile '{profile}' has lapsed and the server cannot ask for a code "
                f"({lapse_reason(exc)}); run `mfa-process login --profile {profile}` in a terminal, then retry"
            )
            exc = self._lapsed
        message = redact(str(exc))
        if message != self._last_logged:  # one line per new condition, however often clients ask
            self.notify(f"cannot serve credentials: {message}")
            self._last_logged = message
        return error_reply(exc, message)


def read_head(sock: socket.socket) -> bytes | Reply | None:
    """The request head (up to the blank line), the reply refusing it, or None if the client went away."""
    data = b""
    while True:
        end = data.find(b"\r\n\r\n")
        if end >= 0:
            return data[:end] if end <= MAX_HEAD else too_large(data)
        if len(data) > MAX_HEAD:
            return too_large(data)
        try:
            chunk = sock.recv(MAX_HEAD + 4 - len(data) + 1)
        except OSError:  # timeout, reset
            return None
        if not chunk:
            return None
        data += chunk


class _Handler(socketserver.BaseRequestHandler):
    """One connection, one request, one reply."""

    server: CredentialServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(READ_TIMEOUT)
        head = read_head(sock)
        if head is None:
            return
        reply = head if isinstance(head, Reply) else self.server.respond(head)
        with contextlib.suppress(OSError):  # a client that disconnected mid-reply harms no one
            sock.sendall(reply.encode())
            sock.shutdown(socket.SHUT_WR)


class CredentialServer(socketserver.ThreadingTCPServer):
    """A thread per connection; every request checked, then answered by the :class:`Service`."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = BACKLOG

    def __init__(self, address: str, port: int, token: str, service: Service) -> None:
        self.address_family = socket.AF_INET6 if ":" in address else socket.AF_INET
        super().__init__((address, port), _Handler)
        self.address = address
        self.port = int(self.server_address[1])
        self.token = token
        self.service = service
        self.hosts = allowed_hosts(address, self.port)

    def respond(self, head: bytes) -> Reply:
        """Check a request head, then answer it."""
        request = parse_head(head)
        if isinstance(request, Reply):
            return request
        refusal = check(request, hosts=self.hosts, token=self.token)
        if refusal is not None:
            return refusal
        try:
            return self.service.answer()
        except Exception as exc:  # a fault of ours: the client gets a 500, the user one line, the server goes on
            self.service.notify(f"unexpected error serving credentials ({type(exc).__name__})")
            return failure(500, "Internal Server Error", "InternalError", f"unexpected error ({type(exc).__name__})")

    def handle_error(self, request: object, client_address: object) -> None:
        """A connection that failed is the client's business: no traceback on the user's terminal."""

    def start(self) -> threading.Thread:
        """Serve in a background thread."""
        thread = threading.Thread(target=self._serve, daemon=True)
        thread.start()
        return thread

    def _serve(self) -> None:
        """Serve with the stop and forwarded signals blocked in this thread and the request threads it starts.

        A signal is delivered to any thread that does not block it, and Python runs handlers in the main
        thread only: one landing here would leave the main thread asleep in ``wait()`` with the signal unseen.
        """
        if hasattr(signal, "pthread_sigmask"):
            signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED_SIGNALS)
        self.serve_forever(poll_interval=0.5)

    def stop(self) -> None:
        """Stop accepting and close the listening socket (requests in flight end with the process)."""
        self.shutdown()
        self.server_close()
