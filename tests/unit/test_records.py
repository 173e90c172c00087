"""The run-time ``Record`` behaves like the ``typing.NamedTuple`` that type checkers see."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

from mfa_process.records import Record

ROOT = Path(__file__).resolve().parents[2]


class Point(Record):
    x: int
    y: int = 0
    label: str | None = None

    def norm1(self) -> int:
        return abs(self.x) + abs(self.y)


class Reference(NamedTuple):
    x: int
    y: int = 0
    label: str | None = None


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((1,), {}), ((1, 2), {}), ((1, 2, "a"), {}), ((), {"x": 3}), ((1,), {"label": "b"}), ((), {"y": 2, "x": 1})],
)
def test_construction_matches_namedtuple(args: tuple[object, ...], kwargs: dict[str, object]) -> None:
    ours, theirs = Point(*args, **kwargs), Reference(*args, **kwargs)
    assert tuple(ours) == tuple(theirs)
    assert (ours.x, ours.y, ours.label) == (theirs.x, theirs.y, theirs.label)
    assert repr(ours) == repr(theirs).replace("Reference", "Point")
    assert ours._asdict() == theirs._asdict()
    assert ours._replace(y=9) == theirs._replace(y=9)
    assert hash(ours) == hash(theirs)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((), {}), ((1, 2, 3, 4), {}), ((1,), {"x": 2}), ((1,), {"z": 2}), ((), {"y": 1})],
)
def test_bad_construction_is_refused_like_namedtuple(args: tuple[object, ...], kwargs: dict[str, object]) -> None:
    with pytest.raises(TypeError):
        Reference(*args, **kwargs)
    with pytest.raises(TypeError):
        Point(*args, **kwargs)


def test_fields_methods_and_immutability() -> None:
    p = Point(1, -2)
    assert Point._fields == Reference._fields == ("x", "y", "label")
    assert Point._field_defaults == Reference._field_defaults
    assert p.norm1() == 3
    assert isinstance(p, tuple)
    x, y, label = p
    assert (x, y, label) == (1, -2, None)
    with pytest.raises(AttributeError):
        p.x = 5  # type: ignore[misc]
    with pytest.raises(AttributeError):
        p.other = 5  # type: ignore[attr-defined]
    assert pickle.loads(pickle.dumps(p)) == p  # noqa: S301 - our own bytes
    assert type(p._replace(x=0)) is Point


def test_a_default_before_a_required_field_is_refused() -> None:
    with pytest.raises(TypeError):

        class Bad(Record):
            a: int = 1
            b: int


def test_importing_records_loads_neither_typing_nor_collections() -> None:
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "from mfa_process.records import Record\n"
        "class A(Record):\n"
        "    a: int\n"
        "    b: str = 'x'\n"
        "assert A(1).b == 'x'\n"
        "print(*sorted(set(sys.modules) - before))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert set(out.stdout.split()) - {"__future__"} == {"mfa_process", "mfa_process.records"}
