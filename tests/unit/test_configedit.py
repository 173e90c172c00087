"""Tests of :mod:`mfa_process.configedit`: golden files, line endings, refusals, atomic writes."""

from __future__ import annotations

import configparser
import difflib
import io
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.configloader import load_config, raw_config_parse
from botocore.exceptions import ConfigParseError

from mfa_process import configedit
from mfa_process.configedit import (
    CREDENTIAL_KEYS,
    get_section,
    parse_check,
    profile_section,
    read_text,
    remove_keys,
    set_section,
    unified_diff,
    update_keys,
    write_atomic,
)
from mfa_process.errors import ConfigError, UsageError

DATA = Path(__file__).parent / "data" / "configedit"
POSIX_MODES = pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")

Edit = Callable[[str], str]

#: (input file, edit, expected file, section the edit may touch)
GOLDEN: list[tuple[str, Edit, str, str]] = [
    (
        "config.ini",
        lambda text: set_section(
            text,
            "profile work",
            {
                "region": "eu-central-1",
                "output": "json",
                "credential_process": "mfa-process credentials --profile work",
            },
        ),
        "config_set_work.expected",
        "profile work",
    ),
    (
        "config.ini",
        lambda text: set_section(
            text,
            "profile mfa-work",
            {"source_profile": "work", "credential_process": "mfa-process credentials --profile mfa-work"},
        ),
        "config_add_profile.expected",
        "profile mfa-work",
    ),
    (
        "config.ini",
        lambda text: update_keys(
            text, "default", {"region": "eu-west-1", "cli_pager": "less", "retry_mode": "standard"}
        ),
        "config_update_default.expected",
        "default",
    ),
    (
        "credentials.ini",
        lambda text: remove_keys(text, "work", CREDENTIAL_KEYS),
        "credentials_remove_work.expected",
        "work",
    ),
]
GOLDEN_IDS = [expected.removesuffix(".expected") for _, _, expected, _ in GOLDEN]


def load(name: str, eol: str = "\n") -> str:
    """A data file as text, with its LF line endings turned into ``eol`` (as bytes, not via text mode)."""
    data = (DATA / name).read_bytes()
    assert b"\r" not in data
    return data.replace(b"\n", eol.encode()).decode("utf-8")


def configparser_view(text: str) -> dict[str, dict[str, str]]:
    parser = configparser.RawConfigParser()
    parser.read_file(io.StringIO(text, newline=None))
    return {name: dict(parser[name]) for name in parser.sections()}


def section_span(text: str, section: str) -> range:
    """Indices of the lines from ``[section]`` to the line before the next header."""
    lines = text.splitlines()
    start = lines.index(f"[{section}]")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("[")), len(lines))
    return range(start, end)


# --- golden files ------------------------------------------------------------------------------


@pytest.mark.parametrize("eol", ["\n", "\r\n"], ids=["lf", "crlf"])
@pytest.mark.parametrize(("source", "edit", "expected", "section"), GOLDEN, ids=GOLDEN_IDS)
def test_golden(source: str, edit: Edit, expected: str, section: str, eol: str) -> None:
    result = edit(load(source, eol))
    assert result.encode() == load(expected, eol).encode()


@pytest.mark.parametrize(("source", "edit", "expected", "section"), GOLDEN, ids=GOLDEN_IDS)
def test_only_the_edited_section_changes(source: str, edit: Edit, expected: str, section: str) -> None:
    before = load(source)
    after = edit(before)
    old_lines, new_lines = before.splitlines(keepends=True), after.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    changed = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    assert changed
    if f"[{section}]" in before.splitlines():
        span = section_span(before, section)
        for _, i1, i2, _, _ in changed:
            assert span.start < i1 <= i2 <= span.stop
    else:  # a new section: everything before it stays
        assert after.startswith(before)
    # configparser sees exactly the intended change and nothing else
    old_view, new_view = configparser_view(before), configparser_view(after)
    assert {name: values for name, values in new_view.items() if name != section} == {
        name: values for name, values in old_view.items() if name != section
    }


