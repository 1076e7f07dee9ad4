"""`record --no-symbolize` writes an address-only profile (mappings with file
name, build id and offset; no functions; has_* flags false) that the
standalone pprof symbolizes offline from the binaries."""
import os
import re
import subprocess
import tempfile

from common import *

src = "/usr/share/gocode/src/github.com/google/pprof"
if not have_go() or not os.path.isdir(src):
    skip("standalone pprof sources (Debian golang-github-google-pprof-dev) or go are missing")
d = tempfile.mkdtemp()
pprof_bin = os.path.join(os.environ.get("PPROF_BUILD_DIR", d), "pprof-standalone")
if not os.access(pprof_bin, os.X_OK):
    env = dict(os.environ, GOPATH="/usr/share/gocode", GO111MODULE="off",
               GOCACHE=os.environ.get("GOCACHE", "/tmp/pmuprof-gocache"), HOME=os.environ.get("HOME", "/tmp"))
    b = subprocess.run(["go", "build", "-o", pprof_bin, "github.com/google/pprof"], env=env,
                       capture_output=True, text=True, timeout=900)
    check(b.returncode == 0, f"building standalone pprof failed: {b.stderr[-2000:]}")

out = os.path.join(d, "raw.pb.gz")
r = run([PMUPROF, "record", "--no-symbolize", "-e", "cpu-clock", "-o", out, "--", bench("mix")])
check(r.returncode == 0, r.stderr)
text = pprof_text(out)
check(not re.search(r"^function \{", text, re.M), "an address-only profile has functions")
check(not re.search(r"has_functions: true", text), "has_functions set without symbols")
check(re.search(r"build_id: \d+", text) and re.search(r"file_offset: \d+", text),
      "mappings lack build id or file offset")
env = dict(os.environ, PPROF_TMPDIR=d, HOME=os.environ.get("HOME", "/tmp"))
p = subprocess.run([pprof_bin, "-top", out], capture_output=True, text=True, env=env, timeout=300)
print(p.stdout[-1200:])
check(p.returncode == 0, p.stderr)
for fn in ("mix_chase", "mix_branchy", "mix_falseshare"):
    check(fn in p.stdout, f"standalone pprof did not symbolize {fn} offline")
