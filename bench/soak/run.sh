#!/usr/bin/env bash
# bench/soak/run.sh: the gateway soak (issue 11). On 127.0.0.1 only, `streamgate gateway` holds a mix of
# concurrent sessions for --minutes while its memory, descriptors and sockets are recorded every minute:
#   - SOCKS CONNECT tunnels (socks_load hold --echo-every-ms) to socks_load's echo sink, each echoing
#     --bulk-bytes every second; a tunnel whose echo fails is re-opened;
#   - UDP ASSOCIATE sessions (udp_soak.py), a 200-byte datagram echoed every second each; re-opened when one
#     goes silent or its control connection closes;
#   - RTSP players through SOCKS (`streamgate testplayer --socks`, RTP over UDP): the RTSP ALG relays their
#     media from `streamgate serve --loop` (a generated H.264+AAC MP4);
#   - players on an RTSP proxy mount of the same stream (testplayer against the gateway's [rtsp] listener).
# The testplayer processes keep their players for the whole run; a player that fails is not replaced (the
# failure is counted and shows in the live counts), a testplayer process that exits early is started again.
# Default mix for --sessions 1000: 40% CONNECT, 10% UDP ASSOCIATE, 25% ALG players, 25% mount players.
# Every minute (minute 0 = all sessions up): the gateway's VmRSS and PSS, open descriptors, TCP and UDP
# sockets (ss -p), the gauges of its /metrics, the load tools' live counts and the load average; once more
# 20 s after the load has stopped. Writes the JSON (every sample, the players' final reports) and prints a
# markdown table and a verdict (growth from minute 5 to the end, what is left after the load).
#
# usage: bench/soak/run.sh [--minutes N] [--sessions N] [--out FILE] [--bulk-bytes B] [--build-dir DIR]
#                          [--keep] [--no-build]
#   --minutes     how long the full mix is held (default 60)
#   --sessions    concurrent sessions in all (default 1000), split 40/10/25/25 as above
#   --out         JSON result file (default BUILD_DIR/bench/soak-YYYYmmddTHHMMSSZ.json); the markdown table
#                 goes next to it (.md)
#   --bulk-bytes  bytes each CONNECT tunnel echoes per second (default 16384)
#   --keep        keep every process's log (kept anyway when the run fails)
#   --no-build    run the binaries already in the build tree as they are
# Environment: SG_BUILD_JOBS (default 2).
# tools: ffmpeg python3 curl ss pgrep pkill setsid awk timeout
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/../lib.sh"

here="$repo/bench/soak"
out=""
minutes=60
sessions=1000
bulk_bytes=16384
build=1

while (($#)); do
  case $1 in
    --minutes) minutes=$2; shift 2 ;;
    --sessions) sessions=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --bulk-bytes) bulk_bytes=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done


"$repo/scripts/install-deps"

if ((build)); then
  if [[ ! -f $build_dir/CMakeCache.txt ]]; then
    log "configuring a release tree in $build_dir"
    cmake -S "$repo" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSG_WERROR=ON >/dev/null
  fi
  log "building streamgate and socks_load in $build_dir"
  cmake --build "$build_dir" -j "${SG_BUILD_JOBS:-2}" --target streamgate socks_load >/dev/null
fi
streamgate="$build_dir/src/app/streamgate"
socks_load="$build_dir/bench/socks/socks_load"
[[ -x $streamgate && -x $socks_load ]] || die "streamgate or socks_load missing in $build_dir"
[[ -n $out ]] || out="$build_dir/bench/soak-$(date -u +%Y%m%dT%H%M%SZ).json"
mkdir -p "$(dirname "$out")"

n_connect=$((sessions * 40 / 100))
n_udp=$((sessions * 10 / 100))
n_alg=$((sessions * 25 / 100))
n_mount=$((sessions - n_connect - n_udp - n_alg))
hold_s=$((minutes * 60))
tool_s=$((hold_s + 300))  # the load tools outlive the run; cleanup stops them
max_total_seconds=$((hold_s + 900))

