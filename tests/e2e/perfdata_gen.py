"""Writes synthetic perf.data files (pipe mode) the way a PEBS or IBS host's
`perf mem record` / `perf c2c record` would: memory events with IDENTIFIER |
IP | TID | TIME | ADDR | CPU | PERIOD | WEIGHT | DATA_SRC, sample_id_all
side-band records (COMM, MMAP2), and event names through EVENT_UPDATE.
Independent of pmuprof's code: the layouts follow include/uapi/linux/perf_event.h
and perf's pipe format (PERFILE2 + a 16-byte header, HEADER_ATTR records).
perf itself reads these files, so it serves as the oracle on them."""
import struct

PERF_SAMPLE_IP = 1 << 0
PERF_SAMPLE_TID = 1 << 1
PERF_SAMPLE_TIME = 1 << 2
PERF_SAMPLE_ADDR = 1 << 3
PERF_SAMPLE_CPU = 1 << 7
PERF_SAMPLE_PERIOD = 1 << 8
PERF_SAMPLE_WEIGHT = 1 << 14
PERF_SAMPLE_DATA_SRC = 1 << 15
PERF_SAMPLE_IDENTIFIER = 1 << 16

SAMPLE_TYPE = (PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
               PERF_SAMPLE_ADDR | PERF_SAMPLE_CPU | PERF_SAMPLE_PERIOD | PERF_SAMPLE_WEIGHT |
               PERF_SAMPLE_DATA_SRC)

REC_MMAP2, REC_COMM, REC_SAMPLE = 10, 3, 9
REC_HEADER_ATTR, REC_FINISHED_ROUND, REC_EVENT_UPDATE, REC_HEADER_FEATURE = 64, 68, 78, 80
FEAT_NRCPUS, FEAT_EVENT_DESC, FEAT_NUMA_TOPOLOGY = 7, 12, 14
MISC_KERNEL, MISC_USER = 1, 2
PERF_CONTEXT_KERNEL, PERF_CONTEXT_USER = 2**64 - 128, 2**64 - 512

# union perf_mem_data_src fields
OP_LOAD, OP_STORE = 0x02, 0x04
LVL_NA, LVL_HIT, LVL_MISS, LVL_L1, LVL_LFB, LVL_L2, LVL_L3, LVL_LOC_RAM = 1, 2, 4, 8, 0x10, 0x20, 0x40, 0x80
LVL_REM_CCE1, LVL_REM_CCE2 = 0x400, 0x800
SNOOP_NA, SNOOP_NONE, SNOOP_HIT, SNOOP_MISS, SNOOP_HITM = 1, 2, 4, 8, 0x10
LOCK_NA, LOCK_LOCKED = 1, 2
TLB_NA, TLB_HIT, TLB_L1, TLB_L2 = 1, 2, 8, 0x10
LVLNUM_L1, LVLNUM_L2, LVLNUM_L3, LVLNUM_ANY_CACHE, LVLNUM_RAM = 1, 2, 3, 0x0b, 0x0d
SNOOPX_FWD, SNOOPX_PEER = 1, 2


def data_src(op, lvl=0, snoop=0, lock=0, tlb=0, lvl_num=0, remote=0, snoopx=0, blk=0, hops=0):
    return (op | lvl << 5 | snoop << 19 | lock << 24 | tlb << 26 | lvl_num << 33 |
            remote << 37 | snoopx << 38 | blk << 40 | hops << 43)


def _pad8(b):
    return b + b"\0" * (-len(b) % 8)


def _cstr(s):
    return _pad8(s.encode() + b"\0")


def _perf_string(s):
    # perf's header strings: u32 length (NUL included, padded to 64), then the bytes
    b = s.encode() + b"\0"
    b += b"\0" * (-len(b) % 64)
    return struct.pack("<I", len(b)) + b


def _cpus(spec):
    out = []
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        out += range(int(lo), int(hi or lo) + 1)
    return out


def _record(rtype, misc, body):
    return struct.pack("<IHH", rtype, misc, 8 + len(body)) + body


