"""Bearer tokens end to end: Debian's haproxy with haproxy-conf/haproxy.cfg
and iam.spoe.conf, the agent, and the HTTPS echo backend (APIM stand-in).

Keys are generated and the JWKS files written by Python `cryptography`
(tests/integration/tokens.py), and every token is minted there, never by
the agent's code.  Issuers: "rsa" (RS256 + PS256 keys) and "ec" (ES256 +
EdDSA keys) from jwks_file, "hs" (HS256, secret in an environment variable).

A valid token -> 200 with the identity headers at the backend.  Each failure
-> its HTTP status (401 with the WWW-Authenticate challenge that haproxy.cfg
builds from txn.iam.www_authenticate, 403 for scope/role/claim) and its
reason, read from the agent's "deny ... reason=..." log line for that
request (each request has its own path, which the deny line carries).
"""
import json
import os
import re
import signal
import time

from harness import (Agent, EchoBackend, HAProxy, agent_metrics, check, check_eq,
                     curl, finish, log, tmpdir, wait_for)
from tokens import Key, b64u, jwks, mint

T0 = time.time()
HS_ENV = "SPOA_IT_HS_SECRET"
HS_SECRET = b"integration-test-secret-of-more-than-32-bytes"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"

# Keys and key files, all by Python `cryptography`.
rs = Key("RS256", "rs-1")
ps = Key("PS256", "ps-1")
es = Key("ES256", "es-1")
ed = Key("EdDSA", "ed-1")
hs = Key("HS256", "hs", secret=HS_SECRET)
hs_wrong = Key("HS256", "hs", secret=b"not-the-secret-but-long-enough-anyway!!")

d = tmpdir()
RSA_JWKS = os.path.join(d, "rsa-keys.json")
EC_JWKS = os.path.join(d, "ec-keys.json")
with open(RSA_JWKS, "w") as f:
    json.dump(jwks(rs, ps), f)
with open(EC_JWKS, "w") as f:
    json.dump(jwks(es, ed), f)
os.environ[HS_ENV] = HS_SECRET.decode()   # the agent inherits it

ISS_RSA = "https://rsa.idp.example"
ISS_EC = "https://ec.idp.example"
ISS_HS = "https://hs.idp.example"
AUD = "api://orders"

CONFIG = {
    "issuers": [
        {"name": "rsa", "issuer": ISS_RSA, "jwks_file": RSA_JWKS,
         "audiences": [AUD], "algorithms": ["RS256", "PS256"]},
        {"name": "ec", "issuer": ISS_EC, "jwks_file": EC_JWKS,
         "audiences": [AUD], "algorithms": ["ES256", "EdDSA"]},
        {"name": "hs", "issuer": ISS_HS, "algorithms": ["HS256"],
         "hmac_secret_env": HS_ENV, "audiences": [AUD]},
    ],
    # One worker: the token cache is per worker, and the checks below count
    # cache hits, which with two workers would depend on which worker
    # HAProxy's connection landed on (test_agent_takeover and
    # test_conn_flood run several workers).
    "workers": 1,
    "routes": [
        {"name": "health", "path_prefix": "/healthz", "require": "none"},
        {"name": "orders", "path_prefix": "/api", "require": "jwt",
         "claims_to_vars": ["email"]},
        {"name": "orders-write", "path_prefix": "/scoped", "require": "jwt",
         "scopes_all": ["Orders.Write"]},
        {"name": "admin", "path_prefix": "/admin", "require": "jwt",
         "roles_any": ["Admin"]},
        {"name": "v2-only", "path_prefix": "/v2", "require": "jwt",
         "claims": {"ver": ["2.0"]}},
    ],
}


def spoe_edit(text):
    # claims_to_vars names must be registered for HAProxy to keep them.
    return text.replace("register-var-names allow status reason",
                        "register-var-names claim_email allow status reason")


def cfg_edit(text):
    # X-IAM-Status and X-IAM-Reason show the backend whether an allowed
    # answer carried status and reason (lean answers).
    return text.replace(
        "    default_backend apim",
        "    http-request set-header X-IAM-Claim-Email %[var(txn.iam.claim_email)]"
        " if { var(txn.iam.claim_email) -m found }\n"
        "    http-request set-header X-IAM-Status %[var(txn.iam.status)]"
        " if { var(txn.iam.status) -m found }\n"
        "    http-request set-header X-IAM-Reason %[var(txn.iam.reason)]"
        " if { var(txn.iam.reason) -m found }\n    default_backend apim")


echo = EchoBackend()
agent = Agent(CONFIG).start()
hap = HAProxy(f"127.0.0.1:{agent.port}", echo.addr, spoe_edit=spoe_edit,
              cfg_edit=cfg_edit)
