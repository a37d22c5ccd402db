"""Integration test harness: the real haproxy, the real agent, real TLS.

Everything runs on 127.0.0.1 with ports chosen by the kernel, in a private
temporary directory, and every process started here is killed at exit.
Python's standard library plus Debian's python3-cryptography only.
"""
import atexit
import json
import os
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SOURCE_DIR = os.environ.get("SPOA_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD_DIR = os.environ.get("SPOA_BUILD_DIR") or os.path.join(SOURCE_DIR, "build")
AGENT_BIN = os.environ.get("SPOA_IAM") or os.path.join(BUILD_DIR, "spoa-iam")
HAPROXY_BIN = os.environ.get("HAPROXY") or shutil.which("haproxy") or "/usr/sbin/haproxy"
SANITIZED = bool(os.environ.get("SPOA_SANITIZE"))
# Sanitizers slow everything down: stretch the waits, not the assertions.
SLOW = 3.0 if SANITIZED else 1.0

_failures = []
_procs = []
_tmp = tempfile.mkdtemp(prefix="spoa-iam-it-")


def tmpdir():
    return _tmp


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def check(cond, what):
    """Record one assertion; the test exits non-zero at the end if any failed."""
    if cond:
        print(f"  ok    {what}", flush=True)
    else:
        print(f"  FAIL  {what}", flush=True)
        _failures.append(what)
    return cond


def check_eq(got, want, what):
    return check(got == want, f"{what}: got {got!r}, want {want!r}")


def fact(key, value):
    """Record what this HAProxy version did (a measured value, not a
    verdict): printed as "  fact  key=value", collected from the test
    output by scripts/ci-summary.py into the compatibility table."""
    print(f"  fact  {key}={value}", flush=True)


def finish():
    """Exit with the test's verdict."""
    if _failures:
        print(f"\n{len(_failures)} check(s) FAILED:", flush=True)
        for f in _failures:
            print(f"  - {f}")
        sys.exit(1)
    print("\nall checks passed", flush=True)
    sys.exit(0)


def _cleanup():
    for p in reversed(_procs):
        if p.poll() is None:
            try:
                p.kill()
                p.wait(timeout=5)
            except Exception:
                pass
    if os.environ.get("SPOA_KEEP_TMP"):
        print(f"(kept {_tmp})")
    else:
        shutil.rmtree(_tmp, ignore_errors=True)


atexit.register(_cleanup)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0, host="127.0.0.1", proc=None):
    deadline = time.time() + timeout * SLOW
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def wait_for(pred, timeout=10.0, step=0.1):
    deadline = time.time() + timeout * SLOW
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


# ---------------------------------------------------------------- PKI

_pki_dir = None


def pki():
    """A fresh PKI made by scripts/gen-pki.sh (openssl CLI), once per test."""
    global _pki_dir
    if _pki_dir is None:
        d = os.path.join(_tmp, "pki")
        subprocess.run([os.path.join(SOURCE_DIR, "scripts", "gen-pki.sh"), d],
                       check=True, stdout=subprocess.DEVNULL, timeout=60)
        _pki_dir = d
    return _pki_dir


# ---------------------------------------------------------------- processes

