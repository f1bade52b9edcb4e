#!/usr/bin/env bash
# bench/realtime: outboard's rooms over WebSocket (GET /ws, docs/REALTIME.md) against Socket.IO 4 with
# @socket.io/redis-adapter, in one run (issue 16, "Measure").
#
#   bash bench/realtime/run.sh            3 interleaved rounds; writes the "### Latest run" part of the
#                                         "## Realtime" section of docs/BENCHMARKS.md
#   bash bench/realtime/run.sh --quick    1 round, a short ladder, 2 s steps, 2,000 idle connections
#                                         per server (smoke check; prints only)
#   options: --rounds N (1-9)  --seconds S (per step, default 5)  --rooms N (50)  --subscribers M (40)
#            --rates R1,R2,... (the ladder of messages sent per second, in all)
#            --text-bytes B (64)  --max-p99-ms MS (100: a step holds only with a p99 at most this)
#            --idle-conns N (20000 per server; capped by the open-file limit, said in the report)
#            --no-idle  --no-fanout  --no-doc  --keep (keep the temp dir and logs)
#            --only outboard|socketio (implies --no-doc)
#            --no-build (use the build dir as it is; implies --no-doc)
#            --build-dir DIR (default build/bench: Release, targets outboard and outboard_ws_load)
#            --quiet-budget S (default 300, --quick 0): before each measurement, wait up to 30 s (S in
#              the whole run) for the machine to be quiet (< 0.3 cores busy)
#
# Each contender is TWO server processes on the same private redis-server (bench/lib.sh start_redis):
#   outboard   outboard serve --threads 1 --state redis://..., [realtime] limits raised (run.sh writes
#              the config), --log-level warn; clients log in (POST /signup, POST /login) and send the
#              session cookie with the upgrade
#   socketio   node bench/realtime/socketio_server.mjs (Socket.IO 4, websocket transport only, the
#              redis adapter), one Node process each; logs nothing per message
# Clients connect to the servers directly (no gateway), all from one outboard_ws_load process
# (one thread, Beast, the same code path for both protocols: bench/realtime/ws_load.cpp).
# In each round, for each contender in turn (the order alternates from round to round):
#   idle    two fresh servers; one outboard_ws_load per server opens N connections, each through
#           the greeting; the server's resident memory before and after (VmRSS), per connection
#   fanout  two fresh servers (redis flushed); N rooms x M subscribers, half of each room's
#           subscribers on each server, one sender per room; the ladder of send rates, S seconds a
#           step, until a step does not hold; delivered messages/s, latency p50/p99 (the send
#           time is in the text; sender and receivers are one process: one clock), server CPU per
#           delivered message (/proc/PID/stat of both servers, before and after each step)
# report.py takes the median over rounds and judges the targets of issue 16.
# Everything listens on 127.0.0.1, on free ports, in a temp dir; every process this script starts is
# stopped by its pid on exit; every loop is bounded in count and time.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH="$ROOT/bench/realtime"
ROUNDS=3
SECONDS_STEP=5
ROOMS=50
SUBSCRIBERS=40
RATES=50,100,200,300,400,600,800,1200,1600,2400,3200,4800,6400,9600,12800,19200
TEXT_BYTES=64
MAX_P99_MS=100
IDLE_CONNS=20000
DO_IDLE=1
DO_FANOUT=1
WRITE_DOC=1
KEEP=0
QUICK=0
BUILD=1
ONLY=""
BUILD_DIR="$ROOT/build/bench"
QUIET_BUDGET=300
QUIET_WAIT=30
ARGS_TEXT="$*"

