#!/usr/bin/env python3
"""skyprobe flows vs tshark conversations on a large synthetic capture.

tests/data/gen_pcap.py writes a deterministic capture (>= 100k packets,
>= 5k conversations: TCP, UDP, DNS, ICMP echo, IPv4 and IPv6, some VLAN
tagged) into the build dir. skyprobe reads it; tshark's conversation tables
(tcp, udp, ipv4, ipv6) are the oracle for per-direction packet and byte
totals. TCP/UDP flows are matched by their unordered 5-tuple, ICMP flows by
their IP pair (the generator gives each ICMP conversation its own pair).
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

SEED = 1
MAX_REPORTED = 25


@functools.lru_cache(maxsize=None)
def synthetic_capture():
    """Generate (or reuse) the synthetic capture; return (pcap, manifest)."""
    out_dir = h.scratch_dir('synthetic')
    pcap = os.path.join(out_dir, 'synthetic-seed%d.pcap' % SEED)
    manifest_path = pcap + '.json'
    script = h.gen_pcap_script()
    stale = (not os.path.exists(manifest_path) or not os.path.exists(pcap)
             or os.path.getmtime(pcap) < os.path.getmtime(script))
    if stale:
        subprocess.run([sys.executable, script, 'synthetic', pcap, '--seed',
                        str(SEED), '--manifest', manifest_path], check=True,
                       timeout=600)
    with open(manifest_path, encoding='utf-8') as handle:
        return pcap, json.load(handle)


@functools.lru_cache(maxsize=None)
def tshark_tables():
    """tshark's conversations and exact per-frame aggregates (cached)."""
    return h.run_tshark(synthetic_capture()[0])


@functools.lru_cache(maxsize=None)
def probe_run():
    """Run skyprobe once over the synthetic capture (cached)."""
    pcap, _ = synthetic_capture()
    json_path = os.path.join(h.scratch_dir('synthetic'), 'flows.json')
    return h.run_skyprobe(['--pcap', pcap, '--max-flows', '65536'],
                          json_path=json_path, timeout=600)


def endpoint(flow, side):
    """(ip, port) of endpoint 'A' or 'B' of a flow (port 0 without L4)."""
    network = flow.get('Network') or {}
    transport = flow.get('Transport') or {}
    return (h.normalize_ip(network[side]), int(transport.get(side, 0)))


def flow_key(flow):
    """Matching key of a flow: (table, unordered endpoints), or None."""
    network = flow.get('Network')
    if not network or not network.get('A'):
        return None
    pair = frozenset((endpoint(flow, 'A'), endpoint(flow, 'B')))
    transport = flow.get('Transport')
    if transport:
        return (str(transport.get('Protocol', '')).lower(), pair)
    if flow.get('ICMP') is not None:
        return ('ipv4' if network.get('Protocol') == 'IPV4' else 'ipv6', pair)
    return None


def directional(flow, source):
    """(packets, bytes) a flow counted from endpoint `source`."""
    if endpoint(flow, 'A') == source:
        return h.metric(flow, 'ABPackets'), h.metric(flow, 'ABBytes')
    return h.metric(flow, 'BAPackets'), h.metric(flow, 'BABytes')


def manifest_key(row):
    """Matching key of a generator conversation."""
    table = row['kind'] if row['kind'] != 'icmp' else 'ipv%d' % row['family']
    return (table, frozenset(((row['client_ip'], row['client_port']),
                              (row['server_ip'], row['server_port']))))


class Comparison:
    """Collects mismatches so one run reports many of them."""

    def __init__(self):
        self.problems = []

    def expect(self, condition, message):
        """Record message when condition is false."""
        if not condition:
            self.problems.append(message)

    def check(self, testcase, what):
        """Fail with the first mismatches, if any."""
        if self.problems:
            testcase.fail('%d mismatches %s; first ones:\n  %s' % (
                len(self.problems), what,
                '\n  '.join(self.problems[:MAX_REPORTED])))


