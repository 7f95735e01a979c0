#!/usr/bin/env python3
"""The blue STOP screen, seen the way a person at the machine would see it.

Boots the kernel ISO with one deliberate bug check (the negative test
`bugcheck_parameters_printed`, 0xE2 with known parameters) and without the
isa-debug-exit device, so the machine stays on its STOP screen instead of
leaving QEMU.  Once the serial log says `*** System halted.`, QEMU's monitor
(a unix socket, `-display none`: the VGA device is there all the same) takes
a `screendump` (PPM), and the test checks on it that:

  1. the screen is mostly the STOP blue, 0x0000AA;
  2. the STOP line and the code's name are there, white on that blue: the
     text is rendered here from kernel/font.c, the font the kernel draws
     with, and found anywhere on the screen, pixel for pixel.

Prints KTAP lines and `screen: N passed, N failed` (scripts/test-all.sh adds
it to the total).  Exit status 0 if all passed.  Standard library only.
"""
import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

TEST = "bugcheck_parameters_printed"
EXPECTED_LINES = [
    "*** STOP: 0x000000E2 (0x0000000000000001,0x0000000000000022,"
    "0x0000000000000333,0xFFFFFFFFFFFFFFFF)",
    "MANUALLY_INITIATED_CRASH",
]
BLUE, WHITE = (0x00, 0x00, 0xAA), (0xFF, 0xFF, 0xFF)
MIN_BLUE_SHARE = 0.80           # the text covers a few percent at most
FONT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "kernel", "font.c")
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
    """The text as 16 rows of RGB bytes, as the kernel draws it."""
    pixels = {"#": bytes(fg), ".": bytes(bg)}
    return [b"".join(pixels[p] for c in text for p in font[c][y]) for y in range(16)]


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


def take_stop_screen(args, workdir):
    """Boot to the STOP screen; return (serial log text, PPM path or None, error)."""
    log, mon, ppm = (os.path.join(workdir, n) for n in ("serial.log", "monitor.sock", "stop.ppm"))
    argv = [args.qemu, "-accel", args.accel, "-cpu", "max", "-smp", "2", "-m", "256M",
            "-no-reboot", "-display", "none", "-monitor", f"unix:{mon},server,nowait",
            "-serial", f"file:{log}", "-cdrom", args.iso, "-boot", "d",
            "-fw_cfg", f"name=opt/ntsync/cmdline,string=test={TEST}"]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    serial = lambda: open(log, errors="replace").read() if os.path.exists(log) else ""
    try:
        if not wait_for(lambda: "*** System halted." in serial() or proc.poll() is not None,
                        args.timeout):
            return serial(), None, f"no '*** System halted.' within {args.timeout} s"
        if proc.poll() is not None:
            return serial(), None, f"QEMU exited ({proc.returncode}): {proc.stderr.read().decode()}"
        monitor_command(mon, f"screendump {ppm}")
        if not wait_for(lambda: os.path.exists(ppm) and os.path.getsize(ppm) > 0, 10):
            return serial(), None, "screendump wrote no file"
        return serial(), ppm, ""
    finally:
        proc.kill()
        proc.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--iso", required=True)
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("--accel", default="tcg,thread=multi")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--keep", help="copy the screendump (PPM) here")
    args = ap.parse_args()

    results = []
    with tempfile.TemporaryDirectory(prefix="ntsync-screen-") as workdir:
        log, ppm, error = take_stop_screen(args, workdir)
        if ppm and args.keep:
            with open(ppm, "rb") as src, open(args.keep, "wb") as dst:
                dst.write(src.read())
        if error:
            results.append((False, "stop_screen_taken", [error] + log.splitlines()[-20:]))
        else:
            width, height, pixels = read_ppm(ppm)
            blue = sum(1 for i in range(0, len(pixels), 3) if pixels[i:i + 3] == bytes(BLUE))
            share = blue / (width * height)
            results.append((share >= MIN_BLUE_SHARE, "stop_screen_is_blue",
                            [f"{width}x{height}, {share:.1%} of the pixels 0x0000AA "
                             f"(at least {MIN_BLUE_SHARE:.0%} wanted)"]))
            font = load_font(FONT)
            for n, text in enumerate(EXPECTED_LINES):
                at = find_text(width, pixels, render(font, text, WHITE, BLUE))
                where = f"at x={at[0]}, y={at[1]}" if at else "not found, white on blue"
                results.append((at is not None, f"stop_screen_line_{n + 1}_drawn",
                                [f"{text!r}: {where}"]))

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
