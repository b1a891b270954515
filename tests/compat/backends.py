"""The two servers the differential harness compares, started the same way:

- Neutron 21 from Debian (`neutron-server`, ML2 with no mechanism drivers and no agents,
  the router service plugin, SQLite, noauth with the Keystone context middleware so that
  X-Project-Id / X-Roles headers act as a token would).
- neutrino-server from this tree with the same type drivers, VNI/VLAN ranges and quotas.

Each runs in its own temporary directory on a free loopback port and is stopped by its PID.
"""
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("NEUTRINO_BUILD_DIR", ROOT / "build"))

# The settings both servers share.
VNI_RANGES = "1:1000"
VLAN_RANGES = "physnet1:100:199,physnet2"
FLAT_NETWORKS = "physnet1,physnet2"

# The type drivers and their ranges, one text for both servers so that they cannot drift
# apart; `ml2_extra` holds the [ml2] options only Neutron has.
ML2 = """[ml2]
type_drivers = flat,vlan,vxlan
tenant_network_types = vxlan
{ml2_extra}[ml2_type_vxlan]
vni_ranges = %s
[ml2_type_vlan]
network_vlan_ranges = %s
[ml2_type_flat]
flat_networks = %s
""" % (VNI_RANGES, VLAN_RANGES, FLAT_NETWORKS)

NEUTRON_CONF = """[DEFAULT]
core_plugin = ml2
service_plugins = router,port_forwarding
auth_strategy = noauth
bind_host = 127.0.0.1
bind_port = {port}
api_workers = 0
rpc_workers = 0
rpc_state_report_workers = 0
state_path = {dir}
transport_url = fake://
api_paste_config = {dir}/api-paste.ini
allow_overlapping_ips = true
[database]
connection = sqlite:///{dir}/neutron.db
[oslo_concurrency]
lock_path = {dir}/lock
""" + ML2.format(ml2_extra="mechanism_drivers =\nextension_drivers = port_security,dns\n")

# The Neutron above runs no DHCP agent, so it makes no network:dhcp ports; neither may we.
NEUTRINO_CONF = "[DEFAULT]\ndhcp_agent_notification = false\n" + ML2.format(ml2_extra="")

# Neutron's schema straight from its models (the migrations need more than SQLite offers).
MAKE_SCHEMA = """
import sqlalchemy
from neutron.db.migration.models import head
engine = sqlalchemy.create_engine("sqlite:///{dir}/neutron.db")
head.get_metadata().create_all(engine)
# WAL (kept in the file): Neutron's background work and its API then lock each other out
# far less often ("database is locked" answered as a 500).
with engine.connect() as c:
    c.exec_driver_sql("PRAGMA journal_mode=WAL")
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url, proc, log, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the server exited; see {log}")
        try:
            if requests.get(url + "/v2.0/networks", headers={"X-Project-Id": "probe", "X-User-Id": "probe", "X-Roles": "admin"},
                            timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url}: not up after {timeout} s; see {log}")


class Server:
    name = ""
    retries_locked_database = False

    def __init__(self, workdir):
        self.dir = Path(workdir) / self.name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


class Neutron(Server):
    name = "neutron"
    retries_locked_database = True

    def locked_since(self, response):
        """Whether Neutron's log says this request failed on SQLite's "database is locked"."""
        req = response.headers.get("x-openstack-request-id", "")
        log = self.dir / "server.log"
        if not req or not log.exists():
            return False
        return any(req in line and "database is locked" in line for line in log.read_text(errors="replace").splitlines())

    @staticmethod
    def available():
        return shutil.which("neutron-server") is not None

    def start(self):
        d = self.dir
        (d / "lock").mkdir(exist_ok=True)
        (d / "neutron.conf").write_text(NEUTRON_CONF.format(port=self.port, dir=d))
        # Debian's pipeline with the Keystone context instead of the fake project id: requests
        # carry X-Project-Id, X-User-Id and X-Roles, as behind keystonemiddleware.
        paste = Path("/etc/neutron/api-paste.ini").read_text().replace(
            "request_id fake_project_id catch_errors osprofiler extensions",
            "request_id catch_errors osprofiler keystonecontext extensions")
        (d / "api-paste.ini").write_text(paste)
        subprocess.run([sys.executable if Path(sys.executable).name.startswith("python3") else "/usr/bin/python3", "-c",
                        MAKE_SCHEMA.format(dir=d)], check=True, capture_output=True)
        log = d / "server.log"
        self.proc = subprocess.Popen(["neutron-server", "--config-file", str(d / "neutron.conf"), "--log-file", str(log)],
                                     stdout=subprocess.DEVNULL, stderr=open(d / "stderr.log", "w"))
        wait_up(self.url, self.proc, log)
        return self


class Neutrino(Server):
    name = "neutrino"

    def start(self):
        d = self.dir
        (d / "server.ini").write_text(NEUTRINO_CONF)
        log = d / "server.log"
        self.proc = subprocess.Popen([str(BUILD / "bin" / "neutrino-server"), "--config-file", str(d / "server.ini"),
                                      "--database", str(d / "neutrino.db"), "--port", str(self.port)],
                                     stdout=open(log, "w"), stderr=subprocess.STDOUT)
        wait_up(self.url, self.proc, log)
        return self
