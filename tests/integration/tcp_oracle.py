"""Oracles for the TCP metrics (docs/tcp-metrics.md), shared by
tcp_metrics_test.py and scripts/tcp_metrics_report.py.

- tshark_directions(pcap): per TCP direction (src, sport, dst, dport), how
  many frames tshark flags with each tcp.analysis.* filter, and the frames
  of each handshake (times, iRTT).
- probe_directions(flows): the same counters from skyprobe's records.
- GopacketStream: a model of gopacket's tcpassembly (pages of 1900 bytes,
  unbounded buffering) feeding Skydive's TCPAssemblerStream, written from
  their documented behaviour: the second implementation the stream counters
  are checked against.
"""

import collections
import ipaddress
import struct
import subprocess

HEALTH = (
    ('Retransmissions', 'tcp.analysis.retransmission'),
    ('FastRetransmissions', 'tcp.analysis.fast_retransmission'),
    ('OutOfOrder', 'tcp.analysis.out_of_order'),
    ('LostSegments', 'tcp.analysis.lost_segment'),
    ('DupAcks', 'tcp.analysis.duplicate_ack'),
    ('ZeroWindows', 'tcp.analysis.zero_window'),
)
STREAM = ('SegmentOutOfOrder', 'SegmentSkipped', 'SegmentSkippedBytes',
          'Packets', 'Bytes', 'SawStart', 'SawEnd')

_FIELDS = ['frame.number', 'frame.time_epoch', 'ip.src', 'ipv6.src',
           'ip.dst', 'ipv6.dst', 'tcp.srcport', 'tcp.dstport', 'tcp.flags',
           'tcp.seq_raw', 'tcp.ack_raw', 'tcp.len', 'frame.len', 'frame.cap_len',
           'tcp.analysis.initial_rtt', 'icmp.type', 'icmpv6.type'] + \
    [f for _, f in HEALTH]


def norm_ip(text):
    return str(ipaddress.ip_address(text))


# ---------------------------------------------------------------------------
# Which captures carry TCP (a cheap scan, before running tshark on them)
# ---------------------------------------------------------------------------

# Offset of the IP header for the link types skyprobe decodes.
_IP_OFFSET = {0: 4, 12: 0, 101: 0, 113: 16, 228: 0, 229: 0}


def _frame_has_tcp(linktype, data):
    if linktype == 1:
        off, ether_type = 14, data[12:14]
        while ether_type in (b'\x81\x00', b'\x88\xa8') and len(data) >= off + 4:
            ether_type, off = data[off + 2:off + 4], off + 4
        if ether_type not in (b'\x08\x00', b'\x86\xdd'):
            return False
    elif linktype in _IP_OFFSET:
        off = _IP_OFFSET[linktype]
    else:
        return False
    if len(data) < off + 20:
        return False
    version = data[off] >> 4
    if version == 4:
        return data[off + 9] == 6
    return version == 6 and len(data) >= off + 40 and data[off + 6] == 6


def _records(blob):
    """(linktype, frame bytes) of a classic pcap or pcapng capture."""
    magic = blob[:4]
    if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1', b'\xa1\xb2\xc3\xd4',
                 b'\xa1\xb2\x3c\x4d'):
        endian = '<' if magic[0] in (0xd4, 0x4d) else '>'
        linktype = struct.unpack(endian + 'I', blob[20:24])[0] & 0x03FFFFFF
        offset = 24
        while offset + 16 <= len(blob):
            caplen = struct.unpack(endian + 'I', blob[offset + 8:offset + 12])[0]
            yield linktype, blob[offset + 16:offset + 16 + caplen]
            offset += 16 + caplen
    elif magic == b'\x0a\x0d\x0d\x0a' and len(blob) >= 12:
        endian = '<' if blob[8:12] == b'\x4d\x3c\x2b\x1a' else '>'
        links, offset = [], 0
        while offset + 12 <= len(blob):
            kind, length = struct.unpack(endian + 'II', blob[offset:offset + 8])
            if length < 12:
                return
            body = blob[offset + 8:offset + length - 4]
            if kind == 1 and len(body) >= 2:
                links.append(struct.unpack(endian + 'H', body[:2])[0])
            elif kind == 6 and len(body) >= 20:
                iface, _, _, caplen = struct.unpack(endian + 'IIII', body[:16])
                if iface < len(links):
                    yield links[iface], body[20:20 + caplen]
            offset += length


