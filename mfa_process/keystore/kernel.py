"""The Linux kernel's key retention service as a backend for cached sessions and role credentials.

Secrets live in kernel memory (never on disk), in the user keyring ``@u`` that every terminal and SSH
session of the user shares, with no daemon and no D-Bus: the cache for SSH sessions, WSL2, containers and
CI runners. Each key gets a timeout equal to the credentials' expiry, so the kernel drops lapsed secrets by
itself, and the permissions ``possessor: all, user: all, group: none, other: none``, so no other uid can
read, search or even see it. Everything is lost on reboot.

The kernel is called directly, ``add_key(2)`` and ``keyctl(2)`` through libc's ``syscall(3)``: glibc has
no wrappers for them, ``libkeyutils`` is often missing where this backend matters most (slim containers), a
``keyctl`` subprocess would cost a fork and exec per read and put secrets on a pipe, and no binding on PyPI
is both maintained and light enough for the cache hit. The syscall numbers of each architecture are below;
an unknown architecture makes the backend unavailable.

The call goes through ``_ctypes``, the C core of ``ctypes``, with the three C types it needs declared here
(:func:`core_ctypes`): ``import ctypes`` spends about 2 ms of a cache hit's budget defining the several
dozen types and helpers of its ``__init__`` (and imports ``struct``), none of which a hit uses. What is used
(``_SimpleCData``, ``CFuncPtr``, ``dlopen``/``dlsym``, ``byref``, ``get_errno``) is what ``ctypes`` itself is
built on, unchanged since Python 2.5; where it differs (another implementation of Python), the public
``ctypes`` is used instead (:func:`public_ctypes`), and a unit test holds both to the same answers.

Key descriptions are ``mfa-process:<namespace>:<name>``. The namespace is a checksum of the state
directory's path: the index and the locks that make twenty processes ask once live there, so two state
directories (two ``MFA_PROCESS_STATE_DIR``, two throwaway test homes) are two independent caches that
never see each other's keys.

Quota: the kernel limits what one non-root user may keep (``/proc/sys/kernel/keys/maxbytes``, 20000 bytes
by default, about fifteen cached entries); a full quota is reported as a failed write, the credentials are
still served.
"""

from __future__ import annotations

import os

from mfa_process import DOCS_URL
from mfa_process.errors import KeyringError, KeyringUnavailable
from mfa_process.keystore import SERVICE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any, Callable, Final

#: (add_key, keyctl) syscall numbers by ``os.uname().machine``.
SYSCALLS: Final = {
    "x86_64": (248, 250),
    "aarch64": (217, 219),
    "riscv64": (217, 219),
    "i386": (286, 288),
    "i686": (286, 288),
    "armv7l": (309, 311),
    "armv6l": (309, 311),
    "ppc64le": (269, 271),
    "ppc64": (269, 271),
    "s390x": (278, 280),
}
USER_KEYRING: Final = -4  # KEY_SPEC_USER_KEYRING
GET_KEYRING_ID: Final = 0
SETPERM: Final = 5
DESCRIBE: Final = 6
UNLINK: Final = 9
SEARCH: Final = 10
READ: Final = 11
SET_TIMEOUT: Final = 15
INVALIDATE: Final = 21
#: Possessor and user (same uid): view, read, write, search, link, setattr; group and other: nothing.
OWNER_ONLY: Final = 0x3F3F0000
#: errno values that mean "no such key (any more)": ENOKEY, EKEYEXPIRED, EKEYREVOKED.
GONE: Final = frozenset({126, 127, 128})
#: errno values that mean the kernel refuses key management here (seccomp, no CONFIG_KEYS, a sandbox).
REFUSED: Final = frozenset({1, 13, 38})  # EPERM, EACCES, ENOSYS
EDQUOT: Final = 122


class CTypes:
    """What the syscall layer needs from ctypes: libc's ``syscall`` returning a C long with errno saved, the
    C long type for its arguments, a way to pass a writable buffer, and the saved errno."""

    def __init__(
        self,
        syscall: Callable[..., Any],
        long: Callable[[int], Any],
        buffer: Callable[[bytearray], Any],
        errno: Callable[[], int],
    ) -> None:
        self.syscall = syscall
        self.long = long
        self.buffer = buffer
        self.errno = errno


