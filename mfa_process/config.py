"""Read ``~/.aws/config`` and ``~/.aws/credentials`` into frozen settings.

Precedence for every option is: command-line flag, then the profile named by ``--config-profile``, then the
SOURCE profile, then the default. In a profile a key may be written plainly (``role_arn``) or with the
``mfa_process_`` prefix (``mfa_process_role_arn``); the prefixed form wins. The prefix exists because botocore
acts on some plain keys by itself: a profile with ``role_arn`` is taken over by botocore's assume-role provider
before its ``credential_process`` is ever run, so in a profile that runs this helper ``role_arn`` must be written
as ``mfa_process_role_arn``. The plain key is refused there with a message that says so.
"""

from __future__ import annotations

import os
import sys

from mfa_process.errors import ConfigError, RecursionConfigError, UsageError
from mfa_process.options import CACHES, SESSION_OPTIONS
from mfa_process.records import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Final

#: AWS's default session length for IAM users (GetSessionToken), in seconds.
DEFAULT_DURATION: Final = 43200
#: GetSessionToken's allowed range for IAM users, in seconds.
DURATION_RANGE: Final = (900, 129600)
#: Serve a cached session only while more than this remains; botocore re-runs a credential_process once
#: less than its advisory refresh timeout (15 minutes) is left, so a shorter margin makes it spawn us on
#: every request.
DEFAULT_REFRESH_MARGIN: Final = 900
#: AssumeRole's allowed range, in seconds, and the cap AWS puts on a chained role session.
ROLE_DURATION_RANGE: Final = (900, 43200)
ROLE_CHAINING_MAX: Final = 3600
#: Option keys read from profiles (each also as ``mfa_process_<key>``).
PROFILE_KEYS: Final = (
    "mfa_serial",
    "duration_seconds",
    "refresh_margin",
    "role_arn",
    "role_session_name",
    "external_id",
    "role_duration_seconds",
    "source_identity",
    "prompt",
    "token_command",
    "cache",
    "region",
)
#: Keys that botocore acts on by itself in a profile that has credential_process.
BOTOCORE_TAKEOVER_KEYS: Final = ("role_arn",)
PREFIX: Final = "mfa_process_"
#: Set in our environment while boto3 resolves the SOURCE profile's keys: an mfa-process started with it
#: was started by our own credential resolution, which would loop forever.
NESTED_MARKER: Final = "MFA_PROCESS_RESOLVING"
#: Flag destinations that feed :func:`resolve_settings`: every credential_process option.
SETTING_FLAGS: Final = tuple(option.dest for option in SESSION_OPTIONS)

Profiles = dict[str, dict[str, str]]


def _home(env: Mapping[str, str]) -> str:
    return env.get("HOME") or env.get("USERPROFILE") or os.path.expanduser("~")


def _override(value: str) -> str:
    """An ``AWS_*_FILE`` value expanded as botocore expands it (``$VAR``, then ``~``)."""
    if "$" in value:  # expandvars compiles a regular expression: only when there is something to expand
        value = os.path.expandvars(value)
    return os.path.expanduser(value)


def config_path(env: Mapping[str, str]) -> str:
    """``AWS_CONFIG_FILE`` or ``~/.aws/config``."""
    override = env.get("AWS_CONFIG_FILE")
    return _override(override) if override else os.path.join(_home(env), ".aws", "config")


def credentials_path(env: Mapping[str, str]) -> str:
    """``AWS_SHARED_CREDENTIALS_FILE`` or ``~/.aws/credentials``."""
    override = env.get("AWS_SHARED_CREDENTIALS_FILE")
    return _override(override) if override else os.path.join(_home(env), ".aws", "credentials")


#: configparser's (and so botocore's) default full-line comment prefixes.
_COMMENT_PREFIXES: Final = ("#", ";")


#: configparser's section pattern before Python 3.10 ends a header at its first ``]``, later ones at the last.
_HEADER_ENDS_AT_FIRST_BRACKET = sys.version_info < (3, 10)


