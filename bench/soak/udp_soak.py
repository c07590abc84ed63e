#!/usr/bin/python3
"""UDP ASSOCIATE sessions for the soak (bench/soak/run.sh): holds N associations through a SOCKS5 gateway.

  udp_soak.py --proxy HOST:PORT --count N [--interval S] [--size BYTES] [--duration S]

Each association sends a numbered datagram of --size bytes every --interval seconds to a UDP echo socket of
this same process (127.0.0.1, an ephemeral port) through the gateway's relay, and reads the echo back. An
association whose control connection closes, or that has had no echo for 10 s, is closed and opened again,
so the count stays at N. One JSON status line every 10 s on stdout (open associations, datagrams sent and
echoed, re-opens); ends on SIGTERM/SIGINT or after --duration. The SOCKS side is the integration tests' client
(tests/integration/peers/socks5_udp_client.py).
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../tests/integration/peers"))
from socks5_udp_client import Association, decapsulate  # noqa: E402

SILENCE_S = 10.0
STATUS_EVERY_S = 10.0


class Slot:
    def __init__(self) -> None:
        self.assoc: Association | None = None
        self.last_echo = 0.0
        self.next_send = 0.0
        self.seq = 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proxy", required=True)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--size", type=int, default=200)
    parser.add_argument("--duration", type=float, default=3600.0)
    args = parser.parse_args()

    stop = False

    def on_signal(signum, frame) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    echo = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    echo.bind(("127.0.0.1", 0))
    echo.setblocking(False)
    target_host, target_port = echo.getsockname()
    sel = selectors.DefaultSelector()
    sel.register(echo, selectors.EVENT_READ, ("echo", None))

    slots = [Slot() for _ in range(args.count)]
    counters = {"opened": 0, "open_failed": 0, "reopened": 0, "sent": 0, "echoed": 0, "closed_by_gateway": 0,
                "silent": 0}
    started = time.monotonic()
    end = started + args.duration

    def close(slot: Slot) -> None:
        if slot.assoc is None:
            return
        for sock in (slot.assoc.udp, slot.assoc.control):
            try:
                sel.unregister(sock)
            except (KeyError, ValueError):
                pass
        slot.assoc.close()
        slot.assoc = None

    def open_slot(i: int, slot: Slot, now: float) -> None:
        try:
            assoc = Association(args.proxy, timeout=10.0)
        except (OSError, ConnectionError) as e:
            counters["open_failed"] += 1
            print(json.dumps({"mode": "udp-open-failed", "slot": i, "error": str(e)}), flush=True)
            slot.next_send = now + 1.0  # try again in a second
            return
        assoc.udp.setblocking(False)
        assoc.control.setblocking(False)
        sel.register(assoc.udp, selectors.EVENT_READ, ("udp", i))
        sel.register(assoc.control, selectors.EVENT_READ, ("control", i))
        if slot.seq:
            counters["reopened"] += 1
        counters["opened"] += 1
        slot.assoc = assoc
        slot.last_echo = now
        # Spread the sends over the interval.
        slot.next_send = now + args.interval * i / max(1, len(slots))

    for i, slot in enumerate(slots):
        open_slot(i, slot, time.monotonic())
        slot.seq = max(slot.seq, 1)

    next_status = time.monotonic()
    payload_pad = b"p" * max(0, args.size - 16)
    while not stop and time.monotonic() < end:
        now = time.monotonic()
        if now >= next_status:
            open_count = sum(1 for s in slots if s.assoc is not None)
            print(json.dumps({"mode": "udp-status", "seconds": round(now - started), "open": open_count,
                              **counters}), flush=True)
            next_status = now + STATUS_EVERY_S
        wake = next_status
        for i, slot in enumerate(slots):
            if slot.assoc is None:
                if now >= slot.next_send:
                    open_slot(i, slot, now)
                wake = min(wake, slot.next_send)
                continue
            if now - slot.last_echo > SILENCE_S:
                counters["silent"] += 1
                close(slot)
                slot.next_send = now
                continue
            if now >= slot.next_send:
                data = f"{i}:{slot.seq}:".encode().ljust(16, b".") + payload_pad
                slot.seq += 1
                try:
                    slot.assoc.send(target_host, target_port, data)
                    counters["sent"] += 1
                except OSError:
                    pass
                slot.next_send = now + args.interval
            wake = min(wake, slot.next_send)
        for key, _ in sel.select(max(0.0, min(wake, end) - time.monotonic())):
            kind, i = key.data
            if kind == "echo":
                try:
                    data, source = echo.recvfrom(70000)
                    echo.sendto(data, source)
                except OSError:
                    pass
            elif kind == "udp":
                slot = slots[i]
                if slot.assoc is None:
                    continue
                try:
                    datagram, _ = slot.assoc.udp.recvfrom(70000)
                    decapsulate(datagram)
                except (OSError, ValueError):
                    continue
                counters["echoed"] += 1
                slot.last_echo = time.monotonic()
            else:  # the control connection: the gateway never sends on it, so this is its close
                slot = slots[i]
                try:
                    data = slot.assoc.control.recv(64) if slot.assoc else b"x"
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    counters["closed_by_gateway"] += 1
                    close(slot)
                    slot.next_send = time.monotonic()
    for slot in slots:
        close(slot)
    print(json.dumps({"mode": "udp-done", "seconds": round(time.monotonic() - started), **counters}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
