#!/usr/bin/env bash
# bench/gateway: `outboard gateway` against HAProxy and NGINX as L7 reverse proxies, in one run.
#
#   bash bench/gateway/run.sh            3 interleaved rounds, 10 s per measurement (~5 min plus the
#                                        build and any wait for an idle machine); writes the
#                                        "## Gateway" section of docs/BENCHMARKS.md
#   bash bench/gateway/run.sh --quick    1 round, 3 s per measurement (smoke check; no doc update)
#   options: --rounds N  --duration S  --warmup S (default 1; not counted)  --no-doc
#            --keep (keep the temp dir and logs)  --no-build (use build/release as it is)
#            --only a,b (a subset of the contenders below; implies --no-doc)
#            --idle-wait S (default 600, --quick 60): the machine is shared; before the first
#              measurement the script waits at most this long until no other wrk, ninja or
#              cc1plus runs and other processes use < 0.3 cores
#            --run-wait S (default 900, --quick 60): then, before each measurement, it waits the
#              same way, and measures again (up to twice) when others were busy during one, for
#              at most this long in all
#
# The backend: ONE NGINX worker (worker_processes 1) answering GET / with a 13-byte body
# ("hello world!\n"), keepalive_requests 1000000, access_log off. It runs for the whole run.
# Contenders (every one on 127.0.0.1, listening on a free port, started afresh per measurement):
#   direct       wrk straight to the backend (for scale)
#   outboard-N   outboard gateway --threads N --backend BACKEND --health-path / (admin on a free port)
#   haproxy-N    HAProxy, nbthread N, mode http, option http-keep-alive, http-reuse always
#   nginx-N      NGINX as a proxy, worker_processes N, upstream keepalive 64, HTTP/1.1 upstream
# with N = 1 and N = 2. Each measurement: wrk -t1 -c64 -dDURATIONs --latency http://127.0.0.1:PORT/
# after a short warm-up. Contenders take turns within a round; the order rotates each round. The
# report takes the median over rounds of req/s and of p99, and the ratios outboard/haproxy and
# outboard/nginx. Every process this script starts is stopped by its pid on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH="$ROOT/bench/gateway"
ROUNDS=3
DURATION=10
WARMUP=1
WRITE_DOC=1
KEEP=0
QUICK=0
BUILD=1
ONLY=""
CONNECTIONS=64
IDLE_WAIT=600
RUN_WAIT=900
QUIET_MAX=0.3
ARGS_TEXT="$*"

while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1; ROUNDS=1; DURATION=3; WRITE_DOC=0; IDLE_WAIT=60; RUN_WAIT=60 ;;
    --rounds) ROUNDS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --warmup) WARMUP=$2; shift ;;
    --no-doc) WRITE_DOC=0 ;;
    --keep) KEEP=1 ;;
    --no-build) BUILD=0 ;;
    --only) ONLY=$2; WRITE_DOC=0; shift ;;
    --idle-wait) IDLE_WAIT=$2; shift ;;
    --run-wait) RUN_WAIT=$2; shift ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ "$ROUNDS" =~ ^[1-9][0-9]?$ && "$DURATION" =~ ^[1-9][0-9]{0,2}$ && "$WARMUP" =~ ^[0-9]{1,2}$ &&
   "$IDLE_WAIT" =~ ^[0-9]{1,5}$ && "$RUN_WAIT" =~ ^[0-9]{1,5}$ ]] ||
  { echo "run.sh: rounds 1-99, duration 1-999 s, warmup 0-99 s, idle and run wait 0-99999 s" >&2; exit 2; }

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
command -v python3 >/dev/null || command -v node >/dev/null || need_apt python3
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

ALL_CONTENDERS=(direct outboard-1 haproxy-1 nginx-1 outboard-2 haproxy-2 nginx-2)
CONTENDERS=("${ALL_CONTENDERS[@]}")
if [ -n "$ONLY" ]; then
  IFS=, read -r -a picked <<<"$ONLY"
  for c in "${picked[@]}"; do
    [[ " ${ALL_CONTENDERS[*]} " == *" $c "* ]] || die "--only: unknown contender '$c' (${ALL_CONTENDERS[*]})"
  done
  CONTENDERS=("${picked[@]}")
fi

