"""The kernel keyring cache end to end, headless: no D-Bus at all, through the aws CLI and boto3.

Every test home has its own state directory, hence its own namespace in root's shared ``@u``; what a
test leaves there is purged afterwards.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest

from mfa_process.keystore.kernel import OWNER_ONLY, KernelBackend
from mfa_process.paths import state_dir
from tests.support.clients import AWS_V1, AWS_V2, MFA, answer_prompt, finish, run_detached, screen, spawn
from tests.support.home import AwsHome
from tests.support.kernelkeys import proc_keys, purge
from tests.support.server import login

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the kernel keyring is Linux's")


@pytest.fixture
def headless(aws_home: AwsHome) -> Iterator[AwsHome]:
    """A home with no D-Bus session bus at all, the helper registered as ``source-mfa``."""
    aws_home.env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    text = aws_home.config_path.read_text()
    aws_home.config_path.write_text(text + f"\n[profile source-mfa]\ncredential_process = {MFA} --profile source\n")
    yield aws_home
    purge(state_dir(aws_home.env))


def kernel_of(home: AwsHome) -> KernelBackend:
    return KernelBackend(state_dir(home.env))


def test_headless_aws_cli_and_boto3_are_served_from_the_kernel_keyring(sts_proxy, headless):
    login(headless, sts_proxy)
    status = json.loads(run_detached(headless, [MFA, "status", "--json"]).stdout)
    assert status["cache"] == "kernel"
    assert status["reason"].startswith("no D-Bus session bus")
    assert [e["state"] for e in status["entries"]] == ["valid"]
    doctor = run_detached(headless, [MFA, "doctor", "--profile", "source"]).stdout.splitlines()
    [line] = [line for line in doctor if line.startswith(("ok    cache:", "warn  cache:", "fail  cache:"))]
    assert line.startswith("ok    cache: kernel (kernel keyring (@u)): no D-Bus session bus"), line
    for aws in ([AWS_V1], [AWS_V2, "--endpoint-url", sts_proxy.url]):  # CLI v2 2.9 ignores AWS_ENDPOINT_URL
        out = run_detached(
            headless, [*aws, "sts", "get-caller-identity", "--profile", "source-mfa", "--output", "json"]
        )
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["Account"] == "123456789012"
    code = (
        "import boto3; print(boto3.Session(profile_name='source-mfa').client('sts').get_caller_identity()['Account'])"
    )
    out = run_detached(headless, [sys.executable, "-c", code])
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "123456789012"
    assert sts_proxy.get_session_token_calls == 1
    [row] = proc_keys(kernel_of(headless))
    assert row[4] == f"{OWNER_ONLY:08x}"
    assert row[3] in ("12h", "11h")  # timed out by the kernel at the session's expiry


def test_twenty_concurrent_cold_calls_one_prompt_one_sts_call(sts_proxy, headless):
    script = (
        "for i in $(seq 20); do "
        f"{AWS_V1} sts get-caller-identity --profile source-mfa --output json > out.$i 2> err.$i & "
        "done; wait"
    )
    child = spawn(headless, ["/bin/bash", "-c", script])
    answer_prompt(child, sts_proxy)
    assert finish(child, timeout=240) == 0
    assert screen(child).count("MFA code for") == 1, screen(child)
    assert sts_proxy.get_session_token_calls == 1
    outputs = [json.loads((headless.home / f"out.{i}").read_text()) for i in range(1, 21)]
    assert all(o["Account"] == "123456789012" for o in outputs)
    assert len(proc_keys(kernel_of(headless))) == 1


def test_logout_all_removes_the_keys_even_without_the_index(sts_proxy, headless):
    login(headless, sts_proxy)
    assert kernel_of(headless).names()
    (state_dir(headless.env) / "index.json").unlink()
    out = run_detached(headless, [MFA, "logout", "--all"])
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "removed 1 cached entry for all profiles"
    assert proc_keys(kernel_of(headless)) == []


@pytest.mark.skipif(not shutil.which("setpriv"), reason="needs setpriv (util-linux)")
def test_another_uid_cannot_read_the_keys(sts_proxy, headless):
    login(headless, sts_proxy)
    [row] = proc_keys(kernel_of(headless))
    serial = int(row[0], 16)
    reader = (
        "import ctypes, os\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "buf = ctypes.create_string_buffer(65536)\n"
        f"n = libc.syscall(ctypes.c_long({kernel_of(headless).sys.keyctl_nr}), ctypes.c_long(11), "
        f"ctypes.c_long({serial}), buf, ctypes.c_size_t(65536))\n"
        "print(n, os.strerror(ctypes.get_errno()) if n < 0 else buf.raw[:n])\n"
    )
    out = subprocess.run(
        ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "/usr/bin/python3", "-c", reader],
        capture_output=True,
        text=True,
        timeout=30,
        cwd="/",
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "-1 Permission denied"


def under_seccomp(home: AwsHome, argv: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    """Run *argv* headless with the key syscalls blocked as in a container's default seccomp profile."""
    from tests.support.seccomp import deny_key_syscalls

    return run_detached(home, argv, env=env, preexec_fn=deny_key_syscalls)


def test_a_seccomp_refusal_falls_back_and_says_why(sts_proxy, headless):
    from tests.support.seccomp import supported

    assert supported(), "the seccomp filter knows x86_64 and aarch64"
    alt = str(AWS_V1.rsplit("/", 2)[0] + "/extras/keyrings-alt")  # keyring's plain-text file, the last resort
    env = {"PYTHONPATH": alt, "XDG_DATA_HOME": str(headless.home / "data")}
    refused = under_seccomp(headless, [MFA, "--profile", "source", "--cache", "kernel"], **env)
    assert refused.returncode == 5
    [line] = refused.stderr.splitlines()
    assert line.startswith("mfa-process: the kernel keyring is not available here (Operation not permitted;")
    status = under_seccomp(headless, [MFA, "status", "--json", "--allow-insecure-keyring"], **env)
    assert status.returncode == 0, status.stderr
    doc = json.loads(status.stdout)
    assert doc["cache"] == "keyring"
    assert "no D-Bus session bus" in doc["reason"]
    assert "the kernel keyring is not available here (Operation not permitted" in doc["reason"]
    assert sts_proxy.get_session_token_calls == 0
