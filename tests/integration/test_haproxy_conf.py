"""Every HAProxy configuration the project ships passes `haproxy -c` on
each HAProxy version, with no warning (-dW: a warning is an error):
haproxy-conf/haproxy.cfg with haproxy-conf/iam.spoe.conf, unedited (only
the presetenv values come from the environment), and the drop-in snippet
of README.md.  Also records what differs between versions: whether
"mode spop" exists (3.1+), and that the 2.6-only SPOE keywords the
example keeps (timeout hello/idle, no option send-frag-payload) cost no
warning on 3.x.  A new file in haproxy-conf/ must be added here.
"""
import os
import re
import subprocess
import xml.etree.ElementTree as ET

from harness import (HAPROXY_BIN, SOURCE_DIR, EchoBackend, HAProxy, check, check_eq,
                     dpop_peers_cfg, fact, finish, haproxy_series, log, pki, tmpdir)

CONF = os.path.join(SOURCE_DIR, "haproxy-conf")
# What each shipped file is and how it is checked.
KNOWN = {
    "haproxy.cfg": "haproxy -c, with iam.spoe.conf",
    "iam.spoe.conf": "through haproxy.cfg",
    "snippet.cfg": "haproxy -c inside a minimal config, like README's copy of it",
    "dpop-replay-peers.cfg": "haproxy -c merged into haproxy.cfg as it says "
                             "(test_dpop_haproxy runs it on two peers)",
    "azure-front-door-backend.acl": "through haproxy.cfg (IAM_FRONT_DOOR_RANGES); "
                                    "test_haproxy_deploy with Front Door on",
    "RUNBOOK.md": "its runtime API commands: test_haproxy_deploy",
    "spoa-iam.example.json": "agent config: spoa-iam --check (test_cli)",
    "kubernetes-sidecar.yaml": "no inline HAProxy config: mounts haproxy.cfg and "
                               "iam.spoe.conf from a ConfigMap (haproxy -c with its "
                               "paths: test_k8s_example, on each version too)",
    "assertion-keys.cfg": "haproxy -c with haproxy.cfg (-f both); served through "
                          "real HAProxy in test_assertion",
    "apim-validate-assertion.xml": "APIM policy: well-formed XML naming the header, "
                                   "openid-config and claims the agent sends (here)",
}

files = sorted(os.listdir(CONF))
unknown = [f for f in files if f not in KNOWN]
check(not unknown, f"every file in haproxy-conf/ is known to this test: new {unknown}")
for f in files:
    log(f"  {f}: {KNOWN.get(f, '?')}")


def clean(rc, out, what):
    """-c passed and printed neither a warning nor an alert."""
    bad = [line for line in out.splitlines() if "[WARNING]" in line or "[ALERT]" in line]
    check(rc == 0 and not bad, f"{what}: haproxy -c -dW passes with no warning: "
                               f"rc {rc} {bad[:3]}")
    if rc != 0 or bad:
        print(out)


echo = EchoBackend()
hap = HAProxy("127.0.0.1:12345", echo.addr, as_shipped=True)
shipped = open(os.path.join(CONF, "haproxy.cfg")).read()
check(open(hap.cfgpath).read() == shipped, "haproxy.cfg checked as shipped")
check(open(hap.spoepath).read() == open(os.path.join(CONF, "iam.spoe.conf")).read(),
      "iam.spoe.conf checked as shipped")
clean(*hap.check_config("-dW"), "haproxy.cfg + iam.spoe.conf")
path = os.path.join(tmpdir(), "dpop-peers.cfg")
open(path, "w").write(dpop_peers_cfg(shipped, "node1", {"node1": "127.0.0.1:10000",
                                                         "node2": "127.0.0.2:10000"}))
clean(*hap.check_config("-dW", path=path), "haproxy.cfg + dpop-replay-peers.cfg")

log("assertion-keys.cfg beside haproxy.cfg")
keys = os.path.join(CONF, "assertion-keys.cfg")
r = subprocess.run([HAPROXY_BIN, "-c", "-dW", "-f", hap.cfgpath, "-f", keys], env=hap.env,
                   cwd=tmpdir(), capture_output=True, text=True, timeout=30)
clean(r.returncode, r.stdout + r.stderr, "haproxy.cfg + assertion-keys.cfg")

