"""pmuprof report --flamegraph OUT.html: one self-contained page (no network), tested in
headless Chromium through the DevTools protocol: the top frames of bench/mix are drawn, a
click zooms (the frame then spans the chart), Escape resets, a search highlights the
matches and shows their share, hovering shows a frame's count and percentage, and the
event, flame/icicle and label filters switch what is drawn. A screenshot is saved."""
import os
import re
import tempfile
import time

from common import *
import cdp

b = cdp.browser_or_skip()

d = tempfile.mkdtemp()
pb, page = os.path.join(d, "mix.pb.gz"), os.path.join(d, "mix.html")
r = run([PMUPROF, "record", "-g", "-e", "cpu-clock,page-faults", "-o", pb, "--", bench("mix"),
         "--scale", "0.5"], timeout=300)
check(r.returncode == 0, f"pmuprof record failed: {r.stderr}")
r = run([PMUPROF, "report", pb, "--flamegraph", page], timeout=300)
check(r.returncode == 0 and r.stdout == "", f"report --flamegraph failed: {r.stderr}")
html = open(page).read()
check(not re.search(r"<script[^>]+src|<link|<img|<iframe|@import|url\(", html, re.I),
      "the page loads something from outside itself")
print(f"page: {len(html)} bytes")


def rect(sel):
    """The widest element matching sel: a function can also be drawn as a sliver elsewhere
    (mix_branchy under start_thread), where a hover at its middle misses it."""
    return b.eval(f"(() => {{ let best = null; for (const e of document.querySelectorAll({sel!r}))"
                  " { const r = e.getBoundingClientRect();"
                  " if (!best || r.width > best.w) best = {x: r.x, y: r.y, w: r.width, h: r.height}; }"
                  " return best; })()")


def target(sel):
    """rect(sel) after scrolling it into view: a deep stack makes the chart taller than the
    window, and the input events of a frame drawn below it reach nothing."""
    b.eval(f"(() => {{ let best = null, bw = -1; for (const e of document.querySelectorAll({sel!r}))"
           " { const w = e.getBoundingClientRect().width; if (w > bw) { best = e; bw = w; } }"
           " if (best) best.scrollIntoView({block: 'center', inline: 'nearest'}); })()")
    return rect(sel)


def names():
    return b.eval("[...document.querySelectorAll('.frame')].map(e => e.dataset.name)")


