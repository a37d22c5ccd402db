#!/usr/bin/env bash
# End-to-end benchmark: real HAProxy driven by wrk at a fixed connection
# count, one variant at a time, the variants interleaved in rounds in one
# run.  Each run reports requests/s, HAProxy's CPU per request and the
# agent's CPU per request (utime+stime deltas of /proc/<pid>/stat over the
# wrk run, divided by the requests wrk completed), and each variant its
# ratios to `none` and to `native` measured in the same round (median and
# range over the rounds).
#
# Variants (the same HAProxy frontend for all: nbthread N, plain HTTP on
# 127.0.0.1, the auth block, then `http-request return status 200`: HAProxy
# answers itself, no backend server; every request carries the same
# RS256 bearer token, an Entra-shaped one of ~1.2 KB):
#   none     no auth block
#   native   HAProxy's own jwt_verify("RS256", <public key>) with the alg
#            pinned and iss, aud and exp checked by jwt_payload_query
#   floor    filter spoe with haproxy-conf/iam.spoe.conf (the project's
#            message and arguments) -> bench_floor_spoa, which answers
#            every NOTIFY with allow=true and nothing else (the floor)
#   hit      the same -> spoa-iam, the token verified once and then served
#            from its token cache
#   nocache  the same -> spoa-iam with token_cache_entries 0 (every
#            request verified)
# The SPOE variants deny (401) unless txn.iam.allow is true, and use the
# example's agent backend (mode tcp, option spop-check, check inter 2s).
# Before each run a correctness gate checks the path measured is the
# success path: a valid token gets 200 and, where the variant checks
# tokens, a tampered, an expired and a missing one get 401.
#
# Knobs for studies, appended to a variant with "+" (e.g.
# floor+maxconn10).  For every variant: hotN (global tune.memory.hot-size
# N KiB, 3.x), thrN (nbthread N for this variant).  For the SPOE variants:
# maxconnN (agent server maxconn N), poolN (server
# pool-max-conn N), reuse-never|reuse-safe|reuse-always (backend
# http-reuse), toutsN (backend timeout server N s), mfsN (max-frame-size N
# in the SPOE file), nopipe (no option pipelining in the SPOE file),
# spoelog (without the SPOE file's option dontlog-normal: HAProxy then
# builds a log line for every exchange),
# agentnopipe (the floor agent refuses pipelining), spinN (the floor agent
# busy-polls N us before sleeping), agentcpuN (the agent pinned to CPU N
# instead of AGENT_CPU, e.g. HAProxy's own), retry (the example's
# iam-retry engine beside the first, as haproxy.cfg declares it on 3.0+),
# unix (the agent on a unix socket), nocheck (no spop-check), workersN
# (spoa-iam workers).  A variant with knobs is also compared with its base
# variant of the same round ("x base", and "HAProxy us - base": the
# difference of HAProxy's CPU per request within the round).
# Other HAProxy versions in the same run: VARIANT@SERIES runs under the
# binary HAPROXY_PEERS names for SERIES (e.g. floor@3.4); its base is the
# same variant under HAPROXY, and its none and native are none@SERIES and
# native@SERIES when they are in the run.
#
# Usage: scripts/bench-e2e.sh [-r ROUNDS] [-d SECONDS] [-c CONNECTIONS]
#                             [-t NBTHREAD] [-v VARIANT,...] [-o FILE.tsv]
#   -r  rounds (default 5)        -d  seconds of wrk per run (default 8)
#   -c  wrk connections (default 50)
#   -t  HAProxy nbthread (default 1)
#   -v  variants, comma-separated (default none,native,floor,hit,nocache)
#   -o  also write every run as a TSV row to FILE
# Environment: HAPROXY (default /usr/sbin/haproxy), BUILD_DIR (default
#   build; spoa-iam and bench_floor_spoa are built there if missing),
#   HAPROXY_CPU (default 0), WRK_CPU (default 1), AGENT_CPU (default 2 if
#   there are 3 CPUs or more, else WRK_CPU): taskset CPU lists; with fewer
#   than 2 CPUs nothing is pinned.  WRK_THREADS (default 1).
#   HAPROXY_PEERS: more HAProxy binaries, "SERIES=PATH ...", for @SERIES.
#   HAPROXY_STATS=1: HAProxy gets a runtime API socket, and `show activity`
#   before and after each run gives its internal context switches, task
#   calls and stream calls per request (columns ctxsw, tasksw, streams).
#   PERF_EVENTS: perf stat events counted on the HAProxy process during
#   each run and reported per request, e.g. PERF_EVENTS=raw_syscalls:
#   sys_enter,context-switches (perf must be usable).
#   HAPROXY_CALLGRIND=1: HAProxy runs under valgrind's callgrind, and each
#   run reports the instructions HAProxy executed in user space per request
#   (column ir): a count that other load on the machine does not change,
#   for comparing variants on a shared machine.  Requests/s and CPU figures
#   mean nothing then (HAProxy runs ~50x slower); the callgrind files stay
#   in KEEP_DIR for callgrind_annotate.
#   AGENT_CALLGRIND=1: the agent (spoa-iam or the floor agent) runs under
#   callgrind, and each run reports the instructions it executed in user
#   space per request, all its threads (column agent_ir): what its own code
#   costs, whatever the machine's load; its CPU figures mean nothing then.
#   KEEP_DIR: keep configs, logs and per-run data there instead of a
#   removed temp dir.
#   BENCH_E2E_SANITIZED_OK=1: run from a sanitizer build (smoke tests).
#
# Output: a line per run, then a table, then one machine-readable line per
# variant:  E2E variant=... rps=... rps_min=... rps_max=... x_none=...
# x_none_min=... x_none_max=... x_native=... x_floor=... hap_us=... cap_none=...
# cap_native=... cap_floor=... agent_us=... ...
# Everything started here is stopped on exit, on error and on a signal.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HAPROXY=${HAPROXY:-/usr/sbin/haproxy}
BUILD_DIR=${BUILD_DIR:-build}
WRK=${WRK:-wrk}
WRK_THREADS=${WRK_THREADS:-1}
HAPROXY_STATS=${HAPROXY_STATS:-0}
HAPROXY_PEERS=${HAPROXY_PEERS:-}
PERF_EVENTS=${PERF_EVENTS:-}
HAPROXY_CALLGRIND=${HAPROXY_CALLGRIND:-0}
AGENT_CALLGRIND=${AGENT_CALLGRIND:-0}
ROUNDS=5 DURATION=8 CONNS=50 NBTHREAD=1 VARIANTS=none,native,floor,hit,nocache TSV=""

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2; }
while getopts "r:d:c:t:v:o:h" opt; do
  case $opt in
    r) ROUNDS=$OPTARG ;; d) DURATION=$OPTARG ;; c) CONNS=$OPTARG ;;
    t) NBTHREAD=$OPTARG ;; v) VARIANTS=$OPTARG ;; o) TSV=$OPTARG ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage
