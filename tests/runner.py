#!/usr/bin/env python3
"""Host-side test runner for the kernel's in-kernel KTAP tests.

Purpose: boot the kernel ISO in QEMU once per SMP count ("normal boots",
kernel command line `test=<glob>`), parse the KTAP version 1 stream the kernel
prints on the serial port, and judge the boot by QEMU's exit status (the kernel
writes v to isa-debug-exit port 0xf4, QEMU exits with (v << 1) | 1: 33 passed,
35 failed, 37 bug check, anything else a crash). Negative tests (tests that
must bug check) are only listed by a normal boot (`# negative <name> STOP
0x%08X`); each is then booted on its own with `test=<name>`, announces
`# EXPECT STOP 0x.. P1=.. P2=.. P3=.. P4=..` (`*` = any) and must end in a
matching `*** STOP:` screen with exit 37; a negative test may also announce
`# EXPECT LINE <text>` lines: after the STOP line, log lines must match them
in the order given, each a later line than the one before (<text> is a
prefix of the line in which `*` stands for any characters: a nested bug
check's report, backtrace frames in order).  Boots run in parallel (--jobs), but
results are printed in a fixed order as one renumbered KTAP stream, followed by
a trailing plan and a last line `N passed, N failed[, N skipped]`.
Exit status: 0 all good, 1 any failure/crash/timeout/missing result, 2 usage.
Python 3.9+ standard library only; see tests/test_runner_selftest.py.
"""
import argparse
import fnmatch
import hashlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

EXIT_PASS, EXIT_FAIL, EXIT_BUGCHECK = 33, 35, 37
FWCFG_NAME = "opt/ntsync/cmdline"
MAKE_HINT = "build it first: `make` (checked, build/checked/kernel.iso) or `make CHECKED=0` (free)"
QEMU_PACKAGE = "qemu-system-x86"
NEG_TAIL, CRASH_TAIL = 30, 40

ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>78c]")
CPU_PREFIX_RE = re.compile(r"^\[cpu\d+\] ")
HEADER_RE = re.compile(r"^KTAP version 1\s*$")
PLAN_RE = re.compile(r"^1\.\.(\d+)\s*$")
RESULT_RE = re.compile(r"^(ok|not ok) (\d+)(?:\s+(?:- )?([^#]*?))?\s*(?:#\s*(.*?))?\s*$")
DIAG_RE = re.compile(r"^\s*#\s?(.*)$")
NEGATIVE_RE = re.compile(r"^# negative (\S+) STOP 0x([0-9A-Fa-f]+)\s*$")
EXPECT_RE = re.compile(r"^# EXPECT STOP 0x([0-9A-Fa-f]+)(.*)$")
EXPECT_LINE_RE = re.compile(r"^# EXPECT LINE (.+?)\s*$")
PARAM_RE = re.compile(r"^P([1-4])=(\*|0x[0-9A-Fa-f]+)$")
STOP_RE = re.compile(r"^\*\*\* STOP: 0x([0-9A-Fa-f]+) \(" + r",\s*".join(["0x([0-9A-Fa-f]+)"] * 4) + r"\)")
STOP_NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]+$")


@dataclass
class Entry:                         # a kernel result line, or one the runner makes up
    ok: bool
    name: str
    directive: str = ""
    diag: List[str] = field(default_factory=list)
    num: int = 0                     # the kernel's own number (kernel results only)

    @property
    def skipped(self) -> bool:
        return self.directive.upper().startswith("SKIP")


@dataclass
class Stop:
    code: int
    params: List[int]
    name: str
    index: int                       # line index of the `*** STOP:` line


@dataclass
class Parsed:
    lines: List[str] = field(default_factory=list)      # log lines, for display
    header: bool = False
    plan: Optional[int] = None
    results: List[Entry] = field(default_factory=list)
    negatives: List[Tuple[str, int]] = field(default_factory=list)
    expect: Optional[Tuple[int, List[Optional[int]]]] = None
    expect_error: str = ""
    stop: Optional[Stop] = None
    stop_screens: int = 0                                # '*** STOP' lines seen
    expect_lines: List[str] = field(default_factory=list)  # '# EXPECT LINE' texts


