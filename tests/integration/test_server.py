"""The credential server (``serve``, ``exec --server``) with real clients, real signals and raw sockets.

Every client finds the server through ``AWS_CONTAINER_CREDENTIALS_FULL_URI`` and
``AWS_CONTAINER_AUTHORIZATION_TOKEN`` alone (``exec --server`` removes ``AWS_PROFILE`` and every static
key), against moto behind the MFA-checking STS proxy.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.integration.test_compat_terraform import state_bucket, terraform_version  # noqa: F401 - fixtures
from tests.support.clients import (
    AWS_V1,
    AWS_V2,
    MFA,
    PROMPT,
    answer_prompt,
    finish,
    run_detached,
    screen,
    spawn,
)
from tests.support.server import FULL_URI, TOKEN, get, login, raw_request, start_serve

pytestmark = pytest.mark.keyring

JS_DIR = Path(__file__).resolve().parents[1] / "js"
LOOP = str(Path(__file__).resolve().parents[1] / "support" / "boto3_loop.py")
#: Prints what the command saw, then calls STS three times through one boto3 client.
BOTO3_PROBE = """\
import json, os, boto3
client = boto3.Session().client("sts")
accounts = [client.get_caller_identity()["Account"] for _ in range(3)]
creds = boto3.Session().get_credentials()
print(json.dumps({
    "accounts": accounts, "method": creds.method, "access_key": creds.access_key,
    "env": {k: v for k, v in os.environ.items() if k.startswith("AWS_")},
}))
"""


def exec_server(home, argv, *extra):
    """``exec --server --profile source [extra] -- argv`` on a terminal."""
    return spawn(home, [MFA, "exec", "--server", "--profile", "source", *extra, "--", *argv])


def last_json(text: str) -> dict:
    lines = [line for line in text.splitlines() if line.startswith("{")]
    assert lines, text
    return json.loads(lines[-1])


def signers(proxy, action="GetCallerIdentity", *, finished: bool = True) -> list[str]:
    """The key that signed each call of *action*; once the client has *finished*, all must have succeeded."""
    calls = [c for c in proxy.calls if c.action == action]
    if finished:
        assert all(c.status == 200 for c in calls), [(c.access_key_id, c.status) for c in calls]
    return [str(c.access_key_id) for c in calls]


# -- real clients through exec --server ------------------------------------------------------------


def test_boto3_gets_the_session_from_the_server_and_no_keys(sts_proxy, aws_home, record_client_version):
    import boto3

    record_client_version("boto3", boto3.__version__)
    child = exec_server(aws_home, [sys.executable, "-c", BOTO3_PROBE])
    answer_prompt(child, sts_proxy)  # asked once, before the command starts
    assert finish(child) == 0, screen(child)
    out = screen(child)
    result = last_json(out)
    [session] = sts_proxy.issued
    assert result["accounts"] == [sts_proxy.account_id] * 3
    assert result["method"] == "container-role"
    assert result["access_key"] == session.access_key_id
    env = result["env"]
    assert env[FULL_URI].startswith("http://127.0.0.1:") and env[FULL_URI].endswith("/credentials")
    assert len(env[TOKEN]) >= 43
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"} & set(env)
    assert out.count(PROMPT) == 1
    assert sts_proxy.get_session_token_calls == 1
    assert signers(sts_proxy) == [session.access_key_id] * 3


@pytest.mark.parametrize("cli", [AWS_V1, AWS_V2], ids=["v1", "v2"])
def test_aws_cli(sts_proxy, aws_home, cli, record_client_version):
    version = subprocess.run([cli, "--version"], capture_output=True, text=True, timeout=60, check=True)
    record_client_version(f"aws CLI {'v1' if cli == AWS_V1 else 'v2'}", (version.stdout or version.stderr).strip())
    login(aws_home, sts_proxy)
    [session] = sts_proxy.issued
    argv = [cli, "sts", "get-caller-identity", "--output", "json", "--endpoint-url", sts_proxy.url]
    result = run_detached(aws_home, [MFA, "exec", "--server", "--profile", "source", "--", *argv])
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Account"] == sts_proxy.account_id
    assert signers(sts_proxy) == [session.access_key_id]
    assert sts_proxy.get_session_token_calls == 1


def test_javascript_sdk_default_chain(sts_proxy, aws_home, record_client_version):
    node = "node"
    if not (JS_DIR / "node_modules" / "@aws-sdk" / "client-sts").is_dir():
        pytest.fail("tests/js/node_modules missing: run scripts/deps.sh")
    version = json.loads(
        (JS_DIR / "node_modules" / "@aws-sdk" / "credential-provider-http" / "package.json").read_text()
    )
    record_client_version("@aws-sdk/credential-provider-http", version["version"])
    login(aws_home, sts_proxy)
    [session] = sts_proxy.issued
    env = {"AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED": "true", "AWS_PROFILE": "source"}
    argv = [node, str(JS_DIR / "identity.mjs"), "chain", "3"]
    result = run_detached(aws_home, [MFA, "exec", "--server", "--profile", "source", "--", *argv], env=env)
    assert result.returncode == 0, result.stderr
    out = last_json(result.stdout)
    assert out["accounts"] == [sts_proxy.account_id] * 3
    assert out["accessKeyId"] == session.access_key_id
    assert out["expiration"][:19] == session.expiration[:19]  # the server's Expiration reached the SDK
    assert signers(sts_proxy) == [session.access_key_id] * 3


def test_terraform_s3_backend(sts_proxy, aws_home, state_bucket, terraform_version):  # noqa: F811 - fixtures
    from tests.integration import test_compat_terraform as tf

    bucket = state_bucket
    login(aws_home, sts_proxy)
    [session] = sts_proxy.issued
    workdir = aws_home.home / "stack"
    workdir.mkdir()
    config = tf.MAIN_TF.replace('    profile        = "{profile}"\n', "")
    assert "profile" not in config
    (workdir / "main.tf").write_text(
        config.format(bucket=tf.BUCKET, key="stack/terraform.tfstate", endpoint=sts_proxy.url, name="stack")
    )
    report = aws_home.home / "report.json"
    argv = [sys.executable, tf.DRIVER, str(report), str(workdir)]
    result = run_detached(
        aws_home, [MFA, "exec", "--server", "--profile", "source", "--", *argv], env=tf.TF_ENV, timeout=180
    )
    assert result.returncode == 0, result.stdout + result.stderr + (report.read_text() if report.exists() else "")
    state = json.loads(bucket.get_object(Bucket=tf.BUCKET, Key="stack/terraform.tfstate")["Body"].read())
    assert state["outputs"]["marker"]["value"] == "hello from stack"
    signed = [c for c in sts_proxy.calls if c.action != "GetSessionToken"]
    assert signed and {c.access_key_id for c in signed} == {session.access_key_id}
    assert sts_proxy.get_session_token_calls == 1


# -- security ---------------------------------------------------------------------------------------


def files_containing(root: Path, needle: str) -> list[Path]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            try:
                if needle.encode() in path.read_bytes():
                    found.append(path)
            except OSError:
                continue
    return found


def test_refusals_with_the_right_status_and_no_secret_anywhere(sts_proxy, aws_home):
    login(aws_home, sts_proxy)
    [session] = sts_proxy.issued
    served = start_serve(aws_home)
    try:
        assert get(served)[0] == 200
        assert get(served, token="")[0] == 401  # no Authorization header
        assert get(served, token=served.token[:-1] + ("A" if served.token[-1] != "A" else "B")) == (
            403,
            {"Code": "InvalidToken", "Message": "wrong AWS_CONTAINER_AUTHORIZATION_TOKEN for this server"},
        )
        assert get(served, host=f"rebound.example:{served.port}")[0] == 421  # DNS rebinding
        assert get(served, host=f"127.0.0.1:{served.port + 1}")[0] == 421
        assert get(served, host=f"localhost:{served.port}")[0] == 200
        assert get(served, extra="X-Filler: " + "a" * 4000 + "\r\n")[0] == 431
        long_line = f"GET /credentials?{'a' * 4000} HTTP/1.1\r\nHost: {served.host}\r\n\r\n".encode()
        assert raw_request(served.port, long_line)[0] == 414
        assert get(served, extra="Content-Length: 10\r\n")[0] == 413
        post = f"POST /credentials HTTP/1.1\r\nHost: {served.host}\r\nAuthorization: {served.token}\r\n\r\n"
        assert raw_request(served.port, post.encode())[0] == 405
        other_path = f"GET / HTTP/1.1\r\nHost: {served.host}\r\nAuthorization: {served.token}\r\n\r\n"
        assert raw_request(served.port, other_path.encode())[0] == 404
        assert get(served)[0] == 200  # the server is still fine
    finally:
        status, err = served.stop()
    assert status == 0, err
    assert err.splitlines()[-1] == "mfa-process: server stopped"
    for secret in (served.token, session.secret_access_key, session.session_token):
        assert secret not in err
    assert files_containing(aws_home.home, served.token) == []  # the token never reaches a file


def non_loopback_address() -> str | None:
    """The machine's address on its default route (a UDP connect sends nothing), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("203.0.113.1", 9))
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") else address


