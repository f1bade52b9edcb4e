#!/usr/bin/env bash
# bench/service: outboard serve against Express 5 + express-session (+ connect-redis), in one run.
#
#   bash bench/service/run.sh            3 interleaved rounds, 10 s per measurement; writes the
#                                        dated section of docs/BENCHMARKS.md
#   bash bench/service/run.sh --quick    1 round, 3 s per measurement (smoke check; no doc update)
#   options: --rounds N  --duration S  --warmup S  --no-doc  --keep (keep the temp dir and logs)
#            --only a,b (a subset of the contenders below; implies --no-doc)
#            --no-build (use build/release as it is; implies --no-doc)
#            --binary PATH (use that outboard binary as it is, e.g. a build dir of your own; implies
#              --no-build)
#            --near-cache-entries N (default 10000): outboard-redis-nc's near-cache size
#            --quiet-budget S (default 300, --quick 30): this machine is shared, so before each
#              measurement the script waits (at most 30 s each time, at most S over the whole run)
#              until other processes use less than 0.3 cores, and it measures again (up to twice)
#              when other processes took more than 0.3 cores during a measurement. Every
#              measurement reports the CPU the server, redis-server, wrk and the rest used.
#            --nice N (default -10 as root, else 0): the priority of redis-server, the servers and
#              wrk, all alike, so that a shared machine's other work disturbs the measurements less.
#              Each runs in its own session, so its own scheduler autogroup, set to that nice value
#              (with autogroups on, a plain nice value only counts within one session).
#
# Contenders (each one process, one thread serving HTTP):
#   outboard-memory  outboard serve --threads 1 --state memory://
#   outboard-sqlite  outboard serve --threads 1 --state sqlite://TMP/.../state.db
#   outboard-redis   outboard serve --threads 1 --state redis://127.0.0.1:PORT/0
#   outboard-redis-nc  the same with --near-cache-entries N (default 10000): sessions and other hot
#                    keys cached in the process, kept coherent by CLIENT TRACKING (docs/STATE.md)
#   express-redis    Express 5, express-session + connect-redis 9 (node-redis 5), same redis-server
#   express-memory   Express 5, express-session's MemoryStore (carts in the process too)
#   outboard-jwt     outboard serve --auth jwt on redis + the near-cache: EdDSA access tokens
#                    (`Authorization: Bearer`), verified with no store call plus the revocation
#                    check (two near-cached GETs)
#   express-jose     Express 5 verifying the same kind of token with npm jose (jwtVerify, EdDSA, the
#                    same key), carts and idempotency records in the same Redis; no revocation check
# Each round starts every contender afresh in turn (redis FLUSHALL first), logs in, warms up,
# then runs wrk -t1 -c64 --latency on GET /me and on POST /cart/items (a unique Idempotency-Key
# per request), and stops it. The order of contenders rotates from round to round. The report
# takes the median over rounds of req/s and of p99. For the contenders on redis, the Redis
# commands per request: INFO commandstats summed (INFO itself left out) before and after each
# measurement, over the requests wrk counted.
# Everything listens on 127.0.0.1, on free ports, in a temp dir; every process this script
# starts is stopped by its pid on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH="$ROOT/bench/service"
ROUNDS=3
DURATION=10
WARMUP=2
WRITE_DOC=1
KEEP=0
QUICK=0
BUILD=1
ONLY=""
CONNECTIONS=64
QUIET_BUDGET=300
NICE=0
[ "$(id -u)" -ne 0 ] || NICE=-10
QUIET_MAX=0.3
OUTBOARD_BIN=""
NEAR_CACHE_ENTRIES=10000
ARGS_TEXT="$*"

while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1; ROUNDS=1; DURATION=3; WARMUP=1; WRITE_DOC=0; QUIET_BUDGET=30 ;;
    --rounds) ROUNDS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --warmup) WARMUP=$2; shift ;;
    --no-doc) WRITE_DOC=0 ;;
    --keep) KEEP=1 ;;
    --quiet-budget) QUIET_BUDGET=$2; shift ;;
    --nice) NICE=$2; shift ;;
    --only) ONLY=$2; WRITE_DOC=0; shift ;;
    --no-build) BUILD=0; WRITE_DOC=0 ;;
    --binary) OUTBOARD_BIN=$2; BUILD=0; WRITE_DOC=0; shift ;;
    --near-cache-entries) NEAR_CACHE_ENTRIES=$2; shift ;;
    -h|--help) sed -n '2,38p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ "$ROUNDS" =~ ^[1-9][0-9]?$ && "$DURATION" =~ ^[1-9][0-9]{0,2}$ && "$WARMUP" =~ ^[0-9]{1,2}$ &&
   "$QUIET_BUDGET" =~ ^[0-9]{1,5}$ && "$NICE" =~ ^-?[0-9]{1,2}$ && "$NEAR_CACHE_ENTRIES" =~ ^[1-9][0-9]{0,7}$ ]] ||
  { echo "run.sh: rounds 1-99, duration 1-999 s, warmup 0-99 s, quiet budget 0-99999 s, near-cache entries 1-99999999" >&2; exit 2; }

