"""``mfa-process exec``: run a command with the session's credentials in its environment."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from typing import Callable, Final

from mfa_process.app import load_settings, make_context
from mfa_process.config import NESTED_MARKER
from mfa_process.errors import CommandNotFound, UsageError
from mfa_process.redact import register
from mfa_process.refresh import credentials

DESCRIPTION = "Run COMMAND with the MFA session's (or role's) credentials set as AWS_* variables."
EPILOG = """\
examples:
  mfa-process exec --profile my-profile -- terraform plan
  mfa-process exec --profile my-profile --role-arn arn:aws:iam::210987654321:role/Admin -- aws s3 ls

The command replaces mfa-process (exec), so its exit code and signals are its own. AWS_PROFILE,
AWS_DEFAULT_PROFILE and AWS_SECURITY_TOKEN are removed so they do not compete with the variables.
"""

#: Variables removed from the command's environment: they would compete with the credentials we set.
REMOVED: Final = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SECURITY_TOKEN", NESTED_MARKER)


def configure(
    parser: argparse.ArgumentParser, add_session: Callable[..., None], add_source: Callable[..., None]
) -> None:
    """Session options, then ``-- COMMAND [ARGS...]``."""
    add_session(parser)
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARGS...]", help="the command to run")


def child_env(base: Mapping[str, str], variables: Mapping[str, str]) -> dict[str, str]:
    """*base* without competing profile variables, plus the credentials."""
    out = {k: v for k, v in base.items() if k not in REMOVED}
    out.update(variables)
    return out


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Get credentials, then replace this process with the command."""
    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        raise UsageError("exec needs a command: mfa-process exec --profile SOURCE -- COMMAND [ARGS...]")
    settings, files = load_settings(args, env)
    creds = credentials(make_context(settings, files, env))
    register(*creds.secrets())
    environment = child_env(env, creds.to_env())
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
