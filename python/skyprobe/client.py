"""Probe: a thin Python layer over a running skyprobe's gRPC service.

    from skyprobe import Probe
    with Probe("127.0.0.1:50051", token="...") as probe:
        for flow in probe.flows(filter="Transport.B = 53", sort="Metric.ABBytes:desc", limit=10):
            print(flow["UUID"], flow["Network"]["A"], flow["Metric"]["ABBytes"])

Flows come as dicts with the field names and values of the probe's own JSON
records (``skyprobe --json``): ``flows()`` asks the probe to render them
itself (FlowFormat JSON_LINES), ``watch()`` turns the Flow messages of a
subscription into the same dicts (records.py). The calls, their limits and
the filter language are those of skyprobectl: docs/query.md, docs/python.md.
"""

import json

import grpc

from skyprobe.records import flow_record
from skyprobe.v1 import probe_service_pb2 as pb
from skyprobe.v1 import probe_service_pb2_grpc as pb_grpc

# A page of 10000 flows in one message fits (skyprobectl takes the same).
_MAX_RECEIVE = 128 << 20


class ProbeError(Exception):
    """A call the probe refused or could not answer: `code` is the gRPC status
    code name ("INVALID_ARGUMENT", "UNAUTHENTICATED", "UNAVAILABLE", ...)."""

    def __init__(self, address, code, details):
        super().__init__('%s: %s: %s' % (address, code, details))
        self.address = address
        self.code = code
        self.details = details


def _read(value):
    """PEM given as bytes, text, or a path to a file."""
    if value is None or isinstance(value, bytes):
        return value
    if value.lstrip().startswith('-----BEGIN'):
        return value.encode()
    with open(value, 'rb') as handle:
        return handle.read()


def _sort(sort):
    """"KEY", "KEY:asc" or "KEY:desc" (skyprobectl's --sort) as (key, order)."""
    if not sort:
        return '', pb.SORT_ORDER_UNSPECIFIED
    key, _, direction = sort.partition(':')
    orders = {'': pb.ASCENDING, 'asc': pb.ASCENDING, 'desc': pb.DESCENDING}
    if direction not in orders:
        raise ValueError("sort: '%s' is not asc or desc" % direction)
    return key, orders[direction]


class Probe:
    """One probe's service.

    `address` is HOST:PORT. `token` is the bearer token the probe wants
    (--grpc-token-file), or `token_file` a file holding it. TLS is used when
    `tls` is true or any of `ca` (the CA that signed the probe's certificate:
    PEM bytes, text or a file path), `cert` and `key` (a client certificate
    for mutual TLS) is given; `server_name` overrides the name checked in the
    probe's certificate. `timeout` bounds the one-answer calls (stats, flush),
    in seconds; streams last as long as they are read.
    """

    def __init__(self, address='127.0.0.1:50051', token=None, *, token_file=None, tls=False,
                 ca=None, cert=None, key=None, server_name=None, timeout=30.0):
        self.address = address
        self.timeout = timeout
        if token_file is not None:
            with open(token_file, encoding='utf-8') as handle:
                token = handle.read().strip()
        self._metadata = (('authorization', 'Bearer ' + token),) if token else ()
        options = [('grpc.max_receive_message_length', _MAX_RECEIVE)]
        if tls or ca is not None or cert is not None:
            if server_name:
                options.append(('grpc.ssl_target_name_override', server_name))
            creds = grpc.ssl_channel_credentials(root_certificates=_read(ca),
                                                 private_key=_read(key),
                                                 certificate_chain=_read(cert))
            self._channel = grpc.secure_channel(address, creds, options=options)
        else:
            self._channel = grpc.insecure_channel(address, options=options)
        self._stub = pb_grpc.ProbeServiceStub(self._channel)

    def close(self):
        self._channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _error(self, err):
        return ProbeError(self.address, err.code().name, err.details())

    def flows(self, filter=None, sort=None, limit=None, dedup=None):  # pylint: disable=redefined-builtin
        """The live flows matching `filter` (docs/query.md: "Network.A =
        '10.0.0.1' and Metric.ABBytes > 1000"), sorted by `sort` ("KEY",
        "KEY:asc", "KEY:desc"; default: by UUID), at most `limit` of them
        (default: all), one per value of `dedup` (a key) if given: an
        iterator of dicts, from one scan of the table (QueryStream)."""
        key, order = _sort(sort)
        query = pb.FlowQuery(expression=filter or '', sort_by=key, sort_order=order,
                             dedup_by=dedup or '', limit=limit or 0, format=pb.JSON_LINES)
        call = self._stub.QueryStream(query, metadata=self._metadata)
        try:
            for flow_set in call:
                for line in flow_set.JsonLines.splitlines():
                    if line:
                        yield json.loads(line)
        except grpc.RpcError as err:
            raise self._error(err) from None
        finally:
            call.cancel()  # the caller stopped early: the probe stops sending

    def watch(self, filter=None):  # pylint: disable=redefined-builtin
        """The UPDATE and EXPIRE records matching `filter` as the probe emits
        them, until the caller stops iterating (the subscription is then
        cancelled). A reader too slow for the probe gets ProbeError
        RESOURCE_EXHAUSTED saying how many records it lost."""
        call = self._stub.Subscribe(pb.FlowFilter(expression=filter or ''),
                                    metadata=self._metadata)
        try:
            for flow in call:
                yield flow_record(flow)
        except grpc.RpcError as err:
            if err.code() != grpc.StatusCode.CANCELLED:
                raise self._error(err) from None
        finally:
            call.cancel()

    def pcap(self, path, filter=None, sort=None, limit=None):  # pylint: disable=redefined-builtin
        """Writes the raw packets kept for the matching flows (the probe runs
        with --raw-packets) to `path` as one capture file (pcap, or pcapng
        when link types differ); returns the bytes written."""
        key, order = _sort(sort)
        query = pb.FlowQuery(expression=filter or '', sort_by=key, sort_order=order,
                             limit=limit or 0)
        written = 0
        try:
            with open(path, 'wb') as out:
                for chunk in self._stub.ExportPcap(query, metadata=self._metadata):
                    out.write(chunk.data)
                    written += len(chunk.data)
        except grpc.RpcError as err:
            raise self._error(err) from None
        return written

    def stats(self):
        """The probe's counters: {"node_tid": ..., "monotonic_ns": ...,
        "counters": {scope: {name: value}}} with the scopes of skyprobectl
        stats ("total", "worker0", "port0", "output.json", ...)."""
        try:
            reply = self._stub.Stats(pb.StatsRequest(), metadata=self._metadata,
                                     timeout=self.timeout)
        except grpc.RpcError as err:
            raise self._error(err) from None
        counters = {}
        for entry in reply.entries:
            counters.setdefault(entry.scope, {})[entry.name] = entry.value
        return {'node_tid': reply.node_tid, 'monotonic_ns': reply.monotonic_ns,
                'counters': counters}

    def flush(self):
        """Expires every live flow now (their final records go to the outputs
        and to watch())."""
        try:
            self._stub.Flush(pb.FlushRequest(), metadata=self._metadata, timeout=self.timeout)
        except grpc.RpcError as err:
            raise self._error(err) from None
