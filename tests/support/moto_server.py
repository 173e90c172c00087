"""Run moto's standalone server in a subprocess on a free loopback port."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

#: moto's default account, used by every test.
ACCOUNT_ID = "123456789012"


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that was free on ``host`` a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class MotoServer:
    """moto's server as a child process, so that its state is apart from the test process.

    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(self, host: str = "127.0.0.1", *, start_timeout: float = 30.0) -> None:
        self.host = host
        self.port = 0
        self.start_timeout = start_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._logdir = tempfile.TemporaryDirectory(prefix="moto-server-")
        self.log_path = Path(self._logdir.name) / "moto.log"

    @property
    def url(self) -> str:
        """Base URL of the running server, e.g. ``http://127.0.0.1:40123``."""
        if self._proc is None:
            raise RuntimeError("moto server is not running")
        return f"http://{self.host}:{self.port}"

    def start(self) -> MotoServer:
        """Start the server and wait until it answers; retry on a port clash."""
        last_error = ""
        for _ in range(3):
            self.port = free_port(self.host)
            env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
            env["MOTO_ACCOUNT_ID"] = ACCOUNT_ID
            with self.log_path.open("ab") as log:
                self._proc = subprocess.Popen(
                    [sys.executable, "-m", "moto.server", "-H", self.host, "-p", str(self.port)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                )
            if self._wait_ready():
                return self
            last_error = self._log_tail()
            self.stop()
        raise RuntimeError(f"moto server did not start:\n{last_error}")

    def _wait_ready(self) -> bool:
        assert self._proc is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return False
            try:
                if self._request("GET", "/moto-api/", timeout=2) == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def _log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def reset(self) -> None:
        """Drop every resource in every moto backend (``POST /moto-api/reset``)."""
        status = self._request("POST", "/moto-api/reset", timeout=10)
        if status != 200:
            raise RuntimeError(f"moto reset failed: HTTP {status}")

    def _request(self, method: str, path: str, *, timeout: float) -> int:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=b"" if method == "POST" else None)
            response = conn.getresponse()
            response.read()
            return response.status
        finally:
            conn.close()

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 5 s)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)

    def close(self) -> None:
        """Stop the server and remove its log."""
        self.stop()
        self._logdir.cleanup()

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
