"""The temporary credential value: its credential_process JSON, environment and cache forms, time left."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from mfa_process.records import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Final

#: Version of the compact cache encoding; a different version is read as a cache miss.
CACHE_FORMAT: Final = 1


def format_expiration(when: datetime) -> str:
    """Return *when* as UTC ISO 8601 ending in ``Z`` (the form every AWS SDK parses)."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_expiration(text: str) -> datetime:
    """Parse an ISO 8601 timestamp (``Z`` or an offset) into an aware UTC datetime."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("timestamp has no time zone")
    return parsed.astimezone(timezone.utc)


def format_left(seconds: float) -> str:
    """A duration for people: ``11h59m``, ``14m``, ``expired``."""
    if seconds <= 0:
        return "expired"
    minutes = int(seconds // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m"


def format_local(when: datetime) -> str:
    """*when* in the local time zone, to the minute, with the zone's name."""
    return when.astimezone().strftime("%Y-%m-%d %H:%M %Z")


def account_id_from_arn(arn: str | None) -> str | None:
    """Return the 12-digit account id of an ARN, or None for a plain serial number (hardware token)."""
    if not arn:
        return None
    parts = arn.split(":")
    if len(parts) >= 6 and parts[0] == "arn" and len(parts[4]) == 12 and parts[4].isdigit():
        return parts[4]
    return None


class Credentials(Record):
    """A set of temporary AWS credentials; ``expiration`` is STS's own value, aware and in UTC.

    A NamedTuple rather than a dataclass: ``dataclasses`` imports ``inspect``, which costs a cache hit
    more than everything else the tool does.
    """

    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime
    account_id: str | None = None

    def __repr__(self) -> str:
        """Show what identifies the credentials, never the secrets."""
        return (
            f"Credentials(access_key_id={self.access_key_id!r}, "
            f"expiration={format_expiration(self.expiration)!r}, account_id={self.account_id!r})"
        )

    def seconds_left(self, now: datetime) -> float:
        """Seconds until expiry at *now* (negative once expired)."""
        return (self.expiration - now).total_seconds()

    def secrets(self) -> tuple[str, str]:
        """The values that must never be shown: the secret key and the session token."""
        return (self.secret_access_key, self.session_token)

    def to_process_output(self) -> dict[str, Any]:
        """The credential_process document (Version 1)."""
        out: dict[str, Any] = {
            "Version": 1,
            "AccessKeyId": self.access_key_id,
            "SecretAccessKey": self.secret_access_key,
            "SessionToken": self.session_token,
            "Expiration": format_expiration(self.expiration),
        }
        if self.account_id:
            out["AccountId"] = self.account_id
        return out

    def to_process_json(self) -> str:
        """The credential_process document as one line of JSON."""
        return json.dumps(self.to_process_output(), separators=(",", ":"))

    def to_env(self) -> dict[str, str]:
        """The environment variables every AWS SDK reads."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
            "AWS_CREDENTIAL_EXPIRATION": format_expiration(self.expiration),
        }

    def to_cache(self) -> str:
        """Compact encoding for the keyring (short keys, epoch seconds) so entries stay small."""
        doc: dict[str, Any] = {
            "v": CACHE_FORMAT,
            "k": self.access_key_id,
            "s": self.secret_access_key,
            "t": self.session_token,
            "e": int(self.expiration.timestamp()),
        }
        if self.account_id:
            doc["a"] = self.account_id
        return json.dumps(doc, separators=(",", ":"))

    @classmethod
    def from_cache(cls, text: str) -> Credentials:
        """Decode :meth:`to_cache` output; raise ValueError for anything else."""
        try:
            doc = json.loads(text)
        except ValueError:
            raise ValueError("cache entry is not JSON") from None
        if not isinstance(doc, dict) or doc.get("v") != CACHE_FORMAT:
            raise ValueError("cache entry has an unknown format")
        fields = (doc.get("k"), doc.get("s"), doc.get("t"))
        if not all(isinstance(f, str) and f for f in fields):
            raise ValueError("cache entry lacks a credential field")
        expires = doc.get("e")
        if not isinstance(expires, int) or isinstance(expires, bool):
            raise ValueError("cache entry lacks an expiry")  # noqa: TRY004 - ValueError means "not ours"
        account = doc.get("a")
        return cls(
            access_key_id=str(fields[0]),
            secret_access_key=str(fields[1]),
            session_token=str(fields[2]),
            expiration=datetime.fromtimestamp(expires, timezone.utc),
            account_id=account if isinstance(account, str) else None,
        )
