#!/usr/bin/env python3
"""Bounded memory and concurrency under clients that never read (issue 9, item 3).

skyprobe holds a table of 1,000,000 flows (scripts/gen_flows_pcap.py, one
UDP frame per flow, replayed with --hold) and serves gRPC with the default
caps, answer memory budget and idle deadline (8 QueryStream calls, 1 GiB,
30 s). Twenty clients, each on its own connection, open
QueryStream for the whole table and never read a message. Checked:

- without the test reading anything, every stream ends on the probe's side:
  the ones over a cap or over the budget at once, RESOURCE_EXHAUSTED naming
  the setting; the others when the idle deadline cuts them off (Stats:
  idle_cut); a client that reads at last gets what its transport buffered,
  then CANCELLED;
- the probe's resident memory (VmRSS, sampled every 50 ms from before the
  first stream to after the last ended) never grows by more than the budget
  plus 64 MiB (gRPC's buffers, thread stacks) over what it was with the table
  loaded: twenty copies of the answer would be some 12 GB;
- while an idle stream holds its answer the probe keeps serving: Stats, a
  filtered query over the whole table, a one-flow query (UUID pinned),
  skyprobectl stats;
- once they are cut, the memory is given back (answer_bytes 0) and a full
  dump read by a client that keeps up sends all 1,000,000 flows.
"""

import os
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skyprobe_harness as h  # noqa: E402

FLOWS = 1_000_000
CLIENTS = 20
BUDGET = 1 << 30          # the default --grpc-answer-memory
SLACK = 64 << 20


def rss_bytes(pid):
    with open('/proc/%d/status' % pid, encoding='ascii') as handle:
        for line in handle:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) * 1024
    raise AssertionError('no VmRSS for pid %d' % pid)


