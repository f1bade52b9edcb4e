#!/usr/bin/env bash
# bench/scaleout (issue 19, "Measure"): outboard serve on the engines beyond one machine, in one run.
#
#   bash bench/scaleout/run.sh           3 interleaved rounds, 10 s per measurement; writes the
#                                        "## Scale-out" section of docs/BENCHMARKS.md
#   bash bench/scaleout/run.sh --quick   1 round, 3 s per measurement, fewer blob transfers (a smoke
#                                        check; prints only, unless --doc FILE is given)
#   options: --rounds N (1-9)  --duration S  --warmup S  --connections C (64)
#            --doc FILE (where the section goes; default docs/BENCHMARKS.md)  --no-doc
#            --no-build (use build/release as it is)  --binary PATH (that outboard, as it is)
#              (both imply --no-doc unless --doc FILE is given)
#            --only a,b (a subset of the contenders below)  --keep (keep the temp dir and logs)
#            --quiet-budget S (default 120, --quick 0): before each measurement wait up to 15 s
#              (S over the whole run) for the machine to be quiet (< 0.3 cores busy); the
#              machine is shared, so each measurement records what the others used meanwhile
#
# Contenders (each one `outboard serve --threads 1 --kdf min --near-cache-entries 0 --log-level
# info`, realtime off (no measured route uses it), the same session key):
#   outboard-redis       --state redis://     one redis-server
#   outboard-cluster     --state redis-cluster://  6 redis-servers, 3 masters + 3 replicas
#                        (`redis-cli --cluster create --cluster-replicas 1`)
#   outboard-cluster-wait  the same with --wait-replicas 1 --wait-timeout-ms 100: each commit_if and
#                        compare_and_set waits for its master's replica (WAIT; docs/STATE.md)
#   outboard-postgres    --state postgres://  PostgreSQL 15 (sessions and records)
#   outboard-cluster-pg  --sessions redis-cluster:// --data postgres://
#   blobs-file           --state redis:// --blobs file://DIR
#   blobs-s3             --state redis:// --blobs s3://bench/PREFIX?endpoint=... on npm s3rver
#                        (tests/interop/s3rver_launch.mjs: a stand-in for S3, not S3)
# The five first get wrk -t1 -cC --latency on GET /me (bench/service/wrk/report.lua) and on POST
# /cart/items (bench/service/wrk/cart.lua: a unique Idempotency-Key per request), after a warm-up;
# commands per request, in total and each: Redis INFO commandstats summed over the masters (INFO
# itself left out), PostgreSQL pg_stat_statements calls (top-level statements) of the contender's
# database (bench/scaleout/http_row.py). The blob contenders upload (POST /uploads) and download
# (GET /uploads/ID) blobs of 1 MiB and 32 MiB with curl, one at a time. Each round starts every
# contender afresh in turn (Redis flushed, a new PostgreSQL database, a new S3 prefix); the order
# rotates from round to round. bench/scaleout/report.py takes medians over rounds.
# Everything listens on 127.0.0.1, on free ports, in a temp dir; every process this script starts
# is stopped by its pid on exit; every wait is bounded.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH="$ROOT/bench/scaleout"
SERVICE="$ROOT/bench/service"  # its wrk scripts, used where they are
ROUNDS=3
DURATION=10
WARMUP=2
CONNECTIONS=64
WRITE_DOC=1
DOC=""
KEEP=0
QUICK=0
BUILD=1
ONLY=""
OUTBOARD_BIN=""
QUIET_BUDGET=120
QUIET_WAIT=15
BLOB_MIB=(1 32)
declare -A BLOB_REPS=([1]=10 [32]=3)
ARGS_TEXT="$*"

