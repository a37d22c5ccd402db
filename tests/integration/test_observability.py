"""Observability an operator can trust (issue 14), through a real HAProxy
(haproxy-conf/haproxy.cfg), the agent with "log_format": "json", the test
identity provider (idp.py: HTTPS, a client-credentials token endpoint, a
key set that can be made slow, failing or hanging) and the APIM stand-in:

 1. /metrics moves as requests flow, scraped before and after each one:
    an allowed request, each denial this config can produce (by route and
    reason), token-cache hits, a parked request (unknown kid, slow key
    set: parked, kid asked, refetched, then allowed), a parked request
    whose key set fetch hangs (answered at its deadline), and key set
    fetches answered 500 (failures by source, up 0, then back to 1);
 2. promtool check metrics passes on a live scrape, promtool check rules
    on monitoring/alerts.yml;
 3. monitoring/grafana-dashboard.json parses, and every metric its
    queries (and alerts.yml's rules) name exists in a live scrape, the
    agent's or HAProxy's own exporter's on PROM_BIND, with a series that
    matches the query's label matchers;
 4. every line the agent writes is one JSON object (ts, level, pid,
    event); each decision line carries the request id HAProxy sent to APIM
    (X-Request-ID) and logged itself (id=), with the route, result, reason,
    issuer, kid and subject hash of that request; deny lines over 20 a
    second are summed up in a JSON "suppressed N" line that
    spoa_iam_log_suppressed_total counts; no token, no signature, no
    client secret, no fetched bearer token in the log;
 5. /healthz and /readyz: a fetched key set's state and age, its URL with
    the query secret masked, the credential's state, and no secret.
"""
import hashlib
import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.request

from harness import (SLOW, SOURCE_DIR, Agent, EchoBackend, HAProxy, Spop, _edit, acks,
                     check, check_eq, curl, finish, log, notify, pki, t_ipv4, t_str, tmpdir,
                     wait_for)
from idp import IdP
from tokens import Key, jwks, mint

try:
    import yaml
except ImportError:
    yaml = None

T0 = time.time()
AUD = "api://orders"
SECRET_ENV = "SPOA_IT_OBS_CLIENT_SECRET"
# A secret in the key set URL's query (a SAS-style signature): /readyz
# shows the URL with it masked.
QUERY_SECRET = "qs-" + os.urandom(8).hex()
PARK_MS = int(1500 * SLOW)
SLOW_FETCH_S = 0.5

idp = IdP()
idp.client_secret = "cs-" + os.urandom(12).hex()
os.environ[SECRET_ENV] = idp.client_secret      # the agent inherits it
k1 = idp.keys[0]
# The key set is served only with a token from the client-credentials
# endpoint: the agent's credential, whose secret must never show.
idp.doc("/keys").require_bearer = "tok-cc-"

CONFIG = {
    "log_level": "debug",          # allowed requests are logged too
    "log_format": "json",
    # Its "created" line is logged while the config loads: JSON too.
    "state_dir": os.path.join(tmpdir(), "state"),
    "workers": 2,
    "park_timeout_ms": PARK_MS,
    "kid_refetch_interval_ms": 200,
    "fetch": {"ca_file": os.path.join(pki(), "ca.pem"),
              "refresh_min_s": 3600, "refresh_max_s": 7200, "backoff_max_s": 1,
              "connect_timeout_ms": 1000, "timeout_ms": int(2500 * SLOW)},
    "credentials": [{"name": "cc", "type": "client_credentials",
                     "token_url": idp.base + "/oauth2/token",
                     "client_id": idp.client_id, "client_secret_env": SECRET_ENV}],
    "issuers": [{"name": "idp", "issuer": idp.issuer, "audiences": [AUD],
                 "algorithms": ["RS256"], "credential": "cc",
                 "jwks_url": idp.base + "/keys?sig=" + QUERY_SECRET}],
    "routes": [
        {"name": "health", "path_prefix": "/healthz", "require": "none"},
        {"name": "admin", "path_prefix": "/admin", "require": "jwt",
         "scopes_any": ["admin"]},
        {"name": "reports", "path_prefix": "/reports", "require": "jwt",
         "roles_any": ["Reporter"]},
        {"name": "partners", "path_prefix": "/partners", "require": "none",
         "source_cidrs": ["203.0.113.0/24"]},
        {"name": "mtls", "path_prefix": "/mtls", "require": "mtls"},
        {"name": "orders", "path_prefix": "/orders", "require": "jwt"},
    ],
}

echo = EchoBackend()
agent = Agent(CONFIG).start()
# timeout processing stays above park_timeout_ms (stretched with SLOW).
hap = HAProxy(agent.spoe_addr, echo.addr, extra_env={
    "IAM_ADMIN": f"127.0.0.1:{agent.admin_port}"},
    spoe_edit=lambda s: _edit(s, "timeout processing 2s",
                              f"timeout processing {int(2 * SLOW)}s", "iam.spoe.conf"))
hap.start()
P = hap.port
log(f"HAProxy {hap.version()}")

