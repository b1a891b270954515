"""DHCP and metadata served by every host's agent (issue 13), on the real kernel in a sandbox
of its own per test, driven by the real openstack CLI and checked from inside the VMs as a
user would: busybox udhcpc's lease and `ip route`, curl to 169.254.169.254, tcpdump on the
underlay. Needs root."""
import hashlib
import hmac
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nt_e2e import sh, start_capture, wait_for
from nt_sandbox import start_sandbox, stop_sandbox

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create network namespaces (nt-s*)")

META = "http://169.254.169.254/openstack/latest/meta_data.json"


@pytest.fixture
def sandbox(tmp_path):
    s = start_sandbox(tmp_path)
    try:
        yield s
    finally:
        stop_sandbox(s)


def vm_dir(sb, vm):
    return sb.tmp / "sandbox" / "vms" / vm


def lease(sb, vm, event="bound"):
    """udhcpc's variables of the VM's last `event` (bound or renew)."""
    f = vm_dir(sb, vm) / f"lease.{event}"
    return dict(l.split("=", 1) for l in f.read_text().splitlines() if "=" in l) if f.exists() else {}


def vm_record(sb, vm):
    return next(v for v in sb.state()["vms"] if v["name"] == vm)


def renew(sb, vm, event="renew"):
    """Makes the VM's udhcpc renew now (SIGUSR1, as busybox documents) and waits for the event."""
    f = vm_dir(sb, vm) / f"lease.{event}"
    before = f.stat().st_mtime_ns if f.exists() else 0
    os.kill(vm_record(sb, vm)["dhcp_pid"], signal.SIGUSR1)  # the sandbox's own child
    wait_for(lambda: f.exists() and f.stat().st_mtime_ns != before, 10, f"{vm} {event}")
    return lease(sb, vm, event)


def in_vm(sb, vm, *argv, timeout=15):
    return subprocess.run(["ip", "netns", "exec", sb.ns("vm-" + vm), *argv], capture_output=True, text=True, timeout=timeout)


def curl(sb, vm, url=META, *extra):
    r = in_vm(sb, vm, "curl", "-s", "-m", "3", "-w", "\n%{http_code}", *extra, url)
    body, _, code = r.stdout.rpartition("\n")
    return code, body


def device_id(sb, vm):
    return sb.osc_json("port", "show", vm_record(sb, vm)["port_id"])["device_id"]


def routes(sb, vm):
    return in_vm(sb, vm, "ip", "-4", "route").stdout


def test_routed_vm_gets_ip_router_mtu_dns_routes_options_and_its_metadata(sandbox):
    sb = sandbox
    sb.osc("network", "create", "--provider-network-type", "vxlan", "net1")
    sb.osc("subnet", "create", "--network", "net1", "--subnet-range", "10.21.0.0/24", "--dns-nameserver", "192.0.2.53",
           "--host-route", "destination=198.51.100.0/24,gateway=10.21.0.9", "sub1")
    sb.osc("router", "create", "--distributed", "r1")
    sb.osc("router", "add", "subnet", "r1", "sub1")
    out = sb.run("vm", "create", "vm1", "--host", "cmp1", "--network", "net1").stdout
    port = sb.osc_json("port", "show", vm_record(sb, "vm1")["port_id"])
    ip = port["fixed_ips"][0]["ip_address"]
    got = lease(sb, "vm1")
    assert got["ip"] == ip and got["router"] == "10.21.0.1" and got["mtu"] == "1450"
    assert got["dns"] == "192.0.2.53" and got["hostname"] == "host-" + ip.replace(".", "-")
    dhcp_port = sb.osc_json("port", "list", "--network", "net1", "--device-owner", "network:dhcp")
    assert len(dhcp_port) == 1 and got["serverid"] == dhcp_port[0]["Fixed IP Addresses"][0]["ip_address"]
    r = routes(sb, "vm1")
    assert "default via 10.21.0.1" in r and "198.51.100.0/24 via 10.21.0.9" in r, r
    assert in_vm(sb, "vm1", "cat", "/sys/class/net/eth0/mtu").stdout.strip() == "1450"
    # Routed: metadata goes through the qrouter (the route from DHCP points at the gateway).
    assert "169.254.169.254 via 10.21.0.1" in r
    code, body = curl(sb, "vm1")
    assert code == "200", body
    assert json.loads(body)["uuid"] == port["device_id"]
    assert f"metadata uuid {port['device_id']}" in out
    # extra_dhcp_opts reach the VM at its next renew.
    sb.osc("port", "set", "--extra-dhcp-option", "name=tftp-server,value=192.0.2.7",
           "--extra-dhcp-option", "name=bootfile-name,value=pxelinux.0", port["id"])
    sb.run("wait")
    renewed = renew(sb, "vm1")
    assert renewed.get("tftp") == "192.0.2.7" and renewed.get("boot_file") == "pxelinux.0", renewed


