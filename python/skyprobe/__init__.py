"""skyprobe: a Python client of a running skyprobe probe (its gRPC service).

    from skyprobe import Probe
    probe = Probe("127.0.0.1:50051", token="...")
    top = list(probe.flows(sort="Metric.ABBytes:desc", limit=10))

The gRPC stubs (skyprobe.v1) are generated from proto/ when skyprobe is
built (python/skyprobe/v1/meson.build); docs/python.md tells how to use it,
pandas included.
"""

from skyprobe.client import Probe, ProbeError
from skyprobe.records import flow_record

__all__ = ['Probe', 'ProbeError', 'flow_record']