while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1; ROUNDS=1; DURATION=3; WARMUP=1; QUIET_BUDGET=0; BLOB_REPS=([1]=3 [32]=1) ;;
    --rounds) ROUNDS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --warmup) WARMUP=$2; shift ;;
    --connections) CONNECTIONS=$2; shift ;;
    --doc) DOC=$(realpath -m "$2"); shift ;;
    --no-doc) WRITE_DOC=0 ;;
    --keep) KEEP=1 ;;
    --quiet-budget) QUIET_BUDGET=$2; shift ;;
    --only) ONLY=$2; shift ;;
    --no-build) BUILD=0 ;;
    --binary) OUTBOARD_BIN=$(realpath -m "$2"); BUILD=0; shift ;;
    -h|--help) sed -n '2,38p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ "$ROUNDS" =~ ^[1-9]$ && "$DURATION" =~ ^[1-9][0-9]{0,2}$ && "$WARMUP" =~ ^[0-9]{1,2}$ &&
   "$CONNECTIONS" =~ ^[1-9][0-9]{0,3}$ && "$QUIET_BUDGET" =~ ^[0-9]{1,5}$ ]] ||
  { echo "run.sh: rounds 1-9, duration 1-999 s, warmup 0-99 s, connections 1-9999, quiet budget 0-99999 s" >&2; exit 2; }
# The record goes to docs/BENCHMARKS.md only from a full run of a fresh release build; any other
# run writes only where --doc says.
if [ -z "$DOC" ]; then
  DOC="$ROOT/docs/BENCHMARKS.md"
  [ "$QUICK" = 0 ] && [ "$BUILD" = 1 ] && [ -z "$ONLY" ] || WRITE_DOC=0
fi

ALL_CONTENDERS=(outboard-redis outboard-cluster outboard-cluster-wait outboard-postgres outboard-cluster-pg blobs-file blobs-s3)
CONTENDERS=("${ALL_CONTENDERS[@]}")
if [ -n "$ONLY" ]; then
  IFS=, read -r -a CONTENDERS <<<"$ONLY"
  for c in "${CONTENDERS[@]}"; do
    [[ " ${ALL_CONTENDERS[*]} " == *" $c "* ]] || { echo "run.sh: --only: unknown contender '$c' (${ALL_CONTENDERS[*]})" >&2; exit 2; }
  done
fi
wants() { [[ " ${CONTENDERS[*]} " == *" $1 "* ]]; }
wants_any() { local c; for c in "$@"; do wants "$c" && return 0; done; return 1; }

BENCH_NAME=scaleout
# shellcheck source=../lib.sh
source "$ROOT/bench/lib.sh"

# ---------------------------------------------------------------- what we need
need_apt() {  # need_apt COMMAND PACKAGE
  command -v "$1" >/dev/null && return 0
  log "installing $2 (Debian)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$2" >/dev/null ||
    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$2" >/dev/null; } ||
    die "could not install $2"
}
need_apt wrk wrk
need_apt curl curl
need_apt openssl openssl
command -v redis-server >/dev/null && command -v redis-cli >/dev/null || bash "$ROOT/scripts/setup.sh" >&2
PG_BIN=/usr/lib/postgresql/15/bin
if wants_any outboard-postgres outboard-cluster-pg; then
  [ -x "$PG_BIN/postgres" ] || bash "$ROOT/scripts/setup.sh" >&2
  [ -x "$PG_BIN/postgres" ] || die "$PG_BIN/postgres is missing (Debian's postgresql-15)"
