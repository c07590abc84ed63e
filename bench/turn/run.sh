#!/usr/bin/env bash
# bench/turn/run.sh: `streamgate turn` next to coturn's turnserver under the same turnutils_uclient load (issue
# 16). M clients allocate on the server over UDP, bind channels and relay ChannelData to each other (-y -c:
# each message goes client -> server -> relayed address -> the other client's relayed address -> server ->
# the other client, so the server handles it twice). For each server: the messages sent and received, the
# loss, and the server's CPU time (user+sys of its process over the run, /proc/PID/stat) per million
# messages sent by the clients. Loopback only; everything shares the machine's cores, so compare the two
# servers in the same run, not absolute figures.
#
# usage: bench/turn/run.sh [--build-dir DIR] [--clients M] [--messages N] [--length OCTETS] [--interval MS]
# tools: turnserver turnutils_uclient awk timeout
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
build_dir="$repo/build/release"
clients=100
messages=500
length=172
interval=20
while (($#)); do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --messages) messages=$2; shift 2 ;;
    --length) length=$2; shift 2 ;;
    --interval) interval=$2; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
bin="$build_dir/src/app/streamgate"
[[ -x $bin ]] || { echo "build streamgate first (no $bin)" >&2; exit 2; }
ulimit -n "$(ulimit -Hn)"
work=$(mktemp -d)
server_pid=""
cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# run NAME PORT COMMAND...: starts the server, waits for its port, loads it, prints one result line.
run() {
  local name=$1 port=$2
  shift 2
  "$@" >"$work/$name.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 50); do
    ss -H -u -l -n "sport = :$port" | grep -q . && break
    sleep 0.1
  done
  local before after
  before=$(cpu_ticks "$server_pid")
  timeout 600 turnutils_uclient -y -c -m "$clients" -n "$messages" -l "$length" -z "$interval" -u alice \
    -w secret -p "$port" 127.0.0.1 >"$work/$name.uclient" 2>&1 || true
  after=$(cpu_ticks "$server_pid")
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
  awk -v name="$name" -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" '
    /tot_send_msgs=/ { split($0, a, "tot_send_msgs="); split(a[2], b, ","); sent = b[1] + 0
                       split($0, c, "tot_recv_msgs="); received = c[2] + 0 }
    /Total lost packets/ { lost = $0; sub(/.*Total lost packets /, "", lost); sub(/,.*/, "", lost) }
    END {
      cpu = ticks / hz
      printf "%-11s sent=%d received=%d lost=%s cpu=%.2fs cpu_per_million_sent=%.1fs\n", name, sent, received,
             lost, cpu, sent ? cpu * 1e6 / sent : 0
    }' "$work/$name.uclient"
}

echo "clients=$clients messages=$messages length=$length interval=${interval}ms (turnutils_uclient -y -c)"
run streamgate 3578 "$bin" turn --listening-ip 127.0.0.1 --listening-port 3578 --no-tcp --min-port 42000 \
  --max-port 43999 --user alice:secret --realm bench --allow-loopback-peers --total-quota 100000 \
  --user-quota 100000 --log-level warn
run coturn 3579 turnserver -n --listening-ip 127.0.0.1 --listening-port 3579 --relay-ip 127.0.0.1 \
  --min-port 44000 --max-port 45999 --lt-cred-mech --user alice:secret --realm bench --allow-loopback-peers \
  --no-cli --no-tls --no-dtls --no-tcp --log-file stdout