for n in "$ROUNDS" "$DURATION" "$CONNS" "$NBTHREAD" "$WRK_THREADS"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "bench-e2e: not a positive integer: $n" >&2; exit 2; }
done
[ "$CONNS" -ge "$WRK_THREADS" ] || { echo "bench-e2e: -c must be >= WRK_THREADS" >&2; exit 2; }
IFS=, read -r -a VLIST <<<"$VARIANTS"

say() { printf '%s\n' "$*"; }
die() { printf 'bench-e2e: ERROR: %s\n' "$*" >&2; exit 1; }

[ -z "$PERF_EVENTS" ] || command -v perf >/dev/null 2>&1 || die "PERF_EVENTS set but no perf"
[ "$HAPROXY_CALLGRIND" = 0 ] || { command -v valgrind >/dev/null 2>&1 &&
  command -v callgrind_control >/dev/null 2>&1; } || die "HAPROXY_CALLGRIND set but no valgrind"
[ "$AGENT_CALLGRIND" = 0 ] || { command -v valgrind >/dev/null 2>&1 &&
  command -v callgrind_control >/dev/null 2>&1; } || die "AGENT_CALLGRIND set but no valgrind"
for tool in "$WRK" python3 curl; do
  command -v "$tool" >/dev/null 2>&1 || die "missing tool: $tool"
done
[ -x "$HAPROXY" ] || command -v "$HAPROXY" >/dev/null 2>&1 || die "no HAProxy at $HAPROXY"

