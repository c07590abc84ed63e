"""Proves the integration test network (testnet.py) and the GStreamer RTSP origin peer.

Isolation: leaves reach gw and gw reaches every leaf of its family, but no leaf reaches another one (gw
does not forward); single-stack hosts have no address of the other family; names resolve everywhere.
Media: a GstRtspServer origin on origin4 is played by ffprobe from gw over RTP/UDP and interleaved TCP
(H.264 320x240, frames decoded), and one on origin6 over TCP.
"""

import json
import subprocess
import time
import unittest

import testnet
from testnet import GW, LEAVES, PEERS, PYTHON, REACHABLE, TestNetwork

NET: TestNetwork = None  # one network for the whole module: building it is cheap, but not free
HTTP_PORT = 8080
RTSP_PORT = 8554


def setUpModule():
    global NET
    NET = TestNetwork()
    unittest.addModuleCleanup(NET.close)
    NET.start()


class TopologyTest(unittest.TestCase):
    def addresses(self, host, family):
        out = NET.run(host, ["ip", "-o", f"-{family}", "address", "show"]).stdout
        return sorted((line.split()[1], line.split()[3].split("/")[0]) for line in out.splitlines())

    def test_single_stack_hosts_have_no_address_of_the_other_family(self):
        for leaf in LEAVES:
            with self.subTest(host=leaf.name):
                if leaf.family == 4:
                    self.assertEqual(self.addresses(leaf.name, 4),
                                     [("eth0", NET.addr(leaf.name, 4)), ("lo", "127.0.0.1")])
                    self.assertEqual(self.addresses(leaf.name, 6), [])  # not even ::1 or link-local
                    self.assertEqual(NET.run(leaf.name, ["cat", "/proc/net/if_inet6"]).stdout, "")
                else:
                    self.assertEqual(self.addresses(leaf.name, 4), [("lo", "127.0.0.1")])
                    v6 = self.addresses(leaf.name, 6)
                    self.assertIn(("eth0", NET.addr(leaf.name, 6)), v6)
                    self.assertIn(("lo", "::1"), v6)

    def test_gateway_is_dual_stack_without_forwarding(self):
        v4 = self.addresses(GW, 4)
        v6 = self.addresses(GW, 6)
        for leaf in LEAVES:
            pair = (f"to-{leaf.name}", NET.addr(GW, leaf.family, peer=leaf.name))
            self.assertIn(pair, v4 if leaf.family == 4 else v6)
            if leaf.family == 4:  # IPv4-only links carry no IPv6 on the gw side either
                self.assertFalse([a for dev, a in v6 if dev == f"to-{leaf.name}"])
        out = NET.run(GW, ["sysctl", "-n", "net.ipv4.ip_forward", "net.ipv4.conf.all.forwarding",
                           "net.ipv6.conf.all.forwarding"]).stdout.split()
        self.assertEqual(out, ["0", "0", "0"])

    def test_addressing_plan(self):
        self.assertEqual(NET.addr("client4", 4), "198.18.1.2")
        self.assertEqual(NET.addr("origin6", 6), "2001:2:0:4::2")
        self.assertEqual(NET.addr(GW, 4, peer="origin4"), "198.18.3.1")
        self.assertEqual(NET.addr(GW, 6), "2001:2:0:2::1")
        self.assertEqual(NET.url_host("origin6", 6), "[2001:2:0:4::2]")
        self.assertEqual(NET.name("origin4"), "origin4.test")
        with self.assertRaises(ValueError):
            NET.addr("client4", 6)
        with self.assertRaises(ValueError):
            NET.addr(GW, 6, peer="origin4")
        with self.assertRaises(ValueError):
            NET.ns("nosuchhost")

    def test_names_resolve_inside_namespaces(self):
        def getent(host, name, db="hosts"):
            cp = NET.run(host, ["getent", db, name], check=False)
            return sorted({line.split()[0] for line in cp.stdout.splitlines()})

        for leaf in LEAVES:
            with self.subTest(name=NET.name(leaf.name)):
                self.assertEqual(getent(GW, NET.name(leaf.name)), [NET.addr(leaf.name, leaf.family)])
        self.assertEqual(getent(GW, "gw.test", "ahosts"), sorted([NET.addr(GW, 4), NET.addr(GW, 6)]))
        # A leaf's gw.test is the gateway address on its own link.
        self.assertIn(NET.addr(GW, 4, peer="origin4"), getent("origin4", "gw.test", "ahostsv4"))
        self.assertIn(NET.addr(GW, 6, peer="client6"), getent("client6", "gw.test", "ahostsv6"))
        self.assertEqual(getent("client4", "localhost"), ["127.0.0.1"])
        self.assertEqual(getent(GW, "nosuchname.test"), [])
        # The root namespace's /etc/hosts is untouched.
        with open("/etc/hosts") as f:
            self.assertNotIn("origin4.test", f.read())

    def test_added_names_are_seen_by_running_processes(self):
        # A resolver loop that has already failed once must see the name once it is added: the hosts file is
        # rewritten in place, so the bind mount of an already running process shows the new content.
        script = ("import socket, time\n"
                  "for i in range(200):\n"
                  "    try:\n"
                  "        print(socket.getaddrinfo('late.test', 1)[0][4][0], flush=True); break\n"
                  "    except socket.gaierror:\n"
                  "        if i == 0: print('MISSING', flush=True)\n"
                  "        time.sleep(0.05)\n")
        proc = NET.popen(GW, [PYTHON, "-c", script], stdout=subprocess.PIPE, text=True)
        self.assertEqual(proc.stdout.readline().strip(), "MISSING")
        NET.add_name("late.test", NET.addr("origin4", 4), hosts=[GW])
        out, _ = proc.communicate(timeout=15)
        self.assertEqual(out.strip(), NET.addr("origin4", 4))
        self.assertEqual(NET.run("client4", ["getent", "hosts", "late.test"], check=False).returncode, 2)