def test_isolated_vm_without_gateway_gets_the_metadata_route_keys_and_user_data(sandbox):
    sb = sandbox
    sb.osc("network", "create", "iso")
    sb.osc("subnet", "create", "--network", "iso", "--subnet-range", "10.22.0.0/24", "--gateway", "none", "isosub")
    key = sb.tmp / "id.pub"
    key.write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZha2VrZXlmb3J0ZXN0aW5nb25seQ alice@example\n")
    user_data = sb.tmp / "user-data"
    user_data.write_text("#cloud-config\nhostname: iso1\n")
    sb.run("vm", "create", "iso1", "--host", "cmp2", "--network", "iso", "--key", str(key), "--user-data", str(user_data))
    server = lease(sb, "iso1")["serverid"]
    assert "router" not in lease(sb, "iso1")
    r = routes(sb, "iso1")
    assert f"169.254.169.254 via {server}" in r and "default" not in r, r
    code, body = curl(sb, "iso1")
    assert code == "200", body
    meta = json.loads(body)
    assert meta["uuid"] == device_id(sb, "iso1")
    assert list(meta["public_keys"].values()) == [key.read_text().strip()]
    assert curl(sb, "iso1", "http://169.254.169.254/openstack/latest/user_data")[1] == user_data.read_text()
    code, body = curl(sb, "iso1", "http://169.254.169.254/latest/meta-data/local-ipv4")
    assert (code, body) == ("200", lease(sb, "iso1")["ip"])


