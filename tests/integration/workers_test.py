#!/usr/bin/env python3
"""Same answer at any number of RX workers.

For every Skydive trace and for the synthetic capture, skyprobe with 1, 2
and 4 workers, in dispatch mode and in file shares (each worker reads the
file itself and keeps its share), must produce the same set of flows: same
UUID, TrackingIDs, endpoints, the four counters, Start and Last. On this
2-core machine 4 workers (plus the dispatcher) are oversubscribed lcores,
which must work too. The rss path without a NIC (--pcap-queues: one
net_pcap port, one queue per file) must agree with a single worker reading
the same files.
"""

import os
import struct
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skyprobe_harness as h  # noqa: E402
import conversations_test  # noqa: E402  (the synthetic capture, generated once)


def flow_key(flow):
    """Everything that must not depend on the worker count."""
    def layer(name):
        part = flow.get(name) or {}
        return (part.get('A'), part.get('B'), part.get('ID'))
    return (flow['UUID'], flow.get('TrackingID'), flow.get('L3TrackingID'),
            flow.get('LayersPath'), layer('Link'), layer('Network'), layer('Transport'),
            h.metric(flow, 'ABPackets'), h.metric(flow, 'ABBytes'),
            h.metric(flow, 'BAPackets'), h.metric(flow, 'BABytes'),
            flow['Start'], flow['Last'], flow.get('FinishType'))


class WorkersTest(unittest.TestCase):
    """Flow sets are identical for 1, 2 and 4 workers."""

    def setUp(self):
        h.require_skyprobe(self)

    def flows(self, args, label):
        """Run skyprobe, check its counters, return its final flows by key."""
        json_path = os.path.join(h.scratch_dir('workers'), 'flows.json')
        run = h.run_skyprobe(args + ['--max-flows', '65536'], json_path=json_path,
                             timeout=600)
        self.assertEqual(run.returncode, 0, run.describe())
        flows = h.final_flows(self, run.records, label)
        h.check_counters(self, run, flows, label)
        return sorted(flow_key(f) for f in flows), run

    def compare(self, pcaps, label, extra=()):
        base, _ = self.flows(sum((['--pcap', p] for p in pcaps), []) + ['--workers', '1']
                             + list(extra), label + ' 1 worker')
        self.assertTrue(base, '%s: no flows at all' % label)
        # One file: --distribution auto reads it in shares.
        modes = (('dispatch', 'dispatch'), ('auto', 'file shares'))
        for workers in (2, 4):
            for asked, mode in modes[:2 if len(pcaps) == 1 else 1]:
                args = (sum((['--pcap', p] for p in pcaps), [])
                        + ['--workers', str(workers), '--distribution', asked] + list(extra))
                name = '%s %d workers (%s)' % (label, workers, mode)
                got, run = self.flows(args, name)
                self.assertIn('distribution ' + mode, run.stderr, run.describe())
                if got != base:
                    only_base = [f for f in base if f not in got][:5]
                    only_got = [f for f in got if f not in base][:5]
                    self.fail('%s differs from 1 worker\n  only with 1: %s\n'
                              '  only with %d: %s' % (name, only_base, workers, only_got))
        return base

    def test_skydive_traces(self):
        """Every Skydive trace, in both key modes for layer-key-mode."""
        folder = h.shared_dir('skydive')
        for name in sorted(os.listdir(folder)):
            if name.endswith('.pcap'):
                with self.subTest(trace=name):
                    self.compare([os.path.join(folder, name)], name)
        self.compare([os.path.join(folder, 'layer-key-mode.pcap')], 'layer-key-mode L3',
                     ['--key-mode', 'L3'])

    def test_synthetic_capture_spreads_and_agrees(self):
        """The 100k-packet capture: same flows, and every worker gets work."""
        pcap, _ = conversations_test.synthetic_capture()
        self.compare([pcap], 'synthetic')
        for mode in ('dispatch', 'auto'):
            _, run = self.flows(['--pcap', pcap, '--workers', '4', '--distribution', mode],
                                'synthetic 4 workers')
            for i in range(4):
                self.assertGreater(run.summary.get('worker%d_packets_in' % i, 0), 1000,
                                   'worker %d got almost nothing: %s' % (i, run.describe()))
            if len(os.sched_getaffinity(0)) < 5:
                # More lcores than CPUs: pools an lcore preempted mid-operation
                # does not stall (port.cc), and the line says so.
                self.assertIn('lcores share CPUs: mbuf pools on relaxed-tail-sync rings',
                              run.stderr, run.describe())
        # File shares: each worker's share is a queue of the file's port, and
        # the shares' frames add up to the file's.
        queues = [run.summary.get('port0.queue%d_packets_in' % i) for i in range(4)]
        self.assertNotIn(None, queues, run.describe())
        self.assertEqual(sum(queues), run.summary['packets_in'], run.describe())
        self.assertEqual(queues, [run.summary['worker%d_packets_in' % i] for i in range(4)])

    def test_a_file_only_libpcap_reads_falls_back(self):
        """File shares need the mapped reader: a file it leaves to libpcap (a
        pcap 2.3 header) is read by one lcore, for one worker or, with lcores
        to spare, for workers behind a dispatcher; the same flows."""
        src = os.path.join(h.shared_dir('skydive'), 'simple-tcpv4.pcap')
        with open(src, 'rb') as f:
            data = bytearray(f.read())
        order = '<' if data[:4] == b'\xd4\xc3\xb2\xa1' else '>'
        self.assertEqual(struct.unpack(order + 'H', data[6:8])[0], 4)
        data[6:8] = struct.pack(order + 'H', 3)
        old = os.path.join(h.scratch_dir('workers'), 'version-2.3.pcap')
        with open(old, 'wb') as f:
            f.write(data)
        base, _ = self.flows(['--pcap', src], 'simple-tcpv4')
        for workers, said in ((2, '1 RX worker(s)\n'), (3, '2 RX worker(s) behind a dispatcher')):
            got, run = self.flows(['--pcap', old, '--workers', str(workers)],
                                  'pcap 2.3, %d workers' % workers)
            self.assertIn('is read through net_pcap, by one lcore: ' + said, run.stderr,
                          run.describe())
            self.assertEqual(got, base, run.describe())

    def test_rss_with_one_queue_per_file(self):
        """--pcap-queues: each worker reads its own queue (file), no dispatcher.

        The baseline is each file replayed alone: a worker's clock is the
        latest capture time it has seen, so files of different years must
        not share a worker for the comparison to hold (they do not here:
        one file per worker).
        """
        folder = h.shared_dir('skydive')
        files = [os.path.join(folder, n) for n in
                 ('dns.pcap', 'icmpv4-symetric.pcap', 'simple-tcpv4.pcap',
                  'simple-tcpv6.pcap')]
        for subset in (files[:2], files):
            base = []
            for path in subset:
                flows, _ = self.flows(['--pcap', path], os.path.basename(path))
                base.extend(flows)
            got, run = self.flows(sum((['--pcap', p] for p in subset), [])
                                  + ['--pcap-queues', '--workers', str(len(subset))],
                                  '%d files as queues' % len(subset))
            self.assertIn('distribution rss', run.stderr, run.describe())
            self.assertEqual(got, sorted(base))


if __name__ == '__main__':
    h.main()
