#!/usr/bin/env python3
"""The usage-sketch check (scripts/check_banners.py): the tree passes, and a
sketch calling a name that exists nowhere fails, naming file and line.

usage: banners_test.py SOURCE_ROOT
"""
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = None


def run_check(root):
    script = os.path.join(ROOT, 'scripts', 'check_banners.py')
    p = subprocess.run([sys.executable, script, '--root', root], capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def write(root, rel, text):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as handle:
        handle.write(text)


class BannersTest(unittest.TestCase):
    def test_the_tree_passes(self):
        rc, out = run_check(ROOT)
        self.assertEqual(rc, 0, out)

    def test_a_stale_name_fails(self):
        with tempfile.TemporaryDirectory() as root:
            write(root, 'src/a/thing.h',
                  '// thing.h: a thing.\n//\n//   Thing t(3);\n'
                  '//   SKYPROBE_RETURN_IF_ERROR(t.Renamed(cfg));  // stale\n'
                  '#pragma once\nstruct Thing { explicit Thing(int); int Start(int); };\n')
            write(root, 'include/skyprobe/status.h', '#define SKYPROBE_RETURN_IF_ERROR(x) x\n')
            rc, out = run_check(root)
            self.assertEqual(rc, 1, out)
            self.assertIn('src/a/thing.h:4: Renamed', out)
            self.assertNotIn('Thing is not', out)  # declared: fine

    def test_a_declared_name_passes(self):
        with tempfile.TemporaryDirectory() as root:
            write(root, 'src/a/thing.h',
                  '// thing.h: a thing.\n//\n//   Thing t(3);\n//   t.Start(1);\n'
                  '#pragma once\nstruct Thing { explicit Thing(int); int Start(int); };\n')
            rc, out = run_check(root)
            self.assertEqual(rc, 0, out)


if __name__ == '__main__':
    ROOT = sys.argv.pop(1)
    unittest.main(verbosity=2)
