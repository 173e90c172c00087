from __future__ import annotations

import json
import random
import time
from datetime import datetime, timedelta, timezone

import pytest

from mfa_process.credentials import (
    MAX_EPOCH,
    Credentials,
    account_id_from_arn,
    epoch_of,
    format_expiration,
    format_left,
    format_local,
    json_object,
    json_string,
    parse_expiration,
)

EXP_DT = datetime(2026, 11, 26, 18, 0, 5, tzinfo=timezone.utc)
EXP = int(EXP_DT.timestamp())
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
    assert format_expiration(epoch_of(EXP_DT.astimezone(tokyo))) == "2026-11-26T18:00:05Z"
    assert epoch_of(EXP_DT.replace(microsecond=999999)) == EXP
    assert parse_expiration("2026-11-27T03:00:05+09:00") == EXP_DT
    assert parse_expiration("2026-11-26T18:00:05Z") == EXP_DT
    with pytest.raises(ValueError, match="time zone"):
        epoch_of(datetime(2026, 11, 26))
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
    assert CREDS.seconds_left(EXP - 300) == 300
    assert CREDS.seconds_left(EXP + 0.5) == -0.5
    assert format_left(3600 * 11 + 59 * 60 + 30) == "11h59m"
    assert format_left(14 * 60 + 1) == "14m"
    assert format_left(0) == "expired"


@pytest.mark.parametrize("epoch", [0, 1, 951782400, 1709164799, 1764806405, EXP, 4102444800, MAX_EPOCH - 1])
def test_format_expiration_matches_datetime(epoch):
    expected = datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert format_expiration(epoch) == expected
    assert parse_expiration(expected).timestamp() == epoch


@pytest.mark.parametrize("zone", ["UTC", "Asia/Tokyo", "America/St_Johns", "Europe/Berlin"])
def test_format_local_matches_datetime(zone, monkeypatch):
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        for epoch in (EXP, EXP + 183 * 86400):
            expected = datetime.fromtimestamp(epoch, timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M %Z")
            assert format_local(epoch) == expected
    finally:
        monkeypatch.undo()
        time.tzset()


#: Characters that take every branch of a JSON string encoder: named escapes, control characters, DEL,
#: Latin-1, the BMP, astral planes (surrogate pairs) and lone surrogates.
ALPHABET = 'aZ09+/=-_ "\\/\n\r\t\b\f\x00\x1f\x7f\x80\xe9\u2028\uffff\U0001f600\U0010ffff\ud800\udfff'


def random_texts(count: int) -> list[str]:
    rng = random.Random(1234)
    texts = ["", "ASIAEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "IQoJb3JpZ2luX2Vj" + "A+/=" * 100]
    texts += ["".join(rng.choice(ALPHABET) for _ in range(rng.randrange(1, 12))) for _ in range(count)]
    texts += [chr(c) for c in range(0x300)]
    return texts


def test_json_string_is_what_json_dumps_writes():
    for text in random_texts(2000):
        assert json_string(text) == json.dumps(text), repr(text)


def test_json_object_is_what_json_dumps_writes():
    rng = random.Random(99)
    texts = random_texts(500)
    for _ in range(500):
        fields = [(rng.choice(texts), rng.choice([rng.choice(texts), rng.randrange(10**12)])) for _ in range(4)]
        fields = list(dict(fields).items())
        assert json_object(fields) == json.dumps(dict(fields), separators=(",", ":"))


def test_process_json_is_what_json_dumps_writes():
    for text in random_texts(300):
        creds = Credentials("ASIA" + text, "secret" + text, "token" + text, EXP, "123456789012")
        line = creds.to_process_json()
        assert line == json.dumps(creds.to_process_output(), separators=(",", ":"))
        assert "\n" not in line


@pytest.mark.parametrize("text", ["", "+/=", '\u00e9\U0001f600"\\'])
def test_botocore_reads_the_process_json(text, tmp_path):
    """botocore's credential_process provider runs a real process that prints the line, and parses it."""
    from botocore.credentials import ProcessProvider

    expires = int(time.time()) + 7200
    creds = Credentials("ASIA1" + text, "secret" + text, "token" + text, expires, "123456789012")
    out = tmp_path / "out.json"
    out.write_text(creds.to_process_json() + "\n", encoding="utf-8")
    config = {"profiles": {"p": {"credential_process": f"cat {out}"}}}
    loaded = ProcessProvider(profile_name="p", load_config=lambda: config).load()
    frozen = loaded.get_frozen_credentials()
    assert (frozen.access_key, frozen.secret_key, frozen.token) == creds[:3]
    assert loaded._expiry_time.timestamp() == expires
    assert loaded.account_id == "123456789012"


def test_cache_form_is_what_json_dumps_writes_and_reads_back():
    for text in random_texts(300):
        creds = Credentials("k" + text, "s" + text, "t" + text, EXP, ("a" + text) if len(text) % 2 else None)
        value = creds.to_cache()
        doc = {"v": 1, "k": creds.access_key_id, "s": creds.secret_access_key, "t": creds.session_token, "e": EXP}
        if creds.account_id:
            doc["a"] = creds.account_id
        assert value == json.dumps(doc, separators=(",", ":"))
        back = json.loads(value)  # equal to creds but where lone surrogates pair up, as json reads them
        if all(back[f].isprintable() and " " not in back[f] for f in "kst"):
            assert Credentials.from_cache(value) == Credentials(
                back["k"], back["s"], back["t"], back["e"], back.get("a")
            )
        else:  # no credential AWS issues holds a control character or space: such an entry is a miss
            with pytest.raises(ValueError, match="control character or space"):
                Credentials.from_cache(value)


@pytest.mark.parametrize(
    "text",
    [
        '{"v": 1, "k": "a", "s": "b", "t": "c", "e": 5}',  # json.dumps' default separators
        '{"e":5,"t":"c","s":"b","k":"a","v":1}',  # another order
        '{"v":1,"k":"\\u0061","s":"b","t":"c","e":5}',  # an escape
        '{"v":1,"k":"a","s":"b","t":"c","e":5,"x":[1,2]}',  # an unknown field of another type
        ' {"v":1,"k":"a","s":"b","t":"c","e":5}\n',
    ],
)
def test_other_json_spellings_read_as_json_reads_them(text):
    assert Credentials.from_cache(text) == Credentials("a", "b", "c", 5)


@pytest.mark.parametrize(
    "text",
    [
        '{"v":1,"k":"a","s":"b","t":"c","e":05}',
        '{"v":1,"k":"a","s":"b","t":"c","e":5,}',
        '{"v":1,"k":"a","s":"b","t":"c","e":5',
        '{"v":1,"k":"a","s":"b","t":"c","e":-5}',
        '{"v":1,"k":"a","s":"b","t":"c","e":1e3}',
        '{"v":1,"k":"a","s":"b","t":"c","e":5.0}',
        '{"v":true,"k":"a","s":"b","t":"c","e":5}',
        '{"v":1,"k":"a","s":"b","t":"c","e":' + str(MAX_EPOCH) + "}",
        '{"v":1,"k":"a","s":"b","t":"c","e":99999999999999999999999}',
        '{"v":1,"k":"a","s":"b","t":"c","e":5,"e":"x"}',
        '{"v":1,"k":"a","s":"b","t":"c\x01","e":5}',
    ],
)
def test_malformed_cache_values_are_refused(text):
    with pytest.raises(ValueError):
        Credentials.from_cache(text)
