"""HAProxy's SPOP connections to the agent, on each HAProxy version: how
requests spread over connections (2.6/3.0: the SPOE applets of each
thread; 3.1+: the SPOP multiplexer's pooled backend connections, reused
with up to 20 streams each) and pipelined streams: several NOTIFYs in
flight on one connection, ACKs that overtake older NOTIFYs, and every
answer going to its own request.

HAProxy reaches the agent through a SpopTap, which watches the frames and
holds the ACK of every "/slow/" request back for a while (so that more
requests pile up on a connection), changing no byte.
"""
import re

from harness import (Agent, EchoBackend, HAProxy, SpopTap, agent_metrics, check,
                     check_eq, curl, curl_many, fact, finish, haproxy_version, log,
                     spop_mux, wait_for)

# Not scaled by SLOW: HAProxy's timeout processing (iam.spoe.conf) is not
# either, and a held ACK must come back well within it.
HOLD = 0.4
ROUTES = [
    {"name": "health", "path_prefix": "/healthz", "require": "none"},
    {"name": "fast", "path_prefix": "/fast", "require": "none"},
    {"name": "slow", "path_prefix": "/slow", "require": "none"},
    {"name": "lan-only", "path_prefix": "/lan", "require": "none",
     "source_cidrs": ["10.0.0.0/8"]},
]

echo = EchoBackend()
agent = Agent({"routes": ROUTES}).start()
tap = SpopTap(agent.spoe_addr,
              ack_delay=lambda a: HOLD if str(a.get("path", "")).startswith("/slow/") else 0)
hap = HAProxy(tap.addr, echo.addr, expose_err=True, stats=True).start()
P = hap.port
m = re.search(r"^Nbthread: (\d+)", hap.cli("show info"), re.M)
THREADS = int(m.group(1)) if m else 0
log(f"HAProxy {haproxy_version()}: {'SPOP multiplexer' if spop_mux() else 'SPOE applets'}, "
    f"{THREADS} threads")
check(THREADS >= 1, "HAProxy's thread count read from the stats socket")
check(wait_for(lambda: curl(P, "/healthz").status == 200, timeout=15),
      "traffic flows through the tap once HAProxy sees the agent up")


def right(resp, path, route, status):
    """${resp} is the answer to its own request: status, and for a 200 the
    backend saw this path with this route's header."""
    if resp.status != status:
        return False
    if status != 200:
        return True
    return (resp.backend_header("x-iam-route") == route and
            (resp.json() or {}).get("path") == path)


log("sequential requests reuse the agent connections")
s0 = tap.stats()
for i in range(20):
    curl(P, f"/fast/seq{i}")
s1 = tap.stats()
new = s1["connections"] - s0["connections"]
log(f"20 sequential requests: {s1['notifies'] - s0['notifies']} NOTIFYs on "
    f"{s1['connections']} connection(s) so far, {new} new")
check_eq(s1["notifies"] - s0["notifies"], 20, "one NOTIFY per request")
fact("sequential_connections", s1["connections"])
check(s1["connections"] < 21, f"sequential requests reuse connections: "
                              f"{s1['connections']} SPOP connection(s) for 21 requests")
if haproxy_version().startswith("2.6") or spop_mux():
    # 2.6: one applet per thread stays idle and takes the next request;
    # 3.1+: the idle connection goes back to the server's pool and is
    # taken again (3.0's applet engine opens more: not a rule there).
    check(s1["connections"] <= THREADS,
          f"at most one agent connection per HAProxy thread for sequential "
          f"requests: {s1['connections']} for {THREADS} threads")

log("concurrent requests: pipelined NOTIFYs, ACKs out of order, answers to the right request")
reqs = []
for i in range(48):
    kind = ("slow", "fast", "lan")[i % 3]
    reqs.append((f"/{kind}/c{i}", {"slow": "slow", "fast": "fast", "lan": "lan-only"}[kind],
                 403 if kind == "lan" else 200))
answers = curl_many(P, [p for p, _, _ in reqs], parallel=24)
wrong = [(p, a.status, a.backend_header("x-iam-route"))
         for (p, route, st), a in zip(reqs, answers) if not right(a, p, route, st)]
check(not wrong, f"48 concurrent requests (a third held 0.4 s at the tap), each with "
                 f"its own answer: wrong {wrong[:5]}")
s2 = tap.stats()
log(f"tap: {s2}")
check(s2["max_inflight"] >= 2,
      f"pipelining: up to {s2['max_inflight']} NOTIFYs in flight on one connection")
check(s2["out_of_order"] >= 1,
      f"ACKs that overtook older NOTIFYs on their connection: {s2['out_of_order']}")
check(s2["max_inflight"] <= 20,
      f"at most 20 NOTIFYs in flight per connection (max-waiting-frames on 2.6/3.0, "
      f"the mux's stream limit on 3.1+): {s2['max_inflight']}")
check_eq(s2["acks"], s2["notifies"], "every NOTIFY got its ACK")
fact("concurrent_connections", s2["connections"])

log("a burst above 20 per connection: HAProxy spreads it, nothing is lost")
burst = [f"/slow/b{i}" for i in range(60)]
answers = curl_many(P, burst, parallel=60)
bad = [(p, a.status) for p, a in zip(burst, answers) if not right(a, p, "slow", 200)]
check(not bad, f"60 requests held at once all answered right: wrong {bad[:5]}")
s4 = tap.stats()
log(f"tap after the burst: {s4}")
check(s4["max_inflight"] <= 20, f"still at most 20 in flight per connection: {s4['max_inflight']}")
log(f"connections: {s4['connections']} in all, {s4['open']} still open")
fact("burst_connections", s4["connections"])
fact("max_inflight", s4["max_inflight"])

log("the agent's own count agrees with the tap")
m = agent_metrics(agent)
s5 = tap.stats()
check_eq(m.get("spoa_iam_notify_total"), s5["notifies"],
         "spoa_iam_notify_total = NOTIFYs the tap saw")
check_eq(m.get("spoa_iam_protocol_errors_total", 0), 0, "no protocol error on any connection")

hap.stop()
rc = agent.stop()
check_eq(rc, 0, "agent exits 0 on SIGTERM")
finish()
