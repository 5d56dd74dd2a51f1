#!/usr/bin/env python3
"""Query latency of a probe holding 1M flows while its RX runs (issue 4).

1. Captures (scripts/gen_flows_pcap.py): 1M distinct UDP flows, one frame
   each, and a 1000-flow capture of the same first 1000 flows.
2. skyprobe --eal with two net_pcap ports: the 1M-flow file read once (a
   live port never ends, it just goes quiet), and the small file with
   infinite_rx=1 so RX keeps running for the whole measurement. The 1M file
   cannot be the infinite one: net_pcap holds a replayed file in mbufs of the
   probe's pool, 8191 per queue.
3. Waits until stats show >= 1M flows_live, then times, end to end (a fresh
   skyprobectl process each time, as an operator runs it):
   (a) `skyprobectl flows --json --filter "UUID = '<uuid>'"` over --queries
       UUIDs picked from one 10000-flow page: p50, p99, max;
   (b) `skyprobectl flows --json` (every page) --dumps times (default 3);
   (c) `skyprobectl stats` once, for the baseline cost of a call;
   (d) the same one-flow queries over ONE long-lived channel
       (build/tests/bench/query_latency), --rounds times each: the probe's
       own latency, without skyprobectl's process start-up.
   With --perf, records `perf record -g` of the probe during one more dump.
"""

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--build', default='build')
    parser.add_argument('--flows', type=int, default=1000000)
    parser.add_argument('--queries', type=int, default=200)
    parser.add_argument('--dumps', type=int, default=3)
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--perf', action='store_true')
    args = parser.parse_args()
    build = os.path.abspath(args.build)
    out = os.path.join(build, 'bench-query')
    os.makedirs(out, exist_ok=True)
    ctl_bin = os.path.join(build, 'src', 'ctl', 'skyprobectl')
    big = os.path.join(out, 'flows-%d.pcap' % args.flows)
    keep = os.path.join(out, 'keepalive-1000.pcap')
    gen = os.path.join(ROOT, 'scripts', 'gen_flows_pcap.py')
    if not os.path.exists(big):
        subprocess.run([sys.executable, gen, big, '--flows', str(args.flows)], check=True)
    if not os.path.exists(keep):
        subprocess.run([sys.executable, gen, keep, '--flows', '1000'], check=True)

    eal = ('--vdev=net_pcap0,rx_pcap=%s --vdev=net_pcap1,rx_pcap=%s,infinite_rx=1 '
           '-l 0,1 --no-huge --no-pci --no-shconf -m 4096 --file-prefix bench-query-%d'
           % (big, keep, os.getpid()))
    err_path = os.path.join(out, 'probe-stderr.txt')
    err = open(err_path, 'w')
    probe = subprocess.Popen([os.path.join(build, 'src', 'app', 'skyprobe'), '--eal', eal,
                              '--grpc-listen', '127.0.0.1:0', '--max-flows', '2000000',
                              '--expire', '3600', '--node-tid', 'bench'],
                             stdout=subprocess.DEVNULL, stderr=err)
    try:
        port = None
        deadline = time.monotonic() + 120
        while port is None:
            assert probe.poll() is None and time.monotonic() < deadline, open(err_path).read()
            m = re.search(r'\(port (\d+)\)', open(err_path).read())
            port = m and m.group(1)
            time.sleep(0.1)
        address = '127.0.0.1:' + port

        def ctl(*a, stdout=subprocess.PIPE):
            return subprocess.run([ctl_bin, a[0], '--probe', address] + list(a[1:]), stdout=stdout,
                                  stderr=subprocess.PIPE, text=True, check=True).stdout

        def total(name):
            m = re.search(r'^total %s (\d+)$' % name, ctl('stats', '--all'), re.M)
            return int(m.group(1))

        t0 = time.monotonic()
        while total('flows_live') < args.flows:
            assert time.monotonic() - t0 < 300, 'table never reached %d flows' % args.flows
            time.sleep(0.5)
        print('table full (%d flows_live) %.1f s after the port came up'
              % (total('flows_live'), time.monotonic() - t0))
        in0 = total('packets_in')

        t = time.monotonic()
        ctl('stats', '--all')
        print('stats call: %.1f ms' % ((time.monotonic() - t) * 1e3))

        # UUIDs from the first page (10000 flows in UUID order, every 50th): where a flow
        # sits does not matter, every query scans the whole table.
        t = time.monotonic()
        page = ctl('flows', '--json', '--limit', '10000').splitlines()
        print('one page of %d flows (--limit 10000): %.2f s'
              % (len(page), time.monotonic() - t))
        uuids = [re.search(r'"UUID":"([0-9a-f]+)"', line).group(1)
                 for line in page[::max(1, len(page) // args.queries)][:args.queries]]
        lat = []
        for u in uuids:
            t = time.monotonic()
            got = ctl('flows', '--json', '--filter', "UUID = '%s'" % u)
            lat.append((time.monotonic() - t) * 1e3)
            assert got.count('\n') == 1 and u in got, got
        lat.sort()
        print('one flow by UUID: %d queries, p50 %.1f ms, p99 %.1f ms, max %.1f ms'
              % (len(lat), statistics.median(lat), lat[int(len(lat) * 0.99) - 1], lat[-1]),
              flush=True)
        with open(os.path.join(out, 'uuids.txt'), 'w') as f:
            f.write('\n'.join(uuids) + '\n')
        r = subprocess.run([os.path.join(build, 'tests', 'bench', 'query_latency'), '--probe',
                            address, '--uuids', os.path.join(out, 'uuids.txt'), '--rounds',
                            str(args.rounds)], stdout=subprocess.PIPE, text=True, check=True)
        print('one flow by UUID, one channel: ' + r.stdout.strip(), flush=True)
        for i in range(args.dumps):
            with open(os.path.join(out, 'dump.json'), 'w') as f:  # counted below
                t = time.monotonic()
                ctl('flows', '--json', stdout=f)
                d = time.monotonic() - t
            lines = sum(1 for _ in open(os.path.join(out, 'dump.json')))
            print('full dump %d: %d flows in %.2f s' % (i + 1, lines, d), flush=True)
        if args.perf:
            data = os.path.join(out, 'perf.data')
            perf = subprocess.Popen(['perf', 'record', '-g', '-o', data, '-p', str(probe.pid)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            t = time.monotonic()
            ctl('flows', '--json', stdout=subprocess.DEVNULL)
            print('dump under perf: %.2f s (perf data in %s)' % (time.monotonic() - t, data))
            perf.send_signal(signal.SIGINT)
            perf.wait()
        in1 = total('packets_in')
        print('RX kept running: %d packets during the measurements' % (in1 - in0))
        probe.send_signal(signal.SIGTERM)
        probe.wait(timeout=120)
    finally:
        if probe.poll() is None:
            probe.kill()
            probe.wait()
        err.close()


if __name__ == '__main__':
    main()
