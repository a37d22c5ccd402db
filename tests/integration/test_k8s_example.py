"""The Kubernetes sidecar example (haproxy-conf/kubernetes-sidecar.yaml)
starts as written: the YAML is read (the Deployment and the agent's
ConfigMap), every field it relies on is validated, and both containers run
with their volumes laid out at the example's own mount paths, each in a
private mount namespace (unshare --mount; the host's directories are
untouched):

- the agent runs the ConfigMap's config.json, listening on the example's
  unix socket on the shared emptyDir (only admin_listen and state_dir are
  moved to this test's private places);
- Debian's haproxy runs the shipped haproxy.cfg and iam.spoe.conf with the
  haproxy container's environment, IAM_AGENT included, unchanged: it
  reaches the agent through the same emptyDir mounted at its own path;
- `haproxy -c` passes, a request passes the agent and reaches the backend,
  and the agent container's exec probes run against the agent.

Checked fields: the socket volume is an emptyDir mounted in both
containers, IAM_AGENT names the agent's listen socket through it, probes
target admin_listen (exec probes when it is on loopback, which the kubelet's
httpGet cannot reach), resources are requested and the memory request fits
the configured workers and caches, both containers are non-root with a
read-only root filesystem, and the uid/gid match the Dockerfile's USER.

Only what points outside the pod is changed for the test: the listening
addresses (IAM_BIND, PROM_BIND), APIM's addresses and CA (our loopback
stand-ins).  Every path a
container reads inside the pod is the example's.

Needs root (mount namespaces); skipped with a message otherwise.
"""
import json
import os
import re
import shutil
import subprocess
import sys

from harness import (AGENT_BIN, Agent, EchoBackend, HAPROXY_BIN, Proc, SOURCE_DIR,
                     check, check_eq, curl, finish, free_port, log, pki, tmpdir,
                     wait_for, wait_port)

try:
    import yaml
except ImportError:
    print("SKIP: python3-yaml is not installed (scripts/install-deps.sh installs it)")
    sys.exit(0)

if os.geteuid() != 0 or shutil.which("unshare") is None:
    print("SKIP: needs root and unshare(1) for a private mount namespace")
    sys.exit(0)

# What a cached entry costs, for the memory check: a verified token's
# compiled record and its cache slot about 0.5 KiB (README, Performance), an
# analysed certificate taken as 4 KiB; the process itself (libraries,
# threads, fetch buffers) 24 MiB.
TOKEN_BYTES = 512
CERT_BYTES = 4096
PROCESS_BYTES = 24 << 20

example = os.path.join(SOURCE_DIR, "haproxy-conf", "kubernetes-sidecar.yaml")
docs = [d for d in yaml.safe_load_all(open(example)) if d]
deploy = next(d for d in docs if d.get("kind") == "Deployment")
configmaps = {d["metadata"]["name"]: d for d in docs if d.get("kind") == "ConfigMap"}
spec = deploy["spec"]["template"]["spec"]
containers = {c["name"]: c for c in spec["containers"]}
volumes = {v["name"]: v for v in spec["volumes"]}
check("haproxy" in containers and "spoa-iam" in containers,
      "the pod has an haproxy and a spoa-iam container")
hap_c = containers["haproxy"]
ag_c = containers["spoa-iam"]
env = {e["name"]: e["value"] for e in hap_c.get("env", [])}
mounts = {m["name"]: m["mountPath"] for m in hap_c.get("volumeMounts", [])}
ag_mounts = {m["name"]: m["mountPath"] for m in ag_c.get("volumeMounts", [])}


def volume_at(path, mnts):
    """(volume, path inside it) of ${path} in a container with ${mnts}."""
    for vol, mp in mnts.items():
        if path.startswith(mp.rstrip("/") + "/"):
            return vol, path[len(mp.rstrip("/")) + 1:]
    return None, None


# ------------------------------------------------------------------ the agent's config
args = ag_c.get("args", [])
conf_path = args[args.index("-c") + 1] if "-c" in args else None
conf_vol, conf_name = volume_at(conf_path or "", ag_mounts)
check(conf_vol is not None, f"the agent's -c {conf_path} is on one of its volumes")
cm_name = (volumes.get(conf_vol, {}).get("configMap") or {}).get("name")
check(cm_name in configmaps, f"its volume {conf_vol} is the ConfigMap {cm_name} of the example")
conf_text = (configmaps.get(cm_name, {}).get("data") or {}).get(conf_name)
check(conf_text is not None, f"the ConfigMap holds {conf_name}")
agent_conf = json.loads(conf_text)
conf_file = os.path.join(tmpdir(), "example-config.json")
with open(conf_file, "w") as f:
    f.write(conf_text)
