#!/usr/bin/env python3
"""The kernel shell over the serial port, and the tour's doc test.

One boot of the checked kernel (--iso): every `ntsync>` block of
docs/tour.md typed and its documented lines found (`...` stands for
anything; runs of spaces compare as one), then every command, every demo,
bad input (empty lines, a 4 KiB line, control characters, unknown
commands, editing keys, a flood of lines and bytes while demos run), the
input accounting (every byte typed is received or counted lost, and a loss
is reported), and at the end `demo abba stop`, which must stop the machine
with the validator's report.  Then a short boot of the free kernel
(--free-iso): its own answers, and `quit`.

Prints one "ok N name" / "not ok N name" line per check and a last line
"shell: N passed, N failed".  Exit status 0 if all passed.
Python 3 standard library only.
"""
import argparse
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from shell_session import Session, Timeout, PROMPT  # noqa: E402

COMMANDS = ["help", "cpus", "uptime", "!pcr", "!prcb", "!irql", "!dpcs", "!locks",
            "!interrupts", "!validator", "!thread", "!ready", "input", "demo", "test", "bench",
            "trace", "bugcheck", "quit"]


class Checks:
    def __init__(self):
        self.results = []

    def check(self, name, ok, detail=""):
        self.results.append((name, bool(ok), detail))
        n = len(self.results)
        print("%s %d %s" % ("ok" if ok else "not ok", n, name))
        if not ok and detail:
            for line in str(detail).rstrip().splitlines()[-40:]:
                print("    # " + line)
        sys.stdout.flush()
        return ok


def squash(text):
    return re.sub(r"[ \t]+", " ", text.strip())


def line_matches(expected, line):
    """expected's parts between '...' appear in line, in order."""
    parts = [squash(p) for p in expected.split("...")]
    pos = 0
    line = squash(line)
    for i, part in enumerate(parts):
        if not part:
            continue
        k = line.find(part, pos)
        if k < 0 or (i == 0 and not expected.lstrip().startswith("...") and k != 0
                     and not line.startswith(part)):
            return False
        pos = k + len(part)
    return True


def find_lines(expected_lines, output):
    """Each expected line matches some output line, in order; the missing ones."""
    lines = output.splitlines()
    missing = []
    i = 0
    for exp in expected_lines:
        if not exp.strip() or exp.strip() == "...":
            continue
        j = i
        while j < len(lines) and not line_matches(exp, lines[j]):
            j += 1
        if j == len(lines):
            missing.append(exp)
        else:
            i = j + 1
    return missing


def tour_blocks(path):
    """(lesson, command, expected lines) of each ```shell block."""
    blocks, lesson = [], "?"
    with open(path) as f:
        text = f.read()
    for m in re.finditer(r"^## (\d+)\.|^```shell\n(.*?)^```", text, re.M | re.S):
        if m.group(1):
            lesson = m.group(1)
            continue
        lines = m.group(2).splitlines()
        if not lines or not lines[0].startswith(PROMPT):
            raise SystemExit("%s: a ```shell block must start with %r" % (path, PROMPT))
        blocks.append((lesson, lines[0][len(PROMPT):], lines[1:]))
    return blocks


def run_tour(s, c, path, seen):
    for lesson, command, expected in tour_blocks(path):
        try:
            out = s.command(command, 120)
        except Timeout as e:
            c.check("tour lesson %s: %s" % (lesson, command), False, e)
            continue
        seen[command] = out
        missing = find_lines(expected, out)
        c.check("tour lesson %s: %s" % (lesson, command), not missing,
                "missing:\n" + "\n".join(missing) + "\n--- got:\n" + out)


def expect_in(c, s, name, command, patterns, timeout=60, seen=None):
    """Run command (or take its output from the tour, seen) and find patterns."""
    try:
        out = seen[command] if seen and command in seen else s.command(command, timeout)
    except Timeout as e:
        return c.check(name, False, e)
    bad = [p for p in patterns if not re.search(p, out, re.M)]
    return c.check(name, not bad, "missing: %s\n--- got:\n%s" % (bad, out))