def compare_row(cmp, label, row, exact, counted):
    """Compare one tshark row with per-direction (packets, bytes) counted.

    counted maps (ip, port) -> (packets, bytes) for the two endpoints.
    """
    a, b = (row.addr_a, row.port_a), (row.addr_b, row.port_b)
    for src, frames, size in ((a, row.frames_ab, row.bytes_ab),
                              (b, row.frames_ba, row.bytes_ba)):
        got = counted.get(src, (0, 0))
        want_bytes = exact.get(src, [0, 0])[1]
        cmp.expect(got[0] == frames,
                   '%s from %s: tshark %d packets, skyprobe %d'
                   % (label, src, frames, got[0]))
        cmp.expect(size[0] <= want_bytes <= size[1],
                   '%s from %s: tshark fields give %d bytes, outside the '
                   'table value %s' % (label, src, want_bytes, size))
        cmp.expect(got[1] == want_bytes,
                   '%s from %s: tshark %d bytes, skyprobe %d'
                   % (label, src, want_bytes, got[1]))


class ConversationsTest(unittest.TestCase):
    """Per-conversation totals of skyprobe against tshark."""

    def test_generator_agrees_with_tshark(self):
        """The generator's own ground truth equals tshark's view."""
        _, manifest = synthetic_capture()
        rows, exact = tshark_tables()
        self.assertGreaterEqual(manifest['packets'], 100000)
        self.assertGreaterEqual(len(manifest['conversations']), 5000)
        by_key = {(r.table, r.endpoints()): r for r in rows}
        cmp = Comparison()
        expected_keys = set()
        for conv in manifest['conversations']:
            key = manifest_key(conv)
            cmp.expect(key not in expected_keys, 'duplicate %s' % (key,))
            expected_keys.add(key)
            row = by_key.get(key)
            cmp.expect(row is not None, 'tshark lacks %s' % (key,))
            if row is None:
                continue
            client = (conv['client_ip'], conv['client_port'])
            server = (conv['server_ip'], conv['server_port'])
            compare_row(cmp, 'generator %s' % (key,), row, exact[key], {
                client: (conv['c2s_packets'], conv['c2s_bytes']),
                server: (conv['s2c_packets'], conv['s2c_bytes'])})
        transport = {k for k in by_key if k[0] in ('tcp', 'udp')}
        cmp.expect(transport <= expected_keys,
                   'tshark has %d unexpected TCP/UDP conversations'
                   % len(transport - expected_keys))
        cmp.check(self, 'between gen_pcap.py and tshark')

    def test_counters_invariant(self):
        """Every packet of the capture is accounted for."""
        h.require_skyprobe(self)
        run = probe_run()
        self.assertEqual(run.returncode, 0, run.describe())
        flows = h.final_flows(self, run.records, 'synthetic')
        h.check_counters(self, run, flows, 'synthetic')
        self.assertEqual(run.summary['packets_in'],
                         synthetic_capture()[1]['packets'])
        self.assertEqual(run.summary['packets_in_flows'],
                         run.summary['packets_in'],
                         'synthetic: some well-formed packets were dropped: %s'
                         % run.summary)

    def test_flows_match_tshark_conversations(self):
        """Every tshark conversation equals one flow, and vice versa."""
        h.require_skyprobe(self)
        run = probe_run()
        self.assertEqual(run.returncode, 0, run.describe())
        flows = h.final_flows(self, run.records, 'synthetic')
        rows, exact = tshark_tables()
        cmp = Comparison()
        ours = {}
        for flow in flows:
            key = flow_key(flow)
            cmp.expect(key is not None, 'flow %s has neither TCP/UDP nor ICMP '
                       'over IP: %.300s' % (flow.get('UUID'), flow))
            cmp.expect(key not in ours, 'two flows for %s' % (key,))
            if key is not None:
                ours[key] = flow
        transport_pairs = collections.defaultdict(list)
        matched = set()
        for row in rows:
            key = (row.table, row.endpoints())
            if row.table in ('tcp', 'udp'):
                ips = frozenset(((row.addr_a, 0), (row.addr_b, 0)))
                transport_pairs[ips].append(key)
                flow = ours.get(key)
                cmp.expect(flow is not None, 'no flow for tshark %s' % (key,))
                if flow is not None:
                    matched.add(key)
                    counted = {src: directional(flow, src)
                               for src in row.endpoints()}
                    compare_row(cmp, str(key), row, exact[key], counted)
        for row in rows:
            if row.table not in ('ipv4', 'ipv6'):
                continue
            key = (row.table, row.endpoints())
            if key in ours:
                matched.add(key)
                flow = ours[key]
                cmp.expect(key not in transport_pairs, 'ICMP pair %s also '
                           'carries TCP/UDP' % (key,))
                counted = {src: directional(flow, src)
                           for src in row.endpoints()}
            elif key[1] in transport_pairs:
                counted = self._sum_transport(ours, transport_pairs[key[1]],
                                              row)
            else:
                cmp.expect(False, 'no flow for tshark %s' % (key,))
                continue
            compare_row(cmp, str(key), row, exact[key], counted)
        unmatched = set(ours) - matched
        cmp.expect(not unmatched, '%d flows match no tshark conversation, '
                   'e.g. %s' % (len(unmatched),
                                sorted(unmatched, key=str)[:3]))
        cmp.check(self, 'between skyprobe and tshark')

    @staticmethod
    def _sum_transport(ours, keys, row):
        """Per-IP totals of the TCP/UDP flows between one IP pair."""
        totals = collections.defaultdict(lambda: [0, 0])
        for key in keys:
            flow = ours.get(key)
            if flow is None:
                continue
            for ip, port in key[1]:
                packets, size = directional(flow, (ip, port))
                totals[(ip, 0)][0] += packets
                totals[(ip, 0)][1] += size
        return {src: tuple(totals[src]) for src in row.endpoints()}

    def test_flows_match_generator_ground_truth(self):
        """A/B, MACs, VLAN, LayersPath and Application per conversation."""
        h.require_skyprobe(self)
        run = probe_run()
        self.assertEqual(run.returncode, 0, run.describe())
        flows = h.final_flows(self, run.records, 'synthetic')
        ours = {flow_key(f): f for f in flows}
        cmp = Comparison()
        for conv in synthetic_capture()[1]['conversations']:
            key = manifest_key(conv)
            flow = ours.get(key)
            cmp.expect(flow is not None, 'no flow for %s' % (key,))
            if flow is not None:
                self._compare_truth(cmp, key, conv, flow)
        cmp.check(self, 'between skyprobe and the generator')

    @staticmethod
    def _compare_truth(cmp, key, conv, flow):
        link = flow.get('Link') or {}
        want = {
            'LayersPath': conv['layers_path'],
            'Application': conv['application'],
            'Link.A': conv['client_mac'], 'Link.B': conv['server_mac'],
            'Link.ID': conv['vlan'] or 0,
            'Network.A': conv['client_ip'],
            'A port': conv['client_port'],
            'ABPackets': conv['c2s_packets'], 'ABBytes': conv['c2s_bytes'],
            'BAPackets': conv['s2c_packets'], 'BABytes': conv['s2c_bytes'],
            'Start': conv['start_us'] // 1000,
        }
        got = {
            'LayersPath': flow.get('LayersPath'),
            'Application': flow.get('Application'),
            'Link.A': link.get('A'), 'Link.B': link.get('B'),
            'Link.ID': int(link.get('ID', 0)),
            'Network.A': h.normalize_ip((flow.get('Network') or {})['A']),
            'A port': endpoint(flow, 'A')[1],
            'ABPackets': h.metric(flow, 'ABPackets'),
            'ABBytes': h.metric(flow, 'ABBytes'),
            'BAPackets': h.metric(flow, 'BAPackets'),
            'BABytes': h.metric(flow, 'BABytes'),
            'Start': flow.get('Start'),
        }
        if conv['kind'] == 'icmp':
            icmp = flow.get('ICMP') or {}
            want.update({'ICMP.Type': 'ECHO', 'ICMP.ID': conv['icmp_id']})
            got.update({'ICMP.Type': icmp.get('Type'),
                        'ICMP.ID': int(icmp.get('ID', 0))})
        for field, value in want.items():
            cmp.expect(got[field] == value, '%s %s: expected %r, got %r'
                       % (key, field, value, got[field]))


if __name__ == '__main__':
    h.main()
