"""Long-term access keys kept in the keyring instead of ``~/.aws/credentials``."""

from __future__ import annotations

import json

from mfa_process.cache import KEY_VERSION, escape_field
from mfa_process.keystore.parts import SplitStore

#: Item kinds: the pair in use, and the pair a key rotation in progress replaced (kept for a roll-back).
KEYS = "keys"
PREVIOUS = "previous-keys"


def keys_key(profile: str, kind: str = KEYS) -> str:
    """Keyring item name of a profile's long-term keys (*kind*: :data:`KEYS` or :data:`PREVIOUS`)."""
    return "|".join((kind, KEY_VERSION, escape_field(profile)))


def load_keys(store: SplitStore, profile: str, kind: str = KEYS) -> tuple[str, str] | None:
    """The (access key id, secret access key) stored for *profile*, or None."""
    value = store.load(keys_key(profile, kind))
    if not value:
        return None
    try:
        doc = json.loads(value)
        key_id, secret = doc["k"], doc["s"]
    except (ValueError, KeyError, TypeError):
        return None
    if isinstance(key_id, str) and isinstance(secret, str) and key_id and secret:
        return key_id, secret
    return None


def save_keys(store: SplitStore, profile: str, key_id: str, secret: str, kind: str = KEYS) -> None:
    """Store the key pair of *profile*."""
    store.save(keys_key(profile, kind), json.dumps({"k": key_id, "s": secret}, separators=(",", ":")))


def delete_keys(store: SplitStore, profile: str, kind: str = KEYS) -> None:
    """Forget the key pair of *profile*."""
    store.delete(keys_key(profile, kind))
