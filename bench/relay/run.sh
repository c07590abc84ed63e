#!/usr/bin/env bash
# bench/relay/run.sh: the media relay benchmark (issue 15). In one run on this machine, on 127.0.0.1 only, it
# measures `streamgate relay` (in userspace, and as "streamgate-kernel" forwarding latched media in the kernel
# with --table) next to rtpengine userspace (--table=-1), all with the same interface, port
# range and timeouts, both set up through rtpengine's ng protocol by relay_load, which then sends G.711-sized
# RTP (172-byte packets, 50 per second each way per call) from one socket per side:
#   (a) CPU seconds per million relayed packets at a fixed load (--fixed-calls, default 500 calls: 25,000
#       packets/s each way, 50,000 relayed per second, for --fixed-seconds, default 20: a million packets),
#       read from /proc/PID/stat (every thread's utime + stime) over the media window, and the whole
#       machine's CPU time (every process's) over the same window: forwarding in the kernel runs in the
#       generator's system calls on loopback, so only the machine figure compares streamgate-kernel;
#   (b) the most calls held with zero loss: the steps (--steps) in turn, each on a fresh relay for --seconds,
#       a relay's steps ending at its first step with any loss (or a failed call set-up).
# Prints a markdown table and writes a JSON file. Takes 3-6 minutes; needs root the first time (apt-get).
#
# usage: bench/relay/run.sh [--build-dir DIR] [--out FILE] [--seconds N] [--fixed-calls N] [--fixed-seconds N]
#                           [--steps 500,1000,...] [--only streamgate,streamgate-kernel,rtpengine] [--pin]
#                           [--keep] [--no-build]
#   --build-dir  release tree with streamgate and relay_load (default build/release; configured and built
#                when missing, like scripts/build release)
#   --out        JSON result file (default BUILD_DIR/bench/relay-YYYYmmddTHHMMSSZ.json)
#   --seconds    media seconds of every step (default 10)
#   --pin        one core each: every relay runs one media thread on CPU 1 (taskset), relay_load runs on
#                CPU 0, so the calls a relay holds measure one core of relay, not what the generator leaves
#                over on cores it shares with the relay (steps 500-4,000 by 250 unless --steps says)
#   --rps        with --pin: loopback's receive path runs on the relays' core too (RPS on lo = CPU 1, put
#                back on exit), so that core carries what a relay host's core carries: the delivery of every
#                datagram, forwarding in the kernel (streamgate-kernel) included, and the relay
#                (net.core.netdev_max_backlog is raised to 50,000 meanwhile: one generator tick is a burst)
#   --keep       keep the raw outputs and every relay's log (they are kept anyway when the run fails)
#   --no-build   run the binaries already in the build tree as they are
# Environment: SG_BENCH_RELAY_ARGS adds streamgate relay options; SG_BENCH_RTPENGINE_ARGS adds rtpengine
# options (e.g. "--num-threads=1"); SG_BUILD_JOBS.
# tools: rtpengine ss awk nproc python3 timeout setsid taskset dpkg-query nft
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/../lib.sh"

here="$repo/bench/relay"
out=""
seconds=10
fixed_calls=500
fixed_seconds=20
steps="500,1000,1500,2000,3000,4000"
only="streamgate,streamgate-kernel,rtpengine"
kernel_table=7  # streamgate-kernel's nftables table: streamgate_7
build=1
pin=0
rps=0
steps_given=0
max_total_seconds=1200
# Below the kernel's ephemeral range (32768-60999), so no other socket on the machine holds these ports;
# 20,000 ports are 5,000 calls (a port pair per side: RTP and RTCP).
port_min=10000
port_max=29999

while (($#)); do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --fixed-calls) fixed_calls=$2; shift 2 ;;
    --fixed-seconds) fixed_seconds=$2; shift 2 ;;
    --steps) steps=$2; steps_given=1; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --pin) pin=1; shift ;;
    --rps) rps=1; shift ;;
    --keep) keep=1; shift ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,33p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

wants() { [[ ",$only," == *",$1,"* ]]; }

