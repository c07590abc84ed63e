"""A cascade of gateways (issue 17, "Many gateways"): edge gateways whose mounts pull from an origin gateway's
mount, so one camera or file feeds viewers on many machines while the origin carries one session per edge.

    origin4: streamgate serve --loop
       |
    gw: the origin gateway, mount "live" <- rtsp://origin4/clip.mp4
       |  198.18.11.0/24           |  2001:2:0:12::/64
    edge1: gateway, mount        edge2: gateway, mount
    "live" <- rtsp://gw/live     "live" <- rtsp://[gw]/live
    (upstream over UDP)          (upstream interleaved over TCP)
       |  198.18.21.0/24           |  198.18.22.0/24
    viewers: ffmpeg players on both edges, over UDP and TCP

The edges start before the origin gateway: edge1's always-on mount keeps trying and plays as soon as the origin
gateway is there, edge2's on-demand mount starts with its first player. Three ffmpeg players per edge decode
every frame with no decoder error, while the origin gateway's admin API lists exactly one player session per
edge (in that edge's transport). HAProxy in TCP mode (a standard L4 balancer, health-checking the edges with an
RTSP OPTIONS) in front of both edges spreads six interleaved players three and three. Then edge1 is SIGKILLed
mid-stream: edge2's players keep decoding to their last frame with no decoder error and edge2's upstream is
never reconnected, while the origin gateway logs the end of edge1's session and lists only edge2's. Last, the
origin gateway is SIGKILLed and started again: edge2 reconnects and its players keep their sessions and decode
every frame. The origin gateway's short session timeout (10 s, shorter than the 12 s of play of tests 3 and 4)
shows that the edges' keep-alives hold their sessions there.
"""

from __future__ import annotations

import csv
import json
import re
import signal
import subprocess
import time
import unittest

from testnet import TestNetwork, make_test_clip, require_tools, streamgate_bin

SERVE_PORT = 8560
RTSP_PORT = 8554
ADMIN = "127.0.0.1:9131"  # every gateway's own loopback, in its own namespace
PLAYERS_PER_EDGE = 3
FRAMES = 300  # 12 s of the clip's 25 fps, long enough to kill edge1 in the middle

# Addresses of the links the test adds (198.18.0.0/15 and 2001:2::/48, the benchmarking ranges of testnet.py).
GW_EDGE1, EDGE1_UP = "198.18.11.1", "198.18.11.2"
GW_EDGE2, EDGE2_UP = "2001:2:0:12::1", "2001:2:0:12::2"
EDGE1_DOWN, VIEWER_EDGE1 = "198.18.21.1", "198.18.21.2"
EDGE2_DOWN, VIEWER_EDGE2 = "198.18.22.1", "198.18.22.2"
VIP = "198.18.30.1"  # haproxy's frontend (test 2)


