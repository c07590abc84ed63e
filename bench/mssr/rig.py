"""MSSR-RTP next to SRT (srt-live-transmit) and plain UDP over one impaired path (issue 14's evaluation).

    snd --- rtr (nftables input: counter, numgen random mod 1000 < N drop; delay_forwarder.py) --- rcv

Every protocol's datagrams go snd -> rtr -> rcv and back through a user-space forwarder on rtr that adds a
one-way delay (this kernel has no netem); rtr's nftables input chain counts every UDP packet that reaches it
(the impaired wire, both directions, IP bytes) and then drops N per mille of them. A 25 fps H.264 clip is made
once with ffmpeg and played in real time (-re) as MPEG-TS in 1,316-octet UDP datagrams into each sender; a UDP
sink on rcv writes what arrives to a file that ffprobe and ffmpeg decode afterwards: frames decoded, key frames,
decoder error lines, and frames intact (decoded to exactly the source's pixels, by ffmpeg's framemd5 per
presentation time: a damaged frame and every frame that refers to it until the next key frame are not).

    /usr/bin/python3 bench/mssr/rig.py [--seconds 10] [--bitrate 3M] [--gop 50] [--delay-ms 20] \
        [--jitter-ms 0] [--latency-ms 120] [--loss 0,1,5,10] [--json out.json]

--jitter-ms J holds every datagram a further uniform random 0-J ms on its own (both directions), which also
reorders datagrams sent less than J ms apart. --e2e also captures (tcpdump) what ffmpeg sends into each sender
and what reaches the sink, and reports every TS packet's end-to-end delay (e2e_delay.py) as `e2e`.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "tests" / "integration"))

from e2e_delay import summary as e2e_summary  # noqa: E402
from testnet import PYTHON, TestNetwork, require_tools, streamgate_bin  # noqa: E402

SND, RTR, RCV = "snd", "rtr", "rcv"
SND_ADDR, RTR_NEAR, RTR_FAR, RCV_ADDR = "198.18.60.2", "198.18.60.1", "198.18.61.1", "198.18.61.2"
IN_PORT, PATH_PORT, SINK_PORT = 5000, 6000, 7000
FPS = 25

SINK = HERE.parent.parent / "tests" / "integration" / "peers" / "udp_sink.py"


def build(net: TestNetwork, forwarding: bool = False) -> None:
    """snd --- rtr --- rcv; rtr forwards IP between them only with `forwarding` (this rig's own runs go
    through the user-space forwarder on rtr instead)."""
    net.add_host(SND, families=(4,))
    net.add_host(RTR, families=(4,), forwarding=forwarding)
    net.add_host(RCV, families=(4,))
    net.add_link(SND, "eth0", RTR, "to-snd")
    net.add_link(RCV, "eth0", RTR, "to-rcv")
    net.ip_batch(SND, [f"address add {SND_ADDR}/24 dev eth0", f"route add default via {RTR_NEAR}"])
    net.ip_batch(RCV, [f"address add {RCV_ADDR}/24 dev eth0", f"route add default via {RTR_FAR}"])
    net.ip_batch(RTR, [f"address add {RTR_NEAR}/24 dev to-snd", f"address add {RTR_FAR}/24 dev to-rcv"])


def set_loss(net: TestNetwork, permille: int) -> None:
    net.nft(RTR, "flush ruleset\n"
                 "table ip impair { chain input { type filter hook input priority 0; policy accept; "
                 f"meta l4proto udp counter; meta l4proto udp numgen random mod 1000 < {permille} drop; }}; }}")


def wire_bytes(net: TestNetwork) -> int:
    text = net.run(RTR, ["nft", "list", "table", "ip", "impair"]).stdout
    m = re.search(r"counter packets \d+ bytes (\d+)", text)
    return int(m.group(1)) if m else 0


def make_clip(path: Path, seconds: int, bitrate: str, gop: int) -> None:
    """The test stream: testsrc2, 1280x720 at FPS, H.264 at `bitrate` (capped by -maxrate), as MPEG-TS."""
    subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc2=size=1280x720:rate={FPS}:duration={seconds}", "-c:v", "libx264",
                    "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", str(gop), "-b:v", bitrate,
                    "-maxrate", bitrate, "-bufsize", bitrate, "-f", "mpegts", str(path)],
                   check=True, timeout=300)


def analyse(path: Path) -> dict:
    cp = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "frame=key_frame",
                         "-of", "csv=p=0", str(path)], capture_output=True, text=True, timeout=120)
    keys = [line.strip() for line in cp.stdout.splitlines() if line.strip()]
    dec = subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-i", str(path), "-f", "null",
                          "-"], capture_output=True, text=True, timeout=120)
    return {"frames": len(keys), "key_frames": sum(1 for k in keys if k.startswith("1")),
            "decode_errors": sum(1 for line in dec.stderr.splitlines() if line.strip())}


@functools.lru_cache(maxsize=None)
def frame_hashes(path: str) -> dict:
    """The MD5 of every decoded video frame, by presentation timestamp (ffmpeg's framemd5)."""
    cp = subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-v", "quiet", "-i", path, "-map", "0:v:0",
                         "-f", "framemd5", "-"], capture_output=True, text=True, timeout=300)
    hashes = {}
    for line in cp.stdout.splitlines():
        fields = [f.strip() for f in line.split(",")]
        if line.startswith("#") or len(fields) != 6:
            continue
        hashes[fields[2]] = fields[5]  # stream, dts, pts, duration, size, hash
    return hashes


