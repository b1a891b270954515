"""server.ini with Neutron option names: type-driver ranges, MTUs, base_mac, quotas, and the
errors a bad file gives (file, line, option, suggestion) instead of a traceback."""
import re
import subprocess

import pytest

from neutrino_api import SERVER_BIN, expect_error, uniq


def test_vlan_tenant_networks_and_pool_exhaustion(new_server):
    server = new_server(config_text="""
[DEFAULT]
global_physnet_mtu = 9000

[ml2]
tenant_network_types = vlan

[ml2_type_vlan]
network_vlan_ranges = physnet1:100:102
""")
    api = server.client()
    nets = [api.network() for _ in range(3)]
    assert sorted(n["provider:segmentation_id"] for n in nets) == [100, 101, 102]
    assert all(n["provider:network_type"] == "vlan" and n["provider:physical_network"] == "physnet1" for n in nets)
    assert all(n["mtu"] == 9000 for n in nets)
    err = expect_error(api("POST", "/v2.0/networks", json={"network": {}}), 503, "NoNetworkAvailable")
    assert "network is available for allocation" in err["message"]  # "tenant" or, newer, "project"
    # an admin may still ask for a given id outside the range, on a known physnet
    net = api.network(**{"provider:network_type": "vlan", "provider:physical_network": "physnet1",
                         "provider:segmentation_id": 200})
    assert net["provider:segmentation_id"] == 200
    r = api("POST", "/v2.0/networks", json={"network": {"provider:network_type": "vlan",
                                                         "provider:physical_network": "physnet1",
                                                         "provider:segmentation_id": 101}})
    expect_error(r, 409, "VlanIdInUse")
    r = api("POST", "/v2.0/networks", json={"network": {"provider:network_type": "vlan",
                                                         "provider:physical_network": "physnet9",
                                                         "provider:segmentation_id": 5}})
    expect_error(r, 400, "InvalidInput")
    r = api("POST", "/v2.0/networks", json={"network": {"provider:network_type": "vlan",
                                                         "provider:physical_network": "physnet1",
                                                         "provider:segmentation_id": 4095}})
    expect_error(r, 400, "InvalidInput")
    # deleting a network returns its VLAN to the pool
    api.delete("networks", nets[1]["id"])
    assert api.network()["provider:segmentation_id"] == nets[1]["provider:segmentation_id"]
    # the tunnel types follow global_physnet_mtu
    vx = api.network(**{"provider:network_type": "vxlan", "provider:segmentation_id": 77})
    assert vx["mtu"] == 8950


def test_vlan_physnet_without_a_range_has_every_id(new_server):
    """As neutron-lib reads network_vlan_ranges (Neutron 21): a physical network named
    without a range has VLAN ids 1-4094, for tenant networks too, after the ranged ones."""
    server = new_server(config_text="""
[ml2]
tenant_network_types = vlan

[ml2_type_vlan]
network_vlan_ranges = physnet1:100:100,physnet2
""")
    api = server.client()
    first, second = api.network(), api.network()
    assert (first["provider:physical_network"], first["provider:segmentation_id"]) == ("physnet1", 100)
    assert (second["provider:physical_network"], second["provider:segmentation_id"]) == ("physnet2", 1)
    explicit = api.network(**{"provider:network_type": "vlan", "provider:physical_network": "physnet2",
                              "provider:segmentation_id": 4094})
    assert explicit["provider:segmentation_id"] == 4094


def test_small_vni_range_and_geneve_header(new_server):
    server = new_server(config_text="""
[ml2]
tenant_network_types = geneve

[ml2_type_geneve]
vni_ranges = 10:11
max_header_size = 38
""")
    api = server.client()
    nets = [api.network(), api.network()]
    assert sorted(n["provider:segmentation_id"] for n in nets) == [10, 11]
    assert all(n["provider:network_type"] == "geneve" and n["mtu"] == 1442 for n in nets)
    expect_error(api("POST", "/v2.0/networks", json={"network": {}}), 503, "NoNetworkAvailable")


def test_base_mac(new_server):
    server = new_server(config_text="[DEFAULT]\nbase_mac = fa:16:3f:4b:00:00\n")
    api = server.client()
    net, _ = api.net_with_subnet("10.150.0.0/24")
    macs = [api.port(net["id"])["mac_address"] for _ in range(5)]
    assert all(re.fullmatch(r"fa:16:3f:4b(:[0-9a-f]{2}){2}", m) for m in macs), macs


def test_quota_defaults_from_config(new_server):
    server = new_server(config_text="[quotas]\nquota_network = 2\nquota_port = 7\n")
    api = server.client()
    q = api("GET", "/v2.0/quotas/someone/default").json()["quota"]
    assert q["network"] == 2 and q["port"] == 7 and q["subnet"] == 100
    api.network()
    api.network()
    expect_error(api("POST", "/v2.0/networks", json={"network": {}}), 409, "OverQuota")


