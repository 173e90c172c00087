"""AWS calls (STS, and the few IAM calls of `setup` and `policy`); the only module that imports boto3 or botocore.

Long-term keys come from the SOURCE profile through an explicit ``boto3.Session(profile_name=...)`` so stray
``AWS_ACCESS_KEY_ID`` variables never win, and everything boto3 honours for that profile keeps working:
``AWS_ENDPOINT_URL``/``AWS_ENDPOINT_URL_STS``, ``endpoint_url``, ``sts_regional_endpoints``, the region.
Only ``GetSessionToken`` is called with the long-term keys (AWS's force-MFA policy denies the rest), and it
is never retried automatically: a retried request would present the same one-time code twice.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any, Final, NamedTuple

import boto3
import botocore.exceptions
from botocore.config import Config

from mfa_process.config import NESTED_MARKER
from mfa_process.credentials import Credentials, account_id_from_arn, epoch_of
from mfa_process.deadline import AWS_CALL
from mfa_process.errors import (
    AwsRefused,
    ConfigError,
    MfaCodeRejected,
    RecursionConfigError,
    StsError,
    StsUnreachable,
    UsageError,
)

CONNECT_TIMEOUT: Final = 5
#: Per socket read: an endpoint that sends one byte now and then never trips it, hence the deadline below.
READ_TIMEOUT: Final = 15

#: Error codes that mean the long-term key itself is unusable, with what to do about it.
KEY_PROBLEMS: Final = {
    "InvalidClientTokenId": "the access key id of profile '{profile}' is not valid (deleted or mistyped?)",
    "SignatureDoesNotMatch": "the secret access key of profile '{profile}' does not match its access key id",
    "ExpiredToken": "the credentials of profile '{profile}' have expired",
    "UnrecognizedClientException": "the access key id of profile '{profile}' is not valid",
}


def _config(retries: int) -> Config:
    return Config(
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        retries={"mode": "standard", "total_max_attempts": retries},
        user_agent_extra="mfa-process",
    )


def _from_response(doc: dict[str, Any], account_id: str | None) -> Credentials:
    creds = doc["Credentials"]
    return Credentials(
        access_key_id=creds["AccessKeyId"],
        secret_access_key=creds["SecretAccessKey"],
        session_token=creds["SessionToken"],
        expiration=epoch_of(creds["Expiration"]),
        account_id=account_id,
    )


def _skew(doc: Any) -> float | None:
    """This machine's clock minus the answering server's (its HTTP ``Date``), or None without one."""
    import time
    from email.utils import parsedate_to_datetime

    try:
        date = doc["ResponseMetadata"]["HTTPHeaders"]["date"]
        return time.time() - parsedate_to_datetime(date).timestamp()
    except (KeyError, TypeError, ValueError, OverflowError):
        return None


def _endpoint_of(client: Any) -> str:
    return str(getattr(getattr(client, "meta", None), "endpoint_url", "the STS endpoint"))


def _translate(  # noqa: PLR0911 - one branch per kind of failure reads best
    exc: Exception, *, profile: str, action: str, client: Any
) -> StsError | ConfigError | UsageError:
    """Turn a botocore exception into one of ours, with a message that says what to do."""
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        message = str(error.get("Message", "")).strip()
        if code in KEY_PROBLEMS:
            hint = KEY_PROBLEMS[code].format(profile=profile)
            return StsError(
                f"{action} failed: {hint}; fix the key in ~/.aws/credentials or run `mfa-process store-keys`"
            )
        if code == "AccessDenied" and action.startswith("AssumeRole"):
            return StsError(
                f"{action} failed: AccessDenied: {message[:300]}; check that the role's trust policy allows your "
                "user (with MFA) and the external id, if it needs one"
            )
        if code == "AccessDenied" and action == "GetSessionToken" and "MultiFactorAuthentication" in message:
            return MfaCodeRejected("AWS rejected the MFA code (wrong, expired or already used)")
        return StsError(f"{action} failed: {code}: {message[:300]}")
    if isinstance(exc, (botocore.exceptions.ConnectTimeoutError, botocore.exceptions.ReadTimeoutError)):
        return StsUnreachable(
            f"{action} timed out talking to {_endpoint_of(client)}; check your network or endpoint settings"
        )
    if isinstance(exc, botocore.exceptions.EndpointConnectionError):
        return StsUnreachable(
            f"cannot reach {_endpoint_of(client)} for {action}; check your network, proxy or AWS_ENDPOINT_URL"
        )
    if isinstance(exc, botocore.exceptions.ConnectionClosedError):  # no answer at all: AWS gave no verdict
        used = "; AWS may have used the code, so wait for the next one" if action == "GetSessionToken" else ""
        return StsUnreachable(
            f"{action}: {_endpoint_of(client)} closed the connection without a complete answer; check your "
            f"network, proxy or endpoint settings{used}"
        )
    if isinstance(exc, botocore.exceptions.InvalidRegionError):
        return UsageError(
            f"{str(exc)[:200].rstrip('.')}; check --region, AWS_REGION, AWS_DEFAULT_REGION and the region "
            f"of profile '{profile}'"
        )
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return ConfigError(
            f"profile '{profile}' has no access keys; add them to ~/.aws/credentials or run "
            f"`mfa-process store-keys --profile {profile}`"
        )
    if isinstance(exc, botocore.exceptions.ProfileNotFound):
        return ConfigError(f"profile '{profile}' not found; check --profile")
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        return StsError(f"{action} failed: {type(exc).__name__}: {str(exc)[:300]}")
    return StsError(f"{action} failed: {type(exc).__name__}")


class SourceSession:
    """STS access for one SOURCE profile: one boto3 Session and at most one client of each kind."""

    def __init__(
        self,
        profile: str,
        *,
        region: str | None = None,
        keys: tuple[str, str] | None = None,
        deadline: float = AWS_CALL,
    ) -> None:
        self.profile = profile
        self.region = region
        self.keys = keys
        self.deadline = deadline
        #: This clock minus AWS's, in seconds, from the ``Date`` of the last answer (None when unknown).
        self.clock_skew: float | None = None
        self._session: Any = None
        self._long_term: Any = None

    def _boto_session(self) -> Any:
        if self._session is None:
            try:
                if self.keys is not None:
                    self._session = boto3.Session(
                        aws_access_key_id=self.keys[0],
                        aws_secret_access_key=self.keys[1],
                        profile_name=self.profile,
                    )
                else:
                    self._session = boto3.Session(profile_name=self.profile)
            except botocore.exceptions.ProfileNotFound:
                if self.keys is None:
                    raise ConfigError(f"profile '{self.profile}' not found; check --profile") from None
                # setup with new keys: the profile is written only after the MFA device is found
                self._session = boto3.Session(aws_access_key_id=self.keys[0], aws_secret_access_key=self.keys[1])
            except botocore.exceptions.BotoCoreError as exc:
                raise _translate(exc, profile=self.profile, action="loading the profile", client=None) from None
        return self._session

    def _client(self, creds: Credentials | None = None) -> Any:
        session = self._boto_session()
        kwargs: dict[str, Any] = {"config": _config(1 if creds is None else 3)}
        if self.region:
            kwargs["region_name"] = self.region
        if creds is not None:
            kwargs.update(
                aws_access_key_id=creds.access_key_id,
                aws_secret_access_key=creds.secret_access_key,
                aws_session_token=creds.session_token,
            )
        if creds is None and os.environ.get(NESTED_MARKER):
            raise RecursionConfigError(
                f"resolving the keys of profile '{self.profile}' ran mfa-process again; point --profile "
                "at the profile that holds the long-term access keys"
            )
        if creds is None:
            os.environ[NESTED_MARKER] = self.profile
        try:
            return session.client("sts", **kwargs)
        except botocore.exceptions.BotoCoreError as exc:
            raise _translate(exc, profile=self.profile, action="creating the STS client", client=None) from None
        finally:
            if creds is None:
                os.environ.pop(NESTED_MARKER, None)

    def _call(self, action: str, client: Any, method: Any, **params: Any) -> Any:
        """One AWS call, abandoned once :attr:`deadline` seconds have passed without its whole answer."""
        from mfa_process.deadline import DeadlineExceeded, call_within

        try:
            doc = call_within(self.deadline, method, **params)
        except DeadlineExceeded:
            retry = "; AWS may have used the code, so wait for the next one" if action == "GetSessionToken" else ""
            raise StsUnreachable(
                f"{action}: {_endpoint_of(client)} sent no complete answer within {self.deadline:g} s (the deadline "
                f"for connecting, sending and reading the whole response); check your network, proxy or endpoint "
                f"settings{retry}"
            ) from None
        self.clock_skew = _skew(doc)
        return doc

    def prepare(self) -> None:
        """Create the long-term-key client now: profile, key, region and endpoint errors show before a prompt."""
        if self._long_term is None:
            self._long_term = self._client()

    def get_session_token(self, serial: str, code: str, duration: int) -> Credentials:
        """``GetSessionToken`` with the long-term keys; the one call allowed before MFA."""
        self.prepare()
        client = self._long_term
        try:
            doc = self._call(
                "GetSessionToken", client, client.get_session_token, SerialNumber=serial, TokenCode=code,
                DurationSeconds=duration,
            )  # fmt: skip
        except StsUnreachable:
            raise
        except Exception as exc:
            raise _translate(exc, profile=self.profile, action="GetSessionToken", client=client) from None
        return _from_response(doc, account_id_from_arn(serial))

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
        """``AssumeRole`` with the MFA session's credentials (the MFA context carries over)."""
        client = self._client(session)
        params: dict[str, Any] = {
            "RoleArn": role_arn,
            "RoleSessionName": session_name,
            "DurationSeconds": duration,
        }
        if external_id:
            params["ExternalId"] = external_id
        if source_identity:
            params["SourceIdentity"] = source_identity
        try:
            doc = self._call(f"AssumeRole {role_arn}", client, client.assume_role, **params)
        except StsUnreachable:
            raise
        except Exception as exc:
            raise _translate(exc, profile=self.profile, action=f"AssumeRole {role_arn}", client=client) from None
        return _from_response(doc, account_id_from_arn(role_arn))

    def mfa_devices(self) -> list[str]:
        """Serial numbers of the caller's own MFA devices (``iam:GetUser`` + ``iam:ListMFADevices``).

        Both are allowed without MFA under AWS's force-MFA policy; ``sts:GetCallerIdentity`` is not.
        """
        client = self._iam_client()
        try:
            user = self._call("GetUser", client, client.get_user)["User"]["UserName"]
            devices = self._call("ListMFADevices", client, client.list_mfa_devices, UserName=user)["MFADevices"]
        except StsUnreachable:
            raise
        except Exception as exc:
            raise _translate(exc, profile=self.profile, action="ListMFADevices", client=client) from None
        return [str(d["SerialNumber"]) for d in devices]

    def _iam_client(self) -> Any:
        session = self._boto_session()
        kwargs: dict[str, Any] = {"config": _config(3)}
        if self.region:
            kwargs["region_name"] = self.region
        try:
            return session.client("iam", **kwargs)
        except botocore.exceptions.BotoCoreError as exc:
            raise _translate(exc, profile=self.profile, action="creating the IAM client", client=None) from None

    def caller_arn(self, creds: Credentials) -> str:
        """``sts:GetCallerIdentity`` with *creds* (the MFA session): proves the whole chain works."""
        client = self._client(creds)
        try:
            return str(self._call("GetCallerIdentity", client, client.get_caller_identity)["Arn"])
        except StsUnreachable:
            raise
        except Exception as exc:
            raise _translate(exc, profile=self.profile, action="GetCallerIdentity", client=client) from None


