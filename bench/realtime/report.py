#!/usr/bin/python3
"""bench/realtime's report: the "### Latest run" part of the "## Realtime" section of docs/BENCHMARKS.md.

Usage: report.py RESULTS.jsonl META.json [--doc docs/BENCHMARKS.md]
RESULTS.jsonl holds outboard_ws_load's JSON lines (kinds setup, step, idle, problems, timeout), each
with its "round" added by run.sh; META.json the run's facts. Prints the part; with --doc also writes
it into the file between <!-- bench/realtime begin --> and <!-- bench/realtime end --> (replacing
them, or at the end of the file).

Per round and contender: the highest step of the ladder that held (every message delivered within
the drain time, no error, no connection lost, p99 within the bound) and its delivered messages/s;
the step after it (overloaded: what it still delivered, and why it did not hold); idle memory per
connection over both servers. The common step: the highest step both contenders held in that
round, where latency and CPU per message are compared at the same offered load. Medians over rounds.
"""
import json
import pathlib
import statistics
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import doc_section  # noqa: E402  bench/doc_section.py

BEGIN, END = "<!-- bench/realtime begin -->", "<!-- bench/realtime end -->"
NAMES = ["outboard", "socketio"]
TARGET_RATIO = 5.0


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def why_not_held(step, max_p99_ms):
    reasons = []
    if step["missing"]:
        reasons.append("%d of %d deliveries missing after the drain" % (step["missing"], step["expected"]))
    if step["errors"]:
        reasons.append("%d error answers" % step["errors"])
    if step["closed"]:
        reasons.append("%d connections closed" % step["closed"])
    if step["p99_ms"] > max_p99_ms:
        reasons.append("p99 %.1f ms > %d ms" % (step["p99_ms"], max_p99_ms))
    return ", ".join(reasons) or "?"


def per_round(rows, meta):
    """{round: {name: facts}} from the result lines."""
    rounds = {}
    for row in rows:
        facts = rounds.setdefault(row["round"], {}).setdefault(row["protocol"], {"steps": [], "idle": [], "problems": []})
        kind = row["kind"]
        if kind == "step":
            facts["steps"].append(row)
        elif kind == "idle":
            facts["idle"].append(row)
        elif kind == "setup" and (row["failed"] or row["closed"]):
            facts["problems"].append("setup: %d of %d connections failed, %d closed (%s%s)" % (
                row["failed"], row["connections"], row["closed"], row["first_failure"], "; " + row["close_reasons"] if row["close_reasons"] else ""))
        elif kind in ("problems", "timeout"):
            facts["problems"].append(json.dumps({k: v for k, v in row.items() if k not in ("round", "protocol")}))
    for contenders in rounds.values():
        for facts in contenders.values():
            steps = sorted(facts["steps"], key=lambda s: s["step"])
            held = [s for s in steps if s["held"]]
            facts["best"] = held[-1] if held else None
            unheld = [s for s in steps if not s["held"]]
            facts["over"] = unheld[0] if unheld else None
            facts["ladder_exhausted"] = bool(steps) and not unheld and len(steps) == len(meta["rates"].split(","))
            idle = facts["idle"]
            opened = sum(i["open"] for i in idle)
            facts["idle_open"] = opened
            facts["idle_bytes"] = (sum(i["rss_after_kb"] - i["rss_before_kb"] for i in idle) * 1024 / opened) if opened else None
            facts["idle_failed"] = sum(i["failed"] for i in idle)
            facts["idle_connect_s"] = max((i["connect_s"] for i in idle), default=None)
        if all(n in contenders for n in NAMES):
            held_by = [{s["step"] for s in contenders[n]["steps"] if s["held"]} for n in NAMES]
            common = held_by[0] & held_by[1]
            for n in NAMES:
                contenders[n]["common"] = next((s for s in contenders[n]["steps"] if common and s["step"] == max(common)), None)
    return rounds


def fmt_rate(x):
    return "-" if x is None else "{:,.0f}".format(x)


def fmt_ms(x):
    return "-" if x is None else "%.2f" % x


def fmt_us(x):
    return "-" if x is None else ("%.1f" % x if x < 100 else "%.0f" % x)


def fmt_kb(x):
    return "-" if x is None else "%.1f" % (x / 1000)


