"""A hand-made RTSP client for `streamgate serve` tests: sends exactly the requests a scenario needs
(including malformed ones) and prints one JSON line with what came back.

Usage: rtsp_probe.py SCENARIO HOST PORT PATH [ARG]
  errors   - malformed and out-of-state requests; reports each status code (or "closed")
  udp_play - SETUP track 0 over UDP, PLAY from ARG seconds (default 0), receive RTP and RTCP until BYE;
             reports counts and timing
  describe - one DESCRIBE; reports its status
  vanish   - SETUP over TCP, PLAY, read a little media, then reset the connection
  idle     - SETUP over UDP, PLAY, then stay silent (no RTCP, no requests) for ARG seconds, then send a
             keep-alive with the old session id; reports its status
  trick    - SETUP video and audio interleaved over TCP, PLAY with ARG "SCALE,START,SECONDS,OUT.h264": reads
             for SECONDS (or until the BYE), writes the video's H.264 as Annex B to OUT.h264 and reports each
             access unit (RTP timestamp, arrival time, NAL unit types) and the audio packets seen
"""

import json
import re
import select
import socket
import struct
import sys
import time


class Conn:
    def __init__(self, host, port):
        self.host, self.port = host, port
        self.sock = socket.create_connection((host, port), timeout=10)
        self.buf = b""
        self.cseq = 0

    def url(self, path):
        h = f"[{self.host}]" if ":" in self.host else self.host
        return f"rtsp://{h}:{self.port}/{path}"

    def send_raw(self, data: bytes):
        self.sock.sendall(data)

    def request(self, method, uri, headers=None, cseq=True):
        self.cseq += 1
        lines = [f"{method} {uri} RTSP/1.0"]
        if cseq:
            lines.append(f"CSeq: {self.cseq}")
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        self.send_raw(("\r\n".join(lines) + "\r\n\r\n").encode())
        return self.response()

    def response(self):
        """Returns (status, headers dict lower-case, body); skips interleaved frames; None when closed."""
        while True:
            while self.buf.startswith(b"$"):
                if len(self.buf) < 4:
                    break
                n = struct.unpack("!H", self.buf[2:4])[0]
                if len(self.buf) < 4 + n:
                    break
                self.buf = self.buf[4 + n:]
            end = self.buf.find(b"\r\n\r\n")
            if not self.buf.startswith(b"$") and end >= 0:
                head = self.buf[:end].decode("latin-1").split("\r\n")
                headers = {}
                for line in head[1:]:
                    k, _, v = line.partition(":")
                    headers[k.strip().lower()] = v.strip()
                length = int(headers.get("content-length", "0"))
                if len(self.buf) >= end + 4 + length:
                    body = self.buf[end + 4:end + 4 + length]
                    self.buf = self.buf[end + 4 + length:]
                    return int(head[0].split()[1]), headers, body.decode("latin-1")
            try:
                data = self.sock.recv(65536)
            except (ConnectionResetError, socket.timeout):
                data = b""
            if not data:
                return None
            self.buf += data

    def close(self):
        self.sock.close()


def status(resp):
    return "closed" if resp is None else resp[0]


def session_id(resp):
    return resp[1]["session"].split(";")[0]


def setup_udp(conn, path, track=0):
    family = socket.AF_INET6 if ":" in conn.host else socket.AF_INET
    rtp = socket.socket(family, socket.SOCK_DGRAM)
    rtp.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", 0))
    port = rtp.getsockname()[1]
    rtcp = socket.socket(family, socket.SOCK_DGRAM)
    try:
        rtcp.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", port + 1))
    except OSError:
        rtcp.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", 0))
    resp = conn.request("SETUP", conn.url(f"{path}/trackID={track}"),
                        {"Transport": f"RTP/AVP;unicast;client_port={port}-{rtcp.getsockname()[1]}"})
    return resp, rtp, rtcp


