"""``mfa-process status``: the cached sessions and role credentials, with time left."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from typing import Any, Callable

from mfa_process import cache
from mfa_process.credentials import epoch_of, format_left, format_local
from mfa_process.keystore.choose import add_cache_option, open_cache
from mfa_process.paths import state_dir
from mfa_process.refresh import utcnow

DESCRIPTION = "List cached MFA sessions and role credentials, when they expire, and the keyring backend in use."
EPILOG = """\
examples:
  mfa-process status
  mfa-process status --json
"""


def configure(
    parser: argparse.ArgumentParser, add_session: Callable[..., None], add_source: Callable[..., None]
) -> None:
    """``--json`` for scripts."""
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--allow-insecure-keyring", action="store_true", help="accept a plain-text keyring backend")
    add_cache_option(parser)


def rows(
    entries: Mapping[str, cache.IndexEntry], present: Mapping[str, bool], now_margin: tuple[Any, int]
) -> list[dict[str, Any]]:
    """One row per index entry, most recently expiring last."""
    now, margin = now_margin
    out = []
    for key, entry in sorted(entries.items(), key=lambda kv: (kv[1].profile, kv[1].kind != "session", kv[0])):
        left = (entry.expires - now).total_seconds()
        state = (
            "missing"
            if not present.get(key)
            else "expired"
            if left <= 0
            else "refresh due"
            if left <= margin
            else "valid"
        )
        out.append(
            {
                "profile": entry.profile,
                "kind": entry.kind,
                "mfa_serial": entry.serial,
                "role_arn": entry.role_arn,
                "expiration": entry.expiration,
                "expires_local": format_local(epoch_of(entry.expires)),
                "seconds_left": max(0, int(left)),
                "state": state,
            }
        )
    return out


def table(data: list[dict[str, Any]]) -> str:
    """A plain-text table of :func:`rows`."""
    header = ("PROFILE", "MFA DEVICE", "ROLE", "EXPIRES", "LEFT", "STATE")
    lines = [header] + [
        (
            r["profile"],
            r["mfa_serial"],
            r["role_arn"] or "-",
            r["expires_local"],
            format_left(r["seconds_left"]),
            r["state"],
        )
        for r in data
    ]
    from mfa_process.voice import clean

    lines = [tuple(clean(str(c)) for c in line) for line in lines]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines)


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Print the table (or JSON) and the backend."""
    from mfa_process.config import DEFAULT_REFRESH_MARGIN

    state = state_dir(env)
    store = open_cache(state, env, allow_insecure=args.allow_insecure_keyring, choice=args.cache)
    description = store.describe()
    backend = description["backend"]
    entries = cache.read_index(state)
    present = {key: cache.decode(store.load(key)) is not None for key in entries}
    data = rows(entries, present, (utcnow(), DEFAULT_REFRESH_MARGIN))
    if args.json:
        print(json.dumps({**description, "entries": data}, indent=2))
        return 0
    print(table(data) if data else "no cached sessions")
    print(f"cache: {description['cache']} ({description['reason']})")
    print(f"keyring backend: {backend}")
    return 0
