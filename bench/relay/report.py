#!/usr/bin/env python3
"""Merges the raw outputs of bench/relay/run.sh into one JSON file and prints the markdown tables.

usage: report.py WORK_DIR OUT_JSON

WORK_DIR holds run.json (machine, versions, parameters), NAME-fixed-CALLS.json and NAME-step-CALLS.json
(relay_load's result lines) and died-NAME (the measurements during which that relay died). The goal is the
relay issue's: at least 2x rtpengine userspace on CPU per relayed packet and on calls held without loss.
"streamgate-kernel" is streamgate forwarding latched media in the kernel (--table): its forwarding then runs
in the generator's system calls on loopback, not in the relay's process, so the whole machine's busy time per
million packets (the generator's included, the same for every relay) is the figure that compares it.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

NAMES = ("streamgate", "streamgate-kernel", "rtpengine")
GOAL = 2.0


def load(path: Path):
    try:
        text = path.read_text().strip()
        return json.loads(text) if text else None
    except (OSError, ValueError):
        return None


def lossless(r) -> bool:
    return bool(r) and r["calls_set_up"] == r["calls"] and r["lost"] == 0


def with_log(work: Path, path: Path):
    """relay_load's result with what the relay logged during that measurement (at warning level: overload
    reports such as rtpengine's "UDP receive queue exceeded ...: discarding packet")."""
    r = load(path)
    if r is None:
        return None
    try:
        lines = (work / (path.stem + ".log")).read_text(errors="replace").splitlines()
    except OSError:
        lines = []
    r["relay_log_lines"] = len(lines)
    r["relay_log_first"] = lines[0][:300] if lines else ""
    return r


def relay_results(work: Path, name: str) -> dict:
    fixed = [with_log(work, p) for p in sorted(work.glob(f"{name}-fixed-*.json"))]
    steps = {}
    for p in work.glob(f"{name}-step-*.json"):
        m = re.search(r"-step-(\d+)\.json$", p.name)
        steps[int(m.group(1))] = with_log(work, p)
    steps = [{"calls": c, "result": steps[c]} for c in sorted(steps)]
    held = 0
    first_loss = None
    for s in steps:
        if lossless(s["result"]):
            held = s["calls"]
        else:
            first_loss = s
            break
    died = (work / f"died-{name}").read_text().split() if (work / f"died-{name}").exists() else []
    return {"fixed": fixed[0] if fixed else None, "steps": steps, "most_calls_zero_loss": held,
            "first_loss": first_loss, "died_during": died}


def limited_by(r) -> str:
    """Where the packets of a measurement with loss went: dropped by the relay's receive queues or the load
    generator's (it shares the 2 cores; a burst that left late means it could not keep the pace), forwarded
    more than the drain (1 s) after the last burst (late: the relay fell behind), or elsewhere (a relay that
    read them and did not forward them, or later still)."""
    if not r:
        return "no result"
    if r["calls_set_up"] != r["calls"]:
        return "call set-up"
    if r["lost"] == 0:
        return "-"
    where = []
    if r.get("relay_socket_drops"):
        where.append(f"relay queues {r['relay_socket_drops']}")
    if r.get("generator_socket_drops"):
        where.append(f"generator queues {r['generator_socket_drops']}")
    late = sum(r[d].get("late", 0) for d in ("a_to_b", "b_to_a"))
    if late:
        where.append(f"late {late}")
    rest = r["lost"] - r.get("relay_socket_drops", 0) - r.get("generator_socket_drops", 0) - late
    if rest > 0:
        where.append(f"elsewhere {rest}")
    if r.get("max_tick_lag_ms", 0) > 100:
        where.append(f"generator late by {r['max_tick_lag_ms'] / 1000:.1f} s")
    return ", ".join(where)


def fmt(v, spec=".1f", empty="-"):
    return empty if v is None else format(v, spec)


def core_share(r):
    if not r or "relay_cpu_seconds" not in r or not r.get("send_seconds"):
        return None
    return 100.0 * r["relay_cpu_seconds"] / r["send_seconds"]