def run_commands(s, c, debugcon, seen):
    out = s.command("help")
    c.check("help lists every command, one line each",
            all(re.search(r"^  " + re.escape(n) + r" ", out, re.M) for n in COMMANDS), out)
    expect_in(c, s, "help <command>", "help trace", [r"^  trace +demo\|test"])
    expect_in(c, s, "cpus", "cpus", [r"4 processors online", r"cpu 3 +APIC id 3"])
    expect_in(c, s, "uptime", "uptime", [r"^up \d+\.\d{3} s"])
    expect_in(c, s, "!pcr 1", "!pcr 1", [r"KPCR of processor 1", r"Number 1 +ApicId 1"])
    expect_in(c, s, "!prcb (this CPU)", "!prcb", [r"KPRCB of processor 0", r"the shell runs here"])
    expect_in(c, s, "!irql 2", "!irql 2", [r"CPU 2: IRQL \d+ \S+, interrupted at \S+"])
    expect_in(c, s, "!dpcs", "!dpcs", [r"^ +3 +\d+"])
    expect_in(c, s, "!locks", "!locks", [r"no spin lock is held"])
    expect_in(c, s, "!interrupts", "!interrupts", [r"0xd1 +13 +\d+ +\d+ +\d+ +\d+ +clock",
                                                   r"0x98 +9 +[1-9]\d* .*COM1"])
    expect_in(c, s, "!validator", "!validator", [r"lock-order validator: on; \d+ classes"])
    expect_in(c, s, "!thread", "!thread",
              [r"^9 threads \(read under the dispatcher lock",   # 4 idle, 4 DPC threads, the shell's
               r"^ +idle 3 +Running +0/0 +runs on +3 +\d+ +KiIdleLoop$",
               r"^ \* 0x8 +Running +8/8 +runs on +0 +\d+ +KiMainThread$"])
    expect_in(c, s, "!ready", "!ready",
              [r"^  cpu 0: runs 0x8 \(priority 8, KiMainThread\) = this shell; 0 ready$",
               r"^  cpu 3: runs its idle thread; 0 ready$"])
    expect_in(c, s, "test <glob>", "test irql_raise_lower*",
              [r"^ok 1 irql_raise_lower_round_trips", r"^test: all passed"])
    expect_in(c, s, "test: negative tests named, not run", "test irql_raise_to_lower_level",
              [r"ends in STOP 0x00000009: not run here", r"# 0 tests, 0 failed"])
    expect_in(c, s, "test: COM1 tests left out", "test serial_input_*",
              [r"serial_input_keeps_bytes_typed_before_start: left out here", r"^1\.\.0"])
    expect_in(c, s, "bench <glob>", "bench floor_xchg*", [r"^BENCH \{\"name\":\"floor\.xchg_pair\"",
                                                          r"^BENCH-END", r"^bench: done"])
    size = os.path.getsize(debugcon) if os.path.exists(debugcon) else 0
    expect_in(c, s, "trace test <glob>", "trace test irql_raise_lower*",
              [r"^trace: on", r"^  cpu 0: \d+ records", r"port 0xE9"])
    with open(debugcon, "rb") as f:
        f.seek(size)
        dump = f.read()
    c.check("trace: the dump reached the debug console port",
            dump.startswith(b"NTTRACE1") and dump.endswith(b"NTTREND\0"), "%d bytes" % len(dump))
    expect_in(c, s, "demo (the list)", "demo",
              [r"^ +1 lost-update", r"^ +8 rw-preference",
               r"^ +9 preempt +a spin lock holder is never preempted on its own CPU, a mutex "
               r"holder is$",
               r"^ +10 inversion +priority inversion with a mutex versus with a spin lock$"])
    demos = [
        ("demo lost-update", [r"no lock: +expected 80000, got \d+: \d+ lost",
                    r"KeAcquireSpinLock: +expected 80000, got 80000: 0 lost"]),
        ("demo raise", [r"gave up: the holder sat beneath it", r"found the lock free and took it",
                    r"CPU 0 holds executive lock"]),
        ("demo abba", [r"deadlock: each waits for the other", r"lockorder: possible deadlock",
                    r"no bug check this time"]),
        ("demo isr-dpc", [r"counter 1000: 1000 lost", r"counter 2000: 0 lost"]),
        ("demo fairness", [r"in-stack queued +\d+ +\d+ +\d+ +\d+ +total"]),
        ("demo dpc-targeting", [r"ran in this order: High Low Medium MediumHigh",
                    r"High +on CPU 1: ran there"]),
        ("demo irql-masking", [r"CLOCK_LEVEL +clock ticks +0 +IPIs 5 of 5", r"IPI_LEVEL +clock ticks +0 +IPIs 0 of 5"]),
        ("demo rw-preference", [r"CPU 3 \(reader\) gets it: after the writer"]),
        ("demo preempt", [r"ran while the lock was held: 0 of 3 times",
                    r"ran after the release:( \d+ us){3} \(inside KeReleaseSpinLock",
                    r"ran while the mutex was held: 3 of 3 times",
                    r"ran after the readying:( \d+ us){3} \(before KiStartThread returned"]),
        ("demo 10", [r"^  cpu 3: runs 0x[0-9a-f]+ \(priority 12, medium_thread\); 1 ready",
                    r"^ +0x[0-9a-f]+ +Waiting +16/16 +last ran on 2 +\d+ +high_thread$",
                    r"inversion: H \(priority 16\) waited \d+ us, \d+ us more than L's",
                    r"^  cpu 3: runs 0x[0-9a-f]+ \(priority 4, low_thread\); 1 ready",
                    r"no inversion: H waited \d+ us, the rest of L's hold; M began \d+ us after",
                    r"^no priority inheritance in this kernel"]),
    ]
    for command, patterns in demos:
        expect_in(c, s, command, command, patterns, 120, seen)
    expect_in(c, s, "demo 3 again, by number: the same report (the edge stays unlearned)",
              "demo 3", [r"lockorder: possible deadlock"])


