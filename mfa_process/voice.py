"""One voice for the terminal: every notice, prompt and failure line the tool shows goes through here.

:func:`clean` masks registered secrets (:mod:`mfa_process.redact`) and makes control characters visible
instead of letting them act: a profile name, MFA serial or AWS message holding ``ESC [2J`` or an OSC
sequence can neither move the cursor, retitle the window nor hide text. :func:`line` adds the prefix.
"""

from __future__ import annotations

import sys

from mfa_process.redact import redact

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

PREFIX: Final = "mfa-process: "
#: Whitespace that becomes a plain space: a message is one line.
_SPACES: Final = "\t\n\r\x0b\x0c"


def _visible(char: str) -> str:
    if char.isprintable():
        return char
    if char in _SPACES:
        return " "
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def clean(text: str, *, lines: bool = False) -> str:
    """*text* safe to show: secrets masked, control and format characters shown as ``\\xNN`` escapes.

    Line breaks become spaces, unless *lines* (a prompt made of several lines) keeps ``\\n``.
    """
    text = redact(text)
    if text.isprintable():
        return text
    return "".join("\n" if lines and char == "\n" else _visible(char) for char in text)


def line(text: str) -> str:
    """One line of output: the ``mfa-process:`` prefix and the cleaned *text*."""
    return PREFIX + clean(text)


def error(text: str) -> None:
    """Write the failure line on stderr."""
    sys.stderr.write(line(text) + "\n")
    sys.stderr.flush()


def notice(text: str) -> None:
    """Tell the user something on the terminal (stderr when there is none); never a secret."""
    from mfa_process.prompt import notify as to_terminal

    if not to_terminal(line(text)):
        sys.stderr.write(line(text) + "\n")
        sys.stderr.flush()
