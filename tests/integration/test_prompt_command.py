"""The token-command driver running real shell commands."""

from __future__ import annotations

import contextlib
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mfa_process.errors import PromptCancelled, PromptError
from mfa_process.prompt import ask_code, get_driver
from mfa_process.prompt.command import code_from_output

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX shell commands")


def run(command: str, *, timeout: float = 10.0) -> str:
    return ask_code(get_driver("command", token_command=command, token_command_timeout=timeout), "unused: ")


@pytest.mark.parametrize(
    ("command", "code"),
    [
        ("echo 123456", "123456"),
        ("printf 'acct  654321\\n'", "654321"),  # `ykman oath accounts code NAME`
        ("printf 'Issuer:alice@example.com 000123'", "000123"),  # no final newline
        ("printf '123 456\\n'", "123456"),  # the whole line is a code
        ("printf 'unlocking...\\n\\nAWS  111222\\n\\n  \\n'", "111222"),  # blank lines after it
        ("echo 'progress' >&2; echo 222333", "222333"),  # stderr is ignored on success
        ("echo 333444 | tr 3 5", "555444"),  # a shell string: pipes work
        ("read x; echo ${x:-444555}", "444555"),  # stdin is /dev/null, never the SDK's pipe
    ],
)
def test_code_from_command(command: str, code: str) -> None:
    assert run(command) == code


@pytest.mark.parametrize(
    "command",
    ["echo hello", "printf '123456\\nnot a code\\n'", "echo 12345", "true", "printf '\\357\\274\\221'"],
)
def test_no_code_is_an_error_not_a_retry(command: str, tmp_path: Path) -> None:
    counter = tmp_path / "runs"
    with pytest.raises(PromptError) as caught:
        run(f"echo run >> {counter}; {command}")
    assert str(caught.value) == "token command printed no 6-digit code on its last line"
    assert counter.read_text() == "run\n"  # run once: asking a command again gives the same answer


def test_failure_reports_exit_code_and_last_stderr_line() -> None:
    with pytest.raises(PromptError) as caught:
        run("sh -c 'echo boom >&2; exit 3'")
    assert str(caught.value) == "token command exited with code 3: boom"
    assert type(caught.value) is PromptError


def test_failure_never_quotes_stdout_or_the_command() -> None:
    command = "echo SECRET-ON-STDOUT; echo first >&2; echo 'last  line' >&2; exit 2 # SEED-IN-COMMAND"
    with pytest.raises(PromptError) as caught:
        run(command)
    assert str(caught.value) == "token command exited with code 2: last  line"


def test_failure_stderr_line_is_trimmed_and_made_printable() -> None:
    with pytest.raises(PromptError) as caught:
        run("printf 'x%.0s' $(seq 500) >&2; exit 1")
    assert str(caught.value) == "token command exited with code 1: " + "x" * 197 + "..."
    with pytest.raises(PromptError) as caught:
        run("printf 'bad \\033[31mred\\007  \\n\\n' >&2; exit 1")
    assert str(caught.value) == "token command exited with code 1: bad ?[31mred?"


def test_failure_without_stderr_and_command_not_found() -> None:
    with pytest.raises(PromptError, match=r"^token command exited with code 4$"):
        run("exit 4")
    with pytest.raises(PromptError, match=r"^token command exited with code 127: .*no-such-tool-mfa.*not found"):
        run("no-such-tool-mfa --otp")
    with pytest.raises(PromptError, match=r"^token command was killed by signal 9$"):
        run("kill -9 $$")


#: A token command that would run for an hour: only the timeout can end it.
HANG = "sleep 3599"


def sleepers(marker: str) -> set[int]:
    """Live (not zombie) processes whose command line contains ``marker``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if marker in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode():
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    found.add(int(entry.name))
    return found


@pytest.fixture
def no_leftovers() -> Iterator[None]:
    before = sleepers(HANG)
    yield
    guard = time.monotonic() + 60  # a hang guard: a killed process may take a moment to be reaped
    while not sleepers(HANG) <= before:
        assert time.monotonic() < guard, "the token command left processes behind"
        time.sleep(0.1)


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc to find leftovers")
@pytest.mark.usefixtures("no_leftovers")
@pytest.mark.parametrize(
    "command",
    [
        HANG,
        f"{HANG}; echo 123456",  # the shell stays as the parent of sleep
        f"{HANG} & {HANG} & wait",  # grandchildren in the background
    ],
)
def test_hanging_command_times_out_and_is_killed(command: str) -> None:
    started = time.monotonic()
    with pytest.raises(PromptError) as caught:
        run(command, timeout=1)
    assert str(caught.value) == "token command timed out after 1 s"
    assert time.monotonic() - started < 300  # a hang guard: the command alone would run for an hour


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc to find leftovers")
@pytest.mark.usefixtures("no_leftovers")
def test_ctrl_c_while_command_runs_cancels_and_kills_it() -> None:
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        with pytest.raises(PromptCancelled):
            run(f"{HANG} & wait", timeout=600)  # only the Ctrl-C can end it
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize(
    ("stdout", "code"),
    [
        ("123456\n", "123456"),
        ("123 456", "123456"),
        ("Issuer:alice  654321\r\n", "654321"),
        ("line\n\n  \n 000001 \n\n", "000001"),
        ("", None),
        ("\n\n", None),
        ("123456\ndone\n", None),  # only the last non-empty line counts
        ("alice 123 456", None),  # a spaced code after a name is not split apart
        ("\uff11\uff12\uff13\uff14\uff15\uff16", None),
        ("name " + "x" * 100 + " 123456", "123456"),  # a long line: its last word still counts
    ],
)
def test_code_from_output(stdout: str, code: str | None) -> None:
    assert code_from_output(stdout) == code
