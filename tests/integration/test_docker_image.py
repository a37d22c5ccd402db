"""The container image (Dockerfile), built and run for real.

No image registry is reachable here, so the Debian 12 base image is made
locally: `debootstrap --variant=minbase bookworm` from the host's Debian
mirror, trimmed like debian:12-slim and loaded with `docker import`.  The
Dockerfile is built on it (BASE build argument) from a copy of the sources
in which a foreign build tree is planted (build/CMakeCache.txt: the
.dockerignore must keep it out), then the image is checked (non-root,
health check, volumes, size) and run with --network host and a read-only
root filesystem beside Debian's haproxy, which reaches the agent through
the unix socket in the shared /run/spoa-iam volume and answers a request.
SIGHUP reloads, `docker stop` drains and exits 0.

The docker engine: the one named by SPOA_DOCKER_HOST if set, else a private
dockerd started here (--bridge=none --iptables=false: host network only,
never a bridge) whose data root is the cache below, and stopped at the end.

Cache: ${SPOA_CACHE_DIR:-~/.cache/spoa-iam}/docker holds the engine's
images: the base image (cold: debootstrap, about a minute with a good
mirror) and the layer cache of the build stage.  One run at a time uses it
(a lock; another run waits up to 5 minutes, then this test skips).

Skipped, with the reason, where it cannot run: not root, docker.io or
debootstrap missing (scripts/install-deps.sh installs them), dockerd cannot
start or run a container (no cgroups, no privileges), or a sanitizer tree
(the image is built from the sources, not from this tree's binary).
"""
import atexit
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request

from harness import (SANITIZED, SOURCE_DIR, EchoBackend, HAProxy, check, check_eq,
                     curl, finish, free_port, log, tmpdir, wait_for)

BASE_TAG = "spoa-iam-test/bookworm-minbase:2"   # bump when base_rootfs() changes
BUILD_TAG = "spoa-iam-test/build:latest"
IMAGE_TAG = "spoa-iam-test/agent:latest"
IMAGE_UID = 10001
MAX_IMAGE_MB = 150


def skip(why):
    print(f"SKIP: {why}", flush=True)
    sys.exit(0)


if SANITIZED:
    skip("the image is built from the sources, not from this sanitizer tree's "
         "binary: the normal tree runs this test")
if os.geteuid() != 0:
    skip("needs root (dockerd, debootstrap)")
DOCKER = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else shutil.which("docker")
for tool, path in (("docker", DOCKER), ("dockerd", shutil.which("dockerd")),
                   ("debootstrap", shutil.which("debootstrap"))):
    if path is None:
        skip(f"{tool} is not installed (scripts/install-deps.sh installs "
             f"docker.io and debootstrap)")

CACHE = os.environ.get("SPOA_CACHE_DIR") or os.path.join(
    os.path.expanduser("~"), ".cache", "spoa-iam")
os.makedirs(CACHE, exist_ok=True)
timings = {}


def timed(name, t0):
    timings[name] = time.time() - t0
    log(f"{name}: {timings[name]:.1f} s")


# ------------------------------------------------------------------ lock
lockf = open(os.path.join(CACHE, "docker.lock"), "w")
t0 = time.time()
while True:
    try:
        fcntl.flock(lockf, fcntl.LOCK_EX | fcntl.LOCK_NB)
        break
    except BlockingIOError:
        if time.time() - t0 > 300:
            skip(f"another run has held {CACHE}/docker.lock for 5 minutes")
        time.sleep(2)
if time.time() - t0 > 1:
    timed("waiting for the cache lock", t0)

# ------------------------------------------------------------------ engine
engine = None          # our dockerd, if we start one
exec_root = None
env = dict(os.environ)
env["DOCKER_BUILDKIT"] = "0"   # the classic builder: no buildx plugin needed


def docker(*args, timeout=120, check_rc=False, input=None):
    r = subprocess.run([DOCKER, *args], env=env, capture_output=True, text=True,
                       timeout=timeout, input=input)
    if check_rc and r.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)}: {r.stderr.strip()}")
    return r


def engine_log_tail(n=15):
    try:
        lines = open(os.path.join(exec_root, "dockerd.log"), errors="replace").read().splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n:])


