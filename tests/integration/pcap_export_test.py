#!/usr/bin/env python3
"""ExportPcap of 100,000 flows while RX replays at full speed (issue 9 item 4).

skyprobe --raw-packets 1 reads 100,000 distinct UDP flows once from one
net_pcap port (scripts/gen_flows_pcap.py, one frame each) and replays the
first 1000 of them from memory forever on a second port (infinite_rx=1), so
the worker is always busy. `skyprobectl pcap` with no filter then asks for
every flow's packets: the probe finds each flow through its shard's UUID
index (not a scan of the table per flow). Checked: the export finishes
(SKYPROBE_EXPORT_TIMEOUT, 600 s, only guards against a hang); the capture it
writes holds exactly the input file's frames, each once (the first packet
of each flow; the input file is the oracle); while it runs packets_in keeps
growing and no drop counter moves. The replay rate before and during the
export is printed (BENCHMARKS.md has the figures).
"""

import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skyprobe_harness as h  # noqa: E402

FLOWS = 100_000
ZERO = ('drops', 'port_imissed', 'port_rx_nombuf', 'drop_table_full', 'drop_ring_full')


def stats(address, scope='total'):
    out = subprocess.run([h.ctl_path(), 'stats', '--all', '--probe', address], capture_output=True,
                         text=True, timeout=120)
    if out.returncode != 0:
        raise AssertionError('skyprobectl stats: %s' % out.stderr)
    values = {}
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == scope:
            values[parts[1]] = int(parts[2])
    if 'packets_in' not in values:
        raise AssertionError('skyprobectl stats --all printed no %s scope:\n%s'
                             % (scope, out.stdout))
    return values


class PcapExportTest(unittest.TestCase):

    def setUp(self):
        h.require_skyprobe(self)
        if not os.path.exists(h.ctl_path()):
            self.fail('skyprobectl not built at %s' % h.ctl_path())
        scratch = h.scratch_dir('pcap_export')
        gen = os.path.join(h.source_root(), 'scripts', 'gen_flows_pcap.py')
        self.big = os.path.join(scratch, 'flows-%d.pcap' % FLOWS)
        self.keep = os.path.join(scratch, 'keepalive-1000.pcap')
        for path, n in ((self.big, FLOWS), (self.keep, 1000)):
            if not os.path.exists(path):
                subprocess.run([sys.executable, gen, path + '.tmp', '--flows', str(n)],
                               check=True, capture_output=True)
                os.rename(path + '.tmp', path)
        self.out = os.path.join(scratch, 'export.pcap')
        if os.path.exists(self.out):
            os.remove(self.out)
        eal = ('--vdev=net_pcap0,rx_pcap=%s --vdev=net_pcap1,rx_pcap=%s,infinite_rx=1 '
               '-l 0,1 --no-huge --no-pci --no-shconf -m 2048 --file-prefix skyprobe-export-%d'
               % (self.big, self.keep, os.getpid()))
        self.probe = h.ServingProbe(self, ['--eal', eal, '--raw-packets', '1', '--expire', '3600',
                                           '--node-tid', 'export'])
        deadline = time.monotonic() + 120
        # Each port is a capture point (docs/configuration.md): the keep-alive
        # file's conversations are flows of their own, beside the big file's.
        while stats(self.probe.address, 'capture.net_pcap0').get('flows_live', 0) < FLOWS:
            self.assertIsNone(self.probe.proc.poll(), self.probe.stderr())
            self.assertLess(time.monotonic(), deadline, 'the table never held every flow')
            time.sleep(0.2)

    def check_zero(self, counters, when):
        for name in ZERO:
            self.assertEqual(counters.get(name), 0, '%s: %s' % (when, name))

    def test_export_every_flow_under_full_rx(self):
        a, t_a = stats(self.probe.address), time.monotonic()
        time.sleep(5)
        b, t_b = stats(self.probe.address), time.monotonic()
        before = (b['packets_in'] - a['packets_in']) / (t_b - t_a)

        start = time.monotonic()
        export = subprocess.Popen([h.ctl_path(), 'pcap', '-o', self.out, '--probe',
                                   self.probe.address, '--capture', 'net_pcap0'],
                                  stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
        timeout = float(os.environ.get('SKYPROBE_EXPORT_TIMEOUT', '600'))
        first = stats(self.probe.address)
        last_in, samples = first['packets_in'], 0
        while export.poll() is None:
            self.assertLess(time.monotonic() - start, timeout, 'the export never finished')
            time.sleep(1)
            now = stats(self.probe.address)
            self.check_zero(now, 'during the export')
            self.assertGreater(now['packets_in'], last_in, 'RX stalled')
            last_in, samples = now['packets_in'], samples + 1
        took = time.monotonic() - start
        self.assertEqual(export.returncode, 0, export.stderr.read())
        during = (last_in - first['packets_in']) / max(took, 1e-9)

        # The oracle: the input file's frames, each exported once.
        _, exported = h.read_pcap(self.out)
        _, frames = h.read_pcap(self.big)
        self.assertEqual(len(exported), FLOWS)
        self.assertEqual(sorted(p.data for p in exported), sorted(f.data for f in frames))

        self.check_zero(stats(self.probe.address), 'after the export')
        self.assertEqual(self.probe.terminate(), 0, self.probe.stderr())
        print('export of %d flows: %.1f s; replay rate %.2f Mpps before, %.2f Mpps during '
              '(%d samples)' % (FLOWS, took, before / 1e6, during / 1e6, samples),
              file=sys.stderr)


if __name__ == '__main__':
    h.main()
