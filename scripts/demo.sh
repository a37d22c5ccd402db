#!/usr/bin/env bash
# The whole stack on loopback: HAProxy (TLS, haproxy-conf/haproxy.cfg, the
# reference deployment), the agent, a local OpenID provider (discovery +
# JWKS over HTTPS) and two APIM stand-ins in two "regions" (region A
# serving, region B backup) that echo what they receive; then a tour:
# allowed and denied requests (JSON bodies), mTLS, one request id in
# HAProxy's log, the agent's log and at APIM, a drain of region A through
# HAProxy's runtime API, the rate limit's 429, a key rotation, fail closed.
# Every step states what it expects.  Installs what is missing and builds first.
#   scripts/demo.sh          the tour (pausing between parts at a terminal), then stop everything
#   scripts/demo.sh --once   the tour without pauses; exit 1 if any step got something unexpected
#   scripts/demo.sh --keep   leave the stack running for your own curl (Ctrl-C stops)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
export SPOA_SOURCE_DIR=$PWD SPOA_BUILD_DIR=$PWD/build SPOA_IAM=$PWD/build/spoa-iam
exec /usr/bin/python3 -B scripts/demo.py "$@"
