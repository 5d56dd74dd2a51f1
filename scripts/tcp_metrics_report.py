#!/usr/bin/env python3
"""Agreement of skyprobe's TCP metrics with their oracles on real traces.

    scripts/tcp_metrics_report.py [--build build] [--jobs 2] [--details]
                                  [FOLDER_OR_PCAP ...]

Default folders: ../shared/pcaps/skydive and ../shared/pcaps/tcpdump. For
every capture with TCP frames (tshark decides), skyprobe runs with
--tcp-health --tcp-stream-metrics and its final records are compared per TCP
direction (source, port, destination, port):

- the six health counters with tshark's tcp.analysis.* flags
  (tests/integration/tcp_oracle.py HEALTH);
- the seven stream counters with a model of gopacket's tcpassembly feeding
  Skydive's stream (tcp_oracle.GopacketStream), on the directions where the
  probe's documented rules apply (the others are listed by reason).

Prints one line per counter (directions compared, agreeing, flag totals of
both sides) and, with --details, every difference. docs/tcp-metrics.md
explains the differences this reports.
"""

import argparse
import collections
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))
import tcp_oracle as oracle  # noqa: E402

SUPPORTED_DLT = {0, 1, 12, 101, 113, 228, 229}


def pcaps(paths):
    for path in paths:
        if os.path.isdir(path):
            for name in sorted(os.listdir(path)):
                if name.endswith(('.pcap', '.pcapng', '.cap')):
                    yield os.path.join(path, name)
        elif os.path.exists(path):
            yield path


def final_flows(json_path):
    flows = []
    if not os.path.exists(json_path):
        return flows
    with open(json_path, encoding='utf-8') as handle:
        for line in handle:
            if line.strip():
                record = json.loads(line)
                if record.get('Event') == 'EXPIRE':
                    flows.append(record)
    return flows


def compare(path, skyprobe, tshark, workdir):
    """Differences for one capture, or None when it has no TCP."""
    try:
        frames = oracle.tshark_frames(tshark, path, timeout=300)
    except subprocess.SubprocessError:
        return None
    if not frames:
        return None
    json_path = os.path.join(workdir, os.path.basename(path) + '.json')
    proc = subprocess.run([skyprobe, '--pcap', path, '--max-flows', '65536',
                           '--tcp-health', '--tcp-stream-metrics', '--json',
                           json_path, '--quiet'], capture_output=True,
                          timeout=300, check=False)
    flows = final_flows(json_path)
    if os.path.exists(json_path):
        os.unlink(json_path)
    result = {'file': path, 'rc': proc.returncode, 'health': [], 'stream': [],
              'excluded': collections.Counter(), 'counts': collections.Counter()}
    if proc.returncode != 0:
        result['error'] = proc.stderr.decode('utf-8', 'replace').strip()[-300:]
        return result
    names = [n for n, _ in oracle.HEALTH]
    want = oracle.tshark_directions(frames)
    got = oracle.probe_directions(flows, ('AB', 'BA'), names)
    for key in sorted(set(want) | set(got)):
        for name in names:
            w = want.get(key, {}).get(name, 0)
            g = (got.get(key) or {}).get(name)
            result['counts'][('health', name, 'compared')] += 1
            result['counts'][('health', name, 'tshark')] += w
            result['counts'][('health', name, 'probe')] += g or 0
            if w == g or (w == 0 and g is None and key not in got):
                result['counts'][('health', name, 'agree')] += 1
            else:
                result['health'].append((key, name, w, g))
    streams = oracle.gopacket_directions(frames)
    got = oracle.probe_directions(flows, ('AB', 'BA'), oracle.STREAM)
    for key, stream in sorted(streams.items()):
        reasons = stream.exclusions()
        if reasons:
            for reason in reasons:
                result['excluded'][reason] += 1
            continue
        counters = stream.counters()
        for name in oracle.STREAM:
            g = (got.get(key) or {}).get(name)
            result['counts'][('stream', name, 'compared')] += 1
            if counters[name] == g:
                result['counts'][('stream', name, 'agree')] += 1
            else:
                result['stream'].append((key, name, counters[name], g))
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('paths', nargs='*')
    parser.add_argument('--build', default=os.path.join(ROOT, 'build'))
    parser.add_argument('--jobs', type=int, default=2)
    parser.add_argument('--details', action='store_true')
    args = parser.parse_args()
    shared = os.path.join(ROOT, '..', 'shared', 'pcaps')
    paths = args.paths or [os.path.join(shared, 'skydive'), os.path.join(shared, 'tcpdump')]
    skyprobe = os.path.join(args.build, 'src', 'app', 'skyprobe')
    tshark = shutil.which('tshark')
    if tshark is None or not os.access(skyprobe, os.X_OK):
        sys.exit('needs tshark in PATH and %s' % skyprobe)
    files = list(pcaps(paths))
    results = []
    with tempfile.TemporaryDirectory() as workdir, \
            concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for r in pool.map(lambda p: compare(p, skyprobe, tshark, workdir), files):
            if r is not None:
                results.append(r)
    totals = collections.Counter()
    excluded = collections.Counter()
    refused = [r for r in results if r['rc'] != 0]
    for r in results:
        totals.update(r['counts'])
        excluded.update(r['excluded'])
    print('%d captures with TCP frames (of %d); %d refused by skyprobe'
          % (len(results), len(files), len(refused)))
    for r in refused:
        print('  refused: %s: %s' % (os.path.basename(r['file']), r.get('error', '')))
    print('\nHealth counters vs tshark, per direction:')
    print('  %-20s %9s %9s %9s %9s' % ('counter', 'compared', 'agree', 'tshark', 'probe'))
    for name, _ in oracle.HEALTH:
        c = lambda k: totals[('health', name, k)]  # noqa: E731
        print('  %-20s %9d %9d %9d %9d' % (name, c('compared'), c('agree'), c('tshark'),
                                          c('probe')))
    print('\nStream counters vs the gopacket model, per direction:')
    print('  %-22s %9s %9s' % ('counter', 'compared', 'agree'))
    for name in oracle.STREAM:
        c = lambda k: totals[('stream', name, k)]  # noqa: E731
        print('  %-22s %9d %9d' % (name, c('compared'), c('agree')))
    print('  directions left out (a documented difference applies):')
    for reason, n in excluded.most_common():
        print('    %5d  %s' % (n, reason))
    differing = [r for r in results if r['health'] or r['stream']]
    print('\n%d captures with a difference' % len(differing))
    for r in differing:
        print('  %s: %d health, %d stream' % (os.path.basename(r['file']), len(r['health']),
                                            len(r['stream'])))
        if args.details:
            for key, name, w, g in r['health']:
                print('      health %s %s: tshark %s probe %s' % (key, name, w, g))
            for key, name, w, g in r['stream']:
                print('      stream %s %s: model %s probe %s' % (key, name, w, g))


if __name__ == '__main__':
    main()
