"""The Debian package (scripts/package-deb.sh), built, installed and run.

1. scripts/package-deb.sh packages this tree's binary:
   spoa-iam_<CMakeLists version>_<arch>.deb with the binary, the systemd
   unit, /etc/spoa-iam/config.json and /etc/haproxy/iam.spoe.conf (both
   conffiles, identical to the sources), the maintainer scripts, and a
   Depends naming the package of every library the binary needs.
2. dpkg installs it into a scratch root (dpkg --root; the maintainer
   scripts run with DPKG_ROOT set, and must leave the host alone) whose
   package database holds the host's own entries for the packages the
   Depends names: dpkg checks the Depends against them, with no --force.
3. The installed files are laid over the host in a private mount and
   network namespace (tests/integration/nsroot.py), so /usr/bin/spoa-iam,
   /etc/spoa-iam/config.json, /etc/haproxy/iam.spoe.conf and
   /lib/systemd/system/spoa-iam.service are where the package puts them,
   the root file system is read-only, and the shipped config's fixed ports
   (127.0.0.1:12345, :9901) are this test's alone.  There:
   `systemd-analyze verify` accepts the installed unit; its ExecStartPre and
   ExecStart command lines run as given, as an unprivileged user with the
   unit's UMask and writable StateDirectory/RuntimeDirectory (what systemd
   would set up: no systemd runs here or on CI); Debian's haproxy, running
   as user haproxy with the installed iam.spoe.conf, reaches the agent on
   its unix socket; ExecReload reloads it; SIGTERM stops it (exit 0).
4. dpkg purges it from the scratch root.

Needs root; skipped with the reason otherwise.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import urllib.request

import nsroot
from harness import (AGENT_BIN, SOURCE_DIR, EchoBackend, HAProxy, Proc, check, check_eq,
                     curl, finish, log, tmpdir, wait_for)

DYNAMIC_UID = 61234          # in systemd's DynamicUser= range (61184-65519)

why = nsroot.usable()
for tool in ("dpkg-deb", "dpkg-shlibdeps", "setpriv"):
    if why is None and shutil.which(tool) is None:
        why = f"{tool} is missing (dpkg-dev, util-linux)"
if why:
    print(f"SKIP: {why}")
    sys.exit(0)
# Before any thread: a private mount namespace and a network namespace with
# only loopback.
nsroot.enter(net=True)

version = re.search(r"project\(spoa-iam VERSION (\S+)",
                    open(os.path.join(SOURCE_DIR, "CMakeLists.txt")).read()).group(1)
arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                      check=True).stdout.strip()

# ------------------------------------------------------------------ build
log("scripts/package-deb.sh --binary (this tree's binary)")
out = os.path.join(tmpdir(), "out")
t0 = time.time()
r = subprocess.run([os.path.join(SOURCE_DIR, "scripts", "package-deb.sh"), "--binary",
                    AGENT_BIN, "--out", out], capture_output=True, text=True, timeout=300)
log(f"packaged in {time.time() - t0:.1f} s")
deb = os.path.join(out, f"spoa-iam_{version}_{arch}.deb")
check(r.returncode == 0 and r.stdout.strip().endswith(os.path.basename(deb)),
      f"package-deb.sh made {os.path.basename(deb)} ({(r.stdout + r.stderr).strip()[-500:]})")
if not os.path.exists(deb):
    finish()


def field(name):
    return subprocess.run(["dpkg-deb", "-f", deb, name], capture_output=True,
                          text=True).stdout.strip()


check_eq((field("Package"), field("Version"), field("Architecture")),
         ("spoa-iam", version, arch), "Package, Version (CMakeLists.txt), Architecture")
depends = field("Depends")
log(f"Depends: {depends}")
dep_names = {re.split(r"[\s(:]", alt.strip())[0]
             for item in depends.split(",") for alt in item.split("|") if alt.strip()}
# Every library the binary needs belongs to a package the Depends names.
needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]",
                    subprocess.run(["readelf", "-d", AGENT_BIN], capture_output=True,
                                   text=True).stdout)
for lib in needed:
    path = subprocess.run(["sh", "-c", f"ldconfig -p | awk '$1 == \"{lib}\" "
                           f"{{print $NF; exit}}'"], capture_output=True,
                          text=True).stdout.strip()
    owner = subprocess.run(["dpkg", "-S", os.path.realpath(path) if path else lib],
                           capture_output=True, text=True).stdout.split(":")[0]
    if not owner and path:
        owner = subprocess.run(["dpkg", "-S", path], capture_output=True,
                               text=True).stdout.split(":")[0]
    check(owner in dep_names, f"{lib} ({owner or 'no package'}) is in Depends")
for p in ("libev4", "libcjson1", "libcurl4", "libssl3"):
    check(p in dep_names, f"Depends names {p}")

listing = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True).stdout
files = {line.split()[-1].lstrip(".") for line in listing.splitlines()
         if not line.startswith("d")}
owners = {line.split()[1] for line in listing.splitlines()}
for f in ("/usr/bin/spoa-iam", "/lib/systemd/system/spoa-iam.service",
          "/etc/spoa-iam/config.json", "/etc/haproxy/iam.spoe.conf",
          "/etc/haproxy/azure-front-door-backend.acl",
          "/usr/share/doc/spoa-iam/README.md",
          "/usr/share/doc/spoa-iam/examples/haproxy.cfg",
          "/usr/share/doc/spoa-iam/examples/snippet.cfg",
          "/usr/share/doc/spoa-iam/examples/RUNBOOK.md",
          "/usr/share/doc/spoa-iam/examples/spoa-iam.example.json"):
    check(f in files, f"the package ships {f}")
check_eq(owners, {"root/root"}, "every file is root's")
ctrl = os.path.join(tmpdir(), "control")
subprocess.run(["dpkg-deb", "-e", deb, ctrl], check=True)
check_eq(open(os.path.join(ctrl, "conffiles")).read().split(),
         ["/etc/spoa-iam/config.json", "/etc/haproxy/iam.spoe.conf",
          "/etc/haproxy/azure-front-door-backend.acl"],
         "the /etc files are conffiles")
for s in ("postinst", "prerm", "postrm"):
    p = os.path.join(ctrl, s)
    check(os.path.exists(p) and os.access(p, os.X_OK), f"maintainer script {s}")

# ------------------------------------------------------------------ install
log("dpkg --root: install into a scratch root")
root = os.path.join(tmpdir(), "root")
admin = os.path.join(root, "var", "lib", "dpkg")
for d in ("info", "updates", "triggers"):
    os.makedirs(os.path.join(admin, d))
open(os.path.join(admin, "available"), "w").close()
# The host's entries for the packages the Depends names: dpkg checks the
# Depends (names, versions, architectures) against them.
with open(os.path.join(admin, "status"), "w") as st:
    for name in sorted(dep_names):
        r = subprocess.run(["dpkg-query", "-s", name], capture_output=True, text=True)
        if r.returncode != 0:
            check(False, f"the host has {name}, which the Depends names")
            continue
        st.write(r.stdout.rstrip("\n") + "\n\n")
        pkg = subprocess.run(["dpkg-query", "-W", "-f", "${binary:Package}\n", name],
                             capture_output=True, text=True).stdout.split()
        for p in pkg:
            open(os.path.join(admin, "info", f"{p}.list"), "w").close()
host_before = {p: os.path.exists(p) for p in ("/etc/spoa-iam", "/usr/bin/spoa-iam",
                                              "/lib/systemd/system/spoa-iam.service",
                                              "/etc/haproxy/iam.spoe.conf")}
r = subprocess.run(["dpkg", f"--root={root}", "--force-script-chrootless", "--log=/dev/null",
                    "-i", deb], capture_output=True, text=True, timeout=120)
log((r.stdout + r.stderr).strip())
check_eq(r.returncode, 0, "dpkg -i into the scratch root (Depends satisfied, no --force-depends)")
r = subprocess.run(["dpkg", f"--root={root}", "-s", "spoa-iam"], capture_output=True,
                   text=True)
check("Status: install ok installed" in r.stdout, "dpkg says spoa-iam is installed there")
check_eq({p: os.path.exists(p) for p in host_before}, host_before,
         "the host's files are untouched (maintainer scripts honour DPKG_ROOT)")
for rel, src in (("etc/haproxy/iam.spoe.conf", "haproxy-conf/iam.spoe.conf"),
                 ("etc/haproxy/azure-front-door-backend.acl",
                  "haproxy-conf/azure-front-door-backend.acl"),
                 ("etc/spoa-iam/config.json", "packaging/config.json"),
                 ("lib/systemd/system/spoa-iam.service",
                  "packaging/systemd/spoa-iam.service")):
    check(open(os.path.join(root, rel)).read() == open(os.path.join(SOURCE_DIR, src)).read(),
          f"/{rel} is {src}")

# ------------------------------------------------------------------ lay it over the host
for d in ("usr/bin", "etc", "lib/systemd/system"):
    nsroot.overlay("/" + d, os.path.join(root, d))
unit_path = "/lib/systemd/system/spoa-iam.service"
r = subprocess.run(["systemd-analyze", "verify", "--man=no", unit_path], capture_output=True,
                   text=True, timeout=60)
check(r.returncode == 0 and not (r.stdout + r.stderr).strip(),
      f"systemd-analyze verify of the installed unit: "
      f"{(r.stdout + r.stderr).strip() or 'nothing to say'}")
r = subprocess.run(["/usr/bin/spoa-iam", "--version"], capture_output=True, text=True)
check_eq(r.stdout.strip(), f"spoa-iam {version}", "the installed /usr/bin/spoa-iam runs")

unit = {}
for line in open(unit_path):
    k, sep, v = line.strip().partition("=")
    if sep and not k.startswith("#"):
        unit.setdefault(k, []).append(v)
umask = int(unit.get("UMask", ["0022"])[-1], 8)
scratch = os.path.join(tmpdir(), "scratch")
os.makedirs(scratch)
for key, base in (("StateDirectory", "/var/lib"), ("RuntimeDirectory", "/run")):
    for name in unit.get(key, [""])[-1].split():
        src = os.path.join(scratch, key)
        os.makedirs(src)
        os.chown(src, DYNAMIC_UID, DYNAMIC_UID)
        os.chmod(src, int(unit.get(key + "Mode", ["0755"])[-1], 8))
        nsroot.writable(os.path.join(base, name), src, scratch)


def as_service(cmd):
    """${cmd} as systemd would run it: the dynamic user, no new privileges,
    the unit's umask (the shipped command lines have no $ or quotes)."""
    return ["setpriv", f"--reuid={DYNAMIC_UID}", f"--regid={DYNAMIC_UID}", "--clear-groups",
            "--no-new-privs", "sh", "-c", f"umask {umask:04o} && exec {cmd}"]


