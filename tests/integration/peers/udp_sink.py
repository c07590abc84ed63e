#!/usr/bin/env python3
"""A UDP sink for the MSSR test and benchmarks: writes every datagram it receives to a file, prints READY once
bound and "datagrams N" at the end. It ends `--linger` seconds after the last datagram, or after `--first`
seconds of nothing at all. With `--arrivals FILE` it also writes [[CLOCK_MONOTONIC seconds, length], ...]
(one clock for every network namespace).

usage: udp_sink.py ADDRESS PORT OUT [--arrivals FILE] [--first S] [--linger S]
"""
import argparse
import json
import socket
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("address")
    parser.add_argument("port", type=int)
    parser.add_argument("out")
    parser.add_argument("--arrivals")
    parser.add_argument("--first", type=float, default=60.0)
    parser.add_argument("--linger", type=float, default=3.0)
    args = parser.parse_args()
    family = socket.AF_INET6 if ":" in args.address else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((args.address, args.port))
    print("READY", flush=True)
    arrivals = []
    with open(args.out, "wb") as out:
        s.settimeout(args.first)
        while True:
            try:
                data = s.recv(65536)
            except socket.timeout:
                break
            arrivals.append((time.monotonic(), len(data)))
            out.write(data)
            s.settimeout(args.linger)
    if args.arrivals:
        with open(args.arrivals, "w") as f:
            json.dump(arrivals, f)
    print("datagrams", len(arrivals), flush=True)


if __name__ == "__main__":
    main()