SENT = []          # every token sent, for the leak check
REQUESTS = {}      # request id -> what the agent's decision line must say


def http_get(port, path, timeout=5.0):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}",
                                    timeout=timeout * SLOW) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return 0, str(e)


# ------------------------------------------------------------ Prometheus text

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$')
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')


def parse_labels(text):
    out, i = {}, 0
    while i < len(text):
        m = _LABEL.match(text, i)
        if not m:
            raise ValueError(f"bad labels {text!r}")
        out[m.group(1)] = re.sub(r'\\(.)', lambda x: "\n" if x.group(1) == "n" else x.group(1),
                                 m.group(2))
        i = m.end()
    return out


def parse_prom(text):
    """({(name, frozenset(labels)): value}, {family: type})."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, fam, typ = line.split(None, 3)
            types[fam] = typ.strip()
            continue
        if not line.strip() or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise ValueError(f"unparsable sample line {line!r}")
        labels = parse_labels(m.group(2) or "")
        samples[(m.group(1), frozenset(labels.items()))] = float(m.group(3))
    return samples, types


def K(name, **labels):
    return (name, frozenset(labels.items()))


def scrape():
    st, body = http_get(agent.admin_port, "/metrics")
    if st != 200:
        raise RuntimeError(f"/metrics: {st} {body[:200]}")
    return parse_prom(body)[0]


def delta(before, after, prefix=""):
    """{key: after - before} of the series that changed (new ones from 0)."""
    out = {}
    for k, v in after.items():
        if k[0].startswith(prefix):
            d = v - before.get(k, 0.0)
            if d:
                out[k] = round(d, 9)
    return out


def show(d):
    return {f"{k[0]}{dict(sorted(k[1]))}": v for k, v in sorted(d.items(), key=str)}


DEC = "spoa_iam_decisions_total"
VER = "spoa_iam_verifications_total"
DUR = "spoa_iam_decision_duration_seconds"


def dec(route, reason):
    return K(DEC, route=route, result="allow" if reason == "ok" else "deny", reason=reason)


def ver(outcome):
    return K(VER, issuer="idp", alg="RS256", outcome=outcome)


def bearer(tok):
    SENT.append(tok)
    return {"Authorization": "Bearer " + tok}


def request_id(r):
    """The request id HAProxy generated: APIM's X-Request-ID for an allowed
    request, the JSON body's request_id for a refused one."""
    if r.status == 200:
        return r.backend_header("x-request-id")
    return (r.json() or {}).get("request_id")


def step(what, path, headers, status, route, reason, verif=None, **expect):
    """One request through HAProxy, /metrics around it: the HTTP status,
    exactly one decision (route, result, reason), one more latency
    observation, and the verifications ${verif} ({outcome: 1}) and no
    other.  Returns (response, metrics delta)."""
    before = scrape()
    r = curl(P, path, headers=headers)
    after = scrape()
    d = delta(before, after)
    check_eq(r.status, status, f"{what}: HTTP status")
    check_eq(show({k: v for k, v in d.items() if k[0] == DEC}),
             show({dec(route, reason): 1}), f"{what}: {DEC} by route, result, reason")
    check_eq(d.get(K(DUR + "_count")), 1, f"{what}: {DUR}_count +1")
    check_eq(d.get(K(DUR + "_bucket", le="+Inf")), 1, f"{what}: {DUR}_bucket{{le=\"+Inf\"}} +1")
    if verif is not None:
        check_eq(show({k: v for k, v in d.items() if k[0] == VER}),
                 show({ver(o): n for o, n in verif.items()}), f"{what}: {VER}")
    rid = request_id(r)
    check(rid is not None, f"{what}: a request id ({rid})")
    if rid:
        REQUESTS[rid] = dict(what=what, path=path, route=route, reason=reason,
                             status=status, **expect)
    return r, d


def wait_ready():
    return wait_for(lambda: http_get(agent.admin_port, "/readyz")[0] == 200, timeout=15)


check(wait_ready(), "agent ready: key set fetched with the credential's token")
check(wait_for(lambda: curl(P, "/healthz").status == 200, timeout=15), "HAProxy sees the agent up")

# ------------------------------------------------------------ 5. /readyz, /healthz
log("/readyz and /healthz: a fetched key set's state and age, no secret")
st, body = http_get(agent.admin_port, "/readyz")
doc = json.loads(body)
check_eq((st, doc.get("status"), doc.get("ready")), (200, "ok", True), "/readyz: 200, ok, ready")
src = (doc.get("sources") or {}).get("jwks:idp") or {}
check_eq((src.get("kind"), src.get("state")), ("jwks", "ok"), "/readyz: jwks:idp is ok")
check(isinstance(src.get("age_s"), (int, float)) and 0 <= src["age_s"] <= time.time() - T0 + 1,
      f"/readyz: jwks:idp age_s is the key set's age ({src.get('age_s')})")
check(src.get("fetches", 0) >= 1 and src.get("failures") == 0 and not src.get("last_error"),
      f"/readyz: jwks:idp fetched, no failure ({src.get('fetches')}, {src.get('failures')}, "
      f"{src.get('last_error')!r})")
