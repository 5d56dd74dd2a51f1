#!/usr/bin/env python3
"""Deterministic pcap generator for skyprobe's integration tests.

Writes classic pcap files (microsecond timestamps, link type Ethernet) with
correct IPv4 header, TCP, UDP, ICMPv4 and ICMPv6 checksums. Python standard
library only.

    gen_pcap.py synthetic OUT.pcap [--packets N] [--flows N] [--seed S]
                                   [--manifest M.json]
    gen_pcap.py demo OUT.pcap [--manifest M.json]
    gen_pcap.py tunnels OUT.pcap [--seed S] [--manifest M.json]

synthetic: a large capture (>= 100k packets and >= 5k conversations by
default) of interleaved TCP, UDP (including DNS) and ICMP echo conversations
over IPv4 and IPv6, some 802.1Q tagged, spread over about 80-120 s.

demo: the small realistic capture committed as tests/data/demo.pcap (ARP, DNS,
two HTTP-like TCP sessions, pings, an IPv6 session and a VLAN-tagged NTP
exchange).

tunnels: VXLAN, Geneve, GRE (with key), MPLS stacks of 1-4 labels over
Ethernet and over GRE, IP-in-IP and GTP-U, each carrying TCP, UDP and ICMP
conversations (gen_pcap_tunnels.py describes it and its manifest).

Guarantees the tests rely on (synthetic mode):
- every conversation has its own 5-tuple (TCP/UDP) or its own IP pair (ICMP,
  and no TCP/UDP conversation uses an ICMP pair), so tshark's conversation
  tables map one to one onto flows;
- a conversation keeps the same MAC pair and VLAN tag in both directions;
- the first packet of every conversation is sent by the client.

The optional manifest (JSON) lists each conversation with the packets and
bytes (frame length, padding included) sent in each direction, and the
LayersPath/Application a Skydive-compatible probe reports for it.
"""

import argparse
import dataclasses
import ipaddress
import json
import random
import struct
import sys

LINKTYPE_ETHERNET = 1
ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD
ETH_ARP = 0x0806
ETH_VLAN = 0x8100
MIN_FRAME = 60  # Ethernet minimum without FCS; shorter frames are padded.
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_ICMP = 1
IPPROTO_ICMPV6 = 58

TCP_FIN = 0x01
TCP_SYN = 0x02
TCP_RST = 0x04
TCP_PSH = 0x08
TCP_ACK = 0x10

MSS_OPTION = struct.pack('!BBH', 2, 4, 1460)
SYNTHETIC_EPOCH_US = 1700000000 * 1000000  # 2023-11-14 22:13:20 UTC
DEMO_EPOCH_US = 1709283600 * 1000000  # 2024-03-01 09:00:00 UTC
BROADCAST_MAC = b'\xff' * 6

# Server ports whose payload gopacket and tshark leave alone (no tunnel or
# application dissector keyed on them).
TCP_SERVER_PORTS = (80, 8080, 22, 3306, 5432, 6379, 8000, 9200)
UDP_SERVER_PORTS = (5001, 5002, 7000, 7001, 9999, 10000, 11211, 27015)


# ---------------------------------------------------------------------------
# Packet building
# ---------------------------------------------------------------------------

def inet_checksum(data):
    """Return the RFC 1071 Internet checksum of data."""
    if len(data) % 2:
        data += b'\0'
    total = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def pseudo_header(src, dst, proto, length):
    """Return the IPv4 or IPv6 pseudo-header used by TCP/UDP/ICMPv6 sums."""
    if len(src) == 4:
        return src + dst + struct.pack('!BBH', 0, proto, length)
    return src + dst + struct.pack('!I3xB', length, proto)


def ethernet(dst, src, ethertype, payload, vlan=None):
    """Return an Ethernet frame, 802.1Q tagged when vlan is set, padded."""
    if vlan is None:
        header = dst + src + struct.pack('!H', ethertype)
    else:
        header = dst + src + struct.pack('!HHH', ETH_VLAN, vlan, ethertype)
    frame = header + payload
    if len(frame) < MIN_FRAME:
        frame += bytes(MIN_FRAME - len(frame))
    return frame


