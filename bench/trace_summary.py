#!/usr/bin/env python3
"""Top operators by self time in a Chrome trace from `sori_bench --profile` or
`bench/train_step_reference.py --profile` (both LibTorch's profiler): self time = duration minus
the time of the events nested in it on the same thread. Usage: trace_summary.py TRACE [N]"""
import collections
import json
import sys

events = [e for e in json.load(open(sys.argv[1])) if e.get("ph") == "X"]
top = int(sys.argv[2]) if len(sys.argv) > 2 else 25
self_us, calls = collections.Counter(), collections.Counter()
by_thread = collections.defaultdict(list)
for e in events:
    by_thread[e.get("tid")].append(e)
for evs in by_thread.values():
    evs.sort(key=lambda e: (e["ts"], -e["dur"]))
    stack = []  # [end, name, child time]
    for e in evs:
        while stack and e["ts"] >= stack[-1][0]:
            end, name, child, dur = stack.pop()
            self_us[name] += dur - child
        if stack:
            stack[-1][2] += e["dur"]
        stack.append([e["ts"] + e["dur"], e["name"], 0.0, e["dur"]])
        calls[e["name"]] += 1
    for end, name, child, dur in stack:
        self_us[name] += dur - child
total = sum(self_us.values())
print(f"total self time {total / 1e3:.1f} ms over {sum(calls.values())} op calls")
for name, us in self_us.most_common(top):
    print(f"{us / 1e3:9.1f} ms {100 * us / total:5.1f}%  {calls[name]:6d}  {name}")
