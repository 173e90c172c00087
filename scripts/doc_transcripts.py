"""Produce the terminal transcripts quoted in docs/ by running them, offline.

Run inside a throwaway keyring session (the same setup as ``scripts/demo.sh``)::

    bash scripts/keyring-session.sh .venv/bin/python scripts/doc_transcripts.py OUTDIR [SCENARIO...]

Every scenario starts moto's AWS emulator state afresh behind the MFA-checking STS proxy of
``tests/support``, writes a throwaway HOME, and runs real commands in a pseudo-terminal with ``pexpect``
(MFA codes are typed from the emulator's virtual MFA device). Each transcript lands in
``OUTDIR/<scenario>.txt`` with temporary paths and ports replaced by readable placeholders
(``/home/alice``, ``http://127.0.0.1:PORT``) and secrets replaced by ``<SECRET_ACCESS_KEY>`` /
``<SESSION_TOKEN>``. Nothing is written into docs/: the pages quote these files by hand.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Union

import boto3
import pexpect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.fixtures import MfaStsProxy, MfaUser, create_mfa_user  # noqa: E402
from tests.support.home import VENV_BIN, AwsHome  # noqa: E402
from tests.support.moto_server import MotoServer  # noqa: E402

#: What the transcripts call the user's home and the installed helper.
HOME = "/home/alice"
INSTALLED = f"{HOME}/.local/bin/mfa-process"
CODE = "<code>"  # an answer that means: type the virtual device's next fresh code
ALT = VENV_BIN.parent / "extras" / "keyrings-alt"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

#: An answer to a prompt: literal text, CODE, "<ctrl-c>", "<ctrl-d>", or a function returning the text.
Answer = Union[str, Callable[[], str]]


def forget_keyring_items() -> None:
    """Delete every item the helper stored in the session's keyring (homes differ, the keyring does not)."""
    import secretstorage

    connection = secretstorage.dbus_init()
    try:
        collection = secretstorage.get_default_collection(connection)
        for item in collection.search_items({"service": "mfa-process"}):
            item.delete()
    finally:
        connection.close()