def test_host_routes_and_fixed_ip_changes_reach_the_vm_at_renew_and_no_dhcp_means_no_lease(sandbox):
    sb = sandbox
    sb.osc("network", "create", "net1")
    sb.osc("subnet", "create", "--network", "net1", "--subnet-range", "10.23.0.0/24", "sub1")
    sb.run("vm", "create", "vm1", "--host", "cmp1", "--network", "net1")
    assert "203.0.113.0/24" not in routes(sb, "vm1")
    sb.osc("subnet", "set", "--host-route", "destination=203.0.113.0/24,gateway=10.23.0.254", "sub1")
    sb.run("wait")
    renew(sb, "vm1")
    assert "203.0.113.0/24 via 10.23.0.254" in routes(sb, "vm1")
    # A new fixed IP: the renew is refused (NAK) and the VM takes the new address.
    port = vm_record(sb, "vm1")["port_id"]
    sb.osc("port", "set", "--no-fixed-ip", "--fixed-ip", "subnet=sub1,ip-address=10.23.0.77", port)
    sb.run("wait")
    os.kill(vm_record(sb, "vm1")["dhcp_pid"], signal.SIGUSR1)
    wait_for(lambda: lease(sb, "vm1").get("ip") == "10.23.0.77", 15, "the new address by DHCP")
    wait_for(lambda: "10.23.0.77/24" in in_vm(sb, "vm1", "ip", "-4", "addr", "show", "eth0").stdout, 5, "eth0 renumbered")
    # enable_dhcp=false: no answer at all.
    sb.osc("subnet", "set", "--no-dhcp", "sub1")
    sb.run("wait")
    r = in_vm(sb, "vm1", "busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "2", "-T", "1", "-s", "/bin/true")
    assert r.returncode != 0, r.stdout + r.stderr


def plug_vm(sb, host, name, port):
    """A VM as os-vif plugs one: a namespace whose eth0 is the peer of the port's tap."""
    ns, tap = sb.ns("vm-" + name), "tap" + port["id"][:11]
    sh("ip", "netns", "add", ns)
    sh("ip", "-n", sb.ns(host), "link", "add", tap, "type", "veth", "peer", "name", "eth0", "netns", ns)
    sh("ip", "-n", ns, "link", "set", "eth0", "address", port["mac_address"], "up")
    sh("ip", "-n", sb.ns(host), "link", "set", tap, "up")
    return ns


def test_fifty_vms_on_two_hosts_get_leases_at_once_and_no_dhcp_crosses_the_underlay(sandbox):
    sb = sandbox
    net = sb.osc_json("network", "create", "--provider-network-type", "vxlan", "big")["id"]
    sb.osc("subnet", "create", "--network", "big", "--subnet-range", "10.24.0.0/24", "bigsub")
    api = f"http://127.0.0.1:{sb.state()['port']}/v2.0/ports"
    body = {"ports": [{"network_id": net, "name": f"b{i}", "device_owner": "compute:nova", "device_id": f"vm-b{i}",
                       "binding:host_id": "cmp1" if i % 2 else "cmp2"} for i in range(50)]}
    out = subprocess.run(["curl", "-s", "-f", "-X", "POST", "-H", "Content-Type: application/json", "-d", json.dumps(body), api],
                         capture_output=True, text=True, timeout=30)
    ports = json.loads(out.stdout)["ports"]
    vms = [(plug_vm(sb, p["binding:host_id"], p["name"], p), p) for p in ports]
    sb.run("wait")

    def all_active():
        got = json.loads(subprocess.run(["curl", "-s", "-f", api + "?device_owner=compute:nova&fields=status"],
                                        capture_output=True, text=True, timeout=10).stdout)["ports"]
        return len(got) == 50 and all(p["status"] == "ACTIVE" for p in got)

    wait_for(all_active, 20, "the 50 ports ACTIVE (taps plugged)")
    caps = [start_capture(["ip", "netns", "exec", sb.ns(h), "timeout", "12", "tcpdump", "-i", "eth0", "-n", "-l", "-v",
                           "udp port 4789"]) for h in ("cmp1", "cmp2")]
    started = time.monotonic()
    clients = [subprocess.Popen(["ip", "netns", "exec", ns, "busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "3",
                                 "-T", "1", "-s", "/bin/true"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for ns, _ in vms]
    results = [c.communicate(timeout=20) for c in clients]
    took = time.monotonic() - started
    leases = [re.search(r"lease of (\S+) obtained", out) for out, _ in results]
    assert all(leases), [out for out, _ in results if "obtained" not in out][:3]
    assert sorted(m.group(1) for m in leases) == sorted(p["fixed_ips"][0]["ip_address"] for _, p in vms)
    print(f"50 leases in {took:.2f} s")
    assert took < 2.0, f"50 leases took {took:.2f} s"
    tunnelled = []
    for cap in caps:
        cap.terminate()
        out, _ = cap.communicate(timeout=10)
        tunnelled += [l for l in out.splitlines() if "BOOTP" in l or "DHCP" in l or ".67 >" in l or ".68 >" in l]
    assert not tunnelled, tunnelled[:5]


def test_a_vm_with_another_vms_address_never_gets_its_metadata(sandbox):
    sb = sandbox
    sb.osc("network", "create", "net1")
    sb.osc("subnet", "create", "--network", "net1", "--subnet-range", "10.25.0.0/24", "--gateway", "none", "sub1")
    sb.run("vm", "create", "victim", "--host", "cmp1", "--network", "net1")
    sb.run("vm", "create", "thief", "--host", "cmp1", "--network", "net1")
    sb.run("vm", "create", "far", "--host", "cmp2", "--network", "net1")
    victim_ip, victim_id = lease(sb, "victim")["ip"], device_id(sb, "victim")
    for thief in ("thief", "far"):
        in_vm(sb, thief, "ip", "addr", "add", victim_ip + "/32", "dev", "eth0")
        code, body = curl(sb, thief, META, "--interface", victim_ip)
        assert victim_id not in body, f"{thief} got the victim's metadata"
        # Its own still answers.
        code, body = curl(sb, thief)
        assert code == "200" and json.loads(body)["uuid"] == device_id(sb, thief)
    assert json.loads(curl(sb, "victim")[1])["uuid"] == victim_id


def test_routed_vms_cannot_spoof_nor_reach_the_routers_proxy_port_directly(sandbox):
    sb = sandbox
    sb.osc("network", "create", "net1")
    sb.osc("subnet", "create", "--network", "net1", "--subnet-range", "10.28.0.0/24", "sub1")
    sb.osc("router", "create", "--distributed", "r1")
    sb.osc("router", "add", "subnet", "r1", "sub1")
    sb.run("vm", "create", "victim", "--host", "cmp1", "--network", "net1")
    sb.run("vm", "create", "thief", "--host", "cmp1", "--network", "net1")
    victim_ip, victim_id = lease(sb, "victim")["ip"], device_id(sb, "victim")
    # The proxy port of the qrouter is only reachable through the redirect.
    code, body = curl(sb, "thief", "http://10.28.0.1:9697/openstack/latest/meta_data.json")
    assert code != "200" and victim_id not in body, (code, body)
    in_vm(sb, "thief", "ip", "addr", "add", victim_ip + "/32", "dev", "eth0")
    code, body = curl(sb, "thief", META, "--interface", victim_ip)
    assert victim_id not in body, "the thief got the victim's metadata through the router"
    code, body = curl(sb, "thief")
    assert code == "200" and json.loads(body)["uuid"] == device_id(sb, "thief")
    assert json.loads(curl(sb, "victim")[1])["uuid"] == victim_id


def test_agent_sigkill_and_restart_lease_renews_and_metadata_answers(sandbox):
    sb = sandbox
    sb.osc("network", "create", "net1")
    sb.osc("subnet", "create", "--network", "net1", "--subnet-range", "10.26.0.0/24", "--gateway", "none", "sub1")
    sb.run("vm", "create", "vm1", "--host", "cmp1", "--network", "net1")
    sb.run("host", "restart-agent", "--kill", "cmp1")
    started = time.monotonic()
    wait_for(lambda: curl(sb, "vm1")[0] == "200", 10, "metadata after the agent restart")
    took = time.monotonic() - started
    print(f"metadata answered {took:.2f} s after the restart")
    assert took < 1.0, f"metadata answered only {took:.2f} s after the agent started"
    assert renew(sb, "vm1")["ip"] == lease(sb, "vm1")["ip"]


BACKEND = r'''
import hashlib, hmac, http.server, json, sys
secret, port = sys.argv[1].encode(), int(sys.argv[2])
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        h = {k: self.headers.get(k, "") for k in ("X-Forwarded-For", "X-Instance-ID", "X-Tenant-ID", "X-Instance-ID-Signature")}
        good = hmac.compare_digest(hmac.new(secret, h["X-Instance-ID"].encode(), hashlib.sha256).hexdigest(),
                                   h["X-Instance-ID-Signature"])
        body = json.dumps({"headers": h, "uuid": h["X-Instance-ID"]}).encode() if good else b"Invalid proxy request signature."
        self.send_response(200 if good else 403)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
'''


def test_nova_style_backend_gets_neutrons_headers_and_a_wrong_secret_is_a_403(tmp_path):
    sb = start_sandbox(tmp_path, "--nova-metadata", "127.0.0.1:18775", "--metadata-secret", "s3cret")
    try:
        sb.osc("network", "create", "net1")
        sb.osc("subnet", "create", "--network", "net1", "--subnet-range", "10.27.0.0/24", "--gateway", "none", "sub1")
        script = tmp_path / "backend.py"
        script.write_text(BACKEND)

        def backend(secret):
            p = subprocess.Popen(["ip", "netns", "exec", sb.ns("cmp1"), sys.executable, str(script), secret, "18775"])
            sb.procs.append(p)
            wait_for(lambda: "18775" in sh("ip", "netns", "exec", sb.ns("cmp1"), "ss", "-ltn").stdout, 5, "the test backend")
            return p

        good = backend("s3cret")
        sb.run("vm", "create", "vm1", "--host", "cmp1", "--network", "net1")
        code, body = curl(sb, "vm1")
        assert code == "200", body
        h = json.loads(body)["headers"]
        port = sb.osc_json("port", "show", vm_record(sb, "vm1")["port_id"])
        assert h["X-Instance-ID"] == port["device_id"] and h["X-Tenant-ID"] == port["project_id"]
        assert h["X-Forwarded-For"] == lease(sb, "vm1")["ip"]
        assert h["X-Instance-ID-Signature"] == hmac.new(b"s3cret", port["device_id"].encode(), hashlib.sha256).hexdigest()
        good.terminate()
        good.wait(5)
        backend("another-secret")
        code, body = curl(sb, "vm1")
        assert code == "403", body
        log = (tmp_path / "sandbox" / "cmp1.log").read_text()
        assert "check metadata_proxy_shared_secret" in log
    finally:
        stop_sandbox(sb)