def run_bad_input(s, c):
    start = s.mark()
    s.type("\r\r   \r\nuptime\r")
    try:
        s.wait_for(r"^up .*\n" + re.escape(PROMPT) + "$", start, 10)
        got = s.text(start)
        c.check("empty lines: a new prompt each, nothing else",
                got.count(PROMPT) >= 3 and not re.search(r"unknown|usage|too", got), got)
    except Timeout as e:
        c.check("empty lines: a new prompt each, nothing else", False, e)
    # Refused whole, and every byte accounted for: the line's length as the
    # editor counted it plus what the COM1 ring reported lost (a loaded host
    # can keep CPU 0's DPC from draining the ring in time) is 4096.
    try:
        out = s.command("u" * 4096, 60)
        m = re.search(r"^line too long: (\d+) characters, at most 255: ignored", out, re.M)
        lost = re.search(r"^input: (\d+) bytes lost", out, re.M)
        counted = int(m.group(1)) + (int(lost.group(1)) if lost else 0) if m else -1
        c.check("a 4 KiB line is refused whole, every byte counted", counted == 4096, out)
    except Timeout as e:
        c.check("a 4 KiB line is refused whole, every byte counted", False, e)
    expect_in(c, s, "control characters are ignored", "\x01\x02\x07\x00\x1a\x7fuptime",
              [r"^up \d+"])
    expect_in(c, s, "bytes above 0x7E are ignored", "\xff\xe9\x80cpus", [r"processors online"])
    expect_in(c, s, "unknown command: the nearest", "hepl", [r"unknown command 'hepl': did you mean help\?"])
    expect_in(c, s, "unknown command: prefix", "!pr", [r"did you mean .*!pcr, !prcb"])
    expect_in(c, s, "unknown command, nothing near", "frobnicate",
              [r"unknown command 'frobnicate': help lists the commands"])
    expect_in(c, s, "too many words", "test a b c d e f g h i", [r"too many words: at most 8"])
    expect_in(c, s, "bad CPU number", "!prcb 99", [r"no processor 99: 4 online"])
    expect_in(c, s, "not a number", "!irql x1", [r"'x1' is not a number"])
    expect_in(c, s, "unknown demo", "demo fairnes", [r"no demo 'fairnes': did you mean fairness\?"])
    expect_in(c, s, "bugcheck without a code", "bugcheck", [r"^usage: bugcheck <code>"])
    expect_in(c, s, "bugcheck with a bad code", "bugcheck 0x1FFFFFFFF", [r"a bug check code is 32 bits"])
    expect_in(c, s, "backspace", "uptimx\x7fe", [r"^up \d+"])
    expect_in(c, s, "Ctrl-U erases the line", "bugcheck 0xE2\x15cpus", [r"processors online"])
    expect_in(c, s, "up arrow: the last line again", "\x1b[A", [r"processors online"])
    expect_in(c, s, "up, up, down: history walks both ways", "\x1b[A\x1b[A\x1bOB", [r"processors online"])
    start = s.mark()
    s.type("bugcheck 0xE2\x03")
    try:
        s.wait_for(r"\^C\n" + re.escape(PROMPT), start, 10)
        out = s.command("uptime")
        c.check("Ctrl-C drops the line", re.search(r"^up ", out, re.M), out)
    except Timeout as e:
        c.check("Ctrl-C drops the line", False, e)


