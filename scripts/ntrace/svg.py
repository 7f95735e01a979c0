"""Model -> an SVG timeline, readable without a browser: one lane per CPU
with its IRQL as a coloured band, ISR and DPC spans, spin waits and lock
holds, the thread that ran, hand-off, IPI and made-ready arrows, and a time
axis in microseconds."""
from xml.sax.saxutils import escape

LEFT, RIGHT, TOP = 70, 20, 46
LANE = 84                       # per CPU: IRQL band, ISR/DPC row, lock row, thread row
BAND_H, ROW_H = 8, 16
THREAD_Y = BAND_H + 4 + ROW_H + 6 + ROW_H + 4   # the thread row, below the lock row
IDLE_COLOUR = "#e5e7e9"
THREAD_COLOURS = ["#f7dc6f", "#85c1e9", "#f0b27a", "#bb8fce", "#82e0aa", "#f1948a", "#aed6f1",
                  "#d7bde2"]
READY_COLOUR = "#1f618d"
MIN_PX = 0.25                   # spans narrower than this are left out (counted in the legend)
HOLD_PX = 2                     # lock holds are widened to this at least
IRQL_COLOURS = {0: "#f2f2f2", 1: "#c6e2c6", 2: "#9ec5e8", 12: "#f5b041", 13: "#e74c3c",
                14: "#8e44ad", 15: "#222222"}
LOCK_COLOURS = ["#2e86c1", "#28b463", "#af7ac5", "#d35400", "#17a589", "#b7950b"]


def _nice_step(span_us, ticks=8):
    raw = span_us / ticks
    step = 10 ** len(str(int(max(raw, 1)))) / 10
    for factor in (1, 2, 5, 10):
        if step * factor >= raw:
            return step * factor
    return step * 10


def _label(us, step):
    """Whole microseconds with thousands separators; decimals only for
    steps under one."""
    return "{:,.0f}".format(us) if step >= 1 else "{:g}".format(round(us, 3))


