from __future__ import annotations

import pytest

from mfa_process.errors import KeyringError
from mfa_process.keystore.keyringlib import classify_backend
from mfa_process.keystore.parts import HEAD_PREFIX, MAX_PARTS, PART_SIZE, SplitStore
from tests.support.memstore import MemoryBackend


def test_short_values_are_one_item():
    raw = MemoryBackend()
    store = SplitStore(raw)
    store.save("k", "value")
    assert raw.items == {"k": "value"}
    assert store.load("k") == "value"


def test_long_value_splits_and_fits_a_capped_backend():
    raw = MemoryBackend(limit=1280)
    store = SplitStore(raw)
    value = "T" * 4096 + "é"
    store.save("k", value)
    assert store.load("k") == value
    assert raw.items["k"].startswith(HEAD_PREFIX)
    assert all(len(v) <= 1280 for v in raw.items.values())
    assert len(raw.items) == 1 + 5


def test_rewrite_removes_old_parts_and_delete_removes_all():
    raw = MemoryBackend(limit=1280)
    store = SplitStore(raw)
    store.save("k", "a" * 3000)
    store.save("k", "b" * 2500)
    assert store.load("k") == "b" * 2500
    assert len(raw.items) == 1 + 3
    store.save("k", "short")
    assert raw.items == {"k": "short"}
    store.save("k", "c" * 2000)
    store.delete("k")
    assert raw.items == {}


def test_missing_or_mismatched_part_is_a_miss():
    raw = MemoryBackend()
    store = SplitStore(raw)
    store.save("k", "x" * 2500)
    part = next(name for name in raw.items if name != "k")
    raw.items[part] = "y" * len(raw.items[part])
    assert store.load("k") is None
    del raw.items[part]
    assert store.load("k") is None


def test_value_that_looks_like_a_head_is_stored_as_parts():
    store = SplitStore(MemoryBackend())
    store.save("k", HEAD_PREFIX + "abc:1:0")
    assert store.load("k") == HEAD_PREFIX + "abc:1:0"


def test_capped_backend_refuses_oversized_values_itself():
    with pytest.raises(KeyringError):
        MemoryBackend(limit=10).set("k", "x" * 11)


class Fake:
    def __init__(self, backends=()):
        self.backends = list(backends)


def named(path: str) -> object:
    module, _, name = path.rpartition(".")
    cls = type(name, (), {})
    cls.__module__ = module
    return cls()


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("keyring.backends.SecretService.Keyring", "secure"),
        ("keyring.backends.fail.Keyring", "none"),
        ("keyring.backends.null.Keyring", "none"),
        ("keyrings.alt.file.PlaintextKeyring", "plaintext"),
        ("keyrings.cryptfile.cryptfile.CryptFileKeyring", "secure"),
    ],
)
def test_classify_backend(path, kind):
    assert classify_backend(named(path)) == kind


def test_classify_chainer_by_members():
    chainer = named("keyring.backends.chainer.ChainerBackend")
    chainer.backends = [named("keyrings.alt.file.PlaintextKeyring")]
    assert classify_backend(chainer) == "plaintext"
    chainer.backends.append(named("keyring.backends.SecretService.Keyring"))
    assert classify_backend(chainer) == "secure"
    chainer.backends = []
    assert classify_backend(chainer) == "none"


def test_remembered_backend_is_loaded_directly_and_only_when_keyring_would_discover(tmp_path):
    from mfa_process.keystore.keyringlib import KeyringStore

    env = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    store = KeyringStore(tmp_path, env)
    assert store._remembered_or_none() is None  # nothing remembered yet
    (tmp_path / "backend").write_text("keyring.backends.null.Keyring\n")
    assert type(store._remembered_or_none()).__name__ == "Keyring"
    (tmp_path / "backend").write_text("no.such.Backend\n")
    assert store._remembered_or_none() is None  # gone: keyring discovers again
    (tmp_path / "backend").write_text("keyring.backends.null.Keyring\n")
    assert KeyringStore(tmp_path, {**env, "PYTHON_KEYRING_BACKEND": "x.Y"})._remembered_or_none() is None
    rc = tmp_path / "config" / "python_keyring" / "keyringrc.cfg"
    rc.parent.mkdir(parents=True)
    rc.write_text("[backend]\ndefault-keyring = keyring.backends.null.Keyring\n")
    assert store._remembered_or_none() is None  # keyring's own configuration decides


class CountingBackend(MemoryBackend):
    """Counts every backend call, the cost a head makes its reader pay."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def get(self, name: str) -> str | None:
        self.calls += 1
        return super().get(name)

    def delete(self, name: str) -> None:
        self.calls += 1
        super().delete(name)


CORRUPT_HEADS = [
    "parts:deadbeef:30000000:0123456789abcdef",  # a huge count: millions of deletes under the lock
    "parts:deadbeef:65:0123456789abcdef",  # just above the maximum
    "parts:deadbeef:0:0123456789abcdef",
    "parts:deadbeef:-3:0123456789abcdef",
    "parts:deadbeef: 3:0123456789abcdef",
    "parts:deadbeef:3",
    "parts:dead:3:0123456789abcdef",
    "parts:deadbeef:3:not-a-digest!!!!",
    "parts:deadbeef:3:0123456789abcdef:extra",
]


@pytest.mark.parametrize("head", CORRUPT_HEADS)
def test_a_corrupt_head_is_a_corrupt_entry_with_bounded_work(head):
    raw = CountingBackend()
    store = SplitStore(raw)
    raw.items["k"] = head
    assert store.load("k") is None
    store.save("k", "fresh")  # a miss rewrites the entry: no cleanup of parts the head only claims
    assert store.load("k") == "fresh"
    raw.items["k"] = head
    store.delete("k")
    assert "k" not in raw.items
    assert raw.calls <= 6


def test_the_largest_head_allowed_still_works():
    raw = MemoryBackend()
    store = SplitStore(raw)
    value = "x" * (MAX_PARTS * PART_SIZE)
    store.save("k", value)
    assert store.load("k") == value
    assert len(raw.items) == MAX_PARTS + 1
    store.delete("k")
    assert raw.items == {}
