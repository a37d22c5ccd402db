"""A new agent process takes over the listeners of a running one
(listen_takeover, on by default), so a restart or an upgrade leaves no gap.

 - Handover, TCP, unix socket and admin listener: agent A runs; agent B
   starts on the same config and logs the takeover of each address.
   While both run, TCP connections (SPOP and admin) go to either (shared
   with SO_REUSEPORT) and unix connections only to B (B's socket was
   renamed over the path).  A gets SIGTERM, drains and exits 0; from then
   on every new connection reaches B.  A thread polls the socket path the
   whole time: it never goes missing; after A exits it is still B's, and
   B removes it when it stops.
 - Rolling restart under load, through HAProxy, over TCP and over a unix
   socket: wrk sends requests with a valid token (RS256, keys from an
   HTTPS provider, kept in state_dir so each new process serves at once)
   while the agent is restarted 5 times (start the new process, wait for
   its "listening" lines, SIGTERM the old one).  HAProxy answers an
   allowed request itself, after every rule of the example
   (http-request return, with the route the agent named in the body), so
   the rate is bound by HAProxy and the agent, not by a backend.  Every
   request that failed must have failed closed (503) and every 200 must
   carry the agent's answer, and none may fail: the old agent answers
   what reaches it while draining and closes only once HAProxy has its
   DISCONNECT, and haproxy.cfg asks again through its iam-retry engine
   when a request met a connection the old process was closing.  The
   counts are facts.
"""
import os
import re
import signal
import socket
import stat
import threading
import time
import urllib.error
import urllib.request

from harness import (SLOW, Agent, EchoBackend, HAProxy, Proc, Spop, _edit, ack_for,
                     check, check_eq, curl, fact, finish, free_port,
                     log, notify, pki, t_str, tmpdir, wait_for)
from idp import IdP
from tokens import mint

ROUTE = "takeover"
ROUTES = [{"name": ROUTE, "require": "none"}]
TAKEOVER = "another process listens here too"
LEFT = "the socket file is another process's now; left in place"


def clean(agent, what):
    out = agent.output()
    check("AddressSanitizer" not in out and "runtime error" not in out,
          f"{what}: no sanitizer report in the agent log")


# ---------------------------------------------------------------- SPOP

def spop_unix(path):
    c = Spop.__new__(Spop)
    c.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.sock.settimeout(2 * SLOW)
    c.buf = b""
    try:
        c.sock.connect(path)
    except OSError:
        c.sock.close()
        raise
    return c


def roundtrip(connect):
    """HELLO, one NOTIFY, its ACK (allowed) on a new connection: True, or
    the reason it failed."""
    try:
        conn = connect()
    except OSError as e:
        return f"connect: {e}"
    try:
        r = conn.hello()
        if r is None or r[0] != 101:
            return f"hello: {r!r}"
        conn.send(notify(3, 1, [("path", t_str("/x"))]))
        a = ack_for(conn)
        if a is None or a[0] != 3 or a[2].get("allow") is not True:
            return f"ack: {a!r}"
        return True
    except OSError as e:
        return f"{type(e).__name__}: {e}"
    finally:
        conn.close()


class Poller:
    """Calls ${fn} in a loop in a thread until stop(); counts the calls and
    keeps the results that are not True."""

    def __init__(self, fn, pause=0.0):
        self.fn, self.pause = fn, pause
        self.calls, self.bad = 0, []
        self._stop = threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self._stop.is_set():
            r = self.fn()
            self.calls += 1
            if r is not True:
                self.bad.append((time.time(), r))
            if self.pause:
                time.sleep(self.pause)

    def stop(self):
        self._stop.set()
        self.t.join(timeout=30)
        return self


# ---------------------------------------------------------------- admin

def admin_get(aport, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{aport}{path}",
                                    timeout=5 * SLOW) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, ""
    except OSError as e:
        return 0, str(e)


def scrape(aport):
    """(process_start_time_seconds, SPOP connections accepted) of the
    process that answered one /metrics request."""
    st, body = admin_get(aport, "/metrics")
    if st != 200:
        return None
    start = re.search(r"^process_start_time_seconds (\S+)$", body, re.M)
    acc = re.search(r"^spoa_iam_connections_accepted_total (\S+)$", body, re.M)
    return (start.group(1), int(float(acc.group(1)))) if start and acc else None


