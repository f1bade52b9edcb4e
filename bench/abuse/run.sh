#!/usr/bin/env bash
# bench/abuse: legitimate traffic through `outboard gateway` and through HAProxy while each is
# under a bounded attack from this machine's loopback, against the same traffic without one.
#
#   bash bench/abuse/run.sh            30 s of wrk per measurement, 1 round (~8 min plus the build
#                                      and any wait for a quieter machine); writes the "Abuse"
#                                      section at the end of docs/BENCHMARKS.md
#   bash bench/abuse/run.sh --quick    5 s per measurement, no waiting, no doc update (smoke check)
#   options: --duration S (wrk, default 30)  --ramp S (attack before wrk starts, default 3)
#            --rounds N (default 1)  --attacks a,b (default slowloris,slowbody,flood)
#            --only outboard|haproxy (implies --no-doc)  --sources N (attack source addresses, 10)
#            --outboard PATH (use this binary; default: build the committed HEAD, see below)
#            --label TEXT (with --outboard: what the binary is, for the report, e.g. its commit)
#            --no-doc  --keep (keep the temp dir)  --quiet-budget S (default 300, --quick 0):
#              before each measurement wait, in all at most S seconds, until the rest of the
#              machine uses < 0.5 cores
#
# Phases: baseline (no attack), then each attack (bench/abuse/attack.py, Python's standard
# library only, loopback only, bounded in connections and time, stops by itself):
#   slowloris  1000 connections, each sending one header byte every 3 s (a header that never ends)
#   slowbody   1000 connections, each sending a whole POST header with Content-Length: 1000000
#              and then the body one byte every 3 s
#   flood      new connections as fast as the tool can open them, at most 5000 open at once,
#              each held 1 s without a byte and closed
# Attacks come from 127.0.0.2-127.0.0.11, the legitimate traffic from 127.0.0.1. In each phase
# both proxies are measured, one after the other (the order alternates from phase to phase):
# the proxy is started afresh, warmed up for 1 s, the attack starts, after --ramp seconds
#   wrk -t1 -c64 -dDURATIONs --latency http://127.0.0.1:PORT/
# runs while it goes on, then the attack ends and the proxy is stopped.
# Proxies (one thread each) in front of one NGINX backend worker answering 13 bytes:
#   outboard  outboard gateway --config bench/abuse/outboard.toml.in (filled in)
#   haproxy   haproxy -db -f bench/abuse/haproxy.cfg.in (filled in), nbthread 1
# The outboard binary is built from `git archive HEAD` (only committed code) in build/abuse
# (sources in build/abuse.src), RelWithDebInfo. Settings that build does not know are left out
# of its config, and the report lists them.
# Every process this script starts is stopped by its pid on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/bench/abuse"
DURATION=30
RAMP=3
WARMUP=1
ROUNDS=1
ATTACKS="slowloris,slowbody,flood"
ONLY=""
SOURCES=10
OUTBOARD=""
LABEL=""
WRITE_DOC=1
KEEP=0
QUICK=0
QUIET_BUDGET=300
QUIET_MAX=0.5
WRK_CONNECTIONS=64
# The command line as it can be typed again (arguments with spaces or quotes single-quoted).
ARGS_TEXT=""
for arg in "$@"; do
  if [[ "$arg" =~ ^[A-Za-z0-9_./,:=+-]+$ ]]; then ARGS_TEXT+=" $arg"; else ARGS_TEXT+=" '${arg//\'/\'\\\'\'}'"; fi
