"""Remember for a few seconds that asking for a code failed, so a client's retries fail at once.

Some SDKs run a failed credential_process again at once (one runs it 4 times per request): without this
memory, pressing Ctrl-D at the prompt would bring the same prompt back 4 times. A cancelled prompt, no
way to ask, or too many wrong codes is kept per profile and device, with its message (never a secret),
for :data:`REMEMBER_SECONDS`; a retry within that window fails with the same line and no prompt.
``login`` forgets it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Final

FILE_NAME: Final = "refusals.json"
#: Longer than a client's burst of retries, shorter than a user's second try.
REMEMBER_SECONDS: Final = 10


def device_key(profile: str, serial: str) -> str:
    """The record's key for a profile and MFA device (hashed: names never become file content)."""
    return hashlib.sha256(f"{profile}|{serial}".encode()).hexdigest()[:16]


def recall(state: Path, key: str, now: float) -> tuple[str, str] | None:
    """The kind of failure and its message remembered under *key*, if still within its window."""
    record = _load(state).get(key, {})
    until, kind, message = record.get("until"), record.get("kind"), record.get("message")
    if not isinstance(until, (int, float)) or not now <= until or now < until - REMEMBER_SECONDS:
        return None  # expired, or the clock went back
    if not isinstance(kind, str) or not isinstance(message, str):
        return None
    return kind, message


def remember(state: Path, key: str, kind: str, message: str, now: float) -> None:
    """Keep the failure under *key* for :data:`REMEMBER_SECONDS` from *now*; expired records are dropped."""
    records = {k: r for k, r in _load(state).items() if isinstance(r.get("until"), (int, float)) and now <= r["until"]}  # type: ignore[operator]
    records[key] = {"kind": kind, "message": message, "until": now + REMEMBER_SECONDS}
    _save(state, records)


def forget(state: Path, key: str) -> None:
    """Drop the failure remembered under *key* (``login`` asks again whatever happened before)."""
    records = _load(state)
    if records.pop(key, None) is not None:
        _save(state, records)


def _load(state: Path) -> dict[str, dict[str, object]]:
    from mfa_process.paths import read_records

    return read_records(state / FILE_NAME)


def _save(state: Path, records: dict[str, dict[str, object]]) -> None:
    from mfa_process.paths import write_records

    write_records(state / FILE_NAME, records)