def has_tcp(path):
    """True when a frame of the capture is IPv4/IPv6 + TCP right after the
    link header (tunnelled TCP is not looked for)."""
    with open(path, 'rb') as handle:
        blob = handle.read()
    try:
        return any(_frame_has_tcp(lt, data) for lt, data in _records(blob))
    except (struct.error, IndexError):
        return False


class Frame:
    """One TCP frame as tshark saw it (the first TCP header of the frame)."""

    __slots__ = ('number', 'time_ns', 'key', 'flags', 'seq', 'ack', 'len',
                 'irtt_ns', 'marks', 'layers', 'cut')

    def direction(self):
        return self.key


def _first(value):
    return value.split(',')[0] if value else ''


def _last(value):
    """The innermost occurrence: a tunnelled TCP header's own IP is the last."""
    return value.split(',')[-1] if value else ''


def _time_ns(text):
    secs, _, frac = text.partition('.')
    return int(secs) * 1_000_000_000 + int((frac + '000000000')[:9])


def tshark_frames(tshark, pcap, timeout=600):
    """Every frame with a TCP header, in file order."""
    cmd = [tshark, '-r', pcap, '-n', '-Y', 'tcp', '-T', 'fields',
           '-E', 'separator=|', '-E', 'occurrence=a']
    for field in _FIELDS:
        cmd += ['-e', field]
    out = subprocess.run(cmd, capture_output=True, timeout=timeout,
                         check=True).stdout.decode('utf-8', 'replace')
    frames = []
    for line in out.splitlines():
        cols = line.split('|')
        if len(cols) != len(_FIELDS):
            continue
        row = dict(zip(_FIELDS, cols))
        # TCP quoted inside an ICMP error is not analysed by Wireshark and
        # makes no flow of its own here.
        if row['icmp.type'] or row['icmpv6.type'] or not row['tcp.srcport']:
            continue
        # The TCP header's own IP header is the innermost one; with an IPv4
        # and an IPv6 header both present, the innermost is unknown here.
        if row['ip.src'] and row['ipv6.src']:
            continue
        src = _last(row['ip.src']) or _last(row['ipv6.src'])
        dst = _last(row['ip.dst']) or _last(row['ipv6.dst'])
        if not src:
            continue
        f = Frame()
        f.number = int(row['frame.number'])
        f.time_ns = _time_ns(row['frame.time_epoch'])
        f.layers = len(row['tcp.srcport'].split(','))
        f.key = (norm_ip(src), int(_last(row['tcp.srcport'])), norm_ip(dst),
                 int(_last(row['tcp.dstport'])))
        f.flags = int(_last(row['tcp.flags']) or '0', 16)
        f.seq = int(_last(row['tcp.seq_raw']) or 0)
        f.ack = int(_last(row['tcp.ack_raw']) or 0)
        # No tcp.len: Wireshark did not analyse the segment (an IP fragment, a
        # header it could not read).
        f.len = int(_last(row['tcp.len'])) if _last(row['tcp.len']) else None
        f.cut = int(row['frame.cap_len'] or 0) < int(row['frame.len'] or 0)
        irtt = _last(row['tcp.analysis.initial_rtt'])
        f.irtt_ns = _time_ns(irtt) if irtt else None
        f.marks = {name for name, field in HEALTH if row[field]}
        frames.append(f)
    return frames


def tshark_directions(frames):
    """{direction: {counter: frames flagged}} from tshark_frames()."""
    counts = collections.defaultdict(collections.Counter)
    for f in frames:
        c = counts[f.key]
        c['frames'] += 1
        for name in f.marks:
            c[name] += 1
    return counts


