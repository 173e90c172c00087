"""The credential server's pure parts (request checks, replies) and its service over the in-memory refresh flow."""

from __future__ import annotations

import base64
import json
import socket
import threading
from datetime import datetime, timezone

import pytest

from mfa_process import server
from mfa_process.credentials import Credentials
from mfa_process.errors import (
    KeyringError,
    MfaCodeRejected,
    NoTerminalError,
    PromptCancelled,
    StsUnreachable,
    UsageError,
)
from mfa_process.httpd import CredentialServer, Service, read_head
from mfa_process.server import Reply, Request
from tests.unit.test_refresh import T0, Harness, settings

TOKEN = server.new_token()
HOSTS = server.allowed_hosts("127.0.0.1", 4321)


def request(*headers: tuple[str, str], method: str = "GET", target: str = server.PATH) -> Request:
    return Request(method, target, tuple((k.lower(), v) for k, v in headers))


def good(*extra: tuple[str, str], **kw: str) -> Request:
    return request(("Host", "127.0.0.1:4321"), ("Authorization", TOKEN), *extra, **kw)


def refusal(req: Request) -> tuple[int, str] | None:
    reply = server.check(req, hosts=HOSTS, token=TOKEN)
    return None if reply is None else (reply.status, json.loads(reply.body)["Code"])


def test_token_has_256_random_bits_and_is_new_each_time():
    assert len(base64.urlsafe_b64decode(TOKEN + "=")) == 32
    assert len({server.new_token() for _ in range(50)}) == 50


def test_a_good_request_passes():
    assert refusal(good()) is None
    assert refusal(good(target=server.PATH + "?x=1")) is None
    assert refusal(request(("Host", "localhost:4321"), ("Authorization", TOKEN))) is None


@pytest.mark.parametrize(
    ("req", "expected"),
    [
        (request(("Host", "127.0.0.1:4321")), (401, "MissingToken")),
        (request(("Host", "127.0.0.1:4321"), ("Authorization", "x" * len(TOKEN))), (403, "InvalidToken")),
        (request(("Host", "127.0.0.1:4321"), ("Authorization", TOKEN + "x")), (403, "InvalidToken")),
        (
            request(("Host", "127.0.0.1:4321"), ("Authorization", TOKEN), ("Authorization", TOKEN)),
            (403, "InvalidToken"),
        ),
        (request(("Host", "evil.example:4321"), ("Authorization", TOKEN)), (421, "InvalidHost")),
        (request(("Host", "127.0.0.1:4322"), ("Authorization", TOKEN)), (421, "InvalidHost")),
        (request(("Authorization", TOKEN)), (421, "InvalidHost")),
        (request(("Host", "127.0.0.1:4321"), ("Host", "evil:1"), ("Authorization", TOKEN)), (421, "InvalidHost")),
        (good(method="POST"), (405, "MethodNotAllowed")),
        (good(target="/"), (404, "NotFound")),
        (good(("Content-Length", "5")), (413, "RequestTooLarge")),
        (good(("Transfer-Encoding", "chunked")), (413, "RequestTooLarge")),
    ],
)
def test_refusals(req, expected):
    assert refusal(req) == expected


def test_host_is_checked_before_the_token():
    """A page rebound to 127.0.0.1 learns nothing about the token: its Host is refused first."""
    assert refusal(request(("Host", "evil.example:4321"))) == (421, "InvalidHost")


def test_allowed_hosts():
    assert server.allowed_hosts("127.0.0.1", 80) == {"127.0.0.1:80", "localhost:80", "127.0.0.1", "localhost"}
    assert server.allowed_hosts("::1", 9) == {"[::1]:9", "localhost:9"}
    assert server.allowed_hosts("169.254.170.2", 9) == {"169.254.170.2:9"}


def test_parse_head():
    parsed = server.parse_head(b"GET /credentials HTTP/1.1\r\nHost: a:1\r\nAuthorization:  t \r\nX-Y: z")
    assert parsed == Request("GET", "/credentials", (("host", "a:1"), ("authorization", "t"), ("x-y", "z")))
    for bad in (b"GET /credentials\r\nHost: a", b"GET / HTTP/1.1\r\nno colon", b"GET / HTTP/1.1\r\n Host: a"):
        reply = server.parse_head(bad)
        assert isinstance(reply, Reply) and reply.status == 400
    long_line = server.parse_head(b"GET /" + b"a" * server.MAX_REQUEST_LINE + b" HTTP/1.1")
    assert isinstance(long_line, Reply) and long_line.status == 414