def iam_client(profile: str) -> Any:
    """An IAM client for an administrator's *profile* (``policy --create``)."""
    try:
        return boto3.Session(profile_name=profile).client("iam", config=_config(3))
    except botocore.exceptions.BotoCoreError as exc:
        raise _translate(exc, profile=profile, action="creating the IAM client", client=None) from None


class AccessKey(NamedTuple):
    """One access key of an IAM user as ``iam:ListAccessKeys`` describes it (never its secret)."""

    key_id: str
    status: str
    created: datetime | None


class KeyAdmin:
    """The IAM calls of ``rotate-keys``, made with the MFA session for one IAM user.

    Under AWS's force-MFA policy these are allowed only with MFA (``AllowManageOwnAccessKeys``); none is
    made with the long-term keys, each runs under the overall deadline, and ``CreateAccessKey`` (which is
    not idempotent) is never retried by botocore.
    """

    def __init__(self, source: SourceSession, session: Credentials, user: str) -> None:
        self.profile = source.profile
        self.user = user
        self._source = source
        boto = source._boto_session()
        kwargs: dict[str, Any] = {
            "config": _config(3),
            "aws_access_key_id": session.access_key_id,
            "aws_secret_access_key": session.secret_access_key,
            "aws_session_token": session.session_token,
        }
        if source.region:
            kwargs["region_name"] = source.region
        try:
            self._iam = boto.client("iam", **kwargs)
            self._iam_once = boto.client("iam", **{**kwargs, "config": _config(1)})
        except botocore.exceptions.BotoCoreError as exc:
            raise _translate(exc, profile=self.profile, action="creating the IAM client", client=None) from None

    def _call(self, action: str, *, missing_ok: bool = False, **params: Any) -> Any:
        """One IAM call for the user; with *missing_ok*, None when IAM answers NoSuchEntity."""
        client = self._iam_once if action == "CreateAccessKey" else self._iam
        try:
            method = getattr(client, _snake(action))
            return self._source._call(action, client, method, UserName=self.user, **params)
        except StsUnreachable:
            raise
        except botocore.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if missing_ok and code == "NoSuchEntity":
                return None
            if code in ("AccessDenied", "AccessDeniedException"):
                raise AwsRefused(
                    f"{action} was refused for IAM user {self.user}: the user's policy must allow managing "
                    "its own access keys with MFA (see `mfa-process policy`)"
                ) from None
            problem = _translate(exc, profile=self.profile, action=action, client=client)
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 500)
            if status < 500 and type(problem) is StsError:
                raise AwsRefused(str(problem)) from None
            raise problem from None
        except Exception as exc:
            raise _translate(exc, profile=self.profile, action=action, client=self._iam) from None

    def list_keys(self) -> list[AccessKey]:
        """The user's access keys (``iam:ListAccessKeys``)."""
        doc = self._call("ListAccessKeys")
        return [
            AccessKey(str(k["AccessKeyId"]), str(k.get("Status", "")), k.get("CreateDate"))
            for k in doc.get("AccessKeyMetadata", [])
        ]

    def create_key(self) -> tuple[str, str]:
        """A new access key pair for the user (``iam:CreateAccessKey``)."""
        key = self._call("CreateAccessKey")["AccessKey"]
        return str(key["AccessKeyId"]), str(key["SecretAccessKey"])

    def delete_key(self, key_id: str) -> bool:
        """Delete *key_id* (``iam:DeleteAccessKey``); False if it was already gone."""
        return self._call("DeleteAccessKey", missing_ok=True, AccessKeyId=key_id) is not None

    def deactivate_key(self, key_id: str) -> None:
        """Set *key_id* Inactive (``iam:UpdateAccessKey``)."""
        self._call("UpdateAccessKey", AccessKeyId=key_id, Status="Inactive")