def flow_direction_keys(flow):
    """(A->B key, B->A key) of a flow record, or None without TCP."""
    net = flow.get('Network') or {}
    tr = flow.get('Transport') or {}
    if tr.get('Protocol') != 'TCP' or not net.get('A'):
        return None
    a = (norm_ip(net['A']), int(tr.get('A', 0)))
    b = (norm_ip(net['B']), int(tr.get('B', 0)))
    return a + b, b + a


def probe_directions(flows, prefix_names, field_suffixes):
    """{direction: {suffix: sum over the flows}} for TCPMetric fields
    AB<suffix> / BA<suffix>; fields absent count as missing (None)."""
    out = collections.defaultdict(dict)
    for flow in flows:
        keys = flow_direction_keys(flow)
        if keys is None:
            continue
        tcp = flow.get('TCPMetric') or {}
        for key, side in zip(keys, prefix_names):
            row = out[key]
            for suffix in field_suffixes:
                value = tcp.get(side + suffix)
                if value is None:
                    row.setdefault(suffix, None)
                else:
                    row[suffix] = (row.get(suffix) or 0) + int(value)
    return out


# ---------------------------------------------------------------------------
# gopacket tcpassembly + Skydive's stream, as documented
# ---------------------------------------------------------------------------

PAGE_BYTES = 1900


def _diff(a, b):
    """gopacket's Sequence.Difference(a, b): b - a with its wrap rule."""
    size = 1 << 32
    if a > size - size // 4 and b < size // 4:
        b += size
    elif b > size - size // 4 and a < size // 4:
        a += size
    return b - a


