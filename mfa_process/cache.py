"""The session cache: key format, load/save of credentials, the validity window, and the index.

Key format (the keyring "username" under service ``mfa-process``), fields percent-escaped for ``%`` and ``|``::

    session|v1|<source profile>|<mfa serial>
    role|v2|<source profile>|<mfa serial>|<role arn>|<session name>|<external id digest or ->
           |<source identity or ->|<duration>

Every AssumeRole parameter that changes what AWS issues is part of the role key, so credentials assumed
for one source identity, external id or duration are never served to a request for another.

keyring has no listing API, so the index (``index.json`` in the state directory, mode 0600) remembers which
entries exist and when they expire, with no secrets, for ``status`` and ``logout --all``.
"""

from __future__ import annotations

from mfa_process.credentials import Credentials, format_expiration, parse_expiration
from mfa_process.records import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from contextlib import AbstractContextManager
    from datetime import datetime
    from pathlib import Path
    from typing import Any, Final

    from mfa_process.config import Settings
    from mfa_process.keystore.parts import SplitStore

KEY_VERSION: Final = "v1"
#: Version of role keys: v2 added the source identity and the requested duration.
ROLE_KEY_VERSION: Final = "v2"
_ROLE_FIELDS: Final = ("profile", "serial", "role_arn", "session_name", "external_id", "source_identity", "duration")
INDEX_NAME: Final = "index.json"


def escape_field(field: str) -> str:
    """One field of a keyring item name, with ``%`` and the ``|`` separator percent-escaped."""
    return field.replace("%", "%25").replace("|", "%7C")


def _unescape(field: str) -> str:
    return field.replace("%7C", "|").replace("%25", "%")


def session_key(profile: str, serial: str) -> str:
    """Cache key of the MFA session of one source profile and device."""
    return "|".join(("session", KEY_VERSION, escape_field(profile), escape_field(serial)))


def role_key(
    profile: str,
    serial: str,
    role_arn: str,
    session_name: str,
    external_id: str | None,
    *,
    source_identity: str | None,
    duration: int,
) -> str:
    """Cache key of one role's credentials assumed from that session (the external id only as a digest)."""
    import hashlib

    ext = hashlib.sha256(external_id.encode()).hexdigest()[:12] if external_id else "-"
    fields = (profile, serial, role_arn, session_name, ext, source_identity or "-", str(duration))
    return "|".join(("role", ROLE_KEY_VERSION, *(escape_field(f) for f in fields)))


def entry_key(settings: Settings) -> str:
    """Cache key of what a run with *settings* hands out: the role's credentials when a role is
    configured, else the MFA session."""
    role = settings.role
    if role is None:
        return session_key(settings.profile, settings.mfa_serial)
    return role_key(
        settings.profile,
        settings.mfa_serial,
        role.role_arn,
        role.session_name,
        role.external_id,
        source_identity=role.source_identity,
        duration=role.duration_seconds,
    )


def parse_key(key: str) -> dict[str, str] | None:
    """Fields of a cache key, or None if it is not one of ours."""
    parts = key.split("|")
    if len(parts) == 4 and parts[:2] == ["session", KEY_VERSION]:
        return {"kind": "session", "profile": _unescape(parts[2]), "serial": _unescape(parts[3])}
    if len(parts) == 2 + len(_ROLE_FIELDS) and parts[:2] == ["role", ROLE_KEY_VERSION]:
        return {"kind": "role", **{n: _unescape(v) for n, v in zip(_ROLE_FIELDS, parts[2:])}}
    return None


def is_fresh(creds: Credentials | None, now: float, margin: float) -> bool:
    """Whether *creds* may be served: more than *margin* seconds left at *now* (epoch seconds)."""
    return creds is not None and creds.seconds_left(now) > margin


def decode(value: str | None) -> Credentials | None:
    """Credentials from a stored value; a corrupt value is a miss, never an error."""
    if value is None:
        return None
    try:
        return Credentials.from_cache(value)
    except (ValueError, OverflowError, OSError):
        return None


def load(store: SplitStore, key: str) -> Credentials | None:
    """The credentials stored under *key*; a corrupt value is a miss. Keyring errors propagate."""
    creds = decode(store.load(key))
    if creds is not None:
        from mfa_process.redact import register

        register(*creds.secrets())
    return creds


