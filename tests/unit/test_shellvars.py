"""``env`` output forms; PowerShell's quoting checked against the language grammar (tests/support/powershell.py)."""

from __future__ import annotations

import pytest

from mfa_process.shellvars import render
from tests.support.powershell import parse_verbatim

VALUES = [
    "plain",
    "it's",
    "it\u2019s",
    "\u2018quoted\u2019",
    "low\u201aand\u201bhigh",
    "'",
    "\u2019",
    "''\u2019\u2019",
    "\u2019; Remove-Item -Recurse ~; \u2019",
    '$(whoami) `n " $Env:HOME',
    "",
]


@pytest.mark.parametrize("value", VALUES)
def test_powershell_values_stay_inside_their_string(value):
    line = render({"AWS_SESSION_TOKEN": value}, "powershell")
    prefix = "$Env:AWS_SESSION_TOKEN = "
    assert line.startswith(prefix)
    parsed, rest = parse_verbatim(line[len(prefix) :])
    assert parsed == value
    assert rest == ""


def test_powershell_one_line_per_variable():
    text = render({"A": "x\u2019", "B": "y"}, "powershell")
    lines = text.split("\n")
    assert [parse_verbatim(line.split(" = ", 1)[1]) for line in lines] == [("x\u2019", ""), ("y", "")]
