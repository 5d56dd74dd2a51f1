#!/usr/bin/env python3
"""The layer check (scripts/check_layers.py): the tree follows docs/architecture.md, and
the check does fail, naming file, line and rule, on each kind of bad include.

usage: layers_test.py SOURCE_ROOT
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = None


def run_check(root):
    script = os.path.join(ROOT, "scripts", "check_layers.py")
    p = subprocess.run([sys.executable, script, "--root", root], capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


class TreeTest(unittest.TestCase):
    def test_the_tree_follows_the_layers(self):
        rc, out = run_check(ROOT)
        self.assertEqual(rc, 0, out)


class ViolationTest(unittest.TestCase):
    """A copy of the real rules over a small made-up src/ tree."""

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="layers_test_")
        os.makedirs(os.path.join(self.root, "docs"))
        shutil.copy(os.path.join(ROOT, "docs", "architecture.md"),
                    os.path.join(self.root, "docs", "architecture.md"))
        # One clean file per module the rules name, so that only the planted
        # include can fail.
        for m in ["app", "ctl", "service", "query", "export", "control", "sflow", "capture",
                  "bpf", "table", "record", "config", "parse"]:
            self.write(f"src/{m}/ok.h", '#pragma once\n#include "absl/status/status.h"\n'
                                        '#include "skyprobe/status.h"\n')

    def tearDown(self):
        shutil.rmtree(self.root)

    def write(self, rel, text):
        path = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)

    def test_clean_tree_passes(self):
        self.write("src/export/sink.h", '#pragma once\n#include "record/flow_snapshot.h"\n'
                                        '#include "parse/parsed_packet.h"  // through record\n'
                                        '#include "skyprobe/v1/flow.pb.h"\n')
        self.write("src/app/wire.cc", '#include "capture/rx_worker.h"\n#include "service/x.h"\n'
                                      '#include <rte_ethdev.h>\n')
        rc, out = run_check(self.root)
        self.assertEqual(rc, 0, out)

    def test_sink_including_the_service(self):
        self.write("src/export/sink.h", '#pragma once\n\n#include "service/probe_backend.h"\n')
        rc, out = run_check(self.root)
        self.assertEqual(rc, 1, out)
        self.assertIn("src/export/sink.h:3: export may not include service/", out)
        self.assertIn("rule 'export: proto record' in docs/architecture.md", out)

    def test_control_side_including_the_shard_or_capture(self):
        self.write("src/control/loop.h", '#include "record/flow_snapshot.h"\n'
                                         '#include "capture/record_channel.h"\n')
        self.write("src/query/q.cc", '// #include "table/flow_table.h" is only a comment\n'
                                     '  #  include "table/flow_table.h"\n')
        rc, out = run_check(self.root)
        self.assertEqual(rc, 1, out)
        self.assertIn("src/control/loop.h:2: control may not include capture/", out)
        self.assertIn("src/query/q.cc:2: query may not include table/", out)
        self.assertNotIn("q.cc:1:", out)

    def test_going_up_the_data_path(self):
        self.write("src/table/t.h", '#include "capture/port.h"\n')
        self.write("src/record/r.h", '#include "table/flow_record.h"\n')
        self.write("src/bpf/b.h", '#include "parse/parser.h"\n')
        rc, out = run_check(self.root)
        self.assertEqual(rc, 1, out)
        self.assertIn("src/table/t.h:1: table may not include capture/", out)
        self.assertIn("src/record/r.h:1: record may not include table/", out)
        self.assertIn("src/bpf/b.h:1: bpf may not include parse/", out)

    def test_dpdk_in_a_module_without_dpdk(self):
        self.write("src/record/r.h", '#include <cstdint>\n#include <rte_mbuf.h>\n')
        self.write("src/ctl/c.cc", '#include "rte_ring.h"\n')
        rc, out = run_check(self.root)
        self.assertEqual(rc, 1, out)
        self.assertIn("src/record/r.h:2: record is marked (no DPDK) and may not include rte_mbuf.h",
                      out)
        self.assertIn("src/ctl/c.cc:1: ctl is marked (no DPDK)", out)

    def test_internal_headers_stay_in_their_module(self):
        self.write("src/table/internal/util.h", "#pragma once\n")
        self.write("src/table/x.cc", '#include "table/internal/util.h"\n')
        self.write("src/capture/y.cc", '#include "table/internal/util.h"\n')
        rc, out = run_check(self.root)
        self.assertEqual(rc, 1, out)
        self.assertIn("src/capture/y.cc:1: table/internal/util.h is internal to table/", out)
        self.assertNotIn("src/table/x.cc", out)

    def test_a_module_without_a_rule(self):
        self.write("src/kafka/sink.h", '#include "record/flow_snapshot.h"\n')
        rc, out = run_check(self.root)
        self.assertEqual(rc, 1, out)
        self.assertIn("src/kafka/: module has no rule in docs/architecture.md", out)

    def edit_rules(self, old, new):
        path = os.path.join(self.root, "docs", "architecture.md")
        with open(path) as f:
            text = f.read()
        self.assertIn(old, text)
        with open(path, "w") as f:
            f.write(text.replace(old, new))

    def test_rules_with_a_cycle_are_refused(self):
        self.edit_rules("\nrecord (no DPDK): parse\n", "\nrecord (no DPDK): parse export\n")
        rc, out = run_check(self.root)
        self.assertEqual(rc, 2, out)
        self.assertIn("the layers have a cycle", out)
        self.assertIn("record -> export -> record", out)

    def test_no_dpdk_module_reaching_a_dpdk_one_is_refused(self):
        self.edit_rules("\nexport (no DPDK): record proto\n", "\nexport (no DPDK): record proto control\n")
        rc, out = run_check(self.root)
        self.assertEqual(rc, 1, out)
        self.assertIn("export is marked (no DPDK) but reaches control, which is not", out)

    def test_missing_rules_block(self):
        self.edit_rules("```layers", "```text")
        rc, out = run_check(self.root)
        self.assertEqual(rc, 2, out)
        self.assertIn("no ```layers block", out)


if __name__ == "__main__":
    ROOT = os.path.abspath(sys.argv.pop(1))
    unittest.main()
