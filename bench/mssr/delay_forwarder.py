"""A user-space one-way delay for UDP (this kernel has no netem): listens on LISTEN_ADDR:PORT, forwards every
datagram to TARGET_ADDR:PORT from a socket bound to OUT_ADDR, and sends what comes back to the last sender,
each datagram held DELAY_MS in either direction. Runs until SIGTERM; prints READY once bound.

With JITTER_MS each datagram is held DELAY_MS plus a uniform random 0 to JITTER_MS more, drawn on its own,
so datagrams sent closer together than that overtake one another (jitter and reordering, as netem's
delay with jitter and no rate does).

    python3 delay_forwarder.py LISTEN_ADDR PORT OUT_ADDR TARGET_ADDR DELAY_MS [JITTER_MS]
"""

import heapq
import random
import select
import signal
import socket
import sys
import time


def main() -> None:
    listen_addr, port, out_addr, target_addr, delay_ms = sys.argv[1:6]
    delay = float(delay_ms) / 1000.0
    jitter = float(sys.argv[6]) / 1000.0 if len(sys.argv) > 6 else 0.0
    near = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    far = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for s in (near, far):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    near.bind((listen_addr, int(port)))
    far.bind((out_addr, 0))
    target = (target_addr, int(port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("READY", flush=True)
    client = None
    queue: list = []
    seq = 0
    while True:
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, sock, data, to = heapq.heappop(queue)
            try:
                sock.sendto(data, to)
            except OSError:
                pass
        timeout = max(0.0, queue[0][0] - now) if queue else 1.0
        readable, _, _ = select.select([near, far], [], [], timeout)
        now = time.monotonic()
        for s in readable:
            data, addr = s.recvfrom(65536)
            if s is near:
                client = addr
                heapq.heappush(queue, (now + delay + random.uniform(0.0, jitter), seq, far, data, target))
            elif client is not None:
                heapq.heappush(queue, (now + delay + random.uniform(0.0, jitter), seq, near, data, client))
            seq += 1


if __name__ == "__main__":
    main()
