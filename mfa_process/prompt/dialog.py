"""The dialog driver: ask in a small GUI window when there is no terminal.

Which program, by platform (each only if ``shutil.which`` finds it):

* Linux and other X11/Wayland systems: ``zenity``, then ``kdialog`` (``kdialog`` first on KDE), and
  only when ``DISPLAY`` or ``WAYLAND_DISPLAY`` is set;
* macOS: ``osascript`` (``display dialog``);
* Windows: ``powershell`` (``Microsoft.VisualBasic.Interaction.InputBox``).

:func:`find_dialog` takes the platform, environment and ``which`` as parameters, so every branch is
tested on any machine. The message never passes through a shell; where it is embedded in a script it is
escaped for that language (:func:`applescript_string`, :func:`mfa_process.shellvars.powershell_quote`), and
PowerShell gets its script base64-encoded (``-EncodedCommand``) so Windows command-line quoting cannot touch it.

Cancel (exit code 1; for osascript, AppleScript error -128) is :class:`PromptCancelled`; a dialog left
open longer than :data:`DIALOG_TIMEOUT` seconds is closed and reported.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from typing import Final, NamedTuple

from mfa_process.errors import NoTerminalError, PromptCancelled, PromptError
from mfa_process.prompt import _process

#: Window title of every dialog.
TITLE: Final = "mfa-process"

#: Seconds a dialog may stay open before it is closed and the prompt fails.
DIALOG_TIMEOUT: Final = 120.0

#: Finds a program on PATH; ``shutil.which`` in production.
Which = Callable[[str], "str | None"]


class Dialog(NamedTuple):
    """A dialog program found on this machine."""

    name: str
    path: str

    def argv(self, message: str) -> list[str]:
        """The command line that shows ``message`` and prints the answer."""
        return _ARGV[self.name](self.path, message)

    def ask(self, message: str, *, timeout: float = DIALOG_TIMEOUT) -> str:
        """Show the dialog (control characters in ``message`` made visible) and return the answer."""
        from mfa_process.voice import clean

        result = _process.run(self.argv(clean(message, lines=True)), timeout=timeout, what=f"{self.name} dialog")
        if _cancelled(self.name, result):
            raise PromptCancelled("MFA code dialog cancelled")
        if result.returncode != 0:
            detail = _process.last_line(result.stderr)
            status = _process.exit_description(result.returncode)
            raise PromptError(f"{self.name} dialog {status}" + (f": {detail}" if detail else ""))
        return result.stdout.rstrip("\r\n")


def find_dialog(
    *,
    platform: str | None = None,
    environ: Mapping[str, str] | None = None,
    which: Which | None = None,
) -> Dialog | None:
    """The dialog program to use here, or ``None`` if there is none."""
    if which is None:
        import shutil

        which = shutil.which
    for name in _candidates(platform or sys.platform, os.environ if environ is None else environ):
        path = which(name)
        if path:
            return Dialog(name, path)
    return None


def missing_reason(platform: str | None = None) -> str:
    """Why :func:`find_dialog` found nothing, as a phrase."""
    platform = platform or sys.platform
    if platform == "darwin":
        return "no osascript found"
    if platform == "win32":
        return "no powershell found"
    return "no zenity or kdialog found with DISPLAY or WAYLAND_DISPLAY set"


def prompt(
    message: str,
    *,
    timeout: float = DIALOG_TIMEOUT,
    platform: str | None = None,
    environ: Mapping[str, str] | None = None,
    which: Which | None = None,
) -> str:
    """Ask for the code in a dialog; :class:`NoTerminalError` if there is no dialog program."""
    dialog = find_dialog(platform=platform, environ=environ, which=which)
    if dialog is None:
        reason = missing_reason(platform)
        raise NoTerminalError(reason)
    return dialog.ask(message, timeout=timeout)


def applescript_string(text: str) -> str:
    """``text`` as an AppleScript string literal; other control characters are dropped."""
    escapes = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
    body = "".join(escapes.get(char, char) for char in text if char in escapes or char.isprintable())
    return f'"{body}"'


def _candidates(platform: str, environ: Mapping[str, str]) -> tuple[str, ...]:
    if platform == "darwin":
        return ("osascript",)
    if platform == "win32":
        return ("powershell",)
    if not (environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY")):
        return ()
    if "KDE" in environ.get("XDG_CURRENT_DESKTOP", "").upper().split(":"):
        return ("kdialog", "zenity")
    return ("zenity", "kdialog")


def _cancelled(name: str, result: _process.Finished) -> bool:
    if result.returncode != 1:
        return False
    return name != "osascript" or "(-128)" in result.stderr


def _zenity_argv(path: str, message: str) -> list[str]:
    # zenity unescapes backslashes in --text and makes "_x" a keyboard shortcut: undo both.
    text = message.replace("\\", "\\\\").replace("_", "__")
    return [path, "--entry", f"--title={TITLE}", f"--text={text}"]


def _kdialog_argv(path: str, message: str) -> list[str]:
    return [path, "--title", TITLE, "--inputbox", message, ""]


def _osascript_argv(path: str, message: str) -> list[str]:
    dialog = f'display dialog {applescript_string(message)} default answer "" with title "{TITLE}"'
    return [path, "-e", f"text returned of ({dialog})"]


def _powershell_argv(path: str, message: str) -> list[str]:
    import base64

    from mfa_process.shellvars import powershell_quote

    script = (
        "Add-Type -AssemblyName Microsoft.VisualBasic; "
        f"$answer = [Microsoft.VisualBasic.Interaction]::InputBox({powershell_quote(message)}, "
        f"{powershell_quote(TITLE)}); "
        "if ($answer -eq '') { exit 1 }; "  # InputBox returns '' for Cancel
        "[Console]::Out.Write($answer)"
    )
    encoded = base64.b64encode(script.encode("utf-16-le")).decode("ascii")
    return [path, "-NoProfile", "-NonInteractive", "-EncodedCommand", encoded]


_ARGV: Final[Mapping[str, Callable[[str, str], list[str]]]] = {
    "zenity": _zenity_argv,
    "kdialog": _kdialog_argv,
    "osascript": _osascript_argv,
    "powershell": _powershell_argv,
}
