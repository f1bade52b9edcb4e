#!/usr/bin/env bash
# bench/gateway: `outboard gateway` against HAProxy and NGINX as L7 reverse proxies, in one run.
#
#   bash bench/gateway/run.sh            3 interleaved rounds, 10 s per measurement (~13 min plus the
#                                        build and any wait for an idle machine); writes the
#                                        "## Gateway" section of docs/BENCHMARKS.md
#   bash bench/gateway/run.sh --quick    1 round, 3 s per measurement (smoke check; no doc update)
#   options: --rounds N  --duration S  --warmup S (default 1; not counted)  --no-doc
#            --keep (keep the temp dir and logs)  --no-build (use build/release as it is)
#            --outboard BIN (measure this outboard binary; implies --no-build)
#            --baseline BIN (also measure this other outboard binary, as baseline-1 and baseline-2,
#              in the same rounds: a change's before and after in one run; implies --no-doc)
#            --only a,b (a subset of the contenders below; implies --no-doc)
#            --idle-conns N (default 10000; 0: skip the idle-connection memory measure)
#            --doc FILE (write the section into FILE instead, even with --quick or --only)
#            --idle-wait S (default 600, --quick 60): the machine is shared; before the first
#              measurement the script waits at most this long until no other wrk, ninja or
#              cc1plus runs and other processes use < 0.3 cores
#            --run-wait S (default 900, --quick 60): then, before each measurement, it waits the
#              same way, and measures again (up to twice) when others were busy during one, for
#              at most this long in all
#
# The backend: ONE NGINX worker (worker_processes 1) answering GET / with a 13-byte body
# ("hello world!\n") and GET /64k with a 65536-byte file, keepalive_requests 1000000, access_log
# off. It runs for the whole run.
# Contenders (every one on 127.0.0.1, listening on a free port, started afresh per measurement):
#   direct          wrk straight to the backend (for scale)
#   outboard-N      outboard gateway --threads N --backend BACKEND --health-path / (admin on a free
#                   port), no access log, as the peers
#   outboard-1-log  the same with --access-log true (one JSON line per request, to a file)
#   haproxy-N       HAProxy, nbthread N, mode http, option http-keep-alive, http-reuse always
#   nginx-N         NGINX as a proxy, worker_processes N, upstream keepalive 64, HTTP/1.1 upstream
# with N = 1 and N = 2; health checks on for outboard and HAProxy (open-source NGINX has none).
# Each contender is measured at both response sizes: wrk -t1 -c64 -dDURATIONs --latency
# http://127.0.0.1:PORT/ (13 bytes) and .../64k (64 KiB), each after a short warm-up. Then
# direct, outboard-1, haproxy-1 and nginx-1 (started afresh) get N idle keep-alive client
# connections from bench/gateway/idle_conns.py (one GET each, then held): memory per connection =
# (RSS of all the proxy's processes with them open - RSS before) / N. Contenders take turns
# within a round; the order rotates each round. The report takes the median over rounds and the
# ratios outboard/haproxy, outboard/direct and outboard/nginx against the issue's targets. Every
# process this script starts is stopped by its pid on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH="$ROOT/bench/gateway"
ROUNDS=3
DURATION=10
WARMUP=1
WRITE_DOC=1
KEEP=0
BUILD=1
ONLY=""
CONNECTIONS=64
IDLE_WAIT=600
RUN_WAIT=900
QUIET_MAX=0.3
IDLE_CONNS=10000
OUTBOARD_BIN=""
BASELINE_BIN=""
DOC_TO=""
ARGS_TEXT="$*"

while [ $# -gt 0 ]; do
  case "$1" in
    --quick) ROUNDS=1; DURATION=3; WRITE_DOC=0; IDLE_WAIT=60; RUN_WAIT=60 ;;
    --rounds) ROUNDS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --warmup) WARMUP=$2; shift ;;
    --no-doc) WRITE_DOC=0 ;;
    --keep) KEEP=1 ;;
    --no-build) BUILD=0 ;;
    --outboard) OUTBOARD_BIN=$2; BUILD=0; shift ;;
    --baseline) BASELINE_BIN=$2; WRITE_DOC=0; shift ;;
    --idle-conns) IDLE_CONNS=$2; shift ;;
    --doc) DOC_TO=$2; shift ;;
    --only) ONLY=$2; WRITE_DOC=0; shift ;;
    --idle-wait) IDLE_WAIT=$2; shift ;;
    --run-wait) RUN_WAIT=$2; shift ;;
    -h|--help) sed -n '2,41p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ "$ROUNDS" =~ ^[1-9][0-9]?$ && "$DURATION" =~ ^[1-9][0-9]{0,2}$ && "$WARMUP" =~ ^[0-9]{1,2}$ &&
   "$IDLE_WAIT" =~ ^[0-9]{1,5}$ && "$RUN_WAIT" =~ ^[0-9]{1,5}$ && "$IDLE_CONNS" =~ ^[0-9]{1,6}$ ]] ||
  { echo "run.sh: rounds 1-99, duration 1-999 s, warmup 0-99 s, idle and run wait 0-99999 s, idle conns 0-999999" >&2; exit 2; }

[ -z "$DOC_TO" ] || WRITE_DOC=1
BENCH_NAME=gateway
# shellcheck source=../lib.sh
source "$ROOT/bench/lib.sh"


