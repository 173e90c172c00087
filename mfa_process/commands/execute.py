"""``mfa-process exec``: run a command with the session's credentials in its environment."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from typing import Callable, Final

from mfa_process.app import child_variables, make_context, region_variables
from mfa_process.config import NESTED_MARKER, load_settings
from mfa_process.errors import CommandNotFound, UsageError
from mfa_process.redact import register
from mfa_process.refresh import credentials

DESCRIPTION = "Run COMMAND with the MFA session's (or role's) credentials set as AWS_* variables."
EPILOG = """\
examples:
  mfa-process exec --profile my-profile -- terraform plan
  mfa-process exec --profile my-profile --role-arn arn:aws:iam::210987654321:role/Admin -- aws s3 ls
  mfa-process exec --server --profile my-profile -- python long_job.py

The command replaces mfa-process (exec), so its exit code and signals are its own. AWS_PROFILE,
AWS_DEFAULT_PROFILE and AWS_SECURITY_TOKEN are removed so they do not compete with the variables;
AWS_REGION and AWS_DEFAULT_REGION are set to the session's region (--region, the environment, or the
profile's), so the command still knows the profile's region.

With --server, the command gets no keys: a credential server (as `mfa-process serve`) runs on a free
loopback port while the command runs, and the command's SDKs fetch fresh credentials from it whenever
theirs near expiry. Its exit code is passed through; signals sent to mfa-process are passed on to it.
"""

#: Variables removed from the command's environment: they would compete with the credentials we set.
REMOVED: Final = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SECURITY_TOKEN", NESTED_MARKER)
#: Also removed with --server: SDKs take keys in the environment, a relative URI or a token file first.
REMOVED_FOR_SERVER: Final = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
)


def configure(
    parser: argparse.ArgumentParser, add_session: Callable[..., None], add_source: Callable[..., None]
) -> None:
    """Session options, then ``-- COMMAND [ARGS...]``."""
    add_session(parser)
    parser.add_argument(
        "--server",
        action="store_true",
        help="serve the credentials on a local endpoint for the command's SDKs instead of setting keys",
    )
    from mfa_process.parsing import add_server_options

    add_server_options(parser)
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARGS...]", help="the command to run")


def child_env(
    base: Mapping[str, str], variables: Mapping[str, str], removed: tuple[str, ...] = REMOVED
) -> dict[str, str]:
    """*base* without competing profile variables, plus the credentials."""
    out = {k: v for k, v in base.items() if k not in removed}
    out.update(variables)
    return out


def run_with_server(command: list[str], args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Run *command* as a child while a credential server answers its SDKs; its exit status is ours."""
    from mfa_process.child import exit_like, run_child
    from mfa_process.commands.serve import open_server
    from mfa_process.server import client_variables

    server, settings = open_server(args, env)
    variables = {**client_variables(server.address, server.port, server.token), **region_variables(settings)}
    environment = child_env(env, variables, REMOVED + REMOVED_FOR_SERVER)
    server.start()
    try:
        returncode = run_child(command, environment)
    finally:
        server.stop()
    return exit_like(returncode)


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Get credentials, then replace this process with the command."""
    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        raise UsageError("exec needs a command: mfa-process exec --profile SOURCE -- COMMAND [ARGS...]")
    if args.server:
        return run_with_server(command, args, env)
    for flag, value in (
        ("--port", args.port),
        ("--bind", args.bind),
        ("--allow-non-loopback", args.allow_non_loopback),
    ):
        if value is not None:
            raise UsageError(f"{flag} applies to the credential server: add --server")
    settings, files = load_settings(args, env)
    creds = credentials(make_context(settings, files, env))
    register(*creds.secrets())
    environment = child_env(env, child_variables(creds, settings))
    sys.stdout.flush()
    sys.stderr.flush()
    if sys.platform == "win32":  # pragma: no cover - no exec() that keeps the console on Windows
        import subprocess

        return subprocess.call(command, env=environment)
    try:
        os.execvpe(command[0], command, environment)  # noqa: S606 - running the user's command is the job
    except FileNotFoundError:
        raise CommandNotFound(f"command not found: {command[0]}") from None
    except PermissionError:
        raise CommandNotFound(f"command not executable: {command[0]}") from None
    return 127  # pragma: no cover - execvpe does not return