def parse_log(text: str) -> Parsed:
    """Parse a serial log; tolerates `[cpuN] ` prefixes, ANSI codes and noise."""
    p = Parsed()
    p.lines = [ANSI_RE.sub("", l).replace("\r", "") for l in text.split("\n")]
    while p.lines and not p.lines[-1].strip():
        p.lines.pop()
    stripped = [CPU_PREFIX_RE.sub("", l, count=1) for l in p.lines]
    pending: List[str] = []
    for i, line in enumerate(stripped):
        if HEADER_RE.match(line):
            p.header = True
        elif PLAN_RE.match(line):
            if p.plan is None:
                p.plan = int(PLAN_RE.match(line).group(1))
        elif RESULT_RE.match(line):
            m = RESULT_RE.match(line)
            p.results.append(Entry(m.group(1) == "ok", (m.group(3) or "").strip() or "(unnamed)",
                                   m.group(4) or "", pending, int(m.group(2))))
            pending = []
        elif NEGATIVE_RE.match(line):
            m = NEGATIVE_RE.match(line)
            if m.group(1) not in [n for n, _ in p.negatives]:
                p.negatives.append((m.group(1), int(m.group(2), 16)))
        elif EXPECT_RE.match(line) and p.expect is None:
            m = EXPECT_RE.match(line)
            params: List[Optional[int]] = [None] * 4
            seen = set()
            for tok in m.group(2).split():
                pm = PARAM_RE.match(tok)
                if not pm:
                    p.expect_error = f"malformed EXPECT line: {line.strip()!r}"
                    continue
                seen.add(pm.group(1))
                params[int(pm.group(1)) - 1] = None if pm.group(2) == "*" else int(pm.group(2), 16)
            if len(seen) != 4 and not p.expect_error:
                p.expect_error = f"EXPECT line lacks some of P1..P4: {line.strip()!r}"
            p.expect = (int(m.group(1), 16), params)
        elif EXPECT_LINE_RE.match(line):
            p.expect_lines.append(EXPECT_LINE_RE.match(line).group(1))
        elif STOP_RE.match(line) and p.stop is not None:
            p.stop_screens += 1
        elif STOP_RE.match(line):
            p.stop_screens += 1
            m = STOP_RE.match(line)
            name = next((s.strip() for s in stripped[i + 1:i + 4] if STOP_NAME_RE.match(s.strip())), "?")
            p.stop = Stop(int(m.group(1), 16), [int(g, 16) for g in m.groups()[1:]], name, i)
        elif DIAG_RE.match(line):
            pending.append(DIAG_RE.match(line).group(1))
    return p


@dataclass
class Boot:
    smp: int
    test: str
    log: str
    negative: bool = False
    listed_code: Optional[int] = None    # code from the `# negative` listing


@dataclass
class Outcome:
    status: Optional[int] = None         # QEMU exit status (None: timeout/no start)
    timed_out: bool = False
    error: str = ""                      # QEMU could not be started
    stderr: str = ""
    seconds: float = 0.0
    parsed: Parsed = field(default_factory=Parsed)

    @property
    def finished(self) -> bool:          # the kernel reached the end of its run
        return self.status in (EXIT_PASS, EXIT_FAIL)


_running = set()                        # live QEMU processes, killed on Ctrl-C
_running_lock = threading.Lock()
_stopping = False


def qemu_argv(args, boot: Boot) -> List[str]:
    # expect_cpus lets the kernel check that every vCPU QEMU was given came online.
    cmdline = " ".join(x for x in (f"test={boot.test}", f"expect_cpus={boot.smp}", args.cmdline) if x)
    return [args.qemu, "-accel", args.accel, "-cpu", "max", "-smp", str(boot.smp),
            "-m", "256M", "-no-reboot", "-display", "none", "-monitor", "none",
            "-serial", "file:" + boot.log,
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            ] + (["-kernel", args.neg_kernel] if boot.negative and args.neg_kernel
                 else ["-cdrom", args.iso, "-boot", "d"]) + [
            "-fw_cfg", f"name={FWCFG_NAME},string=" + cmdline.replace(",", ",,"),
            ] + shlex.split(args.extra_qemu_args)


