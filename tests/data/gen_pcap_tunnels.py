"""`gen_pcap.py tunnels`: a small capture of tunnelled conversations.

Every tunnel kind skyprobe splits into parent/child flows, each between its
own pair of tunnel endpoints (own MACs, own outer IPs), each carrying three
inner conversations (TCP, UDP, ICMP echo) with their own 5-tuples:

- VXLAN (UDP 4789, two VNIs) and Geneve (UDP 6081): inner Ethernet; the outer
  UDP source port is per-packet entropy (crc32 of the inner 5-tuple);
- GRE with a key (inner IPv4), GRE without key (inner IPv6);
- MPLS stacks of 1 to 4 labels directly over Ethernet and over GRE (with key),
  inner IPv4;
- IPv4-in-IPv4 (protocol 4), IPv6-in-IPv4 (41);
- GTPv1-U G-PDUs (UDP 2152, two TEIDs), inner IPv4.

The client of every inner conversation sits behind tunnel endpoint A, so the
first packet of every tunnel goes A -> B.

The manifest lists the tunnels (outer LayersPath, endpoints, Network.ID and
outer per-direction packets/bytes = frame lengths) and the inner
conversations (tunnel index, endpoints, LayersPath, per-direction packets and
the bytes a Skydive-compatible probe counts in L2 key mode: the rest of the
frame from the inner Ethernet header, or the inner IP length field without
inner Ethernet: IPv4 total length, IPv6 payload length).
"""

import random
import struct
import zlib

import gen_pcap as g

EPOCH_US = 1712000000 * 1000000  # 2024-04-01 19:33:20 UTC
ETH_MPLS = 0x8847
ETH_BRIDGED = 0x6558
IPPROTO_IPIP = 4
IPPROTO_IPV6 = 41
IPPROTO_GRE = 47

# (kind, inner family, tunnel id, MPLS depth)
TUNNELS = (
    ('vxlan', 4, 100, 0), ('vxlan', 6, 200, 0), ('geneve', 4, 300, 0),
    ('gre', 4, 0x1001, 0), ('gre', 6, 0, 0),
    ('mpls', 4, 0, 1), ('mpls', 4, 0, 2), ('mpls', 4, 0, 3), ('mpls', 4, 0, 4),
    ('gre-mpls', 4, 0x2001, 1), ('gre-mpls', 4, 0x2002, 2),
    ('gre-mpls', 4, 0x2003, 3), ('gre-mpls', 4, 0x2004, 4),
    ('ipip', 4, 0, 0), ('6in4', 6, 0, 0),
    ('gtpu', 4, 0x11223344, 0), ('gtpu', 4, 0x55667788, 0),
)

OUTER_PATHS = {
    'vxlan': 'Ethernet/IPv4/UDP/VXLAN', 'geneve': 'Ethernet/IPv4/UDP/Geneve',
    'gre': 'Ethernet/IPv4/GRE', 'mpls': 'Ethernet/MPLS',
    'gre-mpls': 'Ethernet/IPv4/GRE/MPLS', 'ipip': 'Ethernet/IPv4',
    '6in4': 'Ethernet/IPv4', 'gtpu': 'Ethernet/IPv4/UDP/GTPv1U',
}
INNER_ETHERNET = ('vxlan', 'geneve')


