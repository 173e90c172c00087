"""Side-by-side timings of mfa-process: cache hit, cold path, bursts and end to end (see benchmarks/run.sh).

Run by run.sh inside scripts/keyring-session.sh (a private D-Bus session whose Secret Service is a fresh,
unlocked gnome-keyring), with no controlling terminal, by the tools venv's interpreter. Every measured
program runs in one throwaway HOME (AWS files, XDG directories) with a clean environment; AWS calls go to
moto's server on 127.0.0.1. Timings are hyperfine's (``--shell=none``, ``--export-json``): wall time of the
whole process, start-up included. Nothing here asserts a target: the table says how each one came out.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, NamedTuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BENCH = HERE / ".venv" / "bin"
PEER = HERE / ".peer-venv" / "bin"
TOOLS = HERE / ".tools-venv" / "bin"
RESULTS = HERE / "results"

PROFILE = "p"
COLD_PROFILE = "cold"
SERIAL = "arn:aws:iam::123456789012:mfa/alice"
ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # noqa: S105 - AWS's documented example
#: The cold profile's token command: a fresh six-digit code per run (mfa-process refuses a code it has
#: just used), printed by the shell mfa-process starts for it.
TOKEN_COMMAND = "echo $((100000 + $$ % 900000))"  # noqa: S105 - a shell command
SECRET_SERVICE = "keyring.backends.SecretService.Keyring"  # noqa: S105 - a class name
#: Modules whose presence on the cache-hit path would mean a slow path ran.
HEAVY = (
    "boto3",
    "botocore",
    "keyring",
    "secretstorage",
    "cryptography",
    "argparse",
    "dataclasses",
    "inspect",
    "typing",
    "re",
    "json",
    "datetime",
    "pathlib",
    "configparser",
    "collections",
    "socket",
    "subprocess",
    "filelock",
)


class Stats(NamedTuple):
    """One measured command: wall-time statistics in seconds over every run, and its CPU time.

    *cpu* is the median over the rounds of hyperfine's mean user + system time per run: what the process
    itself spent, which other work on the machine changes far less than the wall time."""

    name: str
    command: str
    median: float
    low: float
    high: float
    runs: int
    cpu: float


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def run(argv: list[str], env: dict[str, str], *, timeout: float = 60, check: bool = True) -> str:
    """Run one untimed command; its stdout."""
    proc = subprocess.run(
        argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and proc.returncode != 0:
        raise RuntimeError(f"{shlex.join(argv)} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    return proc.stdout


# --- the throwaway world -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Moto:
    """moto's server on 127.0.0.1, started and stopped by the harness."""

    def __init__(self, logdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
        with (logdir / "moto.log").open("wb") as out:
            self.proc = subprocess.Popen(
                [str(TOOLS / "python"), "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto's server exited; see {logdir / 'moto.log'}")
            try:
                with urllib.request.urlopen(self.url + "/moto-api/", timeout=2):  # noqa: S310 - our own server
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("moto's server did not answer within 30 s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def write_home(home: Path) -> None:
    aws = home / ".aws"
    aws.mkdir(parents=True)
    keys = f"aws_access_key_id = {ACCESS_KEY_ID}\naws_secret_access_key = {SECRET_ACCESS_KEY}\n"
    (aws / "credentials").write_text(f"[{PROFILE}]\n{keys}\n[{COLD_PROFILE}]\n{keys}")
    (aws / "config").write_text(
        f"[profile {PROFILE}]\nmfa_serial = {SERIAL}\n\n"
        f"[profile {COLD_PROFILE}]\nmfa_serial = {SERIAL}\ntoken_command = {TOKEN_COMMAND}\n\n"
        f"[profile {PROFILE}-mfa]\ncredential_process = {BENCH / 'mfa-process'} --profile {PROFILE}\n\n"
        f"[profile {PROFILE}-peer]\ncredential_process = {shlex.join(peer_lean())}\n"
    )
    for path in (aws / "credentials", aws / "config"):
        path.chmod(0o600)


def make_env(home: Path, endpoint: str) -> dict[str, str]:
    """Only what the programs need: HOME, XDG and AWS locations, the session bus, moto's endpoint."""
    env = {
        "HOME": str(home),
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "AWS_CONFIG_FILE": str(home / ".aws" / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / ".aws" / "credentials"),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": endpoint,
    }
    for name in ("DBUS_SESSION_BUS_ADDRESS", "GNOME_KEYRING_CONTROL", "TZ"):
        if name in os.environ:
            env[name] = os.environ[name]
    if "DBUS_SESSION_BUS_ADDRESS" not in env:
        raise RuntimeError("no D-Bus session: run through benchmarks/run.sh (scripts/keyring-session.sh)")
    return env


# --- the commands --------------------------------------------------------------------------------


def py(venv: Path, code: str) -> list[str]:
    return [str(venv / "python"), "-c", code]


def mfa(profile: str = PROFILE) -> list[str]:
    return [str(BENCH / "mfa-process"), "--profile", profile]


def peer_lean() -> list[str]:
    """The peer as its README suggests once the secret is in the keyring: two keyring reads per call."""
    return [str(PEER / "aws-credential-process"), "--access-key-id", ACCESS_KEY_ID, "--mfa-serial-number", SERIAL]


def peer_files() -> list[str]:
    """The peer reading both keys from ~/.aws/credentials: it then rewrites the secret in the keyring each call."""
    return [
        str(PEER / "aws-credential-process"),
        "--credentials-section",
        PROFILE,
        "--mfa-serial-number",
        SERIAL,
    ]


def keyring_get(key: str, backend: str | None = None) -> list[str]:
    setenv = f"import os; os.environ['PYTHON_KEYRING_BACKEND'] = {backend!r}; " if backend else ""
    return py(BENCH, f"{setenv}import keyring; keyring.get_password('mfa-process', {key!r})")


def boto3_client(profile: str) -> str:
    return f"import boto3; c = boto3.Session(profile_name={profile!r}).client('sts')"


# --- hyperfine -----------------------------------------------------------------------------------


class Command(NamedTuple):
    name: str
    argv: list[str]
    prepare: list[str] | None = None


def hyperfine(
    group: str, commands: list[Command], env: dict[str, str], *, runs: int, per_round: int = 3, warmup: int = 1
) -> dict[str, Stats]:
    """Measure *commands* with hyperfine, interleaved: many short rounds (*per_round* timed runs of each
    command after *warmup* untimed ones), the order rotated every round. A busy spell of the machine then
    spreads over every command instead of landing on the ones measured during it."""
    rounds = -(-runs // per_round)
    times: dict[str, list[float]] = {c.name: [] for c in commands}
    cpu: dict[str, list[float]] = {c.name: [] for c in commands}
    out = RESULTS / f"hyperfine-{group}-round.json"
    for number in range(rounds):
        shift = number % len(commands)
        order = commands[shift:] + commands[:shift]
        argv = ["hyperfine", "--shell=none", "--style", "basic", "--warmup", str(warmup), "--runs", str(per_round)]
        argv += ["--export-json", str(out)]
        if any(c.prepare for c in order):
            for c in order:
                argv += ["--prepare", shlex.join(c.prepare or ["true"])]
        for c in order:
            argv += ["--command-name", c.name, shlex.join(c.argv)]
        with (RESULTS / f"hyperfine-{group}.log").open("a") as logfile:
            subprocess.run(
                argv,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=logfile,
                stderr=subprocess.STDOUT,
                timeout=60 + len(commands) * (per_round + warmup) * 15,
                check=True,
            )
        for result in json.loads(out.read_text())["results"]:
            times[result["command"]].extend(result["times"])
            cpu[result["command"]].append(result["user"] + result["system"])
    out.unlink()
    merged = {
        c.name: {"command": shlex.join(c.argv), "times": times[c.name], "cpu_per_round": cpu[c.name]} for c in commands
    }
    (RESULTS / f"hyperfine-{group}.json").write_text(json.dumps(merged, indent=1))
    return {
        c.name: Stats(
            c.name,
            shlex.join(c.argv),
            statistics.median(times[c.name]),
            min(times[c.name]),
            max(times[c.name]),
            len(times[c.name]),
            statistics.median(cpu[c.name]),
        )
        for c in commands
    }


# --- the groups ----------------------------------------------------------------------------------

FLOOR = "python -c pass (floor)"
HIT = "mfa-process --profile p (cache hit)"
PEER_LEAN = "aws-credential-process, secret in keyring (cache hit)"
PEER_FILES = "aws-credential-process, keys in ~/.aws/credentials (cache hit)"
IMPORTS_STDLIB = "python: import the standard modules a hit imports, nothing else"
IMPORTS_ALL = "python: import every module a hit imports, nothing else"


HIT_KERNEL = "mfa-process --profile p --cache kernel (cache hit, kernel keyring)"
KEYCTL = "keyctl print (same item)"


def mfa_kernel() -> list[str]:
    return [*mfa(), "--cache", "kernel"]


def seed_kernel(env: dict[str, str]) -> dict[str, str]:
    """The same kind of session in the kernel keyring's cache, and the id of its key (for ``keyctl print``).

    The key lives in the user keyring @u, which every process of this uid shares: its description carries
    the namespace of this run's throwaway state directory, and :func:`drop_kernel` unlinks it at the end."""
    argv = [str(BENCH / "python"), str(HERE / "seed.py"), PROFILE, SERIAL, "kernel"]
    doc: dict[str, str] = json.loads(run(argv, env))
    if doc.get("cache") != "kernel":
        raise RuntimeError(f"the kernel keyring cache was not used: {doc.get('cache')!r}")
    doc["key_id"] = run(["keyctl", "search", "@u", "user", doc["kernel_description"]], env).strip()
    if run(["keyctl", "pipe", doc["key_id"]], env) != doc["value"]:
        raise RuntimeError("keyctl does not read the value mfa-process stored in the kernel keyring")
    served = json.loads(run(mfa_kernel(), env))
    if served["AccessKeyId"] != doc["access_key_id"]:
        raise RuntimeError("mfa-process --cache kernel did not serve the seeded session")
    return doc


def drop_kernel(env: dict[str, str], key_id: str) -> None:
    run(["keyctl", "unlink", key_id, "@u"], env, check=False)


def hit_group(env: dict[str, str], key: str, kernel_id: str, hit_modules: list[str], runs: int) -> dict[str, Stats]:
    """The cache hit beside the floor, the parts it is made of, the other ways to read the item, the peer.

    *hit_modules*: what a hit imports beyond the bare interpreter (from the probe); importing them alone
    splits the hit's cost into start-up, imports, and the work itself."""
    stdlib = [m for m in hit_modules if m.split(".")[0] != "mfa_process"]
    commands = [
        Command(FLOOR, py(BENCH, "pass")),
        Command(HIT, mfa()),
        Command(HIT_KERNEL, mfa_kernel()),
        Command(IMPORTS_STDLIB, py(BENCH, "import " + ", ".join(stdlib))),
        Command(IMPORTS_ALL, py(BENCH, "import " + ", ".join(hit_modules))),
        Command("secret-tool lookup (same item)", ["secret-tool", "lookup", "service", "mfa-process", "username", key]),
        Command(KEYCTL, ["keyctl", "print", kernel_id]),
        Command("python -c 'import keyring'", py(BENCH, "import keyring")),
        Command("keyring.get_password, auto backend", keyring_get(key)),
        Command("keyring.get_password, PYTHON_KEYRING_BACKEND=SecretService", keyring_get(key, SECRET_SERVICE)),
        Command("python -c 'import boto3'", py(BENCH, "import boto3")),
        Command("python -c pass (peer's venv)", py(PEER, "pass")),
        Command(PEER_LEAN, peer_lean()),
        Command(PEER_FILES, peer_files()),
    ]
    log(f"cache hit: {len(commands)} commands x {runs} runs")
    return hyperfine("hit", commands, env, runs=runs)


MISS = "mfa-process --profile cold (miss: prompt, GetSessionToken, store)"
PROMPT = "the token command alone (sh -c ...)"
CLIENT = "python: import boto3, Session, one STS client"
GST = "python: the same + GetSessionToken to moto"
KEYRING_WRITE = "python: import keyring, set_password (auto backend)"


def cold_group(env: dict[str, str], cold_key: str, value: str, runs: int) -> dict[str, Stats]:
    """A miss (the item deleted before each run) beside the parts it cannot avoid, timed alone."""
    clear = ["secret-tool", "clear", "service", "mfa-process", "username", cold_key]
    call = f"c.get_session_token(SerialNumber={SERIAL!r}, TokenCode='123456', DurationSeconds=43200)"
    commands = [
        Command(FLOOR, py(BENCH, "pass")),
        Command(HIT, mfa()),
        Command(PROMPT, ["sh", "-c", TOKEN_COMMAND]),
        Command("python -c 'import boto3'", py(BENCH, "import boto3")),
        Command(CLIENT, py(BENCH, boto3_client(COLD_PROFILE))),
        Command(GST, py(BENCH, f"{boto3_client(COLD_PROFILE)}; {call}")),
        Command(KEYRING_WRITE, py(BENCH, f"import keyring; keyring.set_password('mfa-process', 'bench', {value!r})")),
        Command(MISS, mfa(COLD_PROFILE), prepare=clear),
    ]
    log(f"cold path: {len(commands)} commands x {runs} runs")
    return hyperfine("cold", commands, env, runs=runs)


BURST = 50
PARALLEL = f"{BURST} cache hits at once"
SEQUENTIAL = f"{BURST} cache hits one after another"
FLOOR_PARALLEL = f"{BURST} x python -c pass at once"
FLOOR_SEQUENTIAL = f"{BURST} x python -c pass one after another"
CPU_LOOP = "sum(range(10_000_000))"
CPU_PARALLEL = f"2 x python -c '{CPU_LOOP}' at once"
CPU_SEQUENTIAL = f"2 x python -c '{CPU_LOOP}' one after another"


def burst_group(env: dict[str, str], runs: int) -> dict[str, Stats]:
    """Bursts of cache hits, and of the bare interpreter: how far this machine's cores scale at all."""
    burst = ["bash", str(HERE / "burst.sh"), str(BURST)]
    commands = [
        Command(PARALLEL, [*burst, "parallel", *mfa()]),
        Command(SEQUENTIAL, [*burst, "sequential", *mfa()]),
        Command(FLOOR_PARALLEL, [*burst, "parallel", *py(BENCH, "pass")]),
        Command(FLOOR_SEQUENTIAL, [*burst, "sequential", *py(BENCH, "pass")]),
        Command(CPU_PARALLEL, ["bash", str(HERE / "burst.sh"), "2", "parallel", *py(BENCH, CPU_LOOP)]),
        Command(CPU_SEQUENTIAL, ["bash", str(HERE / "burst.sh"), "2", "sequential", *py(BENCH, CPU_LOOP)]),
    ]
    log(f"bursts: {len(commands)} commands x {runs} runs")
    return hyperfine("burst", commands, env, runs=runs, per_round=2)


E2E_MFA = "aws sts get-caller-identity --profile p-mfa"
E2E_STATIC = "aws sts get-caller-identity, static keys in env"
E2E_PEER = "aws sts get-caller-identity --profile p-peer"


def e2e_group(env: dict[str, str], session: dict[str, str], runs: int) -> dict[str, Stats]:
    aws = [str(TOOLS / "aws"), "sts", "get-caller-identity", "--output", "json"]
    static = [f"{k}={v}" for k, v in session.items()]
    # Both arms start through env(1), so the one with variables pays nothing the other does not.
    commands = [
        Command(E2E_MFA, ["env", *aws, "--profile", f"{PROFILE}-mfa"]),
        Command(E2E_STATIC, ["env", *static, *aws]),
        Command(E2E_PEER, ["env", *aws, "--profile", f"{PROFILE}-peer"]),
    ]
    log(f"end to end: {len(commands)} commands x {runs} runs")
    return hyperfine("e2e", commands, env, runs=runs)


# --- untimed checks and probes -------------------------------------------------------------------


def seed(env: dict[str, str]) -> dict[str, str]:
    doc: dict[str, str] = json.loads(run([str(BENCH / "python"), str(HERE / "seed.py"), PROFILE, SERIAL], env))
    if doc.get("cache") != "secret-service" or doc.get("fast_path") != "active":
        raise RuntimeError(f"the cache is {doc.get('cache')!r} ({doc.get('fast_path')!r}): not the fast path")
    return doc


PEER_TRIM = """
import datetime, json, sys, keyring
label = sys.argv[1]
doc = json.loads(keyring.get_password("aws_credential_process", label))
expiration = datetime.datetime.fromisoformat(doc["expiration"]).replace(microsecond=0)
doc["expiration"] = expiration.isoformat()
keyring.set_password("aws_credential_process", label, json.dumps(doc))
"""


def warm_peer(env: dict[str, str]) -> str:
    """One real miss of the peer against moto (code typed by fake-pinentry); its session is then cached."""
    argv = [*peer_lean(), "--secret-access-key", SECRET_ACCESS_KEY, "--pin-entry", str(HERE / "fake-pinentry")]
    first = json.loads(run(argv, env, timeout=120))
    # moto sends Expiration with microseconds, which the peer stores as it gets it but cannot parse back
    # ("%Y-%m-%dT%H:%M:%S%z"); STS answers in whole seconds. Trim the stored item to what STS would have
    # given, writing it the way the peer does (its own keyring, same JSON fields).
    run([str(PEER / "python"), "-c", PEER_TRIM, f"{ACCESS_KEY_ID}-mfa-session"], env)
    again = json.loads(run(peer_lean(), env))
    if again["AccessKeyId"] != first["AccessKeyId"]:
        raise RuntimeError("aws-credential-process did not serve its cached session")
    files = json.loads(run(peer_files(), env))
    if files["AccessKeyId"] != first["AccessKeyId"]:
        raise RuntimeError("aws-credential-process (keys from file) did not serve its cached session")
    return str(first["AccessKeyId"])


def check_hit(env: dict[str, str], seeded: dict[str, str]) -> dict[str, str]:
    doc = json.loads(run(mfa(), env))
    if doc["AccessKeyId"] != seeded["access_key_id"]:
        raise RuntimeError("mfa-process did not serve the seeded session")
    return {
        "AWS_ACCESS_KEY_ID": doc["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": doc["SecretAccessKey"],
        "AWS_SESSION_TOKEN": doc["SessionToken"],
    }


def stored(env: dict[str, str], key: str) -> str:
    return run(["secret-tool", "lookup", "service", "mfa-process", "username", key], env).strip()


def probe(argv: list[str], env: dict[str, str], name: str) -> dict[str, Any]:
    out = RESULTS / f"probe-{name}.json"
    out.unlink(missing_ok=True)
    run(argv, {**env, "PYTHONPATH": str(HERE / "probe"), "BENCH_PROBE_OUT": str(out)}, timeout=120)
    doc: dict[str, Any] = json.loads(out.read_text())
    return doc


def import_times(
    argv: list[str],
    env: dict[str, str],
    repeat: int = 7,
    save: Path | None = None,
    prepare: list[str] | None = None,
) -> dict[str, tuple[float, float, int]]:
    """``-X importtime`` of *argv*, median over *repeat* runs: module -> (self ms, cumulative ms, depth).

    *save* keeps the raw output of the last run; *prepare* runs before each one."""
    samples: dict[str, list[tuple[float, float, int]]] = {}
    for _ in range(repeat):
        if prepare:
            run(prepare, env, check=False)
        proc = subprocess.run(
            argv,
            env={**env, "PYTHONPROFILEIMPORTTIME": "1"},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        for line in proc.stderr.splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            head, cumulative_us, name = line.split("|", 2)
            self_us = head.split(":", 1)[1]
            depth = (len(name) - len(name.lstrip())) // 2
            samples.setdefault(name.strip(), []).append((int(self_us) / 1000, int(cumulative_us) / 1000, depth))
        if save is not None:
            save.write_text(proc.stderr)
    return {
        mod: (statistics.median(s[0] for s in v), statistics.median(s[1] for s in v), v[0][2])
        for mod, v in samples.items()
    }


# --- report --------------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def machine() -> dict[str, str]:
    model = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions = (
        "import importlib.metadata as m, sys; print(sys.version.split()[0], "
        "*(f'{d}=={m.version(d)}' for d in sys.argv[1:]))"
    )
    bench = run([str(BENCH / "python"), "-c", versions, "mfa-process", "keyring", "jeepney", "boto3"], os.environ)
    peer = run(
        [
            str(PEER / "python"),
            "-c",
            versions,
            "aws-credential-process",
            "yubikey-manager",
            "pyscard",
            "keyring",
            "boto3",
        ],
        os.environ,
    )
    hyperfine_version = run(["hyperfine", "--version"], os.environ).strip()
    commit = run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], os.environ, check=False).strip()
    dirty = run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "mfa_process"], os.environ, check=False)
    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": model,
        "kernel": platform.release(),
        "python": bench.split()[0],
        "bench venv": " ".join(bench.split()[1:]),
        "peer venv": " ".join(peer.split()[1:]),
        "hyperfine": hyperfine_version,
        "tree": f"{commit or '?'}{' + uncommitted changes in mfa_process/' if dirty.strip() else ''}",
    }


def table(groups: dict[str, dict[str, Stats]]) -> list[str]:
    floor = groups["hit"][FLOOR].median
    floor_cpu = groups["hit"][FLOOR].cpu
    peer = min(groups["hit"][PEER_LEAN].median, groups["hit"][PEER_FILES].median)
    lines = [
        "| measurement | median ms | min ms | max ms | runs | ratio to floor | ratio to peer | CPU ms "
        "| CPU ratio to floor |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    titles = {"hit": "cache hit", "cold": "cold path", "burst": "concurrency", "e2e": "end to end"}
    for group, rows in groups.items():
        lines.append(f"| **{titles[group]}** | | | | | | | | |")
        for s in rows.values():
            lines.append(
                f"| {s.name} | {ms(s.median)} | {ms(s.low)} | {ms(s.high)} | {s.runs} | "
                f"{s.median / floor:.2f} | {s.median / peer:.3f} | {ms(s.cpu)} | {s.cpu / floor_cpu:.2f} |"
            )
    return lines


def targets(groups: dict[str, dict[str, Stats]], probes: dict[str, Any], nproc: int) -> list[tuple[str, ...]]:
    hit, cold, burst, e2e = (groups[g] for g in ("hit", "cold", "burst", "e2e"))
    h = hit[HIT].median
    k = hit[HIT_KERNEL].median
    f = hit[FLOOR].median
    peer = min(hit[PEER_LEAN].median, hit[PEER_FILES].median)
    keyring_best = min(
        hit["keyring.get_password, auto backend"].median,
        hit["keyring.get_password, PYTHON_KEYRING_BACKEND=SecretService"].median,
    )
    # Cold path: what the miss costs beyond a hit, less the GetSessionToken round trip and the prompt,
    # in units of one boto3 client creation from a fresh process (import boto3 + Session + client).
    rtt = cold[GST].median - cold[CLIENT].median
    creation = cold[CLIENT].median - cold[FLOOR].median
    beyond = cold[MISS].median - cold[HIT].median - rtt - cold[PROMPT].median
    write = cold[KEYRING_WRITE].median - cold[FLOOR].median
    concurrent = burst[PARALLEL].median / (burst[SEQUENTIAL].median / nproc)
    # The same for the bare interpreter: how far this machine lets 50 small processes run side by side.
    machine_scaling = burst[FLOOR_PARALLEL].median / (burst[FLOOR_SEQUENTIAL].median / nproc)
    cpu_speedup = burst[CPU_SEQUENTIAL].median / burst[CPU_PARALLEL].median
    cores_free = cpu_speedup >= 0.8 * min(nproc, 2)
    heavy = sorted(m for m in probes["hit"]["modules"] if m.split(".")[0] in HEAVY)
    miss = probes["miss"]

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    return [
        (
            "Secret Service cache hit / floor (same run)",
            f"{h / f:.2f}",
            "<= 2.5",
            verdict(h <= 2.5 * f),
        ),
        (
            "share of (cache hit - floor) spent importing: all modules / the standard ones alone",
            f"{(hit[IMPORTS_ALL].median - f) / (h - f):.0%} / {(hit[IMPORTS_STDLIB].median - f) / (h - f):.0%}",
            "",
            "(context)",
        ),
        ("kernel keyring cache hit / floor (same run)", f"{k / f:.2f}", "<= 1.6", verdict(k <= 1.6 * f)),
        (
            "the same in CPU time (user + system): Secret Service hit; kernel keyring hit",
            f"{hit[HIT].cpu / hit[FLOOR].cpu:.2f}; {hit[HIT_KERNEL].cpu / hit[FLOOR].cpu:.2f}",
            "",
            "(context: less sensitive to other work on the machine)",
        ),
        (
            "peer cache hit / mfa-process cache hit (Secret Service; kernel keyring)",
            f"{peer / h:.1f}; {peer / k:.1f}",
            ">= 10",
            verdict(peer >= 10 * max(h, k)),
        ),
        (
            "best keyring.get_password / mfa-process cache hit",
            f"{keyring_best / h:.1f}",
            "> 1",
            verdict(keyring_best > h),
        ),
        (
            "cold: miss - hit - GetSessionToken round trip - prompt, in boto3 client creations",
            f"{beyond / creation:.2f} ({ms(beyond)} ms; one creation {ms(creation)} ms; "
            f"a keyring write from a fresh process {ms(write)} ms)",
            "<= 1",
            verdict(beyond <= creation),
        ),
        (
            "cold: botocore sessions / clients / API calls in one miss",
            f"{len(miss['sessions'])} / {len(miss['clients'])} ({', '.join(miss['clients'])}) / "
            f"{', '.join(miss['operations']) or 'none'}",
            "1 client",
            verdict(len(miss["clients"]) <= 1),
        ),
        (
            f"{BURST} concurrent hits / ({BURST} sequential / {nproc} cores)",
            f"{concurrent:.2f} (python -c pass: {machine_scaling:.2f})",
            "<= 1.5",
            verdict(concurrent <= 1.5) + ("" if cores_free else " (the cores were not free: see the machine line)"),
        ),
        (
            "the same for cache hits / the same for python -c pass",
            f"{concurrent / machine_scaling:.2f}",
            "about 1 (no added serialisation)",
            "(context)",
        ),
        (
            "machine: speed-up of 2 CPU-bound processes run at once",
            f"{cpu_speedup:.2f}",
            f"{nproc} on {nproc} free cores",
            "(context)",
        ),
        (
            "aws via mfa-process / aws with static keys",
            f"{e2e[E2E_MFA].median / e2e[E2E_STATIC].median:.3f}",
            "<= 1.15",
            verdict(e2e[E2E_MFA].median <= 1.15 * e2e[E2E_STATIC].median),
        ),
        (
            f"modules of {', '.join(HEAVY)} on a hit",
            ", ".join(heavy) or "none",
            "none",
            verdict(not heavy),
        ),
    ]


def import_report(
    hit: dict[str, tuple[float, float, int]], floor: dict[str, tuple[float, float, int]], what: str
) -> list[str]:
    """A cache hit's imports beyond the interpreter's own, as ``-X importtime`` nests them (>= 0.1 ms)."""
    extra = {m: v for m, v in hit.items() if m not in floor}
    total = sum(v[0] for v in extra.values())
    lines = [
        f"-X importtime of {what}, median of 7 runs: {len(extra)} modules beyond `python -c pass`, "
        f"{total:.1f} ms of import time (importtime's own overhead included)",
        "  self ms   cumulative ms   module",
    ]
    for mod, (own, cumulative, depth) in extra.items():
        if cumulative >= 0.1:
            lines.append(f"  {own:7.2f}  {cumulative:7.2f}        {'  ' * depth}{mod}")
    return lines


class Measured(NamedTuple):
    groups: dict[str, dict[str, Stats]]
    probes: dict[str, Any]
    hit_imports: dict[str, tuple[float, float, int]]
    kernel_imports: dict[str, tuple[float, float, int]]
    floor_imports: dict[str, tuple[float, float, int]]
    miss_imports: dict[str, tuple[float, float, int]]
    load: float
    others: tuple[float, float]


class CpuMeter:
    """How much of the machine's CPU time went to processes that are not this run's own.

    Busy time of the whole machine (``/proc/stat``) less the CPU time of this process and of every
    descendant it waited for (``RUSAGE_CHILDREN``: hyperfine, what it ran, moto...). What is left is other
    work, plus the session's D-Bus and keyring daemons (a few milliseconds per hit), plus the hypervisor's
    steal time, which is reported on its own too."""

    def __init__(self) -> None:
        self.start = self.sample()

    @staticmethod
    def sample() -> tuple[float, float, float, float]:
        """(busy, total, steal, own) CPU seconds so far."""
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
        tick = os.sysconf("SC_CLK_TCK")
        user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
        own = sum(
            usage.ru_utime + usage.ru_stime
            for usage in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
        )
        busy = user + nice + system + irq + softirq + steal
        return busy / tick, (busy + idle + iowait) / tick, steal / tick, own

    def shares(self) -> tuple[float, float]:
        """(others, steal) as fractions of the machine's CPU capacity since the meter started."""
        busy, total, steal, own = (b - a for a, b in zip(self.start, self.sample()))
        if total <= 0:
            return 0.0, 0.0
        return max(0.0, busy - own) / total, steal / total


def wait_quiet(limit: float) -> float:
    """Wait (at most *limit* seconds) while other work keeps more than one core busy; the load then."""
    cores = len(os.sched_getaffinity(0))
    deadline = time.monotonic() + limit
    if os.getloadavg()[0] > cores:
        log(f"load average {os.getloadavg()[0]:.1f} on {cores} cores: waiting up to {limit:.0f} s for quiet")
    while os.getloadavg()[0] > cores and time.monotonic() < deadline:
        time.sleep(5)
    return os.getloadavg()[0]


def measure(runs: int, quiet_wait: float) -> Measured:
    """Set up the throwaway world, check it, probe, and run every group."""
    load_start = wait_quiet(quiet_wait)
    meter = CpuMeter()
    work = Path(tempfile.mkdtemp(prefix="mfa-process-bench-"))
    moto = Moto(work)
    try:
        home = work / "home"
        write_home(home)
        # `python -c` puts the working directory first on sys.path: run everything from the empty HOME.
        os.chdir(home)
        env = make_env(home, moto.url)
        seeded = seed(env)
        log(f"seeded {seeded['key']} in the {seeded['cache']} cache")
        session = check_hit(env, seeded)
        peer_key = warm_peer(env)
        log(f"aws-credential-process warmed through moto (session {peer_key[:8]}...)")
        cold_key = seeded["key"].replace(f"|{PROFILE}|", f"|{COLD_PROFILE}|")
        probes = {"floor": probe(py(BENCH, "pass"), env, "floor"), "hit": probe(mfa(), env, "hit")}
        run(["secret-tool", "clear", "service", "mfa-process", "username", cold_key], env, check=False)
        probes["miss"] = probe(mfa(COLD_PROFILE), env, "miss")
        hit_modules = [m for m in probes["hit"]["modules"] if m not in set(probes["floor"]["modules"])]
        kernel = seed_kernel(env)
        try:
            groups = {"hit": hit_group(env, seeded["key"], kernel["key_id"], hit_modules, runs)}
            kernel_imports = import_times(mfa_kernel(), env, save=RESULTS / "importtime-hit-kernel.txt")
        finally:
            drop_kernel(env, kernel["key_id"])
        groups["cold"] = cold_group(env, cold_key, seeded["value"], max(6, runs // 2))
        groups["burst"] = burst_group(env, max(4, runs // 3))
        groups["e2e"] = e2e_group(env, session, max(6, runs // 2))
        if stored(env, seeded["key"]) != seeded["value"]:
            raise RuntimeError("the seeded item changed during the runs: some were not cache hits")
        hit_imports = import_times(mfa(), env, save=RESULTS / "importtime-hit.txt")
        floor_imports = import_times(py(BENCH, "pass"), env)
        clear = ["secret-tool", "clear", "service", "mfa-process", "username", cold_key]
        miss_imports = import_times(
            mfa(COLD_PROFILE), env, repeat=3, save=RESULTS / "importtime-miss.txt", prepare=clear
        )
    finally:
        os.chdir(HERE)
        moto.stop()
        shutil.rmtree(work, ignore_errors=True)
    return Measured(
        groups, probes, hit_imports, kernel_imports, floor_imports, miss_imports, load_start, meter.shares()
    )


def report(m: Measured) -> str:
    """Write results/latest.md and latest.json; the markdown."""
    info = machine()
    goals = targets(m.groups, m.probes, int(info["nproc"]))
    info["load average (1 min) before the run"] = f"{m.load:.2f}"
    info["CPU used by other processes during the run"] = (
        f"{m.others[0]:.0%} of the machine (hypervisor steal {m.others[1]:.0%})"
    )
    md = [f"- {k}: {v}" for k, v in info.items()]
    if m.others[0] > 0.1:
        md.append("- **other work kept the machine busy during this run: the numbers are noisier than usual**")
    md += ["", *table(m.groups), "", "| target | measured | wanted | |", "|---|---|---|---|"]
    md += [f"| {' | '.join(g)} |" for g in goals]
    md += ["", "```", *import_report(m.hit_imports, m.floor_imports, "a Secret Service cache hit"), "```"]
    md += ["", "```", *import_report(m.kernel_imports, m.floor_imports, "a kernel keyring cache hit"), "```"]
    md += ["", "```", *miss_report(m.miss_imports, m.floor_imports), "```"]
    (RESULTS / "latest.md").write_text("\n".join(md) + "\n")
    doc = {
        "machine": info,
        "groups": {g: {n: s._asdict() for n, s in rows.items()} for g, rows in m.groups.items()},
        "targets": goals,
        "probes": {k: {f: v for f, v in p.items() if f != "modules"} for k, p in m.probes.items()},
        "hit_modules": sorted(set(m.probes["hit"]["modules"]) - set(m.probes["floor"]["modules"])),
        "hit_import_times_ms": m.hit_imports,
        "kernel_hit_import_times_ms": m.kernel_imports,
    }
    (RESULTS / "latest.json").write_text(json.dumps(doc, indent=1))
    return "\n".join(md)


def miss_report(miss: dict[str, tuple[float, float, int]], floor: dict[str, tuple[float, float, int]]) -> list[str]:
    """What a miss imports, by the packages that cost the most."""
    extra = {m: v for m, v in miss.items() if m not in floor}
    packages: dict[str, float] = {}
    for mod, (own, _cumulative, _depth) in extra.items():
        top = mod.split(".")[0]
        packages[top] = packages.get(top, 0.0) + own
    total = sum(packages.values())
    lines = [
        f"-X importtime of a miss (prompt, GetSessionToken, store), median of 3 runs: {len(extra)} modules "
        f"beyond `python -c pass`, {total:.0f} ms of import time; by top-level package (self ms summed):"
    ]
    for top, own in sorted(packages.items(), key=lambda item: -item[1])[:12]:
        lines.append(f"  {own:7.1f}  {top}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "30")), help="cache-hit runs")
    parser.add_argument(
        "--quiet-wait", type=float, default=60, help="seconds to wait at most for a busy machine to calm down"
    )
    args = parser.parse_args()
    shutil.rmtree(RESULTS, ignore_errors=True)
    RESULTS.mkdir()
    started = time.monotonic()
    print(report(measure(max(6, args.runs), args.quiet_wait)))
    log(f"done in {time.monotonic() - started:.0f} s; results in {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
