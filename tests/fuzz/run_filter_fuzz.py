#!/usr/bin/env python3
"""Run one of the request fuzzers for a while, seeded from tests/fuzz/seeds.

    run_filter_fuzz.py {text,struct,query} FUZZER [--seconds S] [--runs N]
                       [--corpus-out DIR] [--artifacts DIR]

text   filter_text_fuzz: seeds are the lines of seeds/filter_expressions.txt
       and a few over-limit ones built here (65 nested parentheses, a
       4097-value `in` list, 65 regexes); a dictionary of the language's
       keywords, operators and keys (from docs/query.md) guides mutations.
struct filter_struct_fuzz: the Filters of seeds/filters.textproto and chains
       64, 65 and 70 levels deep, encoded with `protoc --encode`.
query  grpc_query_fuzz: the FlowQuerys of seeds/queries.textproto and one per
       expression of filter_expressions.txt, encoded the same way.

Crashing inputs land in --artifacts (default ./KIND_fuzz_artifacts). Exits
with libFuzzer's status: non-zero on a crash, a sanitizer report or a broken
invariant.
"""

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get('SKYPROBE_SOURCE_ROOT', os.path.join(HERE, '..', '..'))
SEEDS = os.path.join(HERE, 'seeds')

KEYWORDS = ('and', 'or', 'not', 'in', 'is', 'null', 'true', 'false', '=', '==', '!=', '<',
            '<=', '>', '>=', '=~', '(', ')', ',', "'", '"')


def expressions():
    with open(os.path.join(SEEDS, 'filter_expressions.txt'), encoding='utf-8') as handle:
        lines = [line.rstrip('\n') for line in handle]
    seeds = [line for line in lines if line and not line.startswith('#')]
    seeds.append('(' * 65 + "UUID = '1'" + ')' * 65)
    seeds.append('not ' * 64 + 'Start = 1')
    seeds.append('Transport.B in (%s)' % ', '.join(str(i) for i in range(4097)))
    seeds.append(' or '.join("LayersPath =~ 'a%d'" % i for i in range(65)))
    return seeds


def blocks(name):
    with open(os.path.join(SEEDS, name), encoding='utf-8') as handle:
        text = ''.join(line for line in handle if not line.startswith('#'))
    return [b.strip() for b in text.split('\n---\n') if b.strip()]


def chain(levels):
    """A Filter of `levels` levels in text format: NOT around NOT ... a term."""
    inner = 'TermInt64Filter { Key: "Transport.B" Value: 22 }'
    for _ in range(levels - 1):
        inner = 'BoolFilter { Op: NOT Filters { %s } }' % inner
    return inner


def text_string(value):
    """A protobuf text-format string literal."""
    out = []
    for byte in value.encode('utf-8'):
        char = chr(byte)
        if char in '"\\':
            out.append('\\' + char)
        elif 32 <= byte < 127:
            out.append(char)
        else:
            out.append('\\%03o' % byte)
    return '"%s"' % ''.join(out)


def encode(message, text):
    protoc = shutil.which('protoc')
    if protoc is None:
        sys.exit('run_filter_fuzz: protoc not found (protobuf-compiler)')
    proto = os.path.join(ROOT, 'proto')
    out = subprocess.run([protoc, '--proto_path=' + proto, '--encode=skyprobe.v1.' + message,
                          os.path.join(proto, 'skyprobe', 'v1', 'probe_service.proto')],
                         input=text.encode('utf-8'), capture_output=True, check=False)
    if out.returncode != 0:
        sys.exit('run_filter_fuzz: protoc --encode %s failed on %r: %s'
                 % (message, text[:200], out.stderr.decode()))
    return out.stdout


def dictionary(path):
    """Keywords, operators and every key of docs/query.md's Keys section."""
    with open(os.path.join(ROOT, 'docs', 'query.md'), encoding='utf-8') as handle:
        doc = handle.read()
    section = doc[doc.index('## Keys'):]
    section = section[:section.index('\n## ', 1)]
    words = set(KEYWORDS)
    for token in re.findall(r'`([^`]+)`', section):
        for word in re.split(r'[{},\s]+', token):
            if word and re.fullmatch(r'[A-Za-z0-9_.]+', word):
                words.add(word)
    with open(path, 'w', encoding='utf-8') as handle:
        for word in sorted(words):
            handle.write('"%s"\n' % word.replace('\\', '\\\\').replace('"', '\\"'))
    return len(words)


def write_seeds(kind, corpus):
    if kind == 'text':
        seeds = [e.encode('utf-8') for e in expressions()]
    elif kind == 'struct':
        seeds = [encode('Filter', b) for b in blocks('filters.textproto')]
        seeds += [encode('Filter', chain(n)) for n in (64, 65, 70)]
    else:
        texts = blocks('queries.textproto')
        texts += ['expression: %s' % text_string(e) for e in expressions()]
        texts.append('filter { %s } limit: 2' % chain(65))
        seeds = [encode('FlowQuery', t) for t in texts]
    for seed in seeds:
        with open(os.path.join(corpus, hashlib.sha1(seed).hexdigest()), 'wb') as handle:
            handle.write(seed)
    return len(seeds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('kind', choices=('text', 'struct', 'query'))
    parser.add_argument('fuzzer')
    parser.add_argument('--seconds', type=int, default=60)
    parser.add_argument('--runs', type=int, default=-1)
    parser.add_argument('--corpus-out')
    parser.add_argument('--artifacts')
    args = parser.parse_args()
    artifacts = args.artifacts or '%s_fuzz_artifacts' % args.kind
    os.makedirs(artifacts, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix='filter_fuzz_') as tmp:
        corpus = args.corpus_out or os.path.join(tmp, 'corpus')
        os.makedirs(corpus, exist_ok=True)
        print('run_filter_fuzz: %d %s seeds in %s' % (write_seeds(args.kind, corpus), args.kind,
                                                      corpus), flush=True)
        cmd = [args.fuzzer, corpus, '-max_total_time=%d' % args.seconds,
               '-runs=%d' % args.runs, '-seed=1', '-max_len=65536', '-timeout=10',
               '-rss_limit_mb=2048', '-print_final_stats=1',
               '-artifact_prefix=%s/' % os.path.abspath(artifacts)]
        if args.kind == 'text':
            words = os.path.join(tmp, 'filter.dict')
            print('run_filter_fuzz: %d dictionary words' % dictionary(words), flush=True)
            cmd.append('-dict=' + words)
        print('run_filter_fuzz: ' + ' '.join(cmd), flush=True)
        return subprocess.run(cmd, check=False).returncode


if __name__ == '__main__':
    sys.exit(main())
