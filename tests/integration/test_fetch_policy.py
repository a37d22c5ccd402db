"""Remote policy (policy_url) and secretless credentials, through HAProxy.

 - the policy document is fetched with a bearer token from an IMDS-like
   managed-identity endpoint (Metadata: true, api-version, resource,
   client_id), requested once per token lifetime;
 - a policy update changes decisions without restart; garbage and a
   schema error keep the policy in use and are logged and counted;
 - SIGHUP switches to an OAuth2 client-credentials grant whose secret
   comes from a file, then from an environment variable; a wrong secret
   fails the fetch and keeps the policy; secrets never reach the log;
 - a client certificate (mTLS to the provider) for the policy URL; a CRL
   URL that demands a certificate fails alone;
 - with a policy_url never loaded, every request is not_ready (503);
   a policy in state_dir serves at once with the provider down.
"""
import json
import os
import signal
from urllib.parse import parse_qs

from harness import (Agent, EchoBackend, HAProxy, check, check_eq, curl, finish,
                     log, pki, tmpdir, wait_for)
from idp import IdP, metric, readyz, source
from tokens import mint

AUD = "api://orders"
idp = IdP(mtls_port=True)
B = idp.base
M = f"https://localhost:{idp.mtls_port}"
SECRET_ENV = "env-secret-" + os.urandom(4).hex()
idp.client_secret = "file-secret-" + os.urandom(4).hex()
os.environ["SPOA_TEST_CC_SECRET"] = SECRET_ENV
secret_file = os.path.join(tmpdir(), "cc.secret")
with open(secret_file, "w") as f:
    f.write(idp.client_secret + "\n")
bad_secret_file = os.path.join(tmpdir(), "bad.secret")
with open(bad_secret_file, "w") as f:
    f.write("wrong-secret\n")


def policy(version, routes):
    return {"version": version,
            "issuers": [{"name": "idp", "issuer": idp.issuer, "jwks_url": B + "/keys",
                         "audiences": [AUD], "algorithms": ["RS256"]}],
            "routes": routes + [{"name": "orders", "path_prefix": "/orders",
                                 "require": "jwt"}]}


V1 = policy("v1", [{"name": "a", "path_prefix": "/a", "require": "none"}])
V2 = policy("v2", [{"name": "b", "path_prefix": "/b", "require": "none"},
                   {"name": "m", "path_prefix": "/m", "require": "mtls"}])
pol = idp.set_doc("/policy", V1, cache_control="no-cache")
pol.require_bearer = "tok-msi-"
idp.set_doc("/crl", open(os.path.join(pki(), "crl.der"), "rb").read(),
            ctype="application/pkix-crl")
state = os.path.join(tmpdir(), "state-policy")
os.makedirs(state)
CREDS = [
    {"name": "mi", "type": "managed_identity", "endpoint": B + "/msi/token",
     "resource": "api://policy", "client_id": "cid-1"},
    {"name": "cc", "type": "client_credentials", "token_url": B + "/oauth2/token",
     "client_id": idp.client_id, "client_secret_file": secret_file,
     "scope": "api://policy/.default"},
    {"name": "ccenv", "type": "client_credentials", "token_url": B + "/oauth2/token",
     "client_id": idp.client_id, "client_secret_env": "SPOA_TEST_CC_SECRET"},
    {"name": "ccbad", "type": "client_credentials", "token_url": B + "/oauth2/token",
     "client_id": idp.client_id, "client_secret_file": bad_secret_file},
    {"name": "cert", "type": "client_certificate",
     "cert_file": os.path.join(pki(), "client-valid.crt"),
     "key_file": os.path.join(pki(), "client-valid.key")},
]


def config(cred="mi", url=B + "/policy", state_dir=state, crls=None):
    return {"state_dir": state_dir, "credentials": CREDS, "policy_url": url,
            "client_ca_file": os.path.join(pki(), "clients-ca.pem"),
            "policy_credential": cred, "crl_urls": crls or [],
            "fetch": {"refresh_min_s": 1, "refresh_max_s": 2, "backoff_max_s": 1,
                      "ca_file": os.path.join(pki(), "ca.pem"),
                      "connect_timeout_ms": 500, "timeout_ms": 2000}}


echo = EchoBackend()
# The agents restarted below take over the address HAProxy uses: a unix
# socket in this test's directory, which no other test can take meanwhile.
SOCK = os.path.join(tmpdir(), "spop.sock")
agent = Agent(config(), sock=SOCK).start()
hap = HAProxy(agent.spoe_addr, echo.addr)
hap.start()
P = hap.port
TOK = {"Authorization": "Bearer " + mint(idp.keys[0], iss=idp.issuer, aud=AUD)}

