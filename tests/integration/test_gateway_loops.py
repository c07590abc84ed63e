"""The gateway with several event loops (`--threads 2`, issue 17): SOCKS sessions are spread over the loops, and
the admin API still sees and ends every one of them; at shutdown every session on every loop writes its
session-end line.

Many slow curl downloads run at once through the SOCKS listener from the IPv6-only client to an IPv4-only
HTTP origin. `ctl sessions --json` must list all of them (they live on two loops, each listed on its own
thread); `ctl end session ID` must cut exactly that download (the close runs on the session's own loop) while
the others keep going.
"""

from __future__ import annotations

import json
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

    def start_download(self):
        return self.net.curl_via_socks("client6", f"[{self.gw6}]:{SOCKS_PORT}", f"http://{self.o4}:{HTTP_PORT}/stream")

    def test_sessions_on_two_loops_are_listed_and_ended(self):
        self.assertIn("2 event loops", self.gateway.log_text())

        downloads = [self.start_download() for _ in range(DOWNLOADS)]
        self.addCleanup(lambda: [d.kill() for d in downloads if d.poll() is None])
        sessions = self.net.wait_until(lambda: (s := self.running_sessions()) and len(s) == DOWNLOADS
                                       and all(x["bytes_down"] > 0 for x in s) and s,
                                       f"{DOWNLOADS} live SOCKS sessions with bytes", timeout=30)
        ids = [s["id"] for s in sessions]
        self.assertEqual(ids, sorted(ids))
        self.assertEqual(len(set(ids)), DOWNLOADS)
        self.assertEqual(json.loads(self.ctl("status", "--json").stdout)["socks_sessions"], DOWNLOADS)

        # Sessions alternate between the loops: end two neighbours, one on each loop.
        victims = ids[:2]
        for victim in victims:
            self.ctl("end", "session", str(victim), token=True)
        self.net.wait_until(lambda: sum(d.poll() is not None for d in downloads) >= 2, "two ended downloads")
        remaining = self.net.wait_until(lambda: (s := self.running_sessions()) and len(s) == DOWNLOADS - 2 and s,
                                        f"{DOWNLOADS - 2} sessions left")
        self.assertFalse({s["id"] for s in remaining} & set(victims))
        time.sleep(0.5)
        self.assertEqual(sum(d.poll() is not None for d in downloads), 2)  # the others keep going
        self.net.wait_until(lambda: self.gateway.log_text().count('end="ended by operator"') == 2,
                            "two session-end lines")
        missing = self.ctl("end", "session", str(victims[0]), token=True, check=False)
        self.assertEqual(missing.returncode, 1)
        self.assertIn("no such session", missing.stderr)


    def test_shutdown_ends_sessions_on_every_loop_with_their_lines(self):
        # A second gateway of its own (the class's one serves the other test), with a one-second drain.
        port, admin = SOCKS_PORT + 1, "127.0.0.1:9133"
        config = self.net.write_file("drain.toml", f"""
[gateway]
socks = ["[{self.gw6}]:{port}"]
allow = ["2001:2::/48"]
admin = "{admin}"
threads = 2
drain_timeout_s = 1
""")
        gateway = self.net.start_peer("gw", [self.bin, "gateway", "--config", str(config)], name="drain-gateway",
                                      ready=None)
        self.net.wait_port("gw", self.gw6, port)
        self.net.wait_port("gw", "127.0.0.1", 9133)
        downloads = [self.net.curl_via_socks("client6", f"[{self.gw6}]:{port}", f"http://{self.o4}:{HTTP_PORT}/x")
                     for _ in range(6)]
        self.addCleanup(lambda: [d.kill() for d in downloads if d.poll() is None])

        def live_with_bytes():
            cp = self.net.run("gw", [self.bin, "ctl", "--admin", admin, "sessions", "--json"], check=False)
            sessions = json.loads(cp.stdout)["sessions"] if cp.returncode == 0 else []
            return len(sessions) == 6 and all(x["bytes_down"] > 0 for x in sessions)

        self.net.wait_until(live_with_bytes, "six live sessions with bytes")
        # The trickling downloads outlive the drain: the deadline closes them, on both loops.
        self.assertEqual(gateway.stop(timeout=15), 0, gateway.log_text()[-3000:])
        log = self.net.wait_until(lambda: (text := gateway.log_text()) and "gateway stopped" in text and text,
                                  "the gateway's last line")
        self.assertIn("drain period over: closing 6 sessions", log)
        self.assertEqual(log.count("session-end "), 6, log[-3000:])
        self.assertNotIn("did not close", log)


if __name__ == "__main__":
    unittest.main()
