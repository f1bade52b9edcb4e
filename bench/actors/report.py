#!/usr/bin/python3
"""bench/actors' report: the "## Actors" section of docs/BENCHMARKS.md.

Usage: report.py RESULTS.jsonl META.json [--doc docs/BENCHMARKS.md]
RESULTS.jsonl holds outboard_game_load's JSON lines (kinds setup, step, problems, timeout, and
run.sh's skipped), each with its "phase" (memory or moves) and "mode" added by run.sh; META.json
the run's facts. Prints the section; with --doc also writes it into the file between
<!-- bench/actors begin --> and <!-- bench/actors end --> (replacing them, or at the end of the file).

Memory: the server's VmRSS before and after opening R rooms x P players, over a ladder of (R, P);
the growth fitted, least squares without an intercept, as a*rooms + b*players (the base is the
RSS before: a logged-in, idle server). Moves: per mode, the highest step of the rate ladder that
held (every move acknowledged within the drain time, no refusal, no connection lost, p99 within the
bound), its moves acknowledged per second, latency, and the server's CPU per move. Capacity: the
players one machine of these cores holds by memory, by open files and by CPU at the lab's move
rate, the smallest binding; then the servers 100,000 players need with headroom.
"""
import math
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import doc_section  # noqa: E402  bench/doc_section.py

BEGIN, END = "<!-- bench/actors begin -->", "<!-- bench/actors end -->"
LAB_MOVES_PER_PLAYER = 4.0   # moves per second per player (the lab's game scenario)
SIZING_PLAYERS = 100_000
SIZING_PER_ROOM = 8
HEADROOM = 0.5               # a server is planned at half of what it holds


def fit_growth(points):
    """(KB per room, KB per player) fitting rss_after - rss_before = a*rooms + b*players; None
    when the ladder cannot tell rooms from players (every point the same players per room)."""
    srr = sum(p["rooms"] ** 2 for p in points)
    spp = sum(p["players"] ** 2 for p in points)
    srp = sum(p["rooms"] * p["players"] for p in points)
    sry = sum(p["rooms"] * p["growth_kb"] for p in points)
    spy = sum(p["players"] * p["growth_kb"] for p in points)
    det = srr * spp - srp * srp
    if not points or abs(det) < 1e-9 * max(1.0, srr * spp):
        return None
    return (sry * spp - spy * srp) / det, (spy * srr - sry * srp) / det


def fit_cpu(steps, cores=None):
    """(idle cores, µs of server CPU per move) fitting server cores = idle + k * moves acknowledged/s
    over a mode's steps: what a move costs beyond the server's own background work (heartbeats,
    lease renewals, checkpoints); None with fewer than two rates or a slope that is not positive.
    `cores`: which cores of a step (default the whole server's; busiest_cores: its busiest thread's)."""
    cores = cores or cores_of
    pts = [(s["acks_per_s"], cores(s)) for s in steps if s["acks_per_s"] > 0]
    if len({x for x, _ in pts}) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    k = sum((x - mx) * (y - my) for x, y in pts) / sum((x - mx) ** 2 for x, _ in pts)
    if k <= 0:
        return None
    return max(0.0, my - k * mx), k * 1e6


def memory_points(rows):
    points, problems = [], []
    for r in rows:
        if r.get("phase") != "memory":
            continue
        if r["kind"] == "skipped":
            problems.append("%d rooms x %d players: skipped (over the open-file limit)" % (r["rooms"], r["players_per_room"]))
        elif r["kind"] == "setup":
            if r["joined"] != r["players"]:
                problems.append("%d rooms x %d players: %d of %d joined (%s%s)" % (
                    r["rooms"], r["players_per_room"], r["joined"], r["players"], r["first_failure"],
                    "; " + r["close_reasons"] if r["close_reasons"] else ""))
                continue
            points.append(dict(r, growth_kb=r["rss_after_kb"] - r["rss_before_kb"]))
        elif r["kind"] in ("problems", "timeout"):
            problems.append("memory: %s" % r)
    return points, problems


