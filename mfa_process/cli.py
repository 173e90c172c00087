"""Entry point: dispatch to a command, and the one place where errors become a message and an exit code.

Each command lives in its own module under :mod:`mfa_process.commands` and is imported only when run. The
credential_process mode (the hot path) is parsed without argparse when its command line is the usual
plain one, so a cache hit loads neither argparse, boto3 nor the other commands.
"""

from __future__ import annotations

import os
import sys

from mfa_process.errors import MfaProcessError, OutputError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any, Final

PROG: Final = "mfa-process"
#: The parent at start, for :mod:`mfa_process.parent` to tell later whether it stopped waiting.
PARENT_AT_START: Final = os.getppid()

#: Each command and the module under mfa_process.commands that implements it.
COMMANDS: Final = {
    "login": "login",
    "logout": "logout",
    "status": "status",
    "env": "env",
    "exec": "execute",
    "serve": "serve",
    "setup": "setup",
    "store-keys": "store_keys",
    "rotate-keys": "rotate_keys",
    "policy": "policy",
    "doctor": "doctor",
}


def command_module(command: str) -> Any:
    """The module that implements *command* (imported only now)."""
    import importlib

    return importlib.import_module(f"mfa_process.commands.{COMMANDS[command]}")


def split_command(argv: Sequence[str]) -> tuple[str | None, list[str]]:
    """The command named first on the line, if any, and the remaining arguments."""
    if argv and argv[0] in COMMANDS:
        return argv[0], list(argv[1:])
    return None, list(argv)


def _stderr(message: str) -> None:
    import contextlib

    from mfa_process.voice import error

    with contextlib.suppress(OSError, ValueError, AttributeError):  # stderr closed, or a pipe whose reader left
        error(message)


def _discard_stdout() -> None:
    """Point stdout at the null device once writing to it failed, so the interpreter's last flush of what
    is left in its buffer does not fail again (``Exception ignored ...`` and exit code 120)."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError):  # no stdout at all: nothing will be flushed
        pass


def _tell_terminal(exc: MfaProcessError) -> None:
    """Show the failure on the terminal too where stderr may not reach the user (once per failure)."""
    if exc.repeated:  # the remembered answer to a retry: the terminal was told already
        return
    from mfa_process.errors import ClientGone
    from mfa_process.prompt.terminal import after_failure
    from mfa_process.voice import line

    after_failure(line(str(exc)), client_gone=isinstance(exc, ClientGone))


def _clock_is_broken() -> bool:
    """Whether the system clock is beyond what Python's time functions can represent."""
    import time

    try:
        time.time()
        time.monotonic()
    except OverflowError:
        return True
    return False


def leave_at_once() -> None:
    """End the process now with status 0, skipping the interpreter's teardown, when nothing needs it.

    Called after a cache hit has written and flushed its one line. Tearing the modules down costs about
    2 ms, as much as everything a hit does beyond its imports (see the performance page); a hit opens no file for
    writing, so nothing is lost. An exit handler (``atexit``, which e.g. coverage tools or a
    ``sitecustomize`` may register) or another live thread would be, so then the process ends normally.
    """
    import atexit

    count = getattr(atexit, "_ncallbacks", None)  # CPython's; elsewhere the handlers are unknown: end normally
    if count is None or count() != 0:
        return
    threading = sys.modules.get("threading")
    if threading is not None and threading.active_count() > 1:
        return
    sys.stderr.flush()
    os._exit(0)


def run(argv: Sequence[str], *, program: bool = False) -> int:
    """Parse *argv* and run the command; exceptions propagate to :func:`main`.

    *program*: this process is ``mfa-process`` itself (not a caller of :func:`main`), which may end
    without the interpreter's teardown after a cache hit (:func:`leave_at_once`).
    """
    command, rest = split_command(argv)
    if command is None and rest and not rest[0].startswith("-"):
        from mfa_process.errors import UsageError
        from mfa_process.parsing import suggest

        close = suggest(rest[0], COMMANDS)
        hint = f"did you mean `{PROG} {close}`?" if close else f"commands: {', '.join(COMMANDS)}"
        raise UsageError(f"unknown command {rest[0]!r}; {hint} (see `{PROG} --help`)")
    if command is None:
        from mfa_process.commands.credential import run_credential
        from mfa_process.options import fast_parse

        args: Any = fast_parse(rest)
        if args is None:
            from mfa_process.parsing import build_parser

            args = build_parser(None).parse_args(rest)
        return run_credential(args, os.environ, after_hit=leave_at_once if program else None)
    from mfa_process.parsing import build_parser

    module = command_module(command)
    return int(module.run(build_parser(command, module).parse_args(rest), os.environ))


def main(argv: Sequence[str] | None = None) -> int:
    """Run, and turn every expected failure into ``mfa-process: message`` and an exit code."""
    try:
        return run(sys.argv[1:] if argv is None else argv, program=argv is None)
    except MfaProcessError as exc:
        if isinstance(exc, OutputError):
            _discard_stdout()
        _stderr(str(exc))
        _tell_terminal(exc)
        return exc.exit_code
    except KeyboardInterrupt:
        _stderr("cancelled")
        return 130
    except BrokenPipeError:
        _discard_stdout()
        return 141
    except Exception as exc:
        if isinstance(exc, OverflowError) and _clock_is_broken():
            _stderr(
                "the system clock reads a date too far in the future for any time to be computed (after 2262); "
                "set the clock right (`date`, `timedatectl`) and retry"
            )
            return 1
        if os.environ.get("MFA_PROCESS_DEBUG"):
            import traceback

            from mfa_process.redact import redact

            sys.stderr.write(redact(traceback.format_exc()))
        _stderr(f"unexpected error ({type(exc).__name__}); rerun with MFA_PROCESS_DEBUG=1 for details and report it")
        return 70


__all__ = ["main", "run"]
