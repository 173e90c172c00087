"""Probe that benchmarks/bench.py loads through PYTHONPATH into one untimed run of a program.

It changes nothing the program does. At exit it writes to ``$BENCH_PROBE_OUT`` (JSON) the modules the run
imported and, if botocore was imported, every botocore session created, client created and API operation
called. botocore is never imported by the probe itself: the counters are put in place by an import hook
right after the program imports ``botocore.session`` or ``botocore.client``.
"""

from __future__ import annotations

import atexit
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # nothing imported at run time: the probe must not add modules to the run it observes
    from importlib.machinery import ModuleSpec
    from types import ModuleType
    from typing import Any, Callable

#: ``importlib.machinery.PathFinder``, taken from the module the interpreter has already loaded.
_PathFinder: Any = sys.modules["_frozen_importlib_external"].PathFinder
#: Where to write the report; ``{pid}`` in it becomes the process id (one file per process of a burst).
_OUT = os.environ.get("BENCH_PROBE_OUT", "").replace("{pid}", str(os.getpid()))
_SEEN: dict[str, list[str]] = {"sessions": [], "clients": [], "operations": []}


def _patch_session(module: ModuleType) -> None:
    cls: Any = module.Session
    init: Callable[..., None] = cls.__init__
    create: Callable[..., Any] = cls.create_client

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        _SEEN["sessions"].append("botocore.session.Session")
        init(self, *args, **kwargs)

    def create_client(self: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
        _SEEN["clients"].append(service_name)
        return create(self, service_name, *args, **kwargs)

    cls.__init__ = __init__
    cls.create_client = create_client


def _patch_client(module: ModuleType) -> None:
    cls: Any = module.BaseClient
    call: Callable[..., Any] = cls._make_api_call

    def _make_api_call(self: Any, operation_name: str, api_params: Any) -> Any:
        _SEEN["operations"].append(operation_name)
        return call(self, operation_name, api_params)

    cls._make_api_call = _make_api_call


_PATCHES: dict[str, Callable[[ModuleType], None]] = {
    "botocore.session": _patch_session,
    "botocore.client": _patch_client,
}


class _Loader:
    """Wraps a module's loader to patch the module once it has run."""

    def __init__(self, inner: Any, patch: Callable[[ModuleType], None]) -> None:
        self.inner = inner
        self.patch = patch

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self.inner.create_module(spec)  # type: ignore[no-any-return]

    def exec_module(self, module: ModuleType) -> None:
        self.inner.exec_module(module)
        self.patch(module)


class _Finder:
    """A meta path finder that hands out patching loaders for the modules in :data:`_PATCHES`."""

    def find_spec(self, fullname: str, path: Any, target: ModuleType | None = None) -> ModuleSpec | None:
        """The normal spec, with its loader wrapped, for a module to patch; None otherwise."""
        patch = _PATCHES.get(fullname)
        if patch is None:
            return None
        spec = _PathFinder.find_spec(fullname, path, target)
        if spec is not None and spec.loader is not None:
            spec.loader = _Loader(spec.loader, patch)  # type: ignore[assignment]
        return spec


def _dump() -> None:
    modules = sorted(sys.modules)  # before json adds itself
    import json

    with open(str(_OUT), "w", encoding="utf-8") as handle:
        json.dump({"modules": modules, **_SEEN}, handle)


if _OUT:
    sys.meta_path.insert(0, _Finder())
    atexit.register(_dump)
