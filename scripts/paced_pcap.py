#!/usr/bin/env python3
"""Writes a slow capture for paced replays (--pcap-realtime): UDP frames at a
steady rate over a given time, taking turns among a few flows.

    paced_pcap.py OUT.pcap [--seconds 600] [--rate 50] [--flows 3]

Frame k is stamped k / rate seconds after the first and belongs to flow
k mod flows (10.9.0.<2f+1>:1000+f -> 10.9.0.<2f+2>:2000+f, 100 bytes).
Replayed at its recorded pace, the probe waits about 1 / rate s between frames:
the case where a worker's query used to wait for the replay (BENCHMARKS.md,
"Queries on a paced replay").
"""

import argparse
import struct


def frame(f):
    src = bytes([10, 9, 0, 2 * f + 1])
    dst = bytes([10, 9, 0, 2 * f + 2])
    payload = b'\0' * (100 - 14 - 20 - 8)
    udp = struct.pack('!HHHH', 1000 + f, 2000 + f, 8 + len(payload), 0) + payload
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, src, dst)
    return bytes.fromhex('020000000002' '020000000001' '0800') + ip + udp


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('out')
    ap.add_argument('--seconds', type=int, default=600)
    ap.add_argument('--rate', type=int, default=50, help='frames per second')
    ap.add_argument('--flows', type=int, default=3)
    a = ap.parse_args()
    if a.seconds <= 0 or a.rate <= 0 or not 0 < a.flows <= 100:
        ap.error('--seconds and --rate must be > 0, --flows 1..100')
    frames = [frame(f) for f in range(a.flows)]
    t0 = 1_700_000_000 * 1_000_000  # microseconds
    with open(a.out, 'wb') as out:
        out.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for k in range(a.seconds * a.rate):
            ts = t0 + k * 1_000_000 // a.rate
            data = frames[k % a.flows]
            out.write(struct.pack('<IIII', ts // 1_000_000, ts % 1_000_000, len(data), len(data)))
            out.write(data)


if __name__ == '__main__':
    main()
