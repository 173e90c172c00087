"""Remember the last MFA code AWS accepted per device, hashed, for its 30-second window.

AWS accepts each one-time code once. Typing the same code again (a second login within the same window) would
fail with AWS's generic AccessDenied; knowing it was just used lets the tool say "wait for the next one"
before calling STS. Only a salted hash is kept, never the code, and a used code is worthless anyway.
"""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path
from typing import Final

FILE_NAME: Final = "used-codes.json"
#: A TOTP code is valid for its 30-second step and AWS tolerates about one step of clock drift either side.
REMEMBER_SECONDS: Final = 90


def _device_id(serial: str) -> str:
    return hashlib.sha256(serial.encode("utf-8")).hexdigest()[:16]


def _hash(salt: str, serial: str, code: str) -> str:
    return hashlib.sha256(f"{salt}|{serial}|{code}".encode()).hexdigest()


def was_used(records: dict[str, dict[str, object]], serial: str, code: str, now: float) -> bool:
    """Whether *code* is the last code accepted for *serial* and still within its window."""
    record = records.get(_device_id(serial))
    if not record:
        return False
    until = record.get("until")
    if not isinstance(until, (int, float)) or now > until:
        return False
    return record.get("hash") == _hash(str(record.get("salt", "")), serial, code)


def remember(records: dict[str, dict[str, object]], serial: str, code: str, now: float) -> None:
    """Record *code* as just accepted for *serial*; expired records are dropped."""
    for device in [d for d, r in records.items() if not isinstance(r.get("until"), (int, float)) or now > r["until"]]:  # type: ignore[operator]
        del records[device]
    salt = secrets.token_hex(8)
    records[_device_id(serial)] = {
        "salt": salt,
        "hash": _hash(salt, serial, code),
        "until": now + REMEMBER_SECONDS,
    }


def load(state: Path) -> dict[str, dict[str, object]]:
    """The records; missing or corrupt reads as empty."""
    from mfa_process.paths import read_records

    return read_records(state / FILE_NAME)


def save(state: Path, records: dict[str, dict[str, object]]) -> None:
    """Write the records (0600, atomic)."""
    from mfa_process.paths import write_records

    write_records(state / FILE_NAME, records)
