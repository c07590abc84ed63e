#!/usr/bin/python3
"""An HTTP origin whose answers never end: `trickle_http.py ADDRESS PORT`.

Every connection gets a 200 with a huge Content-Length and then 1 KiB every 20 ms, so a download through the
gateway stays a live session for as long as a test needs, its client's buffers stay empty, and the end of the
session shows at once (a cut download fails). Standard library only.
"""

import socket
import sys
import threading
import time


def serve(conn: socket.socket) -> None:
    with conn:
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n")
        try:
            while True:
                conn.sendall(b"z" * 1024)
                time.sleep(0.02)
        except OSError:
            pass


def main() -> None:
    listener = socket.create_server((sys.argv[1], int(sys.argv[2])), family=socket.AF_INET6 if ":" in sys.argv[1]
                                    else socket.AF_INET)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
