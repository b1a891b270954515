"""`neutrino-agent --check-config`: a broken agent.ini gives one line naming the file, the
line, the option and what is wrong (or the fix), and a non-zero exit, never a traceback;
the host's part (bridge_mappings interfaces, the server at server_url) is checked too."""
import shutil
import socket
import subprocess
import time

import pytest

from neutrino_api import BUILD_DIR, REPO_ROOT

AGENT_BIN = BUILD_DIR / "bin" / "neutrino-agent"

# SERVER: the session's live server (the tests below replace it), so that the one problem
# of each broken file is the only line.
GOOD = ("[DEFAULT]\nhost = cmp1\nlocal_ip = 192.0.2.11\nagent_mode = dvr\nbridge_mappings = physnet1:lo\n"
        "server_url = SERVER\n")


def check(tmp_path, text, *extra, name="agent.ini"):
    ini = tmp_path / name
    ini.write_text(text)
    p = subprocess.run([str(AGENT_BIN), "--config-file", str(ini), "--check-config", *extra],
                       capture_output=True, text=True, timeout=20)
    lines = [line for line in (p.stdout + p.stderr).splitlines() if line.strip()]
    return p, lines


def assert_clean(p, lines):
    out = "\n".join(lines)
    assert "Traceback" not in out and "terminate called" not in out and "what():" not in out, out
    assert p.returncode >= 0, f"killed by signal {-p.returncode}: {out}"


# Ten (and a few more) broken files: each is one line with file:line, the option and the
# fix; the interfaces and the server are only looked at once the file itself reads.
BROKEN = [
    pytest.param(GOOD + "report_intervall = 5\n", "agent.ini:7:",
                 ['"report_intervall"', 'did you mean "report_interval"'], id="misspelt-option"),
    pytest.param(GOOD + "[ha]\nbfd_min_rx = 50\n", "agent.ini:8:",
                 ['"bfd_min_rx"', "[ha]", 'did you mean "bfd_min_rx_ms"'], id="misspelt-ha-option"),
    pytest.param(GOOD + "report_interval = fast\n", "agent.ini:7:",
                 ['"report_interval"', '"fast" is not an integer'], id="not-an-integer"),
    pytest.param(GOOD + "report_interval = 0\n", "agent.ini:7:",
                 ['"report_interval"', "within 1..3600"], id="interval-out-of-range"),
    pytest.param(GOOD + "nova_metadata_port = 70000\n", "agent.ini:7:",
                 ['"nova_metadata_port"', "within 1..65535"], id="port-out-of-range"),
    pytest.param(GOOD + "[ha]\nbfd_detect_mult = 300\n", "agent.ini:8:",
                 ['"bfd_detect_mult"', "[ha]", "within 1..255"], id="ha-multiplier-out-of-range"),
    pytest.param(GOOD + "[ha]\nenabled = maybe\n", "agent.ini:8:",
                 ['"enabled"', "[ha]", "not a boolean"], id="not-a-boolean"),
    pytest.param(GOOD.replace("physnet1:lo", "physnet1:nt-absent0"), "agent.ini:5:",
                 ['"bridge_mappings"', '"nt-absent0"', "does not exist on this host"], id="missing-interface"),
    pytest.param(GOOD.replace("physnet1:lo", "physnet1:lo,physnet1:nt-absent0"), "agent.ini:5:",
                 ['"bridge_mappings"', '"physnet1" is mapped twice'], id="physnet-mapped-twice"),
    pytest.param(GOOD.replace("physnet1:lo", "physnet1"), "agent.ini:5:",
                 ['"bridge_mappings"', "is not physnet:interface"], id="mapping-without-interface"),
    pytest.param(GOOD.replace("SERVER", "http://127.0.0.1:1"), "agent.ini:6:",
                 ['"server_url"', "http://127.0.0.1:1 is unreachable", "refused"], id="unreachable-server"),
    pytest.param(GOOD.replace("SERVER", "http://127.0.0.1:99999"), "agent.ini:6:",
                 ["server_url", 'port "99999" is not within 1..65535'], id="server-port-out-of-range"),
    pytest.param(GOOD.replace("SERVER", "https://controller:9696"), "agent.ini:6:",
                 ["server_url", "neither http://host:port nor unix:///path"], id="server-url-scheme"),
    pytest.param("# the agent of cmp1\n[DEFAULT]\nlocal_ip = 192.0.2.11\nserver_url = SERVER\n", "agent.ini:2:",
                 ['"host"', "is required"], id="missing-host"),
    pytest.param("[DEFAULT]\nhost = cmp1\nserver_url = SERVER\n", "agent.ini:1:",
                 ['"local_ip"', "is required"], id="missing-local-ip"),
    pytest.param(GOOD + "[default]\nreport_interval = 5\n", "agent.ini:7:",
                 ["[default]", 'did you mean "DEFAULT"'], id="misspelt-section"),
    pytest.param(GOOD + "[ha\nenabled = false\n", "agent.ini:7:",
                 ['section header not closed: "[ha"'], id="section-not-closed"),
    pytest.param(GOOD.replace("agent_mode = dvr", "agent_mode = dvr-snat"), "agent.ini:4:",
                 ['"agent_mode"', '"dvr-snat" is not dvr or dvr_snat'], id="bad-agent-mode"),
    pytest.param(GOOD.replace("192.0.2.11", "192.0.2.300"), "agent.ini:3:",
                 ['"local_ip"', '"192.0.2.300" is not an IP address'], id="bad-local-ip"),
    pytest.param(GOOD + "metrics_bind = 127.0.0.1:99999\n", "agent.ini:7:",
                 ['"metrics_bind"', "is not a port"], id="metrics-port-out-of-range"),
    pytest.param(GOOD + "nova_client_cert = /etc/neutrino/client.pem\n", "agent.ini:7:",
                 ['"nova_client_cert"', '"nova_client_priv_key"', "go together"], id="cert-without-key"),
]


