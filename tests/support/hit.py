"""A cache hit run for real, with the exact list of modules it imported: the guard of the hot path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.home import AwsHome

PROFILE = "hot"
SERIAL = "arn:aws:iam::123456789012:mfa/hot"
ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # AWS's documented example

#: Put one session in the cache as ``login`` does (through the package's store, which also records the
#: keyring backend), in a process of its own so that nothing it imports is counted for the hit.
SEED = """
import json, os, secrets, sys, time
from mfa_process.cache import session_key
from mfa_process.credentials import Credentials
from mfa_process.keystore.choose import open_cache
from mfa_process.paths import state_dir
profile, serial = sys.argv[1:]
creds = Credentials(
    "ASIA" + secrets.token_hex(8).upper(), secrets.token_urlsafe(30), "IQoJ" + secrets.token_urlsafe(600),
    int(time.time()) + 6 * 3600, "123456789012",
)
store = open_cache(state_dir(os.environ), os.environ)
store.save(session_key(profile, serial), creds.to_cache(), creds.expiration)
print(json.dumps(creds._asdict()))
"""

#: The hit, as the console script runs it (less pip's launcher), recording ``sys.modules`` before and after.
HIT = """
import sys
before = set(sys.modules)
if sys.argv[2] == "break-fast-read":
    from mfa_process.keystore import secretservice

    def broken(*args, **kwargs):
        raise secretservice.FastReadUnavailable("broken on purpose")

    secretservice.read = broken
from mfa_process.cli import main
code = main(sys.argv[3:])
after = set(sys.modules)
with open(sys.argv[1], "w", encoding="utf-8") as out:
    out.write(repr((code, sorted(before), sorted(after - before))))
"""


def hot_home(root: Path, **kwargs: object) -> AwsHome:
    """A home whose profile ``hot`` has an MFA device and long-term keys in the credentials file."""
    return AwsHome(
        root,
        config={PROFILE: {"mfa_serial": SERIAL, "region": "eu-west-1"}},
        credentials={PROFILE: {"aws_access_key_id": ACCESS_KEY_ID, "aws_secret_access_key": SECRET_ACCESS_KEY}},
        **kwargs,  # type: ignore[arg-type]
    )


def seed(home: AwsHome) -> dict[str, object]:
    """Cache a session for profile ``hot`` in the backend ``--cache auto`` picks for *home*; the credentials stored."""
    result = home.run([sys.executable, "-c", SEED, PROFILE, SERIAL])
    assert result.returncode == 0, result.stderr
    doc: dict[str, object] = json.loads(result.stdout)
    return doc


class Hit:
    """One real hit: its credential_process document, the modules loaded before it started, those it added."""

    def __init__(self, doc: dict[str, object], startup: set[str], imported: set[str]) -> None:
        self.doc = doc
        self.startup = startup
        self.imported = imported

    def expect(self, allowed: set[str]) -> set[str]:
        """*allowed* less what this interpreter had loaded at start-up (a venv's .pth files load some)."""
        return allowed - self.startup


def hit(home: AwsHome, report: Path, *extra: str, break_fast_read: bool = False) -> Hit:
    """Run ``mfa-process --profile hot [EXTRA...]`` (optionally with the Secret Service fast read made to decline)."""
    mode = "break-fast-read" if break_fast_read else "as-is"
    result = home.run([sys.executable, "-c", HIT, str(report), mode, "--profile", PROFILE, *extra])
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    code, startup, imported = eval(report.read_text(encoding="utf-8"))  # noqa: S307 - our own repr
    assert code == 0
    return Hit(json.loads(result.stdout), set(startup), set(imported))


def run_hit_process(home: AwsHome, *args: str) -> subprocess.CompletedProcess[str]:
    """The real console script, for tests that only look at its output."""
    return home.run([str(Path(sys.executable).parent / "mfa-process"), *args])
