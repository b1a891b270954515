"""The built-in metadata backend ([metadata] listen): Nova's metadata API answered from the
server's model, as the agents' metadata proxies call it (X-Forwarded-For, X-Instance-ID,
X-Tenant-ID, X-Instance-ID-Signature = hex HMAC-SHA256(secret, instance id)); Nova's
refusals (400 missing header, 403 bad signature, 404 unknown instance or project); and the
[metadata] configuration errors."""
import hashlib
import hmac
import json
import re
import socket
import subprocess
import time
import uuid

import pytest
import requests

from neutrino_api import SERVER_BIN, Server, uniq

SECRET = "md-secret-" + uuid.uuid4().hex[:8]
KEY1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@example"
KEY2 = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 bob@example"
USER_DATA = "#cloud-config\nhostname: vm-one\nruncmd:\n  - [echo, \u00e9t\u00e9]\n"


def sign(instance_id, secret=SECRET):
    message = instance_id if isinstance(instance_id, bytes) else instance_id.encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class Backend:
    def __init__(self, server, port, data_dir):
        self.server = server
        self.url = f"http://127.0.0.1:{port}"
        self.port = port
        self.data_dir = data_dir
        self.session = requests.Session()

    def get(self, path, instance=None, tenant=None, ip=None, signature=None, omit=(), method="GET", extra=None):
        headers = {}
        if instance is not None:
            headers = {"X-Instance-ID": instance, "X-Tenant-ID": tenant, "X-Forwarded-For": ip,
                       "X-Instance-ID-Signature": sign(instance) if signature is None else signature}
        for name in omit:
            headers.pop(name, None)
        headers.update(extra or {})
        return self.session.request(method, self.url + path, headers=headers, timeout=10)


class Vm:
    """An instance: a port whose device_id is the instance id."""

    def __init__(self, backend, instance, project, ip, port):
        self.backend, self.id, self.project, self.ip, self.port = backend, instance, project, ip, port

    def get(self, path, **kw):
        kw.setdefault("instance", self.id)
        kw.setdefault("tenant", self.project)
        kw.setdefault("ip", self.ip)
        return self.backend.get(path, **kw)

    def ok(self, path, **kw):
        r = self.get(path, **kw)
        assert r.status_code == 200, f"{path}: {r.status_code} {r.text}"
        return r


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    work = tmp_path_factory.mktemp("metadata")
    data = work / "instances"
    data.mkdir()
    s = Server(work, name="md", config_text=f"""
[metadata]
listen = 127.0.0.1:0
metadata_proxy_shared_secret = {SECRET}
instance_data_dir = {data}
""")
    try:
        s.start()
        m = re.search(r"metadata backend on 127\.0\.0\.1:(\d+)", s.stdout_path.read_text())
        assert m, s.logs()
        yield Backend(s, int(m.group(1)), data)
    finally:
        s.kill()


@pytest.fixture(scope="module")
def world(backend):
    """A network with a DHCP-less subnet (full addresses in network_data.json), a VM with a
    dns_name, keys, user data and a floating IP, and a second VM without any of them."""
    project = "proj" + uuid.uuid4().hex[:12]
    api = backend.server.client(project=project, roles="admin")
    net = api.network()
    sub = api.subnet(net["id"], "10.30.0.0/24", enable_dhcp=False, dns_nameservers=["10.30.0.53"],
                     host_routes=[{"destination": "192.168.77.0/24", "nexthop": "10.30.0.254"}])
    vm1_id = str(uuid.uuid4())
    p1 = api.port(net["id"], device_id=vm1_id, device_owner="compute:nova", dns_name="vm-one",
                  fixed_ips=[{"subnet_id": sub["id"], "ip_address": "10.30.0.10"}])
    vm2_id = str(uuid.uuid4())
    p2 = api.port(net["id"], device_id=vm2_id, fixed_ips=[{"subnet_id": sub["id"], "ip_address": "10.30.0.11"}])
    ext, _ = api.ext_network("203.0.113.0/24")
    router = api.router()
    api.set_gateway(router["id"], ext["id"])
    api.add_interface(router["id"], subnet_id=sub["id"])
    fip = api.floatingip(ext["id"], port_id=p1["id"])
    (backend.data_dir / vm1_id).mkdir()
    (backend.data_dir / vm1_id / "public_keys").write_text(f"# the VM's keys\nmykey {KEY1}\n\n{KEY2}\n")
    (backend.data_dir / vm1_id / "user_data").write_text(USER_DATA)
    return {"api": api, "net": net, "sub": sub, "project": project, "fip": fip,
            "vm1": Vm(backend, vm1_id, project, "10.30.0.10", p1),
            "vm2": Vm(backend, vm2_id, project, "10.30.0.11", p2)}


