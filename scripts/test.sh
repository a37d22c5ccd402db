#!/usr/bin/env bash
# Build and run every test: a normal tree (build/) and an ASan+UBSan tree
# (build-asan/), unit tests, fuzz-corpus replays and integration tests with
# the real haproxy: Debian 12's own (2.6) and 3.0, 3.2 and 3.4 from Debian's
# archive (scripts/haproxy-peers.sh; each integration test that starts
# HAProxy runs once per version, ctest label integration-<x.y>).
# Usage: scripts/test.sh [ctest args...]
# Environment: SPOA_ASAN_PEERS  HAProxy series the ASan+UBSan tree also runs
#                               (default: all; "none": Debian's 2.6 only)
#              SPOA_HAPROXY_CACHE  where the 3.x binaries are kept (see
#                               scripts/haproxy-peers.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/check-banned.sh

JOBS=${JOBS:-$(nproc)}
start=$(date +%s)

# HAProxy versions.  One that cannot be had fails the run here: no version
# is skipped silently.
echo "=== HAProxy versions"
echo "  /usr/sbin/haproxy	$(/usr/sbin/haproxy -v | head -1)"
if ! peers=$(scripts/haproxy-peers.sh); then
  echo "test.sh: ERROR: HAProxy 3.0/3.2/3.4 could not be fetched from Debian's archive" \
       "and are not in the cache (see above); stopping" >&2
  exit 1
fi
echo "$peers" | sed 's/^/  /'
peer_bins() {  # peer_bins SERIES... -> their wrappers, ;-separated
  echo "$peers" | cut -f1 | while read -r bin; do
    for s in "$@"; do case $bin in */"$s"/haproxy) echo "$bin" ;; esac; done
  done | paste -sd ';'
}
ALL_PEERS=$(echo "$peers" | cut -f1 | paste -sd ';')
case ${SPOA_ASAN_PEERS:-all} in
  all) ASAN_PEERS=$ALL_PEERS ;;
  none) ASAN_PEERS= ;;
  *) ASAN_PEERS=$(peer_bins $SPOA_ASAN_PEERS) ;;
esac

run_tree() {  # run_tree DIR CMAKE-ARGS...
  local dir=$1 t0 rc=0; shift
  t0=$(date +%s)
  echo "=== configure $dir: $*"
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  echo "=== build $dir"
  cmake --build "$dir" -j "$JOBS"
  echo "=== test $dir"
  (cd "$dir" && ctest --output-on-failure -j "$JOBS" --output-junit ctest-results.xml \
     --test-output-size-passed 262144 --test-output-size-failed 1048576 \
     "${CTEST_ARGS[@]}") || rc=$?
  python3 scripts/ci-summary.py "$dir" || true
  echo "=== $dir: $(( $(date +%s) - t0 )) s"
  if [ $rc -ne 0 ]; then
    echo "=== $dir: tests FAILED"
    exit $rc
  fi
}
CTEST_ARGS=("$@")

run_tree build -DSPOA_HAPROXY_PEERS="$ALL_PEERS"
run_tree build-asan -DSPOA_SANITIZE=address,undefined -DSPOA_HAPROXY_PEERS="$ASAN_PEERS"
echo "=== all tests passed in $(( $(date +%s) - start )) s"
