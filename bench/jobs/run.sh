#!/usr/bin/env bash
# bench/jobs: outboard's job queue (redis and sqlite) against BullMQ 5 on the same redis-server
# (issue 17, "Measure"): jobs per second from the first enqueue to the last acknowledgement, and
# end-to-end latency (enqueue -> acknowledged) p50/p99, same job count, concurrency and payload.
#
#   bash bench/jobs/run.sh            3 interleaved rounds; writes the "### Latest run" part of the
#                                     "## Jobs" section of docs/BENCHMARKS.md
#   bash bench/jobs/run.sh --quick    1 round of 2,000 jobs (smoke check; prints only)
#   options: --rounds N (1-9)  --jobs N (20000)  --concurrency C (16)  --payload-bytes B (100)
#            --window W (64: enqueues in flight)  --timeout S (300, per measurement)
#            --driver runner|queue (outboard's workers: a jobs::Runner (default) or the JobQueue directly)
#            --warmup N (2000, --quick 500: BullMQ's unmeasured warm-up jobs, for V8's JIT)
#            --only outboard-redis|bullmq|outboard-sqlite (implies --no-doc)
#            --no-doc  --keep (keep the temp dir and logs)
#            --no-build (use the build dir as it is; implies --no-doc)
#            --build-dir DIR (default build/benchjobs: Release, target outboard_jobs_bench)
#            --quiet-budget S (default 300, --quick 0): before each measurement, wait up to 30 s (S in
#              the whole run) for the machine to be quiet (< 0.3 cores busy)
#
# Contenders, each a single process that enqueues N jobs one by one (its own dedupe key each, at
# most W enqueues in flight) while C workers in the same process take them:
#   outboard-redis   build/.../outboard_jobs_bench --url redis://127.0.0.1:PORT/0 (bench/jobs/jobs_bench.cpp)
#   bullmq           node bench/jobs/bullmq_bench.mjs --port PORT (a BullMQ Queue and Worker; first
#                    `--warmup` jobs not measured)
#   outboard-sqlite  outboard_jobs_bench --url sqlite://TMP/rN/jobs.db (a fresh file each time)
# One private redis-server (bench/lib.sh start_redis, no persistence), FLUSHALL before each
# measurement; per round the order is outboard-redis, bullmq, outboard-sqlite. Each measurement adds
# to its JSON line the CPU redis-server used meanwhile (/proc/PID/stat) and the load average.
# report.py takes the median over rounds and judges the target (>= 3x BullMQ's jobs/s).
# Everything listens on 127.0.0.1, on a free port, in a temp dir; every process this script starts
# is stopped by its pid on exit; every measurement is bounded in time.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH="$ROOT/bench/jobs"
ROUNDS=3
JOBS=20000
CONCURRENCY=16
PAYLOAD_BYTES=100
WINDOW=64
TIMEOUT=300
DRIVER=runner
WARMUP=2000
WRITE_DOC=1
KEEP=0
QUICK=0
BUILD=1
ONLY=""
BUILD_DIR="$ROOT/build/benchjobs"
QUIET_BUDGET=300
QUIET_WAIT=30
ARGS_TEXT="$*"

while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1; ROUNDS=1; JOBS=2000; WARMUP=500; WRITE_DOC=0; QUIET_BUDGET=0 ;;
    --driver) DRIVER=$2; shift ;;
    --warmup) WARMUP=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --jobs) JOBS=$2; shift ;;
    --concurrency) CONCURRENCY=$2; shift ;;
    --payload-bytes) PAYLOAD_BYTES=$2; shift ;;
    --window) WINDOW=$2; shift ;;
    --timeout) TIMEOUT=$2; shift ;;
    --quiet-budget) QUIET_BUDGET=$2; shift ;;
    --only) ONLY=$2; WRITE_DOC=0; shift ;;
    --no-doc) WRITE_DOC=0 ;;
    --keep) KEEP=1 ;;
    --no-build) BUILD=0; WRITE_DOC=0 ;;
    --build-dir) BUILD_DIR=$(realpath -m "$2"); shift ;;
    -h|--help) sed -n '2,32p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ "$ROUNDS" =~ ^[1-9]$ && "$JOBS" =~ ^[1-9][0-9]{0,6}$ && "$CONCURRENCY" =~ ^[1-9][0-9]{0,3}$ &&
   "$PAYLOAD_BYTES" =~ ^[0-9]{2,5}$ && "$WINDOW" =~ ^[1-9][0-9]{0,3}$ && "$TIMEOUT" =~ ^[1-9][0-9]{0,3}$ &&
   "$QUIET_BUDGET" =~ ^[0-9]{1,5}$ && "$WARMUP" =~ ^[0-9]{1,6}$ ]] ||
  { echo "run.sh: rounds 1-9, jobs 1-9999999, concurrency and window 1-9999, payload bytes 48-65536, timeout 1-9999 s" >&2; exit 2; }
