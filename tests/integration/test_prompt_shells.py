"""The prompt inside real interactive shells with job control (bash, zsh) on a pseudo-terminal.

The shells run as users run them: interactive, job control on, with line editing and without. Two shapes of background
jobs: ``... & wait`` (the shell waits, so the one prompt may take the terminal and must hand it back) and
``... &`` then Enter (the shell edits its next command line: the helper must not take the terminal, and
fails at once with one line saying what to do, never leaving a stopped job).
"""

from __future__ import annotations

import re
import shutil

import pexpect
import pytest

from tests.support.clients import HELPER_PROFILE, PROMPT, HelperRuns, answer_prompt, screen, spawn

pytestmark = pytest.mark.keyring

#: The shells tested, with arguments that skip every start-up file; scripts/deps.sh installs zsh, and dash is
#: Debian's /bin/sh. bash and zsh edit their command line (the terminal leaves canonical mode); dash and
#: ``bash --noediting`` (as Emacs' shell-mode runs it) read it in canonical mode with echo, as a waiting shell.
SHELLS = {
    "bash": ["bash", "--norc", "--noprofile", "-i"],
    "bash-noediting": ["bash", "--norc", "--noprofile", "--noediting", "-i"],
    "dash": ["dash", "-i"],
    "zsh": ["zsh", "-f", "-i"],
}
READY = "shell-ready> "
CALL = f"aws sts get-caller-identity --profile {HELPER_PROFILE} --query Account --output text"


def start_shell(home, name: str) -> pexpect.spawn:
    if shutil.which(SHELLS[name][0]) is None:
        pytest.fail(f"{name} is not installed: run scripts/deps.sh")
    shell = spawn(home, SHELLS[name])
    shell.sendline(f"PS1='{READY}'; PROMPT='{READY}'; set -m")
    shell.expect_exact(READY)
    shell.expect_exact(READY)  # the one printed after the settings took effect
    return shell


def run_line(shell: pexpect.spawn, line: str) -> str:
    """Type *line*, wait for the shell's next prompt, and return what was shown in between."""
    shell.sendline(line)
    shell.expect_exact(READY)
    return str(shell.before)


def assert_shell_alive_without_stopped_jobs(shell: pexpect.spawn) -> None:
    assert "Stopped" not in run_line(shell, "jobs")
    shell.sendline("echo alive-$((40 + 2))")
    shell.expect_exact("alive-42")
    shell.expect_exact(READY)


def refused_in_the_background(home, name: str) -> pexpect.spawn:
    """A shell of *name* in which ``CALL &`` was just refused (nothing cached, the shell reading its next line)."""
    HelperRuns(home).register()
    shell = start_shell(home, name)
    shell.sendline(f"{CALL} &")
    shell.expect("from a background job")
    return shell


@pytest.mark.parametrize("name", sorted(SHELLS))
def test_background_jobs_then_wait_share_one_answerable_prompt(sts_proxy, aws_home, name):
    HelperRuns(aws_home).register()
    shell = start_shell(aws_home, name)
    shell.sendline(f"for i in 1 2 3; do {CALL} & done; wait; echo all-jobs-done")
    answer_prompt(shell, sts_proxy)
    shell.expect_exact("all-jobs-done\r\n")
    shell.expect_exact(READY)
    shown = screen(shell)
    assert shown.count(PROMPT) == 1, shown
    assert len(re.findall(rf"^{sts_proxy.account_id}\r$", shown, flags=re.MULTILINE)) == 3, shown
    assert "waiting for another mfa-process" not in shown  # the prompt is on this very terminal
    assert sts_proxy.count("GetSessionToken") == 1
    assert_shell_alive_without_stopped_jobs(shell)


@pytest.mark.parametrize("name", sorted(SHELLS))
def test_background_job_while_the_shell_reads_fails_at_once(sts_proxy, aws_home, name):
    shell = refused_in_the_background(aws_home, name)
    shell.expect_exact("mfa-process login --profile source")
    assert PROMPT not in screen(shell)
    assert sts_proxy.count("GetSessionToken") == 0
    assert_shell_alive_without_stopped_jobs(shell)
    # the advice works: after login the same background job is served from the cache
    shell.sendline("mfa-process login --profile source")
    answer_prompt(shell, sts_proxy)
    shell.expect_exact("cached until")
    shell.expect_exact(READY)
    shell.sendline(f"{CALL} &")
    shell.expect_exact(f"{sts_proxy.account_id}\r\n")
    assert_shell_alive_without_stopped_jobs(shell)


@pytest.mark.parametrize("name", sorted(SHELLS))
def test_the_same_command_in_the_foreground_right_after_is_asked(sts_proxy, aws_home, name):
    """The refusal's other advice, run at once: the foreground command gets the prompt, not the old refusal."""
    shell = refused_in_the_background(aws_home, name)
    assert_shell_alive_without_stopped_jobs(shell)
    shell.sendline(f"{CALL}; echo foreground-done")
    answer_prompt(shell, sts_proxy)
    shell.expect_exact(f"{sts_proxy.account_id}\r\n")
    shell.expect_exact("foreground-done")
    assert sts_proxy.count("GetSessionToken") == 1