def intact_frames(out: Path, clip: Path) -> int:
    """Frames decoded exactly as from the source: a frame whose data was lost differs, and so does every frame
    that refers to it, until the next key frame, which the counts of frames and error lines do not show."""
    source = frame_hashes(str(clip))
    return sum(1 for pts, digest in frame_hashes(str(out)).items() if source.get(pts) == digest)


def pacing_suffix(proto: str) -> tuple[str, list[str]]:
    """An MSSR protocol name without its "-pace" / "-nopace" suffix, and the `mssr send` option it asks for."""
    for suffix, value in (("-nopace", "off"), ("-pace", "on")):
        if proto.endswith(suffix):
            return proto.removesuffix(suffix), ["--pacing", value]
    return proto, []


def start_captures(net: TestNetwork, name: str, plain_udp: bool) -> list:
    """tcpdump of the TS going into the sender (snd) and coming out to the sink (rcv), for e2e_delay.py.
    Plain UDP has no sender or receiver: ffmpeg sends onto the path and the sink reads it off rcv's eth0."""
    if plain_udp:
        points = [(SND, "eth0", f"dst host {RTR_NEAR} and dst port {PATH_PORT}", "in"),
                  (RCV, "eth0", f"dst host {RCV_ADDR} and dst port {PATH_PORT}", "out")]
    else:
        points = [(SND, "lo", f"dst host 127.0.0.1 and dst port {IN_PORT}", "in"),
                  (RCV, "lo", f"dst host 127.0.0.1 and dst port {SINK_PORT}", "out")]
    captures = []
    for host, interface, where, side in points:
        captures.append(net.start_peer(host, ["tcpdump", "-Z", "root", "-U", "-B", "16384", "-s", "2048", "-n",
                                              "--time-stamp-precision=nano", "-i", interface,
                                              "-w", str(net.tmpdir / f"{name}-{side}.pcap"), f"udp and {where}"],
                                       name=f"tcpdump-{name}-{side}", ready=None))
    for capture in captures:  # tcpdump says so on stderr, which the peer's log holds
        deadline = time.monotonic() + 10
        while "listening on" not in capture.log_text():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{capture.name} did not start: {capture.log_text()}")
            time.sleep(0.05)
    return captures


