"""The RTSP proxy listener of `streamgate gateway --rtsp ... --mount NAME=URL` (issue 5, second half).

Players on the IPv6-only host play IPv4-only origins (GstRtspServer through peers/gst_rtsp_origin.py, and
`streamgate serve`) through the gateway, whose forwarding is off: the only path is the proxy's own RTSP
sessions. Each player uses the other lower transport than the mount's upstream (transport conversion both
ways); an origin that only speaks TCP is reached through the `auto` rollover. Fan-out: ten concurrent players
of one mount, one upstream session at the origin (counted with ss), all decode. TestPlayer: 300 UDP sessions
through the proxy, zero loss, their fan-out shared with the gateway's helper thread. Faults: wrong upstream password (502 to DESCRIBE, quickly), origin killed
mid-stream (players end promptly, descriptors back to baseline), player vanishing (its ports freed), a player
outside the allow-list (refused), a player over `max_connections_per_client` (503 with its CSeq, then a close).
Late joiners of a mount whose GOP is long start at once from its GOP cache: their first video packet begins a
key frame, and ffmpeg decodes every frame from there on cleanly over both transports.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import unittest

from testnet import PEERS, PYTHON, TestNetwork, require_tools, streamgate_bin

GW_PORT = 8554
ADMIN = "127.0.0.1:9131"
FRAMES = 50  # 2 s of the origins' 25 fps
ORIGINS = {  # port: extra arguments of gst_rtsp_origin.py
    8554: [],
    8555: ["--auth", "viewer:secret", "--auth-method", "digest"],
    8556: ["--protocols", "tcp"],
    8557: [],  # fan-out: its connections are counted
    8558: [],  # killed mid-stream
}
SERVE_PORT = 8560
RESTART_PORT = 8561  # a `serve --loop` origin "rebooted" behind a firewall (test 11)
ENDING_PORT = 8562   # a `serve` origin without --loop: RTCP BYE at the end of the clip (test 12)


class RtspProxy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools("ffmpeg", "curl", "gst-launch-1.0", "ss")
        cls.bin = streamgate_bin()
        cls.net = TestNetwork().start()
        try:
            cls._start()
        except BaseException:
            cls.net.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.net.close()

    @classmethod
    def _start(cls):
        net = cls.net
        cls.o4 = net.addr("origin4", 4)
        cls.origins = {}
        for port, extra in ORIGINS.items():
            cls.origins[port] = net.start_peer(
                "origin4", [PYTHON, str(PEERS / "gst_rtsp_origin.py"), "--address", cls.o4, "--port", str(port),
                            *extra], name=f"origin-{port}", ready="READY", timeout=30)
        clip_dir = net.tmpdir / "media"
        clip_dir.mkdir()
        subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
                        "testsrc=size=320x240:rate=25:duration=4", "-c:v", "libx264", "-g", "25", "-pix_fmt",
                        "yuv420p", str(clip_dir / "clip.mp4")], check=True, timeout=60)
        # One key frame per 8 s loop: without the GOP cache, a late joiner would wait up to 8 s.
        subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
                        "testsrc=size=320x240:rate=25:duration=8", "-c:v", "libx264", "-g", "1000",
                        "-sc_threshold", "0", "-pix_fmt", "yuv420p", str(clip_dir / "long_gop.mp4")],
                       check=True, timeout=60)
        cls.serve = net.start_peer("origin4", [cls.bin, "serve", str(clip_dir), "--loop", "--listen",
                                               f"{cls.o4}:{SERVE_PORT}"], name="serve", ready=None)
        net.wait_port("origin4", cls.o4, SERVE_PORT)
        cls.clip_dir = clip_dir
        cls.restarting = cls.start_serve(RESTART_PORT, loop=True)
        cls.ending = cls.start_serve(ENDING_PORT, loop=False)

        cls.gw4 = net.addr("gw", 4, peer="client4")
        cls.gw6 = net.addr("gw", 6, peer="client6")
        o = cls.o4
        config = net.tmpdir / "gateway.toml"
        config.write_text(f"""
[gateway]
socks = ["127.0.0.1:1080"]
admin = "{ADMIN}"
allow = ["198.18.0.0/15", "2001:2::/48"]
threads = 2   # mounts on loop 0, one fan-out helper thread (test 9)

[rtsp]
listen = ["{cls.gw4}:{GW_PORT}", "[{cls.gw6}]:{GW_PORT}", "127.0.0.1:{GW_PORT}"]
session_timeout_s = 20
max_connections_per_client = 0   # test 9 plays 300 sessions from client4; test 14 sets its own cap

