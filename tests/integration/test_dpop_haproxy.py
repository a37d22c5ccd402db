"""DPoP (RFC 9449) and protected resource metadata (RFC 9728, RFC 8707)
end to end: HAProxy with haproxy-conf/haproxy.cfg and iam.spoe.conf as
shipped (the dpop, dpop_count and scheme arguments, the metadata return),
the agent, and the HTTPS echo backend.

Every token and every DPoP proof is minted by Python `cryptography`
(tokens.py), never by the agent's code.  Each failure of RFC 9449 §4.3 is
refused with its reason (read from the agent's deny line for the request's
own path) and a DPoP challenge; the metadata document is fetched through
HAProxy at the URL RFC 9728 §3.1 derives from the route's resource, and
every 401 of a resource route names it in resource_metadata.

The agent runs one worker: a replayed proof must meet the cache of the
worker that saw it first (the replay cache is per worker; README).  Then
two nodes, each an HAProxy with its own agent: a proof replayed on the
other node passes (what a multi-node deployment gets), unless the stick
table of haproxy-conf/dpop-replay-peers.cfg, shared by peers, counts it.
"""
import json
import os
import re
import time

from harness import (Agent, EchoBackend, HAProxy, check, check_eq, curl,
                     dpop_peers_cfg, finish, free_port, log, tmpdir, wait_for)
from tokens import Key, ath, dpop_proof, jwk_thumbprint, jwks, mint

es = Key("ES256", "es-1")          # the issuer's signing key
client = Key("ES256", "client")    # the client's DPoP key
client_ps = Key("PS256", "client-ps")
client_ed = Key("EdDSA", "client-ed")
other = Key("ES256", "other")      # someone else's DPoP key

d = tmpdir()
JWKS = os.path.join(d, "keys.json")
with open(JWKS, "w") as f:
    json.dump(jwks(es), f)
ISS = "https://idp.example"
AUD = "api://orders"

CONFIG = {
    "workers": 1,
    "issuers": [{"name": "idp", "issuer": ISS, "jwks_file": JWKS,
                 "audiences": [AUD], "algorithms": ["ES256"]}],
    "routes": [
        {"name": "dpop", "path_prefix": "/dpop", "require": "jwt",
         "dpop": "required", "dpop_max_age_s": 60,
         "scopes_any": ["orders.read", "orders.write"],
         "resource": "(set below)",
         "resource_documentation": "https://docs.example/orders"},
        {"name": "opt", "path_prefix": "/opt", "require": "jwt",
         "dpop": "allowed"},
        {"name": "mcp", "path_prefix": "/mcp", "require": "jwt",
         "resource": "(set below)"},
        {"name": "plain", "path_prefix": "/plain", "require": "jwt"},
    ],
}

echo = EchoBackend()
agent = Agent(CONFIG)
hap = HAProxy(agent.spoe_addr, echo.addr)
P = hap.port
ORIGIN = f"https://localhost:{P}"
RES_DPOP = f"{ORIGIN}/dpop"
RES_MCP = f"{ORIGIN}/mcp"
agent.config["routes"][0]["resource"] = RES_DPOP
agent.config["routes"][2]["resource"] = RES_MCP
agent.write_config()


def start(a, h, what):
    """Start agent ${a}, then HAProxy ${h} once haproxy -c accepts it."""
    a.start()
    rc, out = h.check_config()
    check(rc == 0, f"{what}: haproxy -c accepts the config ({h.version()})")
    if rc != 0:
        print(out)
    h.start()


start(agent, hap, "shipped config")


def token(key=None, cnf_key=None, **extra):
    c = {"iss": ISS, "aud": AUD, "scp": "orders.read"}
    if cnf_key is not None:
        c["cnf"] = {"jkt": jwk_thumbprint(cnf_key.jwk())}
    c.update(extra)
    return mint(key or es, c)


def send(path, authz=None, proofs=(), method="GET"):
    h = []
    if authz is not None:
        h.append(("Authorization", authz))
    for p in proofs:
        h.append(("DPoP", p))
    return curl(P, path, headers=h, method=method)