def input_counts(s):
    out = s.command("input")
    m = re.search(r"(\d+) bytes received, (\d+) lost", out)
    if not m:
        raise Timeout("no input counts in:\n" + out)
    return int(m.group(1)), int(m.group(2)), out


def run_flood(s, c):
    # Lines typed while a demo runs: the editor queues 8, drops and counts the rest.
    start = s.mark()
    flood = 20
    s.type("demo fairness\r" + "uptime\r" * flood)
    try:
        s.wait_for(r"=== end of demo fairness", start, 60)
        s.wait_for(r"\n" + re.escape(PROMPT) + r"$", start, 30)
        time.sleep(0.3)
        s.wait_for(r"\n" + re.escape(PROMPT) + r"$", start, 30)
    except Timeout as e:
        c.check("a flood of lines while a demo runs: answered or counted", False, e)
        return
    out = s.text(start)
    answered = len(re.findall(r"^up \d+\.\d+ s", out, re.M))
    said = sum(int(n) for n in re.findall(r"^input: (\d+) lines dropped", out, re.M))
    echoed = len(re.findall(r"line dropped: the shell has as many waiting", out))
    c.check("a flood of lines while a demo runs: answered or counted",
            answered + said == flood and echoed == said,
            "answered %d, reported dropped %d (said at once %d) of %d\n%s" %
            (answered, said, echoed, flood, out[-3000:]))
    # Bytes while CPU 0 sits at DISPATCH_LEVEL and above: the ISR's ring may
    # fill; every byte is received or counted lost, and a loss is said.
    start = s.mark()
    s.type("demo irql-masking\r" + "x" * 3000 + "\x15")
    try:
        s.wait_for(r"=== end of demo irql-masking", start, 60)
        time.sleep(0.3)
        s.type("\x15")                 # the flood's own Ctrl-U may be among the bytes lost
        received, lost, out = input_counts(s)
    except Timeout as e:
        c.check("bytes flooded while IRQL is raised: received or counted", False, e)
        return
    text = s.text(0)
    reported = sum(int(n) for n in re.findall(r"^input: (\d+) bytes lost", text, re.M))
    c.check("bytes flooded while IRQL is raised: received or counted",
            received + lost == s.sent and reported == lost,
            "typed %d, received %d, lost %d, reported lost %d\n%s" %
            (s.sent, received, lost, reported, out))


def stop_at_end(s, c):
    start = s.mark()
    s.type("demo abba stop\r")
    status = s.wait_exit(60)
    out = s.text(start)
    c.check("demo abba stop: STOP 0xC4/0x1001 with the validator's report",
            status == 37 and re.search(r"^\*\*\* STOP: 0x000000C4 \(0x0000000000001001", out, re.M)
            and "lockorder: possible deadlock" in out and "THIS STOPS THE MACHINE" in out,
            "QEMU status %s\n%s" % (status, out[-3000:]))


def free_boot(iso, c, log_dir, accel):
    s = Session(iso, smp=2, accel=accel, log=os.path.join(log_dir, "shell-free.log"))
    try:
        s.wait_for(re.escape(PROMPT) + "$", 0, 60)
        expect_in(c, s, "free: !locks", "!locks", [r"free build: not recorded"])
        expect_in(c, s, "free: !validator", "!validator", [r"free build: the lock-order validator is compiled out"])
        expect_in(c, s, "free: demo abba", "demo abba", [r"deadlock: each waits", r"free build has no lock-order validator"])
        expect_in(c, s, "free: demo raise stop refuses", "demo raise stop", [r"free build: no spin timeout"])
        expect_in(c, s, "free: demo rw-preference needs 4 CPUs", "demo 8", [r"needs 4 CPUs"])
        expect_in(c, s, "free: !thread", "!thread", [r"^5 threads", r"^ \* 0x8 +Running"])
        expect_in(c, s, "free: demo preempt", "demo 9",
                  [r"ran while the lock was held: 0 of 3 times",
                   r"ran while the mutex was held: 3 of 3 times"], 120)
        expect_in(c, s, "free: demo inversion on 2 CPUs", "demo inversion",
                  [r"H \(priority 16\) on CPU 0",
                   r"inversion: H \(priority 16\) waited \d+ us, \d+ us more",
                   r"no inversion: H waited \d+ us"], 120)
        s.type("quit\r")
        status = s.wait_exit(30)
        c.check("free: quit leaves QEMU", status == 33, "QEMU status %s" % status)
    except Timeout as e:
        c.check("free: boot to the prompt", False, e)
    finally:
        s.close()


