#!/usr/bin/python3
"""bench/truth's report: the "## Truth: convergence over the registry" section of docs/BENCHMARKS.md.

Usage: report.py RESULTS.jsonl META.json [--doc docs/BENCHMARKS.md]
RESULTS.jsonl holds driver.py's lines (one per event: gateways, round, event join|drain|death,
poll_s per gateway, hist_s/hist_count per gateway for join and drain, load1); META.json the run's
facts. Prints the section; with --doc also writes it into the file between <!-- bench/truth begin -->
and <!-- bench/truth end --> (replacing them, or at the end of the file).

Percentiles are nearest-rank (below 100 samples, p99 is the largest). "each gateway" pools every gateway's own figure; "all gateways" takes, per event, the
largest over the gateways (the time until every gateway agrees).
"""
import math
import pathlib
import statistics
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import doc_section  # noqa: E402  bench/doc_section.py

BEGIN, END = "<!-- bench/truth begin -->", "<!-- bench/truth end -->"
EVENTS = ["join", "drain", "death"]


def pct(values, p):
    """Nearest-rank percentile p (0-100) of values (None when empty)."""
    values = sorted(values)
    if not values:
        return None
    return values[max(0, math.ceil(p / 100 * len(values)) - 1)]


def ms(x):
    return "-" if x is None else ("%.1f" % (x * 1000) if x < 1 else "{:,.0f}".format(x * 1000))


def stats_cells(values):
    return "%s | %s | %s | %d" % (ms(pct(values, 50)), ms(pct(values, 99)), ms(max(values) if values else None), len(values))


def series(rows, field, per_gateway):
    """The samples of one field: every gateway's (per_gateway) or the per-event maximum ('all');
    None values (a wait that ran out) are left out and counted apart."""
    out, missing = [], 0
    for r in rows:
        values = r.get(field) or []
        if per_gateway:
            out += [v for v in values if v is not None]
            missing += sum(1 for v in values if v is None)
        elif values and None not in values:
            out.append(max(values))
        else:
            missing += 1
    return out, missing


MEASURES = [
    ("join", "hist_s", "histogram: server's stamp -> gateway applied"),
    ("join", "poll_s", "external: process start -> GET /backends lists it \"up\""),
    ("drain", "hist_s", "histogram: server's \"draining\" stamp -> gateway applied"),
    ("drain", "poll_s", "external: SIGTERM -> GET /backends lists it \"draining\""),
    ("death", "poll_s", "external: SIGKILL -> GET /backends no longer lists it (TTL-bound)"),
]


def main_table(rows, counts):
    lines = ["| gateways | event | measure | scope | p50 ms | p99 ms | max ms | samples |",
             "|---:|---|---|---|---:|---:|---:|---:|"]
    problems = []
    for n in counts:
        for event, field, what in MEASURES:
            mine = [r for r in rows if r["gateways"] == n and r["event"] == event]
            for scope, per_gateway in (("each gateway", True), ("all gateways", False)):
                values, missing = series(mine, field, per_gateway)
                lines.append("| %d | %s | %s | %s | %s |" % (n, event, what, scope, stats_cells(values)))
                if missing:
                    problems.append("%d gateways, %s, %s, %s: %d sample(s) missing (a wait ran out, or no "
                                    "histogram observation)" % (n, event, field, scope, missing))
    return lines, problems


def per_gateway_table(rows, counts):
    lines = ["| gateways | gateway | join (histogram) p50 / max ms | join (external) p50 / max ms | "
             "drain (external) p50 / max ms | death (external) p50 / max ms | last of its group (join, drain, death) |",
             "|---:|---:|---|---|---|---|---|"]
    for n in counts:
        mine = {e: [r for r in rows if r["gateways"] == n and r["event"] == e] for e in EVENTS}
        for g in range(n):
            def cell(event, field):
                values = [r[field][g] for r in mine[event] if r.get(field) and r[field][g] is not None]
                return "%s / %s" % (ms(pct(values, 50)), ms(max(values) if values else None))

            def last(event, field):  # how many times this gateway was the slowest of the group (ties count)
                return sum(1 for r in mine[event] if r.get(field) and None not in r[field] and n > 1
                           and r[field][g] == max(r[field]))
            lines.append("| %d | %d | %s | %s | %s | %s | %d, %d, %d |" % (
                n, g + 1, cell("join", "hist_s"), cell("join", "poll_s"), cell("drain", "poll_s"),
                cell("death", "poll_s"), last("join", "hist_s"), last("drain", "poll_s"), last("death", "poll_s")))
    return lines


