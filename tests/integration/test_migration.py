"""Migrating from the shell-script recipe: a home exactly as ``aws configure set`` of a session leaves it.

The recipe this tool replaces runs ``aws sts get-session-token`` with the long-term profile, picks the
three values out with jq and writes them into ``[my-profile-mfa]`` of ``~/.aws/credentials`` with
``aws configure set``. Those keys win over any ``credential_process`` until setup removes them.
"""

from __future__ import annotations

import shlex
import stat
from pathlib import Path

import pexpect
import pytest

from tests.support.clients import AWS_V1, AWS_V2, MFA, finish, run_detached, screen, spawn
from tests.support.home import VENV_BIN, AwsHome

pytestmark = pytest.mark.keyring

SOURCE = "my-profile"
TARGET = "my-profile-mfa"

RECIPE = """\
set -eu
creds=$(aws sts get-session-token --profile my-profile --serial-number "$SERIAL" --token-code "$CODE" \\
    --output json | jq -r '.Credentials | "\\(.AccessKeyId) \\(.SecretAccessKey) \\(.SessionToken)"')
set -- $creds
aws configure set aws_access_key_id "$1" --profile my-profile-mfa
aws configure set aws_secret_access_key "$2" --profile my-profile-mfa
aws configure set aws_session_token "$3" --profile my-profile-mfa
"""


