"""Self-test of tests/runner.py against a fake QEMU.

Run: python3 -m unittest tests/test_runner_selftest.py

The fake QEMU (written into a temp dir) decodes the -fw_cfg cmdline string
(",," = literal comma), picks a canned case for "<smp>:<test>", "<test>" or "*"
from a JSON scenario file, writes its serial output to the -serial file: path,
optionally sleeps, and exits with the case's status.
"""
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.join(HERE, "runner.py")

FAKE_QEMU = r'''
import json, os, sys, time
argv = sys.argv[1:]
def opt(name):
    return argv[argv.index(name) + 1]
fw, parts, cur, i = opt("-fw_cfg"), [], "", 0
while i < len(fw):
    if fw[i] == "," and fw[i + 1:i + 2] == ",":
        cur, i = cur + ",", i + 2
    elif fw[i] == ",":
        parts, cur, i = parts + [cur], "", i + 1
    else:
        cur, i = cur + fw[i], i + 1
kv = dict(p.split("=", 1) for p in parts + [cur])
assert kv["name"] == "opt/ntsync/cmdline", kv
cmdline, smp = kv["string"], opt("-smp")
test = cmdline.split()[0][len("test="):]
path = os.environ["FAKE_QEMU_SCENARIO"]
with open(path + ".calls", "a") as f:
    f.write(json.dumps({"argv": argv, "cmdline": cmdline}) + "\n")
with open(path) as f:
    sc = json.load(f)
case = sc.get(smp + ":" + test) or sc.get(test) or sc["*"]
with open(opt("-serial")[len("file:"):], "w") as f:
    f.write(case["out"])
    f.flush()
    time.sleep(case.get("sleep", 0))
sys.exit(case["status"])
'''

NORMAL_OK = """\x1b[2J\x1b[HGRUB loading...
KTAP version 1
1..3
    # starting irql tests
ok 1 irql_raise_lower
[cpu1] ok 2 spinlock_basic
some unrelated noise
ok 3 dpc_queue # SKIP needs 2 cpus
# negative fault_divide_error STOP 0x0000001E
# negative irql_bad STOP 0x0000000A
"""

NORMAL_FAIL = """KTAP version 1
1..3
ok 1 irql_raise_lower
    # tests/kernel/test_spinlock.c:42: expected 2, got 3
not ok 2 spinlock_basic
ok 3 dpc_queue # SKIP needs 2 cpus
"""

PARTIAL = "KTAP version 1\n1..3\nok 1 irql_raise_lower\n"


def stop_screen(code, name, params):
    return ("*** STOP: 0x%08X (%s)\n%s\nCPU 1 IRQL 2\nRIP=FFFFFFFF80101234\nbacktrace:\n  #0 foo\n"
            % (code, ",".join("0x%016X" % p for p in params), name))


def negative(expect, code, name, params):
    return ("KTAP version 1\n1..1\n# EXPECT STOP %s\n[cpu1] " % expect) + stop_screen(code, name, params)


DIVIDE = negative("0x0000001E P1=0xFFFFFFFFC0000094 P2=* P3=* P4=*", 0x1E, "KMODE_EXCEPTION_NOT_HANDLED",
                  [0xFFFFFFFFC0000094, 0xFFFFFFFF80100000, 0, 0])
IRQL_EXPECT = "0x0000000A P1=0x0000000000001234 P2=* P3=0x0000000000000001 P4=*"
IRQL_GOOD = negative(IRQL_EXPECT, 0xA, "IRQL_NOT_LESS_OR_EQUAL", [0x1234, 2, 1, 0xFFFFFFFF80101234])
IRQL_BAD_P3 = negative(IRQL_EXPECT, 0xA, "IRQL_NOT_LESS_OR_EQUAL", [0x1234, 2, 2, 0xFFFFFFFF80101234])
IRQL_BAD_CODE = negative(IRQL_EXPECT, 0xD1, "DRIVER_IRQL_NOT_LESS_OR_EQUAL", [0x1234, 2, 1, 0])


