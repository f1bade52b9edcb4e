#!/usr/bin/env python3
"""Idle keep-alive client connections: the memory a proxy spends on each.

    python3 bench/gateway/idle_conns.py --port PORT --conns N --pid PID [--pid PID...]

Reads the resident memory (VmRSS of /proc/PID/status) of the given processes and all their
descendants, opens N connections to 127.0.0.1:PORT, sends one `GET PATH HTTP/1.1` on each and
reads its whole response (so each is a real keep-alive client connection the proxy has served,
not a bare accept), lets the proxy settle, counts the connections still open, reads the memory
again, closes everything and exits. Prints one line of tab-separated key=value pairs:

    conns=N ok=.. failed=.. open=.. rss_before_kb=.. rss_after_kb=.. bytes_per_conn=.. connect_s=..

Bounded: at most --concurrency connects in flight, --timeout seconds in all (then it reports what
it has, exits 1). Exit 0 only when every connection got a 200 and was still open when measured.
"""
import argparse
import asyncio
import os
import resource
import sys
import time


def descendants(roots):
    """The given pids and every process below them (from /proc/*/stat's ppid)."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    seen, todo = set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        todo.extend(children.get(pid, []))
    return seen


def rss_kb(roots):
    """Sum of VmRSS (kB) over the roots and their descendants, read now."""
    total = 0
    for pid in descendants(roots):
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total


async def read_response(reader):
    """Reads one HTTP/1.1 response with a Content-Length body; returns its status code."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)
    return status


async def open_one(port, path, limit, held, failures):
    async with limit:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 10)
        except (OSError, asyncio.TimeoutError) as e:
            failures.append(f"connect: {e!r}")
            return
        try:
            writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: idle_conns\r\n\r\n".encode())
            status = await asyncio.wait_for(read_response(reader), 10)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError, IndexError) as e:
            failures.append(f"request: {e!r}")
            writer.close()
            return
        if status != 200:
            failures.append(f"status {status}")
        held.append((reader, writer))


async def run(args, result):
    result["rss_before_kb"] = rss_kb(args.pid)
    limit = asyncio.Semaphore(args.concurrency)
    held, failures = [], []
    start = time.monotonic()
    await asyncio.gather(*(open_one(args.port, args.path, limit, held, failures) for _ in range(args.conns)))
    result["connect_s"] = round(time.monotonic() - start, 2)
    result["ok"] = len(held)
    result["failed"] = len(failures)
    if failures:
        result["first_failure"] = failures[0].replace("\t", " ")
    # Let the proxy finish whatever it does after a response (and a closed connection show as EOF).
    await asyncio.sleep(args.settle)
    result["open"] = sum(1 for reader, _ in held if not reader.at_eof())
    result["rss_after_kb"] = rss_kb(args.pid)
    if result["open"]:
        result["bytes_per_conn"] = round((result["rss_after_kb"] - result["rss_before_kb"]) * 1024 / result["open"])
    for _, writer in held:
        writer.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--conns", type=int, default=10000)
    p.add_argument("--pid", type=int, action="append", required=True, help="a process of the proxy (repeatable; its descendants count too)")
    p.add_argument("--path", default="/")
    p.add_argument("--concurrency", type=int, default=200)
    p.add_argument("--settle", type=float, default=1.0, help="seconds between the last response and the second reading")
    p.add_argument("--timeout", type=float, default=90.0)
    args = p.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < args.conns + 100:
        if hard != resource.RLIM_INFINITY and hard < args.conns + 100:
            print(f"idle_conns: the open-file limit ({hard}) is below {args.conns + 100}", file=sys.stderr)
            return 2
        resource.setrlimit(resource.RLIMIT_NOFILE, (args.conns + 100, hard))

    result = {"conns": args.conns, "ok": 0, "failed": 0, "open": 0, "rss_before_kb": 0, "rss_after_kb": 0,
              "bytes_per_conn": "nan", "connect_s": "nan"}
    rc = 0
    try:
        asyncio.run(asyncio.wait_for(run(args, result), args.timeout))
    except asyncio.TimeoutError:
        result["timed_out"] = args.timeout
        rc = 1
    if result["open"] != args.conns or result["failed"]:
        rc = 1
    print("\t".join(f"{k}={v}" for k, v in result.items()))
    return rc


if __name__ == "__main__":
    sys.exit(main())
