"""One section-name model for the reader (config.py) and the writer (configedit.py), checked against botocore."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.configloader import build_profile_map, load_config, raw_config_parse

from mfa_process.config import AwsFiles, config_profiles, parse_ini
from mfa_process.configedit import profile_section, set_section
from mfa_process.errors import UsageError
from mfa_process.sections import config_header, profile_of

#: Profile names a user may well type, each a trap for one naive rule or another.
AWKWARD_NAMES = [
    "work",
    "default",
    "my profile",
    "it's",
    'say "hi"',
    "back\\slash",
    "two  spaces",
    "x;y",
    "#x",
    "a=b",
    "profile",
    "profile x",
    "ünïcode",
    "dotted.name-1_2",
]

#: Hand-written headers, read by both parsers.
HEADERS = [
    "default",
    "profile default",
    "profile plain",
    "profile   spaced   ",
    "profile 'my profile'",
    'profile "double quoted"',
    "profile a b",
    "profiles sneaky",
    "profilex",
    "profile 'open",
    "plain-section",
    "sso-session corp",
    "services dev",
]


@pytest.mark.parametrize("name", AWKWARD_NAMES)
def test_what_setup_writes_reads_back_as_the_same_name_here_and_in_botocore(tmp_path: Path, name: str) -> None:
    config, credentials = tmp_path / "config", tmp_path / "credentials"
    config.write_text(set_section("", profile_section(name, credentials_file=False), {"region": "x"}))
    credentials.write_text(set_section("", profile_section(name, credentials_file=True), {"region": "y"}))
    assert load_config(str(config))["profiles"][name] == {"region": "x"}
    assert raw_config_parse(str(credentials))[name] == {"region": "y"}
    files = AwsFiles.load({"AWS_CONFIG_FILE": str(config), "AWS_SHARED_CREDENTIALS_FILE": str(credentials)})
    assert files.config == {name: {"region": "x"}}
    assert files.credentials == {name: {"region": "y"}}


@pytest.mark.parametrize("name", ["tab\there", "non\u00a0breaking"])
def test_names_with_invisible_characters_are_refused_by_the_writer(name: str) -> None:
    with pytest.raises(UsageError):
        profile_section(name, credentials_file=False)


@pytest.mark.parametrize("name", [*AWKWARD_NAMES, "tab\there", "non\u00a0breaking"])
def test_config_header_and_profile_of_are_inverse(name: str) -> None:
    assert profile_of(config_header(name)) == name


def test_plain_names_are_not_quoted() -> None:
    assert config_header("work") == "profile work"
    assert config_header("default") == "default"
    assert config_header("my profile") == "profile 'my profile'"


def test_every_header_maps_to_the_profile_botocore_sees(tmp_path: Path) -> None:
    text = "".join(f"[{header}]\nkey = {index}\n" for index, header in enumerate(HEADERS))
    path = tmp_path / "config"
    path.write_text(text)
    expected = build_profile_map(raw_config_parse(str(path)))["profiles"]
    assert config_profiles(parse_ini(text, path)) == expected
    # and the table is awkward enough to matter: quoted, dropped and doubled names all occur
    assert {"my profile", "double quoted", "spaced", "sneaky", "default"} <= set(expected)
    assert not {"a b", "profilex", "plain-section", "'open"} & set(expected)
