"""Regression tests for fetcher bugs found in review, one scenario each, each
with its own scripted provider (idp.py, HTTPS on loopback) and agent:

 - a client_secret_file that is missing at start, or vanishes before a
   token renewal: the agent keeps running, the credential shows the error
   on /readyz (counted), and it recovers once the file is back;
 - a reload that switches a source to another credential while a token
   request of the old one is in flight: the source fetches with the new
   one (it used to wait for the old token forever);
 - a negatively cached kid answered at once does not also answer (401)
   a request parked on a new, legitimately rotated kid of the same issuer;
 - requests parked on one unknown kid ask the fetcher for a refetch once
   per worker, not once each, nor again when a new snapshot comes;
 - crl_urls over plain http (CRL distribution points usually are) are
   fetched, and the CRL applies;
 - a token obtained reads no uninitialised memory (under valgrind, in the
   build without sanitizers);
 - a key set fetched from the old jwks_uri, answered after discovery
   named a new one, is dropped and the new URL fetched at once;
 - a crl_urls entry with a secret in its query string: the secret shows
   neither in /readyz (last_error) nor in the log when its CRL is refused;
 - a reload from crl_files to crl_urls does not keep the old CRL set:
   mTLS is not_ready until the crl_urls CRL is loaded, then it alone
   applies;
 - the discovery document is checked again against the issuer after a
   reload that changes the issuer but not the discovery URL, and at start
   a state_dir key set is not used when the discovery document that named
   its URL is refused;
"""
import os
import shutil
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import (SANITIZED, Agent, Spop, ack_for, acks, check, check_eq, finish,
                     free_port, log, notify, pki, t_bin, t_int64, t_ipv4, t_str,
                     tmpdir, wait_for)
from idp import IdP, metric, readyz, source
from tokens import Key, jwks, mint

AUD = "api://orders"


def fetch_cfg(**kw):
    d = {"refresh_min_s": 1, "refresh_max_s": 2, "backoff_max_s": 1,
         "ca_file": os.path.join(pki(), "ca.pem"),
         "connect_timeout_ms": 1000, "timeout_ms": 5000}
    d.update(kw)
    return d


def issuer(idp, **kw):
    d = {"name": "idp", "issuer": idp.issuer, "audiences": [AUD],
         "algorithms": ["RS256"]}
    d.update(kw)
    return d


ROUTES = [{"name": "r", "path_prefix": "/", "require": "jwt", "issuers": ["idp"]}]


def clean_stop(agent, what):
    rc = agent.stop()
    check_eq(rc, 0, f"{what}: agent exit status")
    out = agent.output()
    check("AddressSanitizer" not in out and "runtime error" not in out,
          f"{what}: no sanitizer report in the agent log")
    return out


def scenario_secret_file_missing():
    log("client_secret_file missing at start, then back, then gone at renewal")
    idp = IdP()
    B = idp.base
    idp.doc("/keys").cache_control = "max-age=1"
    idp.token_lifetime = 2          # renewed at every key refresh
    secret = os.path.join(tmpdir(), "client-secret.txt")
    agent = Agent({
        "fetch": fetch_cfg(),
        "credentials": [{"name": "cc", "type": "client_credentials",
                         "token_url": B + "/oauth2/token",
                         "client_id": idp.client_id,
                         "client_secret_file": secret}],
        "issuers": [issuer(idp, jwks_url=B + "/keys", credential="cc")],
        "routes": ROUTES,
    }, name="secret").start()

    def cred():
        return source(agent, "credential:cc")

    # It used to crash at the first token request (NULL transfer freed).
    check(wait_for(lambda: (cred().get("failures") or 0) >= 1, timeout=10),
          "missing secret file: the token request fails")
    check(agent.alive(), "missing secret file: the agent keeps running")
    c = cred()
    check_eq(c.get("state"), "error", "missing secret file: credential state")
    err = c.get("last_error") or ""
    check("client_secret_file" in err and "cannot read" in err and secret in err,
          f"missing secret file: the error names the file: {err!r}")
    check_eq(source(agent, "jwks:idp").get("state"), "error",
             "missing secret file: the source waiting for it is in error")
    check_eq(idp.hit("/oauth2/token"), 0, "no token request without a secret")

    with open(secret, "w") as f:
        f.write(idp.client_secret + "\n")
    check(wait_for(lambda: source(agent, "jwks:idp").get("state") == "ok", timeout=10),
          "secret file back: token obtained and keys fetched")
    # "ok" while the 2 s token is unexpired: polled, a stall can see it
    # "pending" between expiry and the renewal.
    check(wait_for(lambda: cred().get("state") == "ok", timeout=10),
          f"secret file back: credential ok ({cred()!r})")

    n = cred().get("failures") or 0
    os.unlink(secret)
    check(wait_for(lambda: (cred().get("failures") or 0) > n, timeout=10),
          "secret file gone at renewal: the renewal fails")
    check(agent.alive(), "secret file gone at renewal: the agent keeps running")
    out = clean_stop(agent, "secret file")
    check(idp.client_secret not in out, "the client secret is never logged")
    idp.stop()


