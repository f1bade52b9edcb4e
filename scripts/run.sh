#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: install what is missing, build, and run
# `outboard lab`: a cluster on loopback (3 servers behind 1 gateway on the embedded sqlite
# store), ~200 virtual users, the crash-and-deploy scenario, in the stateful, sticky and
# stateless designs; about a minute, ending with the side-by-side table and a verdict per design.
# Extra arguments go to `outboard lab` (try --help, --scenario list, --report DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh release outboard
exec build/release/apps/outboard/outboard lab "$@"
