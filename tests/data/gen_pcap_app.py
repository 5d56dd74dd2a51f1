#!/usr/bin/env python3
"""A capture of TLS ClientHellos, HTTP/1.x requests and DNS messages, for the
application metadata tests (tests/integration/app_meta_test.py).

    gen_pcap_app.py OUT.pcap

Each conversation is a TCP handshake, then the client's first bytes, then the
server's answer and a FIN exchange; DNS is one query and its response over
UDP, or over TCP port 53. Two kinds of ClientHello:

- real ones: written by OpenSSL through Python's ssl module (ssl.MemoryBIO),
  with and without SNI, with ALPN lists, TLS 1.2 only or up to 1.3, a few
  cipher lists;
- hand-built ones (build_hello): GREASE values (RFC 8701) in every list,
  an ALPN name that is not alphanumeric, no extensions at all, a long SNI,
  many ciphers, supported_versions with several entries.

A ClientHello is sent in one segment, in two or three segments, or split
over two TLS records (record-layer fragmentation). HTTP request heads too,
in one or several segments. Half of the conversations are IPv4, half IPv6.
The file is deterministic for OpenSSL's structure, not for its random bytes
(client random, key shares): the tests read it with tshark, their oracle, at
test time. Standard library only; checksums are zero.
"""

import argparse
import socket
import ssl
import struct

BASE_TIME = 1_700_000_000.0
MAC = (b'\x02\x00\x00\x00\x00\x01', b'\x02\x00\x00\x00\x00\x02')
SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01


def ip_bytes(family, index, side):
    if family == 4:
        return bytes([10, 1 + side, (index >> 8) & 0xFF, index & 0xFF])
    return bytes([0x20, 0x01, 0x0D, 0xB8, side] + [0] * 9 + [(index >> 8) & 0xFF, index & 0xFF])


def ip_frame(family, src, dst, proto, l4):
    if family == 4:
        ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(l4), 0, 0x4000, 64, proto, 0,
                         src, dst)
        ether_type = 0x0800
    else:
        ip = struct.pack('!IHBB16s16s', 6 << 28, len(l4), proto, 64, src, dst)
        ether_type = 0x86DD
    return ip, ether_type


class Conversation:
    """Frames of one client/server exchange, timestamps 1 ms apart."""

    def __init__(self, out, index, family, t0, sport, dport):
        self.out, self.family, self.t = out, family, t0
        self.addr = (ip_bytes(family, index, 0), ip_bytes(family, index, 1))
        self.port = (sport, dport)
        self.seq = [1000 + index * 7, 50000 + index * 13]

    def emit(self, side, l4, proto):
        ip, ether_type = ip_frame(self.family, self.addr[side], self.addr[side ^ 1], proto, l4)
        eth = MAC[side ^ 1] + MAC[side] + struct.pack('!H', ether_type)
        self.out.append((self.t, eth + ip + l4))
        self.t += 0.001

    def tcp(self, side, flags, payload=b''):
        ack = self.seq[side ^ 1] if flags & ACK else 0
        l4 = struct.pack('!HHIIBBHHH', self.port[side], self.port[side ^ 1], self.seq[side],
                         ack, 5 << 4, flags, 65535, 0, 0) + payload
        self.emit(side, l4, 6)
        self.seq[side] = (self.seq[side] + len(payload) + (1 if flags & (SYN | FIN) else 0)) \
            & 0xFFFFFFFF

    def udp(self, side, payload):
        l4 = struct.pack('!HHHH', self.port[side], self.port[side ^ 1], 8 + len(payload), 0)
        self.emit(side, l4 + payload, 17)

    def tcp_exchange(self, pieces, answer):
        self.tcp(0, SYN)
        self.tcp(1, SYN | ACK)
        self.tcp(0, ACK)
        for piece in pieces:
            self.tcp(0, PSH | ACK, piece)
        self.tcp(1, PSH | ACK, answer)
        self.tcp(0, FIN | ACK)
        self.tcp(1, FIN | ACK)
        self.tcp(0, ACK)