def owners(aport, want, tries=80):
    """{start time: connections accepted} of the processes answering on the
    shared admin port, once ${want} different ones answered (each new
    connection is hashed to one of them); fewer after ${tries} scrapes."""
    seen = {}
    for _ in range(tries):
        s = scrape(aport)
        if s:
            seen[s[0]] = s[1]
        if len(seen) >= want:
            break
    return seen


# ---------------------------------------------------------------- handover

def handover():
    port, aport = free_port(), free_port()
    sock = os.path.join(tmpdir(), "agent.sock")
    # listen_takeover is not set: the default.
    cfg = {"listen": [f"127.0.0.1:{port}", f"unix:{sock}"],
           "admin_listen": f"127.0.0.1:{aport}", "workers": 1, "routes": ROUTES}
    tcp = lambda: Spop(port, timeout=2)          # noqa: E731
    unix = lambda: spop_unix(sock)               # noqa: E731

    log("handover: agent A alone")
    a = Agent(cfg, name="a").start()
    check(TAKEOVER not in a.output(), "A found nobody on its addresses")
    check_eq(roundtrip(tcp), True, "A serves on TCP")
    check_eq(roundtrip(unix), True, "A serves on the unix socket")

    def path_ok():
        try:
            return stat.S_ISSOCK(os.lstat(sock).st_mode) or "not a socket"
        except OSError as e:
            return str(e)

    path = Poller(path_ok)

    log("handover: agent B starts on the same config while A runs")
    b = Agent(cfg, name="b").start()
    out = b.output()
    for line in (f"admin_listen 127.0.0.1:{aport}: {TAKEOVER} (SO_REUSEPORT): taking over",
                 f"listen 127.0.0.1:{port}: {TAKEOVER} (SO_REUSEPORT): taking over",
                 f"listen unix:{sock}: {TAKEOVER}: taking over"):
        check(line in out, f"B logs: {line}")
    b_ino = os.lstat(sock).st_ino
    check(not [f for f in os.listdir(tmpdir()) if f.startswith("agent.sock.")],
          "no temporary socket name is left next to the path")

    health = [admin_get(aport, "/healthz")[0] for _ in range(20)]
    check(all(s == 200 for s in health), f"/healthz on the shared admin port: {health}")
    m0 = owners(aport, 2)
    check_eq(len(m0), 2, "A and B both answer on the admin port")
    tcp_rt = [roundtrip(tcp) for _ in range(40)]
    m1 = owners(aport, 2)
    check(all(r is True for r in tcp_rt), "40 SPOP connections over TCP while both run: "
          f"all answered ({[r for r in tcp_rt if r is not True][:3]})")
    if len(m0) == 2 and len(m1) == 2 and m0.keys() == m1.keys():
        got = {k: m1[k] - m0[k] for k in m0}
        log(f"  TCP connections accepted per process while both run: {sorted(got.values())}")
        check(all(v > 0 for v in got.values()),
              f"both A and B accepted TCP connections (SO_REUSEPORT): {got}")
    unix_rt = [roundtrip(unix) for _ in range(20)]
    m2 = owners(aport, 2)
    check(all(r is True for r in unix_rt), "20 SPOP connections over the unix socket: "
          "all answered")
    if len(m1) == 2 and len(m2) == 2 and m1.keys() == m2.keys():
        a_start = min(m1)                      # A started first
        b_start = max(m1)
        check_eq((m2[a_start] - m1[a_start], m2[b_start] - m1[b_start]), (0, 20),
                 "unix connections while both run: (to A, to B)")

    log("handover: SIGTERM to A while connections keep coming")
    p_tcp = Poller(lambda: roundtrip(tcp))
    p_unix = Poller(lambda: roundtrip(unix))
    time.sleep(0.3)
    rc = a.stop(signal.SIGTERM, timeout=20)
    time.sleep(0.3)
    p_tcp.stop()
    p_unix.stop()
    path.stop()
    check_eq(rc, 0, "A drained and exited 0")
    check(LEFT in a.output(), "A left B's socket file in place")
    clean(a, "A")
    log(f"  path polled {path.calls} times; unix connections {p_unix.calls}, "
        f"TCP connections {p_tcp.calls} during the SIGTERM")
    check(path.calls > 100 and not path.bad,
          f"the socket path existed at each of {path.calls} polls from B's start to "
          f"after A's exit: {path.bad[:3]}")
    check(p_unix.calls > 0 and not p_unix.bad,
          f"every unix connection during A's drain was served: {p_unix.bad[:3]}")
    # A TCP connection hashed to A just before its SIGTERM, not yet past
    # HELLO, is closed by its drain: one at most, the poller having one
    # connection open at a time.
    fact("handover_tcp_failed", len(p_tcp.bad))
    check(p_tcp.calls > 0 and len(p_tcp.bad) <= 1,
          f"TCP connections during A's drain: {p_tcp.calls}, failed "
          f"{len(p_tcp.bad)} (at most the one open at the signal): {p_tcp.bad[:3]}")

    log("handover: A is gone")
    check(os.path.exists(sock) and os.lstat(sock).st_ino == b_ino,
          "the socket path is still there, B's")
    tcp_rt = [roundtrip(tcp) for _ in range(20)]
    check(all(r is True for r in tcp_rt), "20 new TCP connections: all reach B")
    unix_rt = [roundtrip(unix) for _ in range(20)]
    check(all(r is True for r in unix_rt), "20 new unix connections: all reach B")
    m3 = owners(aport, 2, tries=10)
    check_eq(len(m3), 1, "only B answers on the admin port")
    check_eq(b.stop(), 0, "B exits 0")
    check(not os.path.exists(sock), "B removed its socket at exit")
    clean(b, "B")


