"""Client certificates through real HAProxy TLS (curl --cert): every identity
rule, every failure reason, revocation from a CRL, and certificate-bound
tokens (RFC 8705) minted by Python cryptography.
"""
import hashlib
import json
import os
import re
import subprocess

from harness import (Agent, EchoBackend, HAProxy, check, check_eq, curl, finish, log,
                     pki, tmpdir, wait_for)
from tokens import Key, b64u, cert_thumbprint_s256, jwks, mint

D = pki()
ISS = "https://idp.test/"
AUD = "api://orders"


def der_sha(name, algo):
    der = subprocess.run(["openssl", "x509", "-in", os.path.join(D, name), "-outform", "DER"],
                         capture_output=True, check=True).stdout
    return hashlib.new(algo, der).hexdigest()


key = Key("ES256", "k1")
jwks_path = os.path.join(tmpdir(), "jwks.json")
with open(jwks_path, "w") as f:
    json.dump(jwks(key), f)

valid_sha256 = der_sha("client-valid.crt", "sha256")
valid_sha1 = der_sha("client-valid.crt", "sha1")
int_sha256 = der_sha("int.pem", "sha256")


def rule(name, cc):
    return {"name": name, "path_prefix": "/" + name, "require": "mtls", "client_cert": cc}


ROUTES = [
    {"name": "any", "path_prefix": "/any", "require": "mtls"},
    rule("cn", {"common_names": ["client-valid"]}),
    rule("thumb", {"thumbprints_sha256": [valid_sha256.upper()]}),
    rule("sha1", {"thumbprints_sha1": [":".join(valid_sha1[i:i + 2] for i in range(0, 40, 2))]}),
    rule("serial", {"serials": ["10:01"]}),
    rule("subject", {"subjects": ["CN=client-valid, OU=orders, O=spoa-iam tests"]}),
    rule("issuer", {"issuers": ["CN=spoa-iam test intermediate,O=spoa-iam tests"]}),
    rule("issuerthumb", {"issuer_thumbprints_sha256": [int_sha256]}),
    rule("dns", {"dns_names": ["client-valid.example.org"]}),
    rule("spiffe", {"uris": ["spiffe://example.org/ns/prod/sa/orders"]}),
    rule("email", {"emails": ["ops@example.org"]}),
    rule("ident", {"identities": [{"common_name": "client-valid", "serial": "9999"},
                                  {"common_name": "orders-workload",
                                   "uri": "spiffe://example.org/ns/prod/sa/orders"}]}),
    {"name": "bound", "path_prefix": "/bound", "require": "jwt+mtls", "bound_token": True,
     "issuers": ["idp"]},
    {"name": "both", "path_prefix": "/both", "require": "jwt+mtls", "issuers": ["idp"],
     "client_cert": {"common_names": ["client-valid"]}},
    {"name": "tokenonly", "path_prefix": "/tokenonly", "require": "jwt", "issuers": ["idp"]},
]

CONFIG = {
    "client_ca_file": os.path.join(D, "clients-ca.pem"),
    "crl_files": [os.path.join(D, "crl.pem")],
    "issuers": [{"name": "idp", "issuer": ISS, "jwks_file": jwks_path, "audiences": [AUD],
                 "algorithms": ["ES256"]}],
    "routes": ROUTES,
}

echo = EchoBackend()
agent = Agent(CONFIG).start()
hap = HAProxy(f"127.0.0.1:{agent.port}", echo.addr).start()
P = hap.port


def cert(name):
    return os.path.join(D, f"{name}.crt"), os.path.join(D, f"{name}.key")


def req(path, client=None, token=None):
    c, k = cert(client) if client else (None, None)
    hdrs = {"Authorization": f"Bearer {token}"} if token else None
    return curl(P, path, cert=c, key=k, headers=hdrs)


def reason_logged(reason, path):
    pat = re.compile(rf"reason={reason} .*path={re.escape(path)}")
    return wait_for(lambda: pat.search(agent.output()) is not None, timeout=5)


check(wait_for(lambda: req("/any", "client-valid").status == 200, timeout=15),
      "mtls route reachable with a valid client certificate")

log("identity variables for APIM")
r = req("/any", "client-valid")
check_eq(r.backend_header("x-iam-cert-sha256"), cert_thumbprint_s256(cert("client-valid")[0]),
         "X-IAM-Cert-SHA256 = base64url SHA-256 of the DER")
check_eq(r.backend_header("x-iam-cert-subject"), "CN=client-valid,OU=orders,O=spoa-iam tests",
         "X-IAM-Cert-Subject (RFC 2253)")

