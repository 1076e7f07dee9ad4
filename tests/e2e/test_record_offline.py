"""`record --no-symbolize` writes an address-only profile (mappings with file
name, build id and offset; no functions; has_* flags false) that the
standalone pprof symbolizes offline from the binaries."""
import os
import re
import subprocess
import tempfile

from common import *

pprof_bin = standalone_pprof()
d = tempfile.mkdtemp()

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
