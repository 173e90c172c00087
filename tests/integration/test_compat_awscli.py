"""The aws CLI v1 (the virtualenv's, awscli on PyPI) and v2 (Debian's /usr/bin/aws) run the helper.

One command on a pseudo-terminal shows the one prompt; every later command of either CLI, with no
terminal at all, is served from the keyring: no prompt, no GetSessionToken, the same session keys.
The Debian CLI v2 (2.9.19) predates AWS_ENDPOINT_URL support (CLI 2.13), so it gets ``--endpoint-url``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from tests.support.clients import (
    AWS_V1,
    AWS_V2,
    HELPER_PROFILE,
    PROMPT,
    HelperRuns,
    answer_prompt,
    finish,
    run_detached,
    screen,
    spawn,
)

pytestmark = pytest.mark.keyring

#: What a CLI's ``--version`` starts with.
VERSION = re.compile(r"aws-cli/(\d+)\.\d+\.\d+")


def cli_argv(cli: str, endpoint: str, *args: str) -> list[str]:
    """``aws ARGS`` of the CLI named *cli*; v2 is pointed at the endpoint with ``--endpoint-url``."""
    if cli == "v1":
        return [AWS_V1, *args]  # honours AWS_ENDPOINT_URL from the home's environment
    return [AWS_V2, "--endpoint-url", endpoint, *args]


def identity_argv(cli: str, endpoint: str) -> list[str]:
    return cli_argv(cli, endpoint, "sts", "get-caller-identity", "--profile", HELPER_PROFILE, "--output", "json")


@pytest.fixture(scope="module")
def _cli_versions(tmp_path_factory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("versions")
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "AWS_PAGER": ""}
    versions = {}
    for cli in ("v1", "v2"):
        argv = cli_argv(cli, "http://127.0.0.1:9", "--version")
        result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30, check=False)
        text = (result.stdout or result.stderr).strip()
        match = VERSION.match(text)
        assert result.returncode == 0 and match, text
        assert match.group(1) == cli[1:], f"{cli} is {text}"
        versions[cli] = text
    return versions


@pytest.fixture
def cli_versions(_cli_versions, record_client_version) -> dict[str, str]:
    """``aws --version`` of both CLIs, recorded for the run's summary."""
    for cli, text in _cli_versions.items():
        record_client_version(f"aws CLI {cli}", text)
    return _cli_versions


@pytest.mark.parametrize("first", ["v1", "v2"])
def test_one_prompt_then_both_clis_served_from_the_keyring(sts_proxy, aws_home, cli_versions, first):
    runs = HelperRuns(aws_home)
    runs.register()
    endpoint = sts_proxy.url

    child = spawn(aws_home, identity_argv(first, endpoint))
    answer_prompt(child, sts_proxy)
    assert finish(child) == 0, screen(child)
    out = screen(child)
    assert out.count(PROMPT) == 1, out
    assert json.loads(out[out.index("{") :])["Account"] == sts_proxy.account_id
    assert sts_proxy.get_session_token_calls == 1
    [session] = sts_proxy.issued

    # No terminal from here on: a prompt would fail the command. Both CLIs, the same session.
    for cli in (first, "v2" if first == "v1" else "v1", first):
        result = run_detached(aws_home, identity_argv(cli, endpoint))
        assert result.returncode == 0, f"{cli}: {result.stderr}"
        assert json.loads(result.stdout)["Account"] == sts_proxy.account_id
        assert result.stderr == ""
    assert sts_proxy.get_session_token_calls == 1

    # Every GetCallerIdentity was signed with the MFA session the helper obtained, never the long-term key.
    signers = [c.access_key_id for c in sts_proxy.calls if c.action == "GetCallerIdentity"]
    assert signers == [session.access_key_id] * 4
    assert all(c.status == 200 for c in sts_proxy.calls)

    # Each CLI ran the helper once per command, with stdout and stderr captured (stdin inherited).
    helper = runs.runs()
    assert len(helper) == 4
    assert {(r.stdout, r.stderr) for r in helper} == {("notty", "notty")}
    assert helper[0].stdin == "tty"  # the first command had the terminal; the helper asked on /dev/tty


def test_cli_v2_without_endpoint_flag_ignores_aws_endpoint_url(sts_proxy, aws_home, cli_versions):
    """Why v2 gets ``--endpoint-url`` here: 2.9.19 sends to AWS's own STS host despite AWS_ENDPOINT_URL.

    An unreachable HTTPS proxy keeps the request from leaving the machine; the debug log shows where it went.
    """
    minor = int(cli_versions["v2"].split("/")[1].split(".")[1])
    if minor >= 13:
        pytest.skip(f"{cli_versions['v2']} honours AWS_ENDPOINT_URL")
    assert aws_home.env["AWS_ENDPOINT_URL"] == sts_proxy.url
    dead = {"HTTPS_PROXY": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1"}
    result = run_detached(aws_home, [AWS_V2, "sts", "get-caller-identity", "--profile", "source", "--debug"], env=dead)
    assert result.returncode != 0
    assert re.search(r"url=https://sts\.([a-z0-9-]+\.)?amazonaws\.com/", result.stderr), result.stderr[-2000:]
    assert sts_proxy.calls == []
