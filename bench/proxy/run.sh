#!/usr/bin/env bash
# bench/proxy/run.sh: the RTSP gateway under load (issue 5). One ~2 Mbit/s live stream (`streamgate serve
# --loop` of a clip) is played by N `streamgate testplayer` players along four paths, in one run:
#   direct  players -> serve                                   (the origin alone, N upstream sessions)
#   mount   players -> streamgate gateway --rtsp mount -> serve (one upstream session, fanned out; late joiners
#           start from its GOP cache: bench/proxy/late_join.sh compares with and without)
#   gst     players -> GstRtspServer restreaming the origin (rtspsrc ! depay ! pay, shared) -> serve: a peer
#           RTSP proxy doing the same fan-out
#   socks   players --socks -> streamgate gateway (CONNECT + RTSP ALG; UDP media relayed per player) -> serve
#   publish players -> streamgate gateway --rtsp publish mount <- ffmpeg publishing the clip in a loop
#           (ANNOUNCE + RECORD, over --publish-transport; not in the default --paths)
# For each path and transport, N steps up (--steps) until a run has a failed player or any RTP loss. For the
# gateway's runs and the GstRtspServer peer's it also reports the relaying process's CPU time per relayed Gbit
# (user+sys of the gateway's or the peer's process over the run, all threads, /proc/PID/stat, divided by the
# RTP bits the players received): the CPU cores one relayed Gbit/s costs. Everything shares the machine's cores, so compare paths and peers, not absolute capacities.
#
# usage: bench/proxy/run.sh [--build-dir DIR] [--steps "50 100 200 400"] [--seconds PLAY_S] [--ramp PER_S]
#                           [--paths "direct mount gst socks publish"] [--transports "udp tcp"]
#                           [--publish-transport udp|tcp]
# SG_BENCH_RTSP_EXTRA: lines added to the gateway's [rtsp] table (e.g. "fanout_threads = 0").
# SG_BENCH_GATEWAY_EXTRA: lines added to its [gateway] table (e.g. "udp_segmentation = false").
# tools: ffmpeg ffprobe python3 timeout awk
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/../lib.sh"

steps="50 100 200 400"
seconds=10
ramp=100
paths="direct mount gst socks"
transports="udp tcp"
publish_transport=udp
while (($#)); do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --ramp) ramp=$2; shift 2 ;;
    --paths) paths=$2; shift 2 ;;
    --transports) transports=$2; shift 2 ;;
    --publish-transport) publish_transport=$2; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

bin="$build_dir/src/app/streamgate"
require_executable "$bin"
raise_fd_limit
bench_workdir bench-proxy

readonly origin_port=18554 mount_port=18555 gst_port=18556 socks_port=11080
mkdir "$work/media"
ffmpeg -hide_banner -loglevel error -y -f lavfi -i "testsrc2=size=1280x720:rate=25:duration=10" \
  -c:v libx264 -preset ultrafast -b:v 2M -maxrate 2M -bufsize 1M -g 25 -pix_fmt yuv420p "$work/media/clip.mkv"
kbit=$(ffprobe -v error -show_entries format=bit_rate -of csv=p=0 "$work/media/clip.mkv")
echo "stream: $((kbit / 1000)) kbit/s H.264 (10 s clip looped by serve), each player plays ${seconds} s"

# Every player comes from 127.0.0.1: no connection caps, here nor on the proxy listener below.
start_bg "$work/serve.log" "$bin" serve "$work/media" --loop --listen "127.0.0.1:$origin_port" \
  --rtp-ports 40000-49999 --log-level warn --max-connections 0 --max-connections-per-client 0
wait_port $origin_port "$last_pid"
origin="rtsp://127.0.0.1:$origin_port/clip.mkv"

cat >"$work/gateway.toml" <<EOF
[gateway]
socks = ["127.0.0.1:$socks_port"]
admin = ""
${SG_BENCH_GATEWAY_EXTRA:-}

[log]
level = "warn"

[alg]
ports = "50000-59999"
EOF
has_path() { [[ " $paths " == *" $1 "* ]]; }
if has_path mount || has_path publish; then
  cat >>"$work/gateway.toml" <<EOF

[rtsp]
listen = ["127.0.0.1:$mount_port"]
max_connections = 0
max_connections_per_client = 0
${SG_BENCH_RTSP_EXTRA:-}

[[rtsp.mount]]
name = "clip"
url = "$origin"
transport = "udp"

