"""Checks an OTLP profiles request (ExportProfilesServiceRequest, binary).

A reusable module for pmuprof's end-to-end tests (and a command line tool):

    import otlp_check
    summary = otlp_check.check_request("/tmp/x.otlp.pb", pprof_path="/tmp/x.pb.gz")
    summary["totals"]   # {(pid or None, sample type): sum of values}

    python3 tests/e2e/otlp_check.py REQUEST [PPROF]

The message classes are built from this repository's proto/ (protoc compiles
a descriptor set; Python protobuf makes classes from it in a private pool, so
nothing clashes with an installed opentelemetry package). It checks what
pmuprof promises (see ../../../shared/DESIGN.md, "Output conventions"): every
dictionary table starts with its zero value and holds no duplicates, every
index is in range, profile ids are 16 random non-zero bytes and distinct,
the original payload rides at most once, resources carry service.name and a
unique process.pid, the scope is "pmuprof", samples have unique attribute
keys and no two samples of a profile share (stack, attributes, link), links
other than the zero one carry a 16-byte non-zero trace id and an 8-byte span
id. With a pprof
it also checks that the totals per (pid, sample type) equal the pprof's.
Any violation raises AssertionError with a message naming the place.

messages() also gives the request/response classes to tests that need them
(e.g. an OTLP/HTTP receiver on loopback).
"""
import collections
import functools
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import types

PROTO_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                          "..", "..", "proto"))
SERVICE_PROTO = "opentelemetry/proto/collector/profiles/v1development/profiles_service.proto"
REQUEST = "opentelemetry.proto.collector.profiles.v1development.ExportProfilesServiceRequest"
RESPONSE = "opentelemetry.proto.collector.profiles.v1development.ExportProfilesServiceResponse"
PARTIAL = "opentelemetry.proto.collector.profiles.v1development.ExportProfilesPartialSuccess"
PPROF = "perftools.profiles.Profile"
KERNEL_ADDR_MIN = 0xffff800000000000


def _import_protobuf():
    """google.protobuf, from Debian's python3-protobuf when this interpreter lacks it."""
    try:
        import google.protobuf  # noqa: F401
    except ImportError:
        for d in ("/usr/lib/python3/dist-packages", "/usr/local/lib/python3/dist-packages"):
            if os.path.isdir(os.path.join(d, "google", "protobuf")) and d not in sys.path:
                sys.path.append(d)
        try:
            import google.protobuf  # noqa: F401
        except ImportError as e:
            raise RuntimeError("otlp_check needs Python protobuf (Debian: apt-get install "
                               f"python3-protobuf) for {sys.executable}") from e
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    return descriptor_pb2, descriptor_pool, message_factory


def _protoc():
    p = shutil.which("protoc") or "/usr/bin/protoc"
    if not os.access(p, os.X_OK):
        raise RuntimeError("otlp_check needs protoc (Debian: apt-get install protobuf-compiler)")
    return p