def scenario_errors(host, port, path):
    out = {}
    c = Conn(host, port)
    out["no_cseq"] = status(c.request("OPTIONS", "*", cseq=False))
    out["options"] = status(c.request("OPTIONS", c.url(path)))
    out["unknown_method"] = status(c.request("FROBNICATE", c.url(path)))
    out["describe_unknown"] = status(c.request("DESCRIBE", c.url("no-such-file.mp4")))
    out["describe_traversal"] = status(c.request("DESCRIBE", c.url("../../../../etc/passwd")))
    out["describe_encoded_traversal"] = status(c.request("DESCRIBE", c.url("%2e%2e/%2e%2e/etc/passwd")))
    out["describe_absolute"] = status(c.request("DESCRIBE", c.url("/etc/passwd")))
    out["play_unknown_session"] = status(c.request("PLAY", c.url(path), {"Session": "0123456789abcdef"}))
    out["play_without_session"] = status(c.request("PLAY", c.url(path)))
    out["setup_multicast_only"] = status(
        c.request("SETUP", c.url(f"{path}/trackID=0"), {"Transport": "RTP/AVP;multicast"}))
    out["setup_no_transport"] = status(c.request("SETUP", c.url(f"{path}/trackID=0")))
    out["setup_bad_track"] = status(
        c.request("SETUP", c.url(f"{path}/trackID=9"), {"Transport": "RTP/AVP/TCP;unicast;interleaved=0-1"}))
    resp = c.request("SETUP", c.url(f"{path}/trackID=0"), {"Transport": "RTP/AVP/TCP;unicast;interleaved=0-1"})
    out["setup"] = status(resp)
    sid = session_id(resp)
    out["play_bad_range"] = status(c.request("PLAY", c.url(path), {"Session": sid, "Range": "npt=abc-"}))
    out["play"] = status(c.request("PLAY", c.url(path), {"Session": sid}))
    out["setup_after_play"] = status(
        c.request("SETUP", c.url(f"{path}/trackID=1"),
                  {"Session": sid, "Transport": "RTP/AVP/TCP;unicast;interleaved=2-3"}))
    out["keepalive"] = status(c.request("GET_PARAMETER", c.url(path), {"Session": sid}))
    out["pause"] = status(c.request("PAUSE", c.url(path), {"Session": sid}))
    out["teardown"] = status(c.request("TEARDOWN", c.url(path), {"Session": sid}))
    out["after_teardown"] = status(c.request("PLAY", c.url(path), {"Session": sid}))
    c.close()
    c = Conn(host, port)
    c.send_raw(b"\x16\x03\x01 this is not RTSP at all\r\n\r\n")
    out["garbage"] = status(c.response())
    out["garbage_then"] = status(c.response())  # the server closes after its 400
    c.close()
    return out


def parse_rtcp(data):
    """Yields (packet type, packet bytes) of a compound RTCP packet."""
    i = 0
    while i + 4 <= len(data):
        pt = data[i + 1]
        n = (struct.unpack("!H", data[i + 2:i + 4])[0] + 1) * 4
        yield pt, data[i:i + n]
        i += n


def scenario_udp_play(host, port, path, start=0.0):
    c = Conn(host, port)
    resp, rtp, rtcp = setup_udp(c, path)
    sid = session_id(resp)
    transport = resp[1]["transport"]
    server_rtcp = int(re.search(r"server_port=\d+-(\d+)", transport).group(1))
    play = c.request("PLAY", c.url(path), {"Session": sid, "Range": f"npt={start}-"})
    info = re.search(r"seq=(\d+);rtptime=(\d+)", play[1].get("rtp-info", ""))
    out = {"setup": resp[0], "play": play[0], "transport": transport, "range": play[1].get("range", ""),
           "rtp_packets": 0, "seq_errors": 0, "sr": 0, "cname": "", "bye": False, "first_seq": None,
           "first_ts": None, "rtpinfo_seq": int(info.group(1)) if info else None,
           "rtpinfo_rtptime": int(info.group(2)) if info else None, "sr_ssrc_ok": True}
    first_at = last_at = None
    last_seq = None
    ssrc = None
    deadline = time.monotonic() + 30
    while not out["bye"] and time.monotonic() < deadline:
        ready, _, _ = select.select([rtp, rtcp], [], [], 1.0)
        for s in ready:
            data = s.recv(65536)
            if s is rtp:
                seq, ts, pkt_ssrc = struct.unpack("!HII", data[2:12])
                now = time.monotonic()
                first_at = first_at or now
                last_at = now
                if last_seq is not None and seq != (last_seq + 1) & 0xFFFF:
                    out["seq_errors"] += 1
                if out["first_seq"] is None:
                    out["first_seq"], out["first_ts"], ssrc = seq, ts, pkt_ssrc
                last_seq = seq
                out["rtp_packets"] += 1
            else:
                for pt, pkt in parse_rtcp(data):
                    if pt == 200:
                        out["sr"] += 1
                        if struct.unpack("!I", pkt[4:8])[0] != ssrc and ssrc is not None:
                            out["sr_ssrc_ok"] = False
                    elif pt == 202 and len(pkt) > 10 and pkt[8] == 1:
                        out["cname"] = pkt[10:10 + pkt[9]].decode("latin-1")
                    elif pt == 203:
                        out["bye"] = True
                # RTCP receiver report back, as a player does: keeps the session alive.
                rr = struct.pack("!BBHI", 0x80, 201, 1, 0x11223344)
                rtcp.sendto(rr, (host, server_rtcp))
    out["span_s"] = (last_at - first_at) if first_at and last_at else 0.0
    out["teardown"] = status(c.request("TEARDOWN", c.url(path), {"Session": sid}))
    c.close()
    return out