# With --pin both relays get the same single core and the generator the other one.
relay_cpu=()
load_cpu=()
if ((pin)); then
  (($(nproc) >= 2)) || die "--pin needs two cores"
  relay_cpu=(taskset -c 1)
  load_cpu=(taskset -c 0)
  SG_BENCH_RELAY_ARGS="--num-threads 1 ${SG_BENCH_RELAY_ARGS:-}"
  SG_BENCH_RTPENGINE_ARGS="--num-threads=1 ${SG_BENCH_RTPENGINE_ARGS:-}"
  ((steps_given)) || steps="500,750,1000,1250,1500,1750,2000,2250,2500,2750,3000,3500,4000"
fi

# --- packages: rtpengine-daemon comes from the project's install script --------------------------------
"$repo/scripts/install-deps"

# --- build (only the two targets the benchmark runs) ----------------------------------------------------
if ((build)); then
  if [[ ! -f $build_dir/CMakeCache.txt ]]; then
    log "configuring a release tree in $build_dir"
    cmake -S "$repo" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSG_WERROR=ON >/dev/null
  fi
  log "building streamgate and relay_load in $build_dir"
  cmake --build "$build_dir" -j "${SG_BUILD_JOBS:-$(nproc)}" --target streamgate relay_load >/dev/null
fi
streamgate="$build_dir/src/app/streamgate"
relay_load="$build_dir/bench/relay/relay_load"
[[ -x $streamgate && -x $relay_load ]] || die "streamgate or relay_load missing in $build_dir"
[[ -n $out ]] || out="$build_dir/bench/relay-$(date -u +%Y%m%dT%H%M%SZ).json"
mkdir -p "$(dirname "$out")"

# --- processes and cleanup -------------------------------------------------------------------------------
bench_workdir relay-bench
stop_grace_s=5
if ((rps)); then
  ((pin)) || die "--rps needs --pin"
  rps_file=/sys/class/net/lo/queues/rx-0/rps_cpus
  rps_before=$(cat "$rps_file")
  bench_on_exit "echo $rps_before >$rps_file"
  echo 2 >"$rps_file" || die "cannot set $rps_file (root?)"
  # One tick of the generator sends a datagram per call and side at once: with RPS they all wait in CPU 1's
  # input backlog, which at the default 1,000 drops them long before any relay is busy.
  backlog_before=$(sysctl -n net.core.netdev_max_backlog)
  bench_on_exit "sysctl -qw net.core.netdev_max_backlog=$backlog_before"
  sysctl -qw net.core.netdev_max_backlog=50000
fi

# The whole run is bounded: a stuck relay must not keep the machine busy.
bench_time_limit "$max_total_seconds"

# 4,000 calls are 16,000 media sockets in the relay.
raise_fd_limit

wait_ng() {  # wait_ng PORT PID: until the relay answers an ng ping on 127.0.0.1:PORT (10 s)
  python3 - "$1" "$2" <<'PY'
import os, socket, sys, time
port, pid = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.2)
deadline = time.time() + 10
while time.time() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit(1)
    s.sendto(b"ping_1 d7:command4:pinge", ("127.0.0.1", port))
    try:
        if b"pong" in s.recv(4096):
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.1)
sys.exit(1)
PY
}

start_relay() {  # start_relay NAME NG_PORT LOGFILE: sets last_pid
  local name=$1 ng=$2 logfile=$3
  case $name in
    streamgate)
      # shellcheck disable=SC2086  # word splitting of the extra options is wanted
      start_bg "$logfile" "${relay_cpu[@]}" "$streamgate" relay --interface 127.0.0.1 --listen-ng "127.0.0.1:$ng" \
        --port-min "$port_min" --port-max "$port_max" --timeout 600 --delete-delay 0 --log-level warn \
        ${SG_BENCH_RELAY_ARGS:-}
      ;;
    streamgate-kernel)
      # shellcheck disable=SC2086
      start_bg "$logfile" "${relay_cpu[@]}" "$streamgate" relay --interface 127.0.0.1 --listen-ng "127.0.0.1:$ng" \
        --port-min "$port_min" --port-max "$port_max" --timeout 600 --delete-delay 0 --log-level warn \
        --table "$kernel_table" ${SG_BENCH_RELAY_ARGS:-}
      ;;
    rtpengine)
      # --config-file=none: the package's /etc/rtpengine/rtpengine.conf would add its own listeners.
      # shellcheck disable=SC2086
      start_bg "$logfile" "${relay_cpu[@]}" rtpengine --config-file=none --table=-1 --foreground --log-stderr \
        --interface=127.0.0.1 --listen-ng="127.0.0.1:$ng" --port-min="$port_min" --port-max="$port_max" \
        --timeout=600 --delete-delay=0 --log-level=3 ${SG_BENCH_RTPENGINE_ARGS:-}
      ;;
  esac
}

