#!/usr/bin/env python3
"""Writes the seed corpus of rtsp_alg_session_fuzz: real RTSP exchanges (GStreamer-like origin, ffmpeg-like
player) cut into the target's records: op (bit 0: origin to client, bit 1: port pairs free), 16-bit
little-endian length, bytes. Run from the repository root."""
import pathlib
import struct

UP, DOWN, FREE = 0, 1, 2
OUT = pathlib.Path("fuzz/corpus/rtsp_alg_session_fuzz")

SDP = ("v=0\r\no=- 1188340656180883 1 IN IP4 198.18.3.2\r\ns=Session streamed with GStreamer\r\n"
       "c=IN IP4 198.18.3.2\r\nt=0 0\r\na=control:*\r\nm=video 0 RTP/AVP 96\r\nc=IN IP4 0.0.0.0\r\n"
       "a=rtpmap:96 H264/90000\r\na=control:rtsp://198.18.3.2:8554/test/stream=0\r\n")


def request(method, cseq, url="rtsp://198.18.3.2:8554/test", extra=""):
    return f"{method} {url} RTSP/1.0\r\nCSeq: {cseq}\r\nUser-Agent: Lavf59.27.100\r\n{extra}\r\n"


def reply(cseq, extra="", status="200 OK", body=""):
    length = f"Content-Length: {len(body)}\r\n" if body else ""
    return f"RTSP/1.0 {status}\r\nCSeq: {cseq}\r\n{extra}{length}\r\n{body}"


def record(op, text):
    data = text.encode() if isinstance(text, str) else text
    return bytes([op]) + struct.pack("<H", len(data)) + data


def play_session(ports_free=True):
    free = FREE if ports_free else 0
    return b"".join([
        record(UP | free, request("OPTIONS", 1)),
        record(DOWN, reply(1, "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n")),
        record(UP | free, request("DESCRIBE", 2, extra="Accept: application/sdp\r\n")),
        record(DOWN, reply(2, "Content-Type: application/sdp\r\nContent-Base: rtsp://198.18.3.2:8554/test/\r\n",
                           body=SDP)),
        record(UP | free, request("SETUP", 3, "rtsp://198.18.3.2:8554/test/stream=0",
                                  "Transport: RTP/AVP/UDP;unicast;client_port=5000-5001\r\n")),
        record(DOWN, reply(3, "Transport: RTP/AVP;unicast;client_port=30000-30001;server_port=6970-6971;"
                              "ssrc=1C9A4B7E;mode=\"PLAY\"\r\nSession: 4rrQ-ouMjHYcZwmJ;timeout=60\r\n")),
        record(UP | free, request("PLAY", 4, extra="Range: npt=0.000-\r\nSession: 4rrQ-ouMjHYcZwmJ\r\n")),
        record(DOWN, reply(4, "Range: npt=0-\r\nSession: 4rrQ-ouMjHYcZwmJ;timeout=60\r\n")),
        record(UP | free, request("TEARDOWN", 5, extra="Session: 4rrQ-ouMjHYcZwmJ\r\n")),
        record(DOWN, reply(5, "Session: 4rrQ-ouMjHYcZwmJ;timeout=60\r\n")),
    ])


def pipelined_and_interleaved():
    setups = "".join(request("SETUP", n, f"rtsp://198.18.3.2:8554/test/stream={n}",
                             f"Transport: RTP/AVP;unicast;client_port={5000 + 2 * n}-{5001 + 2 * n}\r\n")
                     for n in range(1, 7))
    frame = b"$\x00\x00\x04\x80\x60\x00\x01"
    return b"".join([
        record(UP | FREE, setups),
        record(DOWN, "".join(reply(n, f"Transport: RTP/AVP;unicast;server_port=7000-7001\r\nSession: s{n}\r\n")
                             for n in range(1, 7))),
        bytes([0xf0]),
        record(DOWN, frame + reply(9).encode()),
        record(UP, "\x16\x03\x01\x02\x00 not rtsp\r\n\r\n"),
        bytes([0xf8]),
    ])


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "play_udp.bin").write_bytes(play_session())
    (OUT / "play_no_free_ports.bin").write_bytes(play_session(ports_free=False))
    (OUT / "pipelined_setups_frames_fallback.bin").write_bytes(pipelined_and_interleaved())
    (OUT / "split_setup.bin").write_bytes(
        b"".join(record(UP | FREE, c) for c in [request("SETUP", 7, extra="Transport: RTP/AVP;unicast;"
                                                                  "client_port=6000-6001\r\n")[i:i + 17]
                                                for i in range(0, 120, 17)]))


if __name__ == "__main__":
    main()