def reload(agent, cfg):
    n = agent.output().count("reload: configuration applied")
    agent.write_config(cfg)
    agent.send_signal(signal.SIGHUP)
    return check(wait_for(lambda: agent.output().count(
        "reload: configuration applied") > n, timeout=10), "reload applied")


def scenario_credential_switch():
    log("reload switches the credential while a token request is in flight")
    idp = IdP()
    B = idp.base
    idp.set_doc("/hangtok", {"x": 1}).mode = "hang"
    cfg = {
        "fetch": fetch_cfg(timeout_ms=30000),
        "credentials": [
            {"name": "a", "type": "managed_identity", "endpoint": B + "/hangtok",
             "resource": "r"},
            {"name": "b", "type": "managed_identity", "endpoint": B + "/msi/token",
             "resource": "r"},
        ],
        "issuers": [issuer(idp, jwks_url=B + "/keys", credential="a")],
        "routes": ROUTES,
    }
    agent = Agent(cfg, name="credswitch").start()
    check(wait_for(lambda: idp.hit("/hangtok") >= 1, timeout=10),
          "token request of credential a in flight")
    cfg2 = dict(agent.config)
    cfg2["issuers"] = [issuer(idp, jwks_url=B + "/keys", credential="b")]
    reload(agent, cfg2)
    check(wait_for(lambda: source(agent, "jwks:idp").get("state") == "ok", timeout=5),
          "keys fetched with credential b while a's request still hangs")
    check(idp.hit("/msi/token") >= 1 and idp.hit("/keys") >= 1,
          "credential b asked for a token, then the keys were fetched")
    idp.release_hangs()
    clean_stop(agent, "credential switch")
    idp.stop()


def jwt_request(token, path="/orders/1"):
    return [("authz", t_str("Bearer " + token)), ("method", t_str("GET")),
            ("host", t_str("api.example.com")), ("path", t_str(path)),
            ("src", t_ipv4("192.0.2.1")), ("cert_der", b"\x00"),
            ("cert_verify", b"\x00"), ("unique_id", t_str("req"))]


def keys_in_use(agent, idp):
    """Wait until the workers verify a token of the provider's first key.
    /readyz says "ok" once the fetcher has the key set; the workers take
    the snapshot holding it from their inboxes a moment later."""
    tok = mint(idp.keys[0], iss=idp.issuer, aud=AUD)
    return wait_for(lambda: ask(agent, jwt_request(tok)).get("reason") == "ok", timeout=10)


def parking_agent(name):
    """A provider and a one-worker agent that parks requests on unknown
    kids (4 s, kid refetches 1 s apart at most), its key set fetched and in
    use."""
    idp = IdP()
    agent = Agent({
        "kid_refetch_interval_ms": 1000, "park_timeout_ms": 4000, "workers": 1,
        "fetch": fetch_cfg(refresh_min_s=600, refresh_max_s=1200),
        "issuers": [issuer(idp, jwks_url=idp.base + "/keys",
                           algorithms=["RS256", "ES256"])],
        "routes": ROUTES,
    }, name=name).start()
    check(wait_for(lambda: source(agent, "jwks:idp").get("state") == "ok", timeout=10),
          "keys fetched")
    check(keys_in_use(agent, idp), "the worker has the key set")
    return idp, agent


