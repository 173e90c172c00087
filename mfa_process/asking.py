"""Questions for the interactive commands (``setup``, ``store-keys``): a line, a secret, yes/no, a choice.

Everything is asked on the controlling terminal, like the MFA prompt, so piping a command's output never
swallows a question.
"""

from __future__ import annotations

from collections.abc import Sequence

from mfa_process.errors import NoTerminalError, PromptCancelled, UsageError


def ask_line(message: str, default: str | None = None) -> str:
    """A visible answer (the default when the user just presses Enter)."""
    from mfa_process.prompt.terminal import prompt

    suffix = f" [{default}]" if default else ""
    answer = prompt(f"{message}{suffix}: ").strip()
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
        raise PromptCancelled("cancelled (end of input)") from None


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
