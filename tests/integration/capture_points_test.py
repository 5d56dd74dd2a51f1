#!/usr/bin/env python3
"""Capture points (issue 17): one probe, several inputs, flows never merged.

Every --pcap file (with --pcap-queues: the files of one capture-id) is a
capture point. The oracles are one-point runs of the same traces, libpcap's
packet counts, and tcpdump for what a filter keeps:

- the same trace at two points gives twice its flows; each point's set is
  the one-point run's, record for record, but for NodeTID, CaptureID, UUID
  (and ParentUUID, which names the parent's UUID); TrackingIDs pair up,
  UUIDs are all distinct, packets double; with their own NodeTIDs each
  point's UUIDs are exactly the one-point run's with that --node-tid
  (Skydive's UUID), and with a shared one they still differ;
- per-point filters: each point's flows are a one-point run with that
  filter, and its counters are tcpdump's count of the packets it keeps;
- 1, 2 and 4 workers, rss (--pcap-queues: each point's trace split into
  four queue files by a symmetric address hash) and dispatch: the same
  records, UUIDs included;
- tshark on each point's own file: the point's frames, and per TCP/UDP
  conversation its frames and bytes each way;
- queries: CaptureID and NodeTID keys, skyprobectl flows --capture, --dedup
  TrackingID across points, the per-point Stats scope and --stats-interval
  line;
- ports --eal probes take --port attributes (CaptureID, NodeTID, filter);
- bad attributes stop the probe with one clear line.
"""

import collections
import json
import os
import struct
import subprocess
import sys
import unittest
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skyprobe_harness as h  # noqa: E402

# Traces of every kind: ARP/DNS/HTTP, tunnels (inner flows name a parent),
# fragments (defragmentation), QinQ, the equal-endpoint tie-break, Geneve.
TRACES = ('eth-ip4-arp-dns-req-http-google.pcap', 'vxlan-src-port.pcap', 'gre-gre-icmpv4.pcap',
          'ipv4-fragments.pcap', 'icmpv4-4vlanQinQ-id-8-10-20-30.pcap', 'iperf-same-L2L3.pcap',
          'geneve.pcap')
# Long enough that traces of different years never expire each other's flows.
NEVER = ['--expire', '2000000000', '--update', '2000000000']


def trace(name):
    return os.path.join(h.shared_dir('skydive'), name)


def canonical(flow, by_uuid, keep_uuid=False):
    """A record as text, without what names its capture point: the parent is
    named by its own canonical form instead of its UUID."""
    out = dict(flow)
    for key in ('NodeTID', 'CaptureID') + (() if keep_uuid else ('UUID',)):
        out.pop(key, None)
    parent = flow.get('ParentUUID')
    if parent and not keep_uuid:
        out['ParentUUID'] = canonical(by_uuid[parent], by_uuid)
    return json.dumps(out, sort_keys=True)


def by_point(flows):
    points = collections.defaultdict(list)
    for f in flows:
        points[f.get('CaptureID')].append(f)
    return points


def tcpdump_count(path, expr):
    out = subprocess.run(['tcpdump', '-nn', '-r', path, expr], capture_output=True, text=True,
                         timeout=120)
    if out.returncode != 0:
        raise AssertionError('tcpdump -r %s %r: %s' % (path, expr, out.stderr))
    return len(out.stdout.splitlines())


def split_by_address_pair(path, parts, folder):
    """The frames of an Ethernet capture in `parts` files, each frame in the
    file of its outermost address pair taken in either order (IPv4/IPv6, else
    the MAC pair): a symmetric RSS, so that a flow's frames, both ways, and a
    datagram's fragments stay in one file, in their order."""
    _, records = h.read_pcap(path)
    with open(path, 'rb') as handle:
        header = handle.read(24)
    outs = [bytearray(header) for _ in range(parts)]
    for r in records:
        d = r.data
        off, ethertype = 14, struct.unpack('!H', d[12:14])[0] if len(d) >= 14 else 0
        while ethertype in (0x8100, 0x88a8) and len(d) >= off + 4:
            ethertype = struct.unpack('!H', d[off + 2:off + 4])[0]
            off += 4
        if ethertype == 0x0800 and len(d) >= off + 20:
            a, b = d[off + 12:off + 16], d[off + 16:off + 20]
        elif ethertype == 0x86dd and len(d) >= off + 40:
            a, b = d[off + 8:off + 24], d[off + 24:off + 40]
        else:
            a, b = d[0:6], d[6:12]
        q = zlib.crc32(b''.join(sorted((a, b)))) % parts
        outs[q] += struct.pack('<IIII', r.ts_us // 1000000, r.ts_us % 1000000, r.caplen,
                               r.wirelen) + d
    files = []
    for q, blob in enumerate(outs):
        name = os.path.join(folder, '%s.q%d.pcap' % (os.path.basename(path)[:-5], q))
        with open(name, 'wb') as handle:
            handle.write(blob)
        files.append(name)
    return files


