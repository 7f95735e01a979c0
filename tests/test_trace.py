"""Unit tests of scripts/trace.py (scripts/ntrace/) on hand-made dumps:
ordering across CPUs by TSC, ring wrap-around, a truncated dump, an
unknown record type, slices and arrows, threads (the thread track, the
made-ready arrows, interrupt frames that follow their thread, the switch
counts), and the JSON against the Trace Event Format's rules.  python3 -m unittest tests/test_trace.py"""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from ntrace import chrome, parse, summary, svg      # noqa: E402
from ntrace.model import Model, Symbols             # noqa: E402

HZ = 1000000000                 # 1 GHz: one tick is one nanosecond
T = {name: number for number, name in parse.TYPES.items()}
LOCK, DPC, ROUTINE = 0x5000, 0x6000, 0x101010
IN_STACK = 2


def rec(tsc, name, cpu, a=0, b=0, c=0, irql=2):
    return (tsc, T[name], cpu, irql, c, a, b)


def hand_off_sample():
    """CPU 0 holds the lock and hands it to CPU 1, which waited; a DPC
    inserted by CPU 1 runs on CPU 0 inside its 0x2F interrupt."""
    cpu0 = [rec(1000, "lock_begin", 0, LOCK, c=IN_STACK),
            rec(1100, "lock_acquired", 0, LOCK, 0, IN_STACK),
            rec(3000, "lock_release", 0, LOCK, c=IN_STACK),
            rec(3050, "lock_handoff", 0, LOCK, c=IN_STACK),
            rec(9000, "interrupt_entry", 0, 0x2F, irql=2),
            rec(9100, "dpc_start", 0, ROUTINE, DPC),
            rec(9900, "dpc_end", 0, ROUTINE, DPC),
            rec(10000, "interrupt_exit", 0, 0x2F)]
    cpu1 = [rec(2000, "lock_begin", 1, LOCK, c=IN_STACK),
            rec(3200, "lock_acquired", 1, LOCK, 40, IN_STACK),
            rec(5000, "lock_release", 1, LOCK, c=IN_STACK),
            rec(8000, "dpc_insert", 1, ROUTINE, DPC, 0x0001)]
    return parse.write(HZ, [(0, len(cpu0), 16, 1, cpu0), (1, len(cpu1), 16, 0, cpu1)])


class ParseTest(unittest.TestCase):
    def test_events_of_all_cpus_are_ordered_by_tsc(self):
        trace = parse.parse(hand_off_sample())
        stamps = [e.tsc for e in trace.events]
        self.assertEqual(stamps, sorted(stamps))
        self.assertEqual([e.cpu for e in trace.events[:4]], [0, 0, 1, 0])
        self.assertEqual(trace.problems, [])
        self.assertTrue(trace.complete)

    def test_a_wrapped_ring_reports_the_lost_records(self):
        # 10 written into a ring of 4: the dump holds the newest 4, oldest first.
        kept = [rec(100 * n, "irql_raise", 0, 0, 2) for n in range(6, 10)]
        trace = parse.parse(parse.write(HZ, [(0, 10, 4, 0, kept)]))
        self.assertEqual(trace.cpus[0].lost, 6)
        self.assertEqual([e.tsc for e in trace.events], [600, 700, 800, 900])
        self.assertIn("CPU 0: ring wrapped, the oldest 6 of 10 records lost", trace.problems)

    def test_a_truncated_dump_keeps_what_arrived(self):
        data = hand_off_sample()
        cut = data[:parse.HEADER.size + parse.CPU_HEADER.size + 3 * parse.RECORD.size + 5]
        trace = parse.parse(cut)
        self.assertEqual(len(trace.events), 3)
        self.assertFalse(trace.complete)
        self.assertIn("truncated: CPU 0 has 3 of 8 records", trace.problems)
        Model(trace)                                    # still a model: no exception

    def test_an_unknown_record_type_is_reported_not_fatal(self):
        records = [rec(10, "irql_raise", 0, 0, 2), (20, 99, 0, 2, 0, 0, 0), rec(30, "irql_lower", 0, 2, 0)]
        trace = parse.parse(parse.write(HZ, [(0, 3, 8, 0, records)]))
        self.assertEqual([e.type for e in trace.events], ["irql_raise", "irql_lower"])
        self.assertIn("1 records of unknown type 99 skipped", trace.problems)

    def test_lock_classes_name_the_locks(self):
        # A lock the validator classed by where it was initialised, and one
        # in a global of its own class: the names say so.
        SITE, GLOBAL = 0x102000, 0x7000
        records = [rec(10, "lock_begin", 0, LOCK, c=1), rec(20, "lock_acquired", 0, LOCK, 0, 1),
                   rec(30, "lock_release", 0, LOCK, c=1),
                   rec(40, "lock_begin", 0, GLOBAL, c=1), rec(50, "lock_acquired", 0, GLOBAL, 0, 1),
                   rec(60, "lock_release", 0, GLOBAL, c=1)]
        trace = parse.parse(parse.write(HZ, [(0, 6, 8, 0, records)], lock_inits=[(LOCK, SITE + 0x20)]))
        self.assertEqual(trace.lock_inits, {LOCK: SITE + 0x20})
        self.assertTrue(trace.complete)
        model = Model(trace, Symbols("%016x T make_objects\n%016x B KtGlobalLock\n" % (SITE, GLOBAL)))
        names = sorted({s.name for s in model.slices})
        self.assertEqual(names, ["executive lock 0x5000 (class: initialised in make_objects)",
                                 "executive lock 0x7000 (KtGlobalLock)"])

    def test_a_truncated_class_table_is_reported(self):
        data = parse.write(HZ, [(0, 0, 8, 0, [])], lock_inits=[(1, 2), (3, 4)])
        trace = parse.parse(data[:-len(parse.END) - 8])
        self.assertEqual(trace.lock_inits, {1: 2})
        self.assertIn("truncated: 1 of 2 lock classes", trace.problems)

    def test_not_a_dump_is_refused(self):
        with self.assertRaises(ValueError):
            parse.parse(b"KTAP version 1\n")


