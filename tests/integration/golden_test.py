#!/usr/bin/env python3
"""Golden tests: Skydive's flow-test traces through the real skyprobe binary.

Each trace of ../shared/pcaps/skydive is replayed (the mapped reader); the
flows of the JSON output are compared with the values Skydive's own tests
assert (pcaps/skydive/MANIFEST.md) and with "derived" values: TrackingID,
L3TrackingID and UUID computed by a re-implementation of Skydive's key
hashing written apart from skyprobe (standard XXH64 over the key bytes that
src/table/flow_key.h lists, UUID seeded with the table key over Start and
NodeTID); no Skydive test asserts those. Traces without
expectations here (tunnels) must at least go through cleanly with
the counters adding up. The committed demo capture (tests/data/demo.pcap) is
checked against the generator's ground truth.
"""

import collections
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skyprobe_harness as h  # noqa: E402

ABSENT = object()   # the sub-object must not appear in the record
NONZERO = object()  # any non-zero value


def row(path=None, app=None, link=None, net=None, transport=None, ab=None,
        ba=None, **extra):
    """Build an expected flow as {dotted field: value}.

    link: (A, B[, ID]) or ABSENT; net: (A, B[, ID]) or ABSENT;
    transport: (Protocol, A, B) or ABSENT; ab/ba: (packets, bytes);
    extra: dotted fields with '__' for '.', e.g. Metric__RTT=33000.
    """
    want = {}
    if path is not None:
        want['LayersPath'] = path
    if app is not None:
        want['Application'] = app
    layers = (('Link', link, ('A', 'B', 'ID')),
              ('Network', net, ('A', 'B', 'ID')),
              ('Transport', transport, ('Protocol', 'A', 'B')))
    for name, value, keys in layers:
        if value is ABSENT:
            want[name] = ABSENT
        elif value is not None:
            want.update({'%s.%s' % (name, k): v for k, v in zip(keys, value)})
    for prefix, value in (('AB', ab), ('BA', ba)):
        if value is not None:
            want['Metric.%sPackets' % prefix] = value[0]
            want['Metric.%sBytes' % prefix] = value[1]
    want.update({k.replace('__', '.'): v for k, v in extra.items()})
    return want


MISSING = object()


def field(flow, dotted):
    """Value of a dotted field of a flow record, MISSING when absent."""
    value = flow
    for part in dotted.split('.'):
        if not isinstance(value, dict) or part not in value:
            return MISSING
        value = value[part]
    return value


# Proto3 JSON omits zero/empty values that are "omitempty" in Skydive (RTT,
# TTLs, ICMP code, NodeTID, ...): compare them as 0 / ''.
def normalized(value, like):
    """Map MISSING to the zero value of the expected type."""
    if value is MISSING and isinstance(like, int) and not isinstance(like,
                                                                     bool):
        return 0
    if value is MISSING and isinstance(like, str):
        return ''
    return value


def selects(flow, want):
    """True when flow has the expected endpoints, in either orientation."""
    for layer in ('Link', 'Network', 'Transport'):
        a, b = want.get(layer + '.A'), want.get(layer + '.B')
        if a is None:
            continue
        got = {str(field(flow, layer + '.A')), str(field(flow, layer + '.B'))}
        if got != {str(a), str(b)}:
            return False
    for name in ('ICMP.ID',):
        if name in want and field(flow, name) != want[name]:
            return False
    return True


def mismatches(flow, want):
    """List of 'field: expected X, got Y' for one flow."""
    out = []
    for name, expected in want.items():
        got = field(flow, name)
        if expected is ABSENT:
            if got not in (MISSING, None):
                out.append('%s: expected absent, got %.120r' % (name, got))
        elif expected is NONZERO:
            if got in (MISSING, None, 0, ''):
                out.append('%s: expected non-zero, got %r'
                           % (name, None if got is MISSING else got))
        elif normalized(got, expected) != expected:
            out.append('%s: expected %r, got %r'
                       % (name, expected, None if got is MISSING else got))
    return out


