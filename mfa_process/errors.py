"""The project's exception tree.

Every expected failure is raised as a subclass of :class:`MfaProcessError`. The CLI is the one place that
turns them into a one-line ``mfa-process: ...`` message and an exit code, so the text of each exception must
stand on its own (botocore shows a credential_process helper's stderr only when it fails) and must never
contain a secret.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import ClassVar


class MfaProcessError(Exception):
    """Base class of every error that the CLI reports as one line."""

    #: Process exit code the CLI uses for this kind of failure.
    exit_code: ClassVar[int] = 1
    #: Set on a failure repeated from memory (a client's retry): the terminal was told the first time.
    repeated: bool = False


class UsageError(MfaProcessError, ValueError):
    """A flag or argument has a value the tool cannot use."""

    exit_code: ClassVar[int] = 2


class CommandNotFound(UsageError):
    """``exec`` was given a command that does not exist or cannot be run."""

    exit_code: ClassVar[int] = 127


class ConfigError(MfaProcessError):
    """``~/.aws/config`` or ``~/.aws/credentials`` is missing something, unreadable or unparsable."""

    exit_code: ClassVar[int] = 3


class RecursionConfigError(ConfigError):
    """The source profile itself runs mfa-process, so resolving it would loop."""


class PromptError(MfaProcessError):
    """No MFA code could be obtained."""

    exit_code: ClassVar[int] = 4


class NoTerminalError(PromptError):
    """No terminal (or other prompt driver) is available to ask for the code."""


class PromptCancelled(PromptError):
    """The user cancelled the prompt (Ctrl-C, Ctrl-D, a dialog's Cancel)."""

    exit_code: ClassVar[int] = 130


class InvalidCodeError(PromptError):
    """The user gave no valid code within the allowed number of tries."""


class BackgroundJobError(PromptError):
    """The terminal belongs to another job (or to a shell editing its command line): asking would stop us."""


class ClientGone(PromptError):
    """The program that started this one stopped waiting (it exited or was killed) during the prompt or wait."""


class KeyringError(MfaProcessError):
    """The keyring cannot be used: no backend, locked, or refusing access."""

    exit_code: ClassVar[int] = 5


class KeyringUnavailable(KeyringError):
    """No usable backend, a refused plain-text backend, or a locked keyring: fix it before going on."""


class StsError(MfaProcessError):
    """AWS STS refused the request or could not be reached."""

    exit_code: ClassVar[int] = 6


class MfaCodeRejected(StsError):
    """STS answered AccessDenied for the MFA code (wrong, expired or reused code)."""


class StsUnreachable(StsError):
    """The STS endpoint could not be reached or did not answer in time."""


class AwsRefused(StsError):
    """AWS answered a request with a refusal (a 4xx error): the request had no effect."""


class OutputError(MfaProcessError):
    """Standard output is closed or cannot be written: the credentials cannot be handed over."""

    exit_code: ClassVar[int] = 74  # EX_IOERR


class ClockError(MfaProcessError):
    """This machine's clock is too far from AWS's (or from any time Python can represent) to go on."""


class StateError(MfaProcessError, PermissionError):
    """The state directory or a file in it cannot be trusted or used (another user's, a symlink, open to others)."""

    exit_code: ClassVar[int] = 7

    def __str__(self) -> str:
        """The message alone (``PermissionError`` would add nothing useful)."""
        return str(self.args[0]) if self.args else ""


class LockError(MfaProcessError):
    """The cross-process lock could not be created or taken."""

    exit_code: ClassVar[int] = 7
