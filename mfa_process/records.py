"""``Record``: ``typing.NamedTuple``'s class syntax without importing :mod:`typing` or :mod:`collections`.

``typing`` (with the ``re``, ``enum`` and ``functools`` it pulls in) and ``collections`` (``operator``,
``keyword``, ``reprlib``, ``itertools``) cost a cache hit more than the tool's own work, so the value classes
on that path are tuple subclasses built here: positional and keyword construction with defaults, named
read-only fields, ``_fields``, ``_field_defaults``, ``_replace``, ``_asdict``, a ``repr`` like a namedtuple's,
equality and hashing of the tuple. Type checkers see ``typing.NamedTuple`` itself, so the classes are checked
exactly as NamedTuples; ``tests/unit/test_records.py`` holds the run-time classes to the same behaviour.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple as Record
else:

    def _field(index: int, name: str) -> property:
        def get(self: tuple[object, ...]) -> object:
            return self[index]

        return property(get, doc=f"Field {index}: {name}")

    def _new(fields: tuple[str, ...], defaults: dict[str, object], name: str) -> object:
        count = len(fields)

        def __new__(cls: type, *args: object, **kwargs: object) -> tuple[object, ...]:
            if len(args) > count:
                raise TypeError(f"{name}() takes {count} positional arguments but {len(args)} were given")
            values = list(args)
            for field in fields[len(args) :]:
                if field in kwargs:
                    values.append(kwargs.pop(field))
                elif field in defaults:
                    values.append(defaults[field])
                else:
                    raise TypeError(f"{name}() missing required argument: {field!r}")
            if kwargs:
                extra = next(iter(kwargs))
                if extra in fields:
                    raise TypeError(f"{name}() got multiple values for argument {extra!r}")
                raise TypeError(f"{name}() got an unexpected keyword argument {extra!r}")
            return tuple.__new__(cls, values)

        return staticmethod(__new__)

    class _RecordBase(tuple):
        __slots__ = ()
        _fields: tuple[str, ...] = ()
        _field_defaults: dict[str, object] = {}  # noqa: RUF012 - read-only by convention, as in namedtuple

        def _replace(self, **changes: object) -> _RecordBase:
            return type(self)(**{**self._asdict(), **changes})

        def _asdict(self) -> dict[str, object]:
            return dict(zip(self._fields, self))

        def __repr__(self) -> str:
            inner = ", ".join(f"{name}={value!r}" for name, value in zip(self._fields, self))
            return f"{type(self).__name__}({inner})"

        def __getnewargs__(self) -> tuple[object, ...]:
            return tuple(self)

    class _RecordMeta(type):
        """Turn ``class X(Record)`` with annotated fields into a tuple subclass with those fields."""

        def __new__(mcls, name: str, bases: tuple[type, ...], namespace: dict[str, object]) -> type:
            if not any(isinstance(base, _RecordMeta) for base in bases):
                return super().__new__(mcls, name, bases, namespace)
            fields = tuple(namespace.get("__annotations__", {}))
            defaults = {field: namespace.pop(field) for field in fields if field in namespace}
            seen_default = False
            for field in fields:
                if field in defaults:
                    seen_default = True
                elif seen_default:
                    raise TypeError(f"{name}: field {field!r} without a default follows one with a default")
            namespace.update({field: _field(i, field) for i, field in enumerate(fields)})
            namespace.update(
                __new__=_new(fields, defaults, name),
                __slots__=(),
                _fields=fields,
                _field_defaults=defaults,
                __match_args__=fields,
            )
            return type.__new__(type, name, (_RecordBase,), namespace)

    class Record(metaclass=_RecordMeta):
        """Base of the tool's value classes (see the module docstring)."""


__all__ = ["Record"]
