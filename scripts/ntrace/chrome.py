"""Model -> Chrome Trace Event Format JSON ("Trace Event Format", the
document Chrome's trace viewer and Perfetto read).

One process per CPU ("CPU n"), holding that CPU's IRQL counter track and
three threads: tid 0 for ISRs and DPCs ("B"/"E" pairs: they nest, as the
interrupts do), tid 1 for spin waits and lock holds ("X" events: holds of
different locks need not nest), tid 2 for the kernel thread that ran ("X"
events, one after another: a CPU runs one thread at a time).  Arrows are flow events "s"/"f" with one id
per arrow; each starts in a short "X" mark at the send or release, so a
viewer always finds a slice to bind it to, and ends bound to the enclosing
slice at the receiving end ("bp": "e").
"""
import json

MAIN, LOCKS, THREADS = 0, 1, 2
FLOW_TID = {"handoff": LOCKS, "ready": THREADS}    # else MAIN (IPIs)
MARK_US = 0.001                 # the mark an arrow starts from: one nanosecond


def _ts(us):
    return round(us, 3)


def events(model):
    out = []                    # (sort key, event)
    for cpu in model.cpus:
        for name, args in (("process_name", {"name": "CPU %d" % cpu}),
                           ("process_sort_index", {"sort_index": cpu})):
            out.append(((0,), {"ph": "M", "name": name, "pid": cpu, "tid": MAIN, "args": args}))
        for tid, name in ((MAIN, "interrupts and DPCs"), (LOCKS, "spin waits and lock holds"),
                          (THREADS, "threads")):
            out.append(((0,), {"ph": "M", "name": "thread_name", "pid": cpu, "tid": tid,
                               "args": {"name": name}}))
        for ts, level in model.irql.get(cpu, []):
            out.append(((1, _ts(ts), 2, 0), {"ph": "C", "name": "IRQL", "pid": cpu, "tid": MAIN,
                                             "ts": _ts(ts), "args": {"IRQL": level}}))
    for s in model.slices:
        start = _ts(s.start)
        if s.kind in ("isr", "dpc"):
            # B/E (they nest, as interrupts do).  At one time: E before B (a
            # slice ending where the next begins), the outer B first, the
            # inner E first.
            end = max(_ts(s.end), start + MARK_US)
            out.append(((1, start, 2, -end), {"ph": "B", "name": s.name, "cat": s.kind,
                                              "pid": s.cpu, "tid": MAIN, "ts": start,
                                              "args": s.args}))
            out.append(((1, end, 1, -start), {"ph": "E", "pid": s.cpu, "tid": MAIN, "ts": end}))
        else:
            out.append(((1, start, 2, 0), {"ph": "X", "name": s.name, "cat": s.kind,
                                           "pid": s.cpu, "tid": THREADS if s.kind == "thread" else LOCKS,
                                           "ts": start,
                                           "dur": _ts(s.end - s.start), "args": s.args}))
    for n, f in enumerate(model.flows, 1):
        tid = FLOW_TID.get(f.kind, MAIN)
        src, dst = _ts(f.src_ts), _ts(f.dst_ts)
        common = {"name": f.name, "cat": f.kind, "id": n}
        out.append(((1, src, 3, 0), dict(common, ph="X", pid=f.src_cpu, tid=tid, ts=src,
                                         dur=MARK_US)))
        out.append(((1, src, 4, 0), dict(common, ph="s", pid=f.src_cpu, tid=tid, ts=src)))
        out.append(((1, dst, 4, 0), dict(common, ph="f", bp="e", pid=f.dst_cpu, tid=tid, ts=dst)))
    for cpu, ts, text in model.instants:
        out.append(((1, _ts(ts), 4, 0), {"ph": "i", "s": "g", "name": text, "pid": cpu,
                                         "tid": MAIN, "ts": _ts(ts)}))
    out.sort(key=lambda pair: pair[0])
    return [event for _, event in out]


def document(model):
    return {"traceEvents": events(model), "displayTimeUnit": "ns",
            "otherData": {"tsc_hz": model.hz, "problems": model.trace.problems}}


def write(model, path):
    with open(path, "w") as f:
        json.dump(document(model), f, separators=(",", ":"))


def check(doc):
    """The Trace Event Format's rules this writer relies on; a list of
    violations (empty: good).  Used by the unit tests and by the traced
    boot check."""
    errors = []
    stacks, flows = {}, {}
    for n, e in enumerate(doc["traceEvents"]):
        ph = e.get("ph")
        if ph not in ("M", "B", "E", "X", "C", "s", "f", "i"):
            errors.append("event %d: unknown phase %r" % (n, ph))
            continue
        if not isinstance(e.get("pid"), int) or not isinstance(e.get("tid"), int):
            errors.append("event %d: pid/tid not integers" % n)
        if ph == "M":
            continue
        if not isinstance(e.get("ts"), (int, float)) or e["ts"] < 0:
            errors.append("event %d: ts not a non-negative number of microseconds" % n)
            continue
        key = (e["pid"], e["tid"])
        if ph == "B":
            stacks.setdefault(key, []).append(e["ts"])
        elif ph == "E":
            if not stacks.get(key):
                errors.append("event %d: E without B on pid %r tid %r" % ((n,) + key))
            elif stacks[key].pop() > e["ts"]:
                errors.append("event %d: E before its B" % n)
        elif ph == "X" and not (isinstance(e.get("dur"), (int, float)) and e["dur"] >= 0):
            errors.append("event %d: X without a non-negative dur" % n)
        elif ph in ("s", "f"):
            flows.setdefault(e.get("id"), []).append(e)
    for key, stack in stacks.items():
        if stack:
            errors.append("pid %r tid %r: %d B without E" % (key + (len(stack),)))
    for id_, pair in flows.items():
        ts = {p["ph"]: p["ts"] for p in pair}
        if sorted(p["ph"] for p in pair) != ["f", "s"]:
            errors.append("flow %r: phases %s, want one s and one f"
                          % (id_, [p["ph"] for p in pair]))
        elif ts["f"] < ts["s"]:
            errors.append("flow %r: ends before it starts" % id_)
    return errors