class Lab:
    """moto + the STS proxy + one IAM user, and the transcripts written so far."""

    def __init__(self, outdir: Path, moto: MotoServer, proxy: MfaStsProxy) -> None:
        self.outdir = outdir
        self.moto = moto
        self.proxy = proxy
        self.user: MfaUser | None = None
        self.homes: list[AwsHome] = []
        self.secrets: set[str] = set()

    def iam(self) -> object:
        """An IAM client talking to moto directly, as the account's administrator."""
        return boto3.client(
            "iam",
            endpoint_url=self.moto.url,
            region_name="us-east-1",
            aws_access_key_id="admin",
            aws_secret_access_key="admin",  # noqa: S106 - the emulator's throwaway admin
        )

    def reset(self) -> MfaUser:
        """Fresh emulator state with IAM user alice (access key, virtual MFA device) and role admin."""
        self.moto.reset()
        self.proxy.reset()
        forget_keyring_items()
        user = create_mfa_user(self.iam())
        self.proxy.user = user
        self.proxy.set_secret(user.mfa_secret)
        self.proxy.expected_serial = user.mfa_serial
        self.user = user
        self.secrets.add(user.secret_access_key)
        return user

    def need_user(self) -> MfaUser:
        """The IAM user of the current scenario (:meth:`reset` creates it)."""
        if self.user is None:
            raise RuntimeError("call reset() first")
        return self.user

    def home(self, *, keys: bool = True, config: dict[str, dict[str, str]] | None = None, **kwargs: object) -> AwsHome:
        """A throwaway HOME; by default profile my-profile holds alice's keys and MFA serial."""
        user = self.need_user()
        root = Path(tempfile.mkdtemp(prefix="mfa-doc-home."))
        credentials = (
            {
                "my-profile": {
                    "aws_access_key_id": user.access_key_id,
                    "aws_secret_access_key": user.secret_access_key,
                }
            }
            if keys
            else {}
        )
        if config is None:
            config = {"my-profile": {"mfa_serial": user.mfa_serial, "region": "us-east-1"}}
        home = AwsHome(root, endpoint_url=self.proxy.url, credentials=credentials, config=config, **kwargs)  # type: ignore[arg-type]
        self.homes.append(home)
        return home

    # -- placeholders -------------------------------------------------------------------------------

    def clean(self, text: str, home: AwsHome) -> str:
        """Terminal output as a reader should see it: no CRs or colours, no temp paths or secrets."""
        text = ANSI.sub("", text.replace("\r\n", "\n").replace("\r", ""))
        # dbus-daemon's complaint about a container's file-descriptor limit is not part of the example
        text = "".join(line for line in text.splitlines(keepends=True) if "Failed to set fd limit" not in line)
        for issued in self.proxy.issued:
            self.secrets.update({issued.secret_access_key, issued.session_token})
        for secret in sorted(self.secrets, key=len, reverse=True):
            if len(secret) >= 8:
                marker = "<SESSION_TOKEN>" if len(secret) > 60 else "<SECRET_ACCESS_KEY>"
                text = text.replace(shlex.quote(secret), marker).replace(secret, marker)
        text = text.replace(str(VENV_BIN / "mfa-process"), INSTALLED)
        text = text.replace(str(VENV_BIN) + "/", "")
        text = text.replace(str(home.home), HOME)
        return text.replace(self.proxy.url, "http://127.0.0.1:PORT").replace(self.moto.url, "http://127.0.0.1:PORT")

    # -- running ------------------------------------------------------------------------------------

    def answer(self, value: Answer) -> str:
        """The text to type for *value*."""
        if value == CODE:
            return self.proxy.wait_for_fresh_code()
        if callable(value):
            return str(value())
        return str(value)

    def term(
        self,
        home: AwsHome,
        command: str,
        steps: Sequence[tuple[str, Answer]] = (),
        *,
        env: dict[str, str] | None = None,
        timeout: float = 120,
        interrupt_after: str | None = None,
        interrupt_when: Callable[[], bool] | None = None,
    ) -> tuple[str, int | None]:
        """Run *command* with bash in a pseudo-terminal, answering prompts; the cleaned screen and exit code."""
        child = pexpect.spawn(
            "/bin/bash",
            ["-c", command],
            env={**home.env, **(env or {})},
            cwd=str(home.home),
            encoding="utf-8",
            timeout=timeout,
            dimensions=(50, 220),
        )
        screen = io.StringIO()
        child.logfile_read = screen
        for pattern, value in steps:
            child.expect(pattern)
            time.sleep(0.4)
            if value == "<ctrl-c>":
                child.sendintr()
            elif value == "<ctrl-d>":
                child.sendeof()
            else:
                child.sendline(self.answer(value))
        if interrupt_after is not None:
            child.expect(interrupt_after)
            time.sleep(0.4)
            child.sendintr()
        if interrupt_when is not None:
            deadline = time.monotonic() + timeout
            while not interrupt_when() and time.monotonic() < deadline:
                time.sleep(0.1)
            child.sendintr()
        child.expect(pexpect.EOF)
        child.close()
        status = child.exitstatus if child.exitstatus is not None else 128 + (child.signalstatus or 0)
        return self.clean(screen.getvalue(), home), status

    def detached(self, home: AwsHome, command: str, *, env: dict[str, str] | None = None) -> tuple[str, int]:
        """Run *command* with no terminal (as from an IDE or cron); stdout and stderr as a terminal shows them."""
        result = subprocess.run(
            ["/bin/bash", "-c", command + " 2>&1"],
            env={**home.env, **(env or {})},
            cwd=home.home,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
            timeout=120,
            start_new_session=True,
            check=False,
        )
        return self.clean(result.stdout, home), result.returncode


class Transcript:
    """One transcript file: ``$ command`` lines followed by what the terminal showed."""

    def __init__(self, lab: Lab, name: str) -> None:
        self.lab = lab
        self.name = name
        self.parts: list[str] = []

    def shell(
        self,
        home: AwsHome,
        command: str,
        steps: Sequence[tuple[str, Answer]] = (),
        *,
        shown: str | None = None,
        detached: bool = False,
        status: bool = False,
        env: dict[str, str] | None = None,
        **kwargs: object,
    ) -> str:
        """Run one command and add it to the transcript."""
        if detached:
            out, code = self.lab.detached(home, command, env=env)
        else:
            out, code = self.lab.term(home, command, steps, env=env, **kwargs)  # type: ignore[arg-type]
        text = f"$ {shown or command}\n{out}"
        if not text.endswith("\n"):
            text += "\n"
        if status:
            text += f"$ echo $?\n{code}\n"
        self.parts.append(text)
        return out

    def note(self, text: str) -> None:
        """A comment line in the transcript (a ``#`` line, as a reader would type)."""
        self.parts.append(f"# {text}\n")

    def file(self, home: AwsHome, path: Path, shown: str) -> None:
        """Show a file's content as ``cat`` would."""
        self.parts.append(f"$ cat {shown}\n{self.lab.clean(path.read_text(), home)}")

    def save(self) -> None:
        """Write the transcript."""
        path = self.lab.outdir / f"{self.name}.txt"
        path.write_text("\n".join(part.rstrip("\n") + "\n" for part in self.parts))
        print(f"wrote {path}", flush=True)


# -- scenarios -----------------------------------------------------------------------------------