@pytest.fixture
def recipe_home(sts_proxy, aws_home_factory) -> AwsHome:
    """``my-profile`` set up with ``aws configure``, then the recipe run once through the real aws CLI."""
    home = aws_home_factory(
        region=None,
        credentials={
            SOURCE: {"aws_access_key_id": sts_proxy.access_key_id, "aws_secret_access_key": sts_proxy.secret_access_key}
        },
        config={SOURCE: {"region": "us-east-1"}},
    )
    code = sts_proxy.wait_for_fresh_code()
    result = run_detached(
        home,
        ["sh", "-c", RECIPE],
        env={"SERIAL": sts_proxy.mfa_serial, "CODE": code, "PATH": f"{VENV_BIN}:/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert f"[{TARGET}]" in home.credentials_path.read_text()
    sts_proxy.reset_counts()
    return home


def configure_list_type(home: AwsHome, aws: str) -> str:
    """The ``Type`` column of the access_key row of ``aws configure list --profile my-profile-mfa``."""
    result = run_detached(home, [aws, "configure", "list", "--profile", TARGET])
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if line.split()[:1] == ["access_key"])
    return next(word for word in row.split() if word in ("shared-credentials-file", "custom-process", "env"))


def botocore_method(home: AwsHome) -> str:
    code = f"import botocore.session; print(botocore.session.Session(profile={TARGET!r}).get_credentials().method)"
    result = run_detached(home, [str(VENV_BIN / "python"), "-c", code])
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def backups(home: AwsHome) -> list[Path]:
    return sorted(home.aws_dir.glob("*.bak"))


def run_setup(home: AwsHome, sts_proxy, *args: str, answer: str | None = "y") -> tuple[int, str]:
    child = spawn(home, [MFA, "setup", SOURCE, *args])
    if answer is not None:
        child.expect_exact("remove them and write the profile as shown? [y/N]: ")
        child.sendline(answer)
    if answer in (None, "y"):
        index = child.expect(["MFA code for", pexpect.EOF])
        if index == 0:
            child.expect(": ")
            child.sendline(sts_proxy.wait_for_fresh_code())
    return finish(child), screen(child)


def test_the_recipe_leaves_a_home_that_shadows_credential_process(recipe_home):
    for aws in (AWS_V1, AWS_V2):
        assert configure_list_type(recipe_home, aws) == "shared-credentials-file"


@pytest.mark.parametrize("yes", [False, True], ids=["confirmed", "--yes"])
def test_setup_removes_the_scripts_keys_with_a_backup_and_the_profile_runs_mfa_process(sts_proxy, recipe_home, yes):
    before = recipe_home.credentials_path.read_bytes()
    source_block = before[: before.index(f"[{TARGET}]".encode())]
    code, shown = run_setup(recipe_home, sts_proxy, *(["--yes"] if yes else []), answer=None if yes else "y")
    assert code == 0, shown
    # the diff shows both files, secrets redacted
    assert f"-[{TARGET}]" not in shown and "-aws_session_token = <redacted>" in shown
    assert f"+[profile {TARGET}]" in shown
    assert (
        f"{recipe_home.credentials_path} [{TARGET}] has aws_access_key_id, aws_secret_access_key, aws_session_token"
        in shown
    )
    after = recipe_home.credentials_path.read_bytes()
    assert after == source_block + f"[{TARGET}]\n".encode()  # only the three key lines went
    [backup] = backups(recipe_home)
    assert backup.read_bytes() == before
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert f"saved the previous {recipe_home.credentials_path} as {backup} (mode 0600)" in shown
    assert f"verified: botocore resolves profile {TARGET} through credential_process" in shown
    # as users see it
    assert botocore_method(recipe_home) == "custom-process"
    for aws in (AWS_V1, AWS_V2):
        assert configure_list_type(recipe_home, aws) == "custom-process"
    assert sts_proxy.count("GetSessionToken") == 1

    # again: a no-op, no question, no code, no backup
    config, credentials = recipe_home.config_path.read_bytes(), recipe_home.credentials_path.read_bytes()
    code, shown = run_setup(recipe_home, sts_proxy, answer=None)
    assert code == 0, shown
    assert "already has both profiles as they should be" in shown and "MFA code for" not in shown
    assert recipe_home.config_path.read_bytes() == config
    assert recipe_home.credentials_path.read_bytes() == credentials
    assert len(backups(recipe_home)) == 1
    assert sts_proxy.count("GetSessionToken") == 1


def test_declining_changes_nothing_and_says_why_the_profile_would_not_work(sts_proxy, recipe_home):
    config, credentials = recipe_home.config_path.read_bytes(), recipe_home.credentials_path.read_bytes()
    code, shown = run_setup(recipe_home, sts_proxy, answer="n")
    assert code == 2
    last = shown.strip().splitlines()[-1]
    assert last == (
        f"mfa-process: left the files unchanged: {recipe_home.credentials_path} [{TARGET}] has aws_access_key_id, "
        "aws_secret_access_key, aws_session_token, which the aws CLI and SDKs use before credential_process, so "
        f"profile {TARGET} would never run mfa-process; rerun and answer y"
    )
    assert recipe_home.config_path.read_bytes() == config
    assert recipe_home.credentials_path.read_bytes() == credentials
    assert backups(recipe_home) == []
    assert sts_proxy.count("GetSessionToken") == 0


def test_keys_in_the_config_file_that_win_are_removed_too(sts_proxy, recipe_home):
    recipe_home.credentials_path.write_text(
        recipe_home.credentials_path.read_text().split(f"[{TARGET}]")[0].rstrip() + "\n"
    )
    original = (
        recipe_home.config_path.read_text() + f"\n# old role setup\n[profile {TARGET}]\nsource_profile = {SOURCE}\n"
        "role_arn = arn:aws:iam::123456789012:role/x\n"
        f"\n[{TARGET}]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\nregion = us-east-1\n"
    )
    recipe_home.config_path.write_text(original)
    code, shown = run_setup(recipe_home, sts_proxy)
    assert code == 0, shown
    text = recipe_home.config_path.read_text()
    assert "source_profile" not in text and "role_arn" not in text and "sso_" not in text
    assert f"# old role setup\n[profile {TARGET}]\ncredential_process = {shlex.quote(MFA)} --profile {SOURCE}\n" in text
    assert f"[{TARGET}]\nregion = us-east-1\n" in text  # other keys of the plain section stay
    [backup] = backups(recipe_home)
    assert backup.read_text() == original
    assert botocore_method(recipe_home) == "custom-process"


def test_ctrl_c_at_the_access_key_question_says_which_question(aws_home_factory):
    home = aws_home_factory(credentials={})
    child = spawn(home, [MFA, "setup", "newcomer"])
    child.expect_exact("AWS Access Key ID: ")
    child.sendintr()
    assert finish(child) == 130
    assert (
        screen(child).strip().splitlines()[-1] == "mfa-process: cancelled at the question 'AWS Access Key ID' (Ctrl-C)"
    )


def test_setup_of_a_typo_suggests_the_existing_profile(aws_home):
    result = run_detached(aws_home, [MFA, "setup", "sourc"])
    assert result.returncode == 2
    assert result.stderr == "mfa-process: profile 'sourc' not found; did you mean `mfa-process setup source`?\n"
    child = spawn(aws_home, [MFA, "setup", "sourc"])
    child.expect_exact("there is no profile 'sourc' (did you mean 'source'?); create it [y/N]: ")
    child.sendline("n")
    assert finish(child) == 2
    assert "did you mean `mfa-process setup source`?" in screen(child)


def test_login_without_a_terminal_advises_what_works(aws_home):
    result = run_detached(aws_home, [MFA, "login", "--profile", "source"])
    assert result.returncode == 4
    [line] = result.stderr.splitlines()
    assert line.startswith("mfa-process: no terminal to ask for the MFA code of profile 'source' (")
    assert line.endswith(
        "run `mfa-process login --profile source` in a terminal, or add --prompt dialog (a desktop dialog) or "
        "--token-command CMD (a program that prints the code)"
    )