def odd_counts(rows):
    """Histogram deltas that were not exactly one observation per gateway (each change applied once)."""
    out = []
    for r in rows:
        counts = r.get("hist_count")
        if counts and any(c != 1 for c in counts):
            out.append("%d gateways, round %d, %s: histogram observations per gateway %s" % (
                r["gateways"], r["round"], r["event"], counts))
    return out


def load_by_count(rows, counts):
    parts = []
    for n in counts:
        loads = [r["load1"] for r in rows if r["gateways"] == n and r.get("load1") is not None]
        if loads:
            parts.append("%d gateways: median %.2f, max %.2f" % (n, statistics.median(loads), max(loads)))
    return "; ".join(parts) or "-"


def section(rows, meta):
    counts = sorted({r["gateways"] for r in rows})
    kind = ("QUICK RUN (`--quick`: %d rounds: a smoke check, not the record)" % meta["rounds"] if meta["quick"]
            else "%d rounds per gateway count" % meta["rounds"])
    out = [BEGIN, "## Truth: convergence over the registry", "",
           "`bench/truth` (issue 18): how long N `outboard gateway` processes, which learn their backends from",
           "etcd alone (docs/TRUTH.md), take to agree after a server joins, drains or dies. One etcd member",
           "(Debian's %s); gateways with `--registry etcd://... --registry-poll-ms 1000 --health-interval-ms 1000"
           " --threads 1`;" % meta["etcd"],
           "servers `outboard serve --registry ... --registry-ttl-s 2 --registry-deregister-delay-ms 5000 --state"
           " memory://`. Per round: a",
           "server joins (measured), a second joins (not measured), the first gets SIGTERM (drain), the second",
           "SIGKILL (death). The bench asks every gateway's `GET /backends` every %d ms; \"each gateway\" pools"
           % meta["poll_ms"],
           "every gateway's own figure, \"all gateways\" is, per event, the largest over the gateways: the time",
           "until every gateway routes accordingly. Percentiles are nearest-rank (below 100 samples, p99 is the largest).",
           "",
           "Command: `%s` (from the repository root; %s; took %d s, finished %s UTC)." % (
               meta["command"], kind, meta["elapsed_s"], meta["finished"]), ""]
    table, problems = main_table(rows, counts)
    out += table
    out += ["", "How to read it:", "",
            "- **join, histogram** is each gateway's own `outboard_gateway_registry_convergence_seconds` (its delta",
            "  over the join: one observation per gateway): from the `changed_at_ms` the server stamped when it",
            "  registered to the gateway applying the entry. It is the watch's delay, not the poll's.",
            "- **join, external** counts from the server's process start, so it also holds the server's start-up",
            "  and its lease grant and put; the difference to the histogram is that part, plus the bench's own",
            "  polling (up to %d ms per gateway round trip)." % meta["poll_ms"],
            "- **drain** is the watch's delay of the `draining` rewrite (SIGTERM -> entry rewritten -> watch event).",
            "- **death** has no stamp: nobody is alive to write it. It is bound by the lease: serve renews it every",
            "  third of its TTL (2 s, the smallest `registry.ttl_s` allows), so it expires 1.3 to 2 s after the kill;",
            "  etcd looks for expired leases every 500 ms and revokes them through raft; then the watch delivers the",
            "  delete. Faster means a shorter TTL (and more keep-alive traffic), not a faster gateway.",
            "", "Per gateway (p50 / max over the rounds; the last column counts the rounds in which this",
            "gateway was the last of its group to get there, ties counting for each; the histogram has",
            "millisecond steps, as the stamp):", ""]
    out += per_gateway_table(rows, counts)
    out += ["",
            "- machine: %s, shared with a CI run and other builds while this ran: load average %s at the start,"
            " %s at the end; 1-minute load average at the events: %s" % (
                meta["machine"], meta["load_start"], meta["load_end"], load_by_count(rows, counts)),
            "- outboard commit `%s`, build `%s` (Release unless `--no-build` pointed elsewhere); etcd %s, one member,"
            " on loopback" % (meta["commit"], meta["build"], meta["etcd"])]
    problems += odd_counts(rows)
    if problems:
        out += ["", "Seen in this run:", "", "```"] + problems + ["```"]
    out += [END]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    doc_section.main(sys.argv, section, BEGIN, END)
