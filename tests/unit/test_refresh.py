"""The refresh flow with in-memory parts: a fake STS, a scripted prompt and a controllable clock."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pytest

from mfa_process import cache, refresh
from mfa_process.config import RoleSettings, Settings
from mfa_process.credentials import Credentials
from mfa_process.errors import ClockError, KeyringError, KeyringUnavailable, MfaCodeRejected
from mfa_process.keystore.parts import SplitStore
from tests.support.memstore import MemoryBackend

SERIAL = "arn:aws:iam::123456789012:mfa/alice"
ROLE = "arn:aws:iam::210987654321:role/Admin"
T0 = int(datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc).timestamp())


@dataclass
class FakeSts:
    now: list[float]
    reject: set[str] = field(default_factory=set)
    session_calls: list[tuple[str, str, int]] = field(default_factory=list)
    role_calls: list[dict[str, object]] = field(default_factory=list)
    prepared: int = 0

    def prepare(self) -> None:
        self.prepared += 1

    def get_session_token(self, serial: str, code: str, duration: int) -> Credentials:
        self.session_calls.append((serial, code, duration))
        if code in self.reject:
            raise MfaCodeRejected("rejected")
        n = len(self.session_calls)
        return Credentials(f"ASIASESSION{n}", f"session-secret-{n}", f"session-token-{n}", int(self.now[0]) + duration)

    def assume_role(self, session: Credentials, **kw: object) -> Credentials:
        self.role_calls.append({"session": session.access_key_id, **kw})
        n = len(self.role_calls)
        duration = int(kw["duration"])  # type: ignore[call-overload]
        return Credentials(f"ASIAROLE{n}", f"role-secret-{n}", f"role-token-{n}", int(self.now[0]) + duration)


class Harness:
    def __init__(self, tmp_path: Path, settings: Settings, codes: list[str] | None = None) -> None:
        self.clock = [T0]
        self.sts = FakeSts(self.clock)
        self.codes = list(codes or ["111111", "222222", "333333", "444444"])
        self.asked: list[str] = []
        self.notices: list[str] = []
        self.raw = MemoryBackend()
        self.ctx = refresh.Context(
            settings=settings,
            store=SplitStore(self.raw),
            state=tmp_path,
            ask=self.ask,
            notify=self.notices.append,
            sts_factory=lambda: self.sts,
            now=lambda: self.clock[0],
        )

    def ask(self, message: str) -> str:
        self.asked.append(message)
        return self.codes.pop(0)

    def advance(self, *, seconds: float = 0, minutes: float = 0, hours: float = 0) -> None:
        self.clock[0] += seconds + 60 * minutes + 3600 * hours


def settings(**kw: object) -> Settings:
    return Settings(profile="me", mfa_serial=SERIAL, **kw)  # type: ignore[arg-type]


def role_settings(duration: int = 3600, name: str = "alice") -> Settings:
    return settings(role=RoleSettings(role_arn=ROLE, session_name=name, duration_seconds=duration))


def test_miss_prompts_once_then_serves_cache(tmp_path):
    h = Harness(tmp_path, settings())
    first = refresh.credentials(h.ctx)
    second = refresh.credentials(h.ctx)
    assert first == second
    assert len(h.asked) == 1
    assert "MFA code" in h.asked[0] and SERIAL in h.asked[0] and "profile me" in h.asked[0]
    assert h.sts.session_calls == [(SERIAL, "111111", 43200)]


def test_refresh_margin_boundary(tmp_path):
    h = Harness(tmp_path, settings(duration_seconds=3600))
    refresh.credentials(h.ctx)
    h.advance(seconds=3600 - 901)
    refresh.credentials(h.ctx)
    assert len(h.sts.session_calls) == 1
    h.advance(seconds=1)
    refresh.credentials(h.ctx)
    assert len(h.sts.session_calls) == 2


def test_expiry_comes_from_sts_not_local_arithmetic(tmp_path):
    h = Harness(tmp_path, settings(duration_seconds=3600))
    creds = refresh.credentials(h.ctx)
    assert creds.expiration == T0 + 3600
    h.clock[0] = T0 - 5 * 3600  # the clock jumps back: the entry is served, its expiry unchanged
    assert refresh.credentials(h.ctx).expiration == creds.expiration
    assert len(h.sts.session_calls) == 1


def test_rejected_code_asks_again_then_gives_up(tmp_path):
    h = Harness(tmp_path, settings())
    h.sts.reject = {"111111"}
    refresh.credentials(h.ctx)
    assert [c[1] for c in h.sts.session_calls] == ["111111", "222222"]
    assert any("rejected" in n for n in h.notices)

    h2 = Harness(tmp_path / "b", settings())
    h2.sts.reject = {"111111", "222222", "333333"}
    with pytest.raises(MfaCodeRejected, match="rejected 3 MFA codes"):
        refresh.credentials(h2.ctx)
    assert h2.raw.items == {}


def test_reused_code_is_caught_before_sts(tmp_path):
    h = Harness(tmp_path, settings(), codes=["123456", "123456", "654321"])
    refresh.session_credentials(h.ctx)
    refresh.session_credentials(h.ctx, force=True)
    assert [c[1] for c in h.sts.session_calls] == ["123456", "654321"]
    assert "this code was just used, wait for the next one" in h.notices[-1]


def test_corrupt_entry_is_a_miss(tmp_path):
    h = Harness(tmp_path, settings())
    h.raw.items[cache.session_key("me", SERIAL)] = "{corrupt"
    refresh.credentials(h.ctx)
    assert len(h.sts.session_calls) == 1


class FailingStore(SplitStore):
    def __init__(self, on: str, error: Exception) -> None:
        super().__init__(MemoryBackend())
        self.on, self.error = on, error

    def load(self, key: str) -> str | None:
        if self.on == "get":
            raise self.error
        return super().load(key)

    def save(self, key: str, value: str, expires: float | None = None) -> None:
        if self.on == "set":
            raise self.error
        super().save(key, value, expires)


def test_keyring_write_failure_still_returns_credentials(tmp_path):
    h = Harness(tmp_path, settings())
    h.ctx.store = FailingStore("set", KeyringError("backend said no"))
    creds = refresh.credentials(h.ctx)
    assert creds.access_key_id == "ASIASESSION1"
    assert any("could not cache" in n for n in h.notices)


def test_keyring_read_failure_is_a_miss_with_a_notice(tmp_path):
    h = Harness(tmp_path, settings())
    h.ctx.store = FailingStore("get", KeyringError("dbus hiccup"))
    assert refresh.credentials(h.ctx).access_key_id == "ASIASESSION1"
    assert any("cannot read the cache" in n for n in h.notices)


def test_unavailable_keyring_is_fatal_before_prompting(tmp_path):
    h = Harness(tmp_path, settings())
    h.ctx.store = FailingStore("get", KeyringUnavailable("locked"))
    with pytest.raises(KeyringUnavailable):
        refresh.credentials(h.ctx)
    assert h.asked == []


def test_concurrent_threads_share_one_prompt(tmp_path):
    h = Harness(tmp_path, settings())
    gate = threading.Event()
    original = h.ask

    def slow_ask(message: str) -> str:
        gate.wait(5)
        return original(message)

    h.ctx.ask = slow_ask
    results: list[Credentials] = []

    def worker() -> None:
        ctx = refresh.Context(
            settings=h.ctx.settings,
            store=h.ctx.store,
            state=h.ctx.state,
            ask=slow_ask,
            notify=h.notices.append,
            sts_factory=h.ctx.sts_factory,
            now=h.ctx.now,
        )
        results.append(refresh.credentials(ctx))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join(10)
    assert len(results) == 8
    assert len({r.access_key_id for r in results}) == 1
    assert len(h.sts.session_calls) == 1


def test_roles_share_one_session_and_reassume_silently(tmp_path):
    h = Harness(tmp_path, role_settings())
    first = refresh.credentials(h.ctx)
    assert first.access_key_id == "ASIAROLE1"
    assert h.sts.role_calls[0]["session"] == "ASIASESSION1"
    assert h.sts.role_calls[0]["duration"] == 3600
    # a second role on the same source reuses the session: no prompt
    other = Harness(tmp_path, role_settings(name="alice-other"))
    other.sts, other.raw = h.sts, h.raw
    other.ctx.store, other.ctx.sts_factory, other.ctx.now = h.ctx.store, h.ctx.sts_factory, h.ctx.now
    assert refresh.credentials(other.ctx).access_key_id == "ASIAROLE2"
    assert len(h.asked) == 1 and other.asked == []
    # role nears expiry: re-assumed from the cached session without a prompt
    h.advance(seconds=3600 - 900)
    assert refresh.credentials(h.ctx).access_key_id == "ASIAROLE3"
    assert len(h.asked) == 1
    assert len(h.sts.session_calls) == 1


def test_session_expiry_prompts_once_for_roles(tmp_path):
    h = Harness(tmp_path, role_settings())
    refresh.credentials(h.ctx)
    h.advance(seconds=43200)
    refresh.credentials(h.ctx)
    assert len(h.asked) == 2
    assert len(h.sts.session_calls) == 2


def test_source_identity_is_never_served_to_another(tmp_path):
    def with_identity(identity: str | None) -> Settings:
        return settings(role=RoleSettings(ROLE, "alice", source_identity=identity))

    h = Harness(tmp_path, with_identity("alice"))
    served = {}
    for identity in ("alice", "bob", None, "alice", "bob", None):
        h.ctx.settings = with_identity(identity)
        served.setdefault(identity, set()).add(refresh.credentials(h.ctx).access_key_id)
    assert [c["source_identity"] for c in h.sts.role_calls] == ["alice", "bob", None]
    assert {identity: len(keys) for identity, keys in served.items()} == {"alice": 1, "bob": 1, None: 1}
    assert len(set().union(*served.values())) == 3
    assert len(h.asked) == 1  # one session serves all three


def test_a_shorter_role_duration_is_not_served_longer_credentials(tmp_path):
    h = Harness(tmp_path, role_settings(duration=3600))
    long = refresh.credentials(h.ctx)
    h.ctx.settings = role_settings(duration=900)
    short = refresh.credentials(h.ctx)
    assert short.access_key_id != long.access_key_id
    assert short.expiration == T0 + 900
    assert [c["duration"] for c in h.sts.role_calls] == [3600, 900]


def test_role_duration_is_clamped_once_and_never_outlives_the_session(tmp_path):
    h = Harness(tmp_path, settings(duration_seconds=3000, role=RoleSettings(ROLE, "alice", duration_seconds=7200)))
    creds = refresh.credentials(h.ctx)
    assert h.sts.role_calls[0]["duration"] == 3000
    assert creds.expiration <= T0 + 3000
    clamp = [n for n in h.notices if "role chaining" in n]
    assert len(clamp) == 1
    h.advance(seconds=3000 - 900 - 1)
    h.ctx.settings = settings(duration_seconds=3000, role=RoleSettings(ROLE, "alice", duration_seconds=7200))
    refresh.credentials(h.ctx)
    assert len([n for n in h.notices if "role chaining" in n]) == 1


@pytest.mark.parametrize(
    ("requested", "left", "expected"),
    [(3600, 40000, 3600), (7200, 40000, 3600), (3600, 2000, 2000), (900, 100, 900)],
)
def test_role_duration(requested, left, expected):
    assert refresh.role_duration(requested, left)[0] == expected


def test_login_forces_a_new_session(tmp_path):
    h = Harness(tmp_path, settings())
    refresh.session_credentials(h.ctx)
    refresh.session_credentials(h.ctx, force=True)
    assert len(h.sts.session_calls) == 2
    assert refresh.credentials(h.ctx).access_key_id == "ASIASESSION2"


def test_role_needs_the_session_to_outlive_the_margin_a_little(tmp_path):
    h = Harness(tmp_path, settings(duration_seconds=3600, role=RoleSettings(ROLE, "alice")))
    refresh.session_credentials(h.ctx)
    h.advance(seconds=3600 - 900 - refresh.ROLE_MIN_USEFUL - 1)
    refresh.credentials(h.ctx)
    assert len(h.asked) == 1  # 61 s beyond the margin: the role is assumed from the cached session
    h.raw.items.pop(next(k for k in h.raw.items if k.startswith("role|")))
    h.advance(seconds=2)
    refresh.credentials(h.ctx)
    assert len(h.asked) == 2  # 59 s beyond: a new session first


def test_token_command_waits_for_the_next_code_instead_of_repeating_a_used_one(tmp_path):
    h = Harness(
        tmp_path, settings(token_command="ykman oath accounts code -s aws"), codes=["123456", "123456", "654321"]
    )
    slept: list[float] = []
    h.ctx.sleep = slept.append
    refresh.session_credentials(h.ctx)
    refresh.session_credentials(h.ctx, force=True)
    assert len(slept) == 1 and 0 < slept[0] <= 31
    assert [c[1] for c in h.sts.session_calls] == ["123456", "654321"]


def test_the_same_used_code_three_times_is_not_blamed_on_aws(tmp_path):
    from mfa_process.errors import InvalidCodeError

    h = Harness(tmp_path, settings(), codes=["123456"] * 4)
    refresh.session_credentials(h.ctx)
    with pytest.raises(InvalidCodeError, match="just-used MFA code was given 3 times"):
        refresh.session_credentials(h.ctx, force=True)
    assert len(h.sts.session_calls) == 1


YEARS_20 = 20 * 365 * 86400


def skewed(tmp_path: Path, skew: int, role: bool = False) -> Harness:
    """This clock *skew* seconds ahead of the fake AWS's, which says so in its answers' Date."""
    h = Harness(tmp_path, role_settings() if role else settings())
    h.sts.now = [T0]
    h.clock[0] = T0 + skew
    h.sts.clock_skew = skew  # type: ignore[attr-defined]
    return h


@pytest.mark.parametrize("role", [False, True], ids=["session", "role"])
def test_a_clock_far_ahead_is_named_instead_of_prompting_forever(tmp_path, role):
    h = skewed(tmp_path, YEARS_20, role)
    with pytest.raises(ClockError, match=r"the new MFA session already looks expired because this machine's clock"):
        refresh.credentials(h.ctx)
    with pytest.raises(ClockError, match=r"is 7300 days ahead of AWS's \(the Date of its answer\); set the clock"):
        refresh.credentials(h.ctx)
    assert h.raw.items == {}  # nothing cached that every later call would find expired


def test_a_noticeable_skew_is_told_once_and_the_credentials_served(tmp_path):
    h = skewed(tmp_path, -600, role=True)
    creds = refresh.credentials(h.ctx)
    assert creds.access_key_id == "ASIAROLE1"
    told = [n for n in h.notices if "clock" in n]
    assert told == [
        "this machine's clock is 10 min behind AWS's (the Date of its answer): expiry times are off by as much, "
        "and AWS refuses requests signed 5 minutes off; set the clock right (`timedatectl set-ntp true`)"
    ]


def test_a_small_skew_says_nothing(tmp_path):
    h = skewed(tmp_path, 200)
    refresh.credentials(h.ctx)
    assert not [n for n in h.notices if "clock" in n]


def test_expired_on_arrival_without_a_date_still_blames_the_clock(tmp_path):
    h = skewed(tmp_path, YEARS_20)
    h.sts.clock_skew = None  # type: ignore[attr-defined]
    with pytest.raises(ClockError, match=r"expires at 2026-11-2.*which this machine's clock says is past"):
        refresh.credentials(h.ctx)


@pytest.mark.parametrize("make_settings", [settings, role_settings], ids=["session", "role"])
def test_the_cache_hit_serves_exactly_what_the_flow_would_without_calling_it(tmp_path, make_settings):
    """``cache.served`` (the hit, which never imports this flow) against the flow itself, step by step
    across refresh margins: where the hit serves, the flow serves the same and calls nothing; where the
    hit declines, the flow has to call STS."""
    s = make_settings()
    h = Harness(tmp_path, s)
    refresh.credentials(h.ctx)
    served_count = declined = 0
    for _ in range(40):
        h.advance(minutes=23)  # 15 h in all: past the 12 h session, and many 1 h roles
        hit = cache.served(h.ctx.store, s, h.clock[0])
        calls = len(h.sts.session_calls) + len(h.sts.role_calls)
        result = refresh.credentials(h.ctx)
        if hit is not None:
            served_count += 1
            assert hit == result
            assert len(h.sts.session_calls) + len(h.sts.role_calls) == calls
        else:
            declined += 1
            assert len(h.sts.session_calls) + len(h.sts.role_calls) > calls
    assert served_count > 0 and declined > 0  # both sides of the margin were walked


@pytest.mark.parametrize("error", [KeyringError("dbus hiccup"), KeyringUnavailable("locked")])
def test_a_failed_read_is_no_hit_and_left_to_the_flow_to_report(tmp_path, error):
    assert cache.served(FailingStore("get", error), settings(), T0) is None
