"""``env`` and ``exec`` carry the session's region to the child: a home whose only region is in the profile."""

from __future__ import annotations

import json
import shlex

import pytest

from tests.support.clients import AWS_V1, AWS_V2, MFA, answer_prompt, finish, run_detached, spawn
from tests.support.home import AwsHome

pytestmark = pytest.mark.keyring


@pytest.fixture
def profile_region_home(aws_home_factory) -> AwsHome:
    """No AWS_REGION/AWS_DEFAULT_REGION anywhere: the region lives only in [profile source]."""
    home = aws_home_factory(region=None)
    assert "AWS_REGION" not in home.env and "AWS_DEFAULT_REGION" not in home.env
    return home


def aws_argv(aws: str, endpoint: str, *args: str) -> list[str]:
    """The Debian CLI v2 (2.9) ignores AWS_ENDPOINT_URL: it is given ``--endpoint-url``."""
    return [aws, *args] if aws == AWS_V1 else [aws, "--endpoint-url", endpoint, *args]


def login(home: AwsHome, sts_proxy) -> None:
    child = spawn(home, [MFA, "login", "--profile", "source"])
    answer_prompt(child, sts_proxy)
    assert finish(child) == 0


@pytest.mark.parametrize("aws", [AWS_V1, AWS_V2], ids=["aws-v1", "aws-v2"])
def test_exec_runs_the_aws_cli_with_the_profiles_region(sts_proxy, profile_region_home, aws):
    login(profile_region_home, sts_proxy)
    result = run_detached(
        profile_region_home,
        [
            MFA,
            "exec",
            "--profile",
            "source",
            "--",
            *aws_argv(aws, sts_proxy.url, "sts", "get-caller-identity", "--output", "json"),
        ],
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Account"] == "123456789012"
    shown = run_detached(profile_region_home, [MFA, "exec", "--profile", "source", "--", aws, "configure", "list"])
    assert shown.returncode == 0, shown.stderr
    region_line = next(line for line in shown.stdout.splitlines() if line.split()[:1] == ["region"])
    assert "us-east-1" in region_line and "env" in region_line


def test_eval_of_env_gives_the_aws_cli_the_profiles_region(sts_proxy, profile_region_home):
    login(profile_region_home, sts_proxy)
    aws = shlex.join(aws_argv(AWS_V2, sts_proxy.url, "sts", "get-caller-identity", "--output", "json"))
    script = f'eval "$({shlex.quote(MFA)} env --profile source)" && {aws}'
    result = run_detached(profile_region_home, ["bash", "-c", script])
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Account"] == "123456789012"


@pytest.mark.parametrize("shell", ["sh", "fish", "powershell", "json"])
def test_every_shell_prints_both_region_variables(sts_proxy, profile_region_home, shell):
    login(profile_region_home, sts_proxy)
    result = run_detached(profile_region_home, [MFA, "env", "--profile", "source", "--shell", shell])
    assert result.returncode == 0, result.stderr
    if shell == "json":
        doc = json.loads(result.stdout)
        assert doc["AWS_REGION"] == doc["AWS_DEFAULT_REGION"] == "us-east-1"
    else:
        lines = [line for line in result.stdout.splitlines() if "REGION" in line]
        assert len(lines) == 2 and all("us-east-1" in line for line in lines), result.stdout


def test_region_flag_and_environment_win_over_the_profile(sts_proxy, profile_region_home):
    login(profile_region_home, sts_proxy)
    flagged = run_detached(
        profile_region_home, [MFA, "env", "--profile", "source", "--shell", "json", "--region", "eu-west-1"]
    )
    assert json.loads(flagged.stdout)["AWS_REGION"] == "eu-west-1", flagged.stderr
    from_env = run_detached(
        profile_region_home, [MFA, "exec", "--profile", "source", "--", "env"], env={"AWS_DEFAULT_REGION": "ap-south-1"}
    )
    assert "AWS_REGION=ap-south-1" in from_env.stdout.splitlines(), from_env.stderr
    assert "AWS_DEFAULT_REGION=ap-south-1" in from_env.stdout.splitlines()
