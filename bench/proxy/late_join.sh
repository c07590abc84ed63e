#!/usr/bin/env bash
# bench/proxy/late_join.sh: how soon a player joining a live RTSP proxy mount can show its first frame
# (issue 17, "fast start for late joiners"). One ~2 Mbit/s H.264 stream (`streamgate serve --loop`, a key
# frame every --gop frames at 25 fps) is mounted three times on one gateway, always on: `cached` with the
# default GOP cache and its paced burst (gop_burst_kbps 20000), `unpaced` with the burst sent at once
# (gop_burst_kbps = 0), `nocache` with gop_cache_bytes = 0 (the behaviour before the cache). N `streamgate testplayer`
# players join each mount one after the other (--ramp per second, so they land at every phase of the GOP)
# and report, per player, PLAY sent -> first RTP packet and PLAY sent -> the last packet of the first key
# frame (the first decodable frame), and whether the first video packet began a key frame. --udp-buffer
# sets the players' RTP receive buffer (testplayer --udp-buffer; default 1 MiB): a small one shows what an
# unpaced burst costs a player that cannot hold it. --link-kbit puts the players in a network namespace behind
# a veth whose egress toward them is a token bucket (tc tbf) of that rate with a --link-queue byte queue (default
# 32768): a narrow access link, where a burst at line rate overflows the queue and a paced one does not.
# Needs root for the namespace.
#
# usage: bench/proxy/late_join.sh [--build-dir DIR] [-n PLAYERS] [--ramp PER_S] [--gop FRAMES]
#                                 [--transports "udp tcp"] [--udp-buffer BYTES]
#                                 [--link-kbit KBIT [--link-queue BYTES]]
# tools: ffmpeg python3 timeout
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/../lib.sh"

players=50
ramp=10
gop=25
transports="udp tcp"
udp_buffer=1048576
link_kbit=""
link_queue=32768
while (($#)); do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    -n) players=$2; shift 2 ;;
    --ramp) ramp=$2; shift 2 ;;
    --gop) gop=$2; shift 2 ;;
    --transports) transports=$2; shift 2 ;;
    --udp-buffer) udp_buffer=$2; shift 2 ;;
    --link-kbit) link_kbit=$2; shift 2 ;;
    --link-queue) link_queue=$2; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

bin="$build_dir/src/app/streamgate"
require_executable "$bin"
bench_workdir bench-late-join

readonly origin_port=18654 mount_port=18655
# The players' side of a narrow link: namespace sg-lj-players at 10.77.0.2, the gateway at 10.77.0.1.
player_ns=()
mount_host=127.0.0.1
listen_extra=""
allow_line=""
if [[ -n $link_kbit ]]; then
  ip netns del sg-lj-players 2>/dev/null || true
  ip netns add sg-lj-players
  trap 'status=$?; ip netns del sg-lj-players 2>/dev/null; (exit "$status"); bench_cleanup' EXIT
  ip link add sg-lj-gw type veth peer name sg-lj-pl
  ip link set sg-lj-pl netns sg-lj-players
  ip addr add 10.77.0.1/30 dev sg-lj-gw
  ip link set sg-lj-gw up
  ip netns exec sg-lj-players ip addr add 10.77.0.2/30 dev sg-lj-pl
  ip netns exec sg-lj-players ip link set sg-lj-pl up
  ip netns exec sg-lj-players ip link set lo up
  tc qdisc add dev sg-lj-gw root tbf rate "${link_kbit}kbit" burst 16kb limit "$link_queue"
  player_ns=(ip netns exec sg-lj-players)
  mount_host=10.77.0.1
  listen_extra=", \"10.77.0.1:$mount_port\""
  allow_line='allow = ["10.77.0.0/30"]'
fi
mkdir "$work/media"
ffmpeg -hide_banner -loglevel error -y -f lavfi -i "testsrc2=size=1280x720:rate=25:duration=20" \
  -c:v libx264 -preset ultrafast -b:v 2M -maxrate 2M -bufsize 1M -g "$gop" -keyint_min "$gop" \
  -sc_threshold 0 -pix_fmt yuv420p "$work/media/clip.mkv"
echo "stream: H.264 1280x720 25 fps ~2 Mbit/s, a key frame every $gop frames; $players players per run," \
  "$ramp joins per second, RTP receive buffer $udp_buffer bytes${link_kbit:+, players behind a $link_kbit kbit/s link with a $link_queue-byte queue}"

start_bg "$work/serve.log" "$bin" serve "$work/media" --loop --listen "127.0.0.1:$origin_port" \
  --rtp-ports 40000-40999 --log-level warn
wait_port $origin_port "$last_pid"

cat >"$work/gateway.toml" <<TOML
[gateway]
socks = ["127.0.0.1:11180"]
admin = ""
$allow_line
[log]
level = "warn"
[rtsp]
listen = ["127.0.0.1:$mount_port"$listen_extra]
max_connections = 0
max_connections_per_client = 0
[[rtsp.mount]]
name = "cached"
url = "rtsp://127.0.0.1:$origin_port/clip.mkv"
transport = "udp"
always_on = true
[[rtsp.mount]]
name = "unpaced"
url = "rtsp://127.0.0.1:$origin_port/clip.mkv"
transport = "udp"
always_on = true
gop_burst_kbps = 0
[[rtsp.mount]]
name = "nocache"
url = "rtsp://127.0.0.1:$origin_port/clip.mkv"
transport = "udp"
always_on = true
gop_cache_bytes = 0
TOML
start_bg "$work/gateway.log" "$bin" gateway --config "$work/gateway.toml"
wait_port $mount_port "$last_pid"
sleep 3  # both upstreams play and their caches hold a GOP

for mount in nocache unpaced cached; do
  for transport in $transports; do
    report="$work/$mount-$transport.json"
    set +e
    timeout "$(awk -v n="$players" -v r="$ramp" 'BEGIN { printf "%d", n / r + 60 }')" "${player_ns[@]}" "$bin" testplayer "rtsp://$mount_host:$mount_port/$mount" -n "$players" \
      --ramp "$ramp" --duration 3 --transport "$transport" --udp-buffer "$udp_buffer" --json "$report" -q >/dev/null 2>"$work/err.txt"
    set -e
    /usr/bin/python3 - "$report" "$mount" "$transport" "$players" <<'PY'
import json, sys
path, mount, transport, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
try:
    r = json.load(open(path))
except (OSError, ValueError):
    print(f"{mount:8} {transport}: no report"); sys.exit()
k, f = r["first_key_frame_ms"], r["first_rtp_ms"]
print(f"{mount:8} {transport}  succeeded {r['succeeded']}/{n}  first RTP p50 {f['p50']:.1f} p99 {f['p99']:.1f} ms"
      f"  first decodable frame p50 {k['p50']:.1f} p95 {k['p95']:.1f} p99 {k['p99']:.1f} max {k['max']:.1f} ms"
      f"  began mid-GOP {r['players_first_packet_not_key']}  lost {r['rtp_lost']}  errors {r['errors']}")
PY
  done
done
