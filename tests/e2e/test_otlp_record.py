"""Issue 5, acceptance 1: the OTLP request `record --otlp` writes decodes with
`protoc --decode` against proto/, keeps the invariants (zero values first,
no duplicates, indices in range) and carries, per process and sample type,
the same totals as the pprof; resource attributes follow the OTEL_*
variables; --otlp-endpoint posts the same request to a collector."""
import os
import subprocess
import sys
import tempfile

from common import *

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import otlp_check
    from otlp_receiver import Receiver
except ImportError as e:  # python3-protobuf missing
    skip(f"Python protobuf is not available ({e}); install python3-protobuf")

d = tempfile.mkdtemp()
pprof = os.path.join(d, "mix.pb.gz")
req = os.path.join(d, "mix.otlp")
env = dict(os.environ, OTEL_SERVICE_NAME="bench-mix",
           OTEL_RESOURCE_ATTRIBUTES="deployment.environment=test,team=perf%20lab")
r = run([PMUPROF, "record", "-e", "cpu-clock,task-clock", "-o", pprof, "--otlp", req, "--otlp-payload",
         "--", bench("mix")], env=env)
check(r.returncode == 0, r.stderr)

# an independent decoder: protoc itself
service = "opentelemetry/proto/collector/profiles/v1development/profiles_service.proto"
p = subprocess.run(["protoc", f"--proto_path={PROTO}",
                    "--decode=opentelemetry.proto.collector.profiles.v1development.ExportProfilesServiceRequest",
                    service], stdin=open(req, "rb"), capture_output=True)
check(p.returncode == 0, f"protoc --decode failed: {p.stderr.decode()}")
text = p.stdout.decode()
check("original_payload_format" in text and "pprof" in text, "original_payload missing")

summary = otlp_check.check_request(req, pprof_path=pprof)   # raises on any violation
print({k: v for k, v in summary.items() if k != "totals"})
msg = otlp_check.decode_request(req)
strings = msg.dictionary.string_table
attrs = {}
for rp in msg.resource_profiles:
    a = {kv.key: otlp_check._any_value(kv.value) for kv in rp.resource.attributes}
    attrs[a.get("process.pid")] = a
mix_attrs = [a for a in attrs.values() if a.get("process.executable.name") == "mix"]
check(mix_attrs, f"no resource for the mix process: {list(attrs.values())}")
a = mix_attrs[0]
print("resource:", a)
check(a["service.name"] == "bench-mix", "OTEL_SERVICE_NAME not honoured")
check(a.get("deployment.environment") == "test" and a.get("team") == "perf lab",
      "OTEL_RESOURCE_ATTRIBUTES not honoured (or not percent-decoded)")
check(a.get("process.executable.path") == bench("mix"), "process.executable.path")
check(bench("mix") in a.get("process.command_line", ""), "process.command_line")
check(a.get("os.type") == "linux" and a.get("host.name"), "os.type / host.name")
check(msg.resource_profiles[0].scope_profiles[0].scope.name == "pmuprof", "scope name")

# the same through OTLP/HTTP
with Receiver() as rcv:
    out = os.path.join(d, "post.pb.gz")
    r = run([PMUPROF, "record", "-e", "cpu-clock", "-o", out, "--otlp-endpoint", rcv.url, "--",
             bench("spin"), "--iters", "100000000"])
    check(r.returncode == 0, r.stderr)
    rcv.wait_for(1)
    got = rcv.requests[0]
    print("posted:", got.path, got.headers.get("content-type"), len(got.body), "bytes")
    check(got.path == "/v1development/profiles", got.path)
    check(got.headers.get("content-type") == "application/x-protobuf", "content type")
    check(got.headers.get("user-agent", "").startswith("pmuprof/"), "user agent")
    otlp_check.check_request(got.body, pprof_path=out)
    check("otlp export delivered" in r.stderr, f"no delivery log line: {r.stderr}")