log("managed identity: the policy fetch carries the token")
check(wait_for(lambda: readyz(agent)[0] == 200, timeout=15), "ready: policy and keys loaded")
check(wait_for(lambda: curl(P, "/a").status == 200, timeout=10), "policy v1: /a -> 200")
check_eq(curl(P, "/b").status, 403, "policy v1: /b -> 403 (no route)")
check_eq(curl(P, "/orders/1", headers=TOK).status, 200, "jwt route of the policy")
check(wait_for(lambda: idp.hit("/policy") >= 4, timeout=10), "policy refreshed periodically")
check_eq(idp.hit("/msi/token"), 1, "one token request for several policy fetches")
mi = idp.requests_for("/msi/token")[0]
q = parse_qs(mi["query"])
check_eq(mi["headers"].get("metadata"), "true", "IMDS request has Metadata: true")
check_eq(q.get("resource"), ["api://policy"], "resource parameter")
check_eq(q.get("api-version"), ["2018-02-01"], "api-version parameter")
check_eq(q.get("client_id"), ["cid-1"], "client_id of the user-assigned identity")
auth = {r["headers"].get("authorization") for r in idp.requests_for("/policy")}
check(len(auth) == 1 and next(iter(auth)).startswith("Bearer tok-msi-1-"),
      f"every policy fetch carries the same bearer token ({len(auth)} distinct)")
check(idp.tokens[0] not in agent.output(), "the token is never logged")
st, j = readyz(agent)
check_eq(j["sources"]["credential:mi"]["state"], "ok", "/readyz: credential ok")
check(j["sources"]["policy"]["url"].startswith(B + "/policy"), "/readyz: policy url")

log("policy update changes decisions without restart")
pol.body = V2
check(wait_for(lambda: curl(P, "/b").status == 200, timeout=10), "policy v2: /b -> 200")
check_eq(curl(P, "/a").status, 403, "policy v2: /a -> 403")
check(wait_for(lambda: "policy applied, version v2" in agent.output(), timeout=5),
      "policy version logged")

log("a bad policy keeps the one in use")
rej0 = metric(agent, "spoa_iam_fetch_rejected_total", '{source="policy"}') or 0
pol.mode = "garbage"
check(wait_for(lambda: (metric(agent, "spoa_iam_fetch_rejected_total",
                               '{source="policy"}') or 0) >= rej0 + 1, timeout=10),
      "garbage policy rejected and counted")
check_eq(curl(P, "/b").status, 200, "garbage: old policy still decides")
pol.mode = "ok"
pol.body = {"issuers": [], "routes": [{"name": "x", "require": "sometimes"}]}
check(wait_for(lambda: "routes[0].require" in agent.output(), timeout=10),
      "schema error logged with its JSON path")
check(wait_for(lambda: (metric(agent, "spoa_iam_fetch_rejected_total",
                               '{source="policy"}') or 0) >= rej0 + 2, timeout=10),
      "schema error counted")
check(wait_for(lambda: "document rejected" in agent.output(), timeout=5), "rejection logged")
check_eq(curl(P, "/b").status, 200, "schema error: old policy still decides")
check_eq(source(agent, "policy").get("state"), "stale", "policy source stale")
pol.body = V2
check(wait_for(lambda: source(agent, "policy").get("state") == "ok", timeout=10),
      "good document again: ok")


def reload(cfg):
    n = agent.output().count("reload: configuration applied")
    agent.write_config(dict(agent.config, **cfg))
    agent.send_signal(signal.SIGHUP)
    return wait_for(lambda: agent.output().count("reload: configuration applied") > n,
                    timeout=10)


def fetched_with(prefix):
    """The policy source is ok after a fetch that carried a ${prefix} token."""
    def pred():
        rs = idp.requests_for("/policy")
        return (rs and (rs[-1]["headers"].get("authorization") or "")
                .startswith("Bearer " + prefix) and
                source(agent, "policy").get("state") == "ok")
    return pred


log("client credentials, secret from a file (SIGHUP)")
pol.require_bearer = "tok-cc-"
check(reload({"policy_credential": "cc"}), "reload applied")
check(wait_for(fetched_with("tok-cc-"), timeout=10), "policy fetched with a cc token")
form = parse_qs(idp.requests_for("/oauth2/token")[-1]["body"].decode())
check_eq(form.get("grant_type"), ["client_credentials"], "grant_type")
check_eq(form.get("client_secret"), [idp.client_secret], "secret read from the file")
check_eq(form.get("scope"), ["api://policy/.default"], "scope")
check_eq(curl(P, "/b").status, 200, "policy kept across the reload")
check_eq(metric(agent, "spoa_iam_reloads_total", '{result="ok"}'), 1.0, "reloads_ok counted")
n_cc = idp.hit("/oauth2/token")

log("client credentials, secret from the environment")
idp.client_secret = SECRET_ENV
check(reload({"policy_credential": "ccenv"}), "reload applied")
check(wait_for(lambda: idp.hit("/oauth2/token") > n_cc and fetched_with("tok-cc-")(),
               timeout=10), "policy fetched with a token from the env secret")
form = parse_qs(idp.requests_for("/oauth2/token")[-1]["body"].decode())
check_eq(form.get("client_secret"), [SECRET_ENV], "secret read from the environment")