class Proc:
    """A started process with its output in a log file."""

    def __init__(self, name, argv, env=None, cwd=None, preexec_fn=None):
        self.name = name
        self.argv = argv
        self.logpath = os.path.join(_tmp, f"{name}.log")
        self.env = env
        self.cwd = cwd
        self.preexec_fn = preexec_fn
        self.p = None

    def start(self):
        logf = open(self.logpath, "ab")
        self.p = subprocess.Popen(self.argv, stdout=logf, stderr=subprocess.STDOUT,
                                  env=self.env, cwd=self.cwd,
                                  preexec_fn=self.preexec_fn)
        _procs.append(self.p)
        logf.close()
        return self

    def alive(self):
        return self.p is not None and self.p.poll() is None

    def send_signal(self, sig):
        self.p.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=15.0):
        """Send ${sig} and wait; return the exit status (None if it hung)."""
        if self.p is None or self.p.poll() is not None:
            return self.p.returncode if self.p else None
        self.p.send_signal(sig)
        try:
            return self.p.wait(timeout=timeout * SLOW)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            return None

    def kill(self):
        return self.stop(signal.SIGKILL)

    def output(self):
        try:
            with open(self.logpath, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""


class Agent(Proc):
    """spoa-iam with a JSON config written from a dict.

    Without "listen" in the config it listens on a free TCP port (port),
    and also on the unix socket ${sock} when one is given; without
    "admin_listen", on another free port (admin_port).  Ports chosen here
    are not shared: "listen_takeover" is false unless the config says.  spoe_addr is the
    address HAProxy should use: the unix socket if there is one.  A path
    in this test's private directory cannot be taken by a concurrent test
    while the agent behind it is restarted, as a TCP port can.
    """

    def __init__(self, config, name="agent", sock=None):
        self.config = dict(config)
        self.sock = sock
        self._auto = set()          # addresses chosen here, not by the test
        if "listen" not in self.config:
            self._auto.add("listen")
            self.config["listen"] = [None] + ([f"unix:{sock}"] if sock else [])
        if "admin_listen" not in self.config:
            self._auto.add("admin_listen")
        if self._auto:
            # A port chosen here and taken meanwhile by another test's
            # agent must fail this start ("Address already in use", and
            # then be chosen again), not be shared with it (SO_REUSEPORT).
            self.config.setdefault("listen_takeover", False)
        self._pick_ports()
        self.config.setdefault("workers", 2)
        self.config.setdefault("log_level", "info")
        self.cfgpath = os.path.join(_tmp, f"{name}.json")
        self.write_config()
        env = dict(os.environ)
        super().__init__(name, [AGENT_BIN, "-c", self.cfgpath], env=env)

    def _pick_ports(self):
        if "listen" in self._auto:
            self.config["listen"][0] = f"127.0.0.1:{free_port()}"
        if "admin_listen" in self._auto:
            self.config["admin_listen"] = f"127.0.0.1:{free_port()}"
        tcp = [a for a in self.config["listen"] if not a.startswith("unix:")]
        self.port = int(tcp[0].rsplit(":", 1)[1]) if tcp else None
        admin = self.config.get("admin_listen")
        self.admin_port = int(admin.rsplit(":", 1)[1]) if admin else None

    @property
    def spoe_addr(self):
        """The agent's address for HAProxy's server line."""
        if self.sock:
            return "unix@" + self.sock
        return f"127.0.0.1:{self.port}"

    def write_config(self, config=None):
        if config is not None:
            self.config = config
        with open(self.cfgpath, "w") as f:
            json.dump(self.config, f, indent=2)

    def _log_from(self, offset):
        try:
            with open(self.logpath, "rb") as f:
                f.seek(offset)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def _listening(self, offset, timeout):
        """Wait until this run (its log from ${offset}) says it listens on
        every "listen" address: the agent's own word, which a foreign
        listener that took the port cannot give.  The line is text or,
        with "log_format": "json", the msg of a JSON object."""
        want = [(f"listening for SPOP on {a}\n", f'"msg":"listening for SPOP on {a}"}}\n')
                for a in self.config["listen"]]
        deadline = time.time() + timeout * SLOW
        while True:
            out = self._log_from(offset)
            if all(text in out or js in out for text, js in want):
                return True
            if not self.alive() or time.time() >= deadline:
                return False
            time.sleep(0.05)

    def start(self, wait=True, timeout=10.0):
        """Start; with ${wait}, return once every listener is bound (within
        ${timeout} s, times SLOW).  A port chosen here and taken by another
        test in the meantime is chosen again (twice at most)."""
        if wait and self.config.get("log_level") not in ("debug", "info"):
            # The wait reads the agent's info line "listening for SPOP on".
            raise ValueError(f"agent {self.name}: start(wait=True) needs "
                             f"log_level info or debug, not "
                             f"{self.config.get('log_level')!r}")
        for attempt in range(3):
            try:
                offset = os.path.getsize(self.logpath)
            except OSError:
                offset = 0
            super().start()
            if not wait or self._listening(offset, timeout):
                return self
            out = self._log_from(offset)
            if (self._auto and attempt < 2 and not self.alive() and
                    "Address already in use" in out):
                log(f"{self.name}: a port chosen for it was taken meanwhile; again")
                self._pick_ports()
                self.write_config()
                continue
            print(self.output())
            raise RuntimeError(f"agent {self.name} did not start")


# A restarted agent is seen UP after one 300 ms check; DOWN takes three
# failed checks in a row, each given ${timeout check} to answer, so one
# stall of a loaded CI machine does not turn the agent DOWN (and every
# request 503).  A stopped agent needs no DOWN mark: the SPOE connection to
# it is refused, which fails the request (503) at once.
HAPROXY_FAST_CHECKS = "check inter 300ms rise 1 fall 3"
HAPROXY_CHECK_TIMEOUT = f"timeout check {3 * SLOW:g}s"
# APIM health checks every 300 ms in tests (5 s in the example).
APIM_FAST_CHECKS = "check inter 300ms fall 2 rise 1"
APIM_STATUS_PATH = "/status-0123456789abcdef"


def _edit(text, old, new, what):
    """${text} with ${old} replaced; an example that no longer holds ${old}
    is an error, not a silently unedited config."""
    if old not in text:
        raise RuntimeError(f"{what}: {old.strip()!r} not found")
    return text.replace(old, new)


class HAProxy(Proc):
    """Debian's haproxy running haproxy-conf/haproxy.cfg and iam.spoe.conf.

    The example files are used as shipped; only the presetenv values are
    set through the environment, and the agent server line's check timers
    are shortened (so tests need not wait 4 s for a restarted agent).
    """

    def __init__(self, agent_addr, apim_addr, name="haproxy", extra_env=None,
                 spoe_edit=None, cfg_edit=None, as_shipped=False, stats=False,
                 expose_err=False):
        """${as_shipped}: the example files without any edit (only the
        presetenv values come from the environment).  The runtime API
        socket (HAPROXY_RUNTIME) is always there, for cli(); ${stats} is
        kept for older callers.  ${expose_err}: a request failed by the
        SPOE filter is answered 503 with headers X-SPOE-Err (txn.iam.err,
        the set-on-error code) and X-SPOE-Ptime (txn.iam.ptime), the same
        status the example config gives.  Region B of APIM (APIM_ADDR_B)
        is ${apim_addr} too unless ${extra_env} names another; PROM_BIND
        is a free port (prom_port)."""
        d = pki()
        self.port = free_port()
        _log_version_once()
        cfg = open(os.path.join(SOURCE_DIR, "haproxy-conf", "haproxy.cfg")).read()
        if not as_shipped:
            cfg = _edit(cfg, "check inter 2s rise 2 fall 2", HAPROXY_FAST_CHECKS, "haproxy.cfg")
            cfg = _edit(cfg, "    option spop-check\n",
                        f"    option spop-check\n    {HAPROXY_CHECK_TIMEOUT}\n", "haproxy.cfg")
            cfg = _edit(cfg, "check inter 5s fall 3 rise 2", APIM_FAST_CHECKS, "haproxy.cfg")
        self.stats_sock = os.path.join(_tmp, f"{name}.runtime.sock")
        self.prom_port = free_port()
        if expose_err:
            first = "    # Agent down, slow, erroring or silent: 503.\n"
            cfg = _edit(cfg, first, first +
                        '    http-request return status 503 content-type text/plain'
                        ' string "spoe error" hdr X-SPOE-Err "%[var(txn.iam.err)]"'
                        ' hdr X-SPOE-Ptime "%[var(txn.iam.ptime)]"'
                        ' if { var(txn.iam.err) -m found }\n', "haproxy.cfg")
        # Test logs go to our log file, with nothing lost to a syslog socket.
        if cfg_edit:
            cfg = cfg_edit(cfg)
        spoe = open(os.path.join(SOURCE_DIR, "haproxy-conf", "iam.spoe.conf")).read()
        if spoe_edit:
            spoe = spoe_edit(spoe)
        self.cfgpath = os.path.join(_tmp, f"{name}.cfg")
        self.spoepath = os.path.join(_tmp, f"{name}.spoe.conf")
        open(self.cfgpath, "w").write(cfg)
        open(self.spoepath, "w").write(spoe)
        env = dict(os.environ)
        env.update({
            "IAM_BIND": f"127.0.0.1:{self.port}",
            "IAM_CERT": os.path.join(d, "server.pem"),
            "IAM_CLIENT_CA": os.path.join(d, "clients-ca.pem"),
            "IAM_SPOE_CONF": self.spoepath,
            "IAM_AGENT": agent_addr,
            "APIM_ADDR": apim_addr,
            "APIM_SNI": "localhost",
            "APIM_ADDR_B": apim_addr,
            "APIM_SNI_B": "localhost",
            "APIM_CA": os.path.join(d, "ca.pem"),
            "PROM_BIND": f"127.0.0.1:{self.prom_port}",
            # Load tests send one identity's requests by the thousand: the
            # per-identity rate limit is tested with its own value.
            "IAM_RATE_LIMIT": "1000000000",
            "HAPROXY_RUNTIME": self.stats_sock,
            "IAM_FRONT_DOOR_RANGES": os.path.join(SOURCE_DIR, "haproxy-conf",
                                                  "azure-front-door-backend.acl"),
        })
        if extra_env:
            env.update(extra_env)
        super().__init__(name, [HAPROXY_BIN, "-db", "-f", self.cfgpath], env=env,
                         cwd=_tmp)

    def check_config(self, *extra, path=None):
        """haproxy -c on this config (or ${path}, with this environment)."""
        r = subprocess.run([HAPROXY_BIN, "-c", *extra, "-f", path or self.cfgpath],
                           env=self.env, cwd=_tmp, capture_output=True, text=True,
                           timeout=30)
        return r.returncode, r.stdout + r.stderr

    def start(self):
        super().start()
        if not wait_port(self.port, proc=self.p):
            print(self.output())
            raise RuntimeError("haproxy did not start")
        # The runtime API socket may appear a moment after the listeners.
        if not wait_for(lambda: os.path.exists(self.stats_sock), timeout=5):
            print(self.output())
            raise RuntimeError("haproxy's runtime API socket did not appear")
        return self

    def version(self):
        return haproxy_version()

    def cli(self, command, timeout=5.0):
        """One command on the runtime API socket; its answer."""
        with socket.socket(socket.AF_UNIX) as sk:
            sk.settimeout(timeout * SLOW)
            sk.connect(self.stats_sock)
            sk.sendall(command.encode() + b"\n")
            out = b""
            while True:
                d = sk.recv(65536)
                if not d:
                    return out.decode(errors="replace")
                out += d

    def server_state(self, backend="spoa-iam", server="agent1"):
        """(status, last check) of ${server} from "show stat": e.g. ("UP", "L7OK")."""
        out = self.cli("show stat")
        head = None
        for line in out.splitlines():
            if line.startswith("# "):
                head = line[2:].split(",")
                continue
            f = line.split(",")
            if head and len(f) >= len(head) and f[0] == backend and f[1] == server:
                row = dict(zip(head, f))
                return row.get("status"), row.get("check_status")
        return None, None


def spoe_timeout_processing():
    """Seconds of "timeout processing" in the shipped iam.spoe.conf."""
    text = open(os.path.join(SOURCE_DIR, "haproxy-conf", "iam.spoe.conf")).read()
    m = re.search(r"^\s*timeout processing (\d+)(ms|s)?\s*$", text, re.M)
    if not m:
        raise RuntimeError("iam.spoe.conf: no timeout processing line")
    return int(m.group(1)) / (1000.0 if m.group(2) == "ms" else 1.0)


_version = None


def haproxy_version():
    """The version HAPROXY_BIN says it is, e.g. "3.2.26-1"."""
    global _version
    if _version is None:
        r = subprocess.run([HAPROXY_BIN, "-v"], capture_output=True, text=True, timeout=30)
        m = re.search(r"version (\S+)", r.stdout)
        _version = m.group(1) if m else "?"
    return _version


def haproxy_series():
    """(major, minor) of HAPROXY_BIN: (2, 6), (3, 0), (3, 2) ..."""
    m = re.match(r"(\d+)\.(\d+)", haproxy_version())
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def spop_mux():
    """True for 3.1 and later, where SPOE runs on the SPOP multiplexer
    (pooled backend connections); False for the older applet engine."""
    return haproxy_series() >= (3, 1)


_version_logged = False


def _log_version_once():
    global _version_logged
    if not _version_logged:
        _version_logged = True
        log(f"HAProxy {haproxy_version()} ({HAPROXY_BIN})")


# ---------------------------------------------------------------- APIM stand-in

class _EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _reply(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        body = json.dumps({
            "server": self.server.name,
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
        }).encode()
        if self.path == APIM_STATUS_PATH:
            # APIM's health endpoint: HAProxy's checks, not traffic.
            self.server.checks += 1
            self.server.check_host = self.headers.get("Host")
            self.send_response(503 if self.server.down else 200)
        else:
            self.server.hits += 1
            self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _reply

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_OPTIONS(self):
        self._reply()

    def log_message(self, *a):
        pass


class _QuietServer(ThreadingHTTPServer):
    """A client that goes away mid-answer (HAProxy's health checks close
    at once) is not an error worth a traceback in the test's log."""

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (ssl.SSLError, ConnectionError)):
            return
        super().handle_error(request, client_address)


class EchoBackend:
    """HTTPS server on loopback that answers with the request it received
    (and its ${name}, as "server").  Requests for APIM's health endpoint
    count in checks, not hits; with down set they get 503."""

    def __init__(self, name="apim"):
        d = pki()
        self.port = free_port()
        self.srv = _QuietServer(("127.0.0.1", self.port), _EchoHandler)
        self.srv.hits = 0
        self.srv.checks = 0
        self.srv.check_host = None
        self.srv.down = False
        self.srv.name = name
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(d, "server-chain.crt"), os.path.join(d, "server.key"))
        self.srv.socket = ctx.wrap_socket(self.srv.socket, server_side=True)
        self.t = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.t.start()

    @property
    def addr(self):
        return f"127.0.0.1:{self.port}"

    @property
    def hits(self):
        return self.srv.hits

    @property
    def checks(self):
        return self.srv.checks

    def set_down(self, down):
        """APIM's health endpoint answers 503 (${down}) or 200."""
        self.srv.down = down


