#!/usr/bin/env python3
"""The Prometheus endpoint (--metrics-listen) of a running probe.

- promtool (Debian's prometheus package) checks the exposition of a probe
  that has taken a whole Skydive trace;
- every series is a row of docs/metrics.md (name, type, labels) and equals
  the Stats entry that row names, read from skyprobectl stats --all; every
  Stats entry is exported or listed there as a sum; the rx series add up to
  the frames of the capture (read here from the file);
- a probe with everything on (dispatch mode, two ports, pacing, raw packets,
  application metadata, JSON, Kafka and IPFIX outputs, an sFlow agent) exposes every documented metric;
- a real Prometheus server on 127.0.0.1 scrapes it, and
  sum(skyprobe_rx_packets_total) read back through its HTTP API equals the
  packets of the capture; every expression of docs/grafana/skyprobe.json is
  valid PromQL for that server and names only metrics it scraped.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import skyprobe_harness as h  # noqa: E402
import kafka_test  # noqa: E402  (the mock cluster)
import sflow_test  # noqa: E402  (sFlow datagrams)

DOC = os.path.join(h.source_root(), 'docs', 'metrics.md')
DASHBOARD = os.path.join(h.source_root(), 'docs', 'grafana', 'skyprobe.json')
# Waits for a server to come up or a scrape to happen; far above what they take.
READY_SECONDS = 90
# Metrics of live ports only (docs/configuration.md, "Links").
LIVE_PORTS_ONLY = {'skyprobe_port_link_up', 'skyprobe_port_link_down_total'}


def need(testcase, program):
    path = shutil.which(program)
    if path is None:
        testcase.fail('%s not found: install prometheus (scripts/setup.sh --tests)' % program)
    return path


# ---------------------------------------------------------------------------
# docs/metrics.md
# ---------------------------------------------------------------------------

def read_doc():
    """(rows, sums): rows of the metrics table as dicts; the 'scope: name'
    patterns listed as sums."""
    rows, sums = [], []
    section = None
    with open(DOC, encoding='utf-8') as f:
        for line in f:
            if line.startswith('## '):
                section = line[3:].strip()
                continue
            if section == 'Metrics' and line.startswith('| `skyprobe_'):
                cols = [c.strip() for c in line.strip().strip('|').split('|')]
                name, kind, labels, stats = cols[0].strip('`'), cols[1], cols[2], cols[3]
                free, fixed = [], {}
                for label in re.findall(r'`([^`]+)`', labels):
                    if '=' in label:
                        k, v = label.split('=', 1)
                        fixed[k] = v.strip('"')
                    else:
                        free.append(label)
                # "`scope: name` / 1e9": the series is the Stats value divided
                # (nanoseconds exported as seconds).
                divisor = 1
                scaled = re.fullmatch(r'(`[^`]+`) / (\S+)', stats)
                if scaled:
                    stats, divisor = scaled.group(1), float(scaled.group(2))
                stats = stats.strip('`')
                rows.append({'name': name, 'type': kind, 'free': free, 'fixed': fixed,
                             'stats': None if stats == '—' else stats, 'divisor': divisor})
            if section == 'Not exported: sums':
                sums += re.findall(r'`([a-z0-9_.{}]+: [a-z0-9_{}]+)`', line)
    return rows, sums


def pattern_regex(pattern):
    """'worker{worker}: flows_live' -> regex over 'scope: name' with groups."""
    out, pos = '', 0
    for m in re.finditer(r'\{(\w+)\}', pattern):
        out += re.escape(pattern[pos:m.start()]) + '(?P<%s>.+?)' % m.group(1)
        pos = m.end()
    return re.compile('^' + out + re.escape(pattern[pos:]) + '$')


# ---------------------------------------------------------------------------
# The exposition and Stats
# ---------------------------------------------------------------------------

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_exposition(text):
    """({(name, frozenset(labels)): value}, {family: type})."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith('# TYPE '):
            _, _, family, kind = line.split(' ', 3)
            types[family] = kind
            continue
        if not line or line.startswith('#'):
            continue
        m = SAMPLE.match(line)
        assert m, 'not a sample line: %r' % line
        labels = frozenset(LABEL.findall(m.group(3) or ''))
        samples[(m.group(1), labels)] = float(m.group(4))
    return samples, types


def scrape(port):
    with urllib.request.urlopen('http://127.0.0.1:%d/metrics' % port, timeout=30) as r:
        return r.read().decode()


