#!/usr/bin/env bash
# Put HAProxy 3.0, 3.2 and 3.4 next to Debian 12's own haproxy (2.6), from
# Debian's archive, without installing anything into the system:
#
#   3.0  Debian 13 (trixie)            3.0 LTS, the old SPOE engine
#   3.2  Debian unstable (sid)         3.2 LTS, the SPOP multiplexer (3.1+)
#   3.4  Debian experimental (+ sid)   the newest release
#
# For each series it downloads the haproxy binary package and the library
# packages it needs (apt-get with a private sources list, state and cache
# directory: the machine's own apt configuration is not touched), unpacks
# them with dpkg-deb -x into <cache>/<series>/root, and writes a wrapper
# <cache>/<series>/haproxy that starts the binary through the unpacked
# tree's own dynamic loader with its own libraries.
#
# Prints one line per series on stdout: the wrapper path, a tab, and the
# first line of its "haproxy -v".  With the cache present (same pinned
# version as below) nothing is downloaded.  If a pinned version has left
# the archive, it says so and takes the newest version of that series the
# suites still carry; if a series cannot be had at all, it fails (exit 1).
#
# Usage: scripts/haproxy-peers.sh [--refresh] [SERIES...]
#   --refresh  resolve and download again even if the cache is good
#   SERIES     any of 3.0 3.2 3.4 (default: all)
# Environment: SPOA_HAPROXY_CACHE  cache directory
#              (default ${XDG_CACHE_HOME:-~/.cache}/spoa-iam/haproxy)
set -euo pipefail

MIRROR=http://deb.debian.org/debian
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
# series | suites that carry it (newest version there wins) | pinned version
# The pinned version is the one CI was last seen green with; bump it when
# the archive moves on (the script tells when it has).
TABLE=(
  "3.0|trixie|3.0.11-1+deb13u4"
  "3.2|sid|3.2.26-1"
  "3.4|experimental|3.4.7-1"
)
# Dependencies of the haproxy package that are not needed to run the binary
# (users, init scripts, systemd-sysusers): declared installed in the private
# dpkg status, so the resolver leaves them and their closure out.
NOT_NEEDED=(adduser lsb-base init-system-helpers sysvinit-utils debconf
            systemd systemd-sysusers systemd-standalone-sysusers)

CACHE=${SPOA_HAPROXY_CACHE:-${XDG_CACHE_HOME:-${HOME:?HOME is not set}/.cache}/spoa-iam/haproxy}
REFRESH=0
WANT=()
for a in "$@"; do
  case $a in
    --refresh) REFRESH=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    3.*) WANT+=("$a") ;;
    *) echo "haproxy-peers: unknown argument $a" >&2; exit 2 ;;
  esac
done