def test_golden_edit_results_in_what_was_asked() -> None:
    config = load("config.ini")
    assert get_section(set_section(config, "profile work", {"output": "json"}), "profile work") == {"output": "json"}
    updated = update_keys(config, "default", {"region": "eu-west-1"})
    assert get_section(updated, "default") == {**configparser_view(config)["default"], "region": "eu-west-1"}
    creds = remove_keys(load("credentials.ini"), "work", CREDENTIAL_KEYS)
    assert get_section(creds, "work") == {"region": "eu-central-1"}


def test_unchanged_values_leave_the_text_identical() -> None:
    config = load("config.ini", "\r\n")
    same = {"region": "eu-central-1", "mfa_serial": "arn:aws:iam::111122223333:mfa/alice", "output": "text"}
    assert set_section(config, "profile work", same) == config
    assert update_keys(config, "default", {"REGION": "us-east-1"}) == config
    assert remove_keys(config, "profile work", ["no_such_key"]) == config
    assert remove_keys(config, "profile nowhere", CREDENTIAL_KEYS) == config


# --- editing details -----------------------------------------------------------------------------


def test_keys_match_case_insensitively_and_keep_their_spelling() -> None:
    text = "[default]\nRegion = us-east-1\n"
    assert update_keys(text, "default", {"region": "eu-west-1"}) == "[default]\nRegion = eu-west-1\n"


def test_nested_value_replaced_by_a_plain_one_and_removed() -> None:
    text = "[default]\ns3 =\n    max_concurrent_requests = 10\n\n    max_queue_size = 1000\nregion = a\n"
    assert update_keys(text, "default", {"s3": "x"}) == "[default]\ns3 = x\nregion = a\n"
    assert remove_keys(text, "default", ["s3"]) == "[default]\nregion = a\n"


def test_new_keys_go_after_the_last_key_not_after_trailing_comments() -> None:
    text = "[a]\nx = 1\n# about [b]\n\n[b]\ny = 2\n"
    assert update_keys(text, "a", {"z": "3"}) == "[a]\nx = 1\nz = 3\n# about [b]\n\n[b]\ny = 2\n"


def test_new_keys_in_an_empty_section_go_after_its_header() -> None:
    assert update_keys("[a]\n\n[b]\n", "a", {"k": "v"}) == "[a]\nk = v\n\n[b]\n"


def test_empty_value_is_written_without_trailing_space() -> None:
    assert update_keys("[a]\nk = v\n", "a", {"k": ""}) == "[a]\nk =\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "[profile x]\nk = v\n"),
        ("[a]\nb = 1", "[a]\nb = 1\n\n[profile x]\nk = v\n"),
        ("[a]\nb = 1\n\n", "[a]\nb = 1\n\n[profile x]\nk = v\n"),
        ("[a]\r\nb = 1", "[a]\r\nb = 1\r\n\r\n[profile x]\r\nk = v\r\n"),
    ],
    ids=["empty", "no-final-newline", "ends-blank", "crlf-no-final-newline"],
)
def test_new_section_at_the_end(text: str, expected: str) -> None:
    assert set_section(text, "profile x", {"k": "v"}) == expected


def test_last_line_without_newline_gets_one_before_an_added_key() -> None:
    assert update_keys("[a]\nb = 1", "a", {"c": "2"}) == "[a]\nb = 1\nc = 2\n"
    assert update_keys("[a]\nb = 1", "a", {"b": "2"}) == "[a]\nb = 2"
    assert update_keys("[a]\nb = 1", "a", {"b": "3", "c": "2"}) == "[a]\nb = 3\nc = 2\n"


def test_old_mac_line_endings_are_kept() -> None:
    assert update_keys("[a]\rb = 1\r", "a", {"c": "2"}) == "[a]\rb = 1\rc = 2\r"


def test_mixed_line_endings_use_the_most_common_for_new_lines() -> None:
    text = "# lf\n[a]\r\nb = 1\r\n"
    assert update_keys(text, "a", {"c": "2"}) == "# lf\n[a]\r\nb = 1\r\nc = 2\r\n"