log("apim-validate-assertion.xml")
root = ET.parse(os.path.join(CONF, "apim-validate-assertion.xml")).getroot()
vj = root.find("./inbound/validate-jwt")
check(vj is not None and vj.get("header-name") == "X-IAM-Assertion",
      "the policy validates the X-IAM-Assertion header haproxy.cfg sets")
check("set-header X-IAM-Assertion %[var(txn.iam.assertion)]" in shipped,
      "haproxy.cfg sends txn.iam.assertion as X-IAM-Assertion")
check(vj is not None and vj.find("openid-config") is not None and
      vj.find("openid-config").get("url", "").endswith("/.well-known/openid-configuration"),
      "keys from the OpenID configuration assertion-keys.cfg serves")
check(vj is not None and [c.get("name") for c in vj.findall("./required-claims/claim")] == ["route"],
      "it checks the route claim the assertion carries")

log("haproxy-conf/snippet.cfg and README.md's copy of it")
readme = open(os.path.join(SOURCE_DIR, "README.md")).read()
snippet = open(os.path.join(CONF, "snippet.cfg")).read()
body = snippet[snippet.index("frontend api\n"):]
blocks = re.findall(r"```haproxy\n(.*?)```", readme, re.S)
check_eq(blocks, [body], "README.md's haproxy block is snippet.cfg from 'frontend api' on")
d = pki()
for i, b in enumerate([snippet] + blocks):
    text = (b.replace("/etc/haproxy/certs/server.pem", os.path.join(d, "server.pem"))
             .replace("/etc/haproxy/certs/clients-ca.pem", os.path.join(d, "clients-ca.pem"))
             .replace("/etc/haproxy/iam.spoe.conf", hap.spoepath)
             .replace(":443 ", f":{hap.port} "))
    cfg = ("global\n    log stderr format short local0 info\n"
           "defaults\n    mode http\n    log global\n    timeout connect 3s\n"
           "    timeout client 30s\n    timeout server 30s\n" + text +
           f"\nbackend apim\n    server apim1 {echo.addr}\n")
    if "default_backend" not in text:
        cfg = cfg.replace("    filter spoe", "    default_backend apim\n    filter spoe", 1)
    path = os.path.join(tmpdir(), f"snippet-{i}.cfg")
    open(path, "w").write(cfg)
    clean(*hap.check_config("-dW", path=path),
          "snippet.cfg" if i == 0 else f"README snippet {i}")

log("what differs between versions")
spop = shipped.replace("\n    mode tcp\n", "\n    mode spop\n")
check(spop != shipped, "the example's SPOE backend says mode tcp")
path = os.path.join(tmpdir(), "mode-spop.cfg")
open(path, "w").write(spop)
rc, out = hap.check_config(path=path)
fact("mode_spop", "accepted" if rc == 0 else "unknown")
if haproxy_series() >= (3, 1):
    check_eq(rc, 0, "3.1+: mode spop is accepted")
else:
    check(rc != 0 and "unknown proxy mode 'spop'" in out,
          "before 3.1: mode spop is unknown, the portable mode tcp is needed")
spoe = open(hap.spoepath).read()
for kw in ("timeout hello", "timeout idle", "no option send-frag-payload"):
    check(kw in spoe, f"iam.spoe.conf keeps {kw!r} (2.6 needs it, 3.x ignores it)")
# Without timeout hello/idle: 2.6 and 3.0 warn ("missing timeouts"), 3.1+
# ignores both keywords, so the portable file keeps them.
lean = os.path.join(tmpdir(), "lean.spoe.conf")
open(lean, "w").write("".join(l for l in spoe.splitlines(True)
                              if not re.match(r"\s*timeout (hello|idle) ", l)))
hap.env["IAM_SPOE_CONF"] = lean
rc, out = hap.check_config("-dW")
hap.env["IAM_SPOE_CONF"] = hap.spoepath
warned = rc != 0 or "[WARNING]" in out
fact("without_timeout_hello_idle", "warning" if warned else "no warning")
if haproxy_series() >= (3, 1):
    check(not warned, "3.1+: timeout hello/idle are not needed (ignored)")
else:
    check(warned and "missing timeouts" in out,
          "before 3.1: without timeout hello/idle haproxy -c warns, so the example keeps them")
finish()