# ---------------------------------------------------------------- curl

class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def backend_header(self, name):
        j = self.json()
        if not j:
            return None
        return j["headers"].get(name.lower())


def curl(port, path="/", host=None, headers=None, method="GET", cert=None, key=None,
         timeout=10):
    """One request with the curl binary over TLS to 127.0.0.1:${port}."""
    d = pki()
    argv = ["curl", "-sS", "--max-time", str(timeout * SLOW), "-o", "-",
            "-D", "-", "--cacert", os.path.join(d, "ca.pem"),
            "--resolve", f"localhost:{port}:127.0.0.1", "-X", method,
            "--path-as-is"]
    if host:
        argv += ["-H", f"Host: {host}"]
    for k, v in (headers or {}).items():
        argv += ["-H", f"{k}: {v}"]
    if cert:
        argv += ["--cert", cert]
        if key:
            argv += ["--key", key]
    argv.append(f"https://localhost:{port}{path}")
    r = subprocess.run(argv, capture_output=True, timeout=timeout * SLOW + 5)
    out = r.stdout.decode(errors="replace")
    if r.returncode != 0 and not out:
        return Resp(0, {}, r.stderr.decode(errors="replace"))
    # -D - writes headers first, then the body follows.
    head, _, body = out.partition("\r\n\r\n")
    lines = head.split("\r\n")
    m = re.match(r"HTTP/\S+ (\d+)", lines[0]) if lines else None
    status = int(m.group(1)) if m else 0
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return Resp(status, hdrs, body)


