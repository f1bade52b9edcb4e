#!/usr/bin/python3
"""bench/jobs's report: the "### Latest run" part of the "## Jobs" section of docs/BENCHMARKS.md.

Usage: report.py RESULTS.jsonl META.json [--doc docs/BENCHMARKS.md]
RESULTS.jsonl holds one JSON line per measurement (outboard_jobs_bench's or bullmq_bench.mjs's,
with round, exit, redis_cpu_s, machine_busy_cores, others_cores, load1_before added by run.sh);
META.json the run's facts. Prints the part; with --doc also writes it into the file between
<!-- bench/jobs begin --> and <!-- bench/jobs end --> (replacing them, or at the end of the file).

Per contender: the median over rounds of jobs/s, latency p50/p99, and CPU per job (the contender's
process and redis-server's). The target (issue 17): outboard's jobs/s at least 3x BullMQ's, on the
same redis-server; judged on the medians, and per round (the ratio in each round).
"""
import json
import pathlib
import statistics
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import doc_section  # noqa: E402  bench/doc_section.py

BEGIN, END = "<!-- bench/jobs begin -->", "<!-- bench/jobs end -->"
NAMES = ["outboard-redis", "bullmq", "outboard-sqlite"]
TARGET_RATIO = 3.0


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def complete(row):
    """A measurement counts when every job was acknowledged within the timeout."""
    return row.get("completed", 0) == row.get("jobs", -1) and not row.get("timed_out") and row.get("exit", 1) == 0


def cpu_us_per_job(row, field):
    return row[field] * 1e6 / row["completed"] if row.get("completed") and row.get(field) is not None else None


def summary(rows):
    out = {}
    for name in NAMES:
        mine = [r for r in rows if r.get("contender") == name and complete(r)]
        if not mine:
            continue
        out[name] = {
            "rounds": len(mine),
            "jobs_per_s": median([r["jobs_per_s"] for r in mine]),
            "p50_ms": median([r["p50_ms"] for r in mine]),
            "p99_ms": median([r["p99_ms"] for r in mine]),
            "enqueue_s": median([r.get("enqueue_s") for r in mine]),
            "cpu_us": median([cpu_us_per_job(r, "cpu_s") for r in mine]),
            "redis_us": median([cpu_us_per_job(r, "redis_cpu_s") for r in mine]),
            "others": median([r.get("others_cores") for r in mine]),
        }
    return out


def fmt_rate(x):
    return "-" if x is None else "{:,.0f}".format(x)


def fmt_ms(x):
    return "-" if x is None else ("%.1f" % x if x < 1000 else "{:,.0f}".format(x))


def fmt_us(x):
    return "-" if x is None else ("%.1f" % x if x < 100 else "%.0f" % x)


def ratios_per_round(rows, name):
    by_round = {}
    for r in rows:
        if complete(r):
            by_round.setdefault(r["round"], {})[r["contender"]] = r["jobs_per_s"]
    return [by_round[k][name] / by_round[k]["bullmq"] for k in sorted(by_round)
            if name in by_round[k] and by_round[k].get("bullmq")]


def targets(s, rows):
    lines = ["| target (issue 17) | outboard | BullMQ | ratio (medians) | ratio per round | verdict |",
             "|---|---:|---:|---:|---|---|"]
    b = s.get("bullmq")
    for name in ("outboard-redis", "outboard-sqlite"):
        o = s.get(name)
        if not (o and b):
            lines.append("| >= 3x BullMQ's jobs/s (%s) | %s | %s | - | - | not measured (both contenders are needed) |" % (
                name, fmt_rate(o and o["jobs_per_s"]), fmt_rate(b and b["jobs_per_s"])))
            continue
        ratio = o["jobs_per_s"] / b["jobs_per_s"]
        per_round = ratios_per_round(rows, name)
        judged = "**met**" if ratio >= TARGET_RATIO else "**not met**"
        if name == "outboard-sqlite":
            judged += " (context: sqlite is not on BullMQ's redis-server; the target is redis's)"
        lines.append("| >= 3x BullMQ's jobs/s (%s) | %s | %s | %.2fx | %s | %s |" % (
            name, fmt_rate(o["jobs_per_s"]), fmt_rate(b["jobs_per_s"]), ratio,
            ", ".join("%.2fx" % x for x in per_round) or "-", judged))
    return lines


