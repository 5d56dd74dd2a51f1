#!/usr/bin/env python3
"""Deterministic capture of fragmented IPv4/IPv6 traffic, for the defrag tests.

    gen_pcap_fragments.py OUT.pcap [--seed S] [--conversations N]
                          [--manifest M.json]

Each conversation has its own IP address pair (so tshark's IPv4/IPv6
conversation tables, which count every frame, are a per-flow oracle) and is
one of: UDP over IPv4, UDP over IPv6, TCP over IPv4 (an unfragmented SYN,
SYN/ACK, then data segments), ICMP echo over IPv4, ICMPv6 echo. Its datagrams,
both ways, are 60..6000 bytes; those larger than the MTU (1500) are
fragmented (IPv4: 1480-byte pieces; IPv6: 1448 with a Fragment header) and
their fragments are written in random order, most of the time interleaved
with other conversations' packets. A few datagrams lose one fragment (the
first one, or another): the probe must still count every frame that is
there. The capture spans about 120 s, so lost datagrams time out (30 s).

The manifest lists each conversation: family, kind, endpoints, ports, the
frames and bytes each way, how many datagrams were fragmented, how many lost
a fragment and whether one of them lost its first fragment.
Standard library only; checksums are left zero (nothing here checks them).
"""

import argparse
import json
import random
import struct

MTU = 1500
ETH_SRC = bytes.fromhex('020000000001')
ETH_DST = bytes.fromhex('020000000002')


def ether(ether_type, reverse):
    dst, src = (ETH_SRC, ETH_DST) if reverse else (ETH_DST, ETH_SRC)
    return dst + src + struct.pack('!H', ether_type)


def ipv4_header(src, dst, proto, ident, offset, more, payload_len):
    flags = (0x2000 if more else 0) | (offset // 8)
    return struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + payload_len, ident,
                       flags, 64, proto, 0, src, dst)


def ipv6_header(src, dst, next_header, payload_len):
    return struct.pack('!IHBB16s16s', 6 << 28, payload_len, next_header, 64,
                       src, dst)


def l4_payload(kind, family, sport, dport, size, rng, tcp_flags=0x18,
               icmp_type=None):
    """The datagram's payload (L4 header + data) of `size` bytes in all."""
    if kind == 'udp':
        return struct.pack('!HHHH', sport, dport, size, 0) + \
            bytes(rng.randrange(256) for _ in range(size - 8))
    if kind == 'tcp':
        return struct.pack('!HHIIBBHHH', sport, dport, 1000, 1, 0x50,
                           tcp_flags, 65535, 0, 0) + bytes(size - 20)
    # ICMP echo: the identifier is the conversation's port.
    return struct.pack('!BBHHH', icmp_type, 0, 0, sport, 1) + \
        bytes(size - 8)


def frames_of(conv, payload, reverse, rng):
    """Frames of one datagram (fragmented when too big), datagram order."""
    src, dst = (conv['b'], conv['a']) if reverse else (conv['a'], conv['b'])
    if conv['family'] == 4:
        proto = {'udp': 17, 'tcp': 6, 'icmp': 1}[conv['kind']]
        ident = rng.randrange(65536)
        if 20 + len(payload) <= MTU:
            return [ether(0x0800, reverse) +
                    ipv4_header(src, dst, proto, ident, 0, False,
                                len(payload)) + payload]
        piece, out = MTU - 20, []
        for off in range(0, len(payload), piece):
            chunk = payload[off:off + piece]
            more = off + piece < len(payload)
            out.append(ether(0x0800, reverse) +
                       ipv4_header(src, dst, proto, ident, off, more,
                                   len(chunk)) + chunk)
        return out
    next_header = {'udp': 17, 'tcp': 6, 'icmp': 58}[conv['kind']]
    if 40 + len(payload) <= MTU:
        return [ether(0x86DD, reverse) +
                ipv6_header(src, dst, next_header, len(payload)) + payload]
    ident = rng.randrange(1 << 32)
    piece, out = (MTU - 48) // 8 * 8, []  # all but the last a multiple of 8
    for off in range(0, len(payload), piece):
        chunk = payload[off:off + piece]
        more = off + piece < len(payload)
        frag = struct.pack('!BBHI', next_header, 0, off | (1 if more else 0),
                           ident)
        out.append(ether(0x86DD, reverse) +
                   ipv6_header(src, dst, 44, 8 + len(chunk)) + frag + chunk)
    return out


