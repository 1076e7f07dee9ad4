"""Outputs never destroy what they are pointed at.

A character device (made with mknod in a temporary folder, never the real
/dev), a FIFO read by another process and "-" are written in place; a
symlink is followed and its target replaced; a missing folder fails before
the workload runs (< 1 s with a 10 s workload); the default pprof keeps its
predecessor as .old; a replaced file keeps its permission bits. Each of
record -o, --perf-data, --otlp, stat -o and import -o is checked.
"""
import gzip
import os
import shutil
import stat
import subprocess
import tempfile
import threading
import time

from common import PMUPROF, check, pprof_text, run, skip

d = tempfile.mkdtemp(prefix="pmuprof-out-")
REC = [PMUPROF, "record", "-e", "cpu-clock", "-c", "100000"]


def leftovers(folder):
    return [f for f in os.listdir(folder) if ".tmp" in f]


def ok(r, what):
    check(r.returncode == 0, f"{what}: exit {r.returncode}: {r.stderr}")


def is_pprof(data, what):
    check(data[:2] == b"\x1f\x8b", f"{what}: not gzip: {data[:16]!r}")
    p = os.path.join(d, "check.pb.gz")
    with open(p, "wb") as f:
        f.write(data)
    check("sample_type" in pprof_text(p), f"{what}: no sample types")
    os.unlink(p)


