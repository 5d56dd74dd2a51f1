#!/usr/bin/env python3
"""Live capture with --iface on one end of a veth pair: net_pcap's live mode
(--iface-time kernel, the default) and net_af_packet (--iface-time burst).

The test owns a network namespace and a veth pair (10.x addresses that exist
only on that pair), starts skyprobe on the host end, sends known traffic from
the namespace (UDP datagrams echoed by a server in this process, ICMP echo
requests answered by the kernel, a few TCP connections), stops skyprobe with
SIGTERM and checks every flow: one record per conversation (with 2 workers the
kernel's symmetric PACKET_FANOUT_HASH, or the dispatcher, must keep both
directions on one worker), packets both ways and bytes equal to the frames'
wire lengths, times within the run (live_time_test.py holds them to dumpcap's). IPv6 is disabled and neighbours are static on the pair,
so little else appears there (ARP is tolerated).

Needs root and iproute2; skipped otherwise unless SKYPROBE_REQUIRE_LIVE=1.
"""

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skyprobe_harness as h  # noqa: E402

PID = os.getpid()
NETNS = 'skyprobe-test-%d' % PID
HOST_IF = 'spl%d' % (PID % 10**7)      # interface names stay under 16 bytes
PEER_IF = 'spn%d' % (PID % 10**7)
SUBNET = 10 + PID % 200
HOST_IP = '10.213.%d.1' % SUBNET
PEER_IP = '10.213.%d.2' % SUBNET
UDP_PORT = 9999
TCP_PORT = 9998
UDP_SOURCES = 16          # spread over the fanout queues
UDP_PER_FLOW = 3
ICMP_COUNT = 5
ICMP_PAYLOAD = 56
TCP_CONNECTIONS = 4

# The Internet checksum (RFC 1071), for the scripts below that write ICMP or
# IP headers themselves: each starts with it.
CSUM = r'''
import struct
def csum(data):
    if len(data) % 2:
        data += b'\0'
    total = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xffff)
    total += total >> 16
    return ~total & 0xffff
'''

# Runs inside the namespace: the UDP, ICMP and TCP clients.
CLIENT = CSUM + r'''
import socket, struct, sys
host, udp_port, tcp_port, peer = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
sources, per_flow, icmp_count, icmp_payload, tcp_n = map(int, sys.argv[5:10])
for i in range(sources):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((peer, 40000 + i))
    s.settimeout(5)
    for _ in range(per_flow):
        s.sendto(b'u' * (100 + i), (host, udp_port))
        s.recvfrom(4096)
    s.close()
icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
icmp.settimeout(5)
for seq in range(1, icmp_count + 1):
    body = b'p' * icmp_payload
    hdr = struct.pack('!BBHHH', 8, 0, 0, 0x5ca1, seq)
    hdr = struct.pack('!BBHHH', 8, 0, csum(hdr + body), 0x5ca1, seq)
    icmp.sendto(hdr + body, (host, 0))
    while True:
        reply = icmp.recv(4096)
        ihl = (reply[0] & 15) * 4
        if reply[ihl] == 0 and struct.unpack('!HH', reply[ihl + 4:ihl + 8]) == (0x5ca1, seq):
            break
for i in range(tcp_n):
    c = socket.create_connection((host, tcp_port), timeout=5, source_address=(peer, 41000 + i))
    c.sendall(b't' * 200)
    c.shutdown(socket.SHUT_WR)
    while c.recv(4096):
        pass
    c.close()
'''


def read_text(path):
    with open(path, errors='replace') as handle:
        return handle.read()


def run(cmd, check=True):
    """Run a command quietly; raise with its output when it fails."""
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError('%s failed (%d): %s' % (' '.join(cmd), proc.returncode,
                                                      proc.stderr.strip()))
    return proc.stdout


def require_live():
    """Skip (or fail with SKYPROBE_REQUIRE_LIVE=1) without root or iproute2."""
    reason = None
    if os.geteuid() != 0:
        reason = 'not root: live capture tests did not run (namespaces and veth need root)'
    elif shutil.which('ip') is None:
        reason = 'ip (iproute2) not found: live capture tests did not run'
    if reason:
        if h.env_flag('SKYPROBE_REQUIRE_LIVE'):
            raise AssertionError(reason)
        raise unittest.SkipTest(reason)


