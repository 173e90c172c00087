"""Checks of this machine: the aws CLI, the state directory and its lock files, the cached sessions."""

from __future__ import annotations

import os
import re
import stat

from mfa_process import DOCS_URL
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


def _not_private(name: str, info: os.stat_result, uid: int, forbidden: int) -> str | None:
    """What makes file *name* (its ``lstat``) untrustworthy: not a regular file, another owner, or a mode
    with a *forbidden* bit; None when it is fine."""
    if not stat.S_ISREG(info.st_mode):
        return f"{name} is not a regular file"
    if info.st_uid != uid:
        return f"{name} belongs to uid {info.st_uid}"
    if info.st_mode & forbidden:
        return f"{name} is {_mode(info)}"
    return None


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
        problem = _not_private(name, lock, probe.uid(), 0o077)
        if problem:
            bad.append(problem)
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


#: The state files a run reads; each must be the user's own, writable by no one else, and readable.
STATE_FILES = ("backend", "index.json", "used-codes.json")


def parse_index(data: bytes | None) -> dict[str, object] | None:
    """The entries of an ``index.json``'s bytes, or None when they are not an index mfa-process wrote."""
    import json

    from mfa_process.cache import entries_of
    from mfa_process.paths import MAX_STATE_BYTES

    if data is None or len(data) > MAX_STATE_BYTES:
        return None
    try:
        return dict(entries_of(json.loads(data.decode("utf-8"))))
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError):
        return None


def _readable(name: str, data: bytes | None) -> bool:
    """Whether a state file's content is what mfa-process writes (else the next run sets it aside)."""
    import json

    from mfa_process.paths import MAX_STATE_BYTES

    if data is None or len(data) > MAX_STATE_BYTES:
        return False
    if name == "index.json":
        return parse_index(data) is not None
    try:
        text = data.decode("utf-8")
        return name != "used-codes.json" or isinstance(json.loads(text), dict)
    except ValueError:
        return False


def check_state_files(probe: Probe) -> list[Finding]:
    """``backend``, ``index.json`` and ``used-codes.json``: the user's own, writable by no one else, readable."""
    path = probe.state_dir
    info = probe.lstat(path)
    if info is None or not stat.S_ISDIR(info.st_mode) or stat.S_ISLNK(info.st_mode):
        return []  # nothing yet, or check_state_dir already said what is wrong
    present, untrusted, corrupt = 0, [], []
    for name in STATE_FILES:
        found = probe.lstat(path / name)
        if found is None:
            continue
        present += 1
        problem = _not_private(name, found, probe.uid(), 0o022)
        if problem:
            untrusted.append(problem)
        elif not _readable(name, probe.read_bytes(path / name)):
            corrupt.append(name)
    if untrusted:
        return [
            fail(
                "state files",
                f"in {path}: {'; '.join(untrusted)}; mfa-process refuses to use them until they are gone",
                f"rm {path}/{{{','.join(STATE_FILES)}}} (mfa-process recreates them)",
            )
        ]
    if corrupt:
        names = ", ".join(corrupt)
        return [
            warn(
                "state files",
                f"{names} in {path} corrupt: the next run moves it aside (NAME.corrupt) and rebuilds it",
                f"rm {' '.join(str(path / name) for name in corrupt)}",
            )
        ]
    return [ok("state files", f"{present} in {path}, yours, private and readable")]


def check_cache(probe: Probe) -> list[Finding]:
    """The cache backend ``--cache auto`` uses: which, why, whether it works, and whether hits take the fast path."""
    from mfa_process.errors import KeyringError

    try:
        found = probe.cache_description()
    except KeyringError as exc:
        return [
            fail(
                "cache",
                f"no usable backend: {exc}",
                "see https://github.com/mfa-process/mfa-process/blob/main/docs/keyrings.md",
            )
        ]
    saw = f"{found['cache']} ({found['backend']}): {found['reason']}"
    if found["cache"] == "kernel":
        return [ok("cache", f"{saw}; hits are two system calls; the cache is lost on reboot")]
    fast = found.get("fast_path", "")
    if fast == "active":
        return [ok("cache", f"{saw}; hits read the Secret Service directly (fast path active)")]
    return [
        warn(
            "cache",
            f"{saw}; the fast path is off ({fast or 'keyring answers every read'}): each hit imports keyring",
            f"let --cache auto pick the Secret Service or kernel keyring ({DOCS_URL}/keyrings.md#choosing-the-cache)",
        )
    ]


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


def check_rotations(probe: Probe) -> list[Finding]:
    """Key rotations that were interrupted (their journals in the state directory); nothing when there are none."""
    from mfa_process.rotation import JOURNAL_DIR, Journal, unfinished

    folder = probe.state_dir / JOURNAL_DIR
    out = []
    for name in probe.listdir(folder):
        path = folder / name
        journal = Journal.from_json(probe.read_text(path) or "")
        if journal is None:
            out.append(warn("rotation", f"{path} is not a rotation journal mfa-process can read", f"rm {path}"))
            continue
        if probe.profile is not None and journal.profile != probe.profile:
            continue
        fix = f"mfa-process rotate-keys --profile {journal.profile} (finishes it; the key in place works meanwhile)"
        out.append(warn("rotation", unfinished(journal), fix, f"profile {journal.profile}"))
    return out