fi
INTEROP="$ROOT/tests/interop"
if wants blobs-s3; then
  command -v node >/dev/null && command -v npm >/dev/null || die "node and npm are needed for s3rver"
  if [ ! -f "$INTEROP/node_modules/.package-lock.json" ] ||
     [ "$INTEROP/package-lock.json" -nt "$INTEROP/node_modules/.package-lock.json" ]; then
    log "npm ci in tests/interop (s3rver)"
    (cd "$INTEROP" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || die "npm ci in tests/interop"
  fi
fi

OUTBOARD=${OUTBOARD_BIN:-$ROOT/build/release/apps/outboard/outboard}
if [ "$BUILD" = 1 ]; then
  log "building outboard (release)"
  (cd "$ROOT" && bash scripts/build.sh release outboard >"$TMP/build.log" 2>&1) ||
    { tail -30 "$TMP/build.log" >&2; die "bash scripts/build.sh release outboard"; }
fi
[ -x "$OUTBOARD" ] || die "$OUTBOARD is missing"

# ---------------------------------------------------------------- the engines
REDIS_PORT=""
REDIS_PID=""
CLUSTER_PORTS=()
CLUSTER_PIDS=()
CLUSTER_MASTERS=()
CLUSTER_URL=""
PG_PORT=""
PG_PID=""
S3_PORT=""
S3_PID=""
CUR_PID=""
CUR_PORT=""
CUR_LOG=""
CUR_DB=""

# The current server first, then PostgreSQL asked for a fast shutdown (SIGINT: a SIGTERM would
# wait for its clients), then bench/lib.sh's clean-up of everything else, by pid.
on_exit() {
  local rc=$?
  set +e  # else the `(exit "$rc")` below, which hands rc to cleanup, would end the trap early
  [ -z "$CUR_PID" ] || stop_pid "$CUR_PID"
  [ -z "$PG_PID" ] || kill -INT "$PG_PID" 2>/dev/null || true
  (exit "$rc")
  cleanup
}
trap on_exit EXIT

# A port for a cluster node: its bus port (+10000) must be free and below 65536 too.
cluster_port() {
  python3 - <<'EOF'
import random, socket
for _ in range(200):
    port = random.randint(20000, 50000)
    try:
        for p in (port, port + 10000):
            s = socket.socket(); s.bind(("127.0.0.1", p)); s.close()
    except OSError:
        continue
    print(port)
    break
EOF
}

wait_redis_pong() {  # wait_redis_pong PORT PID LOG: up to 10 s
  local port=$1 pid=$2 logf=$3 i
  for i in $(seq 100); do
    redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && return 0
    kill -0 "$pid" 2>/dev/null || die "redis-server on $port exited (log: $logf)"
    sleep 0.1
  done
  die "redis-server on $port did not answer PING in 10 s (log: $logf)"
}

start_cluster() {
  local i port dir node_dir addrs=()
  dir="$TMP/cluster"
  for i in 0 1 2 3 4 5; do
    port=$(cluster_port)
    [ -n "$port" ] || die "no free port pair for a cluster node"
    node_dir="$dir/node$i"
    mkdir -p "$node_dir"
    redis-server --port "$port" --bind 127.0.0.1 --dir "$node_dir" --cluster-enabled yes \
      --cluster-config-file nodes.conf --cluster-node-timeout 5000 --save '' --appendonly no \
      --repl-diskless-sync-delay 0 --daemonize no --logfile "$node_dir/redis.log" &
    CLUSTER_PIDS+=($!)
    PIDS+=($!)
    CLUSTER_PORTS+=("$port")
    addrs+=("127.0.0.1:$port")
  done
  for i in 0 1 2 3 4 5; do wait_redis_pong "${CLUSTER_PORTS[$i]}" "${CLUSTER_PIDS[$i]}" "$dir/node$i/redis.log"; done
  timeout 120 redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes >"$dir/create.log" 2>&1 ||
    { tail -20 "$dir/create.log" >&2; die "redis-cli --cluster create"; }
  # Formed when every node says ok and every master has its replica online.
  local ok=0 masters
  for i in $(seq 300); do
    ok=1
    masters=()
    for port in "${CLUSTER_PORTS[@]}"; do
      redis-cli -p "$port" cluster info | grep -q 'cluster_state:ok' || { ok=0; break; }
      if redis-cli -p "$port" info replication | grep -q 'role:master'; then
        redis-cli -p "$port" info replication | grep -q 'slave0:.*state=online' || { ok=0; break; }
        masters+=("$port")
      fi
    done
    [ "$ok" = 1 ] && [ "${#masters[@]}" = 3 ] && break
    ok=0
    sleep 0.1
  done
  [ "$ok" = 1 ] || die "the cluster did not form with 3 masters and their replicas online in 30 s (logs: $dir)"
  CLUSTER_MASTERS=("${masters[@]}")
  CLUSTER_URL="redis-cluster://$(IFS=,; echo "${addrs[*]}")"
}

PG_AS=()
[ "$(id -u)" -ne 0 ] || PG_AS=(setpriv --reuid=postgres --regid=postgres --clear-groups --)
pg_sql() {  # pg_sql DB SQL: one statement through psql, unaligned tuples only
  "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U outboard -d "$1" -c "$2"
}

start_postgres() {
  local dir="$TMP/pg" i
  mkdir -p "$dir"
  # As root, PostgreSQL runs as the postgres user (it refuses root): it must reach its directory.
  if [ "$(id -u)" -eq 0 ]; then chmod 711 "$TMP"; chown postgres:postgres "$dir"; fi
  "${PG_AS[@]}" "$PG_BIN/initdb" -D "$dir/data" --no-sync --auth=trust -U outboard -E UTF8 --locale=C \
    --no-instructions >"$dir/initdb.log" 2>&1 || { tail -20 "$dir/initdb.log" >&2; die "initdb"; }
  PG_PORT=$(free_port)
  # As Redis here (no persistence), no waiting for the disk: fsync and synchronous_commit off.
  # pg_stat_statements ships with postgresql-15: it counts the statements per request.
  "${PG_AS[@]}" "$PG_BIN/postgres" -D "$dir/data" -p "$PG_PORT" -c listen_addresses=127.0.0.1 \
    -c unix_socket_directories= -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
    -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=top \
    -c max_connections=100 >"$dir/postgres.log" 2>&1 &
  PG_PID=$!
  PIDS+=("$PG_PID")
  for i in $(seq 150); do
    "$PG_BIN/pg_isready" -q -t 1 -h 127.0.0.1 -p "$PG_PORT" -U outboard && break
    kill -0 "$PG_PID" 2>/dev/null || { tail -20 "$dir/postgres.log" >&2; die "postgres exited"; }
    sleep 0.1
  done
  "$PG_BIN/pg_isready" -q -t 1 -h 127.0.0.1 -p "$PG_PORT" -U outboard || die "postgres did not accept connections in 15 s"
  pg_sql postgres "CREATE EXTENSION pg_stat_statements" >/dev/null
}

start_s3rver() {
  local dir="$TMP/s3" i
  mkdir -p "$dir/data"
  node "$INTEROP/s3rver_launch.mjs" "$dir/data" bench >"$dir/s3rver.log" 2>&1 &
  S3_PID=$!
  PIDS+=("$S3_PID")
  for i in $(seq 150); do
    S3_PORT=$(sed -n 's/^s3rver port \([0-9]*\)$/\1/p' "$dir/s3rver.log")
    [ -z "$S3_PORT" ] || return 0
    kill -0 "$S3_PID" 2>/dev/null || { cat "$dir/s3rver.log" >&2; die "s3rver exited"; }
    sleep 0.1
  done
  die "s3rver did not say its port in 15 s"
}

if wants_any outboard-redis blobs-file blobs-s3; then
  start_redis "$TMP"
  log "redis-server on 127.0.0.1:$REDIS_PORT"
fi
if wants_any outboard-cluster outboard-cluster-wait outboard-cluster-pg; then
  start_cluster
  log "redis cluster: $CLUSTER_URL (masters ${CLUSTER_MASTERS[*]})"
fi
if wants_any outboard-postgres outboard-cluster-pg; then
  start_postgres
  log "postgres on 127.0.0.1:$PG_PORT"
fi
if wants blobs-s3; then
  start_s3rver
  log "s3rver on 127.0.0.1:$S3_PORT"
fi
SESSION_KEY=$(openssl rand -hex 32)

# ---------------------------------------------------------------- the servers

flush_engines() {  # every contender starts on empty stores
  local port
  [ -z "$REDIS_PORT" ] || redis-cli -p "$REDIS_PORT" flushall >/dev/null
  for port in "${CLUSTER_MASTERS[@]}"; do redis-cli -p "$port" flushall >/dev/null; done
}

start_server() {  # start_server NAME DIR ROUND
  local name=$1 dir=$2 round=$3 pg_url="" state blobs="file://$2/blobs" extra=()
  mkdir -p "$dir"
  CUR_PORT=$(free_port)
  CUR_LOG="$dir/server.log"
  CUR_DB=""
  if [[ "$name" == *postgres || "$name" == *-pg ]]; then
    CUR_DB="r${round}_${name//-/_}"
    pg_sql postgres "CREATE DATABASE $CUR_DB" >/dev/null
    pg_url="postgres://outboard@127.0.0.1:$PG_PORT/$CUR_DB"
  fi
  case "$name" in
    outboard-redis|blobs-file) state="redis://127.0.0.1:$REDIS_PORT/0" ;;
    outboard-cluster) state=$CLUSTER_URL ;;
    outboard-cluster-wait) state=$CLUSTER_URL; extra=(--wait-replicas 1 --wait-timeout-ms 100) ;;
    outboard-postgres) state=$pg_url ;;
    outboard-cluster-pg) state=$pg_url; extra=(--sessions "$CLUSTER_URL" --data "$pg_url") ;;
    blobs-s3) state="redis://127.0.0.1:$REDIS_PORT/0"; blobs="s3://bench/r$round?endpoint=http://127.0.0.1:$S3_PORT&region=us-east-1" ;;
  esac
  # Secrets in the environment, never argv (s3rver takes its own fixed key pair, S3RVER/S3RVER).
  (cd "$dir" && OUTBOARD_SERVE_SESSIONS_KEYS="$SESSION_KEY" OUTBOARD_SERVE_REALTIME_ENABLED=false \
    AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER \
    exec "$OUTBOARD" serve --listen 127.0.0.1 --port "$CUR_PORT" --instance bench --threads 1 --kdf min \
      --near-cache-entries 0 --log-level info --max-upload-bytes $((64 << 20)) --state "$state" \
      --blobs "$blobs" "${extra[@]}") >"$CUR_LOG" 2>&1 &
  CUR_PID=$!
  PIDS+=("$CUR_PID")
  wait_200 "http://127.0.0.1:$CUR_PORT/healthz" "$CUR_PID" "$CUR_LOG" 20
}

