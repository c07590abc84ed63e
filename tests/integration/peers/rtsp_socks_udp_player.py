#!/usr/bin/python3
"""A minimal native SOCKS5 RTSP player for integration tests: RTP over UDP in the client's own family.

Connects to a SOCKS5 gateway, CONNECTs to the RTSP origin by name, and plays the first media of the stream
over UDP: OPTIONS, DESCRIBE, SETUP with client_port on two local UDP sockets (of the gateway's family),
PLAY, one punch packet to the announced source/server_port (as players do), then counts the RTP packets
that arrive until it has --packets of them, and TEARDOWN. Prints one JSON line with what it saw; exit 0 when
enough valid RTP (version 2, the SSRC of the SETUP reply when it named one) arrived within --timeout.

    rtsp_socks_udp_player.py --socks 2001:2:0:2::1 1080 --url rtsp://origin4.test:8554/test --packets 100
"""

import argparse
import json
import re
import socket
import struct
import sys
import time


def read_response(sock, buf):
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("control connection closed")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    text = head.decode("latin-1")
    m = re.search(r"(?im)^content-length:\s*(\d+)", text)
    length = int(m.group(1)) if m else 0
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("control connection closed")
        rest += chunk
    return text, rest[:length].decode("latin-1"), rest[length:]


def header(text, name):
    m = re.search(r"(?im)^" + re.escape(name) + r":\s*(.*?)\s*$", text)
    return m.group(1) if m else None


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument("--socks", nargs=2, metavar=("HOST", "PORT"), required=True)
    p.add_argument("--url", required=True)
    p.add_argument("--packets", type=int, default=100)
    p.add_argument("--timeout", type=float, default=20.0)
    args = p.parse_args(argv)
    m = re.match(r"rtsp://([^/:]+):(\d+)(/.*)?$", args.url)
    host, port = m.group(1), int(m.group(2))

    ctl = socket.create_connection((args.socks[0], int(args.socks[1])), timeout=args.timeout)
    ctl.sendall(b"\x05\x01\x00")
    assert ctl.recv(2) == b"\x05\x00", "SOCKS method refused"
    ctl.sendall(b"\x05\x01\x00\x03" + bytes([len(host)]) + host.encode() + struct.pack("!H", port))
    reply = ctl.recv(4)
    assert reply[1] == 0, f"SOCKS CONNECT failed: REP {reply[1]}"
    ctl.recv({1: 6, 4: 18}[reply[3]])

    family = ctl.family
    rtp = socket.socket(family, socket.SOCK_DGRAM)
    rtcp = socket.socket(family, socket.SOCK_DGRAM)
    for base in range(50000, 60000, 2):
        try:
            rtp.bind(("", base))
            rtcp.bind(("", base + 1))
            break
        except OSError:
            rtp.close(); rtcp.close()
            rtp = socket.socket(family, socket.SOCK_DGRAM)
            rtcp = socket.socket(family, socket.SOCK_DGRAM)

    cseq = 0
    buf = b""
    session = None

    def request(method, url, extra=""):
        nonlocal cseq, buf
        cseq += 1
        lines = f"{method} {url} RTSP/1.0\r\nCSeq: {cseq}\r\nUser-Agent: sg-test\r\n{extra}"
        if session:
            lines += f"Session: {session}\r\n"
        ctl.sendall((lines + "\r\n").encode())
        text, body, buf = read_response(ctl, buf)
        status = int(text.split(" ", 2)[1])
        if status != 200:
            raise RuntimeError(f"{method}: {text.splitlines()[0]}")
        return text, body

    request("OPTIONS", args.url)
    text, sdp = request("DESCRIBE", args.url, "Accept: application/sdp\r\n")
    base = header(text, "Content-Base") or args.url
    control = re.search(r"(?m)^a=control:(\S+)", sdp.split("m=", 1)[1]).group(1)
    track = control if control.startswith("rtsp://") else base.rstrip("/") + "/" + control
    rtp_port = rtp.getsockname()[1]
    text, _ = request("SETUP", track, f"Transport: RTP/AVP;unicast;client_port={rtp_port}-{rtp_port + 1}\r\n")
    transport = header(text, "Transport")
    session = header(text, "Session").split(";")[0]
    source = re.search(r"source=([^;]+)", transport).group(1)
    server = re.search(r"server_port=(\d+)-(\d+)", transport)
    ssrc = re.search(r"ssrc=([0-9A-Fa-f]+)", transport)
    request("PLAY", base)
    # Players punch a hole toward the server's ports; the gateway latches on it.
    rtp.sendto(b"\x80\x00\x00\x00" + b"\x00" * 8, (source, int(server.group(1))))
    rtcp.sendto(b"\x80\xc9\x00\x01" + b"\x00" * 4, (source, int(server.group(2))))

    rtp.settimeout(1.0)
    good = bad = 0
    deadline = time.monotonic() + args.timeout
    while good < args.packets and time.monotonic() < deadline:
        try:
            data, sender = rtp.recvfrom(65536)
        except socket.timeout:
            continue
        if len(data) >= 12 and data[0] >> 6 == 2 and (
                not ssrc or struct.unpack("!I", data[8:12])[0] == int(ssrc.group(1), 16)):
            good += 1
        else:
            bad += 1
    try:
        request("TEARDOWN", base)
    except (RuntimeError, EOFError, OSError):
        pass
    print(json.dumps({"rtp_packets": good, "bad_packets": bad, "transport": transport, "source": source}))
    return 0 if good >= args.packets else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
