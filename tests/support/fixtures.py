"""pytest fixtures: one moto server per session, an MFA-checking STS proxy and throwaway AWS homes.

Fixtures:

* ``moto_server`` (session): :class:`~tests.support.moto_server.MotoServer`.
* ``sts_proxy`` (function): :class:`MfaStsProxy` in front of a freshly reset moto, with IAM user
  ``alice`` (long-term access key, virtual MFA device ``arn:aws:iam::123456789012:mfa/alice`` whose
  seed is the proxy's TOTP secret) and role ``arn:aws:iam::123456789012:role/admin``.
* ``aws_home`` (function): :class:`~tests.support.home.AwsHome` pointing at ``sts_proxy``, with profile
  ``source`` holding alice's keys (credentials) and ``mfa_serial`` (config).
* ``aws_home_factory`` (function): builds more homes; same keywords as :class:`AwsHome`.
* ``record_client_version`` (function): ``record(name, version)`` notes the version of a client a test
  ran; it becomes a junit property and a line in the "client versions" summary at the end of the run.

Tests marked ``keyring`` need a Secret Service (``scripts/keyring-session.sh``); they are skipped
without one, or fail when ``CI`` is set. Secrets they leave in the default collection are deleted.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.support.home import AwsHome
from tests.support.moto_server import ACCOUNT_ID, MotoServer
from tests.support.totp_proxy import StsProxy

USER_NAME = "alice"
ROLE_NAME = "admin"
SOURCE_PROFILE = "source"
REGION = "us-east-1"

_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
            "Action": "sts:AssumeRole",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
        }
    ],
}


@dataclass(frozen=True)
class MfaUser:
    """An IAM user in moto with a long-term access key and an enabled virtual MFA device."""

    user_name: str
    access_key_id: str
    secret_access_key: str
    mfa_serial: str
    mfa_secret: str
    role_arn: str
    account_id: str = ACCOUNT_ID


class MfaStsProxy(StsProxy):
    """:class:`StsProxy` that also knows the test's IAM user."""

    user: MfaUser | None = None

    def _user(self) -> MfaUser:
        if self.user is None:
            raise RuntimeError("no IAM user set up: use the sts_proxy fixture")
        return self.user

    @property
    def access_key_id(self) -> str:
        """alice's long-term access key id (``AKIA...``)."""
        return self._user().access_key_id

    @property
    def secret_access_key(self) -> str:
        """alice's long-term secret access key."""
        return self._user().secret_access_key

    @property
    def mfa_serial(self) -> str:
        """``arn:aws:iam::123456789012:mfa/alice``."""
        return self._user().mfa_serial

    @property
    def role_arn(self) -> str:
        """``arn:aws:iam::123456789012:role/admin`` (trusts the account, needs MFA)."""
        return self._user().role_arn

    @property
    def account_id(self) -> str:
        """moto's account, ``123456789012``."""
        return self._user().account_id


def create_mfa_user(iam: Any, user_name: str = USER_NAME, role_name: str = ROLE_NAME) -> MfaUser:
    """Create a user with an access key and an enabled virtual MFA device, plus a role to assume."""
    iam.create_user(UserName=user_name)
    key = iam.create_access_key(UserName=user_name)["AccessKey"]
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=user_name)["VirtualMFADevice"]
    seed = device["Base32StringSeed"]
    iam.enable_mfa_device(
        UserName=user_name,
        SerialNumber=device["SerialNumber"],
        AuthenticationCode1="123456",
        AuthenticationCode2="654321",
    )
    role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(_TRUST_POLICY))["Role"]
    return MfaUser(
        user_name=user_name,
        access_key_id=key["AccessKeyId"],
        secret_access_key=key["SecretAccessKey"],
        mfa_serial=device["SerialNumber"],
        mfa_secret=seed.decode() if isinstance(seed, bytes) else str(seed),
        role_arn=role["Arn"],
    )


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """moto's server in a subprocess, shared by the whole session."""
    with MotoServer() as server:
        yield server


@pytest.fixture(scope="session")
def _moto_iam(moto_server: MotoServer) -> Any:
    """An IAM client talking to moto directly (not counted by the proxy)."""
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    return session.client("iam", endpoint_url=moto_server.url)


@pytest.fixture(scope="session")
def _proxy_server(moto_server: MotoServer) -> Iterator[MfaStsProxy]:
    with MfaStsProxy(moto_server.url) as proxy:
        yield proxy