@pytest.mark.parametrize("text,where,words", BROKEN)
def test_broken_agent_ini_is_one_line(tmp_path, server, text, where, words):
    p, lines = check(tmp_path, text.replace("SERVER", server.url))
    assert_clean(p, lines)
    assert p.returncode == 2, lines
    assert len(lines) == 1, lines
    assert lines[0].startswith("neutrino-agent: " + where), lines
    for w in words:
        assert w in lines[0], lines


# What the file alone gets wrong: the agent's normal start reads the same file and stops there.
FILE_PROBLEMS = {"misspelt-option", "misspelt-ha-option", "not-an-integer", "interval-out-of-range",
                 "port-out-of-range", "not-a-boolean", "mapping-without-interface", "server-url-scheme", "missing-host",
                 "missing-local-ip", "misspelt-section", "section-not-closed", "bad-agent-mode", "bad-local-ip",
                 "metrics-port-out-of-range", "cert-without-key", "server-port-out-of-range", "ha-multiplier-out-of-range"}


@pytest.mark.parametrize("text,where,words", [b for b in BROKEN if b.id in FILE_PROBLEMS])
def test_broken_agent_ini_stops_a_normal_start_with_one_line(tmp_path, text, where, words):
    """No --check-config: the agent starting for real on a broken file exits 2 with the same
    one line (file:line, the option), before it registers or touches the kernel."""
    ini = tmp_path / "agent.ini"
    ini.write_text(text.replace("SERVER", "http://127.0.0.1:1"))
    p = subprocess.run([str(AGENT_BIN), "--config-file", str(ini)], capture_output=True, text=True, timeout=20,
                       stdin=subprocess.DEVNULL)
    lines = [line for line in (p.stdout + p.stderr).splitlines() if line.strip()]
    assert_clean(p, lines)
    assert p.returncode == 2, lines
    assert len(lines) == 1, lines
    assert lines[0].startswith("neutrino-agent: " + where), lines
    for w in words:
        assert w in lines[0], lines


