"""The cross-process lock around one cache entry's refresh.

The lock is an OS file lock (``flock`` on POSIX, ``LockFileEx`` on Windows) through ``filelock``: the kernel
drops it when its holder dies, so a helper killed with ``kill -9`` during the prompt never blocks the next
one. Lock files are never deleted: unlinking a lock file while another process waits on its open descriptor
would let two processes hold "the" lock at once.
"""

from __future__ import annotations

import os
import stat

from mfa_process.errors import LockError
from mfa_process.paths import private_dir

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from contextlib import AbstractContextManager
    from pathlib import Path
    from typing import Final

#: How long a waiting process waits for the one that is prompting (a person typing a code).
DEFAULT_WAIT: Final = 300.0


def lock_path(directory: Path, key: str) -> Path:
    """The lock file of a cache key: a hash, so profile names never become path components."""
    import hashlib

    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return directory / f"{digest}.lock"


def held(
    directory: Path,
    key: str,
    *,
    on_wait: Callable[[], None] | None = None,
    timeout: float = DEFAULT_WAIT,
) -> AbstractContextManager[None]:
    """Hold the lock for *key*; call *on_wait* once if another process holds it first.

    ``contextlib`` is imported here, not at module level: the cache-hit path imports this module (for
    :data:`DEFAULT_WAIT`) but never takes a lock.
    """
    from contextlib import contextmanager

    return contextmanager(_held)(directory, key, on_wait, timeout)


def _held(directory: Path, key: str, on_wait: Callable[[], None] | None, timeout: float) -> Iterator[None]:
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
    try:
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            if on_wait is not None:
                on_wait()
            lock.acquire(timeout=timeout)
    except filelock.Timeout:
        raise LockError(
            f"another mfa-process held the lock for more than {int(timeout)} s; "
            "finish or cancel the prompt in your other terminal and retry"
        ) from None
    except OSError as exc:
        raise LockError(
            f"cannot create lock file {path} ({exc.strerror}); set MFA_PROCESS_STATE_DIR to a writable directory"
        ) from None
    try:
        yield
    finally:
        lock.release()
