"""IPFIX output of skyprobe, read by python3-ipfix and compared with the
JSON records of the same run.

python3-ipfix (Debian) is the decoder: it knows the IANA and RFC 5103
elements from its own registry files; skyprobe's enterprise elements are
registered from the RFC 5610 type records the export itself carries, so every
name here comes from the registry or from the stream, never from skyprobe's
tables.

    recs = read_ipfix_file(path)                 # flow records, in order
    problems = compare_with_json(json_records, recs, inputs=..., pen=32473)
"""

import collections
import io
import ipaddress
import sys

try:
    import ipfix.ie
    import ipfix.message
    import ipfix.reader
    import ipfix.types
except ImportError:  # the test says so itself (ipfix_available)
    ipfix = None

PEN = 32473  # RFC 5612's documentation PEN

# ExpireReason / Event -> flowEndReason (IANA flowEndReason sub-registry).
END_REASON = {'IDLE': 1, 'TCP_CLOSED': 3, 'FLUSH': 4, 'EVICTED': 5}
ACTIVE_TIMEOUT = 2
# An element a record may carry or not (its value checked elsewhere).
OPTIONAL = object()
# TCP health counters of the JSON TCPMetric (AB and BA each).
HEALTH_COUNTERS = ('Retransmissions', 'FastRetransmissions', 'OutOfOrder', 'LostSegments',
                   'DupAcks', 'ZeroWindows')
MPLS_ELEMENTS = ('mplsTopLabelStackSection', 'mplsLabelStackSection2', 'mplsLabelStackSection3')
IP_PROTOCOL = {'TCP': 6, 'UDP': 17, 'SCTP': 132}
# Skydive's ICMPType names of the on-wire types (a request and its reply
# share one name).
ICMP4_TYPES = {0: 'ECHO', 8: 'ECHO', 3: 'DESTINATION_UNREACHABLE', 11: 'TIME_EXCEEDED',
               5: 'REDIRECT', 4: 'SOURCE_QUENCH', 12: 'PARAMETER_PROBLEM',
               13: 'TIMESTAMP', 14: 'TIMESTAMP', 15: 'INFO', 16: 'INFO',
               17: 'ADDRESS_MASK', 18: 'ADDRESS_MASK', 9: 'ROUTER', 10: 'ROUTER'}
ICMP6_TYPES = {128: 'ECHO', 129: 'ECHO', 1: 'DESTINATION_UNREACHABLE', 2: 'PACKET_TOO_BIG',
               3: 'TIME_EXCEEDED', 4: 'PARAMETER_PROBLEM', 133: 'ROUTER', 134: 'ROUTER',
               135: 'NEIGHBOR', 136: 'NEIGHBOR', 137: 'REDIRECT'}


def ipfix_available():
    """None when python3-ipfix imports, else why not."""
    if ipfix is None:
        return ('python3-ipfix is not importable by %s (apt-get install python3-ipfix; '
                'meson runs this test with a python3 that has it)' % sys.executable)
    return None


# IANA elements newer than python3-ipfix's registry file, as IANA's registry
# lists them (tshark's and libfixbuf's decoders know them by these numbers).
NEWER_IANA = ['httpRequestMethod(459)<string>', 'httpRequestHost(460)<string>']
# The application metadata under the PEN (--app-metadata), as named by the
# export's own RFC 5610 type records.
APP_ELEMENTS = ['TLSSNI', 'TLSALPN', 'TLSVersion', 'TLSJA3', 'TLSJA4', 'DNSQueryName',
                'DNSQueryType', 'DNSResponseCode']
# The JSON record's TLS.Version and DNSQuery names (record/app_format.h,
# record/dns_message.h) as the numbers IPFIX carries.
TLS_VERSION_NUMBERS = {'TLS 1.3': 0x0304, 'TLS 1.2': 0x0303, 'TLS 1.1': 0x0302,
                       'TLS 1.0': 0x0301, 'SSL 3.0': 0x0300}
DNS_TYPE_NUMBERS = {'A': 1, 'NS': 2, 'CNAME': 5, 'SOA': 6, 'PTR': 12, 'MX': 15, 'TXT': 16,
                    'AAAA': 28, 'SRV': 33, 'ANY': 255}
DNS_RCODE_NUMBERS = {'NOERROR': 0, 'FORMERR': 1, 'SERVFAIL': 2, 'NXDOMAIN': 3, 'NOTIMP': 4,
                     'REFUSED': 5}


