#!/usr/bin/python3
"""The cost of security groups on the data path (issue 14): TCP throughput (iperf3, Debian)
between two VMs on one host and across hosts (VXLAN), with the ports filtered by the
default group (anti-spoofing, conntrack, the per-port chains) and with port security off
on all of them (no filtering at all), in a sandbox of its own (prefix nt-bsg-, API on
127.0.0.1:9794, state in /tmp/nt-bsg, removed at the end, also on failure; root).

Each measurement is `iperf3 -c <server> -t SG_SECONDS -J` against a one-shot server in the
receiving VM; SG_RUNS runs per case (alternating filtered/unfiltered so drift hits both);
medians and the ratio unfiltered/filtered are printed. Environment: SG_SECONDS (5),
SG_RUNS (3).
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NEUTRINO = str(ROOT / "build" / "bin" / "neutrino")
PREFIX, STATE, PORT = "nt-bsg-", "/tmp/nt-bsg", 9794
SECONDS = int(os.environ.get("SG_SECONDS", "5"))
RUNS = int(os.environ.get("SG_RUNS", "3"))
SB = [NEUTRINO, "sandbox", "--prefix", PREFIX, "--state-dir", STATE]
ENV = dict(os.environ, OS_AUTH_TYPE="none", OS_ENDPOINT=f"http://127.0.0.1:{PORT}")


def run(*argv, timeout=120):
    r = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, env=ENV)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {r.stdout}{r.stderr}")
    return r.stdout


def state():
    return json.loads(Path(STATE, "sandbox.json").read_text())


def vm(name, field):
    return next(v[field] for v in state()["vms"] if v["name"] == name)


def iperf(client, server):
    """Gbit/s from `client` to `server`, one run (a one-shot server, bounded in time)."""
    ns = PREFIX + "vm-"
    srv = subprocess.Popen(["ip", "netns", "exec", ns + server, "timeout", str(SECONDS + 20), "iperf3", "-s", "-1"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while ":5201 " not in run("ip", "netns", "exec", ns + server, "ss", "-ltn"):
            if time.monotonic() > deadline:
                raise RuntimeError("iperf3 server did not listen")
            time.sleep(0.05)
        out = run("ip", "netns", "exec", ns + client, "iperf3", "-c", vm(server, "ip"), "-t", str(SECONDS), "-J",
                  timeout=SECONDS + 30)
        return json.loads(out)["end"]["sum_received"]["bits_per_second"] / 1e9
    finally:
        srv.wait(SECONDS + 25)


def set_port_security(enabled):
    for name in ("a", "b", "c"):
        port = vm(name, "port_id")
        if enabled:
            run("openstack", "port", "set", "--enable-port-security", "--security-group", "default", port)
        else:
            run("openstack", "port", "set", "--no-security-group", "--disable-port-security", port)
    run(*SB, "wait")


def main():
    if os.geteuid() != 0:
        sys.exit("secgroups_iperf: needs root (network namespaces)")
    shutil.rmtree(STATE, ignore_errors=True)
    try:
        run(*SB, "up", "--port", str(PORT), "--computes", "2", "--gateways", "1", timeout=300)
        run("openstack", "network", "create", "bench")
        run("openstack", "subnet", "create", "--network", "bench", "--subnet-range", "10.77.0.0/24", "bench-sub")
        for name, host in (("a", "cmp1"), ("b", "cmp1"), ("c", "cmp2")):
            run(*SB, "vm", "create", name, "--host", host, "--network", "bench")
        results = {(case, sg): [] for case in ("one host", "across hosts") for sg in (True, False)}
        for i in range(RUNS):
            for sg in (True, False) if i % 2 == 0 else (False, True):
                set_port_security(sg)
                results[("one host", sg)].append(iperf("a", "b"))
                results[("across hosts", sg)].append(iperf("a", "c"))
        print(f"== {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {os.cpu_count()} cores, "
              f"iperf3 -t {SECONDS}, {RUNS} runs per case (median Gbit/s)")
        for case in ("one host", "across hosts"):
            on, off = statistics.median(results[(case, True)]), statistics.median(results[(case, False)])
            print(f"{case:13s} filtered {on:6.2f}  unfiltered {off:6.2f}  ratio unfiltered/filtered {off / on:5.2f}  "
                  f"(runs: {[round(x, 2) for x in results[(case, True)]]} / {[round(x, 2) for x in results[(case, False)]]})")
    finally:
        subprocess.run(SB + ["down"], capture_output=True, timeout=120)
        shutil.rmtree(STATE, ignore_errors=True)


if __name__ == "__main__":
    main()
