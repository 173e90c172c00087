"""Where secrets are kept: one interface, one module per backend, one place that chooses.

Callers use :class:`~mfa_process.keystore.parts.SplitStore` (``load``, ``save``, ``delete``,
``describe``), returned by :mod:`mfa_process.keystore.choose`. Under it sits one :class:`Backend`, a
namespace of single items:

* :mod:`~mfa_process.keystore.keyringlib`: the ``keyring`` library (every OS keyring it supports), whose
  reads go through :mod:`~mfa_process.keystore.secretservice` (Secret Service over the project's own
  D-Bus client) when ``keyring`` would use the Secret Service anyway;
* :mod:`~mfa_process.keystore.parts` splits values too large for one item.

A new backend is one new module with a class that has the methods of :class:`Backend`, and one
branch in :mod:`~mfa_process.keystore.choose`.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any, Final, Protocol

#: Service name (keyring) and description prefix of every item the tool writes.
SERVICE: Final = "mfa-process"


def config_path(env: Mapping[str, str]) -> str:
    """Path of keyring's config file outside Windows (``keyring.util.platform_.config_root()``)."""
    root = env.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(root, "python_keyring", "keyringrc.cfg")


if TYPE_CHECKING:

    class Backend(Protocol):
        """One namespace of single items, at most :data:`~mfa_process.keystore.parts.PART_SIZE` characters."""

        def get(self, name: str) -> str | None:
            """The item's value, or None."""

        def set(self, name: str, value: str, expires: float | None = None) -> None:
            """Create or replace the item; *expires* (epoch seconds) is a hint a backend may honour."""

        def delete(self, name: str) -> None:
            """Remove the item if it exists."""

        def names(self) -> list[str]:
            """Every item name of this tool the backend holds, found by its attributes (for ``logout``);
            empty where the backend cannot list."""

        def describe(self) -> dict[str, Any]:
            """What ``status`` shows about the backend."""