[ "$PAYLOAD_BYTES" -ge 48 ] || { echo "run.sh: --payload-bytes is at least 48" >&2; exit 2; }
case "$DRIVER" in runner|queue) ;; *) echo "run.sh: --driver runner|queue" >&2; exit 2 ;; esac
case "$ONLY" in ""|outboard-redis|bullmq|outboard-sqlite) ;; *) echo "run.sh: --only outboard-redis|bullmq|outboard-sqlite" >&2; exit 2 ;; esac

BENCH_NAME=jobs
# shellcheck source=../lib.sh
source "$ROOT/bench/lib.sh"

# ---------------------------------------------------------------- what we need
command -v redis-server >/dev/null || bash "$ROOT/scripts/setup.sh" >&2
command -v node >/dev/null && command -v npm >/dev/null || die "node and npm are needed for the BullMQ contender"
[ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ] || die "Node $(node --version) is too old (20+)"
# npm ci when node_modules is missing or older than the lock file (npm ci rewrites .package-lock.json).
if [ ! -f "$BENCH/node_modules/.package-lock.json" ] || [ "$BENCH/package-lock.json" -nt "$BENCH/node_modules/.package-lock.json" ]; then
  log "npm ci in bench/jobs"
  (cd "$BENCH" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || die "npm ci in bench/jobs"
fi

JOBS_BENCH="$BUILD_DIR/bench/jobs/outboard_jobs_bench"
if [ "$BUILD" = 1 ]; then
  log "building outboard_jobs_bench (Release) in $BUILD_DIR"
  # Warnings are not errors here, as in bench/realtime: g++ 12 at -O3 reports false positives
  # (-Wrestrict inside std::string) that the CI builds (-O2 and below) do not.
  { cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DOUTBOARD_BENCH=ON -DOUTBOARD_TESTS=OFF \
      -DOUTBOARD_WERROR=OFF &&
    cmake --build "$BUILD_DIR" --target outboard_jobs_bench -j2; } >"$TMP/build.log" 2>&1 ||
    { tail -30 "$TMP/build.log" >&2; die "building in $BUILD_DIR"; }
fi
[ "$ONLY" = bullmq ] || [ -x "$JOBS_BENCH" ] || die "$JOBS_BENCH is missing (drop --no-build)"

# ---------------------------------------------------------------- redis
start_redis "$TMP"
log "redis-server on 127.0.0.1:$REDIS_PORT (pid $REDIS_PID); work dir $TMP"

RESULTS="$TMP/results.jsonl"
: >"$RESULTS"

# wait_quiet, busy_ticks: bench/lib.sh

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime of a process, in clock ticks

measure() {  # measure ROUND NAME: one contender's run, its JSON line appended to RESULTS
  local round=$1 name=$2 dir="$TMP/r$1-$2" out rc=0 r0 r1 b0 b1 t0 t1 hz load
  mkdir -p "$dir"
  redis-cli -p "$REDIS_PORT" flushall >/dev/null
  wait_quiet
  log "round $round: $name, $JOBS jobs, concurrency $CONCURRENCY"
  hz=$(getconf CLK_TCK)
  load=$(cut -d' ' -f1 /proc/loadavg)
  r0=$(cpu_ticks "$REDIS_PID"); b0=$(busy_ticks); t0=$(date +%s.%N)
  case "$name" in
    outboard-redis)
      timeout $((TIMEOUT + 30)) "$JOBS_BENCH" --url "redis://127.0.0.1:$REDIS_PORT/0" --jobs "$JOBS" --concurrency "$CONCURRENCY" \
        --payload-bytes "$PAYLOAD_BYTES" --window "$WINDOW" --timeout "$TIMEOUT" --driver "$DRIVER" >"$dir/out.jsonl" 2>"$dir/err.log" || rc=$? ;;
    outboard-sqlite)
      timeout $((TIMEOUT + 30)) "$JOBS_BENCH" --url "sqlite://$dir/jobs.db" --jobs "$JOBS" --concurrency "$CONCURRENCY" \
        --payload-bytes "$PAYLOAD_BYTES" --window "$WINDOW" --timeout "$TIMEOUT" --driver "$DRIVER" >"$dir/out.jsonl" 2>"$dir/err.log" || rc=$? ;;
    bullmq)
      timeout $((TIMEOUT + 30)) node "$BENCH/bullmq_bench.mjs" --port "$REDIS_PORT" --jobs "$JOBS" --concurrency "$CONCURRENCY" \
        --payload-bytes "$PAYLOAD_BYTES" --window "$WINDOW" --timeout "$TIMEOUT" --warmup "$WARMUP" >"$dir/out.jsonl" 2>"$dir/err.log" || rc=$? ;;
  esac
  r1=$(cpu_ticks "$REDIS_PID"); b1=$(busy_ticks); t1=$(date +%s.%N)
  [ "$rc" = 0 ] || { log "round $round: $name exited $rc (see $dir/err.log)"; tail -5 "$dir/err.log" >&2 || true; }
  out=$(grep -m1 '^{' "$dir/out.jsonl" || true)
  if [ -z "$out" ]; then
    out="{\"contender\":\"$name\",\"completed\":0,\"error\":\"no result line (exit $rc)\"}"
  fi
  # The redis-server's CPU and the whole machine's busy cores over the measurement (both include
  # the contender; others' = busy - contender's own - redis's).
  python3 - "$out" "$round" "$rc" "$r0" "$r1" "$b0" "$b1" "$t0" "$t1" "$hz" "$load" >>"$RESULTS" <<'EOF'