def deny_reason(path):
    """The reason and status of the agent's deny line for ${path}."""
    deadline = time.time() + 5
    while time.time() < deadline:
        for line in agent.output().splitlines():
            if " deny " in line and f"path={path} " in line:
                m = re.search(r"reason=(\S+) status=(\d+)", line)
                return (m.group(1), int(m.group(2))) if m else None
        time.sleep(0.05)
    return None


tok = token(cnf_key=client)

log("valid proofs -> 200, the DPoP credential reaches the backend")
for k, name in ((client, "ES256"), (client_ps, "PS256"), (client_ed, "EdDSA")):
    t = token(cnf_key=k)
    path = f"/dpop/ok-{name}"
    r = send(path, f"DPoP {t}", [dpop_proof(k, "POST", ORIGIN + path, t)],
             method="POST")
    check_eq(r.status, 200, f"{name} proof: status")
    check_eq(r.backend_header("authorization"), f"DPoP {t}",
             f"{name}: Authorization forwarded unchanged")
    check_eq(r.backend_header("x-iam-route"), "dpop", f"{name}: route")
# htu compared after normalisation: case, default port, the query ignored.
path = "/dpop/norm"
r = send(path + "?q=1", f"DPoP {tok}",
         [dpop_proof(client, "GET", f"HTTPS://LOCALHOST:{P}{path}", tok)])
check_eq(r.status, 200, "htu in another case, request with a query -> 200")

log("RFC 9449 §4.3 failures -> 401, DPoP challenge, reason")
now = int(time.time())
ec_jwk_with_d = {k: v for k, v in client.jwk().items() if k not in ("kid", "use")}
ec_jwk_with_d["d"] = "AAAA"      # a private member: never a proof's key
replayed = dpop_proof(client, "GET", ORIGIN + "/dpop/replay", tok)
check_eq(send("/dpop/replay", f"DPoP {tok}", [replayed]).status, 200,
         "a proof's first use -> 200")
unbound = token()
FAILURES = [
    # (name, authz, proofs (htu filled from the path when "U"), reason)
    ("wrong-htm", f"DPoP {tok}", [("POST", "U", {})], "dpop_invalid"),
    ("htu-query", f"DPoP {tok}", [("GET", "U?x=1", {})], "dpop_invalid"),
    ("htu-host", f"DPoP {tok}",
     [("GET", "https://evil.example:%d/dpop/htu-host" % P, {})], "dpop_invalid"),
    ("stale-iat", f"DPoP {tok}", [("GET", "U", {"iat": now - 120})],
     "dpop_invalid"),
    ("future-iat", f"DPoP {tok}", [("GET", "U", {"iat": now + 120})],
     "dpop_invalid"),
    ("no-ath", f"DPoP {tok}", [("GET", "U", {"token": None})], "dpop_invalid"),
    ("wrong-ath", f"DPoP {tok}", [("GET", "U", {"token": unbound})],
     "dpop_invalid"),
    ("other-key", f"DPoP {tok}", [("GET", "U", {"key": other})],
     "dpop_binding_mismatch"),
    ("private-jwk", f"DPoP {tok}", [("GET", "U", {"jwk": ec_jwk_with_d})],
     "dpop_invalid"),
    ("alg-none", f"DPoP {tok}", [("GET", "U", {"alg": "none"})], "dpop_invalid"),
    ("alg-hs256", f"DPoP {tok}",
     [("GET", "U", {"key": Key("HS256", "k", secret=b"s" * 32),
                    "jwk": {"kty": "oct", "k": "c2VjcmV0"}})], "dpop_invalid"),
    ("typ-jwt", f"DPoP {tok}", [("GET", "U", {"typ": "JWT"})], "dpop_invalid"),
    ("two-headers", f"DPoP {tok}", [("GET", "U", {}), ("GET", "U", {})],
     "dpop_invalid"),
    ("no-proof", f"DPoP {tok}", [], "dpop_invalid"),
    ("bearer-on-required", f"Bearer {tok}", [("GET", "U", {})], "dpop_invalid"),
    ("unbound-token", f"DPoP {unbound}", [("GET", "U", {"token": unbound})],
     "dpop_binding_mismatch"),
]
hits = echo.hits
for name, authz, specs, reason in FAILURES:
    path = f"/dpop/f-{name}"
    proofs = []
    for htm, htu, o in specs:
        o = dict(o)
        key = o.pop("key", client)
        t = o.pop("token", tok)
        htu = ORIGIN + path + htu[1:] if htu.startswith("U") else htu
        iat = o.pop("iat", None)
        proofs.append(dpop_proof(key, htm, htu, t, iat=iat, **o))
    r = send(path, authz, proofs)
    check_eq(r.status, 401, f"{name}: status")
    wa = r.headers.get("www-authenticate", "")
    err = "invalid_token" if reason == "dpop_binding_mismatch" else \
        "invalid_dpop_proof"
    check(wa.startswith(f'DPoP realm="spoa-iam", error="{err}"'),
          f"{name}: DPoP challenge {wa!r}")
    check('algs="' in wa and "ES256" in wa.split('algs="')[1].split('"')[0],
          f"{name}: algs in the challenge")
    check(f'resource_metadata="{ORIGIN}/.well-known/oauth-protected-resource/dpop"'
          in wa, f"{name}: resource_metadata in the challenge")
    check_eq(deny_reason(path), (reason, 401), f"{name}: reason in the agent log")