class Tunnel:
    """A pair of tunnel endpoints and the conversations it carries."""

    def __init__(self, index, kind, family, tunnel_id, depth):
        self.index, self.kind, self.family = index, kind, family
        self.tunnel_id, self.depth = tunnel_id, depth
        self.a_mac = bytes([0x02, 0x70, 0, 0, index, 0xA])
        self.b_mac = bytes([0x02, 0x70, 0, 0, index, 0xB])
        self.a_ip = bytes([100, 64, index, 1])
        self.b_ip = bytes([100, 64, index, 2])
        self.convs = []

    def inner_conversations(self, rng):
        """One TCP, one UDP and one ICMP conversation with unique endpoints."""
        start = EPOCH_US + self.index * 700000
        for n, kind in enumerate(('tcp', 'udp', 'icmp')):
            if self.family == 4:
                cip = bytes([10, 80 + self.index, n, 1])
                sip = bytes([10, 80 + self.index, n, 2])
            else:
                cip = bytes([0xfd, 0x00, 0x80, self.index] + [0] * 11 + [n * 2 + 1])
                sip = cip[:15] + bytes([n * 2 + 2])
            cmac = bytes([0x02, 0x71, self.index, n, 0, 1])
            smac = bytes([0x02, 0x71, self.index, n, 0, 2])
            conv = g.Conversation(
                kind, cmac, smac, cip, sip,
                client_port=0 if kind == 'icmp' else 30000 + 100 * self.index + n,
                server_port=0 if kind == 'icmp' else rng.choice(
                    g.TCP_SERVER_PORTS if kind == 'tcp' else g.UDP_SERVER_PORTS),
                icmp_id=(1000 + self.index * 10 + n) if kind == 'icmp' else 0)
            conv.size = rng.randint(1, 3)
            conv.close = 'fin' if kind == 'tcp' else ''
            conv.seed = rng.getrandbits(64)
            conv.start_us = start + n * 150000
            g.SCRIPTS[kind](conv)
            self.convs.append(conv)

    # -- encapsulation ------------------------------------------------------

    def entropy_port(self, conv, from_client):
        """VXLAN/Geneve outer source port: a hash of the inner flow."""
        key = conv.client_ip + conv.server_ip + struct.pack(
            '!HH?', conv.client_port, conv.server_port, from_client)
        return 49152 + zlib.crc32(key) % 16384

    def mpls_stack(self):
        out = b''
        for i in range(self.depth):
            label = 1000 + self.index * 10 + i
            bottom = 1 if i == self.depth - 1 else 0
            out += struct.pack('!I', (label << 12) | (bottom << 8) | 64)
        return out

    def gre(self, proto):
        if self.tunnel_id:
            return struct.pack('!HHI', 0x2000, proto, self.tunnel_id)
        return struct.pack('!HH', 0, proto)

    def encapsulate(self, conv, event, inner_frame, rng):
        """Return (outer frame, offset of the inner sub-packet)."""
        src, dst = (self.a_ip, self.b_ip) if event.from_client else (self.b_ip, self.a_ip)
        smac, dmac = (self.a_mac, self.b_mac) if event.from_client else (self.b_mac, self.a_mac)
        ip_packet = inner_ip_packet(inner_frame)
        inner_proto = IPPROTO_IPIP if self.family == 4 else IPPROTO_IPV6
        inner_type = g.ETH_IPV4 if self.family == 4 else g.ETH_IPV6
        ident = rng.getrandbits(16)
        if self.kind in ('vxlan', 'geneve'):
            if self.kind == 'vxlan':
                header = struct.pack('!II', 0x08000000, self.tunnel_id << 8)
                port = 4789
            else:
                header = struct.pack('!HHI', 0, ETH_BRIDGED, self.tunnel_id << 8)
                port = 6081
            payload = g.udp(src, dst, self.entropy_port(conv, event.from_client), port,
                            header + inner_frame)
            outer = g.ipv4(src, dst, g.IPPROTO_UDP, payload, ident)
            return g.ethernet(dmac, smac, g.ETH_IPV4, outer), 14 + 20 + 8 + len(header)
        if self.kind == 'gtpu':
            header = struct.pack('!BBHI', 0x30, 0xFF, len(ip_packet), self.tunnel_id)
            payload = g.udp(src, dst, 2152, 2152, header + ip_packet)
            outer = g.ipv4(src, dst, g.IPPROTO_UDP, payload, ident)
            return g.ethernet(dmac, smac, g.ETH_IPV4, outer), 14 + 20 + 8 + 8
        if self.kind == 'mpls':
            stack = self.mpls_stack()
            return g.ethernet(dmac, smac, ETH_MPLS, stack + ip_packet), 14 + len(stack)
        if self.kind in ('ipip', '6in4'):
            outer = g.ipv4(src, dst, inner_proto, ip_packet, ident)
            return g.ethernet(dmac, smac, g.ETH_IPV4, outer), 14 + 20
        if self.kind == 'gre':
            header = self.gre(inner_type)
        else:  # gre-mpls
            header = self.gre(ETH_MPLS) + self.mpls_stack()
        outer = g.ipv4(src, dst, IPPROTO_GRE, header + ip_packet, ident)
        return g.ethernet(dmac, smac, g.ETH_IPV4, outer), 14 + 20 + len(header)


def inner_ip_packet(frame):
    """The IP packet of an untagged Ethernet frame, without padding."""
    ethertype = struct.unpack('!H', frame[12:14])[0]
    ip = frame[14:]
    if ethertype == g.ETH_IPV4:
        return ip[:struct.unpack('!H', ip[2:4])[0]]
    return ip[:40 + struct.unpack('!H', ip[4:6])[0]]


