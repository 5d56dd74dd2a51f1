#!/usr/bin/env python3
"""TCP stream metrics and TCP health (docs/tcp-metrics.md) against their oracles.

tests/data/gen_pcap_tcp.py simulates ~400 TCP conversations (IPv4 and IPv6)
with loss before and after the probe, capture loss, reordering within and
beyond the round trip, fast and timeout retransmissions, duplicate ACKs,
zero windows and probes, keep-alives, RST closes, mid-stream captures,
one-way captures and reused ports. skyprobe reads it with --tcp-health
--tcp-stream-metrics, and its final records are checked per TCP direction:

- the six health counters equal tshark's count of frames flagged
  tcp.analysis.retransmission, .fast_retransmission, .out_of_order,
  .lost_segment, .duplicate_ack and .zero_window (tshark runs at test time);
- the seven stream counters equal a model of gopacket's tcpassembly and
  Skydive's stream (tcp_oracle.GopacketStream), on every direction where no
  documented difference applies;
- the handshake latencies equal the frame time differences tshark reports
  (SYN -> SYN/ACK, SYN/ACK -> ACK), and add up to tshark's iRTT;
- with an option off its fields are absent, and the other group is unchanged;
- two workers give the same counters as one.

On the shared Skydive traces: Skydive's own expectation for
eth-ipv4-tcp-http-ooo.pcap (BASegmentOutOfOrder 3, ABSegmentOutOfOrder 0),
and the health counters equal tshark on every TCP trace of the folder.
"""

import collections
import functools
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skyprobe_harness as h  # noqa: E402
import tcp_oracle as oracle  # noqa: E402

SEED = 5
CONVERSATIONS = 400
MAX_REPORTED = 20
HEALTH = [n for n, _ in oracle.HEALTH]
HEALTH_KEYS = [p + n for p in ('AB', 'BA') for n in HEALTH] + [
    'ServerHandshakeLatency', 'ClientHandshakeLatency']
STREAM_KEYS = [p + n for p in ('AB', 'BA') for n in oracle.STREAM]


@functools.lru_cache(maxsize=None)
def capture(snaplen=65535):
    """Generate (or reuse) the capture, frames cut to `snaplen` bytes."""
    out_dir = h.scratch_dir('tcp_metrics')
    pcap = os.path.join(out_dir, 'tcp-seed%d-snap%d.pcap' % (SEED, snaplen))
    script = os.path.join(h.source_root(), 'tests', 'data', 'gen_pcap_tcp.py')
    if not os.path.exists(pcap) or os.path.getmtime(pcap) < os.path.getmtime(script):
        subprocess.run([sys.executable, script, pcap, '--seed', str(SEED),
                        '--conversations', str(CONVERSATIONS), '--snaplen',
                        str(snaplen)], check=True, timeout=300)
    return pcap


@functools.lru_cache(maxsize=None)
def frames_of(pcap):
    return oracle.tshark_frames(h.tshark_path(), pcap)


@functools.lru_cache(maxsize=None)
def probe(pcap, *flags):
    json_path = os.path.join(h.scratch_dir('tcp_metrics'),
                             'flows%d.json' % (hash((pcap,) + flags) & 0xFFFFFF))
    return h.run_skyprobe(['--pcap', pcap, '--max-flows', '65536'] + list(flags),
                          json_path=json_path, timeout=600)


