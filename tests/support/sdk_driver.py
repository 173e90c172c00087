"""Run a credential_process command the way some AWS SDKs do, to test the helper against those habits.

    python sdk_driver.py [--retries N] [--stderr pipe|devnull|closed] [--kill-on-usr1] COMMAND

Each run is ``sh -c COMMAND`` (Debian's /bin/sh is dash, which forks the command instead of exec'ing
it), stdout captured, stdin inherited, stderr as asked: ``pipe`` (read and swallowed, as SDKs that
report only "missing credentials"), ``devnull`` (``2> /dev/null``) or ``closed``. With ``--retries N``
a failed run is started again, up to N runs (one SDK runs the helper 4 times per request). With
``--kill-on-usr1`` the shell is killed on SIGUSR1, as the Go SDK kills it when its timeout ends, and the
driver then waits for the command's stdout to close, as Go's ``cmd.Wait`` does.

Prints one line per run, ``run N: exit STATUS``, then ``done``.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys


def run_once(command: str, stderr: str, kill_on_usr1: bool) -> int:
    target = {"pipe": subprocess.PIPE, "devnull": subprocess.DEVNULL, "closed": None}[stderr]
    shell = subprocess.Popen(
        ["sh", "-c", command if stderr != "closed" else f"exec 2>&-; {command}"],
        stdout=subprocess.PIPE,
        stderr=target,
    )
    if kill_on_usr1:
        signal.signal(signal.SIGUSR1, lambda *_: shell.kill())
    assert shell.stdout is not None
    shell.stdout.read()  # until every holder of the pipe, the shell's children too, has closed it
    if shell.stderr is not None:
        shell.stderr.read()
    return shell.wait()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--retries", type=int, default=1)
    parser.add_argument("--stderr", choices=("pipe", "devnull", "closed"), default="pipe")
    parser.add_argument("--kill-on-usr1", action="store_true")
    parser.add_argument("command")
    args = parser.parse_args()
    for attempt in range(1, args.retries + 1):
        status = run_once(args.command, args.stderr, args.kill_on_usr1)
        print(f"run {attempt}: exit {status}", flush=True)
        if status == 0:
            break
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