def scan_ini(text: str) -> Profiles | None:
    """Parse INI *text* exactly as ``configparser.RawConfigParser(strict=True)`` does, for well-formed text.

    The same state machine as configparser's reader: full-line ``#``/``;`` comments, ``key = value`` or
    ``key: value`` split at the first delimiter, keys lowercased, values stripped, lines indented deeper
    than their option continuing its value (blank lines inside kept, trailing ones dropped), text after a
    header's closing ``]`` ignored (its first ``]`` before Python 3.10, as there). Returns None for
    everything it leaves to configparser: a ``[DEFAULT]``
    section (its keys are inherited by every section), a repeated section or key, a line before the first
    header, a line that is neither header nor option; :func:`parse_ini` then asks configparser, which
    gives the answer or the error. ``tests/unit/test_config_reader.py`` compares both on a corpus.
    """
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    option: str | None = None
    indent = 0
    for line in text.split("\n"):
        value = line.strip()
        if not value or value.startswith(_COMMENT_PREFIXES):
            if not value and current is not None and option is not None:
                current[option].append("")
            continue
        level = len(line) - len(line.lstrip())
        if current is not None and option is not None and level > indent:
            current[option].append(value)
            continue
        indent = level
        end = value.find("]") if _HEADER_ENDS_AT_FIRST_BRACKET else value.rfind("]")
        if value.startswith("[") and end > 1:
            name = value[1:end]
            if name in sections or name == "DEFAULT":
                return None
            current = sections[name] = {}
            option = None
            continue
        cut = min((i for i in (value.find("="), value.find(":")) if i >= 0), default=-1)
        if current is None or cut <= 0:
            return None
        option = value[:cut].rstrip().lower()
        if option in current or not option:
            return None
        current[option] = [value[cut + 1 :].strip()]
    return {name: {key: "\n".join(lines).rstrip() for key, lines in body.items()} for name, body in sections.items()}


def parse_ini(text: str, path: str) -> Profiles:
    """Parse INI text the way botocore does (duplicates refused); errors name the line."""
    fast = scan_ini(text)
    if fast is not None:
        return fast
    import configparser

    parser = configparser.RawConfigParser(strict=True)
    try:
        parser.read_string(text, source=str(path))
    except configparser.MissingSectionHeaderError as exc:
        raise ConfigError(f"{path} line {exc.lineno}: text before the first [section] header; fix the file") from None
    except configparser.DuplicateSectionError as exc:
        raise ConfigError(
            f"{path} line {exc.lineno}: section [{exc.section}] appears twice; merge or remove one"
        ) from None
    except configparser.DuplicateOptionError as exc:
        raise ConfigError(
            f"{path} line {exc.lineno}: key '{exc.option}' appears twice in [{exc.section}]; keep one"
        ) from None
    except configparser.ParsingError as exc:
        lineno = exc.errors[0][0] if exc.errors else 0
        raise ConfigError(f"{path} line {lineno}: not a 'key = value' line or [section] header") from None
    except configparser.Error as exc:
        raise ConfigError(f"{path}: cannot be parsed ({type(exc).__name__})") from None
    return {name: dict(parser.items(name)) for name in parser.sections()}


def read_ini(path: str) -> Profiles:
    """Read and parse one file; a missing file is empty, unreadable or non-UTF-8 is an error."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror}); check its permissions") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        lineno = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path} line {lineno}: not valid UTF-8; save the file as UTF-8") from None
    return parse_ini(text[1:] if text.startswith("\ufeff") else text, path)


class AwsFiles(Record):
    """Profiles of both shared files, keyed by profile name (``[profile x]`` in config becomes ``x``)."""

    config_path: str
    credentials_path: str
    config: Profiles
    credentials: Profiles

    @classmethod
    def load(cls, env: Mapping[str, str]) -> AwsFiles:
        """Read both files named by *env* (or their defaults)."""
        cpath, kpath = config_path(env), credentials_path(env)
        return cls(cpath, kpath, config_profiles(read_ini(cpath)), read_ini(kpath))

    def has_profile(self, name: str) -> bool:
        """Whether either file defines *name*."""
        return name in self.config or name in self.credentials

    def profile(self, name: str) -> dict[str, str]:
        """The config file's keys for *name* (empty if it has none)."""
        return self.config.get(name, {})


def profile_name(section: str) -> str | None:
    """The profile a config-file section names, as botocore reads it: ``[profile x]`` is x, else None.

    botocore splits the section name with ``shlex.split`` and takes the second of exactly two words, so
    ``[profile "a b"]`` is ``a b`` and ``[profile\tx]`` is x, while ``[profilex]`` and ``[x]`` name none.
    Names without quotes, backslashes or unusual white space are split here without ``shlex`` (and ``re``).
    """
    if not section.startswith("profile"):
        return None
    if any(c in "'\"\\" or (c.isspace() and c not in " \t\r\n") for c in section):
        import shlex

        try:
            parts = shlex.split(section)
        except ValueError:
            return None
    else:
        parts = section.split()
    return parts[1] if len(parts) == 2 else None


def config_profiles(sections: Profiles) -> Profiles:
    """Map config-file sections to profile names as botocore does; a later section of the same name wins."""
    out: Profiles = {}
    for section, values in sections.items():
        name = "default" if section == "default" else profile_name(section)
        if name is not None:
            out[name] = values
    return out


