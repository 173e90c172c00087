"""Keys that win over a profile's ``credential_process`` (pure: sections in, findings out).

botocore (and so the aws CLI and boto3) looks for a profile's credentials in a fixed order: a role
(``role_arn`` with ``source_profile`` or ``credential_source``), a web identity token, SSO, the static keys
of ``~/.aws/credentials``, and only then ``credential_process``; it also merges the credentials file's
section over the config file's. The JavaScript SDK v3 takes static keys of the config file first too. So
any of these keys in the profile's section of either file means mfa-process never runs. The shell-script
recipes this tool replaces leave exactly that behind: ``aws configure set`` of a session's three keys into
``[NAME-mfa]`` of ``~/.aws/credentials``.
"""

from __future__ import annotations

from collections.abc import Mapping

from mfa_process.records import Record
from mfa_process.sections import profile_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

#: Keys that make botocore or an SDK take credentials from somewhere before ``credential_process``.
SHADOWING_KEYS: Final = (
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "aws_security_token",
    "source_profile",
    "role_arn",
    "credential_source",
    "web_identity_token_file",
)
#: Every key starting with this (``sso_session``, ``sso_start_url``, ``sso_account_id``...) means SSO.
SHADOWING_PREFIX: Final = "sso_"


class Shadow(Record):
    """Keys of one section of one file that win over credential_process."""

    path: str
    section: str  # the section's name as written in the file (without brackets)
    keys: tuple[str, ...]

    def describe(self) -> str:
        """``~/.aws/credentials [my-profile-mfa] has aws_access_key_id, ...``."""
        return f"{self.path} [{self.section}] has {', '.join(self.keys)}"


def shadowing_keys(values: Mapping[str, str]) -> tuple[str, ...]:
    """The keys of one section that win over credential_process, in the section's order."""
    return tuple(key for key in values if key in SHADOWING_KEYS or key.startswith(SHADOWING_PREFIX))


def find_shadows(
    profile: str,
    *,
    config: tuple[str, Mapping[str, Mapping[str, str]]],
    credentials: tuple[str, Mapping[str, Mapping[str, str]]],
) -> list[Shadow]:
    """Every section of either file (given as raw ``(path, {section: values})``) that shadows *profile*.

    In the config file that is ``[profile NAME]`` in any spelling botocore reads as *profile*, and a plain
    ``[NAME]`` (botocore ignores it, older SDKs do not); in the credentials file, ``[NAME]``.
    """
    found = []
    config_path, config_sections = config
    for section, values in config_sections.items():
        if profile_of(section) == profile or section == profile:
            keys = shadowing_keys(values)
            if keys:
                found.append(Shadow(config_path, section, keys))
    credentials_path, credentials_sections = credentials
    keys = shadowing_keys(credentials_sections.get(profile, {}))
    if keys:
        found.append(Shadow(credentials_path, profile, keys))
    return found
