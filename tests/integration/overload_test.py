#!/usr/bin/env python3
"""--max-flows at its limit: the overload policy holds, with exact counts.

The synthetic capture keeps hundreds of conversations open at once; with a
table of 300 flows it overflows. evict-oldest must expire (with a final
record) the least recently seen flows to make room, so every packet still
counts in a flow; drop-new must refuse the new flows' packets and count
each one. Either way packets_in = packets_in_flows + filtered + drops, and
the flows in the JSON add up to the summary. With 2 workers each shard
holds half of --max-flows.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skyprobe_harness as h  # noqa: E402
import conversations_test  # noqa: E402  (the synthetic capture, generated once)

LIMIT = 300


class OverloadTest(unittest.TestCase):
    """Exact accounting at the table limit, for both policies."""

    def setUp(self):
        h.require_skyprobe(self)

    def run_policy(self, policy, workers):
        pcap, _ = conversations_test.synthetic_capture()
        json_path = os.path.join(h.scratch_dir('overload'), 'flows.json')
        run = h.run_skyprobe(['--pcap', pcap, '--max-flows', str(LIMIT), '--overload', policy,
                              '--workers', str(workers)], json_path=json_path, timeout=600)
        self.assertEqual(run.returncode, 0, run.describe())
        label = '%s, %d worker(s)' % (policy, workers)
        flows = h.final_flows(self, run.records, label)
        h.check_counters(self, run, flows, label)
        return run.summary, flows

    def test_evict_oldest_keeps_every_packet_in_a_flow(self):
        for workers in (1, 2):
            summary, flows = self.run_policy('evict-oldest', workers)
            self.assertGreater(summary['expired_evicted'], 0)
            self.assertEqual(summary['drop_table_full'], 0)
            self.assertEqual(summary['packets_in'], summary['packets_in_flows'])
            evicted = [f for f in flows if f.get('ExpireReason') == 'EVICTED']
            self.assertEqual(len(evicted), summary['expired_evicted'])

    def test_drop_new_counts_every_refused_packet(self):
        for workers in (1, 2):
            summary, flows = self.run_policy('drop-new', workers)
            self.assertGreater(summary['drop_table_full'], 0)
            self.assertEqual(summary['expired_evicted'], 0)
            self.assertEqual(summary['packets_in'],
                             summary['packets_in_flows'] + summary['drop_table_full'])
            self.assertFalse([f for f in flows if f.get('ExpireReason') == 'EVICTED'])


if __name__ == '__main__':
    h.main()
