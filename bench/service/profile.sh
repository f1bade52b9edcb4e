#!/usr/bin/env bash
# bench/service/profile.sh: where `outboard serve` spends its instructions per request.
#
#   bash bench/service/profile.sh [--binary PATH] [--stores memory,sqlite,redis,redis-nc]
#                                 [--routes me,cart] [--seconds S] [--connections C] [--out DIR]
#
# For each store (redis-nc: redis with --near-cache-entries 10000) one `outboard serve --threads 1`
# runs under valgrind --tool=callgrind; after a sign-up, a login and a warm-up, for each route
# (GET /me, POST /cart/items with a unique Idempotency-Key per request) the counters are zeroed,
# wrk -t1 -cC runs for S seconds, the counters are dumped, and the requests the server answered
# (2xx in /metrics, read before the zeroing and after the dump, so the scrape costs nothing here)
# divide them: instructions (Ir, user space) per request, the costliest functions, malloc/new
# calls per request (bench/gateway/callgrind_summary.py). For redis stores, the Redis commands per
# request too (INFO commandstats). Absolute times under valgrind mean nothing; counts do.
# --binary: default build/release/apps/outboard/outboard, used as it is (build it first).
# Results go to DIR (default: a temp dir, printed), one summary per store and route.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH="$ROOT/bench/service"
OUTBOARD="$ROOT/build/release/apps/outboard/outboard"
STORES=memory,sqlite,redis,redis-nc
ROUTE_LIST=me,cart
SECONDS_RUN=6
CONNECTIONS=16
OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) OUTBOARD=$2; shift ;;
    --stores) STORES=$2; shift ;;
    --routes) ROUTE_LIST=$2; shift ;;
    --seconds) SECONDS_RUN=$2; shift ;;
    --connections) CONNECTIONS=$2; shift ;;
    --out) OUT=$2; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "profile.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ "$SECONDS_RUN" =~ ^[1-9][0-9]?$ && "$CONNECTIONS" =~ ^[1-9][0-9]{0,2}$ ]] ||
  { echo "profile.sh: --seconds 1-99, --connections 1-999" >&2; exit 2; }

BENCH_NAME=service-profile
KEEP=1
# shellcheck source=../lib.sh
source "$ROOT/bench/lib.sh"
# shellcheck source=redis_commands.sh
source "$BENCH/redis_commands.sh"
[ -n "$OUT" ] || OUT="$TMP/out"
mkdir -p "$OUT"
for tool in wrk valgrind callgrind_control curl redis-server redis-cli openssl python3; do
  command -v "$tool" >/dev/null || die "$tool is needed"
done
[ -x "$OUTBOARD" ] || die "$OUTBOARD is missing (bash scripts/build.sh release outboard, or --binary)"

REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$TMP" --daemonize no \
  --logfile "$TMP/redis.log" &
REDIS_PID=$!
PIDS+=("$REDIS_PID")
for _ in $(seq 100); do redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
SESSION_KEY=$(openssl rand -hex 32)

# wait_200 URL PID: up to 60 s (valgrind starts slowly)
wait_200() {
  local i
  for i in $(seq 600); do
    kill -0 "$2" 2>/dev/null || die "process $2 exited while starting"
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" || true)" != 200 ] || return 0
    sleep 0.1
  done
  die "$1 did not answer 200 in 60 s"
}

# answered ROUTE: the 2xx answers of that route so far, from /metrics
answered() {
  local pattern
  case "$1" in me) pattern='route="/me"' ;; cart) pattern='route="/cart/items"' ;; esac
  curl -s --max-time 30 "http://127.0.0.1:$PORT/metrics" |
    awk -v p="$pattern" 'index($0, "outboard_http_requests_total{") == 1 && index($0, p) && $0 ~ /status="2/ {n += $NF} END {print n + 0}'
}


