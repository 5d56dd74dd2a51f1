#!/usr/bin/env python3
"""Aggregation in the probe (Aggregate, `skyprobectl flows --group-by`).

A generated capture of 10,500 TCP, UDP and ICMP conversations (IPv4 and
IPv6, some VLAN-tagged) is replayed with --hold by real probes; the test
counts the same capture itself, frame by frame, with its own parser below
(Ethernet, 802.1Q, IPv4, IPv6, TCP, UDP, ICMP echo): per conversation its
first sender (A) and the frames and bytes each way, then per host. Checked:

- per Network.A and per Network.B host, per (Network.A, Transport.B) and per
  Link.ID (the VLAN): flows, packets and bytes each way equal the test's own
  count, with two workers (each groups its shard; the groups are merged);
- a filter the workers cannot run (a regular expression: the probe groups
  the candidates itself) gives the test's count of the matching hosts;
- per Application: the sums of the probe's own flow records (QueryStream);
- TrackingID over two capture points of the same capture: every
  conversation seen at both (Flows = 2), per CaptureID the whole capture;
- several --probe: the groups add up (three sightings of each conversation);
- sort and limit: the top 5 hosts by bytes are the test's top 5; CSV read
  by Python's csv module and JSON equal the table's groups;
- bad requests, through skyprobectl and raw gRPC: an unknown key, a counter
  as a key, nine keys, a key twice, a bad sort, a limit above 10000 are
  INVALID_ARGUMENT; grouping 10,500 flows by UUID is RESOURCE_EXHAUSTED
  (more than 10000 groups), and the probe still answers afterwards.
"""

import collections
import csv
import functools
import io
import ipaddress
import json
import os
import struct
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skyprobe_harness as h  # noqa: E402

SEED = 11
FLOWS = 10500


@functools.lru_cache(maxsize=None)
def capture():
    """The generated capture (made once per build dir)."""
    out = os.path.join(h.scratch_dir('aggregate'), 'groups-seed%d.pcap' % SEED)
    script = h.gen_pcap_script()
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(script):
        subprocess.run([sys.executable, script, 'synthetic', out + '.tmp', '--seed', str(SEED),
                        '--flows', str(FLOWS), '--packets', str(4 * FLOWS)], check=True,
                       timeout=600)
        os.replace(out + '.tmp', out)
    return out


Conversation = collections.namedtuple('Conversation', 'a b port_b vlan proto')


def parse_frame(data):
    """(vlan, src, dst, proto, sport, dport) of one frame; ports are the ICMP
    echo identifier (twice) for ICMP, as the flow key holds it."""
    vlan = 0
    ethertype = struct.unpack('!H', data[12:14])[0]
    at = 14
    if ethertype == 0x8100:
        vlan = struct.unpack('!H', data[14:16])[0] & 0x0FFF
        ethertype = struct.unpack('!H', data[16:18])[0]
        at = 18
    if ethertype == 0x0800:
        ihl = (data[at] & 0x0F) * 4
        proto = data[at + 9]
        src = ipaddress.ip_address(data[at + 12:at + 16])
        dst = ipaddress.ip_address(data[at + 16:at + 20])
        l4 = at + ihl
    elif ethertype == 0x86DD:
        proto = data[at + 6]
        src = ipaddress.ip_address(data[at + 8:at + 24])
        dst = ipaddress.ip_address(data[at + 24:at + 40])
        l4 = at + 40
    else:
        raise AssertionError('unexpected ethertype 0x%04x in the generated capture' % ethertype)
    if proto in (6, 17):
        sport, dport = struct.unpack('!HH', data[l4:l4 + 4])
    elif proto in (1, 58):
        ident = struct.unpack('!H', data[l4 + 4:l4 + 6])[0]
        sport = dport = ident
    else:
        raise AssertionError('unexpected IP protocol %d in the generated capture' % proto)
    return vlan, src, dst, proto, sport, dport