r = subprocess.run([AGENT_BIN, "-c", conf_file, "--check"], capture_output=True, text=True,
                   timeout=30)
check(r.returncode == 0, f"spoa-iam --check accepts the example's config.json "
      f"({(r.stdout + r.stderr).strip()})")

# ------------------------------------------------------------------ the socket
unix = [a[5:] for a in agent_conf["listen"] if a.startswith("unix:")]
check(len(unix) == 1, f"the agent listens on one unix socket: {agent_conf['listen']}")
sock = unix[0] if unix else "/nowhere/agent.sock"
sock_vol, sock_name = volume_at(sock, ag_mounts)
check(sock_vol is not None and "emptyDir" in volumes.get(sock_vol, {}),
      f"the socket {sock} is on an emptyDir of the agent container ({sock_vol})")
check(sock_vol in mounts, f"the haproxy container mounts {sock_vol} too")
hap_sock = os.path.join(mounts.get(sock_vol, "/nowhere"), sock_name or "")
check_eq(env.get("IAM_AGENT"), "unix@" + hap_sock,
         "IAM_AGENT is the agent's socket, seen through haproxy's mount")
cfg_text = open(os.path.join(SOURCE_DIR, "haproxy-conf", "haproxy.cfg")).read()
check('server agent1 "${IAM_AGENT}"' in cfg_text,
      "haproxy.cfg's agent server line takes IAM_AGENT")

# ------------------------------------------------------------------ probes
admin = agent_conf.get("admin_listen", "")
m = re.fullmatch(r"(127\.0\.0\.1|0\.0\.0\.0|\[::\]|\[::1\]|localhost):(\d+)", admin)
check(m is not None, f"admin_listen is set: {admin}")
admin_host, admin_port = (m.group(1), int(m.group(2))) if m else ("", 0)
probes = {}
for kind in ("livenessProbe", "readinessProbe"):
    p = ag_c.get(kind)
    check(p is not None, f"the agent container has a {kind}")
    if not p:
        continue
    check(p.get("periodSeconds", 0) > 0 and p.get("timeoutSeconds", 1) >= 1,
          f"{kind}: periodSeconds and timeoutSeconds")
    want = "/healthz" if kind == "livenessProbe" else "/readyz"
    if "httpGet" in p:
        check(admin_host not in ("127.0.0.1", "localhost", "[::1]"),
              f"{kind}: httpGet comes from the node, so admin_listen must not be loopback")
        check_eq((p["httpGet"].get("path"), p["httpGet"].get("port")), (want, admin_port),
                 f"{kind}: httpGet on admin_listen")
    else:
        cmd = (p.get("exec") or {}).get("command") or []
        check(cmd[:1] == ["curl"] and f"http://{admin}{want}" in cmd,
              f"{kind}: exec curl of http://{admin}{want}: {cmd}")
        probes[kind] = cmd
dockerfile = open(os.path.join(SOURCE_DIR, "Dockerfile")).read()
check(re.search(r"apt-get install[^&]*\bcurl\b", dockerfile) is not None,
      "the image has curl for the exec probes")

# ------------------------------------------------------------------ resources
UNITS = {"": 1, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "k": 10**3, "M": 10**6,
         "G": 10**9}


def quantity(q):
    mm = re.fullmatch(r"(\d+)([KMG]i|[kMG])?", str(q))
    return int(mm.group(1)) * UNITS[mm.group(2) or ""] if mm else None


res = ag_c.get("resources") or {}
req_mem = quantity((res.get("requests") or {}).get("memory", ""))
check(req_mem is not None and "cpu" in (res.get("requests") or {}),
      f"the agent requests cpu and memory: {res.get('requests')}")
workers = agent_conf.get("workers", 0)
check(isinstance(workers, int) and workers > 0,
      f"workers is set ({workers}): 0 would be one per CPU of the node")
tokens = agent_conf.get("token_cache_entries", 65536)
certs = agent_conf.get("cert_cache_entries", 4096)
need = PROCESS_BYTES + max(workers, 1) * (tokens * TOKEN_BYTES + certs * CERT_BYTES)
log(f"memory: {workers} workers x ({tokens} tokens x {TOKEN_BYTES} B + {certs} certs x "
    f"{CERT_BYTES} B) + {PROCESS_BYTES >> 20} MiB = {need / (1 << 20):.0f} MiB; "
    f"request {(req_mem or 0) / (1 << 20):.0f} MiB")
