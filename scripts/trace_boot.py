#!/usr/bin/env python3
"""trace_boot.py --iso ISO --symbols SYM --filter GLOB [--check]

`make trace TEST=<glob>`: boot the kernel tests matching GLOB with
trace=all at --smp vCPUs, the trace rings going to QEMU's debug console
(-debugcon file:build/trace/NAME.bin), then write NAME.json, .svg, .png and
.txt with scripts/trace.py.  NAME is the glob without its stars.

--check (make test-trace, part of make test) then checks the picture against
the kernel: the dump is whole (no ring wrapped, nothing cut short), there is
one DPC slice for each DPC routine the kernel counted, one switch record
for each context switch each CPU's KPRCB counted, the hold slices of one
lock never overlap, at least one queued-lock hand-off arrow and one
made-ready arrow were drawn,
the JSON keeps the Trace Event Format's rules, and the PNG is a non-empty
PNG.  Prints one "ok"/"not ok" line per check and "N passed, N failed".
"""
import argparse
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import trace as trace_tool                      # noqa: E402  (scripts/trace.py)
from ntrace import chrome                       # noqa: E402


def overlapping_holds(model):
    """Pairs of hold slices of one lock that overlap in time."""
    by_lock, bad = {}, []
    for s in model.by_kind("hold"):
        by_lock.setdefault(s.args["lock"], []).append(s)
    for lock, holds in by_lock.items():
        holds.sort(key=lambda s: s.start)
        for before, after in zip(holds, holds[1:]):
            if after.start < before.end:
                bad.append("%s: CPU %d holds %.3f-%.3f us, CPU %d from %.3f us"
                           % (lock, before.cpu, before.start, before.end, after.cpu, after.start))
    return bad


def checks(model, out):
    trace = model.trace
    counted = sum(c.dpc_routines for c in trace.cpus)
    dpcs = len(model.by_kind("dpc"))
    with open(out + ".json") as f:
        json_errors = chrome.check(json.load(f))
    with open(out + ".png", "rb") as f:
        png = f.read()
    overlaps = overlapping_holds(model)
    switches = sum(model.switches.values())
    mismatches = model.switch_mismatches()
    return [
        ("the dump is whole", trace.complete and not trace.problems, "; ".join(trace.problems)),
        ("one DPC slice per DPC routine the kernel ran", dpcs == counted and dpcs > 0,
         "%d DPC slices, the kernel counted %d" % (dpcs, counted)),
        ("one switch record per context switch the kernel counted, on every CPU",
         switches > 0 and not mismatches and all(c.context_switches is not None for c in trace.cpus),
         "; ".join(mismatches) or "%d switch records" % switches),
        ("a made-ready arrow", any(f.kind == "ready" for f in model.flows), "none"),
        ("hold slices of one lock never overlap", model.by_kind("hold") and not overlaps,
         "; ".join(overlaps[:3]) or "no hold slices"),
        ("a queued-lock hand-off arrow", any(f.kind == "handoff" for f in model.flows), "none"),
        ("the JSON keeps the Trace Event Format's rules", not json_errors, "; ".join(json_errors[:3])),
        ("the SVG renders to a non-empty PNG", png.startswith(b"\x89PNG") and len(png) > 1000,
         "%d bytes" % len(png)),
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iso", required=True)
    ap.add_argument("--symbols", required=True)
    ap.add_argument("--filter", required=True, help="test glob(s), as test=")
    ap.add_argument("--smp", default="4")
    ap.add_argument("--accel", default="tcg,thread=multi")
    ap.add_argument("--out-dir", default="build/trace")
    ap.add_argument("--window", help="FROM,TO microseconds for the SVG")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()

    name = re.sub(r"[^A-Za-z0-9_.+-]", "", args.filter.replace(",", "+").replace("*", "")).strip("_")
    out = os.path.join(args.out_dir, name or "trace")
    os.makedirs(args.out_dir, exist_ok=True)
    dump = out + ".bin"
    if os.path.exists(dump):
        os.remove(dump)                         # QEMU appends to nothing: a fresh file each boot
    boot = subprocess.run([sys.executable, os.path.join(HERE, "..", "tests", "runner.py"),
                           "--iso", args.iso, "--smp", args.smp, "--neg-smp", "",
                           "--filter", args.filter, "--cmdline", "trace=all",
                           "--accel", args.accel, "--log-dir", out + "-logs",
                           "--label", "traced", "--extra-qemu-args", "-debugcon file:" + dump])
    if not os.path.exists(dump):
        print("not ok: no trace dump at %s (the boot wrote none)" % dump)
        print("0 passed, 1 failed")
        return 1
    tool_args = [dump, "--out", out, "--symbols", args.symbols]
    if args.window:
        tool_args += ["--window", args.window]
    trace_tool.main(tool_args)
    if not args.check:
        return boot.returncode
    results = checks(trace_tool.load(dump, args.symbols), out)
    results.insert(0, ("the traced boot's tests pass", boot.returncode == 0,
                       "runner exit status %d" % boot.returncode))
    failed = 0
    for n, (what, good, detail) in enumerate(results, 1):
        print("%s %d trace: %s%s" % ("ok" if good else "not ok", n, what,
                                     "" if good else "  # " + detail))
        failed += not good
    print("trace: %d passed, %d failed" % (len(results) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