def scenario_negative_kid_spares_other_kids():
    log("a negatively cached kid does not answer requests parked on other kids")
    idp, agent = parking_agent("negkid")
    c = Spop(agent.port, timeout=10)
    check_eq(c.hello()[0], 101, "AGENT-HELLO")
    ghost = Key("ES256", "ghost")       # never published
    c.send(notify(1, 1, jwt_request(mint(ghost, iss=idp.issuer, aud=AUD))))
    a = ack_for(c)
    check_eq(a[2].get("reason"), "key_unknown",
             "unknown kid: refetched, not there, answered key_unknown")
    for rnd in range(2):
        time.sleep(1.1)                 # the next kid refetch may start at once
        new = Key("ES256", f"rotated-{rnd}")
        idp.keys = idp.keys + [new]
        # One write: both park before the fetcher hears of either, the
        # ghost kid first (negative cache: answered at once), then the new
        # kid, whose refetch brings its key.
        sid = 10 + 2 * rnd
        c.send(notify(sid, 1, jwt_request(mint(ghost, iss=idp.issuer, aud=AUD))) +
               notify(sid + 1, 1, jwt_request(mint(new, iss=idp.issuer, aud=AUD))))
        got = acks(c, 2)
        check_eq(got.get(sid, {}).get("reason"), "key_unknown",
                 f"round {rnd}: negatively cached kid answered key_unknown")
        check_eq((got.get(sid + 1, {}).get("allow"), got.get(sid + 1, {}).get("reason")),
                 (True, "ok"), f"round {rnd}: request parked on the rotated kid allowed")
    c.close()
    clean_stop(agent, "negative kid")
    idp.stop()


def scenario_one_refetch_ask_per_kid():
    log("a burst parked on one unknown kid asks the fetcher once, not per request"
        " nor again at each new snapshot")
    idp, agent = parking_agent("oneask")
    asks = lambda: metric(agent, "spoa_iam_kid_asks_total")
    check_eq(asks(), 0.0, "no refetch asked yet")
    new, other = Key("ES256", "burst-kid"), Key("ES256", "other-kid")
    idp.keys = idp.keys + [new, other]
    idp.doc("/keys").mode = "hang"      # the refetch stays in flight
    c = Spop(agent.port, timeout=10)
    check_eq(c.hello()[0], 101, "AGENT-HELLO")
    tok, tok2 = mint(new, iss=idp.issuer, aud=AUD), mint(other, iss=idp.issuer, aud=AUD)
    c.send(b"".join(notify(100 + i, 1, jwt_request(tok)) for i in range(20)) +
           notify(200, 1, jwt_request(tok2)))
    check(wait_for(lambda: metric(agent, "spoa_iam_parked_total") == 21.0, timeout=5),
          "21 requests parked")
    # Polled: a request is counted parked a moment before its kid's ask.
    wait_for(lambda: asks() >= 2.0, timeout=5)
    check_eq(asks(), 2.0, "two kids: two refetches asked (20 requests on one kid ask once)")
    # A new snapshot (the reload publishes one) leaves them parked: no new ask.
    reload(agent, dict(agent.config))
    check_eq(asks(), 2.0, "a new snapshot that leaves them parked asks nothing more")
    idp.doc("/keys").mode = "ok"
    idp.release_hangs()
    got = acks(c, 21)
    check_eq(len(got), 21, "every parked request answered")
    c.close()
    clean_stop(agent, "one ask per kid")
    idp.stop()


class PlainHTTP:
    """A plain-http server on loopback serving ${docs} (path -> bytes)."""

    def __init__(self, docs):
        self.docs = docs
        self.hits = 0
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.hits += 1
                body = outer.docs.get(self.path.split("?")[0])
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *a):
                pass

        self.port = free_port()
        self.srv = ThreadingHTTPServer(("127.0.0.1", self.port), H)
        self.srv.daemon_threads = True
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()


