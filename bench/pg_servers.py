#!/usr/bin/python3
"""neutrino-server on PostgreSQL, one to three servers sharing one database (issue 16).

1. Port-create throughput: for SQLite (one server, a file on disk) and for PostgreSQL with
   N = 1, 2, 3 servers on a fresh database, `neutrino-load --scenario ports -n 5000 -c 16
   --url <every server>` (client i talks to server i % N); records port create ops/s, p50,
   p99 (and the other phases). Each configuration runs REPEATS times, fresh database and
   fresh servers each time; the medians are reported.
2. Cross-server propagation with 3 servers: a network is created through server 1, then
   servers 2 and 3 are polled (GET /v2.0/networks/{id}, keep-alive http.client connections,
   round robin, no pause) until each answers 200. delay = that 200's arrival - the arrival
   of the create's 201. SAMPLES samples, one every ~20 ms, once idle and once while
   neutrino-load (ports, c=8) runs against servers 2 and 3 in a loop.

A private PostgreSQL 15 cluster (tests/nt_postgres.py: fsync and synchronous_commit on)
on a Unix socket; the binaries are copied first so a concurrent rebuild cannot swap them.
Every server, load generator and the cluster are stopped by PID at the end, also on failure.
    bench/pg_servers.py [--repeats 3] [--samples 300] [--json out.json]
"""
import argparse
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from nt_postgres import PgCluster, _die_with_parent  # noqa: E402

QUOTA = json.dumps({"quota": {"port": -1, "network": -1, "subnet": -1}})
LOAD_LINE = re.compile(r"^(\w+ \w+)\s+n=(\d+)\s+errors=(\d+)\s+([\d.]+) ops/s\s+p50\s+([\d.]+) ms\s+"
                       r"p95\s+([\d.]+) ms\s+p99\s+([\d.]+) ms")


class Server:
    """One neutrino-server: started on --port 0, stopped by PID."""

    def __init__(self, binary, database, workdir, name):
        self.name = name
        self.out = workdir / f"{name}.out"
        self.err = workdir / f"{name}.log"
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.proc = subprocess.Popen([str(binary), "--database", database, "--port", "0"],
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                         preexec_fn=_die_with_parent)
        deadline = time.monotonic() + 60
        while True:
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", self.out.read_text(errors="replace"))
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{name} did not start:\n{self.err.read_text(errors='replace')[-3000:]}")
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)

    def problems(self):
        """Log lines worth reporting: errors, warnings, 5xx answers."""
        lines = (self.out.read_text(errors="replace") + self.err.read_text(errors="replace")).splitlines()
        return [l for l in lines if re.search(r"\[(error|critical|warning)\]| 50[0-9] |503|Traceback|terminate", l)]


def request(conn, method, path, body=None):
    conn.request(method, path, body=body, headers={"Content-Type": "application/json", "Accept": "application/json"})
    r = conn.getresponse()
    data = r.read()
    return r.status, data


def connection(server):
    return http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)


def writer_metrics(server):
    """The writer's histograms (sums and counts) from GET /metrics: where a write's time goes."""
    conn = connection(server)
    st, body = request(conn, "GET", "/metrics")
    conn.close()
    out = {}
    for line in body.decode(errors="replace").splitlines():
        m = re.match(r"neutrino_writer_(group_size|commit_seconds|locked_seconds)_(sum|count) ([\d.e+-]+)$", line)
        if m:
            out[f"{m.group(1)}_{m.group(2)}"] = float(m.group(3))
    return out if st == 200 else {"status": st}


