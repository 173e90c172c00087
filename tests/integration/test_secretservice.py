"""``secretservice.read`` against a real Secret Service (gnome-keyring), compared with ``keyring`` itself.

Run under ``scripts/keyring-session.sh``; without a Secret Service these tests are skipped, or fail when
``CI`` is set. Items go to the default collection under service :data:`SERVICE` and are removed; the
locking tests use a throwaway collection made with gnome-keyring's master-password interface, so the
user's own collections are never locked.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from mfa_process.keystore import secretservice as fastkeyring
from mfa_process.keystore.secretservice import SECRET_SERVICE_BACKEND, FastReadUnavailable
from tests.support.fastread import fresh_fast_reads  # noqa: F401 - an autouse fixture
from tests.support.gnome_keyring import GnomeKeyring

pytestmark = pytest.mark.keyring

SERVICE = "mfa-process-test"

VALUES = {
    "ascii": "v",
    "empty": "",
    "non-ascii": "h\u00e9llo \u2713 \u65e5\u672c\u8a9e \U0001f389 \u00df\u0131",
    "control": "tab\tnewline\nnul\x00end",
    "4kb-ascii": "0123456789abcdef" * 256,
    "4kb-utf8": "\u00e9\u2713\U0001f389" * 455 + "x",  # 4096 bytes of UTF-8
    "cache-entry": json.dumps({"k": "ASIA" + "X" * 16, "s": "y" * 40, "t": "z" * 900, "e": 1_790_000_000}),
}


def _unavailable_here(reason: str) -> NoReturn:
    """Skip locally, but never in CI: a test that cannot run there is a failure."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def kr(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The ``keyring`` module, forced onto its Secret Service backend, with no backend properties."""
    import keyring
    import keyring.core

    for name in list(os.environ):
        if "KEYRING_PROPERTY_" in name:
            monkeypatch.delenv(name)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", SECRET_SERVICE_BACKEND)
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)  # re-detected from the environment
    backend = keyring.get_keyring()
    assert f"{type(backend).__module__}.{type(backend).__qualname__}" == SECRET_SERVICE_BACKEND
    return keyring


def _reload_backend(kr: Any) -> None:
    """Make keyring build its backend again (after KEYRING_PROPERTY_* changed)."""
    import keyring.core

    keyring.core._keyring_backend = None  # restored by the kr fixture's monkeypatch
    kr.get_keyring()


@pytest.fixture
def user() -> Iterator[str]:
    """A fresh username; every item for it is deleted from the default collection afterwards."""
    import secretstorage

    name = f"user-{uuid.uuid4().hex}"
    yield name
    connection = secretstorage.dbus_init()
    try:
        collection = secretstorage.get_default_collection(connection)
        for attrs in ({"service": SERVICE, "username": name}, {"Title": SERVICE, "UserName": name}):
            for item in collection.search_items(attrs):
                item.delete()
    finally:
        connection.close()


# -- reads agree with keyring ------------------------------------------------------------------------


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "dh"])
@pytest.mark.parametrize("value", list(VALUES.values()), ids=list(VALUES))
def test_reads_what_keyring_wrote(kr: Any, user: str, value: str, encrypted: bool) -> None:
    kr.set_password(SERVICE, user, value)
    assert fastkeyring.read(SERVICE, user, encrypted=encrypted) == value
    assert kr.get_password(SERVICE, user) == value


def test_4kb_value_is_4kb(kr: Any, user: str) -> None:
    assert len(VALUES["4kb-utf8"].encode("utf-8")) == 4096
    kr.set_password(SERVICE, user, VALUES["4kb-utf8"])
    assert fastkeyring.read(SERVICE, user) == VALUES["4kb-utf8"]


def test_missing_item_is_none(kr: Any, user: str) -> None:
    assert fastkeyring.read(SERVICE, user) is None
    assert kr.get_password(SERVICE, user) is None


def test_deleted_item_is_none(kr: Any, user: str) -> None:
    kr.set_password(SERVICE, user, "soon gone")
    assert fastkeyring.read(SERVICE, user) == "soon gone"
    kr.delete_password(SERVICE, user)
    assert fastkeyring.read(SERVICE, user) is None
    assert kr.get_password(SERVICE, user) is None