OUTBOARD="$ROOT/build/release/apps/outboard/outboard"
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
cp "$OUTBOARD" "$TMP/outboard"
OUTBOARD="$TMP/outboard"

# ---------------------------------------------------------------- versions and machine
V_OUTBOARD=$("$OUTBOARD" --version 2>&1 | head -1 || echo unknown)
V_HAPROXY=$("$HAPROXY" -v 2>&1 | head -1 | sed 's/ - https.*//')
V_NGINX=$("$NGINX" -v 2>&1 | head -1 | sed 's/^nginx version: //')
V_WRK=$(wrk -v 2>&1 | head -1 | sed 's/ Copyright.*//' || true)
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
cat >"$BACKEND_DIR/nginx.conf" <<EOF
# the backend: one worker, 13 bytes at /
worker_processes 1;
daemon off;
master_process on;
pid $BACKEND_DIR/nginx.pid;
error_log $BACKEND_DIR/error.log warn;
events { worker_connections 4096; }
http {
$(nginx_common "$BACKEND_DIR")
  default_type text/plain;
  server {
    listen 127.0.0.1:$BACKEND_PORT;
    location = / { return 200 "hello world!\n"; }
    location = /__stub_status { stub_status; }
  }
}
EOF
"$NGINX" -e "$BACKEND_DIR/error.log" -p "$BACKEND_DIR" -c "$BACKEND_DIR/nginx.conf" >"$BACKEND_DIR/stdout.log" 2>&1 &
BACKEND_PID=$!
PIDS+=("$BACKEND_PID")
wait_http "http://127.0.0.1:$BACKEND_PORT/" "$BACKEND_PID" "$BACKEND_DIR/error.log"
log "backend: nginx (1 worker) on 127.0.0.1:$BACKEND_PORT; work dir $TMP"

backend_accepts() {  # connections the backend has accepted so far (stub_status; counts this probe too)
  curl -s --max-time 2 "http://127.0.0.1:$BACKEND_PORT/__stub_status" | awk 'NR == 3 {print $1}'
}

# ---------------------------------------------------------------- the contenders
CUR_PID=""
CUR_LOG=""
CUR_PORT=""
CUR_ADMIN=""

start_contender() {  # start_contender NAME DIR
  local name=$1 dir=$2 threads=${1##*-}
  mkdir -p "$dir"
  CUR_LOG="$dir/server.log"
  CUR_ADMIN=""
  if [ "$name" = direct ]; then
    CUR_PID=""
    CUR_PORT=$BACKEND_PORT
    return 0
  fi
  CUR_PORT=$(free_port)
  case "$name" in
    outboard-*)
      CUR_ADMIN=$(free_port)
      echo "$OUTBOARD gateway --listen 127.0.0.1:$CUR_PORT --threads $threads --backend 127.0.0.1:$BACKEND_PORT --admin 127.0.0.1:$CUR_ADMIN --health-path /" >"$dir/command.txt"
      "$OUTBOARD" gateway --listen "127.0.0.1:$CUR_PORT" --threads "$threads" \
        --backend "127.0.0.1:$BACKEND_PORT" --admin "127.0.0.1:$CUR_ADMIN" --admin-token-file "$dir/admin.token" --health-path / >"$CUR_LOG" 2>&1 &
      ;;
    haproxy-*)
      cat >"$dir/haproxy.cfg" <<EOF
