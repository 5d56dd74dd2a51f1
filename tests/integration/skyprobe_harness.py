"""Shared helpers for skyprobe's Python integration tests.

Runs the real `skyprobe` binary, parses its JSON-lines flow records and the
counter summary it prints on stderr, locates the shared traces and tshark,
reads pcap files (pure Python and through libpcap) and parses tshark's
conversation tables.

Environment:
  SKYPROBE_BUILD_ROOT     meson build dir (default ./build); the binary is
                          $SKYPROBE_BUILD_ROOT/src/app/skyprobe
  SKYPROBE_SOURCE_ROOT    source tree (default: two levels above this file)
  SKYPROBE_PCAPS          shared traces
                          (default $SKYPROBE_SOURCE_ROOT/../shared/pcaps)
  SKYPROBE_REQUIRE_SHARED=1  missing shared traces fail instead of skipping
  SKYPROBE_REQUIRE_TSHARK=1  missing tshark fails instead of skipping
"""

import collections
import ctypes
import ctypes.util
import dataclasses
import ipaddress
import json
import os
import re
import signal
import shutil
import struct
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SUMMARY_HEADER = 'skyprobe: summary'
# Probe runs a corpus test keeps going at once. A run is mostly start-up, of
# which 0.1 s is EAL sleeping to measure the TSC where the CPU does not state
# its frequency (AMD, most VMs): four at a time keep two cores busy.
RUNS_AT_ONCE = 4
# Signs of a crash or of DPDK chatter that must never reach the user when the
# probe refuses its input.
NOISE_PATTERNS = (
    re.compile(r'EAL:'),
    re.compile(r'^\s*#\d+\s+0x[0-9a-f]+', re.M),      # gdb/libunwind frames
    re.compile(r'Segmentation fault|Aborted|core dumped', re.I),
    re.compile(r'terminate called'),
    re.compile(r'AddressSanitizer|UndefinedBehaviorSanitizer|runtime error:'),
    re.compile(r'PANIC in'),
    re.compile(r'Backtrace|backtrace', re.I),
)


# ---------------------------------------------------------------------------
# Locations
# ---------------------------------------------------------------------------

def env_flag(name):
    """True when the environment variable is set to 1/yes/true."""
    return os.environ.get(name, '').strip().lower() in ('1', 'yes', 'true')


def source_root():
    """The skyprobe source tree."""
    return os.environ.get('SKYPROBE_SOURCE_ROOT',
                          os.path.dirname(os.path.dirname(HERE)))


def build_root():
    """The meson build directory."""
    return os.path.abspath(os.environ.get('SKYPROBE_BUILD_ROOT', 'build'))


def skyprobe_path():
    """Path of the binary under test (SKYPROBE_BIN overrides)."""
    return os.environ.get('SKYPROBE_BIN',
                          os.path.join(build_root(), 'src', 'app', 'skyprobe'))


def require_skyprobe(testcase):
    """Fail (never skip) when the binary is missing: it is what we test."""
    path = skyprobe_path()
    if not os.access(path, os.X_OK):
        testcase.fail('skyprobe binary not found at %s (build it, or set '
                      'SKYPROBE_BUILD_ROOT)' % path)
    return path


def pcaps_dir():
    """Root of the shared traces (skydive/ and tcpdump/ below it)."""
    default = os.path.join(source_root(), '..', 'shared', 'pcaps')
    return os.path.abspath(os.environ.get('SKYPROBE_PCAPS', default))


def shared_dir(sub):
    """Return pcaps_dir()/sub, or skip/fail when it is absent."""
    path = os.path.join(pcaps_dir(), sub)
    if not os.path.isdir(path):
        message = ('shared traces not found at %s: golden tests did not run'
                   % path)
        if env_flag('SKYPROBE_REQUIRE_SHARED'):
            raise AssertionError(message)
        raise unittest.SkipTest(message)
    return path


def tshark_path():
    """Return the tshark executable, or skip/fail when it is absent."""
    path = shutil.which('tshark')
    if path is None:
        message = ('tshark not found in PATH: conversation tests did not run '
                   '(apt-get install tshark)')
        if env_flag('SKYPROBE_REQUIRE_TSHARK'):
            raise AssertionError(message)
        raise unittest.SkipTest(message)
    return path