class ModelTest(unittest.TestCase):
    def setUp(self):
        self.model = Model(parse.parse(hand_off_sample()), Symbols("%016x T kt_routine\n" % ROUTINE))

    def test_waits_holds_and_the_hand_off_arrow(self):
        holds = sorted((s.cpu, s.start, s.end) for s in self.model.by_kind("hold"))
        self.assertEqual(holds, [(0, 0.1, 2.0), (1, 2.2, 4.0)])      # us from the first event
        waits = self.model.by_kind("wait")
        self.assertEqual([(s.cpu, s.start, s.end) for s in waits], [(1, 1.0, 2.2)])
        self.assertEqual([(f.kind, f.src_cpu, f.src_ts, f.dst_cpu, f.dst_ts) for f in self.model.flows],
                         [("handoff", 0, 2.0, 1, 2.2)])

    def test_a_dpc_slice_nests_in_its_interrupt_with_its_latency(self):
        dpcs = self.model.by_kind("dpc")
        self.assertEqual([(s.cpu, s.name, s.start, s.end) for s in dpcs], [(0, "DPC kt_routine", 8.1, 8.9)])
        self.assertAlmostEqual(dpcs[0].args["latency_us"], 1.1)
        self.assertEqual([(s.name, s.start, s.end) for s in self.model.by_kind("isr")],
                         [("ISR 0x2F", 8.0, 9.0)])

    def test_irql_steps_follow_the_records(self):
        # A lower is recorded just before the mov to CR8: its level is the new one.
        records = [rec(0, "irql_raise", 0, 0, 2, irql=2), rec(1000, "irql_lower", 0, 2, 0, irql=2)]
        model = Model(parse.parse(parse.write(HZ, [(0, 2, 8, 0, records)])))
        self.assertEqual(model.irql[0], [(0.0, 2), (1.0, 0)])

    def test_summary_names_the_lock_and_the_dpc_count(self):
        text = summary.text(self.model)
        self.assertIn("in-stack queued lock 0x5000: 2 acquisitions", text)
        self.assertIn("DPC slices 1, DPC routines the kernel counted 1", text)

    def test_svg_has_a_lane_per_cpu_and_the_arrow(self):
        picture = svg.render(self.model)
        self.assertIn(">CPU 0<", picture)
        self.assertIn(">CPU 1<", picture)
        self.assertEqual(picture.count('marker-end="url(#arrow)"'), 1)


MAIN, PONG, EVENT = 0x102000, 0x103000, 0x7000
RUNNING, TERMINATED, WAITING = 2, 4, 5


def switch(tsc, cpu, old, state, new, routine):
    return rec(tsc, "thread_switch", cpu, routine, state << 32 | old, new, irql=12)


