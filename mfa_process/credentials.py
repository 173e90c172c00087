"""The temporary credential value: its credential_process JSON, environment and cache forms, time left.

A cache hit runs this module on every AWS call, so it works in epoch seconds (``time``, loaded with the
interpreter) rather than ``datetime``, and writes and reads its two JSON forms by hand rather than through
``json`` (whose decoder imports ``re``). Both hand-written forms are checked against ``json`` by the unit
tests; a cache value that is not in the exact form :meth:`Credentials.to_cache` writes is read by ``json``.
"""

from __future__ import annotations

import time

from mfa_process.records import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime
    from typing import Any, Final

#: Version of the compact cache encoding; a different version is read as a cache miss.
CACHE_FORMAT: Final = 1
#: 10000-01-01T00:00:00Z: expiries from here on cannot be written as ISO 8601 and are not ours.
MAX_EPOCH: Final = 253402300800


def format_expiration(epoch: int) -> str:
    """Epoch seconds as UTC ISO 8601 ending in ``Z`` (the form every AWS SDK parses)."""
    t = time.gmtime(epoch)
    return f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}Z"


def epoch_of(when: datetime) -> int:
    """Whole epoch seconds of an aware datetime (STS's ``Expiration``), fractions dropped."""
    if when.tzinfo is None:
        raise ValueError("timestamp has no time zone")
    return int(when.timestamp() // 1)


def parse_expiration(text: str) -> datetime:
    """Parse an ISO 8601 timestamp (``Z`` or an offset) into an aware UTC datetime."""
    from datetime import datetime, timezone

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


def format_local(epoch: int) -> str:
    """Epoch seconds in the local time zone, to the minute, with the zone's name."""
    return time.strftime("%Y-%m-%d %H:%M %Z", time.localtime(epoch))


def account_id_from_arn(arn: str | None) -> str | None:
    """Return the 12-digit account id of an ARN, or None for a plain serial number (hardware token)."""
    if not arn:
        return None
    parts = arn.split(":")
    if len(parts) >= 6 and parts[0] == "arn" and len(parts[4]) == 12 and parts[4].isdigit():
        return parts[4]
    return None


#: JSON escapes of the characters ``json.dumps`` (``ensure_ascii``) escapes by name.
_ESCAPES: Final = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def json_string(text: str) -> str:
    """*text* as a JSON string literal, byte for byte what ``json.dumps(text)`` writes."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    out = []
    for char in text:
        code = ord(char)
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif 0x20 <= code < 0x7F:
            out.append(char)
        elif code > 0xFFFF:
            code -= 0x10000
            out.append(f"\\u{0xD800 | (code >> 10):04x}\\u{0xDC00 | (code & 0x3FF):04x}")
        else:
            out.append(f"\\u{code:04x}")
    return '"' + "".join(out) + '"'


def json_object(fields: list[tuple[str, str | int]]) -> str:
    """A flat JSON object of strings and integers in compact form (``separators=(",", ":")``)."""
    items = (f"{json_string(k)}:{v if isinstance(v, int) else json_string(v)}" for k, v in fields)
    return "{" + ",".join(items) + "}"


def _plain_string(text: str, start: int) -> tuple[str, int] | None:
    """The JSON string at *start* if it has no escapes, and the index after it; None otherwise."""
    if text[start : start + 1] != '"':
        return None
    end = text.find('"', start + 1)
    if end < 0:
        return None
    value = text[start + 1 : end]
    if "\\" in value or not value.isprintable():
        return None
    return value, end + 1


def _plain_object(text: str) -> dict[str, object] | None:
    """Parse the compact form :meth:`Credentials.to_cache` writes (no spaces, no escapes); None for anything else."""
    if not (text.startswith("{") and text.endswith("}")):
        return None
    doc: dict[str, object] = {}
    i, last = 1, len(text) - 1
    while i < last:
        key = _plain_string(text, i)
        if key is None or text[key[1] : key[1] + 1] != ":" or key[0] in doc:
            return None
        i = key[1] + 1
        value: object
        string = _plain_string(text, i)
        if string is not None:
            value, i = string
        else:
            end = i
            while end < last and text[end] != ",":
                end += 1
            number = text[i:end]
            if not (number.isascii() and number.isdigit() and (number == "0" or number[0] != "0")):
                return None
            value, i = int(number), end
        doc[key[0]] = value
        if i < last:
            if text[i] != "," or i + 1 == last:
                return None
            i += 1
    return doc


class Credentials(Record):
    """A set of temporary AWS credentials; ``expiration`` is STS's own value, in epoch seconds.

    A :class:`~mfa_process.records.Record` rather than a dataclass: ``dataclasses`` imports ``inspect``,
    which costs a cache hit more than everything else the tool does.
    """

    access_key_id: str
    secret_access_key: str
    session_token: str
    #: STS's expiry in whole seconds since the epoch (UTC).
    expiration: int
    account_id: str | None = None

    def __repr__(self) -> str:
        """Show what identifies the credentials, never the secrets."""
        return (
            f"Credentials(access_key_id={self.access_key_id!r}, "
            f"expiration={format_expiration(self.expiration)!r}, account_id={self.account_id!r})"
        )

    def seconds_left(self, now: float) -> float:
        """Seconds until expiry at *now* (epoch seconds; negative once expired)."""
        return self.expiration - now

    def secrets(self) -> tuple[str, str]:
        """The values that must never be shown: the secret key and the session token."""
        return (self.secret_access_key, self.session_token)

    def _process_fields(self) -> list[tuple[str, str | int]]:
        fields: list[tuple[str, str | int]] = [
            ("Version", 1),
            ("AccessKeyId", self.access_key_id),
            ("SecretAccessKey", self.secret_access_key),
            ("SessionToken", self.session_token),
            ("Expiration", format_expiration(self.expiration)),
        ]
        if self.account_id:
            fields.append(("AccountId", self.account_id))
        return fields

    def to_process_output(self) -> dict[str, Any]:
        """The credential_process document (Version 1)."""
        return dict(self._process_fields())

    def to_process_json(self) -> str:
        """The credential_process document as one line of JSON (what ``json.dumps`` writes, compact)."""
        return json_object(self._process_fields())

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
        fields: list[tuple[str, str | int]] = [
            ("v", CACHE_FORMAT),
            ("k", self.access_key_id),
            ("s", self.secret_access_key),
            ("t", self.session_token),
            ("e", self.expiration),
        ]
        if self.account_id:
            fields.append(("a", self.account_id))
        return json_object(fields)

    @classmethod
    def from_cache(cls, text: str) -> Credentials:
        """Decode :meth:`to_cache` output; raise ValueError for anything else."""
        doc: Any = _plain_object(text)
        if doc is None:
            import json

            try:
                doc = json.loads(text)
            except ValueError:
                raise ValueError("cache entry is not JSON") from None
        if not isinstance(doc, dict) or doc.get("v") != CACHE_FORMAT or isinstance(doc.get("v"), bool):
            raise ValueError("cache entry has an unknown format")
        fields = (doc.get("k"), doc.get("s"), doc.get("t"))
        if not all(isinstance(f, str) and f for f in fields):
            raise ValueError("cache entry lacks a credential field")
        if not all(str(f).isprintable() and " " not in str(f) for f in fields):
            raise ValueError("cache entry has a control character or space in a credential field")  # NUL: exec fails
        expires = doc.get("e")
        if not isinstance(expires, int) or isinstance(expires, bool) or not 0 <= expires < MAX_EPOCH:
            raise ValueError("cache entry lacks an expiry")
        account = doc.get("a")
        return cls(
            access_key_id=str(fields[0]),
            secret_access_key=str(fields[1]),
            session_token=str(fields[2]),
            expiration=expires,
            account_id=account if isinstance(account, str) else None,
        )