def _attr(attr_type, config, period, precise, sample_type=SAMPLE_TYPE, read_format=0,
          branch_sample_type=0, regs_user=0, regs_intr=0, stack_user=0):
    # struct perf_event_attr, PERF_ATTR_SIZE_VER7 (128 bytes)
    flags = (1 << 0)            # disabled
    flags |= (1 << 1)           # inherit
    flags |= (1 << 8) | (1 << 9)  # mmap, comm
    flags |= precise << 15      # precise_ip
    flags |= (1 << 17)          # mmap_data: data mappings are reported too
    flags |= (1 << 18)          # sample_id_all
    flags |= (1 << 23)          # mmap2
    a = struct.pack("<IIQQQQQ", attr_type, 128, config, period, sample_type, read_format, flags)
    a += struct.pack("<II", 0, 0)               # wakeup_events, bp_type
    a += struct.pack("<QQQQ", 0, 0, branch_sample_type, regs_user)  # config1/2, ...
    a += struct.pack("<Ii", stack_user, 0)      # sample_stack_user, clockid
    a += struct.pack("<QIHH", regs_intr, 0, 0, 0)  # regs_intr, aux_watermark, max_stack, rsvd
    a += struct.pack("<IIQ", 0, 0, 0)           # aux_sample_size, rsvd, sig_data
    assert len(a) == 128
    return a


# The rest of PERF_RECORD_SAMPLE's fields, in include/uapi/linux/perf_event.h's order.
PERF_SAMPLE_READ = 1 << 4
PERF_SAMPLE_CALLCHAIN = 1 << 5
PERF_SAMPLE_ID = 1 << 6
PERF_SAMPLE_STREAM_ID = 1 << 9
PERF_SAMPLE_RAW = 1 << 10
PERF_SAMPLE_BRANCH_STACK = 1 << 11
PERF_SAMPLE_REGS_USER = 1 << 12
PERF_SAMPLE_STACK_USER = 1 << 13
PERF_SAMPLE_TRANSACTION = 1 << 17
PERF_SAMPLE_REGS_INTR = 1 << 18
PERF_SAMPLE_PHYS_ADDR = 1 << 19
PERF_SAMPLE_AUX = 1 << 20
PERF_SAMPLE_CGROUP = 1 << 21
PERF_SAMPLE_DATA_PAGE_SIZE = 1 << 22
PERF_SAMPLE_CODE_PAGE_SIZE = 1 << 23
PERF_SAMPLE_WEIGHT_STRUCT = 1 << 24
PERF_SAMPLE_BRANCH_ANY = 1 << 3
PERF_SAMPLE_BRANCH_HW_INDEX = 1 << 17
PERF_FORMAT_ID, PERF_FORMAT_GROUP, PERF_FORMAT_LOST = 1 << 2, 1 << 3, 1 << 4


def sample_body(attr, eid, pid, tid, cpu, ip, time, addr=0, period=1, weight=0, src=0):
    """A sample with every field attr's sample_type asks for (plausible values), in the
    kernel's order; sizes from the whole attr (read_format, branch_sample_type, masks)."""
    (sample_type, read_format) = struct.unpack_from("<QQ", attr, 24)
    (branch_type, regs_user) = struct.unpack_from("<QQ", attr, 72)
    (stack_user,) = struct.unpack_from("<I", attr, 88)
    (regs_intr,) = struct.unpack_from("<Q", attr, 96)
    t, b = sample_type, b""
    fields = [
        (PERF_SAMPLE_IDENTIFIER, lambda: struct.pack("<Q", eid)),
        (PERF_SAMPLE_IP, lambda: struct.pack("<Q", ip)),
        (PERF_SAMPLE_TID, lambda: struct.pack("<II", pid, tid)),
        (PERF_SAMPLE_TIME, lambda: struct.pack("<Q", time)),
        (PERF_SAMPLE_ADDR, lambda: struct.pack("<Q", addr)),
        (PERF_SAMPLE_ID, lambda: struct.pack("<Q", eid)),
        (PERF_SAMPLE_STREAM_ID, lambda: struct.pack("<Q", eid)),
        (PERF_SAMPLE_CPU, lambda: struct.pack("<II", cpu, 0)),
        (PERF_SAMPLE_PERIOD, lambda: struct.pack("<Q", period)),
        (PERF_SAMPLE_READ, lambda: _read_values(read_format, eid, period)),
        (PERF_SAMPLE_CALLCHAIN, lambda: struct.pack("<QQQ", 2, ip, ip + 0x40)),
        (PERF_SAMPLE_RAW, lambda: struct.pack("<I", 4) + b"raw!"),
        (PERF_SAMPLE_BRANCH_STACK, lambda: _branches(branch_type, ip)),
        (PERF_SAMPLE_REGS_USER, lambda: _regs(regs_user)),
        (PERF_SAMPLE_STACK_USER, lambda: (struct.pack("<Q", stack_user) + b"\0" * stack_user +
                                          struct.pack("<Q", min(stack_user, 8)))
         if stack_user else struct.pack("<Q", 0)),
        (PERF_SAMPLE_WEIGHT | PERF_SAMPLE_WEIGHT_STRUCT, lambda: struct.pack("<Q", weight)),
        (PERF_SAMPLE_DATA_SRC, lambda: struct.pack("<Q", src)),
        (PERF_SAMPLE_TRANSACTION, lambda: struct.pack("<Q", 0)),
        (PERF_SAMPLE_REGS_INTR, lambda: _regs(regs_intr)),
        (PERF_SAMPLE_PHYS_ADDR, lambda: struct.pack("<Q", 0x1234000)),
        (PERF_SAMPLE_CGROUP, lambda: struct.pack("<Q", 1)),
        (PERF_SAMPLE_DATA_PAGE_SIZE, lambda: struct.pack("<Q", 4096)),
        (PERF_SAMPLE_CODE_PAGE_SIZE, lambda: struct.pack("<Q", 4096)),
        (PERF_SAMPLE_AUX, lambda: struct.pack("<Q", 16) + b"\xa5" * 16),
    ]
    for bit, make in fields:
        if t & bit:
            b += make()
    assert len(b) % 8 == 0
    return b