def summarize(flow):
    """One-line description of a flow for failure messages."""
    parts = [str(field(flow, k)) for k in (
        'LayersPath', 'Link.A', 'Link.B', 'Network.A', 'Network.B',
        'Transport.A', 'Transport.B', 'Metric.ABPackets', 'Metric.BAPackets')]
    return ' '.join(p for p in parts if p != str(MISSING))


class TraceCase(unittest.TestCase):
    """Helpers to run a trace and compare flows."""

    maxDiff = None

    def trace(self, name):
        """Path of a Skydive trace (skip/fail when the folder is absent)."""
        path = os.path.join(h.shared_dir('skydive'), name)
        self.assertTrue(os.path.isfile(path), 'missing trace %s' % path)
        return path

    def run_trace(self, name, *args, path=None):
        """Run skyprobe on a trace; check exit, records and counters."""
        h.require_skyprobe(self)
        path = path or self.trace(name)
        label = '%s %s' % (name, ' '.join(args)) if args else name
        with tempfile.TemporaryDirectory() as tmp:
            run = h.run_skyprobe(['--pcap', path] + list(args),
                                 json_path=os.path.join(tmp, 'flows.json'),
                                 timeout=120)
        self.assertFalse(run.timed_out, run.describe())
        self.assertEqual(run.returncode, 0, run.describe())
        flows = h.final_flows(self, run.records, label)
        h.check_counters(self, run, flows, label)
        if path.endswith('.pcap'):
            records = h.read_pcap(path)[1]
            self.assertEqual(run.summary['packets_in'], len(records),
                             '%s: packets_in vs records in the file' % label)
        return run, flows

    def assert_flows(self, label, flows, expected, count=None):
        """Each expected row matches one flow; optionally the flow count."""
        problems = []
        if count is not None and len(flows) != count:
            problems.append('flow count: expected %d, got %d'
                            % (count, len(flows)))
        for want in expected:
            candidates = [f for f in flows if selects(f, want)]
            if not candidates:
                problems.append('no flow with endpoints of %s' % _ident(want))
                continue
            diffs = [mismatches(f, want) for f in candidates]
            best = min(diffs, key=len)
            if best:
                problems.append('%s: %s' % (_ident(want), '; '.join(best)))
        if problems:
            self.fail('%s:\n  %s\nflows:\n  %s' % (
                label, '\n  '.join(problems),
                '\n  '.join(summarize(f) for f in flows[:20])))


def _ident(want):
    keys = ('LayersPath', 'Link.A', 'Network.A', 'Network.B', 'Transport.A',
            'ICMP.ID')
    return '[%s]' % ' '.join('%s=%s' % (k, want[k]) for k in keys
                             if k in want)