# ---- the PS/2 keyboard (kernel/io/keyboard.c), typed at through QEMU ------

# QEMU's key names (HMP sendkey) for the characters that are not their own.
KEY_NAMES = {" ": "spc", "\r": "ret", "!": "shift-1", "-": "minus", ".": "dot", "/": "slash",
             "*": "shift-8", "_": "shift-minus", "<": "shift-comma"}


def keys(text):
    """QEMU key names that type text on a US keyboard."""
    out = []
    for ch in text:
        if ch.islower() or ch.isdigit():
            out.append(ch)
        elif ch.isupper():
            out.append("shift-" + ch.lower())
        else:
            out.append(KEY_NAMES[ch])
    return out


def key_command(s, key_names, timeout=20):
    """Press the keys (the last one Enter) and return what came back on
    COM1 up to the next prompt: the echoed line first."""
    start = s.mark()
    s.sendkey(key_names)
    m = s.wait_for(r"\n" + re.escape(PROMPT), start, timeout)
    return s.text(start)[:m.start()]


def expect_keys(c, s, name, key_names, echo, patterns):
    """The editor's echo of the keys (first line, "\\b \\b" rubouts as
    typed) is echo, and the command's answer has patterns."""
    try:
        out = key_command(s, key_names)
    except Timeout as e:
        return c.check(name, False, e)
    first, _, rest = out.partition("\n")
    bad = [p for p in patterns if not re.search(p, rest, re.M)]
    return c.check(name, first == echo and not bad,
                   "echo %r (wanted %r), missing %s\n--- got:\n%s" % (first, echo, bad, out))


def screen_has(s, texts, ppm):
    """Which of texts the screen does not show (gray on black, the kernel's
    font; tests/screen_test.py's way), from a screendump."""
    import screen_test as st
    if os.path.exists(ppm):
        os.remove(ppm)
    s.hmp("screendump " + ppm)
    deadline = time.monotonic() + 10
    while not (os.path.exists(ppm) and os.path.getsize(ppm) > 0) and time.monotonic() < deadline:
        time.sleep(0.1)
    width, _, pixels = st.read_ppm(ppm)
    font = st.load_font(st.FONT)
    return [t for t in texts if not st.find_text(width, pixels, st.render(font, t, st.GRAY, st.BLACK))]


