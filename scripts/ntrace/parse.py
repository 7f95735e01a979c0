"""Read a trace dump (kernel/trace/trace_dump.c has the layout) into events.

A damaged dump is read as far as it goes: a cut-short stream, a record of
a type this tool does not know, and rings that wrapped (oldest records
overwritten) are reported in Trace.problems / Cpu.lost, never fatal.
"""
import struct

MAGIC = b"NTTRACE1"
CLASSES = b"NTCLASS\0"
CLASS_HEADER = struct.Struct("<II")     # N, 0
CLASS_PAIR = struct.Struct("<QQ")       # lock, where KeInitializeSpinLock was called
END = b"NTTREND\0"
HEADER = struct.Struct("<8sIIQII")      # magic, version, CPUs, TSC Hz, record size, 0
CPU_HEADER = struct.Struct("<IIQQQ")    # CPU, context switches (v3), written, ring size, DPC routines run
VERSIONS = (2, 3)                       # 3: the context switch count; 2 had 0 there
RECORD = struct.Struct("<QHBBIQQ")      # TSC, type, CPU, IRQL, C, A, B

# kernel/trace/trace.h's KI_TRACE_* record types.
TYPES = {
    1: "irql_raise", 2: "irql_lower", 3: "interrupt_entry", 4: "interrupt_exit",
    5: "software_interrupt", 6: "ipi_send", 7: "ipi_receive", 8: "dpc_insert",
    9: "dpc_start", 10: "dpc_end", 11: "lock_begin", 12: "lock_acquired",
    13: "lock_release", 14: "lock_handoff", 15: "bugcheck",
    16: "thread_switch", 17: "thread_ready", 18: "thread_wait",
}

# kernel/thread/thread.h's KTHREAD_STATE: the old thread's, in a switch.
THREAD_STATES = {0: "initialized", 1: "ready", 2: "running", 3: "standby", 4: "terminated",
                 5: "waiting"}

# kernel/locks/spinlock_check.h's KI_LOCK_* kinds (the DPC queue lock, 8, is
# not traced).
LOCK_KINDS = {1: "executive", 2: "in-stack queued", 3: "numbered queued",
              4: "reader/writer shared", 5: "reader/writer exclusive", 6: "interrupt",
              7: "ExInterlocked raw"}


class Event:
    __slots__ = ("tsc", "type", "cpu", "irql", "a", "b", "c")

    def __init__(self, tsc, type_, cpu, irql, c, a, b):
        self.tsc, self.type, self.cpu, self.irql = tsc, type_, cpu, irql
        self.a, self.b, self.c = a, b, c

    def __repr__(self):
        return "Event(%s cpu%d tsc=%d a=%#x b=%#x c=%#x)" % (
            self.type, self.cpu, self.tsc, self.a, self.b, self.c)


class Cpu:
    def __init__(self, number, written, size, dpc_routines, context_switches=None):
        self.number, self.written, self.size = number, written, size
        self.dpc_routines = dpc_routines        # the kernel's own count
        self.context_switches = context_switches  # KPRCB.ContextSwitches' delta; None: a v2 dump
        self.lost = max(0, written - size)      # overwritten before the dump
        self.read = 0                           # records found in the stream


class Trace:
    def __init__(self):
        self.tsc_hz = 0
        self.cpus = []
        self.events = []                        # every CPU's, ordered by TSC
        self.problems = []
        self.complete = False                   # the end marker was found
        self.lock_inits = {}                    # lock -> where it was initialised (its class)


def parse(data):
    """The dump in bytes -> Trace.  Raises ValueError only without a header."""
    trace = Trace()
    if len(data) < HEADER.size or data[:8] != MAGIC:
        raise ValueError("not a trace dump (no NTTRACE1 header)")
    _, version, ncpus, trace.tsc_hz, record_size, _ = HEADER.unpack_from(data)
    if version not in VERSIONS or record_size != RECORD.size:
        raise ValueError("trace dump version %d, record size %d: this tool reads 2 or 3, %d"
                         % (version, record_size, RECORD.size))
    offset = HEADER.size
    unknown = {}
    for _ in range(ncpus):
        if offset + CPU_HEADER.size > len(data):
            trace.problems.append("truncated: %d of %d CPUs present" % (len(trace.cpus), ncpus))
            break
        number, switches, written, size, dpcs = CPU_HEADER.unpack_from(data, offset)
        offset += CPU_HEADER.size
        cpu = Cpu(number, written, size, dpcs, switches if version >= 3 else None)
        trace.cpus.append(cpu)
        expected = min(written, size)
        available = (len(data) - offset) // RECORD.size
        for _ in range(min(expected, available)):
            tsc, type_, rcpu, irql, c, a, b = RECORD.unpack_from(data, offset)
            offset += RECORD.size
            cpu.read += 1
            name = TYPES.get(type_)
            if name is None:
                unknown[type_] = unknown.get(type_, 0) + 1
                continue
            trace.events.append(Event(tsc, name, rcpu, irql, c, a, b))
        if cpu.read < expected:
            trace.problems.append("truncated: CPU %d has %d of %d records"
                                  % (number, cpu.read, expected))
            break
        if cpu.lost:
            trace.problems.append("CPU %d: ring wrapped, the oldest %d of %d records lost"
                                  % (number, cpu.lost, written))
    offset = _parse_classes(data, offset, trace)
    trace.complete = data[offset:offset + len(END)] == END
    if not trace.complete and not any(p.startswith("truncated") for p in trace.problems):
        trace.problems.append("truncated: no end marker")
    for type_, count in sorted(unknown.items()):
        trace.problems.append("%d records of unknown type %d skipped" % (count, type_))
    # A stable sort: records of one CPU with equal stamps keep ring order.
    trace.events.sort(key=lambda e: e.tsc)
    return trace


def _parse_classes(data, offset, trace):
    """The validator's lock classes after the rings, if the stream got that
    far; returns the offset after them."""
    if data[offset:offset + len(CLASSES)] != CLASSES:
        return offset
    offset += len(CLASSES)
    if offset + CLASS_HEADER.size > len(data):
        trace.problems.append("truncated: in the lock classes")
        return len(data)
    count, _ = CLASS_HEADER.unpack_from(data, offset)
    offset += CLASS_HEADER.size
    for _ in range(count):
        if offset + CLASS_PAIR.size > len(data):
            trace.problems.append("truncated: %d of %d lock classes" % (len(trace.lock_inits), count))
            return len(data)
        lock, site = CLASS_PAIR.unpack_from(data, offset)
        offset += CLASS_PAIR.size
        trace.lock_inits[lock] = site
    return offset


def write(tsc_hz, cpus, end=True, lock_inits=(), version=3):
    """The inverse, for tests: cpus = [(number, written, size, dpcs, [record
    tuples][, context switches])], each record (tsc, type, cpu, irql, c, a,
    b); lock_inits = [(lock, site)]."""
    out = [HEADER.pack(MAGIC, version, len(cpus), tsc_hz, RECORD.size, 0)]
    for cpu in cpus:
        number, written, size, dpcs, records = cpu[:5]
        out.append(CPU_HEADER.pack(number, cpu[5] if len(cpu) > 5 else 0, written, size, dpcs))
        out.extend(RECORD.pack(*r) for r in records)
    out.append(CLASSES + CLASS_HEADER.pack(len(lock_inits), 0))
    out.extend(CLASS_PAIR.pack(*pair) for pair in lock_inits)
    if end:
        out.append(END)
    return b"".join(out)
