#!/usr/bin/env python3
"""A replay sizes its flow tables to its files (app/inputs.cc ReplayFlowBound).

A --pcap replay cannot hold more flows than its frames open: at most 4 (the
outer flow and 3 tunnel levels) per frame, and a frame takes at least 16
bytes of its file. Each shard's capacity is then min(--max-flows / workers,
4 * file bytes / 16), computed here from the files' sizes:

- the bundled demo capture: that capacity, its flows all recorded (the
  golden tests check their values on the Skydive traces, which run sized
  too), and a peak resident set under 100 MB (about 490 MB before, with
  the default --max-flows 1M preallocated);
- two files and two workers: each shard is capped by the files' total;
- a file with more flows than --max-flows: --max-flows still rules.
"""

import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skyprobe_harness as h  # noqa: E402

DEFAULT_MAX_FLOWS = 1048576


def bound(paths):
    return sum(os.path.getsize(p) for p in paths) // 16 * 4


class ReplaySizingTest(unittest.TestCase):
    """Tables sized to the replay, results unchanged."""

    def demo(self):
        return os.path.join(h.source_root(), 'tests', 'data', 'demo.pcap')

    def test_demo_replay_is_sized_to_its_file(self):
        h.require_skyprobe(self)
        demo = self.demo()
        json_path = os.path.join(h.scratch_dir('sizing'), 'demo.json')
        run = h.run_skyprobe(['--pcap', demo], json_path=json_path)
        self.assertEqual(run.returncode, 0, run.describe())
        self.assertEqual(run.summary['worker0_flows_capacity'],
                         min(DEFAULT_MAX_FLOWS, bound([demo])))
        flows = h.final_flows(self, run.records, 'demo')
        h.check_counters(self, run, flows, 'demo')
        self.assertEqual(len(flows), run.summary['flows_created'])
        self.assertGreater(len(flows), 5)

    def test_demo_replay_stays_under_100_mb(self):
        h.require_skyprobe(self)
        # The peak resident set of the one child run here (a fresh process:
        # RUSAGE_CHILDREN of this helper process holds only it).
        code = ('import resource, subprocess, sys\n'
                'subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, '
                'stderr=subprocess.DEVNULL, check=True)\n'
                'print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)')
        # Without meson's MALLOC_PERTURB_: glibc would fill every allocation
        # (making all of it resident), which is not the probe's own use.
        env = {k: v for k, v in os.environ.items() if k != 'MALLOC_PERTURB_'}
        out = subprocess.run([sys.executable, '-c', code, h.skyprobe_path(),
                              '--pcap', self.demo(), '--quiet'],
                             capture_output=True, text=True, timeout=120,
                             check=True, env=env)
        peak_kb = int(out.stdout.strip())
        self.assertLess(peak_kb, 100 * 1024, 'peak resident set %d kB' % peak_kb)

    def test_shards_capped_by_all_files(self):
        h.require_skyprobe(self)
        folder = h.shared_dir('skydive')
        files = [os.path.join(folder, 'simple-tcpv4.pcap'),
                 os.path.join(folder, 'dns.pcap')]
        args = sum((['--pcap', f] for f in files), []) + ['--workers', '2']
        run = h.run_skyprobe(args)
        self.assertEqual(run.returncode, 0, run.describe())
        for w in (0, 1):
            self.assertEqual(run.summary['worker%d_flows_capacity' % w],
                             min(DEFAULT_MAX_FLOWS // 2, bound(files)))

    def test_max_flows_below_the_bound_still_rules(self):
        h.require_skyprobe(self)
        demo = self.demo()
        run = h.run_skyprobe(['--pcap', demo, '--max-flows', '8'])
        self.assertEqual(run.returncode, 0, run.describe())
        self.assertLess(8, bound([demo]))
        self.assertEqual(run.summary['worker0_flows_capacity'], 8)


if __name__ == '__main__':
    h.main()
