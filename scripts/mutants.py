#!/usr/bin/env python3
"""make mutants: break the kernel on purpose, one catalogued bug at a time,
and check that the in-kernel tests notice (docs/testing.md, "Mutants").

The catalog is tests/mutants/<NN>-<name>.patch: header lines (ignored by patch),

    Mutant:  short-name              Build: free | checked | both
    What:    the bug, in one line    Tests: kernel test= globs, comma-separated
    SMP:     vCPU counts, e.g. 2 4 8 Options: extra boot options (optional)
    Group:   ci (optional)           Timeout: seconds per boot (optional, default 45)

then a unified diff for `patch -p1`.  The work tree as it is (git ls-files,
uncommitted edits included) is copied once to build/mutants/src, where the
RACE=1 checked and free kernels are built once; each mutant is then applied,
its build(s) rebuilt incrementally, its tests booted with race=SEED at each
vCPU count in turn until one boot fails (killed), and the patch reverted.
A mutant no boot catches SURVIVED.  Exit status: 0 every mutant killed, 1 any
survived or could not be applied/built, 2 usage.
Python 3 standard library only.
"""
import argparse
import fnmatch
import os
import random
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CATALOG = os.path.join(ROOT, "tests", "mutants")
WORK = os.path.join(ROOT, "build", "mutants")
SRC = os.path.join(WORK, "src")
BUILDS = {"checked": ("RACE=1",), "free": ("RACE=1", "CHECKED=0")}
ISO = {"checked": "build/checked-race/kernel.iso", "free": "build/free-race/kernel.iso"}
TEST_PATTERN_MAX = 250      # a longer test= word is refused by the kernel (kernel/options.c)
HEADER_RE = re.compile(r"^([A-Z][A-Za-z]*):\s*(.*?)\s*$")
NOT_OK_RE = re.compile(r"^not ok \d+ smp=\d+ (\S+)(?: # (.*))?$")


@dataclass
class Mutant:
    path: str
    name: str = ""
    what: str = ""
    builds: List[str] = field(default_factory=list)
    tests: str = ""
    smp: List[int] = field(default_factory=list)
    options: str = ""
    groups: List[str] = field(default_factory=list)
    timeout: float = 45.0       # per boot: a mutant that hangs is killed by the timeout


@dataclass
class Result:
    mutant: Mutant
    verdict: str                # killed, SURVIVED, ERROR
    by: str = ""                # the first failing test, a STOP or the error
    smp: str = ""
    seconds: float = 0.0
    log: str = ""


def parse_mutant(path: str) -> Mutant:
    """The header lines before the diff; Options, Group and Timeout are optional."""
    m = Mutant(path)
    fields = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith(("--- ", "diff ", "Index: ")):
                break
            h = HEADER_RE.match(line)
            if h:
                fields[h.group(1)] = h.group(2)
    m.name = fields.get("Mutant", "")
    m.what = fields.get("What", "")
    build = fields.get("Build", "")
    m.builds = ["checked", "free"] if build == "both" else [build]
    m.tests = fields.get("Tests", "").replace(" ", "")
    m.options = fields.get("Options", "")
    m.groups = fields.get("Group", "").split()
    try:
        m.smp = [int(x) for x in fields.get("SMP", "").split()]
        m.timeout = float(fields.get("Timeout", m.timeout))
    except ValueError:
        m.smp = []
    missing = [k for k, ok in (("Mutant", m.name), ("What", m.what),
                               ("Tests", m.tests and len(m.tests) <= TEST_PATTERN_MAX),
                               ("SMP", m.smp), ("Build", build in ("free", "checked", "both")))
               if not ok]
    if missing:
        raise ValueError(f"{os.path.relpath(path, ROOT)}: missing or bad header(s): "
                         + ", ".join(missing))
    return m


def load_catalog(pattern: str, group: str) -> List[Mutant]:
    paths = sorted(p for p in os.listdir(CATALOG) if p.endswith(".patch"))
    mutants = [parse_mutant(os.path.join(CATALOG, p)) for p in paths]
    names = [m.name for m in mutants]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ValueError("mutant names used twice: " + ", ".join(sorted(dup)))
    return [m for m in mutants
            if any(fnmatch.fnmatchcase(m.name, g)       # by name, or by file: '6?-*'
                   or fnmatch.fnmatchcase(os.path.basename(m.path)[:-len(".patch")], g)
                   for g in pattern.split(","))
            and (not group or group in m.groups)]


def run(cmd: List[str], cwd: str, log: Optional[str] = None,
        timeout: Optional[float] = None) -> Tuple[int, str]:
    """Run cmd; return its status and its output (also written to log)."""
    try:
        p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, timeout=timeout)
        status, out = p.returncode, p.stdout.decode("utf-8", "replace")
    except subprocess.TimeoutExpired as e:
        status, out = -1, (e.stdout or b"").decode("utf-8", "replace") + "\n(cap reached)\n"
    if log:
        with open(log, "w", encoding="utf-8") as f:
            f.write(out)
    return status, out


