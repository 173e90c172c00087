"""The terminal driver through a real pseudo-terminal, with stdio redirected the way SDKs do it.

Each test runs a small child program on a pty (its controlling terminal) with stdin from /dev/null and
stdout/stderr to files, as the JS SDK does for a credential_process helper, so the only way to the user
is ``/dev/tty``. The child asks with ``ask_code(get_driver("terminal"), ...)`` and writes what happened,
and whether the terminal settings were restored, to a JSON file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pexpect  # type: ignore[import-untyped]
import pytest

from mfa_process.prompt.code import RETRY_MESSAGE

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX pseudo-terminals")

REPO = Path(__file__).resolve().parents[2]
MESSAGE = "MFA code for arn:aws:iam::123456789012:mfa/alice: "
RETRY = RETRY_MESSAGE.rstrip("\n")

CHILD = """
import json, os, sys, termios, tty

from mfa_process.errors import MfaProcessError
from mfa_process.prompt import get_driver, notify
from mfa_process.prompt.code import ask_code

result_path, mode = sys.argv[1], sys.argv[2]
try:
    fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
except OSError:
    fd = None
if mode == "raw":  # as a full-screen parent might leave it: no echo, no line editing, no signals
    tty.setraw(fd)
before = termios.tcgetattr(fd) if fd is not None else None
result = {}
try:
    if mode == "notify":
        result["notified"] = notify("mfa-process: waiting for another process\\n(pid 42)")
    result["code"] = ask_code(get_driver("terminal"), sys.argv[3])
except MfaProcessError as exc:
    result.update(error=type(exc).__name__, message=str(exc))
if fd is not None:
    result["restored"] = termios.tcgetattr(fd) == before
with open(result_path, "w") as out:
    json.dump(result, out)
"""


@dataclass
class Child:
    """The child on its pty, and the files its stdout, stderr and result went to."""

    pty: pexpect.spawn
    tmp: Path

    def result(self) -> dict[str, Any]:
        self.pty.expect(pexpect.EOF)
        self.pty.close()
        assert self.pty.exitstatus == 0, self.stderr()
        assert self.stdout() == ""  # nothing went to the SDK's pipes
        assert self.stderr() == ""  # ... not even a traceback
        result: dict[str, Any] = json.loads((self.tmp / "result.json").read_text())
        return result

    def stdout(self) -> str:
        return (self.tmp / "stdout").read_text()

    def stderr(self) -> str:
        return (self.tmp / "stderr").read_text()


def child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1"}


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Any]:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    children: list[Child] = []

    def spawn(mode: str = "plain", message: str = MESSAGE) -> Child:
        # fd 3 keeps the pty open, as the parent (the AWS CLI, the user's shell) does in real life;
        # without any open fd the pty would read as closed before the child opens /dev/tty.
        redirect = 'exec "$0" "$@" 3<&0 </dev/null >"$OUT" 2>"$ERR"'
        pty = pexpect.spawn(
            "/bin/sh",
            ["-c", redirect, sys.executable, str(script), str(tmp_path / "result.json"), mode, message],
            env={**child_env(), "OUT": str(tmp_path / "stdout"), "ERR": str(tmp_path / "stderr")},
            encoding="utf-8",
            timeout=15,
        )
        children.append(Child(pty, tmp_path))
        return children[-1]

    yield spawn
    for child in children:  # a failed test must not leave its child waiting on the pty
        child.pty.close(force=True)


def test_prompt_on_tty_with_retry(spawn: Any) -> None:
    child = spawn()
    child.pty.expect_exact(MESSAGE)
    child.pty.sendline("12345")
    child.pty.expect_exact("12345")  # echoed: the user sees what they typed
    child.pty.expect_exact(RETRY + "\r\n" + MESSAGE)
    child.pty.sendline(" 654 321 ")
    assert child.result() == {"code": "654321", "restored": True}


def test_three_bad_answers(spawn: Any) -> None:
    child = spawn()
    prompts = [MESSAGE, f"{RETRY}\r\n{MESSAGE}", f"{RETRY}\r\n{MESSAGE}"]
    for prompt, answer in zip(prompts, ("12345", "abcdef", "1234567")):
        child.pty.expect_exact(prompt)
        child.pty.sendline(answer)
    assert child.result() == {
        "error": "InvalidCodeError",
        "message": "no valid 6-digit MFA code after 3 tries",
        "restored": True,
    }
    assert RETRY not in child.pty.before  # no fourth prompt


def test_overlong_line_is_one_bad_answer(spawn: Any) -> None:
    child = spawn()
    child.pty.expect_exact(MESSAGE)
    child.pty.sendline("9" * 1000)  # longer than the 256 bytes kept; the rest must not become more answers
    child.pty.expect_exact(RETRY)
    child.pty.expect_exact(MESSAGE)
    child.pty.sendline("123456")
    assert child.result() == {"code": "123456", "restored": True}


def test_ctrl_d_cancels(spawn: Any) -> None:
    child = spawn()
    child.pty.expect_exact(MESSAGE)
    child.pty.sendeof()
    assert child.result() == {
        "error": "PromptCancelled",
        "message": "MFA code prompt cancelled (end of input)",
        "restored": True,
    }


def test_ctrl_c_cancels_without_traceback(spawn: Any) -> None:
    child = spawn()
    child.pty.expect_exact(MESSAGE)
    child.pty.send("12")
    child.pty.sendintr()
    # result() also checks that stderr is empty: no KeyboardInterrupt traceback
    assert child.result() == {
        "error": "PromptCancelled",
        "message": "MFA code prompt cancelled (Ctrl-C)",
        "restored": True,
    }


def test_raw_mode_terminal_gets_echo_and_line_editing_then_is_restored(spawn: Any) -> None:
    child = spawn("raw")
    child.pty.expect_exact(MESSAGE)
    child.pty.send("12x\x7f3456\r")  # a typo erased with Backspace; Enter sends CR in raw mode
    child.pty.expect_exact("12x")  # echo is on even though the parent turned it off
    assert child.result() == {"code": "123456", "restored": True}


def test_raw_mode_terminal_ctrl_c_still_cancels(spawn: Any) -> None:
    child = spawn("raw")
    child.pty.expect_exact(MESSAGE)
    child.pty.sendintr()
    assert child.result() == {
        "error": "PromptCancelled",
        "message": "MFA code prompt cancelled (Ctrl-C)",
        "restored": True,
    }


def test_notify_writes_one_line_to_the_tty(spawn: Any) -> None:
    child = spawn("notify")
    child.pty.expect_exact("mfa-process: waiting for another process (pid 42)\r\n" + MESSAGE)
    child.pty.sendline("123456")
    assert child.result() == {"notified": True, "code": "123456", "restored": True}


def test_unicode_message(spawn: Any) -> None:
    message = "MFA-Code für arn:aws:iam::123456789012:mfa/jürgen: "
    child = spawn(message=message)
    child.pty.expect_exact(message)
    child.pty.sendline("000000")
    assert child.result() == {"code": "000000", "restored": True}


@pytest.mark.parametrize("mode", ["plain", "notify"])
def test_no_controlling_terminal(tmp_path: Path, mode: str) -> None:
    """Started in a new session (as a GUI app or service would start the SDK), there is no /dev/tty."""
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    result_path = tmp_path / "result.json"
    done = subprocess.run(
        [sys.executable, str(script), str(result_path), mode, MESSAGE],
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=15,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    result = json.loads(result_path.read_text())
    expected: dict[str, Any] = {"notified": False} if mode == "notify" else {}
    expected.update(error="NoTerminalError", message="cannot open /dev/tty: No such device or address")
    assert result == expected
