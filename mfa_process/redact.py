"""Keep secrets out of every message: values registered here are masked wherever text leaves the process."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

_SECRETS: set[str] = set()
MASK: Final = "****"
#: Shorter values are not registered: masking them would garble ordinary text without protecting anything.
MIN_LENGTH: Final = 8


def register(*values: str | None) -> None:
    """Remember secret values (secret keys, session tokens) for :func:`redact`."""
    _SECRETS.update(v for v in values if v and len(v) >= MIN_LENGTH)


def redact(text: str) -> str:
    """*text* with every registered secret replaced by ``****``."""
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text
