"""``python -m mfa_process``."""

from __future__ import annotations

from mfa_process.cli import main

raise SystemExit(main())
