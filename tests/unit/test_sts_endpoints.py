"""Which STS endpoint the clients use: boto3 resolves it from the SOURCE profile, the region and overrides."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from mfa_process.credentials import Credentials
from mfa_process.sts import SourceSession

SESSION = Credentials(
    "ASIA1", "secret-secret", "token-token", int(datetime(2030, 1, 1, tzinfo=timezone.utc).timestamp())
)


@pytest.fixture
def aws_files(tmp_path, monkeypatch):
    for name in (
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_STS",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
        "AWS_STS_REGIONAL_ENDPOINTS",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
    ):
        monkeypatch.delenv(name, raising=False)

    def write(config: str) -> None:
        (tmp_path / "config").write_text(config)
        (tmp_path / "credentials").write_text("[me]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = s\n")
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))

    return write


def endpoints(session: SourceSession) -> tuple[str, str]:
    return session._client().meta.endpoint_url, session._client(SESSION).meta.endpoint_url


@pytest.mark.parametrize(
    ("config", "region", "env", "expected"),
    [
        ("[profile me]\nregion = ap-northeast-1\n", "ap-northeast-1", {}, "https://sts.ap-northeast-1.amazonaws.com"),
        ("[profile me]\n", "eu-west-1", {}, "https://sts.eu-west-1.amazonaws.com"),
        (
            "[profile me]\nsts_regional_endpoints = legacy\n",
            "us-east-1",
            {},
            "https://sts.amazonaws.com",
        ),
        ("[profile me]\nendpoint_url = http://127.0.0.1:9\n", "eu-west-1", {}, "http://127.0.0.1:9"),
        ("[profile me]\n", "eu-west-1", {"AWS_ENDPOINT_URL_STS": "http://127.0.0.1:8"}, "http://127.0.0.1:8"),
        ("[profile me]\n", "eu-west-1", {"AWS_ENDPOINT_URL": "http://127.0.0.1:7"}, "http://127.0.0.1:7"),
    ],
)
def test_get_session_token_and_assume_role_share_the_endpoint(aws_files, monkeypatch, config, region, env, expected):
    aws_files(config)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert endpoints(SourceSession("me", region=region)) == (expected, expected)


def test_stray_environment_keys_do_not_replace_the_profile(aws_files, monkeypatch):
    aws_files("[profile me]\n")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIASTRAYSTRAYSTRAY1")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "stray")
    client = SourceSession("me", region="us-east-1")._client()
    assert client._request_signer._credentials.access_key == "AKIAEXAMPLE"


def test_keys_from_the_keyring_win_over_the_profile(aws_files):
    aws_files("[profile me]\n")
    client = SourceSession("me", region="us-east-1", keys=("AKIAKEYRINGKEYRING01", "k"))._client()
    assert client._request_signer._credentials.access_key == "AKIAKEYRINGKEYRING01"
