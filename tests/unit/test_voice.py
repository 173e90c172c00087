"""One voice for the terminal: prefix, secrets masked, control characters made visible, never acted on."""

from __future__ import annotations

import io

import pytest

from mfa_process import redact, voice
from mfa_process.prompt import terminal

ATTACKS = {
    "CSI clear screen": ("a\x1b[2Jb", "a\\x1b[2Jb"),
    "OSC window title": ("a\x1b]0;pwned\x07b", "a\\x1b]0;pwned\\x07b"),
    "8-bit CSI": ("a\x9b31mb", "a\\x9b31mb"),
    "carriage return overwrite": ("real\rfake", "real fake"),
    "newline": ("one\ntwo", "one two"),
    "backspace": ("ab\x08c", "ab\\x08c"),
    "right-to-left override": ("a\u202eb", "a\\u202eb"),
    "NUL": ("a\x00b", "a\\x00b"),
}


@pytest.mark.parametrize(("text", "shown"), ATTACKS.values(), ids=ATTACKS.keys())
def test_control_characters_are_shown_not_obeyed(text, shown):
    assert voice.clean(text) == shown
    assert voice.line(text) == "mfa-process: " + shown
    assert all(char.isprintable() for char in voice.line(text))


def test_printable_text_is_unchanged_and_secrets_are_masked(monkeypatch):
    monkeypatch.setattr(redact, "_SECRETS", set())
    redact.register("wJalrXUtnFEMI/K7MDENG")
    assert voice.line("plain é ✓ text with wJalrXUtnFEMI/K7MDENG") == "mfa-process: plain é ✓ text with ****"


def test_prompts_keep_their_line_breaks_only():
    assert voice.clean("retry.\nMFA code for x\x1b[2J: ", lines=True) == "retry.\nMFA code for x\\x1b[2J: "


class Console:
    def __init__(self, answer: str) -> None:
        self.out = io.StringIO()
        self.answer = answer

    def __call__(self, name: str, mode: str, **kwargs: object) -> object:
        if name == "CONIN$":
            return io.StringIO(self.answer)
        return _Unclosable(self.out)


class _Unclosable(io.StringIO):
    def __init__(self, target: io.StringIO) -> None:
        super().__init__()
        self.target = target

    def write(self, text: str) -> int:
        return self.target.write(text)


def test_the_terminal_prompt_never_writes_escapes():
    console = Console("123456\n")
    message = "MFA code for arn:aws:iam::123456789012:mfa/\x1b]0;pwned\x07alice (profile p\x1b[2J): "
    assert terminal.prompt(message, platform="win32", opener=console) == "123456"
    shown = console.out.getvalue()
    assert "\x1b" not in shown and "\x07" not in shown
    assert shown == "MFA code for arn:aws:iam::123456789012:mfa/\\x1b]0;pwned\\x07alice (profile p\\x1b[2J): "