ENGINE_RECORD = os.path.join(CACHE, "dockerd.json")


def unmount_and_remove(root):
    """Unmount whatever is mounted below ${root}, then remove it (dockerd
    leaves the host's network namespace bound under its exec root)."""
    def below():
        with open("/proc/self/mounts") as f:
            return sorted((line.split()[1] for line in f
                           if line.split()[1].startswith(root + "/")), reverse=True)
    for mp in below():
        subprocess.run(["umount", "-l", mp], capture_output=True)
    if below():
        log(f"not removing {root}: still mounted below it: {below()}")
        return
    shutil.rmtree(root, ignore_errors=True)


def stop_engine():
    if engine is None:
        return
    if engine.poll() is None:
        engine.terminate()
        try:
            engine.wait(timeout=30)
        except subprocess.TimeoutExpired:
            engine.kill()
            engine.wait()
    unmount_and_remove(exec_root)
    try:
        os.unlink(ENGINE_RECORD)
    except OSError:
        pass


def stop_stale_engine():
    """A run killed outright (a ctest timeout) leaves its dockerd on the
    cache's data root: stop it (we hold the lock, so it is nobody's now)."""
    try:
        rec = json.load(open(ENGINE_RECORD))
        pid, root = int(rec["pid"]), rec["exec_root"]
        cmdline = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
    except (OSError, ValueError, KeyError):
        return
    if b"dockerd" not in os.path.basename(cmdline[0]) or root.encode() not in cmdline:
        return
    log(f"stopping the dockerd (pid {pid}) a killed run left behind")
    os.kill(pid, 15)
    wait_for(lambda: not os.path.exists(f"/proc/{pid}"), timeout=30)
    unmount_and_remove(root)


# Registered after harness's own cleanup, so it runs first: the engine is
# stopped gracefully (it stops its containerd), not killed.
atexit.register(stop_engine)

if os.environ.get("SPOA_DOCKER_HOST"):
    env["DOCKER_HOST"] = os.environ["SPOA_DOCKER_HOST"]
    log(f"docker engine: {env['DOCKER_HOST']} (SPOA_DOCKER_HOST)")
else:
    stop_stale_engine()
    t0 = time.time()
    # A short path: containerd's sockets live under the exec root.
    exec_root = subprocess.run(["mktemp", "-d", "/tmp/sidk.XXXXXX"], capture_output=True,
                               text=True, check=True).stdout.strip()
    sock = os.path.join(exec_root, "docker.sock")
    env["DOCKER_HOST"] = "unix://" + sock
    argv = ["dockerd", "--bridge=none", "--iptables=false", "--ip6tables=false",
            "--data-root", os.path.join(CACHE, "docker"), "--exec-root", exec_root,
            "--pidfile", os.path.join(exec_root, "dockerd.pid"), "-H", env["DOCKER_HOST"]]
    logf = open(os.path.join(exec_root, "dockerd.log"), "w")
    engine = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL)
    logf.close()
    with open(ENGINE_RECORD, "w") as f:
        json.dump({"pid": engine.pid, "exec_root": exec_root}, f)
    ok = wait_for(lambda: engine.poll() is not None or
                  docker("version", timeout=10).returncode == 0, timeout=60, step=0.5)
    if engine.poll() is not None or not ok:
        skip("dockerd could not start here:\n" + engine_log_tail())
    timed("starting dockerd", t0)

r = docker("version", "--format", "{{.Server.Version}}")
if r.returncode != 0:
    skip(f"no docker engine answers: {r.stderr.strip()}")
log(f"docker engine {r.stdout.strip()}")


# ------------------------------------------------------------------ base image
def host_mirror():
    """The host's Debian mirror (its apt sources), so the test reaches the
    archive the way the host does."""
    if os.environ.get("SPOA_DEBIAN_MIRROR"):
        return os.environ["SPOA_DEBIAN_MIRROR"]
    try:
        text = open("/etc/apt/sources.list.d/debian.sources").read()
        for m in re.finditer(r"^URIs:\s*(\S+)", text, re.M):
            if "security" not in m.group(1):
                return m.group(1)
    except OSError:
        pass
    try:
        for line in open("/etc/apt/sources.list"):
            m = re.match(r"deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+bookworm\s", line)
            if m:
                return m.group(1)
    except OSError:
        pass
    return "http://deb.debian.org/debian"