class SkydiveGoldenTest(TraceCase):
    """Values asserted by Skydive's flow tests (MANIFEST.md)."""

    def test_dns(self):
        """dns.pcap: 6 DNS flows (DNS content not checked yet)."""
        _, flows = self.run_trace('dns.pcap')
        link = ('14:4f:8a:d7:59:3d', '40:9b:cd:d2:7b:11')
        net = ('10.0.0.12', '10.0.0.138')
        table = ((41278, (2, 150), (2, 683)), (33823, (1, 77), (1, 294)),
                 (56656, (2, 148), (2, 510)), (54893, (1, 77), (1, 354)),
                 (42992, (1, 74), (1, 440)), (57048, (1, 70), (1, 154)))
        self.assert_flows('dns.pcap', flows, [
            row('Ethernet/IPv4/UDP/DNS', 'DNS', link, net, ('UDP', port, 53),
                ab, ba) for port, ab, ba in table], count=6)

    def test_eth_ip4_arp_dns_req_http_google(self):
        """ARP request and reply, 2 DNS and 2 HTTP flows: 6 flows."""
        _, flows = self.run_trace('eth-ip4-arp-dns-req-http-google.pcap')
        host, gw = 'fa:16:3e:29:e0:82', 'fa:16:3e:96:06:e8'
        self.assert_flows('eth-ip4-arp-dns-req-http-google', flows, [
            row('Ethernet/ARP', 'ARP', (host, 'ff:ff:ff:ff:ff:ff'), ABSENT,
                ABSENT, (1, 42), (0, 0)),
            # derived: the ARP reply is its own flow (other MAC pair).
            row('Ethernet/ARP', 'ARP', (gw, host), ABSENT, ABSENT, (1, 42),
                (0, 0)),
            row('Ethernet/IPv4/UDP/DNS', 'DNS', (host, gw),
                ('192.168.0.5', '8.8.8.8'), ('UDP', 37686, 53), (2, 148),
                (2, 256)),
            row('Ethernet/IPv4/TCP', 'TCP', (host, gw),
                ('192.168.0.5', '173.194.40.147'), ('TCP', 47838, 80),
                (6, 516), (4, 760)),
            row('Ethernet/IPv4/UDP/DNS', 'DNS', (host, gw),
                ('192.168.0.5', '8.8.8.8'), ('UDP', 33553, 53), (2, 146),
                (2, 190)),
            row('Ethernet/IPv4/TCP', 'TCP', (host, gw),
                ('192.168.0.5', '216.58.211.67'), ('TCP', 54785, 80),
                (20, 1475), (18, 21080)),
        ], count=6)

    def test_eth_ipv4_tcp_http_ooo(self):
        """One HTTP flow (out-of-order metrics not checked yet)."""
        name = 'eth-ipv4-tcp-http-ooo.pcap'
        _, flows = self.run_trace(name)
        host = 'fa:16:3e:29:e0:82'
        records = h.read_pcap(self.trace(name))[1]
        # derived: per-direction totals counted from the trace (wire length).
        ab = [r.wirelen for r in records if r.data[6:12].hex(':') == host]
        ba = [r.wirelen for r in records if r.data[6:12].hex(':') != host]
        self.assert_flows(name, flows, [row(
            'Ethernet/IPv4/TCP', 'TCP', (host, 'fa:16:3e:96:06:e8'),
            ('192.168.0.5', '216.58.211.67'), ('TCP', 54785, 80),
            (len(ab), sum(ab)), (len(ba), sum(ba)))], count=1)

    def test_icmp_vlan(self):
        """Two identical tagged echo requests: one Dot1Q flow (derived)."""
        _, flows = self.run_trace('icmp-vlan.pcap')
        self.assert_flows('icmp-vlan.pcap', flows, [row(
            'Ethernet/Dot1Q/IPv4/ICMPv4', 'ICMPv4',
            ('fa:16:3e:ef:a8:2a', 'fa:16:3e:56:f2:e9', 5),
            ('192.168.21.2', '192.168.21.11', 0), ABSENT, (2, 204), (0, 0),
            ICMP__Type='ECHO', ICMP__ID=30122, Metric__RTT=0)], count=1)

    def test_icmpv4_4vlan_qinq(self):
        """Four stacked-VLAN pings and one ARP flow."""
        name = 'icmpv4-4vlanQinQ-id-8-10-20-30.pcap'
        _, flows = self.run_trace(name)
        a, b = '92:b6:d9:98:93:bb', 'f2:74:63:a0:e3:7f'
        pings = (('Ethernet/Dot1Q/IPv4/ICMPv4', 8, '172.16.0', (10, 1020),
                  (8, 816)),
                 ('Ethernet/Dot1Q/Dot1Q/IPv4/ICMPv4', 40968, '172.16.10',
                  (10, 1060), (10, 1060)),
                 ('Ethernet/Dot1Q/Dot1Q/Dot1Q/IPv4/ICMPv4', 335585288,
                  '172.16.20', (10, 1100), (9, 990)),
                 ('Ethernet/Dot1Q/Dot1Q/Dot1Q/Dot1Q/IPv4/ICMPv4',
                  2061919887368, '172.16.30', (10, 1140), (8, 912)))
        expected = [row(path, 'ICMPv4', (a, b, vid), (net + '.2', net + '.1'),
                        ABSENT, ab, ba) for path, vid, net, ab, ba in pings]
        # derived: ARP is keyed on the MAC pair only, so the 16 ARP packets
        # of the four VLAN stacks form one flow named after the first one
        # (VLANs 8,10,20 from 92:b6:...).
        expected.append(row('Ethernet/Dot1Q/Dot1Q/Dot1Q/ARP', 'ARP',
                            (a, b, 335585288), ABSENT, ABSENT, (8, 416),
                            (8, 416)))
        self.assert_flows(name, flows, expected, count=5)

    def test_icmpv4_symetric(self):
        """100 request/reply pairs: 100 flows, 100 distinct UUIDs."""
        name = 'icmpv4-symetric.pcap'
        _, flows = self.run_trace(name)
        self.assertEqual(len(flows), 100)
        self.assertEqual(len({f['UUID'] for f in flows}), 100)
        # derived: each echo request (sent from either side: .1-.50 ping
        # .51-.100, then the reverse) opens its flow; its reply is B->A.
        expected = []
        for record in h.read_pcap(self.trace(name))[1]:
            frame = record.data
            if frame[12:14] != b'\x08\x00' or frame[34] != 8:
                continue
            expected.append(row(
                'Ethernet/IPv4/ICMPv4', 'ICMPv4',
                (frame[6:12].hex(':'), frame[0:6].hex(':')),
                ('.'.join(map(str, frame[26:30])),
                 '.'.join(map(str, frame[30:34]))), ABSENT, (1, 98), (1, 98),
                ICMP__Type='ECHO',
                ICMP__ID=int.from_bytes(frame[38:40], 'big')))
        self.assertEqual(len(expected), 100, 'echo requests in the trace')
        self.assert_flows(name, flows, expected, count=100)

    def test_icmpv4_symetric_node_tid(self):
        """--node-tid sets NodeTID and changes UUIDs, not TrackingIDs."""
        _, plain = self.run_trace('icmpv4-symetric.pcap')
        _, tagged = self.run_trace('icmpv4-symetric.pcap', '--node-tid',
                                   'probe-1')
        self.assertEqual({f.get('NodeTID') for f in tagged}, {'probe-1'})
        self.assertEqual(sorted(f.get('TrackingID') for f in plain),
                         sorted(f.get('TrackingID') for f in tagged))
        self.assertFalse({f['UUID'] for f in plain} & {f['UUID']
                                                       for f in tagged},
                         'UUID must depend on NodeTID')

    def test_icmpv4_truncated(self):
        """Wire length counts although snaplen was 256; RTT in ns."""
        _, flows = self.run_trace('icmpv4-truncated.pcap')
        self.assert_flows('icmpv4-truncated.pcap', flows, [row(
            'Ethernet/IPv4/ICMPv4', 'ICMPv4', None,
            ('10.201.243.198', '8.8.8.8'), ABSENT, (1, 1066), (1, 1066),
            Metric__RTT=13104000, Metric__Start=NONZERO, Metric__Last=NONZERO,
            Start=1520931870642, NodeTID='',
            # derived (see the module docstring):
            TrackingID='2b90f25c1867c848', L3TrackingID='738080891b9e0c3a',
            UUID='8233a84798e73aad')], count=1)

    def _fragment_frames(self):
        """Wire lengths of ipv4-fragments.pcap: (fragments, other frames)."""
        records = h.read_pcap(self.trace('ipv4-fragments.pcap'))[1]
        frags, others = [], []
        for r in records:
            flags_offset = int.from_bytes(r.data[20:22], 'big')
            is_frag = flags_offset & 0x2000 or flags_offset & 0x1FFF
            (frags if is_frag else others).append(r.wirelen)
        self.assertEqual((len(frags), len(others)), (2, 1))
        return frags, others

    def test_ipv4_fragments_defrag_on(self):
        """Defrag on (default): 1 flow Ethernet/IPv4/Fragment/ICMPv4 with
        IPMetric {Fragments 1, FragmentErrors 0}; beyond Skydive, both
        fragment frames count in it with their own lengths (derived)."""
        run, flows = self.run_trace('ipv4-fragments.pcap')
        frags, others = self._fragment_frames()
        self.assert_flows('ipv4-fragments defrag on', flows, [row(
            'Ethernet/IPv4/Fragment/ICMPv4', 'ICMPv4', None,
            ('2.1.1.2', '2.1.1.1'), ABSENT, (2, sum(frags)),
            (1, sum(others)), IPMetric__Fragments=1,
            IPMetric__FragmentErrors=0, ICMP__Type='ECHO')], count=1)
        summary = run.summary
        self.assertEqual(summary['packets_in_flows'], 3)
        self.assertEqual(summary['defrag_fragments'], 2)
        self.assertEqual(summary['defrag_datagrams'], 1)
        for name in ('defrag_timeouts', 'defrag_table_full', 'defrag_flushed',
                     'defrag_overlaps', 'defrag_too_many', 'defrag_held'):
            self.assertEqual(summary[name], 0, name)

    def test_ipv4_fragments_defrag_off(self):
        """--no-ip-defrag: 2 flows, one of them Ethernet/IPv4/Fragment (no
        transport, no IPMetric) holding both fragments."""
        run, flows = self.run_trace('ipv4-fragments.pcap', '--no-ip-defrag')
        frags, others = self._fragment_frames()
        self.assert_flows('ipv4-fragments defrag off', flows, [
            row('Ethernet/IPv4/Fragment', 'Fragment', None,
                ('2.1.1.2', '2.1.1.1'), ABSENT, (2, sum(frags)), (0, 0),
                IPMetric=ABSENT, ICMP=ABSENT),
            row('Ethernet/IPv4/ICMPv4', 'ICMPv4', None,
                ('2.1.1.1', '2.1.1.2'), ABSENT, (1, sum(others)), (0, 0),
                IPMetric=ABSENT),
        ], count=2)
        self.assertNotIn('defrag_fragments', run.summary)

    def test_iperf_same_l2l3(self):
        """Equal MACs and IPs: the port tie-break makes the SYN B->A."""
        _, flows = self.run_trace('iperf-same-L2L3.pcap')
        zero = '00:00:00:00:00:00'
        self.assert_flows('iperf-same-L2L3.pcap', flows, [row(
            'Ethernet/IPv4/TCP', 'TCP', (zero, zero, 0),
            ('127.0.0.1', '127.0.0.1', 0),
            ('TCP', 60038, 5001),  # derived: A is the first packet's source
            (10, 668), (13, 263010))], count=1)

    def test_layer_key_mode_l3(self):
        """L3 key mode: one flow over both MAC pairs."""
        _, flows = self.run_trace('layer-key-mode.pcap', '--key-mode', 'L3')
        self.assert_flows('layer-key-mode L3', flows, [row(
            'Ethernet/IPv4/ICMPv4', 'ICMPv4',
            ('f2:45:25:5b:3a:bc', '2e:b9:2d:76:24:07'),
            ('192.168.0.2', '192.168.0.1'), ABSENT, (2, 196), (2, 196),
            TrackingID='9e42a86914a043b8', L3TrackingID='9e42a86914a043b8',
            ICMP__Type='ECHO', ICMP__ID=23604)], count=1)

    def test_layer_key_mode_l2(self):
        """L2 key mode: one flow per MAC pair, same L3TrackingID."""
        _, flows = self.run_trace('layer-key-mode.pcap', '--key-mode', 'L2')
        net = ('192.168.0.2', '192.168.0.1')
        dst = '2e:b9:2d:76:24:07'
        self.assert_flows('layer-key-mode L2', flows, [
            row('Ethernet/IPv4/ICMPv4', 'ICMPv4', ('f2:45:25:5b:3a:ac', dst),
                net, ABSENT, (1, 98), (1, 98), TrackingID='6952cad8cd38c63c',
                L3TrackingID='9e42a86914a043b8', ICMP__Type='ECHO',
                ICMP__ID=23604),
            row('Ethernet/IPv4/ICMPv4', 'ICMPv4', ('f2:45:25:5b:3a:bc', dst),
                net, ABSENT, (1, 98), (1, 98), TrackingID='a25d427a9f9dcdb8',
                L3TrackingID='9e42a86914a043b8', ICMP__Type='ECHO',
                ICMP__ID=23604,
                # derived (see the module docstring):
                Start=1526468153643, UUID='73b2b3bcc5609d4a'),
        ], count=2)

    def test_link_type_12(self):
        """Raw IPv4 forced by --link-type 12 although the header says 1."""
        _, flows = self.run_trace('link-type-12.pcap', '--link-type', '12')
        self.assert_flows('link-type-12.pcap', flows, [row(
            'IPv4/TCP', 'TCP', ABSENT, ('10.171.169.243', '192.168.255.1', 0),
            ('TCP', 10250, 41252), (1, 1398), (0, 0),
            # ab bytes derived: without Ethernet Skydive counts the IPv4
            # total length (1398), not the 256 captured bytes.
            Transport__ID=0)], count=1)

    def test_ntp_corrupted(self):
        """Corrupt NTP: the path stops at UDP."""
        _, flows = self.run_trace('ntp-corrupted.pcap')
        self.assert_flows('ntp-corrupted.pcap', flows, [row(
            'Ethernet/Dot1Q/IPv4/UDP', 'UDP',
            ('00:1c:0f:5c:a2:83', '00:1c:0f:09:00:10', 202),
            ('89.46.101.31', '196.95.70.83'), ('UDP', 40820, 123), (1, 50),
            (0, 0))], count=1)

    def test_simple_tcpv4(self):
        """Metrics, SYN/FIN times and TTLs, identifiers of one TCP flow."""
        _, flows = self.run_trace('simple-tcpv4.pcap')
        syn, fin = 1490086703768, 1490086707507
        self.assert_flows('simple-tcpv4.pcap', flows, [row(
            'Ethernet/IPv4/TCP', 'TCP',
            ('46:9b:b0:e6:70:fb', '92:46:c1:21:00:ae', 0),
            ('192.168.0.2', '192.168.0.1', 0), ('TCP', 36108, 3333),
            (5, 344), (3, 206), Metric__RTT=33000, Metric__Start=NONZERO,
            Metric__Last=NONZERO, TCPMetric__ABSynStart=syn,
            TCPMetric__BASynStart=syn, TCPMetric__ABSynTTL=64,
            TCPMetric__BASynTTL=64, TCPMetric__ABFinStart=fin,
            TCPMetric__BAFinStart=fin,
            # beyond Skydive: both sides sent FIN.
            FinishType='TCP_FIN',
            # derived (see the module docstring), with an empty NodeTID:
            Start=syn, NodeTID='', TrackingID='81789de63b9965cd',
            L3TrackingID='a8b1845da6a6715f', UUID='e43bcb2faaee0002')],
            count=1)

    def test_simple_tcpv6(self):
        """One TCP flow over IPv6."""
        _, flows = self.run_trace('simple-tcpv6.pcap')
        self.assert_flows('simple-tcpv6.pcap', flows, [row(
            'Ethernet/IPv6/TCP', 'TCP',
            ('46:9b:b0:e6:70:fb', '92:46:c1:21:00:ae'),
            ('fd49:37c8:5229::2', 'fd49:37c8:5229::1'), ('TCP', 35294, 3333),
            Network__Protocol='IPV6', Metric__RTT=28000,
            # derived (see the module docstring):
            Start=1490087502605, NodeTID='', TrackingID='cacfc1e6a2a24d73',
            L3TrackingID='2fd5bf8e0cd737d9', UUID='fbe08c181ff8df3a')],
            count=1)


