"""Wiring: from parsed flags and the environment to a ready :class:`~mfa_process.refresh.Context`."""

from __future__ import annotations

from mfa_process.config import AwsFiles, Settings
from mfa_process.errors import BackgroundJobError, ClientGone, ConfigError, NoTerminalError
from mfa_process.paths import state_path
from mfa_process.redact import register
from mfa_process.refresh import Context, client_gone

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Final

    from mfa_process.credentials import Credentials
    from mfa_process.keystore.parts import SplitStore
    from mfa_process.refresh import StsLike


def notify(message: str) -> None:
    """Tell the user something on the terminal (stderr when there is none), in the tool's one voice."""
    from mfa_process.voice import notice

    notice(message)


def make_asker(settings: Settings, command: str | None = None) -> object:
    """A function that asks for one valid code with the configured prompt driver.

    *command* is the interactive command running (``login``, ``setup``): without a terminal its advice is
    another way to answer, not to run ``login``.
    """

    def ask(message: str) -> str:
        from mfa_process.prompt import get_driver
        from mfa_process.prompt.code import ask_code

        login = f"`mfa-process login --profile {settings.profile}`"
        try:
            driver = get_driver(settings.prompt, token_command=settings.token_command)
            return ask_code(driver, message)
        except ClientGone:
            raise client_gone(settings.profile) from None
        except BackgroundJobError as exc:
            raise BackgroundJobError(
                f"cannot ask for the MFA code of profile '{settings.profile}' from a background job ({exc}); "
                f"run {login} first, or run the command in the foreground"
            ) from None
        except NoTerminalError as exc:
            if settings.prompt == "dialog":
                raise NoTerminalError(
                    f"cannot show a dialog to ask for the MFA code of profile '{settings.profile}' ({exc}); "
                    "install zenity or kdialog (Linux, with a display), or use --prompt terminal or --token-command"
                ) from None
            if command is not None:
                raise NoTerminalError(
                    f"no terminal to ask for the MFA code of profile '{settings.profile}' ({exc}); run "
                    f"`mfa-process {command}` in a terminal, or add --prompt dialog (a desktop dialog) or "
                    "--token-command CMD (a program that prints the code)"
                ) from None
            raise NoTerminalError(
                f"no terminal to ask for the MFA code of profile '{settings.profile}' ({exc}); run "
                f"`mfa-process login --profile {settings.profile}` in a terminal first, or use "
                "--prompt dialog or --token-command"
            ) from None

    return ask


def has_file_keys(files: AwsFiles, profile: str) -> bool:
    """Whether the shared files give *profile* an access key of its own."""
    return any("aws_access_key_id" in section.get(profile, {}) for section in (files.credentials, files.config))


#: Profile keys through which botocore finds credentials other than a key pair in the file.
OTHER_CREDENTIAL_KEYS: Final = ("credential_process", "sso_session", "sso_start_url", "credential_source", "role_arn")


def has_other_credentials(files: AwsFiles, profile: str) -> bool:
    """Whether botocore could find keys for *profile* some other way (a process, SSO, a role)."""
    values = {**files.credentials.get(profile, {}), **files.config.get(profile, {})}
    return any(key in values for key in OTHER_CREDENTIAL_KEYS)


def region_variables(settings: Settings) -> dict[str, str]:
    """``AWS_REGION`` and ``AWS_DEFAULT_REGION`` for a child process, when the session knows a region.

    The region is the one the session resolved (``--region``, ``AWS_REGION``, ``AWS_DEFAULT_REGION``, then the
    profile's): without ``AWS_PROFILE`` a child no longer finds the profile's region by itself. Both names are
    set because SDKs differ in which one they read (the JavaScript SDK only ``AWS_REGION``).
    """
    return {"AWS_REGION": settings.region, "AWS_DEFAULT_REGION": settings.region} if settings.region else {}


def child_variables(creds: Credentials, settings: Settings) -> dict[str, str]:
    """What ``env`` prints and ``exec`` sets: the credentials, and the region (:func:`region_variables`)."""
    return {**creds.to_env(), **region_variables(settings)}


def make_context(
    settings: Settings,
    files: AwsFiles,
    env: Mapping[str, str],
    *,
    command: str | None = None,
    store: SplitStore | None = None,
) -> Context:
    """Everything the refresh flow needs, with the expensive parts created only when first used.

    *command* names the interactive command running, for the advice when no code can be asked for; *store*
    is the cache a cache hit already opened (and chose the backend of), else it is opened here.
    """
    state = state_path(env)
    if store is None:
        from mfa_process.keystore.choose import open_cache

        store = open_cache(state, env, allow_insecure=settings.allow_insecure_keyring, choice=settings.cache)

    def sts_factory() -> StsLike:
        from mfa_process.keys import load_keys
        from mfa_process.sts import SourceSession

        keys = None
        if not has_file_keys(files, settings.profile):
            from mfa_process.keystore.choose import open_keys

            keys = load_keys(open_keys(state, env, allow_insecure=settings.allow_insecure_keyring), settings.profile)
            if keys is not None:
                register(keys[1])
            elif not has_other_credentials(files, settings.profile):
                raise ConfigError(
                    f"profile '{settings.profile}' has no access keys in {files.credentials_path} or the keyring; "
                    f"add them there or run `mfa-process store-keys --profile {settings.profile}`"
                )
        return SourceSession(settings.profile, region=settings.region, keys=keys)

    return Context(
        settings=settings,
        store=store,
        state=state,
        ask=make_asker(settings, command),  # type: ignore[arg-type]
        notify=notify,
        sts_factory=sts_factory,
        terminal=lambda: prompt_terminal(settings),
        abandoned=client_gone_away,
    )


def client_gone_away() -> bool:
    """Whether the program that started this run stopped waiting for it (see :mod:`mfa_process.parent`)."""
    from mfa_process.parent import gone

    return gone()


def prompt_terminal(settings: Settings) -> int | None:
    """The terminal this run's prompt would use, if it asks on one (neither a token command nor a dialog)."""
    if settings.prompt not in ("auto", "terminal") or (settings.prompt == "auto" and settings.token_command):
        return None
    from mfa_process.prompt.terminal import session_terminal

    return session_terminal()
