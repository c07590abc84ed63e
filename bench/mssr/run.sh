#!/usr/bin/env bash
# bench/mssr/run.sh [rig.py options]: MSSR-RTP vs srt-live-transmit vs plain UDP over an impaired namespace
# path (loss by nftables, delay by a user-space forwarder); see docs/benchmarks.md. Needs root, and the
# streamgate binary (STREAMGATE_BIN, default build/release/src/app/streamgate).
# tools: ffmpeg ffprobe nft srt-live-transmit python3 tcpdump
set -euo pipefail
cd "$(dirname "$0")/../.."
export STREAMGATE_BIN=${STREAMGATE_BIN:-$PWD/build/release/src/app/streamgate}
echo "date: $(date -u +%FT%TZ)  commit: $(git rev-parse --short HEAD)  load:$(uptime | sed 's/.*load average//')"
exec /usr/bin/python3 bench/mssr/rig.py "$@"
