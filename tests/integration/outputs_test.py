#!/usr/bin/env python3
"""Outputs and signals: a closed pipe, a full disk, SIGINT/SIGTERM, SIGHUP.

- `skyprobe --pcap BIG --json - | head -1`: the probe is not killed by
  SIGPIPE (exit 141 before); it finishes the capture, prints its summary on
  stderr, counts the lost records and exits 3 with one clear message.
- `--json /dev/full`: every write fails; output_errors and records_lost are
  seen while it runs (Stats, --stats-interval), every record is lost
  (records_lost == records_out), the exit status is 3 with a clear message.
- SIGINT and SIGTERM on a held replay: exit 0, every flow expired and written
  (the same flows as a run that ends by itself).
- SIGHUP after the JSON file was renamed (logrotate): records written before
  it are in the renamed file, the later ones in a new file at the path, none
  twice and none missing.
"""

import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skyprobe_harness as h  # noqa: E402

DEMO_PACKETS = 200


def demo_pcap():
    return os.path.join(h.source_root(), 'tests', 'data', 'demo.pcap')


def ctl_stats(address):
    """{(scope, name): value} from skyprobectl stats."""
    out = subprocess.run([h.ctl_path(), 'stats', '--all', '--probe', address], capture_output=True,
                         text=True, timeout=60)
    if out.returncode != 0:
        raise AssertionError('skyprobectl stats -> %d\n%s' % (out.returncode, out.stderr))
    stats = {}
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2].isdigit():
            stats[(parts[0], parts[1])] = int(parts[2])
    return stats


