#!/usr/bin/env python3
"""idle_cpu.py: the CPU an idle probe burns, by --poll mode (BENCHMARKS.md).

Two idle probes, each run once per mode and measured from /proc/PID/stat
(utime + stime, every thread) over a few seconds, in alternation so that both
modes see the same machine:
  iface  skyprobe --iface on a fresh veth pair nothing is sent on (needs root)
  hold   skyprobe --pcap TRACE --hold after the whole trace is in the table

  scripts/idle_cpu.py [--build build] [--seconds 3] [--rounds 3] [--pcap FILE]
      [--modes busy,adaptive] [--iface-time kernel,burst] [--no-hold]
Prints one line per probe and mode: the median share of one core over the rounds.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

HZ = os.sysconf('SC_CLK_TCK')


def cpu_seconds(pid):
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ  # utime, stime


def measure(cmd, ready, seconds):
    """Start `cmd`, wait until `ready(stderr_text)`, return its CPU share over `seconds`."""
    err_path = '/tmp/idle_cpu_%d.err' % os.getpid()
    with open(err_path, 'w') as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err)
    try:
        deadline = time.monotonic() + 60
        while True:
            with open(err_path) as f:
                text = f.read()
            if ready(text):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit('probe did not get ready: %s\n%s' % (' '.join(cmd), text))
            time.sleep(0.05)
        time.sleep(1.0)  # settle: the idle state, not the start-up
        c0, t0 = cpu_seconds(proc.pid), time.monotonic()
        time.sleep(seconds)
        c1, t1 = cpu_seconds(proc.pid), time.monotonic()
        return (c1 - c0) / (t1 - t0)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        os.unlink(err_path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', default='build')
    ap.add_argument('--seconds', type=float, default=3.0)
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--pcap', default=os.path.join(os.path.dirname(__file__), '..', '..',
                                                   'shared', 'pcaps', 'skydive', 'dns.pcap'))
    ap.add_argument('--modes', default='busy,adaptive')
    # One or more time sources of the --iface probe, alternated like the modes.
    ap.add_argument('--iface-time', default='kernel')
    ap.add_argument('--no-hold', action='store_true', help='measure the --iface probe only')
    a = ap.parse_args()
    probe = os.path.join(a.build, 'src', 'app', 'skyprobe')
    modes = a.modes.split(',')
    results = {}
    veth = 'idlecpu%d' % (os.getpid() % 10000)
    have_veth = os.geteuid() == 0 and subprocess.run(
        ['ip', 'link', 'add', veth, 'type', 'veth', 'peer', 'name', veth + 'p'],
        capture_output=True).returncode == 0
    try:
        if have_veth:
            for name in (veth, veth + 'p'):
                subprocess.run(['ip', 'link', 'set', name, 'up'], check=True)
        for _ in range(a.rounds):
            for mode in modes:
                for iface_time in a.iface_time.split(',') if have_veth else []:
                    results.setdefault(('iface', mode, iface_time), []).append(measure(
                        [probe, '--iface', veth, '--iface-time', iface_time, '--poll', mode,
                         '--grpc-listen', 'none', '--json', '/dev/null'],
                        lambda t: 'RX worker(s)' in t, a.seconds))
                if a.no_hold:
                    continue
                results.setdefault(('hold', mode, ''), []).append(measure(
                    [probe, '--pcap', a.pcap, '--hold', '--poll', mode, '--grpc-listen',
                     '127.0.0.1:0', '--json', '/dev/null'],
                    lambda t: re.search(r'gRPC service on', t) is not None, a.seconds))
    finally:
        if have_veth:
            subprocess.run(['ip', 'link', 'del', veth], capture_output=True)
    if not have_veth:
        print('iface: not measured (needs root and veth)', file=sys.stderr)
    for (probe_kind, mode, iface_time), shares in sorted(results.items()):
        kind = '%s --iface-time %s' % (probe_kind, iface_time) if iface_time else probe_kind
        print('%-5s --poll %-8s  %6.1f %% of a core  (rounds: %s)' % (
            kind, mode, 100 * statistics.median(shares),
            ', '.join('%.1f' % (100 * s) for s in shares)))


if __name__ == '__main__':
    main()
