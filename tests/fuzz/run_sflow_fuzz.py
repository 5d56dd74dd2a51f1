#!/usr/bin/env python3
"""Run the sFlow decoder fuzzer for a while, seeded with built datagrams.

    run_sflow_fuzz.py FUZZER [--seconds S] [--runs N] [--corpus-out DIR]
                             [--artifacts DIR]

Seeds: sFlow v5 datagrams (tests/integration/sflow_test.py's encoder) from
an IPv4 and an IPv6 agent, flow and expanded samples, counter samples and
skipped records, wrapping every frame of $SKYPROBE_PCAPS/skydive/*.pcap
(Ethernet ones) a few at a time, plus raw IPv4 headers. Crashing inputs land
in --artifacts (default ./sflow_fuzz_artifacts). Exits with libFuzzer's
status. Missing traces fail with SKYPROBE_REQUIRE_SHARED=1; otherwise the
seeds are synthetic frames only, and it says so.
"""

import argparse
import glob
import hashlib
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, '..', 'integration'))
import run_fuzz  # noqa: E402  (trace reading)
import sflow_test as enc  # noqa: E402  (the sFlow encoder)


def seed_frames():
    paths = sorted(glob.glob(os.path.join(run_fuzz.pcaps_dir(), 'skydive', '*.pcap')))
    if not paths:
        message = 'no traces under %s: synthetic seeds only' % run_fuzz.pcaps_dir()
        if os.environ.get('SKYPROBE_REQUIRE_SHARED') == '1':
            sys.exit('run_sflow_fuzz: ' + message)
        print('run_sflow_fuzz: WARNING: ' + message, file=sys.stderr)
        return []
    lib = run_fuzz._libpcap()
    frames = []
    for path in paths:
        link, packets = run_fuzz.frames(lib, path)
        if link == 1:
            frames.extend(packets)
    return frames


def write_seeds(out_dir):
    frames = seed_frames() + [f for f, _ in enc.conversation_frames()]
    seeds = []
    for i in range(0, len(frames), 4):
        group = frames[i:i + 4]
        agent = enc.AGENT_A if i % 8 == 0 else enc.AGENT_B
        samples = [enc.flow_sample(1 + i, [enc.raw_header(f)], expanded=(j % 2 == 1))
                   for j, f in enumerate(group)]
        samples.append(enc.counter_sample())
        samples.append(enc.flow_sample(7, [enc.extended_switch()] +
                                       [enc.raw_header(f[14:], protocol=11, stripped=0)
                                        for f in group]))
        seeds.append(enc.datagram(agent, samples, seq=i))
    for seed in seeds:
        with open(os.path.join(out_dir, hashlib.sha1(seed).hexdigest()), 'wb') as handle:
            handle.write(seed)
    return len(seeds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('fuzzer')
    parser.add_argument('--seconds', type=int, default=60)
    parser.add_argument('--runs', type=int, default=-1)
    parser.add_argument('--corpus-out')
    parser.add_argument('--artifacts', default='sflow_fuzz_artifacts')
    args = parser.parse_args()
    os.makedirs(args.artifacts, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix='sflow_fuzz_') as tmp:
        corpus = args.corpus_out or os.path.join(tmp, 'corpus')
        os.makedirs(corpus, exist_ok=True)
        print('run_sflow_fuzz: %d seed datagrams in %s' % (write_seeds(corpus), corpus),
              flush=True)
        cmd = [args.fuzzer, corpus, '-max_total_time=%d' % args.seconds,
               '-runs=%d' % args.runs, '-seed=1', '-max_len=65535', '-timeout=10',
               '-rss_limit_mb=2048', '-print_final_stats=1',
               '-artifact_prefix=%s/' % os.path.abspath(args.artifacts)]
        print('run_sflow_fuzz: ' + ' '.join(cmd), flush=True)
        return subprocess.run(cmd, check=False).returncode


if __name__ == '__main__':
    sys.exit(main())
