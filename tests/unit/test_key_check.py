"""How a check of a long-term pair (``sts:GetCallerIdentity``) reads AWS's answer, and what rotate-keys does with it.

A refusal (a 4xx about the key) is a verdict: the current key does not work. Only an answer that gives no
verdict (no complete answer, throttling, a server error) is worth trying again. The checks run real botocore
against a loopback HTTP endpoint that answers as told.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from mfa_process.commands.rotate_keys import Place, Rotation
from mfa_process.errors import StsError, StsUnreachable
from mfa_process.rotation import FILE
from mfa_process.sts import KeyCheck, SourceSession, check_key_pair

#: ``(status, code)`` the endpoint answers with; status 0 closes the connection without an answer.
CLOSE = (0, "")


class _Endpoint(ThreadingHTTPServer):
    daemon_threads = True
    answer: tuple[int, str] = CLOSE


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Endpoint

    def log_message(self, *args: object) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, code = self.server.answer
        if status == 0:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        body = (
            '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
            f"<Code>{code}</Code><Message>refused</Message></Error><RequestId>r</RequestId></ErrorResponse>"
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def endpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[_Endpoint]:
    """A loopback STS endpoint in ``AWS_ENDPOINT_URL``, with empty AWS files."""
    for name in ("AWS_ENDPOINT_URL_STS", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name in ("config", "credentials"):
        (tmp_path / name).write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    server = _Endpoint(("127.0.0.1", 0), _Handler)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def check(endpoint: _Endpoint, status: int, code: str) -> KeyCheck:
    endpoint.answer = (status, code)
    source = SourceSession("source", region="us-east-1", keys=("AKIAEXAMPLEEXAMPLE01", "secret"))
    return check_key_pair(source, "AKIAEXAMPLEEXAMPLE01", "secret")


@pytest.mark.parametrize(
    ("status", "code", "may_pass"),
    [
        (403, "InvalidClientTokenId", True),  # may pass: a key created a moment ago, not propagated yet
        (403, "UnrecognizedClientException", True),
        (403, "SignatureDoesNotMatch", False),
        (403, "ExpiredToken", False),
    ],
)
def test_a_refusal_is_a_verdict(endpoint: _Endpoint, status: int, code: str, may_pass: bool) -> None:
    assert check(endpoint, status, code) == KeyCheck(None, may_pass, code, transient=False)


@pytest.mark.parametrize(
    ("status", "code"), [(503, "ServiceUnavailable"), (500, "InternalFailure"), (400, "Throttling")]
)
def test_a_server_error_or_throttling_is_no_verdict(endpoint: _Endpoint, status: int, code: str) -> None:
    assert check(endpoint, status, code) == KeyCheck(None, True, code, transient=True)


def test_a_connection_closed_without_an_answer_is_no_verdict(endpoint: _Endpoint) -> None:
    answer = check(endpoint, *CLOSE)
    assert answer.arn is None and answer.may_pass and answer.transient
    assert answer.problem.startswith(f"GetCallerIdentity: http://127.0.0.1:{endpoint.server_address[1]} closed the ")
    assert answer.problem.endswith("check your network, proxy or endpoint settings")


def starting(answer: KeyCheck) -> Rotation:
    """A run of rotate-keys whose check of the current pair gives *answer* (nothing else is reached)."""
    run: Any = Rotation.__new__(Rotation)
    run.profile = "source"
    run.place = Place(FILE, "AKIAEXAMPLEEXAMPLE01", "secret", Path("credentials"))
    run.check = lambda key_id, secret: answer
    return run  # type: ignore[no-any-return]


@pytest.mark.parametrize("code", ["InvalidClientTokenId", "SignatureDoesNotMatch"])
def test_a_current_key_aws_refuses_is_reported_as_refused(code: str) -> None:
    with pytest.raises(StsError) as caught:
        starting(KeyCheck(None, code == "InvalidClientTokenId", code)).start()
    assert type(caught.value) is StsError
    assert str(caught.value) == (
        f"AWS does not accept the current access key AKIAEXAMPLEEXAMPLE01 of profile 'source' ({code}); "
        "rotate-keys needs a working key to start from"
    )


def test_no_verdict_on_the_current_key_says_try_again() -> None:
    with pytest.raises(StsUnreachable, match=r"^could not check the current access key .*\(ServiceUnavailable\); "):
        starting(KeyCheck(None, True, "ServiceUnavailable", transient=True)).start()
