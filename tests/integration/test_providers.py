"""Identity providers as they really are, through HAProxy.

The discovery documents and key sets that Entra ID (v1, v2; common,
organizations, tenant-specific), Okta, Auth0, Keycloak and Google publish
are kept as data under providers/ (PROVENANCE.md says where each comes
from).  The test identity provider serves them over real HTTPS, with only
two changes: each document's jwks_uri points at the loopback copy, and each
signing key's public numbers (n, e) are those of a test key whose private
half mints the tokens here (Python `cryptography`, never our code).  Every
other member stays as published: kid, x5t, x5c, the Entra keys' own
"issuer" templates, Keycloak's encryption key, Okta's typ-less headers.

The tokens have each provider's real claim shapes (providers/*/tokens/),
re-timed to now.  The cases are the defects of the provider issue:
  - a template issuer ({tenant} or Microsoft's {tenantid}) admits only the
    tenants listed: a token of another tenant is refused, either spelling;
  - a single-tenant config (exact issuers) accepts Entra's key sets, whose
    keys carry the {tenantid} template, for v1 and v2, user and app-only
    tokens, with the multi-tenant or the tenant's own discovery document,
    and a template config works with a tenant-specific document;
  - identity values over 1,024 bytes (30 groups) arrive whole; an answer
    larger than HAProxy's frame is refused with identity_unsendable;
  - a numeric sub is token_malformed;
  - the example config's max_lifetime_s admits Entra's longest tokens;
  - Okta's cid is the client id and its typ-less tokens pass a typ list
    with null; Keycloak's realm and client roles (a client id with a dot),
    Auth0's URL-named roles and permissions, Google's two issuer spellings;
  - real key sets with 1024-bit RSA keys, a 257-byte modulus, X25519 and
    alg-less EC keys load what they can, and a set with no usable key says
    why, key by key; a P-521 key with a one-byte-short coordinate verifies.
"""
import base64
import copy
import json
import os
import subprocess
import time

from cryptography.hazmat.primitives.asymmetric import ec

from harness import (AGENT_BIN, Agent, EchoBackend, HAProxy, SOURCE_DIR, _edit,
                     check, check_eq, curl, finish, log, pki, tmpdir, wait_for)
from idp import IdP, metric
from tokens import Key, b64u

FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "providers")
TA = "12345678-1234-1234-1234-123456789012"      # our tenant (the fixtures')
TB = "72f988bf-86f1-41af-91ab-2d7cd011db47"      # somebody else's
MSA = "9188040d-6c67-4c5b-b112-36a304b66dad"     # personal accounts
API = "00000000-0000-0000-0000-00000000a001"     # our API's client id
V2 = "https://login.microsoftonline.com/{}/v2.0"
V1 = "https://sts.windows.net/{}/"


def fx(path):
    with open(os.path.join(FIX, path)) as f:
        return json.load(f)


idp = IdP()
test_keys = {}


def key_for(kid):
    """The test key standing in for published key ${kid}."""
    if kid not in test_keys:
        test_keys[kid] = Key("RS256", kid)
    return test_keys[kid]


