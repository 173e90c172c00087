"""``mfa-process rotate-keys``: replace a profile's long-term access key with a new one, under MFA.

The steps and their order are decided by :mod:`mfa_process.rotation`; this module does the I/O: it finds
the pair, gets the MFA session, talks to IAM and STS (through :mod:`mfa_process.sts`), writes the pair
back where it was, and keeps the journal that lets a re-run finish an interrupted rotation.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Callable, NamedTuple

from mfa_process import rotation
from mfa_process.config import AwsFiles
from mfa_process.errors import (
    AwsRefused,
    ConfigError,
    KeyringError,
    NoTerminalError,
    StsError,
    StsUnreachable,
    UsageError,
)
from mfa_process.redact import register
from mfa_process.rotation import FILE, KEYRING, Journal

DESCRIPTION = (
    "Rotate the long-term access key of SOURCE: create a new key with the MFA session, store it where the "
    "old one was (the keyring, or ~/.aws/credentials), check that AWS accepts it, then delete the old key "
    "(or, with --deactivate-only, set it Inactive). An interrupted rotation is finished by running the "
    "command again."
)
EPILOG = """\
examples:
  mfa-process rotate-keys --profile my-profile
  mfa-process rotate-keys --profile my-profile --yes --deactivate-only
"""
KEY_NAMES = ("aws_access_key_id", "aws_secret_access_key")


def configure(
    parser: argparse.ArgumentParser, add_session: Callable[..., None], add_source: Callable[..., None]
) -> None:
    """The session options plus ``--yes``, ``--deactivate-only`` and ``--no-verify``."""
    add_session(parser)
    group = parser.add_argument_group("rotation")
    group.add_argument("--yes", "-y", action="store_true", help="do not ask before rotating")
    group.add_argument("--deactivate-only", action="store_true", help="set the old key Inactive instead of deleting it")
    group.add_argument(
        "--no-verify", action="store_true", help="do not check the new key with sts:GetCallerIdentity first"
    )


class Place(NamedTuple):
    """Where the profile's pair lives, and the pair."""

    where: str
    key_id: str
    secret: str
    path: Path
    #: The keyring also holds this same key (store-keys without --remove-from-file): replace it too.
    keyring_copy: bool = False

    def describe(self, backend: str = "") -> str:
        """For messages: ``~/.aws/credentials`` or ``the keyring``."""
        if self.where == FILE:
            return str(self.path) + (" (and its copy in the keyring)" if self.keyring_copy else "")
        return f"the keyring ({backend})" if backend else "the keyring"


def locate(files: AwsFiles, store: Any, profile: str) -> Place:
    """Find the pair the tool reads for *profile*: ``~/.aws/credentials`` first, as botocore, then the keyring."""
    from mfa_process.keys import load_keys

    section = files.credentials.get(profile, {})
    path = Path(files.credentials_path)
    if all(section.get(k) for k in KEY_NAMES):
        if section.get("aws_session_token"):
            raise ConfigError(
                f"profile '{profile}' in {path} holds temporary credentials (aws_session_token), not long-term "
                "keys; rotate-keys rotates an IAM user's access key"
            )
        key_id, secret = section["aws_access_key_id"].strip(), section["aws_secret_access_key"].strip()
        stored = load_keys(store, profile)
        return Place(FILE, key_id, secret, path, keyring_copy=stored is not None and stored[0] == key_id)
    if "aws_access_key_id" in files.config.get(profile, {}):
        raise ConfigError(
            f"the keys of profile '{profile}' are in {files.config_path}; rotate-keys edits ~/.aws/credentials or "
            f"the keyring: move them with `mfa-process store-keys --profile {profile}` first"
        )
    stored = load_keys(store, profile)
    if stored is None:
        raise ConfigError(
            f"profile '{profile}' has no long-term access keys in {path} or the keyring, so there is nothing "
            f"to rotate; check --profile, or add the keys with `mfa-process store-keys --profile {profile}`"
        )
    return Place(KEYRING, stored[0], stored[1], path)


