"""The topology page (/ui) in headless Chromium, and its event stream (/ui/events).

A cloud without kernels: four hosts registered through the agent channel (two computes,
two gateways), a network with two "VMs" (ports bound to the computes, one reported up), a
router with an interface on it and a gateway on the external network, a floating IP. The
page must draw all of it, follow changes through /ui/events without a reload, and show a
port's trace on click. The screenshot is kept under the test's tmp dir and copied to
build/artifacts/ui.png.
"""
import shutil
import socket
import time

import pytest
import requests

from neutrino_api import BUILD_DIR, AgentChannel, Heartbeat, expect_error, uniq, wait_for
from nt_chromium import CHROMIUM, Chromium

CONFIG = "[DEFAULT]\ndhcp_agent_notification = false\n"


def q(kind, rid):
    """A JS expression: the element drawn for one object."""
    return f"document.getElementById('{kind}-{rid}')"


@pytest.fixture
def browser(tmp_path):
    if not shutil.which("chromium") and not shutil.which(CHROMIUM):
        pytest.fail("chromium is not installed (scripts/install-deps installs it)")
    b = Chromium(tmp_path)
    page = None
    try:
        page = b.page()
        yield page
    finally:
        if page:
            page.close()
        b.close()


def build_cloud(server):
    admin, channel = server.client(), AgentChannel(server.url)
    for host, mode in (("cmp1", "dvr"), ("cmp2", "dvr"), ("gw1", "dvr_snat"), ("gw2", "dvr_snat")):
        channel.register(host, mode=mode)
    ext, ext_sub = admin.ext_network("203.0.113.0/24")
    net, sub = admin.net_with_subnet("10.90.0.0/24")
    vm1 = admin.port(net["id"], name="vm1", device_owner="compute:nova", **{"binding:host_id": "cmp1"})
    vm2 = admin.port(net["id"], name="vm2", device_owner="compute:nova", **{"binding:host_id": "cmp2"})
    router = admin.router(name="r1", distributed=True)
    admin.add_interface(router["id"], subnet_id=sub["id"])
    admin.set_gateway(router["id"], ext["id"])
    fip = admin.floatingip(ext["id"], port_id=vm1["id"])
    wait_for(lambda: port_up(server, channel, "cmp1", vm1["id"]) and admin.show("ports", vm1["id"])["status"] == "ACTIVE",
             timeout=5, message="vm1 ACTIVE")
    return dict(admin=admin, channel=channel, ext=ext, net=net, sub=sub, vm1=vm1, vm2=vm2, router=router, fip=fip)


def port_up(server, channel, host, port_id):
    """As running agents do, every host reports its current view applied, and `host` the
    port's tap up (a port goes ACTIVE only once the hosts that must act on it have applied
    it: tests/api/test_provisioning.py); true."""
    r = requests.get(server.url + "/agent/v1/convergence", headers=channel.headers(), timeout=10)
    assert r.status_code == 200, r.text
    for h in r.json()["hosts"]:
        body = {"applied": h["view_revision"]}
        if h["host"] == host:
            body["ports"] = {port_id: "up"}
        r = channel.status_raw(h["host"], body)
        assert r.status_code == 200, r.text
    return True


def gateway_hosts(admin, router_id):
    r = admin("GET", f"/v2.0/routers/{router_id}/l3-agents")
    assert r.status_code == 200, r.text
    return [(a["host"], a["ha_state"]) for a in r.json()["agents"]]


