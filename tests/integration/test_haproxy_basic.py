"""Debian's haproxy with haproxy-conf/haproxy.cfg + iam.spoe.conf in front
of an HTTPS echo backend (the APIM stand-in), and the agent: route
decisions, injected and stripped headers, fail-closed when the agent is
killed, recovery on restart, SIGHUP reloads (good and bad).
"""
import json
import os
import signal
import time

from harness import (Agent, EchoBackend, HAProxy, check, check_eq, curl, finish,
                     log, tmpdir, wait_for)

ROUTES = [
    {"name": "health", "path_prefix": "/healthz", "methods": ["GET"], "require": "none"},
    {"name": "local-only", "path_prefix": "/internal", "require": "none",
     "source_cidrs": ["10.0.0.0/8"]},
    {"name": "loopback", "host": "api.example.com", "path_prefix": "/public/",
     "require": "none", "source_cidrs": ["127.0.0.0/8", "::1/128"]},
]

echo = EchoBackend()
# The restarted agent below takes over the address HAProxy uses: a unix
# socket in this test's directory, not a TCP port, which another test could
# take while no agent holds it.  (The other HAProxy tests use TCP.)
SOCK = os.path.join(tmpdir(), "spop.sock")
agent = Agent({"routes": ROUTES}, sock=SOCK).start()
hap = HAProxy(agent.spoe_addr, echo.addr)
rc, out = hap.check_config()
check(rc == 0, f"haproxy -c accepts the example config ({hap.version()})")
if rc != 0:
    print(out)
hap.start()
P = hap.port


def up():
    return curl(P, "/healthz").status == 200


check(wait_for(up, timeout=15), "traffic flows once HAProxy sees the agent up")

log("decisions through HAProxy")
r = curl(P, "/healthz", headers={"X-IAM-Sub": "admin", "X-Iam-Route": "forged"})
check_eq(r.status, 200, "require:none route -> 200")
check_eq(r.backend_header("x-iam-route"), "health", "X-IAM-Route injected from txn.iam.route")
check_eq(r.backend_header("x-iam-sub"), None, "client-sent X-IAM-Sub removed before APIM")
check(r.backend_header("x-request-id") not in (None, ""), "unique id forwarded as X-Request-ID")

r = curl(P, "/healthz", method="POST")
check_eq(r.status, 403, "method not in the route -> no_route 403")
r = curl(P, "/nothing-here")
check_eq(r.status, 403, "no route -> 403")
r = curl(P, "/internal/x")
check_eq(r.status, 403, "source 127.0.0.1 outside 10.0.0.0/8 -> 403")
r = curl(P, "/public/x", host="api.example.com")
check_eq(r.status, 200, "host + loopback source allowed")
r = curl(P, "/public/x", host="other.example.com")
check_eq(r.status, 403, "other host -> no_route")
r = curl(P, "/public/../internal/x", host="api.example.com")
check_eq(r.status, 403, "dot-segment path cannot borrow the /public/ route")
r = curl(P, "/healthz", headers={"Authorization": "Bearer a", "authorization": "Bearer b"})
check_eq(r.status, 400, "two Authorization headers refused by haproxy.cfg")
hits_before = echo.hits

log("fail closed: agent killed -> 503, never 200")
agent.kill()
statuses = [curl(P, "/healthz").status for _ in range(15)]
check(all(s == 503 for s in statuses), f"every request 503 while the agent is down: {statuses}")
check_eq(echo.hits, hits_before, "nothing reached the backend while the agent was down")

log("agent restarted -> traffic flows again")
agent2 = Agent({"routes": ROUTES}, name="agent2", sock=SOCK)
agent2.start()
check(wait_for(up, timeout=15), "200 again after restart")

log("SIGHUP reload: new routes apply, a bad config is refused")
cfg = dict(agent2.config)
cfg["routes"] = ROUTES + [{"name": "added", "path_prefix": "/added", "require": "none"}]
agent2.write_config(cfg)
agent2.send_signal(signal.SIGHUP)
check(wait_for(lambda: curl(P, "/added").status == 200, timeout=10),
      "route added by SIGHUP reload serves 200")
good = dict(cfg)
bad = dict(cfg)
bad["routes"] = [{"name": "x", "require": "sometimes"}]
agent2.write_config(bad)
agent2.send_signal(signal.SIGHUP)
check(wait_for(lambda: "reload: rejected" in agent2.output(), timeout=10),
      "invalid reload logged as rejected")
check("routes[0].require" in agent2.output(), "reload error names the JSON path")
check_eq(curl(P, "/added").status, 200, "old config still serving after a bad reload")

log("deny log line carries unique_id, route and reason")
curl(P, "/internal/zzz")
check(wait_for(lambda: "reason=source_denied" in agent2.output(), timeout=5),
      "denied request logged with its reason")
line = [l for l in agent2.output().splitlines() if "reason=source_denied" in l][-1]
check("route=local-only" in line and "unique_id=" in line and "unique_id=-" not in line,
      f"deny line has route and unique_id: {line}")

rc = agent2.stop()
check_eq(rc, 0, "agent exits 0 on SIGTERM")
hap.stop()
finish()
