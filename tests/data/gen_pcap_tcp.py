#!/usr/bin/env python3
"""Deterministic capture of TCP conversations with loss, reordering,
retransmissions, duplicate ACKs and zero windows, for the TCP metrics tests.

    gen_pcap_tcp.py OUT.pcap [--seed S] [--conversations N] [--snaplen L]

Each conversation is simulated end to end: a client and a server, the probe
between them (the client's packets are seen dc after they leave, the
server's ds after), a three-way handshake, a bulk transfer each way (window
of a few segments, an ACK for every segment received, fast retransmit on the
third duplicate ACK, a retransmission timeout), then a FIN exchange or a
RST. Faults are drawn per packet:

- lost before the probe (neither captured nor delivered),
- lost after the probe (captured, not delivered: duplicate ACKs, a fast
  retransmission or a timeout follow),
- not captured (delivered, missing from the file),
- delayed before the probe, by less or more than the round trip (segments
  seen out of order, or late),
- the receiver's application pausing (zero windows, window probes, a window
  update), keep-alives after an idle pause.

Some conversations start mid-way (the capture misses the handshake), some
are captured one way only, some reuse their ports for a second connection
right after the first closes; half are IPv4, half IPv6. tshark's analysis of
the file is the oracle of the tests (tests/integration/tcp_metrics_test.py),
so the simulation only has to be rich, not exact TCP. Standard library only;
checksums are zero (nothing here checks them).
"""

import argparse
import heapq
import random
import struct

BASE_TIME = 1_700_000_000.0
MSS = 1000
WINDOW = 65535
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def ip_bytes(family, index, side):
    if family == 4:
        return bytes([10, 1 + side, (index >> 8) & 0xFF, index & 0xFF])
    return bytes.fromhex('20010db8' + '%04x' % side + '0000' + '0' * 12 +
                         '%04x' % (index & 0xFFFF))


MAC = (bytes.fromhex('020000000001'), bytes.fromhex('020000000002'))


def frame(family, src, dst, sport, dport, seq, ack, flags, window, payload_len,
          side=0):
    """An Ethernet frame from side 0 (client) or 1 (server)."""
    tcp = struct.pack('!HHIIBBHHH', sport, dport, seq & 0xFFFFFFFF,
                      ack & 0xFFFFFFFF, 0x50, flags, window, 0, 0)
    payload = bytes(payload_len)
    if family == 4:
        ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp) + payload_len,
                         0, 0x4000, 64, 6, 0, src, dst)
        ether_type = 0x0800
    else:
        ip = struct.pack('!IHBB16s16s', 6 << 28, len(tcp) + payload_len, 6, 64,
                         src, dst)
        ether_type = 0x86DD
    eth = MAC[side ^ 1] + MAC[side] + struct.pack('!H', ether_type)
    return eth + ip + tcp + payload


class Endpoint:
    def __init__(self, isn, to_send):
        self.isn = isn
        self.snd_una = isn
        self.snd_nxt = isn
        self.end = isn + 1 + to_send      # one past the last data byte
        self.rcv_nxt = None
        self.ooo = {}
        self.paused_until = -1.0
        self.zero_seen = False            # the peer advertised a zero window
        self.dupacks = 0
        self.rto_at = None
        self.fin_sent = False
        self.fin_acked = False


