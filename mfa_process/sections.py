"""Profile names and the section headers of the shared AWS files: one model for reading and writing.

botocore reads ``~/.aws/credentials`` sections as profile names as they stand, and ``~/.aws/config``
sections through ``build_profile_map``: ``[default]`` is profile ``default``; a section whose name starts
with ``profile`` is split like a shell line and names a profile only when it splits into exactly two
words (``[profile 'my profile']`` is ``my profile``, ``[profile a b]`` is nothing); every other section
is not a profile. :func:`profile_of` is that rule (the reader's, ``config.profile_name``) and
:func:`config_header` its inverse, so what ``setup`` writes is read back as the same name by this tool
and by every SDK built on botocore.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

#: Characters that make a section name need shell-style splitting (the common case needs none).
_SHELL_SPECIAL: Final = frozenset("'\"\\\t")


def split_words(text: str) -> list[str] | None:
    """Split *text* the way botocore does (``shlex.split``); None when it cannot be split (an open quote)."""
    if text.isprintable() and _SHELL_SPECIAL.isdisjoint(text):
        return text.split()
    import shlex

    try:
        return shlex.split(text)
    except ValueError:
        return None


def profile_of(section: str) -> str | None:
    """The profile a ``~/.aws/config`` section defines, as botocore reads it, or None if it is no profile.

    The reader's rule (:func:`mfa_process.config.profile_name`), plus ``[default]``.
    """
    from mfa_process.config import profile_name

    return "default" if section == "default" else profile_name(section)


def config_header(name: str) -> str:
    """The ``~/.aws/config`` section for profile *name* (without brackets), quoted only when it must be."""
    if name == "default":
        return name
    plain = f"profile {name}"
    if profile_of(plain) == name:
        return plain
    import shlex

    return f"profile {shlex.quote(name)}"
