"""The spoa-iam demo: see scripts/demo.sh.  Reuses the integration-test
harness (tests/integration): the same PKI script, HAProxy config, agent and
test identity provider, so what the demo shows is what the tests prove.

The tour runs the reference deployment (haproxy-conf/haproxy.cfg as
shipped, its presetenv values set for loopback) in front of two APIM
stand-ins, region A (apim-a1, serving) and region B (apim-b1, backup), and
shows allowed and denied requests, one request id in HAProxy's log, the
agent's log and at APIM, a drain of region A through HAProxy's runtime API,
the per-identity rate limit, a key rotation and the fail-closed answer.

Every step states what it expects; a step that gets something else is
reported as UNEXPECTED and makes the exit status 1.

  demo.py            the tour; at a terminal it pauses between parts
  demo.py --once     the tour without pauses (for scripts and CI)
  demo.py --keep     after the tour, leave the stack running (Ctrl-C stops)

SPOA_DEMO_WRONG_EXPECT=N (for tests/integration/test_demo.py only): step N
expects status 418, a wrong expectation, to prove that a mismatch fails.
"""
import argparse
import http.client
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration"))
from harness import (APIM_STATUS_PATH, Agent, EchoBackend, HAProxy, curl, pki,  # noqa: E402
                     tmpdir, wait_for)
from idp import IdP  # noqa: E402
from tokens import Key, cert_thumbprint_s256, mint  # noqa: E402

ap = argparse.ArgumentParser(
    prog="scripts/demo.sh",
    description="The whole spoa-iam stack on loopback and a tour of it.")
ap.add_argument("--once", action="store_true",
                help="run the tour without pausing and exit 1 on any unexpected result")
ap.add_argument("--keep", action="store_true",
                help="after the tour, leave the stack running (Ctrl-C stops it)")
args = ap.parse_args()

sys.stdout.reconfigure(line_buffering=True)
INTERACTIVE = not args.once and sys.stdin.isatty() and sys.stdout.isatty()
BOLD, DIM, END = "\033[1m", "\033[2m", "\033[0m"
GREEN, RED, CYAN = "\033[32m", "\033[31m", "\033[36m"
if not sys.stdout.isatty():
    BOLD = DIM = GREEN = RED = CYAN = END = ""
try:
    WRONG_STEP = int(os.environ.get("SPOA_DEMO_WRONG_EXPECT") or 0)
except ValueError:
    sys.exit("SPOA_DEMO_WRONG_EXPECT: a step number")

REGION = {"region-a": "region A (apim-a1)", "region-b": "region B (apim-b1)"}
RATE_LIMIT = 10                 # requests per identity per 10 s (IAM_RATE_LIMIT)
AUD = "api://orders"


class Tour:
    """Numbered steps, each with what it expects and what it got."""

    def __init__(self):
        self.step = 0
        self.parts = 0
        self.unexpected = []
        self.wrong_applied = False      # SPOA_DEMO_WRONG_EXPECT met its step

    def part(self, title, *text):
        if self.parts and INTERACTIVE:
            try:
                input(f"{DIM}[Enter] next part, Ctrl-C stops{END} ")
            except EOFError:
                pass
        self.parts += 1
        print(f"\n{BOLD}{CYAN}== {self.parts}. {title} =={END}")
        for t in text:
            print(f"   {t}")

    def begin(self, title):
        self.step += 1
        print(f"\n{BOLD}[{self.step}] {title}{END}")
        return self.step

    def verdict(self, ok, got, expected):
        """The step's "got" line; a mismatch is recorded."""
        if ok:
            print(f"     got    {got}   {GREEN}[ok]{END}")
        else:
            print(f"     got    {got}   {RED}[UNEXPECTED: expected {expected}]{END}")
            self.unexpected.append(f"step {self.step}: expected {expected}, got {got}")
        return ok


tour = Tour()


def short_token(tok):
    return tok[:24] + "..."


def curl_line(method, path, token=None, client=None, headers=None):
    opts = ""
    if client:
        opts += f" --cert {client}.crt --key {client}.key"
    for k, v in (headers or {}).items():
        opts += f' -H "{k}: {v}"'
    if token:
        opts += f' -H "Authorization: Bearer {short_token(token)}"'
    if method != "GET":
        opts += f" -X {method}"
    return f"{DIM}$ curl -s --cacert ca.pem{opts} https://localhost:{P}{path}{END}"


