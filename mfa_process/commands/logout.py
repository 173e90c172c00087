"""``mfa-process logout``: delete cached sessions and role credentials."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Callable

from mfa_process import cache
from mfa_process.errors import KeyringError, UsageError
from mfa_process.keystore.choose import add_cache_option, cache_stores
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
    add_cache_option(parser)


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Delete the matching entries from every cache backend, found through the index and by listing each backend."""
    if bool(args.profile) == bool(args.all):
        raise UsageError("give either --profile SOURCE or --all")
    state = state_dir(env)
    stores = cache_stores(state, env, allow_insecure=args.allow_insecure_keyring, choice=args.cache)

    def wanted(key: str) -> bool:
        fields = cache.parse_key(key)
        return fields is not None and (args.all or fields["profile"] == args.profile)

    with cache.editing_index(state) as entries:
        targets = {key for key, entry in entries.items() if args.all or entry.profile == args.profile}
        for i, store in enumerate(stores):
            try:
                heads, orphans = store.names()
                for key in {*targets, *filter(wanted, heads)}:
                    store.delete(key)
                    targets.add(key)
                for part in orphans:
                    if wanted(part.split("#", 1)[0]):
                        store.raw.delete(part)
            except KeyringError:
                if i == 0:  # the chosen backend must work; the others are searched as a precaution
                    raise
        for key in targets:
            entries.pop(key, None)
    removed = len(targets)
    target = "all profiles" if args.all else f"profile {args.profile}"
    print(f"removed {removed} cached {'entry' if removed == 1 else 'entries'} for {target}")
    return 0