def gen_pcap_script():
    """Path of the capture generator."""
    return os.path.join(source_root(), 'tests', 'data', 'gen_pcap.py')


def scratch_dir(name):
    """A directory under the build dir for generated test files."""
    path = os.path.join(build_root(), 'tests', 'integration', name)
    os.makedirs(path, exist_ok=True)
    return path


# ---------------------------------------------------------------------------
# Running the probe
# ---------------------------------------------------------------------------

@dataclasses.dataclass
class Run:
    """Result of one skyprobe invocation."""

    args: list
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    records: list = None     # JSON objects, in output order
    summary: dict = None     # counter name -> value, None if absent
    timed_out: bool = False

    def describe(self):
        """A compact description for assertion messages."""
        tail = '\n'.join(self.stderr.splitlines()[-15:])
        return ('skyprobe %s -> rc=%s%s\n--- stderr (tail) ---\n%s'
                % (' '.join(self.args), self.returncode,
                   ' (TIMEOUT)' if self.timed_out else '', tail))


def run_skyprobe(args, json_path=None, timeout=120):
    """Run skyprobe with args; with json_path, add --json and parse it."""
    cmd = [skyprobe_path()] + list(args)
    if json_path is not None:
        cmd += ['--json', json_path]
        if os.path.exists(json_path):
            os.unlink(json_path)
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=timeout)
        rc, out, err, timed_out = (proc.returncode, proc.stdout, proc.stderr,
                                   False)
    except subprocess.TimeoutExpired as exc:
        rc, timed_out = None, True
        out, err = exc.stdout or b'', exc.stderr or b''
    run = Run(list(args), rc, out.decode('utf-8', 'replace'),
              err.decode('utf-8', 'replace'), time.monotonic() - start,
              timed_out=timed_out)
    run.summary = parse_summary(run.stderr)
    if json_path is not None and os.path.exists(json_path):
        with open(json_path, encoding='utf-8') as handle:
            run.records = parse_json_lines(handle.read())
    return run


def parse_json_lines(text):
    """Parse JSON lines; every non-empty line must be one JSON object."""
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise AssertionError('JSON line %d is not valid JSON (%s): %.200s'
                                 % (number, exc, line)) from None
        if not isinstance(value, dict):
            raise AssertionError('JSON line %d is not an object: %.200s'
                                 % (number, line))
        records.append(value)
    return records


def parse_summary(stderr):
    """Return {counter: int} from the stderr summary block, or None."""
    lines = stderr.splitlines()
    try:
        start = max(i for i, line in enumerate(lines)
                    if line.strip() == SUMMARY_HEADER)
    except ValueError:
        return None
    counters = {}
    for line in lines[start + 1:]:
        # Names may hold any printable byte: a capture point's ID
        # ("capture./data/tap-1.pcap#2.packets_in"), an IPFIX destination.
        match = re.match(r'^\s+(\S+)\s+(-?\d+)\s*$', line)
        if not match:
            break
        counters[match.group(1)] = int(match.group(2))
    return counters


# ---------------------------------------------------------------------------
# Flow records
# ---------------------------------------------------------------------------

