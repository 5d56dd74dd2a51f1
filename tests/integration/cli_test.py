#!/usr/bin/env python3
"""Command-line behaviour of skyprobe: clean one-line errors and --help.

A user mistake must give a non-zero exit and exactly one line on stderr that
names the culprit, with no DPDK "EAL:" chatter, no stack dump and no signal.
"""

import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skyprobe_harness as h  # noqa: E402


def demo_pcap():
    """The committed demo capture (always present in the source tree)."""
    return os.path.join(h.source_root(), 'tests', 'data', 'demo.pcap')


class CliTest(unittest.TestCase):
    """Error paths and help of the skyprobe command line."""

    def setUp(self):
        h.require_skyprobe(self)

    def refuse(self, args, mentions):
        """Run skyprobe with args and expect a clean one-line refusal."""
        with tempfile.TemporaryDirectory() as tmp:
            run = h.run_skyprobe(args, json_path=os.path.join(tmp, 'f.json'),
                                 timeout=30)
        return h.check_clean_error(self, run, 'skyprobe %s' % ' '.join(args),
                                   mentions)

    def test_unknown_flag(self):
        """An unknown flag is named."""
        self.refuse(['--pcap', demo_pcap(), '--no-such-flag'],
                    ['--no-such-flag', 'no-such-flag'])

    def test_missing_pcap(self):
        """A pcap that does not exist is named."""
        path = '/nonexistent/dir/missing.pcap'
        self.refuse(['--pcap', path], [path])

    def test_expire_not_a_number(self):
        """--expire abc names the flag."""
        self.refuse(['--pcap', demo_pcap(), '--expire', 'abc'],
                    ['--expire', 'expire'])

    def test_update_not_a_number(self):
        """--update xyz names the flag."""
        self.refuse(['--pcap', demo_pcap(), '--update', 'xyz'],
                    ['--update', 'update'])

    def test_bad_key_mode(self):
        """--key-mode accepts L2 and L3 only."""
        self.refuse(['--pcap', demo_pcap(), '--key-mode', 'L4'],
                    ['--key-mode', 'key-mode', 'key mode'])

    def test_bad_overload_policy(self):
        """--overload accepts drop-new and evict-oldest only."""
        self.refuse(['--pcap', demo_pcap(), '--overload', 'explode'],
                    ['--overload', 'overload'])

    def test_unsupported_link_type_override(self):
        """--link-type 127 (radiotap) is not decoded."""
        self.refuse(['--pcap', demo_pcap(), '--link-type', '127'],
                    ['127'])

    def test_not_a_pcap(self):
        """A file that is not a capture is refused cleanly."""
        with tempfile.NamedTemporaryFile('w', suffix='.pcap') as bogus:
            bogus.write('this is not a capture file\n' * 8)
            bogus.flush()
            self.refuse(['--pcap', bogus.name], [bogus.name])

    def test_help(self):
        """--help exits 0 and documents --pcap."""
        run = h.run_skyprobe(['--help'], timeout=30)
        self.assertEqual(run.returncode, 0, run.describe())
        self.assertIn('--pcap', run.stdout + run.stderr)
        self.assertEqual(h.stderr_noise(run.stderr), [], run.describe())


if __name__ == '__main__':
    h.main()
