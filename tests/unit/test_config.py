from __future__ import annotations

import re
from pathlib import Path

import pytest

from mfa_process.config import (
    AwsFiles,
    config_path,
    credentials_path,
    default_session_name,
    parse_ini,
    read_ini,
    resolve_settings,
)
from mfa_process.errors import ConfigError, RecursionConfigError, UsageError

SERIAL = "arn:aws:iam::123456789012:mfa/alice"


def files(config: str = "", credentials: str = "") -> AwsFiles:
    from mfa_process.config import config_profiles

    return AwsFiles(
        Path("/home/u/.aws/config"),
        Path("/home/u/.aws/credentials"),
        config_profiles(parse_ini(config, Path("config"))),
        parse_ini(credentials, Path("credentials")),
    )


BASE_CONFIG = f"""
[profile me]
mfa_serial = {SERIAL}
region = ap-northeast-1

[profile me-mfa]
credential_process = mfa-process --profile me
"""
BASE_CREDS = "[me]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = secret\n"


def flags(**kw: object) -> dict[str, object]:
    return {"profile": "me", **kw}


def test_defaults_from_source_profile():
    s = resolve_settings(flags(), files(BASE_CONFIG, BASE_CREDS), env={})
    assert s.mfa_serial == SERIAL
    assert s.duration_seconds == 43200
    assert s.refresh_margin == 900
    assert s.region == "ap-northeast-1"
    assert s.role is None
    assert s.prompt == "auto"


def test_flags_win_over_profiles_and_env_region_over_profile():
    s = resolve_settings(
        flags(mfa_serial="arn:aws:iam::123456789012:mfa/other", duration_seconds="3600"),
        files(BASE_CONFIG, BASE_CREDS),
        env={"AWS_REGION": "eu-west-1"},
    )
    assert s.mfa_serial.endswith("/other")
    assert s.duration_seconds == 3600
    assert s.region == "eu-west-1"


def test_config_profile_layer_and_prefixed_keys():
    config = BASE_CONFIG + (
        "\n[profile prod]\ncredential_process = mfa-process --profile me --config-profile prod\n"
        "mfa_process_role_arn = arn:aws:iam::210987654321:role/Admin\n"
        "external_id = ext-1\nrole_session_name = alice-prod\nduration_seconds = 7200\n"
    )
    s = resolve_settings(flags(config_profile="prod"), files(config, BASE_CREDS), env={})
    assert s.role is not None
    assert s.role.role_arn == "arn:aws:iam::210987654321:role/Admin"
    assert s.role.external_id == "ext-1"
    assert s.role.session_name == "alice-prod"
    assert s.duration_seconds == 7200


def test_plain_role_arn_next_to_credential_process_is_refused():
    config = BASE_CONFIG + (
        "\n[profile prod]\ncredential_process = mfa-process --profile me --config-profile prod\n"
        "role_arn = arn:aws:iam::210987654321:role/Admin\n"
    )
    with pytest.raises(ConfigError, match="rename it to mfa_process_role_arn"):
        resolve_settings(flags(config_profile="prod"), files(config, BASE_CREDS), env={})


def test_source_that_runs_the_helper_is_recursion():
    with pytest.raises(RecursionConfigError, match="runs mfa-process itself"):
        resolve_settings({"profile": "me-mfa"}, files(BASE_CONFIG, BASE_CREDS), env={})


def test_a_missing_profile_one_typo_away_from_another_is_suggested():
    with pytest.raises(ConfigError, match=r"profile 'mee-mfa' not found in .*; did you mean --profile me-mfa\?$"):
        resolve_settings({"profile": "mee-mfa"}, files(BASE_CONFIG, BASE_CREDS), env={})
    with pytest.raises(ConfigError, match=r"check --profile or create it with `mfa-process setup`$"):
        resolve_settings({"profile": "entirely-else"}, files(BASE_CONFIG, BASE_CREDS), env={})