def make_conversations(rng, count):
    convs = []
    kinds = [(4, 'udp'), (6, 'udp'), (4, 'tcp'), (4, 'icmp'), (6, 'icmp')]
    for i in range(count):
        family, kind = kinds[i % len(kinds)]
        if family == 4:
            a = bytes([10, 1, i >> 8, i & 0xFF])
            b = bytes([10, 2, i >> 8, i & 0xFF])
        else:
            a = bytes.fromhex('fd000000000000000000000000010000') [:14] + \
                struct.pack('!H', i)
            b = bytes.fromhex('fd000000000000000000000000020000')[:14] + \
                struct.pack('!H', i)
        convs.append({'family': family, 'kind': kind, 'a': a, 'b': b,
                      'sport': 30000 + i, 'dport': 40000 + (i % 1000)})
    return convs


def conversation_packets(conv, rng, start):
    """[(time, frame)] of one conversation, and its manifest row."""
    row = {'family': conv['family'], 'kind': conv['kind'],
           'client_ip': _ip_text(conv['a']), 'server_ip': _ip_text(conv['b']),
           'client_port': conv['sport'],
           'server_port': conv['dport'] if conv['kind'] != 'icmp' else 0,
           'frames_ab': 0, 'bytes_ab': 0, 'frames_ba': 0, 'bytes_ba': 0,
           'fragmented': 0, 'lost': 0, 'lost_first': 0}
    out, t = [], start
    datagrams = []
    if conv['kind'] == 'tcp':
        datagrams.append((False, l4_payload('tcp', 4, conv['sport'],
                                            conv['dport'], 20, rng, 0x02)))
        datagrams.append((True, l4_payload('tcp', 4, conv['dport'],
                                           conv['sport'], 20, rng, 0x12)))
    for k in range(rng.randrange(2, 7)):
        reverse = k % 2 == 1
        size = rng.choice([rng.randrange(60, 1400),
                           rng.randrange(1500, 6000)])
        sport, dport = conv['sport'], conv['dport']
        if reverse:
            sport, dport = dport, sport
        if conv['kind'] == 'icmp':
            icmp_type = (0 if reverse else 8) if conv['family'] == 4 else \
                (129 if reverse else 128)
            payload = l4_payload('icmp', conv['family'], conv['sport'], 0,
                                 size, rng, icmp_type=icmp_type)
        else:
            payload = l4_payload(conv['kind'], conv['family'], sport, dport,
                                 size, rng)
        datagrams.append((reverse, payload))
    for reverse, payload in datagrams:
        frames = frames_of(conv, payload, reverse, rng)
        if len(frames) > 1:
            row['fragmented'] += 1
            order = list(range(len(frames)))
            if rng.random() < 0.7:
                rng.shuffle(order)
            if rng.random() < 0.05:
                lost = rng.randrange(len(frames))
                order.remove(lost)
                row['lost'] += 1
                row['lost_first'] += lost == 0
            frames = [frames[i] for i in order]
        for frame in frames:
            t += rng.randrange(10, 2000) * 1e-6
            out.append((t, frame))
            side = 'ba' if reverse else 'ab'
            row['frames_' + side] += 1
            row['bytes_' + side] += len(frame)
        t += rng.randrange(1, 500) * 1e-3
    return out, row


def _ip_text(raw):
    if len(raw) == 4:
        return '.'.join(str(x) for x in raw)
    import ipaddress
    return str(ipaddress.IPv6Address(raw))


def write_pcap(path, packets):
    with open(path, 'wb') as handle:
        handle.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535,
                                 1))
        for t, frame in packets:
            sec = int(t)
            usec = int(round((t - sec) * 1e6))
            if usec >= 1000000:
                sec, usec = sec + 1, usec - 1000000
            handle.write(struct.pack('<IIII', sec, usec, len(frame),
                                     len(frame)))
            handle.write(frame)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out')
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--conversations', type=int, default=400)
    parser.add_argument('--manifest')
    args = parser.parse_args()
    rng = random.Random(args.seed)
    packets, rows = [], []
    base = 1_700_000_000.0
    for conv in make_conversations(rng, args.conversations):
        start = base + rng.random() * 110.0
        pkts, row = conversation_packets(conv, rng, start)
        packets.extend(pkts)
        rows.append(row)
    # Interleave everything by time; ties keep generation order.
    packets.sort(key=lambda p: p[0])
    write_pcap(args.out, packets)
    if args.manifest:
        with open(args.manifest, 'w', encoding='utf-8') as handle:
            json.dump({'packets': len(packets), 'conversations': rows},
                      handle, indent=1)


if __name__ == '__main__':
    main()
