#!/usr/bin/env python3
"""Run the in-kernel benchmarks and turn them into tables, JSON, CSV and plots.

`make bench` calls this: boot the free kernel (`bench=all`) once per vCPU
count, collect the `BENCH {json}` lines the kernel prints (include/kbench.h),
compute each metric's ratio to the floor it names (measured in the same boot),
print one table per group (the name up to its first dot: floor, uncontended,
contended, dpc, ...), and write build/bench/results.json, results.csv and PNG
charts drawn with gnuplot. Nothing here judges a number: it only measures.
"""
import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

FWCFG = "opt/ntsync/cmdline"


def boot(args, smp):
    """One boot; returns (metrics, header) parsed from the serial log."""
    log = os.path.join(args.out, f"bench-smp{smp}.log")
    argv = [args.qemu, "-accel", args.accel, "-cpu", "max", "-smp", str(smp), "-m", "256M",
            "-no-reboot", "-display", "none", "-monitor", "none", "-serial", "file:" + log,
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-cdrom", args.iso,
            "-boot", "d", "-fw_cfg", f"name={FWCFG},string=bench={args.filter}"]
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
    if status != 33 or not header:
        sys.exit(f"bench: boot with {smp} vCPUs failed (QEMU status {status}); see {log}")
    print(f"# {smp} vCPUs: {len(metrics)} metrics in {time.time() - start:.1f} s, "
          f"TSC {header['tsc_hz'] / 1e6:.0f} MHz")
    return metrics, header


def add_ratios(metrics):
    by_name = {m["name"]: m for m in metrics}
    for m in metrics:
        floor = by_name.get(m.get("floor") or "")
        m["ratio"] = round(m["median"] / floor["median"], 3) if floor and floor["median"] else None


def print_tables(results):
    groups = {}
    for m in results:
        groups.setdefault(m["name"].split(".")[0], []).append(m)
    for group, rows in groups.items():
        print(f"\n== {group}")
        print(f"{'metric':<44} {'vCPUs':>5} {'median':>12} {'p99':>12} {'unit':<8} {'ratio':>7}  floor")
        for m in sorted(rows, key=lambda m: (m["name"], m["vcpus"])):
            ratio = f"{m['ratio']:.2f}" if m.get("ratio") is not None else "-"
            extra = ""
            if "jain" in m:
                extra = f"  jain {m['jain'] / 1000:.3f} max/min {m.get('maxmin', 0) / 1000:.2f}"
            print(f"{m['name']:<44} {m['vcpus']:>5} {m['median']:>12} {m['p99']:>12} "
                  f"{m['unit']:<8} {ratio:>7}  {m.get('floor') or ''}{extra}")


def write_files(results, headers, out):
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"boots": headers, "metrics": results}, f, indent=1)
    fields = ["name", "vcpus", "unit", "median", "p99", "samples", "floor", "ratio"]
    with open(os.path.join(out, "results.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        w.writerows(results)


def plot(results, out, unit, prefix, png, title, ylabel):
    """One line per metric: its median against the vCPU count."""
    series = {}
    for m in results:
        if m["unit"] == unit and m["name"].startswith(prefix):
            series.setdefault(m["name"][len(prefix):], []).append((m["vcpus"], m["median"]))
    if not series or not shutil.which("gnuplot"):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        plots = []
        for i, (name, points) in enumerate(sorted(series.items())):
            data = os.path.join(tmp, f"{i}.dat")
            with open(data, "w") as f:
                f.writelines(f"{x} {y}\n" for x, y in sorted(points))
            plots.append(f"'{data}' using 1:2 with linespoints title '{name}'")
        script = (f"set terminal pngcairo size 900,540 noenhanced\nset output '{os.path.join(out, png)}'\n"
                  f"set title '{title}'\nset xlabel 'vCPUs'\nset ylabel '{ylabel}'\n"
                  f"set key outside right\nset grid\nset logscale y\n"
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
    ap.add_argument("--timeout", type=int, default=120)
    args = ap.parse_args()
    if not os.path.isfile(args.iso):
        sys.exit(f"bench: no {args.iso}; build it with `make CHECKED=0`")
    os.makedirs(args.out, exist_ok=True)
    start = time.time()
    results, headers = [], []
    for smp in (int(s) for s in args.smp.split()):
        metrics, header = boot(args, smp)
        add_ratios(metrics)
        results += metrics
        headers.append(header)
    print_tables(results)
    write_files(results, headers, args.out)
    charts = [plot(results, args.out, "acq/s", "contended.", "throughput.png",
                   "Contended lock throughput (free build, QEMU TCG)", "acquisitions per second"),
              plot(results, args.out, "ticks", "dpc.latency.", "dpc-latency.png",
                   "DPC latency, insert to routine start", "TSC ticks (median)")]
    print(f"\nwrote {args.out}/results.json, results.csv"
          + "".join(f", {os.path.basename(c)}" for c in charts if c)
          + f" ({time.time() - start:.0f} s)")


if __name__ == "__main__":
    main()
