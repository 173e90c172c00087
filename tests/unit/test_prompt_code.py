"""What counts as an MFA code, and the ask/retry loop around any driver."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mfa_process.errors import InvalidCodeError, NoTerminalError, PromptCancelled, PromptError
from mfa_process.prompt.code import RETRY_MESSAGE, ask_code, normalize_code

MESSAGE = "MFA code for arn:aws:iam::123456789012:mfa/alice: "


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("123456", "123456"),
        ("000000", "000000"),
        ("  123456  ", "123456"),
        ("123456\n", "123456"),
        ("\t123456\r\n", "123456"),
        ("\u00a0123456\u00a0", "123456"),  # a pasted non-breaking space around the code
        ("123 456", "123456"),  # as authenticator apps display it
        ("12 34 56", "123456"),
        ("123  456", "123456"),
        ("1 2 3 4 5 6", "123456"),
        ("", None),
        ("   ", None),
        ("\n", None),
        ("12345", None),
        ("1234567", None),
        ("123 4567", None),
        ("12345a", None),
        ("abcdef", None),
        ("12345O", None),  # letter O, not zero
        ("123-456", None),
        ("123\t456", None),
        ("123\u00a0456", None),  # only ASCII spaces inside
        ("+123456", None),
        ("123456.", None),
        ("0x1234", None),
        ("\u0661\u0662\u0663\u0664\u0665\u0666", None),  # Arabic-Indic digits: isdigit() is True
        ("\u06f1\u06f2\u06f3\u06f4\u06f5\u06f6", None),  # Extended Arabic-Indic
        ("\uff11\uff12\uff13\uff14\uff15\uff16", None),  # fullwidth digits
        ("12345\uff16", None),
        ("\u0967\u0968\u0969\u096a\u096b\u096c", None),  # Devanagari
        ("\u00b9\u00b2\u00b3456", None),  # superscripts: isdigit() is True
        ("1" * 10_000, None),
        (" " * 10_000 + "123456", None),  # longer than any answer worth reading
        ("123456" + " " * 58, "123456"),  # exactly the 64-character limit
        ("123456" + " " * 59, None),
    ],
)
def test_normalize_code(raw: str, expected: str | None) -> None:
    assert normalize_code(raw) == expected


class ScriptedDriver:
    """A driver answering from a list, recording every message it was shown."""

    def __init__(self, *answers: str | BaseException) -> None:
        self.answers = list(answers)
        self.messages: list[str] = []

    def __call__(self, message: str) -> str:
        self.messages.append(message)
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


def test_ask_code_returns_first_valid_answer_normalised() -> None:
    driver = ScriptedDriver(" 123 456\n")
    assert ask_code(driver, MESSAGE) == "123456"
    assert driver.messages == [MESSAGE]


def test_ask_code_reasks_with_explanation_after_malformed_answers() -> None:
    driver = ScriptedDriver("12345", "abcdef", "654321")
    assert ask_code(driver, MESSAGE) == "654321"
    assert driver.messages == [MESSAGE, RETRY_MESSAGE + MESSAGE, RETRY_MESSAGE + MESSAGE]
    assert "6-digit" in RETRY_MESSAGE


def test_ask_code_gives_up_after_three_tries() -> None:
    driver = ScriptedDriver("1", "2", "3", "123456")
    with pytest.raises(InvalidCodeError) as caught:
        ask_code(driver, MESSAGE)
    assert str(caught.value) == "no valid 6-digit MFA code after 3 tries"
    assert len(driver.messages) == 3
    assert driver.answers == ["123456"]  # never asked a fourth time


def test_ask_code_custom_tries_and_retry_message() -> None:
    driver = ScriptedDriver("x", "y")
    with pytest.raises(InvalidCodeError, match=r"^no valid 6-digit MFA code after 2 tries$"):
        ask_code(driver, "code? ", tries=2, retry_message="again: ")
    assert driver.messages == ["code? ", "again: code? "]
    with pytest.raises(InvalidCodeError, match=r"after 1 try$"):
        ask_code(ScriptedDriver("x"), "code? ", tries=1)


def test_ask_code_rejects_zero_tries() -> None:
    with pytest.raises(ValueError, match="tries"):
        ask_code(ScriptedDriver(), MESSAGE, tries=0)


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt(), EOFError()])
def test_ask_code_turns_interrupt_and_eof_into_cancel(interrupt: BaseException) -> None:
    driver = ScriptedDriver("nope", interrupt)
    with pytest.raises(PromptCancelled) as caught:
        ask_code(driver, MESSAGE)
    assert caught.value.exit_code == 130
    assert caught.value.__suppress_context__  # no "during handling" chain in a traceback


@pytest.mark.parametrize("error_type", [NoTerminalError, PromptCancelled, PromptError], ids=lambda t: t.__name__)
def test_ask_code_lets_driver_errors_through_unchanged(error_type: Callable[[str], PromptError]) -> None:
    error = error_type("cannot open /dev/tty: No such device or address")
    with pytest.raises(PromptError) as caught:
        ask_code(ScriptedDriver(error), MESSAGE)
    assert caught.value is error