def ladders(rows):
    """{mode: {"steps": [...], "best": step or None, "over": step or None, "problems": [...]}}"""
    out = {}
    for r in rows:
        if r.get("phase") != "moves":
            continue
        m = out.setdefault(r["mode"], {"steps": [], "problems": [], "setup": None})
        if r["kind"] == "step":
            m["steps"].append(r)
        elif r["kind"] == "setup":
            m["setup"] = r
            if r["joined"] != r["players"]:
                m["problems"].append("setup: %d of %d joined (%s)" % (r["joined"], r["players"], r["first_failure"]))
        elif r["kind"] in ("problems", "timeout"):
            m["problems"].append({k: v for k, v in r.items() if k not in ("phase", "mode")})
    for m in out.values():
        steps = sorted(m["steps"], key=lambda s: s["step"])
        held = [s for s in steps if s["held"]]
        unheld = [s for s in steps if not s["held"]]
        m["best"] = held[-1] if held else None
        m["over"] = unheld[0] if unheld else None
        m["exhausted"] = bool(steps) and not unheld
    return out


def why_not_held(s, max_p99_ms):
    reasons = []
    if s["unacked"]:
        reasons.append("%d of %d moves unacknowledged after the drain" % (s["unacked"], s["sent"]))
    if s["refused"]:
        reasons.append("%d refused" % s["refused"])
    if s["closed"]:
        reasons.append("%d connections closed" % s["closed"])
    if s["p99_ms"] > max_p99_ms:
        reasons.append("p99 %.1f ms > %d ms" % (s["p99_ms"], max_p99_ms))
    return ", ".join(reasons) or "?"


def n(x):
    return "-" if x is None else "{:,.0f}".format(x)


def cores_of(step):
    return step["server_cpu_s"] / step["wall_s"] if step["wall_s"] else 0.0


def busiest_cores(step):
    return step["busiest_thread_cpu_s"] / step["wall_s"] if step["wall_s"] else 0.0