def _read_values(read_format, eid, value):
    one = struct.pack("<Q", value)
    if read_format & PERF_FORMAT_ID:
        one += struct.pack("<Q", eid)
    if read_format & PERF_FORMAT_LOST:
        one += struct.pack("<Q", 0)
    return struct.pack("<Q", 1) + one if read_format & PERF_FORMAT_GROUP else one


def _branches(branch_type, ip):
    b = struct.pack("<Q", 2)
    if branch_type & PERF_SAMPLE_BRANCH_HW_INDEX:
        b += struct.pack("<Q", 1)
    return b + struct.pack("<QQQQQQ", ip - 0x10, ip, 0, ip - 0x30, ip - 0x20, 0)


def _regs(mask):
    # abi PERF_SAMPLE_REGS_ABI_64, then one u64 per bit of the mask
    return struct.pack("<Q", 2) + b"".join(struct.pack("<Q", 0x100 + i)
                                           for i in range(bin(mask).count("1")))


class Stream:
    """Events, features, then side-band records and samples; written in perf's
    pipe mode (write_pipe) or file mode (write_file: what `perf c2c report`
    needs, as it reads the NUMA topology before any record)."""

    def __init__(self):
        self.attrs = []     # (name, attr bytes, id)
        self.features = {}  # feature id -> body
        self.records = bytearray()
        self.time = 1_000_000

    def event(self, name, attr_type, config, period=1, precise=2, **attr_fields):
        """attr_fields: sample_type, read_format, branch_sample_type, regs_user, regs_intr,
        stack_user (perf_event_attr fields; see _attr)."""
        eid = 1000 + len(self.attrs)
        self.attrs.append((name, _attr(attr_type, config, period, precise, **attr_fields), eid))
        return eid

    def topology(self, nodes):
        """NRCPUS and NUMA_TOPOLOGY (perf c2c needs both); nodes: cpu lists, e.g. ["0", "1"]."""
        ncpus = sum(len(_cpus(c)) for c in nodes)
        self.features[FEAT_NRCPUS] = struct.pack("<II", ncpus, ncpus)
        body = struct.pack("<I", len(nodes))
        for i, cpus in enumerate(nodes):
            body += struct.pack("<IQQ", i, 1 << 30, 1 << 29) + _perf_string(cpus)
        self.features[FEAT_NUMA_TOPOLOGY] = body

    def _trailer(self, pid, tid, cpu, eid):
        # sample_id_all: TID, TIME, CPU, IDENTIFIER (the order of the sample_type bits)
        self.time += 1000
        return struct.pack("<IIQIIQ", pid, tid, self.time, cpu, 0, eid)

    def comm(self, pid, tid, name, eid):
        self.records += _record(REC_COMM, 0, struct.pack("<II", pid, tid) + _cstr(name) +
                                self._trailer(pid, tid, 0, eid))

    def mmap2(self, pid, start, length, pgoff, filename, prot, eid, flags=0x2):
        body = struct.pack("<IIQQQIIQQII", pid, pid, start, length, pgoff, 0, 0, 0, 0, prot, flags)
        self.records += _record(REC_MMAP2, MISC_USER, body + _cstr(filename) +
                                self._trailer(pid, pid, 0, eid))

    def sample(self, eid, pid, tid, cpu, ip, addr, weight, src, period=1):
        self.time += 1000
        body = struct.pack("<QQIIQQIIQQQ", eid, ip, pid, tid, self.time, addr, cpu, 0, period,
                           weight, src)
        self.records += _record(REC_SAMPLE, MISC_USER, body)

    def sample_abi(self, eid, pid, tid, cpu, ip, period=1, addr=0, weight=0, src=0):
        """A sample with every field its event's attr asks for (sample_body)."""
        self.time += 1000
        attr = next(a for _, a, i in self.attrs if i == eid)
        self.records += _record(REC_SAMPLE, MISC_USER,
                                sample_body(attr, eid, pid, tid, cpu, ip, self.time, addr,
                                            period, weight, src))

    def sample_chain(self, eid, pid, tid, cpu, ip, misc, chain, period=1):
        """A sample of an event whose sample_type is IDENTIFIER | IP | TID | TIME | CPU |
        PERIOD | CALLCHAIN, with the header's cpumode `misc` and callchain `chain` (context
        markers included, PERF_CONTEXT_*) as given."""
        self.time += 1000
        body = struct.pack("<QQIIQIIQQ", eid, ip, pid, tid, self.time, cpu, 0, period, len(chain))
        body += b"".join(struct.pack("<Q", c) for c in chain)
        self.records += _record(REC_SAMPLE, misc, body)

    def write_pipe(self, path):
        out = bytearray(b"PERFILE2" + struct.pack("<Q", 16))
        for name, attr, eid in self.attrs:
            out += _record(REC_HEADER_ATTR, 0, attr + struct.pack("<Q", eid))
            # EVENT_UPDATE, type NAME (2): u64 type, u64 id, the name
            out += _record(REC_EVENT_UPDATE, 0, struct.pack("<QQ", 2, eid) + _cstr(name))
        for feat, body in sorted(self.features.items()):
            out += _record(REC_HEADER_FEATURE, 0, _pad8(struct.pack("<Q", feat) + body))
        out += self.records + _record(REC_FINISHED_ROUND, 0, b"")
        with open(path, "wb") as f:
            f.write(out)

    def write_file(self, path):
        # header | id arrays | attr table | data | feature index | feature bodies
        feats = dict(self.features)
        desc = struct.pack("<II", len(self.attrs), 128)
        for name, attr, eid in self.attrs:
            desc += attr + struct.pack("<I", 1) + _perf_string(name) + struct.pack("<Q", eid)
        feats[FEAT_EVENT_DESC] = desc
        pos = 104
        ids_at = []
        for _ in self.attrs:
            ids_at.append(pos)
            pos += 8
        attrs_at = pos
        table = b"".join(attr + struct.pack("<QQ", ids_at[i], 8)
                         for i, (_, attr, _) in enumerate(self.attrs))
        data_at = attrs_at + len(table)
        data = bytes(self.records) + _record(REC_FINISHED_ROUND, 0, b"")
        index_at = data_at + len(data)
        order = sorted(feats)
        body_at = index_at + 16 * len(order)
        index, bodies = b"", b""
        for f in order:
            index += struct.pack("<QQ", body_at + len(bodies), len(feats[f]))
            bodies += feats[f]
        bits = 0
        for f in order:
            bits |= 1 << f
        header = b"PERFILE2" + struct.pack("<QQ", 104, 128 + 16)
        header += struct.pack("<QQQQQQ", attrs_at, len(table), data_at, len(data), 0, 0)
        header += bits.to_bytes(32, "little")
        assert len(header) == 104
        with open(path, "wb") as f:
            f.write(header + b"".join(struct.pack("<Q", eid) for _, _, eid in self.attrs) +
                    table + data + index + bodies)