import json, sys
row = json.loads(sys.argv[1])
rnd, rc, r0, r1, b0, b1 = (int(x) for x in sys.argv[2:8])
t0, t1, hz, load = float(sys.argv[8]), float(sys.argv[9]), float(sys.argv[10]), float(sys.argv[11])
wall = max(t1 - t0, 1e-9)
row.update({"round": rnd, "exit": rc, "redis_cpu_s": (r1 - r0) / hz, "machine_busy_cores": (b1 - b0) / hz / wall,
            "wall_s": wall, "load1_before": load})
row["others_cores"] = max(0.0, row["machine_busy_cores"] - (row.get("cpu_total_s", row.get("cpu_s", 0)) + row["redis_cpu_s"]) / wall)
print(json.dumps(row))
EOF
  tail -1 "$RESULTS" | python3 -c 'import json,sys; r=json.loads(sys.stdin.read()); print("  %s: %s jobs/s, p50 %s ms, p99 %s ms, completed %s" % (r["contender"], round(r.get("jobs_per_s", 0)), r.get("p50_ms"), r.get("p99_ms"), r.get("completed")))' >&2
}

# ---------------------------------------------------------------- the rounds
CONTENDERS=(outboard-redis bullmq outboard-sqlite)
[ -z "$ONLY" ] || CONTENDERS=("$ONLY")
START=$(date +%s)
for round in $(seq "$ROUNDS"); do
  for name in "${CONTENDERS[@]}"; do measure "$round" "$name"; done
done
ELAPSED=$(($(date +%s) - START))

# ---------------------------------------------------------------- report
python3 - "$TMP/meta.json" <<EOF
import json, sys
json.dump({"date": "$(date -u +%Y-%m-%d)", "finished": "$(date -u '+%Y-%m-%d %H:%M')",
           "command": "bash bench/jobs/run.sh${ARGS_TEXT:+ $ARGS_TEXT}", "quick": $QUICK == 1, "rounds": $ROUNDS,
           "jobs": $JOBS, "warmup": $WARMUP, "driver": "$DRIVER", "concurrency": $CONCURRENCY, "payload_bytes": $PAYLOAD_BYTES, "window": $WINDOW,
           "elapsed_s": $ELAPSED, "quiet_waited_s": $QUIET_SPENT,
           "machine": "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')",
           "load": "$(cut -d' ' -f1-3 /proc/loadavg)",
           "commit": "$(commit_label src apps bench/jobs)",
           "node": "$(node --version)", "bullmq": "$(node -p "require('$BENCH/node_modules/bullmq/package.json').version")",
           "ioredis": "$(node -p "require('$BENCH/node_modules/ioredis/package.json').version")",
           "redis": "$(redis-server --version | cut -d' ' -f1-3)"}, open(sys.argv[1], "w"))
EOF
DOC_ARGS=()
[ "$WRITE_DOC" = 1 ] && DOC_ARGS=(--doc "$ROOT/docs/BENCHMARKS.md")
python3 "$BENCH/report.py" "$RESULTS" "$TMP/meta.json" "${DOC_ARGS[@]}"
[ "$WRITE_DOC" = 1 ] && log "docs/BENCHMARKS.md: the latest run of \"## Jobs\" written"
exit 0
