"""Model -> the text summary: per lock, acquisitions and hold and wait time
percentiles per CPU; per DPC routine, count, run time and latency (insert
to start); per thread, switches in, run time and latency (made ready to
running); what the dump lost."""

MAX_THREADS = 24                        # the rows of the threads table, by run time


def percentile(values, p):
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))      # ceil(n * p / 100)
    return ordered[int(rank) - 1]


def _stats(values):
    if not values:
        return "%8s %8s %8s %8s" % ("-", "-", "-", "-")
    return "%8.2f %8.2f %8.2f %8.2f" % tuple(percentile(values, p) for p in (50, 90, 99, 100))


def text(model):
    lines = []
    trace = model.trace
    lines.append("trace: %d events on %d CPUs, %.1f us, TSC %.0f MHz"
                 % (len(trace.events), len(model.cpus), model.end, model.hz / 1e6))
    for problem in trace.problems:
        lines.append("  warning: " + problem)

    holds, waits = {}, {}
    for s in model.slices:
        if s.kind in ("hold", "wait"):
            name = s.name[len("spin "):] if s.kind == "wait" else s.name
            table = holds if s.kind == "hold" else waits
            table.setdefault(name, {}).setdefault(s.cpu, []).append(s.end - s.start)
    lines.append("")
    lines.append("locks (us: p50 p90 p99 max)")
    for name in sorted(holds, key=lambda n: -sum(len(v) for v in holds[n].values())):
        total = sum(len(v) for v in holds[name].values())
        lines.append("  %s: %d acquisitions" % (name, total))
        lines.append("    %-5s %6s  %-35s %6s  %s" % ("CPU", "holds", "hold", "waits", "wait"))
        for cpu in sorted(holds[name]):
            w = waits.get(name, {}).get(cpu, [])
            lines.append("    %-5d %6d  %s  %6d  %s" % (cpu, len(holds[name][cpu]),
                                                       _stats(holds[name][cpu]), len(w), _stats(w)))

    runs = {}
    for s in model.by_kind("dpc"):
        runs.setdefault(s.args["routine"], []).append(s.end - s.start)
    lines.append("")
    lines.append("DPCs (us: p50 p90 p99 max)")
    lines.append("  %-40s %6s  %-35s  %s" % ("routine", "count", "run time", "latency"))
    for routine in sorted(runs, key=lambda r: -len(runs[r])):
        lines.append("  %-40s %6d  %s  %s" % (routine[:40], len(runs[routine]), _stats(runs[routine]),
                                            _stats(model.dpc_latency.get(routine, []))))
    counted = sum(c.dpc_routines for c in trace.cpus)
    lines.append("  DPC slices %d, DPC routines the kernel counted %d"
                 % (len(model.by_kind("dpc")), counted))
    lines.append("")
    lines.append("threads (us; latency, made ready to running: p50 p90 p99 max)")
    lines.append("  %-32s %8s %12s  %s" % ("thread", "switches", "run time", "latency"))
    ranked = sorted(model.threads.values(), key=lambda t: (t.id != 0, -sum(t.run)))
    for t in ranked[:MAX_THREADS]:
        lines.append("  %-32s %8d %12.1f  %s" % (t.name[:32], t.switches_in, sum(t.run), _stats(t.latency)))
    if len(ranked) > MAX_THREADS:       # a test that starts a thousand threads
        lines.append("  ... %d more threads, each running less" % (len(ranked) - MAX_THREADS))
    for c in trace.cpus:
        lines.append("  CPU %d: %d switches traced, the kernel counted %s" % (
            c.number, model.switches.get(c.number, 0),
            "-" if c.context_switches is None else c.context_switches))
    lines.append("")
    lines.append("interrupts: %d ISR slices; arrows: %d IPIs, %d lock hand-offs, %d made ready"
                 % (len(model.by_kind("isr")), sum(f.kind == "ipi" for f in model.flows),
                    sum(f.kind == "handoff" for f in model.flows),
                    sum(f.kind == "ready" for f in model.flows)))
    return "\n".join(lines) + "\n"