rc, out = hap.check_config()
check(rc == 0, f"haproxy -c accepts the config with claim_email ({hap.version()})")
if rc != 0:
    print(out)
hap.start()
P = hap.port
check(wait_for(lambda: curl(P, "/healthz").status == 200, timeout=15),
      "traffic flows once HAProxy sees the agent up")


def claims(iss, **extra):
    c = {"iss": iss, "aud": AUD, "azp": "client-app", "tid": TENANT,
         "scp": "Orders.Read Orders.Write", "roles": ["Admin", "Reader"],
         "email": "alice@example.com", "ver": "2.0"}
    c.update(extra)
    return c


def get(path, token=None, authz=None, extra_headers=None):
    h = dict(extra_headers or {})
    if token is not None:
        h["Authorization"] = f"Bearer {token}"
    elif authz is not None:
        h["Authorization"] = authz
    return curl(P, path, headers=h)


SEEN_TOKENS = []
log("valid tokens -> 200 and identity headers at the backend")
VALID = [
    ("RS256", rs, ISS_RSA), ("PS256", ps, ISS_RSA), ("ES256", es, ISS_EC),
    ("EdDSA", ed, ISS_EC), ("HS256", hs, ISS_HS),
]
for alg, key, iss in VALID:
    tok = mint(key, claims(iss), sub=f"user-{alg}",
               kid=None if alg == "HS256" else "__key__")
    r = get(f"/api/ok-{alg}", tok, extra_headers={"X-IAM-Sub": "forged"})
    check_eq(r.status, 200, f"{alg}: status")
    want = {
        "x-iam-sub": f"user-{alg}", "x-iam-issuer": iss,
        "x-iam-client-id": "client-app", "x-iam-tenant": TENANT,
        "x-iam-scopes": "Orders.Read Orders.Write", "x-iam-roles": "Admin Reader",
        "x-iam-route": "orders", "x-iam-claim-email": "alice@example.com",
    }
    got = {k: r.backend_header(k) for k in want}
    check_eq(got, want, f"{alg}: identity headers at the backend")
    # The client's own Authorization header still reaches APIM.
    check(r.backend_header("authorization") == f"Bearer {tok}",
          f"{alg}: Authorization forwarded unchanged")
    SEEN_TOKENS.append(tok)

# The same token again is a cache hit: same answer.
tok = mint(es, claims(ISS_EC))
r1, r2 = get("/api/cache-1", tok), get("/api/cache-2", tok)
check_eq((r1.status, r2.status), (200, 200), "same token twice -> 200 twice")
check_eq(r2.backend_header("x-iam-sub"), "alice", "cached identity")

log("failures -> status, challenge and reason")
now = int(time.time())
with open(os.path.join(d, "rsa-pub.pem"), "wb") as f:
    f.write(rs.public_pem())
rsa_pem_as_hmac = Key("HS256", "rs-1", secret=rs.public_pem())

FAILURES = [
    # (name, path, token or None, authz, status, reason, challenge error)
    ("missing", "/api", None, None, 401, "token_missing", None),
    ("basic", "/api", None, "Basic YWxpY2U6c2VjcmV0", 401, "token_missing", None),
    ("malformed", "/api", "not.a.jwt", None, 401, "token_malformed",
     "invalid_token"),
    ("none", "/api", mint(rs, claims(ISS_RSA), alg="none", signature=""), None,
     401, "token_unsupported_alg", "invalid_token"),
    ("rs-hs-confusion", "/api", mint(rsa_pem_as_hmac, claims(ISS_RSA)), None,
     401, "token_unsupported_alg", "invalid_token"),
    ("es-for-rsa-issuer", "/api", mint(es, claims(ISS_RSA)), None,
     401, "token_unsupported_alg", "invalid_token"),
    ("unknown-kid", "/api", mint(rs, claims(ISS_RSA), kid="rotated-away"), None,
     401, "key_unknown", "invalid_token"),
    ("bad-signature", "/api", mint(rs, claims(ISS_RSA), signature=b64u(b"\x00" * 256)),
     None, 401, "signature_invalid", "invalid_token"),
    ("hs-wrong-secret", "/api", mint(hs_wrong, claims(ISS_HS), kid=None), None,
     401, "signature_invalid", "invalid_token"),
    ("expired", "/api", mint(es, claims(ISS_EC, iat=now - 7200, nbf=now - 7200),
                             exp_in=-3600), None,
     401, "token_expired", "invalid_token"),
    ("not-yet", "/api", mint(ed, claims(ISS_EC, nbf=now + 3600)), None,
     401, "token_not_yet_valid", "invalid_token"),
    ("audience", "/api", mint(ps, claims(ISS_RSA, aud="api://someone-else")),
     None, 401, "audience_mismatch", "invalid_token"),
    ("issuer", "/api", mint(es, claims("https://evil.example")), None,
     401, "issuer_unknown", "invalid_token"),
    ("embedded-jwk", "/api", mint(Key("ES256", "es-1"), claims(ISS_EC),
                                   header={"jwk": {"kty": "EC"}}), None,
     401, "signature_invalid", "invalid_token"),
    ("scope", "/scoped", mint(es, claims(ISS_EC, scp="Orders.Read")), None,
     403, "scope_missing", None),
    ("role", "/admin", mint(es, claims(ISS_EC, roles=["Reader"])), None,
     403, "role_missing", None),
    ("claim", "/v2", mint(es, claims(ISS_EC, ver="1.0")), None,
     403, "claim_mismatch", None),
]

