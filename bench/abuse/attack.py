#!/usr/bin/env python3
"""Bounded abuse traffic against a proxy on loopback, for bench/abuse/run.sh.

    attack.py slowloris --port P [--connections 1000] [--interval 3] [--duration 30]
    attack.py slowbody  --port P [--connections 1000] [--interval 3] [--content-length 1000000]
    attack.py flood     --port P [--connections 5000] [--hold 1.0]

slowloris  keeps N connections open, each sending ONE byte of a request header (that never ends)
           every INTERVAL seconds (each connection starts at a random point in the interval, so
           the bytes are spread out); a connection the proxy closes is opened again at once.
slowbody   the same, but each connection sends a whole POST header with a large Content-Length
           at once and then the body, one byte every INTERVAL seconds.
flood      opens new connections as fast as it can, at most N open (or connecting) at once, each
           held HOLD seconds without sending anything and then closed; the slot is reused at once.

Bounds: loopback only (127.0.0.0/8); at most 10000 connections; --duration at most 600 s. The
attack stops by itself after --duration, and a SIGALRM hard stop ends the process 15 s later
whatever it is doing. Connections come from --sources source addresses (127.0.0.2, 127.0.0.3,
...), so that a per-client-address limit sees several attackers and the legitimate load (from
127.0.0.1) is not the same client as the attack.

At the end one JSON object goes to stdout: what the attacker saw (connections opened, refused,
closed by the proxy and after how long, the status codes the proxy answered with, how many were
open at once, sampled every second).
"""
import argparse
import errno
import heapq
import ipaddress
import json
import os
import random
import resource
import selectors
import signal
import socket
import sys
import time

MAX_CONNECTIONS = 10000
MAX_DURATION = 600
HARD_STOP_GRACE = 15
IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)

# A header that never ends: slowloris sends it one byte at a time, from the start, wrapping
# around in the X-Pad lines (never the blank line that would end the header).
SLOWLORIS_HEAD = b"GET /?slowloris HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench-abuse\r\n"
SLOWLORIS_PAD = b"X-Pad: abcdefghijklmnopqrstuvwxyz\r\n"


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["slowloris", "slowbody", "flood"])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--connections", type=int, default=None, help="slowloris/slowbody 1000, flood 5000")
    p.add_argument("--duration", type=float, default=30.0)
    p.add_argument("--interval", type=float, default=3.0, help="seconds between two bytes (slowloris, slowbody)")
    p.add_argument("--content-length", type=int, default=1_000_000, help="slowbody's declared body size")
    p.add_argument("--hold", type=float, default=1.0, help="flood: seconds each connection is held")
    p.add_argument("--sources", type=int, default=10, help="source addresses 127.0.0.2 ... (1-200)")
    a = p.parse_args(argv)
    if a.connections is None:
        a.connections = 5000 if a.mode == "flood" else 1000
    if not 1 <= a.connections <= MAX_CONNECTIONS:
        p.error(f"--connections must be 1-{MAX_CONNECTIONS}")
    if not 0 < a.duration <= MAX_DURATION:
        p.error(f"--duration must be in (0, {MAX_DURATION}]")
    if not 1 <= a.sources <= 200:
        p.error("--sources must be 1-200")
    if a.interval <= 0 or a.hold < 0:
        p.error("--interval must be > 0 and --hold >= 0")
    if not ipaddress.ip_address(a.host).is_loopback:
        p.error("loopback targets only")
    return a


def raise_nofile(wanted):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard == resource.RLIM_INFINITY else min(hard, max(soft, wanted))
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class Conn:
    __slots__ = ("sock", "serial", "opened", "connected", "sent", "first_reply", "source")

    def __init__(self, sock, serial, source, now):
        self.sock = sock
        self.serial = serial  # tells a timer for a closed connection from one for its fd's next user
        self.source = source
        self.opened = now
        self.connected = False
        self.sent = 0
        self.first_reply = b""


