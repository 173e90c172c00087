"""doctor's pure parts: findings, verdicts on made-up observations, and the shadowing rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from mfa_process.doctor import exit_code, fail, ok, warn
from mfa_process.doctor.online import skew_finding
from mfa_process.doctor.profiles import parse_helper, serial_finding
from mfa_process.doctor.registry import CHECKS, run_checks
from mfa_process.errors import ConfigError
from mfa_process.shadow import find_shadows, shadowing_keys

CONFIG, CREDENTIALS = Path("/h/.aws/config"), Path("/h/.aws/credentials")


def test_a_line_shows_the_fix_only_when_something_is_wrong() -> None:
    assert ok("region", "us-east-1", "profile x").line() == "ok    region (profile x): us-east-1"
    assert warn("aws cli", "none", "install it").line() == "warn  aws cli: none; fix: install it"
    assert exit_code([ok("a", "b"), warn("c", "d", "e")]) == 0
    assert exit_code([ok("a", "b"), fail("c", "d", "e")]) == 1


def test_a_check_that_raises_becomes_one_fail_line_and_the_others_still_run() -> None:
    def check_broken(probe: object) -> list:
        raise ConfigError("cannot read it")

    def check_fine(probe: object) -> list:
        return [ok("fine", "yes")]

    findings = run_checks(object(), (check_broken, check_fine))  # type: ignore[arg-type]
    assert [f.line() for f in findings] == [
        "fail  broken: cannot read it; fix: fix what the message names, then run mfa-process doctor again",
        "ok    fine: yes",
    ]
    assert len(CHECKS) == len(set(CHECKS))


@pytest.mark.parametrize(
    ("local", "status", "text"),
    [(1000, "ok", "within 1 s of U"), (1031, "warn", "31 s ahead of U"), (699, "fail", "301 s behind U")],
)
def test_clock_skew_thresholds(local: float, status: str, text: str) -> None:
    finding = skew_finding("U", local, 1000)
    assert finding.status == status and text in finding.saw


@pytest.mark.parametrize(
    ("serial", "status"),
    [
        ("arn:aws:iam::123456789012:mfa/alice", "ok"),
        ("arn:aws-us-gov:iam::123456789012:mfa/path/alice", "ok"),
        ("GAHT12345678", "ok"),
        ("arn:aws:iam::1234:mfa/alice", "fail"),
        ("alice", "fail"),
    ],
)
def test_mfa_serial_verdicts(serial: str, status: str) -> None:
    assert serial_finding(serial, "x").status == status


def test_the_helper_line_is_split_like_a_shell_does() -> None:
    helper = parse_helper("w", "'/opt/my tools/python' -m mfa_process --profile 'my profile' --region eu-west-1")
    assert helper.source() == "my profile"
    assert helper.argv[0] == "/opt/my tools/python"
    assert parse_helper("w", "mfa-process --profile=me").source() == "me"
    assert parse_helper("w", "mfa-process --profile 'open").argv == ()


def test_shadowing_keys_are_what_botocore_and_the_sdks_take_first() -> None:
    values = {"region": "x", "aws_access_key_id": "A", "sso_session": "s", "credential_process": "p"}
    assert shadowing_keys(values) == ("aws_access_key_id", "sso_session")


def test_shadows_are_found_under_every_spelling_of_the_profile() -> None:
    config = {
        "profile 'my profile'": {"role_arn": "r", "source_profile": "s"},
        "my profile": {"sso_start_url": "u"},
        "profile other": {"aws_access_key_id": "A"},
        "default": {"aws_access_key_id": "A"},
    }
    credentials = {"my profile": {"aws_session_token": "T", "region": "x"}}
    found = find_shadows("my profile", config=(CONFIG, config), credentials=(CREDENTIALS, credentials))
    assert [(s.path, s.section, s.keys) for s in found] == [
        (CONFIG, "profile 'my profile'", ("role_arn", "source_profile")),
        (CONFIG, "my profile", ("sso_start_url",)),
        (CREDENTIALS, "my profile", ("aws_session_token",)),
    ]
    assert find_shadows("third", config=(CONFIG, config), credentials=(CREDENTIALS, credentials)) == []


class RotationProbe:
    """A probe with journals in its state directory (only what check_rotations reads)."""

    def __init__(self, files: dict[str, str], profile: str | None = None) -> None:
        self.state_dir = Path("/state")
        self.files = files
        self.profile = profile

    def listdir(self, path: Path) -> list[str]:
        return sorted(self.files) if path == Path("/state/rotations") else []

    def read_text(self, path: Path) -> str | None:
        return self.files.get(path.name)


def test_an_interrupted_rotation_is_a_warning_that_says_how_to_finish() -> None:
    from mfa_process.doctor.local import check_rotations
    from mfa_process.rotation import Journal

    journal = Journal(
        profile="dev", where="file", user="alice", old_id="AKIAOLD", phase="stored", started=0, new_id="AKIANEW"
    )
    probe = RotationProbe({"dev.json": journal.to_json(), "bad.json": "{"})
    lines = [f.line() for f in check_rotations(probe)]  # type: ignore[arg-type]
    assert lines == [
        "warn  rotation: /state/rotations/bad.json is not a rotation journal mfa-process can read; "
        "fix: rm /state/rotations/bad.json",
        "warn  rotation (profile dev): a key rotation stopped (stored) while replacing AKIAOLD with AKIANEW in "
        "~/.aws/credentials; fix: mfa-process rotate-keys --profile dev "
        "(finishes it; the key in place works meanwhile)",
    ]
    assert check_rotations(RotationProbe({"dev.json": journal.to_json()}, profile="other")) == []  # type: ignore[arg-type]
    assert check_rotations(RotationProbe({})) == []  # type: ignore[arg-type]


class CacheProbe:
    """A probe that answers only what the cache check asks."""

    def __init__(self, found: dict[str, str] | Exception) -> None:
        self.found = found

    def cache_description(self) -> dict[str, str]:
        if isinstance(self.found, Exception):
            raise self.found
        return self.found


@pytest.mark.parametrize(
    ("found", "status", "words"),
    [
        (
            {"cache": "kernel", "backend": "kernel keyring (@u)", "reason": "no D-Bus session bus"},
            "ok",
            ["kernel (kernel keyring (@u)): no D-Bus session bus", "lost on reboot"],
        ),
        (
            {
                "cache": "secret-service",
                "backend": "keyring.backends.SecretService.Keyring",
                "reason": "answers",
                "fast_path": "active",
            },
            "ok",
            ["secret-service", "fast path active"],
        ),
        (
            {
                "cache": "keyring",
                "backend": "keyrings.alt.file.PlaintextKeyring",
                "reason": "PYTHON_KEYRING_BACKEND is set",
                "fast_path": "off: keyring's backend is keyrings.alt.file.PlaintextKeyring",
            },
            "warn",
            ["PYTHON_KEYRING_BACKEND is set", "fast path is off", "each hit imports keyring"],
        ),
    ],
)
def test_the_cache_line_names_the_backend_why_and_the_fast_path(found, status, words) -> None:
    from mfa_process.doctor.local import check_cache

    [finding] = check_cache(CacheProbe(found))  # type: ignore[arg-type]
    assert finding.status == status
    assert all(w in finding.line() for w in words), finding.line()


def test_no_usable_cache_is_a_failing_line() -> None:
    from mfa_process.doctor.local import check_cache
    from mfa_process.errors import KeyringUnavailable

    [finding] = check_cache(CacheProbe(KeyringUnavailable("no usable keyring backend; ...")))  # type: ignore[arg-type]
    assert finding.status == "fail" and "no usable keyring backend" in finding.saw
