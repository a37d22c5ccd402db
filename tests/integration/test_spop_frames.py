"""Frames at the negotiated max-frame-size, on each HAProxy version.

The negotiated size is the smaller of HAProxy's (iam.spoe.conf
max-frame-size, default tune.bufsize - 4) and the agent's
(max_frame_size).  It is set to 4096 from each side in turn:

 - agent side: the agent announces 4096, HAProxy offers 16380 (3.1.x
   before 3.2 sent frames above the agent's size);
 - HAProxy side: iam.spoe.conf says max-frame-size 4096, the agent 65532.

In both, through a SpopTap that measures each frame:
 - NOTIFY: the largest request HAProxy sends is at most 4096 bytes and
   close to it, carries the Authorization header whole, and is answered;
   a larger one fails alone (503, txn.iam.err set) and is not sent, with
   no protocol error and no connection lost;
 - ACK: an answer whose identity variables fit is sent whole, at most
   4096 bytes and close to it, and HAProxy takes it; one that would not
   fit is refused whole (403 identity_unsendable), never an allow with
   part of the identity.

And once more without iam.spoe.conf's "no option send-frag-payload": 2.6
and 3.0 then try to fragment the oversize request, and, the agent having
offered no fragmentation, tear the connection down (HAPROXY-DISCONNECT
10) with the requests in flight on it; 3.1+ ignores the keyword.
"""
import json
import os
import threading
import time

from harness import (Agent, EchoBackend, HAProxy, SpopTap, agent_metrics, check,
                     check_eq, curl, fact, finish, log, spop_mux, tmpdir, wait_for)
from tokens import Key, jwks, mint

MAX = 4096
NEAR = 48           # "close to the maximum": within this many bytes
AUD = "api://orders"
ISS = "https://frames.idp.example"
key = Key("ES256", "es-1")
KEYS = os.path.join(tmpdir(), "keys.json")
with open(KEYS, "w") as f:
    json.dump(jwks(key), f)

ROUTES = [
    {"name": "health", "path_prefix": "/healthz", "require": "none"},
    {"name": "open", "path_prefix": "/open", "require": "none"},
    {"name": "slow", "path_prefix": "/slow", "require": "none"},
    {"name": "roles", "path_prefix": "/roles", "require": "jwt",
     "claims_to_vars": ["roles", "scp"]},
]
CONFIG = {
    "max_token_bytes": 16384,
    "issuers": [{"name": "idp", "issuer": ISS, "jwks_file": KEYS, "audiences": [AUD],
                 "algorithms": ["ES256"]}],
    "routes": ROUTES,
}

echo = EchoBackend()
seq = [0]


def path(prefix):
    """A new path, always as long (the NOTIFY size is then a function of
    the Authorization header alone)."""
    seq[0] += 1
    return f"/{prefix}/r{seq[0]:06d}"


def words(n, prefix):
    """Space-separated words, ${n} characters in all."""
    out, left = [], n
    while left > 0:
        take = min(31, left)
        if left - take == 1:        # no one-character tail: a word plus its space
            take -= 1
        out.append((prefix + "%030d" % len(out))[:take])
        left -= take + 1
    return out


ROLES = words(1000, "r")


def big_token(n):
    """A token whose roles join to 1000 characters and whose scp is ${n}
    long: the answer carries each twice (roles and claim_roles, scopes and
    claim_scp), so it can reach the frame size while the token itself
    stays well under the NOTIFY limit."""
    return mint(key, iss=ISS, aud=AUD, claims={"roles": ROLES, "scp": " ".join(words(n, "s"))})


def largest(lo, hi, passes):
    """The largest n in [lo, hi] for which passes(n), passes(lo) being true
    and passes(hi) false (a monotone predicate)."""
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if passes(mid):
            lo = mid
        else:
            hi = mid
    return lo


