#!/usr/bin/env bash
# Offline demo, from nothing: install what is needed, start a local AWS emulator, register the
# helper in a throwaway HOME and run `aws sts get-caller-identity` through it (one prompt, then cached).
#
#   bash scripts/demo.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/deps.sh
exec bash scripts/keyring-session.sh .venv/bin/python scripts/demo.py
