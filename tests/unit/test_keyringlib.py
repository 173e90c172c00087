"""The keyring library backend: its waits are bounded, backend discovery included."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support.silentbus import silent_bus

ROOT = Path(__file__).resolve().parents[2]

#: Load keyring's backend the way a miss does, with a 1-second bound instead of 20.
DISCOVER = """
import sys
from mfa_process.errors import KeyringUnavailable
from mfa_process.keystore.keyringlib import KeyringStore
store = KeyringStore(sys.argv[1], {})
store.timeout = 1.0
try:
    store.backend()
except KeyringUnavailable as exc:
    print(exc)
"""


def test_backend_discovery_on_a_silent_bus_is_bounded(tmp_path: Path) -> None:
    """keyring's discovery probes the Secret Service over the session bus; a bus that authenticates and
    then never answers used to hang it forever (outside every time limit)."""
    with tempfile.TemporaryDirectory(prefix="bus", dir="/tmp") as short, silent_bus(short) as address:
        env = {k: v for k, v in os.environ.items() if "KEYRING" not in k}
        env.update(DBUS_SESSION_BUS_ADDRESS=address, XDG_CONFIG_HOME=str(tmp_path / "config"), PYTHONPATH=str(ROOT))
        out = subprocess.run(
            [sys.executable, "-c", DISCOVER, str(tmp_path / "state")],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,  # a hang guard: the child must give up after about one second
            check=True,
        )
    assert out.stdout.strip().startswith("the keyring backend did not load within 1 s: the D-Bus session bus")
    assert "--cache kernel" in out.stdout
