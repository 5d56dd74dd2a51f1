"""--ipfix under loss: what a collector restart and pacing do to the records.

- TCP: 1M flows (scripts/gen_flows_pcap.py) exported to a collector
  (ipfix_collector.py) that is stopped mid-export, as RFC 7011 §10.4.2 asks
  (it closes its side and reads until the exporter closes), and started
  again two seconds later on the same port. The spool (--ipfix-spool-bytes
  256M) holds what waits meanwhile: every flow's record reaches one of the
  two collectors, the probe counts no record lost, and at least one
  reconnection.
- UDP at a paced rate (--ipfix-rate): the records the collector counts are
  the records the probe counts sent, and sent + lost = every record.
"""

import os
import signal
import subprocess
import sys
import time
import unittest

import skyprobe_harness as h
from ipfix_interop_test import start_collector, stop_collector
from ipfix_test import require_ipfix_module

HERE = os.path.dirname(os.path.abspath(__file__))


def read_ids(path):
    with open(path) as handle:
        return [int(line) for line in handle if line.strip()]


def count_lines(path):
    try:
        with open(path, 'rb') as handle:
            return sum(chunk.count(b'\n') for chunk in iter(lambda: handle.read(1 << 20), b''))
    except FileNotFoundError:
        return 0


class IpfixLossTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        require_ipfix_module()
        cls.out = h.scratch_dir('ipfix_loss')

    def flows_pcap(self, flows):
        pcap = os.path.join(self.out, 'flows-%d.pcap' % flows)
        if not os.path.exists(pcap):
            subprocess.run([sys.executable, os.path.join(h.source_root(), 'scripts',
                                                         'gen_flows_pcap.py'),
                            pcap + '.tmp', '--flows', str(flows), '--replies'],
                           check=True, timeout=600)
            os.rename(pcap + '.tmp', pcap)
        return pcap

    def test_tcp_collector_restart_loses_nothing_within_the_spool(self):
        h.require_skyprobe(self)
        pcap = self.flows_pcap(1000000)
        first_out = os.path.join(self.out, 'first.raw')
        second_out = os.path.join(self.out, 'second.raw')
        for path in (first_out, second_out):
            for suffix in ('', '.ids'):
                if os.path.exists(path + suffix):
                    os.unlink(path + suffix)
        first, port = start_collector('tcp', first_out)
        probe = subprocess.Popen(
            [h.skyprobe_path(), '--pcap', pcap, '--ipfix', 'tcp://127.0.0.1:%d' % port,
             '--ipfix-spool-bytes', '256M', '--stats-interval', '1'],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True)
        second = None
        try:
            # Stop the collector once records flow, mid-export.
            deadline = time.monotonic() + 300
            while count_lines(first_out + '.ids') < 100000:
                self.assertIsNone(probe.poll(), 'the probe ended before the collector stopped')
                self.assertLess(time.monotonic(), deadline, 'no records reached the collector')
                time.sleep(0.05)
            first_messages, first_records = stop_collector(first)
            self.assertIsNone(probe.poll(), 'the export ended before the restart: nothing tested')
            time.sleep(2)
            second, _ = start_collector('tcp', second_out, port=port)
            _, stderr = probe.communicate(timeout=600)
        finally:
            if probe.poll() is None:
                probe.kill()
            if second is not None:
                second_messages, second_records = stop_collector(second)
        self.assertEqual(probe.returncode, 0, stderr[-2000:])
        summary = h.parse_summary(stderr)
        prefix = 'output.ipfix:tcp://127.0.0.1:%d.' % port
        records_out = summary['records_out']
        self.assertEqual(records_out, 1000000)
        self.assertEqual(summary[prefix + 'delivered'], records_out)
        self.assertEqual(summary[prefix + 'records_lost'], 0)
        self.assertGreaterEqual(summary[prefix + 'reconnects'], 1)
        ids = read_ids(first_out + '.ids') + read_ids(second_out + '.ids')
        self.assertEqual(first_records + second_records, len(ids))
        self.assertGreater(first_records, 0)
        self.assertGreater(second_records, 0)
        # Every flow once at least (a reset could repeat a few; a graceful close does not).
        self.assertEqual(len(set(ids)), records_out)
        self.assertEqual(len(ids), records_out)

    def test_udp_paced_counts_agree_at_both_ends(self):
        h.require_skyprobe(self)
        pcap = self.flows_pcap(100000)
        out = os.path.join(self.out, 'udp.raw')
        for suffix in ('', '.ids'):
            if os.path.exists(out + suffix):
                os.unlink(out + suffix)
        collector, port = start_collector('udp', out)
        try:
            run = h.run_skyprobe(['--pcap', pcap, '--ipfix', 'udp://127.0.0.1:%d' % port,
                                  '--ipfix-rate', '50000'], timeout=600)
            time.sleep(0.5)
        finally:
            _, records = stop_collector(collector)
        self.assertEqual(run.returncode, 0, run.describe())
        prefix = 'output.ipfix:udp://127.0.0.1:%d.' % port
        sent = run.summary[prefix + 'delivered']
        lost = run.summary[prefix + 'records_lost']
        self.assertEqual(records, sent)
        self.assertEqual(sent + lost, run.summary['records_out'])
        self.assertEqual(run.summary['records_out'], 100000)
        self.assertEqual(len(set(read_ids(out + '.ids'))), records)


if __name__ == '__main__':
    h.main()
