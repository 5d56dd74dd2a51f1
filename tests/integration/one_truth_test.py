#!/usr/bin/env python3
"""Live answers and records tell one truth (issue 15, item 3).

A probe replays a Skydive trace with --hold; skyprobectl reads its table;
then SIGTERM expires every flow and the probe writes its final records
(--json). Field by field, each live flow must be its final record but for
what a record says about its own emission: Event (UPDATE live, EXPIRE in the
record), ExpireReason (NONE, FLUSH), FinishType where the flow had not ended
(absent live, TIMEOUT in the record) and LastUpdateMetric of a flow that never
had an update record (absent live: docs/query.md). Community IDs are checked
against tshark's own (its communityid dissector), and the filter keys the issue
names against the answers themselves: CommunityID, FinishType, an IPv6
address in upper case, LastUpdateMetric is null, and --sort UUID against the
default order and the ids' numeric order.
"""

import collections
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skyprobe_harness as h  # noqa: E402
from service_test import Probe, flows_json  # noqa: E402

# (trace, extra flags): TCP with FIN, ARP, DNS; IPv6; flows across update
# ticks (--update shorter than the trace), so that some have had updates.
TRACES = (
    ('eth-ip4-arp-dns-req-http-google.pcap', ()),
    ('simple-tcpv6.pcap', ('--update', '1')),
    ('dns.pcap', ('--update', '5')),
    ('icmpv4-symetric.pcap', ('--update', '5', '--workers', '2')),
)

# What a record says about its own emission, not about the flow.
EMISSION_KEYS = {'Event', 'ExpireReason', 'FinishType', 'LastUpdateMetric'}


def tshark_community_ids(pcap):
    """{(src, dst, src port, dst port): {Community IDs}} of every IP packet, from
    tshark (ports None for ICMP and other protocols without them)."""
    tshark = h.tshark_path()
    fields = ['ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst', 'tcp.srcport', 'tcp.dstport',
              'udp.srcport', 'udp.dstport', 'communityid']
    cmd = [tshark, '-n', '-r', pcap, '--enable-protocol', 'communityid', '-T', 'fields',
           '-E', 'separator=\t', '-E', 'occurrence=f']
    for f in fields:
        cmd += ['-e', f]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=True)
    ids = collections.defaultdict(set)
    for line in out.stdout.splitlines():
        cols = line.split('\t')
        if len(cols) < len(fields) or not cols[8]:
            continue
        src, dst = (cols[0], cols[1]) if cols[0] else (cols[2], cols[3])
        sport = cols[4] or cols[6] or None
        dport = cols[5] or cols[7] or None
        key = (h.normalize_ip(src), h.normalize_ip(dst), sport and int(sport),
               dport and int(dport))
        ids[key].add(cols[8])
    return ids


class OneTruthTest(unittest.TestCase):

    def setUp(self):
        h.require_skyprobe(self)
        self.skydive = h.shared_dir('skydive')

    def check_trace(self, trace, extra):
        pcap = os.path.join(self.skydive, trace)
        p = Probe(self, pcap, extra)
        addr = ('--probe', p.address)
        live = flows_json(*addr)
        self.assertTrue(live)
        by_uuid = {f['UUID']: f for f in live}

        # One UUID order: --sort UUID is the default order, numeric.
        numeric = sorted(by_uuid, key=lambda u: int(u, 16))
        self.assertEqual([f['UUID'] for f in live], numeric)
        self.assertEqual([f['UUID'] for f in flows_json(*addr, '--sort', 'UUID')], numeric)
        self.assertEqual([f['UUID'] for f in flows_json(*addr, '--sort', 'UUID:desc')],
                         numeric[::-1])

        # FinishType: NOT_FINISHED is no value.
        self.assertEqual(flows_json(*addr, '--filter', "FinishType = 'NOT_FINISHED'"), [])
        open_flows = {u for u, f in by_uuid.items() if 'FinishType' not in f}
        self.assertEqual({f['UUID'] for f in flows_json(*addr, '--filter', 'FinishType is null')},
                         open_flows)

        # LastUpdateMetric is null: the flows without one in the answer.
        no_update = {u for u, f in by_uuid.items() if 'LastUpdateMetric' not in f}
        self.assertEqual({f['UUID'] for f in flows_json(
            *addr, '--filter', 'LastUpdateMetric.ABPackets is null')}, no_update)

        # Community IDs: tshark's, and a filter on one finds its flows.
        ids = tshark_community_ids(pcap)
        with_id = collections.defaultdict(set)
        for u, f in by_uuid.items():
            net = f.get('Network')
            if net is None or ('Transport' not in f and 'ICMP' not in f) or f.get('ParentUUID'):
                continue
            a, b = h.normalize_ip(net['A']), h.normalize_ip(net['B'])
            t = f.get('Transport') or {}
            pa, pb = t.get('A'), t.get('B')
            expected = ids.get((a, b, pa, pb), set()) | ids.get((b, a, pb, pa), set())
            self.assertTrue(expected, 'tshark has no Community ID for %s' % u)
            self.assertIn(f.get('CommunityID'), expected, u)
            with_id[f['CommunityID']].add(u)
        self.assertTrue(with_id, 'no flow with a Community ID in %s' % trace)
        for cid, uuids in with_id.items():
            got = {f['UUID'] for f in flows_json(*addr, '--filter', "CommunityID = '%s'" % cid)}
            self.assertEqual(got, uuids, cid)
        self.assertEqual({f['UUID'] for f in flows_json(*addr, '--filter',
                                                           'CommunityID is null')},
                         {u for u, f in by_uuid.items() if 'CommunityID' not in f})

        # IPv6 addresses in any case.
        for f in live:
            a = f.get('Network', {}).get('A', '')
            if ':' in a:
                got = {g['UUID'] for g in flows_json(*addr, '--filter',
                                                      "Network.A = '%s'" % a.upper())}
                self.assertEqual(got, {u for u, g in by_uuid.items()
                                       if g.get('Network', {}).get('A') == a})
                break

        # Field by field against the final records.
        records = p.stop()
        updated = {r['UUID'] for r in records if r['Event'] == 'UPDATE'}
        final = {r['UUID']: r for r in records if r['Event'] == 'EXPIRE'}
        self.assertEqual(set(final), set(by_uuid))
        for u, f in by_uuid.items():
            r = final[u]
            for key in (set(f) | set(r)) - EMISSION_KEYS:
                self.assertEqual(f.get(key), r.get(key), '%s: %s' % (u, key))
            self.assertEqual((f['Event'], f['ExpireReason']), ('UPDATE', 'NONE'))
            self.assertEqual((r['Event'], r['ExpireReason']), ('EXPIRE', 'FLUSH'))
            self.assertEqual(f.get('FinishType', 'TIMEOUT'), r['FinishType'], u)
            if u in updated:
                self.assertEqual(f['LastUpdateMetric'], r['LastUpdateMetric'], u)
            else:
                self.assertNotIn('LastUpdateMetric', f, u)
                counters = ('ABPackets', 'ABBytes', 'BAPackets', 'BABytes')
                self.assertEqual([r['LastUpdateMetric'].get(k, 0) for k in counters],
                                 [r['Metric'].get(k, 0) for k in counters], u)
        return updated

    def test_live_answers_are_the_records(self):
        updated_somewhere = False
        for trace, extra in TRACES:
            with self.subTest(trace=trace):
                updated_somewhere |= bool(self.check_trace(trace, extra))
        # The LastUpdateMetric comparison ran on flows that had updates too.
        self.assertTrue(updated_somewhere)


if __name__ == '__main__':
    h.main()