def final_flows(testcase, records, label='', workers=1):
    """Check record structure; return the EXPIRE record of each flow.

    Every record has a UUID and an Event of UPDATE or EXPIRE; each UUID has
    exactly one EXPIRE record and nothing after it.

    workers > 1: live sockets in a fanout group with ROLLOVER, which DPDK
    22.11's PMD always sets (docs/configuration.md): when a conversation's
    socket has a full ring the kernel hands its next frames to another
    socket, so a conversation may end as one EXPIRE record per worker with
    the same UUID (same key, same Start). A UUID then has at most `workers`
    EXPIRE records, which agree on Start; every one is returned, so the
    halves' packets add up in the checks that follow.
    """
    testcase.assertIsNotNone(records, '%s: no JSON output file' % label)
    finals = collections.OrderedDict()
    for index, record in enumerate(records):
        uuid = record.get('UUID')
        testcase.assertTrue(uuid, '%s: record %d has no UUID: %.300s'
                            % (label, index, record))
        event = record.get('Event')
        testcase.assertIn(event, ('UPDATE', 'EXPIRE'),
                          '%s: record %d (UUID %s) has Event %r'
                          % (label, index, uuid, event))
        if workers == 1 and uuid in finals:
            testcase.fail('%s: UUID %s has a record after its EXPIRE (or two '
                          'EXPIRE records: UUIDs not unique)\n  first: %s\n'
                          '  later: %s' % (label, uuid, brief(finals[uuid][0]),
                                           brief(record)))
        if event == 'EXPIRE':
            finals.setdefault(uuid, []).append(record)
    seen = {r.get('UUID') for r in records}
    missing = seen - set(finals)
    testcase.assertFalse(missing, '%s: flows without an EXPIRE record: %s'
                         % (label, sorted(missing)[:10]))
    if workers > 1:
        split = 0
        for uuid, halves in finals.items():
            testcase.assertLessEqual(len(halves), workers, '%s: UUID %s has %d EXPIRE records'
                                     % (label, uuid, len(halves)))
            testcase.assertEqual(len({r.get('Start') for r in halves}), 1, '%s: UUID %s: %s'
                                 % (label, uuid, [brief(r) for r in halves]))
            split += len(halves) > 1
        print('%s: %d of %d conversations split between the workers by the rollover'
              % (label, split, len(finals)), file=sys.stderr)
    return [r for halves in finals.values() for r in halves]


def brief(record):
    """Short description of a flow record for failure messages."""
    keys = ('Event', 'ExpireReason', 'LayersPath', 'Start', 'Last')
    parts = ['%s=%s' % (k, record.get(k)) for k in keys]
    for layer in ('Link', 'Network', 'Transport'):
        sub = record.get(layer) or {}
        if sub:
            parts.append('%s=%s->%s' % (layer, sub.get('A'), sub.get('B')))
    parts.append('Metric=%s' % (record.get('Metric'),))
    return ' '.join(parts)


def metric(flow, name):
    """A Metric counter (0 when absent)."""
    return int((flow.get('Metric') or {}).get(name, 0))


def flow_packets(flow):
    """AB + BA packets of a flow."""
    return metric(flow, 'ABPackets') + metric(flow, 'BAPackets')


def check_counters(testcase, run, flows, label=''):
    """Check the counter invariants of one run against its final flows.

    packets_in == packets_in_flows + filtered + sum(drop_*), the AB+BA packets of
    outermost flows (empty ParentUUID) add up to packets_in_flows, every
    non-empty ParentUUID names a flow of the run, and flows_created /
    flows_expired (when printed) match the flows seen.
    """
    summary = run.summary
    testcase.assertIsNotNone(summary, '%s: no "%s" block on stderr\n%s'
                             % (label, SUMMARY_HEADER, run.describe()))
    for name in ('packets_in', 'packets_in_flows'):
        testcase.assertIn(name, summary, '%s: summary lacks %s: %s'
                          % (label, name, summary))
    drops = {k: v for k, v in summary.items() if k.startswith('drop_')}
    filtered = summary.get('filtered', 0)
    testcase.assertEqual(
        summary['packets_in'],
        summary['packets_in_flows'] + filtered + sum(drops.values()),
        '%s: packets_in != packets_in_flows + filtered (%d) + drops %s'
        % (label, filtered, drops))
    outer = [f for f in flows if not f.get('ParentUUID')]
    testcase.assertEqual(
        sum(flow_packets(f) for f in outer), summary['packets_in_flows'],
        '%s: sum of AB+BA packets over %d outermost flows != packets_in_flows'
        % (label, len(outer)))
    uuids = {f['UUID'] for f in flows}
    for flow in flows:
        parent = flow.get('ParentUUID')
        testcase.assertTrue(not parent or parent in uuids,
                            '%s: flow %s has unknown ParentUUID %s'
                            % (label, flow['UUID'], parent))
    if 'flows_created' in summary:
        testcase.assertEqual(summary['flows_created'], len(flows),
                             '%s: flows_created vs flows in JSON' % label)
    if 'flows_expired' in summary:
        testcase.assertEqual(summary['flows_expired'], len(flows),
                             '%s: flows_expired vs EXPIRE records' % label)


