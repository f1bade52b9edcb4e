#!/usr/bin/env python3
"""The tables of bench/abuse/run.sh, from what each measurement left in its directory.

    report.py --one DIR                               one line about one measurement
    report.py --manifest M --run RUN [--doc FILE]     the report (markdown on stdout); with --doc,
                                                      also the "## Abuse" section of FILE

A measurement directory holds wrk.txt (wrk --latency output), cpu.txt ("proxy=0.98 ..." in
cores), attack.json (attack.py's summary; absent for the baseline), proxy_stats.txt (HAProxy's
stats CSV or outboard's /metrics) and died.txt when the proxy died.
"""
import argparse
import json
import os
import re
import statistics
import sys

BEGIN = "<!-- bench/abuse begin -->"
END = "<!-- bench/abuse end -->"
PHASE_TEXT = {
    "baseline": "no attack",
    "slowloris": "slowloris",
    "slowbody": "slow body",
    "flood": "connection flood",
}


def ms(text):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text)
    if not m:
        return None
    v, unit = float(m.group(1)), m.group(2)
    return v * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(path):
    out = {"rps": None, "p50": None, "p99": None, "requests": 0, "non2xx": 0,
           "connect": 0, "read": 0, "write": 0, "timeout": 0}
    try:
        text = open(path).read()
    except OSError:
        return out
    for line in text.splitlines():
        parts = line.split()
        if line.startswith("Requests/sec:"):
            out["rps"] = float(parts[1])
        elif len(parts) == 2 and parts[0] == "50%":
            out["p50"] = ms(parts[1])
        elif len(parts) == 2 and parts[0] == "99%":
            out["p99"] = ms(parts[1])
        elif "requests in" in line:
            out["requests"] = int(parts[0])
        elif "Non-2xx or 3xx responses" in line:
            out["non2xx"] = int(parts[-1])
        elif "Socket errors" in line:
            for name, n in re.findall(r"(connect|read|write|timeout) (\d+)", line):
                out[name] = int(n)
    return out


def parse_cpu(path):
    try:
        return {k: float(v) for k, v in (kv.split("=") for kv in open(path).read().split())}
    except (OSError, ValueError):
        return {}


def parse_attack(path):
    try:
        return json.load(open(path))
    except (OSError, ValueError):
        return None


def haproxy_stats(path):
    """The frontend's and backend's counters that say what HAProxy did to the attack."""
    try:
        lines = open(path).read().splitlines()
    except OSError:
        return None
    if not lines or not lines[0].startswith("# pxname"):
        return None
    head = lines[0][2:].split(",")
    rows = {}
    for line in lines[1:]:
        cells = line.split(",")
        row = dict(zip(head, cells))
        rows[(row.get("pxname"), row.get("svname"))] = row
    fe = rows.get(("fe", "FRONTEND"), {})
    be = rows.get(("be", "BACKEND"), {})
    return {k: v for k, v in {
        "max conns": fe.get("smax"), "denied conns": fe.get("dcon"), "denied sessions": fe.get("dses"),
        "request errors": fe.get("ereq"), "4xx": fe.get("hrsp_4xx"), "5xx": fe.get("hrsp_5xx"),
        "max queued": be.get("qmax"), "backend max conns": be.get("smax"),
    }.items() if v not in (None, "")}


def outboard_stats(path):
    """A few lines of outboard's /metrics about refusals, timeouts and queueing (names vary by build)."""
    try:
        text = open(path).read()
    except OSError:
        return None
    keep = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name_value = line.rsplit(" ", 1)
        if len(name_value) != 2:
            continue
        name, value = name_value
        if re.search(r"reject|refus|timeout|timed_out|408|503|queue|limit|connections|shed|deadline", name):
            try:
                if float(value) != 0:
                    keep[name] = value
            except ValueError:
                pass
    return keep


def measurement(d):
    m = parse_wrk(os.path.join(d, "wrk.txt"))
    m["cpu"] = parse_cpu(os.path.join(d, "cpu.txt"))
    m["attack"] = parse_attack(os.path.join(d, "attack.json"))
    stats_path = os.path.join(d, "proxy_stats.txt")
    m["stats"] = haproxy_stats(stats_path) or outboard_stats(stats_path)
    m["died"] = os.path.exists(os.path.join(d, "died.txt"))
    m["socket_errors"] = m["connect"] + m["read"] + m["write"] + m["timeout"]
    return m