def summary(rounds):
    """{name: medians over rounds}"""
    out = {}
    for name in NAMES:
        facts = [r[name] for r in rounds.values() if name in r]
        if not facts:
            continue
        get = lambda f, key, field: f[key][field] if f.get(key) else None
        out[name] = {
            "best_rate": median([get(f, "best", "rate") for f in facts]),
            "best_delivered": median([get(f, "best", "delivered_per_s") if f["best"] else 0 for f in facts]),
            "best_p50": median([get(f, "best", "p50_ms") for f in facts]),
            "best_p99": median([get(f, "best", "p99_ms") for f in facts]),
            "best_cpu": median([get(f, "best", "server_cpu_us_per_delivery") for f in facts]),
            "best_client_cores": median([get(f, "best", "client_cpu_s") / f["best"]["wall_s"] if f["best"] else None for f in facts]),
            "over_delivered": median([get(f, "over", "delivered_per_s") for f in facts]),
            "over_rate": median([get(f, "over", "rate") for f in facts]),
            "common_rate": median([get(f, "common", "rate") for f in facts]),
            "common_p50": median([get(f, "common", "p50_ms") for f in facts]),
            "common_p99": median([get(f, "common", "p99_ms") for f in facts]),
            "common_cpu": median([get(f, "common", "server_cpu_us_per_delivery") for f in facts]),
            "idle_bytes": median([f["idle_bytes"] for f in facts]),
            "idle_open": median([f["idle_open"] for f in facts if f["idle"]]),
            "idle_connect_s": median([f["idle_connect_s"] for f in facts]),
            "exhausted": any(f["ladder_exhausted"] for f in facts),
            "others": median([s["others_cores"] for f in facts for s in f["steps"]]),
        }
    return out


def verdict(ok):
    return "**met**" if ok else "**not met**"


def targets(s):
    lines = ["| target (issue 16) | outboard | Socket.IO | ratio | verdict |", "|---|---:|---:|---:|---|"]
    o, x = s.get("outboard"), s.get("socketio")
    if not (o and x):
        return lines + ["| (both contenders are needed for the ratios) | | | | |"]
    if o["best_delivered"] and x["best_delivered"]:
        ratio = o["best_delivered"] / x["best_delivered"]
        bound = " (a lower bound: outboard held the whole ladder)" if o["exhausted"] else ""
        # The ladder brackets each capacity between the highest step held and the next one, so the
        # ratio of capacities lies between these bounds (of the send rates, as every step's
        # deliveries are its rate times the same fan-out).
        low = o["best_rate"] / x["over_rate"] if x["over_rate"] else None
        high = o["over_rate"] / x["best_rate"] if o["over_rate"] else None
        if low is not None and low >= TARGET_RATIO:
            judged = verdict(True)
        elif high is not None and high <= TARGET_RATIO:
            judged = verdict(False)
        else:
            judged = "undecided: the ladder puts the ratio between %s and %s (a finer --rates decides)" % (
                "%.2fx" % low if low is not None else "?", "%.2fx" % high if high is not None else "more")
        lines.append("| >= 5x Socket.IO's delivered messages/s (highest step held) | %s | %s | %.2fx%s | %s |" % (
            fmt_rate(o["best_delivered"]), fmt_rate(x["best_delivered"]), ratio, bound, judged))
    else:
        lines.append("| >= 5x Socket.IO's delivered messages/s | %s | %s | - | not measured (a contender held no step) |" % (
            fmt_rate(o["best_delivered"]), fmt_rate(x["best_delivered"])))
    if o["common_p99"] is not None and x["common_p99"] is not None:
        lines.append("| a p99 no worse (at the highest step both held, %s msg/s sent) | %s ms | %s ms | %.2f | %s |" % (
            fmt_rate(o["common_rate"]), fmt_ms(o["common_p99"]), fmt_ms(x["common_p99"]),
            o["common_p99"] / x["common_p99"] if x["common_p99"] else float("nan"), verdict(o["common_p99"] <= x["common_p99"])))
    if o["idle_bytes"] is not None and x["idle_bytes"] is not None:
        lines.append("| less memory per idle connection | %s KB | %s KB | %.2f | %s |" % (
            fmt_kb(o["idle_bytes"]), fmt_kb(x["idle_bytes"]), o["idle_bytes"] / x["idle_bytes"] if x["idle_bytes"] else float("nan"),
            verdict(o["idle_bytes"] < x["idle_bytes"])))
    if o["common_cpu"] and x["common_cpu"]:
        lines.append("| (context) server CPU per delivered message at that common step | %s µs | %s µs | Socket.IO / outboard %.2fx | |" % (
            fmt_us(o["common_cpu"]), fmt_us(x["common_cpu"]), x["common_cpu"] / o["common_cpu"]))
    return lines