# PRIO CMD...: runs CMD at nice $NICE, in its own session whose autogroup gets the same nice value.
if [ "$NICE" = 0 ]; then
  PRIO=()
elif [ -w /proc/self/autogroup ]; then
  PRIO=(setsid bash -c 'echo "$0" >/proc/self/autogroup 2>/dev/null || true; exec nice -n "$0" "$@"' "$NICE")
else
  PRIO=(nice -n "$NICE")
fi

BENCH_NAME=service
# shellcheck source=../lib.sh
source "$ROOT/bench/lib.sh"
# shellcheck source=redis_commands.sh
source "$BENCH/redis_commands.sh"


# ---------------------------------------------------------------- what we need
need_apt() {  # need_apt COMMAND PACKAGE
  command -v "$1" >/dev/null && return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  log "installing $2 (Debian)"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "$2" >/dev/null ||
    { $sudo apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "$2" >/dev/null; }
}
need_apt wrk wrk
need_apt curl curl
need_apt openssl openssl
command -v redis-server >/dev/null || bash "$ROOT/scripts/setup.sh"
command -v node >/dev/null && command -v npm >/dev/null || die "node and npm are needed for the Express contender"
NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]')
[ "$NODE_MAJOR" -ge 20 ] || die "Node $(node --version) is too old: Express 5 + connect-redis 9 want Node 20+"

EXPRESS_DIR="$BENCH/express"
# npm ci when node_modules is missing or older than the lock file (npm ci rewrites .package-lock.json).
if [ ! -f "$EXPRESS_DIR/node_modules/.package-lock.json" ] ||
   [ "$EXPRESS_DIR/package-lock.json" -nt "$EXPRESS_DIR/node_modules/.package-lock.json" ]; then
  log "npm ci in bench/service/express"
  (cd "$EXPRESS_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

ALL_CONTENDERS=(outboard-redis outboard-redis-nc express-redis outboard-memory express-memory outboard-sqlite
  outboard-jwt express-jose)
CONTENDERS=("${ALL_CONTENDERS[@]}")
if [ -n "$ONLY" ]; then
  IFS=, read -r -a picked <<<"$ONLY"
  for c in "${picked[@]}"; do
    [[ " ${ALL_CONTENDERS[*]} " == *" $c "* ]] || die "--only: unknown contender '$c' (${CONTENDERS[*]})"
  done
  CONTENDERS=("${picked[@]}")
fi

OUTBOARD=${OUTBOARD_BIN:-$ROOT/build/release/apps/outboard/outboard}
if [ "$BUILD" = 1 ]; then
  log "building outboard (release)"
  (cd "$ROOT" && bash scripts/build.sh release outboard >"$TMP/build.log" 2>&1) ||
    { tail -30 "$TMP/build.log" >&2; die "bash scripts/build.sh release outboard"; }
fi
if [[ " ${CONTENDERS[*]} " == *" outboard-"* ]]; then
  [ -x "$OUTBOARD" ] || die "$OUTBOARD is missing"
fi

# ---------------------------------------------------------------- versions and machine
pkg_version() { node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1]+"/node_modules/"+process.argv[2]+"/package.json")).version)' "$EXPRESS_DIR" "$1"; }
V_OUTBOARD=$("$OUTBOARD" --version 2>&1 | head -1 || echo "not built")
V_NODE=$(node --version)
V_EXPRESS=$(pkg_version express)
V_SESSION=$(pkg_version express-session)
V_CONNECT_REDIS=$(pkg_version connect-redis)
V_NODE_REDIS=$(pkg_version redis)
V_JOSE=$(pkg_version jose)
V_REDIS=$(redis-server --version | head -1)
V_WRK=$(wrk -v 2>&1 | head -1 | sed 's/ Copyright.*//' || true)
V_COMMIT=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
V_DIRTY=$(cd "$ROOT" && { git diff --quiet HEAD -- src apps 2>/dev/null && echo "" || echo " + uncommitted changes in src/ apps/"; })
NPROC=$(nproc)
CPU_MODEL=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //' || echo unknown)
KERNEL=$(uname -r)

# ---------------------------------------------------------------- redis and the contenders
start_redis "$TMP" "${PRIO[@]}"
REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
SESSION_KEY=$(openssl rand -hex 32)
EXPRESS_SECRET=$(openssl rand -hex 32)
# The token contenders' keys: one Ed25519 signing key (both sign and verify with it) and
# outboard's refresh key, in 0600 files made for this run.
JWT_KEY="$TMP/jwt-signing.pem"
REFRESH_KEY="$TMP/refresh.key"
(umask 077 && openssl genpkey -algorithm ed25519 -out "$JWT_KEY" 2>/dev/null && openssl rand -hex 32 >"$REFRESH_KEY") ||
  die "could not make the token keys with openssl"
log "redis-server on 127.0.0.1:$REDIS_PORT; work dir $TMP"

