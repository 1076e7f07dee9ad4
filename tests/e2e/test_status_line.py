"""The live status line (issue 17, point 5): a record of a few seconds whose
stderr is a terminal shows "[ pmuprof record: N s, S samples, L lost, M MB ]"
rewritten in place (carriage return, erase to the end of line) once a second,
with counts that grow, and cleared before the summary; with stderr a pipe
there is none. The same for the agent."""
import os
import pty
import re
import select
import subprocess
import tempfile

from common import *

d = tempfile.mkdtemp()
STATUS = re.compile(r"\r\[ pmuprof (\w+): (\d+) s, ([\d,]+) samples, ([\d,]+) lost, "
                    r"([\d.]+) MB \]\x1b\[K")


def run_on_tty(args, timeout=120):
    """(exit status, everything written to the terminal that was its stderr)."""
    master, slave = pty.openpty()
    env = dict(os.environ, TERM="xterm")
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=slave, env=env)
    os.close(slave)
    out = b""
    while True:
        r, _, _ = select.select([master], [], [], timeout)
        if not r:
            p.kill()
            fail(f"{args}: nothing on the terminal for {timeout} s")
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    return p.wait(timeout=timeout), out.decode(errors="replace")


def check_lines(name, text, min_lines):
    lines = STATUS.findall(text)
    check(len(lines) >= min_lines, f"{name}: {len(lines)} status lines, want >= {min_lines}:\n"
          f"{text!r}")
    secs = [int(l[1]) for l in lines]
    samples = [int(l[2].replace(",", "")) for l in lines]
    check(secs == sorted(secs) and samples == sorted(samples) and samples[-1] > 0,
          f"{name}: elapsed and samples should grow: {lines}")
    check(text.rfind("\r\x1b[K") > text.rfind("MB ]"),
          f"{name}: the status line is not cleared at the end:\n{text!r}")
    return lines


spin = [bench("spin"), "--iters", "2500000000"]
out = os.path.join(d, "tty.pb.gz")
rc, text = run_on_tty([PMUPROF, "record", "-e", "cpu-clock", "-c", "1000000", "-o", out, "--"]
                      + spin)
check(rc == 0, f"record on a terminal: exit {rc}:\n{text}")
lines = check_lines("record", text, 2)
summary = text[text.rfind("\r\x1b[K") + 4:]
check("pmuprof record: samples" in summary, f"the summary should follow the cleared line:\n{text!r}")

r = run([PMUPROF, "record", "-e", "cpu-clock", "-c", "1000000", "-o", os.path.join(d, "pipe.pb.gz"),
         "--"] + spin, timeout=120)
check(r.returncode == 0, f"record with stderr a pipe failed: {r.stderr}")
check("\r" not in r.stderr and "\x1b[" not in r.stderr,
      f"no status line when stderr is not a terminal: {r.stderr!r}")

rc, text = run_on_tty([PMUPROF, "agent", "-e", "cpu-clock", "-F", "199", "--interval", "1",
                       "--duration", "3", "--pprof-dir", d])
check(rc == 0, f"agent on a terminal: exit {rc}:\n{text}")
alines = check_lines("agent", text, 1)
print(f"ok: record showed {len(lines)} status lines (last {lines[-1]}); agent {len(alines)}")