done
ARGS_TEXT=${ARGS_TEXT# }

# The limits both proxies get (bench/abuse/*.in).
MAX_CONNECTIONS=4096      # client connections at once
MAX_PER_CLIENT=256        # from one client address
MAX_IN_FLIGHT=128         # requests in flight on the backend
QUEUE_SIZE=100            # requests waiting for a backend slot
QUEUE_TIMEOUT_MS=1000     # ... at most this long
HEADER_READ_MS=10000      # a whole request header (HAProxy: and a first buffer of body) within
BODY_MIN_RATE=1024        # outboard: bytes/s a body must average after HEADER_READ_MS (timeouts.body_min_rate)

while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1; DURATION=5; RAMP=2; WRITE_DOC=0; QUIET_BUDGET=0 ;;
    --duration) DURATION=$2; shift ;;
    --ramp) RAMP=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --attacks) ATTACKS=$2; shift ;;
    --only) ONLY=$2; WRITE_DOC=0; shift ;;
    --sources) SOURCES=$2; shift ;;
    --outboard) OUTBOARD=$2; shift ;;
    --label) LABEL=$2; shift ;;
    --no-doc) WRITE_DOC=0 ;;
    --keep) KEEP=1 ;;
    --quiet-budget) QUIET_BUDGET=$2; shift ;;
    -h|--help) sed -n '2,36p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ "$DURATION" =~ ^[1-9][0-9]{0,2}$ && "$RAMP" =~ ^[0-9]{1,2}$ && "$ROUNDS" =~ ^[1-9]$ &&
   "$QUIET_BUDGET" =~ ^[0-9]{1,5}$ && "$SOURCES" =~ ^[1-9][0-9]?$ ]] ||
  { echo "run.sh: duration 1-999 s, ramp 0-99 s, rounds 1-9, quiet budget 0-99999 s, sources 1-99" >&2; exit 2; }
IFS=, read -r -a ATTACK_LIST <<<"$ATTACKS"
for a in "${ATTACK_LIST[@]}"; do
  case "$a" in slowloris|slowbody|flood) ;; *) echo "run.sh: unknown attack '$a'" >&2; exit 2 ;; esac
done
PROXIES=(outboard haproxy)
case "$ONLY" in
  "") ;;
  outboard|haproxy) PROXIES=("$ONLY") ;;
  *) echo "run.sh: --only outboard or --only haproxy" >&2; exit 2 ;;
esac

BENCH_NAME=abuse
# shellcheck source=../lib.sh
source "$ROOT/bench/lib.sh"
# shellcheck source=helpers.sh
source "$HERE/helpers.sh"

# Thousands of sockets: the attack, the proxies and the backend all inherit this.
ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" -ge 12000 ] || die "RLIMIT_NOFILE is $(ulimit -n); the flood needs about 12000 (5000 attack sockets, twice that in a proxy)"

install_debian wrk haproxy nginx curl
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
PYTHON=$(command -v python3) || die "python3 is missing"

COMMIT="-"; MISSING_KEYS=""
if [[ " ${PROXIES[*]} " == *" outboard "* ]]; then
  if [ -z "$OUTBOARD" ]; then
    OUTBOARD=$(build_committed_outboard "$ROOT/build/abuse.src" "$ROOT/build/abuse")
    COMMIT="commit \`$(cat "$ROOT/build/abuse.src/.commit")\` (committed code only), RelWithDebInfo build"
  else
    COMMIT="${LABEL:-given binary $OUTBOARD}"
  fi
  [ -x "$OUTBOARD" ] || die "$OUTBOARD is missing"
  cp "$OUTBOARD" "$TMP/outboard"  # measure a copy: a rebuild during the run must not change it
  OUTBOARD="$TMP/outboard"
fi

# ---------------------------------------------------------------- the configs
SED="$TMP/limits.sed"
cat >"$SED" <<EOF
s/@MAX_CONNECTIONS@/$MAX_CONNECTIONS/g
s/@MAX_PER_CLIENT@/$MAX_PER_CLIENT/g
s/@MAX_IN_FLIGHT@/$MAX_IN_FLIGHT/g
s/@QUEUE_SIZE@/$QUEUE_SIZE/g
s/@QUEUE_TIMEOUT_MS@/$QUEUE_TIMEOUT_MS/g
s/@QUEUE_TIMEOUT_S@/$(awk -v m="$QUEUE_TIMEOUT_MS" 'BEGIN {print m / 1000}')/g
s/@HEADER_READ_MS@/$HEADER_READ_MS/g
s/@HEADER_READ_S@/$(awk -v m="$HEADER_READ_MS" 'BEGIN {print m / 1000}')/g
s/@BODY_MIN_RATE@/$BODY_MIN_RATE/g
EOF
# The keys this outboard does not know (probed once, with placeholder ports).
{ printf 's/@PORT@/1/g\ns/@ADMIN_PORT@/2/g\ns/@BACKEND_PORT@/3/g\ns|@ADMIN_TOKEN_FILE@|%s|g\n' "$TMP/probe.token"; cat "$SED"; } >"$TMP/probe.sed"
if [ -n "$OUTBOARD" ]; then
  render_outboard_config "$OUTBOARD" "$HERE/outboard.toml.in" "$TMP/probe.toml" "$TMP/probe.sed"
  MISSING_KEYS=$(paste -sd, - <"$TMP/probe.toml.missing")
  [ -z "$MISSING_KEYS" ] || log "this outboard does not know: $MISSING_KEYS (left out of its config)"