def test_non_loopback_bind_needs_the_flag_and_warns(sts_proxy, aws_home):
    refused = run_detached(aws_home, [MFA, "serve", "--profile", "source", "--bind", "10.1.2.3"])
    assert refused.returncode == 2
    assert "is not a loopback address" in refused.stderr and "--allow-non-loopback" in refused.stderr
    assert sts_proxy.calls == []  # refused before any prompt or STS call
    every = run_detached(aws_home, [MFA, "serve", "--profile", "source", "--bind", "0.0.0.0"])  # noqa: S104
    assert every.returncode == 2 and "every interface" in every.stderr

    address = non_loopback_address()
    if address is None:
        problem = "this machine has no non-loopback IPv4 address to bind"
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    login(aws_home, sts_proxy)
    served = start_serve(aws_home, ["--bind", address, "--allow-non-loopback"])
    try:
        assert served.url.startswith(f"http://{address}:")
        auth = f"Authorization: {served.token}\r\n\r\n"
        ok = raw_request_to(
            address, served.port, f"GET /credentials HTTP/1.1\r\nHost: {address}:{served.port}\r\n{auth}"
        )
        assert ok[0] == 200 and ok[1]["AccessKeyId"] == sts_proxy.issued[-1].access_key_id
        loop = raw_request_to(
            address, served.port, f"GET /credentials HTTP/1.1\r\nHost: 127.0.0.1:{served.port}\r\n{auth}"
        )
        assert loop[0] == 421  # the Host must name the bound address
    finally:
        _, err = served.stop()
    assert f"mfa-process: warning: serving on {address}, which other hosts or containers can reach" in err


