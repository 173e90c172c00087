"""The dialog driver with fake dialog programs that record their arguments, and the auto fallback.

zenity and kdialog are shell scripts put first on PATH and found the way production finds them; the
macOS and Windows programs are found through the driver's seam (platform, environment, ``which``), then
run the same way. Their command lines are checked exactly, and the message is parsed back out of the
AppleScript and PowerShell source to prove quoting cannot break out of the string.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mfa_process.errors import NoTerminalError, PromptCancelled, PromptError
from mfa_process.prompt import ask_code, dialog, get_driver
from mfa_process.prompt.code import RETRY_MESSAGE
from tests.support.powershell import parse_verbatim

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="fake programs are sh scripts")

REPO = Path(__file__).resolve().parents[2]
MESSAGE = "MFA code for arn:aws:iam::123456789012:mfa/alice: "
TRICKY = 'It\'s "quoted" \\ back\u2018slash\u2019 `$(id)` ${HOME} %PATH% & | ; <b>\nline two: '


class Fake:
    """A fake dialog program: records its argv, then runs ``body`` (a sh snippet)."""

    def __init__(self, directory: Path, name: str, body: str) -> None:
        self.path = directory / name
        self.args_file = directory / f"{name}.args"
        record = f'{{ printf "%s\\0" "$@"; printf "\\036\\0"; }} >> "{self.args_file}"'
        self.path.write_text(f"#!/bin/sh\n{record}\n{body}\n")
        self.path.chmod(0o755)

    @property
    def calls(self) -> list[list[str]]:
        """The arguments (without argv[0]) of each run."""
        if not self.args_file.exists():
            return []
        runs: list[list[str]] = [[]]
        for arg in self.args_file.read_text().split("\0")[:-1]:
            if arg == "\036":
                runs.append([])
            else:
                runs[-1].append(arg)
        return runs[:-1]


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory first on PATH, with no real dialog program after it; no display yet."""
    directory = tmp_path / "bin"
    directory.mkdir()
    monkeypatch.setenv("PATH", f"{directory}:/usr/bin:/bin")
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "XDG_CURRENT_DESKTOP"):
        monkeypatch.delenv(name, raising=False)
    assert dialog.find_dialog(platform="linux", environ={"DISPLAY": ":0"}) is None  # no real one is found
    return directory


