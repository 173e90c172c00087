"""Driving the credential server in tests: start ``serve``, read its variables, send raw requests, measure CPU."""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from tests.support.clients import COMMAND_TIMEOUT, MFA
from tests.support.home import AwsHome

FULL_URI = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
TOKEN = "AWS_CONTAINER_AUTHORIZATION_TOKEN"


@dataclass
class Served:
    """A running ``mfa-process serve`` without a terminal, and the variables it printed."""

    process: subprocess.Popen[str]
    variables: dict[str, str]

    @property
    def url(self) -> str:
        return self.variables[FULL_URI]

    @property
    def token(self) -> str:
        return self.variables[TOKEN]

    @property
    def port(self) -> int:
        return int(urlsplit(self.url).port or 0)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def client_env(self) -> dict[str, str]:
        """What a client needs: the two variables."""
        return dict(self.variables)

    def stop(self, signum: int = signal.SIGTERM) -> tuple[int, str]:
        """Send *signum*; the exit status and everything the server wrote on stderr."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
        _, err = self.process.communicate(timeout=COMMAND_TIMEOUT)
        return self.process.returncode, err

    def cpu_seconds(self) -> float:
        """User plus system CPU time the server process (all its threads) has used so far."""
        with open(f"/proc/{self.process.pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
        return ticks / os.sysconf("SC_CLK_TCK")


def parse_exports(lines: Sequence[str]) -> dict[str, str]:
    """``export NAME=VALUE`` lines (sh syntax) into a dict."""
    out = {}
    for line in lines:
        words = shlex.split(line)
        assert words[0] == "export", line
        name, _, value = words[1].partition("=")
        out[name] = value
    return out


def start_serve(home: AwsHome, extra: Sequence[str] = ()) -> Served:
    """Start ``serve --profile source`` with no terminal; return once it printed its two variables."""
    process = subprocess.Popen(
        [MFA, "serve", "--profile", "source", *extra],
        env=home.env,
        cwd=home.home,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    lines = [process.stdout.readline(), process.stdout.readline()]
    if not all(line.startswith("export ") for line in lines):
        process.kill()
        _, err = process.communicate(timeout=COMMAND_TIMEOUT)
        raise AssertionError(f"serve did not start: {lines!r}\n{err}")
    return Served(process, parse_exports(lines))


def raw_request(port: int, data: bytes, *, timeout: float = COMMAND_TIMEOUT) -> tuple[int, dict[str, str]]:
    """Send *data* as it is; the status and the JSON body of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        with sock.makefile("rb") as answer:
            raw = answer.read()
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body)


def get(
    served: Served, *, token: str | None = None, host: str | None = None, extra: str = ""
) -> tuple[int, dict[str, str]]:
    """A GET of the credentials as an SDK sends it (the token and Host may be replaced; ``None``: the right ones)."""
    lines = ["GET /credentials HTTP/1.1", f"Host: {host or served.host}"]
    if token != "":
        lines.append(f"Authorization: {served.token if token is None else token}")
    head = "\r\n".join(lines) + "\r\n" + extra + "\r\n"
    return raw_request(served.port, head.encode("latin-1"))


def login(home: AwsHome, proxy: object) -> None:
    """``mfa-process login --profile source`` on a terminal, answered with a fresh code."""
    from tests.support.clients import answer_prompt, finish, screen, spawn

    child = spawn(home, [MFA, "login", "--profile", "source"])
    answer_prompt(child, proxy)  # type: ignore[arg-type]
    assert finish(child) == 0, screen(child)
