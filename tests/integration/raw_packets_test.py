#!/usr/bin/env python3
"""Raw packet capture per flow (--raw-packets, --raw-packets-last) end to end.

skyprobe replays simple-tcpv4.pcap (one TCP flow of 8 frames) with --hold and
a gRPC port; `skyprobectl pcap --uuid` writes the packets the probe kept for
the flow, which must be the original trace's frames, byte for byte. The
records' RawPacketsCaptured must count them, with and without --hold.
"""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skyprobe_harness as h  # noqa: E402
from service_test import Probe, ctl, ctl_path  # noqa: E402


class RawPacketsTest(unittest.TestCase):

    def setUp(self):
        h.require_skyprobe(self)
        if not os.path.exists(ctl_path()):
            self.fail('skyprobectl not built at %s' % ctl_path())
        self.trace = os.path.join(h.shared_dir('skydive'), 'simple-tcpv4.pcap')
        self.frames = h.read_pcap(self.trace)[1]
        self.assertEqual(len(self.frames), 8)
        self.probes = []

    def tearDown(self):
        for p in self.probes:
            if p.proc.poll() is None:
                p.proc.kill()
                p.proc.wait()
            if not p.proc.stderr.closed:
                p.reader.join(timeout=10)
                p.proc.stderr.close()

    def export(self, *extra):
        """Runs a --hold probe with `extra`; returns (exported frames, live flow, final flow)."""
        p = Probe(self, self.trace, list(extra))
        self.probes.append(p)
        live = [json.loads(line) for line in
                ctl('flows', '--json', '--probe', p.address).stdout.splitlines() if line.strip()]
        self.assertEqual(len(live), 1)
        out = os.path.join(h.scratch_dir('raw_packets'), 'out-%d.pcap' % id(p))
        ctl('pcap', '-o', out, '--probe', p.address, '--uuid', live[0]['UUID'])
        linktype, exported = h.read_pcap(out)
        self.assertEqual(linktype, 1)
        final = [r for r in p.stop() if r['Event'] == 'EXPIRE']
        self.assertEqual(len(final), 1)
        return exported, live[0], final[0]

    def assert_frames(self, exported, indices):
        self.assertEqual(len(exported), len(indices))
        for got, i in zip(exported, indices):
            want = self.frames[i]
            self.assertEqual(got.data, want.data, 'frame %d' % i)
            self.assertEqual(got.wirelen, want.wirelen, 'frame %d' % i)
            self.assertEqual(got.ts_us, want.ts_us, 'frame %d' % i)

    def test_every_packet_of_the_flow(self):
        exported, live, final = self.export('--raw-packets', '100', '--capture-length', '4096')
        self.assert_frames(exported, range(8))
        self.assertEqual(live.get('RawPacketsCaptured'), 8)
        self.assertEqual(final.get('RawPacketsCaptured'), 8)

    def test_two_workers_share_the_budget(self):
        # The flow lives in one of the two shards; the other answers "not here".
        exported, _, final = self.export('--raw-packets', '100', '--workers', '2',
                                         '--raw-packets-memory', '1M')
        self.assert_frames(exported, range(8))
        self.assertEqual(final.get('RawPacketsCaptured'), 8)

    def test_the_first_n(self):
        exported, live, final = self.export('--raw-packets', '3', '--capture-length', '4096')
        self.assert_frames(exported, range(3))
        self.assertEqual(final.get('RawPacketsCaptured'), 3)

    def test_the_first_n_and_the_last_m(self):
        exported, _, final = self.export('--raw-packets', '2', '--raw-packets-last', '2',
                                         '--capture-length', '4096')
        self.assert_frames(exported, [0, 1, 6, 7])
        self.assertEqual(final.get('RawPacketsCaptured'), 4)

    def test_cut_to_the_capture_length(self):
        exported, _, _ = self.export('--raw-packets', '100', '--capture-length', '64')
        self.assertEqual(len(exported), 8)
        for got, want in zip(exported, self.frames):
            self.assertEqual(got.data, want.data[:64])
            self.assertEqual(got.wirelen, want.wirelen)

    def test_without_hold_and_off_by_default(self):
        json_path = os.path.join(h.scratch_dir('raw_packets'), 'nohold.json')
        run = h.run_skyprobe(['--pcap', self.trace, '--raw-packets', '100'], json_path)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual([r.get('RawPacketsCaptured') for r in run.records], [8])
        self.assertEqual(run.summary['raw_packets_kept'], 8)
        self.assertEqual(run.summary['raw_packets_dropped'], 0)
        run = h.run_skyprobe(['--pcap', self.trace], json_path)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual([r.get('RawPacketsCaptured', 0) for r in run.records], [0])
        self.assertNotIn('raw_packets_dropped', run.summary)

    def test_the_memory_budget_counts_what_it_cannot_keep(self):
        # Capture length 256: 280-byte slots, 3 in 1k.
        json_path = os.path.join(h.scratch_dir('raw_packets'), 'budget.json')
        run = h.run_skyprobe(['--pcap', self.trace, '--raw-packets', '100',
                              '--raw-packets-memory', '1k'], json_path)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual([r.get('RawPacketsCaptured') for r in run.records], [3])
        self.assertEqual(run.summary['raw_packets_dropped'], 5)
        # The flow's accounting is whole all the same.
        self.assertEqual(h.flow_packets(run.records[0]), 8)


    def test_an_empty_export_says_why(self):
        """No packet to export is an error that says why (exit 1, no file), not an
        empty capture with exit status 0."""
        p = Probe(self, self.trace, [])  # raw packet capture off
        self.probes.append(p)
        live = [json.loads(line) for line in
                ctl('flows', '--json', '--probe', p.address).stdout.splitlines() if line.strip()]
        self.assertEqual(len(live), 1)
        out = os.path.join(h.scratch_dir('raw_packets'), 'empty.pcap')
        if os.path.exists(out):
            os.unlink(out)
        res = ctl('pcap', '-o', out, '--probe', p.address, '--uuid', live[0]['UUID'], check=False)
        self.assertEqual(res.returncode, 1)
        self.assertEqual(res.stderr, 'skyprobectl: 1 flow matched but no raw packet of them was '
                         'kept: the probe keeps packets with --raw-packets N or --raw-packets-last '
                         "M (an expired flow's may have gone to live flows)\n")
        res = ctl('pcap', '-o', out, '--probe', p.address, '--filter', 'Transport.B = 1',
                  check=False)
        self.assertEqual(res.returncode, 1)
        self.assertEqual(res.stderr, "skyprobectl: no flow matched (a flow that ended stays for "
                         "the probe's --keep-expired seconds, 60 by default)\n")
        self.assertFalse(os.path.exists(out))


if __name__ == '__main__':
    h.main()