def run_boot(args, boot: Boot) -> Outcome:
    out = Outcome()
    if os.path.exists(boot.log):
        os.remove(boot.log)
    start = time.monotonic()
    try:
        proc = subprocess.Popen(qemu_argv(args, boot), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except OSError as e:
        out.error = str(e)
    else:
        with _running_lock:
            _running.add(proc)
            if _stopping:
                proc.kill()
        try:
            _, err = proc.communicate(timeout=args.timeout)
            out.status = proc.returncode
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
            out.timed_out = True
        with _running_lock:
            _running.discard(proc)
        out.stderr = err.decode("utf-8", "replace").strip()
    out.seconds = time.monotonic() - start
    try:
        with open(boot.log, "rb") as f:
            out.parsed = parse_log(f.read().decode("utf-8", "replace"))
    except OSError:
        pass
    return out


def describe(out: Outcome, timeout: float) -> str:
    if out.error:
        return f"QEMU could not be started: {out.error}"
    if out.timed_out:
        return f"timeout: killed after {timeout:g} s"
    s = out.status
    known = {EXIT_PASS: "no bug check: kernel exited with 'tests passed' (33)",
             EXIT_FAIL: "no bug check: kernel exited with 'tests failed' (35)",
             EXIT_BUGCHECK: "bug check (exit 37)",
             0: "crash: QEMU exit 0 (triple fault or reset under -no-reboot?)"}
    if s in known:
        return known[s]
    return f"crash: QEMU killed by signal {-s}" if s < 0 else f"crash: QEMU exit status {s}"


def stop_text(stop: Stop) -> str:
    return f"STOP 0x{stop.code:08X} {stop.name}"


def log_excerpt(out: Outcome, n: int, from_stop: bool = False) -> List[str]:
    lines = out.parsed.lines
    if from_stop and out.parsed.stop:
        start = max(0, out.parsed.stop.index - 5)
        shown = lines[start:out.parsed.stop.index + n]
        head = "STOP screen (with up to 5 lines before it):"
    else:
        shown, head = lines[-n:], f"last {min(n, len(lines))} log lines:"
    res = ([head] + ["  " + l for l in shown]) if shown else ["(serial log is empty)"]
    if out.stderr:
        res += ["QEMU stderr:"] + ["  " + l for l in out.stderr.splitlines()[-10:]]
    return res


def fmt_params(params: List[Optional[int]]) -> str:
    return " ".join(f"P{i + 1}=" + ("*" if v is None else f"0x{v:016X}") for i, v in enumerate(params))


def line_matches(line: str, expected: str) -> bool:
    """An EXPECT LINE text is a prefix of the line, in which '*' stands for
    any run of characters ('#0 *chain_c+' matches '#0 0x...10 chain_c+0x1a')."""
    return fnmatch.fnmatchcase(line, expected.replace("[", "[[]") + "*")


def judge_negative(boot: Boot, out: Outcome, timeout: float) -> List[Entry]:
    p, problems = out.parsed, []
    if out.status != EXIT_BUGCHECK:
        problems.append(describe(out, timeout) + "; expected a bug check (exit 37)")
    if p.expect is None:
        problems.append("no '# EXPECT STOP' line in the log")
    elif p.expect_error:
        problems.append(p.expect_error)
    if p.stop is None and (out.status == EXIT_BUGCHECK or p.expect is not None):
        problems.append("no '*** STOP:' line in the log")
    if p.expect is not None:
        code, params = p.expect
        if boot.listed_code is not None and boot.listed_code != code:
            problems.append(f"listed as STOP 0x{boot.listed_code:08X} but EXPECT says 0x{code:08X}")
        if p.stop is not None:
            if p.stop.code != code:
                problems.append(f"wrong STOP code: expected 0x{code:08X}, got 0x{p.stop.code:08X} ({p.stop.name})")
            for i, (want, got) in enumerate(zip(params, p.stop.params)):
                if want is not None and want != got:
                    problems.append(f"wrong P{i + 1}: expected 0x{want:016X}, got 0x{got:016X}")
    if p.stop_screens > 1:
        problems.append(f"{p.stop_screens} STOP screens: one CPU's bug check must freeze the others")
    after_stop = [CPU_PREFIX_RE.sub("", l, count=1) for l in p.lines[p.stop.index + 1:]] if p.stop else []
    at = 0
    for text in p.expect_lines:
        found = next((i for i in range(at, len(after_stop)) if line_matches(after_stop[i], text)), None)
        if found is None:
            problems.append(f"no line matching {text!r} after the STOP line"
                            + (" and the lines expected before it" if at else ""))
            break
        at = found + 1
    if not problems:
        return [Entry(True, boot.test, stop_text(p.stop))]
    diag = problems[1:]
    if p.expect is not None:
        diag.append(f"expected: STOP 0x{p.expect[0]:08X} {fmt_params(p.expect[1])}")
    if p.stop is not None:
        diag.append(f"got:      STOP 0x{p.stop.code:08X} {fmt_params(p.stop.params)} {p.stop.name}")
    return [Entry(False, boot.test, problems[0], diag + log_excerpt(out, NEG_TAIL))]


def judge_normal(boot: Boot, out: Outcome, timeout: float) -> List[Entry]:
    p, problems = out.parsed, []
    if p.expect is not None:             # test= named a negative test exactly
        return judge_negative(boot, out, timeout)
    entries = [Entry(r.ok, r.name, r.directive, [] if r.ok else r.diag) for r in p.results]
    if not p.header:
        problems.append("no 'KTAP version 1' line")
    if p.plan is None:
        problems.append("no plan line '1..N'")
    nums = [r.num for r in p.results]
    if nums != list(range(1, len(nums) + 1)):
        problems.append(f"results are not numbered 1..{len(nums)}: {nums[:20]}")
    failed = sum(1 for r in p.results if not r.ok and not r.skipped)
    if out.finished:
        if p.plan is not None and len(p.results) != p.plan:
            problems.append(f"plan says {p.plan} tests but {len(p.results)} results were printed")
        if out.status == EXIT_PASS and failed:
            problems.append(f"exit 33 (passed) but {failed} test(s) not ok: inconsistent")
        if out.status == EXIT_FAIL and not failed:
            problems.append("exit 35 (failed) but every result is ok: inconsistent")
    else:
        why = "timeout" if out.timed_out else "crashed"
        for i in range(len(p.results) + 1, (p.plan or 0) + 1):
            entries.append(Entry(False, f"unreported_test_{i}", why))
        if p.plan is not None and len(p.results) > p.plan:
            problems.append(f"plan says {p.plan} tests but {len(p.results)} results were printed")
        short = describe(out, timeout)
        if out.status == EXIT_BUGCHECK and p.stop:
            short = "unexpected bug check " + stop_text(p.stop)
        elif out.status == EXIT_BUGCHECK:
            problems.insert(0, "no '*** STOP:' line in the log")
        problems.insert(0, short)
    if problems:
        entries.append(Entry(False, f"boot:test={boot.test}", problems[0],
                             problems[1:] + log_excerpt(out, CRASH_TAIL, from_stop=True)))
    return entries


class Report:
    """Prints boot blocks as one renumbered KTAP stream and keeps the totals."""

    def __init__(self, label: str):
        self.n = self.passed = self.failed = self.skipped = 0
        print("KTAP version 1")
        if label:
            print(f"# label: {label}")

    def block(self, boot: Boot, out: Outcome, entries: List[Entry]) -> None:
        kind = "negative " if boot.negative else ""
        print(f"# {kind}boot smp={boot.smp} test={boot.test} ({out.seconds:.1f} s)")
        for e in entries:
            self.n += 1
            line = f"{'ok' if e.ok else 'not ok'} {self.n} smp={boot.smp} {e.name}"
            print(line + (f" # {e.directive}" if e.directive else ""))
            for d in e.diag:
                print(f"    # {d}".rstrip())
            if e.skipped:
                self.skipped += 1
            elif e.ok:
                self.passed += 1
            else:
                self.failed += 1
        if any(not e.ok and not e.skipped for e in entries):
            print(f"# log: {boot.log}")
        sys.stdout.flush()

    def finish(self) -> int:
        print(f"1..{self.n}")
        if self.n == 0:
            print("# warning: no test was run (filter matched nothing?)")
        tail = f", {self.skipped} skipped" if self.skipped else ""
        print(f"{self.passed} passed, {self.failed} failed{tail}")
        return 0 if self.failed == 0 else 1


def log_path(args, smp: int, test: str, used: set) -> str:
    base = f"smp{smp}-" + re.sub(r"[^A-Za-z0-9_.+-]", "_", test)
    if len(base) > 120:                  # a long glob list: file names stop at 255 bytes
        base = base[:110] + "-" + hashlib.sha1(test.encode()).hexdigest()[:8]
    name, k = base, 2
    while name in used:                  # e.g. two globs that sanitise alike
        name, k = f"{base}-{k}", k + 1
    used.add(name)
    return os.path.join(args.log_dir, name + ".log")


def run(args) -> int:
    used: set = set()
    normal = [Boot(s, args.filter, log_path(args, s, args.filter, used)) for s in args.smp]
    if args.list:
        out = run_boot(args, normal[0])
        for r in out.parsed.results:
            print(r.name)
        for name, code in out.parsed.negatives:
            print(f"{name} (negative, STOP 0x{code:08X})")
        if not out.finished:
            print(f"# listing incomplete: {describe(out, args.timeout)}; log: {normal[0].log}")
        return 0 if out.finished else 1
    report = Report(args.label)
    pool = ThreadPoolExecutor(max_workers=args.jobs)
    try:
        futures = [pool.submit(run_boot, args, b) for b in normal]
        negatives, neg_futures = None, []
        for boot, fut in zip(normal, futures):
            out = fut.result()
            report.block(boot, out, judge_normal(boot, out, args.timeout))
            if negatives is None and (out.finished or out.parsed.negatives):  # first listing
                negatives = [Boot(s, name, log_path(args, s, name, used), True, code)
                             for name, code in out.parsed.negatives for s in args.neg_smp]
                neg_futures = [pool.submit(run_boot, args, b) for b in negatives]
        if negatives is None and not all(f.result().parsed.expect for f in futures):
            print("# negative tests not run: no normal boot got as far as listing them")
        for boot, fut in zip(negatives or [], neg_futures):
            out = fut.result()
            report.block(boot, out, judge_negative(boot, out, args.timeout))
    except KeyboardInterrupt:
        stop_all(pool)
        raise
    pool.shutdown()
    return report.finish()


def stop_all(pool: ThreadPoolExecutor) -> None:
    global _stopping
    with _running_lock:
        _stopping = True
        for proc in _running:
            proc.kill()
    pool.shutdown(wait=False, cancel_futures=True)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def parse_counts(text: str, what: str, allow_empty: bool) -> List[int]:
    try:
        counts = [int(x) for x in text.replace(",", " ").split()]
    except ValueError:
        counts = [0]
    if any(c < 1 for c in counts) or (not counts and not allow_empty):
        raise argparse.ArgumentTypeError(f"{what} wants positive CPU counts like \"1 2 4\", got {text!r}")
    return counts


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Boot the kernel ISO in QEMU and run its KTAP tests.")
    ap.add_argument("--iso", required=True, help="kernel ISO, e.g. build/checked/kernel.iso")
    ap.add_argument("--smp", default="1 2", help="CPU counts for the normal boots (default \"1 2\")")
    ap.add_argument("--neg-smp", default="2", help="CPU counts for negative-test boots (default \"2\"; \"\" = none)")
    ap.add_argument("--jobs", type=int, default=2, help="parallel QEMU instances (default 2)")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per boot (default 120)")
    ap.add_argument("--filter", default="all", help="test glob passed as test=<glob> (default all)")
    ap.add_argument("--cmdline", default="", help="extra kernel command line after test=...")
    ap.add_argument("--neg-kernel", help="boot negative tests from this kernel ELF with QEMU's "
                    "Multiboot loader (-kernel) instead of the ISO: no firmware disk boot, no "
                    "GRUB, no framebuffer; a third of the time (the ISO's path is the normal boots')")
    ap.add_argument("--log-dir", help="where serial logs go (default: test-logs next to the ISO)")
    ap.add_argument("--label", default="", help="build label shown in the output, e.g. checked")
    ap.add_argument("--qemu", default="qemu-system-x86_64", help="QEMU binary")
    ap.add_argument("--accel", default="tcg,thread=multi", help="-accel value (default tcg,thread=multi; kvm allowed)")
    ap.add_argument("--extra-qemu-args", default="", help="more QEMU arguments (shell-quoted string)")
    ap.add_argument("--list", action="store_true", help="boot once and list the tests found")
    args = ap.parse_args(argv)
    try:
        args.smp = parse_counts(args.smp, "--smp", False)
        args.neg_smp = parse_counts(args.neg_smp, "--neg-smp", True)
        shlex.split(args.extra_qemu_args)
    except (argparse.ArgumentTypeError, ValueError) as e:
        ap.error(str(e))
    if args.jobs < 1 or args.timeout <= 0:
        ap.error("--jobs must be >= 1 and --timeout > 0")
    if not args.filter or any(c.isspace() for c in args.filter):
        ap.error("--filter must be a non-empty glob without whitespace")
    if not os.path.isfile(args.iso):
        print(f"error: ISO {args.iso} not found; {MAKE_HINT}", file=sys.stderr)
        return 2
    qemu = shutil.which(args.qemu)
    if qemu is None:
        print(f"error: QEMU binary {args.qemu!r} not found; install the Debian package "
              f"{QEMU_PACKAGE} (apt-get install {QEMU_PACKAGE}) or pass --qemu", file=sys.stderr)
        return 2
    if args.accel.split(",")[0] == "kvm" and not os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("error: --accel kvm needs read/write access to /dev/kvm", file=sys.stderr)
        return 2
    args.qemu, args.iso = qemu, os.path.abspath(args.iso)
    args.log_dir = os.path.abspath(args.log_dir or os.path.join(os.path.dirname(args.iso), "test-logs"))
    os.makedirs(args.log_dir, exist_ok=True)
    signal.signal(signal.SIGTERM, _interrupt)    # kill our QEMUs on SIGTERM too
    try:
        return run(args)
    except KeyboardInterrupt:
        print("# interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