r = send("/dpop/replay", f"DPoP {tok}", [replayed])
check_eq(r.status, 401, "the same proof again -> 401")
check_eq(deny_reason("/dpop/replay"), ("dpop_replayed", 401),
         "replayed jti: reason")
check_eq(echo.hits, hits, "no refused request reached the backend")

log("dpop allowed: Bearer and DPoP both; a DPoP-bound token is no bearer token")
r = send("/opt/bearer", f"Bearer {unbound}")
check_eq(r.status, 200, "allowed route: unbound Bearer token -> 200")
r = send("/opt/dpop", f"DPoP {tok}",
         [dpop_proof(client, "GET", ORIGIN + "/opt/dpop", tok)])
check_eq(r.status, 200, "allowed route: DPoP token and proof -> 200")
for path in ("/opt/bound-as-bearer", "/plain/bound-as-bearer"):
    r = send(path, f"Bearer {tok}")
    check_eq(r.status, 401, f"{path}: DPoP-bound token as Bearer -> 401")
    check_eq(deny_reason(path), ("dpop_binding_mismatch", 401),
             f"{path}: reason")
wa = send("/opt/missing").headers.get("www-authenticate", "")
check(wa.startswith('Bearer realm="spoa-iam", DPoP realm="spoa-iam", algs="'),
      f"allowed route: both schemes offered ({wa!r})")
r = send("/plain/dpop-scheme", f"DPoP {unbound}",
         [dpop_proof(client, "GET", ORIGIN + "/plain/dpop-scheme", unbound)])
check_eq(deny_reason("/plain/dpop-scheme"), ("token_missing", 401),
         "dpop off: the DPoP scheme is no credential")

log("RFC 9728: metadata documents through HAProxy")
r = curl(P, "/.well-known/oauth-protected-resource/dpop")
check_eq(r.status, 200, "metadata of /dpop: status")
check_eq(r.headers.get("content-type"), "application/json", "content type")
doc = r.json() or {}
check_eq(doc.get("resource"), RES_DPOP, "resource is the route's identifier")
check_eq(doc.get("authorization_servers"), [ISS], "authorization_servers")
check_eq(sorted(doc.get("scopes_supported", [])),
         ["orders.read", "orders.write"], "scopes_supported")
check_eq(doc.get("bearer_methods_supported"), ["header"],
         "bearer_methods_supported")
check("ES256" in doc.get("dpop_signing_alg_values_supported", []) and
      "HS256" not in doc.get("dpop_signing_alg_values_supported", []),
      "dpop_signing_alg_values_supported: asymmetric only")
check_eq(doc.get("dpop_bound_access_tokens_required"), True,
         "dpop_bound_access_tokens_required")
check_eq(doc.get("resource_documentation"), "https://docs.example/orders",
         "resource_documentation")
check_eq(echo.hits, hits + 2, "metadata answered by HAProxy, not APIM")
r = curl(P, "/.well-known/oauth-protected-resource/mcp")
doc = r.json() or {}
check_eq((r.status, doc.get("resource")), (200, RES_MCP), "metadata of /mcp")
check("dpop_signing_alg_values_supported" not in doc,
      "no DPoP algorithms where dpop is off")