def ipv4(src, dst, proto, payload, ident, ttl=64):
    """Return an IPv4 packet (DF set) with a correct header checksum."""
    header = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), ident,
                         0x4000, ttl, proto, 0, src, dst)
    csum = struct.pack('!H', inet_checksum(header))
    return header[:10] + csum + header[12:] + payload


def ipv6(src, dst, next_header, payload, hop_limit=64, flow_label=0):
    """Return an IPv6 packet."""
    header = struct.pack('!IHBB16s16s', (6 << 28) | flow_label, len(payload),
                         next_header, hop_limit, src, dst)
    return header + payload


def tcp(src_ip, dst_ip, sport, dport, seq, ack, flags, payload=b'',
        window=64240, options=b''):
    """Return a TCP segment with a correct checksum."""
    offset = (20 + len(options)) // 4
    header = struct.pack('!HHIIBBHHH', sport, dport, seq & 0xFFFFFFFF,
                         ack & 0xFFFFFFFF, offset << 4, flags, window, 0,
                         0) + options
    segment = header + payload
    csum = inet_checksum(pseudo_header(src_ip, dst_ip, IPPROTO_TCP,
                                       len(segment)) + segment)
    return segment[:16] + struct.pack('!H', csum) + segment[18:]


def udp(src_ip, dst_ip, sport, dport, payload):
    """Return a UDP datagram with a correct (never zero) checksum."""
    length = 8 + len(payload)
    datagram = struct.pack('!HHHH', sport, dport, length, 0) + payload
    csum = inet_checksum(pseudo_header(src_ip, dst_ip, IPPROTO_UDP, length)
                         + datagram) or 0xFFFF
    return datagram[:6] + struct.pack('!H', csum) + datagram[8:]


def icmpv4_echo(request, ident, seq, payload):
    """Return an ICMPv4 echo request or reply."""
    msg = struct.pack('!BBHHH', 8 if request else 0, 0, 0, ident,
                      seq) + payload
    return msg[:2] + struct.pack('!H', inet_checksum(msg)) + msg[4:]


def icmpv6_echo(src_ip, dst_ip, request, ident, seq, payload):
    """Return an ICMPv6 echo request or reply with the pseudo-header sum."""
    msg = struct.pack('!BBHHH', 128 if request else 129, 0, 0, ident,
                      seq) + payload
    csum = inet_checksum(pseudo_header(src_ip, dst_ip, IPPROTO_ICMPV6,
                                       len(msg)) + msg)
    return msg[:2] + struct.pack('!H', csum) + msg[4:]


def arp(op, sender_mac, sender_ip, target_mac, target_ip):
    """Return an ARP request (op 1) or reply (op 2) for IPv4 over Ethernet."""
    return struct.pack('!HHBBH6s4s6s4s', 1, ETH_IPV4, 6, 4, op, sender_mac,
                       sender_ip, target_mac, target_ip)


def dns_name(name):
    """Encode a domain name as DNS labels."""
    out = b''
    for label in name.rstrip('.').split('.'):
        out += bytes([len(label)]) + label.encode('ascii')
    return out + b'\0'


def dns_query(qid, name, qtype):
    """Return a DNS query message (recursion desired)."""
    return (struct.pack('!HHHHHH', qid, 0x0100, 1, 0, 0, 0) + dns_name(name)
            + struct.pack('!HH', qtype, 1))


def dns_response(qid, name, qtype, rdatas, ttl=300):
    """Return a DNS response answering name/qtype with the given rdata list."""
    msg = (struct.pack('!HHHHHH', qid, 0x8180, 1, len(rdatas), 0, 0)
           + dns_name(name) + struct.pack('!HH', qtype, 1))
    for rdata in rdatas:
        msg += struct.pack('!HHHIH', 0xC00C, qtype, 1, ttl, len(rdata)) + rdata
    return msg


def ntp_packet(client, timestamp_s):
    """Return a 48-byte NTPv4 client (mode 3) or server (mode 4) packet."""
    mode = 3 if client else 4
    secs = int(timestamp_s) + 2208988800
    return struct.pack('!BBbbII4sQQQQ', (4 << 3) | mode, 0 if client else 2,
                       6, -20, 0, 0, b'\0\0\0\0', 0, 0, 0, secs << 32)


