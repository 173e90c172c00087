"""The options of the credential_process mode as data: one table feeds both argparse and the fast parser."""

from __future__ import annotations

from mfa_process.records import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final


class Option(Record):
    """One command-line option."""

    flags: tuple[str, ...]
    dest: str
    group: str
    help: str
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    is_switch: bool = False


PROMPTS: Final = ("auto", "terminal", "dialog", "command")
#: The values of ``--cache`` (``mfa_process.keystore.choose.CACHES``).
CACHES: Final = ("auto", "secret-service", "kernel", "keyring")

#: Options that decide which credentials are produced and how the code is asked for.
SESSION_OPTIONS: Final = (
    Option(("--profile", "-p"), "profile", "", "profile that holds the long-term access keys (and usually mfa_serial)", "SOURCE"),
    Option(("--serial-number",), "mfa_serial", "session", "MFA device ARN or serial (default: mfa_serial of the profile)", "ARN"),
    Option(("--duration-seconds",), "duration_seconds", "session", "MFA session length, 900..129600 (default 43200); usable for this minus the refresh margin", "N"),
    Option(("--refresh-margin",), "refresh_margin", "session", "refresh when less than this is left (default 900, botocore's window)", "SECONDS"),
    Option(("--region",), "region", "session", "region of the STS endpoint (default: AWS_REGION, AWS_DEFAULT_REGION, then the profile's)", "REGION"),
    Option(("--config-profile",), "config_profile", "session", "also read options from [profile NAME] (flags still win)", "NAME"),
    Option(("--role-arn",), "role_arn", "role", "assume this role with the MFA session", "ARN"),
    Option(("--role-session-name",), "role_session_name", "role", "role session name (default: your IAM user name)", "NAME"),
    Option(("--external-id",), "external_id", "role", "external id the role's trust policy requires", "ID"),
    Option(("--role-duration-seconds",), "role_duration_seconds", "role", "role session length (default and AWS cap: 3600)", "N"),
    Option(("--source-identity",), "source_identity", "role", "source identity to set on the role session", "ID"),
    Option(("--prompt",), "prompt", "prompt and keyring", "how to ask for the code (default auto)", None, PROMPTS),
    Option(("--token-command",), "token_command", "prompt and keyring", "command that prints the code (YubiKey, password manager)", "CMD"),
    Option(("--cache",), "cache", "prompt and keyring", "where to cache sessions (default auto: Secret Service, else kernel keyring, else keyring's choice)", None, CACHES),
    Option(("--allow-insecure-keyring",), "allow_insecure_keyring", "prompt and keyring", "accept a plain-text keyring backend", is_switch=True),
)  # fmt: skip

#: Options of the credential server (``serve``, ``exec --server``).
SERVER_OPTIONS: Final = (
    Option(("--port",), "port", "server", "port to listen on (default: a free port)", "N"),
    Option(("--bind",), "bind", "server", "address to listen on (default 127.0.0.1)", "ADDRESS"),
    Option(("--allow-non-loopback",), "allow_non_loopback", "server", "allow a --bind address other hosts or containers can reach", is_switch=True),
)  # fmt: skip

_BY_FLAG: Final = {flag: option for option in SESSION_OPTIONS for flag in option.flags}


class Values:
    """Parsed option values, attribute access like argparse's Namespace."""

    def __init__(self, **values: object) -> None:
        self.__dict__.update(values)

    def __getattr__(self, name: str) -> object:
        """Options not given read as None."""
        if name.startswith("__"):
            raise AttributeError(name)
        return None


def fast_parse(argv: list[str]) -> Values | None:
    """Parse the common credential_process command line without argparse, or None to let argparse do it.

    Only exact spellings (``--opt VALUE``, ``--opt=VALUE``, switches) are taken; anything else (help,
    abbreviations, unknown or malformed options, values that look like options) goes to argparse, which
    also produces the error messages.
    """
    values: dict[str, object] = {option.dest: None for option in SESSION_OPTIONS}
    i = 0
    while i < len(argv):
        token = argv[i]
        flag, has_value, value = token.partition("=") if token.startswith("--") else (token, "", "")
        option = _BY_FLAG.get(flag)
        if option is None:
            return None
        if option.is_switch:
            if has_value:
                return None
            values[option.dest] = True
            i += 1
            continue
        if not has_value:
            if i + 1 >= len(argv) or argv[i + 1].startswith("-"):
                return None
            value = argv[i + 1]
            i += 1
        if option.choices is not None and value not in option.choices:
            return None
        values[option.dest] = value
        i += 1
    if not values["profile"]:
        return None
    return Values(**values)