def helper_line(extra: str = "") -> str:
    """A credential_process line running this checkout's helper (shown as the installed one)."""
    return f"{VENV_BIN / 'mfa-process'} --profile my-profile{extra}"


def add_profiles(home: AwsHome, text: str) -> None:
    """Append *text* to ~/.aws/config."""
    home.config_path.write_text(home.config_path.read_text().rstrip("\n") + "\n\n" + text.strip("\n") + "\n")


def scenario_quickstart(lab: Lab) -> None:
    """index.md: the first call prompts once, every later process is served from the keyring."""
    lab.reset()
    home = lab.home()
    add_profiles(home, f"[profile my-profile-mfa]\ncredential_process = {helper_line()}\nregion = us-east-1\n")
    t = Transcript(lab, "quickstart")
    t.file(home, home.config_path, "~/.aws/config")
    t.shell(home, "aws sts get-caller-identity --profile my-profile-mfa", [("MFA code for .*: ", CODE)])
    t.shell(home, "aws sts get-caller-identity --profile my-profile-mfa --query Arn --output text")
    t.shell(home, "mfa-process status")
    t.save()

    t = Transcript(lab, "concurrent")
    lab.term(home, "mfa-process logout --profile my-profile")
    t.shell(
        home,
        "for i in 1 2 3; do aws sts get-caller-identity --profile my-profile-mfa --query Account --output text & done;"
        " wait",
        [("MFA code for .*: ", CODE)],
    )
    t.save()


def scenario_setup(lab: Lab) -> None:
    """setup.md: from an access key to a working profile."""
    lab.reset()
    home = lab.home(keys=False, config={"default": {"output": "json"}}, region=None)
    home.config_path.write_text("# my settings\n[default]\noutput = json\n")
    t = Transcript(lab, "setup")
    user = lab.need_user()
    t.shell(
        home,
        "mfa-process setup my-profile",
        [
            ("AWS Access Key ID: ", user.access_key_id),
            (r"AWS Secret Access Key \(input hidden\): ", user.secret_access_key),
            (r"Default region name \[us-east-1\]: ", "eu-west-1"),
            ("MFA code for .*: ", CODE),
        ],
    )
    t.file(home, home.config_path, "~/.aws/config")
    t.shell(home, "ls -l ~/.aws/credentials | cut -d' ' -f1")
    t.shell(home, "aws sts get-caller-identity --profile my-profile-mfa")
    t.save()

    # Running it again with a different [profile my-profile-mfa] asks before replacing it.
    t = Transcript(lab, "setup-replace")
    text = home.config_path.read_text()
    home.config_path.write_text(
        re.sub(r"credential_process = .*", "credential_process = aws-vault export --format=json my-profile", text)
    )
    t.shell(home, "mfa-process setup my-profile", [(r"\[y/N\]: ", "n")], status=True)
    t.save()

    # --store-keys: the new keys go to the keyring, not ~/.aws/credentials.
    for name, config in (("setup-store-keys", {"my-profile": {"region": "eu-west-1"}}), ("setup-store-keys-new", {})):
        lab.reset()
        home = lab.home(keys=False, config=config)
        t = Transcript(lab, name)
        user = lab.need_user()
        t.file(home, home.config_path, "~/.aws/config")
        steps: list[tuple[str, Answer]] = [
            ("AWS Access Key ID: ", user.access_key_id),
            (r"AWS Secret Access Key \(input hidden\): ", user.secret_access_key),
        ]
        if config:
            steps.append(("MFA code for .*: ", CODE))
        t.shell(home, "mfa-process setup my-profile --store-keys --region eu-west-1", steps, status=True)
        t.shell(home, 'cat ~/.aws/credentials; echo "($(wc -c < ~/.aws/credentials) bytes)"')
        t.save()

    # No MFA device registered yet.
    lab.reset()
    user = lab.need_user()
    lab.iam().deactivate_mfa_device(UserName=user.user_name, SerialNumber=user.mfa_serial)  # type: ignore[attr-defined]
    home = lab.home(config={"my-profile": {"region": "us-east-1"}})
    t = Transcript(lab, "setup-no-device")
    t.shell(home, "mfa-process setup my-profile", status=True)
    t.save()