global
  nbthread $threads
  maxconn 8000

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
events { worker_connections 4096; }
http {
$(nginx_common "$dir")
  upstream be {
    server 127.0.0.1:$BACKEND_PORT;
    keepalive 64;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
  }
  server {
    listen 127.0.0.1:$CUR_PORT;
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

L_PROXY_CORES=0; L_BACKEND_CORES=0; L_WRK_CORES=0; L_OTHER_CORES=0; L_SEEN=""; L_NEW_CONNS=""
run_wrk() {  # run_wrk SECONDS OUTFILE: wrk against the current contender, with CPU accounting
  local secs=$1 out=$2 b0 b1 p0 p1 k0 k1 w0 w1 a0 a1 seen0 seen1
  seen0=$(others_running)
  a0=$(backend_accepts)
  b0=$(busy_jiffies); p0=$(tree_jiffies "$CUR_PID"); k0=$(tree_jiffies "$BACKEND_PID")
  times >"$TMP/times0"
  timeout $((secs + 30)) wrk -t1 -c"$CONNECTIONS" -d"${secs}s" --latency "http://127.0.0.1:$CUR_PORT/" >"$out" 2>&1 || true
  times >"$TMP/times1"
  b1=$(busy_jiffies); p1=$(tree_jiffies "$CUR_PID"); k1=$(tree_jiffies "$BACKEND_PID")
  a1=$(backend_accepts)
  seen1=$(others_running)
  w0=$(children_seconds "$TMP/times0"); w1=$(children_seconds "$TMP/times1")
  read -r L_PROXY_CORES L_BACKEND_CORES L_WRK_CORES L_OTHER_CORES < <(awk -v b=$((b1 - b0)) -v p=$((p1 - p0)) \
    -v k=$((k1 - k0)) -v w="$(awk -v a="$w0" -v c="$w1" 'BEGIN {print c - a}')" -v hz="$CLK_TCK" -v t="$secs" \
    'BEGIN {o = (b - p - k) / hz - w; if (o < 0) o = 0; printf "%.2f %.2f %.2f %.2f\n", p / hz / t, k / hz / t, w / t, o / t}')
  L_SEEN=$(printf '%s\n%s\n' "$seen0" "$seen1" | tr ',' '\n' | grep -v '^$' | sort -u | paste -sd, - || true)
  # New connections the backend accepted during the run, less the second stub_status probe (and,
  # for direct, wrk's own 64): keep-alive to the backend should make this about the pool size.
  L_NEW_CONNS=$(( ${a1:-0} - ${a0:-0} - 1 ))
  [ "$CUR_PID" != "" ] || L_NEW_CONNS=$((L_NEW_CONNS - CONNECTIONS))
}

record() {  # record ROUND NAME WRK_OUTPUT ATTEMPT
  local round=$1 name=$2 out=$3 attempt=$4 rps p50 p99 reqs non2xx sockerr
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  if [ -z "$rps" ]; then
    { echo "round $round $name: wrk printed no result; its output:"; sed 's/^/    /' "$out"; } >>"$PROBLEMS"
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
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$name" "$rps" "$p50" "$p99" \
    "$reqs" "$errs" "$L_PROXY_CORES" "$us_per_req" "$L_BACKEND_CORES" "$L_WRK_CORES" "$L_OTHER_CORES" \
    "${L_SEEN:--}" "$attempt" "$L_NEW_CONNS" >>"$RESULTS"
  if [ -n "$non2xx" ] || [ -n "$sockerr" ]; then
    {
      echo "round $round $name: ${non2xx:-0} non-2xx/3xx responses; socket errors: ${sockerr:-none} (of $reqs requests)"
      grep -E 'Non-2xx|Socket errors' "$out" | sed 's/^/    wrk: /'
      if [ -n "$CUR_PID" ]; then echo "    $name log tail:"; tail -5 "$CUR_LOG" | sed 's/^/    /'; fi
    } >>"$PROBLEMS"
  fi
}

# ---------------------------------------------------------------- the rounds
log "contenders: ${CONTENDERS[*]}; $ROUNDS round(s) of ${DURATION}s each, wrk -t1 -c$CONNECTIONS"
if ! wait_idle; then log "the machine did not become idle within ${IDLE_WAIT}s: measuring anyway (noted in the report)"; fi
FIRST_WAIT=$IDLE_SPENT
BUDGET=$((IDLE_SPENT + RUN_WAIT))
START=$(date +%s)
n=${#CONTENDERS[@]}
for round in $(seq "$ROUNDS"); do
  for k in $(seq 0 $((n - 1))); do
    name=${CONTENDERS[$(((k + round - 1) % n))]}
    dir="$TMP/r$round-$name"
    start_contender "$name" "$dir"
    if [ "$WARMUP" -gt 0 ]; then run_wrk "$WARMUP" "$dir/warmup.txt"; fi
    for attempt in 1 2 3; do
      wait_idle || true
      run_wrk "$DURATION" "$dir/wrk.txt"
      if [ "$attempt" -lt 3 ] && [ "$IDLE_SPENT" -lt "$BUDGET" ] &&
         { [ -n "$L_SEEN" ] || awk -v c="$L_OTHER_CORES" -v m="$QUIET_MAX" 'BEGIN {exit !(c >= m)}'; }; then
        log "round $round $name: others were busy during the measurement (${L_SEEN:-} $L_OTHER_CORES cores); again"
        continue
      fi
      break
    done
    record "$round" "$name" "$dir/wrk.txt" "$attempt"
    if [ -n "$CUR_ADMIN" ]; then
      curl -s --max-time 2 "http://127.0.0.1:$CUR_ADMIN/metrics" >"$dir/metrics.txt" 2>/dev/null || true
    fi
    if [ -n "$CUR_PID" ] && ! kill -0 "$CUR_PID" 2>/dev/null; then
      { echo "round $round $name: the proxy DIED during the measurement; log tail:"; tail -20 "$CUR_LOG" | sed 's/^/    /'; } >>"$PROBLEMS"
    fi
    log "round $round/$ROUNDS $name: $(awk -F'\t' -v r="$round" -v c="$name" '$1==r && $2==c {printf "%.0f req/s, p50 %.2f ms, p99 %.2f ms, errors %s; proxy %s cores (%s us/req), backend %s, wrk %s, others %s; new backend connections %s", $3, $4, $5, $7, $8, $9, $10, $11, $12, $15}' "$RESULTS")"
    stop_contender
  done
done
ELAPSED=$(($(date +%s) - START))

# ---------------------------------------------------------------- medians, table, ratios
median() {  # median NAME COLUMN (3=rps, 5=p99 ms, 9=us/req)
  awk -F'\t' -v c="$1" -v col="$2" '$2==c {print $col}' "$RESULTS" | sort -g |
    awk '{v[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'
}
spread() {  # spread NAME: (max-min)/median of req/s across rounds, in %
  awk -F'\t' -v c="$1" '$2==c {print $3}' "$RESULTS" | sort -g |
    awk '{v[NR]=$1} END {if (NR<2) print "-"; else {m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%.0f%%", 100*(v[NR]-v[1])/m}}'
}
max_of() { awk -F'\t' -v c="$1" -v col="$2" '$2==c {if ($col > m) m = $col} END {printf "%.2f", m}' "$RESULTS"; }
errors_of() { awk -F'\t' -v c="$1" '$2==c {s+=$7} END {print s+0}' "$RESULTS"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a=="nan"||b=="nan"||b==0) print "n/a"; else printf "%.2f", a/b}'; }
fmt0() { awk -v x="$1" 'BEGIN {if (x=="nan") print "-"; else printf "%.0f", x}'; }
fmt2() { awk -v x="$1" 'BEGIN {if (x=="nan") print "-"; else printf "%.2f", x}'; }
at_least() { awk -v x="$1" -v t="$2" 'BEGIN {if (x=="n/a") print "no data"; else if (x+0 >= t+0) print "**met**"; else print "**not met**"}'; }
at_most() { awk -v x="$1" -v t="$2" 'BEGIN {if (x=="n/a") print "no data"; else if (x+0 <= t+0) print "**met**"; else print "**not met**"}'; }

declare -A RPS P99 CPU
for name in "${ALL_CONTENDERS[@]}"; do RPS[$name]=nan; P99[$name]=nan; CPU[$name]=nan; done
describe() {
  case "$1" in
    direct) echo "direct to the backend" ;;
    outboard-*) echo "outboard gateway, ${1##*-} thread(s)" ;;
    haproxy-*) echo "HAProxy, nbthread ${1##*-}" ;;
    nginx-*) echo "NGINX proxy, ${1##*-} worker(s)" ;;
  esac
}
TABLE="| contender | req/s (median) | p99 ms (median) | p50 ms (median) | req/s spread over rounds | errors | proxy CPU µs per request | proxy CPU, cores (max) | backend CPU, cores (max) | wrk CPU, cores (max) | others' CPU, cores (max) |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for name in "${CONTENDERS[@]}"; do
  RPS[$name]=$(median "$name" 3)
  P99[$name]=$(median "$name" 5)
  CPU[$name]=$(median "$name" 9)
  if [ "$name" = direct ]; then cpu_cell="-"; pc_cell="-"; else cpu_cell=$(fmt2 "${CPU[$name]}" | sed 's/\.\([0-9]\)[0-9]$/.\1/'); pc_cell=$(max_of "$name" 8); fi
  TABLE+=$'\n'"| \`$name\` ($(describe "$name")) | $(fmt0 "${RPS[$name]}") | $(fmt2 "${P99[$name]}") | $(fmt2 "$(median "$name" 4)") | $(spread "$name") | $(errors_of "$name") | $cpu_cell | $pc_cell | $(max_of "$name" 10) | $(max_of "$name" 11) | $(max_of "$name" 12) |"
