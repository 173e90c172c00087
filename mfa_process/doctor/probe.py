"""Every read of the outside world that ``doctor``'s checks make, in one class, each read done once.

Checks call these methods and judge the answers; tests of a check hand it a probe whose methods return
made-up answers. Nothing here decides anything.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path

from mfa_process.config import AwsFiles, Profiles, config_path, credentials_path, read_ini


class Probe:
    """The machine as ``doctor`` sees it: *env* is the process environment, *profile* the ``--profile`` given."""

    def __init__(self, env: Mapping[str, str], *, profile: str | None = None, online: bool = False) -> None:
        self.env = env
        self.profile = profile
        self.online = online

    @functools.cached_property
    def raw_config(self) -> tuple[str, Profiles]:
        """``~/.aws/config``'s path and its sections as written (``[profile x]`` stays ``profile x``)."""
        path = config_path(self.env)
        return path, read_ini(path)

    @functools.cached_property
    def raw_credentials(self) -> tuple[str, Profiles]:
        """``~/.aws/credentials``'s path and its sections."""
        path = credentials_path(self.env)
        return path, read_ini(path)

    @functools.cached_property
    def files(self) -> AwsFiles:
        """Both files as the rest of the tool reads them (raises ConfigError when one cannot be parsed)."""
        return AwsFiles.load(self.env)

    def which(self, program: str) -> str | None:
        """*program* found on PATH (or as given, when it is a path), or None."""
        import shutil

        return shutil.which(program, path=self.env.get("PATH"))

    def is_executable(self, path: str) -> bool:
        """Whether *path* is a file this user may run."""
        return os.path.isfile(path) and os.access(path, os.X_OK)

    def realpath(self, path: str) -> str:
        """*path* with symlinks resolved."""
        return os.path.realpath(path)

    def output(self, argv: Sequence[str]) -> str | None:
        """What *argv* prints (stdout and stderr, stripped) within 20 seconds, or None if it cannot run."""
        import subprocess

        try:
            done = subprocess.run(
                list(argv),
                capture_output=True,
                text=True,
                timeout=20,
                stdin=subprocess.DEVNULL,
                env=dict(self.env),
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return (done.stdout + done.stderr).strip()

    def this_program(self) -> list[str]:
        """The command line that runs this mfa-process (what setup writes into credential_process)."""
        from mfa_process.commands.setup import helper_argv

        return helper_argv()

    def version(self) -> str:
        """This mfa-process's version."""
        from mfa_process import __version__

        return __version__

    def now(self) -> datetime:
        """The local clock, as an aware UTC datetime."""
        return datetime.now(timezone.utc)

    def stored_keys(self, profile: str) -> bool:
        """Whether the keyring holds long-term keys of *profile* (raises KeyringError when it cannot be read)."""
        from mfa_process.keys import load_keys
        from mfa_process.keystore.choose import open_keys

        return load_keys(open_keys(self.state_dir, self.env, allow_insecure=True), profile) is not None

    def cache_description(self) -> dict[str, str]:
        """Which cache backend ``--cache auto`` picks here and why (raises KeyringError when none is usable)."""
        from mfa_process.keystore.choose import open_cache

        return {k: str(v) for k, v in open_cache(self.state_dir, self.env).describe().items()}

    @functools.cached_property
    def state_dir(self) -> Path:
        """Where mfa-process keeps its locks and index."""
        from mfa_process.paths import state_dir

        return state_dir(self.env)

    def lstat(self, path: Path) -> os.stat_result | None:
        """*path*'s status (not following a symlink), or None when it does not exist."""
        try:
            return os.lstat(path)
        except FileNotFoundError:
            return None

    def listdir(self, path: Path) -> list[str]:
        """Names in directory *path* (empty when it cannot be listed)."""
        try:
            return sorted(os.listdir(path))
        except OSError:
            return []

    def read_text(self, path: Path) -> str | None:
        """The text of file *path*, or None when it cannot be read."""
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def uid(self) -> int:
        """This process's user id."""
        return os.getuid() if hasattr(os, "getuid") else 0

    def read_bytes(self, path: Path) -> bytes | None:
        """Up to 1 MiB and one byte of *path* (never through a symlink), or None when it cannot be read."""
        from mfa_process.paths import MAX_STATE_BYTES

        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            return None
        try:
            return os.read(fd, MAX_STATE_BYTES + 1)
        except OSError:
            return None
        finally:
            os.close(fd)

    def cache_index(self) -> dict[str, object]:
        """The secret-free index of cached sessions and role credentials; empty when absent or corrupt.

        Read without side effects: a corrupt index is reported by ``state files``, not set aside here.
        """
        from mfa_process.doctor.local import parse_index

        entries = parse_index(self.read_bytes(self.state_dir / "index.json"))
        return dict(entries or {})

    def sts_date(self, profile: str, region: str | None) -> tuple[str, datetime] | None:
        """The STS endpoint *profile* uses and the time in its HTTP ``Date`` header (no credentials sent)."""
        from mfa_process.sts import endpoint_date

        return endpoint_date(profile, region)
