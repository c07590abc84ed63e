#!/usr/bin/env bash
# bench/serve/run.sh: how many concurrent viewers of a ~2 Mbit/s clip `streamgate serve` holds with zero loss,
# next to a GstRtspServer origin (tests/integration/peers/gst_rtsp_origin.py, one pipeline per viewer reading
# the same file, as serve opens one demuxer per viewer), both measured by `streamgate testplayer` on loopback.
# For each server and transport, N steps up (--steps) until a run has a failed player or any RTP loss; a run
# plays the whole clip (--duration auto) and counts must match across players. Prints one line per run and
# a summary of the largest clean N. Server and players share the machine: the result is a ratio, not a
# capacity figure for a dedicated host.
#
# usage: bench/serve/run.sh [--build-dir DIR] [--steps "50 100 200 400 800"] [--seconds CLIP_S] [--ramp PER_S]
# tools: ffmpeg ffprobe python3 timeout
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/../lib.sh"

steps="50 100 200 400 800"
seconds=5
ramp=200
while (($#)); do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --ramp) ramp=$2; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

bin="$build_dir/src/app/streamgate"
require_executable "$bin"
raise_fd_limit  # serve needs a descriptor per viewer and two UDP sockets per track
bench_workdir bench-serve

# ~2 Mbit/s H.264, video only: the same RTP payloader work (FU-A) on both servers.
mkdir "$work/media"
ffmpeg -hide_banner -loglevel error -y -f lavfi -i "testsrc2=size=1280x720:rate=25:duration=$seconds" \
  -c:v libx264 -preset ultrafast -b:v 2M -maxrate 2M -bufsize 1M -g 25 -pix_fmt yuv420p \
  "$work/media/clip.mkv"
kbit=$(ffprobe -v error -show_entries format=bit_rate -of csv=p=0 "$work/media/clip.mkv")
echo "clip: ${seconds} s, $((kbit / 1000)) kbit/s"

# Every viewer comes from 127.0.0.1: no connection caps.
start_bg "$work/serve.log" "$bin" serve "$work/media" --listen 127.0.0.1:18554 --rtp-ports 40000-59999 \
  --log-level warn --max-connections 0 --max-connections-per-client 0
wait_port 18554 "$last_pid"
start_bg "$work/gst.log" /usr/bin/python3 "$repo/tests/integration/peers/gst_rtsp_origin.py" --address 127.0.0.1 \
  --port 18555 --not-shared \
  --mount "/clip.mkv=filesrc location=$work/media/clip.mkv ! matroskademux ! h264parse ! rtph264pay name=pay0 pt=96"
wait_port 18555 "$last_pid"

declare -A best
for server in serve gst; do
  port=18554; [[ $server == gst ]] && port=18555
  for transport in udp tcp; do
    best[$server/$transport]=0
    for n in $steps; do
      report="$work/$server-$transport-$n.json"
      set +e
      timeout $((seconds + n / ramp + 60)) "$bin" testplayer "rtsp://127.0.0.1:$port/clip.mkv" -n "$n" \
        --ramp "$ramp" --duration auto --transport "$transport" --json "$report" -q >/dev/null 2>"$work/err.txt"
      set -e
      line=$(/usr/bin/python3 - "$report" "$n" <<'PY'
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    print("FAIL no report"); sys.exit()
n = int(sys.argv[2])
counts = {p["rtp_packets"] for p in r["players"] if p.get("ok", True)}
ok = r["succeeded"] == n and r["rtp_lost"] == 0 and len(counts) == 1
print(f"{'OK' if ok else 'FAIL'} succeeded {r['succeeded']}/{n} lost {r['rtp_lost']} packets/player "
      f"{sorted(counts)[:3]} {r['mbit_per_s']:.0f} Mbit/s first_rtp p99 {r['first_rtp_ms']['p99']:.0f} ms "
      f"errors {r['errors']}")
PY
)
      printf '%-5s %-3s n=%-5s %s\n' "$server" "$transport" "$n" "$line"
      [[ $line == OK* ]] || break
      best[$server/$transport]=$n
    done
  done
done
echo "largest N with zero loss (of steps: $steps):"
for key in serve/udp serve/tcp gst/udp gst/tcp; do echo "  $key ${best[$key]}"; done