def test_overwritten_item_reads_the_new_value(kr: Any, user: str) -> None:
    kr.set_password(SERVICE, user, "old")
    assert fastkeyring.read(SERVICE, user) == "old"
    kr.set_password(SERVICE, user, "new")
    assert fastkeyring.read(SERVICE, user) == "new"


def test_service_and_username_must_both_match(kr: Any, user: str) -> None:
    kr.set_password(SERVICE, user, "v")
    for service, username in [(SERVICE + "-other", user), (SERVICE, user + "x"), (SERVICE, user[:-1])]:
        assert fastkeyring.read(service, username) is None
        assert kr.get_password(service, username) is None


def test_address_list_falls_through_to_the_bus(kr: Any, user: str) -> None:
    """Unusable entries of ``DBUS_SESSION_BUS_ADDRESS`` are skipped, in order, until one connects."""
    kr.set_password(SERVICE, user, "v")
    bus = os.environ["DBUS_SESSION_BUS_ADDRESS"]
    address = f"tcp:host=localhost,port=1;unix:path=/nonexistent/mfa-process/bus;unix:tmpdir=/tmp;{bus}"
    assert fastkeyring.read(SERVICE, user, env={"DBUS_SESSION_BUS_ADDRESS": address}) == "v"


def test_a_read_in_a_fresh_process_stays_light(kr: Any, user: str) -> None:
    """A read loads the small D-Bus client, not jeepney, socket, struct, typing, enum or re."""
    kr.set_password(SERVICE, user, "v")
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "from mfa_process.keystore import secretservice as fastkeyring\n"
        f"assert fastkeyring.read({SERVICE!r}, {user!r}) == 'v'\n"
        "print(*sorted(set(sys.modules) - before))\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert set(out.stdout.split()) <= {
        "mfa_process",
        "mfa_process.keystore",
        "mfa_process.keystore.secretservice",
        "mfa_process.dbus",
        "errno",
        "_socket",
    }


def test_several_reads_share_one_connection(kr: Any, user: str) -> None:
    kr.set_password(SERVICE, user, "v")
    assert fastkeyring.read(SERVICE, user) == "v"
    bus = fastkeyring._bus
    assert bus is not None
    assert fastkeyring.read(SERVICE, user + "-missing") is None
    assert fastkeyring.read(SERVICE, user) == "v"
    assert fastkeyring._bus is bus
    fastkeyring.close()
    assert fastkeyring._bus is None
    assert fastkeyring.read(SERVICE, user) == "v"


def _create_item(attributes: dict[str, str], secret: bytes, content_type: str = "text/plain") -> None:
    import secretstorage

    connection = secretstorage.dbus_init()
    try:
        collection = secretstorage.get_default_collection(connection)
        collection.create_item("mfa-process test item", attributes, secret, content_type=content_type)
    finally:
        connection.close()


def test_item_written_by_another_client(kr: Any, user: str) -> None:
    """Found by service and username alone, whatever its other attributes and content type."""
    _create_item({"service": SERVICE, "username": user, "xdg:schema": "org.example"}, b"bytes", "application/x")
    assert fastkeyring.read(SERVICE, user) == "bytes"
    assert kr.get_password(SERVICE, user) == "bytes"


def test_several_matching_items_give_what_keyring_gives(kr: Any, user: str) -> None:
    kr.set_password(SERVICE, user, "from keyring")
    _create_item({"service": SERVICE, "username": user}, b"from elsewhere")
    expected = kr.get_password(SERVICE, user)
    assert expected in {"from keyring", "from elsewhere"}
    assert fastkeyring.read(SERVICE, user) == expected


def test_secret_that_is_not_utf8(kr: Any, user: str) -> None:
    stored = b"\xffs3cr3t\xfe"
    _create_item({"service": SERVICE, "username": user}, stored)
    with pytest.raises(FastReadUnavailable) as caught:
        fastkeyring.read(SERVICE, user)
    assert str(caught.value) == "the stored secret is not valid UTF-8"
    # Nothing reachable from the exception holds the secret: no chained exception, no frame local.
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None
    tb = caught.value.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name != "test_secret_that_is_not_utf8":
            assert stored not in tb.tb_frame.f_locals.values()
        tb = tb.tb_next
    with pytest.raises(UnicodeDecodeError):
        kr.get_password(SERVICE, user)