check(req_mem is not None and req_mem >= need,
      "the memory request fits the configured caches when they are full")
lim_mem = quantity((res.get("limits") or {}).get("memory", ""))
check(lim_mem is None or (req_mem is not None and lim_mem >= req_mem),
      "the memory limit is not below the request")
hres = hap_c.get("resources") or {}
check("memory" in (hres.get("requests") or {}), "the haproxy container requests memory")

# ------------------------------------------------------------------ security context
m = re.search(r"^USER (\d+):(\d+)", dockerfile, re.M)
img_uid, img_gid = (int(m.group(1)), int(m.group(2))) if m else (None, None)
pod_sc = spec.get("securityContext") or {}
ag_sc = ag_c.get("securityContext") or {}
check_eq((ag_sc.get("runAsUser"), ag_sc.get("runAsGroup")), (img_uid, img_gid),
         "the agent runs as the Dockerfile's USER")
check_eq(pod_sc.get("fsGroup"), img_gid,
         "fsGroup is the agent's group: haproxy can use its 0770 socket")
check("umask 0007" in dockerfile, "the image creates the socket group-usable (umask 0007)")
check(pod_sc.get("runAsNonRoot") is True, "runAsNonRoot")
for name, c in containers.items():
    sc = c.get("securityContext") or {}
    check(sc.get("readOnlyRootFilesystem") is True and
          sc.get("allowPrivilegeEscalation") is False and
          "ALL" in ((sc.get("capabilities") or {}).get("drop") or []) and
          isinstance(sc.get("runAsUser", pod_sc.get("runAsUser")), int),
          f"{name}: read-only root, no privilege escalation, no capabilities, numeric user")
for vol, mp in ag_mounts.items():
    ro = next(x for x in ag_c["volumeMounts"] if x["name"] == vol).get("readOnly", False)
    if not ro:
        check("emptyDir" in volumes.get(vol, {}),
              f"the agent writes only to emptyDirs: {vol} at {mp}")
check_eq(volume_at(agent_conf.get("state_dir", "") + "/x", ag_mounts)[0], "spoa-iam-state",
         "state_dir is on the state volume")

# ------------------------------------------------------------------ haproxy's files
# What each volume holds, as the example's comments say; the test puts the
# project's own files (and its test PKI) there.
CONTENTS = {
    "haproxy-conf": {"haproxy.cfg": os.path.join(SOURCE_DIR, "haproxy-conf", "haproxy.cfg"),
                     "iam.spoe.conf": os.path.join(SOURCE_DIR, "haproxy-conf",
                                                   "iam.spoe.conf"),
                     "azure-front-door-backend.acl":
                         os.path.join(SOURCE_DIR, "haproxy-conf",
                                      "azure-front-door-backend.acl")},
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
for var in ("IAM_SPOE_CONF", "IAM_CERT", "IAM_CLIENT_CA", "IAM_FRONT_DOOR_RANGES"):
    path = env.get(var)
    check(path is not None, f"{var} is set in the haproxy container")
    if path is None:
        continue
    vol = next((v for v, mp in mounts.items()
                if os.path.dirname(path) == mp), None)
    ok = vol in CONTENTS and os.path.basename(path) in CONTENTS[vol]
    check(ok, f"{var}={path} is a file of a mounted volume")
    files[var] = path

# haproxy.cfg's runtime API socket is created in a directory haproxy can
# write: an emptyDir of its container.
rt = env.get("HAPROXY_RUNTIME", "")
rt_vol = next((v for v, mp in mounts.items() if os.path.dirname(rt) == mp), None)
check(rt_vol is not None and "emptyDir" in volumes.get(rt_vol, {}),
      f"HAPROXY_RUNTIME {rt!r} is on an emptyDir of the haproxy container ({rt_vol})")
check(env.get("PROM_BIND", "").endswith(":8405") and
      any(p.get("containerPort") == 8405 for p in hap_c.get("ports", [])),
      "the metrics port (PROM_BIND) is a declared container port")

# ------------------------------------------------------------------ volumes
# Each volume is a directory here, shared by the containers that mount it
# (the socket emptyDir is one directory for both).  In each container's
# private mount namespace, it is bound at that container's mount path; a
# mount point that does not exist on the host is made inside a tmpfs laid
# over its nearest existing parent (only in the namespace).
stage = os.path.join(tmpdir(), "k8s-volumes")
for vol in volumes:
    os.makedirs(os.path.join(stage, vol))
    for name, origin in CONTENTS.get(vol, {}).items():
        shutil.copy(origin, os.path.join(stage, vol, name))


def layout(mnts, only=None):
    """The shell lines that lay ${mnts} out: every tmpfs first, then the
    binds (a tmpfs laid over /run after /run/x was bound would hide it)."""
    script = ["set -e"]
    binds = []
    covered = set()
    for vol, mp in sorted(mnts.items(), key=lambda kv: kv[1]):
        if only is not None and vol not in only:
            continue
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
        # Made even where the host has it: a tmpfs may now cover it.
        binds.append(f"mkdir -p {mp}")
        binds.append(f"mount --bind {os.path.join(stage, vol)} {mp}")
    return script + binds


# ------------------------------------------------------------------ the agent
# The example's config, with admin_listen on a free loopback port (the
# probes are pointed there too) and state_dir in this test's directory; its
# listen socket is the example's, on the socket volume.
run_conf = dict(agent_conf)
test_admin = free_port()
run_conf["admin_listen"] = f"127.0.0.1:{test_admin}"
run_conf["state_dir"] = os.path.join(tmpdir(), "state")
os.makedirs(run_conf["state_dir"])
agent = Agent(run_conf, name="agent-k8s")
agent.argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
              "\n".join(layout(ag_mounts, only={sock_vol}) +
                        [f"exec {AGENT_BIN} -c {agent.cfgpath}"])]
