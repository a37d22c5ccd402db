"""The command line (--check, --version, --help, inspect, bad arguments) and
the three listener kinds (IPv4, IPv6, unix socket) of the real binary.
"""
import json
import os
import resource
import select
import signal
import socket
import subprocess
import time

from harness import (AGENT_BIN, Agent, Proc, Spop, ack_for, check, check_eq, finish,
                     free_port, log, notify, t_str, tmpdir, wait_for, wait_port)
from tokens import Key, mint


def run(*args):
    r = subprocess.run([AGENT_BIN, *args], capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout, r.stderr


def write(name, doc):
    p = os.path.join(tmpdir(), name)
    with open(p, "w") as f:
        f.write(doc if isinstance(doc, str) else json.dumps(doc))
    return p


log("--version, --help, bad arguments")
rc, out, _ = run("--version")
check(rc == 0 and out.startswith("spoa-iam "), f"--version: {out.strip()}")
rc, out, _ = run("--help")
check(rc == 0 and "--check" in out and "inspect" in out, "--help lists the commands")
rc, _, err = run("--bogus")
check(rc == 2 and "unknown argument" in err, "unknown argument -> exit 2")
rc, _, err = run()
check(rc == 2 and "-c FILE" in err, "no config -> exit 2 with usage")

log("--check")
good = write("good.json", {"listen": ["127.0.0.1:1"],
                           "routes": [{"name": "r", "require": "none"}]})
rc, out, err = run("-c", good, "--check")
check(rc == 0 and "valid" in out, f"--check on a good config -> 0: {out.strip()} {err.strip()}")
bad = write("bad.json", {"listen": ["127.0.0.1:1"],
                         "issuers": [{"name": "i", "issuer": "x", "audiences": ["a"],
                                      "jwks_file": "missing-keys.json"}],
                         "routes": [{"name": "r", "require": "none",
                                     "source_cidrs": ["10.0.0.1/8"]},
                                    {"name": "q", "require": "sometimes"}]})
rc, out, err = run("-c", bad, "--check")
check_eq(rc, 1, "--check on a bad config -> 1")
check("routes[0].source_cidrs[0]: host bits set" in err, "error names the JSON path of the CIDR")
check("routes[1].require" in err, "error names the JSON path of require")
rc, out, err = run("-c", write("files.json", {"listen": ["127.0.0.1:1"],
    "issuers": [{"name": "i", "issuer": "x", "audiences": ["a"], "jwks_file": "nope.json"}],
    "routes": [{"name": "r", "require": "jwt"}]}), "--check")
check(rc == 1 and "issuers[0].jwks_file" in err and "nope.json" in err,
      "--check opens the files the config names")
rc, out, err = run("-c", write("dup.json", '{"listen":["127.0.0.1:1"],"listen":["127.0.0.1:2"],'
                                           '"routes":[{"name":"r","require":"none"}]}'), "--check")
check(rc == 1 and "duplicate" in err, "duplicate JSON keys are an error")

log("inspect")
tok = mint(Key("ES256", "kid-1"), iss="https://idp.example/", aud="api://x", sub="alice")
rc, out, _ = run("inspect", tok)
check(rc == 0 and "NOT VERIFIED" in out and '"kid-1"' in out and "alice" in out,
      "inspect decodes, marked NOT VERIFIED")
rc, out, _ = run("inspect", "not-a-token")
check(rc == 1 and "NOT VERIFIED" in out, "inspect on garbage -> 1")

log("listeners: IPv4, IPv6 and a unix socket")
sock = os.path.join(tmpdir(), "agent.sock")
p4, p6 = free_port(), None
try:
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s6:
        s6.bind(("::1", 0))
        p6 = s6.getsockname()[1]
except OSError as e:
    print(f"skipped: IPv6 listener (no ::1 on this machine: {e})")
listen = [f"127.0.0.1:{p4}", f"unix:{sock}"] + ([f"[::1]:{p6}"] if p6 else [])
agent = Agent({"listen": listen,
               "routes": [{"name": "open", "require": "none"}]}).start()


def roundtrip(conn):
    r = conn.hello()
    if r is None or r[0] != 101:
        return False
    conn.send(notify(3, 1, [("path", t_str("/x"))]))
    a = ack_for(conn)
    conn.close()
    return a is not None and a[0] == 3 and a[2].get("allow") is True


check(roundtrip(Spop(p4)), "IPv4 listener answers")
if p6 is None:
    pass
else:
  try:
    c6 = Spop.__new__(Spop)
    c6.sock = socket.create_connection(("::1", p6), timeout=5)
    c6.buf = b""
    check(roundtrip(c6), "IPv6 listener answers")
  except OSError as e:
    check(False, f"IPv6 listener: {e}")
cu = Spop.__new__(Spop)
cu.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
cu.sock.settimeout(5)
cu.sock.connect(sock)
cu.buf = b""
check(roundtrip(cu), "unix socket listener answers")
check_eq(agent.stop(), 0, "exit 0 on SIGTERM")
check(not os.path.exists(sock), "unix socket removed at exit")


def admin_req(port, timeout=5):
    """(status, body) of GET /healthz on ${port}; (0, "") if refused/closed."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sk:
            sk.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
            return read_reply(sk)
    except OSError:
        return 0, ""


def healthy(reply):
    """${reply} is /healthz's 200 with its JSON document."""
    st, body = reply
    try:
        return st == 200 and json.loads(body)["status"] == "ok"
    except ValueError:
        return False


def read_reply(sk):
    data = b""
    while True:
        d = sk.recv(4096)
        if not d:
            break
        data += d
    if not data:
        return 0, ""
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode()


log("start-up: the admin listener is bound before the SPOP one")
# Once the SPOP port accepts (what HAProxy's check and start scripts wait
# for), /readyz must not be refused; and a busy admin port stops the start
# before the SPOP port is ever bound.
order = Agent({"routes": [{"name": "open", "require": "none"}]}, name="order").start()
check_eq(admin_req(order.admin_port)[0], 200, "/healthz answers as soon as the SPOP port accepts")
out = order.output()
a_at, s_at = out.find("admin endpoints on"), out.find("listening for SPOP")
check(0 <= a_at < s_at, f"admin listener logged before the SPOP one ({a_at} < {s_at})")
check_eq(order.stop(), 0, "order: exit 0")
with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    bp = busy.getsockname()[1]
    spop_port = free_port()
    b = Agent({"listen": [f"127.0.0.1:{spop_port}"], "admin_listen": f"127.0.0.1:{bp}",
               "routes": [{"name": "open", "require": "none"}]}, name="busyadmin")
    b.start(wait=False)
    try:
        rc = b.p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        rc = None
    check_eq(rc, 1, "admin port in use: exit 1")
    check("listening for SPOP" not in b.output(),
          "admin port in use: the SPOP port was never bound")
    b.stop()


log("SIGHUP: settings read once at start warn that they need a restart")
agent = Agent({"routes": [{"name": "open", "require": "none"}]}).start()
WARN = "take effect at the next restart"


def reloaded(n):
    """Wait until ${n} reloads were applied (spoa_iam_reloads_total)."""
    def ok():
        try:
            with socket.create_connection(("127.0.0.1", agent.admin_port), timeout=5) as sk:
                sk.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
                _, body = read_reply(sk)
        except OSError:
            return False
        return f'\nspoa_iam_reloads_total{{result="ok"}} {n}\n' in body
    return wait_for(ok, timeout=10)


agent.send_signal(signal.SIGHUP)
check(reloaded(1), "unchanged config reloaded")
check(WARN not in agent.output(), "no restart warning when nothing restart-only changed")
cfg = dict(agent.config, cert_cache_entries=100)
agent.write_config(cfg)
agent.send_signal(signal.SIGHUP)
check(reloaded(2), "config with another cert_cache_entries reloaded")


def warnings(n):
    """The restart warnings logged, once ${n} are there (lines reach the
    log through a writer thread: a moment after the reload counts)."""
    wait_for(lambda: sum(WARN in ln for ln in agent.output().splitlines()) >= n,
             timeout=5)
    return [ln for ln in agent.output().splitlines() if WARN in ln]


warns = warnings(1)
check(len(warns) == 1 and "cert_cache_entries" in warns[0],
      f"cert_cache_entries change: restart warning naming it: {warns}")
agent.write_config(dict(cfg, token_cache_entries=100))
agent.send_signal(signal.SIGHUP)
check(reloaded(3), "config with another token_cache_entries reloaded")
warns = warnings(2)
check(len(warns) == 2 and "token_cache_entries" in warns[1],
      f"token_cache_entries change: restart warning naming it: {warns}")
check_eq(agent.stop(), 0, "exit 0 on SIGTERM")

log("a signal right after the listeners are bound: handled, not fatal")
# The "listening for SPOP on" line comes before the signal watchers start
# (workers, the fetcher): a SIGHUP sent on it used to kill the agent (its
# default action), 30 of 30 starts with 16 workers.  Now it waits for its
# watcher and reloads.
early = []
for i in range(5):
    ecfg = write(f"early-{i}.json", {"listen": [f"127.0.0.1:{free_port()}"],
                                     "admin_listen": f"127.0.0.1:{free_port()}",
                                     "workers": 16, "log_level": "info",
                                     "routes": [{"name": "r", "require": "none"}]})
    ep = Proc(f"early-{i}", [AGENT_BIN, "-c", ecfg]).start()
    seen = wait_for(lambda: "listening for SPOP on" in ep.output(), timeout=10, step=0.001)
    ep.p.send_signal(signal.SIGHUP)
    wait_for(lambda: "reload: reading" in ep.output() or ep.p.poll() is not None, timeout=5)
    early.append((seen, ep.p.poll(), "reload: reading" in ep.output()))
    ep.stop(signal.SIGTERM)
check(all(s and rc is None and r for s, rc, r in early),
      f"a SIGHUP on the listening line reloads and the agent lives (5 starts, "
      f"16 workers): {early}")

log("out of file descriptors: SPOP and admin accepts pause instead of spinning")
port, aport = free_port(), free_port()
# max_connections far above what 32 descriptors hold: the default, derived
# from the limit, would shed idle SPOP connections long before descriptors
# run out (test_conn_flood.py); here they must run out.
cfgp = write("emfile.json", {"listen": [f"127.0.0.1:{port}"], "workers": 1,
                             "admin_listen": f"127.0.0.1:{aport}",
                             "max_connections": 1000,
                             "routes": [{"name": "r", "require": "none"}]})
# A harness Proc: killed at exit whatever happens, like every agent here.
em = Proc("emfile", [AGENT_BIN, "-c", cfgp],
          preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (32, 32))).start()
