"""``mfa-process doctor``: check the setup, one ``ok|warn|fail`` line per check with what it saw and the fix."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from typing import Callable

DESCRIPTION = (
    "Check what makes a profile work: keys that win over credential_process, the credential_process line, the "
    "source profile's keys and mfa_serial, the region, the state directory, the cached session and the aws CLI. "
    "One line per check: ok, warn or fail, what it saw, and the fix. Exit status 1 when a check fails. Nothing "
    "talks to AWS unless --online is given, and no MFA code is ever sent."
)
EPILOG = """\
examples:
  mfa-process doctor
  mfa-process doctor --profile my-profile
  mfa-process doctor --profile my-profile --online --json
"""


def configure(
    parser: argparse.ArgumentParser, add_session: Callable[..., None], add_source: Callable[..., None]
) -> None:
    """``--profile`` (optional), ``--online``, ``--json``."""
    add_source(parser, required=False)
    parser.add_argument(
        "--online", action="store_true", help="also compare this clock with the STS endpoint's (sends no code)"
    )
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Run every check and print its findings."""
    from mfa_process.doctor import exit_code
    from mfa_process.doctor.probe import Probe
    from mfa_process.doctor.registry import run_checks

    findings = run_checks(Probe(env, profile=args.profile, online=args.online))
    code = exit_code(findings)
    if args.json:
        doc = {"ok": code == 0, "checks": [finding._asdict() for finding in findings]}
        print(json.dumps(doc, indent=2))
    else:
        for finding in findings:
            print(finding.line())
    return code
