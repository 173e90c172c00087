"""``mfa-process doctor``: find what stops a profile from working, one line per check, each with its fix.

The shape, for adding a check:

- A check is a function ``check_NAME(probe: Probe) -> list[Finding]`` in a module of this package
  (``profiles.py`` for the AWS files, ``local.py`` for this machine, ``online.py`` for the one check that talks
  to AWS). It decides only: every read of the outside world goes through :class:`~.probe.Probe` (files,
  environment, the state directory, programs on PATH, the clock, the network), so a unit test can hand it a
  probe with made-up answers. A check returns no finding when it has nothing to judge (no profile to check).
- It is listed, in the order users should read the lines, in :data:`mfa_process.doctor.registry.CHECKS`.
- A :class:`Finding` is ``ok``, ``warn`` or ``fail``; ``saw`` says what was found (never a secret) and
  ``fix`` the exact thing to run or change (required unless ``ok``). ``doctor`` exits 1 when any finding
  fails, 0 otherwise; ``--json`` prints the same findings for scripts.
- A check that raises :class:`~mfa_process.errors.MfaProcessError` becomes one ``fail`` line with the error's
  text, so one broken part never hides the others' lines.
"""

from __future__ import annotations

from mfa_process.records import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

OK: Final = "ok"
WARN: Final = "warn"
FAIL: Final = "fail"
STATUSES: Final = (OK, WARN, FAIL)


class Finding(Record):
    """The verdict of one check on one subject."""

    check: str  # short name of the check: "shadowing", "region", ...
    status: str  # ok, warn or fail
    saw: str  # what was found, in a few words
    fix: str = ""  # the exact fix; empty only when ok
    subject: str = ""  # what it is about, e.g. "profile my-profile-mfa"

    def line(self) -> str:
        """``fail  shadowing (profile x-mfa): what it saw; fix: what to do``."""
        about = f" ({self.subject})" if self.subject else ""
        fix = f"; fix: {self.fix}" if self.fix and self.status != OK else ""
        return f"{self.status:<4}  {self.check}{about}: {self.saw}{fix}"


def ok(check: str, saw: str, subject: str = "") -> Finding:
    """A passing finding."""
    return Finding(check, OK, saw, "", subject)


def warn(check: str, saw: str, fix: str, subject: str = "") -> Finding:
    """Works, but not as well as it could, or soon will not."""
    return Finding(check, WARN, saw, fix, subject)


def fail(check: str, saw: str, fix: str, subject: str = "") -> Finding:
    """Does not work until fixed."""
    return Finding(check, FAIL, saw, fix, subject)


def exit_code(findings: list[Finding]) -> int:
    """1 when any finding fails, else 0."""
    return 1 if any(f.status == FAIL for f in findings) else 0
