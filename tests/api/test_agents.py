"""Agents and gateway scheduling, driven as real agents would: hosts register through
`POST /agent/v1/register` and heartbeat through `POST /agent/v1/hosts/{host}/status`.

Checked: the four agent records per host exactly as Neutron shows them, DVR MACs, the
token, liveness after `agent_down_time` and back, admin-only access, disabling and
deleting agents; gateway scheduling (up to `max_l3_agents_per_router` live, enabled
`dvr_snat` hosts in priority order, active roles spread evenly, failover to the next host in
priority within one `agent_down_time`, reported `ha_state`); and the issue's agent seed
commands through the real openstack and legacy neutron CLIs.

Tests that count agents or routers use servers of their own (agents are global).
"""
import collections
import datetime
import re
import time

import pytest

from neutrino_api import (NEUTRON_BIN, AgentChannel, Heartbeat, Osc, UUID_RE, expect_error, parse_table,
                          run_seed_base, uniq, wait_for)

AGENT_TYPES = {"L3 agent", "Linux bridge agent", "DHCP agent", "Metadata agent"}
AGENT_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
DVR_MAC_RE = re.compile(r"^fa:16:3f(:[0-9a-f]{2}){3}$")
SLACK = 2.0  # seconds allowed beyond agent_down_time (the server sweeps every agent_down_time / 4)
MISSING = "0d5a7e2c-4f1b-4c3a-9e8d-7b6a5f4e3d21"


def agents_of(client, host):
    return {a["agent_type"]: a for a in client.list("agents", {"host": host})}


def l3_agent(client, host):
    return agents_of(client, host)["L3 agent"]


def hosting(client, router_id):
    """[(host, ha_state)] of the L3 agents hosting a router, in the server's (priority) order."""
    r = client("GET", f"/v2.0/routers/{router_id}/l3-agents")
    assert r.status_code == 200, r.text
    agents = r.json()["agents"]
    assert all(a["agent_type"] == "L3 agent" for a in agents), agents
    return [(a["host"], a["ha_state"]) for a in agents]


def hosts_of(client, router_id):
    return [h for h, _ in hosting(client, router_id)]


def routers_on(client, host):
    r = client("GET", f"/v2.0/agents/{l3_agent(client, host)['id']}/l3-routers")
    assert r.status_code == 200, r.text
    return {x["id"] for x in r.json()["routers"]}


def active_counts(client, router_ids):
    counts = collections.Counter()
    for rid in router_ids:
        active = [h for h, state in hosting(client, rid) if state == "active"]
        assert len(active) == 1, (rid, hosting(client, rid))
        counts[active[0]] += 1
    return counts


def gateway_routers(client, n):
    if n > 10:  # the default router quota (admins are held to quotas too)
        r = client("PUT", "/v2.0/quotas/fake_project_id", json={"quota": {"router": n + 5}})
        assert r.status_code == 200, r.text
    ext, _ = client.ext_network("203.0.113.0/24")
    return ext, [client.router(external_gateway_info={"network_id": ext["id"]})["id"] for _ in range(n)]