# ---------------------------------------------------------------- raw SPOP
# An independent, minimal SPOP encoder/decoder (not the agent's codec), so a
# bug in one cannot hide the same bug in the other.

def varint(v):
    if v < 240:
        return bytes([v])
    out = [(v & 0xFF) | 0xF0]
    v = (v - 240) >> 4
    while v >= 128:
        out.append((v & 0xFF) | 0x80)
        v = (v - 128) >> 7
    out.append(v)
    return bytes(out)


def read_varint(b, i):
    v = b[i]
    i += 1
    if v < 240:
        return v, i
    shift = 4
    while True:
        c = b[i]
        i += 1
        v += c << shift
        shift += 7
        if c < 128:
            return v, i


def s(x):
    x = x.encode() if isinstance(x, str) else x
    return varint(len(x)) + x


def t_str(x):
    return b"\x08" + s(x)


def t_bin(x):
    return b"\x09" + s(x)


def t_uint32(v):
    return b"\x03" + varint(v)


def t_int64(v):
    return b"\x04" + varint(v & 0xFFFFFFFFFFFFFFFF)


def t_bool(v):
    return b"\x11" if v else b"\x01"


def t_ipv4(a):
    return b"\x06" + socket.inet_aton(a)


def t_ipv6(a):
    return b"\x07" + socket.inet_pton(socket.AF_INET6, a)


