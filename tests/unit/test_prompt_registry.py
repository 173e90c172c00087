"""Choosing a prompt driver: names, usage errors, and what choosing one costs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mfa_process import prompt
from mfa_process.errors import UsageError
from mfa_process.prompt import DRIVER_NAMES, auto, dialog, get_driver, terminal

REPO = Path(__file__).resolve().parents[2]


def test_driver_names() -> None:
    assert DRIVER_NAMES == ("auto", "terminal", "dialog", "command")


@pytest.mark.parametrize(
    ("name", "driver"),
    [("auto", auto.prompt), ("terminal", terminal.prompt), ("dialog", dialog.prompt)],
)
def test_get_driver_returns_the_named_driver(name: str, driver: prompt.Driver) -> None:
    assert get_driver(name) is driver


def test_default_is_auto() -> None:
    assert get_driver() is auto.prompt


def test_command_driver_runs_the_command() -> None:
    driver = get_driver("command", token_command="echo 123456")
    assert driver("ignored message") == "123456"


def test_auto_with_token_command_is_the_command() -> None:
    assert get_driver("auto", token_command="echo 654321")("ignored") == "654321"


@pytest.mark.parametrize("name", ["terminal", "dialog"])
def test_explicit_driver_overrides_a_configured_command(name: str) -> None:
    assert get_driver(name, token_command="echo 123456") in (terminal.prompt, dialog.prompt)


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(UsageError) as caught:
        get_driver("zenity")
    assert str(caught.value) == "unknown prompt 'zenity'; choose one of: auto, terminal, dialog, command"
    assert caught.value.exit_code == 2


@pytest.mark.parametrize("token_command", [None, "", "   "])
def test_command_without_token_command(token_command: str | None) -> None:
    with pytest.raises(UsageError, match=r"^--prompt command needs --token-command CMD$"):
        get_driver("command", token_command=token_command)


@pytest.mark.parametrize("timeout", [0.0, -1.0, float("nan")])
def test_command_timeout_must_be_positive(timeout: float) -> None:
    with pytest.raises(UsageError, match="timeout must be positive"):
        get_driver("command", token_command="echo 123456", token_command_timeout=timeout)


def test_choosing_drivers_imports_nothing_expensive() -> None:
    """A cache hit may build a driver; only asking may import subprocess, shutil, termios, base64."""
    script = (
        "import json, sys\n"
        "from mfa_process.prompt import get_driver\n"
        "for name in ('auto', 'terminal', 'dialog'): get_driver(name)\n"
        "get_driver('command', token_command='echo 123456')\n"
        "print(json.dumps([m for m in ('subprocess', 'shutil', 'termios', 'base64') if m in sys.modules]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", f"import sys; sys.path.insert(0, {str(REPO)!r})\n{script}"],
        capture_output=True,
        text=True,
        check=True,
    )
    # -S: no site module, so only our own imports can have loaded these
    assert json.loads(result.stdout) == []
