#!/usr/bin/env python3
"""Print skyprobe JSON lines (the final EXPIRE record of each flow) as a table."""
import json
import sys


def endpoint(flow, layer, port_key=None):
    """Returns 'A -> B' for a layer of the flow, with ports when present."""
    net = flow.get(layer)
    if not net:
        return None
    a, b = net.get("A", ""), net.get("B", "")
    tr = flow.get("Transport")
    if port_key and tr:
        a, b = f"{a}:{tr['A']}", f"{b}:{tr['B']}"
    return a, b


def main(path):
    flows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if rec.get("Event") == "EXPIRE":
                flows.append(rec)
    flows.sort(key=lambda r: (r["Start"], r["UUID"]))
    print(f"{'LayersPath':32} {'A':>28} {'B':<28} {'AB pkts/bytes':>16} {'BA pkts/bytes':>16}"
          f"  {'Finish':8}")
    for r in flows:
        ends = endpoint(r, "Network", True) or endpoint(r, "Link")
        m = r["Metric"]
        print(f"{r['LayersPath'][:32]:32} {ends[0][:28]:>28} {ends[1][:28]:<28}"
              f" {m['ABPackets']:>7}/{m['ABBytes']:<8} {m['BAPackets']:>7}/{m['BABytes']:<8}"
              f"  {r.get('FinishType', '')}")
    print(f"{len(flows)} flows")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "-")
