#!/usr/bin/env python3
"""List the test cases a meson test run skipped.

    scripts/list_skips.py [--strict] BUILD_DIR...

A run can be green with cases that did not run: a gtest case that called
GTEST_SKIP, a Python unittest case that raised SkipTest, a whole test that
exited 77. Meson prints OK for the first two. This reads what the last
`meson test` in each BUILD_DIR recorded (meson-logs/testlog.junit.xml, where
meson's gtest protocol puts every gtest case, and testlog.json with each
test's output) and prints one line per skipped case with its reason.
--strict exits 1 when anything was skipped (.ci/run: every case must run).
"""

import json
import os
import re
import sys
import xml.etree.ElementTree as ET

# unittest at verbosity 2 (tests/integration/skyprobe_harness.py main()):
# "test_x (module.Class.test_x) ... skipped 'why'" (Python 3.11).
UNITTEST_SKIP = re.compile(r"^\w+ \(([\w.]+)\)(?:\n.*?)? \.\.\. skipped '(.*)'$", re.M)


def test_name(meson_name):
    """'skyprobe:unit+sanitize / parse_unit' -> 'parse_unit'."""
    return meson_name.split(' / ', 1)[-1]


def skips(build):
    logs = os.path.join(build, 'meson-logs')
    out = []
    junit = os.path.join(logs, 'testlog.junit.xml')
    if os.path.exists(junit):
        for suite in ET.parse(junit).getroot().iter('testsuite'):
            for case in suite.iter('testcase'):
                skipped = case.find('skipped')
                # A whole meson test (classname: the project) comes from testlog.json.
                if skipped is None or '.' not in suite.get('name', ''):
                    continue
                cls = case.get('classname', '')
                name = test_name(suite.get('name', ''))
                if name.endswith('.' + cls):
                    name = name[:-len(cls) - 1]
                # gtest: "file:line\nmessage".
                lines = (skipped.get('message') or skipped.text or '').strip().split('\n')
                where = lines[0] if len(lines) > 1 else ''
                why = ' '.join(lines[1:] if len(lines) > 1 else lines)
                out.append('%s %s.%s: %s%s' % (name, cls, case.get('name'), why,
                                               ' (%s)' % where if where else ''))
    tests = os.path.join(logs, 'testlog.json')
    if os.path.exists(tests):
        with open(tests) as handle:
            for line in handle:
                t = json.loads(line)
                if t.get('result') == 'SKIP':
                    out.append('%s: the whole test skipped' % test_name(t['name']))
                    continue
                text = (t.get('stdout') or '') + (t.get('stderr') or '')
                for case, why in UNITTEST_SKIP.findall(text):
                    out.append('%s %s: %s' % (test_name(t['name']), case, why))
    return sorted(set(out))


def main():
    args = sys.argv[1:]
    strict = '--strict' in args
    builds = [a for a in args if a != '--strict']
    if not builds:
        sys.exit(__doc__)
    found = []
    for build in builds:
        found += ['%s: %s' % (build, s) for s in skips(build)]
    for line in found:
        print('skipped: ' + line)
    if found and strict:
        print('list_skips: %d case(s) did not run' % len(found), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
