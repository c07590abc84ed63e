#!/usr/bin/env python3
"""Benchmark `streamgate detect -r` against `tshark -q -o rtp.heuristic_rtp:TRUE -z rtp,streams -r` on the
same synthetic multi-million-packet capture, run one after the other on one machine, and compare the tables
against the generator's truth. streamgate runs with its default thread count and with `--threads 1`; every
side runs `--runs` times and the median is kept. Reports the ratio to tshark and GB/s of capture per core
(capture bytes over the run's CPU time, user + system). See README.md.

    bench/detect/run_bench.py --build /tmp/sg-build --streams 400 --packets 7500 --noise 500000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rtp_tables import parse_detect_json, parse_tshark  # noqa: E402


def timed(argv: list[str], **kw) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall-clock seconds, CPU seconds (user + system of the child) and the finished process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    cp = subprocess.run(argv, capture_output=True, text=True, check=True, **kw)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, cp


def median_run(argv: list[str], runs: int, **kw) -> tuple[float, float, subprocess.CompletedProcess]:
    """The median wall time of `runs` runs, the CPU time of that same run, and its process."""
    results = [timed(argv, **kw) for _ in range(runs)]
    results.sort(key=lambda r: r[0])
    return results[len(results) // 2]


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True, help="CMake build directory (streamgate, detect_synth)")
    ap.add_argument("--streams", type=int, default=400)
    ap.add_argument("--packets", type=int, default=7500, help="sequence numbers per stream")
    ap.add_argument("--noise", type=int, default=500000, help="random UDP datagrams")
    ap.add_argument("--dns", type=int, default=50000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--runs", type=int, default=3, help="runs of each reader (the median is kept)")
    ap.add_argument("--threads", type=int, default=0, help="streamgate's --threads for the main run (0: one per core)")
    ap.add_argument("--keep", help="keep the capture at this path")
    args = ap.parse_args()

    build = Path(args.build)
    streamgate = build / "src/app/streamgate"
    synth = build / "tests/detect/detect_synth"
    with tempfile.TemporaryDirectory(prefix="sg-detect-bench-") as tmp:
        capture = Path(args.keep) if args.keep else Path(tmp) / "capture.pcap"
        truth_path = Path(tmp) / "truth.json"
        subprocess.run([str(synth), "--out", str(capture), "--truth", str(truth_path), "--streams", str(args.streams),
                        "--packets", str(args.packets), "--noise", str(args.noise), "--dns", str(args.dns),
                        "--seed", str(args.seed), "--duration-s", str(args.packets * 0.02)], check=True)
        truth_doc = json.loads(truth_path.read_text())
        frames = truth_doc["frames"]
        truth = {(s["src"], s["src_port"], s["dst"], s["dst_port"], s["ssrc"]): s for s in truth_doc["streams"]}

        # Warm the page cache so both tools read from memory.
        subprocess.run(["cat", str(capture)], stdout=subprocess.DEVNULL, check=True)
        capture_bytes = capture.stat().st_size
        load_before = loadavg()
        json_path = Path(tmp) / "detect.json"
        json_one = Path(tmp) / "detect1.json"
        detect = [str(streamgate), "detect", "-q", "-r", str(capture)]
        best, best_cpu, _cp = median_run(detect + ["--threads", str(args.threads), "--json", str(json_path)],
                                         args.runs)
        one, one_cpu, _cp = median_run(detect + ["--threads", "1", "--json", str(json_one)], args.runs)
        ours = parse_detect_json(json_path.read_text())
        # The report must not depend on the thread count (wall-clock fields aside).
        def stable(path: Path) -> dict:
            doc = json.loads(path.read_text())
            for key in ("elapsed_s", "frames_per_second"):
                doc.pop(key, None)
            return doc
        threads_identical = stable(json_path) == stable(json_one)
        t_elapsed, t_cpu, cp = median_run(["tshark", "-q", "-o", "rtp.heuristic_rtp:TRUE", "-z", "rtp,streams",
                                           "-r", str(capture)], args.runs, env={**os.environ, "LC_ALL": "C"})
        theirs = parse_tshark(cp.stdout)
        load_after = loadavg()

    def score(found: dict) -> dict:
        hits = [k for k in truth if k in found]
        exact = [k for k in hits if found[k]["packets"] == truth[k]["packets"] and found[k]["lost"] == truth[k]["lost"]]
        return {"streams": len(found), "true_streams_found": len(hits), "false_streams": len(found) - len(hits),
                "exact_packets_and_lost": len(exact)}

    same = sum(1 for k in truth if k in ours and k in theirs and ours[k]["packets"] == theirs[k]["packets"]
               and ours[k]["lost"] == theirs[k]["lost"])
    # Where the tables disagree on a true stream, show all three readings (truth, ours, tshark).
    disagreements = [{"stream": list(k), "truth": {"packets": truth[k]["packets"], "lost": truth[k]["lost"]},
                      "streamgate": ours.get(k), "tshark": theirs.get(k)}
                     for k in truth if not (k in ours and k in theirs and ours[k]["packets"] == theirs[k]["packets"]
                                            and ours[k]["lost"] == theirs[k]["lost"])]
    def rates(wall: float, cpu: float) -> dict:
        return {"seconds": round(wall, 3), "cpu_seconds": round(cpu, 3), "frames_per_second": round(frames / wall),
                "gb_per_second": round(capture_bytes / wall / 1e9, 3),
                "gb_per_cpu_second": round(capture_bytes / cpu / 1e9, 3) if cpu > 0 else None}

    result = {
        "frames": frames,
        "capture_bytes": capture_bytes,
        "truth_streams": len(truth),
        "runs": args.runs,
        "load_before": load_before,
        "load_after": load_after,
        "streamgate": {"threads": args.threads or os.cpu_count(), **rates(best, best_cpu), **score(ours)},
        "streamgate_one_thread": rates(one, one_cpu),
        "tshark": {**rates(t_elapsed, t_cpu), **score(theirs)},
        "speedup": round(t_elapsed / best, 1),
        "speedup_one_thread": round(t_elapsed / one, 1),
        "reports_identical_across_threads": threads_identical,
        "true_streams_with_identical_counts": same,
        "disagreements": disagreements[:10],
    }
    print(json.dumps(result, indent=2))
    ok = (result["streamgate"]["false_streams"] == 0 and result["streamgate"]["true_streams_found"] == len(truth)
          and result["streamgate"]["exact_packets_and_lost"] == len(truth) and threads_identical)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
