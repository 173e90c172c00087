"""``logout`` revokes what the backends hold, not only what the index remembers: the Secret Service's
items are found by their service attribute (and the kernel keyring's keys by description, see
test_kernel_cache.py)."""

from __future__ import annotations

import pytest

from mfa_process.keystore import SERVICE
from mfa_process.paths import state_dir
from tests.support.clients import MFA, run_detached
from tests.support.home import AwsHome
from tests.support.server import login

pytestmark = pytest.mark.keyring


def items(prefix: str = "") -> list[str]:
    """Usernames of this tool's items in the default collection (optionally only those with *prefix*)."""
    import secretstorage

    connection = secretstorage.dbus_init()
    try:
        collection = secretstorage.get_default_collection(connection)
        found = [i.get_attributes().get("username", "") for i in collection.search_items({"service": SERVICE})]
    finally:
        connection.close()
    return sorted(name for name in found if name.startswith(prefix))


def logout(home: AwsHome, *args: str) -> str:
    out = run_detached(home, [MFA, "logout", *args])
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.mark.parametrize("index", ["deleted", "corrupt", "another state directory"])
def test_logout_all_finds_the_items_without_the_index(sts_proxy, aws_home, tmp_path, index):
    sts_proxy.session_token_length = 2600  # a head and parts, all of which must go
    login(aws_home, sts_proxy)
    mine = "session|v1|source|"
    assert len(items(mine)) == 4  # head and three parts
    state = state_dir(aws_home.env)
    if index == "deleted":
        (state / "index.json").unlink()
    elif index == "corrupt":
        (state / "index.json").write_text("{not json", encoding="utf-8")
    else:
        aws_home.env["MFA_PROCESS_STATE_DIR"] = str(tmp_path / "elsewhere")
    assert logout(aws_home, "--all") == "removed 1 cached entry for all profiles"
    assert items(mine) == []
    served = run_detached(aws_home, [MFA, "--profile", "source"])
    assert served.returncode != 0 and "login --profile source" in served.stderr  # nothing served: it would ask
    assert sts_proxy.get_session_token_calls == 1


def test_logout_of_one_profile_leaves_the_others_and_long_term_keys(sts_proxy, aws_home):
    import keyring

    login(aws_home, sts_proxy)
    keyring.set_password(SERVICE, "session|v1|other|arn:aws:iam::123456789012:mfa/x", "other's")
    keyring.set_password(SERVICE, "keys|v1|source", '{"k":"AKIA","s":"x"}')
    (state_dir(aws_home.env) / "index.json").unlink()
    assert logout(aws_home, "--profile", "source") == "removed 1 cached entry for profile source"
    assert items() == ["keys|v1|source", "session|v1|other|arn:aws:iam::123456789012:mfa/x"]


def test_orphaned_parts_are_removed_too(sts_proxy, aws_home):
    """Parts whose head is gone (a write that died half way) belong to the tool and go with --all."""
    import keyring

    for i in range(2):
        keyring.set_password(SERVICE, f"session|v1|source|arn:x#0badc0de.{i}", "part")
    assert logout(aws_home, "--all") == "removed 0 cached entries for all profiles"
    assert items("session|") == []