class ReachabilityTest(unittest.TestCase):
    """One HTTP listener per leaf; gw fetches from all of them, no leaf reaches another."""

    @classmethod
    def setUpClass(cls):
        testnet.require_tools("curl")
        for leaf in LEAVES:
            root = NET.make_dir(f"www-{leaf.name}", {"whoami.txt": leaf.name + "\n"})
            argv = [PYTHON, "-u", "-m", "http.server", "--bind", NET.addr(leaf.name, leaf.family),
                    "--directory", str(root), str(HTTP_PORT)]
            NET.start_peer(leaf.name, argv, name=f"http-{leaf.name}", ready="Serving HTTP")
            NET.wait_port(leaf.name, NET.addr(leaf.name, leaf.family), HTTP_PORT)

    def curl(self, host, url, timeout=5):
        return NET.run(host, ["curl", "-sS", "-g", "--max-time", str(timeout), url], timeout=timeout + 10,
                       check=False)

    def test_gateway_reaches_every_leaf(self):
        for leaf in LEAVES:
            for target in (NET.name(leaf.name), NET.url_host(leaf.name, leaf.family)):
                with self.subTest(target=target):
                    cp = self.curl(GW, f"http://{target}:{HTTP_PORT}/whoami.txt")
                    self.assertEqual(cp.returncode, 0, cp.stderr)
                    self.assertEqual(cp.stdout, leaf.name + "\n")

    def test_every_leaf_reaches_the_gateway(self):
        for leaf in LEAVES:
            with self.subTest(host=leaf.name):
                self.assertIn(NET.tcp_probe(leaf.name, "gw.test", 9, timeout=2.0), REACHABLE)

    def test_gateway_does_not_forward_within_a_family(self):
        # Same family, so there are routes (default via gw), yet gw drops the packets silently.
        for src, dst in (("client4", "origin4"), ("origin4", "client4"), ("client6", "origin6"),
                         ("origin6", "client6")):
            with self.subTest(src=src, dst=dst):
                result = NET.tcp_probe(src, NET.name(dst), HTTP_PORT, timeout=1.0)
                self.assertNotIn(result, REACHABLE)
        cp = self.curl("client4", f"http://origin4.test:{HTTP_PORT}/whoami.txt", timeout=1)
        self.assertEqual(cp.returncode, 28, cp.stderr)  # curl: operation timed out

    def test_other_family_fails_fast(self):
        for src, dst, dst_family in (("client6", "origin4", 4), ("client4", "origin6", 6),
                                     ("origin6", "client4", 4), ("origin4", "client6", 6)):
            with self.subTest(src=src, dst=dst):
                start = time.monotonic()
                result = NET.tcp_probe(src, NET.addr(dst, dst_family), HTTP_PORT, timeout=5.0)
                self.assertIn(result, ("ENETUNREACH", "EADDRNOTAVAIL", "EAFNOSUPPORT"))
                self.assertLess(time.monotonic() - start, 3.0)
        cp = self.curl("client6", f"http://origin4.test:{HTTP_PORT}/whoami.txt")
        self.assertEqual(cp.returncode, 7, cp.stderr)  # curl: could not connect (no route)

    def test_blackhole_drops_silently(self):
        NET.blackhole(GW, "2001:2:0:99::/64")
        NET.add_name("dual.test", ["2001:2:0:99::1", NET.addr("origin4", 4)], hosts=[GW])
        self.assertEqual(NET.tcp_probe(GW, "2001:2:0:99::1", HTTP_PORT, timeout=1.0), "timeout")
        cp = NET.run(GW, ["getent", "ahosts", "dual.test"])
        self.assertEqual({line.split()[0] for line in cp.stdout.splitlines()},
                         {"2001:2:0:99::1", NET.addr("origin4", 4)})
        cp = self.curl(GW, f"http://{NET.url_host('origin4', 4)}:{HTTP_PORT}/whoami.txt")
        self.assertEqual(cp.stdout, "origin4\n")  # the rest of gw's routing is untouched