fi

# ---------------------------------------------------------------- the backend
BACKEND_DIR="$TMP/backend"
mkdir -p "$BACKEND_DIR/tmp"
BACKEND_PORT=$(free_port)
cat >"$BACKEND_DIR/nginx.conf" <<EOF
# The backend: one worker, 13 bytes for any method and path (a POST's body is read and dropped).
worker_processes 1;
worker_rlimit_nofile 20000;
daemon off;
master_process on;
pid $BACKEND_DIR/nginx.pid;
error_log $BACKEND_DIR/error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  client_body_temp_path $BACKEND_DIR/tmp/body;
  proxy_temp_path $BACKEND_DIR/tmp/proxy;
  fastcgi_temp_path $BACKEND_DIR/tmp/fastcgi;
  uwsgi_temp_path $BACKEND_DIR/tmp/uwsgi;
  scgi_temp_path $BACKEND_DIR/tmp/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 75s;
  client_max_body_size 100m;
  default_type text/plain;
  server {
    listen 127.0.0.1:$BACKEND_PORT backlog=4096;
    location / { return 200 "hello world!\n"; }
  }
}
EOF
"$NGINX" -e "$BACKEND_DIR/error.log" -p "$BACKEND_DIR" -c "$BACKEND_DIR/nginx.conf" >"$BACKEND_DIR/stdout.log" 2>&1 &
BACKEND_PID=$!
PIDS+=("$BACKEND_PID")
wait_http "http://127.0.0.1:$BACKEND_PORT/" "$BACKEND_PID" "$BACKEND_DIR/error.log"
log "backend: nginx (1 worker) on 127.0.0.1:$BACKEND_PORT; work dir $TMP"

# ---------------------------------------------------------------- proxies
CUR_PID=""; CUR_PORT=""; CUR_LOG=""; CUR_STATS_URL=""; CUR_STATS_HEADERS=""
start_proxy() {  # start_proxy NAME DIR
  local name=$1 dir=$2 admin
  mkdir -p "$dir"
  CUR_PORT=$(free_port)
  CUR_LOG="$dir/proxy.log"
  case "$name" in
    outboard)
      admin=$(free_port)
      { printf 's/@PORT@/%s/g\ns/@ADMIN_PORT@/%s/g\ns/@BACKEND_PORT@/%s/g\ns|@ADMIN_TOKEN_FILE@|%s|g\n' \
          "$CUR_PORT" "$admin" "$BACKEND_PORT" "$dir/admin.token"; cat "$SED"; } >"$dir/limits.sed"
      render_outboard_config "$OUTBOARD" "$HERE/outboard.toml.in" "$dir/outboard.toml" "$dir/limits.sed"
      CUR_STATS_URL="http://127.0.0.1:$admin/metrics"
      CUR_STATS_HEADERS="$dir/admin.headers"
      "$OUTBOARD" gateway --config "$dir/outboard.toml" >"$CUR_LOG" 2>&1 &
      ;;
    haproxy)
      admin=$(free_port)
      sed -e "s/@PORT@/$CUR_PORT/; s/@STATS_PORT@/$admin/; s/@BACKEND_PORT@/$BACKEND_PORT/" -f "$SED" \
        "$HERE/haproxy.cfg.in" >"$dir/haproxy.cfg"
      CUR_STATS_URL="http://127.0.0.1:$admin/stats;csv"
      CUR_STATS_HEADERS=""
      "$HAPROXY" -db -f "$dir/haproxy.cfg" >"$CUR_LOG" 2>&1 &
      ;;
  esac
  CUR_PID=$!
  PIDS+=("$CUR_PID")
  wait_http "http://127.0.0.1:$CUR_PORT/" "$CUR_PID" "$CUR_LOG"
}
stop_proxy() {
  [ -n "$CUR_PID" ] || return 0
  stop_pid "$CUR_PID"
  forget_pid "$CUR_PID"
  CUR_PID=""
}