def test_other_spelling_of_the_same_profile_is_edited_in_place() -> None:
    text = '[profile  "work"]\nregion = a\n'
    assert get_section(text, "profile work") == {"region": "a"}
    assert update_keys(text, "profile work", {"region": "b"}) == '[profile  "work"]\nregion = b\n'


def test_profile_default_is_the_default_profile() -> None:
    # botocore reads both [default] and [profile default] as the profile "default"
    assert get_section("[profile default]\nregion = a\n", "default") == {"region": "a"}
    with pytest.raises(ConfigError, match="both define"):
        get_section("[default]\n[profile default]\n", "default")


def test_two_sections_for_one_profile_are_refused() -> None:
    text = "[profile work]\na = 1\n\n[profile  work]\nb = 2\n"
    with pytest.raises(ConfigError, match=r"\[profile work\] \(line 1\) and \[profile  work\] \(line 4\)"):
        set_section(text, "profile work", {"c": "3"})


def test_an_edit_that_would_change_other_sections_is_refused() -> None:
    # "  [b]" is a header after an empty section, but would continue a key inserted above it.
    text = "[a]\n  [b]\nx = 1\n"
    assert configparser_view(text) == {"a": {}, "b": {"x": "1"}}
    with pytest.raises(ConfigError, match="cannot be edited safely"):
        update_keys(text, "a", {"k": "v"})


def test_indented_keys_keep_their_indentation() -> None:
    text = "[a]\n  x = 1\n[b]\n"
    assert update_keys(text, "a", {"y": "2"}) == "[a]\n  x = 1\n  y = 2\n[b]\n"


def test_get_section() -> None:
    config = load("config.ini")
    assert get_section(config, "profile nowhere") is None
    assert get_section(config, "services local-s3") == {"s3": "\nendpoint_url = http://localhost:4566"}
    assert get_section(config, "sso-session corp") == configparser_view(config)["sso-session corp"]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("k", "two\nlines"),
        ("k", "carriage\rreturn"),
        ("k", " leading space"),
        ("k", "trailing space "),
        ("", "v"),
        (" k", "v"),
        ("a=b", "v"),
        ("a:b", "v"),
        ("#k", "v"),
        (";k", "v"),
        ("[k", "v]"),
    ],
)
def test_unwritable_keys_and_values_are_refused(key: str, value: str) -> None:
    with pytest.raises(UsageError, match="cannot write key"):
        update_keys("[a]\n", "a", {key: value})


def test_a_refused_value_is_not_shown() -> None:
    with pytest.raises(UsageError) as caught:
        update_keys("[a]\n", "a", {"aws_secret_access_key": "wJalrXUtnFEMI\n[evil]"})
    assert "wJalr" not in str(caught.value)


def test_the_same_key_twice_is_refused() -> None:
    with pytest.raises(UsageError, match="given twice"):
        set_section("", "a", {"k": "1", "K": "2"})


@pytest.mark.parametrize("section", ["", "DEFAULT", "a\nb", "tab\there"])
def test_unusable_section_names_are_refused(section: str) -> None:
    with pytest.raises(UsageError):
        set_section("", section, {})


# --- profile_section --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "credentials_file", "section"),
    [
        ("work", False, "profile work"),
        ("default", False, "default"),
        ("my profile", False, "profile 'my profile'"),
        ("work", True, "work"),
        ("default", True, "default"),
        ("my profile", True, "my profile"),
    ],
)
def test_profile_section(name: str, credentials_file: bool, section: str) -> None:
    assert profile_section(name, credentials_file=credentials_file) == section


@pytest.mark.parametrize("name", ["work", "default", "my profile", "it's", "x;y", "#x"])
def test_profile_section_is_read_back_by_botocore(tmp_path: Path, name: str) -> None:
    config, credentials = tmp_path / "config", tmp_path / "credentials"
    config.write_text(set_section("", profile_section(name, credentials_file=False), {"region": "x"}))
    credentials.write_text(set_section("", profile_section(name, credentials_file=True), {"region": "y"}))
    assert load_config(str(config))["profiles"][name] == {"region": "x"}
    assert raw_config_parse(str(credentials))[name] == {"region": "y"}