stop_server() {
  stop_pid "$CUR_PID"
  forget_pid "$CUR_PID"
  CUR_PID=""
}


login() {  # login NAME: signs up, logs in, sets COOKIE ("Cookie: ..."), checks both routes
  local name=$1 code cookie creds='{"user":"bench","password":"benchpassword"}'
  code=$(post_json /signup "$creds")
  [ "$code" = 201 ] || { cat "$TMP/body" >&2; die "$name: POST /signup answered $code"; }
  code=$(post_json /login "$creds")
  [ "$code" = 200 ] || { cat "$TMP/body" >&2; die "$name: POST /login answered $code"; }
  cookie=$(grep -i '^set-cookie:' "$TMP/h" | head -1 | sed -E 's/^[Ss]et-[Cc]ookie: *([^;]*).*/\1/' | tr -d '\r')
  [ -n "$cookie" ] || die "$name: POST /login set no cookie"
  COOKIE="Cookie: $cookie"
  check_credential "$name" "$COOKIE"
}

# ---------------------------------------------------------------- counting
ROWS="$TMP/rows.jsonl"
: >"$ROWS"
PROBLEMS="$TMP/problems.txt"
: >"$PROBLEMS"
HZ=$(getconf CLK_TCK)

pid_ticks() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12 + $13}' || echo 0; }
# CPU ticks of this shell's children that have been waited for (wrk, through timeout), so far.
children_ticks() { sed 's/^.*) //' "/proc/$$/stat" | awk '{print $14 + $15}'; }
engine_pids() {  # the engine processes the current contender uses (PostgreSQL: with its backends)
  local name=$1 pid
  case "$name" in
    outboard-redis|blobs-*) echo "$REDIS_PID" ;;
    outboard-cluster|outboard-cluster-wait) echo "${CLUSTER_PIDS[*]}" ;;
    outboard-postgres) echo "$PG_PID"; ps -o pid= --ppid "$PG_PID" ;;
    outboard-cluster-pg) echo "${CLUSTER_PIDS[*]} $PG_PID"; ps -o pid= --ppid "$PG_PID" ;;
  esac
  [ "$name" != blobs-s3 ] || echo "$S3_PID"
  return 0
}
engine_ticks() {  # engine_ticks NAME: CPU ticks of those processes so far (backends that come and go are missed)
  local pid sum=0
  for pid in $(engine_pids "$1"); do sum=$((sum + $(pid_ticks "$pid"))); done
  echo "$sum"
}
# redis_snapshot NAME: "CALLS<TAB>COMMAND" of the contender's Redis so far, masters only; INFO (ours) and
# REPLCONF (the replicas' acknowledgements) left out.
redis_snapshot() {
  local port ports=()
  case "$1" in
    outboard-redis) ports=("$REDIS_PORT") ;;
    outboard-cluster|outboard-cluster-wait|outboard-cluster-pg) ports=("${CLUSTER_MASTERS[@]}") ;;
  esac
  for port in "${ports[@]}"; do redis-cli -p "$port" info commandstats; done | tr -d '\r' |
    awk '/^cmdstat_/ {
      line = $0; sub(/^cmdstat_/, "", line); name = substr(line, 1, index(line, ":") - 1)
      if (name != "info" && name != "replconf" && match(line, /calls=[0-9]+/)) n[name] += substr(line, RSTART + 6, RLENGTH - 6)
    } END {for (c in n) printf "%d\t%s\n", n[c], c}'
}
pg_snapshot() {  # pg_snapshot: "CALLS<TAB>STATEMENT" (top-level) of the contender's database so far; nothing off PostgreSQL
  [ -n "$CUR_DB" ] || return 0
  pg_sql postgres "SELECT s.calls || E'\t' || left(regexp_replace(s.query, '\s+', ' ', 'g'), 60) FROM pg_stat_statements s
    JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '$CUR_DB'"
}

