"""The STS proxy behaves like AWS towards a real botocore client."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError

from tests.support.fixtures import MfaStsProxy
from tests.support.totp_proxy import INVALID_CODE_MESSAGE, INVALID_SERIAL_MESSAGE


def sts_client(proxy: MfaStsProxy, **config: Any) -> Any:
    session = boto3.session.Session(
        aws_access_key_id=proxy.access_key_id,
        aws_secret_access_key=proxy.secret_access_key,
        region_name="us-east-1",
    )
    options = {"retries": {"total_max_attempts": 1}, "connect_timeout": 5, "read_timeout": 10, **config}
    settings = Config(**options)
    return session.client("sts", endpoint_url=proxy.url, config=settings)


def get_session_token(client: Any, proxy: MfaStsProxy, code: str, **extra: Any) -> Any:
    return client.get_session_token(
        SerialNumber=extra.pop("serial", proxy.mfa_serial), TokenCode=code, DurationSeconds=3600, **extra
    )


def assert_access_denied(error: pytest.ExceptionInfo[ClientError], message: str) -> None:
    response = error.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert response["Error"]["Code"] == "AccessDenied"
    assert response["Error"]["Message"].strip() == message.strip()


def test_right_code_is_accepted_and_counted(sts_proxy: MfaStsProxy) -> None:
    client = sts_client(sts_proxy)
    code = sts_proxy.wait_for_fresh_code()

    credentials = get_session_token(client, sts_proxy, code)["Credentials"]

    assert sts_proxy.get_session_token_calls == 1
    assert sts_proxy.codes == [code]
    assert sts_proxy.accepted_codes == [code]
    assert credentials["AccessKeyId"].startswith("ASIA")
    [issued] = sts_proxy.issued
    assert issued.access_key_id == credentials["AccessKeyId"]
    assert issued.session_token == credentials["SessionToken"]
    [call] = sts_proxy.calls
    assert (call.service, call.action, call.status) == ("sts", "GetSessionToken", 200)
    assert call.access_key_id == sts_proxy.access_key_id


def test_each_session_gets_its_own_credentials(sts_proxy: MfaStsProxy) -> None:
    client = sts_client(sts_proxy)
    first = client.get_session_token()["Credentials"]
    second = client.get_session_token()["Credentials"]
    assert first["AccessKeyId"] != second["AccessKeyId"]
    assert first["SessionToken"] != second["SessionToken"]
    assert sts_proxy.get_session_token_calls == 2
    assert sts_proxy.codes == []


def test_wrong_code_is_refused(sts_proxy: MfaStsProxy) -> None:
    client = sts_client(sts_proxy)
    wrong = sts_proxy.wrong_code()

    with pytest.raises(ClientError) as error:
        get_session_token(client, sts_proxy, wrong)

    assert_access_denied(error, INVALID_CODE_MESSAGE)
    assert sts_proxy.get_session_token_calls == 1
    assert sts_proxy.codes == [wrong]
    assert sts_proxy.accepted_codes == []
    assert sts_proxy.issued == []


def test_reused_code_is_refused(sts_proxy: MfaStsProxy) -> None:
    client = sts_client(sts_proxy)
    code = sts_proxy.wait_for_fresh_code()
    get_session_token(client, sts_proxy, code)

    with pytest.raises(ClientError) as error:
        get_session_token(client, sts_proxy, code)

    assert_access_denied(error, INVALID_CODE_MESSAGE)
    assert sts_proxy.get_session_token_calls == 2
    assert sts_proxy.codes == [code, code]


def test_foreign_serial_is_refused(sts_proxy: MfaStsProxy) -> None:
    client = sts_client(sts_proxy)
    code = sts_proxy.wait_for_fresh_code()

    with pytest.raises(ClientError) as error:
        get_session_token(client, sts_proxy, code, serial="arn:aws:iam::123456789012:mfa/mallory")

    assert_access_denied(error, INVALID_SERIAL_MESSAGE)
    assert sts_proxy.accepted_codes == []


def test_hang_makes_the_client_time_out(sts_proxy: MfaStsProxy) -> None:
    client = sts_client(sts_proxy, read_timeout=0.5)
    sts_proxy.hang_seconds = 3600  # the proxy's reset ends it at the end of the test

    started = time.monotonic()
    with pytest.raises(ReadTimeoutError):
        get_session_token(client, sts_proxy, sts_proxy.wait_for_fresh_code())

    assert time.monotonic() - started < 300  # a hang guard, far below the proxy's hour
    assert sts_proxy.get_session_token_calls == 1


def test_injected_error_is_one_shot(sts_proxy: MfaStsProxy) -> None:
    client = sts_client(sts_proxy)
    sts_proxy.fail_next_with(403, "ExpiredToken", "The security token included in the request is expired")

    with pytest.raises(ClientError) as error:
        get_session_token(client, sts_proxy, sts_proxy.wait_for_fresh_code())
    assert error.value.response["Error"]["Code"] == "ExpiredToken"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403

    # The refused call did not use the code up.
    get_session_token(client, sts_proxy, sts_proxy.wait_for_fresh_code())
    assert sts_proxy.get_session_token_calls == 2


def test_expiration_override(sts_proxy: MfaStsProxy) -> None:
    client = sts_client(sts_proxy)
    sts_proxy.expiration = dt.timedelta(minutes=20)

    credentials = get_session_token(client, sts_proxy, sts_proxy.wait_for_fresh_code())["Credentials"]

    left = credentials["Expiration"] - dt.datetime.now(dt.timezone.utc)
    assert dt.timedelta(minutes=19) < left <= dt.timedelta(minutes=20)


def test_assume_role_with_session_credentials_is_counted(sts_proxy: MfaStsProxy) -> None:
    session_credentials = get_session_token(sts_client(sts_proxy), sts_proxy, sts_proxy.wait_for_fresh_code())[
        "Credentials"
    ]
    role_client = boto3.session.Session(
        aws_access_key_id=session_credentials["AccessKeyId"],
        aws_secret_access_key=session_credentials["SecretAccessKey"],
        aws_session_token=session_credentials["SessionToken"],
        region_name="us-east-1",
    ).client("sts", endpoint_url=sts_proxy.url)

    assumed = role_client.assume_role(RoleArn=sts_proxy.role_arn, RoleSessionName="test")

    assert assumed["AssumedRoleUser"]["Arn"].endswith(":assumed-role/admin/test")
    assert sts_proxy.action_counts == {"GetSessionToken": 1, "AssumeRole": 1}
    assert sts_proxy.calls[-1].access_key_id == session_credentials["AccessKeyId"]
    assert [issued.action for issued in sts_proxy.issued] == ["GetSessionToken", "AssumeRole"]


def test_other_services_pass_through(sts_proxy: MfaStsProxy) -> None:
    iam = boto3.session.Session(
        aws_access_key_id=sts_proxy.access_key_id,
        aws_secret_access_key=sts_proxy.secret_access_key,
        region_name="us-east-1",
    ).client("iam", endpoint_url=sts_proxy.url)

    devices = iam.list_mfa_devices(UserName="alice")["MFADevices"]

    assert [device["SerialNumber"] for device in devices] == [sts_proxy.mfa_serial]
    assert sts_proxy.action_counts == {"ListMFADevices": 1}
    assert sts_proxy.get_session_token_calls == 0


@pytest.mark.parametrize("change", ["delete", "deactivate"])
def test_a_deleted_or_inactive_key_is_refused_as_aws_does_though_moto_accepts_it(
    sts_proxy: MfaStsProxy, moto_server: Any, change: str
) -> None:
    admin = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    ).client("iam", endpoint_url=moto_server.url)
    through_proxy = sts_client(sts_proxy)
    assert through_proxy.get_caller_identity()["Arn"].endswith(":user/alice")
    if change == "delete":
        admin.delete_access_key(UserName="alice", AccessKeyId=sts_proxy.access_key_id)
    else:
        admin.update_access_key(UserName="alice", AccessKeyId=sts_proxy.access_key_id, Status="Inactive")
    direct = boto3.session.Session(
        aws_access_key_id=sts_proxy.access_key_id,
        aws_secret_access_key=sts_proxy.secret_access_key,
        region_name="us-east-1",
    ).client("sts", endpoint_url=moto_server.url)
    assert direct.get_caller_identity()["Account"]  # moto answers for any key: the reason for the check
    with pytest.raises(ClientError) as error:
        through_proxy.get_caller_identity()
    assert error.value.response["Error"]["Code"] == "InvalidClientTokenId"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError) as error:
        get_session_token(through_proxy, sts_proxy, sts_proxy.fresh_code())
    assert error.value.response["Error"]["Code"] == "InvalidClientTokenId"


def test_created_keys_are_recorded_and_can_be_refused(sts_proxy: MfaStsProxy) -> None:
    iam = boto3.session.Session(
        aws_access_key_id=sts_proxy.access_key_id,
        aws_secret_access_key=sts_proxy.secret_access_key,
        region_name="us-east-1",
    ).client("iam", endpoint_url=sts_proxy.url)
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    assert sts_proxy.created_keys == {key["AccessKeyId"]: key["SecretAccessKey"]}
    new = boto3.session.Session(
        aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], region_name="us-east-1"
    ).client("sts", endpoint_url=sts_proxy.url)
    assert new.get_caller_identity()["Arn"].endswith(":user/alice")
    sts_proxy.refuse_created_keys = True
    with pytest.raises(ClientError) as error:
        new.get_caller_identity()
    assert error.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