def read_journal(path: Path) -> Journal | None:
    """The journal of an interrupted rotation, or None."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read {path} ({exc.strerror}); fix its permissions and run again") from None
    journal = Journal.from_json(text)
    if journal is None:
        raise ConfigError(f"{path} is not a rotation journal mfa-process can read; delete it and run again")
    return journal


class Rotation:
    """One run of the command: the pair, the clients, the journal, and the steps that move it on."""

    def __init__(self, args: argparse.Namespace, env: Mapping[str, str]) -> None:
        from mfa_process.app import make_context
        from mfa_process.config import load_settings

        self.settings, files = load_settings(args, env)
        self.ctx = make_context(self.settings, files, env)
        self.profile = self.settings.profile
        from mfa_process.keystore.choose import open_keys

        self.store = open_keys(self.ctx.state, env, allow_insecure=self.settings.allow_insecure_keyring)
        self.place = locate(files, self.store, self.profile)
        register(self.place.secret)
        self.journal_file = rotation.journal_path(Path(self.ctx.state), self.profile)
        self.journal = read_journal(self.journal_file)
        self.args = args
        self.sleep: Callable[[float], None] = time.sleep
        self._admin: Any = None
        self._source: Any = None

    # -- clients --------------------------------------------------------------------------------

    @property
    def source(self) -> Any:
        """STS for checking long-term pairs; same profile, region and endpoints as the session."""
        if self._source is None:
            from mfa_process.sts import SourceSession

            self._source = SourceSession(self.profile, region=self.settings.region, keys=self.place[1:3])
        return self._source

    def admin(self, user: str) -> Any:
        """IAM with the MFA session (from the cache, or one prompt)."""
        if self._admin is None:
            from mfa_process.refresh import session_credentials
            from mfa_process.sts import KeyAdmin

            self._admin = KeyAdmin(self.source, session_credentials(self.ctx), user)
        return self._admin

    def check(self, key_id: str, secret: str) -> Any:
        """GetCallerIdentity with a long-term pair."""
        from mfa_process.sts import check_key_pair

        return check_key_pair(self.source, key_id, secret)

    # -- the journal ----------------------------------------------------------------------------

    def save_journal(self, journal: Journal) -> None:
        """Record a step before (or right after) taking it."""
        from mfa_process.paths import private_dir, write_private

        private_dir(self.journal_file.parent)
        write_private(self.journal_file, journal.to_json())
        self.journal = journal

    def forget(self) -> None:
        """Drop the journal and the kept old pair: nothing is left in progress."""
        from mfa_process.keys import PREVIOUS, delete_keys

        delete_keys(self.store, self.profile, PREVIOUS)
        self.journal_file.unlink(missing_ok=True)
        self.journal = None

    # -- where the pair lives -------------------------------------------------------------------

    def put(self, key_id: str, secret: str) -> None:
        """Write a pair where the old one lived (the credentials file: byte-preserving, 0600, no backup)."""
        from mfa_process.keys import load_keys, save_keys

        if self.place.where == FILE:
            from mfa_process import configedit

            path = self.place.path
            text = configedit.read_text(path)
            section = configedit.profile_section(self.profile, credentials_file=True)
            new = configedit.update_keys(text, section, dict(zip(KEY_NAMES, (key_id, secret))))
            configedit.write_atomic(path, new, expect=text, private=True)
        if self.place.where == KEYRING or self.place.keyring_copy:
            save_keys(self.store, self.profile, key_id, secret)
            if load_keys(self.store, self.profile) != (key_id, secret):
                raise KeyringError("the keyring did not return the keys just stored")

    # -- the run --------------------------------------------------------------------------------

    def run(self) -> int:
        """Start or resume, then take the steps the state machine names until done."""
        journal = self.journal
        step = rotation.next_step(journal, self.place.key_id, verify=not self.args.no_verify)
        if journal is None:
            return self.start()
        if step == "foreign" or (step != "discard" and not journal.new_id):
            raise ConfigError(
                f"an interrupted rotation of profile '{self.profile}' was replacing key {journal.old_id} "
                f"with {journal.new_id or 'a new key'}, but {self.place.describe()} now holds "
                f"{self.place.key_id}; check the user's keys with `aws iam list-access-keys`, then delete "
                f"{self.journal_file} to start afresh"
            )
        self.notify(f"finishing the rotation of profile {self.profile} that was interrupted ({journal.phase})")
        try:
            if step == "discard":
                self.discard(journal)
                return self.start(resumed=True)
            if self.args.deactivate_only:
                journal = journal._replace(retire="deactivate")
                self.save_journal(journal)
            return self.finish_from(step, journal, self.place.secret)
        except BaseException as exc:
            self.stopped(exc)
            raise

    def notify(self, message: str) -> None:
        """A line on the terminal (stderr without one), with the tool's prefix."""
        self.ctx.notify(message)

    def start(self, *, resumed: bool = False) -> int:
        """Check the current pair, ask, then create, store, verify, retire."""
        from mfa_process.asking import confirm

        place = self.place
        answer = self.check(place.key_id, place.secret)
        user = rotation.user_from_arn(answer.arn or "")
        if answer.arn is None and answer.transient:
            raise StsUnreachable(
                f"could not check the current access key {place.key_id} of profile '{self.profile}' with "
                f"sts:GetCallerIdentity ({answer.problem}); nothing was changed, try again"
            )
        if answer.arn is None:
            raise StsError(
                f"AWS does not accept the current access key {place.key_id} of profile '{self.profile}' "
                f"({answer.problem}); rotate-keys needs a working key to start from"
            )
        if user is None:
            raise ConfigError(
                f"the keys of profile '{self.profile}' belong to {answer.arn}, not to an IAM user; only an IAM "
                "user's access keys can be rotated"
            )
        where = place.describe()
        question = f"Rotate access key {place.key_id} of IAM user {user} (profile {self.profile}, in {where})?"
        try:
            agreed = resumed or confirm(question, assume_yes=self.args.yes)
        except NoTerminalError as exc:
            raise NoTerminalError(
                f"no terminal to ask before rotating the key of profile '{self.profile}' ({exc}); run it in a "
                "terminal, or pass --yes"
            ) from None
        if not agreed:
            raise UsageError("nothing was changed (answer y, or pass --yes)")
        admin = self.admin(user)
        keys = admin.list_keys()
        if place.key_id not in [k.key_id for k in keys]:
            raise StsError(
                f"access key {place.key_id} of profile '{self.profile}' is not one of IAM user {user}'s keys; "
                "nothing was changed"
            )
        other = rotation.other_key(keys, place.key_id)
        if other is not None:
            raise StsError(
                f"IAM user {user} already has two access keys (the limit), so no new one can be created: besides "
                f"{place.key_id} there is {other.key_id} ({other.status}, created "
                f"{rotation.describe_time(other.created)}); if nothing uses it, delete it with `mfa-process exec "
                f"--profile {self.profile} -- aws iam delete-access-key --user-name {user} --access-key-id "
                f"{other.key_id}` and run rotate-keys again; nothing was changed"
            )
        from mfa_process.keys import PREVIOUS, save_keys

        journal = Journal(
            profile=self.profile,
            where=place.where,
            user=user,
            old_id=place.key_id,
            phase="started",
            started=time.time(),
            retire="deactivate" if self.args.deactivate_only else "delete",
        )
        save_keys(self.store, self.profile, place.key_id, place.secret, PREVIOUS)  # for a later roll-back
        self.save_journal(journal)
        try:
            try:
                new_id, secret = admin.create_key()
            except AwsRefused:
                self.forget()  # refused: nothing was created, nothing is in progress
                raise
            register(secret)
            journal = rotation.advance(journal, "created", new_id)
            self.save_journal(journal)
            self.put(new_id, secret)
            journal = rotation.advance(journal, "stored")
            self.save_journal(journal)
            return self.finish_from("retire" if self.args.no_verify else "verify", journal, secret)
        except BaseException as exc:
            self.stopped(exc)
            raise

    def finish_from(self, step: str, journal: Journal, secret: str) -> int:
        """Verify (or roll back), retire the old key, clean up, and report; *secret* is the new key's."""
        new_id = journal.new_id or ""
        if step == "verify":
            self.verify(journal, new_id, secret)
            journal = rotation.advance(journal, "verified")
            self.save_journal(journal)
            step = "retire"
        old = "was already deleted or set Inactive"
        if step == "retire":
            admin = self.admin(journal.user)
            if journal.retire == "deactivate":
                admin.deactivate_key(journal.old_id)
                old = (
                    f"was set Inactive (delete it once nothing needs it: `mfa-process exec --profile {self.profile} "
                    f"-- aws iam delete-access-key --user-name {journal.user} --access-key-id {journal.old_id}`)"
                )
            else:
                old = "was deleted" if admin.delete_key(journal.old_id) else "was already deleted"
            self.save_journal(rotation.advance(journal, "retired"))
        self.forget()
        print(f"new access key {new_id} of profile {self.profile} (IAM user {journal.user}) stored in {self.where()}")
        print(f"old access key {journal.old_id} {old}")
        print("cached MFA sessions stay valid until they expire (AWS does not revoke them with the key that made them)")
        return 0

    def where(self) -> str:
        """Where the new pair went, with the keyring backend when it is the keyring."""
        backend = ""
        if self.place.where == KEYRING:
            with contextlib.suppress(KeyringError):
                backend = str(self.store.describe().get("backend", ""))
        return self.place.describe(backend)

    def verify(self, journal: Journal, new_id: str, secret: str) -> None:
        """GetCallerIdentity with the new pair, with backoff; roll back when AWS does not accept it."""
        answer, attempts = rotation.verify_with_backoff(lambda: self.check(new_id, secret), self.sleep)
        if answer.arn is not None and rotation.user_from_arn(answer.arn) == journal.user:
            return
        problem = getattr(answer, "problem", "") or f"it belongs to {answer.arn}"
        self.rollback(journal, new_id)
        raise StsError(
            f"AWS did not accept the new access key {new_id} ({problem}, {attempts} attempts); rolled back: the old "
            f"key {journal.old_id} is back in {self.place.describe()} and {new_id} was deleted"
        )

    def rollback(self, journal: Journal, new_id: str) -> None:
        """Put the old pair back where it was and delete the new key."""
        from mfa_process.keys import PREVIOUS, load_keys

        old = load_keys(self.store, self.profile, PREVIOUS)
        if old is None or old[0] != journal.old_id:
            raise KeyringError(
                f"cannot roll back: the keyring no longer holds the old pair of profile '{self.profile}'; "
                f"{self.place.describe()} keeps the new key {new_id}, and the old key {journal.old_id} "
                "is still active"
            )
        self.put(*old)
        self.save_journal(journal._replace(phase="started"))
        self.admin(journal.user).delete_key(new_id)
        self.forget()

    def discard(self, journal: Journal) -> None:
        """Delete what an interrupted run created but never stored; then nothing is in progress."""
        admin = self.admin(journal.user)
        for key_id in rotation.orphans(journal, admin.list_keys()):
            admin.delete_key(key_id)
            self.notify(f"deleted access key {key_id}, created by the interrupted rotation but never stored")
        self.forget()

    def stopped(self, exc: BaseException) -> None:
        """Tell the user where an interrupted rotation stands and how to finish it."""
        journal = self.journal
        if journal is None:  # nothing started, or rolled back and forgotten
            return
        if journal.phase in ("started", "created"):
            state = f"the old key {journal.old_id} is still in {self.place.describe()} and works"
        elif journal.phase == "stored":
            state = f"the new key {journal.new_id} is in {self.place.describe()}; the old key still works too"
        else:
            state = f"the new key {journal.new_id} is in {self.place.describe()} and works"
        self.notify(
            f"the rotation of profile {self.profile} stopped ({state}); run `mfa-process rotate-keys --profile "
            f"{self.profile}` again to finish it"
        )


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Rotate, or finish an interrupted rotation."""
    return Rotation(args, env).run()
