"""Values of any length over a backend of single items, split into parts when one item would be too large.

Windows Credential Manager caps a secret at 2560 bytes and ``keyring`` stores UTF-16 there, so an item holds
about 1280 characters; a role session token alone can come close. Every backend therefore gets values of at
most :data:`PART_SIZE` characters. A longer value is written as parts under a fresh generation id first and
then published by rewriting the head item (``parts:<gen>:<count>:<digest>``); a reader follows the head and
checks the digest, so it sees the old value or the new one, never a mix.
"""

from __future__ import annotations

from mfa_process.errors import KeyringError, KeyringUnavailable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Final

    from mfa_process.keystore import Backend

#: Largest value stored in one item, in characters (fits Windows' 2560-byte UTF-16 limit).
PART_SIZE: Final = 1000
HEAD_PREFIX: Final = "parts:"
#: Most parts a head may name: 64 000 characters, far above any credentials (a session is about 1 200). A
#: head naming more is corrupt: acting on it would mean millions of keyring calls under the lock.
MAX_PARTS: Final = 64
_HEX: Final = frozenset("0123456789abcdef")


def _digest(value: str) -> str:
    import hashlib

    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]


class SplitStore:
    """The storage interface (``load``, ``save``, ``delete``, ``describe``) over one :class:`Backend`."""

    def __init__(self, raw: Backend, part_size: int = PART_SIZE) -> None:
        self.raw = raw
        self.part_size = part_size

    def _parts_of(self, head: str | None) -> list[str]:
        """Suffixes of the parts a head names; none for a plain value or a corrupt head."""
        if not head or not head.startswith(HEAD_PREFIX):
            return []
        fields = head.split(":")
        if len(fields) != 4:
            return []
        _, gen, count, digest = fields
        if not (len(gen) == 8 and set(gen) <= _HEX and len(digest) == 16 and set(digest) <= _HEX):
            return []
        if not (count.isdigit() and len(count) <= 2 and 1 <= int(count) <= MAX_PARTS):
            return []
        return [f"#{gen}.{i}" for i in range(int(count))]

    def _old_parts(self, key: str) -> list[str]:
        """Parts of the value stored now; an unreadable head (corrupt, not UTF-8) has none to clean up."""
        try:
            return self._parts_of(self.raw.get(key))
        except KeyringUnavailable:
            raise
        except KeyringError:
            return []

    def load(self, key: str) -> str | None:
        """The value under *key*; None when absent or when its parts do not add up."""
        head = self.raw.get(key)
        if head is None or not head.startswith(HEAD_PREFIX):
            return head
        pieces = []
        for suffix in self._parts_of(head):
            piece = self.raw.get(key + suffix)
            if piece is None:
                return None
            pieces.append(piece)
        value = "".join(pieces)
        if not pieces or _digest(value) != head.rsplit(":", 1)[-1]:
            return None
        return value

    def save(self, key: str, value: str, expires: float | None = None) -> None:
        """Store *value*, publishing a multi-part value only once all its parts are written.

        *expires* (epoch seconds) lets a backend that can forget by itself (the kernel keyring) do so.
        """
        old = self._old_parts(key)
        if len(value) <= self.part_size and not value.startswith(HEAD_PREFIX):
            self.raw.set(key, value, expires)
        else:
            import secrets

            gen = secrets.token_hex(4)
            chunks = [value[i : i + self.part_size] for i in range(0, len(value), self.part_size)]
            for i, chunk in enumerate(chunks):
                self.raw.set(f"{key}#{gen}.{i}", chunk, expires)
            self.raw.set(key, f"{HEAD_PREFIX}{gen}:{len(chunks)}:{_digest(value)}", expires)
        for suffix in old:
            self.raw.delete(key + suffix)

    def delete(self, key: str) -> None:
        """Remove *key* and any parts it has."""
        for suffix in self._old_parts(key):
            self.raw.delete(key + suffix)
        self.raw.delete(key)

    def names(self) -> tuple[list[str], list[str]]:
        """(heads, orphans): the keys stored, and parts whose head is gone (a write that died half way)."""
        every = set(self.raw.names())
        heads = sorted(n for n in every if "#" not in n)
        orphans = sorted(n for n in every if "#" in n and n.split("#", 1)[0] not in every)
        return heads, orphans

    def describe(self) -> dict[str, Any]:
        """Which backend holds the values, and why it was chosen (for ``status``)."""
        return self.raw.describe()
