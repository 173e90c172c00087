"""One call bounded by a deadline, whatever it blocks on (a dripping socket, a silent bus, a prompt)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Final, TypeVar

    T = TypeVar("T")

#: Seconds one AWS call may take in all (connecting, sending, retries, reading the whole answer).
AWS_CALL: Final = 30.0


class DeadlineExceeded(TimeoutError):
    """The call did not finish in time (a built-in :class:`TimeoutError`, told apart from a socket's own)."""


def call_within(seconds: float, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``func(*args, **kwargs)``, or :class:`DeadlineExceeded` once *seconds* have passed without an answer.

    The call runs in a daemon thread: on a timeout it is abandoned (it cannot be interrupted from outside)
    and the process can still exit. What it raises is raised here.
    """
    import threading

    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append((True, func(*args, **kwargs)))
        except BaseException as exc:  # handed to the caller's thread
            outcome.append((False, exc))

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    if not outcome:
        raise DeadlineExceeded(f"no answer within {seconds:g} s")
    ok, value = outcome[0]
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]