IFS=, read -r -a stores <<<"$STORES"
IFS=, read -r -a routes <<<"$ROUTE_LIST"
for store in "${stores[@]}"; do
  dir="$TMP/$store"
  mkdir -p "$dir"
  redis-cli -p "$REDIS_PORT" flushall >/dev/null
  extra=()
  case "$store" in
    memory) url="memory://" ;;
    sqlite) url="sqlite://$dir/state.db" ;;
    redis) url="redis://127.0.0.1:$REDIS_PORT/0" ;;
    redis-nc) url="redis://127.0.0.1:$REDIS_PORT/0"; extra=(--near-cache-entries 10000) ;;
    *) die "--stores: unknown store '$store' (memory, sqlite, redis, redis-nc)" ;;
  esac
  PORT=$(free_port)
  OUTBOARD_SERVE_SESSIONS_KEYS="$SESSION_KEY" valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.out" \
    "$OUTBOARD" serve --listen 127.0.0.1 --port "$PORT" --instance prof --threads 1 --kdf min --state "$url" \
    --blobs "file://$dir/blobs" "${extra[@]}" >"$dir/server.log" 2>&1 &
  VG_PID=$!
  PIDS+=("$VG_PID")
  wait_200 "http://127.0.0.1:$PORT/healthz" "$VG_PID"
  creds='{"user":"prof","password":"profpassword"}'
  curl -s -o /dev/null --max-time 30 -H 'Content-Type: application/json' -d "$creds" "http://127.0.0.1:$PORT/signup"
  COOKIE=$(curl -s -o /dev/null -D - --max-time 30 -H 'Content-Type: application/json' -d "$creds" \
    "http://127.0.0.1:$PORT/login" | tr -d '\r' | sed -n -E 's/^[Ss]et-[Cc]ookie: *([^;]*).*/\1/p' | head -1)
  [ -n "$COOKIE" ] || die "$store: no session cookie from POST /login"
  for route in "${routes[@]}"; do
    case "$route" in
      me) wrk_args=(-s "$BENCH/wrk/report.lua" "http://127.0.0.1:$PORT/me"); warm_tag=(); run_tag=() ;;
      cart) wrk_args=(-s "$BENCH/wrk/cart.lua" "http://127.0.0.1:$PORT/cart/items" --)
        warm_tag=("p$store-warm"); run_tag=("p$store-run") ;;
      *) die "--routes: unknown route '$route' (me, cart)" ;;
    esac
    # Warm-up (caches, the near-cache's first fill, the connection pool), not counted.
    # The Idempotency-Key prefix differs between warm-up and measurement: cart.lua counts from 1
    # each time, and a key used twice would measure replays instead of new requests.
    wrk -t1 -c"$CONNECTIONS" -d2s --timeout 10s -H "Cookie: $COOKIE" "${wrk_args[@]}" "${warm_tag[@]}" \
      >"$dir/warmup-$route.txt" 2>&1 || true
    sleep 1
    c0=$(answered "$route")
    r0=$(redis_commands "$REDIS_PORT")
    callgrind_control -z "$VG_PID" >/dev/null 2>&1
    wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_RUN}s" --timeout 10s -H "Cookie: $COOKIE" "${wrk_args[@]}" "${run_tag[@]}" \
      >"$dir/wrk-$route.txt" 2>&1 || true
    sleep 2  # the answers still in flight when wrk stopped
    callgrind_control -d "$VG_PID" >/dev/null 2>&1
    sleep 1
    r1=$(redis_commands "$REDIS_PORT")
    c1=$(answered "$route")
    dump=$(ls -t "$dir"/callgrind.out.* 2>/dev/null | head -1)
    [ -n "$dump" ] || die "$store $route: no callgrind dump"
    mv "$dump" "$OUT/callgrind-$store-$route.out"
    n=$((c1 - c0))
    {
      echo "## $store, $route: $n requests (wrk -t1 -c$CONNECTIONS -d${SECONDS_RUN}s under callgrind)"
      if [[ "$store" == redis* ]]; then
        awk -v a="$r0" -v b="$r1" -v n="$n" 'BEGIN {printf "redis commands per request: %.2f (%d commands)\n", (n > 0 ? (b - a) / n : 0), b - a}'
      fi
      python3 "$ROOT/bench/gateway/callgrind_summary.py" "$OUT/callgrind-$store-$route.out" "$n"
    } >"$OUT/$store-$route.txt" 2>&1 || true
    head -3 "$OUT/$store-$route.txt" >&2
    grep -E '^\s+(malloc|_Znwm|operator new)' "$OUT/$store-$route.txt" >&2 || true
  done
  stop_pid "$VG_PID"
  forget_pid "$VG_PID"
done
log "summaries in $OUT"
