"""``mfa-process logout``: delete cached sessions and role credentials."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Callable

from mfa_process import cache
from mfa_process.errors import UsageError
from mfa_process.keystore.choose import open_cache
from mfa_process.paths import state_dir

DESCRIPTION = "Delete cached MFA sessions and role credentials from the keyring (long-term keys stay)."
EPILOG = """\
examples:
  mfa-process logout --profile my-profile
  mfa-process logout --all
"""


def configure(
    parser: argparse.ArgumentParser, add_session: Callable[..., None], add_source: Callable[..., None]
) -> None:
    """``--profile SOURCE`` or ``--all``."""
    add_source(parser, required=False)
    parser.add_argument("--all", action="store_true", help="delete every cached session and role credential")
    parser.add_argument("--allow-insecure-keyring", action="store_true", help="accept a plain-text keyring backend")


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Delete the matching entries and report how many."""
    if bool(args.profile) == bool(args.all):
        raise UsageError("give either --profile SOURCE or --all")
    state = state_dir(env)
    store = open_cache(state, env, allow_insecure=args.allow_insecure_keyring)
    removed = 0
    with cache.editing_index(state) as entries:
        for key, entry in list(entries.items()):
            if args.all or entry.profile == args.profile:
                store.delete(key)
                del entries[key]
                removed += 1
    target = "all profiles" if args.all else f"profile {args.profile}"
    print(f"removed {removed} cached {'entry' if removed == 1 else 'entries'} for {target}")
    return 0
