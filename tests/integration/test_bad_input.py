"""Bad input, table-driven, through the helper itself: what a user types at the prompt (on a real
pseudo-terminal), a malformed ``~/.aws/config`` or ``~/.aws/credentials``, and wrong flag values.

Every case ends with its own ``mfa-process: ...`` line and exit code (errors.py: usage 2, config 3,
prompt 4, cancelled 130), no traceback, nothing on stdout and no STS call it did not need. The ``mfa``
fixture scans everything for secrets (``tests/support/reliability.py``).
"""

from __future__ import annotations

import json
import re

import pexpect
import pytest

from tests.support.reliability import PROMPT, RETRY, Helper, Result, assert_one_line

pytestmark = pytest.mark.keyring

EXIT_USAGE, EXIT_CONFIG, EXIT_PROMPT, EXIT_CANCELLED = 2, 3, 4, 130
ROLE = "arn:aws:iam::123456789012:role/admin"
GAVE_UP = "mfa-process: no valid 6-digit MFA code after 3 tries\n"


def assert_line_matches(result: Result, code: int, pattern: str) -> None:
    """Exit *code*, nothing on stdout, no traceback, one ``mfa-process:`` line matching *pattern*."""
    line = assert_one_line(result, code)
    assert re.search(pattern, line), line


# -- at the prompt ----------------------------------------------------------------------------------

BAD_CODES = {
    "five digits": "12345",
    "seven digits": "1234567",
    "letters": "12a456",
    "all letters": "abcdef",
    "tab inside": "123\t456",
    "dash inside": "123-456",
    "Arabic-Indic digits": "\u0661\u0662\u0663\u0664\u0665\u0666",
    "fullwidth digits": "\uff11\uff12\uff13\uff14\uff15\uff16",
    "10k characters": "1" * 10_000,
    "empty line": "",
}


@pytest.mark.parametrize("answer", BAD_CODES.values(), ids=BAD_CODES.keys())
def test_bad_code_three_times_then_a_clear_failure(mfa: Helper, answer: str) -> None:
    session = mfa.spawn("--profile", "source")
    for attempt in range(3):
        if attempt:
            session.expect_exact(RETRY, timeout=10)
        session.wait_prompt(timeout=10)
        session.type(answer)
    result = session.finish(timeout=20)
    assert result.stderr == GAVE_UP
    assert_line_matches(result, EXIT_PROMPT, "no valid 6-digit MFA code after 3 tries")
    assert result.screen.count(PROMPT) == 3 and result.screen.count(RETRY) == 2
    assert mfa.proxy.get_session_token_calls == 0  # refused before AWS sees it


def test_code_typed_with_spaces_is_accepted(mfa: Helper) -> None:
    session = mfa.spawn("--profile", "source")
    session.wait_prompt()
    code = mfa.proxy.fresh_code()
    session.type(f"  {code[:3]} {code[3:]} ")  # as authenticator apps show it
    result = session.finish()
    assert result.code == 0, result
    assert json.loads(result.stdout)["SessionToken"] == mfa.proxy.issued[-1].session_token
    assert mfa.proxy.codes == [code]


@pytest.mark.parametrize("bad_first", [False, True], ids=["at once", "after a bad code"])
def test_ctrl_d_cancels(mfa: Helper, bad_first: bool) -> None:
    session = mfa.spawn("--profile", "source")
    session.wait_prompt()
    if bad_first:
        session.type("12345")
        session.expect_exact(RETRY)
        session.wait_prompt()
    session.child.sendeof()
    result = session.finish(timeout=10)
    assert result.stderr == "mfa-process: MFA code prompt cancelled (end of input)\n"
    assert_line_matches(result, EXIT_CANCELLED, "cancelled")
    assert mfa.proxy.get_session_token_calls == 0


# -- ~/.aws/config and ~/.aws/credentials -----------------------------------------------------------

