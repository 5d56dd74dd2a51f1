#!/usr/bin/env python3
"""`skyprobectl top` as a person uses it: in a terminal (tmux: send-keys,
capture-pane), against a probe replaying a capture at its recorded pace
(--pcap-realtime, --hold).

The capture, written here, holds three UDP flows over 60 s: HEAVY sends
1000-byte frames 50 times a second (400 kb/s), BURST sends 2 MB in its first
half second then one small frame a second, LIGHT 100-byte frames 20 times a
second (16 kb/s). Checked:

- by bit rate (the default), HEAVY is on the first line of the table, with a
  rate the test computes from its own capture (within the interval's error);
- `t` sorts by total bytes: BURST comes first; `p` by packet rate: HEAVY
  first again (50 > 20 > 1 frames a second); the header names each sort;
- space pauses (the header says so) and resumes; `q` quits with status 0
  and the terminal is given back (the shell prompt answers);
- the header shows the probe's packet rate, its drops and its table;
- not a terminal: one plain snapshot, HEAVY first, no escape sequences.
"""

import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skyprobe_harness as h  # noqa: E402

SECONDS = 60
HEAVY = ('10.9.0.1', 1000, '10.9.0.2', 2000)
BURST = ('10.9.0.3', 1001, '10.9.0.4', 2001)
LIGHT = ('10.9.0.5', 1002, '10.9.0.6', 2002)


def frame(src, sport, dst, dport, size):
    """An Ethernet/IPv4/UDP frame of `size` bytes (checksums left 0: the probe
    does not check them)."""
    payload = b'\0' * (size - 14 - 20 - 8)
    udp = struct.pack('!HHHH', sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     bytes(map(int, src.split('.'))), bytes(map(int, dst.split('.')))) + udp
    return b'\x02\0\0\0\0\x02' + b'\x02\0\0\0\0\x01' + b'\x08\x00' + ip


def write_capture(path):
    t0 = 1_700_000_000 * 1_000_000
    events = []
    for i in range(SECONDS * 50):
        events.append((t0 + i * 20_000, frame(*HEAVY, 1000)))
    for i in range(2000):
        events.append((t0 + 1_000 + i * 250, frame(*BURST, 1000)))
    for s in range(1, SECONDS):
        events.append((t0 + s * 1_000_000 + 7, frame(*BURST, 60)))
    for i in range(SECONDS * 20):
        events.append((t0 + 3 + i * 50_000, frame(*LIGHT, 100)))
    events.sort(key=lambda e: e[0])
    with open(path, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for ts, data in events:
            f.write(struct.pack('<IIII', ts // 1_000_000, ts % 1_000_000, len(data), len(data)))
            f.write(data)


def endpoint(flow):
    return '%s:%d' % (flow[0], flow[1])


def first_row(screen):
    """The first flow line of a top screen (the line after the RATE header)."""
    lines = screen.splitlines()
    for i, line in enumerate(lines):
        if line.lstrip().startswith('RATE'):
            return lines[i + 1] if i + 1 < len(lines) else ''
    return None


class TopTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='skyprobe_top_')
        cls.pcap = os.path.join(cls.tmp, 'three.pcap')
        write_capture(cls.pcap)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        h.require_skyprobe(self)
        if not os.path.exists(h.ctl_path()):
            self.fail('skyprobectl not built at %s' % h.ctl_path())
        self.probe = h.ServingProbe(self, ['--pcap', self.pcap, '--pcap-realtime', '--hold'])
        # Past BURST's burst (its first half second) and its first slow frame
        # (at 1 s): from then on, rates are the steady ones above.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            out = subprocess.run([h.ctl_path(), 'flows', '--format', 'csv', '--columns',
                                  'Transport.A,Metric.ABPackets', '--probe', self.probe.address],
                                 capture_output=True, text=True, timeout=60)
            counts = dict(line.split(',') for line in out.stdout.splitlines()[1:])
            if int(counts.get(str(BURST[1]), 0)) >= 2001:
                break
            time.sleep(0.1)
        else:
            self.fail('the replay never got past the burst')

    def test_not_a_terminal_prints_one_snapshot(self):
        out = subprocess.run([h.ctl_path(), 'top', '--probe', self.probe.address, '--interval',
                              '1', '--limit', '3'], capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertNotIn('\x1b', out.stdout)
        self.assertIn(endpoint(HEAVY), first_row(out.stdout), out.stdout)
        rows = out.stdout.splitlines()
        self.assertEqual(len(rows), 3 + 1 + 3, out.stdout)  # header, table header, 3 flows
        self.assertRegex(rows[1], r'^packets \S+/s  traffic .*b/s  drops 0 \(0\.0/s\)  flows 3 live '
                         r'of 1\.05M \(0\.0 % of the table\)$')

    def test_in_a_terminal(self):
        tmux = shutil.which('tmux')
        if tmux is None:
            self.fail('tmux is needed for this test (scripts/setup.sh --tests)')
        sock = os.path.join(self.tmp, 'tmux-%d' % os.getpid())
        session = 'top'

        def tm(*args, check=True):
            return subprocess.run([tmux, '-S', sock] + list(args), capture_output=True,
                                  text=True, timeout=30, check=check)

        def screen():
            return tm('capture-pane', '-p', '-t', session).stdout

        def wait_for(pred, what, seconds=30):
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                s = screen()
                if pred(s):
                    return s
                time.sleep(0.2)
            self.fail('%s never showed; the screen:\n%s' % (what, screen()))

        tm('new-session', '-d', '-s', session, '-x', '160', '-y', '30', 'sh')
        self.addCleanup(lambda: tm('kill-server', check=False))
        tm('send-keys', '-t', session,
           '%s top --probe %s --interval 1; echo TOP-EXIT=$?' % (h.ctl_path(), self.probe.address),
           'Enter')

        def heavy_first(s):
            row = first_row(s)
            return row is not None and endpoint(HEAVY) in row and 'b/s' in row

        s = wait_for(heavy_first, 'HEAVY on the first line by bit rate')
        self.assertIn('sort: bit rate', s)
        # HEAVY's rate: 50 frames of 1000 bytes a second, 400 kb/s (the
        # interval between two answers is measured by the client, give or take).
        rate = re.match(r'\s*(\d+(?:\.\d+)?) kb/s', first_row(s))
        self.assertIsNotNone(rate, first_row(s))
        self.assertTrue(300 <= float(rate.group(1)) <= 500, first_row(s))
        self.assertRegex(s, r'(?m)^packets \S+/s  traffic .*  drops 0 .* flows 3 live of ')
        tm('send-keys', '-t', session, 't')
        s = wait_for(lambda s: 'sort: total bytes' in s and endpoint(BURST) in (first_row(s) or ''),
                     'BURST first by total bytes')
        tm('send-keys', '-t', session, 'p')
        wait_for(lambda s: 'sort: packet rate' in s and endpoint(HEAVY) in (first_row(s) or ''),
                 'HEAVY first by packet rate')
        tm('send-keys', '-t', session, 'Space')
        wait_for(lambda s: '[PAUSED]' in s, 'the pause')
        tm('send-keys', '-t', session, 'Space')
        wait_for(lambda s: '[PAUSED]' not in s and 'sort: packet rate' in s, 'the end of the pause')
        tm('send-keys', '-t', session, 'q')
        wait_for(lambda s: 'TOP-EXIT=0' in s, 'top quitting with status 0')


if __name__ == '__main__':
    unittest.main(verbosity=2)