@pytest.mark.parametrize("name", ["", " work", "work ", "a\nb", "DEFAULT"])
def test_profile_section_refuses_unusable_names(name: str) -> None:
    with pytest.raises(UsageError):
        profile_section(name, credentials_file=name == "DEFAULT")


def test_bracket_in_a_name_follows_the_interpreters_configparser(tmp_path: Path) -> None:
    # Python 3.9's configparser ends a section name at the first "]"; later versions at the last one.
    if configparser.RawConfigParser.SECTCRE.match("[a]b]")["header"] != "a]b":  # type: ignore[index]
        with pytest.raises(UsageError):
            profile_section("a]b", credentials_file=True)
        return
    (tmp_path / "credentials").write_text(set_section("", profile_section("a]b", credentials_file=True), {"k": "v"}))
    assert raw_config_parse(str(tmp_path / "credentials"))["a]b"] == {"k": "v"}


# --- refusing unparsable files --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lineno", "reason"),
    [
        ("[default]\nregion = a\nwJalrXUtnFEMI/K7MDENG\n", 3, "not a [section] header, key = value line"),
        ("# c\nregion = a\n", 2, "a line before the first [section] header"),
        ("[default]\na = 1\n[profile x\n", 3, "a section header without ']'"),
        ("[profile x\n", 1, "a section header without ']'"),
        ("[a]\nx = 1\n\n[b]\n[a]\n", 5, "section [a] appears again (first at line 1)"),
        ("[a]\nRegion = 1\nregion = 2\n", 3, "key 'region' appears again in [a] (first at line 2)"),
        ("[a]\n= value\n", 2, "a value without a key"),
        ("[a]\ns3 =\n    max_concurrent_requests = 10\n    oops\n", 4, "a line of the nested value of 's3' has no '='"),
        ("[a]\r\nb = 1\r\nc\r\n", 3, "not a [section] header"),
    ],
    ids=[
        "bare-line",
        "no-section",
        "unclosed-header",
        "unclosed-first",
        "dup-section",
        "dup-key",
        "no-key",
        "nested",
        "crlf",
    ],
)
def test_unparsable_files_are_refused_with_the_line_number(tmp_path: Path, text: str, lineno: int, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_check(text, "~/.aws/config")
    message = str(caught.value)
    assert message.startswith(f"~/.aws/config line {lineno}: {reason}")
    assert message.endswith("fix the file by hand; mfa-process will not rewrite it")
    assert "wJalr" not in message  # a line's content is never shown: it may be a secret
    # botocore agrees that the file is broken
    (tmp_path / "config").write_bytes(text.encode())
    with pytest.raises(ConfigParseError):
        raw_config_parse(str(tmp_path / "config"))
    # and no edit goes through
    for edit in (
        lambda: set_section(text, "a", {"k": "v"}),
        lambda: update_keys(text, "a", {"k": "v"}),
        lambda: remove_keys(text, "a", ["k"]),
        lambda: get_section(text, "a"),
    ):
        with pytest.raises(ConfigError, match=f"line {lineno}: "):
            edit()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n\n# only comments\n",
        "[a]\nk: v\n",
        "[a]\nk = v\n  continued\n",
        "[a]\n  k = v\n  j = w\n",
        "[a] trailing text\nk = v\n",
        "[a]\nk = v # not a comment\n",
        "[DEFAULT]\nk = v\n[DEFAULT]\nj = w\n",
        "[a]\ns3 =\n    x = 1\n# comment inside\n\n    y = 2\n",
    ],
)
def test_files_botocore_accepts_pass(tmp_path: Path, text: str) -> None:
    parse_check(text, "~/.aws/config")
    (tmp_path / "config").write_bytes(text.encode())
    raw_config_parse(str(tmp_path / "config"))


def test_golden_inputs_pass() -> None:
    for name in ("config.ini", "credentials.ini"):
        parse_check(load(name, "\r\n"), name)


