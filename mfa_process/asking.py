"""Questions for the interactive commands (``setup``, ``store-keys``): a line, a secret, yes/no, a choice.

Everything is asked on the controlling terminal, like the MFA prompt, so piping a command's output never
swallows a question.
"""

from __future__ import annotations

from collections.abc import Sequence

from mfa_process.errors import NoTerminalError, PromptCancelled, UsageError


def _cancelled(question: str, exc: BaseException) -> PromptCancelled:
    """What a cancelled question says: which question, and how (Ctrl-C, end of input)."""
    text = str(exc)
    how = text[text.rfind("(") :] if text.endswith(")") and "(" in text else "(Ctrl-C)"
    return PromptCancelled(f"cancelled at the question {question!r} {how}")


def ask_line(message: str, default: str | None = None) -> str:
    """A visible answer (the default when the user just presses Enter)."""
    from mfa_process.prompt.terminal import prompt

    suffix = f" [{default}]" if default else ""
    try:
        answer = prompt(f"{message}{suffix}: ").strip()
    except (PromptCancelled, KeyboardInterrupt) as exc:
        raise _cancelled(message, exc) from None
    return answer or (default or "")


def ask_secret(message: str) -> str:
    """A hidden answer (no echo), read from the terminal and never from stdin."""
    from mfa_process.prompt.terminal import terminal_available

    if not terminal_available():
        raise NoTerminalError("no terminal to ask for the secret access key; run this in a terminal")
    import getpass

    try:
        return getpass.getpass(f"{message}: ").strip()
    except EOFError:
        raise PromptCancelled(f"cancelled at the question {message!r} (end of input)") from None
    except KeyboardInterrupt as exc:
        raise _cancelled(message, exc) from None


def confirm(message: str, *, assume_yes: bool) -> bool:
    """Yes/no, default no; ``--yes`` answers yes without asking."""
    if assume_yes:
        return True
    return ask_line(f"{message} [y/N]").lower() in {"y", "yes"}


def choose(message: str, options: Sequence[str]) -> int:
    """The index of the option the user picks from a numbered list (three tries)."""
    from mfa_process.prompt import notify

    for line in [message] + [f"  {i}) {option}" for i, option in enumerate(options, 1)]:
        notify(line)
    for _ in range(3):
        answer = ask_line(f"choose 1-{len(options)}")
        if answer.isdigit() and 1 <= int(answer) <= len(options):
            return int(answer) - 1
    raise UsageError(f"no valid choice among 1-{len(options)}; pass --serial-number ARN to choose directly")