def f0(x):
    return "-" if x is None else f"{x:.0f}"


def f2(x):
    return "-" if x is None else f"{x:.2f}"


def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b


def errors_cell(m):
    parts = []
    if m["non2xx"]:
        parts.append(f"{m['non2xx']} non-2xx")
    for k in ("connect", "read", "write", "timeout"):
        if m[k]:
            parts.append(f"{m[k]} {k}")
    if m["died"]:
        parts.append("**proxy died**")
    return ", ".join(parts) if parts else "0"


def attack_cells(a):
    """open at once (mean / max), closed by the proxy (count, median lifetime), answers seen."""
    if not a:
        return "-", "-", "-"
    samples = a.get("open_samples") or [0]
    opened = f"{a.get('open_mean', 0)} / {max(samples)}"
    closes = a.get("peer_closes", 0)
    life = a.get("peer_close_lifetime_median_s")
    closed = f"{closes}" + (f" (median after {life:.1f} s)" if closes and life is not None else "")
    statuses = ", ".join(f"{n}x {s}" for s, n in sorted(a.get("statuses", {}).items()))
    errs = ", ".join(f"{n}x {e}" for e, n in sorted(a.get("connect_errors", {}).items()))
    answers = "; ".join(x for x in (statuses, ("connect errors: " + errs) if errs else "") if x) or "none"
    return opened, closed, answers


def one_line(d):
    m = measurement(d)
    a = m["attack"]
    cpu = m["cpu"]
    s = (f"{f0(m['rps'])} req/s, p50 {f2(m['p50'])} ms, p99 {f2(m['p99'])} ms, errors {errors_cell(m)}; "
         f"cores: proxy {cpu.get('proxy', 0):.2f}, attack {cpu.get('attack', 0):.2f}, wrk {cpu.get('wrk', 0):.2f}, "
         f"backend {cpu.get('backend', 0):.2f}, others {cpu.get('others', 0):.2f}")
    if a:
        opened, closed, answers = attack_cells(a)
        s += f"; attack: open {opened}, opened {a.get('opened')}, closed by proxy {closed}, answers {answers}"
    return s