class Servers:
    """UDP echo and TCP servers on the host end of the veth pair."""

    def __init__(self):
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind((HOST_IP, UDP_PORT))
        self.udp.settimeout(0.2)
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind((HOST_IP, TCP_PORT))
        self.tcp.listen(8)
        self.tcp.settimeout(0.2)
        self.stopping = False
        self.threads = [threading.Thread(target=self.serve_udp, daemon=True),
                        threading.Thread(target=self.serve_tcp, daemon=True)]
        for t in self.threads:
            t.start()

    def serve_udp(self):
        while not self.stopping:
            try:
                data, peer = self.udp.recvfrom(4096)
            except socket.timeout:
                continue
            self.udp.sendto(data, peer)

    def serve_tcp(self):
        while not self.stopping:
            try:
                conn, _ = self.tcp.accept()
            except socket.timeout:
                continue
            with conn:
                conn.settimeout(5)
                while conn.recv(4096):
                    pass
                conn.sendall(b'r' * 100)

    def close(self):
        self.stopping = True
        for t in self.threads:
            t.join(5)
        self.udp.close()
        self.tcp.close()


def ctl(*args, check=True):
    """skyprobectl with `args`; fails the test (with its stderr) unless it succeeds."""
    out = subprocess.run([h.ctl_path()] + list(args), capture_output=True, text=True, timeout=60)
    if check and out.returncode != 0:
        raise AssertionError('skyprobectl %s -> %d\n%s' % (' '.join(args), out.returncode,
                                                           out.stderr))
    return out


def ctl_json(*args):
    return [json.loads(line) for line in ctl(*args).stdout.splitlines() if line.strip()]


def probe_stop(probe):
    """SIGTERM a ServingProbe; its stderr once it exited cleanly."""
    probe.proc.send_signal(signal.SIGTERM)
    rc = probe.proc.wait(timeout=60)
    probe.reader.join(timeout=10)
    if rc != 0:
        raise AssertionError('skyprobe exited %d:\n%s' % (rc, probe.stderr()))
    return probe.stderr()


def fresh_outputs(scratch, json_name='flows.json', err_name='stderr.txt'):
    """(JSON path, stderr path) in scratch folder `scratch`, neither left
    from an earlier run."""
    out_dir = h.scratch_dir(scratch)
    paths = (os.path.join(out_dir, json_name), os.path.join(out_dir, err_name))
    for path in paths:
        if os.path.exists(path):
            os.unlink(path)
    return paths


@contextlib.contextmanager
def running_probe(testcase, args, err_path):
    """skyprobe ARGS (stderr to `err_path`), yielded once its start-up line
    is out (it comes once the capture sockets are bound); killed on the way
    out if the block did not stop it."""
    with open(err_path, 'wb') as err:
        proc = subprocess.Popen([h.skyprobe_path()] + list(args), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + 60
        while 'RX worker(s)' not in read_text(err_path):
            testcase.assertIsNone(proc.poll(), read_text(err_path))
            testcase.assertLess(time.monotonic(), deadline, 'skyprobe did not start')
            time.sleep(0.05)
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def probe_around(testcase, args, err_path, action, rest=0.3):
    """Runs skyprobe ARGS (stderr to `err_path`) around `action()`: once it
    started, lets it rest `rest` seconds, runs the action, gives the last
    frames half a second to reach the probe, stops it with SIGTERM. Returns
    (exit status, stderr, what the action returned)."""
    with running_probe(testcase, args, err_path) as proc:
        time.sleep(rest)
        result = action()
        time.sleep(0.5)  # the last frames reach the rings
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=60)
    return rc, read_text(err_path), result


