"""The ``auto`` driver: the best way to ask that is available right now.

Decision order, taken again at every ask (a retry after a typo asks the same way, since nothing changed):

1. the controlling terminal, if it can be opened (:mod:`mfa_process.prompt.terminal`): the user is
   at a shell, or in an IDE's terminal;
2. else a GUI dialog, if :func:`~mfa_process.prompt.dialog.find_dialog` finds one: the AWS CLI or an
   SDK was started by a GUI application or a service with no terminal but a desktop session;
3. else :class:`NoTerminalError` with both reasons (``cannot open /dev/tty: ...; no zenity or kdialog
   found ...``), which the caller wraps in advice naming the profile.

The token command is never chosen here: it only runs when configured.
"""

from __future__ import annotations

from mfa_process.errors import NoTerminalError
from mfa_process.prompt import terminal


def prompt(message: str) -> str:
    """Ask on the terminal, else in a dialog (see the module docstring)."""
    try:
        return terminal.prompt(message)
    except NoTerminalError as exc:
        no_terminal = exc
    from mfa_process.prompt import dialog

    found = dialog.find_dialog()
    if found is None:
        raise NoTerminalError(f"{no_terminal}; {dialog.missing_reason()}") from None
    return found.ask(message)
