#!/usr/bin/env python3
"""A small IPFIX collector for the tests: TCP or UDP, one process.

    ipfix_collector.py tcp|udp PORT OUT [--decode]

Listens on 127.0.0.1:PORT (0: any free port; the port is printed on the first
line of stdout, "port N") and appends what it receives to OUT:
  --decode  every record decoded by python3-ipfix (ipfix.reader), one JSON
            object per line (values as strings); slow, for small exports;
  default   the raw messages (a file ipfix_records.py and ipfixDump can
            read), plus OUT.ids: the flowId (first 8 bytes) of each flow
            record, one per line, from a quick walk of the messages (fixed-
            length templates only: run skyprobe without --ipfix-pen).

On SIGTERM it stops as RFC 7011 §10.4.2 asks of a collector: it closes its
side of each TCP connection and reads until the exporter closes, so nothing
the exporter wrote is lost; then it exits. UDP: it reads what is queued.
Prints "messages N records R" on stdout at exit.
"""

import argparse
import json
import os
import select
import signal
import socket
import struct
import sys

STOP = False


def on_term(signum, frame):  # pylint: disable=unused-argument
    global STOP
    STOP = True


class QuickWalker:
    """Counts records and lists flowIds (each record's first field) from raw
    messages, keeping templates; fields of variable length (RFC 7011 section
    7: a length byte, or 255 and two length bytes) are walked."""

    def __init__(self, ids_out):
        self.templates = {}  # tid -> field lengths (65535: variable)
        self.ids_out = ids_out
        self.messages = 0
        self.records = 0

    @staticmethod
    def record_end(data, p, lengths):
        """Where the record at p ends."""
        for flen in lengths:
            if flen != 65535:
                p += flen
                continue
            n = data[p]
            p += 1
            if n == 255:
                n = struct.unpack_from('!H', data, p)[0]
                p += 2
            p += n
        return p

    def message(self, data):
        self.messages += 1
        length = struct.unpack_from('!H', data, 2)[0]
        off = 16
        while off + 4 <= length:
            set_id, set_len = struct.unpack_from('!HH', data, off)
            body, end = off + 4, off + set_len
            if set_id in (2, 3):
                p = body
                while p + 4 <= end:
                    tid, count = struct.unpack_from('!HH', data, p)
                    p += 4
                    if set_id == 3:
                        p += 2
                    lengths = []
                    for _ in range(count):
                        ie, flen = struct.unpack_from('!HH', data, p)
                        p += 4
                        if ie & 0x8000:
                            p += 4
                        lengths.append(flen)
                    self.templates[tid] = lengths
            elif set_id > 256:  # 256: RFC 5610 type records, not flows
                lengths = self.templates.get(set_id)
                if lengths:
                    # The least a record takes: padding is shorter than that.
                    least = sum(1 if f == 65535 else f for f in lengths)
                    p = body
                    while p + least <= end:
                        self.ids_out.write('%d\n' % struct.unpack_from('!Q', data, p)[0])
                        self.records += 1
                        p = self.record_end(data, p, lengths)
            off = end


def read_messages(buf):
    """Whole messages at the start of `buf`: (list of bytes, rest)."""
    out = []
    while len(buf) >= 4:
        length = struct.unpack_from('!H', buf, 2)[0]
        if length < 16 or len(buf) < length:
            break
        out.append(bytes(buf[:length]))
        buf = buf[length:]
    return out, buf


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('transport', choices=('tcp', 'udp'))
    parser.add_argument('port', type=int)
    parser.add_argument('out')
    parser.add_argument('--decode', action='store_true')
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, on_term)

    kind = socket.SOCK_STREAM if args.transport == 'tcp' else socket.SOCK_DGRAM
    lsock = socket.socket(socket.AF_INET, kind)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if kind == socket.SOCK_DGRAM:
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    lsock.bind(('127.0.0.1', args.port))
    if kind == socket.SOCK_STREAM:
        lsock.listen(4)
    print('port %d' % lsock.getsockname()[1], flush=True)

    raw = open(args.out, 'ab')
    ids = open(args.out + '.ids', 'a')
    walker = QuickWalker(ids)

    if args.decode:
        # python3-ipfix reads the stream as it comes (one reader per connection).
        import io  # pylint: disable=import-outside-toplevel
        import ipfix.ie  # pylint: disable=import-outside-toplevel
        import ipfix.message  # pylint: disable=import-outside-toplevel
        ipfix.ie.use_iana_default()
        ipfix.ie.use_5103_default()
        decoded = open(args.out + '.decoded', 'a')

    def consume(message):
        raw.write(message)
        walker.message(message)
        if args.decode:
            state['buffer'].from_bytes(message)
            for rec in state['buffer'].namedict_iterator():
                decoded.write(json.dumps({k: str(v) for k, v in rec.items()}) + '\n')

    state = {}
    if args.decode:
        state['buffer'] = ipfix.message.MessageBuffer()

    if kind == socket.SOCK_DGRAM:
        lsock.setblocking(False)
        while True:
            ready, _, _ = select.select([lsock], [], [], 0.05)
            if ready:
                try:
                    while True:
                        consume(lsock.recv(65535))
                except BlockingIOError:
                    pass
            elif STOP:
                break
    else:
        conns = {}
        lsock.setblocking(False)
        while conns or not STOP:
            if STOP and lsock is not None:
                lsock.close()
                lsock = None
                for c in conns:
                    c.shutdown(socket.SHUT_WR)  # RFC 7011 §10.4.2: read on until EOF
            watch = list(conns) + ([lsock] if lsock is not None else [])
            ready, _, _ = select.select(watch, [], [], 0.05)
            for s in ready:
                if s is lsock:
                    c, _ = lsock.accept()
                    c.setblocking(False)
                    conns[c] = b''
                    if args.decode:  # each connection is a session of its own
                        state['buffer'] = ipfix.message.MessageBuffer()
                    continue
                try:
                    chunk = s.recv(1 << 20)
                except (BlockingIOError, InterruptedError):
                    continue
                except ConnectionResetError:
                    chunk = b''
                if not chunk:
                    s.close()
                    del conns[s]
                    continue
                messages, conns[s] = read_messages(conns[s] + chunk)
                for m in messages:
                    consume(m)
    raw.close()
    ids.close()
    print('messages %d records %d' % (walker.messages, walker.records), flush=True)


if __name__ == '__main__':
    main()
