"""Identity assertions for APIM end to end: Debian's haproxy (and each peer
version) with haproxy-conf/haproxy.cfg and iam.spoe.conf as shipped, plus
haproxy-conf/assertion-keys.cfg, the agent, and the HTTPS echo backend as
APIM.

The agent signs a short-lived JWT for allowed requests on routes with
"assertion"; haproxy.cfg sends it as X-IAM-Assertion.  Every assertion is
read where APIM would read it (the header at the backend) and verified
here with Python `cryptography` against the JWK Set fetched from the
agent's admin port (GET /assertion-jwks.json) - never with the agent's
code:

- ES256, before and after a key rotation (assertion_key_rotate_s 6 s,
  published 2 s ahead): the new key was in the JWK Set before it signed;
  an assertion of the old key still verifies with the set published after;
- a cache hit signs nothing (spoa_iam_assertions_signed_total unchanged,
  the same JWT); another route, another certificate: another assertion;
- its claims are exactly the chosen ones: nothing else of the incoming
  token (extra claims, its iss, aud, nonce...) reaches it;
- exp is iat + ttl_s, never past the token's own exp;
- "request_id": true puts HAProxy's unique-id (X-Request-ID) in "rid",
  signed per request;
- a client-sent X-IAM-Assertion never reaches the backend;
- the client certificate's thumbprint (x5t#S256) on an mTLS route;
- a DPoP-bound route (RFC 9449) with a resource: proofs minted here, the
  proof verified on every request, the assertion signed once per token
  (also for a token whose aud is only the route's resource) and reused
  with each new proof; a replayed proof, an unbound token or Bearer get a
  401 and no assertion;
- the JWK Set and the OpenID configuration served through HAProxy
  (assertion-keys.cfg), and the assertion_jwks_file, equal the admin's;
- EdDSA and RS256 after a reload switching assertion_alg;
- a key file that others may read stops the agent at start, loudly, and
  `--check` says so first.
"""
import base64
import json
import os
import signal
import stat
import subprocess
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from harness import (AGENT_BIN, SOURCE_DIR, Agent, EchoBackend, HAProxy, agent_metrics, check,
                     check_eq, curl, fact, finish, free_port, log, pki, tmpdir, wait_for)
from idp import admin_get
from tokens import Key, cert_thumbprint_s256, dpop_proof, jwk_thumbprint, jwks, mint

D = tmpdir()
P_KI = pki()
STATE = os.path.join(D, "state")
JWKS_FILE = os.path.join(D, "assertion-jwks.json")
ISS = "https://idp.example"
AUD = "api://orders"
A_ISS = "https://haproxy.test/spoa-iam"
idp_key = Key("ES256", "idp-1")
IDP_JWKS = os.path.join(D, "idp-keys.json")
with open(IDP_JWKS, "w") as f:
    json.dump(jwks(idp_key), f)

ROTATE_S, AHEAD_S, TTL = 6, 2, 10
RES_DPOP = "https://api.example/dpop"      # an RFC 8707 resource identifier


def config(alg="ES256"):
    return {
        # One worker: each worker has its own verified-token cache, so a
        # token's second request is a hit only on the worker of its first.
        "workers": 1,
        "state_dir": STATE,
        "client_ca_file": os.path.join(P_KI, "clients-ca.pem"),
        "assertion_issuer": A_ISS,
        "assertion_alg": alg,
        "assertion_key_rotate_s": ROTATE_S,
        "assertion_key_publish_ahead_s": AHEAD_S,
        "assertion_jwks_file": JWKS_FILE,
        "issuers": [{"name": "idp", "issuer": ISS, "jwks_file": IDP_JWKS,
                     "audiences": [AUD], "algorithms": ["ES256"]}],
        "routes": [
            {"name": "health", "path_prefix": "/healthz", "require": "none"},
            {"name": "orders", "path_prefix": "/orders", "require": "jwt",
             "assertion": {"audience": "api://apim-orders", "ttl_s": TTL}},
            {"name": "billing", "path_prefix": "/billing", "require": "jwt",
             "assertion": {"audience": "api://apim-billing", "ttl_s": 20}},
            {"name": "mtls", "path_prefix": "/mtls", "require": "jwt+mtls",
             "assertion": {"audience": "api://apim-mtls", "ttl_s": 20}},
            {"name": "traced", "path_prefix": "/traced", "require": "jwt",
             "assertion": {"audience": "api://apim-traced", "ttl_s": 20,
                           "request_id": True}},
            {"name": "plain", "path_prefix": "/plain", "require": "jwt"},
            {"name": "dpop", "path_prefix": "/dpop", "require": "jwt",
             "dpop": "required", "resource": RES_DPOP,
             "assertion": {"audience": "api://apim-dpop", "ttl_s": 20}},
        ],
    }


