"""The storage contract on the in-memory backend the unit tests use (real backends: tests/integration)."""

from __future__ import annotations

import pytest

from mfa_process.keystore.parts import SplitStore
from tests.support.contract import StoreContract
from tests.support.memstore import MemoryBackend


class TestMemoryBackend(StoreContract):
    @pytest.fixture
    def store(self) -> SplitStore:
        return SplitStore(MemoryBackend(limit=1280))