def frame(ftype, payload, sid=0, fid=0, flags=1):
    body = bytes([ftype]) + struct.pack(">I", flags) + varint(sid) + varint(fid) + payload
    return struct.pack(">I", len(body)) + body


def haproxy_hello(caps="pipelining", mfs=16380, healthcheck=False, versions="2.0"):
    p = s("supported-versions") + t_str(versions)
    p += s("max-frame-size") + t_uint32(mfs)
    p += s("capabilities") + t_str(caps)
    if healthcheck:
        p += s("healthcheck") + t_bool(True)
    p += s("engine-id") + t_str("5bd0c6a4-0000-4000-8000-000000000001")
    return frame(1, p)


def notify(sid, fid, args, message="check-request"):
    """args: list of (name, encoded typed value)."""
    p = s(message) + bytes([len(args)])
    for k, v in args:
        p += s(k) + v
    return frame(3, p, sid, fid)


def haproxy_disconnect(status=0, msg="normal"):
    return frame(2, s("status-code") + t_uint32(status) + s("message") + t_str(msg))


def decode_typed(b, i):
    t = b[i] & 0x0F
    fl = b[i] & 0xF0
    i += 1
    if t == 0:
        return None, i
    if t == 1:
        return bool(fl & 0x10), i
    if t in (2, 3, 4, 5):
        v, i = read_varint(b, i)
        if t in (2, 4) and v >= 1 << 63:
            v -= 1 << 64
        return v, i
    if t == 6:
        return socket.inet_ntoa(b[i:i + 4]), i + 4
    if t == 7:
        return socket.inet_ntop(socket.AF_INET6, b[i:i + 16]), i + 16
    n, i = read_varint(b, i)
    v = b[i:i + n]
    return (v.decode(errors="replace") if t == 8 else v), i + n


def parse_frame(body):
    """(type, flags, sid, fid, payload) of a frame body."""
    ftype = body[0]
    flags = struct.unpack(">I", body[1:5])[0]
    sid, i = read_varint(body, 5)
    fid, i = read_varint(body, i)
    return ftype, flags, sid, fid, body[i:]


