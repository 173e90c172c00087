"""What counts as an MFA code, and asking a driver until it gives one.

A code is exactly six ASCII digits. Surrounding whitespace is ignored, and so are ASCII spaces between
the digits, because authenticator apps display codes as ``123 456`` and users type what they see.
Everything else is refused rather than guessed at: other Unicode digits, such as Arabic-Indic
``١٢٣٤٥٦`` or fullwidth ones (U+FF10 to U+FF19), which ``str.isdigit`` accepts and STS does not; tabs
or dashes inside; letters; five or seven digits; and anything longer than :data:`MAX_ANSWER_CHARS`
(refused before any other work).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from mfa_process.errors import InvalidCodeError, PromptCancelled

if TYPE_CHECKING:
    from mfa_process.prompt import Driver

#: Digits in an MFA code (TOTP as used by AWS).
CODE_LENGTH: Final = 6

#: Longer answers are refused unread: no code, however spaced, needs more.
MAX_ANSWER_CHARS: Final = 64

#: Put before the message when the previous answer was not a code.
RETRY_MESSAGE: Final = "That is not a 6-digit code; try again.\n"

_DIGITS: Final = frozenset("0123456789")


def normalize_code(raw: str) -> str | None:
    """Return ``raw`` as a six-digit code, or ``None`` if it is not one (see the module docstring)."""
    if len(raw) > MAX_ANSWER_CHARS:
        return None
    code = raw.strip().replace(" ", "")
    if len(code) == CODE_LENGTH and all(char in _DIGITS for char in code):
        return code
    return None


def ask_code(
    driver: Driver,
    message: str,
    *,
    tries: int = 3,
    retry_message: str = RETRY_MESSAGE,
) -> str:
    """Ask ``driver`` for a code, up to ``tries`` times, and return it normalised.

    After a malformed answer the next prompt is ``retry_message + message``. Ctrl-C
    (``KeyboardInterrupt``) and end of input (``EOFError``) from any driver become
    :class:`PromptCancelled`; the driver's own errors pass through. :class:`InvalidCodeError` when every
    try failed.
    """
    if tries < 1:
        raise ValueError(f"tries must be at least 1, not {tries}")
    text = message
    for _ in range(tries):
        try:
            answer = driver(text)
        except (KeyboardInterrupt, EOFError):
            raise PromptCancelled("MFA code prompt cancelled") from None
        code = normalize_code(answer)
        if code is not None:
            return code
        text = retry_message + message
    tries_word = "try" if tries == 1 else "tries"
    raise InvalidCodeError(f"no valid {CODE_LENGTH}-digit MFA code after {tries} {tries_word}")
