#!/usr/bin/python3
"""bench/scaleout's report: the "## Scale-out" section of docs/BENCHMARKS.md (issue 19).

Usage: report.py ROWS.jsonl META.json [--doc FILE]
ROWS.jsonl holds run.sh's lines: one per wrk measurement (kind "http": rps, p50_us, p99_us, requests,
errors, server_cpu_us and engine_cpu_us per request, redis_per_request, pg_per_request,
others_cores, load1) and one per blob size and direction (kind "blob": mib, transfers, mb_per_s,
ms_median, load1). META.json the run's facts. Prints the section; with --doc also writes it into FILE
between <!-- bench/scaleout begin --> and <!-- bench/scaleout end --> (replacing them, or at the
end of the file, which is made when missing).

Every figure is the median over rounds of that round's figure.
"""
import pathlib
import re
import statistics
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import doc_section  # noqa: E402  bench/doc_section.py

BEGIN, END = "<!-- bench/scaleout begin -->", "<!-- bench/scaleout end -->"
HTTP = ["outboard-redis", "outboard-cluster", "outboard-cluster-wait", "outboard-postgres", "outboard-cluster-pg"]
BLOBS = ["blobs-file", "blobs-s3"]
ROUTES = [("me", "`GET /me`"), ("cart", "`POST /cart/items`")]
WHAT = {
    "outboard-redis": "`--state redis://` (one redis-server)",
    "outboard-cluster": "`--state redis-cluster://` (6 nodes: 3 masters, 3 replicas)",
    "outboard-cluster-wait": "the same with `--wait-replicas 1 --wait-timeout-ms 100`",
    "outboard-postgres": "`--state postgres://` (sessions and records in PostgreSQL 15)",
    "outboard-cluster-pg": "`--sessions redis-cluster:// --data postgres://`",
}


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def spread(values):
    """(max - min) / median over rounds, in %: how much the rounds disagree."""
    values = [v for v in values if v is not None]
    if len(values) < 2 or not statistics.median(values):
        return "-"
    return "%.0f%%" % (100 * (max(values) - min(values)) / statistics.median(values))


def num(x, fmt="%.0f"):
    return "-" if x is None else fmt % x


def ratio(a, b):
    return "-" if a is None or not b else "%.2f" % (a / b)


def http_rows(rows, name, route):
    return [r for r in rows if r["kind"] == "http" and r["contender"] == name and r["route"] == route]


def http_summary(rows):
    out = {}
    for name in HTTP:
        for route, _ in ROUTES:
            mine = http_rows(rows, name, route)
            if not mine:
                continue
            out[name, route] = {
                "rps": median([r["rps"] for r in mine]),
                "rps_all": [r["rps"] for r in mine],
                "p50_ms": median([r["p50_us"] / 1000 for r in mine]),
                "p99_ms": median([r["p99_us"] / 1000 for r in mine]),
                "errors": sum(r["errors"] for r in mine),
                "server_us": median([r["server_cpu_us"] for r in mine]),
                "engine_us": median([r["engine_cpu_us"] for r in mine]),
                "redis": median([r["redis_per_request"] for r in mine]),
                "pg": median([r["pg_per_request"] for r in mine]),
                "others": max(r["others_cores"] for r in mine),
            }
    return out