# ---------------------------------------------------------------- one measurement
MANIFEST="$TMP/manifest.tsv"
: >"$MANIFEST"

measure() {  # measure ROUND PHASE PROXY: one wrk run through PROXY, under attack PHASE (or none)
  local round=$1 phase=$2 proxy=$3 dir="$TMP/r$1-$2-$3" attack_pid="" b0 b1 p0 p1 a0 a1 k0 k1 w0 w1 i
  start_proxy "$proxy" "$dir"
  wrk -t1 -c"$WRK_CONNECTIONS" -d"${WARMUP}s" "http://127.0.0.1:$CUR_PORT/" >"$dir/warmup.txt" 2>&1 || true
  wait_quiet "$BACKEND_PID" "$CUR_PID"
  if [ "$phase" != baseline ]; then
    "$PYTHON" "$HERE/attack.py" "$phase" --port "$CUR_PORT" --sources "$SOURCES" \
      --duration $((RAMP + DURATION + 2)) >"$dir/attack.json" 2>"$dir/attack.log" &
    attack_pid=$!
    PIDS+=("$attack_pid")
    sleep "$RAMP"
  fi
  b0=$(machine_busy_ticks); p0=$(process_ticks "$CUR_PID"); k0=$(process_ticks "$BACKEND_PID")
  a0=$(process_ticks $attack_pid)
  times >"$dir/times0"
  timeout $((DURATION + 30)) wrk -t1 -c"$WRK_CONNECTIONS" -d"${DURATION}s" --latency "http://127.0.0.1:$CUR_PORT/" >"$dir/wrk.txt" 2>&1 || true
  times >"$dir/times1"
  b1=$(machine_busy_ticks); p1=$(process_ticks "$CUR_PID"); k1=$(process_ticks "$BACKEND_PID")
  a1=$(process_ticks $attack_pid)
  w0=$(waited_children_seconds "$dir/times0"); w1=$(waited_children_seconds "$dir/times1")
  awk -v b=$((b1 - b0)) -v p=$((p1 - p0)) -v k=$((k1 - k0)) -v a=$((a1 - a0)) -v w0="$w0" -v w1="$w1" \
      -v hz="$HZ" -v t="$DURATION" 'BEGIN {
    w = w1 - w0; o = (b - p - k - a) / hz - w; if (o < 0) o = 0
    printf "proxy=%.2f backend=%.2f attack=%.2f wrk=%.2f others=%.2f\n", p / hz / t, k / hz / t, a / hz / t, w / t, o / t}' >"$dir/cpu.txt"
  # Peak resident memory of the proxy (all its processes), in MB.
  awk '/^VmHWM:/ {kb += $2} END {printf "peak_rss_mb=%.0f\n", kb / 1024}' "/proc/$CUR_PID/status" \
    $(pgrep -P "$CUR_PID" | sed 's|.*|/proc/&/status|') >>"$dir/cpu.txt" 2>/dev/null || true
  # outboard's admin API wants its bearer token (created by outboard in the run dir); it goes to
  # curl in a header file, never in argv.
  local stats_args=()
  if [ -n "$CUR_STATS_HEADERS" ] && [ -s "$dir/admin.token" ]; then
    (umask 077; printf 'Authorization: Bearer %s\n' "$(tr -d '\n' <"$dir/admin.token")" >"$CUR_STATS_HEADERS")
    stats_args=(-H "@$CUR_STATS_HEADERS")
  fi
  curl -s --max-time 2 "${stats_args[@]}" "$CUR_STATS_URL" >"$dir/proxy_stats.txt" 2>/dev/null || true
  if [ -n "$attack_pid" ]; then
    # The attack stops by itself about 2 s after wrk; its own hard stop is 15 s later.
    for i in $(seq 300); do kill -0 "$attack_pid" 2>/dev/null || break; sleep 0.1; done
    stop_pid "$attack_pid"
    forget_pid "$attack_pid"
  fi
  kill -0 "$CUR_PID" 2>/dev/null || echo "the proxy DIED during the measurement" >"$dir/died.txt"
  stop_proxy
  printf '%s\t%s\t%s\t%s\n' "$round" "$phase" "$proxy" "$dir" >>"$MANIFEST"
  log "round $round $phase $proxy: $("$PYTHON" "$HERE/report.py" --one "$dir")"
}

