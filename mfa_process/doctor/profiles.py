"""Checks of the AWS files: which profiles run mfa-process, and whether each one can work."""

from __future__ import annotations

import os
import shlex

from mfa_process.config import AwsFiles, Settings, mentions_helper, resolve_settings
from mfa_process.doctor import Finding, fail, ok, warn
from mfa_process.doctor.probe import Probe
from mfa_process.errors import MfaProcessError
from mfa_process.records import Record


class Helper(Record):
    """A profile whose credential_process runs mfa-process."""

    profile: str  # the profile users use, e.g. my-profile-mfa
    command: str  # its credential_process line
    argv: tuple[str, ...]  # the line split like a shell does; () when it cannot be split
    options: tuple[str, ...]  # what follows the program: --profile SOURCE ...

    @property
    def subject(self) -> str:
        return f"profile {self.profile}"

    def source(self) -> str | None:
        """The ``--profile`` the line passes, or None."""
        for index, word in enumerate(self.options):
            if word in ("--profile", "-p") and index + 1 < len(self.options):
                return self.options[index + 1]
            if word.startswith("--profile="):
                return word.split("=", 1)[1]
        return None


def parse_helper(profile: str, command: str) -> Helper:
    """Split a credential_process line into the program and mfa-process's options."""
    try:
        argv = tuple(shlex.split(command))
    except ValueError:
        return Helper(profile, command, (), ())
    start = 1
    if len(argv) >= 3 and argv[1:3] == ("-m", "mfa_process"):
        start = 3
    return Helper(profile, command, argv, argv[start:])


def helpers(files: AwsFiles) -> list[Helper]:
    """Every profile of the config file whose credential_process runs mfa-process."""
    return [
        parse_helper(name, values["credential_process"])
        for name, values in files.config.items()
        if mentions_helper(values.get("credential_process"))
    ]


def targets(files: AwsFiles, profile: str | None) -> list[Helper]:
    """The helper profiles to check: all of them, those for SOURCE *profile*, or *profile* itself."""
    found = helpers(files)
    if profile is None:
        return found
    return [h for h in found if h.profile == profile] or [h for h in found if h.source() == profile]


def checked(probe: Probe) -> list[Helper]:
    """The helper profiles this run checks; none when the files cannot be read (``check_files`` says so)."""
    try:
        return targets(probe.files, probe.profile)
    except MfaProcessError:
        return []


def checked_sources(probe: Probe) -> list[str]:
    """The SOURCE profiles of :func:`checked`, each once; or the profile ``--profile`` names when no profile runs
    mfa-process for it yet but it exists (before ``setup``, its keys and device are checked all the same)."""
    sources = list(dict.fromkeys(source for helper in checked(probe) if (source := helper.source())))
    if not sources and (future := future_source(probe)) is not None:
        return [future]
    return sources


def future_source(probe: Probe) -> str | None:
    """The ``--profile`` of this run, when it names an existing profile that no profile runs mfa-process for."""
    if probe.profile is None or checked(probe):
        return None
    try:
        return probe.profile if probe.files.has_profile(probe.profile) else None
    except MfaProcessError:
        return None


def settings_of(helper: Helper, files: AwsFiles, env: dict[str, str] | None = None) -> Settings:
    """The settings a run of *helper*'s line resolves to (raises the error that run would show)."""
    from mfa_process.config import SETTING_FLAGS
    from mfa_process.options import fast_parse

    args: object = fast_parse(list(helper.options))
    if args is None:
        from mfa_process.parsing import build_parser

        args = build_parser(None).parse_args(list(helper.options))
    flags = {name: getattr(args, name, None) for name in SETTING_FLAGS}
    return resolve_settings(flags, files, env=env or {})


# --- the checks ----------------------------------------------------------------------------------