r = curl(P, "/.well-known/oauth-protected-resource/nothing-here")
check(r.status in (401, 403), f"no resource there: refused ({r.status})")
r = curl(P, "/.well-known/oauth-protected-resource/dpop",
         host=f"other.example:{P}")
check(r.status != 200, "metadata of another host: not served")

log("RFC 8707: the route's resource is an accepted audience, for it only")
rt = token(aud=RES_MCP)
check_eq(send("/mcp/a", f"Bearer {rt}").status, 200, "aud = resource -> 200")
check_eq(send("/mcp/b", f"Bearer {rt}").status, 200, "again (cached) -> 200")
r = send("/plain/res-aud", f"Bearer {rt}")
check_eq(r.status, 401, "the same token on a route without that resource")
check_eq(deny_reason("/plain/res-aud"), ("audience_mismatch", 401),
         "audience_mismatch there")
r = send("/mcp/none")
check_eq(r.headers.get("www-authenticate"),
         f'Bearer realm="spoa-iam", resource_metadata='
         f'"{ORIGIN}/.well-known/oauth-protected-resource/mcp"',
         "token_missing on a resource route: resource_metadata")
r = send("/plain/none")
check_eq(r.headers.get("www-authenticate"), 'Bearer realm="spoa-iam"',
         "no resource, no resource_metadata")

log("two nodes: a replay on the other node; the README's peers stick table")
PEER_PORTS = [free_port(), free_port()]
NODE_CFG = {k: v for k, v in CONFIG.items() if k != "listen"}


def node_cfg(name, shared):
    """haproxy.cfg of node ${name}, with haproxy-conf/dpop-replay-peers.cfg
    merged when ${shared}: each proof counted once across the two peers."""
    def edit(text):
        if not shared:
            return text
        return dpop_peers_cfg(text, name, {"node1": f"127.0.0.1:{PEER_PORTS[0]}",
                                           "node2": f"127.0.0.1:{PEER_PORTS[1]}"})
    return edit


for shared in (False, True):
    nodes = []
    for i, name in enumerate(("node1", "node2")):
        a = Agent(dict(agent.config, listen=[f"127.0.0.1:{free_port()}"],
                       admin_listen=f"127.0.0.1:{free_port()}"),
                  name=f"agent-{name}-{int(shared)}")
        h = HAProxy(a.spoe_addr, echo.addr, name=f"haproxy-{name}-{int(shared)}",
                    cfg_edit=node_cfg(name, shared), stats=True)
        start(a, h, f"{name} (shared={shared})")
        nodes.append((a, h))
    # One name for both nodes (a load balancer in front): the proof names
    # node 1's origin and is sent to either node with that Host header.
    p1 = nodes[0][1].port
    host1 = f"localhost:{p1}"
    path = f"/dpop/two-nodes-{int(shared)}"
    proof = dpop_proof(client, "GET", f"https://{host1}{path}", tok)
    h = [("Authorization", f"DPoP {tok}"), ("DPoP", proof), ("Host", host1)]
    r1 = curl(p1, path, headers=h)
    check_eq(r1.status, 200, f"shared={shared}: first use on node 1")
    if shared:
        # Peers push updates asynchronously: wait for node 2 to hold it.
        check(wait_for(lambda: "gpc0=1" in nodes[1][1].cli("show table dpop_seen"),
                       timeout=15),
              "node 2's table holds the proof node 1 counted")
    r2 = curl(nodes[1][1].port, path, headers=h)
    if shared:
        check_eq(r2.status, 401, "peers stick table: the replay on node 2 -> 401")
        check(not any(" deny " in l and f"path={path} " in l
                      for l in nodes[1][0].output().splitlines()),
              "node 2's agent allowed it (it never saw the proof): HAProxy refused")
    else:
        check_eq(r2.status, 200, "no shared view: the replay on node 2 passes "
                 "(the README says so)")
    r3 = curl(p1, path, headers=h)
    check_eq(r3.status, 401, f"shared={shared}: the replay on node 1 -> 401")
    for a, hp in nodes:
        hp.stop()
        a.stop()

finish()