# ---------------------------------------------------------------------------
# Conversations
# ---------------------------------------------------------------------------

@dataclasses.dataclass
class Event:
    """One packet of a conversation, turned into bytes at write time."""

    ts_us: int
    from_client: bool
    kind: str            # 'tcp', 'udp', 'icmp' or 'arp'
    payload: object      # bytes, or an int length of random payload
    flags: int = 0       # TCP flags
    seq: int = 0         # TCP sequence number or ICMP echo sequence
    ack: int = 0         # TCP acknowledgment number
    options: bytes = b''  # TCP options


@dataclasses.dataclass
class Conversation:
    """A bidirectional exchange between a client and a server endpoint."""

    kind: str            # 'tcp', 'udp', 'icmp' or 'arp'
    client_mac: bytes
    server_mac: bytes
    client_ip: bytes
    server_ip: bytes
    client_port: int = 0
    server_port: int = 0
    vlan: object = None
    icmp_id: int = 0
    application: str = ''  # L7 layer name after TCP/UDP ('DNS', 'NTP')
    client_ttl: int = 64
    server_ttl: int = 64
    events: list = dataclasses.field(default_factory=list)
    seed: int = 0
    size: int = 0        # number of exchanges, for regeneration
    start_us: int = 0
    close: str = ''

    @property
    def family(self):
        """Return 4 or 6 (0 for ARP)."""
        return {4: 4, 16: 6}.get(len(self.client_ip), 0)


def build_frame(conv, event, payload_rng):
    """Return the Ethernet frame for one event of a conversation."""
    if event.from_client:
        smac, dmac, sip, dip = (conv.client_mac, conv.server_mac,
                                conv.client_ip, conv.server_ip)
        sport, dport, ttl = conv.client_port, conv.server_port, conv.client_ttl
    else:
        smac, dmac, sip, dip = (conv.server_mac, conv.client_mac,
                                conv.server_ip, conv.client_ip)
        sport, dport, ttl = conv.server_port, conv.client_port, conv.server_ttl
    payload = event.payload
    if isinstance(payload, int):
        payload = payload_rng.randbytes(payload)
    if event.kind == 'arp':
        return ethernet(dmac, smac, ETH_ARP, payload, conv.vlan)
    if event.kind == 'tcp':
        l4 = tcp(sip, dip, sport, dport, event.seq, event.ack, event.flags,
                 payload, options=event.options)
        proto = IPPROTO_TCP
    elif event.kind == 'udp':
        l4 = udp(sip, dip, sport, dport, payload)
        proto = IPPROTO_UDP
    elif conv.family == 4:
        l4 = icmpv4_echo(event.from_client, conv.icmp_id, event.seq, payload)
        proto = IPPROTO_ICMP
    else:
        l4 = icmpv6_echo(sip, dip, event.from_client, conv.icmp_id, event.seq,
                         payload)
        proto = IPPROTO_ICMPV6
    if conv.family == 4:
        ident = payload_rng.getrandbits(16)
        return ethernet(dmac, smac, ETH_IPV4, ipv4(sip, dip, proto, l4, ident,
                                                   ttl), conv.vlan)
    return ethernet(dmac, smac, ETH_IPV6, ipv6(sip, dip, proto, l4, ttl),
                    conv.vlan)