def load_runner():
    spec = importlib.util.spec_from_file_location("runner", RUNNER)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class RunnerSelfTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.qemu = os.path.join(self.dir, "fake-qemu")
        with open(self.qemu, "w") as f:
            f.write("#!" + sys.executable + "\n" + FAKE_QEMU)
        os.chmod(self.qemu, 0o755)
        self.iso = os.path.join(self.dir, "kernel.iso")
        open(self.iso, "w").close()
        self.scenario = os.path.join(self.dir, "scenario.json")
        self.logs = os.path.join(self.dir, "logs")

    def tearDown(self):
        self.tmp.cleanup()

    def run_runner(self, cases, *extra, smp="1", neg_smp="2"):
        with open(self.scenario, "w") as f:
            json.dump(cases, f)
        env = dict(os.environ, FAKE_QEMU_SCENARIO=self.scenario)
        cmd = [sys.executable, RUNNER, "--qemu", self.qemu, "--iso", self.iso, "--smp", smp,
               "--neg-smp", neg_smp, "--log-dir", self.logs, "--timeout", "20"] + list(extra)
        p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, timeout=60)
        return p.returncode, p.stdout, p.stderr

    def calls(self):
        with open(self.scenario + ".calls") as f:
            return [json.loads(l) for l in f]

    def test_all_pass_with_negatives(self):
        cases = {"1:all": {"out": NORMAL_OK, "status": 33, "sleep": 1.0},
                 "all": {"out": NORMAL_OK, "status": 33},
                 "fault_divide_error": {"out": DIVIDE, "status": 37},
                 "irql_bad": {"out": IRQL_GOOD, "status": 37}}
        rc, out, err = self.run_runner(cases, "--cmdline", "foo=a,b", "--jobs", "2", "--label", "checked",
                                       smp="1 2")
        self.assertEqual(rc, 0, out + err)
        lines = out.splitlines()
        self.assertEqual(lines[0], "KTAP version 1")
        # the slow smp=1 boot still comes first
        self.assertEqual([l for l in lines if l.startswith(("ok", "not ok"))], [
            "ok 1 smp=1 irql_raise_lower", "ok 2 smp=1 spinlock_basic",
            "ok 3 smp=1 dpc_queue # SKIP needs 2 cpus",
            "ok 4 smp=2 irql_raise_lower", "ok 5 smp=2 spinlock_basic",
            "ok 6 smp=2 dpc_queue # SKIP needs 2 cpus",
            "ok 7 smp=2 fault_divide_error # STOP 0x0000001E KMODE_EXCEPTION_NOT_HANDLED",
            "ok 8 smp=2 irql_bad # STOP 0x0000000A IRQL_NOT_LESS_OR_EQUAL"])
        self.assertIn("# boot smp=1 test=all (", out)
        self.assertEqual(lines[-2:], ["1..8", "6 passed, 0 failed, 2 skipped"])
        for name in ("smp1-all", "smp2-all", "smp2-fault_divide_error", "smp2-irql_bad"):
            self.assertTrue(os.path.isfile(os.path.join(self.logs, name + ".log")), name)
        calls = self.calls()
        self.assertIn("test=all expect_cpus=1 foo=a,b", [c["cmdline"] for c in calls])
        argv = calls[0]["argv"]
        self.assertIn("name=opt/ntsync/cmdline,string=test=all expect_cpus=%s foo=a,,b"
                      % argv[argv.index("-smp") + 1], argv)
        self.assertEqual(argv[argv.index("-accel") + 1], "tcg,thread=multi")
        self.assertIn("isa-debug-exit,iobase=0xf4,iosize=0x04", argv)

    def test_failing_test(self):
        rc, out, _ = self.run_runner({"*": {"out": NORMAL_FAIL, "status": 35}}, neg_smp="")
        self.assertEqual(rc, 1)
        self.assertIn("not ok 2 smp=1 spinlock_basic\n    # tests/kernel/test_spinlock.c:42: expected 2, got 3\n", out)
        self.assertIn("# log: " + os.path.join(self.logs, "smp1-all.log"), out)
        self.assertEqual(out.splitlines()[-1], "1 passed, 1 failed, 1 skipped")

    def test_exit_failed_but_all_ok_is_inconsistent(self):
        rc, out, _ = self.run_runner({"*": {"out": NORMAL_OK, "status": 35}}, neg_smp="")
        self.assertEqual(rc, 1)
        self.assertIn("not ok 4 smp=1 boot:test=all # exit 35 (failed) but every result is ok", out)

    def test_missing_plan_and_count_mismatch(self):
        rc, out, _ = self.run_runner({"*": {"out": "KTAP version 1\nok 1 a\n", "status": 33}})
        self.assertEqual(rc, 1)
        self.assertIn("boot:test=all # no plan line", out)
        rc, out, _ = self.run_runner({"*": {"out": "KTAP version 1\n1..2\nok 1 a\n", "status": 33}})
        self.assertEqual(rc, 1)
        self.assertIn("plan says 2 tests but 1 results", out)

    def negative_run(self, neg_case):
        cases = {"all": {"out": NORMAL_OK, "status": 33},
                 "fault_divide_error": {"out": DIVIDE, "status": 37}, "irql_bad": neg_case}
        return self.run_runner(cases)

    def test_negative_wrong_parameter(self):
        rc, out, _ = self.negative_run({"out": IRQL_BAD_P3, "status": 37})
        self.assertEqual(rc, 1)
        self.assertIn("not ok 5 smp=2 irql_bad # wrong P3: expected 0x0000000000000001, "
                      "got 0x0000000000000002", out)
        self.assertIn("ok 4 smp=2 fault_divide_error # STOP", out)
        self.assertIn("    #   [cpu1] *** STOP: 0x0000000A (", out)        # log tail
        self.assertIn("# log: " + os.path.join(self.logs, "smp2-irql_bad.log"), out)

    def test_negative_expected_line(self):
        nested = "*** nested bug check 0x000000E2 (0x1,0x2,0x3,0x4) while printing the STOP screen\n"
        with_line = IRQL_GOOD.replace("# EXPECT STOP", "# EXPECT LINE *** nested bug check 0x000000E2\n"
                                      "# EXPECT STOP")
        rc, out, _ = self.negative_run({"out": with_line + nested, "status": 37})
        self.assertEqual(rc, 0, out)
        self.assertIn("ok 5 smp=2 irql_bad # STOP 0x0000000A", out)
        rc, out, _ = self.negative_run({"out": with_line, "status": 37})
        self.assertEqual(rc, 1)
        self.assertIn("irql_bad # no line matching '*** nested bug check 0x000000E2' after "
                      "the STOP line", out)

    def test_negative_expected_lines_in_order(self):
        frames = "Backtrace:\n  #0  0x0000000000101010 chain_b+0x1a\n  #1  0x0000000000101020 chain_a+0x9\n"
        expect = "# EXPECT LINE   #0 *chain_b+\n# EXPECT LINE   #1 *chain_a+\n# EXPECT STOP"
        rc, out, _ = self.negative_run({"out": IRQL_GOOD.replace("# EXPECT STOP", expect) + frames,
                                        "status": 37})
        self.assertEqual(rc, 0, out)
        swapped = "# EXPECT LINE   #1 *chain_a+\n# EXPECT LINE   #0 *chain_b+\n# EXPECT STOP"
        rc, out, _ = self.negative_run({"out": IRQL_GOOD.replace("# EXPECT STOP", swapped) + frames,
                                        "status": 37})
        self.assertEqual(rc, 1)
        self.assertIn("no line matching '  #0 *chain_b+' after the STOP line and the lines "
                      "expected before it", out)

    def test_negative_wrong_code(self):
        rc, out, _ = self.negative_run({"out": IRQL_BAD_CODE, "status": 37})
        self.assertEqual(rc, 1)
        self.assertIn("irql_bad # wrong STOP code: expected 0x0000000A, got 0x000000D1 "
                      "(DRIVER_IRQL_NOT_LESS_OR_EQUAL)", out)

    def test_negative_no_bug_check(self):
        out_text = "KTAP version 1\n1..1\n# EXPECT STOP %s\nnot ok 1 irql_bad\n" % IRQL_EXPECT
        rc, out, _ = self.negative_run({"out": out_text, "status": 35})
        self.assertEqual(rc, 1)
        self.assertIn("irql_bad # no bug check: kernel exited with 'tests failed' (35)", out)
        self.assertEqual(out.splitlines()[-1], "3 passed, 1 failed, 1 skipped")

    def test_negative_without_expect_line(self):
        rc, out, _ = self.negative_run({"out": "KTAP version 1\n1..1\n" + stop_screen(
            0xA, "IRQL_NOT_LESS_OR_EQUAL", [0, 0, 0, 0]), "status": 37})
        self.assertEqual(rc, 1)
        self.assertIn("irql_bad # no '# EXPECT STOP' line", out)

    def test_negative_timeout(self):
        out_text = "KTAP version 1\n1..1\n# EXPECT STOP %s\n" % IRQL_EXPECT
        cases = {"all": {"out": NORMAL_OK, "status": 33}, "fault_divide_error": {"out": DIVIDE, "status": 37},
                 "irql_bad": {"out": out_text, "status": 37, "sleep": 30}}
        start = time.monotonic()
        rc, out, _ = self.run_runner(cases, "--timeout", "1")
        self.assertLess(time.monotonic() - start, 15)
        self.assertEqual(rc, 1)
        self.assertIn("irql_bad # timeout: killed after 1 s; expected a bug check", out)

    def test_normal_timeout(self):
        start = time.monotonic()
        rc, out, _ = self.run_runner({"*": {"out": PARTIAL, "status": 33, "sleep": 30}}, "--timeout", "1")
        self.assertLess(time.monotonic() - start, 15)
        self.assertEqual(rc, 1)
        self.assertIn("ok 1 smp=1 irql_raise_lower\nnot ok 2 smp=1 unreported_test_2 # timeout\n"
                      "not ok 3 smp=1 unreported_test_3 # timeout\n"
                      "not ok 4 smp=1 boot:test=all # timeout: killed after 1 s\n", out)
        self.assertIn("# negative tests not run", out)
        self.assertEqual(out.splitlines()[-1], "1 passed, 3 failed")

    def test_crash_mid_plan(self):
        rc, out, _ = self.run_runner({"*": {"out": PARTIAL + "[cpu0] triple fault?\n", "status": 0}})
        self.assertEqual(rc, 1)
        self.assertIn("not ok 2 smp=1 unreported_test_2 # crashed\n", out)
        self.assertIn("not ok 4 smp=1 boot:test=all # crash: QEMU exit 0", out)
        self.assertIn("    #   [cpu0] triple fault?", out)

    def test_negatives_found_in_a_crashed_boot(self):
        listing = "KTAP version 1\n1..3\n# negative irql_bad STOP 0x0000000A\nok 1 irql_raise_lower\n"
        cases = {"all": {"out": listing, "status": 0}, "irql_bad": {"out": IRQL_GOOD, "status": 37}}
        rc, out, _ = self.run_runner(cases)
        self.assertEqual(rc, 1)
        self.assertIn("ok 5 smp=2 irql_bad # STOP 0x0000000A IRQL_NOT_LESS_OR_EQUAL", out)
        self.assertEqual(out.splitlines()[-1], "2 passed, 3 failed")

    def test_unexpected_bug_check(self):
        text = PARTIAL + stop_screen(0x7F, "UNEXPECTED_KERNEL_MODE_TRAP", [8, 0, 0, 0])
        rc, out, _ = self.run_runner({"*": {"out": text, "status": 37}})
        self.assertEqual(rc, 1)
        self.assertIn("boot:test=all # unexpected bug check STOP 0x0000007F UNEXPECTED_KERNEL_MODE_TRAP", out)
        self.assertIn("    # STOP screen (with up to 5 lines before it):\n    #   KTAP version 1\n", out)
        self.assertIn("    #   ok 1 irql_raise_lower\n    #   *** STOP: 0x0000007F (0x0000000000000008,", out)

    def test_filter_naming_a_negative_test(self):
        rc, out, _ = self.run_runner({"*": {"out": IRQL_GOOD, "status": 37}}, "--filter", "irql_bad")
        self.assertEqual(rc, 0, out)
        self.assertIn("ok 1 smp=1 irql_bad # STOP 0x0000000A IRQL_NOT_LESS_OR_EQUAL", out)

    def test_list(self):
        rc, out, _ = self.run_runner({"*": {"out": NORMAL_OK, "status": 33}}, "--list")
        self.assertEqual(rc, 0)
        self.assertEqual(out.splitlines(), ["irql_raise_lower", "spinlock_basic", "dpc_queue",
                                            "fault_divide_error (negative, STOP 0x0000001E)",
                                            "irql_bad (negative, STOP 0x0000000A)"])

    def test_usage_errors(self):
        rc, _, err = self.run_runner({}, "--iso", os.path.join(self.dir, "nope.iso"))
        self.assertEqual(rc, 2)
        self.assertIn("make", err)
        rc, _, err = self.run_runner({}, "--qemu", "/nonexistent/qemu-system-x86_64")
        self.assertEqual(rc, 2)
        self.assertIn("qemu-system-x86", err)
        rc, _, err = self.run_runner({}, smp="0")
        self.assertEqual(rc, 2)

    def test_parser(self):
        runner = load_runner()
        p = runner.parse_log("junk\r\n[cpu12] KTAP version 1\r\n[cpu0] 1..2\n    # diag a\n"
                             "ok 1 x\n  ok 9 nested\nnot ok 2 y # SKIP why\n" + IRQL_GOOD)
        self.assertTrue(p.header)
        self.assertEqual(p.plan, 2)
        self.assertEqual([(r.num, r.ok, r.name, r.skipped) for r in p.results],
                         [(1, True, "x", False), (2, False, "y", True)])
        self.assertEqual(p.results[0].diag, ["diag a"])
        self.assertEqual(p.expect, (0xA, [0x1234, None, 1, None]))
        self.assertEqual((p.stop.code, p.stop.name, p.stop.params[3]),
                         (0xA, "IRQL_NOT_LESS_OR_EQUAL", 0xFFFFFFFF80101234))


if __name__ == "__main__":
    unittest.main()