def check_files(probe: Probe) -> list[Finding]:
    """Both shared files can be read and parsed the way botocore parses them."""
    try:
        config_path = probe.raw_config[0]
        credentials_path = probe.raw_credentials[0]
        probe.files  # noqa: B018 - parsing is the check
    except MfaProcessError as exc:
        return [fail("aws files", str(exc), "correct the line it names, then run mfa-process doctor again")]
    return [ok("aws files", f"{config_path} and {credentials_path} parse")]


def check_profiles(probe: Probe) -> list[Finding]:
    """At least one profile runs mfa-process (for ``--profile``, if given)."""
    try:
        files = probe.files
    except MfaProcessError:
        return []
    found = targets(files, probe.profile)
    if found:
        names = ", ".join(f"{h.profile} (source {h.source() or '?'})" for h in found)
        return [ok("profiles", f"credential_process runs mfa-process in {names}")]
    source = probe.profile or "SOURCE"
    wanted = f" --profile {probe.profile}" if probe.profile else ""
    return [
        fail(
            "profiles",
            f"no profile in {files.config_path} runs mfa-process{wanted}",
            f"mfa-process setup {source}",
        )
    ]


def check_shadowing(probe: Probe) -> list[Finding]:
    """No key in either file wins over the helper profile's credential_process (static keys, a role, SSO...)."""
    from mfa_process.shadow import find_shadows

    found = checked(probe)
    out = []
    for helper in found:
        shadows = find_shadows(helper.profile, config=probe.raw_config, credentials=probe.raw_credentials)
        if not shadows:
            out.append(ok("shadowing", "no other credentials win over credential_process", helper.subject))
            continue
        seen = "; ".join(shadow.describe() for shadow in shadows)
        source = helper.source() or "SOURCE"
        out.append(
            fail(
                "shadowing",
                f"{seen}: the aws CLI and SDKs use those and never run mfa-process",
                f"mfa-process setup {source} --mfa-profile {shlex.quote(helper.profile)} (removes them, with a backup)",
                helper.subject,
            )
        )
    return out


def check_program(probe: Probe) -> list[Finding]:
    """The credential_process line's program exists, may be run, and is this mfa-process."""
    found = checked(probe)
    this = probe.this_program()
    out = []
    for helper in found:
        source = helper.source()
        rerun = f"mfa-process setup {source or 'SOURCE'}"
        if not helper.argv:
            out.append(fail("credential_process", "the line cannot be split (an open quote)", rerun, helper.subject))
            continue
        if source is None:
            out.append(fail("credential_process", f"`{helper.command}` names no --profile", rerun, helper.subject))
            continue
        program = helper.argv[0]
        path = probe.which(program) if os.sep not in program else program
        if path is None or not probe.is_executable(path):
            saw = f"{program} is not an executable file" if path else f"{program} is not on PATH"
            fix = f"{rerun} (writes the absolute path of this mfa-process, {this[0]})"
            out.append(fail("credential_process", saw, fix, helper.subject))
            continue
        ours = probe.realpath(this[0]) == probe.realpath(path) and tuple(this[1:]) == helper.argv[1 : len(this)]
        if ours:
            out.append(ok("credential_process", f"runs {path} (this mfa-process {probe.version()})", helper.subject))
            continue
        other = probe.output([*helper.argv[: len(helper.argv) - len(helper.options)], "--version"]) or "no version"
        mine = f"mfa-process {probe.version()}"
        if other == mine:
            out.append(ok("credential_process", f"runs {path} ({other}, same as this one)", helper.subject))
        else:
            out.append(
                warn(
                    "credential_process",
                    f"runs {path} ({other}), not this {mine} ({this[0]})",
                    f"{rerun}, or upgrade the other installation",
                    helper.subject,
                )
            )
    return out


