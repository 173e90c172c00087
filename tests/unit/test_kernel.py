"""The kernel keyring backend on this machine's real kernel (namespaced per test, cleaned up), and its
refusals through an injected syscall layer."""

from __future__ import annotations

import errno
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mfa_process.errors import KeyringError, KeyringUnavailable
from mfa_process.keystore import choose
from mfa_process.keystore import kernel as kernel_module
from mfa_process.keystore.kernel import OWNER_ONLY, KernelBackend, Syscalls
from mfa_process.keystore.parts import SplitStore
from tests.support.contract import StoreContract
from tests.support.kernelkeys import cleaned, proc_keys

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the kernel keyring is Linux's")


@pytest.fixture
def kernel(tmp_path: Path) -> Iterator[KernelBackend]:
    with cleaned(tmp_path / "state") as backend:
        problem = backend.probe()
        assert problem is None, problem  # this machine allows key management; CI too
        yield backend


class TestKernelBackend(StoreContract):
    @pytest.fixture
    def store(self, kernel: KernelBackend) -> SplitStore:
        return SplitStore(kernel)


def test_keys_are_owner_only_with_the_expiry_as_timeout(kernel: KernelBackend) -> None:
    kernel.set("session|v1|p|s", "v", time.time() + 2 * 3600)
    [row] = proc_keys(kernel)
    assert row[4] == f"{OWNER_ONLY:08x}"  # possessor and user: all; group and other: nothing
    assert row[3] in ("2h", "1h")  # /proc/keys shows the time left until the kernel drops it
    assert row[7] == "user"


def test_the_kernel_drops_a_key_at_its_expiry(kernel: KernelBackend) -> None:
    kernel.set("session|v1|p|s", "v", time.time() + 1)
    deadline = time.monotonic() + 60  # a hang guard only: the kernel's timer decides
    while kernel.get("session|v1|p|s") is not None:
        assert time.monotonic() < deadline, "the key outlived its timeout"
        time.sleep(0.2)
    assert kernel.names() == [] or "session|v1|p|s" not in kernel.names()


def test_an_expired_value_is_not_stored(kernel: KernelBackend) -> None:
    kernel.set("k", "old", time.time() + 3600)
    kernel.set("k", "v", time.time() - 5)
    assert kernel.get("k") is None


def test_namespaces_of_two_state_directories_never_meet(tmp_path: Path) -> None:
    with cleaned(tmp_path / "one") as one, cleaned(tmp_path / "two") as two:
        one.set("k", "first", time.time() + 60)
        two.set("k", "second", time.time() + 60)
        assert (one.get("k"), two.get("k")) == ("first", "second")
        assert one.names() == ["k"] and two.names() == ["k"]
        one.delete("k")
        assert (one.get("k"), two.get("k")) == (None, "second")


class Refusing(Syscalls):
    """The syscall layer of a container whose seccomp profile blocks the key syscalls."""

    def __init__(self, err: int = errno.EPERM) -> None:
        super().__init__()
        self.err = err

    def _call(self, *args: object) -> int:
        raise OSError(self.err, "blocked")


@pytest.mark.parametrize("err", [errno.EPERM, errno.ENOSYS])
def test_a_refusing_kernel_is_unavailable_with_the_reason(tmp_path: Path, err: int) -> None:
    backend = KernelBackend(tmp_path, syscalls=lambda: Refusing(err))
    problem = backend.probe()
    assert problem is not None and "kernel keyring is not available here" in problem and "seccomp" in problem
    with pytest.raises(KeyringUnavailable, match="--cache secret-service or --cache keyring"):
        backend.set("k", "v", time.time() + 60)
    with pytest.raises(KeyringUnavailable):
        backend.get("k")


def test_a_full_quota_is_a_write_error_that_says_what_to_do(tmp_path: Path) -> None:
    class Full(Syscalls):
        def add_key(self, description: bytes, payload: bytes, keyring: int) -> int:
            raise OSError(errno.EDQUOT, "Disk quota exceeded")

    backend = KernelBackend(tmp_path, syscalls=Full)
    with pytest.raises(KeyringError, match=r"quota .* logout --all"):
        backend.set("k", "v", time.time() + 60)


def test_auto_falls_back_from_a_refusing_kernel_to_keyring_with_the_reasons(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mfa_process.keystore.kernel as kernel_module

    real = kernel_module.KernelBackend
    monkeypatch.setattr(kernel_module, "KernelBackend", lambda state, **kw: real(state, syscalls=Refusing))
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)  # the keyring library reads the real environment
    chosen = choose.Chosen("auto", tmp_path, {"XDG_CONFIG_HOME": str(tmp_path)})
    with pytest.raises(KeyringUnavailable, match="no usable keyring backend"):  # keyring finds nothing here
        chosen.get("session|v1|p|s")
    assert chosen.name == "keyring"
    assert "no D-Bus session bus" in chosen.reason and "kernel keyring is not available here" in chosen.reason


def test_auto_without_a_bus_uses_the_kernel(tmp_path: Path) -> None:
    with cleaned(tmp_path):
        store = choose.open_cache(tmp_path, {"XDG_CONFIG_HOME": str(tmp_path)})
        store.save("session|v1|p|s", "v", time.time() + 60)
        description = store.describe()
        assert description["cache"] == "kernel"
        assert description["reason"].startswith("no D-Bus session bus")
        assert KernelBackend(tmp_path).get("session|v1|p|s") == "v"


