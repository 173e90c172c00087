"""``mfa-process env``: print the session's credentials as variables to export."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Callable

from mfa_process.app import child_variables, make_context
from mfa_process.config import load_settings
from mfa_process.redact import register
from mfa_process.refresh import credentials
from mfa_process.shellvars import SHELLS, render

DESCRIPTION = (
    "Print AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and AWS_CREDENTIAL_EXPIRATION "
    "for tools that do not read profiles, and AWS_REGION and AWS_DEFAULT_REGION when a region is known "
    "(--region, the environment, or the profile's)."
)
EPILOG = """\
examples:
  eval "$(mfa-process env --profile my-profile)"                 # bash, zsh
  mfa-process env --profile my-profile --shell fish | source      # fish
  mfa-process env --profile my-profile --shell powershell | Invoke-Expression
"""


def configure(
    parser: argparse.ArgumentParser, add_session: Callable[..., None], add_source: Callable[..., None]
) -> None:
    """Session options plus ``--shell``."""
    add_session(parser)
    parser.add_argument("--shell", choices=SHELLS, default="sh", help="syntax of the output (default sh)")


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Get credentials through the cache (prompting if needed) and print them."""
    settings, files = load_settings(args, env)
    creds = credentials(make_context(settings, files, env))
    register(*creds.secrets())
    print(render(child_variables(creds, settings), args.shell))
    return 0
