"""A connection flood cannot exhaust the agent: with a file-descriptor limit
of 1,024 (systemd's default soft limit, here the hard limit too, so raising
it cannot help), 1,100 idle connections that sent a HELLO leave HAProxy's
real traffic, /healthz and /metrics untouched: the agent caps its SPOP
connections below its descriptor limit and, when full, sheds the longest
idle of those that never carried a NOTIFY.  Before the cap, the same flood
turned every request into a 503 until it stopped.  Works with any HAProxy
version (HAPROXY, harness.HAPROXY_BIN).

Also: the soft limit is raised to the hard one at start, and said so.
"""
import resource
import re
import socket
import threading
import time

from harness import (Agent, EchoBackend, HAProxy, check, check_eq, curl,
                     finish, haproxy_hello, log, wait_for, SLOW)

FLOOD = 1100

# This process holds the flood's sockets.
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
if soft < 4096 <= hard or hard == resource.RLIM_INFINITY:
    resource.setrlimit(resource.RLIMIT_NOFILE, (4096, hard))


def admin_get(port, path):
    """(status, body) of GET ${path} on the admin listener; (0, "") if it
    cannot be had."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5 * SLOW) as sk:
            sk.sendall(f"GET {path} HTTP/1.0\r\n\r\n".encode())
            data = b""
            while True:
                d = sk.recv(65536)
                if not d:
                    break
                data += d
    except OSError:
        return 0, ""
    head, _, body = data.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/\S+ (\d+)", head)
    return (int(m.group(1)) if m else 0), body.decode(errors="replace")


def metric(port, name):
    _, body = admin_get(port, "/metrics")
    m = re.search(rf"^{re.escape(name)} (\d+)$", body, re.M)
    return int(m.group(1)) if m else None


log("the soft descriptor limit is raised to the hard one")
raised = Agent({"routes": [{"name": "open", "require": "none"}]}, name="raised")
raised.preexec_fn = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (256, 2048))
raised.start()
check("soft limit raised from 256 to the hard limit 2048" in raised.output(),
      "start-up says the limit was raised from 256 to 2048")
check_eq(metric(raised.admin_port, "process_max_fds"), 2048, "process_max_fds")
check_eq(raised.stop(), 0, "exit 0")

log(f"{FLOOD} idle connections after HELLO, with 1024 descriptors")
echo = EchoBackend()
agent = Agent({"workers": 2, "routes": [{"name": "open", "require": "none"}]},
              name="flood")
agent.preexec_fn = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))
agent.start()
hap = HAProxy(agent.spoe_addr, echo.addr).start()
log(f"HAProxy {hap.version()}")
check(wait_for(lambda: curl(hap.port, "/x").status == 200, timeout=15),
      "a request passes before the flood")
check("file descriptors: limit 1024 (hard limit 1024)" in agent.output(),
      "start-up says the limit is 1024")
cap = metric(agent.admin_port, "spoa_iam_max_connections")
check(cap is not None and 512 <= cap < 1024 - 32,
      f"max_connections {cap}: below the limit, with room for the admin "
      f"listener and the fetcher")

statuses = []
stop = threading.Event()


def traffic():
    """Real requests through HAProxy, one after the other, all along."""
    while not stop.is_set():
        statuses.append(curl(hap.port, f"/during/{len(statuses)}").status)
        time.sleep(0.05)


t = threading.Thread(target=traffic, daemon=True)
t.start()
socks = []
t0 = time.monotonic()
for i in range(FLOOD):
    try:
        sk = socket.create_connection(("127.0.0.1", agent.port), timeout=5 * SLOW)
        sk.sendall(haproxy_hello())
        socks.append(sk)
    except OSError as e:
        log(f"connection {i}: {e}")
        break
log(f"{len(socks)} connections opened in {time.monotonic() - t0:.1f} s")
check_eq(len(socks), FLOOD, "every flood connection was accepted")
# Hold the flood while traffic runs.
health = []
deadline = time.monotonic() + 4 * SLOW
while time.monotonic() < deadline:
    health.append(admin_get(agent.admin_port, "/healthz")[0])
    time.sleep(0.2)
during = len(statuses)
stop.set()
t.join(timeout=30 * SLOW)
check(during >= 10, f"{during} requests were sent during the flood")
check_eq([s for s in statuses if s != 200], [],
         f"every request during the flood passed ({len(statuses)} requests)")
check(health and all(h == 200 for h in health),
      f"/healthz answered 200 all along ({len(health)} probes)")
shed = metric(agent.admin_port, "spoa_iam_connections_shed_total")
active = metric(agent.admin_port, "spoa_iam_connections_active")
check(shed is not None and shed >= FLOOD - cap,
      f"connections shed: {shed} (at least {FLOOD - cap})")
check(active is not None and active <= cap, f"connections open: {active} <= {cap}")


def eof(sk):
    sk.settimeout(0)
    try:
        while True:
            d = sk.recv(65536)
            if not d:
                return True
    except (BlockingIOError, socket.timeout):
        return False
    except OSError:
        return True


closed = sum(1 for sk in socks if eof(sk))
check(closed >= FLOOD - cap, f"{closed} flood connections were closed by the agent")
log(f"facts: limit 1024, max_connections {cap}, {shed} shed, {active} open, "
    f"{len(statuses)} requests all 200")
for sk in socks:
    sk.close()
check_eq(curl(hap.port, "/after").status, 200, "a request passes after the flood")
check_eq(agent.stop(), 0, "agent exits 0 on SIGTERM")
hap.stop()
finish()