def http_table(summary):
    lines = ["| contender | route | req/s | p50 ms | p99 ms | req/s spread over rounds | errors | "
             "Redis commands / request | PostgreSQL statements / request | server CPU µs / request | "
             "engine CPU µs / request | others' CPU, cores (max) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for route, label in ROUTES:
        for name in HTTP:
            s = summary.get((name, route))
            if not s:
                continue
            lines.append("| %s | %s | %s | %s | %s | %s | %d | %s | %s | %s | %s | %.2f |" % (
                name, label, num(s["rps"]), num(s["p50_ms"], "%.2f"), num(s["p99_ms"], "%.2f"), spread(s["rps_all"]),
                s["errors"], num(s["redis"], "%.2f"), num(s["pg"], "%.2f"), num(s["server_us"], "%.1f"),
                num(s["engine_us"], "%.1f"), s["others"]))
    return lines


def http_ratios(summary):
    base = {route: summary.get(("outboard-redis", route), {}).get("rps") for route, _ in ROUTES}
    lines = ["| req/s against outboard-redis (medians) | `GET /me` | `POST /cart/items` |", "|---|---:|---:|"]
    for name in HTTP[1:]:
        cells = [ratio(summary.get((name, route), {}).get("rps"), base[route]) for route, _ in ROUTES]
        if any(c != "-" for c in cells):
            lines.append("| %s / outboard-redis | %s | %s |" % (name, cells[0], cells[1]))
    return lines if len(lines) > 2 else []


def wait_cost(summary):
    """The cost of WAIT (docs/STATE.md): outboard-cluster-wait against outboard-cluster, route by route."""
    cells = []
    for route, label in ROUTES:
        with_wait, without = summary.get(("outboard-cluster-wait", route)), summary.get(("outboard-cluster", route))
        if with_wait and without:
            cells.append("%s: req/s x%s, p50 x%s, p99 x%s" % (
                label, ratio(with_wait["rps"], without["rps"]), ratio(with_wait["p50_ms"], without["p50_ms"]),
                ratio(with_wait["p99_ms"], without["p99_ms"])))
    if not cells:
        return []
    return ["The cost of `WAIT` (outboard-cluster-wait / outboard-cluster, medians): " + "; ".join(cells) + "."]


def short(statement):
    """A statement by the store function it calls (`SELECT field, value FROM outboard_hgetall($1)`: outboard_hgetall)."""
    found = re.search(r"outboard_\w+", statement)
    return found.group(0) if found else statement


def calls_cell(dicts):
    """"name 1.00, ..." of the per-request calls, each the median over rounds (absent: 0)."""
    dicts = [d for d in dicts if d is not None]
    if not dicts:
        return "-"
    names = sorted({k for d in dicts for k in d}, key=lambda k: (-round(median([d.get(k, 0) for d in dicts]), 2), short(k)))
    cells = ["`%s` %.2f" % (short(k), median([d.get(k, 0) for d in dicts])) for k in names]
    return ", ".join(c for c in cells if not c.endswith(" 0.00")) or "none"


def calls_table(rows):
    lines = ["| contender | route | Redis commands per request | PostgreSQL statements per request |", "|---|---|---|---|"]
    for route, label in ROUTES:
        for name in HTTP:
            mine = http_rows(rows, name, route)
            if mine:
                lines.append("| %s | %s | %s | %s |" % (name, label, calls_cell([r.get("redis_commands") for r in mine]),
                                                       calls_cell([r.get("pg_statements") for r in mine])))
    return lines


def blob_summary(rows):
    out = {}
    for name in BLOBS:
        for r in rows:
            if r["kind"] != "blob" or r["contender"] != name:
                continue
            out.setdefault((name, r["mib"], r["route"]), []).append(r)
    return out


def blob_table(summary):
    lines = ["| blob store | size | direction | MB/s (median) | MB/s spread over rounds | ms per transfer (median) | "
             "server CPU ms per MiB (median) | transfers |", "|---|---:|---|---:|---:|---:|---:|---:|"]
    for (name, mib, route), mine in sorted(summary.items(), key=lambda kv: (kv[0][1], kv[0][2] != "upload", kv[0][0])):
        rates = [r.get("mb_per_s") for r in mine]
        lines.append("| %s | %d MiB | %s | %s | %s | %s | %s | %d |" % (
            "file" if name == "blobs-file" else "s3 (s3rver)", mib, route, num(median(rates), "%.1f"), spread(rates),
            num(median([r.get("ms_median") for r in mine]), "%.1f"),
            num(median([r.get("server_cpu_ms_per_mib") for r in mine]), "%.1f"), sum(r["transfers"] for r in mine)))
    return lines


def blob_ratios(summary):
    parts = []
    for (name, mib, route), mine in sorted(summary.items(), key=lambda kv: (kv[0][1], kv[0][2] != "upload")):
        if name != "blobs-s3" or ("blobs-file", mib, route) not in summary:
            continue
        s3 = median([r.get("mb_per_s") for r in mine])
        file = median([r.get("mb_per_s") for r in summary["blobs-file", mib, route]])
        parts.append("%s of %d MiB %s" % (route, mib, ratio(s3, file)))
    return "S3 (s3rver) MB/s against the file store's: " + ", ".join(parts) + "." if parts else ""


def per_round(rows):
    lines = ["| round | contender | measure | req/s or MB/s | p50 ms | p99 ms | errors | Redis cmd/req | PG stmt/req | "
             "server µs/req | engine µs/req | cores: server / engine / wrk / others | load1 |",
             "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if r["kind"] == "http":
            lines.append("| %d | %s | %s | %.0f | %.2f | %.2f | %d | %s | %s | %.1f | %.1f | %.2f / %.2f / %.2f / %.2f | %s |" % (
                r["round"], r["contender"], dict(ROUTES)[r["route"]], r["rps"], r["p50_us"] / 1000, r["p99_us"] / 1000,
                r["errors"], num(r["redis_per_request"], "%.2f"), num(r["pg_per_request"], "%.2f"), r["server_cpu_us"],
                r["engine_cpu_us"], r["server_cores"], r["engine_cores"], r["wrk_cores"], r["others_cores"], r["load1"]))
        else:
            lines.append("| %d | %s | %s %d MiB x%d | %s | %s (median) | | | | | %s per MiB | | | %s |" % (
                r["round"], r["contender"], r["route"], r["mib"], r["transfers"], num(r.get("mb_per_s"), "%.1f"),
                num(r.get("ms_median"), "%.1f"), num(r.get("server_cpu_ms_per_mib"), "%.1f ms"), r["load1"]))
    return lines


def section(rows, meta):
    kind = ("QUICK RUN (`--quick`: 1 round of %d s per measurement: a smoke check, not the record)" % meta["duration_s"]
            if meta["quick"] else "%d interleaved rounds, %d s per measurement" % (meta["rounds"], meta["duration_s"]))
    reps = ", ".join("%s x %s MiB" % (n, mib) for mib, n in meta["blob_reps"].items())
    out = [BEGIN, "## Scale-out: `bench/scaleout` (issue 19)", "",
           "`outboard serve` with its sessions and records on the engines beyond one machine (docs/STATE.md,",
           "\"Outgrowing one machine\") beside a single redis-server, and uploads on S3 beside the file blob",
           "store, in one run. Command: `%s` (from the repository root; %s; took %d s, finished %s UTC)." % (
               meta["command"], kind, meta["elapsed_s"], meta["finished"]), "",
           "Every contender is one `outboard serve --threads 1 --kdf min --near-cache-entries 0 --log-level info"
           " --max-upload-bytes 67108864`",
           "with realtime off (no measured route uses it) and jobs on (the default), the same session key:",
           "configured alike. **The near-cache is off everywhere** (it is not on redis-cluster yet, so it is off on",
           "single Redis too; bench/service measures it). In each round every contender is started afresh in turn",
           "(Redis flushed, a new PostgreSQL database, a new S3 prefix), signs up, logs in, is warmed up for %d s per"
           % meta["warmup_s"],
           "route, then measured with `wrk -t1 -c%d -d%ds --latency` on `GET /me` (`bench/service/wrk/report.lua`)"
           % (meta["connections"], meta["duration_s"]),
           "and `POST /cart/items` (`bench/service/wrk/cart.lua`, a unique `Idempotency-Key` per request). The order",
           "of contenders rotates from round to round. Medians over rounds.", "",
           "- outboard-redis: " + WHAT["outboard-redis"] + ", no persistence",
           "- outboard-cluster: " + WHAT["outboard-cluster"] + ", made with `redis-cli --cluster create"
           " --cluster-replicas 1`, no persistence, node timeout 5 s",
           "- outboard-cluster-wait: " + WHAT["outboard-cluster-wait"] + " on that cluster: every `commit_if`"
           " and `compare_and_set` is followed by `WAIT 1 100` on its master (docs/STATE.md, \"WAIT\")",
           "- outboard-postgres: " + WHAT["outboard-postgres"] + "; `fsync`, `synchronous_commit` and"
           " `full_page_writes` off (like Redis here, nothing waits for the disk)",
           "- outboard-cluster-pg: " + WHAT["outboard-cluster-pg"] + " (issue 19's split: sessions in the cluster,"
           " records in PostgreSQL)",
           "- all engines on loopback, on the same 2 cores as the server and wrk", "",
           "### Requests", ""]
    summary = http_summary(rows)
    out += http_table(summary) if summary else ["(no request measurements in this run)"]
    ratios = http_ratios(summary)
    if ratios:
        out += [""] + ratios
    cost = wait_cost(summary)
    if cost:
        out += [""] + cost
    out += ["",
            "Commands per request: **Redis**, `INFO commandstats` summed over the cluster's three masters (replicas"
            " only replay",
            "their masters' writes) or the single server, before and after each measurement, over the requests wrk"
            " counted (`INFO`,",
            "ours, and `REPLCONF`, the replicas' acknowledgements, left out). **PostgreSQL**, `pg_stat_statements`"
            " `calls` of the contender's own database",
            "(top-level statements, `pg_stat_statements.track = top`; it ships with Debian's postgresql-15, loaded by"
            " `shared_preload_libraries`):",
            "each store operation is one statement (a PL/pgSQL function) and one transaction. Both include what the",
            "job runner polls meanwhile. \"server CPU\" is the server process's, \"engine CPU\" that of the engine's",
            "processes (every cluster node; the postmaster and its backends), per request; \"others' CPU\" is the",
            "rest of the machine during the measurement, less the server, the engine and wrk (the machine is shared).",
            "What one request runs (medians over rounds; calls under 0.005 per request left out; PostgreSQL statements"
            " named by the store function they call):", ""]
    out += calls_table(rows) + [""]
    blobs = blob_summary(rows)
    if blobs:
        out += ["### Blobs: S3 (s3rver) against the file store", "",
                "The shop's upload route, `POST /uploads` (streamed to the blob store as it arrives), and `GET"
                " /uploads/ID`, with curl,",
                "one transfer at a time (%s per round, after one of each unmeasured), on a server with `--state"
                " redis://`." % reps,
                "`blobs-file`: `--blobs file://DIR` (temp file, fsync, rename). `blobs-s3`: `--blobs"
                " s3://bench/rN?endpoint=...` on npm",
                "s3rver %s (tests/interop/s3rver_launch.mjs), **a stand-in for S3, not S3**: a Node process writing"
                " files on the same" % meta["s3rver"],
                "disk, on loopback; 32 MiB goes up as a multipart upload (8 MiB parts), 1 MiB as one PutObject. MB/s"
                " is 10^6 bytes per second",
                "of the whole transfer as curl timed it (each round's total bytes over its total time); server CPU"
                " is the serving process's",
                "(its blob store's threads included; not s3rver's).", ""]
        out += blob_table(blobs)
        line = blob_ratios(blobs)
        if line:
            out += ["", line]
        out += [""]
    out += ["- machine: %s; load average %s at the start, %s at the end (shared with a CI run and other builds);"
            " the script waited %d s of a %d s budget for quiet" % (meta["machine"], meta["load_start"],
                                                                    meta["load_end"], meta["quiet_waited_s"],
                                                                    meta["quiet_budget_s"]),
            "- outboard: `%s`, commit `%s`, binary `%s`" % (meta["outboard"], meta["commit"], meta["binary"]),
            "- %s; %s; s3rver %s; %s; %s" % (meta["redis"], meta["postgres"], meta["s3rver"], meta["wrk"], meta["curl"])]
    if meta.get("problems"):
        out += ["", "Problems seen in this run:", "", "```", meta["problems"].rstrip("\n"), "```"]
    out += ["", "<details><summary>every round</summary>", ""] + per_round(rows) + ["", "</details>", END]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    # A FILE that does not exist yet (e.g. /tmp/scaleout-section.md) gets the section alone.
    if len(sys.argv) == 5 and sys.argv[3] == "--doc" and not pathlib.Path(sys.argv[4]).is_file():
        pathlib.Path(sys.argv[4]).write_text(BEGIN + "\n" + END + "\n")
    doc_section.main(sys.argv, section, BEGIN, END)
