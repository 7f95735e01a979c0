"""A QEMU boot whose COM1 is this process's pipe: type, and read what came back.

Used by tests/shell_test.py (the shell's tests and the tour's doc test).
Python 3 standard library only.
"""
import os
import re
import socket
import subprocess
import threading
import time

PROMPT = "ntsync> "
ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


class Timeout(Exception):
    pass


class Session:
    def __init__(self, iso, smp=4, accel="tcg,thread=multi", debugcon=None, qemu="qemu-system-x86_64",
                 log=None, monitor=None, extra=()):
        """monitor: a unix socket path for QEMU's human monitor (HMP), which
        sendkey() types through: keys on the PS/2 keyboard, not COM1."""
        argv = [qemu, "-accel", accel, "-cpu", "max", "-smp", str(smp), "-m", "256M",
                "-no-reboot", "-display", "none", "-serial", "stdio",
                "-monitor", "unix:%s,server,nowait" % monitor if monitor else "none",
                "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
                "-cdrom", iso, "-boot", "d"] + list(extra)
        if debugcon:
            argv += ["-debugcon", "file:" + debugcon]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.raw = bytearray()
        self.cond = threading.Condition()
        self.sent = 0                   # bytes typed so far
        self.log = open(log, "wb") if log else None
        self.monitor_path = monitor
        self.monitor = None
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        fd = self.proc.stdout.fileno()
        while True:
            chunk = os.read(fd, 65536)
            with self.cond:
                if not chunk:
                    self.cond.notify_all()
                    return
                self.raw += chunk
                if self.log:
                    self.log.write(chunk)
                    self.log.flush()
                self.cond.notify_all()

    def text(self, start=0):
        """What came back from byte offset start on, CRs and ANSI codes out."""
        with self.cond:
            data = bytes(self.raw[start:])
        return ANSI_RE.sub("", data.decode("latin-1")).replace("\r", "")

    def mark(self):
        with self.cond:
            return len(self.raw)

    def type(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.proc.stdin.write(data)
        self.proc.stdin.flush()
        self.sent += len(data)

    def wait_for(self, pattern, start=0, timeout=20.0):
        """Wait until regex pattern matches the output after start; the match."""
        regex = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                text = ANSI_RE.sub("", bytes(self.raw[start:]).decode("latin-1")).replace("\r", "")
                m = regex.search(text)
                if m:
                    return m
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None and not self.reader.is_alive():
                    raise Timeout("no %r in %.0f s; got:\n%s" % (pattern, timeout, text[-2000:]))
                self.cond.wait(min(left, 0.2))

    def command(self, line, timeout=20.0):
        """Type a line; return its output (up to the next prompt)."""
        start = self.mark()
        self.type(line + "\r")
        m = self.wait_for(r"\n" + re.escape(PROMPT), start, timeout)
        text = self.text(start)
        out = text[:m.start()]
        first = out.find("\n")          # the echoed line itself
        return out[first + 1:] if first >= 0 else ""

    def hmp(self, command, timeout=10.0):
        """One HMP command; its reply (up to the next "(qemu)" prompt)."""
        if self.monitor is None:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    self.monitor = socket.socket(socket.AF_UNIX)
                    self.monitor.settimeout(timeout)
                    self.monitor.connect(self.monitor_path)
                    break
                except OSError:
                    self.monitor.close()
                    self.monitor = None
                    if time.monotonic() > deadline:
                        raise Timeout("no QEMU monitor at %s" % self.monitor_path)
                    time.sleep(0.1)
            self._hmp_reply()                   # the greeting
        self.monitor.sendall(command.encode() + b"\n")
        return self._hmp_reply()

    def _hmp_reply(self):
        reply = b""
        while b"(qemu)" not in reply:
            chunk = self.monitor.recv(4096)
            if not chunk:
                raise Timeout("the QEMU monitor closed")
            reply += chunk
        return reply.decode("latin-1")

    def sendkey(self, keys, hold_ms=20):
        """Press keys (QEMU key names, e.g. "a", "shift-1", "ret", "up") on
        the PS/2 keyboard, one after the other; QEMU queues each press and
        its release in order."""
        for key in keys:
            self.hmp("sendkey %s %d" % (key, hold_ms))

    def wait_exit(self, timeout=20.0):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def close(self):
        if self.monitor is not None:
            self.monitor.close()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(2)
        if self.log:
            self.log.close()
