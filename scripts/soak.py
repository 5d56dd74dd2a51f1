#!/usr/bin/env python3
"""Soak: skyprobe for a long run under replay, flow churn and request load (issue 9 item 14).

    scripts/soak.sh [--duration SEC] [--short] [--interval SEC] [--rate PPS] [--build DIR]

The probe replays a mixed capture at a fixed pace (--pcap-rate) for --duration seconds:
tests/data/gen_pcap.py's synthetic trace (TCP with FIN/RST/open ends, UDP, DNS, ICMP,
IPv4 and IPv6, VLANs), repeated later and later in time (scripts/pcap_repeat.py), into a
table far smaller than the trace's flows (--max-flows 4096, evict-oldest), so flows are
created, evicted, expired and closed all the time. Beside it, all through the run, over
long-lived gRPC channels: Query and QueryStream in a loop, two Subscribe streams that read
every record, ExportPcap of kept raw packets in a loop. Every --interval seconds it samples
the probe's resident memory, open file descriptors, threads and counters (samples.csv).

When the whole trace is in (packets_in = the trace's frames; --hold keeps the probe up), the
load stops, the probe gets SIGTERM and prints its summary. The soak fails (exit 1, one line
per failed check) on:
  - a crash: the probe gone before the end, a non-zero exit status, no summary, a crash or
    sanitizer message on stderr;
  - memory: resident memory (not counting mapped file pages) above its value at the end of
    the warm-up by more than --rss-bound percent (default 2) at any later sample;
  - a leak of file descriptors or threads: a later sample above the count at the end of the
    warm-up (the load's channels stay open all along, so the count is steady);
  - accounting: packets_in != the trace's frames; packets_in != packets_in_flows + filtered +
    drops; any drop; EXPIRE records (the --json stream, read as it is written) != flows
    created; a record after its flow's EXPIRE; the AB+BA packets of the outermost flows'
    EXPIRE records != packets_in_flows; an output that lost records;
  - the load: a request answered with an error (a subscriber cut off for reading too slowly
    is counted, reported and resubscribed, not a failure).
--short is the smoke run (about 30 s of replay, a sample every 2 s, 10 s of warm-up).
Everything is written to --out (default BUILD/soak): samples.csv, probe.stderr, result.txt.
"""

import argparse
import csv
import json
import math
import os
import re
import signal
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))
import skyprobe_harness as h  # noqa: E402  pylint: disable=wrong-import-position
from soak_checks import check_accounting, check_samples  # noqa: E402  pylint: disable=wrong-import-position

# Query expressions the load cycles through (docs/query.md).
QUERIES = (
    dict(),
    dict(expression="Network.Protocol = 'IPV6'", limit=50),
    dict(expression="Transport.Protocol = 'TCP'", sort_by='Metric.ABBytes', sort_order=2, limit=20),
    dict(expression="Application = 'DNS' or ICMP.Type = 'ECHO'"),
    dict(sort_by='Last', sort_order=2, limit=100),
    dict(dedup_by='Network.A', limit=200),
)


class Fail(Exception):
    """Setup went wrong (not a soak finding)."""


class Api:
    """The generated gRPC modules (skyprobe_harness.grpc_api wants a test case)."""

    def __init__(self):
        class _Case:  # pylint: disable=too-few-public-methods
            def fail(self, message):
                raise Fail(message)
        self.grpc, self.pb, self.pb_grpc = h.grpc_api(_Case())

    def stub(self, address):
        channel = self.grpc.insecure_channel(address)
        return channel, self.pb_grpc.ProbeServiceStub(channel)


# ---------------------------------------------------------------------------
# The trace
# ---------------------------------------------------------------------------

def pcap_frames(path):
    """Frames of a classic little-endian pcap file."""
    count = 0
    with open(path, 'rb') as f:
        f.seek(24)
        while True:
            head = f.read(16)
            if len(head) < 16:
                return count
            caplen = struct.unpack_from('<I', head, 8)[0]
            f.seek(caplen, os.SEEK_CUR)
            count += 1


def make_trace(out, base_packets, base_flows, total_packets):
    """The base synthetic capture repeated until it holds >= total_packets frames."""
    base = os.path.join(out, 'base-%d-%d.pcap' % (base_packets, base_flows))
    if not os.path.exists(base):
        subprocess.run([sys.executable, os.path.join(ROOT, 'tests', 'data', 'gen_pcap.py'),
                        'synthetic', base + '.tmp', '--packets', str(base_packets),
                        '--flows', str(base_flows), '--seed', '14'], check=True)
        os.rename(base + '.tmp', base)
    per_copy = pcap_frames(base)
    copies = max(1, math.ceil(total_packets / per_copy))
    trace = os.path.join(out, 'trace.pcap')
    subprocess.run([sys.executable, os.path.join(HERE, 'pcap_repeat.py'), base, trace,
                    str(copies)], check=True, stdout=subprocess.DEVNULL)
    return trace, per_copy * copies