check_eq(src.get("url"), idp.base + "/keys?sig=***", "/readyz: the URL's query secret is masked")
cred = (doc.get("sources") or {}).get("credential:cc") or {}
check(cred.get("state") == "ok" and (cred.get("token_expires_in_s") or 0) > 0,
      f"/readyz: credential:cc ok, its token's lifetime shown ({cred.get('state')}, "
      f"{cred.get('token_expires_in_s')})")
iss = (doc.get("sources") or {}).get("issuer:idp") or {}
check(iss.get("state") == "ok" and isinstance(iss.get("keys_age_s"), (int, float)),
      f"/readyz: issuer:idp ok with keys_age_s ({iss})")
st_h, body_h = http_get(agent.admin_port, "/healthz")
hdoc = json.loads(body_h)
check_eq((st_h, hdoc.get("status"), hdoc.get("ready")), (200, "ok", True), "/healthz: 200, ok")
check_eq(((hdoc.get("sources") or {}).get("jwks:idp") or {}).get("state"), "ok",
         "/healthz: the same sources")
check(idp.tokens and idp.requests_for("/keys")[-1]["headers"].get("authorization") ==
      "Bearer " + idp.tokens[-1], "the key set was fetched with the credential's token")


def secrets():
    return [idp.client_secret, QUERY_SECRET] + list(idp.tokens)


for name, text in (("/readyz", body), ("/healthz", body_h),
                   ("/metrics", http_get(agent.admin_port, "/metrics")[1])):
    leaked = [s for s in secrets() if s in text]
    check_eq(leaked, [], f"{name}: no client secret, query secret or fetched token")

# ------------------------------------------------------------ 1. metrics move
log("an allowed request")
GOOD = mint(k1, iss=idp.issuer, aud=AUD, sub="alice", claims={"scp": "orders.read"})
r, d = step("allow", "/orders/allow", bearer(GOOD), 200, "orders", "ok", verif={"ok": 1},
            issuer="idp", kid="key-1", sub="alice")
check_eq((d.get(K("spoa_iam_token_cache_misses_total")),
          d.get(K("spoa_iam_token_cache_hits_total"))), (1, None),
         "allow: a token-cache miss, no hit")
check_eq(d.get(K("spoa_iam_notify_total")), 1, "allow: spoa_iam_notify_total +1")
check_eq(d.get(K("spoa_iam_ack_total")), 1, "allow: spoa_iam_ack_total +1")
check_eq(d.get(K("spoa_iam_frames_received_total", type="notify")), 1,
         "allow: spoa_iam_frames_received_total{type=\"notify\"} +1")
check(d.get(K(DUR + "_sum"), 0) > 0, f"allow: {DUR}_sum grows ({d.get(K(DUR + '_sum'))})")
check_eq(r.backend_header("x-iam-sub"), "alice", "allow: identity at APIM")

log("the same token again: token-cache hits")
before = scrape()
for i in range(4):
    step(f"cache {i + 1}", f"/orders/cache-{i + 1}", bearer(GOOD), 200, "orders", "ok",
         issuer="idp", kid="key-1", sub="alice")
d = delta(before, scrape())
hits = d.get(K("spoa_iam_token_cache_hits_total"), 0)
misses = d.get(K("spoa_iam_token_cache_misses_total"), 0)
# One cache per worker (2): the first request on the other worker misses.
check(hits + misses == 4 and hits >= 3 and misses <= 1,
      f"4 requests with a token seen before: {hits} cache hits, {misses} misses "
      f"(one cache per worker, 2 workers)")
check_eq(d.get(ver("ok"), 0), misses, "a verification for each miss, none for a hit")
entries = scrape().get(K("spoa_iam_token_cache_entries"), 0)
check(entries >= 1, f"spoa_iam_token_cache_entries {entries:g}")

log("each denial, by route and reason")
now = int(time.time())


def jti(**claims):
    """Claims with a jti of their own: no two tokens here are the same
    (the same token again would be a cache hit, not a verification)."""
    return dict(claims, jti=os.urandom(6).hex())


evil = Key("RS256", "key-1")   # same kid, another key: a bad signature


def tok(key=k1, iss=None, aud=AUD, claims=None, **kw):
    """Bearer headers of a fresh token (a jti of its own)."""
    return bearer(mint(key, iss=iss or idp.issuer, aud=aud, claims=jti(**(claims or {})),
                       **kw))


