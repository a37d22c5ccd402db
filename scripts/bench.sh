#!/usr/bin/env bash
# Cost of one decision on the bearer-token path, next to OpenSSL's own
# verify times measured in the same run, against the targets of the
# benchmark issues:
#   - a verified-token cache hit costs at most 1 us of agent CPU
#     (bench_decide's decision: route, cache key, record, answer);
#   - a miss (RS256 / ES256 / EdDSA) costs at most 1.25 x the raw OpenSSL
#     verify time (`openssl speed rsa2048 ecdsap256 ed25519`), both with the
#     cache off and with it on (a miss then also pays the cache key, the
#     insertion and an eviction);
#   - a cached Entra-sized RS256 token holds at most 512 bytes of heap.
# Both programs are pinned to one CPU (taskset) when available.
#
# The machine may be shared and its speed drift: each of ${rounds} rounds
# runs bench_decide once and `openssl speed` once, back to back (in turn
# first), and its ratios compare the two; the summary is the median of the
# rounds' ratios, with their range.
#
# With BASELINE=<another build directory> (say, main's), each round also
# runs that build's bench_decide, the three in turn, and the summary adds
# the baseline's figures and the ratios of this build to it (median of the
# rounds' ratios): before and after, in the same run.
#
# Usage: scripts/bench.sh [seconds-per-measurement] [rounds]
# Env:   BUILD_DIR (default build), BASELINE (none), BENCH_CPU (default:
#        the last CPU), SPEED_SECONDS (openssl speed -seconds, default 1).
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${1:-1}
ROUNDS=${2:-7}
BUILD_DIR=${BUILD_DIR:-build}
BASELINE=${BASELINE:-}
SPEED_SECONDS=${SPEED_SECONDS:-1}
BENCH_CPU=${BENCH_CPU:-$(( $(nproc) - 1 ))}

if [ ! -x "$BUILD_DIR/bench_decide" ]; then
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$BUILD_DIR" --target bench_decide >/dev/null
for d in "$BUILD_DIR" $BASELINE; do
  if grep -q 'SPOA_SANITIZE:STRING=.\+' "$d/CMakeCache.txt" 2>/dev/null; then
    echo "bench.sh: $d is a sanitizer build; use a plain one" >&2
    exit 1
  fi
done
if [ -n "$BASELINE" ] && [ ! -x "$BASELINE/bench_decide" ]; then
  echo "bench.sh: no $BASELINE/bench_decide (build it there first)" >&2
  exit 1
fi

PIN=()
if command -v taskset >/dev/null 2>&1; then
  PIN=(taskset -c "$BENCH_CPU")
  echo "pinned to CPU $BENCH_CPU (taskset)"
else
  echo "taskset not found: not pinned"
fi
echo "$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ //')," \
  "$(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
echo "$(openssl version)"
echo

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

decide() {  # decide ROUND
  "${PIN[@]}" "$BUILD_DIR/bench_decide" "$SECS" 1 > "$dir/d.$1"
}
baseline() {  # baseline ROUND
  if [ -n "$BASELINE" ]; then
    "${PIN[@]}" "$BASELINE/bench_decide" "$SECS" 1 > "$dir/b.$1"
  fi
}
speed() {   # speed ROUND
  "${PIN[@]}" openssl speed -seconds "$SPEED_SECONDS" rsa2048 ecdsap256 \
    ed25519 > "$dir/s.$1" 2>/dev/null
}
echo "== $ROUNDS rounds of: ${PIN[*]} $BUILD_DIR/bench_decide $SECS 1;" \
  "${BASELINE:+${PIN[*]} $BASELINE/bench_decide $SECS 1; }${PIN[*]} openssl" \
  "speed -seconds $SPEED_SECONDS rsa2048 ecdsap256 ed25519"
for r in $(seq 1 "$ROUNDS"); do
  case $((r % 3)) in
    1) decide "$r"; baseline "$r"; speed "$r" ;;
    2) baseline "$r"; speed "$r"; decide "$r" ;;
    0) speed "$r"; decide "$r"; baseline "$r" ;;
  esac
  if [ "$r" -eq 1 ]; then
    echo; echo "-- round 1, bench_decide:"; grep -v '^RESULT' "$dir/d.1"
    echo "-- round 1, openssl speed:"; grep -E 'verify/s|bits' "$dir/s.1"; echo
  fi
done

# One line per figure: round, source (new, base, speed), name, value.
# openssl speed's verify rates are the last column of each algorithm's
# line or, where RSA also shows encrypt and decrypt rates as OpenSSL 3.2
# and later do, the third from last.
for r in $(seq 1 "$ROUNDS"); do
  vps() { grep -E "$1" "$dir/s.$r" | tail -1 | awk '{ print (NF >= 11 ? $(NF - 2) : $NF) }'; }
  echo "$r speed RS256 $(vps '^rsa 2048 bits')"
  echo "$r speed ES256 $(vps 'ecdsa \(nistp256\)')"
  echo "$r speed EdDSA $(vps 'EdDSA \(Ed25519\)')"
  awk -v r="$r" '$1 == "RESULT" { print r, "new", $2, $3 }' "$dir/d.$r"
  if [ -n "$BASELINE" ]; then
    awk -v r="$r" '$1 == "RESULT" { print r, "base", $2, $3 }' "$dir/b.$r"
  fi