# ---------------------------------------------------------------- rolling restart

WRK_LUA = r'''
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {}; errs = {}; bare = 0 end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 200 then
    if not string.find(body, '"x-iam-route": "ROUTE"', 1, true) then bare = bare + 1 end
  else
    local e = headers["x-spoe-err"] or headers["X-SPOE-Err"] or "-"
    local k = status .. "/" .. e
    errs[k] = (errs[k] or 0) + 1
  end
end
function done(summary, latency, requests)
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do io.write(string.format("status %d %d\n", k, v)) end
    for k, v in pairs(t:get("errs")) do io.write(string.format("err %s %d\n", k, v)) end
    io.write(string.format("bare200 %d\n", t:get("bare")))
  end
  local e = summary.errors
  io.write(string.format("socket connect=%d read=%d write=%d timeout=%d\n",
    e.connect, e.read, e.write, e.timeout))
end
'''.replace("ROUTE", ROUTE)


def answer_here(cfg):
    """haproxy.cfg answering an allowed request itself, after every rule
    of the example: the load is then bound by HAProxy and the agent, not
    by the Python backend, and the body still shows the agent's answer
    (the route it matched; empty without an answer)."""
    return _edit(cfg, "    default_backend apim\n",
                 '    http-request return status 200 content-type application/json '
                 'lf-string "{\\"headers\\": {\\"x-iam-route\\": '
                 '\\"%[var(txn.iam.route)]\\"}}"\n'
                 "    default_backend apim\n", "haproxy.cfg")


