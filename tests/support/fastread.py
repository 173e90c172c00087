"""Each test of the Secret Service fast read starts as a new process would: no kept connection, a full time budget."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mfa_process.keystore import secretservice


@pytest.fixture(autouse=True)
def fresh_fast_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A new connection, and the time budget of a new process (each test is one "process")."""
    secretservice.close()
    monkeypatch.setattr(secretservice, "_spent", 0.0)
    yield
    secretservice.close()
