"""AWS's documented "force MFA" IAM policy, and creating and attaching it idempotently.

The document follows the IAM User Guide's example "AWS: Allows MFA-authenticated IAM users to manage
their own credentials on the Security credentials page": users may manage their own password, access
keys, signing certificates, SSH public keys, Git credentials and MFA devices; everything else is denied
unless the request was signed with MFA (``BoolIfExists aws:MultiFactorAuthPresent false``, so requests
made with long-term access keys, which lack the key, are denied too). Differences from the page's
original JSON, on purpose:

* ``iam:CreateVirtualMFADevice`` is allowed on ``mfa/*`` (as in AWS's example "IAM: Allows IAM users
  to self-manage an MFA device"): IAM accepts several MFA devices per user, so a device may have any
  name. Enabling one is still limited to the user's own IAM user; deleting devices is not granted.
* ``iam:GetAccessKeyLastUsed`` is allowed, as the page's current text describes.

As on the page, the deny statement exempts only what a user without an MFA session needs: setting up
a device, ``iam:GetUser`` and ``iam:ListMFADevices`` (which ``mfa-process setup`` calls to find the
device) and ``sts:GetSessionToken`` (which turns the code into an MFA session).

The statements are data below; the JSON is generated, never pasted.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any, Final

from mfa_process.deadline import AWS_CALL, DeadlineExceeded, call_within
from mfa_process.errors import MfaProcessError

__all__ = ["create_and_attach", "force_mfa_policy", "policy_json"]

#: The user's own IAM user, in any account.
_OWN_USER: Final = "arn:aws:iam::*:user/${aws:username}"
#: Actions that need no resource ARN.
_ACCOUNT_INFO: Final = ("iam:GetAccountPasswordPolicy", "iam:GetAccountSummary", "iam:ListVirtualMFADevices")

#: (Sid, actions, resource) of the Allow statements.
_ALLOW: Final[tuple[tuple[str, tuple[str, ...], str], ...]] = (
    ("AllowViewAccountInfo", _ACCOUNT_INFO, "*"),
    ("AllowManageOwnPasswords", ("iam:ChangePassword", "iam:GetUser"), _OWN_USER),
    (
        "AllowManageOwnAccessKeys",
        (
            "iam:CreateAccessKey",
            "iam:DeleteAccessKey",
            "iam:GetAccessKeyLastUsed",
            "iam:ListAccessKeys",
            "iam:UpdateAccessKey",
        ),
        _OWN_USER,
    ),
    (
        "AllowManageOwnSigningCertificates",
        (
            "iam:DeleteSigningCertificate",
            "iam:ListSigningCertificates",
            "iam:UpdateSigningCertificate",
            "iam:UploadSigningCertificate",
        ),
        _OWN_USER,
    ),
    (
        "AllowManageOwnSSHPublicKeys",
        (
            "iam:DeleteSSHPublicKey",
            "iam:GetSSHPublicKey",
            "iam:ListSSHPublicKeys",
            "iam:UpdateSSHPublicKey",
            "iam:UploadSSHPublicKey",
        ),
        _OWN_USER,
    ),
    (
        "AllowManageOwnGitCredentials",
        (
            "iam:CreateServiceSpecificCredential",
            "iam:DeleteServiceSpecificCredential",
            "iam:ListServiceSpecificCredentials",
            "iam:ResetServiceSpecificCredential",
            "iam:UpdateServiceSpecificCredential",
        ),
        _OWN_USER,
    ),
    ("AllowManageOwnVirtualMFADevice", ("iam:CreateVirtualMFADevice",), "arn:aws:iam::*:mfa/*"),
    (
        "AllowManageOwnUserMFA",
        ("iam:DeactivateMFADevice", "iam:EnableMFADevice", "iam:ListMFADevices", "iam:ResyncMFADevice"),
        _OWN_USER,
    ),
)

#: The description of a policy created by :func:`create_and_attach`.
_DESCRIPTION: Final = "Deny everything but managing one's own credentials unless signed in with MFA (mfa-process)"

#: What stays possible without an MFA session (anything else is denied then).
_WITHOUT_MFA: Final = (
    "iam:CreateVirtualMFADevice",
    "iam:EnableMFADevice",
    "iam:GetUser",
    "iam:ListMFADevices",
    "iam:ListVirtualMFADevices",
    "iam:ResyncMFADevice",
    "sts:GetSessionToken",
)


def force_mfa_policy() -> dict[str, object]:
    """Return the policy document (a fresh copy, safe to change)."""
    statements: list[dict[str, object]] = [
        {"Sid": sid, "Effect": "Allow", "Action": list(actions), "Resource": resource}
        for sid, actions, resource in _ALLOW
    ]
    statements.append(
        {
            "Sid": "DenyAllExceptListedIfNoMFA",
            "Effect": "Deny",
            "NotAction": list(_WITHOUT_MFA),
            "Resource": "*",
            "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
        }
    )
    return {"Version": "2012-10-17", "Statement": statements}


def policy_json(indent: int = 2) -> str:
    """Return the policy document as JSON (no trailing newline)."""
    return json.dumps(force_mfa_policy(), indent=indent)


def create_and_attach(iam_client: Any, name: str, group: str | None, *, deadline: float = AWS_CALL) -> str:
    """Create the customer-managed policy ``name`` (or reuse an identical one) and attach it to ``group``.

    ``iam_client`` is a boto3 IAM client. Safe to run again: an existing policy with the same
    document is reused and an attachment is made once. An existing policy with a different document
    is left alone and reported as an error. Each IAM call has *deadline* seconds in all. Returns a
    human-readable report, one line per step.
    """
    iam = IamCalls(iam_client, deadline)
    if group is not None:  # a missing group fails before anything is created
        iam("get_group", GroupName=group, MaxItems=1)
    arn = _find_policy(iam, name)
    if arn is None:
        created = iam("create_policy", PolicyName=name, PolicyDocument=policy_json(), Description=_DESCRIPTION)
        arn = created["Policy"]["Arn"]
        lines = [f"Created IAM policy {name} ({arn})."]
    else:
        _check_document(iam, name, arn)
        lines = [f"IAM policy {name} already exists with this document ({arn}); reusing it."]
    if group is None:
        lines.append(
            "Not attached to any group; attach it with:"
            f" aws iam attach-group-policy --group-name GROUP --policy-arn {arn}"
        )
    elif _attached(iam, group, arn):
        lines.append(f"Already attached to IAM group {group}.")
    else:
        iam("attach_group_policy", GroupName=group, PolicyArn=arn)
        lines.append(f"Attached it to IAM group {group}.")
    return "\n".join(lines)


def _find_policy(iam: IamCalls, name: str) -> str | None:
    """Return the ARN of the customer-managed policy called ``name``, if there is one."""
    marker: str | None = None
    while True:
        page = iam("list_policies", Scope="Local", **({"Marker": marker} if marker else {}))
        for policy in page.get("Policies", []):
            if policy["PolicyName"] == name:
                return str(policy["Arn"])
        if not page.get("IsTruncated"):
            return None
        marker = page["Marker"]


def _check_document(iam: IamCalls, name: str, arn: str) -> None:
    """Raise unless the policy's default version is our document."""
    version_id = iam("get_policy", PolicyArn=arn)["Policy"]["DefaultVersionId"]
    document = iam("get_policy_version", PolicyArn=arn, VersionId=version_id)["PolicyVersion"]["Document"]
    if isinstance(document, str):  # botocore decodes it; the raw API returns URL-encoded JSON
        document = json.loads(urllib.parse.unquote(document))
    if document != force_mfa_policy():
        raise MfaProcessError(
            f"IAM policy {name} ({arn}) already exists with a different document and was not changed;"
            f" inspect it with 'aws iam get-policy-version --policy-arn {arn} --version-id {version_id}',"
            " then delete it or pick another name"
        )