def rolling(kind, echo, restarts=5):
    """Restart the agent ${restarts} times under wrk load through HAProxy,
    over ${kind} ("tcp" or "unix")."""
    log(f"rolling restart over {kind}: {restarts} restarts under load")
    port, aport = free_port(), free_port()
    sock = os.path.join(tmpdir(), "roll.sock")
    state = os.path.join(tmpdir(), f"state-{kind}")
    os.makedirs(state)
    listen = f"127.0.0.1:{port}" if kind == "tcp" else f"unix:{sock}"
    cfg = {"listen": [listen], "admin_listen": f"127.0.0.1:{aport}",
           "workers": 2, "state_dir": state,
           "fetch": {"ca_file": os.path.join(pki(), "ca.pem")},
           "issuers": [{"name": "idp", "issuer": IDP.issuer, "audiences": [AUD],
                        "algorithms": ["RS256"], "jwks_url": IDP.base + "/keys"}],
           "routes": [{"name": ROUTE, "require": "jwt", "issuers": ["idp"]}]}
    agent = Agent(cfg, name=f"roll-{kind}-0").start()
    auth = {"Authorization": "Bearer " + TOKEN}
    addr = f"127.0.0.1:{port}" if kind == "tcp" else "unix@" + sock
    hap = HAProxy(addr, echo.addr, name=f"haproxy-{kind}", expose_err=True,
                  cfg_edit=answer_here).start()
    check(wait_for(lambda: curl(hap.port, "/roll", headers=auth).status == 200,
                   timeout=15), f"{kind}: a request with the token passes before the restarts")
    check_eq(curl(hap.port, "/roll").status, 401, f"{kind}: without the token: 401")
    lua = os.path.join(tmpdir(), "count.lua")
    with open(lua, "w") as f:
        f.write(WRK_LUA)
    # Stopped by SIGINT once the restarts are done (wrk then prints its
    # counts); -d only bounds a test that dies first.
    wrk = Proc(f"wrk-{kind}", ["wrk", "-t1", "-c16", "-d300s", "--timeout", "10s",
                               "-H", f"Authorization: Bearer {TOKEN}",
                               "-s", lua, f"https://127.0.0.1:{hap.port}/roll"]).start()
    rcs, took, gaps = [], 0, []
    try:
        time.sleep(1.5)
        for i in range(1, restarts + 1):
            new = Agent(cfg, name=f"roll-{kind}-{i}").start()
            if TAKEOVER in new.output():
                took += 1
            t0 = time.time()
            rcs.append(agent.stop(signal.SIGTERM, timeout=20))
            gaps.append(time.time() - t0)
            clean(agent, f"{kind} agent {i - 1}")
            agent = new
            time.sleep(1.0)
    finally:
        wrk_rc = wrk.stop(signal.SIGINT, timeout=30)
    check_eq(wrk_rc, 0, f"{kind}: wrk stopped on SIGINT")
    text = wrk.output()
    statuses = {int(k): int(v) for k, v in re.findall(r"^status (\d+) (\d+)$", text, re.M)}
    errs = {k: int(v) for k, v in re.findall(r"^err (\S+) (\d+)$", text, re.M)}
    bare = re.search(r"^bare200 (\d+)$", text, re.M)
    sockerr = re.search(r"^socket (.*)$", text, re.M)
    total = sum(statuses.values())
    non2xx = sum(v for k, v in statuses.items() if not 200 <= k < 300)
    log(f"  {kind}: {total} requests, {non2xx} non-2xx {errs or ''}; "
        f"statuses {statuses}; wrk socket errors: "
        f"{sockerr.group(1) if sockerr else '?'}; old agents stopped in "
        f"{', '.join(f'{g:.2f}' for g in gaps)} s")
    fact(f"rolling_{kind}_requests", total)
    fact(f"rolling_{kind}_non2xx", non2xx)
    fact(f"rolling_{kind}_non2xx_by_err", ",".join(f"{k}:{v}" for k, v in
                                                   sorted(errs.items())) or "-")
    check(bare is not None and total > 0, f"{kind}: wrk ran and counted ({total} requests)")
    check_eq(rcs, [0] * restarts, f"{kind}: every old agent drained and exited 0")
    check_eq(took, restarts, f"{kind}: every new agent logged the takeover")
    check(all(k in (200, 503) for k in statuses),
          f"{kind}: every request that failed failed closed (503): {statuses}")
    check_eq(non2xx, 0, f"{kind}: no request failed across {restarts} restarts "
                        f"({total} requests with a valid token)")
    check(bare is not None and int(bare.group(1)) == 0,
          f"{kind}: every 200 carried the agent's answer (X-IAM-Route)")
    check(wait_for(lambda: curl(hap.port, "/roll", headers=auth).status == 200,
                   timeout=10), f"{kind}: a request passes after the restarts")
    check_eq(agent.stop(), 0, f"{kind}: the last agent exits 0")
    hap.stop()


handover()
AUD = "api://roll"
IDP = IdP()
TOKEN = mint(IDP.keys[0], iss=IDP.issuer, aud=AUD, exp_in=3600)
echo = EchoBackend()
rolling("tcp", echo)
rolling("unix", echo)
finish()
