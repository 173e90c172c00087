"""``rotate-keys`` end to end: a real pty, moto's IAM behind the MFA-checking STS proxy, a real keyring.

The proxy refuses STS requests signed with a long-term key that moto's IAM no longer holds as active (moto
itself answers ``GetCallerIdentity`` for any key), so a deleted or inactive key fails here as on AWS.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import boto3
import pexpect
import pytest

from tests.support.clients import AWS_V1, HELPER_PROFILE, MFA, answer_prompt, finish, run_detached, screen, spawn
from tests.support.fixtures import REGION, USER_NAME, MfaStsProxy
from tests.support.home import AwsHome
from tests.support.moto_server import MotoServer

pytestmark = pytest.mark.keyring

#: Hang guard for a request held at the proxy (the test kills the client long before).
HOLD = 120.0
OTHER = "[other]\naws_access_key_id = AKIAOTHEROTHEROTHER1\naws_secret_access_key = other-secret\n"


def iam(moto_server: MotoServer) -> Any:
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    return session.client("iam", endpoint_url=moto_server.url)


def keys_of(moto_server: MotoServer) -> dict[str, str]:
    """alice's access keys in IAM: id -> status."""
    listed = iam(moto_server).list_access_keys(UserName=USER_NAME)["AccessKeyMetadata"]
    return {k["AccessKeyId"]: k["Status"] for k in listed}


def file_home(sts_proxy: MfaStsProxy, aws_home_factory: Any) -> tuple[AwsHome, bytes]:
    """A home whose credentials file has a comment, odd spacing, mode 0644 and another profile to keep."""
    home = aws_home_factory()
    text = (
        "# my keys\n[source]\naws_access_key_id   =   "
        f"{sts_proxy.access_key_id}\naws_secret_access_key = {sts_proxy.secret_access_key}\n\n" + OTHER
    )
    home.credentials_path.write_text(text)
    home.credentials_path.chmod(0o644)
    home.config_path.write_text(
        home.config_path.read_text()
        + f"\n[profile {HELPER_PROFILE}]\ncredential_process = {MFA} --profile source\nregion = {REGION}\n"
    )
    return home, text.encode()


def rotate(home: AwsHome, sts_proxy: MfaStsProxy, *flags: str, prompt: bool = True) -> tuple[int, str]:
    child = spawn(home, [MFA, "rotate-keys", "--profile", "source", "--yes", *flags])
    if prompt:
        answer_prompt(child, sts_proxy)
    return finish(child), screen(child)


def in_file(home: AwsHome) -> tuple[str, str]:
    import configparser

    parser = configparser.RawConfigParser()
    parser.read(home.credentials_path)
    return parser["source"]["aws_access_key_id"], parser["source"]["aws_secret_access_key"]


def assert_no_secret(text: str, sts_proxy: MfaStsProxy) -> None:
    assert sts_proxy.secret_access_key not in text
    for secret in sts_proxy.created_keys.values():
        assert secret not in text


def test_rotation_of_keys_in_the_file_keeps_the_file_and_the_clients_working(sts_proxy, aws_home_factory, moto_server):
    home, before = file_home(sts_proxy, aws_home_factory)
    old_id = sts_proxy.access_key_id
    child = spawn(home, [MFA, "rotate-keys", "--profile", "source"])
    child.expect(r"Rotate access key \S+ of IAM user alice .*\[y/N\]")
    child.sendline("y")
    answer_prompt(child, sts_proxy)
    status, text = finish(child), screen(child)
    assert status == 0, text
    (new_id,) = sts_proxy.created_keys
    assert f"new access key {new_id} of profile source (IAM user alice) stored in" in text
    assert f"old access key {old_id} was deleted" in text
    assert_no_secret(text, sts_proxy)
    assert keys_of(moto_server) == {new_id: "Active"}
    assert in_file(home) == (new_id, sts_proxy.created_keys[new_id])
    after = home.credentials_path.read_bytes()
    expected = before.replace(old_id.encode(), new_id.encode()).replace(
        sts_proxy.secret_access_key.encode(), sts_proxy.created_keys[new_id].encode()
    )
    assert after == expected  # only the two values changed, byte for byte
    assert home.credentials_path.stat().st_mode & 0o777 == 0o600
    assert {p.name for p in home.aws_dir.iterdir()} == {"config", "credentials"}  # no backup with the old secret
    # the IAM calls were made with the MFA session, never with a long-term key
    iam_calls = [c for c in sts_proxy.calls if c.service == "iam"]
    assert {c.action for c in iam_calls} == {"ListAccessKeys", "CreateAccessKey", "DeleteAccessKey"}
    assert all((c.access_key_id or "").startswith("ASIA") for c in iam_calls)
    # the cached session stays valid: the aws CLI and boto3 work through the -mfa profile without a prompt
    result = run_detached(home, [AWS_V1, "sts", "get-caller-identity", "--profile", HELPER_PROFILE])
    assert result.returncode == 0, result.stderr
    code = (
        "import boto3; print(boto3.Session(profile_name='source-mfa').client('sts').get_caller_identity()['Account'])"
    )
    result = run_detached(home, [str(Path(MFA).parent / "python"), "-c", code])
    assert result.returncode == 0 and result.stdout.strip() == sts_proxy.account_id, result.stderr
    # a new session is made with the new key (the old one would be refused now)
    child = spawn(home, [MFA, "login", "--profile", "source"])
    child.expect("MFA code for")
    child.expect(": ")
    child.sendline(sts_proxy.wait_for_fresh_code(timeout=HOLD))
    assert finish(child) == 0, screen(child)
    sessions = [c for c in sts_proxy.calls if c.action == "GetSessionToken" and c.status == 200]
    assert sessions[-1].access_key_id == new_id


