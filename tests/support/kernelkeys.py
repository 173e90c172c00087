"""The kernel keyring in tests: each state directory is its own namespace of ``@u``; clean it up after."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mfa_process.keystore.kernel import KernelBackend


def proc_keys(backend: KernelBackend) -> list[list[str]]:
    """The ``/proc/keys`` rows (split on whitespace, description last) of *backend*'s live keys.

    A key that was invalidated, revoked or is dead (flags ``i``, ``R``, ``D``) can no longer be read, but
    stays listed until the kernel's key garbage collector runs, at a moment of its choosing: such rows are
    left out, or a test of removal would depend on that timing.
    """
    rows = []
    with open("/proc/keys", encoding="utf-8") as handle:
        for line in handle:
            fields = line.split(None, 8)
            if len(fields) == 9 and fields[8].startswith(backend.prefix) and not set(fields[1]) & set("iRD"):
                rows.append(fields)
    return rows


def purge(state: Path) -> None:
    """Delete every key of the namespace of *state* (what a test left behind)."""
    backend = KernelBackend(state)
    if backend.probe() is None:
        for name in backend.names():
            backend.delete(name)


@contextmanager
def cleaned(state: Path) -> Iterator[KernelBackend]:
    """A kernel backend for *state* whose keys are removed afterwards."""
    try:
        yield KernelBackend(state)
    finally:
        purge(state)
