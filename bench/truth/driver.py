#!/usr/bin/python3
"""bench/truth's driver: R rounds of join, drain and death of `outboard serve` processes against
gateways that learn their backends from etcd alone; one JSON line per event on stdout.

Usage (run.sh calls it once per gateway count; the etcd and the gateways are run.sh's):
  driver.py --outboard BIN --registry etcd://127.0.0.1:P --gateways ADMIN_PORT:TOKEN_FILE,...
            --dir DIR --pids-file FILE [--rounds 20] [--poll-ms 5] [--ttl-s 2]
            [--deregister-delay-ms 5000] [--limit-s 30]

Per round:
  join   serve A starts. Each gateway's convergence histogram
         (outboard_gateway_registry_convergence_seconds: from A's stamped change to that gateway
         applying it) is read before the start and once every gateway lists A "up"; the delta
         sum/count is A's join as that gateway measured it. Beside it, the external time from
         A's process start to the first GET /backends of that gateway listing A "up" (this one
         includes A's start-up and its registration).
  drain  (serve B is started and waited for, unmeasured.) A gets SIGTERM: the time from the
         signal until each gateway lists A "draining" (external), and the histogram delta.
  death  B gets SIGKILL: the time from the kill until each gateway no longer lists B. Nobody
         stamps a death: it is the lease's TTL plus the watch's delay.
  Then A's exit (after its deregister delay) and its disappearance are waited for, so that the
  next round starts from an empty registry.
Every wait is bounded by --limit-s; a wait that runs out records the gateways that did not get
there (null times) and the round goes on. Each serve's pid is appended to --pids-file before
anything else happens, so that run.sh's exit trap stops it even if this script dies.
"""
import argparse
import http.client
import json
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import time

HIST = "outboard_gateway_registry_convergence_seconds"