DENIALS = [
    # (what, path, headers, status, route, reason, verifications)
    ("token_missing", "/orders/d-missing", {}, 401, "orders", "token_missing", {}),
    ("token_malformed", "/orders/d-malformed", bearer("not.a.jwt"), 401, "orders",
     "token_malformed", {}),
    ("token_unsupported_alg", "/orders/d-none", tok(alg="none", signature=""), 401,
     "orders", "token_unsupported_alg", {}),
    ("signature_invalid", "/orders/d-signature", tok(evil), 401, "orders",
     "signature_invalid", {"signature_invalid": 1}),
    ("token_expired", "/orders/d-expired",
     tok(exp_in=-3600, claims={"iat": now - 7200, "nbf": now - 7200}), 401, "orders",
     "token_expired", {"token_expired": 1}),
    ("token_not_yet_valid", "/orders/d-nbf", tok(claims={"nbf": now + 3600}), 401,
     "orders", "token_not_yet_valid", {"token_not_yet_valid": 1}),
    ("audience_mismatch", "/orders/d-aud", tok(aud="api://other"), 401, "orders",
     "audience_mismatch", {"audience_mismatch": 1}),
    ("issuer_unknown", "/orders/d-iss", tok(iss="https://evil.example"), 401, "orders",
     "issuer_unknown", {}),
    ("scope_missing", "/admin/d-scope", tok(claims={"scp": "orders.read"}), 403, "admin",
     "scope_missing", {"ok": 1}),
    ("role_missing", "/reports/d-role", tok(claims={"roles": ["Reader"]}), 403, "reports",
     "role_missing", {"ok": 1}),
    ("source_denied", "/partners/d-src", {}, 403, "partners", "source_denied", {}),
    ("cert_required", "/mtls/d-cert", {}, 401, "mtls", "cert_required", {}),
    ("no_route", "/nowhere/d-route", {}, 403, "-", "no_route", {}),
]
hits_before = echo.hits
for what, path, headers, status, route, reason, verif in DENIALS:
    step(what, path, headers, status, route, reason, verif)
check_eq(echo.hits, hits_before, "no denied request reached APIM")

# ------------------------------------------------------------ parked requests
log("a parked request: unknown kid while the key set fetch is slow")
k2 = Key("RS256", "key-2")


def slow_keys():
    time.sleep(SLOW_FETCH_S)
    return jwks(*idp.keys)


idp.set_doc("/keys", slow_keys)
idp.keys = [k1, k2]
keys_hits = idp.hit("/keys")
r, d = step("parked, then allowed", "/orders/parked", bearer(
    mint(k2, iss=idp.issuer, aud=AUD, sub="bob")), 200, "orders", "ok", verif={"ok": 1},
    issuer="idp", kid="key-2", sub="bob", min_us=int(SLOW_FETCH_S * 1e6 * 0.9))
for name, want in (("spoa_iam_parked_total", 1), ("spoa_iam_parked_duration_seconds_count", 1),
                   ("spoa_iam_kid_asks_total", 1), ("spoa_iam_parked_timeouts_total", None)):
    check_eq(d.get(K(name)), want, f"parked: {name} {'+%d' % want if want else 'unchanged'}")
check_eq(d.get(K("spoa_iam_fetch_kid_refetches_total", source="jwks:idp")), 1,
         "parked: spoa_iam_fetch_kid_refetches_total{source=\"jwks:idp\"} +1")
check_eq(d.get(K("spoa_iam_fetch_requests_total", source="jwks:idp")), 1,
         "parked: spoa_iam_fetch_requests_total{source=\"jwks:idp\"} +1")
check_eq(idp.hit("/keys") - keys_hits, 1, "parked: one key set fetch")
check(d.get(K("spoa_iam_parked_duration_seconds_sum"), 0) >= SLOW_FETCH_S * 0.9,
      f"parked: spoa_iam_parked_duration_seconds_sum grew by the slow fetch "
      f"({d.get(K('spoa_iam_parked_duration_seconds_sum'))} s >= {SLOW_FETCH_S} s)")
check(d.get(K(DUR + "_sum"), 0) >= SLOW_FETCH_S * 0.9,
      f"parked: the decision latency includes the wait ({d.get(K(DUR + '_sum'))} s)")
PB = "spoa_iam_parked_duration_seconds_bucket"
check_eq((d.get(K(PB, le="0.25")), d.get(K(PB, le="+Inf"))), (None, 1),
         "parked: observed above the le=\"0.25\" bucket (it waited 0.5 s)")
m = scrape()
check(K(PB, le="0.25") in m and K(PB, le="1") in m, "the parked histogram has le=0.25 and le=1")
check_eq(m.get(K("spoa_iam_parked_requests")), 0, "parked: spoa_iam_parked_requests back to 0")
check_eq(m.get(K("spoa_iam_fetch_keys", source="jwks:idp")), 2,
         "spoa_iam_fetch_keys{source=\"jwks:idp\"} 2 (key-2 published)")

log("key set fetches answered 500: failures by source")
idp.set_doc("/keys", lambda: jwks(*idp.keys))
idp.doc("/keys").mode = "500"
k3 = Key("RS256", "key-3")
keys_hits = idp.hit("/keys")
time.sleep(0.3)           # past kid_refetch_interval_ms
r, d = step("fetch failure", "/orders/fetch-500", bearer(mint(k3, iss=idp.issuer, aud=AUD)),
            401, "orders", "key_unknown", kid="key-3")