try:
    # A perf.data to import, recorded once.
    pd = os.path.join(d, "in.data")
    ok(run(REC + ["-o", os.path.join(d, "in.pb.gz"), "--perf-data", pd, "--", "true"]),
       "record --perf-data")

    # --- a character device, made here ------------------------------------
    if os.geteuid() != 0:
        print("SKIP part: mknod needs root (device-node outputs not checked)")
    else:
        dev = os.path.join(d, "null")
        os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        cases = [
            REC + ["-o", dev, "--", "true"],
            REC + ["-o", os.path.join(d, "x.pb.gz"), "--perf-data", dev, "--", "true"],
            REC + ["-o", os.path.join(d, "y.pb.gz"), "--otlp", dev, "--", "true"],
            [PMUPROF, "stat", "-e", "task-clock", "-o", dev, "--", "true"],
            [PMUPROF, "import", pd, "-o", dev, "--otlp", dev],
        ]
        for args in cases:
            ok(run(args), " ".join(args[1:]))
            st = os.lstat(dev)
            check(stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3),
                  f"{' '.join(args[1:])}: the device node was replaced ({oct(st.st_mode)})")
            check(not leftovers(d), f"temporary files left: {leftovers(d)}")
        print("ok: device nodes written in place by record -o/--perf-data/--otlp, stat -o, "
              "import -o/--otlp")

    # --- a symlink: followed, its target replaced, the link kept ------------
    real_dir = os.path.join(d, "real")
    os.mkdir(real_dir)
    target = os.path.join(real_dir, "prof.pb.gz")
    link = os.path.join(d, "link.pb.gz")
    os.symlink(target, link)  # dangling at first: the target is created
    for i in range(2):
        ok(run(REC + ["-o", link, "--", "true"]), "record -o symlink")
        check(os.path.islink(link) and os.readlink(link) == target,
              "the symlink was replaced instead of followed")
        check(os.path.isfile(target), "the symlink's target was not written")
        is_pprof(open(target, "rb").read(), "symlink target")
    rel = os.path.join(d, "rel.csv")
    os.symlink("real/counts.csv", rel)  # relative to the link's folder
    ok(run([PMUPROF, "stat", "-e", "task-clock", "-x", ",", "-o", rel, "--", "true"]),
       "stat -o relative symlink")
    check(os.path.islink(rel), "stat -o replaced the symlink")
    check("task-clock" in open(os.path.join(real_dir, "counts.csv")).read(),
          "stat -o did not write the symlink's target")
    check(not leftovers(d) and not leftovers(real_dir), "temporary files left")
    print("ok: symlinks followed (absolute, relative, dangling), links kept")

    # --- a FIFO read by another process -------------------------------------
    def read_fifo(path, out):
        with open(path, "rb") as f:
            out.append(f.read())

    for flag, checker in (("-o", "pprof"), ("--perf-data", "perf.data"),
                          ("--otlp", "otlp")):
        fifo = os.path.join(d, f"fifo{flag}")
        os.mkfifo(fifo)
        got = []
        t = threading.Thread(target=read_fifo, args=(fifo, got))
        t.start()
        args = REC + (["-o", fifo] if flag == "-o" else
                      ["-o", os.path.join(d, "z.pb.gz"), flag, fifo]) + ["--", "true"]
        r = run(args, timeout=60)
        t.join(30)
        ok(r, f"record {flag} FIFO")
        check(stat.S_ISFIFO(os.lstat(fifo).st_mode), f"{flag}: the FIFO was replaced")
        check(got and got[0], f"{flag}: the reader got nothing")
        if checker == "pprof":
            is_pprof(got[0], "FIFO")
        elif checker == "perf.data":
            check(got[0][:8] == b"PERFILE2", f"--perf-data FIFO: not perf.data: {got[0][:8]!r}")
            copy = os.path.join(d, "fifo-copy.data")
            with open(copy, "wb") as f:
                f.write(got[0])
            r = run(["perf", "report", "-i", copy, "--stdio", "--stats"])
            check(r.returncode == 0, f"perf cannot read the perf.data from the FIFO: {r.stderr}")
        else:
            check(len(got[0]) > 100, "--otlp FIFO: too few bytes")
    # A FIFO with no reader yet: as perf, wait for one before the workload starts, saying so.
    fifo = os.path.join(d, "late")
    os.mkfifo(fifo)
    marker = os.path.join(d, "workload-ran")
    p = subprocess.Popen(REC + ["-o", fifo, "--", "touch", marker], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    time.sleep(1.0)
    check(p.poll() is None, "record gave up on a FIFO with no reader yet")
    check(not os.path.exists(marker), "the workload ran before the FIFO had a reader")
    got = []
    read_fifo(fifo, got)
    p.wait(30)
    err = p.stderr.read().decode()
    check(p.returncode == 0, f"record -o late FIFO: {err}")
    check(f"waiting for a reader on the FIFO {fifo}" in err, f"not said: {err}")
    is_pprof(got[0], "late FIFO")
    print("ok: FIFOs (pprof, perf.data, OTLP; reader early and late) written in place")

    # --- "-": standard output -------------------------------------------------
    r = subprocess.run(REC + ["-o", "-", "--", "sh", "-c", "echo workload-says-hi"],
                       capture_output=True, timeout=60)
    check(r.returncode == 0, f"record -o -: {r.stderr.decode()}")
    is_pprof(r.stdout, "record -o -")
    check(b"workload-says-hi" in r.stderr and b"workload-says-hi" not in r.stdout,
          "record -o -: the command's output was not moved to stderr")
    check(b"wrote standard output" in r.stderr, f"summary: {r.stderr.decode()}")
    check(not os.path.exists("-"), "record -o - created a file named '-'")
    r = subprocess.run([PMUPROF, "import", pd, "-o", "-"], capture_output=True, timeout=60)
    check(r.returncode == 0, f"import -o -: {r.stderr.decode()}")
    is_pprof(r.stdout, "import -o -")
    r = run([PMUPROF, "stat", "-e", "task-clock", "-x", ",", "-o", "-", "--", "true"])
    ok(r, "stat -o -")
    check("task-clock" in r.stdout and "task-clock" not in r.stderr,
          f"stat -o -: stdout {r.stdout!r} stderr {r.stderr!r}")
    print("ok: -o - writes to standard output (record, import, stat)")

    # --- never onto the input, never two outputs on one target --------------------
    victim = os.path.join(d, "victim.data")
    shutil.copy(pd, victim)
    before = open(victim, "rb").read()
    link_to_victim = os.path.join(d, "victim-link.pb.gz")
    os.symlink(victim, link_to_victim)
    for args in ([PMUPROF, "import", victim, "-o", victim],
                 [PMUPROF, "import", victim, "-o", link_to_victim],
                 [PMUPROF, "import", victim, "-o", os.path.join(d, "i.pb.gz"), "--otlp", victim],
                 [PMUPROF, "c2c", "report", "-i", victim, "-o", victim]):
        r = run(args)
        check(r.returncode != 0, f"{args[1:]}: exit 0 writing onto its input")
        check("is the input" in r.stderr or "has no data addresses" in r.stderr,
              f"{args[1:]}: {r.stderr}")
        check(open(victim, "rb").read() == before, f"{args[1:]}: the input was changed")
    same = os.path.join(d, "same.bin")
    for args, what in ((REC + ["-o", "-", "--otlp", "-", "--", "true"], "stream"),
                       (REC + ["-o", "-", "--perf-data", "-", "--", "true"], "stream"),
                       (REC + ["-o", same, "--perf-data", same, "--", "true"], "file"),
                       ([PMUPROF, "import", pd, "-o", "-", "--otlp", "-"], "stream")):
        r = subprocess.run(args, capture_output=True, timeout=60)
        err = r.stderr.decode()
        check(r.returncode != 0 and f"are the same {what}" in err and not r.stdout,
              f"{args[1:]}: status {r.returncode}, {len(r.stdout)} bytes out: {err}")
    check(not os.path.exists(same), "a file was written for two outputs")
    print("ok: an output onto the input, or two outputs on one target, refused")

    # --perf-data - and --otlp -: the command's own output goes to stderr too
    r = subprocess.run(REC + ["-o", os.path.join(d, "pd.pb.gz"), "--perf-data", "-", "--",
                              "sh", "-c", "echo CHILD-STDOUT"], capture_output=True, timeout=60)
    check(r.returncode == 0 and r.stdout[:8] == b"PERFILE2" and b"CHILD-STDOUT" in r.stderr,
          f"--perf-data -: starts {r.stdout[:16]!r}, stderr {r.stderr.decode()[:200]}")
    print("ok: --perf-data - is perf.data alone, the command's output on stderr")

    # --- a missing folder fails before a 10 s workload ------------------------
    missing = os.path.join(d, "no-such-dir")
    for args, what in (
        (REC + ["-o", f"{missing}/a.pb.gz", "--", "sleep", "10"], "profile"),
        (REC + ["-o", f"{d}/b.pb.gz", "--perf-data", f"{missing}/a.data", "--", "sleep", "10"],
         "perf.data"),
        (REC + ["-o", f"{d}/b.pb.gz", "--otlp", f"{missing}/a.otlp", "--", "sleep", "10"],
         "OTLP file"),
        ([PMUPROF, "stat", "-e", "task-clock", "-o", f"{missing}/a.csv", "--", "sleep", "10"],
         "counts"),
    ):
        t0 = time.monotonic()
        r = run(args, timeout=30)
        took = time.monotonic() - t0
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        check(r.returncode != 0, f"{what}: exit 0 with a missing folder")
        check(took < 1.0, f"{what}: failed after {took:.2f} s (the workload ran)")
        check(len(lines) == 1 and f"cannot write {what} {missing}/" in lines[0] and
              "does not exist" in lines[0], f"{what}: message {lines}")
        print(f"ok: missing folder, {what}: {took * 1e3:.0f} ms: {lines[0]}")
    check(not os.path.exists(f"{d}/b.pb.gz"), "a profile was written after a failed start")

    # --- a folder is refused ----------------------------------------------------
    r = run(REC + ["-o", d, "--", "true"])
    check(r.returncode != 0 and "is a directory" in r.stderr, f"-o FOLDER: {r.stderr}")

    # --- the default output keeps its predecessor as .old ---------------------
    cwd = os.path.join(d, "cwd")
    os.mkdir(cwd)
    ok(run(REC + ["--", "true"], cwd=cwd), "record (default output) 1")
    first = open(os.path.join(cwd, "pmuprof.pb.gz"), "rb").read()
    ok(run(REC + ["--", "true"], cwd=cwd), "record (default output) 2")
    check(open(os.path.join(cwd, "pmuprof.pb.gz.old"), "rb").read() == first,
          "the previous pmuprof.pb.gz is not pmuprof.pb.gz.old")
    ok(run(REC + ["-o", "named.pb.gz", "--", "true"], cwd=cwd), "record -o named 1")
    ok(run(REC + ["-o", "named.pb.gz", "--", "true"], cwd=cwd), "record -o named 2")
    check(not os.path.exists(os.path.join(cwd, "named.pb.gz.old")),
          "an explicit -o kept a .old (only the default name does, as documented)")
    print("ok: default output kept as pmuprof.pb.gz.old")

    # --- a replaced file keeps its permission bits ------------------------------
    private = os.path.join(d, "private.pb.gz")
    open(private, "wb").close()
    os.chmod(private, 0o600)
    ok(run(REC + ["-o", private, "--", "true"]), "record -o private")
    check(stat.S_IMODE(os.stat(private).st_mode) == 0o600,
          f"mode became {oct(os.stat(private).st_mode)}")
    print("ok: a replaced file keeps mode 0600")
finally:
    shutil.rmtree(d, ignore_errors=True)
print("PASS")
