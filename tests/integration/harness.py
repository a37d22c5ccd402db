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
    "admin_listen", on another free port (admin_port).  spoe_addr is the
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
        listener that took the port cannot give."""
        want = [f"listening for SPOP on {a}\n" for a in self.config["listen"]]
        deadline = time.time() + timeout * SLOW
        while True:
            out = self._log_from(offset)
            if all(w in out for w in want):
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
                 spoe_edit=None, cfg_edit=None):
        d = pki()
        self.port = free_port()
        cfg = open(os.path.join(SOURCE_DIR, "haproxy-conf", "haproxy.cfg")).read()
        cfg = _edit(cfg, "check inter 2s rise 2 fall 2", HAPROXY_FAST_CHECKS, "haproxy.cfg")
        cfg = _edit(cfg, "    option spop-check\n",
                    f"    option spop-check\n    {HAPROXY_CHECK_TIMEOUT}\n", "haproxy.cfg")
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
            "APIM_CA": os.path.join(d, "ca.pem"),
        })
        if extra_env:
            env.update(extra_env)
        super().__init__(name, [HAPROXY_BIN, "-db", "-f", self.cfgpath], env=env,
                         cwd=_tmp)

    def check_config(self):
        r = subprocess.run([HAPROXY_BIN, "-c", "-f", self.cfgpath], env=self.env,
                           cwd=_tmp, capture_output=True, text=True, timeout=30)
        return r.returncode, r.stdout + r.stderr

    def start(self):
        super().start()
        if not wait_port(self.port, proc=self.p):
            print(self.output())
            raise RuntimeError("haproxy did not start")
        return self

    def version(self):
        r = subprocess.run([HAPROXY_BIN, "-v"], capture_output=True, text=True)
        m = re.search(r"version (\S+)", r.stdout)
        return m.group(1) if m else "?"


# ---------------------------------------------------------------- APIM stand-in

class _EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _reply(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        body = json.dumps({
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
        }).encode()
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


class EchoBackend:
    """HTTPS server on loopback that answers with the request it received."""

    def __init__(self):
        d = pki()
        self.port = free_port()
        self.srv = ThreadingHTTPServer(("127.0.0.1", self.port), _EchoHandler)
        self.srv.hits = 0
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