done

RATIOS="| ratio (medians) | 1 thread each | 2 threads each | target | verdict (1, 2 threads) |
|---|---:|---:|---:|---|"
ro_h1=$(ratio "${RPS[outboard-1]}" "${RPS[haproxy-1]}"); ro_h2=$(ratio "${RPS[outboard-2]}" "${RPS[haproxy-2]}")
po_h1=$(ratio "${P99[outboard-1]}" "${P99[haproxy-1]}"); po_h2=$(ratio "${P99[outboard-2]}" "${P99[haproxy-2]}")
ro_n1=$(ratio "${RPS[outboard-1]}" "${RPS[nginx-1]}"); ro_n2=$(ratio "${RPS[outboard-2]}" "${RPS[nginx-2]}")
po_n1=$(ratio "${P99[outboard-1]}" "${P99[nginx-1]}"); po_n2=$(ratio "${P99[outboard-2]}" "${P99[nginx-2]}")
co_h1=$(ratio "${CPU[outboard-1]}" "${CPU[haproxy-1]}"); co_h2=$(ratio "${CPU[outboard-2]}" "${CPU[haproxy-2]}")
co_n1=$(ratio "${CPU[outboard-1]}" "${CPU[nginx-1]}"); co_n2=$(ratio "${CPU[outboard-2]}" "${CPU[nginx-2]}")
rh_d1=$(ratio "${RPS[haproxy-1]}" "${RPS[direct]}"); rh_d2=$(ratio "${RPS[haproxy-2]}" "${RPS[direct]}")
ro_d1=$(ratio "${RPS[outboard-1]}" "${RPS[direct]}"); ro_d2=$(ratio "${RPS[outboard-2]}" "${RPS[direct]}")
RATIOS+=$'\n'"| outboard / haproxy, req/s | ${ro_h1} | ${ro_h2} | >= 1.2 | $(at_least "$ro_h1" 1.2), $(at_least "$ro_h2" 1.2) |"
RATIOS+=$'\n'"| outboard / haproxy, p99 | ${po_h1} | ${po_h2} | <= 1.0 | $(at_most "$po_h1" 1.0), $(at_most "$po_h2" 1.0) |"
RATIOS+=$'\n'"| outboard / nginx, req/s | ${ro_n1} | ${ro_n2} | (context) | |"
RATIOS+=$'\n'"| outboard / nginx, p99 | ${po_n1} | ${po_n2} | (context) | |"
RATIOS+=$'\n'"| proxy CPU per request, outboard / haproxy | ${co_h1} | ${co_h2} | (context) | |"
RATIOS+=$'\n'"| proxy CPU per request, outboard / nginx | ${co_n1} | ${co_n2} | (context) | |"
RATIOS+=$'\n'"| outboard / direct, req/s | ${ro_d1} | ${ro_d2} | (context) | |"
RATIOS+=$'\n'"| haproxy / direct, req/s | ${rh_d1} | ${rh_d2} | (context) | |"