# ---------------------------------------------------------------------------
# What runs beside the probe
# ---------------------------------------------------------------------------

class Records:
    """Reads the probe's --json stream as it is written; keeps the accounting."""

    def __init__(self, stream):
        self.stream = stream
        self.lines = 0
        self.updates = 0
        self.expires = 0
        self.outer_packets = 0       # AB+BA of EXPIRE records without ParentUUID
        self.expired = set()         # UUIDs with their EXPIRE record
        self.problems = []
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def problem(self, text):
        if len(self.problems) < 10:
            self.problems.append(text)

    def run(self):
        for line in self.stream:
            if not line.strip():
                continue
            self.lines += 1
            try:
                r = json.loads(line)
            except json.JSONDecodeError as exc:
                self.problem('--json line %d is not JSON (%s): %.120s' % (self.lines, exc, line))
                continue
            uuid = r.get('UUID')
            if uuid in self.expired:
                self.problem('a record after the EXPIRE of flow %s: %.200s' % (uuid, line))
            if r.get('Event') == 'EXPIRE':
                self.expires += 1
                self.expired.add(uuid)
                if not r.get('ParentUUID'):
                    self.outer_packets += h.flow_packets(r)
            elif r.get('Event') == 'UPDATE':
                self.updates += 1
            else:
                self.problem('record with Event %r: %.200s' % (r.get('Event'), line))


class Load:
    """The steady request load: each kind on a channel of its own, in its own thread."""

    def __init__(self, api, address):
        self.api = api
        self.address = address
        self.stop = threading.Event()
        self.count = {'queries': 0, 'streams': 0, 'flows_listed': 0, 'exports': 0,
                      'export_bytes': 0, 'subscribed_records': 0, 'subscriber_cuts': 0}
        self.errors = []
        self.lock = threading.Lock()
        self.calls = []
        self.channels = []
        self.threads = [threading.Thread(target=self.queries, daemon=True),
                        threading.Thread(target=self.exports, daemon=True),
                        threading.Thread(target=self.subscribe, args=('',), daemon=True),
                        threading.Thread(target=self.subscribe,
                                         args=("Transport.Protocol = 'TCP'",), daemon=True)]
        for t in self.threads:
            t.start()

    def add(self, name, n=1):
        with self.lock:
            self.count[name] += n

    def error(self, what, exc):
        with self.lock:
            if len(self.errors) < 20:
                self.errors.append('%s: %s' % (what, exc))

    def channel(self):
        ch, stub = self.api.stub(self.address)
        self.channels.append(ch)
        return stub

    def queries(self):
        stub = self.channel()
        pb = self.api.pb
        i = 0
        while not self.stop.is_set():
            q = QUERIES[i % len(QUERIES)]
            i += 1
            try:
                answer = stub.Query(pb.FlowQuery(**q), timeout=60)
                self.add('queries')
                self.add('flows_listed', len(answer.Flows))
                if i % 5 == 0:
                    for part in stub.QueryStream(pb.FlowQuery(), timeout=120):
                        self.add('flows_listed', len(part.Flows))
                    self.add('streams')
            except self.api.grpc.RpcError as exc:
                if not self.stop.is_set():
                    self.error('Query %s' % q, exc)
            self.stop.wait(0.2)

    def exports(self):
        stub = self.channel()
        pb = self.api.pb
        while not self.stop.is_set():
            try:
                data = b''.join(c.data for c in stub.ExportPcap(
                    pb.FlowQuery(expression="Transport.Protocol = 'TCP'", limit=200),
                    timeout=120))
                if data and data[:4] not in (b'\x4d\x3c\xb2\xa1', b'\x0a\x0d\x0d\x0a'):
                    self.error('ExportPcap', 'not a pcap or pcapng file: %r' % data[:16])
                self.add('exports')
                self.add('export_bytes', len(data))
            except self.api.grpc.RpcError as exc:
                if not self.stop.is_set():
                    self.error('ExportPcap', exc)
            self.stop.wait(0.5)

    def subscribe(self, expression):
        stub = self.channel()
        pb = self.api.pb
        while not self.stop.is_set():
            call = stub.Subscribe(pb.FlowFilter(expression=expression))
            with self.lock:
                self.calls.append(call)
            try:
                for _ in call:
                    self.add('subscribed_records')
            except self.api.grpc.RpcError as exc:
                if self.stop.is_set() or exc.code() == self.api.grpc.StatusCode.CANCELLED:
                    return
                if exc.code() == self.api.grpc.StatusCode.RESOURCE_EXHAUSTED:
                    self.add('subscriber_cuts')  # a slow reader: told, counted, resubscribes
                else:
                    self.error('Subscribe %r' % expression, exc)
                    self.stop.wait(1)

    def finish(self):
        self.stop.set()
        with self.lock:
            for call in self.calls:
                call.cancel()
        for t in self.threads:
            t.join(timeout=150)

    def close(self):
        for ch in self.channels:
            ch.close()