def scenario_vanish(host, port, path):
    c = Conn(host, port)
    resp = c.request("SETUP", c.url(f"{path}/trackID=0"), {"Transport": "RTP/AVP/TCP;unicast;interleaved=0-1"})
    play = c.request("PLAY", c.url(path), {"Session": session_id(resp)})
    got = 0
    deadline = time.monotonic() + 10
    while got < 20000 and time.monotonic() < deadline:
        got += len(c.sock.recv(65536))
    # Reset, not close: the server sees ECONNRESET mid-stream, like a client that crashed.
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
    return {"setup": resp[0], "play": play[0], "received": got}


def scenario_idle(host, port, path, seconds):
    c = Conn(host, port)
    resp, rtp, rtcp = setup_udp(c, path)
    sid = session_id(resp)
    play = c.request("PLAY", c.url(path), {"Session": sid})
    time.sleep(seconds)
    after = c.request("GET_PARAMETER", c.url(path), {"Session": sid})
    return {"setup": resp[0], "play": play[0], "session_header": resp[1]["session"], "after": status(after)}


def depacketize_h264(payload: bytes, out: bytearray, types: list) -> None:
    """RFC 6184: a single NAL unit, STAP-A (24) or FU-A (28) into Annex B."""
    kind = payload[0] & 0x1F
    if 1 <= kind <= 23:
        out += b"\x00\x00\x00\x01" + payload
        types.append(kind)
    elif kind == 24:
        at = 1
        while at + 2 <= len(payload):
            n = struct.unpack("!H", payload[at:at + 2])[0]
            nal = payload[at + 2:at + 2 + n]
            out += b"\x00\x00\x00\x01" + nal
            types.append(nal[0] & 0x1F)
            at += 2 + n
    elif kind == 28:
        if payload[1] & 0x80:  # start of the fragmented NAL unit: its header back together
            header = (payload[0] & 0xE0) | (payload[1] & 0x1F)
            out += b"\x00\x00\x00\x01" + bytes([header])
            types.append(header & 0x1F)
        out += payload[2:]


def scenario_trick(host, port, path, arg):
    scale, start, seconds, out_path = arg.split(",")
    c = Conn(host, port)
    video = c.request("SETUP", c.url(f"{path}/trackID=0"), {"Transport": "RTP/AVP/TCP;unicast;interleaved=0-1"})
    sid = session_id(video)
    audio = c.request("SETUP", c.url(f"{path}/trackID=1"),
                      {"Session": sid, "Transport": "RTP/AVP/TCP;unicast;interleaved=2-3"})
    play = c.request("PLAY", c.url(path), {"Session": sid, "Range": f"npt={start}-", "Scale": scale})
    info = re.search(r"seq=(\d+);rtptime=(\d+)", play[1].get("rtp-info", "")) if play else None
    out = {"setup": [status(video), status(audio)], "play": status(play),
           "scale": play[1].get("scale") if play else None, "range": play[1].get("range") if play else None,
           "rtpinfo_rtptime": int(info.group(2)) if info else None, "frames": [], "audio_packets": 0,
           "bye": False}
    annex_b = bytearray()
    frame = None
    began = time.monotonic()
    c.sock.settimeout(0.5)
    while time.monotonic() - began < float(seconds) and not out["bye"]:
        while len(c.buf) >= 4 and c.buf.startswith(b"$"):
            n = struct.unpack("!H", c.buf[2:4])[0]
            if len(c.buf) < 4 + n:
                break
            channel, packet = c.buf[1], c.buf[4:4 + n]
            c.buf = c.buf[4 + n:]
            if channel == 0:
                ts = struct.unpack("!I", packet[4:8])[0]
                if frame is None or frame["ts"] != ts:
                    frame = {"ts": ts, "t": round(time.monotonic() - began, 3), "types": []}
                    out["frames"].append(frame)
                header = 12 + 4 * (packet[0] & 0x0F)
                depacketize_h264(packet[header:], annex_b, frame["types"])
            elif channel == 2:
                out["audio_packets"] += 1
            elif channel in (1, 3) and any(pt == 203 for pt, _ in parse_rtcp(packet)):
                out["bye"] = True
        try:
            data = c.sock.recv(65536)
        except socket.timeout:
            continue
        if not data:
            break
        c.buf += data
    with open(out_path, "wb") as f:
        f.write(annex_b)
    c.close()
    return out


def main():
    scenario, host, port, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    if scenario == "errors":
        out = scenario_errors(host, port, path)
    elif scenario == "udp_play":
        out = scenario_udp_play(host, port, path, float(sys.argv[5]) if len(sys.argv) > 5 else 0.0)
    elif scenario == "describe":
        c = Conn(host, port)
        out = {"status": status(c.request("DESCRIBE", c.url(path)))}
        c.close()
    elif scenario == "vanish":
        out = scenario_vanish(host, port, path)
    elif scenario == "idle":
        out = scenario_idle(host, port, path, float(sys.argv[5]))
    elif scenario == "trick":
        out = scenario_trick(host, port, path, sys.argv[5])
    else:
        raise SystemExit(f"unknown scenario {scenario}")
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
