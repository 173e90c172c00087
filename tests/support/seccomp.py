"""A real refusal of the kernel keyring: the seccomp filter of Docker's default profile, for one child.

:func:`deny_key_syscalls` is a ``preexec_fn``: it makes ``add_key``, ``request_key`` and ``keyctl`` fail
with EPERM in the child (and everything it runs), as a container's default seccomp profile does.
"""

from __future__ import annotations

import ctypes
import errno
import os

#: (add_key, request_key, keyctl) on x86_64 and AUDIT_ARCH_X86_64.
X86_64 = ((248, 249, 250), 0xC000003E)
AARCH64 = ((217, 218, 219), 0xC00000B7)
ARCHES = {"x86_64": X86_64, "aarch64": AARCH64}


class SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]


def supported() -> bool:
    """Whether this machine's architecture is one the filter knows."""
    return os.uname().machine in ARCHES


def deny_key_syscalls() -> None:
    """Install the filter in the calling process (irreversible: call it in a child)."""
    (add_key, request_key, keyctl), arch = ARCHES[os.uname().machine]
    ld, jeq, ret = 0x20, 0x15, 0x06
    program = [
        (ld, 0, 0, 4),  # seccomp_data.arch
        (jeq, 0, 4, arch),  # another ABI: allow
        (ld, 0, 0, 0),  # seccomp_data.nr
        (jeq, 3, 0, add_key),
        (jeq, 2, 0, request_key),
        (jeq, 1, 0, keyctl),
        (ret, 0, 0, 0x7FFF0000),  # SECCOMP_RET_ALLOW
        (ret, 0, 0, 0x00050000 | errno.EPERM),  # SECCOMP_RET_ERRNO
    ]
    filters = (SockFilter * len(program))(*(SockFilter(*f) for f in program))
    prog = SockFprog(len(program), filters)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS")
    if libc.prctl(22, 2, ctypes.byref(prog), 0, 0) != 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        raise OSError(ctypes.get_errno(), "PR_SET_SECCOMP")
