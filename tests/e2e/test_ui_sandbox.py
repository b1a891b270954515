"""The topology page (/ui) on a real sandbox (issue 17), in headless Chromium: a network with
two VMs on two computes and a distributed router with a gateway, built with the real
`openstack` CLI and real agents. The page draws them with their hosts and the gateway's
role, follows a change made with the CLI (a third VM) through /ui/events without a reload,
and a screenshot is kept (the test's tmp dir and build/artifacts/ui-sandbox.png). Needs root."""
import os
import shutil
import sys
from pathlib import Path

import pytest

from nt_sandbox import start_sandbox, stop_sandbox

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "api"))
from nt_chromium import Chromium  # noqa: E402  (tests/api's DevTools-protocol driver)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to create network namespaces (nt-s*)")
BUILD_DIR = Path(__file__).resolve().parent.parent.parent / "build"


@pytest.fixture
def sandbox(tmp_path):
    s = start_sandbox(tmp_path)
    try:
        yield s
    finally:
        stop_sandbox(s)


@pytest.fixture
def page(tmp_path):
    browser = Chromium(tmp_path)
    p = None
    try:
        p = browser.page()
        yield p
    finally:
        if p:
            p.close()
        browser.close()


def element(kind, rid):
    return f"document.getElementById('{kind}-{rid}')"


def test_the_page_draws_a_sandbox_cloud_and_follows_the_cli(sandbox, page, tmp_path):
    sb = sandbox
    sb.osc("network", "create", "web")
    sb.osc("subnet", "create", "--subnet-range", "10.91.0.0/24", "--network", "web", "web-sub")
    router = sb.osc_json("router", "create", "--distributed", "r-web")
    sb.osc("router", "add", "subnet", "r-web", "web-sub")
    sb.osc("router", "set", "--external-gateway", "public", "r-web")
    for name, host in (("vm1", "cmp1"), ("vm2", "cmp2")):
        sb.run("vm", "create", name, "--host", host, "--network", "web")
    sb.run("wait")
    net = sb.osc_json("network", "show", "web")
    ports = {v["name"]: v["port_id"] for v in sb.state()["vms"]}

    page.navigate(f"http://127.0.0.1:{sb.state()['port']}/ui")
    page.wait("document.getElementById('live') && document.getElementById('live').dataset.state === 'live'",
              message="the event stream to connect")
    page.wait(element("router", router["id"]) + " !== null", message="the router to be drawn")
    assert page.eval(f"{element('network', net['id'])}.dataset.name") == "web"
    for vm, host in (("vm1", "cmp1"), ("vm2", "cmp2")):
        page.wait(f"{element('port', ports[vm])} !== null && {element('port', ports[vm])}.dataset.status === 'ACTIVE'",
                  message=f"{vm} ACTIVE on the page")
        # Drawn in its host's column.
        box = "(s) => { const r = document.querySelector(s).getBoundingClientRect(); return [r.left, r.right]; }"
        left, right = page.eval(f"({box})('#host-{host} rect')")
        cl, cr = page.eval(f"({box})('#port-{ports[vm]} circle')")
        assert left < (cl + cr) / 2 < right, (vm, host, left, right, cl, cr)
        assert page.eval(f"{element('host', host)}.dataset.alive") == "true", host
    page.wait(f"document.getElementById('gw-{router['id']}-gw1') !== null && "
              f"document.getElementById('gw-{router['id']}-gw1').dataset.state === 'active'",
              message="gw1 shown as the router's active gateway")

    page.eval("window.__same_page = true")
    sb.run("vm", "create", "vm3", "--host", "cmp1", "--network", "web")
    vm3 = next(v["port_id"] for v in sb.state()["vms"] if v["name"] == "vm3")
    page.wait(f"{element('port', vm3)} !== null && {element('port', vm3)}.dataset.status === 'ACTIVE'", timeout=15,
              message="the new VM on the page, ACTIVE")
    assert page.eval("window.__same_page === true")
    assert page.exceptions == []

    width = page.eval("document.getElementById('topology').getBoundingClientRect().width + 440")
    shot = page.screenshot(tmp_path / "ui-sandbox.png", min_width=max(1280, width))
    artifacts = BUILD_DIR / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, artifacts / "ui-sandbox.png")
    assert (artifacts / "ui-sandbox.png").stat().st_size > 10000