# ---------------------------------------------------------------- the measurements
run_wrk() {  # run_wrk ROUTE SECONDS OUT TAG
  local route=$1 secs=$2 out=$3 tag=$4 url="http://127.0.0.1:$CUR_PORT"
  case "$route" in
    me) timeout $((secs + 30)) wrk -t1 -c"$CONNECTIONS" -d"${secs}s" --latency -H "$COOKIE" \
          -s "$SERVICE/wrk/report.lua" "$url/me" >"$out" 2>&1 || true ;;
    cart) timeout $((secs + 30)) wrk -t1 -c"$CONNECTIONS" -d"${secs}s" --latency -H "$COOKIE" \
          -s "$SERVICE/wrk/cart.lua" "$url/cart/items" -- "$tag" >"$out" 2>&1 || true ;;
  esac
}

measure_route() {  # measure_route ROUND NAME ROUTE DIR: one measurement, one JSON line in ROWS
  local round=$1 name=$2 route=$3 dir=$4 out="$4/wrk-$3.txt" snap="$4/$3"
  local s0 s1 e0 e1 b0 b1 w0 w1 t0 t1 load row errors
  wait_quiet
  load=$(cut -d' ' -f1 /proc/loadavg)
  redis_snapshot "$name" >"$snap-redis-0.tsv"; pg_snapshot >"$snap-pg-0.tsv"
  s0=$(pid_ticks "$CUR_PID"); e0=$(engine_ticks "$name"); w0=$(children_ticks); b0=$(busy_ticks); t0=$(date +%s.%N)
  run_wrk "$route" "$DURATION" "$out" "r$round"
  s1=$(pid_ticks "$CUR_PID"); e1=$(engine_ticks "$name"); w1=$(children_ticks); b1=$(busy_ticks); t1=$(date +%s.%N)
  redis_snapshot "$name" >"$snap-redis-1.tsv"; pg_snapshot >"$snap-pg-1.tsv"
  if ! row=$(python3 "$BENCH/http_row.py" "$out" "$snap-redis-0.tsv" "$snap-redis-1.tsv" "$snap-pg-0.tsv" "$snap-pg-1.tsv" \
      round="$round" contender="$name" route="$route" load1="$load" hz="$HZ" wall_s="$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" \
      server=$((s1 - s0)) engine=$((e1 - e0)) wrk=$((w1 - w0)) busy=$((b1 - b0))); then
    { echo "round $round $name $route: wrk printed no result; its output:"; sed 's/^/    /' "$out"; } >>"$PROBLEMS"
    return 0
  fi
  echo "$row" >>"$ROWS"
  errors=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["errors"])' "$row")
  if [ "$errors" != 0 ]; then
    { echo "round $round $name $route: $errors errors (wrk: $(grep -E 'Non-2xx|Socket errors' "$out" | tr '\n' ' '))"
      tail -5 "$CUR_LOG" | sed 's/^/    server: /'; } >>"$PROBLEMS"
  fi
  python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("  %s %s: %.0f req/s, p99 %.2f ms; per request: redis %s, pg %s; cores: server %.2f, engine %.2f, wrk %.2f, others %.2f" % (r["contender"], r["route"], r["rps"], r["p99_us"] / 1000, r["redis_commands"], r["pg_statements"], r["server_cores"], r["engine_cores"], r["wrk_cores"], r["others_cores"]))' "$row" >&2
}

