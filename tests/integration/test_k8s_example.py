"""The Kubernetes sidecar example (haproxy-conf/kubernetes-sidecar.yaml)
starts HAProxy as written: its haproxy container's environment and volume
mounts are read from the YAML, the volumes are laid out at the example's
own mount paths in a private mount namespace (unshare --mount; the host's
directories are untouched), and Debian's haproxy runs the shipped
haproxy.cfg and iam.spoe.conf from there: `haproxy -c` passes, and a
request through it reaches the agent and the backend.

Only what points outside the pod is changed for the test: the listening
address, the agent's and APIM's addresses and APIM's CA (our loopback
stand-ins).  Every path HAProxy reads inside the pod (the SPOE file, the
server certificate, the client CA) is the example's.

Needs root (a mount namespace); skipped with a message otherwise.
"""
import os
import shutil
import subprocess
import sys

from harness import (Agent, EchoBackend, HAPROXY_BIN, Proc, SOURCE_DIR, check,
                     check_eq, curl, finish, free_port, log, pki, tmpdir, wait_for,
                     wait_port)

try:
    import yaml
except ImportError:
    print("SKIP: python3-yaml is not installed (scripts/install-deps.sh installs it)")
    sys.exit(0)

if os.geteuid() != 0 or shutil.which("unshare") is None:
    print("SKIP: needs root and unshare(1) for a private mount namespace")
    sys.exit(0)

example = os.path.join(SOURCE_DIR, "haproxy-conf", "kubernetes-sidecar.yaml")
docs = [d for d in yaml.safe_load_all(open(example)) if d]
deploy = next(d for d in docs if d.get("kind") == "Deployment")
spec = deploy["spec"]["template"]["spec"]
containers = {c["name"]: c for c in spec["containers"]}
volumes = {v["name"]: v for v in spec["volumes"]}
check("haproxy" in containers and "spoa-iam" in containers,
      "the pod has an haproxy and a spoa-iam container")
hap_c = containers["haproxy"]
env = {e["name"]: e["value"] for e in hap_c.get("env", [])}
mounts = {m["name"]: m["mountPath"] for m in hap_c.get("volumeMounts", [])}

# What each volume holds, as the example's comments say; the test puts the
# project's own files (and its test PKI) there.
CONTENTS = {
    "haproxy-conf": {"haproxy.cfg": os.path.join(SOURCE_DIR, "haproxy-conf", "haproxy.cfg"),
                     "iam.spoe.conf": os.path.join(SOURCE_DIR, "haproxy-conf",
                                                   "iam.spoe.conf")},
    "tls": {"server.pem": os.path.join(pki(), "server.pem"),
            "clients-ca.pem": os.path.join(pki(), "clients-ca.pem")},
}
for vol in CONTENTS:
    check(vol in mounts, f"the haproxy container mounts volume {vol}")
    check(vol in volumes, f"volume {vol} is declared")

cfg_path = os.path.join(mounts.get("haproxy-conf", "/nowhere"), "haproxy.cfg")
check_eq(cfg_path, "/usr/local/etc/haproxy/haproxy.cfg",
         "haproxy.cfg is where the haproxy image reads it")
# Every file HAProxy reads inside the pod lies on one of its volumes, under
# a name that volume holds.
files = {}
for var in ("IAM_SPOE_CONF", "IAM_CERT", "IAM_CLIENT_CA"):
    path = env.get(var)
    check(path is not None, f"{var} is set in the haproxy container")
    if path is None:
        continue
    vol = next((v for v, mp in mounts.items()
                if os.path.dirname(path) == mp), None)
    ok = vol in CONTENTS and os.path.basename(path) in CONTENTS[vol]
    check(ok, f"{var}={path} is a file of a mounted volume")
    files[var] = path

# Lay the volumes out at the example's mount paths in a private mount
# namespace.  A mount point that does not exist on the host is made inside
# a tmpfs laid over its nearest existing parent (only in the namespace).
stage = os.path.join(tmpdir(), "k8s-volumes")
script = ["set -e"]
covered = set()
for vol, mp in sorted(mounts.items(), key=lambda kv: kv[1]):
    src = os.path.join(stage, vol)
    os.makedirs(src)
    for name, origin in CONTENTS.get(vol, {}).items():
        shutil.copy(origin, os.path.join(src, name))
    if not os.path.isdir(mp):
        parent = os.path.dirname(mp)
        while not os.path.isdir(parent):
            parent = os.path.dirname(parent)
        if parent in ("/", "/etc", "/usr", "/usr/local") and parent != "/usr/local/etc":
            check(False, f"mount point {mp}: refusing a tmpfs over {parent}")
            finish()
        if parent not in covered:
            script.append(f"mount -t tmpfs spoa-test {parent}")
            covered.add(parent)
        script.append(f"mkdir -p {mp}")
    script.append(f"mount --bind {src} {mp}")

echo = EchoBackend()
agent = Agent({"routes": [{"name": "health", "path_prefix": "/healthz",
                           "require": "none"}]}).start()
port = free_port()
run_env = dict(os.environ)
run_env.update(env)
run_env.update({
    "IAM_BIND": f"127.0.0.1:{port}",
    "IAM_AGENT": f"127.0.0.1:{agent.port}",
    "APIM_ADDR": echo.addr,
    "APIM_SNI": "localhost",
    "APIM_CA": os.path.join(pki(), "ca.pem"),
})
for var, path in files.items():
    check_eq(run_env[var], path, f"{var} is the example's")

check_script = "\n".join(script + [f"exec {HAPROXY_BIN} -c -f {cfg_path}"])
r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                    check_script], env=run_env, capture_output=True, text=True,
                   timeout=60)
log((r.stdout + r.stderr).strip())
check_eq(r.returncode, 0, "haproxy -c passes with the example's paths")

run_script = "\n".join(script + [f"exec {HAPROXY_BIN} -db -f {cfg_path}"])
hap = Proc("haproxy-k8s", ["unshare", "--mount", "--propagation", "private", "sh",
                           "-c", run_script], env=run_env).start()
check(wait_port(port, proc=hap.p), "haproxy listens")
check(wait_for(lambda: curl(port, "/healthz").status == 200, timeout=15),
      "a request passes the agent and reaches the backend")
check(echo.hits >= 1, "the backend saw it")
# The host's directories were never touched.
check(not os.path.exists("/usr/local/etc/haproxy/haproxy.cfg") or
      open("/usr/local/etc/haproxy/haproxy.cfg").read() !=
      open(CONTENTS["haproxy-conf"]["haproxy.cfg"]).read(),
      "nothing was written to the host's /usr/local/etc/haproxy")

# The agent container: its config path is on its config volume.
ag = containers["spoa-iam"]
ag_mounts = {m["name"]: m["mountPath"] for m in ag.get("volumeMounts", [])}
args = ag.get("args", [])
conf = args[args.index("-c") + 1] if "-c" in args else None
check(conf is not None and any(os.path.dirname(conf) == mp
                               for mp in ag_mounts.values()),
      f"the agent's -c {conf} is on one of its volumes")

hap.stop()
agent.stop()
finish()