while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1; ROUNDS=1; SECONDS_STEP=2; ROOMS=20; SUBSCRIBERS=20; RATES=100,400,1600,6400; IDLE_CONNS=2000; WRITE_DOC=0
             QUIET_BUDGET=0 ;;
    --quiet-budget) QUIET_BUDGET=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --seconds) SECONDS_STEP=$2; shift ;;
    --rooms) ROOMS=$2; shift ;;
    --subscribers) SUBSCRIBERS=$2; shift ;;
    --rates) RATES=$2; shift ;;
    --text-bytes) TEXT_BYTES=$2; shift ;;
    --max-p99-ms) MAX_P99_MS=$2; shift ;;
    --idle-conns) IDLE_CONNS=$2; shift ;;
    --no-idle) DO_IDLE=0 ;;
    --no-fanout) DO_FANOUT=0 ;;
    --no-doc) WRITE_DOC=0 ;;
    --keep) KEEP=1 ;;
    --only) ONLY=$2; WRITE_DOC=0; shift ;;
    --no-build) BUILD=0; WRITE_DOC=0 ;;
    --build-dir) BUILD_DIR=$(realpath -m "$2"); shift ;;
    -h|--help) sed -n '2,38p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ "$ROUNDS" =~ ^[1-9]$ && "$SECONDS_STEP" =~ ^[0-9]{1,2}(\.[0-9]+)?$ && "$ROOMS" =~ ^[1-9][0-9]{0,3}$ &&
   "$SUBSCRIBERS" =~ ^[1-9][0-9]{0,3}$ && "$RATES" =~ ^[0-9]+(,[0-9]+)*$ && "$TEXT_BYTES" =~ ^[0-9]{2,4}$ &&
   "$MAX_P99_MS" =~ ^[0-9]{1,5}$ && "$IDLE_CONNS" =~ ^[1-9][0-9]{0,5}$ && "$QUIET_BUDGET" =~ ^[0-9]{1,5}$ ]] ||
  { echo "run.sh: rounds 1-9, seconds up to 99, rooms and subscribers 1-9999, rates a comma list, text bytes 32-4096, idle conns 1-999999" >&2; exit 2; }
case "$ONLY" in ""|outboard|socketio) ;; *) echo "run.sh: --only outboard|socketio" >&2; exit 2 ;; esac

BENCH_NAME=realtime
# shellcheck source=../lib.sh
source "$ROOT/bench/lib.sh"

# ---------------------------------------------------------------- what we need
command -v redis-server >/dev/null || bash "$ROOT/scripts/setup.sh" >&2
command -v curl >/dev/null || die "curl is needed"
command -v node >/dev/null && command -v npm >/dev/null || die "node and npm are needed for the Socket.IO contender"
[ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ] || die "Node $(node --version) is too old (20+)"
# npm ci when node_modules is missing or older than the lock file (npm ci rewrites .package-lock.json).
if [ ! -f "$BENCH/node_modules/.package-lock.json" ] || [ "$BENCH/package-lock.json" -nt "$BENCH/node_modules/.package-lock.json" ]; then
  log "npm ci in bench/realtime"
  (cd "$BENCH" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || die "npm ci in bench/realtime"
fi

OUTBOARD="$BUILD_DIR/apps/outboard/outboard"
LOAD="$BUILD_DIR/bench/realtime/outboard_ws_load"
if [ "$BUILD" = 1 ]; then
  log "building outboard and outboard_ws_load (Release) in $BUILD_DIR"
  # Warnings are not errors here: g++ 12 at -O3 reports false positives (-Wrestrict inside
  # std::string) that the CI builds (-O2 and below) do not; those builds hold the warnings.
  { cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DOUTBOARD_TESTS=OFF -DOUTBOARD_WERROR=OFF &&
    cmake --build "$BUILD_DIR" --target outboard outboard_ws_load -j2; } >"$TMP/build.log" 2>&1 ||
    { tail -30 "$TMP/build.log" >&2; die "building in $BUILD_DIR"; }
fi
[ -x "$LOAD" ] || die "$LOAD is missing (drop --no-build)"
[ "$ONLY" = socketio ] || [ -x "$OUTBOARD" ] || die "$OUTBOARD is missing (drop --no-build)"

# Open files: each server holds N idle connections and each client process N too. Raise the limit
# where we may; where we may not (no CAP_SYS_RESOURCE), hold as many as the hard limit allows and
# say so in the report.
IDLE_ASKED=$IDLE_CONNS
ulimit -n $((IDLE_CONNS + 1000)) 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
FD_LIMIT=$(ulimit -n)
if [ "$FD_LIMIT" != unlimited ] && [ $((IDLE_CONNS + 500)) -gt "$FD_LIMIT" ]; then
  IDLE_CONNS=$((FD_LIMIT - 500))
  log "the open-file limit is $FD_LIMIT and cannot be raised here: $IDLE_CONNS idle connections per server, not $IDLE_ASKED"
fi

# ---------------------------------------------------------------- redis and the servers
start_redis "$TMP"
REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
SESSION_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
log "redis-server on 127.0.0.1:$REDIS_PORT (pid $REDIS_PID); work dir $TMP"

# outboard's realtime limits, raised so that the bench measures fan-out, not the limits: the
# per-connection send rate (one sender per room sends rate/rooms a second) and the outbound queue
# (a subscriber that falls behind is cut off with 1008 at this many messages waiting; Socket.IO has
# no such limit and buffers without bound).
OUTBOARD_CONFIG="$TMP/outboard.toml"
cat >"$OUTBOARD_CONFIG" <<EOF
[realtime]
messages_per_second = 1000000
outbound_queue = 1000000
EOF

SERVER_PIDS=()
SERVER_PORTS=()
COOKIE=""


start_servers() {  # start_servers NAME DIR: two servers of contender NAME; sets SERVER_PIDS, SERVER_PORTS
  local name=$1 dir=$2 i port pid
  mkdir -p "$dir"
  SERVER_PIDS=()
  SERVER_PORTS=()
  redis-cli -p "$REDIS_PORT" flushall >/dev/null
  for i in 1 2; do
    port=$(free_port)
    case "$name" in
      outboard)
        OUTBOARD_SERVE_SESSIONS_KEYS="$SESSION_KEY" "$OUTBOARD" serve --config "$OUTBOARD_CONFIG" --listen 127.0.0.1 \
          --port "$port" --instance "bench-$i" --threads 1 --kdf min --state "$REDIS_URL" --blobs "file://$dir/blobs" \
          --log-level warn >"$dir/server$i.log" 2>&1 &
        ;;
      socketio)
        node "$BENCH/socketio_server.mjs" --port "$port" --redis "$REDIS_URL" --instance "bench-$i" >"$dir/server$i.log" 2>&1 &
        ;;
    esac
    pid=$!
    PIDS+=("$pid")
    SERVER_PIDS+=("$pid")
    SERVER_PORTS+=("$port")
  done
  for i in 0 1; do wait_200 "http://127.0.0.1:${SERVER_PORTS[$i]}/healthz" "${SERVER_PIDS[$i]}" "$dir/server$((i + 1)).log"; done
  COOKIE=""
  [ "$name" = outboard ] && login "${SERVER_PORTS[0]}"
  return 0
}

