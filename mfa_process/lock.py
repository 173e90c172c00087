"""The cross-process lock around one cache entry's refresh.

The lock is an OS file lock (``flock`` on POSIX, ``LockFileEx`` on Windows) through ``filelock``: the kernel
drops it when its holder dies, so a helper killed with ``kill -9`` during the prompt never blocks the next
one. Lock files are never deleted: unlinking a lock file while another process waits on its open descriptor
would let two processes hold "the" lock at once.

The holder writes who it is next to the lock (``<lock>.owner``: its PID and the terminal it asks on, if
any), so a process that waits can stay silent when the prompt it waits for is on its own terminal: a
notice there would land in the middle of the question. The wait is a poll, so a waiter also notices when
the program that started it stopped waiting.
"""

from __future__ import annotations

import os
import stat

from mfa_process.errors import ClientGone, LockError
from mfa_process.paths import private_dir

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from contextlib import AbstractContextManager
    from pathlib import Path
    from typing import Any, Final

#: How long a waiting process waits for the one that is prompting (a person typing a code).
DEFAULT_WAIT: Final = 300.0
#: Seconds between two tries of a held lock.
POLL_SECONDS: Final = 0.25
#: Tries after which a waiter that found no owner record of a live holder gives its notice anyway.
UNKNOWN_OWNER_POLLS: Final = 20


def lock_path(directory: Path, key: str) -> Path:
    """The lock file of a cache key: a hash, so profile names never become path components."""
    import hashlib

    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return directory / f"{digest}.lock"


def _alive(pid: int) -> bool:
    """Whether a process *pid* exists (possibly another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists
        return True
    return True


def _owner_file(path: Path) -> Path:
    return path.parent / f"{path.name}.owner"


def read_owner(path: Path) -> tuple[int, int | None] | None:
    """The live holder recorded next to lock file *path*: its PID and terminal; ``None`` if unknown."""
    try:
        fields = _owner_file(path).read_text(encoding="ascii").split()
        pid, terminal = int(fields[0]), (int(fields[1]) if fields[1] != "-" else None)
    except (OSError, ValueError, IndexError):
        return None
    return (pid, terminal) if pid != os.getpid() and _alive(pid) else None


def write_owner(path: Path, terminal: int | None) -> None:
    """Record this process, and the terminal it asks on, as the holder of lock file *path*."""
    from mfa_process.paths import write_private

    try:  # noqa: SIM105 - contextlib stays off the cache-hit path's imports
        write_private(_owner_file(path), f"{os.getpid()} {'-' if terminal is None else terminal}\n")
    except (LockError, OSError):  # only an aid for waiting processes
        pass


def held(
    directory: Path,
    key: str,
    *,
    on_wait: Callable[[], None] | None = None,
    timeout: float = DEFAULT_WAIT,
    terminal: Callable[[], int | None] | None = None,
    abandoned: Callable[[], bool] | None = None,
) -> AbstractContextManager[None]:
    """Hold the lock for *key*; call *on_wait* once if another process holds it first.

    *terminal* gives the terminal this process asks on (``None``: none, or not a terminal prompt). It is
    recorded while holding; while waiting, *on_wait* is skipped when the holder asks on that same
    terminal. *abandoned* is polled while waiting: :class:`ClientGone` once it says so.

    ``contextlib`` is imported here, not at module level: the cache-hit path imports this module (for
    :data:`DEFAULT_WAIT`) but never takes a lock.
    """
    from contextlib import contextmanager

    return contextmanager(_held)(
        directory, key, on_wait=on_wait, timeout=timeout, terminal=terminal, abandoned=abandoned
    )


def _held(
    directory: Path,
    key: str,
    *,
    on_wait: Callable[[], None] | None,
    timeout: float,
    terminal: Callable[[], int | None] | None,
    abandoned: Callable[[], bool] | None,
) -> Iterator[None]:
    import filelock

    path = lock_path(private_dir(private_dir(directory) / "locks"), key)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise LockError(f"cannot inspect lock file {path} ({exc.strerror})") from None
    else:
        if stat.S_ISLNK(info.st_mode):
            raise LockError(f"lock file {path} is a symlink; remove it (mfa-process never follows one)")
    try:
        lock = filelock.FileLock(str(path), mode=0o600, preserve_lock_file=True)  # type: ignore[call-arg,unused-ignore]
    except TypeError:  # filelock < 4 never deletes the file on release anyway
        lock = filelock.FileLock(str(path), mode=0o600)
    here = terminal() if terminal is not None else None
    try:
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            _wait(lock, path, here=here, on_wait=on_wait, abandoned=abandoned, timeout=timeout)
    except filelock.Timeout:
        raise LockError(
            f"another mfa-process held the lock for more than {int(timeout)} s; "
            "finish or cancel the prompt in your other terminal and retry"
        ) from None
    except OSError as exc:
        raise LockError(
            f"cannot create lock file {path} ({exc.strerror}); set MFA_PROCESS_STATE_DIR to a writable directory"
        ) from None
    write_owner(path, here)
    try:
        yield
    finally:
        try:  # noqa: SIM105 - as above
            _owner_file(path).unlink()
        except OSError:
            pass
        lock.release()


def _wait(
    lock: Any,
    path: Path,
    *,
    here: int | None,
    on_wait: Callable[[], None] | None,
    abandoned: Callable[[], bool] | None,
    timeout: float,
) -> None:
    """Poll *lock* until it is ours; tell *on_wait* unless the holder asks on terminal *here*."""
    import time

    import filelock

    deadline = time.monotonic() + timeout
    decided, polls = on_wait is None, 0
    while True:
        if not decided:
            owner = read_owner(path)
            polls += 1
            if owner is not None or polls > UNKNOWN_OWNER_POLLS:
                decided = True
                if owner is None or here is None or owner[1] != here:
                    on_wait()  # type: ignore[misc]
        if abandoned is not None and abandoned():
            raise ClientGone  # the caller, who knows the profile, says what to do
        left = deadline - time.monotonic()
        if left <= 0:
            raise filelock.Timeout(str(path))
        try:
            lock.acquire(timeout=min(POLL_SECONDS, left))
        except filelock.Timeout:
            continue
        return