class GopacketStream:
    """One direction: gopacket's connection and Skydive's stream counters.

    Pages hold (seq, length, seen_ns, end); bytes are never needed, only
    their count. `max_gaps` records the most gaps that ever waited at once
    and `pages_split` whether a segment over 1900 bytes was buffered: the
    probe's tracker is documented to agree when max_gaps <= 2, no page was
    split, the stream started with a SYN and capture times never tie or go
    back while segments wait. `exclusions()` names what the probe's
    documented rules do differently for this stream.
    """

    def __init__(self):
        self.next = None
        self.pages = []      # sorted by seq: [seq, length, seen, end]
        self.closed = False
        self.start = None
        self.end = None
        self.packets = 0
        self.bytes = 0
        self.ooo = 0
        self.skipped = 0
        self.skipped_bytes = 0
        self.saw_start = False
        self.saw_end = False
        self.max_gaps = 0
        self.pages_split = False
        self.mid_stream = False
        self.after_close = False
        self.inner_repeat = False
        self.ties = False
        self.isn = None
        self.reused = False
        self.cut = False

    def _deliver(self, chunks):
        for length, seen, skip, start, end in chunks:
            if self.start is None:
                self.start = seen
                self.end = seen
            if seen < self.end:
                self.ooo += 1
            else:
                if seen == self.end and self.packets:
                    self.ties = True
                self.end = seen
            self.bytes += length
            self.packets += 1
            if skip:
                self.skipped += 1
                self.skipped_bytes += skip
            self.saw_start |= start
            self.saw_end |= end
        if chunks and chunks[-1][4]:
            self.closed = True
            self.pages = []

    def _span(self, seq, length):
        """Bytes of [seq, seq+length) past next; moves next."""
        span = _diff(seq, self.next)
        if span <= 0:
            self.next = (seq + length) % (1 << 32)
            return length
        if length < span:
            return 0
        self.next = (self.next + length - span) % (1 << 32)
        return length - span

    def _pop(self, chunks, skip_allowed):
        seq, length, seen, end = self.pages.pop(0)
        skip = 0
        if self.next is None:
            skip = -1
            self.next = seq
        else:
            gap = _diff(self.next, seq)
            if gap > 0:
                skip = gap
        chunks.append((self._span(seq, length), seen, skip, False, end))

    def _contiguous(self, chunks):
        while self.pages and _diff(self.next, self.pages[0][0]) <= 0:
            self._pop(chunks, False)

    def _gaps(self):
        gaps, reach = 0, self.next
        for seq, length, _, _ in self.pages:
            if reach is None or _diff(reach, seq) > 0:
                gaps += 1
            end = (seq + length) % (1 << 32)
            if reach is None or _diff(reach, end) > 0:
                reach = end
        return gaps

    def add(self, seq, length, flags, seen):
        syn, fin, rst = flags & 0x02, flags & 0x01, flags & 0x04
        if syn:
            if self.isn is not None and seq != self.isn:
                self.reused = True    # ports reused: a new connection
            self.isn = seq
        if not syn and not fin and not rst and length == 0:
            return
        if self.closed:
            if syn or length:
                self.after_close = True
            return
        if self.next is None and not syn and length == 0:
            return
        chunks = []
        if self.next is None:
            if syn:
                self.next = (seq + length + 1) % (1 << 32)
                chunks.append((length, seen, 0, True, False))
            else:
                self.mid_stream = True
                self._insert(seq, length, seen, bool(fin or rst))
        elif _diff(self.next, seq) > 0:
            self._insert(seq, length, seen, bool(fin or rst))
        else:
            chunks.append((self._span(seq, length), seen, 0, False, bool(fin or rst)))
        if chunks:
            self._contiguous(chunks)
            self._deliver(chunks)
        self.max_gaps = max(self.max_gaps, self._gaps())

    def _insert(self, seq, length, seen, end):
        if length > PAGE_BYTES:
            self.pages_split = True
        pieces = []
        offset = 0
        while True:
            n = min(length - offset, PAGE_BYTES)
            pieces.append([(seq + offset) % (1 << 32), n, seen, False])
            offset += n
            if offset >= length:
                break
        pieces[-1][3] = end
        at = len(self.pages)
        while at > 0 and _diff(seq, self.pages[at - 1][0]) > 0:
            at -= 1
        # Bytes that already wait, sent again, with waiting pages above them.
        for p in self.pages:
            if _diff(p[0], seq) >= 0 and _diff(seq, (p[0] + p[1]) % (1 << 32)) > 0 \
                    and at < len(self.pages):
                self.inner_repeat = True
        self.pages[at:at] = pieces

    def flush(self):
        """FlushAll: give up every gap."""
        while self.pages and not self.closed:
            chunks = []
            self._pop(chunks, True)
            self._contiguous(chunks)
            self._deliver(chunks)

    def exclusions(self):
        """Why the probe's tracker may differ here (docs/tcp-metrics.md)."""
        reasons = (
            ('more than 2 gaps waiting', self.max_gaps > 2),
            ('a segment over 1900 bytes waited (gopacket splits it)', self.pages_split),
            ('first seen mid-stream', self.mid_stream),
            ('segments after the stream ended', self.after_close),
            ('ports reused by a new connection', self.reused),
            ('waiting bytes sent again', self.inner_repeat),
            ('equal capture times', self.ties),
            ('payload cut by the snaplen (gopacket counts captured bytes)', self.cut),
        )
        return [text for text, hit in reasons if hit]

    def counters(self):
        return {'SegmentOutOfOrder': self.ooo, 'SegmentSkipped': self.skipped,
                'SegmentSkippedBytes': self.skipped_bytes,
                'Packets': self.packets, 'Bytes': self.bytes,
                'SawStart': int(self.saw_start), 'SawEnd': int(self.saw_end)}


def gopacket_directions(frames):
    """{direction: GopacketStream} over tshark_frames(), flushed at the end."""
    streams = {}
    for f in frames:
        if f.layers != 1 or f.len is None:
            continue
        s = streams.setdefault(f.key, GopacketStream())
        s.cut |= f.cut and f.len > 0
        s.add(f.seq, f.len, f.flags, f.time_ns)
    for s in streams.values():
        s.flush()
    return streams