@pytest.fixture
def sts_proxy(moto_server: MotoServer, _proxy_server: MfaStsProxy, _moto_iam: Any) -> Iterator[MfaStsProxy]:
    """The STS proxy over a reset moto, with user ``alice`` and role ``admin`` created."""
    moto_server.reset()
    proxy = _proxy_server
    proxy.reset()
    user = create_mfa_user(_moto_iam)
    proxy.user = user
    proxy.set_secret(user.mfa_secret)
    proxy.expected_serial = user.mfa_serial
    yield proxy
    proxy.reset()
    proxy.user = None


@pytest.fixture
def aws_home_factory(tmp_path_factory: pytest.TempPathFactory, sts_proxy: MfaStsProxy) -> Callable[..., AwsHome]:
    """Build another :class:`AwsHome` (keywords as for :class:`AwsHome`).

    Unless given, ``endpoint_url`` is the proxy and ``config``/``credentials`` hold profile ``source``.
    """

    def make(**kwargs: Any) -> AwsHome:
        kwargs.setdefault("endpoint_url", sts_proxy.url)
        kwargs.setdefault(
            "credentials",
            {
                SOURCE_PROFILE: {
                    "aws_access_key_id": sts_proxy.access_key_id,
                    "aws_secret_access_key": sts_proxy.secret_access_key,
                }
            },
        )
        kwargs.setdefault("config", {SOURCE_PROFILE: {"mfa_serial": sts_proxy.mfa_serial, "region": REGION}})
        return AwsHome(tmp_path_factory.mktemp("home"), **kwargs)

    return make


@pytest.fixture
def aws_home(aws_home_factory: Callable[..., AwsHome]) -> AwsHome:
    """A HOME whose profile ``source`` holds alice's long-term keys (credentials) and MFA serial (config)."""
    return aws_home_factory()


@pytest.fixture(autouse=True)
def _close_terminals() -> Iterator[None]:
    """Kill what a test left running on a pseudo-terminal (a failed expect leaves its child alive)."""
    yield
    clients = sys.modules.get("tests.support.clients")  # loaded only by tests that spawn clients
    if clients is not None:
        clients.close_children()


# -- versions of the clients the tests ran ------------------------------------------------------

_CLIENT_VERSIONS = pytest.StashKey[dict[str, str]]()


@pytest.fixture
def record_client_version(
    request: pytest.FixtureRequest, record_property: Callable[[str, object], None]
) -> Callable[[str, str], None]:
    """``record(name, version)``: keep the version of a client this test ran, for the run's summary."""

    def record(name: str, version: str) -> None:
        request.config.stash.setdefault(_CLIENT_VERSIONS, {})[name] = version
        record_property(f"version {name}", version)

    return record


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """List the client versions the compatibility tests ran, so a run's output says what was proven."""
    versions = config.stash.get(_CLIENT_VERSIONS, {})
    if versions:
        terminalreporter.section("client versions")
        for name, version in sorted(versions.items()):
            terminalreporter.write_line(f"{name}: {version}")


# -- markers and the Secret Service -------------------------------------------------------------


def secret_service_problem() -> str | None:
    """Why the Secret Service can't be used here, or ``None`` when it can."""
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return "no D-Bus session: run under scripts/keyring-session.sh"
    try:
        from jeepney.bus_messages import message_bus
        from jeepney.io.blocking import open_dbus_connection

        with open_dbus_connection(bus="SESSION") as conn:
            reply = conn.send_and_get_reply(message_bus.NameHasOwner("org.freedesktop.secrets"), timeout=5)
    except Exception as exc:
        return f"D-Bus session unusable: {exc}"
    if not reply.body[0]:
        return "no Secret Service on the D-Bus session: run under scripts/keyring-session.sh"
    return None


_problem_cache: list[str | None] = []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark everything under ``tests/integration`` as ``integration``."""
    for item in items:
        if "integration" in Path(str(item.path)).parts:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(autouse=True)
def _keyring_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    """For ``keyring`` tests: require a Secret Service, then delete the secrets the test left."""
    if request.node.get_closest_marker("keyring") is None:
        yield
        return
    if not _problem_cache:
        _problem_cache.append(secret_service_problem())
    problem = _problem_cache[0]
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    import secretstorage

    connection = secretstorage.dbus_init()
    try:
        collection = secretstorage.get_default_collection(connection)
        before = {item.item_path for item in collection.get_all_items()}
        yield
        for item in collection.get_all_items():
            if item.item_path not in before:
                item.delete()
    finally:
        connection.close()
