"""Waiting for the lock: silent when the holder asks on the same terminal, stopping when the client left."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mfa_process import lock
from mfa_process.errors import ClientGone

HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from mfa_process import lock

    with lock.held(Path(sys.argv[1]), "key", terminal=lambda: int(sys.argv[2]) if sys.argv[2] != "-" else None):
        print("held", flush=True)
        sys.stdin.read()  # until the test closes stdin
    """
)


class Holder:
    """Another process holding the lock of ``key``, recorded as asking on *terminal*."""

    def __init__(self, state: Path, terminal: int | None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(state), "-" if terminal is None else str(terminal)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline() == "held\n"

    def release(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        assert self.process.wait(timeout=30) == 0


def wait_for(state: Path, holder: Holder, here: int | None) -> list[str]:
    notices: list[str] = []

    def on_wait() -> None:
        notices.append("waiting")
        holder.release()  # the holder finishes once this waiter has decided

    with lock.held(state, "key", on_wait=on_wait, terminal=lambda: here, timeout=30):
        pass
    return notices


def test_holder_on_the_same_terminal_keeps_the_waiter_silent(tmp_path):
    holder = Holder(tmp_path, terminal=4242)
    released = []

    def abandoned() -> bool:  # polled while waiting: let the holder go after a few polls
        released.append(1)
        if len(released) == lock.UNKNOWN_OWNER_POLLS + 2:
            holder.release()
        return False

    notices: list[str] = []
    with lock.held(
        tmp_path,
        "key",
        on_wait=lambda: notices.append("waiting"),
        terminal=lambda: 4242,
        abandoned=abandoned,
        timeout=30,
    ):
        pass
    assert notices == []


@pytest.mark.parametrize(("holder_terminal", "here"), [(4242, 77), (None, 4242), (4242, None)])
def test_holder_elsewhere_gets_one_notice(tmp_path, holder_terminal, here):
    holder = Holder(tmp_path, terminal=holder_terminal)
    assert wait_for(tmp_path, holder, here) == ["waiting"]


def test_owner_record_is_removed_on_release(tmp_path):
    with lock.held(tmp_path, "key", terminal=lambda: 9):
        [record] = list((tmp_path / "locks").glob("*.owner"))
        assert record.read_text().split() == [str(__import__("os").getpid()), "9"]
    assert list((tmp_path / "locks").glob("*.owner")) == []


def test_waiter_stops_when_its_client_is_gone(tmp_path):
    holder = Holder(tmp_path, terminal=None)
    try:
        with pytest.raises(ClientGone), lock.held(tmp_path, "key", abandoned=lambda: True, timeout=30):
            pass
    finally:
        holder.release()
