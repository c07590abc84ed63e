#!/usr/bin/env bash
# bench/socks/run.sh: the SOCKS5 gateway benchmark. In one run on this machine, on 127.0.0.1 only, it measures
# streamgate next to Dante (danted) and microsocks, and direct loopback as the ceiling:
#   - bulk TCP throughput: iperf3 -t SECONDS, -P 1 and -P 4, through each proxy with proxychains4;
#   - SOCKS5 tunnels per second: socks_load rate (C concurrent clients, greeting and request pipelined,
#     a one-byte echo through each tunnel, graceful teardown) against socks_load's echo sink;
#   - memory per idle relayed connection: socks_load hold opens N tunnels and keeps them idle; the proxy's
#     memory (all its processes: VmRSS, and PSS which counts shared pages once) is read before and after.
# Prints a markdown table and writes a JSON file. Takes 3-5 minutes; needs root the first time (apt-get).
#
# usage: bench/socks/run.sh [--build-dir DIR] [--out FILE] [--seconds N] [--rate-seconds N]
#                           [--concurrency C] [--idle N] [--only direct,streamgate,danted,microsocks]
#                           [--keep] [--no-build]
#   --build-dir  release tree with streamgate and socks_load (default build/release; configured and built
#                when missing, like scripts/build release)
#   --out        JSON result file (default BUILD_DIR/bench/socks-YYYYmmddTHHMMSSZ.json)
#   --keep       keep the raw outputs and every peer's log (they are kept anyway when the run fails)
#   --no-build   run the binaries already in the build tree as they are
# Environment: SG_BENCH_STREAMGATE_ARGS adds gateway options (e.g. "--log-level warn"); SG_BUILD_JOBS.
# tools: danted microsocks iperf3 proxychains4 ss pgrep pkill setsid awk nproc python3 timeout
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/../lib.sh"

here="$repo/bench/socks"
out=""
seconds=10
rate_seconds=5
concurrency=50
idle=10000
only="direct,streamgate,danted,microsocks"
build=1
max_total_seconds=900

