#!/usr/bin/env python3
"""How late an invalidation arrives, measured against the writer's own reply (docs/STATE.md).

Three connections to one redis-server, as in outboard's near-cache: L subscribes to
__redis__:invalidate (CLIENT ID first), D reads with CLIENT TRACKING on REDIRECT <L>, W writes.
Per round: D reads the key (tracked), W sets it, and select() stamps the moment W's reply and
L's invalidation each become readable. Prints the distribution of (invalidation - reply): how
long after a writer learns its write is done a near-cache can still hold the old value, on this
host's network path. Our listener's own work after that (parse, one mutex, one erase) is not
included; it is microseconds.

usage: invalidation_delay.py PORT [ROUNDS]      (a redis-server you may write key "delay:k" on)
"""
import select
import socket
import statistics
import sys
import time


def command(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def send(self, *args):
        self.sock.sendall(command(*args))

    def _line(self):
        while b"\r\n" not in self.buf:
            self.buf += self.sock.recv(65536)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b"-"):
            return rest
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.buf += self.sock.recv(65536)
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise ValueError(line)


def main():
    port = int(sys.argv[1])
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    listener, reader, writer = Conn(port), Conn(port), Conn(port)
    listener.send("CLIENT", "ID")
    client_id = listener.reply()
    listener.send("SUBSCRIBE", "__redis__:invalidate")
    listener.reply()
    reader.send("CLIENT", "TRACKING", "on", "REDIRECT", client_id)
    assert reader.reply() == b"OK"
    delays = []
    for i in range(rounds):
        reader.send("GET", "delay:k")
        reader.reply()
        writer.send("SET", "delay:k", i)
        stamps = {}
        while len(stamps) < 2:
            ready, _, _ = select.select([listener.sock, writer.sock], [], [])
            now = time.perf_counter()
            for s in ready:
                stamps.setdefault(s, now)
        writer.reply()
        message = listener.reply()
        assert message[0] == b"message", message
        delays.append((stamps[listener.sock] - stamps[writer.sock]) * 1e6)
    delays.sort()
    q = lambda p: delays[min(len(delays) - 1, int(p * len(delays)))]
    print(f"rounds {rounds}: invalidation readable minus writer's reply readable, in microseconds")
    print(f"  min {delays[0]:.1f}  p50 {q(0.5):.1f}  p99 {q(0.99):.1f}  max {delays[-1]:.1f}  "
          f"mean {statistics.mean(delays):.1f}")
    print(f"  invalidation first (<= 0): {sum(d <= 0 for d in delays)} of {rounds}")


if __name__ == "__main__":
    main()
