#!/usr/bin/python3
"""Sends what browsers never send to an RTSP-over-WebSocket listener and reports the answer.

    websocket_refusal_probe.py HOST PORT CASE

CASE is one of
    origin    a handshake from a page of an origin not allowed (http://elsewhere.example)
    version   a handshake asking for WebSocket version 8
    unmasked  a valid handshake without Origin (not a browser), then an unmasked frame (RFC 6455 section 5.1:
              a client must mask)
    options   a valid handshake without Origin, then OPTIONS in a masked frame (the control: it is answered)
Prints one JSON object: {"status": the handshake's HTTP status, "close_code": the status of the server's close
frame or null, "reply": the first line of an RTSP answer or null, "closed": whether the server closed the
connection within the probe's 3 s}.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import sys


def handshake(host: str, origin: str | None, version: str = "13") -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    lines = ["GET /clip.mp4 HTTP/1.1", f"Host: {host}", "Upgrade: websocket", "Connection: Upgrade",
             f"Sec-WebSocket-Key: {key}", f"Sec-WebSocket-Version: {version}",
             "Sec-WebSocket-Protocol: rtsp.onvif.org"]
    if origin:
        lines.append(f"Origin: {origin}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def frame(payload: bytes, masked: bool) -> bytes:
    head = bytes([0x82])
    if not masked:
        return head + bytes([len(payload)]) + payload
    mask = os.urandom(4)
    return head + bytes([0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def read_all(sock: socket.socket) -> tuple[bytes, bool]:
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return data, False
        if not chunk:
            return data, True
        data += chunk


def main() -> int:
    host, port, case = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    sock = socket.create_connection((host, port), timeout=3)
    if case == "origin":
        sock.sendall(handshake(host, "http://elsewhere.example"))
    elif case == "version":
        sock.sendall(handshake(host, None, version="8"))
    else:
        sock.sendall(handshake(host, None))
        request = b"OPTIONS rtsp://%s:%d/clip.mp4 RTSP/1.0\r\nCSeq: 1\r\n\r\n" % (host.encode(), port)
        sock.sendall(frame(request, masked=case == "options"))
    data, closed = read_all(sock)
    head, _, rest = data.partition(b"\r\n\r\n")
    report = {"status": int(head.split(b" ")[1]) if head.startswith(b"HTTP/1.1 ") else None,
              "close_code": None, "reply": None, "closed": closed}
    # Server frames (RFC 6455 section 5.2): FIN + opcode, a 7-bit length or 126 and a 16-bit one, no mask.
    while len(rest) >= 2:
        opcode, length, start = rest[0] & 0x0f, rest[1] & 0x7f, 2
        if length == 126:
            length, start = struct.unpack("!H", rest[2:4])[0], 4
        payload, rest = rest[start:start + length], rest[start + length:]
        if opcode == 0x8 and len(payload) >= 2:
            report["close_code"] = struct.unpack("!H", payload[:2])[0]
        elif opcode == 0x2 and report["reply"] is None:
            report["reply"] = payload.split(b"\r\n", 1)[0].decode(errors="replace")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
