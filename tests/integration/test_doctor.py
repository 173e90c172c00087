"""``mfa-process doctor``: each broken home gives its one line and the exit code; a healthy one exits 0."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tests.support.clients import MFA, answer_prompt, finish, run_detached, spawn
from tests.support.home import AwsHome

pytestmark = pytest.mark.keyring

HELPER = "source-mfa"


def register(home: AwsHome, line: str | None = None, *, region: str | None = "us-east-1") -> None:
    """Add ``[profile source-mfa]`` running *line* (default: this mfa-process for ``source``)."""
    text = home.config_path.read_text()
    text += f"\n[profile {HELPER}]\ncredential_process = {line or f'{MFA} --profile source'}\n"
    if region:
        text += f"region = {region}\n"
    home.config_path.write_text(text)


def doctor(home: AwsHome, *args: str, env: dict[str, str] | None = None) -> tuple[int, list[str]]:
    result = run_detached(home, [MFA, "doctor", *args], env=env)
    assert result.stderr == "", result.stderr
    return result.returncode, result.stdout.splitlines()


def line_of(lines: list[str], check: str) -> str:
    found = [line for line in lines if line.split(None, 1)[1].startswith(check)]
    assert len(found) == 1, "\n".join(lines)
    return found[0]


@pytest.fixture
def home(aws_home) -> AwsHome:
    register(aws_home)
    return aws_home


def test_a_healthy_home_exits_0_and_every_line_is_ok_but_the_uncached_session(home):
    code, lines = doctor(home, "--profile", "source")
    assert code == 0, "\n".join(lines)
    statuses = {line.split(None, 1)[1].split(":")[0]: line.split()[0] for line in lines}
    assert statuses.pop("session (profile source)") == "warn"
    assert set(statuses.values()) == {"ok"}, "\n".join(lines)
    assert line_of(lines, "credential_process").endswith(f"runs {MFA} (this mfa-process 0.1.0)")
    assert "aws-cli 1." in line_of(lines, "aws cli")
    assert "mfa-process login --profile source" in line_of(lines, "session")


def test_a_cached_session_shows_its_time_left(sts_proxy, home):
    child = spawn(home, [MFA, "login", "--profile", "source"])
    answer_prompt(child, sts_proxy)
    assert finish(child) == 0
    code, lines = doctor(home)
    assert code == 0
    assert line_of(lines, "session").startswith("ok    session (profile source): cached, 1")
    assert sts_proxy.count("GetSessionToken") == 1  # doctor itself calls nothing


def test_keys_of_a_shell_script_in_the_credentials_file_fail_shadowing(home):
    home.credentials_path.write_text(
        home.credentials_path.read_text()
        + f"\n[{HELPER}]\naws_access_key_id = ASIAOLDSESSION\naws_secret_access_key = s3cr3t-old\n"
        "aws_session_token = t0ken-old\n"
    )
    code, lines = doctor(home)
    assert code == 1
    line = line_of(lines, "shadowing")
    assert line.startswith(f"fail  shadowing (profile {HELPER}): {home.credentials_path} [{HELPER}] has ")
    assert "aws_access_key_id, aws_secret_access_key, aws_session_token" in line
    assert line.endswith(f"fix: mfa-process setup source --mfa-profile {HELPER} (removes them, with a backup)")
    assert "s3cr3t-old" not in "\n".join(lines) and "t0ken-old" not in "\n".join(lines)


def test_a_role_or_sso_in_the_config_profile_fails_shadowing(home):
    home.config_path.write_text(
        home.config_path.read_text() + "source_profile = source\nrole_arn = arn:aws:iam::123456789012:role/x\n"
        f"\n[{HELPER}]\nsso_start_url = https://example.awsapps.com/start\n"
    )
    code, lines = doctor(home)
    assert code == 1
    line = line_of(lines, "shadowing")
    assert f"[profile {HELPER}] has source_profile, role_arn" in line
    assert f"[{HELPER}] has sso_start_url" in line


def test_a_missing_program_fails_credential_process(aws_home, tmp_path):
    register(aws_home, f"{tmp_path}/gone/mfa-process --profile source")
    code, lines = doctor(aws_home)
    assert code == 1
    assert line_of(lines, "credential_process").startswith(
        f"fail  credential_process (profile {HELPER}): {tmp_path}/gone/mfa-process is not an executable file; "
        f"fix: mfa-process setup source (writes the absolute path of this mfa-process"
    )


def test_a_bare_name_not_on_path_fails_credential_process(aws_home, tmp_path):
    register(aws_home, "mfa-process --profile source")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "mfa-process").symlink_to(MFA)
    code, lines = doctor(aws_home, env={"PATH": "/usr/bin:/bin"})
    assert code == 1
    assert "mfa-process is not on PATH" in line_of(lines, "credential_process")
    code, lines = doctor(aws_home, env={"PATH": f"{bin_dir}:/usr/bin:/bin"})
    assert line_of(lines, "credential_process").startswith("ok ")


def test_another_mfa_process_of_another_version_warns(aws_home, tmp_path):
    other = tmp_path / "old" / "mfa-process"
    other.parent.mkdir()
    other.write_text('#!/bin/sh\n[ "$1" = --version ] && echo "mfa-process 0.0.9"\n')
    other.chmod(0o755)
    register(aws_home, f"{other} --profile source")
    code, lines = doctor(aws_home)
    assert code == 0
    line = line_of(lines, "credential_process")
    assert line.startswith(f"warn  credential_process (profile {HELPER}): runs {other} (mfa-process 0.0.9), not this")
    assert "fix: mfa-process setup source, or upgrade the other installation" in line


def test_no_long_term_keys_anywhere_fails(aws_home):
    aws_home.write_credentials({})
    register(aws_home)
    code, lines = doctor(aws_home)
    assert code == 1
    line = line_of(lines, "long-term keys")
    assert line.startswith("fail  long-term keys (profile source): source has no aws_access_key_id in ")
    assert line.endswith("fix: mfa-process store-keys --profile source (or mfa-process setup source)")


def test_a_malformed_mfa_serial_fails(aws_home_factory):
    home = aws_home_factory(config={"source": {"mfa_serial": "alice's phone", "region": "us-east-1"}})
    register(home)
    code, lines = doctor(home)
    assert code == 1
    line = line_of(lines, "mfa_serial")
    assert line.startswith('fail  mfa_serial (profile source): "alice\'s phone" is neither an MFA device ARN')
    assert "fix: set mfa_serial = arn:aws:iam::ACCOUNT:mfa/USER in [profile source]" in line


def test_a_missing_source_profile_fails_settings(aws_home):
    register(aws_home, f"{MFA} --profile sourc")
    code, lines = doctor(aws_home)
    assert code == 1
    line = line_of(lines, "settings")
    assert line.startswith(f"fail  settings (profile {HELPER}): profile 'sourc' not found in ")
    assert "; did you mean --profile source?; fix: " in line


def test_no_region_anywhere_fails_and_a_source_only_region_warns(aws_home_factory, sts_proxy):
    home = aws_home_factory(region=None, config={"source": {"mfa_serial": sts_proxy.mfa_serial}})
    register(home, region=None)
    code, lines = doctor(home)
    assert code == 1
    assert line_of(lines, "region").startswith(f"fail  region (profile {HELPER}): no region in the environment")
    assert line_of(lines, "region").endswith(f"fix: aws configure set region REGION --profile {HELPER}")
    home = aws_home_factory(region=None)
    register(home, region=None)
    code, lines = doctor(home)
    assert code == 0
    line = line_of(lines, "region")
    assert line.startswith(f"warn  region (profile {HELPER}): none for {HELPER} (its source has us-east-1)")
    assert line.endswith(f"fix: aws configure set region us-east-1 --profile {HELPER}")


def test_an_open_state_dir_warns_and_a_shared_lock_file_fails(home):
    state = Path(home.env["XDG_STATE_HOME"]) / "mfa-process"
    (state / "locks").mkdir(parents=True)
    state.chmod(0o777)
    code, lines = doctor(home)
    assert code == 0
    assert line_of(lines, "state dir") == f"warn  state dir: {state} is 0o777, open to others; fix: chmod 700 {state}"
    state.chmod(0o700)
    lock = state / "locks" / "abc.lock"
    lock.write_text("")
    lock.chmod(0o666)
    code, lines = doctor(home)
    assert code == 1
    assert line_of(lines, "lock files").startswith(f"fail  lock files: in {state / 'locks'}: abc.lock is 0o666")


def test_a_state_dir_of_another_user_fails(home):
    state = Path(home.env["XDG_STATE_HOME"]) / "mfa-process"
    state.mkdir(mode=0o700, parents=True)
    os.chown(state, 4242, 4242)
    code, lines = doctor(home)
    assert code == 1
    assert line_of(lines, "state dir").startswith(f"fail  state dir: {state} belongs to uid 4242, not {os.getuid()}")


#: name: (state file, its bytes, how it is made untrustworthy or None, the expected line's start)
STATE_FILE_CASES = {
    "backend of another user": ("backend", b"keyring.backends.null.Keyring\n", "chown", "fail  state files: in"),
    "backend writable by others": ("backend", b"keyring.backends.null.Keyring\n", "chmod", "fail  state files: in"),
    "backend not UTF-8": ("backend", b"\xff\xfe", None, "warn  state files: backend in"),
    "index.json zone-less expiration": (
        "index.json",
        b'{"version": 1, "entries": {"k": {"kind": "session", "profile": "source", "serial": "s", '
        b'"expiration": "2026-12-01T10:00:00"}}}',
        None,
        "warn  state files: index.json in",
    ),
    "used-codes.json not JSON": ("used-codes.json", b"{", None, "warn  state files: used-codes.json in"),
}


@pytest.mark.parametrize("case", STATE_FILE_CASES.values(), ids=STATE_FILE_CASES.keys())
def test_untrusted_or_corrupt_state_files_are_named_and_left_alone(home, case):
    name, content, spoil, expected = case
    state = Path(home.env["XDG_STATE_HOME"]) / "mfa-process"
    state.mkdir(mode=0o700, parents=True)
    path = state / name
    path.write_bytes(content)
    path.chmod(0o600)
    if spoil == "chown":
        os.chown(path, 4242, 4242)
    elif spoil == "chmod":
        path.chmod(0o666)
    code, lines = doctor(home)
    line = line_of(lines, "state files")
    assert line.startswith(expected), line
    assert code == (1 if line.startswith("fail") else 0), "\n".join(lines)
    if spoil:
        assert f"{name} belongs to uid 4242" in line or f"{name} is 0o666;" in line, line
    else:
        assert "corrupt: the next run moves it aside (NAME.corrupt) and rebuilds it" in line, line
    assert path.read_bytes() == content  # doctor only looks: nothing moved or rewritten
    assert not path.with_name(f"{name}.corrupt").exists()


def test_no_aws_cli_on_path_warns(home, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    code, lines = doctor(home, env={"PATH": str(bin_dir)})
    assert code == 0
    assert line_of(lines, "aws cli").startswith("warn  aws cli: no `aws` on PATH; fix: install the AWS CLI v2")


def test_an_unparsable_config_fails_and_says_the_line(aws_home):
    aws_home.config_path.write_text("[profile source]\nmfa_serial\n")
    code, lines = doctor(aws_home)
    assert code == 1
    assert lines == [
        f"fail  aws files: {aws_home.config_path} line 2: not a 'key = value' line or [section] header; "
        "fix: correct the line it names, then run mfa-process doctor again",
        *lines[1:],
    ]


def test_no_profile_running_mfa_process_fails(aws_home):
    code, lines = doctor(aws_home, "--profile", "source")
    assert code == 1
    assert line_of(lines, "profiles") == (
        f"fail  profiles: no profile in {aws_home.config_path} runs mfa-process --profile source; "
        "fix: mfa-process setup source"
    )


def test_before_setup_the_source_profiles_keys_and_device_are_checked_all_the_same(aws_home_factory):
    """``doctor --profile SOURCE`` before ``setup``: besides the missing helper profile, what setup will need."""
    ready = aws_home_factory()
    code, lines = doctor(ready, "--profile", "source")
    assert code == 1  # the profiles line
    assert line_of(lines, "long-term keys").startswith("ok    long-term keys (profile source): aws_access_key_id")
    assert line_of(lines, "mfa_serial").startswith("ok    mfa_serial (profile source): arn:aws:iam::")
    assert line_of(lines, "session").startswith("warn  session (profile source): none cached")
    broken = aws_home_factory(config={"source": {"mfa_serial": "my phone"}}, credentials={"other": {"x": "y"}})
    code, lines = doctor(broken, "--profile", "source")
    assert code == 1
    assert line_of(lines, "long-term keys").startswith("fail  long-term keys (profile source): source has no")
    assert line_of(lines, "mfa_serial").startswith("fail  mfa_serial (profile source): 'my phone' is neither")


def test_online_reads_the_clock_of_the_sts_endpoint_and_sends_no_code(sts_proxy, home):
    code, lines = doctor(home, "--online")
    assert code == 0, "\n".join(lines)
    assert line_of(lines, "clock").startswith("ok    clock: within ")
    assert sts_proxy.get_session_token_calls == 0 and not sts_proxy.codes
    sts_proxy.clock_offset = -600
    code, lines = doctor(home, "--online")
    assert code == 1
    line = line_of(lines, "clock")
    match = re.match(r"fail  clock: this clock is (\d+) s ahead of http://127\.0\.0\.1:\d+: AWS rejects", line)
    assert match is not None, line
    assert abs(int(match.group(1)) - 600) <= 60  # the Date header has whole seconds; the request takes some
    assert line.endswith("fix: turn on time synchronisation (timedatectl set-ntp true, or your OS's date settings)")
    sts_proxy.clock_offset = 90
    code, lines = doctor(home, "--online")
    assert code == 0
    assert " s behind " in line_of(lines, "clock") and line_of(lines, "clock").startswith("warn")
    code, lines = doctor(home)
    assert not [line for line in lines if " clock" in line]  # offline: no clock line, no request


def test_json_has_the_same_findings(home):
    home.credentials_path.write_text(home.credentials_path.read_text() + f"\n[{HELPER}]\naws_access_key_id = X\n")
    result = run_detached(home, [MFA, "doctor", "--json"])
    assert result.returncode == 1
    doc = json.loads(result.stdout)
    assert doc["ok"] is False
    shadowing = [c for c in doc["checks"] if c["check"] == "shadowing"]
    assert shadowing[0]["status"] == "fail" and shadowing[0]["subject"] == f"profile {HELPER}"
    assert shadowing[0]["fix"].startswith("mfa-process setup source")
    assert {c["status"] for c in doc["checks"]} <= {"ok", "warn", "fail"}
