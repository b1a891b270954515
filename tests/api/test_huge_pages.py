"""The server asks glibc for transparent huge pages on its heap (src/common/huge_pages.h):
it runs itself again, same pid, with glibc.malloc.hugetlb=1 added to GLIBC_TUNABLES, and
keeps whatever the operator set (=0 turns it off). The planner's boot of a 2,000-host cloud
is ~20% faster with it (docs/benchmarks.md); here: what an operator can see of it."""
from pathlib import Path

import pytest
import requests

from neutrino_api import Server


def thp_mode():
    text = Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text()
    return text[text.index("[") + 1:text.index("]")]


def tunables_of(server):
    """GLIBC_TUNABLES as the process was started with it. glibc's loader cuts the value at
    each ':' in place (a NUL for each), so the tunables after the first follow it as
    entries of their own in /proc/PID/environ: they all start with "glibc."."""
    environ = Path(f"/proc/{server.proc.pid}/environ").read_bytes().decode(errors="replace").split("\0")
    for i, entry in enumerate(environ):
        if entry.startswith("GLIBC_TUNABLES="):
            parts = [entry.split("=", 1)[1]]
            for e in environ[i + 1:]:
                if not e.startswith("glibc."):
                    break
                parts.append(e)
            return ":".join(parts)
    return None


@pytest.mark.skipif(thp_mode() == "never", reason="this kernel never gives transparent huge pages")
def test_server_runs_with_huge_page_heap_and_keeps_operator_tunables(tmp_path, monkeypatch):
    cases = [
        ("plain", None, "glibc.malloc.hugetlb=1"),
        # The operator's other tunables stay, in front.
        ("more", "glibc.malloc.arena_max=4", "glibc.malloc.arena_max=4:glibc.malloc.hugetlb=1"),
        # An explicit choice wins: no re-execution, the environment as given.
        ("off", "glibc.malloc.hugetlb=0", "glibc.malloc.hugetlb=0"),
    ]
    for name, given, expected in cases:
        if given is None:
            monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
        else:
            monkeypatch.setenv("GLIBC_TUNABLES", given)
        server = Server(tmp_path / name).start()
        try:
            # The pid the test started is the one answering (the re-execution kept it).
            assert requests.get(server.url + "/v2.0/networks", timeout=10).status_code == 200
            assert server.alive()
            assert tunables_of(server) == expected, name
        finally:
            server.stop()