def ffprobe(host, url, transport, *args, timeout=30):
    """ffprobe's JSON output for url, played from host; fails the test on error or after timeout."""
    argv = ["ffprobe", "-v", "error", "-rtsp_transport", transport, "-timeout", "5000000", *args,
            "-of", "json", url]
    return json.loads(NET.run(host, argv, timeout=timeout).stdout)


class ExtraHostsTest(unittest.TestCase):
    """add_host/add_link/ip_batch/nft: a LAN host behind an nftables masquerade router hanging off gw."""

    ACCEPT_ONE = ("import socket, sys\n"
                  "s = socket.socket(); s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1)\n"
                  "print('READY', flush=True); c, peer = s.accept(); print(peer[0], flush=True)\n")

    def test_lan_host_behind_nat_router(self):
        with TestNetwork() as net:
            net.add_host("rtr", forwarding=True)
            net.add_host("lan", families=(4,))
            net.add_link("gw", "to-rtr", "rtr", "up0")
            net.add_link("rtr", "lan0", "lan", "eth0")
            net.ip_batch("gw", ["address add 198.18.50.1/24 dev to-rtr"])
            net.ip_batch("rtr", ["address add 198.18.50.2/24 dev up0", "address add 10.9.0.1/24 dev lan0",
                                 "route add default via 198.18.50.1"])
            net.ip_batch("lan", ["address add 10.9.0.2/24 dev eth0", "route add default via 10.9.0.1"])
            self.assertIn(net.ns("rtr"), testnet._list_netns())
            self.assertEqual(net.run("lan", ["ip", "-o", "-6", "address", "show"]).stdout, "")  # IPv4 only
            # Without NAT gw has no route back to 10.9.0.0/24: the connect times out.
            self.assertEqual(net.tcp_probe("lan", "198.18.50.1", HTTP_PORT, timeout=1.0), "timeout")
            net.nft("rtr", 'table ip nat { chain post { type nat hook postrouting priority srcnat; '
                           'oifname "up0" masquerade; }; }')
            server = net.start_peer("gw", [PYTHON, "-c", self.ACCEPT_ONE, "198.18.50.1", str(HTTP_PORT)],
                                    name="accept-one")
            self.assertEqual(net.tcp_probe("lan", "198.18.50.1", HTTP_PORT), "connected")
            server.proc.wait(timeout=10)
            self.assertEqual(server.log_text().split()[-1], "198.18.50.2")  # masqueraded by the router
            ns = net.ns("lan")
        self.assertNotIn(ns, testnet._list_netns())  # torn down with the run


