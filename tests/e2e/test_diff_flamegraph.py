"""pmuprof diff BASELINE FILE --flamegraph OUT.html|OUT.svg: a differential flame graph of
bench/mix against bench/mix with four times the branchy phase, in headless Chromium. The page
needs no network; mix_branchy is drawn red (grew), mix_chase blue (shrank), the tooltip
gives both profiles' values and the change in points, the widths switch to the baseline's,
a click zooms; a profile against itself is drawn without red or blue. The SVG renders in
Chromium with the same colours. A screenshot is saved."""
import os
import re
import tempfile
import time

from common import *
import cdp

b = cdp.browser_or_skip()

d = tempfile.mkdtemp(prefix="pmuprof-diff-fg-")
base, new = os.path.join(d, "mix.pb.gz"), os.path.join(d, "mix-branchy4.pb.gz")
for out, extra in ((base, []), (new, ["--branchy", "4"])):
    r = run([PMUPROF, "record", "-g", "-e", "cpu-clock", "-o", out, "--", bench("mix"),
             "--scale", "0.5"] + extra, timeout=300)
    check(r.returncode == 0, f"pmuprof record {extra} failed: {r.stderr}")
page, same, svg = (os.path.join(d, n) for n in ("diff.html", "same.html", "diff.svg"))
for args in ([base, new, "--flamegraph", page], [base, base, "--flamegraph", same],
             [base, new, "--flamegraph", svg]):
    r = run([PMUPROF, "diff"] + args, timeout=300)
    check(r.returncode == 0 and r.stdout == "", f"diff {args} failed: {r.stderr}")
html = open(page).read()
check(not re.search(r"<script[^>]+src|<link|<img|<iframe|@import|url\(", html, re.I),
      "the page loads something from outside itself")


def frame(name):
    """The widest frame of that name: its box, delta and colour."""
    return b.eval(f"(() => {{ let best = null, bw = -1;"
                  f" for (const e of document.querySelectorAll('.frame[data-name=\"{name}\"]')) {{"
                  " const r = e.getBoundingClientRect(); if (r.width > bw) { bw = r.width;"
                  " best = {x: r.x, y: r.y, w: r.width, h: r.height, delta: +e.dataset.delta,"
                  " colour: getComputedStyle(e).backgroundColor}; } }"
                  " return best; })()")


def rgb(colour):
    return tuple(int(v) for v in re.findall(r"\d+", colour)[:3])


