#!/usr/bin/env python3
"""sFlow ingestion (--sflow-listen): datagrams built here become flows.

The probe listens on a free loopback port; the test sends sFlow v5
datagrams (python struct) from two agents (an IPv4 and an IPv6 agent
address) carrying frames of Skydive traces and synthetic frames, plus a
truncated datagram and garbage. It checks, from the JSON lines written at
SIGTERM and from skyprobectl queries while the probe runs: every agent's
flows carry its address as NodeTID and never merge with the other agent's;
the raw counters are the sampled packets and their lengths and match the
pcap run of the same frames (same LayersPath, keys and endpoints); the
ScaledMetric counters are the rate-weighted sums; malformed datagrams are
counted in the summary and are not fatal.

The Skydive traces come from $SKYPROBE_PCAPS/skydive; without them the
trace tests say they did not run (and fail with SKYPROBE_REQUIRE_SHARED=1).
"""

import ipaddress
import json
import os
import socket
import struct
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from skyprobe_harness import (ServingProbe, ctl_path, final_flows,  # noqa: E402
                              main, parse_json_lines, parse_summary,
                              read_pcap, require_skyprobe, run_skyprobe,
                              scratch_dir, shared_dir)

TRACES = ('simple-tcpv4.pcap', 'eth-ip4-arp-dns-req-http-google.pcap')
AGENT_A = '192.0.2.10'
AGENT_B = '2001:db8::20'


# --------------------------------------------------------------------------
# sFlow v5 encoding (XDR: big-endian words, opaques padded to 4 bytes)
# --------------------------------------------------------------------------

def opaque(data):
    return struct.pack('>I', len(data)) + data + b'\0' * (-len(data) % 4)


def raw_header(frame, protocol=1, stripped=4, frame_length=None):
    """A raw packet header record (format 1) holding the whole frame."""
    length = len(frame) + stripped if frame_length is None else frame_length
    body = struct.pack('>III', protocol, length, stripped) + opaque(frame)
    return struct.pack('>I', 1) + opaque(body)


def extended_switch():
    """A record the probe skips (extended_switch, format 1001)."""
    return struct.pack('>I', 1001) + opaque(struct.pack('>IIII', 7, 0, 7, 0))


def flow_sample(rate, records, expanded=False, seq=1):
    if expanded:
        head = struct.pack('>10I', seq, 0, 3, rate, rate * 10, 0, 0, 3, 0, 4)
    else:
        head = struct.pack('>7I', seq, 3, rate, rate * 10, 0, 3, 4)
    body = head + struct.pack('>I', len(records)) + b''.join(records)
    return struct.pack('>I', 3 if expanded else 1) + opaque(body)


def counter_sample(seq=1):
    """A counters_sample (format 2) with one generic interface record."""
    record = struct.pack('>I', 1) + opaque(bytes(88))
    return struct.pack('>I', 2) + opaque(struct.pack('>III', seq, 3, 1) + record)


def datagram(agent, samples, seq=1, sub_agent=0):
    addr = ipaddress.ip_address(agent)
    kind = 1 if addr.version == 4 else 2
    return (struct.pack('>II', 5, kind) + addr.packed +
            struct.pack('>IIII', sub_agent, seq, 1000, len(samples)) + b''.join(samples))


def udp_frame(src, dst, sport, dport, payload):
    """Ethernet/IPv4/UDP from src:sport to dst:dport."""
    ip_len = 20 + 8 + payload
    mac_src = b'\x02\x00\x00\x00\x00' + bytes([int(src.split('.')[-1])])
    mac_dst = b'\x02\x00\x00\x00\x00' + bytes([int(dst.split('.')[-1])])
    ip = struct.pack('>BBHHHBBH4s4s', 0x45, 0, ip_len, 0, 0x4000, 64, 17, 0,
                     ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed)
    udp = struct.pack('>HHHH', sport, dport, 8 + payload, 0)
    return mac_dst + mac_src + b'\x08\x00' + ip + udp + b'\xab' * payload


# A conversation sampled at several rates: (from A, rate, payload bytes).
CONVERSATION = [(True, 10, 32), (False, 5, 100), (True, 20, 42), (True, 30, 52), (False, 7, 200)]


def conversation_frames():
    out = []
    for from_a, rate, payload in CONVERSATION:
        if from_a:
            frame = udp_frame('10.9.0.1', '10.9.0.2', 40000, 5353, payload)
        else:
            frame = udp_frame('10.9.0.2', '10.9.0.1', 5353, 40000, payload)
        out.append((frame, rate))
    return out


