"""RBAC policies (rbac-policies, rbac-security-groups) through the real `openstack` CLI:
a network shared with one project becomes visible and usable to it and to no other; the
policy cannot go while that project has ports on the network; a security group shared
with a project can be put on that project's ports."""
import uuid

from neutrino_api import uniq


def create_policy(server, object_type, object_id, target):
    r = server.client()("POST", "/v2.0/rbac-policies", json={"rbac_policy": {
        "object_type": object_type, "object_id": object_id, "action": "access_as_shared", "target_tenant": target}})
    return r


def test_network_shared_with_one_project(osc, server):
    net = osc("network", "create", uniq("rbac"))
    osc("subnet", "create", "--network", net["id"], "--subnet-range", "10.91.0.0/24", uniq("rbac"))
    b_project, c_project = "projb" + uuid.uuid4().hex[:10], "projc" + uuid.uuid4().hex[:10]
    b, c = server.client(project=b_project, roles="member"), server.client(project=c_project, roles="member")
    assert b("GET", f"/v2.0/networks/{net['id']}").status_code == 404

    created = create_policy(server, "network", net["id"], b_project)
    assert created.status_code == 201, created.text
    policy = osc("network", "rbac", "show", created.json()["rbac_policy"]["id"])
    assert (policy["object_id"], policy["target_project_id"], policy["action"], policy["object_type"]) == (
        net["id"], b_project, "access_as_shared", "network")
    assert policy["id"] in {row["ID"] for row in osc("network", "rbac", "list")}
    # The same policy twice is a conflict.
    dup = create_policy(server, "network", net["id"], b_project)
    assert dup.status_code == 409 and dup.json()["NeutronError"]["type"] == "DuplicateRbacPolicy", dup.text
    shown_to_b = b("GET", f"/v2.0/networks/{net['id']}")
    assert shown_to_b.status_code == 200
    # As Neutron: `shared` is true to the project the policy names, false to the owner.
    assert shown_to_b.json()["network"]["shared"] is True
    assert [n["shared"] for n in b("GET", "/v2.0/networks").json()["networks"] if n["id"] == net["id"]] == [True]
    assert osc("network", "show", net["id"])["shared"] is False
    assert c("GET", f"/v2.0/networks/{net['id']}").status_code == 404
    port = b("POST", "/v2.0/ports", json={"port": {"network_id": net["id"]}})
    assert port.status_code == 201, port.text
    assert c("POST", "/v2.0/ports", json={"port": {"network_id": net["id"]}}).status_code == 404

    # B depends on the policy while it has a port there.
    busy = osc.fail("network", "rbac", "delete", policy["id"])
    assert "cannot be removed" in busy.stderr, busy.stderr
    assert b("DELETE", f"/v2.0/ports/{port.json()['port']['id']}").status_code == 204
    osc("network", "rbac", "delete", policy["id"], fmt=False)
    assert b("GET", f"/v2.0/networks/{net['id']}").status_code == 404
    assert policy["id"] not in {row["ID"] for row in osc("network", "rbac", "list")}


def test_security_group_shared_with_a_project(osc, server):
    sg = osc("security", "group", "create", uniq("rbac-sg"))
    b_project = "projb" + uuid.uuid4().hex[:10]
    b = server.client(project=b_project, roles="member")
    own_net = b("POST", "/v2.0/networks", json={"network": {"name": "b-net"}}).json()["network"]
    b("POST", "/v2.0/subnets", json={"subnet": {"network_id": own_net["id"], "cidr": "10.92.0.0/24", "ip_version": 4}})
    refused = b("POST", "/v2.0/ports", json={"port": {"network_id": own_net["id"], "security_groups": [sg["id"]]}})
    assert refused.status_code == 404 and refused.json()["NeutronError"]["type"] == "SecurityGroupNotFound"

    created = create_policy(server, "security_group", sg["id"], b_project)
    assert created.status_code == 201, created.text
    policy = created.json()["rbac_policy"]
    assert b("GET", f"/v2.0/security-groups/{sg['id']}").status_code == 200
    port = b("POST", "/v2.0/ports", json={"port": {"network_id": own_net["id"], "security_groups": [sg["id"]]}})
    assert port.status_code == 201, port.text
    assert port.json()["port"]["security_groups"] == [sg["id"]]
    busy = osc.fail("network", "rbac", "delete", policy["id"])
    assert "cannot be removed" in busy.stderr, busy.stderr
    b("DELETE", f"/v2.0/ports/{port.json()['port']['id']}")
    osc("network", "rbac", "delete", policy["id"], fmt=False)
    assert b("GET", f"/v2.0/security-groups/{sg['id']}").status_code == 404


def test_subnet_pool_shared_with_a_project(osc, server):
    """rbac-subnetpool: the target project sees the pool and takes subnets from it; the
    policy cannot go while it has them; a `*` policy (admin) is the pool's `shared`."""
    pool = osc("subnet", "pool", "create", "--pool-prefix", "10.201.0.0/16", "--default-prefix-length", "24",
               uniq("rbac-pool"))
    b_project = "projb" + uuid.uuid4().hex[:10]
    b = server.client(project=b_project, roles="member")
    assert b("GET", f"/v2.0/subnetpools/{pool['id']}").status_code == 404
    created = create_policy(server, "subnetpool", pool["id"], b_project)
    assert created.status_code == 201, created.text
    policy = created.json()["rbac_policy"]
    assert b("GET", f"/v2.0/subnetpools/{pool['id']}").status_code == 200
    net = b("POST", "/v2.0/networks", json={"network": {"name": "b-pool-net"}}).json()["network"]
    sub = b("POST", "/v2.0/subnets", json={"subnet": {"network_id": net["id"], "ip_version": 4,
                                                       "subnetpool_id": pool["id"]}})
    assert sub.status_code == 201, sub.text
    assert sub.json()["subnet"]["cidr"] == "10.201.0.0/24"
    busy = osc.fail("network", "rbac", "delete", policy["id"])
    assert "cannot be removed" in busy.stderr, busy.stderr
    assert b("DELETE", f"/v2.0/subnets/{sub.json()['subnet']['id']}").status_code == 204
    osc("network", "rbac", "delete", policy["id"], fmt=False)
    assert b("GET", f"/v2.0/subnetpools/{pool['id']}").status_code == 404
    star = create_policy(server, "subnetpool", pool["id"], "*")
    assert star.status_code == 201, star.text
    assert osc("subnet", "pool", "show", pool["id"])["shared"] is True
    osc("network", "rbac", "delete", star.json()["rbac_policy"]["id"], fmt=False)
    assert osc("subnet", "pool", "show", pool["id"])["shared"] is False
    b("DELETE", f"/v2.0/networks/{net['id']}")
    osc("subnet", "pool", "delete", pool["id"], fmt=False)