def test_version_lists(backend, world):
    r = backend.get("/")  # no headers needed, as Nova
    assert r.status_code == 200
    lines = r.text.split("\n")
    assert lines[0] == "1.0" and "2009-04-04" in lines and lines[-1] == "latest"
    r = world["vm1"].ok("/openstack")
    lines = r.text.split("\n")
    assert "2012-08-10" in lines and "2018-08-27" in lines and lines[-1] == "latest"
    listing = world["vm1"].ok("/openstack/latest").text.split("\n")
    assert {"meta_data.json", "network_data.json", "user_data", "vendor_data.json"} <= set(listing)
    assert "user_data" not in world["vm2"].ok("/openstack/latest").text.split("\n")
    assert world["vm1"].get("/openstack/1999-01-01/meta_data.json").status_code == 404


def test_meta_data_json(world):
    vm = world["vm1"]
    r = vm.ok("/openstack/latest/meta_data.json")
    assert r.headers["Content-Type"].startswith("application/json")
    md = r.json()
    assert md["uuid"] == vm.id
    assert md["hostname"] == "vm-one" and md["name"] == "vm-one"
    assert md["project_id"] == vm.project
    assert md["launch_index"] == 0 and md["availability_zone"] == "nova"
    assert md["public_keys"] == {"mykey": KEY1, "key-1": KEY2}
    assert md["keys"] == [{"name": "mykey", "type": "ssh", "data": KEY1}, {"name": "key-1", "type": "ssh", "data": KEY2}]
    assert md["meta"] == {} and md["devices"] == []
    # a dated version is the same document; a trailing slash and "//" are the same path
    assert vm.ok("/openstack/2018-08-27/meta_data.json").json() == md
    assert vm.ok("//openstack//latest/meta_data.json/").json() == md
    # without dns_name: host-<ip with dashes>; no keys file: no keys
    md2 = world["vm2"].ok("/openstack/latest/meta_data.json").json()
    assert md2["hostname"] == "host-10-30-0-11" and md2["public_keys"] == {} and md2["keys"] == []


def test_network_data_json(world):
    vm = world["vm1"]
    nd = vm.ok("/openstack/latest/network_data.json").json()
    port, net = vm.port, world["net"]
    link = "tap" + port["id"][:11]
    assert nd["links"] == [{"id": link, "vif_id": port["id"], "type": "phy",
                            "ethernet_mac_address": port["mac_address"], "mtu": net["mtu"]}]
    [n] = nd["networks"]
    assert n["type"] == "ipv4" and n["link"] == link and n["network_id"] == net["id"] and n["id"] == "network0"
    assert n["ip_address"] == "10.30.0.10" and n["netmask"] == "255.255.255.0"
    assert n["routes"] == [{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "10.30.0.1"},
                           {"network": "192.168.77.0", "netmask": "255.255.255.0", "gateway": "10.30.0.254"}]
    assert n["services"] == [{"type": "dns", "address": "10.30.0.53"}]
    assert nd["services"] == [{"type": "dns", "address": "10.30.0.53"}]


def test_user_data_and_vendor_data(world):
    vm = world["vm1"]
    r = vm.ok("/openstack/latest/user_data")
    assert r.content == USER_DATA.encode()
    assert vm.ok("/openstack/latest/vendor_data.json").json() == {}
    assert world["vm2"].get("/openstack/latest/user_data").status_code == 404
    assert world["vm2"].get("/latest/user-data").status_code == 404


