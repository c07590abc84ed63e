"""TCP-friendliness of MSSR-RTP (issue 14): one MSSR stream and one iperf3 TCP flow share a TBF bottleneck.

    snd --- rtr (forwards; every packet through tun_delay.py; egress to rcv: TBF RATE) --- rcv

rig.py's namespaces, but rtr forwards IP: its policy routing sends every forwarded packet, both directions,
through a TUN device where tun_delay.py holds it DELAY_MS (RTT 2 x DELAY_MS for TCP and MSSR alike; this
kernel has no netem), and rtr's egress towards rcv is a TBF qdisc, the bottleneck. At the same time for
SECONDS: iperf3 -c on snd to iperf3 -s on rcv (TCP, congestion control --tcp-cc), and an H.264 clip
(testsrc2 1280x720 at --bitrate, made once) played in real time as MPEG-TS into `streamgate mssr send` on snd,
to `streamgate mssr recv --ts-out` on rcv, whose output a sink there counts with arrival times. Measured:
iperf3's goodput (its JSON, at the receiver), MSSR's delivered TS rate (the sink's bytes over the same
window), the sender's statistics and its per-second progress lines (cwnd, SRTT), the TBF's drops.

    /usr/bin/python3 bench/mssr/tcp_friendly.py [--seconds 30] [--rate 8mbit] [--delay-ms 20] \
        [--bitrate 6M] [--latency-ms 120] [--tcp-cc cubic] [--runs tcp,mssr,tcp+mssr,...] [--json out.json]

A run is `tcp`, an MSSR mode (`mssr` NewReno, `mssr-lt` --loss-tolerance 0.2, `mssr-live` --stream-kbps at
the clip's TS rate), or `tcp+MODE` for both at once.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from rig import (IN_PORT, PATH_PORT, RCV, RCV_ADDR, RTR, SINK, SINK_PORT, SND, analyse, build,  # noqa: E402
                 make_clip, pacing_suffix)
from testnet import PYTHON, TestNetwork, require_tools, streamgate_bin  # noqa: E402

TUN = "dly0"
SND_NET, RCV_NET = "198.18.60.0/24", "198.18.61.0/24"
IPERF_PORT = 5201
WARMUP_S = 5  # the steady-state columns leave out the first seconds (slow start, the clip's first GOP)


PROGRESS = re.compile(r"rtt ([\d.]+) ms, cwnd (\d+) B")


def setup_path(net: TestNetwork, args) -> None:
    build(net, forwarding=True)
    net.run(RTR, ["tc", "qdisc", "add", "dev", "to-rcv", "root", "tbf", "rate", args.rate, "burst", args.burst,
                  "latency", args.tbf_latency])
    if args.delay_ms <= 0:
        return
    net.start_peer(RTR, [PYTHON, str(HERE / "tun_delay.py"), TUN, str(args.delay_ms)], name="tun-delay")
    # What enters from either side goes into the TUN; what the TUN gives back goes out by the connected
    # routes. Packets for rtr itself match the local table first (rule 0) and never reach these rules.
    net.ip_batch(RTR, [f"link set dev {TUN} txqueuelen 10000 up",
                       f"route add {SND_NET} dev to-snd table 100", f"route add {RCV_NET} dev to-rcv table 100",
                       f"route add {SND_NET} dev {TUN} table 101", f"route add {RCV_NET} dev {TUN} table 101",
                       f"rule add iif {TUN} lookup 100 pref 100", "rule add iif to-snd lookup 101 pref 101",
                       "rule add iif to-rcv lookup 101 pref 102"])
    net.run(RTR, ["sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0", f"net.ipv4.conf.{TUN}.rp_filter=0",
                  "net.ipv4.conf.to-snd.rp_filter=0", "net.ipv4.conf.to-rcv.rp_filter=0"])


def set_meter(net: TestNetwork) -> None:
    """Counts, on rcv's input, the IP bytes of each flow that crossed the bottleneck: its share of the link."""
    net.nft(RCV, "table ip share { chain input { type filter hook input priority 0; policy accept; "
                 f"udp dport {PATH_PORT} counter; tcp dport {IPERF_PORT} counter; }}; }}")


def meter_bytes(net: TestNetwork) -> tuple[int, int]:
    """(MSSR, TCP) bytes counted so far."""
    text = net.run(RCV, ["nft", "list", "table", "ip", "share"]).stdout
    found = [int(b) for b in re.findall(r"counter packets \d+ bytes (\d+)", text)]
    return found[0], found[1]


def tbf_drops(net: TestNetwork) -> int:
    text = net.run(RTR, ["tc", "-s", "qdisc", "show", "dev", "to-rcv"]).stdout
    m = re.search(r"dropped (\d+)", text)
    return int(m.group(1)) if m else 0


def mbps(nbytes: float, seconds: float) -> float:
    return round(nbytes * 8 / seconds / 1e6, 2)