def der(name):
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    with open(os.path.join(pki(), name), "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    return cert.public_bytes(serialization.Encoding.DER)


def mtls_request(cert_der, path="/m"):
    return [("authz", b"\x00"), ("method", t_str("GET")),
            ("host", t_str("api.example.com")), ("path", t_str(path)),
            ("src", t_ipv4("192.0.2.1")), ("cert_der", t_bin(cert_der)),
            ("cert_verify", t_int64(0)), ("unique_id", t_str("req"))]


def ask(agent, args):
    """The ACK actions for one NOTIFY on a fresh SPOP connection."""
    c = Spop(agent.port, timeout=10)
    c.hello()
    c.send(notify(1, 1, args))
    a = ack_for(c)
    c.close()
    return a[2] if a and a[0] != "not-an-ack" else {}


MTLS_ROUTES = [{"name": "m", "path_prefix": "/m", "require": "mtls"}]


def scenario_crl_over_http():
    log("crl_urls over plain http")
    srv = PlainHTTP({"/ca.crl": open(os.path.join(pki(), "crl.der"), "rb").read()})
    url = f"http://127.0.0.1:{srv.port}/ca.crl"
    agent = Agent({
        "fetch": fetch_cfg(),
        "client_ca_file": os.path.join(pki(), "clients-ca.pem"),
        "crl_urls": [url],
        "routes": MTLS_ROUTES,
    }, name="crlhttp").start()
    check(wait_for(lambda: source(agent, "crl:" + url).get("state") == "ok", timeout=10),
          "http CRL fetched and accepted: " + repr(source(agent, "crl:" + url)))
    check(srv.hits >= 1, "the plain-http CRL server was asked")
    # /readyz says "ok" once the fetcher took the CRL; the workers pick the
    # snapshot holding it from their inboxes a moment later.
    got = []
    check(wait_for(lambda: got.append(ask(agent, mtls_request(der("client-revoked.pem")))
                                      .get("reason")) or got[-1] == "cert_revoked",
                   timeout=10),
          f"the http CRL revokes client-revoked (last answer: {got[-1:]})")
    check_eq(ask(agent, mtls_request(der("client-valid.pem"))).get("reason"),
             "ok", "other certificates pass")
    # No validators from this server: every refresh is a 200 with the same
    # bytes, which must not rebuild the set (nor republish, nor log).
    h = srv.hits
    check(wait_for(lambda: srv.hits >= h + 2, timeout=10), "the CRL is refetched")
    time.sleep(0.3)
    built = agent.output().count("crl_urls: 1 CRL")
    check_eq(built, 1, "unchanged CRL bytes: the set is built once")
    clean_stop(agent, "http CRL")
    srv.stop()


def scenario_token_valgrind():
    valgrind = shutil.which("valgrind")
    if SANITIZED or valgrind is None:
        log("token under valgrind: skipped (sanitizer build or no valgrind)")
        return
    log("a token is obtained without reading uninitialised memory (valgrind)")
    idp = IdP()
    B = idp.base
    agent = Agent({
        "fetch": fetch_cfg(),
        "credentials": [{"name": "mi", "type": "managed_identity",
                         "endpoint": B + "/msi/token", "resource": "r"}],
        "issuers": [issuer(idp, jwks_url=B + "/keys", credential="mi")],
        "routes": ROUTES,
    }, name="valgrind")
    agent.argv = [valgrind, "-q", "--error-exitcode=99", "--leak-check=no"] + agent.argv
    agent.start(timeout=60)             # valgrind is slow to start, more so on a busy CI
    check(wait_for(lambda: idp.hit("/keys") >= 1, timeout=20),
          "token obtained, keys fetched under valgrind")
    rc = agent.stop(timeout=30)
    out = agent.output()
    check("uninitialised" not in out, "valgrind: no use of uninitialised memory")
    check_eq(rc, 0, "valgrind: no error reported (exit status)")
    idp.stop()


def scenario_jwks_uri_changes_mid_fetch():
    log("discovery changes jwks_uri while the old one is being fetched")
    idp = IdP()
    B = idp.base
    idp.doc("/.well-known/openid-configuration").cache_control = "max-age=1"
    k1, k2 = idp.keys[0], Key("RS256", "moved-key")
    keys = idp.set_doc("/keys", lambda: jwks(k1), etag=False, cache_control="max-age=1")
    idp.set_doc("/keys2", lambda: jwks(k2), etag=False, cache_control="max-age=600")
    agent = Agent({
        "fetch": fetch_cfg(refresh_max_s=600),
        "issuers": [issuer(idp, discovery_url=B + "/.well-known/openid-configuration")],
        "routes": ROUTES,
    }, name="jwksuri").start()
    check(wait_for(lambda: source(agent, "jwks:idp").get("state") == "ok", timeout=10),
          "keys fetched from the first jwks_uri")

    def slow_old_keys():
        time.sleep(2)
        return jwks(k1)
    # The old URL answers slowly, and would not be asked again for 10 min.
    keys.body = slow_old_keys
    keys.cache_control = "max-age=600"
    n = idp.hit("/keys")
    check(wait_for(lambda: idp.hit("/keys") > n, timeout=5), "slow fetch of /keys started")
    idp.discovery_extra["jwks_uri"] = B + "/keys2"
    check(wait_for(lambda: idp.hit("/keys2") >= 1, timeout=8),
          "the new jwks_uri is fetched once the stale answer came back")
    check(wait_for(lambda: source(agent, "jwks:idp").get("url") == B + "/keys2" and
                   source(agent, "jwks:idp").get("state") == "ok", timeout=5),
          "/readyz: the key set in use comes from the new jwks_uri")
    check(wait_for(lambda: ask(agent, jwt_request(mint(k2, iss=idp.issuer, aud=AUD)))
                   .get("reason") == "ok", timeout=5),
          "a token signed with the key of the new jwks_uri passes")
    clean_stop(agent, "jwks_uri change")
    idp.stop()


def scenario_crl_url_secret_redacted():
    log("a refused CRL does not show its URL's query secret")
    idp = IdP()
    secret = "SeKr3t-CRL-sig-value"
    idp.set_doc("/crl", b"garbage, not a CRL", ctype="application/pkix-crl")
    url = idp.base + "/crl?sv=2024&sig=" + secret
    agent = Agent({
        "fetch": fetch_cfg(),
        "client_ca_file": os.path.join(pki(), "clients-ca.pem"),
        "crl_urls": [url],
        "routes": MTLS_ROUTES,
    }, name="crlsecret").start()
    check(wait_for(lambda: idp.hit("/crl") >= 2, timeout=10), "the CRL was fetched")

    def crl_entry():
        st, j = readyz(agent)
        return next((v for k, v in ((j or {}).get("sources") or {}).items()
                     if k.startswith("crl:")), {})
    e = crl_entry()
    check((e.get("rejected") or 0) >= 1 and e.get("last_error"),
          f"the refused CRL shows on /readyz: {e!r}")
    st, j = readyz(agent)
    check(secret not in repr(j), "/readyz does not show the query secret")
    out = clean_stop(agent, "CRL URL secret")
    check("crl" in out and secret not in out, "the log does not show the query secret")
    idp.stop()


def scenario_reload_drops_old_crls():
    log("a reload does not keep the previous config's CRL set")
    srv = PlainHTTP({})
    url = f"http://127.0.0.1:{srv.port}/ca.crl"
    revoked, valid = der("client-revoked.pem"), der("client-valid.pem")
    cfg = {
        "fetch": fetch_cfg(),
        "client_ca_file": os.path.join(pki(), "clients-ca.pem"),
        "crl_files": [os.path.join(pki(), "crl.pem")],
        "routes": MTLS_ROUTES,
    }
    agent = Agent(cfg, name="crlreload").start()
    check_eq(ask(agent, mtls_request(revoked)).get("reason"), "cert_revoked",
             "crl_files: client-revoked is revoked")
    cfg2 = dict(agent.config, crl_files=[], crl_urls=[url])
    reload(agent, cfg2)
    check(wait_for(lambda: srv.hits >= 1, timeout=5), "the crl_urls CRL is asked for (404)")
    check_eq(ask(agent, mtls_request(valid)).get("reason"), "not_ready",
             "crl_urls pending after the reload: not_ready, not the old crl_files set")
    check_eq(ask(agent, mtls_request(revoked)).get("reason"), "not_ready",
             "crl_urls pending after the reload: the old CRL does not answer either")
    srv.docs["/ca.crl"] = open(os.path.join(pki(), "crl-empty.pem"), "rb").read()
    check(wait_for(lambda: source(agent, "crl:" + url).get("state") == "ok", timeout=10),
          "the crl_urls CRL is loaded")
    check(wait_for(lambda: ask(agent, mtls_request(revoked)).get("reason") == "ok",
                   timeout=5),
          "only the new config's CRL applies (it revokes nothing)")
    # crl_files and a crl_urls entry not loaded yet: the crl_files alone
    # are not the set either.
    reload(agent, dict(agent.config, crl_files=[os.path.join(pki(), "crl.pem")],
                       crl_urls=[url.replace("ca.crl", "none.crl")]))
    check_eq(ask(agent, mtls_request(revoked)).get("reason"), "not_ready",
             "crl_files + crl_urls pending: not_ready until the set is built")
    clean_stop(agent, "CRL reload")
    srv.stop()


def scenario_discovery_rechecked():
    log("discovery document re-checked after the issuer changes")
    idp = IdP()
    B = idp.base
    state = os.path.join(tmpdir(), "state-disc")
    os.makedirs(state)
    disc = B + "/.well-known/openid-configuration"
    other = "https://login.other.example/v2.0"

    def cfg(iss):
        return {"state_dir": state,
                "fetch": fetch_cfg(refresh_min_s=1, refresh_max_s=1),
                "issuers": [issuer(idp, issuer=iss, discovery_url=disc)],
                "routes": ROUTES}
    agent = Agent(cfg(idp.issuer), name="disc1").start()
    check(wait_for(lambda: source(agent, "jwks:idp").get("state") == "ok", timeout=10),
          "discovery and keys fetched")
    check(wait_for(lambda: len(os.listdir(state)) == 2, timeout=5),
          "discovery document and key set saved to state_dir")
    cfg_ok = dict(agent.config)
    reload(agent, dict(cfg_ok, issuers=[issuer(idp, issuer=other, discovery_url=disc)]))
    d = source(agent, "discovery:idp")
    check(d.get("state") == "error" and "does not match" in (d.get("last_error") or ""),
          f"reload to another issuer: the kept discovery document is refused: {d!r}")
    check_eq(source(agent, "issuer:idp").get("state"), "pending",
             "reload to another issuer: its keys are no longer used")
    check_eq(ask(agent, jwt_request(mint(idp.keys[0], iss=other, aud=AUD))).get("reason"),
             "not_ready", "a token of the new issuer string is not verified with them")
    time.sleep(1.2)                     # a revalidation (304 before) changes nothing
    check_eq(source(agent, "issuer:idp").get("state"), "pending",
             "reload to another issuer: still no keys after a refresh")
    reload(agent, cfg_ok)
    check(wait_for(lambda: source(agent, "issuer:idp").get("state") == "ok", timeout=5),
          "reload back: discovery matches again, keys fetched")
    clean_stop(agent, "discovery re-check")

    log("start: a refused discovery document does not let a saved key set in")
    n = idp.hit("/keys")
    agent = Agent(cfg(other), name="disc2").start()
    check(wait_for(lambda: (source(agent, "discovery:idp").get("failures") or 0) >= 1,
                   timeout=10), "the discovery document is refused")
    check_eq(source(agent, "issuer:idp").get("state"), "pending",
             "start: the saved key set is not used")
    check_eq(idp.hit("/keys") - n, 0, "start: the saved jwks_uri is not fetched")
    clean_stop(agent, "discovery state")
    idp.stop()


SCENARIOS = [
    scenario_secret_file_missing,
    scenario_credential_switch,
    scenario_negative_kid_spares_other_kids,
    scenario_one_refetch_ask_per_kid,
    scenario_crl_over_http,
    scenario_token_valgrind,
    scenario_jwks_uri_changes_mid_fetch,
    scenario_crl_url_secret_redacted,
    scenario_reload_drops_old_crls,
    scenario_discovery_rechecked,
]
# SPOA_ONLY=crl runs the scenarios whose name contains "crl".
for fn in SCENARIOS:
    if os.environ.get("SPOA_ONLY", "") in fn.__name__:
        fn()
finish()
