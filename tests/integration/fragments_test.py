#!/usr/bin/env python3
"""IP defragmentation on a generated capture, against tshark and the generator.

tests/data/gen_pcap_fragments.py writes ~3.5k frames: 400 conversations (UDP
over IPv4 and IPv6, TCP over IPv4, ICMP and ICMPv6 echo), each on its own IP
address pair, with datagrams up to 6000 bytes fragmented (IPv4 and IPv6
Fragment header), fragments in random order within their datagram and
interleaved with other traffic, and a few datagrams missing a fragment (some
the first one). With --ip-defrag (default):
- every frame counts in a flow of its conversation's address pair, so the
  per-direction frames and bytes of the pair's flows add up to tshark's
  IPv4/IPv6 conversation tables (which count every frame) and to the
  generator's totals;
- each conversation is one flow keyed on its L4 header (ports / ICMP), plus
  one ".../Fragment" flow when a datagram lost its first fragment;
- IPMetric appears exactly on the flows that saw fragments; FragmentErrors
  only where a datagram was incomplete;
- the defrag counters match the generator (reassembled, given up);
- 1, 2 and 4 workers (dispatch) give the same flows.
"""

import collections
import functools
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skyprobe_harness as h  # noqa: E402
import workers_test  # noqa: E402

SEED = 3
MAX_REPORTED = 25


@functools.lru_cache(maxsize=None)
def capture():
    """Generate (or reuse) the capture; return (pcap, manifest)."""
    out_dir = h.scratch_dir('fragments')
    pcap = os.path.join(out_dir, 'fragments-seed%d.pcap' % SEED)
    manifest_path = pcap + '.json'
    script = os.path.join(h.source_root(), 'tests', 'data',
                          'gen_pcap_fragments.py')
    if (not os.path.exists(manifest_path) or not os.path.exists(pcap)
            or os.path.getmtime(pcap) < os.path.getmtime(script)):
        subprocess.run([sys.executable, script, pcap, '--seed', str(SEED),
                        '--manifest', manifest_path], check=True, timeout=300)
    with open(manifest_path, encoding='utf-8') as handle:
        return pcap, json.load(handle)


def pair_of(flow):
    """Unordered (normalized) address pair of a flow, or None."""
    network = flow.get('Network') or {}
    if not network.get('A'):
        return None
    return frozenset((h.normalize_ip(network['A']),
                      h.normalize_ip(network['B'])))


def sent_by(flow, ip):
    """(packets, bytes) a flow counted from address `ip`."""
    if h.normalize_ip(flow['Network']['A']) == ip:
        return h.metric(flow, 'ABPackets'), h.metric(flow, 'ABBytes')
    return h.metric(flow, 'BAPackets'), h.metric(flow, 'BABytes')