[[rtsp.mount]]
name = "live-udp"
url = "rtsp://{o}:8554/test"
transport = "udp"

[[rtsp.mount]]
name = "live-tcp"
url = "rtsp://{o}:8554/test"
transport = "tcp"

[[rtsp.mount]]
name = "auth-ok"
url = "rtsp://{o}:8555/test"
user = "viewer"
password = "secret"

[[rtsp.mount]]
name = "auth-bad"
url = "rtsp://viewer:wrong@{o}:8555/test"

[[rtsp.mount]]
name = "tcp-only"
url = "rtsp://{o}:8556/test"
transport = "auto"

[[rtsp.mount]]
name = "fan"
url = "rtsp://{o}:8557/test"
transport = "udp"

[[rtsp.mount]]
name = "doomed"
url = "rtsp://{o}:8558/test"
transport = "udp"

[[rtsp.mount]]
name = "served"
url = "rtsp://{o}:{SERVE_PORT}/clip.mp4"
transport = "udp"

[[rtsp.mount]]
name = "restarting"
url = "rtsp://{o}:{RESTART_PORT}/clip.mp4"
transport = "udp"

[[rtsp.mount]]
name = "ending"
url = "rtsp://{o}:{ENDING_PORT}/clip.mp4"
transport = "udp"

