#!/usr/bin/env python3
"""Run the in-kernel benchmarks and turn them into tables, JSON, CSV and plots.

`make bench` calls this: boot the free kernel (`bench=all`) once per vCPU
count (and, given --checked-iso, the checked kernel twice at 1 vCPU, with
the lock-order validator on and off, for its cost as a ratio), collect the `BENCH {json}` lines the kernel prints (include/kbench.h),
compute each metric's ratio to the floor it names (measured in the same boot)
and, for exported lock routines, to its inline floor too, print one table per
group (the name up to its first dot: floor, uncontended, contended, dpc, ...)
and the issue's goals as measured, and write build/bench/results.json,
results.csv and PNG charts drawn with gnuplot. Nothing here fails on a
number: it only measures (docs/performance.md).
"""
import argparse
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

FWCFG = "opt/ntsync/cmdline"
CHECKED_FILTER = "uncontended_executive*"     # the checked build's boots (validator_cost)

# Metrics whose numbers are what the design says, not defects.
NOTES = {
    "dpc.latency.other_cpu.low": "by design: no IPI, waits for CPU 1's clock tick (1 ms)",
    "dpc.latency.other_cpu.medium": "by design: no IPI, waits for CPU 1's clock tick (1 ms)",
    "dpc.latency.same_cpu.low": "at once while the DPC rate < MinimumDpcRate, else at the tick (p99)",
    "generic_call.ipi": "",
    "timer.periodic.lateness": "from the tick that made it due (due times fall on ticks)",
    "timer.oneshot.lateness": "random due times: waits for the next tick, half a period on average",
    "timer.oneshot.lateness_interrupt_time": "the due time's distance to the next tick",
}
GROUP_ORDER = ["floor", "pause", "uncontended", "contended", "handoff", "dpc", "generic_call",
               "thread", "timer"]