# measure NAME CALLS SECONDS LABEL: a fresh relay, relay_load through it, the relay stopped; the result in
# LABEL.json.
measure() {
  local name=$1 calls=$2 seconds=$3 label=$4 ng pid
  ng=$(free_port 5000 4000 udp)
  start_relay "$name" "$ng" "$work/$label.log"
  pid=$last_pid
  wait_ng "$ng" "$pid" || die "$name did not answer an ng ping: $(tail -n 3 "$work/$label.log")"
  log "$name: $calls calls for ${seconds}s"
  timeout $((seconds + 180)) "${load_cpu[@]}" "$relay_load" --ng "127.0.0.1:$ng" --calls "$calls" --seconds "$seconds" \
    --pid "$pid" --relay-ports "$port_min-$port_max" --label "$label" >"$work/$label.json" \
    2>"$work/$label.load.log" || log "warning: relay_load $label failed (see $work/$label.load.log)"
  grep -v ' s  A->B' "$work/$label.load.log" | sed 's/^/    /' >&2 || true
  if ! kill -0 "$pid" 2>/dev/null; then
    log "error: $name died during $label"
    echo "$label" >>"$work/died-$name"
  fi
  stop_bg "$pid"
  # A relay that had to be killed leaves its table: its flows would forward the next relay's ports.
  [[ $name != streamgate-kernel ]] || nft delete table inet "streamgate_$kernel_table" 2>/dev/null || true
}

lossless() {  # lossless LABEL: every call set up and not one packet lost
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r["calls_set_up"]==r["calls"] and r["lost"]==0 else 1)' \
    "$work/$1.json" 2>/dev/null
}

read -r load_before _ < /proc/loadavg
uptime_before=$(uptime)
started_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
IFS=, read -r -a step_list <<<"$steps"
for name in streamgate streamgate-kernel rtpengine; do
  wants "$name" || continue
  measure "$name" "$fixed_calls" "$fixed_seconds" "$name-fixed-$fixed_calls"
  for calls in "${step_list[@]}"; do
    measure "$name" "$calls" "$seconds" "$name-step-$calls"
    lossless "$name-step-$calls" || { log "$name: loss at $calls calls; its steps end here"; break; }
  done
done
read -r load_after _ < /proc/loadavg

# --- report ----------------------------------------------------------------------------------------------
cat >"$work/run.json" <<EOF
{"started": "$started_at", "finished": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
 "nproc": $(nproc), "kernel": "$(uname -r)", "cpu": "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)",
 "load_before": $load_before, "load_after": $load_after, "uptime_before": "$uptime_before", "uptime_after": "$(uptime)",
 "commit": "$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)",
 "params": {"pinned": $pin, "rps_on_relay_core": $rps, "seconds": $seconds, "fixed_calls": $fixed_calls, "fixed_seconds": $fixed_seconds, "steps": "$steps", "port_min": $port_min,
            "port_max": $port_max, "packet_bytes": 172, "packets_per_second_per_call_each_way": 50},
 "versions": {"rtpengine_package": "$(dpkg-query -W -f='${Version}' rtpengine-daemon 2>/dev/null)",
              "streamgate": "$("$streamgate" --version 2>/dev/null | awk '{print $2}')",
              "streamgate_args": "${SG_BENCH_RELAY_ARGS:-}", "rtpengine_args": "${SG_BENCH_RTPENGINE_ARGS:-}"}}
EOF
python3 "$here/report.py" "$work" "$out"
log "results written to $out"
