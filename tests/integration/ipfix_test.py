"""--ipfix file: (RFC 5655) against the JSON records of the same run.

Each run writes both outputs. The IPFIX file must be read whole by ipfixDump
(libfixbuf, Debian libfixbuf-tools), its enterprise elements named from the
RFC 5610 type records (--rfc5610), and decoded by python3-ipfix
(ipfix_records.py) into records equal, element by element, to the JSON
records: identity, times, deltas that sum to each flow's Metric,
flowEndReason, addresses, ports, protocol, MACs, VLANs, tunnel ids, the
enterprise elements. tcpControlBits and MPLS label stack entries are checked
against tshark, and ingressInterface against the input each flow came from.

Inputs: every Skydive trace (../shared/pcaps/skydive), a generated capture
of 100k flows (tests/data/gen_pcap.py synthetic, with update records), the
generated tunnels capture, two inputs at once.
"""

import collections
import glob
import ipaddress
import os
import re
import shutil
import subprocess
import sys
import unittest

import ipfix_records as ir
import skyprobe_harness as h

PEN = ir.PEN


def tool(name, package):
    """The path of a tool the test needs, or skip (fail with
    SKYPROBE_REQUIRE_IPFIX_TOOLS=1, as CI sets)."""
    path = shutil.which(name)
    if path is None:
        message = '%s not found: install %s (scripts/setup.sh --tests)' % (name, package)
        if h.env_flag('SKYPROBE_REQUIRE_IPFIX_TOOLS'):
            raise AssertionError(message)
        raise unittest.SkipTest(message)
    return path


def require_ipfix_module():
    why = ir.ipfix_available()
    if why:
        if h.env_flag('SKYPROBE_REQUIRE_IPFIX_TOOLS'):
            raise AssertionError(why)
        raise unittest.SkipTest(why)


def ipfix_dump(testcase, path, expected_data_records):
    """ipfixDump reads the whole file, names the enterprise elements, and
    counts the data records we expect."""
    dump = tool('ipfixDump', 'libfixbuf-tools')
    stats = subprocess.run([dump, '--in', path, '--rfc5610', '--stats'], capture_output=True,
                           text=True, timeout=300)
    testcase.assertEqual(stats.returncode, 0, stats.stderr)
    testcase.assertEqual(stats.stderr.strip(), '', 'ipfixDump complained')
    match = re.search(r'File Stats: (\d+) Messages, (\d+) Data Records', stats.stdout)
    testcase.assertIsNotNone(match, stats.stdout[:500])
    testcase.assertEqual(int(match.group(2)), expected_data_records, stats.stdout[:500])
    return int(match.group(1))


class IpfixFileTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        require_ipfix_module()
        cls.out = h.scratch_dir('ipfix')

    def export(self, pcaps, extra=(), label='run'):
        """Runs skyprobe with --json and --ipfix file:; returns (run, ipfix path)."""
        h.require_skyprobe(self)
        json_path = os.path.join(self.out, label + '.json')
        ipfix_path = os.path.join(self.out, label + '.ipfix')
        args = []
        for p in pcaps:
            args += ['--pcap', p]
        args += ['--ipfix', 'file:' + ipfix_path] + list(extra)
        run = h.run_skyprobe(args, json_path=json_path, timeout=600)
        self.assertEqual(run.returncode, 0, run.describe())
        self.assertIsNotNone(run.records, run.describe())
        prefix = 'output.ipfix:file:%s.' % ipfix_path
        self.assertEqual(run.summary[prefix + 'delivered'], len(run.records))
        self.assertEqual(run.summary[prefix + 'records_lost'], 0)
        return run, ipfix_path

    def check(self, run, ipfix_path, pen=True, inputs=None, node_tid=''):
        flows, types = ir.read_ipfix_file(ipfix_path)
        if pen:
            self.assertEqual(sorted(t['informationElementName'] for t in types),
                             sorted(['TrackingID', 'L3TrackingID', 'ParentUUID', 'RTT',
                                     'LayersPath', 'Application', 'NodeTID', 'CommunityID'] +
                                    [side + name for side in ('AB', 'BA')
                                     for name in ir.HEALTH_COUNTERS] +
                                    ['ServerHandshakeLatency', 'ClientHandshakeLatency'] +
                                    ir.APP_ELEMENTS))
        else:
            self.assertEqual(types, [])
        problems = ir.compare_with_json(run.records, flows, inputs=inputs or (lambda r: 1),
                                        pen=PEN if pen else None, node_tid=node_tid)
        self.assertEqual(problems, [], '\n'.join(problems))
        ipfix_dump(self, ipfix_path, len(run.records) + len(types))
        return flows

    def test_every_skydive_trace(self):
        traces = sorted(glob.glob(os.path.join(h.shared_dir('skydive'), '*.pcap')))
        self.assertGreater(len(traces), 10)
        for trace in traces:
            name = os.path.basename(trace)
            with self.subTest(trace=name):
                run, path = self.export(
                    [trace], ['--ipfix-pen', str(PEN), '--update', '1', '--node-tid', 'probe-7'],
                    label=name)
                self.check(run, path, node_tid='probe-7')

    def test_generated_100k_flows_with_updates(self):
        pcap = os.path.join(self.out, 'flows100k.pcap')
        if not os.path.exists(pcap):
            subprocess.run([sys.executable, h.gen_pcap_script(), 'synthetic', pcap + '.tmp',
                            '--packets', '250000', '--flows', '100000', '--seed', '10'],
                           check=True, timeout=600)
            os.rename(pcap + '.tmp', pcap)
        run, path = self.export([pcap], ['--ipfix-pen', str(PEN), '--update', '10'],
                                label='flows100k')
        flows = h.final_flows(self, run.records, 'flows100k')
        self.assertGreaterEqual(len(flows), 100000)
        updates = sum(1 for r in run.records if r['Event'] == 'UPDATE')
        self.assertGreater(updates, 10000)  # deltas over several records per flow
        got = self.check(run, path)
        self.check_tcp_flags(pcap, run.records, got)

    def check_tcp_flags(self, pcap, records, flows):
        """tcpControlBits each way of every TCP flow's final record against
        the OR of tshark's tcp.flags per direction (cumulative: the final
        record has them all)."""
        tshark = h.tshark_path()
        out = subprocess.run(
            [tshark, '-r', pcap, '-Y', 'tcp && !icmp', '-T', 'fields', '-e', 'ip.src',
             '-e', 'ipv6.src', '-e', 'tcp.srcport', '-e', 'ip.dst', '-e', 'ipv6.dst',
             '-e', 'tcp.dstport', '-e', 'tcp.flags'],
            capture_output=True, text=True, check=True, timeout=600).stdout
        seen = collections.defaultdict(int)
        for line in out.splitlines():
            f = line.split('\t')
            if len(f) < 7 or not f[6]:
                continue
            src = h.normalize_ip(f[0] or f[1])
            dst = h.normalize_ip(f[3] or f[4])
            seen[(src, int(f[2]), dst, int(f[5]))] |= int(f[6], 16)
        checked = 0
        for rec, got in zip(records, flows):
            if rec['Event'] != 'EXPIRE' or rec.get('Transport', {}).get('Protocol') != 'TCP':
                continue
            a = (h.normalize_ip(rec['Network']['A']), rec['Transport']['A'],
                 h.normalize_ip(rec['Network']['B']), rec['Transport']['B'])
            b = (a[2], a[3], a[0], a[1])
            self.assertEqual(got['tcpControlBits'], seen.get(a, 0) & 0xFF,
                             'flow %s %s forward' % (rec['UUID'], a))
            self.assertEqual(got['reverseTcpControlBits'], seen.get(b, 0) & 0xFF,
                             'flow %s %s reverse' % (rec['UUID'], a))
            checked += 1
        self.assertGreater(checked, 10000)

    def test_skydive_tcp_flags_against_tshark(self):
        for name in ('simple-tcpv4.pcap', 'simple-tcpv6.pcap', 'eth-ipv4-tcp-http-ooo.pcap'):
            with self.subTest(trace=name):
                trace = os.path.join(h.shared_dir('skydive'), name)
                run, path = self.export([trace], label='flags-' + name)
                flows, _ = ir.read_ipfix_file(path)
                finals = [(r, f) for r, f in zip(run.records, flows) if r['Event'] == 'EXPIRE']
                self.assertTrue(finals)
                records, got = zip(*finals)
                self.check_tcp_flags_small(trace, records, got)

    def check_tcp_flags_small(self, pcap, records, flows):
        tshark = h.tshark_path()
        out = subprocess.run(
            [tshark, '-r', pcap, '-Y', 'tcp', '-T', 'fields', '-e', 'ip.src', '-e', 'ipv6.src',
             '-e', 'tcp.srcport', '-e', 'tcp.flags'],
            capture_output=True, text=True, check=True, timeout=120).stdout
        per_src = collections.defaultdict(int)
        for line in out.splitlines():
            f = line.split('\t')
            per_src[(h.normalize_ip(f[0] or f[1]), int(f[2]))] |= int(f[3], 16)
        for rec, got in zip(records, flows):
            if rec.get('Transport', {}).get('Protocol') != 'TCP':
                continue
            a = (h.normalize_ip(rec['Network']['A']), rec['Transport']['A'])
            b = (h.normalize_ip(rec['Network']['B']), rec['Transport']['B'])
            self.assertNotEqual(per_src[a], 0)
            self.assertEqual(got['tcpControlBits'], per_src[a] & 0xFF)
            self.assertEqual(got['reverseTcpControlBits'], per_src[b] & 0xFF)

    def test_tunnels_and_vlans(self):
        pcap = os.path.join(self.out, 'tunnels.pcap')
        subprocess.run([sys.executable, h.gen_pcap_script(), 'tunnels', pcap], check=True,
                       timeout=300)
        run, path = self.export([pcap], ['--ipfix-pen', str(PEN)], label='tunnels')
        flows = self.check(run, path)
        names = set()
        for f in flows:
            names.update(f)
        for name in ('layer2SegmentId', 'greKey', 'ParentUUID', 'sourceIPv6Address'):
            self.assertIn(name, names, 'no record carried %s' % name)

    def test_mpls_label_stacks_against_tshark(self):
        """Every flow whose path ends in MPLS carries its first packet's label
        stack (top three entries), as tshark decodes that packet: stacks of
        1-4 labels over Ethernet and GRE (the generated tunnels capture), and
        Skydive's GRE/MPLS and Contrail MPLS-over-UDP traces."""
        tunnels = os.path.join(self.out, 'tunnels-mpls.pcap')
        subprocess.run([sys.executable, h.gen_pcap_script(), 'tunnels', tunnels], check=True,
                       timeout=300)
        skydive = h.shared_dir('skydive')
        depths = collections.Counter()
        for pcap in (tunnels, os.path.join(skydive, 'gre-mpls-icmpv4.pcap'),
                     os.path.join(skydive, 'contrail-udp-mpls-eth-and-ipv4.pcap')):
            name = os.path.basename(pcap)
            with self.subTest(trace=name):
                run, path = self.export([pcap], label='mpls-' + name)
                flows, _ = ir.read_ipfix_file(path)
                problems = ir.compare_with_json(run.records, flows, inputs=lambda r: 1)
                self.assertEqual(problems, [], '\n'.join(problems))
                frames = ir.mpls_stacks(h.tshark_path(), pcap)
                checked = 0
                for rec, got in zip(run.records, flows):
                    if not rec['LayersPath'].endswith('/MPLS'):
                        self.assertFalse(any(n in got for n in ir.MPLS_ELEMENTS), rec['UUID'])
                        continue
                    first = self.first_frame(rec, frames)
                    self.assertIsNotNone(first, 'no frame of flow %s in tshark' % rec['UUID'])
                    want = first[:3]
                    have = [bytes(got[n]) for n in ir.MPLS_ELEMENTS if n in got]
                    self.assertEqual(have, want, 'flow %s %s' % (rec['UUID'], rec['LayersPath']))
                    depths[len(first)] += 1
                    checked += 1
                self.assertGreater(checked, 0)
        # Stacks of every depth were seen, one deeper than the three sent.
        self.assertEqual(sorted(depths), [1, 2, 3, 4])

    @staticmethod
    def first_frame(rec, frames):
        """The stack of the flow's first packet: the first frame from Link A
        to Link B (A sent the first packet) at its Start, with its Network
        and UDP endpoints."""
        link, net = rec['Link'], rec.get('Network')
        ports = rec.get('Transport')
        for ms, src, dst, ip, udp, stack in frames:
            if ms != rec['Start'] or (src, dst) != (link['A'], link['B']):
                continue
            if net and (ip is None or tuple(map(h.normalize_ip, ip)) !=
                        (h.normalize_ip(net['A']), h.normalize_ip(net['B']))):
                continue
            if ports and udp != (ports['A'], ports['B']):
                continue
            return stack
        return None

    def test_uniflow_records(self):
        """--ipfix-uniflow: each JSON record is one IPFIX record A to B, then
        one B to A when its window has B to A packets (source and destination
        swapped, that direction's deltas), none with a reverse element; the
        file reads whole in ipfixDump."""
        names = ('simple-tcpv4.pcap', 'simple-tcpv6.pcap', 'icmpv4-symetric.pcap', 'dns.pcap')
        pcaps = [os.path.join(h.shared_dir('skydive'), n) for n in names]
        run, path = self.export(pcaps, ['--ipfix-uniflow', '--update', '1'], label='uniflow')
        flows, _ = ir.read_ipfix_file(path)
        expected = sum(1 + (r['LastUpdateMetric']['BAPackets'] > 0) for r in run.records)
        self.assertEqual(len(flows), expected)
        self.assertGreater(expected, len(run.records))
        ipfix_dump(self, path, expected)
        got = iter(flows)
        for rec in run.records:
            d = rec['LastUpdateMetric']
            sides = [('A', 'B', d['ABPackets'], d['ABBytes'])]
            if d['BAPackets']:
                sides.append(('B', 'A', d['BAPackets'], d['BABytes']))
            for src, dst, packets, octets in sides:
                f = next(got)
                self.assertFalse([n for n in f if n.startswith('reverse')], f)
                self.assertEqual(f['flowId'], int(rec['UUID'], 16))
                self.assertEqual((f['packetDeltaCount'], f['octetDeltaCount']),
                                 (packets, octets), rec['UUID'])
                net = rec.get('Network')
                if net:
                    key = 'IPv6Address' if net['Protocol'] == 'IPV6' else 'IPv4Address'
                    self.assertEqual(
                        (str(f['source' + key]), str(f['destination' + key])),
                        (str(ipaddress.ip_address(net[src])),
                         str(ipaddress.ip_address(net[dst]))), rec['UUID'])
                if 'Transport' in rec:
                    self.assertEqual((f['sourceTransportPort'], f['destinationTransportPort']),
                                     (rec['Transport'][src], rec['Transport'][dst]))

    def test_each_flow_names_its_input(self):
        skydive = h.shared_dir('skydive')
        first = os.path.join(skydive, 'simple-tcpv4.pcap')
        second = os.path.join(skydive, 'dns.pcap')
        alone = {}
        for index, trace in enumerate((first, second), 1):
            run, _ = self.export([trace], label='alone%d' % index)
            for rec in run.records:
                alone[rec['TrackingID']] = index
        run, path = self.export([first, second], label='two-inputs')
        self.assertEqual({alone[r['TrackingID']] for r in run.records}, {1, 2})
        self.check(run, path, pen=False, inputs=lambda r: alone[r['TrackingID']])

    def test_tcp_health(self):
        """--tcp-health: the counters and latencies of every TCP record under the PEN
        equal the JSON record's (which tcp_metrics_test checks against tshark), on the
        generated lossy, reordered, zero-window capture (tests/data/gen_pcap_tcp.py)."""
        pcap = os.path.join(self.out, 'tcp-health.pcap')
        script = os.path.join(h.source_root(), 'tests', 'data', 'gen_pcap_tcp.py')
        subprocess.run([sys.executable, script, pcap, '--seed', '7', '--conversations', '120'],
                       check=True, timeout=300)
        run, path = self.export([pcap], ['--ipfix-pen', str(PEN), '--tcp-health'],
                                label='tcp-health')
        self.check(run, path)
        flows, _ = ir.read_ipfix_file(path)
        with_health = [f for f in flows if 'ABRetransmissions' in f]
        self.assertGreater(len(with_health), 100)
        # The capture's loss and reordering show in the export, not only zeros.
        self.assertGreater(sum(f['BARetransmissions'] + f['ABRetransmissions']
                               for f in with_health), 0)
        self.assertGreater(sum(f['ABLostSegments'] + f['BALostSegments'] for f in with_health), 0)
        self.assertTrue(any('ServerHandshakeLatency' in f for f in with_health))

    def test_application_metadata_against_tshark(self):
        """--app-metadata on the generated TLS/HTTP/DNS capture
        (tests/data/gen_pcap_app.py): every record equals the JSON record
        element by element (check), and, flow by flow, what python3-ipfix reads
        from the export equals tshark's view of the capture itself:
        httpRequestMethod and httpRequestHost (IANA) are http.request.method
        and http.host; TLSSNI, TLSALPN and TLSJA3 are the ClientHello's
        extensions_server_name, its extensions_alpn_str joined by ',' and its
        ja3; DNSQueryName, DNSQueryType and DNSResponseCode are dns.qry.name
        and dns.qry.type of the flow's latest DNS message and dns.flags.rcode
        of its latest response. Without a PEN, HTTP's two IANA elements
        still go out."""
        import app_meta_test as am  # pylint: disable=import-outside-toplevel
        tshark = h.tshark_path()
        pcap = am.capture()
        run, path = self.export([pcap], ['--ipfix-pen', str(PEN), '--app-metadata'],
                                label='app-metadata')
        records = self.check(run, path)
        final = {}
        for rec in records:  # the last record of each flow
            final[rec['flowId']] = rec
        by_key = collections.defaultdict(list)
        for rec in final.values():
            if 'sourceTransportPort' not in rec:
                continue
            v6 = 'sourceIPv6Address' in rec
            src = rec['sourceIPv6Address' if v6 else 'sourceIPv4Address']
            dst = rec['destinationIPv6Address' if v6 else 'destinationIPv4Address']
            by_key[am.conversation_key(am.endpoint(src, rec['sourceTransportPort']),
                                       am.endpoint(dst, rec['destinationTransportPort']))
                   ].append(rec)
        diffs = []

        def compare(key, want):
            got = by_key.get(key)
            if not got or len(got) != 1:
                diffs.append('%s: %d IPFIX flows' % (sorted(key), len(got or [])))
                return
            for name, value in want.items():
                if got[0].get(name) != value:
                    diffs.append('%s %s: tshark %r, IPFIX %r'
                                 % (sorted(key), name, value, got[0].get(name)))

        http = am.tshark_rows(tshark, pcap, 'http.request', ['http.request.method', 'http.host'])
        self.assertGreaterEqual(len(http), 16)
        for row in http:
            compare(row['key'], {'httpRequestMethod': am.text(row['http.request.method']),
                                 'httpRequestHost': am.text(row['http.host'])})
        hellos = am.tshark_rows(tshark, pcap, 'tls.handshake.type == 1', am.TLS_FIELDS)
        self.assertGreaterEqual(len(hellos), 50)
        for row in hellos:
            alpn = [v.decode('latin-1') for v in row['tls.handshake.extensions_alpn_str']]
            compare(row['key'], {'TLSSNI': am.text(row['tls.handshake.extensions_server_name']),
                                 'TLSALPN': ','.join(alpn) or None,
                                 'TLSJA3': am.text(row['tls.handshake.ja3'])})
        latest, response = {}, {}
        for row in am.tshark_rows(tshark, pcap, 'dns', ['dns.qry.name', 'dns.qry.type',
                                                         'dns.flags.response', 'dns.flags.rcode']):
            latest[row['key']] = row  # frame order: the last one wins
            if am.text(row['dns.flags.response']) in ('1', 'True'):
                response[row['key']] = row
        self.assertGreaterEqual(len(latest), 16)
        for key, row in latest.items():
            want = {'DNSQueryName': am.text(row['dns.qry.name']),
                    'DNSQueryType': int(am.text(row['dns.qry.type']))}
            if key in response:
                want['DNSResponseCode'] = int(am.text(response[key]['dns.flags.rcode']))
            compare(key, want)
        self.assertFalse(diffs, '%d differences:\n  %s' % (len(diffs), '\n  '.join(diffs[:30])))
        # Without a PEN: the HTTP elements, nothing else of the metadata.
        run, path = self.export([pcap], ['--app-metadata'], label='app-metadata-iana')
        records = self.check(run, path, pen=False)
        hosts = sum('httpRequestHost' in r for r in records)
        self.assertEqual(hosts, sum('Host' in (rec.get('HTTP') or {}) for rec in run.records))
        self.assertGreater(hosts, 10)

    def test_without_pen_only_iana_elements(self):
        trace = os.path.join(h.shared_dir('skydive'), 'geneve.pcap')
        run, path = self.export([trace], label='no-pen')
        self.check(run, path, pen=False)


if __name__ == '__main__':
    h.main()
