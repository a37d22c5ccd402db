#!/usr/bin/env bash
# Cost of one decision on the bearer-token path, next to OpenSSL's own
# verify times measured in the same run, against the targets of the
# benchmark issue:
#   - a verified-token cache hit costs at most 2 us of agent CPU;
#   - a miss (RS256 / ES256 / EdDSA) costs at most 1.25 x the raw OpenSSL
#     verify time (`openssl speed rsa2048 ecdsap256 ed25519`), both with the
#     cache off and with it on (a miss then also pays the cache key, the
#     insertion and an eviction).
# Both programs are pinned to one CPU (taskset) when available.
#
# The machine may be shared and its speed drift: each of ${rounds} rounds
# runs bench_decide once and `openssl speed` once, back to back (in turn
# first), and its ratios compare the two; the summary is the median of the
# rounds' ratios, with their range.
#
# Usage: scripts/bench.sh [seconds-per-measurement] [rounds]
# Env:   BUILD_DIR (default build), BENCH_CPU (default: the last CPU),
#        SPEED_SECONDS (openssl speed -seconds, default 1).
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${1:-1}
ROUNDS=${2:-7}
BUILD_DIR=${BUILD_DIR:-build}
SPEED_SECONDS=${SPEED_SECONDS:-1}
BENCH_CPU=${BENCH_CPU:-$(( $(nproc) - 1 ))}

if [ ! -x "$BUILD_DIR/bench_decide" ]; then
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$BUILD_DIR" --target bench_decide >/dev/null
if grep -q 'SPOA_SANITIZE:STRING=.\+' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null; then
  echo "bench.sh: $BUILD_DIR is a sanitizer build; use a plain one" >&2
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
speed() {   # speed ROUND
  "${PIN[@]}" openssl speed -seconds "$SPEED_SECONDS" rsa2048 ecdsap256 \
    ed25519 > "$dir/s.$1" 2>/dev/null
}
echo "== $ROUNDS rounds of: ${PIN[*]} $BUILD_DIR/bench_decide $SECS 1;" \
  "${PIN[*]} openssl speed -seconds $SPEED_SECONDS rsa2048 ecdsap256 ed25519"
for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) -eq 1 ]; then decide "$r"; speed "$r"; else speed "$r"; decide "$r"; fi
  if [ "$r" -eq 1 ]; then
    echo; echo "-- round 1, bench_decide:"; grep -v '^RESULT' "$dir/d.1"
    echo "-- round 1, openssl speed:"; grep -E 'verify/s|bits' "$dir/s.1"; echo
  fi
done

# One line per round: its openssl verify rates (verify/s: the last column
# of each algorithm's line, or, where RSA also shows encrypt and decrypt
# rates as OpenSSL 3.2 and later do, the third from last) and
# bench_decide's RESULT figures.
for r in $(seq 1 "$ROUNDS"); do
  vps() { grep -E "$1" "$dir/s.$r" | tail -1 | awk '{ print (NF >= 11 ? $(NF - 2) : $NF) }'; }
  res() { awk -v k="$1" '$1 == "RESULT" && $2 == k { print $3 }' "$dir/d.$r"; }
  echo "$r $(vps '^rsa 2048 bits') $(vps 'ecdsa \(nistp256\)') $(vps 'EdDSA \(Ed25519\)')" \
    "$(res hit) $(res miss_RS256) $(res fresh_RS256) $(res miss_ES256)" \
    "$(res fresh_ES256) $(res miss_EdDSA) $(res fresh_EdDSA)" \
    "$(res sig_RS256)"
done > "$dir/rounds"

awk -v T=1.25 '
function med(a, n,   i, j, t) {      # median of a[1..n] (sorts a)
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
	return (n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2)
}
function lo(a, n,   i, v) { v = a[1]; for (i = 2; i <= n; i++) if (a[i] < v) v = a[i]; return v }
function hi(a, n,   i, v) { v = a[1]; for (i = 2; i <= n; i++) if (a[i] > v) v = a[i]; return v }
NF != 12 {
	printf "bench.sh: round %s: %d figures, not 12 (an output format this script does not know?): %s\n", $1, NF, $0 > "/dev/stderr"
	bad = 1
	exit 1
}
{
	n++
	sp["RS256", n] = 1e6 / $2; sp["ES256", n] = 1e6 / $3; sp["EdDSA", n] = 1e6 / $4
	hit[n] = $5
	m["RS256", n] = $6; f["RS256", n] = $7
	m["ES256", n] = $8; f["ES256", n] = $9
	m["EdDSA", n] = $10; f["EdDSA", n] = $11
	sig[n] = $12
	printf "round %d ratios: RS256 %.3f / %.3f, ES256 %.3f / %.3f, EdDSA %.3f / %.3f, hit %.3f us\n",
	    n, $6 / sp["RS256", n], $7 / sp["RS256", n], $8 / sp["ES256", n],
	    $9 / sp["ES256", n], $10 / sp["EdDSA", n], $11 / sp["EdDSA", n], $5
}
function line(name,   i, r, rf, s, mm, ff, rr, rrf, ok) {
	for (i = 1; i <= n; i++) {
		s[i] = sp[name, i]; mm[i] = m[name, i]; ff[i] = f[name, i]
		r[i] = m[name, i] / sp[name, i]; rf[i] = f[name, i] / sp[name, i]
	}
	rr = med(r, n); rrf = med(rf, n)
	ok = rr <= T && rrf <= T
	printf "%-6s openssl speed verify %7.2f us | miss (cache off) %7.2f us = %.3f x (rounds %.3f-%.3f) %s | miss (fresh, cache on) %7.2f us = %.3f x (rounds %.3f-%.3f) %s\n",
	    name, med(s, n), med(mm, n), rr, lo(r, n), hi(r, n),
	    (rr <= T ? "ok  " : "MISS"), med(ff, n), rrf, lo(rf, n),
	    hi(rf, n), (rrf <= T ? "ok  " : "MISS")
	return ok
}
END {
	if (bad)
		exit 1
	ok = 1
	print ""
	printf "== summary: medians of %d rounds (target: miss <= %.2f x openssl speed verify; hit <= 2 us)\n", n, T
	ok = line("RS256") && ok
	ok = line("ES256") && ok
	ok = line("EdDSA") && ok
	h = med(hit, n)
	printf "hit    %.3f us per decision (rounds %.3f-%.3f)  %s\n", h, lo(hit, n), hi(hit, n), (h <= 2 ? "ok" : "MISS")
	for (i = 1; i <= n; i++)
		rs[i] = sig[i] / sp["RS256", i]
	printf "RS256 signature check alone (crypto_verify: hash + EVP_PKEY_verify) %.2f us = %.3f x openssl speed (rounds %.3f-%.3f)\n",
	    med(sig, n), med(rs, n), lo(rs, n), hi(rs, n)
	ok = ok && h <= 2
	print (ok ? "all targets met" : "some targets missed (see above)")
}' "$dir/rounds"
