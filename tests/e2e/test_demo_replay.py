"""Issue 9 item 10: the demo's distributed-router sequence replayed at full speed, 10 times
in a row, in a sandbox of its own; each step must succeed on the first try (no retries, no
sleeps): a router with a gateway, SNAT from a VM to the internet host, a floating IP reached
from the internet host. No ICMP redirect may reach the VM. Needs root.

NOTE: written while the build was blocked (see the commit message); not yet run. Until
the readiness work of item 10 (b) lands, it is expected to fail at the SNAT step the way
the demo did."""
import os
import subprocess

import pytest

from nt_sandbox import Sandbox

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create network namespaces (nt-s*)")

ROUNDS = 10


@pytest.fixture
def sandbox(tmp_path):
    s = Sandbox(tmp_path)
    try:
        s.run("up", "--port", "0", "--computes", "2", "--gateways", "1", "--agent-down-time", "3")
        yield s
    finally:
        s.run("down", check=False)
        assert not s.namespaces(), f"sandbox down left {s.namespaces()}"


def once(sb, vm, *cmd):
    """One attempt, bounded by ping's own count and deadline (and the CLI's timeout)."""
    r = sb.run("vm", "exec", vm, *cmd, check=False) if vm else sb.run("exec", "internet", *cmd, check=False)
    return r.returncode, r.stdout + r.stderr


def test_demo_router_sequence_works_at_the_first_try_ten_times(sandbox):
    sb = sandbox
    sb.osc("network", "create", "--provider-network-type", "vxlan", "--provider-segment", "123", "n1")
    sb.osc("subnet", "create", "--subnet-range", "172.16.100.0/24", "--network", "n1", "n1subnet")
    failures = []
    for i in range(ROUNDS):
        seg, net, sub, router, vm1, vm3 = str(200 + i), f"n2r{i}", f"n2r{i}sub", f"dvr-r{i}", f"vm1r{i}", f"vm3r{i}"
        # A VM of its own per round (as the demo's vm1, made before the router): no ARP
        # entry left for 172.16.100.1 from the previous round's router.
        sb.run("vm", "create", vm1, "--host", "cmp1", "--network", "n1")
        sb.osc("network", "create", "--provider-network-type", "vxlan", "--provider-segment", seg, net)
        sb.osc("subnet", "create", "--subnet-range", f"10.{20 + i}.10.0/24", "--network", net, sub)
        sb.osc("router", "create", "--distributed", router)
        sb.osc("router", "add", "subnet", router, "n1subnet")
        sb.osc("router", "add", "subnet", router, sub)
        sb.osc("router", "set", "--external-gateway", "public", router)
        sb.run("vm", "create", vm3, "--host", "cmp2", "--network", net)

        rc, out = once(sb, vm1, "ping", "-c", "3", "-i", "0.2", "-W", "1", sb.vm_ip(vm3))
        if rc != 0:
            failures.append((i, "east-west", out))
        rc, out = once(sb, vm1, "ping", "-c", "2", "-i", "0.2", "-W", "1", "203.0.113.1")
        if rc != 0 or "Redirect" in out:
            failures.append((i, "snat", out))
        port = next(v["port_id"] for v in sb.state()["vms"] if v["name"] == vm3)
        fip = sb.osc_json("floating", "ip", "create", "public", "--port", port)["floating_ip_address"]
        rc, out = once(sb, None, "ping", "-c", "3", "-i", "0.2", "-W", "1", fip)
        if rc != 0:
            failures.append((i, "floating ip", out))

        # Back to n1 alone, for the next round's router.
        sb.osc("floating", "ip", "delete", fip)
        sb.run("vm", "delete", vm3)
        sb.run("vm", "delete", vm1)
        sb.osc("router", "unset", "--external-gateway", router)
        sb.osc("router", "remove", "subnet", router, "n1subnet")
        sb.osc("router", "remove", "subnet", router, sub)
        sb.osc("router", "delete", router)
        sb.osc("network", "delete", net)
    assert not failures, "\n".join(f"round {i}: {step} failed at the first try:\n{out}" for i, step, out in failures)
