#!/usr/bin/env python3
"""The mapped pcap reader (default) against net_pcap (--pcap-reader net_pcap).

Both readers must give the same records: every JSON record of a run with
the mapped reader equals, field for field, the one of a run through
net_pcap (DPDK's PMD, which reads with libpcap), and the counters agree
(packets_in, bytes_in, drops, packets_in_flows, filtered, capture points).
The readers cut the frames into bursts in different places; update ticks and
expiries inside bursts must not change a record (the default timers, and
short ones where said).

- the Skydive traces, each alone; then all of them at once (capture points in
  capture-time order) with attributes (node-tid=, capture-id=, bpf=);
- a generated capture with records cut by the snaplen, in nanosecond pcap,
  with a 100 kB frame,
  in pcapng with two interfaces of different clocks, and damaged (cut in a
  record): the damaged file's records up to the cut are the same, and the
  mapped run says where it stopped (file_errors 1, a warning line);
- --workers 2 with --pcap-queues (rss) and with dispatch, a 40 MB file in
  dispatch mode (the reader releases the mapping behind it while frames are
  in flight), and a paced replay (--pcap-realtime at a high --pcap-speed);
- every capture of the tcpdump corpus whose link type the probe decodes
  (short timers).
  One difference is expected, and checked: a frame longer than 2048 bytes
  reaches the parser whole from the mapped reader, cut to 2048 bytes through
  net_pcap's multi-segment mbufs (see assert_same_but_long_frames).

Runs go through a pool of 4 processes.
"""

import concurrent.futures
import csv
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skyprobe_harness as h  # noqa: E402

SUPPORTED_DLTS = {0, 1, 12, 101, 113, 228, 229}
POOL_SIZE = h.RUNS_AT_ONCE
MAX_FLOWS = '65536'
# Bytes of a multi-segment frame the worker parses (RxWorker::kLinearMax).
LINEAR_MAX = 2048
COUNTERS = ('packets_in', 'bytes_in', 'packets_in_flows', 'filtered',
            'drops', 'flows_created')


# Short timers: update ticks every second and expiries two seconds after a
# flow's last frame, so that many fall inside the readers' bursts (the
# worker does each at the first frame at or past its time, wherever the
# bursts were cut: rx_worker.cc FinishBurst).
SHORT_TIMERS = ['--update', '1', '--expire', '2', '--tcp-close-hold-ms', '300']


def canonical(records):
    """Records as sorted JSON strings (output order may differ at a tie)."""
    return sorted(json.dumps(r, sort_keys=True) for r in records)


def both(args, workdir, tag):
    """Runs the probe with each reader; returns (mapped run, net_pcap run)."""
    runs = []
    for reader in ('mapped', 'net_pcap'):
        path = os.path.join(workdir, '%s.%s.json' % (tag, reader))
        run = h.run_skyprobe(list(args) + ['--pcap-reader', reader,
                                           '--max-flows', MAX_FLOWS],
                             json_path=path, timeout=120)
        if os.path.exists(path):
            os.unlink(path)
        runs.append(run)
    return runs


def write_pcap(path, frames, nanos=False, snaplen=65535, big=False):
    """frames: (seconds, fraction, data, wire length)."""
    e = '>' if big else '<'
    magic = 0xa1b23c4d if nanos else 0xa1b2c3d4
    with open(path, 'wb') as out:
        out.write(struct.pack(e + 'IHHiIII', magic, 2, 4, 0, 0, snaplen, 1))
        for sec, frac, data, wire in frames:
            out.write(struct.pack(e + 'IIII', sec, frac, len(data), wire))
            out.write(data)


def write_pcapng(path, frames):
    """frames: (interface, ticks, data); interface 0 in us, 1 in ns."""
    def block(kind, body):
        body += b'\0' * (-len(body) % 4)
        return struct.pack('<II', kind, len(body) + 12) + body + \
            struct.pack('<I', len(body) + 12)
    out = block(0x0a0d0d0a, struct.pack('<IHHq', 0x1a2b3c4d, 1, 0, -1))
    out += block(1, struct.pack('<HHI', 1, 0, 0) + struct.pack('<HH', 0, 0))
    out += block(1, struct.pack('<HHI', 1, 0, 0) +
                 struct.pack('<HHB3x', 9, 1, 9) + struct.pack('<HH', 0, 0))
    for iface, ticks, data in frames:
        out += block(6, struct.pack('<IIIII', iface, ticks >> 32,
                                    ticks & 0xffffffff, len(data), len(data))
                     + data)
    with open(path, 'wb') as handle:
        handle.write(out)


