"""``mfa-process setup``: from an access key to a working ``PROFILE-mfa`` in one command.

Steps: long-term keys (asked for if missing, written to ~/.aws/credentials or the keyring), the MFA device
(discovered with ``iam:GetUser`` + ``iam:ListMFADevices``, both allowed without MFA under the force-MFA
policy), ``~/.aws/config`` edited in place (comments and other profiles untouched, an existing profile
replaced only with consent), then one code and ``sts:GetCallerIdentity`` with the new session.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from mfa_process.config import AwsFiles
from mfa_process.errors import ConfigError, NoTerminalError, UsageError
from mfa_process.redact import register

if TYPE_CHECKING:
    from mfa_process.shadow import Shadow

DESCRIPTION = (
    "Configure SOURCE for MFA end to end: ask for its access keys if it has none, find your MFA device, "
    "write mfa_serial into [profile SOURCE] and a [profile SOURCE-mfa] that runs mfa-process, then ask for "
    "one code and verify the chain with sts:GetCallerIdentity."
)
EPILOG = """\
examples:
  mfa-process setup my-profile
  mfa-process setup my-profile --store-keys --region eu-west-1
  mfa-process setup my-profile --mfa-profile work --serial-number arn:aws:iam::123456789012:mfa/alice --yes
"""
DEFAULT_REGION = "us-east-1"
NO_DEVICE_HELP = (
    "no MFA device is registered for your IAM user; assign one in the AWS console (account menu at the top "
    "right > Security credentials > Assign MFA device), or with `aws iam create-virtual-mfa-device "
    "--virtual-mfa-device-name NAME --outfile qr.png --bootstrap-method QRCodePNG` then `aws iam enable-mfa-device "
    "--user-name USER --serial-number ARN --authentication-code1 CODE --authentication-code2 NEXT-CODE`, "
    "then run mfa-process setup again"
)


def configure(
    parser: argparse.ArgumentParser, add_session: Callable[..., None], add_source: Callable[..., None]
) -> None:
    """``SOURCE`` and the wizard's options."""
    parser.add_argument("source", metavar="SOURCE", help="profile that holds (or will hold) the long-term access keys")
    parser.add_argument(
        "--mfa-profile", metavar="NAME", help="profile to create for the MFA session (default SOURCE-mfa)"
    )
    parser.add_argument("--serial-number", metavar="ARN", help="MFA device to use (default: discovered)")
    parser.add_argument(
        "--region", metavar="REGION", help="region for both profiles (default: the profile's, else asked)"
    )
    parser.add_argument("--store-keys", action="store_true", help="keep new access keys in the keyring, not the file")
    parser.add_argument("--yes", "-y", action="store_true", help="replace an existing profile without asking")
    parser.add_argument("--allow-insecure-keyring", action="store_true", help="accept a plain-text keyring backend")


def helper_argv() -> list[str]:
    """The command that runs this mfa-process: its executable by absolute path, so tools with another PATH find it."""
    import shutil

    candidate = os.path.abspath(sys.argv[0]) if os.path.basename(sys.argv[0]).startswith("mfa-process") else None
    exe = candidate if candidate and os.access(candidate, os.X_OK) else shutil.which("mfa-process")
    return [exe] if exe else [sys.executable, "-m", "mfa_process"]


def helper_command(name: str) -> str:
    """The credential_process line for SOURCE *name*."""
    import shlex

    return " ".join(shlex.quote(p) for p in [*helper_argv(), "--profile", name])


