#!/usr/bin/env python3
"""Application metadata (TLS, HTTP, DNSQuery) against tshark and the JA4 spec.

tests/data/gen_pcap_app.py writes TLS ClientHellos (OpenSSL's, through
Python's ssl module, and hand-built ones with GREASE, odd ALPN names, no
extensions, a long SNI, 90 ciphers), each in one TCP segment, in two, in
three and over two TLS records; HTTP/1.x request heads in one segment and in
three; DNS queries and responses over UDP and TCP. skyprobe reads it, and
for every flow:

- TLS.SNI, TLS.ALPN and TLS.JA3 equal tshark's
  tls.handshake.extensions_server_name, tls.handshake.extensions_alpn_str
  and tls.handshake.ja3 for the flow's ClientHello (tshark reassembles the
  segments and records itself);
- TLS.JA4 equals the JA4 computed here from the FoxIO specification
  (technical_details/JA4.md) over the lists tshark decodes (cipher suites,
  extension types, signature algorithms, supported versions, ALPN), the
  computation itself checked first on the specification's own example;
- TLS.Version is the highest supported_versions entry, else the
  ClientHello's version, as tshark decodes them;
- HTTP.Method and HTTP.Host equal http.request.method and http.host;
- DNSQuery.Name, .Type and .ResponseCode equal dns.qry.name, dns.qry.type
  and dns.flags.rcode of the flow's latest message (and latest response);
- with --no-app-metadata no record has any of them.
"""

import collections
import functools
import hashlib
import ipaddress
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skyprobe_harness as h  # noqa: E402

TLS_VERSIONS = {0x0304: 'TLS 1.3', 0x0303: 'TLS 1.2', 0x0302: 'TLS 1.1', 0x0301: 'TLS 1.0',
                0x0300: 'SSL 3.0'}
DNS_TYPES = {1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 15: 'MX', 16: 'TXT', 28: 'AAAA',
             33: 'SRV', 255: 'ANY'}
DNS_RCODES = {0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP',
              5: 'REFUSED'}

# tcpdump corpus files with HTTP requests over TCP, in link types skyprobe reads
# (test_captures_against_tshark says how they were found).
CORPUS_HTTP = ['accecn_handshake.pcap', 'ipv4_tcp_http_xml_tso.pcap', 'print-flags.pcap']

TLS_FIELDS = ['tls.handshake.extensions_server_name', 'tls.handshake.extensions_alpn_str',
              'tls.handshake.ja3', 'tls.handshake.version', 'tls.handshake.ciphersuite',
              'tls.handshake.extension.type', 'tls.handshake.sig_hash_alg',
              'tls.handshake.extensions.supported_version']


def is_grease(value):
    return (value & 0x0F0F) == 0x0A0A and (value >> 8) == (value & 0xFF)


def ja4(version, ciphers, extensions, sig_algs, supported_versions, alpn_first):
    """JA4 (FoxIO JA4.md) of a ClientHello over TCP, from its decoded lists."""
    ciphers = [c for c in ciphers if not is_grease(c)]
    extensions = [e for e in extensions if not is_grease(e)]
    versions = [v for v in supported_versions if not is_grease(v)]
    offered = max(versions) if versions else version
    names = {0x0304: '13', 0x0303: '12', 0x0302: '11', 0x0301: '10', 0x0300: 's3'}
    alpn = '00'
    if alpn_first:
        first, last = alpn_first[0], alpn_first[-1]
        if chr(first).isascii() and chr(first).isalnum() and chr(last).isascii() \
                and chr(last).isalnum():
            alpn = chr(first) + chr(last)
        else:
            hexed = alpn_first.hex()
            alpn = hexed[0] + hexed[-1]
    part_a = 't%s%s%02d%02d%s' % (names.get(offered, '00'), 'd' if 0 in extensions else 'i',
                                  min(len(ciphers), 99), min(len(extensions), 99), alpn)

    def sha12(text):
        return hashlib.sha256(text.encode()).hexdigest()[:12] if text else '0' * 12

    part_b = sha12(','.join('%04x' % c for c in sorted(ciphers)))
    rest = ','.join('%04x' % e for e in sorted(extensions) if e not in (0x0000, 0x0010))
    if rest and sig_algs:
        rest += '_' + ','.join('%04x' % s for s in sig_algs)
    return '%s_%s_%s' % (part_a, part_b, sha12(rest))