def test_topology_page_shows_the_cloud_and_follows_changes(new_server, browser, tmp_path):
    server = new_server(CONFIG)
    c = build_cloud(server)
    admin, net, router = c["admin"], c["net"], c["router"]
    page = browser
    page.navigate(server.url + "/ui")
    page.wait("document.getElementById('live') && document.getElementById('live').dataset.state === 'live'",
              message="the event stream to connect")
    page.wait(q("router", router["id"]) + " !== null", message="the router to be drawn")

    # Networks (with their subnets), the router, both VMs with their status, the hosts.
    assert page.eval(f"{q('network', net['id'])}.dataset.name") == net["name"]
    assert page.eval(f"{q('network', c['ext']['id'])} !== null")
    assert page.eval(f"{q('subnet', c['sub']['id'])}.textContent").startswith("10.90.0.0/24  gw 10.90.0.1")
    assert page.eval(f"{q('router', router['id'])}.querySelector('.router-name').textContent") == "r1"
    page.wait(f"{q('port', c['vm1']['id'])}.dataset.status === 'ACTIVE'", message="vm1 ACTIVE on the page")
    assert page.eval(f"{q('port', c['vm2']['id'])}.dataset.status") == "DOWN"
    for host in ("cmp1", "cmp2", "gw1", "gw2"):
        assert page.eval(f"{q('host', host)}.dataset.alive") == "true", host
    # The VMs are drawn in their hosts' columns.
    box = "(s) => { const r = document.querySelector(s).getBoundingClientRect(); return [r.left, r.right]; }"
    for vm, host in (("vm1", "cmp1"), ("vm2", "cmp2")):
        left, right = page.eval(f"({box})('#host-{host} rect')")
        cl, cr = page.eval(f"({box})('#port-{c[vm]['id']} circle')")
        assert left < (cl + cr) / 2 < right, (vm, host, left, right, cl, cr)
    # The router's interface on the network and its gateway port are on the router.
    iface = admin.router_ports(router["id"], owner="network:router_interface_distributed")
    assert iface and page.eval(f"{q('port', iface[0]['id'])}.closest('.router').id") == f"router-{router['id']}"
    # Gateway roles: which host is active, as GET /v2.0/routers/{id}/l3-agents says.
    roles = gateway_hosts(admin, router["id"])
    active = [h for h, s in roles if s == "active"]
    assert len(active) == 1 and len(roles) == 2
    standby = [h for h, s in roles if s != "active"][0]
    page.wait(f"document.getElementById('gw-{router['id']}-{active[0]}').dataset.state === 'active'")
    assert page.eval(f"document.getElementById('gw-{router['id']}-{standby}').dataset.state") == "standby"
    # The floating IP, on its port and in the table.
    fip = c["fip"]
    assert page.eval(f"{q('fip', fip['id'])}.closest('.port').id") == f"port-{c['vm1']['id']}"
    assert fip["floating_ip_address"] in page.eval(f"{q('fiprow', fip['id'])}.textContent")
    assert page.exceptions == []

    # Changes arrive through /ui/events, with no reload: a rename, a new port, a failover
    # reported by the gateways, a port going ACTIVE.
    renders = page.eval("Number(document.body.dataset.renders)")
    page.eval("window.__same_page = true")
    admin.update("routers", router["id"], name="r1-renamed")
    page.wait(f"{q('router', router['id'])}.querySelector('.router-name').textContent === 'r1-renamed'", timeout=5,
              message="the rename on the page")
    vm3 = admin.port(net["id"], name="vm3", device_owner="compute:nova", **{"binding:host_id": "cmp2"})
    page.wait(f"{q('port', vm3['id'])} !== null", timeout=5, message="the new port on the page")
    c["channel"].status(active[0], {router["id"]: "standby"})
    c["channel"].status(standby, {router["id"]: "active"})
    page.wait(f"document.getElementById('gw-{router['id']}-{standby}').dataset.state === 'active'", timeout=5,
              message="the failover on the page")
    wait_for(lambda: port_up(server, c["channel"], "cmp2", c["vm2"]["id"]) and page.eval(f"{q('port', c['vm2']['id'])}.dataset.status") == "ACTIVE",
             timeout=5, message="vm2 ACTIVE on the page")
    assert page.eval("window.__same_page === true")  # no reload happened
    assert page.eval("Number(document.body.dataset.renders)") > renders

    # A click on a port shows its trace towards its subnet's gateway.
    page.click(f"#port-{c['vm1']['id']} circle")
    page.wait("!document.getElementById('trace').hidden", message="the trace panel")
    assert page.eval("document.getElementById('details-body').dataset.id") == c["vm1"]["id"]
    assert page.eval("document.getElementById('trace-to').value") == "10.90.0.1"
    state = page.wait("['done', 'unavailable', 'error'].includes(document.getElementById('trace-result').dataset.state)"
                      " && document.getElementById('trace-result').dataset.state", message="the trace to finish")
    # vm1 is bound to cmp1 and ACTIVE, the gateway is its router's interface: a real trace
    # (the port, its security group, the bridge, the qrouter answering), shown as such.
    trace = admin("GET", "/neutrino/v1/trace", params={"port": c["vm1"]["id"], "to": "10.90.0.1"})
    assert trace.status_code == 200, trace.text
    assert state == "done", page.eval("document.getElementById('trace-result').textContent")
    traced = trace.json()["trace"]
    hops = traced["hops"]
    assert traced["result"] == "delivered", traced
    assert hops[0]["what"] == "port" and hops[0]["host"] == "cmp1", hops
    assert hops[-1]["namespace"] == "qrouter-" + router["id"], hops
    assert page.eval("document.querySelectorAll('#trace-hops li').length") == len(hops) > 1
    assert page.eval("document.querySelector('#trace-hops li').dataset.host") == "cmp1"
    assert page.eval("document.getElementById('trace-result').textContent") == "delivered"
    on_path = {h["host"] for h in hops if h["host"]}
    assert page.eval("[...document.querySelectorAll('.host-head.on-path')].map((e) => e.dataset.id).sort()") == \
        sorted(on_path) == ["cmp1"]
    assert page.exceptions == []

    # Wide enough for the whole drawing beside the panel.
    width = page.eval("document.getElementById('topology').getBoundingClientRect().width + 440")
    shot = page.screenshot(tmp_path / "ui.png", min_width=max(1280, width))
    artifacts = BUILD_DIR / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, artifacts / "ui.png")
    assert (artifacts / "ui.png").stat().st_size > 10000


