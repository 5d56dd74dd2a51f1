#!/usr/bin/env python3
"""Skydive's extra layers (--extra-layers DNS,DHCPv4,VRRP) against tshark.

skyprobe reads the Skydive traces and the tcpdump corpus files that carry
DNS, DHCPv4 (BOOTP) or VRRP with --extra-layers ALL. For each flow, the
message tshark decodes in the same conversation (the first DHCPv4 and VRRP
message, the latest DNS message) gives the expected values:

- DHCPv4: hardware_len, hardware_opts (hops), xid, secs, flags, server_name,
  file (dhcp.hw.len, .hops, .id, .secs, .flags, .server, .file), contents =
  the UDP payload (udp.payload);
- VRRPv2: version, virtual_rtrID, priority, count_ipaddr, adver_int,
  checksum (vrrp.*; on a VRRPv3 message adver_int is the low byte of
  vrrp.short_adver_int, as gopacket reads it), contents = the IP payload's
  length (ip.len - ip.hdr_len);
- DNS: ID, QR, OpCode, AA, TC, RD, RA, Z, ResponseCode, the four counts,
  the questions' names, types and classes, the addresses of its A and AAAA
  records, Timestamp (the frame's time, in ms);
  where a value is a name (OpCode, Type, Class, ResponseCode), gopacket's
  name for tshark's number.

Every conversation in which tshark decodes one of these protocols on a file
that is not one of the corpus's deliberately broken ones (names with "oobr"
or "asan") must have its layer; the broken ones are compared where skyprobe
has the layer. Without --extra-layers no record has any of them.
"""

import base64
import collections
import ipaddress
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skyprobe_harness as h  # noqa: E402

GOPACKET_TYPES = {1: 'A', 2: 'NS', 3: 'MD', 4: 'MF', 5: 'CNAME', 6: 'SOA', 7: 'MB', 8: 'MG',
                  9: 'MR', 10: 'NULL', 11: 'WKS', 12: 'PTR', 13: 'HINFO', 14: 'MINFO', 15: 'MX',
                  16: 'TXT', 28: 'AAAA', 33: 'SRV', 41: 'OPT', 256: 'URI'}
GOPACKET_CLASSES = {1: 'IN', 2: 'CS', 3: 'CH', 4: 'HS', 255: 'Any'}
GOPACKET_OPCODES = {0: 'Query', 1: 'IQuery', 2: 'Status', 4: 'Notify', 5: 'Update'}
GOPACKET_RCODES = {0: 'No Error', 1: 'Format Error', 2: 'Server Failure',
                   3: 'Non-Existent Domain', 4: 'Not Implemented', 5: 'Query Refused',
                   6: 'Name Exists when it should not', 7: 'RR Set Exists when it should not',
                   8: 'RR Set that should exist does not', 9: 'Server Not Authoritative for zone',
                   10: 'Name not contained in zone', 16: 'Bad OPT Version/TSIG Signature Failure',
                   17: 'Key not recognized', 18: 'Signature out of time window',
                   19: 'Bad TKEY Mode', 20: 'Duplicate key name', 21: 'Algorithm not supported',
                   22: 'Bad Truncation', 23: 'Bad/missing Server Cookie'}

SKYDIVE_FILES = ['dns.pcap', 'eth-ip4-arp-dns-req-http-google.pcap']
CORPUS_PREFIXES = ('dns', 'dhcp-', 'bootp', 'vrrp', 'edns', 'hncp_dhcpv4')

BASE = ['frame.time_epoch', 'frame.len', 'frame.cap_len', '_ws.malformed', 'eth.src', 'eth.dst',
        'ip.src', 'ipv6.src', 'ip.dst', 'ipv6.dst', 'udp.srcport',
        'tcp.srcport', 'udp.dstport', 'tcp.dstport', 'ip.len', 'ip.hdr_len']
DHCP = ['dhcp.hw.len', 'dhcp.hops', 'dhcp.id', 'dhcp.secs', 'dhcp.flags', 'dhcp.server',
        'dhcp.file', 'udp.payload']