@functools.lru_cache(maxsize=None)
def capture():
    out_dir = h.scratch_dir('app_meta')
    pcap = os.path.join(out_dir, 'app.pcap')
    script = os.path.join(h.source_root(), 'tests', 'data', 'gen_pcap_app.py')
    if not os.path.exists(pcap) or os.path.getmtime(pcap) < os.path.getmtime(script):
        subprocess.run([sys.executable, script, pcap], check=True, timeout=120)
    return pcap


def endpoint(ip, port):
    return (str(ipaddress.ip_address(ip)), int(port))


def conversation_key(a, b):
    return frozenset((a, b))


def tshark_rows(tshark, pcap, display_filter, fields):
    """One dict per frame matching the filter; multi-valued fields as lists."""
    cmd = [tshark, '-r', pcap, '-Y', display_filter, '-T', 'fields', '-E', 'occurrence=a',
           '-E', 'aggregator=\x1f', '-E', 'separator=\x1e']
    base = ['ip.src', 'ipv6.src', 'ip.dst', 'ipv6.dst', 'tcp.srcport', 'udp.srcport',
            'tcp.dstport', 'udp.dstport']
    for f in base + fields:
        cmd += ['-e', f]
    out = subprocess.run(cmd, capture_output=True, check=True, timeout=300).stdout
    rows = []
    for line in out.split(b'\n'):
        if not line:
            continue
        values = line.split(b'\x1e')
        row = {}
        for name, value in zip(base + fields, values):
            row[name] = [v for v in value.split(b'\x1f')] if value else []
        src = (row['ip.src'] or row['ipv6.src'])[0].decode()
        dst = (row['ip.dst'] or row['ipv6.dst'])[0].decode()
        sport = (row['tcp.srcport'] or row['udp.srcport'])[0].decode()
        dport = (row['tcp.dstport'] or row['udp.dstport'])[0].decode()
        row['key'] = conversation_key(endpoint(src, sport), endpoint(dst, dport))
        rows.append(row)
    return rows


def flow_key(flow):
    net = flow.get('Network') or {}
    tr = flow.get('Transport') or {}
    return conversation_key(endpoint(net['A'], tr.get('A', 0)), endpoint(net['B'], tr.get('B', 0)))


def text(values):
    return values[0].decode('utf-8', 'replace') if values else None


def ints(values):
    return [int(v, 0) for v in values]


class AppMetaTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.pcap = capture()

    def run_probe(self, *extra):
        """skyprobe on the capture with `extra` (default: --app-metadata)."""
        h.require_skyprobe(self)
        workdir = h.scratch_dir('app_meta')
        args = list(extra) if extra else ['--app-metadata']
        run = h.run_skyprobe(['--pcap', self.pcap] + args,
                             json_path=os.path.join(workdir, 'out_%s.json' % '_'.join(
                                 a.strip('-') for a in args)))
        self.assertEqual(run.returncode, 0, run.describe())
        flows = h.final_flows(self, run.records, 'app.pcap')
        by_key = collections.defaultdict(list)
        for flow in flows:
            if (flow.get('Network') or {}).get('A'):
                by_key[flow_key(flow)].append(flow)
        return run, by_key

    def test_ja4_implementation_on_the_spec_example(self):
        """The test's own JA4 gives the specification's example fingerprint."""
        ciphers = [0x002f, 0x0035, 0x009c, 0x009d, 0x1301, 0x1302, 0x1303, 0xc013, 0xc014,
                   0xc02b, 0xc02c, 0xc02f, 0xc030, 0xcca8, 0xcca9]
        # FoxIO's technical_details/JA4.md example: 15 ciphers, 16 extensions.
        exts = [0x0005, 0x000a, 0x000b, 0x000d, 0x0012, 0x0015, 0x0017, 0x001b, 0x0023, 0x002b,
                0x002d, 0x0033, 0x4469, 0xff01, 0x0000, 0x0010]
        sig = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]
        self.assertEqual(ja4(0x0303, ciphers, exts, sig, [0x0304, 0x0303], b'h2'),
                         't13d1516h2_8daaf6152771_e5627efa2ab1')

    def test_tls_against_tshark_and_ja4(self):
        tshark = h.tshark_path()
        _, flows = self.run_probe()
        rows = tshark_rows(tshark, self.pcap, 'tls.handshake.type == 1', TLS_FIELDS)
        self.assertGreaterEqual(len(rows), 50)
        diffs, sni_seen, split_seen = [], 0, 0
        for row in rows:
            got = flows.get(row['key'])
            self.assertTrue(got and len(got) == 1, (row['key'], got))
            tls = got[0].get('TLS')
            if tls is None:
                diffs.append('%s: no TLS object' % (sorted(row['key']),))
                continue
            alpn = [v.decode('latin-1') for v in row['tls.handshake.extensions_alpn_str']]
            want = {
                'SNI': text(row['tls.handshake.extensions_server_name']),
                'ALPN': alpn or None,
                'JA3': text(row['tls.handshake.ja3']),
                'JA4': ja4(int(row['tls.handshake.version'][0], 0),
                           ints(row['tls.handshake.ciphersuite']),
                           ints(row['tls.handshake.extension.type']),
                           ints(row['tls.handshake.sig_hash_alg']),
                           ints(row['tls.handshake.extensions.supported_version']),
                           row['tls.handshake.extensions_alpn_str'][0] if alpn else None),
            }
            versions = [v for v in ints(row['tls.handshake.extensions.supported_version'])
                        if not is_grease(v)]
            want['Version'] = TLS_VERSIONS[max(versions) if versions else
                                           int(row['tls.handshake.version'][0], 0)]
            sni_seen += want['SNI'] is not None
            for name, value in want.items():
                if tls.get(name) != value:
                    diffs.append('%s %s: tshark/spec %r, skyprobe %r'
                                 % (sorted(row['key']), name, value, tls.get(name)))
            split_seen += got[0]['Metric']['ABPackets'] > 4
        self.assertFalse(diffs, '%d differences:\n  %s' % (len(diffs), '\n  '.join(diffs[:30])))
        self.assertGreater(sni_seen, 30)
        self.assertGreater(split_seen, 20)  # ClientHellos over two or three segments compared
        # Flows without a ClientHello have no TLS object.
        hello_keys = {row['key'] for row in rows}
        for key, fl in flows.items():
            if key not in hello_keys:
                for flow in fl:
                    self.assertNotIn('TLS', flow, sorted(key))

    def test_http_against_tshark(self):
        tshark = h.tshark_path()
        _, flows = self.run_probe()
        rows = tshark_rows(tshark, self.pcap, 'http.request',
                           ['http.request.method', 'http.host'])
        self.assertGreaterEqual(len(rows), 16)
        diffs = []
        for row in rows:
            got = flows.get(row['key'])
            self.assertTrue(got and len(got) == 1, (row['key'], got))
            http = got[0].get('HTTP') or {}
            want = {'Method': text(row['http.request.method']), 'Host': text(row['http.host'])}
            for name, value in want.items():
                if http.get(name) != value:
                    diffs.append('%s %s: tshark %r, skyprobe %r'
                                 % (sorted(row['key']), name, value, http.get(name)))
        self.assertFalse(diffs, '%d differences:\n  %s' % (len(diffs), '\n  '.join(diffs[:30])))

    def test_dns_query_against_tshark(self):
        tshark = h.tshark_path()
        _, flows = self.run_probe()
        rows = tshark_rows(tshark, self.pcap, 'dns',
                           ['dns.qry.name', 'dns.qry.type', 'dns.flags.response',
                            'dns.flags.rcode'])
        latest, response = {}, {}
        for row in rows:  # frame order: the last one wins
            latest[row['key']] = row
            if text(row['dns.flags.response']) in ('1', 'True'):
                response[row['key']] = row
        self.assertGreaterEqual(len(latest), 16)
        diffs = []
        for key, row in latest.items():
            got = flows.get(key)
            self.assertTrue(got and len(got) == 1, (key, got))
            dns = got[0].get('DNSQuery') or {}
            qtype = int(text(row['dns.qry.type']))
            want = {'Name': text(row['dns.qry.name']),
                    'Type': DNS_TYPES.get(qtype, 'TYPE%d' % qtype)}
            if key in response:
                rcode = int(text(response[key]['dns.flags.rcode']))
                want['ResponseCode'] = DNS_RCODES.get(rcode, 'RCODE%d' % rcode)
            for name, value in want.items():
                if dns.get(name) != value:
                    diffs.append('%s %s: tshark %r, skyprobe %r'
                                 % (sorted(key), name, value, dns.get(name)))
        self.assertFalse(diffs, '%d differences:\n  %s' % (len(diffs), '\n  '.join(diffs[:30])))

    def test_captures_against_tshark(self):
        """The Skydive traces and the corpus files with HTTP requests over TCP.

        A scan of the whole tcpdump corpus with tshark (tcp and
        (tls.handshake.type == 1 or http.request)) finds no TLS ClientHello
        over TCP (its TLS is QUIC's or EAP's) and HTTP requests in the files
        of CORPUS_HTTP (and arcnet-*-http.pcap, a link type skyprobe does not
        read). Every request tshark decodes gives its flow's HTTP Method and
        Host; every ClientHello its TLS; a flow without either has neither."""
        h.require_skyprobe(self)
        tshark = h.tshark_path()
        workdir = h.scratch_dir('app_meta')
        sky = h.shared_dir('skydive')
        corpus = h.shared_dir('tcpdump')
        paths = sorted(os.path.join(sky, n) for n in os.listdir(sky) if n.endswith('.pcap'))
        paths += [os.path.join(corpus, n) for n in CORPUS_HTTP]
        diffs, requests = [], 0
        for path in paths:
            name = os.path.basename(path)
            run = h.run_skyprobe(['--pcap', path, '--app-metadata'],
                                 json_path=os.path.join(workdir, name + '.json'))
            self.assertEqual(run.returncode, 0, run.describe())
            flows = collections.defaultdict(list)
            for flow in h.final_flows(self, run.records, name):
                if (flow.get('Network') or {}).get('A') and flow.get('Transport'):
                    flows[flow_key(flow)].append(flow)
            http_rows = tshark_rows(tshark, path, 'tcp and http.request',
                                    ['http.request.method', 'http.host'])
            tls_rows = tshark_rows(tshark, path, 'tcp and tls.handshake.type == 1',
                                   ['tls.handshake.extensions_server_name'])
            first_request = {}
            for row in http_rows:
                first_request.setdefault(row['key'], row)
            for key, row in first_request.items():
                requests += 1
                got = [f.get('HTTP') for f in flows.get(key, [])]
                want = {'Method': text(row['http.request.method']),
                        'Host': text(row['http.host'])}
                if got != [{k: v for k, v in want.items() if v is not None}]:
                    diffs.append('%s %s: tshark %r, skyprobe %r' % (name, sorted(key), want, got))
            for row in tls_rows:
                got = [(f.get('TLS') or {}).get('SNI') for f in flows.get(row['key'], [])]
                want = text(row['tls.handshake.extensions_server_name'])
                if got != [want]:
                    diffs.append('%s %s: tshark SNI %r, skyprobe %r'
                                 % (name, sorted(row['key']), want, got))
            seen = set(first_request) | {row['key'] for row in tls_rows}
            for key, fl in flows.items():
                for flow in fl:
                    if key not in seen and ('HTTP' in flow or 'TLS' in flow):
                        diffs.append('%s %s: skyprobe %r, tshark nothing'
                                     % (name, sorted(key), flow.get('HTTP') or flow.get('TLS')))
        self.assertFalse(diffs, '%d differences:\n  %s' % (len(diffs), '\n  '.join(diffs[:30])))
        self.assertGreaterEqual(requests, 6)

    def test_off_means_absent(self):
        """Off (the default, or --no-app-metadata): no record has any of the fields."""
        for args in (['--no-app-metadata'], ['--max-flows', '4096']):
            _, flows = self.run_probe(*args)
            self.assertGreater(len(flows), 50)
            for key, fl in flows.items():
                for flow in fl:
                    for name in ('TLS', 'HTTP', 'DNSQuery', 'DNS', 'DHCPv4', 'VRRPv2'):
                        self.assertNotIn(name, flow, (args, sorted(key)))


if __name__ == '__main__':
    h.main()