def parse_kv(p):
    out = {}
    i = 0
    while i < len(p):
        n, i = read_varint(p, i)
        k = p[i:i + n].decode()
        i += n
        v, i = decode_typed(p, i)
        out[k] = v
    return out


def parse_actions(p):
    out = {}
    i = 0
    while i < len(p):
        atype, nargs, scope = p[i], p[i + 1], p[i + 2]
        i += 3
        n, i = read_varint(p, i)
        name = p[i:i + n].decode()
        i += n
        if atype == 1:
            v, i = decode_typed(p, i)
            out[name] = v
        else:
            out[name] = "<unset>"
    return out


class Spop:
    """A raw SPOP client socket."""

    def __init__(self, port, host="127.0.0.1", timeout=5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout * SLOW)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def shut_wr(self):
        self.sock.shutdown(socket.SHUT_WR)

    def recv_frame(self):
        """Next frame body, or None at EOF."""
        while True:
            if len(self.buf) >= 4:
                n = struct.unpack(">I", self.buf[:4])[0]
                if len(self.buf) >= 4 + n:
                    body = self.buf[4:4 + n]
                    self.buf = self.buf[4 + n:]
                    return body
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, socket.timeout):
                return None
            if not chunk:
                return None
            self.buf += chunk

    def hello(self, **kw):
        self.send(haproxy_hello(**kw))
        body = self.recv_frame()
        if body is None:
            return None
        ftype, flags, sid, fid, payload = parse_frame(body)
        return ftype, flags, parse_kv(payload)

    def closed(self, timeout=5.0):
        """True if the peer closes the connection within ${timeout}."""
        self.sock.settimeout(timeout * SLOW)
        try:
            while True:
                d = self.sock.recv(65536)
                if not d:
                    return True
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


def expect_disconnect(conn):
    """(status, message) of the AGENT-DISCONNECT that should come next."""
    body = conn.recv_frame()
    if body is None:
        return None, None
    ftype, flags, sid, fid, payload = parse_frame(body)
    if ftype != 102:
        return ("not-a-disconnect", ftype), None
    kv = parse_kv(payload)
    return kv.get("status-code"), kv.get("message")


def ack_for(conn):
    """(sid, fid, actions) of the next frame, which should be an ACK."""
    body = conn.recv_frame()
    if body is None:
        return None
    ftype, flags, sid, fid, payload = parse_frame(body)
    if ftype != 103:
        return ("not-an-ack", ftype, parse_kv(payload) if ftype == 102 else payload)
    return sid, fid, parse_actions(payload)


def acks(conn, n):
    """{stream id: actions} of the next ${n} ACKs on ${conn}, fewer if
    another frame or the end comes first."""
    got = {}
    for _ in range(n):
        a = ack_for(conn)
        if a is None or a[0] == "not-an-ack":
            break
        got[a[0]] = a[2]
    return got


def agent_metrics(agent):
    """The agent's /metrics as {name: value}, each name summed over its
    label sets (spoa_iam_protocol_errors_total of every status, ...)."""
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{agent.admin_port}/metrics",
                                timeout=5 * SLOW) as r:
        text = r.read().decode()
    out = {}
    for name, value in re.findall(r"^(spoa_iam_[a-z0-9_]+)(?:\{[^}]*\})? (\S+)$",
                                  text, re.M):
        try:
            out[name] = out.get(name, 0) + float(value)
        except ValueError:
            pass
    return {k: int(v) if float(v).is_integer() else v for k, v in out.items()}


def parse_notify(payload):
    """{message: {arg: value}} of a NOTIFY payload."""
    out = {}
    i = 0
    while i < len(payload):
        n, i = read_varint(payload, i)
        name = payload[i:i + n].decode(errors="replace")
        i += n
        nargs = payload[i]
        i += 1
        args = {}
        for _ in range(nargs):
            n, i = read_varint(payload, i)
            k = payload[i:i + n].decode(errors="replace")
            i += n
            args[k], i = decode_typed(payload, i)
        out[name] = args
    return out


# ---------------------------------------------------------------- SPOP tap

class TapConn:
    """What one HAProxy -> agent connection carried, as seen by SpopTap."""

    def __init__(self, cid):
        self.id = cid
        self.opened = time.time()
        self.closed = None
        self.hello = None             # HAPROXY-HELLO key/values
        self.agent_hello = None       # AGENT-HELLO key/values
        self.healthcheck = False
        self.notifies = 0
        self.acks = 0
        self.max_inflight = 0         # NOTIFYs sent, their ACK not yet delivered
        self.out_of_order = 0         # ACKs delivered before an older NOTIFY's
        self.max_notify = 0           # largest NOTIFY frame (bytes after the length)
        self.max_ack = 0
        self.haproxy_disconnect = None  # (status, message) of HAPROXY-DISCONNECT
        self.agent_disconnect = None
        self.upstream_failed = False
        self.notify_args = {}         # (sid, fid) -> check-request args
        self.sizes = {}               # (sid, fid) -> [NOTIFY bytes, ACK bytes]
        self.outstanding = []         # (sid, fid) in the order they were sent

    @property
    def spop(self):
        """A connection that carried requests (not a health check)."""
        return self.hello is not None and not self.healthcheck


