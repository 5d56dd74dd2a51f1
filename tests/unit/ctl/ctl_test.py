#!/usr/bin/env python3
"""skyprobectl against fake probes (tests/unit/service/fake_probe_main.cc).

Runs the real skyprobectl binary: flows (table, --json, --filter, --sort,
--limit, two-probe fan-out with merge and dedup; --format csv read back by
Python's csv module against the probe's own JSON records, --columns, human
units against a formatter written here, IPv6 endpoints cut to fit --width
with the columns still aligned), watch, pcap -o (read back by
tshark), stats, flush, token auth, and one-line errors with a non-zero exit.

usage: ctl_test.py SKYPROBECTL FAKE_PROBE
"""
import csv
import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import unittest

CTL = FAKE = None


class Probe:
    def __init__(self, tmp, name, flow_set, token_file=None):
        self.port_file = os.path.join(tmp, name + ".port")
        args = [FAKE, "--node-tid", name, "--set", flow_set, "--port-file", self.port_file]
        if token_file:
            args += ["--token-file", token_file]
        self.proc = subprocess.Popen(args)
        for _ in range(200):
            if os.path.exists(self.port_file):
                break
            time.sleep(0.05)
        with open(self.port_file) as f:
            self.addr = "127.0.0.1:" + f.read().strip()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=20)


def ctl(*args, check=True):
    r = subprocess.run([CTL] + list(args), capture_output=True, text=False, timeout=60)
    if check and r.returncode != 0:
        raise AssertionError("skyprobectl %s failed: %s" % (args, r.stderr.decode()))
    return r


def uuids(out):
    return [json.loads(line)["UUID"] for line in out.decode().splitlines()]


class CtlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="skyprobectl_test_")
        cls.token = os.path.join(cls.tmp, "token")
        with open(cls.token, "w") as f:
            f.write("hunter2-hunter2-hunter2\n")
        cls.a = Probe(cls.tmp, "probe-1", "a")
        cls.b = Probe(cls.tmp, "probe-2", "b")
        cls.locked = Probe(cls.tmp, "probe-3", "b", token_file=cls.token)
        # A NodeTID with a comma and a quote: CSV must quote it.
        cls.c = Probe(cls.tmp, 'probe,"c"', "c")

    @classmethod
    def tearDownClass(cls):
        for p in (cls.a, cls.b, cls.locked, cls.c):
            p.stop()
            assert p.proc.returncode == 0, "fake probe did not shut down cleanly"
        shutil.rmtree(cls.tmp)

    def test_table(self):
        out = ctl("flows", "--probe", self.a.addr).stdout.decode().splitlines()
        self.assertEqual(out[0].split(), ["UUID", "APP", "A", "B", "PACKETS", "BYTES", "START",
                                          "DURATION"])
        self.assertEqual([l.split()[0] for l in out[1:]], ["11", "12", "13", "14"])
        self.assertEqual(out[1].split()[1:4], ["TCP", "10.0.0.1:40000", "10.0.0.2:443"])

    def test_json_is_the_probes_format(self):
        out = ctl("flows", "--probe", self.a.addr, "--json", "--filter", "UUID = '11'").stdout
        lines = out.decode().splitlines()
        self.assertEqual(len(lines), 1)
        flow = json.loads(lines[0])
        self.assertEqual(list(flow)[:4], ["Event", "ExpireReason", "UUID", "LayersPath"])
        self.assertEqual(flow["NodeTID"], "probe-1")
        self.assertEqual(flow["Network"], {"Protocol": "IPV4", "A": "10.0.0.1", "B": "10.0.0.2",
                                           "ID": 0})
        self.assertEqual(flow["Transport"]["B"], 443)  # a JSON number, as the probe writes it
        self.assertEqual(flow["FinishType"], "TCP_FIN")

    def test_filter_sort_limit(self):
        r = ctl("flows", "--probe", self.a.addr, "--json", "--filter", "Network.A = '10.0.0.1'")
        self.assertEqual(uuids(r.stdout), ["11", "12"])
        r = ctl("flows", "--probe", self.a.addr, "--json", "--sort", "Metric.ABBytes:desc",
                "--limit", "3")
        self.assertEqual(uuids(r.stdout), ["11", "12", "14"])
        r = ctl("flows", "--probe", self.a.addr, "--json", "--sort", "Network.A",
                "--filter", "Transport.A is null or Transport.B in (53, 22)")
        self.assertEqual(uuids(r.stdout), ["12", "13", "14"])

    def test_fan_out_merges_sorts_and_dedups(self):
        r = ctl("flows", "--probe", self.a.addr, "--probe", self.b.addr, "--json",
                "--sort", "Metric.ABBytes:desc", "--dedup", "TrackingID")
        # 21 (probe-2, 2000 bytes) and 11 (probe-1, 1500) are one conversation.
        self.assertEqual(uuids(r.stdout), ["21", "22", "12", "14", "13"])
        nodes = [json.loads(l)["NodeTID"] for l in r.stdout.decode().splitlines()]
        self.assertEqual(nodes, ["probe-2", "probe-2", "probe-1", "probe-1", "probe-1"])
        # With a limit, each probe sends its first 3; flow 11 loses to 21 in the
        # merge, and the third flow still comes (12, probe-1's second).
        r = ctl("flows", "--probe", self.a.addr, "--probe", self.b.addr, "--json",
                "--sort", "Metric.ABBytes:desc", "--dedup", "TrackingID", "--limit", "3")
        self.assertEqual(uuids(r.stdout), ["21", "22", "12"])
        table = ctl("flows", "--probe", self.a.addr, "--probe", self.b.addr).stdout.decode()
        self.assertEqual(table.splitlines()[0].split()[0], "NODE")
        self.assertEqual(len(table.splitlines()), 1 + 6)

    def json_records(self, *probes):
        """The probes' records as they render them (one probe: its own JSON lines)."""
        recs = []
        for p in probes:
            out = ctl("flows", "--probe", p.addr, "--json").stdout.decode()
            recs += [json.loads(l) for l in out.splitlines()]
        return {r["UUID"]: r for r in recs}

    def test_csv_equals_the_json_records(self):
        # Every cell of the default CSV columns, read by Python's csv module,
        # equals the same field of the probe's JSON record (JSON numbers as
        # their decimal text; a field the record lacks, an empty cell).
        paths = {"UUID": ("UUID",), "NodeTID": ("NodeTID",), "LayersPath": ("LayersPath",),
                 "Application": ("Application",), "Network.A": ("Network", "A"),
                 "Network.B": ("Network", "B"), "Transport.A": ("Transport", "A"),
                 "Transport.B": ("Transport", "B"),
                 "Metric.ABPackets": ("Metric", "ABPackets"),
                 "Metric.BAPackets": ("Metric", "BAPackets"),
                 "Metric.ABBytes": ("Metric", "ABBytes"), "Metric.BABytes": ("Metric", "BABytes"),
                 "Start": ("Start",), "Last": ("Last",)}

        def field(rec, path):
            for k in path:
                if not isinstance(rec, dict) or k not in rec:
                    return ""
                rec = rec[k]
            return str(rec)

        for probes in ((self.c,), (self.a, self.c)):
            args = ["flows", "--format", "csv"]
            for p in probes:
                args += ["--probe", p.addr]
            text = ctl(*args).stdout.decode()
            rows = list(csv.reader(io.StringIO(text, newline="")))
            self.assertEqual(rows[0], list(paths))
            records = self.json_records(*probes)
            self.assertEqual(sorted(r[0] for r in rows[1:]), sorted(records))
            for row in rows[1:]:
                rec = records[row[0]]
                self.assertEqual(row, [field(rec, paths[k]) for k in rows[0]], rec)
        # The NodeTID with a comma and a quote came through quoted, as one field.
        self.assertIn('"probe,""c"""', text)
        # ICMP has no ports: empty cells, not 0.
        icmp = [r for r in csv.reader(io.StringIO(text)) if r[0] == "33"][0]
        self.assertEqual(icmp[6:8], ["", ""])

    def test_columns_in_csv_and_json(self):
        records = self.json_records(self.c)
        out = ctl("flows", "--probe", self.c.addr, "--format", "csv", "--columns",
                  "UUID,Transport.B,bytes,Duration,TrackingID").stdout.decode()
        rows = list(csv.DictReader(io.StringIO(out)))
        self.assertEqual(list(rows[0]), ["UUID", "Transport.B", "BYTES", "DURATION",
                                         "TrackingID"])
        for row in rows:
            rec = records[row["UUID"]]
            self.assertEqual(row["BYTES"], "%d/%d" % (rec["Metric"]["ABBytes"],
                                                      rec["Metric"]["BABytes"]))
            self.assertEqual(int(row["DURATION"]), rec["Last"] - rec["Start"])
            self.assertEqual(row["TrackingID"], rec["TrackingID"])
        out = ctl("flows", "--probe", self.c.addr, "--format", "json", "--columns",
                  "UUID,Transport.A,Metric.ABBytes,RATE,NODE").stdout.decode()
        for line in out.splitlines():
            obj = json.loads(line)
            rec = records[obj["UUID"]]
            self.assertEqual(list(obj), ["UUID", "Transport.A", "Metric.ABBytes", "RATE", "NODE"])
            self.assertEqual(obj["Transport.A"], rec.get("Transport", {}).get("A"))  # null: ICMP
            self.assertEqual(obj["Metric.ABBytes"], rec["Metric"]["ABBytes"])
            m = rec["Metric"]
            self.assertEqual(obj["RATE"], round((m["ABBytes"] + m["BABytes"]) * 8000 /
                                                (rec["Last"] - rec["Start"])))
            self.assertEqual(obj["NODE"], 'probe,"c"')

    @staticmethod
    def human(n, unit):
        """SI prefixes, three significant digits: a second formatter, written here."""
        for prefix in ("", "k", "M", "G", "T"):
            if round(n) < 1000 or prefix == "T":
                break
            n /= 1000.0
        if prefix == "":
            return "%d%s" % (n, " " + unit if unit else "")
        digits = 2 if n < 9.995 else 1 if n < 99.95 else 0
        return "%.*f%s%s" % (digits, n, " " if unit else "", prefix + unit)

    def test_table_in_human_units(self):
        records = self.json_records(self.c)
        out = ctl("flows", "--probe", self.c.addr, "--width", "0").stdout.decode().splitlines()
        header = out[0]
        self.assertEqual(header.split(), ["UUID", "APP", "A", "B", "PACKETS", "BYTES", "START",
                                          "DURATION"])
        col = {name: re.search(r"\b%s\b" % name, header).start()
               for name in ("A", "B", "PACKETS", "BYTES", "START")}
        for line in out[1:]:
            rec = records[line.split()[0]]
            m = rec["Metric"]
            # Left-aligned columns start under their header.
            self.assertEqual(line[col["START"]:].split()[0],
                             time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(rec["Start"] // 1000)))
            a = line[col["A"]:].split()[0]
            net = rec["Network"]["A"]
            self.assertTrue(a.startswith("[" + net + "]" if ":" in net else net), a)
            self.assertIn("%s/%s" % (self.human(m["ABBytes"], "B"), self.human(m["BABytes"], "B")),
                          line)
            self.assertIn("%s/%s" % (self.human(m["ABPackets"], ""),
                                     self.human(m["BAPackets"], "")), line)
        self.assertIn("123 MB/60 B", out[1])
        self.assertIn("98.8k/1", out[1])
        self.assertTrue(out[1].endswith("1h02m"), out[1])  # 3,723,000 ms
        self.assertTrue(out[2].endswith("1.5s"), out[2])

    def test_wide_ipv6_is_cut_to_fit_and_stays_aligned(self):
        records = self.json_records(self.c)
        full = ctl("flows", "--probe", self.c.addr, "--width", "0", "--columns",
                   "UUID,A,B,BYTES").stdout.decode().splitlines()
        self.assertGreater(max(len(l) for l in full), 66)
        out = ctl("flows", "--probe", self.c.addr, "--width", "66", "--columns",
                  "UUID,A,B,BYTES").stdout.decode().splitlines()
        self.assertEqual(len(out), 4)
        for line in out:
            self.assertLessEqual(len(line), 66, line)  # str: "…" is one character
        b = out[0].index("B ")
        by = out[0].index("BYTES")
        for line in out[1:]:
            rec = records[line.split()[0]]
            # The B cell starts under "B", BYTES under "BYTES" on every line.
            self.assertEqual(line[b - 2:b], "  ")
            self.assertNotEqual(line[b], " ")
            cell_b = line[b:].split()[0]
            port = rec["Transport"]["B"] if "Transport" in rec else None
            if port is not None:
                self.assertTrue(cell_b.endswith(":%d" % port), cell_b)  # the port survives
            if "…" not in cell_b:
                self.assertIn(rec["Network"]["B"], cell_b)
            self.assertTrue(line[by:].startswith(self.human(rec["Metric"]["ABBytes"], "B")))
        self.assertIn("…", out[1])           # the wide IPv6 endpoints were cut
        self.assertIn("10.0.0.1", out[3])    # an IPv4 address never is

    def test_group_by_over_two_probes_adds_up_the_records(self):
        # The fake probes group with the service's default (VisitFlows), the
        # merge of two probes is skyprobectl's: both against the records.
        records = list(self.json_records(self.a).values()) + \
            list(self.json_records(self.b).values())
        want = {}
        for r in records:
            k = (r["Network"]["A"], r.get("Transport", {}).get("B"))
            g = want.setdefault(k, [0, 0, 0, 0, 0])
            m = r["Metric"]
            for i, v in enumerate((1, m["ABPackets"], m["ABBytes"], m["BAPackets"],
                                   m["BABytes"])):
                g[i] += v
        out = ctl("flows", "--probe", self.a.addr, "--probe", self.b.addr, "--group-by",
                  "Network.A,Transport.B", "--format", "json").stdout.decode()
        got = {}
        for line in out.splitlines():
            g = json.loads(line)
            got[(g["Network.A"], g["Transport.B"])] = [g["Flows"], g["ABPackets"], g["ABBytes"],
                                                       g["BAPackets"], g["BABytes"]]
        self.assertEqual(got, want)
        # 10.0.0.1:443 is on both probes: one group of two flows, first by bytes.
        self.assertEqual(list(got)[0], ("10.0.0.1", 443))
        self.assertEqual(got[("10.0.0.1", 443)][0], 2)
        self.assertIn(("10.0.0.9", None), got)  # ICMP: no port, a null
        csv_rows = list(csv.reader(io.StringIO(ctl(
            "flows", "--probe", self.a.addr, "--group-by", "Transport.B", "--sort",
            "Transport.B", "--format", "csv").stdout.decode())))
        self.assertEqual(csv_rows[0][:2], ["Transport.B", "Flows"])
        self.assertEqual([r[0] for r in csv_rows[1:]], ["22", "53", "443", ""])
        r = ctl("flows", "--probe", self.a.addr, "--group-by", "Network.A", "--dedup",
                "TrackingID", check=False)
        self.assertEqual((r.returncode, r.stderr.decode()),
                         (2, "skyprobectl: --group-by: --dedup and --columns apply to flows, "
                             "not to groups\n"))

    def test_format_errors(self):
        r = ctl("flows", "--probe", self.c.addr, "--format", "xml", check=False)
        self.assertEqual((r.returncode, r.stderr.decode()),
                         (2, "skyprobectl: --format: 'xml' is not table, json or csv\n"))
        r = ctl("flows", "--probe", self.c.addr, "--columns", "A,Netwrk.A", check=False)
        self.assertEqual(r.returncode, 2)
        self.assertTrue(r.stderr.decode().startswith(
            "skyprobectl: --columns: unknown key 'Netwrk.A' (did you mean 'Network.A'?)"),
            r.stderr.decode())

    def test_watch(self):
        r = ctl("watch", "--probe", self.a.addr, "--json", "--count", "3",
                "--filter", "Transport.B = 443")
        lines = r.stdout.decode().splitlines()
        self.assertEqual(len(lines), 3)
        self.assertTrue(all(json.loads(l)["Transport"]["B"] == 443 for l in lines))
        r = ctl("watch", "--probe", self.a.addr, "--probe", self.b.addr, "--count", "4")
        self.assertEqual(len(r.stdout.decode().splitlines()), 4)
        self.assertTrue(r.stdout.decode().startswith("UPDATE"))

    def test_watch_ends_cleanly_when_the_probe_stops(self):
        # Issue 15: a normal stop is no error (it was gRPC's "Cancelling all calls", exit 1).
        p = Probe(self.tmp, "stopping", "a")
        watch = subprocess.Popen([CTL, "watch", "--probe", p.addr, "--json"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        first = watch.stdout.readline()  # subscribed: records flow
        self.assertTrue(json.loads(first)["UUID"])
        p.stop()
        out, err = watch.communicate(timeout=30)
        self.assertEqual(watch.returncode, 0, err.decode())
        self.assertEqual(err.decode(), "skyprobectl: %s: probe stopped\n" % p.addr)
        for line in out.decode().splitlines():  # every line whole
            json.loads(line)

    def test_probe_without_a_port_means_50051(self):
        for given, target in (("127.0.0.1", "127.0.0.1:50051"), ("[::1]", "[::1]:50051"),
                              ("::1", "[::1]:50051"), ("localhost", "localhost:50051")):
            r = ctl("stats", "--probe", given, "--interval", "0", "--timeout", "2", check=False)
            if r.returncode == 0:
                continue  # a probe does listen on 50051 here: it answered
            self.assertEqual(r.returncode, 1)
            self.assertTrue(r.stderr.decode().startswith("skyprobectl: %s: " % target),
                            r.stderr.decode())
        for bad in ("127.0.0.1:", "127.0.0.1:0", "127.0.0.1:99999", "[::1", ":50051", ""):
            r = ctl("stats", "--probe", bad, check=False)
            self.assertEqual(r.returncode, 2, bad)
            self.assertIn("--probe: ", r.stderr.decode())
            self.assertEqual(r.stderr.decode().count("\n"), 1)

    def test_empty_token_file_is_an_error(self):
        empty = os.path.join(self.tmp, "empty-token")
        with open(empty, "w") as f:
            f.write("  \n")
        r = ctl("flows", "--probe", self.locked.addr, "--token-file", empty, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.decode(),
                         "skyprobectl: --token-file %s: empty (no token to send)\n" % empty)

    def test_pcap(self):
        path = os.path.join(self.tmp, "out.pcap")
        ctl("pcap", "--probe", self.a.addr, "-o", path, "--filter", "Transport.Protocol = 'TCP'")
        with open(path, "rb") as f:
            data = f.read()
        self.assertEqual(struct.unpack("<I", data[:4])[0], 0xa1b23c4d)
        if shutil.which("tshark"):
            t = subprocess.run(["tshark", "-r", path, "-T", "fields", "-e", "frame.len"],
                               capture_output=True, text=True, check=True)
            self.assertEqual(t.stdout.split(), ["46", "46", "46"])
        else:  # walk the records: 3 of them
            at, n = 24, 0
            while at < len(data):
                incl = struct.unpack("<I", data[at + 8:at + 12])[0]
                at += 16 + incl
                n += 1
            self.assertEqual(n, 3)
        ctl("pcap", "--probe", self.a.addr, "-o", path, "--uuid", "12")
        with open(path, "rb") as f:
            self.assertEqual(len(f.read()), 24 + 16 + 46)

    def test_pcap_over_two_probes_is_one_file_in_time_order(self):
        path = os.path.join(self.tmp, "both.pcap")
        # TCP flows: 11 and 12 (probe-1, Ethernet), 21 (probe-2, Ethernet): one pcap.
        ctl("pcap", "--probe", self.a.addr, "--probe", self.b.addr, "-o", path,
            "--filter", "Transport.Protocol = 'TCP'")
        with open(path, "rb") as f:
            data = f.read()
        self.assertEqual(struct.unpack("<I", data[:4])[0], 0xa1b23c4d)
        stamps, at = [], 24
        while at < len(data):
            sec, nsec, incl = struct.unpack("<III", data[at:at + 12])
            stamps.append(sec * 10**9 + nsec)
            at += 16 + incl
        self.assertEqual(stamps, [1000000000, 1500000000, 2000000000, 2500000001, 3000000500])
        # Every flow: probe-1's raw-IP packet joins, so the merged file is pcapng.
        ctl("pcap", "--probe", self.a.addr, "--probe", self.b.addr, "-o", path)
        with open(path, "rb") as f:
            self.assertEqual(struct.unpack("<I", f.read(4))[0], 0x0a0d0d0a)
        if shutil.which("tshark"):
            t = subprocess.run(["tshark", "-r", path, "-T", "fields", "-e", "frame.time_epoch",
                                "-e", "frame.len"], capture_output=True, text=True, check=True)
            rows = [l.split() for l in t.stdout.splitlines()]
            self.assertEqual(len(rows), 6)
            times = [float(r[0]) for r in rows]
            self.assertEqual(times, sorted(times))
        elif os.environ.get("SKYPROBE_REQUIRE_TSHARK") == "1":
            self.fail("tshark is required (SKYPROBE_REQUIRE_TSHARK=1) but absent")
        # A probe that fails fails the whole export, naming it.
        r = ctl("pcap", "--probe", self.a.addr, "--probe", "127.0.0.1:1", "-o", path, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("127.0.0.1:1", r.stderr.decode())

    def test_stats_and_flush(self):
        out = ctl("stats", "--all", "--probe", self.a.addr).stdout.decode().splitlines()
        self.assertIn("total flows 4", out)
        self.assertTrue(any(l.startswith("service queries ") for l in out))
        r = ctl("flush", "--probe", self.a.addr, "--probe", self.b.addr)
        self.assertEqual(r.stdout, b"")

    def test_stats_table_and_json(self):
        # The fake's counters grow by fixed steps per Stats call (fake_backend.h):
        # the rates are the steps over the interval the probe's clock measured.
        out = ctl("stats", "--json", "--interval", "0.2", "--probe", self.a.addr,
                  "--probe", self.b.addr).stdout.decode().splitlines()
        self.assertEqual(len(out), 2)
        for line, probe in zip(out, (self.a, self.b)):
            v = json.loads(line)
            self.assertEqual(v["probe"], probe.addr)
            dt = v["interval_sec"]
            self.assertGreaterEqual(dt, 0.2)
            pk = v["traffic"]["packets_in"]
            self.assertEqual(pk["total"] % 1000, 0)
            self.assertAlmostEqual(pk["per_sec"] * dt, 1000, places=2)
            self.assertAlmostEqual(v["traffic"]["bytes_in"]["per_sec"] * dt, 64000, places=1)
            self.assertEqual(v["traffic"]["flows_live"], {"total": 7})  # a gauge: no rate
            n = pk["total"] // 1000
            drops = v["drops"]
            self.assertEqual(drops["total"], 7 * n)  # table_full 5 n + port_imissed 2 n
            self.assertAlmostEqual(drops["per_sec"] * dt, 7, places=3)
            self.assertEqual(sorted(drops["reasons"]),
                             ["drop_parse_too_short", "drop_table_full", "port_imissed"])
            self.assertEqual(drops["reasons"]["drop_parse_too_short"]["per_sec"], 0)
            kafka = v["outputs"]["kafka"]
            self.assertEqual(list(kafka), ["records", "records_lost", "output_errors"])
            self.assertEqual(kafka["records"]["total"], 100 * n)
            self.assertAlmostEqual(kafka["records_lost"]["per_sec"] * dt, 1, places=3)
        # The table: the same counters, zero drop reasons left out.
        table = ctl("stats", "--interval", "0.1", "--probe", self.a.addr).stdout.decode()
        lines = table.splitlines()
        self.assertRegex(lines[0], r"^probe %s \(probe-1\), rates over \d+\.\d\d s$"
                         % self.a.addr.replace(".", r"\."))
        self.assertRegex(table, r"\n  packets_in +\d+000 +\d+/s\n")
        self.assertRegex(table, r"\n  flows_live +7\n")
        self.assertRegex(table, r"\ndrops\n  all reasons +\d+ +\d+(\.\d)?/s\n")
        self.assertNotIn("drop_parse_too_short", table)
        self.assertIn("\noutput kafka\n  records ", table)
        # --interval 0: one reading, totals only.
        once = json.loads(ctl("stats", "--json", "--interval", "0", "--probe",
                              self.a.addr).stdout)
        self.assertNotIn("interval_sec", once)
        self.assertNotIn("per_sec", once["traffic"]["packets_in"])
        r = ctl("stats", "--interval", "x", check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--interval: 'x' is not a number of seconds", r.stderr.decode())

    def test_token(self):
        r = ctl("flows", "--probe", self.locked.addr, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.decode().count("\n"), 1)
        self.assertIn("requires a token", r.stderr.decode())
        r = ctl("flows", "--probe", self.locked.addr, "--token-file", self.token, "--json")
        self.assertEqual(uuids(r.stdout), ["21", "22"])

    def test_errors_are_one_line(self):
        cases = [
            (["flows", "--filter", "Network.X = '1'"], 2,
             "skyprobectl: --filter: column 1: unknown key 'Network.X' (did you mean "
             "'Network.A'?)\n"),
            (["flows", "--filter", "Transport.B = 'ssh'"], 2,
             "skyprobectl: --filter: column 15: Transport.B is an integer key: compare it with "
             "a number, not 'ssh'\n"),
            (["flows", "--sort", "Bytes"], 2, "skyprobectl: --sort: unknown key 'Bytes'\n"),
            (["frobnicate"], 2,
             "skyprobectl: unknown command 'frobnicate' (flows, top, watch, pcap, stats, flush)\n"),
            (["pcap", "--probe", self.a.addr], 2, "skyprobectl: pcap: -o FILE is required\n"),
            # Issue 9: 60,000 nested parentheses crashed the client's parser.
            (["flows", "--filter", "(" * 60000 + "UUID = '1'" + ")" * 60000], 2,
             "skyprobectl: --filter: column 65: more than 64 nested parentheses or 'not' "
             "(the limit is 64)\n"),
            (["watch", "--filter", "Transport.B in (%s)" % ", ".join(map(str, range(5000)))], 2,
             "skyprobectl: --filter: column 23483: more than 4096 values in one 'in' list "
             "(the limit is 4096)\n"),
        ]
        for args, code, message in cases:
            if "--probe" not in args:
                args = args + ["--probe", self.a.addr]
            r = ctl(*args, check=False)
            self.assertEqual((r.returncode, r.stderr.decode()), (code, message), args)
        # An unreachable probe: one line naming it.
        r = ctl("flows", "--probe", "127.0.0.1:1", "--timeout", "5", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.decode().startswith("skyprobectl: 127.0.0.1:1: "))
        self.assertEqual(r.stderr.decode().count("\n"), 1)


if __name__ == "__main__":
    CTL, FAKE = sys.argv[1], sys.argv[2]
    unittest.main(argv=sys.argv[:1], verbosity=2)