class Conversation:
    """One simulated connection; packets go to `out` as (time, bytes)."""

    def __init__(self, rng, out, index, family, t0, dc, ds, fault_rate,
                 capture_from=None, one_way=None, sport=None, c_to_s=None,
                 s_to_c=None, close='fin'):
        self.rng = rng
        self.out = out
        self.family = family
        self.addr = (ip_bytes(family, index, 0), ip_bytes(family, index, 1))
        self.port = (sport or rng.randrange(32768, 61000), 15000 + index)
        self.delay = (dc, ds)
        self.fault_rate = fault_rate
        self.capture_from = capture_from
        self.one_way = one_way
        self.close = close
        self.events = []
        self.counter = 0
        sizes = (c_to_s if c_to_s is not None else rng.randrange(1, 12) * MSS,
                 s_to_c if s_to_c is not None else rng.randrange(1, 25) * MSS)
        self.ep = [Endpoint(rng.randrange(1 << 32), sizes[0]),
                   Endpoint(rng.randrange(1 << 32), sizes[1])]
        self.phase = 'handshake'
        self.cwnd = rng.choice((2, 4, 8))
        self.t0 = t0
        self.done = False

    # -- the wire -----------------------------------------------------------
    def at(self, t, fn, *args):
        self.counter += 1
        heapq.heappush(self.events, (t, self.counter, fn, args))

    def send(self, t, side, seq, ack, flags, window, length, fault=None):
        """Side 0 (client) or 1 (server) sends at t; the probe sees it later."""
        if fault is None and self.fault_rate and (length or not flags & (SYN | FIN)):
            fault = self.draw_fault(length)
        seen = t + self.delay[side]
        if fault == 'delay_small':
            seen += self.rng.uniform(0.0005, 0.004)
        elif fault == 'delay_big':
            seen += self.rng.uniform(0.05, 0.2)
        captured = fault not in ('lost_before', 'nocapture')
        if captured and (self.capture_from is None or seen >= self.capture_from) \
                and self.one_way in (None, side):
            src, dst = self.addr[side], self.addr[side ^ 1]
            sp, dp = self.port[side], self.port[side ^ 1]
            self.out.append((seen, frame(self.family, src, dst, sp, dp, seq, ack,
                                         flags, window, length, side)))
        if fault not in ('lost_before', 'lost_after'):
            arrive = seen + self.delay[side ^ 1]
            self.at(arrive, self.receive, side ^ 1, seq, ack, flags, window, length)

    def draw_fault(self, length):
        if self.rng.random() >= self.fault_rate:
            return None
        if length == 0:
            return self.rng.choice(('lost_after', 'nocapture', 'lost_before'))
        return self.rng.choice(('lost_before', 'lost_after', 'nocapture',
                                'delay_small', 'delay_small', 'delay_big'))

    def window_of(self, side, t):
        return 0 if t < self.ep[side].paused_until else WINDOW

    def ack_packet(self, t, side, fault=None):
        e = self.ep[side]
        self.send(t, side, e.snd_nxt, e.rcv_nxt, ACK, self.window_of(side, t), 0, fault)

    # -- endpoint behaviour -------------------------------------------------
    def start(self):
        c = self.ep[0]
        # Now and then the first SYN is lost (before or after the probe) and
        # sent again a second later.
        fault = 'clean'
        if self.rng.random() < 0.15:
            fault = self.rng.choice(('lost_before', 'lost_after'))
        self.send(self.t0, 0, c.isn, 0, SYN, WINDOW, 0, fault=fault)
        c.snd_nxt = c.isn + 1
        self.at(self.t0 + 1.0, self.syn_timeout)

    def syn_timeout(self, t):
        if self.phase == 'handshake':
            self.send(t, 0, self.ep[0].isn, 0, SYN, WINDOW, 0, fault='clean')

    def receive(self, t, side, seq, ack, flags, window, length):
        me, peer = self.ep[side], self.ep[side ^ 1]
        if flags & RST:
            self.done = True
            return
        if flags & SYN:
            if side == 1 and not flags & ACK:          # server gets the SYN
                me.rcv_nxt = seq + 1
                if me.snd_nxt == me.isn:
                    me.snd_nxt = me.isn + 1
                self.send(t + 0.0002, 1, me.isn, me.rcv_nxt, SYN | ACK, WINDOW, 0,
                          fault='clean')
            elif side == 0 and flags & ACK and self.phase == 'handshake':
                me.rcv_nxt = seq + 1
                me.snd_una = ack
                self.phase = 'c2s'
                self.ack_packet(t + 0.0001, 0, fault='clean')
                self.at(t + 0.0003, self.pump, 0)
            return
        if self.phase == 'handshake':
            return
        # Data / FIN for `me`.
        if length == 0 and not flags & FIN and me.rcv_nxt is not None \
                and seq == me.rcv_nxt - 1:
            self.ack_packet(t + 0.0001, side, fault='clean')     # a keep-alive
        if length or flags & FIN:
            if me.rcv_nxt is None:
                return
            if length and t < me.paused_until:
                pass                   # zero window: the data is not taken
            elif length and seq == me.rcv_nxt:
                me.rcv_nxt += length
                while me.rcv_nxt in me.ooo:
                    me.rcv_nxt += me.ooo.pop(me.rcv_nxt)
            elif length and seq > me.rcv_nxt:
                me.ooo[seq] = length
            if flags & FIN and seq + length == me.rcv_nxt:
                me.rcv_nxt += 1
            self.ack_packet(t + 0.0001, side)
            if flags & FIN and side == 1 and not me.fin_sent:
                me.fin_sent = True
                self.send(t + 0.001, 1, me.snd_nxt, me.rcv_nxt, FIN | ACK,
                          WINDOW, 0, fault='clean')
                me.snd_nxt += 1
        if flags & ACK:
            self.on_ack(t, side, ack, window, length)

    def on_ack(self, t, side, ack, window, length):
        me = self.ep[side]
        if me.fin_sent and ack == me.snd_nxt:
            me.fin_acked = True
        if ack > me.snd_una:
            me.snd_una = min(ack, me.snd_nxt)
            me.dupacks = 0
            me.rto_at = None
            if me.snd_una < min(me.snd_nxt, me.end):
                me.rto_at = t + 0.3
                self.at(me.rto_at, self.rto, side, me.snd_una)
        elif ack == me.snd_una and length == 0 and me.snd_nxt > me.snd_una \
                and window == WINDOW and not me.zero_seen:
            me.dupacks += 1
            if me.dupacks == 3:
                self.resend(t + 0.0002, side)
        if window == 0:
            if not me.zero_seen:
                me.zero_seen = True
                self.at(t + 0.2, self.probe, side)
        elif me.zero_seen:
            me.zero_seen = False
        self.at(t + 0.0001, self.pump, side)

    def resend(self, t, side):
        e = self.ep[side]
        if e.snd_una >= e.end:
            return
        length = min(MSS, e.end - e.snd_una)
        self.send(t, side, e.snd_una, e.rcv_nxt, ACK | PSH, self.window_of(side, t), length)

    def probe(self, t, side):
        e = self.ep[side]
        if not e.zero_seen or e.snd_nxt >= e.end:
            return
        # Wireshark's zero window probe: one byte at the next sequence number.
        self.send(t, side, e.snd_nxt, e.rcv_nxt, ACK, self.window_of(side, t), 1,
                  fault='clean')
        self.at(t + 0.4, self.probe, side)

    def pump(self, t, side):
        """Send what the window allows in the current phase."""
        e = self.ep[side]
        active = (self.phase == 'c2s' and side == 0) or (self.phase == 's2c' and side == 1)
        if active and e.snd_una >= e.end:
            self.next_phase(t)
            return
        if not active or e.zero_seen:
            return
        sent = 0
        while e.snd_nxt < e.end and e.snd_nxt - e.snd_una < self.cwnd * MSS:
            length = min(MSS, e.end - e.snd_nxt)
            self.send(t + sent * 0.0001, side, e.snd_nxt, e.rcv_nxt, ACK | PSH,
                      self.window_of(side, t), length)
            e.snd_nxt += length
            sent += 1
            # The receiver's application sometimes stops reading for a while.
            if self.rng.random() < 0.01 * (self.fault_rate > 0):
                self.ep[side ^ 1].paused_until = t + self.rng.uniform(0.3, 1.2)
                self.at(self.ep[side ^ 1].paused_until, self.window_update, side ^ 1)
        if sent and e.rto_at is None:
            e.rto_at = t + 0.3
            self.at(e.rto_at, self.rto, side, e.snd_una)

    def window_update(self, t, side):
        if self.ep[side].rcv_nxt is not None and not self.done:
            self.ack_packet(t, side, fault='clean')

    def rto(self, t, side, una):
        e = self.ep[side]
        if self.done or e.rto_at is None or abs(t - e.rto_at) > 1e-9:
            return
        if e.snd_una < e.end and not e.zero_seen:
            self.resend(t, side)
        if e.snd_una < e.end:
            e.rto_at = t + 0.6
            self.at(e.rto_at, self.rto, side, e.snd_una)
        else:
            e.rto_at = None

    def next_phase(self, t):
        if self.phase == 'c2s':
            self.phase = 's2c'
            if self.rng.random() < 0.2:
                # Idle, then a keep-alive from the client and its ACK.
                c = self.ep[0]
                self.send(t + 0.5, 0, c.snd_nxt - 1, c.rcv_nxt, ACK, WINDOW, 0,
                          fault='clean')
                self.at(t + 1.0, self.pump, 1)
            else:
                self.at(t + 0.001, self.pump, 1)
        elif self.phase == 's2c':
            self.phase = 'close'
            c = self.ep[0]
            if self.close == 'rst':
                self.send(t + 0.002, 0, c.snd_nxt, c.rcv_nxt, RST | ACK, 0, 0,
                          fault='clean')
                self.done = True
            else:
                c.fin_sent = True
                self.send(t + 0.002, 0, c.snd_nxt, c.rcv_nxt, FIN | ACK, WINDOW, 0,
                          fault='clean')
                c.snd_nxt += 1

    def run(self, horizon=60.0):
        self.start()
        while self.events and not self.done:
            t, _, fn, args = heapq.heappop(self.events)
            if t > self.t0 + horizon:
                break
            fn(t, *args)


