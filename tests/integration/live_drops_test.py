#!/usr/bin/env python3
"""Frames a live interface's ring had no room for are counted, exactly (issue 15).

The probe reads the host end of a veth pair (--iface). The test holds the
whole probe still (SIGSTOP: its workers read nothing, as a worker held busy
would), floods the pair from the namespace with more frames than the probe's
kernel rings hold, lets the probe go on (SIGCONT), waits until it has read
what the rings kept, and stops it. Oracles, none of them the probe's:

- the sender's own count of frames written (a raw AF_PACKET socket on the
  namespace's end, one sendto per frame, each checked);
- the kernel's count of frames that left the sender's end but never reached
  the probe's interface (the veth's tx_dropped, 0 in practice), so that
  sent == frames that reached the interface + those.

It asserts that every frame that reached the interface is either counted by
the probe (packets_in, each in a flow whose packets add up to it) or counted
as a drop of the port (port_imissed, and port_rx_nombuf for a frame net_pcap
took from libpcap but had no mbuf for), exactly, and that drops happened
(port_imissed > 0), in both time modes:

- --iface-time burst (net_af_packet, TPACKET_V2 rings of 4096 frames per
  socket): DPDK 22.11's PMD does not report the kernel's drops; before the
  probe counted them itself (capture/kernel_ring_drops.h) this test saw
  port_imissed = 0 with thousands of frames missing; one worker (one socket)
  and two (two sockets in a fanout group, with rollover);
- --iface-time kernel (net_pcap's live mode, libpcap's 2 MB TPACKET_V3 ring):
  net_pcap reports libpcap's drop count as imissed.

The frames are UDP/IPv4 to a MAC address that is not the host's: the host's
stack discards them without an answer, so the interface carries the flood
and nothing else (IPv6 is off on the pair, neighbours are static).

Needs root and iproute2; skipped otherwise unless SKYPROBE_REQUIRE_LIVE=1.
"""

import os
import re
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skyprobe_harness as h  # noqa: E402
from live_test import (CSUM, HOST_IF, HOST_IP, NETNS, PEER_IF, PEER_IP,  # noqa: E402
                       LiveNetwork, fresh_outputs, read_text, run, running_probe)

FLOOD_PORT = 9995
SOURCES = 16       # UDP source ports: spread over the fanout group's sockets
# More than every ring together holds: 4096 frames per net_af_packet socket
# (two sockets with two workers), about 16,000 minimum-size frames in
# libpcap's 2 MB ring.
FRAMES = 40000

# Runs inside the namespace: FRAMES frames from PEER_IF, each written whole
# (sendto returns its length) or the sender stops with an error. Prints the
# count written.
SENDER = CSUM + r'''
import socket, struct, sys
ifname, src_ip, dst_ip, port, sources, frames = sys.argv[1:7]
port, sources, frames = int(port), int(sources), int(frames)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
src_mac = s.getsockname()[4]
dst_mac = bytes.fromhex('020000000001')   # nobody's: the host drops it silently
templates = []
for i in range(sources):
    payload = b'd' * 18
    udp = struct.pack('!HHHH', 42000 + i, port, 8 + len(payload), 0) + payload
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     socket.inet_aton(src_ip), socket.inet_aton(dst_ip))
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    templates.append(dst_mac + src_mac + b'\x08\x00' + ip + udp)
sent = 0
for n in range(frames):
    frame = templates[n % sources]
    while True:
        try:
            if s.send(frame) != len(frame):
                sys.exit('short write')
            break
        except BlockingIOError:
            continue
    sent += 1
print(sent)
'''


def link_counter(name, counter, netns=None):
    prefix = ['ip', 'netns', 'exec', netns] if netns else []
    return int(run(prefix + ['cat', '/sys/class/net/%s/statistics/%s' % (name, counter)]))


def stats_lines(text):
    """The --stats-interval lines: [{counter: int}]."""
    return [{k: int(v) for k, v in re.findall(r' (\S+?)=(\d+)', line)}
            for line in text.splitlines() if line.startswith('skyprobe: stats')]


