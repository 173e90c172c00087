"""Render environment variables as assignments for a shell (pure; used by ``env``)."""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from typing import Final

SHELLS: Final = ("sh", "fish", "powershell", "json")
#: PowerShell ends a verbatim ('...') string at any of these, not only at the ASCII quote.
POWERSHELL_QUOTES: Final = "'\u2018\u2019\u201a\u201b"


def _fish_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def powershell_quote(value: str) -> str:
    """*value* as a PowerShell verbatim string literal: every kind of single quote doubled."""
    return "'" + "".join(char * 2 if char in POWERSHELL_QUOTES else char for char in value) + "'"


def render(variables: Mapping[str, str], shell: str) -> str:
    """Lines that set *variables* in *shell* (``sh`` covers bash, zsh, dash)."""
    if shell == "json":
        return json.dumps(dict(variables), indent=2)
    if shell == "fish":
        return "\n".join(f"set -gx {k} {_fish_quote(v)};" for k, v in variables.items())
    if shell == "powershell":
        return "\n".join(f"$Env:{k} = {powershell_quote(v)}" for k, v in variables.items())
    return "\n".join(f"export {k}={shlex.quote(v)}" for k, v in variables.items())
