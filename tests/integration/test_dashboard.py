"""The web dashboard in a real browser: Debian's Chromium driven by Selenium (chromedriver), headless.

Each case starts streamgate with an admin listener on loopback, gives it something to show, loads the page
at / and checks, through the page's DOM, that the tables list what the JSON API lists with the right counts,
that the charts have data points, that the "end" button (the admin token typed once into the page's prompt)
ends what its row shows, and that the page fetched nothing from anywhere but the admin listener. A
screenshot of each page is kept as a test artefact (build/<preset>/test-artifacts/).

- relay: calls set up with ng `offer` commands over UDP, as Kamailio sends them; "end" on one call.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import unittest
from pathlib import Path

from testnet import PEERS, PYTHON, require_tools, streamgate_bin

TOKEN = "dashboard-test-token-0123456789"


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def artefact_dir() -> Path:
    directory = Path(streamgate_bin()).resolve().parents[2] / "test-artifacts"
    directory.mkdir(exist_ok=True)
    return directory


def wait_http(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port}")


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


class DashboardCase(unittest.TestCase):
    """Shared checks; a subclass starts its streamgate and sets self.port."""

    def open_page(self):
        self.driver = browser()
        self.addCleanup(self.driver.quit)
        self.driver.get(f"http://127.0.0.1:{self.port}/")
        self.wait_until(lambda: int(self.driver.execute_script("return document.body.dataset.ticks || 0")) >= 3,
                        "three refreshes of the page")

    def wait_until(self, predicate, what: str, timeout: float = 20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}")

    def table_count(self, path: str) -> int | None:
        return self.driver.execute_script(
            "const t = document.querySelector(`table[data-path='${arguments[0]}']`);"
            "return t ? Number(t.dataset.count) : null;", path)

    def chart_points(self, element: str) -> int:
        return int(self.driver.execute_script(
            "return Number(document.getElementById(arguments[0]).dataset.points || 0);", element))

    def end_first_row(self, path: str) -> str:
        """Clicks "end" on the table's first row, answering the token prompt; returns the row's id."""
        button = self.driver.execute_script(
            "return document.querySelector(`table[data-path='${arguments[0]}'] button.end`);", path)
        self.assertIsNotNone(button, f"no end button in the {path} table")
        row_id = button.get_attribute("data-id")
        button.click()
        alert = self.driver.switch_to.alert
        alert.send_keys(TOKEN)
        alert.accept()
        return row_id

    def assert_only_admin_requests(self):
        urls = self.driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name);")
        self.assertTrue(urls, "the page fetched nothing")
        origin = f"http://127.0.0.1:{self.port}/"
        outside = [u for u in urls if not u.startswith(origin)]
        self.assertEqual(outside, [], "requests outside the admin listener")

    def screenshot(self, name: str):
        self.driver.save_screenshot(str(artefact_dir() / f"dashboard-{name}.png"))


class RelayDashboard(DashboardCase):
    CALLS = 3

    def setUp(self):
        require_tools("/usr/bin/chromium", "/usr/bin/chromedriver")
        self.port = free_port()
        self.ng_port = free_port(socket.SOCK_DGRAM)
        token_file = Path(self.enterContext(_TempDir())) / "token"
        token_file.write_text(TOKEN + "\n")
        self.relay = subprocess.Popen(
            [streamgate_bin(), "relay", "--listen-ng", f"127.0.0.1:{self.ng_port}", "--admin",
             f"127.0.0.1:{self.port}", "--admin-token-file", str(token_file), "--port-min", "43000",
             "--port-max", "43999", "--num-threads", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.addCleanup(self.stop_relay)
        wait_http(self.port)
        for i in range(self.CALLS):
            self.offer(f"dashboard-call-{i}")

    def stop_relay(self):
        self.relay.terminate()
        try:
            self.relay.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.relay.kill()
            self.relay.wait()

    def offer(self, call_id: str):
        """An ng offer as Kamailio sends it, through the rig's own control client (peers/relay_control.py)."""
        sdp = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
               "m=audio 40000 RTP/AVP 0\r\n")
        request = {"command": "offer", "call-id": call_id, "from-tag": "from-" + call_id, "sdp": sdp}
        done = subprocess.run([PYTHON, str(PEERS / "relay_control.py"), "ng", "127.0.0.1", str(self.ng_port),
                               json.dumps(request)], capture_output=True, text=True, timeout=30)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(json.loads(done.stdout)["result"], "ok", done.stdout)

    def test_calls_table_charts_and_end(self):
        self.open_page()
        path = "/api/v1/relay/calls"
        self.wait_until(lambda: self.table_count(path) == self.CALLS, f"{self.CALLS} calls in the table")
        self.wait_until(lambda: self.chart_points("chart-active") >= 2, "points on the active chart")
        self.screenshot("relay")
        ended = self.end_first_row(path)
        self.assertTrue(ended.startswith("dashboard-call-"), ended)
        self.wait_until(lambda: self.table_count(path) == self.CALLS - 1, "the ended call gone from the table")
        ids = self.driver.execute_script(
            "return [...document.querySelectorAll(`table[data-path='${arguments[0]}'] button.end`)]"
            ".map(b => b.dataset.id);", path)
        self.assertNotIn(ended, ids)
        self.assert_only_admin_requests()


class _TempDir:
    def __enter__(self):
        import tempfile
        self._dir = tempfile.TemporaryDirectory()
        return self._dir.name

    def __exit__(self, *exc):
        self._dir.cleanup()


if __name__ == "__main__":
    unittest.main()
