"""The spoa-iam demo: see scripts/demo.sh.  Reuses the integration-test
harness (tests/integration): the same PKI script, HAProxy config, agent and
test identity provider, so what the demo shows is what the tests prove."""
import json
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
from harness import Agent, EchoBackend, HAProxy, curl, pki, tmpdir, wait_for  # noqa: E402
from idp import IdP  # noqa: E402
from tokens import Key, cert_thumbprint_s256, mint  # noqa: E402

BOLD, DIM, GREEN, RED, END = "\033[1m", "\033[2m", "\033[32m", "\033[31m", "\033[0m"
if not sys.stdout.isatty():
    BOLD = DIM = GREEN = RED = END = ""

D = pki()
idp = IdP()
AUD = "api://orders"
echo = EchoBackend()
agent = Agent({
    "state_dir": os.path.join(tmpdir(), "state"),
    "fetch": {"ca_file": os.path.join(D, "ca.pem")},
    "client_ca_file": os.path.join(D, "clients-ca.pem"),
    "crl_files": [os.path.join(D, "crl.pem")],
    "issuers": [{"name": "demo-idp", "issuer": idp.issuer,
                 "discovery_url": idp.base + "/.well-known/openid-configuration",
                 "audiences": [AUD], "algorithms": ["RS256", "ES256"]}],
    "routes": [
        {"name": "public", "path_prefix": "/public", "require": "none"},
        {"name": "orders-read", "path_prefix": "/orders", "methods": ["GET"],
         "require": "jwt", "scopes_any": ["Orders.Read"]},
        {"name": "orders-write", "path_prefix": "/orders", "methods": ["POST"],
         "require": "jwt", "roles_all": ["Orders.Write"]},
        {"name": "admin", "path_prefix": "/admin", "require": "mtls",
         "client_cert": {"common_names": ["client-valid"]}},
        {"name": "payments", "path_prefix": "/payments", "require": "jwt+mtls",
         "bound_token": True},
    ],
}).start()
hap = HAProxy(f"127.0.0.1:{agent.port}", echo.addr).start()
P = hap.port
wait_for(lambda: curl(P, "/public").status == 200, timeout=20)


def reason_for(path):
    m = None
    for m in re.finditer(rf"reason=(\S+) status=\d+ \S+ path={re.escape(path)} ", agent.output()):
        pass
    return m.group(1) if m else None


def show(title, path, method="GET", token=None, client=None, expect=None):
    cert = key = None
    if client:
        cert, key = os.path.join(D, client + ".crt"), os.path.join(D, client + ".key")
    hdrs = {"Authorization": f"Bearer {token}"} if token else None
    r = curl(P, path, method=method, headers=hdrs, cert=cert, key=key)
    ok = r.status == 200
    color = GREEN if ok else RED
    print(f"{BOLD}{title}{END}")
    opts = (" --cert " + client + ".crt" if client else "") + \
        (' -H "Authorization: Bearer …"' if token else "")
    print(f"  {DIM}curl --cacert ca.pem{opts} -X {method} https://localhost:{P}{path}{END}")
    line = f"  -> {color}{r.status}{END}"
    if ok:
        j = r.json() or {}
        ids = {k: v for k, v in j.get("headers", {}).items() if k.startswith("x-iam-")}
        line += f"  APIM received: {json.dumps(ids)}"
    else:
        time.sleep(0.2)
        if r.status == 503 and not agent.alive():
            line += "  (no answer from the agent: HAProxy set txn.iam.err and refused)"
        else:
            line += f"  reason={reason_for(path)}"
        if r.headers.get("www-authenticate"):
            line += f"  WWW-Authenticate: {r.headers['www-authenticate']}"
    print(line + "\n")
    return r.status


rsa = idp.keys[0]
reader = mint(rsa, iss=idp.issuer, aud=AUD, sub="alice", claims={"scp": "Orders.Read", "azp": "web-app"})
writer = mint(rsa, iss=idp.issuer, aud=AUD, sub="svc-billing", claims={"roles": ["Orders.Write"]})
x5t = cert_thumbprint_s256(os.path.join(D, "client-valid.crt"))
bound = mint(rsa, iss=idp.issuer, aud=AUD, sub="payments-bot", claims={"cnf": {"x5t#S256": x5t}})

print(f"\n{BOLD}spoa-iam demo{END}: HAProxy https://localhost:{P} -> agent 127.0.0.1:{agent.port}"
      f" -> APIM stand-in; OpenID provider {idp.base}\n")
show("A public route needs nothing", "/public/status")
show("No token on a token route", "/orders/42")
show("A valid token with the Orders.Read scope", "/orders/42", token=reader)
show("The same token cannot write (role Orders.Write missing)", "/orders", method="POST", token=reader)
show("A service token with the role can", "/orders", method="POST", token=writer)
show("An expired token", "/orders/42", token=mint(rsa, iss=idp.issuer, aud=AUD, exp_in=-3600,
                                                   claims={"scp": "Orders.Read"}))
show("A token for another API (wrong audience)", "/orders/42",
     token=mint(rsa, iss=idp.issuer, aud="api://other", claims={"scp": "Orders.Read"}))
show("alg:none is never accepted", "/orders/42", token=mint(rsa, iss=idp.issuer, aud=AUD,
                                                             alg="none", signature=""))
show("Admin needs the right client certificate", "/admin/users", client="client-valid")
show("...another valid certificate is not enough", "/admin/users", client="client-spiffe")
show("...a revoked one is refused", "/admin/users", client="client-revoked")
show("A certificate-bound token with its certificate", "/payments/1", token=bound, client="client-valid")
show("...stolen and replayed with another certificate", "/payments/1", token=bound, client="client-spiffe")

print(f"{BOLD}Key rotation:{END} the provider starts signing with a new key; the agent parks the")
print("first request with the unknown kid, refetches the JWKS once, and answers it.")
idp.keys.append(Key("ES256", "key-2"))
show("A token signed by the brand-new key", "/orders/7",
     token=mint(idp.keys[1], iss=idp.issuer, aud=AUD, claims={"scp": "Orders.Read"}))

print(f"{BOLD}Fail closed:{END} the agent is stopped; HAProxy refuses instead of passing.")
agent.kill()
time.sleep(1)
show("Any request while the agent is down", "/orders/42", token=reader)

if "--keep" in sys.argv:
    agent2 = Agent(dict(agent.config, listen=[f"127.0.0.1:{agent.port}"]), name="agent2").start()
    print(f"Stack running: curl --cacert {D}/ca.pem https://localhost:{P}/public/x "
          f"(token: mint with tests/integration/tokens.py). Ctrl-C stops.")
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
hap.stop()
idp.stop()