# Blobs: files of random bytes made once, with their SHA-256.
declare -A BLOB_FILE BLOB_SHA
make_blobs() {
  local mib
  for mib in "${BLOB_MIB[@]}"; do
    BLOB_FILE[$mib]="$TMP/blob-${mib}MiB.bin"
    head -c $((mib << 20)) /dev/urandom >"${BLOB_FILE[$mib]}"
    BLOB_SHA[$mib]=$(sha256sum "${BLOB_FILE[$mib]}" | cut -d' ' -f1)
  done
}

upload_once() {  # upload_once MIB: prints "SECONDS ID", or returns 1 (the reason in PROBLEMS)
  local mib=$1 out code secs id
  out=$(curl -s --max-time 120 -o "$TMP/upload.json" -w '%{http_code} %{time_total}' -H "$COOKIE" -H 'Expect:' \
    -H 'Content-Type: application/octet-stream' --data-binary "@${BLOB_FILE[$mib]}" \
    "http://127.0.0.1:$CUR_PORT/uploads" || true)
  read -r code secs <<<"$out"
  id=$(python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); print(a["id"] if a.get("sha256")==sys.argv[2] and a.get("size")==int(sys.argv[3]) else "")' \
    "$TMP/upload.json" "${BLOB_SHA[$mib]}" $((mib << 20)) 2>/dev/null || true)
  if [ "$code" != 201 ] || [ -z "$id" ]; then
    { echo "upload of $mib MiB: status $code, answer: $(head -c 300 "$TMP/upload.json" 2>/dev/null)"; tail -3 "$CUR_LOG" | sed 's/^/    server: /'; } >>"$PROBLEMS"
    return 1
  fi
  echo "$secs $id"
}