def oversize_among_others(P, tap, side):
    """An oversize request while six others wait for their ACK (held 0.5 s
    at the tap, so they are in flight on the connections): (its status,
    the others' statuses, HAPROXY-DISCONNECT status codes seen)."""
    res = {}

    def slow(i):
        res[i] = curl(P, path("slow")).status

    before = {c.id for c in tap.conns if c.haproxy_disconnect}
    ts = [threading.Thread(target=slow, args=(i,)) for i in range(6)]
    for th in ts:
        th.start()
    time.sleep(0.2)
    big = curl(P, path("open"), headers={"Authorization": "Bearer " + "a" * (MAX + 500)})
    for th in ts:
        th.join()
    time.sleep(0.1)
    disc = [c.haproxy_disconnect[0] for c in tap.conns
            if c.haproxy_disconnect and c.id not in before]
    log(f"  {side}: oversize request {big.status} (X-SPOE-Err {big.headers.get('x-spoe-err')}),"
        f" requests in flight {sorted(res.values())}, HAPROXY-DISCONNECT {disc}")
    return big.status, sorted(res.values()), disc


def hold_slow(args):
    return 0.5 if str(args.get("path", "")).startswith("/slow/") else 0


def scenario(side, agent_cfg, spoe_edit, full=True):
    log(f"--- negotiated {MAX} bytes, set on the {side} side")
    agent = Agent(dict(CONFIG, **agent_cfg), name=f"agent-{side}").start()
    tap = SpopTap(agent.spoe_addr, ack_delay=hold_slow)

    def edit(text):
        text = text.replace("register-var-names allow status reason",
                            "register-var-names claim_roles claim_scp allow status reason")
        return spoe_edit(text)

    hap = HAProxy(tap.addr, echo.addr, name=f"haproxy-{side}", spoe_edit=edit,
                  expose_err=True).start()
    P = hap.port
    check_eq(curl(P, "/healthz").status, 200, f"{side}: traffic flows")
    hello = next((c.agent_hello for c in tap.conns if c.spop and c.agent_hello), {})
    check_eq(hello.get("max-frame-size"), MAX, f"{side}: AGENT-HELLO max-frame-size")

    big, others, disc = oversize_among_others(P, tap, side)
    if not full:
        # iam.spoe.conf without "no option send-frag-payload".
        fact("oversize_without_no_send_frag_payload",
             f"HAPROXY-DISCONNECT {disc[0]}, {others.count(503)} of 6 in flight failed"
             if disc else f"fails alone, {others.count(503)} of 6 in flight failed")
        check_eq(big, 503, f"{side}: the oversize request fails")
        if spop_mux():
            check(not disc and others == [200] * 6,
                  f"{side}: 3.1+ ignores the keyword: the oversize request fails alone")
        else:
            # The reason iam.spoe.conf keeps the keyword (2.6 and 3.0).
            check(10 in disc, f"{side}: before 3.1 HAProxy tries to fragment, the agent "
                              f"offered no fragmentation: HAPROXY-DISCONNECT 10 ({disc})")
        hap.stop()
        check_eq(agent.stop(), 0, f"{side}: agent exits 0 on SIGTERM")
        tap.close()
        return
    check(big == 503 and others == [200] * 6 and not disc,
          f"{side}: an oversize request fails alone, the six in flight with it pass, "
          f"no connection is torn down")

    # NOTIFY: an Authorization header of n characters.
    sent = {}

    def notify_passes(n):
        p = path("open")
        authz = "Bearer " + "a" * (n - 7)
        r = curl(P, p, headers={"Authorization": authz})
        sent[n] = (p, authz, r)
        return r.status == 200

    check(notify_passes(1000), f"{side}: a 1000-byte Authorization passes")
    check(not notify_passes(MAX + 200), f"{side}: a {MAX + 200}-byte one does not")
    n = largest(1000, MAX + 200, notify_passes)
    p, authz, r = sent[n]
    sizes = tap.sizes_for(p)
    c = tap.connection_of(p)
    got = c.notify_args.get(next(k for k, a in c.notify_args.items()
                                 if a.get("path") == p)) if c else {}
    log(f"  largest Authorization that passes: {n} bytes, NOTIFY {sizes and sizes[0]} bytes")
    fact(f"notify_max_{side}", sizes and sizes[0])
    check(sizes is not None and MAX - NEAR <= sizes[0] <= MAX,
          f"{side}: the largest NOTIFY sent is at most {MAX} and within {NEAR} of it: "
          f"{sizes and sizes[0]}")
    if side == "agent" and spop_mux():
        # 3.1+ fills frames up to the agent's announced size exactly (2.6
        # and 3.0 keep some headroom): a frame of exactly max-frame-size
        # bytes must be taken and answered (the strict rule counts every
        # byte after the length; equal is allowed).
        check_eq(sizes and sizes[0], MAX,
                 f"{side}: 3.1+: a NOTIFY of exactly {MAX} bytes is sent and answered")
    check(got.get("authz") == authz, f"{side}: ... carrying the Authorization header whole")
    check_eq(r.backend_header("x-iam-route"), "open", f"{side}: ... and answered")
    over = []
    for extra in (1, 16, 500):
        if (n + extra) not in sent:
            notify_passes(n + extra)
        pb, _, rb = sent[n + extra]
        over.append((extra, rb.status, rb.headers.get("x-spoe-err"), tap.sizes_for(pb)))
    log(f"  over the limit: {over}")
    fact(f"notify_over_err_{side}", ",".join(sorted({str(e) for _, _, e, _ in over})))
    check(all(st == 503 and e not in (None, "") for _, st, e, _ in over),
          f"{side}: larger requests fail closed with txn.iam.err set: {over}")
    check(all(sz is None for _, _, _, sz in over),
          f"{side}: ... and are never sent to the agent")

    # ACK: four identity values that grow with the token's scp.
    acked = {}

    def ack_whole(n):
        p = path("roles")
        r = curl(P, p, headers={"Authorization": "Bearer " + big_token(n)})
        acked[n] = (p, r)
        return (r.status == 200 and r.backend_header("x-iam-roles") is not None and
                r.backend_header("x-iam-scopes") is not None)

    check(ack_whole(100), f"{side}: an answer with a 100-character scp is sent whole")
    check(not ack_whole(1020), f"{side}: one with a 1020-character scp is not")
    n = largest(100, 1020, ack_whole)
    p, r = acked[n]
    sizes = tap.sizes_for(p)
    log(f"  largest scp answered whole: {n} characters, NOTIFY {sizes and sizes[0]}, "
        f"ACK {sizes and sizes[1]} bytes")
    fact(f"ack_max_{side}", sizes and sizes[1])
    check(sizes is not None and sizes[1] is not None and MAX - NEAR <= sizes[1] <= MAX,
          f"{side}: the largest whole ACK is at most {MAX} and within {NEAR} of it: "
          f"{sizes and sizes[1]}")
    check(r.backend_header("x-iam-roles") == " ".join(ROLES) and
          r.backend_header("x-iam-scopes") == " ".join(words(n, "s")),
          f"{side}: ... and HAProxy applied it (X-IAM-Roles, X-IAM-Scopes whole)")
    if (n + 1) not in acked:
        ack_whole(n + 1)
    p, r = acked[n + 1]
    sizes = tap.sizes_for(p)
    check_eq(r.status, 403, f"{side}: one byte more: refused whole, not allowed in part")
    check(sizes is not None and sizes[1] is not None and sizes[1] < 300,
          f"{side}: ... a short ACK: {sizes}")
    # Lines reach the log through a writer thread: a moment after the ACK.
    check(wait_for(lambda: any(f"path={p} " in line and "reason=identity_unsendable" in line
                               for line in agent.output().splitlines()), timeout=5),
          f"{side}: the agent logged it as identity_unsendable")

    m = agent_metrics(agent)
    check_eq(m.get("spoa_iam_protocol_errors_total", 0), 0, f"{side}: no protocol error")
    s = tap.stats()
    check(s["open"] == s["connections"] and not any(c.agent_disconnect for c in tap.conns),
          f"{side}: no connection lost or disconnected: {s}")
    check_eq(curl(P, path("open")).status, 200, f"{side}: traffic goes on")
    hap.stop()
    rc = agent.stop()
    check_eq(rc, 0, f"{side}: agent exits 0 on SIGTERM")
    tap.close()


scenario("agent", {"max_frame_size": MAX}, lambda t: t)
scenario("haproxy", {}, lambda t: t.replace("    use-backend spoa-iam\n",
                                            f"    max-frame-size {MAX}\n    use-backend spoa-iam\n"))
scenario("agent-frag", {"max_frame_size": MAX},
         lambda t: t.replace("    no option send-frag-payload\n", ""), full=False)
finish()
