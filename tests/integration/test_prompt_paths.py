"""Ways of giving the code, end to end through the helper: token command, desktop dialog, reused codes."""

from __future__ import annotations

import io
import json
import shlex
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from tests.support.clients import run_detached
from tests.support.home import VENV_BIN, AwsHome

pytestmark = pytest.mark.keyring

MFA = str(VENV_BIN / "mfa-process")


def no_tty(home: AwsHome, args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    """Run with no controlling terminal (see :func:`tests.support.clients.run_detached`)."""
    return run_detached(home, args, env=env, timeout=60)


def totp_command(secret: str) -> str:
    """What `ykman oath accounts code -s aws` does for a YubiKey: print the current code."""
    script = f"import pyotp; print('aws  ' + pyotp.TOTP({secret!r}).now())"
    return f"{shlex.quote(sys.executable)} -c {shlex.quote(script)}"


def test_token_command_needs_no_terminal(sts_proxy, aws_home):
    result = no_tty(aws_home, [MFA, "--profile", "source", "--token-command", totp_command(sts_proxy.secret)])
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Version"] == 1
    assert sts_proxy.get_session_token_calls == 1


def test_token_command_from_the_profile(sts_proxy, aws_home):
    aws_home.config_path.write_text(
        aws_home.config_path.read_text()
        + f"\n[profile source-mfa]\ncredential_process = {MFA} --profile source --config-profile source-mfa\n"
        + f"mfa_process_token_command = {totp_command(sts_proxy.secret)}\n"
    )
    result = no_tty(aws_home, [str(VENV_BIN / "aws"), "sts", "get-caller-identity", "--profile", "source-mfa"])
    assert result.returncode == 0, result.stderr
    assert sts_proxy.get_session_token_calls == 1


def test_failing_token_command_is_one_line(sts_proxy, aws_home):
    result = no_tty(aws_home, [MFA, "--profile", "source", "--token-command", "echo 'no YubiKey detected' >&2; exit 2"])
    assert result.returncode == 4
    assert result.stderr == "mfa-process: token command exited with code 2: no YubiKey detected\n"
    assert sts_proxy.get_session_token_calls == 0


def test_dialog_is_used_when_there_is_no_terminal(sts_proxy, aws_home, tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    record = tmp_path / "zenity-args"
    fake = bindir / "zenity"
    fake.write_text(
        f"#!/bin/sh\nprintf '%s\\n' \"$@\" > {shlex.quote(str(record))}\n"
        f"exec {totp_command(sts_proxy.secret).replace('aws  ', '')}\n"
    )
    fake.chmod(0o755)
    env = {"PATH": f"{bindir}:{aws_home.env['PATH']}", "DISPLAY": ":99"}
    result = no_tty(aws_home, [MFA, "--profile", "source"], **env)
    assert result.returncode == 0, result.stderr
    args = record.read_text()
    assert "--entry" in args and sts_proxy.mfa_serial in args and "profile source" in args
    assert sts_proxy.get_session_token_calls == 1


def test_reused_code_is_caught_before_calling_aws(sts_proxy, aws_home):
    code = sts_proxy.wait_for_fresh_code()
    first = pexpect.spawn(MFA, ["login", "--profile", "source"], env=aws_home.env, encoding="utf-8", timeout=60)
    first.expect("MFA code for")
    first.sendline(code)
    first.expect(pexpect.EOF)
    first.close()
    assert first.exitstatus == 0
    again = pexpect.spawn(MFA, ["login", "--profile", "source"], env=aws_home.env, encoding="utf-8", timeout=60)
    again.logfile_read = io.StringIO()
    again.expect("MFA code for")
    again.sendline(code)
    again.expect("this code was just used, wait for the next one")
    again.expect("MFA code for")
    again.sendintr()
    again.expect(pexpect.EOF)
    again.close()
    assert sts_proxy.get_session_token_calls == 1  # the reused code never reached AWS
    used = Path(aws_home.env["XDG_STATE_HOME"]) / "mfa-process" / "used-codes.json"
    assert code not in used.read_text()
    assert used.stat().st_mode & 0o777 == 0o600