log("the unit's command lines, from the installed unit")
for pre in unit.get("ExecStartPre", []):
    r = subprocess.run(as_service(pre), capture_output=True, text=True, timeout=30)
    check_eq(r.returncode, 0, f"ExecStartPre={pre} ({(r.stdout + r.stderr).strip()})")
start = unit["ExecStart"][-1]
agent = Proc("agent-deb", as_service(start)).start()
conf = __import__("json").load(open("/etc/spoa-iam/config.json"))
check(wait_for(lambda: all(f"listening for SPOP on {a}\n" in agent.output()
                           for a in conf["listen"]), timeout=15),
      f"ExecStart={start}: the agent listens on {conf['listen']}")
sock = next(a[5:] for a in conf["listen"] if a.startswith("unix:"))
st = os.stat(sock) if os.path.exists(sock) else None
check(st is not None and st.st_uid == DYNAMIC_UID and
      (st.st_mode & 0o777) == (0o777 & ~umask),
      f"its socket {sock} is the service user's, mode {oct(st.st_mode & 0o777) if st else '-'}")
body = urllib.request.urlopen(f"http://{conf['admin_listen']}/healthz", timeout=5).status
check_eq(body, 200, f"/healthz on admin_listen {conf['admin_listen']}")

echo = EchoBackend()
user_edit = None
try:
    import pwd
    pwd.getpwnam("haproxy")
    # HAProxy drops to its own user after start: it then connects to the
    # agent's socket as that user, as Debian's haproxy service does.
    user_edit = lambda c: c.replace("global\n", "global\n    user haproxy\n    group haproxy\n", 1)
