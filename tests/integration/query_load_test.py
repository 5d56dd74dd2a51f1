#!/usr/bin/env python3
"""Queries against a probe whose RX runs at full speed (issue 4).

The source is in memory: net_pcap with infinite_rx=1 loads the capture into
mbufs at start and replays it forever, as fast as the worker takes it. Given
through --eal, the port is treated as live (TSC clock, no end of input). The
capture (scripts/gen_flows_pcap.py) holds 300 UDP flows with replies and 50
ICMP echo flows, none of which ever closes, so with --expire 3600 the table
holds the same 350 flows for the whole run.

For SKYPROBE_LOAD_SECONDS (default 30) a client loops over `skyprobectl flows
--json` (plain, filtered, sorted, limited) and `skyprobectl stats`. Checked:
the probe stays up and exits 0 on SIGTERM with its summary; no drop counter
moves (every drop_*, port_imissed, port_rx_nombuf: the worker frees each
burst's mbufs, so the PMD never runs out even though the replayed file holds
700 of them for good); every answer has the same flows (TrackingIDs) and the
per-flow counters never go down; packets_in grows between stats answers; and
packets_in == packets_in_flows + filtered + drops in the final summary.
"""

import json
import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skyprobe_harness as h  # noqa: E402

UDP_FLOWS = 300
ICMP_FLOWS = 50
FLOWS = UDP_FLOWS + ICMP_FLOWS
METRICS = ('ABPackets', 'BAPackets', 'ABBytes', 'BABytes')
# Counters that must stay at zero: anything lost between the PMD and the table.
PORT_DROPS = ('port_imissed', 'port_rx_nombuf')


ctl_path = h.ctl_path


def load_seconds():
    return float(os.environ.get('SKYPROBE_LOAD_SECONDS', '30'))


class LiveProbe(h.ServingProbe):
    """skyprobe on an in-memory net_pcap port replayed forever, serving gRPC."""

    def __init__(self, testcase, pcap):
        eal = ('--vdev=net_pcap0,rx_pcap=%s,infinite_rx=1 -l 0,1 --no-huge --no-pci '
               '--no-shconf -m 512 --file-prefix skyprobe-load-%d' % (pcap, os.getpid()))
        super().__init__(testcase, ['--eal', eal, '--max-flows', '65536', '--expire', '3600',
                                    '--node-tid', 'load'])

    def stop(self):
        """SIGTERM; returns the exit code."""
        return self.terminate()


def ctl(*args):
    out = subprocess.run([ctl_path()] + list(args), capture_output=True, text=True,
                         timeout=60)
    if out.returncode != 0:
        raise AssertionError('skyprobectl %s -> %d\n%s' % (' '.join(args), out.returncode,
                                                           out.stderr))
    return out.stdout


def stats(address):
    """{counter: int} of the 'total' lines of `skyprobectl stats`."""
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r'^total (\S+) (-?\d+)$', ctl('stats', '--all', '--probe', address),
                                 re.M)}


class QueryLoadTest(unittest.TestCase):

    def setUp(self):
        h.require_skyprobe(self)
        if not os.path.exists(ctl_path()):
            self.fail('skyprobectl not built at %s' % ctl_path())
        self.pcap = os.path.join(h.scratch_dir('query_load'), 'flows-%d.pcap' % FLOWS)
        subprocess.run([sys.executable,
                        os.path.join(h.source_root(), 'scripts', 'gen_flows_pcap.py'),
                        self.pcap, '--flows', str(UDP_FLOWS), '--replies',
                        '--icmp', str(ICMP_FLOWS)], check=True, capture_output=True)

    def check_drops(self, counters, when):
        for name, value in counters.items():
            if name.startswith('drop') or name in PORT_DROPS:
                self.assertEqual(value, 0, '%s: %s = %d' % (when, name, value))
        for name in PORT_DROPS + ('drop_table_full',):
            self.assertIn(name, counters, when)

    def test_queries_under_full_rx(self):
        p = LiveProbe(self, self.pcap)
        deadline = time.monotonic() + 30
        while stats(p.address).get('flows_live') != FLOWS:
            self.assertLess(time.monotonic(), deadline, 'the table never held every flow')
            time.sleep(0.05)

        # (name, extra arguments, check of the answer's size)
        queries = (
            ('all', (), FLOWS),
            ('udp', ('--filter', "Transport.B = 4000 and NodeTID = 'load'"), UDP_FLOWS),
            ('icmp', ('--filter', "Network.B = '192.168.0.2' or ICMP.ID > 0"), ICMP_FLOWS),
            ('top', ('--sort', 'Metric.ABPackets:desc', '--limit', '20'), 20),
            ('page', ('--sort', 'Network.A:asc', '--limit', '7'), 7),
            ('dedup', ('--dedup', 'NodeTID'), 1),
        )
        tracking = None  # UUID -> TrackingID of the first full answer
        last = {}  # UUID -> [metrics] as last seen
        last_in = -1
        answers = stat_answers = 0
        end = time.monotonic() + load_seconds()
        i = 0
        while time.monotonic() < end:
            self.assertIsNone(p.proc.poll(), 'the probe died:\n' + p.stderr())
            name, args, size = queries[i % len(queries)]
            i += 1
            flows = [json.loads(line)
                     for line in ctl('flows', '--json', '--probe', p.address, *args).splitlines()
                     if line.strip()]
            answers += 1
            self.assertEqual(len(flows), size, name)
            if tracking is None:
                self.assertEqual(name, 'all')
                tracking = {f['UUID']: f['TrackingID'] for f in flows}
                self.assertEqual(len(set(tracking.values())), FLOWS)
            for f in flows:
                # Same flow, same identity, in every answer.
                self.assertEqual(tracking.get(f['UUID']), f['TrackingID'], (name, f['UUID']))
                now = [h.metric(f, m) for m in METRICS]
                before = last.get(f['UUID'], [0] * len(METRICS))
                self.assertTrue(all(a >= b for a, b in zip(now, before)),
                                '%s: %s went down: %s -> %s' % (name, f['UUID'], before, now))
                last[f['UUID']] = now
            if name == 'all':
                self.assertEqual({f['UUID'] for f in flows}, set(tracking), name)
            if i % 3 == 0:
                counters = stats(p.address)
                stat_answers += 1
                self.check_drops(counters, 'stats')
                self.assertEqual(counters['flows_live'], FLOWS)
                self.assertEqual(counters['flows_created'], FLOWS)
                self.assertGreater(counters['packets_in'], last_in, 'RX stalled')
                last_in = counters['packets_in']
        self.assertGreater(stat_answers, 2)
        # Each replayed flow kept receiving while the client asked.
        self.assertTrue(all(v[0] > 1 for v in last.values()))

        self.assertEqual(p.stop(), 0, p.stderr())
        text = p.stderr()
        self.assertEqual(h.stderr_noise(text), [], text)
        summary = h.parse_summary(text)
        self.assertIsNotNone(summary, text)
        self.check_drops(summary, 'summary')
        drops = sum(v for k, v in summary.items() if k.startswith('drop_'))
        self.assertEqual(summary['packets_in'],
                         summary['packets_in_flows'] + summary.get('filtered', 0) + drops)
        self.assertGreaterEqual(summary['packets_in'], last_in)
        self.assertEqual(summary['flows_created'], FLOWS)
        self.assertEqual(summary['flows_expired'], FLOWS)
        print('%d flow answers, %d stats answers, %d packets in %.0f s'
              % (answers, stat_answers, summary['packets_in'], load_seconds()),
              file=sys.stderr)


if __name__ == '__main__':
    h.main()
