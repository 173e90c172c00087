"""Offline end-to-end demo: a local AWS emulator, a throwaway HOME, and the aws CLI through mfa-process.

Run it with ``bash scripts/demo.sh`` (which installs what it needs and provides a keyring). It shows the one
MFA prompt, answered here with the code of the demo's virtual MFA device, then a second call served from
the keyring cache without a prompt, then ``mfa-process status``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
import pexpect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.fixtures import MfaStsProxy, create_mfa_user  # noqa: E402
from tests.support.home import VENV_BIN, AwsHome  # noqa: E402
from tests.support.moto_server import MotoServer  # noqa: E402


def say(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m", flush=True)


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="mfa-process-demo."))
    try:
        with MotoServer() as moto, MfaStsProxy(moto.url) as proxy:
            iam = boto3.client(
                "iam",
                endpoint_url=moto.url,
                region_name="us-east-1",
                aws_access_key_id="admin",
                aws_secret_access_key="admin",  # noqa: S106 - the emulator's throwaway admin
            )
            user = create_mfa_user(iam)
            proxy.set_secret(user.mfa_secret)
            mfa = str(VENV_BIN / "mfa-process")
            home = AwsHome(
                workdir,
                endpoint_url=proxy.url,
                credentials={
                    "my-profile": {
                        "aws_access_key_id": user.access_key_id,
                        "aws_secret_access_key": user.secret_access_key,
                    }
                },
                config={
                    "my-profile": {"mfa_serial": user.mfa_serial, "region": "us-east-1"},
                    "my-profile-mfa": {"credential_process": f"{mfa} --profile my-profile", "region": "us-east-1"},
                },
            )
            say(f"local AWS emulator at {proxy.url}; throwaway HOME {workdir}")
            print(home.config_path.read_text().replace(mfa, "mfa-process"))
            aws = str(VENV_BIN / "aws")
            command = f"{aws} sts get-caller-identity --profile my-profile-mfa --output json"

            say("first call: mfa-process asks for the MFA code on the terminal (once)")
            child = pexpect.spawn("/bin/sh", ["-c", command], env=home.env, encoding="utf-8", timeout=120)
            child.logfile_read = sys.stdout
            child.expect("MFA code for")
            child.expect(": ")
            code = proxy.wait_for_fresh_code()
            time.sleep(0.5)
            print(f"\033[2m[the demo types the virtual device's current code: {code}]\033[0m", flush=True)
            child.sendline(code)
            child.expect(pexpect.EOF)
            child.close()
            if child.exitstatus != 0:
                print(f"\ndemo: the first call failed (exit {child.exitstatus})", file=sys.stderr)
                return 1

            say("second call, a new process with no terminal at all: served from the keyring, no prompt")
            started = time.monotonic()
            result = home.run(command.split())
            elapsed = time.monotonic() - started
            print(result.stdout.strip() or result.stderr.strip())
            print(f"({elapsed:.2f} s, GetSessionToken calls so far: {proxy.get_session_token_calls})")

            say("mfa-process status")
            status = home.run([mfa, "status"])
            print(status.stdout.strip() or status.stderr.strip())
            ok = result.returncode == 0 and status.returncode == 0 and proxy.get_session_token_calls == 1
            say("demo passed" if ok else "demo FAILED")
            return 0 if ok else 1
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(workdir)], check=False)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