def main() -> int:
    work, out = Path(sys.argv[1]), Path(sys.argv[2])
    run = load(work / "run.json") or {}
    relays = {n: relay_results(work, n) for n in NAMES
              if list(work.glob(f"{n}-fixed-*.json")) or list(work.glob(f"{n}-step-*.json"))}
    result = {"run": run, "relays": relays}

    fixed_calls = run.get("params", {}).get("fixed_calls", 500)
    print(f"| relay | CPU s per million relayed packets ({fixed_calls} calls) | machine CPU s per million "
          f"| relay CPU ({fixed_calls} calls) | lost ({fixed_calls} calls) | most calls with zero loss "
          f"| first step with loss |")
    print("|---|---|---|---|---|---|---|")
    for name, r in relays.items():
        f = r["fixed"]
        per_million = f.get("relay_cpu_seconds_per_million") if f else None
        first = r["first_loss"]
        if first is None:
            first_text = "none up to the last step"
        else:
            fr = first["result"]
            if not fr:
                first_text = f"{first['calls']}: no result"
            else:
                first_text = (f"{first['calls']}: {fr['lost']} lost of {fr['a_to_b']['sent'] + fr['b_to_a']['sent']} "
                              f"({limited_by(fr)})")
        died = f" (died during {', '.join(r['died_during'])})" if r["died_during"] else ""
        machine = f.get("machine_cpu_seconds_per_million") if f else None
        print(f"| {name}{died} | {fmt(per_million, '.2f')} | {fmt(machine, '.2f')} "
              f"| {fmt(core_share(f), '.0f')}% of a core "
              f"| {f['lost'] if f else '-'} | {r['most_calls_zero_loss']} | {first_text} |")

    rtp = relays.get("rtpengine")
    result["ratios"] = {}
    for name in ("streamgate", "streamgate-kernel"):
        sg = relays.get(name)
        if not (sg and rtp and sg["fixed"] and rtp["fixed"]):
            continue
        ratios = {}
        for key in ("relay_cpu_seconds_per_million", "machine_cpu_seconds_per_million"):
            a, b = sg["fixed"].get(key), rtp["fixed"].get(key)
            ratios[key] = b / a if a else None
        calls_ratio = (sg["most_calls_zero_loss"] / rtp["most_calls_zero_loss"]
                       if rtp["most_calls_zero_loss"] else None)
        result["ratios"][name] = {"cpu_per_packet_rtpengine_over_streamgate": ratios["relay_cpu_seconds_per_million"],
                                  "machine_cpu_per_packet_rtpengine_over_streamgate":
                                      ratios["machine_cpu_seconds_per_million"],
                                  "calls_zero_loss_streamgate_over_rtpengine": calls_ratio, "goal": GOAL}
        print(f"\n{name} vs rtpengine: {fmt(ratios['relay_cpu_seconds_per_million'], '.2f')}x less relay CPU "
              f"per packet, {fmt(ratios['machine_cpu_seconds_per_million'], '.2f')}x less machine CPU per packet, "
              f"{fmt(calls_ratio, '.2f')}x the calls with zero loss (goal {GOAL:.0f}x); a capped ratio "
              "means streamgate held the last step")

    print("\n| relay | calls | set up | packets sent (both ways) | lost | relay socket drops | generator socket drops "
          "| relay CPU | generator CPU | worst tick lag (ms) | misrouted, duplicates, reordered | relay log lines |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, r in relays.items():
        rows = ([("fixed", r["fixed"])] if r["fixed"] else []) + [(str(s["calls"]), s["result"]) for s in r["steps"]]
        for label, x in rows:
            if not x:
                print(f"| {name} | {label} | - | - | - | - | - | - | - | - | - | - |")
                continue
            gen = 100.0 * x["generator_cpu_seconds"] / x["send_seconds"] if x.get("send_seconds") else None
            print(f"| {name} | {x['calls']}{' (fixed)' if label == 'fixed' else ''} | {x['calls_set_up']} "
                  f"| {x['a_to_b']['sent'] + x['b_to_a']['sent']} | {x['lost']} | {x.get('relay_socket_drops', '-')} "
                  f"| {x['generator_socket_drops']} | {fmt(core_share(x), '.0f')}% | {fmt(gen, '.0f')}% "
                  f"| {fmt(x.get('max_tick_lag_ms'), '.1f')} "
                  f"| {sum(x[d]['misrouted'] for d in ('a_to_b', 'b_to_a'))}, "
                  f"{sum(x[d]['duplicates'] for d in ('a_to_b', 'b_to_a'))}, "
                  f"{sum(x[d]['reordered'] for d in ('a_to_b', 'b_to_a'))} | {x['relay_log_lines']} |")
    out.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