class SpopTap:
    """A relay between HAProxy and the agent that watches every SPOP frame:
    how many connections HAProxy opens, which are health checks, how many
    NOTIFYs are in flight on each, whether ACKs overtake older NOTIFYs, how
    large the frames are.  It changes no byte.  Bytes from HAProxy are
    passed on as they come; so are the agent's, unless ${ack_delay} is set:
    a function of a NOTIFY's check-request arguments giving seconds to
    hold that NOTIFY's ACK back (frames then go on one by one, the held
    ACK after its delay; later frames may overtake it).

    HAProxy connects to ${addr}; the tap connects on to ${upstream}
    ("127.0.0.1:port" or "unix@/path").  If the agent cannot be reached,
    the HAProxy side is closed at once."""

    def __init__(self, upstream, ack_delay=None):
        self.upstream = upstream
        self.ack_delay = ack_delay
        self.lock = threading.Lock()
        self.conns = []
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(256)
        self.port = self.lsock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def addr(self):
        return f"127.0.0.1:{self.port}"

    def _connect_upstream(self):
        if self.upstream.startswith("unix@"):
            sk = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sk.connect(self.upstream[5:])
        else:
            host, port = self.upstream.rsplit(":", 1)
            sk = socket.create_connection((host, int(port)), timeout=5)
            sk.settimeout(None)
        return sk

    def _accept(self):
        while True:
            try:
                hsk, _ = self.lsock.accept()
            except OSError:
                return
            with self.lock:
                c = TapConn(len(self.conns) + 1)
                self.conns.append(c)
            threading.Thread(target=self._serve, args=(c, hsk), daemon=True).start()

    def _serve(self, c, hsk):
        try:
            ask = self._connect_upstream()
        except OSError:
            c.upstream_failed = True
            c.closed = time.time()
            hsk.close()
            return
        out = _TapSender(hsk)
        t = threading.Thread(target=self._agent_to_haproxy, args=(c, ask, out), daemon=True)
        t.start()
        self._haproxy_to_agent(c, hsk, ask)
        t.join()
        out.finish()
        for sk in (hsk, ask):
            try:
                sk.close()
            except OSError:
                pass
        c.closed = time.time()

    @staticmethod
    def _frames(buf):
        """Complete frame bodies at the head of ${buf}, and the rest."""
        bodies = []
        while len(buf) >= 4:
            n = struct.unpack(">I", buf[:4])[0]
            if len(buf) < 4 + n:
                break
            bodies.append((buf[:4 + n], buf[4:4 + n]))
            buf = buf[4 + n:]
        return bodies, buf

    def _haproxy_to_agent(self, c, hsk, ask):
        buf = b""
        while True:
            try:
                d = hsk.recv(65536)
            except OSError:
                d = b""
            if not d:
                try:
                    ask.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            buf += d
            frames, buf = self._frames(buf)
            for raw, body in frames:
                self._seen_from_haproxy(c, body)
            try:
                ask.sendall(d)
            except OSError:
                return

    def _seen_from_haproxy(self, c, body):
        try:
            ftype, flags, sid, fid, payload = parse_frame(body)
        except (IndexError, struct.error):
            return
        with self.lock:
            if ftype == 1:
                c.hello = parse_kv(payload)
                c.healthcheck = bool(c.hello.get("healthcheck"))
            elif ftype == 2:
                kv = parse_kv(payload)
                c.haproxy_disconnect = (kv.get("status-code"), kv.get("message"))
            elif ftype == 3:
                c.notifies += 1
                c.max_notify = max(c.max_notify, len(body))
                c.outstanding.append((sid, fid))
                c.max_inflight = max(c.max_inflight, len(c.outstanding))
                try:
                    args = parse_notify(payload).get("check-request", {})
                except (IndexError, UnicodeDecodeError):
                    args = {}
                c.notify_args[(sid, fid)] = args
                c.sizes[(sid, fid)] = [len(body), None]

    def _delivered_to_haproxy(self, c, body):
        try:
            ftype, flags, sid, fid, payload = parse_frame(body)
        except (IndexError, struct.error):
            return
        with self.lock:
            if ftype == 101:
                c.agent_hello = parse_kv(payload)
            elif ftype == 102:
                kv = parse_kv(payload)
                c.agent_disconnect = (kv.get("status-code"), kv.get("message"))
            elif ftype == 103:
                c.acks += 1
                c.max_ack = max(c.max_ack, len(body))
                key = (sid, fid)
                if key in c.sizes:
                    c.sizes[key][1] = len(body)
                if key in c.outstanding:
                    if c.outstanding[0] != key:
                        c.out_of_order += 1
                    c.outstanding.remove(key)

    def _args_of(self, c, sid, fid):
        with self.lock:
            return c.notify_args.get((sid, fid), {})

    def _agent_to_haproxy(self, c, ask, out):
        buf = b""
        while True:
            try:
                d = ask.recv(65536)
            except OSError:
                d = b""
            if not d:
                out.close_when_sent()
                return
            if self.ack_delay is None:
                buf += d
                frames, buf = self._frames(buf)
                # Pass the bytes on as they came (the agent's own writes),
                # and note the frames that are now complete.
                out.send_now(d, lambda fr=frames: [self._delivered_to_haproxy(c, b) for _, b in fr])
                continue
            buf += d
            frames, buf = self._frames(buf)
            for raw, body in frames:
                delay = 0.0
                try:
                    ftype, _, sid, fid, _ = parse_frame(body)
                    if ftype == 103:
                        delay = self.ack_delay(self._args_of(c, sid, fid)) or 0.0
                except (IndexError, struct.error):
                    pass
                out.send_at(time.time() + delay, raw,
                            lambda b=body: self._delivered_to_haproxy(c, b))

    def sizes_for(self, path):
        """(NOTIFY bytes, ACK bytes or None) of the request for ${path}, the
        frame lengths (everything after the 4 length bytes); None if no
        NOTIFY carried that path."""
        with self.lock:
            for c in self.conns:
                for key, args in c.notify_args.items():
                    if args.get("path") == path:
                        return tuple(c.sizes.get(key, (None, None)))
        return None

    def connection_of(self, path):
        """The TapConn whose NOTIFY carried ${path}, or None."""
        with self.lock:
            for c in self.conns:
                if any(a.get("path") == path for a in c.notify_args.values()):
                    return c
        return None

    def stats(self):
        """A summary of the connections so far (health checks apart)."""
        with self.lock:
            spop = [c for c in self.conns if c.spop]
            return {
                "connections": len(spop),
                "healthchecks": sum(1 for c in self.conns if c.healthcheck),
                "notifies": sum(c.notifies for c in spop),
                "acks": sum(c.acks for c in spop),
                "max_inflight": max((c.max_inflight for c in spop), default=0),
                "out_of_order": sum(c.out_of_order for c in spop),
                "max_notify": max((c.max_notify for c in spop), default=0),
                "open": sum(1 for c in spop if c.closed is None),
            }

    def close(self):
        try:
            self.lsock.close()
        except OSError:
            pass