# Ratios round by round (the contenders of a round ran minutes apart, not seconds); "clean" when
# no other wrk/ninja/cc1plus ran and others used < QUIET_MAX cores during every measurement compared.
ROUND_RATIOS=$(awk -F'\t' -v m="$QUIET_MAX" '
  {rps[$1, $2] = $3; p99[$1, $2] = $5; dirty[$1, $2] = ($13 != "-" || $12 + 0 >= m + 0); if ($1 > R) R = $1}
  function cell(r, a, b, arr) {return ((r, a) in arr && (r, b) in arr && arr[r, b] > 0) ? sprintf("%.2f", arr[r, a] / arr[r, b]) : "-"}
  function clean(r, a, b) {return ((r, a) in rps && (r, b) in rps) ? ((dirty[r, a] || dirty[r, b]) ? "no" : "yes") : "-"}
  BEGIN {print "| round | outboard-1 / haproxy-1, req/s | p99 | clean | outboard-2 / haproxy-2, req/s | p99 | clean | outboard-1 / nginx-1, req/s | outboard-2 / nginx-2, req/s |";
         print "|---:|---:|---:|---|---:|---:|---|---:|---:|"}
  END {for (r = 1; r <= R; r++)
    printf "| %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", r,
      cell(r, "outboard-1", "haproxy-1", rps), cell(r, "outboard-1", "haproxy-1", p99), clean(r, "outboard-1", "haproxy-1"),
      cell(r, "outboard-2", "haproxy-2", rps), cell(r, "outboard-2", "haproxy-2", p99), clean(r, "outboard-2", "haproxy-2"),
      cell(r, "outboard-1", "nginx-1", rps), cell(r, "outboard-2", "nginx-2", rps)}' "$RESULTS")

# The verdict in words.
verdict_line() {  # verdict_line THREADS
  local t=$1 r p
  r=$(ratio "${RPS[outboard-$t]}" "${RPS[haproxy-$t]}"); p=$(ratio "${P99[outboard-$t]}" "${P99[haproxy-$t]}")
  if [ "$r" = n/a ] || [ "$p" = n/a ]; then echo "- $t thread(s) each: no data."; return; fi
  awk -v r="$r" -v p="$p" -v t="$t" -v a="${RPS[outboard-$t]}" -v h="${RPS[haproxy-$t]}" -v pa="${P99[outboard-$t]}" -v ph="${P99[haproxy-$t]}" 'BEGIN {
    s = (r >= 1.2 && p <= 1.0) ? "target **met**" : "target **not met**";
    printf "- %s thread(s) each: outboard %.0f req/s (p99 %.2f ms) vs HAProxy %.0f req/s (p99 %.2f ms): %.2fx the req/s (target 1.2x) and %.2fx the p99 (target <= 1.0): %s", t, a, pa, h, ph, r, p, s;
    if (r < 1.2) printf "; it would need %.0f req/s, %.0f%% more than it did", 1.2 * h, 100 * (1.2 * h / a - 1);
    print "."}'
}
VERDICT="$(verdict_line 1)"$'\n'"$(verdict_line 2)"

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