# ---------------------------------------------------------------- what we need
# Debian packages. Their system services are not used: the Debian container's policy-rc.d (or
# ours, for the time of the install) keeps apt from starting them, and if one runs anyway it is
# stopped. Every process here uses its own config file, ports and temp dir.
need_apt() {  # need_apt PACKAGE...: installs those whose command is missing
  local missing=() p sudo="" own_policy=0
  for p in "$@"; do command -v "$p" >/dev/null || [ -x "/usr/sbin/$p" ] || missing+=("$p"); done
  [ ${#missing[@]} -gt 0 ] || return 0
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  log "installing ${missing[*]} (Debian)"
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod +x /usr/sbin/policy-rc.d
    own_policy=1
  fi
  local rc=0
  DEBIAN_FRONTEND=noninteractive timeout 900 $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >"$TMP/apt.log" 2>&1 ||
    { timeout 600 $sudo apt-get update -q >>"$TMP/apt.log" 2>&1 &&
      DEBIAN_FRONTEND=noninteractive timeout 900 $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$TMP/apt.log" 2>&1; } ||
    rc=$?
  [ "$own_policy" = 0 ] || $sudo rm -f /usr/sbin/policy-rc.d
  [ "$rc" = 0 ] || { tail -20 "$TMP/apt.log" >&2; die "apt-get install ${missing[*]}"; }
  for p in "${missing[@]}"; do
    case "$p" in
      haproxy|nginx)
        if [ -d /run/systemd/system ]; then
          $sudo systemctl disable --now "$p" >/dev/null 2>&1 || true
        elif command -v service >/dev/null; then
          $sudo service "$p" stop >/dev/null 2>&1 || true
        fi ;;
    esac
  done
}
need_apt wrk haproxy nginx curl
command -v python3 >/dev/null || need_apt python3  # bench/gateway/idle_conns.py
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

ALL_CONTENDERS=(direct outboard-1 outboard-1-log haproxy-1 nginx-1 outboard-2 haproxy-2 nginx-2)
[ -z "$BASELINE_BIN" ] || ALL_CONTENDERS+=(baseline-1 baseline-2)
# Those that also get the idle-connection memory measure (one thread each: memory per connection
# does not depend on the thread count, and the run stays short).
IDLE_CONTENDERS=(direct outboard-1 haproxy-1 nginx-1)
SIZES=(13 64k)  # response sizes: 13 bytes at /, 65536 bytes at /64k
CONTENDERS=("${ALL_CONTENDERS[@]}")
if [ -n "$ONLY" ]; then
  IFS=, read -r -a picked <<<"$ONLY"
  for c in "${picked[@]}"; do
    [[ " ${ALL_CONTENDERS[*]} " == *" $c "* ]] || die "--only: unknown contender '$c' (${ALL_CONTENDERS[*]})"
  done
  CONTENDERS=("${picked[@]}")
fi

OUTBOARD="${OUTBOARD_BIN:-$ROOT/build/release/apps/outboard/outboard}"
if [ "$BUILD" = 1 ]; then
  log "building outboard (release): bash scripts/build.sh release outboard"
  if ! (cd "$ROOT" && timeout 2400 bash scripts/build.sh release outboard >"$TMP/build.log" 2>&1); then
    # Others may be building in the same tree (two ninjas in one build dir trip each other up):
    # wait, bounded, for their ninja to end and try once more.
    log "the build failed; waiting (up to 10 min) for other ninja processes to end, then once more"
    for i in $(seq 120); do pgrep -x ninja >/dev/null || break; sleep 5; done
    (cd "$ROOT" && timeout 2400 bash scripts/build.sh release outboard >"$TMP/build.log" 2>&1) ||
      { tail -30 "$TMP/build.log" >&2; die "bash scripts/build.sh release outboard"; }
  fi
fi
[ -x "$OUTBOARD" ] || die "$OUTBOARD is missing"
# Measure a copy: others may rebuild build/release while this runs.
BUILD_TEXT="release build (build/release, RelWithDebInfo)"
[ -z "$OUTBOARD_BIN" ] || BUILD_TEXT="binary \`$OUTBOARD_BIN\`"
cp "$OUTBOARD" "$TMP/outboard"
OUTBOARD="$TMP/outboard"
BASELINE=""
if [ -n "$BASELINE_BIN" ]; then
  [ -x "$BASELINE_BIN" ] || die "--baseline: $BASELINE_BIN is missing"
  cp "$BASELINE_BIN" "$TMP/baseline"
  BASELINE="$TMP/baseline"
fi

# ---------------------------------------------------------------- open files
# N idle connections need N descriptors in the holder and N (plus the backend side) in the proxy:
# raise this shell's soft limit to the hard one (every process started here inherits it) and
# size each proxy's own connection limit from IDLE_CONNS below.
FD_HARD=$(ulimit -Hn)
if [ "$FD_HARD" != unlimited ]; then ulimit -n "$FD_HARD"; else ulimit -n 1048576 2>/dev/null || true; fi
FD_LIMIT=$(ulimit -n)
if [ "$IDLE_CONNS" -gt 0 ] && [ "$FD_LIMIT" != unlimited ] && [ $((IDLE_CONNS + 500)) -gt "$FD_LIMIT" ]; then
  log "the open-file limit is $FD_LIMIT: idle connections cut from $IDLE_CONNS to $((FD_LIMIT - 500))"
  IDLE_CONNS=$((FD_LIMIT - 500))
fi
CONN_CAP=$((IDLE_CONNS + 2000))  # each proxy's client connection limit: N idle, wrk's 64, probes

# ---------------------------------------------------------------- versions and machine
V_OUTBOARD=$("$OUTBOARD" --version 2>&1 | sed -n 1p || echo unknown)
V_HAPROXY=$("$HAPROXY" -v 2>&1 | sed -n 1p | sed 's/ - https.*//')
V_NGINX=$("$NGINX" -v 2>&1 | sed -n 1p | sed 's/^nginx version: //')
V_WRK=$(wrk -v 2>&1 | sed -n 1p | sed 's/ Copyright.*//' || true)
V_COMMIT=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
V_DIRTY=$(cd "$ROOT" && { git diff --quiet HEAD -- src apps 2>/dev/null && echo "" || echo " + uncommitted changes in src/ apps/"; })
NPROC=$(nproc)
CPU_MODEL=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //' || echo unknown)
KERNEL=$(uname -r)

# ---------------------------------------------------------------- the backend
nginx_common() {  # nginx_common DIR: the lines every NGINX here shares (temp paths in DIR)
  local d=$1
  mkdir -p "$d/tmp"
  cat <<EOF
  access_log off;
  client_body_temp_path $d/tmp/body;
  proxy_temp_path $d/tmp/proxy;
  fastcgi_temp_path $d/tmp/fastcgi;
  uwsgi_temp_path $d/tmp/uwsgi;
  scgi_temp_path $d/tmp/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 75s;
EOF
}

BACKEND_DIR="$TMP/backend"
mkdir -p "$BACKEND_DIR"
BACKEND_PORT=$(free_port)
mkdir -p "$BACKEND_DIR/www"
head -c 65536 /dev/zero | tr '\0' 'x' >"$BACKEND_DIR/www/64k"
# Run as root, NGINX's workers are `nobody`: they must be able to reach the file.
chmod o+x "$TMP" "$BACKEND_DIR"
chmod o+rx "$BACKEND_DIR/www"
chmod o+r "$BACKEND_DIR/www/64k"
cat >"$BACKEND_DIR/nginx.conf" <<EOF
# the backend: one worker, 13 bytes at /, 65536 bytes at /64k
worker_processes 1;
daemon off;
master_process on;
pid $BACKEND_DIR/nginx.pid;
error_log $BACKEND_DIR/error.log warn;
events { worker_connections $CONN_CAP; }
http {
$(nginx_common "$BACKEND_DIR")
  default_type text/plain;
  sendfile on;
  open_file_cache max=16;
  server {
    listen 127.0.0.1:$BACKEND_PORT backlog=4096;
    location = / { return 200 "hello world!\n"; }
    location = /64k { root $BACKEND_DIR/www; }
    location = /__stub_status { stub_status; }
  }
}
EOF
"$NGINX" -e "$BACKEND_DIR/error.log" -p "$BACKEND_DIR" -c "$BACKEND_DIR/nginx.conf" >"$BACKEND_DIR/stdout.log" 2>&1 &
BACKEND_PID=$!
PIDS+=("$BACKEND_PID")
wait_http "http://127.0.0.1:$BACKEND_PORT/" "$BACKEND_PID" "$BACKEND_DIR/error.log"
[ "$(curl -s -o /dev/null -w '%{http_code} %{size_download}' --max-time 2 "http://127.0.0.1:$BACKEND_PORT/64k")" = "200 65536" ] ||
  die "the backend does not serve 65536 bytes at /64k"
log "backend: nginx (1 worker) on 127.0.0.1:$BACKEND_PORT; work dir $TMP"

backend_accepts() {  # connections the backend has accepted so far (stub_status; counts this probe too)
  curl -s --max-time 2 "http://127.0.0.1:$BACKEND_PORT/__stub_status" | awk 'NR == 3 {print $1}'
}

# ---------------------------------------------------------------- the contenders
CUR_PID=""
CUR_LOG=""
CUR_PORT=""
CUR_ADMIN=""
CUR_ACCESS=""

threads_of() {  # threads_of NAME: outboard-2 -> 2, outboard-1-log -> 1
  local rest=${1#*-}
  echo "${rest%%-*}"
}

start_contender() {  # start_contender NAME DIR
  local name=$1 dir=$2 threads
  threads=$(threads_of "$1")
  mkdir -p "$dir"
  CUR_LOG="$dir/server.log"
  CUR_ADMIN=""
  CUR_ACCESS=""
  if [ "$name" = direct ]; then
    CUR_PID=""
    CUR_PORT=$BACKEND_PORT
    return 0
  fi
  CUR_PORT=$(free_port)
  case "$name" in
    outboard-*|baseline-*)
      CUR_ADMIN=$(free_port)
      local access=false out="$CUR_LOG" bin=$OUTBOARD
      [[ "$name" != baseline-* ]] || bin=$BASELINE
      # With the access log on, its lines (stdout) go to a file of their own; the rest (stderr)
      # stays in server.log.
      if [[ "$name" == *-log ]]; then access=true; out="$dir/access.log"; CUR_ACCESS=$out; fi
      echo "$bin gateway --listen 127.0.0.1:$CUR_PORT --threads $threads --backend 127.0.0.1:$BACKEND_PORT --admin 127.0.0.1:$CUR_ADMIN --health-path / --max-connections $CONN_CAP --access-log $access >$out" >"$dir/command.txt"
      "$bin" gateway --listen "127.0.0.1:$CUR_PORT" --threads "$threads" \
        --backend "127.0.0.1:$BACKEND_PORT" --admin "127.0.0.1:$CUR_ADMIN" --admin-token-file "$dir/admin.token" --health-path / \
        --max-connections "$CONN_CAP" --access-log "$access" >"$out" 2>>"$CUR_LOG" &
      ;;
    haproxy-*)
      cat >"$dir/haproxy.cfg" <<EOF
global
  nbthread $threads
  maxconn $CONN_CAP
  # HAProxy wants 2 descriptors per connection (maxsock = 2 x maxconn) and by default refuses to
  # start when it cannot raise its limit that far; idle client connections need only one each.
  no strict-limits

defaults
  mode http
  option http-keep-alive
  option forwardfor
  http-reuse always
  timeout connect 1s
  timeout client 60s
  timeout server 60s
  timeout http-request 10s
  timeout http-keep-alive 60s

frontend fe
  bind 127.0.0.1:$CUR_PORT
  default_backend be

backend be
  option httpchk GET /
  server backend 127.0.0.1:$BACKEND_PORT check inter 1s fall 2 rise 2
EOF
      echo "$HAPROXY -db -f $dir/haproxy.cfg" >"$dir/command.txt"
      "$HAPROXY" -db -f "$dir/haproxy.cfg" >"$CUR_LOG" 2>&1 &
      ;;
    nginx-*)
      cat >"$dir/nginx.conf" <<EOF
worker_processes $threads;
daemon off;
master_process on;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections $CONN_CAP; }
http {
$(nginx_common "$dir")
  upstream be {
    server 127.0.0.1:$BACKEND_PORT;
    keepalive 64;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
  }
  server {
    listen 127.0.0.1:$CUR_PORT backlog=4096;
    location / {
      proxy_pass http://be;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    }
  }
}
EOF
      echo "$NGINX -e $dir/error.log -p $dir -c $dir/nginx.conf" >"$dir/command.txt"
      "$NGINX" -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf" >"$CUR_LOG" 2>&1 &
      ;;
  esac
  CUR_PID=$!
  PIDS+=("$CUR_PID")
  wait_http "http://127.0.0.1:$CUR_PORT/" "$CUR_PID" "$CUR_LOG"
}

stop_contender() {
  [ -n "$CUR_PID" ] || return 0
  stop_pid "$CUR_PID"
  forget_pid "$CUR_PID"
  CUR_PID=""
}

# ---------------------------------------------------------------- CPU accounting, an idle machine
CLK_TCK=$(getconf CLK_TCK)
busy_jiffies() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }  # all cores, not idle/iowait
tree_jiffies() {  # tree_jiffies PID...: user+system jiffies of these processes and their children
  local p all=() sum=0 j
  for p in "$@"; do
    [ -n "$p" ] || continue
    all+=("$p")
    all+=($(pgrep -P "$p" 2>/dev/null || true))
  done
  for p in "${all[@]}"; do
    j=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}' || true)
    sum=$((sum + ${j:-0}))
  done
  echo "$sum"
}
children_seconds() {  # CPU seconds of this shell's waited-for children, from `times` in a file
  awk 'NR == 2 {t = 0; for (i = 1; i <= 2; i++) {split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2]} print t}' "$1"
}
others_running() {  # names of other benchmark or build processes running now (another wrk, ninja, cc1plus)
  local p list
  list=$( { pgrep -x wrk 2>/dev/null || true; pgrep -f 'ninja|cc1plus' 2>/dev/null || true; } )
  for p in $list; do cat "/proc/$p/comm" 2>/dev/null || true; done | sort -u | paste -sd, - || true
}
IDLE_SPENT=0
BUDGET=$IDLE_WAIT
IDLE_WAITED_FOR=""
# Waits until no other wrk/ninja/cc1plus runs and the rest of the machine uses < QUIET_MAX cores
# (sampled over 1 s with our contender idle), while IDLE_SPENT < BUDGET. 1: budget gone.
wait_idle() {
  local b0 b1 s0 s1 cores busy tries=0
  while :; do
    busy=$(others_running)
    b0=$(busy_jiffies); s0=$(tree_jiffies "$BACKEND_PID" "$CUR_PID"); sleep 1
    b1=$(busy_jiffies); s1=$(tree_jiffies "$BACKEND_PID" "$CUR_PID")
    IDLE_SPENT=$((IDLE_SPENT + 1))
    cores=$(awk -v d=$((b1 - b0 - (s1 - s0))) -v hz="$CLK_TCK" 'BEGIN {if (d < 0) d = 0; printf "%.2f", d / hz}')
    if [ -z "$busy" ] && awk -v c="$cores" -v m="$QUIET_MAX" 'BEGIN {exit !(c < m)}'; then return 0; fi
    if [ "$IDLE_SPENT" -ge "$BUDGET" ]; then return 1; fi
    [ -z "$busy" ] || IDLE_WAITED_FOR=$(printf '%s,%s\n' "$IDLE_WAITED_FOR" "$busy" | tr ',' '\n' | grep -v '^$' | sort -u | paste -sd, -)
    tries=$((tries + 1))
    [ $((tries % 6)) != 1 ] ||
      log "waiting for an idle machine: running: ${busy:-nothing named}, others use $cores cores (waited ${IDLE_SPENT}s; gives up at ${BUDGET}s)"
    sleep 4
    IDLE_SPENT=$((IDLE_SPENT + 4))
  done
}

