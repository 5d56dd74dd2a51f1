#!/usr/bin/env python3
"""Capture time under bad timestamps: a year-2100 frame, corrupt pcapng stamps.

Captures written here (pcap and pcapng, python struct) hold conversations
stamped a few tenths of a second apart, with frames stamped on 2100-01-01,
at 2^63 - 1 nanoseconds' worth of microseconds and at 2^64 - 1 microseconds
among them. tshark reads the stamps back as written (the oracle for what the
files hold). The rule (docs/configuration.md, "Capture time"): such a frame
is counted in clock_jumps and taken at the latest believable time before it;
its packets still count in its flow. So every flow's Start and Last lie
within the believable stamps, the counters add up, the probe exits 0, and a
--pcap-realtime replay ends (it does not wait for 2100), in single-worker
and dispatch modes.
"""

import os
import struct
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skyprobe_harness as h  # noqa: E402

T0_US = 1_700_000_000_000_000          # 2023-11-14, microseconds
YEAR_2100_US = 4_102_444_800 * 1_000_000
AT_INT64_MAX_NS_US = (2**63 - 1) // 1000  # the last microsecond that fits in int64 ns
ALL_ONES_US = 2**64 - 1


def udp_frame(src, dst, sport, dport, payload=20):
    ip_len = 20 + 8 + payload
    ip = struct.pack('>BBHHHBBH4s4s', 0x45, 0, ip_len, 0, 0x4000, 64, 17, 0,
                     bytes([10, 0, 0, src]), bytes([10, 0, 0, dst]))
    udp = struct.pack('>HHHH', sport, dport, 8 + payload, 0)
    return (b'\x02\x00\x00\x00\x00' + bytes([dst]) + b'\x02\x00\x00\x00\x00' + bytes([src]) +
            b'\x08\x00' + ip + udp + b'\xab' * payload)


# (timestamp in microseconds, frame): flow A-B throughout, flows C and D
# each made of one frame with an impossible stamp, flow E after them.
def frames(bad_stamps):
    ab = udp_frame(1, 2, 1000, 53)
    ba = udp_frame(2, 1, 53, 1000)
    out = [(T0_US, ab), (T0_US + 100_000, ba)]
    for i, stamp in enumerate(bad_stamps):
        out.append((stamp, udp_frame(3 + i, 9, 2000 + i, 53)))
    out += [(T0_US + 200_000, ab), (T0_US + 300_000, udp_frame(7, 8, 3000, 53))]
    return out


def write_pcap(path, records):
    with open(path, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for ts, frame in records:
            f.write(struct.pack('<IIII', ts // 1_000_000, ts % 1_000_000, len(frame), len(frame)))
            f.write(frame)


def write_pcapng(path, records):
    def block(kind, body):
        body += b'\0' * (-len(body) % 4)
        total = 12 + len(body)
        return struct.pack('<II', kind, total) + body + struct.pack('<I', total)
    with open(path, 'wb') as f:
        f.write(block(0x0A0D0D0A, struct.pack('<IHHq', 0x1A2B3C4D, 1, 0, -1)))
        f.write(block(1, struct.pack('<HHI', 1, 0, 65535)))  # IDB: Ethernet, us resolution
        for ts, frame in records:
            f.write(block(6, struct.pack('<IIIII', 0, ts >> 32, ts & 0xffffffff,
                                         len(frame), len(frame)) + frame))


def tshark_stamps_us(path):
    """The stamps as tshark reads them (seconds.micro text -> integer us)."""
    out = subprocess.run([h.tshark_path(), '-r', path, '-T', 'fields', '-e', 'frame.time_epoch'],
                         capture_output=True, text=True, timeout=120, check=True)
    stamps = []
    for line in out.stdout.split():
        sec, _, frac = line.partition('.')
        stamps.append(int(sec) * 1_000_000 + int((frac + '000000')[:6]))
    return stamps


class CaptureTimeTest(unittest.TestCase):

    def setUp(self):
        h.require_skyprobe(self)

    def check(self, path, records, bad, extra, label):
        json_path = os.path.join(h.scratch_dir('capture_time'), 'flows.json')
        run = h.run_skyprobe(['--pcap', path] + list(extra), json_path=json_path, timeout=120)
        self.assertFalse(run.timed_out, run.describe())
        self.assertEqual(run.returncode, 0, run.describe())
        flows = h.final_flows(self, run.records, label)
        h.check_counters(self, run, flows, label)
        self.assertEqual(run.summary['packets_in'], len(records), label)
        self.assertEqual(run.summary['clock_jumps'], len(bad), label)
        good = [ts for ts, _ in records if ts not in bad]
        lo, hi = min(good) // 1000, max(good) // 1000
        for f in flows:
            for key in ('Start', 'Last'):
                self.assertTrue(lo <= f['Metric'][key] <= hi,
                                '%s: %s %s outside [%d, %d]: %s'
                                % (label, key, f['Metric'][key], lo, hi, h.brief(f)))
        # Each impossible frame is taken at the latest believable time before it.
        latest = 0
        for ts, frame in records:
            if ts in bad:
                src = '10.0.0.%d' % frame[29]
                mine = [f for f in flows if (f.get('Network') or {}).get('A') == src]
                self.assertEqual(len(mine), 1, '%s: flow of %s' % (label, src))
                self.assertEqual(h.flow_packets(mine[0]), 1)
                self.assertEqual(mine[0]['Metric']['Start'], latest // 1000, label)
                self.assertEqual(mine[0]['Metric']['Last'], latest // 1000, label)
            else:
                latest = max(latest, ts)
        return run

    def run_all_modes(self, path, records, bad, label):
        for extra in ([], ['--workers', '2', '--distribution', 'dispatch'],
                      ['--pcap-realtime'], ['--pcap-realtime', '--workers', '2',
                                            '--distribution', 'dispatch']):
            self.check(path, records, bad, extra, '%s %s' % (label, ' '.join(extra)))

    def test_year_2100_in_a_pcap(self):
        records = frames([YEAR_2100_US])
        path = os.path.join(h.scratch_dir('capture_time'), 'year2100.pcap')
        write_pcap(path, records)
        self.assertEqual(tshark_stamps_us(path), [ts for ts, _ in records])
        self.run_all_modes(path, records, {YEAR_2100_US}, 'pcap 2100')

    def test_corrupt_pcapng_timestamps(self):
        bad = [AT_INT64_MAX_NS_US, ALL_ONES_US, YEAR_2100_US]
        records = frames(bad)
        path = os.path.join(h.scratch_dir('capture_time'), 'corrupt.pcapng')
        write_pcapng(path, records)
        read = tshark_stamps_us(path)
        self.assertEqual(len(read), len(records))
        self.assertEqual(read[:2], [T0_US, T0_US + 100_000])  # and the bad ones as tshark can
        self.run_all_modes(path, records, set(bad), 'pcapng corrupt')


if __name__ == '__main__':
    h.main()
