"""Parsers shared by the detector's benchmark and integration test: `tshark -q -z rtp,streams` tables and
`streamgate detect --json` reports, both reduced to {(src, sport, dst, dport, ssrc): {"packets", "lost"}}."""

from __future__ import annotations

import ipaddress
import json
import re

# Start End Src Port Dst Port SSRC Payload(may contain spaces) Pkts Lost (pct%) ...
_ROW = re.compile(r"^\s*[\d.]+\s+[\d.]+\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\s+0x([0-9A-Fa-f]+)\s+(.*?)\s+(\d+)\s+(-?\d+)\s+\(")


def _addr(text: str) -> str:
    return str(ipaddress.ip_address(text))


def parse_tshark(text: str) -> dict:
    streams = {}
    for line in text.splitlines():
        m = _ROW.match(line)
        if not m:
            continue
        key = (_addr(m.group(1)), int(m.group(2)), _addr(m.group(3)), int(m.group(4)), int(m.group(5), 16))
        streams[key] = {"packets": int(m.group(7)), "lost": int(m.group(8)), "payload": m.group(6)}
    return streams


def parse_detect_json(text: str) -> dict:
    report = json.loads(text)
    return {(_addr(s["src"]), s["src_port"], _addr(s["dst"]), s["dst_port"], s["ssrc"]):
            {"packets": s["packets"], "lost": s["lost"], "found_by": s["found_by"], "codec": s["codec"]}
            for s in report["streams"]}
