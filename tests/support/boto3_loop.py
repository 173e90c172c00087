"""A long-running boto3 program: sts:GetCallerIdentity every INTERVAL seconds through one client.

    python boto3_loop.py PROFILE INTERVAL STOP_FILE LIMIT_SECONDS

One boto3 session and one client for the whole run, so botocore's own refresh logic decides when the
credential_process helper runs again. Each call prints ``call N ok ACCOUNT``; the loop ends when
STOP_FILE exists (exit 0) or after LIMIT_SECONDS (exit 3). Any error ends it with a traceback (exit 1).
PROFILE ``-`` uses the default chain (the environment decides, e.g. a container-credentials endpoint).

With ``BOTO3_LOOP_CLOCK_FILE`` set, botocore's credential clock runs that many seconds (the file's
content, read at each look) ahead of the wall clock: a test moves time on for the client's refresh
decisions without waiting, while requests are still signed with the real time.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import botocore.credentials


def shift_credential_clock(clock_file: Path) -> None:
    """Make every RefreshableCredentials decide by the wall clock plus the seconds in *clock_file*."""
    original = botocore.credentials.RefreshableCredentials.__init__

    def shifted_now() -> dt.datetime:
        offset = float(clock_file.read_text() or 0)
        return dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=offset)

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs["time_fetcher"] = shifted_now
        original(self, *args, **kwargs)

    botocore.credentials.RefreshableCredentials.__init__ = init  # type: ignore[method-assign]


def main(argv: list[str]) -> int:
    profile, interval, stop, limit = argv[0], float(argv[1]), Path(argv[2]), float(argv[3])
    clock = os.environ.get("BOTO3_LOOP_CLOCK_FILE")
    if clock:
        shift_credential_clock(Path(clock))
    session = boto3.Session() if profile == "-" else boto3.Session(profile_name=profile)
    client = session.client("sts")
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
