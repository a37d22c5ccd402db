#!/usr/bin/env bash
# Print the path of a promtool binary (Prometheus' checker for metrics and
# rules), taken from Debian's prometheus package without installing it (no
# server is started): downloaded once into a cache directory, unpacked
# there; a second run downloads nothing.  Usage: scripts/promtool.sh
# (CACHE: $SPOA_CACHE or ~/.cache/spoa-iam).
set -euo pipefail
cache=${SPOA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/spoa-iam}/promtool
bin=$cache/root/usr/bin/promtool
if [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; then
  echo "$bin"
  exit 0
fi
command -v promtool >/dev/null 2>&1 && { command -v promtool; exit 0; }
mkdir -p "$cache"
rm -rf "$cache/root" "$cache"/*.deb
( cd "$cache" && apt-get download -qq -o APT::Sandbox::User=root prometheus ) >&2 || {
  echo "promtool.sh: cannot download Debian's prometheus package (apt-get update first?)" >&2
  exit 1
}
dpkg-deb -x "$cache"/prometheus_*.deb "$cache/root"
"$bin" --version >/dev/null
echo "$bin"
