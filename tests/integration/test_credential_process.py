"""The core promise, end to end: credential_process through the real aws CLI and boto3, the real
Secret Service, a real pseudo-terminal, and moto behind the MFA-checking STS proxy."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from tests.support.home import VENV_BIN, AwsHome

pytestmark = pytest.mark.keyring

AWS_V1 = str(VENV_BIN / "aws")
MFA = str(VENV_BIN / "mfa-process")


def register_helper(home: AwsHome, extra: str = "") -> None:
    """Add ``[profile source-mfa]`` running the helper for ``source``."""
    text = home.config_path.read_text()
    text += f"\n[profile source-mfa]\ncredential_process = {MFA} --profile source{extra}\nregion = us-east-1\n"
    home.config_path.write_text(text)


def spawn(home: AwsHome, command: str, **env: str) -> pexpect.spawn:
    """Run *command* in a new pseudo-terminal; ``child.logfile_read`` keeps the whole screen."""
    child = pexpect.spawn(
        "/bin/bash", ["-c", command], env={**home.env, **env}, cwd=str(home.home), encoding="utf-8", timeout=90
    )
    child.logfile_read = io.StringIO()
    return child


def run_detached(home: AwsHome, args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    """Run with no controlling terminal at all (like an IDE or cron): it must not prompt."""
    return subprocess.run(
        args,
        env={**home.env, **env},
        cwd=home.home,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=90,
        start_new_session=True,
        check=False,
    )


def identity(home: AwsHome) -> dict[str, str]:
    result = run_detached(home, [AWS_V1, "sts", "get-caller-identity", "--profile", "source-mfa", "--output", "json"])
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def secrets_of(sts_proxy, home: AwsHome) -> list[str]:
    values = [sts_proxy.secret_access_key]
    for issued in sts_proxy.issued:
        values += [issued.secret_access_key, issued.session_token]
    return values


def assert_no_secret_on_disk(home: AwsHome, secrets: list[str], *, allowed: set[Path]) -> None:
    for path in home.home.rglob("*"):
        if path.is_file() and path not in allowed:
            data = path.read_bytes()
            for secret in secrets:
                assert secret.encode() not in data, f"secret found in {path}"


def test_first_call_prompts_once_then_cache_serves_other_processes(sts_proxy, aws_home):
    register_helper(aws_home)
    child = spawn(aws_home, f"{AWS_V1} sts get-caller-identity --profile source-mfa --output json")
    child.expect("MFA code for")
    child.expect(sts_proxy.mfa_serial)
    child.sendline(sts_proxy.wait_for_fresh_code())
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert '"Account": "123456789012"' in child.before
    assert sts_proxy.get_session_token_calls == 1

    # other processes, no terminal at all: served from the keyring, no prompt, no STS call
    for _ in range(2):
        assert identity(aws_home)["Account"] == "123456789012"
    assert sts_proxy.get_session_token_calls == 1

    # boto3 through the same profile
    script = "import boto3; print(boto3.Session(profile_name='source-mfa').client('sts').get_caller_identity()['Arn'])"
    result = run_detached(aws_home, [sys.executable, "-c", script])
    assert result.returncode == 0, result.stderr
    assert sts_proxy.get_session_token_calls == 1

    # the helper's own output: exactly one JSON document with the documented fields
    out = run_detached(aws_home, [MFA, "--profile", "source"])
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    doc = json.loads(out.stdout)
    assert set(doc) == {"Version", "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration", "AccountId"}
    assert doc["Version"] == 1 and doc["Expiration"].endswith("Z") and doc["AccountId"] == "123456789012"
    issued = sts_proxy.issued[-1]
    assert doc["SessionToken"] == issued.session_token
    assert_no_secret_on_disk(aws_home, secrets_of(sts_proxy, aws_home), allowed={aws_home.credentials_path})


def test_stray_environment_keys_do_not_win(sts_proxy, aws_home):
    register_helper(aws_home)
    child = spawn(
        aws_home,
        f"{MFA} --profile source > out.json",
        AWS_ACCESS_KEY_ID="AKIASTRAYSTRAYSTRAY0",
        AWS_SECRET_ACCESS_KEY="stray-secret-stray-secret",
        AWS_PROFILE="source-mfa",
    )
    child.expect("MFA code for")
    child.sendline(sts_proxy.wait_for_fresh_code())
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert [c.access_key_id for c in sts_proxy.calls if c.action == "GetSessionToken"] == [sts_proxy.access_key_id]


def test_malformed_and_rejected_codes_are_asked_again(sts_proxy, aws_home):
    register_helper(aws_home)
    child = spawn(aws_home, f"{MFA} --profile source > out.json")
    child.expect("MFA code for")
    child.sendline("12345")
    child.expect("not a 6-digit code")
    good = sts_proxy.wait_for_fresh_code()
    wrong = f"{(int(good) + 500000) % 1000000:06d}"
    child.sendline(wrong)
    child.expect("rejected")
    child.expect("MFA code for")
    child.sendline(good)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert sts_proxy.get_session_token_calls == 2
    assert json.loads((aws_home.home / "out.json").read_text())["Version"] == 1


def test_three_rejected_codes_fail_with_one_line(sts_proxy, aws_home):
    register_helper(aws_home)
    child = spawn(aws_home, f"{MFA} --profile source > out.json 2> err.txt")
    good = sts_proxy.current_code()
    for i in range(3):
        child.expect("MFA code for")
        child.sendline(f"{(int(good) + 111111 * (i + 1)) % 1000000:06d}")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus != 0
    err = (aws_home.home / "err.txt").read_text()
    assert err.count("\n") == 1 and err.startswith("mfa-process: AWS rejected 3 MFA codes"), err
    assert "Traceback" not in err
    assert (aws_home.home / "out.json").read_text() == ""


def test_no_terminal_fails_with_instructions(sts_proxy, aws_home):
    register_helper(aws_home)
    result = run_detached(aws_home, [MFA, "--profile", "source"])
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "no terminal" in lines[0] and "mfa-process login --profile source" in lines[0]
    # through the aws CLI, the same line reaches the user
    aws = run_detached(aws_home, [AWS_V1, "sts", "get-caller-identity", "--profile", "source-mfa"])
    assert aws.returncode != 0
    assert "mfa-process login --profile source" in aws.stderr
    assert sts_proxy.get_session_token_calls == 0


def test_twenty_concurrent_aws_commands_one_prompt(sts_proxy, aws_home):
    register_helper(aws_home)
    script = (
        "for i in $(seq 20); do "
        f"{AWS_V1} sts get-caller-identity --profile source-mfa --output json > out.$i 2> err.$i & "
        "done; wait"
    )
    child = spawn(aws_home, script)
    child.expect("MFA code for")
    child.sendline(sts_proxy.wait_for_fresh_code())
    child.expect(pexpect.EOF, timeout=240)
    child.close()
    screen = child.logfile_read.getvalue()
    assert screen.count("MFA code for") == 1, screen
    # the waiting processes share the prompt's terminal: no notice lands in the middle of the question
    assert screen.count("waiting for another mfa-process") <= 1, screen
    assert sts_proxy.get_session_token_calls == 1
    outputs = [json.loads((aws_home.home / f"out.{i}").read_text()) for i in range(1, 21)]
    assert all(o["Account"] == "123456789012" for o in outputs)
    keys = {c.access_key_id for c in sts_proxy.calls if c.action == "GetCallerIdentity"}
    assert len(keys) == 1, keys  # every process got the same session credentials


def test_a_waiter_on_another_terminal_says_so_once(sts_proxy, aws_home):
    holder = spawn(aws_home, f"exec {MFA} --profile source > holder.json")
    holder.expect("MFA code for")
    waiter = spawn(aws_home, f"exec {MFA} --profile source > waiter.json")
    waiter.expect("waiting for another mfa-process asking for the MFA code")
    holder.sendline(sts_proxy.wait_for_fresh_code())
    for child in (holder, waiter):
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0
    shown = waiter.logfile_read.getvalue()
    assert shown.count("waiting for another mfa-process") == 1, shown
    assert "MFA code for" not in shown
    assert sts_proxy.get_session_token_calls == 1


def test_kill_9_while_prompting_does_not_block_the_next(sts_proxy, aws_home):
    register_helper(aws_home)
    first = spawn(aws_home, f"exec {MFA} --profile source")
    first.expect("MFA code for")
    os.kill(first.pid, signal.SIGKILL)
    first.expect(pexpect.EOF)
    first.close()
    # the kernel dropped the lock with the process: the next call asks instead of waiting out the 300 s
    second = spawn(aws_home, f"{MFA} --profile source > out.json")
    second.expect("MFA code for", timeout=120)  # a hang guard, far below the 300 s a stale lock would cost
    second.sendline(sts_proxy.wait_for_fresh_code())
    second.expect(pexpect.EOF)
    second.close()
    assert second.exitstatus == 0
    assert sts_proxy.get_session_token_calls == 1
    locks = list((aws_home.home / ".local/state/mfa-process/locks").iterdir())
    assert locks and all(p.stat().st_mode & 0o777 == 0o600 for p in locks)


def test_ctrl_c_at_the_prompt_exits_cleanly(sts_proxy, aws_home):
    register_helper(aws_home)
    child = spawn(aws_home, f"{MFA} --profile source > out.json 2> err.txt")
    child.expect("MFA code for")
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130 or child.signalstatus == signal.SIGINT
    err = (aws_home.home / "err.txt").read_text()
    assert "Traceback" not in err
    assert (aws_home.home / "out.json").read_text() == ""
    # a retry right after the cancel (as some SDKs do) fails at once with the same line, no new prompt
    retry = spawn(aws_home, f"{MFA} --profile source > out.json")
    retry.expect(pexpect.EOF)
    retry.close()
    assert retry.exitstatus == 130
    assert "MFA code for" not in retry.logfile_read.getvalue()
    assert "MFA code prompt cancelled (Ctrl-C)" in retry.logfile_read.getvalue()
    # the lock was released: login prompts at once
    again = spawn(aws_home, f"{MFA} login --profile source > out.txt")
    again.expect("MFA code for", timeout=20)
    again.sendline(sts_proxy.wait_for_fresh_code())
    again.expect(pexpect.EOF)
    again.close()
    assert again.exitstatus == 0


def test_cache_hit_imports_neither_boto3_nor_botocore(sts_proxy, aws_home, tmp_path):
    register_helper(aws_home)
    child = spawn(aws_home, f"{MFA} login --profile source")
    child.expect("MFA code for")
    child.sendline(sts_proxy.wait_for_fresh_code())
    child.expect("cached until")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    report = tmp_path / "modules.json"
    probe = (
        "import json, sys\n"
        "from mfa_process.cli import main\n"
        "code = main(['--profile', 'source'])\n"
        f"open({str(report)!r}, 'w').write(json.dumps([code, sorted(sys.modules)]))\n"
    )
    result = run_detached(aws_home, [sys.executable, "-c", probe])
    assert result.returncode == 0, result.stderr
    code, modules = json.loads(report.read_text())
    assert code == 0
    assert json.loads(result.stdout)["Version"] == 1
    heavy = [m for m in modules if m.split(".")[0] in {"boto3", "botocore", "filelock", "s3transfer"}]
    assert heavy == []
    assert not [m for m in modules if m.startswith("mfa_process.prompt.") and m != "mfa_process.prompt.code"]
    assert sts_proxy.get_session_token_calls == 1


def test_login_status_logout(sts_proxy, aws_home):
    register_helper(aws_home)
    child = spawn(aws_home, f"{MFA} login --profile source")
    child.expect("MFA code for")
    child.sendline(sts_proxy.wait_for_fresh_code())
    child.expect(r"cached until .* left\)")
    child.expect(pexpect.EOF)
    child.close()
    status = run_detached(aws_home, [MFA, "status", "--json"])
    assert status.returncode == 0, status.stderr
    doc = json.loads(status.stdout)
    assert doc["backend"] == "keyring.backends.SecretService.Keyring"
    [entry] = doc["entries"]
    assert entry["profile"] == "source" and entry["state"] == "valid" and entry["seconds_left"] > 40000
    table = run_detached(aws_home, [MFA, "status"])
    assert "source" in table.stdout and sts_proxy.mfa_serial in table.stdout
    out = run_detached(aws_home, [MFA, "logout", "--profile", "source"])
    assert out.returncode == 0 and "removed 1 cached entry" in out.stdout
    assert run_detached(aws_home, [MFA, "--profile", "source"]).returncode != 0  # would need a prompt again
    for text in (status.stdout, table.stdout, out.stdout, status.stderr, out.stderr):
        for secret in secrets_of(sts_proxy, aws_home):
            assert secret not in text