hits_before = echo.hits
for name, base, tok, authz, status, reason, err in FAILURES:
    path = f"{base}/f-{name}"
    r = get(path, tok, authz=authz)
    if tok and tok.count(".") == 2 and len(tok) > 40:
        SEEN_TOKENS.append(tok)
    check_eq(r.status, status, f"{name}: HTTP status")
    wa = r.headers.get("www-authenticate")
    if status == 401:
        if err is None:
            check_eq(wa, 'Bearer realm="spoa-iam"', f"{name}: challenge without error")
        else:
            check(wa is not None and wa.startswith(
                f'Bearer realm="spoa-iam", error="{err}"'),
                f"{name}: challenge {wa!r}")
    else:
        check(wa is None, f"{name}: no challenge on a 403")

    def deny_line():
        for line in agent.output().splitlines():
            if " deny " in line and f"path={path} " in line:
                return line
        return None
    check(wait_for(lambda: deny_line() is not None, timeout=5),
          f"{name}: deny line logged")
    line = deny_line() or ""
    m = re.search(r"reason=(\S+) status=(\d+)", line)
    check_eq((m.group(1), int(m.group(2))) if m else None, (reason, status),
             f"{name}: reason in the agent log")
check_eq(echo.hits, hits_before, "no denied request reached the backend")

# The same valid token on a route that refuses it and one that takes it.
tok = mint(rs, claims(ISS_RSA, scp="Orders.Read"))
check_eq(get("/scoped/x", tok).status, 403, "token without Orders.Write -> 403")
check_eq(get("/api/x", tok).status, 200, "same token on /api -> 200")

log("a reload that changes nothing a cached token depends on keeps it")


def cache():
    m = agent_metrics(agent)
    return (m.get("spoa_iam_token_cache_entries", 0),
            m.get("spoa_iam_token_cache_sweeps_total", 0),
            m.get("spoa_iam_reloads_total", 0))


def reload_and_sweep(config):
    """SIGHUP with ${config}; return the cache entries once every worker
    has swept its cache for the new config (each counts a sweep)."""
    entries, sweeps, reloads = cache()
    agent.write_config(config)
    agent.send_signal(signal.SIGHUP)
    workers = agent.config.get("workers", 2)
    done = wait_for(lambda: cache()[2] > reloads and
                    cache()[1] >= sweeps + workers, timeout=10)
    check(done, "the reload was applied and every worker swept its cache")
    return cache()[0]


toks = [mint(rs, claims(ISS_RSA, scp="Orders.Read", sub=f"reload-{i}"))
        for i in range(6)]
for t in toks:
    check_eq(get("/api/x", t).status, 200, "a token to cache")
before = cache()[0]
check(before >= len(toks), f"tokens cached: {before}")
# The same config, then routes in another order and one more route whose
# rules name nothing new: every record is kept.
check_eq(reload_and_sweep(dict(agent.config)), before,
         "unchanged config: every cached token kept")
moved = dict(agent.config)
moved["routes"] = list(reversed(agent.config["routes"])) + [
    {"name": "more", "path_prefix": "/more", "require": "jwt",
     "scopes_all": ["Orders.Write"]}]
check_eq(reload_and_sweep(moved), before,
         "routes reordered, a route naming known scopes: cached tokens kept")
m = agent_metrics(agent)
hits = m.get("spoa_iam_token_cache_hits_total", 0)
misses = m.get("spoa_iam_token_cache_misses_total", 0)
for t in toks:
    check_eq(get("/api/x", t).status, 200, "a kept token still passes")