def inner_length(tunnel, frame, offset):
    """Bytes the inner sub-packet counts (L2 key mode, Skydive's rules)."""
    if tunnel.kind in INNER_ETHERNET:
        return len(frame) - offset
    ip = frame[offset:]
    if ip[0] >> 4 == 4:
        return struct.unpack('!H', ip[2:4])[0]
    return struct.unpack('!H', ip[4:6])[0]


def inner_path(tunnel, conv):
    """LayersPath of the inner flow (named after its first packet)."""
    layers = ['Ethernet'] if tunnel.kind in INNER_ETHERNET else []
    layers.append('IPv4' if conv.family == 4 else 'IPv6')
    if conv.kind == 'icmp':
        layers += ['ICMPv4'] if conv.family == 4 else ['ICMPv6', 'ICMPv6Echo']
    else:
        layers.append(conv.kind.upper())
    return '/'.join(layers)


def tunnels_capture(path, seed=3):
    """Write the capture; return its manifest (see the module docstring)."""
    rng = random.Random(seed)
    tunnels = []
    for index, (kind, family, tunnel_id, depth) in enumerate(TUNNELS, 1):
        tunnel = Tunnel(index, kind, family, tunnel_id, depth)
        tunnel.inner_conversations(rng)
        tunnels.append(tunnel)
    order = sorted((ev.ts_us, ti, ci, ei) for ti, t in enumerate(tunnels)
                   for ci, conv in enumerate(t.convs)
                   for ei, ev in enumerate(conv.events))
    payload_rng = random.Random(seed + 1)
    outer = [[0, 0, 0, 0] for _ in tunnels]
    inner = {(ti, ci): [0, 0, 0, 0] for ti, t in enumerate(tunnels)
             for ci in range(len(t.convs))}
    with open(path, 'wb') as out:
        out.write(struct.pack('<IHHiIII', 0xA1B2C3D4, 2, 4, 0, 0, 65535,
                              g.LINKTYPE_ETHERNET))
        for ts_us, ti, ci, ei in order:
            tunnel, conv = tunnels[ti], tunnels[ti].convs[ci]
            event = conv.events[ei]
            frame, offset = tunnel.encapsulate(
                conv, event, g.build_frame(conv, event, payload_rng), payload_rng)
            out.write(struct.pack('<IIII', ts_us // 1000000, ts_us % 1000000,
                                  len(frame), len(frame)) + frame)
            slot = 0 if event.from_client else 2
            outer[ti][slot] += 1
            outer[ti][slot + 1] += len(frame)
            inner[(ti, ci)][slot] += 1
            inner[(ti, ci)][slot + 1] += inner_length(tunnel, frame, offset)
    return manifest(tunnels, outer, inner)


def manifest(tunnels, outer, inner):
    """JSON-serialisable ground truth."""
    rows, convs = [], []
    for ti, t in enumerate(tunnels):
        ap, ab, bp, bb = outer[ti]
        rows.append({
            'index': ti, 'kind': t.kind, 'mpls_depth': t.depth,
            'layers_path': OUTER_PATHS[t.kind],
            'a_mac': g.text(t.a_mac), 'b_mac': g.text(t.b_mac),
            'a_ip': g.text(t.a_ip), 'b_ip': g.text(t.b_ip),
            'has_ip': t.kind != 'mpls',
            'network_id': t.tunnel_id if t.kind != 'mpls' else 0,
            'ab_packets': ap, 'ab_bytes': ab, 'ba_packets': bp, 'ba_bytes': bb,
        })
        for ci, conv in enumerate(t.convs):
            cp, cb, sp, sb = inner[(ti, ci)]
            convs.append({
                'tunnel': ti, 'kind': conv.kind, 'family': conv.family,
                'client_ip': g.text(conv.client_ip),
                'server_ip': g.text(conv.server_ip),
                'client_port': conv.client_port, 'server_port': conv.server_port,
                'icmp_id': conv.icmp_id,
                'inner_ethernet': t.kind in INNER_ETHERNET,
                'layers_path': inner_path(t, conv),
                'c2s_packets': cp, 'c2s_bytes': cb,
                's2c_packets': sp, 's2c_bytes': sb,
            })
    return {'tunnels': rows, 'conversations': convs,
            'packets': sum(r['ab_packets'] + r['ba_packets'] for r in rows)}