# ------------------------------------------------------------ processes
PIDS=()
WORK=""
cleanup() {
  local pid i
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for i in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
  if [ -n "$WORK" ] && [ -z "${KEEP_DIR:-}" ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

forget() {  # forget PID: it was reaped
  local keep=() p
  for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}
stop_pid() {  # stop_pid PID: SIGTERM, 3 s, then SIGKILL; reap
  local i
  kill -TERM "$1" 2>/dev/null || true
  for i in $(seq 30); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  forget "$1"
}

# ------------------------------------------------------------ build, pins
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$SRC/$BUILD_DIR ;; esac
if [ -z "${BENCH_E2E_SANITIZED_OK:-}" ] &&
   grep -q 'SPOA_SANITIZE:STRING=.\+' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null; then
  die "$BUILD_DIR is a sanitizer build; use a plain one"
fi
if [ ! -x "$BUILD_DIR/spoa-iam" ] || [ ! -x "$BUILD_DIR/bench_floor_spoa" ]; then
  if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
    cmake -S "$SRC" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  cmake --build "$BUILD_DIR" --target spoa-iam bench_floor_spoa >/dev/null
fi
AGENT_BIN=$BUILD_DIR/spoa-iam
FLOOR_BIN=$BUILD_DIR/bench_floor_spoa

NCPU=$(nproc)
HAPROXY_CPU=${HAPROXY_CPU:-0}
WRK_CPU=${WRK_CPU:-1}
if [ -z "${AGENT_CPU:-}" ]; then
  if [ "$NCPU" -ge 3 ]; then AGENT_CPU=2; else AGENT_CPU=$WRK_CPU; fi
fi
PIN_H=() PIN_W=() PIN_A=()
if [ "$NCPU" -ge 2 ] && command -v taskset >/dev/null 2>&1 &&
   taskset -c "$HAPROXY_CPU" true 2>/dev/null && taskset -c "$WRK_CPU" true 2>/dev/null &&
   taskset -c "$AGENT_CPU" true 2>/dev/null; then
  PIN_H=(taskset -c "$HAPROXY_CPU") PIN_W=(taskset -c "$WRK_CPU") PIN_A=(taskset -c "$AGENT_CPU")
  PINNING="taskset: HAProxy on CPU $HAPROXY_CPU, wrk on CPU $WRK_CPU, agent on CPU $AGENT_CPU"
else
  PINNING="not pinned (fewer than 2 CPUs, no taskset, or CPUs not usable)"
fi

# ------------------------------------------------------------ work dir
if [ -n "${KEEP_DIR:-}" ]; then
  mkdir -p "$KEEP_DIR"; WORK=$(cd "$KEEP_DIR" && pwd)
else
  WORK=$(mktemp -d -t bench-e2e.XXXXXX)
fi
hap_version() { "$1" -v 2>/dev/null | sed -n 's/.*version \([^ ]*\).*/\1/p' | head -1; }
HAP_VERSION=$(hap_version "$HAPROXY")
[ -n "$HAP_VERSION" ] || die "$HAPROXY -v says no version"
# The binary of @SERIES, from HAPROXY_PEERS.
peer_bin() {
  local e
  for e in $HAPROXY_PEERS; do
    [ "${e%%=*}" = "$1" ] && { echo "${e#*=}"; return 0; }
  done
  return 1
}

# Keys, key set and tokens, by Python `cryptography` (tests/integration/
# tokens.py), never by the agent's code.
python3 - "$SRC/tests/integration" "$WORK" <<'EOF'
import json, os, sys
sys.path.insert(0, sys.argv[1])
from tokens import Key, jwks, mint
d = sys.argv[2]
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
ISS = f"https://login.microsoftonline.com/{TENANT}/v2.0"
key = Key("RS256", "bench-rsa")
with open(os.path.join(d, "keys.json"), "w") as f:
    json.dump(jwks(key), f)
with open(os.path.join(d, "rsa.pub.pem"), "wb") as f:
    f.write(key.public_pem())
# The claims of an Entra ID v2 access token (~1.2 KB with RS256).
claims = {"aio": "AWQAm/8TAAAAbFb1Jd0tQHqvN4oaMJ0+YhA1Wq",
          "azp": "0d4a0e5c-8a7b-4c1e-9c9e-2f6d2a1b3c4d", "azpacr": "1",
          "name": "Alice Example", "oid": "6f1c2d3e-4a5b-6c7d-8e9f-0a1b2c3d4e5f",
          "preferred_username": "alice@example.com", "email": "alice@example.com",
          "rh": "0.AXEAv4j5cvGGr0GRqy180BHbR1wOSg17isZM",
          "roles": ["Orders.Admin", "Reader"],
          "scp": "Orders.Read Orders.Write User.Read", "tid": TENANT,
          "uti": "AbCdEfGhIjKlMnOpQrStUv", "ver": "2.0"}
good = mint(key, claims, iss=ISS, aud="api://orders", sub="user-000001", exp_in=86400)
h, p, s = good.split(".")
bad = mint(key, claims, iss=ISS, aud="api://orders", sub="user-000002", exp_in=86400)
tampered = f"{h}.{bad.split('.')[1]}.{s}"
expired = mint(key, claims, iss=ISS, aud="api://orders", sub="user-000001", exp_in=-600)
for name, tok in (("valid", good), ("tampered", tampered), ("expired", expired)):
    with open(os.path.join(d, name + ".jwt"), "w") as f:
        f.write(tok)
with open(os.path.join(d, "iss"), "w") as f:
    f.write(ISS)
EOF
TOKEN=$(cat "$WORK/valid.jwt")
ISSUER=$(cat "$WORK/iss")
URL_PATH=/orders/42

cat >"$WORK/result.lua" <<'EOF'
-- Every request carries the bearer token; one RESULT line at the end.
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d secs=%.3f non2xx=%d sockerr=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration / 1e6, e.status,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
EOF

# ------------------------------------------------------------ helpers
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_listen() {  # wait_listen PORT|unix:PATH PID [SECONDS]: up to 10 s
  local i
  for i in $(seq $(( ${3:-10} * 10 ))); do
    case $1 in
      unix:*) [ -S "${1#unix:}" ] && return 0 ;;
      *) port_open "$1" && return 0 ;;
    esac
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
proc_ticks() {  # utime+stime of PID, in clock ticks
  local s; s=$(cat "/proc/$1/stat") || { echo 0; return; }
  s=${s##*) }
  # shellcheck disable=SC2086
  set -- $s
  echo $(( ${12} + ${13} ))
}
cpu_ticks() {  # "busy total steal" ticks of the first CPU in list $1
  local c=${1%%[,-]*}
  awk -v c="cpu$c" '$1 == c { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t, $9 }' /proc/stat
}
http_code() {  # http_code PORT [TOKEN-FILE]
  local hdr=()
  [ -n "${2:-}" ] && hdr=(-H "Authorization: Bearer $(cat "$2")")
  curl -s -o /dev/null -w '%{http_code}' --max-time 3 "${hdr[@]}" \
    "http://127.0.0.1:$1$URL_PATH" || true
}
hap_cli() {  # hap_cli SOCKET COMMAND
  python3 - "$1" "$2" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n"); out = b""
while True:
    d = s.recv(65536)
    if not d: break
    out += d
sys.stdout.write(out.decode(errors="replace"))
EOF
}

cg_dump() {  # cg_dump PID FILE N: callgrind writes what it counted since
  # the last dump to FILE.N (and starts counting anew); wait for it.
  local i
  callgrind_control -d "$1" >/dev/null 2>&1 || die "callgrind_control -d $1 failed"
  for i in $(seq 300); do
    [ -s "$2.$3" ] && grep -q '^totals:' "$2.$3" 2>/dev/null && return 0
    sleep 0.1
  done
  die "callgrind wrote no $2.$3"
}

# A variant is BASE[+KNOB...][@SERIES]; set HAP_BIN and the knob
# variables for it.
parse_variant() {
  local v=$1 k
  HAP_BIN=$HAPROXY
  case $v in
    *@*) HAP_BIN=$(peer_bin "${v##*@}") || die "$v: no ${v##*@}= in HAPROXY_PEERS"
         v=${v%@*} ;;
  esac
  BASE=${v%%+*}
  K_SERVER="" K_BACKEND="" K_SPOE="" K_RETRY=0 K_UNIX=0 K_CHECK=1 K_AGENTNOPIPE=0 K_SPIN=0 K_WORKERS=1 K_ACPU=""
  K_GLOBAL="" K_SPOELOG=0 K_NBTHREAD=$NBTHREAD
  case $BASE in none|native|floor|hit|nocache) ;; *) die "unknown variant: $v" ;; esac
  [ "$BASE" != "$v" ] || return 0
  IFS=+ read -r -a knobs <<<"${v#*+}"
  for k in "${knobs[@]}"; do
    # HAProxy-wide knobs, for every variant.
    case $k in
      hot[0-9]*) K_GLOBAL+="    tune.memory.hot-size $(( ${k#hot} * 1024 ))"$'\n'; continue ;;
      thr[0-9]*) K_NBTHREAD=${k#thr}; continue ;;
    esac
    case $BASE in none|native) die "$v: knob $k applies to SPOE variants only" ;; esac
    case $k in
      maxconn[0-9]*) K_SERVER+=" maxconn ${k#maxconn}" ;;
      pool[0-9]*) K_SERVER+=" pool-max-conn ${k#pool}" ;;
      reuse-never|reuse-safe|reuse-always|reuse-aggressive) K_BACKEND+="    http-reuse ${k#reuse-}"$'\n' ;;
      touts[0-9]*) K_BACKEND+="    timeout server ${k#touts}s"$'\n' ;;
      mfs[0-9]*) K_SPOE+="    max-frame-size ${k#mfs}"$'\n' ;;
      nopipe) K_SPOE+="    no option pipelining"$'\n' ;;
      spoelog) K_SPOELOG=1 ;;
      agentnopipe) K_AGENTNOPIPE=1 ;;
      spin[0-9]*) K_SPIN=${k#spin} ;;
      agentcpu[0-9]*) K_ACPU=${k#agentcpu} ;;
      retry) K_RETRY=1 ;;
      unix) K_UNIX=1 ;;
      nocheck) K_CHECK=0 ;;
      workers[0-9]*) K_WORKERS=${k#workers} ;;
      *) die "$v: unknown knob $k" ;;
    esac
  done
}

