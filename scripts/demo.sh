#!/usr/bin/env bash
# The whole stack on loopback: HAProxy (TLS, haproxy-conf/haproxy.cfg), the
# agent, a local OpenID provider (discovery + JWKS over HTTPS) and an APIM
# stand-in that echoes what it receives; then a tour of allowed and denied
# requests.  Installs what is missing and builds first.
#   scripts/demo.sh          run the tour and stop everything
#   scripts/demo.sh --keep   leave the stack running for your own curl (Ctrl-C stops)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
export SPOA_SOURCE_DIR=$PWD SPOA_BUILD_DIR=$PWD/build SPOA_IAM=$PWD/build/spoa-iam
exec /usr/bin/python3 -B scripts/demo.py "$@"
