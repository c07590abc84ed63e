"""A hand-made client of RTSP tunnelled in HTTP (the QuickTime scheme) for the checks players do not make.

Usage: rtsp_http_tunnel_probe.py ADDRESS PORT PATH
Prints one JSON object:
  no_cookie, unknown_post, second_get: the HTTP status answering a GET without x-sessioncookie, a POST whose
      cookie no GET holds, a second GET with a cookie in use;
  get_status, get_type: the status and Content-Type answering a tunnel GET;
  options, describe, setup_udp, setup_tcp, play: the RTSP status of each request sent through the POST,
      the base64 split mid-quantum across writes and the requests split mid-line;
  rtp_frames: interleaved frames read on the GET after PLAY (stops at 20 or more);
  bad_post_closes_get: a POST with garbage for a body ended its own tunnel's GET;
  frames_after_bad_tunnel: interleaved frames the first tunnel kept receiving after that (20 or more);
  lonely_get_closed_s: seconds from its 200 until a GET whose POST never comes is closed by the server
      (None: still open after 30 s).
"""

import base64
import json
import socket
import sys
import threading
import time


def http_status(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else None
    fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, fields, rest


class Tunnel:
    def __init__(self, addr, port, path, cookie):
        self.addr, self.port, self.path, self.cookie = addr, port, path, cookie
        self.get = socket.create_connection((addr, port), timeout=10)
        self.get.sendall(f"GET {path} HTTP/1.0\r\nx-sessioncookie: {cookie}\r\n"
                         "Accept: application/x-rtsp-tunnelled\r\n\r\n".encode())
        self.status, self.fields, self.buffer = http_status(self.get)
        self.opened = time.monotonic()
        self.post = None
        self.cseq = 0

    def open_post(self):
        self.post = socket.create_connection((self.addr, self.port), timeout=10)
        self.post.sendall(f"POST {self.path} HTTP/1.0\r\nx-sessioncookie: {self.cookie}\r\n"
                          "Content-Type: application/x-rtsp-tunnelled\r\nContent-Length: 32767\r\n\r\n".encode())

    def send(self, text):
        encoded = base64.b64encode(text.encode())
        # Split inside a base64 quantum and, decoded, inside the request line.
        for piece in (encoded[:5], encoded[5:11], encoded[11:]):
            self.post.sendall(piece)
            time.sleep(0.05)

    def request(self, method, url, extra=""):
        self.cseq += 1
        self.send(f"{method} {url} RTSP/1.0\r\nCSeq: {self.cseq}\r\n{extra}\r\n")
        return self.response()

    def response(self):
        """(status, fields) of the next RTSP response on the GET, skipping interleaved frames."""
        while True:
            while self.buffer[:1] == b"$" and len(self.buffer) >= 4:
                size = int.from_bytes(self.buffer[2:4], "big")
                if len(self.buffer) < 4 + size:
                    break
                self.buffer = self.buffer[4 + size:]
            if self.buffer[:1] != b"$" and b"\r\n\r\n" in self.buffer:
                head, _, rest = self.buffer.partition(b"\r\n\r\n")
                lines = head.decode(errors="replace").split("\r\n")
                fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
                length = int(fields.get("content-length", "0"))
                if len(rest) >= length:
                    self.buffer = rest[length:]
                    return int(lines[0].split()[1]), fields
            chunk = self.get.recv(65536)
            if not chunk:
                return None, {}
            self.buffer += chunk

    def count_frames(self, limit=20, timeout=10):
        frames = 0
        deadline = time.monotonic() + timeout
        while frames < limit and time.monotonic() < deadline:
            while len(self.buffer) >= 4 and self.buffer[:1] == b"$":
                size = int.from_bytes(self.buffer[2:4], "big")
                if len(self.buffer) < 4 + size:
                    break
                self.buffer = self.buffer[4 + size:]
                frames += 1
            try:
                chunk = self.get.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            self.buffer += chunk
        return frames


def refused(addr, port, head):
    sock = socket.create_connection((addr, port), timeout=10)
    sock.sendall(head.encode())
    status, _, _ = http_status(sock)
    sock.close()
    return status


def closed_within(sock, timeout, since=None):
    """Seconds from `since` (now by default) until the peer closes `sock` (reading and dropping what comes),
    or None when it stays open `timeout` seconds from now."""
    start = time.monotonic()
    since = start if since is None else since
    sock.settimeout(1)
    while time.monotonic() - start < timeout:
        try:
            if not sock.recv(65536):
                return round(time.monotonic() - since, 1)
        except socket.timeout:
            continue
        except OSError:
            return round(time.monotonic() - since, 1)
    return None


def main():
    addr, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    host = f"[{addr}]" if ":" in addr else addr
    url = f"rtsp://{host}:{port}/{path}"
    out = {
        "no_cookie": refused(addr, port, f"GET /{path} HTTP/1.0\r\nAccept: application/x-rtsp-tunnelled\r\n\r\n"),
        "unknown_post": refused(addr, port, f"POST /{path} HTTP/1.0\r\nx-sessioncookie: nobody\r\n"
                                            "Content-Length: 32767\r\n\r\nT1BUSU9OUyAq"),
    }
    lonely = Tunnel(addr, port, f"/{path}", "lonely")
    lonely_closed = []
    watcher = threading.Thread(target=lambda: lonely_closed.append(closed_within(lonely.get, 30, lonely.opened)))
    watcher.start()
    tunnel = Tunnel(addr, port, f"/{path}", "probe1")
    out["get_status"], out["get_type"] = tunnel.status, tunnel.fields.get("content-type")
    out["second_get"] = refused(addr, port, f"GET /{path} HTTP/1.0\r\nx-sessioncookie: probe1\r\n\r\n")
    tunnel.open_post()
    out["options"] = tunnel.request("OPTIONS", url)[0]
    out["describe"] = tunnel.request("DESCRIBE", url, "Accept: application/sdp\r\n")[0]
    out["setup_udp"] = tunnel.request("SETUP", f"{url}/trackID=0",
                                      "Transport: RTP/AVP;unicast;client_port=40000-40001\r\n")[0]
    status, fields = tunnel.request("SETUP", f"{url}/trackID=0", "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n")
    out["setup_tcp"] = status
    session = fields.get("session", "").split(";")[0]
    out["play"] = tunnel.request("PLAY", url, f"Session: {session}\r\n")[0]
    out["rtp_frames"] = tunnel.count_frames()

    bad = Tunnel(addr, port, f"/{path}", "probe2")
    bad.open_post()
    bad.post.sendall(b"T1BU!!not base64!!")
    out["bad_post_closes_get"] = closed_within(bad.get, 10) is not None
    out["frames_after_bad_tunnel"] = tunnel.count_frames()
    watcher.join()
    out["lonely_get_closed_s"] = lonely_closed[0]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