# The SPOE file: the project's haproxy-conf/iam.spoe.conf, with the
# variant's SPOE knobs added to both agents' sections.
write_spoe() {  # write_spoe FILE
  awk -v add="$K_SPOE" -v nolog="$K_SPOELOG" '
    nolog == 1 && $1 == "option" && $2 == "dontlog-normal" { next }
    { print } /^spoe-agent / { printf "%s", add }' \
    "$SRC/haproxy-conf/iam.spoe.conf" >"$1"
}

write_haproxy_cfg() {  # write_haproxy_cfg FILE PORT AGENT_ADDR SPOE_FILE STATS_SOCK
  local f=$1 port=$2 aaddr=$3 spoe=$4 sock=$5 check=""
  [ "$K_CHECK" = 1 ] && check=" check inter 2s rise 2 fall 2"
  {
    say "global"
    say "    nbthread $K_NBTHREAD"
    say "    maxconn 4096"
    printf '%s' "$K_GLOBAL"
    [ -n "$sock" ] && say "    stats socket $sock mode 600 level admin"
    cat <<EOF

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout http-request 10s
    timeout http-keep-alive 30s

frontend fe
    bind 127.0.0.1:$port
EOF
    case $BASE in
      none) ;;
      native) cat <<EOF
    # HAProxy's own check: alg pinned, signature, then iss, aud and exp.
    http-request set-var(txn.bearer) http_auth_bearer
    http-request set-var(txn.jwt_alg) var(txn.bearer),jwt_header_query('\$.alg')
    http-request set-var(txn.jwt_iss) var(txn.bearer),jwt_payload_query('\$.iss')
    http-request set-var(txn.jwt_aud) var(txn.bearer),jwt_payload_query('\$.aud')
    http-request set-var(txn.jwt_exp) var(txn.bearer),jwt_payload_query('\$.exp','int')
    http-request set-var(txn.now) date
    http-request deny deny_status 401 unless { var(txn.jwt_alg) -m str RS256 }
    http-request deny deny_status 401 unless { var(txn.bearer),jwt_verify(txn.jwt_alg,"$WORK/rsa.pub.pem") -m int 1 }
    http-request deny deny_status 401 unless { var(txn.jwt_iss) -m str "$ISSUER" } { var(txn.jwt_aud) -m str "api://orders" }
    http-request deny deny_status 401 unless { var(txn.jwt_exp),sub(txn.now) -m int gt 0 }
EOF
        ;;
      *) say "    filter spoe engine iam config $spoe"
        if [ "$K_RETRY" = 1 ]; then cat <<EOF
    # The example's second engine (haproxy.cfg, 3.0+): asked only when
    # the first ask got no answer.
    filter spoe engine iam-retry config $spoe
    http-request set-var(txn.iam_retry) bool(1) if !{ var(txn.iam.allow) -m found } !{ var(txn.iam.err) -m int 1 3 259 }
    http-request unset-var(txn.iam.err) if { var(txn.iam_retry) -m bool }
    http-request send-spoe-group iam-retry retry if { var(txn.iam_retry) -m bool }