def scenario_commands(lab: Lab) -> None:
    """configuration.md: every command once."""
    lab.reset()
    home = lab.home()
    add_profiles(home, f"[profile my-profile-mfa]\ncredential_process = {helper_line()}\nregion = us-east-1\n")
    t = Transcript(lab, "commands")
    t.shell(home, "mfa-process --version")
    t.shell(home, "mfa-process login --profile my-profile", [("MFA code for .*: ", CODE)])
    t.shell(home, "mfa-process --profile my-profile | python3 -m json.tool")
    t.shell(home, "mfa-process status")
    t.shell(home, "mfa-process status --json")
    t.shell(home, "mfa-process env --profile my-profile")
    t.shell(home, "mfa-process env --profile my-profile --shell fish")
    t.shell(home, "mfa-process env --profile my-profile --shell powershell")
    t.shell(home, "mfa-process env --profile my-profile --shell json")
    t.shell(home, "mfa-process exec --profile my-profile -- aws sts get-caller-identity --query Arn --output text")
    t.shell(home, "mfa-process exec --profile my-profile -- sh -c 'exit 3'", status=True)
    t.shell(home, "mfa-process logout --profile my-profile")
    t.shell(home, "mfa-process logout --all")
    t.save()

    t = Transcript(lab, "store-keys")
    t.file(home, home.credentials_path, "~/.aws/credentials")
    t.shell(home, "mfa-process store-keys --profile my-profile")
    t.shell(home, "mfa-process store-keys --profile my-profile --remove-from-file")
    t.file(home, home.credentials_path, "~/.aws/credentials")
    t.shell(home, "ls ~/.aws/ | sed 's/[0-9]\\{8\\}-[0-9]\\{6\\}/YYYYMMDD-HHMMSS/'")
    t.shell(home, "mfa-process login --profile my-profile", [("MFA code for .*: ", CODE)])
    t.save()


def scenario_rotation(lab: Lab) -> None:
    """rotation.md: keys in the file, in the keyring, two keys already, an interrupted rotation."""
    lab.reset()
    home = lab.home()
    add_profiles(home, f"[profile my-profile-mfa]\ncredential_process = {helper_line()}\nregion = us-east-1\n")
    t = Transcript(lab, "rotation")
    t.shell(home, "mfa-process rotate-keys --profile my-profile", [(r"\[y/N\]: ", "y"), ("MFA code for .*: ", CODE)])
    t.shell(home, "ls -l ~/.aws/credentials | cut -d' ' -f1; ls ~/.aws")
    t.shell(home, "aws sts get-caller-identity --profile my-profile-mfa --query Account --output text")
    t.shell(home, "mfa-process store-keys --profile my-profile --remove-from-file > /dev/null; rm ~/.aws/*.bak")
    t.shell(home, "mfa-process rotate-keys --profile my-profile --yes --deactivate-only")
    t.shell(home, "mfa-process rotate-keys --profile my-profile --yes", status=True)
    old = next(k for k in lab.proxy.created_keys)  # the first new key, now Inactive
    t.shell(
        home,
        f"mfa-process exec --profile my-profile -- aws iam delete-access-key --user-name alice --access-key-id {old}",
    )
    for secret in lab.proxy.created_keys.values():
        lab.secrets.add(secret)
    t.save()

    t = Transcript(lab, "rotation-interrupted")
    t.note("Ctrl-C while the new key is being verified (the emulator's proxy holds the answer)")
    lab.proxy.created_keys.clear()  # hold the checks of the key created next only
    lab.proxy.hang_seconds = 60
    lab.proxy.hang_actions = frozenset({"GetCallerIdentity"})
    lab.proxy.hang_created_keys_only = True

    def verifying() -> bool:
        held = [c for c in lab.proxy.calls if c.action == "GetCallerIdentity" and c.status is None]
        return any(c.access_key_id in lab.proxy.created_keys for c in held)

    t.shell(home, "mfa-process rotate-keys --profile my-profile --yes", interrupt_when=verifying, status=True)
    lab.proxy.stop_hanging()
    t.shell(home, "mfa-process doctor --profile my-profile | grep rotation")
    t.shell(home, "mfa-process rotate-keys --profile my-profile --yes")
    for secret in lab.proxy.created_keys.values():
        lab.secrets.add(secret)
    t.save()