def _number(name, table, prefix):
    """A JSON mnemonic as its number: the table's, else PREFIX and the number
    (decimal; hexadecimal after '0x')."""
    if name in table:
        return table[name]
    if not name.startswith(prefix):
        raise ValueError('%r: a name this test does not know' % name)
    return int(name[len(prefix):], 16 if prefix == '0x' else 10)


def _fresh_model():
    ipfix.ie.clear_infomodel()
    ipfix.ie.use_iana_default()
    ipfix.ie.use_5103_default()
    for spec in NEWER_IANA:
        ipfix.ie.for_spec(spec)


def _records(data):
    reader = ipfix.reader.from_stream(io.BytesIO(data))
    return list(reader.namedict_iterator())


def read_ipfix_bytes(data):
    """(flow records, type records) of a stream of messages, as dicts."""
    _fresh_model()
    types_by_code = {t.num: t.name for t in ipfix.types._roottypes}
    # Pass 1: the RFC 5610 type records name skyprobe's enterprise elements.
    type_records = [r for r in _records(data) if 'informationElementName' in r]
    _fresh_model()  # pass 1 made placeholder elements for the unknown numbers
    for r in type_records:
        ipfix.ie.for_spec('%s(%d/%d)<%s>' % (
            r['informationElementName'], r['privateEnterpriseNumber'],
            r['informationElementId'], types_by_code[r['informationElementDataType']]))
    # Pass 2: everything, enterprise elements by name.
    flows = [r for r in _records(data) if 'flowId' in r]
    return flows, type_records


def read_ipfix_file(path):
    with open(path, 'rb') as handle:
        return read_ipfix_bytes(handle.read())


def _ms(value):
    """dateTimeMilliseconds as python3-ipfix decodes it (an aware or naive datetime)."""
    import datetime
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return round(value.timestamp() * 1000)


def _path(rec):
    return rec.get('LayersPath', '').split('/') if rec.get('LayersPath') else []


def _protocol(rec):
    """IP protocol number of a JSON record, None when unknown (as skyprobe decides it
    from the layers: transport, ICMP, or GRE right after IP)."""
    if 'Network' not in rec:
        return None
    transport = rec.get('Transport', {}).get('Protocol')
    if transport in IP_PROTOCOL:
        return IP_PROTOCOL[transport]
    path = _path(rec)
    if 'ICMP' in rec:
        return 1 if 'ICMPv4' in path else 58
    after_ip = False
    for layer in path:
        if layer in ('IPv4', 'IPv6'):
            after_ip = True
        elif after_ip and layer == 'GRE':
            return 47
        elif after_ip and layer not in ('IPv6HopByHop', 'IPv6Routing', 'IPv6Destination'):
            break
    return None