def raw_request_to(address: str, port: int, text: str) -> tuple[int, dict]:
    with socket.create_connection((address, port), timeout=30) as sock:
        sock.sendall(text.encode())
        with sock.makefile("rb") as answer:
            raw = answer.read()
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body)


# -- the lapsed MFA session -------------------------------------------------------------------------

#: How long the client polls the lapsed server, and how often (5 requests a second: botocore, which retries
#: a failed fetch after a second, asks about once a second).
POLL_SECONDS = 60
POLL_INTERVAL = 0.2
#: The server's CPU budget for those requests: near idle (5% of one core; a request costs about 3 ms).
CPU_BUDGET = 0.05 * POLL_SECONDS


def test_lapsed_session_answers_at_once_without_spinning(sts_proxy, aws_home):
    login(aws_home, sts_proxy)
    served = start_serve(aws_home)  # no terminal: once the session is gone, no code can be asked
    try:
        assert get(served)[0] == 200
        logout = run_detached(aws_home, [MFA, "logout", "--profile", "source"])
        assert logout.returncode == 0, logout.stderr

        # The SDKs show the message: the aws CLI v2 and boto3.
        aws = run_detached(
            aws_home, [AWS_V2, "sts", "get-caller-identity", "--endpoint-url", sts_proxy.url], env=served.client_env()
        )
        assert aws.returncode != 0
        assert "403" in aws.stderr and "mfa-process login --profile source" in aws.stderr, aws.stderr
        probe = run_detached(aws_home, [sys.executable, "-c", BOTO3_PROBE], env=served.client_env())
        assert probe.returncode != 0 and "mfa-process login --profile source" in probe.stderr, probe.stderr

        before = served.cpu_seconds()
        replies = []
        deadline = time.monotonic() + POLL_SECONDS
        while time.monotonic() < deadline:
            replies.append(get(served))
            time.sleep(POLL_INTERVAL)
        used = served.cpu_seconds() - before
        assert len(replies) > POLL_SECONDS  # the client really polled
        assert {status for status, _ in replies} == {403}
        [message] = {doc["Message"] for _, doc in replies}
        assert "has lapsed" in message and "run `mfa-process login --profile source`" in message
        assert used < CPU_BUDGET, f"{used:.2f} CPU seconds for {len(replies)} requests"
        print(f"lapsed server: {used:.3f} CPU seconds for {len(replies)} requests in {POLL_SECONDS} s")

        login(aws_home, sts_proxy)  # the way out the message names
        status, doc = get(served)
        assert status == 200 and doc["AccessKeyId"] == sts_proxy.issued[-1].access_key_id
    finally:
        _, err = served.stop()
    lines = err.splitlines()
    assert sum("cannot serve credentials" in line for line in lines) == 1, err  # one line, not one per request
    for issued in sts_proxy.issued:
        assert issued.secret_access_key not in err and issued.session_token not in err
    assert served.token not in err
    assert "mfa-process: serving credentials again" in lines
    assert sts_proxy.get_session_token_calls == 2  # the two logins; the server never called STS on its own


