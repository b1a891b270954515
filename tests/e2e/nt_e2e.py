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


def read_until(stream, marker, what):
    """Lines of `stream` up to and including the first holding `marker` (an
    AssertionError naming `what` if the stream ends first)."""
    seen = []
    for line in iter(stream.readline, ""):
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError(f"{what}: " + "".join(seen))


def start_capture(argv):
    """Starts tcpdump (argv) and returns once it says it is listening, so nothing the
    caller does next is missed."""
    cap = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    read_until(cap.stderr, "listening on", "tcpdump did not start")
    return cap


def start_flood(argv):
    """Starts a ping (argv, without -q) and returns (process, output so far) once the first
    reply came back: traffic flows when the caller acts."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return p, read_until(p.stdout, "bytes from", "the ping never got a reply")