class TcpScript:
    """Builds the events of one TCP connection, keeping sequence numbers."""

    def __init__(self, rng, conv, start_us):
        self.rng = rng
        self.conv = conv
        self.t = start_us
        self.seq = {True: rng.getrandbits(32), False: rng.getrandbits(32)}

    def send(self, from_client, flags, payload=0, delay_us=0, options=b''):
        """Append one segment sent delay_us after the previous one."""
        self.t += delay_us
        ack = self.seq[not from_client] if flags & TCP_ACK else 0
        self.conv.events.append(Event(self.t, from_client, 'tcp', payload,
                                      flags, self.seq[from_client], ack,
                                      options))
        length = payload if isinstance(payload, int) else len(payload)
        self.seq[from_client] += length + (1 if flags & (TCP_SYN | TCP_FIN)
                                           else 0)

    def handshake(self, rtt_us):
        """SYN, SYN/ACK, ACK."""
        self.send(True, TCP_SYN, options=MSS_OPTION)
        self.send(False, TCP_SYN | TCP_ACK, delay_us=rtt_us,
                  options=MSS_OPTION)
        self.send(True, TCP_ACK, delay_us=self.rng.randint(20, 900))

    def exchange(self, request, response_segments, rtt_us, think_us):
        """A request from the client answered by server data segments."""
        self.send(True, TCP_PSH | TCP_ACK, request, delay_us=think_us)
        for i, segment in enumerate(response_segments):
            delay = rtt_us if i == 0 else self.rng.randint(5, 1500)
            last = i == len(response_segments) - 1
            self.send(False, TCP_ACK | (TCP_PSH if last else 0), segment,
                      delay_us=delay)
        self.send(True, TCP_ACK, delay_us=self.rng.randint(20, 2000))

    def close(self, how, rtt_us):
        """Close with 'fin' (client first), 'fin_server', 'rst', 'rst_server'
        or leave the connection open ('open')."""
        if how in ('fin', 'fin_server'):
            first = how == 'fin'
            self.send(first, TCP_FIN | TCP_ACK,
                      delay_us=self.rng.randint(100, 300000))
            self.send(not first, TCP_FIN | TCP_ACK, delay_us=rtt_us)
            self.send(first, TCP_ACK, delay_us=self.rng.randint(20, 900))
        elif how in ('rst', 'rst_server'):
            self.send(how == 'rst', TCP_RST | TCP_ACK,
                      delay_us=self.rng.randint(100, 300000))


def script_tcp(conv):
    """(Re)generate the events of a synthetic TCP conversation."""
    rng = random.Random(conv.seed)
    conv.events = []
    rtt = rng.randint(150, 60000)
    script = TcpScript(rng, conv, conv.start_us)
    script.handshake(rtt)
    for _ in range(conv.size):
        request = rng.choice((rng.randint(1, 120), rng.randint(60, 1460)))
        segments = [rng.choice((1460, rng.randint(1, 1460)))
                    for _ in range(rng.choice((1, 1, 2, 3, 4, 6)))]
        script.exchange(request, segments, rtt, rng.randint(100, 400000))
    script.close(conv.close, rtt)


def script_udp(conv):
    """(Re)generate the events of a synthetic UDP conversation."""
    rng = random.Random(conv.seed)
    conv.events = []
    t = conv.start_us
    rtt = rng.randint(100, 40000)
    for i in range(conv.size):
        if conv.application == 'DNS':
            qid = rng.getrandbits(16)
            name = 'host%d.example%d.test' % (rng.randint(0, 999), i % 7)
            qtype = rng.choice((1, 28))
            rdata = [rng.randbytes(4 if qtype == 1 else 16)
                     for _ in range(rng.randint(0, 3))]
            request = dns_query(qid, name, qtype)
            response = dns_response(qid, name, qtype, rdata)
        else:
            request = rng.randint(8, 1200)
            response = rng.randint(8, 1400)
        conv.events.append(Event(t, True, 'udp', request))
        if not (conv.close == 'lossy' and i == conv.size - 1):
            conv.events.append(Event(t + rtt, False, 'udp', response))
        t += rtt + rng.randint(1000, 900000)


def script_icmp(conv):
    """(Re)generate the events of a synthetic ICMP echo conversation."""
    rng = random.Random(conv.seed)
    conv.events = []
    t = conv.start_us
    rtt = rng.randint(100, 90000)
    length = rng.choice((56, 56, 32, 64, 1000, 1400))
    interval = rng.randint(200000, 1000000)
    for i in range(conv.size):
        conv.events.append(Event(t, True, 'icmp', length, seq=i + 1))
        if not (conv.close == 'lossy' and i % 3 == 2):
            conv.events.append(Event(t + rtt, False, 'icmp', length,
                                     seq=i + 1))
        t += interval


SCRIPTS = {'tcp': script_tcp, 'udp': script_udp, 'icmp': script_icmp}


# ---------------------------------------------------------------------------
# Synthetic capture
# ---------------------------------------------------------------------------

