"""Issue 12, point 4: the agent's spool and log belong to their user. Run as
root, each attack is planted by another user (nobody): a symlink to a
root-only file in the spool is never read nor sent; a planted rejected/ link
does not make root move files into another folder; a spool folder another
user owns, or that others may write (sticky /tmp-like too), is refused with
one line; --log to a symlink and --log in a folder others may write are
refused."""
import os
import pwd
import sys
import tempfile

from common import *

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    from otlp_receiver import Receiver
except ImportError as e:
    skip(f"Python protobuf is not available ({e}); install python3-protobuf")

if os.geteuid() != 0:
    skip("needs root: the attacks are planted by another user (nobody) for root to run into")
try:
    NOBODY = pwd.getpwnam("nobody")
except KeyError:
    skip("no user 'nobody' to plant the attacks as")

SECRET = b"root-only secret 6f1c2a\n"
base = tempfile.mkdtemp(prefix="pmuprof-spool-sec-")
os.chmod(base, 0o755)  # nobody may walk in, not write
secret = os.path.join(base, "secret")
with open(secret, "wb") as f:
    f.write(SECRET)
os.chmod(secret, 0o600)
ENV = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}


def as_nobody(fn):
    """Runs fn in a forked child with nobody's uid and gid."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(NOBODY.pw_gid)
            os.setuid(NOBODY.pw_uid)
            fn()
            os._exit(0)
        except BaseException as e:  # noqa: BLE001 - report anything to the parent
            print(f"as nobody: {e}", file=sys.stderr)
            os._exit(1)
    _, st = os.waitpid(pid, 0)
    check(os.waitstatus_to_exitcode(st) == 0, "planting as nobody failed")


def folder(name, mode):
    p = os.path.join(base, name)
    os.mkdir(p)
    os.chmod(p, mode)
    return p


def agent(extra, duration=2):
    return run([PMUPROF, "agent", "-F", "49", "--interval", "1", "--duration", str(duration)]
               + extra, env=ENV, timeout=60)


def otlp_agent(url, spool, duration=2):
    return agent(["--otlp-endpoint", url, "--spool", spool, "--otlp-retry-budget", "0.3"],
                 duration)


def refused(res, path, cause):
    lines = [l for l in res.stderr.splitlines() if path in l]
    check(res.returncode != 0, f"not refused (exit 0):\n{res.stderr}")
    check(lines and cause in lines[0], f"no line naming {path} and '{cause}':\n{res.stderr}")
    print("refused:", lines[0])


SPOOLED = "00000000000000000001-1-000001.otlp"  # sorts before anything the agent spools

# 1. A spool folder others may write: refused, nothing read from it, nothing sent.
for mode, name in ((0o777, "spool-777"), (0o1777, "spool-1777")):
    spool = folder(name, mode)
    as_nobody(lambda: os.symlink(secret, os.path.join(spool, SPOOLED)))
    with Receiver() as r:
        res = otlp_agent(r.url, spool)
        check(not any(SECRET in q.body for q in r.requests), "the root-only file was sent")
        refused(res, spool, "writable by other users")
        # its own folder may be made private; a sticky shared one (like /tmp) never
        check(("chmod go-w" in res.stderr) == (mode == 0o777), res.stderr)
        check("choose a folder only you can write" in res.stderr, res.stderr)

# 2. A spool folder another user owns: refused.
spool = folder("spool-nobody", 0o700)
os.chown(spool, NOBODY.pw_uid, NOBODY.pw_gid)
with Receiver() as r:
    res = otlp_agent(r.url, spool)
    refused(res, spool, f"belongs to uid {NOBODY.pw_uid}")
    check(not r.requests, "exported through another user's spool")

# 3. A link planted while the spool was open to others, the folder made private
#    since: the link is skipped and reported, the file it points to never read.
spool = folder("spool-planted", 0o777)
as_nobody(lambda: os.symlink(secret, os.path.join(spool, SPOOLED)))
os.chmod(spool, 0o700)
with Receiver() as r:
    res = otlp_agent(r.url, spool)
    check(r.requests, f"nothing exported:\n{res.stderr}")
    check(not any(SECRET in q.body for q in r.requests),
          f"the root-only file behind a planted link was sent:\n{res.stderr}")
    skipped = [l for l in res.stderr.splitlines() if "a symbolic link" in l and "skipped" in l]
    check(skipped, f"the planted link is not reported:\n{res.stderr}")
    check(os.path.islink(os.path.join(spool, SPOOLED)), "the planted link is gone")
    print("planted link:", skipped[0])

# 4. A planted rejected/ link to a root-only folder: a spooled file the endpoint
#    rejects stays in the spool, and nothing lands in the root-only folder.
spool = folder("spool-rejected", 0o777)
vault = folder("vault", 0o700)
as_nobody(lambda: os.symlink(vault, os.path.join(spool, "rejected")))
os.chmod(spool, 0o700)
with open(os.path.join(spool, SPOOLED), "wb") as f:
    f.write(b"a body the endpoint rejects")
os.chmod(os.path.join(spool, SPOOLED), 0o600)
with Receiver() as r:
    r.script(status=400, count=100, body=b"bad")  # rejected at every replay
    res = otlp_agent(r.url, spool, duration=1.5)
    check(r.requests and r.requests[0].body == b"a body the endpoint rejects",
          f"the spooled file was not replayed first:\n{res.stderr}")
    check(not os.listdir(vault), f"root moved a file through a planted link: {os.listdir(vault)}")
    check(os.path.exists(os.path.join(spool, SPOOLED)), "the rejected file vanished")
    moved = [l for l in res.stderr.splitlines() if "not followed" in l]
    check(moved, f"the refusal to follow rejected/ is not logged:\n{res.stderr}")
    print("rejected/ link:", moved[0])

# 5. --log to a link planted by another user (in a folder private since): refused,
#    the file it points to untouched.
logdir = folder("log-planted", 0o777)
log = os.path.join(logdir, "agent.log")
as_nobody(lambda: os.symlink(secret, log))
os.chmod(logdir, 0o700)
pprof_dir = folder("pprof", 0o700)
res = agent(["--pprof-dir", pprof_dir, "--log", log], duration=1)
refused(res, log, "symbolic link")
with open(secret, "rb") as f:
    check(f.read() == SECRET, "the log was appended to the file behind the link")

# 6. --log in a folder others may write (sticky, as /tmp): refused.
logdir = folder("log-1777", 0o1777)
res = agent(["--pprof-dir", pprof_dir, "--log", os.path.join(logdir, "agent.log")], duration=1)
refused(res, logdir, "writable by other users")
check(not os.path.exists(os.path.join(logdir, "agent.log")), "the log was created")

# 7. The same agent with a private spool and log works as before.
spool = os.path.join(folder("private", 0o700), "spool")
log = os.path.join(base, "private", "agent.log")
with Receiver() as r:
    res = agent(["--otlp-endpoint", r.url, "--spool", spool, "--log", log], duration=1.5)
    check(res.returncode == 0 and r.requests, res.stderr)
    with open(log) as f:
        check("delivered" in f.read(), "nothing logged")
print("ok")