def scripted(out, index, family, t0):
    """Small hand-written conversations that pin each flag down."""
    a, b = ip_bytes(family, index, 0), ip_bytes(family, index, 1)
    cp, sp = 40000 + index, 443
    c_isn, s_isn = 1000, 5000
    pkts = []

    def c2s(t, seq, ack, flags, length, window=WINDOW):
        pkts.append((t, frame(family, a, b, cp, sp, c_isn + seq, s_isn + ack, flags,
                              window, length)))

    def s2c(t, seq, ack, flags, length, window=WINDOW):
        pkts.append((t, frame(family, b, a, sp, cp, s_isn + seq, c_isn + ack, flags,
                              window, length, 1)))

    # Handshake: server side 8 ms, client side 2 ms (iRTT 10 ms).
    c2s(t0, 0, 0, SYN, 0)
    s2c(t0 + 0.008, 0, 1, SYN | ACK, 0)
    c2s(t0 + 0.010, 1, 1, ACK, 0)
    t = t0 + 0.020
    # Segments 1..4 of the server; 2 is lost before the probe (lost segment
    # at 3), then 3 duplicate ACKs and a fast retransmission of 2.
    s2c(t, 1, 1, ACK, 100)
    s2c(t + 0.0001, 201, 1, ACK, 100)
    s2c(t + 0.0002, 301, 1, ACK, 100)
    c2s(t + 0.004, 1, 101, ACK, 0)
    c2s(t + 0.0041, 1, 101, ACK, 0)
    c2s(t + 0.0042, 1, 101, ACK, 0)
    c2s(t + 0.0043, 1, 101, ACK, 0)
    s2c(t + 0.0050, 101, 1, ACK, 100)          # fast retransmission (not seen before)
    c2s(t + 0.0060, 1, 401, ACK, 0)
    # Reordering within the iRTT: 401 after 501.
    t += 0.05
    s2c(t, 501, 1, ACK, 100)
    s2c(t + 0.001, 401, 1, ACK, 100)
    c2s(t + 0.004, 1, 601, ACK, 0)
    # Reordering beyond the iRTT: 601 arrives 30 ms after 701 (retransmission).
    t += 0.05
    s2c(t, 701, 1, ACK, 100)
    s2c(t + 0.030, 601, 1, ACK, 100)
    c2s(t + 0.034, 1, 801, ACK, 0)
    # A retransmission of data already acknowledged (spurious).
    s2c(t + 0.040, 701, 1, ACK, 100)
    c2s(t + 0.044, 1, 801, ACK, 0)
    # Client data, a zero window from the server, a probe, its ACK, an update.
    t += 0.1
    c2s(t, 1, 801, ACK | PSH, 50)
    s2c(t + 0.008, 801, 51, ACK, 0, window=0)
    c2s(t + 0.2, 51, 801, ACK, 1)
    s2c(t + 0.208, 801, 51, ACK, 0, window=0)
    s2c(t + 0.5, 801, 51, ACK, 0)
    c2s(t + 0.502, 51, 801, ACK | PSH, 50)
    s2c(t + 0.510, 801, 101, ACK, 0)
    # A keep-alive and its ACK.
    t += 1.0
    c2s(t, 100, 801, ACK, 0)
    s2c(t + 0.008, 801, 101, ACK, 0)
    # Close.
    c2s(t + 0.1, 101, 801, FIN | ACK, 0)
    s2c(t + 0.108, 801, 102, FIN | ACK, 0)
    c2s(t + 0.110, 102, 802, ACK, 0)
    out.extend(pkts)


