"""In-flight requests when the agent restarts, on each HAProxy version.

Requests are held inside the agent: their token names an unknown kid of a
known issuer, so the agent parks them and asks for the issuer's keys again,
and the provider (idp.py) hangs on that refetch; each is answered at the
park deadline (park_timeout_ms, 500 ms here, below iam.spoe.conf's timeout
processing) with key_unknown (401).

 - SIGTERM while they are parked: the agent answers them before it sends
   AGENT-DISCONNECT and exits, and HAProxy gives each its real answer
   (401), not a 503 (3.1+ multiplexer: an ACK just before the close must
   still count).
 - SIGKILL while they are parked: each fails closed (503, txn.iam.err
   set), none passes, none waits longer than timeout processing.
 - After each restart, traffic flows at once on new connections (no
   request fails on a stale pooled connection).
"""
import os
import signal
import threading
import time

from harness import (SLOW, Agent, EchoBackend, HAProxy, check, check_eq, curl, fact,
                     finish, log, pki, spoe_timeout_processing, tmpdir, wait_for)
from idp import IdP, metric
from tokens import Key, mint

AUD = "api://orders"
TP = spoe_timeout_processing()
SOCK = os.path.join(tmpdir(), "spop.sock")
idp = IdP()
echo = EchoBackend()
GOOD = mint(idp.keys[0], iss=idp.issuer, aud=AUD)


def config():
    return {
        "park_timeout_ms": 500,
        "fetch": {"refresh_min_s": 600, "refresh_max_s": 1200, "backoff_max_s": 1,
                  "ca_file": os.path.join(pki(), "ca.pem"),
                  "connect_timeout_ms": 1000, "timeout_ms": 5000},
        "issuers": [{"name": "idp", "issuer": idp.issuer, "audiences": [AUD],
                     "algorithms": ["RS256"], "jwks_url": idp.base + "/keys"}],
        "routes": [{"name": "health", "path_prefix": "/healthz", "require": "none"},
                   {"name": "orders", "path_prefix": "/orders", "require": "jwt",
                    "issuers": ["idp"]}],
    }


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


agent = Agent(config(), sock=SOCK).start()
hap = HAProxy(agent.spoe_addr, echo.addr, expose_err=True).start()
P = hap.port


def serving(what):
    check(wait_for(lambda: curl(P, "/orders/ok", headers=bearer(GOOD)).status == 200,
                   timeout=15), f"{what}: a valid token passes")
    st = [curl(P, f"/orders/seq{i}", headers=bearer(GOOD)).status for i in range(10)]
    check(all(s == 200 for s in st), f"{what}: 10 requests in a row all 200: {st}")


serving("start")


def parked_then(agent, sig, n=8):
    """${n} requests parked in ${agent}, then ${sig}; [(status, seconds,
    X-SPOE-Err)] of each and the seconds from the signal to the last answer."""
    ghost = Key("RS256", f"ghost-{sig}")            # never published
    tok = mint(ghost, iss=idp.issuer, aud=AUD)
    idp._release.clear()
    idp.docs["/keys"].mode = "hang"
    p0 = metric(agent, "spoa_iam_parked_total") or 0
    out = [None] * n

    def one(i):
        t0 = time.time()
        r = curl(P, f"/orders/parked{i}", headers=bearer(tok))
        out[i] = (r.status, time.time() - t0, r.headers.get("x-spoe-err"))

    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    parked = wait_for(lambda: (metric(agent, "spoa_iam_parked_total") or 0) - p0 >= n,
                      timeout=3, step=0.02)
    check(parked, f"{n} requests parked in the agent")
    t_sig = time.time()
    agent.send_signal(sig)
    for t in ts:
        t.join()
    last = time.time() - t_sig
    idp.docs["/keys"].mode = "ok"
    idp._release.set()
    return out, last


log("SIGTERM while requests are parked: each gets its real answer")
got, last = parked_then(agent, signal.SIGTERM)
statuses = sorted(s for s, _, _ in got)
log(f"  answers {statuses}, the last {last:.2f} s after SIGTERM")
fact("sigterm_parked_statuses", ",".join(str(s) for s in statuses))
check(all(s == 401 for s, _, _ in got),
      f"every parked request answered 401 (key_unknown) through the drain, "
      f"none 503: {statuses}")
rc = agent.stop(timeout=20)
check_eq(rc, 0, "agent exits 0 after draining")
out = agent.output()
check("AddressSanitizer" not in out and "runtime error" not in out,
      "no sanitizer report in the agent log")

log("agent down: fail closed")
check_eq(curl(P, "/orders/down", headers=bearer(GOOD)).status, 503,
         "a valid token gets 503 while no agent runs")

log("agent restarted")
agent = Agent(config(), name="agent2", sock=SOCK).start()
serving("after the SIGTERM restart")

log("SIGKILL while requests are parked: each fails closed")
got, last = parked_then(agent, signal.SIGKILL)
statuses = sorted(s for s, _, _ in got)
errs = sorted({str(e) for _, _, e in got})
slowest = max(d for _, d, _ in got)
log(f"  answers {statuses}, X-SPOE-Err {errs}, the last {last:.2f} s after SIGKILL")
fact("sigkill_parked_err", ",".join(errs))
fact("sigkill_parked_last_s", f"{last:.2f}")
check(all(s == 503 for s, _, _ in got), f"every parked request 503, none passed: {statuses}")
check(all(e not in (None, "") for _, _, e in got), "... each with txn.iam.err set")
check(last < TP * SLOW + 0.5,
      f"... within timeout processing ({TP:g} s) of the kill: {last:.2f} s")
check_eq(echo.hits, 1 + 10 + 1 + 10, "no parked request reached the backend")
agent.stop()

agent = Agent(config(), name="agent3", sock=SOCK).start()
serving("after the SIGKILL restart")
rc = agent.stop()
check_eq(rc, 0, "agent exits 0 on SIGTERM")
hap.stop()
finish()