while (($#)); do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --rate-seconds) rate_seconds=$2; shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    --idle) idle=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

wants() { [[ ",$only," == *",$1,"* ]]; }

# --- packages: the benchmark peers (danted, microsocks, iperf3) come from the project's install script --
"$repo/scripts/install-deps"

# --- build (only the two targets the benchmark runs) ----------------------------------------------------
if ((build)); then
  if [[ ! -f $build_dir/CMakeCache.txt ]]; then
    log "configuring a release tree in $build_dir"
    cmake -S "$repo" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSG_WERROR=ON >/dev/null
  fi
  log "building streamgate and socks_load in $build_dir"
  cmake --build "$build_dir" -j "${SG_BUILD_JOBS:-$(nproc)}" --target streamgate socks_load >/dev/null
fi
streamgate="$build_dir/src/app/streamgate"
socks_load="$build_dir/bench/socks/socks_load"
[[ -x $streamgate && -x $socks_load ]] || die "streamgate or socks_load missing in $build_dir"
[[ -n $out ]] || out="$build_dir/bench/socks-$(date -u +%Y%m%dT%H%M%SZ).json"
mkdir -p "$(dirname "$out")"

# --- processes and cleanup -------------------------------------------------------------------------------
bench_workdir socks-bench
stop_grace_s=3

# The whole run is bounded: a stuck peer must not keep the machine busy.
bench_time_limit "$max_total_seconds"

# 10,000 tunnels are 20,000 descriptors in the proxy and 10,000 each in socks_load and the sink.
# Raising the hard limit needs CAP_SYS_RESOURCE; without it, open as many tunnels as the limit allows.
raise_fd_limit
idle_requested=$idle
if (($(ulimit -n) < 2 * idle + 100)); then
  idle=$((($(ulimit -n) - 100) / 2 / 100 * 100))
  log "ulimit -n is $(ulimit -n) (hard limit): measuring $idle idle tunnels instead of $idle_requested"
fi

established() {  # connections the proxy on PORT still holds with clients
  ss -Htn state established "sport = :$1" | wc -l
}

proc_mem() {  # proc_mem SID: "RSS_KIB PSS_KIB PROCESSES FDS" summed over every process of the session
  local rss=0 pss=0 n=0 fds=0 pid v
  for pid in $(pgrep -s "$1"); do
    v=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || continue
    [[ -n $v ]] || continue
    rss=$((rss + v))
    v=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)
    pss=$((pss + ${v:-0}))
    v=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
    fds=$((fds + v))
    n=$((n + 1))
  done
  echo "$rss $pss $n $fds"
}

# --- shared peers: the iperf3 server and the echo sink -------------------------------------------------
iperf_port=$(free_port 20000 10000)
sink_port=$(free_port 20000 10000)
start_bg "$work/iperf3-server.log" iperf3 -s -B 127.0.0.1 -p "$iperf_port"
iperf_pid=$last_pid
start_bg "$work/sink.log" "$socks_load" sink --listen "127.0.0.1:$sink_port" --max-seconds "$max_total_seconds"
sink_pid=$last_pid
wait_port "$iperf_port" "$iperf_pid" || die "iperf3 server did not start"
wait_port "$sink_port" "$sink_pid" || die "echo sink did not start"

# --- the measurements --------------------------------------------------------------------------------------
proxy_pid=""  # the proxy under test; empty for direct

survived() {  # survived NAME TEST PORT: a proxy that died during TEST is recorded and started again on PORT
  local name=$1 test=$2 port=$3 status=0
  [[ -n $proxy_pid ]] || return 0
  kill -0 "$proxy_pid" 2>/dev/null && return 0
  wait "$proxy_pid" || status=$?
  if ((status > 128)); then
    status="signal $((status - 128)) ($(kill -l $((status - 128))))"
  else
    status="exit status $status"
  fi
  log "error: $name died during $test: $status; starting it again"
  printf '%s: %s\n' "$test" "$status" >>"$work/died-$name"
  start_proxy "$name" "$port" "$work/$name-restarted.log"
  proxy_pid=$last_pid
  wait_port "$port" "$proxy_pid" || die "$name did not start again: $(tail -n 3 "$work/$name-restarted.log")"
}

throughput() {  # throughput NAME PROXY_PORT|"": iperf3 with 1 and 4 streams
  local name=$1 port=$2 streams wrap=()
  if [[ -n $port ]]; then
    printf 'strict_chain\nquiet_mode\ntcp_read_time_out 15000\ntcp_connect_time_out 8000\n[ProxyList]\nsocks5 127.0.0.1 %s\n' \
      "$port" >"$work/proxychains-$name.conf"
    wrap=(proxychains4 -q -f "$work/proxychains-$name.conf")
  fi
  for streams in 1 4; do
    log "$name: iperf3 -P $streams for ${seconds}s"
    timeout $((seconds + 30)) "${wrap[@]}" iperf3 -c 127.0.0.1 -p "$iperf_port" -t "$seconds" -P "$streams" -J \
      >"$work/iperf-$name-P$streams.json" 2>"$work/iperf-$name-P$streams.err" ||
      log "warning: $name iperf3 -P $streams failed (see $work/iperf-$name-P$streams.err)"
    sleep 1
    survived "$name" "iperf3 -P $streams" "$port"
  done
}

rate() {  # rate NAME PROXY_PORT|"" [--no-pipeline]
  local name=$1 port=$2 suffix="" proxy=()
  shift 2
  [[ -n $port ]] && proxy=(--proxy "127.0.0.1:$port")
  [[ ${1:-} == --no-pipeline ]] && suffix="-nopipe"
  log "$name: $concurrency concurrent tunnels for ${rate_seconds}s${suffix:+ (not pipelined)}"
  timeout $((rate_seconds + 30)) "$socks_load" rate "${proxy[@]}" --target "127.0.0.1:$sink_port" \
    --concurrency "$concurrency" --seconds "$rate_seconds" "$@" >"$work/rate-$name$suffix.json" ||
    log "warning: $name: no tunnel completed"
  sleep 1
  survived "$name" "tunnels/s${suffix:+ (not pipelined)}" "$port"
}

# idle_memory NAME PORT SID PAYLOAD LABEL: with a payload, every tunnel first echoes that many bytes, so the
# relay has used whatever it uses for traffic (buffers, pipes) before it goes idle.
idle_memory() {
  local name=$1 port=$2 sid=$3 payload=$4 label=$5 before after i hold_pid payload_args=()
  ((payload == 0)) || payload_args=(--payload "$payload")
  # Warm up first (allocator arenas, lazily created workers), so the difference is per-connection state.
  timeout 20 "$socks_load" rate --proxy "127.0.0.1:$port" --target "127.0.0.1:$sink_port" --concurrency 4 \
    --seconds 1 >/dev/null || true
  sleep 1
  before=$(proc_mem "$sid")
  log "$name: opening $idle idle tunnels${payload_args:+ after $payload bytes each way}"
  start_bg "$work/hold-$label.log" "$socks_load" hold --proxy "127.0.0.1:$port" --target "127.0.0.1:$sink_port" \
    --count "$idle" --concurrency 100 --hold-seconds 300 --no-pipeline "${payload_args[@]}"
  hold_pid=$last_pid
  # socks_load writes its result line once every tunnel is up (or has failed).
  for ((i = 0; i < 1200; i++)); do
    grep -q '"mode":"hold"' "$work/hold-$label.log" 2>/dev/null && break
    kill -0 "$hold_pid" 2>/dev/null || break
    sleep 0.1
  done
  sleep 2  # let the proxy finish what it does after its reply (thread start-up, child bookkeeping)
  after=$(proc_mem "$sid")
  grep '"mode":"hold"' "$work/hold-$label.log" >"$work/hold-$label.json" || echo '{}' >"$work/hold-$label.json"
  local rb pb nb fb ra pa na fa
  read -r rb pb nb fb <<<"$before"
  read -r ra pa na fa <<<"$after"
  printf '{"payload":%s,"rss_before_kib":%s,"rss_after_kib":%s,"pss_before_kib":%s,"pss_after_kib":%s,"processes_before":%s,"processes_after":%s,"fds_before":%s,"fds_after":%s}\n' \
    "$payload" "$rb" "$ra" "$pb" "$pa" "$nb" "$na" "$fb" "$fa" >"$work/mem-$label.json"
  log "$name: RSS ${rb} -> ${ra} KiB, PSS ${pb} -> ${pa} KiB, processes $nb -> $na, descriptors $fb -> $fa"
  stop_bg "$hold_pid"
  for ((i = 0; i < 300; i++)); do  # the proxy lets go of the closed tunnels (30 s at most)
    (($(established "$port") == 0)) && break
    sleep 0.1
  done
}

start_proxy() {  # start_proxy NAME PORT LOGFILE: sets last_pid
  local name=$1 port=$2 logfile=$3
  case $name in
    streamgate)
      # The default configuration otherwise, per-session log lines included. The admin listener's fixed port
      # (9131) would collide with any other gateway on this machine, and it has no part in relaying.
      # shellcheck disable=SC2086  # word splitting of the extra options is wanted
      start_bg "$logfile" "$streamgate" gateway --socks "127.0.0.1:$port" --admin off \
        ${SG_BENCH_STREAMGATE_ARGS:-}
      ;;
    danted)
      cat >"$work/danted.conf" <<EOF