# --- processes and cleanup (as bench/socks/run.sh) ---------------------------------------------------------
bench_workdir soak
stop_grace_s=10
bench_time_limit "$max_total_seconds"

# Every TCP session is two descriptors in the gateway, every ALG player 4 UDP sockets per track more.
raise_fd_limit
(($(ulimit -n) >= 4 * sessions + 1000)) || die "ulimit -n is $(ulimit -n): too low for $sessions sessions"

# --- origin, sink, gateway ------------------------------------------------------------------------------------
mkdir "$work/media"
ffmpeg -hide_banner -loglevel error -y -f lavfi -i "testsrc2=size=320x240:rate=15:duration=30" \
  -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=30" -c:v libx264 -preset ultrafast -b:v 150k \
  -maxrate 150k -bufsize 150k -g 15 -pix_fmt yuv420p -c:a aac -b:a 32k -shortest "$work/media/clip.mp4"

serve_port=$(free_port 11000 9000)
socks_port=$(free_port 11000 9000)
rtsp_port=$(free_port 11000 9000)
admin_port=$(free_port 11000 9000)
sink_port=$(free_port 11000 9000)
while [[ $socks_port == "$serve_port" || $rtsp_port == "$serve_port" || $rtsp_port == "$socks_port" ||
  $admin_port == "$serve_port" || $admin_port == "$socks_port" || $admin_port == "$rtsp_port" ||
  $sink_port == "$serve_port" || $sink_port == "$socks_port" || $sink_port == "$rtsp_port" ||
  $sink_port == "$admin_port" ]]; do
  rtsp_port=$(free_port 11000 9000); admin_port=$(free_port 11000 9000); sink_port=$(free_port 11000 9000)
done

# RTP port ranges below the ephemeral range (32768-60999), where the players' own UDP ports come from.
start_bg "$work/serve.log" "$streamgate" serve "$work/media" --loop --listen "127.0.0.1:$serve_port" \
  --rtp-ports 21000-24999 --log-level warn --max-connections 0 --max-connections-per-client 0
serve_pid=$last_pid
start_bg "$work/sink.log" "$socks_load" sink --listen "127.0.0.1:$sink_port" --max-seconds "$max_total_seconds"
sink_pid=$last_pid
wait_port "$serve_port" "$serve_pid" || die "serve did not start: $(tail -n 3 "$work/serve.log")"
wait_port "$sink_port" "$sink_pid" || die "echo sink did not start"

cat >"$work/gateway.toml" <<EOF
[gateway]
socks = ["127.0.0.1:$socks_port"]
admin = "127.0.0.1:$admin_port"
max_sessions = 0
max_sessions_per_client = 0
max_udp_associations = 0

[log]
level = "warn"

[alg]
ports = "25000-29999"

[rtsp]
listen = ["127.0.0.1:$rtsp_port"]
max_connections = 0
max_connections_per_client = 0

[[rtsp.mount]]
name = "clip"
url = "rtsp://127.0.0.1:$serve_port/clip.mp4"
transport = "udp"
always_on = true
EOF
start_bg "$work/gateway.log" "$streamgate" gateway --config "$work/gateway.toml"
gateway_sid=$last_pid
wait_port "$socks_port" "$gateway_sid" || die "gateway did not start: $(tail -n 3 "$work/gateway.log")"
wait_port "$rtsp_port" "$gateway_sid" || die "gateway's RTSP listener did not start"
gateway_pid=$(pgrep -s "$gateway_sid" -x streamgate | head -n 1)
[[ -n $gateway_pid ]] || die "no gateway process"
log "gateway pid $gateway_pid: SOCKS 127.0.0.1:$socks_port, RTSP 127.0.0.1:$rtsp_port, admin :$admin_port"

# --- the load ---------------------------------------------------------------------------------------------------
load_pids=()
log "load: $n_connect CONNECT tunnels, $n_udp UDP associations, $n_alg ALG players, $n_mount mount players"
start_bg "$work/connect.log" "$socks_load" hold --proxy "127.0.0.1:$socks_port" --target "127.0.0.1:$sink_port" \
  --count "$n_connect" --concurrency 50 --hold-seconds "$tool_s" --payload "$bulk_bytes" --echo-every-ms 1000