def run_load(load_bin, urls, n, c, log):
    """neutrino-load ports; returns {phase: {...}} parsed from its output."""
    t0 = time.monotonic()
    p = subprocess.run([str(load_bin), "--scenario", "ports", "-n", str(n), "-c", str(c), "--url", ",".join(urls)],
                       capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
    log.write(p.stdout + p.stderr)
    log.flush()
    phases = {}
    for line in p.stdout.splitlines():
        m = LOAD_LINE.match(line)
        if m:
            phases[m.group(1)] = dict(n=int(m.group(2)), errors=int(m.group(3)), ops=float(m.group(4)),
                                      p50=float(m.group(5)), p95=float(m.group(6)), p99=float(m.group(7)))
    return dict(rc=p.returncode, phases=phases, wall_s=time.monotonic() - t0, stderr=p.stderr.strip()[-2000:])


class Bench:
    def __init__(self, args):
        self.args = args
        self.workdir = Path(tempfile.mkdtemp(prefix="nt-pgb-"))
        # Private copies: others rebuild build/bin while this runs.
        self.server_bin = self.workdir / "neutrino-server"
        self.load_bin = self.workdir / "neutrino-load"
        shutil.copy2(ROOT / "build/bin/neutrino-server", self.server_bin)
        shutil.copy2(ROOT / "build/bin/neutrino-load", self.load_bin)
        self.pg = None
        self.servers = []  # every server started, stopped in close()
        self.loads = []    # background neutrino-load processes
        self.log = open(self.workdir / "load.log", "w")
        self.problems = []

    def close(self, keep):
        for p in self.loads:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=15)
        for s in self.servers:
            s.stop()
        if self.pg is not None:
            self.pg.close()
        self.log.close()
        if keep:
            print(f"logs kept in {self.workdir}")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def start_servers(self, database, n, tag):
        started = []
        for i in range(n):  # one after the other: the first one creates the schema
            s = Server(self.server_bin, database, self.workdir, f"{tag}-s{i + 1}")
            self.servers.append(s)
            started.append(s)
        conn = connection(started[0])
        st, body = request(conn, "PUT", "/v2.0/quotas/fake_project_id", QUOTA)
        assert st == 200, (st, body)
        conn.close()
        return started

    def stop_servers(self, servers):
        for s in servers:
            s.stop()
            bad = s.problems()
            if bad:
                self.problems.append((s.name, len(bad), bad[:5]))

    # -- 1. throughput ----------------------------------------------------------------
    def throughput(self, kind, n_servers, rep):
        tag = f"{kind}{n_servers}-r{rep}"
        if kind == "sqlite":
            database = str(self.workdir / f"{tag}.db")
        else:
            _, database = self.pg.create_database()
        servers = self.start_servers(database, n_servers, tag)
        try:
            self.log.write(f"\n== {tag}\n")
            res = run_load(self.load_bin, [s.url for s in servers], self.args.ports, 16, self.log)
            res["writers"] = [writer_metrics(s) for s in servers]
        finally:
            self.stop_servers(servers)
        pc = res["phases"].get("port create")
        print(f"  {tag}: " + (f"port create {pc['ops']:.0f} ops/s p50 {pc['p50']:.2f} ms p99 {pc['p99']:.2f} ms "
                               f"errors {pc['errors']}" if pc else f"no result (rc {res['rc']}): {res['stderr']}"),
              flush=True)
        for s, w in zip(servers, res["writers"]):
            if w.get("group_size_count"):
                g = w["group_size_count"]
                print(f"    {s.name}: {g:.0f} groups of {w['group_size_sum'] / g:.1f} writes, "
                      f"lock held {1000 * w['locked_seconds_sum'] / g:.2f} ms/group "
                      f"({100 * w['locked_seconds_sum'] / res['wall_s']:.0f}% of the run), "
                      f"COMMIT {1000 * w['commit_seconds_sum'] / max(1, w['commit_seconds_count']):.2f} ms", flush=True)
        if res["rc"] != 0 or res["stderr"]:
            print(f"    rc {res['rc']} stderr: {res['stderr'][:500]}", flush=True)
        return res

    # -- 2. propagation -----------------------------------------------------------------
    def propagation(self, rep, loaded):
        _, database = self.pg.create_database()
        tag = f"prop-{'load' if loaded else 'idle'}-r{rep}"
        servers = self.start_servers(database, 3, tag)
        stop = threading.Event()
        loader = None
        rounds = []
        try:
            if loaded:
                def loop():
                    while not stop.is_set():
                        p = subprocess.Popen([str(self.load_bin), "--scenario", "ports", "-n", "2000", "-c", "8",
                                              "--url", f"{servers[1].url},{servers[2].url}"],
                                             stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL)
                        self.loads.append(p)
                        while p.poll() is None and not stop.is_set():
                            time.sleep(0.05)
                        if p.poll() is None:
                            p.kill()
                        p.wait()
                        rounds.append(p.returncode)
                loader = threading.Thread(target=loop, daemon=True)
                loader.start()
                time.sleep(1.0)  # the load is under way
            src = connection(servers[0])
            peers = [connection(s) for s in servers[1:]]
            delays, worst, timeouts, statuses = [], [], 0, {}
            for i in range(self.args.samples):
                t_start = time.monotonic()
                st, body = request(src, "POST", "/v2.0/networks", json.dumps({"network": {"name": f"prop-{i}"}}))
                t0 = time.monotonic()
                if st != 201:
                    statuses[st] = statuses.get(st, 0) + 1
                    continue
                net = json.loads(body)["network"]["id"]
                pending = {k: None for k in range(len(peers))}
                deadline = t0 + 10
                while any(v is None for v in pending.values()) and time.monotonic() < deadline:
                    for k, v in pending.items():
                        if v is None:
                            gst, _ = request(peers[k], "GET", f"/v2.0/networks/{net}")
                            if gst == 200:
                                pending[k] = time.monotonic() - t0
                            elif gst != 404:
                                statuses[gst] = statuses.get(gst, 0) + 1
                got = [v for v in pending.values() if v is not None]
                timeouts += len(pending) - len(got)
                delays += [v * 1000 for v in got]
                if len(got) == len(pending):
                    worst.append(max(got) * 1000)
                time.sleep(max(0.0, 0.020 - (time.monotonic() - t_start)))
            for c in [src, *peers]:
                c.close()
        finally:
            stop.set()
            if loader is not None:
                loader.join(timeout=30)
            self.stop_servers(servers)
        res = dict(per_server=summary(delays), both=summary(worst), timeouts=timeouts, statuses=statuses,
                   load_rounds=rounds)
        print(f"  {tag}: per server {fmt(res['per_server'])}; both {fmt(res['both'])}; timeouts {timeouts}; "
              f"other statuses {statuses}" + (f"; load rounds {rounds}" if loaded else ""), flush=True)
        return res


