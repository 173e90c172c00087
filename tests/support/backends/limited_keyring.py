"""A real keyring backend with Windows Credential Manager's size limit, on top of the Secret Service.

WinVault refuses a secret over 2560 bytes, and keyring stores UTF-16 there: 1280 characters. This backend
refuses the same values, so the tool's splitting into parts is tested against a backend that really says no.
Select it with ``PYTHON_KEYRING_BACKEND=limited_keyring.LimitedSecretService`` and this folder on PYTHONPATH.
"""

from __future__ import annotations

from keyring.backends.SecretService import Keyring
from keyring.errors import PasswordSetError

LIMIT = 1280


class LimitedSecretService(Keyring):
    """Secret Service storage that refuses values longer than :data:`LIMIT` characters."""

    def set_password(self, service: str, username: str, password: str) -> None:
        """Store, or refuse an oversized value as WinVault does."""
        if len(password) > LIMIT:
            raise PasswordSetError(f"value of {len(password)} characters exceeds {LIMIT}")
        super().set_password(service, username, password)
