# shellcheck shell=bash disable=SC2034  # repo, build_dir and keep are for the sourcing script
# bench/lib.sh: what the benchmark scripts share. Sourced (not run) right after `set -euo pipefail`:
#
#   source "$(dirname "$0")/../lib.sh"
#
# It sets `repo` and the default `build_dir` (build/release; scripts let --build-dir change it), `keep=0`, and
# gives:
#   log MSG / die MSG            a timestamped line on stderr / and exit 1
#   bench_workdir NAME           $work = a fresh /tmp/sg-NAME.XXXXXX, and the exit trap: every process started
#                                with start_bg is stopped (last started first) and $work is removed, unless the
#                                run failed or keep=1 (then its path is logged, for the logs in it)
#   start_bg LOG CMD...          runs CMD in a session of its own (so its children go with it), stdout and
#                                stderr to LOG; its pid in $last_pid
#   stop_bg PID                  SIGTERM to the session, SIGKILL after $stop_grace_s seconds, then reap
#   bench_time_limit SECONDS     a watchdog that ends the whole run after SECONDS: a stuck peer must not keep
#                                the machine busy
#   raise_fd_limit               the soft descriptor limit up to the hard one (raising the hard one first to
#                                65,536 where CAP_SYS_RESOURCE allows)
#   wait_port PORT [PID] [S]     until something listens on TCP 127.0.0.1:PORT (default 20 s); fails early if
#                                PID dies
#   free_port LOW SPAN [tcp|udp] a port in [LOW, LOW+SPAN) nobody listens on or has bound
#   cpu_ticks PID                the process's user+system clock ticks so far (/proc/PID/stat)
#   thread_ticks PID             the same per thread, as "TID:TICKS" words
#   require_executable PATH...   dies naming the first one that is missing ("build it first")

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir="$repo/build/release"
keep=0
pids=()
last_pid=""
work=""
watchdog=""
stop_grace_s=5

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

require_executable() {
  local path
  for path; do [[ -x $path ]] || die "build it first: no $path"; done
}

start_bg() {
  local logfile=$1
  shift
  setsid "$@" >"$logfile" 2>&1 </dev/null &
  last_pid=$!
  pids+=("$last_pid")
}

stop_bg() {
  local pid=$1 i
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  # Every process of the session, not just its leader: a testplayer outlives its bash loop for its TEARDOWNs
  # and its --json report.
  for ((i = 0; i < stop_grace_s * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || [[ -n $(pgrep -s "$pid") ]] || break
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  pkill -KILL -s "$pid" 2>/dev/null || true  # children that left the group but not the session
  wait "$pid" 2>/dev/null || true
}

exit_commands=()
bench_on_exit() {  # bench_on_exit 'COMMAND': run by the exit trap after the processes are stopped
  exit_commands+=("$1")
}

bench_cleanup() {
  local status=$? i
  trap - EXIT INT TERM HUP
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop_bg "${pids[i]}"; done
  for ((i = ${#exit_commands[@]} - 1; i >= 0; i--)); do eval "${exit_commands[i]}" || true; done
  if [[ -n $watchdog ]]; then
    kill -- "-$watchdog" 2>/dev/null || true
    wait "$watchdog" 2>/dev/null || true
  fi
  if [[ -n $work ]]; then
    if ((status != 0)); then
      log "failed; logs kept in $work"
    elif ((keep)); then
      log "logs kept in $work"
    else
      rm -rf "$work"
    fi
  fi
  exit "$status"
}

bench_workdir() {
  work=$(mktemp -d "/tmp/sg-$1.XXXXXX")
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM HUP
}

bench_time_limit() {
  # shellcheck disable=SC2016  # $1 and $2 are the inner shell's arguments
  setsid bash -c 'sleep "$1" && echo "time limit of $1 s reached" >&2 && kill -TERM "$2"' _ "$1" "$$" \
    </dev/null &
  watchdog=$!
}

raise_fd_limit() {
  ulimit -Hn 65536 2>/dev/null || true
  ulimit -n "$(ulimit -Hn)"
}

wait_port() {
  local port=$1 pid=${2:-} seconds=${3:-20} i
  for ((i = 0; i < seconds * 10; i++)); do
    [[ -n $(ss -Htln "sport = :$port") ]] && return 0
    [[ -z $pid ]] || kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  log "nothing listens on port $port"
  return 1
}

free_port() {
  local low=$1 span=$2 proto=${3:-tcp} port
  while :; do
    port=$((low + RANDOM % span))
    if [[ $proto == udp ]]; then
      [[ -z $(ss -Huan "sport = :$port") ]] && break
    else
      [[ -z $(ss -Htln "sport = :$port") ]] && break
    fi
  done
  echo "$port"
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# "TID:TICKS" for each thread of PID (user+system clock ticks so far), space-separated.
thread_ticks() {
  local stat line
  for stat in /proc/"$1"/task/*/stat; do
    # The thread's name is in parentheses and may hold spaces: count fields after its closing one.
    line=$(cat "$stat" 2>/dev/null) || continue
    awk -v tid="${line%% *}" '{printf "%s:%d ", tid, $12 + $13}' <<<"${line##*) }"
  done
}