log("failure reasons")
for path, client, status, reason in [
    ("/any/none", None, 401, "cert_required"),
    ("/any/expired", "client-expired", 401, "cert_invalid"),
    ("/any/future", "client-future", 401, "cert_invalid"),
    ("/any/foreign", "client-foreign", 401, "cert_invalid"),
    ("/any/revoked", "client-revoked", 401, "cert_revoked"),
]:
    r = req(path, client)
    check_eq(r.status, status, f"{client or 'no certificate'} -> {status}")
    check(reason_logged(reason, path), f"{client or 'no certificate'} -> reason {reason}")

log("identity rules: the matching certificate passes, another valid one does not")
for name, good, bad in [
    ("cn", "client-valid", "client-spiffe"),
    ("thumb", "client-valid", "client-spiffe"),
    ("sha1", "client-valid", "client-spiffe"),
    ("serial", "client-valid", "client-spiffe"),
    ("subject", "client-valid", "client-spiffe"),
    ("dns", "client-valid", "client-spiffe"),
    ("spiffe", "client-spiffe", "client-valid"),
    ("email", "client-valid", "client-spiffe"),
    ("ident", "client-spiffe", "client-valid"),
]:
    check_eq(req(f"/{name}", good).status, 200, f"{name}: {good} allowed")
    r = req(f"/{name}/x", bad)
    check_eq(r.status, 403, f"{name}: {bad} refused")
    check(reason_logged("cert_not_allowed", f"/{name}/x"), f"{name}: reason cert_not_allowed")
check_eq(req("/issuer", "client-spiffe").status, 200, "issuer DN rule: any client of the intermediate")
check_eq(req("/issuerthumb", "client-valid").status, 200, "issuer thumbprint rule")

log("certificate-bound tokens (RFC 8705)")
x5t = cert_thumbprint_s256(cert("client-valid")[0])
bound = mint(key, iss=ISS, aud=AUD, claims={"cnf": {"x5t#S256": x5t}})
unbound = mint(key, iss=ISS, aud=AUD)
check_eq(req("/bound", "client-valid", bound).status, 200, "bound token + its certificate -> 200")
r = req("/bound/other", "client-spiffe", bound)
check_eq(r.status, 401, "bound token + another certificate -> 401")
check(reason_logged("cert_binding_mismatch", "/bound/other"), "reason cert_binding_mismatch")
r = req("/bound/unbound", "client-valid", unbound)
check_eq(r.status, 401, "bound_token route + unbound token -> 401")
check(reason_logged("cert_binding_mismatch", "/bound/unbound"), "unbound token: cert_binding_mismatch")
r = req("/bound/nocert", None, bound)
check_eq(r.status, 401, "bound token without a certificate on a jwt+mtls route -> 401")
check(reason_logged("cert_required", "/bound/nocert"), "no certificate: cert_required first")
r = req("/tokenonly/nocert", None, bound)
check_eq(r.status, 401, "bound token without a certificate on a token-only route -> 401")
check(reason_logged("cert_binding_mismatch", "/tokenonly/nocert"),
      "token-only route: a bound token still needs its certificate")
check_eq(req("/tokenonly", "client-valid", bound).status, 200,
         "token-only route: bound token with its certificate -> 200")
check_eq(req("/tokenonly", None, unbound).status, 200, "token-only route: unbound token, no cert -> 200")
check_eq(req("/both", "client-valid", unbound).status, 200, "jwt+mtls: rule + token -> 200")
r = req("/both/x", "client-spiffe", unbound)
check_eq(r.status, 403, "jwt+mtls: certificate rule fails first -> 403")
r = req("/both/y", "client-valid", None)
check_eq(r.status, 401, "jwt+mtls: certificate ok, no token -> 401")
check(reason_logged("token_missing", "/both/y"), "jwt+mtls without token: token_missing")

log("a busy client's certificate is analysed once")
for _ in range(5):
    req("/any", "client-valid")
m = dict(re.findall(r"^(spoa_iam_cert_cache_\w+)_total (\d+)$",
                    subprocess.run(["curl", "-s", f"http://127.0.0.1:{agent.admin_port}/metrics"],
                                   capture_output=True, text=True).stdout, re.M))
check(int(m.get("spoa_iam_cert_cache_hits", 0)) > int(m.get("spoa_iam_cert_cache_misses", 0)),
      f"certificate cache hits outnumber analyses: {m}")

check_eq(agent.stop(), 0, "agent exits 0")
hap.stop()
finish()