def threads_sample(version=3, counted=(4, 2)):
    """CPU 0: idle, then the main thread (#8), which readies the ponger
    (#12) for CPU 1 and blocks on EVENT; the ponger, switched to inside a
    0x2F interrupt its CPU's idle thread took, readies #8 and ends.  #8
    runs again from inside CPU 0's idle thread's 0x2F interrupt, and blocks
    again: the idle thread finishes that interrupt then."""
    cpu0 = [rec(0, "irql_lower", 0, 2, 0),         # time 0
            switch(1000, 0, 0, RUNNING, 8, MAIN),
            rec(2000, "thread_ready", 0, 12, 1, 8, irql=12),
            rec(3000, "thread_wait", 0, 8, EVENT, 1, irql=12),
            switch(3100, 0, 8, WAITING, 0, 0),
            rec(4200, "interrupt_entry", 0, 0x2F),
            switch(4300, 0, 0, RUNNING, 8, MAIN),
            switch(6000, 0, 8, WAITING, 0, 0),
            rec(6100, "interrupt_exit", 0, 0x2F)]
    cpu1 = [rec(2500, "interrupt_entry", 1, 0x2F),
            switch(2600, 1, 0, RUNNING, 12, PONG),
            rec(4000, "thread_ready", 1, 8, 0, 9, irql=12),
            switch(5000, 1, 12, TERMINATED, 0, 0),
            rec(5100, "interrupt_exit", 1, 0x2F)]
    return parse.write(HZ, [(0, len(cpu0), 16, 0, cpu0, counted[0]),
                            (1, len(cpu1), 16, 0, cpu1, counted[1])], version=version)


class ThreadTest(unittest.TestCase):
    SYMBOLS = Symbols("%016x T KiMainThread\n%016x T ponger\n" % (MAIN, PONG))

    def model(self, **kw):
        return Model(parse.parse(threads_sample(**kw)), self.SYMBOLS)

    def test_the_thread_track_says_who_ran_when(self):
        slices = [(s.cpu, s.start, s.end, s.name, s.args["left"]) for s in self.model().by_kind("thread")]
        self.assertEqual(sorted(slices), [
            (0, 1.0, 3.1, "KiMainThread #8", "waiting"), (0, 3.1, 4.3, "idle", "running"),
            (0, 4.3, 6.0, "KiMainThread #8", "waiting"), (1, 2.6, 5.0, "ponger #12", "terminated")])
        first = min(self.model().by_kind("thread"), key=lambda s: s.start)
        self.assertEqual(first.args["waiting_on"], "%#x" % EVENT)

    def test_a_lost_switch_draws_no_slice(self):
        # #8 was switched in, but the next record switches #12 out: the
        # switches between were lost (a wrapped ring), so nothing is drawn.
        records = [switch(1000, 0, 0, RUNNING, 8, MAIN), switch(3000, 0, 12, TERMINATED, 0, 0)]
        model = Model(parse.parse(parse.write(HZ, [(0, 9, 2, 0, records, 9)])))
        self.assertEqual(model.by_kind("thread"), [])
        self.assertEqual(model.switches, {0: 2})

    def test_made_ready_arrows_and_latency(self):
        model = self.model()
        flows = [(f.kind, f.src_cpu, f.src_ts, f.dst_cpu, f.dst_ts) for f in model.flows]
        self.assertEqual(flows, [("ready", 0, 2.0, 1, 2.6), ("ready", 1, 4.0, 0, 4.3)])
        self.assertEqual([round(v, 3) for v in model.threads[12].latency], [0.6])
        self.assertEqual([round(v, 3) for v in model.threads[8].latency], [0.3])
        self.assertEqual((model.threads[8].switches_in, round(sum(model.threads[8].run), 3)), (2, 3.8))

    def test_an_interrupt_frame_follows_its_thread(self):
        # Each 0x2F is cut at the switch inside it and resumed when the
        # thread that took it runs again: no slice spans another thread.
        isrs = sorted((s.cpu, s.start, s.end) for s in self.model().by_kind("isr"))
        self.assertEqual(isrs, [(0, 4.2, 4.3), (0, 6.0, 6.1), (1, 2.5, 2.6), (1, 5.0, 5.1)])

    def test_switches_are_held_against_the_kernels_count(self):
        model = self.model()
        self.assertEqual(model.switches, {0: 4, 1: 2})
        self.assertEqual(model.switch_mismatches(), [])
        self.assertEqual(self.model(counted=(4, 3)).switch_mismatches(), ["CPU 1: 2 traced, 3 counted"])
        old = self.model(version=2)             # version 2 had no count: nothing to hold
        self.assertEqual(old.trace.cpus[0].context_switches, None)
        self.assertEqual(old.switch_mismatches(), [])

    def test_summary_per_thread(self):
        text = summary.text(self.model())
        self.assertRegex(text, r"KiMainThread #8 +2 +3\.8 +0\.30 +0\.30 +0\.30 +0\.30")
        self.assertRegex(text, r"ponger #12 +1 +2\.4 +0\.60")
        self.assertIn("CPU 0: 4 switches traced, the kernel counted 4", text)
        self.assertIn("2 made ready", text)
        self.assertIn("the kernel counted -", summary.text(self.model(version=2)))

    def test_summary_lists_the_threads_that_ran_longest(self):
        records = [switch(1000 * n, 0, n + 3 if n else 0, WAITING, n + 4, MAIN) for n in range(40)]
        text = summary.text(Model(parse.parse(parse.write(HZ, [(0, 40, 64, 0, records, 40)]))))
        self.assertIn("... %d more threads" % (40 - summary.MAX_THREADS), text)
        self.assertNotIn("#%d " % (39 + 4), text)       # the one still running ran for nothing

    def test_svg_and_json_show_the_threads(self):
        model = self.model()
        picture = svg.render(model)
        self.assertEqual(picture.count('marker-end="url(#ready)"'), 2)
        self.assertIn("KiMainThread #8 1.70 us, then waiting", picture)
        doc = json.loads(json.dumps(chrome.document(model)))
        self.assertEqual(chrome.check(doc), [])
        threads = [(e["pid"], e["ts"], e["name"]) for e in doc["traceEvents"]
                   if e["ph"] == "X" and e.get("cat") == "thread"]
        self.assertEqual(sorted(threads), [(0, 1.0, "KiMainThread #8"), (0, 3.1, "idle"),
                                           (0, 4.3, "KiMainThread #8"), (1, 2.6, "ponger #12")])
        self.assertTrue(all(e["tid"] == chrome.THREADS for e in doc["traceEvents"]
                            if e.get("cat") in ("thread", "ready")))


