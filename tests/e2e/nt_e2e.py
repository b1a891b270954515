"""Helpers the real-kernel tests share: commands, namespace names, polling."""
import subprocess
import time


def sh(*args, check=True):
    return subprocess.run(args, capture_output=True, text=True, timeout=30, check=check)


def wait_for(predicate, timeout, what):
    """Retry until true, with a deadline (never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def start_capture(argv):
    """Starts tcpdump (argv) and returns once it says it is listening, so nothing the
    caller does next is missed."""
    cap = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    said = []
    while True:
        line = cap.stderr.readline()
        said.append(line)
        if not line or "listening on" in line:
            break
    if not line:
        raise AssertionError("tcpdump did not start: " + "".join(said))
    return cap


def start_flood(argv):
    """Starts a ping (argv, without -q) and returns (process, output so far) once the first
    reply came back: traffic flows when the caller acts."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = []
    while True:
        line = p.stdout.readline()
        seen.append(line)
        if not line or "bytes from" in line:
            break
    if not line:
        raise AssertionError("the ping never got a reply: " + "".join(seen))
    return p, "".join(seen)
