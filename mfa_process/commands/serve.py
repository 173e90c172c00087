"""``mfa-process serve``: serve the credentials over the container-credentials protocol until stopped."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Mapping
from typing import Callable

from mfa_process import DOCS_URL
from mfa_process.app import make_context, notify
from mfa_process.config import Settings, load_settings
from mfa_process.errors import UsageError
from mfa_process.httpd import CredentialServer, Service
from mfa_process.parsing import add_server_options
from mfa_process.redact import register
from mfa_process.refresh import credentials
from mfa_process.server import check_bind, client_variables, endpoint_url, host_literal, new_token, parse_port
from mfa_process.shellvars import SHELLS, render

DESCRIPTION = (
    "Serve the MFA session's (or role's) credentials on a local endpoint that every AWS SDK reads through "
    "AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_CONTAINER_AUTHORIZATION_TOKEN, until Ctrl-C or SIGTERM."
)
EPILOG = f"""\
examples:
  mfa-process serve --profile my-profile                       # prints the two variables, then serves
  mfa-process serve --profile my-profile --shell fish --port 9911

Each request goes through the cache like credential_process: role credentials are re-assumed silently,
and a new MFA code is asked for on this terminal at most once, however many clients ask. The endpoint
listens on 127.0.0.1 and answers only requests carrying the token printed here. See
{DOCS_URL}/server.md.
"""

#: Address the server listens on unless --bind says otherwise.
DEFAULT_BIND = "127.0.0.1"
#: Signals that stop the server.
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


def configure(
    parser: argparse.ArgumentParser, add_session: Callable[..., None], add_source: Callable[..., None]
) -> None:
    """Session options, the server's, and ``--shell``."""
    add_session(parser)
    add_server_options(parser)
    parser.add_argument("--shell", choices=SHELLS, default="sh", help="syntax of the printed variables (default sh)")


def open_server(args: argparse.Namespace, env: Mapping[str, str]) -> tuple[CredentialServer, Settings]:
    """Check the flags, listen, and get the credentials once (asking now, before any client waits)."""
    port = parse_port(args.port)
    bind = args.bind or DEFAULT_BIND
    loopback = check_bind(bind, allow_non_loopback=bool(args.allow_non_loopback))
    settings, files = load_settings(args, env)
    ctx = make_context(settings, files, env)
    token = new_token()
    register(token)
    try:
        server = CredentialServer(bind, port, token, Service(ctx, notify))
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {host_literal(bind)}:{port} ({exc.strerror}); choose another --port, "
            "or leave it out for a free one"
        ) from None
    try:
        credentials(ctx)
    except BaseException:
        server.server_close()
        raise
    if not loopback:
        notify(
            f"warning: serving on {bind}, which other hosts or containers can reach; "
            "anyone there who has the token gets these credentials"
        )
    return server, settings


def stop_on_signals(stop: threading.Event) -> dict[int, object]:
    """Make SIGINT, SIGTERM and SIGHUP set *stop*; the handlers they replace."""

    def handler(signum: int, frame: object) -> None:
        stop.set()

    return {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}


def restore_signals(previous: Mapping[int, object]) -> None:
    """Put back the handlers :func:`stop_on_signals` replaced."""
    for signum, handler in previous.items():
        signal.signal(signum, handler)  # type: ignore[arg-type]


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Print the variables, then serve until a stop signal."""
    server, settings = open_server(args, env)
    print(render(client_variables(server.address, server.port, server.token), args.shell), flush=True)
    stop = threading.Event()
    previous = stop_on_signals(stop)
    server.start()
    notify(
        f"serving the credentials of profile {settings.profile} at "
        f"{endpoint_url(server.address, server.port)}; Ctrl-C to stop"
    )
    try:
        while not stop.wait(3600):
            pass
    finally:
        server.stop()
        restore_signals(previous)
    sys.stderr.flush()
    notify("server stopped")
    return 0
