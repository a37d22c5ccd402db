"""option spop-check on each HAProxy version (2.6/3.0: the SPOE health
check; 3.1+: rebuilt as a tcp-check): the agent answers the health-check
HELLO and closes, HAProxy marks the server UP; a killed agent is marked
DOWN and requests fail closed (503) without waiting; a listener that is
not an SPOP agent never passes the check; a restarted agent is UP again.
"""
import os
import signal
import socket
import threading
import time

from harness import (SLOW, Agent, EchoBackend, HAProxy, agent_metrics, check, check_eq,
                     curl, fact, finish, haproxy_version, log, spoe_timeout_processing,
                     spop_mux, tmpdir, wait_for)

ROUTES = [{"name": "open", "path_prefix": "/", "require": "none"}]
TP = spoe_timeout_processing()
SOCK = os.path.join(tmpdir(), "spop.sock")


def metrics(agent):
    m = agent_metrics(agent)
    m.setdefault("spoa_iam_protocol_errors_total", 0)
    return m


echo = EchoBackend()
agent = Agent({"routes": ROUTES}, sock=SOCK).start()
hap = HAProxy(agent.spoe_addr, echo.addr, stats=True, expose_err=True).start()
P = hap.port


def state():
    st, chk = hap.server_state()
    return st, (chk or "").lstrip("* ")


log(f"HAProxy {haproxy_version()}: health checks every 300 ms, rise 1, fall 3")
check(wait_for(lambda: state()[0] == "UP", timeout=10), f"agent marked UP: {state()}")
check_eq(state()[1], "L7OK", "last check: L7OK (a valid AGENT-HELLO)")
m0 = metrics(agent)
time.sleep(1.2 * SLOW)
m1 = metrics(agent)
check(m1["spoa_iam_healthchecks_total"] - m0["spoa_iam_healthchecks_total"] >= 2,
      f"the agent answered health-check HELLOs: "
      f"+{m1['spoa_iam_healthchecks_total'] - m0['spoa_iam_healthchecks_total']} in 1.2 s")
check(m1["spoa_iam_connections_active"] <= 1,
      f"health-check connections are closed after the HELLO, none pile up "
      f"(no request yet): {m1['spoa_iam_connections_active']} open")
check_eq(m1["spoa_iam_protocol_errors_total"], 0, "no protocol error from health checks")
check_eq(curl(P, "/x").status, 200, "a request passes")

log("agent killed: requests fail closed at once, the server goes DOWN")
agent.kill()
t0 = time.time()
r = curl(P, "/x")
dt = time.time() - t0
check_eq(r.status, 503, "request right after the kill -> 503")
fact("killed_first_err", r.headers.get("x-spoe-err"))
fact("killed_first_s", f"{dt:.2f}")
if spop_mux():
    # 3.1+: the pooled connection is gone, a new one is refused at once.
    check(dt < 0.5 * SLOW, f"3.1+: failed at once (connection refused): {dt:.2f} s")
else:
    # 2.6/3.0: the applet engine may hold the first request until timeout
    # processing before failing it.
    check(dt < TP * SLOW + 0.5, f"failed within timeout processing ({TP:g} s): {dt:.2f} s")
check(wait_for(lambda: state()[0] == "DOWN", timeout=5), f"marked DOWN: {state()}")
fact("down_check_status", state()[1])
check(state()[1].startswith("L4") or state()[1] == "SOCKERR",
      f"DOWN on a connection-level failure (L4*, SOCKERR for a unix socket): {state()[1]}")
times = []
errs = set()
for i in range(5):
    t0 = time.time()
    r = curl(P, f"/down{i}")
    times.append(time.time() - t0)
    errs.add((r.status, r.headers.get("x-spoe-err")))
log(f"  while DOWN: {sorted(errs)}, slowest answer {max(times):.2f} s")
fact("down_err", ",".join(sorted({str(e) for _, e in errs})))
check(all(st == 503 for st, _ in errs), f"every request 503 while DOWN: {sorted(errs)}")
check(all(e is not None for _, e in errs), "... each with txn.iam.err set (set-on-error)")
check(max(times) < 0.5 * SLOW,
      f"... at once, not after timeout processing: slowest {max(times):.2f} s")
check_eq(echo.hits, 1, "nothing but the first request reached the backend")

log("a listener that is not an SPOP agent never passes the check")
if os.path.exists(SOCK):
    os.unlink(SOCK)
fake = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
fake.bind(SOCK)
fake.listen(16)
fake_stop = threading.Event()
fake_conns = [0]


def serve_fake():
    fake.settimeout(0.2)
    while not fake_stop.is_set():
        try:
            c, _ = fake.accept()
        except OSError:
            continue
        fake_conns[0] += 1
        try:
            c.settimeout(1)
            try:
                c.recv(4096)
            except OSError:
                pass
            c.sendall(b"HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        except OSError:
            pass
        c.close()


th = threading.Thread(target=serve_fake, daemon=True)
th.start()
check(wait_for(lambda: fake_conns[0] >= 3, timeout=5), "HAProxy's checks reach the fake listener")
seen = set()
deadline = time.time() + 1.5 * SLOW
while time.time() < deadline:
    seen.add(state())
    time.sleep(0.1)
log(f"  states seen: {sorted(seen)}")
fact("fake_check_status", ",".join(sorted({c for _, c in seen if c})))
check(all(st == "DOWN" for st, _ in seen), "the server never comes UP on a non-SPOP answer")
check(all(chk.startswith("L7") or chk.startswith("L6") for _, chk in seen if chk),
      f"... failed at the protocol level (L7/L6): {sorted(seen)}")
r = curl(P, "/fake")
check_eq(r.status, 503, "request while only a fake listener answers -> 503")
fake_stop.set()
th.join()
fake.close()
os.unlink(SOCK)

log("agent restarted: UP again, traffic flows")
agent2 = Agent({"routes": ROUTES}, name="agent2", sock=SOCK).start()
check(wait_for(lambda: state()[0] == "UP", timeout=10), f"UP again: {state()}")
check(wait_for(lambda: curl(P, "/back").status == 200, timeout=10), "200 again")
statuses = [curl(P, f"/after{i}").status for i in range(10)]
check(all(s == 200 for s in statuses), f"10 requests after the restart all 200: {statuses}")
check(metrics(agent2)["spoa_iam_healthchecks_total"] >= 1, "the new agent answers health checks")
check_eq(metrics(agent2)["spoa_iam_protocol_errors_total"], 0, "no protocol error")
rc = agent2.stop()
check_eq(rc, 0, "agent exits 0 on SIGTERM")
hap.stop()
finish()
