"""argparse parsers for every command (imported only when the fast parser declines or a command runs)."""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

from mfa_process import __version__
from mfa_process.errors import UsageError
from mfa_process.options import SERVER_OPTIONS, SESSION_OPTIONS, Option

PROG = "mfa-process"

DESCRIPTION = """\
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
  serve       serve the credentials to SDKs over the container-credentials protocol
  setup       configure a profile end to end (keys, MFA device, credential_process)
  store-keys  move a profile's long-term access keys into the keyring
  rotate-keys replace a profile's long-term access key with a new one (under MFA)
  policy      print or create the IAM policy that forces MFA
  doctor      check the setup: one ok/warn/fail line per check, with the fix
"""

EXAMPLES = """\
examples:
  mfa-process --profile my-profile                  # what credential_process runs
  mfa-process --profile my-profile --role-arn arn:aws:iam::210987654321:role/Admin
  mfa-process login --profile my-profile
  mfa-process exec --profile my-profile -- terraform plan
"""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, raised like every other expected failure."""

    _argv: tuple[str, ...] = ()

    def parse_args(self, args: Any = None, namespace: Any = None) -> Any:
        """Parse, remembering the arguments so that an error can point at a mistyped flag."""
        self._argv = tuple(args) if args is not None else ()
        return super().parse_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        """Raise instead of printing usage and exiting; suggest the flag a mistyped one was meant to be."""
        typo = self.mistyped_flag()
        if typo is not None:
            raise UsageError(f"unknown flag {typo[0]}; did you mean {typo[1]}? (see `{self.prog} --help`)")
        raise UsageError(f"{message}; see `{self.prog} --help`")

    def mistyped_flag(self) -> tuple[str, str] | None:
        """The first unknown ``--flag`` before ``--`` that is close to a known one, and that one."""
        known = list(self._option_string_actions)
        for word in self._argv:
            if word == "--":
                break
            flag = word.split("=", 1)[0]
            if not flag.startswith("--") or flag in known or any(k.startswith(flag) for k in known):
                continue
            close = suggest(flag, known)
            if close is not None:
                return flag, close
        return None


def suggest(word: str, choices: Any) -> str | None:
    """The choice closest to *word*, if one is close enough to be a typo of it."""
    import difflib

    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.75)
    return found[0] if found else None


def add_source(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """``--profile SOURCE`` alone."""
    option = SESSION_OPTIONS[0]
    parser.add_argument(*option.flags, dest=option.dest, required=required, metavar=option.metavar, help=option.help)


def add_session_options(parser: argparse.ArgumentParser) -> None:
    """All options of the credential_process mode, grouped as in ``--help``."""
    add_source(parser)
    add_options(parser, SESSION_OPTIONS[1:])


def add_server_options(parser: argparse.ArgumentParser) -> None:
    """The credential server's options (``serve``, ``exec --server``)."""
    add_options(parser, SERVER_OPTIONS)


def add_options(parser: argparse.ArgumentParser, options: tuple[Option, ...]) -> None:
    """*options* in argument groups named by each option's group."""
    groups: dict[str, Any] = {}
    for option in options:
        group = groups.get(option.group) or groups.setdefault(option.group, parser.add_argument_group(option.group))
        if option.is_switch:
            group.add_argument(*option.flags, dest=option.dest, action="store_true", default=None, help=option.help)
        else:
            group.add_argument(
                *option.flags, dest=option.dest, metavar=option.metavar, choices=option.choices, help=option.help
            )


def build_parser(command: str | None, module: Any = None) -> Parser:
    """The parser of one command (None: the credential_process mode); *module* implements the command."""
    fmt = argparse.RawDescriptionHelpFormatter
    if command is None:
        parser = Parser(prog=PROG, description=DESCRIPTION, epilog=EXAMPLES, formatter_class=fmt)
        parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
        add_session_options(parser)
        return parser
    import textwrap

    description = textwrap.fill(module.DESCRIPTION, width=100)
    parser = Parser(prog=f"{PROG} {command}", description=description, epilog=module.EPILOG, formatter_class=fmt)
    module.configure(parser, add_session_options, add_source)
    return parser
