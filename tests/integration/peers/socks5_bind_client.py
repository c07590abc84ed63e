#!/usr/bin/python3
"""Both ends of a SOCKS5 BIND (RFC 1928 section 4) for the integration tests. Standard library only.

    socks5_bind_client.py bind --proxy ADDR --proxy-port P --peer HOST [--peer-port N] [payload options]
        Asks the proxy to BIND for the peer HOST (an IPv4/IPv6 literal or a name, sent as DOMAINNAME).
        Prints "BOUND <addr> <port>" after the first reply and "PEER <addr> <port>" after the second, then
        exchanges the payload (below). A failure reply prints "REPLY <code>" and exits 3.

    socks5_bind_client.py connect --host ADDR --port P [payload options]
        The peer: connects to the address the first reply announced, prints "LOCAL <addr> <port>" (the address
        and port it connects from) and exchanges the payload.

Payload exchange: send --send TEXT repeated --repeat times, shut down the sending side, read until EOF, then
print "RECEIVED <byte count> <sha256 hex>". A connection that fails prints "ERROR <errno name>" and exits 4.
Every line is flushed at once (stdout is a pipe).
"""

from __future__ import annotations

import argparse
import errno
import hashlib
import ipaddress
import socket
import struct
import sys

REPLY_NAMES = {0: "succeeded", 1: "general_failure", 2: "not_allowed", 3: "network_unreachable",
               4: "host_unreachable", 5: "connection_refused", 6: "ttl_expired", 7: "command_not_supported",
               8: "address_type_not_supported"}


def say(*words) -> None:
    print(*words, flush=True)


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("proxy closed the connection in the middle of a reply")
        data += chunk
    return data


def encode_address(host: str, port: int) -> bytes:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        name = host.encode()
        return bytes([3, len(name)]) + name + struct.pack("!H", port)
    atyp = 1 if ip.version == 4 else 4
    return bytes([atyp]) + ip.packed + struct.pack("!H", port)


def read_reply(sock: socket.socket) -> tuple[int, str, int]:
    ver, rep, _, atyp = recv_exactly(sock, 4)
    if ver != 5:
        raise ConnectionError(f"not a SOCKS5 reply (version {ver})")
    if atyp == 1:
        addr = str(ipaddress.IPv4Address(recv_exactly(sock, 4)))
    elif atyp == 4:
        addr = str(ipaddress.IPv6Address(recv_exactly(sock, 16)))
    elif atyp == 3:
        addr = recv_exactly(sock, recv_exactly(sock, 1)[0]).decode(errors="replace")
    else:
        raise ConnectionError(f"unknown ATYP {atyp}")
    (port,) = struct.unpack("!H", recv_exactly(sock, 2))
    return rep, addr, port


def exchange(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(payload)
    sock.shutdown(socket.SHUT_WR)
    digest = hashlib.sha256()
    total = 0
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        digest.update(chunk)
        total += len(chunk)
    say("RECEIVED", total, digest.hexdigest())


def run_bind(args, payload: bytes) -> int:
    with socket.create_connection((args.proxy, args.proxy_port), timeout=args.timeout) as sock:
        sock.sendall(b"\x05\x01\x00" + b"\x05\x02\x00" + encode_address(args.peer, args.peer_port))
        if recv_exactly(sock, 2) != b"\x05\x00":
            say("ERROR method negotiation refused")
            return 4
        for label in ("BOUND", "PEER"):
            rep, addr, port = read_reply(sock)
            if rep != 0:
                say("REPLY", rep, REPLY_NAMES.get(rep, "unassigned"))
                return 3
            say(label, addr, port)
        exchange(sock, payload)
    return 0


def run_connect(args, payload: bytes) -> int:
    with socket.create_connection((args.host, args.port), timeout=args.timeout) as sock:
        addr, port = sock.getsockname()[:2]
        say("LOCAL", addr, port)
        exchange(sock, payload)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    bind = sub.add_parser("bind")
    bind.add_argument("--proxy", required=True)
    bind.add_argument("--proxy-port", type=int, default=1080)
    bind.add_argument("--peer", required=True)
    bind.add_argument("--peer-port", type=int, default=0)
    connect = sub.add_parser("connect")
    connect.add_argument("--host", required=True)
    connect.add_argument("--port", type=int, required=True)
    for p in (bind, connect):
        p.add_argument("--send", default="")
        p.add_argument("--repeat", type=int, default=1)
        p.add_argument("--timeout", type=float, default=15.0, help="socket timeout in seconds")
    args = parser.parse_args()
    payload = args.send.encode() * args.repeat
    try:
        return run_bind(args, payload) if args.mode == "bind" else run_connect(args, payload)
    except socket.timeout:
        say("ERROR timeout")
        return 4
    except OSError as exc:
        say("ERROR", errno.errorcode.get(exc.errno, str(exc)) if exc.errno else str(exc))
        return 4


if __name__ == "__main__":
    sys.exit(main())