def test_a_dead_agent_turns_red_on_the_page(new_server, browser):
    """A host whose agent stops heartbeating: after agent_down_time (2 s here; the server
    sweeps every agent_down_time / 4) the page, following /ui/events with no reload, shows
    the host alive=false and its agents down; the others stay alive."""
    server = new_server(CONFIG + "agent_down_time = 2\n")
    channel = AgentChannel(server.url)
    for host in ("cmp1", "cmp2"):
        channel.register(host, mode="dvr")
    beat = Heartbeat(server.url, ["cmp1", "cmp2"], interval=0.3)
    try:
        page = browser
        page.navigate(server.url + "/ui")
        page.wait("document.getElementById('live') && document.getElementById('live').dataset.state === 'live'",
                  message="the event stream to connect")
        for host in ("cmp1", "cmp2"):
            page.wait(f"{q('host', host)} !== null && {q('host', host)}.dataset.alive === 'true'",
                      message=f"{host} alive on the page")
        page.eval("window.__same_page = true")
        beat.stop("cmp2")
        page.wait(f"{q('host', 'cmp2')}.dataset.alive === 'false'", timeout=2 + 2 + 4,
                  message="cmp2 shown dead on the page")
        assert page.eval(f"[...{q('host', 'cmp2')}.querySelectorAll('circle.agent')]"
                         ".every((c) => c.classList.contains('dead'))")
        assert page.eval(f"{q('host', 'cmp2')}.querySelectorAll('circle.agent').length") > 0
        assert page.eval(f"{q('host', 'cmp1')}.dataset.alive") == "true"
        assert page.eval("window.__same_page === true")  # through the event stream, no reload
        assert not beat.errors, beat.errors[:3]
        assert page.exceptions == []
    finally:
        beat.close()


def read_event(lines):
    """The next event (its fields) from an iterator over a text/event-stream's lines."""
    fields = {}
    for line in lines:
        if line == "":
            if fields:
                return fields
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        fields[name] = value[1:] if value.startswith(" ") else value
    raise AssertionError("the stream ended")


def test_event_stream_sends_the_revision_at_once_and_on_each_change(new_server):
    server = new_server(CONFIG)
    admin = server.client()
    with requests.get(server.url + "/ui/events", stream=True, timeout=10) as r:
        assert r.status_code == 200
        assert r.headers["Content-Type"] == "text/event-stream"
        assert r.headers["Cache-Control"] == "no-cache"
        lines = r.iter_lines(decode_unicode=True)
        first = read_event(lines)
        assert first["event"] == "revision" and first["retry"] == "2000"
        net = admin.network()
        after = read_event(lines)
        assert int(after["id"]) > int(first["id"])
        assert after["data"] == '{"revision":%s}' % after["id"]
        admin.update("networks", net["id"], name=uniq("renamed"))
        assert int(read_event(lines)["id"]) > int(after["id"])


