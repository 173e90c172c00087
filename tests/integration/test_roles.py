"""Roles from one MFA session, through the real aws CLI and boto3, real short role sessions, moto behind the proxy.

moto cannot check what a role's trust policy requires of the caller: it never sets aws:MultiFactorAuthPresent,
and with its IAM enforcement switched on it rejects credentials from GetSessionToken altogether. So these
tests check what the helper does (which credentials it presents, how often it calls STS, what it caches);
a refused AssumeRole is AWS's answer injected at the proxy, in AWS's own format.
"""

from __future__ import annotations

import io
import json
import subprocess

import pexpect
import pytest

from tests.support import clock
from tests.support.clients import answer_prompt, finish, run_detached, screen, spawn
from tests.support.home import VENV_BIN, AwsHome

pytestmark = pytest.mark.keyring

MFA = str(VENV_BIN / "mfa-process")
AWS_V1 = str(VENV_BIN / "aws")
ROLES = (
    "arn:aws:iam::123456789012:role/admin",
    "arn:aws:iam::123456789012:role/ops",
    "arn:aws:iam::210987654321:role/audit",
)


def add_role_profiles(home: AwsHome, extra: str = "") -> None:
    text = home.config_path.read_text()
    for i, arn in enumerate(ROLES):
        text += (
            f"\n[profile role{i}]\ncredential_process = {MFA} --profile source --config-profile role{i}{extra}\n"
            f"mfa_process_role_arn = {arn}\nregion = us-east-1\n"
        )
    home.config_path.write_text(text)


