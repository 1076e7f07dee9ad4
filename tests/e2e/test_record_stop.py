"""record ends when the user asks.

--duration bounds the sampling window whatever the consumer is doing (the
last sample's time in --perf-data, perf script as the reader, is within the
window; the profile's duration is the window); 500ms/2m forms are accepted;
SIGINT to a command that ignores it stops recording within ~1 s and leaves
the command running, saying so; a flood of 1000 'snapshot' commands on
--control is coalesced and cannot delay 'stop'.
"""
import os
import signal
import subprocess
import tempfile
import threading
import time

from common import PMUPROF, bench, check, load_profile, pprof_text, run, skip

d = tempfile.mkdtemp(prefix="pmuprof-stop-")
spin = bench("spin")

# --- durations as a user writes them -----------------------------------------
for good, secs in (("300ms", 0.3), ("0.3s", 0.3), ("0.3", 0.3)):
    out = os.path.join(d, "dur.pb.gz")
    t0 = time.monotonic()
    r = run([PMUPROF, "record", "-e", "cpu-clock", "-a", "--duration", good, "-o", out])
    took = time.monotonic() - t0
    check(r.returncode == 0, f"--duration {good}: {r.stderr}")
    m = [int(x) for x in __import__("re").findall(r"^duration_nanos: (\d+)", pprof_text(out),
                                                 __import__("re").M)]
    check(m and abs(m[0] / 1e9 - secs) < 0.05,
          f"--duration {good}: profile duration {m} ns, expected {secs} s")
    print(f"ok: --duration {good}: window {m[0] / 1e9:.3f} s, command took {took:.2f} s")
for bad in ("2x", "-1", "0", "ms", "1e400"):
    r = run([PMUPROF, "record", "-e", "cpu-clock", "-a", "--duration", bad, "-o",
             os.path.join(d, "bad.pb.gz")])
    check(r.returncode == 2 and "--duration needs a duration" in r.stderr,
          f"--duration {bad}: status {r.returncode}: {r.stderr}")
r = run([PMUPROF, "agent", "--interval", "2m", "--help"])
check(r.returncode == 0, f"agent accepts --interval 2m: {r.stderr}")

# --- the window holds however far behind the consumer is ----------------------
# Two busy workloads, system-wide, 20 K samples/s per CPU with DWARF stacks:
# unwinding keeps the consumer busy; sampling must still stop at 1 s.
busy = [subprocess.Popen([spin, "--iters", "100000000000"], stdout=subprocess.DEVNULL)
        for _ in range(2)]
try:
    data = os.path.join(d, "window.data")
    out = os.path.join(d, "window.pb.gz")
    t0 = time.monotonic()
    r = run([PMUPROF, "record", "-e", "cpu-clock", "-c", "50000", "-a", "--call-graph", "dwarf",
             "--duration", "1", "-o", out, "--perf-data", data], timeout=300)
    took = time.monotonic() - t0
finally:
    for p in busy:
        p.kill()
        p.wait()
check(r.returncode == 0, f"record -a --duration 1: {r.stderr}")
s = run(["perf", "script", "-i", data, "-F", "time", "--ns"], timeout=300)
check(s.returncode == 0, f"perf script: {s.stderr}")
times = [float(l.strip().rstrip(":")) for l in s.stdout.splitlines() if l.strip()]
check(len(times) > 100, f"only {len(times)} samples")
span = max(times) - min(times)
check(span <= 1.05, f"samples span {span:.3f} s with --duration 1 (the window was not kept)")
text = pprof_text(out)
dur = int(__import__("re").search(r"^duration_nanos: (\d+)", text, __import__("re").M).group(1))
check(0.95 < dur / 1e9 < 1.05, f"profile duration {dur / 1e9:.3f} s, expected the 1 s window")
check("processing after it" in text, "no comment on the processing time after the window")
print(f"ok: -a --duration 1 with DWARF stacks: samples span {span:.3f} s, profile duration "
      f"{dur / 1e9:.3f} s, pmuprof ran {took:.2f} s in all")

# --- SIGINT to a command that ignores it ---------------------------------------
script = os.path.join(d, "ignore.sh")
with open(script, "w") as f:
    f.write("trap '' INT TERM\nwhile :; do :; done\n")
