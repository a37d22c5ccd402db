"""scripts/bench-e2e.sh, smoke only: one round of one second per variant
prints every variant with a positive request rate and its machine line,
and leaves no process behind, neither when it ends nor when it is stopped
by a signal in the middle of a run.  No assertion on speed: the figures
of a one-second run on a shared machine mean nothing.

The script runs in a session of its own; whatever is left in that session
once it has exited was left behind by it.
"""
import os
import re
import signal
import subprocess
import time

from harness import SANITIZED, SOURCE_DIR, BUILD_DIR, check, check_eq, finish, log, tmpdir

SCRIPT = os.path.join(SOURCE_DIR, "scripts", "bench-e2e.sh")
VARIANTS = ["none", "native", "floor", "hit", "nocache"]


def session_members(sid):
    """Pids of the live processes of session ${sid}."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        # fields[0] is the state, [3] the session id
        if fields[0] != "Z" and int(fields[3]) == sid:
            out.append(int(d))
    return out


def start(tmp, *args, extra_env=None):
    env = dict(os.environ, **(extra_env or {}))
    env["BUILD_DIR"] = BUILD_DIR
    env["TMPDIR"] = tmp
    if SANITIZED:
        env["BENCH_E2E_SANITIZED_OK"] = "1"   # a smoke run, not figures
    return subprocess.Popen([SCRIPT, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)


def ended(p, timeout, what):
    """The script's output once it ends; killed (and ${what} failed) if it
    runs past ${timeout} seconds."""
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        check(False, what)
    return out


def left_behind(sid):
    """Wait a little for the session to empty; return what stays."""
    deadline = time.time() + 5
    while time.time() < deadline and session_members(sid):
        time.sleep(0.1)
    return session_members(sid)


# ---------------------------------------------------------------- full run
log(f"bench-e2e.sh -r 1 -d 1 (HAPROXY={os.environ.get('HAPROXY')})")
tmp1 = os.path.join(tmpdir(), "t1")
os.mkdir(tmp1)
p = start(tmp1, "-r", "1", "-d", "1")
out = ended(p, 180, "bench-e2e.sh ends within 180 s")
print(out)
check_eq(p.returncode, 0, "bench-e2e.sh exit status")
for v in VARIANTS:
    m = re.search(rf"^  round 1 {v}\s+(\d+) req/s", out, re.M)
    check(m is not None and int(m.group(1)) > 0, f"{v}: its run is printed with a positive rate")
    m = re.search(rf"^E2E variant={v} .*\brps=([0-9.]+)", out, re.M)
    check(m is not None and float(m.group(1)) > 0, f"{v}: machine line with rps > 0")
    check(re.search(rf"^{v}\s+1\s+\d+ \(", out, re.M) is not None, f"{v}: a row in the table")
for k in ("x_none", "x_native", "hap_us"):
    check(re.search(rf"^E2E variant=hit .*\b{k}=[0-9.]+", out, re.M) is not None,
          f"hit: machine line has {k}")
check(re.search(r"^E2E variant=floor .*\bagent_us=[0-9.]+", out, re.M) is not None,
      "floor: the agent's CPU per request is measured")
check_eq(left_behind(p.pid), [], "processes left in the script's session after it ended")
check_eq(os.listdir(tmp1), [], "its temporary directory is removed")

# ---------------------------------------------------------------- knobs
# A variant with knobs runs the configuration they name, and is compared
# with its base in the same round.
log("bench-e2e.sh -v floor,floor+spoelog+thr2 (KEEP_DIR)")
tmp3 = os.path.join(tmpdir(), "t3")
keep = os.path.join(tmpdir(), "keep")
os.mkdir(tmp3)
p = start(tmp3, "-r", "1", "-d", "1", "-v", "floor,floor+spoelog+thr2", extra_env={"KEEP_DIR": keep})
out = ended(p, 180, "bench-e2e.sh with knobs ends within 180 s")
print(out)
check_eq(p.returncode, 0, "bench-e2e.sh with knobs: exit status")
check(re.search(r"^E2E variant=floor\+spoelog\+thr2 .*\bx_base=[0-9.]+", out, re.M) is not None,
      "floor+spoelog+thr2: compared with floor in the same round (x_base)")
spoe = open(os.path.join(keep, "spoe-floor_spoelog_thr2-r1.conf")).read()
check_eq(open(os.path.join(keep, "spoe-floor-r1.conf")).read().count("option dontlog-normal"), 2,
         "floor: the shipped iam.spoe.conf, option dontlog-normal in both agents")
check("dontlog-normal" not in spoe, "spoelog: no option dontlog-normal in that variant's SPOE file")
check("option var-prefix iam" in spoe, "spoelog: the rest of iam.spoe.conf is kept")
cfg = open(os.path.join(keep, "haproxy-floor_spoelog_thr2-r1.cfg")).read()
check(re.search(r"^\s*nbthread 2$", cfg, re.M) is not None, "thr2: nbthread 2 in that variant's haproxy.cfg")
check(re.search(r"^\s*nbthread 1$", open(os.path.join(keep, "haproxy-floor-r1.cfg")).read(), re.M) is not None,
      "floor: nbthread 1")

# ---------------------------------------------------------------- stopped
log("bench-e2e.sh stopped by SIGTERM in the middle of a run")
tmp2 = os.path.join(tmpdir(), "t2")
os.mkdir(tmp2)
p = start(tmp2, "-r", "1", "-d", "20", "-v", "hit")
# Stop it once the agent, HAProxy and wrk run: wrk is started last.
deadline = time.time() + 60
running = False
while time.time() < deadline and p.poll() is None:
    names = set()
    for pid in session_members(p.pid):
        try:
            with open(f"/proc/{pid}/comm") as f:
                names.add(f.read().strip())
        except OSError:
            pass
    if "wrk" in names:
        running = True
        break
    time.sleep(0.1)
check(running, "wrk started under the script")
members = len(session_members(p.pid))
log(f"{members} processes in the script's session; SIGTERM to the script")
os.kill(p.pid, signal.SIGTERM)
out = ended(p, 30, "bench-e2e.sh ends within 30 s of SIGTERM")
check_eq(p.returncode, 143, "exit status after SIGTERM")
check_eq(left_behind(p.pid), [], "processes left in the script's session after SIGTERM")
check_eq(os.listdir(tmp2), [], "its temporary directory is removed after SIGTERM")
if left_behind(p.pid):
    os.killpg(p.pid, signal.SIGKILL)

finish()
