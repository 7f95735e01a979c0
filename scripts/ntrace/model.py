"""Events -> what a timeline shows: per-CPU IRQL steps, slices (ISRs, DPCs,
lock waits and holds, the thread that ran) and arrows (IPIs, queued-lock
hand-offs, a thread made ready to the switch that ran it).

Times are microseconds from the first event.  An event whose partner was
lost (overwritten in a wrapped ring, or after the dump started) gives no
slice: a slice is only drawn from two real stamps.
"""
import bisect
from .parse import LOCK_KINDS, THREAD_STATES


class Slice:
    __slots__ = ("cpu", "start", "end", "kind", "name", "args")

    def __init__(self, cpu, start, end, kind, name, args=None):
        self.cpu, self.start, self.end = cpu, start, end
        self.kind, self.name, self.args = kind, name, args or {}


class Flow:
    __slots__ = ("kind", "src_cpu", "src_ts", "dst_cpu", "dst_ts", "name")

    def __init__(self, kind, name, src_cpu, src_ts, dst_cpu, dst_ts):
        self.kind, self.name = kind, name
        self.src_cpu, self.src_ts, self.dst_cpu, self.dst_ts = src_cpu, src_ts, dst_cpu, dst_ts


class Thread:
    """What the summary says of one thread: switches in, run times, and
    ready-to-running latencies (us)."""

    def __init__(self, ident, name):
        self.id, self.name = ident, name
        self.switches_in, self.run, self.latency = 0, [], []


class Symbols:
    """Addresses -> names from `nm -n` output (build/*/kernel.sym)."""

    def __init__(self, text=""):
        self.addresses, self.names = [], []             # code
        self.data_addresses, self.data_names = [], []   # static variables (d, b)
        for line in text.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in "tT":
                self.addresses.append(int(parts[0], 16))
                self.names.append(parts[2])
            elif len(parts) == 3 and parts[1] in "dDbB":
                self.data_addresses.append(int(parts[0], 16))
                self.data_names.append(parts[2])

    @staticmethod
    def _lookup(addresses, names, address):
        i = bisect.bisect_right(addresses, address) - 1
        if i < 0 or not addresses:
            return None
        offset = address - addresses[i]
        return names[i] + ("+%#x" % offset if offset else "")

    def name(self, address):
        return self._lookup(self.addresses, self.names, address) or "%#x" % address

    def data_name(self, address):
        """A static variable's name (a lock in a global), or None."""
        return self._lookup(self.data_addresses, self.data_names, address)