def test_rotation_of_keys_in_the_keyring(sts_proxy, aws_home, moto_server):
    stored = run_detached(aws_home, [MFA, "store-keys", "--profile", "source", "--remove-from-file"])
    assert stored.returncode == 0, stored.stderr
    for backup in aws_home.aws_dir.glob("credentials.*.bak"):
        backup.unlink()
    file_before = aws_home.credentials_path.read_bytes()
    status, text = rotate(aws_home, sts_proxy)
    assert status == 0, text
    (new_id,) = sts_proxy.created_keys
    assert "stored in the keyring (" in text
    assert keys_of(moto_server) == {new_id: "Active"}
    assert aws_home.credentials_path.read_bytes() == file_before  # the file was not touched
    assert_no_secret(text, sts_proxy)
    # the keyring holds the new pair: a second rotation starts from it (GetCallerIdentity signed with it)
    status, text = rotate(aws_home, sts_proxy, prompt=False)
    assert status == 0, text
    checks = [c for c in sts_proxy.calls if c.action == "GetCallerIdentity" and c.status == 200]
    assert new_id in {c.access_key_id for c in checks[2:]}


def test_deactivate_only_leaves_the_old_key_inactive(sts_proxy, aws_home_factory, moto_server):
    home, _ = file_home(sts_proxy, aws_home_factory)
    old_id = sts_proxy.access_key_id
    status, text = rotate(home, sts_proxy, "--deactivate-only")
    assert status == 0, text
    (new_id,) = sts_proxy.created_keys
    assert keys_of(moto_server) == {old_id: "Inactive", new_id: "Active"}
    assert f"old access key {old_id} was set Inactive" in text and "delete-access-key" in text
    assert in_file(home)[0] == new_id


def test_two_keys_already_stops_before_creating_anything(sts_proxy, aws_home_factory, moto_server):
    home, before = file_home(sts_proxy, aws_home_factory)
    other = iam(moto_server).create_access_key(UserName=USER_NAME)["AccessKey"]["AccessKeyId"]
    status, text = rotate(home, sts_proxy)
    assert status != 0
    assert f"there is {other} (Active, created" in text and "aws iam delete-access-key" in text, text
    assert "nothing was changed" in text and "Traceback" not in text
    assert sts_proxy.count("CreateAccessKey") == 0
    assert set(keys_of(moto_server)) == {sts_proxy.access_key_id, other}
    assert home.credentials_path.read_bytes() == before


def test_verification_failure_rolls_back(sts_proxy, aws_home_factory, moto_server):
    home, before = file_home(sts_proxy, aws_home_factory)
    sts_proxy.refuse_created_keys = True
    status, text = rotate(home, sts_proxy)
    (new_id,) = sts_proxy.created_keys
    assert status != 0
    assert f"AWS did not accept the new access key {new_id} (SignatureDoesNotMatch" in text, text
    assert f"rolled back: the old key {sts_proxy.access_key_id} is back in" in text
    assert keys_of(moto_server) == {sts_proxy.access_key_id: "Active"}
    assert home.credentials_path.read_bytes() == before
    assert not list((home.home / ".local/state/mfa-process/rotations").glob("*.json"))
    assert_no_secret(text, sts_proxy)


def test_no_long_term_keys_is_one_clear_line(sts_proxy, aws_home):
    aws_home.write_credentials({})
    result = run_detached(aws_home, [MFA, "rotate-keys", "--profile", "source", "--yes"])
    assert result.returncode == 3
    assert result.stderr.startswith("mfa-process: profile 'source' has no long-term access keys in ")
    assert result.stderr.count("\n") == 1 and sts_proxy.calls == []