[[rtsp.mount]]
name = "long-gop"
url = "rtsp://{o}:{SERVE_PORT}/long_gop.mp4"
transport = "udp"
always_on = true
gop_cache_bytes = 4194304
gop_cache_packets = 4096
""")
        cls.gateway = net.start_peer("gw", [cls.bin, "gateway", "--config", str(config)], name="streamgate",
                                     ready=None)
        for addr in (cls.gw4, cls.gw6, "127.0.0.1"):
            net.wait_port("gw", addr, GW_PORT)
        net.wait_port("gw", "127.0.0.1", int(ADMIN.rsplit(":", 1)[1]))

    @classmethod
    def start_serve(cls, port, loop):
        peer = cls.net.start_peer("origin4", [cls.bin, "serve", str(cls.clip_dir), *(["--loop"] if loop else []),
                                              "--listen", f"{cls.o4}:{port}"], name=f"serve-{port}", ready=None)
        cls.net.wait_port("origin4", cls.o4, port)
        return peer

    # ----- helpers -----

    def url(self, mount, family=6):
        host = f"[{self.gw6}]" if family == 6 else self.gw4
        return f"rtsp://{host}:{GW_PORT}/{mount}"

    def ffmpeg_argv(self, mount, transport, frames=FRAMES, family=6):
        return ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "info", "-rtsp_transport", transport,
                "-timeout", "10000000", "-i", self.url(mount, family), "-map", "0:v", "-frames:v", str(frames),
                "-f", "null", "-"]

    def play(self, mount, transport, frames=FRAMES, client="client6", family=6, timeout=60):
        """Returns (exit status, frames decoded, stderr)."""
        cp = self.net.run(client, self.ffmpeg_argv(mount, transport, frames, family), timeout=timeout, check=False)
        return cp.returncode, self.frames_in(cp.stderr), cp.stderr

    @staticmethod
    def frames_in(stderr):
        counts = re.findall(r"frame=\s*(\d+)", stderr)
        return int(counts[-1]) if counts else 0

    def assert_decoded(self, result, frames=FRAMES):
        rc, decoded, err = result
        self.assertEqual(rc, 0, err[-3000:] + "\n" + self.net.peer_logs()[-3000:])
        self.assertEqual(decoded, frames, err[-3000:])

    def metrics(self):
        text = self.net.run("gw", ["curl", "-sS", "--max-time", "5", f"http://{ADMIN}/metrics"]).stdout
        values = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                values[name] = float(value)
        return values

    def metric(self, name, mount):
        return self.metrics().get(f'{name}{{mount="{mount}"}}', 0.0)

    def wait_for(self, predicate, timeout, what):
        self.net.wait_until(predicate, what, timeout)

    def gateway_fds(self):
        return len(os.listdir(f"/proc/{self.gateway.pid}/fd"))

    def udp_sockets(self):
        """UDP sockets bound in gw (both families)."""
        count = 0
        for table in ("/proc/net/udp", "/proc/net/udp6"):
            count += len(self.net.run("gw", ["cat", table]).stdout.splitlines()) - 1
        return count

    def origin_connections(self, port):
        out = self.net.run("origin4", ["ss", "-Htn", "state", "established", f"( sport = :{port} )"]).stdout
        return len([line for line in out.splitlines() if line.strip()])

    def describe_status(self, mount, family=6, client="client6"):
        """The status of ffmpeg's DESCRIBE ("200" when it went on to play)."""
        cp = self.net.run(client, ["ffmpeg", "-nostdin", "-hide_banner", "-timeout", "10000000", "-i",
                                   self.url(mount, family), "-frames:v", "1", "-f", "null", "-"],
                          check=False, timeout=60)
        failed = re.search(r"method DESCRIBE failed: (\d+)", cp.stderr)
        return (failed.group(1) if failed else "200" if cp.returncode == 0 else "?"), cp

    def ffmpeg_decode_errors(self, stderr):
        return [line for line in stderr.splitlines() if re.search(r"\[h264 @|error|Error", line)
                and "frame=" not in line]

    # ----- tests -----

    def test_1_ffmpeg_players_convert_transport_both_ways(self):
        # The IPv6-only player over UDP, the upstream over TCP, and the reverse.
        for mount, transport in (("live-tcp", "udp"), ("live-udp", "tcp")):
            with self.subTest(mount=mount, player=transport):
                result = self.play(mount, transport)
                self.assert_decoded(result)
                self.assertEqual(self.ffmpeg_decode_errors(result[2]), [], result[2][-3000:])
        log = self.gateway.log_text()
        self.assertRegex(log, r"rtsp mount live-tcp upstream \S+ playing over tcp")
        self.assertRegex(log, r"rtsp mount live-udp upstream \S+ playing over udp")
        self.assertGreater(self.metric("streamgate_rtsp_proxy_rtp_packets_total", "live-tcp"), FRAMES)

    def test_2_gstreamer_players(self):
        for mount, protocol in (("live-tcp", "udp"), ("live-udp", "tcp")):
            with self.subTest(mount=mount, player=protocol):
                cp = self.net.run("client6", [
                    "gst-launch-1.0", "-q", "rtspsrc", f"location={self.url(mount)}", f"protocols={protocol}",
                    "!", "rtph264depay", "!", "h264parse", "!", "avdec_h264", "!", "identity",
                    f"eos-after={FRAMES}", "!", "fakesink", "sync=false"], timeout=60, check=False)
                self.assertEqual(cp.returncode, 0, cp.stdout[-2000:] + cp.stderr[-2000:])
                self.assertNotRegex(cp.stderr, r"(?i)error")

    def test_3_auto_rolls_over_to_tcp_and_serve_origin(self):
        self.assert_decoded(self.play("tcp-only", "udp"))
        self.assertRegex(self.gateway.log_text(), r"rtsp mount tcp-only: .*, rolling over to TCP")
        self.assertRegex(self.gateway.log_text(), r"rtsp mount tcp-only upstream \S+ playing over tcp")
        # `streamgate serve` as the origin, its upstream over UDP, the player over TCP.
        self.assert_decoded(self.play("served", "tcp"))

    def test_4_fan_out_ten_players_one_upstream_session(self):
        players = [self.net.popen("client6", self.ffmpeg_argv("fan", "udp" if i % 2 else "tcp", frames=100),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                   for i in range(10)]
        try:
            self.wait_for(lambda: self.metric("streamgate_rtsp_proxy_players_active", "fan") >= 10, 30, "ten players")
            self.assertEqual(self.origin_connections(8557), 1)
            results = []
            for proc in players:
                _, err = proc.communicate(timeout=60)
                results.append((proc.returncode, self.frames_in(err), err))
        finally:
            for proc in players:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        for result in results:
            self.assert_decoded(result, frames=100)
        self.assertEqual(self.metric("streamgate_rtsp_proxy_upstream_sessions_started_total", "fan"), 1)
        self.assertEqual(self.metric("streamgate_rtsp_proxy_players_total", "fan"), 10)

    def test_5_upstream_refusing_auth_is_a_quick_502(self):
        self.assert_decoded(self.play("auth-ok", "udp"))
        started = time.monotonic()
        status, cp = self.describe_status("auth-bad")
        self.assertEqual(status, "502", cp.stderr)
        self.assertLess(time.monotonic() - started, 20)
        self.assertEqual(self.describe_status("no-such-mount")[0], "404")
        self.assertGreaterEqual(self.metric("streamgate_rtsp_proxy_upstream_sessions_failed_total", "auth-bad"), 1)

    def test_6_player_outside_the_allow_list_is_refused(self):
        before = self.metrics().get("streamgate_rtsp_proxy_connections_refused_total", 0.0)
        # curl's RTSP default request is OPTIONS: answered for an admitted client, nothing for loopback on gw
        # (the allow-list names the test networks only).
        admitted = self.net.run("client4", ["curl", "-sS", "-o", "/dev/null", "--max-time", "10",
                                            f"rtsp://{self.gw4}:{GW_PORT}/live-udp"], check=False)
        self.assertEqual(admitted.returncode, 0, admitted.stderr)
        cp = self.net.run("gw", ["curl", "-sS", "-o", "/dev/null", "--max-time", "10",
                                 f"rtsp://127.0.0.1:{GW_PORT}/live-udp"], check=False)
        self.assertNotEqual(cp.returncode, 0)
        self.assertEqual(self.metrics().get("streamgate_rtsp_proxy_connections_refused_total", 0.0), before + 1)

    def test_7_player_vanishing_frees_its_ports(self):
        # Let the on-demand upstream of an earlier test linger out first, so only this player's ports differ.
        self.wait_for(lambda: self.metric("streamgate_rtsp_proxy_players_active", "live-udp") == 0, 30, "no players")
        udp_before = self.udp_sockets()
        proc = self.net.popen("client6", self.ffmpeg_argv("live-tcp", "udp", frames=100000),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            self.wait_for(lambda: self.metric("streamgate_rtsp_proxy_players_active", "live-tcp") == 1, 30, "the player")
            self.assertGreaterEqual(self.udp_sockets(), udp_before + 2)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            self.wait_for(lambda: self.metric("streamgate_rtsp_proxy_players_active", "live-tcp") == 0, 15,
                          "the player's session to end")
            self.wait_for(lambda: self.udp_sockets() <= udp_before, 15, "its UDP ports to be freed")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def test_8_origin_killed_mid_stream(self):
        fds_before = self.gateway_fds()
        players = [self.net.popen("client6", self.ffmpeg_argv("doomed", transport, frames=100000),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                   for transport in ("udp", "tcp")]
        try:
            self.wait_for(lambda: self.metric("streamgate_rtsp_proxy_players_active", "doomed") == 2, 30, "two players")
            time.sleep(1)
            self.origins[8558].stop()
            killed = time.monotonic()
            for proc in players:
                proc.communicate(timeout=40)
            ended = time.monotonic() - killed
            self.assertLess(ended, 40)
            print(f"players ended {ended:.1f} s after the origin was killed", flush=True)
        finally:
            for proc in players:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        self.wait_for(lambda: self.metric("streamgate_rtsp_proxy_players_active", "doomed") == 0, 15, "players ended")
        self.assertRegex(self.gateway.log_text(), r"rtsp player \S+ mount doomed .* ended: upstream")
        self.wait_for(lambda: self.gateway_fds() <= fds_before, 20, "descriptors back to baseline")

    def test_9_testplayer_300_sessions_zero_loss(self):
        # 300 UDP players of one mount: each upstream packet is a fan-out large enough to be shared with the
        # gateway's helper thread (two runs of 150 sendmmsg'd at once), and still nothing is lost.
        shared_before = self.metrics().get("streamgate_rtsp_proxy_fanout_shared_total", 0.0)
        report_path = self.net.tmpdir / "testplayer.json"
        cp = self.net.run("client4", [self.bin, "testplayer", self.url("fan", 4), "-n", "300", "--ramp", "75",
                                      "--duration", "8", "--transport", "udp", "--json", str(report_path), "-q"],
                          check=False, timeout=120)
        self.assertEqual(cp.returncode, 0, cp.stdout[-2000:] + cp.stderr[-2000:])
        report = json.loads(report_path.read_text())
        self.assertEqual(report["succeeded"], 300, report["errors"])
        self.assertEqual(report["rtp_lost"], 0)
        self.assertEqual(report["rtp_invalid"], 0)
        shared = self.metrics().get("streamgate_rtsp_proxy_fanout_shared_total", 0.0) - shared_before
        self.assertGreater(shared, 0, "no fan-out was shared with the helper thread")
        print(f"testplayer through the proxy: {report['succeeded']} sessions, rtp_lost {report['rtp_lost']}",
              flush=True)

    def test_10_players_need_digest_auth(self):
        # A second gateway with player accounts (auth is per listener process), on the origin of test 1.
        port, admin = 8654, "127.0.0.1:9132"
        gateway = self.net.start_peer(
            "gw", [self.bin, "gateway", "--socks", "127.0.0.1:1081", "--admin", admin, "--alg-ports",
                   "40000-40099", "--allow", "2001:2::/48", "--rtsp", f"[{self.gw6}]:{port}", "--mount",
                   f"cam=rtsp://{self.o4}:8554/test", "--rtsp-user", "alice:s3cret", "--rtsp-user", "bob:pw"],
            name="streamgate-auth", ready=None)
        try:
            self.net.wait_port("gw", self.gw6, port)
            url = f"rtsp://{{}}[{self.gw6}]:{port}/cam"

            def ffmpeg(credentials, transport):
                cp = self.net.run("client6", ["ffmpeg", "-nostdin", "-hide_banner", "-rtsp_transport", transport,
                                              "-timeout", "10000000", "-i", url.format(credentials), "-map",
                                              "0:v", "-frames:v", "25", "-f", "null", "-"],
                                  check=False, timeout=60)
                return cp.returncode, self.frames_in(cp.stderr), cp.stderr

            self.assert_decoded(ffmpeg("alice:s3cret@", "udp"), frames=25)
            for credentials in ("", "alice:wrong@", "carol:s3cret@"):
                with self.subTest(credentials=credentials):
                    rc, decoded, err = ffmpeg(credentials, "tcp")
                    self.assertNotEqual(rc, 0, err[-2000:])
                    self.assertEqual(decoded, 0)
                    self.assertRegex(err, r"401|Unauthorized")
            # testplayer's client answers the challenge from the URL's credentials.
            report_path = self.net.tmpdir / "testplayer-auth.json"
            cp = self.net.run("client6", [self.bin, "testplayer", url.format("bob:pw@"), "-n", "3", "--duration",
                                          "3", "--transport", "tcp", "--json", str(report_path), "-q"],
                              check=False, timeout=60)
            self.assertEqual(cp.returncode, 0, cp.stdout[-2000:] + cp.stderr[-2000:])
            report = json.loads(report_path.read_text())
            self.assertEqual(report["succeeded"], 3, report["errors"])
            self.assertGreater(report["rtp_packets"], 0)

            metrics = self.net.run("gw", ["curl", "-sS", "--max-time", "5", f"http://{admin}/metrics"]).stdout
            failures = re.search(r"^streamgate_rtsp_proxy_auth_failures_total (\S+)$", metrics, re.M)
            self.assertIsNotNone(failures, metrics[-2000:])
            self.assertGreaterEqual(float(failures.group(1)), 2)  # wrong password, unknown user
            log = gateway.log_text()
            self.assertRegex(log, r"rtsp player \S+ user alice mount cam .* ended")
            self.assertRegex(log, r"rtsp player \S+ user bob mount cam .* ended")
            self.assertRegex(log, r"401, user 'carol': unknown user")
        finally:
            gateway.stop()

    # ----- an upstream that goes silent (issue 11) -----

    def lost_count(self, mount, reason):
        return self.metrics().get(f'streamgate_rtsp_proxy_upstream_lost_total{{mount="{mount}",reason="{reason}"}}',
                                  0.0)

    def packets(self, mount):
        return self.metric("streamgate_rtsp_proxy_rtp_packets_total", mount)

    def start_player(self, mount, url=None):
        argv = self.ffmpeg_argv(mount, "tcp", frames=100000)
        if url is not None:
            argv[argv.index(self.url(mount))] = url
        return self.net.popen("client6", argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def test_11_silent_upstream_is_noticed_from_its_packet_rate(self):
        # A camera rebooting: the origin is killed and started again, but its old connection's FIN and RST
        # never reach the gateway (a firewall in the origin's namespace drops that connection's packets), so
        # only the missing media tells. The old fixed rule noticed after 10 s without media.
        player = self.start_player("restarting")
        try:
            self.wait_for(lambda: self.metric("streamgate_rtsp_proxy_players_active", "restarting") == 1, 30,
                          "the player")
            time.sleep(2)  # the mount learns the stream's packet rate
            self.assertGreater(self.packets("restarting"), 0)
            out = self.net.run("origin4", ["ss", "-Htn", "state", "established",
                                           f"( sport = :{RESTART_PORT} )"]).stdout.split()
            self.assertEqual(len(out), 4, out)  # Recv-Q Send-Q local peer: one upstream connection
            gateway_port = out[3].rsplit(":", 1)[1]
            self.net.run("origin4", ["nft", "add", "table", "inet", "sg_reboot"])
            self.net.run("origin4", ["nft", "add", "chain", "inet", "sg_reboot", "out",
                                     "{ type filter hook output priority 0 ; }"])
            self.net.run("origin4", ["nft", "add", "rule", "inet", "sg_reboot", "out", "tcp", "sport",
                                     str(RESTART_PORT), "tcp", "dport", gateway_port, "drop"])
            try:
                self.restarting.proc.kill()
                self.restarting.proc.wait()
                silenced = time.monotonic()
                before = self.packets("restarting")
                type(self).restarting = self.start_serve(RESTART_PORT, loop=True)
                self.wait_for(lambda: self.packets("restarting") > before, 20, "media again")
                back = time.monotonic() - silenced
            finally:
                self.net.run("origin4", ["nft", "delete", "table", "inet", "sg_reboot"])
            print(f"players got media again {back:.1f} s after the origin went silent", flush=True)
            self.assertLess(back, 5.0, self.gateway.log_text()[-3000:])
            self.assertIsNone(player.poll(), "the player was re-attached, not ended")
            log = self.gateway.log_text()
            self.assertRegex(log, r"rtsp mount restarting upstream \S+ over udp ended: silent for \d+\.\d s, "
                                  r"\d+ intervals")
            self.assertRegex(log, r"rtsp mount restarting upstream \S+ playing over udp again")
            self.assertGreaterEqual(self.lost_count("restarting", "silence"), 1)
        finally:
            player.kill()
            player.wait()

    def test_12_rtcp_bye_from_the_upstream_reconnects_at_once(self):
        # `serve` without --loop sends an RTCP BYE at the end of its 4 s clip and keeps the session open.
        player = self.start_player("ending")
        try:
            self.wait_for(lambda: self.packets("ending") > 0, 30, "media")
            key = 'streamgate_rtsp_proxy_upstream_lost_total{mount="ending",reason="bye"}'
            last_value, last_change, stall, bye_seen = 0.0, time.monotonic(), 0.0, None
            deadline = time.monotonic() + 25
            while time.monotonic() < deadline:
                time.sleep(0.1)
                values, now = self.metrics(), time.monotonic()
                value = values.get('streamgate_rtsp_proxy_rtp_packets_total{mount="ending"}', 0.0)
                if value != last_value:
                    stall = max(stall, now - last_change)
                    last_value, last_change = value, now
                if bye_seen is None and values.get(key, 0.0) >= 1:
                    bye_seen = now
                if bye_seen is not None and last_change > bye_seen:
                    break  # media again after the BYE
            stall = max(stall, time.monotonic() - last_change)
            print(f"longest media stall across the upstream's BYE: {stall:.1f} s", flush=True)
            self.assertGreaterEqual(self.lost_count("ending", "bye"), 1, self.gateway.log_text()[-3000:])
            self.assertLess(stall, 5.0)
            self.assertRegex(self.gateway.log_text(), r"rtsp mount ending upstream \S+ over udp ended: RTCP BYE")
            self.assertIsNone(player.poll(), "the player was re-attached, not ended")
        finally:
            player.kill()
            player.wait()

    # ----- SIGHUP reload of the proxy (issue 11) -----

    def test_13_sighup_reloads_mounts_allow_list_and_users(self):
        # A gateway of its own: the test rewrites its configuration file.
        port, admin = 8664, "127.0.0.1:9133"
        o = self.o4
        config = self.net.tmpdir / "reload.toml"
        head = f"""
[gateway]
socks = ["127.0.0.1:1082"]
admin = "{admin}"
allow = ["2001:2::/48"]

[alg]
ports = "40100-40199"

[rtsp]
listen = ["[{self.gw6}]:{port}"]
"""

        def mount(name, url, transport="udp"):
            return f'\n[[rtsp.mount]]\nname = "{name}"\nurl = "{url}"\ntransport = "{transport}"\n'

        config.write_text(head + mount("keep", f"rtsp://{o}:8554/test") + mount("gone", f"rtsp://{o}:8557/test")
                          + mount("moving", f"rtsp://{o}:8554/test"))
        gateway = self.net.start_peer("gw", [self.bin, "gateway", "--config", str(config)],
                                      name="streamgate-reload", ready=None)
        url = f"rtsp://{{}}[{self.gw6}]:{port}/{{}}"

        def status(name, credentials=""):
            cp = self.net.run("client6", ["ffmpeg", "-nostdin", "-hide_banner", "-rtsp_transport", "tcp", "-timeout",
                                          "10000000", "-i", url.format(credentials, name), "-map", "0:v",
                                          "-frames:v", "10", "-f", "null", "-"], check=False, timeout=60)
            failed = re.search(r"method DESCRIBE failed: (\d+)", cp.stderr)
            return (failed.group(1) if failed else "200" if cp.returncode == 0 else "?"), cp.stderr

        def reloads(result):
            text = self.net.run("gw", ["curl", "-sS", "--max-time", "5", f"http://{admin}/metrics"]).stdout
            found = re.search(rf'^streamgate_config_reloads_total{{result="{result}"}} (\S+)$', text, re.M)
            return float(found.group(1)) if found else None

        def hangup(expect_ok, expect_error):
            gateway.proc.send_signal(signal.SIGHUP)
            self.wait_for(lambda: reloads("ok") == expect_ok and reloads("error") == expect_error, 10,
                          f"reload {expect_ok} ok, {expect_error} errors")

        players = {}
        try:
            self.net.wait_port("gw", self.gw6, port)
            self.assertEqual(status("keep")[0], "200")
            players = {name: self.start_player(name, url.format("", name)) for name in ("gone", "moving")}
            self.wait_for(lambda: "rtsp mount gone upstream" in gateway.log_text()
                          and "rtsp mount moving upstream" in gateway.log_text(), 30, "both upstreams playing")
            time.sleep(1)
            for name, proc in players.items():
                self.assertIsNone(proc.poll(), f"{name} plays")

            # Remove one, change one's URL, add one, require player accounts.
            config.write_text(head + 'users = ["alice:s3cret"]\n' + mount("keep", f"rtsp://{o}:8554/test")
                              + mount("moving", f"rtsp://{o}:8557/test")
                              + mount("added", f"rtsp://{o}:{SERVE_PORT}/clip.mp4"))
            hangup(1, 0)
            for name, proc in players.items():
                proc.communicate(timeout=15)  # ended by the reload, not by the test
            log = gateway.log_text()
            self.assertRegex(log, r"rtsp player \S+ mount gone .* ended: mount removed by reload")
            self.assertRegex(log, r"rtsp player \S+ mount moving .* ended: mount changed by reload")
            self.assertEqual(status("gone", "alice:s3cret@")[0], "404")
            self.assertEqual(status("added", "alice:s3cret@")[0], "200")
            self.assertEqual(status("moving", "alice:s3cret@")[0], "200")
            self.assertRegex(gateway.log_text(), rf"rtsp mount moving upstream rtsp://{re.escape(o)}:8557/test playing")
            code, err = status("keep")
            self.assertEqual(code, "401", err[-2000:])

            # An invalid file changes nothing and says why.
            config.write_text(head + mount("keep", "http://not-rtsp/") + mount("gone", f"rtsp://{o}:8557/test"))
            hangup(1, 1)
            self.assertIn("SIGHUP: configuration not reloaded", gateway.log_text())
            self.assertRegex(gateway.log_text(), r"error SIGHUP: streamgate: .*reload\.toml.*rtsp")
            self.assertEqual(status("gone", "alice:s3cret@")[0], "404")
            self.assertEqual(status("added", "alice:s3cret@")[0], "200")
            self.assertEqual(status("keep")[0], "401")

            # Dropping the accounts and this client's network: new connections are refused at once.
            config.write_text(head.replace("2001:2::/48", "198.18.0.0/15") + mount("keep", f"rtsp://{o}:8554/test"))
            hangup(2, 1)
            self.assertEqual(status("keep")[0], "?")
            self.assertRegex(gateway.log_text(), r"rtsp player \S+ refused: not in the allow-list")
        finally:
            for proc in players.values():
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            gateway.stop()

    # Two connections from client6: the first is admitted and answered, the second gets 503 with its own CSeq,
    # Retry-After and a close, while the first stays usable.
    _TWO_PLAYERS = r"""
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
def options(s, cseq):
    s.sendall(f"OPTIONS rtsp://[{host}]:{port}/cam RTSP/1.0\r\nCSeq: {cseq}\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace")
first = socket.create_connection((host, port), timeout=10)
print("FIRST", repr(options(first, 1)))
second = socket.create_connection((host, port), timeout=10)
print("SECOND", repr(options(second, 5)))
print("SECOND_EOF", second.recv(1) == b"")
print("FIRST_AGAIN", repr(options(first, 2)))
"""

    def test_14_player_over_the_per_client_cap_gets_503(self):
        port, admin = 8655, "127.0.0.1:9134"
        config = self.net.tmpdir / "gateway-capped.toml"
        config.write_text(f"""
[gateway]
socks = ["127.0.0.1:1082"]
admin = "{admin}"
allow = ["2001:2::/48"]

[alg]
ports = "40100-40199"

[rtsp]
listen = ["[{self.gw6}]:{port}"]
max_connections_per_client = 1

[[rtsp.mount]]
name = "cam"
url = "rtsp://{self.o4}:8554/test"
""")
        gateway = self.net.start_peer("gw", [self.bin, "gateway", "--config", str(config)],
                                      name="streamgate-capped", ready=None)
        try:
            self.net.wait_port("gw", self.gw6, port)
            cp = self.net.run("client6", [PYTHON, "-c", self._TWO_PLAYERS, self.gw6, str(port)], timeout=30)
            out = dict(line.split(" ", 1) for line in cp.stdout.splitlines())
            self.assertIn("RTSP/1.0 200 OK", out["FIRST"], cp.stdout)
            self.assertIn("RTSP/1.0 503 Service Unavailable", out["SECOND"], cp.stdout)
            self.assertIn("CSeq: 5", out["SECOND"], cp.stdout)
            self.assertIn("Retry-After: ", out["SECOND"], cp.stdout)
            self.assertEqual(out["SECOND_EOF"], "True", cp.stdout)
            self.assertIn("RTSP/1.0 200 OK", out["FIRST_AGAIN"], cp.stdout)
            metrics = self.net.run("gw", ["curl", "-sS", "--max-time", "5", f"http://{admin}/metrics"]).stdout
            busy = re.search(r"^streamgate_rtsp_proxy_connections_busy_total (\S+)$", metrics, re.M)
            self.assertIsNotNone(busy, metrics[-2000:])
            self.assertEqual(float(busy.group(1)), 1)
            self.assertRegex(gateway.log_text(), r"rtsp proxy: answering 503 to \S+: over the per-client")
        finally:
            gateway.stop()

    def test_15_late_joiners_start_at_once_from_the_gop_cache(self):
        # The always-on mount has played for a while: its cache holds the GOP since the loop's key frame.
        self.wait_for(lambda: self.metric("streamgate_rtsp_proxy_upstream_sessions_started_total", "long-gop") >= 1,
                      30, "the long-gop upstream")
        time.sleep(2)
        starts = self.metric("streamgate_rtsp_proxy_gop_starts_total", "long-gop")
        for transport in ("udp", "tcp"):
            with self.subTest(player="testplayer", transport=transport):
                report_path = self.net.tmpdir / f"late-join-{transport}.json"
                cp = self.net.run("client6", [self.bin, "testplayer", self.url("long-gop"), "-n", "5", "--ramp", "2",
                                              "--duration", "3", "--transport", transport, "--json",
                                              str(report_path), "-q"], check=False, timeout=120)
                self.assertEqual(cp.returncode, 0, cp.stdout[-2000:] + cp.stderr[-2000:])
                report = json.loads(report_path.read_text())
                self.assertEqual(report["succeeded"], 5, report["errors"])
                self.assertEqual(report["players_first_packet_not_key"], 0, report)
                self.assertEqual(report["rtp_lost"], 0, report)
                self.assertEqual(report["rtp_invalid"], 0, report)
                # Every player saw a whole key frame; the next key frame is up to 8 s away, so a player that
                # waited for it would not have one within the 3 s it plays.
                self.assertEqual(report["first_key_frame_ms"]["count"], 5, report)
                print(f"late joiners over {transport}: first decodable frame p50 "
                      f"{report['first_key_frame_ms']['p50']:.0f} ms, max {report['first_key_frame_ms']['max']:.0f} ms",
                      flush=True)
            with self.subTest(player="ffmpeg", transport=transport):
                # 75 frames: the cached GOP (the burst) and then live frames, all decoded without an error.
                result = self.play("long-gop", transport, frames=75, timeout=90)
                self.assert_decoded(result, frames=75)
                self.assertEqual(self.ffmpeg_decode_errors(result[2]), [], result[2][-3000:])
        # Every one of those players was started from the cache.
        self.assertGreaterEqual(self.metric("streamgate_rtsp_proxy_gop_starts_total", "long-gop") - starts, 12)


if __name__ == "__main__":
    unittest.main()
