"""Command-line parsing and the one place where errors become a one-line message and an exit code.

Each command lives in its own module under :mod:`mfa_process.commands` and is imported only when run, so
the credential_process mode (the hot path) loads neither boto3 nor the other commands.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any, Final, NoReturn

from mfa_process import __version__
from mfa_process.errors import MfaProcessError, UsageError

PROG: Final = "mfa-process"

DESCRIPTION: Final = """\
AWS MFA made painless. Registered as credential_process in ~/.aws/config, it prints MFA session
credentials for the aws CLI and every SDK, served from the OS keyring, and asks for a one-time code
only when the cached session nears expiry: once, on the terminal, however many processes ask.

  [profile my-profile-mfa]
  credential_process = mfa-process --profile my-profile

commands (mfa-process COMMAND --help for each):
  (none)      print credential_process JSON for --profile SOURCE
  login       ask for a code now and cache a fresh session
  logout      delete cached sessions (--profile SOURCE or --all)
  status      list cached sessions and role credentials
  env         print export lines for the session's credentials
  exec        run a command with the session's credentials in its environment
  setup       configure a profile end to end (keys, MFA device, credential_process)
  store-keys  move a profile's long-term access keys into the keyring
  policy      print or create the IAM policy that forces MFA
"""

EXAMPLES: Final = """\
examples:
  mfa-process --profile my-profile                  # what credential_process runs
  mfa-process --profile my-profile --role-arn arn:aws:iam::210987654321:role/Admin
  mfa-process login --profile my-profile
  mfa-process exec --profile my-profile -- terraform plan
"""

#: Each command and the module under mfa_process.commands that implements it.
COMMANDS: Final = {
    "login": "login",
    "logout": "logout",
    "status": "status",
    "env": "env",
    "exec": "execute",
    "setup": "setup",
    "store-keys": "store_keys",
    "policy": "policy",
}


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, raised like every other expected failure."""

    def error(self, message: str) -> NoReturn:
        """Raise instead of printing usage and exiting."""
        raise UsageError(f"{message}; see `{self.prog} --help`")


def _add_source(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    parser.add_argument(
        "--profile",
        "-p",
        required=required,
        metavar="SOURCE",
        help="profile that holds the long-term access keys (and usually mfa_serial)",
    )


def _add_session_options(parser: argparse.ArgumentParser) -> None:
    """Options that decide which credentials are produced and how the code is asked for."""
    _add_source(parser)
    group = parser.add_argument_group("session")
    group.add_argument(
        "--serial-number",
        dest="mfa_serial",
        metavar="ARN",
        help="MFA device ARN or serial (default: mfa_serial of the profile)",
    )
    group.add_argument("--duration-seconds", metavar="N", help="MFA session length, 900..129600 (default 43200)")
    group.add_argument(
        "--refresh-margin",
        metavar="SECONDS",
        help="refresh when less than this is left (default 900, botocore's window)",
    )
    group.add_argument("--region", metavar="REGION", help="region of the STS endpoint (default: AWS_REGION, profile)")
    group.add_argument("--config-profile", metavar="NAME", help="also read options from [profile NAME]")
    role = parser.add_argument_group("role")
    role.add_argument("--role-arn", metavar="ARN", help="assume this role with the MFA session")
    role.add_argument("--role-session-name", metavar="NAME", help="role session name (default: your IAM user name)")
    role.add_argument("--external-id", metavar="ID", help="external id the role's trust policy requires")
    role.add_argument("--role-duration-seconds", metavar="N", help="role session length (default and AWS cap: 3600)")
    role.add_argument("--source-identity", metavar="ID", help="source identity to set on the role session")
    prompt = parser.add_argument_group("prompt and keyring")
    prompt.add_argument(
        "--prompt",
        choices=("auto", "terminal", "dialog", "command"),
        help="how to ask for the code (default auto)",
    )
    prompt.add_argument(
        "--token-command", metavar="CMD", help="command that prints the code (YubiKey, password manager)"
    )
    prompt.add_argument(
        "--allow-insecure-keyring",
        action="store_true",
        default=None,
        help="accept a plain-text keyring backend",
    )


def build_parser(command: str | None) -> argparse.ArgumentParser:
    """The parser of one command (None: the credential_process mode)."""
    fmt = argparse.RawDescriptionHelpFormatter
    if command is None:
        parser = Parser(prog=PROG, description=DESCRIPTION, epilog=EXAMPLES, formatter_class=fmt)
        parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
        _add_session_options(parser)
        return parser
    module = command_module(command)
    parser = Parser(prog=f"{PROG} {command}", description=module.DESCRIPTION, epilog=module.EPILOG, formatter_class=fmt)
    module.configure(parser, _add_session_options, _add_source)
    return parser


def command_module(command: str) -> Any:
    """The module that implements *command* (imported only now)."""
    import importlib

    return importlib.import_module(f"mfa_process.commands.{COMMANDS[command]}")


def split_command(argv: Sequence[str]) -> tuple[str | None, list[str]]:
    """The command named first on the line, if any, and the remaining arguments."""
    if argv and argv[0] in COMMANDS:
        return argv[0], list(argv[1:])
    return None, list(argv)


def _stderr(message: str) -> None:
    from mfa_process.redact import redact

    sys.stderr.write(f"{PROG}: {redact(message)}\n")
    sys.stderr.flush()


def run(argv: Sequence[str]) -> int:
    """Parse *argv* and run the command; exceptions propagate to :func:`main`."""
    command, rest = split_command(argv)
    parser = build_parser(command)
    args = parser.parse_args(rest)
    if command is None:
        from mfa_process.commands.credential import run_credential

        return run_credential(args, os.environ)
    return int(command_module(command).run(args, os.environ))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: run, and turn every expected failure into ``mfa-process: message`` and an exit code."""
    try:
        return run(sys.argv[1:] if argv is None else argv)
    except MfaProcessError as exc:
        _stderr(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        _stderr("cancelled")
        return 130
    except BrokenPipeError:
        return 141
    except Exception as exc:
        if os.environ.get("MFA_PROCESS_DEBUG"):
            import traceback

            from mfa_process.redact import redact

            sys.stderr.write(redact(traceback.format_exc()))
        _stderr(f"unexpected error ({type(exc).__name__}); rerun with MFA_PROCESS_DEBUG=1 for details and report it")
        return 70


__all__ = ["UsageError", "build_parser", "main", "run"]