KEYS_PORT = free_port()
keys_cfg = open(os.path.join(SOURCE_DIR, "haproxy-conf", "assertion-keys.cfg")).read()


def with_keys_frontend(text):
    return text + "\n" + keys_cfg


echo = EchoBackend()
agent = Agent(config()).start()
hap = HAProxy(f"127.0.0.1:{agent.port}", echo.addr, cfg_edit=with_keys_frontend,
              extra_env={"IAM_KEYS_BIND": f"127.0.0.1:{KEYS_PORT}",
                         "IAM_ADMIN": f"127.0.0.1:{agent.admin_port}",
                         "IAM_ASSERTION_ISSUER": A_ISS,
                         "IAM_KEYS_URL": f"https://localhost:{KEYS_PORT}"})
rc, out = hap.check_config("-dW")
check(rc == 0, f"haproxy -c -dW: haproxy.cfg + assertion-keys.cfg ({hap.version()})")
if rc != 0:
    print(out)
hap.start()
P = hap.port
check(wait_for(lambda: curl(P, "/healthz").status == 200, timeout=15),
      "traffic flows once HAProxy sees the agent up")


# ---------------------------------------------------------------- helpers

def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64i(s):
    return int.from_bytes(b64d(s), "big")


def public_key(jwk):
    if jwk["kty"] == "EC":
        check_eq(jwk["crv"], "P-256", "EC key on P-256")
        return ec.EllipticCurvePublicNumbers(b64i(jwk["x"]), b64i(jwk["y"]),
                                             ec.SECP256R1()).public_key()
    if jwk["kty"] == "OKP":
        return ed25519.Ed25519PublicKey.from_public_bytes(b64d(jwk["x"]))
    if jwk["kty"] == "RSA":
        return rsa.RSAPublicNumbers(b64i(jwk["e"]), b64i(jwk["n"])).public_key()
    raise ValueError(jwk["kty"])


def verify(jwt, keyset):
    """(header, claims) of ${jwt} if a key of ${keyset} with its kid
    verifies it (cryptography), else None."""
    h64, p64, s64 = jwt.split(".")
    hdr = json.loads(b64d(h64))
    sig = b64d(s64)
    data = f"{h64}.{p64}".encode()
    for jwk in keyset["keys"]:
        if jwk.get("kid") != hdr.get("kid") or jwk.get("alg") != hdr.get("alg"):
            continue
        pk = public_key(jwk)
        try:
            if hdr["alg"] == "ES256":
                if len(sig) != 64:
                    return None
                der = encode_dss_signature(int.from_bytes(sig[:32], "big"),
                                           int.from_bytes(sig[32:], "big"))
                pk.verify(der, data, ec.ECDSA(hashes.SHA256()))
            elif hdr["alg"] == "EdDSA":
                pk.verify(sig, data)
            elif hdr["alg"] == "RS256":
                pk.verify(sig, data, padding.PKCS1v15(), hashes.SHA256())
            else:
                return None
        except InvalidSignature:
            return None
        return hdr, json.loads(b64d(p64))
    return None


def admin_jwks():
    st, body = admin_get(agent, "/assertion-jwks.json")
    check_eq(st, 200, "GET /assertion-jwks.json on the admin port")
    return json.loads(body)


def token(**claims):
    c = {"iss": ISS, "aud": AUD, "azp": "client-app", "tid": "tenant-1",
         "scp": "Orders.Read Orders.Write", "roles": ["Admin", "Reader"]}
    c.update(claims)
    exp_in = c.pop("exp_in", 600)
    return mint(idp_key, c, exp_in=exp_in)


def request(path, tok, headers=None, client=None):
    h = {"Authorization": f"Bearer {tok}"}
    h.update(headers or {})
    c = k = None
    if client:
        c = os.path.join(P_KI, f"{client}.crt")
        k = os.path.join(P_KI, f"{client}.key")
    return curl(P, path, headers=h, cert=c, key=k)


def assertion_of(path, tok, **kw):
    r = request(path, tok, **kw)
    check_eq(r.status, 200, f"{path}: allowed")
    return r.backend_header("X-IAM-Assertion")


def signed():
    return agent_metrics(agent).get("spoa_iam_assertions_signed_total", 0)


# ---------------------------------------------------------------- ES256

