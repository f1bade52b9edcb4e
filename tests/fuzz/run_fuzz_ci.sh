#!/usr/bin/env bash
# One fuzz target under ctest: run_fuzz_ci.sh BINARY CORPUS_DIR SCRATCH_DIR SECONDS RUNS
#   1. every checked-in corpus file once (the regression inputs: a crash fixed stays fixed);
#   2. a short fuzz run of RUNS inputs from seed 1 (reproducible: the same binary tries the same
#      inputs), bounded by SECONDS on a slow machine, starting from the corpus. New inputs and any
#      crash go to SCRATCH_DIR (in the build tree); the checked-in corpus is only read.
set -euo pipefail
binary=$1 corpus=$2 scratch=$3 seconds=$4 runs=$5

inputs=("$corpus"/*)
if [ ! -d "$corpus" ] || [ ! -e "${inputs[0]}" ]; then
  echo "no seed corpus in $corpus: every fuzz target needs one (docs/FUZZING.md)" >&2
  exit 1
fi
rm -rf "$scratch"
mkdir -p "$scratch/new"

echo "== regression: ${#inputs[@]} inputs from $corpus"
"$binary" -timeout=25 "${inputs[@]}"

echo "== fuzz: at most ${seconds}s and $runs runs"
"$binary" -timeout=25 -seed=1 -max_total_time="$seconds" -runs="$runs" -print_final_stats=1 \
  -artifact_prefix="$scratch/" "$scratch/new" "$corpus" || {
  echo "fuzz run failed; the input is in $scratch: keep it as $corpus/regress-<what it breaks>" >&2
  exit 1
}