say() { echo "haproxy-peers: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

for tool in apt-get apt-cache dpkg-deb dpkg flock; do
  command -v "$tool" >/dev/null || die "$tool not found (this script needs Debian's apt and dpkg)"
done
[ -r "$KEYRING" ] || die "$KEYRING missing (package debian-archive-keyring)"

mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
# One run at a time per cache (two CI trees, or a developer and CI).
exec 9>"$CACHE/.lock"
flock 9

# The unpacked tree's loader and library directories, for the wrapper.
loader_of() {
  local root=$1 l
  for l in usr/lib64/ld-linux-x86-64.so.2 lib64/ld-linux-x86-64.so.2 \
           usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2; do
    [ -e "$root/$l" ] && { echo "$root/$l"; return 0; }
  done
  return 1
}
libpath_of() {
  local root=$1 d out=""
  for d in usr/lib/x86_64-linux-gnu lib/x86_64-linux-gnu; do
    [ -d "$root/$d" ] && out=${out:+$out:}$root/$d
  done
  echo "$out"
}

# Check a series directory: the wrapper runs, every library the binary
# needs comes from its own tree, and -v names the version in its stamp.
verify() {
  local dir=$1 root=$1/root ld libs list ver out first
  [ -x "$dir/haproxy" ] && [ -r "$dir/stamp" ] || return 1
  ld=$(loader_of "$root") || return 1
  libs=$(libpath_of "$root")
  list=$("$ld" --inhibit-cache --library-path "$libs" --list "$root/usr/sbin/haproxy" 2>&1) || {
    say "$dir: the loader cannot resolve the binary:"; echo "$list" >&2; return 1; }
  if echo "$list" | grep -q "not found"; then
    say "$dir: libraries missing:"; echo "$list" | grep "not found" >&2; return 1
  fi
  # Every resolved library must be inside the tree (none from the system).
  if echo "$list" | awk '/=>/ {print $3}' | grep -v "^$root/" | grep -q .; then
    say "$dir: libraries resolved outside $root:"
    echo "$list" | awk '/=>/ {print $3}' | grep -v "^$root/" >&2
    return 1
  fi
  ver=$(sed -n 's/^version=//p' "$dir/stamp")
  # The whole output first: "-v | head -1" under pipefail fails whenever
  # head exits before haproxy has written its last line (SIGPIPE).
  out=$("$dir/haproxy" -v 2>/dev/null) || out=
  first=${out%%$'\n'*}
  [[ $first == *"version ${ver#*:} "* ]] || {
    say "$dir: haproxy -v does not say ${ver}"; return 1; }
}

# A private apt: its own sources, preferences, dpkg status, lists, cache.
# Only deb.debian.org with Debian's archive key; nothing of the system's
# apt state is read or written beyond its configuration files.
APT_OPTS=()
apt_setup() {  # apt_setup DIR SUITE...
  local d=$1 s; shift
  rm -rf "$d"
  mkdir -p "$d/lists/partial" "$d/cache/archives/partial" "$d/sources.list.d" \
           "$d/preferences.d" "$d/debs"
  : >"$d/sources.list"
  for s in "$@"; do
    echo "deb [signed-by=$KEYRING] $MIRROR $s main" >>"$d/sources.list"
  done
  : >"$d/status"
  for p in "${NOT_NEEDED[@]}"; do
    printf 'Package: %s\nStatus: install ok installed\nPriority: optional\nSection: admin\nMaintainer: none <none@localhost>\nArchitecture: all\nVersion: 9999\nDescription: placeholder (not needed to run haproxy)\n\n' "$p" >>"$d/status"
  done
  : >"$d/preferences"
  APT_OPTS=(
    -o "Dir::State=$d" -o "Dir::State::Lists=$d/lists" -o "Dir::State::status=$d/status"
    -o "Dir::Cache=$d/cache" -o "Dir::Etc::SourceList=$d/sources.list"
    -o "Dir::Etc::SourceParts=$d/sources.list.d"
    -o "Dir::Etc::Preferences=$d/preferences" -o "Dir::Etc::PreferencesParts=$d/preferences.d"
    -o "APT::Architecture=amd64" -o "APT::Architectures::=amd64"
    -o "Acquire::Languages=none" -o "Acquire::Check-Valid-Until=false"
    -o "APT::Sandbox::User=root"
  )
}

fetch_series() {  # fetch_series SERIES SUITES PINNED
  local series=$1 suites=$2 pinned=$3
  local work=$CACHE/.work-$series dir=$CACHE/$series new=$CACHE/.new-$series
  local -a suite_list=($suites)
  # Experimental carries only a few packages: the libraries come from sid.
  if [[ " $suites " == *" experimental "* && " $suites " != *" sid "* ]]; then
    suite_list+=(sid)
  fi
  say "$series: resolving from Debian ${suite_list[*]} (pinned $pinned)"
  apt_setup "$work" "${suite_list[@]}"
  # --error-on=any: a suite whose index cannot be fetched is an error (by
  # default apt-get update only warns and exits 0).
  apt-get "${APT_OPTS[@]}" -qq --error-on=any update >"$work/update.log" 2>&1 || {
    cat "$work/update.log" >&2
    die "$series: cannot download the package index of Debian ${suite_list[*]} from $MIRROR (network down or archive unreachable?)"; }
  local s
  for s in "${suite_list[@]}"; do
    compgen -G "$work/lists/*_dists_${s}_main_binary-amd64_Packages*" >/dev/null || {
      cat "$work/update.log" >&2
      die "$series: no package index of Debian $s after apt-get update"; }
  done

  # Versions of haproxy in the series' own suites (not sid's, for 3.4).
  local have=() v suite
  while IFS='|' read -r v suite; do
    v=$(echo "$v" | xargs); suite=$(echo "$suite" | xargs)
    local up=${v#*:}
    [[ $up == "$series".* ]] || continue
    for s in $suites; do
      [[ $suite == *" $s/main "* ]] && have+=("$v")
    done
  done < <(apt-cache "${APT_OPTS[@]}" madison haproxy | awk -F'|' '{print $2 "|" $3}')
  [ ${#have[@]} -gt 0 ] || die "$series: Debian ${suites} carries no haproxy $series.x any more: update TABLE in $0"
  local version=""
  for v in "${have[@]}"; do [ "$v" = "$pinned" ] && version=$v; done
  local note=""
  if [ -z "$version" ]; then
    for v in "${have[@]}"; do
      if [ -z "$version" ] || dpkg --compare-versions "$v" gt "$version"; then version=$v; fi
    done
    note="pinned $pinned is no longer in Debian $suites; took the newest $series.x there: $version"
    say "$series: WARNING: $note"
  fi

  # The library closure of that haproxy, with exact versions, as apt's
  # resolver sees it (an install simulated against the private status).
  printf 'Package: haproxy\nPin: version %s\nPin-Priority: 1001\n' "$version" >"$work/preferences"
  apt-get "${APT_OPTS[@]}" -s install --no-install-recommends haproxy >"$work/simulate.log" 2>&1 || {
    cat "$work/simulate.log" >&2; die "$series: cannot resolve the dependencies of haproxy $version"; }
  local pkgs
  pkgs=$(sed -nE 's/^Inst ([^ ]+) (\[[^]]*\] )?\(([^ ]+) .*/\1=\3/p' "$work/simulate.log")
  echo "$pkgs" | grep -qx "haproxy=$version" || {
    cat "$work/simulate.log" >&2; die "$series: the resolver did not pick haproxy $version"; }

  say "$series: downloading $(echo "$pkgs" | wc -l) packages"
  (cd "$work/debs" && apt-get "${APT_OPTS[@]}" -qq download $pkgs) >"$work/download.log" 2>&1 || {
    cat "$work/download.log" >&2; die "$series: download failed"; }

  rm -rf "$new"
  mkdir -p "$new/root"
  local deb
  for deb in "$work"/debs/*.deb; do
    dpkg-deb -x "$deb" "$new/root"
  done
  local ld libs
  ld=$(loader_of "$new/root") || die "$series: no dynamic loader in the unpacked libc6"
  # The wrapper names the final paths ($dir), where the tree is moved below.
  ld=$dir/root/${ld#"$new/root/"}
  libs=$(libpath_of "$new/root"); libs=${libs//"$new/root"/"$dir/root"}
  cat >"$new/haproxy" <<EOF
#!/bin/sh
# HAProxy $version from Debian ${suites}, unpacked by scripts/haproxy-peers.sh.
# Runs through its own tree's dynamic loader and libraries (the system's
# ld.so.cache is not used); nothing is installed.
OPENSSL_MODULES='$dir/root/usr/lib/x86_64-linux-gnu/ossl-modules'
export OPENSSL_MODULES
exec '$ld' --inhibit-cache --library-path '$libs' '$dir/root/usr/sbin/haproxy' "\$@"
EOF
  chmod 755 "$new/haproxy"
  {
    echo "series=$series"
    echo "pinned=$pinned"
    echo "version=$version"
    echo "suites=${suite_list[*]}"
    [ -n "$note" ] && echo "note=$note"
    echo "$pkgs" | sed 's/^/package=/'
  } >"$new/stamp"
  rm -rf "$dir"
  mv "$new" "$dir"
  verify "$dir" || die "$series: the unpacked haproxy $version does not run"
  rm -rf "$work"
}

status=0
for row in "${TABLE[@]}"; do
  IFS='|' read -r series suites pinned <<<"$row"
  if [ ${#WANT[@]} -gt 0 ] && [[ " ${WANT[*]} " != *" $series "* ]]; then
    continue
  fi
  dir=$CACHE/$series
  if [ $REFRESH = 0 ] && [ -r "$dir/stamp" ] &&
     [ "$(sed -n 's/^pinned=//p' "$dir/stamp")" = "$pinned" ] && verify "$dir"; then
    note=$(sed -n 's/^note=//p' "$dir/stamp")
    [ -z "$note" ] || say "$series: WARNING (cached): $note"
  else
    fetch_series "$series" "$suites" "$pinned"
  fi
  printf '%s\t%s\n' "$dir/haproxy" "$("$dir/haproxy" -v | head -1)"
done
for s in "${WANT[@]}"; do
  printf '%s\n' "${TABLE[@]}" | grep -q "^$s|" || { say "unknown series $s"; status=1; }
done
exit $status
