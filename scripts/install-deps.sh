#!/usr/bin/env bash
# Install every Debian package that the build, the tests, the demo and the
# benchmarks need.  Idempotent: packages already present are skipped, and
# nothing is downloaded when all are there.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config clang        # build (clang: fuzzing)
  libev-dev libcjson-dev libcurl4-openssl-dev libssl-dev
  libcmocka-dev                                 # unit tests
  haproxy curl openssl ca-certificates          # integration tests
  python3 python3-cryptography python3-yaml     # token minting, test servers, YAML examples
  procps iproute2 wrk                           # process control, benchmarks
  docker.io debootstrap                         # container image test (test_docker_image)
  systemd strace                                # unit checks (systemd-analyze), its syscall check
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
    || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PKGS[@]} packages present"
  exit 0
fi

SUDO=()
[ "$(id -u)" -eq 0 ] || SUDO=(sudo)
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The haproxy package starts a system instance on Debian; our tests run their
# own, so stop it if a service manager started it (harmless otherwise).
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet haproxy 2>/dev/null; then
  "${SUDO[@]}" systemctl stop haproxy || true
fi
