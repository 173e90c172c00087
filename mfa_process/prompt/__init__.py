"""Ways of getting an MFA code: a registry of prompt drivers.

A driver is a function ``(message) -> answer``: it shows ``message`` and returns what the user (or a
command) answered, unvalidated; :func:`mfa_process.prompt.code.ask_code` validates and re-asks. Drivers
raise :class:`~mfa_process.errors.NoTerminalError` when they cannot ask at all, its text the reason only
(``cannot open /dev/tty: No such device or address``) for the caller, who knows the profile, to wrap in
advice; and :class:`~mfa_process.errors.PromptCancelled` when the user cancels.

=========== ==================================================================================
``terminal`` the controlling terminal (``/dev/tty``; ``CONIN$``/``CONOUT$`` on Windows)
``dialog``   a GUI dialog: zenity or kdialog (with a display), osascript (macOS), PowerShell (Windows)
``command``  the output of ``--token-command`` (a shell string)
``auto``     the terminal if one can be opened, else a dialog; decided at each ask, not here
=========== ==================================================================================

Choosing a driver probes nothing and imports only small stdlib-only modules: on a cache hit the prompt
costs nothing. Programs are looked up, and ``subprocess`` imported, only when a code is asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from mfa_process.errors import UsageError
from mfa_process.prompt.code import ask_code, normalize_code

__all__ = ["DRIVER_NAMES", "Driver", "ask_code", "get_driver", "normalize_code", "notify"]

#: A prompt driver: shows a message, returns the raw answer (not validated).
Driver = Callable[[str], str]

#: The names :func:`get_driver` accepts, ``auto`` first.
DRIVER_NAMES: Final = ("auto", "terminal", "dialog", "command")


def get_driver(name: str = "auto", *, token_command: str | None = None, token_command_timeout: float = 60.0) -> Driver:
    """Return the driver called ``name``; :class:`UsageError` for an unknown name.

    ``command`` needs ``token_command``. ``auto`` with a ``token_command`` means ``command`` (configuring
    a command is choosing it); ``terminal`` and ``dialog`` ignore it, so ``--prompt terminal`` overrides
    a configured command for one run.
    """
    command = token_command if token_command and token_command.strip() else None
    if name == "auto" and command is not None:
        name = "command"
    if name == "command":
        if command is None:
            raise UsageError("--prompt command needs --token-command CMD")
        if not token_command_timeout > 0:
            raise UsageError(f"token command timeout must be positive, not {token_command_timeout:g}")
        from mfa_process.prompt.command import command_driver

        return command_driver(command, timeout=token_command_timeout)
    if name not in DRIVER_NAMES:
        raise UsageError(f"unknown prompt {name!r}; choose one of: {', '.join(DRIVER_NAMES)}")
    if name == "terminal":
        from mfa_process.prompt import terminal

        return terminal.prompt
    if name == "dialog":
        from mfa_process.prompt import dialog

        return dialog.prompt
    from mfa_process.prompt import auto

    return auto.prompt


def notify(message: str) -> bool:
    """Write ``message`` as one line to the terminal, if there is one; whether it was written."""
    from mfa_process.prompt import terminal

    return terminal.notify(message)
