#!/usr/bin/env python3
"""Summarise one ctest run of a build tree, per HAProxy version.

Usage: scripts/ci-summary.py BUILD_DIR [--markdown]

Reads BUILD_DIR/ctest-results.xml (ctest --output-junit, as scripts/test.sh
writes it), BUILD_DIR/haproxy-versions.tsv (which binary and version each
integration-<x.y> label ran, written by tests/CMakeLists.txt) and the test
labels (ctest --show-only=json-v1).  Prints, per label, the HAProxy version
and its pass/fail counts and test time, then a closing "N passed, N failed"
line.  With --markdown: the README's compatibility tables instead, features
x versions and what each version did ("fact" lines of the test output),
made from that run only.
"""
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

# Columns of the compatibility table: feature -> integration tests (short names).
FEATURES = [
    ("`haproxy -c` of haproxy-conf/ and the README snippet, no warning", ["haproxy_conf"]),
    ("requests end to end: routes, JWT, mTLS, headers, SIGHUP", ["haproxy_basic", "jwt_haproxy",
                                                               "mtls_haproxy"]),
    ("keys and policy fetched out of band, rotation, cold start", ["fetch_coldstart",
                                                                  "fetch_failures",
                                                                  "fetch_policy",
                                                                  "fetch_rotation"]),
    ("pooled connections, pipelined streams, out-of-order ACKs", ["spop_pool"]),
    ("health checks (`option spop-check`)", ["spop_health"]),
    ("agent restart with requests in flight (SIGTERM, SIGKILL)", ["spop_restart"]),
    ("agent restart by takeover (new process beside the old, then SIGTERM)",
     ["agent_takeover"]),
    ("`timeout processing` expiry, late ACKs", ["spop_timeout"]),
    ("NOTIFY and ACK at the negotiated max-frame-size", ["spop_frames"]),
]
FACTS = [
    ("haproxy_conf", "mode_spop", "`mode spop` in a backend"),
    ("haproxy_conf", "without_timeout_hello_idle", "iam.spoe.conf without `timeout hello`/`idle`"),
    ("spop_pool", "sequential_connections", "agent connections for 21 sequential requests"),
    ("spop_pool", "concurrent_connections", "... after 48 concurrent ones"),
    ("spop_pool", "burst_connections", "... after a burst of 60 held ones"),
    ("spop_pool", "max_inflight", "most NOTIFYs in flight on one connection"),
    ("spop_health", "killed_first_err", "agent killed: `txn.iam.err` of the next request"),
    ("spop_health", "killed_first_s", "... seconds until that request failed"),
    ("spop_health", "down_err", "server DOWN: `txn.iam.err`"),
    ("spop_health", "down_check_status", "server DOWN: check status (unix socket)"),
    ("spop_health", "fake_check_status", "non-SPOP listener: check status"),
    ("spop_restart", "sigterm_parked_statuses", "SIGTERM, 8 requests parked: HTTP statuses"),
    ("spop_restart", "sigkill_parked_err", "SIGKILL, requests parked: `txn.iam.err`"),
    ("spop_restart", "sigkill_parked_last_s", "... seconds until the last one failed"),
    ("agent_takeover", "rolling_tcp_requests", "5 takeover restarts under wrk load, TCP: requests"),
    ("agent_takeover", "rolling_tcp_non2xx", "... non-2xx (all 503)"),
    ("agent_takeover", "rolling_tcp_non2xx_by_err", "... by status/`txn.iam.err`"),
    ("agent_takeover", "rolling_unix_requests", "5 takeover restarts under wrk load, unix socket: requests"),
    ("agent_takeover", "rolling_unix_non2xx", "... non-2xx (all 503)"),
    ("agent_takeover", "rolling_unix_non2xx_by_err", "... by status/`txn.iam.err`"),
    ("spop_timeout", "timeout_err", "processing timeout: `txn.iam.err`"),
    ("spop_timeout", "timeout_after_s", "... seconds until it fired (`timeout processing` of iam.spoe.conf)"),
    ("spop_timeout", "late_ack_connection", "connection after late ACKs"),
    ("spop_frames", "notify_max_agent", "largest NOTIFY, agent announces 4096"),
    ("spop_frames", "notify_over_err_agent", "... larger request: `txn.iam.err`"),
    ("spop_frames", "notify_max_haproxy", "largest NOTIFY, `max-frame-size 4096` in iam.spoe.conf"),
    ("spop_frames", "notify_over_err_haproxy", "... larger request: `txn.iam.err`"),
    ("spop_frames", "ack_max_agent", "largest ACK HAProxy took (4096 announced)"),
    ("spop_frames", "oversize_without_no_send_frag_payload",
     "oversize request, iam.spoe.conf without `no option send-frag-payload`"),
]


