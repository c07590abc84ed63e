"""A user-space one-way delay for every IP packet a router forwards (this kernel has no netem, no sch_fq for
an eBPF departure time, and no ethtool to turn veth offloads off for an AF_PACKET bridge): creates the TUN
device NAME (IFF_TUN | IFF_NO_PI: plain IPv4 packets) and writes back every packet read from it DELAY_MS later.
The kernel segments and checksums what it hands to a TUN without offloads, so each packet is a complete IP
packet, TCP included. The router's policy routing sends forwarded traffic into NAME and what comes back out
of it to the real interfaces (tcp_friendly.py sets that up). Runs until SIGTERM; prints READY once created.

    python3 tun_delay.py NAME DELAY_MS
"""

import fcntl
import heapq
import os
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def main() -> None:
    name, delay_ms = sys.argv[1], float(sys.argv[2])
    delay = delay_ms / 1000.0
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("READY", flush=True)
    queue: list = []
    seq = 0
    while True:
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, data = heapq.heappop(queue)
            try:
                os.write(fd, data)
            except OSError:
                pass
        timeout = max(0.0, queue[0][0] - now) if queue else 1.0
        readable, _, _ = select.select([fd], [], [], timeout)
        if not readable:
            continue
        now = time.monotonic()
        while True:  # drain what is queued: a TCP burst arrives as tens of packets at once
            try:
                data = os.read(fd, 65536)
            except BlockingIOError:
                break
            heapq.heappush(queue, (now + delay, seq, data))
            seq += 1


if __name__ == "__main__":
    main()