def test_too_large_tells_a_long_line_from_long_headers():
    assert server.too_large(b"GET /" + b"a" * 3000).status == 414
    assert server.too_large(b"GET / HTTP/1.1\r\nX: " + b"a" * 3000).status == 431


def test_check_bind():
    assert server.check_bind("127.0.0.1", allow_non_loopback=False) is True
    assert server.check_bind("::1", allow_non_loopback=False) is True
    assert server.check_bind("172.17.0.1", allow_non_loopback=True) is False
    with pytest.raises(UsageError, match="--allow-non-loopback"):
        server.check_bind("172.17.0.1", allow_non_loopback=False)
    with pytest.raises(UsageError, match="every interface"):
        server.check_bind("0.0.0.0", allow_non_loopback=True)  # noqa: S104 - the refused value
    with pytest.raises(UsageError, match="needs an IP address"):
        server.check_bind("localhost", allow_non_loopback=True)


def test_parse_port():
    assert server.parse_port(None) == 0
    assert server.parse_port("8080") == 8080
    with pytest.raises(UsageError, match="port number"):
        server.parse_port("http")
    with pytest.raises(UsageError, match="between 0 and 65535"):
        server.parse_port("70000")


def test_client_variables_and_url():
    assert server.client_variables("127.0.0.1", 5, "t") == {
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:5/credentials",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN": "t",
    }
    assert server.endpoint_url("::1", 5) == "http://[::1]:5/credentials"


def test_credentials_reply_has_the_fields_the_sdks_read():
    creds = Credentials("ASIAX", "secret-key", "session-token", T0, "123456789012")
    reply = server.credentials_reply(creds)
    assert reply.status == 200
    assert json.loads(reply.body) == {
        "AccessKeyId": "ASIAX",
        "SecretAccessKey": "secret-key",
        "Token": "session-token",
        "Expiration": "2026-11-26T12:00:00Z",
        "AccountId": "123456789012",
    }
    assert "AccountId" not in json.loads(server.credentials_reply(creds._replace(account_id=None)).body)


def test_reply_encoding():
    raw = server.failure(405, "Method Not Allowed", "M", "use GET", ("Allow", "GET")).encode()
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 405 Method Not Allowed"
    assert f"Content-Length: {len(body)}" in lines and "Allow: GET" in lines and "Connection: close" in lines
    assert json.loads(body) == {"Code": "M", "Message": "use GET"}


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (NoTerminalError("x"), 403, "MfaSessionLapsed"),
        (MfaCodeRejected("x"), 403, "MfaSessionLapsed"),
        (StsUnreachable("x"), 502, "StsError"),
        (KeyringError("x"), 500, "CredentialsUnavailable"),
    ],
)
def test_error_reply(exc, status, code):
    reply = server.error_reply(exc, "what happened")
    assert (reply.status, json.loads(reply.body)) == (status, {"Code": code, "Message": "mfa-process: what happened"})


# -- the service: every request through the refresh flow ---------------------------------------------


class Lapsing(Harness):
    """A harness whose prompt can be made to fail like a missing terminal or a cancelled prompt."""

    def __init__(self, tmp_path, failure=None):
        super().__init__(tmp_path, settings(duration_seconds=3600))
        self.failure = failure
        self.log: list[str] = []

    def ask(self, message: str) -> str:
        self.asked.append(message)
        if self.failure is not None:
            raise self.failure
        return self.codes.pop(0)


def status_of(reply: Reply) -> tuple[int, dict[str, str]]:
    return reply.status, json.loads(reply.body)


