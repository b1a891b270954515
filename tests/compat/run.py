"""The differential harness: starts Neutron 21 and neutrino-server side by side, runs every
step of scenarios.py against both and prints the differences that the allow-list does not
explain. Exit status 0 only when there are none.
  tests/compat/run.py [--report FILE] [--only GLOB]"""
import argparse
import fnmatch
import json
import shutil
import sys
import tempfile
from pathlib import Path

import backends
import differ
import scenarios

HERE = Path(__file__).resolve().parent


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--report", help="write the full list of differences here (markdown)")
    ap.add_argument("--only", default="*", help="run the steps whose id matches this glob")
    ap.add_argument("--show", action="store_true", help="print both answers of every step that differs")
    args = ap.parse_args()
    if not backends.Neutron.available():
        print("neutron-server is not installed (scripts/install-deps --compat installs it)", file=sys.stderr)
        return 2
    steps = [s for s in scenarios.all_steps() if fnmatch.fnmatchcase(s["id"], args.only)]
    work = tempfile.mkdtemp(prefix="nt-compat-")
    neutron = neutrino = None
    try:
        neutron = backends.Neutron(work).start()
        neutrino = backends.Neutrino(work).start()
        allow = differ.Allow(HERE / "allowlist.json")
        unexplained, explained = differ.run(steps, neutron, neutrino, allow)
    finally:
        for s in (neutron, neutrino):
            if s:
                s.stop()
    lines = [f"{len(steps)} steps; {len(unexplained)} with unexplained differences, {len(explained)} allow-listed", ""]
    if differ.LAST_RETRIES:
        lines.insert(1, f"(Neutron's \"database is locked\" 500s asked again: {differ.LAST_RETRIES})")
    for s, diffs, _ in unexplained:
        lines.append(f"- `{s['id']}` {s['method']} {s['path']}: " + "; ".join(diffs))
        if args.show:
            (rs, rd), (os_, od) = s["answers"]
            lines.append(f"    Neutron  {rs} {json.dumps(rd)[:400]}")
            lines.append(f"    Neutrino {os_} {json.dumps(od)[:400]}")
    if explained:
        lines += ["", "Allow-listed:"]
        for s, diffs, why in explained:
            lines.append(f"- `{s['id']}`: " + "; ".join(diffs) + f" ({why})")
    stale = sorted(set(allow.entries) - allow.used)
    if stale and args.only == "*":
        lines += ["", "Allow-list entries no step needs any more: " + ", ".join(stale)]
    text = "\n".join(lines)
    print(text)
    if args.report:
        Path(args.report).write_text(text + "\n")
    if unexplained:
        print(f"(both servers' logs are kept in {work})")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if not unexplained and not (stale and args.only == "*") else 1


if __name__ == "__main__":
    sys.exit(main())
