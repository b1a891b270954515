#!/usr/bin/python3
"""Boot storm, end to end (issue 18, point 3). A sandbox of its own (prefix nt-boot-, its own
state dir, BOOT_STORM_COMPUTES computes (4), no gateways; removed at the end, also on failure;
needs root). A Nova-like client boots BOOT_STORM_PORTS VM ports (500) at BOOT_STORM_RATE per
second (50), round robin over the computes, on one tenant network that spans them all (each
compute already has a VM on it), as Nova does for each VM:
  POST /v2.0/ports {network_id, device_id, device_owner: compute:nova}
  PUT  /v2.0/ports/{id} {binding:host_id}          <- t_bind: the request is sent
  plug the tap as os-vif would (a veth in the compute's namespace, up)
then waits for network-vif-plugged, i.e. the port ACTIVE, which the server sets only once the
port's host reported its tap up and every host of the network applied a view revision that
includes it ("applied everywhere"). The open-loop schedule starts port i at T0 + i/rate
(a few client threads, so a slow request does not delay the next VMs).

ACTIVE is detected by one poller that lists only the ports still waiting,
GET /v2.0/ports?id=..&id=..&fields=id&fields=status, every BOOT_STORM_POLL_MS (5) ms: a port's
ACTIVE time is the arrival of the first answer that shows it ACTIVE, late by at most one poll
cycle (the cycle's mean and p99 are printed: the measurement's resolution). `ip monitor link`
in each compute timestamps the moment the agent put the tap in its bridge (t_bridge), which
splits bind -> ACTIVE into the agent's part and the report + applied-everywhere part.
/agent/v1/convergence is sampled every 200 ms (the waiting ports and the hosts they wait for).

Prints p50/p90/p99/max of bind -> ACTIVE, bind -> tap in bridge, tap in bridge -> ACTIVE, the
number of ports, the rate achieved, the poll resolution and `uptime`; with --json, one JSON
line as well. Run: sudo flock /tmp/nt-build.lock bench/boot_storm.py"""
import argparse
import collections
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NEUTRINO = str(Path(os.environ.get("NEUTRINO_BUILD_DIR", ROOT / "build")) / "bin" / "neutrino")
PREFIX = "nt-boot-"
PORTS = int(os.environ.get("BOOT_STORM_PORTS", "500"))
RATE = float(os.environ.get("BOOT_STORM_RATE", "50"))
COMPUTES = int(os.environ.get("BOOT_STORM_COMPUTES", "4"))
POLL_MS = float(os.environ.get("BOOT_STORM_POLL_MS", "5"))
CLIENTS = 6          # Nova-like client threads (the open-loop schedule is theirs to keep)
CHUNK = 40           # ids per list request (keeps the URL short)
SETTLE_S = 30        # after the last bind, how long ACTIVE may take before a port counts as lost


def pct(samples, p):
    if not samples:
        return float("nan")
    samples = sorted(samples)
    return samples[min(len(samples) - 1, int(p * len(samples)))]


def summary(samples):
    return {"n": len(samples), "p50": pct(samples, 0.5), "p90": pct(samples, 0.9), "p99": pct(samples, 0.99),
            "max": max(samples) if samples else float("nan")}


class Http:
    """A keep-alive JSON client (http.client: a fraction of requests' CPU, which the storm's
    client shares with the cloud under test on this 2-core machine)."""

    def __init__(self, url):
        hostport, self.base = url.split("//", 1)[1].split("/", 1)
        self.base = "/" + self.base
        self.host, self.port = hostport.rsplit(":", 1)
        self.conn = None

    def call(self, method, path, body=None, ok=(200, 201)):
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data else {}
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, int(self.port), timeout=30)
            try:
                self.conn.request(method, self.base + path, body=data, headers=headers)
                r = self.conn.getresponse()
                text = r.read()
                break
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        if r.status not in ok:
            raise RuntimeError(f"{method} {path}: {r.status} {text[:300]!r}")
        return json.loads(text) if text else None

    def get(self, path):
        return self.call("GET", path)


