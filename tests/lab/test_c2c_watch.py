"""tests/e2e/test_c2c_watch.py inside the 2-node guest, where hardware watchpoints
fire (they never do on the build hosts): the sharing verdicts of bench/sharing's
workloads, with rotation by modify and by reopen, and attached with -p."""
import os

from lab import HERE, check, guest, skip

e2e = os.path.join(HERE, "..", "e2e", "test_c2c_watch.py")
r = guest(f"/usr/bin/python3 {os.path.realpath(e2e)}", nodes=2)
print(r.stdout, end="")
print(r.stderr, end="")
if r.returncode == 77:
    skip("tests/e2e/test_c2c_watch.py skipped in the guest (its reason above)")
check(r.returncode == 0, f"tests/e2e/test_c2c_watch.py failed in the guest (status {r.returncode})")
print("PASS")