@functools.lru_cache(maxsize=None)
def messages(proto_dir=PROTO_DIR):
    """Classes Request, Response, PartialSuccess and Pprof built from proto_dir."""
    descriptor_pb2, descriptor_pool, message_factory = _import_protobuf()
    with tempfile.TemporaryDirectory(prefix="otlp-check-") as tmp:
        out = os.path.join(tmp, "protos.desc")
        r = subprocess.run([_protoc(), f"--proto_path={proto_dir}", "--include_imports",
                            f"--descriptor_set_out={out}", SERVICE_PROTO, "profile.proto"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"protoc cannot compile {proto_dir}: {r.stderr.strip()}")
        with open(out, "rb") as f:
            fds = descriptor_pb2.FileDescriptorSet.FromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for fd in fds.file:
        pool.Add(fd)

    def cls(name):
        d = pool.FindMessageTypeByName(name)
        if hasattr(message_factory, "GetMessageClass"):
            return message_factory.GetMessageClass(d)
        return message_factory.MessageFactory(pool).GetPrototype(d)

    return types.SimpleNamespace(Request=cls(REQUEST), Response=cls(RESPONSE),
                                 PartialSuccess=cls(PARTIAL), Pprof=cls(PPROF))


def _read(bytes_or_path):
    if isinstance(bytes_or_path, (bytes, bytearray, memoryview)):
        return bytes(bytes_or_path)
    with open(bytes_or_path, "rb") as f:
        return f.read()


def decode_request(bytes_or_path):
    """The ExportProfilesServiceRequest message (AssertionError if it does not decode)."""
    data = _read(bytes_or_path)
    req = messages().Request()
    try:
        req.ParseFromString(data)
    except Exception as e:  # DecodeError and friends
        raise AssertionError(f"not an ExportProfilesServiceRequest ({len(data)} bytes): {e}")
    return req


def decode_pprof(bytes_or_path):
    """A pprof Profile message from gzipped or plain profile.proto bytes."""
    data = _read(bytes_or_path)
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    p = messages().Pprof()
    p.ParseFromString(data)
    return p


def pprof_totals(bytes_or_path):
    """{(pid or None, sample type): total} of a pprof, split by its "pid" label."""
    p = decode_pprof(bytes_or_path)
    st = p.string_table
    types_ = [st[t.type] for t in p.sample_type]
    totals = collections.Counter()
    for s in p.sample:
        pid = None
        for lab in s.label:
            if st[lab.key] == "pid":
                pid = lab.num if not lab.str else int(st[lab.str])
                break
        for t, v in zip(types_, s.value):
            totals[(pid, t)] += v
    for pid in {k[0] for k in totals} or {None}:
        for t in types_:
            totals.setdefault((pid, t), 0)
    return dict(totals)


def _check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def _any_value(v):
    kind = v.WhichOneof("value")
    return None if kind is None else getattr(v, kind)


def _check_dictionary(d):
    st = d.string_table
    tables = {
        "mapping_table": d.mapping_table, "location_table": d.location_table,
        "function_table": d.function_table, "link_table": d.link_table,
        "attribute_table": d.attribute_table, "stack_table": d.stack_table,
    }
    _check(len(st) > 0 and st[0] == "", f"string_table[0] must be \"\", got "
           f"{st[0] if st else '<empty table>'!r}")
    dup = [s for s, n in collections.Counter(st).items() if n > 1]
    _check(not dup, f"string_table has duplicates: {dup[:5]!r}")
    for name, tab in tables.items():
        _check(len(tab) > 0, f"{name} is empty: element 0 must be the zero value")
        _check(tab[0].ByteSize() == 0, f"{name}[0] is not the zero value: "
               f"{str(tab[0]).strip().replace(chr(10), '; ')}")
        seen = {}
        for i, e in enumerate(tab):
            key = e.SerializeToString(deterministic=True)
            _check(key not in seen, f"{name}[{seen.get(key)}] and [{i}] are the same entry")
            seen[key] = i

    def strindex(i, where):
        _check(0 <= i < len(st), f"{where}: string index {i} out of range [0, {len(st)})")

    def attrs(ai, where):
        keys = set()
        for a in ai:
            _check(0 < a < len(d.attribute_table),
                   f"{where}: attribute index {a} out of range [1, {len(d.attribute_table)})")
            k = d.attribute_table[a].key_strindex
            _check(k not in keys, f"{where}: attribute key {st[k]!r} appears twice")
            keys.add(k)
        return {st[d.attribute_table[a].key_strindex]: _any_value(d.attribute_table[a].value)
                for a in ai}

    for i, m in enumerate(d.mapping_table):
        strindex(m.filename_strindex, f"mapping_table[{i}].filename_strindex")
        attrs(m.attribute_indices, f"mapping_table[{i}]")
    for i, f in enumerate(d.function_table):
        for fld in ("name_strindex", "system_name_strindex", "filename_strindex"):
            strindex(getattr(f, fld), f"function_table[{i}].{fld}")
    for i, loc in enumerate(d.location_table):
        _check(0 <= loc.mapping_index < len(d.mapping_table),
               f"location_table[{i}].mapping_index {loc.mapping_index} out of range")
        for j, ln in enumerate(loc.lines):
            _check(0 < ln.function_index < len(d.function_table),
                   f"location_table[{i}].lines[{j}].function_index {ln.function_index} "
                   f"out of range [1, {len(d.function_table)})")
        a = attrs(loc.attribute_indices, f"location_table[{i}]")
        if i and "profile.frame.type" in a:
            ft = a["profile.frame.type"]
            fname = st[d.mapping_table[loc.mapping_index].filename_strindex]
            if loc.address >= KERNEL_ADDR_MIN or fname == "[kernel.kallsyms]":
                _check(ft == "kernel", f"location_table[{i}] at {loc.address:#x} ({fname}) "
                       f"is a kernel frame but profile.frame.type is {ft!r}")
    for i, s in enumerate(d.stack_table):
        for j, li in enumerate(s.location_indices):
            _check(0 < li < len(d.location_table),
                   f"stack_table[{i}].location_indices[{j}] = {li} out of range "
                   f"[1, {len(d.location_table)})")
    for i, ln in enumerate(d.link_table):
        if i:
            _check(len(ln.trace_id) == 16 and any(ln.trace_id),
                   f"link_table[{i}].trace_id is {ln.trace_id.hex()!r}: not 16 non-zero bytes")
            _check(len(ln.span_id) == 8, f"link_table[{i}].span_id is {ln.span_id.hex()!r}: "
                   "not 8 bytes")
    for i, a in enumerate(d.attribute_table):
        strindex(a.key_strindex, f"attribute_table[{i}].key_strindex")
        strindex(a.unit_strindex, f"attribute_table[{i}].unit_strindex")
        if i:
            _check(a.key_strindex > 0, f"attribute_table[{i}] has no key")
    return attrs


def check_request(bytes_or_path, pprof_path=None):
    """Checks the request; returns a summary dict (see the module docstring).

    Keys: totals {(pid or None, type): sum}, resources, profiles, samples,
    tables {name: size}, payload (bool), service_names {pid: name},
    links [(trace_id hex, span_id hex)] (link_table[1:]),
    pprof_totals (when pprof_path is given; then equal to totals).
    """
    req = decode_request(bytes_or_path)
    _check(req.HasField("dictionary"), "the request has no dictionary")
    d = req.dictionary
    st = d.string_table
    sample_keys = collections.Counter()
    attrs = _check_dictionary(d)

    totals = collections.Counter()
    ids = set()
    payloads = 0
    nprofiles = nsamples = 0
    pids = set()
    service_names = {}
    _check(len(req.resource_profiles) > 0, "the request has no resource_profiles")
    for ri, rp in enumerate(req.resource_profiles):
        where = f"resource_profiles[{ri}]"
        keys = [kv.key for kv in rp.resource.attributes]
        dup = [k for k, n in collections.Counter(keys).items() if n > 1]
        _check(not dup, f"{where}: resource attribute keys repeated: {dup}")
        ra = {kv.key: _any_value(kv.value) for kv in rp.resource.attributes}
        _check(isinstance(ra.get("service.name"), str) and ra["service.name"],
               f"{where}: no service.name")
        pid = ra.get("process.pid")
        _check(pid is None or isinstance(pid, int), f"{where}: process.pid is not an int")
        _check(pid not in pids, f"{where}: a second resource for pid {pid}")
        pids.add(pid)
        service_names[pid] = ra["service.name"]
        _check(len(rp.scope_profiles) > 0, f"{where}: no scope_profiles")
        for si, sp in enumerate(rp.scope_profiles):
            _check(sp.scope.name == "pmuprof",
                   f"{where}.scope_profiles[{si}]: scope name {sp.scope.name!r}, not 'pmuprof'")
            for pi, p in enumerate(sp.profiles):
                pw = f"{where}.scope_profiles[{si}].profiles[{pi}]"
                nprofiles += 1
                for fld in ("type_strindex", "unit_strindex"):
                    _check(0 <= getattr(p.sample_type, fld) < len(st), f"{pw}.sample_type.{fld} "
                           "out of range")
                    _check(0 <= getattr(p.period_type, fld) < len(st), f"{pw}.period_type.{fld} "
                           "out of range")
                typ = st[p.sample_type.type_strindex]
                _check(typ, f"{pw}: sample_type has no type")
                _check(len(p.profile_id) == 16, f"{pw}: profile_id has {len(p.profile_id)} "
                       "bytes, not 16")
                _check(any(p.profile_id), f"{pw}: profile_id is all zeroes")
                _check(p.profile_id not in ids, f"{pw}: profile_id {p.profile_id.hex()} repeated")
                ids.add(p.profile_id)
                if p.original_payload:
                    payloads += 1
                    _check(p.original_payload_format == "pprof",
                           f"{pw}: original_payload_format is {p.original_payload_format!r}")
                attrs(p.attribute_indices, pw)
                seen = {}
                for i, s in enumerate(p.samples):
                    sw = f"{pw}.samples[{i}]"
                    nsamples += 1
                    _check(0 < s.stack_index < len(d.stack_table), f"{sw}: stack_index "
                           f"{s.stack_index} out of range [1, {len(d.stack_table)})")
                    _check(0 <= s.link_index < len(d.link_table), f"{sw}: link_index "
                           f"{s.link_index} out of range")
                    attrs(s.attribute_indices, sw)
                    for ai in s.attribute_indices:
                        kv = d.attribute_table[ai]
                        sample_keys[d.string_table[kv.key_strindex]] += 1
                    key = (s.stack_index, tuple(sorted(s.attribute_indices)), s.link_index)
                    _check(key not in seen, f"{sw} and samples[{seen.get(key)}] have the same "
                           "stack and attributes (should be one sample)")
                    seen[key] = i
                    _check(s.values or s.timestamps_unix_nano, f"{sw}: no values, no timestamps")
                    if s.values and s.timestamps_unix_nano:
                        _check(len(s.values) == len(s.timestamps_unix_nano),
                               f"{sw}: {len(s.values)} values for "
                               f"{len(s.timestamps_unix_nano)} timestamps")
                    totals[(pid, typ)] += sum(s.values) if s.values else \
                        len(s.timestamps_unix_nano)
                totals.setdefault((pid, typ), 0)
    _check(payloads <= 1, f"original_payload appears {payloads} times (at most once)")

    summary = {
        "totals": dict(totals),
        "resources": len(req.resource_profiles),
        "profiles": nprofiles,
        "samples": nsamples,
        "tables": {n: len(getattr(d, n)) for n in (
            "string_table", "mapping_table", "location_table", "function_table",
            "link_table", "attribute_table", "stack_table")},
        "payload": payloads == 1,
        "service_names": service_names,
        "links": [(ln.trace_id.hex(), ln.span_id.hex()) for ln in d.link_table[1:]],
        "sample_attribute_keys": dict(sample_keys),  # key -> samples carrying it
    }
    if pprof_path is not None:
        want = pprof_totals(pprof_path)
        diff = {k: (want.get(k, 0), totals.get(k, 0)) for k in set(want) | set(totals)
                if want.get(k, 0) != totals.get(k, 0)}
        _check(not diff, "totals differ from the pprof's, (pid, type): (pprof, otlp): " +
               ", ".join(f"{k}: {v}" for k, v in sorted(diff.items(), key=str)))
        summary["pprof_totals"] = want
    return summary


def main(argv):
    if len(argv) not in (2, 3):
        print(f"usage: {argv[0]} REQUEST [PPROF]", file=sys.stderr)
        return 2
    try:
        s = check_request(argv[1], argv[2] if len(argv) == 3 else None)
    except AssertionError as e:
        print(f"FAIL: {argv[1]}: {e}")
        return 1
    print(f"{argv[1]}: {s['resources']} resources, {s['profiles']} profiles, "
          f"{s['samples']} samples, original payload: {'yes' if s['payload'] else 'no'}")
    print("tables: " + ", ".join(f"{k} {v}" for k, v in s["tables"].items()))
    for (pid, typ), v in sorted(s["totals"].items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
        name = s["service_names"].get(pid, "")
        print(f"  pid {pid if pid is not None else '-':>8}  {name:<20} {typ:<16} {v}")
    if "pprof_totals" in s:
        print("totals equal the pprof's")
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