def _snake(action: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in action).lstrip("_")


class KeyCheck(NamedTuple):
    """What ``sts:GetCallerIdentity`` said about a long-term pair: the caller's ARN, or why not."""

    arn: str | None
    #: The failure may pass by itself (a new key that IAM has not propagated yet, the network).
    may_pass: bool = False
    problem: str = ""
    #: AWS gave no verdict on the key (no answer, throttling, a server error).
    transient: bool = False


#: Answers that a key created a moment ago gives until IAM has propagated it.
NOT_YET_PROPAGATED: Final = frozenset({"InvalidClientTokenId", "UnrecognizedClientException"})


def check_key_pair(source: SourceSession, key_id: str, secret: str) -> KeyCheck:
    """``sts:GetCallerIdentity`` signed with a long-term pair (no permission needed, even under force-MFA).

    Made once, without botocore's retries: the caller decides whether and when to try again.
    """
    boto = source._boto_session()
    kwargs: dict[str, Any] = {"config": _config(1), "aws_access_key_id": key_id, "aws_secret_access_key": secret}
    if source.region:
        kwargs["region_name"] = source.region
    try:
        client = boto.client("sts", **kwargs)
    except botocore.exceptions.BotoCoreError as exc:
        raise _translate(exc, profile=source.profile, action="creating the STS client", client=None) from None
    try:
        return KeyCheck(str(source._call("GetCallerIdentity", client, client.get_caller_identity)["Arn"]))
    except StsUnreachable as exc:
        return KeyCheck(None, True, str(exc), True)
    except botocore.exceptions.ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", "Unknown"))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        transient = status >= 500 or code == "Throttling"
        return KeyCheck(None, transient or code in NOT_YET_PROPAGATED, code, transient)
    except Exception as exc:
        problem = _translate(exc, profile=source.profile, action="GetCallerIdentity", client=client)
        unreachable = isinstance(problem, StsUnreachable)
        return KeyCheck(None, unreachable, str(problem), unreachable)


