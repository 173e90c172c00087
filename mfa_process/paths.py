"""Where the tool keeps its non-secret state: lock files, the cache index, the remembered backend.

Nothing in the state directory is trusted unless the directory and the file are the user's own and no one
else can write them (:func:`read_state`): a planted ``backend`` file could otherwise pick the keyring. A
state file that is not valid UTF-8 (or too large to be ours) is set aside with a notice and starts afresh.
"""

from __future__ import annotations

import os
import sys

from mfa_process.errors import StateError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path
    from typing import Final

#: Largest state file read; the real ones are a few KB at most.
MAX_STATE_BYTES: Final = 1 << 20


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
        raise StateError(
            f"cannot create the state directory {path} ({exc.strerror}); "
            "set MFA_PROCESS_STATE_DIR to a writable directory"
        ) from None
    check_dir(path, info)
    if info.st_mode & 0o077 and sys.platform != "win32":
        try:
            os.chmod(path, 0o700)
        except OSError as exc:
            raise StateError(f"cannot make {path} private ({exc.strerror})") from None
    return path


def check_dir(path: str | Path, info: os.stat_result) -> None:
    """Refuse a state directory (its ``lstat``) that is a symlink, not a directory, or another user's."""
    import stat

    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise StateError(f"{path} is a symlink or not a directory; remove it so mfa-process can recreate it")
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise StateError(f"{path} belongs to another user; remove it or set MFA_PROCESS_STATE_DIR")


def read_state(path: str | Path) -> str | None:
    """The text of state file *path*, None when it (or the state directory) does not exist.

    Trusted only when the directory and the file belong to the user and no one else can write the file:
    otherwise :class:`StateError`. A file that is not UTF-8 or larger than :data:`MAX_STATE_BYTES` is set
    aside (:func:`set_aside`) and reads as absent. Costs an ``lstat`` and an ``fstat`` beside the read
    (no ``pathlib``: a cache hit reads the ``backend`` file).
    """
    path = os.fspath(path)
    folder = os.path.dirname(path)
    try:
        info = os.lstat(folder)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateError(f"cannot read the state directory {folder} ({exc.strerror})") from None
    check_dir(folder, info)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        if os.path.islink(path):
            raise StateError(f"{path} is a symlink; remove it (mfa-process never follows one)") from None
        raise StateError(f"cannot read {path} ({exc.strerror}); remove it") from None
    try:
        _check_file(path, os.fstat(fd))
        data = os.read(fd, MAX_STATE_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) <= MAX_STATE_BYTES:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    set_aside(path, "is not a state file mfa-process wrote (not UTF-8, or too large)")
    return None


def _check_file(path: str, info: os.stat_result) -> None:
    import stat

    if not stat.S_ISREG(info.st_mode):
        raise StateError(f"{path} is not a regular file; remove it")
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise StateError(f"{path} belongs to another user; remove it")
    if info.st_mode & 0o022 and sys.platform != "win32":
        raise StateError(f"{path} can be written by other users, so mfa-process does not trust it; remove it")


def set_aside(path: str | Path, reason: str) -> None:
    """Move a corrupt state file to ``NAME.corrupt`` (it is rebuilt) and say so once."""
    from mfa_process.voice import notice

    path = os.fspath(path)
    aside = path + ".corrupt"
    try:
        os.replace(path, aside)
    except OSError as exc:
        notice(f"{path} {reason}; ignoring it (could not move it aside: {exc.strerror})")
        return
    notice(f"{path} {reason}; moved it to {os.path.basename(aside)} and starting afresh")


def write_private(path: Path, text: str) -> None:
    """Atomically replace *path* with *text*, created 0600; a symlink in its place is refused."""
    import tempfile

    if path.is_symlink():
        raise StateError(f"{path} is a symlink; mfa-process refuses to write through it, remove it")
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


def read_records(path: Path) -> dict[str, dict[str, object]]:
    """A JSON object of objects from state file *path* (:func:`read_state`); missing or corrupt reads as empty."""
    import json

    try:
        doc = json.loads(read_state(path) or "{}")
    except ValueError:
        return {}
    return {k: v for k, v in doc.items() if isinstance(v, dict)} if isinstance(doc, dict) else {}


def write_records(path: Path, records: dict[str, dict[str, object]]) -> None:
    """Write *records* as JSON to *path* (0600, atomic), creating its private directory."""
    import json

    private_dir(path.parent)
    write_private(path, json.dumps(records) + "\n")