def memory_lines(points, fit, problems, meta):
    lines = ["### Memory: the server's resident memory before and after opening the rooms", "",
             "| rooms | players per room | players | RSS before (MB) | RSS after (MB) | growth (MB) | KB per player (all growth) | server's open files | open time (s) |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for p in sorted(points, key=lambda p: (p["players"], p["rooms"])):
        lines.append("| %s | %d | %s | %.1f | %.1f | %.1f | %.1f | %s | %.1f |" % (
            n(p["rooms"]), p["players_per_room"], n(p["players"]), p["rss_before_kb"] / 1024, p["rss_after_kb"] / 1024,
            p["growth_kb"] / 1024, p["growth_kb"] / p["players"], n(p["fds_after"]), p["setup_s"]))
    lines.append("")
    if fit:
        lines.append("Fit (least squares, no intercept): growth = **%.1f KB per room** (activated, with its lease) + "
                     "**%.1f KB per player** (its connection, its seat). Base: a logged-in idle server, %.1f MB." % (
                         fit[0], fit[1], median([p["rss_before_kb"] for p in points]) / 1024))
    else:
        lines.append("Fit: the ladder does not vary rooms and players independently; no split of the growth.")
    lines += ["", "Open files: the limit here is %s per process (the server and the load generator each hold one per "
              "player); ladder points above it are skipped." % meta["fd_limit"]]
    if problems:
        lines += ["", "Problems:", "", "```"] + problems + ["```"]
    return lines


def median(values):
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def moves_lines(lad, meta):
    lines = ["### Moves: the rate ladder, %d rooms x %d players, %s s per step" % (meta["move_rooms"], meta["move_players"], meta["seconds"]),
             "",
             "| mode | highest step held: moves/s offered | acknowledged/s | per player /s | p50 ms | p99 ms | server cores (busiest thread) | server CPU µs per move (all) | fit over the steps: idle cores + µs per move | moves/s per server core (fit) | next step (not held) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for mode, m in lad.items():
        b, o = m["best"], m["over"]
        fit = fit_cpu(m["steps"])
        fit_text = "%.2f + %.1f µs" % fit if fit else "-"
        per_core = n(1e6 / fit[1]) if fit else "-"
        if not b:
            lines.append("| %s | none held | | | | | | | %s | %s | %s |" % (
                mode, fit_text, per_core, why_not_held(o, meta["max_p99_ms"]) if o else "-"))
            continue
        nxt = "(ladder held to its end)" if m["exhausted"] else "%s offered: %s acknowledged/s, %s" % (
            n(o["rate"]), n(o["acks_per_s"]), why_not_held(o, meta["max_p99_ms"]))
        lines.append("| %s | %s | %s | %.2f | %.2f | %.2f | %.2f (%.2f) | %.1f | %s | %s | %s |" % (
            mode, n(b["rate"]), n(b["acks_per_s"]), b["per_player"], b["p50_ms"], b["p99_ms"], cores_of(b), busiest_cores(b),
            b["server_cpu_us_per_move"], fit_text, per_core, nxt))
    lines += ["", "A move is acknowledged by its `moved` frame, which the room sends to each of its %d players: the server's CPU "
              "per move includes that fan-out, the JSON, the turn, and (journaled) the store append. The load generator runs on "
              "the same cores, so the rate held is a lower bound of what the server alone holds; CPU per move is the server's own."
              % meta["move_players"]]
    return lines


def capacity(points, fit, lad, meta):
    """{mode: {"memory": players, "fds": players, "cpu": players, "held": players, "binding": (name, players)}}"""
    out = {}
    per_room = SIZING_PER_ROOM
    base_kb = median([p["rss_before_kb"] for p in points]) if points else None
    kb_per_player = (fit[1] + fit[0] / per_room) if fit else (
        median([p["growth_kb"] / p["players"] for p in points]) if points else None)
    for mode, m in lad.items():
        b = m["best"]
        c = {}
        c["memory"] = (meta["mem_total_kb"] - (base_kb or 0)) / kb_per_player if kb_per_player else None
        c["fds"] = None if meta["fd_limit"] == "unlimited" else int(meta["fd_limit"]) - 200
        # The fit's marginal cost beside its idle cores; without a fit, the highest held step's all-in
        # cost. Two ceilings: all the cores for the whole server, and one core for its busiest thread
        # (the rooms' turns all run on one thread: docs/ACTORS.md).
        fit = fit_cpu(m["steps"])
        idle, per_move = fit if fit else (0.0, b["server_cpu_us_per_move"] if b else None)
        by_cores = (meta["cores"] - idle) * 1e6 / per_move / LAB_MOVES_PER_PLAYER if per_move else None
        tfit = fit_cpu(m["steps"], busiest_cores)
        by_thread = (1.0 - tfit[0]) * 1e6 / tfit[1] / LAB_MOVES_PER_PLAYER if tfit else None
        c["cpu"] = min(v for v in (by_cores, by_thread) if v) if (by_cores or by_thread) else None
        c["cpu_by_cores"], c["cpu_by_thread"] = by_cores, by_thread
        c["held"] = b["acks_per_s"] / LAB_MOVES_PER_PLAYER if b else None
        limits = {k: v for k, v in c.items() if k in ("memory", "fds", "cpu") and v}
        c["binding"] = min(limits.items(), key=lambda kv: kv[1]) if limits else None
        c["kb_per_player"] = kb_per_player
        c["base_kb"] = base_kb or 0
        out[mode] = c
    return out


def capacity_lines(cap, meta):
    lines = ["### What one %d-core machine holds, and 100,000 players" % meta["cores"], "",
             "| mode | players by memory (%d GB) | players by open files (limit %s) | players by CPU at %g moves/s each: all cores / the busiest thread | players the highest rate held serves at %g moves/s (load generator on the same cores) | binding | rooms of %d |"
             % (round(meta["mem_total_kb"] / 1048576), meta["fd_limit"], LAB_MOVES_PER_PLAYER, LAB_MOVES_PER_PLAYER, SIZING_PER_ROOM),
             "|---|---:|---:|---:|---:|---|---:|"]
    for mode, c in cap.items():
        bind = c["binding"]
        lines.append("| %s | %s | %s | %s / %s | %s | %s | %s |" % (
            mode, n(c["memory"]), n(c["fds"]), n(c["cpu_by_cores"]), n(c["cpu_by_thread"]), n(c["held"]),
            "%s: %s players" % (bind[0], n(bind[1])) if bind else "-", n(bind[1] / SIZING_PER_ROOM) if bind else "-"))
    lines += ["", "Players by CPU: (%d cores - the fit's idle cores) / (the fit's server CPU per move) / %g moves per player "
              "per second: the server alone on the machine (the load generator and other work elsewhere), the rooms of %d "
              "players as in the ladder; and the same for the server's busiest thread on one core (the rooms' turns run on one "
              "thread), the smaller of the two binding. Players by memory: (RAM - base) / (KB per player + KB per room / %d). Players by "
              "open files: one per player, the limit of this sandbox (a production host raises it)." % (
                  meta["cores"], LAB_MOVES_PER_PLAYER, meta["move_players"], SIZING_PER_ROOM), ""]
    for mode, c in cap.items():
        bind = c["binding"]
        if not bind:
            continue
        usable = bind[1] * HEADROOM
        servers = math.ceil(SIZING_PLAYERS / usable)
        lines.append("- **%s**: %s players in %s rooms of %d, at %g moves/s each = %s moves/s. One server holds %s players "
                     "(bound by %s); planned at %d%% headroom: %s players a server; **%d servers** (%s rooms and %s moves/s "
                     "each)%s." % (
                         mode, n(SIZING_PLAYERS), n(SIZING_PLAYERS / SIZING_PER_ROOM), SIZING_PER_ROOM, LAB_MOVES_PER_PLAYER,
                         n(SIZING_PLAYERS * LAB_MOVES_PER_PLAYER), n(bind[1]), bind[0], round(HEADROOM * 100), n(usable),
                         servers, n(SIZING_PLAYERS / SIZING_PER_ROOM / servers), n(SIZING_PLAYERS * LAB_MOVES_PER_PLAYER / servers),
                         "; memory per server at that load about %.0f MB" % ((c["base_kb"] + c["kb_per_player"] * SIZING_PLAYERS / servers) / 1024)
                         if c["kb_per_player"] else ""))
    return lines


def steps_lines(lad, meta):
    lines = ["| mode | moves/s offered | per player /s | sent | acknowledged/s | p50 ms | p99 ms | max ms | server cores | its busiest thread | server CPU µs/move | load generator cores | others' cores | server RSS MB | held |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for mode, m in lad.items():
        for s in sorted(m["steps"], key=lambda s: s["step"]):
            w = s["wall_s"] or 1
            lines.append("| %s | %s | %.2f | %s | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f | %.2f | %.2f | %.1f | %s |" % (
                mode, n(s["rate"]), s["per_player"], n(s["sent"]), n(s["acks_per_s"]), s["p50_ms"], s["p99_ms"], s["max_ms"],
                cores_of(s), busiest_cores(s), s["server_cpu_us_per_move"], s["client_cpu_s"] / w, s["others_cores"], s["rss_kb"] / 1024,
                "yes" if s["held"] else "no: " + why_not_held(s, meta["max_p99_ms"])))
    return lines


def section(rows, meta):
    points, mem_problems = memory_points(rows)
    fit = fit_growth(points) if points else None
    lad = ladders(rows)
    kind = "QUICK RUN (`--quick`: a smoke check, not the record)" if meta["quick"] else "one run"
    build = meta["build_type"] + ("" if meta["build_type"] == "Release" else " (NOT a Release build: CPU figures are pessimistic)")
    out = [BEGIN, "## Actors: `bench/actors` (issue 20, \"Scale\")", "",
           "```sh",
           "bash bench/actors/run.sh            # memory ladder + move ladders (checkpointed, journaled); updates this section",
           "bash bench/actors/run.sh --quick    # a smoke check; prints only",
           "```", "",
           "One `outboard serve --threads 2 --kdf min --state sqlite://DIR/store.db --log-level warn` with `[actors] enabled = true`, "
           "the mode, `messages_per_second = 100000` (the per-player limit raised: the bench measures rooms, not the limit); a fresh "
           "server per measurement. The players: one `outboard_game_load` process (one thread, Beast; bench/actors/game_load.cpp) "
           "on the same machine: it logs P users in, opens `GET /rooms/game-<i>` for player j = user j of every room, joins "
           "(`{\"type\":\"join\"}`, waits for `welcome`; each room's first player before the others), then sends "
           "`{\"type\":\"move\",\"seq\":N,..}` spread evenly over the players; the acknowledgement is the `moved` with "
           "player == me and that seq. A step holds when every move is acknowledged within 1 s of the last send, none is refused, "
           "no connection is lost, and the p99 is at most %d ms." % meta["max_p99_ms"], "",
           "### Latest run: %s" % meta["date"], "",
           "Command: `%s` (from the repository root; %s; took %d s, finished %s UTC). Build: %s." % (
               meta["command"], kind, meta["elapsed_s"], meta["finished"], build),
           "Machine: %s; load average %s at the end. outboard `%s`, commit `%s`." % (
               meta["machine"], meta["load"], meta["outboard"], meta["commit"]), ""]
    out += memory_lines(points, fit, mem_problems, meta) + [""]
    out += moves_lines(lad, meta) + [""]
    out += capacity_lines(capacity(points, fit, lad, meta), meta) + [""]
    problems = ["%s: %s" % (mode, p) for mode, m in lad.items() for p in m["problems"]]
    if problems:
        out += ["Problems seen in the move ladders:", "", "```"] + [str(p) for p in problems] + ["```", ""]
    out += ["<details><summary>every step</summary>", ""] + steps_lines(lad, meta) + ["", "</details>", END]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    doc_section.main(sys.argv, section, BEGIN, END)