class Model:
    def __init__(self, trace, symbols=None):
        self.trace = trace
        self.symbols = symbols or Symbols()
        self.cpus = sorted({c.number for c in trace.cpus} | {e.cpu for e in trace.events})
        self.t0 = trace.events[0].tsc if trace.events else 0
        self.hz = trace.tsc_hz or 1000000
        self.irql = {cpu: [] for cpu in self.cpus}     # [(ts, level)] at each change
        self.slices, self.flows, self.instants = [], [], []
        self.dpc_latency = {}                            # routine name -> [us]
        self.threads = {}                                # thread id -> Thread (0: the idle threads)
        self.switches = {cpu: 0 for cpu in self.cpus}    # switch records per CPU
        self._build()

    def us(self, tsc):
        return (tsc - self.t0) * 1e6 / self.hz

    @property
    def end(self):
        return self.us(self.trace.events[-1].tsc) if self.trace.events else 0.0

    def lock_name(self, address, kind):
        """Kind and address, and the class when the validator knows it: a
        lock initialised by KeInitializeSpinLock is classed by where (the
        caller, named by the call before its return address); any other
        lock is its own class, named by the global it lives in, if any."""
        name = "%s lock %#x" % (LOCK_KINDS.get(kind, "kind %d" % kind), address)
        site = self.trace.lock_inits.get(address)
        if site:
            return name + " (class: initialised in %s)" % self.symbols.name(site - 1).split("+")[0]
        static = self.symbols.data_name(address)
        return name + (" (%s)" % static if static else "")

    def thread(self, ident, routine=None):
        """The Thread of an id, named by its start routine once a switch
        said it: "kt_worker #12", "idle" for id 0."""
        t = self.threads.get(ident)
        if t is None:
            t = self.threads[ident] = Thread(ident, "idle" if ident == 0 else "thread #%d" % ident)
        if routine and ident:
            t.name = "%s #%d" % (self.symbols.name(routine), ident)
        return t

    def _build(self):
        running = {}                                     # cpu -> (thread id, ts it was switched in)
        readied = {}                                     # thread id -> (cpu, ts): ready, not yet run
        waits = {}                                       # thread id -> first object of its blocking wait
        stacks = {cpu: [] for cpu in self.cpus}          # open ISR / DPC slices of what runs
        parked = {}                                      # thread key -> its open ones, switched out
        inserted = {}                                    # KDPC -> insert ts
        locks = {}                                       # (cpu, lock) -> [begin ts, acquired ts, spins]
        handoffs = {}                                    # lock -> (cpu, ts of its release)
        released = {}                                    # (cpu, lock) -> ts of the last release
        ipis = {cpu: [] for cpu in self.cpus}            # pending IPIs to a CPU: [(cpu, ts)]
        for e in self.trace.events:
            ts = self.us(e.tsc)
            level = e.b if e.type == "irql_lower" else e.irql   # lower: recorded just before
            steps = self.irql.setdefault(e.cpu, [])
            if not steps or steps[-1][1] != level:
                steps.append((ts, level))
            stack = stacks.setdefault(e.cpu, [])
            if e.type == "interrupt_entry":
                stack.append(("isr", e.a, ts))
            elif e.type == "dpc_start":
                stack.append(("dpc", e.b, ts, e.a))
            elif e.type in ("interrupt_exit", "dpc_end"):
                self._close(stack, e, ts, inserted)
            elif e.type == "dpc_insert":
                inserted[e.b] = ts
            elif e.type == "lock_begin":
                locks[(e.cpu, e.a)] = [ts, None, 0]
            elif e.type == "lock_acquired":
                self._acquired(locks, handoffs, e, ts)
            elif e.type == "lock_release":
                state = locks.pop((e.cpu, e.a), None)
                released[(e.cpu, e.a)] = ts
                if state and state[1] is not None:
                    self.slices.append(Slice(e.cpu, state[1], ts, "hold", self.lock_name(e.a, e.c),
                                             {"lock": "%#x" % e.a, "spins": state[2]}))
            elif e.type == "lock_handoff":
                handoffs[e.a] = (e.cpu, released.get((e.cpu, e.a), ts))
            elif e.type == "ipi_send":
                for cpu in self.cpus:
                    if e.b >> cpu & 1:
                        ipis.setdefault(cpu, []).append((e.cpu, ts))
            elif e.type == "ipi_receive":
                if ipis.get(e.cpu):
                    src, sent = ipis[e.cpu].pop(0)
                    self.flows.append(Flow("ipi", "IPI %#x" % e.a, src, sent, e.cpu, ts))
            elif e.type == "thread_switch":
                self._switch(e, ts, running, readied, waits)
                self._park(e, ts, stacks, parked)
            elif e.type == "thread_ready":
                readied.setdefault(e.a, (e.cpu, ts))     # requeued meanwhile: still the first
            elif e.type == "thread_wait":
                waits[e.a] = e.b
            elif e.type == "bugcheck":
                self.instants.append((e.cpu, ts, "STOP 0x%08X (%#x, %#x)" % (e.a, e.b, e.c)))

    def _close(self, stack, e, ts, inserted):
        want = "isr" if e.type == "interrupt_exit" else "dpc"
        key = e.a if want == "isr" else e.b
        if not stack or stack[-1][0] != want or stack[-1][1] != key:
            return                                       # its start was lost
        top = stack.pop()
        if want == "isr":
            self.slices.append(Slice(e.cpu, top[2], ts, "isr", "ISR 0x%02X" % e.a,
                                     {"vector": e.a, "irql": e.a >> 4}))
            return
        routine = self.symbols.name(e.a)
        args = {"routine": routine, "dpc": "%#x" % e.b}
        if e.b in inserted:
            latency = top[2] - inserted.pop(e.b)
            args["latency_us"] = round(latency, 3)
            self.dpc_latency.setdefault(routine, []).append(latency)
        self.slices.append(Slice(e.cpu, top[2], ts, "dpc", "DPC " + routine, args))

    def _switch(self, e, ts, running, readied, waits):
        old, state, new = e.b & 0xFFFFFFFF, e.b >> 32, e.c
        self.switches[e.cpu] = self.switches.get(e.cpu, 0) + 1
        incoming = self.thread(new, e.a)
        incoming.switches_in += 1
        was = running.get(e.cpu)
        if was and was[0] == old:                        # else its switch-in was lost
            t = self.thread(old)
            t.run.append(ts - was[1])
            args = {"thread": old, "left": THREAD_STATES.get(state, "state %d" % state)}
            if state == 5 and old in waits:             # Waiting
                args["waiting_on"] = "%#x" % waits.pop(old)
            self.slices.append(Slice(e.cpu, was[1], ts, "thread", t.name, args))
        running[e.cpu] = (new, ts)
        ready = readied.pop(new, None)
        if ready and new:
            incoming.latency.append(ts - ready[1])
            self.flows.append(Flow("ready", "ready " + incoming.name, ready[0], ready[1], e.cpu, ts))

    def _park(self, e, ts, stacks, parked):
        """An interrupt frame belongs to the thread it interrupted, not to
        the CPU: the 0x2F handler may switch threads inside it, and that
        thread finishes the handler when it runs again, perhaps on another
        CPU.  So at a switch the old thread's open frames end their slices
        here and are put away, and the new thread's come back, restarted."""
        key = lambda ident: ident or ("idle", e.cpu)     # noqa: E731  idle threads stay put
        stack = stacks.get(e.cpu, [])
        for frame in stack:
            kind, name = ("isr", "ISR 0x%02X" % frame[1]) if frame[0] == "isr" else \
                         ("dpc", "DPC " + self.symbols.name(frame[3]))
            self.slices.append(Slice(e.cpu, frame[2], ts, kind, name, {"switched_out": True}))
        parked[key(e.b & 0xFFFFFFFF)] = [f[:2] + (None,) + f[3:] for f in stack]
        stacks[e.cpu] = [f[:2] + (ts,) + f[3:] for f in parked.pop(key(e.c), [])]

    def _acquired(self, locks, handoffs, e, ts):
        state = locks.get((e.cpu, e.a))
        if state is None:
            return                                       # its begin was lost
        state[1], state[2] = ts, e.b
        if e.b:                                          # it waited: a slice of its own
            self.slices.append(Slice(e.cpu, state[0], ts, "wait",
                                     "spin " + self.lock_name(e.a, e.c),
                                     {"lock": "%#x" % e.a, "spins": e.b}))
        handoff = handoffs.pop(e.a, None)
        if handoff:                                      # only a waiter is handed the lock
            self.flows.append(Flow("handoff", "hand-off", handoff[0], handoff[1], e.cpu, ts))

    def by_kind(self, kind):
        return [s for s in self.slices if s.kind == kind]

    def switch_mismatches(self):
        """CPUs whose switch records differ from the switches the kernel
        counted while tracing (KPRCB.ContextSwitches): "CPU n: a traced, b
        counted"; empty when they agree (or a version 2 dump cannot say)."""
        return ["CPU %d: %d traced, %d counted" % (c.number, self.switches.get(c.number, 0),
                                                   c.context_switches)
                for c in self.trace.cpus
                if c.context_switches is not None and c.context_switches != self.switches.get(c.number, 0)]