def render(model, width=1400, window=None):
    start, end = window or (0.0, max(model.end, 1e-3))
    span = max(end - start, 1e-3)
    scale = (width - LEFT - RIGHT) / span
    lane_of = {cpu: i for i, cpu in enumerate(model.cpus)}
    height = TOP + LANE * len(model.cpus) + 40
    x = lambda us: LEFT + (us - start) * scale          # noqa: E731
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif" font-size="11">' % (width, height),
           '<defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="7" refY="4" '
           'orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#c0392b"/></marker>'
           '<marker id="ready" markerWidth="8" markerHeight="8" refX="7" refY="4" '
           'orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#1f618d"/></marker>'
           '<pattern id="spin" width="4" height="4" patternUnits="userSpaceOnUse">'
           '<rect width="4" height="4" fill="#fadbd8"/><path d="M0,4 L4,0" stroke="#c0392b" '
           'stroke-width="1"/></pattern></defs>',
           '<rect width="100%" height="100%" fill="white"/>']
    skipped = 0

    def span_rect(cpu, s0, s1, y, h, fill, title, min_px=0.0, label=None):
        nonlocal skipped
        if s1 < start or s0 > end:
            return
        x0, x1 = x(max(s0, start)), x(min(s1, end))
        x1 = max(x1, x0 + min_px)
        if x1 - x0 < MIN_PX:
            skipped += 1
            return
        top = TOP + lane_of[cpu] * LANE + y
        out.append('<rect x="%.2f" y="%d" width="%.2f" height="%d" fill="%s"><title>%s</title></rect>'
                   % (x0, top, x1 - x0, h, fill, escape(title)))
        if label and x1 - x0 > 6 * len(label) + 4:      # room for it at 10 px
            out.append('<text x="%.2f" y="%d" font-size="10">%s</text>'
                       % (x0 + 2, top + h - 4, escape(label)))

    for cpu in model.cpus:
        top = TOP + lane_of[cpu] * LANE
        out.append('<text x="6" y="%d">CPU %d</text>' % (top + 30, cpu))
        steps = model.irql.get(cpu, [])
        for i, (ts, level) in enumerate(steps):
            until = steps[i + 1][0] if i + 1 < len(steps) else model.end
            span_rect(cpu, ts, until, 0, BAND_H, IRQL_COLOURS.get(level, "#999"), "IRQL %d" % level)
    locks = {}
    # ISRs before DPCs: a DPC runs inside its 0x2F interrupt and is drawn over it.
    for s in sorted(model.slices, key=lambda s: s.kind != "isr"):
        if s.kind == "isr":
            span_rect(s.cpu, s.start, s.end, BAND_H + 4, ROW_H, "#f1948a", "%s %.2f us" % (s.name, s.end - s.start))
        elif s.kind == "dpc":
            span_rect(s.cpu, s.start, s.end, BAND_H + 7, ROW_H - 6, "#7dcea0", "%s %.2f us" % (s.name, s.end - s.start))
        elif s.kind == "wait":        # thinner than a hold, which is drawn over it
            span_rect(s.cpu, s.start, s.end, BAND_H + 4 + ROW_H + 10, ROW_H - 8, "url(#spin)",
                      "%s %.2f us" % (s.name, s.end - s.start))
    for s in model.by_kind("hold"):   # at least HOLD_PX wide: the point of the picture
        colour = locks.setdefault(s.args["lock"], LOCK_COLOURS[len(locks) % len(LOCK_COLOURS)])
        span_rect(s.cpu, s.start, s.end, BAND_H + 4 + ROW_H + 6, ROW_H, colour,
                  "%s %.2f us" % (s.name, s.end - s.start), HOLD_PX)
    colours = {}
    for s in model.by_kind("thread"):
        ident = s.args["thread"]
        colour = IDLE_COLOUR if ident == 0 else colours.setdefault(
            ident, THREAD_COLOURS[len(colours) % len(THREAD_COLOURS)])
        span_rect(s.cpu, s.start, s.end, THREAD_Y, ROW_H, colour,
                  "%s %.2f us, then %s" % (s.name, s.end - s.start, s.args["left"]), label=s.name)
    out.append('<clipPath id="plot"><rect x="%d" y="0" width="%d" height="%d"/></clipPath>'
               '<g clip-path="url(#plot)">' % (LEFT, width - LEFT - RIGHT, height))
    for f in model.flows:
        if f.dst_ts < start or f.src_ts > end:
            continue
        row = {"handoff": BAND_H + 4 + ROW_H + 6 + ROW_H // 2,
               "ready": THREAD_Y + ROW_H // 2}.get(f.kind, BAND_H + 4 + ROW_H // 2)
        y0 = TOP + lane_of[f.src_cpu] * LANE + row
        y1 = TOP + lane_of[f.dst_cpu] * LANE + row
        dash = ' stroke-dasharray="3,2"' if f.kind == "ipi" else ""
        colour, marker = (READY_COLOUR, "ready") if f.kind == "ready" else ("#c0392b", "arrow")
        out.append('<line x1="%.2f" y1="%d" x2="%.2f" y2="%d" stroke="%s" stroke-width="1.2"%s '
                   'marker-end="url(#%s)"><title>%s</title></line>'
                   % (x(f.src_ts), y0, x(f.dst_ts), y1, colour, dash, marker, escape(f.name)))
    out.append("</g>")
    for cpu, ts, text in model.instants:
        if start <= ts <= end:
            top = TOP + lane_of[cpu] * LANE
            out.append('<line x1="%.2f" y1="%d" x2="%.2f" y2="%d" stroke="black" stroke-width="2"/>'
                       '<text x="%.2f" y="%d" font-weight="bold">%s</text>'
                       % (x(ts), top, x(ts), top + LANE - 6, x(ts) + 3, top + 10, escape(text)))
    axis = TOP + LANE * len(model.cpus) + 4
    out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (LEFT, axis, width - RIGHT, axis))
    step = _nice_step(span)
    tick = (int(start / step) + 1) * step if start % step else start
    while tick <= end:
        out.append('<line x1="%.2f" y1="%d" x2="%.2f" y2="%d" stroke="black"/>'
                   '<text x="%.2f" y="%d" text-anchor="middle">%s</text>'
                   % (x(tick), axis, x(tick), axis + 5, x(tick), axis + 17, _label(tick, step)))
        tick += step
    out.append('<text x="%d" y="%d" text-anchor="end">us</text>' % (width - 2, axis + 30))
    legend = ("IRQL band: 0 light grey, 2 blue, 12 orange, 13 red, 14 purple;  red: ISR, green: DPC;  "
              "hatched: spin wait;  solid: lock hold (one colour per lock, at least %d px);  "
              "bottom row: the thread that ran (grey: idle)" % HOLD_PX)
    detail = ("%.1f to %.1f us;  arrows: red solid = queued-lock hand-off, red dashed = IPI, "
              "blue = made ready to running" % (start, end))
    if skipped:
        detail += ";  %d spans under %.2f px not drawn" % (skipped, MIN_PX)
    out.insert(3, '<text x="6" y="16">%s</text>' % escape(legend))
    out.insert(4, '<text x="6" y="32">%s</text>' % escape(detail))
    out.append("</svg>")
    return "\n".join(out) + "\n"