def stderr_noise(stderr):
    """Return the crash/EAL patterns found in stderr (empty when clean)."""
    return [p.pattern for p in NOISE_PATTERNS if p.search(stderr)]


def check_clean_error(testcase, run, label, mentions=()):
    """Assert a clean refusal: rc > 0, exactly one stderr line, no noise.

    mentions: alternatives, at least one of which the line must contain
    (case-insensitive).
    """
    testcase.assertFalse(run.timed_out, '%s: timed out' % label)
    testcase.assertTrue(run.returncode is not None and run.returncode > 0,
                        '%s: expected a non-zero exit (not a signal)\n%s'
                        % (label, run.describe()))
    testcase.assertLess(run.returncode, 128, '%s: exit code looks like a '
                        'crash\n%s' % (label, run.describe()))
    testcase.assertEqual(stderr_noise(run.stderr), [],
                         '%s: crash or DPDK noise on stderr\n%s'
                         % (label, run.describe()))
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    testcase.assertEqual(len(lines), 1, '%s: expected one error line on '
                         'stderr, got %d\n%s' % (label, len(lines),
                                                 run.describe()))
    if mentions:
        low = lines[0].lower()
        testcase.assertTrue(any(str(m).lower() in low for m in mentions),
                            '%s: error line %r mentions none of %s'
                            % (label, lines[0], list(mentions)))
    return lines[0]


# ---------------------------------------------------------------------------
# Pcap reading
# ---------------------------------------------------------------------------

@dataclasses.dataclass
class PcapRecord:
    """One record of a classic pcap file."""

    ts_us: int
    caplen: int
    wirelen: int
    data: bytes


def read_pcap(path):
    """Read a classic pcap file; return (linktype, [PcapRecord])."""
    with open(path, 'rb') as handle:
        blob = handle.read()
    magic = blob[:4]
    formats = {b'\xd4\xc3\xb2\xa1': ('<', 1), b'\xa1\xb2\xc3\xd4': ('>', 1),
               b'\x4d\x3c\xb2\xa1': ('<', 1000),
               b'\xa1\xb2\x3c\x4d': ('>', 1000)}
    if magic not in formats:
        raise ValueError('%s: not a classic pcap file' % path)
    endian, divisor = formats[magic]
    linktype = struct.unpack(endian + 'I', blob[20:24])[0] & 0x03FFFFFF
    records, offset = [], 24
    while offset + 16 <= len(blob):
        sec, frac, caplen, wirelen = struct.unpack(endian + 'IIII',
                                                   blob[offset:offset + 16])
        data = blob[offset + 16:offset + 16 + caplen]
        records.append(PcapRecord(sec * 1000000 + frac // divisor, caplen,
                                  wirelen, data))
        offset += 16 + caplen
    return linktype, records


class _PcapPkthdr(ctypes.Structure):
    _fields_ = [('tv_sec', ctypes.c_long), ('tv_usec', ctypes.c_long),
                ('caplen', ctypes.c_uint32), ('len', ctypes.c_uint32)]


@dataclasses.dataclass
class LibpcapScan:
    """What libpcap makes of a capture file."""

    opened: bool
    datalink: int = -1
    packets: int = 0
    max_caplen: int = 0    # the longest record delivered
    read_error: str = ''   # error after `packets` good records, if any
    open_error: str = ''


def _libpcap():
    name = ctypes.util.find_library('pcap') or 'libpcap.so.0.8'
    lib = ctypes.CDLL(name)
    lib.pcap_open_offline.restype = ctypes.c_void_p
    lib.pcap_open_offline.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    lib.pcap_datalink.argtypes = [ctypes.c_void_p]
    lib.pcap_next_ex.argtypes = [ctypes.c_void_p,
                                 ctypes.POINTER(ctypes.POINTER(_PcapPkthdr)),
                                 ctypes.POINTER(ctypes.c_char_p)]
    lib.pcap_geterr.restype = ctypes.c_char_p
    lib.pcap_geterr.argtypes = [ctypes.c_void_p]
    lib.pcap_close.argtypes = [ctypes.c_void_p]
    return lib