def median_of(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def build_report(manifest, run):
    rows = [line.rstrip("\n").split("\t") for line in open(manifest) if line.strip()]
    info = dict(line.rstrip("\n").split("=", 1) for line in open(run) if "=" in line)
    by = {}  # (phase, proxy) -> [measurement]
    phases, proxies = [], []
    for rnd, phase, proxy, d in rows:
        m = measurement(d)
        m["round"] = int(rnd)
        by.setdefault((phase, proxy), []).append(m)
        if phase not in phases:
            phases.append(phase)
        if proxy not in proxies:
            proxies.append(proxy)
    rounds = int(info.get("rounds", "1"))

    def med(phase, proxy, key):
        return median_of([m[key] for m in by.get((phase, proxy), [])])

    out = []
    what = "median over rounds" if rounds > 1 else "one round"
    out.append(f"| phase | proxy | legit req/s | p50 ms | p99 ms | legit errors | req/s vs no attack | p99 vs no attack "
               f"| attack conns open (mean / max) | attack conns closed by the proxy | proxy's answers to the attack "
               f"| proxy cores | proxy peak MB | attack cores | others' cores |")
    out.append("|---|---|---:|---:|---:|---|---:|---:|---:|---|---|---:|---:|---:|---:|")
    for phase in phases:
        for proxy in proxies:
            ms_ = by.get((phase, proxy), [])
            if not ms_:
                continue
            last = ms_[-1]
            rps, p50, p99 = med(phase, proxy, "rps"), med(phase, proxy, "p50"), med(phase, proxy, "p99")
            base_rps, base_p99 = med("baseline", proxy, "rps"), med("baseline", proxy, "p99")
            r_rps = "-" if phase == "baseline" else f2(ratio(rps, base_rps))
            r_p99 = "-" if phase == "baseline" else f2(ratio(p99, base_p99))
            opened, closed, answers = attack_cells(last["attack"])
            cpu = last["cpu"]
            errs = "; ".join(errors_cell(m) for m in ms_)
            out.append(f"| {PHASE_TEXT.get(phase, phase)} | {proxy} | {f0(rps)} | {f2(p50)} | {f2(p99)} | {errs} "
                       f"| {r_rps} | {r_p99} | {opened} | {closed} | {answers} "
                       f"| {cpu.get('proxy', 0):.2f} | {f0(cpu.get('peak_rss_mb'))} | {cpu.get('attack', 0):.2f} | {cpu.get('others', 0):.2f} |")
    table = "\n".join(out)

    ratios = []
    if "outboard" in proxies and "haproxy" in proxies:
        ratios.append("| phase | outboard / HAProxy, legit req/s | outboard / HAProxy, p99 | outboard keeps (req/s vs no attack) | HAProxy keeps |")
        ratios.append("|---|---:|---:|---:|---:|")
        for phase in phases:
            o, h = med(phase, "outboard", "rps"), med(phase, "haproxy", "rps")
            op, hp = med(phase, "outboard", "p99"), med(phase, "haproxy", "p99")
            keep_o = ratio(o, med("baseline", "outboard", "rps"))
            keep_h = ratio(h, med("baseline", "haproxy", "rps"))
            ratios.append(f"| {PHASE_TEXT.get(phase, phase)} | {f2(ratio(o, h))} | {f2(ratio(op, hp))} "
                          f"| {'-' if phase == 'baseline' else f2(keep_o)} | {'-' if phase == 'baseline' else f2(keep_h)} |")
    ratios_table = "\n".join(ratios)

    details = ["| round | phase | proxy | req/s | p99 ms | requests | attack: opened in all | proxy's own counters |",
               "|---:|---|---|---:|---:|---:|---:|---|"]
    for rnd, phase, proxy, d in rows:
        m = [x for x in by[(phase, proxy)] if x["round"] == int(rnd)][0]
        stats = m["stats"] or {}
        stats_text = ", ".join(f"{k} {v}" for k, v in stats.items()) or "-"
        opened = m["attack"].get("opened") if m["attack"] else "-"
        details.append(f"| {rnd} | {PHASE_TEXT.get(phase, phase)} | {proxy} | {f0(m['rps'])} | {f2(m['p99'])} "
                       f"| {m['requests']} | {opened} | {stats_text} |")
    return info, table, ratios_table, "\n".join(details)


def section(info, table, ratios_table, details):
    missing = info.get("missing_keys", "")
    lines = [
        BEGIN,
        "## Abuse: `bench/abuse`",
        "",
        "Legitimate traffic through `outboard gateway` and through HAProxy while each is under a",
        "bounded attack from the same machine, against the same traffic without one.",
        "",
        "```sh",
        "bash bench/abuse/run.sh            # 30 s of wrk per measurement, one round; rewrites this section",
        "bash bench/abuse/run.sh --quick    # 5 s per measurement: a smoke check, leaves this file alone",
        "```",
        "",
        "The attacks are ours (`bench/abuse/attack.py`, Python's standard library; loopback only, at",
        "most 10000 connections, stopping by themselves after their duration with a hard stop 15 s",
        "later), from source addresses 127.0.0.2 to 127.0.0.11; wrk's legitimate traffic comes from",
        "127.0.0.1:",
        "",
        "| attack | what it does |",
        "|---|---|",
        "| slowloris | 1000 connections, each sending one byte of a request header that never ends every 3 s; one the proxy closes is opened again at once |",
        "| slow body | 1000 connections, each sending a whole `POST` header with `Content-Length: 1000000` at once, then the body one byte every 3 s; reopened when closed |",
        "| connection flood | new connections as fast as one Python process can open them, at most 5000 open (or connecting) at once, each held 1 s without a byte and closed |",
        "",
        "Each measurement starts the proxy afresh, warms it up (1 s of wrk), starts the attack, waits "
        f"{info.get('ramp_s')} s, then runs `wrk -t1 -c{info.get('wrk_connections')} -d{info.get('duration_s')}s --latency` "
        "while the attack goes on. Both proxies are measured in each phase, one after the other (the",
        "order alternates from phase to phase). Both run one thread in front of the same one-worker",
        "NGINX backend (13 bytes for any request), with no logging. The configs:",
        "[`bench/abuse/outboard.toml.in`](../bench/abuse/outboard.toml.in) and",
        "[`bench/abuse/haproxy.cfg.in`](../bench/abuse/haproxy.cfg.in); the limits both get: "
        f"{info.get('limits')}.",
        "",
        "| defence | outboard | HAProxy | alike? |",
        "|---|---|---|---|",
        "| whole header within 10 s | `timeouts.header_read_ms` | `timeout http-request 10s` | yes (both answer 408 and close) |",
        "| slow body | the first 64 kB of a body (`limits.retry_buffer_bytes`) are read before a backend is chosen; from the header's end, 10 s of grace (`timeouts.body_read_ms`), then at least `timeouts.body_min_rate` 1024 B/s on average, else 408 | `option http-buffer-request`: the body, up to a full 16 kB buffer, must be in within `timeout http-request` 10 s from the request's start, before a server is chosen, else 408 | mostly: neither gives a slow body a server slot; outboard's limit is a rate (a long upload that keeps up goes on), HAProxy's a fixed time for the first 16 kB |",
        "| connections at once | `limits.max_connections` 4096: beyond it, 503 with `Retry-After` and close | global and frontend `maxconn 4096`: beyond it, HAProxy stops accepting (new connections wait in the kernel's backlog) | partly |",
        "| connections per client address | `limits.max_connections_per_client` 256: 503 and close | stick table `conn_cur`, `tcp-request connection reject` above 256: closed with no answer | partly (same cap, different answer) |",
        "| requests in flight per backend, queue | `limits.max_in_flight_per_backend` 128, `limits.queue_size` 100, `timeouts.queue_ms` 1000 (503 beyond) | server `maxconn 128 maxqueue 100`, `timeout queue 1s` (503 beyond) | yes |",
        "| idle keep-alive / between body pieces | `timeouts.idle_ms` 60 s | `timeout client 60s`, `timeout http-keep-alive 60s` | yes |",
        "",
    ]
    if missing:
        lines += [
            f"**This run's outboard did not have these settings yet** ({info.get('commit')}), so they were "
            f"left out of its config and the defences they stand for were off: `{missing.replace(',', '`, `')}`.",
            "",
        ]
    lines += [
        "### Latest run",
        "",
        f"Command: `` {info.get('command')} `` (from the repository root; measurements took {info.get('elapsed_s')} s, "
        f"finished {info.get('finished')} UTC). {info.get('rounds')} round(s).",
        "",
        f"- outboard: `{info.get('outboard_version')}`, {info.get('commit')}",
        f"- HAProxy: `{info.get('haproxy_version')}`; NGINX (backend): `{info.get('nginx_version')}`; wrk: `{info.get('wrk_version')}`; {info.get('python_version')}",
        f"- machine: {info.get('machine')}; wrk, the attack, the backend and the proxy share its cores",
        f"- quieter machine: {info.get('quiet')}",
        "",
        "\"attack conns open\" is what the attacker held connected (sampled each second; with HAProxy",
        "at `maxconn`, a connection the kernel accepted but HAProxy did not yet counts as open).",
        "\"closed by the proxy\" counts the attack's connections the proxy closed (and how long they",
        "had lived), \"answers\" the status lines it sent them. \"legit errors\" are wrk's `Non-2xx or",
        "3xx responses` and socket errors (`timeout`: no answer within wrk's 2 s).",
        "",
        table,
        "",
        ratios_table,
        "",
        "<details><summary>every measurement, with the proxy's own counters</summary>",
        "",
        details,
        "",
        "</details>",
        END,
    ]
    return "\n".join(lines) + "\n"


def write_doc(path, text):
    # Re-read right before writing: others write their own sections of this file. Only the text
    # between our markers is replaced; without them, the section is appended at the end.
    doc = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
    if BEGIN in doc and END in doc:
        head, rest = doc.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        doc = head + text.rstrip("\n") + tail
    else:
        doc = doc.rstrip("\n") + "\n\n" + text
    with open(path, "w") as f:
        f.write(doc)


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument("--one")
    p.add_argument("--manifest")
    p.add_argument("--run")
    p.add_argument("--doc")
    a = p.parse_args(argv)
    if a.one:
        print(one_line(a.one))
        return 0
    info, table, ratios_table, details = build_report(a.manifest, a.run)
    text = section(info, table, ratios_table, details)
    print(text)
    if a.doc:
        write_doc(a.doc, text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