def _attached(iam: IamCalls, group: str, arn: str) -> bool:
    marker: str | None = None
    while True:
        page = iam("list_attached_group_policies", GroupName=group, **({"Marker": marker} if marker else {}))
        if any(policy["PolicyArn"] == arn for policy in page.get("AttachedPolicies", [])):
            return True
        if not page.get("IsTruncated"):
            return False
        marker = page["Marker"]


class IamCalls:
    """IAM calls on a boto3 client, each under one overall deadline, failures as one-line errors."""

    def __init__(self, client: Any, deadline: float) -> None:
        self.client = client
        self.deadline = deadline

    def __call__(self, operation: str, **params: Any) -> Any:
        """Call ``operation``, abandoned after :attr:`deadline` seconds without its whole answer (a silent or
        dripping endpoint), with botocore's errors as :class:`MfaProcessError`.

        The errors are recognised without importing botocore: an AWS error answer has a ``response``
        with an ``Error``; anything else botocore raises (no credentials, no connection) is a
        ``BotoCoreError``. Their messages carry no secrets.
        """
        try:
            return call_within(self.deadline, getattr(self.client, operation), **params)
        except DeadlineExceeded:
            raise MfaProcessError(
                f"IAM {operation}: no complete answer within {self.deadline:g} s (the deadline of one AWS call); "
                "check the network and the IAM endpoint, then run it again (it is safe to repeat)"
            ) from None
        except Exception as exc:
            response = getattr(exc, "response", None)
            if isinstance(response, dict) and isinstance(response.get("Error"), dict):
                code = response["Error"].get("Code", "Error")
                message = response["Error"].get("Message", "")
                raise MfaProcessError(f"IAM {operation} failed: {code}: {message}") from None
            if any(c.__name__ == "BotoCoreError" and c.__module__.startswith("botocore") for c in type(exc).__mro__):
                raise MfaProcessError(f"IAM {operation} failed: {exc}") from None
            raise
