#!/usr/bin/env python3
"""Secure defaults of the gRPC service (issue 9, item 5) on the real probe.

- A non-loopback --grpc-listen without TLS or a token is refused at start,
  in one line naming the way out; with --grpc-insecure it serves, and the
  start-up line says it is unprotected.
- A token shorter than 16 bytes is refused at start; a long one protects a
  network address: calls without it are UNAUTHENTICATED, with it they work.
- The loopback default says so on the start-up line.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skyprobe_harness as h  # noqa: E402

DEMO = os.path.join(h.source_root(), 'tests', 'data', 'demo.pcap')


class ServiceSecurityTest(unittest.TestCase):

    def setUp(self):
        h.require_skyprobe(self)
        self.grpc, self.pb, self.pb_grpc = h.grpc_api(self)
        self.dir = h.scratch_dir('service_security')

    def token_file(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, 'w', encoding='utf-8') as handle:
            handle.write(text)
        return path

    def stats(self, probe, token=None):
        channel = self.grpc.insecure_channel(probe.address)
        self.addCleanup(channel.close)
        stub = self.pb_grpc.ProbeServiceStub(channel)
        metadata = [('authorization', 'Bearer ' + token)] if token else None
        return stub.Stats(self.pb.StatsRequest(), timeout=30, metadata=metadata)

    def test_network_address_without_protection_is_refused(self):
        for listen in ('0.0.0.0:0', '[::]:0'):
            run = h.run_skyprobe(['--pcap', DEMO, '--hold', '--grpc-listen', listen], timeout=60)
            line = h.check_clean_error(self, run, listen, mentions=['not a loopback address'])
            self.assertIn('--grpc-insecure', line)
            self.assertIn('--grpc-token-file', line)

    def test_insecure_on_purpose_serves_and_says_so(self):
        probe = h.ServingProbe(self, ['--pcap', DEMO, '--hold', '--grpc-insecure'],
                               listen='0.0.0.0:0')
        self.assertIn('protection: NONE: no TLS, no token on a network address '
                      '(--grpc-insecure)', probe.banner)
        self.assertGreater(len(self.stats(probe).entries), 0)

    def test_short_token_is_refused_and_a_long_one_protects(self):
        short = self.token_file('short', 'hunter2\n')
        run = h.run_skyprobe(['--pcap', DEMO, '--hold', '--grpc-listen', '0.0.0.0:0',
                              '--grpc-token-file', short], timeout=60)
        line = h.check_clean_error(self, run, 'short token', mentions=['the token is 7 bytes'])
        self.assertIn('at least 16', line)

        secret = 'correct-horse-battery-staple'
        good = self.token_file('good', secret + '\n')
        probe = h.ServingProbe(self, ['--pcap', DEMO, '--hold', '--grpc-token-file', good],
                               listen='0.0.0.0:0')
        self.assertIn('protection: bearer token, no TLS', probe.banner)
        with self.assertRaises(self.grpc.RpcError) as caught:
            self.stats(probe)
        self.assertEqual(caught.exception.code(), self.grpc.StatusCode.UNAUTHENTICATED)
        self.assertGreater(len(self.stats(probe, token=secret).entries), 0)

    def test_loopback_default_says_so(self):
        probe = h.ServingProbe(self, ['--pcap', DEMO, '--hold'])
        self.assertIn('protection: loopback only, no TLS, no token', probe.banner)


if __name__ == '__main__':
    h.main()
