"""The storage contract: what every backend under :class:`mfa_process.keystore.parts.SplitStore` must do.

A test module subclasses :class:`StoreContract` and provides a ``store`` fixture that yields a fresh
:class:`~mfa_process.keystore.parts.SplitStore` over the backend under test (and removes what it left).
"""

from __future__ import annotations

import time
import uuid

import pytest

from mfa_process.keystore.parts import HEAD_PREFIX, PART_SIZE, SplitStore

VALUES = {
    "ascii": "v",
    "non-ascii": "h\u00e9llo \u2713 \u65e5\u672c\u8a9e \U0001f389",
    "one-part": "p" * PART_SIZE,
    "several-parts": "\u00e9\u2713" * 1500 + "end",
    "looks-like-a-head": HEAD_PREFIX + "abc:1:0",
}


def key() -> str:
    """A fresh item name shaped like the cache's keys."""
    return f"session|v1|contract-{uuid.uuid4().hex}|arn:aws:iam::123456789012:mfa/x%7Cy"


class StoreContract:
    """Behaviour every backend shares; subclasses supply the ``store`` fixture."""

    @pytest.mark.parametrize("name", sorted(VALUES))
    def test_a_saved_value_loads_back(self, store: SplitStore, name: str) -> None:
        k = key()
        store.save(k, VALUES[name], time.time() + 3600)
        assert store.load(k) == VALUES[name]

    def test_an_absent_key_loads_as_none(self, store: SplitStore) -> None:
        assert store.load(key()) is None

    def test_save_replaces_and_delete_removes_every_part(self, store: SplitStore) -> None:
        k = key()
        store.save(k, "a" * (3 * PART_SIZE), time.time() + 3600)
        store.save(k, "b" * (2 * PART_SIZE + 1), time.time() + 3600)
        assert store.load(k) == "b" * (2 * PART_SIZE + 1)
        head = store.raw.get(k)
        assert head is not None and head.startswith(HEAD_PREFIX)
        gen, count = head.split(":")[1:3]
        assert [store.raw.get(f"{k}#{gen}.{i}") is not None for i in range(int(count))] == [True] * 3
        store.save(k, "short", time.time() + 3600)
        assert store.load(k) == "short"
        assert store.raw.get(f"{k}#{gen}.0") is None  # the parts of the replaced value are gone
        store.save(k, "c" * (2 * PART_SIZE), time.time() + 3600)
        store.delete(k)
        assert store.load(k) is None
        assert store.raw.get(k) is None

    def test_deleting_an_absent_key_is_not_an_error(self, store: SplitStore) -> None:
        store.delete(key())

    def test_keys_are_distinct(self, store: SplitStore) -> None:
        first, second = key(), key()
        store.save(first, "one", time.time() + 3600)
        store.save(second, "two", time.time() + 3600)
        store.delete(first)
        assert (store.load(first), store.load(second)) == (None, "two")

    def test_describe_names_the_backend(self, store: SplitStore) -> None:
        description = store.describe()
        assert isinstance(description["backend"], str) and description["backend"]