def test_mirror_disagreement_is_still_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(configedit, "_parse", lambda text: configedit._Doc([], []))
    with pytest.raises(ConfigError, match="line 2: configparser refuses it"):
        parse_check("[a]\nbroken\n", "f")


# --- diff -------------------------------------------------------------------------------------------


def test_unified_diff() -> None:
    old = load("credentials.ini", "\r\n")
    new = update_keys(old, "work", {"aws_secret_access_key": "NEWSECRET", "region": "us-east-1"})
    diff = unified_diff(old, new, "~/.aws/credentials")
    assert diff.startswith("--- ~/.aws/credentials\n+++ ~/.aws/credentials (new)\n@@ ")
    assert "-aws_secret_access_key   =   <redacted>\n" in diff
    assert "+aws_secret_access_key   =   <redacted>\n" in diff
    assert "+region\t=\tus-east-1\n" in diff
    assert "\r" not in diff
    for secret in ("NEWSECRET", "je7MtGbClwBF", "wJalrXUtnFEMI"):
        assert secret not in diff
    assert unified_diff(old, old, "x") == ""


def test_unified_diff_shows_a_missing_final_newline() -> None:
    diff = unified_diff("[a]\nb = 1", "[a]\nb = 1\nc = 2\n", "f")
    assert "-\\ No newline at end of file\n+c = 2\n" in diff


# --- reading and writing ---------------------------------------------------------------------------


def test_read_text(tmp_path: Path) -> None:
    path = tmp_path / "config"
    assert read_text(path) == ""
    path.write_bytes(b"[a]\r\nb = 1\r\n")
    assert read_text(path) == "[a]\r\nb = 1\r\n"
    path.write_bytes(b"[a]\nb = 1\nc = \xff\n")
    with pytest.raises(ConfigError, match="line 3: not valid UTF-8 — fix the file by hand"):
        read_text(path)


def test_write_keeps_bytes(tmp_path: Path) -> None:
    path = tmp_path / "config"
    text = load("config.ini", "\r\n")
    path.write_bytes(b"old\r\n")
    assert write_atomic(path, text) is None
    assert path.read_bytes() == text.encode()
    assert read_text(path) == text