def ensure_keys(args: argparse.Namespace, files: AwsFiles, store: Any) -> tuple[str, str] | None:
    """Keys for SOURCE: present already (None: boto3 reads the file), or asked for and stored."""
    from pathlib import Path

    from mfa_process import configedit
    from mfa_process.app import has_file_keys
    from mfa_process.asking import ask_line, ask_secret
    from mfa_process.commands.store_keys import check_key_pair
    from mfa_process.keys import load_keys, save_keys

    if has_file_keys(files, args.source):
        return None
    stored = load_keys(store, args.source)
    if stored is not None:
        return stored
    print(f"profile {args.source} has no access keys yet; enter the key pair of your IAM user")
    key_id = ask_line("AWS Access Key ID")
    secret = ask_secret("AWS Secret Access Key (input hidden)")
    register(secret)
    check_key_pair(key_id, secret)
    if args.store_keys:
        save_keys(store, args.source, key_id, secret)
        print(f"stored the keys of {args.source} in the keyring")
    else:
        path = Path(files.credentials_path)
        text = configedit.read_text(path)
        configedit.parse_check(text, str(path))
        section = configedit.profile_section(args.source, credentials_file=True)
        new = configedit.update_keys(text, section, {"aws_access_key_id": key_id, "aws_secret_access_key": secret})
        configedit.write_atomic(path, new, expect=text)
        print(f"wrote the keys of {args.source} to {path}")
    return key_id, secret


def pick_device(args: argparse.Namespace, aws: Any) -> str:
    """The MFA device: given, the only one, or chosen from several."""
    from mfa_process.asking import choose

    if args.serial_number:
        return str(args.serial_number)
    devices = aws.mfa_devices()
    if not devices:
        raise ConfigError(NO_DEVICE_HELP)
    if len(devices) == 1:
        print(f"found MFA device {devices[0]}")
        return str(devices[0])
    return str(devices[choose("your IAM user has several MFA devices:", devices)])


class Edit:
    """One file's text before and after setup's changes."""

    def __init__(self, path: str) -> None:
        from mfa_process import configedit

        self.path = path
        self.old = self.new = configedit.read_text(Path(path))

    def diff(self) -> str:
        """The change as a unified diff (secret values redacted)."""
        from mfa_process import configedit

        return configedit.unified_diff(self.old, self.new, self.path)


def remove_shadows(config: Edit, credentials: Edit, mfa_profile: str) -> list[Shadow]:
    """Drop every key that would win over the new credential_process, from both files' texts."""
    from mfa_process import configedit
    from mfa_process.config import parse_ini
    from mfa_process.shadow import find_shadows

    shadows = find_shadows(
        mfa_profile,
        config=(config.path, parse_ini(config.old, config.path)),
        credentials=(credentials.path, parse_ini(credentials.old, credentials.path)),
    )
    for shadow in shadows:
        edit = config if shadow.path == config.path else credentials
        if edit is config and shadow.section != mfa_profile:
            continue  # [profile NAME] itself: set_section replaces all of its keys
        edit.new = configedit.remove_keys(edit.new, shadow.section, shadow.keys)
    return shadows


def write_profiles(args: argparse.Namespace, files: AwsFiles, serial: str, region: str, mfa_profile: str) -> bool:
    """Edit ~/.aws/config in place and drop what would shadow the new profile; changes to existing
    settings (a different MFA profile, keys that win over credential_process) only with consent."""
    from mfa_process import configedit
    from mfa_process.asking import confirm

    config, credentials = Edit(files.config_path), Edit(files.credentials_path)
    configedit.parse_check(config.old, str(config.path))
    configedit.parse_check(credentials.old, str(credentials.path))
    source_section = configedit.profile_section(args.source, credentials_file=False)
    config.new = configedit.update_keys(config.old, source_section, {"mfa_serial": serial, "region": region})
    target = configedit.profile_section(mfa_profile, credentials_file=False)
    wanted = {"credential_process": helper_command(args.source), "region": region}
    existing = configedit.get_section(config.new, target)
    shadows = remove_shadows(config, credentials, mfa_profile)
    replacing = existing is not None and existing != wanted
    if existing != wanted:
        config.new = configedit.set_section(config.new, target, wanted)
    if shadows or replacing:
        print(config.diff() + (credentials.diff() if credentials.new != credentials.old else ""), end="")
        for shadow in shadows:
            print(f"{shadow.describe()}: these win over credential_process, so they must go")
        question = "remove them and write the profile as shown?" if shadows else f"replace [{target}] as shown?"
        if not confirm(question, assume_yes=args.yes):
            if shadows:
                raise UsageError(
                    f"left the files unchanged: {shadows[0].describe()}, which the aws CLI and SDKs use before "
                    f"credential_process, so profile {mfa_profile} would never run mfa-process; rerun and answer y"
                )
            raise UsageError(f"left {config.path} unchanged; rerun with --yes or another --mfa-profile NAME")
    if config.new != config.old:
        in_config = any(shadow.path == config.path for shadow in shadows)
        backup = configedit.write_atomic(Path(config.path), config.new, expect=config.old, backup=in_config)
        print(f"updated {config.path}: [{source_section}] mfa_serial and region, [{target}] credential_process")
        if backup is not None:
            print(f"saved the previous {config.path} as {backup} (mode 0600)")
    else:
        print(f"{config.path} already has both profiles as they should be")
    changed = config.new != config.old or credentials.new != credentials.old
    if credentials.new != credentials.old:
        backup = configedit.write_atomic(Path(credentials.path), credentials.new, expect=credentials.old, backup=True)
        keys = sorted({key for shadow in shadows if shadow.path == credentials.path for key in shadow.keys})
        print(f"removed {', '.join(keys)} of [{mfa_profile}] from {credentials.path}")
        print(f"saved the previous {credentials.path} as {backup} (mode 0600)")
    return changed


