"""``setup`` and ``store-keys`` end to end: real pseudo-terminal, real Secret Service, moto behind the proxy."""

from __future__ import annotations

import io
import json
import stat
import subprocess

import pexpect
import pytest

from tests.support.home import VENV_BIN, AwsHome

pytestmark = pytest.mark.keyring

MFA = str(VENV_BIN / "mfa-process")
AWS_V1 = str(VENV_BIN / "aws")


def spawn(home: AwsHome, *args: str) -> pexpect.spawn:
    child = pexpect.spawn(MFA, list(args), env=home.env, cwd=str(home.home), encoding="utf-8", timeout=60)
    child.logfile_read = io.StringIO()
    return child


def no_tty(home: AwsHome, args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        env=home.env,
        capture_output=True,
        text=True,
        timeout=90,
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_setup_from_nothing_then_aws_works_without_prompt(sts_proxy, aws_home_factory):
    home = aws_home_factory()
    home.config_path.write_text("# my settings\n[default]\nregion = eu-west-1 # keep\n")
    before = home.config_path.read_bytes()
    child = spawn(home, "setup", "work", "--region", "us-east-1")
    child.expect("AWS Access Key ID")
    child.sendline(sts_proxy.access_key_id)
    child.expect(r"AWS Secret Access Key \(input hidden\)")
    child.sendline(sts_proxy.secret_access_key)
    child.expect("found MFA device " + sts_proxy.mfa_serial)
    child.expect("MFA code for")
    child.sendline(sts_proxy.wait_for_fresh_code())
    child.expect("verified: GetCallerIdentity with the MFA session says you are arn:aws:")
    child.expect("done: try `aws sts get-caller-identity --profile work-mfa`")
    child.expect(pexpect.EOF)
    child.close()
    screen = child.logfile_read.getvalue()
    assert child.exitstatus == 0, screen
    assert sts_proxy.secret_access_key not in screen  # typed without echo
    config = home.config_path.read_bytes()
    assert config.startswith(before)  # comments and [default] untouched
    text = config.decode()
    assert f"[profile work]\nmfa_serial = {sts_proxy.mfa_serial}\nregion = us-east-1\n" in text
    assert f"[profile work-mfa]\ncredential_process = {MFA} --profile work\n" in text
    assert stat.S_IMODE(home.credentials_path.stat().st_mode) == 0o600
    assert sts_proxy.count("GetSessionToken") == 1
    assert sts_proxy.count("GetCallerIdentity") == 1

    result = no_tty(home, [AWS_V1, "sts", "get-caller-identity", "--profile", "work-mfa", "--output", "json"])
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Account"] == "123456789012"
    assert sts_proxy.count("GetSessionToken") == 1


def test_setup_refuses_to_replace_a_different_profile_without_consent(sts_proxy, aws_home):
    aws_home.config_path.write_text(
        aws_home.config_path.read_text() + "\n[profile source-mfa]\ncredential_process = other-tool\n"
    )
    before = aws_home.config_path.read_bytes()
    child = spawn(aws_home, "setup", "source")
    child.expect(r"-credential_process = other-tool")
    child.expect(r"replace \[profile source-mfa\] as shown\? \[y/N\]")
    child.sendline("n")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2
    assert "left" in child.logfile_read.getvalue()
    assert aws_home.config_path.read_bytes() == before
    assert sts_proxy.count("GetSessionToken") == 0


def test_setup_with_no_device_says_how_to_register_one(sts_proxy, aws_home, moto_server):
    import boto3

    iam = boto3.client(
        "iam",
        endpoint_url=moto_server.url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="y",
    )
    iam.deactivate_mfa_device(UserName="alice", SerialNumber=sts_proxy.mfa_serial)
    result = no_tty(aws_home, [MFA, "setup", "source", "--yes"])
    assert result.returncode == 3
    assert "no MFA device is registered" in result.stderr
    assert "aws iam create-virtual-mfa-device" in result.stderr and "enable-mfa-device" in result.stderr
    assert result.stderr.count("\n") == 1


def test_store_keys_moves_keys_out_of_the_file_byte_for_byte(sts_proxy, aws_home):
    original = (
        "# personal keys\n[other]\naws_access_key_id = AKIAOTHEROTHEROTHER1\naws_secret_access_key = other\n\n"
        f"[source]\n# the keys of alice\naws_access_key_id = {sts_proxy.access_key_id}\n"
        f"aws_secret_access_key   =   {sts_proxy.secret_access_key}\nregion=us-east-1\n"
    )
    aws_home.credentials_path.write_text(original)
    aws_home.credentials_path.chmod(0o644)
    result = no_tty(aws_home, [MFA, "store-keys", "--profile", "source", "--remove-from-file"])
    assert result.returncode == 0, result.stderr
    assert sts_proxy.secret_access_key not in result.stdout + result.stderr
    after = aws_home.credentials_path.read_text()
    expected = original.replace(f"aws_access_key_id = {sts_proxy.access_key_id}\n", "").replace(
        f"aws_secret_access_key   =   {sts_proxy.secret_access_key}\n", ""
    )
    assert after == expected
    assert stat.S_IMODE(aws_home.credentials_path.stat().st_mode) == 0o644
    backups = list(aws_home.aws_dir.glob("credentials*.bak"))
    assert len(backups) == 1 and stat.S_IMODE(backups[0].stat().st_mode) == 0o600
    assert backups[0].read_text() == original

    # the helper now takes the keys from the keyring
    child = spawn(aws_home, "login", "--profile", "source")
    child.expect("MFA code for")
    child.sendline(sts_proxy.wait_for_fresh_code())
    child.expect("cached until")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    [call] = [c for c in sts_proxy.calls if c.action == "GetSessionToken"]
    assert call.access_key_id == sts_proxy.access_key_id


def test_keys_missing_in_file_and_keyring_is_a_clear_error_before_any_prompt(sts_proxy, aws_home):
    aws_home.credentials_path.write_text("[source]\nregion = us-east-1\n")
    child = spawn(aws_home, "--profile", "source")
    child.expect(pexpect.EOF)
    child.close()
    screen = child.logfile_read.getvalue()
    assert child.exitstatus == 3
    assert "MFA code" not in screen
    assert "profile 'source' has no access keys" in screen and "mfa-process store-keys" in screen


def test_setup_lets_the_user_choose_among_several_devices(sts_proxy, aws_home, moto_server):
    import boto3

    iam = boto3.client(
        "iam",
        endpoint_url=moto_server.url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="y",
    )
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice-phone")["VirtualMFADevice"]
    iam.enable_mfa_device(
        UserName="alice",
        SerialNumber=device["SerialNumber"],
        AuthenticationCode1="123456",
        AuthenticationCode2="654321",
    )
    seed = device["Base32StringSeed"]
    sts_proxy.set_secret(seed.decode() if isinstance(seed, bytes) else seed)
    sts_proxy.expected_serial = device["SerialNumber"]
    child = spawn(aws_home, "setup", "source", "--yes")
    child.expect("several MFA devices")
    child.expect(r"choose 1-2")
    listed = [line.strip() for line in child.logfile_read.getvalue().splitlines() if ") arn:" in line]
    assert len(listed) == 2
    [choice] = [line.split(")")[0] for line in listed if line.endswith(device["SerialNumber"])]
    child.sendline(choice)
    child.expect("MFA code for " + device["SerialNumber"])
    child.sendline(sts_proxy.wait_for_fresh_code())
    child.expect("verified")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.logfile_read.getvalue()
    assert f"mfa_serial = {device['SerialNumber']}" in aws_home.config_path.read_text()


def test_setup_store_keys_for_a_profile_that_exists_nowhere_yet(sts_proxy, aws_home_factory):
    home = aws_home_factory()
    child = spawn(home, "setup", "brand-new", "--store-keys", "--region", "us-east-1")
    child.expect("AWS Access Key ID")
    child.sendline(sts_proxy.access_key_id)
    child.expect("input hidden")
    child.sendline(sts_proxy.secret_access_key)
    child.expect("stored the keys of brand-new in the keyring")
    child.expect("found MFA device")
    child.expect("MFA code for")
    child.sendline(sts_proxy.wait_for_fresh_code())
    child.expect("verified")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.logfile_read.getvalue()
    assert "brand-new" not in home.credentials_path.read_text()
    assert "[profile brand-new]" in home.config_path.read_text()


def test_login_with_an_unusable_keyring_fails_before_asking(sts_proxy, aws_home):
    result = no_tty(aws_home, [MFA, "login", "--profile", "source"])
    assert result.returncode != 0
    env = {**aws_home.env, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    child = pexpect.spawn(MFA, ["login", "--profile", "source"], env=env, encoding="utf-8", timeout=60)
    child.logfile_read = io.StringIO()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 5
    assert "MFA code" not in child.logfile_read.getvalue()
    assert sts_proxy.get_session_token_calls == 0
