"""Kernel or user address from what the record says (issue 14): `pmuprof import` of
samples whose header cpumode and callchain context markers (PERF_CONTEXT_KERNEL,
PERF_CONTEXT_USER) name the mode. An arm64 kernel's addresses (0xffff0000_08xxxxxx:
the image before Linux 5.4, the linear map since) lie below x86-64's kernel half
0xffff8000_00000000; they must still go to the [kernel.kallsyms] mapping, and user
frames (x86-64 or arm64) never do."""
import os
import re
import tempfile

from common import *
import perfdata_gen as g

d = tempfile.mkdtemp()
s = g.Stream()
st = (g.PERF_SAMPLE_IDENTIFIER | g.PERF_SAMPLE_IP | g.PERF_SAMPLE_TID | g.PERF_SAMPLE_TIME |
      g.PERF_SAMPLE_CPU | g.PERF_SAMPLE_PERIOD | g.PERF_SAMPLE_CALLCHAIN)
ev = s.event("cpu-clock", 1, 0, sample_type=st)
s.comm(100, 100, "app", ev)
K, U = g.PERF_CONTEXT_KERNEL, g.PERF_CONTEXT_USER
ARM_K = [0xffff000008123450, 0xffff000008100010]  # arm64 kernel text, Linux < 5.4
ARM_LIN = 0xffff00000a000040  # arm64 linear map on any kernel, leaf
X86_K = [0xffffffff81234560]
USER = [0x400100, 0x400200, 0xaaaad0001000, 0xffffa0001000]  # x86-64 and arm64 user
kernel = set(ARM_K + [ARM_LIN] + X86_K)
# Kernel-mode samples with kernel frames then user frames; a user-mode sample; a
# kernel-mode sample with no callchain beyond its ip (the ip's mode from misc).
s.sample_chain(ev, 100, 100, 0, ARM_K[0], g.MISC_KERNEL, [K] + ARM_K + [U] + USER[:2])
s.sample_chain(ev, 100, 100, 0, X86_K[0], g.MISC_KERNEL, [K] + X86_K + [U] + USER[2:])
s.sample_chain(ev, 100, 100, 0, USER[3], g.MISC_USER, [U, USER[3]])
s.sample_chain(ev, 100, 100, 0, ARM_LIN, g.MISC_KERNEL, [])
data = os.path.join(d, "in.data")
s.write_pipe(data)
out = os.path.join(d, "out.pb.gz")
r = run([PMUPROF, "import", data, "-o", out, "--no-symbolize"])
check(r.returncode == 0, f"import failed: {r.stderr}")

text = pprof_text(out)
strings = re.findall(r'^string_table: "(.*)"$', text, re.M)
mapfile = {}
for block in re.findall(r"^mapping \{(.*?)^\}", text, re.M | re.S):
    mid = int(re.search(r"^\s+id: (\d+)", block, re.M).group(1))
    fn = re.search(r"filename: (\d+)", block)
    mapfile[mid] = strings[int(fn.group(1))] if fn else ""
seen = {}
for block in re.findall(r"^location \{(.*?)^\}\n", text, re.M | re.S):
    addr = int(re.search(r"^\s+address: (\d+)", block, re.M).group(1))
    mid = re.search(r"mapping_id: (\d+)", block)
    seen[addr] = mapfile.get(int(mid.group(1)), "") if mid else ""
# A caller's location may be keyed at its call (address - 1): match either.
for a in sorted(kernel | set(USER)):
    got = seen.get(a, seen.get(a - 1))
    check(got is not None, f"no location for {a:#x}: {seen}")
    want_kernel = a in kernel
    check((got == "[kernel.kallsyms]") == want_kernel,
          f"{a:#x} is a {'kernel' if want_kernel else 'user'} address, but its location's "
          f"mapping is {got!r}")
print(f"OK: {len(kernel)} kernel and {len(USER)} user addresses of x86-64 and arm64 "
      "placed by the records' cpumode and callchain markers")
