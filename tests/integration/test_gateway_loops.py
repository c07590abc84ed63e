"""The gateway with several event loops (`--threads 2`, issue 17): SOCKS sessions are spread over the loops, and
the admin API still sees and ends every one of them.

Many slow curl downloads run at once through the SOCKS listener from the IPv6-only client to an IPv4-only
HTTP origin. `ctl sessions --json` must list all of them (they live on two loops, each listed on its own
thread); `ctl end session ID` must cut exactly that download (the close runs on the session's own loop) while
the others keep going.
"""

from __future__ import annotations

import json
import subprocess
import time
import unittest

from testnet import PEERS, PYTHON, TestNetwork, require_tools, streamgate_bin

SOCKS_PORT = 1080
HTTP_PORT = 8080
ADMIN = "127.0.0.1:9132"
TOKEN = "integration-token-loops-0123456789"
DOWNLOADS = 24


class GatewayLoops(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools("curl")
        cls.bin = streamgate_bin()
        cls.net = TestNetwork().start()
        cls.addClassCleanup(cls.net.close)
        net = cls.net
        cls.o4 = net.addr("origin4", 4)
        # A trickling origin: every download stays open for the whole test.
        net.start_peer("origin4", [PYTHON, str(PEERS / "trickle_http.py"), cls.o4, str(HTTP_PORT)], name="http",
                       ready=None)
        net.wait_port("origin4", cls.o4, HTTP_PORT)
        cls.gw6 = net.addr("gw", 6, peer="client6")
        cls.token_file = net.write_file("admin.token", TOKEN + "\n")
        cls.gateway = net.start_peer("gw", [cls.bin, "gateway", "--threads", "2", "--socks",
                                            f"[{cls.gw6}]:{SOCKS_PORT}", "--allow", "2001:2::/48", "--admin", ADMIN,
                                            "--admin-token-file", str(cls.token_file)],
                                     name="streamgate", ready=None)
        net.wait_port("gw", cls.gw6, SOCKS_PORT)
        net.wait_port("gw", "127.0.0.1", int(ADMIN.rsplit(":", 1)[1]))

    def ctl(self, *args, token=False, check=True):
        argv = [self.bin, "ctl", "--admin", ADMIN, *(["--token-file", str(self.token_file)] if token else []),
                *args]
        cp = self.net.run("gw", argv, check=False, timeout=20)
        if check:
            self.assertEqual(cp.returncode, 0, f"ctl {' '.join(args)}: {cp.stderr}\n{self.net.peer_logs()[-3000:]}")
        return cp

    def running_sessions(self):
        body = json.loads(self.ctl("sessions", "--json").stdout)
        self.assertEqual(body["total"], len(body["sessions"]))
        return body["sessions"]

    def wait_for(self, predicate, what, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.2)
        self.fail(f"timed out waiting for {what}\n{self.net.peer_logs()[-3000:]}")

    def start_download(self):
        return self.net.popen("client6", ["curl", "-sS", "--max-time", "120", "-o", "/dev/null", "--socks5",
                                          f"[{self.gw6}]:{SOCKS_PORT}", f"http://{self.o4}:{HTTP_PORT}/stream"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def test_sessions_on_two_loops_are_listed_and_ended(self):
        self.assertIn("2 event loops", self.gateway.log_text())

        downloads = [self.start_download() for _ in range(DOWNLOADS)]
        self.addCleanup(lambda: [d.kill() for d in downloads if d.poll() is None])
        sessions = self.wait_for(lambda: (s := self.running_sessions()) and len(s) == DOWNLOADS
                                 and all(x["bytes_down"] > 0 for x in s) and s,
                                 f"{DOWNLOADS} live SOCKS sessions with bytes")
        ids = [s["id"] for s in sessions]
        self.assertEqual(ids, sorted(ids))
        self.assertEqual(len(set(ids)), DOWNLOADS)
        self.assertEqual(json.loads(self.ctl("status", "--json").stdout)["socks_sessions"], DOWNLOADS)

        # Sessions alternate between the loops: end two neighbours, one on each loop.
        victims = ids[:2]
        for victim in victims:
            self.ctl("end", "session", str(victim), token=True)
        self.wait_for(lambda: sum(d.poll() is not None for d in downloads) >= 2, "two ended downloads")
        remaining = self.wait_for(lambda: (s := self.running_sessions()) and len(s) == DOWNLOADS - 2 and s,
                                  f"{DOWNLOADS - 2} sessions left")
        self.assertFalse({s["id"] for s in remaining} & set(victims))
        time.sleep(0.5)
        self.assertEqual(sum(d.poll() is not None for d in downloads), 2)  # the others keep going
        self.wait_for(lambda: self.gateway.log_text().count('end="ended by operator"') == 2, "two session-end lines")
        missing = self.ctl("end", "session", str(victims[0]), token=True, check=False)
        self.assertEqual(missing.returncode, 1)
        self.assertIn("no such session", missing.stderr)


if __name__ == "__main__":
    unittest.main()