download_once() {  # download_once MIB ID: prints SECONDS, or returns 1
  local mib=$1 id=$2 out code secs size
  out=$(curl -s --max-time 120 -o /dev/null -w '%{http_code} %{time_total} %{size_download}' -H "$COOKIE" \
    "http://127.0.0.1:$CUR_PORT/uploads/$id" || true)
  read -r code secs size <<<"$out"
  if [ "$code" != 200 ] || [ "$size" != $((mib << 20)) ]; then
    echo "download of $mib MiB ($id): status $code, $size bytes" >>"$PROBLEMS"
    return 1
  fi
  echo "$secs"
}

measure_blobs() {  # measure_blobs ROUND NAME: per size, REPS uploads then as many downloads
  local round=$1 name=$2 mib i secs id up down ids load c0 c1 c2
  for mib in "${BLOB_MIB[@]}"; do  # warm-up: one of each, not counted
    read -r secs id < <(upload_once "$mib") && download_once "$mib" "$id" >/dev/null || true
  done
  for mib in "${BLOB_MIB[@]}"; do
    wait_quiet
    load=$(cut -d' ' -f1 /proc/loadavg)
    up=()
    down=()
    ids=()
    c0=$(pid_ticks "$CUR_PID")
    for i in $(seq "${BLOB_REPS[$mib]}"); do
      read -r secs id < <(upload_once "$mib") || continue
      up+=("$secs")
      ids+=("$id")
    done
    c1=$(pid_ticks "$CUR_PID")
    for id in "${ids[@]}"; do
      secs=$(download_once "$mib" "$id") || continue
      down+=("$secs")
    done
    c2=$(pid_ticks "$CUR_PID")
    python3 - "$round" "$name" "$mib" "$load" "$((c1 - c0))" "$((c2 - c1))" "$HZ" "${#up[@]}" "${up[@]}" "${down[@]}" \
      >>"$ROWS" <<'EOF'
import json, statistics, sys
rnd, name, mib, load = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
ticks, hz, n_up = {"upload": int(sys.argv[5]), "download": int(sys.argv[6])}, int(sys.argv[7]), int(sys.argv[8])
times = [float(x) for x in sys.argv[9:]]
for route, secs in (("upload", times[:n_up]), ("download", times[n_up:])):
    row = {"round": rnd, "contender": name, "kind": "blob", "route": route, "mib": mib, "transfers": len(secs),
           "load1": load}
    if secs:
        row["mb_per_s"] = len(secs) * (mib << 20) / sum(secs) / 1e6
        row["ms_median"] = statistics.median(secs) * 1000
        row["server_cpu_ms_per_mib"] = ticks[route] / hz * 1000 / (len(secs) * mib)
    print(json.dumps(row))
EOF
    log "  $name $mib MiB: uploads ${up[*]} s, downloads ${down[*]} s"
  done
}

