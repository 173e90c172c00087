"""``mfa-process policy``: AWS's documented IAM policy that forces MFA, printed or created and attached."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Callable

from mfa_process.errors import UsageError

DESCRIPTION = (
    "Print AWS's documented force-MFA IAM policy: users may manage their own password, access keys and "
    "MFA device and call sts:GetSessionToken without MFA; everything else is denied unless signed in with "
    "MFA. With --create, create it as a customer managed policy (idempotent) and attach it to a group."
)
EPILOG = """\
examples:
  mfa-process policy > force-mfa.json
  mfa-process policy --create ForceMFA --attach-group developers --profile admin
"""


def configure(
    parser: argparse.ArgumentParser, add_session: Callable[..., None], add_source: Callable[..., None]
) -> None:
    """``--create NAME``, ``--attach-group GROUP``, ``--profile ADMIN``."""
    parser.add_argument("--create", metavar="NAME", help="create the managed policy NAME (reused if identical)")
    parser.add_argument("--attach-group", metavar="GROUP", help="attach the policy to this IAM group")
    parser.add_argument("--profile", "-p", metavar="ADMIN", help="profile with IAM permissions for --create")


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Print the document, or create/attach it through IAM."""
    from mfa_process import policy

    if not args.create:
        if args.attach_group or args.profile:
            raise UsageError("--attach-group and --profile go with --create NAME")
        print(policy.policy_json())
        return 0
    if not args.profile:
        raise UsageError("--create needs --profile ADMIN, a profile allowed to create and attach IAM policies")
    from mfa_process.sts import iam_client

    print(policy.create_and_attach(iam_client(args.profile), args.create, args.attach_group))
    return 0
