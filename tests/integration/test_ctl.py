"""The gateway's admin JSON API and `streamgate ctl` (issue 12), against a gateway carrying real traffic.

Two slow curl downloads run through the SOCKS listener from the IPv6-only client to an IPv4-only HTTP origin,
and an ffmpeg player plays a mount of the RTSP proxy whose upstream is a GstRtspServer origin. `ctl ... --json`
must list exactly them; `ctl end session ID` cuts one download (curl fails, the session-end line says "ended by
operator") while the other keeps going; `ctl end player ID` ends the player; a write without the token is
refused (401); `ctl reload` with a broken file is refused with the file's error and the running configuration
stays, and a good file is applied with what changed.
"""

from __future__ import annotations

import json
import subprocess
import unittest

from testnet import PEERS, PYTHON, TestNetwork, require_tools, streamgate_bin

SOCKS_PORT = 1080
HTTP_PORT = 8080
RTSP_PORT = 8554
ORIGIN_RTSP_PORT = 8554
ADMIN = "127.0.0.1:9131"
TOKEN = "integration-token-0123456789"


class Ctl(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools("curl", "ffmpeg", "gst-launch-1.0")
        cls.bin = streamgate_bin()
        cls.net = TestNetwork().start()
        cls.addClassCleanup(cls.net.close)  # runs when _start fails too
        cls._start()

    @classmethod
    def _start(cls):
        net = cls.net
        cls.o4 = net.addr("origin4", 4)
        # A trickling origin, so that curl's buffers stay empty and the end of a session shows at once.
        net.start_peer("origin4", [PYTHON, str(PEERS / "trickle_http.py"), cls.o4, str(HTTP_PORT)], name="http",
                       ready=None)
        net.wait_port("origin4", cls.o4, HTTP_PORT)
        net.start_peer("origin4", [PYTHON, str(PEERS / "gst_rtsp_origin.py"), "--address", cls.o4, "--port",
                                   str(ORIGIN_RTSP_PORT)], name="origin", ready="READY", timeout=30)
        cls.gw6 = net.addr("gw", 6, peer="client6")
        cls.token_file = net.write_file("admin.token", TOKEN + "\n")
        cls.config = net.tmpdir / "gateway.toml"
        cls.good_config = cls.config_text()
        cls.config.write_text(cls.good_config)
        cls.gateway = net.start_peer("gw", [cls.bin, "gateway", "--config", str(cls.config)], name="streamgate",
                                     ready=None)
        net.wait_port("gw", cls.gw6, SOCKS_PORT)
        net.wait_port("gw", cls.gw6, RTSP_PORT)
        net.wait_port("gw", "127.0.0.1", int(ADMIN.rsplit(":", 1)[1]))

    @classmethod
    def config_text(cls, extra=""):
        return f"""
[gateway]
socks = ["[{cls.gw6}]:{SOCKS_PORT}"]
admin = "{ADMIN}"
admin_token_file = "{cls.token_file}"
allow = ["2001:2::/48"]

[rtsp]
listen = ["[{cls.gw6}]:{RTSP_PORT}"]

[[rtsp.mount]]
name = "cam"
url = "rtsp://{cls.o4}:{ORIGIN_RTSP_PORT}/test"
transport = "udp"
{extra}"""

    # ----- helpers -----

    def ctl(self, *args, token=False, check=True):
        argv = [self.bin, "ctl", "--admin", ADMIN, *(["--token-file", str(self.token_file)] if token else []),
                *args]
        cp = self.net.run("gw", argv, check=False, timeout=20)
        if check:
            self.assertEqual(cp.returncode, 0, f"ctl {' '.join(args)}: {cp.stderr}\n{self.net.peer_logs()[-3000:]}")
        return cp

    def ctl_json(self, *args):
        return json.loads(self.ctl(*args, "--json").stdout)

    def start_download(self):
        return self.net.curl_via_socks("client6", f"[{self.gw6}]:{SOCKS_PORT}", f"http://{self.o4}:{HTTP_PORT}/stream")

    def start_player(self):
        return self.net.popen("client6", ["ffmpeg", "-nostdin", "-hide_banner", "-rtsp_transport", "tcp",
                                          "-timeout", "10000000", "-i", f"rtsp://[{self.gw6}]:{RTSP_PORT}/cam",
                                          "-map", "0:v", "-frames:v", "5000", "-f", "null", "-"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def running_sessions(self):
        body = self.ctl_json("sessions")
        self.assertEqual(body["total"], len(body["sessions"]))
        return body["sessions"]

    # ----- tests -----

    def test_1_lists_end_and_write_access(self):
        downloads = [self.start_download(), self.start_download()]
        player = self.start_player()

        # Both downloads, each moving bytes now (the count is live, not only at the session's end).
        sessions = self.net.wait_until(lambda: (s := self.running_sessions()) and len(s) == 2
                                       and all(x["bytes_down"] > 0 for x in s) and s, "two live SOCKS sessions")
        for session in sessions:
            self.assertEqual(session["command"], "connect")
            self.assertEqual(session["target"], f"{self.o4}:{HTTP_PORT}")
            self.assertTrue(session["client"].startswith("[2001:2:"), session)
        self.assertIn("2 in all", self.ctl("sessions").stdout)

        mount = self.net.wait_until(lambda: (m := self.ctl_json("mounts")["mounts"]) and m[0]["players"] == 1
                                    and m[0]["bitrate_bps"] > 0 and m[0], "the mount playing to one player")
        self.assertEqual(mount["name"], "cam")
        self.assertEqual(mount["state"], "playing")
        self.assertEqual(mount["upstream_transport"], "udp")
        self.assertNotIn("password", mount["url"])
        players = self.ctl_json("players")
        self.assertEqual(players["total"], 1, players)
        self.assertEqual(players["players"][0]["mount"], "cam")
        self.assertEqual(players["players"][0]["transport"], "tcp")
        self.assertTrue(players["players"][0]["playing"])
        status = self.ctl_json("status")
        self.assertEqual(status["socks_sessions"], 2)
        self.assertEqual(status["config_file"], str(self.config))
        self.assertIn(f"socks [{self.gw6}]:{SOCKS_PORT}", status["listeners"])

        # A write without the token is refused and ends nothing.
        victim = sessions[0]["id"]
        refused = self.ctl("end", "session", str(victim), check=False)
        self.assertEqual(refused.returncode, 1)
        self.assertIn("401", refused.stderr)
        self.assertEqual(len(self.running_sessions()), 2)

        self.ctl("end", "session", str(victim), token=True)
        self.net.wait_until(lambda: any(d.poll() is not None for d in downloads), "the ended download to fail")
        ended = [d for d in downloads if d.poll() is not None]
        self.assertEqual(len(ended), 1)
        self.assertNotEqual(ended[0].returncode, 0)  # cut off mid-transfer
        self.net.wait_until(lambda: 'end="ended by operator"' in self.gateway.log_text(), "the session-end line")
        remaining = self.net.wait_until(lambda: (s := self.running_sessions()) and len(s) == 1 and s,
                                        "one session left")
        self.assertNotEqual(remaining[0]["id"], victim)
        missing = self.ctl("end", "session", str(victim), token=True, check=False)
        self.assertEqual(missing.returncode, 1)
        self.assertIn("no such session", missing.stderr)

        self.ctl("end", "player", players["players"][0]["id"], token=True)
        player.wait(timeout=20)
        self.net.wait_until(lambda: "ended: ended by operator" in self.gateway.log_text(), "the player's end line")
        self.net.wait_until(lambda: self.ctl_json("players")["total"] == 0, "no players left")

    def test_2_reload_refused_then_applied(self):
        self.config.write_text(self.good_config + "\n[gateway.bogus]\n")
        refused = self.ctl("reload", token=True, check=False)
        self.assertEqual(refused.returncode, 1)
        self.assertIn("reload refused", refused.stderr)
        self.assertIn("gateway.toml", refused.stderr)  # the reason names the file
        status = self.ctl_json("status")
        self.assertFalse(status["last_reload"]["applied"])
        self.assertIn("gateway.toml", status["last_reload"]["error"])
        self.assertEqual([m["name"] for m in self.ctl_json("mounts")["mounts"]], ["cam"])  # still running

        self.config.write_text(self.config_text(f"""
[[rtsp.mount]]
name = "cam2"
url = "rtsp://{self.o4}:{ORIGIN_RTSP_PORT}/test"
"""))
        applied = json.loads(self.ctl("reload", "--json", token=True).stdout)
        self.assertTrue(applied["applied"])
        self.assertEqual(applied["changes"], ["rtsp mount cam2 added"])
        self.assertEqual([m["name"] for m in self.ctl_json("mounts")["mounts"]], ["cam", "cam2"])
        self.assertIn("admin api reload: configuration reloaded", self.gateway.log_text())
        self.config.write_text(self.good_config)


if __name__ == "__main__":
    unittest.main()
