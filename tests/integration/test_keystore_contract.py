"""The storage contract on every real backend: the Secret Service (gnome-keyring, reads over the project's
D-Bus client) and the ``keyring`` library's own reads. Run under ``scripts/keyring-session.sh``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mfa_process.keystore import secretservice
from mfa_process.keystore.keyringlib import KeyringStore
from mfa_process.keystore.parts import SplitStore
from mfa_process.keystore.secretservice import SECRET_SERVICE_BACKEND
from tests.support.contract import StoreContract

pytestmark = pytest.mark.keyring


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "KEYRING_PROPERTY_" not in k and k != "PYTHON_KEYRING_BACKEND"}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")  # no keyringrc.cfg: keyring discovers, as for users
    return env


class TestSecretService(StoreContract):
    """Writes through keyring, reads straight from the Secret Service; every read must take the fast path."""

    @pytest.fixture
    def answered(self, monkeypatch: pytest.MonkeyPatch) -> list[str]:
        """Names the fast path answered for (every read must be one of them)."""
        answered: list[str] = []
        real_read = secretservice.read

        def counting_read(service: str, username: str, **kw: object) -> str | None:
            value = real_read(service, username, **kw)  # type: ignore[arg-type]
            answered.append(username)
            return value

        monkeypatch.setattr(secretservice, "read", counting_read)
        return answered

    @pytest.fixture
    def store(self, tmp_path: Path, answered: list[str]) -> Iterator[SplitStore]:
        backend = KeyringStore(tmp_path / "state", _env(tmp_path))
        backend.backend()  # discover once and remember it, as the first write of a user does
        assert backend.remembered_backend() == SECRET_SERVICE_BACKEND
        yield SplitStore(backend)
        secretservice.close()

    def test_reads_take_the_fast_path(self, store: SplitStore, answered: list[str]) -> None:
        store.save("session|v1|fast|x", "value")
        assert store.load("session|v1|fast|x") == "value"
        assert answered and set(answered) == {"session|v1|fast|x"}  # the save read the old head, too
        store.delete("session|v1|fast|x")


class TestKeyringLibrary(StoreContract):
    """Reads and writes through the keyring library alone."""

    @pytest.fixture
    def store(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SplitStore:
        def refuse(*args: object, **kw: object) -> None:
            raise AssertionError("the fast path was used")

        monkeypatch.setattr(secretservice, "read", refuse)
        return SplitStore(KeyringStore(tmp_path / "state", _env(tmp_path), fast_reads=False))
