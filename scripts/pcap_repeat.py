#!/usr/bin/env python3
"""Write a large pcap by repeating a capture N times, each copy later in time.

    scripts/pcap_repeat.py IN.pcap OUT.pcap COUNT

Each copy is shifted by the input's duration plus one second, so the file's
clock keeps moving forward. Used by scripts/bench_pcap.sh to make a
>= 10M-packet file from the synthetic capture.
"""
import struct
import sys


def main(src, dst, count):
    data = open(src, 'rb').read()
    header, body = data[:24], data[24:]
    recs = []
    off = 0
    while off + 16 <= len(body):
        sec, usec, caplen, wire = struct.unpack_from('<IIII', body, off)
        recs.append((sec, usec, body[off + 16:off + 16 + caplen], caplen, wire))
        off += 16 + caplen
    span = recs[-1][0] - recs[0][0] + 1
    with open(dst, 'wb') as out:
        out.write(header)
        for k in range(count):
            shift = k * span
            chunk = bytearray()
            for sec, usec, frame, caplen, wire in recs:
                chunk += struct.pack('<IIII', sec + shift, usec, caplen, wire)
                chunk += frame
            out.write(chunk)
    print('%s: %d packets' % (dst, len(recs) * count))


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
