#!/usr/bin/env python3
"""Sends one RTSP SETUP with the given Transport header on a fresh connection and prints the reply head: what
a multicast test needs to see a server's Transport answer (or its refusal) without a player's own choices.

usage: rtsp_setup_probe.py HOST PORT URL TRANSPORT
"""
import socket
import sys


def main() -> None:
    host, port, url, transport = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(f"SETUP {url} RTSP/1.0\r\nCSeq: 1\r\nTransport: {transport}\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data and (chunk := s.recv(4096)):
        data += chunk
    print(data.decode())


if __name__ == "__main__":
    main()
