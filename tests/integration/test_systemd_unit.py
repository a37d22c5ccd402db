"""The systemd unit (packaging/systemd/spoa-iam.service).

- Its hardening is there: a dynamic user, ProtectSystem=strict,
  StateDirectory=, RuntimeDirectory=, NoNewPrivileges=, an empty
  CapabilityBoundingSet=, SystemCallFilter=@system-service, ExecReload=
  sending SIGHUP to the main process; ExecStart= runs the config of
  packaging/config.json, whose state_dir and unix socket lie in the unit's
  StateDirectory= and RuntimeDirectory=.
- `systemd-analyze verify` accepts it with nothing to say, with the unit
  at /lib/systemd/system/spoa-iam.service and this tree's binary at
  /usr/bin/spoa-iam, where the package puts them (laid over the host in a
  private mount namespace: the host is not touched).  verify exits 0 on an
  unknown key or a bad value, so any output is a failure here.
- `systemd-analyze security --offline` rates its exposure at most 2.0.

- The agent's system calls fit the sandbox: it runs under strace through
  a representative life (start, key discovery and JWKS fetched over HTTPS,
  Debian's haproxy sending a token-bearing and a token-less request, admin
  requests, SIGHUP reload, SIGTERM drain) and every system call it made is
  in SystemCallFilter= (@system-service less the denied groups, expanded by
  systemd-analyze syscall-filter), every socket family in
  RestrictAddressFamilies=, no mapping is both writable and executable nor
  made executable later (MemoryDenyWriteExecute=), and it opens nothing in
  /proc but its own process (ProcSubset=pid) and no device beyond the
  pseudo-devices PrivateDevices= keeps.  Skipped in a sanitizer tree (the
  sanitizer runtime makes calls of its own) or without strace.

The sandbox itself needs a running systemd, which neither this machine
nor CI has: the filter is not applied here, only checked against what the
agent does.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

import nsroot
from harness import (AGENT_BIN, SANITIZED, SOURCE_DIR, Agent, EchoBackend, HAProxy, check,
                     check_eq, curl, finish, log, pki, tmpdir, wait_for)

UNIT = os.path.join(SOURCE_DIR, "packaging", "systemd", "spoa-iam.service")
CONFIG = os.path.join(SOURCE_DIR, "packaging", "config.json")
MAX_EXPOSURE = 2.0

why = nsroot.usable()
if why is None and shutil.which("systemd-analyze") is None:
    why = "systemd-analyze is missing (package systemd)"
if why:
    print(f"SKIP: {why}")
    sys.exit(0)
nsroot.enter()


def directives(path):
    """{key: [values]} of the [Service] section (and the others, prefixed)."""
    out, section = {}, None
    for line in open(path):
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        k, _, v = line.partition("=")
        key = k.strip() if section == "Service" else f"{section}.{k.strip()}"
        out.setdefault(key, []).append(v.strip())
    return out


d = directives(UNIT)


def one(key):
    return (d.get(key) or [None])[-1]


log("hardening")
check(one("DynamicUser") == "yes" or one("User") not in (None, "", "root"),
      f"a dynamic or dedicated user (DynamicUser={one('DynamicUser')}, User={one('User')})")
check_eq(one("ProtectSystem"), "strict", "ProtectSystem=strict")
check_eq(one("NoNewPrivileges"), "yes", "NoNewPrivileges=yes")
check("CapabilityBoundingSet" in d and d["CapabilityBoundingSet"][0] == "",
      "CapabilityBoundingSet= (empty: no capability at all)")
check("@system-service" in (d.get("SystemCallFilter") or []),
      f"SystemCallFilter=@system-service ({d.get('SystemCallFilter')})")
check_eq(one("StateDirectory"), "spoa-iam", "StateDirectory=spoa-iam")
check_eq(one("RuntimeDirectory"), "spoa-iam", "RuntimeDirectory=spoa-iam")
reload_cmd = one("ExecReload") or ""
check(re.fullmatch(r"/bin/kill -(HUP|SIGHUP|s HUP) \$MAINPID", reload_cmd) is not None,
      f"ExecReload= sends SIGHUP to the main process ({reload_cmd})")
check_eq(one("KillSignal") or "SIGTERM", "SIGTERM", "stopped by SIGTERM (drain)")
start = one("ExecStart") or ""
check_eq(start, "/usr/bin/spoa-iam -c /etc/spoa-iam/config.json",
         "ExecStart= runs /usr/bin/spoa-iam with /etc/spoa-iam/config.json")
check_eq(one("ExecStartPre"), start + " --check", "ExecStartPre= checks the config first")
check(one("Install.WantedBy") == "multi-user.target", "WantedBy=multi-user.target")

log("the packaged config fits the unit")
conf = json.load(open(CONFIG))
check_eq(conf.get("state_dir"), "/var/lib/" + (one("StateDirectory") or ""),
         "state_dir is the StateDirectory")
for a in conf["listen"]:
    if a.startswith("unix:"):
        check_eq(os.path.dirname(a[5:]), "/run/" + (one("RuntimeDirectory") or ""),
                 f"the socket {a[5:]} is in the RuntimeDirectory")
r = subprocess.run([AGENT_BIN, "-c", CONFIG, "--check"], capture_output=True, text=True,
                   timeout=30)
check(r.returncode == 0, f"spoa-iam --check accepts packaging/config.json "
      f"({(r.stdout + r.stderr).strip()})")

log("systemd-analyze verify, with the files where the package puts them")
layers = os.path.join(tmpdir(), "layers")
for sub, src in (("usr/bin", AGENT_BIN), ("lib/systemd/system", UNIT)):
    os.makedirs(os.path.join(layers, sub))
    name = "spoa-iam" if sub == "usr/bin" else "spoa-iam.service"
    shutil.copy(src, os.path.join(layers, sub, name))
    nsroot.overlay("/" + sub, os.path.join(layers, sub))
r = subprocess.run(["systemd-analyze", "verify", "--man=no",
                    "/lib/systemd/system/spoa-iam.service"],
                   capture_output=True, text=True, timeout=60)
out = (r.stdout + r.stderr).strip()
check(r.returncode == 0 and out == "", f"systemd-analyze verify: exit {r.returncode}, "
      f"{'nothing to say' if not out else out}")

r = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager",
                    "/lib/systemd/system/spoa-iam.service"],
                   capture_output=True, text=True, timeout=60)
m = re.search(r"Overall exposure level for \S+: ([\d.]+) (\S+)", r.stdout)
level = float(m.group(1)) if m else 99.0
check(level <= MAX_EXPOSURE, f"systemd-analyze security: exposure {level} "
      f"({m.group(2) if m else r.stderr.strip()}) <= {MAX_EXPOSURE}")

# ------------------------------------------------------------------ system calls
if SANITIZED:
    log("SKIP the system-call part: the sanitizer runtime makes calls of its own")
    finish()
if shutil.which("strace") is None:
    log("SKIP the system-call part: strace is missing (scripts/install-deps.sh installs it)")
    finish()

from idp import IdP          # noqa: E402  (threads: only after nsroot.enter())
from tokens import mint      # noqa: E402


def syscall_set(spec):
    """The system calls of a SystemCallFilter= value (groups expanded)."""
    names = set()
    for item in spec.split():
        if not item.startswith("@"):
            names.add(item)
            continue
        r = subprocess.run(["systemd-analyze", "syscall-filter", "--no-pager", item],
                           capture_output=True, text=True, timeout=30)
        for line in r.stdout.splitlines():
            w = line.strip()
            if not w or w.startswith("#") or w == item:
                continue
            names |= syscall_set(w) if w.startswith("@") else {w}
    return names


allowed, denied = set(), set()
for v in d.get("SystemCallFilter") or []:
    if v.startswith("~"):
        denied |= syscall_set(v[1:])
    else:
        allowed |= syscall_set(v)
allowed -= denied
families = set((one("RestrictAddressFamilies") or "").split())
log(f"SystemCallFilter=: {len(allowed)} system calls allowed, {len(denied)} denied")

AUD = "api://orders"
idp = IdP()
echo = EchoBackend()
trace = os.path.join(tmpdir(), "agent.strace")
agent = Agent({
    "workers": conf.get("workers", 0),      # as packaged: 0, one per CPU
    # The default (the harness turns it off where it picks the ports):
    # SO_REUSEPORT, and the unix socket renamed into place.
    "listen_takeover": True,
    "state_dir": os.path.join(tmpdir(), "state"),
    "fetch": {"ca_file": os.path.join(pki(), "ca.pem")},
    "issuers": [{"name": "idp", "issuer": idp.issuer, "audiences": [AUD],
                 "discovery_url": idp.base + "/.well-known/openid-configuration",
                 "algorithms": ["RS256"]}],
    "routes": [{"name": "health", "path_prefix": "/healthz", "require": "none"},
               {"name": "orders", "path_prefix": "/orders", "require": "jwt"}],
}, name="agent-strace", sock=os.path.join(tmpdir(), "agent.sock"))
os.makedirs(agent.config["state_dir"])
# -D: strace is a detached grandchild, so the agent is our child and gets
# the signals itself.
agent.argv = ["strace", "-D", "-f", "-qq", "-o", trace] + agent.argv
agent.start()
hap = HAProxy(agent.spoe_addr, echo.addr)
hap.start()
check(wait_for(lambda: curl(hap.port, "/healthz").status == 200, timeout=20),
      "traced agent: a request passes")
tok = mint(idp.keys[0], iss=idp.issuer, aud=AUD)
check(wait_for(lambda: curl(hap.port, "/orders/1",
                            headers={"Authorization": "Bearer " + tok}).status == 200,
               timeout=20), "traced agent: keys fetched over HTTPS, a token verified")
check_eq(curl(hap.port, "/orders/1").status, 401, "traced agent: no token, 401")
for path in ("/healthz", "/readyz", "/metrics"):
    urllib.request.urlopen(f"http://127.0.0.1:{agent.admin_port}{path}", timeout=5).read()
agent.send_signal(signal.SIGHUP)
check(wait_for(lambda: "reload: reading" in agent.output(), timeout=10),
      "traced agent: reloaded on SIGHUP")
time.sleep(0.5)
check_eq(agent.stop(), 0, "traced agent: drained and exited 0 on SIGTERM")
hap.stop()
wait_for(lambda: os.path.exists(trace) and "+++ exited" in open(trace).read(), timeout=10)

calls, fams, wx, procs, devs = set(), set(), [], set(), set()
pat = re.compile(r"^\d+\s+(?:<\.\.\. )?([a-z_][a-z0-9_]*)(?:\(| resumed>)")
for line in open(trace, errors="replace"):
    m = pat.match(line)
    if not m:
        continue
    name = m.group(1)
    calls.add(name)
    if name in ("socket", "socketpair"):
        fm = re.search(r"\((AF_\w+)", line)
        if fm:
            fams.add(fm.group(1))
    if name in ("mmap", "mprotect", "pkey_mprotect") and "PROT_EXEC" in line:
        if "PROT_WRITE" in line or name != "mmap":
            wx.append(line.strip())
    if name in ("open", "openat", "openat2"):
        fm = re.search(r'"(/(?:proc|dev)/[^"]*)"', line)
        if fm:
            p = fm.group(1)
            if p.startswith("/proc/"):
                procs.add(p)
            else:
                devs.add(p)
log(f"the traced agent made {len(calls)} distinct system calls")
traced = open(trace, errors="replace").read()
check(re.search(r"\brename(at2?)?\(.*agent\.sock\.\d+\.new", traced),
      "listen_takeover traced: the unix socket was renamed into place")
check(re.search(r"setsockopt\(.*SO_REUSEPORT, \[1\]", traced),
      "listen_takeover traced: the TCP listeners set SO_REUSEPORT")
outside = sorted(calls - allowed)
check(not outside, f"every system call is in SystemCallFilter=: outside {outside}")
check(fams <= families, f"socket families {sorted(fams)} are in RestrictAddressFamilies=")
check(not wx, f"no writable+executable or later-executable mapping: {wx[:3]}")
bad_proc = sorted(p for p in procs
                  if not re.match(r"/proc/(self|thread-self|\d+)(/|$)", p))
check(not bad_proc, f"/proc: only its own process (ProcSubset=pid): {bad_proc}")
PSEUDO = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"}
check(devs <= PSEUDO, f"devices: only the pseudo-devices of PrivateDevices=: {sorted(devs)}")
idp.stop()
finish()
