"""``mfa-process login``: ask for a code now and cache a fresh MFA session."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any, Callable

from mfa_process.app import make_context
from mfa_process.config import load_settings
from mfa_process.credentials import format_left, format_local
from mfa_process.errors import KeyringError
from mfa_process.refresh import Context, role_credentials, session_credentials

DESCRIPTION = "Ask for an MFA code now and cache a fresh session (and the role's credentials, if one is set)."
EPILOG = """\
examples:
  mfa-process login --profile my-profile
  mfa-process login --profile my-profile --duration-seconds 3600
"""


def configure(
    parser: argparse.ArgumentParser, add_session: Callable[..., None], add_source: Callable[..., None]
) -> None:
    """Login takes the same options as the credential_process mode."""
    add_session(parser)


def _refuse_uncached(ctx: Context, profile: str) -> None:
    """``login`` exists to cache: credentials that could not be stored are a failure, not a success."""
    if ctx.uncached:
        raise KeyringError(
            f"the new credentials of profile '{profile}' could not be cached (see the line above), so the next "
            f"call will ask for a code again; fix the keyring and run `mfa-process login --profile {profile}` again"
        )


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Prompt, cache, and say until when the session lasts."""
    settings, files = load_settings(args, env)
    ctx = make_context(settings, files, env, command=f"login --profile {settings.profile}")
    session = session_credentials(ctx, force=True)
    _refuse_uncached(ctx, settings.profile)
    now = ctx.now()
    lines: list[Any] = [
        f"MFA session for profile {settings.profile} ({settings.mfa_serial}) cached until "
        f"{format_local(session.expiration)} ({format_left(session.seconds_left(now))} left)"
    ]
    if settings.role is not None:
        role = role_credentials(ctx)
        _refuse_uncached(ctx, settings.profile)
        lines.append(
            f"role {settings.role.role_arn} cached until {format_local(role.expiration)} "
            f"({format_left(role.seconds_left(now))} left)"
        )
    from mfa_process.voice import clean

    print("\n".join(clean(line) for line in lines))
    return 0