class Cascade(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_tools("ffmpeg", "curl")
        cls.bin = streamgate_bin()
        cls.net = TestNetwork().start()
        cls.addClassCleanup(cls.net.close)  # runs when _start fails too
        cls._start()

    @classmethod
    def _start(cls):
        net = cls.net
        net.add_host("edge1", families=(4,))
        net.add_host("edge2", families=(4, 6))
        net.add_host("viewers", families=(4,))
        net.add_link("gw", "to-edge1", "edge1", "up0")
        net.add_link("gw", "to-edge2", "edge2", "up0")
        net.add_link("edge1", "down0", "viewers", "e1")
        net.add_link("edge2", "down0", "viewers", "e2")
        net.ip_batch("gw", [f"address add {GW_EDGE1}/24 dev to-edge1",
                            f"address add {GW_EDGE2}/64 dev to-edge2 nodad"])
        net.ip_batch("edge1", [f"address add {EDGE1_UP}/24 dev up0", f"address add {EDGE1_DOWN}/24 dev down0"])
        net.ip_batch("edge2", [f"address add {EDGE2_UP}/64 dev up0 nodad",
                               f"address add {EDGE2_DOWN}/24 dev down0"])
        net.ip_batch("viewers", [f"address add {VIEWER_EDGE1}/24 dev e1", f"address add {VIEWER_EDGE2}/24 dev e2"])

        o4 = net.addr("origin4", 4)
        clip_dir = net.make_dir("media")
        make_test_clip(clip_dir / "clip.mp4", seconds=8, audio=False)
        net.start_peer("origin4", [cls.bin, "serve", str(clip_dir), "--loop", "--listen", f"{o4}:{SERVE_PORT}"],
                       name="serve", ready=None)
        net.wait_port("origin4", o4, SERVE_PORT)

        cls.o4 = o4
        # The edges start first. Edge1's mount is always on: it keeps trying until the origin gateway is there,
        # and then plays with no player; edge2's is on demand (its first player starts it).
        cls.edges = {
            "edge1": cls.start_gateway("edge1", "edge1-gateway", listen=[EDGE1_DOWN], allow=["198.18.21.0/24"],
                                       url=f"rtsp://{GW_EDGE1}:{RTSP_PORT}/live", transport="udp", always_on=True),
            "edge2": cls.start_gateway("edge2", "edge2-gateway", listen=[EDGE2_DOWN], allow=["198.18.22.0/24"],
                                       url=f"rtsp://[{GW_EDGE2}]:{RTSP_PORT}/live", transport="tcp"),
        }
        net.wait_port("edge1", EDGE1_DOWN, RTSP_PORT)
        net.wait_port("edge2", EDGE2_DOWN, RTSP_PORT)
        deadline = time.monotonic() + 15
        while not re.search(r"rtsp mount live upstream \S+ failed: connect: .*\(always on: retrying\)",
                            cls.edges["edge1"].log_text()):
            if time.monotonic() > deadline:
                raise RuntimeError("edge1's always-on mount did not try the absent origin:\n" + net.peer_logs())
            time.sleep(0.1)
        cls.origin_gw = cls.start_origin_gateway()
        for host in ("gw", "edge1", "edge2"):
            net.wait_port(host, "127.0.0.1", int(ADMIN.rsplit(":", 1)[1]))

    @classmethod
    def start_origin_gateway(cls):
        gateway = cls.start_gateway("gw", "origin-gateway", listen=[GW_EDGE1, f"[{GW_EDGE2}]"],
                                    allow=["198.18.11.0/24", "2001:2:0:12::/64"],
                                    url=f"rtsp://{cls.o4}:{SERVE_PORT}/clip.mp4", transport="udp")
        cls.net.wait_port("gw", GW_EDGE1, RTSP_PORT)
        cls.net.wait_port("gw", GW_EDGE2, RTSP_PORT)
        return gateway

    @classmethod
    def start_gateway(cls, host, name, listen, allow, url, transport, always_on=False):
        # session_timeout_s: matters on the origin gateway, whose players are the edges (keep-alives every 5 s).
        config = cls.net.write_file(f"{name}.toml", f"""
[gateway]
socks = ["127.0.0.1:1080"]
admin = "{ADMIN}"
allow = {json.dumps(allow)}

[rtsp]
listen = {json.dumps([f"{address}:{RTSP_PORT}" for address in listen])}
session_timeout_s = 10

[[rtsp.mount]]
name = "live"
url = "{url}"
transport = "{transport}"
always_on = {"true" if always_on else "false"}
""")
        return cls.net.start_peer(host, [cls.bin, "gateway", "--config", str(config)], name=name, ready=None)

    # ----- helpers -----

    def api(self, host, path):
        out = self.net.run(host, ["curl", "-sS", "--max-time", "5", f"http://{ADMIN}{path}"]).stdout
        return json.loads(out)

    def metric(self, host, name):
        text = self.net.run(host, ["curl", "-sS", "--max-time", "5", f"http://{ADMIN}/metrics"]).stdout
        found = re.search(rf'^{re.escape(name)}{{mount="live"}} (\S+)$', text, re.M)
        return float(found.group(1)) if found else 0.0

    def origin_clients(self):
        """The clients of the origin gateway's player sessions of mount live: one per edge."""
        players = self.api("gw", "/api/v1/rtsp/players")["players"]
        return sorted(p["client"].rsplit(":", 1)[0].strip("[]") for p in players if p["mount"] == "live")

    def wait_for(self, predicate, timeout, what):
        self.net.wait_until(predicate, what, timeout)

    def start_player(self, address, transport, frames):
        argv = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "info", "-rtsp_transport", transport,
                "-timeout", "10000000", "-i", f"rtsp://{address}:{RTSP_PORT}/live", "-map", "0:v",
                "-frames:v", str(frames), "-f", "null", "-"]
        return self.net.popen("viewers", argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    @staticmethod
    def frames_in(stderr):
        counts = re.findall(r"frame=\s*(\d+)", stderr)
        return int(counts[-1]) if counts else 0

    @staticmethod
    def decode_errors(stderr):
        return [line for line in stderr.splitlines()
                if re.search(r"\[h264 @|error|Error", line) and "frame=" not in line]

    def run_players(self, procs):
        """Waits for ffmpeg players; returns (exit status, frames decoded, stderr) of each."""
        results = []
        for proc in procs:
            _, err = proc.communicate(timeout=90)
            results.append((proc.returncode, self.frames_in(err), err))
        return results

    def assert_decoded_every_frame(self, results, frames):
        for rc, decoded, err in results:
            self.assertEqual(rc, 0, err[-3000:] + "\n" + self.net.peer_logs()[-3000:])
            self.assertEqual(decoded, frames, err[-3000:])
            self.assertEqual(self.decode_errors(err), [], err[-3000:])

    def assert_one_session_per_edge(self):
        players = [p for p in self.api("gw", "/api/v1/rtsp/players")["players"] if p["mount"] == "live"]
        transports = sorted((p["client"].rsplit(":", 1)[0].strip("[]"), p["transport"]) for p in players)
        self.assertEqual(transports, sorted([(EDGE1_UP, "udp"), (EDGE2_UP, "tcp")]), players)

    def haproxy_checks(self, socket_path):
        """{server: last check status} of haproxy's backend `edges`, from its stats socket."""
        cp = self.net.run("viewers", ["socat", "-", f"UNIX-CONNECT:{socket_path}"], input="show stat\n",
                          check=False)
        rows = list(csv.reader(cp.stdout.lstrip("# ").splitlines()))
        if cp.returncode != 0 or not rows:
            return {}
        header = rows[0]
        rows = [dict(zip(header, row)) for row in rows[1:]]
        return {row["svname"]: row["check_status"] for row in rows
                if row.get("pxname") == "edges" and row.get("svname") not in ("BACKEND", None)}

    def kill_stray(self, procs):
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    # ----- tests (in order: the third kills edge1) -----

    def test_1_players_on_both_edges_decode_every_frame_through_one_session_per_edge(self):
        # Edge1's always-on mount got to the origin gateway on its own, started after it; edge2's waits.
        self.wait_for(lambda: self.api("edge1", "/api/v1/rtsp/mounts/live")["state"] == "playing", 15,
                      "edge1's always-on mount to play")
        self.assertEqual(self.origin_clients(), [EDGE1_UP])
        self.assertEqual(self.api("edge2", "/api/v1/rtsp/mounts/live")["state"], "idle")

        frames = 100
        procs = [self.start_player(address, "udp" if i % 2 else "tcp", frames)
                 for address in (EDGE1_DOWN, EDGE2_DOWN) for i in range(PLAYERS_PER_EDGE)]
        try:
            for edge in ("edge1", "edge2"):
                self.wait_for(lambda edge=edge: self.metric(edge, "streamgate_rtsp_proxy_players_active")
                              == PLAYERS_PER_EDGE, 30, f"{PLAYERS_PER_EDGE} players on {edge}")
            # Six players on two edges: the origin gateway serves one session per edge, in each edge's transport.
            self.assert_one_session_per_edge()
            mount = self.api("edge2", "/api/v1/rtsp/mounts/live")
            self.assertEqual((mount["state"], mount["upstream_transport"], mount["players"]),
                             ("playing", "tcp", PLAYERS_PER_EDGE), mount)
            self.assert_decoded_every_frame(self.run_players(procs), frames)
        finally:
            self.kill_stray(procs)
        self.assertEqual(self.metric("gw", "streamgate_rtsp_proxy_players_total"), 2)
        self.assertEqual(self.metric("gw", "streamgate_rtsp_proxy_upstream_sessions_started_total"), 1)

    def test_2_haproxy_in_tcp_mode_spreads_players_across_the_edges(self):
        require_tools("haproxy", "socat")
        # The balancer runs in the viewers' namespace on an address of its own (a VIP); it reaches the edges over
        # the viewers' links, so the edges' allow-lists admit it. Round robin: three players on each edge.
        self.net.ip_batch("viewers", [f"address add {VIP}/32 dev lo"])
        stats = self.net.tmpdir / "haproxy.sock"
        config = self.net.write_file("haproxy.cfg", f"""
global
    stats socket {stats}

defaults
    mode tcp
    timeout connect 5s
    timeout client 2m
    timeout server 2m

frontend rtsp
    bind {VIP}:{RTSP_PORT}
    default_backend edges

backend edges
    balance roundrobin
    option tcp-check
    tcp-check connect
    tcp-check send "OPTIONS * RTSP/1.0\\r\\nCSeq: 1\\r\\n\\r\\n"
    tcp-check expect string "RTSP/1.0 200 OK"
    server edge1 {EDGE1_DOWN}:{RTSP_PORT} check inter 1s
    server edge2 {EDGE2_DOWN}:{RTSP_PORT} check inter 1s
""")
        haproxy = self.net.start_peer("viewers", ["haproxy", "-db", "-f", str(config)], name="haproxy", ready=None)
        procs = []
        try:
            self.net.wait_port("viewers", VIP, RTSP_PORT)
            # Both edges pass the RTSP health check (an OPTIONS answered 200), not only a TCP connect.
            self.wait_for(lambda: self.haproxy_checks(stats) == {"edge1": "L7OK", "edge2": "L7OK"}, 15,
                          "haproxy's health checks of both edges")
            frames = 100
            # Interleaved: an L4 proxy hides the player's address, so a UDP SETUP would send media to haproxy.
            procs = [self.start_player(VIP, "tcp", frames) for _ in range(2 * PLAYERS_PER_EDGE)]
            for edge in ("edge1", "edge2"):
                self.wait_for(lambda edge=edge: self.metric(edge, "streamgate_rtsp_proxy_players_active")
                              == PLAYERS_PER_EDGE, 30, f"{PLAYERS_PER_EDGE} balanced players on {edge}")
            self.assert_one_session_per_edge()
            self.assert_decoded_every_frame(self.run_players(procs), frames)
        finally:
            self.kill_stray(procs)
            haproxy.stop()

    def test_3_killing_one_edge_leaves_the_other_edges_players_untouched(self):
        players = {edge: [self.start_player(address, "udp" if i % 2 else "tcp", FRAMES)
                          for i in range(PLAYERS_PER_EDGE)]
                   for edge, address in (("edge1", EDGE1_DOWN), ("edge2", EDGE2_DOWN))}
        try:
            for edge in ("edge1", "edge2"):
                self.wait_for(lambda edge=edge: self.metric(edge, "streamgate_rtsp_proxy_players_active")
                              == PLAYERS_PER_EDGE, 30, f"{PLAYERS_PER_EDGE} players on {edge}")
            self.assert_one_session_per_edge()
            time.sleep(2)
            started = self.metric("edge2", "streamgate_rtsp_proxy_upstream_sessions_started_total")
            packets_before = self.metric("edge2", "streamgate_rtsp_proxy_rtp_packets_total")

            # Edge1 dies mid-stream, without a TEARDOWN or an RTCP BYE.
            self.edges["edge1"].proc.send_signal(signal.SIGKILL)
            self.edges["edge1"].proc.wait()
            self.wait_for(lambda: self.origin_clients() == [EDGE2_UP], 15, "the origin to drop edge1's session")
            log = self.origin_gw.log_text()
            self.assertRegex(log, rf"rtsp player {re.escape(EDGE1_UP)}:\d+ mount live session \S+ transport udp "
                                  r"ended: connection closed")
            self.assertNotRegex(log, r"rtsp player \[" + re.escape(EDGE2_UP) + r"\]:\d+ mount live .* ended: ")

            self.assert_decoded_every_frame(self.run_players(players["edge2"]), FRAMES)
            # Edge2's upstream went on as it was: media kept flowing, no reconnection, no loss noticed.
            self.assertGreater(self.metric("edge2", "streamgate_rtsp_proxy_rtp_packets_total"), packets_before)
            self.assertEqual(self.metric("edge2", "streamgate_rtsp_proxy_upstream_sessions_started_total"), started)
            self.assertNotRegex(self.edges["edge2"].log_text(), r"rtsp mount live upstream .* ended: ")
        finally:
            self.kill_stray(p for group in players.values() for p in group)


    def test_4_edge_bridges_an_origin_gateway_restart(self):
        # The origin gateway is SIGKILLed and started again at once: edge2 reconnects (back-off from 0.25 s) and
        # its players keep their sessions, since the new origin session has the same tracks (within 6 s).
        procs = [self.start_player(EDGE2_DOWN, "udp" if i % 2 else "tcp", FRAMES) for i in range(PLAYERS_PER_EDGE)]
        try:
            self.wait_for(lambda: self.metric("edge2", "streamgate_rtsp_proxy_players_active") == PLAYERS_PER_EDGE,
                          30, f"{PLAYERS_PER_EDGE} players on edge2")
            time.sleep(2)
            self.origin_gw.proc.send_signal(signal.SIGKILL)
            self.origin_gw.proc.wait()
            type(self).origin_gw = self.start_origin_gateway()
            self.wait_for(lambda: re.search(r"rtsp mount live upstream \S+ playing over tcp again",
                                            self.edges["edge2"].log_text()), 15, "edge2 to play again")
            # The new origin session starts the edge at a key frame, and the edge's numbering continues.
            self.assert_decoded_every_frame(self.run_players(procs), FRAMES)
            self.assertRegex(self.edges["edge2"].log_text(), r"rtsp mount live upstream \S+ over tcp ended: connection")
            self.assertNotRegex(self.edges["edge2"].log_text(), r"rtsp player .* ended: upstream")
        finally:
            self.kill_stray(procs)

if __name__ == "__main__":
    unittest.main()
