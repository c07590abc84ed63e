"""The SIP media relay rig: Kamailio and the relay on a public host, SIPp user agents behind NAT routers.

Built on a TestNetwork (testnet.py), whose gw namespace plays the public host:

    alice (10.0.1.2)  --lan0-- natalice --up0--+
    bob   (10.0.2.2)  --lan0-- natbob   --up0--+-- gw: Kamailio udp 5060 and the relay's media on
    carol (10.0.3.2)  --lan0-- natcarol --up0--+       198.18.100.1 / 2001:2:0:100::1 (on lo);
    dave  (fd00:0:0:4::2) -- natdave    --up0--+       relay control on 127.0.0.1 (ng 2223, rtpproxy 7722)

Each router is an nftables NAT: masquerade out of up0 (198.18.1N.2 / 2001:2:0:1N::2 on link 1N to gw),
forwarding only LAN -> uplink and established replies back, input dropped (but for IPv6 neighbour
discovery). Plain masquerade keeps source ports where it can: a port-restricted cone NAT. `fully-random`
picks a random port per mapping: a symmetric NAT. dave is IPv6-only behind NAT66, the others IPv4-only.

The relay under test is chosen by SG_RELAY_PEER: "streamgate" (default, `$STREAMGATE_BIN relay`) or
"rtpengine" (/usr/bin/rtpengine, userspace only). relay_argv() is the one place that builds its command line.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from testnet import PEERS, PYTHON, Peer, TestNetwork, streamgate_bin

PUB4, PUB6 = "198.18.100.1", "2001:2:0:100::1"  # Kamailio's and the relay's public addresses (gw's lo)
SIP_PORT = 5060
CONTROL_HOST = "127.0.0.1"  # on gw's loopback: the relay's control sockets are never public
NG_PORT, RTPP_PORT = 2223, 7722
PORT_MIN, PORT_MAX = 30000, 30999
MEDIA_PORT = 6000  # every UA's RTP port (each in its own namespace)
RELAY_TIMEOUT = 3  # --timeout and --silent-timeout, seconds
PCAP = Path("/usr/share/sip-tester/g711a.pcap")  # G.711 A-law, 30 ms packets, ~7 s: what every UA plays
SIPP_DIR = PEERS / "sipp"
KAMAILIO_CFG = PEERS / "kamailio-relay.cfg.in"
RELAY_CONTROL = PEERS / "relay_control.py"
KAMAILIO = "/usr/sbin/kamailio"
RTPENGINE = "/usr/bin/rtpengine"


def relay_kind() -> str:
    kind = os.environ.get("SG_RELAY_PEER", "streamgate")
    if kind not in ("streamgate", "rtpengine"):
        raise ValueError(f"SG_RELAY_PEER must be streamgate or rtpengine, not {kind!r}")
    return kind


def relay_argv(kind: str, ng_port: int = NG_PORT, rtpp_port: int = RTPP_PORT, port_min: int = PORT_MIN,
               port_max: int = PORT_MAX, recording_dir: Path | None = None,
               media_io: str | None = None, table: int | None = None, admin: str | None = None) -> list[str]:
    """The relay's command line: rtpengine's option names, which `streamgate relay` takes as well.
    `media_io`: streamgate's --media-io (io_uring or epoll; default: its own choice). `table`: streamgate's
    kernel forwarding table (rtpengine's --table; default: userspace only). `admin`: streamgate's --admin."""
    common = ["--interface", PUB4, "--interface", PUB6,
              "--listen-ng", f"{CONTROL_HOST}:{ng_port}", "--listen-udp", f"{CONTROL_HOST}:{rtpp_port}",
              "--port-min", str(port_min), "--port-max", str(port_max),
              "--timeout", str(RELAY_TIMEOUT), "--silent-timeout", str(RELAY_TIMEOUT), "--delete-delay", "0"]
    if recording_dir is not None:
        common += ["--recording-dir", str(recording_dir)]
    if kind == "rtpengine":
        # --config-file=none: not /etc/rtpengine/rtpengine.conf (interface=any, table 0, CLI/HTTP ports).
        return [RTPENGINE, "--config-file=none", "--table=-1", "--foreground", "--log-stderr", "--log-level=7",
                *common]
    return [streamgate_bin(), "relay", *common, *(["--media-io", media_io] if media_io else []),
            *(["--table", str(table)] if table is not None else []),
            *(["--admin", admin] if admin else [])]


def check_relay_available(kind: str) -> None:
    """Fails (never skips) when the relay under test cannot run: a streamgate without `relay` is a bug here."""
    if kind == "rtpengine":
        return  # the test module's require_tools("rtpengine") covers it
    binary = streamgate_bin()
    cp = subprocess.run([binary, "relay", "--help"], capture_output=True, text=True, timeout=20,
                        stdin=subprocess.DEVNULL)
    if cp.returncode != 0:
        raise RuntimeError(f"{binary} has no working `relay` subcommand (`relay --help` exited with "
                           f"{cp.returncode}: {(cp.stderr or cp.stdout).strip()[:500]}); run the rig against "
                           "rtpengine with SG_RELAY_PEER=rtpengine until it exists")


def pcap_packet_count(path: Path = PCAP) -> int:
    """RTP packets in the file each UA plays (what the other UA should receive)."""
    cp = subprocess.run(["tshark", "-r", str(path), "-T", "fields", "-e", "frame.number"], capture_output=True,
                        text=True, timeout=60, check=True, stdin=subprocess.DEVNULL)
    return len(cp.stdout.split())


@dataclass(frozen=True)
class Ua:
    name: str
    index: int  # LAN 10.0.<index>.0/24 or fd00:0:0:<index>::/64, uplink 198.18.<10+index>.0/24
    family: int
    symmetric: bool  # NAT masquerades fully-random

    @property
    def nat(self) -> str:
        return f"nat{self.name}"

    @property
    def addr(self) -> str:
        return f"10.0.{self.index}.2" if self.family == 4 else f"fd00:0:0:{self.index}::2"

    @property
    def nat_public(self) -> str:
        link = 10 + self.index
        return f"198.18.{link}.2" if self.family == 4 else f"2001:2:0:{link}::2"

    @property
    def proxy(self) -> str:
        return f"{PUB4}:{SIP_PORT}" if self.family == 4 else f"[{PUB6}]:{SIP_PORT}"

    @property
    def relay_addr(self) -> str:
        """The address media from the relay must come from, as this UA sees it."""
        return PUB4 if self.family == 4 else PUB6


UAS = {
    "alice": Ua("alice", 1, 4, False),
    "bob": Ua("bob", 2, 4, False),
    "carol": Ua("carol", 3, 4, True),
    "dave": Ua("dave", 4, 6, False),
}


def _nat_ruleset(symmetric: bool) -> str:
    random = " fully-random" if symmetric else ""
    return f"""
table inet nat {{
    chain postrouting {{
        type nat hook postrouting priority srcnat; policy accept;
        oifname "up0" masquerade{random}
    }}
}}
table inet filter {{
    chain input {{
        type filter hook input priority filter; policy drop;
        icmpv6 type {{ nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert }} accept
    }}
    chain forward {{
        type filter hook forward priority filter; policy drop;
        iifname "lan0" oifname "up0" accept
        iifname "up0" oifname "lan0" ct state established,related accept
    }}
}}
"""


def build(net: TestNetwork) -> None:
    """Adds the public addresses to gw and every UA with its NAT router (see the module docstring)."""
    net.ip_batch("gw", [f"address add {PUB4}/32 dev lo", f"address add {PUB6}/128 dev lo"])
    for ua in UAS.values():
        link = 10 + ua.index
        gw_dev = f"to-{ua.nat}"
        net.add_host(ua.nat, families=(4, 6), forwarding=True)
        net.add_host(ua.name, families=(ua.family,))
        net.add_link("gw", gw_dev, ua.nat, "up0")
        net.add_link(ua.nat, "lan0", ua.name, "eth0")
        net.ip_batch("gw", [f"address add 198.18.{link}.1/24 dev {gw_dev}",
                            f"address add 2001:2:0:{link}::1/64 dev {gw_dev} nodad"])
        net.ip_batch(ua.nat, [f"address add 198.18.{link}.2/24 dev up0",
                              f"address add 2001:2:0:{link}::2/64 dev up0 nodad",
                              f"address add 10.0.{ua.index}.1/24 dev lan0",
                              f"address add fd00:0:0:{ua.index}::1/64 dev lan0 nodad",
                              f"route add default via 198.18.{link}.1",
                              f"route add ::/0 via 2001:2:0:{link}::1"])
        if ua.family == 4:
            net.ip_batch(ua.name, [f"address add {ua.addr}/24 dev eth0", f"route add default via 10.0.{ua.index}.1"])
        else:
            net.ip_batch(ua.name, [f"address add {ua.addr}/64 dev eth0 nodad",
                                   f"route add ::/0 via fd00:0:0:{ua.index}::1"])
        net.nft(ua.nat, _nat_ruleset(ua.symmetric))


def start_relay(net: TestNetwork, kind: str, name: str = "relay", **options) -> Peer:
    """A relay in gw; `options` are relay_argv()'s (ports, recording_dir)."""
    peer = net.start_peer("gw", relay_argv(kind, **options), name=name, ready=None)
    net.wait_port("gw", CONTROL_HOST, options.get("ng_port", NG_PORT), proto="udp", timeout=10)
    net.wait_port("gw", CONTROL_HOST, options.get("rtpp_port", RTPP_PORT), proto="udp", timeout=10)
    return peer


def relay_sockets(protocol: str, *ports: int) -> str:
    """The module parameter naming the relay nodes Kamailio drives (rtpengine_sock / rtpproxy_sock): one
    control port per node, each with weight 1 (the modules spread new calls over the nodes by Call-ID)."""
    ports = ports or ((NG_PORT,) if protocol == "ng" else (RTPP_PORT,))
    if len(ports) == 1:
        return f"udp:{CONTROL_HOST}:{ports[0]}"
    return " ".join(f"udp:{CONTROL_HOST}:{port}=1" for port in ports)


def start_kamailio(net: TestNetwork, protocol: str, sockets: str | None = None, defines: tuple[str, ...] = (),
                   name: str | None = None) -> Peer:
    """Kamailio driving the relay over `protocol`: "ng" (module rtpengine) or "rtpp" (module rtpproxy).
    `sockets`: the relay nodes (relay_sockets(); default the shared relay). `defines`: the config's optional
    parts (-A), e.g. RECORD_CALLS, MANY_NODES (see kamailio-relay.cfg.in)."""
    sockets = sockets or relay_sockets(protocol)
    name = name or f"kamailio-{protocol}"
    cfg_text = (KAMAILIO_CFG.read_text().replace("@PUB4@", PUB4).replace("@PUB6@", PUB6)
                .replace("@RELAY_SOCKETS@", sockets)
                .replace("@RELAY_PROTOCOL@", "NG" if protocol == "ng" else "RTPP"))
    run_dir = net.make_dir(name)
    cfg = net.write_file(f"{name}/kamailio.cfg", cfg_text)
    define_args = [arg for define in defines for arg in ("-A", define)]
    net.run("gw", [KAMAILIO, "-c", "-f", cfg, *define_args], timeout=30)  # a config error fails here
    peer = net.start_peer("gw", [KAMAILIO, "-f", cfg, *define_args, "-DD", "-E", "-m", "64", "-M", "8",
                                 "-Y", run_dir, "-P", run_dir / "kamailio.pid"], name=name, ready=None)
    net.wait_port("gw", PUB4, SIP_PORT, proto="udp", timeout=15)
    net.wait_port("gw", PUB6, SIP_PORT, proto="udp", timeout=15)
    return peer


def control(net: TestNetwork, protocol: str, *commands, port: int | None = None, timeout: float = 3.0,
            check: bool = True) -> list:
    """Sends commands to the relay's control socket from gw: ng dicts or rtpproxy lines. The replies (ng:
    dicts, rtpp: {"command", "reply"}; None for no answer)."""
    port = port or (NG_PORT if protocol == "ng" else RTPP_PORT)
    args = [json.dumps(c) if protocol == "ng" else c for c in commands]
    cp = net.run("gw", [PYTHON, RELAY_CONTROL, protocol, CONTROL_HOST, str(port), *args,
                        "--timeout", str(timeout)], check=False, timeout=timeout * len(args) + 30)
    if check and cp.returncode not in (0, 1):
        raise RuntimeError(f"relay_control.py failed ({cp.returncode}): {cp.stderr}")
    return [json.loads(line) for line in cp.stdout.splitlines() if line.strip()]


def ng(net: TestNetwork, command: dict, **kw) -> dict | None:
    return control(net, "ng", command, **kw)[0]


def relay_calls(net: TestNetwork, port: int = NG_PORT) -> list[str]:
    reply = ng(net, {"command": "list"}, port=port)
    if not reply or reply.get("result") != "ok":
        raise AssertionError(f"ng list on port {port} failed: {reply!r}")
    return list(reply.get("calls", []))


def relay_ports_in_use(net: TestNetwork, port_min: int = PORT_MIN, port_max: int = PORT_MAX) -> list[int]:
    """Media ports of a relay's range that a streamgate process holds on gw (ss -p). Only streamgate's own
    sockets count: a range that reached into the kernel's ephemeral ports would otherwise count Kamailio's or a
    control client's short-lived sockets (CI once failed on Kamailio's port 32883 that way)."""
    ephemeral_min = int(net.run("gw", ["cat", "/proc/sys/net/ipv4/ip_local_port_range"]).stdout.split()[0])
    assert port_max < ephemeral_min, f"relay port range {port_min}-{port_max} overlaps ephemeral ports"
    out = net.run("gw", ["ss", "-H", "-u", "-a", "-n", "-p"]).stdout
    ports = []
    for line in out.splitlines():
        cols = line.split()
        if len(cols) >= 4 and '"streamgate"' in line:
            port = cols[3].rpartition(":")[2]
            if port.isdigit() and port_min <= int(port) <= port_max:
                ports.append(int(port))
    return ports


def admin_get(net: TestNetwork, admin: str, path: str) -> str:
    """GET http://ADMIN/PATH from gw (a relay's --admin listener, which may open just after its control ports)."""
    return net.run("gw", ["curl", "-sS", "--max-time", "5", "--retry", "10", "--retry-connrefused",
                          "--retry-max-time", "8", f"http://{admin}{path}"]).stdout


def kernel_flows(net: TestNetwork, table: int = 0) -> list[dict] | None:
    """The flows a streamgate relay forwards in the kernel (`--table`), read from its nftables table on gw:
    [{"key": [source, port, relay address, port], "packets": n}]; None when the table does not exist."""
    cp = net.run("gw", ["nft", "-j", "list", "table", "inet", f"streamgate_{table}"], check=False)
    if cp.returncode != 0:
        return None
    flows = []
    for item in json.loads(cp.stdout)["nftables"]:
        m = item.get("map")
        if not m or not m["name"].startswith("flow"):
            continue
        for elem, _mark in m.get("elem", []):
            flows.append({"key": elem["elem"]["val"]["concat"], "packets": elem["elem"]["counter"]["packets"]})
    return flows


class Capture:
    """tcpdump of the RTP arriving at a UA's media port, in the UA's namespace."""

    def __init__(self, net: TestNetwork, ua: Ua, label: str):
        self.net, self.ua = net, ua
        self.path = net.tmpdir / f"{label}-{ua.name}.pcap"
        # sh merges tcpdump's stderr into stdout so start_peer sees "listening on" once it captures.
        # --immediate-mode: without it the last few hundred ms sit in the kernel's ring buffer and are lost
        # when tcpdump is stopped.
        self.peer = net.start_peer(ua.name, ["sh", "-c", f"exec tcpdump -i eth0 -n -U --immediate-mode -w {self.path} "
                                                         f"udp dst port {MEDIA_PORT} 2>&1"],
                                   name=f"tcpdump-{label}-{ua.name}", ready="tcpdump: listening", timeout=15)

    def stop(self) -> None:
        self.peer.proc.send_signal(signal.SIGINT)
        self.net.stop(self.peer.proc, timeout=5)

    def rtp_flows(self) -> collections.Counter:
        """RTP packets received, by (source address, source port): one flow per call leg of the relay."""
        cp = subprocess.run(["tshark", "-r", str(self.path), "-d", f"udp.port=={MEDIA_PORT},rtp", "-Y", "rtp",
                             "-T", "fields", "-e", "ip.src", "-e", "ipv6.src", "-e", "udp.srcport"],
                            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        if cp.returncode != 0:
            raise RuntimeError(f"tshark failed on {self.path}: {cp.stderr}")
        flows = collections.Counter()
        for line in cp.stdout.splitlines():
            fields = [f for f in line.split("\t") if f.strip()]
            if len(fields) == 2:
                flows[(fields[0], int(fields[1]))] += 1
        return flows

    def rtp_sources(self) -> collections.Counter:
        """RTP packets received, by source address."""
        sources = collections.Counter()
        for (addr, _), n in self.rtp_flows().items():
            sources[addr] += n
        return sources


@dataclass
class CallResult:
    caller_rc: int | None
    callee_rc: int | None
    received: dict  # ua name -> Counter of RTP sources
    logs: str
    flows: dict  # ua name -> Counter of RTP packets by (source address, source port)


def sipp(net: TestNetwork, ua: Ua, scenario: str, label: str, *extra: str, calls: int = 1) -> list[str]:
    """A SIPp command line for `ua` talking to Kamailio over the UA's family; traces in tmpdir/sipp/.
    `calls` calls (-m), all at once (-l; a UAC starts them at SIPp's default 10 per second)."""
    logs = net.make_dir("sipp")
    prefix = logs / f"{label}-{ua.name}-{Path(scenario).stem}"
    return ["sipp", "-sf", str(SIPP_DIR / scenario), "-i", ua.addr, "-p", str(SIP_PORT), "-mi", ua.addr,
            "-mp", str(MEDIA_PORT), "-m", str(calls), *(("-l", str(calls)) if calls > 1 else ()),
            "-nostdin", "-timeout", "60", "-timeout_error",
            "-trace_err", "-error_file", f"{prefix}.errors", "-trace_msg", "-message_file", f"{prefix}.messages",
            *extra, ua.proxy]


def sipp_traces(net: TestNetwork, label: str) -> str:
    """The SIP messages and errors of the SIPp runs of one call, for failure messages."""
    out = []
    for path in sorted((net.tmpdir / "sipp").glob(f"{label}-*")):
        out.append(f"===== {path.name} =====\n{path.read_text(errors='replace')[-6000:]}")
    return "\n".join(out)


def register(net: TestNetwork, ua: Ua, label: str) -> None:
    """The callee's REGISTER: Kamailio learns its NAT mapping, which the INVITE then uses."""
    net.run(ua.name, sipp(net, ua, "register.xml", label, "-s", ua.name, "-recv_timeout", "5000"), timeout=30)


class Call:
    """One SIPp call from `caller` to `callee` through Kamailio and the relay, with both UAs' RTP captured.

    start() registers the callee, starts the captures, the callee (UAS) and the caller (UAC); finish() waits
    for both SIPp processes, stops the captures and counts what each UA received. kill() makes both UAs
    vanish (SIGKILL, no BYE). With `calls` > 1 the same two SIPp processes make that many calls at once."""

    def __init__(self, net: TestNetwork, caller: Ua, callee: Ua, label: str, hold: bool = False,
                 pause_ms: int = 7500, calls: int = 1):
        self.net, self.caller, self.callee, self.label = net, caller, callee, label
        self.hold, self.pause_ms, self.calls = hold, pause_ms, calls
        self.captures: dict[str, Capture] = {}
        self.uac = self.uas = None

    def start(self) -> "Call":
        net = self.net
        for ua in (self.caller, self.callee):
            self.captures[ua.name] = Capture(net, ua, self.label)
        register(net, self.callee, self.label)
        suffix = "_hold" if self.hold else ""
        self.uas = net.start_peer(self.callee.name,
                                  sipp(net, self.callee, f"uas{suffix}.xml", self.label, "-s", self.callee.name,
                                       calls=self.calls),
                                  name=f"sipp-{self.label}-{self.callee.name}", ready=None)
        net.wait_port(self.callee.name, self.callee.addr, SIP_PORT, proto="udp", timeout=10)
        self.uac = net.start_peer(self.caller.name,
                                  sipp(net, self.caller, f"uac{suffix}.xml", self.label, "-s", self.callee.name,
                                       "-d", str(self.pause_ms), calls=self.calls),
                                  name=f"sipp-{self.label}-{self.caller.name}", ready=None)
        return self

    def dialog_ids(self) -> tuple[str, str, str]:
        """(Call-ID, From tag, To tag) of the call, as the scenarios build them from SIPp's pid (`ip netns
        exec` execs SIPp in place, so the Popen pid is SIPp's): [call_id] and [pid]SIPpTag0x[call_number]."""
        return (f"1-{self.uac.pid}@{self.caller.addr}", f"{self.uac.pid}SIPpTag001", f"{self.uas.pid}SIPpTag011")

    def kill(self) -> None:
        for peer in (self.uac, self.uas):
            if peer is not None and peer.proc.poll() is None:
                os.killpg(peer.proc.pid, signal.SIGKILL)
                peer.proc.wait(timeout=5)

    def finish(self, timeout: float = 60.0) -> CallResult:
        deadline = time.monotonic() + timeout
        rcs = []
        for peer in (self.uac, self.uas):
            try:
                rcs.append(peer.proc.wait(timeout=max(1.0, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                self.net.stop(peer.proc)
                rcs.append(None)
        for cap in self.captures.values():
            cap.stop()
        flows = {name: cap.rtp_flows() for name, cap in self.captures.items()}
        received = {}
        for name, counter in flows.items():
            received[name] = collections.Counter()
            for (addr, _), n in counter.items():
                received[name][addr] += n
        logs = (f"{self.net.peer_logs()[-20000:]}\n{sipp_traces(self.net, self.label)[-20000:]}")
        return CallResult(rcs[0], rcs[1], received, logs, flows)