def keyboard_boot(iso, c, log_dir, accel):
    """A short boot: commands typed on QEMU's PS/2 keyboard (its monitor's
    sendkey), answered on COM1 and shown on the screen."""
    monitor = os.path.join(log_dir, "monitor.sock")
    if os.path.exists(monitor):
        os.remove(monitor)
    s = Session(iso, smp=2, accel=accel, log=os.path.join(log_dir, "shell-keyboard.log"),
                monitor=monitor)
    try:
        s.wait_for(re.escape(PROMPT) + "$", 0, 60)
        c.check("keyboard: the driver starts on IRQ 1",
                re.search(r"^keyboard: i8042 on ISA IRQ 1 -> GSI \d+ -> vector 0xb9 \(DIRQL 11\)",
                          s.text(0), re.M), s.text(0)[-2000:])
        expect_keys(c, s, "keyboard: cpus", keys("cpus\r"), "cpus", [r"2 processors online"])
        expect_keys(c, s, "keyboard: help", keys("help\r"), "help",
                    [r"^  " + re.escape(n) + r" " for n in COMMANDS])
        expect_keys(c, s, "keyboard: Shift: !pcr", keys("!pcr\r"), "!pcr",
                    [r"KPCR of processor 0"])
        expect_keys(c, s, "keyboard: up arrow: the last line again", ["up", "ret"],
                    "!pcr", [r"KPCR of processor 0"])
        expect_keys(c, s, "keyboard: Shift and Caps Lock: capitals",
                    ["shift-h", "caps_lock", "e", "l", "caps_lock", "p", "ret"], "HELp",
                    [r"^unknown command 'HELp'"])
        expect_keys(c, s, "keyboard: Backspace", keys("uptimx") + ["backspace"] + keys("e\r"),
                    "uptimx\b \be", [r"^up \d+"])
        expect_keys(c, s, "keyboard: Ctrl-U", keys("bugcheck") + ["ctrl-u"] + keys("cpus\r"),
                    "bugcheck" + "\b \b" * 8 + "cpus", [r"2 processors online"])
        try:
            start = s.mark()
            s.sendkey(keys("bugcheck 1") + ["ctrl-c"])
            s.wait_for(r"^bugcheck 1\^C\n" + re.escape(PROMPT) + "$", start, 10)
            c.check("keyboard: Ctrl-C drops the line", True)
        except Timeout as e:
            c.check("keyboard: Ctrl-C drops the line", False, e)
        expect_in(c, s, "keyboard: input counts it, nothing lost", "input",
                  [r"^keyboard: vector 0xb9 at DIRQL 11 on CPU 0; [1-9]\d* interrupts, [1-9]\d* "
                   r"DPC runs; [1-9]\d* scan codes received, 0 lost"])
        expect_in(c, s, "keyboard: !interrupts names it", "!interrupts",
                  [r"0xb9 +11 +[1-9]\d* .*PS/2 keyboard"])
        try:
            missing = screen_has(s, [PROMPT + "cpus", PROMPT + "!pcr", PROMPT + "HELp",
                                     PROMPT + "uptime"], os.path.join(log_dir, "keyboard.ppm"))
            # "uptime" and the second "cpus" were typed with rubouts in them.
            c.check("keyboard: the echo on the screen (Backspace erased)", not missing,
                    "not on the screen: %r" % missing)
        except (OSError, ValueError, Timeout) as e:
            c.check("keyboard: the echo on the screen (Backspace erased)", False, e)
    except Timeout as e:
        c.check("keyboard: boot to the prompt", False, e)
    finally:
        s.close()
    # No i8042 at all (QEMU can leave it out): one line, and the shell on COM1.
    s = Session(iso, smp=1, accel=accel, log=os.path.join(log_dir, "shell-no-i8042.log"),
                extra=["-machine", "pc,i8042=off"])
    try:
        s.wait_for(re.escape(PROMPT) + "$", 0, 60)
        said = re.findall(r"^keyboard: .*$", s.text(0), re.M)
        out = s.command("input")
        c.check("no i8042: said in one line, the shell reads COM1",
                said == ["keyboard: no i8042 controller (its status port reads 0xFF): COM1 only"]
                and re.search(r"^keyboard: no i8042 controller$", out, re.M), "%r\n%s" % (said, out))
    except Timeout as e:
        c.check("no i8042: said in one line, the shell reads COM1", False, e)
    finally:
        s.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iso", required=True, help="the checked kernel's ISO")
    ap.add_argument("--free-iso", help="the free kernel's ISO (a short second boot)")
    ap.add_argument("--tour", default="docs/tour.md")
    ap.add_argument("--accel", default="tcg,thread=multi")
    ap.add_argument("--log-dir", default="build/test-logs-shell")
    ap.add_argument("--tour-only", action="store_true", help="the doc test alone")
    ap.add_argument("--keyboard-only", action="store_true", help="the keyboard boot alone")
    args = ap.parse_args()
    os.makedirs(args.log_dir, exist_ok=True)
    debugcon = os.path.join(args.log_dir, "trace.bin")
    c = Checks()
    begin = time.monotonic()
    if args.keyboard_only:
        keyboard_boot(args.iso, c, args.log_dir, args.accel)
        return report(c, begin, args.log_dir)
    s = Session(args.iso, smp=4, accel=args.accel, debugcon=debugcon,
                log=os.path.join(args.log_dir, "shell-checked.log"))
    try:
        s.wait_for(r"Boot complete\. Type help.*\n" + re.escape(PROMPT), 0, 60)
        c.check("boot: the banner and the prompt", True)
        seen = {}
        run_tour(s, c, args.tour, seen)
        if not args.tour_only:
            run_commands(s, c, debugcon, seen)
            run_bad_input(s, c)
            run_flood(s, c)
            stop_at_end(s, c)
    except Timeout as e:
        c.check("the checked boot answers", False, e)
    finally:
        s.close()
    if args.free_iso and not args.tour_only:
        free_boot(args.free_iso, c, args.log_dir, args.accel)
    if not args.tour_only:
        keyboard_boot(args.iso, c, args.log_dir, args.accel)
    return report(c, begin, args.log_dir)


def report(c, begin, log_dir):
    passed = sum(1 for _, ok, _ in c.results if ok)
    failed = len(c.results) - passed
    print("# %.1f s; logs in %s" % (time.monotonic() - begin, log_dir))
    print("shell: %d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