def stats(address):
    out = subprocess.run([h.ctl_path(), 'stats', '--all', '--probe', address],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    result = {}
    for line in out.splitlines():
        scope, name, value = line.split(' ')
        result[(scope, name)] = int(value)
    return result


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class MetricsTest(unittest.TestCase):

    def setUp(self):
        h.require_skyprobe(self)
        self.scratch = h.scratch_dir('metrics')
        self.rows, self.sums = read_doc()
        self.assertGreater(len(self.rows), 40, 'docs/metrics.md table not found')

    def start(self, args, expected_packets):
        """A probe with --hold and metrics, once it took every frame."""
        probe = h.ServingProbe(self, args + ['--hold', '--metrics-listen', '127.0.0.1:0'])
        port = probe.metrics_port(self)
        self.wait_quiet(probe, ('total', 'packets_in'), expected_packets)
        return probe, port

    def wait_quiet(self, probe, key, value):
        """Until Stats[key] == value and the probe is at rest: two readings in a
        row equal (the service's own scopes aside). A worker counts a burst's
        frames before its table accounts them, and Kafka's reports come back
        later: comparing a scrape with Stats needs counters that no longer move."""
        def counters():
            return {k: v for k, v in stats(probe.address).items()
                    if k[0] != 'service' and not k[0].startswith('requests.')}
        deadline = time.monotonic() + READY_SECONDS
        previous = None
        while True:
            now = counters()
            if now.get(key) == value and now == previous:
                return
            self.assertLess(time.monotonic(), deadline,
                            'the probe did not come to rest with %s = %d: %s'
                            % (key, value, now.get(key)))
            previous = now
            time.sleep(0.2)

    def check_against_stats(self, label, text, st):
        """Every series a documented row equal to its Stats entry; every Stats
        entry exported or a documented sum. Returns the samples."""
        samples, types = parse_exposition(text)
        sums = [pattern_regex(p) for p in self.sums]
        exported = set()
        for (name, labels), value in samples.items():
            if name.startswith('exposer_'):
                continue  # prometheus-cpp's own (documented)
            lab = dict(labels)
            rows = [r for r in self.rows if r['name'] == name and
                    set(lab) == set(r['free']) | set(r['fixed']) and
                    all(lab[k] == v for k, v in r['fixed'].items())]
            # A row with fixed labels (worker="sflow") wins over one without.
            most = max((len(r['fixed']) for r in rows), default=0)
            rows = [r for r in rows if len(r['fixed']) == most]
            self.assertEqual(len(rows), 1, '%s: %s%s is not one row of docs/metrics.md (its '
                             'name, labels and Stats counter)' % (label, name, sorted(lab.items())))
            row = rows[0]
            self.assertEqual(types.get(name), row['type'], '%s: TYPE of %s' % (label, name))
            if row['stats'] is None:
                continue
            key = row['stats']
            for k in row['free']:
                key = key.replace('{%s}' % k, lab[k])
            scope, stat = key.split(': ')
            self.assertIn((scope, stat), st, '%s: %s%s names Stats %s, absent'
                          % (label, name, sorted(lab.items()), key))
            # A divided value equals the quotient up to the exposition's digits.
            want = st[(scope, stat)] / row['divisor']
            self.assertTrue(value == want or abs(value - want) <= 1e-12 * abs(want),
                            '%s: %s%s = %r != Stats %s / %g = %r'
                            % (label, name, sorted(lab.items()), value, key, row['divisor'],
                               want))
            exported.add((scope, stat))
        for (scope, stat), value in st.items():
            if scope == 'service' or (scope, stat) in exported:
                continue
            entry = '%s: %s' % (scope, stat)
            self.assertTrue(any(p.match(entry) for p in sums),
                            '%s: Stats %s = %d is neither exported nor a documented sum: a new '
                            'counter needs a rule in src/app/metrics.cc and a row in '
                            'docs/metrics.md (or a place under "Not exported: sums")'
                            % (label, entry, value))
        return samples

    def rx_total(self, samples):
        return sum(v for (n, _), v in samples.items() if n == 'skyprobe_rx_packets_total')

    def test_skydive_trace_promtool_and_stats(self):
        promtool = need(self, 'promtool')
        pcap = os.path.join(h.shared_dir('skydive'), 'eth-ip4-arp-dns-req-http-google.pcap')
        packets = len(h.read_pcap(pcap)[1])
        json_path = os.path.join(self.scratch, 'a.json')
        probe, port = self.start(['--pcap', pcap, '--json', json_path, '--raw-packets', '2'],
                                 packets)
        text = scrape(port)
        check = subprocess.run([promtool, 'check', 'metrics'], input=text, capture_output=True,
                               text=True, timeout=60, check=False)
        self.assertEqual(check.returncode, 0, 'promtool check metrics:\n%s%s\n--- exposition\n%s'
                         % (check.stdout, check.stderr, text))
        # Stats after the scrape: no gRPC call in between, the probe is idle.
        samples = self.check_against_stats('trace', text, stats(probe.address))
        self.assertEqual(self.rx_total(samples), packets)
        self.assertIn(('skyprobe_build_info', frozenset({('version', '0.1.0')})), samples)
        self.assertEqual(probe.terminate(), 0)

    def test_everything_on_prometheus_and_dashboard(self):
        prometheus = need(self, 'prometheus')
        traces = [os.path.join(h.shared_dir('skydive'), name)
                  for name in ('simple-tcpv4.pcap', 'ipv4-fragments.pcap')]
        packets = sum(len(h.read_pcap(p)[1]) for p in traces)
        mock = kafka_test.MockCluster(self)
        args = ['--workers', '2', '--distribution', 'dispatch', '--pcap-rate', '5000',
                '--raw-packets', '2', '--app-metadata',
                '--json', os.path.join(self.scratch, 'b.json'),
                '--kafka', mock.bootstrap, '--kafka-topic', kafka_test.TOPIC,
                '--ipfix', 'file:' + os.path.join(self.scratch, 'c.ipfix'),
                '--sflow-listen', '127.0.0.1:0']
        for p in traces:
            args += ['--pcap', p]
        probe, port = self.start(args, packets)
        # One sFlow agent, one sampled frame.
        frame = sflow_test.udp_frame('10.9.0.1', '10.9.0.2', 40000, 5353, 32)
        sflow_test.send_all(sflow_test.sflow_port(self, probe), [sflow_test.datagram(
            '192.0.2.10', [sflow_test.flow_sample(10, [sflow_test.raw_header(frame)])])])
        self.wait_quiet(probe, ('total', 'sflow_frames_in_flows'), 1)
        probe_text = scrape(port)
        samples = self.check_against_stats('everything', probe_text, stats(probe.address))
        self.assertEqual(self.rx_total(samples), packets)
        ports = {dict(l)['port'] for (n, l) in samples if n == 'skyprobe_rx_packets_total'}
        self.assertEqual(ports, {'0', '1'})
        # Every documented metric is there, but a live port's link (no file
        # has one): integration-live scrapes those across a link flap
        # (LiveTest.test_link_changes_are_said_and_counted).
        exposed = {n for n, _ in samples}
        documented = {r['name'] for r in self.rows} - LIVE_PORTS_ONLY
        self.assertEqual(sorted(documented - exposed), [], 'documented, not exposed')
        self.assertEqual(sorted(LIVE_PORTS_ONLY & exposed), [], 'a file has no link')

        # A real Prometheus scraping the probe every second.
        tmp = tempfile.mkdtemp(prefix='prometheus-', dir=self.scratch)
        web = free_port()
        config = os.path.join(tmp, 'prometheus.yml')
        with open(config, 'w', encoding='utf-8') as f:
            f.write('global: {scrape_interval: 1s, evaluation_interval: 1s}\n'
                    'scrape_configs:\n  - job_name: skyprobe\n'
                    '    static_configs: [{targets: ["127.0.0.1:%d"]}]\n' % port)
        server = subprocess.Popen([prometheus, '--config.file=' + config,
                                   '--storage.tsdb.path=' + os.path.join(tmp, 'data'),
                                   '--web.listen-address=127.0.0.1:%d' % web],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.addCleanup(lambda: server.poll() is None and (server.kill(), server.wait()))

        def api(path, **params):
            url = 'http://127.0.0.1:%d/api/v1/%s?%s' % (web, path, urllib.parse.urlencode(params))
            try:
                with urllib.request.urlopen(url, timeout=10) as r:
                    return json.loads(r.read())
            except urllib.error.HTTPError as e:
                return json.loads(e.read())

        value = None
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline and server.poll() is None:
            try:
                got = api('query', query='sum(skyprobe_rx_packets_total{job="skyprobe"})')
                if got['status'] == 'success' and got['data']['result']:
                    value = float(got['data']['result'][0]['value'][1])
                    break
            except (OSError, ValueError):
                pass  # not listening yet, or not ready (503 with a text body)
            time.sleep(0.2)
        self.assertIsNotNone(value, 'Prometheus never scraped the probe')
        self.assertEqual(value, packets)
        up = api('query', query='up{job="skyprobe"}')['data']['result']
        self.assertEqual([float(r['value'][1]) for r in up], [1.0])
        names = set(api('label/__name__/values')['data'])

        # The dashboard: valid PromQL, naming only metrics the probe exposes.
        with open(DASHBOARD, encoding='utf-8') as f:
            dashboard = json.load(f)
        exprs = []

        def walk(node):
            if isinstance(node, dict):
                for k, v in node.items():
                    if k in ('expr', 'query') and isinstance(v, str) and 'skyprobe_' in v:
                        exprs.append(v)
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)
        walk(dashboard)
        self.assertGreater(len(exprs), 8)
        for expr in exprs:
            for metric in set(re.findall(r'\bskyprobe_[a-z0-9_]+', expr)):
                base = re.sub(r'_(bucket|sum|count)$', '', metric)
                self.assertTrue(metric in exposed or base in exposed,
                                'dashboard names %s, not exposed by the probe' % metric)
                self.assertTrue(metric in names or base in names,
                                'dashboard names %s, not scraped by Prometheus' % metric)
            if expr.startswith('label_values('):
                continue  # a Grafana variable query, not PromQL
            promql = (expr.replace('$__rate_interval', '1m').replace('$__interval', '15s')
                      .replace('$instance', '.+'))
            got = api('query', query=promql)
            self.assertEqual(got.get('status'), 'success',
                             'dashboard expression %r: %s' % (expr, got.get('error')))
        server.terminate()
        server.wait(timeout=30)
        self.assertEqual(probe.terminate(), 0)

if __name__ == '__main__':
    h.main()