def libpcap_scan(path):
    """Open path with libpcap (as net_pcap does) and count its packets."""
    lib = _libpcap()
    errbuf = ctypes.create_string_buffer(512)
    handle = lib.pcap_open_offline(path.encode(), errbuf)
    if not handle:
        return LibpcapScan(False, open_error=errbuf.value.decode('utf-8',
                                                                 'replace'))
    scan = LibpcapScan(True, datalink=lib.pcap_datalink(handle))
    header = ctypes.POINTER(_PcapPkthdr)()
    data = ctypes.c_char_p()
    while True:
        status = lib.pcap_next_ex(handle, ctypes.byref(header),
                                  ctypes.byref(data))
        if status == 1:
            scan.packets += 1
            scan.max_caplen = max(scan.max_caplen, header.contents.caplen)
            continue
        if status == -1:
            scan.read_error = lib.pcap_geterr(handle).decode('utf-8',
                                                              'replace')
        break
    lib.pcap_close(handle)
    return scan


# ---------------------------------------------------------------------------
# tshark conversations
# ---------------------------------------------------------------------------

@dataclasses.dataclass
class TsharkConversation:
    """One row of a tshark -z conv table (A/B as tshark prints them)."""

    table: str          # 'tcp', 'udp', 'ipv4' or 'ipv6'
    addr_a: str
    addr_b: str
    port_a: int
    port_b: int
    frames_ab: int
    bytes_ab: tuple     # (low, high): exact when low == high
    frames_ba: int
    bytes_ba: tuple

    def endpoints(self):
        """Unordered key: frozenset of (ip, port)."""
        return frozenset(((self.addr_a, self.port_a),
                          (self.addr_b, self.port_b)))


_UNITS = {'bytes': 1, 'B': 1, 'kB': 1000, 'MB': 1000 ** 2, 'GB': 1000 ** 3,
          'TB': 1000 ** 4, 'KiB': 1024, 'MiB': 1024 ** 2, 'GiB': 1024 ** 3,
          'TiB': 1024 ** 4}


def _size_range(value, unit):
    """tshark prints sizes >= 10 units truncated; return (low, high)."""
    scale = _UNITS[unit]
    return value * scale, value * scale + scale - 1


def normalize_ip(text):
    """Canonical text form of an IPv4/IPv6 address."""
    return str(ipaddress.ip_address(text))


def _parse_counts(tokens):
    """Parse 'frames size [unit]' groups from the token list."""
    groups, i = [], 0
    while len(groups) < 3:
        frames = int(tokens[i])
        value = int(tokens[i + 1])
        unit = 'bytes'
        i += 2
        if i < len(tokens) and tokens[i] in _UNITS:
            unit = tokens[i]
            i += 1
        groups.append((frames, _size_range(value, unit)))
    return groups


def parse_conversations(text):
    """Parse every '<Proto> Conversations' table of tshark's output."""
    rows = []
    table, first_is_ba = None, True
    for line in text.splitlines():
        match = re.match(r'^(TCP|UDP|IPv4|IPv6) Conversations', line)
        if match:
            table = match.group(1).lower()
            continue
        if table and '<-' in line and '->' in line and '<->' not in line:
            first_is_ba = line.index('<-') < line.index('->')
            continue
        if not table or '<->' not in line:
            continue
        left, right = line.split('<->', 1)
        tokens = right.split()
        addr_a, addr_b = left.strip(), tokens[0]
        port_a = port_b = 0
        if table in ('tcp', 'udp'):
            addr_a, port_a = addr_a.rsplit(':', 1)
            addr_b, port_b = addr_b.rsplit(':', 1)
        first, second, _total = _parse_counts(tokens[1:])
        ba, ab = (first, second) if first_is_ba else (second, first)
        rows.append(TsharkConversation(
            table, normalize_ip(addr_a), normalize_ip(addr_b), int(port_a),
            int(port_b), ab[0], ab[1], ba[0], ba[1]))
    return rows


