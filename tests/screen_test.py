#!/usr/bin/env python3
"""The console on the screen and the blue STOP screen, seen the way a person
at the machine would see them.

Boots the kernel ISO twice without the isa-debug-exit device, so that the
machine stays on its last screen instead of leaving QEMU:

  - with the positive tests `acpi_*`, more lines than the screen has
    rows: when the serial log shows the run's last line, the screen must show
    the last lines of the log, one below the other at the bottom, light gray
    on black, and no longer the banner (it scrolled away);
  - with one deliberate bug check (the negative test
    `bugcheck_parameters_printed`, 0xE2 with known parameters): after
    `*** System halted.` the screen must be mostly the STOP blue, 0x0000AA,
    with the STOP line and the code's name on it in white.

and once more without a VGA device, with the device that lets the kernel
leave QEMU: GRUB then gives no framebuffer (the header asks for one only
as an option), and the kernel must boot, say so, and pass `acpi_rsdp_*`
on the serial console alone.

Each time QEMU's monitor (a unix socket; with `-display none` the VGA device
is there all the same) takes a `screendump` (PPM).  Text is rendered here
from kernel/console/font.c, the font the kernel draws with, and found on the screen
pixel for pixel.

Prints KTAP lines and `screen: N passed, N failed` (scripts/test-all.sh adds
it to the total).  Exit status 0 if all passed.  Standard library only.
"""
import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

STOP_TEST = "bugcheck_parameters_printed"
STOP_LINES = [
    "*** STOP: 0x000000E2 (0x0000000000000001,0x0000000000000022,"
    "0x0000000000000333,0xFFFFFFFFFFFFFFFF)",
    "MANUALLY_INITIATED_CRASH",
]
SCROLL_TEST = "acpi_*"
NO_SCREEN_TEST = "acpi_rsdp_*"
NO_SCREEN_LINE = "screen: none from the boot loader, serial only"
EXIT_PASS = 33                  # isa-debug-exit: the kernel's tests passed
SCROLL_TAIL = 4                 # log lines that must end the screen, in order
BLUE, WHITE = (0x00, 0x00, 0xAA), (0xFF, 0xFF, 0xFF)
GRAY, BLACK = (0xC0, 0xC0, 0xC0), (0x00, 0x00, 0x00)
ROW_HEIGHT = 16
MIN_BLUE_SHARE = 0.80           # the text covers a few percent at most
FONT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "kernel", "console", "font.c")
GLYPH_RE = re.compile(r"\['((?:\\.|[^\\']))' - KI_FONT_FIRST\] = \{(.*?)\}", re.S)
ROW_RE = re.compile(r'"([.#]{8})"')


def load_font(path):
    """{char: 16 rows of 8 '.'/'#'} from the kernel's own font source."""
    font = {}
    for m in GLYPH_RE.finditer(open(path).read()):
        char = m.group(1)[-1] if m.group(1).startswith("\\") else m.group(1)
        rows = ROW_RE.findall(m.group(2))
        if len(rows) != 16:
            raise ValueError(f"glyph {char!r} in {path} has {len(rows)} rows, not 16")
        font[char] = rows
    missing = [chr(c) for c in range(0x20, 0x7F) if chr(c) not in font]
    if missing:
        raise ValueError(f"{path} lacks glyphs for {''.join(missing)!r}")
    return font


def render(font, text, fg, bg):
    """The text as 16 rows of RGB bytes, as the kernel draws it ('?' for
    what the font lacks)."""
    pixels = {"#": bytes(fg), ".": bytes(bg)}
    return [b"".join(pixels[p] for c in text for p in font.get(c, font["?"])[y])
            for y in range(16)]