[[rtsp.mount]]
name = "live"
publish = true
EOF
fi
start_bg "$work/gateway.log" "$bin" gateway --config "$work/gateway.toml"
gateway_pid=$last_pid
wait_port $socks_port $gateway_pid
if has_path mount || has_path publish; then wait_port $mount_port $gateway_pid; fi
if has_path publish; then
  # The clip at its own pace (-re), looped: a camera's encoder pushing to the gateway.
  start_bg "$work/publisher.log" ffmpeg -hide_banner -nostdin -loglevel error -re -stream_loop -1 \
    -i "$work/media/clip.mkv" -c copy -f rtsp -rtsp_transport "$publish_transport" \
    "rtsp://127.0.0.1:$mount_port/live"
  sleep 3  # ANNOUNCE, SETUP, RECORD: the mount serves once the publisher records
  echo "publisher: ffmpeg over $publish_transport"
fi

# The peer proxy: one shared GstRtspServer pipeline playing the origin and re-payloading it for every viewer.
start_bg "$work/gst.log" /usr/bin/python3 "$repo/tests/integration/peers/gst_rtsp_origin.py" --address 127.0.0.1 \
  --port $gst_port \
  --mount "/clip=rtspsrc location=$origin protocols=udp latency=200 ! rtph264depay ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=-1"
gst_pid=$last_pid
wait_port $gst_port "$gst_pid"

ticks_per_s=$(getconf CLK_TCK)

url_of() {
  case $1 in
    direct | socks) echo "$origin" ;;
    mount) echo "rtsp://127.0.0.1:$mount_port/clip" ;;
    publish) echo "rtsp://127.0.0.1:$mount_port/live" ;;
    gst) echo "rtsp://127.0.0.1:$gst_port/clip" ;;
  esac
}

declare -A best
for path in $paths; do
  for transport in $transports; do
    key="$path/$transport"
    best[$key]=0
    [[ $path == socks && $transport == tcp ]] && continue  # interleaved through SOCKS is a plain TCP relay
    extra=()
    [[ $path == socks ]] && extra=(--socks "127.0.0.1:$socks_port")
    for n in $steps; do
      report="$work/$path-$transport-$n.json"
      # The relaying process of this path: the gateway, or the peer's (all its threads, as for the gateway).
      relay_pid=$gateway_pid
      [[ $path == gst ]] && relay_pid=$gst_pid
      before=$(cpu_ticks $relay_pid)
      threads_before=$(thread_ticks $relay_pid)
      set +e
      timeout $((seconds + n / ramp + 60)) "$bin" testplayer "$(url_of "$path")" -n "$n" --ramp "$ramp" \
        --duration "$seconds" --transport "$transport" "${extra[@]}" --json "$report" -q >/dev/null 2>"$work/err.txt"
      set -e
      after=$(cpu_ticks $relay_pid)
      threads_after=$(thread_ticks $relay_pid)
      line=$(/usr/bin/python3 - "$report" "$n" "$path" "$((after - before))" "$ticks_per_s" "$threads_before" \
        "$threads_after" <<'PY'
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    print("FAIL no report"); sys.exit()
n, path, ticks, hz = int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
# Per-thread ticks ("TID:TICKS" words) before and after: how much of the run the busiest thread carried.
before = dict(w.split(":") for w in sys.argv[6].split())
spent = sorted((int(t) - int(before.get(tid, 0)) for tid, t in (w.split(":") for w in sys.argv[7].split())),
               reverse=True)
ok = r["succeeded"] == n and r["rtp_lost"] == 0
gbit = r["rtp_bytes"] * 8 / 1e9
cpu = ""
if path in ("mount", "socks", "gst", "publish") and gbit > 0:
    who = "GstRtspServer" if path == "gst" else "gateway"
    cpu = f" {who} {ticks / hz:.2f} CPU-s for {gbit:.2f} Gbit = {ticks / hz / gbit:.2f} cores per Gbit/s"
    if spent and sum(spent) > 0:
        cpu += f" (busiest threads {', '.join(f'{100 * t / sum(spent):.0f}%' for t in spent[:3])})"
print(f"{'OK' if ok else 'FAIL'} succeeded {r['succeeded']}/{n} lost {r['rtp_lost']} "
      f"{r['mbit_per_s']:.0f} Mbit/s setup p99 {r['setup_ms']['p99']:.0f} ms "
      f"first_rtp p99 {r['first_rtp_ms']['p99']:.0f} ms "
      f"first decodable frame p99 {r.get('first_key_frame_ms', {}).get('p99', 0):.0f} ms{cpu} errors {r['errors']}")
PY
)
      printf '%-6s %-3s n=%-5s %s\n' "$path" "$transport" "$n" "$line"
      [[ $line == OK* ]] || break
      best[$key]=$n
    done
  done
done
echo "largest N with zero loss (of steps: $steps):"
for path in $paths; do
  for transport in $transports; do
    [[ $path == socks && $transport == tcp ]] && continue
    echo "  $path/$transport ${best[$path/$transport]}"
  done
done