def contender_table(s):
    lines = ["| contender | jobs/s | p50 ms | p99 ms | enqueue phase s | process CPU µs/job | redis-server CPU µs/job | others' cores |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name in NAMES:
        if name not in s:
            continue
        x = s[name]
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            name, fmt_rate(x["jobs_per_s"]), fmt_ms(x["p50_ms"]), fmt_ms(x["p99_ms"]),
            "-" if x["enqueue_s"] is None else "%.2f" % x["enqueue_s"], fmt_us(x["cpu_us"]),
            fmt_us(x["redis_us"]) if name != "outboard-sqlite" else "-",
            "-" if x["others"] is None else "%.2f" % x["others"]))
    return lines


def round_table(rows):
    lines = ["| round | contender | completed | jobs/s | p50 ms | p99 ms | max ms | enqueue s | process CPU s | redis CPU s | machine busy cores | others' cores | load (1 min) before |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    problems = []
    for r in sorted(rows, key=lambda r: (r.get("round", 0), NAMES.index(r["contender"]) if r.get("contender") in NAMES else 9)):
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r.get("round", "-"), r.get("contender", "?"), r.get("completed", 0), fmt_rate(r.get("jobs_per_s")),
            fmt_ms(r.get("p50_ms")), fmt_ms(r.get("p99_ms")), fmt_ms(r.get("max_ms")),
            "%.2f" % r["enqueue_s"] if r.get("enqueue_s") is not None else "-",
            "%.2f" % r["cpu_s"] if r.get("cpu_s") is not None else "-", "%.2f" % r.get("redis_cpu_s", 0),
            "%.2f" % r.get("machine_busy_cores", 0), "%.2f" % r.get("others_cores", 0), r.get("load1_before", "-")))
        if not complete(r) or r.get("store_errors") or r.get("refused") or r.get("failed") or r.get("duplicates"):
            problems.append("round %s %s: %s" % (r.get("round"), r.get("contender"), json.dumps(
                {k: r.get(k) for k in ("completed", "jobs", "failed", "store_errors", "refused", "duplicates",
                                       "enqueue_errors", "timed_out", "exit", "error") if r.get(k) not in (None, 0, False)})))
    return lines, problems


def section(rows, meta):
    s = summary(rows)
    kind = ("QUICK RUN (`--quick`: 1 round of %d jobs: a smoke check, not the record)" % meta["jobs"] if meta["quick"]
            else "%d round(s), contenders interleaved" % meta["rounds"])
    out = [BEGIN, "### Latest run: %s" % meta["date"], "",
           "Command: `%s` (from the repository root; %s; took %d s, finished %s UTC)." % (
               meta["command"], kind, meta["elapsed_s"], meta["finished"]),
           "%d jobs of %d bytes each, concurrency %d, at most %d enqueues in flight; outboard's workers: %s; BullMQ ran"
           " %d unmeasured warm-up jobs first; medians over rounds." % (
               meta["jobs"], meta["payload_bytes"], meta["concurrency"], meta["window"],
               "a jobs::Runner" if meta["driver"] == "runner" else "the JobQueue directly (`--driver queue`)", meta["warmup"]), ""]
    out += targets(s, rows)
    out += [""] + contender_table(s)
    others = [x["others"] for x in s.values() if x["others"] is not None]
    out += ["", "- machine: %s; load average %s at the end; other processes used a median %.2f cores during the measurements%s"
            % (meta["machine"], meta["load"], median(others) or 0,
               "" if not meta.get("quiet_waited_s") else " (run.sh waited %d s in all for quiet moments)" % meta["quiet_waited_s"]),
            "- outboard commit `%s`, Release build; Node %s, bullmq %s (ioredis %s); %s" % (
                meta["commit"], meta["node"], meta["bullmq"], meta["ioredis"], meta["redis"])]
    steps, problems = round_table(rows)
    if problems:
        out += ["", "Problems seen in this run:", "", "```"] + problems + ["```"]
    out += ["", "<details><summary>every measurement</summary>", ""] + steps + ["", "</details>", END]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    doc_section.main(sys.argv, section, BEGIN, END)