class _TapSender:
    """Writes to one HAProxy-side socket in release-time order, from one
    thread, and calls each chunk's hook just before writing it."""

    def __init__(self, sk):
        self.sk = sk
        self.cv = threading.Condition()
        self.queue = []          # (release time, seq, bytes, hook)
        self.seq = 0
        self.closing = False
        self.done = False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def send_at(self, when, data, hook=None):
        with self.cv:
            self.seq += 1
            self.queue.append((when, self.seq, data, hook))
            self.queue.sort(key=lambda e: (e[0], e[1]))
            self.cv.notify()

    def send_now(self, data, hook=None):
        self.send_at(0.0, data, hook)

    def close_when_sent(self):
        with self.cv:
            self.closing = True
            self.cv.notify()

    def finish(self):
        self.close_when_sent()
        self.t.join(timeout=30)

    def _run(self):
        while True:
            with self.cv:
                while True:
                    if self.queue and self.queue[0][0] <= time.time():
                        _, _, data, hook = self.queue.pop(0)
                        break
                    if not self.queue and self.closing:
                        try:
                            self.sk.shutdown(socket.SHUT_WR)
                        except OSError:
                            pass
                        self.done = True
                        return
                    wait = (self.queue[0][0] - time.time()) if self.queue else None
                    self.cv.wait(timeout=wait)
            # Noted as delivered before the write: once HAProxy has the ACK
            # it may send the next NOTIFY at once, and that one must not be
            # counted in flight together with the one just answered.
            if hook:
                hook()
            try:
                self.sk.sendall(data)
            except OSError:
                pass


def curl_many(port, paths, parallel=20, **kw):
    """curl() for each path, ${parallel} at a time; the answers in order."""
    out = [None] * len(paths)
    it = iter(range(len(paths)))
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                i = next(it, None)
            if i is None:
                return
            out[i] = curl(port, paths[i], **kw)

    ts = [threading.Thread(target=worker) for _ in range(min(parallel, len(paths)))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out