def test_missing_profile_and_missing_serial():
    with pytest.raises(ConfigError, match="profile 'ghost' not found"):
        resolve_settings({"profile": "ghost"}, files(BASE_CONFIG, BASE_CREDS), env={})
    with pytest.raises(ConfigError, match="no MFA device for profile 'me'"):
        resolve_settings(flags(), files("", BASE_CREDS), env={})


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"duration_seconds": "899"}, "between 900 and 129600"),
        ({"duration_seconds": "129601"}, "between 900 and 129600"),
        ({"duration_seconds": "12h"}, "whole number"),
        ({"refresh_margin": "-1"}, "--refresh-margin"),
        ({"role_arn": "arn:aws:iam::1:role/x"}, "not of the form"),
        ({"role_arn": "arn:aws:s3:::bucket"}, "not of the form"),
        ({"role_arn": "arn:aws:iam::210987654321:role/A", "role_duration_seconds": "50000"}, "between 900 and 43200"),
        ({"role_arn": "arn:aws:iam::210987654321:role/A", "role_session_name": "a"}, "2-64 characters"),
        ({"role_arn": "arn:aws:iam::210987654321:role/A", "role_session_name": "bad name!"}, "2-64 characters"),
    ],
)
def test_bad_values_are_usage_errors(kw, message):
    with pytest.raises(UsageError, match=message):
        resolve_settings(flags(**kw), files(BASE_CONFIG, BASE_CREDS), env={})


@pytest.mark.parametrize(
    ("serial", "name"),
    [
        (SERIAL, "alice"),
        ("arn:aws:iam::123456789012:mfa/alice.o'brien+x", "alice.o-brien+x"),
        ("arn:aws:iam::123456789012:mfa/" + "a" * 80, "a" * 64),
        ("GAHT12345678", "mfa-process"),
        ("arn:aws:iam::123456789012:mfa/x", "mfa-process"),
    ],
)
def test_default_session_name(serial, name):
    assert default_session_name(serial) == name


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[a]\nx = 1\n[a]\ny = 2\n", "line 3: section [a] appears twice"),
        ("x = 1\n", "line 1: text before the first"),
        ("[a]\nx = 1\nx = 2\n", "line 3: key 'x' appears twice"),
        ("[a]\nthis is not ini\n", "line 2: not a 'key = value'"),
    ],
)
def test_parse_errors_name_the_line(text, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_ini(text, Path("cfg"))


def test_read_ini_missing_bad_encoding_and_paths(tmp_path):
    assert read_ini(tmp_path / "absent") == {}
    bad = tmp_path / "config"
    bad.write_bytes(b"[profile a]\nx = 1\ny = \xff\xfe\n")
    with pytest.raises(ConfigError, match="line 3: not valid UTF-8"):
        read_ini(bad)
    env = {"HOME": str(tmp_path), "AWS_CONFIG_FILE": "~/cfg", "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "k")}
    assert credentials_path(env) == str(tmp_path / "k")
    assert config_path({"HOME": str(tmp_path)}) == str(tmp_path / ".aws" / "config")


def test_nested_values_and_default_section_parse():
    profiles = files("[default]\nregion = us-east-1\ns3 =\n    max_concurrent_requests = 10\n", "")
    assert profiles.config["default"]["region"] == "us-east-1"


@pytest.mark.parametrize(
    ("kw", "config"),
    [
        ({"duration_seconds": "900"}, BASE_CONFIG),
        ({}, BASE_CONFIG.replace("region = ap-northeast-1", "region = ap-northeast-1\nduration_seconds = 900")),
    ],
)
def test_shortest_session_without_a_margin_is_blamed_on_the_duration(kw, config):
    """900 s is AWS's minimum and inside the documented range; with the default 900 s margin such a session
    could never be served, and the message must name the option that was set, not --refresh-margin."""
    with pytest.raises(UsageError) as info:
        resolve_settings(flags(**kw), files(config, BASE_CREDS), env={})
    message = str(info.value)
    assert "--duration-seconds" in message or "duration_seconds" in message, message
    assert "refresh margin" in message or "--refresh-margin" in message, message


def test_the_cache_backend_from_the_profile_key_and_the_flag():
    assert resolve_settings(flags(), files(BASE_CONFIG, BASE_CREDS), env={}).cache == "auto"
    config = BASE_CONFIG.replace("region = ap-northeast-1", "region = ap-northeast-1\nmfa_process_cache = kernel")
    assert resolve_settings(flags(), files(config, BASE_CREDS), env={}).cache == "kernel"
    assert resolve_settings(flags(cache="keyring"), files(config, BASE_CREDS), env={}).cache == "keyring"
    bad = BASE_CONFIG.replace("region = ap-northeast-1", "region = ap-northeast-1\nmfa_process_cache = gnome")
    with pytest.raises(UsageError, match="mfa_process_cache 'gnome' in the profile is not one of auto, secret-service"):
        resolve_settings(flags(), files(bad, BASE_CREDS), env={})