ROUTES=(me cart)
CUR_PID=""
CUR_LOG=""
CUR_PORT=""

start_contender() {  # start_contender NAME DIR
  local name=$1 dir=$2
  mkdir -p "$dir"
  CUR_PORT=$(free_port)
  CUR_LOG="$dir/server.log"
  local state
  case "$name" in
    outboard-*)
      local extra=()
      case "$name" in
        outboard-memory) state="memory://" ;;
        outboard-sqlite) state="sqlite://$dir/state.db" ;;
        outboard-redis) state="$REDIS_URL" ;;
        outboard-redis-nc) state="$REDIS_URL"; extra=(--near-cache-entries "$NEAR_CACHE_ENTRIES") ;;
        outboard-jwt) state="$REDIS_URL"; extra=(--near-cache-entries "$NEAR_CACHE_ENTRIES" --auth jwt) ;;
      esac
      # The key in the environment: outboard refuses keys on its command line (readable by all).
      # Token settings only matter for --auth jwt (an hour's tokens: no refresh during a run).
      OUTBOARD_SERVE_AUTH_SIGNING_KEY_FILE="$JWT_KEY" OUTBOARD_SERVE_AUTH_SIGNING_KID=bench \
      OUTBOARD_SERVE_AUTH_REFRESH_KEY_FILE="$REFRESH_KEY" OUTBOARD_SERVE_AUTH_ACCESS_TTL_S=3600 \
      OUTBOARD_SERVE_SESSIONS_KEYS="$SESSION_KEY" "${PRIO[@]}" "$OUTBOARD" serve --listen 127.0.0.1 --port "$CUR_PORT" \
        --instance bench --threads 1 --kdf min --state "$state" --blobs "file://$dir/blobs" "${extra[@]}" >"$CUR_LOG" 2>&1 &
      ;;
    express-*)
      "${PRIO[@]}" node "$EXPRESS_DIR/server.js" --port "$CUR_PORT" --instance bench --store "${name#express-}" \
        --redis "$REDIS_URL" --secret "$EXPRESS_SECRET" --key "$JWT_KEY" >"$CUR_LOG" 2>&1 &
      ;;
  esac
  CUR_PID=$!
  PIDS+=("$CUR_PID")
  wait_200 "http://127.0.0.1:$CUR_PORT/healthz" "$CUR_PID" "$CUR_LOG"
}

stop_contender() {
  stop_pid "$CUR_PID"
  forget_pid "$CUR_PID"
  CUR_PID=""
}


login() {  # login NAME: sets CREDENTIAL, the header a logged-in request carries ("Cookie: ..." or "Authorization: Bearer ...")
  local name=$1 code
  local creds='{"user":"bench","password":"benchpassword"}'
  if [[ "$name" == outboard-* ]]; then
    code=$(post_json /signup "$creds")
    [ "$code" = 201 ] || { cat "$TMP/body" >&2; die "$name: POST /signup answered $code"; }
  fi
  code=$(post_json /login "$creds")
  [ "$code" = 200 ] || { cat "$TMP/body" >&2; die "$name: POST /login answered $code"; }
  case "$name" in
    *-jwt|*-jose)
      local token
      token=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["access_token"])' "$TMP/body" 2>/dev/null) ||
        { cat "$TMP/body" >&2; die "$name: POST /login answered no access_token"; }
      CREDENTIAL="Authorization: Bearer $token"
      ;;
    *)
      local cookie
      cookie=$(grep -i '^set-cookie:' "$TMP/h" | head -1 | sed -E 's/^[Ss]et-[Cc]ookie: *([^;]*).*/\1/' | tr -d '\r')
      [ -n "$cookie" ] || die "$name: POST /login set no cookie"
      CREDENTIAL="Cookie: $cookie"
      ;;
  esac
  check_credential "$name" "$CREDENTIAL"
}

RESULTS="$TMP/results.tsv"
: >"$RESULTS"
PROBLEMS="$TMP/problems.txt"
: >"$PROBLEMS"

