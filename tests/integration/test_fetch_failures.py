"""Remote key sets under scripted provider behaviour (idp.py over HTTPS):

 - ETag / If-None-Match: revalidations answered 304 keep the keys and
   their age current;
 - Cache-Control max-age is honoured within fetch.refresh_min_s ..
   refresh_max_s (intervals observed coarsely);
 - 500, a hanging server, garbage, an oversize body and a dropped
   connection all keep the last good keys (tokens keep passing) and show
   as a stale source with the error;
 - discovery with Entra's appid: appended to the discovery URL and to the
   jwks_uri it returns (unless already there);
 - a discovery document whose issuer does not match is refused; Entra's
   {tenantid} template matches a {tenant} issuer.
"""
import os
import time
from urllib.parse import parse_qs

from harness import (SLOW, Agent, EchoBackend, HAProxy, check, check_eq, curl,
                     finish, log, pki, wait_for)
from idp import IdP, metric, readyz, source
from tokens import mint

AUD = "api://orders"
GUID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
idp = IdP()
B = idp.base
idp.doc("/keys").cache_control = "no-cache"
idp.set_doc("/app/.well-known/openid-configuration",
            lambda: {"issuer": idp.issuer, "jwks_uri": B + "/app/keys"})
idp.set_doc("/app2/.well-known/openid-configuration",
            lambda: {"issuer": idp.issuer, "jwks_uri": B + "/app/keys?appid=app-456"})
idp.set_doc("/app/keys", lambda: {"keys": [idp.keys[0].jwk()]})
idp.set_doc("/tmpl/.well-known/openid-configuration",
            {"issuer": "https://login.example/{tenantid}/v2.0",
             "jwks_uri": B + "/tmpl/keys"})
idp.set_doc("/tmpl/keys", lambda: {"keys": [idp.keys[0].jwk()]})
idp.set_doc("/lm/keys", lambda: {"keys": [idp.keys[0].jwk()]}, etag=False,
            last_modified="Thu, 01 Jan 2026 00:00:00 GMT", cache_control="no-cache")
idp.set_doc("/bad/.well-known/openid-configuration",
            {"issuer": "https://evil.example", "jwks_uri": B + "/tmpl/keys"})


def issuer(name, **kw):
    d = {"name": name, "issuer": idp.issuer, "audiences": [AUD], "algorithms": ["RS256"]}
    d.update(kw)
    return d


echo = EchoBackend()
agent = Agent({
    "fetch": {"refresh_min_s": 1, "refresh_max_s": 3, "backoff_max_s": 1,
              "ca_file": os.path.join(pki(), "ca.pem"),
              "connect_timeout_ms": 500, "timeout_ms": 1000},
    "issuers": [
        issuer("idp", jwks_url=B + "/keys"),
        issuer("lm", jwks_url=B + "/lm/keys"),
        issuer("app", discovery_url=B + "/app/.well-known/openid-configuration",
               appid="app-123"),
        issuer("app2", discovery_url=B + "/app2/.well-known/openid-configuration",
               appid="app-456"),
        issuer("tmpl", issuer="https://login.example/{tenant}/v2.0", tenants=[GUID],
               discovery_url=B + "/tmpl/.well-known/openid-configuration"),
        issuer("bad", issuer="https://login.example/expected",
               discovery_url=B + "/bad/.well-known/openid-configuration"),
    ],
    "routes": [{"name": "orders", "path_prefix": "/orders", "require": "jwt",
                "issuers": ["idp"]}],
}).start()
hap = HAProxy(f"127.0.0.1:{agent.port}", echo.addr)
hap.start()
P = hap.port
TOK = {"Authorization": "Bearer " + mint(idp.keys[0], iss=idp.issuer, aud=AUD)}

check(wait_for(lambda: source(agent, "jwks:idp").get("state") == "ok", timeout=15),
      "jwks:idp fetched")
check(wait_for(lambda: curl(P, "/orders/1", headers=TOK).status == 200, timeout=15),
      "token accepted")

log("ETag: revalidations answered 304")
check(wait_for(lambda: idp.not_modified.get("/keys", 0) >= 2, timeout=10),
      f"the provider answered 304 ({idp.not_modified.get('/keys', 0)})")
inm = [r["headers"].get("if-none-match") for r in idp.requests_for("/keys")]
check(any(inm), "requests carry If-None-Match")
src = source(agent, "jwks:idp")
check(src.get("not_modified", 0) >= 1, f"/readyz counts 304s ({src.get('not_modified')})")
# The 200 was two 1 s refreshes ago at least: an age back at 0 or 1 comes
# from a 304 (polled: the provider counts its 304 before the agent reads it).
check(wait_for(lambda: source(agent, "jwks:idp").get("age_s") in (0, 1),
               timeout=10),
      f"a 304 refreshes the age ({source(agent, 'jwks:idp').get('age_s')} s)")
check_eq(src.get("state"), "ok", "state ok")