class TcpMetricsTest(unittest.TestCase):

    def flows(self, pcap, *flags):
        h.require_skyprobe(self)
        run = probe(pcap, *flags)
        self.assertEqual(run.returncode, 0, run.describe())
        flows = h.final_flows(self, run.records, ' '.join(flags))
        h.check_counters(self, run, flows, ' '.join(flags))
        return flows

    def test_health_equals_tshark(self):
        """Every direction: each health counter is tshark's count of flagged frames."""
        self.check_health(capture())

    def test_health_equals_tshark_with_snaplen(self):
        """Frames cut to 80 bytes: segment lengths come from the IP header, as tshark's."""
        self.check_health(capture(80))

    def check_health(self, pcap):
        frames = frames_of(pcap)
        want = oracle.tshark_directions(frames)
        flows = self.flows(pcap, '--tcp-health', '--tcp-stream-metrics')
        got = oracle.probe_directions(flows, ('AB', 'BA'), HEALTH)
        diffs = []
        for key in sorted(set(want) | set(got)):
            for name in HEALTH:
                w = want.get(key, {}).get(name, 0)
                g = (got.get(key) or {}).get(name)
                if w != g:
                    diffs.append('%s %s: tshark %s, skyprobe %s' % (key, name, w, g))
        self.assertFalse(diffs, '%d differences, first ones:\n  %s'
                         % (len(diffs), '\n  '.join(diffs[:MAX_REPORTED])))
        # The capture exercises every flag, over IPv4 and over IPv6.
        for family in (4, 6):
            totals = collections.Counter()
            for key, counts in want.items():
                if (':' in key[0]) == (family == 6):
                    totals.update(counts)
            for name in HEALTH:
                self.assertGreater(totals[name], 5, 'IPv%d %s: %s' % (family, name, totals))

    def test_stream_equals_gopacket_model(self):
        """Where no documented difference applies, the stream counters are gopacket's."""
        pcap = capture()
        streams = oracle.gopacket_directions(frames_of(pcap))
        flows = self.flows(pcap, '--tcp-health', '--tcp-stream-metrics')
        got = oracle.probe_directions(flows, ('AB', 'BA'), oracle.STREAM)
        diffs, checked, excluded = [], 0, collections.Counter()
        totals = collections.Counter()
        for key, stream in sorted(streams.items()):
            reasons = stream.exclusions()
            excluded.update(reasons)
            if reasons:
                continue
            checked += 1
            want = stream.counters()
            totals.update(want)
            for name in oracle.STREAM:
                if want[name] != (got.get(key) or {}).get(name):
                    diffs.append('%s %s: model %s, skyprobe %s'
                                 % (key, name, want[name], (got.get(key) or {}).get(name)))
        self.assertFalse(diffs, '%d differences, first ones:\n  %s'
                         % (len(diffs), '\n  '.join(diffs[:MAX_REPORTED])))
        self.assertGreater(checked, 0.8 * len(streams), 'left out: %s' % excluded)
        for name in ('SegmentOutOfOrder', 'SegmentSkipped', 'SegmentSkippedBytes'):
            self.assertGreater(totals[name], 10, totals)

    def test_handshake_latency(self):
        """SYN -> SYN/ACK and SYN/ACK -> ACK from frame times; their sum is tshark's iRTT."""
        pcap = capture()
        frames = frames_of(pcap)
        flows = self.flows(pcap, '--tcp-health', '--tcp-stream-metrics')
        by_pair = collections.defaultdict(list)
        for f in frames:
            by_pair[frozenset((f.key[:2], f.key[2:]))].append(f)
        records = collections.defaultdict(list)
        for flow in flows:
            keys = oracle.flow_direction_keys(flow)
            if keys:
                records[frozenset((keys[0][:2], keys[0][2:]))].append(flow)
        checked = measured = with_irtt = 0
        for pair, conv in by_pair.items():
            if len(records[pair]) != 1:
                continue      # ports reused: several connections, several records
            tcp = records[pair][0]['TCPMetric']
            synack = next((f for f in conv if f.flags & 0x12 == 0x12), None)
            syn = None
            for f in conv:
                if synack is not None and f is synack:
                    break
                if f.flags & 0x12 == 0x02:
                    syn = f
            ack = None
            if synack is not None:
                # The client's ACK: the first segment after the SYN/ACK, the
                # other way, with ACK and without SYN.
                after = conv[conv.index(synack) + 1:]
                ack = next((f for f in after if f.flags & 0x12 == 0x10
                            and f.key == synack.key[2:] + synack.key[:2]), None)
            checked += 1
            if syn is None or synack is None:
                self.assertNotIn('ServerHandshakeLatency', tcp, conv[0].key)
                self.assertNotIn('ClientHandshakeLatency', tcp, conv[0].key)
                continue
            server = (synack.time_ns - syn.time_ns) // 1000
            self.assertEqual(tcp.get('ServerHandshakeLatency'), server, conv[0].key)
            if ack is None:
                self.assertNotIn('ClientHandshakeLatency', tcp, conv[0].key)
                continue
            client = (ack.time_ns - synack.time_ns) // 1000
            self.assertEqual(tcp.get('ClientHandshakeLatency'), client, conv[0].key)
            measured += 1
            # tshark's iRTT runs from the latest SYN to the first segment
            # with ACK and without SYN, either way: when those are our SYN
            # and ACK, it is the sum.
            first_syn = next(f for f in conv if f.flags & 0x12 == 0x02)
            first_ack = next(f for f in conv[conv.index(first_syn):] if f.flags & 0x12 == 0x10)
            mru_syn = [f for f in conv[:conv.index(first_ack)] if f.flags & 0x12 == 0x02][-1]
            if mru_syn is syn and first_ack is ack:
                self.assertEqual((server + client) * 1000, ack.irtt_ns, conv[0].key)
                with_irtt += 1
        self.assertGreater(measured, 0.5 * checked, (measured, checked))
        self.assertGreater(with_irtt, 0.5 * checked, (with_irtt, checked))

    def test_fields_absent_when_off(self):
        """Off means absent (never 0); each option alone gives the same values."""
        pcap = capture()
        both = {f['UUID']: f['TCPMetric'] for f in
                self.flows(pcap, '--tcp-health', '--tcp-stream-metrics') if 'TCPMetric' in f}
        self.assertTrue(both)
        for flags, present, absent in (
                ((), [], STREAM_KEYS + HEALTH_KEYS),
                (('--tcp-health',), HEALTH_KEYS, STREAM_KEYS),
                (('--tcp-stream-metrics',), STREAM_KEYS, HEALTH_KEYS)):
            flows = [f for f in self.flows(pcap, *flags) if 'TCPMetric' in f]
            self.assertEqual(len(flows), len(both), flags)
            for flow in flows:
                tcp = flow['TCPMetric']
                self.assertFalse([k for k in absent if k in tcp], (flags, tcp))
                for key in present:
                    if key in both[flow['UUID']]:
                        self.assertEqual(tcp.get(key), both[flow['UUID']][key], (flags, key))
                    else:
                        self.assertNotIn(key, tcp, (flags, key))
                self.assertFalse([k for k in present if k in STREAM_KEYS and k not in tcp])
                self.assertFalse([k for k in present if k in HEALTH_KEYS[:12]
                                  and k not in tcp])

    def test_two_workers_same_counters(self):
        """Both directions of a connection meet on one worker: same counters with 2."""
        pcap = capture()
        flags = ('--tcp-health', '--tcp-stream-metrics')
        names = HEALTH + list(oracle.STREAM)
        one = oracle.probe_directions(self.flows(pcap, *flags), ('AB', 'BA'), names)
        two = oracle.probe_directions(self.flows(pcap, *flags, '--workers', '2'),
                                      ('AB', 'BA'), names)
        self.assertEqual(dict(one), dict(two))

    def test_skydive_traces(self):
        """Skydive's TestFlowTCPSegments values; health equal to tshark on its TCP traces."""
        folder = h.shared_dir('skydive')
        flows = self.flows(os.path.join(folder, 'eth-ipv4-tcp-http-ooo.pcap'),
                           '--tcp-stream-metrics')
        self.assertEqual(len(flows), 1)
        tcp = flows[0]['TCPMetric']
        self.assertEqual(tcp['BASegmentOutOfOrder'], 3)
        self.assertEqual(tcp['ABSegmentOutOfOrder'], 0)
        compared = 0
        for name in sorted(os.listdir(folder)):
            if not name.endswith('.pcap'):
                continue
            pcap = os.path.join(folder, name)
            frames = frames_of(pcap)
            if not frames:
                continue
            want = oracle.tshark_directions(frames)
            got = oracle.probe_directions(self.flows(pcap, '--tcp-health'), ('AB', 'BA'),
                                          HEALTH)
            for key in set(want) | set(got):
                for counter in HEALTH:
                    self.assertEqual((got.get(key) or {}).get(counter),
                                     want.get(key, {}).get(counter, 0), (name, key, counter))
                    compared += 1
        self.assertGreater(compared, 0)


if __name__ == '__main__':
    h.main()