def test_ec2_paths(world):
    vm = world["vm1"]
    listing = vm.ok("/latest/meta-data/").text.split("\n")
    assert {"instance-id", "hostname", "local-hostname", "local-ipv4", "public-ipv4", "mac", "public-keys/",
            "placement/"} <= set(listing)
    assert listing == sorted(listing)
    assert vm.ok("/latest").text.split("\n") == ["meta-data/", "user-data"]
    assert vm.ok("/latest/meta-data/instance-id").text == vm.id
    assert vm.ok("/latest/meta-data/hostname").text == "vm-one"
    assert vm.ok("/latest/meta-data/local-hostname").text == "vm-one"
    assert vm.ok("/latest/meta-data/local-ipv4").text == "10.30.0.10"
    assert vm.ok("/latest/meta-data/public-ipv4").text == world["fip"]["floating_ip_address"]
    assert vm.ok("/latest/meta-data/mac").text == vm.port["mac_address"]
    assert vm.ok("/latest/meta-data/public-keys/").text == "0=mykey\n1=key-1"
    assert vm.ok("/latest/meta-data/public-keys/0").text == "openssh-key"
    assert vm.ok("/latest/meta-data/public-keys/0/openssh-key").text == KEY1
    assert vm.ok("/latest/meta-data/public-keys/1/openssh-key").text == KEY2
    assert vm.ok("/latest/meta-data/placement/availability-zone").text == "nova"
    assert vm.ok("/latest/user-data").content == USER_DATA.encode()
    assert vm.ok("/2009-04-04/meta-data/instance-id").text == vm.id
    assert vm.ok("/2009-04-04/meta-data/").text == vm.ok("/latest/meta-data").text
    # no floating IP: empty, as Nova; no keys: no public-keys
    assert world["vm2"].ok("/latest/meta-data/public-ipv4").text == ""
    assert "public-keys/" not in world["vm2"].ok("/latest/meta-data/").text.split("\n")
    for path in ("/latest/meta-data/nothing", "/latest/meta-data/instance-id/more", "/2031-01-01/meta-data/",
                 "/openstack/latest/nothing.json", "/openstack/latest/meta_data.json/uuid"):
        assert vm.get(path).status_code == 404, path


@pytest.mark.parametrize("header", ["X-Instance-ID", "X-Instance-ID-Signature", "X-Tenant-ID", "X-Forwarded-For"])
def test_missing_header_is_400(world, header):
    r = world["vm1"].get("/openstack/latest/meta_data.json", omit=[header])
    assert r.status_code == 400, r.text
    assert header in r.text


def test_bad_signature_is_403(world):
    vm = world["vm1"]
    for bad in ("", "0" * 64, sign(vm.id, secret="other"), sign(world["vm2"].id), sign(vm.id).upper(),
                sign(vm.id)[:-1]):
        r = vm.get("/openstack/latest/meta_data.json", signature=bad)
        assert r.status_code == 403, (bad, r.text)
        assert "Invalid proxy request signature" in r.text
    # the signature of the instance another VM names does not pass for this one
    r = vm.get("/latest/meta-data/instance-id", instance=world["vm2"].id, signature=sign(vm.id))
    assert r.status_code == 403


def test_wrong_address_project_or_instance_is_refused(world):
    vm = world["vm1"]
    # another VM's address (a proxy confused, or a VM asking for another's data)
    assert vm.get("/openstack/latest/meta_data.json", ip=world["vm2"].ip).status_code == 404
    assert vm.get("/openstack/latest/meta_data.json", ip="10.99.0.1").status_code == 404
    assert vm.get("/openstack/latest/meta_data.json", ip="not-an-ip").status_code == 400
    # another project: Nova's 404
    assert vm.get("/openstack/latest/meta_data.json", tenant="someone-else").status_code == 404
    # no port names the instance
    assert vm.get("/openstack/latest/meta_data.json", instance=str(uuid.uuid4())).status_code == 404
    # a router's port is no instance even when a signature names the router
    router_port = [p for p in world["api"].list("ports", {"network_id": world["net"]["id"]})
                   if p["device_owner"] == "network:router_interface"][0]
    assert vm.get("/latest/meta-data/instance-id", instance=router_port["device_id"],
                  ip=router_port["fixed_ips"][0]["ip_address"]).status_code == 404


