""":func:`create_and_attach` against moto's in-process IAM, with a real boto3 client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mfa_process.errors import MfaProcessError
from mfa_process.policy import create_and_attach, force_mfa_policy

NAME = "mfa-process-force-mfa"


@pytest.fixture
def iam(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[Any]:
    """A boto3 IAM client on moto, isolated from the machine's AWS configuration."""
    for variable in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("iam", region_name="us-east-1")
        client.create_group(GroupName="developers")
        yield client


def policy_arns(iam: Any) -> dict[str, str]:
    return {p["PolicyName"]: p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"]}


def attached(iam: Any, group: str) -> list[str]:
    return [p["PolicyName"] for p in iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"]]


def test_create_then_reuse(iam: Any) -> None:
    first = create_and_attach(iam, NAME, "developers")
    arn = policy_arns(iam)[NAME]
    assert first.splitlines() == [f"Created IAM policy {NAME} ({arn}).", "Attached it to IAM group developers."]

    second = create_and_attach(iam, NAME, "developers")
    assert second.splitlines() == [
        f"IAM policy {NAME} already exists with this document ({arn}); reusing it.",
        "Already attached to IAM group developers.",
    ]
    assert list(policy_arns(iam)) == [NAME]
    assert attached(iam, "developers") == [NAME]
    assert len(iam.list_policy_versions(PolicyArn=arn)["Versions"]) == 1
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    assert iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"] == force_mfa_policy()


def test_no_group(iam: Any) -> None:
    report = create_and_attach(iam, NAME, None)
    arn = policy_arns(iam)[NAME]
    assert report.splitlines()[1] == (
        f"Not attached to any group; attach it with: aws iam attach-group-policy --group-name GROUP --policy-arn {arn}"
    )
    assert attached(iam, "developers") == []
    # attaching later reuses the policy
    assert create_and_attach(iam, NAME, "developers").splitlines()[1] == "Attached it to IAM group developers."


def test_differing_policy_is_reported_and_left_alone(iam: Any) -> None:
    other = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}],
    }
    arn = iam.create_policy(PolicyName=NAME, PolicyDocument=json.dumps(other))["Policy"]["Arn"]
    with pytest.raises(MfaProcessError) as caught:
        create_and_attach(iam, NAME, "developers")
    message = str(caught.value)
    assert message.startswith(f"IAM policy {NAME} ({arn}) already exists with a different document and was not changed")
    assert f"aws iam get-policy-version --policy-arn {arn} --version-id v1" in message
    assert iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]["Document"] == other
    assert len(iam.list_policy_versions(PolicyArn=arn)["Versions"]) == 1
    assert attached(iam, "developers") == []


def test_missing_group_fails_before_creating_anything(iam: Any) -> None:
    with pytest.raises(MfaProcessError, match="IAM get_group failed: NoSuchEntity"):
        create_and_attach(iam, NAME, "nobody")
    assert policy_arns(iam) == {}


class SmallPages:
    """Wraps a client so that list calls return one item per page, to exercise the paging."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)
        if not name.startswith("list_"):
            return method
        return lambda **params: method(MaxItems=1, **params)


def test_paging(iam: Any) -> None:
    for index in range(3):
        arn = iam.create_policy(PolicyName=f"other-{index}", PolicyDocument=json.dumps(force_mfa_policy()))["Policy"][
            "Arn"
        ]
        iam.attach_group_policy(GroupName="developers", PolicyArn=arn)
    client = SmallPages(iam)
    assert client.list_policies(Scope="Local")["IsTruncated"]
    assert "Created" in create_and_attach(client, NAME, "developers")
    # found on a later page, both as a policy and as an attachment
    report = create_and_attach(client, NAME, "developers")
    assert "reusing it" in report
    assert "Already attached" in report
    assert sorted(attached(iam, "developers")) == sorted([NAME, "other-0", "other-1", "other-2"])