done > "$dir/figures"

awk -v T=1.25 -v HIT=1 -v BYTES=512 -v rounds="$ROUNDS" -v base="${BASELINE:+1}" '
function med(a, n,   i, j, t) {      # median of a[1..n] (sorts a)
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
	return (n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2)
}
function lo(a, n,   i, v) { v = a[1]; for (i = 2; i <= n; i++) if (a[i] < v) v = a[i]; return v }
function hi(a, n,   i, v) { v = a[1]; for (i = 2; i <= n; i++) if (a[i] > v) v = a[i]; return v }
{ f[$1, $2, $3] = $4 }
# The median and range over the rounds of f[r, src, key] / div (div: a
# number, or "speed:ALG" for that round'"'"'s openssl verify time, or
# "base:KEY" for the baseline'"'"'s figure of that round).
function stat(src, key, div,   r, v, d, n, a, s) {
	n = 0
	for (r = 1; r <= rounds; r++) {
		if (!((r, src, key) in f))
			return ("")
		v = f[r, src, key]
		if (div ~ /^speed:/) {
			s = substr(div, 7)
			if (f[r, "speed", s] <= 0)
				return ("")
			d = 1e6 / f[r, "speed", s]
		} else if (div ~ /^base:/) {
			s = substr(div, 6)
			if (!((r, "base", s) in f) || f[r, "base", s] <= 0)
				return ("")
			d = f[r, "base", s]
		} else {
			d = div
		}
		a[++n] = v / d
	}
	M = med(a, n); L = lo(a, n); H = hi(a, n)
	return (sprintf("%.3f", M))
}
function line(name,   ok) {
	stat("new", "miss_" name, "speed:" name); mm = M; ml = L; mh = H
	stat("new", "fresh_" name, "speed:" name); fm = M; fl = L; fh = H
	stat("new", "miss_" name, 1); mus = M
	stat("new", "fresh_" name, 1); fus = M
	ok = mm <= T && fm <= T
	printf "%-6s miss (cache off) %7.2f us = %.3f x openssl speed verify (rounds %.3f-%.3f) %s | miss (fresh, cache on) %7.2f us = %.3f x (rounds %.3f-%.3f) %s\n",
	    name, mus, mm, ml, mh, (mm <= T ? "ok  " : "MISS"), fus, fm, fl, fh,
	    (fm <= T ? "ok  " : "MISS")
	if (base != "") {
		stat("base", "miss_" name, "speed:" name); bm = M
		stat("base", "fresh_" name, "speed:" name); bf = M
		stat("new", "miss_" name, "base:miss_" name)
		printf "       baseline %.3f / %.3f x openssl speed; this build / baseline: miss %.3f (rounds %.3f-%.3f)",
		    bm, bf, M, L, H
		stat("new", "fresh_" name, "base:fresh_" name)
		printf ", fresh %.3f (rounds %.3f-%.3f)\n", M, L, H
	}
	return ok
}
END {
	# Every round must have given every figure this summary reads.
	split("speed RS256|speed ES256|speed EdDSA|new hit|new sig_RS256|" \
	    "new miss_RS256|new fresh_RS256|new miss_ES256|new fresh_ES256|" \
	    "new miss_EdDSA|new fresh_EdDSA", need, "|")
	for (r = 1; r <= rounds; r++)
		for (i in need) {
			split(need[i], k, " ")
			if (!((r, k[1], k[2]) in f) || f[r, k[1], k[2]] !~ /^[0-9.]+$/) {
				printf "bench.sh: round %d: no figure for %s (an output format this script does not know?)\n", r, need[i] > "/dev/stderr"
				exit 1
			}
		}
	ok = 1
	print ""
	printf "== summary: medians of %d rounds (targets: miss <= %.2f x openssl speed verify; hit <= %g us; heap per cached RS256 token <= %d bytes)\n", rounds, T, HIT, BYTES
	ok = line("RS256") && ok
	ok = line("ES256") && ok
	ok = line("EdDSA") && ok
	stat("new", "hit", 1); h = M
	printf "hit    %.3f us per decision (rounds %.3f-%.3f)  %s\n", h, L, H, (h <= HIT ? "ok" : "MISS")
	ok = ok && h <= HIT
	if (stat("new", "cache_entry_bytes", 1) != "") {
		b = M
		printf "heap   %d bytes per cached RS256 token  %s\n", b, (b <= BYTES ? "ok" : "MISS")
		ok = ok && b <= BYTES
	}
	if (base != "") {
		stat("base", "hit", 1); bh = M
		stat("new", "hit", "base:hit")
		printf "       baseline hit %.3f us; this build / baseline %.3f (rounds %.3f-%.3f)\n", bh, M, L, H
		if (stat("base", "cache_entry_bytes", 1) != "") {
			bb = M
			printf "       baseline heap %d bytes per cached token; this build / baseline %.3f\n", bb, b / bb
		}
	}
	stat("new", "sig_RS256", 1); sg = M
	stat("new", "sig_RS256", "speed:RS256")
	printf "RS256 signature check alone (crypto_verify: hash + EVP_PKEY_verify) %.2f us = %.3f x openssl speed (rounds %.3f-%.3f)\n",
	    sg, M, L, H
	print (ok ? "all targets met" : "some targets missed (see above)")
}' "$dir/figures"
