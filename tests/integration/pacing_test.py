#!/usr/bin/env python3
"""Replay pacing (--pcap-rate, --pcap-realtime) delays frames, never changes flows.

A paced replay must produce exactly the flows of an unpaced one (same UUIDs,
counters, Start and Last: flow times are the packets' own timestamps, unlike
Skydive's replay) and must take at least as long as its schedule says. Only
lower bounds on wall time are asserted: the schedule is a floor, a loaded
machine only makes a run longer.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skyprobe_harness as h  # noqa: E402
from workers_test import flow_key  # noqa: E402


def trace_span_seconds(path):
    """Seconds between the first and the last packet of a capture."""
    _, records = h.read_pcap(path)
    return (records[-1].ts_us - records[0].ts_us) / 1e6, len(records)


class PacingTest(unittest.TestCase):
    """Paced replays take their time and give the unpaced flows."""

    def setUp(self):
        h.require_skyprobe(self)

    def flows(self, pcap, extra, label):
        json_path = os.path.join(h.scratch_dir('pacing'), 'flows.json')
        run = h.run_skyprobe(['--pcap', pcap] + list(extra), json_path=json_path, timeout=300)
        self.assertEqual(run.returncode, 0, run.describe())
        flows = h.final_flows(self, run.records, label)
        h.check_counters(self, run, flows, label)
        return sorted(flow_key(f) for f in flows), run

    def check_paced(self, pcap, extra, floor, label):
        base, _ = self.flows(pcap, [], label + ' unpaced')
        self.assertTrue(base, '%s: no flows' % label)
        for workers in (['--workers', '1'], ['--workers', '2', '--distribution', 'dispatch']):
            what = '%s %s' % (label, ' '.join(workers))
            got, run = self.flows(pcap, list(extra) + workers, what)
            self.assertEqual(got, base, '%s: flows differ from the unpaced replay' % what)
            self.assertGreaterEqual(run.seconds, floor,
                                    '%s: finished in %.3f s, schedule says >= %.3f s'
                                    % (what, run.seconds, floor))
            self.assertGreater(run.summary.get('pacing_waits', 0), 0, run.describe())

    def test_rate(self):
        pcap = os.path.join(h.shared_dir('skydive'), 'eth-ip4-arp-dns-req-http-google.pcap')
        _, packets = trace_span_seconds(pcap)
        self.assertEqual(packets, 58)
        # Frame k is due k/N s after the first: the last one at 57/N s.
        self.check_paced(pcap, ['--pcap-rate', '200'], 0.25, 'rate 200')
        # A floor well above the probe's own start-up time.
        self.check_paced(pcap, ['--pcap-rate', '20'], 57 / 20 - 0.01, 'rate 20')

    def test_realtime(self):
        pcap = os.path.join(h.source_root(), 'tests', 'data', 'demo.pcap')
        span, _ = trace_span_seconds(pcap)
        self.assertGreater(span, 10)
        self.check_paced(pcap, ['--pcap-realtime', '--pcap-speed', '100'], span / 100 - 0.01,
                         'realtime x100')
        self.check_paced(pcap, ['--pcap-realtime', '--pcap-speed', '10'], span / 10 - 0.01,
                         'realtime x10')

    def test_bad_combinations_are_one_clear_line(self):
        pcap = os.path.join(h.source_root(), 'tests', 'data', 'demo.pcap')
        for args, mention in ((['--pcap-rate', '0'], 'must be > 0'),
                              (['--pcap-rate', '5', '--pcap-realtime'], 'choose one pace'),
                              (['--pcap-speed', '2'], 'needs --pcap-realtime'),
                              (['--pcap-realtime', '--pcap-speed', '0'], 'must be > 0')):
            run = h.run_skyprobe(['--pcap', pcap] + args, timeout=60)
            line = h.check_clean_error(self, run, ' '.join(args), [mention])
            self.assertTrue(line.startswith('skyprobe: --pcap-'), line)


if __name__ == '__main__':
    h.main()