def check_settings(probe: Probe) -> list[Finding]:
    """The line's options and its source profile resolve (profile exists, mfa_serial valid, no loop)."""
    found = checked(probe)
    future = None if found else future_source(probe)
    if future is not None:  # before setup: the source profile alone, as `mfa-process --profile SOURCE` runs it
        found = [parse_helper(future, f"mfa-process --profile {shlex.quote(future)}")]
    out = []
    for helper in found:
        source = helper.source()
        if source is None:
            continue
        subject = f"profile {future}" if future is not None else helper.subject
        try:
            settings = settings_of(helper, probe.files, dict(probe.env))
        except MfaProcessError as exc:
            out.append(fail("settings", str(exc), "correct the profile as the message says", subject))
            continue
        out.append(serial_finding(settings.mfa_serial, source))
    return out


def serial_finding(serial: str, source: str) -> Finding:
    """``mfa_serial`` of SOURCE profile *source* is a virtual or hardware device's ARN (or a hardware serial number)."""
    import re

    subject = f"profile {source}"
    if re.fullmatch(r"arn:aws[a-z-]*:iam::\d{12}:(mfa|u2f)/[\w+=,.@/-]+", serial):
        return ok("mfa_serial", serial, subject)
    if re.fullmatch(r"[A-Z0-9]{9,64}", serial):
        return ok("mfa_serial", f"{serial} (a hardware token's serial number)", subject)
    return fail(
        "mfa_serial",
        f"{serial[:80]!r} is neither an MFA device ARN nor a hardware serial number",
        f"set mfa_serial = arn:aws:iam::ACCOUNT:mfa/USER in [profile {source}] (`aws iam list-mfa-devices` shows it)",
        subject,
    )


def region_of(probe: Probe, profile: str) -> tuple[str, str] | None:
    """The region an SDK uses for *profile*, and where it came from: environment, then the profile."""
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if probe.env.get(name):
            return probe.env[name], name
    region = probe.files.profile(profile).get("region", "").strip()
    return (region, f"[profile {profile}] in {probe.files.config_path}") if region else None


def check_region(probe: Probe) -> list[Finding]:
    """A region is known where the SDKs look for it (environment or the helper profile)."""
    found = checked(probe)
    out = []
    for helper in found:
        fix = f"aws configure set region REGION --profile {shlex.quote(helper.profile)}"
        mine = region_of(probe, helper.profile)
        if mine is not None:
            out.append(ok("region", f"{mine[0]} (from {mine[1]})", helper.subject))
            continue
        source = region_of(probe, helper.source() or "")
        if source is not None:
            out.append(
                warn(
                    "region",
                    f"none for {helper.profile} (its source has {source[0]}): aws and SDK calls with "
                    f"--profile {helper.profile} stop with 'You must specify a region'",
                    fix.replace("REGION", source[0]),
                    helper.subject,
                )
            )
            continue
        out.append(
            fail(
                "region",
                "no region in the environment or the profiles: AWS calls stop with 'You must specify a region'",
                fix,
                helper.subject,
            )
        )
    return out


def check_keys(probe: Probe) -> list[Finding]:
    """Each source profile has long-term keys: in the credentials file, the keyring, or another provider."""
    from mfa_process.app import has_file_keys, has_other_credentials

    out = []
    for source in checked_sources(probe):
        files = probe.files
        subject = f"profile {source}"
        if not files.has_profile(source):
            continue  # check_settings says the profile is missing
        if has_file_keys(files, source):
            out.append(ok("long-term keys", f"aws_access_key_id of {source} in {files.credentials_path}", subject))
            continue
        if has_other_credentials(files, source):
            out.append(ok("long-term keys", f"{source} gets keys another way (a process, SSO or a role)", subject))
            continue
        try:
            stored = probe.stored_keys(source)
        except MfaProcessError as exc:
            out.append(fail("long-term keys", f"cannot read the keyring: {exc}", "fix the keyring as it says", subject))
            continue
        if stored:
            out.append(ok("long-term keys", f"keys of {source} in the keyring", subject))
            continue
        out.append(
            fail(
                "long-term keys",
                f"{source} has no aws_access_key_id in {files.credentials_path} and none in the keyring",
                f"mfa-process store-keys --profile {shlex.quote(source)} (or mfa-process setup {shlex.quote(source)})",
                subject,
            )
        )
    return out