def scenario_roles(lab: Lab) -> None:
    """roles.md: one MFA session, several roles."""
    user = lab.reset()
    iam = lab.iam()
    iam.create_role(  # type: ignore[attr-defined]
        RoleName="ops", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
    )
    home = lab.home()
    add_profiles(
        home,
        f"""
[profile admin]
credential_process = {helper_line(" --config-profile admin")}
mfa_process_role_arn = {user.role_arn}
region = us-east-1

[profile ops]
credential_process = {helper_line(" --config-profile ops")}
mfa_process_role_arn = arn:aws:iam::123456789012:role/ops
mfa_process_role_session_name = alice-ops
region = us-east-1
""",
    )
    t = Transcript(lab, "roles")
    t.file(home, home.config_path, "~/.aws/config")
    t.shell(
        home, "aws sts get-caller-identity --profile admin --query Arn --output text", [("MFA code for .*: ", CODE)]
    )
    t.shell(home, "aws sts get-caller-identity --profile ops --query Arn --output text")
    t.shell(home, "mfa-process status")
    t.save()

    t = Transcript(lab, "roles-chaining")
    lab.term(home, "mfa-process logout --all")
    t.shell(
        home,
        "mfa-process login --profile my-profile --role-arn arn:aws:iam::123456789012:role/admin"
        " --role-duration-seconds 7200",
        [("MFA code for .*: ", CODE)],
    )
    t.save()

    t = Transcript(lab, "roles-plain-role-arn")
    add_profiles(
        home,
        f"""
[profile broken]
credential_process = {helper_line(" --config-profile broken")}
role_arn = {user.role_arn}
""",
    )
    t.shell(home, "aws sts get-caller-identity --profile broken", status=True)
    t.shell(home, "mfa-process --profile my-profile --config-profile broken", status=True)
    t.save()

    t = Transcript(lab, "roles-refused")
    lab.proxy.fail_next_with(
        403,
        "AccessDenied",
        "User: arn:aws:sts::123456789012:federated-user/alice is not authorized to perform: sts:AssumeRole on"
        " resource: arn:aws:iam::123456789012:role/ops",
        action="AssumeRole",
    )
    lab.term(home, "mfa-process logout --all")
    t.shell(
        home,
        "aws sts get-caller-identity --profile ops",
        [("MFA code for .*: ", CODE)],
        status=True,
    )
    t.save()


def totp_command(secret: str) -> str:
    """A command that prints the current code, standing in for `ykman oath accounts code -s NAME`."""
    script = f"import pyotp; print('Amazon Web Services:alice  ' + pyotp.TOTP({secret!r}).now())"
    return f"{shlex.quote(str(VENV_BIN / 'python'))} -c {shlex.quote(script)}"


def scenario_prompts(lab: Lab) -> None:
    """prompts.md: terminal, retries, token command, no terminal, reused code, Ctrl-C."""
    user = lab.reset()
    home = lab.home()
    add_profiles(home, f"[profile my-profile-mfa]\ncredential_process = {helper_line()}\nregion = us-east-1\n")
    t = Transcript(lab, "prompt-retries")
    wrong = lab.proxy.wrong_code
    t.shell(
        home,
        "mfa-process login --profile my-profile",
        [("MFA code for .*: ", "12345"), ("MFA code for .*: ", "123 456 7"), ("MFA code for .*: ", wrong)],
        interrupt_after="MFA code for .*: ",
        status=True,
    )

    def spaced() -> str:
        code = lab.proxy.wait_for_fresh_code()
        return f"{code[:3]} {code[3:]}"

    t.shell(home, "mfa-process login --profile my-profile", [("MFA code for .*: ", spaced)], timeout=90)
    t.save()

    t = Transcript(lab, "prompt-reused")
    code = lab.proxy.wait_for_fresh_code()
    t.shell(home, "mfa-process login --profile my-profile", [("MFA code for .*: ", code)])
    t.shell(
        home,
        "mfa-process login --profile my-profile",
        [("MFA code for .*: ", code), ("MFA code for .*: ", CODE)],
    )
    t.save()

    t = Transcript(lab, "prompt-no-terminal")
    lab.term(home, "mfa-process logout --all")
    t.shell(home, "mfa-process --profile my-profile", detached=True, status=True)
    t.shell(home, "aws sts get-caller-identity --profile my-profile-mfa", detached=True, status=True)
    t.shell(home, "mfa-process --profile my-profile --prompt dialog", detached=True, status=True)
    t.shell(home, "mfa-process --profile my-profile --prompt dialog", status=True)
    t.save()

    t = Transcript(lab, "prompt-token-command")
    lab.term(home, "mfa-process logout --all")
    bindir = home.home / ".local" / "bin"
    bindir.mkdir(parents=True, exist_ok=True)
    fake = bindir / "my-totp"
    fake.write_text(f"#!/bin/sh\nexec {totp_command(user.mfa_secret)}\n")
    fake.chmod(0o755)
    env = {"PATH": f"{bindir}:{home.env['PATH']}"}
    t.note("my-totp prints what `ykman oath accounts code NAME` prints: the account name, spaces, the code")
    lab.proxy.wait_for_fresh_code()  # a code the earlier transcripts did not use
    t.shell(home, "my-totp", env=env)
    add_profiles(
        home,
        f"""
[profile my-profile-yubikey]
credential_process = {helper_line(" --config-profile my-profile-yubikey")}
mfa_process_token_command = my-totp
region = us-east-1
""",
    )
    t.shell(
        home,
        "aws sts get-caller-identity --profile my-profile-yubikey --query Arn --output text",
        env=env,
        detached=True,
    )
    t.shell(
        home,
        "mfa-process login --profile my-profile --token-command \"echo 'no YubiKey detected' >&2; exit 2\"",
        status=True,
    )
    t.save()

    t = Transcript(lab, "prompt-cancel")
    lab.term(home, "mfa-process logout --all")
    t.shell(home, "mfa-process login --profile my-profile", [("MFA code for .*: ", "<ctrl-c>")], status=True)
    t.save()


