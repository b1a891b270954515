"""Headless Chromium (Debian `chromium`) driven over the DevTools protocol, for page tests.

`Chromium(tmp_dir)` starts one browser in a process group of its own, with a throwaway
profile in tmp_dir and `--remote-debugging-port=0` (the port it picked is read from the
profile's DevToolsActivePort); `.page()` attaches to its tab over a WebSocket
(python3-websocket). `.close()` ends only that process group. Polling helpers never sleep
a fixed time: they poll the DOM until a condition holds or a deadline passes.
"""
import base64
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import requests
import websocket

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


class CdpError(RuntimeError):
    pass


class Page:
    """One tab: Runtime.evaluate, clicks through Input events, screenshots."""

    def __init__(self, ws_url):
        self.ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self.next_id = 0
        self.exceptions = []  # uncaught script exceptions the page reported
        self.call("Runtime.enable")
        self.call("Page.enable")

    def call(self, method, **params):
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == mid:
                if "error" in msg:
                    raise CdpError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if msg.get("method") == "Runtime.exceptionThrown":
                details = msg["params"]["exceptionDetails"]
                self.exceptions.append(details.get("exception", {}).get("description") or details.get("text"))

    def eval(self, expression):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise CdpError(f"{expression}: {r['exceptionDetails'].get('exception', {}).get('description')}")
        return r["result"].get("value")

    def navigate(self, url, timeout=15.0):
        """Loads url and waits until its document is complete."""
        self.call("Page.navigate", url=url)
        base = url.split("#")[0]
        self.wait(f"document.readyState === 'complete' && location.href.startsWith({json.dumps(base)})", timeout,
                  message=f"{url} to load")

    def wait(self, expression, timeout=10.0, message=None):
        """Polls a JS expression until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            try:
                value = self.eval(expression)
            except CdpError as e:  # e.g. the element is not there yet
                value = f"error: {e}"
            else:
                if value:
                    return value
            time.sleep(0.05)
        raise AssertionError(f"timed out after {timeout}s waiting for {message or expression}; last value {value!r}; "
                             f"page exceptions: {self.exceptions}")

    def click(self, selector):
        """A real mouse click at the middle of the element (scrolled into view first)."""
        box = self.eval(f"""(() => {{
            const e = document.querySelector({json.dumps(selector)});
            if (!e) return null;
            e.scrollIntoView({{block: 'center', inline: 'center'}});
            const r = e.getBoundingClientRect();
            return [r.x + r.width / 2, r.y + r.height / 2];
        }})()""")
        if not box:
            raise AssertionError(f"nothing matches {selector}")
        x, y = box
        self.call("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
        self.call("Input.dispatchMouseEvent", type="mousePressed", x=x, y=y, button="left", clickCount=1)
        self.call("Input.dispatchMouseEvent", type="mouseReleased", x=x, y=y, button="left", clickCount=1)

    def screenshot(self, path, min_width=0):
        """The whole page (not only the window), at least min_width wide, as a PNG."""
        if min_width:
            self.call("Emulation.setDeviceMetricsOverride", width=int(min_width), height=1000, deviceScaleFactor=1,
                      mobile=False)
        m = self.call("Page.getLayoutMetrics")["cssContentSize"]
        self.call("Emulation.setDeviceMetricsOverride", width=max(int(m["width"]), int(min_width)),
                  height=int(m["height"]), deviceScaleFactor=1, mobile=False)
        shot = self.call("Page.captureScreenshot", format="png")
        self.call("Emulation.clearDeviceMetricsOverride")
        Path(path).write_bytes(base64.b64decode(shot["data"]))
        return path

    def close(self):
        try:
            self.ws.close()
        except OSError:
            pass


class Chromium:
    def __init__(self, tmp_dir, width=1600, height=1000):
        self.profile = Path(tmp_dir) / "chromium-profile"
        self.profile.mkdir(parents=True, exist_ok=True)
        self.log = Path(tmp_dir) / "chromium.log"
        args = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-sync", "--mute-audio",
                f"--user-data-dir={self.profile}", "--remote-debugging-port=0",
                f"--window-size={width},{height}", "--hide-scrollbars", "about:blank"]
        with open(self.log, "wb") as log:
            # A new session: the browser and its helpers form a process group we created.
            self.proc = subprocess.Popen(args, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        self.port = self._debugging_port()

    def _debugging_port(self, timeout=30.0):
        marker = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if marker.exists():
                lines = marker.read_text().split()
                if lines and lines[0].isdigit():
                    return int(lines[0])
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.close()
        raise RuntimeError(f"chromium did not start its DevTools endpoint:\n{self.log.read_text(errors='replace')[-3000:]}")

    def page(self):
        deadline = time.monotonic() + 15
        while True:
            targets = requests.get(f"http://127.0.0.1:{self.port}/json/list", timeout=10).json()
            pages = [t for t in targets if t.get("type") == "page" and t.get("webSocketDebuggerUrl")]
            if pages:
                return Page(pages[0]["webSocketDebuggerUrl"])
            if time.monotonic() > deadline:
                raise RuntimeError(f"chromium shows no page target: {targets}")
            time.sleep(0.1)

    def close(self):
        """Ends the browser's own process group (it is the group's leader), then reaps it."""
        if self.proc is None:
            return
        for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        # Helpers may outlive the leader for a moment; the group is ours alone.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc = None
