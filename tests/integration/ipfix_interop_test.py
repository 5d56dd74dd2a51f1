"""--ipfix against real collectors and dissectors.

- nfcapd + nfdump (Debian nfdump) over UDP: per flow, nfdump's in/out
  packets and bytes (its aggregation of the flow's records: the deltas sum),
  addresses, ports, protocol, first and last times and input interface equal
  the JSON records of the same run; nfcapd sees no sequence error; nfdump's
  MPLS labels are those tshark decodes in each flow's first packet.
- pmacct's nfacctd with the README's configuration over UDP: its packets and
  bytes per flow are the JSON records' forward counters; with
  --ipfix-uniflow, each direction's.
- python3-ipfix as a TCP collector (ipfix_collector.py --decode): it decodes
  every message as it arrives; its raw stream, read again, equals the JSON
  records element by element.
- tshark decodes every message of a UDP export (with skyprobe's enterprise
  elements, tunnels, MPLS label stacks and application metadata) with no
  malformed packet and no expert warning, counts every record, and reads
  each HTTP request's Host from IANA's httpRequestHost.
"""

import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
import unittest

import app_meta_test
import ipfix_records as ir
import skyprobe_harness as h
from ipfix_test import require_ipfix_module, tool

HERE = os.path.dirname(os.path.abspath(__file__))
COLLECTOR = os.path.join(HERE, 'ipfix_collector.py')


def start_collector(transport, out, decode=False, port=0):
    """ipfix_collector.py on a free port; returns (process, port)."""
    args = [sys.executable, COLLECTOR, transport, str(port), out]
    if decode:
        args.append('--decode')
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line.startswith('port '):
        proc.kill()
        raise AssertionError('collector did not start: %r' % line)
    return proc, int(line.split()[1])


def stop_collector(proc):
    """SIGTERM (the RFC 7011 close), then its final line: (messages, records)."""
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=120)
    last = out.strip().splitlines()[-1].split()
    return int(last[1]), int(last[3])


def free_udp_port():
    import socket  # pylint: disable=import-outside-toplevel
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def udp_socket_queue(port):
    """(bytes waiting, datagrams dropped) of the IPv4 UDP socket bound to
    127.0.0.1:port, from /proc/net/udp; None when there is none."""
    want = '0100007F:%04X' % port
    with open('/proc/net/udp') as handle:
        for line in handle.readlines()[1:]:
            f = line.split()
            if f[1] == want:
                return int(f[4].split(':')[1], 16), int(f[-1])
    return None


def tunnels_capture(out):
    """The generated tunnels capture (gen_pcap_tunnels.py: VXLAN, Geneve, GRE,
    MPLS stacks of 1-4 labels over Ethernet and GRE, ...)."""
    pcap = os.path.join(out, 'tunnels.pcap')
    if not os.path.exists(pcap):
        subprocess.run([sys.executable, h.gen_pcap_script(), 'tunnels', pcap + '.tmp'],
                       check=True, timeout=300)
        os.rename(pcap + '.tmp', pcap)
    return pcap


def synthetic(out, flows, packets, seed):
    pcap = os.path.join(out, 'syn-%d-%d-%d.pcap' % (flows, packets, seed))
    if not os.path.exists(pcap):
        subprocess.run([sys.executable, h.gen_pcap_script(), 'synthetic', pcap + '.tmp',
                        '--packets', str(packets), '--flows', str(flows), '--seed', str(seed)],
                       check=True, timeout=600)
        os.rename(pcap + '.tmp', pcap)
    return pcap


class IpfixInteropTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        require_ipfix_module()
        cls.out = h.scratch_dir('ipfix_interop')

    def nfcapd_export(self, pcap, label, extra=()):
        """Exports `pcap` over UDP to nfcapd (paced: nfcapd reads as fast as a
        UDP socket lets it, no faster); returns (run, nfcapd's directory)
        once nfcapd has counted every record, without a sequence error."""
        nfcapd = tool('nfcapd', 'nfdump')
        flowdir = os.path.join(self.out, label)
        shutil.rmtree(flowdir, ignore_errors=True)
        os.makedirs(flowdir)
        port = free_udp_port()
        log_path = os.path.join(self.out, label + '.log')
        log = open(log_path, 'w')
        collector = subprocess.Popen([nfcapd, '-p', str(port), '-b', '127.0.0.1', '-w', flowdir,
                                      '-t', '3600', '-B', '8000000'],
                                     stdout=log, stderr=subprocess.STDOUT)
        try:
            time.sleep(1)  # nfcapd binds its socket
            run = h.run_skyprobe(['--pcap', pcap, '--ipfix', 'udp://127.0.0.1:%d' % port,
                                  '--ipfix-rate', '20000'] + list(extra),
                                 json_path=os.path.join(self.out, label + '.json'), timeout=600)
            self.assertEqual(run.returncode, 0, run.describe())
            time.sleep(1)
        finally:
            collector.send_signal(signal.SIGTERM)
            collector.wait(timeout=60)
            log.close()
        prefix = 'output.ipfix:udp://127.0.0.1:%d.' % port
        self.assertEqual(run.summary[prefix + 'delivered'], len(run.records))
        self.assertEqual(run.summary[prefix + 'records_lost'], 0)
        with open(log_path) as handle:
            text = handle.read()
        self.assertIn('Flows: %d,' % len(run.records), text)
        self.assertIn('Sequence Errors: 0,', text)
        return run, flowdir

    def test_nfcapd_over_udp_matches_json(self):
        nfdump = tool('nfdump', 'nfdump')
        pcap = synthetic(self.out, 20000, 80000, 3)
        run, flowdir = self.nfcapd_export(pcap, 'nfcapd', ['--update', '10'])
        fmt = 'fmt:%ts|%te|%pr|%sa|%da|%sp|%dp|%ipkt|%ibyt|%opkt|%obyt|%in'
        dump = subprocess.run([nfdump, '-R', flowdir, '-N', '-6', '-q', '-a', '-o', fmt],
                              capture_output=True, text=True, timeout=600,
                              env=dict(os.environ, TZ='UTC'))
        self.assertEqual(dump.returncode, 0, dump.stderr)
        got = {}
        for line in dump.stdout.splitlines():
            f = [x.strip() for x in line.split('|')]
            if len(f) != 12:
                continue
            proto = int(f[2])
            key = (proto, h.normalize_ip(f[3]), h.normalize_ip(f[4]))
            if proto in (6, 17, 132):
                key += (int(f[5]), int(f[6]))
            got[key] = f
        finals = h.final_flows(self, run.records, 'nfcapd')
        checked = 0
        for flow in finals:
            if 'Network' not in flow:
                continue  # nfdump keeps IP flows only
            proto = ir._protocol(flow)  # pylint: disable=protected-access
            key = (proto, h.normalize_ip(flow['Network']['A']),
                   h.normalize_ip(flow['Network']['B']))
            if proto in (6, 17, 132):
                key += (flow['Transport']['A'], flow['Transport']['B'])
            self.assertIn(key, got, 'nfdump has no flow %s' % (key,))
            f = got[key]
            m = flow['Metric']
            self.assertEqual([int(f[7]), int(f[8]), int(f[9]), int(f[10])],
                             [m['ABPackets'], m['ABBytes'], m['BAPackets'], m['BABytes']],
                             'flow %s %s' % (flow['UUID'], key))
            self.assertEqual(f[0], time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(
                flow['Start'] // 1000)) + '.%03d' % (flow['Start'] % 1000), key)
            self.assertEqual(f[1], time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(
                flow['Last'] // 1000)) + '.%03d' % (flow['Last'] % 1000), key)
            self.assertEqual(int(f[11]), 1)
            checked += 1
        self.assertGreater(checked, 19000)

    def test_nfcapd_reads_mpls_label_stacks(self):
        """nfdump shows each record's label stack (%mpls1-3: label-exp-S) as
        tshark decodes the flow's first packet: stacks of 1-4 labels over
        Ethernet and over GRE (the top three of a deeper one), none on the
        other flows."""
        nfdump = tool('nfdump', 'nfdump')
        pcap = tunnels_capture(self.out)
        run, flowdir = self.nfcapd_export(pcap, 'nfcapd-mpls')
        dump = subprocess.run([nfdump, '-R', flowdir, '-q', '-o',
                               'fmt:%ismc|%idmc|%mpls1|%mpls2|%mpls3'],
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(dump.returncode, 0, dump.stderr)
        rows = [[x.strip() for x in line.split('|')] for line in dump.stdout.splitlines()
                if line.count('|') == 4]
        self.assertEqual(len(rows), len(run.records))
        frames = ir.mpls_stacks(h.tshark_path(), pcap)
        first = {}
        for _, src, dst, _, _, stack in frames:
            first.setdefault((src, dst), stack)
        with_mpls = {(r['Link']['A'], r['Link']['B']) for r in run.records
                     if r['LayersPath'].endswith('/MPLS')}
        self.assertEqual(len(with_mpls), 8)  # 1-4 labels, over Ethernet and over GRE
        depths = set()
        for src, dst, *stack in rows:
            if (src, dst) not in with_mpls:
                self.assertEqual(stack, ['0-0-0'] * 3, (src, dst))
                continue
            want = first[(src, dst)]
            depths.add(len(want))
            entries = [int.from_bytes(e, 'big') for e in want[:3]]
            text = ['%d-%d-%d' % (e >> 4, e >> 1 & 7, e & 1) for e in entries]
            self.assertEqual(stack, text + ['0-0-0'] * (3 - len(text)), (src, dst))
        self.assertEqual(depths, {1, 2, 3, 4})

    def pmacct_export(self, pcap, label, extra=()):
        """Exports `pcap` over UDP to pmacct's nfacctd configured as the README
        says (print plugin, JSON); returns (run, pmacct's rows by (source,
        destination, source port, destination port, protocol, input) ->
        (packets, bytes))."""
        nfacctd = tool('nfacctd', 'pmacct')
        workdir = os.path.join(self.out, label)
        shutil.rmtree(workdir, ignore_errors=True)
        os.makedirs(workdir)
        port = free_udp_port()
        config = os.path.join(workdir, 'nfacctd.conf')
        with open(config, 'w') as handle:
            handle.write('nfacctd_port: %d\n'
                         'nfacctd_ip: 127.0.0.1\n'
                         'plugins: print[flows]\n'
                         'aggregate[flows]: src_host, dst_host, src_port, dst_port, proto, '
                         'in_iface\n'
                         'print_output_file[flows]: %s/flows-%%Y%%m%%d-%%H%%M.json\n'
                         'print_output[flows]: json\n'
                         'print_refresh_time[flows]: 60\n'
                         # A socket buffer that holds a slow moment of a loaded machine.
                         'nfacctd_pipe_size: 4194304\n' % (port, workdir))
        log_path = os.path.join(workdir, 'nfacctd.log')
        log = open(log_path, 'w')
        collector = subprocess.Popen([nfacctd, '-f', config], stdout=log,
                                     stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # until it listens
                with open(log_path) as handle:
                    if 'waiting for NetFlow/IPFIX data' in handle.read():
                        break
                time.sleep(0.2)
            run = h.run_skyprobe(['--pcap', pcap, '--ipfix', 'udp://127.0.0.1:%d' % port,
                                  '--ipfix-rate', '20000'] + list(extra),
                                 json_path=os.path.join(workdir, 'flows.json'), timeout=600)
            self.assertEqual(run.returncode, 0, run.describe())
            # Until nfacctd has read every datagram (none dropped), then a
            # moment for its plugin to take them from its queue.
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and udp_socket_queue(port)[0] > 0:
                time.sleep(0.1)
            self.assertEqual(udp_socket_queue(port), (0, 0), 'nfacctd: (bytes unread, drops)')
            time.sleep(1)
        finally:
            collector.send_signal(signal.SIGINT)  # pmacct writes its cache, then exits
            collector.wait(timeout=60)
            log.close()
        prefix = 'output.ipfix:udp://127.0.0.1:%d.' % port
        self.assertEqual(run.summary[prefix + 'records_lost'], 0)
        got = {}
        for name in sorted(os.listdir(workdir)):
            if not name.startswith('flows-'):
                continue
            with open(os.path.join(workdir, name)) as handle:
                for line in handle:
                    r = json.loads(line)
                    key = (h.normalize_ip(r['ip_src']), h.normalize_ip(r['ip_dst']),
                           r['port_src'], r['port_dst'], r['ip_proto'], r['iface_in'])
                    self.assertNotIn(key, got, 'pmacct printed %s twice' % (key,))
                    got[key] = (r['packets'], r['bytes'])
        return run, got

    def pmacct_want(self, run, label, uniflow):
        """What pmacct must show: each IP flow's A to B packets and bytes under
        its addresses, ports, protocol and input; with uniflows also B to A
        under the swapped ones (when it has packets)."""
        names = {6: 'tcp', 17: 'udp', 1: 'icmp', 58: 'ipv6-icmp'}
        want = {}
        for flow in h.final_flows(self, run.records, label):
            if 'Network' not in flow:
                continue  # pmacct keeps IP flows
            t = flow.get('Transport', {'A': 0, 'B': 0})
            a, b = h.normalize_ip(flow['Network']['A']), h.normalize_ip(flow['Network']['B'])
            proto = names[ir._protocol(flow)]  # pylint: disable=protected-access
            m = flow['Metric']
            want[(a, b, t['A'], t['B'], proto, 1)] = (m['ABPackets'], m['ABBytes'])
            if uniflow and m['BAPackets']:
                want[(b, a, t['B'], t['A'], proto, 1)] = (m['BAPackets'], m['BABytes'])
        return want

    def test_pmacct_nfacctd_readme_example(self):
        """The README's pmacct example (nfacctd, print plugin, JSON) over UDP:
        per flow, the packets and bytes pmacct aggregates equal the JSON
        record's forward (A to B) counters, under its addresses, ports,
        protocol and input. pmacct does not read RFC 5103's reverse elements
        (the README says so): the B to A direction is not in its output..."""
        pcap = synthetic(self.out, 2000, 8000, 5)
        run, got = self.pmacct_export(pcap, 'pmacct')
        want = self.pmacct_want(run, 'pmacct', uniflow=False)
        self.assertGreater(len(want), 1900)
        self.assertEqual(got, want)

    def test_pmacct_with_uniflows_sees_both_directions(self):
        """... unless --ipfix-uniflow: each direction then has rows of its own,
        B to A under the swapped addresses and ports, with the JSON record's
        BA counters (the deltas of several update records add up)."""
        pcap = synthetic(self.out, 2000, 8000, 5)
        run, got = self.pmacct_export(pcap, 'pmacct-uniflow', ['--ipfix-uniflow', '--update', '1'])
        self.assertGreater(sum(1 for r in run.records if r['Event'] == 'UPDATE'), 0)
        want = self.pmacct_want(run, 'pmacct-uniflow', uniflow=True)
        self.assertGreater(len(want), 3800)
        self.assertEqual(got, want)

    def test_python_ipfix_tcp_collector(self):
        out = os.path.join(self.out, 'tcp-collector.raw')
        for suffix in ('', '.ids', '.decoded'):
            if os.path.exists(out + suffix):
                os.unlink(out + suffix)
        collector, port = start_collector('tcp', out, decode=True)
        try:
            json_path = os.path.join(self.out, 'tcp-collector.json')
            run = h.run_skyprobe(['--pcap', os.path.join(h.source_root(), 'tests', 'data',
                                                         'demo.pcap'),
                                  '--ipfix', 'tcp://127.0.0.1:%d' % port,
                                  '--ipfix-pen', str(ir.PEN), '--node-tid', 'n1'],
                                 json_path=json_path, timeout=120)
            self.assertEqual(run.returncode, 0, run.describe())
        finally:
            messages, records = stop_collector(collector)
        self.assertGreater(messages, 0)
        self.assertEqual(records, len(run.records))  # the quick walk reads varlen records too
        prefix = 'output.ipfix:tcp://127.0.0.1:%d.' % port
        self.assertEqual(run.summary[prefix + 'delivered'], len(run.records))
        self.assertEqual(run.summary[prefix + 'records_lost'], 0)
        with open(out + '.decoded') as handle:
            decoded = [json.loads(line) for line in handle]
        flows_live = [d for d in decoded if 'flowId' in d]
        self.assertEqual([int(d['flowId']) for d in flows_live],
                         [int(r['UUID'], 16) for r in run.records])
        flows, _ = ir.read_ipfix_file(out)
        problems = ir.compare_with_json(run.records, flows, inputs=lambda r: 1, pen=ir.PEN,
                                        node_tid='n1')
        self.assertEqual(problems, [], '\n'.join(problems))

    def test_tshark_decodes_every_message(self):
        tshark = h.tshark_path()
        out = os.path.join(self.out, 'udp-collector.raw')
        for suffix in ('', '.ids'):
            if os.path.exists(out + suffix):
                os.unlink(out + suffix)
        collector, port = start_collector('udp', out)
        try:
            json_path = os.path.join(self.out, 'tshark.json')
            pcap = os.path.join(h.shared_dir('skydive'), 'icmpv4-4vlanQinQ-id-8-10-20-30.pcap')
            run = h.run_skyprobe(['--pcap', pcap, '--pcap',
                                  os.path.join(h.source_root(), 'tests', 'data', 'demo.pcap'),
                                  '--pcap', tunnels_capture(self.out),
                                  '--pcap', app_meta_test.capture(), '--app-metadata',
                                  '--ipfix', 'udp://127.0.0.1:%d' % port, '--ipfix-pen',
                                  str(ir.PEN), '--ipfix-mtu', '1200'],
                                 json_path=json_path, timeout=120)
            self.assertEqual(run.returncode, 0, run.describe())
            time.sleep(0.5)
        finally:
            stop_collector(collector)
        with open(out, 'rb') as handle:
            data = handle.read()
        # The datagrams as a capture: each message in a UDP frame to port 4739.
        frames = []
        off = 0
        while off < len(data):
            length = struct.unpack_from('!H', data, off + 2)[0]
            self.assertLessEqual(length, 1200)
            frames.append(data[off:off + length])
            off += length
        wrapped = os.path.join(self.out, 'udp-export.pcap')
        with open(wrapped, 'wb') as f:
            f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
            for i, m in enumerate(frames):
                udp = struct.pack('!HHHH', 40000, 4739, 8 + len(m), 0) + m
                ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), i, 0, 64, 17, 0,
                                 bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]))
                frame = bytes(12) + b'\x08\x00' + ip + udp
                f.write(struct.pack('<IIII', 1700000000 + i, 0, len(frame), len(frame)) + frame)
        bad = subprocess.run([tshark, '-r', wrapped, '-Y',
                              '_ws.malformed || _ws.expert.severity >= warning'],
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(bad.returncode, 0, bad.stderr)
        self.assertEqual(bad.stdout.strip(), '', 'tshark flags these frames')
        reasons = subprocess.run([tshark, '-r', wrapped, '-T', 'fields', '-e',
                                  'cflow.flow_end_reason'],
                                 capture_output=True, text=True, timeout=120, check=True)
        decoded = sum(len(line.split(',')) for line in reasons.stdout.split() if line)
        self.assertEqual(decoded, len(run.records))
        # HTTP's IANA elements (459, 460) by tshark's names, one per record with them.
        hosts = subprocess.run([tshark, '-r', wrapped, '-T', 'fields', '-E', 'aggregator=\x1f',
                                '-e', 'cflow.http_request_host'],
                               capture_output=True, text=True, timeout=120, check=True)
        got = sorted(v for line in hosts.stdout.splitlines() for v in line.split('\x1f') if v)
        want = sorted(r['HTTP']['Host'] for r in run.records if 'Host' in r.get('HTTP', {}))
        self.assertGreater(len(want), 10)
        self.assertEqual(got, want)
        self.assertEqual(len(frames), run.summary['output.ipfix:udp://127.0.0.1:%d.messages'
                                                  % port])


if __name__ == '__main__':
    h.main()