#: name: (file, content, pattern of the message); {serial} is alice's device. None: the file is removed.
CONFIG_CASES: dict[str, tuple[str, bytes | None, str]] = {
    "duplicate section": (
        "config",
        b"[profile source]\nmfa_serial = {serial}\n\n[profile source]\nregion = us-east-1\n",
        r"config line 4: section \[profile source\] appears twice",
    ),
    "duplicate key": (
        "config",
        b"[profile source]\nmfa_serial = {serial}\nmfa_serial = {serial}\n",
        r"config line 3: key 'mfa_serial' appears twice in \[profile source\]",
    ),
    "latin-1 bytes": (
        "config",
        b"[profile source]\nmfa_serial = {serial}\n# J\xfcrgen's caf\xe9\n",
        r"config line 3: not valid UTF-8; save the file as UTF-8",
    ),
    "a line that is not key = value": (
        "config",
        b"[profile source]\nmfa_serial = {serial}\nthis is not a setting\n",
        r"config line 3: not a 'key = value' line",
    ),
    "text before the first section": (
        "config",
        b"mfa_serial = {serial}\n[profile source]\nregion = us-east-1\n",
        r"config line 1: text before the first \[section\] header",
    ),
    "profile without mfa_serial": (
        "config",
        b"[profile source]\nregion = us-east-1\n",
        r"no MFA device for profile 'source': add mfa_serial = .* or pass --serial-number",
    ),
    "missing config file": ("config", None, r"no MFA device for profile 'source'"),
    "config is a directory": ("config", b"<dir>", r"config: cannot be read \(Is a directory\)"),
    "source runs mfa-process itself": (
        "config",
        b"[profile source]\nmfa_serial = {serial}\ncredential_process = mfa-process --profile source\n",
        r"profile 'source' runs mfa-process itself",
    ),
    "duplicate section in credentials": (
        "credentials",
        b"[source]\naws_access_key_id = AKIA1\n[source]\naws_access_key_id = AKIA2\n",
        r"credentials line 3: section \[source\] appears twice",
    ),
    "secret on a line without =": (
        "credentials",
        b"[source]\naws_access_key_id = {key_id}\naws_secret_access_key {secret}\n",
        r"credentials line 3: not a 'key = value' line",
    ),
    "both files missing": ("both", None, r"profile 'source' not found in .*config or .*credentials"),
}


@pytest.mark.parametrize("case", CONFIG_CASES.values(), ids=CONFIG_CASES.keys())
def test_malformed_aws_files(mfa: Helper, case: tuple[str, bytes | None, str]) -> None:
    which, content, pattern = case
    paths = {"config": [mfa.home.config_path], "credentials": [mfa.home.credentials_path]}
    paths["both"] = paths["config"] + paths["credentials"]
    for path in paths[which]:
        path.unlink()
        if content == b"<dir>":
            path.mkdir()
        elif content is not None:
            values = {"serial": mfa.proxy.mfa_serial, "key_id": mfa.proxy.access_key_id}
            text = content.replace(b"{secret}", mfa.proxy.secret_access_key.encode())
            for name, value in values.items():
                text = text.replace(b"{" + name.encode() + b"}", value.encode())
            path.write_bytes(text)
    result = mfa.run("--profile", "source")
    assert_line_matches(result, EXIT_CONFIG, pattern)
    assert mfa.proxy.secret_access_key not in result.stderr
    assert mfa.proxy.calls == []


# -- flags of the credential_process mode ----------------------------------------------------------

#: name: (arguments after --profile source, exit code, pattern of the message)
FLAG_CASES: dict[str, tuple[list[str], int, str]] = {
    "--duration-seconds abc": (
        ["--duration-seconds", "abc"],
        EXIT_USAGE,
        r"--duration-seconds must be a whole number of seconds, not 'abc'",
    ),
    "--duration-seconds 10": (
        ["--duration-seconds", "10"],
        EXIT_USAGE,
        r"--duration-seconds must be between 900 and 129600 seconds, not 10",
    ),
    "--duration-seconds= (empty)": (["--duration-seconds="], EXIT_USAGE, r"--duration-seconds must be"),
    "--refresh-margin -1": (["--refresh-margin", "-1"], EXIT_USAGE, r"--refresh-margin must be between 0 and"),
    "--refresh-margin 1.5": (["--refresh-margin", "1.5"], EXIT_USAGE, r"--refresh-margin must be a whole number"),
    "--refresh-margin not below the duration": (
        ["--duration-seconds", "900", "--refresh-margin", "900"],
        EXIT_USAGE,
        r"--refresh-margin must be between 0 and 899 seconds, not 900",
    ),
    "--role-duration-seconds x": (
        ["--role-arn", ROLE, "--role-duration-seconds", "x"],
        EXIT_USAGE,
        r"--role-duration-seconds must be a whole number of seconds, not 'x'",
    ),
    "--role-duration-seconds 60": (
        ["--role-arn", ROLE, "--role-duration-seconds", "60"],
        EXIT_USAGE,
        r"--role-duration-seconds must be between 900 and 43200",
    ),
    "--role-duration-seconds x without --role-arn": (
        ["--role-duration-seconds", "x"],
        EXIT_USAGE,
        r"--role-duration-seconds needs --role-arn",
    ),
    "--role-session-name 'a b' without --role-arn": (
        ["--role-session-name", "a b"],
        EXIT_USAGE,
        r"--role-session-name needs --role-arn",
    ),
    "--prompt bogus": (["--prompt", "bogus"], EXIT_USAGE, r"argument --prompt: invalid choice: 'bogus'"),
    "--role-arn not-an-arn": (
        ["--role-arn", "not-an-arn"],
        EXIT_USAGE,
        r"role ARN 'not-an-arn' is not of the form arn:aws:iam::123456789012:role/NAME",
    ),
    "--role-arn of a user": (
        ["--role-arn", "arn:aws:iam::123456789012:user/alice"],
        EXIT_USAGE,
        r"is not of the form arn:aws:iam::123456789012:role/NAME",
    ),
    "--role-session-name 'a b'": (
        ["--role-arn", ROLE, "--role-session-name", "a b"],
        EXIT_USAGE,
        r"role session name 'a b' must be 2-64 characters of letters, digits and \+=,\.@-_",
    ),
    "unknown flag": (["--bogus"], EXIT_USAGE, r"unrecognized arguments: --bogus; see `mfa-process --help`"),
    "flag without its value": (["--duration-seconds"], EXIT_USAGE, r"argument --duration-seconds: expected one"),
    "switch with a value": (["--allow-insecure-keyring=yes"], EXIT_USAGE, r"ignored explicit argument 'yes'"),
    "--prompt command without --token-command": (
        ["--prompt", "command"],
        EXIT_USAGE,
        r"--prompt command needs --token-command CMD",
    ),
    "--config-profile that does not exist": (
        ["--config-profile", "nope"],
        EXIT_CONFIG,
        r"--config-profile 'nope' not found in .*config",
    ),
    "--profile that does not exist": (["--profile", "nope"], EXIT_CONFIG, r"profile 'nope' not found"),
}


