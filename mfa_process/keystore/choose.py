"""Choosing the backend, once per run, for the session cache and for long-term keys.

``--cache`` (profile key ``mfa_process_cache``) names the cache backend: ``secret-service``, ``kernel``,
``keyring`` (the ``keyring`` library's own choice), or ``auto``:

1. ``keyring`` when the user configured keyring (``PYTHON_KEYRING_BACKEND``, ``KEYRING_PROPERTY_*`` or
   keyring's ``keyringrc.cfg``): their choice is honoured;
2. else the Secret Service, when one answers on the session bus and is unlocked;
3. else the kernel keyring, when the kernel allows key management here;
4. else the ``keyring`` library's choice, which may be none (the clear error of old).

The decision is taken by the first read, which is also the probe: on a hit that finds its entry in the
Secret Service nothing else is asked. An entry found in the kernel keyring while the Secret Service has none
(it was written while the Secret Service was locked or absent) is served from there.
"""

from __future__ import annotations

from mfa_process.keystore.parts import SplitStore

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path
    from typing import Any


def keyring_configured(env: Mapping[str, str]) -> str | None:
    """Why the user's own keyring configuration decides (None when it does not)."""
    if "PYTHON_KEYRING_BACKEND" in env:
        return "PYTHON_KEYRING_BACKEND is set"
    if any("KEYRING_PROPERTY_" in name for name in env):
        return "KEYRING_PROPERTY_* variables are set"
    import os

    from mfa_process.keystore import config_path

    if os.path.exists(config_path(env)):
        return f"keyring's configuration file {config_path(env)} exists"
    return None


def make(name: str, state: str | Path, env: Mapping[str, str], *, allow_insecure: bool = False) -> Any:
    """The backend called *name*."""
    if name == "secret-service":
        from mfa_process.keystore.secretservice import SecretServiceBackend

        return SecretServiceBackend(state, env)
    if name == "kernel":
        from mfa_process.keystore.kernel import KernelBackend

        return KernelBackend(state)
    from mfa_process.keystore.keyringlib import KeyringStore

    return KeyringStore(state, env, allow_insecure=allow_insecure)


class Chosen:
    """A :class:`~mfa_process.keystore.Backend` that decides which backend it is on its first use."""

    def __init__(self, choice: str, state: str | Path, env: Mapping[str, str], *, allow_insecure: bool = False) -> None:
        self.choice = choice
        self.state = state
        self.env = env
        self.allow_insecure = allow_insecure
        self.name: str | None = None
        self.reason = ""
        self.backend: Any = None
        if choice != "auto":
            self._pick(choice, "chosen with --cache or mfa_process_cache")

    def _pick(self, name: str, reason: str) -> Any:
        self.name, self.reason = name, reason
        self.backend = make(name, self.state, self.env, allow_insecure=self.allow_insecure)
        return self.backend

    def _decide(self, name: str) -> tuple[bool, str | None]:
        """Choose the backend by reading *name*; (answered, value) when the deciding read answered."""
        configured = keyring_configured(self.env)
        if configured:
            self._pick("keyring", configured)
            return False, None
        ss_problem: str | None = None
        if not self.env.get("DBUS_SESSION_BUS_ADDRESS"):
            ss_problem = "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)"
        else:
            from mfa_process.keystore import SERVICE, secretservice

            try:
                value = secretservice.read(SERVICE, name, env=self.env)
            except (secretservice.ServiceAbsent, secretservice.FastReadTimeout) as exc:
                ss_problem = f"the Secret Service is not usable ({exc})"
            except secretservice.FastReadUnavailable:  # it is there but this read failed: keyring judges
                self._pick("secret-service", "the Secret Service answers and is unlocked")
                return False, None
            else:
                if value is not None:
                    self._pick("secret-service", "the Secret Service answers and is unlocked")
                    return True, value
        from mfa_process.keystore.kernel import KernelBackend

        kernel = KernelBackend(self.state)
        kernel_problem = kernel.probe()
        if kernel_problem is None:
            found = kernel.get(name)
            if found is not None or ss_problem is not None:
                self.name, self.backend = "kernel", kernel
                self.reason = (
                    f"{ss_problem}; the kernel keyring is usable"
                    if ss_problem
                    else "the entry is in the kernel keyring (written while the Secret Service was unusable)"
                )
                return True, found
        if ss_problem is None:  # it answered "no such item", which it does only when unlocked
            self._pick("secret-service", "the Secret Service answers and is unlocked")
            return True, None
        self._pick("keyring", f"{ss_problem}; {kernel_problem}")
        return False, None

    def decided(self) -> Any:
        """The backend, deciding now (with a read of a name that does not exist) if no read has yet."""
        if self.backend is None:
            self._decide("session|v1|-|-")
        return self.backend

    def get(self, name: str) -> str | None:
        """Read from the chosen backend (the first read chooses)."""
        if self.backend is None:
            answered, value = self._decide(name)
            if answered:
                return value
        return self.backend.get(name)  # type: ignore[no-any-return]

    def set(self, name: str, value: str, expires: float | None = None) -> None:
        """Write to the chosen backend."""
        self.decided().set(name, value, expires)

    def delete(self, name: str) -> None:
        """Delete from the chosen backend."""
        self.decided().delete(name)

    def names(self) -> list[str]:
        """Every item name of this tool the chosen backend holds."""
        return self.decided().names()  # type: ignore[no-any-return]

    def describe(self) -> dict[str, Any]:
        """Which backend (``cache``), why (``reason``), and the backend's own details."""
        details = self.decided().describe()
        return {"cache": self.name, "reason": self.reason, **details}


def open_cache(
    state: str | Path, env: Mapping[str, str], *, allow_insecure: bool = False, choice: str = "auto"
) -> SplitStore:
    """The store of cached MFA sessions and role credentials."""
    return SplitStore(Chosen(choice, state, env, allow_insecure=allow_insecure))


def open_keys(state: str | Path, env: Mapping[str, str], *, allow_insecure: bool = False) -> SplitStore:
    """The store of long-term access keys (``store-keys``): always the ``keyring`` library."""
    from mfa_process.keystore.keyringlib import KeyringStore

    return SplitStore(KeyringStore(state, env, allow_insecure=allow_insecure))


def add_cache_option(parser: Any) -> None:
    """``--cache`` for the commands that are not the credential_process mode (``status``, ``logout``)."""
    from mfa_process.options import CACHES

    parser.add_argument("--cache", choices=CACHES, default="auto", help="which cache backend to look at (default auto)")


def cache_stores(
    state: str | Path, env: Mapping[str, str], *, allow_insecure: bool = False, choice: str = "auto"
) -> list[SplitStore]:
    """Every cache backend that may hold entries of this tool: the chosen one first, then each other usable one.

    ``logout`` revokes in all of them: an entry written while another backend was chosen must go too.
    """
    chosen = open_cache(state, env, allow_insecure=allow_insecure, choice=choice)
    stores = [chosen]
    taken = {chosen.describe()["cache"]}
    if "secret-service" not in taken and env.get("DBUS_SESSION_BUS_ADDRESS"):
        stores.append(open_cache(state, env, choice="secret-service"))
    if "kernel" not in taken:
        from mfa_process.keystore.kernel import KernelBackend

        if KernelBackend(state).probe() is None:
            stores.append(open_cache(state, env, choice="kernel"))
    return stores
