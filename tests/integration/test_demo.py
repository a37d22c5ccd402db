"""scripts/demo.sh --once: the tour runs to the end with every step as
expected, against this build and the HAProxy under test (HAPROXY_BIN), and
shows what it claims:

 - a drain of region A through HAProxy's runtime API, with the requests
   meanwhile answered by region B (apim-b1), and region A back after
   "state ready";
 - one request id, the same at APIM (X-Request-ID echoed), in HAProxy's log
   line (id=) and in the agent's log line (unique_id=);
 - a wrong expectation (SPOA_DEMO_WRONG_EXPECT, which only this test sets)
   is reported as UNEXPECTED and makes the exit status 1: --once can fail.

demo.py is run the way demo.sh runs it (demo.sh itself would install
packages and build a tree of its own), with the environment pointing at
this test's build tree.
"""
import os
import re
import signal
import subprocess
import time

from harness import (AGENT_BIN, BUILD_DIR, HAPROXY_BIN, SOURCE_DIR, check, check_eq,
                     finish, log)

DEMO = os.path.join(SOURCE_DIR, "scripts", "demo.py")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def run_demo(extra_env=None, timeout=120):
    """(exit status, output, seconds) of demo.py --once; on a timeout its
    process group (the demo and what it started) gets SIGTERM, then SIGKILL."""
    env = dict(os.environ)
    env.update({"SPOA_SOURCE_DIR": SOURCE_DIR, "SPOA_BUILD_DIR": BUILD_DIR,
                "SPOA_IAM": AGENT_BIN, "HAPROXY": HAPROXY_BIN})
    env.pop("SPOA_DEMO_WRONG_EXPECT", None)
    env.update(extra_env or {})
    t0 = time.time()
    p = subprocess.Popen(["/usr/bin/python3", "-B", DEMO, "--once"], env=env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGTERM)
        try:
            out, _ = p.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            out, _ = p.communicate()
        out += b"\n(test: demo timed out)\n"
    return p.returncode, out.decode(errors="replace"), time.time() - t0


def section(out, start, end):
    """The lines of ${out} after the first line containing ${start} and
    before the next one containing ${end}."""
    lines = out.splitlines()
    i = next((n for n, ln in enumerate(lines) if start in ln), None)
    if i is None:
        return []
    j = next((n for n in range(i + 1, len(lines)) if end in lines[n]), len(lines))
    return lines[i + 1:j]


log(f"demo.py --once with HAProxy {HAPROXY_BIN}")
rc, out, secs = run_demo()
print("\n".join("    | " + ln for ln in out.splitlines()))
log(f"the tour took {secs:.1f} s")
check_eq(rc, 0, "demo --once exits 0")
m = re.search(r"All (\d+) steps as expected", out)
check(m is not None and "UNEXPECTED" not in out, "every step as expected")
steps = int(m.group(1)) if m else 0

# The drain: requests answered by region B while apim-a1 drains.
drain = section(out, "$ rt set server apim/apim-a1 state drain",
                "$ rt set server apim/apim-a1 state ready")
got = [ln.strip() for ln in drain if ln.strip().startswith("got ")]
check("got    apim-a1 DRAIN   [ok]" in got, "show stat says apim-a1 DRAIN after the command")
by_b = [g for g in got if g.startswith("got    200 OK from region B (apim-b1)")]
check(len(by_b) >= 3 and not any("region A" in g for g in got),
      f"during the drain, requests are answered by region B and none by A "
      f"({len(by_b)} by B of {len(got) - 1})")
check(any("apim/apim-b1" in ln and "HAProxy's log line" in ln for ln in drain),
      "HAProxy's log line of a drained request names apim/apim-b1")
after = section(out, "$ rt set server apim/apim-a1 state ready", "== ")
check(any(ln.strip().startswith("got    200 OK from region A (apim-a1)") for ln in after),
      "after state ready, region A serves again")

# One request id in three places.
lines = out.splitlines()
i = next((n for n, ln in enumerate(lines) if "APIM's echo:" in ln), None)
ids = {}
if check(i is not None and i + 2 < len(lines), "the request id block is shown"):
    m1 = re.search(r"X-Request-ID: (\S+)", lines[i])
    m2 = re.search(r"HAProxy's log line:.* id=(\S+) ", lines[i + 1])
    m3 = re.search(r"the agent's log line:.* unique_id=(\S+) ", lines[i + 2])
    ids = {"APIM": m1 and m1.group(1), "HAProxy": m2 and m2.group(1),
           "agent": m3 and m3.group(1)}
rid = ids.get("APIM") or ""
check(UUID.match(rid) is not None, f"APIM's X-Request-ID is one HAProxy made: {rid!r}")
check_eq(ids.get("HAProxy"), rid, "HAProxy's log line has the same id (id=)")
check_eq(ids.get("agent"), rid, "the agent's log line has the same id (unique_id=)")

# Denials and the rate limit are shown with their JSON bodies.
check('body: {"error":"unauthorized","reason":"token_missing"' in out,
      "a 401's JSON body is shown")
check(re.search(r"200 200 200 200 200 200 200 200 200 200 429 429 +\[ok\]", out) is not None
      and "Retry-After: 10" in out, "the rate limit's 429 with Retry-After")

# A wrong expectation fails the run.
log("demo.py --once with one wrong expectation (step 3 expects 418)")
rc, out, secs = run_demo({"SPOA_DEMO_WRONG_EXPECT": "3"})
log(f"took {secs:.1f} s")
check_eq(rc, 1, "a wrong expectation: exit status 1")
check(re.search(r"^\[3\] .*\n.*\n     expect 418\b.*\n     got    200 OK.*"
                r"\[UNEXPECTED: expected 418", out, re.M) is not None,
      "step 3 is reported UNEXPECTED (expected 418, got 200)")
check(f"1 of {steps} steps UNEXPECTED" in out, "the summary counts one unexpected step")
if rc != 1:
    print("\n".join("    | " + ln for ln in out.splitlines()))
finish()
