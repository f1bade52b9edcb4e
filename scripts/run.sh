#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: install what is missing, build, run.
# Until `outboard lab` exists, that is `outboard serve` on the embedded sqlite store.
# Extra arguments go to `outboard serve` (try --port 0, or --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh release outboard
exec build/release/apps/outboard/outboard serve "$@"