EOF
        fi
        say "    http-request deny deny_status 401 unless { var(txn.iam.allow) -m bool }" ;;
    esac
    say '    http-request return status 200 content-type text/plain string "ok"'
    case $BASE in
      none|native) ;;
      *) cat <<EOF

backend spoa-iam
    mode tcp
    timeout connect 1s
    timeout server 30s
${K_BACKEND}    option spop-check
    server agent1 $aaddr$check$K_SERVER
EOF
        if [ "$K_RETRY" = 1 ]; then cat <<EOF

backend spoa-iam-retry
    mode tcp
    timeout connect 1s
    timeout server 30s
    option spop-check
    server agent1 $aaddr$check pool-max-conn 0 max-reuse 0
EOF
        fi ;;
    esac
  } >"$f"
}

write_agent_cfg() {  # write_agent_cfg FILE LISTEN CACHE_ENTRIES
  cat >"$1" <<EOF
{
  "listen": ["$2"],
  "listen_takeover": false,
  "workers": $K_WORKERS,
  "log_level": "info",
  "token_cache_entries": $3,
  "issuers": [{
    "name": "entra",
    "issuer": "https://login.microsoftonline.com/{tenant}/v2.0",
    "tenants": ["72f988bf-86f1-41af-91ab-2d7cd011db47"],
    "jwks_file": "$WORK/keys.json",
    "audiences": ["api://orders"],
    "algorithms": ["RS256"]
  }],
  "routes": [{
    "name": "orders", "path_prefix": "/orders", "methods": ["GET"],
    "require": "jwt", "issuers": ["entra"], "scopes_any": ["Orders.Read"]
  }]
}
EOF
}

# ------------------------------------------------------------ one run
ROWS=$WORK/rows.tsv
printf 'variant\tround\trps\trequests\tsecs\thap_us\tagent_us\thap_cpu_pct\tp50_us\tp99_us\tother_pct\tsteal_pct\tvalid\tcounters\n' >"$ROWS"