def test_the_page_is_static_html_with_a_strict_policy(server):
    r = requests.get(server.url + "/ui", timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in r.headers["Content-Security-Policy"]
    assert "<svg id=\"topology\"" in r.text and "http://" not in r.text.replace("http://www.w3.org/2000/svg", "")
    assert requests.get(server.url + "/ui/", timeout=10).status_code == 200
    assert requests.head(server.url + "/ui", timeout=10).status_code == 200
    expect_error(requests.post(server.url + "/ui", timeout=10), 405, "HTTPMethodNotAllowed")
    expect_error(requests.post(server.url + "/ui/events", timeout=10), 405, "HTTPMethodNotAllowed")
    expect_error(requests.get(server.url + "/ui/nothing", timeout=10), 404, "HTTPNotFound")
    expect_error(requests.get(server.url + "/ui/%ff", timeout=10), 400)


def test_event_streams_are_bounded_and_slow_readers_do_not_block(new_server):
    """At most 64 pages follow changes (the 65th gets a 503 with Retry-After); streams whose
    clients never read do not hold up writes or the others."""
    server = new_server(CONFIG)
    admin = server.client()
    silent = []
    try:
        for _ in range(64):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            s.sendall(b"GET /ui/events HTTP/1.1\r\nHost: x\r\n\r\n")
            s.recv(1)  # the answer started: the stream is open
            silent.append(s)
        r = requests.get(server.url + "/ui/events", timeout=10)
        expect_error(r, 503, "ServiceUnavailable")
        assert r.headers["Retry-After"] == "5"
        # Many changes while 64 clients read nothing: writes go on at their usual pace.
        started = time.monotonic()
        net = admin.network()
        for i in range(100):
            admin.update("networks", net["id"], name=f"n{i}")
        assert time.monotonic() - started < 30
    finally:
        for s in silent:
            s.close()
    # Closed clients are found (a write to them fails) and their places freed.
    def one_more():
        admin.update("networks", net["id"], name=uniq("again"))
        r = requests.get(server.url + "/ui/events", stream=True, timeout=10)
        r.close()
        return r.status_code == 200
    wait_for(one_more, timeout=10, message="a place for a new stream")


def test_keystone_mode_wants_a_token_for_the_events_not_the_page(new_server):
    s = new_server(config_text="[DEFAULT]\nauth_strategy = keystone\n[keystone_authtoken]\n"
                               "www_authenticate_uri = http://127.0.0.1:9/\nauth_url = http://127.0.0.1:9/v3\n"
                               "auth_type = password\nusername = neutron\npassword = x\nproject_name = service\n")
    assert requests.get(s.url + "/ui", timeout=10).status_code == 200
    r = requests.get(s.url + "/ui/events", timeout=10)
    expect_error(r, 401, "HTTPUnauthorized")
    assert r.headers["WWW-Authenticate"].startswith("Keystone uri=")
    # A token Keystone cannot be asked about: 503, as for the API.
    r = requests.get(s.url + "/ui/events", headers={"X-Auth-Token": "t" * 32}, timeout=30)
    assert r.status_code in (401, 503), r.text


def test_the_page_asks_for_a_token_and_takes_one_from_the_fragment(new_server, browser):
    """In keystone mode the page shows the token form (the API said 401); /ui#token=T keeps
    T in the tab's sessionStorage, drops it from the address and sends it as X-Auth-Token
    (this Keystone is never reached: the API answers 503, which the page shows)."""
    s = new_server(config_text="[DEFAULT]\nauth_strategy = keystone\n[keystone_authtoken]\n"
                               "www_authenticate_uri = http://127.0.0.1:9/\nauth_url = http://127.0.0.1:9/v3\n"
                               "auth_type = password\nusername = neutron\npassword = x\nproject_name = service\n")
    page = browser
    page.navigate(s.url + "/ui")
    page.wait("!document.getElementById('auth').hidden", message="the token form")
    page.wait("document.getElementById('live').dataset.state === 'unauthorized'")
    page.navigate(s.url + "/ui#token=tok-" + "x" * 20)
    page.wait("sessionStorage.getItem('neutrino-ui-token') === 'tok-" + "x" * 20 + "'", message="the token kept")
    assert page.eval("location.hash") == ""
    page.wait("document.getElementById('error').textContent.includes('Keystone')", timeout=40,
              message="the API's answer to the token")