def _b64int(n):
    return b64u(n.to_bytes((n.bit_length() + 7) // 8, "big"))


def serve_jwks(path, doc):
    """Serve ${doc} at ${path} with each RSA signing key's n and e swapped
    for a test key's; everything else as published."""
    doc = copy.deepcopy(doc)
    for k in doc["keys"]:
        if k.get("kty") == "RSA" and k.get("use", "sig") == "sig":
            pn = key_for(k["kid"]).priv.public_key().public_numbers()
            k["n"], k["e"] = _b64int(pn.n), _b64int(pn.e)
    idp.set_doc(path, doc)
    return doc


def serve_discovery(name, disc, jwks_path, jwks_doc):
    """Serve discovery document ${disc} at /${name}/.well-known/... with its
    jwks_uri on loopback; return its URL."""
    d = copy.deepcopy(disc)
    d["jwks_uri"] = idp.base + jwks_path
    serve_jwks(jwks_path, jwks_doc)
    path = f"/{name}/.well-known/openid-configuration"
    idp.set_doc(path, d)
    return idp.base + path


def token(fixture, header=None, payload=None, sign_kid=None, drop=()):
    """A fixture's token re-timed to now, with ${payload} members replacing
    its own, signed by the test key of its kid (or ${sign_kid})."""
    f = fx(fixture)
    hdr = dict(f["header"])
    hdr.update(header or {})
    claims = dict(f["payload"])
    life = f["_lifetime_seconds"]
    now = int(time.time()) - 5
    old_iat = claims.get("iat", now)
    claims["iat"] = now
    claims["exp"] = now + life
    if "nbf" in claims:
        claims["nbf"] = now - (old_iat - claims["nbf"])
    if "auth_time" in claims:
        claims["auth_time"] = now - 20
    claims.update(payload or {})
    for k in drop:
        claims.pop(k, None)
    if "header_raw_json" in f and header is None:
        raw = f["header_raw_json"].encode()
    else:
        raw = json.dumps(hdr, separators=(",", ":")).encode()
    key = key_for(sign_kid or hdr["kid"])
    si = f"{b64u(raw)}.{b64u(json.dumps(claims, separators=(',', ':')))}"
    return si + "." + b64u(key.sign(si.encode(), alg="RS256"))


def entra(fixture, tenant, v1=False, **kw):
    """An Entra token of ${tenant}: iss and tid say it."""
    p = {"iss": (V1 if v1 else V2).format(tenant), "tid": tenant, "aud": API}
    p.update(kw.pop("payload", {}))
    return token(fixture, payload=p, **kw)


# ------------------------------------------------------------- documents
E = "entra/"
common = serve_discovery("entra/common/v2.0", fx(E + "v2-discovery-common.json"),
                         "/entra/common/discovery/v2.0/keys",
                         fx(E + "v2-jwks-common.json"))
orgs = serve_discovery("entra/organizations/v2.0",
                       fx(E + "v2-discovery-organizations.json"),
                       "/entra/organizations/discovery/v2.0/keys",
                       fx(E + "v2-jwks-organizations.json"))
tenant_doc = serve_discovery(f"entra/{TA}/v2.0", fx(E + "v2-discovery-tenant.json"),
                             f"/entra/{TA}/discovery/v2.0/keys",
                             fx(E + "v2-jwks-tenant.json"))
v1_tenant = serve_discovery(f"entra/{TA}", fx(E + "v1-discovery-tenant.json"),
                            "/entra/common/discovery/keys", fx(E + "v1-jwks-common.json"))
okta = serve_discovery("okta/oauth2/default", fx("okta/default-as-discovery.json"),
                       "/okta/oauth2/default/v1/keys", fx("okta/default-as-jwks.json"))
okta_org = serve_discovery("okta", fx("okta/org-discovery.json"), "/okta/oauth2/v1/keys",
                           fx("okta/org-jwks.json"))
auth0 = serve_discovery("auth0", fx("auth0/discovery.json"), "/auth0/.well-known/jwks.json",
                        fx("auth0/jwks.json"))
kc = serve_discovery("keycloak/realms/demorealm", fx("keycloak/discovery.json"),
                     "/keycloak/realms/demorealm/protocol/openid-connect/certs",
                     fx("keycloak/jwks.json"))
google = serve_discovery("google", fx("google/discovery.json"), "/google/oauth2/v3/certs",
                         fx("google/jwks.json"))
ORG_KID = fx(E + "v2-jwks-organizations.json")["keys"][0]["kid"]   # {tenantid} issuer
COMMON_KID = fx(E + "v2-jwks-common.json")["keys"][0]["kid"]
MSA_KID = next(k["kid"] for k in fx(E + "v2-jwks-common.json")["keys"]
               if k.get("issuer") == V2.format(MSA))
V1_KID = fx(E + "v1-jwks-common.json")["keys"][0]["kid"]
TENANT_KID = fx(E + "v2-jwks-tenant.json")["keys"][0]["kid"]

# P-521 with a coordinate one byte short (a dropped leading zero).
while True:
    p521 = ec.generate_private_key(ec.SECP521R1())
    pn = p521.public_key().public_numbers()
    if pn.x < 1 << 520:
        break
p521_jwk = {"kty": "EC", "crv": "P-521", "kid": "p521", "use": "sig",
            "x": b64u(pn.x.to_bytes(65, "big")), "y": b64u(pn.y.to_bytes(66, "big"))}
p521_file = os.path.join(tmpdir(), "p521.json")
with open(p521_file, "w") as f:
    json.dump({"keys": [p521_jwk]}, f)

with open(os.path.join(SOURCE_DIR, "haproxy-conf", "spoa-iam.example.json")) as f:
    EXAMPLE_LIFETIME = next(i for i in json.load(f)["issuers"]
                            if i["name"] == "entra")["max_lifetime_s"]

# ------------------------------------------------------------- the agent
BOTH_TMPL = [V2.format("{tenantid}"), V1.format("{tenantid}")]
iss = [
    {"name": "entra-multi", "issuer": BOTH_TMPL, "tenants": [TA],
     "discovery_url": common, "audiences": [API],
     "max_lifetime_s": EXAMPLE_LIFETIME},
    {"name": "entra-multi-t", "issuer": [V2.format("{tenant}"), V1.format("{tenant}")],
     "tenants": [TA], "discovery_url": orgs, "audiences": [API]},
    {"name": "entra-one", "issuer": [V2.format(TA), V1.format(TA)],
     "discovery_url": orgs, "audiences": [API]},
    {"name": "entra-one-t", "issuer": V2.format(TA), "discovery_url": tenant_doc,
     "audiences": [API]},
    {"name": "entra-v1-t", "issuer": V1.format(TA), "discovery_url": v1_tenant,
     "audiences": [API]},
    {"name": "entra-tmpl-t", "issuer": V2.format("{tenant}"), "tenants": [TA],
     "discovery_url": tenant_doc, "audiences": [API]},
    {"name": "entra-any", "issuer": V2.format("{tenantid}"), "allow_any_tenant": True,
     "discovery_url": common, "audiences": [API],
     "max_lifetime_s": EXAMPLE_LIFETIME},
    {"name": "okta", "issuer": "https://example.okta.com/oauth2/default",
     "discovery_url": okta, "audiences": ["api://default"], "typ": [None]},
    {"name": "okta-org", "issuer": "https://example.okta.com", "discovery_url": okta_org,
     "audiences": ["api://default", "https://example.okta.com"]},
    {"name": "auth0", "issuer": "https://example-tenant.us.auth0.com/",
     "discovery_url": auth0, "audiences": ["https://api.example.com"],
     "typ": ["at+jwt"], "scopes_claim": ["scope", "permissions"],
     "roles_claim": "https://example.com/roles"},
    {"name": "keycloak", "issuer": "https://keycloak.example.com/realms/demorealm",
     "discovery_url": kc, "audiences": ["my.app"],
     "roles_claim": ["/realm_access/roles", "/resource_access/my.app/roles"]},
    {"name": "google", "issuer": ["https://accounts.google.com", "accounts.google.com"],
     "discovery_url": google,
     "audiences": ["123456789012-abcdefghijklmnopqrstuvwxyz012345.apps.googleusercontent.com"]},
    {"name": "p521", "issuer": "https://p521.example", "jwks_file": p521_file,
     "audiences": ["api://p521"]},
]
GROUP_VARS = ["groups", {"claim": "groups", "var": "groups_copy"}]
routes = [{"name": n.replace("entra-", ""), "path_prefix": "/" + n, "require": "jwt",
           "issuers": [n]} for n in [i["name"] for i in iss]]
for r in routes:
    if r["name"] == "multi":
        r["claims_to_vars"] = GROUP_VARS
    if r["name"] == "auth0":
        r.update(roles_all=["admin"], scopes_any=["read:orders"],
                 claims_to_vars=[{"claim": "https://example.com/roles", "var": "app_roles"}])
    if r["name"] == "keycloak":
        r.update(roles_all=["orders-admin", "writer"],
                 claims={"email_verified": {"present": True},
                         "/resource_access/account/roles": {"all": ["view-profile",
                                                                    "manage-account"]}},
                 claims_to_vars=["/resource_access/my.app/roles"])
    if r["name"] == "google":
        r.update(claims={"hd": ["example.com"]}, claims_to_vars=["email"])
    if r["name"] == "okta":
        r.update(scopes_all=["profile"])
routes.insert(0, {"name": "health", "path_prefix": "/healthz", "require": "none"})
agent = Agent({"workers": 1, "park_timeout_ms": 1000, "max_token_bytes": 16384,
               "fetch": {"ca_file": os.path.join(pki(), "ca.pem")},
               "issuers": iss, "routes": routes}).start()

VARS = ["claim_groups", "claim_groups_copy", "claim_app_roles",
        "claim_resource_access_my_app_roles", "claim_email"]


def spoe_edit(s):
    return _edit(s, "register-var-names allow",
                 "register-var-names " + " ".join(VARS) + " allow", "iam.spoe.conf")


def cfg_edit(s):
    lines = "".join(f"    http-request set-header X-IAM-{v.replace('_', '-')} "
                    f"%[var(txn.iam.{v})] if {{ var(txn.iam.{v}) -m found }}\n"
                    for v in VARS)
    return _edit(s, "    default_backend apim\n", lines + "    default_backend apim\n",
                 "haproxy.cfg")


echo = EchoBackend()
hap = HAProxy(agent.spoe_addr, echo.addr, spoe_edit=spoe_edit, cfg_edit=cfg_edit).start()
P = hap.port


def readyz():
    import urllib.request
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{agent.admin_port}/readyz",
                                    timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


ok = wait_for(lambda: readyz()[0] == 200, timeout=20)
if not check(ok, "every provider's documents fetched: /readyz 200"):
    log(json.dumps(readyz()[1], indent=1)[:3000])
check(wait_for(lambda: curl(P, "/healthz").status == 200, timeout=15), "haproxy up")


def get(path, tok):
    return curl(P, path + "/x", headers={"Authorization": "Bearer " + tok})


def expect(path, tok, status, what, desc=None):
    r = get(path, tok)
    good = check_eq(r.status, status, what)
    if desc is not None and status == 401:
        check(desc in r.headers.get("www-authenticate", ""),
              f"  ... {desc!r} in WWW-Authenticate ({r.headers.get('www-authenticate')})")
    if not good:
        log(f"  headers {r.headers} body {r.body[:200]}")
    return r


# ------------------------------------------------------------- Entra
log("Entra ID: multi-tenant with a tenant allow-list, both placeholder spellings")
for path, kid in (("/entra-multi", COMMON_KID), ("/entra-multi-t", ORG_KID)):
    r = expect(path, entra(E + "tokens/v2-user-access-token.json", TA,
                           header={"kid": kid}), 200, f"{path}: v2 user token of a listed tenant")
    check_eq(r.backend_header("x-iam-tenant"), TA, "  X-IAM-Tenant")
    r = expect(path, entra(E + "tokens/v1-user-access-token.json", TA, v1=True,
                           header={"kid": kid, "x5t": kid}), 200,
               f"{path}: v1 user token (sts.windows.net) against the v2 key set")
    check_eq(r.backend_header("x-iam-client-id"),
             fx(E + "tokens/v1-user-access-token.json")["payload"]["appid"],
             "  X-IAM-Client-Id is appid")
    r = expect(path, entra(E + "tokens/v2-app-only-access-token.json", TA,
                           header={"kid": kid}), 200, f"{path}: v2 app-only token")
    check_eq(r.backend_header("x-iam-roles"), "Orders.Read.All Orders.ReadWrite.All",
             "  X-IAM-Roles")
    # The defect: a tenant outside the list, signed by Entra's own key.
    for tmpl_v1 in (False, True):
        expect(path, entra(E + "tokens/v2-user-access-token.json", TB, v1=tmpl_v1,
                           header={"kid": kid}), 401,
               f"{path}: a token of a tenant not on the list ({'v1' if tmpl_v1 else 'v2'})",
               "issuer not accepted here")
expect("/entra-multi", entra(E + "tokens/msa-v2-id-token.json", MSA,
                             header={"kid": MSA_KID}), 401,
       "a personal-account token (tenant 9188040d) is not a listed tenant")

log("Entra ID: single tenant, exact issuers, Entra's templated key sets")
for fixt, v1, what in (("v2-user-access-token.json", False, "v2 user"),
                       ("v1-user-access-token.json", True, "v1 user"),
                       ("v2-app-only-access-token.json", False, "v2 app-only"),
                       ("v1-app-only-access-token.json", True, "v1 app-only")):
    hdr = {"kid": ORG_KID}
    expect("/entra-one", entra(E + "tokens/" + fixt, TA, v1=v1, header=hdr), 200,
           f"organizations discovery, exact issuer: {what} token")
expect("/entra-one", entra(E + "tokens/v2-user-access-token.json", TA,
                           header={"kid": ORG_KID}, payload={"tid": TB}), 401,
       "exact issuer, Entra key with {tenantid}: a token whose tid is another tenant",
       "key not valid for this issuer")
expect("/entra-one-t", entra(E + "tokens/v2-user-access-token.json", TA,
                             header={"kid": TENANT_KID}), 200,
       "tenant discovery document (keys with the tenant's own issuer)")
expect("/entra-v1-t", entra(E + "tokens/v1-user-access-token.json", TA, v1=True,
                            header={"kid": V1_KID, "x5t": V1_KID}), 200,
       "v1 tenant discovery, v1 key set (keys without issuer)")
expect("/entra-tmpl-t", entra(E + "tokens/v2-user-access-token.json", TA,
                              header={"kid": TENANT_KID}), 200,
       "template issuer with the tenant-specific discovery document")

log("Entra ID: long lifetimes, the example's max_lifetime_s")
expect("/entra-multi", entra(E + "tokens/v2-user-access-token-cae.json", TA,
                             header={"kid": COMMON_KID}), 200,
       f"a CAE token (27 h) under max_lifetime_s {EXAMPLE_LIFETIME}")
expect("/entra-any", entra(E + "tokens/msa-v2-id-token.json", MSA,
                           header={"kid": MSA_KID}), 200,
       f"a personal-account ID token (86,700 s) under max_lifetime_s {EXAMPLE_LIFETIME}"
       " (allow_any_tenant)")

log("Entra ID: groups")
g30 = fx(E + "tokens/v2-user-access-token-30-groups.json")["payload"]["groups"]
r = expect("/entra-multi", entra(E + "tokens/v2-user-access-token-30-groups.json", TA,
                                 header={"kid": COMMON_KID}), 200, "a token with 30 groups")
got = r.backend_header("x-iam-claim-groups") or ""
check_eq(got, " ".join(g30), f"X-IAM-Claim-Groups arrives whole ({len(got)} bytes > 1,024)")
UNSENDABLE = ('spoa_iam_decisions_total{route="multi",result="deny",'
              'reason="identity_unsendable"}')
before = metric(agent, UNSENDABLE) or 0
many = [f"{i:08x}-0000-4000-8000-{i:012x}" for i in range(250)]
expect("/entra-multi", entra(E + "tokens/v2-user-access-token-30-groups.json", TA,
                             header={"kid": COMMON_KID}, payload={"groups": many}), 403,
       "250 groups mapped twice (18 KB): larger than HAProxy's frame -> 403, not cut")
check_eq((metric(agent, UNSENDABLE) or 0) - before, 1.0,
         "counted as identity_unsendable, under its route")
check(wait_for(lambda: "identity_unsendable" in agent.output() and
               "max-frame-size" in agent.output(), timeout=5),
      "the agent's log says why")
expect("/entra-multi", entra(E + "tokens/v2-user-access-token.json", TA,
                             header={"kid": COMMON_KID}, payload={"sub": 12345}), 401,
       "a numeric sub", "sub is not a string")

# ------------------------------------------------------------- others
log("Okta: custom authorization server, typ-less tokens, cid")
r = expect("/okta", token("okta/tokens/default-as-access-token.json"), 200,
           "Okta access token (no typ; typ list [null])")
check_eq(r.backend_header("x-iam-client-id"), "0oa1exampleclient0d7", "  client id from cid")
check_eq(r.backend_header("x-iam-scopes"), "email profile openid", "  scp array")
expect("/okta", token("okta/tokens/default-as-access-token.json",
                      header={"typ": "JWT",
                              "kid": fx("okta/tokens/default-as-access-token.json")
                              ["header"]["kid"], "alg": "RS256"}), 401,
       "with typ JWT, a list of [null] refuses it", "typ not accepted")
expect("/okta-org", token("okta/tokens/org-as-access-token.json",
                          header={"kid": "okta-internal-org-key", "alg": "RS256",
                                  "typ": "application/okta-internal-at+jwt"}), 401,
       "Okta org server access token: signed with a key it does not publish",
       "kid unknown after refresh")

log("Auth0: at+jwt, namespaced roles, permissions")
r = expect("/auth0", token("auth0/tokens/user-access-token-rfc9068-profile.json"), 200,
           "Auth0 RFC 9068 access token")
check_eq(r.backend_header("x-iam-claim-app-roles"), "admin editor", "  URL-named roles claim")
check_eq(r.backend_header("x-iam-client-id"), "AbCdEfGhIjKlMnOpQrStUvWxYz012345",
         "  client_id (RFC 9068)")
expect("/auth0", token("auth0/tokens/user-access-token-auth0-profile.json"), 401,
       "Auth0 default-profile token (typ JWT) on an at+jwt issuer", "typ not accepted")

log("Keycloak: realm and client roles, an encryption key in the set")
r = expect("/keycloak", token("keycloak/tokens/access-token.json"), 200,
           "Keycloak access token (header written with spaces)")
check_eq(r.backend_header("x-iam-claim-resource-access-my-app-roles"), "reader writer",
         "  client my.app's roles by JSON Pointer")
check("orders-admin" in (r.backend_header("x-iam-roles") or ""), "  realm roles in X-IAM-Roles")
expect("/keycloak", token("keycloak/tokens/access-token.json",
                          payload={"resource_access": {"my": {"app": {"roles": ["writer"]}}}}),
       403, "a role under my > app is not client my.app's")
expect("/keycloak", token("keycloak/tokens/access-token.json", drop=("email_verified",)), 403,
       "a present-only rule on email_verified")

log("Google: both issuer spellings")
r = expect("/google", token("google/tokens/id-token.json"), 200, "Google ID token")
check_eq(r.backend_header("x-iam-sub"), "110248495921238986420", "  numeric-string sub")
expect("/google", token("google/tokens/id-token-legacy-iss-nbf-jti.json",
                        payload={"hd": "example.com"}), 200,
       "legacy iss \"accounts.google.com\", nbf 300 s before iat")

log("P-521 key with a one-byte-short coordinate")
hdr = {"alg": "ES512", "kid": "p521", "typ": "JWT"}
now = int(time.time())
si = (b64u(json.dumps(hdr)) + "." +
      b64u(json.dumps({"iss": "https://p521.example", "aud": "api://p521", "sub": "s",
                       "iat": now, "exp": now + 300})))
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
rr, ss = decode_dss_signature(p521.sign(si.encode(), ec.ECDSA(hashes.SHA512())))
expect("/p521", si + "." + b64u(rr.to_bytes(66, "big") + ss.to_bytes(66, "big")), 200,
       "ES512 token verifies with the 65-byte x")

# ------------------------------------------------------------- key sets
log("Real key sets with quirks: --check")


def check_set(name, keys):
    path = os.path.join(tmpdir(), f"quirk-{name}.json")
    with open(path, "w") as f:
        json.dump({"keys": keys}, f)
    cfgp = os.path.join(tmpdir(), f"quirk-{name}-config.json")
    with open(cfgp, "w") as f:
        json.dump({"listen": ["127.0.0.1:1"], "issuers": [
            {"name": name, "issuer": "https://q.example", "jwks_file": path,
             "audiences": ["a"]}], "routes": [{"name": "r", "require": "jwt"}]}, f)
    r = subprocess.run([AGENT_BIN, "-c", cfgp, "--check"], capture_output=True, text=True,
                       timeout=30)
    return r.returncode, r.stdout + r.stderr


yahoo = fx("quirks/yahoo-jwks.json")["keys"]
rc, out = check_set("yahoo", yahoo)
check_eq(rc, 0, "Yahoo's set loads (its EC key)")
check(out.count("RSA modulus shorter than 2048 bits") == 3 and "1 key loaded" in out,
      "  its three 1024-bit RSA keys are skipped, each with its reason")
rc, out = check_set("yahoo-rsa", [k for k in yahoo if k["kty"] == "RSA"])
check_eq(rc, 1, "Yahoo's RSA keys alone: refused")
check(out.count("RSA modulus shorter than 2048 bits") == 3 and "no usable key: key 0" in out,
      f"  --check lists every key's reason: {out.strip().splitlines()[-2:]}")
# Battle.net writes n in standard base64 ('+', '/', '=' padding), which
# RFC 7518 does not allow: refused, and --check says so for each key.
rc, out = check_set("battlenet", fx("quirks/battle-net-jwks.json")["keys"])
check(rc == 1 and out.count("RSA n missing, not base64url or too long") == 2,
      "Battle.net's standard-base64 moduli are refused, each with its reason")
paypal = fx("quirks/paypal-jwks.json")["keys"]
rc, out = check_set("paypal", paypal)
n_ok = len(paypal) - 1
check(rc == 0 and f"{n_ok} keys loaded" in out and "OKP crv missing or not Ed25519" in out,
      f"PayPal's set: {n_ok} keys (257-byte moduli and alg-less EC keys too), the X25519 "
      "key skipped")

check_eq(agent.stop(), 0, "agent exits 0")
hap.stop()
idp.stop()
finish()