run_one() {  # run_one VARIANT ROUND
  local v=$1 r=$2 tag port aport aaddr hpid apid="" spoe="" sock=""
  parse_variant "$v"
  tag=$(echo "$v" | tr '+@' '__')-r$r
  port=$(free_port)
  if [ "$K_UNIX" = 1 ]; then aaddr=unix@$WORK/agent-$tag.sock; else aport=$(free_port); aaddr=127.0.0.1:$aport; fi
  case $BASE in
    floor|hit|nocache) spoe=$WORK/spoe-$tag.conf; write_spoe "$spoe" ;;
  esac
  [ "$HAPROXY_STATS" = 1 ] && sock=$WORK/haproxy-$tag.sock
  write_haproxy_cfg "$WORK/haproxy-$tag.cfg" "$port" "$aaddr" "$spoe" "$sock"
  "$HAP_BIN" -c -q -f "$WORK/haproxy-$tag.cfg" >"$WORK/check-$tag.log" 2>&1 ||
    { cat "$WORK/check-$tag.log" >&2; die "$v: haproxy -c refuses the config"; }

  local listen=${aaddr/unix@/unix:} pin_a=("${PIN_A[@]}") avg=()
  [ "$AGENT_CALLGRIND" = 0 ] ||
    avg=(valgrind --tool=callgrind "--callgrind-out-file=$WORK/acg-$tag")
  if [ -n "$K_ACPU" ] && [ ${#PIN_A[@]} -gt 0 ]; then pin_a=(taskset -c "$K_ACPU"); fi
  case $BASE in
    floor)
      local fopt=()
      [ "$K_AGENTNOPIPE" = 1 ] && fopt+=(-n)
      [ "$K_SPIN" = 0 ] || fopt+=(-s "$K_SPIN")
      "${pin_a[@]}" "${avg[@]}" "$FLOOR_BIN" "${fopt[@]}" "$listen" >"$WORK/agent-$tag.log" 2>&1 &
      apid=$!; PIDS+=("$apid") ;;
    hit|nocache)
      local entries=65536
      [ "$BASE" = nocache ] && entries=0
      write_agent_cfg "$WORK/agent-$tag.json" "$listen" "$entries"
      "${pin_a[@]}" "${avg[@]}" "$AGENT_BIN" -c "$WORK/agent-$tag.json" >"$WORK/agent-$tag.log" 2>&1 &
      apid=$!; PIDS+=("$apid") ;;
  esac
  if [ -n "$apid" ]; then
    wait_listen "${aport:-$listen}" "$apid" $([ "$AGENT_CALLGRIND" = 0 ] || echo 120) || { cat "$WORK/agent-$tag.log" >&2; die "$v: the agent did not start"; }
  fi
  local pin_h=("${PIN_H[@]}") vg=()
  # More threads than the one CPU: HAProxy gets wrk's CPU too.
  if [ "$K_NBTHREAD" -gt 1 ] && [ ${#PIN_H[@]} -gt 0 ]; then pin_h=(taskset -c "$HAPROXY_CPU,$WRK_CPU"); fi
  # --trace-children: the 3.x peers are wrappers that exec their binary.
  [ "$HAPROXY_CALLGRIND" = 0 ] ||
    vg=(valgrind --tool=callgrind --trace-children=yes "--callgrind-out-file=$WORK/cg-$tag")
  "${pin_h[@]}" "${vg[@]}" "$HAP_BIN" -db -f "$WORK/haproxy-$tag.cfg" >"$WORK/haproxy-$tag.log" 2>&1 &
  hpid=$!; PIDS+=("$hpid")
  wait_listen "$port" "$hpid" $([ "$HAPROXY_CALLGRIND" = 0 ] || echo 120) || { cat "$WORK/haproxy-$tag.log" >&2; die "$v: HAProxy did not start"; }

  # Correctness gate: the path measured is the success path.
  local i code=""
  for i in $(seq 50); do
    code=$(http_code "$port" "$WORK/valid.jwt")
    [ "$code" = 200 ] && break
    sleep 0.1
  done
  [ "$code" = 200 ] || die "$v: a valid token gets HTTP $code, not 200"
  case $BASE in
    native|hit|nocache)
      local t x e m
      t=$(http_code "$port" "$WORK/tampered.jwt")
      x=$(http_code "$port" "$WORK/expired.jwt")
      m=$(http_code "$port")
      [ "$t/$x/$m" = 401/401/401 ] ||
        die "$v: tampered/expired/missing token get $t/$x/$m, not 401/401/401" ;;
  esac

  local h0 h1 a0=0 a1=0 c0 c1 out rc wpid ppid=""
  [ -z "$sock" ] || hap_cli "$sock" "show activity" >"$WORK/activity0-$tag.txt" 2>&1 || true
  if [ -n "$PERF_EVENTS" ]; then
    perf stat -x, -e "$PERF_EVENTS" -o "$WORK/perf-$tag.csv" -p "$hpid" >/dev/null 2>&1 &
    ppid=$!; PIDS+=("$ppid")
    sleep 0.3
  fi
  local acg=0
  [ "$AGENT_CALLGRIND" = 0 ] || [ -z "$apid" ] || acg=1
  if [ "$HAPROXY_CALLGRIND" != 0 ] || [ "$acg" = 1 ]; then
    # Warm up first (the agent connections, HAProxy's pools), unmeasured.
    BENCH_TOKEN=$TOKEN "${PIN_W[@]}" timeout -k 5 60 "$WRK" -t"$WRK_THREADS" -c"$CONNS" -d3s \
      -s "$WORK/result.lua" "http://127.0.0.1:$port$URL_PATH" >/dev/null 2>&1 || true
    [ "$HAPROXY_CALLGRIND" = 0 ] || cg_dump "$hpid" "$WORK/cg-$tag" 1
    [ "$acg" = 0 ] || cg_dump "$apid" "$WORK/acg-$tag" 1
  fi
  h0=$(proc_ticks "$hpid"); [ -n "$apid" ] && a0=$(proc_ticks "$apid")
  read -r -a c0 < <(cpu_ticks "$HAPROXY_CPU")
  BENCH_TOKEN=$TOKEN "${PIN_W[@]}" timeout -k 5 $((DURATION + 30)) "$WRK" \
    -t"$WRK_THREADS" -c"$CONNS" -d"${DURATION}s" -s "$WORK/result.lua" \
    "http://127.0.0.1:$port$URL_PATH" >"$WORK/wrk-$tag.out" 2>&1 &
  wpid=$!; PIDS+=("$wpid")
  rc=0; wait "$wpid" || rc=$?
  forget "$wpid"
  h1=$(proc_ticks "$hpid"); [ -n "$apid" ] && a1=$(proc_ticks "$apid")
  read -r -a c1 < <(cpu_ticks "$HAPROXY_CPU")
  [ "$HAPROXY_CALLGRIND" = 0 ] || cg_dump "$hpid" "$WORK/cg-$tag" 2
  [ "$acg" = 0 ] || cg_dump "$apid" "$WORK/acg-$tag" 2
  kill -0 "$hpid" 2>/dev/null || die "$v: HAProxy died during the run"
  [ -z "$apid" ] || kill -0 "$apid" 2>/dev/null || die "$v: the agent died during the run"
  [ -z "$sock" ] || hap_cli "$sock" "show activity" >"$WORK/activity1-$tag.txt" 2>&1 || true
  if [ -n "$ppid" ]; then
    kill -INT "$ppid" 2>/dev/null || true
    wait "$ppid" 2>/dev/null || true
    forget "$ppid"
  fi
  stop_pid "$hpid"
  [ -z "$apid" ] || stop_pid "$apid"

  out=$(grep '^RESULT' "$WORK/wrk-$tag.out") || { cat "$WORK/wrk-$tag.out" >&2; die "$v: wrk failed (exit $rc)"; }
  local requests secs non2xx sockerr p50_us p99_us
  eval "$(echo "${out#RESULT }" | tr ' ' '\n' | grep -E '^[a-z0-9_]+=[0-9.]+$')"
  [ "$requests" -gt 0 ] || die "$v: wrk completed no request"
  local valid=yes
  if [ "$non2xx" != 0 ] || [ "$sockerr" != 0 ]; then
    valid=no
    say "  WARNING: $v round $r: $non2xx non-2xx answers, $sockerr socket errors: run left out" >&2
  fi
  # Optional counters per request: HAProxy's own (show activity) and perf's.
  local extra="" k x0 x1
  if [ -n "$sock" ]; then
    for k in ctxsw tasksw stream_calls; do
      x0=$(awk -v k="$k:" '$1 == k { print $2; exit }' "$WORK/activity0-$tag.txt" 2>/dev/null)
      x1=$(awk -v k="$k:" '$1 == k { print $2; exit }' "$WORK/activity1-$tag.txt" 2>/dev/null)
      if [ -n "$x0" ] && [ -n "$x1" ]; then
        extra+=" $k=$(awk -v a="$x0" -v b="$x1" -v n="$requests" 'BEGIN { printf "%.2f", (b - a) / n }')"
      fi
    done
  fi
  # The floor agent's own counters (printed at exit): connections it was
  # given, and how many NOTIFYs each of its reads brought.
  if [ "$BASE" = floor ]; then
    extra+=$(awk '/^floor: / { for (i = 2; i <= NF; i++) { split($i, kv, "="); c[kv[1]] = kv[2] }
      if (c["reads"] > 0) printf " agent_conns=%d notifies_per_read=%.2f", c["connections"] - c["healthchecks"], c["notifies"] / c["reads"]
      # (not with the callgrind warm-up: the agent counted its requests too)
      if (c["reads"] > 0 && !cg) printf " notifies_per_req=%.3f", c["notifies"] / n }' \
      n="$requests" cg=$([ "$HAPROXY_CALLGRIND$acg" = 00 ] && echo 0 || echo 1) "$WORK/agent-$tag.log")
  fi
  if [ "$HAPROXY_CALLGRIND" != 0 ]; then
    extra+=$(awk -v n="$requests" '$1 == "summary:" || $1 == "totals:" { t = $2 } END { if (t != "") printf " ir=%.0f", t / n }' \
      "$WORK/cg-$tag.2")
  fi
  if [ "$acg" = 1 ]; then
    extra+=$(awk -v n="$requests" '$1 == "summary:" || $1 == "totals:" { t = $2 } END { if (t != "") printf " agent_ir=%.0f", t / n }' \
      "$WORK/acg-$tag.2")
  fi
  if [ -n "$PERF_EVENTS" ] && [ -f "$WORK/perf-$tag.csv" ]; then
    extra+=$(awk -F, -v n="$requests" '$1 ~ /^[0-9]+$/ { e = $3; gsub(/[^A-Za-z0-9_]/, "_", e); printf " %s=%.2f", e, $1 / n }' "$WORK/perf-$tag.csv")
  fi
  local row
  row=$(awk -v v="$v" -v r="$r" -v n="$requests" -v s="$secs" -v hz="$(getconf CLK_TCK)" \
    -v h=$((h1 - h0)) -v a=$((a1 - a0)) -v agent="$apid" -v p50="$p50_us" -v p99="$p99_us" \
    -v cb=$((c1[0] - c0[0])) -v ct=$((c1[1] - c0[1])) -v cs=$((c1[2] - c0[2])) -v ok="$valid" \
    'BEGIN {
       hs = h / hz; other = (ct > 0 ? 100 * (cb - h) / ct : 0); if (other < 0) other = 0
       printf "%s\t%s\t%.1f\t%d\t%.3f\t%.3f\t%s\t%.1f\t%d\t%d\t%.1f\t%.1f\t%s\n", v, r, n / s, n, s,
         1e6 * hs / n, (agent == "" ? "NA" : sprintf("%.3f", 1e6 * a / hz / n)), 100 * hs / s,
         p50, p99, other, (ct > 0 ? 100 * cs / ct : 0), ok }')
  row+=$'\t'"${extra# }"
  printf '%s\n' "$row" >>"$ROWS"
  awk -F'\t' '{ printf "  round %s %-22s %9.0f req/s  HAProxy %6.2f us/req (%3.0f%% CPU)  agent %6s us/req  p99 %6.2f ms  others on HAProxy CPU %4.1f%%%s%s\n",
    $2, $1, $3, $6, $8, $7, $10 / 1000, $11, ($13 == "yes" ? "" : "  LEFT OUT"), ($14 == "" ? "" : "  per request: " $14) }' <<<"$row"
}

