#!/usr/bin/env python3
"""make soak: the concurrency tests over and over with race points on, a fresh
seed each boot, the RACE=1 checked and free kernels in turn, for a while
(docs/testing.md, "Soak").

Each boot runs tests/runner.py on one kernel at --smp vCPUs with
`race=SEED`; one line per boot (iteration, build, seed, result, seconds,
race points reached), then a summary: iterations, the seeds, and every
violation (a failed test, a bug check, a timeout) with its log and the
command that replays it.  Exit status: 0 none, 1 any violation, 2 usage.
Python 3 standard library only.
"""
import argparse
import glob
import os
import random
import re
import subprocess
import sys
import time

from mutants import TEST_PATTERN_MAX, first_failure

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ISO = {"checked": "build/checked-race/kernel.iso", "free": "build/free-race/kernel.iso"}
MAKE_FLAGS = {"checked": "RACE=1", "free": "RACE=1 CHECKED=0"}
# The tests where CPUs meet: every stress and mixed-IRQL test, the tries
# against another CPU, reader/writer and queued-lock fairness, the DPC paths
# that cross CPUs, interrupt spin locks and IPIs, threads, waits, timers, APCs,
# fast and guarded mutexes.
# Short globs: the kernel refuses a test= word longer than TEST_PATTERN_MAX.
TESTS = ("*stress*,*mixed*,*try_*,*_rw_*,*queued_*,*exinterl*,dpc_g*,dpc_f*,dpc_remo*,dpc_t*,"
         "dpc_at_*,intspin*,*ipi*,irql_so*,thread_*,wait_*,timer_*,apc_*,fast_*,guarded_*")
DURATION_RE = re.compile(r"^(\d+(?:\.\d+)?)([smh]?)$")
REACHED_RE = re.compile(r"^# race: seed \d+, (\d+) of (\d+) points reached", re.M)


def parse_duration(text: str) -> float:
    m = DURATION_RE.match(text.strip())
    if not m or float(m.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"DURATION wants e.g. 90s, 10m or 1h, got {text!r}")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def boot(kind: str, seed: int, args, log_dir: str):
    """One runner boot; returns (passed, what failed, serial log, race points summary)."""
    cmd = [sys.executable, "tests/runner.py", "--iso", ISO[kind], "--smp", str(args.smp),
           "--neg-smp", "", "--filter", args.tests, "--timeout", str(args.timeout),
           "--accel", args.accel, "--cmdline", f"race={seed} {args.options}".strip(),
           "--log-dir", log_dir, "--label", kind]
    p = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL)
    out = p.stdout.decode("utf-8", "replace")
    with open(os.path.join(log_dir, "runner.txt"), "w", encoding="utf-8") as f:
        f.write(out)
    serial = (glob.glob(os.path.join(log_dir, "smp*.log")) or [""])[0]
    text = open(serial, encoding="utf-8", errors="replace").read() if serial else ""
    reached = REACHED_RE.search(text)
    points = f"{reached.group(1)}/{reached.group(2)} points" if reached else "no race summary"
    if p.returncode == 0 and "race: points on" not in text:
        return False, "race points were not on (not a RACE=1 kernel?)", serial, points
    return p.returncode == 0, "" if p.returncode == 0 else first_failure(out), serial, points


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Boot the RACE=1 kernels in turn with fresh race "
                                 "seeds, running the concurrency tests, for a while.")
    ap.add_argument("--duration", type=parse_duration, default="10m",
                    help="how long to keep booting: N, Ns, Nm or Nh (default 10m)")
    ap.add_argument("--smp", type=int, default=8, help="vCPUs per boot (default 8)")
    ap.add_argument("--tests", default=TESTS, help="kernel test= globs, comma-separated")
    ap.add_argument("--options", default="", help="more kernel options for every boot")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per boot (default 120)")
    ap.add_argument("--accel", default="tcg,thread=multi", help="QEMU -accel value")
    ap.add_argument("--out", default="build/soak", help="logs, one directory per boot")
    args = ap.parse_args(argv)
    if args.smp < 1 or args.timeout <= 0:
        ap.error("--smp wants >= 1 and --timeout > 0")
    if len(args.tests) > TEST_PATTERN_MAX:
        ap.error(f"--tests is longer than the {TEST_PATTERN_MAX} characters the kernel accepts "
                 "for test=: it would refuse the option and run no test")
    for kind, iso in ISO.items():
        if not os.path.isfile(os.path.join(ROOT, iso)):
            print(f"error: {iso} not found: make {MAKE_FLAGS[kind]}", file=sys.stderr)
            return 2
    out = os.path.join(ROOT, args.out, time.strftime("%Y%m%d-%H%M%S"))
    rng = random.SystemRandom()
    print(f"soak: {args.duration:.0f} s at {args.smp} vCPUs, tests {args.tests}")
    print(f"{'boot':>4}  {'build':7}  {'seed':>20}  {'result':6}  {'seconds':>7}  race")
    start, seeds, violations, n = time.monotonic(), [], [], 0
    while time.monotonic() - start < args.duration:
        kind = ("checked", "free")[n % 2]
        n += 1
        seed = rng.randrange(1, 1 << 63)
        seeds.append(seed)
        log_dir = os.path.join(out, f"{n:04d}-{kind}-{seed}")
        os.makedirs(log_dir)
        t = time.monotonic()
        ok, why, serial, points = boot(kind, seed, args, log_dir)
        print(f"{n:4d}  {kind:7}  {seed:20d}  {'ok' if ok else 'FAILED':6}  "
              f"{time.monotonic() - t:7.1f}  {points}" + ("" if ok else f"  {why}"))
        sys.stdout.flush()
        if not ok:
            violations.append((kind, seed, why, serial or log_dir))
    print(f"\nsoak: {n} boots in {time.monotonic() - start:.0f} s "
          f"({(n + 1) // 2} checked, {n // 2} free), {len(violations)} violations; logs in "
          f"{os.path.relpath(out, ROOT)}")
    print("seeds: " + " ".join(map(str, seeds)))
    for kind, seed, why, log in violations:
        print(f"VIOLATION {kind} seed {seed}: {why}\n  log: {os.path.relpath(log, ROOT)}\n"
              f"  replay: make run {MAKE_FLAGS[kind]} SMP={args.smp} "
              f"ARGS=\"race={seed} test={args.tests}{' ' + args.options if args.options else ''}\"")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
