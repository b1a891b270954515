"""neutrino-watch-scale (bench/watch_scale.cc, issue 18) at small N, as a correctness test.

The tool registers hosts through the agent channel, keeps one watch stream per host
decoding every line with the agent's own code, and binds ports the way Nova does. Here:
every watcher's final view equals the server's recompute of its host's view (digest of
every entry), every bound port reached every host of its network, and no stream was cut
while it kept up. Restarted under load, the server resumes every watcher that kept up
without a snapshot (the view's digest at the server's start), and only the watchers that
fell behind get one.
"""
import json
import socket
import subprocess

from neutrino_api import BUILD_DIR, SERVER_BIN

TOOL = BUILD_DIR / "bin" / "neutrino-watch-scale"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_tool(tmp_path, *args):
    """Runs the tool with a server of its own (it starts and restarts it); its summary."""
    port = free_port()
    summary = tmp_path / "summary.json"
    log = tmp_path / "server.log"
    cmd = [str(TOOL), "--url", f"http://127.0.0.1:{port}", "--json", str(summary), "--server-log", str(log),
           *args, "--", str(SERVER_BIN), "--database", str(tmp_path / "neutrino.db"), "--port", str(port)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"{r.stderr}\n--- server log ---\n{log.read_text(errors='replace')[-4000:]}"
    return json.loads(summary.read_text())


def test_every_watcher_ends_with_the_recomputed_view(tmp_path):
    s = run_tool(tmp_path, "--hosts", "50", "--span", "10", "--rate", "40", "--seconds", "10", "--verify")
    verify = s["verify"]
    assert verify["checked"] == 50
    assert verify["equal"], verify["wrong"]
    steady = s["steady"]
    # 400 ports, each awaited on the 10 hosts of its network.
    assert steady["deliveries_expected"] == 4000
    assert steady["deliveries_missing"] == 0
    assert steady["delivery_ms"]["n"] == 4000
    assert steady["stream_ends"] == 0
    # A member joining the default group is one small entry per host, not the group's list.
    assert 0 < steady["bytes_per_delivery"] < 1024, steady


def test_restart_storm_resumes_without_snapshots(tmp_path):
    s = run_tool(tmp_path, "--hosts", "50", "--span", "0", "--rate", "40", "--seconds", "6",
                 "--restart-at", "3", "--lagging", "5", "--verify")
    restart = s["restart"]
    assert restart["in_sync"] == 50
    # The 45 watchers that kept up resume from the history; the 5 kept away get a whole view.
    assert restart["full_views"] == 5, restart
    assert restart["all_in_sync_ms"] < 5000, restart
    assert s["verify"]["equal"], s["verify"]["wrong"]
    assert s["steady"]["deliveries_missing"] == 0