def table_rows(text):
    """The rows of a list table the CLIs print, as dicts keyed by the header."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    cells = [[c.strip() for c in line.strip().strip("|").split("|")] for line in lines]
    assert cells, text
    return cells[0], [dict(zip(cells[0], row)) for row in cells[1:]]


def legacy_cli(server):
    """The legacy `neutron` CLI in the same environment as `openstack` (OS_AUTH_TYPE=none, OS_ENDPOINT)."""
    return Osc(server, binary=NEUTRON_BIN)


def parse_agent_time(text):
    return datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=datetime.timezone.utc)


# -- registration and the agent records ----------------------------------------------------
def test_register_creates_four_agents(server, admin):
    host = uniq("cmp")
    channel = AgentChannel(server.url)
    body = channel.register(host, mode="dvr", local_ip="192.0.2.31", bridge_mappings={"physnet1": "eth1"})
    assert set(body) >= {"host", "dvr_mac", "agents", "revision"}, body
    assert body["host"] == host and DVR_MAC_RE.match(body["dvr_mac"]), body
    assert len(body["agents"]) == 4 and all(UUID_RE.match(a) for a in body["agents"])
    assert isinstance(body["revision"], int)

    agents = agents_of(admin, host)
    assert set(agents) == AGENT_TYPES
    assert {a["id"] for a in agents.values()} == set(body["agents"])
    now = datetime.datetime.now(datetime.timezone.utc)
    for a in agents.values():
        assert a["host"] == host and a["alive"] is True and a["admin_state_up"] is True
        assert a["binary"] and isinstance(a["binary"], str)
        for field in ("heartbeat_timestamp", "created_at", "started_at"):
            assert AGENT_TIME_RE.match(a[field]), (field, a[field])
        assert abs((parse_agent_time(a["heartbeat_timestamp"]) - now).total_seconds()) < 120
        assert isinstance(a["configurations"], dict)
        assert admin.show("agents", a["id"]) == a
    assert len({a["binary"] for a in agents.values()}) == 4
    assert agents["L3 agent"]["configurations"]["agent_mode"] == "dvr"
    lb = agents["Linux bridge agent"]["configurations"]
    assert lb["bridge_mappings"] == {"physnet1": "eth1"} and lb["tunneling_ip"] == "192.0.2.31"
    # filters
    assert [a["id"] for a in admin.list("agents", {"host": host, "agent_type": "DHCP agent"})] == \
        [agents["DHCP agent"]["id"]]
    assert {a["host"] for a in admin.list("agents", {"agent_type": "L3 agent"})} >= {host}


def test_reregistering_keeps_agents_and_mac(new_server):
    server = new_server()  # the host becomes a gateway host: keep it off the shared server
    admin, host = server.client(), uniq("cmp")
    channel = AgentChannel(server.url)
    first = channel.register(host, mode="dvr", local_ip="192.0.2.32")
    again = channel.register(host, mode="dvr_snat", local_ip="192.0.2.33", bridge_mappings={"physnet2": "eth2"})
    assert again["dvr_mac"] == first["dvr_mac"]
    assert set(again["agents"]) == set(first["agents"])
    agents = agents_of(admin, host)
    assert len(admin.list("agents", {"host": host})) == 4
    assert agents["L3 agent"]["configurations"]["agent_mode"] == "dvr_snat"
    lb = agents["Linux bridge agent"]["configurations"]
    assert lb["tunneling_ip"] == "192.0.2.33" and lb["bridge_mappings"] == {"physnet2": "eth2"}


def test_dvr_macs_are_unique(server):
    channel = AgentChannel(server.url)
    macs = [channel.register(uniq("cmp"), mode="dvr", local_ip=f"192.0.2.{40 + i}")["dvr_mac"] for i in range(8)]
    assert all(DVR_MAC_RE.match(m) for m in macs), macs
    assert len(set(macs)) == len(macs)


@pytest.mark.parametrize("change,expected", [
    ({"host": ""}, 400), ({"agent_mode": "legacy"}, 400), ({"agent_mode": None}, 400),
    ({"local_ip": "not-an-ip"}, 400), ({"bridge_mappings": ["eth1"]}, 400),
])
def test_register_validation(server, admin, change, expected):
    host = uniq("bad")
    body = {"host": host, "agent_mode": "dvr", "local_ip": "192.0.2.50", "bridge_mappings": {}, "version": "t"}
    body.update(change)
    r = AgentChannel(server.url).register_raw({k: v for k, v in body.items() if v is not None})
    assert r.status_code == expected, r.text
    assert admin.list("agents", {"host": host}) == []


def test_register_rejects_non_json(server):
    channel = AgentChannel(server.url)
    r = channel.session.post(server.url + "/agent/v1/register", data=b"{nope", headers=channel.headers())
    assert r.status_code == 400, r.text


def test_status_of_unknown_host_and_bad_state(server):
    channel = AgentChannel(server.url)
    assert channel.status_raw(uniq("ghost")).status_code == 404
    host = uniq("cmp")
    channel.register(host, mode="dvr")
    assert channel.status_raw(host, {"routers": {MISSING: "master"}}).status_code == 400
    assert channel.status_raw(host, {"routers": {}}).status_code == 200


def test_token(new_server):
    server = new_server(config_text="[agent]\ntoken = s3cret\n")
    admin = server.client()
    body = {"host": "gw1", "agent_mode": "dvr_snat", "local_ip": "192.0.2.11", "bridge_mappings": {}, "version": "t"}
    assert AgentChannel(server.url).register_raw(body).status_code == 401
    assert AgentChannel(server.url, token="wrong").register_raw(body).status_code == 401
    assert admin.list("agents") == []
    good = AgentChannel(server.url, token="s3cret")
    assert good.register_raw(body).status_code == 200
    assert len(admin.list("agents", {"host": "gw1"})) == 4
    assert good.status_raw("gw1", host_token="wrong").status_code == 401
    assert good.status_raw("gw1", host_token="").status_code == 401  # the enrolment token is not enough
    assert good.status_raw("gw1").status_code == 200  # the host's own token
    # the token guards the agent channel only, not the Neutron API
    assert server.client().list("networks") == []


# -- admin operations ----------------------------------------------------------------------
def test_agents_are_admin_only(server, admin):
    host = uniq("cmp")
    AgentChannel(server.url).register(host, mode="dvr")
    member = server.client(project=uniq("member"), roles="member")
    agent = l3_agent(admin, host)
    assert member.list("agents") == []
    expect_error(member("GET", f"/v2.0/agents/{agent['id']}"), 404, "AgentNotFound")
    expect_error(member("PUT", f"/v2.0/agents/{agent['id']}", json={"agent": {"admin_state_up": False}}), 404)
    expect_error(member("DELETE", f"/v2.0/agents/{agent['id']}"), 404)
    shown = admin.show("agents", agent["id"])
    assert shown["admin_state_up"] is True
    # and a member may not look at the hosting of its router either
    r = member.router()
    assert member("GET", f"/v2.0/routers/{r['id']}/l3-agents").status_code in (403, 404)


def test_update_agent(server, admin):
    host = uniq("cmp")
    AgentChannel(server.url).register(host, mode="dvr")
    dhcp = agents_of(admin, host)["DHCP agent"]
    upd = admin.update("agents", dhcp["id"], admin_state_up=False, description="maintenance")
    assert upd["admin_state_up"] is False and upd["description"] == "maintenance"
    assert admin.show("agents", dhcp["id"])["admin_state_up"] is False
    assert [a["id"] for a in admin.list("agents", {"host": host, "admin_state_up": "false"})] == [dhcp["id"]]
    for attrs in ({"agent_type": "L3 agent"}, {"host": "elsewhere"}, {"alive": False}):
        expect_error(admin("PUT", f"/v2.0/agents/{dhcp['id']}", json={"agent": attrs}), 400)
    expect_error(admin("POST", "/v2.0/agents", json={"agent": {"host": host}}), 400)


def test_delete_agent(server, admin):
    host = uniq("cmp")
    channel = AgentChannel(server.url)
    channel.register(host, mode="dvr")
    agents = agents_of(admin, host)
    dhcp = agents["DHCP agent"]
    admin.delete("agents", dhcp["id"])
    expect_error(admin("GET", f"/v2.0/agents/{dhcp['id']}"), 404, "AgentNotFound")
    expect_error(admin("DELETE", f"/v2.0/agents/{dhcp['id']}"), 404, "AgentNotFound")
    assert set(agents_of(admin, host)) == AGENT_TYPES - {"DHCP agent"}
    # the host registering again brings the agent back; the others keep their ids
    channel.register(host, mode="dvr")
    again = agents_of(admin, host)
    assert set(again) == AGENT_TYPES
    assert again["L3 agent"]["id"] == agents["L3 agent"]["id"]


# -- liveness -------------------------------------------------------------------------------
def test_liveness_follows_heartbeats(new_server):
    server = new_server(config_text="[DEFAULT]\nagent_down_time = 2\n")
    admin, channel = server.client(), AgentChannel(server.url)
    channel.register("h1", mode="dvr")
    t0 = time.monotonic()
    first = agents_of(admin, "h1")
    assert all(a["alive"] for a in first.values())
    # still alive well within agent_down_time
    time.sleep(0.8)
    if time.monotonic() - t0 < 1.5:
        assert all(a["alive"] for a in agents_of(admin, "h1").values())
    wait_for(lambda: not any(a["alive"] for a in agents_of(admin, "h1").values()), timeout=4,
             message="h1 agents dead")
    assert time.monotonic() - t0 >= 1.5
    listed = legacy_cli(server).run("agent-list")
    assert listed.returncode == 0 and "xxx" in listed.stdout, listed.stdout
    osc_rows = server.osc()("network", "agent", "list", "--host", "h1")
    assert len(osc_rows) == 4 and all(row["Alive"] is False for row in osc_rows), osc_rows

    time.sleep(1.1)  # let the clock tick over a second, so the new beat shows a new timestamp
    channel.status("h1")
    again = agents_of(admin, "h1")
    assert all(a["alive"] for a in again.values())
    assert again["L3 agent"]["heartbeat_timestamp"] > first["L3 agent"]["heartbeat_timestamp"]
    assert again["L3 agent"]["id"] == first["L3 agent"]["id"]


def test_agents_dvr_macs_and_schedule_survive_a_restart(new_server):
    server = new_server()
    admin, channel = server.client(), AgentChannel(server.url)
    macs = {h: channel.register(h, mode="dvr_snat")["dvr_mac"] for h in ("gw1", "gw2")}
    _, routers = gateway_routers(admin, 3)
    agents = {a["id"]: (a["host"], a["agent_type"]) for a in admin.list("agents")}
    placed = {rid: hosts_of(admin, rid) for rid in routers}
    server.stop()
    server.start()
    admin, channel = server.client(), AgentChannel(server.url)
    assert {a["id"]: (a["host"], a["agent_type"]) for a in admin.list("agents")} == agents
    assert {rid: hosts_of(admin, rid) for rid in routers} == placed
    # a host registering again after the restart keeps its MAC and its agents
    again = channel.register("gw1", mode="dvr_snat")
    assert again["dvr_mac"] == macs["gw1"]
    assert set(again["agents"]) == {i for i, (h, _) in agents.items() if h == "gw1"}
    assert channel.register("gw3", mode="dvr_snat")["dvr_mac"] not in macs.values()


# -- gateway scheduling --------------------------------------------------------------------
def test_thirty_routers_over_three_gateway_hosts(new_server):
    server = new_server()
    admin, channel = server.client(), AgentChannel(server.url)
    for i, host in enumerate(("gw1", "gw2", "gw3")):
        channel.register(host, mode="dvr_snat", local_ip=f"192.0.2.{11 + i}")
    channel.register("cmp1", mode="dvr", local_ip="192.0.2.21")
    ext, routers = gateway_routers(admin, 30)
    for rid in routers:
        assert sorted(hosts_of(admin, rid)) == ["gw1", "gw2", "gw3"], hosting(admin, rid)
        states = [s for _, s in hosting(admin, rid)]
        assert states[0] == "active" and states[1:] == ["standby", "standby"], hosting(admin, rid)
    assert active_counts(admin, routers) == {"gw1": 10, "gw2": 10, "gw3": 10}
    for host in ("gw1", "gw2", "gw3"):
        assert routers_on(admin, host) == set(routers)
    assert routers_on(admin, "cmp1") == set()  # dvr hosts never hold gateways

    # routers without a gateway are nowhere; clearing a gateway unschedules
    lone = admin.router()
    assert hosting(admin, lone["id"]) == []
    admin.update("routers", routers[0], external_gateway_info=None)
    assert hosting(admin, routers[0]) == []
    assert routers[0] not in routers_on(admin, "gw2")
    admin.set_gateway(routers[0], ext["id"])
    assert sorted(hosts_of(admin, routers[0])) == ["gw1", "gw2", "gw3"]
    # a distributed router's gateway is scheduled the same way
    dvr = admin.router(distributed=True, external_gateway_info={"network_id": ext["id"]})
    assert sorted(hosts_of(admin, dvr["id"])) == ["gw1", "gw2", "gw3"]


def test_max_l3_agents_per_router(new_server):
    server = new_server(config_text="[DEFAULT]\nmax_l3_agents_per_router = 2\n")
    admin, channel = server.client(), AgentChannel(server.url)
    for host in ("gw1", "gw2", "gw3"):
        channel.register(host, mode="dvr_snat")
    _, routers = gateway_routers(admin, 6)
    for rid in routers:
        assert len(hosting(admin, rid)) == 2 and len(set(hosts_of(admin, rid))) == 2
    assert active_counts(admin, routers) == {"gw1": 2, "gw2": 2, "gw3": 2}
    assert sum(len(routers_on(admin, h)) for h in ("gw1", "gw2", "gw3")) == 12


def test_new_gateway_hosts_are_used(new_server):
    server = new_server()
    admin, channel = server.client(), AgentChannel(server.url)
    channel.register("cmp1", mode="dvr")
    _, [rid] = gateway_routers(admin, 1)
    assert hosting(admin, rid) == []  # no gateway host yet
    channel.register("gw1", mode="dvr_snat")
    assert hosting(admin, rid) == [("gw1", "active")]
    channel.register("gw2", mode="dvr_snat")
    assert hosting(admin, rid) == [("gw1", "active"), ("gw2", "standby")]
    # a dvr host turning into a gateway host joins too
    channel.register("cmp1", mode="dvr_snat")
    assert hosts_of(admin, rid) == ["gw1", "gw2", "cmp1"]


def test_reported_ha_state_is_shown(new_server):
    server = new_server()
    admin, channel = server.client(), AgentChannel(server.url)
    channel.register("gw1", mode="dvr_snat")
    channel.register("gw2", mode="dvr_snat")
    _, [rid, other] = gateway_routers(admin, 2)
    first, second = hosts_of(admin, rid)
    # the hosts report the opposite of the plan (keepalived decided): the listing says so
    channel.status(first, {rid: "standby"})
    channel.status(second, {rid: "active"})
    assert dict(hosting(admin, rid)) == {first: "standby", second: "active"}
    assert {a["Host"]: a["HA State"] for a in server.osc()("network", "agent", "list", "--router", rid, "--long")} \
        == {first: "standby", second: "active"}
    # reports are per router: the other router is untouched
    assert [s for _, s in hosting(admin, other)] == ["active", "standby"]
    channel.status(first, {rid: "active"})
    channel.status(second, {rid: "standby"})
    assert dict(hosting(admin, rid)) == {first: "active", second: "standby"}


def test_dead_gateway_host_fails_over(new_server):
    down = 2
    server = new_server(config_text=f"[DEFAULT]\nagent_down_time = {down}\n")
    admin, channel = server.client(), AgentChannel(server.url)
    hosts = ("gw1", "gw2", "gw3")
    for host in hosts:
        channel.register(host, mode="dvr_snat")
    beat = Heartbeat(server.url, hosts, interval=0.3)
    try:
        _, routers = gateway_routers(admin, 9)
        before = {rid: hosts_of(admin, rid) for rid in routers}
        assert active_counts(admin, routers) == {"gw1": 3, "gw2": 3, "gw3": 3}
        victim = "gw2"
        lost = [rid for rid in routers if before[rid][0] == victim]
        assert len(lost) == 3

        last_beat = beat.stop(victim)
        # not before its time: half an agent_down_time after the last beat it still holds its roles
        time.sleep(max(0.0, last_beat + down / 2 - time.monotonic()))
        early = {rid: hosts_of(admin, rid) for rid in lost}
        alive_early = l3_agent(admin, victim)["alive"]
        if time.monotonic() - last_beat < down * 0.8:  # a stalled test process cannot judge this
            assert all(early[rid][0] == victim for rid in lost), early
            assert alive_early is True
        wait_for(lambda: all(victim not in hosts_of(admin, rid) for rid in routers),
                 timeout=max(0.5, last_beat + down + SLACK - time.monotonic()),
                 message=f"{victim} to drop out of every router")
        assert time.monotonic() - last_beat <= down + SLACK
        for rid in routers:
            expected = [h for h in before[rid] if h != victim]
            assert hosts_of(admin, rid) == expected, (rid, before[rid], hosting(admin, rid))
            assert hosting(admin, rid)[0][1] == "active"
        assert routers_on(admin, victim) == set()
        assert l3_agent(admin, victim)["alive"] is False
        assert not beat.errors, beat.errors
        counts = active_counts(admin, routers)
        assert counts[victim] == 0 and counts["gw1"] + counts["gw3"] == 9

        # it comes back: it is a standby again everywhere; nobody's active role moves
        beat.resume(victim)
        wait_for(lambda: all(victim in hosts_of(admin, rid) for rid in routers), timeout=SLACK,
                 message=f"{victim} back in every router")
        for rid in routers:
            now = hosting(admin, rid)
            assert now[-1] == (victim, "standby") and now[0][1] == "active", now
            assert [h for h, _ in now[:2]] == [h for h in before[rid] if h != victim], (before[rid], now)
        assert active_counts(admin, routers)[victim] == 0
    finally:
        beat.close()


@pytest.fixture
def three_gateways(new_server):
    server = new_server()
    admin, channel = server.client(), AgentChannel(server.url)
    for host in ("gw1", "gw2", "gw3"):
        channel.register(host, mode="dvr_snat")
    _, routers = gateway_routers(admin, 6)
    return admin, routers, {rid: hosts_of(admin, rid) for rid in routers}


def test_deleting_an_l3_agent_moves_roles(three_gateways):
    admin, routers, before = three_gateways
    assert active_counts(admin, routers) == {"gw1": 2, "gw2": 2, "gw3": 2}
    admin.delete("agents", l3_agent(admin, "gw3")["id"])
    for rid in routers:
        assert hosts_of(admin, rid) == [h for h in before[rid] if h != "gw3"], (rid, before[rid])
        assert hosting(admin, rid)[0][1] == "active"
    counts = active_counts(admin, routers)
    assert counts["gw3"] == 0 and counts["gw1"] + counts["gw2"] == 6
    # the host's other agents stay
    assert set(agents_of(admin, "gw3")) == AGENT_TYPES - {"L3 agent"}


def test_disabling_an_l3_agent_moves_roles(three_gateways):
    admin, routers, before = three_gateways
    gw1 = l3_agent(admin, "gw1")
    admin.update("agents", gw1["id"], admin_state_up=False)
    for rid in routers:
        assert hosts_of(admin, rid) == [h for h in before[rid] if h != "gw1"], (rid, before[rid])
        assert hosting(admin, rid)[0][1] == "active"
    assert routers_on(admin, "gw1") == set()
    # enabled again: back as a standby, the active roles stay
    admin.update("agents", gw1["id"], admin_state_up=True)
    for rid in routers:
        now = hosting(admin, rid)
        assert now[-1] == ("gw1", "standby") and [h for h, _ in now[:2]] == [h for h in before[rid] if h != "gw1"]
    # disabling the DHCP agent of a host does not touch gateways
    admin.update("agents", agents_of(admin, "gw2")["DHCP agent"]["id"], admin_state_up=False)
    assert all("gw2" in hosts_of(admin, rid) for rid in routers)


# -- the agent seed commands through the real CLIs ---------------------------------
@pytest.fixture
def seeded(new_server):
    server = new_server(name="agentseed")
    made = run_seed_base(server)
    channel = AgentChannel(server.url)
    channel.register("gw1", mode="dvr_snat", local_ip="192.0.2.11", bridge_mappings={"physnet1": "eth1"})
    channel.register("gw2", mode="dvr_snat", local_ip="192.0.2.12", bridge_mappings={"physnet1": "eth1"})
    channel.register("cmp1", mode="dvr", local_ip="192.0.2.21", bridge_mappings={"physnet1": "eth1"})
    return server, made


def test_seed_openstack_agent_list(seeded):
    server, made = seeded
    osc, admin = server.osc(), server.client()
    p = osc.run("network", "agent", "list")
    assert p.returncode == 0, p.stderr
    header, rows = table_rows(p.stdout)
    assert header == ["ID", "Agent Type", "Host", "Availability Zone", "Alive", "State", "Binary"], header
    assert len(rows) == 12, p.stdout
    assert collections.Counter(r["Host"] for r in rows) == {"gw1": 4, "gw2": 4, "cmp1": 4}
    assert {r["Agent Type"] for r in rows} == AGENT_TYPES
    assert all(r["Alive"] == ":-)" and r["State"] == "UP" for r in rows), p.stdout
    assert {r["ID"] for r in rows} == {a["id"] for a in admin.list("agents")}

    for command in ("router create r", "router add subnet r n1subnet", "router set r --external-gateway ext_n2"):
        assert osc.run(*command.split()).returncode == 0, command
    p = osc.run("network", "agent", "list", "--router", "r", "--long")
    assert p.returncode == 0, p.stderr
    header, rows = table_rows(p.stdout)
    assert header[-1] == "HA State" and len(rows) == 2, p.stdout
    listed = osc("network", "agent", "list", "--router", "r", "--long")
    assert sorted((a["Host"], a["Agent Type"]) for a in listed) == [("gw1", "L3 agent"), ("gw2", "L3 agent")]
    assert sorted(a["HA State"] for a in listed) == ["active", "standby"]
    rid = osc("router", "show", "r")["id"]
    assert [a["Host"] for a in listed if a["HA State"] == "active"] == [hosting(admin, rid)[0][0]]
    # the agent side, through the CLI
    gw1 = l3_agent(admin, "gw1")
    shown = osc("network", "agent", "show", gw1["id"])
    assert shown["agent_type"] == "L3 agent" and shown["host"] == "gw1"
    assert shown["configuration"]["agent_mode"] == "dvr_snat"  # the CLI's name for `configurations`
    assert osc.run("network", "agent", "set", "--disable", gw1["id"]).returncode == 0
    assert admin.show("agents", gw1["id"])["admin_state_up"] is False
    assert [a["Host"] for a in osc("network", "agent", "list", "--router", "r", "--long")] == ["gw2"]
    assert osc("network", "agent", "list", "--router", "r", "--long")[0]["HA State"] == "active"


def test_seed_legacy_neutron_cli(seeded):
    server, made = seeded
    osc, admin, neutron = server.osc(), server.client(), legacy_cli(server)

    def run(*args):
        p = neutron.run(*args)
        assert p.returncode == 0, f"`neutron {' '.join(args)}` exited {p.returncode}: {p.stderr}"
        return p

    header, rows = table_rows(run("agent-list").stdout)
    assert header == ["id", "agent_type", "host", "availability_zone", "alive", "admin_state_up", "binary"], header
    assert len(rows) == 12 and collections.Counter(r["host"] for r in rows) == {"gw1": 4, "gw2": 4, "cmp1": 4}
    assert all(r["alive"] == ":-)" and r["admin_state_up"] == "True" for r in rows)
    assert {r["agent_type"] for r in rows if r["host"] == "cmp1"} == AGENT_TYPES

    t = parse_table(run("net-create", "ext", "--router:external=True", "--provider:network_type", "flat",
                        "--provider:physical_network", "physnet1").stdout)
    assert t["name"] == "ext" and t["router:external"] == "True"
    assert t["provider:network_type"] == "flat" and t["provider:physical_network"] == "physnet1"
    ext_id = t["id"]
    run("subnet-create", "ext", "192.0.2.0/24", "--name", "ext-sub", "--disable-dhcp")

    t = parse_table(run("router-create", "rr").stdout)
    assert t["name"] == "rr" and t["status"] == "ACTIVE" and t["external_gateway_info"] == ""
    rr = t["id"]
    p = run("router-interface-add", "rr", "n1subnet")
    [intf] = admin.router_ports(rr, "network:router_interface")
    assert p.stdout.strip() == f"Added interface {intf['id']} to router rr.", p.stdout
    assert intf["fixed_ips"] == [{"subnet_id": made["n1subnet"]["id"], "ip_address": "172.16.100.1"}]
    p = run("router-gateway-set", "rr", "ext")
    assert "Set gateway for router rr" in p.stdout, p.stdout
    info = admin.show("routers", rr)["external_gateway_info"]
    assert info["network_id"] == ext_id and info["enable_snat"] is True

    p1 = made["p1"]
    t = parse_table(run("floatingip-create", "ext", "--port-id", p1["id"]).stdout)
    assert t["port_id"] == p1["id"] and t["router_id"] == rr
    assert t["fixed_ip_address"] == p1["fixed_ips"][0]["ip_address"]
    assert t["floating_network_id"] == ext_id and t["status"] == "DOWN"
    assert t["floating_ip_address"].startswith("192.0.2.")

    # the DVR router, with a gateway so that it has hosting agents
    assert osc.run("router", "create", "--distributed", "dvr-r1").returncode == 0
    p = run("l3-agent-list-hosting-router", "dvr-r1")
    assert p.stdout.strip() == "", p.stdout  # no gateway: no agent
    run("router-gateway-set", "dvr-r1", "ext")
    header, rows = table_rows(run("l3-agent-list-hosting-router", "dvr-r1").stdout)
    assert header == ["id", "host", "admin_state_up", "alive", "ha_state"], header
    assert sorted(r["host"] for r in rows) == ["gw1", "gw2"], rows
    assert sorted(r["ha_state"] for r in rows) == ["active", "standby"]
    assert all(r["alive"] == ":-)" and r["admin_state_up"] == "True" for r in rows)
    assert {r["id"] for r in rows} == {l3_agent(admin, "gw1")["id"], l3_agent(admin, "gw2")["id"]}
