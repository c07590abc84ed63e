#!/usr/bin/python3
"""SOCKS5 UDP ASSOCIATE client (RFC 1928 sections 4, 6, 7) and UDP echo server for the integration tests.

Python standard library only. Subcommands:

  echo     --bind ADDR --port P
           UDP echo server: prints READY, then one `RECV <source> <len> <payload>` line per datagram.
  exchange --proxy HOST:PORT --target HOST:PORT [--count N] [--size BYTES] [--timeout S]
           One association: sends N datagrams to the target through the relay, waits for their echoes,
           prints a JSON summary (relay, own TCP and UDP endpoints, counts, reply origins) and exits 0 when every echo came back intact from the target.
  hold     --proxy HOST:PORT --target HOST:PORT [--interval S] [--duration S]
           Keeps one association open, sending a numbered tick every interval. Prints
           `READY bnd=<relay> control=<own TCP endpoint> local=<own UDP endpoint>` after the first echo, then `ECHO <payload>` per echo
           and `UNEXPECTED <source> <payload>` for anything else; ends on SIGTERM or after the duration.
  inject   --relay HOST:PORT --target HOST:PORT --payload TEXT [--wait S]
           Without any association: sends a SOCKS UDP datagram straight at a relay socket (as another
           program on the client host, or another host, would) and prints `GOT <payload>` or `NOTHING`.

HOST:PORT takes [IPv6]:PORT for IPv6 literals. A target that is not an IP literal is sent as a DOMAINNAME,
so the gateway resolves it.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import select
import signal
import socket
import struct
import sys
import time

ATYP_IPV4, ATYP_DOMAIN, ATYP_IPV6 = 1, 3, 4
CMD_UDP_ASSOCIATE = 3


def split_host_port(text: str) -> tuple[str, int]:
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest.lstrip(":"))
    host, _, port = text.rpartition(":")
    return host, int(port)


def join_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def encode_address(host: str, port: int) -> bytes:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        name = host.encode()
        return bytes([ATYP_DOMAIN, len(name)]) + name + struct.pack("!H", port)
    atyp = ATYP_IPV4 if ip.version == 4 else ATYP_IPV6
    return bytes([atyp]) + ip.packed + struct.pack("!H", port)


def decode_address(data: bytes, offset: int) -> tuple[str, int, int]:
    """(host, port, next offset); raises ValueError on a malformed address."""
    atyp = data[offset]
    if atyp == ATYP_IPV4:
        end = offset + 1 + 4
        host = str(ipaddress.IPv4Address(data[offset + 1:end]))
    elif atyp == ATYP_IPV6:
        end = offset + 1 + 16
        host = str(ipaddress.IPv6Address(data[offset + 1:end]))
    elif atyp == ATYP_DOMAIN:
        end = offset + 2 + data[offset + 1]
        host = data[offset + 2:end].decode(errors="replace")
    else:
        raise ValueError(f"unknown ATYP {atyp}")
    if len(data) < end + 2:
        raise ValueError("truncated address")
    return host, struct.unpack("!H", data[end:end + 2])[0], end + 2


def encapsulate(host: str, port: int, payload: bytes, frag: int = 0) -> bytes:
    return b"\x00\x00" + bytes([frag]) + encode_address(host, port) + payload


def decapsulate(datagram: bytes) -> tuple[str, int, bytes]:
    if len(datagram) < 4 or datagram[0:2] != b"\x00\x00":
        raise ValueError("bad SOCKS UDP header")
    if datagram[2] != 0:
        raise ValueError("fragment")
    host, port, offset = decode_address(datagram, 3)
    return host, port, datagram[offset:]


def recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("proxy closed the control connection")
        data += chunk
    return data


class Association:
    """The TCP control connection and the UDP socket of one UDP ASSOCIATE."""

    def __init__(self, proxy: str, timeout: float = 10.0):
        host, port = split_host_port(proxy)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.control = socket.create_connection((host, port), timeout=timeout)
        self.udp = socket.socket(family, socket.SOCK_DGRAM)
        # The UDP socket goes on the address the control connection uses: the one the gateway will accept.
        self.udp.bind((self.control.getsockname()[0], 0))
        self.control.sendall(b"\x05\x01\x00")
        if recv_exact(self.control, 2) != b"\x05\x00":
            raise ConnectionError("proxy refused the 'no authentication' method")
        # DST.ADDR/DST.PORT: all zeros, the relay learns our port from the first datagram.
        zero = "::" if family == socket.AF_INET6 else "0.0.0.0"
        self.control.sendall(b"\x05" + bytes([CMD_UDP_ASSOCIATE, 0]) + encode_address(zero, 0))
        head = recv_exact(self.control, 4)
        if head[0] != 5 or head[1] != 0:
            raise ConnectionError(f"UDP ASSOCIATE refused, REP={head[1]}")
        if head[3] == ATYP_IPV4:
            rest = recv_exact(self.control, 6)
        elif head[3] == ATYP_IPV6:
            rest = recv_exact(self.control, 18)
        else:
            n = recv_exact(self.control, 1)
            rest = n + recv_exact(self.control, n[0] + 2)
        bnd_host, bnd_port, _ = decode_address(head[3:4] + rest, 0)
        self.relay = (bnd_host, bnd_port)

    def send(self, host: str, port: int, payload: bytes) -> None:
        self.udp.sendto(encapsulate(host, port, payload), self.relay)

    def receive(self, timeout: float) -> tuple[tuple[str, int] | None, bytes | None, tuple]:
        """((host, port) from the header, payload, UDP source); (None, None, ()) on timeout."""
        ready, _, _ = select.select([self.udp], [], [], timeout)
        if not ready:
            return None, None, ()
        datagram, source = self.udp.recvfrom(70000)
        try:
            host, port, payload = decapsulate(datagram)
        except ValueError:
            return ("?", 0), datagram, source
        return (host, port), payload, source

    def close(self) -> None:
        self.udp.close()
        self.control.close()


def cmd_echo(args) -> int:
    family = socket.AF_INET6 if ":" in args.bind else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.bind((args.bind, args.port))
    print("READY", flush=True)
    while True:
        data, source = sock.recvfrom(70000)
        print(f"RECV {join_host_port(source[0], source[1])} {len(data)} {data[:64]!r}", flush=True)
        sock.sendto(data, source)


def cmd_exchange(args) -> int:
    host, port = split_host_port(args.target)
    assoc = Association(args.proxy)
    sent: dict[bytes, bool] = {}
    summary = {"bnd": join_host_port(*assoc.relay), "control": join_host_port(*assoc.control.getsockname()[:2]),
               "local": join_host_port(*assoc.udp.getsockname()[:2]),
               "sent": 0, "received": 0, "matched": 0, "reply_from": [], "relay_source": []}
    for i in range(args.count):
        tag = f"dgram-{i}-".encode()
        payload = (tag * (args.size // len(tag) + 1))[:max(args.size, len(tag))]
        sent[payload] = False
        assoc.send(host, port, payload)
        summary["sent"] += 1
        # Lock-step: each echo before the next datagram, so a lost datagram is not hidden by a full buffer.
        deadline = time.monotonic() + args.timeout
        while not sent[payload] and time.monotonic() < deadline:
            origin, data, source = assoc.receive(deadline - time.monotonic())
            if data is None:
                break
            summary["received"] += 1
            if origin is not None and join_host_port(*origin) not in summary["reply_from"]:
                summary["reply_from"].append(join_host_port(*origin))
            if source and join_host_port(*source[:2]) not in summary["relay_source"]:
                summary["relay_source"].append(join_host_port(*source[:2]))
            if data in sent and not sent[data]:
                sent[data] = True
                summary["matched"] += 1
    assoc.close()
    print(json.dumps(summary), flush=True)
    return 0 if summary["matched"] == args.count else 1


def cmd_hold(args) -> int:
    host, port = split_host_port(args.target)
    assoc = Association(args.proxy)
    stop = False

    def on_term(signum, frame):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    assoc.send(host, port, b"tick-0")
    origin, data, _ = assoc.receive(5.0)
    if data != b"tick-0":
        print(f"FAILED first echo: {data!r}", flush=True)
        return 1
    print(f"READY bnd={join_host_port(*assoc.relay)} control={join_host_port(*assoc.control.getsockname()[:2])} "
          f"local={join_host_port(*assoc.udp.getsockname()[:2])}", flush=True)
    print("ECHO tick-0", flush=True)
    n = 1
    next_tick = time.monotonic() + args.interval
    end = time.monotonic() + args.duration
    while not stop and time.monotonic() < end:
        now = time.monotonic()
        if now >= next_tick:
            assoc.send(host, port, f"tick-{n}".encode())
            n += 1
            next_tick = now + args.interval
        origin, data, source = assoc.receive(max(0.0, min(next_tick, end) - time.monotonic()))
        if data is None:
            continue
        if data.startswith(b"tick-"):
            print(f"ECHO {data.decode()}", flush=True)
        else:
            print(f"UNEXPECTED {origin} {data[:64]!r}", flush=True)
    assoc.close()
    print("DONE", flush=True)
    return 0


def cmd_inject(args) -> int:
    relay_host, relay_port = split_host_port(args.relay)
    host, port = split_host_port(args.target)
    family = socket.AF_INET6 if ":" in relay_host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.sendto(encapsulate(host, port, args.payload.encode()), (relay_host, relay_port))
    ready, _, _ = select.select([sock], [], [], args.wait)
    if ready:
        data, _ = sock.recvfrom(70000)
        print(f"GOT {data!r}", flush=True)
    else:
        print("NOTHING", flush=True)
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("echo")
    p.add_argument("--bind", required=True)
    p.add_argument("--port", type=int, required=True)
    p = sub.add_parser("exchange")
    p.add_argument("--proxy", required=True)
    p.add_argument("--target", required=True)
    p.add_argument("--count", type=int, default=10)
    p.add_argument("--size", type=int, default=100)
    p.add_argument("--timeout", type=float, default=3.0)
    p = sub.add_parser("hold")
    p.add_argument("--proxy", required=True)
    p.add_argument("--target", required=True)
    p.add_argument("--interval", type=float, default=0.2)
    p.add_argument("--duration", type=float, default=20.0)
    p = sub.add_parser("inject")
    p.add_argument("--relay", required=True)
    p.add_argument("--target", required=True)
    p.add_argument("--payload", required=True)
    p.add_argument("--wait", type=float, default=1.0)
    args = parser.parse_args(argv[1:])
    return {"echo": cmd_echo, "exchange": cmd_exchange, "hold": cmd_hold, "inject": cmd_inject}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