def test_instance_ids_that_could_name_other_files_are_refused(backend, world):
    api, net, sub = world["api"], world["net"], world["sub"]
    # a file one level above instance_data_dir, and a port whose device_id is ".." so that
    # everything but the id check would serve it
    (backend.data_dir.parent / "user_data").write_text("NOT FOR VMS")
    (backend.data_dir.parent / "public_keys").write_text("ssh-rsa NOTFORVMS")
    api.port(net["id"], device_id="..", fixed_ips=[{"subnet_id": sub["id"], "ip_address": "10.30.0.20"}])
    for bad in ("..", ".", "../..", "../../etc", "a/../..", "a b", "%2e%2e", "..\\..", "x\u00e9"):
        for path in ("/openstack/latest/user_data", "/openstack/latest/meta_data.json", "/latest/user-data"):
            r = backend.get(path, instance=bad, tenant=world["project"], ip="10.30.0.20",
                            extra={"X-Instance-ID": bad.encode("utf-8").decode("latin-1")},
                            signature=sign(bad.encode("utf-8")))  # as the bytes arrive
            assert r.status_code in (400, 404), (bad, path, r.status_code)
            assert "NOT FOR VMS" not in r.text and "NOTFORVMS" not in r.text


def test_methods_other_than_get_and_head(world):
    vm = world["vm1"]
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        r = vm.get("/openstack/latest/meta_data.json", method=method)
        assert r.status_code == 405, method
    r = vm.get("/openstack/latest/meta_data.json", method="HEAD")
    assert r.status_code == 200 and r.content == b"" and int(r.headers["Content-Length"]) > 0


def raw(backend, data, timeout=5):
    """Sends bytes as they are; returns what came back (maybe nothing)."""
    with socket.create_connection(("127.0.0.1", backend.port), timeout=timeout) as s:
        s.sendall(data)
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except (socket.timeout, ConnectionResetError):
            pass
        return out


def test_garbage_does_not_crash_the_server(backend, world):
    vm = world["vm1"]
    sig = sign(vm.id).encode()
    head = (b"X-Tenant-ID: " + vm.project.encode() + b"\r\nX-Forwarded-For: 10.30.0.10\r\n"
            b"X-Instance-ID-Signature: " + sig + b"\r\n")
    # duplicated identity headers: Nova's 400
    out = raw(backend, b"GET /latest/meta-data/instance-id HTTP/1.1\r\nHost: x\r\nX-Instance-ID: " + vm.id.encode() +
              b"\r\nX-Instance-ID: " + vm.id.encode() + b"\r\n" + head + b"\r\n")
    assert out.startswith(b"HTTP/1.1 400"), out[:200]
    garbage = [
        b"\x00\x01\x02\xff" * 100,
        b"GET\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"GET " + b"/a" * 40000 + b" HTTP/1.1\r\n\r\n",
        b"GET /latest/meta-data/%00%ff/../../.. HTTP/1.1\r\nHost: x\r\n" + head + b"X-Instance-ID: \xff\xfe\r\n\r\n",
        b"GET /openstack/latest/meta_data.json HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 10.30.0.10, 10.30.0.11\r\n"
        b"X-Instance-ID: " + vm.id.encode() + b"\r\nX-Tenant-ID: " + vm.project.encode() +
        b"\r\nX-Instance-ID-Signature: " + sig + b"\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\nxx",
        b"GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"GET / HTTP/1.1\r\nX-Long: " + b"a" * 100000 + b"\r\n\r\n",
        b"\r\n\r\n\r\n",
        b"GET ?? HTTP/1.1\r\n\r\n",
        b"GET /openstack/latest/../../../../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
    ]
    for g in garbage:
        out = raw(backend, g)
        assert b"root:" not in out
        if out:
            assert re.match(rb"HTTP/1\.[01] [2345]\d\d ", out), out[:200]
    # still answering, both listeners
    assert backend.get("/").status_code == 200
    assert vm.ok("/latest/meta-data/instance-id").text == vm.id
    assert backend.server.alive()
    assert backend.server.client()("GET", "/v2.0/networks").status_code == 200


def test_backend_follows_the_model(world):
    """A port update (dns_name) is answered at once; a deleted port is no instance."""
    api = world["api"]
    vm2 = world["vm2"]
    api.update("ports", vm2.port["id"], dns_name="renamed")
    assert vm2.ok("/latest/meta-data/hostname").text == "renamed"
    api.update("ports", vm2.port["id"], dns_name="")
    assert vm2.ok("/latest/meta-data/hostname").text == "host-10-30-0-11"
    temp_id = str(uuid.uuid4())
    port = api.port(world["net"]["id"], device_id=temp_id,
                    fixed_ips=[{"subnet_id": world["sub"]["id"], "ip_address": "10.30.0.30"}])
    vm = Vm(vm2.backend, temp_id, world["project"], "10.30.0.30", port)
    assert vm.ok("/latest/meta-data/instance-id").text == temp_id
    api.delete("ports", port["id"])
    assert vm.get("/latest/meta-data/instance-id").status_code == 404


