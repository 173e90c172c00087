"""Clients that give up, retry or hide stderr, reproduced by drivers and by the real Go SDK v2, in a pty.

* The Go SDKs kill the ``sh -c`` they started when their timeout ends; dash forks, so the helper used to
  survive, re-parented, reading the terminal. Now it stops at once, restores the terminal and says so.
* Some SDKs run a failed helper again (up to 4 times): a cancelled prompt is asked once.
* Some SDKs send the helper's stderr to /dev/null: the failure line appears on the terminal instead.

Every program that compares times runs at one frozen instant (``tests.support.clock``), so the 10-second
memory of a cancelled prompt never depends on how fast the machine runs the retries.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
from pathlib import Path

import pexpect
import pytest

from tests.support import clock
from tests.support.clients import PROMPT, HelperRuns, screen, spawn
from tests.support.home import VENV_BIN

pytestmark = pytest.mark.keyring

REPO = Path(__file__).resolve().parents[2]
DRIVER = [str(VENV_BIN / "python"), str(REPO / "tests" / "support" / "sdk_driver.py")]
GONE = "stopped waiting for the MFA code; run `mfa-process login --profile source`, then run that program again"
READY = "shell-ready> "


def helper_command(home) -> str:
    runs = HelperRuns(home)
    return shlex.join([str(runs.script), "--profile", "source"])


def helper_pids(home) -> list[int]:
    return [run.pid for run in HelperRuns(home).runs()]


def running(pid: int) -> bool:
    """Whether *pid* is a live process (a zombie waiting for its reaper is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def in_shell(home) -> pexpect.spawn:
    """An interactive bash on a pty, to check the terminal's settings after the client is gone."""
    shell = spawn(home, ["bash", "--norc", "--noprofile", "-i"])
    shell.sendline(f"PS1='{READY}'")
    shell.expect_exact(READY)
    shell.expect_exact(READY)
    return shell


def assert_terminal_sane(shell: pexpect.spawn) -> None:
    shell.sendline("stty -a | tr ' ' '\\n' | grep -x -e echo -e icanon -e -echo -e -icanon | sort | tr '\\n' ,")
    shell.expect_exact("echo,icanon,")
    shell.expect_exact(READY)


@pytest.fixture(scope="session")
def go_credproc(tmp_path_factory) -> str:
    """tests/go/credproc built offline against Debian's Go SDK v2 sources (scripts/deps.sh installs them)."""
    if not Path("/usr/share/gocode/src/github.com/aws/aws-sdk-go-v2/credentials/processcreds").is_dir():
        pytest.fail("the Go SDK v2 sources are missing: run scripts/deps.sh")
    out = tmp_path_factory.mktemp("go") / "credproc"
    env = {
        **os.environ,
        "GO111MODULE": "off",
        "GOPATH": "/usr/share/gocode",
        "GOPROXY": "off",
        "GOFLAGS": "",
        "GOCACHE": str(REPO / ".venv" / "go-cache"),
    }
    subprocess.run(
        ["go", "build", "-o", str(out), str(REPO / "tests" / "go" / "credproc" / "main.go")],
        env=env,
        check=True,
        timeout=600,
    )
    return str(out)


def test_go_sdk_v2_timeout_ends_the_prompt_and_leaves_nothing_behind(sts_proxy, aws_home, go_credproc):
    shell = in_shell(aws_home)
    # the SDK's own timeout (its default is 60 s), long enough for the helper to start on a loaded machine
    shell.sendline(f"{go_credproc} 15 {shlex.quote(helper_command(aws_home))}")
    shell.expect_exact(PROMPT)
    shell.expect_exact(GONE, timeout=120)  # on the terminal, when the SDK killed the shell
    shell.expect_exact("credential process timed out: signal: killed")
    shell.expect_exact(READY)
    [pid] = helper_pids(aws_home)
    assert not running(pid)
    assert_terminal_sane(shell)
    assert screen(shell).count(PROMPT) == 1
    assert sts_proxy.count("GetSessionToken") == 0


def test_killed_dash_wrapper_ends_the_prompt_at_once(sts_proxy, aws_home):
    shell = in_shell(aws_home)
    shell.sendline(shlex.join([*DRIVER, "--kill-on-usr1", helper_command(aws_home)]) + " & wait")
    shell.expect(r"\[1\] (\d+)")
    driver = int(shell.match.group(1))
    shell.expect_exact(PROMPT)
    [pid] = helper_pids(aws_home)
    os.kill(driver, signal.SIGUSR1)  # the SDK's timeout: the `sh -c` is killed, the helper was forked
    shell.expect_exact(GONE)
    shell.expect_exact("run 1: exit -9")
    shell.expect_exact(READY)
    assert not running(pid)
    assert_terminal_sane(shell)


def test_a_cancelled_prompt_is_asked_once_however_many_retries(sts_proxy, aws_home):
    child = spawn(aws_home, [*DRIVER, "--retries", "4", helper_command(aws_home)], **clock.frozen())
    child.expect_exact(PROMPT)
    child.expect_exact(": ")
    child.sendeof()
    child.expect_exact("done")
    child.expect(pexpect.EOF)
    shown = screen(child)
    assert shown.count(PROMPT) == 1, shown
    assert [f"run {n}: exit 130" in shown for n in (1, 2, 3, 4)] == [True] * 4, shown
    assert len(helper_pids(aws_home)) == 4
    # the prompt's own line says what happened, even though this client swallows stderr
    assert "(profile source): cancelled\r\n" in shown


@pytest.mark.parametrize(("stderr", "retries"), [("devnull", 4), ("closed", 1)])
def test_failure_reaches_the_terminal_when_stderr_goes_nowhere(sts_proxy, aws_home, stderr, retries):
    command = shlex.join([*DRIVER, "--retries", str(retries), "--stderr", stderr, helper_command(aws_home)])
    # retries run at one frozen instant; libfaketime opens a file of its own, which would take a closed fd 2
    frozen = clock.frozen() if retries > 1 else {}
    child = spawn(aws_home, ["sh", "-c", command], **frozen)
    child.expect_exact(PROMPT)
    child.expect_exact(": ")
    child.sendeof()
    child.expect_exact("done")
    child.expect(pexpect.EOF)
    shown = screen(child)
    assert shown.count("mfa-process: MFA code prompt cancelled (end of input)") == 1, shown  # once, not per retry
    assert shown.count(PROMPT) == 1


def test_failure_without_a_prompt_reaches_the_terminal_once(sts_proxy, aws_home):
    command = helper_command(aws_home).replace("--profile source", "--profile missing")
    child = spawn(aws_home, [*DRIVER, "--retries", "4", "--stderr", "devnull", command])
    child.expect_exact("done")
    child.expect(pexpect.EOF)
    shown = screen(child)
    assert shown.count("mfa-process: ") == 4, shown  # one line for each run the client made
    assert "profile 'missing'" in shown or "profile missing" in shown, shown
    assert "run 4: exit" in shown