log("an assertion at the backend, verified against the admin port's JWK Set")
set1 = admin_jwks()
check(all(k["alg"] == "ES256" and k["kty"] == "EC" and "d" not in k for k in set1["keys"]),
      f"ES256 public keys only: {[k.get('kid') for k in set1['keys']]}")
# (No cnf here: a token with cnf.jkt is DPoP-bound and refused as Bearer;
# the DPoP route below checks that its cnf.jkt does not leak.)
T_EXTRA = token(email="alice@example.com", secret_claim="do-not-leak", nonce="n-123",
                act={"sub": "x" * 43}, sub="alice")
jwt1 = assertion_of("/orders/1", T_EXTRA)
check(jwt1 is not None, "X-IAM-Assertion reaches the backend")
v1 = verify(jwt1, set1)
check(v1 is not None, "cryptography verifies it with the published key of its kid")
hdr1, cl1 = v1 if v1 else ({}, {})
check_eq(hdr1.get("typ"), "JWT", "header typ JWT")
check_eq(sorted(hdr1), ["alg", "kid", "typ"], "header: alg, kid, typ only")
want = {"iss", "aud", "iat", "nbf", "exp", "jti", "sub", "client_id", "tid", "scope",
        "roles", "route"}
check_eq(set(cl1), want, "claims: exactly the chosen ones (no x5t#S256 without a cert)")
check_eq(cl1.get("iss"), A_ISS, "iss is assertion_issuer, not the token's")
check_eq(cl1.get("aud"), "api://apim-orders", "aud is the route's audience")
check_eq((cl1.get("sub"), cl1.get("client_id"), cl1.get("tid"), cl1.get("route")),
         ("alice", "client-app", "tenant-1", "orders"), "sub, client_id, tid, route")
check_eq((cl1.get("scope"), cl1.get("roles")), ("Orders.Read Orders.Write", "Admin Reader"),
         "scope and roles as txn.iam.scopes and roles")
check_eq(cl1.get("exp", 0) - cl1.get("iat", 0), TTL, "exp = iat + ttl_s")
check(cl1.get("nbf") == cl1.get("iat") and abs(cl1.get("iat", 0) - time.time()) < 5,
      "iat = nbf = now")
text = b64d(jwt1.split(".")[1]).decode()
for leak in ("do-not-leak", "alice@example.com", "n-123", ISS,
             "xxxxxxxx"):
    check(leak not in text, f"nothing of the incoming token leaks: {leak!r}")

log("a cache hit costs no signature")
n0 = signed()
jwt1b = assertion_of("/orders/2", T_EXTRA)
check(jwt1b == jwt1, "the same token on the same route: the cached assertion")
check_eq(signed(), n0, "spoa_iam_assertions_signed_total unchanged by the hit")
check(agent_metrics(agent).get("spoa_iam_assertions_cached_total", 0) >= 1,
      "spoa_iam_assertions_cached_total counts it")
jwt_b = assertion_of("/billing/1", T_EXTRA)
check(jwt_b != jwt1 and verify(jwt_b, admin_jwks())[1]["aud"] == "api://apim-billing",
      "another route: its own assertion, its own audience")
check_eq(signed(), n0 + 1, "... signed once")
check(assertion_of("/billing/2", T_EXTRA) == jwt_b, "and cached too")
check_eq(signed(), n0 + 1, "the second billing request signed nothing")

log("request_id: the request's id in each assertion, one signature each")
n2 = signed()
rids = []
for k in range(2):
    r = request(f"/traced/{k}", T_EXTRA)
    j = r.backend_header("X-IAM-Assertion")
    c = verify(j, admin_jwks())[1] if j else {}
    rids.append(c.get("rid"))
    check(c.get("rid") is not None and c.get("rid") == r.backend_header("X-Request-ID"),
          f"rid is the X-Request-ID HAProxy sent APIM: {c.get('rid')}")
    check_eq(set(c), want | {"rid"}, "claims: the chosen ones and rid")
check(rids[0] != rids[1], "each request its own")
check_eq(signed(), n2 + 2, "signed per request (a request id cannot be cached)")

log("exp never past the token's own")
t_short = token(exp_in=4, sub="bob")
cl = verify(assertion_of("/orders/short", t_short), admin_jwks())[1]
tok_exp = json.loads(b64d(t_short.split(".")[1]))["exp"]
check_eq(cl["exp"], tok_exp, "a token expiring in 4 s: the assertion's exp is the token's")

log("a client-sent X-IAM-Assertion never reaches the backend")
r = request("/plain/1", T_EXTRA, headers={"X-IAM-Assertion": "forged.by.client"})
check_eq((r.status, r.backend_header("X-IAM-Assertion")), (200, None),
         "a route without assertion: the forged header is removed")
