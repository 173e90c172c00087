"""A failed prompt is remembered for a few seconds, so a client's retries fail at once (clock injected)."""

from __future__ import annotations

import pytest

from mfa_process import refresh, refusals
from mfa_process.config import Settings
from mfa_process.errors import BackgroundJobError, MfaCodeRejected, NoTerminalError, PromptCancelled
from tests.unit.test_refresh import SERIAL, Harness, settings


class CancellingHarness(Harness):
    """Each ask cancels, as Ctrl-D at the prompt does."""

    def ask(self, message: str) -> str:
        self.asked.append(message)
        raise PromptCancelled("MFA code prompt cancelled (end of input)")


def test_retries_after_a_cancel_fail_at_once_with_the_same_line(tmp_path):
    h = CancellingHarness(tmp_path, settings())
    with pytest.raises(PromptCancelled) as first:
        refresh.credentials(h.ctx)
    assert not first.value.repeated
    for _ in range(3):  # a client running the helper again
        h.advance(seconds=3)
        with pytest.raises(PromptCancelled) as retry:
            refresh.credentials(h.ctx)
        assert str(retry.value) == str(first.value)
        assert retry.value.repeated  # the terminal was told the first time
    assert len(h.asked) == 1
    assert h.sts.session_calls == []


@pytest.mark.parametrize(
    "later", [{"seconds": refusals.REMEMBER_SECONDS + 1}, {"hours": -1}], ids=["window-over", "clock-went-back"]
)
def test_the_memory_lasts_its_window_only(tmp_path, later):
    h = CancellingHarness(tmp_path, settings())
    with pytest.raises(PromptCancelled):
        refresh.credentials(h.ctx)
    h.advance(**later)
    with pytest.raises(PromptCancelled):
        refresh.credentials(h.ctx)
    assert len(h.asked) == 2


def test_login_asks_again_and_clears_the_memory(tmp_path):
    h = CancellingHarness(tmp_path, settings())
    with pytest.raises(PromptCancelled):
        refresh.credentials(h.ctx)
    h.ctx.ask = Harness.ask.__get__(h)  # the user answers this time
    refresh.session_credentials(h.ctx, force=True)
    assert len(h.asked) == 2
    assert refusals.recall(tmp_path, refusals.device_key("me", h.ctx.settings.mfa_serial), 0) is None


def test_three_rejected_codes_are_remembered(tmp_path):
    h = Harness(tmp_path, settings())
    h.sts.reject = {"111111", "222222", "333333"}
    with pytest.raises(MfaCodeRejected) as first:
        refresh.credentials(h.ctx)
    with pytest.raises(MfaCodeRejected) as retry:
        refresh.credentials(h.ctx)
    assert str(retry.value) == str(first.value) and retry.value.repeated
    assert len(h.sts.session_calls) == 3


def test_no_terminal_is_remembered_per_profile_and_device(tmp_path):
    h = Harness(tmp_path, settings())

    def no_terminal(message: str) -> str:
        h.asked.append(message)
        raise NoTerminalError("no terminal to ask for the MFA code of profile 'me'")

    h.ctx.ask = no_terminal
    with pytest.raises(NoTerminalError):
        refresh.credentials(h.ctx)
    with pytest.raises(NoTerminalError):
        refresh.credentials(h.ctx)
    assert len(h.asked) == 1
    other = Harness(tmp_path, Settings(profile="other", mfa_serial=SERIAL))
    refresh.credentials(other.ctx)  # another profile is not affected
    assert len(other.asked) == 1


def test_a_background_job_refusal_is_not_remembered(tmp_path):
    """Its advice is to run the command in the foreground: that run must be asked, not refused again."""
    h = Harness(tmp_path, settings())
    answers = iter([BackgroundJobError("cannot ask from a background job"), None])

    def ask(message: str) -> str:
        h.asked.append(message)
        failure = next(answers)
        if failure is not None:
            raise failure
        return h.codes.pop(0)

    h.ctx.ask = ask
    with pytest.raises(BackgroundJobError):
        refresh.credentials(h.ctx)
    h.advance(seconds=2)  # the user runs it again at once, in the foreground
    assert refresh.credentials(h.ctx) is not None
    assert len(h.asked) == 2


def test_memory_file_holds_no_code_and_is_private(tmp_path):
    h = Harness(tmp_path, settings())
    h.sts.reject = {"111111", "222222", "333333"}
    with pytest.raises(MfaCodeRejected):
        refresh.credentials(h.ctx)
    path = tmp_path / refusals.FILE_NAME
    assert path.stat().st_mode & 0o777 == 0o600
    text = path.read_text()
    assert "111111" not in text and "333333" not in text and "me" not in text.split('"message"')[0]


def test_corrupt_memory_is_ignored(tmp_path):
    (tmp_path / refusals.FILE_NAME).write_text("{not json")
    h = Harness(tmp_path, settings())
    refresh.credentials(h.ctx)
    assert len(h.asked) == 1
