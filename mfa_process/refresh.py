"""Getting credentials: serve the cache, or lock, re-check, prompt, call STS and store.

Order of events on a miss (the design that makes twenty simultaneous callers cost one prompt):

1. read the entry; fresh (more than the refresh margin left) → done, no lock taken;
2. take the entry's cross-process lock (telling the user if another process holds it);
3. read the entry again: the holder we waited for has usually just refreshed it;
4. only now ask for a code and call STS, then store the result and release the lock.

Role credentials are a second entry on top: their lock is always taken before the session's, never the
other way round, so the two locks cannot deadlock.
"""

from __future__ import annotations

import time

from mfa_process import cache, lock
from mfa_process.config import ROLE_CHAINING_MAX, Settings
from mfa_process.credentials import Credentials, format_expiration
from mfa_process.errors import (
    ClientGone,
    ClockError,
    InvalidCodeError,
    KeyringError,
    KeyringUnavailable,
    LockError,
    MfaCodeRejected,
    MfaProcessError,
    NoTerminalError,
    PromptCancelled,
    PromptError,
)
from mfa_process.redact import register

TYPE_CHECKING = False
if TYPE_CHECKING:
    import os
    from collections.abc import Iterator
    from contextlib import AbstractContextManager
    from datetime import datetime
    from pathlib import Path
    from typing import Callable, Final, Protocol

    from mfa_process.keystore.parts import SplitStore

#: How many codes a user may enter (AWS rejected each) before giving up.
CODE_TRIES: Final = 3
#: The time step of the TOTP codes AWS accepts.
TOTP_STEP: Final = 30
#: Failures a retry within a few seconds repeats at once instead of asking again (see :mod:`refusals`).
#: Failures a client's quick retries get again at once, without a new prompt. A background job's refusal is
#: not among them: it costs no prompt, and its own advice (run the command in the foreground) must work at once.
REMEMBERED: Final = {
    kind.__name__: kind for kind in (PromptCancelled, NoTerminalError, InvalidCodeError, MfaCodeRejected)
}
#: AssumeRole's smallest DurationSeconds.
MIN_ROLE_SECONDS: Final = 900
#: Role credentials are capped at the session's expiry, so the session must outlive the refresh margin by
#: at least this much for a role assumed from it to be served at all; otherwise a new session comes first.
ROLE_MIN_USEFUL: Final = 60


if TYPE_CHECKING:

    class StsLike(Protocol):
        """The two STS calls the flow needs (implemented by :class:`mfa_process.sts.SourceSession`)."""

        def prepare(self) -> None:
            """Create what the long-term-key call needs, so configuration errors surface before a prompt."""

        def get_session_token(self, serial: str, code: str, duration: int) -> Credentials:
            """Exchange a code for an MFA session."""

        def assume_role(
            self,
            session: Credentials,
            *,
            role_arn: str,
            session_name: str,
            duration: int,
            external_id: str | None = None,
            source_identity: str | None = None,
        ) -> Credentials:
            """Assume a role with the MFA session."""


def utcnow() -> datetime:
    """The current time, aware, in UTC (for people; the flow itself counts epoch seconds)."""
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)


def _no_terminal() -> int | None:
    return None


def _never() -> bool:
    return False


