#!/usr/bin/env bash
# Installs everything outboard needs to build, test and run, from Debian 12 packages only.
# Idempotent: packages already present are skipped, and apt is not touched when nothing is missing.
# Run as root (or with sudo available) on Debian 12.
set -euo pipefail

packages=(
  # toolchain
  g++ clang-14 cmake ninja-build pkg-config ccache git
  # libraries (Boost 1.81: Debian's libboost-dev is 1.74, too old for our Asio coroutine use)
  libboost1.81-dev libhiredis-dev libsqlite3-dev libssl-dev libsodium-dev
  nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev libgtest-dev
  # sanitizer runtimes for clang builds
  libclang-rt-14-dev
  # real peers used by tests
  redis-server curl procps
  etcd-server  # the gateways' shared registry (docs/TRUTH.md); tests start their own members
  postgresql-15 libpq-dev  # the postgres:// record store; tests start their own with initdb/pg_ctl
  python3-boto3  # the independent SigV4 signer the S3 blob store's signatures are checked against
  python3-jwt python3-cryptography  # the independent JWT implementation of the auth interop test
  chromium  # the lab's HTML report test renders in Debian's headless Chromium
)
# npm `jose`, the second independent JWT implementation (auth interop test, bench/auth), runs on
# node. A node already installed (another Node.js build) is kept: Debian's npm would conflict with it.
command -v node >/dev/null || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

install_missing_packages() {
  if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all ${#packages[@]} packages present"
    return 0
  fi
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: run as root (missing: ${missing[*]})" >&2; exit 1; }
    sudo="sudo"
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
  # redis-server's package starts a system-wide instance; tests start their own on free ports,
  # so the system one is left as the package configured it.
}

# tests/interop's pinned npm packages: npm ci when node_modules is missing or older than the lock
# file (npm ci writes node_modules/.package-lock.json, so a second run finds it current).
install_interop_node_modules() {
  local dir
  dir="$(cd "$(dirname "$0")/.." && pwd)/tests/interop"
  if [ -f "$dir/node_modules/.package-lock.json" ] &&
     [ ! "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    return 0
  fi
  echo "setup: npm ci in tests/interop"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
}

install_missing_packages
install_interop_node_modules
echo "setup: done"