def labels_of(build):
    out = subprocess.run(["ctest", "--show-only=json-v1"], cwd=build, capture_output=True,
                         text=True, check=True).stdout
    labels = {}
    for t in json.loads(out)["tests"]:
        for p in t.get("properties", []):
            if p["name"] == "LABELS":
                labels[t["name"]] = p["value"]
    return labels


def versions_of(build):
    v = {}
    path = os.path.join(build, "haproxy-versions.tsv")
    if os.path.exists(path):
        for line in open(path).read().splitlines()[1:]:
            label, version, binary = line.split("\t")
            v[label] = (version, binary)
    return v


def results_of(build):
    """{test name: (status, seconds, {fact: value})}"""
    root = ET.parse(os.path.join(build, "ctest-results.xml")).getroot()
    out = {}
    for tc in root.iter("testcase"):
        status = tc.get("status")
        if tc.find("failure") is not None:
            status = "fail"
        text = "".join(e.text or "" for e in tc.iter("system-out"))
        facts = dict(re.findall(r"^  fact  (\w+)=(.*)$", text, re.M))
        out[tc.get("name")] = (status, float(tc.get("time") or 0), facts)
    return out


def group_of(name, labels):
    """The HAProxy version label of a test, or its first label."""
    ls = labels.get(name, [])
    for l in ls:
        if re.match(r"integration-\d+\.\d+$", l):
            return l
    return ls[0] if ls else "other"


def short(name):
    return name.split("/")[-1]


def summary(build):
    labels, versions, results = labels_of(build), versions_of(build), results_of(build)
    groups = {}
    for name, (status, secs, _) in results.items():
        groups.setdefault(group_of(name, labels), []).append((name, status, secs))
    tree = os.path.basename(os.path.abspath(build))
    print(f"=== {tree}: results per HAProxy version")
    total_pass = total_fail = 0
    for g in sorted(groups, key=lambda g: (not g.startswith("integration-"), g)):
        rows = groups[g]
        passed = sum(1 for _, s, _ in rows if s == "run")
        failed = [n for n, s, _ in rows if s != "run"]
        total_pass += passed
        total_fail += len(failed)
        secs = sum(t for _, _, t in rows)
        longest = max(rows, key=lambda r: r[2])
        what = f"HAProxy {versions[g][0]}" if g in versions else \
            ("integration tests without HAProxy" if g == "integration" else f"{g} tests")
        print(f"  {g:<16} {what:<34} {passed:>3} passed, {len(failed)} failed"
              f"   {secs:6.1f} s of test time (longest {short(longest[0])} {longest[2]:.1f} s)")
        for n in failed:
            print(f"      FAILED {n}")
    print(f"{tree}: {total_pass} passed, {total_fail} failed")
    return total_fail == 0


def markdown(build):
    labels, versions, results = labels_of(build), versions_of(build), results_of(build)
    vlabels = sorted(versions, key=lambda l: tuple(int(x) for x in l.split("-")[1].split(".")))
    by = {}   # (label, short) -> (status, facts)
    for name, (status, _, facts) in results.items():
        g = group_of(name, labels)
        if g in versions:
            by[(g, short(name))] = (status, facts)
    head = "| tested | " + " | ".join(f"{l[12:]} ({versions[l][0]})" for l in vlabels) + " |"
    print(head)
    print("|---|" + "---|" * len(vlabels))
    listed = set()
    for feature, tests in FEATURES:
        listed.update(tests)
        cells = []
        for l in vlabels:
            got = [by[(l, t)][0] for t in tests if (l, t) in by]
            if not got:
                cells.append("not run")
            else:
                ok = sum(1 for s in got if s == "run")
                cells.append("pass" if ok == len(got) else f"**FAIL** ({len(got) - ok} of {len(got)})")
        print(f"| {feature} | " + " | ".join(cells) + " |")
    for t in sorted({t for (_, t) in by} - listed):
        cells = []
        for l in vlabels:
            if (l, t) not in by:
                cells.append("not run")
            else:
                cells.append("pass" if by[(l, t)][0] == "run" else "**FAIL**")
        print(f"| other: `{t}` | " + " | ".join(cells) + " |")
    print()
    print("| measured | " + " | ".join(l[12:] for l in vlabels) + " |")
    print("|---|" + "---|" * len(vlabels))
    for test, key, what in FACTS:
        cells = [by.get((l, test), (None, {}))[1].get(key, "-") for l in vlabels]
        print(f"| {what} | " + " | ".join(f"`{c}`" if c != "-" else c for c in cells) + " |")


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 1:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    if "--markdown" in sys.argv:
        markdown(args[0])
        return 0
    return 0 if summary(args[0]) else 1


if __name__ == "__main__":
    sys.exit(main())