def served(store: SplitStore, settings: Settings, now: float) -> Credentials | None:
    """The cache hit: what a run with *settings* hands out, when the cache holds it with more than the
    refresh margin left at *now*; else None, also when the read failed.

    Only the read: the refresh flow (:func:`mfa_process.refresh.credentials`) begins with the same read
    and is what a miss runs, so a failed read is reported there, and the locks, prompts and STS it needs
    are never imported by a hit.
    """
    from mfa_process.errors import KeyringError

    try:
        creds = load(store, entry_key(settings))
    except KeyringError:
        return None
    return creds if is_fresh(creds, now, settings.refresh_margin) else None


def save(store: SplitStore, state: Path, key: str, creds: Credentials, notice: str | None = None) -> None:
    """Store *creds* (the backend may forget them at their expiry), then record them in the index.

    A keyring failure raises :class:`~mfa_process.errors.KeyringError` before the index is touched; an index
    failure raises :class:`~mfa_process.errors.LockError` or :class:`OSError` after the value is stored.
    """
    store.save(key, creds.to_cache(), creds.expiration)
    with editing_index(state) as entries:
        entries[key] = index_entry(key, creds, notice)


class IndexEntry(Record):
    """What the index keeps of one cached entry: no secrets."""

    key: str
    kind: str
    profile: str
    serial: str
    expiration: str
    role_arn: str | None = None
    notice: str | None = None

    @property
    def expires(self) -> datetime:
        """Expiration as an aware datetime."""
        return parse_expiration(self.expiration)


def read_index(state: Path) -> dict[str, IndexEntry]:
    """The index; missing reads as empty, and a corrupt one is set aside (with a notice) and rebuilt.

    Corrupt: not JSON, not the expected shape, or an entry whose fields are not text or whose expiration
    is not an ISO 8601 time with a zone. A state directory or index that is not the user's own raises
    :class:`~mfa_process.errors.StateError`.
    """
    from mfa_process.paths import read_state, set_aside

    text = read_state(state / INDEX_NAME)
    if text is None:
        return {}
    import json

    try:
        return entries_of(json.loads(text))
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError):
        set_aside(state / INDEX_NAME, "is corrupt (not an index mfa-process wrote)")
        return {}


def entries_of(doc: Any) -> dict[str, IndexEntry]:
    """The entries of a parsed index; raises ValueError (or TypeError...) for anything else."""
    out = {}
    for key, fields in doc["entries"].items():
        entry = IndexEntry(key=key, **{f: v for f, v in fields.items() if f != "key"})
        for name in ("kind", "profile", "serial", "expiration"):
            if not isinstance(getattr(entry, name), str):
                raise TypeError(f"index field {name} is not text")
        entry.expires  # noqa: B018 - raises ValueError for a garbage or zone-less expiration
        out[key] = entry
    return out


def editing_index(state: Path) -> AbstractContextManager[dict[str, IndexEntry]]:
    """Yield the index for changes and write it back atomically (0600), under its own lock."""
    from contextlib import contextmanager

    return contextmanager(_editing_index)(state)


def _editing_index(state: Path) -> Iterator[dict[str, IndexEntry]]:
    import json

    from mfa_process import lock
    from mfa_process.paths import private_dir, write_private

    with lock.held(state, "index", timeout=30):
        entries = read_index(state)
        yield entries
        doc: dict[str, Any] = {
            "version": 1,
            "entries": {k: {f: v for f, v in e._asdict().items() if f != "key"} for k, e in entries.items()},
        }
        private_dir(state)
        write_private(state / INDEX_NAME, json.dumps(doc, indent=1, sort_keys=True) + "\n")


def index_entry(key: str, creds: Credentials, notice: str | None = None) -> IndexEntry:
    """The index entry describing *creds* stored under *key*."""
    fields = parse_key(key) or {"kind": "unknown", "profile": "", "serial": ""}
    return IndexEntry(
        key=key,
        kind=fields["kind"],
        profile=fields["profile"],
        serial=fields["serial"],
        expiration=format_expiration(creds.expiration),
        role_arn=fields.get("role_arn"),
        notice=notice,
    )