def test_a_configured_keyring_is_honoured_by_auto(tmp_path: Path) -> None:
    env = {"PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring", "XDG_CONFIG_HOME": str(tmp_path)}
    chosen = choose.Chosen("auto", tmp_path, env)
    chosen.decided()
    assert (chosen.name, chosen.reason) == ("keyring", "PYTHON_KEYRING_BACKEND is set")


def test_the_real_syscalls_reach_the_kernel() -> None:
    """``keyctl(KEYCTL_GET_KEYRING_ID, @u)`` gives the serial /proc/keys lists as this uid's user keyring."""
    serial = Syscalls().keyctl(0, -4, 1)
    listed = subprocess.run(["cat", "/proc/keys"], capture_output=True, text=True, check=True).stdout
    assert f"{serial:08x}" in listed


@pytest.mark.parametrize("flavour", ["core_ctypes", "public_ctypes"])
def test_both_ctypes_layers_store_read_and_describe_alike(tmp_path: Path, flavour: str) -> None:
    """The hit's ``_ctypes`` layer and the public ``ctypes`` fallback, each through the whole backend on the
    real kernel; the key one wrote is read back by the other."""
    make = getattr(kernel_module, flavour)
    other = kernel_module.public_ctypes if flavour == "core_ctypes" else kernel_module.core_ctypes
    value = "v" * 5000  # more than the first 4096-byte read buffer: the buffer grows
    with cleaned(tmp_path) as plain:
        backend = KernelBackend(tmp_path, syscalls=lambda: Syscalls(make))
        assert backend.probe() is None
        backend.set("session|v1|p|s", value, time.time() + 60)
        assert backend.get("session|v1|p|s") == value
        assert KernelBackend(tmp_path, syscalls=lambda: Syscalls(other)).get("session|v1|p|s") == value
        assert backend.names() == ["session|v1|p|s"] == plain.names()
        with pytest.raises(OSError) as failed:  # a failing call's errno comes back through the layer
            backend.sys.keyctl(kernel_module.READ, 0)
        assert failed.value.errno == errno.ENOKEY
        backend.delete("session|v1|p|s")
        assert plain.get("session|v1|p|s") is None


def test_the_core_layer_is_the_one_a_hit_uses_here() -> None:
    """On CPython the hit's layer is ``_ctypes`` alone: if it fell back, ``ctypes`` would cost every hit ~2 ms
    (``tests/integration/test_hot_path.py`` checks the same from the module list of a real hit)."""
    assert Syscalls().c.syscall.__class__.__module__ == kernel_module.__name__


def test_the_namespace_checksum_is_crc32() -> None:
    """The pure-Python checksum equals ``zlib.crc32``, so namespaces are those of earlier versions."""
    import random
    import zlib

    rng = random.Random(7)
    samples = [b"", b"a", b"/home/alice/.local/state/mfa-process"]
    samples += [bytes(rng.randrange(256) for _ in range(rng.randrange(200))) for _ in range(300)]
    for data in samples:
        assert kernel_module.crc32(data) == zlib.crc32(data)


#: A session bus is set (what it answers is injected) and no keyring configuration exists.
BUS_ENV = {"DBUS_SESSION_BUS_ADDRESS": "unix:path=/x", "XDG_CONFIG_HOME": "/x"}


def _reading(exc: Exception):  # type: ignore[no-untyped-def]
    def read(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise exc

    return read


@pytest.mark.parametrize(
    "failure",
    [
        "Secret Service lookup failed: ConnectionResetError: [Errno 104] Connection reset by peer",
        "Secret Service lookup failed: DBusError: org.freedesktop.DBus.Error.LimitsExceeded",
    ],
)
def test_auto_does_not_take_a_failed_read_of_a_present_service_for_an_empty_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    """One read that failed under load (50 hits at once) chose the empty kernel keyring: a miss, then a prompt."""
    from mfa_process.keystore import secretservice

    monkeypatch.setattr(secretservice, "read", _reading(secretservice.FastReadUnavailable(failure)))
    with cleaned(tmp_path):
        chosen = choose.Chosen("auto", tmp_path, BUS_ENV)
        chosen._decide("session|v1|p|s")
        assert chosen.name == "secret-service"  # its reads then go through keyring, which judges


@pytest.mark.parametrize(
    "absent",
    [
        "cannot connect to the session bus: No such file or directory",
        "no Secret Service on the session bus (org.freedesktop.DBus.Error.ServiceUnknown)",
        "the collection /org/freedesktop/secrets/aliases/default is locked",
    ],
)
def test_auto_takes_the_kernel_where_no_secret_service_can_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, absent: str
) -> None:
    from mfa_process.keystore import secretservice

    monkeypatch.setattr(secretservice, "read", _reading(secretservice.ServiceAbsent(absent)))
    with cleaned(tmp_path):
        chosen = choose.Chosen("auto", tmp_path, BUS_ENV)
        assert chosen.get("session|v1|p|s") is None
        assert chosen.name == "kernel" and absent in chosen.reason


def test_a_bus_address_nobody_listens_on_is_an_absent_service(tmp_path: Path) -> None:
    from mfa_process.keystore import secretservice

    env = {"DBUS_SESSION_BUS_ADDRESS": f"unix:path={tmp_path}/no-bus"}
    with pytest.raises(secretservice.ServiceAbsent, match="cannot connect to the session bus"):
        secretservice.read("mfa-process", "x", env=env, timeout=5)
