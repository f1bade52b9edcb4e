#!/usr/bin/env bash
# bench/actors: how many game-room players and rooms one 2-core machine holds (issue 20, "Scale"):
# outboard's GET /rooms/{id} (docs/ACTORS.md) on ONE `outboard serve --threads 2` with a sqlite store.
#
#   bash bench/actors/run.sh            the memory ladder and the move ladders (checkpointed, journaled);
#                                       writes the "## Actors" section of docs/BENCHMARKS.md
#   bash bench/actors/run.sh --quick    a short memory ladder, 2 s steps (smoke check; prints only)
#   options: --memory RxP,RxP,..   the memory ladder: R rooms x P players each, a fresh server each
#                                  (default 250x4,500x4,1000x4,2000x4,1000x8,1000x16,2000x8)
#            --move-rooms R (250) --move-players P (8)   the rooms of the move ladders
#            --rates M1,M2,..      moves per second in all, one step each, until a step does not hold
#            --seconds S (5)       per step
#            --max-p99-ms MS (100) a step holds only with every move acknowledged and a p99 at most this
#            --modes checkpointed,journaled   the move ladders run
#            --no-memory  --no-moves  --no-doc  --keep (keep the temp dir and logs)
#            --no-build (use the build dir as it is; implies --no-doc)
#            --build-dir DIR (default build/bench-actors: Release, targets outboard and outboard_game_load)
#            --outboard BIN (measure this outboard binary instead of the build dir's, e.g. a Debug one;
#                            the report says which build it was)
#            --quiet-budget S (default 120, --quick 0): before each measurement, wait up to 20 s (S in
#                            the whole run) for the machine to be quiet (< 0.3 cores busy)
#
# Each measurement is a fresh server: `outboard serve --threads 2 --kdf min --state sqlite://DIR/store.db
# --log-level warn`, its config file (written here) with [actors] enabled, the mode, and a per-player
# message rate raised so the bench measures the rooms, not the limit. The clients are ONE
# outboard_game_load process (one thread, Beast: bench/actors/game_load.cpp), on the same machine:
# it logs P users in, opens R rooms x P players (player j of every room is user j), and reads the
# server's VmRSS before and after (memory), then runs a ladder of move rates (moves).
# Everything listens on 127.0.0.1, on free ports, in a temp dir; every process this script starts is
# stopped by its pid on exit; every loop is bounded in count and time.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH="$ROOT/bench/actors"
MEMORY=250x4,500x4,1000x4,2000x4,1000x8,1000x16,2000x8
MOVE_ROOMS=250
MOVE_PLAYERS=8
RATES=500,1000,1500,2000,3000,4000,6000,8000,12000,16000,24000,32000
SECONDS_STEP=5
MAX_P99_MS=100
MODES=checkpointed,journaled
DO_MEMORY=1
DO_MOVES=1
WRITE_DOC=1
KEEP=0
QUICK=0
BUILD=1
BUILD_DIR="$ROOT/build/bench-actors"
OUTBOARD=""
QUIET_BUDGET=120
QUIET_WAIT=20
ARGS_TEXT="$*"

while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1; MEMORY=50x4,100x4,100x8; MOVE_ROOMS=20; MOVE_PLAYERS=4; RATES=100,400,1600; SECONDS_STEP=2
             WRITE_DOC=0; QUIET_BUDGET=0 ;;
    --memory) MEMORY=$2; shift ;;
    --move-rooms) MOVE_ROOMS=$2; shift ;;
    --move-players) MOVE_PLAYERS=$2; shift ;;
    --rates) RATES=$2; shift ;;
    --seconds) SECONDS_STEP=$2; shift ;;
    --max-p99-ms) MAX_P99_MS=$2; shift ;;
    --modes) MODES=$2; shift ;;
    --no-memory) DO_MEMORY=0 ;;
    --no-moves) DO_MOVES=0 ;;
    --no-doc) WRITE_DOC=0 ;;
    --keep) KEEP=1 ;;
    --no-build) BUILD=0; WRITE_DOC=0 ;;
    --build-dir) BUILD_DIR=$(realpath -m "$2"); shift ;;
    --outboard) OUTBOARD=$(realpath -m "$2"); shift ;;
    --quiet-budget) QUIET_BUDGET=$2; shift ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ "$MEMORY" =~ ^[0-9]+x[0-9]+(,[0-9]+x[0-9]+)*$ && "$MOVE_ROOMS" =~ ^[1-9][0-9]{0,4}$ && "$MOVE_PLAYERS" =~ ^([1-9]|1[0-6])$ &&
   "$RATES" =~ ^[0-9]+(,[0-9]+)*$ && "$SECONDS_STEP" =~ ^[0-9]{1,2}(\.[0-9]+)?$ && "$MAX_P99_MS" =~ ^[0-9]{1,5}$ &&
   "$MODES" =~ ^(checkpointed|journaled|local)(,(checkpointed|journaled|local))*$ && "$QUIET_BUDGET" =~ ^[0-9]{1,5}$ ]] ||
  { echo "run.sh: --memory RxP,.. (P 1-16), --move-rooms 1-99999, --move-players 1-16, rates a comma list, seconds up to 99, modes of checkpointed,journaled,local" >&2; exit 2; }