def mentions_helper(command: str | None) -> bool:
    """Whether a credential_process command line runs this tool."""
    return bool(command) and ("mfa-process" in command or "mfa_process" in command)  # type: ignore[operator]


class RoleSettings(Record):
    """What to assume with the MFA session."""

    role_arn: str
    session_name: str
    external_id: str | None = None
    duration_seconds: int = ROLE_CHAINING_MAX
    source_identity: str | None = None


class Settings(Record):
    """Everything one run needs, resolved from flags, profiles and defaults."""

    profile: str
    mfa_serial: str
    duration_seconds: int = DEFAULT_DURATION
    refresh_margin: int = DEFAULT_REFRESH_MARGIN
    region: str | None = None
    role: RoleSettings | None = None
    prompt: str = "auto"
    token_command: str | None = None
    allow_insecure_keyring: bool = False
    cache: str = "auto"


def parse_int(value: str | int, name: str, low: int, high: int) -> int:
    """An integer option within [low, high], or a UsageError naming the option."""
    try:
        number = value if isinstance(value, int) else int(str(value).strip())
    except ValueError:
        raise UsageError(f"{name} must be a whole number of seconds, not {str(value)[:40]!r}") from None
    if not low <= number <= high:
        raise UsageError(f"{name} must be between {low} and {high} seconds, not {number}")
    return number


def _lookup(key: str, flags: Mapping[str, object], layers: list[tuple[str, dict[str, str]]]) -> str | None:
    """The first value of *key*: the flag, then each profile layer (prefixed key first)."""
    flag = flags.get(key)
    if flag is not None:
        return str(flag)
    for _, values in layers:
        for name in (PREFIX + key, key):
            if values.get(name, "").strip():
                return values[name].strip()
    return None


def _or(value: str | None, default: int) -> str | int:
    """*value* unless it is absent; an empty flag value stays empty so that it is refused, not defaulted."""
    return default if value is None else value


#: Flags that only mean something together with a role ARN.
ROLE_FLAGS: Final = ("role_session_name", "external_id", "role_duration_seconds", "source_identity")


def close_profile(files: AwsFiles, name: str) -> str | None:
    """The existing profile closest to *name*, if *name* looks like a typo of it."""
    import difflib

    found = difflib.get_close_matches(name, sorted({*files.config, *files.credentials}), n=1, cutoff=0.75)
    return found[0] if found else None


def check_profiles(files: AwsFiles, source: str, config_profile: str | None) -> None:
    """Refuse configurations that cannot work: unknown profiles, recursion, keys botocore would act on."""
    if not files.has_profile(source):
        close = close_profile(files, source)
        hint = f"did you mean --profile {close}?" if close else "check --profile or create it with `mfa-process setup`"
        raise ConfigError(f"profile '{source}' not found in {files.config_path} or {files.credentials_path}; {hint}")
    if mentions_helper(files.profile(source).get("credential_process")):
        raise RecursionConfigError(
            f"profile '{source}' runs mfa-process itself; --profile must name the profile with the "
            "long-term access keys, not the one with credential_process"
        )
    if config_profile is not None:
        if config_profile not in files.config:
            raise ConfigError(f"--config-profile '{config_profile}' not found in {files.config_path}")
        values = files.config[config_profile]
        if "credential_process" in values:
            for key in BOTOCORE_TAKEOVER_KEYS:
                if key in values:
                    raise ConfigError(
                        f"profile '{config_profile}' has both credential_process and {key}: botocore would "
                        f"assume the role itself and never run mfa-process; rename it to {PREFIX}{key}"
                    )


def default_session_name(mfa_serial: str) -> str:
    """A role session name from the IAM user name in the MFA ARN, sanitised to AWS's rules."""
    user = mfa_serial.rsplit("/", 1)[-1] if mfa_serial.startswith("arn:") else ""
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+=,.@-_")
    cleaned = "".join(c if c in allowed else "-" for c in user)[:64]
    return cleaned if len(cleaned) >= 2 else "mfa-process"