# -- robustness -------------------------------------------------------------------------------------


def test_hundred_concurrent_requests_and_clients_that_vanish(sts_proxy, aws_home):
    login(aws_home, sts_proxy)
    [session] = sts_proxy.issued
    served = start_serve(aws_home)
    results: list[tuple[int, dict]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(100)

    def client() -> None:
        try:
            start.wait(30)
            results.append(get(served))
        except BaseException as exc:
            errors.append(exc)

    def vanishing() -> None:
        """Send the request, then reset the connection without reading the reply."""
        sock = socket.create_connection(("127.0.0.1", served.port), timeout=30)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.sendall(
            f"GET /credentials HTTP/1.1\r\nHost: {served.host}\r\nAuthorization: {served.token}\r\n\r\n".encode()
        )
        sock.close()

    try:
        threads = [threading.Thread(target=client) for _ in range(100)]
        threads += [threading.Thread(target=vanishing) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert errors == []
        assert len(results) == 100
        assert {status for status, _ in results} == {200}
        assert {doc["AccessKeyId"] for _, doc in results} == {session.access_key_id}
        half = socket.create_connection(("127.0.0.1", served.port), timeout=30)
        half.sendall(b"GET /credentials HTTP/1.1\r\n")  # and then nothing
        assert get(served)[0] == 200  # a slow client does not block the others
        half.close()
    finally:
        status, err = served.stop()
    assert status == 0
    assert "Traceback" not in err and "unexpected error" not in err, err
    assert sts_proxy.get_session_token_calls == 1


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stop_signal_mid_prompt_releases_the_lock(sts_proxy, aws_home, signum):
    """A server stopped while it asks for a code exits cleanly, and the next process does not wait for it."""
    login(aws_home, sts_proxy)
    child = spawn(aws_home, [MFA, "serve", "--profile", "source"])
    child.expect(r"AWS_CONTAINER_AUTHORIZATION_TOKEN=(\S+)")
    token = child.match.group(1).strip("'")
    child.expect(r"at http://127\.0\.0\.1:(\d+)/credentials")
    port = int(child.match.group(1))
    assert run_detached(aws_home, [MFA, "logout", "--profile", "source"]).returncode == 0
    head = f"GET /credentials HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: {token}\r\n\r\n".encode()
    waiting = threading.Thread(target=lambda: request_ignoring_errors(port, head), daemon=True)
    waiting.start()
    child.expect(PROMPT)  # the server asks on its terminal, holding the session's lock
    child.kill(signum)
    assert finish(child) == 0, screen(child)
    assert screen(child).rstrip().endswith("mfa-process: server stopped")
    after = run_detached(aws_home, [MFA, "--profile", "source"], timeout=30)
    assert after.returncode == 4, after.stderr  # no terminal here: it fails at once, it did not wait
    assert "no terminal" in after.stderr and "waiting for another" not in after.stderr


def request_ignoring_errors(port: int, head: bytes) -> None:
    """A request whose answer does not matter (the server may stop before it answers)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        raw_request(port, head, timeout=60)


# -- exec --server: exit codes, signals, flags ------------------------------------------------------


def test_exec_server_passes_exit_codes_and_signals(sts_proxy, aws_home):
    login(aws_home, sts_proxy)
    base = [MFA, "exec", "--server", "--profile", "source", "--"]
    assert run_detached(aws_home, [*base, "sh", "-c", "exit 7"]).returncode == 7
    assert run_detached(aws_home, [*base, "sh", "-c", "kill -TERM $$"]).returncode == -signal.SIGTERM
    missing = run_detached(aws_home, [*base, "no-such-command"])
    assert missing.returncode == 127 and "command not found: no-such-command" in missing.stderr

    ready = aws_home.home / "ready"
    script = f'trap "echo got-term; exit 42" TERM; touch {ready}; while :; do sleep 0.1; done'
    process = subprocess.Popen(
        [*base, "sh", "-c", script],
        env=aws_home.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)  # to mfa-process alone: passed on to the command
    out, err = process.communicate(timeout=60)
    assert process.returncode == 42, err
    assert out.strip() == "got-term"


def test_exec_server_flags_need_server(sts_proxy, aws_home):
    result = run_detached(aws_home, [MFA, "exec", "--profile", "source", "--port", "9000", "--", "true"])
    assert result.returncode == 2
    assert result.stderr.strip() == "mfa-process: --port applies to the credential server: add --server"
    assert sts_proxy.calls == []


# -- a long boto3 run: the role renewed through the server, by the clock --------------------------


class SharedClock:
    """Wall-clock time plus an offset that the server (in this process) and the client (a file) both read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0.0
        path.write_text("0")

    def now(self) -> float:
        """Epoch seconds, as the refresh context reads the time."""
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds
        self.path.write_text(str(self.offset))


def test_role_nearing_expiry_is_renewed_through_the_server_without_a_prompt(sts_proxy, aws_home, monkeypatch):
    """botocore re-fetches 15 minutes before its role credentials expire; the server re-assumes the role from
    the cached MFA session, silently. Time is moved on 48 minutes for both, not waited for."""
    from mfa_process.app import make_context
    from mfa_process.config import load_settings
    from mfa_process.httpd import CredentialServer, Service
    from mfa_process.server import client_variables, new_token

    login(aws_home, sts_proxy)
    [session] = sts_proxy.issued
    for name, value in aws_home.env.items():  # the server runs in this process, as it would in that home
        monkeypatch.setenv(name, value)
    clock = SharedClock(aws_home.home / "clock")
    args = argparse.Namespace(profile="source", role_arn=sts_proxy.role_arn)
    settings, files = load_settings(args, aws_home.env)
    ctx = make_context(settings, files, aws_home.env)
    ctx.now = clock.now
    asked: list[str] = []

    def no_prompt(message: str) -> str:
        asked.append(message)
        raise AssertionError("the server asked for a code")

    ctx.ask = no_prompt
    log: list[str] = []
    server = CredentialServer("127.0.0.1", 0, new_token(), Service(ctx, log.append))
    server.start()
    stop = aws_home.home / "stop-loop"
    env = {**client_variables("127.0.0.1", server.port, server.token), "BOTO3_LOOP_CLOCK_FILE": str(clock.path)}
    try:
        child = spawn(aws_home, [sys.executable, LOOP, "-", "0.2", str(stop), "120"], **env)
        child.expect("call 3 ok")
        [first_role] = [i for i in sts_proxy.issued if i.action == "AssumeRole"]
        # 48 minutes on: 12 minutes left on the role, inside botocore's 15-minute advisory window and the
        # server's refresh margin. The proxy dates the next role session on the same clock.
        clock.advance(48 * 60)
        sts_proxy.expiration = dt.datetime.fromtimestamp(clock.now() + 3600, dt.timezone.utc)
        renewed = -1
        deadline = time.monotonic() + 60
        while renewed < 3:
            assert time.monotonic() < deadline, screen(child)
            roles = [i for i in sts_proxy.issued if i.action == "AssumeRole"]
            if len(roles) > 1:
                renewed = signers(sts_proxy, finished=False).count(roles[1].access_key_id)
            time.sleep(0.1)
        stop.touch()
        assert finish(child) == 0, screen(child)
    finally:
        server.stop()
    first, second = [i for i in sts_proxy.issued if i.action == "AssumeRole"]
    assert first == first_role
    assert sts_proxy.action_counts.get("GetSessionToken") == 1  # only the login's
    assert sts_proxy.count("AssumeRole") == 2
    keys = signers(sts_proxy)  # every call succeeded, first with the first role session, then the second
    switch = keys.index(second.access_key_id)
    assert switch >= 3 and keys == [first.access_key_id] * switch + [second.access_key_id] * (len(keys) - switch)
    assert {c.access_key_id for c in sts_proxy.calls if c.action == "AssumeRole"} == {session.access_key_id}
    assert asked == [] and log == []
    assert "Traceback" not in screen(child)


#: Counts every SIGINT delivered (the wakeup fd gets one byte per delivery, whatever Python's handlers make of
#: them), and prints the count once SIGTERM arrives.
COUNT_INTERRUPTS = """\
import os, signal, sys
r, w = os.pipe()
os.set_blocking(w, False)
signal.set_wakeup_fd(w)
for signum in (signal.SIGINT, signal.SIGTERM):
    signal.signal(signum, lambda *args: None)
print("ready", flush=True)
seen = b""
while bytes([signal.SIGTERM]) not in seen:
    seen += os.read(r, 100)
print("interrupts=%d" % seen.count(bytes([signal.SIGINT])), flush=True)
sys.exit(5)
"""


def test_exec_server_ctrl_c_reaches_the_command_once(sts_proxy, aws_home):
    """Ctrl-C on the terminal reaches the command directly; mfa-process does not send it a second one
    (a second interrupt makes Terraform abandon its run)."""
    login(aws_home, sts_proxy)
    child = exec_server(aws_home, [sys.executable, "-c", COUNT_INTERRUPTS])
    child.expect("ready")
    child.sendintr()  # Ctrl-C: the terminal signals the whole foreground group, mfa-process and the command
    child.expect_exact("^C")
    child.kill(signal.SIGTERM)  # to mfa-process alone: passed on, and the command reports what it got
    child.expect(r"interrupts=(\d+)", timeout=30)
    assert child.match.group(1) == "1"
    assert finish(child) == 5, screen(child)