def test_backend_off_by_default(new_server):
    s = new_server()
    assert "metadata backend on" not in s.stdout_path.read_text()


def test_empty_secret_is_an_empty_key(new_server, tmp_path):
    """As Nova: no secret configured still checks the signature, keyed with ''."""
    s = new_server(config_text="[metadata]\nlisten = 127.0.0.1:0\n")
    port = int(re.search(r"metadata backend on 127\.0\.0\.1:(\d+)", s.stdout_path.read_text()).group(1))
    api = s.client(project="p-empty", roles="admin")
    net, sub = api.net_with_subnet("10.40.0.0/24")
    vm_id = str(uuid.uuid4())
    api.port(net["id"], device_id=vm_id, fixed_ips=[{"subnet_id": sub["id"], "ip_address": "10.40.0.5"}])
    b = Backend(s, port, tmp_path)
    common = dict(instance=vm_id, tenant="p-empty", ip="10.40.0.5")
    assert b.get("/latest/meta-data/instance-id", signature=sign(vm_id, secret=""), **common).text == vm_id
    assert b.get("/latest/meta-data/instance-id", signature=sign(vm_id, secret="x"), **common).status_code == 403
    assert b.get("/latest/user-data", signature=sign(vm_id, secret=""), **common).status_code == 404
    assert "metadata_proxy_shared_secret is empty" in s.stdout_path.read_text() + s.stderr_path.read_text()


def run_with_config(tmp_path, text, *extra):
    ini = tmp_path / "server.ini"
    ini.write_text(text)
    p = subprocess.run([str(SERVER_BIN), "--config-file", str(ini), "--database", str(tmp_path / "c.db"),
                        "--port", "0", *extra], capture_output=True, text=True, timeout=20)
    return p, p.stdout + p.stderr


@pytest.mark.parametrize("text,expected", [
    ("[metadata]\nlisten = localhost:8775\n", 'server.ini:2: option "listen" in [metadata]'),
    ("[metadata]\nlisten = 127.0.0.1\n", 'server.ini:2: option "listen" in [metadata]'),
    ("[metadata]\n\nlisten = 127.0.0.1:65536\n", 'server.ini:3: option "listen" in [metadata]'),
    ("[metadata]\nlisten = 127.0.0.1:port\n", 'server.ini:2: option "listen" in [metadata]'),
    ("[metadata]\nlisten = ::1:8775\n", 'server.ini:2: option "listen" in [metadata]'),
    ("[metadata]\nlisten = :8775\n", 'server.ini:2: option "listen" in [metadata]'),
    ("[metadata]\ninstance_data_dir = relative/dir\n", 'server.ini:2: option "instance_data_dir" in [metadata]'),
    ("[metadata]\ninstance_data_dir = /nonexistent/neutrino-md\n", 'server.ini:2: option "instance_data_dir"'),
    ("[metadata]\nlistne = 127.0.0.1:8775\n", 'server.ini:2:'),
])
@pytest.mark.parametrize("check_only", [True, False])
def test_bad_metadata_config_is_reported(tmp_path, text, expected, check_only):
    p, out = run_with_config(tmp_path, text, *(["--check-config"] if check_only else []))
    assert p.returncode > 0, out
    assert expected in out, out
    assert "terminate called" not in out and "listening" not in out


@pytest.mark.parametrize("listen", ["127.0.0.1:0", "[::1]:0", "0.0.0.0:8775"])
def test_good_metadata_config(tmp_path, listen):
    p, out = run_with_config(tmp_path, f"[metadata]\nlisten = {listen}\ninstance_data_dir = {tmp_path}\n",
                             "--check-config")
    assert p.returncode == 0 and "configuration OK" in out, out


def test_metadata_port_in_use_is_an_error(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        p, out = run_with_config(tmp_path, f"[metadata]\nlisten = 127.0.0.1:{port}\n")
    assert p.returncode == 1 and "[metadata]" in out and "cannot listen" in out, out