# ---------------------------------------------------------------- CPU accounting (a shared machine)
CLK_TCK=$(getconf CLK_TCK)
busy_jiffies() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }  # all cores, not idle/iowait
pid_jiffies() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12 + $13}' || echo 0; }
children_seconds() {  # CPU seconds of this shell's waited-for children, from `times` in a file
  awk 'NR == 2 {t = 0; for (i = 1; i <= 2; i++) {split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2]} print t}' "$1"
}
QUIET_SPENT=0
# Waits until processes other than ours use less than QUIET_MAX cores (sampled over 1 s while
# our server is idle), at most QUIET_WAIT_MAX s this time and within what is left of QUIET_BUDGET
# (so that one busy spell cannot spend the budget of the whole run). Returns 1 when it gave up.
QUIET_WAIT_MAX=30
wait_quiet() {
  local b0 b1 cores tries=0 started=$QUIET_SPENT
  while :; do
    b0=$(busy_jiffies); sleep 1; b1=$(busy_jiffies)
    QUIET_SPENT=$((QUIET_SPENT + 1))
    cores=$(awk -v d=$((b1 - b0)) -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", d / hz}')
    if awk -v c="$cores" -v m="$QUIET_MAX" 'BEGIN {exit !(c < m)}'; then return 0; fi
    if [ "$QUIET_SPENT" -ge "$QUIET_BUDGET" ] || [ $((QUIET_SPENT - started)) -ge "$QUIET_WAIT_MAX" ]; then return 1; fi
    if [ $((QUIET_SPENT + 5)) -gt "$QUIET_BUDGET" ] || [ $((QUIET_SPENT + 5 - started)) -gt "$QUIET_WAIT_MAX" ]; then return 1; fi
    tries=$((tries + 1))
    [ $((tries % 6)) != 1 ] || log "waiting for a quiet machine: others use $cores cores (waited ${QUIET_SPENT}s of ${QUIET_BUDGET}s)"
    sleep 4
    QUIET_SPENT=$((QUIET_SPENT + 4))
  done
}

LAST_SERVER_CORES=0
LAST_OTHER_CORES=0
LAST_REDIS_CORES=0
LAST_WRK_CORES=0
LAST_REDIS_COMMANDS=0
run_wrk() {  # run_wrk NAME ROUTE SECONDS OUTFILE TAG: sets LAST_SERVER_CORES, LAST_OTHER_CORES, LAST_REDIS_COMMANDS, ...
  local name=$1 route=$2 secs=$3 out=$4 tag=$5
  local url="http://127.0.0.1:$CUR_PORT"
  local b0 b1 s0 s1 r0 r1 w0 w1 k0 k1
  k0=$(redis_commands "$REDIS_PORT")
  b0=$(busy_jiffies); s0=$(pid_jiffies "$CUR_PID"); r0=$(pid_jiffies "$REDIS_PID")
  times >"$TMP/times0"
  case "$route" in
    me) timeout $((secs + 30)) "${PRIO[@]}" wrk -t1 -c"$CONNECTIONS" -d"${secs}s" --latency -H "$CREDENTIAL" \
          -s "$BENCH/wrk/report.lua" "$url/me" >"$out" 2>&1 || true ;;
    cart) timeout $((secs + 30)) "${PRIO[@]}" wrk -t1 -c"$CONNECTIONS" -d"${secs}s" --latency -H "$CREDENTIAL" \
          -s "$BENCH/wrk/cart.lua" "$url/cart/items" -- "$tag" >"$out" 2>&1 || true ;;
  esac
  times >"$TMP/times1"
  b1=$(busy_jiffies); s1=$(pid_jiffies "$CUR_PID"); r1=$(pid_jiffies "$REDIS_PID")
  k1=$(redis_commands "$REDIS_PORT")
  LAST_REDIS_COMMANDS=$((k1 - k0))
  w0=$(children_seconds "$TMP/times0"); w1=$(children_seconds "$TMP/times1")
  read -r LAST_SERVER_CORES LAST_OTHER_CORES LAST_REDIS_CORES LAST_WRK_CORES < <(awk -v b=$((b1 - b0)) \
    -v s=$((s1 - s0)) -v r=$((r1 - r0)) -v w="$(awk -v a="$w0" -v c="$w1" 'BEGIN {print c - a}')" \
    -v hz="$CLK_TCK" -v t="$secs" \
    'BEGIN {o = (b - s - r) / hz - w; if (o < 0) o = 0; printf "%.2f %.2f %.2f %.2f\n", s / hz / t, o / t, r / hz / t, w / t}')
}

record() {  # record ROUND NAME ROUTE WRK_OUTPUT
  local round=$1 name=$2 route=$3 out=$4 line
  line=$(grep '^RESULT ' "$out" | tail -1 || true)
  if [ -z "$line" ]; then
    echo "round $round $name $route: wrk printed no result; its output:" >>"$PROBLEMS"
    sed 's/^/    /' "$out" >>"$PROBLEMS"
    return
  fi
  local -A f=()
  local kv
  for kv in ${line#RESULT }; do f[${kv%%=*}]=${kv#*=}; done
  local errs=$((f[status_errors] + f[connect_errors] + f[read_errors] + f[write_errors] + f[timeouts]))
  # Redis commands per request: only for the contenders on redis (the others' count is whatever
  # else ran against redis meanwhile: nothing).
  local per_request=-
  case "$name" in
    *-redis|*-redis-nc|*-jwt|*-jose) per_request=$(awk -v k="$LAST_REDIS_COMMANDS" -v n="${f[requests]}" 'BEGIN {printf "%.2f", (n > 0 ? k / n : 0)}') ;;
  esac
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$name" "$route" "${f[rps]}" "${f[p99_us]}" \
    "${f[p50_us]}" "$errs" "${f[requests]}" "$LAST_SERVER_CORES" "$LAST_OTHER_CORES" "$ATTEMPT" \
    "$(awk -v c="$LAST_SERVER_CORES" -v r="${f[rps]}" 'BEGIN {printf "%.1f", (r > 0 ? c * 1e6 / r : 0)}')" \
    "$LAST_REDIS_CORES" "$LAST_WRK_CORES" "$per_request" >>"$RESULTS"
  if [ "$errs" != 0 ] || grep -q 'Non-2xx' "$out"; then
    {
      echo "round $round $name $route: ${f[status_errors]} non-2xx/3xx, ${f[connect_errors]} connect, ${f[read_errors]} read, ${f[write_errors]} write errors, ${f[timeouts]} timeouts of ${f[requests]} requests"
      grep -E 'Non-2xx|Socket errors' "$out" | sed 's/^/    wrk: /'
      echo "    server log tail:"
      tail -5 "$CUR_LOG" | sed 's/^/    /'
    } >>"$PROBLEMS"
  fi
}

