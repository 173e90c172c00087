from __future__ import annotations

import pytest

from mfa_process.cli import main
from mfa_process.options import SESSION_OPTIONS, fast_parse
from mfa_process.parsing import build_parser

AGREEING = [
    ["--profile", "me"],
    ["-p", "me"],
    ["--profile=me", "--duration-seconds", "3600"],
    ["--profile", "me", "--role-arn", "arn:aws:iam::210987654321:role/A", "--external-id=x y"],
    ["--profile", "me", "--prompt", "command", "--token-command", "ykman oath accounts code -s aws"],
    ["--profile", "me", "--allow-insecure-keyring", "--profile", "you"],
    ["--config-profile", "prod", "--profile", "me", "--serial-number", "GAHT1234"],
]


@pytest.mark.parametrize("argv", AGREEING)
def test_fast_parser_agrees_with_argparse(argv):
    fast = fast_parse(argv)
    assert fast is not None
    slow = build_parser(None).parse_args(argv)
    for option in SESSION_OPTIONS:
        assert getattr(fast, option.dest) == getattr(slow, option.dest), option.dest


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--help"],
        ["--version"],
        ["--prof", "me"],
        ["--profile"],
        ["--profile", "--region"],
        ["--profile", "me", "--prompt", "bogus"],
        ["--profile", "me", "--allow-insecure-keyring=yes"],
        ["--profile", "me", "extra"],
        ["--refresh-margin", "-5", "--profile", "me"],
    ],
)
def test_fast_parser_declines_what_it_does_not_know(argv):
    assert fast_parse(argv) is None


@pytest.mark.parametrize(
    ("argv", "code", "text"),
    [
        (["--profile", "me", "--prompt", "bogus"], 2, "invalid choice: 'bogus'"),
        (["--duration-seconds", "60"], 2, "the following arguments are required: --profile"),
        (["logout"], 2, "give either --profile SOURCE or --all"),
        (["exec", "--profile", "ghost", "--", "true"], 3, "profile 'ghost' not found"),
        (["exec", "--profile", "me"], 2, "exec needs a command"),
        (["--profile", "ghost"], 3, "profile 'ghost' not found"),
        (["--profile", "me", "--duration-seconds", "ten"], 2, "--duration-seconds must be a whole number"),
        (["env", "--profile", "me", "--shell", "tcsh"], 2, "invalid choice: 'tcsh'"),
    ],
)
def test_errors_are_one_line_with_exit_code(argv, code, text, tmp_path, monkeypatch, capsys):
    (tmp_path / "config").write_text("[profile me]\nmfa_serial = arn:aws:iam::123456789012:mfa/alice\n")
    (tmp_path / "credentials").write_text("[me]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = s\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("MFA_PROCESS_STATE_DIR", str(tmp_path / "state"))
    assert main(argv) == code
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("mfa-process: ")
    assert text in err


def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("mfa-process 0.")
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert "credential_process = mfa-process --profile my-profile" in text
    assert "examples:" in text


def test_prompt_choices_match_the_driver_registry():
    from mfa_process.options import PROMPTS
    from mfa_process.prompt import DRIVER_NAMES

    assert PROMPTS == DRIVER_NAMES


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["loginn"], "unknown command 'loginn'; did you mean `mfa-process login`? (see `mfa-process --help`)"),
        (["docter"], "unknown command 'docter'; did you mean `mfa-process doctor`? (see `mfa-process --help`)"),
        (["--profle", "x"], "unknown flag --profle; did you mean --profile? (see `mfa-process --help`)"),
        (["login", "--profile", "x", "--regoin", "y"], "unknown flag --regoin; did you mean --region?"),
    ],
)
def test_typos_of_commands_and_flags_suggest_the_close_one(argv, message, capsys) -> None:
    from mfa_process.cli import main

    assert main(argv) == 2
    assert capsys.readouterr().err.startswith(f"mfa-process: {message}")


def test_an_unknown_word_lists_the_commands(capsys) -> None:
    from mfa_process.cli import main

    assert main(["frobnicate"]) == 2
    assert "commands: login, logout, status" in capsys.readouterr().err


def test_messages_link_to_the_documentation_by_url_not_by_a_path_in_a_clone() -> None:
    import re
    from pathlib import Path

    import mfa_process

    package = Path(mfa_process.__file__).parent
    found = [
        f"{path.relative_to(package)}: {match.group(0)}"
        for path in package.rglob("*.py")
        for match in re.finditer(r"[\"'(\s]docs/\w+\.md", path.read_text(encoding="utf-8"))
    ]
    assert found == []
    assert mfa_process.DOCS_URL.startswith("https://")