p = em.p
try:
    check(wait_port(port, proc=p) and wait_port(aport, proc=p), "agent up with 32 descriptors")
    socks = []
    for _ in range(60):
        try:
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=1))
        except OSError:
            break
    # Descriptors freed after the first EMFILE (the probes of wait_port)
    # are taken by the paused SPOP listener when it resumes, 1 s later,
    # from the connections still in its backlog.
    time.sleep(1.5)
    # Waiting in the admin listener's backlog while no descriptor is left.
    pending = []
    for _ in range(3):
        sk = socket.create_connection(("127.0.0.1", aport), timeout=10)
        sk.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
        pending.append(sk)

    def ticks():
        with open(f"/proc/{p.pid}/stat") as f:
            st = f.read().rsplit(")", 1)[1].split()
        return int(st[11]) + int(st[12])

    t0 = ticks()
    time.sleep(2)
    used = ticks() - t0
    check(used < 50, f"CPU while out of descriptors: {used} ticks in 2 s (a spinning loop uses ~200)")
    for sk in socks:
        sk.close()
    # Descriptors come back: the admin requests that waited are answered.
    got = [read_reply(sk) for sk in pending]
    check(all(healthy(r) for r in got) and len(got) == 3,
          f"admin requests that waited out the pause are answered: {got}")
    for sk in pending:
        sk.close()
    check(healthy(admin_req(aport)), "admin listener serves again")