# ---------------------------------------------------------------- one measurement
RESULTS="$TMP/results.tsv"
: >"$RESULTS"
PROBLEMS="$TMP/problems.txt"
: >"$PROBLEMS"

ms_of() {  # ms_of "850.00us" | "1.23ms" | "1.20s" | "2.00m"
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) {sub(/us$/, "", v); printf "%.3f", v / 1000}
    else if (v ~ /ms$/) {sub(/ms$/, "", v); printf "%.3f", v}
    else if (v ~ /s$/) {sub(/s$/, "", v); printf "%.3f", v * 1000}
    else if (v ~ /m$/) {sub(/m$/, "", v); printf "%.3f", v * 60000}
    else print "nan"}'
}

L_PROXY_CORES=0; L_BACKEND_CORES=0; L_WRK_CORES=0; L_OTHER_CORES=0; L_SEEN=""; L_NEW_CONNS=""; L_LOG_LINES=-
access_lines() {  # lines in the current contender's access log so far ("-": it has none)
  if [ -n "$CUR_ACCESS" ]; then wc -l <"$CUR_ACCESS" 2>/dev/null || echo 0; else echo -; fi
}
path_of() { if [ "$1" = 13 ]; then echo /; else echo "/$1"; fi; }  # path_of SIZE
run_wrk() {  # run_wrk SECONDS OUTFILE SIZE: wrk against the current contender, with CPU accounting
  local secs=$1 out=$2 path l0 l1 b0 b1 p0 p1 k0 k1 w0 w1 a0 a1 seen0 seen1
  seen0=$(others_running)
  l0=$(access_lines)
  a0=$(backend_accepts)
  b0=$(busy_jiffies); p0=$(tree_jiffies "$CUR_PID"); k0=$(tree_jiffies "$BACKEND_PID")
  path=$(path_of "$3")
  times >"$TMP/times0"
  timeout $((secs + 30)) wrk -t1 -c"$CONNECTIONS" -d"${secs}s" --latency "http://127.0.0.1:$CUR_PORT$path" >"$out" 2>&1 || true
  times >"$TMP/times1"
  b1=$(busy_jiffies); p1=$(tree_jiffies "$CUR_PID"); k1=$(tree_jiffies "$BACKEND_PID")
  a1=$(backend_accepts)
  l1=$(access_lines)
  seen1=$(others_running)
  w0=$(children_seconds "$TMP/times0"); w1=$(children_seconds "$TMP/times1")
  read -r L_PROXY_CORES L_BACKEND_CORES L_WRK_CORES L_OTHER_CORES < <(awk -v b=$((b1 - b0)) -v p=$((p1 - p0)) \
    -v k=$((k1 - k0)) -v w="$(awk -v a="$w0" -v c="$w1" 'BEGIN {print c - a}')" -v hz="$CLK_TCK" -v t="$secs" \
    'BEGIN {o = (b - p - k) / hz - w; if (o < 0) o = 0; printf "%.2f %.2f %.2f %.2f\n", p / hz / t, k / hz / t, w / t, o / t}')
  L_SEEN=$(printf '%s\n%s\n' "$seen0" "$seen1" | tr ',' '\n' | grep -v '^$' | sort -u | paste -sd, - || true)
  # New connections the backend accepted during the run, less the second stub_status probe (and,
  # for direct, wrk's own 64): keep-alive to the backend should make this about the pool size.
  L_NEW_CONNS=$(( ${a1:-0} - ${a0:-0} - 1 ))
  L_LOG_LINES=-
  [ "$l0" = - ] || L_LOG_LINES=$((l1 - l0))
  [ "$CUR_PID" != "" ] || L_NEW_CONNS=$((L_NEW_CONNS - CONNECTIONS))
}

