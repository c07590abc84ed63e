#!/usr/bin/env bash
# bench/testplayer/run.sh (sketch): what `streamgate testplayer` itself costs per simulated player. Starts a
# shared live GstRtspServer origin (tests/integration/peers/gst_rtsp_origin.py, H.264 + PCMA) on 127.0.0.1,
# runs N players against it under /usr/bin/time -v, and prints the player's CPU seconds and peak RSS per
# player, next to the run's own summary (loss, latency percentiles). The origin, not the player, is the
# bottleneck at a few hundred Mbit/s, so loss and latencies describe GstRtspServer under load.
#
# usage: bench/testplayer/run.sh [--build-dir DIR] [-n PLAYERS] [--ramp PER_S] [--duration S] [--transport udp|tcp]
# tools: python3 awk
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/../lib.sh"

players=1000
ramp=200
duration=10
transport=udp
while (($#)); do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    -n) players=$2; shift 2 ;;
    --ramp) ramp=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --transport) transport=$2; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

bin="$build_dir/src/app/streamgate"
require_executable "$bin"
bench_workdir bench-testplayer

start_bg "$work/origin.log" /usr/bin/python3 "$repo/tests/integration/peers/gst_rtsp_origin.py" \
  --address 127.0.0.1 --port 0 --audio pcma
for _ in $(seq 100); do grep -q '^READY' "$work/origin.log" && break; sleep 0.1; done
port=$(awk '/^READY/ {print $2}' "$work/origin.log")
[[ -n $port ]] || { cat "$work/origin.log" >&2; exit 1; }

set +e
/usr/bin/time -v "$bin" testplayer "rtsp://127.0.0.1:$port/test" -n "$players" --ramp "$ramp" \
  --duration "$duration" --transport "$transport" --json "$work/report.json" -q >"$work/summary.txt" 2>"$work/time.txt"
rc=$?
set -e
cat "$work/summary.txt"
/usr/bin/python3 - "$work/time.txt" "$work/report.json" "$players" <<'PY'
import json, re, sys
time_text, report, players = open(sys.argv[1]).read(), json.load(open(sys.argv[2])), int(sys.argv[3])
def field(name):
    return float(re.search(rf"{name}: ([0-9.]+)", time_text).group(1))
cpu = field(r"User time \(seconds\)") + field(r"System time \(seconds\)")
rss_kib = field(r"Maximum resident set size \(kbytes\)")
print(f"players {players}: CPU {cpu:.2f} s ({1000 * cpu / players:.2f} ms per player), "
      f"peak RSS {rss_kib / 1024:.1f} MiB ({rss_kib / players:.1f} KiB per player), "
      f"{report['rtp_packets']} RTP packets ({1e6 * cpu / max(report['rtp_packets'], 1):.2f} us CPU per packet)")
PY
exit $rc