try:
    b.load("file://" + page)
    names = b.eval("[...document.querySelectorAll('.frame')].map(e => e.dataset.name)")
    for fn in ("mix_branchy", "mix_chase", "mix_falseshare"):
        check(fn in names, f"{fn} is not drawn: {names[:40]}")
    shot = b.screenshot(os.path.join(d, "mix-diff-flamegraph.png"))
    check(os.path.getsize(shot) > 10000, "the screenshot is nearly empty")
    print(f"screenshot of the diff of bench/mix: {shot}")
    grew, shrank = frame("mix_branchy"), frame("mix_chase")
    r, g, bl = rgb(grew["colour"])
    check(grew["delta"] > 5 and r > 200 and g < 150 and bl < 150,
          f"mix_branchy is not drawn as grown (red): {grew}")
    r, g, bl = rgb(shrank["colour"])
    check(shrank["delta"] < -1 and bl > r + 20,
          f"mix_chase is not drawn as shrunk (blue): {shrank}")
    print(f"mix_branchy {grew['delta']:+.2f} points {grew['colour']}, "
          f"mix_chase {shrank['delta']:+.2f} points {shrank['colour']}")
    total = b.eval("document.getElementById('total').textContent")
    check(re.fullmatch(r"total [\d.]+ m?s to [\d.]+ m?s", total), f"totals: {total!r}")

    # Hover: both profiles' values and the change.
    b.eval("(() => { let best = null, bw = -1; for (const e of document.querySelectorAll("
           "'.frame[data-name=\"mix_branchy\"]')) { const w = e.getBoundingClientRect().width;"
           " if (w > bw) { best = e; bw = w; } } best.scrollIntoView({block: 'center'}); })()")
    fr = frame("mix_branchy")
    for i in range(40):
        b.move(fr["x"] + fr["w"] / 2 + i % 8, fr["y"] + fr["h"] / 2)
        tip = b.eval("document.getElementById('tip').textContent")
        if tip:
            break
        time.sleep(0.05)
    check(re.fullmatch(r"mix_branchy\nprofile [\d.]+ m?s \([\d.]+% of all\)\n"
                       r"baseline [\d.]+ m?s \([\d.]+% of all\)\nchange \+[\d.]+ points", tip),
          f"tooltip: {tip!r}")
    print(f"tooltip: {tip!r}")

    # Widths: the baseline's make mix_branchy narrower (it grew), colours unchanged.
    b.eval("(() => { const s = document.getElementById('width'); s.value = 'baseline';"
           " s.dispatchEvent(new Event('change')); })()")
    narrower = frame("mix_branchy")
    check(narrower["w"] < fr["w"] * 0.9 and narrower["colour"] == fr["colour"],
          f"baseline widths: mix_branchy {fr['w']:.0f} px -> {narrower['w']:.0f} px")
    print(f"widths: mix_branchy {fr['w']:.0f} px (profile) -> {narrower['w']:.0f} px (baseline)")
    b.eval("(() => { const s = document.getElementById('width'); s.value = 'new';"
           " s.dispatchEvent(new Event('change')); })()")

    # Click: the frame fills the chart.
    fr = frame("mix_branchy")
    chart = b.eval("(() => { const r = document.getElementById('chart').getBoundingClientRect();"
                   " return {x: r.x, w: r.width}; })()")
    b.click(fr["x"] + fr["w"] / 2, fr["y"] + fr["h"] / 2)
    z = frame("mix_branchy")
    check(abs(z["w"] - chart["w"]) <= 2, f"the zoomed frame does not span the chart: {z} {chart}")
    check(b.requests() == [], f"the page asked the network for {b.requests()}")

    # A profile against itself: nothing grew or shrank.
    b.load("file://" + same)
    deltas = b.eval("[...document.querySelectorAll('.frame')].map(e => +e.dataset.delta)")
    colours = set(b.eval("[...document.querySelectorAll('.frame')].slice(1)"
                         ".map(e => getComputedStyle(e).backgroundColor)"))
    check(deltas and all(v == 0 for v in deltas) and colours == {"rgb(230, 230, 230)"},
          f"self-diff: deltas {set(deltas)}, colours {colours}")

    # The SVG: Chromium renders it; mix_branchy red, mix_chase blue.
    b.load("file://" + svg)
    fills = b.eval("(() => { const out = {}; for (const g of document.querySelectorAll('g.frame')) {"
                   " const t = g.querySelector('title').textContent, n = t.split(' (')[0];"
                   " const w = +g.querySelector('rect').getAttribute('width');"
                   " if (!out[n] || out[n].w < w) out[n] = {w, fill: g.querySelector('rect')"
                   ".getAttribute('fill'), title: t}; } return out; })()")
    r, g, bl = rgb(fills["mix_branchy"]["fill"])
    check(r == 255 and g < 150, f"SVG mix_branchy: {fills['mix_branchy']}")
    r, g, bl = rgb(fills["mix_chase"]["fill"])
    check(bl == 255 and r < 200, f"SVG mix_chase: {fills['mix_chase']}")
    check("points)" in fills["mix_branchy"]["title"], f"SVG title: {fills['mix_branchy']}")
    print(f"SVG: mix_branchy {fills['mix_branchy']['fill']}, mix_chase {fills['mix_chase']['fill']}")
finally:
    b.close()
print("ok")
