"""An in-memory storage backend for fast unit tests (the real ones are tested by the contract suite)."""

from __future__ import annotations

from typing import Any

from mfa_process.errors import KeyringError


class MemoryBackend:
    """In-memory :class:`mfa_process.keystore.Backend`; *limit* emulates a backend's size cap."""

    def __init__(self, limit: int | None = None) -> None:
        self.items: dict[str, str] = {}
        self.expiry: dict[str, float | None] = {}
        self.limit = limit

    def get(self, name: str) -> str | None:
        """The item's value, or None."""
        return self.items.get(name)

    def set(self, name: str, value: str, expires: float | None = None) -> None:
        """Store the item, refusing values over the limit as a real capped backend would."""
        if self.limit is not None and len(value) > self.limit:
            raise KeyringError(f"value of {len(value)} characters exceeds the backend limit")
        self.items[name] = value
        self.expiry[name] = expires

    def delete(self, name: str) -> None:
        """Remove the item if it exists."""
        self.items.pop(name, None)
        self.expiry.pop(name, None)

    def names(self) -> list[str]:
        """Every item name."""
        return list(self.items)

    def describe(self) -> dict[str, Any]:
        """A name for ``status``."""
        return {"backend": "memory"}
