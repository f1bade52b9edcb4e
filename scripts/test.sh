#!/usr/bin/env bash
# Everything CI checks, from a fresh Debian 12 machine: install what is missing, then
#   1. g++ 12 debug build, warnings as errors, every test;
#   2. g++ 12 with ASan+UBSan, every test again, without the bench executables (stage 1 has
#      compiled them with g++ and no test runs them; g++ 12 has coroutine bugs that only a
#      sanitizer shows: see src/core/offload.hpp);
#   3. clang 14 with ASan+UBSan, warnings as errors, every test again, plus the libFuzzer
#      targets (OUTBOARD_FUZZ): each reruns its checked-in corpus, then fuzzes for 10 s
#      (tests/fuzz/run_fuzz_ci.sh, docs/FUZZING.md).
# Tests start their own redis-server and outboard processes on free loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

jobs=$(nproc)
# A clean CI machine has nothing cached: ccache would only keep a second copy of every object.
if [[ ${CI:-} == true ]]; then export CCACHE_DISABLE=1; fi
run_tests() {
  local preset=$1
  echo "== build: $preset"
  bash scripts/build.sh "$preset"
  echo "== test: $preset"
  ctest --test-dir "build/$preset" --output-on-failure --timeout 300 -j "$jobs"
  # CI's disk holds one build at a time: three sanitizer and debug builds of every test binary
  # filled it once. A developer's machine keeps its builds for the next incremental one.
  if [[ ${CI:-} == true ]]; then rm -rf "build/$preset"; fi
}

run_tests debug
# Sanitizers stop at the first error; leaks are checked too.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_tests asan-ubsan
run_tests clang-asan-ubsan
echo "== all tests passed (g++ debug, g++ asan-ubsan, clang asan-ubsan)"
