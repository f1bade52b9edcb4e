# bench/abuse's own helpers (sourced by bench/abuse/run.sh after bench/lib.sh): installing the
# peers, building outboard from the committed tree, CPU accounting, waiting for a quieter machine.
# Several of these are near what bench/gateway/run.sh keeps to itself (installing Debian
# packages without starting their services, CPU time of a process tree): candidates for
# bench/lib.sh.

# ---------------------------------------------------------------- peers from Debian
# install_debian PACKAGE...: apt-get installs the ones whose command is missing. Their system
# services are never started (a policy-rc.d that forbids it, for the time of the install) and
# never used: every process here has its own config, port and temp dir.
install_debian() {
  local missing=() p own_policy=0 rc=0
  for p in "$@"; do command -v "$p" >/dev/null || [ -x "/usr/sbin/$p" ] || missing+=("$p"); done
  [ ${#missing[@]} -gt 0 ] || return 0
  [ "$(id -u)" -eq 0 ] || die "missing ${missing[*]}: install them (apt-get install ${missing[*]}) or run as root"
  log "installing ${missing[*]} (apt-get)"
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    own_policy=1
  fi
  { DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -q --no-install-recommends "${missing[@]}" ||
    { timeout 600 apt-get update -q &&
      DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -q --no-install-recommends "${missing[@]}"; }; } \
    >"$TMP/apt.log" 2>&1 || rc=$?
  [ "$own_policy" = 0 ] || rm -f /usr/sbin/policy-rc.d
  [ "$rc" = 0 ] || { tail -20 "$TMP/apt.log" >&2; die "apt-get install ${missing[*]}"; }
}

# ---------------------------------------------------------------- outboard from the committed tree
# build_committed_outboard SRC BUILD: copies `git archive HEAD` into SRC (only files whose bytes
# changed are rewritten, so ninja rebuilds only those), builds the `outboard` target in BUILD
# (RelWithDebInfo, -j2) and prints the binary's path. Others' uncommitted work in the tree is
# left out on purpose: the bench measures a commit.
build_committed_outboard() {
  local src=$1 build=$2 snap="$TMP/snapshot"
  mkdir -p "$snap" "$src"
  (cd "$ROOT" && git archive HEAD) | tar -x -C "$snap"
  python3 - "$snap" "$src" <<'EOF'
import filecmp, os, shutil, sys
snap, src = sys.argv[1], sys.argv[2]
wanted = set()
for d, _, files in os.walk(snap):
    for f in files:
        rel = os.path.relpath(os.path.join(d, f), snap)
        wanted.add(rel)
        dst = os.path.join(src, rel)
        if not os.path.exists(dst) or not filecmp.cmp(os.path.join(snap, rel), dst, shallow=False):
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copyfile(os.path.join(snap, rel), dst)
for d, _, files in os.walk(src):
    for f in files:
        rel = os.path.relpath(os.path.join(d, f), src)
        if rel not in wanted:
            os.remove(os.path.join(d, f))
EOF
  (cd "$ROOT" && git rev-parse --short HEAD) >"$src/.commit"
  log "building outboard (RelWithDebInfo) from commit $(cat "$src/.commit") in $build"
  { [ -f "$build/build.ninja" ] || cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo; } \
    >"$TMP/build.log" 2>&1 || { tail -30 "$TMP/build.log" >&2; die "cmake configure ($build)"; }
  timeout 3600 nice cmake --build "$build" --target outboard -j2 >>"$TMP/build.log" 2>&1 ||
    { tail -30 "$TMP/build.log" >&2; die "cmake --build $build --target outboard"; }
  echo "$build/apps/outboard/outboard"
}

# outboard_knows BINARY KEY: whether this build of `outboard gateway` has the setting KEY
# ("limits.max_connections"). Asked through its OUTBOARD_GATEWAY_* variable with no backend given: a
# known key ends in "no backends", an unknown one in "unknown setting"; no gateway starts.
# Remembered in KNOWN_KEYS (call it outside a subshell for that to last).
declare -A KNOWN_KEYS=()
outboard_knows() {
  local bin=$1 key=$2 var out
  if [ -z "${KNOWN_KEYS[$key]:-}" ]; then
    var="OUTBOARD_GATEWAY_$(echo "$key" | tr '[:lower:].' '[:upper:]_')"
    out=$(env -i PATH="$PATH" "$var=1" timeout 10 "$bin" gateway --admin "" 2>&1 || true)
    case "$out" in
      *"unknown setting"*) KNOWN_KEYS[$key]=no ;;
      *) KNOWN_KEYS[$key]=yes ;;
    esac
  fi
  [ "${KNOWN_KEYS[$key]}" = yes ]
}

# render_outboard_config BINARY TEMPLATE OUT SED_SCRIPT: the template with @NAME@ words replaced;
# a `key = value` line whose key this build does not know is commented out, and the keys left
# out are listed in OUT.missing (one a line).
render_outboard_config() {
  local bin=$1 template=$2 out=$3 sed_script=$4 section="" line key
  : >"$out"
  : >"$out.missing"
  while IFS= read -r line; do
    if [[ "$line" =~ ^\[([a-z_.]+)\]$ ]]; then
      section="${BASH_REMATCH[1]}."
    elif [[ "$line" =~ ^([a-z_]+)\ =\  ]]; then
      key="$section${BASH_REMATCH[1]}"
      if ! outboard_knows "$bin" "$key"; then
        echo "$key" >>"$out.missing"
        line="# not in this build: $line"
      fi
    fi
    printf '%s\n' "$line" >>"$out"
  done < <(sed -f "$sed_script" "$template")
}

# ---------------------------------------------------------------- CPU time
HZ=$(getconf CLK_TCK)
machine_busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }
# process_ticks PID...: user + system ticks of these processes and their direct children.
process_ticks() {
  local p sum=0 t
  for p in "$@" $(for p in "$@"; do pgrep -P "$p" 2>/dev/null || true; done); do
    t=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}' || true)
    sum=$((sum + ${t:-0}))
  done
  echo "$sum"
}
# waited_children_seconds FILE: user + system seconds of this shell's waited-for children, from
# the second line of bash's `times` output.
waited_children_seconds() {
  awk 'NR == 2 {t = 0; for (i = 1; i <= 2; i++) {split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2]} print t}' "$1"
}

# wait_quiet OURS...: waits while the rest of the machine (everything but the processes OURS)
# uses QUIET_MAX cores or more, sampled over 1 s, until the run's QUIET_BUDGET seconds of
# waiting are spent. Adds what it waited to QUIET_SPENT.
QUIET_SPENT=0
wait_quiet() {
  local b0 b1 o0 o1 cores said=0
  while [ "$QUIET_SPENT" -lt "$QUIET_BUDGET" ]; do
    b0=$(machine_busy_ticks); o0=$(process_ticks "$@"); sleep 1
    b1=$(machine_busy_ticks); o1=$(process_ticks "$@")
    QUIET_SPENT=$((QUIET_SPENT + 1))
    cores=$(awk -v d=$((b1 - b0 - (o1 - o0))) -v hz="$HZ" 'BEGIN {if (d < 0) d = 0; printf "%.2f", d / hz}')
    awk -v c="$cores" -v m="$QUIET_MAX" 'BEGIN {exit !(c < m)}' && return 0
    [ "$said" = 1 ] || log "waiting for a quieter machine: others use $cores cores (waited ${QUIET_SPENT} s of ${QUIET_BUDGET} s)"
    said=1
    sleep 2
    QUIET_SPENT=$((QUIET_SPENT + 2))
  done
  return 0
}

