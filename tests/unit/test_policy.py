"""Tests of the force-MFA policy document and of :func:`create_and_attach` with stub clients."""

from __future__ import annotations

import json
import re
import urllib.parse
from typing import Any

import pytest

from mfa_process.errors import MfaProcessError
from mfa_process.policy import create_and_attach, force_mfa_policy, policy_json

OWN_USER = "arn:aws:iam::*:user/${aws:username}"


def statements() -> dict[str, dict[str, Any]]:
    policy = force_mfa_policy()
    return {statement["Sid"]: statement for statement in policy["Statement"]}  # type: ignore[attr-defined]


def allowed(action: str) -> list[dict[str, Any]]:
    return [s for s in statements().values() if s["Effect"] == "Allow" and action in s["Action"]]


def test_valid_json_that_round_trips() -> None:
    text = policy_json()
    assert json.loads(text) == force_mfa_policy()
    assert json.loads(policy_json(indent=0)) == force_mfa_policy()
    assert not text.endswith("\n")
    assert force_mfa_policy()["Version"] == "2012-10-17"


def test_the_deny_statement() -> None:
    deny = statements()["DenyAllExceptListedIfNoMFA"]
    assert deny["Effect"] == "Deny"
    assert deny["Resource"] == "*"
    assert "Action" not in deny
    assert deny["Condition"] == {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
    for action in ("sts:GetSessionToken", "iam:ListMFADevices", "iam:GetUser", "iam:CreateVirtualMFADevice"):
        assert action in deny["NotAction"]
    assert [s["Sid"] for s in force_mfa_policy()["Statement"] if s["Effect"] == "Deny"] == [  # type: ignore[attr-defined]
        "DenyAllExceptListedIfNoMFA"
    ]


def test_everything_exempt_from_the_deny_is_allowed_somewhere_but_the_sts_call() -> None:
    # GetSessionToken needs no IAM permission; every other exempt action must also be allowed.
    deny = statements()["DenyAllExceptListedIfNoMFA"]
    for action in deny["NotAction"]:
        if action != "sts:GetSessionToken":
            assert allowed(action), action


def test_setup_can_read_its_own_user_and_mfa_devices_without_mfa() -> None:
    for action in ("iam:GetUser", "iam:ListMFADevices"):
        assert [s["Resource"] for s in allowed(action)] == [OWN_USER]


def test_users_manage_their_own_credentials() -> None:
    by_sid = statements()
    for sid, action in [
        ("AllowManageOwnPasswords", "iam:ChangePassword"),
        ("AllowManageOwnAccessKeys", "iam:CreateAccessKey"),
        ("AllowManageOwnAccessKeys", "iam:DeleteAccessKey"),
        ("AllowManageOwnSigningCertificates", "iam:UploadSigningCertificate"),
        ("AllowManageOwnSSHPublicKeys", "iam:UploadSSHPublicKey"),
        ("AllowManageOwnVirtualMFADevice", "iam:CreateVirtualMFADevice"),
        ("AllowManageOwnUserMFA", "iam:EnableMFADevice"),
    ]:
        assert action in by_sid[sid]["Action"]
    # only the user's own IAM user, except where no resource applies or a device may have any name
    for sid, statement in by_sid.items():
        if statement["Effect"] == "Allow" and sid not in ("AllowViewAccountInfo", "AllowManageOwnVirtualMFADevice"):
            assert statement["Resource"] == OWN_USER, sid
    assert by_sid["AllowManageOwnVirtualMFADevice"]["Resource"] == "arn:aws:iam::*:mfa/*"


def test_mfa_device_cannot_be_deactivated_without_mfa() -> None:
    assert "iam:DeactivateMFADevice" not in statements()["DenyAllExceptListedIfNoMFA"]["NotAction"]
    assert "iam:ChangePassword" not in statements()["DenyAllExceptListedIfNoMFA"]["NotAction"]


def test_account_agnostic_and_within_the_size_limit() -> None:
    text = policy_json()
    assert not re.search(r"\d{12}", text)
    assert "${aws:username}" in text
    # a managed policy may have 6,144 characters, white space not counted
    assert len(json.dumps(force_mfa_policy(), separators=(",", ":"))) < 6144


def test_statement_ids_are_unique_and_actions_well_formed() -> None:
    sids = [s["Sid"] for s in force_mfa_policy()["Statement"]]  # type: ignore[attr-defined]
    assert len(sids) == len(set(sids))
    for statement in statements().values():
        actions: list[str] = statement["Action"] if "Action" in statement else statement["NotAction"]
        assert len(actions) == len(set(actions))
        for action in actions:
            assert re.fullmatch(r"(iam|sts):[A-Z][A-Za-z]+", action), action


def test_each_call_returns_a_fresh_copy() -> None:
    first = force_mfa_policy()
    first["Statement"].clear()  # type: ignore[attr-defined]
    assert force_mfa_policy()["Statement"]


# --- create_and_attach with stub clients ---------------------------------------------------------


class AwsError(Exception):
    """Shaped like botocore's ClientError."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.response = {"Error": {"Code": code, "Message": message}}


class StubIam:
    """Just enough of an IAM client: one existing policy whose document comes back as a string."""

    def __init__(self, document: object) -> None:
        self.document = document
        self.calls: list[str] = []

    def get_group(self, **params: Any) -> dict[str, Any]:
        self.calls.append("get_group")
        if params["GroupName"] != "devs":
            raise AwsError("NoSuchEntity", f"The group with name {params['GroupName']} cannot be found.")
        return {"Group": {"GroupName": "devs"}}

    def list_policies(self, **params: Any) -> dict[str, Any]:
        self.calls.append("list_policies")
        return {"Policies": [{"PolicyName": "force-mfa", "Arn": "arn:aws:iam::123456789012:policy/force-mfa"}]}

    def get_policy(self, **params: Any) -> dict[str, Any]:
        return {"Policy": {"DefaultVersionId": "v3"}}

    def get_policy_version(self, **params: Any) -> dict[str, Any]:
        return {"PolicyVersion": {"Document": self.document}}

    def list_attached_group_policies(self, **params: Any) -> dict[str, Any]:
        return {"AttachedPolicies": [], "IsTruncated": False}

    def attach_group_policy(self, **params: Any) -> None:
        self.calls.append("attach_group_policy")


def test_url_encoded_document_is_recognised() -> None:
    client = StubIam(urllib.parse.quote(policy_json(indent=4)))
    report = create_and_attach(client, "force-mfa", "devs")
    assert "already exists with this document" in report
    assert "Attached it to IAM group devs." in report


def test_differing_url_encoded_document_is_refused() -> None:
    client = StubIam(urllib.parse.quote(json.dumps({"Version": "2012-10-17", "Statement": []})))
    with pytest.raises(MfaProcessError, match="--version-id v3"):
        create_and_attach(client, "force-mfa", "devs")
    assert "attach_group_policy" not in client.calls


def test_aws_errors_become_one_line_messages() -> None:
    client = StubIam(force_mfa_policy())
    with pytest.raises(MfaProcessError) as caught:
        create_and_attach(client, "force-mfa", "nobody")
    assert str(caught.value) == "IAM get_group failed: NoSuchEntity: The group with name nobody cannot be found."
    assert client.calls == ["get_group"]  # nothing looked up or created before the group was checked


def test_botocore_errors_without_a_response_become_messages() -> None:
    botocore_exceptions = pytest.importorskip("botocore.exceptions")

    class NoKeys(StubIam):
        def list_policies(self, **params: Any) -> dict[str, Any]:
            raise botocore_exceptions.NoCredentialsError

    with pytest.raises(MfaProcessError, match="IAM list_policies failed: Unable to locate credentials"):
        create_and_attach(NoKeys(None), "force-mfa", None)


def test_other_exceptions_are_not_swallowed() -> None:
    class Broken(StubIam):
        def list_policies(self, **params: Any) -> dict[str, Any]:
            raise KeyError("bug")

    with pytest.raises(KeyError):
        create_and_attach(Broken(None), "force-mfa", None)


def test_rotation_needs_exactly_the_own_access_key_statement_and_only_with_mfa() -> None:
    from mfa_process.rotation import IAM_ACTIONS

    (statement,) = allowed("iam:CreateAccessKey")
    assert statement["Sid"] == "AllowManageOwnAccessKeys"
    assert statement["Resource"] == OWN_USER
    assert set(IAM_ACTIONS) <= set(statement["Action"])
    assert set(statement["Action"]) - set(IAM_ACTIONS) == {"iam:GetAccessKeyLastUsed"}
    deny = statements()["DenyAllExceptListedIfNoMFA"]
    assert not set(IAM_ACTIONS) & set(deny["NotAction"])  # denied without an MFA session
    assert deny["Condition"] == {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
    # sts:GetCallerIdentity (the check of the current and the new pair) needs no permission at all
    assert not allowed("sts:GetCallerIdentity")
