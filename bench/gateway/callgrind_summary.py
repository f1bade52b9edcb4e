#!/usr/bin/env python3
"""Summarises a callgrind dump per request: python3 callgrind_summary.py DUMP REQUESTS

Prints the instructions (Ir) per request, the functions with the most own cost, the calls per
request to malloc/new/free and to a few known-costly functions, and who calls the top few.
Used by bench/gateway/profile.sh; works on any callgrind.out file.
"""
import collections
import re
import subprocess
import sys


def demangle(names):
    try:
        out = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True, text=True).stdout
        return out.split("\n")[: len(names)]
    except OSError:
        return list(names)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    path, requests = sys.argv[1], float(sys.argv[2])
    if requests <= 0:
        sys.exit("callgrind_summary: no requests counted")
    names = {}

    def name(text):
        m = re.match(r"\((\d+)\)(?: (.*))?", text)
        if not m:
            return text
        if m.group(2):
            names[m.group(1)] = m.group(2)
        return names.get(m.group(1), m.group(1))

    own = collections.Counter()
    calls = collections.Counter()
    callers = collections.defaultdict(collections.Counter)
    fn = cfn = None
    pending = None
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("fn="):
                fn = name(line[3:])
            elif line.startswith("cfn="):
                cfn = name(line[4:])
            elif line.startswith("calls="):
                pending = int(line[6:].split()[0])
            elif line and (line[0].isdigit() or line[0] in "+-*"):
                parts = line.split()
                cost = int(parts[1]) if len(parts) > 1 else 0
                if pending is not None:
                    calls[cfn] += pending
                    callers[cfn][fn] += cost
                    pending = None
                else:
                    own[fn] += cost
    total = sum(own.values())
    print(f"### callgrind: {total / requests:,.0f} instructions (Ir) per request, user space, "
          f"{requests:.0f} requests")
    top = own.most_common(35)
    print("### top functions by own cost")
    for (n, c), d in zip(top, demangle([n for n, _ in top])):
        print(f"  {100 * c / total:5.1f}%  {c / requests:8.0f} Ir/req  {d[:170]}")
    print("### calls per request")
    wanted = ["malloc", "free", "_Znwm", "_ZdlPvm", "_ZdlPv", "RAND_bytes", "getpid", "epoll_ctl",
              "recv", "sendmsg", "recvmsg", "timerfd_settime", "pthread_mutex_lock"]
    for w in wanted:
        for n, c in calls.items():
            if n == w or n.startswith(w + "@") or (w == "sendmsg" and n == "__libc_sendmsg") or \
                    (w == "recvmsg" and n == "__libc_recvmsg"):
                incl = sum(callers[n].values())
                print(f"  {demangle([n])[0]:<40} {c / requests:6.2f}/req  ({incl / requests:,.0f} Ir/req inside)")
    print("### who calls the costliest leaf functions")
    for n, _ in own.most_common(6):
        if not callers[n]:
            continue
        print(f"  {demangle([n])[0][:120]}")
        top_callers = callers[n].most_common(3)
        for (cn, c), d in zip(top_callers, demangle([cn for cn, _ in top_callers])):
            print(f"      {c / requests:8.0f} Ir/req from {d[:150]}")


if __name__ == "__main__":
    main()