VRRP = ['vrrp.version', 'vrrp.virt_rtr_id', 'vrrp.prio', 'vrrp.addr_count', 'vrrp.adver_int',
        'vrrp.short_adver_int', 'vrrp.checksum']
DNS = ['dns.id', 'dns.flags', 'dns.flags.response', 'dns.flags.opcode', 'dns.flags.authoritative',
       'dns.flags.truncated', 'dns.flags.recdesired', 'dns.flags.recavail', 'dns.flags.z',
       'dns.flags.rcode', 'dns.count.queries', 'dns.count.answers', 'dns.count.auth_rr',
       'dns.count.add_rr', 'dns.qry.name', 'dns.qry.type', 'dns.qry.class', 'dns.a', 'dns.aaaa',
       'udp.length', 'dns.length']


# Link types skyprobe reads (parse/parsed_packet.cc IsSupportedLinkType, as
# libpcap's pcap_datalink reports them): NULL, EN10MB, RAW (12 and 101),
# LINUX_SLL, IPV4, IPV6. Corpus files of other link types (FRELAY, PPP, ...)
# are refused at start; test_other_link_types_are_refused checks that they are.
READ_LINK_TYPES = {0, 1, 12, 101, 113, 228, 229}


def candidate_files():
    out = []
    sky = h.shared_dir('skydive')
    out += [os.path.join(sky, n) for n in SKYDIVE_FILES]
    corpus = h.shared_dir('tcpdump')
    out += [os.path.join(corpus, n) for n in sorted(os.listdir(corpus))
            if n.startswith(CORPUS_PREFIXES) and 'dhcpv6' not in n and 'dhcp6' not in n
            and n.endswith(('.pcap', '.pcapng'))]
    return out


def split_by_link_type():
    """(files skyprobe reads, {file: link type} of the others), from the file headers."""
    read, other = [], {}
    for path in candidate_files():
        scan = h.libpcap_scan(path)
        if scan.opened and scan.datalink in READ_LINK_TYPES:
            read.append(path)
        else:
            other[path] = scan.datalink
    return read, other


def files():
    return split_by_link_type()[0]


def norm(ip):
    return str(ipaddress.ip_address(ip))


def tshark_frames(tshark, path, fields):
    """Frames where tshark decodes DNS, DHCP or VRRP: one dict each, in order."""
    cmd = [tshark, '-r', path, '-Y', 'dns or dhcp or vrrp', '-T', 'fields', '-E',
           'occurrence=a', '-E', 'aggregator=\x1f', '-E', 'separator=\x1e',
           '-e', 'frame.protocols']
    for f in BASE + fields:
        cmd += ['-e', f]
    proc = subprocess.run(cmd, capture_output=True, timeout=300)
    rows = []
    for line in proc.stdout.decode('utf-8', 'replace').split('\n'):
        if not line:
            continue
        values = line.split('\x1e')
        row = {n: (v.split('\x1f') if v else []) for n, v in
               zip(['frame.protocols'] + BASE + fields, values)}
        src = (row['ip.src'] or row['ipv6.src'] or [None])[0]
        dst = (row['ip.dst'] or row['ipv6.dst'] or [None])[0]
        if src is None or dst is None:
            continue
        # Tunnelled frames: the innermost addresses (the flow's own).
        src, dst = norm(src.split(',')[-1]), norm(dst.split(',')[-1])
        sport = (row['udp.srcport'] or row['tcp.srcport'] or [None])[0]
        dport = (row['udp.dstport'] or row['tcp.dstport'] or [None])[0]
        row['key'] = frozenset(((src, int(sport) if sport else 0),
                                (dst, int(dport) if dport else 0)))
        # The innermost MACs: flows between the same addresses with other
        # MACs are other flows (VRRP's virtual MAC per router id).
        row['macs'] = frozenset(m[-1].split(',')[-1] for m in (row['eth.src'], row['eth.dst']) if m)
        row['ports'] = {int(p) for p in (sport, dport) if p}
        row['protocols'] = row['frame.protocols'][0].split(':')
        rows.append(row)
    return rows


