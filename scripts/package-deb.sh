#!/usr/bin/env bash
# Build the Debian package spoa-iam_<version>_<arch>.deb (Debian 12).
#
#   scripts/package-deb.sh                  build build-deb/ (RelWithDebInfo,
#                                           no tests) and package it
#   scripts/package-deb.sh --binary PATH    package an already built binary
#   --out DIR                               where the .deb goes (default: out/)
#
# Contents: /usr/bin/spoa-iam (stripped), /lib/systemd/system/spoa-iam.service,
# /etc/spoa-iam/config.json (a config that starts as is: /healthz passes,
# every other request is refused until routes are added), /etc/haproxy/
# iam.spoe.conf (the SPOE engine file), the README and the examples in
# /usr/share/doc/spoa-iam/.  Depends are computed by dpkg-shlibdeps from the
# binary.  The version is CMakeLists.txt's project(VERSION).
# Needs dpkg-dev (build-essential brings it); no root needed.
set -euo pipefail
cd "$(dirname "$0")/.."

binary=""
out=out
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "package-deb: unknown argument $1" >&2; exit 2 ;;
  esac
done

version=$(sed -n 's/^project(spoa-iam VERSION \([0-9][0-9.]*\).*/\1/p' CMakeLists.txt)
[ -n "$version" ] || { echo "package-deb: no project(VERSION) in CMakeLists.txt" >&2; exit 1; }
arch=$(dpkg --print-architecture)

if [ -z "$binary" ]; then
  cmake -S . -B build-deb -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSPOA_TESTS=OFF >/dev/null
  cmake --build build-deb -j "${JOBS:-$(nproc)}" --target spoa-iam
  binary=build-deb/spoa-iam
fi
[ -x "$binary" ] || { echo "package-deb: $binary is not an executable" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# dpkg-shlibdeps wants debian/control and the files in debian/<package>/.
mkdir -p "$work/debian"
printf 'Source: spoa-iam\n\nPackage: spoa-iam\nArchitecture: any\n' > "$work/debian/control"
root=$work/debian/spoa-iam
doc=$root/usr/share/doc/spoa-iam

install -D -m 0755 "$binary" "$root/usr/bin/spoa-iam"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/spoa-iam"
install -D -m 0644 packaging/systemd/spoa-iam.service "$root/lib/systemd/system/spoa-iam.service"
install -D -m 0644 packaging/config.json "$root/etc/spoa-iam/config.json"
install -D -m 0644 haproxy-conf/iam.spoe.conf "$root/etc/haproxy/iam.spoe.conf"
install -D -m 0644 haproxy-conf/azure-front-door-backend.acl \
  "$root/etc/haproxy/azure-front-door-backend.acl"
install -D -m 0644 README.md "$doc/README.md"
for f in haproxy.cfg snippet.cfg RUNBOOK.md spoa-iam.example.json kubernetes-sidecar.yaml; do
  install -D -m 0644 "haproxy-conf/$f" "$doc/examples/$f"
done

mkdir -p "$root/DEBIAN"
for s in postinst prerm postrm; do
  install -m 0755 "packaging/deb/$s" "$root/DEBIAN/$s"
done
printf '%s\n' /etc/spoa-iam/config.json /etc/haproxy/iam.spoe.conf \
  /etc/haproxy/azure-front-door-backend.acl > "$root/DEBIAN/conffiles"
(cd "$root" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -print |
   sed 's|^\./||' | LC_ALL=C sort | xargs md5sum) > "$root/DEBIAN/md5sums"

depends=$(cd "$work" && dpkg-shlibdeps -O debian/spoa-iam/usr/bin/spoa-iam 2>/dev/null |
          sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "package-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)

cat > "$root/DEBIAN/control" <<EOF
Package: spoa-iam
Version: $version
Architecture: $arch
Maintainer: ${DEBFULLNAME:-spoa-iam maintainers} <${DEBEMAIL:-spoa-iam@localhost}>
Installed-Size: $size
Depends: $depends
Recommends: haproxy, ca-certificates
Section: net
Priority: optional
Description: identity agent for HAProxy (SPOE)
 spoa-iam answers HAProxy's Stream Processing Offload (SPOE) requests with
 allow/deny decisions: it validates the bearer token (JWT) against keys
 fetched in the background from the identity provider (Entra ID, Okta, any
 OpenID provider), checks the TLS client certificate, applies route policy
 and hands identity variables back to HAProxy.
 .
 This package runs it as the systemd service spoa-iam (a dynamic user,
 hardened) with /etc/spoa-iam/config.json, and ships HAProxy's SPOE engine
 file as /etc/haproxy/iam.spoe.conf.
EOF

mkdir -p "$out"
deb="$out/spoa-iam_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
