#!/usr/bin/env python3
"""The Python client (python/, package `skyprobe`) against a live probe.

A probe replays tests/data/demo.pcap, a generated capture of tunnels and one
of lossy TCP conversations (--hold, --tcp-health and --tcp-stream-metrics so
that the optional TCPMetric fields are there, --raw-packets), and writes its
records with --json. Through the client:

- flows() gives every live flow, as dicts equal to the probe's own JSON
  records of the same flows (the EXPIRE records written when they are
  flushed), but for Event and ExpireReason; sort + limit equal the test's
  own sort of all flows; a filter equals the test's own selection;
- watch() gives, during a Flush, exactly the EXPIRE records the --json file
  gets (every field: the Flow-message-to-dict conversion is checked whole);
- stats() counts every frame of the three captures (read by the test) under
  the NodeTID given;
- pcap() writes the same bytes as skyprobectl pcap for the same filter, and
  holds as many frames (tshark counts them) as the matching flows'
  RawPacketsCaptured say;
- a probe with TLS and a bearer token answers with both, refuses without
  the token (ProbeError UNAUTHENTICATED) and is not trusted without its CA.

The stubs are the ones the build generated (<build>/python); grpc is Debian's
python3-grpcio (scripts/setup.sh --tests). Missing, the test fails.
"""

import os
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skyprobe_harness as h  # noqa: E402

NODE = 'py-client-test'


def client_module(testcase):
    path = os.path.join(h.build_root(), 'python')
    testcase.assertTrue(os.path.exists(os.path.join(path, 'skyprobe', 'v1', 'flow_pb2.py')),
                        'the build did not generate the Python stubs in %s' % path)
    if path not in sys.path:
        sys.path.insert(0, path)
    try:
        import skyprobe  # pylint: disable=import-outside-toplevel
    except ImportError as exc:
        testcase.fail('the skyprobe package does not import with %s: %s (python3-grpcio, '
                      'python3-protobuf: scripts/setup.sh --tests)' % (sys.executable, exc))
    return skyprobe


