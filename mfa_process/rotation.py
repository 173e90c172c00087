"""The rotation of a long-term access key as a small state machine, free of I/O.

One rotation goes through these phases, each recorded in a journal (no secret in it) before the next
step starts, so that an interruption at any point leaves a state a re-run can finish from:

``started``  the journal exists; ``iam:CreateAccessKey`` may be under way (its answer may be lost)
``created``  the new key exists in IAM; its secret is only in memory, the old pair is still in place
``stored``   the new pair is where the old one was; the old pair is kept in the keyring for a roll-back
``verified`` ``sts:GetCallerIdentity`` accepted the new pair (or ``--no-verify``)
``retired``  the old key was deleted (or set Inactive); only clean-up is left

At every phase the place the tool reads from holds a pair IAM knows: the old pair up to ``stored``, the
new one from then on (the old key is retired only after the new pair has been verified).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from mfa_process.records import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path
    from typing import Callable, Final, Protocol

    class KeyInfo(Protocol):
        """What the state machine needs of a listed access key."""

        @property
        def key_id(self) -> str:
            """``AKIA...``."""

        @property
        def status(self) -> str:
            """``Active`` or ``Inactive``."""

        @property
        def created(self) -> datetime | None:
            """When IAM created the key."""

    class CheckLike(Protocol):
        """A verification answer (:class:`mfa_process.sts.KeyCheck`)."""

        @property
        def arn(self) -> str | None:
            """The caller's ARN when the pair was accepted."""

        @property
        def may_pass(self) -> bool:
            """Whether trying again later may succeed."""


#: The IAM actions a rotation calls, all with the MFA session (``mfa-process policy`` must allow them).
IAM_ACTIONS: Final = ("iam:ListAccessKeys", "iam:CreateAccessKey", "iam:UpdateAccessKey", "iam:DeleteAccessKey")
#: The journals' directory in the state directory.
JOURNAL_DIR: Final = "rotations"
PHASES: Final = ("started", "created", "stored", "verified", "retired")
#: Where a pair can live.
KEYRING: Final = "keyring"
FILE: Final = "file"
#: How long a new key may take to be accepted (IAM is eventually consistent).
VERIFY_SECONDS: Final = 30.0
#: First pause between verification attempts; doubled after each, capped at :data:`MAX_PAUSE`.
FIRST_PAUSE: Final = 1.0
MAX_PAUSE: Final = 8.0
#: A key listed as created this long before the journal still counts as the interrupted run's own
#: (clocks of this machine and of IAM may disagree a little).
CLOCK_SLACK: Final = 300.0


class Journal(Record):
    """What a rotation in progress has done, written to the state directory after every step."""

    profile: str
    where: str
    user: str
    old_id: str
    phase: str
    started: float
    retire: str = "delete"
    new_id: str | None = None

    def to_json(self) -> str:
        """The journal file's text."""
        return json.dumps(self._asdict(), indent=1, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Journal | None:
        """The journal in *text*, or None when it is not one of ours."""
        try:
            doc = json.loads(text)
            journal = cls(**{name: doc[name] for name in cls._fields if name in doc})
        except (ValueError, TypeError):
            return None
        return journal if journal.phase in PHASES and journal.where in (KEYRING, FILE) else None


def journal_path(state: Path, profile: str) -> Path:
    """Where the journal of *profile*'s rotation lives (the name is the profile, percent-escaped)."""
    from urllib.parse import quote

    return state / JOURNAL_DIR / f"{quote(profile, safe='')}.json"


def unfinished(journal: Journal) -> str:
    """What an interrupted rotation left, in a few words (for ``doctor``)."""
    new = journal.new_id or "a new key"
    place = "~/.aws/credentials" if journal.where == FILE else "the keyring"
    return f"a key rotation stopped ({journal.phase}) while replacing {journal.old_id} with {new} in {place}"


def next_step(journal: Journal | None, current_id: str, *, verify: bool) -> str:
    """Where a run starts, given the journal (if a rotation was interrupted) and the key id now in place.

    ``create``  no rotation in progress: create the new key, then ``store``, ``verify``, ``retire``
    ``discard`` the new pair never reached its place (its secret died with the interrupted run): delete
                the new key, or the orphan of a lost ``CreateAccessKey`` answer, and forget the journal
    ``verify``  the new pair is in place but unchecked: check it (``rollback`` if AWS refuses it)
    ``retire``  the new pair is in place and works: delete (or deactivate) the old key
    ``finish``  the old key is retired: forget the journal and the kept old pair
    ``foreign`` the keys in place are neither the old nor the new ones: stop and let the user decide
    """
    if journal is None:
        return "create"
    if current_id == journal.old_id and journal.phase in ("started", "created", "stored"):
        return "discard"  # "stored" meets the old id only when the (atomic) write did not happen
    if current_id != journal.new_id:
        return "foreign"
    if journal.phase in ("created", "stored"):  # "created": the write happened, its journal entry did not
        return "verify" if verify else "retire"
    return "retire" if journal.phase == "verified" else "finish"


def advance(journal: Journal, phase: str, new_id: str | None = None) -> Journal:
    """The journal after a step that reached *phase* (and, for ``created``, the new key's id)."""
    return journal._replace(phase=phase, new_id=new_id or journal.new_id)


def orphans(journal: Journal, keys: Sequence[KeyInfo]) -> list[str]:
    """Keys an interrupted run created whose secret was never stored (so nobody can use them)."""
    if journal.new_id is not None:
        return [k.key_id for k in keys if k.key_id == journal.new_id]
    since = journal.started - CLOCK_SLACK
    return [
        k.key_id
        for k in keys
        if k.key_id != journal.old_id and k.created is not None and k.created.timestamp() >= since
    ]


def other_key(keys: Sequence[KeyInfo], current_id: str) -> KeyInfo | None:
    """The user's second key, when IAM's limit of two keys per user leaves no room for a new one."""
    others = [k for k in keys if k.key_id != current_id]
    return others[0] if len(keys) >= 2 and others else None


def pauses(limit: float = VERIFY_SECONDS) -> list[float]:
    """The waits between verification attempts: 1, 2, 4, 8, 8 ... seconds, adding up to *limit*."""
    out: list[float] = []
    pause = FIRST_PAUSE
    while sum(out) + pause <= limit:
        out.append(pause)
        pause = min(pause * 2, MAX_PAUSE)
    if sum(out) < limit:
        out.append(limit - sum(out))
    return out


def verify_with_backoff(
    check: Callable[[], CheckLike],
    sleep: Callable[[float], None],
    limit: float = VERIFY_SECONDS,
) -> tuple[CheckLike, int]:
    """Ask *check* until it accepts, refuses for good, or *limit* seconds of waiting have passed.

    Returns the last answer and the number of attempts.
    """
    attempts = 1
    result = check()
    for pause in pauses(limit):
        if result.arn is not None or not result.may_pass:
            break
        sleep(pause)
        attempts += 1
        result = check()
    return result, attempts


def user_from_arn(arn: str) -> str | None:
    """The IAM user name in ``arn:aws:iam::ACCOUNT:user/PATH/NAME``; None for anything else."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam" or not parts[5].startswith("user/"):
        return None
    return parts[5].rsplit("/", 1)[-1] or None


def describe_time(when: datetime | None) -> str:
    """A key's creation time for a message."""
    if when is None:
        return "at an unknown time"
    return when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