def load_segments(readelf_out):
    """[(offset, vaddr, filesz, memsz, flags)] of the PT_LOAD lines of `readelf -lW`."""
    segs = []
    for line in readelf_out.splitlines():
        p = line.split()
        if p and p[0] == "LOAD":
            segs.append((int(p[1], 16), int(p[2], 16), int(p[4], 16), int(p[5], 16),
                         " ".join(p[6:-1])))
    return segs


def map_elf(stream, pid, path, segs, bias, eid, page=4096):
    """MMAP2 records as the ELF loader maps the file: each segment's file pages,
    then the part of .bss beyond the last file page as an anonymous mapping."""
    for off, vaddr, filesz, memsz, flg in segs:
        prot = (1 if "R" in flg else 0) | (2 if "W" in flg else 0) | (4 if "E" in flg else 0)
        start = (vaddr & ~(page - 1))
        file_end = (vaddr + filesz + page - 1) & ~(page - 1)
        stream.mmap2(pid, bias + start, file_end - start, off & ~(page - 1), path, prot, eid)
        mem_end = (vaddr + memsz + page - 1) & ~(page - 1)
        if mem_end > file_end:
            stream.mmap2(pid, bias + file_end, mem_end - file_end, 0, "//anon", prot, eid,
                         flags=0x22)