def served_by(r):
    j = r.json() if r.status == 200 else None
    return (j or {}).get("server")


def request(title, path, expect, method="GET", token=None, client=None, headers=None,
            region=None, reason=None, show_iam=True, show_body=True, show_log=False):
    """One step: a request, what it should get (status; for a 200 the APIM
    region when ${region} is given, for a refusal the JSON body's reason
    when ${reason} is), what it got; with ${show_log}, HAProxy's log line
    of a request APIM answered.  Returns the response."""
    n = tour.begin(title)
    if n == WRONG_STEP:
        expect = 418
        tour.wrong_applied = True
    cert = key = None
    if client:
        cert, key = os.path.join(D, client + ".crt"), os.path.join(D, client + ".key")
    hdrs = dict(headers or {})
    if token:
        hdrs["Authorization"] = f"Bearer {token}"
    print(f"     {curl_line(method, path, token, client, headers)}")
    want = f"{expect}" + (f" from {REGION[region]}" if region else "") + \
        (f" reason={reason}" if reason else "")
    print(f"     expect {want}")
    r = curl(P, path, method=method, headers=hdrs, cert=cert, key=key)
    j = r.json() or {}
    got = f"{r.status} {http.client.responses.get(r.status, '')}".rstrip()
    if r.status == 200 and served_by(r):
        got += f" from {REGION.get(served_by(r), served_by(r))}"
    if r.status != 200 and j.get("reason"):
        got += f" reason={j['reason']}"
    ok = (r.status == expect and (region is None or served_by(r) == region) and
          (reason is None or j.get("reason") == reason))
    tour.verdict(ok, got, want)
    if r.status == 200 and show_iam and j.get("headers"):
        ids = {k: v for k, v in j["headers"].items() if k.startswith("x-iam-")}
        if ids:
            print("     APIM received " + "  ".join(f"{k}: {v}" for k, v in ids.items()))
    elif r.status != 200:
        for h, name in (("www-authenticate", "WWW-Authenticate"), ("retry-after", "Retry-After")):
            if r.headers.get(h):
                print(f"     {name}: {r.headers[h]}")
        if show_body and r.body:
            print(f"     body: {r.body.strip()}")
    rid = r.backend_header("x-request-id") if r.status == 200 else None
    if show_log and rid:
        wait_for(lambda: f"id={rid} " in hap.output(), timeout=5)
        print(f"     HAProxy's log line: {last_line(hap.output(), f'id={rid} ') or '(not found)'}")
    return r


def expect_fact(title, expected, got, ok):
    """A step that checks something other than one request."""
    tour.begin(title)
    print(f"     expect {expected}")
    return tour.verdict(ok, got, expected)


def rt(command):
    """A runtime API command, shown as RUNBOOK.md writes it."""
    print(f"     {DIM}$ rt {command}{END}")
    out = hap.cli(command).strip()
    for line in out.splitlines():
        print(f"       {line}")
    return out


def apim_servers():
    """{server: (status, active or backup)} of backend apim, from show stat."""
    head, rows = None, {}
    for line in hap.cli("show stat").splitlines():
        if line.startswith("# "):
            head = line[2:].split(",")
        elif head and line.startswith("apim,apim-"):
            row = dict(zip(head, line.split(",")))
            rows[row["svname"]] = (row["status"], "backup" if row.get("bck") == "1" else "active")
    return rows


def show_servers():
    print(f"     {DIM}$ rt show stat   (backend apim: server, status, role){END}")
    for name, (status, role) in sorted(apim_servers().items()):
        region = "region A" if name == "apim-a1" else "region B"
        print(f"       {name}  {region}  {status:<5}  {role}")


def last_line(text, needle):
    found = None
    for line in text.splitlines():
        if needle in line:
            found = line
    return found


def interrupted(*_):
    print("\ndemo: interrupted, stopping everything")
    sys.exit(130)          # the harness's exit handler stops every process


signal.signal(signal.SIGINT, interrupted)