# ---------------------------------------------------------------- the rounds
START=$(date +%s)
n=${#CONTENDERS[@]}
for round in $(seq "$ROUNDS"); do
  for k in $(seq 0 $((n - 1))); do
    name=${CONTENDERS[$(((k + round - 1) % n))]}
    dir="$TMP/r$round-$name"
    redis-cli -p "$REDIS_PORT" flushall >/dev/null
    start_contender "$name" "$dir"
    login "$name"
    if [ "$WARMUP" -gt 0 ]; then
      run_wrk "$name" me "$WARMUP" "$dir/warmup-me.txt" "w$round"
      run_wrk "$name" cart "$WARMUP" "$dir/warmup-cart.txt" "w$round"
    fi
    for route in "${ROUTES[@]}"; do
      for ATTEMPT in 1 2 3; do
        wait_quiet || true
        run_wrk "$name" "$route" "$DURATION" "$dir/wrk-$route.txt" "r$round-a$ATTEMPT"
        if [ "$ATTEMPT" -lt 3 ] && [ "$QUIET_SPENT" -lt "$QUIET_BUDGET" ] &&
           awk -v c="$LAST_OTHER_CORES" -v m="$QUIET_MAX" 'BEGIN {exit !(c >= m)}'; then
          log "round $round $name $route: other processes took $LAST_OTHER_CORES cores during the measurement; again"
          continue
        fi
        break
      done
      record "$round" "$name" "$route" "$dir/wrk-$route.txt"
      if ! kill -0 "$CUR_PID" 2>/dev/null; then
        { echo "round $round $name: the server DIED during $route; log tail:"; tail -20 "$CUR_LOG" | sed 's/^/    /'; } >>"$PROBLEMS"
        break
      fi
    done
    last=$(awk -F'\t' -v r="$round" -v c="$name" '$1==r && $2==c {printf "%s %.0f req/s p99 %.2f ms (cores: server %s, redis %s, wrk %s, others %s); ", $3, $4, $5/1000, $9, $13, $14, $10}' "$RESULTS")
    log "round $round/$ROUNDS $name: $last"
    stop_contender
  done
done
ELAPSED=$(($(date +%s) - START))

# ---------------------------------------------------------------- medians, table, ratios
median() {  # median NAME ROUTE COLUMN(4=rps, 5=p99_us)
  awk -F'\t' -v c="$1" -v r="$2" -v col="$3" '$2==c && $3==r {print $col}' "$RESULTS" | sort -g |
    awk '{v[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'
}
spread() {  # spread NAME ROUTE: (max-min)/median of req/s across rounds, in %
  awk -F'\t' -v c="$1" -v r="$2" '$2==c && $3==r {print $4}' "$RESULTS" | sort -g |
    awk '{v[NR]=$1} END {if (NR<2) print "-"; else {m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%.0f%%", 100*(v[NR]-v[1])/m}}'
}
commands_of() {  # commands_of NAME ROUTE: median Redis commands per request, "-" off redis
  awk -F'\t' -v c="$1" -v r="$2" '$2==c && $3==r && $15 != "-" && $15 != "" {print $15}' "$RESULTS" | sort -g |
    awk '{v[NR]=$1} END {if (NR==0) print "-"; else if (NR%2) print v[(NR+1)/2]; else printf "%.2f\n", (v[NR/2]+v[NR/2+1])/2}'
}
max_of() { awk -F'\t' -v c="$1" -v r="$2" -v col="$3" '$2==c && $3==r {if ($col > m) m = $col} END {printf "%.2f", m}' "$RESULTS"; }
errors_of() { awk -F'\t' -v c="$1" -v r="$2" '$2==c && $3==r {s+=$7} END {print s+0}' "$RESULTS"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a=="nan"||b=="nan"||b==0) print "n/a"; else printf "%.2f", a/b}'; }
verdict() { awk -v x="$1" -v t="$2" 'BEGIN {if (x=="n/a") print "no data"; else if (x+0 >= t+0) print "**met**"; else print "**not met**"}'; }

declare -A RPS P99
for name in "${ALL_CONTENDERS[@]}"; do
  for route in "${ROUTES[@]}"; do RPS[$name/$route]=nan; P99[$name/$route]=nan; done