record() {  # record ROUND NAME SIZE WRK_OUTPUT ATTEMPT LOG_LINES
  local round=$1 name=$2 size=$3 out=$4 attempt=$5 log_lines=$6 rps p50 p99 reqs non2xx sockerr
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  if [ -z "$rps" ]; then
    { echo "round $round $name $size: wrk printed no result; its output:"; sed 's/^/    /' "$out"; } >>"$PROBLEMS"
    return
  fi
  p50=$(ms_of "$(awk '$1 == "50%" {print $2}' "$out")")
  p99=$(ms_of "$(awk '$1 == "99%" {print $2}' "$out")")
  reqs=$(awk '/requests in/ {print $1}' "$out")
  non2xx=$(awk -F: '/Non-2xx or 3xx responses/ {gsub(/ /, "", $2); print $2}' "$out")
  sockerr=$(grep 'Socket errors' "$out" | sed 's/^ *Socket errors: *//' || true)
  local errs
  errs=$(echo "${sockerr:-}" | awk -v n="${non2xx:-0}" '{for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) {sub(",", "", $i); n += $i}} END {print n + 0}')
  local us_per_req
  us_per_req=$(awk -v c="$L_PROXY_CORES" -v r="$rps" 'BEGIN {printf "%.1f", (r > 0 ? c * 1e6 / r : 0)}')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$name" "$rps" "$p50" "$p99" \
    "$reqs" "$errs" "$L_PROXY_CORES" "$us_per_req" "$L_BACKEND_CORES" "$L_WRK_CORES" "$L_OTHER_CORES" \
    "${L_SEEN:--}" "$attempt" "$L_NEW_CONNS" "$size" "$log_lines" >>"$RESULTS"
  if [ "$log_lines" != - ] && [ "$log_lines" -lt $(( ${reqs:-0} * 9 / 10 )) ]; then
    echo "round $round $name $size: the access log has $log_lines lines for $reqs requests" >>"$PROBLEMS"
  fi
  if [ -n "$non2xx" ] || [ -n "$sockerr" ]; then
    {
      echo "round $round $name $size: ${non2xx:-0} non-2xx/3xx responses; socket errors: ${sockerr:-none} (of $reqs requests)"
      grep -E 'Non-2xx|Socket errors' "$out" | sed 's/^/    wrk: /'
      if [ -n "$CUR_PID" ]; then echo "    $name log tail:"; tail -5 "$CUR_LOG" | sed 's/^/    /'; fi
    } >>"$PROBLEMS"
  fi
}

# ---------------------------------------------------------------- idle connections: memory per connection
MEMORY="$TMP/memory.tsv"  # round name conns ok failed open rss_before_kb rss_after_kb bytes_per_conn connect_s
: >"$MEMORY"
is_idle_contender() { [ "$IDLE_CONNS" -gt 0 ] && [[ " ${IDLE_CONTENDERS[*]} " == *" $1 "* ]]; }

measure_idle() {  # measure_idle ROUND NAME DIR: IDLE_CONNS idle keep-alive connections to the current contender
  local round=$1 name=$2 dir=$3 pid=${CUR_PID:-$BACKEND_PID} line rc=0
  # direct: the connections go to the backend, whose memory is measured.
  line=$(timeout 200 python3 "$BENCH/idle_conns.py" --port "$CUR_PORT" --conns "$IDLE_CONNS" --pid "$pid" \
    --timeout 150 2>"$dir/idle.err") || rc=$?
  echo "$line" >"$dir/idle.txt"
  printf '%s\t%s\t%s\n' "$round" "$name" "$(echo "$line" | awk -F'\t' '{
    for (i = 1; i <= NF; i++) {split($i, kv, "="); v[kv[1]] = kv[2]}
    printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", v["conns"], v["ok"], v["failed"], v["open"], v["rss_before_kb"],
      v["rss_after_kb"], v["bytes_per_conn"], v["connect_s"]}')" >>"$MEMORY"
  if [ "$rc" != 0 ]; then
    {
      echo "round $round $name idle: not every connection was served and held (exit $rc): $line"
      sed 's/^/    /' "$dir/idle.err"
      if [ -n "$CUR_PID" ]; then echo "    $name log tail:"; tail -5 "$CUR_LOG" | sed 's/^/    /'; fi
    } >>"$PROBLEMS"
  fi
  log "round $round/$ROUNDS $name idle: $line"
}