def test_good_agent_ini_with_a_live_server(tmp_path, server):
    p, lines = check(tmp_path, GOOD.replace("SERVER", server.url))
    assert_clean(p, lines)
    assert p.returncode == 0, lines
    assert lines == ["neutrino-agent: configuration OK: host cmp1, agent_mode dvr, local_ip 192.0.2.11, "
                     f"1 bridge mapping (interfaces present), server {server.url} answers"], lines


def test_no_server_check_skips_only_the_server(tmp_path):
    p, lines = check(tmp_path, GOOD.replace("SERVER", "http://127.0.0.1:1"), "--no-server-check")
    assert p.returncode == 0 and len(lines) == 1 and "server not checked" in lines[0], lines
    p, lines = check(tmp_path, GOOD.replace("physnet1:lo", "physnet1:nt-absent0").replace("SERVER", "http://127.0.0.1:1"),
                     "--no-server-check")
    assert p.returncode == 2 and len(lines) == 1 and "nt-absent0" in lines[0], lines


def test_every_host_problem_is_its_own_line(tmp_path):
    text = GOOD.replace("physnet1:lo", "physnet1:nt-absent0,physnet2:lo,physnet3:nt-absent1")
    p, lines = check(tmp_path, text.replace("SERVER", "http://127.0.0.1:1"))
    assert_clean(p, lines)
    assert p.returncode == 2
    assert len(lines) == 3, lines
    assert '"nt-absent0" (physnet1) does not exist' in lines[0] and "agent.ini:5:" in lines[0], lines
    assert '"nt-absent1" (physnet3) does not exist' in lines[1] and "agent.ini:5:" in lines[1], lines
    assert "agent.ini:6:" in lines[2] and "unreachable" in lines[2], lines


def test_a_server_that_never_answers_is_bounded(tmp_path):
    """A listener that accepts (the kernel's backlog) but never answers: the check gives up
    after 2 s with one line instead of hanging."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        port = silent.getsockname()[1]
        start = time.monotonic()
        p, lines = check(tmp_path, GOOD.replace("SERVER", f"http://127.0.0.1:{port}"))
        took = time.monotonic() - start
    assert p.returncode == 2 and len(lines) == 1, lines
    assert "no answer within 2 s" in lines[0] and "agent.ini:6:" in lines[0], lines
    assert took < 5, took


def test_a_default_server_url_is_named_with_the_section(tmp_path):
    """server_url left out: the default (http://127.0.0.1:9696) is what is checked, and the
    line is the [DEFAULT] header's, where the option would go."""
    text = GOOD.replace("[DEFAULT]", "# cmp1\n[DEFAULT]").replace("server_url = SERVER\n", "")
    p, lines = check(tmp_path, text, "--no-server-check")
    assert p.returncode == 0, lines
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 9696)) == 0:
            pytest.skip("something listens on 127.0.0.1:9696")
    p, lines = check(tmp_path, text)
    assert p.returncode == 2 and len(lines) == 1, lines
    assert lines[0].startswith('neutrino-agent: agent.ini:2: option "server_url" in [DEFAULT] (not set, so its default): '
                               "http://127.0.0.1:9696 is unreachable"), lines


def test_an_ignored_section_is_a_warning_not_a_failure(tmp_path):
    p, lines = check(tmp_path, GOOD.replace("SERVER", "http://127.0.0.1:1") + "[keystone_authtoken]\nauth_url = http://k:5000\n",
                     "--no-server-check")
    assert p.returncode == 0, lines
    assert len(lines) == 2, lines
    assert p.stderr.startswith("neutrino-agent: warning: agent.ini:7: section [keystone_authtoken]"), lines
    assert p.stdout.startswith("neutrino-agent: configuration OK"), lines


def test_ipv6_local_ip_warns_that_bfd_is_off(tmp_path):
    p, lines = check(tmp_path, GOOD.replace("192.0.2.11", "2001:db8::11").replace("SERVER", "http://127.0.0.1:1"),
                     "--no-server-check")
    assert_clean(p, lines)
    assert p.returncode == 0, lines
    assert lines[0] == ("neutrino-agent: warning: agent.ini:3: gateway HA's BFD needs an IPv4 local_ip; "
                        "[ha] enabled is ignored"), lines
    assert len(lines) == 2 and "configuration OK" in lines[1], lines