def proc_status(pid):
    """(resident KiB, threads) from /proc/PID/status. Resident is VmRSS less
    RssFile: the pages of the capture file the mapped reader has mapped are the
    page cache's, and they come and go with its read-ahead window (it lets go of
    them two windows behind); what the probe allocates is the rest."""
    rss = file_rss = threads = None
    with open('/proc/%d/status' % pid, encoding='ascii') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                rss = int(line.split()[1])
            elif line.startswith('RssFile:'):
                file_rss = int(line.split()[1])
            elif line.startswith('Threads:'):
                threads = int(line.split()[1])
    if rss is not None and file_rss is not None:
        rss -= file_rss
    return rss, threads


def stats(stub, pb):
    """Counters of scope total (what the summary prints) from Stats."""
    reply = stub.Stats(pb.StatsRequest(), timeout=30)
    return {e.name: e.value for e in reply.entries if e.scope == 'total'}


# ---------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    p.add_argument('--build', default='build')
    p.add_argument('--duration', type=float, help='seconds of replay at --rate (default 1800)')
    p.add_argument('--short', action='store_true',
                   help='smoke run: 30 s at 2000 pps, a sample every 2 s, 10 s of warm-up, '
                        'a smaller trace and table (flags given still apply)')
    p.add_argument('--rate', type=int, help='packets per second (default 5000)')
    p.add_argument('--interval', type=float, help='seconds between samples (default 10)')
    p.add_argument('--warmup', type=float,
                   help='seconds before memory, fds and threads must hold still '
                        '(default: a sixth of the duration, at most 300)')
    p.add_argument('--rss-bound', type=float, default=2.0, help='percent (default 2)')
    p.add_argument('--max-flows', type=int, help='table limit (default 512, --short 64)')
    p.add_argument('--out', default=None, help='default BUILD/soak')
    p.add_argument('--keep-trace', action='store_true')
    p.add_argument('--no-load', action='store_true',
                   help='replay only, no gRPC load (to tell where memory goes)')
    args = p.parse_args(argv)
    if args.short:
        defaults = dict(duration=30.0, interval=2.0, rate=2000, warmup=10.0, max_flows=64,
                        base_packets=20000, base_flows=1100)
    else:
        defaults = dict(duration=1800.0, interval=10.0, rate=5000, warmup=None, max_flows=512,
                        base_packets=100000, base_flows=5500)
    for name, value in defaults.items():
        if getattr(args, name, None) is None:
            setattr(args, name, value)
    if args.warmup is None:
        args.warmup = min(300.0, args.duration / 6)
    args.out = os.path.abspath(args.out or os.path.join(args.build, 'soak'))
    return args