@functools.lru_cache(maxsize=None)
def conversations():
    """{key: [Conversation, ab_packets, ab_bytes, ba_packets, ba_bytes]} counted
    from the capture: A is the first frame's sender, bytes are frame lengths."""
    _, records = h.read_pcap(capture())
    convs = {}
    for rec in records:
        vlan, src, dst, proto, sport, dport = parse_frame(rec.data)
        key = (vlan, proto, frozenset([(src, sport), (dst, dport)]))
        c = convs.get(key)
        if c is None:
            port_b = None if proto in (1, 58) else dport
            c = convs[key] = [Conversation(src, dst, port_b, vlan, proto), 0, 0, 0, 0, (src, sport)]
        if (src, sport) == c[5]:
            c[1] += 1
            c[2] += rec.wirelen
        else:
            c[3] += 1
            c[4] += rec.wirelen
    return convs


def sums_by(key_of, keep=lambda conv: True):
    """{group: (flows, abp, abb, bap, bab)} of the counted conversations."""
    out = collections.defaultdict(lambda: [0, 0, 0, 0, 0])
    for conv, abp, abb, bap, bab, _ in conversations().values():
        if not keep(conv):
            continue
        g = out[key_of(conv)]
        for i, v in enumerate((1, abp, abb, bap, bab)):
            g[i] += v
    return {k: tuple(v) for k, v in out.items()}


def ctl(*args, check=True):
    out = subprocess.run([h.ctl_path()] + list(args), capture_output=True, text=True,
                         timeout=120)
    if check and out.returncode != 0:
        raise AssertionError('skyprobectl %s -> %d\n%s' % (' '.join(args), out.returncode,
                                                           out.stderr))
    return out


def groups(probes, keys, *extra):
    """{tuple of key values: (flows, abp, abb, bap, bab)} from --group-by --format json."""
    args = ['flows', '--group-by', ','.join(keys), '--format', 'json']
    for p in probes:
        args += ['--probe', p.address]
    out = {}
    for line in ctl(*(args + list(extra))).stdout.splitlines():
        g = json.loads(line)
        k = tuple(g[key] for key in keys)
        assert k not in out, 'group %r twice' % (k,)
        out[k] = (g['Flows'], g['ABPackets'], g['ABBytes'], g['BAPackets'], g['BABytes'])
    return out


def wait_for_replay(testcase, probe, packets):
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        out = ctl('stats', '--all', '--probe', probe.address, check=False)
        for line in out.stdout.splitlines():
            if line == 'total packets_in %d' % packets:
                return
        time.sleep(0.1)
    testcase.fail('the probe did not take the whole capture in time')


class AggregateTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.pcap = capture()
        cls.packets = len(h.read_pcap(cls.pcap)[1])
        cls.convs = conversations()

    def setUp(self):
        h.require_skyprobe(self)
        if not os.path.exists(h.ctl_path()):
            self.fail('skyprobectl not built at %s' % h.ctl_path())

    def probe(self, args):
        # Closed TCP conversations stay in the table, as every other one
        # does (the capture spans less than --expire): all are live.
        p = h.ServingProbe(self, args + ['--hold', '--tcp-close-hold-ms', '3600000'])
        wait_for_replay(self, p, self.packets * sum(1 for a in args if a == '--pcap'))
        return p

    def test_per_host_sums_equal_the_capture(self):
        self.assertEqual(len(self.convs), FLOWS)
        p = self.probe(['--pcap', self.pcap, '--workers', '2'])
        s = lambda a: str(a)  # noqa: E731  the probe's text form of an address
        self.assertEqual(groups([p], ['Network.A']), sums_by(lambda c: (s(c.a),)))
        self.assertEqual(groups([p], ['Network.B']), sums_by(lambda c: (s(c.b),)))
        self.assertEqual(groups([p], ['Network.A', 'Transport.B']),
                         sums_by(lambda c: (s(c.a), c.port_b)))
        self.assertEqual(groups([p], ['Link.ID']), sums_by(lambda c: (c.vlan,)))
        # A regular expression is not run by the workers: the probe groups
        # the candidates on its gRPC thread; same answer for the same flows.
        self.assertEqual(groups([p], ['Network.A'], '--filter', "Network.A =~ '^10\\.'"),
                         sums_by(lambda c: (s(c.a),), keep=lambda c: s(c.a).startswith('10.')))
        # Sort and limit: the test's own top 5 by bytes (ties by address).
        want = sorted(sums_by(lambda c: (s(c.a),)).items(),
                      key=lambda kv: (-(kv[1][2] + kv[1][4]), kv[0][0].encode()))[:5]
        out = ctl('flows', '--probe', p.address, '--group-by', 'Network.A', '--limit', '5',
                  '--format', 'csv').stdout
        rows = list(csv.DictReader(io.StringIO(out)))
        self.assertEqual([(r['Network.A'],) for r in rows], [k for k, _ in want])
        self.assertEqual([(int(r['Flows']), int(r['ABPackets']), int(r['ABBytes']),
                           int(r['BAPackets']), int(r['BABytes'])) for r in rows],
                         [v for _, v in want])
        # The table says the same in human units, heaviest first.
        table = ctl('flows', '--probe', p.address, '--group-by', 'Network.A', '--limit', '5',
                    '--width', '0').stdout.splitlines()
        self.assertEqual(table[0].split(), ['Network.A', 'FLOWS', 'PACKETS', 'BYTES', 'ABBYTES',
                                            'BABYTES'])
        self.assertEqual([l.split()[0] for l in table[1:]], [k[0] for k, _ in want])
        self.assertEqual([int(l.split()[1]) for l in table[1:]], [v[0] for _, v in want])
        # Sorted by a key: ascending by default; by flows, descending.
        by_port = list(groups([p], ['Transport.B'], '--sort', 'Transport.B'))
        ports = [k[0] for k in by_port]
        present = [x for x in ports if x is not None]
        self.assertEqual(present, sorted(present))
        self.assertEqual(ports[len(present):], [None] * (len(ports) - len(present)))
        flows = [v[0] for v in groups([p], ['Application'], '--sort', 'Flows').values()]
        self.assertEqual(flows, sorted(flows, reverse=True))

    def test_application_sums_equal_the_flow_records(self):
        p = self.probe(['--pcap', self.pcap])
        records = [json.loads(l) for l in ctl('flows', '--json', '--probe',
                                              p.address).stdout.splitlines()]
        self.assertEqual(len(records), FLOWS)
        want = collections.defaultdict(lambda: [0, 0, 0, 0, 0])
        for r in records:
            m = r['Metric']
            g = want[(r['Application'],)]
            for i, v in enumerate((1, m['ABPackets'], m['ABBytes'], m.get('BAPackets', 0),
                                   m.get('BABytes', 0))):
                g[i] += v
        self.assertEqual(groups([p], ['Application']), {k: tuple(v) for k, v in want.items()})

    def test_capture_points_and_several_probes(self):
        one = self.probe(['--pcap', self.pcap, '--node-tid', 'probe-1'])
        two = self.probe(['--pcap', self.pcap + ',capture-id=east', '--pcap',
                          self.pcap + ',capture-id=west', '--node-tid', 'probe-2'])
        # Issue 17: at how many capture points was each conversation seen?
        # Both. (The TCP ones: all 10,500 would be more groups than an answer holds.)
        tcp = "Transport.Protocol = 'TCP'"
        by_tracking = groups([two], ['TrackingID'], '--filter', tcp)
        self.assertEqual(len(by_tracking), sum(1 for c in self.convs.values() if c[0].proto == 6))
        self.assertEqual({v[0] for v in by_tracking.values()}, {2})
        total = [sum(v[i] for v in sums_by(lambda c: 0).values()) for i in range(5)]
        for cid in ('east', 'west'):
            self.assertEqual(groups([two], ['CaptureID'])[(cid,)], tuple(total))
        # Several probes: their groups add up, a host's sums three times over.
        s = lambda a: str(a)  # noqa: E731
        hosts = sums_by(lambda c: (s(c.a),))
        merged = groups([one, two], ['Network.A'])
        self.assertEqual(merged, {k: tuple(3 * x for x in v) for k, v in hosts.items()})
        by_node = groups([one, two], ['NodeTID', 'Network.A'])
        self.assertEqual({k: v for k, v in by_node.items() if k[0] == 'probe-1'},
                         {('probe-1',) + k: v for k, v in hosts.items()})
        self.assertEqual({k: v for k, v in by_node.items() if k[0] == 'probe-2'},
                         {('probe-2',) + k: tuple(2 * x for x in v) for k, v in hosts.items()})
        # A limit over several probes cuts the merged order, not each probe's.
        self.assertEqual(groups([one, two], ['TrackingID'], '--filter', tcp, '--limit', '3'),
                         dict(list(groups([one, two], ['TrackingID'], '--filter', tcp).items())[:3]))

    def test_bad_requests(self):
        p = self.probe(['--pcap', self.pcap])
        cases = [
            (['--group-by', 'Network.X'], 2,
             "skyprobectl: --group-by: unknown key 'Network.X' (did you mean 'Network.A'?)\n"),
            (['--group-by', 'Metric.ABBytes'], 2, 'skyprobectl: --group-by: Metric.ABBytes '
             'counts or times a flow'),
            (['--group-by', ','.join(['Network.A'] * 2)], 2,
             'skyprobectl: --group-by: Network.A given twice\n'),
            (['--group-by', 'Network.A', '--sort', 'Network.B'], 2,
             "skyprobectl: --sort: 'Network.B' is neither a group counter"),
            (['--group-by', 'Network.A', '--limit', '10001'], 2,
             'skyprobectl: --limit: at most 10000 groups\n'),
            # More groups than an answer holds: the probe says so, naming the cap.
            (['--group-by', 'UUID'], 1, 'more than 10000 groups (the most one answer holds)'),
        ]
        for args, code, message in cases:
            r = ctl('flows', '--probe', p.address, *args, check=False)
            self.assertEqual(r.returncode, code, (args, r.stderr))
            self.assertTrue(r.stderr.startswith(message) or message in r.stderr,
                            (args, r.stderr))
            self.assertEqual(r.stderr.count('\n'), 1, r.stderr)
        # The same requests straight to the service, as another client sends them.
        grpc, pb, pb_grpc = h.grpc_api(self)
        stub = pb_grpc.ProbeServiceStub(grpc.insecure_channel(p.address))
        bad = [
            pb.AggregateRequest(),  # no key
            pb.AggregateRequest(group_by=['Network.X']),
            pb.AggregateRequest(group_by=['Start']),
            pb.AggregateRequest(group_by=['Network.A', 'Network.B', 'Transport.A', 'Transport.B',
                                          'Application', 'Link.ID', 'NodeTID', 'CaptureID',
                                          'TrackingID']),
            pb.AggregateRequest(group_by=['Network.A'], sort_by='Nope'),
            pb.AggregateRequest(group_by=['Network.A'], limit=10001),
            pb.AggregateRequest(group_by=['Network.A'], sort_order=7),
            pb.AggregateRequest(group_by=['Network.A'], expression='Network.A = '),
        ]
        for req in bad:
            with self.assertRaises(grpc.RpcError) as err:
                stub.Aggregate(req, timeout=60)
            self.assertEqual(err.exception.code(), grpc.StatusCode.INVALID_ARGUMENT, req)
            self.assertTrue(err.exception.details(), req)
        with self.assertRaises(grpc.RpcError) as err:
            stub.Aggregate(pb.AggregateRequest(group_by=['UUID']), timeout=60)
        self.assertEqual(err.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)
        self.assertIn('more than 10000 groups', err.exception.details())
        # A grouping that fits is answered whole.
        reply = stub.Aggregate(pb.AggregateRequest(group_by=['Network.A']), timeout=60)
        self.assertEqual(reply.total_flows, FLOWS)
        self.assertEqual(sum(g.Flows for g in reply.groups), FLOWS)
        self.assertEqual(list(reply.group_by), ['Network.A'])
        # Bad requests were counted, and the probe still answers.
        stats = ctl('stats', '--all', '--probe', p.address).stdout
        self.assertRegex(stats, r'(?m)^service bad_requests ([1-9]\d*)$')
        self.assertEqual(len(ctl('flows', '--json', '--probe', p.address, '--limit',
                                 '3').stdout.splitlines()), 3)


if __name__ == '__main__':
    unittest.main(verbosity=2)
