"""A scripted HTTPS identity provider on loopback, for the fetch tests.

It runs in a thread of the test process and serves, over real TLS (the
harness PKI: server-chain.crt/server.key, CA ca.pem):

  /.well-known/openid-configuration   discovery (issuer, jwks_uri)
  /keys                               the JWKS of the current keys
  /policy                             a policy document (set by the test)
  /crl                                CRL bytes (set by the test)
  /msi/token                          an IMDS-like managed-identity endpoint
  /oauth2/token                       an OAuth 2.0 client-credentials endpoint

and any other path the test registers with set_doc().  Per path the test
scripts the behaviour (ok, 500, hang, garbage, oversize, close), the
Cache-Control value, whether ETag/If-None-Match answers 304, and whether
a bearer token is required.  Every request is counted and recorded with
its headers.  An optional second port requires a client certificate
(clients-ca.pem), for mTLS-to-the-source tests.
"""
import hashlib
import json
import os
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from harness import free_port, pki
from tokens import Key, jwks


class Doc:
    """One served path: a body (bytes or a callable returning bytes)."""

    def __init__(self, body=b"", ctype="application/json", cache_control=None,
                 etag=True, last_modified=None):
        self.body = body
        self.ctype = ctype
        self.cache_control = cache_control
        self.etag = etag
        self.last_modified = last_modified
        self.mode = "ok"            # ok | 500 | 404 | hang | garbage | oversize | close
        self.oversize = 2 << 20
        self.require_bearer = None  # token (or issued-token prefix) required

    def bytes(self):
        b = self.body() if callable(self.body) else self.body
        return b if isinstance(b, bytes) else json.dumps(b).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def setup(self):
        super().setup()
        with self.server.idp.lock:
            self.server.conns.add(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            with self.server.idp.lock:
                self.server.conns.discard(self.connection)

    def _send(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        try:
            self.end_headers()
            if body and self.command != "HEAD":
                self.wfile.write(body)
        except OSError:
            # The client gave up (oversize body, timeout): expected here.
            self.close_connection = True

    def _handle(self):
        idp = self.server.idp
        u = urlsplit(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        hdrs = {k.lower(): v for k, v in self.headers.items()}
        idp._record(u.path, u.query, hdrs, body, self.server.mtls)
        if u.path == "/msi/token":
            return self._msi(idp, u, hdrs)
        if u.path == "/oauth2/token":
            return self._oauth(idp, body)
        doc = idp.docs.get(u.path)
        if doc is None:
            return self._send(404, b"not found")
        if doc.require_bearer is not None and \
                not idp._bearer_ok(doc.require_bearer, hdrs.get("authorization")):
            return self._send(401, b"unauthorized",
                              {"WWW-Authenticate": "Bearer"})
        mode = doc.mode
        if mode == "hang":
            idp._release.wait(30)
            return self._send(500, b"released")
        if mode == "close":
            self.close_connection = True
            self.wfile.flush()
            self.connection.shutdown(2)
            return None
        if mode in ("500", "404", "503"):
            return self._send(int(mode), b"scripted failure")
        if mode == "garbage":
            return self._send(200, b"{\"keys\": [ not json", {"Content-Type": doc.ctype})
        if mode == "oversize":
            return self._send(200, b" " * doc.oversize, {"Content-Type": doc.ctype})
        data = doc.bytes()
        h = {"Content-Type": doc.ctype}
        if doc.cache_control is not None:
            h["Cache-Control"] = doc.cache_control
        if doc.last_modified:
            h["Last-Modified"] = doc.last_modified
        if doc.etag:
            tag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
            h["ETag"] = tag
            if hdrs.get("if-none-match") == tag:
                idp._count_304(u.path)
                return self._send(304, b"", h)
        if doc.last_modified and not doc.etag and \
                hdrs.get("if-modified-since") == doc.last_modified:
            idp._count_304(u.path)
            return self._send(304, b"", h)
        return self._send(200, data, h)

    def _msi(self, idp, u, hdrs):
        q = parse_qs(u.query)
        if hdrs.get("metadata") != "true" or "resource" not in q or \
                "api-version" not in q:
            return self._send(400, json.dumps({"error": "invalid_request"}).encode())
        if idp.msi_mode != "ok":
            return self._send(500, json.dumps({"error": "unavailable"}).encode())
        tok = idp.next_token("msi")
        now = int(time.time())
        # IMDS answers with strings.
        body = {"access_token": tok, "refresh_token": "",
                "expires_in": str(idp.token_lifetime),
                "expires_on": str(now + idp.token_lifetime),
                "not_before": str(now), "resource": q["resource"][0],
                "token_type": "Bearer"}
        return self._send(200, json.dumps(body).encode(),
                          {"Content-Type": "application/json"})

    def _oauth(self, idp, body):
        form = parse_qs(body.decode(errors="replace"))
        ok = (form.get("grant_type") == ["client_credentials"] and
              form.get("client_id") == [idp.client_id] and
              form.get("client_secret") == [idp.client_secret])
        if not ok:
            return self._send(401, json.dumps({
                "error": "invalid_client",
                "error_description": "bad client credentials"}).encode(),
                {"Content-Type": "application/json"})
        tok = idp.next_token("cc")
        return self._send(200, json.dumps({
            "access_token": tok, "token_type": "Bearer",
            "expires_in": idp.token_lifetime}).encode(),
            {"Content-Type": "application/json"})

    do_GET = do_POST = do_HEAD = _handle


class IdP:
    """The scripted provider.  Attribute changes take effect at once."""

    def __init__(self, issuer=None, port=None, mtls_port=False, start=True):
        d = pki()
        self.port = port or free_port()
        self.base = f"https://localhost:{self.port}"
        self.issuer = issuer or self.base
        self.keys = [Key("RS256", "key-1")]
        self.lock = threading.Lock()
        self.hits = {}
        self.not_modified = {}
        self.requests = []
        self.docs = {}
        self.discovery_extra = {}
        self.msi_mode = "ok"
        self.token_lifetime = 3600
        self.client_id = "spoa-iam-test"
        self.client_secret = "s3cr3t-value"
        self.tokens = []
        self._release = threading.Event()
        self._servers = []
        self._holds = []            # ports kept while stopped
        self.mtls_port = free_port() if mtls_port else None
        self.docs["/.well-known/openid-configuration"] = Doc(self._discovery)
        self.docs["/keys"] = Doc(lambda: jwks(*self.keys))
        self._ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._ctx.load_cert_chain(os.path.join(d, "server-chain.crt"),
                                  os.path.join(d, "server.key"))
        self._mctx = None
        if mtls_port:
            self._mctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._mctx.load_cert_chain(os.path.join(d, "server-chain.crt"),
                                       os.path.join(d, "server.key"))
            self._mctx.verify_mode = ssl.CERT_REQUIRED
            self._mctx.load_verify_locations(os.path.join(d, "clients-ca.pem"))
        if start:
            self.start()

    # ---------------------------------------------------------- content
    def _discovery(self):
        doc = {"issuer": self.issuer, "jwks_uri": self.base + "/keys",
               "token_endpoint": self.base + "/oauth2/token",
               "id_token_signing_alg_values_supported": ["RS256"]}
        doc.update(self.discovery_extra)
        return doc

    def set_doc(self, path, body, **kw):
        d = self.docs.get(path)
        if d is None:
            d = self.docs[path] = Doc(body, **kw)
        else:
            d.body = body
            for k, v in kw.items():
                setattr(d, k, v)
        return d

    def doc(self, path):
        return self.docs[path]

    def _bearer_ok(self, want, header):
        """want: a token, or a prefix such as "tok-msi-" that any token
        this provider issued with that prefix satisfies."""
        if not header or not header.startswith("Bearer "):
            return False
        tok = header[7:]
        if want.endswith("-"):
            with self.lock:
                return tok.startswith(want) and tok in self.tokens
        return tok == want

    def next_token(self, kind):
        with self.lock:
            tok = f"tok-{kind}-{len(self.tokens) + 1}-" + os.urandom(6).hex()
            self.tokens.append(tok)
            return tok

    # ---------------------------------------------------------- recording
    def _record(self, path, query, headers, body, mtls):
        with self.lock:
            self.hits[path] = self.hits.get(path, 0) + 1
            self.requests.append({"t": time.time(), "path": path, "query": query,
                                  "headers": headers, "body": body, "mtls": mtls})

    def _count_304(self, path):
        with self.lock:
            self.not_modified[path] = self.not_modified.get(path, 0) + 1

    def hit(self, path):
        with self.lock:
            return self.hits.get(path, 0)

    def requests_for(self, path):
        with self.lock:
            return [r for r in self.requests if r["path"] == path]

    def reset_counts(self):
        with self.lock:
            self.hits = {}
            self.not_modified = {}
            self.requests = []

    # ---------------------------------------------------------- life
    def _serve(self, port, ctx, mtls):
        srv = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        srv.daemon_threads = True
        srv.idp = self
        srv.mtls = mtls
        srv.conns = set()
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                             daemon=True)
        t.start()
        self._servers.append(srv)

    def start(self):
        """Listen (again: the same ports)."""
        self._release.clear()
        ThreadingHTTPServer.allow_reuse_address = True
        for h in self._holds:
            h.close()
        self._holds = []
        self._serve(self.port, self._ctx, False)
        if self._mctx is not None:
            self._serve(self.mtls_port, self._mctx, True)
        return self

    def stop(self):
        """Close the listening sockets (connections are refused after)."""
        self._release.set()
        for s in self._servers:
            s.shutdown()
            s.server_close()
            # Kept-alive connections die too: "down" means down.
            with self.lock:
                conns = list(s.conns)
            for c in conns:
                try:
                    c.shutdown(2)
                except OSError:
                    pass
        self._servers = []
        # Keep the ports: a socket bound to them but not listening refuses
        # connections as a closed port does, and a concurrent test cannot
        # take them before start() listens on them again.
        for port in [self.port] + ([self.mtls_port] if self.mtls_port else []):
            h = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            h.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            h.bind(("127.0.0.1", port))
            self._holds.append(h)

    def release_hangs(self):
        self._release.set()

    def rearm_hangs(self):
        self._release.clear()


class Traffic:
    """Continuous requests through HAProxy on kept-alive TLS connections,
    from ${threads} threads.  ${make()} returns (label, path, headers) for
    each request; results are (time, label, status) tuples."""

    def __init__(self, port, make, threads=2, pause=0.0):
        import http.client
        self._http = http.client
        self.port = port
        self.make = make
        self.pause = pause
        self.results = []
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._ctx = ssl.create_default_context(cafile=os.path.join(pki(), "ca.pem"))
        self._threads = [threading.Thread(target=self._run, daemon=True)
                         for _ in range(threads)]

    def _conn(self):
        return self._http.HTTPSConnection("localhost", self.port, context=self._ctx,
                                          timeout=10)

    def _run(self):
        c = self._conn()
        while not self._stop.is_set():
            label, path, headers = self.make()
            try:
                c.request("GET", path, headers=headers)
                r = c.getresponse()
                r.read()
                status = r.status
                if r.getheader("connection", "").lower() == "close":
                    c.close()
                    c = self._conn()
            except Exception:
                status = 0
                c.close()
                c = self._conn()
            with self.lock:
                self.results.append((time.time(), label, status))
            if self.pause:
                time.sleep(self.pause)
        c.close()

    def start(self):
        for t in self._threads:
            t.start()
        return self

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(15)
        return self.results

    def count(self):
        with self.lock:
            return len(self.results)

    def since(self, t0):
        with self.lock:
            return [r for r in self.results if r[0] >= t0]


def admin_get(agent, path):
    """(status, body text) of GET ${path} on the agent's admin listener."""
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{agent.admin_port}{path}",
                                    timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return 0, ""


def readyz(agent):
    """(status, parsed JSON or None) of /readyz."""
    st, body = admin_get(agent, "/readyz")
    try:
        return st, json.loads(body)
    except ValueError:
        return st, None


def source(agent, sid):
    """The /readyz entry of source ${sid} ("jwks:name", "policy", ...)."""
    st, j = readyz(agent)
    return ((j or {}).get("sources") or {}).get(sid) or {}


def metric(agent, name, labels=""):
    """Value of one /metrics sample (name + exact label text), or None."""
    st, body = admin_get(agent, "/metrics")
    key = name + labels + " "
    for line in body.splitlines():
        if line.startswith(key):
            return float(line[len(key):])
    return None
