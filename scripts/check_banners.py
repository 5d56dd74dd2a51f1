#!/usr/bin/env python3
"""Every call in a header's usage sketch names something that exists.

    scripts/check_banners.py [--root DIR]

Each header under src/ and include/ opens with a banner whose indented lines
("//   code;") sketch how it is used. Those lines are not compiled, so they go
stale when a function is renamed. This check takes every sketch line that
looks like code (it ends with ';' or ')', before any trailing comment), and
every `name(` and `Type::name` in it, and fails unless that name is declared
in the code of src/ or include/ (comments excluded), the C++ library, or the
short list of placeholders below. Prints file:line and the name; exit 1.
"""

import argparse
import glob
import os
import re
import sys

# Placeholders a sketch may call without defining them, and std/absl/DPDK
# names the sources use without declaring them.
ALLOWED = {
    'Use', 'CountDrop', 'Process', 'Handle', 'Write', 'sizeof', 'if', 'for', 'while',
    'return', 'static_cast', 'reinterpret_cast', 'const_cast', 'make_unique', 'make_shared',
    'move', 'printf', 'fprintf', 'ok', 'value', 'status',
}
IDENT_CALL = re.compile(r'\b([A-Za-z_]\w*)\s*\(')
SCOPED = re.compile(r'\b([A-Za-z_]\w*)::([A-Za-z_]\w*)')
DECLARED = re.compile(r'\b[A-Z]\w*[&*>]?\s+([a-z_]\w*)\s*\(')


def code_identifiers(root):
    names = set()
    for path in glob.glob(os.path.join(root, 'src', '**', '*.*'), recursive=True) + \
            glob.glob(os.path.join(root, 'include', '**', '*.*'), recursive=True):
        if not path.endswith(('.h', '.cc', '.proto', '.build')):
            continue
        with open(path, encoding='utf-8') as handle:
            for line in handle:
                names.update(re.findall(r'\b[A-Za-z_]\w*\b', line.split('//')[0]))
    return names


def sketch_lines(path):
    """(line number, code) of the banner's indented sketch lines."""
    out = []
    with open(path, encoding='utf-8') as handle:
        for number, line in enumerate(handle, 1):
            if not line.startswith('//'):
                break
            if not line.startswith('//   '):
                continue
            code = line[5:].split('//')[0].rstrip()
            # Grammar lines (query language) are not code.
            if ':=' in code or code.lstrip().startswith('|'):
                continue
            if code.endswith((';', ')', '{')):
                out.append((number, code))
    return out


def check(root):
    names = code_identifiers(root)
    problems = []
    headers = glob.glob(os.path.join(root, 'src', '**', '*.h'), recursive=True) + \
        glob.glob(os.path.join(root, 'include', '**', '*.h'), recursive=True)
    for path in sorted(headers):
        for number, code in sketch_lines(path):
            called = set(IDENT_CALL.findall(code)) | {m[1] for m in SCOPED.findall(code)}
            # "Type var(args);" declares var: only Type must exist.
            called -= set(DECLARED.findall(code))
            for name in sorted(called):
                if name not in names and name not in ALLOWED:
                    problems.append('%s:%d: %s is not declared anywhere in src/ or include/: %s'
                                    % (os.path.relpath(path, root), number, name, code.strip()))
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--root', default=os.path.join(os.path.dirname(__file__), '..'))
    args = parser.parse_args()
    problems = check(os.path.abspath(args.root))
    for p in problems:
        print(p)
    if problems:
        print('check_banners: %d stale name(s) in usage sketches' % len(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
