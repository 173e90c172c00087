"""``Record``: ``typing.NamedTuple``'s class syntax without importing :mod:`typing` at run time.

``typing`` (with the ``re``, ``enum`` and ``functools`` it pulls in) costs a cache hit more than a third of
what the tool itself does, so the value classes on that path are built from :func:`collections.namedtuple`.
Type checkers see ``typing.NamedTuple`` itself, so the classes are checked exactly as NamedTuples.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple as Record
else:
    from collections import namedtuple

    class _RecordMeta(type):
        """Turn ``class X(Record)`` with annotated fields into a subclass of a namedtuple."""

        def __new__(mcls, name: str, bases: tuple[type, ...], namespace: dict[str, object]) -> type:
            if not any(isinstance(base, _RecordMeta) for base in bases):
                return super().__new__(mcls, name, bases, namespace)
            fields = list(namespace.get("__annotations__", {}))
            defaults = [namespace.pop(field) for field in fields if field in namespace]
            base = namedtuple(name, fields, defaults=defaults, module=namespace.get("__module__"))
            namespace.setdefault("__slots__", ())
            return type.__new__(type, name, (base,), namespace)

    class Record(metaclass=_RecordMeta):
        """Base of the tool's value classes (see the module docstring)."""


__all__ = ["Record"]