class Attack:
    def __init__(self, args):
        self.a = args
        self.sel = selectors.DefaultSelector()
        self.conns = {}  # fd -> Conn
        self.timers = []  # (when, seq, fd, serial): next byte to send, or when to close (flood)
        self.seq = 0
        self.next_source = 0
        self.sources = [f"127.0.0.{2 + i}" for i in range(args.sources)]
        self.slow_header = (
            b"POST /?slowbody HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench-abuse\r\n"
            b"Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n" % args.content_length
        )
        self.stats = {
            "mode": args.mode, "target": f"{args.host}:{args.port}", "connections": args.connections,
            "duration_s": args.duration, "sources": args.sources,
            "opened": 0, "connected": 0, "connect_errors": {}, "closed_by_peer": 0, "reset_by_peer": 0,
            "closed_by_us": 0, "bytes_sent": 0, "statuses": {}, "peer_close_lifetimes_s": [],
            "open_samples": [], "max_open": 0, "send_errors": 0,
        }
        if args.mode != "flood":
            self.stats["interval_s"] = args.interval
        if args.mode == "slowbody":
            self.stats["content_length"] = args.content_length
        if args.mode == "flood":
            self.stats["hold_s"] = args.hold

    # ------------------------------------------------------------ connections
    def open_one(self, now):
        source = self.sources[self.next_source % len(self.sources)]
        self.next_source += 1
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            # The port is chosen at connect(), per destination, so a few source addresses can
            # hold thousands of connections (and loopback TIME_WAIT reuse applies).
            s.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
            s.bind((source, 0))
        except OSError as e:
            s.close()
            self.count_error(e.errno)
            return False
        self.stats["opened"] += 1
        rc = s.connect_ex((self.a.host, self.a.port))
        if rc not in (0, errno.EINPROGRESS):
            s.close()
            self.count_error(rc)
            return False
        c = Conn(s, self.stats["opened"], source, now)
        self.conns[s.fileno()] = c
        self.sel.register(s, selectors.EVENT_WRITE)
        return True

    def count_error(self, code):
        name = errno.errorcode.get(code, str(code))
        self.stats["connect_errors"][name] = self.stats["connect_errors"].get(name, 0) + 1

    def on_connected(self, fd, c, now):
        err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            self.count_error(err)
            self.drop(fd, c, by_peer=None)
            return
        c.connected = True
        self.stats["connected"] += 1
        self.sel.modify(c.sock, selectors.EVENT_READ)
        if self.a.mode == "flood":
            self.schedule(now + self.a.hold, fd, c)
        elif self.a.mode == "slowbody":
            if self.send(fd, c, self.slow_header):
                self.schedule(now + random.uniform(0, self.a.interval), fd, c)
        else:
            self.schedule(now + random.uniform(0, self.a.interval), fd, c)

    def schedule(self, when, fd, c):
        self.seq += 1
        heapq.heappush(self.timers, (when, self.seq, fd, c.serial))

    def send(self, fd, c, data):
        try:
            n = c.sock.send(data)
        except BlockingIOError:
            n = 0
        except OSError:
            self.stats["send_errors"] += 1
            self.drop(fd, c, by_peer="reset")
            return False
        c.sent += n
        self.stats["bytes_sent"] += n
        return True

    def on_timer(self, fd, c, now):
        if self.a.mode == "flood":
            self.drop(fd, c, by_peer=None, by_us=True)
            return
        if self.a.mode == "slowbody":
            if c.sent - len(self.slow_header) >= self.a.content_length - 1:
                # Never finish the body: hold the last byte back and keep the connection.
                self.schedule(now + self.a.interval, fd, c)
                return
            data = b"x"
        else:
            pos = c.sent
            if pos < len(SLOWLORIS_HEAD):
                data = SLOWLORIS_HEAD[pos:pos + 1]
            else:
                k = (pos - len(SLOWLORIS_HEAD)) % len(SLOWLORIS_PAD)
                data = SLOWLORIS_PAD[k:k + 1]
        if self.send(fd, c, data):
            self.schedule(now + self.a.interval, fd, c)

    def on_readable(self, fd, c, now):
        try:
            data = c.sock.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.drop(fd, c, by_peer="reset")
            return
        if not data:
            self.drop(fd, c, by_peer="eof")
            return
        if len(c.first_reply) < 16:
            c.first_reply += data[:16]
        # Keep reading: the proxy may answer (408, 503, or 200 once a request got through) and
        # close after; what counts is when it closes.

    def drop(self, fd, c, by_peer, by_us=False):
        now = time.monotonic()
        if by_peer is not None:
            self.stats["closed_by_peer" if by_peer == "eof" else "reset_by_peer"] += 1
            self.stats["peer_close_lifetimes_s"].append(round(now - c.opened, 3))
        if by_us:
            self.stats["closed_by_us"] += 1
        if c.first_reply:
            parts = c.first_reply.split(b" ")
            status = parts[1].decode("ascii", "replace") if len(parts) > 1 and parts[0].startswith(b"HTTP/") else "other"
            self.stats["statuses"][status] = self.stats["statuses"].get(status, 0) + 1
        try:
            self.sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        c.sock.close()
        self.conns.pop(fd, None)

    def connected_count(self):
        return sum(1 for c in self.conns.values() if c.connected)

    # ------------------------------------------------------------ the loop
    def run(self):
        a = self.a
        start = time.monotonic()
        end = start + a.duration
        next_sample = start + 1.0
        # New connections per loop pass: a burst, so one slow connect does not stall the others.
        burst = 200
        while True:
            now = time.monotonic()
            if now >= end:
                break
            opened = 0
            while len(self.conns) < a.connections and opened < burst:
                if not self.open_one(now):
                    break
                opened += 1
            timeout = 0.05
            if self.timers:
                timeout = max(0.0, min(timeout, self.timers[0][0] - now))
            for key, mask in self.sel.select(timeout):
                fd = key.fd
                c = self.conns.get(fd)
                if c is None:
                    continue
                if not c.connected:
                    if mask & selectors.EVENT_WRITE:
                        self.on_connected(fd, c, now)
                    continue
                if mask & selectors.EVENT_READ:
                    self.on_readable(fd, c, now)
            now = time.monotonic()
            while self.timers and self.timers[0][0] <= now:
                _, _, fd, serial = heapq.heappop(self.timers)
                c = self.conns.get(fd)
                if c is not None and c.serial == serial:
                    self.on_timer(fd, c, now)
            if now >= next_sample:
                n = self.connected_count()
                self.stats["open_samples"].append(n)
                next_sample += 1.0
            self.stats["max_open"] = max(self.stats["max_open"], len(self.conns))
        for fd, c in list(self.conns.items()):
            self.drop(fd, c, by_peer=None)
        self.stats["elapsed_s"] = round(time.monotonic() - start, 2)
        return self.summary()

    def summary(self):
        s = self.stats
        lifetimes = sorted(s.pop("peer_close_lifetimes_s"))
        samples = s["open_samples"]
        s["peer_closes"] = len(lifetimes)
        s["peer_close_lifetime_median_s"] = lifetimes[len(lifetimes) // 2] if lifetimes else None
        s["peer_close_lifetime_p10_s"] = lifetimes[len(lifetimes) // 10] if lifetimes else None
        s["peer_close_lifetime_p90_s"] = lifetimes[(len(lifetimes) * 9) // 10] if lifetimes else None
        # Open at once: the mean of the per-second samples after the first 2 s (the ramp).
        steady = samples[2:] or samples
        s["open_mean"] = round(sum(steady) / len(steady)) if steady else 0
        s["open_min"] = min(steady) if steady else 0
        return s


def main(argv):
    args = parse_args(argv)
    nofile = raise_nofile(args.connections + 100)
    if nofile < args.connections + 20:
        print(f"attack.py: RLIMIT_NOFILE is {nofile}, too low for {args.connections} connections", file=sys.stderr)
        return 2

    def hard_stop(signum, frame):
        print("attack.py: hard stop (SIGALRM)", file=sys.stderr)
        os._exit(3)

    signal.signal(signal.SIGALRM, hard_stop)
    signal.alarm(int(args.duration) + HARD_STOP_GRACE)
    # SIGTERM (the bench's stop by pid) ends the run early but still prints the summary.
    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    attack = Attack(args)
    try:
        result = attack.run()
    except KeyboardInterrupt:
        for fd, c in list(attack.conns.items()):
            attack.drop(fd, c, by_peer=None)
        result = attack.summary()
        result["stopped_early"] = True
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
