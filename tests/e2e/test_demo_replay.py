"""Issue 9 item 10: the demo's distributed-router sequence replayed at full speed, 10 times
in a row, in a sandbox of its own. Each step must succeed at its first try: the only waits
are readiness signals (a VM's port ACTIVE and every host reporting its view applied, which
`vm create` and `sandbox wait` wait for), never time. No ICMP redirect may reach the VM.
API calls go straight to the REST API (the CLI's start-up time would only slow the replay).
Needs root."""
import os

import pytest
import requests

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


class Api:
    def __init__(self, port):
        self.url = f"http://127.0.0.1:{port}/v2.0"
        self.session = requests.Session()

    def __call__(self, method, path, body=None, expect=(200, 201, 204)):
        r = self.session.request(method, self.url + path, json=body, timeout=30)
        assert r.status_code in expect, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None


def once(sb, vm, *cmd):
    """One attempt, bounded by ping's own count and deadline (and the CLI's timeout)."""
    r = sb.run("vm", "exec", vm, *cmd, check=False) if vm else sb.run("exec", "internet", *cmd, check=False)
    return r.returncode, r.stdout + r.stderr


def test_demo_router_sequence_works_at_the_first_try_ten_times(sandbox):
    sb = sandbox
    api = Api(sb.state()["port"])
    public = api("GET", "/networks?name=public")["networks"][0]["id"]
    # The floating IP step pings from the internet host: the default group must let ICMP in.
    group = api("GET", "/security-groups?name=default")["security_groups"][0]["id"]
    api("POST", "/security-group-rules", {"security_group_rule": {"security_group_id": group, "direction": "ingress",
                                                                  "ethertype": "IPv4", "protocol": "icmp"}})
    n1 = api("POST", "/networks", {"network": {"name": "n1", "provider:network_type": "vxlan",
                                               "provider:segmentation_id": 123}})["network"]["id"]
    n1sub = api("POST", "/subnets", {"subnet": {"network_id": n1, "cidr": "172.16.100.0/24", "ip_version": 4}})["subnet"]["id"]
    failures = []
    for i in range(ROUNDS):
        vm1, vm3 = f"vm1r{i}", f"vm3r{i}"
        # A VM of its own per round (as the demo's vm1, made before the router).
        sb.run("vm", "create", vm1, "--host", "cmp1", "--network", "n1")
        net = api("POST", "/networks", {"network": {"name": f"n2r{i}", "provider:network_type": "vxlan",
                                                    "provider:segmentation_id": 200 + i}})["network"]["id"]
        sub = api("POST", "/subnets", {"subnet": {"network_id": net, "cidr": f"10.{20 + i}.10.0/24",
                                                  "ip_version": 4}})["subnet"]["id"]
        router = api("POST", "/routers", {"router": {"name": f"dvr-r{i}", "distributed": True}})["router"]["id"]
        api("PUT", f"/routers/{router}/add_router_interface", {"subnet_id": n1sub})
        api("PUT", f"/routers/{router}/add_router_interface", {"subnet_id": sub})
        api("PUT", f"/routers/{router}", {"router": {"external_gateway_info": {"network_id": public}}})
        sb.run("vm", "create", vm3, "--host", "cmp2", "--network", f"n2r{i}")
        sb.run("wait")

        rc, out = once(sb, vm1, "ping", "-c", "3", "-i", "0.2", "-W", "1", sb.vm_ip(vm3))
        if rc != 0 or "Redirect" in out:
            failures.append((i, "east-west", out))
        rc, out = once(sb, vm1, "ping", "-c", "2", "-i", "0.2", "-W", "1", "203.0.113.1")
        if rc != 0 or "Redirect" in out:
            failures.append((i, "snat", out))
        port = next(v["port_id"] for v in sb.state()["vms"] if v["name"] == vm3)
        fip = api("POST", "/floatingips", {"floatingip": {"floating_network_id": public, "port_id": port}})["floatingip"]
        sb.run("wait")
        rc, out = once(sb, None, "ping", "-c", "3", "-i", "0.2", "-W", "1", fip["floating_ip_address"])
        if rc != 0:
            failures.append((i, "floating ip", out))

        # Back to n1 alone, for the next round's router.
        api("DELETE", f"/floatingips/{fip['id']}")
        sb.run("vm", "delete", vm3)
        sb.run("vm", "delete", vm1)
        api("PUT", f"/routers/{router}", {"router": {"external_gateway_info": {}}})
        api("PUT", f"/routers/{router}/remove_router_interface", {"subnet_id": n1sub})
        api("PUT", f"/routers/{router}/remove_router_interface", {"subnet_id": sub})
        api("DELETE", f"/routers/{router}")
        api("DELETE", f"/networks/{net}")
    assert not failures, "\n".join(f"round {i}: {step} failed at the first try:\n{out}" for i, step, out in failures)