def flow_key(flow):
    net = flow.get('Network') or {}
    tr = flow.get('Transport') or {}
    return frozenset(((norm(net['A']), int(tr.get('A', 0) or 0)),
                      (norm(net['B']), int(tr.get('B', 0) or 0))))


def first(row, name, conv=str):
    values = row.get(name) or []
    return conv(values[0]) if values else None


def num(v):
    return int(v, 0)


def flag(v):
    return v in ('1', 'True')


# Ports on which gopacket (so Skydive, so skyprobe: parse_l4.cc) takes UDP or
# TCP payload for DNS; tshark also decodes other ports (dns_udp_8053.pcap).
DNS_PORTS = {53}
# Bytes of a DNS message a record keeps (record/app_meta.h kAppMessageMax):
# the latest message longer than that leaves the flow without a DNS layer
# (docs/app-metadata.md), though gopacket would decode it.
KEPT_MAX = 512


def dns_decodes(row):
    """Whether Skydive's decoder takes this message tshark decodes as DNS.

    gopacket refuses a message it cannot decode whole: one tshark itself
    calls malformed, or one cut by the capture's snaplen (tshark decodes the
    part captured). Such a message does not replace the flow's DNS layer.
    (skyprobe reads files with the mapped reader, its default, which hands
    the parser every frame whole: dnssec.pcap's 3054-byte response is read
    as gopacket reads it.)
    """
    if not row['ports'] & DNS_PORTS or row['_ws.malformed']:
        return False
    return first(row, 'frame.cap_len', num) == first(row, 'frame.len', num)


def dns_length(row):
    """The DNS message's length: the UDP payload's, or TCP's 2-byte prefix."""
    if row['udp.length']:
        return first(row, 'udp.length', num) - 8
    return first(row, 'dns.length', num)


def link_macs(flow):
    link = flow.get('Link') or {}
    return frozenset(m for m in (link.get('A'), link.get('B')) if m)


def flow_at(flows, row):
    """The UUID of the one flow of the row's conversation (its key and MACs)
    whose Start..Last (ms) holds the row's time; None if not exactly one."""
    records = flows.get(row['key'], [])
    if len(records) > 1:
        records = [f for f in records if link_macs(f) == row['macs']]
    t_ms = float(first(row, 'frame.time_epoch') or 0) * 1000
    inside = [f['UUID'] for f in records if f['Start'] - 1 <= t_ms <= f['Last'] + 1]
    return inside[0] if len(inside) == 1 else None


def expect_dhcp(row):
    payload = bytes.fromhex(first(row, 'udp.payload') or '')
    want = {'hardware_len': first(row, 'dhcp.hw.len', num),
            'hardware_opts': first(row, 'dhcp.hops', num),
            'xid': first(row, 'dhcp.id', num), 'secs': first(row, 'dhcp.secs', num),
            'flags': first(row, 'dhcp.flags', num)}
    for name, start, size in (('server_name', 44, 64), ('file', 108, 128)):
        raw = payload[start:start + size].split(b'\x00')[0]
        want[name] = base64.b64encode(raw).decode() if raw else None
    want['contents'] = base64.b64encode(payload).decode() if len(payload) <= 512 else None
    # protobuf's JSON leaves zeros out.
    return {k: (v if v != 0 else None) for k, v in want.items()}


def expect_vrrp(row):
    want = {'version': first(row, 'vrrp.version', num),
            'virtual_rtrID': first(row, 'vrrp.virt_rtr_id', num),
            'priority': first(row, 'vrrp.prio', num),
            'count_ipaddr': first(row, 'vrrp.addr_count', num),
            'adver_int': first(row, 'vrrp.adver_int', num),
            'checksum': first(row, 'vrrp.checksum', num)}
    if want['version'] == 3:
        # gopacket's VRRPv2 decoder does not check the version: on a VRRPv3
        # message its 8-bit Advertisement Interval is the low byte of v3's
        # 12-bit Max Advertise Interval (same offset), and so is Skydive's.
        want['adver_int'] = first(row, 'vrrp.short_adver_int', num) & 0xFF
    return {k: (v if v != 0 else None) for k, v in want.items()}