class AddressPlan:
    """Allocates hosts, MACs, VLANs and unique 5-tuples."""

    def __init__(self, rng):
        self.rng = rng
        self.used = set()
        self.clients4 = [self._host(ipaddress.IPv4Address('10.1.0.0') + 10 + i)
                         for i in range(800)]
        self.clients6 = [self._host(ipaddress.IPv6Address('fd00:1::') + 16 + i)
                         for i in range(300)]
        self.servers4 = [ipaddress.IPv4Address('198.51.100.0') + 1 + i
                         for i in range(150)]
        self.servers6 = [ipaddress.IPv6Address('2001:db8:5::') + 1 + i
                         for i in range(60)]
        self.gateway = {None: bytes.fromhex('00005e000101')}

    def _host(self, address):
        """Return (ip bytes, mac, vlan) for a client host."""
        mac = bytes([0x02, 0x10]) + self.rng.randbytes(4)
        vlan = self.rng.choice((10, 20, 300, 4000)) \
            if self.rng.random() < 0.15 else None
        return address.packed, mac, vlan

    def gateway_mac(self, vlan):
        """The router MAC seen for a VLAN (one per VLAN)."""
        if vlan not in self.gateway:
            self.gateway[vlan] = bytes([0x00, 0x00, 0x5E, 0x00, 0x01,
                                        vlan & 0xFF])
        return self.gateway[vlan]

    def transport(self, kind, family):
        """Return a Conversation skeleton with a fresh 5-tuple."""
        clients = self.clients4 if family == 4 else self.clients6
        servers = self.servers4 if family == 4 else self.servers6
        ports = TCP_SERVER_PORTS if kind == 'tcp' else UDP_SERVER_PORTS
        while True:
            cip, cmac, vlan = self.rng.choice(clients)
            sip = self.rng.choice(servers).packed
            sport = self.rng.choice(ports)
            if kind == 'udp' and self.rng.random() < 0.2:
                sport = 53
            cport = self.rng.randint(32768, 60999)
            key = (kind, cip, cport, sip, sport)
            if key not in self.used:
                self.used.add(key)
                break
        return Conversation(kind, cmac, self.gateway_mac(vlan), cip, sip,
                            cport, sport, vlan,
                            application='DNS' if sport == 53 else '',
                            client_ttl=64, server_ttl=self.rng.choice(
                                (52, 57, 115, 242)))

    def icmp(self, index, family):
        """Return an ICMP Conversation with its own IP pair."""
        if family == 4:
            cip = (ipaddress.IPv4Address('10.200.0.0') + index).packed
            sip = (ipaddress.IPv4Address('10.201.0.0') + index).packed
        else:
            cip = (ipaddress.IPv6Address('fd00:200::') + index).packed
            sip = (ipaddress.IPv6Address('fd00:201::') + index).packed
        vlan = self.rng.choice((None, None, None, 30))
        mac = bytes([0x02, 0x20]) + self.rng.randbytes(4)
        return Conversation('icmp', mac, self.gateway_mac(vlan), cip, sip,
                            vlan=vlan,
                            icmp_id=self.rng.randint(1, 65535))


def new_synthetic_conversation(rng, plan, index, mean_packets):
    """Create and script one synthetic conversation."""
    draw = rng.random()
    family = 6 if rng.random() < 0.25 else 4
    if draw < 0.6:
        conv = plan.transport('tcp', family)
        conv.size = max(0, int(rng.expovariate(1.0) * (mean_packets - 8) / 4))
        conv.close = rng.choice(('fin', 'fin', 'fin', 'fin_server', 'rst',
                                 'rst_server', 'open'))
    elif draw < 0.9:
        conv = plan.transport('udp', family)
        conv.size = 1 + int(rng.expovariate(1.0) * mean_packets / 2.5)
        conv.close = 'lossy' if rng.random() < 0.1 else ''
    else:
        conv = plan.icmp(index, family)
        conv.size = 1 + int(rng.expovariate(1.0) * mean_packets / 2.5)
        conv.close = 'lossy' if rng.random() < 0.1 else ''
    if conv.kind != 'tcp' and conv.application != 'DNS':
        conv.size = min(conv.size, 60)
    if conv.application == 'DNS':
        conv.size = min(conv.size, 2)
    conv.seed = rng.getrandbits(64)
    conv.start_us = SYNTHETIC_EPOCH_US + rng.randint(0, 80000000)
    SCRIPTS[conv.kind](conv)
    return conv