def resolve_settings(
    flags: Mapping[str, object],
    files: AwsFiles,
    *,
    env: Mapping[str, str],
) -> Settings:
    """Combine flags (None where unset), the config profile, the SOURCE profile and defaults."""
    source = str(flags["profile"])
    config_profile = flags.get("config_profile")
    cp_name = str(config_profile) if config_profile else None
    check_profiles(files, source, cp_name)
    layers: list[tuple[str, dict[str, str]]] = []
    if cp_name is not None:
        layers.append((cp_name, files.config[cp_name]))
    layers.append((source, files.profile(source)))

    serial = _lookup("mfa_serial", flags, layers)
    if not serial:
        raise ConfigError(
            f"no MFA device for profile '{source}': add mfa_serial = arn:aws:iam::ACCOUNT:mfa/USER to "
            f"[profile {source}] in {files.config_path}, or pass --serial-number"
        )
    serial = str(serial)
    duration = parse_int(
        _or(_lookup("duration_seconds", flags, layers), DEFAULT_DURATION), "--duration-seconds", *DURATION_RANGE
    )
    margin_value = _lookup("refresh_margin", flags, layers)
    if margin_value is None and duration <= DEFAULT_REFRESH_MARGIN:
        raise UsageError(
            f"--duration-seconds (duration_seconds) {duration} is not longer than the refresh margin "
            f"({DEFAULT_REFRESH_MARGIN} s, botocore's refresh window), so the session would be renewed at once; "
            "use a longer session, e.g. 3600, or set --refresh-margin"
        )
    margin = parse_int(
        DEFAULT_REFRESH_MARGIN if margin_value is None else margin_value,
        "--refresh-margin",
        0,
        duration - 1,
    )
    region: object = flags.get("region") or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if not region:
        region = _lookup("region", {}, layers)

    role: RoleSettings | None = None
    role_arn = _lookup("role_arn", flags, [(n, v) for n, v in layers if n != source])
    source_role = files.profile(source).get(PREFIX + "role_arn")
    role_arn = role_arn or source_role
    if not role_arn:
        given = [name for name in ROLE_FLAGS if flags.get(name) is not None]
        if given:
            flag = "--" + given[0].replace("_", "-")
            raise UsageError(f"{flag} needs --role-arn (or mfa_process_role_arn in the profile)")
    if role_arn:
        role_arn = str(role_arn)
        check_role_arn(role_arn)
        role_duration = parse_int(
            _or(_lookup("role_duration_seconds", flags, layers), ROLE_CHAINING_MAX),
            "--role-duration-seconds",
            *ROLE_DURATION_RANGE,
        )
        name = _lookup("role_session_name", flags, layers)
        session_name = str(name) if name else default_session_name(serial)
        check_session_name(session_name)
        external = _lookup("external_id", flags, layers)
        identity = _lookup("source_identity", flags, layers)
        role = RoleSettings(
            role_arn=role_arn,
            session_name=session_name,
            external_id=str(external) if external else None,
            duration_seconds=role_duration,
            source_identity=str(identity) if identity else None,
        )
    prompt = _lookup("prompt", flags, layers) or "auto"
    cache = _lookup("cache", flags, layers) or "auto"
    if cache not in CACHES:
        raise UsageError(
            f"mfa_process_cache {cache[:40]!r} in the profile is not one of {', '.join(CACHES)}; fix ~/.aws/config"
        )
    token_command = _lookup("token_command", flags, layers)
    return Settings(
        profile=source,
        mfa_serial=serial,
        duration_seconds=duration,
        refresh_margin=margin,
        region=str(region) if region else None,
        role=role,
        prompt=str(prompt),
        token_command=str(token_command) if token_command else None,
        allow_insecure_keyring=bool(flags.get("allow_insecure_keyring")),
        cache=cache,
    )


def check_role_arn(arn: str) -> None:
    """Refuse anything that is not ``arn:PARTITION:iam::ACCOUNT:role/NAME``."""
    parts = arn.split(":", 5)
    ok = (
        len(parts) == 6
        and parts[0] == "arn"
        and parts[1].startswith("aws")
        and parts[2] == "iam"
        and parts[3] == ""
        and len(parts[4]) == 12
        and parts[4].isdigit()
        and parts[5].startswith("role/")
        and len(parts[5]) > len("role/")
    )
    if not ok:
        raise UsageError(
            f"role ARN {arn[:120]!r} is not of the form arn:aws:iam::123456789012:role/NAME; check --role-arn"
        )


def check_session_name(name: str) -> None:
    """AWS allows 2-64 characters of ``[\\w+=,.@-]`` in a role session name."""
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+=,.@-_")
    if not 2 <= len(name) <= 64 or not set(name) <= allowed:
        raise UsageError(f"role session name {name[:80]!r} must be 2-64 characters of letters, digits and +=,.@-_")


def load_settings(args: object, env: Mapping[str, str]) -> tuple[Settings, AwsFiles]:
    """Settings for this run from parsed flags (*args*, an argparse namespace), the AWS files and defaults."""
    from mfa_process.redact import register

    flags = {name: getattr(args, name, None) for name in SETTING_FLAGS}
    files = AwsFiles.load(env)
    settings = resolve_settings(flags, files, env=env)
    register(files.credentials.get(settings.profile, {}).get("aws_secret_access_key"))
    return settings, files
