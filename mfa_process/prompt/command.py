"""The token-command driver: take the code from the output of a command the user chose.

The command is a shell string, as such commands are documented and shared (``ykman oath accounts code
-s aws``, ``op item get AWS --otp``, ``pass otp aws``, pipes included): the same form as the AWS
``credential_process`` setting itself. It runs with stdin from ``/dev/null`` and a time limit (see
:mod:`mfa_process.prompt._process`); the prompt message is not used.

The answer is read from the last non-empty line of stdout: the whole line if it is a code (``123456``,
``123 456``), otherwise its last whitespace-separated word (``ykman oath accounts code NAME`` prints
``NAME  123456``). No code there is an error at once rather than a re-run, since a command answers the
same way each time and may need a touch of a security key.

Errors never quote stdout, which may hold other secrets, nor the command, which may hold a TOTP seed
(``oathtool --totp -b SEED``); a failure reports the exit status and the last line of stderr.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mfa_process.errors import PromptError
from mfa_process.prompt import _process
from mfa_process.prompt.code import normalize_code

if TYPE_CHECKING:
    from mfa_process.prompt import Driver


def command_driver(command: str, *, timeout: float = 60.0) -> Driver:
    """A driver that runs the shell command ``command`` and answers with the code it prints."""

    def prompt(message: str) -> str:
        del message  # a command is not asked, it is run
        result = _process.run(command, shell=True, timeout=timeout, what="token command")  # noqa: S604
        if result.returncode != 0:
            detail = _process.last_line(result.stderr)
            status = _process.exit_description(result.returncode)
            raise PromptError(f"token command {status}" + (f": {detail}" if detail else ""))
        code = code_from_output(result.stdout)
        if code is None:
            raise PromptError("token command printed no 6-digit code on its last line")
        return code

    return prompt


def code_from_output(stdout: str) -> str | None:
    """The code on the last non-empty line of ``stdout`` (see the module docstring), or ``None``."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        return None
    last = lines[-1]
    return normalize_code(last) or normalize_code(last.split()[-1])
