#!/usr/bin/env python3
"""Kafka export (--kafka) against librdkafka's own mock cluster.

The cluster is hosted by tests/integration/kafka_mock_cluster (built from
rdkafka_mock.h) on 127.0.0.1; the records are read back by Debian's kcat, an
independent consumer. Checked:

- every record of each Skydive trace and of a generated capture arrives
  exactly once (every EXPIRE record once), with the JSON payload equal to the
  --json line of the same run, the key equal to its TrackingID, and the
  records of one TrackingID on one partition in the order of the JSON lines;
- --kafka-format protobuf: every payload parses as skyprobe.v1.Flow and
  equals the --json line parsed as a Flow (python3-protobuf, not the probe's
  code);
- a broker down from the start, a broker killed in the middle of a run, and
  a local queue too small: every record is delivered or counted lost, the
  probe exits within its flush bound with one clear line, never hangs.
"""

import collections
import glob
import json
import re
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skyprobe_harness as h  # noqa: E402

TOPIC = 'flows'
# A probe whose brokers are gone must be done within its flush bound plus
# start-up and teardown; far above that is a hang.
EXIT_BOUND = 90


def kcat_path(testcase):
    path = shutil.which('kcat') or shutil.which('kafkacat')
    if path is None:
        testcase.fail('kcat not found: install kcat (scripts/setup.sh --tests)')
    return path


def mock_path(testcase):
    path = os.path.join(h.build_root(), 'tests', 'integration', 'kafka_mock_cluster')
    if not os.access(path, os.X_OK):
        testcase.fail('kafka_mock_cluster not built at %s' % path)
    return path