# ---------------------------------------------------------------- the rounds
if wants_any blobs-file blobs-s3; then make_blobs; fi
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
START=$(date +%s)
n=${#CONTENDERS[@]}
for round in $(seq "$ROUNDS"); do
  for k in $(seq 0 $((n - 1))); do
    name=${CONTENDERS[$(((k + round - 1) % n))]}
    dir="$TMP/r$round-$name"
    log "round $round/$ROUNDS: $name"
    flush_engines
    start_server "$name" "$dir" "$round"
    login "$name"
    case "$name" in
      blobs-*) measure_blobs "$round" "$name" ;;
      *)
        if [ "$WARMUP" -gt 0 ]; then
          run_wrk me "$WARMUP" "$dir/warmup-me.txt" "w$round"
          run_wrk cart "$WARMUP" "$dir/warmup-cart.txt" "w$round"
        fi
        for route in me cart; do measure_route "$round" "$name" "$route" "$dir"; done
        ;;
    esac
    kill -0 "$CUR_PID" 2>/dev/null ||
      { echo "round $round $name: the server DIED; log tail:"; tail -20 "$CUR_LOG" | sed 's/^/    /'; } >>"$PROBLEMS"
    stop_server
  done
done
ELAPSED=$(($(date +%s) - START))

# ---------------------------------------------------------------- report
python3 - "$TMP/meta.json" <<EOF
import json, sys
json.dump({"date": "$(date -u +%F)", "finished": "$(date -u '+%F %H:%M')",
           "command": "bash bench/scaleout/run.sh${ARGS_TEXT:+ $ARGS_TEXT}", "quick": $QUICK == 1,
           "rounds": $ROUNDS, "duration_s": $DURATION, "warmup_s": $WARMUP, "connections": $CONNECTIONS,
           "contenders": "${CONTENDERS[*]}".split(), "blob_reps": {$(for m in "${BLOB_MIB[@]}"; do printf '"%s": %s, ' "$m" "${BLOB_REPS[$m]}"; done)},
           "elapsed_s": $ELAPSED, "quiet_waited_s": $QUIET_SPENT, "quiet_budget_s": $QUIET_BUDGET,
           "machine": "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), Linux $(uname -r)",
           "load_start": "$LOAD_START", "load_end": "$(cut -d' ' -f1-3 /proc/loadavg)",
           "binary": "${OUTBOARD#"$ROOT"/}", "outboard": "$("$OUTBOARD" --version 2>&1 | head -1)",
           "commit": "$(commit_label)",
           "redis": "$(redis-server --version | cut -d' ' -f1-3)",
           "postgres": "$("$PG_BIN/postgres" --version 2>/dev/null || echo none)",
           "s3rver": "$(node -p "require('$INTEROP/node_modules/s3rver/package.json').version" 2>/dev/null || echo none)",
           "wrk": "$(wrk -v 2>&1 | head -1 | sed 's/ Copyright.*//')", "curl": "$(curl --version | head -1 | cut -d' ' -f1-2)",
           "problems": open("$PROBLEMS").read()}, open(sys.argv[1], "w"))
EOF
DOC_ARGS=()
[ "$WRITE_DOC" = 1 ] && DOC_ARGS=(--doc "$DOC")
python3 "$BENCH/report.py" "$ROWS" "$TMP/meta.json" "${DOC_ARGS[@]}"
[ "$WRITE_DOC" = 1 ] && log "wrote the scale-out section of $DOC"
exit 0
