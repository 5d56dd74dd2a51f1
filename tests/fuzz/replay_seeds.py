#!/usr/bin/env python3
"""Replay a fuzz target's seed corpus through its checks, without libFuzzer.

    replay_seeds.py {parser|sflow} REPLAY_BINARY

Writes the seeds the libFuzzer run would start from (run_fuzz.py and
run_sflow_fuzz.py write them: frames of $SKYPROBE_PCAPS, sFlow datagrams
wrapping them) into a temporary directory and runs REPLAY_BINARY (the target
linked with replay_main.cc) over it. Any broken invariant or sanitizer report
fails. With no shared traces the parser has no seeds: that is a skip (exit
77, meson's skip code), a failure with SKYPROBE_REQUIRE_SHARED=1.
"""

import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ('parser', 'sflow'):
        sys.exit(__doc__)
    kind, binary = sys.argv[1], sys.argv[2]
    if kind == 'parser':
        import run_fuzz as writer  # noqa: E402
    else:
        import run_sflow_fuzz as writer  # noqa: E402
    with tempfile.TemporaryDirectory(prefix='%s_seeds_' % kind) as corpus:
        seeds = writer.write_seeds(corpus)
        print('replay_seeds: %d %s seeds' % (seeds, kind), flush=True)
        if seeds == 0:
            print('replay_seeds: no seeds (shared traces absent): nothing replayed',
                  flush=True)
            return 77
        return subprocess.run([binary, corpus], check=False).returncode


if __name__ == '__main__':
    sys.exit(main())