m = agent_metrics(agent)
check_eq((m.get("spoa_iam_token_cache_hits_total", 0) - hits,
          m.get("spoa_iam_token_cache_misses_total", 0) - misses),
         (len(toks), 0), "kept tokens are cache hits after the reload "
         "(hits, misses)")
# A scope name no route named before: records are compiled again.
changed = dict(moved)
changed["routes"] = moved["routes"] + [
    {"name": "new", "path_prefix": "/new", "require": "jwt",
     "scopes_any": ["Brand.New"]}]
check_eq(reload_and_sweep(changed), 0,
         "a new scope name: every cached token dropped")
check_eq(get("/api/x", toks[0]).status, 200, "and verified again")

log("lean answers: what HAProxy gets for an allowed request")


def hap_line(path):
    """HAProxy's log line (haproxy.cfg's log-format) for ${path}."""
    for line in hap.output().splitlines():
        if f"{path} HTTP/" in line:
            return line
    return None


def logged(path, field):
    """${field}=<value> of HAProxy's log line for ${path}."""
    check(wait_for(lambda: hap_line(path) is not None, timeout=5),
          f"HAProxy logged {path}")
    m = re.search(rf" {field}=(\S+)", hap_line(path) or "")
    return m.group(1) if m else None


IDENT = ("x-iam-sub", "x-iam-issuer", "x-iam-client-id", "x-iam-tenant",
         "x-iam-scopes", "x-iam-roles", "x-iam-route", "x-iam-claim-email",
         "x-iam-status", "x-iam-reason")
# Empty scopes, roles and mapped claim: no variable, so no header.
empty = mint(rs, claims(ISS_RSA, scp="", email="", roles=[]), sub="lean")
for setting, answer, status, reason in (
        ("default", None, None, "ok"),
        ("on_allow []", {"on_allow": []}, None, None),
        ("on_allow status, reason", {"on_allow": ["status", "reason"]}, "200", "ok")):
    conf = dict(agent.config)
    conf.pop("answer", None)
    if answer is not None:
        conf["answer"] = answer
    reload_and_sweep(conf)
    tag = "".join(ch if ch.isalnum() else "-" for ch in setting)
    r = get(f"/api/lean-{tag}", empty)
    check_eq(r.status, 200, f"{setting}: allowed")
    got = {k: r.backend_header(k) for k in IDENT}
    want = {"x-iam-sub": "lean", "x-iam-issuer": ISS_RSA,
            "x-iam-client-id": "client-app", "x-iam-tenant": TENANT,
            "x-iam-scopes": None, "x-iam-roles": None, "x-iam-route": "orders",
            "x-iam-claim-email": None, "x-iam-status": status, "x-iam-reason": reason}
    check_eq(got, want, f"{setting}: the backend's headers: identity, no empty "
             f"value, status {status}, reason {reason}")
    # haproxy.cfg's log line: reason=ok when sent, "-" (not set) otherwise.
    check_eq(logged(f"/api/lean-{tag}", "reason"), reason or "-",
             f"{setting}: reason in HAProxy's log line of an allowed request")
    check_eq(logged(f"/api/lean-{tag}", "route"), "orders",
             f"{setting}: route in HAProxy's log line")
    # A refusal is whole whatever the setting: status, reason, challenge.
    r = get(f"/api/lean-{tag}-expired",
            mint(es, claims(ISS_EC, iat=now - 7200, nbf=now - 7200), exp_in=-3600))
    check_eq((r.status, (r.json() or {}).get("reason")), (401, "token_expired"),
             f"{setting}: a refusal keeps status and reason")
    check((r.headers.get("www-authenticate") or "").startswith(
          'Bearer realm="spoa-iam", error="invalid_token"'),
          f"{setting}: and its challenge")
    check_eq(logged(f"/api/lean-{tag}-expired", "reason"), "token_expired",
             f"{setting}: reason in HAProxy's log line of a refusal")
    r = get(f"/scoped/lean-{tag}", empty)
    check_eq((r.status, (r.json() or {}).get("reason")), (403, "scope_missing"),
             f"{setting}: 403 with its reason")

log("the agent logged no token and no secret")
out = agent.output()
check(HS_SECRET.decode() not in out, "HMAC secret not in the log")
SEEN_TOKENS.append(tok)
leaks = [t for t in SEEN_TOKENS
         if (t.split(".")[2] and t.split(".")[2] in out) or t.split(".")[1] in out]
check_eq(len(leaks), 0, f"no payload or signature of {len(SEEN_TOKENS)} tokens in the log")

check_eq(agent.stop(), 0, "agent exits 0 on SIGTERM")
hap.stop()
log(f"done in {time.time() - T0:.1f} s")
finish()