agent.start()
host_sock = os.path.join(stage, sock_vol, sock_name)
check(os.path.exists(host_sock), "the agent's socket is on the shared volume")

for kind, cmd in probes.items():
    cmd = [a.replace(f"http://{admin}/", f"http://127.0.0.1:{test_admin}/") for a in cmd]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    if kind == "livenessProbe":
        check_eq(r.returncode, 0, f"the liveness probe passes ({' '.join(cmd)})")
    else:
        # No network to the identity provider here: not ready is the right
        # answer (curl -f: exit 22 on the 503), ready where it is reachable.
        check(r.returncode in (0, 22), f"the readiness probe answers (exit {r.returncode}: "
              f"{'ready' if r.returncode == 0 else 'not ready, no keys yet'})")

# ------------------------------------------------------------------ haproxy
echo = EchoBackend()
port = free_port()
run_env = dict(os.environ)
run_env.update(env)
run_env.update({
    "IAM_BIND": f"127.0.0.1:{port}",
    "APIM_ADDR": echo.addr,
    "APIM_SNI": "localhost",
    "APIM_ADDR_B": echo.addr,
    "APIM_SNI_B": "localhost",
    "APIM_CA": os.path.join(pki(), "ca.pem"),
    "PROM_BIND": f"127.0.0.1:{free_port()}",
})
for var, path in files.items():
    check_eq(run_env[var], path, f"{var} is the example's")
check_eq(run_env["IAM_AGENT"], env.get("IAM_AGENT"), "IAM_AGENT is the example's")

hap_script = layout(mounts)
check_script = "\n".join(hap_script + [f"exec {HAPROXY_BIN} -c -f {cfg_path}"])
r = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                    check_script], env=run_env, capture_output=True, text=True,
                   timeout=60)
log((r.stdout + r.stderr).strip())
check_eq(r.returncode, 0, "haproxy -c passes with the example's paths")

run_script = "\n".join(hap_script + [f"exec {HAPROXY_BIN} -db -f {cfg_path}"])
hap = Proc("haproxy-k8s", ["unshare", "--mount", "--propagation", "private", "sh",
                           "-c", run_script], env=run_env).start()
check(wait_port(port, proc=hap.p), "haproxy listens")
check(wait_for(lambda: curl(port, "/healthz").status == 200, timeout=15),
      "a request passes the agent (through the socket volume) and reaches the backend")
check(echo.hits >= 1, "the backend saw it")
check_eq(curl(port, "/orders/1").status, 401, "a token route without a token: 401")
# The host's directories were never touched.
check(not os.path.exists("/usr/local/etc/haproxy/haproxy.cfg") or
      open("/usr/local/etc/haproxy/haproxy.cfg").read() !=
      open(CONTENTS["haproxy-conf"]["haproxy.cfg"]).read(),
      "nothing was written to the host's /usr/local/etc/haproxy")
check(not os.path.exists(sock) or not os.path.samefile(sock, host_sock),
      f"nothing was written to the host's {os.path.dirname(sock)}")

hap.stop()
agent.stop()
finish()
