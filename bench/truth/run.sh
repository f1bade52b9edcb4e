#!/usr/bin/env bash
# bench/truth: how long several `outboard gateway` processes take to agree on which servers exist,
# when the truth is kept in etcd (docs/TRUTH.md; issue 18: "bench figures for convergence time
# with 2 and 4 gateways").
#
#   bash bench/truth/run.sh           20 rounds with 2 gateways, then 20 with 4 (~7 min plus the
#                                     build); writes the "## Truth: convergence over the registry"
#                                     section of docs/BENCHMARKS.md
#   bash bench/truth/run.sh --quick   2 rounds of each (smoke check; prints only)
#   options: --rounds R (1-99, default 20)  --gateways "2 4" (the gateway counts, each 1-16)
#            --poll-ms M (5: how often the bench asks each gateway's GET /backends)
#            --no-doc  --keep (keep the temp dir and logs)
#            --no-build (use the build dir as it is; implies --no-doc)
#            --build-dir DIR (default build/truthbench: Release, warnings not errors, target outboard)
#
# One etcd member (/usr/bin/etcd, Debian's 3.4) and, for each N, N gateways started afresh:
#   outboard gateway --registry etcd://127.0.0.1:P --registry-poll-ms 1000 --health-interval-ms 1000
#                    --threads 1 (no --backend: the registry is their only source)
# then bench/truth/driver.py runs R rounds of:
#   join   an `outboard serve --registry ... --registry-ttl-s 2 --state memory://` starts; per
#          gateway, its convergence histogram's delta (outboard_gateway_registry_convergence_seconds:
#          from the server's stamped change to that gateway applying it) and, for comparison, the
#          time from the process start until that gateway's GET /backends lists it "up"
#   drain  it gets SIGTERM (--registry-deregister-delay-ms 5000): time from the signal until each
#          gateway lists it "draining" (and the histogram delta)
#   death  a second serve gets SIGKILL: time from the kill until no gateway lists it (the lease's
#          TTL, 2 s, dominates: nobody is alive to say it is gone)
# "all gateways" is the largest figure over the gateways, per event. report.py gives p50/p99/max.
# Everything listens on 127.0.0.1, on a free port, in a temp dir; every process this script (or
# the driver) starts is stopped by its pid on exit; every wait is bounded.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH="$ROOT/bench/truth"
ROUNDS=20
GATEWAY_COUNTS="2 4"
POLL_MS=5
WRITE_DOC=1
KEEP=0
QUICK=0
BUILD=1
BUILD_DIR="$ROOT/build/truthbench"
ETCD=/usr/bin/etcd
ARGS_TEXT="$*"

while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1; ROUNDS=2; WRITE_DOC=0 ;;
    --rounds) ROUNDS=$2; shift ;;
    --gateways) GATEWAY_COUNTS=$2; shift ;;
    --poll-ms) POLL_MS=$2; shift ;;
    --no-doc) WRITE_DOC=0 ;;
    --keep) KEEP=1 ;;
    --no-build) BUILD=0; WRITE_DOC=0 ;;
    --build-dir) BUILD_DIR=$(realpath -m "$2"); shift ;;
    -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ "$ROUNDS" =~ ^[1-9][0-9]?$ && "$POLL_MS" =~ ^[1-9][0-9]{0,3}$ && "$GATEWAY_COUNTS" =~ ^[0-9\ ]+$ ]] ||
  { echo "run.sh: --rounds 1-99, --poll-ms 1-9999, --gateways \"2 4\"" >&2; exit 2; }
for n in $GATEWAY_COUNTS; do
  [ "$n" -ge 1 ] && [ "$n" -le 16 ] || { echo "run.sh: each gateway count is 1-16" >&2; exit 2; }
done

BENCH_NAME=truth
export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ beside bench/doc_section.py
# shellcheck source=../lib.sh
source "$ROOT/bench/lib.sh"

# The driver's serves are not in PIDS (the driver started them): it appends each pid to this file
# at once. On exit the driver is stopped first (it starts no more), then its serves, then the rest.
SERVE_PIDS="$TMP/serve.pids"
: >"$SERVE_PIDS"
DRIVER_PID=""
on_exit() {
  local rc=$? pid
  set +e  # (exit "$rc") below must not end the handler
  [ -z "$DRIVER_PID" ] || stop_pid "$DRIVER_PID"
  while read -r pid; do
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  done <"$SERVE_PIDS"
  (exit "$rc")
  cleanup  # bench/lib.sh's: stops PIDS, removes or keeps TMP, exits with $rc
}
trap on_exit EXIT

# ---------------------------------------------------------------- what we need
[ -x "$ETCD" ] || bash "$ROOT/scripts/setup.sh" >&2
[ -x "$ETCD" ] || die "$ETCD is missing (Debian's etcd-server)"
command -v curl >/dev/null && command -v python3 >/dev/null || die "curl and python3 are needed"

OUTBOARD="$BUILD_DIR/apps/outboard/outboard"
if [ "$BUILD" = 1 ]; then
  log "building outboard (Release) in $BUILD_DIR"
  # Warnings are not errors here, as in bench/jobs: g++ 12 at -O3 reports false positives
  # (-Wrestrict inside std::string, in src/jobs/cron.cpp) that the CI builds (-O2 and below) do not.
  { cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DOUTBOARD_TESTS=OFF -DOUTBOARD_BENCH=OFF \
      -DOUTBOARD_WERROR=OFF &&
    cmake --build "$BUILD_DIR" --target outboard -j2; } >"$TMP/build.log" 2>&1 ||
    { tail -30 "$TMP/build.log" >&2; die "building in $BUILD_DIR"; }