def core_ctypes() -> CTypes:
    """:class:`CTypes` on ``_ctypes`` alone (see the module docstring for why)."""
    import _ctypes

    core: Any = _ctypes  # typeshed's stubs describe the public ctypes, not this use of its core

    class Long(core._SimpleCData):  # type: ignore[misc]  # ctypes.c_long
        _type_ = "l"

    class Char(core._SimpleCData):  # type: ignore[misc]  # ctypes.c_char
        _type_ = "c"

    class Function(core.CFuncPtr):  # type: ignore[misc]  # CDLL(None, use_errno=True).syscall
        _flags_ = core.FUNCFLAG_CDECL | core.FUNCFLAG_USE_ERRNO
        _restype_ = Long

    syscall = Function(core.dlsym(core.dlopen(None, core.RTLD_LOCAL), "syscall"))
    return CTypes(syscall, Long, lambda buf: core.byref(Char.from_buffer(buf)), core.get_errno)


def public_ctypes() -> CTypes:
    """:class:`CTypes` on the public ``ctypes`` module."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return CTypes(
        libc.syscall, ctypes.c_long, lambda buf: ctypes.byref(ctypes.c_char.from_buffer(buf)), ctypes.get_errno
    )


def load_ctypes() -> CTypes:
    """:func:`core_ctypes` where this Python's ``_ctypes`` has what it needs, else :func:`public_ctypes`."""
    try:
        return core_ctypes()
    except (ImportError, AttributeError, TypeError):
        return public_ctypes()


class Syscalls:
    """``add_key`` and ``keyctl`` through libc's ``syscall``; each returns the result or raises OSError."""

    def __init__(self, c: Callable[[], CTypes] = load_ctypes) -> None:
        import sys

        if sys.platform != "linux":
            raise OSError(38, "the kernel keyring exists on Linux only")
        numbers = SYSCALLS.get(os.uname().machine)
        if numbers is None:
            raise OSError(38, f"no known key syscalls on {os.uname().machine}")
        self.c = c()
        self.add_key_nr, self.keyctl_nr = numbers

    def _call(self, *args: Any) -> int:
        result = int(self.c.syscall(*args))
        if result < 0:
            err = self.c.errno()
            raise OSError(err, os.strerror(err))
        return result

    def add_key(self, description: bytes, payload: bytes, keyring: int) -> int:
        """``add_key("user", description, payload, keyring)``: create or update; the key's serial."""
        long = self.c.long
        return self._call(long(self.add_key_nr), b"user", description, payload, long(len(payload)), long(keyring))

    def keyctl(self, op: int, *args: int | bytes) -> int:
        """``keyctl(op, ...)`` with integer or byte-string arguments (bytes go as ``char *``)."""
        long = self.c.long
        return self._call(long(self.keyctl_nr), long(op), *(a if isinstance(a, bytes) else long(a) for a in args))

    def _grow(self, op: int, key: int, size: int) -> bytes:
        """``KEYCTL_READ`` or ``KEYCTL_DESCRIBE`` into a buffer that grows until the answer fits."""
        long = self.c.long
        while True:
            buf = bytearray(size)
            length = self._call(long(self.keyctl_nr), long(op), long(key), self.c.buffer(buf), long(size))
            if length <= size:
                return bytes(buf[:length])
            size = length

    def read(self, key: int) -> bytes:
        """The payload of a key (for a keyring: its members' serials, 4 bytes each)."""
        return self._grow(READ, key, 4096)

    def describe(self, key: int) -> str:
        """``type;uid;gid;perm;description`` of a key."""
        return self._grow(DESCRIBE, key, 256).rstrip(b"\0").decode("utf-8", "replace")