def scenario_keyrings(lab: Lab) -> None:
    """keyrings.md: backends refused and accepted, parts, the chainer."""
    lab.reset()
    home = lab.home()
    t = Transcript(lab, "keyring-none")
    t.shell(
        home,
        "PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring mfa-process --profile my-profile",
        status=True,
    )
    t.shell(home, "PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring mfa-process status", status=True)
    t.save()

    # `login` does not read the cache first, so it asks for a code before it meets the keyring.
    t = Transcript(lab, "keyring-none-login")
    t.shell(
        home,
        "PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring mfa-process login --profile my-profile",
        [("MFA code for .*: ", CODE)],
        status=True,
    )
    t.save()

    t = Transcript(lab, "keyring-plaintext")
    env = {"PYTHONPATH": str(ALT)}
    t.shell(
        home,
        "PYTHON_KEYRING_BACKEND=keyrings.alt.file.PlaintextKeyring mfa-process --profile my-profile",
        env=env,
        status=True,
    )
    t.shell(
        home,
        "PYTHON_KEYRING_BACKEND=keyrings.alt.file.PlaintextKeyring"
        " mfa-process login --profile my-profile --allow-insecure-keyring",
        [("MFA code for .*: ", CODE)],
        env=env,
    )
    t.shell(home, "cut -c1-60 ~/.local/share/python_keyring/keyring_pass.cfg | head -4", env=env)
    t.save()

    t = Transcript(lab, "keyring-chainer")
    t.note("keyrings.alt installed next to the desktop keyring (here: put on PYTHONPATH)")
    t.shell(home, "mfa-process status", env=env)
    t.shell(
        home,
        "python3 -c 'import keyring; print([type(b).__module__ for b in keyring.get_keyring().backends])'",
        env=env,
    )
    t.save()

    cryptfile = Path(os.environ.get("MFA_DOC_CRYPTFILE", "/tmp/docwork/cryptfile"))  # noqa: S108
    if (cryptfile / "keyrings" / "cryptfile").is_dir():
        lab.reset()
        home = lab.home()
        env = {"PYTHONPATH": str(cryptfile)}
        t = Transcript(lab, "keyring-cryptfile")
        t.shell(
            home,
            "export PYTHON_KEYRING_BACKEND=keyrings.cryptfile.cryptfile.CryptFileKeyring\n"
            "mfa-process login --profile my-profile",
            [
                ("MFA code for .*: ", CODE),
                ("Please set a password for your new keyring: ", "correct horse battery staple"),
                ("Please confirm the password: ", "correct horse battery staple"),
            ],
            shown="export PYTHON_KEYRING_BACKEND=keyrings.cryptfile.cryptfile.CryptFileKeyring\n"
            "$ mfa-process login --profile my-profile",
            env=env,
        )
        t.shell(
            home,
            "PYTHON_KEYRING_BACKEND=keyrings.cryptfile.cryptfile.CryptFileKeyring"
            " mfa-process --profile my-profile | cut -c1-40",
            [("Please enter password for encrypted keyring: ", "correct horse battery staple")],
            shown="mfa-process --profile my-profile | cut -c1-40",
            env=env,
        )
        t.shell(
            home,
            "PYTHON_KEYRING_BACKEND=keyrings.cryptfile.cryptfile.CryptFileKeyring"
            " KEYRING_PROPERTY_KEYRING_KEY='correct horse battery staple'"
            " mfa-process --profile my-profile | cut -c1-40",
            shown="KEYRING_PROPERTY_KEYRING_KEY='correct horse battery staple' mfa-process --profile my-profile"
            " | cut -c1-40",
            env=env,
            detached=True,
        )
        t.shell(home, "ls -l ~/.local/share/python_keyring/ | tail -n +2 | cut -d' ' -f1,9")
        t.save()

    # A large session token is split into parts of at most 1000 characters.
    lab.reset()
    home = lab.home()
    lab.proxy.session_token_length = 2600
    try:
        t = Transcript(lab, "keyring-parts")
        t.shell(home, "mfa-process login --profile my-profile", [("MFA code for .*: ", CODE)])
        t.shell(
            home,
            "python3 - <<'EOF'\n"
            "import secretstorage\n"
            "collection = secretstorage.get_default_collection(secretstorage.dbus_init())\n"
            "for item in sorted(collection.search_items({'service': 'mfa-process'}), key=lambda i: i.get_label()):\n"
            "    print(item.get_attributes()['username'], len(item.get_secret()))\n"
            "EOF",
            shown="python3 list-items.py   # username attribute and secret length of each item",
        )
    finally:
        lab.proxy.session_token_length = None
    t.save()