finally:
    em.stop(timeout=20)                 # SIGTERM; SIGKILL if it does not end
lines = em.output().splitlines()
check(len(lines) < 100, f"accept failures logged at most once per pause: {len(lines)} lines")
check(any("accept on admin_listen" in ln for ln in lines),
      "the admin listener's accept failure is logged")

log("admin connections: 8 per address, a new one replaces the oldest idle")
agent = Agent({"listen": [f"127.0.0.1:{free_port()}"],
               "routes": [{"name": "open", "require": "none"}]}).start()
held = []
for _ in range(40):
    held.append(socket.create_connection(("127.0.0.1", agent.admin_port), timeout=5))
    time.sleep(0.01)            # accepted in this order


def eof(sk):
    """The peer closed ${sk} (it never sends anything unasked)."""
    if not select.select([sk], [], [], 0)[0]:
        return False
    try:
        return sk.recv(1) == b""
    except ConnectionError:
        return True


# Not waited for long: the 8 kept ones are closed too, idle, ADMIN_TIMEOUT
# (2 s) after accept.
deadline = time.time() + 1.5
while not all(eof(sk) for sk in held[:32]) and time.time() < deadline:
    time.sleep(0.05)
check_eq([i for i, sk in enumerate(held) if not eof(sk)], list(range(32, 40)),
         "40 idle admin connections from one address: the newest 8 kept")
check(healthy(admin_req(agent.admin_port)), "a 41st connection is answered")
check(eof(held[32]) or wait_for(lambda: eof(held[32]), timeout=1),
      "... in the place of the oldest idle one")
for sk in held:
    sk.close()
check_eq(agent.stop(), 0, "exit 0 on SIGTERM")
finish()