except KeyError:
    log("(no haproxy user: haproxy stays root)")
hap = HAProxy(f"unix@{sock}", echo.addr, cfg_edit=user_edit,
              extra_env={"IAM_SPOE_CONF": "/etc/haproxy/iam.spoe.conf"})
rc, text = hap.check_config()
check(rc == 0, f"haproxy -c with the installed iam.spoe.conf ({text.strip()[-300:]})")
hap.start()
check(wait_for(lambda: curl(hap.port, "/healthz").status == 200, timeout=20),
      "haproxy (as user haproxy) reaches the packaged agent: /healthz allowed")
check_eq(curl(hap.port, "/orders/1").status, 403,
         "the shipped config refuses every other path (no_route)")

for cmd in unit.get("ExecReload", []):
    cmd = cmd.replace("$MAINPID", str(agent.p.pid))
    subprocess.run(shlex.split(cmd), check=False)
check(wait_for(lambda: "reload: reading /etc/spoa-iam/config.json" in agent.output(),
               timeout=10), "ExecReload= makes the agent reload its config")
check(wait_for(lambda: curl(hap.port, "/healthz").status == 200, timeout=10),
      "still serving after the reload")
check_eq(agent.stop(), 0, "SIGTERM (KillSignal=): the agent drains and exits 0")
bad = [line for line in agent.output().splitlines() if re.search(r" (warn|error): ", line)]
check(not bad, f"no warning or error in its log, state_dir included: {bad[:3]}")
hap.stop()

# ------------------------------------------------------------------ purge
r = subprocess.run(["dpkg", f"--root={root}", "--force-script-chrootless", "--log=/dev/null",
                    "-P", "spoa-iam"], capture_output=True, text=True, timeout=120)
check_eq(r.returncode, 0, f"dpkg --purge from the scratch root ({r.stderr.strip()})")
left = [p for p in ("usr/bin/spoa-iam", "etc/spoa-iam/config.json",
                    "etc/haproxy/iam.spoe.conf", "etc/haproxy/azure-front-door-backend.acl",
                    "lib/systemd/system/spoa-iam.service")
        if os.path.exists(os.path.join(root, p))]
check(not left, f"purged: nothing of it is left ({left})")
finish()
