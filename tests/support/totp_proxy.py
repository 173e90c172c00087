"""An HTTP proxy in front of moto that checks STS MFA codes as AWS does.

moto accepts any ``TokenCode``. :class:`StsProxy` forwards every request verbatim to moto, except that an
STS request carrying a ``TokenCode`` must hold a valid TOTP code for the proxy's secret that was not
accepted before; otherwise the client gets AWS's 403 ``AccessDenied``. The proxy also counts calls, can
hang or fail on purpose, can shorten the ``Expiration`` of issued credentials, and gives every
``GetSessionToken`` answer its own credentials (moto returns the same example keys every time).
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import re
import secrets
import string
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import pyotp

STS_NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
#: AWS's message for a wrong or reused code (the trailing space is AWS's).
INVALID_CODE_MESSAGE = "MultiFactorAuthentication failed with invalid MFA one time pass code. "
#: AWS's message when the serial number is not the caller's MFA device.
INVALID_SERIAL_MESSAGE = (
    "MultiFactorAuthentication failed, unable to validate MFA code.  "
    "Please verify your MFA serial number is valid and associated with this user."
)
#: STS actions whose answers hold credentials.
CREDENTIAL_ACTIONS = frozenset(
    {
        "GetSessionToken",
        "AssumeRole",
        "AssumeRoleWithWebIdentity",
        "AssumeRoleWithSAML",
        "GetFederationToken",
    }
)
_STS_ACTIONS = CREDENTIAL_ACTIONS | {
    "GetCallerIdentity",
    "GetAccessKeyInfo",
    "DecodeAuthorizationMessage",
}
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "expect",
        "content-length",
    }
)
_CREDENTIAL_SCOPE = re.compile(r"Credential=([^/,\s]+)/[^/]+/[^/]+/([^/]+)/aws4_request")
_BASE32 = string.ascii_uppercase + "234567"
_Proxy = TypeVar("_Proxy", bound="StsProxy")


@dataclass
class Call:
    """One request that went through the proxy; ``status`` is ``None`` while it is in flight."""

    service: str | None
    action: str | None
    params: Mapping[str, str]
    access_key_id: str | None
    status: int | None = None


@dataclass(frozen=True)
class IssuedCredentials:
    """Credentials in a successful STS answer, as the client received them."""

    action: str
    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: str


@dataclass
class _Fault:
    status: int
    code: str
    message: str
    action: str
    remaining: int


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes
    service: str | None
    action: str | None
    params: dict[str, str]
    access_key_id: str | None
    is_json: bool


@dataclass
class _Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def _random_string(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def format_expiration(when: dt.datetime) -> str:
    """Format a datetime as STS writes ``Expiration`` (UTC, ``Z`` suffix)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class StsProxy:
    """A loopback HTTP proxy to ``upstream_url`` (moto) that enforces STS MFA codes.

    Attributes that tests may set at any time:

    * ``hang_seconds``: sleep this long before answering an action in ``hang_actions``
      (default ``GetSessionToken``); :meth:`reset` and :meth:`stop` end the sleep early.
    * ``expiration``: a datetime, or a timedelta from the moment of the answer, written into the
      ``Expiration`` of every STS answer that holds credentials; ``None`` keeps moto's.
    * ``expected_serial``: when set, a ``SerialNumber`` other than this one is refused as AWS does.
    * ``unique_credentials``: give each ``GetSessionToken`` answer fresh ``ASIA...`` credentials
      (default on).
    * ``hang_after_actions``: like ``hang_actions`` (any service), but the request is forwarded first and
      the answer held back, as when the network drops after AWS has acted.
    * ``hang_created_keys_only``: hang only requests signed with a key in ``created_keys``.
    * ``refuse_created_keys``: answer STS requests signed with a key in ``created_keys`` with AWS's
      ``SignatureDoesNotMatch`` (a new key that does not work).
    * ``validate_keys``: refuse STS requests signed with a long-term key (``AKIA...``) that moto's IAM does
      not hold as an active key, with AWS's ``InvalidClientTokenId`` (moto itself answers for any key).
      Default on.
    * ``clock_offset``: seconds added to the time in every answer's ``Date`` header (an endpoint whose
      clock is off from this machine's, for ``doctor --online``).

    ``created_keys`` maps the id of every access key created through the proxy to its secret.
    """

    def __init__(
        self,
        upstream_url: str,
        *,
        secret: str | None = None,
        interval: int = 30,
        host: str = "127.0.0.1",
        unique_credentials: bool = True,
        upstream_timeout: float = 30.0,
    ) -> None:
        parts = urlsplit(upstream_url)
        if parts.scheme != "http" or parts.hostname is None or parts.port is None:
            raise ValueError(f"upstream must be http://HOST:PORT, not {upstream_url!r}")
        self._upstream = (parts.hostname, parts.port)
        self._upstream_timeout = upstream_timeout
        self._host = host
        self._interval = interval
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._generation = 0
        self._totp = pyotp.TOTP(secret or pyotp.random_base32(), interval=interval)
        self._used_codes: set[str] = set()
        self._faults: list[_Fault] = []
        self._calls: list[Call] = []
        self._codes: list[str] = []
        self._accepted_codes: list[str] = []
        self._issued: list[IssuedCredentials] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.hang_seconds = 0.0
        self.hang_actions: frozenset[str] = frozenset({"GetSessionToken"})
        self.hang_after_actions: frozenset[str] = frozenset()
        self.hang_created_keys_only = False
        self.validate_keys = True
        self.refuse_created_keys = False
        self.created_keys: dict[str, str] = {}
        self._iam: Any = None
        self.expiration: dt.datetime | dt.timedelta | None = None
        self.expected_serial: str | None = None
        self.unique_credentials = unique_credentials
        self.clock_offset = 0.0
        #: When set, each unique session token is padded to this many characters (real tokens vary in size).
        self.session_token_length: int | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self: _Proxy) -> _Proxy:
        """Start serving on a free port of the loopback address."""
        if self._server is not None:
            return self
        server = _ProxyHTTPServer((self._host, 0), _ProxyHandler)
        server.proxy = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="sts-proxy", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; requests still sleeping in a hang are let go."""
        server, self._server = self._server, None
        self._release_hangs()
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self: _Proxy) -> _Proxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL to use as ``endpoint_url`` / ``AWS_ENDPOINT_URL``."""
        if self._server is None:
            raise RuntimeError("proxy is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- TOTP --------------------------------------------------------------------------------------

    @property
    def totp(self) -> pyotp.TOTP:
        """The TOTP generator whose codes the proxy accepts."""
        return self._totp

    @property
    def secret(self) -> str:
        """The base32 TOTP secret."""
        return str(self._totp.secret)

    def set_secret(self, secret: str) -> None:
        """Accept codes of another base32 secret from now on (e.g. a moto virtual MFA seed)."""
        with self._lock:
            self._totp = pyotp.TOTP(secret, interval=self._interval)

    def current_code(self) -> str:
        """The code of the current time window (it may already have been used)."""
        return str(self._totp.now())

    def wrong_code(self) -> str:
        """A six-digit code that the proxy refuses now (valid in none of the accepted windows)."""
        now = time.time()
        valid = {self._totp.at(now + k * self._interval) for k in (-1, 0, 1)}
        return next(code for code in (f"{n:06d}" for n in range(1_000_000)) if code not in valid)

    def fresh_code(self) -> str:
        """A code accepted now and never accepted before, without waiting for the next window.

        Like AWS, the proxy accepts the codes of the previous, current and next windows, so a second
        prompt within one window is answered with the next window's code (as a user whose device has just
        moved on would type); only when all three were used does this wait.
        """
        with self._lock:
            used = set(self._used_codes)
        now = time.time()
        for offset in (0, self._interval, -self._interval):
            code = str(self._totp.at(now + offset))
            if code not in used:
                return code
        return self.wait_for_fresh_code()

    def wait_for_fresh_code(self, timeout: float | None = None) -> str:
        """Return a valid code not accepted before, sleeping into the next window if needed."""
        limit = timeout if timeout is not None else 2 * self._interval + 5
        deadline = time.monotonic() + limit
        while True:
            code = self.current_code()
            with self._lock:
                if code not in self._used_codes:
                    return code
            now = time.time()
            pause = self._interval - (now % self._interval) + 0.05
            if time.monotonic() + pause > deadline:
                raise TimeoutError(f"no fresh TOTP code within {limit:.0f} s")
            time.sleep(pause)

    # -- fault injection ---------------------------------------------------------------------------

    def fail_next_with(
        self,
        status: int,
        code: str,
        message: str,
        *,
        action: str = "GetSessionToken",
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``action`` with an STS error instead of forwarding."""
        with self._lock:
            self._faults.append(_Fault(status, code, message, action, times))

    # -- records -----------------------------------------------------------------------------------

    @property
    def get_session_token_calls(self) -> int:
        """How many ``GetSessionToken`` requests reached the proxy, whatever their outcome."""
        return self.count("GetSessionToken")

    def count(self, action: str) -> int:
        """How many requests of ``action`` reached the proxy."""
        with self._lock:
            return sum(1 for call in self._calls if call.action == action)

    @property
    def action_counts(self) -> dict[str, int]:
        """Requests per action, e.g. ``{"GetSessionToken": 1, "AssumeRole": 2}``."""
        with self._lock:
            return dict(Counter(call.action for call in self._calls if call.action))

    @property
    def calls(self) -> list[Call]:
        """Every request, in order."""
        with self._lock:
            return list(self._calls)

    @property
    def codes(self) -> list[str]:
        """Every ``TokenCode`` sent with ``GetSessionToken``, in order, right or wrong."""
        with self._lock:
            return list(self._codes)

    @property
    def accepted_codes(self) -> list[str]:
        """The ``TokenCode`` values that were accepted, in order (any action)."""
        with self._lock:
            return list(self._accepted_codes)

    @property
    def issued(self) -> list[IssuedCredentials]:
        """Credentials handed out by successful STS answers, in order."""
        with self._lock:
            return list(self._issued)

    def reset_counts(self) -> None:
        """Forget the calls, codes and issued credentials recorded so far."""
        with self._lock:
            self._calls.clear()
            self._codes.clear()
            self._accepted_codes.clear()
            self._issued.clear()

    def reset(self) -> None:
        """Back to a fresh proxy: records, used codes, faults, hangs and overrides."""
        self._release_hangs()
        with self._lock:
            self._calls.clear()
            self._codes.clear()
            self._accepted_codes.clear()
            self._issued.clear()
            self._used_codes.clear()
            self._faults.clear()
        self.hang_seconds = 0.0
        self.hang_actions = frozenset({"GetSessionToken"})
        self.hang_after_actions = frozenset()
        self.hang_created_keys_only = False
        self.validate_keys = True
        self.refuse_created_keys = False
        self.created_keys = {}
        self.expiration = None
        self.clock_offset = 0.0
        self.expected_serial = None
        self.session_token_length = None

    def stop_hanging(self) -> None:
        """End every hang now and make no new ones (the records stay)."""
        self.hang_seconds = 0.0
        self._release_hangs()

    def _release_hangs(self) -> None:
        with self._wake:
            self._generation += 1
            self._wake.notify_all()

    # -- request handling --------------------------------------------------------------------------

    def _handle(self, request: _Request) -> _Response:
        """Answer one request: intercept it or forward it to moto."""
        call = Call(request.service, request.action, dict(request.params), request.access_key_id)
        with self._lock:
            self._calls.append(call)
        response = self._intercept(request)
        if response is None:
            try:
                response = self._forward(request)
            except OSError as exc:
                response = _Response(502, [("Content-Type", "text/plain")], f"upstream: {exc}".encode())
            if request.service == "sts" and request.action in CREDENTIAL_ACTIONS:
                response = self._rewrite_credentials(request.action, response)
            if request.action == "CreateAccessKey" and response.status == 200:
                text = response.body.decode("utf-8", "replace")
                self.created_keys[_element(text, "AccessKeyId")] = _element(text, "SecretAccessKey")
            if request.action in self.hang_after_actions and self._hang(request.action, after=True):
                response = _Response(502, [("Content-Type", "text/plain")], b"proxy reset")
        call.status = response.status
        return response

    def _intercept(self, request: _Request) -> _Response | None:
        """An answer made by the proxy itself, or ``None`` to forward the request."""
        if request.action is None:
            return None
        action = request.action
        with self._lock:
            if action == "GetSessionToken" and "TokenCode" in request.params:
                self._codes.append(request.params["TokenCode"])
            fault = next((f for f in self._faults if f.action == action), None)
            if fault is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
        key_id = request.access_key_id or ""
        if (not self.hang_created_keys_only or key_id in self.created_keys) and self._hang(action):
            return _error(request, 503, "ServiceUnavailable", "The proxy was reset.")
        if fault is not None:
            return _error(request, fault.status, fault.code, fault.message)
        if request.service != "sts":
            return None
        return self._check_key(request) or self._check_mfa(request)

    def _check_key(self, request: _Request) -> _Response | None:
        """AWS's answer to an STS request signed with a long-term key that is not (or no longer) valid."""
        key_id = request.access_key_id or ""
        if self.refuse_created_keys and key_id in self.created_keys:
            return _error(request, 403, "SignatureDoesNotMatch", "The request signature we calculated does not match.")
        if self.validate_keys and key_id.startswith("AKIA") and self._key_status(key_id) != "Active":
            return _error(
                request, 403, "InvalidClientTokenId", "The security token included in the request is invalid."
            )
        return None

    def _iam_client(self) -> Any:
        """One IAM client for moto, made once (making a boto3 client costs far more than the calls)."""
        with self._lock:
            if self._iam is None:
                import boto3

                self._iam = boto3.session.Session(
                    aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
                ).client("iam", endpoint_url=f"http://{self._upstream[0]}:{self._upstream[1]}")
            return self._iam

    def _key_status(self, key_id: str) -> str | None:
        """``Active``/``Inactive`` for a key moto's IAM holds, ``None`` for one it does not."""
        iam = self._iam_client()
        for page in iam.get_paginator("list_users").paginate():
            for user in page["Users"]:
                for key in iam.list_access_keys(UserName=user["UserName"])["AccessKeyMetadata"]:
                    if key["AccessKeyId"] == key_id:
                        return str(key["Status"])
        return None

    def _hang(self, action: str, *, after: bool = False) -> bool:
        """Sleep if asked to; ``True`` if a reset or stop cut the sleep short."""
        hang = self.hang_seconds
        if hang <= 0 or action not in (self.hang_after_actions if after else self.hang_actions):
            return False
        with self._wake:
            generation = self._generation
            return self._wake.wait_for(lambda: self._generation != generation, timeout=hang)

    def _check_mfa(self, request: _Request) -> _Response | None:
        """AWS's answer to a wrong, reused or foreign MFA code; ``None`` if the code is good or absent."""
        code = request.params.get("TokenCode")
        if code is None:
            return None
        serial = request.params.get("SerialNumber")
        if self.expected_serial is not None and serial != self.expected_serial:
            return _error(request, 403, "AccessDenied", INVALID_SERIAL_MESSAGE)
        with self._lock:
            valid = bool(self._totp.verify(code, valid_window=1)) and code not in self._used_codes
            if valid:
                self._used_codes.add(code)
                self._accepted_codes.append(code)
        return None if valid else _error(request, 403, "AccessDenied", INVALID_CODE_MESSAGE)

    def _forward(self, request: _Request) -> _Response:
        conn = http.client.HTTPConnection(*self._upstream, timeout=self._upstream_timeout)
        try:
            conn.putrequest(request.method, request.path, skip_host=True, skip_accept_encoding=True)
            for name, value in request.headers:
                if name.lower() not in _HOP_BY_HOP:
                    conn.putheader(name, value)
            conn.putheader("Content-Length", str(len(request.body)))
            conn.endheaders(request.body)
            upstream = conn.getresponse()
            body = upstream.read()
            headers = [(name, value) for name, value in upstream.getheaders() if name.lower() not in _HOP_BY_HOP]
            return _Response(upstream.status, headers, body)
        finally:
            conn.close()

    def _rewrite_credentials(self, action: str, response: _Response) -> _Response:
        if response.status != 200 or b"<Credentials>" not in response.body:
            return response
        text = response.body.decode("utf-8")
        if self.unique_credentials and action == "GetSessionToken":
            text = _replace_element(text, "AccessKeyId", "ASIA" + _random_string(_BASE32, 16))
            text = _replace_element(
                text,
                "SecretAccessKey",
                _random_string(string.ascii_letters + string.digits + "+/", 40),
            )
            token = "IQoJb3JpZ2luX2VjE" + secrets.token_urlsafe(96)
            if self.session_token_length:
                filler = _random_string(string.ascii_letters + string.digits, self.session_token_length)
                token = (token + filler)[: self.session_token_length]
            text = _replace_element(text, "SessionToken", token)
        expiration = self.expiration
        if isinstance(expiration, dt.timedelta):
            expiration = dt.datetime.now(dt.timezone.utc) + expiration
        if expiration is not None:
            text = _replace_element(text, "Expiration", format_expiration(expiration))
        issued = IssuedCredentials(
            action=action,
            access_key_id=_element(text, "AccessKeyId"),
            secret_access_key=_element(text, "SecretAccessKey"),
            session_token=_element(text, "SessionToken"),
            expiration=_element(text, "Expiration"),
        )
        with self._lock:
            self._issued.append(issued)
        response.body = text.encode("utf-8")
        return response


def _element(text: str, name: str) -> str:
    match = re.search(rf"<{name}>(.*?)</{name}>", text, re.DOTALL)
    return match.group(1) if match else ""


def _replace_element(text: str, name: str, value: str) -> str:
    return re.sub(rf"<{name}>.*?</{name}>", lambda _: f"<{name}>{value}</{name}>", text, count=1, flags=re.DOTALL)


def _error(request: _Request, status: int, code: str, message: str) -> _Response:
    """An STS error answer in the request's protocol."""
    request_id = str(uuid.uuid4())
    kind = "Receiver" if status >= 500 else "Sender"
    if request.is_json:
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = [
            ("Content-Type", "application/x-amz-json-1.1"),
            ("x-amzn-RequestId", request_id),
            ("x-amzn-query-error", f"{code};{kind}"),
        ]
        return _Response(status, headers, body)
    xml = (
        f'<ErrorResponse xmlns="{STS_NAMESPACE}">'
        f"<Error><Type>{kind}</Type><Code>{code}</Code><Message>{_xml_escape(message)}</Message>"
        f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)]
    return _Response(status, headers, xml.encode())


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _parse_request(method: str, path: str, headers: Iterable[tuple[str, str]], body: bytes) -> _Request:
    header_list = list(headers)
    lookup = {name.lower(): value for name, value in header_list}
    params: dict[str, str] = dict(parse_qsl(urlsplit(path).query, keep_blank_values=True))
    action: str | None = None
    is_json = False
    content_type = lookup.get("content-type", "")
    target = lookup.get("x-amz-target", "")
    if target:
        is_json = True
        action = target.rpartition(".")[2] or None
        try:
            document = json.loads(body or b"{}")
        except ValueError:
            document = {}
        if isinstance(document, dict):
            params.update({str(k): str(v) for k, v in document.items() if not isinstance(v, (dict, list))})
    elif "x-www-form-urlencoded" in content_type or (body and method == "POST" and not content_type):
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    action = action or params.get("Action")
    service: str | None = None
    access_key_id: str | None = None
    scope = _CREDENTIAL_SCOPE.search(lookup.get("authorization", ""))
    if scope:
        access_key_id, service = scope.group(1), scope.group(2)
    else:
        access_key_id = params.get("X-Amz-Credential", "").split("/")[0] or None
        if action in _STS_ACTIONS:
            service = "sts"
    return _Request(method, path, header_list, body, service, action, params, access_key_id, is_json)


class _ProxyHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    proxy: StsProxy

    def handle_error(self, request: object, client_address: object) -> None:
        """Ignore clients that hung up (e.g. after a read timeout); report anything else."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ProxyHTTPServer

    def log_message(self, *args: object) -> None:
        """Keep quiet: pytest shows failures, not traffic."""

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header, off by the proxy's ``clock_offset``."""
        import email.utils

        when = time.time() if timestamp is None else timestamp
        return email.utils.formatdate(when + self.server.proxy.clock_offset, usegmt=True)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        body = self._read_body()
        request = _parse_request(self.command, self.path, list(self.headers.items()), body)
        response = self.server.proxy._handle(request)
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in ("server", "date"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _serve
