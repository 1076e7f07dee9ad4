"""The arm64 guest has a PMU: `perf stat -e cycles` counts there (QEMU's emulated
armv8 PMUv3), unlike the x86 guests and the build hosts."""
from lab import check, guest
from common import stat_values

r = guest("perf stat -x , -e cycles -- /bin/busybox true", nodes=1, arch="arm64")
check(r.returncode == 0, f"perf stat failed in the arm64 guest ({r.returncode}): {r.stderr}")
cycles = stat_values(r.stderr).get("cycles")
check(isinstance(cycles, float) and cycles > 0, f"cycles not counted: {r.stderr}")
print(f"ok: perf stat -e cycles in the arm64 guest: {cycles:.0f} cycles for busybox true")
print("PASS")
