"""Choosing the backend, once per run, for the session cache and for long-term keys."""

from __future__ import annotations

from mfa_process.keystore.parts import SplitStore

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path


def open_cache(state: str | Path, env: Mapping[str, str], *, allow_insecure: bool = False) -> SplitStore:
    """The store of cached MFA sessions and role credentials."""
    from mfa_process.keystore.keyringlib import KeyringStore

    return SplitStore(KeyringStore(state, env, allow_insecure=allow_insecure))


def open_keys(state: str | Path, env: Mapping[str, str], *, allow_insecure: bool = False) -> SplitStore:
    """The store of long-term access keys (``store-keys``): always the ``keyring`` library."""
    from mfa_process.keystore.keyringlib import KeyringStore

    return SplitStore(KeyringStore(state, env, allow_insecure=allow_insecure))