out = os.path.join(d, "int.pb.gz")
# stderr to a file: the command left running keeps its copy of a pipe open
errf = open(os.path.join(d, "int.err"), "w+")
p = subprocess.Popen([PMUPROF, "record", "-e", "cpu-clock", "-o", out, "--", "sh", script],
                     stderr=errf, text=True)
time.sleep(1.0)
kids = run(["pgrep", "-P", str(p.pid)]).stdout.split()
check(kids, "the command did not start")
t0 = time.monotonic()
p.send_signal(signal.SIGINT)
try:
    p.wait(timeout=10)
    took = time.monotonic() - t0
    errf.seek(0)
    err = errf.read()
    alive = all(os.path.exists(f"/proc/{k}") for k in kids)
finally:
    for k in kids:
        try:
            os.kill(int(k), signal.SIGKILL)
        except ProcessLookupError:
            pass
check(took < 1.5, f"record took {took:.2f} s to stop after SIGINT")
check(p.returncode == 130, f"exit status {p.returncode}, expected 130 (SIGINT)")
check(alive, "the command was killed; it should be left running")
check("still running" in err and "leaving it running" in err, f"not said: {err}")
check(load_profile(out)["samples"], "no samples in the profile written after SIGINT")
print(f"ok: SIGINT ignored by the command: profile written {took * 1e3:.0f} ms after it, "
      f"command left running, status 130")

# --- a flood of control commands ------------------------------------------------
ctl, ack = os.path.join(d, "ctl"), os.path.join(d, "ack")
os.mkfifo(ctl)
os.mkfifo(ack)
out = os.path.join(d, "flood.pb.gz")
p = subprocess.Popen([PMUPROF, "record", "-e", "cpu-clock", "--control", f"fifo:{ctl},{ack}",
                      "-o", out, "--", spin, "--iters", "100000000000"],
                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
acks = os.open(ack, os.O_RDONLY | os.O_NONBLOCK)
got = bytearray()


def read_acks():
    while p.poll() is None:
        try:
            got.extend(os.read(acks, 65536))
        except BlockingIOError:
            time.sleep(0.01)


reader = threading.Thread(target=read_acks)
reader.start()
time.sleep(0.5)
w = os.open(ctl, os.O_WRONLY)
os.write(w, b"snapshot\n" * 1000)
t0 = time.monotonic()
os.write(w, b"stop\n")
os.close(w)
try:
    _, err = p.communicate(timeout=30)
finally:
    if p.poll() is None:
        p.kill()
took = time.monotonic() - t0
reader.join(5)
os.close(acks)
check(p.returncode in (0, 143, -15), f"status {p.returncode}: {err}")
check(took < 1.5, f"stop after 1000 snapshots took {took:.2f} s")
check(got.count(b"ack\n") == 1001, f"{got.count(b'ack')} acks for 1001 commands")
check(load_profile(out)["samples"], "no samples after stop")
print(f"ok: 1000 snapshots then stop: stopped {took * 1e3:.0f} ms after the stop, 1001 acks")

# --- --control stop: the command gets SIGTERM, and its exit status is ours ----------
for body, want in (("trap 'exit 9' TERM; while :; do sleep 0.05; done", 9),
                   (f"exec {spin} --iters 100000000000", 143)):
    ctl, ack = os.path.join(d, f"c{want}"), os.path.join(d, f"a{want}")
    os.mkfifo(ctl)
    os.mkfifo(ack)
    p = subprocess.Popen([PMUPROF, "record", "-e", "cpu-clock", "--control", f"fifo:{ctl},{ack}",
                          "-o", os.path.join(d, "stop.pb.gz"), "--", "sh", "-c", body],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    acks = os.open(ack, os.O_RDONLY | os.O_NONBLOCK)
    time.sleep(0.5)
    with open(ctl, "w") as f:
        f.write("stop\n")
    _, err = p.communicate(timeout=30)
    os.close(acks)
    check(p.returncode == want, f"--control stop: status {p.returncode}, the command's is {want}")
    print(f"ok: --control stop returns the command's status ({want})")
print("PASS")