PER_ROUND=$(awk -F'\t' 'BEGIN {print "| round | contender | req/s | p50 ms | p99 ms | requests | errors | proxy cores | proxy µs/req | backend cores | wrk cores | others cores | others running | attempt | new backend conns |"; print "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|"}
  {printf "| %s | %s | %.0f | %.2f | %.2f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15}' "$RESULTS")

if [ "$QUICK" = 1 ]; then CMD="bash bench/gateway/run.sh --quick"; else CMD="bash bench/gateway/run.sh${ARGS_TEXT:+ $ARGS_TEXT}"; fi
echo
echo "## bench/gateway: $ROUNDS round(s) x ${DURATION}s, wrk -t1 -c$CONNECTIONS, took ${ELAPSED}s"
echo
echo "$TABLE"
echo
echo "$RATIOS"
echo
echo "$ROUND_RATIOS"
echo
echo "$VERDICT"
echo
echo "machine otherwise idle: $IDLE_TEXT"
echo
echo "$PER_ROUND"
if [ -s "$PROBLEMS" ]; then
  echo
  echo "PROBLEMS:"
  cat "$PROBLEMS"
else
  echo
  echo "no errors: no 'Non-2xx or 3xx responses' or 'Socket errors' line from wrk for any contender"
fi

# ---------------------------------------------------------------- docs/BENCHMARKS.md
if [ "$WRITE_DOC" = 1 ]; then
  DOC="$ROOT/docs/BENCHMARKS.md"
  BEGIN_MARK="<!-- bench/gateway begin -->"
  END_MARK="<!-- bench/gateway end -->"
  SECTION="$TMP/section.md"
  {
    echo "$BEGIN_MARK"
    echo "## Gateway"
    echo
    echo "\`outboard gateway\` against HAProxy and NGINX as L7 reverse proxies, all in front of the same"
    echo "one-worker NGINX backend, one worker thread each and then two each."
    echo
    echo '```sh'
    echo 'bash bench/gateway/run.sh            # 3 interleaved rounds, 10 s per measurement; rewrites this section'
    echo 'bash bench/gateway/run.sh --quick    # 1 round of 3 s per measurement: a smoke check, leaves this file alone'
    echo '```'
    echo
    echo "The script installs what is missing (\`haproxy\`, \`nginx\`, \`wrk\` from Debian; their system"
    echo "services are not used), builds outboard (\`bash scripts/build.sh release outboard\`), and runs"
    echo "everything on 127.0.0.1 on free ports with its own config files in a temp dir; it stops every"
    echo "process it started, by pid, when it exits. \`--help\` lists the other options."
    echo
    echo "### The setup"
    echo
    echo "| name | what |"
    echo "|---|---|"
    echo "| backend | NGINX, \`worker_processes 1\`, \`return 200 \"hello world!\\n\"\` (13 bytes) at \`/\`, \`keepalive_requests 1000000\`, \`access_log off\` |"
    echo "| \`direct\` | wrk straight to the backend, for scale |"
    echo "| \`outboard-N\` | \`outboard gateway --threads N --backend 127.0.0.1:BACKEND --admin 127.0.0.1:ADMIN --health-path /\` (round robin, health checks every 1 s on \`/\`, retries on) |"
    echo "| \`haproxy-N\` | HAProxy \`nbthread N\`, \`mode http\`, \`option http-keep-alive\`, \`http-reuse always\`, \`option forwardfor\`, \`option httpchk GET /\` with \`check inter 1s\`, no logging |"
    echo "| \`nginx-N\` | NGINX \`worker_processes N\`, \`upstream { keepalive 64; keepalive_requests 1000000; }\`, \`proxy_http_version 1.1\`, \`proxy_set_header Connection \"\"\`, \`X-Forwarded-For\`, \`keepalive_requests 1000000\` to clients, \`access_log off\` (open-source NGINX has no active health checks) |"
    echo
    echo "Configured alike: every proxy keeps connections to the backend alive and reuses them, no"
    echo "proxy or backend closes a keep-alive connection during a run (NGINX's default of 1000"
    echo "requests per connection is raised on both sides), none logs requests, and each adds"
    echo "\`X-Forwarded-For\` (outboard always does, and also \`X-Forwarded-Proto\` and \`X-Request-Id\`)."
    echo "The exact config files are written by \`bench/gateway/run.sh\`. Each measurement starts the"
    echo "proxy afresh, waits for a 200 with the 13 bytes through it, warms up for ${WARMUP} s (not"
    echo "counted), then runs \`wrk -t1 -c$CONNECTIONS -d${DURATION}s --latency http://127.0.0.1:PORT/\`. Contenders take"
    echo "turns within a round and the order rotates from round to round; the tables show medians over"
    echo "rounds. wrk's lines \`Non-2xx or 3xx responses\` and \`Socket errors\` count as errors (they must be 0)."
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
    echo "$ROUNDS interleaved round(s) of ${DURATION} s per contender."
    echo
    echo "- outboard: \`$V_OUTBOARD\`, commit \`$V_COMMIT\`$V_DIRTY, release build"
    echo "- HAProxy: \`$V_HAPROXY\`"
    echo "- NGINX: \`$V_NGINX\` (backend and proxy)"
    echo "- wrk: \`$V_WRK\`"
    echo "- machine: $NPROC cores ($CPU_MODEL), Linux $KERNEL; wrk, the backend and the proxy share the cores"
    echo "- machine otherwise idle: $IDLE_TEXT"
    echo
    echo "$TABLE"
    echo
    echo "$RATIOS"
    echo
    echo "The same ratios round by round (\"clean\": nothing else ran during either measurement):"
    echo
    echo "$ROUND_RATIOS"
    echo
    echo "Against the brief's target (at least 1.2x HAProxy's req/s with p99 no worse, one thread each and two each):"
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
      echo "Errors: none (no \`Non-2xx or 3xx responses\` or \`Socket errors\` line from wrk for any contender)."
    fi
    echo
    echo "<details><summary>every round</summary>"
    echo
    echo "\"new backend conns\" is how many connections the backend accepted during the measurement"
    echo "(from its \`stub_status\`), less wrk's own for \`direct\`: with keep-alive it stays at about the"
    echo "number of client connections (64) or below."
    echo
    echo "$PER_ROUND"
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
  log "wrote the \"## Gateway\" section of docs/BENCHMARKS.md"
fi