def copy_tree() -> None:
    """The work tree as it is: every tracked or new, not ignored file."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=ROOT, check=True, stdout=subprocess.PIPE).stdout.decode().split("\0")
    shutil.rmtree(SRC, ignore_errors=True)
    for rel in filter(None, files):
        src = os.path.join(ROOT, rel)
        if not os.path.isfile(src):             # deleted in the work tree
            continue
        dst = os.path.join(SRC, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(src, dst)


def build(kind: str, log: str) -> Tuple[bool, str]:
    status, out = run(["make", "-s", *BUILDS[kind]], SRC, log)
    return status == 0, out


def first_failure(output: str) -> str:
    """The first failing test's name, or the boot's own failure (a STOP, a timeout)."""
    boot = ""
    for line in output.splitlines():
        m = NOT_OK_RE.match(line)
        if not m:
            continue
        name, why = m.group(1), m.group(2) or ""
        if name.startswith("unreported_test_"):
            continue
        if name.startswith("boot:"):
            boot = boot or why
            continue
        return name + (f" ({why})" if why else "")
    stop = re.search(r"STOP (0x[0-9A-F]{8}) (\S+)", boot)
    if stop:
        return f"STOP {stop.group(1)} {stop.group(2)}"
    return boot or "failed (see log)"


def try_mutant(m: Mutant, seed: int, budget: float, logs: str) -> Result:
    start = time.monotonic()
    os.makedirs(logs, exist_ok=True)
    res = Result(m, "ERROR")
    patch = ["patch", "-p1", "--batch", "--forward", "--silent", "-i", m.path]
    status, out = run(patch + ["--dry-run"], SRC)
    if status != 0:
        res.by = "patch does not apply: " + " ".join(out.split())[:100]
        return res
    run(patch, SRC)
    try:
        for kind in m.builds:
            ok, out = build(kind, os.path.join(logs, f"build-{kind}.log"))
            if not ok:
                res.by = f"{kind} build failed: see {os.path.relpath(logs, ROOT)}/build-{kind}.log"
                return res
        res.verdict = "SURVIVED"
        for kind in m.builds:
            for smp in m.smp:
                left = budget - (time.monotonic() - start)
                if left < 5:
                    res.by = res.by or "budget spent"
                    break
                log = os.path.join(logs, f"{kind}-smp{smp}.log")
                status, out = run(
                    [sys.executable, "tests/runner.py", "--iso", ISO[kind], "--smp", str(smp),
                     "--neg-smp", "", "--filter", m.tests,
                     "--timeout", f"{min(left, m.timeout):.0f}",
                     "--cmdline", f"race={seed} {m.options}".strip(),
                     "--log-dir", os.path.join(logs, f"{kind}-smp{smp}"), "--label", kind],
                    SRC, log, timeout=left + 15)
                if status != 0:
                    res.verdict, res.smp, res.log = "killed", f"{kind} {smp}", log
                    res.by = first_failure(out) if status > 0 else "timeout (cap reached)"
                    return res
        return res
    finally:
        run(["patch", "-p1", "-R", "--batch", "--silent", "-i", m.path], SRC)
        res.seconds = time.monotonic() - start


def check_apply(mutants) -> int:
    """Dry-run every patch on the work tree: a code change that leaves a
    mutant stale is found in make test-host, not the next make mutants."""
    stale = 0
    for m in mutants:
        status, out = run(["patch", "-p1", "--batch", "--forward", "--dry-run", "--silent",
                           "-i", m.path], ROOT)
        if status != 0:
            stale += 1
            print(f"mutants: {m.name} no longer applies: {' '.join(out.split())[:120]}")
    print(f"mutants: {len(mutants) - stale} of {len(mutants)} apply to the work tree")
    return 1 if stale else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Apply each catalogued mutant, run its tests, "
                                 "and report which ones the tests kill.")
    ap.add_argument("--mutants", default="*", help="glob(s) of mutant names, comma-separated")
    ap.add_argument("--group", default="", help="only mutants with this Group: (e.g. ci)")
    ap.add_argument("--seed", default="", help="race= base seed (default: random, printed)")
    ap.add_argument("--budget", type=float, default=120.0, help="seconds per mutant (default 120)")
    ap.add_argument("--list", action="store_true", help="list the catalog and exit")
    ap.add_argument("--check-apply", action="store_true",
                    help="only check that every selected mutant applies to the work tree")
    args = ap.parse_args(argv)
    try:
        mutants = load_catalog(args.mutants or "*", args.group)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.list:
        for m in mutants:
            print(f"{m.name:50} {'+'.join(m.builds):14} smp {' '.join(map(str, m.smp)):8} "
                  f"{' '.join(m.groups):4} {m.what}")
        return 0
    if not mutants:
        print("error: no mutant matches", file=sys.stderr)
        return 2
    if args.check_apply:
        return check_apply(mutants)
    try:
        seed = int(args.seed, 0) if args.seed else random.randrange(1, 1 << 32)
    except ValueError:
        print(f"error: SEED={args.seed!r} is not a number", file=sys.stderr)
        return 2
    print(f"mutants: {len(mutants)}, race seed {seed} (replay: make mutants SEED={seed})")
    print(f"copying the work tree to {os.path.relpath(SRC, ROOT)} and building the RACE=1 kernels")
    copy_tree()
    for kind in BUILDS:
        ok, out = build(kind, os.path.join(WORK, f"build-{kind}.log"))
        if not ok:
            print(out[-3000:])
            print(f"error: the unmutated {kind} RACE=1 build failed")
            return 1
    results = []
    for m in mutants:
        r = try_mutant(m, seed, args.budget, os.path.join(WORK, "logs", m.name))
        results.append(r)
        print(f"  {m.name:50} {r.verdict:8} {r.seconds:5.0f} s  {r.by}"
              + (f" ({r.smp} vCPUs)" if r.smp else ""))
        sys.stdout.flush()
    print()
    print(f"{'mutant':50} {'result':8} {'build smp':10} {'seconds':>7}  by")
    for r in results:
        print(f"{r.mutant.name:50} {r.verdict:8} {r.smp:10} {r.seconds:7.0f}  {r.by}")
    survived = [r for r in results if r.verdict != "killed"]
    total = sum(r.seconds for r in results)
    print(f"{len(results) - len(survived)} killed, "
          f"{sum(r.verdict == 'SURVIVED' for r in results)} survived, "
          f"{sum(r.verdict == 'ERROR' for r in results)} errors in {total:.0f} s; seed {seed}")
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
