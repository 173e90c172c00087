"""Throwaway home directories with their own ``~/.aws`` and a clean environment for subprocesses."""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

#: Profiles as ``{name: {key: value}}``.
Profiles = Mapping[str, Mapping[str, str]]

#: Variables of the outer environment that subprocesses keep (everything else is dropped).
PASSTHROUGH = (
    "TERM",
    "TZ",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "DBUS_SESSION_BUS_ADDRESS",
    "GNOME_KEYRING_CONTROL",
)
#: The virtualenv's ``bin`` directory: ``mfa-process``, ``pytest``, awscli v1's ``aws``.
VENV_BIN = Path(sys.executable).parent


def _config_section(name: str) -> str:
    """``~/.aws/config`` names every profile but ``default`` as ``profile NAME``."""
    if name == "default" or " " in name:
        return name
    return f"profile {name}"


def write_ini(path: Path, sections: Profiles) -> None:
    """Write ``sections`` as an INI file readable only by its owner."""
    parser = configparser.ConfigParser(interpolation=None)
    for section, values in sections.items():
        parser[section] = dict(values)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        parser.write(handle)
    path.chmod(0o600)


class AwsHome:
    """A HOME directory with ``~/.aws/config`` and ``~/.aws/credentials`` and an env to match.

    :attr:`env` holds only what a subprocess needs: ``HOME`` and ``XDG_*`` inside the directory,
    the AWS file locations, ``AWS_ENDPOINT_URL`` (when given), the venv first on ``PATH`` and the
    D-Bus address of the keyring session. No ``AWS_*`` variable leaks in from outside.
    """

    def __init__(
        self,
        root: Path,
        *,
        endpoint_url: str | None = None,
        config: Profiles | None = None,
        credentials: Profiles | None = None,
        region: str | None = "us-east-1",
        keyring_backend: str | None = None,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.home = root
        self.aws_dir = root / ".aws"
        self.config_path = self.aws_dir / "config"
        self.credentials_path = self.aws_dir / "credentials"
        self.aws_dir.mkdir(parents=True, exist_ok=True)
        self.write_config(config or {})
        self.write_credentials(credentials or {})
        self.env = self._make_env(endpoint_url, region, keyring_backend)
        self.env.update(extra_env or {})

    def _make_env(self, endpoint_url: str | None, region: str | None, keyring_backend: str | None) -> dict[str, str]:
        env = {name: os.environ[name] for name in PASSTHROUGH if name in os.environ}
        env.setdefault("LANG", "C.UTF-8")
        env.setdefault("TERM", "xterm")
        path = [str(VENV_BIN), *os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin").split(os.pathsep)]
        env["PATH"] = os.pathsep.join(dict.fromkeys(path))
        env["HOME"] = str(self.home)
        for name, sub in (
            ("XDG_CONFIG_HOME", ".config"),
            ("XDG_DATA_HOME", ".local/share"),
            ("XDG_CACHE_HOME", ".cache"),
            ("XDG_STATE_HOME", ".local/state"),
            ("XDG_RUNTIME_DIR", ".run"),
        ):
            directory = self.home / sub
            directory.mkdir(parents=True, exist_ok=True)
            env[name] = str(directory)
        (self.home / ".run").chmod(0o700)
        env["AWS_CONFIG_FILE"] = str(self.config_path)
        env["AWS_SHARED_CREDENTIALS_FILE"] = str(self.credentials_path)
        env["AWS_EC2_METADATA_DISABLED"] = "true"
        env["AWS_PAGER"] = ""
        if endpoint_url is not None:
            env["AWS_ENDPOINT_URL"] = endpoint_url
        if region is not None:
            env["AWS_REGION"] = env["AWS_DEFAULT_REGION"] = region  # JS SDK v3 reads only AWS_REGION
        if keyring_backend is not None:
            env["PYTHON_KEYRING_BACKEND"] = keyring_backend
        return env

    def write_config(self, profiles: Profiles) -> None:
        """Replace ``~/.aws/config``; ``{"dev": {...}}`` becomes ``[profile dev]``."""
        write_ini(self.config_path, {_config_section(name): values for name, values in profiles.items()})

    def write_credentials(self, profiles: Profiles) -> None:
        """Replace ``~/.aws/credentials``; section names are the profile names."""
        write_ini(self.credentials_path, profiles)

    def run(
        self,
        args: Sequence[str],
        *,
        timeout: float = 60,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``args`` with :attr:`env` (plus ``env``), no terminal, text output captured."""
        return subprocess.run(
            list(args),
            env={**self.env, **(env or {})},
            cwd=cwd or self.home,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