class FragmentsTest(unittest.TestCase):
    """Per-conversation totals and flows with defragmentation on."""

    maxDiff = None

    def run_probe(self, *args, label='fragments'):
        h.require_skyprobe(self)
        pcap, _ = capture()
        json_path = os.path.join(h.scratch_dir('fragments'), 'flows.json')
        run = h.run_skyprobe(['--pcap', pcap] + list(args),
                             json_path=json_path, timeout=600)
        self.assertFalse(run.timed_out, run.describe())
        self.assertEqual(run.returncode, 0, run.describe())
        flows = h.final_flows(self, run.records, label)
        h.check_counters(self, run, flows, label)
        return run, flows

    def test_totals_flows_and_ipmetric(self):
        pcap, manifest = capture()
        run, flows = self.run_probe()
        _, exact = h.run_tshark(pcap)
        rows = manifest['conversations']
        self.assertEqual(run.summary['packets_in'], manifest['packets'])
        by_pair = collections.defaultdict(list)
        for flow in flows:
            by_pair[pair_of(flow)].append(flow)
        problems = []
        for row in rows:
            a, b = row['client_ip'], row['server_ip']
            pair = frozenset((a, b))
            got = by_pair.get(pair, [])
            label = '%s/%s %s<->%s' % (row['kind'], row['family'], a, b)
            table = 'ipv4' if row['family'] == 4 else 'ipv6'
            oracle = exact.get((table, frozenset(((a, 0), (b, 0)))), {})
            for src, frames, size in ((a, row['frames_ab'], row['bytes_ab']),
                                      (b, row['frames_ba'], row['bytes_ba'])):
                counted = [sum(x) for x in zip(*(sent_by(f, src) for f in got))] or [0, 0]
                want = oracle.get((src, 0), [0, 0])
                if tuple(counted) != tuple(want):
                    problems.append('%s from %s: flows %s, tshark %s'
                                    % (label, src, counted, want))
                if tuple(counted) != (frames, size):
                    problems.append('%s from %s: flows %s, generator %s'
                                    % (label, src, counted, (frames, size)))
            main = [f for f in got if (f.get('Transport') or f.get('ICMP'))]
            rest = [f for f in got if f not in main]
            if len(main) != 1 or len(rest) != (1 if row['lost_first'] else 0):
                problems.append('%s: %d L4 flows, %d fragment flows (lost first: %d)'
                                % (label, len(main), len(rest), row['lost_first']))
                continue
            flow = main[0]
            if row['kind'] != 'icmp':
                ports = {int(flow['Transport']['A']), int(flow['Transport']['B'])}
                if ports != {row['client_port'], row['server_port']}:
                    problems.append('%s: ports %s' % (label, ports))
            ipm = flow.get('IPMetric')
            if (ipm is not None) != (row['fragmented'] > row['lost_first']):
                problems.append('%s: IPMetric %r, %d fragmented datagrams'
                                % (label, ipm, row['fragmented']))
            errors = int((ipm or {}).get('FragmentErrors', 0))
            if (errors > 0) != (row['lost'] > row['lost_first']):
                problems.append('%s: FragmentErrors %d, lost %d (first %d)'
                                % (label, errors, row['lost'], row['lost_first']))
            for f in rest:
                fipm = f.get('IPMetric') or {}
                if (f['LayersPath'].split('/')[-1] != 'Fragment'
                        or int(fipm.get('FragmentErrors', 0)) != h.flow_packets(f)):
                    problems.append('%s: fallback flow %s %r'
                                    % (label, f['LayersPath'], fipm))
        if problems:
            self.fail('%d problems; first ones:\n  %s'
                      % (len(problems), '\n  '.join(problems[:MAX_REPORTED])))
        fragmented = sum(r['fragmented'] for r in rows)
        lost = sum(r['lost'] for r in rows)
        self.assertGreater(fragmented, 500)
        self.assertGreater(lost, 10)
        s = run.summary
        self.assertEqual(s['defrag_datagrams'], fragmented - lost)
        self.assertEqual(s['defrag_timeouts'] + s['defrag_flushed'], lost)
        self.assertGreater(s['defrag_timeouts'], 0)
        for name in ('defrag_overlaps', 'defrag_too_many', 'defrag_table_full',
                     'defrag_held', 'drops'):
            self.assertEqual(s[name], 0, name)

    def test_workers_agree(self):
        """1, 2 and 4 workers (dispatch): the same flows, IPMetric included."""
        def keys(args, label):
            _, flows = self.run_probe(*args, label=label)
            return sorted(workers_test.flow_key(f) + (json.dumps(f.get('IPMetric')),)
                          for f in flows)
        base = keys(['--workers', '1'], '1 worker')
        for n in (2, 4):
            got = keys(['--workers', str(n), '--distribution', 'dispatch'],
                       '%d workers' % n)
            if got != base:
                self.fail('%d workers differ:\n  only with 1: %s\n  only with %d: %s'
                          % (n, [k for k in base if k not in got][:5], n,
                             [k for k in got if k not in base][:5]))

    def test_off_counts_every_frame_too(self):
        """--no-ip-defrag: the same per-pair totals, fragments in their own flows."""
        _, manifest = capture()
        _, flows = self.run_probe('--no-ip-defrag', label='defrag off')
        self.assertFalse([f for f in flows if f.get('IPMetric')])
        by_pair = collections.defaultdict(lambda: [0, 0])
        for flow in flows:
            p = by_pair[pair_of(flow)]
            p[0] += h.flow_packets(flow)
        for row in manifest['conversations']:
            pair = frozenset((row['client_ip'], row['server_ip']))
            self.assertEqual(by_pair[pair][0], row['frames_ab'] + row['frames_ba'])
        self.assertTrue([f for f in flows if f['LayersPath'].endswith('/Fragment')])


if __name__ == '__main__':
    h.main()