class CapturePointsTest(unittest.TestCase):

    def setUp(self):
        h.require_skyprobe(self)

    def run_probe(self, args, label):
        json_path = os.path.join(h.scratch_dir('points'), 'flows.json')
        run = h.run_skyprobe(list(args) + ['--max-flows', '65536'], json_path=json_path,
                             timeout=600)
        self.assertEqual(run.returncode, 0, run.describe())
        flows = h.final_flows(self, run.records, label)
        h.check_counters(self, run, flows, label)
        return flows, run

    def check_point_counters(self, run, capture_id, packets, in_flows, flows, filtered=0):
        prefix = 'capture.%s.' % capture_id
        got = {k[len(prefix):]: v for k, v in run.summary.items() if k.startswith(prefix)}
        self.assertEqual(got.get('packets_in'), packets, '%s: %s' % (capture_id, got))
        self.assertEqual(got.get('packets_in_flows'), in_flows, '%s: %s' % (capture_id, got))
        self.assertEqual(got.get('filtered'), filtered, '%s: %s' % (capture_id, got))
        self.assertEqual(got.get('flows_created'), flows, '%s: %s' % (capture_id, got))
        self.assertEqual(got.get('flows_live'), 0, '%s: %s' % (capture_id, got))

    def test_same_trace_at_two_points(self):
        for name in TRACES:
            with self.subTest(trace=name):
                path = trace(name)
                frames = h.libpcap_scan(path).packets
                base, base_run = self.run_probe(['--pcap', path], name)
                self.assertTrue(base)
                base_uuid = {f['UUID']: f for f in base}
                want = sorted(canonical(f, base_uuid) for f in base)

                # Shared (empty) NodeTID: the default capture IDs are the file's
                # name, made unique.
                two, run = self.run_probe(['--pcap', path, '--pcap', path], name + ' twice')
                self.assertEqual(len(two), 2 * len(base))
                self.assertEqual(run.summary['packets_in'], 2 * base_run.summary['packets_in'])
                self.assertEqual(run.summary['packets_in_flows'],
                                 2 * base_run.summary['packets_in_flows'])
                points = by_point(two)
                self.assertEqual(sorted(points), sorted([path, path + '#2']))
                two_uuid = {f['UUID']: f for f in two}
                self.assertEqual(len(two_uuid), len(two), 'UUIDs not distinct')
                for capture_id, flows in points.items():
                    self.assertEqual(sorted(canonical(f, two_uuid) for f in flows), want,
                                     capture_id)
                    self.assertFalse([f for f in flows if f.get('NodeTID')])
                    self.check_point_counters(run, capture_id, frames,
                                              base_run.summary['packets_in_flows'], len(base))
                # TrackingIDs pair up: every (TrackingID, L3TrackingID) twice,
                # once per point.
                pairs = collections.Counter((f.get('CaptureID'), f['TrackingID'],
                                             f['L3TrackingID'], canonical(f, two_uuid))
                                            for f in two)
                per_id = collections.defaultdict(set)
                for (cid, tid, l3, _), _n in pairs.items():
                    per_id[(tid, l3)].add(cid)
                for ids, cids in per_id.items():
                    self.assertEqual(len(cids), 2, '%s seen at %s' % (ids, cids))

                # Their own NodeTIDs: each point's UUIDs are a one-point run's
                # with that --node-tid, as a Skydive agent per interface hashes them.
                nodes, run = self.run_probe(
                    ['--pcap', path + ',node-tid=tap-1,capture-id=first',
                     '--pcap', path + ',node-tid=tap-2,capture-id=second'], name + ' two nodes')
                for tid, cid in (('tap-1', 'first'), ('tap-2', 'second')):
                    alone, _ = self.run_probe(['--pcap', path, '--node-tid', tid],
                                              '%s --node-tid %s' % (name, tid))
                    alone_uuid = {f['UUID']: f for f in alone}
                    mine = [f for f in nodes if f.get('CaptureID') == cid]
                    self.assertTrue(all(f.get('NodeTID') == tid for f in mine))
                    self.assertEqual(sorted(canonical(f, {}, keep_uuid=True) for f in mine),
                                     sorted(canonical(f, alone_uuid, keep_uuid=True)
                                            for f in alone))

    def test_each_point_filters_as_a_one_point_run(self):
        # No TCP conversation: one that closed would expire at the next
        # trace's first frame (years later) instead of at the end.
        points = (('eth-ip4-arp-dns-req-http-google.pcap', 'web', 'arp or udp'),
                  ('dns.pcap', 'dns', 'udp and src port 53'),
                  ('icmpv4-4vlanQinQ-id-8-10-20-30.pcap', 'qinq', None))  # takes --bpf
        default = 'vlan and icmp'
        args = list(NEVER) + ['--bpf', default]
        for name, cid, expr in points:
            args += ['--pcap', '%s,capture-id=%s%s' % (trace(name), cid,
                                                       ',bpf=' + expr if expr else '')]
        flows, run = self.run_probe(args, 'three filtered points')
        got = by_point(flows)
        uuids = {f['UUID']: f for f in flows}
        for name, cid, expr in points:
            with self.subTest(point=cid):
                expr = expr or default
                alone, alone_run = self.run_probe(['--pcap', trace(name), '--bpf', expr] + NEVER,
                                                  '%s --bpf %r' % (name, expr))
                alone_uuid = {f['UUID']: f for f in alone}
                self.assertEqual(sorted(canonical(f, uuids) for f in got[cid]),
                                 sorted(canonical(f, alone_uuid) for f in alone))
                total = h.libpcap_scan(trace(name)).packets
                kept = tcpdump_count(trace(name), expr)
                self.assertGreater(kept, 0)
                self.assertLess(kept, total)
                self.check_point_counters(run, cid, total, kept, len(alone), total - kept)
                self.assertEqual(alone_run.summary['packets_in_flows'], kept)

    def test_each_point_counts_as_tshark_counts_its_file(self):
        # tshark, run on each point's own file, is the oracle: the point's
        # frames, and per TCP/UDP conversation the frames and bytes each way
        # (summed over the point's flows of that 5-tuple: a conversation that
        # closes and opens again is two flows). The same trace at two points
        # and a third trace beside them: nothing leaks from one to another.
        points = (('eth-ip4-arp-dns-req-http-google.pcap', 'web'), ('simple-tcpv6.pcap', 'v6'),
                  ('eth-ip4-arp-dns-req-http-google.pcap', 'web-again'),
                  ('eth-ipv4-tcp-http-ooo.pcap', 'ooo'))
        args = list(NEVER)
        for name, cid in points:
            args += ['--pcap', '%s,capture-id=%s' % (trace(name), cid)]
        flows, run = self.run_probe(args, 'four points against tshark')
        got = by_point(flows)
        self.assertEqual(sorted(got), sorted(cid for _, cid in points))
        for name, cid in points:
            with self.subTest(point=cid):
                _, exact = h.run_tshark(trace(name))
                frames = int(subprocess.run(
                    [h.tshark_path(), '-n', '-r', trace(name), '-T', 'fields', '-e',
                     'frame.number'], capture_output=True, text=True, timeout=120,
                    check=True).stdout.split()[-1])
                prefix = 'capture.%s.' % cid
                self.assertEqual(run.summary.get(prefix + 'packets_in'), frames)
                want = {key: {src: tuple(v) for src, v in by_src.items()}
                        for key, by_src in exact.items() if key[0] in ('tcp', 'udp')}
                self.assertTrue(want, '%s: tshark saw no TCP/UDP conversation' % name)
                mine = collections.defaultdict(lambda: collections.defaultdict(lambda: [0, 0]))
                for f in got[cid]:
                    transport = f.get('Transport')
                    if f.get('ParentUUID') or not transport:
                        continue
                    table = str(transport.get('Protocol', '')).lower()
                    ends = {}
                    for side, way in (('A', 'AB'), ('B', 'BA')):
                        ep = (h.normalize_ip(f['Network'][side]), int(transport.get(side, 0)))
                        ends[ep] = (h.metric(f, way + 'Packets'), h.metric(f, way + 'Bytes'))
                    slot = mine[(table, frozenset(ends))]
                    for ep, (packets, size) in ends.items():
                        slot[ep][0] += packets
                        slot[ep][1] += size
                self.assertEqual({key: {src: tuple(v) for src, v in by_src.items() if v[0]}
                                  for key, by_src in mine.items()},
                                 {key: {src: v for src, v in by_src.items() if v[0]}
                                  for key, by_src in want.items()})

    def test_workers_and_distribution_agree(self):
        folder = h.scratch_dir('points-split')
        traces = (('icmpv4-symetric.pcap', 'left'), ('eth-ip4-arp-dns-req-http-google.pcap',
                                                     'right'))
        whole = sum((['--pcap', '%s,capture-id=%s' % (trace(n), c)] for n, c in traces), [])
        split = []
        for name, cid in traces:
            for f in split_by_address_pair(trace(name), 4, folder):
                split += ['--pcap', '%s,capture-id=%s' % (f, cid)]
        ref, _ = self.run_probe(whole + NEVER + ['--workers', '1'], 'whole files, 1 worker')
        ref_uuid = {f['UUID']: f for f in ref}
        want = sorted(canonical(f, ref_uuid, keep_uuid=True) for f in ref)
        self.assertEqual(sorted(by_point(ref)), ['left', 'right'])
        runs = [(whole, w, 'dispatch') for w in (2, 4)]
        runs += [(split + ['--pcap-queues'], w, d) for w in (1, 2, 4) for d in ('rss',
                                                                              'dispatch')]
        for args, workers, dist in runs:
            label = '%s, %d workers, %s' % ('queues' if '--pcap-queues' in args else 'whole',
                                            workers, dist)
            with self.subTest(run=label):
                flows, run = self.run_probe(args + NEVER + ['--workers', str(workers),
                                                            '--distribution', dist], label)
                mode = 'single worker' if workers == 1 and dist == 'rss' else dist
                self.assertIn('distribution %s' % mode, run.stderr, run.describe())
                uuids = {f['UUID']: f for f in flows}
                self.assertEqual(sorted(canonical(f, uuids, keep_uuid=True) for f in flows), want)

    def test_queries_by_capture_point(self):
        path = trace('eth-ip4-arp-dns-req-http-google.pcap')
        base, _ = self.run_probe(['--pcap', path], 'one point')
        probe = h.ServingProbe(self, ['--pcap', path + ',capture-id=a,node-tid=n1',
                                      '--pcap', path + ',capture-id=b', '--node-tid', 'probe',
                                      '--hold', '--stats-interval', '1'])
        ctl = h.ctl_path()

        def flows(*args):
            out = subprocess.run([ctl, 'flows', '--json', '--probe', probe.address] + list(args),
                                 capture_output=True, text=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]

        # The service answers once the replay is in the table.
        for _ in range(600):
            every = flows()
            if len(every) == 2 * len(base):
                break
            subprocess.run(['sleep', '0.1'])
        self.assertEqual(len(every), 2 * len(base))
        a = flows('--capture', 'a')
        self.assertEqual(len(a), len(base))
        self.assertTrue(all(f['CaptureID'] == 'a' and f['NodeTID'] == 'n1' for f in a))
        self.assertEqual(len(flows('--capture', 'a', '--capture', 'b')), 2 * len(base))
        self.assertEqual(len(flows('--capture', 'nowhere')), 0)
        b = flows('--filter', "NodeTID = 'probe'")
        self.assertEqual(sorted(f['UUID'] for f in b),
                         sorted(f['UUID'] for f in flows('--filter', "CaptureID = 'b'")))
        self.assertEqual(len(b), len(base))
        # One row per conversation across the points.
        dedup = flows('--dedup', 'TrackingID')
        self.assertEqual(sorted(f['TrackingID'] for f in dedup),
                         sorted(f['TrackingID'] for f in base))
        stats = subprocess.run([ctl, 'stats', '--all', '--probe', probe.address],
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(stats.returncode, 0, stats.stderr)
        for cid in ('a', 'b'):
            self.assertRegex(stats.stdout, r'(?m)^capture\.%s packets_in 58$' % cid)
            self.assertRegex(stats.stdout, r'(?m)^capture\.%s flows_live %d$' % (cid, len(base)))
            # And the --stats-interval line, once the replay is in.
            self.assertIsNotNone(
                probe.wait_line(r'capture\.%s\.packets_in=58( |$)' % cid),
                'no capture.%s.packets_in=58 in the --stats-interval lines:\n%s'
                % (cid, probe.stderr()))
        self.assertEqual(probe.terminate(), 0)

    def test_eal_ports_take_their_attributes(self):
        # Two ports --eal probes (net_pcap vdevs: live ports to the probe, it
        # runs until SIGTERM), named by --port: each is a capture point with
        # its own CaptureID (given, else the device's name), NodeTID and
        # filter. The oracles: one-point runs of each file (with that filter)
        # for the conversations and their packets, tcpdump for what the
        # filter keeps. A live port's clock is not a file's (a frame is never
        # taken before one already seen), so times and UUIDs are not compared.
        a = trace('eth-ip4-arp-dns-req-http-google.pcap')
        b = trace('dns.pcap')
        expr = 'udp and src port 53'
        json_path = os.path.join(h.scratch_dir('points-eal'), 'flows.json')
        if os.path.exists(json_path):
            os.unlink(json_path)
        eal = ('--vdev=net_pcap0,rx_pcap=%s --vdev=net_pcap1,rx_pcap=%s -l 0,1 --no-huge '
               '--no-pci --no-shconf -m 256 --file-prefix skyprobe-points-eal-%d'
               % (a, b, os.getpid()))
        probe = h.ServingProbe(self, ['--eal', eal, '--json', json_path,
                                      '--port', 'net_pcap0,capture-id=uplink,node-tid=tap-1',
                                      '--port', 'net_pcap1,bpf=' + expr,
                                      '--max-flows', '65536'] + NEVER)
        want_in = {'uplink': h.libpcap_scan(a).packets, 'net_pcap1': h.libpcap_scan(b).packets}
        ctl = h.ctl_path()
        for _ in range(600):
            out = subprocess.run([ctl, 'stats', '--all', '--probe', probe.address],
                                 capture_output=True, text=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            got_in = {}
            for line in out.stdout.splitlines():
                scope, name, value = line.split(' ')
                if scope.startswith('capture.') and name == 'packets_in':
                    got_in[scope[len('capture.'):]] = int(value)
            if got_in == want_in:
                break
            subprocess.run(['sleep', '0.1'])
        self.assertEqual(got_in, want_in, probe.stderr())
        self.assertEqual(probe.terminate(), 0, probe.stderr())
        summary = h.parse_summary(probe.stderr())
        with open(json_path, encoding='utf-8') as handle:
            flows = h.final_flows(self, h.parse_json_lines(handle.read()), 'two EAL ports')
        got = by_point(flows)
        self.assertEqual(sorted(got), ['net_pcap1', 'uplink'])
        self.assertTrue(all(f.get('NodeTID') == 'tap-1' for f in got['uplink']))
        self.assertFalse([f for f in got['net_pcap1'] if f.get('NodeTID')])
        self.assertEqual(len({f['UUID'] for f in flows}), len(flows))

        def conversations(fs):
            return sorted((f['TrackingID'], f['L3TrackingID'], h.metric(f, 'ABPackets'),
                           h.metric(f, 'BAPackets'), h.metric(f, 'ABBytes'),
                           h.metric(f, 'BABytes')) for f in fs)

        kept = tcpdump_count(b, expr)
        self.assertLess(kept, want_in['net_pcap1'])
        for cid, args in (('uplink', ['--pcap', a]), ('net_pcap1', ['--pcap', b, '--bpf', expr])):
            with self.subTest(point=cid):
                alone, _ = self.run_probe(args + NEVER, ' '.join(args))
                self.assertEqual(conversations(got[cid]), conversations(alone))
        self.assertEqual(summary['capture.net_pcap1.filtered'], want_in['net_pcap1'] - kept)
        self.assertEqual(summary['capture.net_pcap1.packets_in_flows'], kept)
        self.assertEqual(summary['capture.uplink.filtered'], 0)

    def test_bad_attributes_are_one_clear_line(self):
        path = trace('dns.pcap')
        cases = (
            (['--pcap', path + ',nodetid=x'], "unknown attribute 'nodetid' (did you mean "
                                              "node-tid?)"),
            (['--pcap', path + ',capture-id=x', '--pcap', path + ',capture-id=x'],
             'capture-id x is already the capture ID of --pcap'),
            (['--pcap', path + ',bpf=porrt 53'], 'bpf "porrt 53": can\'t parse filter'),
            (['--sflow-listen', '127.0.0.1:0,node-tid=x'], "an sFlow listener takes "
                                                           "capture-id= only"),
            (['--eal', '--vdev=net_pcap0,rx_pcap=%s -l 0,1 --no-huge --no-pci --no-shconf -m 256 '
                       '--file-prefix skyprobe-points-%d' % (path, os.getpid()),
              '--port', 'net_pcap7,capture-id=x'],
             '--port net_pcap7: no such DPDK port (ports: net_pcap0)'),
        )
        for args, mention in cases:
            with self.subTest(args=args):
                run = h.run_skyprobe(args, timeout=60)
                line = h.check_clean_error(self, run, ' '.join(args), [])
                self.assertIn(mention, line)


if __name__ == '__main__':
    h.main()
