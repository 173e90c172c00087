"""The credential_process mode: print one credential_process JSON document on stdout, nothing else.

This is the hot path: every AWS call of every client runs it. A cache hit (:func:`mfa_process.cache.served`)
reads the settings, opens the cache and reads one entry; the refresh flow, with its locks, prompts and STS
client, is imported only on a miss.
"""

from __future__ import annotations

import sys
import time

from mfa_process import cache
from mfa_process.config import NESTED_MARKER, load_settings
from mfa_process.errors import OutputError, RecursionConfigError
from mfa_process.keystore.choose import open_cache
from mfa_process.paths import state_path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, Callable


def run_credential(args: Any, env: Mapping[str, str], *, after_hit: Callable[[], None] | None = None) -> int:
    """Serve or refresh the credentials and print them; *after_hit* runs once a cache hit's line is out."""
    if env.get(NESTED_MARKER):
        raise RecursionConfigError(
            f"mfa-process was started while resolving the keys of profile '{env[NESTED_MARKER]}' for itself; "
            "the SOURCE profile must hold long-term keys, not run mfa-process"
        )
    if sys.stdout is None:  # checked first: a miss would ask for a code, then have nowhere to put the session
        raise OutputError(
            "standard output is closed, so the credentials would go nowhere; run mfa-process as a profile's "
            "credential_process, or with its output read (`mfa-process --profile P | cat`)"
        )
    settings, files = load_settings(args, env)
    store = open_cache(state_path(env), env, allow_insecure=settings.allow_insecure_keyring, choice=settings.cache)
    creds = cache.served(store, settings, time.time())
    hit = creds is not None
    if creds is None:
        from mfa_process.app import make_context
        from mfa_process.refresh import credentials

        creds = credentials(make_context(settings, files, env, store=store))
    try:
        sys.stdout.write(creds.to_process_json() + "\n")
        sys.stdout.flush()
    except BrokenPipeError:  # the reader left: not worth a message (cli's exit code 141)
        raise
    except OSError as exc:
        raise OutputError(
            f"could not write the credentials to standard output ({exc.strerror or exc}); "
            "check where the output goes (a full disk, a closed file)"
        ) from None
    if hit and after_hit is not None:
        after_hit()
    return 0