def read_ppm(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, width, height, maxval, pixels = data.split(maxsplit=4)
    if magic != b"P6" or maxval != b"255":
        raise ValueError(f"{path}: not a binary 8-bit PPM")
    width, height = int(width), int(height)
    if len(pixels) < width * height * 3:
        raise ValueError(f"{path}: truncated")
    return width, height, pixels[:width * height * 3]


def find_text(width, pixels, rows):
    """(x, y) where the rendered rows sit in the image, or None."""
    stride = width * 3
    key = next(y for y, r in enumerate(rows) if len(set(r)) > 1 or r[:3] != r[3:6])
    start = pixels.find(rows[key])
    while start >= 0:
        y, x3 = divmod(start, stride)
        if x3 % 3 == 0 and x3 + len(rows[key]) <= stride and y >= key:
            top = (y - key) * stride + x3
            if all(pixels[top + i * stride:top + i * stride + len(r)] == r
                   for i, r in enumerate(rows)):
                return x3 // 3, y - key
        start = pixels.find(rows[key], start + 1)
    return None


def wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def monitor_command(sock_path, command):
    """Send one HMP command and wait for the prompt that follows it."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(sock_path)
        reply = b""
        while b"(qemu)" not in reply:           # the greeting's prompt
            reply += s.recv(4096)
        s.sendall(command.encode() + b"\n")
        reply = b""
        while b"(qemu)" not in reply:           # printed once the command is done
            reply += s.recv(4096)


def qemu_argv(args, test, log, extra):
    return [args.qemu, "-accel", args.accel, "-cpu", "max", "-smp", "2", "-m", "256M",
            "-no-reboot", "-display", "none", "-serial", f"file:{log}",
            "-cdrom", args.iso, "-boot", "d",
            "-fw_cfg", f"name=opt/ntsync/cmdline,string=test={test}"] + extra


def take_screen(args, workdir, test, done):
    """Boot test=<test> until the serial log has the line <done>; return
    (serial log lines, PPM path or None, error)."""
    log, mon, ppm = (os.path.join(workdir, n) for n in ("serial.log", "monitor.sock", "screen.ppm"))
    for stale in (log, ppm):
        if os.path.exists(stale):
            os.remove(stale)
    proc = subprocess.Popen(qemu_argv(args, test, log, ["-monitor", f"unix:{mon},server,nowait"]),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    serial = lambda: (open(log, errors="replace").read().replace("\r", "").splitlines()
                      if os.path.exists(log) else [])
    try:
        if not wait_for(lambda: done(serial()) or proc.poll() is not None, args.timeout):
            return serial(), None, f"test={test}: the log did not end within {args.timeout} s"
        if proc.poll() is not None:
            return serial(), None, f"QEMU exited ({proc.returncode}): {proc.stderr.read().decode()}"
        time.sleep(0.3)                 # the screen follows the serial port
        monitor_command(mon, f"screendump {ppm}")
        if not wait_for(lambda: os.path.exists(ppm) and os.path.getsize(ppm) > 0, 10):
            return serial(), None, "screendump wrote no file"
        if args.keep:
            shutil.copy(ppm, os.path.join(args.keep, test.strip("*_") + ".ppm"))
        return serial(), ppm, ""
    finally:
        proc.kill()
        proc.wait()


def text_at(width, pixels, rows, x, y):
    stride = width * 3
    return all(pixels[(y + i) * stride + x * 3:(y + i) * stride + x * 3 + len(r)] == r
               for i, r in enumerate(rows))


def check_scrolled_console(args, workdir, font):
    """The last half screen of a long log at the bottom of the screen."""
    log, ppm, error = take_screen(args, workdir, SCROLL_TEST,
                                  lambda lines: any(re.match(r"# \d+ tests, \d+ failed", l)
                                                    for l in lines))
    if error:
        return [(False, "console_screen_taken", [error] + log[-20:])]
    width, height, pixels = read_ppm(ppm)
    rows, columns = height // ROW_HEIGHT, width // 8
    # The screen rows the log makes: a long line wraps at the last column.
    wanted = [l[i:i + columns] for l in log for i in range(0, max(len(l), 1), columns)]
    wanted = wanted[-(rows // 2):]
    last = find_text(width, pixels, render(font, wanted[-1], GRAY, BLACK))
    diag = [f"last row {wanted[-1]!r}: {f'at y={last[1]}' if last else 'not found'}"]
    missing = []
    if last:
        top = last[1] - (len(wanted) - 1) * ROW_HEIGHT
        missing = [f"row {i} ({text!r}) not at y={top + i * ROW_HEIGHT}"
                   for i, text in enumerate(wanted)
                   if not text_at(width, pixels, render(font, text, GRAY, BLACK), 0,
                                  top + i * ROW_HEIGHT)]
        diag += missing or [f"and the {len(wanted) - 1} log rows before it right above it"]
    in_order = last is not None and not missing
    # The kernel scrolls a quarter of the screen at a time: the last line
    # is in the bottom quarter (or just above it, right after a scroll).
    bottom = (rows - rows // 4 - 1) * ROW_HEIGHT
    # Scrolled, not wrapped around to the top: nothing below the last line.
    below = pixels[(last[1] + ROW_HEIGHT) * width * 3:rows * ROW_HEIGHT * width * 3] if last else b"?"
    banner = next(l for l in log if l.startswith("ntsync "))
    banner_at = find_text(width, pixels, render(font, banner[:columns], GRAY, BLACK))
    return [(len(log) > rows, "console_log_longer_than_screen",
             [f"{len(log)} log lines, {rows} rows on the screen"]),
            (in_order, "console_shows_the_last_rows_in_order", diag),
            (in_order and last[1] >= bottom, "console_last_line_at_the_bottom",
             [f"last line at y={last[1] if last else '?'}, wanted y >= {bottom}"]),
            (below.count(0) == len(below), "console_empty_below_the_last_line",
             [f"{len(below) - below.count(0)} bytes not black below the last line"]),
            (banner_at is None, "console_scrolled_the_banner_away",
             [f"banner {'still at y=%d' % banner_at[1] if banner_at else 'gone'}"])]


def check_without_a_framebuffer(args, workdir):
    """No VGA device: GRUB gives no framebuffer, the kernel boots on COM1."""
    log = os.path.join(workdir, "novga.log")
    argv = qemu_argv(args, NO_SCREEN_TEST, log,
                     ["-vga", "none", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"])
    try:
        status = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, timeout=args.timeout).returncode
    except subprocess.TimeoutExpired:
        status = None
    lines = open(log, errors="replace").read().splitlines() if os.path.exists(log) else []
    screen = next((l.strip() for l in lines if l.startswith("screen: ")), "no 'screen:' line")
    return [(status == EXIT_PASS and screen == NO_SCREEN_LINE, "boots_without_a_framebuffer",
             [f"QEMU status {status} ({EXIT_PASS} wanted), {screen!r}"])]


def check_stop_screen(args, workdir, font):
    """Mostly blue, with the STOP line and the name in white."""
    log, ppm, error = take_screen(args, workdir, STOP_TEST,
                                  lambda lines: "*** System halted." in lines)
    if error:
        return [(False, "stop_screen_taken", [error] + log[-20:])]
    width, height, pixels = read_ppm(ppm)
    blue = sum(1 for i in range(0, len(pixels), 3) if pixels[i:i + 3] == bytes(BLUE))
    share = blue / (width * height)
    results = [(share >= MIN_BLUE_SHARE, "stop_screen_is_blue",
                [f"{width}x{height}, {share:.1%} of the pixels 0x0000AA "
                 f"(at least {MIN_BLUE_SHARE:.0%} wanted)"])]
    for n, text in enumerate(STOP_LINES):
        at = find_text(width, pixels, render(font, text, WHITE, BLUE))
        where = f"at x={at[0]}, y={at[1]}" if at else "not found, white on blue"
        results.append((at is not None, f"stop_screen_line_{n + 1}_drawn", [f"{text!r}: {where}"]))
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--iso", required=True)
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("--accel", default="tcg,thread=multi")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--keep", help="a directory to keep the screendumps (PPM) in")
    args = ap.parse_args()

    font = load_font(FONT)
    with tempfile.TemporaryDirectory(prefix="ntsync-screen-") as workdir:
        results = (check_scrolled_console(args, workdir, font) +
                   check_stop_screen(args, workdir, font) + check_without_a_framebuffer(args, workdir))

    print("KTAP version 1")
    print(f"1..{len(results)}")
    for i, (ok, name, diag) in enumerate(results, 1):
        for line in diag:
            print(f"# {line}")
        print(f"{'ok' if ok else 'not ok'} {i} {name}")
    passed = sum(ok for ok, _, _ in results)
    print(f"screen: {passed} passed, {len(results) - passed} failed")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
