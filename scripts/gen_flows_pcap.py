#!/usr/bin/env python3
"""Writes a pcap of many distinct, never-closing flows, fast (struct only).

    gen_flows_pcap.py OUT.pcap --flows N [--replies] [--icmp M] [--rounds K]

Flow i is UDP 10.x.y.z:1024 -> 192.168.0.1:4000 (x.y.z = i + 1, so up to 16M
flows; port 4000 has no application decoder), one frame each, plus the reply
192.168.0.1:4000 -> 10.x.y.z:1024 with --replies (still one flow: the probe keys both directions together).
--icmp M adds M ICMP echo request/reply pairs 172.16.x.y -> 192.168.0.2.
--rounds K (K > 1) sends K frames per UDP flow instead: the flows take turns,
one frame each per round (replies in odd rounds with --replies), so that all
N flows are in the table at once and a 1M-flow capture can have 10M frames.

UDP and ICMP only, and no flow ever ends (no FIN/RST), so a capture replayed
forever (net_pcap infinite_rx=1) keeps exactly the same set of flows in the
table. Checksums are left at zero: the probe does not check them, and leaving
them out keeps 1M flows at a few seconds of Python.
"""

import argparse
import struct
import sys

ETH = bytes.fromhex('020000000001' '020000000002' '0800')  # dst, src MAC, IPv4
ETH_BACK = bytes.fromhex('020000000002' '020000000001' '0800')
SERVER = bytes([192, 168, 0, 1])
PINGED = bytes([192, 168, 0, 2])
PAYLOAD = b'\x00' * 18  # 14 + 20 + 8 + 18 = 60-byte frames (minimum without FCS)


def ipv4(src, dst, proto, payload_len):
    """An IPv4 header without options (checksum 0, see the module doc)."""
    return struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + payload_len, 0, 0x4000, 64, proto, 0,
                       src, dst)


def udp_frame(src, sport, dst, dport, forward):
    head = ETH if forward else ETH_BACK
    return (head + ipv4(src, dst, 17, 8 + len(PAYLOAD))
            + struct.pack('!HHHH', sport, dport, 8 + len(PAYLOAD), 0) + PAYLOAD)


def icmp_frame(src, dst, ident, request):
    head = ETH if request else ETH_BACK
    return (head + ipv4(src, dst, 1, 8 + len(PAYLOAD))
            + struct.pack('!BBHHH', 8 if request else 0, 0, 0, ident, 1) + PAYLOAD)


def write_rounds(out, flows, replies, rounds, rec):
    """K frames per flow, the flows taking turns; returns the number of frames."""
    forward = [udp_frame((0x0a000000 + i + 1).to_bytes(4, 'big'), 1024, SERVER, 4000, True)
               for i in range(flows)]
    back = ([udp_frame(SERVER, 4000, (0x0a000000 + i + 1).to_bytes(4, 'big'), 1024, False)
             for i in range(flows)] if replies else forward)
    frames = 0
    for r in range(rounds):
        frame_list = back if (replies and r % 2 == 1) else forward
        chunk = []
        for frame in frame_list:
            chunk.append(rec.pack(1700000000 + frames // 1000000, frames % 1000000,
                                  len(frame), len(frame)))
            chunk.append(frame)
            frames += 1
            if len(chunk) >= 65536:
                out.write(b''.join(chunk))
                chunk = []
        out.write(b''.join(chunk))
    return frames


def write(path, flows, replies=False, icmp=0, rounds=1):
    """Writes the capture; returns the number of frames."""
    if flows >= 1 << 24 or icmp >= 1 << 16:
        raise ValueError('too many flows for the address plan')
    frames = 0
    rec = struct.Struct('<IIII')
    with open(path, 'wb') as out:
        out.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        chunk = []
        if rounds > 1:
            frames = write_rounds(out, flows, replies, rounds, rec)
            flows = 0
        for i in range(flows):
            client = (0x0a000000 + i + 1).to_bytes(4, 'big')
            pkts = [udp_frame(client, 1024, SERVER, 4000, True)]
            if replies:
                pkts.append(udp_frame(SERVER, 4000, client, 1024, False))
            for frame in pkts:
                # Timestamps only order the frames: a live (--eal) probe uses its own clock.
                chunk.append(rec.pack(1700000000 + frames // 1000000, frames % 1000000,
                                      len(frame), len(frame)))
                chunk.append(frame)
                frames += 1
            if len(chunk) >= 65536:
                out.write(b''.join(chunk))
                chunk = []
        for i in range(icmp):
            client = bytes([172, 16, (i + 1) >> 8, (i + 1) & 0xff])
            for frame in (icmp_frame(client, PINGED, i + 1, True),
                          icmp_frame(PINGED, client, i + 1, False)):
                chunk.append(rec.pack(1700000000 + frames // 1000000, frames % 1000000,
                                      len(frame), len(frame)))
                chunk.append(frame)
                frames += 1
        out.write(b''.join(chunk))
    return frames


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('output')
    parser.add_argument('--flows', type=int, required=True, help='UDP flows')
    parser.add_argument('--replies', action='store_true', help='a reply frame per UDP flow')
    parser.add_argument('--icmp', type=int, default=0, help='ICMP echo flows')
    parser.add_argument('--rounds', type=int, default=1,
                        help='frames per UDP flow, the flows taking turns')
    args = parser.parse_args(argv)
    frames = write(args.output, args.flows, args.replies, args.icmp, args.rounds)
    print('%s: %d flows, %d frames' % (args.output, args.flows + args.icmp, frames),
          file=sys.stderr)


if __name__ == '__main__':
    main()
