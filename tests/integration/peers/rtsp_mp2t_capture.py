"""Receives an MP2T track (RFC 2250) from `streamgate serve` over UDP and checks its RTP packets, writing the
transport stream they carry to a file for ffprobe to decode.

Usage: rtsp_mp2t_capture.py HOST PORT PATH OUT_TS [START_S]
SETUP trackID=0 over UDP, PLAY from START_S (default 0), receive until the RTCP BYE. Prints one JSON line:
{"setup", "play", "range", "packets", "bytes", "payload_types": [...], "markers", "bad_payloads" (not a
whole number of TS packets each starting with 0x47, or above 7 of them), "max_payload", "seq_errors",
"ts_backwards" (RTP timestamps going back), "first_ts", "rtpinfo_rtptime", "bye"}.
"""

import json
import re
import select
import socket
import struct
import sys
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from rtsp_probe import Conn, parse_rtcp, session_id, setup_udp  # noqa: E402

TS_PACKET = 188


def main() -> int:
    host, port, path, out_path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    start = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
    c = Conn(host, port)
    resp, rtp, rtcp = setup_udp(c, path)
    sid = session_id(resp)
    play = c.request("PLAY", c.url(path), {"Session": sid, "Range": f"npt={start}-"})
    info = re.search(r"rtptime=(\d+)", play[1].get("rtp-info", ""))
    out = {"setup": resp[0], "play": play[0], "range": play[1].get("range", ""), "packets": 0, "bytes": 0,
           "payload_types": [], "markers": 0, "bad_payloads": 0, "max_payload": 0, "seq_errors": 0,
           "ts_backwards": 0, "first_ts": None, "rtpinfo_rtptime": int(info.group(1)) if info else None,
           "bye": False}
    last_seq = last_ts = None
    deadline = time.monotonic() + 30
    with open(out_path, "wb") as ts_file:
        while not out["bye"] and time.monotonic() < deadline:
            ready, _, _ = select.select([rtp, rtcp], [], [], 1.0)
            for s in ready:
                data = s.recv(65536)
                if s is rtcp:
                    out["bye"] = out["bye"] or any(pt == 203 for pt, _ in parse_rtcp(data))
                    continue
                b1, seq, ts = data[1], *struct.unpack("!HI", data[2:8])
                header = 12 + 4 * (data[0] & 0x0F)
                payload = data[header:]
                out["packets"] += 1
                out["bytes"] += len(payload)
                out["max_payload"] = max(out["max_payload"], len(payload))
                if (b1 & 0x7F) not in out["payload_types"]:
                    out["payload_types"].append(b1 & 0x7F)
                out["markers"] += b1 >> 7
                if (not payload or len(payload) % TS_PACKET or len(payload) > 7 * TS_PACKET
                        or any(payload[i] != 0x47 for i in range(0, len(payload), TS_PACKET))):
                    out["bad_payloads"] += 1
                if last_seq is not None and seq != (last_seq + 1) & 0xFFFF:
                    out["seq_errors"] += 1
                if last_ts is not None and ((ts - last_ts) & 0xFFFFFFFF) > 0x80000000:
                    out["ts_backwards"] += 1
                if out["first_ts"] is None:
                    out["first_ts"] = ts
                last_seq, last_ts = seq, ts
                ts_file.write(payload)
    c.request("TEARDOWN", c.url(path), {"Session": sid})
    c.close()
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
