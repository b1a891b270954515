"""Agents in other network namespaces reach the server through a Unix socket (the sandbox
does this): the API and the agent channel answer there as on TCP."""
import http.client
import json
import socket


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=10)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(self.path)


def call(path, method, url, body=None):
    conn = UnixConnection(path)
    conn.request(method, url, body=None if body is None else json.dumps(body),
                 headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, json.loads(data) if data else None


def test_api_and_agent_channel_over_a_unix_socket(new_server, tmp_path):
    sock = tmp_path / "neutrino.sock"
    srv = new_server(config_text=f"[agent]\nunix_socket = {sock}\n")
    assert sock.is_socket()
    status, body = call(str(sock), "POST", "/agent/v1/register",
                        {"host": "cmp1", "agent_mode": "dvr", "local_ip": "192.0.2.1"})
    assert status == 200 and body["dvr_mac"].startswith("fa:16:3f:")
    status, body = call(str(sock), "POST", "/v2.0/networks", {"network": {"name": "via-unix"}})
    assert status == 201
    # The same store answers on TCP.
    names = [n["name"] for n in srv.client().list("networks")]
    assert "via-unix" in names
    status, body = call(str(sock), "GET", "/v2.0/networks/nope")
    assert status == 404 and body["NeutronError"]["type"] == "NetworkNotFound"


def test_a_regular_file_is_not_replaced(new_server, tmp_path):
    path = tmp_path / "precious"
    path.write_text("keep me")
    try:
        new_server(config_text=f"[agent]\nunix_socket = {path}\n")
        raise AssertionError("the server started over a regular file")
    except Exception as e:  # the fixture reports the server's early exit
        assert "not a socket" in str(e) or "exited" in str(e).lower(), e
    assert path.read_text() == "keep me"