def aws(home: AwsHome, profile: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_detached(
        home, [AWS_V1, "sts", "get-caller-identity", "--profile", profile, "--output", "json"], env=env, timeout=60
    )


def first_prompt(home: AwsHome, sts_proxy, profile: str) -> str:
    child = pexpect.spawn(
        AWS_V1, ["sts", "get-caller-identity", "--profile", profile], env=home.env, encoding="utf-8", timeout=60
    )
    child.logfile_read = io.StringIO()
    child.expect("MFA code for")
    child.sendline(sts_proxy.wait_for_fresh_code())
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.logfile_read.getvalue()
    return child.logfile_read.getvalue()


def test_one_prompt_serves_three_roles_then_silent_reassume(sts_proxy, aws_home):
    # Time is an input here, never a window: the cached checks run with the clock 50 min back (whatever the
    # machine's speed, the 900 s roles are then far from the 661 s margin), the re-assume 240 s ahead (every
    # role is then inside the margin), less than the 300 s at which the helper would blame a clock skew.
    flags = " --refresh-margin 661 --role-duration-seconds 900"
    earlier, later = clock.shifted(-3000), clock.shifted(240)
    add_role_profiles(aws_home, flags)
    first_prompt(aws_home, sts_proxy, "role0")
    for profile in ("role1", "role2"):
        result = aws(aws_home, profile)
        assert result.returncode == 0, result.stderr
    assert sts_proxy.count("GetSessionToken") == 1
    assert sts_proxy.count("AssumeRole") == 3
    session = next(c for c in sts_proxy.issued if c.action == "GetSessionToken")
    assume_calls = [c for c in sts_proxy.calls if c.action == "AssumeRole"]
    assert {c.access_key_id for c in assume_calls} == {session.access_key_id}  # the MFA session, not the long-term key
    assert [c.params["RoleArn"] for c in assume_calls] == list(ROLES)
    assert {c.params["RoleSessionName"] for c in assume_calls} == {"alice"}

    # cached: no STS call at all
    assert aws(aws_home, "role0", env=earlier).returncode == 0
    assert sts_proxy.count("AssumeRole") == 3

    # boto3 through a role profile, served from the cache
    script = "import boto3; print(boto3.Session(profile_name='role1').client('sts').get_caller_identity()['Account'])"
    result = run_detached(aws_home, [str(VENV_BIN / "python"), "-c", script], env=earlier, timeout=60)
    assert result.returncode == 0, result.stderr
    assert sts_proxy.count("AssumeRole") == 3

    # 240 s later every 900 s role session is inside the 661 s margin: role0 is re-assumed silently (no
    # terminal, so no prompt was possible), from the cached MFA session.
    helper = [MFA, "--profile", "source", "--config-profile", "role0", *flags.split()]  # role0's credential_process
    reassumed = run_detached(aws_home, helper, env=later)
    assert reassumed.returncode == 0, reassumed.stderr
    assert json.loads(reassumed.stdout)["AccessKeyId"] == sts_proxy.issued[-1].access_key_id
    assert sts_proxy.count("AssumeRole") == 4
    assert sts_proxy.count("GetSessionToken") == 1

    # status lists the session and the three roles, without secrets
    status = json.loads(
        subprocess.run(
            [MFA, "status", "--json"], env=aws_home.env, capture_output=True, text=True, timeout=60, check=True
        ).stdout
    )
    kinds = sorted((e["kind"], e["role_arn"] or "") for e in status["entries"])
    assert kinds == [("role", arn) for arn in sorted(ROLES)] + [("session", "")]

    # the session lapses (logout): the next role call prompts once, and the others follow without a prompt
    assert (
        subprocess.run([MFA, "logout", "--profile", "source"], env=aws_home.env, timeout=60, check=False).returncode
        == 0
    )
    first_prompt(aws_home, sts_proxy, "role2")
    assert aws(aws_home, "role1").returncode == 0
    assert sts_proxy.count("GetSessionToken") == 2


def test_role_clamped_to_one_hour_with_one_notice(sts_proxy, aws_home):
    add_role_profiles(aws_home, " --role-duration-seconds 7200")
    screen = first_prompt(aws_home, sts_proxy, "role0")
    assert screen.count("role chaining") == 1
    [call] = [c for c in sts_proxy.calls if c.action == "AssumeRole"]
    assert call.params["DurationSeconds"] == "3600"


def test_refused_role_is_one_clear_line(sts_proxy, aws_home):
    add_role_profiles(aws_home)
    first_prompt(aws_home, sts_proxy, "role0")
    sts_proxy.fail_next_with(
        403,
        "AccessDenied",
        "User: arn:aws:sts::123456789012:assumed-role/x is not authorized to perform: sts:AssumeRole",
        action="AssumeRole",
    )
    result = run_detached(aws_home, [MFA, "--profile", "source", "--config-profile", "role1"], timeout=60)
    assert result.returncode == 6
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "AssumeRole arn:aws:iam::123456789012:role/ops failed: AccessDenied" in result.stderr
    assert "trust policy" in result.stderr


def test_plain_role_arn_next_to_credential_process_is_explained(sts_proxy, aws_home):
    aws_home.config_path.write_text(
        aws_home.config_path.read_text()
        + f"\n[profile bad]\ncredential_process = {MFA} --profile source --config-profile bad\n"
        + "role_arn = arn:aws:iam::123456789012:role/admin\n"
    )
    result = run_detached(aws_home, [MFA, "--profile", "source", "--config-profile", "bad"], timeout=60)
    assert result.returncode == 3
    assert "rename it to mfa_process_role_arn" in result.stderr
    # and botocore itself indeed refuses such a profile before running the helper
    probe = "import boto3; boto3.Session(profile_name='bad').client('sts').get_caller_identity()"
    botocore_run = run_detached(aws_home, [str(VENV_BIN / "python"), "-c", probe], timeout=60)
    assert botocore_run.returncode != 0
    assert "source_profile" in botocore_run.stderr or "credential_source" in botocore_run.stderr


def test_credentials_for_one_source_identity_are_never_served_to_another(sts_proxy, aws_home):
    role = ["--role-arn", ROLES[0]]
    child = spawn(aws_home, [MFA, "login", "--profile", "source", *role, "--source-identity", "alice"])
    answer_prompt(child, sts_proxy)
    assert finish(child) == 0, screen(child)
    served: dict[str, set[str]] = {}
    for identity in ("alice", "bob", "-", "alice", "bob", "-"):
        flags = ["--source-identity", identity] if identity != "-" else []
        result = run_detached(aws_home, [MFA, "--profile", "source", *role, *flags], timeout=60)
        assert result.returncode == 0, result.stderr
        served.setdefault(identity, set()).add(json.loads(result.stdout)["AccessKeyId"])
    assert [c.params.get("SourceIdentity") for c in sts_proxy.calls if c.action == "AssumeRole"] == [
        "alice",
        "bob",
        None,
    ]
    assert all(len(keys) == 1 for keys in served.values())
    assert len(set().union(*served.values())) == 3
    assert sts_proxy.get_session_token_calls == 1