def endpoint_date(profile: str, region: str | None) -> tuple[str, Any] | None:
    """The STS endpoint *profile* resolves to and the time in its HTTP ``Date`` header, or None without one.

    An unsigned GET of the endpoint's root: no credentials and no code are sent (AWS answers it with an
    error page that carries the header). Raises :class:`StsUnreachable` when the endpoint does not answer.
    """
    import urllib.error
    import urllib.request
    from email.utils import parsedate_to_datetime

    try:
        session = boto3.Session(profile_name=profile)
        client = session.client("sts", region_name=region or "us-east-1", config=_config(1))
    except botocore.exceptions.BotoCoreError as exc:
        raise _translate(exc, profile=profile, action="creating the STS client", client=None) from None
    url = str(client.meta.endpoint_url)
    try:
        with urllib.request.urlopen(url, timeout=CONNECT_TIMEOUT + READ_TIMEOUT) as response:  # noqa: S310
            header = response.headers.get("Date")
    except urllib.error.HTTPError as exc:
        header = exc.headers.get("Date")
    except (OSError, ValueError) as exc:
        raise StsUnreachable(
            f"cannot reach {url} to read its clock ({type(exc).__name__}); "
            "check your network, proxy or AWS_ENDPOINT_URL"
        ) from None
    if not header:
        return None
    try:
        return url, parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None


def credential_method(profile: str) -> str | None:
    """How botocore resolves *profile*'s credentials (``custom-process``, ``shared-credentials-file``...).

    Resolving runs the profile's credential_process once, as any SDK would.
    """
    import botocore.session

    try:
        creds = botocore.session.Session(profile=profile).get_credentials()
    except botocore.exceptions.BotoCoreError as exc:
        raise _translate(exc, profile=profile, action="resolving the profile", client=None) from None
    return str(creds.method) if creds is not None else None