log("Last-Modified / If-Modified-Since")
check(wait_for(lambda: idp.not_modified.get("/lm/keys", 0) >= 1, timeout=10),
      "revalidated by date: 304")
ims = [r["headers"].get("if-modified-since") for r in idp.requests_for("/lm/keys")]
check("Thu, 01 Jan 2026 00:00:00 GMT" in ims, "If-Modified-Since sent back verbatim")
check(not any(r["headers"].get("if-none-match") for r in idp.requests_for("/lm/keys")),
      "no If-None-Match without an ETag")

log("failures keep the last good keys")
EXPECT = {"500": "HTTP status 500", "hang": "imed out", "garbage": "JSON",
          "oversize": "larger than fetch.max_body_bytes", "close": "without a response"}
for mode, text in EXPECT.items():
    if mode == "hang":
        idp.rearm_hangs()
    before = source(agent, "jwks:idp").get("failures", 0)
    idp.doc("/keys").mode = mode
    ok = wait_for(lambda: source(agent, "jwks:idp").get("failures", 0) >= before + 2,
                  timeout=15)
    src = source(agent, "jwks:idp")
    check(ok, f"{mode}: failures counted ({before} -> {src.get('failures')})")
    check_eq(src.get("state"), "stale", f"{mode}: source stale")
    check(text in (src.get("last_error") or ""),
          f"{mode}: last_error {src.get('last_error')!r} mentions {text!r}")
    check_eq(curl(P, "/orders/1", headers=TOK).status, 200,
             f"{mode}: token still accepted with the last good keys")
    idp.doc("/keys").mode = "ok"
    idp.release_hangs()
    check(wait_for(lambda: source(agent, "jwks:idp").get("state") == "ok", timeout=10),
          f"{mode}: recovers")
rej = metric(agent, "spoa_iam_fetch_rejected_total", '{source="jwks:idp"}')
check(rej is not None and rej >= 2, f"refused documents counted in /metrics ({rej})")
check(metric(agent, "spoa_iam_fetch_up", '{source="jwks:idp"}') == 1, "fetch_up back to 1")

def fetch_times(path, n, timeout=10):
    """Times of the next ${n} fetches of ${path}."""
    start = len(idp.requests_for(path))
    wait_for(lambda: len(idp.requests_for(path)) >= start + n, timeout=timeout)
    return [r["t"] for r in idp.requests_for(path)[start:start + n]]


def interval_after(cc):
    """Set Cache-Control ${cc}; the interval that follows the response
    carrying it."""
    idp.doc("/keys").cache_control = cc
    ts = fetch_times("/keys", 2)
    return round(ts[1] - ts[0], 2) if len(ts) == 2 else None


log("Cache-Control: max-age honoured, clamped to the bounds")
iv = interval_after("no-cache")
# Lower bounds as they were; the slack above (a late fetch: a stall) is
# scaled by SLOW.
check(iv is not None and 0.6 <= iv <= 1 + 0.8 * SLOW, f"no-cache: refresh_min_s (1 s): {iv}")
iv = interval_after("public, max-age=2")
check(iv is not None and 1.4 <= iv <= 2 + 0.8 * SLOW, f"max-age=2: {iv}")
iv = interval_after("max-age=86400")
check(iv is not None and 2.4 <= iv <= 3 + 1.0 * SLOW,
      f"max-age=86400 clamped to refresh_max_s (3 s): {iv}")

log("discovery with appid")
check(wait_for(lambda: source(agent, "jwks:app").get("state") == "ok", timeout=10),
      "jwks:app fetched")
q = [parse_qs(r["query"]) for r in idp.requests_for("/app/.well-known/openid-configuration")]
check(q and all(x.get("appid") == ["app-123"] for x in q),
      f"discovery URL carries appid: {q[:1]}")
q = [parse_qs(r["query"]).get("appid") for r in idp.requests_for("/app/keys")]
check(["app-123"] in q, f"appid appended to the returned jwks_uri: {q}")
check(["app-456"] in q, "an appid already in jwks_uri is kept once")
check(all(x in (["app-123"], ["app-456"]) for x in q), f"never duplicated: {q}")

log("discovery issuer check")
check_eq(source(agent, "discovery:tmpl").get("state"), "ok",
         "{tenantid} document accepted for a {tenant} issuer")
bad = source(agent, "discovery:bad")
check_eq(bad.get("state"), "error", "mismatching discovery issuer refused")
check("does not match" in (bad.get("last_error") or ""),
      f"error says why: {bad.get('last_error')}")
st, j = readyz(agent)
check_eq(st, 503, "not ready: issuer 'bad' has no key set")
check_eq(j["sources"]["issuer:bad"]["state"], "pending", "issuer:bad pending")
check_eq(j["sources"]["issuer:idp"]["state"], "ok", "issuer:idp ok")

check_eq(agent.stop(), 0, "agent exits 0")
hap.stop()
idp.stop()
finish()