@pytest.mark.parametrize("case", FLAG_CASES.values(), ids=FLAG_CASES.keys())
def test_wrong_flag_values(mfa: Helper, case: tuple[list[str], int, str]) -> None:
    args, code, pattern = case
    result = mfa.run("--profile", "source", *args)
    assert_line_matches(result, code, pattern)
    assert mfa.proxy.calls == []


def test_missing_profile_flag(mfa: Helper) -> None:
    assert_line_matches(mfa.run(), EXIT_USAGE, r"the following arguments are required: --profile/-p")


def test_invalid_region_is_refused_before_the_prompt(mfa: Helper) -> None:
    session = mfa.spawn("--profile", "source", "--region", "not a region!")
    if session.child.expect_exact([PROMPT, pexpect.EOF], timeout=20) == 0:
        session.type(mfa.proxy.fresh_code())
    result = session.finish(timeout=20)
    assert PROMPT not in result.screen, f"asked for a code that could not be used: {result}"
    assert_line_matches(result, EXIT_USAGE, r"region")


# -- corrupt state and a broken clock: a clear line or self-healing, never "unexpected error" (70) -------

EXIT_UNEXPECTED = 70
#: name: (state file, its bytes, the notice that it was set aside)
STATE_CASES: dict[str, tuple[str, bytes, str]] = {
    "backend not UTF-8": ("backend", b"\xff\xfekeyring.backends\x80", "backend is not a state file mfa-process wrote"),
    "backend of 2 MB": ("backend", b"x" * (2 << 20), "backend is not a state file mfa-process wrote"),
    "index.json not UTF-8": ("index.json", b"{\xff}", "index.json is not a state file mfa-process wrote"),
    "index.json not JSON": ("index.json", b"{garbage", "index.json is corrupt"),
    "index.json a list": ("index.json", b"[1, 2]", "index.json is corrupt"),
    "index.json garbage expiration": ("index.json", b'"garbage"', "index.json is corrupt"),
    "index.json integer expiration": ("index.json", b"12345", "index.json is corrupt"),
    "index.json zone-less expiration": ("index.json", b'"2026-12-01T10:00:00"', "index.json is corrupt"),
    "index.json year 99999 expiration": ("index.json", b'"99999-01-01T00:00:00Z"', "index.json is corrupt"),
    "used-codes.json not UTF-8": ("used-codes.json", b"\xff", "used-codes.json is not a state file"),
}


def _state_bytes(mfa: Helper, name: str, content: bytes) -> bytes:
    if name == "index.json" and (content.startswith(b'"') or content.isdigit()):
        key = f"session|v1|source|{mfa.proxy.mfa_serial}"
        entry = {"kind": "session", "profile": "source", "serial": mfa.proxy.mfa_serial, "expiration": "X"}
        doc = json.dumps({"version": 1, "entries": {key: entry}}).encode()
        return doc.replace(b'"X"', content)
    return content


#: The commands that read each state file (a miss without a terminal reads ``backend`` before it fails).
#: ``backend`` is the keyring library's remembered choice: read where that library is the cache.
READERS = {
    "backend": [["status", "--cache", "keyring"], ["--profile", "source", "--cache", "keyring"]],
    "index.json": [["status"], ["logout", "--all"]],
    "used-codes.json": [["login", "--profile", "source"]],
}
STATE_RUNS = [(name, case, command) for name, case in STATE_CASES.items() for command in READERS[case[0]]]