@pytest.fixture
def display(bin_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An X display, set after ``bin_dir`` cleared the environment."""
    monkeypatch.setenv("DISPLAY", ":99")


# --- zenity and kdialog on PATH ---------------------------------------------------------------------


@pytest.mark.usefixtures("display")
def test_zenity_asks_with_the_message(bin_dir: Path) -> None:
    zenity = Fake(bin_dir, "zenity", "echo 123456")
    assert get_driver("dialog")(MESSAGE) == "123456"
    assert zenity.calls == [["--entry", "--title=mfa-process", f"--text={MESSAGE}"]]


@pytest.mark.usefixtures("display")
def test_zenity_text_escapes_mnemonics_and_backslashes(bin_dir: Path) -> None:
    zenity = Fake(bin_dir, "zenity", "echo 123456")
    get_driver("dialog")("MFA code for arn:aws:iam::123456789012:mfa/alice_smith (C:\\new): ")
    assert zenity.calls[0][2] == "--text=MFA code for arn:aws:iam::123456789012:mfa/alice__smith (C:\\\\new): "


@pytest.mark.usefixtures("display")
def test_dialog_text_shows_control_characters_instead_of_passing_them(bin_dir: Path) -> None:
    zenity = Fake(bin_dir, "zenity", "echo 123456")
    get_driver("dialog")("MFA code for arn:aws:iam::123456789012:mfa/a\x1b]0;pwned\x07 (profile \u202ep): ")
    shown = zenity.calls[0][2]
    assert shown == "--text=MFA code for arn:aws:iam::123456789012:mfa/a\\\\x1b]0;pwned\\\\x07 (profile \\\\u202ep): "
    assert all(char.isprintable() for char in shown)


@pytest.mark.usefixtures("display")
def test_zenity_retry_shows_the_explanation(bin_dir: Path, tmp_path: Path) -> None:
    answers = tmp_path / "answers"
    answers.write_text("12345\n654 321\n")
    zenity = Fake(bin_dir, "zenity", f'head -n 1 "{answers}"; sed -i 1d "{answers}"')
    assert ask_code(get_driver("dialog"), MESSAGE) == "654321"
    assert [call[2] for call in zenity.calls] == [f"--text={MESSAGE}", f"--text={RETRY_MESSAGE}{MESSAGE}"]


@pytest.mark.usefixtures("display")
def test_zenity_cancel(bin_dir: Path) -> None:
    Fake(bin_dir, "zenity", "exit 1")
    with pytest.raises(PromptCancelled, match=r"^MFA code dialog cancelled$") as caught:
        ask_code(get_driver("dialog"), MESSAGE)
    assert caught.value.exit_code == 130


@pytest.mark.usefixtures("display")
def test_zenity_failure_reports_its_stderr(bin_dir: Path) -> None:
    Fake(bin_dir, "zenity", "echo 'Gtk-WARNING **: cannot open display: :99' >&2; exit 255")
    with pytest.raises(PromptError) as caught:
        get_driver("dialog")(MESSAGE)
    assert str(caught.value) == "zenity dialog exited with code 255: Gtk-WARNING **: cannot open display: :99"


@pytest.mark.usefixtures("display")
def test_dialog_left_open_times_out_and_is_closed(bin_dir: Path) -> None:
    zenity = Fake(bin_dir, "zenity", "exec sleep 3599.25")  # left open for an hour: only the timeout ends it
    started = time.monotonic()
    with pytest.raises(PromptError, match=r"^zenity dialog timed out after 1 s$"):
        dialog.prompt(MESSAGE, timeout=1)
    assert time.monotonic() - started < 300  # a hang guard, far below the hour
    assert zenity.calls
    leftovers = subprocess.run(["pgrep", "-f", "sleep 3599.25"], capture_output=True, text=True, check=False)
    assert leftovers.stdout == ""


@pytest.mark.usefixtures("display")
def test_kdialog_when_no_zenity(bin_dir: Path) -> None:
    kdialog = Fake(bin_dir, "kdialog", "echo ' 123456'")
    assert get_driver("dialog")(MESSAGE) == " 123456"  # raw: ask_code normalises
    assert kdialog.calls == [["--title", "mfa-process", "--inputbox", MESSAGE, ""]]


@pytest.mark.usefixtures("display")
def test_kdialog_cancel(bin_dir: Path) -> None:
    Fake(bin_dir, "kdialog", "exit 1")
    with pytest.raises(PromptCancelled):
        get_driver("dialog")(MESSAGE)


@pytest.mark.usefixtures("display")
@pytest.mark.parametrize(("desktop", "used"), [("GNOME", "zenity"), ("KDE", "kdialog"), ("ubuntu:KDE", "kdialog")])
def test_kde_prefers_kdialog(bin_dir: Path, monkeypatch: pytest.MonkeyPatch, desktop: str, used: str) -> None:
    monkeypatch.setenv("XDG_CURRENT_DESKTOP", desktop)
    fakes = {name: Fake(bin_dir, name, "echo 123456") for name in ("zenity", "kdialog")}
    get_driver("dialog")(MESSAGE)
    assert [name for name, fake in fakes.items() if fake.calls] == [used]


def test_wayland_display_is_a_display(bin_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    Fake(bin_dir, "zenity", "echo 123456")
    assert get_driver("dialog")(MESSAGE) == "123456"


def test_no_display_no_dialog(bin_dir: Path) -> None:
    zenity = Fake(bin_dir, "zenity", "echo 123456")
    with pytest.raises(NoTerminalError) as caught:
        get_driver("dialog")(MESSAGE)
    assert str(caught.value) == "no zenity or kdialog found with DISPLAY or WAYLAND_DISPLAY set"
    assert zenity.calls == []


# --- the auto driver without a terminal --------------------------------------------------------------

AUTO_CHILD = """
import json, sys
from mfa_process.errors import MfaProcessError
from mfa_process.prompt import ask_code, get_driver
try:
    print(json.dumps({"code": ask_code(get_driver("auto"), sys.argv[1])}))
except MfaProcessError as exc:
    print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
"""


def run_auto_without_terminal(env: dict[str, str]) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, "-c", AUTO_CHILD, MESSAGE],
        start_new_session=True,  # no controlling terminal
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(REPO)},
        timeout=20,
        check=True,
    )
    assert done.stderr == ""
    result: dict[str, str] = json.loads(done.stdout)
    return result


@pytest.mark.usefixtures("display")
def test_auto_falls_back_to_a_dialog_without_terminal(bin_dir: Path) -> None:
    zenity = Fake(bin_dir, "zenity", "echo 246810")
    assert run_auto_without_terminal(dict(os.environ)) == {"code": "246810"}
    assert zenity.calls == [["--entry", "--title=mfa-process", f"--text={MESSAGE}"]]


def test_auto_without_terminal_or_dialog(bin_dir: Path) -> None:
    zenity = Fake(bin_dir, "zenity", "echo 123456")  # present, but there is no display
    assert run_auto_without_terminal(dict(os.environ)) == {
        "error": "NoTerminalError",
        "message": "cannot open /dev/tty: No such device or address; "
        "no zenity or kdialog found with DISPLAY or WAYLAND_DISPLAY set",
    }
    assert zenity.calls == []


# --- which program, by platform (the seam) -----------------------------------------------------------


def which_of(*present: str) -> Callable[[str], str | None]:
    return lambda name: f"/opt/{name}" if name in present else None


@pytest.mark.parametrize(
    ("platform", "environ", "present", "expected"),
    [
        ("linux", {"DISPLAY": ":0"}, ("zenity", "kdialog"), "zenity"),
        ("linux", {"DISPLAY": ":0"}, ("kdialog",), "kdialog"),
        ("linux", {"DISPLAY": ":0", "XDG_CURRENT_DESKTOP": "KDE"}, ("zenity", "kdialog"), "kdialog"),
        ("linux", {"DISPLAY": ":0", "XDG_CURRENT_DESKTOP": "KDE"}, ("zenity",), "zenity"),
        ("linux", {"WAYLAND_DISPLAY": "wayland-0"}, ("zenity",), "zenity"),
        ("linux", {}, ("zenity", "kdialog"), None),
        ("linux", {"DISPLAY": ""}, ("zenity",), None),
        ("linux", {"DISPLAY": ":0"}, ("osascript", "powershell"), None),
        ("freebsd14", {"DISPLAY": ":0"}, ("zenity",), "zenity"),
        ("darwin", {}, ("osascript", "zenity"), "osascript"),
        ("darwin", {"DISPLAY": ":0"}, ("zenity",), None),  # XQuartz zenity is not used
        ("win32", {}, ("powershell",), "powershell"),
        ("win32", {}, ("zenity", "osascript"), None),
    ],
)
def test_find_dialog(platform: str, environ: dict[str, str], present: tuple[str, ...], expected: str | None) -> None:
    found = dialog.find_dialog(platform=platform, environ=environ, which=which_of(*present))
    assert (found.name if found else None) == expected
    if found:
        assert found.path == f"/opt/{expected}"


@pytest.mark.parametrize(
    ("platform", "reason"),
    [
        ("darwin", "no osascript found"),
        ("win32", "no powershell found"),
        ("linux", "no zenity or kdialog found with DISPLAY or WAYLAND_DISPLAY set"),
    ],
)
def test_no_dialog_reason(platform: str, reason: str) -> None:
    with pytest.raises(NoTerminalError, match=f"^{reason}$"):
        dialog.prompt(MESSAGE, platform=platform, environ={}, which=which_of())


# --- macOS: osascript -------------------------------------------------------------------------------


def parse_applescript_string(source: str) -> tuple[str, str]:
    """The value of the string literal ``source`` starts with, and the source after it."""
    assert source[0] == '"'
    escapes = {"\\": "\\", '"': '"', "n": "\n", "r": "\r", "t": "\t"}
    value: list[str] = []
    i = 1
    while source[i] != '"':
        if source[i] == "\\":
            value.append(escapes[source[i + 1]])
            i += 2
        else:
            value.append(source[i])
            i += 1
    return "".join(value), source[i + 1 :]


def osascript_dialog(which: Callable[[str], str | None]) -> dialog.Dialog:
    found = dialog.find_dialog(platform="darwin", environ={}, which=which)
    assert found is not None
    return found


def test_osascript_argv() -> None:
    argv = osascript_dialog(which_of("osascript")).argv(MESSAGE)
    assert argv == [
        "/opt/osascript",
        "-e",
        f'text returned of (display dialog "{MESSAGE}" default answer "" with title "mfa-process")',
    ]


@pytest.mark.parametrize("message", [TRICKY, '"', "\\", '\\"', 'end" & (do shell script "id") & "', "tab\there\x07"])
def test_osascript_quoting_keeps_the_message_inside_the_string(message: str) -> None:
    argv = osascript_dialog(which_of("osascript")).argv(message)
    assert argv[:2] == ["/opt/osascript", "-e"]
    prefix = "text returned of (display dialog "
    assert argv[2].startswith(prefix)
    value, rest = parse_applescript_string(argv[2][len(prefix) :])
    assert value == message.replace("\x07", "")  # other control characters are dropped
    assert rest == ' default answer "" with title "mfa-process")'
    assert "\n" not in argv[2]


def test_osascript_runs_and_cancels(bin_dir: Path) -> None:
    fake = Fake(bin_dir, "osascript", "echo 135790")
    assert dialog.prompt(MESSAGE, platform="darwin", environ={}, which=lambda name: str(fake.path)) == "135790"
    assert fake.calls == [osascript_dialog(which_of("osascript")).argv(MESSAGE)[1:]]

    Fake(bin_dir, "osascript", "echo '0:120: execution error: User canceled. (-128)' >&2; exit 1")
    with pytest.raises(PromptCancelled):
        dialog.prompt(MESSAGE, platform="darwin", environ={}, which=lambda name: str(fake.path))

    Fake(bin_dir, "osascript", "echo '0:120: execution error: No user interaction allowed. (-1713)' >&2; exit 1")
    with pytest.raises(PromptError) as caught:
        dialog.prompt(MESSAGE, platform="darwin", environ={}, which=lambda name: str(fake.path))
    assert type(caught.value) is PromptError
    assert str(caught.value) == (
        "osascript dialog exited with code 1: 0:120: execution error: No user interaction allowed. (-1713)"
    )


# --- Windows: PowerShell ----------------------------------------------------------------------------


def powershell_script(argv: list[str]) -> str:
    assert argv[:4] == ["/opt/powershell", "-NoProfile", "-NonInteractive", "-EncodedCommand"]
    assert len(argv) == 5
    return base64.b64decode(argv[4], validate=True).decode("utf-16-le")


def powershell_dialog() -> dialog.Dialog:
    found = dialog.find_dialog(platform="win32", environ={}, which=which_of("powershell"))
    assert found is not None
    return found


def test_powershell_argv() -> None:
    script = powershell_script(powershell_dialog().argv(MESSAGE))
    assert script == (
        "Add-Type -AssemblyName Microsoft.VisualBasic; "
        f"$answer = [Microsoft.VisualBasic.Interaction]::InputBox('{MESSAGE}', 'mfa-process'); "
        "if ($answer -eq '') { exit 1 }; [Console]::Out.Write($answer)"
    )


@pytest.mark.parametrize("message", [TRICKY, "'", "''", "\u2018", "it\u2019s", "'); Remove-Item C:\\ ; ('"])
def test_powershell_quoting_keeps_the_message_inside_the_string(message: str) -> None:
    script = powershell_script(powershell_dialog().argv(message))
    prefix = "Add-Type -AssemblyName Microsoft.VisualBasic; $answer = [Microsoft.VisualBasic.Interaction]::InputBox("
    assert script.startswith(prefix)
    value, rest = parse_verbatim(script[len(prefix) :])
    assert value == message
    assert rest == ", 'mfa-process'); if ($answer -eq '') { exit 1 }; [Console]::Out.Write($answer)"


def test_powershell_runs_and_cancels(bin_dir: Path) -> None:
    fake = Fake(bin_dir, "powershell", "printf 975310")
    assert dialog.prompt(MESSAGE, platform="win32", environ={}, which=lambda name: str(fake.path)) == "975310"
    assert fake.calls[0][:3] == ["-NoProfile", "-NonInteractive", "-EncodedCommand"]
    Fake(bin_dir, "powershell", "exit 1")  # the script exits 1 when InputBox returns '' (Cancel)
    with pytest.raises(PromptCancelled):
        dialog.prompt(MESSAGE, platform="win32", environ={}, which=lambda name: str(fake.path))