# ---------------------------------------------------------------- the rounds
log "contenders: ${CONTENDERS[*]}; sizes 13 B and 64 KiB; $ROUNDS round(s) of ${DURATION}s each, wrk -t1 -c$CONNECTIONS; $IDLE_CONNS idle connections for those of: ${IDLE_CONTENDERS[*]}"
if ! wait_idle; then log "the machine did not become idle within ${IDLE_WAIT}s: measuring anyway (noted in the report)"; fi
FIRST_WAIT=$IDLE_SPENT
BUDGET=$((IDLE_SPENT + RUN_WAIT))
START=$(date +%s)
n=${#CONTENDERS[@]}
for round in $(seq "$ROUNDS"); do
  # The sizes swap order from round to round, as the contenders rotate.
  if [ $((round % 2)) = 1 ]; then sizes=("${SIZES[@]}"); else sizes=("${SIZES[1]}" "${SIZES[0]}"); fi
  for k in $(seq 0 $((n - 1))); do
    name=${CONTENDERS[$(((k + round - 1) % n))]}
    for size in "${sizes[@]}"; do
      dir="$TMP/r$round-$name-$size"
      start_contender "$name" "$dir"
      if [ "$WARMUP" -gt 0 ]; then run_wrk "$WARMUP" "$dir/warmup.txt" "$size"; fi
      for attempt in 1 2 3; do
        wait_idle || true
        run_wrk "$DURATION" "$dir/wrk.txt" "$size"
        if [ "$attempt" -lt 3 ] && [ "$IDLE_SPENT" -lt "$BUDGET" ] &&
           { [ -n "$L_SEEN" ] || awk -v c="$L_OTHER_CORES" -v m="$QUIET_MAX" 'BEGIN {exit !(c >= m)}'; }; then
          log "round $round $name $size: others were busy during the measurement (${L_SEEN:-} $L_OTHER_CORES cores); again"
          continue
        fi
        break
      done
      record "$round" "$name" "$size" "$dir/wrk.txt" "$attempt" "$L_LOG_LINES"
      if [ -n "$CUR_ADMIN" ]; then
        curl -s --max-time 2 "http://127.0.0.1:$CUR_ADMIN/metrics" >"$dir/metrics.txt" 2>/dev/null || true
      fi
      if [ -n "$CUR_PID" ] && ! kill -0 "$CUR_PID" 2>/dev/null; then
        { echo "round $round $name $size: the proxy DIED during the measurement; log tail:"; tail -20 "$CUR_LOG" | sed 's/^/    /'; } >>"$PROBLEMS"
      fi
      log "round $round/$ROUNDS $name $size: $(awk -F'\t' -v r="$round" -v c="$name" -v s="$size" '$1==r && $2==c && $16==s {printf "%.0f req/s, p50 %.2f ms, p99 %.2f ms, errors %s; proxy %s cores (%s us/req), backend %s, wrk %s, others %s; new backend connections %s; access log lines %s", $3, $4, $5, $7, $8, $9, $10, $11, $12, $15, $17}' "$RESULTS")"
      stop_contender
      rm -f "$dir/access.log"  # up to a few hundred MB; its line count is recorded
    done
    if is_idle_contender "$name"; then
      dir="$TMP/r$round-$name-idle"
      start_contender "$name" "$dir"
      measure_idle "$round" "$name" "$dir"
      stop_contender
    fi
  done
done
ELAPSED=$(($(date +%s) - START))

# ---------------------------------------------------------------- medians, table, ratios
median() {  # median NAME SIZE COLUMN (3=rps, 4=p50 ms, 5=p99 ms, 9=us/req)
  awk -F'\t' -v c="$1" -v s="$2" -v col="$3" '$2==c && $16==s {print $col}' "$RESULTS" | sort -g |
    awk '{v[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'
}
spread() {  # spread NAME SIZE: (max-min)/median of req/s across rounds, in %
  awk -F'\t' -v c="$1" -v s="$2" '$2==c && $16==s {print $3}' "$RESULTS" | sort -g |
    awk '{v[NR]=$1} END {if (NR<2) print "-"; else {m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%.0f%%", 100*(v[NR]-v[1])/m}}'
}
max_of() { awk -F'\t' -v c="$1" -v s="$2" -v col="$3" '$2==c && $16==s {if ($col > m) m = $col} END {printf "%.2f", m}' "$RESULTS"; }
errors_of() { awk -F'\t' -v c="$1" -v s="$2" '$2==c && $16==s {n++; e+=$7} END {print (n ? e+0 : "no data")}' "$RESULTS"; }
mem_median() {  # mem_median NAME COLUMN of memory.tsv (7=RSS before kB, 8=RSS after kB, 9=bytes/conn, 10=connect s)
  awk -F'\t' -v c="$1" -v col="$2" '$2==c && $col != "nan" && $col != "" {print $col}' "$MEMORY" | sort -g |
    awk '{v[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a=="nan"||b=="nan"||b==0) print "n/a"; else printf "%.2f", a/b}'; }
fmt0() { awk -v x="$1" 'BEGIN {if (x=="nan") print "-"; else printf "%.0f", x}'; }
fmt1() { awk -v x="$1" 'BEGIN {if (x=="nan") print "-"; else printf "%.1f", x}'; }
fmt2() { awk -v x="$1" 'BEGIN {if (x=="nan") print "-"; else printf "%.2f", x}'; }
at_least() { awk -v x="$1" -v t="$2" 'BEGIN {if (x=="n/a") print "no data"; else if (x+0 >= t+0) print "**met**"; else print "**not met**"}'; }
at_most() { awk -v x="$1" -v t="$2" 'BEGIN {if (x=="n/a") print "no data"; else if (x+0 <= t+0) print "**met**"; else print "**not met**"}'; }
size_text() { if [ "$1" = 13 ]; then echo "13 B"; else echo "64 KiB"; fi; }

declare -A RPS P99 P50 CPU MEM
for name in "${ALL_CONTENDERS[@]}"; do
  MEM[$name]=nan
  for size in "${SIZES[@]}"; do RPS[$name@$size]=nan; P99[$name@$size]=nan; P50[$name@$size]=nan; CPU[$name@$size]=nan; done
done
describe() {
  case "$1" in
    direct) echo "direct to the backend" ;;
    outboard-*-log) echo "outboard gateway, $(threads_of "$1") thread(s), access log on" ;;
    outboard-*) echo "outboard gateway, $(threads_of "$1") thread(s)" ;;
    baseline-*) echo "outboard gateway from --baseline, $(threads_of "$1") thread(s)" ;;
    haproxy-*) echo "HAProxy, nbthread $(threads_of "$1")" ;;
    nginx-*) echo "NGINX proxy, $(threads_of "$1") worker(s)" ;;
  esac
}
TABLE="| contender | response | req/s (median) | p99 ms (median) | p50 ms (median) | req/s spread over rounds | errors | proxy CPU µs per request | proxy CPU, cores (max) | backend CPU, cores (max) | wrk CPU, cores (max) | others' CPU, cores (max) |
|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for size in "${SIZES[@]}"; do
  for name in "${CONTENDERS[@]}"; do
    k=$name@$size
    RPS[$k]=$(median "$name" "$size" 3)
    P50[$k]=$(median "$name" "$size" 4)
    P99[$k]=$(median "$name" "$size" 5)
    CPU[$k]=$(median "$name" "$size" 9)
    if [ "$name" = direct ]; then cpu_cell="-"; pc_cell="-"; else cpu_cell=$(fmt1 "${CPU[$k]}"); pc_cell=$(max_of "$name" "$size" 8); fi
    TABLE+=$'\n'"| \`$name\` ($(describe "$name")) | $(size_text "$size") | $(fmt0 "${RPS[$k]}") | $(fmt2 "${P99[$k]}") | $(fmt2 "${P50[$k]}") | $(spread "$name" "$size") | $(errors_of "$name" "$size") | $cpu_cell | $pc_cell | $(max_of "$name" "$size" 10) | $(max_of "$name" "$size" 11) | $(max_of "$name" "$size" 12) |"
  done
done

# Memory per idle connection.
MEM_TABLE="| contender | idle connections held (of $IDLE_CONNS, worst round) | RSS before, MiB (median) | RSS with them, MiB (median) | memory per connection, bytes (median) | per connection, min-max over rounds | seconds to open them (median) |
|---|---:|---:|---:|---:|---:|---:|"
for name in "${CONTENDERS[@]}"; do
  is_idle_contender "$name" || continue
  MEM[$name]=$(mem_median "$name" 9)
  held=$(awk -F'\t' -v c="$name" '$2==c {if (m == "" || $6 + 0 < m) m = $6 + 0} END {print (m == "" ? "-" : m)}' "$MEMORY")
  range=$(awk -F'\t' -v c="$name" '$2==c && $9 != "nan" && $9 != "" {if (lo == "" || $9 < lo) lo = $9; if (hi == "" || $9 > hi) hi = $9} END {print (lo == "" ? "-" : lo "-" hi)}' "$MEMORY")
  MEM_TABLE+=$'\n'"| \`$name\` ($(describe "$name")) | $held | $(awk -v x="$(mem_median "$name" 7)" 'BEGIN {if (x=="nan") print "-"; else printf "%.1f", x / 1024}') | $(awk -v x="$(mem_median "$name" 8)" 'BEGIN {if (x=="nan") print "-"; else printf "%.1f", x / 1024}') | $(fmt0 "${MEM[$name]}") | $range | $(fmt1 "$(mem_median "$name" 10)") |"
