"""Put one MFA session in mfa-process's cache the way a successful login does, through the package's API.

Run by benchmarks/bench.py with the benchmark venv's interpreter (where mfa-process is installed as a
user gets it), in the benchmark's throwaway environment and D-Bus session::

    python seed.py PROFILE SERIAL [CACHE]

The item is written through ``keystore.choose.open_cache`` with ``--cache CACHE`` (default ``auto``,
which in the benchmark's D-Bus session chooses the Secret Service: writes through ``keyring``, reads over
the project's D-Bus client; ``kernel`` writes the kernel keyring). Prints one JSON line: the cache key, the
access key id served, the stored value, the backend, the cache chosen and whether reads took the fast
path (and, for the kernel keyring, the key's description).
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time

from mfa_process.cache import session_key
from mfa_process.credentials import Credentials
from mfa_process.keystore.choose import open_cache
from mfa_process.keystore.kernel import namespace
from mfa_process.paths import state_dir

#: Length of the session token stored: about what GetSessionToken returns for an IAM user.
TOKEN_CHARS = 444
ACCOUNT_ID = "123456789012"


def main(argv: list[str]) -> int:
    profile, serial, *rest = argv
    choice = rest[0] if rest else "auto"
    state = state_dir(os.environ)
    store = open_cache(state, os.environ, choice=choice)
    creds = Credentials(
        access_key_id="ASIA" + secrets.token_hex(8).upper(),
        secret_access_key=secrets.token_urlsafe(30),
        session_token="IQoJb3JpZ2luX2Vj" + secrets.token_urlsafe(TOKEN_CHARS)[: TOKEN_CHARS - 16],
        expiration=int(time.time()) + 12 * 3600,
        account_id=ACCOUNT_ID,
    )
    key = session_key(profile, serial)
    value = creds.to_cache()
    store.save(key, value, creds.expiration)  # as login does: the kernel keyring times the key out
    description = store.describe()
    if store.load(key) != value:
        print("seed: the stored session does not read back", file=sys.stderr)
        return 1
    print(
        json.dumps(
            {
                "key": key,
                "access_key_id": creds.access_key_id,
                "value": value,
                "backend": description["backend"],
                "cache": description["cache"],
                "fast_path": description.get("fast_path", ""),
                "kernel_description": f"mfa-process:{namespace(state)}:{key}" if choice == "kernel" else "",
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