try:
    b.load("file://" + page)
    drawn = names()
    print(f"{len(drawn)} frames drawn; top: {drawn[:6]}")
    for fn in ("main", "mix_chase", "mix_branchy", "mix_falseshare"):
        check(fn in drawn, f"{fn} is not drawn: {drawn[:40]}")
    shot = b.screenshot(os.path.join(d, "mix-flamegraph.png"))
    check(os.path.getsize(shot) > 10000, "the screenshot is nearly empty")
    print(f"screenshot of bench/mix: {shot}")
    chart = rect("#chart")
    # The flame: root at the bottom.
    root, leafish = rect('.frame[data-name="all"]'), rect('.frame[data-name="mix_branchy"]')
    check(root["y"] > leafish["y"], "flame mode does not draw the root at the bottom")

    # Hover: the tooltip names the frame, its value and percentage.
    fr = target('.frame[data-name="mix_branchy"]')
    for i in range(40):  # a move the page has not laid out yet is lost: wait, move again
        b.move(fr["x"] + fr["w"] / 2 + i % 8, fr["y"] + fr["h"] / 2)
        tip = b.eval("document.getElementById('tip').textContent")
        if tip:
            break
        time.sleep(0.05)
    check(tip.startswith("mix_branchy\n") and re.search(r"[\d.]+ m?s \([\d.]+% of all\)", tip),
          f"tooltip: {tip!r}")
    print(f"tooltip after {i + 1} moves: {tip!r}")

    # Click: the frame fills the chart's width; its neighbours are gone.
    check(fr["w"] < chart["w"] * 0.9, f"mix_branchy already spans the chart: {fr} {chart}")
    b.click(fr["x"] + fr["w"] / 2, fr["y"] + fr["h"] / 2)
    z = rect('.frame[data-name="mix_branchy"]')
    check(b.eval("document.getElementById('chart').dataset.zoom") == "mix_branchy",
          "the click did not zoom")
    check(abs(z["w"] - chart["w"]) <= 2 and abs(z["x"] - chart["x"]) <= 1,
          f"the zoomed frame does not span the chart: {z} vs {chart}")
    check("mix_chase" not in names(), "a sibling of the zoomed frame is still drawn")
    print(f"zoom: mix_branchy {fr['w']:.0f} px -> {z['w']:.0f} px of {chart['w']:.0f}")
    b.key("Escape", "Escape")
    check(b.eval("document.getElementById('chart').dataset.zoom") == "all" and
          "mix_chase" in names(), "Escape does not reset the zoom")

    # Search: matches highlighted, their share shown.
    b.eval("document.getElementById('search').focus()")
    b.call("Input.insertText", session=True, text="mix_chase")
    hits = b.eval("[...document.querySelectorAll('.frame.match')].map(e => e.dataset.name)")
    check(hits and all("mix_chase" in h for h in hits) and "mix_chase" in hits
          and "mix_chase_build" in hits, f"search highlights {hits}")
    colour = b.eval("getComputedStyle(document.querySelector('.frame.match')).backgroundColor")
    check(colour == "rgb(224, 64, 251)", f"matches are not highlighted: {colour}")
    share = b.eval("document.getElementById('matched').textContent")
    m = re.match(r"matched ([\d.]+)%", share)
    check(m and 10 < float(m.group(1)) < 95, f"matched share: {share!r}")
    print(f"search 'mix_chase': {len(hits)} frames highlighted, {share}")
    b.eval("(() => { const s = document.getElementById('search'); s.value = '';"
           " s.dispatchEvent(new Event('input')); })()")

    # Icicle: the root at the top.
    b.eval("(() => { const s = document.getElementById('mode'); s.value = 'icicle';"
           " s.dispatchEvent(new Event('change')); })()")
    check(rect('.frame[data-name="all"]')["y"] < rect('.frame[data-name="mix_branchy"]')["y"],
          "icicle mode does not draw the root at the top")

    # Events: page-faults are mostly mix_chase_build's (it touches its 64 MiB first).
    total_clock = b.eval("document.getElementById('total').textContent")
    types = b.eval("[...document.getElementById('type').options].map(o => o.text)")
    check(types == ["samples", "cpu-clock", "page-faults"], f"event choices: {types}")
    b.eval("(() => { const s = document.getElementById('type'); s.value = '2';"
           " s.dispatchEvent(new Event('change')); })()")
    total_pf = b.eval("document.getElementById('total').textContent")
    build = rect('.frame[data-name="mix_chase_build"]')
    check(total_pf != total_clock and build and build["w"] > 0.5 * chart["w"],
          f"page-faults view: {total_pf} (cpu-clock {total_clock}), mix_chase_build {build}")
    print(f"events: cpu-clock {total_clock!r}, page-faults {total_pf!r}")
    b.eval("(() => { const s = document.getElementById('type'); s.value = '1';"
           " s.dispatchEvent(new Event('change')); })()")

    # Label filters: one thread's samples only (mix's helper thread runs mix_falseshare only).
    tids = b.eval("[...document.getElementById('filter-tid').options].map(o => o.value)")
    check(len(tids) >= 3, f"tid filter choices: {tids}")
    for tid in tids[1:]:
        b.eval(f"(() => {{ const s = document.getElementById('filter-tid'); s.value = '{tid}';"
               " s.dispatchEvent(new Event('change')); })()")
        if "mix_branchy" not in names():
            break
    only = names()
    check("mix_falseshare" in only and "mix_branchy" not in only,
          f"no tid filter keeps the helper thread alone: {only}")
    check(b.requests() == [], f"the page asked the network for {b.requests()}")
finally:
    b.close()

# Bad input: a name that is neither .html nor .svg; an unwritable path fails first.
r = run([PMUPROF, "report", pb, "--flamegraph", os.path.join(d, "x.png")])
check(r.returncode == 2 and "OUT.html" in r.stderr and "OUT.svg" in r.stderr, f"--flamegraph x.png: {r.stderr!r}")
r = run([PMUPROF, "report", "/nonexistent.pb.gz", "--flamegraph", "/nonexistent/dir/x.html"])
check(r.returncode != 0 and "/nonexistent/dir/x.html" in r.stderr
      and len(r.stderr.splitlines()) == 1, f"unwritable --flamegraph: {r.stderr!r}")
print("ok")