class Plugger:
    """os-vif's part on one compute: one `ip -batch` per host, fed a veth per port."""

    def __init__(self, ns, errlog):
        self.err = open(errlog, "w")
        self.proc = subprocess.Popen(["ip", "-n", ns, "-force", "-batch", "-"], stdin=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, stderr=self.err, text=True, bufsize=1)
        self.lock = threading.Lock()

    def plug(self, pid):
        tap, peer = "tap" + pid[:11], "vp" + pid[:11]
        with self.lock:
            self.proc.stdin.write(f"link add {tap} type veth peer name {peer}\nlink set {peer} up\nlink set {tap} up\n")
            self.proc.stdin.flush()

    def close(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(5)
        self.err.close()


def follow_bridge(proc, seen):
    """`ip monitor link`: the first time each tap shows up with a bridge as its master."""
    for line in proc.stdout:  # "N: tapXXXXXXXXXXX@vpXXX: <...> ... master brqXXX ..."
        if " master brq" in line and ": tap" in line:
            seen.setdefault(line.split(":")[1].strip().split("@")[0], time.monotonic())


class Storm:
    def __init__(self, url, net_id, hosts, pluggers):
        self.url, self.net_id, self.hosts, self.pluggers = url, net_id, hosts, pluggers
        self.lock = threading.Lock()
        self.next = 0
        self.bound = {}     # port id -> (t_bind, host, index)
        self.pending = {}   # port id -> t_bind, until seen ACTIVE
        self.active = {}    # port id -> t_active
        self.late = []      # how late each boot started against its schedule (ms)
        self.put_ms = []    # PUT binding:host_id latency
        self.errors = []
        self.cycles = []    # poll cycle durations (ms)
        self.conv = []      # (t, waiting ports, {host: times waited for})
        self.done = threading.Event()

    def boot(self, t0):
        s = Http(self.url)
        while True:
            with self.lock:
                i = self.next
                self.next += 1
            at = t0 + i / RATE
            if i >= PORTS or time.monotonic() > at + SETTLE_S:  # bounded: a stalled server ends the storm
                return
            if (d := at - time.monotonic()) > 0:
                time.sleep(d)
            self.late.append(max(0.0, time.monotonic() - at) * 1000)
            host = self.hosts[i % len(self.hosts)]
            try:
                pid = s.call("POST", "/ports", {"port": {"network_id": self.net_id, "device_id": f"vm-{i:04d}",
                                                         "device_owner": "compute:nova", "name": f"boot-{i}"}})["port"]["id"]
                t_bind = time.monotonic()
                s.call("PUT", f"/ports/{pid}", {"port": {"binding:host_id": host}})
                self.put_ms.append((time.monotonic() - t_bind) * 1000)
                with self.lock:
                    self.bound[pid] = (t_bind, host, i)
                    self.pending[pid] = t_bind
                self.pluggers[host].plug(pid)
            except Exception as e:  # noqa: BLE001 - counted and reported, the storm goes on
                self.errors.append(f"port {i}: {e}")

    def poll(self, deadline):
        s = Http(self.url)
        interval = POLL_MS / 1000
        while time.monotonic() < deadline and not (self.done.is_set() and not self.pending):
            start = time.monotonic()
            with self.lock:
                ids = list(self.pending)
            for k in range(0, len(ids), CHUNK):
                q = "&".join(f"id={p}" for p in ids[k:k + CHUNK])
                try:
                    ports = s.get(f"/ports?{q}&fields=id&fields=status")["ports"]
                    now = time.monotonic()
                except Exception as e:  # noqa: BLE001
                    self.errors.append(f"poll: {e}")
                    continue
                with self.lock:
                    for p in ports:
                        if p["status"] == "ACTIVE" and p["id"] in self.pending:
                            del self.pending[p["id"]]
                            self.active[p["id"]] = now
            end = time.monotonic()
            if ids:
                self.cycles.append((end - start) * 1000)
            time.sleep(max(0.0, interval - (end - start)))

    def watch_convergence(self, deadline):
        s = Http(self.url.rsplit("/v2.0", 1)[0] + "/")
        while time.monotonic() < deadline and not (self.done.is_set() and not self.pending):
            try:
                c = s.get("agent/v1/convergence")
                behind = collections.Counter(h for w in c.get("waiting_ports", []) for h in w["waiting_for"])
                self.conv.append((time.monotonic(), len(c.get("waiting_ports", [])), dict(behind)))
            except Exception as e:  # noqa: BLE001
                self.errors.append(f"convergence: {e}")
            time.sleep(0.2)


def agent_metrics(ns):
    """Pass count and total pass seconds of the agent in `ns` (its /metrics, inside the namespace)."""
    out = subprocess.run(["ip", "netns", "exec", ns, "curl", "-s", "--max-time", "5", "http://127.0.0.1:9180/metrics"],
                         capture_output=True, text=True, timeout=10).stdout
    got = {}
    for line in out.splitlines():
        for key in ("neutrino_agent_pass_seconds_count", "neutrino_agent_pass_seconds_sum", "neutrino_agent_operations_total"):
            if line.startswith(key + " ") or line.startswith(key + "{"):
                got[key] = got.get(key, 0.0) + float(line.rsplit(" ", 1)[1])
    return got


def cpu_seconds(pid):
    """User + system CPU seconds of a process (all its threads) so far."""
    try:
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def machine_busy_seconds():
    """CPU seconds the whole machine spent busy so far (all CPUs: /proc/stat)."""
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return (sum(f[:8]) - f[3] - f[4]) / os.sysconf("SC_CLK_TCK")


def processes(state):
    """name -> pid of the sandbox's server and agents."""
    st = json.load(open(state + "/sandbox.json"))
    out = {"server": st["servers"][0]["pid"] if st.get("servers") else st["server_pid"]}
    for h in st["hosts"]:
        out["agent " + h["name"]] = h["agent_pid"]
    return out


def run(state):
    sandbox = [NEUTRINO, "sandbox", "--prefix", PREFIX, "--state-dir", state]
    hosts = [f"cmp{i}" for i in range(1, COMPUTES + 1)]
    monitors, pluggers = [], {}
    try:
        subprocess.run(sandbox + ["up", "--port", "0", "--computes", str(COMPUTES), "--gateways", "0"], check=True,
                       timeout=180, stdout=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{json.load(open(state + '/sandbox.json'))['port']}/v2.0"
        s = Http(url)
        s.call("PUT", "/quotas/fake_project_id", {"quota": {"port": -1}})
        net = s.call("POST", "/networks", {"network": {"name": "boot"}})["network"]
        s.call("POST", "/subnets", {"subnet": {"network_id": net["id"], "ip_version": 4, "cidr": "10.62.0.0/16",
                                               "enable_dhcp": True}})
        bridge_seen = {}
        for h in hosts:
            pluggers[h] = Plugger(PREFIX + h, f"{state}/plug-{h}.err")
            mon = subprocess.Popen(["ip", "-n", PREFIX + h, "monitor", "link"], stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, text=True)
            monitors.append(mon)
            threading.Thread(target=follow_bridge, args=(mon, bridge_seen), daemon=True).start()
        # The network already spans every compute: one VM on each, plugged and ACTIVE.
        anchors = []
        for h in hosts:
            p = s.call("POST", "/ports", {"port": {"network_id": net["id"], "device_owner": "compute:nova",
                                                   "device_id": "anchor-" + h, "binding:host_id": h}})["port"]
            pluggers[h].plug(p["id"])
            anchors.append(p["id"])
        until = time.monotonic() + 30
        while time.monotonic() < until:
            if all(s.get(f"/ports/{a}?fields=status")["port"]["status"] == "ACTIVE" for a in anchors):
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("the anchor ports did not go ACTIVE within 30 s")
        time.sleep(2.0)  # quiet: every agent's pass and report of the anchors done
        before = {h: agent_metrics(PREFIX + h) for h in hosts}
        procs = processes(state)
        perf = None
        if os.environ.get("BOOT_STORM_PERF"):  # a profile of one agent (or the server) during the storm
            target = os.environ.get("BOOT_STORM_PERF_TARGET", "agent cmp1")
            who = ["-a"] if target == "all" else ["-p", str(procs[target])]
            perf = subprocess.Popen(["perf", "record", "--call-graph", os.environ.get("BOOT_STORM_PERF_CG", "fp"), "-F", os.environ.get("BOOT_STORM_PERF_FREQ", "999"), "-o", os.environ["BOOT_STORM_PERF"]] + who,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cpu_before = {n: cpu_seconds(p) for n, p in procs.items()}
        own_before = os.times()
        busy_before = machine_busy_seconds()
        uptime_before = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()

        storm = Storm(url, net["id"], hosts, pluggers)
        t0 = time.monotonic() + 0.2
        deadline = t0 + PORTS / RATE + SETTLE_S
        clients = [threading.Thread(target=storm.boot, args=(t0,)) for _ in range(CLIENTS)]
        poller = threading.Thread(target=storm.poll, args=(deadline,))
        conv = threading.Thread(target=storm.watch_convergence, args=(deadline,))
        for t in clients + [poller, conv]:
            t.start()
        for t in clients:
            t.join()
        t_last_bind = max((b[0] for b in storm.bound.values()), default=t0)
        storm.done.set()
        poller.join()
        conv.join()
        uptime_after = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
        storm_s = time.monotonic() - t0
        cpu = {n: round(cpu_seconds(p) - cpu_before[n], 2) for n, p in procs.items()}
        own = os.times()
        cpu["client"] = round(own.user + own.system - own_before.user - own_before.system, 2)
        cpu["machine"] = round(machine_busy_seconds() - busy_before, 2)  # the rest: kernel threads, ip, others
        if perf:
            perf.send_signal(2)
            perf.wait(60)
        after = {h: agent_metrics(PREFIX + h) for h in hosts}

        first_bind = min((b[0] for b in storm.bound.values()), default=t0)
        bind_active, bind_bridge, bridge_active, by_host = [], [], [], collections.defaultdict(list)
        worst = []
        for pid, (t_bind, host, i) in storm.bound.items():
            if pid not in storm.active:
                continue
            ms = (storm.active[pid] - t_bind) * 1000
            bind_active.append(ms)
            by_host[host].append(ms)
            tb = bridge_seen.get("tap" + pid[:11])
            if tb is not None:
                bind_bridge.append((tb - t_bind) * 1000)
                bridge_active.append((storm.active[pid] - tb) * 1000)
            worst.append((ms, i, host, pid, None if tb is None else (tb - t_bind) * 1000))
        worst.sort(reverse=True)
        passes = {}
        for h in hosts:
            n = after[h].get("neutrino_agent_pass_seconds_count", 0) - before[h].get("neutrino_agent_pass_seconds_count", 0)
            sec = after[h].get("neutrino_agent_pass_seconds_sum", 0) - before[h].get("neutrino_agent_pass_seconds_sum", 0)
            ops = after[h].get("neutrino_agent_operations_total", 0) - before[h].get("neutrino_agent_operations_total", 0)
            passes[h] = {"passes": int(n), "mean_ms": round(sec / n * 1000, 1) if n else None, "busy_s": round(sec, 2),
                         "ops": int(ops)}
        waits = [w for _, w, _ in storm.conv]
        result = {
            "ports": PORTS, "bound": len(storm.bound), "active": len(storm.active),
            "lost": len(storm.bound) - len(storm.active), "errors": storm.errors[:10], "computes": COMPUTES,
            "rate_target": RATE,
            "rate_achieved": round((len(storm.bound) - 1) / (t_last_bind - first_bind), 1) if len(storm.bound) > 1 else None,
            "start_late_ms": summary(storm.late), "put_ms": summary(storm.put_ms),
            "bind_active_ms": summary(bind_active), "bind_bridge_ms": summary(bind_bridge),
            "bridge_active_ms": summary(bridge_active),
            "per_host_p99_ms": {h: round(pct(v, 0.99), 1) for h, v in sorted(by_host.items())},
            "poll_cycle_ms": {"mean": round(statistics.mean(storm.cycles), 2) if storm.cycles else None,
                              "p99": round(pct(storm.cycles, 0.99), 2), "interval": POLL_MS},
            "waiting_ports_max": max(waits, default=0), "waiting_ports_mean": round(statistics.mean(waits), 1) if waits else 0,
            "waited_for": dict(sum((collections.Counter(b) for _, _, b in storm.conv), collections.Counter())),
            "agent_passes": passes, "cpu_s": cpu, "storm_s": round(storm_s, 1),
            "worst": [{"ms": round(ms, 1), "index": i, "host": h, "port": p, "bind_bridge_ms": None if b is None else round(b, 1)}
                      for ms, i, h, p, b in worst[:8]],
            "uptime_before": uptime_before, "uptime_after": uptime_after,
            # by boot order: p50 / p99 of bind -> ACTIVE for each fifth of the storm (state grows as it goes)
            "by_fifth_ms": [[round(pct(v, 0.5), 1), round(pct(v, 0.99), 1)] for v in
                            ([ms for ms, i, *_ in worst if k * PORTS // 5 <= i < (k + 1) * PORTS // 5] for k in range(5))],
        }
        return result
    finally:
        for m in monitors:
            m.terminate()
            try:
                m.wait(5)
            except subprocess.TimeoutExpired:
                m.kill()
        for p in pluggers.values():
            p.close()
        subprocess.run(sandbox + ["down"], capture_output=True, timeout=120)


def report(r):
    def line(name, x):
        return (f"{name:<24} p50 {x['p50']:7.1f}  p90 {x['p90']:7.1f}  p99 {x['p99']:7.1f}  max {x['max']:7.1f} ms"
                f"  ({x['n']} ports)")
    print(f"boot storm: {r['bound']}/{r['ports']} ports bound over {r['computes']} computes at {r['rate_achieved']}/s "
          f"(target {r['rate_target']}/s), {r['active']} ACTIVE, {r['lost']} not ACTIVE, {len(r['errors'])} errors")
    print(line("bind -> ACTIVE", r["bind_active_ms"]))
    print(line("bind -> tap in bridge", r["bind_bridge_ms"]))
    print(line("tap in bridge -> ACTIVE", r["bridge_active_ms"]))
    print(line("PUT binding:host_id", r["put_ms"]))
    print(f"per host p99: {r['per_host_p99_ms']}; boot start late p99 {r['start_late_ms']['p99']:.1f} ms")
    print(f"ACTIVE poll cycle (resolution): mean {r['poll_cycle_ms']['mean']} ms, p99 {r['poll_cycle_ms']['p99']} ms "
          f"(interval {r['poll_cycle_ms']['interval']} ms)")
    print(f"waiting ports (convergence, every 200 ms): max {r['waiting_ports_max']}, mean {r['waiting_ports_mean']}; "
          f"hosts waited for: {r['waited_for']}")
    print(f"agent passes during the storm: {r['agent_passes']}")
    print(f"CPU seconds over the storm's {r['storm_s']} s (2 cores: {2 * r['storm_s']:.1f} s): {r['cpu_s']}")
    print("bind -> ACTIVE p50/p99 by fifth of the storm:", r["by_fifth_ms"])
    print("slowest:", "; ".join(f"#{w['index']} {w['host']} {w['ms']} ms (bridge {w['bind_bridge_ms']})" for w in r["worst"]))
    print(f"uptime before: {r['uptime_before']}\nuptime after:  {r['uptime_after']}")
    for e in r["errors"]:
        print("error:", e)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true", help="also print the result as one JSON line")
    ap.add_argument("--keep-logs", metavar="DIR", help="copy the sandbox's logs (server, agents) to DIR")
    args = ap.parse_args()
    state = tempfile.mkdtemp(prefix=PREFIX)
    try:
        subprocess.run([NEUTRINO, "sandbox", "--prefix", PREFIX, "--state-dir", state, "down"], capture_output=True,
                       timeout=120)
        r = run(state)
        report(r)
        if args.json:
            print(json.dumps(r))
        return 0 if r["lost"] == 0 and not r["errors"] else 1
    finally:
        if args.keep_logs:
            os.makedirs(args.keep_logs, exist_ok=True)
            for f in Path(state).glob("*.log"):
                shutil.copy(f, args.keep_logs)
        shutil.rmtree(state, ignore_errors=True)
        left = [n for n in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
                if n.startswith(PREFIX)]
        if left:
            print("boot_storm: namespaces left behind:", left, file=sys.stderr)


if __name__ == "__main__":
    if os.geteuid() != 0:
        sys.exit("boot_storm: needs root (a sandbox of its own)")
    sys.exit(main())
