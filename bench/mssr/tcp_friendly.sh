#!/usr/bin/env bash
# bench/mssr/tcp_friendly.sh [tcp_friendly.py options]: an MSSR-RTP stream and an iperf3 TCP flow sharing a
# TBF bottleneck (issue 14's TCP-friendliness point); see docs/benchmarks.md. Needs root, and the streamgate
# binary (STREAMGATE_BIN, default build/release/src/app/streamgate).
# tools: ffmpeg ffprobe iperf3 tc python3
set -euo pipefail
cd "$(dirname "$0")/../.."
export STREAMGATE_BIN=${STREAMGATE_BIN:-$PWD/build/release/src/app/streamgate}
echo "date: $(date -u +%FT%TZ)  commit: $(git rev-parse --short HEAD)  load:$(uptime | sed 's/.*load average//')"
exec /usr/bin/python3 bench/mssr/tcp_friendly.py "$@"