def expected_elements(rec, input_index=None, pen=None, node_tid=''):
    """The IPFIX elements (name -> value) a JSON record must give."""
    e = {}
    e['flowId'] = int(rec['UUID'], 16)
    e['flowStartMilliseconds'] = rec['Start']
    e['flowEndMilliseconds'] = rec['Last']
    delta = rec['LastUpdateMetric']
    e['octetDeltaCount'] = delta['ABBytes']
    e['packetDeltaCount'] = delta['ABPackets']
    e['reverseOctetDeltaCount'] = delta['BABytes']
    e['reversePacketDeltaCount'] = delta['BAPackets']
    e['flowEndReason'] = (ACTIVE_TIMEOUT if rec['Event'] == 'UPDATE'
                          else END_REASON[rec['ExpireReason']])
    if input_index:
        e['ingressInterface'] = input_index
    if rec.get('CaptureID'):
        # The capture point's CaptureID (IANA interfaceName, RFC 7012).
        e['interfaceName'] = rec['CaptureID']
    network = rec.get('Network')
    if network:
        v6 = network['Protocol'] == 'IPV6'
        e['ipVersion'] = 6 if v6 else 4
        addr = 'IPv6Address' if v6 else 'IPv4Address'
        e['source' + addr] = ipaddress.ip_address(network['A'])
        e['destination' + addr] = ipaddress.ip_address(network['B'])
        proto = _protocol(rec)
        if proto is not None:
            e['protocolIdentifier'] = proto
    transport = rec.get('Transport')
    if transport:
        e['sourceTransportPort'] = transport['A']
        e['destinationTransportPort'] = transport['B']
        if transport['Protocol'] == 'TCP':
            e['tcpControlBits'] = None          # any value: checked against tshark elsewhere
            e['reverseTcpControlBits'] = None
    if 'ICMP' in rec:
        e['icmpTypeCodeIPv4' if 'ICMPv4' in _path(rec) else 'icmpTypeCodeIPv6'] = None
    link = rec.get('Link')
    if link:
        e['sourceMacAddress'] = bytes.fromhex(link['A'].replace(':', ''))
        e['destinationMacAddress'] = bytes.fromhex(link['B'].replace(':', ''))
    tags = _path(rec).count('Dot1Q')
    if tags >= 1:
        e['vlanId'] = link['ID'] & 0xFFF
    if tags >= 2:
        e['dot1qCustomerVlanId'] = (link['ID'] >> 12) & 0xFFF
    path = _path(rec)
    tunnel = next((l for l in reversed(path) if l in ('VXLAN', 'Geneve', 'GRE')), None)
    net_id = (network or {}).get('ID', 0)
    if tunnel == 'VXLAN':
        e['layer2SegmentId'] = 1 << 56 | net_id
    elif tunnel == 'Geneve':
        e['layer2SegmentId'] = net_id
    elif tunnel == 'GRE' and net_id:
        e['greKey'] = net_id
    if path and path[-1] == 'MPLS':
        # The stack that ends the flow's path: its top entry at least, up to
        # three (values: against tshark, mpls_stacks).
        e[MPLS_ELEMENTS[0]] = None
        for name in MPLS_ELEMENTS[1:]:
            e[name] = OPTIONAL
    http = rec.get('HTTP') or {}
    if 'Method' in http:
        e['httpRequestMethod'] = http['Method']
    if 'Host' in http:
        e['httpRequestHost'] = http['Host']
    tls = rec.get('TLS')
    if pen and tls:
        e['TLSVersion'] = _number(tls['Version'], TLS_VERSION_NUMBERS, '0x')
        if 'SNI' in tls:
            e['TLSSNI'] = tls['SNI']
        if tls.get('ALPN'):
            e['TLSALPN'] = ','.join(tls['ALPN'])
        if 'JA3' in tls:
            e['TLSJA3'] = tls['JA3']
            e['TLSJA4'] = tls['JA4']
    dns = rec.get('DNSQuery')
    if pen and dns:
        if 'Name' in dns:
            e['DNSQueryName'] = dns['Name']
            e['DNSQueryType'] = _number(dns['Type'], DNS_TYPE_NUMBERS, 'TYPE')
        if 'ResponseCode' in dns:
            e['DNSResponseCode'] = _number(dns['ResponseCode'], DNS_RCODE_NUMBERS, 'RCODE')
    if pen:
        e['TrackingID'] = int(rec['TrackingID'], 16)
        e['L3TrackingID'] = int(rec['L3TrackingID'], 16)
        if rec.get('ParentUUID'):
            e['ParentUUID'] = int(rec['ParentUUID'], 16)
        if rec['Metric'].get('RTT'):
            e['RTT'] = rec['Metric']['RTT']
        e['LayersPath'] = rec['LayersPath']
        e['Application'] = rec['Application']
        if rec.get('NodeTID', node_tid):
            e['NodeTID'] = rec.get('NodeTID', node_tid)
        if rec.get('CommunityID'):
            e['CommunityID'] = rec['CommunityID']
        # TCP health (--tcp-health): the twelve counters, totals as in the
        # JSON record; each handshake latency once measured.
        tcp = rec.get('TCPMetric') or {}
        if 'ABRetransmissions' in tcp:
            for name in HEALTH_COUNTERS:
                for side in ('AB', 'BA'):
                    e[side + name] = tcp.get(side + name, 0)
            for name in ('ServerHandshakeLatency', 'ClientHandshakeLatency'):
                if name in tcp:
                    e[name] = tcp[name]
    return e