FIELDS = ('frame.len', 'ip.src', 'ip.dst', 'ipv6.src', 'ipv6.dst',
          'tcp.srcport', 'tcp.dstport', 'udp.srcport', 'udp.dstport')


def run_tshark(pcap, timeout=600):
    """One tshark pass: per-frame fields and the four conversation tables.

    Returns (conversations, exact) where exact maps
    (table, frozenset of (ip, port)) -> {(src ip, src port): [frames, bytes]}
    aggregated from the per-frame fields (tshark 4.0 prints sizes >= 10 kB
    rounded in the tables).
    """
    cmd = [tshark_path(), '-n', '-r', pcap, '-T', 'fields', '-E',
           'occurrence=f', '-E', 'separator=\t']
    for field in FIELDS:
        cmd += ['-e', field]
    for table in ('tcp', 'udp', 'ipv4', 'ipv6'):
        cmd += ['-z', 'conv,' + table]
    proc = subprocess.run(cmd, capture_output=True, timeout=timeout,
                          check=True)
    text = proc.stdout.decode('utf-8', 'replace')
    split = text.find('\n====')
    field_text, table_text = text[:split], text[split:]
    return parse_conversations(table_text), _aggregate_fields(field_text)


def _aggregate_fields(text):
    exact = collections.defaultdict(
        lambda: collections.defaultdict(lambda: [0, 0]))
    for line in text.splitlines():
        cols = line.split('\t')
        if len(cols) < len(FIELDS):
            continue
        length = int(cols[0])
        src, dst = (cols[1], cols[2]) if cols[1] else (cols[3], cols[4])
        if not src:
            continue
        src, dst = normalize_ip(src), normalize_ip(dst)
        net = 'ipv4' if ':' not in src else 'ipv6'
        keys = [(net, (src, 0), (dst, 0))]
        if cols[5]:
            keys.append(('tcp', (src, int(cols[5])), (dst, int(cols[6]))))
        elif cols[7]:
            keys.append(('udp', (src, int(cols[7])), (dst, int(cols[8]))))
        for table, a, b in keys:
            slot = exact[(table, frozenset((a, b)))][a]
            slot[0] += 1
            slot[1] += length
    return exact


# ---------------------------------------------------------------------------
# A probe serving gRPC
# ---------------------------------------------------------------------------

def ctl_path():
    """The skyprobectl binary of the build."""
    return os.path.join(build_root(), 'src', 'ctl', 'skyprobectl')


class ServingProbe:
    """A running skyprobe with its gRPC service on a free port.

    `args` are skyprobe's flags (--grpc-listen `listen` is added). The
    port is read from the start-up line on stderr (kept in `banner`); stderr
    is kept in `lines`. The process is killed when the test ends, whatever
    happens to it. `address` is on 127.0.0.1 whatever `listen` is.
    """

    def __init__(self, testcase, args, listen='127.0.0.1:0'):
        self.proc = subprocess.Popen(
            [skyprobe_path()] + list(args) + ['--grpc-listen', listen],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True)
        self.lines = []
        self.port = None
        self.banner = None
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        testcase.addCleanup(self.kill)
        deadline = time.monotonic() + 30
        while self.port is None and time.monotonic() < deadline and self.proc.poll() is None:
            time.sleep(0.02)
        testcase.assertIsNotNone(self.port, 'no gRPC port announced:\n' + self.stderr())
        self.address = '127.0.0.1:%d' % self.port

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append(line.rstrip('\n'))
            match = re.search(r'gRPC service on .*\(port (\d+)\)', line)
            if match:
                self.banner = line.rstrip('\n')
                self.port = int(match.group(1))

    def stderr(self):
        return '\n'.join(self.lines)

    def wait_line(self, pattern, seconds=60):
        """The first match of `pattern` (a regex) in a stderr line, waiting for it
        while the probe runs; None when it never came."""
        deadline = time.monotonic() + seconds
        while True:
            for line in list(self.lines):
                match = re.search(pattern, line)
                if match:
                    return match
            if time.monotonic() >= deadline or self.proc.poll() is not None:
                return None
            time.sleep(0.05)

    def metrics_port(self, testcase):
        """The port of --metrics-listen, from its start-up line."""
        match = self.wait_line(r'metrics on http://\S+/metrics \(port (\d+)\)')
        testcase.assertIsNotNone(match, 'no metrics port announced:\n' + self.stderr())
        return int(match.group(1))

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(timeout=10)
        if not self.proc.stderr.closed:
            self.proc.stderr.close()

    def terminate(self):
        """SIGTERM (every flow is expired, then the probe exits); returns the exit code."""
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        self.reader.join(timeout=10)
        self.proc.stderr.close()
        return code


