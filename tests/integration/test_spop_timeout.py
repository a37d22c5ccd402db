"""timeout processing expiry on each HAProxy version.

The agent parks requests whose token names an unknown kid for up to
park_timeout_ms, here 1.5 s longer than iam.spoe.conf's timeout
processing, and the provider hangs on the key refetch.  HAProxy must
give up on them after timeout processing (503, txn.iam.err = 1) while other
requests on the same connections keep getting their answers; the agent's
late ACKs, for streams HAProxy no longer waits for, must not cost a
protocol error or the connection, and traffic goes on.  haproxy.cfg's
iam-retry engine does not ask again after a processing timeout: the agent
may have decided such a request (README, DPoP "Retries": a DPoP proof
asked about twice would come back dpop_replayed).
"""
import os
import threading
import time

from harness import (SLOW, Agent, EchoBackend, HAProxy, SpopTap, agent_metrics, check,
                     check_eq, curl, fact, finish, haproxy_version, log, pki,
                     spoe_timeout_processing, wait_for)
from idp import IdP, metric
from tokens import Key, mint

AUD = "api://orders"
TP = spoe_timeout_processing()
PARK_MS = int(TP * 1000) + 1500
idp = IdP()
echo = EchoBackend()
GOOD = mint(idp.keys[0], iss=idp.issuer, aud=AUD)
GHOST = mint(Key("RS256", "ghost"), iss=idp.issuer, aud=AUD)     # never published

agent = Agent({
    "park_timeout_ms": PARK_MS,
    "fetch": {"refresh_min_s": 600, "refresh_max_s": 1200, "backoff_max_s": 1,
              "ca_file": os.path.join(pki(), "ca.pem"),
              "connect_timeout_ms": 1000, "timeout_ms": 8000},
    "issuers": [{"name": "idp", "issuer": idp.issuer, "audiences": [AUD],
                 "algorithms": ["RS256"], "jwks_url": idp.base + "/keys"}],
    "routes": [{"name": "health", "path_prefix": "/healthz", "require": "none"},
               {"name": "orders", "path_prefix": "/orders", "require": "jwt",
                "issuers": ["idp"]}],
}).start()
tap = SpopTap(agent.spoe_addr)
hap = HAProxy(tap.addr, echo.addr, expose_err=True).start()
P = hap.port
log(f"HAProxy {haproxy_version()}: timeout processing {TP:g} s, agent parks {PARK_MS} ms")


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


def metrics():
    m = agent_metrics(agent)
    m.setdefault("spoa_iam_protocol_errors_total", 0)
    return m


check(wait_for(lambda: curl(P, "/orders/ok", headers=bearer(GOOD)).status == 200,
               timeout=15), "a valid token passes")

log("requests the agent holds past timeout processing")
idp.docs["/keys"].mode = "hang"
m0 = metrics()
n0 = tap.stats()["notifies"]
N = 4
slow = [None] * N


def one(i):
    t0 = time.time()
    r = curl(P, f"/orders/parked{i}", headers=bearer(GHOST))
    slow[i] = (r.status, time.time() - t0, r.headers.get("x-spoe-err"),
               r.headers.get("x-spoe-ptime"))


ts = [threading.Thread(target=one, args=(i,)) for i in range(N)]
for t in ts:
    t.start()
check(wait_for(lambda: metrics()["spoa_iam_parked_total"] - m0["spoa_iam_parked_total"] >= N,
               timeout=3, step=0.02), f"{N} requests parked in the agent")
fast = []
for i in range(5):
    t0 = time.time()
    r = curl(P, f"/orders/meanwhile{i}", headers=bearer(GOOD))
    fast.append((r.status, time.time() - t0))
for t in ts:
    t.join()
log(f"  parked: {[(s, round(d, 2), e, p) for s, d, e, p in slow]}")
log(f"  meanwhile: {[(s, round(d, 2)) for s, d in fast]}")
fact("timeout_err", ",".join(sorted({str(e) for _, _, e, _ in slow})))
fact("timeout_after_s", f"{max(d for _, d, _, _ in slow):.2f}")
check(all(s == 503 for s, _, _, _ in slow), f"every held request 503: {[s for s, *_ in slow]}")
check(all(e == "1" for _, _, e, _ in slow), "... with txn.iam.err = 1 (processing timeout)")
check(all(TP - 0.1 <= d < TP * SLOW + 0.8 for _, d, _, _ in slow),
      f"... after about {TP:g} s: {[round(d, 2) for _, d, _, _ in slow]}")
check(all(s == 200 for s, _ in fast), f"requests meanwhile all 200: {[s for s, _ in fast]}")
check_eq(tap.stats()["notifies"] - n0, N + len(fast),
         "one NOTIFY per request: the iam-retry engine did not ask again after the timeout")
check(all(d < 0.8 * SLOW for _, d in fast),
      f"... without waiting behind the held ones: {[round(d, 2) for _, d in fast]}")

log("the agent's late ACKs arrive; the connections and traffic carry on")
check(wait_for(lambda: metrics()["spoa_iam_parked_timeouts_total"] -
               m0["spoa_iam_parked_timeouts_total"] >= N, timeout=PARK_MS / 1000 + 3),
      "the agent answered the held requests at its own deadline")
late = wait_for(lambda: tap.stats()["acks"] >= tap.stats()["notifies"], timeout=3)
check(late, "every NOTIFY got an ACK on the wire, the late ones included")
time.sleep(0.3)
conns = [tap.connection_of(f"/orders/parked{i}") for i in range(N)]
kept = sum(1 for c in conns if c is not None and c.closed is None)
disc = [c.haproxy_disconnect for c in tap.conns if c.haproxy_disconnect]
log(f"  connections that carried late ACKs: {kept} of {len(conns)} still open; "
    f"HAPROXY-DISCONNECTs: {disc}")
fact("late_ack_connection", "kept" if kept == len(conns) else f"closed {len(conns) - kept}")
check(all(st == 0 for st, _ in disc), f"no HAPROXY-DISCONNECT with an error status: {disc}")
m1 = metrics()
check_eq(m1["spoa_iam_protocol_errors_total"], 0, "no protocol error in the agent")
st = [curl(P, f"/orders/after{i}", headers=bearer(GOOD)).status for i in range(10)]
check(all(s == 200 for s in st), f"10 requests after the late ACKs all 200: {st}")
idp.docs["/keys"].mode = "ok"
idp._release.set()

hap.stop()
rc = agent.stop()
check_eq(rc, 0, "agent exits 0 on SIGTERM")
finish()
