#!/usr/bin/env python3
"""trace.py DUMP --out build/trace/NAME [--symbols kernel.sym] [--window FROM,TO]

Turn a trace dump (the kernel's trace= rings, written to QEMU's debug
console port: kernel/trace/trace_dump.c) into NAME.json (Chrome Trace Event
Format: Perfetto UI, chrome://tracing), NAME.svg and NAME.png (the timeline
offline; the PNG through Debian's rsvg-convert) and NAME.txt (the summary,
also printed).  docs/tracing.md.  Python 3 standard library only.
"""
import argparse
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ntrace import chrome, parse, summary, svg             # noqa: E402
from ntrace.model import Model, Symbols                    # noqa: E402


def load(dump_path, symbols_path=None):
    with open(dump_path, "rb") as f:
        data = f.read()
    # The shell's `trace` appends a dump per run to one file: the last one.
    last = data.rfind(parse.MAGIC)
    trace = parse.parse(data[last:] if last > 0 else data)
    symbols = Symbols()
    if symbols_path:
        with open(symbols_path) as f:
            symbols = Symbols(f.read())
    return Model(trace, symbols)


def png(svg_path, png_path):
    """rsvg-convert (Debian: librsvg2-bin); False if it is not installed."""
    if not shutil.which("rsvg-convert"):
        print("warning: rsvg-convert not found (apt-get install librsvg2-bin): no PNG")
        return False
    subprocess.run(["rsvg-convert", "-o", png_path, svg_path], check=True)
    return True


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dump")
    ap.add_argument("--out", required=True, help="output path without extension")
    ap.add_argument("--symbols", help="nm -n output (build/*/kernel.sym) to name DPC routines")
    ap.add_argument("--window", help="FROM,TO: the SVG's time range in microseconds")
    ap.add_argument("--width", type=int, default=1400, help="SVG width in pixels")
    args = ap.parse_args(argv)

    model = load(args.dump, args.symbols)
    window = tuple(float(v) for v in args.window.split(",")) if args.window else None
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    chrome.write(model, args.out + ".json")
    with open(args.out + ".svg", "w") as f:
        f.write(svg.render(model, args.width, window))
    png(args.out + ".svg", args.out + ".png")
    text = summary.text(model)
    with open(args.out + ".txt", "w") as f:
        f.write(text)
    sys.stdout.write(text)
    print("wrote %s.json, .svg, .png, .txt" % args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
