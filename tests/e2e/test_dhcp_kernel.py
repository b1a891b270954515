"""kernel::DhcpSocket on the real kernel: a test responder (neutrino-dhcp-responder, built on
DhcpSocket and nt_dhcp as the agent will be) serves one port on the host end of a veth;
busybox udhcpc in the "VM" namespace gets the port's IP, router and MTU from it, and
arping finds the DHCP server's IP at the server's MAC (answered by the responder: the host
end has no address, so the kernel cannot). Needs root; the namespaces are
nt-dhcpk-{vm,host}-<rand> with the veth made inside them, removed at the end, also on
failure. Only processes started here are stopped, by PID."""
import os
import secrets
import subprocess
from pathlib import Path

import pytest

from nt_e2e import read_until, sh

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create network namespaces (nt-dhcpk-*)")

ROOT = Path(__file__).resolve().parents[2]
RESPONDER = Path(os.environ.get("NEUTRINO_BUILD_DIR", ROOT / "build")) / "bin" / "neutrino-dhcp-responder"
RAND = secrets.token_hex(3)
VM_NS, HOST_NS = f"nt-dhcpk-vm-{RAND}", f"nt-dhcpk-host-{RAND}"
TAP = "tapdhcpk0"
PORT_MAC, PORT_IP, ROUTER, MTU = "fa:16:3e:00:d1:01", "10.77.0.10", "10.77.0.1", 1450
SERVER_MAC, SERVER_IP = "fa:16:3e:00:d1:fe", "10.77.0.2"
# udhcpc's script: records what it was given, and on a lease configures eth0 as a VM would.
SCRIPT = """#!/bin/sh
env | grep -E '^(ip|subnet|router|mtu|serverid|hostname|lease)=' | sort > "{out}.$1"
if [ "$1" = bound ]; then
  ip addr add "$ip/$subnet" dev "$interface" && ip link set "$interface" mtu "$mtu"
fi
"""


@pytest.fixture
def link():
    try:
        for n in (VM_NS, HOST_NS):
            sh("ip", "netns", "add", n)
        sh("ip", "-n", HOST_NS, "link", "add", TAP, "type", "veth", "peer", "name", "eth0", "netns", VM_NS)
        sh("ip", "-n", HOST_NS, "link", "set", TAP, "mtu", str(MTU), "up")
        sh("ip", "-n", VM_NS, "link", "set", "lo", "up")
        yield
    finally:
        for n in (VM_NS, HOST_NS):
            sh("ip", "netns", "del", n, check=False)


@pytest.fixture
def responder(link):
    assert RESPONDER.exists(), f"build first: cmake --build build --target neutrino-dhcp-responder ({RESPONDER})"
    p = subprocess.Popen([str(RESPONDER), "--netns", HOST_NS, "--dev", TAP, "--mac", PORT_MAC, "--ip", PORT_IP + "/24",
                          "--gateway", ROUTER, "--mtu", str(MTU), "--server-ip", SERVER_IP, "--server-mac", SERVER_MAC,
                          "--seconds", "60"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        read_until(p.stdout, "ready", "the responder did not start")
        yield p
    finally:
        if p.poll() is None:
            p.terminate()  # this PID only
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)


def responder_log(p):
    p.terminate()
    out, _ = p.communicate(timeout=5)
    return out


def udhcpc(tmp_path, mac):
    script = tmp_path / "udhcpc.sh"
    script.write_text(SCRIPT.format(out=tmp_path / "lease"))
    script.chmod(0o755)
    sh("ip", "-n", VM_NS, "link", "set", "eth0", "address", mac, "up")
    return subprocess.run(["ip", "netns", "exec", VM_NS, "busybox", "udhcpc", "-i", "eth0", "-f", "-n", "-q",
                           "-t", "3", "-T", "1", "-A", "1", "-s", str(script)],
                          capture_output=True, text=True, timeout=20)


def test_udhcpc_gets_the_ports_ip_router_and_mtu_and_arp_finds_the_server(responder, tmp_path):
    r = udhcpc(tmp_path, PORT_MAC)
    assert r.returncode == 0, r.stdout + r.stderr + responder_log(responder)
    lease = dict(line.split("=", 1) for line in (tmp_path / "lease.bound").read_text().split())
    assert lease["ip"] == PORT_IP
    assert lease["subnet"] == "255.255.255.0"
    assert lease["router"] == ROUTER
    assert lease["mtu"] == str(MTU)
    assert lease["serverid"] == SERVER_IP
    addrs = sh("ip", "-n", VM_NS, "-o", "addr", "show", "dev", "eth0").stdout
    assert f"inet {PORT_IP}/24" in addrs and f"mtu {MTU}" in sh("ip", "-n", VM_NS, "link", "show", "eth0").stdout

    arp = sh("ip", "netns", "exec", VM_NS, "arping", "-c", "1", "-w", "3", "-I", "eth0", SERVER_IP, check=False)
    assert arp.returncode == 0, arp.stdout + arp.stderr
    assert SERVER_MAC in arp.stdout.lower(), arp.stdout
    # Nothing else could have answered: the host end has no address.
    assert "inet " not in sh("ip", "-n", HOST_NS, "-o", "-4", "addr", "show", "dev", TAP).stdout

    log = responder_log(responder)
    assert "dhcp DHCPDISCOVER -> offer" in log and "dhcp DHCPREQUEST -> ack" in log, log
    assert f"arp reply {SERVER_IP}" in log, log
    # The kernel filter let only DHCP and ARP requests through (the VM's IPv6 neighbour
    # discovery and our own replies never reached the responder).
    assert "dropped" not in log, log


def test_another_mac_gets_no_lease(responder, tmp_path):
    r = udhcpc(tmp_path, "fa:16:3e:00:d1:99")
    assert r.returncode != 0, r.stdout + r.stderr
    assert not (tmp_path / "lease.bound").exists()
    log = responder_log(responder)
    assert "dhcp DHCPDISCOVER -> ignored" in log and "offer" not in log, log