def test_keepassxc_scheme(kr: Any, user: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEYRING_PROPERTY_SCHEME", "KeePassXC")
    _reload_backend(kr)
    kr.set_password(SERVICE, user, "titled")
    assert fastkeyring.read(SERVICE, user) == "titled"
    monkeypatch.delenv("KEYRING_PROPERTY_SCHEME")
    _reload_backend(kr)
    assert fastkeyring.read(SERVICE, user) is None
    assert kr.get_password(SERVICE, user) is None


# -- collections: preferred, locked, missing ------------------------------------------------------------


@pytest.fixture
def gnome() -> Iterator[GnomeKeyring]:
    client = GnomeKeyring()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def collection(gnome: GnomeKeyring, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, bytes]]:
    """A throwaway unlocked collection, made keyring's preferred one; yields (path, password)."""
    password = secrets.token_hex(8).encode()
    try:
        path = gnome.create_collection(f"mfa-process-test-{uuid.uuid4().hex[:8]}", password)
    except gnome.jeepney.DBusErrorResponse as exc:
        _unavailable_here(f"the Secret Service is not gnome-keyring (no master-password interface): {exc}")
    monkeypatch.setenv("KEYRING_PROPERTY_PREFERRED_COLLECTION", path)
    try:
        yield path, password
    finally:
        if gnome.is_locked(path):
            gnome.unlock(path, password)
        gnome.delete(path)


def test_preferred_collection(
    kr: Any, user: str, collection: tuple[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    _reload_backend(kr)
    kr.set_password(SERVICE, user, "in the preferred collection")
    assert fastkeyring.read(SERVICE, user) == "in the preferred collection"
    assert kr.get_password(SERVICE, user) == "in the preferred collection"
    monkeypatch.delenv("KEYRING_PROPERTY_PREFERRED_COLLECTION")
    assert fastkeyring.read(SERVICE, user) is None  # not in the default collection


def test_locked_collection_is_unavailable(
    kr: Any, user: str, collection: tuple[str, bytes], gnome: GnomeKeyring
) -> None:
    path, password = collection
    _reload_backend(kr)
    kr.set_password(SERVICE, user, "behind a lock")
    gnome.lock(path)
    assert gnome.is_locked(path)
    with pytest.raises(FastReadUnavailable, match="locked"):
        fastkeyring.read(SERVICE, user)
    with pytest.raises(FastReadUnavailable, match="locked"):
        fastkeyring.read(SERVICE, user + "-missing")  # even "no item" is not certain while locked
    gnome.unlock(path, password)
    assert fastkeyring.read(SERVICE, user) == "behind a lock"


def test_missing_collection_is_unavailable(kr: Any, user: str, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = f"/org/freedesktop/secrets/collection/mfa_process_missing_{uuid.uuid4().hex}"
    monkeypatch.setenv("KEYRING_PROPERTY_PREFERRED_COLLECTION", missing)
    with pytest.raises(FastReadUnavailable, match="lookup failed"):
        fastkeyring.read(SERVICE, user)


# -- a session bus without a Secret Service ------------------------------------------------------------

BARE_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>{listen}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


@pytest.fixture(params=["path", "abstract"])
def bare_bus(request: pytest.FixtureRequest) -> Iterator[str]:
    """A private bus with no services (none activatable either), on a socket file or, on Linux, an abstract
    socket; yields its address."""
    daemon = shutil.which("dbus-daemon")
    if daemon is None:
        _unavailable_here("dbus-daemon is not installed")
    if request.param == "abstract" and not sys.platform.startswith("linux"):
        pytest.skip("abstract sockets are Linux-only")
    directory = Path(tempfile.mkdtemp(prefix="fkbus"))
    listen = f"unix:dir={directory}" if request.param == "path" else f"unix:abstract=mfa-process-{uuid.uuid4().hex}"
    config = directory / "bus.conf"
    config.write_text(BARE_BUS_CONFIG.format(listen=listen), encoding="utf-8")
    proc = subprocess.Popen(
        [str(daemon), f"--config-file={config}", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        address = proc.stdout.readline().strip()
        assert address.startswith(f"unix:{request.param}="), address
        yield address
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)


def test_bus_without_secret_service_is_unavailable(bare_bus: str) -> None:
    with pytest.raises(FastReadUnavailable, match="ServiceUnknown"):
        fastkeyring.read(SERVICE, "alice", env={"DBUS_SESSION_BUS_ADDRESS": bare_bus})
