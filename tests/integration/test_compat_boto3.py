"""A long-running boto3 program whose MFA session runs out mid-run.

botocore re-runs a credential_process once less than 15 minutes (its advisory refresh window) are left
on the credentials it holds, and keeps the old ones if that run fails. The helper's default refresh
margin is the same 900 s, so it never hands botocore a session botocore already considers due: the
first session is served once, and when botocore comes back at the 15-minute mark the helper asks for a
new code, once. The proxy issues the first session with 900 s + :data:`LEAD` left, so botocore's
window opens a few seconds into the run instead of after hours.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import time
from pathlib import Path

import boto3
import botocore
import pexpect
import pytest

from tests.support.clients import (
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

LOOP = str(Path(__file__).resolve().parents[1] / "support" / "boto3_loop.py")
#: botocore's advisory refresh window (botocore.credentials._DEFAULT_ADVISORY_REFRESH_TIMEOUT).
ADVISORY = 15 * 60
#: Seconds between the first session's issue and botocore's advisory window opening.
LEAD = 8
#: The loop's pause between calls, and the longest it may run.
INTERVAL = 0.5
LOOP_LIMIT = 60


@pytest.fixture
def boto3_version(record_client_version) -> str:
    record_client_version("boto3", f"boto3 {boto3.__version__} botocore {botocore.__version__}")
    return boto3.__version__


def start_loop(home, interval: float) -> tuple[pexpect.spawn, Path]:
    stop = home.home / "stop-loop"
    child = spawn(home, [sys.executable, LOOP, HELPER_PROFILE, str(interval), str(stop), str(LOOP_LIMIT)])
    return child, stop


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def identity_signers(proxy, *, finished: bool = True) -> list[str]:
    """The key that signed each GetCallerIdentity; once the client has *finished*, all must have succeeded."""
    calls = [c for c in proxy.calls if c.action == "GetCallerIdentity"]
    if finished:
        assert all(c.status == 200 for c in calls), [(c.access_key_id, c.status) for c in calls]
    return [str(c.access_key_id) for c in calls]


def test_session_expiring_mid_run_is_renewed_with_one_prompt(sts_proxy, aws_home, boto3_version):
    runs = HelperRuns(aws_home)
    runs.register()  # the default refresh margin: 900 s, botocore's advisory window
    sts_proxy.expiration = dt.timedelta(seconds=ADVISORY + LEAD)

    child, stop = start_loop(aws_home, INTERVAL)
    answer_prompt(child, sts_proxy)
    child.expect(r"call 1 ok (\d+)")
    assert child.match.group(1) == sts_proxy.account_id
    sts_proxy.expiration = None  # the next session lasts moto's default 12 hours
    [first] = sts_proxy.issued
    expires = dt.datetime.strptime(first.expiration, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    after_first_prompt = len(screen(child))
    assert runs.count == 1

    # botocore's advisory refresh re-runs the helper once less than 15 minutes are left, about LEAD
    # seconds from now; the helper finds less than its margin left and asks, while the loop waits.
    answer_prompt(child, sts_proxy, timeout=LEAD + 20)
    left = (expires - dt.datetime.now(dt.timezone.utc)).total_seconds()
    assert ADVISORY - 20 < left <= ADVISORY, left  # at the window's opening, long before the mandatory 10 min

    def renewed_calls() -> int:
        issued = sts_proxy.issued
        return 0 if len(issued) < 2 else identity_signers(sts_proxy, finished=False).count(issued[1].access_key_id)

    wait_until(lambda: renewed_calls() >= 4, 20, "four calls with the renewed session")
    stop.touch()
    assert finish(child) == 0, screen(child)

    out = screen(child)
    assert out.count(PROMPT) == 2, out
    assert out[after_first_prompt:].count(PROMPT) == 1, out  # exactly one new prompt mid-run
    assert "waiting for another" not in out
    assert "Traceback" not in out and "gave up" not in out
    assert sts_proxy.get_session_token_calls == 2
    second = sts_proxy.issued[1]
    # The calls used the first session until the refresh, then the second: no gap, no failed call.
    signers = identity_signers(sts_proxy)
    switch = signers.index(second.access_key_id)
    assert signers == [first.access_key_id] * switch + [second.access_key_id] * (len(signers) - switch)
    assert switch >= 2 * LEAD - 6  # about LEAD / INTERVAL calls on the first session
    assert len(re.findall(r"call \d+ ok", out)) == len(signers)
    # One helper run per session, not one per request.
    helper = runs.runs()
    assert len(helper) == 2, helper
    # botocore captures stdout and stderr and passes its own stdin (here the terminal) through.
    assert {(r.stdin, r.stdout, r.stderr) for r in helper} == {("tty", "notty", "notty")}


def test_margin_below_botocores_window_makes_it_run_the_helper_on_every_call(sts_proxy, aws_home, boto3_version):
    """Why the default margin is 900 s: a session served with less than that left is 'due' to botocore."""
    runs = HelperRuns(aws_home)
    runs.register(["--refresh-margin", "600"])
    sts_proxy.expiration = dt.timedelta(seconds=ADVISORY - 10)

    child, stop = start_loop(aws_home, 0.1)
    answer_prompt(child, sts_proxy)
    child.expect("call 5 ok")
    stop.touch()
    assert finish(child) == 0, screen(child)

    calls = len(identity_signers(sts_proxy))
    assert calls >= 5
    assert sts_proxy.get_session_token_calls == 1  # the cached session kept being served, no new prompt
    assert screen(child).count(PROMPT) == 1
    assert runs.count == calls + 1  # one run when the client was made, then one per request


IDENTITY = (
    "import json, sys, boto3\n"
    "print(json.dumps(boto3.Session(profile_name=sys.argv[1]).client('sts').get_caller_identity()))\n"
)


def test_role_through_mfa_process_role_arn(sts_proxy, aws_home, boto3_version):
    """The supported way to a role: ``mfa_process_role_arn`` in the profile the helper is told to read."""
    runs = HelperRuns(aws_home)
    runs.register(["--config-profile", "source-admin"], profile="source-admin")
    with aws_home.config_path.open("a") as config:
        config.write(f"mfa_process_role_arn = {sts_proxy.role_arn}\n")
    child = spawn(aws_home, [sys.executable, "-c", IDENTITY, "source-admin"])
    answer_prompt(child, sts_proxy)
    assert finish(child) == 0, screen(child)
    out = screen(child)
    identity = json.loads(out[out.index("{") :])
    assert identity["Arn"].startswith(f"arn:aws:sts::{sts_proxy.account_id}:assumed-role/admin/")
    assert sts_proxy.action_counts == {"GetSessionToken": 1, "AssumeRole": 1, "GetCallerIdentity": 1}
    assert runs.count == 1


def test_plain_role_arn_beside_credential_process_is_refused_by_botocore(sts_proxy, aws_home, boto3_version):
    """Why the docs say ``mfa_process_role_arn``: botocore's assume-role provider claims a profile with
    ``role_arn`` before credential_process is looked at, and fails for want of a source_profile."""
    runs = HelperRuns(aws_home)
    runs.register()
    with aws_home.config_path.open("a") as config:
        config.write(f"role_arn = {sts_proxy.role_arn}\n")
    result = run_detached(aws_home, [sys.executable, "-c", IDENTITY, HELPER_PROFILE])
    assert result.returncode != 0
    assert "PartialCredentialsError" in result.stderr and "source_profile" in result.stderr, result.stderr
    assert runs.count == 0
    assert sts_proxy.calls == []