def expect_dns(row):
    want = {'ID': first(row, 'dns.id', num),
            'QR': flag(first(row, 'dns.flags.response')) or None,
            'OpCode': GOPACKET_OPCODES.get(first(row, 'dns.flags.opcode', num), 'Unknown'),
            'AA': flag(first(row, 'dns.flags.authoritative') or '0') or None,
            'TC': flag(first(row, 'dns.flags.truncated') or '0') or None,
            'RD': flag(first(row, 'dns.flags.recdesired') or '0') or None,
            'RA': flag(first(row, 'dns.flags.recavail') or '0') or None,
            # gopacket's Z is the three bits after RA (Z, AD, CD: RFC 4035
            # took two of RFC 1035's three), so Skydive's and skyprobe's too.
            'Z': (first(row, 'dns.flags', num) >> 4) & 7,
            'QDCount': first(row, 'dns.count.queries', num),
            'ANCount': first(row, 'dns.count.answers', num),
            'NSCount': first(row, 'dns.count.auth_rr', num),
            'ARCount': first(row, 'dns.count.add_rr', num)}
    want = {k: (v if v != 0 else None) for k, v in want.items()}
    want['Timestamp'] = int(float(first(row, 'frame.time_epoch')) * 1000)
    names = [n if n != '<Root>' else None for n in row['dns.qry.name']]
    want['Questions'] = [
        {'Name': n, 'Type': GOPACKET_TYPES.get(t, 'Unknown'),
         'Class': GOPACKET_CLASSES.get(c, 'Unknown')}
        for n, t, c in zip(names, map(num, row['dns.qry.type']), map(num, row['dns.qry.class']))]
    want['addresses'] = sorted(norm(a) for a in row['dns.a'] + row['dns.aaaa'])
    return want


def got_dns(layer):
    out = {k: layer.get(k) for k in ('ID', 'QR', 'OpCode', 'AA', 'TC', 'RD', 'RA', 'Z',
                                      'QDCount', 'ANCount', 'NSCount', 'ARCount', 'Timestamp')}
    out['Questions'] = [{'Name': q.get('Name'), 'Type': q.get('Type'), 'Class': q.get('Class')}
                        for q in layer.get('Questions', [])]
    addresses = []
    for section in ('Answers', 'Authorities', 'Additionals'):
        for rr in layer.get(section, []):
            if rr.get('Type') in ('A', 'AAAA') and rr.get('IP'):
                addresses.append(norm(rr['IP']))
    out['addresses'] = sorted(addresses)
    return out