def iperf_rates(report: dict, t_from: float) -> dict:
    end = report["end"]
    late = [i["sum"] for i in report["intervals"] if i["sum"]["start"] >= t_from - 0.01]
    late_bytes = sum(s["bytes"] for s in late)
    late_secs = sum(s["seconds"] for s in late) or 1.0
    return {"tcp_mbps": round(end["sum_received"]["bits_per_second"] / 1e6, 2),
            "tcp_mbps_steady": mbps(late_bytes, late_secs),
            "tcp_retransmits": end["sum_sent"].get("retransmits"),
            "tcp_cc": end.get("sender_tcp_congestion", "")}


def mssr_args(mode: str, args) -> list[str]:
    """A mode's `mssr send` options; a "-pace" or "-nopace" suffix turns the sender's pacing on or off."""
    base, pacing = pacing_suffix(mode)
    return {"mssr": [], "mssr-lt": ["--loss-tolerance", "0.2"],
            "mssr-live": ["--stream-kbps", str(args.stream_kbps)]}[base] + pacing


def one_run(net: TestNetwork, args, clip: Path, run: str) -> dict:
    parts = run.split("+")
    with_tcp = "tcp" in parts
    modes = [p for p in parts if p != "tcp"]
    if len(modes) > 1 or (modes and pacing_suffix(modes[0])[0] not in ("mssr", "mssr-lt", "mssr-live")) \
            or not (with_tcp or modes):
        raise SystemExit(f"bad run {run!r}")
    mode = modes[0] if modes else None
    tmp = net.tmpdir
    name = run.replace("+", "-")
    result: dict = {"run": run}
    peers = []
    if mode:
        out = tmp / f"{name}.ts"
        sink = net.start_peer(RCV, [PYTHON, str(SINK), "127.0.0.1", str(SINK_PORT), str(out),
                                    "--arrivals", str(tmp / f"{name}-arr.json"), "--first", "120"],
                              name=f"sink-{name}")
        peers.append(net.start_peer(RCV, [streamgate_bin(), "mssr", "recv", "--listen", f"{RCV_ADDR}:{PATH_PORT}",
                                          "--ts-out", f"udp://127.0.0.1:{SINK_PORT}", "--quiet", "--stats-json",
                                          str(tmp / f"{name}-recv.json")], name=f"recv-{name}", ready=None))
        net.wait_port(RCV, RCV_ADDR, PATH_PORT, proto="udp")
        send = net.start_peer(SND, [streamgate_bin(), "mssr", "send", f"udp://127.0.0.1:{IN_PORT}", "--to",
                                    f"{RCV_ADDR}:{PATH_PORT}", "--latency", str(args.latency_ms), "--mss", "1340",
                                    "--stats-json", str(tmp / f"{name}-send.json"), *mssr_args(mode, args)],
                              name=f"send-{name}", ready=None)
        peers.append(send)
        net.wait_port(SND, "127.0.0.1", IN_PORT, proto="udp")
        time.sleep(1.0)
    drops_before = tbf_drops(net)
    meter_before = meter_bytes(net)
    t0 = time.monotonic()
    player = iperf = None
    if mode:
        player = net.popen(SND, ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-i", str(clip),
                                 "-c", "copy", "-f", "mpegts", f"udp://127.0.0.1:{IN_PORT}?pkt_size=1316"])
    if with_tcp:
        iperf = net.popen(SND, ["iperf3", "-c", RCV_ADDR, "-p", str(IPERF_PORT), "-J", "-t", str(args.seconds),
                                "-C", args.tcp_cc], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if iperf:
        stdout, stderr = iperf.communicate(timeout=args.seconds + 60)
        if iperf.returncode != 0:
            raise RuntimeError(f"iperf3 failed: {stdout[-2000:]} {stderr[-2000:]}")
        result.update(iperf_rates(json.loads(stdout), WARMUP_S))
    else:
        time.sleep(max(0.0, t0 + args.seconds - time.monotonic()))
    # the link's shares over the iperf3 run's time (the clip plays two seconds longer)
    elapsed = time.monotonic() - t0
    meter = meter_bytes(net)
    result["tcp_wire_mbps"] = mbps(meter[1] - meter_before[1], elapsed)
    result["mssr_wire_mbps"] = mbps(meter[0] - meter_before[0], elapsed)
    if player:
        player.wait(timeout=args.seconds + 60)
    result["tbf_drops"] = tbf_drops(net) - drops_before
    if mode:
        time.sleep(1.0)
        for peer in peers:
            peer.stop()
        sink.proc.wait(timeout=90)
        arrivals = json.loads((tmp / f"{name}-arr.json").read_text())
        whole = sum(n for t, n in arrivals if t0 <= t < t0 + args.seconds)
        steady = sum(n for t, n in arrivals if t0 + WARMUP_S <= t < t0 + args.seconds)
        sent = json.loads((tmp / f"{name}-send.json").read_text())["sender"]
        recv = json.loads((tmp / f"{name}-recv.json").read_text())
        video = recv["streams"][0] if recv.get("streams") else {}
        progress = [(float(m.group(1)), int(m.group(2))) for m in PROGRESS.finditer(send.log_text())]
        frames = analyse(out)
        result.update({
            "mssr_mbps": mbps(whole, args.seconds),
            "mssr_mbps_steady": mbps(steady, args.seconds - WARMUP_S),
            "frames": frames["frames"], "decode_errors": frames["decode_errors"],
            "loss_events": sent["loss_events"], "retransmissions": sent["retransmissions"],
            "dropped_unsent": sent["dropped_unsent"], "dropped_unrepaired": sent["dropped_unrepaired"],
            "timeouts": sent["timeouts"], "fragments_sent": sent["fragments_sent"],
            "fast_retransmits": sent.get("fast_retransmits"), "gap_losses": sent.get("gap_losses"),
            "acked_late": sent.get("acked_late"), "paced_waits": sent.get("paced_waits"),
            "late_fragments": video.get("late_fragments"),
            "cwnd_final_bytes": sent["cwnd_bytes"],
            "cwnd_median_bytes": int(statistics.median(c for _, c in progress)) if progress else None,
            "cwnd_min_bytes": min((c for _, c in progress), default=None),
            "srtt_median_ms": round(statistics.median(r for r, _ in progress), 1) if progress else None,
            "adus_complete": video.get("adus_complete"), "adus_partial": video.get("adus_partial"),
            "adus_lost": video.get("adus_lost")})
    return result


def cell(r: dict, key: str) -> str:
    return "-" if key not in r else f"{r[key]:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--rate", default="8mbit", help="the TBF bottleneck's rate")
    parser.add_argument("--burst", default="32kb")
    parser.add_argument("--tbf-latency", default="50ms", help="the TBF queue's bound, as time at its rate")
    parser.add_argument("--delay-ms", type=int, default=20, help="one-way delay both ways (0: none)")
    parser.add_argument("--bitrate", default="6M", help="the clip's H.264 rate")
    parser.add_argument("--gop", type=int, default=50)
    parser.add_argument("--latency-ms", type=int, default=120, help="MSSR's latency budget")
    parser.add_argument("--tcp-cc", default="cubic", help="iperf3 -C: the TCP flow's congestion control")
    parser.add_argument("--stream-kbps", type=int, default=0, help="mssr-live's --stream-kbps (0: the clip's rate)")
    parser.add_argument("--runs", default="tcp,mssr,tcp+mssr,tcp+mssr-lt,tcp+mssr-live")
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    require_tools("ffmpeg", "ffprobe", "iperf3", "tc")
    results = []
    with TestNetwork() as net:
        setup_path(net, args)
        set_meter(net)
        ping = net.run(SND, ["ping", "-c", "5", "-i", "0.2", "-q", RCV_ADDR]).stdout.strip().splitlines()[-1]
        print(f"path: TBF {args.rate} burst {args.burst} latency {args.tbf_latency}, one-way delay "
              f"{args.delay_ms} ms; idle ping {ping}", flush=True)
        clip = net.tmpdir / "clip.ts"
        make_clip(clip, args.seconds + 2, args.bitrate, args.gop)
        clip_kbps = int(clip.stat().st_size * 8 / (args.seconds + 2) / 1000) + 1
        args.stream_kbps = args.stream_kbps or clip_kbps
        print(f"clip: {clip_kbps} kbit/s of TS; mssr-live --stream-kbps {args.stream_kbps}", flush=True)
        net.start_peer(RCV, ["iperf3", "-s", "-B", RCV_ADDR, "-p", str(IPERF_PORT)], name="iperf3-s", ready=None)
        net.wait_port(RCV, RCV_ADDR, IPERF_PORT)
        for run in args.runs.split(","):
            r = one_run(net, args, clip, run)
            results.append(r)
            print(json.dumps(r), flush=True)
    print(f"\n| run | TCP Mbit/s | MSSR Mbit/s | TCP, {WARMUP_S}-{args.seconds} s | MSSR, {WARMUP_S}-{args.seconds} s "
          "| TCP, MSSR on the wire | frames | MSSR loss events | median cwnd | median SRTT | TBF drops |")
    print("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|")
    for r in results:
        frames = f"{r['frames']}, {r['decode_errors']} err" if "frames" in r else "-"
        print(f"| {r['run']} | {cell(r, 'tcp_mbps')} | {cell(r, 'mssr_mbps')} | {cell(r, 'tcp_mbps_steady')} | "
              f"{cell(r, 'mssr_mbps_steady')} | {r['tcp_wire_mbps']:.2f}, {r['mssr_wire_mbps']:.2f} | {frames} | "
              f"{r.get('loss_events', '-')} | "
              f"{r.get('cwnd_median_bytes', '-')} | {r.get('srtt_median_ms', '-')} | {r['tbf_drops']} |")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "clip_kbps": clip_kbps, "runs": results},
                                              indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
