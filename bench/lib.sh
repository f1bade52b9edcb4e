# Shared by the bench/*/run.sh scripts: logging, the temp dir, and the processes a run starts,
# each stopped by its pid on exit. Source it after option parsing, with BENCH_NAME (for log
# lines and the temp dir's name) and KEEP (1: keep the temp dir) set.

log() { printf '[bench/%s %s] %s\n' "$BENCH_NAME" "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

# ---------------------------------------------------------------- processes and clean-up
TMP=$(mktemp -d "/tmp/outboard-bench-$BENCH_NAME.XXXXXX")
PIDS=()

stop_pid() {  # stop_pid PID: SIGTERM, up to 5 s, then SIGKILL
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "pid $pid did not stop on SIGTERM in 5 s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# wait_200 URL PID LOG [SECONDS]: up to SECONDS (default 15) for a 200 from URL; dies, with the
# log's tail, when the process exits first or the time runs out.
wait_200() {
  local url=$1 pid=$2 logf=$3 secs=${4:-15} i
  for i in $(seq $((secs * 10))); do
    kill -0 "$pid" 2>/dev/null || { tail -20 "$logf" >&2; die "process $pid exited while starting (log: $logf)"; }
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" || true)" = 200 ] && return 0
    sleep 0.1
  done
  tail -20 "$logf" >&2
  die "$url did not answer 200 in $secs s"
}

# post_json PATH JSON [curl args...]: POST to the server on $CUR_PORT; prints the status, the body
# goes to $TMP/body and the headers to $TMP/h.
post_json() {
  local path=$1 body=$2
  shift 2
  curl -s --max-time 10 -o "$TMP/body" -D "$TMP/h" -w '%{http_code}' -H 'Content-Type: application/json' \
    -d "$body" "$@" "http://127.0.0.1:$CUR_PORT$path" || true
}

# check_credential NAME HEADER: before measuring, the credential works on both measured routes
# (GET /me, POST /cart/items); dies naming contender NAME otherwise.
check_credential() {
  local name=$1 header=$2 code
  code=$(curl -s --max-time 10 -o "$TMP/body" -w '%{http_code}' -H "$header" "http://127.0.0.1:$CUR_PORT/me" || true)
  [ "$code" = 200 ] || { cat "$TMP/body" >&2; die "$name: GET /me with the credential answered $code"; }
  code=$(post_json /cart/items '{"sku":"sku-002","qty":1}' -H "$header" -H "Idempotency-Key: sanity-1")
  [ "$code" = 201 ] || { cat "$TMP/body" >&2; die "$name: POST /cart/items answered $code"; }
}

cleanup() {
  local rc=$? pid
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  if [ "$KEEP" = 1 ] || [ "$rc" != 0 ]; then
    log "logs kept in $TMP"
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

forget_pid() {  # removes a stopped pid from PIDS
  local gone=$1 kept=() p
  for p in "${PIDS[@]}"; do [ "$p" = "$gone" ] || kept+=("$p"); done
  PIDS=("${kept[@]}")
}

free_port() {  # a port free on 127.0.0.1 right now (the kernel picks it)
  if command -v python3 >/dev/null; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
  else
    node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
  fi
}

# wait_http URL PID LOG: up to 15 s for a 200 with the 13-byte body of the benches' NGINX
# backend; dies (with the log's tail) when the process exits or the time runs out.
wait_http() {
  local url=$1 pid=$2 logf=$3 i out
  for i in $(seq 150); do
    kill -0 "$pid" 2>/dev/null || { tail -20 "$logf" >&2; die "process $pid exited while starting (log: $logf)"; }
    out=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' --max-time 1 "$url" || true)
    [ "$out" = "200 13" ] && return 0
    sleep 0.1
  done
  tail -20 "$logf" >&2
  die "$url did not answer 200 with 13 bytes in 15 s (last: '$out')"
}

# start_redis DIR [PREFIX...]: a private redis-server (no persistence) on a free loopback port, its
# log and files in DIR, run under PREFIX (e.g. nice); sets REDIS_PORT and REDIS_PID, adds the pid
# to PIDS (stopped on exit), and returns once it answers PING; dies if it does not.
start_redis() {
  local dir=$1 i
  shift
  REDIS_PORT=$(free_port)
  "$@" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
    --daemonize no --logfile "$dir/redis.log" &
  REDIS_PID=$!
  PIDS+=("$REDIS_PID")
  for i in $(seq 100); do
    redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && return 0
    kill -0 "$REDIS_PID" 2>/dev/null || die "redis-server exited (log: $dir/redis.log)"
    sleep 0.1
  done
  redis-cli -p "$REDIS_PORT" ping | grep -q PONG || die "redis-server did not answer"
}

# A shared machine: before each measurement, wait (at most QUIET_WAIT s, at most QUIET_BUDGET s in
# the whole run: both set by the caller) until the machine's busy time is under 0.3 cores over 1 s.
QUIET_SPENT=0
busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }
wait_quiet() {
  local b0 b1 waited=0
  while [ "$QUIET_SPENT" -lt "$QUIET_BUDGET" ] && [ "$waited" -lt "$QUIET_WAIT" ]; do
    b0=$(busy_ticks); sleep 1; b1=$(busy_ticks)
    QUIET_SPENT=$((QUIET_SPENT + 1)); waited=$((waited + 1))
    awk -v d=$((b1 - b0)) -v hz="$(getconf CLK_TCK)" 'BEGIN {exit !(d / hz < 0.3)}' && return 0
    [ $((waited % 10)) != 1 ] || log "waiting for a quiet machine (others busy; waited ${QUIET_SPENT}s of ${QUIET_BUDGET}s)"
  done
  return 0
}

commit_label() {  # commit_label [PATH...]: HEAD's short hash, and whether PATHs (default: src apps) differ from it
  local paths=("$@")
  [ ${#paths[@]} -eq 0 ] && paths=(src apps)
  local hash
  hash=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
  if (cd "$ROOT" && git diff --quiet HEAD -- "${paths[@]}" 2>/dev/null &&
      [ -z "$(git ls-files --others --exclude-standard -- "${paths[@]}")" ]); then
    echo "$hash"
  else
    echo "$hash + uncommitted changes in ${paths[*]}"
  fi
}