@pytest.mark.parametrize("path,expected", [("nonexistent.ini", "cannot open the file"), (".", "is a directory")])
def test_a_file_that_cannot_be_read(tmp_path, path, expected):
    p = subprocess.run([str(AGENT_BIN), "--config-file", str(tmp_path / path), "--check-config"],
                       capture_output=True, text=True, timeout=20)
    lines = [line for line in (p.stdout + p.stderr).splitlines() if line.strip()]
    assert p.returncode == 2 and len(lines) == 1 and expected in lines[0], lines


def test_the_shipped_agent_ini_reads(tmp_path):
    """etc/neutrino/agent.ini as shipped: the file is right; on this machine eth1 may be
    missing, and nothing else may be wrong."""
    shipped = (REPO_ROOT / "etc" / "neutrino" / "agent.ini").read_text()
    p, lines = check(tmp_path, shipped, "--no-server-check")
    assert_clean(p, lines)
    assert p.returncode == 0 or (len(lines) == 1 and '"eth1" (physnet1) does not exist' in lines[0]), lines


def test_logs_under_journald_carry_the_priority(tmp_path):
    """Under systemd (JOURNAL_STREAM names stdout) a log line is "<N>message": journald takes
    N as the priority and keeps its own timestamp; elsewhere spdlog's usual line."""
    bfd = BUILD_DIR / "bin" / "neutrino-bfd"
    cmd = [str(bfd), "--device", "nt-absent0", "--control", str(tmp_path / "bfd.sock")]
    out = tmp_path / "journal"
    with open(out, "w") as f:
        st = out.stat()
        p = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, timeout=20,
                           env={"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"})
    assert p.returncode != 0
    assert out.read_text().splitlines() == ["<3>neutrino-bfd: interface nt-absent0: No such device"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=20, env={"JOURNAL_STREAM": "1:2"})
    assert "[error] neutrino-bfd: interface nt-absent0: No such device" in p.stdout + p.stderr


def test_systemd_units_verify(tmp_path):
    """etc/systemd: both units check their configuration before starting, restart on
    failure, and pass `systemd-analyze verify` (with the binaries of this build)."""
    units = {}
    for name in ("neutrino-server.service", "neutrino-agent.service"):
        text = (REPO_ROOT / "etc" / "systemd" / name).read_text()
        assert "Restart=on-failure" in text and "Type=exec" in text
        assert any(line.startswith("ExecStartPre=") and "--check-config" in line for line in text.splitlines())
        (tmp_path / name).write_text(text.replace("/usr/local/bin/", str(BUILD_DIR / "bin") + "/"))
        units[name] = text
    assert "KillMode=process" in units["neutrino-agent.service"]
    assert "CAP_NET_ADMIN CAP_SYS_ADMIN CAP_NET_RAW" in units["neutrino-agent.service"]
    # No mount namespace of its own for the agent: it would hide the agent's /run/netns mounts.
    private_mounts = ("ProtectSystem=", "ProtectHome=", "PrivateTmp=", "PrivateDevices=", "ProtectKernelTunables=",
                      "ProtectControlGroups=", "ReadWritePaths=", "ReadOnlyPaths=", "TemporaryFileSystem=")
    assert not [line for line in units["neutrino-agent.service"].splitlines() if line.startswith(private_mounts)]
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        pytest.skip("systemd-analyze is not installed")
    p = subprocess.run([analyze, "verify", *(str(tmp_path / n) for n in units)], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr


def test_server_port_flag_is_range_checked(tmp_path):
    """--port is checked as bind_port is: 70000 is refused, never wrapped to 4464."""
    server_bin = BUILD_DIR / "bin" / "neutrino-server"
    p = subprocess.run([str(server_bin), "--port", "70000", "--database", str(tmp_path / "x.db")],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode != 0 and "listening" not in p.stdout, p.stdout + p.stderr
    assert "--port: Value 70000 not in range 0 to 65535" in p.stderr, p.stderr
