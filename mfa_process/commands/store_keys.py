"""``mfa-process store-keys``: keep a profile's long-term access keys in the keyring, not in plain text."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Callable

from mfa_process.config import AwsFiles
from mfa_process.errors import ConfigError, KeyringError, UsageError
from mfa_process.redact import register

DESCRIPTION = (
    "Store the long-term access key pair of a profile in the keyring (read from ~/.aws/credentials, or "
    "asked for on the terminal). With --remove-from-file the plain-text lines are then removed from "
    "~/.aws/credentials (atomically, keeping a 0600 backup)."
)
EPILOG = """\
examples:
  mfa-process store-keys --profile my-profile
  mfa-process store-keys --profile my-profile --remove-from-file
"""
KEY_NAMES = ("aws_access_key_id", "aws_secret_access_key")


def configure(
    parser: argparse.ArgumentParser, add_session: Callable[..., None], add_source: Callable[..., None]
) -> None:
    """``--profile SOURCE`` and ``--remove-from-file``."""
    add_source(parser)
    parser.add_argument(
        "--remove-from-file", action="store_true", help="then delete the key lines from ~/.aws/credentials"
    )
    parser.add_argument("--allow-insecure-keyring", action="store_true", help="accept a plain-text keyring backend")


def check_key_pair(key_id: str, secret: str) -> None:
    """Refuse obviously wrong input before it is stored."""
    if not (16 <= len(key_id) <= 128 and key_id.isalnum() and key_id.isascii()):
        raise UsageError("the access key id should be 16-128 letters and digits (like AKIA...); nothing was stored")
    if not secret or any(c.isspace() for c in secret) or not secret.isascii():
        raise UsageError("the secret access key is empty or contains spaces; nothing was stored")


def masked(key_id: str) -> str:
    """An access key id shown by its first four and last four characters."""
    return f"{key_id[:4]}...{key_id[-4:]}"


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Read the pair, store it, verify it reads back, and only then touch the file."""
    from mfa_process.asking import ask_line, ask_secret
    from mfa_process.keys import load_keys, save_keys
    from mfa_process.keystore.choose import open_keys
    from mfa_process.paths import state_dir

    profile = args.profile
    files = AwsFiles.load(env)
    section = files.credentials.get(profile, {})
    from_file = all(section.get(k) for k in KEY_NAMES)
    if from_file:
        key_id, secret = section["aws_access_key_id"].strip(), section["aws_secret_access_key"].strip()
    else:
        if args.remove_from_file:
            raise UsageError(f"profile '{profile}' has no keys in {files.credentials_path} to remove")
        key_id = ask_line(f"AWS Access Key ID for profile {profile}")
        secret = ask_secret(f"AWS Secret Access Key for profile {profile} (input hidden)")
    register(secret)
    check_key_pair(key_id, secret)
    store = open_keys(state_dir(env), env, allow_insecure=args.allow_insecure_keyring)
    save_keys(store, profile, key_id, secret)
    if load_keys(store, profile) != (key_id, secret):
        raise KeyringError("the keyring did not return the keys just stored; nothing was removed from the file")
    backend = store.describe()["backend"]
    print(f"stored access key {masked(key_id)} of profile {profile} in the keyring ({backend})")
    if args.remove_from_file:
        remove_from_file(files, profile)
    elif from_file:
        print(f"the keys are still in {files.credentials_path}; rerun with --remove-from-file to delete them there")
    return 0


def remove_from_file(files: AwsFiles, profile: str) -> None:
    """Delete the key lines of *profile*, keeping everything else byte for byte and a 0600 backup."""
    from pathlib import Path

    from mfa_process import configedit

    path = Path(files.credentials_path)
    text = configedit.read_text(path)
    section = configedit.profile_section(profile, credentials_file=True)
    new = configedit.remove_keys(text, section, KEY_NAMES)
    if new == text:
        raise ConfigError(f"found no key lines for [{section}] in {path}; nothing was changed")
    backup = configedit.write_atomic(path, new, backup=True, expect=text)
    print(f"removed the key lines of [{section}] from {path}")
    if backup is not None:
        print(f"backup of the previous file (still holding the keys, mode 0600): {backup}; delete it once all works")