class ChromeTest(unittest.TestCase):
    def test_the_json_follows_the_format(self):
        doc = json.loads(json.dumps(chrome.document(Model(parse.parse(hand_off_sample())))))
        self.assertEqual(chrome.check(doc), [])
        phases = [e["ph"] for e in doc["traceEvents"]]
        self.assertEqual(phases.count("B"), phases.count("E"))
        self.assertEqual((phases.count("s"), phases.count("f")), (1, 1))
        counters = [e for e in doc["traceEvents"] if e["ph"] == "C"]
        self.assertTrue(all(e["name"] == "IRQL" for e in counters))

    def test_slices_that_start_together_open_outer_first(self):
        # A DPC that starts on the very stamp its interrupt does.
        records = [rec(100, "interrupt_entry", 0, 0x2F), rec(100, "dpc_start", 0, ROUTINE, DPC),
                   rec(200, "dpc_end", 0, ROUTINE, DPC), rec(300, "interrupt_exit", 0, 0x2F)]
        doc = chrome.document(Model(parse.parse(parse.write(HZ, [(0, 4, 8, 1, records)]))))
        opened = [e["name"] for e in doc["traceEvents"] if e["ph"] == "B"]
        self.assertEqual(opened, ["ISR 0x2F", "DPC %#x" % ROUTINE])
        self.assertEqual(chrome.check(doc), [])

    def test_the_checker_catches_broken_documents(self):
        def doc(*events):
            return {"traceEvents": list(events)}
        b = {"ph": "B", "name": "x", "pid": 0, "tid": 0, "ts": 5}
        e = {"ph": "E", "pid": 0, "tid": 0, "ts": 4}
        self.assertIn("E before its B", " ".join(chrome.check(doc(b, e))))
        self.assertIn("B without E", " ".join(chrome.check(doc(b))))
        self.assertIn("E without B", " ".join(chrome.check(doc(e))))
        self.assertIn("unknown phase", " ".join(chrome.check(doc(dict(b, ph="Q")))))
        self.assertIn("pid/tid", " ".join(chrome.check(doc(dict(b, pid="0"), e))))
        self.assertIn("ts not", " ".join(chrome.check(doc({"ph": "i", "pid": 0, "tid": 0, "ts": -1}))))
        s = {"ph": "s", "id": 7, "pid": 0, "tid": 0, "ts": 3}
        self.assertIn("want one s and one f", " ".join(chrome.check(doc(s))))
        self.assertIn("ends before", " ".join(chrome.check(doc(s, dict(s, ph="f", ts=2)))))


if __name__ == "__main__":
    unittest.main()
