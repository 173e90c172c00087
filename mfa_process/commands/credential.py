"""The credential_process mode: print one credential_process JSON document on stdout, nothing else."""

from __future__ import annotations

import sys

from mfa_process.app import load_settings, make_context
from mfa_process.config import NESTED_MARKER
from mfa_process.errors import RecursionConfigError
from mfa_process.redact import register
from mfa_process.refresh import credentials

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any


def run_credential(args: Any, env: Mapping[str, str]) -> int:
    """Serve or refresh the credentials and print them."""
    if env.get(NESTED_MARKER):
        raise RecursionConfigError(
            f"mfa-process was started while resolving the keys of profile '{env[NESTED_MARKER]}' for itself; "
            "the SOURCE profile must hold long-term keys, not run mfa-process"
        )
    settings, files = load_settings(args, env)
    creds = credentials(make_context(settings, files, env))
    register(*creds.secrets())
    sys.stdout.write(creds.to_process_json() + "\n")
    sys.stdout.flush()
    return 0
