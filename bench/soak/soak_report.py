#!/usr/bin/python3
"""The soak's sampler and report (bench/soak/run.sh).

  soak_report.py sample --minute M --pid PID --admin HOST:PORT --work DIR   one JSON sample on stdout
  soak_report.py line < samples.jsonl                                        the last sample, one line
  soak_report.py report --work DIR --out FILE.json                           JSON, markdown table, verdict

A sample is the gateway process's VmRSS, VmHWM and PSS (smaps_rollup), open descriptors (/proc/PID/fd),
threads, CPU seconds, its TCP and UDP sockets (`ss -tanp` / `ss -uanp`, lines naming the pid), the gauges and the
trouble counters of its /metrics, the live counts the load tools last printed (socks_load's hold-status,
udp_soak.py's udp-status, testplayer's progress line), the load average and the five busiest processes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import urllib.request

# Gauges, and counters that should stay at zero or flat (refusals, exhaustion, bugs).
METRIC_PATTERN = re.compile(
    r"^(streamgate_\w*(_active|_in_use)|streamgate_\w*(rejected|exhausted|busy|refused|unhandled|lost|failed|"
    r"dropped)\w*_total)(\{[^}]*\})? ")


def proc_value(path: str, key: str) -> int:
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def socket_count(kind: str, pid: int) -> int:
    out = subprocess.run(["ss", "-Han" + kind + "p"], capture_output=True, text=True, check=False).stdout
    needle = f"pid={pid},"
    return sum(1 for line in out.splitlines() if needle in line)


def metrics(admin: str) -> dict[str, float]:
    try:
        with urllib.request.urlopen(f"http://{admin}/metrics", timeout=10) as response:
            text = response.read().decode()
    except OSError as e:
        return {"error": str(e)}
    found = {}
    for line in text.splitlines():
        if METRIC_PATTERN.match(line):
            key, _, value = line.rpartition(" ")
            found[key] = float(value)
    return found


def last_json(path: str, mode: str) -> dict:
    found = {}
    try:
        with open(path, errors="replace") as f:
            for line in f:
                if f'"mode": "{mode}"' in line or f'"mode":"{mode}"' in line:
                    found = json.loads(line)
    except (OSError, ValueError):
        pass
    return found


PROGRESS = re.compile(r"started (\d+)/(\d+)\s+active (\d+)\s+ok (\d+)\s+failed (\d+)\s+([\d.]+) Mbit/s")


def last_progress(path: str) -> dict:
    found = {}
    runs = 0
    try:
        with open(path, errors="replace") as f:
            for line in f:
                if line.startswith("=== run"):
                    runs += 1
                m = PROGRESS.search(line)
                if m:
                    found = {"started": int(m[1]), "active": int(m[3]), "ok": int(m[4]), "failed": int(m[5]),
                             "mbit_per_s": float(m[6])}
    except OSError:
        pass
    found["runs"] = runs
    return found


def cmd_sample(args) -> int:
    pid = args.pid
    try:
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        fds = 0
    connect = last_json(os.path.join(args.work, "connect.log"), "hold-status")
    udp = last_json(os.path.join(args.work, "udp.log"), "udp-status")
    alg = last_progress(os.path.join(args.work, "alg.log"))
    mount = last_progress(os.path.join(args.work, "mount.log"))
    sessions = connect.get("open", 0) + udp.get("open", 0) + alg.get("active", 0) + mount.get("active", 0)
    with open("/proc/loadavg") as f:
        load = [float(x) for x in f.read().split()[:3]]
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
        cpu_s = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    except (OSError, IndexError, ValueError):
        cpu_s = 0.0
    # What else keeps the machine busy (the soak shares it): the five busiest processes, by CPU over their life.
    top = subprocess.run(["ps", "-eo", "pcpu,comm", "--sort=-pcpu", "--no-headers"], capture_output=True,
                         text=True, check=False).stdout.splitlines()[:5]
    sample = {
        "minute": args.minute,
        "utc": subprocess.run(["date", "-u", "+%H:%M:%S"], capture_output=True, text=True).stdout.strip(),
        "rss_kib": proc_value(f"/proc/{pid}/status", "VmRSS"),
        "hwm_kib": proc_value(f"/proc/{pid}/status", "VmHWM"),
        "pss_kib": proc_value(f"/proc/{pid}/smaps_rollup", "Pss"),
        "threads": proc_value(f"/proc/{pid}/status", "Threads"),
        "fds": fds,
        "tcp_sockets": socket_count("t", pid),
        "udp_sockets": socket_count("u", pid),
        "sessions": sessions,
        "load": {"connect": connect, "udp": udp, "alg_players": alg, "mount_players": mount},
        "metrics": metrics(args.admin),
        "gateway_cpu_s": round(cpu_s, 2),
        "loadavg": load,
        "top": [line.strip() for line in top],
    }
    print(json.dumps(sample), flush=True)
    return 0


def read_samples(path_or_stream) -> list[dict]:
    return [json.loads(line) for line in path_or_stream if line.strip()]


def cmd_line(args) -> int:
    samples = read_samples(sys.stdin)
    if not samples:
        return 0
    s = samples[-1]
    ld = s["load"]
    print(f"minute {s['minute']:3}: RSS {s['rss_kib'] / 1024:.1f} MiB, PSS {s['pss_kib'] / 1024:.1f} MiB, "
          f"fds {s['fds']}, TCP {s['tcp_sockets']}, UDP {s['udp_sockets']}, sessions {s['sessions']} "
          f"(connect {ld['connect'].get('open', '?')}, udp {ld['udp'].get('open', '?')}, "
          f"alg {ld['alg_players'].get('active', '?')}, mount {ld['mount_players'].get('active', '?')}), "
          f"load {s['loadavg'][0]}")
    return 0


def growth(samples: list[dict], key: str, base: int) -> dict:
    first = samples[base][key]
    last = samples[-1][key]
    pct = (last - first) * 100.0 / first if first else 0.0
    return {"from": first, "to": last, "delta": last - first, "percent": round(pct, 2)}


def cmd_report(args) -> int:
    with open(os.path.join(args.work, "run.json")) as f:
        run = json.load(f)
    with open(os.path.join(args.work, "samples.jsonl")) as f:
        samples = read_samples(f)
    if not samples:
        print("no samples", file=sys.stderr)
        return 1
    last_minute = samples[-1]["minute"]
    base_minute = 5 if last_minute >= 10 else min(1, last_minute)
    base = next(i for i, s in enumerate(samples) if s["minute"] >= base_minute)
    keys = ["rss_kib", "pss_kib", "fds", "tcp_sockets", "udp_sockets", "sessions"]
    verdict = {"from_minute": samples[base]["minute"], "to_minute": last_minute}
    verdict.update({k: growth(samples, k, base) for k in keys})
    # Trouble: the counters that should not move while the mix is held.
    trouble = {}
    for key, value in samples[-1]["metrics"].items():
        if key.endswith("_active") or "_active{" in key or "_in_use" in key or key == "error":
            continue
        before = samples[0]["metrics"].get(key, 0.0)
        if value != before:
            trouble[key] = {"minute_0": before, "end": value}
    verdict["counters_moved"] = trouble
    after = None
    after_path = os.path.join(args.work, "after.json")
    if os.path.exists(after_path):
        with open(after_path) as f:
            after = json.load(f)
        # Its "sessions" are the load tools' last lines from before they stopped: not a count of anything.
        verdict["after_load"] = {k: after[k] for k in keys if k != "sessions"}
    # The players' own final reports (written when the load stops) and the other tools' last lines.
    players = {}
    for name in sorted(os.listdir(args.work)):
        if name.endswith(".json") and name.split("-run")[0] in ("alg", "mount"):
            try:
                with open(os.path.join(args.work, name)) as f:
                    r = json.load(f)
            except (OSError, ValueError):
                continue
            players[name[:-5]] = {k: r.get(k) for k in ("sessions", "succeeded", "failed", "rtp_packets",
                                                         "rtp_lost", "rtp_invalid", "rtp_duplicates", "errors",
                                                         "elapsed_s", "mbit_per_s")}
    final = {"players": players,
             "connect": last_json(os.path.join(args.work, "connect.log"), "hold-status"),
             "udp": last_json(os.path.join(args.work, "udp.log"), "udp-done")
             or last_json(os.path.join(args.work, "udp.log"), "udp-status")}
    result = dict(run)
    result["verdict"] = verdict
    result["final"] = final
    result["samples"] = samples
    if after is not None:
        result["after_load"] = after
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)

    lines = ["| minute | RSS MiB | PSS MiB | fds | UDP sockets | TCP sockets | sessions | load avg |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for s in samples:
        lines.append(f"| {s['minute']} | {s['rss_kib'] / 1024:.1f} | {s['pss_kib'] / 1024:.1f} | {s['fds']} | "
                     f"{s['udp_sockets']} | {s['tcp_sockets']} | {s['sessions']} | {s['loadavg'][0]:.2f} |")

    def words(key: str, label: str, unit: str = "", scale: float = 1.0) -> str:
        g = verdict[key]
        if scale == 1.0:  # counts
            return f"{label} {g['from']} -> {g['to']} ({g['delta']:+d}, {g['percent']:+.1f}%)"
        return (f"{label} {g['from'] / scale:.1f}{unit} -> {g['to'] / scale:.1f}{unit} "
                f"({g['delta'] / scale:+.1f}{unit}, {g['percent']:+.1f}%)")

    verdict_line = (f"Verdict, minute {verdict['from_minute']} to {verdict['to_minute']}: "
                    + "; ".join([words("rss_kib", "RSS", " MiB", 1024), words("pss_kib", "PSS", " MiB", 1024),
                                 words("fds", "fds"), words("udp_sockets", "UDP sockets"),
                                 words("tcp_sockets", "TCP sockets"), words("sessions", "sessions")]))
    if trouble:
        verdict_line += "; counters that moved: " + ", ".join(
            f"{k} {v['minute_0']:g} -> {v['end']:g}" for k, v in sorted(trouble.items()))
    else:
        verdict_line += "; no refusal, exhaustion or failure counter moved"
    if after is not None:
        verdict_line += (f"; 20 s after the load stopped: RSS {after['rss_kib'] / 1024:.1f} MiB, "
                         f"PSS {after['pss_kib'] / 1024:.1f} MiB, fds {after['fds']}, UDP sockets "
                         f"{after['udp_sockets']}, TCP sockets {after['tcp_sockets']}")
    for name, r in players.items():
        verdict_line += (f"; {name}: {r['succeeded']}/{r['sessions']} players ok, {r['rtp_packets']} RTP packets, "
                         f"{r['rtp_lost']} lost, errors {r['errors']}")
    md = "\n".join(lines) + "\n\n" + verdict_line + "\n"
    with open(os.path.splitext(args.out)[0] + ".md", "w") as f:
        f.write(md)
    print(md)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("sample")
    p.add_argument("--minute", type=int, required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--admin", required=True)
    p.add_argument("--work", required=True)
    sub.add_parser("line")
    p = sub.add_parser("report")
    p.add_argument("--work", required=True)
    p.add_argument("--out", required=True)
    args = parser.parse_args()
    return {"sample": cmd_sample, "line": cmd_line, "report": cmd_report}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