class Context:
    """What one run works with; every effect is injected so the flow is testable without mocks of mocks."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: SplitStore,
        state: str | os.PathLike[str],
        ask: Callable[[str], str],
        notify: Callable[[str], None],
        sts_factory: Callable[[], StsLike],
        now: Callable[[], float] = time.time,
        lock_wait: float = lock.DEFAULT_WAIT,
        sleep: Callable[[float], None] = time.sleep,
        terminal: Callable[[], int | None] = _no_terminal,
        abandoned: Callable[[], bool] = _never,
    ) -> None:
        self.settings = settings
        self.store = store
        self._state = state
        self.ask = ask
        self.notify = notify
        self.sts_factory = sts_factory
        self.now = now
        self.lock_wait = lock_wait
        self.sleep = sleep
        #: The terminal a prompt of this run would use (recorded with the lock), and whether the caller left.
        self.terminal = terminal
        self.abandoned = abandoned
        #: Whether a failed prompt is remembered for a client's retries (a server keeps its own state).
        self.remember_refusals = True
        self._sts: StsLike | None = None
        #: Set once a cache read failed, so the user is told once per run.
        self.read_failed = False
        #: Set once a clock skew was named, so the user is told once per run.
        self.clock_told = False
        #: Keys whose new credentials could not be stored (``login`` must not claim they were cached).
        self.uncached: list[str] = []

    @property
    def state(self) -> Path:
        """The state directory; made a :class:`~pathlib.Path` on first use, which a cache hit never reaches."""
        from pathlib import Path

        return Path(self._state)

    @property
    def sts(self) -> StsLike:
        """The STS client, created on first use and at most once."""
        if self._sts is None:
            self._sts = self.sts_factory()
        return self._sts


def load(ctx: Context, key: str) -> Credentials | None:
    """The cached credentials under *key*; an unreadable or corrupt entry is a miss (fatal keyring states aside)."""
    try:
        return cache.load(ctx.store, key)
    except KeyringUnavailable:
        raise
    except KeyringError as exc:
        if not ctx.read_failed:
            ctx.notify(f"cannot read the cache ({exc}); asking AWS instead")
        ctx.read_failed = True
        return None


def save(ctx: Context, key: str, creds: Credentials, notice: str | None = None) -> None:
    """Store *creds*; a failure is reported and swallowed: the caller still gets its credentials."""
    try:
        cache.save(ctx.store, ctx.state, key, creds, notice)
    except KeyringError as exc:
        ctx.uncached.append(key)
        ctx.notify(f"could not cache the credentials ({exc}); you will be asked again next time")
    except (LockError, OSError) as exc:
        ctx.notify(f"could not update the cache index ({exc}); `status` may miss this entry")


#: AWS refuses requests signed further than this from its own clock; a larger skew is named in a notice.
CLOCK_SKEW_LIMIT: Final = 300


def format_skew(seconds: float) -> str:
    """A clock difference for people: ``45 s``, ``7 min``, ``3 h``, ``7305 days``."""
    seconds = abs(seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


def judge_clock(ctx: Context, creds: Credentials, what: str) -> None:
    """After AWS issued *creds*: name a clock skew, and refuse credentials the local clock already sees expired.

    Without this, a clock far ahead makes every fresh session look expired: a prompt on every call and
    "expired" in every message, with nothing saying why.
    """
    skew = getattr(ctx.sts, "clock_skew", None)
    left = creds.seconds_left(ctx.now())
    if skew is not None and abs(skew) > CLOCK_SKEW_LIMIT:
        side = "ahead of" if skew > 0 else "behind"
        clock = f"this machine's clock is {format_skew(skew)} {side} AWS's (the Date of its answer)"
        if left <= 0:
            raise ClockError(
                f"the new {what} already looks expired because {clock}; set the clock right "
                "(`timedatectl set-ntp true`, or `date`) and retry"
            )
        if not ctx.clock_told:
            ctx.clock_told = True
            ctx.notify(
                f"{clock}: expiry times are off by as much, and AWS refuses requests signed 5 minutes off; "
                "set the clock right (`timedatectl set-ntp true`)"
            )
    elif left <= 0:
        raise ClockError(
            f"the new {what} expires at {format_expiration(creds.expiration)}, which this machine's clock says is "
            "past; check the clock (`date`) and retry"
        )


def describe(settings: Settings) -> str:
    """Which profile and device a prompt or message is about."""
    return f"profile {settings.profile}, device {settings.mfa_serial}"


def client_gone(profile: str) -> ClientGone:
    """The error for a client that stopped waiting, with what to do."""
    return ClientGone(
        f"the program that asked for the credentials of profile '{profile}' stopped waiting for the MFA code; "
        f"run `mfa-process login --profile {profile}`, then run that program again"
    )


def locked(ctx: Context, key: str, on_wait: Callable[[], None]) -> AbstractContextManager[None]:
    """Hold *key*'s lock: silent while the holder asks on this terminal, stopping when the client leaves."""
    from contextlib import contextmanager

    return contextmanager(_locked)(ctx, key, on_wait)


def _locked(ctx: Context, key: str, on_wait: Callable[[], None]) -> Iterator[None]:
    try:
        with lock.held(
            ctx.state, key, on_wait=on_wait, timeout=ctx.lock_wait, terminal=ctx.terminal, abandoned=ctx.abandoned
        ):
            yield
    except ClientGone:
        raise client_gone(ctx.settings.profile) from None


def credentials(ctx: Context) -> Credentials:
    """The credentials this run hands out: the role's when a role is configured, else the MFA session's."""
    if ctx.settings.role is not None:
        return role_credentials(ctx)
    return session_credentials(ctx)


def session_credentials(ctx: Context, *, min_left: float = 0.0, force: bool = False) -> Credentials:
    """The cached MFA session, refreshed (one prompt across processes) when less than the margin is left.

    With *force* (``login``) a new session is obtained whatever the cache holds.
    """
    s = ctx.settings
    key = cache.session_key(s.profile, s.mfa_serial)
    margin = max(float(s.refresh_margin), min_left)
    cached = load(ctx, key)  # read even when forced: an unusable keyring must stop us before the prompt
    if not force and cache.is_fresh(cached, ctx.now(), margin):
        return cached  # type: ignore[return-value]

    def waiting() -> None:
        ctx.notify(f"waiting for another mfa-process asking for the MFA code ({describe(s)})")

    with locked(ctx, key, waiting):
        cached = None if force else load(ctx, key)
        if cache.is_fresh(cached, ctx.now(), margin):
            return cached  # type: ignore[return-value]
        creds = new_session(ctx, force=force)
        judge_clock(ctx, creds, "MFA session")
        save(ctx, key, creds)
        return creds