def write_pcap(path, packets, snaplen=65535):
    """Frames longer than `snaplen` are cut, their wire length kept."""
    packets.sort(key=lambda p: p[0])
    with open(path, 'wb') as handle:
        handle.write(struct.pack('<IHHiIII', 0xA1B2C3D4, 2, 4, 0, 0, snaplen, 1))
        for t, data in packets:
            usec_total = int(round(t * 1_000_000))
            kept = data[:snaplen]
            handle.write(struct.pack('<IIII', usec_total // 1_000_000,
                                     usec_total % 1_000_000, len(kept), len(data)))
            handle.write(kept)


def generate(seed, conversations):
    rng = random.Random(seed)
    out = []
    t = BASE_TIME
    for index in range(conversations):
        family = 4 if index % 2 == 0 else 6
        if index < 2:
            scripted(out, index, family, t + index * 0.3)
            continue
        dc = rng.uniform(0.0005, 0.004)
        ds = rng.uniform(0.002, 0.02)
        kind = rng.random()
        kwargs = {}
        if kind < 0.08:
            kwargs['capture_from'] = t + 0.2          # capture starts mid-way
        elif kind < 0.14:
            kwargs['one_way'] = rng.choice((0, 1))    # one direction captured
        if rng.random() < 0.15:
            kwargs['close'] = 'rst'
        fault_rate = rng.choice((0.0, 0.02, 0.05, 0.1))
        conv = Conversation(rng, out, index, family, t, dc, ds, fault_rate,
                            **kwargs)
        conv.run()
        if rng.random() < 0.1 and not kwargs:
            # Ports reused by a second connection 0.5 s after the first ends.
            last = max(p[0] for p in out)
            again = Conversation(rng, out, index, family, last + 0.5, dc, ds,
                                 fault_rate, sport=conv.port[0])
            again.run()
        t += rng.uniform(0.01, 0.2)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out')
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--conversations', type=int, default=400)
    parser.add_argument('--snaplen', type=int, default=65535,
                        help='cut frames to L bytes, as tcpdump -s L does')
    args = parser.parse_args()
    write_pcap(args.out, generate(args.seed, args.conversations), args.snaplen)


if __name__ == '__main__':
    main()