KILL_DAEMON = (
    "kill $(dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus"
    " org.freedesktop.DBus.GetConnectionUnixProcessID string:org.freedesktop.secrets"
    " | awk '/uint32/ {print $2}'); exit"
)


def scenario_headless(lab: Lab) -> None:
    """keyrings.md: the dbus-run-session + gnome-keyring-daemon recipe on a machine with no desktop."""
    lab.reset()
    home = lab.home()
    env = {"DBUS_SESSION_BUS_ADDRESS": "", "GNOME_KEYRING_CONTROL": ""}
    t = Transcript(lab, "keyring-headless")
    script = "env -u DBUS_SESSION_BUS_ADDRESS -u GNOME_KEYRING_CONTROL dbus-run-session -- bash --norc -i"
    prompt = r"bash-[0-9.]+[#$] "
    child_steps: list[tuple[str, Answer]] = [
        (prompt, "echo $DBUS_SESSION_BUS_ADDRESS | cut -c1-30"),
        (prompt, "read -rs -p 'keyring password: ' pw; echo"),
        ("keyring password: ", "a long keyring passphrase"),
        (prompt, "printf '%s' \"$pw\" | gnome-keyring-daemon --unlock --components=secrets >/dev/null; unset pw"),
        (prompt, "mfa-process login --profile my-profile"),
        ("MFA code for .*: ", CODE),
        (prompt, "mfa-process status | tail -1"),
        # stop this session's own daemon (the owner of the Secret Service name on the private bus)
        (prompt, KILL_DAEMON),
    ]
    out, _ = lab.term(home, script, child_steps, env={**env, "PS1": "$ ", "HISTFILE": "/dev/null"})
    out = re.sub(r"bash-[0-9.]+[#$] ", "$ ", out)
    out = out.replace(f"$ {KILL_DAEMON}", "$ exit")
    t.parts.append("$ dbus-run-session -- bash\n" + out)
    t.save()


def scenario_security(lab: Lab) -> None:
    """security.md: what is on disk and in the keyring after one login and one role."""
    user = lab.reset()
    home = lab.home()
    t = Transcript(lab, "security")
    lab.term(
        home,
        f"mfa-process login --profile my-profile --role-arn {user.role_arn}",
        [("MFA code for .*: ", CODE)],
    )
    t.shell(home, "cd ~/.local/state/mfa-process && stat -c '%A %n' . * locks/*")
    t.shell(home, "cat ~/.local/state/mfa-process/index.json")
    t.shell(home, "cat ~/.local/state/mfa-process/used-codes.json | python3 -m json.tool")
    t.shell(home, "cat ~/.local/state/mfa-process/backend")
    t.shell(
        home,
        "secret-tool search --all service mfa-process 2>&1 | grep -v '^secret = '",
        shown="secret-tool search --all service mfa-process | grep -v '^secret = '",
    )
    t.save()


def scenario_admin(lab: Lab) -> None:
    """admin.md: the policy, creating and attaching it, checking who has MFA."""
    user = lab.reset()
    iam = lab.iam()
    iam.create_group(GroupName="developers")  # type: ignore[attr-defined]
    iam.create_user(UserName="bob")  # type: ignore[attr-defined]
    iam.create_login_profile(UserName="bob", Password="Initial-Passw0rd!", PasswordResetRequired=False)  # type: ignore[attr-defined]  # noqa: S106
    home = lab.home(config={"admin": {"region": "us-east-1"}})
    home.write_credentials({"admin": {"aws_access_key_id": "AKIAADMINEXAMPLE0001", "aws_secret_access_key": "admin"}})
    env = {"AWS_ENDPOINT_URL": lab.moto.url}
    t = Transcript(lab, "policy")
    t.shell(home, "mfa-process policy", env=env)
    t.save()
    t = Transcript(lab, "policy-create")
    t.shell(home, "mfa-process policy --create ForceMFA --attach-group developers --profile admin", env=env)
    t.shell(home, "mfa-process policy --create ForceMFA --attach-group developers --profile admin", env=env)
    t.save()
    t = Transcript(lab, "admin-checks")
    t.shell(
        home,
        "aws iam list-virtual-mfa-devices --assignment-status Assigned --profile admin"
        " --query 'VirtualMFADevices[].[SerialNumber,User.UserName]' --output text",
        env=env,
    )
    t.shell(home, "aws iam generate-credential-report --profile admin --query State --output text", env=env)
    t.shell(
        home,
        "aws iam get-credential-report --profile admin --query Content --output text | base64 -d | cut -d, -f1,4,8,9",
        env=env,
    )
    t.shell(home, "aws iam list-mfa-devices --user-name bob --profile admin", env=env)
    t.save()
    del user


