#!/usr/bin/env bash
# bench/gateway/profile.sh: where `outboard gateway` spends its time per request, next to HAProxy.
#
#   bash bench/gateway/profile.sh [--no-build] [--binary PATH] [--seconds S] [--out DIR] [--skip-callgrind]
#
# --binary: profile this outboard binary (a release build of your own) instead of building and
# using build/release's.
#
# Same backend as bench/gateway/run.sh (one NGINX worker, 13 bytes at /), one proxy thread each.
#   1. syscalls per request: strace -c on outboard and on HAProxy while wrk -t1 -c64 runs;
#   2. perf record -e cpu-clock (when perf works here): kernel/user split and the top symbols;
#   3. valgrind --tool=callgrind on outboard (slow: a few thousand requests): instructions per
#      request, the top functions by own cost, and malloc/new calls per request
#      (bench/gateway/callgrind_summary.py).
# Absolute times under strace/valgrind mean nothing; the counts per request do. Results go to DIR
# (default: a temp dir, printed). Everything on 127.0.0.1, free ports; every process started here
# is stopped by pid on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH="$ROOT/bench/gateway"
BUILD=1
SECONDS_RUN=5
OUT=""
CALLGRIND=1
BINARY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) BUILD=0 ;;
    --seconds) SECONDS_RUN=$2; shift ;;
    --out) OUT=$2; shift ;;
    --binary) BINARY=$2; BUILD=0; shift ;;
    --skip-callgrind) CALLGRIND=0 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "profile.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
  shift
done
[[ "$SECONDS_RUN" =~ ^[1-9][0-9]?$ ]] || { echo "profile.sh: --seconds 1-99" >&2; exit 2; }

log() { printf '[bench/gateway/profile %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

TMP=$(mktemp -d /tmp/outboard-gateway-profile.XXXXXX)
[ -n "$OUT" ] || OUT="$TMP/out"
mkdir -p "$OUT"
PIDS=()
stop_pid() {
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$? pid
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  log "results in $OUT"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in wrk haproxy nginx strace valgrind curl; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] ||
    { log "installing $tool (Debian)"; DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -q --no-install-recommends "$tool" >/dev/null; }
done
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [ "$BUILD" = 1 ]; then
  log "building outboard (release)"
  (cd "$ROOT" && timeout 2400 bash scripts/build.sh release outboard >"$TMP/build.log" 2>&1) ||
    { tail -30 "$TMP/build.log" >&2; die "build"; }
fi
cp "${BINARY:-$ROOT/build/release/apps/outboard/outboard}" "$TMP/outboard"
OUTBOARD="$TMP/outboard"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_200() {  # wait_200 URL PID SECONDS
  local i
  for i in $(seq $(($3 * 10))); do
    kill -0 "$2" 2>/dev/null || die "process $2 exited while starting"
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$1" || true)" = 200 ] && return 0
    sleep 0.1
  done
  die "$1 did not answer 200"
}

# The backend, as in run.sh.
BP=$(free_port)
mkdir -p "$TMP/backend/tmp"
cat >"$TMP/backend/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $TMP/backend/nginx.pid;
error_log $TMP/backend/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $TMP/backend/tmp/body;
  proxy_temp_path $TMP/backend/tmp/proxy;
  fastcgi_temp_path $TMP/backend/tmp/fastcgi;
  uwsgi_temp_path $TMP/backend/tmp/uwsgi;
  scgi_temp_path $TMP/backend/tmp/scgi;
  keepalive_requests 1000000;
  default_type text/plain;
  server { listen 127.0.0.1:$BP; location = / { return 200 "hello world!\n"; } }
}
EOF
"$NGINX" -e "$TMP/backend/error.log" -p "$TMP/backend" -c "$TMP/backend/nginx.conf" >/dev/null 2>&1 &
PIDS+=($!)
wait_200 "http://127.0.0.1:$BP/" "${PIDS[-1]}" 10

OP=$(free_port); OA=$(free_port)
"$OUTBOARD" gateway --listen "127.0.0.1:$OP" --threads 1 --backend "127.0.0.1:$BP" --admin "127.0.0.1:$OA" --admin-token-file "$TMP/admin.token" \
  --health-path / >"$TMP/outboard.log" 2>&1 &
OB_PID=$!
PIDS+=("$OB_PID")
wait_200 "http://127.0.0.1:$OP/" "$OB_PID" 15

HP=$(free_port)
cat >"$TMP/haproxy.cfg" <<EOF
global
  nbthread 1
  maxconn 8000
defaults
  mode http
  option http-keep-alive
  option forwardfor
  http-reuse always
  timeout connect 1s
  timeout client 60s
  timeout server 60s
frontend fe
  bind 127.0.0.1:$HP
  default_backend be
backend be
  option httpchk GET /
  server backend 127.0.0.1:$BP check inter 1s fall 2 rise 2
