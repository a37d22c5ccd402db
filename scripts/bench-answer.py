#!/usr/bin/env python3
"""HAProxy's CPU per request for the agent's answer, agent builds and
answer settings compared in one run.

HAProxy (nbthread 1, plain HTTP on 127.0.0.1) asks the agent through the
project's haproxy-conf/iam.spoe.conf and runs rules of the reference
haproxy-conf/haproxy.cfg, taken from the file as it is; then
"http-request return status 200" (HAProxy answers itself, no backend):
  -f headers (default): the filter, the fail-closed and refusal rules
     ("Answers") and the X-IAM-* header rules ("Trusted identity");
  -f full: the whole reference frontend as shipped (request id, Front
     Door checks, the retry engine, the rate limit, the log line; its log
     goes to /dev/null), only the bind line and the backend replaced.
wrk sends every request with the same Entra-shaped RS256 token (~1.2 KB,
minted by tests/integration/tokens.py), so the agent answers from its
token cache: sub, issuer, client_id, tenant, scopes and roles.

With --callgrind, HAProxy runs under valgrind's callgrind instead, and
each run reports the instructions HAProxy executed per request (Ir: the
counters are zeroed after a warm-up and dumped after the wrk run, divided
by the requests wrk completed in between): exact counts, which a machine
shared with other jobs does not blur as it blurs CPU time.

Each variant is an agent binary and, optionally, the "answer" object of
its config; variants are run one after the other within a round, for
each HAProxy binary, and rounds repeat.  For every run: requests/s, and
HAProxy's and the agent's CPU time (utime+stime of /proc/PID/stat over the
wrk run) divided by the requests wrk completed.  The summary gives, per
HAProxy and variant, the median and range over the rounds, and the ratios
to the first variant of the same HAProxy in the same round.

Usage:
  scripts/bench-answer.py [-r ROUNDS] [-d SECONDS] [-c CONNECTIONS]
      [-f headers|full] [-H NAME=HAPROXY ...] NAME=AGENT_BINARY[:ANSWER_JSON] ...
e.g.
  scripts/bench-answer.py -r 5 -d 8 -H 2.6=/usr/sbin/haproxy \\
      -H 3.4=/root/.cache/spoa-iam/haproxy/3.4/haproxy \\
      before=/tmp/old/spoa-iam after=build/spoa-iam \\
      'after-min=build/spoa-iam:{"on_allow": []}'
Environment: HAPROXY_CPU (0), WRK_CPU (1), AGENT_CPU (WRK_CPU): CPUs
(taskset) for each; KEEP_DIR: keep the configs and logs there.
Every process started here is stopped on exit.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))
from tokens import Key, jwks, mint  # noqa: E402  (Python cryptography)

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
ISS = f"https://login.microsoftonline.com/{TENANT}/v2.0"
PATH = "/orders/42"
PROCS = []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def start(argv, cpu, log, env=None):
    pin = ["taskset", "-c", cpu] if cpu and shutil.which("taskset") else []
    p = subprocess.Popen(pin + argv, stdout=log, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, env=env)
    PROCS.append(p)
    return p


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(3)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if p in PROCS:
        PROCS.remove(p)


def ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    fields = s[s.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def http_code(port, token=None):
    argv = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "3"]
    if token:
        argv += ["-H", f"Authorization: Bearer {token}"]
    r = subprocess.run(argv + [f"http://127.0.0.1:{port}{PATH}"],
                       capture_output=True, text=True)
    return r.stdout.strip()


def haproxy_cfg(port, mode):
    """The reference haproxy.cfg, whole or its agent rules (see above)."""
    cfg = open(os.path.join(SRC, "haproxy-conf", "haproxy.cfg")).read()
    ret = '    http-request return status 200 content-type text/plain string "ok"'
    if mode == "headers":
        def section(start, end):
            i = cfg.index(start)
            return [ln for ln in cfg[i:cfg.index(end, i + len(start))].splitlines()
                    if ln.startswith("    http-request ")]
        rules = (['    filter spoe engine iam config "${IAM_SPOE_CONF}"'] +
                 section("# --- Answers", "# --- ") +
                 section("# --- Trusted identity", "default_backend"))
        backend = cfg[cfg.index("backend spoa-iam\n"):]
        backend = backend[:backend.index("\nbackend ")]
        return ("global\n    nbthread 1\n    maxconn 4096\n\n"
                "defaults\n    mode http\n    timeout connect 3s\n"
                "    timeout client 30s\n    timeout server 30s\n"
                "    timeout http-request 10s\n\n"
                f"frontend api\n    bind 127.0.0.1:{port}\n" +
                "\n".join(rules) + "\n" + ret + "\n\n" + backend + "\n")

    def edit(old, new):
        nonlocal cfg
        if old not in cfg:
            sys.exit(f"bench-answer: haproxy.cfg has no {old!r}")
        cfg = cfg.replace(old, new, 1)
    edit("\nglobal\n", "\nglobal\n    nbthread 1\n")
    cfg = re.sub(r'(?m)^    bind "\$\{IAM_BIND\}".*$', f"    bind 127.0.0.1:{port}", cfg)
    edit("    default_backend apim", ret)
    return cfg


def agent_cfg(listen, keys, answer):
    c = {
        "listen": [listen], "listen_takeover": False, "workers": 1,
        "log_level": "warn", "token_cache_entries": 65536,
        "issuers": [{"name": "entra",
                     "issuer": "https://login.microsoftonline.com/{tenant}/v2.0",
                     "tenants": [TENANT], "jwks_file": keys,
                     "audiences": ["api://orders"], "algorithms": ["RS256"]}],
        "routes": [{"name": "orders", "path_prefix": "/orders", "methods": ["GET"],
                    "require": "jwt", "issuers": ["entra"],
                    "scopes_any": ["Orders.Read"]}],
    }
    if answer is not None:
        c["answer"] = answer
    return c


def run_one(hap_bin, agent_bin, answer, work, tag, token, args):
    aport, hport = free_port(), free_port()
    keys = os.path.join(work, "keys.json")
    acfg = os.path.join(work, f"agent-{tag}.json")
    with open(acfg, "w") as f:
        json.dump(agent_cfg(f"127.0.0.1:{aport}", keys, answer), f)
    hcfg = os.path.join(work, f"haproxy-{tag}.cfg")
    with open(hcfg, "w") as f:
        f.write(haproxy_cfg(hport, args.f))
    env = dict(os.environ)
    env.update({
        "IAM_SPOE_CONF": os.path.join(SRC, "haproxy-conf", "iam.spoe.conf"),
        "IAM_AGENT": f"127.0.0.1:{aport}", "IAM_ADMIN": "127.0.0.1:1",
        "APIM_ADDR": "127.0.0.1:1", "APIM_SNI": "localhost",
        "APIM_ADDR_B": "127.0.0.1:1", "APIM_SNI_B": "localhost",
        "IAM_RATE_LIMIT": "1000000000", "PROM_BIND": f"127.0.0.1:{free_port()}",
        "HAPROXY_RUNTIME": os.path.join(work, f"haproxy-{tag}.sock"),
        "IAM_FRONT_DOOR_RANGES": os.path.join(SRC, "haproxy-conf",
                                              "azure-front-door-backend.acl"),
    })
    cpu_h = os.environ.get("HAPROXY_CPU", "0")
    cpu_w = os.environ.get("WRK_CPU", "1")
    cpu_a = os.environ.get("AGENT_CPU", cpu_w)
    alog = open(os.path.join(work, f"agent-{tag}.log"), "w")
    agent = start([agent_bin, "-c", acfg], cpu_a, alog)
    if not wait_port(aport, agent):
        sys.exit(f"bench-answer: {tag}: the agent did not start "
                 f"({open(alog.name).read()[-500:]})")
    hlog = open(os.path.join(work, f"haproxy-{tag}.log"), "w")
    cg = [] if not args.callgrind else [
        "valgrind", "--tool=callgrind", "--trace-children=yes",
        f"--callgrind-out-file={os.path.join(work, 'cg-' + tag)}"]
    hap = start(cg + [hap_bin, "-db", "-f", hcfg], cpu_h, hlog, env=env)
    if not wait_port(hport, hap, 60 if cg else 10):
        sys.exit(f"bench-answer: {tag}: HAProxy did not start "
                 f"({open(hlog.name).read()[-800:]})")
    # The path measured is the success path; a refusal is still a refusal.
    code = ""
    for _ in range(100):
        code = http_code(hport, token)
        if code == "200":
            break
        time.sleep(0.1)
    if code != "200" or http_code(hport) != "401":
        sys.exit(f"bench-answer: {tag}: valid token {code}, none "
                 f"{http_code(hport)} (want 200, 401)")
    pin = ["taskset", "-c", cpu_w] if shutil.which("taskset") else []
    env_w = dict(os.environ, BENCH_TOKEN=token)

    def wrk(secs):
        return subprocess.run(pin + ["wrk", "-t1", f"-c{args.c}", f"-d{secs}s", "-s",
                                     os.path.join(work, "result.lua"),
                                     f"http://127.0.0.1:{hport}{PATH}"],
                              capture_output=True, text=True, env=env_w,
                              timeout=secs + 60)
    if cg:
        # Warm-up (pools, the agent's connections), then count from zero.
        wrk(2)
        subprocess.run(["callgrind_control", "-z", str(hap.pid)],
                       capture_output=True, timeout=60, check=True)
    h0, a0 = ticks(hap.pid), ticks(agent.pid)
    r = wrk(args.d)
    h1, a1 = ticks(hap.pid), ticks(agent.pid)
    ir = None
    if cg:
        before = set(os.listdir(work))
        subprocess.run(["callgrind_control", "-d", str(hap.pid)],
                       capture_output=True, timeout=60, check=True)
        dumps = [f for f in set(os.listdir(work)) - before if f.startswith("cg-" + tag)]
        if len(dumps) != 1:
            sys.exit(f"bench-answer: {tag}: no callgrind dump ({dumps})")
        with open(os.path.join(work, dumps[0])) as f:
            m = re.search(r"(?m)^(?:summary|totals): (\d+)", f.read())
        ir = int(m.group(1)) if m else None
    stop(hap)
    stop(agent)
    m = re.search(r"RESULT requests=(\d+) secs=([\d.]+) non2xx=(\d+) sockerr=(\d+)", r.stdout)
    if not m:
        sys.exit(f"bench-answer: {tag}: no wrk result:\n{r.stdout}\n{r.stderr}")
    n, secs, bad = int(m.group(1)), float(m.group(2)), int(m.group(3)) + int(m.group(4))
    if bad:
        sys.exit(f"bench-answer: {tag}: {bad} failed requests of {n}")
    tck = os.sysconf("SC_CLK_TCK")
    return {"rps": n / secs, "hap_us": (h1 - h0) / tck * 1e6 / n,
            "agent_us": (a1 - a0) / tck * 1e6 / n,
            "hap_ir": ir / n if ir is not None else None}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-r", type=int, default=5, help="rounds")
    ap.add_argument("-d", type=int, default=8, help="seconds of wrk per run")
    ap.add_argument("-c", type=int, default=50, help="wrk connections")
    ap.add_argument("-f", choices=("headers", "full"), default="headers",
                    help="HAProxy's rules: the agent's, or the whole frontend")
    ap.add_argument("-H", action="append", default=[], metavar="NAME=HAPROXY")
    ap.add_argument("--callgrind", action="store_true",
                    help="HAProxy under callgrind: instructions per request")
    ap.add_argument("variants", nargs="+", metavar="NAME=AGENT[:ANSWER_JSON]")
    args = ap.parse_args()
    haps = [h.split("=", 1) for h in args.H] or [["hap", "/usr/sbin/haproxy"]]
    variants = []
    for v in args.variants:
        name, rest = v.split("=", 1)
        binary, _, answer = rest.partition(":")
        variants.append((name, os.path.abspath(binary),
                         json.loads(answer) if answer else None))

    work = os.environ.get("KEEP_DIR") or tempfile.mkdtemp(prefix="bench-answer.")
    os.makedirs(work, exist_ok=True)
    key = Key("RS256", "bench-rsa")
    with open(os.path.join(work, "keys.json"), "w") as f:
        json.dump(jwks(key), f)
    claims = {"aio": "AWQAm/8TAAAAbFb1Jd0tQHqvN4oaMJ0+YhA1Wq",
              "azp": "0d4a0e5c-8a7b-4c1e-9c9e-2f6d2a1b3c4d", "azpacr": "1",
              "name": "Alice Example", "oid": "6f1c2d3e-4a5b-6c7d-8e9f-0a1b2c3d4e5f",
              "preferred_username": "alice@example.com", "email": "alice@example.com",
              "rh": "0.AXEAv4j5cvGGr0GRqy180BHbR1wOSg17isZM",
              "roles": ["Orders.Admin", "Reader"],
              "scp": "Orders.Read Orders.Write User.Read", "tid": TENANT,
              "uti": "AbCdEfGhIjKlMnOpQrStUv", "ver": "2.0"}
    token = mint(key, claims, iss=ISS, aud="api://orders", sub="user-000001",
                 exp_in=86400)
    with open(os.path.join(work, "result.lua"), "w") as f:
        f.write('wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")\n'
                "done = function(summary, latency, requests)\n"
                "  local e = summary.errors\n"
                '  io.write(string.format("RESULT requests=%d secs=%.3f non2xx=%d '
                'sockerr=%d\\n", summary.requests, summary.duration / 1e6, e.status,'
                " e.connect + e.read + e.write + e.timeout))\nend\n")

    rows = []
    try:
        for rnd in range(1, args.r + 1):
            for hname, hbin in haps:
                for vname, vbin, answer in variants:
                    tag = f"{hname}-{vname}-r{rnd}"
                    res = run_one(hbin, vbin, answer, work, tag, token, args)
                    res.update(hap=hname, variant=vname, round=rnd)
                    rows.append(res)
                    print(f"round {rnd} HAProxy {hname} {vname:12s} "
                          f"{res['rps']:9.0f} req/s  HAProxy {res['hap_us']:6.2f} us/req"
                          f"  agent {res['agent_us']:5.2f} us/req" +
                          (f"  HAProxy {res['hap_ir']:.0f} Ir/req"
                           if res["hap_ir"] is not None else ""), flush=True)
    finally:
        for p in list(PROCS):
            stop(p)
        if not os.environ.get("KEEP_DIR"):
            shutil.rmtree(work, ignore_errors=True)

    def med(xs):
        return f"{statistics.median(xs):.3f} ({min(xs):.3f}-{max(xs):.3f})"
    print("\nmedian (range) over rounds; ratios to the first variant of the same "
          "HAProxy in the same round")
    for hname, _ in haps:
        base = variants[0][0]
        for vname, _, _ in variants:
            mine = [r for r in rows if r["hap"] == hname and r["variant"] == vname]
            key = "hap_ir" if args.callgrind else "hap_us"
            unit = "Ir/req" if args.callgrind else "us/req"
            line = (f"HAProxy {hname} {vname:12s} req/s {med([r['rps'] for r in mine])}"
                    f"  HAProxy {unit} {med([r[key] for r in mine])}"
                    f"  agent us/req {med([r['agent_us'] for r in mine])}")
            if vname != base:
                ref = {r["round"]: r for r in rows
                       if r["hap"] == hname and r["variant"] == base}
                line += (f"  x req/s {med([r['rps'] / ref[r['round']]['rps'] for r in mine])}"
                         f"  x HAProxy {unit} {med([r[key] / ref[r['round']][key] for r in mine])}"
                         f"  HAProxy {unit} - {base} "
                         f"{med([r[key] - ref[r['round']][key] for r in mine])}")
            print(line)


if __name__ == "__main__":
    main()