logoutput: $work/danted-internal.log
internal: 127.0.0.1 port = $port
external: 127.0.0.1
clientmethod: none
socksmethod: none
user.privileged: root
user.unprivileged: nobody
client pass {
    from: 127.0.0.0/8 to: 0.0.0.0/0
}
socks pass {
    from: 127.0.0.0/8 to: 0.0.0.0/0
}
EOF
      start_bg "$logfile" danted -f "$work/danted.conf" -N 1
      ;;
    microsocks) start_bg "$logfile" microsocks -i 127.0.0.1 -p "$port" ;;
  esac
}

read -r load_before _ < /proc/loadavg
started_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
if wants direct; then
  throughput direct ""
  rate direct ""
fi
for name in streamgate danted microsocks; do
  wants "$name" || continue
  # Each memory measurement gets a fresh proxy: memory freed by earlier tunnels would hide the cost of new ones.
  for payload in 0 65536; do
    port=$(free_port 20000 10000)
    start_proxy "$name" "$port" "$work/$name-$payload.log"
    proxy_pid=$last_pid
    wait_port "$port" "$proxy_pid" || die "$name did not start: $(tail -n 3 "$work/$name-$payload.log")"
    label=$name
    ((payload == 0)) || label=$name-traffic
    idle_memory "$name" "$port" "$proxy_pid" "$payload" "$label"
    survived "$name" "idle memory" "$port"
    if ((payload == 0)); then stop_bg "$proxy_pid"; fi
  done
  echo "$port" >"$work/port-$name"
  throughput "$name" "$port"
  rate "$name" "$port"
  rate "$name" "$port" --no-pipeline
  stop_bg "$proxy_pid"
  proxy_pid=""
done
read -r load_after _ < /proc/loadavg

# --- report ----------------------------------------------------------------------------------------------
cat >"$work/run.json" <<EOF
{"started": "$started_at", "finished": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
 "nproc": $(nproc), "kernel": "$(uname -r)", "cpu": "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)",
 "load_before": $load_before, "load_after": $load_after,
 "params": {"iperf_seconds": $seconds, "rate_seconds": $rate_seconds, "concurrency": $concurrency, "idle": $idle,
            "idle_requested": $idle_requested, "nofile_limit": $(ulimit -n)},
 "versions": {"dante": "$(danted -v 2>&1 | awk '{sub(/\.$/, "", $2); print $2; exit}')",
              "dante_package": "$(dpkg-query -W -f='${Version}' dante-server)",
              "microsocks_package": "$(dpkg-query -W -f='${Version}' microsocks)",
              "iperf3_package": "$(dpkg-query -W -f='${Version}' iperf3)",
              "proxychains4_package": "$(dpkg-query -W -f='${Version}' proxychains4)",
              "streamgate": "$("$streamgate" --version 2>/dev/null | awk '{print $2}')",
              "streamgate_args": "${SG_BENCH_STREAMGATE_ARGS:-}"}}
EOF
python3 "$here/report.py" "$work" "$out"
log "results written to $out"