stop_servers() {
  local pid
  for pid in "${SERVER_PIDS[@]}"; do stop_pid "$pid"; forget_pid "$pid"; done
  SERVER_PIDS=()
}

login() {  # login PORT: one user for every connection (sessions are in redis: both servers know it); sets COOKIE
  local port=$1 code creds='{"user":"bench","password":"benchpassword"}'
  code=$(curl -s --max-time 10 -o "$TMP/body" -w '%{http_code}' -H 'Content-Type: application/json' -d "$creds" "http://127.0.0.1:$port/signup" || true)
  [ "$code" = 201 ] || { cat "$TMP/body" >&2; die "outboard: POST /signup answered $code"; }
  code=$(curl -s --max-time 10 -o "$TMP/body" -D "$TMP/h" -w '%{http_code}' -H 'Content-Type: application/json' -d "$creds" "http://127.0.0.1:$port/login" || true)
  [ "$code" = 200 ] || { cat "$TMP/body" >&2; die "outboard: POST /login answered $code"; }
  COOKIE=$(grep -i '^set-cookie:' "$TMP/h" | head -1 | sed -E 's/^[Ss]et-[Cc]ookie: *([^;]*).*/\1/' | tr -d '\r')
  [ -n "$COOKIE" ] || die "outboard: POST /login set no cookie"
}

RESULTS="$TMP/results.jsonl"
: >"$RESULTS"

# wait_quiet: bench/lib.sh (the load generator reports the others' cores during every step, and
# the report shows them)

tagged() {  # tagged ROUND FILE: appends FILE's JSON lines to RESULTS with the round added
  grep '^{' "$2" | sed "s/^{/{\"round\":$1,/" >>"$RESULTS" || true
}

measure_idle() {  # measure_idle ROUND NAME
  local round=$1 name=$2 dir="$TMP/r$1-$2-idle" i pids=()
  start_servers "$name" "$dir"
  wait_quiet
  log "round $round: $name idle, $IDLE_CONNS connections on each server"
  for i in 0 1; do
    timeout 600 "$LOAD" idle --protocol "$name" --port "${SERVER_PORTS[$i]}" --server-pid "${SERVER_PIDS[$i]}" \
      ${COOKIE:+--cookie "$COOKIE"} --conns "$IDLE_CONNS" --timeout 500 >"$dir/idle$i.jsonl" 2>"$dir/idle$i.err" &
    pids+=($!)
  done
  for i in 0 1; do wait "${pids[$i]}" || log "round $round: $name idle on server $((i + 1)) failed (see $dir/idle$i.*)"; done
  for i in 0 1; do tagged "$round" "$dir/idle$i.jsonl"; done
  stop_servers
}

