#!/usr/bin/env python3
"""Secure defaults of the gRPC service (issue 9, item 5) on the real probe.

- A non-loopback --grpc-listen without TLS or a token is refused at start,
  in one line naming the way out; with --grpc-insecure it serves, and the
  start-up line says it is unprotected.
- A token shorter than 16 bytes is refused at start; a long one protects a
  network address: calls without it are UNAUTHENTICATED, with it they work.
- The loopback default says so on the start-up line.
- Issue 15 item 5: a bad certificate or key is named as such (exit 2); TLS
  failures seen by skyprobectl say what is missing, in one line.
"""

import os
import shutil
import subprocess
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

    def make_cert(self, name, cn='localhost'):
        """A self-signed certificate and its key (openssl), for 127.0.0.1."""
        openssl = shutil.which('openssl')
        self.assertIsNotNone(openssl, 'openssl is needed (scripts/setup.sh --tests)')
        cert = os.path.join(self.dir, name + '-cert.pem')
        key = os.path.join(self.dir, name + '-key.pem')
        subprocess.run([openssl, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key,
                        '-out', cert, '-days', '2', '-subj', '/CN=' + cn, '-addext',
                        'subjectAltName=DNS:localhost,IP:127.0.0.1'],
                       check=True, capture_output=True)
        return cert, key

    def test_bad_certificate_or_key_is_named(self):
        cert, key = self.make_cert('a')
        _, other_key = self.make_cert('b')
        garbage = self.token_file('garbage.pem', 'not a pem file\n')
        cases = [
            (garbage, key, '--grpc-tls-cert %s: not a certificate' % garbage),
            (cert, garbage, '--grpc-tls-key %s: not a private key' % garbage),
            (cert, other_key, '--grpc-tls-key %s: not the key of the certificate' % other_key),
            (key, cert, '--grpc-tls-cert %s: not a certificate' % key),
        ]
        for c, k, expected in cases:
            run = h.run_skyprobe(['--pcap', DEMO, '--hold', '--grpc-listen', '127.0.0.1:0',
                                  '--grpc-tls-cert', c, '--grpc-tls-key', k], timeout=60)
            line = h.check_clean_error(self, run, expected, mentions=[expected])
            self.assertEqual(run.returncode, 2, line)
            self.assertNotIn('cannot listen', line)

    def test_tls_failures_say_what_is_missing(self):
        cert, key = self.make_cert('server')
        ccert, ckey = self.make_cert('client')
        ctl = h.ctl_path()

        def ctl_stats(probe, *extra):
            out = subprocess.run([ctl, 'stats', '--interval', '0', '--timeout', '10',
                                  '--probe', probe.address] + list(extra),
                                 capture_output=True, text=True, timeout=60)
            lines = out.stderr.splitlines()
            return out.returncode, lines

        tls = h.ServingProbe(self, ['--pcap', DEMO, '--hold', '--grpc-tls-cert', cert,
                                    '--grpc-tls-key', key])
        self.assertIn('protection: TLS', tls.banner)
        rc, lines = ctl_stats(tls)
        self.assertEqual((rc, len(lines)), (1, 1), lines)
        self.assertIn('it requires TLS (--tls-ca FILE)', lines[0])
        rc, lines = ctl_stats(tls, '--tls-ca', cert)
        self.assertEqual(rc, 0, lines)

        mutual = h.ServingProbe(self, ['--pcap', DEMO, '--hold', '--grpc-tls-cert', cert,
                                       '--grpc-tls-key', key, '--grpc-tls-client-ca', ccert])
        self.assertIn('protection: mutual TLS', mutual.banner)
        rc, lines = ctl_stats(mutual, '--tls-ca', cert)
        self.assertEqual((rc, len(lines)), (1, 1), lines)
        self.assertIn('requires a client certificate (--tls-cert FILE --tls-key FILE)', lines[0])
        rc, lines = ctl_stats(mutual, '--tls-ca', cert, '--tls-cert', ccert, '--tls-key', ckey)
        self.assertEqual(rc, 0, lines)

        plain = h.ServingProbe(self, ['--pcap', DEMO, '--hold'])
        rc, lines = ctl_stats(plain, '--tls-ca', cert)
        self.assertEqual((rc, len(lines)), (1, 1), lines)
        self.assertIn('does not speak TLS', lines[0])

    def test_loopback_default_says_so(self):
        probe = h.ServingProbe(self, ['--pcap', DEMO, '--hold'])
        self.assertIn('protection: loopback only, no TLS, no token', probe.banner)


if __name__ == '__main__':
    h.main()