log("a wrong secret: fetch fails, policy kept")
check(reload({"policy_credential": "ccbad"}), "reload applied")
check(wait_for(lambda: "invalid_client" in (source(agent, "credential:ccbad")
                                            .get("last_error") or ""), timeout=10),
      "credential error shown on /readyz")
check(wait_for(lambda: "invalid_client" in (source(agent, "policy")
                                            .get("last_error") or ""), timeout=10),
      "policy source fails with the credential error")
check_eq(curl(P, "/b").status, 200, "policy in use kept")
out = agent.output()
check(SECRET_ENV not in out and "file-secret-" not in out and "wrong-secret" not in out,
      "no secret in the log")
check(not any(t in out for t in idp.tokens), "no token in the log")

log("client certificate (mTLS to the source); a CRL URL without one fails alone")
pol.require_bearer = None
before = len(idp.requests_for("/policy"))
check(reload({"policy_credential": "cert", "policy_url": M + "/policy",
              "crl_urls": [B + "/crl", M + "/crl"]}), "reload applied")
check(wait_for(lambda: any(r["mtls"] for r in idp.requests_for("/policy")[before:]),
               timeout=10), "policy fetched over mTLS")
check(wait_for(lambda: curl(P, "/b").status == 200, timeout=10), "policy from the mTLS URL")
crl_ok = f"crl:{B}/crl"
crl_bad = f"crl:{M}/crl"
check(wait_for(lambda: source(agent, crl_ok).get("state") == "ok", timeout=10),
      "CRL fetched and accepted")
VALID = (os.path.join(pki(), "client-valid.crt"), os.path.join(pki(), "client-valid.key"))
REVOKED = (os.path.join(pki(), "client-revoked.crt"),
           os.path.join(pki(), "client-revoked.key"))
check(wait_for(lambda: curl(P, "/m", cert=VALID[0], key=VALID[1]).status == 200,
               timeout=10), "mtls route: a valid certificate passes (CRL from the URL)")
check_eq(curl(P, "/m", cert=REVOKED[0], key=REVOKED[1]).status, 401,
         "the certificate the fetched CRL revokes -> 401 (cert_revoked)")
check(wait_for(lambda: "reason=cert_revoked" in agent.output(), timeout=5),
      "logged cert_revoked")
idp.doc("/crl").body = b"garbage, not a CRL"
check(wait_for(lambda: (source(agent, crl_ok).get("rejected") or 0) >= 1, timeout=10),
      "a bad CRL download is refused")
check_eq(curl(P, "/m", cert=REVOKED[0], key=REVOKED[1]).status, 401,
         "the previous CRL stays in use")
idp.doc("/crl").body = open(os.path.join(pki(), "crl-empty.pem"), "rb").read()
check(wait_for(lambda: curl(P, "/m", cert=REVOKED[0], key=REVOKED[1]).status == 200,
               timeout=10), "a new CRL without the serial: the certificate passes")
idp.doc("/crl").body = open(os.path.join(pki(), "crl.der"), "rb").read()
check(wait_for(lambda: curl(P, "/m", cert=REVOKED[0], key=REVOKED[1]).status == 401,
               timeout=10), "CRL refresh revokes a passing certificate without restart")
check_eq(curl(P, "/m", cert=VALID[0], key=VALID[1]).status, 200,
         "other certificates still pass after the refresh")
check(wait_for(lambda: source(agent, crl_bad).get("state") == "error", timeout=10),
      "CRL URL needing a client certificate fails")
check_eq(readyz(agent)[0], 200, "a CRL source does not affect readiness")
check_eq(agent.stop(), 0, "agent stops")

log("policy in state_dir, provider down: serves at once")
idp.stop()
def again(**kw):
    cfg = dict(agent.config, **kw)
    del cfg["listen"], cfg["admin_listen"]
    return cfg


a2 = Agent(again(), name="agent2", sock=SOCK).start()
check_eq(readyz(a2)[0], 200, "ready at once from state_dir")
check(wait_for(lambda: curl(P, "/b").status == 200, timeout=15), "cached policy decides")
check_eq(curl(P, "/orders/1", headers=TOK).status, 200, "cached keys of the cached policy")
check_eq(a2.stop(), 0, "agent2 stops")

log("policy never loaded: every request not_ready")
empty = os.path.join(tmpdir(), "empty-policy")
os.makedirs(empty)
a3 = Agent(again(state_dir=empty), name="agent3", sock=SOCK).start()
st, j = readyz(a3)
check_eq(st, 503, "/readyz 503")
check_eq(j["sources"].get("policy_loaded"), False, "/readyz: policy_loaded false")
# HAProxy itself answers 503 until its health check sees the new agent:
# keep asking until the agent has answered (and logged) not_ready.
check(wait_for(lambda: curl(P, "/b").status == 503 and
               "reason=not_ready" in a3.output(), timeout=15),
      "even a require:none route -> 503 (not_ready), logged by the agent")
check_eq(a3.stop(), 0, "agent3 stops")
hap.stop()
finish()