def synthetic_conversations(seed, packets, flows):
    """Return conversations totalling at least `packets` packets."""
    rng = random.Random(seed)
    plan = AddressPlan(rng)
    mean = max(4.0, packets / flows)
    convs = [new_synthetic_conversation(rng, plan, i, mean)
             for i in range(flows)]
    total = sum(len(c.events) for c in convs)
    deadline = SYNTHETIC_EPOCH_US + 100000000
    while total < packets:
        conv = rng.choice(convs)
        if conv.application == 'DNS' or conv.events[-1].ts_us > deadline:
            continue
        total -= len(conv.events)
        conv.size += 1
        SCRIPTS[conv.kind](conv)
        total += len(conv.events)
    return convs


# ---------------------------------------------------------------------------
# Demo capture
# ---------------------------------------------------------------------------

def _ip(text):
    return ipaddress.ip_address(text).packed


def _mac(text):
    return bytes.fromhex(text.replace(':', ''))


HOST_MAC = _mac('52:54:00:12:34:56')
GW_MAC = _mac('52:54:00:ab:cd:01')
HOST4 = _ip('192.168.10.23')
GW4 = _ip('192.168.10.1')


def http_response(rng, body_len):
    """An HTTP/1.1 200 response with a text body of body_len bytes."""
    words = (b'lorem', b'ipsum', b'dolor', b'sit', b'amet', b'flow', b'probe')
    body = b''
    while len(body) < body_len:
        body += rng.choice(words) + b' '
    body = body[:body_len]
    head = (b'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n'
            b'Content-Length: %d\r\nConnection: close\r\n\r\n' % body_len)
    return head + body


def http_session(rng, conv, start_us, host, requests, rtt, close):
    """Script a keep-alive HTTP session: one GET per (path, body length),
    each answered by MSS-sized segments, the client acking every second
    segment."""
    script = TcpScript(rng, conv, start_us)
    script.handshake(rtt)
    for path, body_len in requests:
        request = (b'GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: demo/1.0\r\n'
                   b'Accept: */*\r\n\r\n' % (path.encode(), host.encode()))
        script.send(True, TCP_PSH | TCP_ACK, request,
                    delay_us=rng.randint(800, 90000))
        response = http_response(rng, body_len)
        segments = [response[i:i + 1448]
                    for i in range(0, len(response), 1448)]
        for i, segment in enumerate(segments):
            last = i == len(segments) - 1
            script.send(False, TCP_ACK | (TCP_PSH if last else 0), segment,
                        delay_us=rtt if i == 0 else rng.randint(40, 600))
            if i % 2 == 1 or last:
                script.send(True, TCP_ACK, delay_us=rng.randint(30, 200))
    script.close(close, rtt)


def demo_dns(rng, start_us, port, lookups):
    """One UDP/53 conversation from the host with (name, qtype, rdata)."""
    conv = Conversation('udp', HOST_MAC, GW_MAC, HOST4, _ip('9.9.9.9'), port,
                        53, application='DNS', server_ttl=58)
    t = start_us
    for name, qtype, rdatas in lookups:
        qid = rng.getrandbits(16)
        conv.events.append(Event(t, True, 'udp', dns_query(qid, name, qtype)))
        conv.events.append(Event(t + 11873, False, 'udp',
                                 dns_response(qid, name, qtype, rdatas)))
        t += 431
    return conv


def demo_ping(start_us, target, ident, count, rtt_us, server_ttl):
    """An ICMP echo conversation from the host, one request a second."""
    ping = Conversation('icmp', HOST_MAC, GW_MAC, HOST4, target,
                        icmp_id=ident, server_ttl=server_ttl)
    for i in range(count):
        ts = start_us + i * 1000112
        ping.events.append(Event(ts, True, 'icmp', 56, seq=i + 1))
        ping.events.append(Event(ts + rtt_us + i * 97, False, 'icmp', 56,
                                 seq=i + 1))
    return ping