done

# Ratios: four cells per row (13 B and 64 KiB, 1 and 2 threads each).
CELLS=("13@1" "13@2" "64k@1" "64k@2")
ratio_cells() {  # ratio_cells ARRAY A_PATTERN B_PATTERN: "| r | r | r | r" with T for the thread count
  local -n arr=$1
  local c size t a b out=""
  for c in "${CELLS[@]}"; do
    size=${c%@*}; t=${c#*@}; a=${2//T/$t}; b=${3//T/$t}
    if [ -n "${arr[$a@$size]+x}" ] && [ -n "${arr[$b@$size]+x}" ]; then out+=" | $(ratio "${arr[$a@$size]}" "${arr[$b@$size]}")"; else out+=" | -"; fi
  done
  echo "$out"
}
verdicts() {  # verdicts at_least|at_most TARGET "| r | r | r | r": the four verdicts, comma-separated
  local check=$1 target=$2 cells=$3 v out=""
  for v in $(echo "$cells" | tr -d '|'); do out+="${out:+, }$([ "$v" = - ] && echo "no data" || "$check" "$v" "$target")"; done
  echo "$out"
}
c_rh=$(ratio_cells RPS outboard-T haproxy-T); c_ph=$(ratio_cells P99 outboard-T haproxy-T)
c_rd=$(ratio_cells RPS outboard-T direct)
RATIOS="| ratio (medians) | 13 B, 1 thread each | 13 B, 2 threads each | 64 KiB, 1 thread each | 64 KiB, 2 threads each | target | verdict (in the same order) |
|---|---:|---:|---:|---:|---:|---|"
RATIOS+=$'\n'"| outboard / haproxy, req/s${c_rh} | >= 1.2 | $(verdicts at_least 1.2 "$c_rh") |"
RATIOS+=$'\n'"| outboard / haproxy, p99${c_ph} | <= 1.0 | $(verdicts at_most 1.0 "$c_ph") |"
RATIOS+=$'\n'"| outboard / direct, req/s${c_rd} | >= 0.6 | $(verdicts at_least 0.6 "$c_rd") |"
RATIOS+=$'\n'"| outboard with access log / haproxy, req/s$(ratio_cells RPS outboard-T-log haproxy-T) | (context) | |"
RATIOS+=$'\n'"| outboard with access log / haproxy, p99$(ratio_cells P99 outboard-T-log haproxy-T) | (context) | |"
RATIOS+=$'\n'"| outboard with access log / without, req/s$(ratio_cells RPS outboard-T-log outboard-T) | (context) | |"
RATIOS+=$'\n'"| outboard / nginx, req/s$(ratio_cells RPS outboard-T nginx-T) | (context) | |"
RATIOS+=$'\n'"| outboard / nginx, p99$(ratio_cells P99 outboard-T nginx-T) | (context) | |"
RATIOS+=$'\n'"| proxy CPU per request, outboard / haproxy$(ratio_cells CPU outboard-T haproxy-T) | (context) | |"
RATIOS+=$'\n'"| proxy CPU per request, outboard / nginx$(ratio_cells CPU outboard-T nginx-T) | (context) | |"
if [ -n "$BASELINE" ]; then
  RATIOS+=$'\n'"| outboard / baseline, req/s$(ratio_cells RPS outboard-T baseline-T) | (context) | |"
  RATIOS+=$'\n'"| outboard / baseline, p99$(ratio_cells P99 outboard-T baseline-T) | (context) | |"
  RATIOS+=$'\n'"| proxy CPU per request, outboard / baseline$(ratio_cells CPU outboard-T baseline-T) | (context) | |"
fi
RATIOS+=$'\n'"| haproxy / direct, req/s$(ratio_cells RPS haproxy-T direct) | (context) | |"
RATIOS+=$'\n'"| nginx / direct, req/s$(ratio_cells RPS nginx-T direct) | (context) | |"

m_oh=$(ratio "${MEM[outboard-1]}" "${MEM[haproxy-1]}")
MEM_RATIOS="| memory per idle connection (medians) | ratio | target | verdict |
|---|---:|---:|---|
| outboard / haproxy | $m_oh | <= 1.0 | $(at_most "$m_oh" 1.0) |
| outboard / nginx | $(ratio "${MEM[outboard-1]}" "${MEM[nginx-1]}") | (context) | |
| outboard / direct (the backend NGINX) | $(ratio "${MEM[outboard-1]}" "${MEM[direct]}") | (context) | |"

# Ratios round by round (the contenders of a round ran minutes apart, not seconds); "clean" when
# no other wrk/ninja/cc1plus ran and others used < QUIET_MAX cores during every measurement compared.
ROUND_RATIOS=$(awk -F'\t' -v m="$QUIET_MAX" '
  {k = $1 SUBSEP $16; rps[k, $2] = $3; p99[k, $2] = $5; dirty[k, $2] = ($13 != "-" || $12 + 0 >= m + 0); if ($1 > R) R = $1}
  function cell(k, a, b, arr) {return ((k, a) in arr && (k, b) in arr && arr[k, b] > 0) ? sprintf("%.2f", arr[k, a] / arr[k, b]) : "-"}
  function clean(k, a, b) {return ((k, a) in rps && (k, b) in rps) ? ((dirty[k, a] || dirty[k, b]) ? "no" : "yes") : "-"}
  BEGIN {print "| round | response | outboard-1 / haproxy-1, req/s | p99 | clean | outboard-2 / haproxy-2, req/s | p99 | clean | outboard-1 / direct | outboard-2 / direct | outboard-1-log / haproxy-1, req/s | outboard-1 / nginx-1, req/s | outboard-2 / nginx-2, req/s |";
         print "|---:|---|---:|---:|---|---:|---:|---|---:|---:|---:|---:|---:|"}
  END {for (r = 1; r <= R; r++) for (z = 1; z <= 2; z++) {
      rs[1] = r; rs[2] = (z == 1 ? "13" : "64k"); k = r SUBSEP rs[2]
      if (!((k, "outboard-1") in rps) && !((k, "outboard-2") in rps)) continue
      printf "| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", rs[1], (rs[2] == "13" ? "13 B" : "64 KiB"),
        cell(k, "outboard-1", "haproxy-1", rps), cell(k, "outboard-1", "haproxy-1", p99), clean(k, "outboard-1", "haproxy-1"),
        cell(k, "outboard-2", "haproxy-2", rps), cell(k, "outboard-2", "haproxy-2", p99), clean(k, "outboard-2", "haproxy-2"),
        cell(k, "outboard-1", "direct", rps), cell(k, "outboard-2", "direct", rps), cell(k, "outboard-1-log", "haproxy-1", rps),
        cell(k, "outboard-1", "nginx-1", rps), cell(k, "outboard-2", "nginx-2", rps)}}' "$RESULTS")

# The verdict in words.
verdict_line() {  # verdict_line SIZE THREADS
  local s=$1 t=$2 r p d
  r=$(ratio "${RPS[outboard-$t@$s]}" "${RPS[haproxy-$t@$s]}"); p=$(ratio "${P99[outboard-$t@$s]}" "${P99[haproxy-$t@$s]}")
  d=$(ratio "${RPS[outboard-$t@$s]}" "${RPS[direct@$s]}")
  if [ "$r" = n/a ] || [ "$p" = n/a ]; then echo "- $(size_text "$s"), $t thread(s) each: no data."; return; fi
  awk -v r="$r" -v p="$p" -v d="$d" -v t="$t" -v sz="$(size_text "$s")" -v a="${RPS[outboard-$t@$s]}" -v h="${RPS[haproxy-$t@$s]}" \
      -v pa="${P99[outboard-$t@$s]}" -v ph="${P99[haproxy-$t@$s]}" 'BEGIN {
    s = (r >= 1.2 && p <= 1.0) ? "target **met**" : "target **not met**";
    printf "- %s, %s thread(s) each: outboard %.0f req/s (p99 %.2f ms) vs HAProxy %.0f req/s (p99 %.2f ms): %.2fx the req/s (target 1.2x) and %.2fx the p99 (target <= 1.0): %s", sz, t, a, pa, h, ph, r, p, s;
    if (r < 1.2) printf "; it would need %.0f req/s, %.0f%% more than it did", 1.2 * h, 100 * (1.2 * h / a - 1);
    if (d == "n/a") printf "; against direct: no data"; else printf "; %.2fx direct (target 0.6x): %s", d, (d >= 0.6 ? "**met**" : "**not met**");
    print "."}'
}
VERDICT=""
for size in "${SIZES[@]}"; do for t in 1 2; do VERDICT+="$(verdict_line "$size" "$t")"$'\n'; done; done
if [ "$m_oh" = n/a ]; then
  VERDICT+="- idle memory per connection: no data."
else
  VERDICT+=$(awk -v r="$m_oh" -v a="${MEM[outboard-1]}" -v h="${MEM[haproxy-1]}" 'BEGIN {
    printf "- idle memory per connection: outboard %.0f bytes vs HAProxy %.0f bytes: %.2fx (target <= 1.0): target %s.", a, h, r, (r <= 1.0 ? "**met**" : "**not met**")}')
fi

# Was the machine otherwise idle?
SEEN_ALL=$(awk -F'\t' '$13 != "-" {print $13}' "$RESULTS" | tr ',' '\n' | sort -u | paste -sd, - || true)
OTHER_MAX=$(awk -F'\t' '{if ($12 > m) m = $12} END {printf "%.2f", m}' "$RESULTS")
REPEATS=$(awk -F'\t' '$14 > 1 {n++} END {print n+0}' "$RESULTS")
if [ -z "$SEEN_ALL" ] && awk -v c="$OTHER_MAX" -v m="$QUIET_MAX" 'BEGIN {exit !(c < m)}'; then
  IDLE_TEXT="yes: no other wrk, ninja or cc1plus ran during any measurement, and the rest of the machine used at most $OTHER_MAX cores during one"
else
  IDLE_TEXT="**no**: ${SEEN_ALL:+other processes ($SEEN_ALL) ran during some measurements; }the rest of the machine used up to $OTHER_MAX cores during a measurement, so absolute numbers are low and ratios less certain"
fi
IDLE_TEXT+=" (waited ${FIRST_WAIT} s of ${IDLE_WAIT} s before the first measurement and $((IDLE_SPENT - FIRST_WAIT)) s of ${RUN_WAIT} s during the run${IDLE_WAITED_FOR:+, for: $IDLE_WAITED_FOR}; $REPEATS measurement(s) repeated because others were busy)"

PER_ROUND=$(awk -F'\t' 'BEGIN {print "| round | contender | response | req/s | p50 ms | p99 ms | requests | errors | proxy cores | proxy µs/req | backend cores | wrk cores | others cores | others running | attempt | new backend conns | access log lines |"; print "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|"}
  {printf "| %s | %s | %s | %.0f | %.2f | %.2f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, ($16 == "13" ? "13 B" : "64 KiB"), $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $17}' "$RESULTS")
PER_ROUND_MEM=$(awk -F'\t' 'BEGIN {print "| round | contender | connections | served | failed | open when measured | RSS before kB | RSS after kB | bytes per connection | seconds to open |"; print "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"}
  {printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10}' "$MEMORY")

CMD="bash bench/gateway/run.sh${ARGS_TEXT:+ $ARGS_TEXT}"
echo
echo "## bench/gateway: $ROUNDS round(s) x ${DURATION}s, wrk -t1 -c$CONNECTIONS, 13 B and 64 KiB, $IDLE_CONNS idle connections; took ${ELAPSED}s"
echo
echo "$TABLE"
echo
echo "$MEM_TABLE"
echo
echo "$RATIOS"
echo
echo "$MEM_RATIOS"
echo
echo "$ROUND_RATIOS"
echo
echo "$VERDICT"
echo
echo "machine otherwise idle: $IDLE_TEXT"
echo
echo "$PER_ROUND"
echo
echo "$PER_ROUND_MEM"
if [ -s "$PROBLEMS" ]; then
  echo
  echo "PROBLEMS:"
  cat "$PROBLEMS"
else
  echo
  echo "no errors: no 'Non-2xx or 3xx responses' or 'Socket errors' line from wrk for any contender, and every idle connection was served and still open when measured"
fi

# ---------------------------------------------------------------- docs/BENCHMARKS.md
if [ "$WRITE_DOC" = 1 ]; then
  DOC="${DOC_TO:-$ROOT/docs/BENCHMARKS.md}"
  BEGIN_MARK="<!-- bench/gateway begin -->"
  END_MARK="<!-- bench/gateway end -->"
  SECTION="$TMP/section.md"
  {
    echo "$BEGIN_MARK"
    echo "## Gateway"
    echo
    echo "\`outboard gateway\` against HAProxy and NGINX as L7 reverse proxies, all in front of the same"
    echo "one-worker NGINX backend, one worker thread each and then two each, at two response sizes"
    echo "(13 bytes and 64 KiB); then the memory each spends per idle keep-alive client connection."
    echo
    echo '```sh'
    echo 'bash bench/gateway/run.sh            # 3 interleaved rounds, 10 s per measurement; rewrites this section'
    echo 'bash bench/gateway/run.sh --quick    # 1 round of 3 s per measurement: a smoke check, leaves this file alone'
    echo '```'
    echo
    echo "The script installs what is missing (\`haproxy\`, \`nginx\`, \`wrk\` from Debian; their system"
    echo "services are not used), builds outboard (\`bash scripts/build.sh release outboard\`; \`--outboard BIN\`"
    echo "measures another binary), and runs everything on 127.0.0.1 on free ports with its own config files"
    echo "in a temp dir; it stops every process it started, by pid, when it exits. \`--help\` lists the other options."
    echo
    echo "### The setup"
    echo
    echo "| name | what |"
    echo "|---|---|"
    echo "| backend | NGINX, \`worker_processes 1\`, \`return 200 \"hello world!\\n\"\` (13 bytes) at \`/\`, a 65536-byte file at \`/64k\` (\`sendfile on\`, \`open_file_cache\`), \`keepalive_requests 1000000\`, \`access_log off\` |"
    echo "| \`direct\` | wrk straight to the backend, for scale |"
    echo "| \`outboard-N\` | \`outboard gateway --threads N --backend 127.0.0.1:BACKEND --admin 127.0.0.1:ADMIN --health-path / --max-connections $CONN_CAP --access-log false\` (round robin, health checks every 1 s on \`/\`, retries on, no access log) |"
    echo "| \`outboard-1-log\` | the same with one thread and \`--access-log true\` (one JSON line per request on stdout, redirected to a file; its line count is checked against the requests) |"
    echo "| \`haproxy-N\` | HAProxy \`nbthread N\`, \`maxconn $CONN_CAP\`, \`no strict-limits\`, \`mode http\`, \`option http-keep-alive\`, \`http-reuse always\`, \`option forwardfor\`, \`option httpchk GET /\` with \`check inter 1s\`, no logging |"
    echo "| \`nginx-N\` | NGINX \`worker_processes N\`, \`worker_connections $CONN_CAP\`, \`upstream { keepalive 64; keepalive_requests 1000000; }\`, \`proxy_http_version 1.1\`, \`proxy_set_header Connection \"\"\`, \`X-Forwarded-For\`, \`keepalive_requests 1000000\` to clients, \`access_log off\` |"
    echo
    echo "Configured alike: every proxy keeps connections to the backend alive and reuses them, no"
    echo "proxy or backend closes a keep-alive connection during a run (NGINX's default of 1000"
    echo "requests per connection is raised on both sides), none logs requests (\`outboard-1-log\` is the"
    echo "one exception, reported beside the others: what outboard's access log costs), and each adds"
    echo "\`X-Forwarded-For\` (outboard always does, and also \`X-Forwarded-Proto\` and \`X-Request-Id\`)."
    echo "Health checks are on for outboard and HAProxy (every 1 s on \`/\`); open-source NGINX has no"
    echo "active health checks, so \`nginx-N\` runs without. The exact config files are written by"
    echo "\`bench/gateway/run.sh\`. Each measurement starts the proxy afresh, waits for a 200 with the 13"
    echo "bytes through it, warms up for ${WARMUP} s (not counted), then runs"
    echo "\`wrk -t1 -c$CONNECTIONS -d${DURATION}s --latency http://127.0.0.1:PORT/\` (13 B) or \`.../64k\` (64 KiB)."
    echo "Contenders take turns within a round, the order rotates from round to round and the two sizes"
    echo "swap order each round; the tables show medians over rounds. wrk's lines \`Non-2xx or 3xx"
    echo "responses\` and \`Socket errors\` count as errors (they must be 0)."
    echo
    echo "**Idle connections.** After its two throughput measurements in a round, each of \`direct\` (the"
    echo "backend itself), \`outboard-1\`, \`haproxy-1\` and \`nginx-1\` is started afresh and"
    echo "\`bench/gateway/idle_conns.py\` opens $IDLE_CONNS connections to it, sends one \`GET /\` on each and"
    echo "reads the whole response (so each is a served keep-alive client connection, not a bare accept),"
    echo "waits 1 s, checks they are all still open, and reads the resident memory again: memory per"
    echo "connection = (VmRSS of all the proxy's processes, from \`/proc/PID/status\`, with them open - before)"
    echo "/ $IDLE_CONNS. Kernel socket buffers are not in RSS and are the same for all; what a proxy allocates"
    echo "at start for its whole connection limit (NGINX's connection array, HAProxy's descriptor table) is"
    echo "in \"before\", so this is what each further connection costs. For this the script"
    echo "raises its open-file limit to the hard limit ($FD_LIMIT here) and gives each proxy a client connection"
    echo "limit of $CONN_CAP (outboard \`--max-connections\`, HAProxy \`maxconn\`, NGINX \`worker_connections\`);"
    echo "HAProxy wants two descriptors per \`maxconn\` and refuses to start unless told \`no strict-limits\`"
    echo "when the hard limit is lower, which idle client connections (one descriptor each) do not need."
    echo
    echo "On a 2-core machine wrk (one thread) itself needs up to a whole core and the backend NGINX a"
    echo "good part of the other, so the proxies compete with both for CPU: with two threads a proxy has no"
    echo "core of its own, and req/s measures CPU per request as much as concurrency. \"proxy CPU µs per request\" (the"
    echo "proxy's processes, all threads, during the measurement, over its requests) is the number"
    echo "least disturbed by that. Before each measurement the script waits until no other wrk, ninja"
    echo "or cc1plus runs and the rest of the machine uses < $QUIET_MAX cores, and measures again (up to"
    echo "twice) when others were busy during it (at most ${IDLE_WAIT} s before the first measurement and"
    echo "${RUN_WAIT} s during the run). The per-round ratios below show which rounds were clean."
    echo
    echo "Where a proxy's time goes: \`bash bench/gateway/profile.sh\` (syscalls per request from"
    echo "\`strace -c\` for outboard and HAProxy, a \`perf\` profile of each, and instructions and"
    echo "allocations per request from \`valgrind --tool=callgrind\` on outboard)."
    echo
    echo "### Latest run"
    echo
    echo "Command: \`$CMD\` (from the repository root; measurements took ${ELAPSED} s, finished $(date -u '+%F %H:%M') UTC)."
    echo "$ROUNDS interleaved round(s) of ${DURATION} s per contender and size; $IDLE_CONNS idle connections per round."
    echo
    echo "- outboard: \`$V_OUTBOARD\`, commit \`$V_COMMIT\`$V_DIRTY, $BUILD_TEXT"
    echo "- HAProxy: \`$V_HAPROXY\`"
    echo "- NGINX: \`$V_NGINX\` (backend and proxy)"
    echo "- wrk: \`$V_WRK\`"
    echo "- machine: $NPROC cores ($CPU_MODEL), Linux $KERNEL; wrk, the backend and the proxy share the cores"
    echo "- machine otherwise idle: $IDLE_TEXT"
    echo
    echo "$TABLE"
    echo
    echo "Memory per idle keep-alive client connection:"
    echo
    echo "$MEM_TABLE"
    echo
    echo "$RATIOS"
    echo
    echo "$MEM_RATIOS"
    echo
    echo "The same ratios round by round (\"clean\": nothing else ran during either measurement):"
    echo
    echo "$ROUND_RATIOS"
    echo
    echo "Against the issue's targets (at least 1.2x HAProxy's req/s with p99 no worse, one thread each and"
    echo "two each; at least 0.6x the backend served directly; idle memory per connection no worse than HAProxy's):"
    echo
    echo "$VERDICT"
    echo
    if [ -s "$PROBLEMS" ]; then
      echo "Problems seen in this run:"
      echo
      echo '```'
      cat "$PROBLEMS"
      echo '```'
    else
      echo "Errors: none (no \`Non-2xx or 3xx responses\` or \`Socket errors\` line from wrk for any contender;"
      echo "every idle connection got its 200 and was still open when measured)."
    fi
    echo
    echo "<details><summary>every round</summary>"
    echo
    echo "\"new backend conns\" is how many connections the backend accepted during the measurement"
    echo "(from its \`stub_status\`), less wrk's own for \`direct\`: with keep-alive it stays at about the"
    echo "number of client connections (64) or below. \"access log lines\" counts the lines \`outboard-1-log\`"
    echo "wrote during the measurement."
    echo
    echo "$PER_ROUND"
    echo
    echo "$PER_ROUND_MEM"
    echo
    echo "</details>"
    echo "$END_MARK"
  } >"$SECTION"
  # Re-read the file right before writing: others write their own sections of it. Only the text
  # between our markers is replaced; without them, the section is appended.
  if [ ! -f "$DOC" ]; then
    printf '# Benchmarks\n\nHow to run them and what they gave. Only ratios from one run, rounds interleaved, count.\n' >"$DOC"
  fi
  if grep -qF "$BEGIN_MARK" "$DOC"; then
    awk -v b="$BEGIN_MARK" -v e="$END_MARK" -v f="$SECTION" '
      $0 == b {while ((getline l < f) > 0) print l; skip = 1; next}
      $0 == e {skip = 0; next}
      !skip {print}' "$DOC" >"$TMP/doc.new"
  else
    { cat "$DOC"; echo; cat "$SECTION"; } >"$TMP/doc.new"
  fi
  cat "$TMP/doc.new" >"$DOC"
  log "wrote the \"## Gateway\" section of $DOC"
fi