BENCH_NAME=actors
# shellcheck source=../lib.sh
source "$ROOT/bench/lib.sh"

command -v curl >/dev/null || die "curl is needed"
LOAD="$BUILD_DIR/bench/actors/outboard_game_load"
BUILD_TYPE=Release
if [ "$BUILD" = 1 ]; then
  log "building outboard and outboard_game_load (Release) in $BUILD_DIR"
  # Warnings are not errors here (as in bench/realtime): g++ 12 at -O3 reports false positives
  # that the CI builds (-O2 and below) do not; those builds hold the warnings.
  { cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DOUTBOARD_TESTS=OFF -DOUTBOARD_WERROR=OFF &&
    cmake --build "$BUILD_DIR" --target outboard outboard_game_load -j2; } >"$TMP/build.log" 2>&1 ||
    { tail -30 "$TMP/build.log" >&2; die "building in $BUILD_DIR"; }
else
  BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null || echo unknown)
fi
if [ -n "$OUTBOARD" ]; then
  BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$(dirname "$(dirname "$(dirname "$OUTBOARD")")")/CMakeCache.txt" 2>/dev/null || echo unknown)
  WRITE_DOC=$([ "$BUILD_TYPE" = Release ] && echo "$WRITE_DOC" || echo 0)
else
  OUTBOARD="$BUILD_DIR/apps/outboard/outboard"
fi
[ -x "$LOAD" ] || die "$LOAD is missing (drop --no-build)"
[ -x "$OUTBOARD" ] || die "$OUTBOARD is missing (drop --no-build)"

# Open files: the server and the load generator each hold one per player. Raise the limit where
# we may; where we may not, the ladder's points above it are skipped and the report says so.
ulimit -n 100000 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
FD_LIMIT=$(ulimit -n)
MAX_PLAYERS=$([ "$FD_LIMIT" = unlimited ] && echo 1000000 || echo $((FD_LIMIT - 200)))

SESSION_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
SERVER_PID=""
SERVER_PORT=""

start_server() {  # start_server MODE DIR: a fresh server; sets SERVER_PID, SERVER_PORT
  local mode=$1 dir=$2
  mkdir -p "$dir"
  cat >"$dir/outboard.toml" <<EOF
[actors]
enabled = true
mode = "$mode"
messages_per_second = 100000
EOF
  SERVER_PORT=$(free_port)
  OUTBOARD_SERVE_SESSIONS_KEYS="$SESSION_KEY" "$OUTBOARD" serve --config "$dir/outboard.toml" --listen 127.0.0.1 \
    --port "$SERVER_PORT" --instance bench-actors --threads 2 --kdf min --state "sqlite://$dir/store.db" \
    --log-level warn >"$dir/server.log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  wait_200 "http://127.0.0.1:$SERVER_PORT/healthz" "$SERVER_PID" "$dir/server.log"
}

stop_server() {
  stop_pid "$SERVER_PID"
  forget_pid "$SERVER_PID"
}

RESULTS="$TMP/results.jsonl"
: >"$RESULTS"

tagged() {  # tagged JSON-FIELDS FILE: appends FILE's JSON lines to RESULTS with the fields added
  grep '^{' "$2" | sed "s/^{/{$1,/" >>"$RESULTS" || true
}