r = request("/orders/3", T_EXTRA, headers={"X-IAM-Assertion": "forged.by.client"})
check(r.backend_header("X-IAM-Assertion") == jwt1, "a route with one: the agent's replaces it")

log("mTLS route: the client certificate's thumbprint")
tm = token(sub="carol")
ja = assertion_of("/mtls/1", tm, client="client-valid")
cla = verify(ja, admin_jwks())[1]
check_eq(cla.get("x5t#S256"), cert_thumbprint_s256(os.path.join(P_KI, "client-valid.crt")),
         "x5t#S256 is the SHA-256 of the certificate HAProxy verified")
check_eq(set(cla), want | {"x5t#S256"}, "claims: the chosen ones and x5t#S256")
n1 = signed()
check(assertion_of("/mtls/2", tm, client="client-valid") == ja, "same token and cert: cached")
jb = assertion_of("/mtls/3", tm, client="client-spiffe")
check(jb != ja and verify(jb, admin_jwks())[1]["x5t#S256"] ==
      cert_thumbprint_s256(os.path.join(P_KI, "client-spiffe.crt")),
      "the same token with another certificate: another assertion, its thumbprint")
check_eq(signed(), n1 + 1, "one signature for the new certificate, none for the hit")

log("a DPoP route: the proof every request, the assertion once per token")
dpop_key = Key("ES256", "dpop-client")
ORIGIN = f"https://localhost:{P}"


def dpop_request(path, tok, proof, scheme="DPoP"):
    return request(path, tok, headers={"Authorization": f"{scheme} {tok}", "DPoP": proof})


for aud in (AUD, RES_DPOP):
    td = token(aud=aud, sub="dave", cnf={"jkt": jwk_thumbprint(dpop_key.jwk())})
    n_d = signed()
    p1 = dpop_proof(dpop_key, "GET", ORIGIN + "/dpop/1", td)
    r = dpop_request("/dpop/1", td, p1)
    check_eq(r.status, 200, f"aud {aud}: a valid proof and its bound token -> 200")
    jd = r.backend_header("X-IAM-Assertion")
    vd = verify(jd, admin_jwks()) if jd else None
    check(vd is not None, f"aud {aud}: the assertion verifies against the JWK Set")
    cld = vd[1] if vd else {}
    check_eq(set(cld), want, f"aud {aud}: exactly the chosen claims (no cnf, no ath)")
    check_eq((cld.get("aud"), cld.get("route"), cld.get("sub")),
             ("api://apim-dpop", "dpop", "dave"), f"aud {aud}: audience, route, sub")
    check(jd is None or jwk_thumbprint(dpop_key.jwk()) not in b64d(jd.split(".")[1]).decode(),
          f"aud {aud}: the token's cnf.jkt does not leak")
    check_eq(signed(), n_d + 1, f"aud {aud}: one signature")
    p2 = dpop_proof(dpop_key, "GET", ORIGIN + "/dpop/2", td)
    r = dpop_request("/dpop/2", td, p2)
    check(r.status == 200 and r.backend_header("X-IAM-Assertion") == jd,
          f"aud {aud}: a new proof -> 200 with the cached assertion ({r.status})")
    check_eq(signed(), n_d + 1, f"aud {aud}: spoa_iam_assertions_signed_total unchanged")
    hits = echo.hits
    r = dpop_request("/dpop/2", td, p2)
    check(r.status == 401 and r.headers.get("www-authenticate", "").startswith("DPoP "),
          f"aud {aud}: the same proof again -> 401 with a DPoP challenge ({r.status})")
    check_eq(echo.hits, hits, f"aud {aud}: the replay did not reach the backend")
r = dpop_request("/dpop/3", td, dpop_proof(dpop_key, "GET", ORIGIN + "/dpop/3", td),
                 scheme="Bearer")
check_eq(r.status, 401, "Bearer on the dpop: required route -> 401")
tu = token(sub="erin")
r = dpop_request("/dpop/4", tu, dpop_proof(dpop_key, "GET", ORIGIN + "/dpop/4", tu))
check_eq(r.status, 401, "a token not bound to the proof's key -> 401")
check_eq(signed(), n_d + 1, "refusals sign nothing")

log("keys through HAProxy (assertion-keys.cfg) and in assertion_jwks_file")
r = curl(KEYS_PORT, "/.well-known/openid-configuration")
doc = r.json() or {}
check_eq((r.status, doc.get("issuer"), doc.get("jwks_uri")),
         (200, A_ISS, f"https://localhost:{KEYS_PORT}/jwks.json"),
         "the OpenID configuration APIM reads names assertion_issuer and the jwks_uri")
