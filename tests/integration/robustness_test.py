#!/usr/bin/env python3
"""Robustness: skyprobe over every capture of tcpdump's test suite.

../shared/pcaps/tcpdump holds 829 real and fuzzer-found captures (35 link
types, many malformed; index.tsv describes them). What libpcap itself makes of
each file (opened or refused, datalink, how many records it delivers) is the
oracle, since net_pcap reads through libpcap:

- libpcap refuses the file (bad header, unsupported pcapng variant): skyprobe
  exits non-zero with one clean error line;
- the link type is not decoded by skyprobe (supported: 0 NULL, 1 Ethernet,
  12/101 raw IP, 113 Linux SLL, 228 IPv4, 229 IPv6): one clean error line that
  names the link type;
- otherwise: exit 0, one EXPIRE record per flow, the counter invariants, and
  packets_in equal to the number of records libpcap delivers. When libpcap
  stops on a damaged record, a clean error is accepted as well.

"Clean" means: no signal, no crash or sanitizer report, no DPDK "EAL:" lines
on stderr. Runs go through a pool of 4 processes with a 20 s timeout each,
with --max-flows 65536.
SKYPROBE_ROBUSTNESS_SUBSET=1 runs a deterministic third of the corpus.
"""

import concurrent.futures
import csv
import os
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skyprobe_harness as h  # noqa: E402

SUPPORTED_DLTS = {0, 1, 12, 101, 113, 228, 229}
RUN_TIMEOUT = 20
POOL_SIZE = h.RUNS_AT_ONCE
# Far more than any capture of the corpus needs; the default (1M) makes each
# run preallocate ~440 MB and doubles the runtime of the corpus.
MAX_FLOWS = '65536'


def load_index(folder):
    """Rows of index.tsv keyed by file name."""
    with open(os.path.join(folder, 'index.tsv'), encoding='utf-8') as handle:
        return {r['name']: r for r in csv.DictReader(handle, delimiter='\t')}


def select(names):
    """All names, or a deterministic third with SKYPROBE_ROBUSTNESS_SUBSET."""
    names = sorted(names)
    if h.env_flag('SKYPROBE_ROBUSTNESS_SUBSET'):
        return names[::3]
    return names


def probe(path, workdir):
    """Run skyprobe on one capture; return (scan, run)."""
    scan = h.libpcap_scan(path)
    json_path = os.path.join(workdir, os.path.basename(path) + '.json')
    run = h.run_skyprobe(['--pcap', path, '--max-flows', MAX_FLOWS],
                         json_path=json_path, timeout=RUN_TIMEOUT)
    if os.path.exists(json_path):
        os.unlink(json_path)
    return scan, run


def link_type_names(entry, scan):
    """Ways the error line may name the link type."""
    names = {str(scan.datalink)}
    if entry:
        names.add(entry.get('linktype', ''))
        raw = entry.get('linktype_raw', '')
        if raw.startswith('0x'):
            names.update((raw, str(int(raw, 16))))
    return {n for n in names if n and n != '-1'}


class RobustnessTest(unittest.TestCase):
    """No crash, clean refusals, counters that add up."""

    maxDiff = None

    def test_tcpdump_corpus(self):
        """Every capture of the tcpdump corpus."""
        h.require_skyprobe(self)
        folder = h.shared_dir('tcpdump')
        index = load_index(folder)
        names = select(n for n in os.listdir(folder) if n in index)
        self.assertGreater(len(names), 0)
        start = time.monotonic()
        with tempfile.TemporaryDirectory() as workdir, \
                concurrent.futures.ThreadPoolExecutor(POOL_SIZE) as pool:
            futures = {name: pool.submit(probe, os.path.join(folder, name),
                                         workdir) for name in names}
            for name in names:
                scan, run = futures[name].result()
                with self.subTest(capture=name):
                    self.check_one(name, index.get(name), scan, run)
        elapsed = time.monotonic() - start
        print('\nrobustness: %d captures in %.1f s (pool of %d)'
              % (len(names), elapsed, POOL_SIZE), file=sys.stderr)

    def check_one(self, name, entry, scan, run):
        """Apply the expectation that libpcap's view of the file implies."""
        self.assertFalse(run.timed_out, '%s: no exit within %d s'
                         % (name, RUN_TIMEOUT))
        if not scan.opened:
            h.check_clean_error(self, run, '%s (libpcap: %s)'
                                % (name, scan.open_error))
            return
        if scan.datalink not in SUPPORTED_DLTS:
            line = h.check_clean_error(self, run, '%s (link type %d)'
                                       % (name, scan.datalink))
            self.assertIn('link', line.lower(), '%s: %r' % (name, line))
            names = link_type_names(entry, scan)
            self.assertTrue(any(n in line for n in names),
                            '%s: error line %r names none of %s'
                            % (name, line, sorted(names)))
            return
        if run.returncode != 0 and scan.read_error:
            h.check_clean_error(self, run, '%s (libpcap stops after %d '
                                'records: %s)' % (name, scan.packets,
                                                  scan.read_error))
            return
        self.assertEqual(run.returncode, 0, '%s: %s' % (name, run.describe()))
        self.assertEqual(h.stderr_noise(run.stderr.replace('EAL:', '')), [],
                         '%s: crash report\n%s' % (name, run.describe()))
        flows = h.final_flows(self, run.records, name)
        h.check_counters(self, run, flows, name)
        self.assertEqual(run.summary['packets_in'], scan.packets,
                         '%s: packets_in vs records libpcap delivers' % name)


if __name__ == '__main__':
    h.main()
