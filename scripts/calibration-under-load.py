#!/usr/bin/env python3
"""Timer calibration under host load (docs/smp.md, "Timer calibration").

Boots the kernel a few times on an idle host (the reference: the median of
those boots) and then N times (default 20) while one busy loop per host core
keeps every core loaded, reads the TSC and local APIC timer rates from each
boot's "timers:" line, and checks that every loaded boot is within 2 % of the
reference. Prints one table row per boot; exits 1 on any outlier or boot
without a "timers:" line, 2 on usage errors. The busy loops are always
stopped, also on Ctrl-C. Python 3 standard library only; the boots go through
tests/runner.py (same QEMU command line as the tests).

    scripts/calibration-under-load.py [--iso build/checked/kernel.iso] [-n 20]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import runner  # noqa: E402  (tests/runner.py: the QEMU command line and boot)

TIMERS_RE = re.compile(r"timers: TSC (\d+) kHz \(([^)]*)\), local APIC timer (\d+) kHz \(([^)]*)\)")
# One short test, so that the kernel exits by itself right after the boot line.
QUICK_TEST = "clock_interrupt_time_and_tick_count_advance_together"
BUSY_LOOP = "while True: pass"


def boot_once(args, log):
    out = runner.run_boot(args, runner.Boot(args.smp, QUICK_TEST, log))
    with open(log, errors="replace") as f:
        m = TIMERS_RE.search(f.read())
    if m is None:
        return None, runner.describe(out, args.timeout)
    return (int(m.group(1)), m.group(2), int(m.group(3)), m.group(4), out.seconds), ""


def start_load(n):
    return [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(n)]


def stop_load(procs):
    for p in procs:
        p.kill()
    for p in procs:
        p.wait()


def deviation(value, reference):
    return 100.0 * (value - reference) / reference


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iso", default="build/checked/kernel.iso")
    ap.add_argument("-n", "--boots", type=int, default=20, help="loaded boots (default 20)")
    ap.add_argument("--reference-boots", type=int, default=3, help="unloaded boots (default 3)")
    ap.add_argument("--smp", type=int, default=2, help="vCPUs per boot (default 2)")
    ap.add_argument("--load", type=int, default=os.cpu_count() or 1,
                    help="busy loops while loaded (default: one per host core)")
    ap.add_argument("--tolerance", type=float, default=2.0, help="allowed deviation in %% (default 2)")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per boot (default 60)")
    args = ap.parse_args(argv)
    if not os.path.exists(args.iso) or args.boots < 1 or args.reference_boots < 1:
        print(f"error: need an ISO ({args.iso}) and at least one boot of each kind", file=sys.stderr)
        return 2
    args.qemu, args.accel, args.cmdline, args.extra_qemu_args = (
        "qemu-system-x86_64", "tcg,thread=multi", "", "")
    args.iso = os.path.abspath(args.iso)

    rows, bad = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        plan = [("idle", i) for i in range(args.reference_boots)] + \
               [("loaded", i) for i in range(args.boots)]
        load = []
        try:
            for kind, i in plan:
                if kind == "loaded" and not load:
                    load = start_load(args.load)
                result, why = boot_once(args, os.path.join(tmp, f"{kind}{i}.log"))
                if result is None:
                    print(f"{kind} boot {i}: no timers line ({why})")
                    bad += 1
                else:
                    rows.append((kind, i) + result)
        finally:
            stop_load(load)

    idle = [r for r in rows if r[0] == "idle"]
    if not idle:
        print("no reference boot gave a timers line")
        return 1
    tsc_ref = statistics.median(r[2] for r in idle)
    apic_ref = statistics.median(r[4] for r in idle)
    print(f"reference (median of {len(idle)} idle boots): TSC {tsc_ref:.0f} kHz, "
          f"APIC timer {apic_ref:.0f} kHz; loaded with {args.load} busy loops, "
          f"tolerance {args.tolerance}%")
    print(f"{'boot':<10} {'TSC kHz':>10} {'dev %':>7}  {'APIC kHz':>9} {'dev %':>7}  "
          f"{'secs':>5}  TSC source / APIC source")
    for kind, i, tsc, tsc_how, apic, apic_how, secs in rows:
        dt, da = deviation(tsc, tsc_ref), deviation(apic, apic_ref)
        outlier = kind == "loaded" and max(abs(dt), abs(da)) > args.tolerance
        bad += outlier
        print(f"{kind + ' ' + str(i):<10} {tsc:>10} {dt:>+7.3f}  {apic:>9} {da:>+7.3f}  "
              f"{secs:>5.1f}  {tsc_how} / {apic_how}{'  OUTLIER' if outlier else ''}")
    loaded = [r for r in rows if r[0] == "loaded"]
    worst = max((max(abs(deviation(r[2], tsc_ref)), abs(deviation(r[4], apic_ref)))
                 for r in loaded), default=0.0)
    print(f"{len(loaded)} loaded boots, worst deviation {worst:.3f}%, {bad} bad")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
