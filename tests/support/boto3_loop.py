"""A long-running boto3 program: sts:GetCallerIdentity every INTERVAL seconds through one client.

    python boto3_loop.py PROFILE INTERVAL STOP_FILE LIMIT_SECONDS

One boto3 session and one client for the whole run, so botocore's own refresh logic decides when the
credential_process helper runs again. Each call prints ``call N ok ACCOUNT``; the loop ends when
STOP_FILE exists (exit 0) or after LIMIT_SECONDS (exit 3). Any error ends it with a traceback (exit 1).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import boto3


def main(argv: list[str]) -> int:
    profile, interval, stop, limit = argv[0], float(argv[1]), Path(argv[2]), float(argv[3])
    client = boto3.Session(profile_name=profile).client("sts")
    deadline = time.monotonic() + limit
    calls = 0
    while not stop.exists():
        if time.monotonic() > deadline:
            print(f"gave up after {calls} calls", flush=True)
            return 3
        account = client.get_caller_identity()["Account"]
        calls += 1
        print(f"call {calls} ok {account}", flush=True)
        time.sleep(interval)
    print(f"done after {calls} calls", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