r = curl(KEYS_PORT, "/jwks.json")
check(r.status == 200 and r.json() == admin_jwks(), "the JWK Set through HAProxy is the admin's")
check_eq(curl(KEYS_PORT, "/metrics").status, 404, "nothing else of the admin port there")
check(wait_for(lambda: json.load(open(JWKS_FILE)) == admin_jwks(), timeout=5),
      "assertion_jwks_file holds the same set")
mode = stat.S_IMODE(os.stat(JWKS_FILE).st_mode)
check_eq(mode, 0o644, "assertion_jwks_file is public (0644)")
keyfiles = [f for f in os.listdir(STATE) if f.startswith("assertion-")]
check(keyfiles and all(stat.S_IMODE(os.stat(os.path.join(STATE, f)).st_mode) == 0o600
                       for f in keyfiles), f"key files in state_dir are 0600: {keyfiles}")

log("rotation: the next key is published before it signs; the old one stays")
kid1 = hdr1["kid"]
seen_in_sets = set()
rotated = None
deadline = time.time() + 4 * ROTATE_S
i = 0
while time.time() < deadline:
    ks = admin_jwks()
    seen_in_sets |= {k["kid"] for k in ks["keys"]}
    i += 1
    j = assertion_of(f"/orders/r{i}", token(sub=f"rot-{i}"))
    h = json.loads(b64d(j.split(".")[0]))
    if h["kid"] != kid1:
        rotated = (j, h["kid"])
        break
    time.sleep(0.3)
check(rotated is not None, "a new key signs within two rotation periods")
if rotated:
    jwt2, kid2 = rotated
    check(kid2 in seen_in_sets, "the new kid was in a JWK Set fetched before it signed "
                                "(assertion_key_publish_ahead_s)")
    set2 = admin_jwks()
    check(verify(jwt2, set2) is not None, "after the rotation: the new key's assertion verifies")
    check(verify(jwt1, set2) is not None,
          "the assertion signed before the rotation still verifies with the set after")
    check(kid1 in {k["kid"] for k in set2["keys"]}, "the old key is still published")
fact("assertion_keys_published", len(admin_jwks()["keys"]))

# ---------------------------------------------------------------- other algs

for alg, kty in (("EdDSA", "OKP"), ("RS256", "RSA")):
    log(f"reload with assertion_alg {alg}")
    agent.write_config(dict(config(alg), listen=agent.config["listen"],
                            admin_listen=agent.config["admin_listen"],
                            log_level="info"))
    agent.send_signal(signal.SIGHUP)
    check(wait_for(lambda: all(k["kty"] == kty for k in admin_jwks()["keys"]), timeout=10),
          f"the JWK Set holds {alg} keys after the reload")
    # The fetcher publishes the new keys; the worker signs with them once
    # its inbox has delivered the snapshot that carries them (moments
    # later): until then an assertion of the old algorithm may come, and it
    # no longer verifies (README: changing assertion_alg).
    fresh = iter(range(1000))
    check(wait_for(lambda: json.loads(b64d(assertion_of(
        f"/orders/alg{next(fresh)}", T_EXTRA).split(".")[0]))["alg"] == alg, timeout=10),
          f"the worker signs with {alg} once the snapshot reached it")
    j = assertion_of("/orders/alg", T_EXTRA)
    v = verify(j, admin_jwks())
    check(v is not None and v[0]["alg"] == alg, f"{alg}: cryptography verifies the assertion")
    check(v is not None and set(v[1]) == want, f"{alg}: the same claims")

# ---------------------------------------------------------------- key file mode

log("a key file that others may read stops the agent at start")
agent.stop()
victim = sorted(f for f in os.listdir(STATE) if f.startswith("assertion-"))[-1]
os.chmod(os.path.join(STATE, victim), 0o644)
bad = Agent(config("RS256"), name="agent-badmode")
r = subprocess.run([AGENT_BIN, "-c", bad.cfgpath, "--check"], capture_output=True, text=True,
                   timeout=30)
check(r.returncode == 1 and victim in r.stdout + r.stderr and "mode 0644" in r.stdout + r.stderr,
      f"--check says so first: rc {r.returncode} {(r.stdout + r.stderr).strip()[:200]}")
bad.start(wait=False)
check(wait_for(lambda: not bad.alive(), timeout=10), "the agent refuses to start")
out = bad.output()
check(victim in out and "mode 0644" in out,
      f"its error names the file and its mode: {[l for l in out.splitlines() if 'mode' in l][:1]}")
hap.stop()
finish()