measure_memory() {  # measure_memory ROOMS PLAYERS
  local rooms=$1 players=$2 dir="$TMP/memory-$1x$2"
  if [ $((rooms * players)) -gt "$MAX_PLAYERS" ]; then
    log "memory ${rooms}x$players: skipped ($((rooms * players)) players > $MAX_PLAYERS: the open-file limit is $FD_LIMIT)"
    echo "{\"kind\":\"skipped\",\"rooms\":$rooms,\"players_per_room\":$players}" | sed 's/^{/{"phase":"memory",/' >>"$RESULTS"
    return 0
  fi
  start_server checkpointed "$dir"
  wait_quiet
  log "memory: $rooms rooms x $players players"
  timeout 600 "$LOAD" --port "$SERVER_PORT" --server-pid "$SERVER_PID" --rooms "$rooms" --players "$players" \
    --timeout 500 >"$dir/load.jsonl" 2>"$dir/load.err" || log "memory ${rooms}x$players: the load exited non-zero (see $dir/load.*)"
  tagged '"phase":"memory","mode":"checkpointed"' "$dir/load.jsonl"
  sed -E -n 's/.*"rss_before_kb":([0-9]+),"rss_after_kb":([0-9]+).*/  RSS \1 KB -> \2 KB/p' "$dir/load.jsonl" >&2 || true
  stop_server
}

measure_moves() {  # measure_moves MODE
  local mode=$1 dir="$TMP/moves-$1"
  start_server "$mode" "$dir"
  wait_quiet
  log "moves, $mode: $MOVE_ROOMS rooms x $MOVE_PLAYERS players, ladder $RATES"
  timeout 900 "$LOAD" --port "$SERVER_PORT" --server-pid "$SERVER_PID" --rooms "$MOVE_ROOMS" --players "$MOVE_PLAYERS" \
    --rates "$RATES" --seconds "$SECONDS_STEP" --max-p99-ms "$MAX_P99_MS" --timeout 800 >"$dir/load.jsonl" 2>"$dir/load.err" ||
    log "moves, $mode: the load exited non-zero (see $dir/load.*)"
  tagged "\"phase\":\"moves\",\"mode\":\"$mode\"" "$dir/load.jsonl"
  grep -h '"kind":"step"' "$dir/load.jsonl" |
    sed -E 's/.*"rate":([0-9]+).*"acks_per_s":([0-9]+).*"p99_ms":([0-9.]+).*"server_cpu_us_per_move":([0-9.]+).*"held":([a-z]+).*/  rate \1: \2 acked\/s, p99 \3 ms, server \4 µs CPU per move, held \5/' >&2 || true
  stop_server
}

START=$(date +%s)
if [ "$DO_MEMORY" = 1 ]; then
  for point in ${MEMORY//,/ }; do measure_memory "${point%x*}" "${point#*x}"; done
fi
if [ "$DO_MOVES" = 1 ]; then
  for mode in ${MODES//,/ }; do measure_moves "$mode"; done
fi
ELAPSED=$(($(date +%s) - START))

python3 - "$TMP/meta.json" <<EOF
import json, sys
json.dump({"date": "$(date -u +%F)", "finished": "$(date -u '+%F %H:%M')", "quick": $QUICK == 1,
           "command": "bash bench/actors/run.sh${ARGS_TEXT:+ $ARGS_TEXT}", "elapsed_s": $ELAPSED,
           "memory": "$MEMORY", "move_rooms": $MOVE_ROOMS, "move_players": $MOVE_PLAYERS, "rates": "$RATES",
           "seconds": "$SECONDS_STEP", "max_p99_ms": $MAX_P99_MS, "fd_limit": "$FD_LIMIT", "build_type": "$BUILD_TYPE",
           "cores": $(nproc), "mem_total_kb": $(awk '/^MemTotal:/ {print $2}' /proc/meminfo),
           "machine": "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(awk '/^MemTotal:/ {printf "%.0f GB RAM", $2 / 1048576}' /proc/meminfo), Linux $(uname -r)",
           "load": "$(cut -d' ' -f1-3 /proc/loadavg)",
           "outboard": "$("$OUTBOARD" --version 2>&1 | head -1)",
           "commit": "$(commit_label)"},
          open(sys.argv[1], "w"))
EOF
DOC_ARGS=()
[ "$WRITE_DOC" = 1 ] && DOC_ARGS=(--doc "$ROOT/docs/BENCHMARKS.md")
python3 "$BENCH/report.py" "$RESULTS" "$TMP/meta.json" "${DOC_ARGS[@]}"
[ "$WRITE_DOC" = 1 ] && log "docs/BENCHMARKS.md: the \"## Actors\" section written"
exit 0