# Traces with explicit expectations above; every other trace of the folder
# gets the generic checks of OtherTracesTest.
GOLDEN = {
    'dns.pcap', 'eth-ip4-arp-dns-req-http-google.pcap',
    'eth-ipv4-tcp-http-ooo.pcap', 'icmp-vlan.pcap',
    'icmpv4-4vlanQinQ-id-8-10-20-30.pcap', 'icmpv4-symetric.pcap',
    'icmpv4-truncated.pcap', 'iperf-same-L2L3.pcap', 'layer-key-mode.pcap',
    'ipv4-fragments.pcap',
    'link-type-12.pcap', 'ntp-corrupted.pcap', 'simple-tcpv4.pcap',
    'simple-tcpv6.pcap',
}


class OtherTracesTest(TraceCase):
    """Tunnels, fragments...: exit 0, one EXPIRE per flow, counters add up."""

    def test_other_traces(self):
        """Every remaining Skydive trace goes through cleanly."""
        folder = h.shared_dir('skydive')
        others = sorted(n for n in os.listdir(folder)
                        if n.endswith('.pcap') and n not in GOLDEN)
        self.assertTrue(others, 'no other traces found in %s' % folder)
        for name in others:
            with self.subTest(trace=name):
                self.run_trace(name)


class DemoCaptureTest(TraceCase):
    """tests/data/demo.pcap: reproducible, and flows match its ground truth."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.pcap = os.path.join(cls.tmp.name, 'demo.pcap')
        manifest = cls.pcap + '.json'
        subprocess.run([sys.executable, h.gen_pcap_script(), 'demo', cls.pcap,
                        '--manifest', manifest], check=True, timeout=120)
        with open(manifest, encoding='utf-8') as handle:
            cls.manifest = json.load(handle)
        cls.committed = os.path.join(h.source_root(), 'tests', 'data',
                                     'demo.pcap')

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_committed_demo_is_generated(self):
        """The committed demo.pcap is exactly what gen_pcap.py writes."""
        with open(self.committed, 'rb') as a, open(self.pcap, 'rb') as b:
            same = a.read() == b.read()
        self.assertTrue(same, 'tests/data/demo.pcap differs from '
                        '`gen_pcap.py demo`: regenerate it')
        self.assertLess(os.path.getsize(self.committed), 64 * 1024)

    def test_demo_flows(self):
        """One flow per generated conversation, with its ground truth."""
        _, flows = self.run_trace('demo.pcap', path=self.committed)
        expected = []
        for conv in self.manifest['conversations']:
            link = (conv['client_mac'], conv['server_mac'], conv['vlan'] or 0)
            ab = (conv['c2s_packets'], conv['c2s_bytes'])
            ba = (conv['s2c_packets'], conv['s2c_bytes'])
            if conv['kind'] == 'arp':
                expected.append(row(conv['layers_path'], 'ARP', link, ABSENT,
                                    ABSENT, ab, ba))
                continue
            net = (conv['client_ip'], conv['server_ip'])
            transport = ABSENT
            extra = {}
            if conv['kind'] == 'icmp':
                extra = {'ICMP__Type': 'ECHO', 'ICMP__ID': conv['icmp_id']}
            else:
                transport = (conv['kind'].upper(), conv['client_port'],
                             conv['server_port'])
            expected.append(row(conv['layers_path'], conv['application'],
                                link, net, transport, ab, ba,
                                Start=conv['start_us'] // 1000, **extra))
        self.assert_flows('demo.pcap', flows, expected,
                          count=len(self.manifest['conversations']))

    def test_demo_updates(self):
        """--update 5 on a 34 s capture: UPDATE records, same final totals,
        and the LastUpdateMetric deltas of a flow add up to its Metric."""
        _, plain = self.run_trace('demo.pcap', path=self.committed)
        run, final = self.run_trace('demo.pcap', '--update', '5',
                                    path=self.committed)
        updates = [r for r in run.records if r['Event'] == 'UPDATE']
        self.assertTrue(updates, 'no UPDATE record with --update 5')
        totals = {f['TrackingID']: f['Metric'] for f in plain}
        deltas = collections.defaultdict(collections.Counter)
        for record in run.records:
            for key, value in (record.get('LastUpdateMetric') or {}).items():
                if key.startswith(('AB', 'BA')):
                    deltas[record['TrackingID']][key] += int(value)
        for flow in final:
            tid = flow['TrackingID']
            for key in ('ABPackets', 'ABBytes', 'BAPackets', 'BABytes'):
                want = int(totals[tid].get(key, 0))
                self.assertEqual(h.metric(flow, key), want,
                                 '%s %s with --update'
                                 % (summarize(flow), key))
                self.assertEqual(deltas[tid][key], want,
                                 '%s: sum of LastUpdateMetric.%s'
                                 % (summarize(flow), key))


if __name__ == '__main__':
    h.main()