def crc32(data: bytes) -> int:
    """CRC-32 as ``zlib.crc32`` computes it, bit by bit: a state directory's path is a few dozen bytes, and
    this costs a hit less than importing ``binascii`` or ``zlib``."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0xEDB88320 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def namespace(state: str | Path) -> str:
    """The cache namespace of a state directory: a checksum of its absolute path."""
    return f"{crc32(os.fsencode(os.path.abspath(state))):08x}"


class KernelBackend:
    """:class:`~mfa_process.keystore.Backend` on the kernel's user keyring ``@u``."""

    def __init__(
        self, state: str | Path, *, keyring: int = USER_KEYRING, syscalls: Callable[[], Any] = Syscalls
    ) -> None:
        self.prefix = f"{SERVICE}:{namespace(state)}:"
        self.keyring = keyring
        self._make = syscalls
        self._sys: Any = None

    @property
    def sys(self) -> Any:
        """The syscall layer, created on first use; a refusal becomes :class:`KeyringUnavailable`."""
        if self._sys is None:
            try:
                self._sys = self._make()
            except OSError as exc:
                raise KeyringUnavailable(refused_message(exc)) from None
        return self._sys

    def probe(self) -> str | None:
        """None when the kernel keyring works here, else why not (for ``status`` and the auto choice)."""
        import sys

        if sys.platform != "linux":
            return "the kernel keyring exists on Linux only"
        try:
            self.sys.keyctl(GET_KEYRING_ID, self.keyring, 1)
        except KeyringUnavailable as exc:
            return str(exc)
        except OSError as exc:
            return refused_message(exc)
        return None

    def _description(self, name: str) -> bytes:
        return (self.prefix + name).encode("utf-8")

    def _find(self, name: str) -> int | None:
        try:
            return int(self.sys.keyctl(SEARCH, self.keyring, b"user", self._description(name), 0))
        except OSError as exc:
            if exc.errno in GONE:
                return None
            raise self._error("read", exc) from None

    def get(self, name: str) -> str | None:
        """The key's payload, or None when it does not exist or has expired."""
        key = self._find(name)
        if key is None:
            return None
        try:
            payload = self.sys.read(key)
        except OSError as exc:
            if exc.errno in GONE:
                return None
            raise self._error("read", exc) from None
        try:
            return str(payload.decode("utf-8"))
        except UnicodeDecodeError:
            raise KeyringError("a kernel keyring entry is not valid UTF-8") from None

    def set(self, name: str, value: str, expires: float | None = None) -> None:
        """Create or replace the key, owner-only, timing out at *expires* (epoch seconds)."""
        import math
        import time

        timeout = None if expires is None else math.ceil(expires - time.time())
        if timeout is not None and timeout <= 0:
            self.delete(name)
            return
        try:
            key = self.sys.add_key(self._description(name), value.encode("utf-8"), self.keyring)
            self.sys.keyctl(SETPERM, key, OWNER_ONLY)
            if timeout is not None:
                self.sys.keyctl(SET_TIMEOUT, key, timeout)
        except OSError as exc:
            raise self._error("write", exc) from None

    def delete(self, name: str) -> None:
        """Invalidate the key (the kernel removes it at once); an absent key is not an error."""
        key = self._find(name)
        if key is None:
            return
        try:
            self.sys.keyctl(INVALIDATE, key)
        except OSError as exc:
            if exc.errno in GONE:
                return
            try:  # kernels before 3.5 have no KEYCTL_INVALIDATE
                self.sys.keyctl(UNLINK, key, self.keyring)
            except OSError as exc2:
                if exc2.errno not in GONE:
                    raise self._error("delete", exc2) from None

    def names(self) -> list[str]:
        """Names of every key of this namespace in the keyring, found by description."""
        try:
            raw = self.sys.read(self.sys.keyctl(GET_KEYRING_ID, self.keyring, 0))
        except OSError as exc:
            if exc.errno in GONE:
                return []
            raise self._error("list", exc) from None
        import sys

        out = []
        for i in range(0, len(raw) - len(raw) % 4, 4):
            try:
                text = self.sys.describe(int.from_bytes(raw[i : i + 4], sys.byteorder))
            except OSError:
                continue  # gone meanwhile, or not ours to see
            kind, _uid, _gid, _perm, description = text.split(";", 4)
            if kind == "user" and description.startswith(self.prefix):
                out.append(description[len(self.prefix) :])
        return out

    def describe(self) -> dict[str, Any]:
        """The keyring and the namespace, for ``status``."""
        return {"backend": "kernel keyring (@u)", "namespace": self.prefix.rstrip(":")}

    def _error(self, verb: str, exc: OSError) -> KeyringError:
        if exc.errno in REFUSED:
            return KeyringUnavailable(refused_message(exc))
        if exc.errno == EDQUOT:
            return KeyringError(
                "the kernel keyring quota of this user is full (/proc/sys/kernel/keys/maxbytes); "
                "run `mfa-process logout --all` or raise the quota"
            )
        return KeyringError(f"the kernel keyring failed to {verb} an entry: {exc.strerror}")


def refused_message(exc: OSError) -> str:
    """The line for a kernel that refuses key management (a container's seccomp profile, usually)."""
    return (
        f"the kernel keyring is not available here ({exc.strerror}; a container's seccomp profile blocks "
        f"add_key/keyctl by default); use --cache secret-service or --cache keyring (see {DOCS_URL}/keyrings.md)"
    )