def base_rootfs(root):
    """debootstrap minbase, then trimmed and configured like debian:12-slim."""
    mirror = host_mirror()
    log(f"debootstrap --variant=minbase bookworm from {mirror} (cold cache)")
    r = subprocess.run(["debootstrap", "--variant=minbase", "bookworm", root, mirror],
                       capture_output=True, text=True, timeout=480)
    if r.returncode != 0:
        print((r.stdout + r.stderr)[-3000:])
        raise RuntimeError("debootstrap failed")
    # The host's apt sources (bookworm, -updates, -security) when it has the
    # deb822 file, and its settings for reaching the archive.
    if os.path.exists("/etc/apt/sources.list.d/debian.sources"):
        shutil.copy("/etc/apt/sources.list.d/debian.sources",
                    os.path.join(root, "etc/apt/sources.list.d/debian.sources"))
        os.unlink(os.path.join(root, "etc/apt/sources.list"))
    dump = subprocess.run(["apt-config", "dump"], capture_output=True, text=True).stdout
    keep = [line for line in dump.splitlines()
            if re.match(r"Acquire::(Check-Valid-Until|Check-Date|https?::Proxy) ", line)]
    with open(os.path.join(root, "etc/apt/apt.conf.d/99host"), "w") as f:
        f.write("".join(line + "\n" for line in keep))
    with open(os.path.join(root, "etc/dpkg/dpkg.cfg.d/excludes"), "w") as f:
        f.write("path-exclude=/usr/share/doc/*\npath-include=/usr/share/doc/*/copyright\n"
                "path-exclude=/usr/share/man/*\npath-exclude=/usr/share/info/*\n"
                "path-exclude=/usr/share/locale/*\n")
    doc = os.path.join(root, "usr/share/doc")
    for pkg in os.listdir(doc):
        d = os.path.join(doc, pkg)
        if os.path.islink(d) or not os.path.isdir(d):
            continue
        for name in os.listdir(d):
            q = os.path.join(d, name)
            if name == "copyright":
                continue
            if os.path.isdir(q) and not os.path.islink(q):
                shutil.rmtree(q)
            else:
                os.unlink(q)
    for d in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/man",
              "usr/share/info", "usr/share/locale"):
        p = os.path.join(root, d)
        for name in os.listdir(p) if os.path.isdir(p) else []:
            q = os.path.join(p, name)
            if os.path.isdir(q) and not os.path.islink(q):
                if d != "var/cache/apt/archives":
                    shutil.rmtree(q)
            elif name != "lock":
                os.unlink(q)


t0 = time.time()
base_cold = docker("image", "inspect", BASE_TAG).returncode != 0
if base_cold:
    root = os.path.join(CACHE, "rootfs.tmp")
    # (A debootstrap killed midway may have left proc/sys mounted in it:
    # unmount_and_remove() unmounts before it removes.)
    unmount_and_remove(root)
    try:
        base_rootfs(root)
        tar = subprocess.Popen(["tar", "-C", root, "--numeric-owner", "-c", "."],
                               stdout=subprocess.PIPE)
        r = subprocess.run([DOCKER, "import", "-", BASE_TAG], stdin=tar.stdout, env=env,
                           capture_output=True, text=True, timeout=300)
        tar.stdout.close()
        tar.wait()
        if r.returncode != 0:
            raise RuntimeError(f"docker import: {r.stderr.strip()}")
    finally:
        unmount_and_remove(root)
    timed("base image (debootstrap + docker import)", t0)
else:
    log(f"base image {BASE_TAG}: cached")
# Base images of an earlier version of this test are of no more use.
repo = BASE_TAG.split(":")[0]
for tag in docker("images", repo, "--format", "{{.Tag}}").stdout.split():
    if f"{repo}:{tag}" != BASE_TAG:
        docker("rmi", f"{repo}:{tag}")

# Can this engine run a container at all?  (cgroups, namespaces, seccomp)
r = docker("run", "--rm", "--network", "host", BASE_TAG, "true", timeout=60)
if r.returncode != 0:
    skip("dockerd runs but cannot start a container here:\n" + r.stderr.strip() +
         ("\n" + engine_log_tail() if exec_root else ""))

