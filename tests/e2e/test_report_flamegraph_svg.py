"""pmuprof report --flamegraph OUT.svg: a static flame graph of one sample type (-e
chooses), which headless Chromium parses as SVG and draws: the frames are rects with
their name, value and share as a tooltip title, widths proportional to their values,
the root at the bottom."""
import os
import re
import tempfile

from common import *
import cdp

b = cdp.browser_or_skip()

d = tempfile.mkdtemp()
pb = os.path.join(d, "mix.pb.gz")
r = run([PMUPROF, "record", "-g", "-e", "cpu-clock,page-faults", "-o", pb, "--", bench("mix"),
         "--scale", "0.3"], timeout=300)
check(r.returncode == 0, f"pmuprof record failed: {r.stderr}")
svgs = {}
for ev in ("cpu-clock", "page-faults"):
    svgs[ev] = os.path.join(d, f"mix-{ev}.svg")
    r = run([PMUPROF, "report", pb, "--flamegraph", svgs[ev], "-e", ev], timeout=300)
    check(r.returncode == 0 and r.stdout == "", f"report --flamegraph -e {ev}: {r.stderr}")

FRAMES = """[...document.querySelectorAll('g.frame')].map(g => {
    const r = g.querySelector('rect').getBoundingClientRect();
    return {title: g.querySelector('title').textContent, x: r.x, y: r.y, w: r.width}; })"""
try:
    shares = {}
    for ev, path in svgs.items():
        b.load("file://" + path)
        root = b.eval("[document.documentElement.namespaceURI, document.documentElement.tagName,"
                      " document.querySelector('parsererror') === null]")
        check(root == ["http://www.w3.org/2000/svg", "svg", True], f"{path} is not SVG: {root}")
        frames = {f["title"].split(" (")[0]: f for f in b.eval(FRAMES)}
        check(ev in b.eval("document.querySelector('text').textContent"), f"{ev} not in the title")
        check(frames["all"]["y"] > frames["mix"]["y"], "the root is not at the bottom")
        for fn in ("main", "mix_chase_build"):
            check(fn in frames, f"{fn} is not drawn in {path}: {sorted(frames)[:30]}")
        m = re.match(r"mix_chase_build \((\d+) \w+, ([\d.]+)%\)", frames["mix_chase_build"]["title"])
        check(m, f"title: {frames['mix_chase_build']['title']!r}")
        width = frames["mix_chase_build"]["w"] / frames["all"]["w"]
        check(abs(100 * width - float(m.group(2))) < 0.2,
              f"mix_chase_build is {100 * width:.2f}% wide, its title says {m.group(2)}%")
        shares[ev] = float(m.group(2))
        shot = b.screenshot(os.path.join(d, f"mix-{ev}.png"))
        check(os.path.getsize(shot) > 5000, "the screenshot is nearly empty")
        print(f"{ev}: {len(frames)} frames, mix_chase_build {m.group(2)}%, screenshot {shot}")
    # mix_chase_build first touches the 64 MiB it chases: most page faults, a part of the time.
    check(shares["page-faults"] > shares["cpu-clock"], f"-e does not choose the type: {shares}")
finally:
    b.close()
r = run([PMUPROF, "report", pb, "--flamegraph", os.path.join(d, "x.svg"), "-e", "cycles"])
check(r.returncode == 2 and "give -e one of: samples, cpu-clock, page-faults" in r.stderr,
      f"unknown -e: {r.stderr!r}")
print("ok")