class Dumpcap:
    """dumpcap on HOST_IF, the oracle of what crossed the interface: started
    (its file exists) on creation; stop() returns its records and fails the
    test if it dropped any (the oracle would be incomplete)."""

    def __init__(self, test, name, bpf):
        self.test = test
        path = shutil.which('dumpcap')
        test.assertIsNotNone(path, 'dumpcap (tshark) not found: scripts/setup.sh --tests')
        self.path = os.path.join(h.scratch_dir('live'), name)
        if os.path.exists(self.path):
            os.unlink(self.path)
        # A 64 MiB buffer: a bulk transfer is a burst of 64 KB super-frames.
        self.proc = subprocess.Popen([path, '-q', '-P', '-B', '64', '-i', HOST_IF, '-s', '0',
                                      '-w', self.path, '-f', bpf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        test.addCleanup(self.kill)
        deadline = time.monotonic() + 30
        while not os.path.exists(self.path):
            if self.proc.poll() is not None:
                test.fail('dumpcap stopped: %s' % self.proc.stderr.read().decode(errors='replace'))
            test.assertLess(time.monotonic(), deadline, 'dumpcap did not start')
            time.sleep(0.05)
        time.sleep(0.3)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc.stderr.close()

    def stop(self):
        time.sleep(0.5)
        self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=30)
        err = err.decode(errors='replace')
        m = re.search(r'received/dropped on interface [^:]*: (\d+)/(\d+)', err)
        self.test.assertIsNotNone(m, 'dumpcap did not report its counts: %s' % err)
        self.test.assertEqual(int(m.group(2)), 0, 'dumpcap dropped frames: %s' % err)
        _, records = h.read_pcap(self.path)
        self.test.assertEqual(len(records), int(m.group(1)), err)
        return records


class LiveNetwork(unittest.TestCase):
    """A namespace and a veth pair (HOST_IF here, PEER_IF there) with static
    neighbours and the UDP/TCP servers on the host end; other live tests
    build on it (live_rest_test.py)."""

    @classmethod
    def setUpClass(cls):
        require_live()

    def setUp(self):
        h.require_skyprobe(self)
        self.addCleanup(self.teardown_network)
        run(['ip', 'netns', 'add', NETNS])
        self.make_pair()
        self.servers = Servers()
        self.addCleanup(self.servers.close)

    @staticmethod
    def make_pair(replace=False):
        """The veth pair, addressed, up, with static neighbours (the
        namespace exists). `replace`: the pair there now is replaced by a new
        one, its names free for only the few milliseconds of a rename (made
        under other names, the old pair deleted, the new one renamed)."""
        in_ns = ['ip', 'netns', 'exec', NETNS]
        if replace:
            run(['ip', 'link', 'add', HOST_IF + 'n', 'type', 'veth', 'peer', 'name',
                 PEER_IF + 'n', 'netns', NETNS])
            run(['ip', 'link', 'del', HOST_IF])
            run(['ip', 'link', 'set', HOST_IF + 'n', 'name', HOST_IF])
            run(in_ns + ['ip', 'link', 'set', PEER_IF + 'n', 'name', PEER_IF])
        else:
            run(['ip', 'link', 'add', HOST_IF, 'type', 'veth', 'peer', 'name', PEER_IF,
                 'netns', NETNS])
        # No IPv6 (router solicitations, DAD) and static neighbours (no ARP): the
        # pair carries only the test's traffic.
        for prefix, ifname in (([], HOST_IF), (in_ns, PEER_IF)):
            run(prefix + ['sh', '-c', 'echo 1 > /proc/sys/net/ipv6/conf/%s/disable_ipv6'
                          % ifname], check=False)
        run(['ip', 'addr', 'add', HOST_IP + '/24', 'dev', HOST_IF])
        run(in_ns + ['ip', 'addr', 'add', PEER_IP + '/24', 'dev', PEER_IF])
        run(['ip', 'link', 'set', HOST_IF, 'up'])
        run(in_ns + ['ip', 'link', 'set', PEER_IF, 'up'])
        host_mac = run(['cat', '/sys/class/net/%s/address' % HOST_IF]).strip()
        peer_mac = run(in_ns + ['cat', '/sys/class/net/%s/address' % PEER_IF]).strip()
        run(['ip', 'neigh', 'replace', PEER_IP, 'lladdr', peer_mac, 'dev', HOST_IF,
             'nud', 'permanent'])
        run(in_ns + ['ip', 'neigh', 'replace', HOST_IP, 'lladdr', host_mac, 'dev', PEER_IF,
                     'nud', 'permanent'])

    @staticmethod
    def teardown_network():
        # Deleting the namespace deletes the peer, hence the pair.
        subprocess.run(['ip', 'netns', 'del', NETNS], capture_output=True)
        subprocess.run(['ip', 'link', 'del', HOST_IF], capture_output=True)


class LiveTest(LiveNetwork):
    """Flows of known traffic on a veth pair, counted exactly."""

    def capture(self, extra, client=None, iface=HOST_IF):
        """Run skyprobe on HOST_IF (`iface`: with attributes) while the client
        runs (the default: the UDP/ICMP/TCP mix above); return (Run, flows)."""
        json_path, err_path = fresh_outputs('live')
        args = ['--iface', iface, '--grpc-listen', 'none', '--json', json_path] + list(extra)
        start = time.time()
        rc, stderr, _ = probe_around(self, args, err_path, lambda: run(
            client or
            ['ip', 'netns', 'exec', NETNS, sys.executable, '-c', CLIENT, HOST_IP,
             str(UDP_PORT), str(TCP_PORT), PEER_IP, str(UDP_SOURCES), str(UDP_PER_FLOW),
             str(ICMP_COUNT), str(ICMP_PAYLOAD), str(TCP_CONNECTIONS)]))
        end = time.time()
        result = h.Run(args, rc, '', stderr, end - start)
        result.summary = h.parse_summary(stderr)
        result.records = h.parse_json_lines(read_text(json_path))
        self.assertEqual(rc, 0, result.describe())
        flows = h.final_flows(self, result.records, ' '.join(extra))
        h.check_counters(self, result, flows, ' '.join(extra))
        # Live frames carry the kernel's time or the host's: flow times fall within the run.
        for f in flows:
            m = f['Metric']
            self.assertGreaterEqual(int(m['Start']), int(start * 1000) - 1000, h.brief(f))
            self.assertLessEqual(int(m['Last']), int(end * 1000) + 1000, h.brief(f))
        return result, flows

    def check_flows(self, flows, label):
        ipv4 = [f for f in flows if (f.get('Network') or {}).get('Protocol') == 'IPV4']
        # ARP may still appear (neighbour confirmation); anything else is not ours.
        others = [h.brief(f) for f in flows
                  if f not in ipv4 and f['LayersPath'] != 'Ethernet/ARP']
        self.assertEqual(others, [], '%s: traffic other than the test\'s' % label)
        by_kind = {}
        for f in ipv4:
            t = f.get('Transport') or {}
            key = (f['LayersPath'], f['Network']['A'], f['Network']['B'], t.get('A'), t.get('B'))
            self.assertNotIn(key, by_kind, '%s: conversation split in two records: %s'
                             % (label, h.brief(f)))
            by_kind[key] = f
        expected = set()
        for i in range(UDP_SOURCES):
            key = ('Ethernet/IPv4/UDP', PEER_IP, HOST_IP, 40000 + i, UDP_PORT)
            expected.add(key)
            f = by_kind.get(key)
            self.assertIsNotNone(f, '%s: no flow %s' % (label, key))
            wire = 14 + 20 + 8 + 100 + i
            for name, value in (('ABPackets', UDP_PER_FLOW), ('BAPackets', UDP_PER_FLOW),
                                ('ABBytes', UDP_PER_FLOW * wire),
                                ('BABytes', UDP_PER_FLOW * wire)):
                self.assertEqual(h.metric(f, name), value, '%s: %s %s' % (label, name,
                                                                          h.brief(f)))
        icmp = [k for k in by_kind if k[0] == 'Ethernet/IPv4/ICMPv4']
        self.assertEqual(len(icmp), 1, '%s: ICMP flows %s' % (label, icmp))
        f = by_kind[icmp[0]]
        expected.add(icmp[0])
        self.assertEqual(f['Network']['A'], PEER_IP, h.brief(f))
        wire = 14 + 20 + 8 + ICMP_PAYLOAD
        for name, value in (('ABPackets', ICMP_COUNT), ('BAPackets', ICMP_COUNT),
                            ('ABBytes', ICMP_COUNT * wire), ('BABytes', ICMP_COUNT * wire)):
            self.assertEqual(h.metric(f, name), value, '%s: ICMP %s %s' % (label, name,
                                                                           h.brief(f)))
        for i in range(TCP_CONNECTIONS):
            key = ('Ethernet/IPv4/TCP', PEER_IP, HOST_IP, 41000 + i, TCP_PORT)
            expected.add(key)
            f = by_kind.get(key)
            self.assertIsNotNone(f, '%s: no flow %s' % (label, key))
            # Handshake, data and teardown both ways; byte counts at least the
            # payloads plus 54-byte headers per frame.
            ab, ba = h.metric(f, 'ABPackets'), h.metric(f, 'BAPackets')
            self.assertGreaterEqual(ab, 4, h.brief(f))
            self.assertGreaterEqual(ba, 3, h.brief(f))
            self.assertGreaterEqual(h.metric(f, 'ABBytes'), 200 + 54 * ab, h.brief(f))
            self.assertGreaterEqual(h.metric(f, 'BABytes'), 100 + 54 * ba, h.brief(f))
        self.assertEqual(set(by_kind) - expected, set(), '%s: unexpected flows' % label)

    def test_one_worker(self):
        result, flows = self.capture(['--workers', '1'])
        self.assertIn('distribution single worker', result.stderr, result.describe())
        self.check_flows(flows, '1 worker')

    def test_capture_point_attributes(self):
        """--iface IF,node-tid=,capture-id=,bpf=: the interface is a capture
        point of its own, whose records carry its NodeTID and CaptureID (not
        the probe's --node-tid), whose filter keeps only the UDP mix (the ICMP
        and TCP frames are counted filtered) and whose counters are named by
        its CaptureID."""
        iface = '%s,node-tid=tap-live,capture-id=uplink,bpf=udp' % HOST_IF
        result, flows = self.capture(['--workers', '1', '--node-tid', 'probe-1'], iface=iface)
        want = {('Ethernet/IPv4/UDP', PEER_IP, HOST_IP, 40000 + i, UDP_PORT)
                for i in range(UDP_SOURCES)}
        got = {(f['LayersPath'], f['Network']['A'], f['Network']['B'], f['Transport']['A'],
                f['Transport']['B']) for f in flows if f.get('Network')}
        self.assertEqual(got, want, result.describe())
        self.assertEqual(len(flows), UDP_SOURCES, [h.brief(f) for f in flows])
        for f in flows:
            self.assertEqual((f.get('NodeTID'), f.get('CaptureID')), ('tap-live', 'uplink'),
                             h.brief(f))
            for name in ('ABPackets', 'BAPackets'):
                self.assertEqual(h.metric(f, name), UDP_PER_FLOW, h.brief(f))
        s = result.summary
        in_flows = 2 * UDP_PER_FLOW * UDP_SOURCES
        self.assertEqual(s['capture.uplink.packets_in'], s['packets_in'], s)
        self.assertEqual(s['capture.uplink.packets_in_flows'], in_flows, s)
        # At least the echo requests and replies and each connection's
        # handshake, data and teardown were seen and filtered.
        self.assertGreaterEqual(s['capture.uplink.filtered'],
                                2 * ICMP_COUNT + 7 * TCP_CONNECTIONS, s)
        self.assertEqual(s['capture.uplink.filtered'], s['packets_in'] - in_flows, s)

    def test_one_worker_burst_time(self):
        result, flows = self.capture(['--workers', '1', '--iface-time', 'burst'])
        self.assertIn('distribution single worker', result.stderr, result.describe())
        self.check_flows(flows, '1 worker, --iface-time burst')

    def test_two_workers_kernel_time_dispatch(self):
        # One libpcap handle per interface: the dispatcher spreads its frames.
        result, flows = self.capture(['--workers', '2'])
        self.assertIn('1 RX queue(s), distribution dispatch', result.stderr, result.describe())
        self.check_flows(flows, '2 workers (kernel time, dispatch)')

    def test_two_workers_kernel_fanout(self):
        result, flows = self.capture(['--workers', '2', '--iface-time', 'burst'])
        self.assertIn('2 RX queue(s), distribution rss', result.stderr, result.describe())
        self.check_flows(flows, '2 workers (rss over PACKET_FANOUT_HASH)')
        # Both sockets of the fanout group carried traffic.
        for w in (0, 1):
            self.assertGreater(result.summary['worker%d_packets_in' % w], 0, result.describe())

    def test_two_workers_dispatch(self):
        result, flows = self.capture(['--workers', '2', '--distribution', 'dispatch'])
        self.assertIn('distribution dispatch', result.stderr, result.describe())
        self.check_flows(flows, '2 workers (dispatch)')

    def test_tso_super_frames_are_counted_whole_without_anomaly(self):
        """A TCP bulk transfer leaves the namespace as TSO super-frames (veth keeps
        them whole, up to 64 KB): the AF_PACKET ring (burst time) or libpcap's snaplen
        (kernel time) cuts them, and they are counted at their IP length, equal to
        dumpcap's original lengths on the same interface, and are no ip_total_length
        anomaly."""
        for mode in ('kernel', 'burst'):
            with self.subTest(mode):
                self.check_tso(mode)

    def check_tso(self, mode):
        dump = Dumpcap(self, 'tso.pcap', 'tcp port %d' % TCP_PORT)
        # libpcap's ring (kernel time) is 2 MB and keeps up to 16128 bytes of each
        # super-frame: 1 MB fits it whole even if the worker is stalled meanwhile.
        size = (4 << 20) if mode == 'burst' else (1 << 20)
        bulk = ('import socket,sys\n'
                'c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)\n'
                'c.sendall(b"x" * %d)\n' % size +
                'c.shutdown(socket.SHUT_WR)\n'
                'while c.recv(65536): pass\n')
        result, flows = self.capture(['--workers', '1', '--iface-time', mode,
                                      '--bpf', 'tcp port %d' % TCP_PORT],
                                     client=['ip', 'netns', 'exec', NETNS, sys.executable,
                                             '-c', bulk, HOST_IP, str(TCP_PORT)])
        records = dump.stop()
        sizes = [r.wirelen for r in records]
        self.assertGreater(max(sizes), 1514 + 1000,
                           'no TSO super-frame crossed the pair: the test proves nothing')
        self.assertEqual(result.summary['anomaly_ip_total_length'], 0, result.describe())
        self.assertEqual(result.summary.get('port_imissed', 0), 0,
                         'the ring dropped frames: %s' % result.describe())
        tcp = [f for f in flows if (f.get('Transport') or {}).get('B') == TCP_PORT]
        self.assertEqual(len(tcp), 1, [h.brief(f) for f in flows])
        total = h.metric(tcp[0], 'ABBytes') + h.metric(tcp[0], 'BABytes')
        packets = h.metric(tcp[0], 'ABPackets') + h.metric(tcp[0], 'BAPackets')
        self.assertEqual(packets, len(records), h.brief(tcp[0]))
        self.assertEqual(total, sum(sizes), h.brief(tcp[0]))

    def serve(self, extra):
        """skyprobe on HOST_IF with a gRPC port, once its sockets are bound."""
        probe = h.ServingProbe(self, ['--iface', HOST_IF, '--workers', '1'] + list(extra))
        self.assertIsNotNone(probe.wait_line(r'RX worker\(s\)'), probe.stderr())
        time.sleep(0.3)
        return probe

    def one_connection(self, sport):
        """One TCP connection from the namespace: 200 bytes up, 100 back, closed."""
        client = ('import socket,sys\n'
                  'c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5,\n'
                  '                             source_address=(sys.argv[3], int(sys.argv[4])))\n'
                  'c.sendall(b"t" * 200)\n'
                  'c.shutdown(socket.SHUT_WR)\n'
                  'while c.recv(4096): pass\n'
                  'c.close()\n')
        run(['ip', 'netns', 'exec', NETNS, sys.executable, '-c', client, HOST_IP, str(TCP_PORT),
             PEER_IP, str(sport)])

    def test_a_closed_connection_stays_queryable_with_its_packets(self):
        """--keep-expired: a TCP connection that closed and left the table is still
        in query answers (Event EXPIRE, ExpireReason TCP_CLOSED) and `skyprobectl
        pcap` exports its packets, equal to what dumpcap saw on the interface."""
        dump = Dumpcap(self, 'closed.pcap', 'tcp port %d' % TCP_PORT)
        probe = self.serve(['--raw-packets', '100', '--capture-length', '4096',
                            '--tcp-close-hold-ms', '100',
                            '--bpf', 'tcp port %d or udp port %d' % (TCP_PORT, UDP_PORT)])
        self.one_connection(41000)
        frames = dump.stop()
        self.assertGreaterEqual(len(frames), 7, 'handshake, data and teardown')
        deadline = time.monotonic() + 30
        while True:
            flows = ctl_json('flows', '--json', '--probe', probe.address)
            closed = [f for f in flows if (f.get('Transport') or {}).get('A') == 41000]
            if closed and closed[0]['Event'] == 'EXPIRE':
                break
            self.assertLess(time.monotonic(), deadline, 'the flow never expired: %s' % flows)
            time.sleep(0.1)
        f = closed[0]
        self.assertEqual(f['ExpireReason'], 'TCP_CLOSED', f)
        self.assertEqual(h.metric(f, 'ABPackets') + h.metric(f, 'BAPackets'), len(frames), f)
        self.assertEqual(f.get('RawPacketsCaptured'), len(frames), f)
        out = os.path.join(h.scratch_dir('live'), 'closed-export.pcap')
        if os.path.exists(out):
            os.unlink(out)
        ctl('pcap', '-o', out, '--probe', probe.address, '--uuid', f['UUID'])
        _, exported = h.read_pcap(out)
        self.assertEqual([p.data for p in exported], [r.data for r in frames])
        self.assertEqual([p.wirelen for p in exported], [r.wirelen for r in frames])
        # A live flow says UPDATE: a UDP exchange (idle expiry: 600 s).
        udp = ('import socket,sys\n'
               's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n'
               's.settimeout(5)\n'
               's.bind((sys.argv[3], 40000))\n'
               's.sendto(b"u" * 100, (sys.argv[1], int(sys.argv[2])))\n'
               's.recvfrom(4096)\n')
        run(['ip', 'netns', 'exec', NETNS, sys.executable, '-c', udp, HOST_IP, str(UDP_PORT),
             PEER_IP])
        flows = ctl_json('flows', '--json', '--probe', probe.address, '--filter',
                         'Transport.B = %d' % UDP_PORT)
        self.assertEqual([g['Event'] for g in flows], ['UPDATE'], flows)
        summary = h.parse_summary(probe_stop(probe))
        self.assertGreaterEqual(summary['kept_expired'], 1)

    def test_without_keep_expired_a_closed_connection_is_gone(self):
        probe = self.serve(['--raw-packets', '100', '--tcp-close-hold-ms', '100',
                            '--keep-expired', '0', '--bpf', 'tcp port %d' % TCP_PORT])
        # The expire record says when the flow has left the table, and its UUID.
        watch = subprocess.Popen([h.ctl_path(), 'watch', '--json', '--probe', probe.address],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.addCleanup(lambda: (watch.poll() is None and watch.kill(), watch.wait(),
                                 watch.stdout.close()))
        time.sleep(0.5)  # subscribed
        self.one_connection(41000)
        record = None
        for line in watch.stdout:  # ends at the latest when the probe stops
            r = json.loads(line)
            if r.get('Event') == 'EXPIRE' and (r.get('Transport') or {}).get('A') == 41000:
                record = r
                break
        self.assertIsNotNone(record, 'no expire record')
        self.assertEqual(ctl_json('flows', '--json', '--probe', probe.address), [])
        out = os.path.join(h.scratch_dir('live'), 'gone.pcap')
        if os.path.exists(out):
            os.unlink(out)
        res = ctl('pcap', '-o', out, '--probe', probe.address, '--uuid', record['UUID'],
                  check=False)
        self.assertEqual(res.returncode, 1, res.stderr)
        self.assertEqual(res.stderr.strip(), 'skyprobectl: no flow has UUID %s (a flow that ended '
                         'stays for the probe\'s --keep-expired seconds, 60 by default)'
                         % record['UUID'])
        self.assertFalse(os.path.exists(out))
        watch.kill()
        self.assertNotIn('kept_expired', h.parse_summary(probe_stop(probe)))

    def check_link_changes(self, extra):
        """The host end's link taken down (its peer set down: NO-CARRIER),
        brought back, then the pair deleted, while the probe runs: each change
        said on stderr within the watch's second, frames read again once the
        link is back, and the summary's link counters."""
        port = 9993
        json_path, err_path = fresh_outputs('live-link')
        in_ns = ['ip', 'netns', 'exec', NETNS]
        send = in_ns + [sys.executable, '-c',
                        'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM)'
                        '.sendto(b"after", ("%s", %d))' % (HOST_IP, port)]

        def said(text):
            deadline = time.monotonic() + 10
            while text not in read_text(err_path):
                self.assertLess(time.monotonic(), deadline,
                                'not said: %r\n%s' % (text, read_text(err_path)))
                time.sleep(0.1)

        free = socket.socket()
        free.bind(('127.0.0.1', 0))
        metrics_port = free.getsockname()[1]
        free.close()

        def link_metrics():
            """Prometheus' view: (link up, downs) of port 0."""
            url = 'http://127.0.0.1:%d/metrics' % metrics_port
            with urllib.request.urlopen(url, timeout=30) as r:
                text = r.read().decode()
            up = re.search(r'^skyprobe_port_link_up\{port="0"\} (\S+)$', text, re.M)
            downs = re.search(r'^skyprobe_port_link_down_total\{port="0"\} (\S+)$', text, re.M)
            self.assertTrue(up and downs, text)
            return float(up.group(1)), float(downs.group(1))

        with running_probe(self, ['--iface', HOST_IF, '--grpc-listen', 'none', '--json',
                                  json_path, '--bpf', 'udp port %d' % port,
                                  '--metrics-listen', '127.0.0.1:%d' % metrics_port] + extra,
                           err_path) as proc:
            self.assertEqual(link_metrics(), (1, 0))
            run(in_ns + ['ip', 'link', 'set', PEER_IF, 'down'])
            # The kernel's own view, the oracle: no carrier on the host end.
            self.assertIn('NO-CARRIER', run(['ip', '-o', 'link', 'show', HOST_IF]))
            said('skyprobe: port 0 (%s): link down: no frames meanwhile' % HOST_IF)
            self.assertEqual(link_metrics(), (0, 1))
            run(in_ns + ['ip', 'link', 'set', PEER_IF, 'up'])
            said('skyprobe: port 0 (%s): link up' % HOST_IF)
            self.assertEqual(link_metrics(), (1, 1))
            # Routes and static neighbours survive a link flap: frames flow again.
            run(send)
            time.sleep(0.5)
            run(['ip', 'link', 'del', HOST_IF])
            said('skyprobe: port 0 (%s): the interface is gone: nothing ' % HOST_IF)
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(timeout=60), 0, read_text(err_path))
        stderr = read_text(err_path)
        order = [stderr.index(t) for t in ('link down', 'link up', 'interface is gone')]
        self.assertEqual(order, sorted(order), stderr)
        summary = h.parse_summary(stderr)
        self.assertEqual(summary.get('port0_link_downs'), 2, stderr)  # the flap, then gone
        self.assertEqual(summary.get('port0_link_up'), 0, stderr)
        flows = h.final_flows(self, h.parse_json_lines(read_text(json_path)), 'link')
        self.assertEqual([h.flow_packets(f) for f in flows], [1], [h.brief(f) for f in flows])

    def test_a_recreated_interface_is_reopened(self):
        self.check_reopen([])

    def test_a_recreated_interface_is_reopened_under_the_dispatcher(self):
        # Two workers on the interface's one queue: the dispatcher polls it.
        self.check_reopen(['--workers', '2'])

    def check_reopen(self, extra):
        """--iface-time kernel (net_pcap's live mode, the default) opens the
        interface by name: deleted and made again while the probe runs, it is
        reopened and read, whether the probe saw it gone for a while or it
        came back between two of the watch's polls (a new ifindex). The
        oracle is what was sent: one datagram from a source port of its own
        at each stage, each a flow of one packet."""
        port = 9992
        json_path, err_path = fresh_outputs('live-reopen')
        in_ns = ['ip', 'netns', 'exec', NETNS]

        def send(source_port):
            run(in_ns + [sys.executable, '-c',
                         'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); '
                         's.bind(("%s", %d)); s.sendto(b"reopen", ("%s", %d))'
                         % (PEER_IP, source_port, HOST_IP, port)])

        def said(text, times=1):
            deadline = time.monotonic() + 10
            while read_text(err_path).count(text) < times:
                self.assertLess(time.monotonic(), deadline,
                                'not said %d times: %r\n%s' % (times, text, read_text(err_path)))
                time.sleep(0.1)

        # Reopened as soon as the name is back, maybe before the pair is up
        # (the link said then as it is, its coming up said after).
        back = 'skyprobe: port 0 (%s): the interface is back: reopened, link ' % HOST_IF
        with running_probe(self, ['--iface', HOST_IF, '--grpc-listen', 'none', '--json',
                                  json_path, '--bpf', 'udp port %d' % port] + extra,
                           err_path) as proc:
            send(41001)
            time.sleep(0.5)
            run(['ip', 'link', 'del', HOST_IF])
            said('skyprobe: port 0 (%s): the interface is gone: nothing is read from it until '
                 'an interface of that name is back, then it is reopened' % HOST_IF)
            self.make_pair()
            said(back)
            send(41002)
            time.sleep(0.5)
            # Replaced by an interface of the same name between two polls (the
            # name free for a few milliseconds): told by its new ifindex.
            old_index = run(['cat', '/sys/class/net/%s/ifindex' % HOST_IF]).strip()
            self.make_pair(replace=True)
            self.assertNotEqual(run(['cat', '/sys/class/net/%s/ifindex' % HOST_IF]).strip(),
                                old_index)
            said(back, 2)
            send(41003)
            time.sleep(0.5)
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(timeout=60), 0, read_text(err_path))
        stderr = read_text(err_path)
        summary = h.parse_summary(stderr)
        self.assertEqual(summary.get('port0_link_downs'), 2, stderr)
        self.assertEqual(summary.get('port0_link_up'), 1, stderr)
        flows = h.final_flows(self, h.parse_json_lines(read_text(json_path)), 'reopen')
        got = sorted((f['Transport']['A'], f['Transport']['B'], h.flow_packets(f))
                     for f in flows)
        self.assertEqual(got, [(41001, port, 1), (41002, port, 1), (41003, port, 1)],
                         [h.brief(f) for f in flows])

    def test_link_changes_are_said_and_counted(self):
        self.check_link_changes([])

    def test_link_changes_are_said_and_counted_burst_time(self):
        self.check_link_changes(['--iface-time', 'burst'])

    def test_missing_interface_is_one_clear_line(self):
        run_ = h.run_skyprobe(['--iface', 'nosuch%d' % (PID % 10**6)], timeout=60)
        line = h.check_clean_error(self, run_, '--iface nosuch', ['no such interface'])
        self.assertEqual(line, 'skyprobe: --iface nosuch%d: no such interface' % (PID % 10**6))


if __name__ == '__main__':
    h.main()