# ------------------------------------------------------------ main
for v in "${VLIST[@]}"; do parse_variant "$v"; done
say "== bench-e2e: HAProxy $HAP_VERSION ($HAPROXY), nbthread $NBTHREAD;" \
  "wrk -t$WRK_THREADS -c$CONNS -d${DURATION}s; $ROUNDS rounds of: ${VLIST[*]}"
say "   $NCPU CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1));" \
  "load average $(cut -d' ' -f1-3 /proc/loadavg); $PINNING"
for e in $HAPROXY_PEERS; do
  say "   @${e%%=*}: HAProxy $(hap_version "${e#*=}") (${e#*=})"
done
say "   HAProxy answers 200 itself (http-request return, no backend server);" \
  "RS256 token of $(wc -c <"$WORK/valid.jwt") bytes"
n=${#VLIST[@]}
for r in $(seq "$ROUNDS"); do
  # Each round starts one variant later, so none always runs first.
  for i in $(seq 0 $((n - 1))); do
    run_one "${VLIST[$(( (i + r - 1) % n ))]}" "$r"
  done
done
[ -z "$TSV" ] || cp "$ROWS" "$TSV"

VERSIONS=""
for e in $HAPROXY_PEERS; do VERSIONS+=" ${e%%=*}=$(hap_version "${e#*=}")"; done
python3 - "$ROWS" "$HAP_VERSION" "$NBTHREAD" "$CONNS" "$DURATION" "$VERSIONS" <<'EOF'
import csv, statistics as st, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
ver, nbt, conns, dur = sys.argv[2:6]
peer_version = dict(e.split("=", 1) for e in sys.argv[6].split())
good = [r for r in rows if r["valid"] == "yes"]
variants = list(dict.fromkeys(r["variant"] for r in rows))
by = {(r["variant"], r["round"]): r for r in good}
counters = {}
for r in good:
    for kv in (r.get("counters") or "").split():
        k, _, x = kv.partition("=")
        counters.setdefault((r["variant"], k), []).append(float(x))
ckeys = list(dict.fromkeys(k for (_, k) in counters))

def parts(v):
    """(variant without @series, "@series" or "")"""
    name, at, series = v.partition("@")
    return name, (at + series)

def ref(v, kind):
    """The variant ${v} is compared with: none, native (of its HAProxy
    when they ran) or its base (the same without +knobs; without knobs,
    the same under the default HAProxy)."""
    name, series = parts(v)
    if kind == "base":
        b = name.split("+")[0] + series
        if b != v:
            return b
        return name if series else None
    if series and kind + series in variants:
        return kind + series
    return kind

def per_round(v, other, f):
    out = []
    if other is None:
        return out
    for (vv, rd), r in by.items():
        if vv == v and (other, rd) in by:
            out.append(f(r, by[(other, rd)]))
    return out

def xrate(v, other):
    return per_round(v, other, lambda a, b: float(a["rps"]) / float(b["rps"]))

def xcap(v, other):
    """HAProxy's capacity against ${other}'s: the inverse ratio of their
    HAProxy CPU per request in the round (what one HAProxy core would
    serve, whatever held wrk or the agent back)."""
    return per_round(v, other, lambda a, b: float(b["hap_us"]) / float(a["hap_us"]))

def dcpu(v, other):
    return per_round(v, other, lambda a, b: float(a["hap_us"]) - float(b["hap_us"]))

def vals(v, k):
    return [float(r[k]) for r in good if r["variant"] == v and r[k] != "NA"]

def fmt(xs, p=2):
    if not xs:
        return "-"
    return f"{st.median(xs):.{p}f} ({min(xs):.{p}f}-{max(xs):.{p}f})"

def med(xs, p):
    return f"{st.median(xs):.{p}f}" if xs else "NA"

print(f"\n== medians over rounds, with the range; ratios are taken within each round")
print(f"   (HAProxy {ver}, nbthread {nbt}, {conns} connections, {dur} s per run)\n")
hdr = ["variant", "runs", "req/s (min-max)", "x none", "x native", "x floor", "x base",
       "HAProxy us/req", "HAProxy us - base", "cap x none", "cap x native", "cap x floor",
       "agent us/req", "p99 ms"]
show_base = any(ref(v, "base") for v in variants)
lines, machine = [], []
for v in variants:
    rps = vals(v, "rps")
    hap, ag, p99 = vals(v, "hap_us"), vals(v, "agent_us"), vals(v, "p99_us")
    xn, xnat = xrate(v, ref(v, "none")), xrate(v, ref(v, "native"))
    xfl = xrate(v, ref(v, "floor"))
    cn, cnat, cfl = (xcap(v, ref(v, k)) for k in ("none", "native", "floor"))
    xb, db = xrate(v, ref(v, "base")), dcpu(v, ref(v, "base"))
    lines.append([v, str(len(rps)),
                  f"{st.median(rps):.0f} ({min(rps):.0f}-{max(rps):.0f})" if rps else "-",
                  fmt(xn), fmt(xnat), fmt(xfl), fmt(xb), fmt(hap), fmt(db),
                  fmt(cn), fmt(cnat), fmt(cfl), fmt(ag),
                  f"{st.median(p99) / 1000:.2f}" if p99 else "-"])
    m = [f"variant={v}", f"haproxy={peer_version.get(parts(v)[1][1:], ver)}", f"nbthread={nbt}", f"conns={conns}",
         f"secs={dur}", f"runs={len(rps)}", f"rps={med(rps, 1)}"]
    if rps:
        m += [f"rps_min={min(rps):.1f}", f"rps_max={max(rps):.1f}"]
    for name, xs, p in (("x_none", xn, 3), ("x_native", xnat, 3), ("x_floor", xfl, 3), ("x_base", xb, 3),
                        ("hap_us", hap, 3), ("hap_us_d_base", db, 3), ("cap_none", cn, 3),
                        ("cap_native", cnat, 3), ("cap_floor", cfl, 3), ("agent_us", ag, 3)):
        m.append(f"{name}={med(xs, p)}")
        if xs:
            m += [f"{name}_min={min(xs):.{p}f}", f"{name}_max={max(xs):.{p}f}"]
    m.append(f"p99_us={med(p99, 0)}")
    m += [f"{k}={med(counters[(v, k)], 2)}" for k in ckeys if (v, k) in counters]
    machine.append("E2E " + " ".join(m))
if not show_base:
    hdr = [h for i, h in enumerate(hdr) if i not in (6, 8)]
    lines = [[c for i, c in enumerate(x) if i not in (6, 8)] for x in lines]
w = [max(len(x[i]) for x in lines + [hdr]) for i in range(len(hdr))]
for x in [hdr] + lines:
    print("  ".join(c.ljust(w[i]) for i, c in enumerate(x)).rstrip())
print("\n(x none, x native, x floor: requests/s of the variant divided by that of")
print(" none, native, floor in the same round." + (" x base, HAProxy us - base: against the" if show_base else ""))
if show_base:
    print(" variant without its +knobs, or without @series, in the same round.")
print(" cap x none, x native, x floor: their HAProxy CPU per request divided by")
print(" the variant's, in the same round: HAProxy's capacity with the variant")
print(" against theirs, whatever held wrk or the agent back.)")
if ckeys:
    print("\nper request (medians over rounds):")
    kw = max(len(v) for v in variants)
    for v in variants:
        print("  " + v.ljust(kw) + "  " + "  ".join(
            f"{k} {st.median(counters[(v, k)]):.2f}" for k in ckeys if (v, k) in counters))
print()
for m in machine:
    print(m)
EOF