def check_resolution(mfa_profile: str, source: str) -> None:
    """Prove the new profile resolves to credential_process the way the aws CLI and boto3 see it."""
    from mfa_process.sts import credential_method

    method = credential_method(mfa_profile)
    if method != "custom-process":
        raise ConfigError(
            f"profile {mfa_profile} still resolves to {method or 'no'} credentials, not to credential_process "
            f"(AWS_ACCESS_KEY_ID or AWS_PROFILE in the environment?); run `mfa-process doctor --profile {source}`"
        )
    print(f"verified: botocore resolves profile {mfa_profile} through credential_process")


def check_typo(args: argparse.Namespace, files: AwsFiles) -> None:
    """A new SOURCE that is one typo away from an existing profile is created only when the user says so."""
    from mfa_process.asking import confirm
    from mfa_process.config import close_profile

    if files.has_profile(args.source):
        return
    close = close_profile(files, args.source)
    if close is None or close == args.source:
        return
    refusal = UsageError(f"profile {args.source!r} not found; did you mean `mfa-process setup {close}`?")
    try:
        create = confirm(
            f"there is no profile {args.source!r} (did you mean {close!r}?); create it", assume_yes=args.yes
        )
    except NoTerminalError:
        raise refusal from None
    if not create:
        raise refusal


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """The wizard."""
    from mfa_process.app import make_context
    from mfa_process.asking import ask_line
    from mfa_process.config import load_settings
    from mfa_process.credentials import format_left, format_local
    from mfa_process.keystore.choose import open_keys
    from mfa_process.paths import state_dir
    from mfa_process.refresh import session_credentials
    from mfa_process.sts import SourceSession

    mfa_profile = args.mfa_profile or f"{args.source}-mfa"
    if mfa_profile == args.source:
        raise UsageError("--mfa-profile must differ from SOURCE (SOURCE keeps the long-term keys)")
    files = AwsFiles.load(env)
    check_typo(args, files)
    store = open_keys(state_dir(env), env, allow_insecure=args.allow_insecure_keyring)
    keys = ensure_keys(args, files, store)
    region = (
        args.region
        or files.profile(args.source).get("region")
        or env.get("AWS_REGION")
        or env.get("AWS_DEFAULT_REGION")
        or (DEFAULT_REGION if args.yes else ask_line("Default region name", DEFAULT_REGION))
    )
    files = AwsFiles.load(env)
    serial = pick_device(args, SourceSession(args.source, region=region, keys=keys))
    changed = write_profiles(args, files, serial, region, mfa_profile)

    settings, files = load_settings(argparse.Namespace(profile=args.source), env)
    ctx = make_context(settings, files, env, command=f"setup {args.source}")
    session = session_credentials(ctx, force=changed)
    arn = ctx.sts.caller_arn(session)  # type: ignore[attr-defined]
    left = format_left(session.seconds_left(ctx.now()))
    print(f"verified: GetCallerIdentity with the MFA session says you are {arn}")
    check_resolution(mfa_profile, args.source)
    print(f"session cached until {format_local(session.expiration)} ({left} left)")
    print(f"done: try `aws sts get-caller-identity --profile {mfa_profile}`")
    return 0