def contender_table(s, meta):
    fanout = meta["subscribers"] + 1
    lines = ["| contender | highest step held: msg/s sent | delivered/s | p50 ms | p99 ms | server CPU µs per delivery | load generator's cores | next step (not held): delivered/s | idle: connections held | KB per idle connection |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name in NAMES:
        if name not in s:
            continue
        x = s[name]
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            name, fmt_rate(x["best_rate"]), fmt_rate(x["best_delivered"]), fmt_ms(x["best_p50"]), fmt_ms(x["best_p99"]),
            fmt_us(x["best_cpu"]), "-" if x["best_client_cores"] is None else "%.2f" % x["best_client_cores"],
            "(ladder held to its end)" if x["exhausted"] else fmt_rate(x["over_delivered"]),
            fmt_rate(x["idle_open"]), fmt_kb(x["idle_bytes"])))
    lines.append("")
    lines.append("Each message sent is delivered %d times (%d subscribers and the sender's own connection)." % (fanout, meta["subscribers"]))
    return lines


def round_table(rounds, meta):
    lines = ["| round | contender | msg/s sent | delivered/s | missing | p50 ms | p99 ms | max ms | server CPU µs/delivery | servers' cores | redis cores | load generator cores | others' cores | held |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    idle = ["| round | contender | connections open | failed | KB per connection | connect s |", "|---:|---|---:|---:|---:|---:|"]
    problems = []
    for rnd in sorted(rounds):
        for name in NAMES:
            f = rounds[rnd].get(name)
            if not f:
                continue
            for st in sorted(f["steps"], key=lambda s: s["step"]):
                w = st["wall_s"] or 1
                lines.append("| %d | %s | %s | %s | %d | %s | %s | %s | %s | %.2f | %.2f | %.2f | %.2f | %s |" % (
                    rnd, name, fmt_rate(st["rate"]), fmt_rate(st["delivered_per_s"]), st["missing"], fmt_ms(st["p50_ms"]),
                    fmt_ms(st["p99_ms"]), fmt_ms(st["max_ms"]), fmt_us(st["server_cpu_us_per_delivery"]), st["server_cpu_s"] / w,
                    st["redis_cpu_s"] / w, st["client_cpu_s"] / w, st["others_cores"],
                    "yes" if st["held"] else "no: " + why_not_held(st, meta["max_p99_ms"])))
            if f["idle"]:
                idle.append("| %d | %s | %d | %d | %s | %s |" % (rnd, name, f["idle_open"], f["idle_failed"], fmt_kb(f["idle_bytes"]),
                                                                 "-" if f["idle_connect_s"] is None else "%.1f" % f["idle_connect_s"]))
            problems += ["round %d %s: %s" % (rnd, name, p) for p in f["problems"]]
    return lines, idle, problems


def section(rows, meta):
    rounds = per_round(rows, meta)
    s = summary(rounds)
    kind = ("QUICK RUN (`--quick`: 1 round, short steps, a small setup: a smoke check, not the record)" if meta["quick"]
            else "%d interleaved round(s)" % meta["rounds"])
    idle_note = "" if meta["idle_conns"] >= meta["idle_asked"] else (
        " (%d asked: the open-file limit here is %s and the sandbox may not raise it)" % (meta["idle_asked"], meta["fd_limit"]))
    out = [BEGIN, "### Latest run: %s" % meta["date"], "",
           "Command: `%s` (from the repository root; %s; took %d s, finished %s UTC)." % (meta["command"], kind, meta["elapsed_s"], meta["finished"]),
           "%d rooms x %d subscribers (half on each server) + one sender per room; ladder of messages sent per second in all: %s;"
           % (meta["rooms"], meta["subscribers"], meta["rates"].replace(",", ", ")),
           "%s s per step, texts of %d bytes; a step holds when every delivery arrived within 1 s of the last send, with no error,"
           % (meta["seconds"], meta["text_bytes"]),
           "no connection lost and a p99 of at most %d ms. Idle: %d connections on each of the two servers%s. Medians over rounds."
           % (meta["max_p99_ms"], meta["idle_conns"], idle_note), ""]
    out += targets(s)
    out += [""]
    out += contender_table(s, meta)
    others = [x["others"] for x in s.values() if x["others"] is not None]
    out += ["", "- machine: %s; load average %s at the end; other processes used a median %.2f cores during the steps"
            % (meta["machine"], meta["load"], median(others) or 0),
            "- outboard `%s`, commit `%s`, Release build; Node %s, socket.io %s, @socket.io/redis-adapter %s, redis (node-redis) %s; %s"
            % (meta["outboard"], meta["commit"], meta["node"], meta["socketio"], meta["adapter"], meta["node_redis"], meta["redis"])]
    steps, idle, problems = round_table(rounds, meta)
    if problems:
        out += ["", "Problems seen in this run:", "", "```"] + problems + ["```"]
    out += ["", "<details><summary>every step of every round</summary>", ""] + steps + [""] + idle + ["", "</details>", END]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    doc_section.main(sys.argv, section, BEGIN, END)