def wait_in_flight(sts_proxy: MfaStsProxy, action: str, *, new_key_only: bool) -> None:
    def held(call: Any) -> bool:
        return (
            call.action == action
            and call.status is None
            and (not new_key_only or call.access_key_id in sts_proxy.created_keys)
        )

    deadline = time.monotonic() + HOLD
    while not any(held(c) for c in sts_proxy.calls):
        assert time.monotonic() < deadline, f"{action} never reached the proxy"
        time.sleep(0.05)


# (what to hold, held before or after moto acts, only for requests signed with the new key, signal)
STEPS = {
    "list": ("ListAccessKeys", False, False, signal.SIGKILL),
    "create-answer-lost": ("CreateAccessKey", True, False, signal.SIGKILL),
    "verify": ("GetCallerIdentity", False, True, signal.SIGINT),
    "retire": ("DeleteAccessKey", False, False, signal.SIGKILL),
    "retire-answer-lost": ("DeleteAccessKey", True, False, signal.SIGINT),
}


@pytest.mark.parametrize("step", list(STEPS))
def test_interruption_at_each_step_keeps_a_working_pair_and_a_rerun_finishes(
    step, sts_proxy, aws_home_factory, moto_server
):
    action, after, new_key_only, sig = STEPS[step]
    home, _ = file_home(sts_proxy, aws_home_factory)
    old_id = sts_proxy.access_key_id
    sts_proxy.hang_seconds = HOLD
    sts_proxy.hang_actions = frozenset() if after else frozenset({action})
    sts_proxy.hang_after_actions = frozenset({action}) if after else frozenset()
    sts_proxy.hang_created_keys_only = new_key_only
    child = spawn(home, [MFA, "rotate-keys", "--profile", "source", "--yes"])
    answer_prompt(child, sts_proxy)
    wait_in_flight(sts_proxy, action, new_key_only=new_key_only)
    child.kill(sig)
    child.expect(pexpect.EOF, timeout=HOLD)
    child.close()
    sts_proxy.stop_hanging()
    if sig == signal.SIGINT:
        assert "\nmfa-process: the rotation of profile source stopped (" in screen(child), screen(child)
        assert "run `mfa-process rotate-keys --profile source` again to finish it" in screen(child)
    # the pair in the file is one IAM holds as active
    key_id, _secret = in_file(home)
    assert keys_of(moto_server).get(key_id) == "Active", (step, keys_of(moto_server), key_id)
    # doctor says how to finish (nothing had started while the keys were being listed)
    doctor = run_detached(home, [MFA, "doctor", "--profile", "source"])
    warning = "warn  rotation (profile source): a key rotation stopped ("
    fix = "fix: mfa-process rotate-keys --profile source (finishes it"
    assert (warning in doctor.stdout and fix in doctor.stdout) == (step != "list"), doctor.stdout
    # a re-run (no new prompt: the MFA session is cached) finishes the job
    status, text = rotate(home, sts_proxy, prompt=False)
    assert status == 0, text
    if step != "list":  # nothing had started before the key list
        assert text.startswith("mfa-process: finishing the rotation of profile source that was interrupted ("), text
    if step == "retire-answer-lost":
        assert f"old access key {old_id} was already deleted" in text, text
    final_id, final_secret = in_file(home)
    assert final_id != old_id and keys_of(moto_server) == {final_id: "Active"}, text
    assert sts_proxy.created_keys[final_id] == final_secret
    assert not list((home.home / ".local/state/mfa-process/rotations").glob("*.json"))
    assert_no_secret(text + screen(child), sts_proxy)


def journal_file(home: AwsHome) -> Path:
    return home.home / ".local/state/mfa-process/rotations/source.json"


def detached(home: AwsHome, *flags: str) -> Any:
    return run_detached(home, [MFA, "rotate-keys", "--profile", "source", *flags])


def one_line(result: Any, code: int, start: str) -> None:
    assert result.returncode == code, result.stderr
    assert result.stderr.startswith(f"mfa-process: {start}"), result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_temporary_credentials_in_the_file_are_not_rotated(sts_proxy, aws_home):
    aws_home.credentials_path.write_text(
        "[source]\naws_access_key_id = ASIAEXAMPLEEXAMPLE12\naws_secret_access_key = s\naws_session_token = t\n"
    )
    one_line(detached(aws_home, "--yes"), 3, "profile 'source' in ")
    assert sts_proxy.calls == []


def test_keys_in_the_config_file_are_not_edited(sts_proxy, aws_home):
    aws_home.write_credentials({})
    aws_home.config_path.write_text(
        f"[profile source]\nmfa_serial = {sts_proxy.mfa_serial}\naws_access_key_id = {sts_proxy.access_key_id}\n"
        f"aws_secret_access_key = {sts_proxy.secret_access_key}\n"
    )
    one_line(detached(aws_home, "--yes"), 3, "the keys of profile 'source' are in ")