class MockCluster:
    """kafka_mock_cluster in the background; `bootstrap` is its address."""

    def __init__(self, testcase, partitions=4):
        self.proc = subprocess.Popen(
            [mock_path(testcase), '--topic', TOPIC, '--partitions', str(partitions)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        testcase.addCleanup(self.kill)
        self.bootstrap = self.proc.stdout.readline().strip()
        if not re.match(r'^127\.0\.0\.1:\d+$', self.bootstrap):
            self.proc.kill()
            testcase.fail('mock cluster did not start: %s' % self.proc.stderr.read())

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except OSError:  # stdin of a killed process
                pass


KCAT_FORMAT = '%p %o %K %S\n%k%s\n'


def parse_kcat(blob, cut=False):
    """Messages from kcat -f KCAT_FORMAT: [(partition, offset, key, value)].
    cut: kcat was killed, its last message may be incomplete (dropped)."""
    out, pos = [], 0
    while pos < len(blob):
        end = blob.find(b'\n', pos)
        if cut and end < 0:
            break
        part, offset, klen, vlen = (int(x) for x in blob[pos:end].split())
        if cut and end + 1 + max(klen, 0) + max(vlen, 0) + 1 > len(blob):
            break
        part, offset, klen, vlen = (int(x) for x in blob[pos:end].split())
        pos = end + 1
        key = blob[pos:pos + max(klen, 0)]
        pos += max(klen, 0)
        value = blob[pos:pos + max(vlen, 0)]
        pos += max(vlen, 0)
        assert blob[pos:pos + 1] == b'\n', 'kcat output out of step at %d' % pos
        pos += 1
        out.append((part, offset, key, value))
    return out


def consume_all(testcase, bootstrap):
    """Every message of TOPIC, read from the beginning until the end."""
    proc = subprocess.run([kcat_path(testcase), '-C', '-b', bootstrap, '-t', TOPIC, '-o',
                           'beginning', '-e', '-q', '-f', KCAT_FORMAT],
                          capture_output=True, timeout=120, check=False)
    testcase.assertEqual(proc.returncode, 0, 'kcat failed: %s' % proc.stderr.decode())
    return parse_kcat(proc.stdout)


class KafkaTest(unittest.TestCase):

    def setUp(self):
        h.require_skyprobe(self)
        self.scratch = h.scratch_dir('kafka')

    def run_probe(self, pcap, bootstrap, extra=(), timeout=EXIT_BOUND):
        json_path = os.path.join(self.scratch, 'records.json')
        args = ['--pcap', pcap, '--kafka', bootstrap, '--kafka-topic', TOPIC] + list(extra)
        run = h.run_skyprobe(args, json_path=json_path, timeout=timeout)
        self.assertFalse(run.timed_out, 'probe hung\n' + run.describe())
        with open(json_path, encoding='utf-8') as f:
            lines = [line for line in f.read().split('\n') if line]
        return run, lines

    def check_delivered(self, label, run, lines, messages):
        """Every JSON line is exactly one message, keyed and ordered."""
        self.assertEqual(run.returncode, 0, run.describe())
        s = run.summary
        self.assertEqual(s['output.kafka.records'], len(lines), label)
        self.assertEqual(s['output.kafka.records'], s['records_out'], label)
        self.assertEqual(s['output.kafka.delivered'], len(lines), label)
        self.assertEqual(s['output.kafka.records_lost'], 0, label)
        self.assertEqual(len(messages), len(lines), '%s: messages in the topic' % label)
        # Keys: the TrackingID, one partition per key, the JSON order kept.
        by_key = collections.defaultdict(list)
        partition_of = {}
        for part, offset, key, value in sorted(messages, key=lambda m: (m[0], m[1])):
            rec = json.loads(value)
            self.assertEqual(key.decode(), rec['TrackingID'], label)
            self.assertEqual(partition_of.setdefault(key, part), part,
                             '%s: TrackingID %s on two partitions' % (label, key))
            by_key[key].append(value.decode())
        json_by_key = collections.defaultdict(list)
        for line in lines:
            json_by_key[json.loads(line)['TrackingID'].encode()].append(line)
        self.assertEqual(dict(by_key), dict(json_by_key),
                         '%s: messages per TrackingID differ from the JSON lines (in '
                         'content or order)' % label)
        expires = collections.Counter(json.loads(v)['UUID'] for _, _, _, v in messages
                                      if json.loads(v)['Event'] == 'EXPIRE')
        self.assertTrue(expires, '%s: no EXPIRE record' % label)
        self.assertEqual([u for u, n in expires.items() if n != 1], [], label)
        json_expires = {json.loads(line)['UUID'] for line in lines
                        if json.loads(line)['Event'] == 'EXPIRE'}
        self.assertEqual(set(expires), json_expires, label)

    def test_skydive_traces_json(self):
        traces = sorted(glob.glob(os.path.join(h.shared_dir('skydive'), '*.pcap')))
        self.assertGreater(len(traces), 10)
        for pcap in traces:
            with self.subTest(trace=os.path.basename(pcap)):
                mock = MockCluster(self)
                run, lines = self.run_probe(pcap, mock.bootstrap)
                self.check_delivered(os.path.basename(pcap), run, lines,
                                     consume_all(self, mock.bootstrap))
                mock.kill()

    def generated_capture(self):
        path = os.path.join(self.scratch, 'synthetic.pcap')
        if not os.path.exists(path):
            subprocess.run([sys.executable, h.gen_pcap_script(), 'synthetic', path,
                            '--packets', '30000', '--flows', '1500', '--seed', '11'],
                           check=True)
        return path

    def test_generated_capture_json_with_updates(self):
        mock = MockCluster(self)
        # --update 5: UPDATE records too, several per flow, which must stay in order.
        run, lines = self.run_probe(self.generated_capture(), mock.bootstrap,
                                    ['--update', '5', '--expire', '20'])
        self.assertGreater(sum('"UPDATE"' in line for line in lines), 100)
        self.check_delivered('synthetic', run, lines, consume_all(self, mock.bootstrap))

    def check_protobuf(self, label, pcap):
        from google.protobuf import json_format  # pylint: disable=import-outside-toplevel
        pb = h.flow_pb2(self)
        mock = MockCluster(self)
        run, lines = self.run_probe(pcap, mock.bootstrap, ['--kafka-format', 'protobuf'])
        self.assertEqual(run.returncode, 0, run.describe())
        self.assertEqual(run.summary['output.kafka.delivered'], len(lines), label)
        messages = consume_all(self, mock.bootstrap)
        got = collections.Counter()
        for _, _, key, value in messages:
            flow = pb.Flow.FromString(value)
            self.assertEqual(key.decode(), flow.TrackingID, label)
            got[flow.SerializeToString(deterministic=True)] += 1
        want = collections.Counter()
        for line in lines:
            flow = json_format.Parse(line, pb.Flow())
            want[flow.SerializeToString(deterministic=True)] += 1
        self.assertEqual(len(messages), len(lines), label)
        self.assertEqual(got, want, '%s: protobuf records differ from the JSON lines' % label)

    def test_protobuf_generated_capture(self):
        self.check_protobuf('synthetic', self.generated_capture())

    def test_protobuf_skydive_traces(self):
        for name in ('eth-ip4-arp-dns-req-http-google.pcap', 'vxlan-src-port.pcap',
                     'simple-tcpv6.pcap', 'icmpv4-4vlanQinQ-id-8-10-20-30.pcap'):
            with self.subTest(trace=name):
                self.check_protobuf(name, os.path.join(h.shared_dir('skydive'), name))

    def check_lost(self, label, run, lines):
        """Records counted lost, one clear error line, a clean exit."""
        self.assertEqual(run.returncode, 3, run.describe())  # an output lost records
        self.assertEqual(h.stderr_noise(run.stderr), [], run.describe())
        s = run.summary
        self.assertIsNotNone(s, run.describe())
        self.assertEqual(s['output.kafka.records'], len(lines), label)
        self.assertEqual(s['output.kafka.delivered'] + s['output.kafka.records_lost'],
                         s['output.kafka.records'], label)
        self.assertEqual(s['output.kafka.records_lost'],
                         s['output.kafka.delivery_failed'] + s['output.kafka.queue_full'] +
                         s['output.kafka.produce_errors'], label)
        self.assertGreater(s['output.kafka.records_lost'], 0, label)
        last = run.stderr.strip().splitlines()[-1]
        self.assertRegex(last, r'^skyprobe: --kafka .* topic flows: %d of %d record\(s\) not '
                         r'delivered' % (s['output.kafka.records_lost'],
                                         s['output.kafka.records']), label)
        return s

    def test_broker_down_at_start(self):
        mock = MockCluster(self)
        address = mock.bootstrap
        mock.kill()  # nothing listens there any more
        pcap = os.path.join(h.source_root(), 'tests', 'data', 'demo.pcap')
        start = time.monotonic()
        run, lines = self.run_probe(pcap, address, ['--kafka-flush-timeout', '2'])
        s = self.check_lost('down at start', run, lines)
        self.assertEqual(s['output.kafka.delivered'], 0)
        self.assertEqual(s['output.kafka.delivery_failed'], len(lines))
        self.assertGreater(s['output.kafka.output_errors'], 0)
        self.assertLess(time.monotonic() - start, EXIT_BOUND)

    def test_local_queue_full(self):
        # A broker that is down and a queue of 10 messages: the rest is refused
        # at once (queue_full), the control lcore never waits for room.
        mock = MockCluster(self)
        address = mock.bootstrap
        mock.kill()
        run, lines = self.run_probe(self.generated_capture(), address,
                                    ['--kafka-flush-timeout', '1', '--kafka-option',
                                     'queue.buffering.max.messages=10'])
        s = self.check_lost('queue full', run, lines)
        self.assertEqual(s['output.kafka.delivered'], 0)
        self.assertEqual(s['output.kafka.delivery_failed'], 10)
        self.assertEqual(s['output.kafka.queue_full'], len(lines) - 10)

    def test_broker_killed_mid_run(self):
        mock = MockCluster(self)
        # A paced replay (about 8 s) with updates: records flow during the run.
        json_path = os.path.join(self.scratch, 'killed.json')
        args = [h.skyprobe_path(), '--pcap', self.generated_capture(), '--pcap-rate', '4000',
                '--update', '2', '--expire', '10', '--kafka', mock.bootstrap, '--kafka-topic',
                TOPIC, '--kafka-flush-timeout', '2', '--json', json_path]
        probe = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE)
        self.addCleanup(lambda: probe.poll() is None and probe.kill())
        stderr = []
        reader = threading.Thread(target=lambda: stderr.append(probe.stderr.read()))
        reader.start()
        # kcat follows the topic while the broker lives.
        consumer = subprocess.Popen([kcat_path(self), '-C', '-b', mock.bootstrap, '-t', TOPIC,
                                     '-o', 'beginning', '-q', '-u', '-f', KCAT_FORMAT],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: consumer.poll() is None and consumer.kill())
        # Its output is read as it comes, so the broker is killed only once
        # the follower itself has a record (a one-shot reader seeing one
        # says nothing of a follower still joining, on a loaded machine).
        consumed = bytearray()
        first = threading.Event()

        def follow():
            while True:
                chunk = consumer.stdout.read1(65536)
                if not chunk:
                    return
                consumed.extend(chunk)
                if not first.is_set() and parse_kcat(bytes(consumed), cut=True):
                    first.set()

        creader = threading.Thread(target=follow)
        creader.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and probe.poll() is None and not first.wait(0.2):
            pass
        self.assertIsNone(probe.poll(), 'the replay ended before the broker was killed')
        mock.proc.send_signal(signal.SIGKILL)
        mock.proc.wait()
        try:
            rc = probe.wait(timeout=EXIT_BOUND)
        except subprocess.TimeoutExpired:
            self.fail('probe hung after its broker was killed')
        reader.join()
        probe.stderr.close()
        consumer.kill()
        consumer.wait()
        creader.join()
        consumer.stdout.close()
        run = h.Run(args, rc, '', stderr[0].decode('utf-8', 'replace'), 0)
        run.summary = h.parse_summary(run.stderr)
        with open(json_path, encoding='utf-8') as f:
            lines = [line for line in f.read().split('\n') if line]
        s = self.check_lost('killed', run, lines)
        self.assertGreater(s['output.kafka.delivered'], 0)
        # What kcat saw before the kill: JSON lines of the run, none twice.
        messages = parse_kcat(bytes(consumed), cut=True)
        seen = collections.Counter(v.decode() for _, _, _, v in messages)
        self.assertGreater(len(seen), 0)
        self.assertLessEqual(sum(seen.values()), s['output.kafka.delivered'])
        self.assertEqual([v for v, n in seen.items() if n > 1], [])
        self.assertEqual(set(seen) - set(lines), set())


if __name__ == '__main__':
    h.main()