# ---------------------------------------------------------------- the run
PHASES=(baseline "${ATTACK_LIST[@]}")
log "proxies: ${PROXIES[*]}; phases: ${PHASES[*]}; $ROUNDS round(s), wrk ${DURATION} s per measurement"
START=$(date +%s)
step=0
for round in $(seq "$ROUNDS"); do
  for phase in "${PHASES[@]}"; do
    order=("${PROXIES[@]}")
    if [ ${#PROXIES[@]} = 2 ] && [ $((step % 2)) = 1 ]; then order=("${PROXIES[1]}" "${PROXIES[0]}"); fi
    step=$((step + 1))
    for proxy in "${order[@]}"; do measure "$round" "$phase" "$proxy"; done
  done
done
ELAPSED=$(($(date +%s) - START))

# ---------------------------------------------------------------- the report
if [ "$QUICK" = 1 ]; then CMD="bash bench/abuse/run.sh --quick"; else CMD="bash bench/abuse/run.sh${ARGS_TEXT:+ $ARGS_TEXT}"; fi
{
  echo "command=$CMD"
  echo "elapsed_s=$ELAPSED"
  echo "finished=$(date -u '+%F %H:%M')"
  echo "duration_s=$DURATION"
  echo "ramp_s=$RAMP"
  echo "rounds=$ROUNDS"
  echo "sources=$SOURCES"
  echo "wrk_connections=$WRK_CONNECTIONS"
  echo "commit=$COMMIT"
  echo "missing_keys=$MISSING_KEYS"
  echo "outboard_version=$([ -z "$OUTBOARD" ] || "$OUTBOARD" --version 2>&1 | head -1)"
  echo "haproxy_version=$("$HAPROXY" -v 2>&1 | head -1 | sed 's/ - https.*//')"
  echo "nginx_version=$("$NGINX" -v 2>&1 | head -1 | sed 's/^nginx version: //')"
  echo "wrk_version=$(wrk -v 2>&1 | head -1 | sed 's/ Copyright.*//')"
  echo "python_version=$("$PYTHON" --version 2>&1)"
  echo "machine=$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')), Linux $(uname -r)"
  echo "quiet=waited $QUIET_SPENT s of a $QUIET_BUDGET s budget for others to use < $QUIET_MAX cores"
  echo "limits=max_connections $MAX_CONNECTIONS, per client $MAX_PER_CLIENT, in flight per backend $MAX_IN_FLIGHT, queue $QUEUE_SIZE for $QUEUE_TIMEOUT_MS ms, header $HEADER_READ_MS ms, body min rate $BODY_MIN_RATE B/s"
} >"$TMP/run.txt"
DOC_ARGS=()
[ "$WRITE_DOC" = 0 ] || DOC_ARGS=(--doc "$ROOT/docs/BENCHMARKS.md")
"$PYTHON" "$HERE/report.py" --manifest "$MANIFEST" --run "$TMP/run.txt" "${DOC_ARGS[@]}"
[ "$WRITE_DOC" = 0 ] || log "wrote the \"## Abuse\" section of docs/BENCHMARKS.md"
