#!/usr/bin/python3
"""Keystone benchmarks: what auth_strategy = keystone costs neutrino-server.

  flock /tmp/nt-build.lock /usr/bin/python3 bench/keystone.py [--runs 5] [--ports 5000] [--tokens 200]

(flock: the machine has 2 cores; the lock keeps this from running beside a build or a test
run that takes the same lock, which would disturb the timings.) Needs build/bin/neutrino-server
and build/bin/neutrino-load (`flock /tmp/nt-build.lock scripts/build neutrino-server
neutrino-load`) and Debian's keystone, uwsgi and PostgreSQL 15 (see tests/keystone).

Everything runs on 127.0.0.1 in one temporary directory, removed at the end: a private
Keystone on its own PostgreSQL (tests/keystone/nt_keystone.py, tokens valid 1 h) and two
neutrino-servers from the same binary, each on a fresh database file: one with the default
auth_strategy (noauth), one with auth_strategy = keystone against that Keystone
(token_cache_time = 300, keystonemiddleware's default). Every process is a child of this
script and is stopped by its PID.

1. Port create, cached token: `neutrino-load --scenario ports -n N -c 16` against the noauth
   server (no token: admin in fake_project_id) and against the Keystone one with one admin
   token (admin in project admin), alternately (the first of each pair alternates too),
   --runs times each. Port quotas are lifted for both projects. Medians and the ratio.
2. Token validation on a cache miss: --tokens distinct admin tokens are issued first; then,
   one client with a keep-alive session, for each token in turn: GET /v2.0/networks?limit=1
   on the noauth server (the baseline), the same GET on the Keystone server with the token's
   first use (a miss: the server asks Keystone) and its second use (a hit). p50/p99 of each.
   Then 4 concurrent clients with --tokens more fresh tokens, misses only. For scale, the
   same tokens validated directly with Keystone (GET /v3/auth/tokens from this process).
   And the steady cost of a hit: --steady GETs alternating between the noauth server and the
   Keystone one with one long-cached token.
3. A check that the cache is what serves benchmark 1: with Keystone stopped, 200 GETs with
   its token must all answer 200 (a validation would answer 503). Keystone is started again.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "keystone"))
sys.path.insert(0, str(ROOT / "tests" / "api"))
from neutrino_api import SERVER_BIN, Server  # noqa: E402
from nt_keystone import Keystone  # noqa: E402

LOAD_BIN = SERVER_BIN.parent / "neutrino-load"
CACHE_TIME = 300

CONFIG = """[DEFAULT]
auth_strategy = keystone
[keystone_authtoken]
www_authenticate_uri = {url}
auth_url = {auth_url}
auth_type = password
username = neutron
password = neutron-pw
project_name = service
user_domain_name = Default
project_domain_name = Default
token_cache_time = {cache}
"""

LOAD_LINE = re.compile(r"^(port \w+)\s+n=(\d+)\s+errors=(\d+)\s+([\d.]+) ops/s\s+p50\s+([\d.]+) ms"
                       r"\s+p95\s+([\d.]+) ms\s+p99\s+([\d.]+) ms")
QUOTA = {"quota": {"port": -1, "network": -1, "subnet": -1}}


def percentile(values, p):
    """Nearest rank, as neutrino-load's."""
    v = sorted(values)
    return v[min(len(v) - 1, int(p * (len(v) - 1) + 0.5))]


def log(msg):
    print(msg, flush=True)


def lift_quota(url, project, token=None):
    headers = {"X-Auth-Token": token} if token else {}
    r = requests.put(f"{url}/v2.0/quotas/{project}", json=QUOTA, headers=headers, timeout=30)
    if r.status_code != 200:
        raise SystemExit(f"quota for {project} at {url}: {r.status_code} {r.text}")


