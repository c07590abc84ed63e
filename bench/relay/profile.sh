#!/usr/bin/env bash
# bench/relay/profile.sh: where `streamgate relay` spends its CPU at a fixed load (issue 15's benchmark).
# Starts the relay as run.sh does, loads it with relay_load (--calls, 20 s), and meanwhile counts its system
# calls (perf stat, 5 s) and samples it with call graphs (perf record -g, 5 s). Prints relay_load's figures,
# the system-call counts, the kernel/user split and the top symbols; keeps perf.data in the output folder.
#
# usage: bench/relay/profile.sh [--build-dir DIR] [--calls N] [--out DIR] [-- extra streamgate relay options]
# tools: perf python3 setsid
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
build_dir="$repo/build/release"
calls=500
out=""
while (($#)); do
  case $1 in
    --build-dir) build_dir=$2; shift 2 ;;
    --calls) calls=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "profile.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ -n $out ]] || out=$(mktemp -d /tmp/sg-relay-profile.XXXXXX)
mkdir -p "$out"
ng_port=$((5000 + RANDOM % 4000))

setsid "$build_dir/src/app/streamgate" relay --interface 127.0.0.1 --listen-ng "127.0.0.1:$ng_port" \
  --port-min 10000 --port-max 29999 --timeout 600 --delete-delay 0 --log-level warn "$@" >"$out/relay.log" 2>&1 &
relay=$!
trap 'kill "$relay" 2>/dev/null || true' EXIT
sleep 1
"$build_dir/bench/relay/relay_load" --ng "127.0.0.1:$ng_port" --calls "$calls" --seconds 20 --pid "$relay" \
  --relay-ports 10000-29999 --label profile >"$out/load.json" 2>"$out/load.log" &
load=$!
sleep 5
perf stat -e task-clock,context-switches,syscalls:sys_enter_recvmmsg,syscalls:sys_enter_sendmmsg \
  -e syscalls:sys_enter_recvmsg,syscalls:sys_enter_sendmsg,syscalls:sys_enter_sendto \
  -e syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_ctl,syscalls:sys_enter_io_uring_enter -p "$relay" -- sleep 5 >"$out/stat.txt" 2>&1
perf record -g -o "$out/perf.data" -p "$relay" -- sleep 5 >/dev/null 2>&1
wait "$load" || true
python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); print({k: v for k, v in r.items() if not isinstance(v, dict)})' \
  "$out/load.json"
cat "$out/stat.txt"
perf report -i "$out/perf.data" --no-children --sort dso -q -g none 2>/dev/null | head -5
perf report -i "$out/perf.data" --children --sort sym -q -g none 2>/dev/null | head -40
echo "profile.sh: perf.data and logs in $out" >&2
