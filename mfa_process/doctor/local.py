"""Checks of this machine: the aws CLI, the state directory and its lock files, the cached sessions."""

from __future__ import annotations

import re
import stat

from mfa_process.doctor import Finding, fail, ok, warn
from mfa_process.doctor.probe import Probe

AWS_CLI_INSTALL = (
    "install the AWS CLI v2: https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html"
)


def check_aws_cli(probe: Probe) -> list[Finding]:
    """The aws CLI on PATH and its major version (not needed by the SDKs, but what users try first)."""
    path = probe.which("aws")
    if path is None:
        return [warn("aws cli", "no `aws` on PATH", AWS_CLI_INSTALL)]
    text = probe.output([path, "--version"]) or ""
    match = re.search(r"aws-cli/(\d+)\.(\S+)", text)
    if match is None:
        return [warn("aws cli", f"{path} does not say its version (`aws --version`)", AWS_CLI_INSTALL)]
    version = f"{match.group(1)}.{match.group(2)}"
    if match.group(1) == "1":
        return [ok("aws cli", f"{path}, aws-cli {version} (v1; v2 is current)")]
    return [ok("aws cli", f"{path}, aws-cli {version}")]


def _mode(info: object) -> str:
    return oct(stat.S_IMODE(info.st_mode))  # type: ignore[attr-defined]


def check_state_dir(probe: Probe) -> list[Finding]:
    """The state directory is a private directory of this user, and so is every lock file in it."""
    path = probe.state_dir
    info = probe.lstat(path)
    fix_remove = f"rm -r {path} (mfa-process recreates it; cached sessions stay in the keyring)"
    if info is None:
        return [ok("state dir", f"{path} not created yet (the first run creates it 0700)")]
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        return [fail("state dir", f"{path} is a symlink or not a directory", fix_remove)]
    if info.st_uid != probe.uid():
        return [fail("state dir", f"{path} belongs to uid {info.st_uid}, not {probe.uid()}", fix_remove)]
    if info.st_mode & 0o077:
        return [warn("state dir", f"{path} is {_mode(info)}, open to others", f"chmod 700 {path}")]
    out = [ok("state dir", f"{path}, 0o700, yours")]
    locks = path / "locks"
    bad = []
    for name in probe.listdir(locks):
        lock = probe.lstat(locks / name)
        if lock is None:
            continue
        if not stat.S_ISREG(lock.st_mode):
            bad.append(f"{name} is not a regular file")
        elif lock.st_uid != probe.uid():
            bad.append(f"{name} belongs to uid {lock.st_uid}")
        elif lock.st_mode & 0o077:
            bad.append(f"{name} is {_mode(lock)}")
    if bad:
        out.append(
            fail(
                "lock files",
                f"in {locks}: {'; '.join(bad[:3])}{' ...' if len(bad) > 3 else ''}",
                f"rm -r {locks} while no mfa-process runs (they are recreated 0600)",
            )
        )
    else:
        out.append(ok("lock files", f"{len(probe.listdir(locks))} in {locks}, all yours and private"))
    return out


def check_sessions(probe: Probe) -> list[Finding]:
    """The cached MFA session of each source profile checked, and its time left."""
    from mfa_process.cache import IndexEntry
    from mfa_process.credentials import format_left
    from mfa_process.doctor.profiles import checked_sources

    sources = checked_sources(probe)
    entries = [e for e in probe.cache_index().values() if isinstance(e, IndexEntry) and e.kind == "session"]
    now = probe.now()
    out = []
    for source in sources:
        subject = f"profile {source}"
        mine = [e for e in entries if e.profile == source]
        left = max((int((e.expires - now).total_seconds()) for e in mine), default=None)
        login = f"mfa-process login --profile {source}"
        if left is None:
            out.append(warn("session", "none cached: the next AWS call asks for a code", login, subject))
        elif left <= 0:
            out.append(warn("session", "the cached session has expired: the next call asks for a code", login, subject))
        else:
            out.append(ok("session", f"cached, {format_left(left)} left", subject))
    return out