def test_a_current_key_aws_refuses_stops_before_the_prompt(sts_proxy, aws_home, moto_server):
    iam(moto_server).update_access_key(UserName=USER_NAME, AccessKeyId=sts_proxy.access_key_id, Status="Inactive")
    result = detached(aws_home, "--yes")
    one_line(result, 6, f"AWS does not accept the current access key {sts_proxy.access_key_id} of profile 'source'")
    assert "InvalidClientTokenId" in result.stderr and sts_proxy.count("GetSessionToken") == 0


def test_answering_no_changes_nothing(sts_proxy, aws_home, moto_server):
    before = aws_home.credentials_path.read_bytes()
    child = spawn(aws_home, [MFA, "rotate-keys", "--profile", "source"])
    child.expect(r"\[y/N\]")
    child.sendline("n")
    assert finish(child) == 2
    assert "mfa-process: nothing was changed (answer y, or pass --yes)" in screen(child)
    assert aws_home.credentials_path.read_bytes() == before and sts_proxy.count("CreateAccessKey") == 0
    assert set(keys_of(moto_server)) == {sts_proxy.access_key_id}


def test_without_a_terminal_it_asks_for_yes(sts_proxy, aws_home):
    result = detached(aws_home)
    assert result.returncode == 4 and "--yes" in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and sts_proxy.count("CreateAccessKey") == 0


def test_create_refused_by_policy_leaves_nothing_in_progress(sts_proxy, aws_home_factory, moto_server):
    home, before = file_home(sts_proxy, aws_home_factory)
    sts_proxy.fail_next_with(403, "AccessDenied", "not authorized", action="CreateAccessKey")
    status, text = rotate(home, sts_proxy)
    assert status == 6
    assert "mfa-process: CreateAccessKey was refused for IAM user alice: the user's policy must allow" in text
    assert "again to finish it" not in text and not journal_file(home).exists()
    assert home.credentials_path.read_bytes() == before
    assert set(keys_of(moto_server)) == {sts_proxy.access_key_id}


@pytest.mark.parametrize(
    ("journal", "start"),
    [
        ('{"profile": "source", "where": "file", "user": "alice", "old_id": "AKIAGONEGONEGONEGONE", '
         '"new_id": "AKIANEWNEWNEWNEWNEW1", "phase": "stored", "started": 0}', "an interrupted rotation of"),
        ("{not json", ""),
    ],
)  # fmt: skip
def test_a_journal_that_does_not_match_is_one_clear_line(sts_proxy, aws_home, journal, start):
    journal_file(aws_home).parent.mkdir(parents=True)
    journal_file(aws_home).write_text(journal)
    result = detached(aws_home, "--yes")
    one_line(result, 3, start or str(journal_file(aws_home)))
    assert sts_proxy.count("CreateAccessKey") == 0 and sts_proxy.count("DeleteAccessKey") == 0


def test_sts_unavailable_for_the_first_check_says_try_again(sts_proxy, aws_home):
    sts_proxy.fail_next_with(503, "ServiceUnavailable", "try later", action="GetCallerIdentity")
    result = detached(aws_home, "--yes")
    one_line(result, 6, "could not check the current access key ")
    assert "nothing was changed, try again" in result.stderr and sts_proxy.count("GetSessionToken") == 0


def test_no_verify_skips_the_check_of_the_new_key(sts_proxy, aws_home_factory, moto_server):
    home, _ = file_home(sts_proxy, aws_home_factory)
    status, text = rotate(home, sts_proxy, "--no-verify")
    assert status == 0, text
    (new_id,) = sts_proxy.created_keys
    assert not [c for c in sts_proxy.calls if c.action == "GetCallerIdentity" and c.access_key_id == new_id]
    assert keys_of(moto_server) == {new_id: "Active"} and in_file(home)[0] == new_id


def test_keys_in_the_file_and_a_copy_in_the_keyring_are_both_replaced(sts_proxy, aws_home, moto_server):
    stored = run_detached(aws_home, [MFA, "store-keys", "--profile", "source"])  # keeps the file's lines
    assert stored.returncode == 0, stored.stderr
    status, text = rotate(aws_home, sts_proxy)
    assert status == 0, text
    (new_id,) = sts_proxy.created_keys
    assert "(and its copy in the keyring)" in text and in_file(aws_home)[0] == new_id
    # without the file's lines the keyring copy is what the tool reads: it must be the new, working pair
    aws_home.write_credentials({})
    status, text = rotate(aws_home, sts_proxy, prompt=False)
    assert status == 0, text
    assert f"old access key {new_id} was deleted" in text and "stored in the keyring" in text