def load_run(url, n, token=None):
    """One neutrino-load ports run: {"port create": (ops/s, p50, p95, p99), ...}."""
    cmd = [str(LOAD_BIN), "--url", url, "--scenario", "ports", "-n", str(n), "-c", "16"]
    if token:
        cmd += ["--token", token]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL)
    out = {}
    for line in r.stdout.splitlines():
        m = LOAD_LINE.match(line)
        if m:
            if int(m.group(3)):
                raise SystemExit(f"neutrino-load reported errors:\n{r.stdout}\n{r.stderr}")
            out[m.group(1)] = tuple(float(m.group(i)) for i in (4, 5, 6, 7))
    if r.returncode != 0 or "port create" not in out:
        raise SystemExit(f"neutrino-load failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return out


def bench_ports(noauth, keystone_srv, token, runs, n):
    results = {"noauth": [], "keystone": []}
    for i in range(runs):
        order = [("noauth", noauth.url, None), ("keystone", keystone_srv.url, token)]
        if i % 2:
            order.reverse()
        for mode, url, tok in order:
            res = load_run(url, n, tok)
            results[mode].append(res)
            c = res["port create"]
            log(f"  run {i + 1} {mode:8} port create {c[0]:8.1f} ops/s  p50 {c[1]:.2f} ms  p99 {c[3]:.2f} ms"
                f"   show {res['port show'][0]:8.1f} ops/s   delete {res['port delete'][0]:8.1f} ops/s")
    return results


def timed_get(session, url, token=None):
    headers = {"X-Auth-Token": token} if token else {}
    t0 = time.perf_counter()
    r = session.get(url + "/v2.0/networks?limit=1", headers=headers, timeout=30)
    ms = (time.perf_counter() - t0) * 1000
    if r.status_code != 200:
        raise SystemExit(f"GET networks at {url}: {r.status_code} {r.text}")
    return ms


def issue_tokens(ks, count):
    with ThreadPoolExecutor(4) as pool:  # Keystone serves 4 threads
        tokens = list(pool.map(lambda _: ks.token("admin", "admin"), range(count)))
    if len(set(tokens)) != count:
        raise SystemExit("Keystone issued the same token twice")
    return tokens


def bench_validation(ks, noauth, keystone_srv, count, steady):
    log(f"  issuing {2 * count} admin tokens...")
    tokens, concurrent_tokens = issue_tokens(ks, count), issue_tokens(ks, count)
    base_s, ks_s = requests.Session(), requests.Session()
    for _ in range(20):  # warm both connections and code paths (with the bench-1 token: a hit)
        timed_get(base_s, noauth.url)
    warm = ks.admin_token()
    for _ in range(20):
        timed_get(ks_s, keystone_srv.url, warm)
    base, miss, hit = [], [], []
    for tok in tokens:
        base.append(timed_get(base_s, noauth.url))
        miss.append(timed_get(ks_s, keystone_srv.url, tok))
        hit.append(timed_get(ks_s, keystone_srv.url, tok))

    # 4 concurrent clients, each its own keep-alive session and a quarter of the tokens.
    conc_miss, lock = [], threading.Lock()

    def client(part):
        s, mine = requests.Session(), []
        timed_get(s, keystone_srv.url, warm)  # connect first (a hit)
        start.wait()
        for tok in part:
            mine.append(timed_get(s, keystone_srv.url, tok))
        with lock:
            conc_miss.extend(mine)

    start = threading.Barrier(4)
    threads = [threading.Thread(target=client, args=(concurrent_tokens[i::4],)) for i in range(4)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    conc_wall = time.perf_counter() - t0
    if len(conc_miss) != count:
        raise SystemExit("a concurrent client failed")

    # The steady cost of a hit: one cached token, alternating with the noauth baseline.
    steady_base, steady_hit = [], []
    for _ in range(steady):
        steady_base.append(timed_get(base_s, noauth.url))
        steady_hit.append(timed_get(ks_s, keystone_srv.url, warm))

    # For scale: Keystone's own answer to the same question (a new connection each time, as
    # uwsgi closes them), for tokens it has already validated once.
    direct = []
    for tok in tokens:
        t = time.perf_counter()
        r = ks.validate(tok)
        direct.append((time.perf_counter() - t) * 1000)
        if r.status_code != 200:
            raise SystemExit(f"validate: {r.status_code}")
    return {"noauth GET (baseline)": base, "keystone GET, miss": miss, "keystone GET, hit": hit,
            "keystone GET, miss, 4 clients": conc_miss,
            "Keystone GET /v3/auth/tokens direct": direct,
            f"steady: noauth GET, x{steady}": steady_base,
            f"steady: keystone GET, hit, x{steady}": steady_hit}, conc_wall


def check_cached(ks, keystone_srv, token, count=200):
    """With Keystone down, the cached token must still be admitted every time."""
    ks.stop_keystone()
    try:
        s = requests.Session()
        codes = [s.get(keystone_srv.url + "/v2.0/networks?limit=1", headers={"X-Auth-Token": token},
                       timeout=30).status_code for _ in range(count)]
        fresh = s.get(keystone_srv.url + "/v2.0/networks?limit=1",
                      headers={"X-Auth-Token": "gAAAAAnot-a-cached-token"}, timeout=30).status_code
    finally:
        ks.start_keystone()
    return codes.count(200), fresh


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=7, help="neutrino-load runs per mode (alternating)")
    ap.add_argument("--ports", type=int, default=5000, help="ports per neutrino-load run")
    ap.add_argument("--tokens", type=int, default=200, help="distinct tokens for the miss benchmark")
    ap.add_argument("--steady", type=int, default=1000, help="GETs of the steady hit comparison")
    args = ap.parse_args()
    for b in (SERVER_BIN, LOAD_BIN):
        if not b.exists():
            raise SystemExit(f"{b} is missing: flock /tmp/nt-build.lock scripts/build neutrino-server neutrino-load")

    t_start = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="nt-bench-keystone-"))
    servers = []
    try:
        log(f"== {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {os.cpu_count()} cores; "
            f"load average {os.getloadavg()[0]:.2f}; starting Keystone...")
        with Keystone(token_expiration=3600) as ks:  # its own directory, removed by close()
            log(f"  Keystone at {ks.url} in {ks.timings.get('total', 0):.0f} s")
            noauth = Server(tmp / "noauth", name="noauth")
            keystone_srv = Server(tmp / "ks", name="ks", config_text=CONFIG.format(
                url=ks.url, auth_url=ks.auth_url, cache=CACHE_TIME))
            for s in (noauth, keystone_srv):
                servers.append(s)
                s.start()
            admin = ks.admin_token()
            lift_quota(noauth.url, "fake_project_id")
            lift_quota(keystone_srv.url, ks.ids["project"]["admin"], admin)
            for s, tok in ((noauth, None), (keystone_srv, admin)):  # something for GET to list
                h = {"X-Auth-Token": tok} if tok else {}
                r = requests.post(s.url + "/v2.0/networks", json={"network": {"name": "bench"}},
                                  headers=h, timeout=30)
                assert r.status_code == 201, r.text
            log(f"  noauth server {noauth.url} (pid {noauth.proc.pid}), keystone server "
                f"{keystone_srv.url} (pid {keystone_srv.proc.pid})")

            log(f"\n1. port create, n={args.ports} c=16, {args.runs} runs each, alternating")
            ports = bench_ports(noauth, keystone_srv, admin, args.runs, args.ports)
            log(f"\n2. token validation, {args.tokens} tokens")
            lat, conc_wall = bench_validation(ks, noauth, keystone_srv, args.tokens, args.steady)
            log("\n3. cache check: Keystone stopped")
            admitted, unknown = check_cached(ks, keystone_srv, admin)
            log(f"  {admitted} of 200 GETs with the cached token answered 200; an unknown token: {unknown}")
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    med = {mode: {op: statistics.median(r[op][0] for r in runs) for op in runs[0]}
           for mode, runs in ports.items()}
    log(f"\n== summary ({time.monotonic() - t_start:.0f} s in all)")
    log(f"port scenario, n={args.ports}, c=16: medians of {args.runs} runs (ops/s)")
    log(f"  {'operation':14} {'noauth':>9} {'keystone':>9} {'ratio':>7}   runs noauth | keystone")
    for op in ("port create", "port show", "port delete"):
        a, b = med["noauth"][op], med["keystone"][op]
        runs = " / ".join(f"{r[op][0]:.0f}" for r in ports["noauth"]) + " | " + \
            " / ".join(f"{r[op][0]:.0f}" for r in ports["keystone"])
        log(f"  {op:14} {a:9.0f} {b:9.0f} {b / a:7.3f}   {runs}")
    for mode in ("noauth", "keystone"):
        p50 = statistics.median(r["port create"][1] for r in ports[mode])
        p99 = statistics.median(r["port create"][3] for r in ports[mode])
        log(f"  port create {mode:8}: median p50 {p50:.2f} ms, median p99 {p99:.2f} ms")
    ratio = med["keystone"]["port create"] / med["noauth"]["port create"]
    pairs = [k["port create"][0] / a["port create"][0] for a, k in zip(ports["noauth"], ports["keystone"])]
    log(f"  keystone/noauth port create: {ratio:.3f} of the medians (target >= 0.90: "
        f"{'met' if ratio >= 0.9 else 'NOT met'}); per pair of runs "
        f"{' / '.join(f'{x:.2f}' for x in pairs)}, median {statistics.median(pairs):.3f}")
    log(f"\nGET /v2.0/networks?limit=1, one keep-alive client, {args.tokens} tokens (ms)")
    log(f"  {'':38} {'p50':>7} {'p99':>7} {'mean':>7}")
    for name, v in lat.items():
        log(f"  {name:38} {percentile(v, .5):7.2f} {percentile(v, .99):7.2f} {statistics.mean(v):7.2f}")
    log(f"  4 concurrent clients: {args.tokens} misses in {conc_wall:.2f} s = {args.tokens / conc_wall:.0f} misses/s")
    miss_cost = percentile(lat["keystone GET, miss"], .5) - percentile(lat["keystone GET, hit"], .5)
    hit_cost = percentile(lat["keystone GET, hit"], .5) - percentile(lat["noauth GET (baseline)"], .5)
    steady_cost = percentile(lat[f"steady: keystone GET, hit, x{args.steady}"], .5) - \
        percentile(lat[f"steady: noauth GET, x{args.steady}"], .5)
    log(f"  at the median a miss adds {miss_cost:.2f} ms to its hit; a hit (second use, right after "
        f"its miss) adds {hit_cost:.3f} ms to noauth, a long-cached token {steady_cost:.3f} ms")
    log(f"  cache check: {admitted}/200 admitted with Keystone stopped (an unknown token: {unknown})")
    if admitted != 200 or unknown != 503:
        raise SystemExit("the cache check failed")


if __name__ == "__main__":
    main()
