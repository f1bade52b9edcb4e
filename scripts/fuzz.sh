#!/usr/bin/env bash
# Runs the libFuzzer targets (tests/fuzz, docs/FUZZING.md): scripts/fuzz.sh [TARGET] [SECONDS]
#   TARGET   cookie, session_cookie, ... or cookie_fuzz; all targets in turn when omitted or "all"
#   SECONDS  how long each target fuzzes (default 60)
# Builds the `fuzz` preset (clang 14, -O1, ASan+UBSan, coverage on all code): the named target,
# or all fuzz targets.
# Each run starts from the checked-in corpus (read only) plus a working corpus kept in
# build/fuzz/corpus-work/NAME, where new inputs go. Prints exec/s from libFuzzer's final stats.
# On a crash the input is copied to tests/fuzz/corpus/NAME/regress-<kind>-<hash>, so it is
# rerun by every CI run from then on, and the script exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-all}
seconds=${2:-60}
[[ $seconds =~ ^[0-9]+$ ]] || { echo "fuzz.sh: SECONDS must be a whole number, got '$seconds'" >&2; exit 2; }

if [ "$target" = all ]; then
  names=()
  for f in tests/fuzz/*_fuzz.cpp; do names+=("$(basename "$f" _fuzz.cpp)"); done
  build_targets=(fuzz_targets)
else
  names=("${target%_fuzz}")
  build_targets=("${names[0]}_fuzz")  # only what this run needs
fi
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz --target "${build_targets[@]}"

# Sanitizers stop at the first error; libFuzzer turns that into a crash input.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=0
summary=()
for name in "${names[@]}"; do
  binary=build/fuzz/tests/fuzz/${name}_fuzz
  corpus=tests/fuzz/corpus/$name
  [ -x "$binary" ] || { echo "fuzz.sh: no target $binary (tests/fuzz/${name}_fuzz.cpp)" >&2; exit 2; }
  work=build/fuzz/corpus-work/$name
  artifacts=$(mktemp -d)
  log=$(mktemp)
  mkdir -p "$work" "$corpus"
  echo "== $name: ${seconds}s  ($binary -max_total_time=$seconds $work $corpus)"
  set +e
  "$binary" -max_total_time="$seconds" -timeout=25 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$work" "$corpus" 2>&1 | tee "$log" | grep -E '^(#[0-9]+ +(INITED|DONE|NEW)|==[0-9]+==|SUMMARY|stat::|.*fuzz invariant)' | tail -n 40
  status=${PIPESTATUS[0]}
  set -e
  execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  # crash-, leak-, timeout-, oom-: failures. slow-unit- files are only slow inputs, not kept.
  rm -f "$artifacts"/slow-unit-*
  crashes=("$artifacts"/*)
  if [ "$status" -ne 0 ] || [ -e "${crashes[0]}" ]; then
    failed=1
    for c in "${crashes[@]}"; do
      [ -e "$c" ] || continue
      kept=$corpus/regress-$(basename "$c")
      cp "$c" "$kept"
      echo "fuzz.sh: $name failed (exit $status); input kept as $kept"
    done
    cp "$log" "build/fuzz/$name-failure.log"
    echo "fuzz.sh: full log in build/fuzz/$name-failure.log"
    summary+=("$name: FAILED after ${runs:-?} runs, ${execs:-?} exec/s")
  else
    summary+=("$name: ok, ${runs:-?} runs in ${seconds}s, ${execs:-?} exec/s")
  fi
  rm -rf "$artifacts" "$log"
done

echo "== summary"
printf '%s\n' "${summary[@]}"
exit "$failed"