def tcp_frame(i, payload=0):
    """An Ethernet/IPv4/TCP frame of flow i (a few flows), with payload bytes."""
    ip_len = 20 + 20 + payload
    eth = bytes.fromhex('020000000001020000000002') + b'\x08\x00'
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, ip_len, i, 0, 64, 6, 0,
                     bytes([10, 0, 0, 1 + i % 5]), bytes([10, 0, 1, 1]))
    tcp = struct.pack('!HHIIBBHHH', 1000 + i % 5, 80, i, 0, 0x50, 0x18, 1000,
                      0, 0)
    return eth + ip + tcp + bytes(payload)


class PcapReaderTest(unittest.TestCase):
    """Mapped reader == net_pcap, record for record."""

    maxDiff = None

    def assert_same(self, mapped, net_pcap, label, damaged=False,
                    long_frames=False):
        for run in (mapped, net_pcap):
            self.assertFalse(run.timed_out, label)
            self.assertEqual(run.returncode, 0, '%s: %s' % (label,
                                                            run.describe()))
        self.assertIsNotNone(mapped.records, label)
        if long_frames:
            self.assert_same_but_long_frames(mapped, net_pcap, label)
        else:
            self.assertEqual(canonical(mapped.records),
                             canonical(net_pcap.records), label)
        for name in COUNTERS:
            self.assertEqual(mapped.summary.get(name),
                             net_pcap.summary.get(name),
                             '%s: %s' % (label, name))
        points = {k: v for k, v in net_pcap.summary.items()
                  if k.startswith('capture.')}
        for name, value in points.items():
            self.assertEqual(mapped.summary.get(name), value,
                             '%s: %s' % (label, name))
        if not damaged:
            self.assertEqual(mapped.summary.get('file_errors'), 0, label)

    def assert_same_but_long_frames(self, mapped, net_pcap, label):
        """A capture with frames longer than LINEAR_MAX: the one difference.

        net_pcap hands such a frame over in several mbuf segments, of which
        the worker parses the first LINEAR_MAX bytes (rx_worker.h); the mapped
        reader gives it whole. A frame cut by the snaplen (its wire length
        unknown) that is no IP packet then counts its captured bytes: all of
        them with the mapped reader, LINEAR_MAX through net_pcap. Records
        must be equal but for AB/BA bytes, never fewer with the mapped reader.
        """
        def split(records):
            rest, sizes = [], []
            for r in records:
                r = json.loads(json.dumps(r))
                got = []
                for part in ('Metric', 'LastUpdateMetric'):
                    m = r.get(part, {})
                    got.append((m.pop('ABBytes', 0), m.pop('BABytes', 0)))
                rest.append(json.dumps(r, sort_keys=True))
                sizes.append(got)
            order = sorted(range(len(rest)), key=lambda i: rest[i])
            return [rest[i] for i in order], [sizes[i] for i in order]
        m_rest, m_sizes = split(mapped.records)
        n_rest, n_sizes = split(net_pcap.records)
        self.assertEqual(m_rest, n_rest, label)
        for got, want in zip(m_sizes, n_sizes):
            for (mab, mba), (nab, nba) in zip(got, want):
                self.assertGreaterEqual(mab, nab, label)
                self.assertGreaterEqual(mba, nba, label)

    def test_skydive_traces(self):
        """Each trace alone, then all at once as capture points."""
        h.require_skyprobe(self)
        folder = h.shared_dir('skydive')
        names = sorted(n for n in os.listdir(folder) if n.endswith('.pcap'))
        self.assertGreater(len(names), 10)
        with tempfile.TemporaryDirectory() as workdir:
            for name in names:
                mapped, net_pcap = both(['--pcap', os.path.join(folder, name)],
                                        workdir, name)
                with self.subTest(trace=name):
                    self.assertNotIn('read through net_pcap', mapped.stderr)
                    self.assert_same(mapped, net_pcap, name)
            args = []
            for i, name in enumerate(names):
                spec = os.path.join(folder, name)
                if i % 3 == 1:
                    spec += ',node-tid=n%d,capture-id=c%d' % (i, i)
                elif i % 3 == 2:
                    spec += ',bpf=tcp or icmp'
                args += ['--pcap', spec]
            mapped, net_pcap = both(args, workdir, 'all')
            self.assert_same(mapped, net_pcap, 'all traces as capture points')
            self.assertGreater(len(mapped.records), 50)
            mapped, net_pcap = both(args + SHORT_TIMERS, workdir, 'short')
            self.assert_same(mapped, net_pcap, 'all traces, short timers')
            self.assertGreater(
                sum(r['Event'] == 'UPDATE' for r in mapped.records), 50)

    def test_generated_files(self):
        """Snaplen cuts, nanoseconds, pcapng, a damaged file, workers, pacing."""
        h.require_skyprobe(self)
        with tempfile.TemporaryDirectory() as workdir:
            frames = [(1700000000 + i // 10, (i * 37) % 1000000,
                       tcp_frame(i, 300 + i), 54 + 300 + i)
                      for i in range(200)]
            cut = os.path.join(workdir, 'cut.pcap')
            # Snaplen 128: every frame is cut (its wire length stays).
            write_pcap(cut, [(s, f, d[:128], w) for s, f, d, w in frames],
                       snaplen=128)
            nanos = os.path.join(workdir, 'nanos.pcap')
            write_pcap(nanos, [(s, f * 1000 + 999, d, w)
                               for s, f, d, w in frames], nanos=True, big=True)
            ng = os.path.join(workdir, 'two-clocks.pcapng')
            write_pcapng(ng, [(i % 2, (1700000000 * 10 ** (6 + 3 * (i % 2)))
                               + i * 10 ** (3 + 3 * (i % 2)), tcp_frame(i, i))
                              for i in range(100)])
            damaged = os.path.join(workdir, 'damaged.pcap')
            write_pcap(damaged, frames)
            with open(damaged, 'r+b') as handle:
                handle.truncate(os.path.getsize(damaged) - 100)
            # A 100 kB frame (more than one mbuf segment can say: a chain of
            # attached buffers), between two small ones.
            huge = os.path.join(workdir, 'huge.pcap')
            big = tcp_frame(2, 1000) + bytes(99000)
            write_pcap(huge, [(1700000000, 1, tcp_frame(1, 10), 64),
                              (1700000000, 2, big, len(big)),
                              (1700000000, 3, tcp_frame(3, 10), 64)],
                       snaplen=262144)
            for path in (cut, nanos, ng, huge):
                mapped, net_pcap = both(['--pcap', path], workdir, 'gen')
                self.assert_same(mapped, net_pcap, path)
                self.assertGreater(mapped.summary['packets_in'],
                                   2 if path == huge else 99)
            mapped, net_pcap = both(['--pcap', damaged], workdir, 'damaged')
            self.assert_same(mapped, net_pcap, 'damaged', damaged=True)
            self.assertEqual(mapped.summary['packets_in'], 199)
            self.assertEqual(mapped.summary['file_errors'], 1)
            self.assertIn('truncated record', mapped.stderr)
            # Several workers: rss over file queues, then dispatch.
            # Two files of one snaplen (queues of one port with --pcap-queues).
            cut2 = os.path.join(workdir, 'cut2.pcap')
            write_pcap(cut2, [(s + 5, f, tcp_frame(i + 7, 200)[:128], w)
                              for i, (s, f, _, w) in enumerate(frames)],
                       snaplen=128)
            two = ['--pcap', cut, '--pcap', cut2, '--workers', '2']
            for extra in (['--pcap-queues'], ['--distribution', 'dispatch']):
                mapped, net_pcap = both(two + extra, workdir, 'workers')
                self.assert_same(mapped, net_pcap, ' '.join(extra))
            # A file of 40 MB: the mapped reader lets go of what lies behind
            # it (MADV_DONTNEED) while a dispatch ring still holds frames.
            large = os.path.join(workdir, 'large.pcap')
            write_pcap(large, [(1700000000 + i // 1000, i % 1000,
                                tcp_frame(i % 4000, 100 + i % 50), 154 + i % 50)
                               for i in range(220000)])
            self.assertGreater(os.path.getsize(large), 40 << 20)
            mapped, net_pcap = both(['--pcap', large], workdir, 'large')
            self.assert_same(mapped, net_pcap, 'large file')
            self.assertEqual(mapped.summary['packets_in'], 220000)
            # Dispatch mode: the dispatcher's clock marks reach each worker
            # at their frames' places in the capture, wherever the reader
            # cut its bursts: the same records, update windows included.
            mapped, net_pcap = both(['--pcap', large, '--workers', '2',
                                     '--distribution', 'dispatch'], workdir,
                                    'large-dispatch')
            self.assert_same(mapped, net_pcap, 'large file, dispatch')
            # Its 5 conversations, each touched in each of the 3 windows that
            # close inside the 220 s (ticks at 60, 120 and 180 s).
            self.assertEqual(
                sum(r['Event'] == 'UPDATE' for r in mapped.records), 15)
            mapped, net_pcap = both(['--pcap', ng, '--pcap-realtime',
                                     '--pcap-speed', '1000'], workdir, 'paced')
            self.assert_same(mapped, net_pcap, 'paced')

    def test_a_file_cut_while_it_is_read(self):
        """Another program cuts the file short during a paced replay (ahead of
        the reader): the probe used to die of SIGBUS reading the mapping past
        the new end. Now it reads every frame before the cut, says where and
        why it stopped, and counts the file's error. The oracle is tshark on
        the file as it is after the cut. Cut inside a record, then between
        two records (the file then ends cleanly, yet it was cut: said too)."""
        tshark = h.tshark_path()
        record = 16 + len(tcp_frame(0, 46))
        frames = [(1700000000 + i // 1000, i % 1000 * 1000, tcp_frame(i, 46), 100)
                  for i in range(20000)]  # 20 s of capture, 2.4 MB
        with tempfile.TemporaryDirectory() as workdir:
            for label, cut in (('inside a record', 24 + 12000 * record + 40),
                               ('between records', 24 + 12000 * record)):
                path = os.path.join(workdir, 'cut.pcap')
                write_pcap(path, frames)
                err_path = os.path.join(workdir, 'stderr.txt')
                with open(err_path, 'wb') as err:
                    proc = subprocess.Popen(
                        [h.skyprobe_path(), '--pcap', path, '--pcap-realtime', '--pcap-speed',
                         '5', '--max-flows', MAX_FLOWS], stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL, stderr=err)
                # A second into the 4 s replay: the reader is near frame 5000,
                # the cut at frame 12000.
                time.sleep(1)
                os.truncate(path, cut)
                self.assertEqual(proc.wait(timeout=60), 0, label)
                with open(err_path) as err:
                    stderr = err.read()
                shown = subprocess.run([tshark, '-r', path, '-T', 'fields', '-e',
                                        'frame.number'], capture_output=True, text=True)
                expected = len(shown.stdout.split())
                self.assertEqual(expected, 12000, shown.stderr)
                summary = h.parse_summary(stderr)
                self.assertEqual(summary.get('packets_in'), expected, label + '\n' + stderr)
                self.assertEqual(summary.get('file_errors'), 1, label)
                self.assertIn('the file was cut to %d bytes while being read' % cut, stderr,
                              label)
                self.assertIn('byte %d (after 12000 frames)' % (24 + 12000 * record), stderr,
                              label)

    def test_tcpdump_corpus(self):
        """Every capture of a decoded link type, both readers."""
        h.require_skyprobe(self)
        folder = h.shared_dir('tcpdump')
        with open(os.path.join(folder, 'index.tsv'), encoding='utf-8') as f:
            index = {r['name']: r for r in csv.DictReader(f, delimiter='\t')}
        names = sorted(n for n, r in index.items()
                       if r['linktype'].lstrip('-').isdigit()
                       and int(r['linktype']) in SUPPORTED_DLTS
                       and os.path.exists(os.path.join(folder, n)))
        self.assertGreater(len(names), 400)
        with tempfile.TemporaryDirectory() as workdir, \
                concurrent.futures.ThreadPoolExecutor(POOL_SIZE) as pool:
            futures = {n: pool.submit(both, ['--pcap', os.path.join(folder, n)]
                                      + SHORT_TIMERS, workdir, n)
                       for n in names}
            mapped_files = 0
            for name in names:
                mapped, net_pcap = futures[name].result()
                with self.subTest(capture=name):
                    if net_pcap.returncode != 0:
                        # Refused at start-up (libpcap cannot open it): the
                        # same refusal whatever the reader.
                        self.assertNotEqual(mapped.returncode, 0, name)
                        continue
                    long_frames = h.libpcap_scan(
                        os.path.join(folder, name)).max_caplen > LINEAR_MAX
                    self.assert_same(mapped, net_pcap, name, damaged=True,
                                     long_frames=long_frames)
                    if 'read through net_pcap' not in mapped.stderr:
                        mapped_files += 1
            # The reader takes most of the corpus on (the rest: old pcap
            # versions, byte-swapped Linux cooked captures).
            self.assertGreater(mapped_files, len(names) * 3 // 4)


if __name__ == '__main__':
    h.main()
