"""Shared test configuration: fixtures live in :mod:`tests.support.fixtures`."""

from __future__ import annotations

import pytest

pytest_plugins = ["tests.support.fixtures", "tests.support.reliability"]


def pytest_configure(config: pytest.Config) -> None:
    """Register the project's markers (pytest runs with ``--strict-markers``)."""
    config.addinivalue_line("markers", "integration: talks to the local moto server through the STS proxy")
    config.addinivalue_line("markers", "keyring: needs a Secret Service (run under scripts/keyring-session.sh)")