def wait_for(testcase, what, predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while not predicate():
        testcase.assertLess(time.monotonic(), deadline, 'timed out waiting for ' + what)
        time.sleep(0.1)


def read_records(path):
    with open(path, encoding='utf-8') as handle:
        return h.parse_json_lines(handle.read())


def flow_view(flows):
    """UUID -> what must not change between two runs of the same capture."""
    return {f['UUID']: (f.get('LayersPath'), f.get('Metric', {}).get('ABPackets'),
                        f.get('Metric', {}).get('BAPackets'), f.get('Metric', {}).get('ABBytes'),
                        f.get('Metric', {}).get('BABytes'), f.get('Metric', {}).get('Start'),
                        f.get('Metric', {}).get('Last')) for f in flows}


class OutputsTest(unittest.TestCase):

    def setUp(self):
        h.require_skyprobe(self)
        self.tmp = h.scratch_dir('outputs')

    def reference_flows(self):
        run = h.run_skyprobe(['--pcap', demo_pcap()], json_path=os.path.join(self.tmp, 'ref.json'))
        self.assertEqual(run.returncode, 0, run.describe())
        return flow_view(h.final_flows(self, run.records, 'reference'))

    def test_closed_pipe_is_counted_not_fatal(self):
        big = os.path.join(self.tmp, 'big.pcap')
        if not os.path.exists(big):
            subprocess.run([sys.executable, h.gen_pcap_script(), 'synthetic', big], check=True,
                           capture_output=True, timeout=600)
        probe = subprocess.Popen([h.skyprobe_path(), '--pcap', big, '--json', '-'],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
        first = probe.stdout.readline()  # what `head -1` does, then it leaves
        probe.stdout.close()
        _, err = probe.communicate(timeout=600)
        err = err.decode('utf-8', 'replace')
        self.assertTrue(first.startswith(b'{"Event":'), first[:100])
        self.assertEqual(probe.returncode, 3, err)
        summary = h.parse_summary(err)
        self.assertIsNotNone(summary, err)
        self.assertEqual(summary['output_errors'], 1)
        lost = summary['records_lost']
        self.assertGreaterEqual(lost, 1)
        self.assertLess(lost, summary['records_out'])  # the first line at least got out
        self.assertEqual(summary['output.json.records_lost'], lost)
        self.assertIn('skyprobe: --json stdout: 1 write error(s), %d record(s) lost '
                      '(last error: Broken pipe)' % lost, err)
        # The replay went through: every packet in a flow, as without the pipe.
        self.assertEqual(summary['packets_in'], summary['packets_in_flows'] + summary['drops'] +
                         summary.get('filtered', 0))

    def test_full_disk_is_counted_while_running(self):
        probe = h.ServingProbe(self, ['--pcap', demo_pcap(), '--hold', '--update', '1',
                                      '--json', '/dev/full', '--stats-interval', '1'])
        # Update records are written (and fail) while the replay is held.
        wait_for(self, 'records_lost in Stats',
                 lambda: ctl_stats(probe.address).get(('output.json', 'records_lost'), 0) > 0)
        live = ctl_stats(probe.address)
        self.assertGreaterEqual(live[('total', 'output_errors')], 1)
        self.assertEqual(live[('total', 'records_lost')], live[('output.json', 'records_lost')])
        wait_for(self, 'a --stats-interval line with records_lost',
                 lambda: any('skyprobe: stats' in l and 'records_lost=' in l and
                             'records_lost=0' not in l for l in list(probe.lines)))
        code = probe.terminate()
        err = probe.stderr()
        self.assertEqual(code, 3, err)
        summary = h.parse_summary(err)
        self.assertEqual(summary['records_lost'], summary['records_out'])  # every one
        self.assertEqual(summary['packets_in'], DEMO_PACKETS)
        self.assertIn('skyprobe: --json /dev/full: %d write error(s), %d record(s) lost '
                      '(last error: No space left on device)'
                      % (summary['output_errors'], summary['records_out']), err)

    def check_signal(self, sig):
        json_path = os.path.join(self.tmp, 'signal.json')
        if os.path.exists(json_path):
            os.unlink(json_path)
        probe = h.ServingProbe(self, ['--pcap', demo_pcap(), '--hold', '--json', json_path])
        wait_for(self, 'the replay', lambda: ctl_stats(probe.address).get(
            ('total', 'packets_in'), 0) == DEMO_PACKETS)
        probe.proc.send_signal(sig)
        code = probe.proc.wait(timeout=60)
        probe.reader.join(timeout=10)
        self.assertEqual(code, 0, probe.stderr())
        summary = h.parse_summary(probe.stderr())
        self.assertIsNotNone(summary, probe.stderr())
        self.assertEqual(summary['records_lost'], 0)
        flows = h.final_flows(self, read_records(json_path), signal.Signals(sig).name)
        self.assertEqual(flow_view(flows), self.reference_flows())
        self.assertEqual(summary['flows_expired'], len(flows))

    def test_sigint_flushes_every_flow(self):
        self.check_signal(signal.SIGINT)

    def test_sigterm_flushes_every_flow(self):
        self.check_signal(signal.SIGTERM)

    def test_sighup_reopens_the_json_file(self):
        json_path = os.path.join(self.tmp, 'rotate.json')
        rotated = json_path + '.1'
        for p in (json_path, rotated):
            if os.path.exists(p):
                os.unlink(p)
        probe = h.ServingProbe(self, ['--pcap', demo_pcap(), '--hold', '--update', '1',
                                      '--json', json_path])
        wait_for(self, 'the replay', lambda: ctl_stats(probe.address).get(
            ('total', 'packets_in'), 0) == DEMO_PACKETS)
        # Held: no more records until the signal. Wait until every one so far
        # is in the file (written about once a second).
        out = ctl_stats(probe.address)[('total', 'records_out')]
        self.assertGreater(out, 0)
        wait_for(self, 'the update records in the file',
                 lambda: len(read_records(json_path)) == out)
        os.rename(json_path, rotated)  # what logrotate does
        probe.proc.send_signal(signal.SIGHUP)
        wait_for(self, 'the file reopened', lambda: os.path.exists(json_path))
        code = probe.terminate()
        self.assertEqual(code, 0, probe.stderr())
        summary = h.parse_summary(probe.stderr())
        before, after = read_records(rotated), read_records(json_path)
        self.assertEqual(len(before), out)
        # After the rotation only the flows still live at SIGTERM left.
        self.assertEqual(len(after), summary['expired_flush'])
        self.assertTrue(after and all(r['Event'] == 'EXPIRE' for r in after))
        self.assertEqual(len(before) + len(after), summary['records_out'])
        flows = h.final_flows(self, before + after, 'rotated')
        self.assertEqual(flow_view(flows), self.reference_flows())


if __name__ == '__main__':
    h.main()