check_eq(d.get(K("spoa_iam_fetch_failures_total", source="jwks:idp")), 1,
         "fetch failure: spoa_iam_fetch_failures_total{source=\"jwks:idp\"} +1")
check_eq(d.get(K("spoa_iam_parked_total")), 1, "fetch failure: the request parked")
check_eq(d.get(K("spoa_iam_parked_timeouts_total")), None,
         "fetch failure: answered when the fetch failed, not at its deadline")
check(idp.hit("/keys") - keys_hits >= 1, "the IdP was asked for the key set")
m = scrape()
check_eq(m.get(K("spoa_iam_fetch_up", source="jwks:idp")), 0,
         "spoa_iam_fetch_up{source=\"jwks:idp\"} 0")
check_eq(m.get(K("spoa_iam_ready")), 1, "spoa_iam_ready stays 1: the last good key set serves")
st, body = http_get(agent.admin_port, "/readyz")
src = (json.loads(body).get("sources") or {}).get("jwks:idp") or {}
check(st == 200 and src.get("state") == "stale" and "500" in (src.get("last_error") or ""),
      f"/readyz: still 200; jwks:idp stale (last good kept): {src.get('state')}, "
      f"last_error {src.get('last_error')!r}")
step("known keys keep serving during the outage", "/orders/during-outage", bearer(GOOD),
     200, "orders", "ok", issuer="idp", kid="key-1", sub="alice")
idp.doc("/keys").mode = "ok"
check(wait_for(lambda: scrape().get(K("spoa_iam_fetch_up", source="jwks:idp")) == 1, timeout=10),
      "the source recovers on its own (backoff): spoa_iam_fetch_up 1 again")
m = scrape()
fails_total = m.get(K("spoa_iam_fetch_failures_total", source="jwks:idp"))
check(fails_total is not None and fails_total >= 1, f"failures stay counted ({fails_total})")

log("a parked request while the key set fetch hangs: answered at its deadline")
idp.rearm_hangs()
idp.doc("/keys").mode = "hang"
k4 = Key("RS256", "key-4")
time.sleep(0.3)
t1 = time.time()
r, d = step("parked, fetch hangs", "/orders/hang", bearer(mint(k4, iss=idp.issuer, aud=AUD)),
            401, "orders", "key_unknown", kid="key-4", min_us=int(PARK_MS * 1000 * 0.9))
took = time.time() - t1
for name in ("spoa_iam_parked_total", "spoa_iam_parked_timeouts_total",
             "spoa_iam_parked_duration_seconds_count", "spoa_iam_kid_asks_total"):
    check_eq(d.get(K(name)), 1, f"hang: {name} +1")
check(d.get(K("spoa_iam_parked_duration_seconds_sum"), 0) >= PARK_MS / 1000 * 0.9,
      f"hang: parked for park_timeout_ms ({d.get(K('spoa_iam_parked_duration_seconds_sum'))} s, "
      f"request {took:.2f} s)")
check_eq((d.get(K(PB, le="1")), d.get(K(PB, le="+Inf"))), (None, 1),
         "hang: observed above the le=\"1\" bucket (it waited park_timeout_ms)")
idp.doc("/keys").mode = "ok"
idp.release_hangs()
check(wait_for(lambda: scrape().get(K("spoa_iam_fetch_up", source="jwks:idp")) == 1 and
               scrape().get(K("spoa_iam_fetch_failures_total", source="jwks:idp")) > fails_total,
               timeout=15),
      "the hung fetch, released, counts as a failure; then the source recovers")

# ------------------------------------------------------------ deny lines rate-limited
log("deny lines: over 20 a second per reason, summed up in one JSON line")
sup0 = scrape().get(K("spoa_iam_log_suppressed_total"), 0)
c = Spop(agent.port)
hello = c.hello()
check(hello is not None and hello[0] == 101, "raw SPOP: AGENT-HELLO")


def burst_args(i):
    return [("authz", b"\x00"), ("method", t_str("GET")), ("host", t_str("localhost")),
            ("path", t_str(f"/orders/burst-{i}")), ("src", t_ipv4("192.0.2.7")),
            ("cert_der", b"\x00"), ("cert_verify", b"\x00"), ("unique_id", t_str(f"burst-{i}"))]


N = 60
c.send(b"".join(notify(i + 1, 1, burst_args(i)) for i in range(N)))
got = acks(c, N)
check_eq(len(got), N, f"{N} NOTIFYs on one connection (one worker), {N} ACKs")
check(all(a.get("reason") == "token_missing" for a in got.values()), "all token_missing")
# The next deny of that reason in a later second writes the summary.
time.sleep(1.1)
c.send(notify(N + 1, 1, burst_args(N)))
acks(c, 1)
c.close()


def burst_lines():
    out = []
    for ln in agent.output().splitlines():
        try:
            j = json.loads(ln)
        except ValueError:
            continue
        if isinstance(j, dict):
            out.append(j)
    return out


SUPP = re.compile(r"^deny reason=token_missing: suppressed (\d+) lines \(more than 20 a second\)$")
check(wait_for(lambda: any(SUPP.match(j.get("msg", "")) for j in burst_lines()), timeout=5),
      "a JSON line says how many deny lines were suppressed")
