"""Every ``doctor`` check, in the order its lines are printed: add a new check here."""

from __future__ import annotations

from typing import Callable, Final

from mfa_process.doctor import Finding, local, online, profiles
from mfa_process.doctor.probe import Probe

Check = Callable[[Probe], "list[Finding]"]

CHECKS: Final[tuple[Check, ...]] = (
    profiles.check_files,
    profiles.check_profiles,
    profiles.check_shadowing,
    profiles.check_program,
    profiles.check_settings,
    profiles.check_keys,
    profiles.check_region,
    local.check_state_dir,
    local.check_state_files,
    local.check_cache,
    local.check_sessions,
    local.check_rotations,
    local.check_aws_cli,
    online.check_clock,
)


def run_checks(probe: Probe, checks: tuple[Check, ...] = CHECKS) -> list[Finding]:
    """Every finding of every check; a check that raises the project's error becomes one ``fail`` line."""
    from mfa_process.doctor import fail
    from mfa_process.errors import MfaProcessError

    out: list[Finding] = []
    for check in checks:
        try:
            out.extend(check(probe))
        except MfaProcessError as exc:
            name = check.__name__.removeprefix("check_").replace("_", " ")
            out.append(fail(name, str(exc), "fix what the message names, then run mfa-process doctor again"))
    return out
