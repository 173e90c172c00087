from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from mfa_process.credentials import (
    Credentials,
    account_id_from_arn,
    format_expiration,
    format_left,
    parse_expiration,
)

EXP = datetime(2026, 11, 26, 18, 0, 5, tzinfo=timezone.utc)
CREDS = Credentials("ASIAEXAMPLE", "secret-key-value-123", "token-value-" + "x" * 300, EXP, "123456789012")


def test_process_json_has_exactly_the_documented_fields():
    doc = json.loads(CREDS.to_process_json())
    assert doc == {
        "Version": 1,
        "AccessKeyId": "ASIAEXAMPLE",
        "SecretAccessKey": "secret-key-value-123",
        "SessionToken": CREDS.session_token,
        "Expiration": "2026-11-26T18:00:05Z",
        "AccountId": "123456789012",
    }


def test_no_account_id_for_hardware_serial():
    creds = Credentials("A", "B" * 10, "C" * 10, EXP, account_id_from_arn("GAHT12345678"))
    assert "AccountId" not in json.loads(creds.to_process_json())


@pytest.mark.parametrize(
    ("serial", "account"),
    [
        ("arn:aws:iam::123456789012:mfa/alice", "123456789012"),
        ("arn:aws-cn:iam::210987654321:mfa/bob", "210987654321"),
        ("arn:aws-us-gov:iam::111122223333:mfa/path/carol", "111122223333"),
        ("GAHT12345678", None),
        ("arn:aws:iam::12345:mfa/short", None),
        ("", None),
        (None, None),
    ],
)
def test_account_id_from_arn(serial, account):
    assert account_id_from_arn(serial) == account


def test_expiration_is_utc_with_z_even_from_other_zones():
    tokyo = timezone(timedelta(hours=9))
    assert format_expiration(EXP.astimezone(tokyo)) == "2026-11-26T18:00:05Z"
    assert parse_expiration("2026-11-27T03:00:05+09:00") == EXP
    assert parse_expiration("2026-11-26T18:00:05Z") == EXP
    with pytest.raises(ValueError, match="time zone"):
        parse_expiration("2026-11-26T18:00:05")


def test_cache_round_trip_and_compactness():
    text = CREDS.to_cache()
    assert Credentials.from_cache(text) == CREDS
    assert len(text) < len(CREDS.to_process_json())


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[]",
        '{"v": 2, "k": "a", "s": "b", "t": "c", "e": 1}',
        '{"v": 1, "k": "a", "s": "b", "e": 1}',
        '{"v": 1, "k": "a", "s": "b", "t": "", "e": 1}',
        '{"v": 1, "k": "a", "s": "b", "t": "c", "e": "soon"}',
        '{"v": 1, "k": "a", "s": "b", "t": "c", "e": true}',
    ],
)
def test_corrupt_cache_values_are_rejected(text):
    with pytest.raises(ValueError):
        Credentials.from_cache(text)


def test_repr_and_env_forms():
    assert "secret-key-value" not in repr(CREDS)
    assert CREDS.session_token not in repr(CREDS)
    env = CREDS.to_env()
    assert env["AWS_CREDENTIAL_EXPIRATION"] == "2026-11-26T18:00:05Z"
    assert env["AWS_SESSION_TOKEN"] == CREDS.session_token


def test_seconds_left_and_format_left():
    assert CREDS.seconds_left(EXP - timedelta(minutes=5)) == 300
    assert format_left(3600 * 11 + 59 * 60 + 30) == "11h59m"
    assert format_left(14 * 60 + 1) == "14m"
    assert format_left(0) == "expired"