# ------------------------------------------------------------------ build
# The build context: the sources as they are, plus a foreign build tree
# (a CMakeCache.txt naming another source directory), which broke the
# image build before .dockerignore.
ctx = os.path.join(tmpdir(), "context")
shutil.copytree(SOURCE_DIR, ctx, symlinks=True, ignore=lambda d, names: [
    n for n in names if d == SOURCE_DIR and (n.startswith("build") or n == ".git")])
for d in ("build", "."):
    os.makedirs(os.path.join(ctx, d), exist_ok=True)
    with open(os.path.join(ctx, d, "CMakeCache.txt"), "w") as f:
        f.write("CMAKE_HOME_DIRECTORY:INTERNAL=/somewhere/else\n"
                "CMAKE_CACHEFILE_DIR:INTERNAL=/somewhere/else/build\n")

version = re.search(r"project\(spoa-iam VERSION (\S+)",
                    open(os.path.join(SOURCE_DIR, "CMakeLists.txt")).read()).group(1)
t0 = time.time()
build_logs = []
for argv in (["--target", "build", "-t", BUILD_TAG], ["-t", IMAGE_TAG]):
    r = docker("build", "--network", "host", "--build-arg", f"BASE={BASE_TAG}", *argv,
               ctx, timeout=540)
    build_logs.append(r.stdout + r.stderr)
    if r.returncode != 0:
        print(build_logs[-1][-5000:])
        check(False, f"docker build {' '.join(argv)}")
        finish()
timed("docker build (build stage, then the image)", t0)
out = build_logs[0]
m = re.search(r"Sending build context to Docker daemon\s+([\d.]+)([kMG]?B)", out)
if m:
    size = float(m.group(1)) * {"B": 1e-6, "kB": 1e-3, "MB": 1, "GB": 1e3}[m.group(2)]
    check(size < 20, f"the build context is small ({m.group(1)} {m.group(2)})")
cached = out.count("Using cache")
log(f"build stage: {cached} step(s) from the layer cache")
# Old images of this test (an earlier source tree) become untagged: drop them.
docker("image", "prune", "-f", timeout=120)

info = json.loads(docker("image", "inspect", IMAGE_TAG, check_rc=True).stdout)[0]
base = json.loads(docker("image", "inspect", BASE_TAG, check_rc=True).stdout)[0]
cfg = info["Config"]
size_mb = info["Size"] / 1e6
own_mb = (info["Size"] - base["Size"]) / 1e6
log(f"image {IMAGE_TAG}: {size_mb:.1f} MB ({own_mb:.1f} MB over the "
    f"{base['Size'] / 1e6:.1f} MB Debian base)")
check(size_mb < MAX_IMAGE_MB, f"the image is small: {size_mb:.1f} MB < {MAX_IMAGE_MB} MB")
check_eq(cfg.get("User"), f"{IMAGE_UID}:{IMAGE_UID}", "the image runs as a numeric non-root user")
hc = " ".join((cfg.get("Healthcheck") or {}).get("Test") or [])
check("/healthz" in hc, f"HEALTHCHECK asks /healthz ({hc})")
vols = set((cfg.get("Volumes") or {}).keys())
check({"/var/lib/spoa-iam", "/run/spoa-iam"} <= vols, f"state and socket volumes: {sorted(vols)}")
r = docker("run", "--rm", "--network", "host", IMAGE_TAG, "--version")
check_eq(r.stdout.strip(), f"spoa-iam {version}", "the image's binary runs (--version)")

# ------------------------------------------------------------------ run
confdir = os.path.join(tmpdir(), "etc-spoa-iam")
rundir = os.path.join(tmpdir(), "run-spoa-iam")      # the shared socket volume
os.makedirs(confdir)
os.makedirs(rundir)
os.chmod(confdir, 0o755)
os.chown(rundir, IMAGE_UID, IMAGE_UID)
os.chmod(rundir, 0o770)
port, admin = free_port(), free_port()
conf = {
    "listen": [f"127.0.0.1:{port}", "unix:/run/spoa-iam/agent.sock"],
    "admin_listen": f"127.0.0.1:{admin}",
    "workers": 2,
    "state_dir": "/var/lib/spoa-iam",
    "token_cache_entries": 1024,
    "routes": [{"name": "health", "path_prefix": "/healthz", "methods": ["GET", "HEAD"],
                "require": "none"}],
}
with open(os.path.join(confdir, "config.json"), "w") as f:
    json.dump(conf, f, indent=2)