def one_run(net: TestNetwork, args, clip: Path, proto: str, loss: int) -> dict:
    tmp = net.tmpdir
    name = f"{proto}-{loss}"
    set_loss(net, loss * 10)
    fwd = net.start_peer(RTR, [PYTHON, str(HERE / "delay_forwarder.py"), RTR_NEAR, str(PATH_PORT), RTR_FAR,
                               RCV_ADDR, str(args.delay_ms), str(args.jitter_ms)], name=f"fwd-{name}")
    out = tmp / f"{name}.ts"
    local_sink = proto != "udp"
    sink = net.start_peer(RCV, [PYTHON, str(SINK), "127.0.0.1" if local_sink else RCV_ADDR,
                                str(SINK_PORT if local_sink else PATH_PORT), str(out)], name=f"sink-{name}")
    peers = []
    target = f"{RTR_NEAR}:{PATH_PORT}"
    stats = {}
    if proto.startswith("mssr"):
        # mssr-live-copy: the live mode with the first fragment's copy instead of parity where no repair fits;
        # mssr-live-onepar: one parity fragment per key frame too, not one per 8 of its fragments;
        # mssr-live-xor: a key frame's parity fragments in XOR groups, not the Cauchy code;
        # mssr-live-groups: the fixed parity counts (one per frame, one per 8 fragments of a key frame) instead
        # of counts chosen from the measured loss; mssr-live-residual: those counts chosen for a fixed chance
        # per kind of frame that it stays broken instead of by the frames a broken one spoils; mssr-live-lean:
        # that rule with a residual of 0.25; mssr-live-worthF (say mssr-live-worth0.4): counts by value with each
        # parity fragment worth F frames instead of 0.15 (more: less overhead, fewer intact frames);
        # a "-pace" or "-nopace" suffix on any MSSR protocol turns the sender's pacing on or off.
        base, pacing = pacing_suffix(proto)
        extra = {"mssr-lt": ["--loss-tolerance", "0.2"],
                 "mssr-live": ["--stream-kbps", str(args.stream_kbps)],
                 "mssr-live-copy": ["--stream-kbps", str(args.stream_kbps), "--no-parity"],
                 "mssr-live-onepar": ["--stream-kbps", str(args.stream_kbps), "--key-parity-group", "0"],
                 "mssr-live-xor": ["--stream-kbps", str(args.stream_kbps), "--parity-code", "xor"],
                 "mssr-live-groups": ["--stream-kbps", str(args.stream_kbps), "--parity-count", "groups"],
                 "mssr-live-lean": ["--stream-kbps", str(args.stream_kbps), "--parity-count", "residual",
                                    "--parity-residual", "0.25"],
                 "mssr-live-residual": ["--stream-kbps", str(args.stream_kbps), "--parity-count", "residual"]}.get(
                     base, [])
        if base.startswith("mssr-live-worth"):
            extra = ["--stream-kbps", str(args.stream_kbps), "--parity-worth", base[len("mssr-live-worth"):]]
        extra += pacing
        peers.append(net.start_peer(RCV, [streamgate_bin(), "mssr", "recv", "--listen", f"{RCV_ADDR}:{PATH_PORT}",
                                          "--ts-out", f"udp://127.0.0.1:{SINK_PORT}", "--quiet", "--stats-json",
                                          str(tmp / f"{name}-recv.json")], name=f"recv-{name}", ready=None))
        net.wait_port(RCV, RCV_ADDR, PATH_PORT, proto="udp")
        peers.append(net.start_peer(SND, [streamgate_bin(), "mssr", "send", f"udp://127.0.0.1:{IN_PORT}", "--to",
                                          target, "--latency", str(args.latency_ms), "--mss", "1340", "--quiet",
                                          "--stats-json", str(tmp / f"{name}-send.json"), *extra],
                                    name=f"send-{name}", ready=None))
        net.wait_port(SND, "127.0.0.1", IN_PORT, proto="udp")
        time.sleep(1.0)
        target = f"127.0.0.1:{IN_PORT}"
    elif proto == "srt":
        srt = f"latency={args.latency_ms}"
        peers.append(net.start_peer(RCV, ["srt-live-transmit", f"srt://:{PATH_PORT}?mode=listener&{srt}",
                                          f"udp://127.0.0.1:{SINK_PORT}"], name=f"srt-recv-{name}", ready=None))
        net.wait_port(RCV, None, PATH_PORT, proto="udp")
        peers.append(net.start_peer(SND, ["srt-live-transmit", f"udp://127.0.0.1:{IN_PORT}",
                                          f"srt://{target}?mode=caller&{srt}"], name=f"srt-send-{name}",
                                    ready=None))
        net.wait_port(SND, "127.0.0.1", IN_PORT, proto="udp")
        time.sleep(1.0)
        target = f"127.0.0.1:{IN_PORT}"
    captures = start_captures(net, name, proto == "udp") if args.e2e else []
    before = wire_bytes(net)
    net.run(SND, ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-i", str(clip), "-c", "copy",
                  "-f", "mpegts", f"udp://{target}?pkt_size=1316"], timeout=args.seconds + 60)
    time.sleep(3.0 if args.e2e else 1.0)  # e2e: the last frame, held until the sender's input idles
    wire = wire_bytes(net) - before
    for peer in peers:
        peer.stop()
    sink.proc.wait(timeout=90)
    fwd.stop()
    for capture in captures:
        capture.stop()
    e2e = e2e_summary(tmp / f"{name}-in.pcap", tmp / f"{name}-out.pcap") if captures else None
    if proto.startswith("mssr"):
        send_json = json.loads((tmp / f"{name}-send.json").read_text())
        sent = send_json["sender"]
        stats = {"retransmissions": sent["retransmissions"], "dropped_unrepaired": sent["dropped_unrepaired"],
                 "dropped_unsent": sent["dropped_unsent"], "cwnd_bytes": sent["cwnd_bytes"],
                 "rtt_ms": sent["rtt_ms"], "tail_probes": sent["tail_probes"], "adus": sent["adus"],
                 "first_fragment_copies": sent.get("first_fragment_copies", 0),
                 "repair_copies": sent.get("repair_copies", 0),
                 "parity_fragments": sent.get("parity_fragments", 0),
                 # How the parity counts were chosen ("adaptive" or "groups"; by "value" or "residual") and the
                 # loss the sender measured.
                 "parity_count": sent.get("parity_count"), "parity_rule": sent.get("parity_rule"),
                 "parity_declined": sent.get("parity_declined"), "loss_estimate": sent.get("loss_estimate"),
                 # The HELLO / HELLO-ACK round trip that seeded the sender's RTT (null: a HELLO was repeated).
                 "handshake_rtt_ms": send_json.get("socket", {}).get("handshake_rtt_ms")}
        received = json.loads((tmp / f"{name}-recv.json").read_text())
        # The receiver's datagrams out are its feedback (and one HELLO-ACK): the control traffic issue 14 counts.
        stats["receiver_datagrams_out"] = received.get("socket", {}).get("datagrams_out")
        # Reordering the receiver saw (first transmissions after a later number), requests that a late
        # original then answered, and the reorder window it ended with.
        receiver = received.get("receiver", {})
        stats["reordered"] = receiver.get("reordered")
        stats["spurious_requests"] = receiver.get("spurious_requests")
        stats["reorder_window_ms"] = receiver.get("reorder_window_ms")
        stats["parity_recovered"] = receiver.get("parity_recovered")
        # Fragments that arrived twice or after their ADU was done: retransmissions the path did not need
        # (first-fragment copies whose original arrived count here too).
        stats["duplicates"] = sum(st.get("duplicates", 0) + st.get("late_fragments", 0)
                                  for st in received.get("streams", []))
        video = next((st for st in received.get("streams", []) if st.get("stream") == 0), {})
        stats["adus_partial"] = video.get("adus_partial")
        stats["key_adus_incomplete"] = video.get("key_adus_incomplete")
    result = {"proto": proto, "loss_percent": loss, **analyse(out), "intact": intact_frames(out, clip),
              "wire_bytes": wire}
    result.update(stats)
    if e2e is not None:
        result["e2e"] = e2e
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--bitrate", default="3M")
    parser.add_argument("--gop", type=int, default=50)
    parser.add_argument("--delay-ms", type=int, default=20)
    parser.add_argument("--jitter-ms", type=int, default=0)
    parser.add_argument("--latency-ms", type=int, default=120)
    parser.add_argument("--loss", default="0,1,5,10")
    parser.add_argument("--protos", default="udp,srt,mssr,mssr-lt,mssr-live")
    parser.add_argument("--stream-kbps", type=int, default=4500, help="mssr-live's --stream-kbps")
    parser.add_argument("--json", default="")
    parser.add_argument("--e2e", action="store_true", help="measure every TS packet's end-to-end delay (tcpdump)")
    args = parser.parse_args()
    require_tools("ffmpeg", "ffprobe", "nft", "srt-live-transmit", *(["tcpdump"] if args.e2e else []))
    results = []
    with TestNetwork() as net:
        build(net)
        clip = net.tmpdir / "clip.ts"
        make_clip(clip, args.seconds, args.bitrate, args.gop)
        source = analyse(clip)
        payload = clip.stat().st_size
        print(f"source: {source}, {payload} bytes of TS", flush=True)
        for loss in (int(x) for x in args.loss.split(",")):
            for proto in args.protos.split(","):
                r = one_run(net, args, clip, proto, loss)
                r["overhead"] = round(r["wire_bytes"] / payload, 3)
                results.append(r)
                print(json.dumps(r), flush=True)
    print(f"\n| loss | protocol | frames | intact | decode errors | key frames | wire/payload |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['loss_percent']} % | {r['proto']} | {r['frames']}/{source['frames']} | {r['intact']} | "
              f"{r['decode_errors']} | {r['key_frames']}/{source['key_frames']} | {r['overhead']} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"source": source, "payload_bytes": payload, "runs": results},
                                              indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