def summary(ms):
    if not ms:
        return None
    v = sorted(ms)
    pick = lambda p: v[min(len(v) - 1, int(p * (len(v) - 1) + 0.5))]  # noqa: E731
    return dict(n=len(v), p50=pick(0.50), p99=pick(0.99), max=v[-1])


def fmt(s):
    return "-" if not s else f"p50 {s['p50']:.2f} ms p99 {s['p99']:.2f} ms max {s['max']:.2f} ms (n={s['n']})"


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--ports", type=int, default=5000)
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--json", help="write every result here")
    ap.add_argument("--keep", action="store_true", help="keep the logs (kept anyway on failure)")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--skip-propagation", action="store_true")
    args = ap.parse_args()

    bench = Bench(args)
    results = dict(throughput={}, propagation={}, started=time.strftime("%FT%TZ", time.gmtime()), cores=os.cpu_count())
    ok = False
    try:
        bench.pg = PgCluster().start()  # its own directory: the postgres user must reach it
        if not args.skip_throughput:
            print(f"== port create, n={args.ports} c=16, {args.repeats} runs each", flush=True)
            for kind, n in (("sqlite", 1), ("pg", 1), ("pg", 2), ("pg", 3)):
                results["throughput"][f"{kind}{n}"] = [bench.throughput(kind, n, r) for r in range(args.repeats)]
        if not args.skip_propagation:
            print(f"== propagation 1 -> 2, 3: {args.samples} samples every ~20 ms, {args.repeats} runs each", flush=True)
            for loaded in (False, True):
                results["propagation"]["load" if loaded else "idle"] = [
                    bench.propagation(r, loaded) for r in range(args.repeats)]
        ok = True
    finally:
        bench.close(keep=not ok or args.keep)
        results["problems"] = bench.problems
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=1))

    print("\n== medians")
    if results["throughput"]:
        print("| configuration | port create c=16 ops/s | p50 | p99 | runs (ops/s) |\n|---|---|---|---|---|")
        names = {"sqlite1": "SQLite, 1 server", "pg1": "PostgreSQL, 1 server", "pg2": "PostgreSQL, 2 servers",
                 "pg3": "PostgreSQL, 3 servers"}
        for key, runs in results["throughput"].items():
            pcs = [r["phases"].get("port create") for r in runs]
            ops = [p["ops"] if p else None for p in pcs]
            print(f"| {names[key]} | {med(ops):,.0f} | {med([p and p['p50'] for p in pcs]):.2f} ms | "
                  f"{med([p and p['p99'] for p in pcs]):.2f} ms | "
                  f"{', '.join('%.0f' % o if o else 'fail' for o in ops)} |")
    for mode, runs in results["propagation"].items():
        for key in ("per_server", "both"):
            s = [r[key] for r in runs if r[key]]
            print(f"propagation {mode} {key}: p50 {med([x['p50'] for x in s]):.2f} ms, "
                  f"p99 {med([x['p99'] for x in s]):.2f} ms, max {med([x['max'] for x in s]):.2f} ms "
                  f"(runs: {'; '.join(fmt(x) for x in s)})")
        print(f"propagation {mode}: timeouts {[r['timeouts'] for r in runs]}, statuses {[r['statuses'] for r in runs]}")
    for name, count, lines in results["problems"]:
        print(f"server {name}: {count} log lines like:\n    " + "\n    ".join(lines))


if __name__ == "__main__":
    main()