os.chmod(os.path.join(confdir, "config.json"), 0o644)

name = f"spoa-iam-test-{os.getpid()}"


def remove_container():
    docker("rm", "-f", "-v", name, timeout=60)


atexit.register(remove_container)
t0 = time.time()
r = docker("run", "-d", "--name", name, "--network", "host", "--read-only",
           "-v", f"{confdir}:/etc/spoa-iam:ro", "-v", f"{rundir}:/run/spoa-iam",
           "-e", f"SPOA_IAM_ADMIN=127.0.0.1:{admin}",
           "--health-interval", "1s", "--health-start-period", "2s", IMAGE_TAG)
check(r.returncode == 0, f"docker run --read-only --network host ({r.stderr.strip()})")


def logs():
    r = docker("logs", name)
    return r.stdout + r.stderr


def state():
    r = docker("inspect", name)
    return json.loads(r.stdout)[0]["State"] if r.returncode == 0 else {}


check(wait_for(lambda: "listening for SPOP on unix:/run/spoa-iam/agent.sock" in logs(),
               timeout=30), "the agent listens on the socket of the shared volume")
check(wait_for(lambda: (state().get("Health") or {}).get("Status") == "healthy",
               timeout=30), "docker reports the container healthy (HEALTHCHECK /healthz)")
timed("container start to healthy", t0)
sock = os.path.join(rundir, "agent.sock")
st = os.stat(sock) if os.path.exists(sock) else None
check(st is not None and (st.st_mode & 0o777) == 0o770 and st.st_uid == IMAGE_UID,
      f"the socket is {IMAGE_UID}'s, mode 0770 (umask 0007), so its group can use it: "
      f"{oct(st.st_mode & 0o777) if st else None}")
r = docker("exec", name, "sh", "-c",
           "id -u; touch /var/lib/spoa-iam/probe && rm /var/lib/spoa-iam/probe && echo state-ok;"
           " touch /usr/probe 2>/dev/null || echo root-ro")
check_eq(r.stdout.split(), [str(IMAGE_UID), "state-ok", "root-ro"],
         "runs as 10001, the state volume is writable, the root filesystem is not")

echo = EchoBackend()
hap = HAProxy(f"unix@{sock}", echo.addr)
rc, out = hap.check_config()
check(rc == 0, "haproxy -c with the agent on the container's socket")
hap.start()
check(wait_for(lambda: curl(hap.port, "/healthz").status == 200, timeout=20),
      "a request through haproxy is allowed by the agent in the container")
check_eq(curl(hap.port, "/elsewhere").status, 403, "an unrouted path is refused (403)")
check(echo.hits >= 1, "the backend saw the allowed request")
metrics = urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=5).read().decode()
check(re.search(r"^spoa_iam_notify_total [1-9]", metrics, re.M) is not None,
      "the container's /metrics counts the NOTIFYs")

docker("kill", "-s", "HUP", name)
check(wait_for(lambda: "reload: reading /etc/spoa-iam/config.json" in logs(), timeout=15),
      "SIGHUP (docker kill -s HUP) reaches the agent: it reloads")
check(wait_for(lambda: curl(hap.port, "/healthz").status == 200, timeout=10),
      "still serving after the reload")
t0 = time.time()
r = docker("stop", "-t", "20", name, timeout=60)
st = state()
check(st.get("Running") is False and st.get("ExitCode") == 0,
      f"docker stop: SIGTERM drains and the agent exits 0 (exit {st.get('ExitCode')})")
check("draining connections and stopping" in logs(), "the agent logged the drain")
timed("docker stop", t0)
hap.stop()

log("timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()) +
    f" ({'cold' if base_cold else 'warm'} base image, {cached} cached build step(s))")
finish()