class RtspOriginTest(unittest.TestCase):
    """GstRtspServer origins on origin4 (IPv4) and origin6 (IPv6), played by ffprobe from gw."""

    @classmethod
    def setUpClass(cls):
        testnet.require_tools("ffprobe")
        gi_check = subprocess.run([PYTHON, "-c", "import gi; gi.require_version('GstRtspServer', '1.0'); "
                                   "from gi.repository import GstRtspServer"], capture_output=True, text=True)
        if gi_check.returncode != 0:
            why = gi_check.stderr.strip()[-300:]
            raise unittest.SkipTest(f"GstRtspServer for {PYTHON} is missing: {why}")
        cls.origins = {}
        for host, family in (("origin4", 4), ("origin6", 6)):
            cls.origins[host] = NET.start_peer(host, [PYTHON, PEERS / "gst_rtsp_origin.py", "--address",
                                                      NET.addr(host, family), "--port", str(RTSP_PORT)],
                                               name=f"rtsp-{host}")
            NET.wait_port(host, NET.addr(host, family), RTSP_PORT)

    def url(self, host):
        return f"rtsp://{NET.name(host)}:{RTSP_PORT}/test"

    def assert_h264_320x240(self, info):
        streams = info["streams"]
        self.assertEqual(len(streams), 1, streams)
        self.assertEqual(streams[0]["codec_type"], "video")
        self.assertEqual(streams[0]["codec_name"], "h264")
        self.assertEqual((streams[0]["width"], streams[0]["height"]), (320, 240))

    def assert_frames_decoded(self, host, transport):
        # Two seconds of a 25 fps stream: ~50 frames; accept a slow start but not a stall.
        info = ffprobe(GW, self.url(host), transport, "-count_frames", "-read_intervals", "%+2",
                       "-select_streams", "v:0", "-show_entries", "stream=codec_name,nb_read_frames")
        self.assertEqual(info["streams"][0]["codec_name"], "h264")
        self.assertGreaterEqual(int(info["streams"][0]["nb_read_frames"]), 25, info)

    def test_ipv4_origin_over_udp_and_tcp(self):
        for transport in ("udp", "tcp"):
            with self.subTest(transport=transport):
                self.assert_h264_320x240(ffprobe(GW, self.url("origin4"), transport, "-show_streams"))
                self.assert_frames_decoded("origin4", transport)

    def test_ipv6_origin_over_tcp(self):
        self.assert_h264_320x240(ffprobe(GW, self.url("origin6"), "tcp", "-show_streams"))
        self.assert_frames_decoded("origin6", "tcp")

    def test_clients_cannot_reach_the_origins_directly(self):
        self.assertNotIn(NET.tcp_probe("client4", "origin4.test", RTSP_PORT, timeout=1.0), REACHABLE)
        self.assertNotIn(NET.tcp_probe("client6", "origin6.test", RTSP_PORT, timeout=1.0), REACHABLE)

    def test_origin_options_and_clean_exit(self):
        # Port 0 (reported after READY), an audio track, TCP only, two mounts; SIGTERM exits with 0.
        peer = NET.start_peer("origin6", [PYTHON, PEERS / "gst_rtsp_origin.py", "--address",
                                          NET.addr("origin6", 6), "--port", "0", "--audio", "pcma",
                                          "--protocols", "tcp", "--mount", "/a", "--mount", "/b"],
                              name="rtsp-origin6-extra")
        port = int(peer.ready_line.split()[1])
        self.assertGreater(port, 0)
        url = f"rtsp://{NET.url_host('origin6', 6)}:{port}/b"
        codecs = sorted(s["codec_name"] for s in ffprobe(GW, url, "tcp", "-show_streams")["streams"])
        self.assertEqual(codecs, ["h264", "pcm_alaw"])
        cp = NET.run(GW, ["ffprobe", "-v", "error", "-rtsp_transport", "udp", "-timeout", "5000000", url],
                     timeout=30, check=False)
        self.assertNotEqual(cp.returncode, 0)
        self.assertIn("461", cp.stderr)  # Unsupported Transport
        self.assertEqual(peer.stop(timeout=10), 0, peer.log_text())


if __name__ == "__main__":
    unittest.main()