# ------------------------------------------------------------------ the stack
D = pki()
idp = IdP()
region_a = EchoBackend("region-a")
region_b = EchoBackend("region-b")
for b in (region_a, region_b):
    # HAProxy's health checks close once they have the status line: no
    # traceback for the body that then finds the connection gone.
    b.srv.handle_error = lambda request, client_address: None
agent = Agent({
    "log_level": "debug",           # allowed requests are logged too (unique_id=)
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
hap = HAProxy(agent.spoe_addr, region_a.addr, extra_env={
    "APIM_ADDR_B": region_b.addr,
    "IAM_ADMIN": f"127.0.0.1:{agent.admin_port}",
    "IAM_RATE_LIMIT": str(RATE_LIMIT),
}).start()
P = hap.port
if not wait_for(lambda: curl(P, "/public/ping").status == 200, timeout=20):
    sys.exit("demo: HAProxy does not answer 200 on /public/ping\n" + hap.output()[-2000:])
# Both regions health-checked once, so region B is known UP before the drain.
wait_for(lambda: region_a.checks >= 1 and region_b.checks >= 1, timeout=10)

rsa = idp.keys[0]
reader = mint(rsa, iss=idp.issuer, aud=AUD, sub="alice",
              claims={"scp": "Orders.Read", "azp": "web-app"})
writer = mint(rsa, iss=idp.issuer, aud=AUD, sub="svc-billing",
              claims={"roles": ["Orders.Write"], "azp": "billing"})
# Each part below uses its own client id, so only the rate-limit part
# comes near IAM_RATE_LIMIT requests per identity.
rid_token = mint(rsa, iss=idp.issuer, aud=AUD, sub="alice",
                 claims={"scp": "Orders.Read", "azp": "support-portal"})
drain_token = mint(rsa, iss=idp.issuer, aud=AUD, sub="alice",
                   claims={"scp": "Orders.Read", "azp": "mobile-app"})
burst_token = mint(rsa, iss=idp.issuer, aud=AUD, sub="nightly-export",
                   claims={"scp": "Orders.Read", "azp": "batch-export"})
x5t = cert_thumbprint_s256(os.path.join(D, "client-valid.crt"))
bound = mint(rsa, iss=idp.issuer, aud=AUD, sub="payments-bot", claims={"cnf": {"x5t#S256": x5t}})

print(f"""
{BOLD}spoa-iam demo{END}: the reference deployment (haproxy-conf/haproxy.cfg) on loopback

   client --TLS--> HAProxy https://localhost:{P}  ({hap.version()})
                     |
                     |-- SPOP: "who is this, may it pass?" --> agent {agent.spoe_addr}
                     |       (keys: OpenID provider {idp.base})
                     |
                     '-- TLS, ssl verify --> backend apim
                            apim-a1  region A  127.0.0.1:{region_a.port}  serving
                            apim-b1  region B  127.0.0.1:{region_b.port}  backup

   The APIM stand-ins answer with what they received (the X-IAM-* identity
   headers, X-Request-ID).  HAProxy's runtime API, as RUNBOOK.md uses it:
   rt() {{ echo "$*" | socat stdio {hap.stats_sock}; }}
   Rate limit for this demo: {RATE_LIMIT} requests per identity per 10 s.""")

# ------------------------------------------------------------------ tokens
tour.part("Allowed and denied: bearer tokens",
          "The agent checks the token (issuer, signature, expiry, audience) and the",
          "route's policy; HAProxy answers a refusal itself, with a small JSON body.")
request("A public route needs nothing", "/public/status", 200, region="region-a")
request("No token on a token route", "/orders/42", 401, reason="token_missing")
request("A valid token with the Orders.Read scope", "/orders/42", 200, token=reader,
        region="region-a")
request("A token without the Orders.Read scope", "/orders/42", 403, reason="scope_missing",
        token=mint(rsa, iss=idp.issuer, aud=AUD, sub="bob", claims={"scp": "Profile.Read"}))
request("The reader's token cannot write (role Orders.Write missing)", "/orders", 403,
        method="POST", token=reader, reason="role_missing")
request("A service token with the role can", "/orders", 200, method="POST", token=writer,
        region="region-a")
request("An expired token", "/orders/42", 401, reason="token_expired",
        token=mint(rsa, iss=idp.issuer, aud=AUD, exp_in=-3600, claims={"scp": "Orders.Read"}))
request("A token for another API (wrong audience)", "/orders/42", 401,
        reason="audience_mismatch",
        token=mint(rsa, iss=idp.issuer, aud="api://other", claims={"scp": "Orders.Read"}))
request("A forged token: signed by another key under the provider's kid", "/orders/42", 401,
        reason="signature_invalid",
        token=mint(Key("RS256", rsa.kid), iss=idp.issuer, aud=AUD, claims={"scp": "Orders.Read"}))
request("alg:none is never accepted", "/orders/42", 401, reason="token_unsupported_alg",
        token=mint(rsa, iss=idp.issuer, aud=AUD, alg="none", signature=""))

# ------------------------------------------------------------------ mTLS
tour.part("Client certificates (mTLS) and certificate-bound tokens",
          "HAProxy asks for a client certificate (optional at the TLS level); the",
          "agent decides per route: /admin needs one, /payments a token bound to it.")
request("Admin with the right client certificate", "/admin/users", 200, client="client-valid",
        region="region-a")
request("...another valid certificate is not enough", "/admin/users", 403,
        client="client-spiffe", reason="cert_not_allowed")
request("...a revoked one is refused", "/admin/users", 401, client="client-revoked",
        reason="cert_revoked")
request("A certificate-bound token with its certificate", "/payments/1", 200, token=bound,
        client="client-valid", region="region-a")
request("...the same token replayed with another certificate", "/payments/1", 401,
        token=bound, client="client-spiffe", reason="cert_binding_mismatch")

# ------------------------------------------------------------------ request id
tour.part("One request id in HAProxy's log, the agent's log and at APIM",
          "HAProxy makes the id (a client's X-Request-ID is not trusted), sends it to",
          "the agent (unique_id) and to APIM (X-Request-ID), and logs it (id=).")
r = request("A valid token, and a client that tries to choose its own request id",
            "/orders/7", 200, token=rid_token, headers={"X-Request-ID": "client-chosen-id"},
            region="region-a", show_iam=False)
rid = r.backend_header("x-request-id") or "(none)"
hap_line = agent_line = None
if rid != "(none)":
    wait_for(lambda: f"id={rid} " in hap.output() and f"unique_id={rid} " in agent.output(),
             timeout=5)
    hap_line = last_line(hap.output(), f"id={rid} ")
    agent_line = last_line(agent.output(), f"unique_id={rid} ")
print(f"     APIM's echo:          X-Request-ID: {rid}")
print(f"     HAProxy's log line:   {hap_line or '(not found)'}")
print(f"     the agent's log line: {agent_line or '(not found)'}")
expect_fact("The same request id in the three places",
            "one id (not the client's) at APIM, in HAProxy's line and in the agent's line",
            f"id {rid}" + ("" if hap_line and agent_line else " (missing in a log)"),
            rid not in ("(none)", "client-chosen-id") and bool(hap_line) and bool(agent_line))

# ------------------------------------------------------------------ drain
tour.part("Two APIM regions: drain region A through the runtime API",
          "Region A (apim-a1) serves; region B (apim-b1) is a backup.  RUNBOOK.md's",
          "drain: no new requests for apim-a1, so they go to region B, none fails.")
show_servers()
request("Before the drain: region A serves", "/orders/100", 200, token=drain_token,
        region="region-a", show_iam=False)
tour.begin("Drain region A")
out = rt("set server apim/apim-a1 state drain")
state = apim_servers().get("apim-a1", ("?", ""))[0]
print("     expect apim-a1 DRAIN")
tour.verdict(out == "" and state == "DRAIN", f"apim-a1 {state}", "apim-a1 DRAIN")
show_servers()
wait_for(lambda: "apim-a1 enters drain state" in hap.output(), timeout=2)
notice = last_line(hap.output(), "apim-a1 enters drain state")
if notice:
    notice = re.sub(r"^(<\d+>|\[\w+\]\s+\(\d+\)\s*:\s*)", "", notice)
    print(f"     HAProxy logs: {notice}")
for i in range(1, 5):
    request(f"During the drain, request {i} of 4", f"/orders/{100 + i}", 200,
            token=drain_token, region="region-b", show_iam=False, show_log=i == 1)
tour.begin("Region A back in service")
out = rt("set server apim/apim-a1 state ready")
wait_for(lambda: apim_servers().get("apim-a1", ("?",))[0] == "UP", timeout=5)
state = apim_servers().get("apim-a1", ("?", ""))[0]
print("     expect apim-a1 UP")
tour.verdict(out == "" and state == "UP", f"apim-a1 {state}", "apim-a1 UP")
request("After the drain: region A serves again", "/orders/105", 200, token=drain_token,
        region="region-a", show_iam=False)
print(f"\n     APIM traffic: region A {region_a.hits} requests, region B {region_b.hits};"
      f" health checks on {APIM_STATUS_PATH}: {region_a.checks} and {region_b.checks}")

# ------------------------------------------------------------------ rate limit
tour.part("Per-identity rate limit in HAProxy",
          f"A stick table counts requests per client id (else subject): over "
          f"{RATE_LIMIT} in 10 s",
          "HAProxy answers 429 with Retry-After.  Other identities are not affected.")
n = RATE_LIMIT + 2
tour.begin(f"The client batch-export sends {n} requests at once")
print(f"     {curl_line('GET', '/orders/export', burst_token)}   ({n} times)")
want = [200] * RATE_LIMIT + [429] * 2
print(f"     expect {RATE_LIMIT} x 200, then 429")
got = [curl(P, "/orders/export", headers={"Authorization": f"Bearer {burst_token}"})
       for _ in range(n)]
tour.verdict([g.status for g in got] == want,
             " ".join(str(g.status) for g in got), " ".join(map(str, want)))
if got[-1].status == 429:
    print(f"     the last one: Retry-After: {got[-1].headers.get('retry-after')}"
          f"  body: {got[-1].body.strip()}")
request("Meanwhile another client (web-app) still passes", "/orders/43", 200, token=reader,
        region="region-a", show_iam=False)

# ------------------------------------------------------------------ key rotation
tour.part("Key rotation",
          "The provider starts signing with a new key; the agent parks the first",
          "request with the unknown kid, refetches the JWKS once, and answers it.")
idp.keys.append(Key("ES256", "key-2"))
request("A token signed by the brand-new key", "/orders/8", 200, region="region-a",
        token=mint(idp.keys[1], iss=idp.issuer, aud=AUD, claims={"scp": "Orders.Read"}))

# ------------------------------------------------------------------ fail closed
tour.part("Fail closed",
          "The agent is stopped; HAProxy refuses (503) instead of passing unchecked.")
agent.kill()
time.sleep(0.5)
request("Any request while the agent is down", "/orders/42", 503, token=reader)

# ------------------------------------------------------------------ end
print()
if WRONG_STEP and not tour.wrong_applied:
    tour.unexpected.append(f"SPOA_DEMO_WRONG_EXPECT={WRONG_STEP}: no request step has "
                           f"that number")
if tour.unexpected:
    print(f"{RED}{BOLD}{len(tour.unexpected)} of {tour.step} steps UNEXPECTED:{END}")
    for u in tour.unexpected:
        print(f"  - {u}")
else:
    print(f"{GREEN}{BOLD}All {tour.step} steps as expected.{END}")

if args.keep:
    agent2 = Agent(dict(agent.config, listen=[agent.config["listen"][0]]), name="agent2").start()
    wait_for(lambda: curl(P, "/public/ping").status == 200, timeout=10)
    keep_token = mint(rsa, iss=idp.issuer, aud=AUD, sub="you", exp_in=3600,
                      claims={"scp": "Orders.Read", "azp": "your-client"})
    print(f"""
Stack running (agent restarted).  Try:
  curl --cacert {D}/ca.pem https://localhost:{P}/public/x
  curl --cacert {D}/ca.pem -H "Authorization: Bearer {keep_token}" https://localhost:{P}/orders/1
  (that token is valid for an hour; mint others with tests/integration/tokens.py)
  runtime API: echo "show servers state apim" | socat stdio {hap.stats_sock}
  logs: {hap.logpath}  {agent2.logpath}
Ctrl-C stops.""")
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
hap.stop()
idp.stop()
sys.exit(1 if tour.unexpected else 0)
