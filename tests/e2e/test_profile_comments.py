"""The profile's comments (issue 12, points 8 and 9): `record -e` with 64 events
named by 110-character name= terms (the old fixed buffer overflowed the stack:
exit 139) and `import` of a synthetic perf.data with 64 events of
128-character names keep every name and count; each profile says lost and
throttled once; the label channel's counters appear only when a harness
published on it."""
import os
import tempfile

from common import *
import perfdata_gen as g

d = tempfile.mkdtemp()
spin = [bench("spin"), "--iters", "20000000"]


def lines_starting(comments, prefix):
    return [c for c in comments if c.startswith(prefix)]


def check_names(prof, names, counts, what):
    """One samples line holding NAME=COUNT for every event."""
    samples = lines_starting(prof["comments"], "samples: ")
    check(len(samples) == 1, f"{what}: no single samples line: {prof['comments']}")
    for n in names:
        check(f" {n}={counts}" in samples[0], f"{what}: event {n[:8]}... missing from {samples}")
    print(f"{what}: {len(samples[0])}-byte samples comment with all {len(names)} names")


def check_once(comments, what):
    check(len(lines_starting(comments, "lost samples: ")) == 1,
          f"{what}: not one 'lost samples' line: {comments}")
    check(sum(c.count("lost") for c in comments) == 1,
          f"{what}: lost counts said more than once: {comments}")
    check(sum(c.count("throttle") for c in comments) == 1,
          f"{what}: throttle counts said more than once: {comments}")
    check(not lines_starting(comments, "label channel"),
          f"{what}: label channel counters without a channel in use: {comments}")


# record: 64 events with long names (the event parser takes 127 characters an event string)
names = ["e%02d%s" % (i, "x" * 107) for i in range(64)]
out = os.path.join(d, "long.pb.gz")
r = run([PMUPROF, "record", "-e", ",".join(f"cpu-clock/name={n}/" for n in names), "-o", out,
         "--"] + spin, timeout=300)
check(r.returncode == 0, f"record with 64 long event names: exit {r.returncode}: {r.stderr[-500:]}")
prof = load_profile(out)
check_names(prof, names, "", "record")
check(all(n in prof["types"] for n in names), "a sample type is missing")
check_once(prof["comments"], "record -e 64 long names")

# record, plain: what a reader needs, nothing internal
out = os.path.join(d, "plain.pb.gz")
r = run([PMUPROF, "record", "-e", "cpu-clock", "-o", out, "--"] + spin, timeout=300)
check(r.returncode == 0, f"record: {r.stderr}")
prof = load_profile(out)
check_once(prof["comments"], "record")
print("record comments:", prof["comments"])

# import: 64 events of 128-character names (EVENT_UPDATE carries them whole)
s = g.Stream()
long_names = ["imp%02d%s" % (i, "y" * 123) for i in range(64)]
ids = [s.event(n, 1, 0) for n in long_names]  # PERF_TYPE_SOFTWARE, cpu-clock
s.comm(100, 100, "app", ids[0])
for k, eid in enumerate(ids):
    s.sample(eid, 100, 100, 0, 0x401000 + k, 0, 0, 0, period=1000)
data = os.path.join(d, "long.data")
s.write_pipe(data)
out = os.path.join(d, "import.pb.gz")
r = run([PMUPROF, "import", data, "--no-symbolize", "-o", out])
check(r.returncode == 0, f"import of 64 long-named events: exit {r.returncode}: {r.stderr[-500:]}")
prof = load_profile(out)
check_names(prof, long_names, 1, "import")
check_once(prof["comments"], "import")
print("PASS")