class RssSampler(threading.Thread):
    """The largest VmRSS of a process, sampled until stop()."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = rss_bytes(pid)
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            try:
                self.peak = max(self.peak, rss_bytes(self.pid))
            except (OSError, AssertionError):  # the process is gone: the test says why
                return
            self.halt.wait(0.05)

    def stop(self):
        self.halt.set()
        self.join()
        return self.peak


class IdleStreamsTest(unittest.TestCase):

    def setUp(self):
        h.require_skyprobe(self)
        self.grpc, self.pb, self.pb_grpc = h.grpc_api(self)
        self.pcap = os.path.join(h.scratch_dir('idle_streams'), 'flows-1m.pcap')
        if not os.path.exists(self.pcap):
            subprocess.run([sys.executable,
                            os.path.join(h.source_root(), 'scripts', 'gen_flows_pcap.py'),
                            self.pcap + '.tmp', '--flows', str(FLOWS)], check=True)
            os.rename(self.pcap + '.tmp', self.pcap)
        # Defaults for every service limit: what a new user gets.
        self.probe = h.ServingProbe(self, ['--pcap', self.pcap, '--hold', '--expire', '3600'])
        self.channel = self.grpc.insecure_channel(self.probe.address)
        self.addCleanup(self.channel.close)
        self.stub = self.pb_grpc.ProbeServiceStub(self.channel)
        deadline = time.monotonic() + 300
        while self.stats('total').get('packets_in') != FLOWS:
            self.assertLess(time.monotonic(), deadline, 'the capture did not load')
            time.sleep(0.2)

    def stats(self, scope):
        reply = self.stub.Stats(self.pb.StatsRequest(), timeout=60)
        return {e.name: e.value for e in reply.entries if e.scope == scope}

    def await_service(self, name, value, seconds=120):
        deadline = time.monotonic() + seconds
        while self.stats('service').get(name) != value:
            self.assertLess(time.monotonic(), deadline,
                            'service %s never reached %d: %s' % (name, value,
                                                                self.stats('service')))
            time.sleep(0.05)

    def test_twenty_clients_that_never_read(self):
        baseline = rss_bytes(self.probe.proc.pid)
        sampler = RssSampler(self.probe.proc.pid)
        sampler.start()
        self.addCleanup(sampler.halt.set)
        channels, calls = [], []
        for _ in range(CLIENTS):
            channel = self.grpc.insecure_channel(self.probe.address)
            self.addCleanup(channel.close)
            channels.append(channel)
            stub = self.pb_grpc.ProbeServiceStub(channel)
            calls.append(stub.QueryStream(self.pb.FlowQuery(), timeout=600))  # never read

        # An answer is being held (its write waiting on a client that does not
        # read) and the other calls are refused at once.
        deadline = time.monotonic() + 120
        while not (self.stats('service')['answer_bytes'] > 0 and any(c.done() for c in calls)):
            self.assertLess(time.monotonic(), deadline, 'no stream started, or none refused')
            time.sleep(0.05)

        # Others are served meanwhile.
        self.assertEqual(self.stats('total')['packets_in'], FLOWS)
        one = self.stub.Query(self.pb.FlowQuery(expression="Transport.A = 1024 and "
                                                           "Network.A = '10.0.0.1'"),
                              timeout=120)
        self.assertEqual(len(one.Flows), 1)
        uuid = one.Flows[0].UUID
        pinned = self.stub.Query(self.pb.FlowQuery(expression="UUID = '%s'" % uuid), timeout=60)
        self.assertEqual([f.UUID for f in pinned.Flows], [uuid])
        out = subprocess.run([h.ctl_path(), 'stats', '--all', '--probe', self.probe.address],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn('total packets_in %d' % FLOWS, out.stdout)
        held = self.stats('service')
        self.assertEqual(held['idle_cut'], 0, 'the checks above ran after the idle deadline: '
                         'they did not show the probe serving beside idle streams')
        self.assertGreater(held['answer_bytes'], 0)

        # Without the test reading anything, every stream ends on the probe's
        # side: the refused ones at once (their clients have the status), the
        # others when the idle deadline cuts them off.
        deadline = time.monotonic() + 300
        while True:
            service = self.stats('service')
            done = [c for c in calls if c.done()]
            if (service['query_streams_active'] == 0 and service['idle_cut'] >= 1
                    and service['idle_cut'] + len(done) == CLIENTS):
                break
            self.assertLess(time.monotonic(), deadline, 'streams still open: %s' % service)
            time.sleep(0.2)
        cut = service['idle_cut']
        for call in done:
            self.assertEqual(call.code(), self.grpc.StatusCode.RESOURCE_EXHAUSTED, call.details())
            self.assertTrue('--grpc-max-streams' in call.details()
                            or '--grpc-answer-memory' in call.details(), call.details())
        self.await_service('answer_bytes', 0)
        peak = sampler.stop()
        self.assertLessEqual(peak - baseline, BUDGET + SLACK,
                             'resident memory grew by %d MiB (budget %d MiB)'
                             % ((peak - baseline) >> 20, BUDGET >> 20))
        # A client that reads at last finds what its transport had buffered, then
        # the cancellation: the stream is gone, not merely paused.
        for call in calls:
            if call in done:
                continue
            received = 0
            with self.assertRaises(self.grpc.RpcError) as caught:
                for flow_set in call:
                    received += len(flow_set.Flows)
            self.assertEqual(caught.exception.code(), self.grpc.StatusCode.CANCELLED)
            self.assertLess(received, FLOWS)
        print('idle_streams: %d cut off idle, %d refused; VmRSS %d MiB loaded, peak +%d MiB'
              % (cut, len(done), baseline >> 20, (peak - baseline) >> 20))

        # The budget is free again: a client that reads gets the whole table.
        total = 0
        for flow_set in self.stub.QueryStream(self.pb.FlowQuery(), timeout=600):
            total += len(flow_set.Flows)
        self.assertEqual(total, FLOWS)
        self.assertIsNone(self.probe.proc.poll())


if __name__ == '__main__':
    h.main()
