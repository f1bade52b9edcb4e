#!/usr/bin/python3
"""One wrk measurement of bench/scaleout/run.sh as one JSON line (kind "http"), on stdout.

Usage: http_row.py WRK_OUTPUT REDIS_BEFORE REDIS_AFTER PG_BEFORE PG_AFTER KEY=VALUE...
WRK_OUTPUT holds the RESULT line of bench/service/wrk/*.lua. The snapshots are what run.sh wrote
before and after the measurement, "CALLS<TAB>NAME" lines: Redis, per command (INFO commandstats
summed over the contender's masters); PostgreSQL, per statement (pg_stat_statements of its database);
an empty file means "not on that engine". KEY=VALUE: round, contender, route, load1, hz, wall_s,
and the CPU ticks over the measurement: server, engine, wrk, busy (the whole machine).
Exits 3, printing nothing, when wrk printed no RESULT line.
"""
import json
import pathlib
import sys


def wrk_result(path):
    lines = [l for l in pathlib.Path(path).read_text(errors="replace").splitlines() if l.startswith("RESULT ")]
    if not lines:
        return None
    return {k: float(v) for k, v in (kv.split("=", 1) for kv in lines[-1].split()[1:])}


def counts(path):
    """{name: calls} of a snapshot file; None when it is empty (not on that engine)."""
    text = pathlib.Path(path).read_text()
    if not text.strip():
        return None
    out = {}
    for line in text.splitlines():
        if "\t" in line:
            calls, name = line.split("\t", 1)
            out[name.strip()] = out.get(name.strip(), 0) + int(calls)
    return out


def per_request(before, after, requests):
    """Total and per-name calls per request over the measurement (names that ran at least 0.005 per request)."""
    if before is None or after is None or requests <= 0:
        return None, None
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    each = {k: round(v / requests, 3) for k, v in sorted(delta.items(), key=lambda kv: -kv[1]) if v / requests >= 0.005}
    return round(sum(delta.values()) / requests, 3), each


def main(argv):
    result = wrk_result(argv[1])
    if result is None:
        return 3
    facts = dict(a.split("=", 1) for a in argv[6:])
    hz, wall, n = float(facts["hz"]), max(float(facts["wall_s"]), 1e-9), result["requests"]
    ticks = {k: float(facts[k]) for k in ("server", "engine", "wrk", "busy")}
    redis_total, redis_each = per_request(counts(argv[2]), counts(argv[3]), n)
    pg_total, pg_each = per_request(counts(argv[4]), counts(argv[5]), n)
    errors = sum(int(result[k]) for k in ("status_errors", "connect_errors", "read_errors", "write_errors", "timeouts"))
    row = {"round": int(facts["round"]), "contender": facts["contender"], "kind": "http", "route": facts["route"],
           "rps": result["rps"], "p50_us": result["p50_us"], "p99_us": result["p99_us"], "requests": int(n),
           "errors": errors, "redis_per_request": redis_total, "pg_per_request": pg_total,
           "redis_commands": redis_each, "pg_statements": pg_each,
           "server_cpu_us": ticks["server"] / hz * 1e6 / n if n else None,
           "engine_cpu_us": ticks["engine"] / hz * 1e6 / n if n else None,
           "server_cores": ticks["server"] / hz / wall, "engine_cores": ticks["engine"] / hz / wall,
           "wrk_cores": ticks["wrk"] / hz / wall,
           "others_cores": max(0.0, (ticks["busy"] - ticks["server"] - ticks["engine"] - ticks["wrk"]) / hz / wall),
           "load1": float(facts["load1"])}
    print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
