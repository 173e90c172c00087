"""mfa-process: an AWS ``credential_process`` helper that makes MFA painless.

It serves MFA session credentials from the OS keyring and asks for a one-time code only when the cached
session nears expiry, once for every process that needs it.
"""

from __future__ import annotations

__version__ = "0.1.0"
#: Where a pip or pipx user reads the documentation (messages link here, never to a path in a clone).
DOCS_URL = "https://github.com/mfa-process/mfa-process/blob/main/docs"
__all__ = ["DOCS_URL", "__version__"]