def scenario_errors(lab: Lab) -> None:
    """troubleshooting.md: real error messages."""
    user = lab.reset()
    home = lab.home()
    add_profiles(
        home,
        f"""
[profile my-profile-mfa]
credential_process = {helper_line()}

[profile no-serial]
region = us-east-1
""",
    )
    home.write_credentials(
        {
            "my-profile": {
                "aws_access_key_id": user.access_key_id,
                "aws_secret_access_key": user.secret_access_key,
            },
            "no-serial": {"aws_access_key_id": user.access_key_id, "aws_secret_access_key": user.secret_access_key},
            "typo": {"aws_access_key_id": "AKIAWRONGWRONGWRONG1", "aws_secret_access_key": "wrong"},
        }
    )
    add_profiles(home, f"[profile typo]\nmfa_serial = {user.mfa_serial}\n")
    t = Transcript(lab, "errors")
    for command in (
        "mfa-process --profile nosuch",
        "mfa-process --profile my-profile-mfa",
        "mfa-process --profile no-serial",
        "mfa-process --profile my-profile --duration-seconds 60",
        "mfa-process --profile my-profile --role-arn arn:aws:iam::1234:role/x",
        "mfa-process --profile my-profile --prompt bogus",
        "mfa-process --profile my-profile --prompt command",
        "mfa-process login",
        "mfa-process logout",
        "mfa-process exec --profile my-profile",
        "mfa-process policy --attach-group developers",
        "mfa-process policy --create ForceMFA",
    ):
        t.shell(home, command, detached=True, status=True)
    lab.proxy.fail_next_with(
        403, "InvalidClientTokenId", "The security token included in the request is invalid.", action="GetSessionToken"
    )
    t.note("(the emulator does not check access keys: AWS's answer to a deleted key is injected here)")
    t.shell(home, "mfa-process login --profile typo", [("MFA code for .*: ", CODE)], status=True)
    t.shell(
        home,
        "mfa-process login --profile my-profile --serial-number arn:aws:iam::123456789012:mfa/bob",
        [("MFA code for .*: ", CODE)] * 3,
        status=True,
    )
    t.shell(
        home,
        "mfa-process login --profile my-profile",
        [("MFA code for .*: ", lab.proxy.wrong_code)] * 3,
        status=True,
    )
    t.shell(
        home,
        "AWS_ENDPOINT_URL=http://127.0.0.1:9 mfa-process login --profile my-profile",
        [("MFA code for .*: ", CODE)],
        status=True,
    )
    t.shell(home, "mfa-process login --profile my-profile", [("MFA code for .*: ", CODE)])
    t.shell(home, "mfa-process exec --profile my-profile -- no-such-command", detached=True, status=True)
    home.config_path.write_text(home.config_path.read_text() + "\n[profile my-profile]\nregion = eu-west-1\n")
    t.shell(home, "mfa-process --profile my-profile", detached=True, status=True)
    t.save()


SCENARIOS: dict[str, Callable[[Lab], None]] = {
    "quickstart": scenario_quickstart,
    "setup": scenario_setup,
    "commands": scenario_commands,
    "roles": scenario_roles,
    "rotation": scenario_rotation,
    "prompts": scenario_prompts,
    "keyrings": scenario_keyrings,
    "headless": scenario_headless,
    "security": scenario_security,
    "admin": scenario_admin,
    "errors": scenario_errors,
}


@contextlib.contextmanager
def lab_for(outdir: Path) -> Iterator[Lab]:
    """The emulator, the proxy and a :class:`Lab`; every throwaway HOME is removed afterwards."""
    with MotoServer() as moto, MfaStsProxy(moto.url) as proxy:
        lab = Lab(outdir, moto, proxy)
        try:
            yield lab
        finally:
            for home in lab.homes:
                shutil.rmtree(home.home, ignore_errors=True)


def main(argv: Sequence[str]) -> int:
    """Run the named scenarios (all by default)."""
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    outdir = Path(argv[0])
    outdir.mkdir(parents=True, exist_ok=True)
    names = list(argv[1:]) or list(SCENARIOS)
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown:
        print(f"unknown scenarios: {unknown}; choose from {list(SCENARIOS)}", file=sys.stderr)
        return 2
    os.environ.setdefault("TZ", "UTC")
    with lab_for(outdir) as lab:
        for name in names:
            print(f"== {name}", flush=True)
            SCENARIOS[name](lab)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
