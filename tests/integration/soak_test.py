#!/usr/bin/env python3
"""scripts/soak.py: its verdicts catch what they promise to, and its smoke run passes.

The verdict functions are fed made-up runs, each with one fault a soak must report (memory
that keeps growing, one more file descriptor or thread, a packet or a record missing from
the accounting) and the same runs without it. Then `soak.py --short` runs the real probe for
about 30 s of paced replay with churn at the table limit, queries, subscribers and exports,
and must pass every check (the 30-minute run is not a test: RELIABILITY.md gives its
command and figures).
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skyprobe_harness as h  # noqa: E402

sys.path.insert(0, os.path.join(h.source_root(), 'scripts'))
import soak  # noqa: E402  pylint: disable=wrong-import-position
import soak_checks  # noqa: E402  pylint: disable=wrong-import-position


def series(rss, fds=None, threads=None, step=10.0):
    """Samples every `step` seconds from the lists given (fds, threads constant if None)."""
    n = len(rss)
    fds = fds or [40] * n
    threads = threads or [12] * n
    return [dict(t=step * (i + 1), rss_kib=rss[i], fds=fds[i], threads=threads[i])
            for i in range(n)]


class FakeRecords:  # pylint: disable=too-few-public-methods
    def __init__(self, expires, outer_packets, problems=()):
        self.expires = expires
        self.outer_packets = outer_packets
        self.problems = list(problems)


GOOD_SUMMARY = {'packets_in': 1000, 'packets_in_flows': 990, 'filtered': 10,
                'flows_created': 70, 'flows_expired': 70, 'drop_table_full': 0,
                'output.json.records_lost': 0, 'output.json.output_errors': 0}


class VerdictTest(unittest.TestCase):

    def test_steady_run_passes(self):
        # Growth during the warm-up (the first 30 s) is allowed; after it, noise within 2 %.
        s = series([1000, 50000, 100000, 101000, 100500, 101900, 100000])
        self.assertEqual(soak_checks.check_samples(s, 30, 2.0), [])

    def test_memory_growth_after_warmup_fails(self):
        s = series([100000, 100000, 100000, 101000, 102000, 102100])
        failures = soak_checks.check_samples(s, 30, 2.0)
        self.assertEqual(len(failures), 1, failures)
        self.assertIn('resident memory grew 2.10 %', failures[0])

    def test_one_more_fd_or_thread_fails(self):
        s = series([100000] * 6, fds=[40, 40, 40, 40, 41, 40])
        self.assertIn('fds leak', ' '.join(soak_checks.check_samples(s, 30, 2.0)))
        s = series([100000] * 6, threads=[12, 14, 12, 12, 12, 13])
        self.assertIn('threads leak', ' '.join(soak_checks.check_samples(s, 30, 2.0)))
        # More during the warm-up only: fine.
        s = series([100000] * 6, fds=[30, 45, 40, 40, 40, 40])
        self.assertEqual(soak_checks.check_samples(s, 30, 2.0), [])

    def test_too_short_a_run_fails(self):
        self.assertIn('too few samples', soak_checks.check_samples(series([1, 1, 1]), 30, 2.0)[0])

    def test_exact_accounting_passes(self):
        self.assertEqual(soak_checks.check_accounting(GOOD_SUMMARY, 1000, FakeRecords(70, 990),
                                               {'packets_in': 1000}), [])

    def test_each_accounting_fault_fails(self):
        cases = (
            ('frames', dict(GOOD_SUMMARY), 999, FakeRecords(70, 990), '!= 999 frames'),
            ('sum', dict(GOOD_SUMMARY, packets_in_flows=989), 1000, FakeRecords(70, 989),
             'packets_in 1000 != packets_in_flows 989'),
            ('drop', dict(GOOD_SUMMARY, packets_in_flows=989, drop_ring_full=1), 1000,
             FakeRecords(70, 989), 'packets dropped'),
            ('record', dict(GOOD_SUMMARY), 1000, FakeRecords(69, 990),
             '69 EXPIRE records != flows_created 70'),
            ('packets', dict(GOOD_SUMMARY), 1000, FakeRecords(70, 989),
             'outermost EXPIRE records 989 != packets_in_flows 990'),
            ('order', dict(GOOD_SUMMARY), 1000,
             FakeRecords(70, 990, ['a record after the EXPIRE of flow x']), 'after the EXPIRE'),
            ('lost', dict(GOOD_SUMMARY, **{'output.json.records_lost': 3}), 1000,
             FakeRecords(70, 990), 'outputs lost records'),
        )
        for name, summary, frames, records, expected in cases:
            failures = soak_checks.check_accounting(summary, frames, records, {'packets_in': 1000})
            self.assertTrue(any(expected in f for f in failures), (name, failures))
        self.assertIn('no summary', soak_checks.check_accounting(None, 1, FakeRecords(0, 0), None)[0])
        self.assertIn('Stats packets_in 7', ' '.join(soak_checks.check_accounting(
            GOOD_SUMMARY, 1000, FakeRecords(70, 990), {'packets_in': 7})))


class SmokeTest(unittest.TestCase):

    def test_short_soak_passes(self):
        h.require_skyprobe(self)
        out = h.scratch_dir('soak')
        code = soak.main(['--short', '--build', h.build_root(), '--out', out])
        with open(os.path.join(out, 'result.txt'), encoding='utf-8') as f:
            result = f.read()
        self.assertEqual(code, 0, result)
        self.assertIn('PASSED', result)


if __name__ == '__main__':
    h.main()
