#!/usr/bin/env python3
"""--bpf through the real binary, with Skydive's BPF test expectations.

TestBPFFilter: eth-ip4-arp-dns-req-http-google with "port 53 or port 80"
gives exactly 4 flows (the ARP request and reply are filtered). TestVlanBPF:
"icmp or (vlan and icmp)" keeps both 802.1Q-tagged echo requests of
icmp-vlan, while plain "icmp" keeps none (libpcap's VLAN semantics). The
filtered frames are counted: packets_in = packets_in_flows + filtered + drops.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skyprobe_harness as h  # noqa: E402


class BpfTest(unittest.TestCase):
    """The BPF filter keeps what libpcap keeps, and counts the rest."""

    def setUp(self):
        h.require_skyprobe(self)

    def run_filtered(self, trace, expr, extra=()):
        path = os.path.join(h.shared_dir('skydive'), trace)
        json_path = os.path.join(h.scratch_dir('bpf'), 'flows.json')
        run = h.run_skyprobe(['--pcap', path, '--bpf', expr] + list(extra),
                             json_path=json_path, timeout=120)
        self.assertEqual(run.returncode, 0, run.describe())
        flows = h.final_flows(self, run.records, '%s --bpf %r' % (trace, expr))
        h.check_counters(self, run, flows, trace)
        return flows, run.summary

    def test_skydive_port_filter_gives_four_flows(self):
        for workers in ('1', '2'):
            flows, summary = self.run_filtered('eth-ip4-arp-dns-req-http-google.pcap',
                                               'port 53 or port 80', ['--workers', workers])
            self.assertEqual(len(flows), 4, [f['LayersPath'] for f in flows])
            self.assertEqual(sorted(f['Transport']['B'] for f in flows), [53, 53, 80, 80])
            self.assertEqual(summary['filtered'], 2)  # the ARP request and reply

    def test_vlan_semantics_follow_libpcap(self):
        flows, summary = self.run_filtered('icmp-vlan.pcap', 'icmp or (vlan and icmp)')
        self.assertEqual(len(flows), 1)
        self.assertEqual(h.metric(flows[0], 'ABPackets'), 2)
        self.assertEqual(summary['filtered'], 0)
        flows, summary = self.run_filtered('icmp-vlan.pcap', 'icmp')
        self.assertEqual(flows, [])
        self.assertEqual(summary['filtered'], 2)

    def test_bad_expression_is_one_clear_line(self):
        path = os.path.join(h.shared_dir('skydive'), 'icmp-vlan.pcap')
        run = h.run_skyprobe(['--pcap', path, '--bpf', 'porrt 53'], timeout=60)
        line = h.check_clean_error(self, run, '--bpf porrt 53', ['--bpf'])
        self.assertIn('syntax error', line)


if __name__ == '__main__':
    h.main()
