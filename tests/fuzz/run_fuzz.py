#!/usr/bin/env python3
"""Run the parser fuzzer for a while, seeded from the shared traces.

    run_fuzz.py FUZZER [--seconds S] [--runs N] [--corpus-out DIR]
                       [--artifacts DIR]

Every frame of $SKYPROBE_PCAPS/skydive/*.pcap and tcpdump/*.pcap{,ng} whose
link type the parser decodes becomes one seed file: a selector byte (the
link type index of tests/fuzz/parse_invariants.h), then the frame. The seeds
go into a temporary directory (or --corpus-out, kept) that libFuzzer also
grows; crashing inputs land in --artifacts (default ./parser_fuzz_artifacts,
the build dir under meson). Exits with libFuzzer's status: non-zero on a crash, a sanitizer
report or a broken invariant. Missing traces fail with
SKYPROBE_REQUIRE_SHARED=1; otherwise the fuzzer starts from an empty corpus
and says so.
"""

import argparse
import ctypes
import ctypes.util
import glob
import hashlib
import os
import subprocess
import sys
import tempfile

# Link types ParseFrame decodes, in parse_invariants.h's kFuzzLinks order.
FUZZ_LINKS = (1, 12, 101, 113, 0, 228, 229)


class _Header(ctypes.Structure):
    _fields_ = [('tv_sec', ctypes.c_long), ('tv_usec', ctypes.c_long),
                ('caplen', ctypes.c_uint32), ('len', ctypes.c_uint32)]


def _libpcap():
    lib = ctypes.CDLL(ctypes.util.find_library('pcap') or 'libpcap.so.0.8')
    lib.pcap_open_offline.restype = ctypes.c_void_p
    lib.pcap_open_offline.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    lib.pcap_datalink.argtypes = [ctypes.c_void_p]
    lib.pcap_next_ex.argtypes = [ctypes.c_void_p,
                                 ctypes.POINTER(ctypes.POINTER(_Header)),
                                 ctypes.POINTER(ctypes.POINTER(ctypes.c_ubyte))]
    lib.pcap_close.argtypes = [ctypes.c_void_p]
    return lib


def frames(lib, path):
    """(datalink, [frame bytes]) of a capture; ([], -1) if unreadable."""
    err = ctypes.create_string_buffer(512)
    handle = lib.pcap_open_offline(path.encode(), err)
    if not handle:
        return -1, []
    link = lib.pcap_datalink(handle)
    out = []
    header = ctypes.POINTER(_Header)()
    data = ctypes.POINTER(ctypes.c_ubyte)()
    while lib.pcap_next_ex(handle, ctypes.byref(header), ctypes.byref(data)) == 1:
        out.append(ctypes.string_at(data, header.contents.caplen))
    lib.pcap_close(handle)
    return link, out


def pcaps_dir():
    root = os.environ.get('SKYPROBE_SOURCE_ROOT',
                          os.path.join(os.path.dirname(__file__), '..', '..'))
    return os.environ.get('SKYPROBE_PCAPS',
                          os.path.join(root, '..', 'shared', 'pcaps'))


def write_seeds(out_dir):
    """Write one seed per distinct supported frame; return the count."""
    base = pcaps_dir()
    paths = sorted(glob.glob(os.path.join(base, 'skydive', '*.pcap'))
                   + glob.glob(os.path.join(base, 'tcpdump', '*.pcap'))
                   + glob.glob(os.path.join(base, 'tcpdump', '*.pcapng')))
    if not paths:
        message = 'no traces under %s: fuzzing from an empty corpus' % base
        if os.environ.get('SKYPROBE_REQUIRE_SHARED') == '1':
            sys.exit('run_fuzz: ' + message)
        print('run_fuzz: WARNING: ' + message, file=sys.stderr)
        return 0
    lib = _libpcap()
    seen = set()
    for path in paths:
        link, packets = frames(lib, path)
        if link not in FUZZ_LINKS:
            continue
        selector = bytes([FUZZ_LINKS.index(link)])
        for frame in packets:
            seed = selector + frame
            digest = hashlib.sha1(seed).hexdigest()
            if digest in seen:
                continue
            seen.add(digest)
            with open(os.path.join(out_dir, digest), 'wb') as handle:
                handle.write(seed)
    return len(seen)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('fuzzer')
    parser.add_argument('--seconds', type=int, default=60)
    parser.add_argument('--runs', type=int, default=-1,
                        help='stop after N inputs (-1: time only)')
    parser.add_argument('--corpus-out', help='keep the corpus here')
    parser.add_argument('--artifacts', default='parser_fuzz_artifacts',
                        help='where crashing inputs are written')
    args = parser.parse_args()
    os.makedirs(args.artifacts, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix='parser_fuzz_') as tmp:
        corpus = args.corpus_out or os.path.join(tmp, 'corpus')
        os.makedirs(corpus, exist_ok=True)
        seeds = write_seeds(corpus)
        print('run_fuzz: %d seed inputs in %s' % (seeds, corpus), flush=True)
        cmd = [args.fuzzer, corpus, '-max_total_time=%d' % args.seconds,
               '-runs=%d' % args.runs, '-seed=1', '-max_len=65536',
               '-timeout=10', '-rss_limit_mb=2048', '-print_final_stats=1',
               '-artifact_prefix=%s/' % os.path.abspath(args.artifacts)]
        print('run_fuzz: ' + ' '.join(cmd), flush=True)
        return subprocess.run(cmd, check=False).returncode


if __name__ == '__main__':
    sys.exit(main())
