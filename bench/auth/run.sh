#!/usr/bin/env bash
# bench/auth: what a token costs. Per algorithm (EdDSA, ES256, RS256, HS256), CPU µs per verify and
# per sign in outboard (auth::JwtVerifier, auth::sign_jwt: bench/auth/auth_bench.cpp, the release preset's RelWithDebInfo build)
# beside npm jose (jwtVerify against outboard's JWKS, SignJWT: bench/auth/jose_bench.mjs) for the
# same tokens and keys, and the revocation check (auth::Revocation::check) on redis without and with
# the near-cache. One thread each; the rounds interleave outboard, jose and revocation (rotating).
#
#   bash bench/auth/run.sh            3 rounds, 1 s per measurement; writes the section
#                                     "Auth: token verification" of docs/BENCHMARKS.md
#   bash bench/auth/run.sh --quick    1 round, 0.3 s per measurement; prints only
#   options: --rounds N  --seconds S  --no-doc  --keep (keep the temp dir)
#            --build-dir DIR (default build/release): configured RelWithDebInfo (the release preset) and
#              outboard_auth_bench built there
#            --no-build (use DIR's outboard_auth_bench as it is; implies --no-doc)
# A private redis-server on a free loopback port, stopped by its pid on exit (bench/lib.sh).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH="$ROOT/bench/auth"
ROUNDS=3
SECONDS_EACH=1
WRITE_DOC=1
KEEP=0
QUICK=0
BUILD=1
BUILD_DIR="$ROOT/build/release"

while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1; ROUNDS=1; SECONDS_EACH=0.3; WRITE_DOC=0 ;;
    --rounds) ROUNDS=$2; shift ;;
    --seconds) SECONDS_EACH=$2; shift ;;
    --no-doc) WRITE_DOC=0 ;;
    --keep) KEEP=1 ;;
    --build-dir) BUILD_DIR=$(realpath -m "$2"); shift ;;
    --no-build) BUILD=0; WRITE_DOC=0 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ "$ROUNDS" =~ ^[1-9]$ && "$SECONDS_EACH" =~ ^[0-9]{1,2}(\.[0-9]+)?$ ]] ||
  { echo "run.sh: rounds 1-9, seconds a number up to 60" >&2; exit 2; }

BENCH_NAME=auth
# shellcheck source=../lib.sh
source "$ROOT/bench/lib.sh"

# ---------------------------------------------------------------- what we need
command -v redis-server >/dev/null && command -v node >/dev/null &&
  [ -f "$ROOT/tests/interop/node_modules/.package-lock.json" ] || bash "$ROOT/scripts/setup.sh" >&2
[ -f "$ROOT/tests/interop/node_modules/jose/package.json" ] || die "jose is not installed: bash scripts/setup.sh"

BIN="$BUILD_DIR/bench/auth/outboard_auth_bench"
if [ "$BUILD" = 1 ]; then
  log "building outboard_auth_bench (RelWithDebInfo, as the release preset) in $BUILD_DIR"
  if [ "$BUILD_DIR" = "$ROOT/build/release" ]; then
    (cd "$ROOT" && bash scripts/build.sh release outboard_auth_bench)
  else
    cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
      cmake --build "$BUILD_DIR" --target outboard_auth_bench -j2
  fi >"$TMP/build.log" 2>&1 ||
    { tail -30 "$TMP/build.log" >&2; die "building outboard_auth_bench"; }
fi
[ -x "$BIN" ] || die "$BIN is missing (drop --no-build)"

start_redis "$TMP"
log "redis-server on 127.0.0.1:$REDIS_PORT (pid $REDIS_PID); work dir $TMP"

# ---------------------------------------------------------------- rounds
"$BIN" prepare "$TMP" || die "outboard_auth_bench prepare"
RESULTS="$TMP/results.jsonl"
: >"$RESULTS"

measure() {  # measure ROUND PART: runs one part, its JSON lines tagged with the round
  local round=$1 part=$2
  log "round $round: $part"
  case "$part" in
    outboard) "$BIN" jwt "$TMP" "$SECONDS_EACH" ;;
    jose) node "$BENCH/jose_bench.mjs" "$TMP" "$SECONDS_EACH" ;;
    revocation) "$BIN" revocation "redis://127.0.0.1:$REDIS_PORT/0" "$SECONDS_EACH" ;;
  esac >"$TMP/part.jsonl" || die "round $round: $part failed"
  # Only the JSON lines: the store logs to stdout too.
  grep "^{" "$TMP/part.jsonl" | sed "s/^{/{\"round\":$round,/" >>"$RESULTS"
}

PARTS=(outboard jose revocation)
for round in $(seq "$ROUNDS"); do
  for i in 0 1 2; do measure "$round" "${PARTS[$(((round - 1 + i) % 3))]}"; done
done

# ---------------------------------------------------------------- report
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null || true)
[ "$build_type" = RelWithDebInfo ] || [ "$build_type" = Release ] || log "warning: $BIN is a ${build_type:-unknown} build, not a release one"
jose_version=$(node -p "require('$ROOT/tests/interop/node_modules/jose/package.json').version")
python3 - "$TMP/meta.json" <<EOF
import json, sys
json.dump({"date": "$(date -u +%Y-%m-%d)", "quick": $QUICK == 1, "build": "${build_type:-unknown}", "rounds": $ROUNDS, "seconds": "$SECONDS_EACH",
           "machine": "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), load average $(cut -d' ' -f1-3 /proc/loadavg) at the end",
           "node": "node $(node --version)", "jose": "$jose_version",
           "redis": "$(redis-server --version | cut -d' ' -f1-3)",
           "commit": "$(cd "$ROOT" && git rev-parse --short HEAD)"}, open(sys.argv[1], "w"))
EOF
DOC_ARGS=()
[ "$WRITE_DOC" = 1 ] && DOC_ARGS=(--doc "$ROOT/docs/BENCHMARKS.md")
python3 "$BENCH/report.py" "$RESULTS" "$TMP/meta.json" "${DOC_ARGS[@]}"
[ "$WRITE_DOC" = 1 ] && log "docs/BENCHMARKS.md: section \"Auth: token verification\" written"
exit 0