lines = burst_lines()
said = sum(int(SUPP.match(j["msg"]).group(1)) for j in lines if SUPP.match(j.get("msg", "")))
logged = sum(1 for j in lines if j.get("event") == "deny" and
             str(j.get("unique_id", "")).startswith("burst-"))
sup = scrape().get(K("spoa_iam_log_suppressed_total"), 0) - sup0
check(said >= N - 40 and logged + said == N + 1 and sup == said,
      f"{N + 1} denials: {logged} lines written, {said} suppressed as the line says, "
      f"spoa_iam_log_suppressed_total +{sup:g}")

# ------------------------------------------------------------ 2. promtool
log("promtool check metrics and check rules")
promtool = None
try:
    promtool = subprocess.run([os.path.join(SOURCE_DIR, "scripts", "promtool.sh")],
                              capture_output=True, text=True, timeout=300).stdout.strip() or None
except (OSError, subprocess.SubprocessError) as e:
    log(f"scripts/promtool.sh: {e}")
check(promtool is not None, f"promtool available (scripts/promtool.sh: {promtool})")
st, live = http_get(agent.admin_port, "/metrics")
if promtool:
    r = subprocess.run([promtool, "check", "metrics"], input=live, capture_output=True,
                       text=True, timeout=60)
    check(r.returncode == 0 and not (r.stdout + r.stderr).strip(),
          f"promtool check metrics on a live scrape ({len(live)} bytes): rc {r.returncode}, "
          f"problems: {(r.stdout + r.stderr).strip()[:600]!r}")
    rules = os.path.join(SOURCE_DIR, "monitoring", "alerts.yml")
    r = subprocess.run([promtool, "check", "rules", rules], capture_output=True, text=True,
                       timeout=60)
    check(r.returncode == 0 and "SUCCESS" in r.stdout,
          f"promtool check rules monitoring/alerts.yml: rc {r.returncode} "
          f"{(r.stdout + r.stderr).strip()[-300:]!r}")

# ------------------------------------------------------------ 3. dashboard and alerts
log("dashboard and alerts: every metric they query exists in a live scrape")
AGG = {"sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk",
       "quantile", "count_values", "group"}
FUNCS = AGG | {
    "abs", "absent", "absent_over_time", "ceil", "changes", "clamp", "clamp_max",
    "clamp_min", "day_of_month", "day_of_week", "days_in_month", "delta", "deriv",
    "exp", "floor", "histogram_quantile", "holt_winters", "hour", "idelta",
    "increase", "irate", "label_join", "label_replace", "ln", "log2", "log10",
    "minute", "month", "predict_linear", "rate", "resets", "round", "scalar", "sgn",
    "sort", "sort_desc", "sqrt", "time", "timestamp", "vector", "year",
    "avg_over_time", "min_over_time", "max_over_time", "sum_over_time",
    "count_over_time", "quantile_over_time", "stddev_over_time", "stdvar_over_time",
    "last_over_time", "present_over_time"}
CLAUSES = {"by", "without", "on", "ignoring", "group_left", "group_right"}
KEYWORDS = CLAUSES | {"and", "or", "unless", "bool", "offset", "inf", "nan"}


def _string_end(s, i):
    q, i = s[i], i + 1
    while i < len(s) and s[i] != q:
        i += 2 if s[i] == "\\" else 1
    return i + 1