def wait_for(what, predicate, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError('timed out waiting for ' + what)


def json_records(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding='utf-8') as handle:
        text = handle.read()
    # Only whole lines: the probe may be writing the next one.
    return h.parse_json_lines(text[:text.rfind('\n') + 1])


class PythonClientTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dir = h.scratch_dir('python_client')
        cls.tunnels = os.path.join(cls.dir, 'tunnels.pcap')
        cls.tcp = os.path.join(cls.dir, 'tcp.pcap')
        data = os.path.join(h.source_root(), 'tests', 'data')
        subprocess.run([sys.executable, os.path.join(data, 'gen_pcap.py'), 'tunnels',
                        cls.tunnels], check=True)
        subprocess.run([sys.executable, os.path.join(data, 'gen_pcap_tcp.py'), cls.tcp,
                        '--conversations', '12'], check=True)
        cls.demo = os.path.join(data, 'demo.pcap')
        cls.inputs = [cls.demo, cls.tunnels, cls.tcp]
        cls.frames = sum(len(h.read_pcap(p)[1]) for p in cls.inputs)

    def setUp(self):
        h.require_skyprobe(self)
        self.sk = client_module(self)

    def start(self, json_path, *extra):
        args = ['--hold', '--node-tid', NODE, '--json', json_path, '--raw-packets', '4',
                '--tcp-health', '--tcp-stream-metrics', '--update', '3600']
        for p in self.inputs:
            args += ['--pcap', p]
        return h.ServingProbe(self, args + list(extra))

    def test_flows_watch_stats_pcap_against_the_json_records(self):
        json_path = os.path.join(self.dir, 'records.json')
        served = self.start(json_path)
        probe = self.sk.Probe(served.address)
        self.addCleanup(probe.close)

        # stats(): every frame of the captures, read by the test.
        def all_in():
            total = probe.stats()['counters']['total']
            return total.get('packets_in') == self.frames and total
        total = wait_for('every frame in', all_in)
        stats = probe.stats()
        self.assertEqual(stats['node_tid'], NODE)
        self.assertGreater(stats['monotonic_ns'], 0)

        flows = list(probe.flows())
        # Answers hold the live flows (Event UPDATE) and those that ended by
        # themselves a moment ago (--keep-expired: Event EXPIRE).
        events = [f['Event'] for f in flows]
        self.assertEqual(events.count('UPDATE'), total['flows_live'])
        self.assertEqual(events.count('EXPIRE'), total['kept_expired_flows'])
        self.assertEqual(len(flows), total['flows_live'] + total['kept_expired_flows'])
        self.assertEqual(len({f['UUID'] for f in flows}), len(flows))
        self.assertTrue(any('ParentUUID' in f and f['ParentUUID'] for f in flows), 'tunnels')
        self.assertTrue(any('ABRetransmissions' in f.get('TCPMetric', {}) for f in flows))

        # sort + limit: the test's own order (ties by UUID, as documented).
        top = list(probe.flows(sort='Metric.ABBytes:desc', limit=7))
        mine = sorted(flows, key=lambda f: (-f['Metric']['ABBytes'], f['UUID']))[:7]
        self.assertEqual([f['UUID'] for f in top], [f['UUID'] for f in mine])
        # A filter: the test's own selection.
        chosen = list(probe.flows(filter="Metric.ABPackets > 1 and Transport.Protocol = 'UDP'"))
        expected = [f for f in flows if f['Metric']['ABPackets'] > 1 and
                    f.get('Transport', {}).get('Protocol') == 'UDP']
        self.assertTrue(expected)
        self.assertEqual(sorted(f['UUID'] for f in chosen), sorted(f['UUID'] for f in expected))
        with self.assertRaises(self.sk.ProbeError) as bad:
            list(probe.flows(filter='Metric.ABPackets >'))
        self.assertEqual(bad.exception.code, 'INVALID_ARGUMENT')

        # pcap(): the bytes skyprobectl writes for the same filter; the frames
        # the flows say they kept.
        selection = "Transport.Protocol = 'UDP' or ICMP.Type = 'ECHO'"
        mine_pcap = os.path.join(self.dir, 'client.pcap')
        ctl_pcap = os.path.join(self.dir, 'ctl.pcap')
        written = probe.pcap(mine_pcap, filter=selection)
        subprocess.run([h.ctl_path(), 'pcap', '--probe', served.address, '--filter', selection,
                        '-o', ctl_pcap], check=True, capture_output=True)
        with open(mine_pcap, 'rb') as a, open(ctl_pcap, 'rb') as b:
            mine_bytes, ctl_bytes = a.read(), b.read()
        self.assertEqual(written, len(mine_bytes))
        self.assertEqual(mine_bytes, ctl_bytes)
        kept = sum(f['RawPacketsCaptured'] for f in probe.flows(filter=selection))
        self.assertGreater(kept, 0)
        # pcapng with an interface per link type (the tunnels capture has raw
        # IP frames too): tshark reads it, libpcap would not.
        frames = subprocess.run([h.tshark_path(), '-r', mine_pcap, '-T', 'fields', '-e',
                                 'frame.number'], check=True, capture_output=True,
                                text=True).stdout.split()
        self.assertEqual(len(frames), kept)

        # watch() during a flush: the records the --json file gets, one for
        # each live flow (the expired ones had theirs).
        live_flows = [f for f in flows if f['Event'] == 'UPDATE']
        watched = []

        def watch():
            for record in probe.watch():
                watched.append(record)
                if len(watched) == len(live_flows):
                    return
        reader = threading.Thread(target=watch, daemon=True)
        reader.start()
        wait_for('the subscription',
                 lambda: probe.stats()['counters']['service']['subscribers'] >= 1)
        probe.flush()
        reader.join(timeout=60)
        self.assertFalse(reader.is_alive(), 'watch() got %d records' % len(watched))

        def all_expired():
            # Flows that closed before (TCP) have their EXPIRE records too.
            records = [r for r in json_records(json_path) if r['ExpireReason'] == 'FLUSH']
            return records if len(records) == len(live_flows) else None
        expired = wait_for('the EXPIRE records in the JSON file', all_expired)
        by_uuid = {r['UUID']: r for r in expired}
        self.assertEqual(sorted(r['UUID'] for r in watched), sorted(by_uuid))
        for record in watched:
            self.assertEqual(record, by_uuid[record['UUID']])
        # flows() before the flush: the same records but for the event (and
        # FinishType, which the expiry decides: TIMEOUT, or TCP_FIN after a
        # FIN one way).
        for flow in live_flows:
            final = dict(by_uuid[flow['UUID']])
            self.assertEqual((flow['Event'], flow['ExpireReason']), ('UPDATE', 'NONE'))
            self.assertEqual((final.pop('Event'), final.pop('ExpireReason')), ('EXPIRE', 'FLUSH'))
            if 'FinishType' not in flow:
                self.assertIn(final.pop('FinishType'), ('TIMEOUT', 'TCP_FIN', 'TCP_RST'))
            # LastUpdateMetric: the counters since the last record, which the
            # EXPIRE record is; a live flow without a record yet has none.
            if 'LastUpdateMetric' not in flow:
                self.assertIn('LastUpdateMetric', final)
                final.pop('LastUpdateMetric')
            live = dict(flow)
            del live['Event'], live['ExpireReason']
            self.assertEqual(live, final)
        self.assertEqual(served.terminate(), 0)

    def test_tls_and_token(self):
        certs = os.path.join(self.dir, 'certs')
        os.makedirs(certs, exist_ok=True)
        cert, key = os.path.join(certs, 'cert.pem'), os.path.join(certs, 'key.pem')
        subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout',
                        key, '-out', cert, '-days', '2', '-subj', '/CN=localhost', '-addext',
                        'subjectAltName=DNS:localhost,IP:127.0.0.1'],
                       check=True, capture_output=True)
        token = 'a-token-of-at-least-16-bytes'
        token_file = os.path.join(certs, 'token')
        with open(token_file, 'w', encoding='utf-8') as handle:
            handle.write(token + '\n')
        served = self.start(os.path.join(self.dir, 'tls.json'), '--grpc-tls-cert', cert,
                            '--grpc-tls-key', key, '--grpc-token-file', token_file)
        self.assertIn('TLS', served.banner)
        with self.sk.Probe(served.address, token=token, ca=cert) as probe:
            wait_for('every frame in', lambda: probe.stats()['counters']['total'].get(
                'packets_in') == self.frames)
            total = probe.stats()['counters']['total']
            self.assertEqual(len(list(probe.flows())),
                             total['flows_live'] + total['kept_expired_flows'])
        with self.sk.Probe(served.address, token_file=token_file, ca=cert,
                           server_name='localhost') as probe:
            self.assertEqual(probe.stats()['node_tid'], NODE)
        with self.sk.Probe(served.address, ca=cert) as probe:
            with self.assertRaises(self.sk.ProbeError) as refused:
                probe.stats()
            self.assertEqual(refused.exception.code, 'UNAUTHENTICATED')
            with self.assertRaises(self.sk.ProbeError) as refused:
                list(probe.flows())
            self.assertEqual(refused.exception.code, 'UNAUTHENTICATED')
        # TLS without the probe's CA: the system roots do not trust it, the
        # handshake fails (UNAVAILABLE, or the deadline while gRPC retries).
        with self.sk.Probe(served.address, token=token, tls=True, timeout=5) as probe:
            with self.assertRaises(self.sk.ProbeError) as untrusted:
                probe.stats()
            self.assertIn(untrusted.exception.code, ('UNAVAILABLE', 'DEADLINE_EXCEEDED'))
        self.assertEqual(served.terminate(), 0)


if __name__ == '__main__':
    h.main()
