#!/usr/bin/env bash
# Build and run every test: a normal tree (build/) and an ASan+UBSan tree
# (build-asan/), unit tests, fuzz-corpus replays and integration tests with
# the real haproxy.  Usage: scripts/test.sh [ctest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/check-banned.sh

JOBS=${JOBS:-$(nproc)}
run_tree() {  # run_tree DIR CMAKE-ARGS...
  local dir=$1; shift
  echo "=== configure $dir: $*"
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  echo "=== build $dir"
  cmake --build "$dir" -j "$JOBS"
  echo "=== test $dir"
  (cd "$dir" && ctest --output-on-failure -j "$JOBS" "${CTEST_ARGS[@]}")
}
CTEST_ARGS=("$@")

start=$(date +%s)
run_tree build
run_tree build-asan -DSPOA_SANITIZE=address,undefined
echo "=== all tests passed in $(( $(date +%s) - start )) s"
