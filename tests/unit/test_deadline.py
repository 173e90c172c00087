"""``deadline.call_within``: values and errors pass through; a call that does not finish is abandoned."""

from __future__ import annotations

import threading

import pytest

from mfa_process.deadline import DeadlineExceeded, call_within


def test_value_and_arguments_pass_through():
    assert call_within(5, lambda a, b=0: a + b, 1, b=2) == 3


def test_errors_pass_through():
    def fail() -> None:
        raise KeyError("x")

    with pytest.raises(KeyError):
        call_within(5, fail)


def test_a_call_that_does_not_finish_is_abandoned():
    release = threading.Event()
    try:
        with pytest.raises(DeadlineExceeded, match=r"no answer within 0\.05 s"):
            call_within(0.05, release.wait)
    finally:
        release.set()
    assert issubclass(DeadlineExceeded, TimeoutError)