class Gateway:
    """One gateway's admin API, over one keep-alive connection (re-opened after an error)."""

    def __init__(self, index, port, token_file):
        self.index, self.port = index, port
        with open(token_file) as f:
            self.token = f.read().strip()
        self.conn = None

    def get(self, path):
        for attempt in (1, 2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                self.conn.request("GET", path, headers={"Authorization": "Bearer " + self.token})
                res = self.conn.getresponse()
                body = res.read()
                if res.status != 200:
                    raise RuntimeError("gateway %d: GET %s answered %d" % (self.index, path, res.status))
                return body.decode()
            except (OSError, http.client.HTTPException):
                self.close()
                if attempt == 2:
                    raise
        return ""

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def state_of(self, backend_id):
        """The backend's state ("up", "draining", ...), or None when the gateway does not list it."""
        for b in json.loads(self.get("/backends"))["backends"]:
            if b.get("id") == backend_id:
                return b.get("state")
        return None

    def histogram(self):
        """(sum seconds, count) of the convergence histogram."""
        text = self.get("/metrics")
        values = {}
        for suffix in ("_sum", "_count"):
            m = re.search(r"^%s%s(?:\{[^}]*\})? ([0-9.eE+-]+)$" % (HIST, suffix), text, re.M)
            if not m:
                raise RuntimeError("gateway %d: no %s%s in /metrics" % (self.index, HIST, suffix))
            values[suffix] = float(m.group(1))
        return values["_sum"], values["_count"]


class Serve:
    """One `outboard serve` on a free port, registering itself in etcd."""

    def __init__(self, args, name, port):
        self.name, self.port, self.id = name, port, "127.0.0.1:%d" % port
        d = os.path.join(args.dir, name)
        os.makedirs(os.path.join(d, "blobs"), exist_ok=True)
        keys = os.path.join(d, "session-keys")
        fd = os.open(keys, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # 0600: serve refuses others
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
        argv = [args.outboard, "serve", "--state", "memory://", "--port", str(port), "--instance", name,
                "--kdf", "min", "--threads", "1", "--blobs", "file://" + os.path.join(d, "blobs"),
                "--session-keys-file", keys, "--registry", args.registry,
                "--registry-ttl-s", str(args.ttl_s), "--registry-deregister-delay-ms", str(args.deregister_delay_ms)]
        self.log = open(os.path.join(d, "serve.log"), "wb")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        with open(args.pids_file, "a") as f:
            f.write("%d\n" % self.proc.pid)

    def signal(self, sig):
        self.proc.send_signal(sig)
        return time.monotonic()

    def stop(self, limit_s):
        """Bounded: SIGTERM (if running), then SIGKILL after limit_s."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(limit_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_every(gateways, test, since, limit_s, poll_s):
    """Polls every gateway until test(gateway) holds for each; returns, per gateway, the seconds from
    `since` (a time.monotonic()) to the first answer in which it held (None: not within limit_s)."""
    times = [None] * len(gateways)
    deadline = time.monotonic() + limit_s
    while None in times and time.monotonic() < deadline:
        # A fresh order each pass: no gateway is always asked last (a request's time later than the others).
        for i in random.sample(range(len(gateways)), len(gateways)):
            g = gateways[i]
            if times[i] is None:
                try:
                    held = test(g)
                except (OSError, RuntimeError, http.client.HTTPException, ValueError):
                    held = False
                if held:
                    times[i] = time.monotonic() - since
        if None in times:
            time.sleep(poll_s)
    return times


def histograms(gateways):
    return [g.histogram() for g in gateways]


def deltas(before, after):
    """Per gateway: (mean seconds of the observations in between, how many)."""
    out = []
    for (s0, c0), (s1, c1) in zip(before, after):
        n = c1 - c0
        out.append(((s1 - s0) / n if n > 0 else None, int(n)))
    return out


def load1():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def emit(n, rnd, event, poll, hist=None, extra=None):
    row = {"gateways": n, "round": rnd, "event": event, "poll_s": poll,
           "all_poll_s": None if None in poll else max(poll), "load1": load1()}
    if hist is not None:
        row["hist_s"] = [h[0] for h in hist]
        row["hist_count"] = [h[1] for h in hist]
        row["all_hist_s"] = None if None in row["hist_s"] else max(row["hist_s"])
    row.update(extra or {})
    print(json.dumps(row), flush=True)


def one_round(args, gateways, rnd):
    n, limit, poll = len(gateways), args.limit_s, args.poll_ms / 1000.0
    serves = []
    try:
        # join: A
        h0 = histograms(gateways)
        a = Serve(args, "r%d-a" % rnd, free_port())
        serves.append(a)
        join = wait_every(gateways, lambda g: g.state_of(a.id) == "up", a.started, limit, poll)
        emit(n, rnd, "join", join, deltas(h0, histograms(gateways)))
        # B, the one that will die, unmeasured
        b = Serve(args, "r%d-b" % rnd, free_port())
        serves.append(b)
        wait_every(gateways, lambda g: g.state_of(b.id) == "up", b.started, limit, poll)
        # drain: SIGTERM A
        h1 = histograms(gateways)
        t = a.signal(signal.SIGTERM)
        drain = wait_every(gateways, lambda g: g.state_of(a.id) == "draining", t, limit, poll)
        emit(n, rnd, "drain", drain, deltas(h1, histograms(gateways)))
        # death: SIGKILL B
        t = b.signal(signal.SIGKILL)
        death = wait_every(gateways, lambda g: g.state_of(b.id) is None, t, limit, poll)
        emit(n, rnd, "death", death, None, {"ttl_s": args.ttl_s})
        # A leaves: its deregister delay, then its revocation; the next round starts empty
        try:
            a.proc.wait(limit)
        except subprocess.TimeoutExpired:
            print("round %d: %s did not exit within %d s of SIGTERM" % (rnd, a.name, limit), file=sys.stderr)
        wait_every(gateways, lambda g: g.state_of(a.id) is None, time.monotonic(), limit, poll)
    finally:
        for s in serves:
            s.stop(5)
    for s in serves:
        if s.proc.returncode not in (0, -signal.SIGKILL):
            print("round %d: %s exited %s (log: %s/%s/serve.log)" % (rnd, s.name, s.proc.returncode, args.dir, s.name),
                  file=sys.stderr)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--outboard", required=True)
    p.add_argument("--registry", required=True)
    p.add_argument("--gateways", required=True, help="ADMIN_PORT:TOKEN_FILE,...")
    p.add_argument("--dir", required=True)
    p.add_argument("--pids-file", required=True)
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--poll-ms", type=float, default=5)
    p.add_argument("--ttl-s", type=int, default=2)
    p.add_argument("--deregister-delay-ms", type=int, default=5000)
    p.add_argument("--limit-s", type=float, default=30)
    args = p.parse_args()
    gateways = []
    for i, item in enumerate(args.gateways.split(",")):
        port, token_file = item.split(":", 1)
        gateways.append(Gateway(i, int(port), token_file))
    for rnd in range(1, args.rounds + 1):
        one_round(args, gateways, rnd)
        print("  %d gateways: round %d of %d done" % (len(gateways), rnd, args.rounds), file=sys.stderr)
    for g in gateways:
        g.close()


if __name__ == "__main__":
    main()
