"""Every AWS call has one overall deadline: an endpoint that drips its answer cannot hold the caller.

The endpoint is a real socket server on 127.0.0.1 that reads the request and then sends its answer one
byte at a time, far more often than botocore's per-read timeout, so only the overall deadline can end
the call. The time limits here are hang guards; the deadline itself is an input of ``SourceSession``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from mfa_process import sts
from mfa_process.credentials import Credentials
from mfa_process.errors import StsUnreachable

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 100000\r\n\r\n" + b"<" * 100000


class DrippingEndpoint:
    """Answers each connection one byte every ``interval`` seconds; hangs up after ``give_up`` seconds.

    Hanging up is the hang guard: without a working deadline the call fails then, with another error.
    """

    def __init__(self, interval: float, give_up: float = 300.0) -> None:
        self.interval = interval
        self.give_up = give_up
        self.stop = threading.Event()
        self.connections = 0
        self.bytes_sent = 0
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        end = time.monotonic() + self.give_up
        with conn:
            conn.recv(65536)  # the request (its head at least)
            for byte in ANSWER:
                if self.stop.wait(self.interval) or time.monotonic() > end:
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return
                self.bytes_sent += 1

    def close(self) -> None:
        self.stop.set()
        self.server.close()


@pytest.fixture
def dripping(monkeypatch: pytest.MonkeyPatch) -> Iterator[DrippingEndpoint]:
    endpoint = DrippingEndpoint(interval=0.05)
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", f"http://127.0.0.1:{endpoint.port}")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    try:
        yield endpoint
    finally:
        endpoint.close()


def session(deadline: float) -> sts.SourceSession:
    keys = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    return sts.SourceSession("absent-profile", region="us-east-1", keys=keys, deadline=deadline)


def test_a_dripping_endpoint_cannot_hold_get_session_token(dripping: DrippingEndpoint) -> None:
    source = session(deadline=1.5)
    source.prepare()
    start = time.monotonic()
    with pytest.raises(StsUnreachable) as caught:
        source.get_session_token("arn:aws:iam::123456789012:mfa/alice", "123456", 3600)
    assert time.monotonic() - start < dripping.give_up, "the deadline did not end the call"
    assert dripping.connections == 1
    assert dripping.bytes_sent > 0, "the endpoint never answered: this tests a stall, not a drip"
    message = str(caught.value)
    assert message.startswith(f"GetSessionToken: http://127.0.0.1:{dripping.port} sent no complete answer within 1.5 s")
    assert "deadline for connecting, sending and reading the whole response" in message
    assert "wait for the next one" in message


def test_a_dripping_endpoint_cannot_hold_assume_role(dripping: DrippingEndpoint) -> None:
    expiration = datetime.now(timezone.utc) + timedelta(hours=1)
    creds = Credentials("ASIAEXAMPLE", "secret" * 7, "token" * 20, expiration)
    with pytest.raises(StsUnreachable, match=r"^AssumeRole arn:aws:iam::123456789012:role/admin: .* within 1 s"):
        session(deadline=1).assume_role(
            creds, role_arn="arn:aws:iam::123456789012:role/admin", session_name="alice", duration=900
        )


def test_a_dripping_endpoint_cannot_hold_policy_create(monkeypatch: pytest.MonkeyPatch) -> None:
    """``policy --create``'s IAM calls have the same overall deadline, each."""
    import boto3

    from mfa_process.errors import MfaProcessError
    from mfa_process.policy import create_and_attach

    endpoint = DrippingEndpoint(interval=0.05)
    try:
        iam = boto3.client(
            "iam",
            endpoint_url=f"http://127.0.0.1:{endpoint.port}",
            region_name="us-east-1",
            aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
            aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        )
        start = time.monotonic()
        with pytest.raises(MfaProcessError, match=r"^IAM list_policies: no complete answer within 1\.5 s"):
            create_and_attach(iam, "ForceMFA", None, deadline=1.5)
        assert time.monotonic() - start < endpoint.give_up, "the deadline did not end the call"
        assert endpoint.bytes_sent > 0, "the endpoint never answered: this tests a stall, not a drip"
    finally:
        endpoint.close()