def demo_conversations():
    """Return the fixed scenario of the demo capture (about 35 s)."""
    rng = random.Random(20240301)
    t0 = DEMO_EPOCH_US
    web1, web2 = _ip('93.184.215.14'), _ip('185.15.59.224')
    request = Conversation('arp', HOST_MAC, BROADCAST_MAC, HOST4, GW4)
    request.events.append(Event(t0, True, 'arp',
                                arp(1, HOST_MAC, HOST4, bytes(6), GW4)))
    reply = Conversation('arp', GW_MAC, HOST_MAC, GW4, HOST4)
    reply.events.append(Event(t0 + 412, True, 'arp',
                              arp(2, GW_MAC, GW4, HOST_MAC, HOST4)))
    convs = [request, reply]
    convs.append(demo_dns(rng, t0 + 1500, 51234, [
        ('www.example.com', 1, [web1]),
        ('www.example.com', 28,
         [_ip('2606:2800:21f:cb07:6820:80da:af6b:8b2c')])]))
    convs.append(demo_dns(rng, t0 + 2500000, 40112, [
        ('en.wikipedia.org', 1, [web2]),
        ('upload.wikimedia.org', 1, [_ip('185.15.59.240')])]))
    convs.append(demo_dns(rng, t0 + 4900000, 60421, [
        ('dns.quad9.net', 1, [_ip('9.9.9.9'), _ip('149.112.112.112')])]))
    convs.append(demo_dns(rng, t0 + 9000000, 53991, [
        ('ntp.example.net', 1, [_ip('10.42.0.1')])]))
    web = Conversation('tcp', HOST_MAC, GW_MAC, HOST4, web1, 49822, 80,
                       server_ttl=55)
    http_session(rng, web, t0 + 40000, 'www.example.com',
                 [('/', 3100), ('/style.css', 1900), ('/logo.svg', 4200),
                  ('/favicon.ico', 300)], 18400, 'fin')
    wiki = Conversation('tcp', HOST_MAC, GW_MAC, HOST4, web2, 49830, 80,
                        server_ttl=52)
    http_session(rng, wiki, t0 + 2560000, 'en.wikipedia.org',
                 [('/wiki/Network_flow', 9000), ('/w/load.php', 2400)],
                 31200, 'rst')
    convs += [web, wiki]
    convs.append(demo_ping(t0 + 5000000, _ip('9.9.9.9'), 0x4D2, 30, 11200,
                           58))
    convs.append(demo_ping(t0 + 5200000, GW4, 0x4D3, 10, 310, 64))
    api = Conversation('tcp', HOST_MAC, GW_MAC, HOST4, web1, 49840, 8080,
                       server_ttl=55)
    http_session(rng, api, t0 + 12000000, 'www.example.com:8080',
                 [('/api/v1/poll?n=%d' % i, 180 + 37 * i) for i in range(10)],
                 17900, 'fin')
    convs.append(api)
    v6 = Conversation('tcp', HOST_MAC, GW_MAC, _ip('2001:db8:10::23'),
                      _ip('2001:db8:100::80'), 50110, 8080, server_ttl=61)
    http_session(rng, v6, t0 + 7100000, '[2001:db8:100::80]:8080',
                 [('/status', 900), ('/metrics', 2600)], 9800, 'fin_server')
    ntp = Conversation('udp', _mac('52:54:00:42:00:05'),
                       _mac('52:54:00:42:00:01'), _ip('10.42.0.5'),
                       _ip('10.42.0.1'), 123, 123, vlan=42,
                       application='NTP')
    for i in range(6):
        ts = t0 + 9100000 + i * 2000000
        ntp.events.append(Event(ts, True, 'udp',
                                ntp_packet(True, ts // 10**6)))
        ntp.events.append(Event(ts + 733, False, 'udp',
                                ntp_packet(False, ts // 10**6)))
    convs += [v6, ntp]
    return convs


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------

def layers_path(conv):
    """Return the (LayersPath, Application) expected for a conversation."""
    layers = ['Ethernet'] + (['Dot1Q'] if conv.vlan is not None else [])
    if conv.kind == 'arp':
        return '/'.join(layers + ['ARP']), 'ARP'
    layers.append('IPv4' if conv.family == 4 else 'IPv6')
    if conv.kind == 'icmp':
        layers += ['ICMPv4'] if conv.family == 4 else ['ICMPv6', 'ICMPv6Echo']
    else:
        layers.append(conv.kind.upper())
        # Skydive names the flow after its first packet: a bare TCP SYN has
        # no payload, a UDP datagram is dissected by port.
        if conv.kind == 'udp' and conv.application:
            layers.append(conv.application)
    return '/'.join(layers), layers[-1]


def write_pcap(path, convs, payload_seed):
    """Write all events in time order; return per-conversation counters."""
    order = sorted((ev.ts_us, ci, ei) for ci, conv in enumerate(convs)
                   for ei, ev in enumerate(conv.events))
    rng = random.Random(payload_seed)
    counts = [[0, 0, 0, 0] for _ in convs]  # c2s pkts, bytes, s2c pkts, bytes
    with open(path, 'wb') as out:
        out.write(struct.pack('<IHHiIII', 0xA1B2C3D4, 2, 4, 0, 0, 65535,
                              LINKTYPE_ETHERNET))
        for ts_us, ci, ei in order:
            event = convs[ci].events[ei]
            frame = build_frame(convs[ci], event, rng)
            out.write(struct.pack('<IIII', ts_us // 1000000, ts_us % 1000000,
                                  len(frame), len(frame)) + frame)
            slot = 0 if event.from_client else 2
            counts[ci][slot] += 1
            counts[ci][slot + 1] += len(frame)
    return counts


def text(address):
    """Printable form of a packed IP address or MAC."""
    if len(address) == 6:
        return ':'.join('%02x' % b for b in address)
    return str(ipaddress.ip_address(address))


def manifest(convs, counts):
    """Return the JSON-serialisable description of every conversation."""
    rows = []
    for conv, (cp, cb, sp, sb) in zip(convs, counts):
        path, app = layers_path(conv)
        rows.append({
            'kind': conv.kind, 'family': conv.family, 'vlan': conv.vlan,
            'client_mac': text(conv.client_mac),
            'server_mac': text(conv.server_mac),
            'client_ip': text(conv.client_ip),
            'server_ip': text(conv.server_ip),
            'client_port': conv.client_port, 'server_port': conv.server_port,
            'icmp_id': conv.icmp_id, 'close': conv.close,
            'layers_path': path, 'application': app,
            'c2s_packets': cp, 'c2s_bytes': cb,
            's2c_packets': sp, 's2c_bytes': sb,
            'start_us': conv.events[0].ts_us,
        })
    return {'conversations': rows,
            'packets': sum(r['c2s_packets'] + r['s2c_packets'] for r in rows)}


def main(argv=None):
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('mode', choices=('synthetic', 'demo', 'tunnels'))
    parser.add_argument('output')
    parser.add_argument('--packets', type=int, default=100000,
                        help='minimum packet count (synthetic)')
    parser.add_argument('--flows', type=int, default=5500,
                        help='number of conversations (synthetic)')
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--manifest', help='write the ground truth here')
    args = parser.parse_args(argv)
    if args.mode == 'tunnels':
        import gen_pcap_tunnels  # pylint: disable=import-outside-toplevel
        truth = gen_pcap_tunnels.tunnels_capture(args.output, args.seed)
        if args.manifest:
            with open(args.manifest, 'w', encoding='utf-8') as out:
                json.dump(truth, out, indent=0)
        return 0
    if args.mode == 'synthetic':
        if args.flows < 1 or args.packets < 1:
            parser.error('--packets and --flows must be positive')
        convs = synthetic_conversations(args.seed, args.packets, args.flows)
        counts = write_pcap(args.output, convs, args.seed + 1)
    else:
        convs = demo_conversations()
        counts = write_pcap(args.output, convs, 7)
    if args.manifest:
        with open(args.manifest, 'w', encoding='utf-8') as out:
            json.dump(manifest(convs, counts), out, indent=0)
    return 0


if __name__ == '__main__':
    sys.exit(main())
