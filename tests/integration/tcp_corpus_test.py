#!/usr/bin/env python3
"""TCP health (docs/tcp-metrics.md) against tshark on the tcpdump corpus.

Every capture of ../shared/pcaps/tcpdump with a TCP frame right after its
link header (tcp_oracle.has_tcp: ~100 files) goes through skyprobe
--tcp-health and tshark. For every TCP direction whose conversation (its
address and port pair) is one flow record in the probe's output, the six
health counters must equal tshark's count of flagged frames. A conversation
split into several records (idle past --expire, a capture clock that jumps,
MACs or VLANs that differ within it: docs/tcp-metrics.md, "Where this differs
from tshark") is reported and left out; scripts/tcp_metrics_report.py gives
the full picture, stream counters included.
"""

import collections
import concurrent.futures
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skyprobe_harness as h  # noqa: E402
import tcp_oracle as oracle  # noqa: E402

HEALTH = [n for n, _ in oracle.HEALTH]


class TcpCorpusTest(unittest.TestCase):

    def test_health_equals_tshark_where_one_record(self):
        """Each direction of a conversation kept in one record: tshark's counts."""
        h.require_skyprobe(self)
        tshark = h.tshark_path()
        folder = h.shared_dir('tcpdump')
        workdir = h.scratch_dir('tcp_corpus')
        names = [n for n in sorted(os.listdir(folder))
                 if n.endswith(('.pcap', '.pcapng', '.cap'))
                 and oracle.has_tcp(os.path.join(folder, n))]
        self.assertGreater(len(names), 50, 'too few TCP captures found in %s' % folder)
        diffs, compared, split, flagged = [], 0, [], collections.Counter()

        def both(name):
            """The probe's run and tshark's frames of one capture."""
            path = os.path.join(folder, name)
            run = h.run_skyprobe(['--pcap', path, '--max-flows', '65536', '--tcp-health'],
                                 json_path=os.path.join(workdir, name + '.json'), timeout=300)
            return run, oracle.tshark_frames(tshark, path, timeout=300)
        # Each run spends most of its time starting (EAL, tshark's dissectors).
        with concurrent.futures.ThreadPoolExecutor(h.RUNS_AT_ONCE) as pool:
            results = pool.map(both, names)
        for name, (run, frames) in zip(names, results):
            self.assertEqual(run.returncode, 0, run.describe())
            flows = h.final_flows(self, run.records, name)
            records = collections.Counter()
            for flow in flows:
                keys = oracle.flow_direction_keys(flow)
                if keys:
                    records[frozenset((keys[0][:2], keys[0][2:]))] += 1
            want = oracle.tshark_directions(frames)
            got = oracle.probe_directions(flows, ('AB', 'BA'), HEALTH)
            for key in sorted(set(want) | set(got)):
                pair = frozenset((key[:2], key[2:]))
                if records[pair] > 1:
                    split.append((name, key))
                    continue
                if records[pair] == 0:
                    # No TCP flow: what tshark decoded as TCP was not
                    # (a header the parser refused); it flags nothing there.
                    self.assertFalse([n for n in HEALTH if want[key].get(n)], (name, key))
                    continue
                for counter in HEALTH:
                    w = want.get(key, {}).get(counter, 0)
                    g = (got.get(key) or {}).get(counter)
                    flagged[counter] += w
                    compared += 1
                    if w != g:
                        diffs.append('%s %s %s: tshark %s, skyprobe %s' % (name, key, counter, w, g))
        self.assertFalse(diffs, '%d differences:\n  %s' % (len(diffs), '\n  '.join(diffs[:30])))
        self.assertGreater(compared, 1500)
        # Real flags were compared, not only zeros.
        for counter in ('Retransmissions', 'OutOfOrder', 'LostSegments', 'DupAcks'):
            self.assertGreater(flagged[counter], 0, flagged)
        print('compared %d direction counters in %d captures; %d directions in split '
              'conversations left out: %s' % (compared, len(names), len(split), split[:10]))


if __name__ == '__main__':
    h.main()
