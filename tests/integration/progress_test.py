#!/usr/bin/env python3
"""The --pcap progress line (issue 14), looked at as a person would: skyprobe
runs in a tmux pane (a real terminal) on a slow replay (--pcap-realtime), and
the test reads the screen with capture-pane while it runs and after.

On the terminal: one progress line, at the bottom, whole (every field), its
figures moving (percent read going up to the end), never on two lines and
never in the middle of another line; --stats-interval lines above it whole;
after the run the line is gone and the summary is intact, with the frame
count read from the capture by the test. A start-up error and a ^C are shown
whole too, a probe killed with SIGKILL leaves no line behind, and SIGTERM
to the process the shell started reaches the probe. Off a terminal (pipes)
and with --no-progress: no progress line, no carriage return or escape
sequence at all. The records are those of a run
without a terminal.

Needs tmux (scripts/setup.sh --tests); missing, the test fails.
"""

import os
import re
import shlex
import shutil
import socket
import struct
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skyprobe_harness as h  # noqa: E402

FRAMES = 2000
SECONDS = 4.0  # the capture's length: --pcap-realtime replays it in about that
PROGRESS = re.compile(
    r'^skyprobe: (\d+\.\d)% of [\d.]+ [kMGT]?B \| (\S+) pkt/s \| (\S+) flows live'
    r'(?: \| (\S+) records out)? \| (\d+:\d\d|-:--) left$')


def write_capture(path):
    """FRAMES UDP frames of 40 flows, evenly spread over SECONDS."""
    with open(path, 'wb') as out:
        out.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i in range(FRAMES):
            stamp = 1_700_000_000 + SECONDS * i / FRAMES
            flow = i % 40
            payload = bytes(300)
            udp = struct.pack('!HHHH', 2000 + flow, 5000, 8 + len(payload), 0) + payload
            ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                             bytes([10, 1, 0, 1]), bytes([10, 2, 0, flow]))
            frame = bytes.fromhex('0200000000010200000000020800') + ip + udp
            sec = int(stamp)
            usec = int(round((stamp - sec) * 1e6))
            out.write(struct.pack('<IIII', sec, usec, len(frame), len(frame)) + frame)


class Tmux:
    """A private tmux server running one command in a wide pane."""

    def __init__(self, testcase, workdir, name):
        self.tmux = shutil.which('tmux')
        testcase.assertIsNotNone(self.tmux, 'tmux is needed: scripts/setup.sh --tests')
        self.socket = os.path.join(workdir, name + '.sock')
        self.session = name
        testcase.addCleanup(self.kill)

    def _cmd(self, *args, check=True):
        return subprocess.run([self.tmux, '-S', self.socket, '-f', '/dev/null'] + list(args),
                              capture_output=True, text=True, check=check)

    def start(self, command):
        # The pane stays after the command so that its screen can be read; ^C
        # is for the probe (it sets its own handler), not for this shell.
        shell = 'trap "" INT; %s; echo "EXIT=$?"; sleep 600' % command
        self._cmd('new-session', '-d', '-s', self.session, '-x', '250', '-y', '60',
                  'sh -c %s' % shlex.quote(shell))

    def keys(self, *keys):
        self._cmd('send-keys', '-t', self.session, *keys)

    def screen(self):
        """The visible pane, wrapped lines joined."""
        return self._cmd('capture-pane', '-p', '-J', '-t', self.session).stdout.splitlines()

    def history(self):
        """Everything the pane showed, scrolled-off lines included."""
        return self._cmd('capture-pane', '-p', '-J', '-S', '-', '-t',
                         self.session).stdout.splitlines()

    def kill(self):
        if os.path.exists(self.socket):
            self._cmd('kill-server', check=False)


def exit_status(lines):
    for line in lines:
        match = re.match(r'^EXIT=(\d+)$', line)
        if match:
            return int(match.group(1))
    return None


class ProgressTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dir = h.scratch_dir('progress')
        cls.pcap = os.path.join(cls.dir, 'slow.pcap')
        write_capture(cls.pcap)
        # The oracle of the frame count: the capture read back by the harness.
        cls.frames = len(h.read_pcap(cls.pcap)[1])

    def setUp(self):
        h.require_skyprobe(self)

    def watch(self, tmux, seconds=120, on_screen=None):
        """Reads the screen every 0.2 s until the command printed EXIT=;
        returns (screens with a progress line, final status)."""
        seen = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            lines = tmux.screen()
            if on_screen is not None:
                on_screen(lines)
            shown = [l for l in lines if l.startswith('skyprobe: ') and '% of ' in l]
            if shown:
                seen.append(lines)
            status = exit_status(lines)
            if status is not None:
                return seen, status
            time.sleep(0.2)
        self.fail('the run did not end within %d s:\n%s' % (seconds, '\n'.join(tmux.screen())))
        return None

    def command(self, *extra):
        return ' '.join(shlex.quote(a) for a in
                        [h.skyprobe_path(), '--pcap', self.pcap, '--pcap-realtime'] + list(extra))

    def check_screens(self, screens):
        """Each screen: exactly one progress line, whole, the last line shown."""
        lines_seen = []
        for lines in screens:
            filled = [l for l in lines if l.strip()]
            progress = [l for l in lines if '% of ' in l]
            self.assertEqual(len(progress), 1, 'one progress line:\n' + '\n'.join(lines))
            line = progress[0].rstrip()
            self.assertRegex(line, PROGRESS, 'a whole progress line')
            self.assertEqual(filled[-1].rstrip(), line, 'the progress line is at the bottom')
            lines_seen.append(line)
        return lines_seen

    def test_progress_moves_then_leaves_the_summary_intact(self):
        json_path = os.path.join(self.dir, 'tty.json')
        tmux = Tmux(self, self.dir, 'tty')
        tmux.start(self.command('--json', json_path, '--stats-interval', '1', '--update', '1'))
        screens, status = self.watch(tmux)
        self.assertEqual(status, 0, '\n'.join(tmux.history()))
        lines = self.check_screens(screens)
        percents = [float(PROGRESS.match(l).group(1)) for l in lines]
        self.assertEqual(percents, sorted(percents), 'percent read never goes back')
        self.assertGreaterEqual(len(set(lines)), 3, 'the line changes while the replay runs')
        self.assertTrue(any(0 < p < 100 for p in percents), percents)
        # Once a second of replay is behind it, a rate and a time left are shown.
        rated = [l for l in lines if PROGRESS.match(l).group(2) != '-']
        self.assertTrue(rated, lines)
        self.assertTrue(any(PROGRESS.match(l).group(5) != '-:--' for l in rated), lines)

        history = tmux.history()
        text = '\n'.join(history)
        self.assertNotIn('% of ', text, 'the progress line is erased at the end')
        summary = h.parse_summary(text)
        self.assertIsNotNone(summary, text)
        self.assertEqual(summary['packets_in'], self.frames)
        self.assertEqual(summary['packets_in_flows'], self.frames)
        start = history.index(h.SUMMARY_HEADER)
        for line in history[start + 1:]:
            if line.startswith('EXIT='):
                break
            self.assertRegex(line, r'^  \S+ -?\d+$', 'summary lines are whole')
        stats = [l for l in history if l.startswith('skyprobe: stats')]
        self.assertTrue(stats, text)
        for line in stats:
            self.assertRegex(line, r'^skyprobe: stats( \S+=\d+)+$', 'stats lines are whole')

        # The flows are those of the same replay without a terminal (their
        # final records: when an UPDATE is taken depends on the pace).
        with open(json_path, encoding='utf-8') as handle:
            tty_records = h.parse_json_lines(handle.read())
        plain = h.run_skyprobe(['--pcap', self.pcap, '--update', '1'],
                               json_path=os.path.join(self.dir, 'plain.json'))
        self.assertEqual(plain.returncode, 0, plain.describe())

        def finals(records):
            return sorted((r['UUID'], r['Metric']['ABPackets'], r['Metric']['ABBytes'],
                           r['Metric']['Start'], r['Metric']['Last'])
                          for r in records if r['Event'] == 'EXPIRE')
        self.assertEqual(len(finals(tty_records)), 40)
        self.assertEqual(finals(tty_records), finals(plain.records))

    def test_no_progress_off_a_terminal(self):
        run = h.run_skyprobe(['--pcap', self.pcap, '--pcap-realtime', '--pcap-speed', '4',
                              '--stats-interval', '1', '--json', '-'])
        self.assertEqual(run.returncode, 0, run.describe())
        for name, text in (('stderr', run.stderr), ('stdout', run.stdout)):
            self.assertNotIn('% of ', text, name)
            self.assertNotIn('\r', text, name)
            self.assertNotIn('\x1b', text, name)
        self.assertEqual(run.summary['packets_in'], self.frames)

    def test_no_progress_flag_on_a_terminal(self):
        tmux = Tmux(self, self.dir, 'noprogress')
        tmux.start(self.command('--pcap-speed', '2', '--no-progress'))
        screens, status = self.watch(tmux)
        self.assertEqual(status, 0)
        self.assertEqual(screens, [], 'no progress line with --no-progress')
        self.assertEqual(h.parse_summary('\n'.join(tmux.history()))['packets_in'], self.frames)

    def test_interrupt_erases_the_line_and_prints_the_summary(self):
        tmux = Tmux(self, self.dir, 'interrupt')
        tmux.start(self.command('--pcap-speed', '0.25'))  # 16 s: ^C comes long before the end
        interrupted = []

        def interrupt_once_shown(lines):
            if not interrupted and any('% of ' in l for l in lines):
                tmux.keys('C-c')
                interrupted.append(True)
        screens, status = self.watch(tmux, on_screen=interrupt_once_shown)
        self.assertTrue(interrupted)
        self.assertEqual(status, 0, '\n'.join(tmux.history()))
        self.check_screens(screens)
        text = '\n'.join(tmux.history())
        self.assertNotIn('% of ', text)
        summary = h.parse_summary(text)
        self.assertIsNotNone(summary, text)
        self.assertLess(summary['packets_in'], self.frames)
        self.assertEqual(summary['flows_expired'], summary['flows_created'])

    def processes(self, tmux):
        """(the process the pane's shell started, the probe): the relay
        `skyprobe-tty` and its child `skyprobe`, read from ps."""
        shell = tmux._cmd('display-message', '-p', '-t', tmux.session,
                          '#{pane_pid}').stdout.strip()

        def children(pid):
            rows = subprocess.run(['ps', '-o', 'pid=,comm=', '--ppid', str(pid)],
                                  capture_output=True, text=True).stdout.split('\n')
            return [(int(r.split()[0]), ' '.join(r.split()[1:])) for r in rows if r.strip()]
        started = children(shell)
        self.assertEqual([c for _, c in started], ['skyprobe-tty'], started)
        probe = children(started[0][0])
        self.assertEqual([c for _, c in probe], ['skyprobe'], probe)
        return started[0][0], probe[0][0]

    def signal_once_shown(self, name, target, sig):
        """A slow replay in its own pane; `sig` goes to `target` ('relay', the
        process the shell started, or 'probe') once the progress line shows.
        Returns (exit status, the pane's history)."""
        tmux = Tmux(self, self.dir, name)
        tmux.start(self.command('--pcap-speed', '0.25'))
        sent = []

        def send_once_shown(lines):
            if sent or not any('% of ' in l for l in lines):
                return
            relay, probe = self.processes(tmux)
            os.kill(relay if target == 'relay' else probe, sig)
            sent.append(target)
        _, status = self.watch(tmux, on_screen=send_once_shown)
        self.assertTrue(sent)
        return status, tmux.history()

    def test_killed_probe_leaves_no_line_behind(self):
        # SIGKILL: the probe cannot clean up; the relay sees its pipes end,
        # writes what it holds, erases the line, then ends as the probe did,
        # so the shell (which waits for the relay) writes after all of it.
        status, history = self.signal_once_shown('killed', 'probe', 9)
        self.assertEqual(status, 128 + 9)
        self.assertNotIn('% of ', '\n'.join(history))
        self.assertIn('skyprobe: capture point %s' % self.pcap, history)

    def test_sigterm_to_the_started_process_stops_the_probe(self):
        # A supervisor (timeout, kill $!) signals the process it started: the
        # relay, which passes SIGTERM on; the probe flushes its table.
        status, history = self.signal_once_shown('term', 'relay', 15)
        text = '\n'.join(history)
        self.assertEqual(status, 0, text)
        self.assertNotIn('% of ', text)
        summary = h.parse_summary(text)
        self.assertIsNotNone(summary, text)
        self.assertLess(summary['packets_in'], self.frames)
        self.assertEqual(summary['flows_expired'], summary['flows_created'])

    def test_start_up_error_is_shown_whole(self):
        # The gRPC port is taken: the probe stops after its ports started,
        # with the relay already in place.
        busy = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        busy.bind(('127.0.0.1', 0))
        busy.listen(1)
        self.addCleanup(busy.close)
        tmux = Tmux(self, self.dir, 'error')
        tmux.start(self.command('--grpc-listen', '127.0.0.1:%d' % busy.getsockname()[1]))
        _, status = self.watch(tmux)
        history = tmux.history()
        self.assertEqual(status, 1, '\n'.join(history))
        errors = [l for l in history
                  if re.match(r'^skyprobe: --grpc-listen \S+: cannot listen there', l)]
        self.assertTrue(errors, '\n'.join(history))
        self.assertNotIn('% of ', '\n'.join(history))


if __name__ == '__main__':
    h.main()