def new_session(ctx: Context, *, force: bool = False) -> Credentials:
    """A new session, unless asking failed a moment ago (then the same failure at once; *force* asks anyway)."""
    from mfa_process import refusals

    s = ctx.settings
    device = refusals.device_key(s.profile, s.mfa_serial)
    if not ctx.remember_refusals:
        return exchange_code(ctx)
    if force:
        refusals.forget(ctx.state, device)
    else:
        recalled = refusals.recall(ctx.state, device, ctx.now())
        if recalled is not None and recalled[0] in REMEMBERED:
            error: MfaProcessError = REMEMBERED[recalled[0]](recalled[1])
            error.repeated = True
            raise error
    try:
        return exchange_code(ctx)
    except tuple(REMEMBERED.values()) as exc:
        try:  # noqa: SIM105 - contextlib stays off the cache-hit path's imports
            refusals.remember(ctx.state, device, type(exc).__name__, str(exc), ctx.now())
        except (LockError, OSError):  # only an aid against prompt storms
            pass
        raise


def exchange_code(ctx: Context) -> Credentials:
    """Ask for a code and exchange it for a session; AWS may reject up to :data:`CODE_TRIES` codes."""
    import contextlib

    from mfa_process import usedcodes

    s = ctx.settings
    sts = ctx.sts
    sts.prepare()  # a broken profile, region or endpoint fails here, before the user types a code
    message = f"MFA code for {s.mfa_serial} (profile {s.profile}): "
    reused = 0
    for attempt in range(1, CODE_TRIES + 1):
        code = ctx.ask(message)
        records = usedcodes.load(ctx.state)
        if usedcodes.was_used(records, s.mfa_serial, code, time.time()):
            reused += 1
            if attempt == CODE_TRIES:
                break
            if s.token_command:  # a command would print the same code again at once: wait for the next window
                ctx.notify("this code was just used; waiting for the next one")
                ctx.sleep(TOTP_STEP - time.time() % TOTP_STEP + 1)
            else:
                ctx.notify("this code was just used, wait for the next one")
            continue
        try:
            creds = sts.get_session_token(s.mfa_serial, code, s.duration_seconds)
        except MfaCodeRejected:
            if attempt == CODE_TRIES:
                break
            ctx.notify(f"AWS rejected that code for {s.mfa_serial}; wait for the next code and try again")
            continue
        register(*creds.secrets())
        usedcodes.remember(records, s.mfa_serial, code, time.time())
        with contextlib.suppress(LockError, OSError):  # only an aid against typing a code twice
            usedcodes.save(ctx.state, records)
        return creds
    if reused == CODE_TRIES:
        raise InvalidCodeError(
            f"the same just-used MFA code was given {CODE_TRIES} times for {s.mfa_serial}; wait for the next code"
        )
    raise MfaCodeRejected(
        f"AWS rejected {CODE_TRIES} MFA codes for {s.mfa_serial} (profile {s.profile}); check that mfa_serial "
        "names your device and that the device's clock is right"
    )


def role_duration(requested: int, session_left: float) -> tuple[int, str | None]:
    """The DurationSeconds to ask for and, when clamped to the chaining cap, the notice to show once."""
    duration, notice = requested, None
    if requested > ROLE_CHAINING_MAX:
        duration = ROLE_CHAINING_MAX
        notice = (
            f"role sessions assumed from an MFA session are limited to {ROLE_CHAINING_MAX} s by AWS "
            f"(role chaining); using {ROLE_CHAINING_MAX} s instead of {requested} s"
        )
    return max(MIN_ROLE_SECONDS, min(duration, int(session_left))), notice


def role_credentials(ctx: Context) -> Credentials:
    """The role's cached credentials, re-assumed silently from the cached MFA session when they near expiry."""
    s = ctx.settings
    role = s.role
    if role is None:  # pragma: no cover - guarded by credentials()
        raise PromptError("no role configured")
    key = cache.entry_key(s)
    cached = load(ctx, key)
    if cache.is_fresh(cached, ctx.now(), s.refresh_margin):
        return cached  # type: ignore[return-value]

    def waiting() -> None:
        ctx.notify(f"waiting for another mfa-process assuming {role.role_arn} ({describe(s)})")

    with locked(ctx, key, waiting):
        cached = load(ctx, key)
        if cache.is_fresh(cached, ctx.now(), s.refresh_margin):
            return cached  # type: ignore[return-value]
        session = session_credentials(ctx, min_left=s.refresh_margin + ROLE_MIN_USEFUL)
        duration, notice = role_duration(role.duration_seconds, session.seconds_left(ctx.now()))
        previous = cache.read_index(ctx.state).get(key)
        if notice and (previous is None or previous.notice != notice):
            ctx.notify(notice)
        creds = ctx.sts.assume_role(
            session,
            role_arn=role.role_arn,
            session_name=role.session_name,
            duration=duration,
            external_id=role.external_id,
            source_identity=role.source_identity,
        )
        register(*creds.secrets())
        judge_clock(ctx, creds, f"credentials of {role.role_arn}")
        if creds.expiration > session.expiration:
            creds = creds._replace(expiration=session.expiration)
        save(ctx, key, creds, notice)
        return creds