@pytest.mark.parametrize("failure", [NoTerminalError("cannot open /dev/tty"), PromptCancelled("cancelled")])
def test_lapsed_session_answers_at_once_with_one_log_line_and_never_asks_again(tmp_path, failure):
    h = Lapsing(tmp_path)
    service = Service(h.ctx, h.log.append)
    assert service.answer().status == 200
    h.advance(seconds=3600)  # the session lapses
    h.failure = failure
    replies = [status_of(service.answer()) for _ in range(50)]
    assert len(h.asked) == 2  # the first session, then one failed attempt: never again
    assert {status for status, _ in replies} == {403}
    messages = {doc["Message"] for _, doc in replies}
    assert len(messages) == 1
    [message] = messages
    assert "has lapsed" in message and "run `mfa-process login --profile me`" in message
    assert h.log == [f"cannot serve credentials: {message.removeprefix('mfa-process: ')}"]

    # `mfa-process login` elsewhere fills the cache: the next request is served, and the server says so.
    h.failure = None
    other = Lapsing(tmp_path)
    other.raw = h.raw
    other.ctx.store = h.ctx.store
    other.clock[0] = h.clock[0]
    other.codes = ["999999"]  # a code of its own: the used-codes memory is shared through the state directory
    from mfa_process.refresh import session_credentials

    fresh = session_credentials(other.ctx, force=True)
    status, doc = status_of(service.answer())
    assert (status, doc["AccessKeyId"]) == (200, fresh.access_key_id)
    assert h.log[1:] == ["serving credentials again"]
    assert len(h.asked) == 2

    # The next lapse may ask again (the server is no longer in the lapsed state).
    h.advance(seconds=7200)
    assert service.answer().status == 200
    assert len(h.asked) == 3


def test_rejected_codes_lapse_the_session_too(tmp_path):
    h = Lapsing(tmp_path)
    h.sts.reject = {"111111", "222222", "333333"}
    service = Service(h.ctx, h.log.append)
    assert status_of(service.answer())[0] == 403
    assert status_of(service.answer())[0] == 403
    assert len(h.asked) == 3 and len(h.log) == 1


def test_other_failures_are_logged_once_per_new_message_and_retried_on_the_next_request(tmp_path):
    h = Lapsing(tmp_path)
    calls = []

    def unreachable():
        calls.append(1)
        raise StsUnreachable("cannot reach STS")

    h.ctx.sts_factory = unreachable
    service = Service(h.ctx, h.log.append)
    assert [service.answer().status for _ in range(3)] == [502, 502, 502]
    assert len(calls) == 3  # not lapsed: each request tries again, once
    assert h.log == ["cannot serve credentials: cannot reach STS"]


def test_concurrent_requests_cost_one_prompt(tmp_path):
    h = Lapsing(tmp_path)
    release = threading.Event()
    base_ask = h.ask

    def slow_ask(message: str) -> str:
        release.wait(10)
        return base_ask(message)

    h.ctx.ask = slow_ask
    service = Service(h.ctx, h.log.append)
    replies: list[Reply] = []
    threads = [threading.Thread(target=lambda: replies.append(service.answer())) for _ in range(20)]
    for thread in threads:
        thread.start()
    release.set()
    for thread in threads:
        thread.join(10)
    assert [r.status for r in replies] == [200] * 20
    assert len({json.loads(r.body)["AccessKeyId"] for r in replies}) == 1
    assert len(h.asked) == 1


def test_read_head_limits_and_disconnects():
    a, b = socket.socketpair()
    with a, b:
        a.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_head(b) == b"GET / HTTP/1.1\r\nHost: x"
    a, b = socket.socketpair()
    with a, b:
        a.sendall(b"GET / HTTP/1.1\r\nX: " + b"y" * 5000)
        reply = read_head(b)
        assert isinstance(reply, Reply) and reply.status == 431
    a, b = socket.socketpair()
    with b:
        a.sendall(b"GET / HT")
        a.close()
        assert read_head(b) is None


def test_server_answers_over_a_socket_and_stops(tmp_path):
    h = Lapsing(tmp_path)
    service = Service(h.ctx, h.log.append)
    srv = CredentialServer("127.0.0.1", 0, TOKEN, service)
    srv.start()
    try:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
            sock.sendall(
                f"GET /credentials HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\nAuthorization: {TOKEN}\r\n\r\n".encode()
            )
            data = b""
            while chunk := sock.recv(4096):
                data += chunk
    finally:
        srv.stop()
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")
    assert json.loads(data.partition(b"\r\n\r\n")[2])["Expiration"] == datetime.fromtimestamp(
        T0 + 3600, timezone.utc
    ).strftime("%Y-%m-%dT%H:%M:%SZ")
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", srv.port), timeout=2).close()