def grpc_api(testcase):
    """(grpc, probe_service_pb2, probe_service_pb2_grpc) for tests that send
    requests skyprobectl would never send (it checks filters itself).

    The Python stubs are generated from proto/ into the build dir by protoc
    and grpc_python_plugin (both come with the build dependencies); the
    grpc module is python3-grpcio (scripts/setup.sh --tests). Missing, the
    test fails: it never skips.
    """
    try:
        import grpc  # pylint: disable=import-outside-toplevel
    except ImportError:
        testcase.fail('python module grpc not found for %s: install python3-grpcio '
                      '(scripts/setup.sh --tests)' % sys.executable)
    plugin = shutil.which('grpc_python_plugin')
    protoc = shutil.which('protoc')
    if plugin is None or protoc is None:
        testcase.fail('protoc and grpc_python_plugin are needed (protobuf-compiler, '
                      'protobuf-compiler-grpc)')
    out = scratch_dir('grpc_python')
    proto_root = os.path.join(source_root(), 'proto')
    subprocess.run([protoc, '--proto_path=' + proto_root, '--python_out=' + out,
                    '--grpc_python_out=' + out, '--plugin=protoc-gen-grpc_python=' + plugin,
                    os.path.join(proto_root, 'skyprobe', 'v1', 'flow.proto'),
                    os.path.join(proto_root, 'skyprobe', 'v1', 'probe_service.proto')],
                   check=True)
    if out not in sys.path:
        sys.path.insert(0, out)
    from skyprobe.v1 import probe_service_pb2, probe_service_pb2_grpc  # noqa: E402  pylint: disable=import-outside-toplevel
    return grpc, probe_service_pb2, probe_service_pb2_grpc


def flow_pb2(testcase):
    """The generated Python module of skyprobe.v1.Flow (flow.proto), for tests
    that read protobuf records written by the probe. protoc comes with the
    build dependencies, the protobuf module with python3-protobuf
    (scripts/setup.sh --tests); missing, the test fails: it never skips."""
    try:
        import google.protobuf  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
    except ImportError:
        testcase.fail('python module google.protobuf not found for %s: install '
                      'python3-protobuf (scripts/setup.sh --tests)' % sys.executable)
    protoc = shutil.which('protoc')
    if protoc is None:
        testcase.fail('protoc is needed (protobuf-compiler)')
    out = scratch_dir('flow_python')
    proto_root = os.path.join(source_root(), 'proto')
    subprocess.run([protoc, '--proto_path=' + proto_root, '--python_out=' + out,
                    os.path.join(proto_root, 'skyprobe', 'v1', 'flow.proto')], check=True)
    if out not in sys.path:
        sys.path.insert(0, out)
    from skyprobe.v1 import flow_pb2 as module  # noqa: E402  pylint: disable=import-outside-toplevel
    return module


# ---------------------------------------------------------------------------
# Running a test module
# ---------------------------------------------------------------------------

def main():
    """unittest main for meson: exit 1 on failure, 77 if all skipped."""
    program = unittest.main(exit=False, verbosity=2)
    result = program.result
    if not result.wasSuccessful():
        sys.exit(1)
    if result.testsRun and len(result.skipped) == result.testsRun:
        sys.exit(77)
    sys.exit(0)
