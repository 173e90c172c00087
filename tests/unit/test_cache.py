from __future__ import annotations

from datetime import datetime, timezone

import pytest

from mfa_process import cache
from mfa_process.credentials import Credentials

NOW = int(datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc).timestamp())


def creds(minutes: float) -> Credentials:
    return Credentials("ASIA1", "s" * 40, "t" * 400, int(NOW + 60 * minutes))


@pytest.mark.parametrize(
    ("profile", "serial"),
    [("me", "arn:aws:iam::123456789012:mfa/alice"), ("we|ird%name", "GAHT|1%2")],
)
def test_keys_round_trip(profile, serial):
    assert cache.parse_key(cache.session_key(profile, serial)) == {
        "kind": "session",
        "profile": profile,
        "serial": serial,
    }
    key = cache.role_key(
        profile, serial, "arn:aws:iam::210987654321:role/A", "alice", "secret-ext", source_identity="a|b", duration=900
    )
    fields = cache.parse_key(key)
    assert fields is not None
    assert fields["role_arn"] == "arn:aws:iam::210987654321:role/A"
    assert (fields["source_identity"], fields["duration"]) == ("a|b", "900")
    assert "secret-ext" not in key


ROLE_A = "arn:aws:iam::210987654321:role/A"


@pytest.mark.parametrize(
    "changed",
    [
        {"role_arn": "arn:aws:iam::210987654321:role/B"},
        {"session_name": "other"},
        {"external_id": "x2"},
        {"external_id": None},
        {"source_identity": "bob"},
        {"source_identity": None},
        {"duration": 900},
    ],
    ids=lambda changed: "-".join(f"{k}={v}" for k, v in changed.items()),
)
def test_every_parameter_that_changes_what_aws_issues_changes_the_role_key(changed):
    base = {"role_arn": ROLE_A, "session_name": "n", "external_id": "x1", "source_identity": "alice", "duration": 3600}

    def key(role_arn, session_name, external_id, source_identity, duration):
        return cache.role_key(
            "p", "s", role_arn, session_name, external_id, source_identity=source_identity, duration=duration
        )

    assert key(**base) != key(**{**base, **changed})


def test_unknown_keys_parse_to_none():
    assert cache.parse_key("keys|v1|me") is None
    assert cache.parse_key("session|v9|a|b") is None
    assert cache.parse_key("role|v1|p|s|r|n|-") is None  # the format before source identity and duration


def test_freshness_window():
    assert cache.is_fresh(creds(16), NOW, 900)
    assert not cache.is_fresh(creds(15), NOW, 900)
    assert not cache.is_fresh(None, NOW, 900)
    assert cache.is_fresh(creds(1), NOW, 0)


def test_decode_corrupt_is_miss():
    assert cache.decode(None) is None
    assert cache.decode("garbage") is None
    assert cache.decode('{"v":1,"k":"a","s":"b","t":"c","e":99999999999999999}') is None
    assert cache.decode(creds(10).to_cache()) == creds(10)


def test_index_round_trip_is_private_and_secret_free(tmp_path):
    key = cache.session_key("me", "arn:aws:iam::123456789012:mfa/alice")
    c = creds(60)
    with cache.editing_index(tmp_path) as entries:
        entries[key] = cache.index_entry(key, c)
    index = tmp_path / cache.INDEX_NAME
    assert index.stat().st_mode & 0o777 == 0o600
    assert tmp_path.joinpath("locks").stat().st_mode & 0o777 == 0o700
    text = index.read_text()
    assert c.secret_access_key not in text
    assert c.session_token not in text
    entry = cache.read_index(tmp_path)[key]
    assert entry.profile == "me"
    assert entry.expires.timestamp() == c.expiration


def test_corrupt_index_reads_empty(tmp_path):
    (tmp_path / cache.INDEX_NAME).write_text("{not json")
    assert cache.read_index(tmp_path) == {}
    (tmp_path / cache.INDEX_NAME).write_text('{"entries": {"k": {"bogus": 1}}}')
    assert cache.read_index(tmp_path) == {}
