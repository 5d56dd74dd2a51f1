#!/usr/bin/env python3
"""iface_cost.py: the probe's CPU per frame on --iface, by --iface-time (BENCHMARKS.md).

A veth pair with one end in a network namespace; a sender there sends FRAMES
UDP datagrams (64-byte payload, 1024 source ports) as fast as one Python loop
goes. The probe listens on the host end, one worker; its CPU time (utime +
stime of every thread, /proc/PID/stat) from just before the first datagram to
the last frame counted, divided by the frames it counted, is its cost per
frame. The modes run alternated, ROUNDS times each, so both see the same
machine; the ratio is taken round by round. Needs root.

  scripts/iface_cost.py [--build build] [--frames 300000] [--rounds 5]
      [--modes burst,kernel] [--poll adaptive]
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

HZ = os.sysconf('SC_CLK_TCK')

SENDER = r'''
import socket, sys
host, frames = sys.argv[1], int(sys.argv[2])
socks = []
for i in range(1024):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('', 30000 + i))
    socks.append(s)
payload = b'x' * 64
for i in range(frames):
    socks[i & 1023].sendto(payload, (host, 9))
'''


def cpu_seconds(pid):
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ  # utime, stime


def run_once(probe, iface, mode, poll, ns, peer_ip, host_ip, frames):
    err_path = '/tmp/iface_cost_%d.err' % os.getpid()
    cmd = [probe, '--iface', iface, '--iface-time', mode, '--poll', poll, '--workers', '1',
           '--grpc-listen', 'none', '--json', '/dev/null', '--stats-interval', '1',
           '--bpf', 'udp port 9']
    with open(err_path, 'w') as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err)
    try:
        deadline = time.monotonic() + 60
        while 'RX worker(s)' not in open(err_path).read():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit('probe did not start:\n' + open(err_path).read())
            time.sleep(0.05)
        time.sleep(1.0)
        c0 = cpu_seconds(proc.pid)
        subprocess.run(['ip', 'netns', 'exec', ns, sys.executable, '-c', SENDER, host_ip,
                        str(frames)], check=True)
        time.sleep(0.5)  # the last frames reach the probe
        c1 = cpu_seconds(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    text = open(err_path).read()
    os.unlink(err_path)
    m = re.search(r'^\s*packets_in (\d+)$', text, re.M)
    counted = int(m.group(1)) if m else 0
    # Frames the kernel's ring had no room for (the port's imissed): counted, not lost.
    m = re.search(r'^\s*port_imissed (\d+)$', text, re.M)
    missed = int(m.group(1)) if m else 0
    return (c1 - c0) / max(counted, 1) * 1e9, counted, missed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', default='build')
    ap.add_argument('--frames', type=int, default=300000)
    ap.add_argument('--rounds', type=int, default=5)
    ap.add_argument('--modes', default='burst,kernel')
    ap.add_argument('--poll', default='adaptive')
    a = ap.parse_args()
    probe = os.path.join(a.build, 'src', 'app', 'skyprobe')
    tag = os.getpid() % 10000
    ns, host_if, peer_if = 'ifcost%d' % tag, 'ifc%d' % tag, 'ifcp%d' % tag
    host_ip, peer_ip = '10.214.%d.1' % (tag % 200), '10.214.%d.2' % (tag % 200)
    in_ns = ['ip', 'netns', 'exec', ns]
    try:
        for cmd in (['ip', 'netns', 'add', ns],
                    ['ip', 'link', 'add', host_if, 'type', 'veth', 'peer', 'name', peer_if,
                     'netns', ns],
                    ['ip', 'addr', 'add', host_ip + '/24', 'dev', host_if],
                    in_ns + ['ip', 'addr', 'add', peer_ip + '/24', 'dev', peer_if],
                    ['ip', 'link', 'set', host_if, 'up'],
                    in_ns + ['ip', 'link', 'set', peer_if, 'up']):
            subprocess.run(cmd, check=True, capture_output=True)
        mac = open('/sys/class/net/%s/address' % host_if).read().strip()
        subprocess.run(in_ns + ['ip', 'neigh', 'replace', host_ip, 'lladdr', mac, 'dev', peer_if,
                                'nud', 'permanent'], check=True)
        modes = a.modes.split(',')
        results = {m: [] for m in modes}
        for _ in range(a.rounds):
            for mode in modes:
                results[mode].append(run_once(probe, host_if, mode, a.poll, ns, peer_ip,
                                              host_ip, a.frames))
    finally:
        subprocess.run(['ip', 'netns', 'del', ns], capture_output=True)
        subprocess.run(['ip', 'link', 'del', host_if], capture_output=True)
    for mode in modes:
        ns_per = [r[0] for r in results[mode]]
        print('--iface-time %-6s  %7.0f ns CPU per frame (median; rounds: %s; frames counted: %s;'
              ' missed by the ring: %s)'
              % (mode, statistics.median(ns_per), ', '.join('%.0f' % v for v in ns_per),
                 ', '.join(str(r[1]) for r in results[mode]),
                 ', '.join(str(r[2]) for r in results[mode])))
    if len(modes) == 2:
        ratios = [n[0] / b[0] for b, n in zip(results[modes[0]], results[modes[1]])]
        print('%s / %s per round: %s (median %.2f)' % (
            modes[1], modes[0], ', '.join('%.2f' % r for r in ratios), statistics.median(ratios)))


if __name__ == '__main__':
    main()