class LiveDropsTest(LiveNetwork):

    def flood_held_probe(self, extra):
        """Runs the probe on HOST_IF with `extra`, floods it while it is
        stopped, stops it once it has read the rings; returns (summary,
        flows, frames sent, frames lost before the interface)."""
        json_path, err_path = fresh_outputs('live-drops')
        args = ['--iface', HOST_IF, '--grpc-listen', 'none', '--json', json_path,
                '--stats-interval', '1'] + list(extra)
        with running_probe(self, args, err_path) as proc:
            time.sleep(0.3)
            lost_before = link_counter(PEER_IF, 'tx_dropped', NETNS)
            reached_before = link_counter(HOST_IF, 'rx_packets')
            proc.send_signal(signal.SIGSTOP)
            try:
                sent = int(run(['ip', 'netns', 'exec', NETNS, sys.executable, '-c', SENDER,
                                PEER_IF, PEER_IP, HOST_IP, str(FLOOD_PORT), str(SOURCES),
                                str(FRAMES)]))
            finally:
                proc.send_signal(signal.SIGCONT)
            lost = link_counter(PEER_IF, 'tx_dropped', NETNS) - lost_before
            reached = link_counter(HOST_IF, 'rx_packets') - reached_before
            # Wait (bounded) until the probe has accounted for every frame that
            # reached the interface, read or dropped; a frame lost silently
            # shows as a shortfall below, once the wait is over.
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                lines = stats_lines(read_text(err_path))
                if lines and (lines[-1].get('packets_in', 0) + lines[-1].get('port_imissed', 0)
                              >= reached):
                    break
                time.sleep(0.2)
            time.sleep(1.2)  # one more stats period: nothing else arrives
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(timeout=60)
        stderr = read_text(err_path)
        result = h.Run(args, rc, '', stderr, 0)
        result.summary = h.parse_summary(stderr)
        result.records = h.parse_json_lines(read_text(json_path))
        self.assertEqual(rc, 0, result.describe())
        workers = int(extra[extra.index('--workers') + 1]) if '--workers' in extra else 1
        flows = h.final_flows(self, result.records, ' '.join(extra), workers)
        h.check_counters(self, result, flows, ' '.join(extra))
        self.assertEqual(sent, FRAMES)
        self.assertEqual(sent, reached + lost,
                         'the kernel counts %d frames on %s and %d lost on %s of %d sent'
                         % (reached, HOST_IF, lost, PEER_IF, sent))
        return result, flows, sent, lost

    def check_exact(self, extra):
        label = ' '.join(extra)
        result, flows, sent, lost = self.flood_held_probe(extra)
        s = result.summary
        drops = s.get('port_imissed', 0)
        nombuf = s.get('port_rx_nombuf', 0)
        print('%s: sent %d, lost before the interface %d, probe packets_in %d, '
              'port_imissed %d, port_rx_nombuf %d'
              % (label, sent, lost, s['packets_in'], drops, nombuf), file=sys.stderr)
        # Every frame that reached the interface: read by the probe, or counted.
        self.assertEqual(sent - lost, s['packets_in'] + drops + nombuf, result.describe())
        self.assertGreater(drops, 0, '%s: the rings never overflowed: %s' % (label, s))
        self.assertEqual(s.get('port_ierrors', 0), 0, s)
        # The frames read are the flood's and nothing else: one flow per source.
        want = {(PEER_IP, HOST_IP, 42000 + i, FLOOD_PORT) for i in range(SOURCES)}
        got = {(f['Network']['A'], f['Network']['B'], f['Transport']['A'], f['Transport']['B'])
               for f in flows if f.get('Transport')}
        self.assertEqual(got, want, [h.brief(f) for f in flows])
        self.assertEqual(sum(h.metric(f, 'ABPackets') + h.metric(f, 'BAPackets')
                             for f in flows), s['packets_in'], s)
        # The drop is in the running stats as in the summary, and per port.
        self.assertEqual(stats_lines(result.stderr)[-1]['port_imissed'], drops, result.stderr)
        self.assertEqual(s.get('port0_imissed'), drops, s)
        return s

    def test_burst_time_one_worker(self):
        self.check_exact(['--iface-time', 'burst', '--workers', '1'])

    def test_burst_time_two_workers_fanout(self):
        s = self.check_exact(['--iface-time', 'burst', '--workers', '2'])
        # Both sockets read frames: the drops of a group of two were counted.
        for w in (0, 1):
            self.assertGreater(s['worker%d_packets_in' % w], 0, s)

    def test_kernel_time(self):
        self.check_exact(['--iface-time', 'kernel', '--workers', '1'])


if __name__ == '__main__':
    unittest.main()
