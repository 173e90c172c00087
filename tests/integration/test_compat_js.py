"""The AWS SDK for JavaScript v3 runs the helper, through the default chain and through ``fromIni``.

The SDK runs ``credential_process`` with ``child_process.exec``: a ``/bin/sh -c`` whose stdin, stdout and
stderr are all pipes (stdin never reaches end of input). The prompt must still reach the user's terminal,
and the output must be the bare JSON. The scripts are in ``tests/js`` (``npm --prefix tests/js ci``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.clients import HELPER_PROFILE, PROMPT, HelperRuns, answer_prompt, finish, run_detached, screen, spawn

pytestmark = pytest.mark.keyring

JS_DIR = Path(__file__).resolve().parents[1] / "js"
SCRIPT = str(JS_DIR / "identity.mjs")
#: Quiet the SDK's notice about Node 20 support ending, which would otherwise go to stderr.
JS_ENV = {"AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED": "true", "AWS_EC2_METADATA_DISABLED": "true"}


def package_version(name: str) -> str:
    return str(json.loads((JS_DIR / "node_modules" / name / "package.json").read_text())["version"])


@pytest.fixture(scope="module")
def node() -> str:
    """The ``node`` executable, once ``tests/js/node_modules`` is installed."""
    found = shutil.which("node")
    problem = None
    if found is None:
        problem = "node not found"
    elif not (JS_DIR / "node_modules" / "@aws-sdk" / "client-sts").is_dir():
        problem = "tests/js/node_modules missing: run `npm --prefix tests/js ci` (or scripts/deps.sh)"
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    assert found is not None
    return found


@pytest.fixture
def js_versions(node, record_client_version) -> None:
    node_version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30, check=True)
    record_client_version("node", node_version.stdout.strip())
    for package in ("client-sts", "credential-providers", "credential-provider-ini", "credential-provider-process"):
        record_client_version(f"@aws-sdk/{package}", package_version(f"@aws-sdk/{package}"))


def js_argv(node: str, mode: str, calls: int) -> list[str]:
    argv = [node, SCRIPT, mode, str(calls)]
    return [*argv, HELPER_PROFILE] if mode == "ini" else argv


def js_env(mode: str) -> dict[str, str]:
    """The default chain finds the profile through AWS_PROFILE; fromIni is given it and sees no AWS_PROFILE."""
    return {**JS_ENV, "AWS_PROFILE": HELPER_PROFILE} if mode == "chain" else dict(JS_ENV)


def parse_result(text: str) -> dict[str, object]:
    lines = [line for line in text.splitlines() if line.startswith("{")]
    assert len(lines) == 1, text
    return dict(json.loads(lines[0]))


@pytest.mark.parametrize("first", ["chain", "ini"])
def test_prompt_on_the_terminal_through_piped_stdio_then_cached(sts_proxy, aws_home, node, js_versions, first):
    runs = HelperRuns(aws_home)
    runs.register()
    second = "ini" if first == "chain" else "chain"

    child = spawn(aws_home, js_argv(node, first, 3), **js_env(first))
    answer_prompt(child, sts_proxy)
    assert finish(child) == 0, screen(child)
    out = screen(child)
    assert out.count(PROMPT) == 1, out
    assert "NodeVersionSupportWarning" not in out
    [session] = sts_proxy.issued
    result = parse_result(out)
    assert result["mode"] == first
    assert result["accounts"] == [sts_proxy.account_id] * 3
    assert result["accessKeyId"] == session.access_key_id
    assert result["accountId"] == sts_proxy.account_id  # the helper's AccountId reached the SDK
    assert result["expiration"] is not None
    # One helper run for three calls, with every standard stream a pipe: the prompt went to /dev/tty.
    [run] = runs.runs()
    assert (run.stdin, run.stdout, run.stderr) == ("notty", "notty", "notty")

    # The other provider, in a process with no terminal at all: served from the keyring.
    detached = run_detached(aws_home, js_argv(node, second, 2), env=js_env(second))
    assert detached.returncode == 0, detached.stderr
    assert detached.stderr == ""
    again = parse_result(detached.stdout)
    assert again["accounts"] == [sts_proxy.account_id] * 2
    assert again["accessKeyId"] == session.access_key_id
    assert runs.count == 2
    assert sts_proxy.get_session_token_calls == 1
    signers = [c.access_key_id for c in sts_proxy.calls if c.action == "GetCallerIdentity"]
    assert signers == [session.access_key_id] * 5