EOF
"$HAPROXY" -db -f "$TMP/haproxy.cfg" >"$TMP/haproxy.log" 2>&1 &
HA_PID=$!
PIDS+=("$HA_PID")
wait_200 "http://127.0.0.1:$HP/" "$HA_PID" 15

requests_of() { awk '/requests in/ {print $1}' "$1"; }

# ---- 1. syscalls per request
strace_one() {  # strace_one NAME PID PORT
  local name=$1 pid=$2 port=$3 spid
  strace -c -f -p "$pid" -o "$OUT/strace-$name.txt" 2>/dev/null &
  spid=$!
  sleep 1
  wrk -t1 -c64 -d"${SECONDS_RUN}s" "http://127.0.0.1:$port/" >"$OUT/strace-wrk-$name.txt" 2>&1 || true
  kill -INT "$spid" 2>/dev/null || true
  wait "$spid" 2>/dev/null || true
  local reqs
  reqs=$(requests_of "$OUT/strace-wrk-$name.txt")
  echo "### $name: syscalls per request (strace -c, $reqs requests)"
  awk -v r="$reqs" '$1 ~ /^[0-9.]+$/ && $NF != "total" && (NF == 5 || NF == 6) {
      calls = $4; errors = (NF == 6) ? $5 : 0; tot += calls
      printf "  %-18s %6.2f per request%s\n", $NF, calls / r, errors ? sprintf(" (%.2f failed)", errors / r) : ""}
    END {printf "  %-18s %6.2f per request\n", "TOTAL", tot / r}' "$OUT/strace-$name.txt"
}
{
  strace_one outboard "$OB_PID" "$OP"
  strace_one haproxy "$HA_PID" "$HP"
} | tee "$OUT/syscalls.txt"

# ---- 2. perf (cpu-clock: VMs often have no hardware counters)
if command -v perf >/dev/null && perf record -e cpu-clock -o "$TMP/perf-test.data" -- true >/dev/null 2>&1; then
  for pair in "outboard $OB_PID $OP" "haproxy $HA_PID $HP"; do
    read -r name pid port <<<"$pair"
    wrk -t1 -c64 -d"$((SECONDS_RUN + 2))s" "http://127.0.0.1:$port/" >"$OUT/perf-wrk-$name.txt" 2>&1 &
    wpid=$!
    sleep 1
    perf record -e cpu-clock -F 2000 -p "$pid" -o "$OUT/perf-$name.data" -- sleep "$SECONDS_RUN" >/dev/null 2>&1 || true
    wait "$wpid" || true
    {
      echo "### $name: perf, share of CPU samples by object"
      { perf report -i "$OUT/perf-$name.data" --no-children --sort dso --stdio 2>/dev/null || true; } | grep -E '^ +[0-9]' | head -8 || true
      echo "### $name: top symbols"
      { perf report -i "$OUT/perf-$name.data" --no-children --sort dso,symbol --stdio 2>/dev/null || true; } | grep -E '^ +[0-9]' | head -30 | cut -c1-160 || true
    } | tee -a "$OUT/perf.txt" || true
  done
else
  log "perf does not work here: skipped"
fi

# ---- 3. callgrind on outboard (user-space instructions and allocations per request)
if [ "$CALLGRIND" = 1 ]; then
  stop_pid "$OB_PID"
  VP=$(free_port); VA=$(free_port)
  valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out" "$OUTBOARD" gateway --listen "127.0.0.1:$VP" \
    --threads 1 --backend "127.0.0.1:$BP" --admin "127.0.0.1:$VA" --admin-token-file "$TMP/admin-vg.token" --health-path / >"$TMP/valgrind.log" 2>&1 &
  VG_PID=$!
  PIDS+=("$VG_PID")
  wait_200 "http://127.0.0.1:$VP/" "$VG_PID" 60
  # The admin API wants its bearer token (the file the gateway created), /metrics included.
  count_2xx() { curl -s --max-time 5 -H "Authorization: Bearer $(cat "$TMP/admin-vg.token")" "http://127.0.0.1:$VA/metrics" | awk '/^outboard_gateway_responses_total\{.*class="2xx"/ {n += $2} END {print n + 0}'; }
  callgrind_control -z "$VG_PID" >/dev/null 2>&1
  c0=$(count_2xx)
  wrk -t1 -c64 -d10s --timeout 10s "http://127.0.0.1:$VP/" >"$OUT/callgrind-wrk.txt" 2>&1 || true
  sleep 2
  c1=$(count_2xx)
  callgrind_control -d "$VG_PID" >/dev/null 2>&1
  sleep 1
  dump=$(ls -t "$OUT"/callgrind.out.* 2>/dev/null | head -1)
  [ -n "$dump" ] || die "no callgrind dump"
  python3 "$BENCH/callgrind_summary.py" "$dump" "$((c1 - c0))" | tee "$OUT/callgrind.txt"
fi
