#!/usr/bin/python3
"""Talks to a media relay's control sockets, the way a SIP proxy does, and prints what came back.

    relay_control.py ng HOST PORT '{"command": "list"}'        rtpengine's ng protocol (bencode over UDP)
    relay_control.py rtpp HOST PORT 'U call1 198.18.10.2 6000 ft;1' 'D call1 ft' ...   rtpproxy protocol

ng: prints the reply dictionary as one JSON line (byte strings decoded as UTF-8). rtpp: sends each command in
order, waits for its reply (same cookie) and prints one JSON line per command: {"command", "reply"}, reply
null when none came within --timeout (the command is retransmitted with the same cookie meanwhile, as
Kamailio does). Exit status 0 when every command was answered, 1 otherwise. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import secrets
import socket
import sys
import time


def bencode(value) -> bytes:
    if isinstance(value, bool):
        raise TypeError("bencode has no booleans")
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, list):
        return b"l" + b"".join(bencode(v) for v in value) + b"e"
    if isinstance(value, dict):
        items = sorted((k.encode() if isinstance(k, str) else k, v) for k, v in value.items())
        return b"d" + b"".join(bencode(k) + bencode(v) for k, v in items) + b"e"
    raise TypeError(f"cannot bencode {type(value).__name__}")


def bdecode(data: bytes):
    """Decodes one bencoded value that fills `data` exactly; byte strings become str (UTF-8, replaced)."""
    value, end = _bdecode_at(data, 0)
    if end != len(data):
        raise ValueError(f"trailing bytes after bencoded value at {end}")
    return value


def _bdecode_at(data: bytes, i: int):
    c = data[i:i + 1]
    if c == b"i":
        end = data.index(b"e", i)
        return int(data[i + 1:end]), end + 1
    if c == b"l":
        i, out = i + 1, []
        while data[i:i + 1] != b"e":
            v, i = _bdecode_at(data, i)
            out.append(v)
        return out, i + 1
    if c == b"d":
        i, out = i + 1, {}
        while data[i:i + 1] != b"e":
            k, i = _bdecode_at(data, i)
            out[k], i = _bdecode_at(data, i)
        return out, i + 1
    if c.isdigit():
        colon = data.index(b":", i)
        n = int(data[i:colon])
        if colon + 1 + n > len(data):
            raise ValueError("bencoded string runs past the end")
        return data[colon + 1:colon + 1 + n].decode(errors="replace"), colon + 1 + n
    raise ValueError(f"bad bencode at offset {i}: {data[i:i + 10]!r}")


def exchange(sock: socket.socket, payload: bytes, cookie: bytes, timeout: float, tries: int) -> bytes | None:
    """Sends cookie+payload, retransmitting up to `tries` times; the reply's body (after the cookie) or None."""
    for _ in range(tries):
        sock.send(cookie + b" " + payload)
        deadline = time.monotonic() + timeout / tries
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                reply = sock.recv(65536)
            except (socket.timeout, ConnectionRefusedError):
                break
            head, _, body = reply.partition(b" ")
            if head == cookie:
                return body
    return None


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("protocol", choices=("ng", "rtpp"))
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("commands", nargs="+")
    ap.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for each reply")
    ap.add_argument("--tries", type=int, default=3, help="transmissions per command")
    args = ap.parse_args(argv)
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.connect((args.host, args.port))
    answered = True
    for command in args.commands:
        cookie = secrets.token_hex(6).encode()
        if args.protocol == "ng":
            body = exchange(sock, bencode(json.loads(command)), cookie, args.timeout, args.tries)
            reply = None if body is None else bdecode(body)
        else:
            body = exchange(sock, command.encode(), cookie, args.timeout, args.tries)
            reply = None if body is None else body.decode(errors="replace").strip()
            reply = {"command": command, "reply": reply}
        print(json.dumps(reply), flush=True)
        answered = answered and body is not None
    return 0 if answered else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