def split(data, parts):
    """`data` cut into `parts` pieces of about the same size."""
    size = -(-len(data) // parts)
    return [data[i:i + size] for i in range(0, len(data), size)]


def refragment(record, cut):
    """A one-record handshake split over two TLS records at `cut` bytes of its body."""
    body = record[5:]
    head = record[:3]
    return (head + struct.pack('!H', cut) + body[:cut] +
            head + struct.pack('!H', len(body) - cut) + body[cut:])


def openssl_hello(sni=None, alpn=None, max_tls13=True, ciphers=None):
    """The first flight of an OpenSSL client: its ClientHello record."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if not max_tls13:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if ciphers:
        ctx.set_ciphers(ciphers)
    if alpn:
        ctx.set_alpn_protocols(alpn)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    conn = ctx.wrap_bio(incoming, outgoing, server_hostname=sni)
    try:
        conn.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def ext(kind, body):
    return struct.pack('!HH', kind, len(body)) + body


def u16_list(values, length_bytes=2):
    body = b''.join(struct.pack('!H', v) for v in values)
    return struct.pack('!H' if length_bytes == 2 else '!B', len(body)) + body


def build_hello(ciphers, extensions, legacy_version=0x0303, record_version=0x0301):
    """A ClientHello record from its cipher list and (type, body) extensions."""
    body = struct.pack('!H', legacy_version) + bytes(range(32)) + b'\x00'
    body += u16_list(ciphers) + b'\x01\x00'
    if extensions is not None:
        exts = b''.join(ext(k, v) for k, v in extensions)
        body += struct.pack('!H', len(exts)) + exts
    msg = b'\x01' + struct.pack('!I', len(body))[1:] + body
    return struct.pack('!BHH', 22, record_version, len(msg)) + msg


def sni_ext(name):
    entry = b'\x00' + struct.pack('!H', len(name)) + name
    return (0x0000, struct.pack('!H', len(entry)) + entry)


def alpn_ext(names):
    body = b''.join(bytes([len(n)]) + n for n in names)
    return (0x0010, struct.pack('!H', len(body)) + body)


def hand_built():
    """ClientHellos OpenSSL does not write: GREASE, odd ALPN, extremes."""
    grease = [0x0A0A, 0x1A1A, 0x2A2A, 0xFAFA]
    sig_algs = (0x000D, u16_list([0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]))
    groups = (0x000A, u16_list([grease[1], 0x001D, 0x0017, 0x0018]))
    points = (0x000B, b'\x01\x00')
    versions = (0x002B, bytes([6]) + b''.join(struct.pack('!H', v) for v in
                                              (grease[2], 0x0304, 0x0303)))
    hellos = [
        # A browser-like hello: GREASE first in ciphers, extensions, groups, versions.
        build_hello([grease[0], 0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030],
                    [(grease[3], b''), sni_ext(b'www.example.com'), (0x0017, b''),
                     (0xFF01, b'\x00'), groups, points, (0x0023, b''),
                     alpn_ext([b'h2', b'http/1.1']), (0x0005, b'\x01\x00\x00\x00\x00'),
                     sig_algs, (0x0012, b''), versions, (grease[1], b'\x00')]),
        # ALPN whose first name does not start and end alphanumeric.
        build_hello([0x1301, 0xC02F], [sni_ext(b'odd.example.org'),
                                       alpn_ext([b'\x01weird-', b'h2']), sig_algs, versions]),
        # No extensions block at all (SSL 3.0 style); TLS 1.0.
        build_hello([0x002F, 0x0035, 0x000A], None, legacy_version=0x0301),
        # An empty extensions block, no SNI, TLS 1.1.
        build_hello([0x002F], [], legacy_version=0x0302),
        # A long server name (200 bytes) and many ciphers (90).
        build_hello(list(range(0x0001, 0x005B)),
                    [sni_ext(b'a' * 60 + b'.' + b'b' * 60 + b'.' + b'c' * 70 + b'.example'),
                     groups, points, sig_algs]),
        # Only signature algorithms besides SNI/ALPN: part c is the sorted rest.
        build_hello([0x1302, 0x1301], [alpn_ext([b'dot']), sig_algs, sni_ext(b'dns.example')]),
        # SNI and ALPN only: JA4's part c is all zeros.
        build_hello([0x1301], [sni_ext(b'only.example'), alpn_ext([b'http/1.1'])]),
    ]
    return hellos


def tls_hellos():
    hellos = [
        openssl_hello('example.com', ['h2', 'http/1.1']),
        openssl_hello('api.example.net', ['http/1.1']),
        openssl_hello('tls12.example.org', ['h2'], max_tls13=False),
        openssl_hello(None, None),
        openssl_hello('legacy.example.com', None, max_tls13=False,
                      ciphers='ECDHE-RSA-AES128-GCM-SHA256:AES128-SHA'),
        openssl_hello('xn--bcher-kva.example', ['spdy/3.1', 'h2', 'http/1.1']),
    ]
    return hellos + hand_built()


HTTP_REQUESTS = [
    b'GET / HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: test\r\nAccept: */*\r\n\r\n',
    b'POST /submit HTTP/1.1\r\nHost: api.example.com:8080\r\nContent-Length: 4\r\n\r\nabcd',
    b'HEAD /index.html HTTP/1.0\r\nhost: lower.example.org\r\n\r\n',
    b'PUT /x HTTP/1.1\r\nContent-Type: text/plain\r\nHOST: upper.example\r\n\r\n',
    b'DELETE /item/1 HTTP/1.1\r\nHost: del.example\r\n\r\n',
    b'OPTIONS * HTTP/1.1\r\nHost: opt.example\r\n\r\n',
    b'GET /nohost HTTP/1.0\r\nAccept: */*\r\n\r\n',
    b'GET /long HTTP/1.1\r\nUser-Agent: ' + b'x' * 900 + b'\r\nHost: late.example.com\r\n\r\n',
]


def dns_name(name):
    out = b''
    for label in name.split('.'):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b'\x00'


def dns_message(ident, name, qtype, response, rcode=0, answers=()):
    flags = 0x0100 | (0x8080 | rcode if response else 0)
    msg = struct.pack('!HHHHHH', ident, flags, 1, len(answers), 0, 0)
    msg += dns_name(name) + struct.pack('!HH', qtype, 1)
    for rtype, rdata in answers:
        msg += b'\xC0\x0C' + struct.pack('!HHIH', rtype, 1, 300, len(rdata)) + rdata
    return msg


DNS_EXCHANGES = [
    ('www.example.com', 1, 0, [(1, socket.inet_aton('192.0.2.1'))]),
    ('v6.example.com', 28, 0, [(28, socket.inet_pton(socket.AF_INET6, '2001:db8::1'))]),
    ('missing.example.org', 1, 3, []),
    ('example.net', 15, 0, [(15, b'\x00\x0A' + dns_name('mail.example.net'))]),
    ('txt.example', 16, 0, [(16, b'\x05hello')]),
    ('refused.example', 255, 5, []),
    ('srv.example', 33, 2, []),
    ('', 2, 0, []),  # the root
]


def generate():
    out, index, t = [], 1, BASE_TIME
    for i, hello in enumerate(tls_hellos()):
        for way in range(4):  # one segment, two, three, two TLS records
            family = 4 if (i + way) % 2 == 0 else 6
            conv = Conversation(out, index, family, t, 40000 + index, 443)
            if way == 0:
                pieces = [hello]
            elif way == 3:
                pieces = [refragment(hello, (len(hello) - 5) // 2)]
            else:
                pieces = split(hello, way + 1)
            conv.tcp_exchange(pieces, b'\x15\x03\x03\x00\x02\x02\x28')  # an alert
            index, t = index + 1, t + 0.05
    for i, request in enumerate(HTTP_REQUESTS):
        for parts in (1, 3):
            family = 4 if (i + parts) % 2 == 0 else 6
            conv = Conversation(out, index, family, t, 41000 + index, 80)
            conv.tcp_exchange(split(request, parts), b'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')
            index, t = index + 1, t + 0.05
    for i, (name, qtype, rcode, answers) in enumerate(DNS_EXCHANGES):
        for over_tcp in (False, True):
            family = 4 if (i + over_tcp) % 2 == 0 else 6
            conv = Conversation(out, index, family, t, 42000 + index, 53)
            query = dns_message(0x1000 + index, name, qtype, False)
            reply = dns_message(0x1000 + index, name, qtype, True, rcode, answers)
            if over_tcp:
                conv.tcp_exchange([struct.pack('!H', len(query)) + query],
                                  struct.pack('!H', len(reply)) + reply)
            else:
                conv.udp(0, query)
                conv.udp(1, reply)
            index, t = index + 1, t + 0.05
    return out


def write_pcap(path, packets):
    with open(path, 'wb') as handle:
        handle.write(struct.pack('<IHHiIII', 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, data in sorted(packets, key=lambda p: p[0]):
            usec_total = int(round(ts * 1_000_000))
            handle.write(struct.pack('<IIII', usec_total // 1_000_000, usec_total % 1_000_000,
                                     len(data), len(data)))
            handle.write(data)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out')
    args = parser.parse_args()
    write_pcap(args.out, generate())


if __name__ == '__main__':
    main()