def parse_matchers(body):
    out = []
    for m in re.finditer(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"', body):
        out.append((m.group(1), m.group(2), m.group(3).replace('\\\\', '\\')))
    return out


def selectors(expr):
    """[(metric name, [(label, op, value)])] of a PromQL expression, and
    the problems met (unknown functions, unbalanced text)."""
    out, problems, i, n = [], [], 0, len(expr)
    while i < n:
        c = expr[i]
        if c in "\"'`":
            i = _string_end(expr, i)
        elif c == "[":
            j = expr.find("]", i)
            i = n if j < 0 else j + 1
        elif c == "{":
            j = expr.find("}", i)
            ms = parse_matchers(expr[i:j])
            name = next((v for k, op, v in ms if k == "__name__" and op == "="), None)
            out.append((name, [x for x in ms if x[0] != "__name__"]))
            i = n if j < 0 else j + 1
        elif c.isalpha() or c in "_:":
            j = i
            while j < n and (expr[j].isalnum() or expr[j] in "_:"):
                j += 1
            word, k = expr[i:j], j
            while k < n and expr[k].isspace():
                k += 1
            if word in CLAUSES and k < n and expr[k] == "(":
                i = expr.find(")", k) + 1 or n
            elif word in KEYWORDS or word in AGG:
                i = j
            elif k < n and expr[k] == "(":
                if word not in FUNCS:
                    problems.append(f"unknown function {word}()")
                i = j
            else:
                ms = []
                if k < n and expr[k] == "{":
                    e = k
                    while e < n and expr[e] != "}":
                        e = _string_end(expr, e) if expr[e] == '"' else e + 1
                    ms = parse_matchers(expr[k:e])
                    j = e + 1
                out.append((word, ms))
                i = j
        elif c.isdigit() or c == ".":
            j = i + 1
            while j < n and (expr[j].isalnum() or expr[j] in ".+-" and expr[j - 1] in "eE"):
                j += 1
            i = j
        else:
            i += 1
    return out, problems


# HAProxy's exporter: series exist for what has been used, so after traffic.
st_h, hap_text = http_get(hap.prom_port, "/metrics", timeout=10)
check_eq(st_h, 200, "HAProxy's exporter answers on PROM_BIND /metrics")
st_a, via_hap = http_get(hap.prom_port, "/agent/metrics", timeout=10)
check(st_a == 200 and "spoa_iam_decision_duration_seconds_bucket" in via_hap,
      "the agent's metrics on PROM_BIND /agent/metrics")
agent_samples, agent_types = parse_prom(live)
hap_samples, hap_types = parse_prom(hap_text)
SERIES = {}
TYPES = dict(hap_types)
TYPES.update(agent_types)
for (name, labels) in list(agent_samples) + list(hap_samples):
    SERIES.setdefault(name, []).append(dict(labels))


def family_of(name):
    """The family a sample name belongs to: a histogram's name_bucket,
    name_sum and name_count belong to name."""
    for suf in ("_bucket", "_sum", "_count"):
        base = name[:-len(suf)]
        if name.endswith(suf) and TYPES.get(base) in ("histogram", "summary"):
            return base
    return name


def matches(labels, matchers, subst):
    for k, op, v in matchers:
        if k in ("job", "instance"):
            continue            # added by Prometheus at scrape time
        for var, val in subst.items():
            v = v.replace(var, val)
        got = labels.get(k, "")
        ok = {"=": got == v, "!=": got != v,
              "=~": re.fullmatch(v, got) is not None,
              "!~": re.fullmatch(v, got) is None}[op]
        if not ok:
            return False
    return True


def check_query(where, expr, subst):
    sels, problems = selectors(expr)
    check_eq(problems, [], f"{where}: PromQL functions exist")
    bad = []
    for name, ms in sels:
        if name is None:
            bad.append(f"a selector without a metric name {ms}")
            continue
        if TYPES.get(name) == "histogram":
            bad.append(f"{name}: a histogram has no series of that name "
                       f"(query {name}_bucket, _sum or _count)")
            continue
        if name not in SERIES:
            bad.append(f"{name}: not in a live scrape")
            continue
        if name.endswith("_bucket") and TYPES.get(family_of(name)) != "histogram":
            bad.append(f"{name}: not the buckets of a histogram")
        if not any(matches(lab, ms, subst) for lab in SERIES[name]):
            bad.append(f"{name}{ms}: no live series matches")
    check(sels and not bad, f"{where}: {sorted({s[0] for s in sels if s[0]})} "
          f"{'all exist' if not bad else bad}")
    return {s[0] for s in sels if s[0]}


dash_path = os.path.join(SOURCE_DIR, "monitoring", "grafana-dashboard.json")
try:
    dash = json.load(open(dash_path))
except ValueError as e:
    dash = {}
    check(False, f"monitoring/grafana-dashboard.json parses: {e}")
subst = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}
for var in (dash.get("templating") or {}).get("list", []):
    cur = (var.get("current") or {}).get("value")
    if var.get("type") == "custom" and isinstance(cur, str):
        subst["$" + var["name"]] = cur
        subst["${" + var["name"] + "}"] = cur


def panels(ps):
    for p in ps or []:
        yield p
        yield from panels(p.get("panels"))


used = set()
n_targets = 0
for p in panels(dash.get("panels")):
    if p.get("type") == "row":
        continue
    targets = p.get("targets") or []
    check(targets, f"panel {p.get('title')!r} has queries")
    for t in targets:
        n_targets += 1
        used |= check_query(f"panel {p.get('title')!r} ({t.get('refId')})", t.get("expr", ""),
                            subst)
for var in (dash.get("templating") or {}).get("list", []):
    q = var.get("query")
    q = q.get("query") if isinstance(q, dict) else q
    m = re.match(r"^\s*label_values\((.*),\s*([a-zA-Z_]\w*)\)\s*$", q or "") \
        if var.get("type") == "query" else None
    if var.get("type") == "query":
        check(m is not None, f"template variable {var.get('name')}: label_values(...) ({q!r})")
    if m:
        used |= check_query(f"template variable {var.get('name')}", m.group(1), subst)
check(n_targets >= 10, f"the dashboard has {n_targets} queries")
log(f"dashboard queries: {len(used)} metrics: {sorted(used)}")
# What the issue asks the dashboard to show.
for what, name in (("request rate by result and reason", DEC),
                   ("p50/p99 decision latency", DUR + "_bucket"),
                   ("cache hit ratio", "spoa_iam_token_cache_hits_total"),
                   ("parked requests", "spoa_iam_parked_total"),
                   ("fetch health per source", "spoa_iam_fetch_up"),
                   ("document age per source", "spoa_iam_fetch_age_seconds"),
                   ("APIM backend health", "haproxy_backend_active_servers")):
    check(name in used, f"the dashboard shows {what} ({name})")