def send_all(port, datagrams):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for i, payload in enumerate(datagrams):
            sock.sendto(payload, ('127.0.0.1', port))
            if i % 16 == 15:
                time.sleep(0.01)  # stay well inside the socket's receive buffer
    finally:
        sock.close()


def sflow_port(testcase, probe):
    for line in probe.lines:
        if 'sFlow collector on' in line:
            return int(line.rsplit('(port ', 1)[1].rstrip(')'))
    testcase.fail('no sFlow port announced:\n' + probe.stderr())
    return None


def ctl(*args):
    out = subprocess.run([ctl_path()] + list(args), capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise AssertionError('skyprobectl %s -> %d\n%s' % (' '.join(args), out.returncode,
                                                           out.stderr))
    return out.stdout


def ctl_flows(address, *args):
    return [json.loads(line) for line in ctl('flows', '--json', '--probe', address,
                                               *args).splitlines() if line.strip()]


def by_tracking(testcase, flows, label):
    out = {}
    for f in flows:
        key = f['TrackingID']
        testcase.assertNotIn(key, out, '%s: two flows with TrackingID %s' % (label, key))
        out[key] = f
    return out


def scaled(flow):
    m = flow.get('ScaledMetric') or {}
    return tuple(m.get(k, 0) for k in ('ABPackets', 'ABBytes', 'BAPackets', 'BABytes'))


def raw(flow):
    m = flow.get('Metric') or {}
    return tuple(m.get(k, 0) for k in ('ABPackets', 'ABBytes', 'BAPackets', 'BABytes'))


class SflowTest(unittest.TestCase):

    def setUp(self):
        require_skyprobe(self)
        if not os.path.exists(ctl_path()):
            self.fail('skyprobectl not built at %s' % ctl_path())

    def start(self, json_path, extra=()):
        if os.path.exists(json_path):
            os.unlink(json_path)
        probe = ServingProbe(self, ['--sflow-listen', '127.0.0.1:0', '--json', json_path]
                             + list(extra))
        return probe, sflow_port(self, probe)

    def finish(self, probe, json_path):
        code = probe.terminate()
        self.assertEqual(code, 0, probe.stderr())
        summary = parse_summary(probe.stderr())
        self.assertIsNotNone(summary, probe.stderr())
        with open(json_path, encoding='utf-8') as handle:
            records = parse_json_lines(handle.read())
        return summary, final_flows(self, records, 'sflow')

    def wait_datagrams(self, probe, count):
        """Waits until the probe's Stats report `count` datagrams."""
        deadline = time.monotonic() + 30
        got = -1
        while time.monotonic() < deadline:
            for line in ctl('stats', '--all', '--probe', probe.address).splitlines():
                parts = line.split()
                if len(parts) >= 2 and parts[-2] == 'sflow_datagrams':
                    got = int(parts[-1])
            if got >= count:
                return
            time.sleep(0.1)
        self.fail('probe saw %d of %d datagrams' % (got, count))

    def test_two_agents_traces_and_rates(self):
        base = shared_dir('skydive')
        frames = []
        for name in TRACES:
            linktype, records = read_pcap(os.path.join(base, name))
            self.assertEqual(linktype, 1, name)
            frames.extend(r.data[:r.caplen] for r in records)
        # The same frames through the pcap path: the reference flows.
        tmp = scratch_dir('sflow')
        ref_flows = []
        for name in TRACES:
            run = run_skyprobe(['--pcap', os.path.join(base, name)],
                               json_path=os.path.join(tmp, 'ref.json'))
            self.assertEqual(run.returncode, 0, run.describe())
            ref_flows.extend(final_flows(self, run.records, name))
        ref = by_tracking(self, ref_flows, 'pcap run')

        json_path = os.path.join(tmp, 'sflow.json')
        probe, port = self.start(json_path)
        dgrams = []
        # Agent A: each frame in its own flow_sample at rate 100, every other
        # one expanded; a counter sample and a skipped record on the way.
        rate_a = 100
        samples = [flow_sample(rate_a, [raw_header(f)], expanded=i % 2 == 1, seq=i)
                   for i, f in enumerate(frames)]
        samples.insert(3, counter_sample())
        samples[0] = flow_sample(rate_a, [extended_switch(), raw_header(frames[0])])
        for i in range(0, len(samples), 7):
            dgrams.append(datagram(AGENT_A, samples[i:i + 7], seq=len(dgrams)))
        # Agent B (IPv6 address): the same frames at rate 3, several records
        # per sample.
        rate_b = 3
        for i in range(0, len(frames), 5):
            dgrams.append(datagram(AGENT_B, [flow_sample(rate_b, [raw_header(f) for f in
                                                                  frames[i:i + 5]])]))
        # Both agents: one conversation at mixed rates; agent B sends it as
        # raw IPv4 headers (header_protocol 11, no Ethernet).
        conv = conversation_frames()
        dgrams.append(datagram(AGENT_A, [flow_sample(r, [raw_header(f)], expanded=True)
                                         for f, r in conv]))
        dgrams.append(datagram(AGENT_B, [flow_sample(r, [raw_header(f[14:], protocol=11,
                                                                    stripped=0)])
                                         for f, r in conv]))
        # Malformed: truncated, garbage, wrong version.
        good = datagram(AGENT_A, [flow_sample(1, [raw_header(frames[0])])])
        bad = [good[:len(good) - 9], b'this is not an sFlow datagram',
               struct.pack('>I', 4) + good[4:]]
        send_all(port, dgrams + bad)
        total = len(dgrams) + len(bad)
        self.wait_datagrams(probe, total)

        # While it runs: each agent's flows over gRPC, by NodeTID.
        live_a = ctl_flows(probe.address, '--filter', "NodeTID = '%s'" % AGENT_A)
        live_b = ctl_flows(probe.address, '--filter', "NodeTID = '%s'" % AGENT_B)
        self.assertEqual(len(live_a), len(ref) + 1)
        self.assertEqual(len(live_b), len(ref) + 1)
        self.assertTrue(all(f['NodeTID'] == AGENT_A for f in live_a))
        top = ctl_flows(probe.address, '--sort', 'ScaledMetric.ABPackets:desc', '--limit', '1')
        self.assertEqual(len(top), 1)
        self.assertEqual(top[0]['ScaledMetric']['ABPackets'],
                         max(f['ScaledMetric']['ABPackets'] for f in live_a + live_b))

        summary, flows = self.finish(probe, json_path)
        n_frames = len(frames)
        self.assertEqual(summary['sflow_datagrams'], total)
        self.assertEqual(summary['sflow_malformed'], 3)
        self.assertEqual(summary['sflow_malformed_truncated'], 1)
        self.assertEqual(summary['sflow_malformed_bad_version'], 2)
        self.assertEqual(summary['sflow_samples_skipped'], 1)
        self.assertEqual(summary['sflow_records_skipped'], 1)
        self.assertEqual(summary['sflow_frames'], 2 * n_frames + 2 * len(conv))
        self.assertEqual(summary['sflow_frames_in_flows'], summary['sflow_frames'])
        self.assertEqual(summary['sflow_agents'], 2)
        self.assertEqual(summary['sflow_agent_refusals'], 0)

        per_agent = {AGENT_A: [], AGENT_B: []}
        for f in flows:
            self.assertIn(f.get('NodeTID'), per_agent, f)
            per_agent[f['NodeTID']].append(f)
        uuids = {}
        for agent, rate in ((AGENT_A, rate_a), (AGENT_B, rate_b)):
            got = per_agent[agent]
            conv_flows = [f for f in got if (f.get('Network') or {}).get('A') == '10.9.0.1']
            self.assertEqual(len(conv_flows), 1, agent)
            trace_flows = by_tracking(self, [f for f in got if f not in conv_flows], agent)
            self.assertEqual(set(trace_flows), set(ref), agent)
            for key, want in ref.items():
                f = trace_flows[key]
                for field in ('LayersPath', 'Application', 'L3TrackingID', 'Link', 'Network',
                              'Transport', 'ICMP'):
                    self.assertEqual(f.get(field), want.get(field), '%s %s %s' % (agent, key, field))
                self.assertEqual(raw(f), raw(want), '%s %s' % (agent, want.get('LayersPath')))
                self.assertEqual(scaled(f), tuple(rate * v for v in raw(want)), agent)
                self.assertEqual(f['ScaledMetric']['SamplingRate'], rate)
                uuids.setdefault(key, set()).add(f['UUID'])
            # The mixed-rate conversation: raw samples and rate-weighted sums.
            c = conv_flows[0]
            eth = 14 if agent == AGENT_A else 0
            ab = [(r, 28 + p + eth) for a, r, p in CONVERSATION if a]
            ba = [(r, 28 + p + eth) for a, r, p in CONVERSATION if not a]
            self.assertEqual(raw(c), (len(ab), sum(n for _, n in ab), len(ba),
                                      sum(n for _, n in ba)), agent)
            self.assertEqual(scaled(c), (sum(r for r, _ in ab), sum(r * n for r, n in ab),
                                         sum(r for r, _ in ba), sum(r * n for r, n in ba)),
                             agent)
            self.assertEqual(c['ScaledMetric']['SamplingRate'], CONVERSATION[-1][1])
            self.assertEqual(c['LayersPath'], 'Ethernet/IPv4/UDP' if eth else 'IPv4/UDP')
        # Same conversations, two capture points: same TrackingID, two UUIDs.
        self.assertTrue(all(len(u) == 2 for u in uuids.values()), uuids)

    def test_agent_limit_and_bad_input_are_counted(self):
        tmp = scratch_dir('sflow')
        json_path = os.path.join(tmp, 'limit.json')
        probe, port = self.start(json_path, ['--sflow-max-agents', '1'])
        frame = udp_frame('10.8.0.1', '10.8.0.2', 1, 2, 10)
        first = datagram('198.51.100.1', [flow_sample(8, [raw_header(frame)])])
        second = datagram('198.51.100.2', [flow_sample(8, [raw_header(frame)])])
        # A header protocol the parser does not decode (2: ISO 8802-4) is skipped.
        other = datagram('198.51.100.1', [flow_sample(8, [raw_header(frame, protocol=2)])])
        absurd = bytearray(first)
        absurd[24:28] = struct.pack('>I', 0xffffffff)  # sample count
        send_all(port, [first, second, other, bytes(absurd), b'', b'\0' * 3])
        self.wait_datagrams(probe, 6)
        summary, flows = self.finish(probe, json_path)
        self.assertEqual(summary['sflow_agents'], 1)
        self.assertEqual(summary['sflow_agent_refusals'], 1)
        self.assertEqual(summary['sflow_headers_unsupported'], 1)
        self.assertEqual(summary['sflow_malformed_bad_count'], 1)
        self.assertEqual(summary['sflow_malformed_truncated'], 2)
        self.assertEqual(summary['sflow_frames'], 1)
        self.assertEqual(len(flows), 1)
        self.assertEqual(flows[0]['NodeTID'], '198.51.100.1')
        self.assertEqual(scaled(flows[0]), (8, 8 * len(frame), 0, 0))

    def stats(self, probe):
        """{(scope, name): value} from skyprobectl stats."""
        out = {}
        for line in ctl('stats', '--all', '--probe', probe.address).splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[2].isdigit():
                out[(parts[0], parts[1])] = int(parts[2])
        return out

    def test_receive_buffer_shortfall_is_logged(self):
        # socket(7): SO_RCVBUF is capped at net.core.rmem_max, then doubled.
        with open('/proc/sys/net/core/rmem_max', encoding='ascii') as handle:
            rmem_max = int(handle.read())
        asked = 8 << 20
        granted = 2 * min(asked, rmem_max)
        tmp = scratch_dir('sflow')
        probe, _ = self.start(os.path.join(tmp, 'rcvbuf.json'))
        self.finish(probe, os.path.join(tmp, 'rcvbuf.json'))
        warning = ('skyprobe: warning: --sflow-listen 127.0.0.1:0: socket receive buffer is '
                   '%d bytes, asked for %d (%d once doubled by the kernel)' %
                   (granted, asked, 2 * asked))
        if granted < 2 * asked:
            self.assertIn(warning, probe.stderr())
        else:
            self.assertNotIn('socket receive buffer', probe.stderr())

    def test_listeners_are_capture_points(self):
        """Each --sflow-listen is a capture point: one agent sending the same
        samples to two listeners gives two flows per conversation (the
        listener is in the key), with its CaptureID, the agent's NodeTID, the
        same TrackingID and distinct UUIDs; each point counts what it was
        sent."""
        tmp = scratch_dir('sflow')
        json_path = os.path.join(tmp, 'points.json')
        if os.path.exists(json_path):
            os.unlink(json_path)
        probe = ServingProbe(self, ['--sflow-listen', '127.0.0.1:0,capture-id=site-a',
                                    '--sflow-listen', '127.0.0.1:0', '--json', json_path])
        ports = [int(line.rsplit('(port ', 1)[1].rstrip(')')) for line in probe.lines
                 if 'sFlow collector on' in line]
        self.assertEqual(len(ports), 2, probe.stderr())
        self.assertIn('capture point site-a (sFlow 127.0.0.1:0)', probe.stderr())
        conversation = [datagram('192.0.2.10', [flow_sample(rate, [raw_header(frame)])], seq=i)
                        for i, (frame, rate) in enumerate(conversation_frames(), 1)]
        other = datagram('192.0.2.20', [flow_sample(3, [raw_header(
            udp_frame('10.8.0.1', '10.8.0.2', 7, 8, 20))])])
        send_all(ports[0], conversation)
        send_all(ports[1], conversation + [other])
        self.wait_datagrams(probe, 2 * len(conversation) + 1)
        summary, flows = self.finish(probe, json_path)
        n = len(conversation)
        for cid, datagrams, frames, created in (('site-a', n, n, 1),
                                                ('127.0.0.1:0', n + 1, n + 1, 2)):
            scope = 'capture.%s.' % cid
            self.assertEqual(summary[scope + 'datagrams'], datagrams, summary)
            self.assertEqual(summary[scope + 'packets_in'], frames, summary)
            self.assertEqual(summary[scope + 'packets_in_flows'], frames, summary)
            self.assertEqual(summary[scope + 'flows_created'], created, summary)
            self.assertEqual(summary[scope + 'flows_live'], 0, summary)
        agent = sorted((f for f in flows if f['NodeTID'] == '192.0.2.10'),
                       key=lambda f: f['CaptureID'])
        self.assertEqual([f['CaptureID'] for f in agent], ['127.0.0.1:0', 'site-a'])
        self.assertEqual(agent[0]['TrackingID'], agent[1]['TrackingID'])
        self.assertNotEqual(agent[0]['UUID'], agent[1]['UUID'])
        self.assertEqual(raw(agent[0]), raw(agent[1]))
        self.assertEqual(scaled(agent[0]), scaled(agent[1]))
        # The test's own sums of what it sent, one listener's worth.
        ab = [(r, len(f)) for (f, r), (from_a, _, _) in zip(conversation_frames(), CONVERSATION)
              if from_a]
        self.assertEqual(raw(agent[0])[0], len(ab))
        self.assertEqual(scaled(agent[0])[0], sum(r for r, _ in ab))
        alone = [f for f in flows if f['NodeTID'] == '192.0.2.20']
        self.assertEqual([f['CaptureID'] for f in alone], ['127.0.0.1:0'])
        self.assertEqual(len(flows), 3, flows)

    def test_allow_list_sequence_gaps_and_per_agent_counters(self):
        tmp = scratch_dir('sflow')
        json_path = os.path.join(tmp, 'allow.json')
        probe, port = self.start(json_path, ['--sflow-agents', '192.0.2.0/24,127.0.0.0/8'])
        frame = udp_frame('10.7.0.1', '10.7.0.2', 1, 2, 10)
        sample = [flow_sample(4, [raw_header(frame)])]
        dgrams = [datagram('192.0.2.10', sample, seq=s) for s in (1, 2, 5, 6)]  # 2 lost
        dgrams.append(datagram('192.0.2.10', sample, seq=9, sub_agent=1))  # its own numbering
        dgrams.append(datagram('198.51.100.1', sample))  # agent outside the list
        dgrams.append(datagram('192.0.2.10', sample, seq=3))  # back: a reset
        send_all(port, dgrams)
        self.wait_datagrams(probe, len(dgrams))
        live = self.stats(probe)
        scope = 'sflow_agent.192.0.2.10'
        self.assertEqual(live[(scope, 'datagrams')], 6)
        self.assertEqual(live[(scope, 'sequence_gaps')], 2)
        self.assertEqual(live[(scope, 'sequence_resets')], 1)
        self.assertEqual(live[(scope, 'samples')], 6)  # one flow sample a datagram
        self.assertEqual(live[(scope, 'drops')], 0)
        self.assertEqual(live[('total', 'sflow_agent_denied')], 1)
        summary, flows = self.finish(probe, json_path)
        self.assertEqual(summary['sflow_agent_denied'], 1)
        self.assertEqual(summary['sflow_sequence_gaps'], 2)
        self.assertEqual(summary['sflow_sequence_resets'], 1)
        self.assertEqual(summary['sflow_agent.192.0.2.10.datagrams'], 6)
        self.assertEqual(summary['sflow_agents'], 1)
        self.assertEqual(summary['sflow_frames'], 6)
        self.assertEqual([f['NodeTID'] for f in flows], ['192.0.2.10'])

        # The sender counts too: a datagram from 127.0.0.1 outside the list.
        probe, port = self.start(json_path, ['--sflow-agents', '192.0.2.0/24'])
        send_all(port, [datagram('192.0.2.10', sample)])
        self.wait_datagrams(probe, 1)
        summary, flows = self.finish(probe, json_path)
        self.assertEqual(summary['sflow_agent_denied'], 1)
        self.assertEqual(summary['sflow_frames'], 0)
        self.assertEqual(flows, [])

    def test_anomalies_and_drops_per_agent(self):
        """Samples are headers the agent cut: an IP length within frame_length is
        no anomaly, one past it is (sflow_anomaly_ip_total_length, as for a port's
        frames); a header the parser cannot use is a drop of that agent."""
        tmp = scratch_dir('sflow')
        json_path = os.path.join(tmp, 'anomaly.json')
        probe, port = self.start(json_path)
        frame = udp_frame('10.8.0.1', '10.8.0.2', 1, 2, 1000)  # 1042 bytes on the wire
        cut = frame[:128]
        records = [raw_header(cut, frame_length=len(frame) + 4),  # cut by the agent: fine
                   raw_header(cut, frame_length=len(cut) + 4),    # IP says 1028 > the frame
                   raw_header(b'\x00' * 6)]                      # too short to parse
        send_all(port, [datagram('192.0.2.30', [flow_sample(8, records)])])
        self.wait_datagrams(probe, 1)
        summary, flows = self.finish(probe, json_path)
        self.assertEqual(summary['sflow_frames'], 3)
        self.assertEqual(summary['sflow_anomaly_ip_total_length'], 1)
        self.assertEqual(summary['sflow_drop_parse_too_short'], 1)
        self.assertEqual(summary['sflow_agent.192.0.2.30.samples'], 1)
        self.assertEqual(summary['sflow_agent.192.0.2.30.drops'], 1)
        # Port frames' own counter is not touched by samples.
        self.assertEqual(summary.get('anomaly_ip_total_length', 0), 0)
        self.assertEqual(len(flows), 1)
        # Both samples count the frame length the agent gave, cut or not.
        self.assertEqual(flows[0]['Metric']['ABPackets'], 2)
        self.assertEqual(flows[0]['Metric']['ABBytes'], len(frame) + len(cut))

    def test_silent_agents_are_retired(self):
        tmp = scratch_dir('sflow')
        json_path = os.path.join(tmp, 'idle.json')
        probe, port = self.start(json_path, ['--sflow-max-agents', '1',
                                             '--sflow-agent-idle', '1'])
        frame = udp_frame('10.6.0.1', '10.6.0.2', 1, 2, 10)
        sample = [flow_sample(4, [raw_header(frame)])]
        # A made-up agent takes the only slot; the real one is refused.
        send_all(port, [datagram('10.66.0.1', sample), datagram('192.0.2.10', sample)])
        self.wait_datagrams(probe, 2)
        self.assertEqual(self.stats(probe)[('total', 'sflow_agent_refusals')], 1)
        # Once the first has been silent for 1 s it is retired ...
        deadline = time.monotonic() + 60
        while self.stats(probe)[('total', 'sflow_agents_retired')] < 1:
            self.assertLess(time.monotonic(), deadline, 'agent never retired')
            time.sleep(0.2)
        # ... and the real agent gets the slot.
        send_all(port, [datagram('192.0.2.10', sample)])
        self.wait_datagrams(probe, 3)
        summary, flows = self.finish(probe, json_path)
        self.assertEqual(summary['sflow_agent_refusals'], 1)
        # The real agent may be retired too before the probe stops: both ways
        # its flow leaves once, with its final record.
        self.assertIn(summary['sflow_agents_retired'], (1, 2))
        self.assertEqual(sorted(f['NodeTID'] for f in flows), ['10.66.0.1', '192.0.2.10'])

    def test_address_in_use_is_a_clear_error(self):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
        try:
            run = run_skyprobe(['--sflow-listen', '127.0.0.1:%d' % port,
                                '--grpc-listen', 'none'], timeout=60)
        finally:
            sock.close()
        self.assertEqual(run.returncode, 1, run.describe())
        self.assertIn('skyprobe: --sflow-listen 127.0.0.1:%d: Address already in use' % port,
                      run.stderr)


if __name__ == '__main__':
    main()
