#!/usr/bin/env python3
"""Bounded parsing of requests (issue 9, item 1) against the real probe.

skyprobe replays tests/data/demo.pcap with --hold and serves gRPC; requests
skyprobectl would refuse to send go out through Python stubs
(skyprobe_harness.grpc_api). Each over-limit request must be answered with
INVALID_ARGUMENT naming the limit, on every RPC that takes a filter, and the
probe must then still answer Stats with the whole trace in its counters:

- 300,000 nested parentheses in FlowQuery.expression (600 KB, under the
  1 MiB request cap): this killed the probe with SIGSEGV before;
- a structured Filter one level deeper than the limit (64), and one far
  deeper than protobuf decodes (before: INTERNAL with an empty message);
- an `in` list over 4096 values, more than 64 regular expressions;
- skyprobectl with 60,000 nested parentheses refuses them itself (before:
  the client crashed);
- a request whose expression is not UTF-8 (found by the grpc_query fuzz
  target): INVALID_ARGUMENT, and no libprotobuf line on the probe's stderr
  (before: one ERROR line per request, a log any client could fill).
"""

import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skyprobe_harness as h  # noqa: E402

DEMO = os.path.join(h.source_root(), 'tests', 'data', 'demo.pcap')
DEEP = 300000


class RequestLimitsTest(unittest.TestCase):

    def setUp(self):
        h.require_skyprobe(self)
        self.grpc, self.pb, self.pb_grpc = h.grpc_api(self)
        self.probe = h.ServingProbe(self, ['--pcap', DEMO, '--hold'])
        self.channel = self.grpc.insecure_channel(self.probe.address)
        self.addCleanup(self.channel.close)
        self.stub = self.pb_grpc.ProbeServiceStub(self.channel)
        self.frames = len(h.read_pcap(DEMO)[1])
        deadline = time.monotonic() + 60
        while self.total('packets_in') != self.frames:
            self.assertLess(time.monotonic(), deadline, 'the trace did not load')
            time.sleep(0.05)

    def total(self, name):
        reply = self.stub.Stats(self.pb.StatsRequest(), timeout=30)
        values = {e.name: e.value for e in reply.entries if e.scope == 'total'}
        return values.get(name)

    def assert_refused(self, call, *mentions):
        """`call()` raises INVALID_ARGUMENT whose text holds every mention."""
        with self.assertRaises(self.grpc.RpcError) as caught:
            result = call()
            if not hasattr(result, 'Flows') and not isinstance(result, bytes):
                # a stream: the error comes on reading
                list(result)
        error = caught.exception
        self.assertEqual(error.code(), self.grpc.StatusCode.INVALID_ARGUMENT, error.details())
        for m in mentions:
            self.assertIn(m, error.details())

    def assert_serving(self):
        """The probe is alive and answers with the whole trace still in its table."""
        self.assertIsNone(self.probe.proc.poll(), 'the probe died:\n' + self.probe.stderr())
        self.assertEqual(self.total('packets_in'), self.frames)
        flows = self.stub.Query(self.pb.FlowQuery(limit=5), timeout=30).Flows
        self.assertEqual(len(flows), 5)

    def chain(self, levels):
        """A Filter of `levels` levels: NOT around NOT ... around a term."""
        root = self.pb.Filter()
        f = root
        for _ in range(levels - 1):
            f.BoolFilter.Op = self.pb.BoolFilter.NOT
            f = f.BoolFilter.Filters.add()
        f.TermInt64Filter.Key = 'Transport.B'
        f.TermInt64Filter.Value = 1
        return root

    def test_deeply_nested_expression(self):
        text = '(' * DEEP + "UUID = '1'" + ')' * DEEP
        self.assertLess(len(text), 1 << 20)  # under the service's request cap
        message = 'column 65: more than 64 nested parentheses or \'not\' (the limit is 64)'
        query = self.pb.FlowQuery(expression=text)
        self.assert_refused(lambda: self.stub.Query(query, timeout=60), message)
        self.assert_serving()
        self.assert_refused(lambda: self.stub.QueryStream(query, timeout=60), message)
        self.assert_refused(lambda: self.stub.ExportPcap(query, timeout=60), message)
        self.assert_refused(
            lambda: self.stub.Subscribe(self.pb.FlowFilter(expression=text), timeout=60),
            message)
        self.assert_serving()

    def test_deeply_nested_structured_filter(self):
        # At the limit: a valid query. 63 NOTs around Transport.B = 1 match every flow
        # whose Transport.B is not 1: all of demo.pcap's.
        at = self.stub.Query(self.pb.FlowQuery(filter=self.chain(64), limit=3), timeout=30)
        self.assertEqual(len(at.Flows), 3)
        over = self.pb.FlowQuery(filter=self.chain(65))
        self.assert_refused(lambda: self.stub.Query(over, timeout=30),
                            'filter: nested more than 64 levels deep (the limit is 64)')
        # Deeper than the request decoder goes (protobuf's own recursion limit).
        sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
        far = self.pb.FlowQuery(filter=self.chain(2000))
        self.assert_refused(lambda: self.stub.Query(far, timeout=30),
                            'not a valid skyprobe.v1.FlowQuery', 'the limit is 64')
        self.assert_refused(lambda: self.stub.QueryStream(far, timeout=30),
                            'not a valid skyprobe.v1.FlowQuery')
        self.assert_refused(
            lambda: self.stub.Subscribe(self.pb.FlowFilter(filter=self.chain(2000)), timeout=30),
            'not a valid skyprobe.v1.FlowFilter')
        self.assert_refused(
            lambda: self.stub.Subscribe(self.pb.FlowFilter(filter=self.chain(65)), timeout=30),
            'nested more than 64 levels deep')
        self.assert_serving()

    def test_lists_and_regexes(self):
        values = ', '.join(str(i) for i in range(5000))
        self.assert_refused(
            lambda: self.stub.Query(self.pb.FlowQuery(
                expression='Transport.B in (%s)' % values), timeout=30),
            'more than 4096 values in one \'in\' list (the limit is 4096)')
        regexes = ' or '.join("LayersPath =~ 'UDP%d'" % i for i in range(65))
        self.assert_refused(
            lambda: self.stub.Query(self.pb.FlowQuery(expression=regexes), timeout=30),
            'more than 64 regular expressions')
        self.assert_serving()

    def test_request_that_is_not_utf8(self):
        raw = self.channel.unary_unary('/skyprobe.v1.ProbeService/Query')
        for _ in range(3):
            self.assert_refused(lambda: raw(b'\x0a\x02\xff\xfe', timeout=30),
                                'not a valid skyprobe.v1.FlowQuery', 'not UTF-8')
        self.assert_serving()
        self.assertNotIn('libprotobuf', self.probe.stderr())

    def test_skyprobectl_refuses_a_deep_filter_itself(self):
        text = '(' * 60000 + "UUID = '1'" + ')' * 60000
        out = subprocess.run([h.ctl_path(), 'flows', '--probe', self.probe.address,
                              '--filter', text], capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 2, out.stderr)
        self.assertEqual(out.stderr, 'skyprobectl: --filter: column 65: more than 64 nested '
                                     'parentheses or \'not\' (the limit is 64)\n')
        self.assert_serving()


if __name__ == '__main__':
    h.main()
