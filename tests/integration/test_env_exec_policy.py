"""``env``, ``exec`` and ``policy`` through real shells, real signals and moto's IAM."""

from __future__ import annotations

import io
import json
import shutil
import signal
import subprocess
import sys
import time

import boto3
import pexpect
import pytest

from tests.support.home import VENV_BIN, AwsHome

pytestmark = pytest.mark.keyring

MFA = str(VENV_BIN / "mfa-process")


def login(home: AwsHome, sts_proxy) -> None:
    child = pexpect.spawn(MFA, ["login", "--profile", "source"], env=home.env, encoding="utf-8", timeout=60)
    child.logfile_read = io.StringIO()
    child.expect("MFA code for")
    child.sendline(sts_proxy.wait_for_fresh_code())
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.logfile_read.getvalue()


def run(home: AwsHome, args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run with no terminal; *env* replaces the home's environment."""
    return subprocess.run(
        args,
        env=env or home.env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        check=False,
    )


@pytest.mark.parametrize("shell", ["sh", "fish"])
def test_env_output_evaluated_by_a_real_shell(sts_proxy, aws_home, shell):
    program = shutil.which(shell)
    if program is None:
        pytest.fail(f"{shell} is not installed (scripts/deps.sh installs it)")
    login(aws_home, sts_proxy)
    issued = sts_proxy.issued[-1]
    env_out = run(aws_home, [MFA, "env", "--profile", "source", "--shell", shell])
    assert env_out.returncode == 0, env_out.stderr
    script = env_out.stdout + '\necho "$AWS_ACCESS_KEY_ID|$AWS_SESSION_TOKEN|$AWS_CREDENTIAL_EXPIRATION"\n'
    shell_run = subprocess.run([program, "-c", script], capture_output=True, text=True, timeout=30, check=False)
    assert shell_run.returncode == 0, shell_run.stderr
    key_id, token, expiration = shell_run.stdout.strip().split("|")
    assert key_id == issued.access_key_id
    assert token == issued.session_token
    assert expiration.endswith("Z")


def test_env_json_and_powershell_forms(sts_proxy, aws_home):
    login(aws_home, sts_proxy)
    doc = json.loads(run(aws_home, [MFA, "env", "--profile", "source", "--shell", "json"]).stdout)
    assert set(doc) == {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_CREDENTIAL_EXPIRATION",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    }
    ps = run(aws_home, [MFA, "env", "--profile", "source", "--shell", "powershell"]).stdout
    assert ps.startswith("$Env:AWS_ACCESS_KEY_ID = '")


def test_exec_passes_variables_exit_code_and_removes_profile_vars(sts_proxy, aws_home):
    login(aws_home, sts_proxy)
    issued = sts_proxy.issued[-1]
    probe = (
        "import os, sys; print(os.environ['AWS_ACCESS_KEY_ID'], os.environ.get('AWS_PROFILE'),"
        " os.environ.get('AWS_DEFAULT_PROFILE')); sys.exit(7)"
    )
    result = run(
        aws_home,
        [MFA, "exec", "--profile", "source", "--", sys.executable, "-c", probe],
        env={**aws_home.env, "AWS_PROFILE": "source-mfa", "AWS_DEFAULT_PROFILE": "x"},
    )
    assert result.returncode == 7
    assert result.stdout.split() == [issued.access_key_id, "None", "None"]
    # a real client in the child uses the variables
    aws = run(aws_home, [MFA, "exec", "--profile", "source", "--", str(VENV_BIN / "aws"), "sts", "get-caller-identity"])
    assert aws.returncode == 0, aws.stderr
    assert sts_proxy.count("GetSessionToken") == 1


def test_exec_signals_reach_the_command(sts_proxy, aws_home):
    login(aws_home, sts_proxy)
    proc = subprocess.Popen(
        [
            MFA,
            "exec",
            "--profile",
            "source",
            "--",
            "sh",
            "-c",
            "trap 'exit 42' TERM; echo ready; while :; do sleep 0.1; done",
        ],
        env=aws_home.env,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
        stdin=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 42
    killed = subprocess.Popen(
        [MFA, "exec", "--profile", "source", "--", "sleep", "30"],
        env=aws_home.env,
        start_new_session=True,
        stdin=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    killed.send_signal(signal.SIGINT)
    assert killed.wait(10) == -signal.SIGINT


def test_exec_unknown_command_is_one_line(sts_proxy, aws_home):
    login(aws_home, sts_proxy)
    result = run(aws_home, [MFA, "exec", "--profile", "source", "--", "no-such-command-xyz"])
    assert result.returncode == 127
    assert result.stderr == "mfa-process: command not found: no-such-command-xyz\n"


def test_policy_create_and_attach_twice(sts_proxy, aws_home, moto_server):
    iam = boto3.client(
        "iam",
        endpoint_url=moto_server.url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="y",
    )
    iam.create_group(GroupName="developers")
    aws_home.credentials_path.write_text(
        aws_home.credentials_path.read_text()
        + "\n[admin]\naws_access_key_id = AKIAADMINADMINADMIN1\naws_secret_access_key = z\n"
    )
    env = {**aws_home.env, "AWS_ENDPOINT_URL": moto_server.url}
    args = [MFA, "policy", "--create", "ForceMFA", "--attach-group", "developers", "--profile", "admin"]
    first = run(aws_home, args, env=env)
    assert first.returncode == 0, first.stderr
    second = run(aws_home, args, env=env)
    assert second.returncode == 0, second.stderr
    assert first.stdout != second.stdout
    policies = iam.list_policies(Scope="Local")["Policies"]
    assert [p["PolicyName"] for p in policies] == ["ForceMFA"]
    attached = iam.list_attached_group_policies(GroupName="developers")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["ForceMFA"]
    printed = json.loads(run(aws_home, [MFA, "policy"]).stdout)
    assert printed["Version"] == "2012-10-17"