def mpls_stacks(tshark, pcap, udp_mpls_ports=(51234, 6635)):
    """tshark's view of a capture's MPLS: for each frame with a label stack,
    (time in ms, first Ethernet source and destination, first IP source and
    destination or None, first UDP ports or None, the stack's entries as
    IPFIX carries them: 3 octets each, label << 4 | EXP << 1 | S, from the top
    to the bottom of the frame's first stack)."""
    import subprocess  # pylint: disable=import-outside-toplevel
    args = [tshark, '-r', pcap]
    for port in udp_mpls_ports:
        args += ['-d', 'udp.port==%d,mpls' % port]
    args += ['-Y', 'mpls', '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=;',
             '-e', 'frame.time_epoch', '-e', 'eth.src', '-e', 'eth.dst', '-e', 'ip.src',
             '-e', 'ip.dst', '-e', 'ipv6.src', '-e', 'ipv6.dst', '-e', 'udp.srcport',
             '-e', 'udp.dstport', '-e', 'mpls.label', '-e', 'mpls.exp', '-e', 'mpls.bottom']
    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=600).stdout
    frames = []
    for line in out.splitlines():
        f = [c.split(';') for c in line.split('\t')]
        first = lambda col: f[col][0] if f[col][0] else None  # noqa: E731
        seconds, _, fraction = f[0][0].partition('.')
        ms = int(seconds) * 1000 + int((fraction + '000')[:3])  # the table's ns // 10^6
        ip = (first(3), first(4)) if first(3) else ((first(5), first(6)) if first(5) else None)
        ports = (int(first(7)), int(first(8))) if first(7) else None
        stack = []
        for label, exp, bottom in zip(f[9], f[10], f[11]):
            entry = int(label) << 4 | int(exp) << 1 | int(bottom)
            stack.append(entry.to_bytes(3, 'big'))
            if int(bottom):
                break
        frames.append((ms, first(1), first(2), ip, ports, stack))
    return frames


def _normal(name, value):
    if name.endswith('Milliseconds'):
        return _ms(value)
    if name.endswith('MacAddress'):
        return bytes(value)
    return value


def compare_with_json(json_records, ipfix_records, inputs=None, pen=None, node_tid='',
                      limit=20):
    """Problems (strings) between the JSON records and the IPFIX flow records,
    taken in the same order (both sinks get every record in turn). `inputs`
    maps a JSON record to its expected ingressInterface (None: none sent).
    Also checks that each flow's deltas sum to its final Metric."""
    problems = []
    if len(json_records) != len(ipfix_records):
        problems.append('%d JSON records but %d IPFIX flow records'
                        % (len(json_records), len(ipfix_records)))
    sums = collections.defaultdict(lambda: [0, 0, 0, 0])
    for index, (rec, got) in enumerate(zip(json_records, ipfix_records)):
        want = expected_elements(rec, inputs(rec) if inputs else None, pen, node_tid)
        for name, value in want.items():
            if name not in got:
                if value is not OPTIONAL:
                    problems.append('record %d (%s): %s missing' % (index, rec['UUID'], name))
            elif value is not None and value is not OPTIONAL and \
                    _normal(name, got[name]) != value:
                problems.append('record %d (%s): %s = %r, JSON says %r'
                                % (index, rec['UUID'], name, _normal(name, got[name]), value))
        for name in got:
            if name not in want:
                problems.append('record %d (%s): unexpected %s = %r'
                                % (index, rec['UUID'], name, got[name]))
        if 'icmpTypeCodeIPv4' in got or 'icmpTypeCodeIPv6' in got:
            v4 = 'icmpTypeCodeIPv4' in got
            code = got['icmpTypeCodeIPv4' if v4 else 'icmpTypeCodeIPv6']
            names = ICMP4_TYPES if v4 else ICMP6_TYPES
            if names.get(code >> 8, 'UNKNOWN') != rec['ICMP']['Type'] or \
                    (code & 0xFF) != rec['ICMP'].get('Code', 0):
                problems.append('record %d: ICMP type/code %d/%d but JSON says %s'
                                % (index, code >> 8, code & 0xFF, rec['ICMP']))
        s = sums[rec['UUID']]
        for i, k in enumerate(('octetDeltaCount', 'packetDeltaCount',
                               'reverseOctetDeltaCount', 'reversePacketDeltaCount')):
            s[i] += got.get(k, 0)
        if rec['Event'] == 'EXPIRE':
            m = rec['Metric']
            if s != [m['ABBytes'], m['ABPackets'], m['BABytes'], m['BAPackets']]:
                problems.append('flow %s: deltas sum to %s, Metric is %s' % (rec['UUID'], s, m))
        if len(problems) > limit:
            problems.append('... (stopped after %d problems)' % limit)
            break
    return problems