def machine():
    info = {"nproc": os.cpu_count(), "host_kernel": platform.release()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return info


def qemu_version(qemu):
    try:
        out = subprocess.run([qemu, "--version"], capture_output=True, text=True).stdout
        return out.splitlines()[0] if out else "unknown"
    except OSError:
        return "unknown"


def boot(args, smp, iso=None, options="", label=""):
    """One boot (of args.iso unless iso, with extra boot options); returns
    (metrics, header) parsed from the serial log."""
    log = os.path.join(args.out, f"bench{label}-smp{smp}.log")
    cmdline = f"bench={args.filter if iso is None else CHECKED_FILTER} {options}".strip()
    argv = [args.qemu, "-accel", args.accel, "-cpu", "max", "-smp", str(smp), "-m", "256M",
            "-no-reboot", "-display", "none", "-monitor", "none", "-serial", "file:" + log,
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-cdrom", iso or args.iso,
            "-boot", "d", "-fw_cfg", f"name={FWCFG},string=" + cmdline.replace(",", ",,")]
    start = time.time()
    try:
        status = subprocess.run(argv, timeout=args.timeout).returncode
    except subprocess.TimeoutExpired:
        sys.exit(f"bench: boot with {smp} vCPUs timed out after {args.timeout} s; see {log}")
    metrics, header = [], {}
    with open(log, errors="replace") as f:
        for line in f:
            line = line.strip()
            if line.startswith("BENCH-START "):
                header = json.loads(line[len("BENCH-START "):])
            elif line.startswith("BENCH "):
                metrics.append(json.loads(line[len("BENCH "):]))
            elif line.startswith("BENCH-SKIP "):
                skipped = json.loads(line[len("BENCH-SKIP "):])
                print(f"# {smp} vCPUs: {skipped['name']} skipped: {skipped['reason']}")
    if status != 33 or not header:
        sys.exit(f"bench: boot with {smp} vCPUs failed (QEMU status {status}); see {log}")
    header["seconds"] = round(time.time() - start, 1)
    print(f"# {smp} vCPUs: {len(metrics)} metrics in {header['seconds']:.1f} s, "
          f"TSC {header['tsc_hz'] / 1e6:.0f} MHz")
    return metrics, header


def ratio(m, by_name, key):
    floor = by_name.get(m.get(key) or "")
    return round(m["median"] / floor["median"], 3) if floor and floor["median"] else None


def tidy(metrics, header, nproc):
    """Ratios from the same boot; fairness figures as fractions; notes."""
    by_name = {m["name"]: m for m in metrics}
    for m in metrics:
        m["ratio"] = ratio(m, by_name, "floor")
        if m.get("inline_floor"):
            m["ratio_inline"] = ratio(m, by_name, "inline_floor")
        for key in ("jain", "maxmin", "owner_changes"):
            if key in m:
                m[key] = m[key] / 1000 if m[key] >= 0 else None    # max/min -1: a CPU got none
        m["tsc_hz"] = header["tsc_hz"]
        note = NOTES.get(m["name"], "")
        if m["name"] == "generic_call.ipi" and m["vcpus"] == 1:
            note = "one CPU: no IPI is sent"
        if m["name"].startswith("contended.") and m["vcpus"] == 1:
            note = "one CPU: no contention"
        if m["vcpus"] > nproc and (m["name"].startswith(("contended.", "handoff.", "generic_call."))
                                   or ".other_cpu." in m["name"]):
            note = (note + "; " if note else "") + f"{m['vcpus']} vCPUs on {nproc} host cores"
        if note:
            m["note"] = note


def fmt_ratio(x):
    return f"{x:.2f}" if x is not None else "-"


def print_tables(results):
    groups = {}
    for m in results:
        groups.setdefault(m["name"].split(".")[0], []).append(m)
    order = [g for g in GROUP_ORDER if g in groups] + [g for g in groups if g not in GROUP_ORDER]
    for group in order:
        rows = sorted(groups[group], key=lambda m: (m["name"], m["vcpus"]))
        fair = any("jain" in m for m in rows)
        inline = any(m.get("inline_floor") for m in rows)
        print(f"\n== {group}")
        head = f"{'metric':<44} {'vCPUs':>5} {'median':>11} {'p99':>11} {'unit':<6} {'ratio':>6}"
        if inline:
            head += f" {'inline':>6}"
        if fair:
            head += f" {'jain':>6} {'max/min':>8} {'owner':>6}"
        head += "  floor / note"
        print(head)
        last = None
        for m in rows:
            name = m["name"] if m["name"] != last else ""
            last = m["name"]
            line = (f"{name:<44} {m['vcpus']:>5} {m['median']:>11} {m['p99']:>11} "
                    f"{m['unit']:<6} {fmt_ratio(m.get('ratio')):>6}")
            if inline:
                line += f" {fmt_ratio(m.get('ratio_inline')):>6}"
            if fair:
                if "jain" in m:
                    maxmin = f"{m['maxmin']:.2f}" if m["maxmin"] is not None else "inf"
                    line += f" {m['jain']:>6.3f} {maxmin:>8} {m.get('owner_changes', 0):>6.2f}"
                else:
                    line += f" {'':>6} {'':>8} {'':>6}"
            tail = m.get("floor") or ""
            if m.get("inline_floor"):
                tail += f" (inline: {m['inline_floor']})"
            if m.get("note"):
                tail += ("; " if tail else "") + m["note"]
            print(line + ("  " + tail if tail else ""))
    print("\nratio = median / the named floor's median, same boot; inline = median / the inline "
          "floor's.\njain = Jain's fairness index, max/min = most/fewest acquisitions per CPU, "
          "owner = share of\nexclusive acquisitions that took the lock from another CPU (medians "
          "over the rounds).")


def goals(results):
    """The issue's goals, as measured: never asserted, only reported."""
    by = {(m["name"], m["vcpus"]): m for m in results}
    vcpus = sorted({m["vcpus"] for m in results})
    out = []

    def add(goal, n, measured, target, met, note=""):
        out.append({"goal": goal, "vcpus": n, "measured": measured, "target": target,
                    "met": met, "note": note})

    def ratio_goal(goal, metric, key, limit, note=""):
        for n in vcpus:
            m = by.get((metric, n))
            if m and m.get(key) is not None:
                add(goal, n, f"{m[key]:.2f}x", f"<= {limit}x", m[key] <= limit, note)

    ratio_goal("KeAcquireSpinLockAtDpcLevel pair / xchg pair, inline (as stated)",
               "uncontended.executive_at_dpc", "ratio_inline", 1.15, "two call/ret the floor lacks")
    ratio_goal("KeAcquireSpinLockAtDpcLevel pair / xchg pair, called",
               "uncontended.executive_at_dpc", "ratio", 1.15)
    for n in vcpus:
        m = by.get(("uncontended.executive_raise", n))
        inline = by.get(("floor.raise_xchg_pair_lower", n))
        if m and m.get("ratio") is not None and inline:
            add("KeAcquireSpinLock pair / xchg pair + 2 CR8 writes, called", n,
                f"{m['ratio']:.2f}x", "<= 1.15x", m["ratio"] <= 1.15,
                f"+{m['median'] - inline['median']} ticks over the inline floor: "
                "a CR8 read and two call/ret")
    for metric in ("instack_queued_at_dpc", "rw_shared_at_dpc", "rw_exclusive_at_dpc"):
        ratio_goal(f"{metric} / two locked RMWs, inline (as stated)", "uncontended." + metric,
                   "ratio_inline", 1.1, "two call/ret the floor lacks")
        ratio_goal(f"{metric} / two locked RMWs, called", "uncontended." + metric,
                   "ratio", 1.1)
    tas = by.get(("contended.baseline_test_and_set", 2))
    executive = by.get(("contended.executive", 2))
    for lock, what in (("instack_queued", "in-stack queued"),
                       ("instack_queued_own_line", "in-stack queued (own line)")):
        q = by.get(("contended." + lock, 2))
        if not q:
            continue
        add(f"{what}, contended: Jain's index", 2, f"{q['jain']:.3f}", ">= 0.99",
            q["jain"] >= 0.99)
        maxmin = q["maxmin"]
        add(f"{what}, contended: max/min", 2, f"{maxmin:.2f}" if maxmin is not None else "inf",
            "<= 1.1", maxmin is not None and maxmin <= 1.1)
        if tas:
            r = q["median"] / tas["median"]
            add(f"{what} / test-and-set throughput", 2, f"{r:.2f}x", ">= 0.9x", r >= 0.9,
                f"owner changes {q['owner_changes']:.2f} vs {tas['owner_changes']:.2f}; "
                "the baseline is inline")
        if executive:
            r = q["median"] / executive["median"]
            add(f"{what} / executive throughput (both exported)", 2, f"{r:.2f}x",
                ">= 0.9x", r >= 0.9, f"owner changes {q['owner_changes']:.2f} vs "
                f"{executive['owner_changes']:.2f}")
    for imp in ("low", "medium", "medium_high", "high"):
        ratio_goal(f"DPC same CPU, {imp} / self-IPI", f"dpc.latency.same_cpu.{imp}", "ratio", 1.2,
                   NOTES.get(f"dpc.latency.same_cpu.{imp}", ""))
    for imp in ("medium_high", "high"):
        ratio_goal(f"DPC other CPU, {imp} / one-way IPI", f"dpc.latency.other_cpu.{imp}",
                   "ratio", 1.3)
    for n in vcpus:
        m = by.get(("thread.wake.other_cpu", n))
        floor = by.get(("floor.ipi_one_way", n))
        if m and m.get("ratio") is not None and floor and floor["p99"]:
            add("thread wake, other CPU / one-way IPI (median)", n, f"{m['ratio']:.2f}x",
                "<= 1.5x", m["ratio"] <= 1.5,
                f"p99 {m['p99'] / floor['p99']:.2f}x the IPI's p99")
    for imp in ("low", "medium"):
        for n in vcpus:
            m = by.get((f"dpc.latency.other_cpu.{imp}", n))
            if m and m.get("ratio") is not None:
                add(f"DPC other CPU, {imp} / one-way IPI", n, f"{m['ratio']:.2f}x", "n/a", None,
                    NOTES[f"dpc.latency.other_cpu.{imp}"])
    return out


def validator_cost(args):
    """The checked build's uncontended pairs, one boot with the lock-order
    validator on (the default) and one with lockorder=off, at 1 vCPU: the
    nested pair's edge is one the validator has already seen (docs/validator.md)."""
    on, _ = boot(args, 1, args.checked_iso, "", "-checked")
    off, _ = boot(args, 1, args.checked_iso, "lockorder=off", "-checked-lockorder-off")
    off_by_name = {m["name"]: m for m in off}
    rows = []
    for m in on:
        o = off_by_name.get(m["name"])
        if o and o["median"]:
            rows.append({"name": m["name"], "on": m["median"], "off": o["median"],
                         "ratio": round(m["median"] / o["median"], 3)})
    print("\n== validator (checked build, 1 vCPU: pair cost with the lock-order validator "
          "on / lockorder=off)")
    print(f"{'metric':<44} {'on':>8} {'off':>8} {'ratio':>6}  unit: ticks (median)")
    for r in rows:
        print(f"{r['name']:<44} {r['on']:>8} {r['off']:>8} {r['ratio']:>6.2f}")
    return rows


def validator_goals(rows):
    return [{"goal": "checked pair on a seen edge, validator on / off", "vcpus": 1,
             "measured": f"{r['ratio']:.2f}x", "target": "<= 3x", "met": r["ratio"] <= 3,
             "note": "issue 14"}
            for r in rows if r["name"] == "uncontended.executive_at_dpc_nested"]


def print_goals(goal_rows, total_seconds):
    print("\n== goals (issues 7, 12 and 14; measured in each boot, never asserted)")
    print(f"{'goal':<60} {'vCPUs':>5} {'measured':>9} {'target':>9}  met")
    for g in goal_rows:
        met = {True: "yes", False: "NO", None: "-"}[g["met"]]
        note = f"  ({g['note']})" if g["note"] else ""
        print(f"{g['goal']:<60} {g['vcpus']:>5} {g['measured']:>9} {g['target']:>9}  {met}{note}")
    print(f"{'this run: boots and reports (make bench adds the build)':<60} {'':>5} "
          f"{total_seconds:>8.0f}s {'< 180s':>9}  {'yes' if total_seconds < 180 else 'NO'}")


def write_files(results, headers, goal_rows, validator, info, out):
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"machine": info, "boots": headers, "metrics": results, "goals": goal_rows,
                   "validator": validator}, f, indent=1)
    fields = ["name", "vcpus", "unit", "median", "p99", "samples", "floor", "ratio",
              "inline_floor", "ratio_inline", "jain", "maxmin", "owner_changes", "note"]
    with open(os.path.join(out, "results.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        w.writerows(results)


def plot(results, out, png, title, ylabel, select, scale=lambda m: m["median"], dashed=()):
    """One line per metric: its median (scaled) against the vCPU count."""
    series = {}
    for m in results:
        label = select(m)
        if label and m["median"] > 0:       # a log scale has no 0
            series.setdefault(label, []).append((m["vcpus"], scale(m)))
    if not series or not shutil.which("gnuplot"):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        plots = []
        for i, (name, points) in enumerate(sorted(series.items())):
            data = os.path.join(tmp, f"{i}.dat")
            with open(data, "w") as f:
                f.writelines(f"{x} {y}\n" for x, y in sorted(points))
            style = "linespoints dashtype 2" if name in dashed else "linespoints"
            plots.append(f"'{data}' using 1:2 with {style} linewidth 2 title '{name}'")
        xs = sorted({m["vcpus"] for m in results})
        ys = [y for points in series.values() for _, y in points]
        script = (f"set terminal pngcairo size 1000,560 noenhanced font 'sans,10'\n"
                  f"set output '{os.path.join(out, png)}'\n"
                  f"set title '{title}'\nset xlabel 'vCPUs'\nset ylabel '{ylabel}'\n"
                  f"set xtics ({', '.join(str(x) for x in xs)})\nset xrange [0.5:{xs[-1] + 0.5}]\n"
                  f"set key outside right\nset grid\nset logscale y\n"
                  f"set yrange [{min(ys) / 2}:{max(ys) * 2}]\n"
                  f"plot " + ", ".join(plots) + "\n")
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
    return os.path.join(out, png)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iso", default="build/free/kernel.iso")
    ap.add_argument("--smp", default="1 2 4")
    ap.add_argument("--out", default="build/bench")
    ap.add_argument("--filter", default="all")
    ap.add_argument("--accel", default="tcg,thread=multi")
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("--checked-iso", default="",
                    help="also boot this checked kernel for the lock-order validator's cost")
    ap.add_argument("--timeout", type=int, default=120)
    args = ap.parse_args()
    if not os.path.isfile(args.iso):
        sys.exit(f"bench: no {args.iso}; build it with `make CHECKED=0`")
    os.makedirs(args.out, exist_ok=True)
    start = time.time()
    info = machine()
    info["qemu"] = qemu_version(args.qemu)
    info["accel"] = args.accel
    print(f"# host: {info['nproc']} cores, {info.get('cpu_model', '?')}; {info['qemu']}; "
          f"-accel {args.accel}")
    results, headers = [], []
    for smp in (int(s) for s in args.smp.split()):
        metrics, header = boot(args, smp)
        tidy(metrics, header, info["nproc"])
        results += metrics
        headers.append(header)
    if headers:
        info["kernel"] = headers[0].get("version", "unknown")
    print_tables(results)
    goal_rows = goals(results)
    validator = validator_cost(args) if args.checked_iso else []
    goal_rows += validator_goals(validator)
    print_goals(goal_rows, time.time() - start)
    write_files(results, headers, goal_rows, validator, info, args.out)

    def us(m):
        return m["median"] * 1e6 / m["tsc_hz"]

    charts = [
        plot(results, args.out, "throughput.png",
             "Contended lock throughput (free build, QEMU TCG; dashed: baselines)",
             "acquisitions per second",
             lambda m: m["name"][len("contended."):]
             if m["unit"] == "acq/s" and m["name"].startswith("contended.") else None,
             dashed=tuple(m["name"][len("contended."):] for m in results
                          if m["name"].startswith("contended.baseline_"))),
        plot(results, args.out, "dpc-latency.png",
             "DPC latency, insert to routine start (median; dashed: IPI floors)",
             "microseconds",
             lambda m: m["name"][len("dpc.latency."):] if m["name"].startswith("dpc.latency.")
             else m["name"] if m["name"] in ("floor.self_ipi", "floor.ipi_one_way") else None,
             us, dashed=("floor.self_ipi", "floor.ipi_one_way")),
    ]
    print(f"\nwrote {args.out}/results.json, results.csv"
          + "".join(f", {os.path.basename(c)}" for c in charts if c)
          + f" ({time.time() - start:.0f} s)")


if __name__ == "__main__":
    main()