class ExtraLayersTest(unittest.TestCase):

    def test_layers_equal_tshark(self):
        h.require_skyprobe(self)
        tshark = h.tshark_path()
        workdir = h.scratch_dir('extra_layers')
        diffs, compared, missing_ok = [], collections.Counter(), []
        not_decoded = set()  # conversations with DNS tshark decodes and gopacket would not
        for path in files():
            name = os.path.basename(path)
            broken = 'oobr' in name or 'asan' in name
            run = h.run_skyprobe(['--pcap', path, '--extra-layers', 'ALL'],
                                 json_path=os.path.join(workdir, name + '.json'))
            self.assertEqual(run.returncode, 0, run.describe())
            flows = {}
            for flow in h.final_flows(self, run.records, name):
                if (flow.get('Network') or {}).get('A'):
                    flows.setdefault(flow_key(flow), []).append(flow)
            rows = tshark_frames(tshark, path, DHCP + VRRP + DNS)
            first_of, latest_of = {}, {}
            for row in rows:
                # A conversation idle longer than --expire is two flows (the
                # second from its next frame on): each has its own first and
                # latest message, so rows go with the flow whose Start..Last
                # holds their time.
                conv = (row['key'], row['macs'], flow_at(flows, row))
                for proto in ('dhcp', 'vrrp'):
                    # A message tshark calls malformed is no layer (gopacket
                    # refuses it too): the flow's first is the next one.
                    if proto in row['protocols'] and not row['_ws.malformed']:
                        first_of.setdefault((proto, conv), row)
                if 'dns' in row['protocols'] and row['dns.id'] and dns_decodes(row):
                    latest_of[('dns', conv)] = row
                elif 'dns' in row['protocols'] and row['dns.id']:
                    not_decoded.add((name, conv))
            for (proto, (key, macs, uuid)), row in list(first_of.items()) + list(latest_of.items()):
                records = flows.get(key, [])
                if len(records) > 1:  # flows apart by their MACs
                    records = [f for f in records if link_macs(f) == macs]
                if len(records) > 1 and uuid:  # apart in time (expired, then again)
                    records = [f for f in records if f['UUID'] == uuid]
                layer_name = {'dhcp': 'DHCPv4', 'vrrp': 'VRRPv2', 'dns': 'DNS'}[proto]
                layers = [f[layer_name] for f in records if layer_name in f]
                where = '%s %s %s' % (name, proto, sorted(key))
                if proto == 'dns' and dns_length(row) > KEPT_MAX and len(records) == 1:
                    # Longer than kept: no layer rather than an older message's.
                    if layers:
                        diffs.append('%s: a DNS layer, though the latest message has %d bytes'
                                     % (where, dns_length(row)))
                    compared['dns longer than kept'] += 1
                    continue
                if len(records) != 1 or not layers:
                    if broken:
                        missing_ok.append(where)
                    else:
                        diffs.append('%s: %d records, layer %s' % (where, len(records),
                                                                   bool(layers)))
                    continue
                layer = layers[0]
                if proto == 'dhcp':
                    want = expect_dhcp(row)
                    got = {k: layer.get(k) for k in want}
                elif proto == 'vrrp':
                    want = expect_vrrp(row)
                    got = {k: layer.get(k) for k in want}
                else:
                    want = expect_dns(row)
                    got = got_dns(layer)
                compared[proto] += 1
                for k in want:
                    if want[k] != got[k]:
                        diffs.append('%s %s: tshark %r, skyprobe %r' % (where, k, want[k], got[k]))
        self.assertFalse(diffs, '%d differences:\n  %s' % (len(diffs), '\n  '.join(diffs[:40])))
        # The rule that leaves messages out is exercised: the corpus has
        # malformed, snaplen-cut and port-8053 DNS (docs/app-metadata.md).
        self.assertGreaterEqual(len(not_decoded), 3, not_decoded)
        self.assertGreaterEqual(compared['dns'], 20, compared)
        self.assertGreaterEqual(compared['dns longer than kept'], 1, compared)  # dnssec.pcap
        self.assertGreater(compared['dhcp'], 5, compared)
        self.assertGreater(compared['vrrp'], 0, compared)
        print('compared %s; in broken corpus files, without the layer: %s'
              % (dict(compared), missing_ok))

    def test_other_link_types_are_refused(self):
        """The files left out are those skyprobe refuses: the list is not hiding failures."""
        h.require_skyprobe(self)
        workdir = h.scratch_dir('extra_layers')
        read, other = split_by_link_type()
        self.assertGreater(len(read), 20)
        for path, link in sorted(other.items()):
            run = h.run_skyprobe(['--pcap', path, '--extra-layers', 'ALL'],
                                 json_path=os.path.join(workdir, 'refused.json'))
            self.assertNotEqual(run.returncode, 0, '%s (link type %d) was read' % (path, link))
        print('left out (link types skyprobe does not read): %s'
              % ', '.join('%s (%d)' % (os.path.basename(p), l) for p, l in sorted(other.items())))

    def test_off_means_absent(self):
        h.require_skyprobe(self)
        workdir = h.scratch_dir('extra_layers')
        for path in files()[:6]:
            run = h.run_skyprobe(['--pcap', path],
                                 json_path=os.path.join(workdir, 'off.json'))
            self.assertEqual(run.returncode, 0, run.describe())
            for flow in h.final_flows(self, run.records, path):
                for name in ('DNS', 'DHCPv4', 'VRRPv2'):
                    self.assertNotIn(name, flow, path)


if __name__ == '__main__':
    h.main()
