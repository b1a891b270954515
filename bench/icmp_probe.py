#!/usr/bin/python3
"""Runs inside the sandbox's internet host for bench/l3_bench.py. For each line "IP" on
stdin: prints "started", then sends an ICMP echo to IP every millisecond until one is
answered (prints "reply <CLOCK_MONOTONIC seconds>") or 5 s pass (prints "timeout")."""
import os
import select
import socket
import struct
import sys
import time


def checksum(data):
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    return ~(s + (s >> 16)) & 0xFFFF


def probe(sock, ip, ident):
    print("started", flush=True)
    deadline = time.monotonic() + 5
    seq = 0
    while time.monotonic() < deadline:
        seq = (seq + 1) & 0xFFFF
        header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
        sock.sendto(struct.pack("!BBHHH", 8, 0, checksum(header), ident, seq), (ip, 0))
        ready, _, _ = select.select([sock], [], [], 0.001)
        while ready:
            packet, addr = sock.recvfrom(2048)
            now = time.monotonic()
            icmp = packet[(packet[0] & 0x0F) * 4:]
            if addr[0] == ip and icmp[0] == 0 and struct.unpack("!H", icmp[4:6])[0] == ident:
                print(f"reply {now:.6f}", flush=True)
                return
            ready, _, _ = select.select([sock], [], [], 0)
    print("timeout", flush=True)


def main():
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    ident = os.getpid() & 0xFFFF
    for line in sys.stdin:
        if line.strip():
            probe(sock, line.strip(), ident)


if __name__ == "__main__":
    main()
