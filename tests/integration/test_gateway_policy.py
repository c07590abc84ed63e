"""RFC 1929 authentication, access rules, the client allow-list and SIGHUP reload of `streamgate gateway`,
driven by curl.

An IPv4-only client reaches an IPv6-only origin through the gateway only with the right password and only
where the rules allow; a reload (SIGHUP) changes the rules without restarting the gateway. A client outside
the allow-list is closed at accept, before it can try a password.
"""

from __future__ import annotations

import os
import signal
import time
import unittest

from testnet import PYTHON, TestNetwork, require_tools, streamgate_bin

SOCKS_PORT = 1080
HTTP_PORT = 8080
PAGE = "policy page\n" * 32

CONFIG = """
[gateway]
socks = ["{gw4}:{port}"]
allow = ["198.18.0.0/15"]
admin = ""
users = ["alice:wonder land"]

{deny}
[[rule]]
name = "clients-to-origins"
action = "allow"
clients = ["{client4}/32"]
commands = ["connect"]
to = ["2001:2:0:4::/64", "origin6.test"]
ports = ["{http}"]
"""

DENY_ORIGIN6 = """
[[rule]]
name = "no-origin6-by-name"
action = "deny"
to = ["origin6.test"]
"""


class GatewayPolicy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools("curl")
        cls.bin = streamgate_bin()
        cls.net = TestNetwork().start()
        try:
            net = cls.net
            root = net.make_dir("www", {"page.txt": PAGE})
            net.start_peer("origin6", [PYTHON, "-m", "http.server", "--bind", net.addr("origin6", 6),
                                       "--directory", str(root), str(HTTP_PORT)], name="http-origin6", ready=None)
            net.wait_port("origin6", net.addr("origin6", 6), HTTP_PORT)
            cls.gw4 = net.addr("gw", 4, peer="client4")
            cls.config = net.write_file("gateway.toml", cls.config_text(deny=True))
            cls.gateway = net.start_peer("gw", [cls.bin, "gateway", "--config", str(cls.config)],
                                         name="streamgate", ready=None)
            net.wait_port("gw", cls.gw4, SOCKS_PORT)
        except BaseException:
            cls.net.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.net.close()

    @classmethod
    def config_text(cls, deny: bool) -> str:
        return CONFIG.format(gw4=cls.gw4, port=SOCKS_PORT, http=HTTP_PORT, client4=cls.net.addr("client4", 4),
                             deny=DENY_ORIGIN6 if deny else "")

    def curl(self, url, user=None, check=False):
        proxy = f"socks5h://{user + '@' if user else ''}{self.gw4}:{SOCKS_PORT}"
        return self.net.run("client4", ["curl", "-sS", "--max-time", "10", "--proxy", proxy, url],
                            check=check, timeout=20)

    def wait_for_log(self, needle, timeout=5.0):
        deadline = time.monotonic() + timeout
        while needle not in self.gateway.log_text():
            if time.monotonic() > deadline:
                self.fail(f"{needle!r} not in the gateway log:\n{self.gateway.log_text()}")
            time.sleep(0.1)

    def origin6_literal_url(self):
        return f"http://[{self.net.addr('origin6', 6)}]:{HTTP_PORT}/page.txt"

    def test_1_right_password_reaches_the_origin(self):
        cp = self.curl(self.origin6_literal_url(), user="alice:wonder%20land", check=True)
        self.assertEqual(cp.stdout, PAGE)
        self.wait_for_log("user=alice cmd=connect")

    def test_2_wrong_or_missing_password_is_refused(self):
        for user in ("alice:wonderland", "mallory:wonder%20land", None):
            with self.subTest(user=user):
                cp = self.curl(self.origin6_literal_url(), user=user)
                self.assertEqual(cp.returncode, 97, cp.stderr)  # CURLE_PROXY
        self.wait_for_log('end="authentication failed"')
        self.wait_for_log('end="client does not offer username/password authentication"')

    def test_3_a_rule_denies_with_rep_02_and_is_named_in_the_log(self):
        cp = self.curl(f"http://origin6.test:{HTTP_PORT}/page.txt", user="alice:wonder%20land")
        self.assertEqual(cp.returncode, 97, cp.stderr)
        self.assertRegex(cp.stderr, r"\(2\)")  # REP 0x02, connection not allowed by ruleset
        self.wait_for_log("denied by rule 'no-origin6-by-name'")
        # The allow rule lists only HTTP_PORT, so the origin's address on another port matches no rule.
        cp = self.curl(f"http://[{self.net.addr('origin6', 6)}]:{HTTP_PORT + 1}/", user="alice:wonder%20land")
        self.assertEqual(cp.returncode, 97, cp.stderr)
        self.wait_for_log("denied by rule 'default deny'")

    def test_4_sighup_reloads_the_rules(self):
        self.config.write_text(self.config_text(deny=False))
        os.kill(self.gateway.pid, signal.SIGHUP)
        self.wait_for_log("SIGHUP: configuration reloaded")
        cp = self.curl(f"http://origin6.test:{HTTP_PORT}/page.txt", user="alice:wonder%20land", check=True)
        self.assertEqual(cp.stdout, PAGE)
        self.assertIsNone(self.gateway.proc.poll(), "the gateway must keep running across SIGHUP")

    def test_5_names_meet_network_rules_through_their_addresses(self):
        # No rule names origin6.test: only networks. The gateway resolves the name and checks its address.
        by_network = """
[gateway]
socks = ["{gw4}:{port}"]
allow = ["198.18.0.0/15"]
admin = ""

[[rule]]
name = "{name}"
action = "{action}"
to = ["2001:2:0:4::/64"]

[[rule]]
name = "{last}"
action = "{last_action}"
"""
        url = f"http://origin6.test:{HTTP_PORT}/page.txt"
        self.config.write_text(by_network.format(gw4=self.gw4, port=SOCKS_PORT, name="no-origins6", action="deny",
                                                 last="rest", last_action="allow"))
        os.kill(self.gateway.pid, signal.SIGHUP)
        self.wait_for_log("SIGHUP: configuration reloaded")
        cp = self.curl(url)
        self.assertEqual(cp.returncode, 97, cp.stderr)
        self.assertRegex(cp.stderr, r"\(2\)")  # REP 0x02: the name resolves into the denied network
        self.wait_for_log("every address denied by the rules")

        self.config.write_text(by_network.format(gw4=self.gw4, port=SOCKS_PORT, name="origins6", action="allow",
                                                 last="nothing-else", last_action="deny"))
        os.kill(self.gateway.pid, signal.SIGHUP)
        deadline = time.monotonic() + 5
        while self.gateway.log_text().count("SIGHUP: configuration reloaded") < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        cp = self.curl(url, check=True)  # allowed by the network its address is in
        self.assertEqual(cp.stdout, PAGE)

    def test_6_a_client_outside_the_allow_list_is_closed_before_it_can_try_a_password(self):
        outside = """
[gateway]
socks = ["{gw4}:{port}"]
allow = ["2001:2::/48"]
admin = ""
users = ["alice:wonder land"]
"""
        reloads = self.gateway.log_text().count("SIGHUP: configuration reloaded")
        self.config.write_text(outside.format(gw4=self.gw4, port=SOCKS_PORT))
        os.kill(self.gateway.pid, signal.SIGHUP)
        deadline = time.monotonic() + 5
        while (self.gateway.log_text().count("SIGHUP: configuration reloaded") <= reloads
               and time.monotonic() < deadline):
            time.sleep(0.1)
        sessions = self.gateway.log_text().count("session-end")
        # The right password: the gateway closes at accept, before the greeting, so curl never gets an answer.
        cp = self.curl(self.origin6_literal_url(), user="alice:wonder%20land")
        self.assertEqual(cp.returncode, 97, cp.stderr)  # CURLE_PROXY
        self.assertNotRegex(cp.stderr, r"(?i)auth")  # no method selection, no sub-negotiation
        self.wait_for_log("not in the allow-list")
        self.assertEqual(self.gateway.log_text().count("session-end"), sessions, "no session was started")


if __name__ == "__main__":
    unittest.main()