measure_fanout() {  # measure_fanout ROUND NAME
  local round=$1 name=$2 dir="$TMP/r$1-$2-fanout"
  start_servers "$name" "$dir"
  wait_quiet
  log "round $round: $name fanout, $ROOMS rooms x $SUBSCRIBERS subscribers, ladder $RATES"
  timeout 900 "$LOAD" fanout --protocol "$name" --port "${SERVER_PORTS[0]}" --port "${SERVER_PORTS[1]}" \
    --server-pid "${SERVER_PIDS[0]}" --server-pid "${SERVER_PIDS[1]}" --redis-pid "$REDIS_PID" ${COOKIE:+--cookie "$COOKIE"} \
    --rooms "$ROOMS" --subscribers "$SUBSCRIBERS" --rates "$RATES" --seconds "$SECONDS_STEP" --text-bytes "$TEXT_BYTES" \
    --max-p99-ms "$MAX_P99_MS" --timeout 800 >"$dir/fanout.jsonl" 2>"$dir/fanout.err" ||
    log "round $round: $name fanout exited non-zero (see $dir/fanout.*)"
  tagged "$round" "$dir/fanout.jsonl"
  grep -h '"kind":"step"' "$dir/fanout.jsonl" | sed -E 's/.*"rate":([0-9]+).*"delivered_per_s":([0-9]+).*"p99_ms":([0-9.]+).*"held":([a-z]+).*/  rate \1: \2 delivered\/s, p99 \3 ms, held \4/' >&2 || true
  stop_servers
}

# ---------------------------------------------------------------- the rounds
CONTENDERS=(outboard socketio)
[ -z "$ONLY" ] || CONTENDERS=("$ONLY")
START=$(date +%s)
for round in $(seq "$ROUNDS"); do
  order=("${CONTENDERS[@]}")
  if [ ${#CONTENDERS[@]} = 2 ] && [ $((round % 2)) = 0 ]; then order=(socketio outboard); fi
  for name in "${order[@]}"; do
    [ "$DO_IDLE" = 0 ] || measure_idle "$round" "$name"
    [ "$DO_FANOUT" = 0 ] || measure_fanout "$round" "$name"
  done
done
ELAPSED=$(($(date +%s) - START))

# ---------------------------------------------------------------- report
pkg_version() { node -p "require('$BENCH/node_modules/$1/package.json').version"; }
python3 - "$TMP/meta.json" <<EOF
import json, sys
json.dump({"date": "$(date -u +%F)", "finished": "$(date -u '+%F %H:%M')", "quick": $QUICK == 1, "rounds": $ROUNDS,
           "command": "bash bench/realtime/run.sh${ARGS_TEXT:+ $ARGS_TEXT}", "elapsed_s": $ELAPSED,
           "seconds": "$SECONDS_STEP", "rooms": $ROOMS, "subscribers": $SUBSCRIBERS, "rates": "$RATES",
           "text_bytes": $TEXT_BYTES, "max_p99_ms": $MAX_P99_MS, "idle_conns": $IDLE_CONNS, "idle_asked": $IDLE_ASKED,
           "fd_limit": "$FD_LIMIT",
           "machine": "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), Linux $(uname -r)",
           "load": "$(cut -d' ' -f1-3 /proc/loadavg)",
           "outboard": "$( [ -x "$OUTBOARD" ] && "$OUTBOARD" --version 2>&1 | head -1 || echo 'not built')",
           "commit": "$(commit_label)",
           "node": "$(node --version)", "socketio": "$(pkg_version socket.io)",
           "adapter": "$(pkg_version @socket.io/redis-adapter)", "node_redis": "$(pkg_version redis)",
           "redis": "$(redis-server --version | cut -d' ' -f1-3)"}, open(sys.argv[1], "w"))
EOF
DOC_ARGS=()
[ "$WRITE_DOC" = 1 ] && DOC_ARGS=(--doc "$ROOT/docs/BENCHMARKS.md")
python3 "$BENCH/report.py" "$RESULTS" "$TMP/meta.json" "${DOC_ARGS[@]}"
[ "$WRITE_DOC" = 1 ] && log "docs/BENCHMARKS.md: the latest run of \"## Realtime\" written"
exit 0