@POSIX_MODES
def test_new_file_is_0600_in_a_new_0700_directory(tmp_path: Path) -> None:
    path = tmp_path / "home" / ".aws" / "config"
    (tmp_path / "home").mkdir()
    write_atomic(path, "[a]\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.read_text() == "[a]\n"


@POSIX_MODES
@pytest.mark.parametrize("mode", [0o600, 0o644, 0o640, 0o400])
def test_existing_permission_bits_are_kept(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "config"
    path.write_text("[a]\n")
    path.chmod(mode)
    write_atomic(path, "[b]\n")
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert path.read_text() == "[b]\n"


def test_no_temporary_files_are_left(tmp_path: Path) -> None:
    path = tmp_path / "config"
    write_atomic(path, "[a]\n")
    write_atomic(path, "[b]\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config"]


def test_failed_write_leaves_the_file_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config"
    path.write_text("[a]\n")

    def fail(src: object, dst: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(ConfigError, match=r"cannot write .*config: Permission denied; it was not changed"):
        write_atomic(path, "[b]\n")
    assert path.read_text() == "[a]\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config"]


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_symlink_is_written_through(tmp_path: Path) -> None:
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    target = dotfiles / "aws-config"
    target.write_text("[a]\n")
    target.chmod(0o640)
    link = tmp_path / "config"
    link.symlink_to(target)
    backup = write_atomic(link, "[b]\n", backup=True)
    assert link.is_symlink()
    assert os.readlink(link) == str(target)
    assert target.read_text() == "[b]\n"
    if os.name != "nt":
        assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert backup is not None
    assert backup.parent == tmp_path  # beside the link, not in the dotfiles repository
    assert backup.read_text() == "[a]\n"
    assert sorted(p.name for p in dotfiles.iterdir()) == ["aws-config"]


def test_backup(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_bytes(b"[a]\r\nsecret = 1\r\n")
    assert write_atomic(tmp_path / "new", "[x]\n", backup=True) is None  # nothing to back up
    first = write_atomic(path, "[b]\n", backup=True)
    second = write_atomic(path, "[c]\n", backup=True)
    assert first is not None
    assert second is not None
    assert first != second
    assert first.name.startswith("credentials.")
    assert first.name.endswith(".bak")
    assert first.read_bytes() == b"[a]\r\nsecret = 1\r\n"
    assert second.read_bytes() == b"[b]\n"
    if os.name != "nt":
        assert stat.S_IMODE(first.stat().st_mode) == 0o600


def test_expect_refuses_a_file_changed_meanwhile(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text("[a]\n")
    with pytest.raises(ConfigError, match="changed while mfa-process was editing it"):
        write_atomic(path, "[b]\n", expect="[old]\n")
    assert path.read_text() == "[a]\n"
    write_atomic(path, "[b]\n", expect="[a]\n")
    write_atomic(tmp_path / "new", "[n]\n", expect="")
    assert path.read_text() == "[b]\n"


def _append(path: Path) -> None:
    with path.open("a") as handle:
        handle.write("[theirs]\n")


def _same_size_same_mtime(path: Path) -> None:
    before = path.stat()
    path.write_text(path.read_text().replace("a", "z"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def _replaced_by_rename(path: Path) -> None:
    fresh = path.with_name("editor.swp")
    fresh.write_text("[theirs]\n")
    os.replace(fresh, path)


def _created(path: Path) -> None:
    path.write_text("[theirs]\n")


EDITS = {"append": _append, "same size and mtime": _same_size_same_mtime, "rename over": _replaced_by_rename}


@pytest.mark.parametrize("moment", ["backup", "fsync"])
@pytest.mark.parametrize("edit", list(EDITS), ids=list(EDITS))
def test_an_edit_made_while_writing_is_never_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moment: str, edit: str
) -> None:
    """Another program edits the file after it was read and checked, while the backup or the new file is written."""
    path = tmp_path / "credentials"
    path.write_text("[a]\nkey = 1\n")
    text = path.read_text()
    real = {"backup": configedit._write_backup, "fsync": os.fsync}
    edited: list[str] = []

    def interfere(*args: Any) -> Any:
        result = real[moment](*args)
        if not edited:
            EDITS[edit](path)
            edited.append(path.read_text())
        return result

    if moment == "backup":
        monkeypatch.setattr(configedit, "_write_backup", interfere)
    else:
        monkeypatch.setattr(os, "fsync", interfere)
    with pytest.raises(ConfigError, match="changed while mfa-process was editing it; run the command again"):
        write_atomic(path, "[mine]\n", backup=True, expect=text)
    assert path.read_text() == edited[0]  # their edit survives
    assert sorted(p.name for p in tmp_path.iterdir()) == ["credentials"]  # no temporary file, no stale backup


def test_a_file_created_while_writing_is_never_overwritten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config"
    real_fsync = os.fsync

    def interfere(fd: int) -> None:
        real_fsync(fd)
        if not path.exists():
            _created(path)

    monkeypatch.setattr(os, "fsync", interfere)
    with pytest.raises(ConfigError, match="changed while mfa-process was editing it"):
        write_atomic(path, "[mine]\n", expect="")
    assert path.read_text() == "[theirs]\n"


def test_directory_is_not_a_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a regular file"):
        write_atomic(tmp_path, "[a]\n")


def test_read_edit_write_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_bytes(load("config.ini", "\r\n").encode())
    text = read_text(path)
    parse_check(text, "~/.aws/config")
    new = set_section(text, "profile work", {"credential_process": "mfa-process credentials --profile work"})
    assert unified_diff(text, new, "~/.aws/config")
    write_atomic(path, new, expect=text)
    data = path.read_bytes()
    assert data.count(b"\r\n") == data.count(b"\n")  # still CRLF only
    assert get_section(read_text(path), "profile work") == {
        "credential_process": "mfa-process credentials --profile work"
    }