@pytest.mark.parametrize(
    ("case", "command"),
    [(case, command) for _, case, command in STATE_RUNS],
    ids=[f"{name}: {' '.join(command)}" for name, _, command in STATE_RUNS],
)
def test_corrupt_state_file_is_set_aside_with_a_notice(
    mfa: Helper, case: tuple[str, bytes, str], command: list[str]
) -> None:
    name, content, notice = case
    mfa.state.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = mfa.state / name
    written = _state_bytes(mfa, name, content)
    path.write_bytes(written)
    path.chmod(0o600)
    if command[0] == "login":  # read once a code was typed
        session = mfa.spawn(*command)
        session.answer()
        result = session.finish()
        lines = result.screen.splitlines()
    else:
        result = mfa.run(*command)
        lines = result.lines
    assert result.code != EXIT_UNEXPECTED and "unexpected error" not in result.stderr + result.screen, result
    assert "Traceback" not in result.stderr + result.screen, result
    if command[0] == "--profile":  # no terminal: it cannot ask for a code, and says so
        assert result.code == EXIT_PROMPT, result
        assert result.lines[-1].startswith("mfa-process: no terminal to ask for the MFA code"), result
    else:
        assert result.code == 0, result
    said = [line.strip() for line in lines if "starting afresh" in line]
    assert len(said) == 1 and said[0].startswith(f"mfa-process: {mfa.state}/{notice}"), lines
    assert said[0].endswith(f"; moved it to {name}.corrupt and starting afresh")
    assert (mfa.state / f"{name}.corrupt").read_bytes() == written
    again = mfa.run(*command) if command[0] != "login" else mfa.run("status")  # rebuilt: nothing more to say
    assert "starting afresh" not in again.stderr, again


def test_cached_secret_with_a_nul_is_a_miss_not_a_crash(mfa: Helper) -> None:
    import keyring

    session = mfa.spawn("--profile", "source")
    session.answer()
    assert session.finish().code == 0
    poisoned = json.dumps(
        {"v": 1, "k": "ASIAPOISONED", "s": "se\u0000cret" * 5, "t": "to\u0000ken" * 20, "e": 4102444800}
    )
    keyring.set_password("mfa-process", f"session|v1|source|{mfa.proxy.mfa_serial}", poisoned)
    result = mfa.run("exec", "--profile", "source", "--", "true")
    assert result.code == EXIT_PROMPT, result  # a miss, and no terminal to ask for a new code
    assert_line_matches(result, EXIT_PROMPT, r"no terminal to ask for the MFA code of profile 'source'")


@pytest.mark.parametrize("when", ["2300-01-01 00:00:00", "9999-12-01 00:00:00"])
@pytest.mark.parametrize("command", [["status"], ["--profile", "source"], ["login", "--profile", "source"]])
def test_clock_beyond_what_python_can_represent(mfa: Helper, when: str, command: list[str]) -> None:
    result = mfa.run(*command, prefix=["faketime", when])
    assert_line_matches(result, 1, r"the system clock reads a date too far in the future .* set the clock right")


# -- where the credentials go -----------------------------------------------------------------------

EXIT_OUTPUT, EXIT_BROKEN_PIPE = 74, 141


def test_a_closed_stdout_is_one_line_before_any_prompt(mfa: Helper) -> None:
    """Nothing cached, stdout closed: refused before a code is asked for, since the session would go nowhere."""
    issued = len(mfa.proxy.issued)
    session = mfa.spawn("--profile", "source", prefix=["sh", "-c", 'exec "$@" >&-', "sh"])
    result = session.finish()
    assert_one_line(result, EXIT_OUTPUT, "standard output is closed", "credential_process")
    assert PROMPT not in result.screen
    assert len(mfa.proxy.issued) == issued


def test_a_stdout_that_cannot_be_written_is_one_line(mfa: Helper) -> None:
    session = mfa.spawn("--profile", "source")
    session.answer()
    assert session.finish().code == 0
    result = mfa.run("--profile", "source", prefix=["sh", "-c", 'exec "$@" >/dev/full', "sh"])
    assert_one_line(result, EXIT_OUTPUT, "could not write the credentials to standard output", "No space left")


def test_a_reader_that_left_is_exit_141_and_nothing_else(mfa: Helper) -> None:
    """The reader closes the pipe before the hit writes (a buffered stdout, as users have it): exit 141, no
    ``Exception ignored`` from the interpreter's last flush (which made it exit 120), no message."""
    session = mfa.spawn("--profile", "source")
    session.answer()
    assert session.finish().code == 0
    leave_early = '"$@" | (exec 0<&-; sleep 1); exit "${PIPESTATUS[0]}"'
    for _ in range(3):
        result = mfa.run("--profile", "source", prefix=["bash", "-c", leave_early, "bash"])
        assert (result.code, result.stderr) == (EXIT_BROKEN_PIPE, "")
