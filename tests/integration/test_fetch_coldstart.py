"""Cold start and outages, through HAProxy.

 - every good document is written to state_dir; an agent started while
   the identity provider is down loads them and serves at once;
 - with an empty state_dir and the provider down, /readyz says 503 with
   the sources' states and token routes answer not_ready (HAProxy 503:
   txn.iam.status is 503), while require:none routes still pass; once the
   provider answers, the agent becomes ready and serves without restart.
"""
import os
import time

from harness import (SLOW, Agent, EchoBackend, HAProxy, check, check_eq, curl,
                     finish, log, pki, tmpdir, wait_for)
from idp import IdP, readyz, source
from tokens import mint

AUD = "api://orders"
idp = IdP()
echo = EchoBackend()
state = os.path.join(tmpdir(), "state")
os.makedirs(state)
# Every agent here listens on this socket, and HAProxy uses it: a TCP port
# freed by one agent could be taken by another test before the next binds.
SOCK = os.path.join(tmpdir(), "spop.sock")


def config(state_dir):
    return {
        "state_dir": state_dir,
        "fetch": {"refresh_min_s": 30, "refresh_max_s": 60, "backoff_max_s": 1,
                  "ca_file": os.path.join(pki(), "ca.pem"),
                  "connect_timeout_ms": 500, "timeout_ms": 2000},
        "issuers": [{"name": "idp", "issuer": idp.issuer, "audiences": [AUD],
                     "discovery_url": idp.base + "/.well-known/openid-configuration",
                     "algorithms": ["RS256"]}],
        "routes": [{"name": "health", "path_prefix": "/healthz", "require": "none"},
                   {"name": "orders", "path_prefix": "/orders", "require": "jwt"}],
    }


def start_agent(name, state_dir):
    return Agent(config(state_dir), name=name, sock=SOCK).start()


def token():
    return {"Authorization": "Bearer " + mint(idp.keys[0], iss=idp.issuer, aud=AUD)}


log("first run: provider up, documents saved to state_dir")
a1 = start_agent("agent1", state)
hap = HAProxy(a1.spoe_addr, echo.addr)
hap.start()
P = hap.port
check(wait_for(lambda: readyz(a1)[0] == 200, timeout=15), "ready with the provider up")
check(wait_for(lambda: curl(P, "/orders/1", headers=token()).status == 200, timeout=15),
      "token accepted")
files = sorted(f for f in os.listdir(state) if f.endswith(".state"))
check_eq(len(files), 2, f"state_dir holds discovery + JWKS ({files})")
check(not any(f.endswith(".tmp") for f in os.listdir(state)), "no temporary file left")
body = open(os.path.join(state, files[0]), "rb").read()
check(body.startswith(b"spoa-iam-state 1\nkey "), "state file header")
check(b"\netag \"" in open(os.path.join(state, files[0]), "rb").read() or
      b"\netag \"" in open(os.path.join(state, files[1]), "rb").read(),
      "validators stored next to the body")
check_eq(a1.stop(), 0, "first agent stops")

log("provider down, state_dir filled: serves at once")
idp.stop()
hits = idp.hit("/keys")
t0 = time.time()
a2 = start_agent("agent2", state)
st, j = readyz(a2)
check_eq(st, 200, "/readyz 200 right after start, from state_dir")
check(wait_for(lambda: curl(P, "/healthz").status == 200, timeout=15), "haproxy sees the agent")
check_eq(curl(P, "/orders/1", headers=token()).status, 200,
         "token accepted with the provider down")
log(f"served {time.time() - t0:.2f} s after start")
check(wait_for(lambda: source(a2, "jwks:idp").get("failures", 0) >= 1, timeout=10),
      "failed revalidations are counted")
src = source(a2, "jwks:idp")
check_eq(src.get("state"), "stale", "source state: stale (last good document in use)")
check(src.get("age_s") is not None, f"age shown: {src.get('age_s')}")
check(src.get("last_error"), f"last_error shown: {src.get('last_error')}")
check_eq(readyz(a2)[0], 200, "still ready: the cached key set is in use")
check_eq(a2.stop(), 0, "second agent stops")

log("provider down, empty state_dir: not ready, then ready once it answers")
empty = os.path.join(tmpdir(), "empty")
os.makedirs(empty)
a3 = start_agent("agent3", empty)
check(wait_for(lambda: curl(P, "/healthz").status == 200, timeout=15),
      "require:none routes pass while not ready")
st, j = readyz(a3)
check_eq(st, 503, "/readyz 503 with no key set")
check_eq(j["sources"]["issuer:idp"]["state"], "pending", "issuer without keys: pending")
check(wait_for(lambda: source(a3, "discovery:idp").get("state") == "error", timeout=10),
      "discovery source: error (no document)")
r = curl(P, "/orders/1", headers=token())
check_eq(r.status, 503, "token route -> 503 (not_ready)")
check(wait_for(lambda: "reason=not_ready" in a3.output(), timeout=5),
      "the agent logs reason=not_ready")
check_eq(idp.hit("/keys"), hits, "nothing reached the provider while down")

idp.start()
check(wait_for(lambda: readyz(a3)[0] == 200, timeout=15), "ready once the provider answers")
check_eq(curl(P, "/orders/1", headers=token()).status, 200, "token accepted, no restart")
check_eq(source(a3, "jwks:idp").get("state"), "ok", "jwks source ok")
check_eq(a3.stop(), 0, "third agent stops")

log("fetch.max_stale_s ends the use of a cached key set")
idp.stop()
cfg = config(empty)                 # just filled by the third agent
# The key set's age, counted from the third agent's fetch, must stay below
# this through its stop, the fourth agent's start, HAProxy seeing it up and
# one token: all slower with sanitizers.
MAX_STALE = int(6 * SLOW)
cfg["fetch"]["max_stale_s"] = MAX_STALE
a4 = Agent(cfg, name="agent4", sock=SOCK).start()
check_eq(readyz(a4)[0], 200, "fresh enough at start: ready")
check(wait_for(lambda: curl(P, "/orders/1", headers=token()).status == 200, timeout=10),
      "token accepted while the cached keys are young")
check(wait_for(lambda: readyz(a4)[0] == 503, timeout=MAX_STALE + 10),
      "older than max_stale_s: not ready")
check_eq(curl(P, "/orders/1", headers=token()).status, 503,
         "older than max_stale_s: token route not_ready (503)")
check_eq(a4.stop(), 0, "fourth agent stops")

log("TLS verification: never off, except the test-only option, which warns")
idp.start()
fresh = os.path.join(tmpdir(), "fresh")
os.makedirs(fresh)
cfg = config(fresh)
del cfg["fetch"]["ca_file"]
a5 = Agent(cfg, name="agent5", sock=SOCK).start()
check(wait_for(lambda: "certificate" in (source(a5, "discovery:idp")
                                         .get("last_error") or ""), timeout=10),
      f"our test CA is not in the system bundle: refused "
      f"({source(a5, 'discovery:idp').get('last_error')})")
check_eq(readyz(a5)[0], 503, "not ready without a trusted provider")
check_eq(a5.stop(), 0, "fifth agent stops")
cfg["fetch"]["insecure_skip_verify_for_tests"] = True
a6 = Agent(cfg, name="agent6", sock=SOCK).start()
check(wait_for(lambda: readyz(a6)[0] == 200, timeout=10),
      "insecure_skip_verify_for_tests: fetched anyway")
check(a6.output().count("TLS certificate verification is OFF") >= 2,
      "a warning at every fetch")
check_eq(a6.stop(), 0, "sixth agent stops")
hap.stop()
idp.stop()
finish()
