"""Where the tool keeps its non-secret state: lock files, the cache index, the remembered backend."""

from __future__ import annotations

import os
import sys

from mfa_process.errors import LockError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path


def state_path(env: Mapping[str, str]) -> str:
    """``MFA_PROCESS_STATE_DIR``, else the platform's per-user state directory (a string: no ``pathlib``)."""
    override = env.get("MFA_PROCESS_STATE_DIR")
    if override:
        return os.path.expanduser(override)
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        base = env.get("LOCALAPPDATA") or os.path.join(os.path.expanduser("~"), "AppData", "Local")
        return os.path.join(base, "mfa-process")
    home = env.get("HOME") or os.path.expanduser("~")
    if sys.platform == "darwin":  # pragma: no cover - exercised on macOS only
        return os.path.join(home, "Library", "Application Support", "mfa-process")
    base = env.get("XDG_STATE_HOME") or os.path.join(home, ".local", "state")
    return os.path.join(base, "mfa-process")


def state_dir(env: Mapping[str, str]) -> Path:
    """:func:`state_path` as a :class:`~pathlib.Path`, for the commands that write state."""
    from pathlib import Path

    return Path(state_path(env))


def private_dir(path: Path) -> Path:
    """Create *path* (mode 0700) if needed and refuse it if it is a symlink or open to others."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = os.lstat(path)
    except OSError as exc:
        raise LockError(
            f"cannot create the state directory {path} ({exc.strerror}); "
            "set MFA_PROCESS_STATE_DIR to a writable directory"
        ) from None
    import stat

    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise LockError(f"{path} is a symlink or not a directory; remove it so mfa-process can recreate it")
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise LockError(f"{path} belongs to another user; remove it or set MFA_PROCESS_STATE_DIR")
    if info.st_mode & 0o077 and sys.platform != "win32":
        try:
            os.chmod(path, 0o700)
        except OSError as exc:
            raise LockError(f"cannot make {path} private ({exc.strerror})") from None
    return path


def write_private(path: Path, text: str) -> None:
    """Atomically replace *path* with *text*, created 0600; a symlink in its place is refused."""
    import tempfile

    if path.is_symlink():
        raise LockError(f"{path} is a symlink; mfa-process refuses to write through it, remove it")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        import contextlib

        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
