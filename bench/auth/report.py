#!/usr/bin/python3
"""bench/auth's report: the section "Auth: token verification" of docs/BENCHMARKS.md.

Usage: report.py RESULTS.jsonl META.json [--doc docs/BENCHMARKS.md]
RESULTS.jsonl holds the JSON lines of outboard_auth_bench and jose_bench.mjs, each with its
"round" added; META.json the run's facts (date, machine, versions, rounds, seconds, quick).
Prints the section; with --doc also writes it into the file, between the markers
<!-- bench/auth begin --> and <!-- bench/auth end --> (replacing them, or at the end).
"""
import json
import pathlib
import statistics
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import doc_section  # noqa: E402  bench/doc_section.py

BEGIN, END = "<!-- bench/auth begin -->", "<!-- bench/auth end -->"
ALGS = ["EdDSA", "ES256", "RS256", "HS256"]


def medians(rows, key_fields, value):
    """{key: median of value over rounds} for the rows that have `value`."""
    groups = {}
    for row in rows:
        if value in row:
            groups.setdefault(tuple(row[f] for f in key_fields), []).append(row[value])
    return {k: statistics.median(v) for k, v in groups.items()}


def us(x):
    return "%.1f" % x if x < 100 else "%.0f" % x


def jwt_table(rows):
    verify = medians([r for r in rows if "impl" in r], ["impl", "alg"], "verify_us")
    sign = medians([r for r in rows if "impl" in r], ["impl", "alg"], "sign_us")
    lines = ["| alg | outboard verify CPU µs | jose verify CPU µs | jose / outboard | outboard sign CPU µs | jose sign CPU µs | jose / outboard |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for alg in ALGS:
        ov, jv = verify.get(("outboard", alg)), verify.get(("jose", alg))
        os_, js = sign.get(("outboard", alg)), sign.get(("jose", alg))
        if None in (ov, jv, os_, js):
            lines.append("| %s | (missing) | | | | | |" % alg)
            continue
        lines.append("| %s | %s | %s | %.2f | %s | %s | %.2f |" % (alg, us(ov), us(jv), jv / ov, us(os_), us(js), js / os_))
    return lines


def revocation_table(rows):
    checks = medians(rows, ["revocation"], "check_us")
    hits = medians(rows, ["revocation"], "hit_ratio")
    lines = ["| revocation check (a never-revoked token) | wall µs per check | near-cache hit ratio |", "|---|---:|---:|"]
    for name in ["redis", "redis+near-cache"]:
        if (name,) in checks:
            ratio = "%.4f" % hits[(name,)] if (name,) in hits else "-"
            lines.append("| %s | %s | %s |" % (name, us(checks[(name,)]), ratio))
    plain, cached = checks.get(("redis",)), checks.get(("redis+near-cache",))
    if plain and cached:
        lines.append("")
        lines.append("The near-cache makes a check %.0f× cheaper." % (plain / cached))
    return lines


def section(rows, meta):
    kind = "quick run (1 round, not for the record)" if meta["quick"] else "%d interleaved rounds" % meta["rounds"]
    out = [BEGIN, "## Auth: token verification", "",
           "`bash bench/auth/run.sh`, %s (%s, at least %s s per measurement after a warm-up; medians over rounds)." % (meta["date"], kind, meta["seconds"]),
           "One thread each, the same tokens and keys: outboard's `auth::JwtVerifier::verify` and `auth::sign_jwt`",
           "(`outboard_auth_bench`, %s build) beside npm `jose`'s `jwtVerify` (against the JWKS outboard publishes, as" % meta["build"],
           "an Express app verifying our tokens would: `createLocalJWKSet`; HS256 with the secret) and `SignJWT.sign`,",
           "in node. A verify is the whole check: parse, kid lookup, signature, claims (`iss`, `aud`, `exp`, ...).",
           "Sign and verify are pure computation, so they are measured in the process's CPU time (user + system, node's",
           "helper threads included) per operation: on a shared machine, wall time would mostly measure the others' load.",
           "Each round runs outboard, jose and the revocation checks in a rotating order.", ""]
    out += jwt_table(rows)
    out += ["", "The revocation check (`auth::Revocation::check`: the token's denylist entry and the user's not-before",
            "time, two GETs) on a private redis-server on loopback, without and with the near-cache (10 000 keys;",
            "a missing key is cached too, so a warm check sends nothing), in wall time: the round trips are the cost.", ""]
    out += revocation_table(rows)
    out += ["", "- machine: %s (shared with other work while this ran: the numbers are indicative)" % meta["machine"],
            "- %s; jose %s; %s; commit %s" % (meta["node"], meta["jose"], meta["redis"], meta["commit"]), END]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    doc_section.main(sys.argv, section, BEGIN, END)