def run(args):
    """Returns (failures, report lines)."""
    os.makedirs(args.out, exist_ok=True)
    os.environ['SKYPROBE_BUILD_ROOT'] = os.path.abspath(args.build)
    binary = h.skyprobe_path()
    if not os.access(binary, os.X_OK):
        raise Fail('skyprobe not built at %s' % binary)
    api = Api()
    trace, frames = make_trace(args.out, args.base_packets, args.base_flows,
                               int(args.duration * args.rate))
    cmd = [binary, '--pcap', trace, '--pcap-rate', str(args.rate), '--hold',
           '--max-flows', str(args.max_flows), '--overload', 'evict-oldest',
           '--expire', '20', '--update', '10', '--raw-packets', '4',
           '--raw-packets-memory', '8M', '--node-tid', 'soak', '--json', '-',
           '--grpc-listen', '127.0.0.1:0']
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    err_lines = []
    port = []

    def read_stderr():
        for line in proc.stderr:
            err_lines.append(line.rstrip('\n'))
            m = re.search(r'gRPC service on .*\(port (\d+)\)', line)
            if m:
                port.append(int(m.group(1)))
    err_thread = threading.Thread(target=read_stderr, daemon=True)
    err_thread.start()
    records = Records(proc.stdout)
    failures, samples, report = [], [], []
    load = None
    final_stats = None
    try:
        while not port and proc.poll() is None and time.monotonic() - started < 60:
            time.sleep(0.05)
        if not port:
            raise Fail('no gRPC port announced:\n' + '\n'.join(err_lines[-20:]))
        address = '127.0.0.1:%d' % port[0]
        channel, stub = api.stub(address)
        if not args.no_load:
            load = Load(api, address)
        deadline = started + args.duration * 1.5 + 120
        columns = ('t', 'rss_kib', 'fds', 'threads', 'packets_in', 'flows_live',
                   'flows_created', 'expired_evicted', 'records', 'subscribed_records',
                   'queries', 'exports')
        with open(os.path.join(args.out, 'samples.csv'), 'w', newline='') as f:
            out = csv.DictWriter(f, fieldnames=columns, extrasaction='ignore')
            out.writeheader()
            next_at = time.monotonic()
            while True:
                next_at += args.interval
                time.sleep(max(0.0, next_at - time.monotonic()))
                if proc.poll() is not None:
                    failures.append('the probe ended during the run (status %s)' % proc.returncode)
                    break
                rss, threads = proc_status(proc.pid)
                fds = len(os.listdir('/proc/%d/fd' % proc.pid))
                c = stats(stub, api.pb)
                s = dict(t=time.monotonic() - started, rss_kib=rss, fds=fds, threads=threads,
                         records=records.lines, **c, **(load.count if load else {}))
                samples.append(s)
                out.writerow(s)
                f.flush()
                if c.get('packets_in', 0) >= frames:
                    break
                if time.monotonic() > deadline:
                    failures.append('the replay did not end within 1.5 x its duration '
                                    '(packets_in %d of %d)' % (c.get('packets_in', 0), frames))
                    break
        if proc.poll() is None:
            final_stats = stats(stub, api.pb)
        if load is not None:
            load.finish()
        channel.close()
    finally:
        if load is not None:
            load.close()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=300)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            failures.append('the probe did not exit within 300 s of SIGTERM')
        err_thread.join(timeout=30)
        records.thread.join(timeout=300)
        if not args.keep_trace and os.path.exists(os.path.join(args.out, 'trace.pcap')):
            os.unlink(os.path.join(args.out, 'trace.pcap'))
    stderr = '\n'.join(err_lines)
    with open(os.path.join(args.out, 'probe.stderr'), 'w', encoding='utf-8') as f:
        f.write(stderr + '\n')
    if proc.returncode != 0:
        failures.append('the probe exited with status %s' % proc.returncode)
    noise = h.stderr_noise(stderr)
    if noise:
        failures.append('crash or sanitizer output on stderr: %s' % noise)
    summary = h.parse_summary(stderr)
    failures += check_samples(samples, args.warmup, args.rss_bound)
    failures += check_accounting(summary, frames, records, final_stats)
    failures += load.errors if load is not None else []

    after = [s for s in samples if s['t'] >= args.warmup] or samples
    report.append('command: %s' % ' '.join(cmd))
    report.append('trace: %d frames (%d-packet synthetic capture, %d flows, repeated), '
                  'replayed at %d pps; run %.0f s, %d samples every %.0f s, warm-up %.0f s'
                  % (frames, args.base_packets, args.base_flows, args.rate,
                     time.monotonic() - started, len(samples), args.interval, args.warmup))
    if after:
        ref = after[0]
        report.append('resident memory: %d KiB at the end of the warm-up, then min %d, max %d '
                      'KiB (%+.2f %%), last %d KiB'
                      % (ref['rss_kib'], min(s['rss_kib'] for s in after),
                         max(s['rss_kib'] for s in after),
                         100.0 * (max(s['rss_kib'] for s in after) - ref['rss_kib'])
                         / ref['rss_kib'], after[-1]['rss_kib']))
        for name in ('fds', 'threads'):
            report.append('%s: %d at the end of the warm-up, then %d..%d'
                          % (name, ref[name], min(s[name] for s in after),
                             max(s[name] for s in after)))
    if summary:
        keys = ('packets_in', 'packets_in_flows', 'flows_created', 'flows_expired',
                'expired_evicted', 'expired_idle', 'expired_tcp_closed', 'expired_flush')
        report.append('summary: ' + ', '.join('%s %d' % (k, summary[k]) for k in keys
                                               if k in summary))
    report.append('--json: %d records (%d UPDATE, %d EXPIRE); outermost EXPIRE packets %d'
                  % (records.lines, records.updates, records.expires, records.outer_packets))
    if load is not None:
        report.append('load: ' + ', '.join('%s %d' % kv for kv in load.count.items()))
    return failures, report


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        failures, report = run(args)
    except Fail as exc:
        print('soak: cannot run: %s' % exc, file=sys.stderr)
        return 2
    text = '\n'.join(report + (['FAILED: ' + f for f in failures] or ['PASSED']))
    with open(os.path.join(args.out, 'result.txt'), 'w', encoding='utf-8') as f:
        f.write(text + '\n')
    print(text)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