if yaml is None:
    check(False, "python3-yaml (scripts/install-deps.sh) to read alerts.yml")
else:
    groups = (yaml.safe_load(open(os.path.join(SOURCE_DIR, "monitoring", "alerts.yml")))
              or {}).get("groups") or []
    alerts = [r for g in groups for r in g.get("rules") or []]
    names = {r.get("alert") for r in alerts}
    for r in alerts:
        check_query(f"alert {r.get('alert')}", r.get("expr", ""), {})
    for want in ("SpoaIamIdentityProviderUnreachable", "SpoaIamKeysStaleSoon",
                 "SpoaIamDenialSpike", "SpoaIamNotReady", "HAProxySpoeErrors"):
        check(want in names, f"alert rule {want}")

# ------------------------------------------------------------ 4. JSON logs
log("JSON logs: every line, the request id in three places, no token")
check_eq(agent.stop(), 0, "agent exits 0 (its log written out)")
hap.stop()
out = agent.output()
lines = out.splitlines()
bad, parsed = [], []
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
for ln in lines:
    try:
        j = json.loads(ln)
    except ValueError:
        bad.append(ln[:200])
        continue
    if not (isinstance(j, dict) and TS.match(str(j.get("ts", ""))) and
            j.get("level") in ("error", "warn", "info", "debug") and
            isinstance(j.get("pid"), int) and isinstance(j.get("event"), str) and j["event"]):
        bad.append(ln[:200])
        continue
    if j["event"] == "log" and not isinstance(j.get("msg"), str):
        bad.append(ln[:200])
        continue
    parsed.append(j)
check(len(lines) > 20 and not bad,
      f"{len(lines)} lines, each one JSON object with ts, level, pid, event "
      f"(not: {bad[:3]})")
by_id = {}
for j in parsed:
    if j["event"] in ("allow", "deny"):
        by_id.setdefault(j.get("unique_id"), []).append(j)
hap_out = hap.output()
check(len(REQUESTS) >= 20, f"{len(REQUESTS)} requests through HAProxy with their request id")
wrong = []
for rid, want in REQUESTS.items():
    got = by_id.get(rid, [])
    if len(got) != 1:
        wrong.append(f"{want['what']}: {len(got)} decision lines with unique_id {rid}")
        continue
    j = got[0]
    exp = {"event": "allow" if want["reason"] == "ok" else "deny",
           "result": "allow" if want["reason"] == "ok" else "deny",
           "route": want["route"], "reason": want["reason"], "status": want["status"] if
           want["reason"] != "ok" else 200, "path": want["path"]}
    if "issuer" in want:
        exp["issuer"] = want["issuer"]
    if "kid" in want:
        exp["kid"] = want["kid"]
    if "sub" in want:
        exp["sub_hash"] = hashlib.sha256(want["sub"].encode()).hexdigest()[:16]
    have = {k: j.get(k) for k in exp}
    if have != exp:
        wrong.append(f"{want['what']}: {have} != {exp}")
    if not isinstance(j.get("us"), int) or j["us"] < want.get("min_us", 0):
        wrong.append(f"{want['what']}: us {j.get('us')} (at least {want.get('min_us', 0)})")
    hl = [ln for ln in hap_out.splitlines() if f" id={rid} " in ln]
    if len(hl) != 1 or f" reason={want['reason']} " not in hl[0] or \
            (want["route"] != "-" and f" route={want['route']} " not in hl[0]):
        wrong.append(f"{want['what']}: HAProxy's log lines for id={rid}: {hl}")
check_eq(wrong, [], "each request: one agent decision line whose unique_id is the X-Request-ID "
         "APIM got (or the refusal's request_id) and HAProxy's id=, with its route, result, "
         "reason, status, path, issuer, kid, subject hash and time")
stray = [j for j in parsed if j["event"] in ("allow", "deny") and
         j.get("unique_id") not in REQUESTS and not str(j.get("unique_id")).startswith("burst-")
         and j.get("path") != "/healthz"]
check_eq(stray, [], "no decision line without a request this test sent")

# A token, whole or cut short (a log field is at most 128 bytes): its
# payload's and signature's first and last 24 characters, and itself.
pieces = set(secrets())
for t in SENT:
    pieces.add(t)
    for part in t.split(".")[1:]:
        if len(part) >= 24:
            pieces |= {part[:24], part[-24:]}
leaks = sorted(p[:24] + "..." for p in pieces if p in out)
check_eq(leaks, [], f"none of {len(SENT)} tokens (nor their payloads or signatures), the "
         f"client secret, the query secret or the fetched tokens in the agent's log")
hap_leaks = [p[:24] for p in pieces if p in hap_out]
check_eq(hap_leaks, [], "nor in HAProxy's log")

idp.stop()
log(f"done in {time.time() - T0:.1f} s")
finish()