load_pids+=("$last_pid")
start_bg "$work/udp.log" /usr/bin/python3 "$here/udp_soak.py" --proxy "127.0.0.1:$socks_port" --count "$n_udp" \
  --duration "$tool_s"
load_pids+=("$last_pid")

# A testplayer group that exits early (it should not) is started again for the time left.
player_group() {  # player_group NAME URL N [testplayer options...]
  local name=$1 url=$2 n=$3 run=0 left
  shift 3
  local end=$((SECONDS + tool_s))
  while ((SECONDS < end)); do
    run=$((run + 1))
    left=$((end - SECONDS))
    echo "=== run $run: $n players for $left s ($(date -u +%H:%M:%S))"
    "$streamgate" testplayer "$url" -n "$n" --ramp 25 --duration "$left" --transport udp \
      --json "$work/$name-run$run.json" "$@" || true
    sleep 5
  done
}
start_bg "$work/alg.log" bash -c "$(declare -f player_group); tool_s=$tool_s work=$work streamgate=$streamgate \
  player_group alg rtsp://127.0.0.1:$serve_port/clip.mp4 $n_alg --socks 127.0.0.1:$socks_port"
load_pids+=("$last_pid")
start_bg "$work/mount.log" bash -c "$(declare -f player_group); tool_s=$tool_s work=$work streamgate=$streamgate \
  player_group mount rtsp://127.0.0.1:$rtsp_port/clip $n_mount"
load_pids+=("$last_pid")

# All up: the players ramp at 25/s, the tunnels open 50 at a time.
ramp_s=$(((n_alg > n_mount ? n_alg : n_mount) / 25 + 20))
log "waiting ${ramp_s} s for the sessions to come up"
sleep "$ramp_s"

sample() {  # sample MINUTE: one JSON line into samples.jsonl
  python3 "$here/soak_report.py" sample --minute "$1" --pid "$gateway_pid" --admin "127.0.0.1:$admin_port" \
    --work "$work" >>"$work/samples.jsonl"
}

started_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
t0=$SECONDS
for ((m = 0; m <= minutes; m++)); do
  while ((SECONDS < t0 + m * 60)); do sleep 1; done
  kill -0 "$gateway_pid" 2>/dev/null || die "the gateway died before minute $m: $(tail -n 5 "$work/gateway.log")"
  sample "$m"
  python3 "$here/soak_report.py" line <"$work/samples.jsonl" >&2
done
finished_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)

# The load ends (players TEARDOWN, tunnels close from the sink's side); what the gateway still holds 20 s
# later is what it would keep for good.
log "stopping the load"
for ((i = ${#load_pids[@]} - 1; i >= 0; i--)); do stop_bg "${load_pids[i]}"; done
sleep 20
python3 "$here/soak_report.py" sample --minute "$minutes" --pid "$gateway_pid" --admin "127.0.0.1:$admin_port" \
  --work "$work" >"$work/after.json"
python3 "$here/soak_report.py" line <"$work/after.json" >&2

cat >"$work/run.json" <<EOF
{"started": "$started_at", "finished": "$finished_at", "minutes": $minutes, "sessions": $sessions,
 "mix": {"connect": $n_connect, "udp_associate": $n_udp, "alg_players": $n_alg, "mount_players": $n_mount},
 "bulk_bytes_per_s": $bulk_bytes, "nproc": $(nproc), "kernel": "$(uname -r)",
 "cpu": "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)", "nofile_limit": $(ulimit -n),
 "commit": "$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)",
 "streamgate": "$("$streamgate" --version 2>/dev/null | awk '{print $2}')",
 "command": "bench/soak/run.sh --minutes $minutes --sessions $sessions --bulk-bytes $bulk_bytes"}
EOF
python3 "$here/soak_report.py" report --work "$work" --out "$out"
log "results written to $out and ${out%.json}.md"