def test_type_drivers_limit_provider_types(new_server):
    server = new_server(config_text="[ml2]\ntype_drivers = vxlan,flat\ntenant_network_types = vxlan\n")
    api = server.client()
    r = api("POST", "/v2.0/networks", json={"network": {"provider:network_type": "gre",
                                                         "provider:segmentation_id": 5}})
    expect_error(r, 400, "InvalidInput")
    api.network(**{"provider:network_type": "flat", "provider:physical_network": uniq("p")})


def test_flat_networks_list(new_server):
    server = new_server(config_text="[ml2_type_flat]\nflat_networks = extnet0\n")
    api = server.client()
    api.network(**{"provider:network_type": "flat", "provider:physical_network": "extnet0"})
    r = api("POST", "/v2.0/networks", json={"network": {"provider:network_type": "flat",
                                                         "provider:physical_network": "other"}})
    expect_error(r, 400, "InvalidInput")


def run_with_config(tmp_path, text, *extra):
    ini = tmp_path / "server.ini"
    ini.write_text(text)
    p = subprocess.run([str(SERVER_BIN), "--config-file", str(ini), "--database", str(tmp_path / "c.db"),
                        "--port", "0", *extra], capture_output=True, text=True, timeout=20)
    return p, p.stdout + p.stderr


@pytest.mark.parametrize("text,expected", [
    ("[DEFAULT\nbind_port = 9696\n", 'server.ini:1: section header not closed: "[DEFAULT"'),
    ("[DEFAULT]\nbind_prot = 9696\n", 'server.ini:2:'),
    ("[DEFAULT]\n\n[ml2_type_vxlan]\nvni_ranges = 5:1\n", 'server.ini:4:'),
    ("[DEFAULT]\nglobal_physnet_mtu = lots\n", 'server.ini:2:'),
    ("[ml2_type_vlan]\nnetwork_vlan_ranges = physnet1:0:5000\n", 'server.ini:2:'),
    ("[DEFAULT]\nauth_strategy = kerberos\n", 'server.ini:2:'),
    ("[DEFAULT]\nauth_strategy = keystone\n", 'auth_url'),
    ("[DEFAULT]\nauth_strategy = keystone\n[keystone_authtoken]\nauth_url = ftp://k/v3\nusername = n\n", 'server.ini:4:'),
    ("[DEFAULT]\nauth_strategy = keystone\n[keystone_authtoken]\nauth_url = http://k:5000\n", 'username'),
    ("[keystone_authtoken]\ntoken_cache_time = forever\n", 'server.ini:2:'),
    # No auth_strategy but Keystone configured: keystone, as Neutron's default (not open).
    ("[keystone_authtoken]\nauth_url = http://k:5000\n", 'username'),
    ("[oslo_policy]\nenforce_new_defaults = maybe\n", 'server.ini:2:'),
])
@pytest.mark.parametrize("check_only", [True, False])
def test_bad_config_is_reported_not_crashed(tmp_path, text, expected, check_only):
    p, out = run_with_config(tmp_path, text, *(["--check-config"] if check_only else []))
    assert p.returncode != 0
    assert p.returncode > 0, "killed by a signal"
    assert expected in out, out
    assert "Traceback" not in out and "terminate called" not in out and "listening" not in out


def test_misspelt_option_suggests(tmp_path):
    _, out = run_with_config(tmp_path, "[DEFAULT]\nbind_prot = 9696\n", "--check-config")
    assert "bind_prot" in out and "bind_port" in out, out
    _, out = run_with_config(tmp_path, "[ml2_type_vxlan]\nvni_range = 1:10\n", "--check-config")
    assert "vni_ranges" in out, out


@pytest.mark.parametrize("policy,expected", [
    ('"create_network": "rule:admin_only orr"\n', 'policy.yaml:1: rule "create_network"'),
    ('"a": "rule:b"\n"b": "rule:a"\n', 'policy.yaml:'),
    ('"create_network": null\n', 'policy.yaml:1:'),
    ("- not\n- a map\n", "policy.yaml"),
])
def test_bad_policy_file_is_named(tmp_path, policy, expected):
    (tmp_path / "policy.yaml").write_text(policy)
    for extra in (["--check-config"], []):
        p, out = run_with_config(tmp_path, "[oslo_policy]\npolicy_file = policy.yaml\n", *extra)
        assert p.returncode > 0 and expected in out, out
        assert "listening" not in out


def test_keystone_config_checks_ok(tmp_path):
    p, out = run_with_config(tmp_path, "[DEFAULT]\nauth_strategy = keystone\n[keystone_authtoken]\n"
                             "www_authenticate_uri = http://controller:5000\nauth_url = https://controller:5000/v3\n"
                             "auth_type = password\nusername = neutron\npassword = x\nproject_name = service\n"
                             "memcached_servers = controller:11211\nregion_name = RegionOne\n", "--check-config")
    assert p.returncode == 0, out


def test_good_config_checks_ok(tmp_path):
    p, out = run_with_config(tmp_path, "[DEFAULT]\nbind_host = 127.0.0.1\n[ml2_type_vxlan]\nvni_ranges = 1:10\n",
                             "--check-config")
    assert p.returncode == 0, out
