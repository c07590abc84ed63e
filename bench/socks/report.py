#!/usr/bin/env python3
"""Merges the raw outputs of bench/socks/run.sh into one JSON file and prints the markdown table.

usage: report.py WORK_DIR OUT_JSON

WORK_DIR holds run.json (machine, versions, parameters), iperf-NAME-PN.json (iperf3 -J), rate-NAME[-nopipe].json
and hold-NAME.json (socks_load), mem-NAME.json (the proxy's memory before and after) and port-NAME. The targets
are the SOCKS5 gateway issue's: at least 1.5x danted's throughput, within reach of direct loopback, and under
10 KiB per idle relayed connection.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

NAMES = ("direct", "streamgate", "danted", "microsocks")
TARGET_VS_DANTED = 1.5
TARGET_KIB_PER_CONN = 10.0


def load(path: Path):
    try:
        text = path.read_text().strip()
        return json.loads(text) if text else None
    except (OSError, ValueError):
        return None


def throughput(work: Path, name: str, streams: int, proxy_port: int | None):
    data = load(work / f"iperf-{name}-P{streams}.json")
    if not data or "error" in data or "end" not in data:
        return {"error": (data or {}).get("error", "no result")}
    # iperf3 reads the peer address with getpeername(), which proxychains4 does not hook: through a proxy it
    # is the proxy's port. That proves the traffic really went through the proxy.
    ports = sorted({c.get("remote_port") for c in data["start"].get("connected", [])})
    proxied = proxy_port is not None and ports == [proxy_port]
    if proxy_port is not None and not proxied:
        return {"error": f"not proxied: iperf3 talked to ports {ports}, the proxy is on {proxy_port}"}
    end = data["end"]
    return {
        "gbit_s": round(end["sum_received"]["bits_per_second"] / 1e9, 2),
        "sender_gbit_s": round(end["sum_sent"]["bits_per_second"] / 1e9, 2),
        "retransmits": end["sum_sent"].get("retransmits"),
        "seconds": round(end["sum_received"]["seconds"], 2),
        "streams": streams,
    }


def memory(work: Path, label: str):
    mem = load(work / f"mem-{label}.json")
    hold = load(work / f"hold-{label}.json")
    if not mem or not hold or not hold.get("established"):
        return None
    n = hold["established"]
    return {
        "requested": hold.get("requested"),
        "established": n,
        "failed": hold.get("failed"),
        "errors": hold.get("errors"),
        "open_seconds": hold.get("open_seconds"),
        **mem,
        "rss_kib_per_conn": round((mem["rss_after_kib"] - mem["rss_before_kib"]) / n, 2),
        "pss_kib_per_conn": round((mem["pss_after_kib"] - mem["pss_before_kib"]) / n, 2),
        "fds_per_conn": round((mem.get("fds_after", 0) - mem.get("fds_before", 0)) / n, 2),
    }


def fmt(value, digits=1, suffix=""):
    return "n/a" if value is None else f"{value:.{digits}f}{suffix}"


def main() -> int:
    work, out = Path(sys.argv[1]), Path(sys.argv[2])
    run = load(work / "run.json") or {}
    results = {}
    for name in NAMES:
        port_file = work / f"port-{name}"
        port = int(port_file.read_text()) if port_file.exists() else None
        if name != "direct" and port is None:
            continue
        if name == "direct" and not (work / "rate-direct.json").exists():
            continue
        results[name] = {
            "proxy_port": port,
            "throughput": {f"P{p}": throughput(work, name, p, port) for p in (1, 4)},
            "rate": load(work / f"rate-{name}.json"),
            "rate_not_pipelined": load(work / f"rate-{name}-nopipe.json"),
            "idle_memory": memory(work, name) if name != "direct" else None,
            "idle_memory_after_traffic": memory(work, f"{name}-traffic") if name != "direct" else None,
            "died": (work / f"died-{name}").read_text().splitlines() if (work / f"died-{name}").exists() else [],
        }

    def gbit(name, key):
        return ((results.get(name) or {}).get("throughput", {}).get(key) or {}).get("gbit_s")

    targets = {}
    for key in ("P1", "P4"):
        sg, dante, direct = gbit("streamgate", key), gbit("danted", key), gbit("direct", key)
        if sg is not None and dante:
            ratio = round(sg / dante, 2)
            targets[f"throughput_{key}_vs_danted"] = {"ratio": ratio, "target": TARGET_VS_DANTED,
                                                      "met": ratio >= TARGET_VS_DANTED}
        if sg is not None and direct:
            targets[f"throughput_{key}_vs_direct"] = {"ratio": round(sg / direct, 2)}
    for key in ("idle_memory", "idle_memory_after_traffic"):
        sg_mem = (results.get("streamgate") or {}).get(key)
        if sg_mem:
            targets[f"{key}_kib_per_conn"] = {"value": sg_mem["rss_kib_per_conn"], "target": TARGET_KIB_PER_CONN,
                                              "met": sg_mem["rss_kib_per_conn"] < TARGET_KIB_PER_CONN}

    doc = {"run": run, "results": results, "targets": targets}
    out.write_text(json.dumps(doc, indent=2) + "\n")

    # The markdown table, as pasted into docs/benchmarks.md.
    params = run.get("params", {})
    conc = params.get("concurrency", "C")
    idle = params.get("idle", "N")
    lines = [
        f"| | TCP, 1 stream | TCP, 4 streams | tunnels/s, C={conc}, pipelined (open p50 / p99) "
        f"| tunnels/s, not pipelined (open p50 / p99) | per idle tunnel ({idle}): RSS (PSS), descriptors "
        f"| same, after 64 KiB each way |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]

    def rate_cell(rate):
        if not rate:
            return "-"
        if not rate.get("completed"):
            return "fails: " + ", ".join(f"{k} x{v}" for k, v in (rate.get("errors") or {}).items())
        lat = rate["latency_us"]
        failed = f", {rate['failed']} failed" if rate.get("failed") else ""
        return f"{rate['per_second']:.0f} ({lat['p50'] / 1000:.1f} / {lat['p99'] / 1000:.1f} ms{failed})"

    for name, r in results.items():
        cells = []
        for key in ("P1", "P4"):
            t = r["throughput"][key]
            cells.append(fmt(t.get("gbit_s"), 2, " Gbit/s") if "gbit_s" in t else f"failed: {t.get('error')}")
        cells.append(rate_cell(r["rate"]) if r["rate"] is not None else "n/a")
        cells.append(rate_cell(r["rate_not_pipelined"]))
        for key in ("idle_memory", "idle_memory_after_traffic"):
            m = r[key]
            if m:
                partial = "" if m["established"] == m["requested"] else f", only {m['established']} opened"
                cells.append(f"{m['rss_kib_per_conn']:.1f} KiB ({m['pss_kib_per_conn']:.1f} KiB), "
                             f"{m['fds_per_conn']:.1f}{partial}")
            else:
                cells.append("-")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    print("\n".join(lines))
    print()
    for name, r in results.items():
        for event in r["died"]:
            print(f"- {name} DIED during {event} (restarted for the rest)")
    for key, t in targets.items():
        if "met" in t:
            value = t.get("ratio", t.get("value"))
            print(f"- {key}: {value} (target {t['target']}): {'met' if t['met'] else 'NOT met'}")
        else:
            print(f"- {key}: {t['ratio']}")
    print(f"- machine: {run.get('nproc')} CPUs ({run.get('cpu')}), kernel {run.get('kernel')}, "
          f"load {run.get('load_before')} before / {run.get('load_after')} after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