done
TABLE="| contender | route | req/s (median) | p99 ms (median) | req/s spread over rounds | errors | server CPU µs per request (median) | Redis commands per request (median) | server CPU, cores (max) | others' CPU, cores (max) |
|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for route in "${ROUTES[@]}"; do
  case "$route" in me) label='`GET /me`' ;; cart) label='`POST /cart/items`' ;; esac
  for name in "${CONTENDERS[@]}"; do
    RPS[$name/$route]=$(median "$name" "$route" 4)
    P99[$name/$route]=$(median "$name" "$route" 5)
    TABLE+=$'\n'"| $name | $label | $(awk -v x="${RPS[$name/$route]}" 'BEGIN{if(x=="nan")print "-"; else printf "%.0f", x}') | $(awk -v x="${P99[$name/$route]}" 'BEGIN{if(x=="nan")print "-"; else printf "%.2f", x/1000}') | $(spread "$name" "$route") | $(errors_of "$name" "$route") | $(median "$name" "$route" 12) | $(commands_of "$name" "$route") | $(max_of "$name" "$route" 9) | $(max_of "$name" "$route" 10) |"
  done
done

RATIOS="| ratio (req/s medians) | \`GET /me\` | \`POST /cart/items\` | target | verdict (/me, /cart/items) |
|---|---:|---:|---:|---|"
r1=$(ratio "${RPS[outboard-redis/me]}" "${RPS[express-redis/me]}")
r2=$(ratio "${RPS[outboard-redis/cart]}" "${RPS[express-redis/cart]}")
n1=$(ratio "${RPS[outboard-redis-nc/me]}" "${RPS[express-redis/me]}")
n2=$(ratio "${RPS[outboard-redis-nc/cart]}" "${RPS[express-redis/cart]}")
RATIOS+=$'\n'"| outboard-redis-nc / express-redis | ${n1}x | ${n2}x | >= 20x, >= 10x | $(verdict "$n1" 20), $(verdict "$n2" 10) |"
n3=$(ratio "${RPS[outboard-redis-nc/me]}" "${RPS[outboard-memory/me]}")
n4=$(ratio "${RPS[outboard-redis-nc/cart]}" "${RPS[outboard-memory/cart]}")
RATIOS+=$'\n'"| outboard-redis-nc / outboard-memory | ${n3} | ${n4} | >= 0.95 | $(verdict "$n3" 0.95), $(verdict "$n4" 0.95) |"
RATIOS+=$'\n'"| outboard-redis / express-redis | ${r1}x | ${r2}x | >= 20x, >= 10x | $(verdict "$r1" 20), $(verdict "$r2" 10) |"
r3=$(ratio "${RPS[outboard-redis/me]}" "${RPS[outboard-memory/me]}")
r4=$(ratio "${RPS[outboard-redis/cart]}" "${RPS[outboard-memory/cart]}")
RATIOS+=$'\n'"| outboard-redis / outboard-memory | ${r3} | ${r4} | >= 0.95 | $(verdict "$r3" 0.95), $(verdict "$r4" 0.95) |"
n5=$(ratio "${RPS[outboard-redis-nc/me]}" "${RPS[outboard-redis/me]}")
n6=$(ratio "${RPS[outboard-redis-nc/cart]}" "${RPS[outboard-redis/cart]}")
RATIOS+=$'\n'"| outboard-redis-nc / outboard-redis | ${n5} | ${n6} | (context) | |"
r5=$(ratio "${RPS[outboard-sqlite/me]}" "${RPS[outboard-memory/me]}")
r6=$(ratio "${RPS[outboard-sqlite/cart]}" "${RPS[outboard-memory/cart]}")
RATIOS+=$'\n'"| outboard-sqlite / outboard-memory | ${r5} | ${r6} | (context) | |"
r7=$(ratio "${RPS[outboard-memory/me]}" "${RPS[express-memory/me]}")
r8=$(ratio "${RPS[outboard-memory/cart]}" "${RPS[express-memory/cart]}")
RATIOS+=$'\n'"| outboard-memory / express-memory | ${r7}x | ${r8}x | (context) | |"
j1=$(ratio "${RPS[outboard-jwt/me]}" "${RPS[express-jose/me]}")
j2=$(ratio "${RPS[outboard-jwt/cart]}" "${RPS[express-jose/cart]}")
RATIOS+=$'\n'"| outboard-jwt / express-jose (tokens, EdDSA) | ${j1}x | ${j2}x | (context) | |"
j3=$(ratio "${RPS[outboard-jwt/me]}" "${RPS[outboard-redis-nc/me]}")
j4=$(ratio "${RPS[outboard-jwt/cart]}" "${RPS[outboard-redis-nc/cart]}")
RATIOS+=$'\n'"| outboard-jwt / outboard-redis-nc (tokens vs near-cached cookie sessions) | ${j3} | ${j4} | (context) | |"
j5=$(ratio "${RPS[express-jose/me]}" "${RPS[express-redis/me]}")
j6=$(ratio "${RPS[express-jose/cart]}" "${RPS[express-redis/cart]}")
RATIOS+=$'\n'"| express-jose / express-redis (Express: tokens vs sessions in Redis) | ${j5} | ${j6} | (context) | |"
r9=$(ratio "${RPS[express-redis/me]}" "${RPS[express-memory/me]}")
r10=$(ratio "${RPS[express-redis/cart]}" "${RPS[express-memory/cart]}")
RATIOS+=$'\n'"| express-redis / express-memory | ${r9} | ${r10} | (context) | |"
declare -A CPU
for name in "${ALL_CONTENDERS[@]}"; do
  for route in "${ROUTES[@]}"; do CPU[$name/$route]=$(median "$name" "$route" 12); done
