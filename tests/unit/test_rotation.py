"""The rotation state machine: where a run starts, what an interrupted run left, and the verification backoff."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import NamedTuple

import pytest

from mfa_process import rotation
from mfa_process.rotation import Journal

OLD, NEW = "AKIAOLDOLDOLDOLDOLD1", "AKIANEWNEWNEWNEWNEW1"
STARTED = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc).timestamp()


class Key(NamedTuple):
    key_id: str
    status: str = "Active"
    created: datetime | None = None


class Answer(NamedTuple):
    arn: str | None
    may_pass: bool = False
    problem: str = ""


def journal(phase: str, new_id: str | None = NEW) -> Journal:
    return Journal(profile="p", where="file", user="alice", old_id=OLD, phase=phase, started=STARTED, new_id=new_id)


@pytest.mark.parametrize(
    ("phase", "new_id", "current", "verify", "step"),
    [
        (None, None, OLD, True, "create"),
        ("started", None, OLD, True, "discard"),  # CreateAccessKey's answer may be lost
        ("created", NEW, OLD, True, "discard"),  # the new secret died with the run
        ("stored", NEW, OLD, True, "discard"),  # the atomic write did not happen
        ("stored", NEW, NEW, True, "verify"),
        ("created", NEW, NEW, True, "verify"),  # stopped between the write and its journal entry
        ("created", NEW, NEW, False, "retire"),
        ("stored", NEW, NEW, False, "retire"),  # --no-verify
        ("verified", NEW, NEW, True, "retire"),
        ("retired", NEW, NEW, True, "finish"),
        ("verified", NEW, OLD, True, "foreign"),  # someone put the old pair back by hand
        ("stored", NEW, "AKIASOMETHINGELSE123", True, "foreign"),
    ],
)
def test_where_a_run_starts(phase, new_id, current, verify, step) -> None:
    j = None if phase is None else journal(phase, new_id)
    assert rotation.next_step(j, current, verify=verify) == step


def test_an_interrupted_rotation_leaves_the_tool_a_known_pair_at_every_phase() -> None:
    # up to "stored" the old pair is in place; from then on the new one, and the old key is retired only later
    for phase in rotation.PHASES:
        in_place = OLD if rotation.PHASES.index(phase) < rotation.PHASES.index("stored") else NEW
        step = rotation.next_step(journal(phase), in_place, verify=True)
        assert step != "foreign", phase
        if in_place == NEW:
            assert step in {"verify", "retire", "finish"}


def test_journal_round_trip_and_garbage() -> None:
    j = journal("created")
    assert Journal.from_json(j.to_json()) == j
    assert Journal.from_json("{not json") is None
    assert Journal.from_json('{"phase": "nonsense"}') is None
    assert "secret" not in j.to_json().lower()


def test_orphans_known_id_or_by_creation_time() -> None:
    later = datetime.fromtimestamp(STARTED + 5, timezone.utc)
    earlier = datetime.fromtimestamp(STARTED - 3600, timezone.utc)
    keys = [Key(OLD, created=earlier), Key(NEW, created=later)]
    assert rotation.orphans(journal("created"), keys) == [NEW]
    assert rotation.orphans(journal("started", None), keys) == [NEW]
    assert rotation.orphans(journal("started", None), [Key(OLD), Key("AKIAUSERSOWNKEY12345", created=earlier)]) == []


def test_other_key_only_when_two() -> None:
    assert rotation.other_key([Key(OLD)], OLD) is None
    assert rotation.other_key([Key(OLD), Key(NEW, "Inactive")], OLD) == Key(NEW, "Inactive")


def test_pauses_double_up_to_thirty_seconds() -> None:
    assert rotation.pauses() == [1.0, 2.0, 4.0, 8.0, 8.0, 7.0]
    assert sum(rotation.pauses(5)) == 5


def test_verify_retries_while_it_may_pass_then_stops() -> None:
    answers = [Answer(None, True, "InvalidClientTokenId")] * 3 + [Answer("arn:aws:iam::1:user/alice")]
    slept: list[float] = []
    result, attempts = rotation.verify_with_backoff(lambda: answers.pop(0), slept.append)
    assert result.arn == "arn:aws:iam::1:user/alice" and attempts == 4 and slept == [1.0, 2.0, 4.0]


def test_verify_gives_up_after_the_limit_and_at_once_on_a_final_refusal() -> None:
    slept: list[float] = []
    result, attempts = rotation.verify_with_backoff(lambda: Answer(None, True, "InvalidClientTokenId"), slept.append)
    assert result.arn is None and sum(slept) == rotation.VERIFY_SECONDS and attempts == len(slept) + 1
    slept.clear()
    result, attempts = rotation.verify_with_backoff(lambda: Answer(None, False, "SignatureDoesNotMatch"), slept.append)
    assert attempts == 1 and slept == []


@pytest.mark.parametrize(
    ("arn", "user"),
    [
        ("arn:aws:iam::123456789012:user/alice", "alice"),
        ("arn:aws:iam::123456789012:user/dev/team/bob", "bob"),
        ("arn:aws:sts::123456789012:assumed-role/r/s", None),
        ("arn:aws:iam::123456789012:root", None),
        ("", None),
    ],
)
def test_user_from_arn(arn, user) -> None:
    assert rotation.user_from_arn(arn) == user