fi
[ -x "$OUTBOARD" ] || die "$OUTBOARD is missing (drop --no-build)"

# ---------------------------------------------------------------- etcd (one member)
ETCD_PORT=$(free_port)
ETCD_PEER=$(free_port)
while [ "$ETCD_PEER" = "$ETCD_PORT" ]; do ETCD_PEER=$(free_port); done
# Flags as src/lab/etcd_cluster.cpp's: short heartbeat and election timeout, warnings only.
"$ETCD" --name etcd0 --data-dir "$TMP/etcd0" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER" \
  --initial-cluster "etcd0=http://127.0.0.1:$ETCD_PEER" --initial-cluster-token "truthbench-$$" \
  --initial-cluster-state new --heartbeat-interval 50 --election-timeout 500 \
  --logger zap --log-level warn >"$TMP/etcd.log" 2>&1 &
ETCD_PID=$!
PIDS+=("$ETCD_PID")
for i in $(seq 100); do
  curl -s --max-time 1 "http://127.0.0.1:$ETCD_PORT/health" | grep -q '"health":"true"' && break
  kill -0 "$ETCD_PID" 2>/dev/null || { tail -20 "$TMP/etcd.log" >&2; die "etcd exited while starting"; }
  [ "$i" != 100 ] || { tail -20 "$TMP/etcd.log" >&2; die "etcd was not healthy within 10 s"; }
  sleep 0.1
done
REGISTRY="etcd://127.0.0.1:$ETCD_PORT"
log "etcd $("$ETCD" --version | head -1 | awk '{print $3}') on 127.0.0.1:$ETCD_PORT (pid $ETCD_PID); work dir $TMP"

# ---------------------------------------------------------------- gateways
GW_PIDS=()
GW_SPECS=""
start_gateway() {  # start_gateway DIR: one gateway on the registry alone; appends to GW_PIDS, GW_SPECS
  local dir=$1 port admin pid i token
  mkdir -p "$dir"
  port=$(free_port)
  admin=$(free_port)
  while [ "$admin" = "$port" ]; do admin=$(free_port); done
  "$OUTBOARD" gateway --listen "127.0.0.1:$port" --admin "127.0.0.1:$admin" --admin-token-file "$dir/admin.token" \
    --threads 1 --registry "$REGISTRY" --registry-poll-ms 1000 --health-interval-ms 1000 >"$dir/gateway.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  GW_PIDS+=("$pid")
  for i in $(seq 150); do
    kill -0 "$pid" 2>/dev/null || { tail -20 "$dir/gateway.log" >&2; die "gateway $pid exited while starting"; }
    if [ -s "$dir/admin.token" ]; then
      token=$(tr -d '[:space:]' <"$dir/admin.token")
      [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 -H "Authorization: Bearer $token" \
            "http://127.0.0.1:$admin/backends")" = 200 ] && break
    fi
    [ "$i" != 150 ] || { tail -20 "$dir/gateway.log" >&2; die "gateway $pid: admin API not answering within 15 s"; }
    sleep 0.1
  done
  GW_SPECS="${GW_SPECS:+$GW_SPECS,}$admin:$dir/admin.token"
}

RESULTS="$TMP/results.jsonl"
: >"$RESULTS"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
START=$(date +%s)
for n in $GATEWAY_COUNTS; do
  GW_PIDS=()
  GW_SPECS=""
  for g in $(seq "$n"); do start_gateway "$TMP/n$n/gw$g"; done
  log "$n gateways up ($GW_SPECS); $ROUNDS rounds"
  # Each wait in the driver is bounded (30 s); this bounds the whole.
  timeout $((ROUNDS * 120 + 60)) python3 "$BENCH/driver.py" --outboard "$OUTBOARD" --registry "$REGISTRY" \
    --gateways "$GW_SPECS" --dir "$TMP/n$n" --pids-file "$SERVE_PIDS" --rounds "$ROUNDS" --poll-ms "$POLL_MS" \
    >>"$RESULTS" &
  DRIVER_PID=$!
  wait "$DRIVER_PID" || die "driver.py with $n gateways failed (logs in $TMP/n$n)"
  DRIVER_PID=""
  for pid in "${GW_PIDS[@]}"; do stop_pid "$pid"; forget_pid "$pid"; done
done
ELAPSED=$(($(date +%s) - START))

# ---------------------------------------------------------------- report
python3 - "$TMP/meta.json" <<EOF
import json, sys
json.dump({"date": "$(date -u +%Y-%m-%d)", "finished": "$(date -u '+%Y-%m-%d %H:%M')",
           "command": "bash bench/truth/run.sh${ARGS_TEXT:+ $ARGS_TEXT}", "quick": $QUICK == 1, "rounds": $ROUNDS,
           "poll_ms": $POLL_MS, "elapsed_s": $ELAPSED,
           "machine": "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')",
           "load_start": "$LOAD_START", "load_end": "$(cut -d' ' -f1-3 /proc/loadavg)",
           "commit": "$(commit_label)",
           "build": "$(basename "$BUILD_DIR")",
           "etcd": "$("$ETCD" --version | head -1 | awk '{print $3}')"}, open(sys.argv[1], "w"))
EOF
DOC_ARGS=()
[ "$WRITE_DOC" = 1 ] && DOC_ARGS=(--doc "$ROOT/docs/BENCHMARKS.md")
python3 "$BENCH/report.py" "$RESULTS" "$TMP/meta.json" "${DOC_ARGS[@]}"
[ "$WRITE_DOC" = 1 ] && log "docs/BENCHMARKS.md: \"## Truth: convergence over the registry\" written"
exit 0