done
c1=$(ratio "${CPU[express-redis/me]}" "${CPU[outboard-redis/me]}")
c2=$(ratio "${CPU[express-redis/cart]}" "${CPU[outboard-redis/cart]}")
RATIOS+=$'\n'"| server CPU per request, express-redis / outboard-redis | ${c1}x | ${c2}x | (context) | |"
c3=$(ratio "${CPU[outboard-memory/me]}" "${CPU[outboard-redis/me]}")
c4=$(ratio "${CPU[outboard-memory/cart]}" "${CPU[outboard-redis/cart]}")
RATIOS+=$'\n'"| server CPU per request, outboard-memory / outboard-redis | ${c3} | ${c4} | (context) | |"
RATIOS=${RATIOS//n\/ax/n\/a}
COMMANDS="Redis commands per request (INFO commandstats, medians over rounds; \`GET /me\`, \`POST /cart/items\`):"
for name in outboard-redis outboard-redis-nc express-redis outboard-jwt express-jose; do
  COMMANDS+=" $name $(commands_of "$name" me), $(commands_of "$name" cart);"
done
COMMANDS=${COMMANDS%;}.
STANDS=$(awk -v o="${RPS[outboard-redis/me]}" -v e="${RPS[express-redis/me]}" -v oc="${CPU[outboard-redis/me]}" \
  -v ec="${CPU[express-redis/me]}" -v r1="$r1" -v c1="$c1" -v r3="$r3" -v r4="$r4" -v r2="$r2" \
  -v no="${RPS[outboard-redis-nc/me]}" -v nc="${CPU[outboard-redis-nc/me]}" -v n1="$n1" -v n2="$n2" -v n3="$n3" -v n4="$n4" 'BEGIN {
  if (e == "nan" || (o == "nan" && no == "nan")) { print "Where it stands: no outboard-redis(-nc)/express-redis pair in this run."; exit }
  if (no != "nan") {
    printf "Where it stands: on `GET /me` outboard-redis-nc (redis + near-cache) served %sx the req/s of Express + connect-redis on the same Redis (target 20x; %sx on `POST /cart/items`, target 10x) at %.1f µs of server CPU per request against %.1f µs; against sessions in the process, %s on `GET /me` and %s on `POST /cart/items` (target 0.95). ", n1, n2, nc, ec, n3, n4
  }
  if (o != "nan") {
    printf "outboard-redis without the near-cache: %sx on `GET /me`, %sx on `POST /cart/items`, %.1f µs per `GET /me` (%sx less CPU than Express); %s and %s of outboard-memory. ", r1, r2, oc, c1, r3, r4
  }
  printf "20x this run'"'"'s Express, %.0f req/s, would be %.0f req/s from one thread: at most %.1f µs of CPU per request, with a core to itself.\n", e, 20 * e, 1e6 / (20 * e)
}')
P99RATIO="p99 of outboard-redis vs express-redis: $(awk -v a="${P99[outboard-redis/me]}" -v b="${P99[express-redis/me]}" 'BEGIN{if(a=="nan"||b=="nan")print "n/a"; else printf "%.2f ms vs %.2f ms", a/1000, b/1000}') on \`GET /me\`, $(awk -v a="${P99[outboard-redis/cart]}" -v b="${P99[express-redis/cart]}" 'BEGIN{if(a=="nan"||b=="nan")print "n/a"; else printf "%.2f ms vs %.2f ms", a/1000, b/1000}') on \`POST /cart/items\`."

PER_ROUND=$(awk -F'\t' 'BEGIN {print "| round | contender | route | req/s | p50 ms | p99 ms | errors | server CPU µs/req | Redis commands/req | CPU cores: server | redis-server | wrk | others | attempt |"; print "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"}
  {printf "| %s | %s | %s | %.0f | %.2f | %.2f | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, ($3=="me" ? "GET /me" : "POST /cart/items"), $4, $6/1000, $5/1000, $7, $12, $15, $9, $13, $14, $10, $11}' "$RESULTS")

if [ "$QUICK" = 1 ]; then CMD="bash bench/service/run.sh --quick"; else CMD="bash bench/service/run.sh${ARGS_TEXT:+ $ARGS_TEXT}"; fi
echo
echo "## bench/service: $ROUNDS round(s) x ${DURATION}s, wrk -t1 -c$CONNECTIONS, took ${ELAPSED}s"
echo
echo "$TABLE"
echo
echo "$RATIOS"
echo
echo "$P99RATIO"
echo
echo "$COMMANDS"
echo
echo "$STANDS"
if [ -s "$PROBLEMS" ]; then
  echo
  echo "PROBLEMS:"
  cat "$PROBLEMS"
fi

# ---------------------------------------------------------------- docs/BENCHMARKS.md
if [ "$WRITE_DOC" = 1 ]; then
  DOC="$ROOT/docs/BENCHMARKS.md"
  DAY=$(date -u +%F)
  BEGIN_MARK="<!-- bench/service $DAY begin -->"
  END_MARK="<!-- bench/service $DAY end -->"
  SECTION="$TMP/section.md"
  {
    echo "$BEGIN_MARK"
    echo "## Service, $DAY: \`outboard serve\` vs Express 5"
    echo
    echo "Command: \`$CMD\` (from the repository root; took ${ELAPSED} s, finished $(date -u '+%F %H:%M') UTC)."
    echo "$ROUNDS interleaved round(s); in each, every contender is started afresh (Redis flushed), logged in,"
    echo "warmed up for ${WARMUP} s per route, then measured with \`wrk -t1 -c$CONNECTIONS -d${DURATION}s --latency\` on"
    echo "\`GET /me\` (session cookie, or a bearer token for outboard-jwt and express-jose) and on \`POST /cart/items\` (\`{\"sku\":\"sku-002\",\"qty\":1}\`, a unique"
    echo "\`Idempotency-Key\` per request, \`bench/service/wrk/cart.lua\`). Medians over rounds."
    echo "The machine is shared: before each measurement the script waited for other processes to use"
    echo "< $QUIET_MAX cores (at most ${QUIET_WAIT_MAX} s each time) and measured again (up to twice) when they took more during it (waited ${QUIET_SPENT} s of"
    echo "a ${QUIET_BUDGET} s budget). \"server CPU\" is the server process's CPU time during the measurement (all its"
    echo "threads); \"others' CPU\" is what the rest of the machine used, minus the server, redis-server and wrk."
    echo "redis-server, the servers and wrk all ran at \`nice -n $NICE\`."
    echo
    echo "- outboard: \`$V_OUTBOARD\`, commit \`$V_COMMIT\`$V_DIRTY, release build,"
    echo "  \`outboard serve --threads 1 --kdf min --state URL\` with \`OUTBOARD_SERVE_SESSIONS_KEYS=<openssl rand -hex 32>\`"
    echo "- Express: Node $V_NODE, express $V_EXPRESS, express-session $V_SESSION, connect-redis $V_CONNECT_REDIS,"
    echo "  redis (node-redis) $V_NODE_REDIS; one Node process (\`bench/service/express/server.js\`)"
    echo "- $V_REDIS, private, no persistence, shared by outboard-redis, outboard-redis-nc (\`--near-cache-entries $NEAR_CACHE_ENTRIES\`), express-redis, outboard-jwt and express-jose"
    echo "- tokens: outboard-jwt is \`outboard serve --auth jwt\` on redis with the near-cache (EdDSA access tokens of 1 h, verified with no store call, then the revocation check: two near-cached GETs); express-jose is the same Express app verifying an EdDSA token with npm jose $V_JOSE (\`jwtVerify\`, issuer and audience checked) and no revocation check, carts in the same Redis; one Ed25519 key made with openssl for the run"
    echo "- $V_WRK"
    echo "- machine: $NPROC cores, $CPU_MODEL, Linux $KERNEL; wrk, the server and redis-server share the cores"
    echo
    echo "$TABLE"
    echo
    echo "$RATIOS"
    echo
    echo "$P99RATIO"
    echo
    echo "$COMMANDS"
    echo
    echo "$STANDS"
    echo
    if [ -s "$PROBLEMS" ]; then
      echo "Problems seen in this run:"
      echo
      echo '```'
      cat "$PROBLEMS"
      echo '```'
      echo
    fi
    echo "<details><summary>every round</summary>"
    echo
    echo "$PER_ROUND"
    echo
    echo "</details>"
    echo "$END_MARK"
  } >"$SECTION"
  if [ ! -f "$DOC" ]; then
    printf '# Benchmarks\n\nHow to run them and what they gave. Only ratios from one run, rounds interleaved, count.\n\n' >"$DOC"
  fi
  if grep -qF "$BEGIN_MARK" "$DOC"; then
    awk -v b="$BEGIN_MARK" -v e="$END_MARK" -v f="$SECTION" '
      $0 == b {while ((getline l < f) > 0) print l; skip = 1; next}
      $0 == e {skip = 0; next}
      !skip {print}' "$DOC" >"$TMP/doc.new"
    cat "$TMP/doc.new" >"$DOC"
  else
    { echo; cat "$SECTION"; } >>"$DOC"
  fi
  log "wrote the $DAY section of docs/BENCHMARKS.md"
fi
