/*
 * perf.data reader: perf's own file format, so captures made elsewhere
 * (perf record / perf mem / perf c2c) go through the same record decoder
 * as the live path.
 *
 * Owns: the file header (PERFILE2, file and pipe mode, the short header
 * without feature bits), the attr table and its id sections, the
 * HEADER_EVENT_DESC feature (event names), the pipe-mode user records that
 * carry the same tables (HEADER_ATTR, EVENT_UPDATE, HEADER_FEATURE), and an
 * iterator over the data section that resolves each record's event by id
 * the way perf does (id_pos for samples, is_pos for the sample_id trailer).
 *
 * The whole input is mapped (or, for a pipe, read) into memory; records are
 * handed out as pointers into it. Every offset and size read from the file
 * is checked, and errors name the file offset.
 */
#include "perfabi.h"
#include "perfdata_format.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PD_MAGIC2_SWAPPED 0x50455246494c4532ULL
#define PD_MAGIC1 0x454c494652455050ULL /* "PERFFILE": perf before 2.6.38 */
#define PD_FILE_HEADER_NOFEAT 72       /* the same without the feature bitmap */
#define PD_PIPE_HEADER_SIZE 16
#define PD_ATTR_VER0 64
#define PD_MAX_CPUS 8192

#define PD_EVENT_UPDATE_NAME 2

struct pd_id {
	uint64_t id;
	int event;
};

struct pabi_perfdata {
	const unsigned char *buf;
	size_t len;
	bool mapped, pipe;
	size_t data_off, data_end, pos;
	struct pabi_pd_event *ev;
	size_t nev, evcap;
	struct pd_id *ids;
	size_t nids, idcap;
	bool ids_sorted;
	int id_pos, is_pos; /* u64 words: from the body start / from the record end; -1 none */
	bool sample_id_all;
	uint64_t feat[PERFDATA_FEAT_BITS / 64];
	unsigned char *scratch; /* 64 KiB: an unaligned record copied to 8-byte alignment */
	int16_t *cpu_node; /* HEADER_NUMA_TOPOLOGY: node of each cpu, -1 unknown; NULL: none */
	size_t ncpu_node;
};

static uint64_t rd64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static uint32_t rd32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* [off, off + n) lies inside [0, limit). */
static bool in_range(size_t off, uint64_t n, size_t limit)
{
	return off <= limit && n <= limit - off;
}

static const char *hw_names[] = {
	"cycles", "instructions", "cache-references", "cache-misses", "branch-instructions",
	"branch-misses", "bus-cycles", "stalled-cycles-frontend", "stalled-cycles-backend",
	"ref-cycles",
};
static const char *sw_names[] = {
	"cpu-clock", "task-clock", "page-faults", "context-switches", "cpu-migrations",
	"minor-faults", "major-faults", "alignment-faults", "emulation-faults", "dummy",
	"bpf-output", "cgroup-switches",
};

/* perf's name for an attr without a recorded name (old files): the generic event. */
static void default_name(const struct perf_event_attr *a, char *buf, size_t len)
{
	/* Hybrid PMUs put their PMU type in the upper 32 bits of config. */
	uint64_t c = a->config & 0xffffffffULL;
	if (a->type == PERF_TYPE_HARDWARE && c < sizeof(hw_names) / sizeof(hw_names[0]))
		snprintf(buf, len, "%s", hw_names[c]);
	else if (a->type == PERF_TYPE_SOFTWARE && c < sizeof(sw_names) / sizeof(sw_names[0]))
		snprintf(buf, len, "%s", sw_names[c]);
	else if (a->type == PERF_TYPE_RAW)
		snprintf(buf, len, "r%llx", (unsigned long long)a->config);
	else
		snprintf(buf, len, "%u:0x%llx", a->type, (unsigned long long)a->config);
}

static int add_id(struct pabi_perfdata *pd, uint64_t id, int event, char *err, size_t errlen)
{
	if (pd->nids == pd->idcap) {
		size_t cap = pd->idcap ? 2 * pd->idcap : 64;
		struct pd_id *n = realloc(pd->ids, cap * sizeof(*n));
		if (!n)
			return base_fail(err, errlen, -ENOMEM, "out of memory");
		pd->ids = n;
		pd->idcap = cap;
	}
	pd->ids[pd->nids++] = (struct pd_id){id, event};
	pd->ids_sorted = false;
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	const struct pd_id *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

/*
 * Adds an event from `asize` bytes of a perf_event_attr (any version: the
 * fields we do not know are dropped, the ones the file lacks stay zero).
 */
static int add_event(struct pabi_perfdata *pd, const unsigned char *attr, size_t asize, char *err,
		     size_t errlen)
{
	if (pd->nev == pd->evcap) {
		size_t cap = pd->evcap ? 2 * pd->evcap : 8;
		struct pabi_pd_event *n = realloc(pd->ev, cap * sizeof(*n));
		if (!n)
			return base_fail(err, errlen, -ENOMEM, "out of memory");
		pd->ev = n;
		pd->evcap = cap;
	}
	struct pabi_pd_event *e = &pd->ev[pd->nev];
	memset(e, 0, sizeof(*e));
	memcpy(&e->attr, attr, asize < sizeof(e->attr) ? asize : sizeof(e->attr));
	e->attr.size = sizeof(e->attr);
	pabi_layout_from_attr(&e->layout, &e->attr);
	default_name(&e->attr, e->name, sizeof(e->name));
	pd->nev++;
	return 0;
}

/* The attr's own size (0 means the first version), checked against what holds it. */
static int attr_size(const unsigned char *p, size_t avail, size_t off, size_t *out, char *err,
		     size_t errlen)
{
	if (avail < PD_ATTR_VER0)
		return base_fail(err, errlen, -EINVAL, "perf_event_attr at offset %zu is truncated",
				 off);
	uint32_t sz = rd32(p + 4); /* after u32 type */
	if (sz == 0)
		sz = PD_ATTR_VER0;
	if (sz < PD_ATTR_VER0 || sz > avail)
		return base_fail(err, errlen, -EINVAL,
				 "perf_event_attr at offset %zu has bad size %u", off, sz);
	*out = sz;
	return 0;
}

static void set_name(struct pabi_pd_event *e, const char *s, size_t maxlen)
{
	size_t n = strnlen(s, maxlen);
	if (n >= sizeof(e->name))
		n = sizeof(e->name) - 1;
	memcpy(e->name, s, n);
	e->name[n] = '\0';
}

/* The attr table of file mode: attr + ids section per entry. */
static int read_attrs(struct pabi_perfdata *pd, uint64_t off, uint64_t size, uint64_t entsz,
		      char *err, size_t errlen)
{
	if (!in_range(off, size, pd->len))
		return base_fail(err, errlen, -EINVAL,
				 "attr section [%llu, +%llu) lies outside the file",
				 (unsigned long long)off, (unsigned long long)size);
	if (entsz < PD_ATTR_VER0 + 16 || entsz > 4096 || size % entsz)
		return base_fail(err, errlen, -EINVAL,
				 "attr entry size %llu at offset 16 is invalid",
				 (unsigned long long)entsz);
	for (uint64_t at = off; at < off + size; at += entsz) {
		const unsigned char *p = pd->buf + at;
		size_t asz = 0;
		int ret = attr_size(p, entsz - 16, at, &asz, err, errlen);
		if (ret < 0)
			return ret;
		if ((ret = add_event(pd, p, asz, err, errlen)) < 0)
			return ret;
		/* The ids section follows the attr as perf wrote it (attr.size bytes). */
		uint64_t ioff = rd64(p + asz), isz = rd64(p + asz + 8);
		if (!in_range(ioff, isz, pd->len) || isz % 8)
			return base_fail(
				err, errlen, -EINVAL,
				"ids section of the attr at offset %llu lies outside the file",
				(unsigned long long)at);
		for (uint64_t i = 0; i < isz / 8; i++)
			if ((ret = add_id(pd, rd64(pd->buf + ioff + 8 * i), (int)pd->nev - 1, err,
					  errlen)) < 0)
				return ret;
	}
	return 0;
}

static int event_by_id(struct pabi_perfdata *pd, uint64_t id)
{
	if (!pd->ids_sorted) {
		if (pd->nids) /* qsort's base must not be NULL, even for no elements */
			qsort(pd->ids, pd->nids, sizeof(*pd->ids), cmp_id);
		pd->ids_sorted = true;
	}
	size_t lo = 0, hi = pd->nids;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (pd->ids[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < pd->nids && pd->ids[lo].id == id ? pd->ids[lo].event : -1;
}

/*
 * HEADER_EVENT_DESC: u32 nr, u32 attr_size, then per event the attr, u32
 * nr_ids, a string (u32 len incl. padding, bytes) and the ids. Names go to
 * the event owning the first id, else to the event of the same index.
 */
static int read_event_desc(struct pabi_perfdata *pd, size_t off, size_t end, char *err,
			   size_t errlen)
{
	if (!in_range(off, 8, end))
		return base_fail(err, errlen, -EINVAL, "event_desc at offset %zu is truncated",
				 off);
	uint32_t nr = rd32(pd->buf + off), asz = rd32(pd->buf + off + 4);
	size_t at = off + 8;
	for (uint32_t i = 0; i < nr; i++) {
		if (!in_range(at, (uint64_t)asz + 8, end))
			return base_fail(err, errlen, -EINVAL,
					 "event_desc entry at offset %zu is "
					 "truncated",
					 at);
		at += asz;
		uint32_t nids = rd32(pd->buf + at), slen = rd32(pd->buf + at + 4);
		at += 8;
		if (!in_range(at, (uint64_t)slen + 8ULL * nids, end))
			return base_fail(err, errlen, -EINVAL,
					 "event_desc entry at offset %zu is "
					 "truncated",
					 at - 8);
		const char *name = (const char *)pd->buf + at;
		at += slen;
		int ev = nids ? event_by_id(pd, rd64(pd->buf + at)) : -1;
		if (ev < 0 && i < pd->nev)
			ev = (int)i;
		if (ev >= 0 && slen)
			set_name(&pd->ev[ev], name, slen);
		at += 8ULL * nids;
	}
	return 0;
}

/*
 * HEADER_NUMA_TOPOLOGY: u32 nr, then per node u32 node, u64 mem_total,
 * u64 mem_free and a string (u32 len incl. padding, bytes) listing its
 * CPUs ("0-3,8"). Kept as a cpu -> node table for the c2c report's node
 * columns; a malformed section is ignored (nodes then read as unknown),
 * as it describes the recording host, not the samples.
 */
static void read_numa_topology(struct pabi_perfdata *pd, size_t off, size_t end)
{
	if (!in_range(off, 4, end))
		return;
	uint32_t nr = rd32(pd->buf + off);
	size_t at = off + 4;
	for (uint32_t i = 0; i < nr; i++) {
		if (!in_range(at, 24, end))
			return;
		uint32_t node = rd32(pd->buf + at), slen = rd32(pd->buf + at + 20);
		at += 24;
		if (!in_range(at, slen, end) || slen == 0 || node > INT16_MAX)
			return;
		char list[4096];
		size_t n = strnlen((const char *)pd->buf + at, slen);
		if (n >= sizeof(list))
			return;
		memcpy(list, pd->buf + at, n);
		list[n] = '\0';
		at += slen;
		int *cpus = NULL, ncpus = 0;
		char err[BASE_ERR_MAX];
		if (n == 0 || base_parse_cpu_list(list, &cpus, &ncpus, err, sizeof(err)) < 0)
			continue; /* a memory-only node */
		for (int c = 0; c < ncpus; c++) {
			if (cpus[c] < 0 || cpus[c] >= PD_MAX_CPUS)
				continue;
			size_t need = (size_t)cpus[c] + 1;
			if (need > pd->ncpu_node) {
				int16_t *t = realloc(pd->cpu_node, need * sizeof(*t));
				if (!t)
					break;
				for (size_t k = pd->ncpu_node; k < need; k++)
					t[k] = -1;
				pd->cpu_node = t;
				pd->ncpu_node = need;
			}
			pd->cpu_node[cpus[c]] = (int16_t)node;
		}
		free(cpus);
	}
}

int pabi_perfdata_cpu_node(const struct pabi_perfdata *pd, int cpu)
{
	return cpu >= 0 && (size_t)cpu < pd->ncpu_node ? pd->cpu_node[cpu] : -1;
}

int pabi_perfdata_nnodes(const struct pabi_perfdata *pd)
{
	int n = 0;
	for (size_t i = 0; i < pd->ncpu_node; i++) {
		bool seen = pd->cpu_node[i] < 0;
		for (size_t j = 0; j < i && !seen; j++)
			seen = pd->cpu_node[j] == pd->cpu_node[i];
		n += !seen;
	}
	return n;
}

/* The feature sections follow the data section, one perf_file_section per set bit. */
static int read_features(struct pabi_perfdata *pd, char *err, size_t errlen)
{
	size_t at = pd->data_end;
	for (int bit = 0; bit < PERFDATA_FEAT_BITS; bit++) {
		if (!(pd->feat[bit / 64] >> (bit % 64) & 1))
			continue;
		if (!in_range(at, 16, pd->len))
			return base_fail(err, errlen, -EINVAL,
					 "feature table at offset %zu is truncated", at);
		uint64_t off = rd64(pd->buf + at), size = rd64(pd->buf + at + 8);
		at += 16;
		if (bit == PERFDATA_FEAT_NUMA_TOPOLOGY && in_range(off, size, pd->len))
			read_numa_topology(pd, off, off + size);
		if (bit != PERFDATA_FEAT_EVENT_DESC)
			continue;
		if (!in_range(off, size, pd->len))
			return base_fail(err, errlen, -EINVAL,
					 "event_desc section [%llu, +%llu) lies "
					 "outside the file",
					 (unsigned long long)off, (unsigned long long)size);
		int ret = read_event_desc(pd, off, off + size, err, errlen);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/*
 * Bytes that follow a record outside its header.size (pipe-mode tracing
 * data, AUX data); -EINVAL when the record is too short to say.
 */
static int trailing_bytes(const struct pabi_perfdata *pd, const struct perf_event_header *hh,
			  const unsigned char *body, uint64_t *extra)
{
	*extra = 0;
	if (hh->type == PERFDATA_AUXTRACE) {
		if (hh->size < sizeof(*hh) + 8)
			return -EINVAL;
		*extra = rd64(body);
	} else if (hh->type == PERFDATA_HEADER_TRACING_DATA && pd->pipe) {
		if (hh->size < sizeof(*hh) + 4)
			return -EINVAL;
		*extra = rd32(body);
	}
	return 0;
}

/*
 * The header of the record at pos, bounds-checked and copied out (a pipe's
 * records need not be aligned); `next` is where the following one starts.
 */
static int record_at(const struct pabi_perfdata *pd, size_t pos, struct perf_event_header *out,
		     size_t *next, char *err, size_t errlen)
{
	if (!in_range(pos, sizeof(struct perf_event_header), pd->data_end))
		return base_fail(err, errlen, -EINVAL, "truncated record header at offset %zu",
				 pos);
	struct perf_event_header hh;
	memcpy(&hh, pd->buf + pos, sizeof(hh));
	uint64_t extra;
	if (hh.size < sizeof(hh) || !in_range(pos, hh.size, pd->data_end))
		return base_fail(err, errlen, -EINVAL,
				 "record of type %u at offset %zu has bad size "
				 "%u",
				 hh.type, pos, hh.size);
	if (trailing_bytes(pd, &hh, pd->buf + pos + sizeof(hh), &extra) < 0)
		return base_fail(err, errlen, -EINVAL,
				 "record of type %u at offset %zu is truncated", hh.type, pos);
	if (!in_range(pos + hh.size, extra, pd->data_end))
		return base_fail(err, errlen, -EINVAL,
				 "record of type %u at offset %zu announces %llu "
				 "bytes past the end of the data",
				 hh.type, pos, (unsigned long long)extra);
	*out = hh;
	*next = pos + hh.size + (size_t)extra;
	return 0;
}

/* Pipe mode: the tables arrive as user records; read them all before the data is iterated. */
static int scan_pipe(struct pabi_perfdata *pd, char *err, size_t errlen)
{
	for (size_t pos = pd->data_off, next; pos < pd->data_end; pos = next) {
		struct perf_event_header hh;
		const struct perf_event_header *h = &hh;
		int ret = record_at(pd, pos, &hh, &next, err, errlen);
		if (ret < 0)
			return ret;
		const unsigned char *b = pd->buf + pos + sizeof(hh);
		size_t body = h->size - sizeof(*h);
		if (h->type == PERFDATA_HEADER_ATTR) {
			size_t asz = 0;
			if ((ret = attr_size(b, body, pos + 8, &asz, err, errlen)) < 0 ||
			    (ret = add_event(pd, b, asz, err, errlen)) < 0)
				return ret;
			for (size_t i = asz; i + 8 <= body; i += 8)
				if ((ret = add_id(pd, rd64(b + i), (int)pd->nev - 1, err, errlen)) < 0)
					return ret;
		} else if (h->type == PERFDATA_EVENT_UPDATE && body >= 16 &&
			   rd64(b) == PD_EVENT_UPDATE_NAME) {
			int ev = event_by_id(pd, rd64(b + 8));
			if (ev >= 0 && body > 16)
				set_name(&pd->ev[ev], (const char *)b + 16, body - 16);
		} else if (h->type == PERFDATA_HEADER_FEATURE && body >= 8 &&
			   rd64(b) == PERFDATA_FEAT_NUMA_TOPOLOGY) {
			read_numa_topology(pd, pos + 16, pos + h->size);
		} else if (h->type == PERFDATA_HEADER_FEATURE && body >= 8 &&
			   rd64(b) == PERFDATA_FEAT_EVENT_DESC) {
			if ((ret = read_event_desc(pd, pos + 16, pos + h->size, err, errlen)) < 0)
				return ret;
		}
	}
	return 0;
}

/* Where the id sits, as perf's evsel__calc_id_pos: -1 when the layout has none. */
static void calc_id_pos(struct pabi_perfdata *pd)
{
	uint64_t t = pd->nev ? pd->ev[0].attr.sample_type : 0;
	pd->sample_id_all = pd->nev && pd->ev[0].attr.sample_id_all;
	if (t & PERF_SAMPLE_IDENTIFIER) {
		pd->id_pos = 0;
		pd->is_pos = 1;
		return;
	}
	if (!(t & PERF_SAMPLE_ID)) {
		pd->id_pos = pd->is_pos = -1;
		return;
	}
	pd->id_pos = !!(t & PERF_SAMPLE_IP) + !!(t & PERF_SAMPLE_TID) + !!(t & PERF_SAMPLE_TIME) +
		     !!(t & PERF_SAMPLE_ADDR);
	pd->is_pos = 1 + !!(t & PERF_SAMPLE_CPU) + !!(t & PERF_SAMPLE_STREAM_ID);
}

bool pabi_perfdata_probe(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	unsigned char b[8];
	struct stat st;
	bool yes = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && read(fd, b, 8) == 8 &&
		   rd64(b) == PERFDATA_MAGIC2;
	close(fd);
	return yes;
}

static int load(struct pabi_perfdata *pd, const char *path, char *err, size_t errlen)
{
	int fd = strcmp(path, "-") == 0 ? dup(0) : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return base_fail(err, errlen, -errno, "cannot open %s: %s", path, strerror(errno));
	struct stat st;
	int ret = 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		if (st.st_size == 0) {
			ret = base_fail(err, errlen, -EINVAL, "%s is empty", path);
		} else {
			void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
			if (m == MAP_FAILED)
				ret = base_fail(err, errlen, -errno, "cannot map %s: %s", path,
						strerror(errno));
			else
				pd->buf = m, pd->len = (size_t)st.st_size, pd->mapped = true;
		}
		close(fd);
		return ret;
	}
	/* A pipe: read it all. */
	size_t cap = 1 << 20, used = 0;
	unsigned char *b = malloc(cap);
	for (;;) {
		if (!b) {
			ret = base_fail(err, errlen, -ENOMEM, "out of memory reading %s", path);
			break;
		}
		if (used == cap) {
			unsigned char *n = realloc(b, cap * 2);
			if (!n) {
				free(b);
				b = NULL;
				continue;
			}
			b = n;
			cap *= 2;
		}
		ssize_t r = read(fd, b + used, cap - used);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = base_fail(err, errlen, -errno, "cannot read %s: %s", path,
					strerror(errno));
			break;
		}
		if (r == 0)
			break;
		used += (size_t)r;
	}
	close(fd);
	if (ret < 0) {
		free(b);
		return ret;
	}
	pd->buf = b;
	pd->len = used;
	return 0;
}

int pabi_perfdata_open(struct pabi_perfdata **out, const char *path, char *err, size_t errlen)
{
	*out = NULL;
	struct pabi_perfdata *pd = calloc(1, sizeof(*pd));
	if (!pd || !(pd->scratch = malloc(1 << 16))) {
		free(pd);
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	}
	int ret = load(pd, path, err, errlen);
	if (ret < 0)
		goto fail;
	if (pd->len < PD_PIPE_HEADER_SIZE) {
		ret = base_fail(err, errlen, -EINVAL, "%s: too short for a perf.data header", path);
		goto fail;
	}
	uint64_t magic = rd64(pd->buf), hsize = rd64(pd->buf + 8);
	if (magic == PD_MAGIC2_SWAPPED) {
		ret = base_fail(err, errlen, -ENOTSUP,
				"%s was recorded on a big-endian host; "
				"byte-swapped perf.data is not supported",
				path);
		goto fail;
	}
	if (magic == PD_MAGIC1) {
		ret = base_fail(err, errlen, -ENOTSUP,
				"%s has perf's first file format (PERFFILE, "
				"before Linux 2.6.38); re-record it with a newer perf",
				path);
		goto fail;
	}
	if (magic != PERFDATA_MAGIC2) {
		ret = base_fail(err, errlen, -EINVAL,
				"%s is not a perf.data file (bad magic at "
				"offset 0)",
				path);
		goto fail;
	}
	if (hsize == PD_PIPE_HEADER_SIZE) {
		pd->pipe = true;
		pd->data_off = PD_PIPE_HEADER_SIZE;
		pd->data_end = pd->len;
		if ((ret = scan_pipe(pd, err, errlen)) < 0)
			goto fail;
	} else if (hsize == PERFDATA_HEADER_SIZE || hsize == PD_FILE_HEADER_NOFEAT) {
		if (pd->len < hsize) {
			ret = base_fail(err, errlen, -EINVAL, "%s: header truncated at offset %zu",
					path, pd->len);
			goto fail;
		}
		uint64_t attr_sz = rd64(pd->buf + 16);
		uint64_t aoff = rd64(pd->buf + 24), asize = rd64(pd->buf + 32);
		uint64_t doff = rd64(pd->buf + 40), dsize = rd64(pd->buf + 48);
		if (hsize == PERFDATA_HEADER_SIZE)
			memcpy(pd->feat, pd->buf + 72, sizeof(pd->feat));
		if (!in_range(doff, dsize, pd->len)) {
			ret = base_fail(err, errlen, -EINVAL,
					"%s: data section [%llu, +%llu) lies "
					"outside the file (%zu bytes): truncated?",
					path, (unsigned long long)doff, (unsigned long long)dsize,
					pd->len);
			goto fail;
		}
		pd->data_off = doff;
		pd->data_end = doff + dsize;
		if ((ret = read_attrs(pd, aoff, asize, attr_sz, err, errlen)) < 0 ||
		    (ret = read_features(pd, err, errlen)) < 0)
			goto fail;
	} else {
		ret = base_fail(err, errlen, -EINVAL, "%s: unknown header size %llu at offset 8",
				path, (unsigned long long)hsize);
		goto fail;
	}
	if (pd->nev == 0) {
		ret = base_fail(err, errlen, -EINVAL, "%s describes no events", path);
		goto fail;
	}
	calc_id_pos(pd);
	pd->pos = pd->data_off;
	*out = pd;
	return 0;
fail:
	pabi_perfdata_close(pd);
	return ret;
}

void pabi_perfdata_close(struct pabi_perfdata *pd)
{
	if (!pd)
		return;
	if (pd->mapped)
		munmap((void *)pd->buf, pd->len);
	else
		free((void *)pd->buf);
	free(pd->ev);
	free(pd->ids);
	free(pd->scratch);
	free(pd->cpu_node);
	free(pd);
}

bool pabi_perfdata_is_pipe(const struct pabi_perfdata *pd)
{
	return pd->pipe;
}

size_t pabi_perfdata_nevents(const struct pabi_perfdata *pd)
{
	return pd->nev;
}

const struct pabi_pd_event *pabi_perfdata_event(const struct pabi_perfdata *pd, size_t i)
{
	return i < pd->nev ? &pd->ev[i] : NULL;
}

int pabi_perfdata_event_of_id(struct pabi_perfdata *pd, uint64_t id)
{
	return event_by_id(pd, id);
}

/* The event a record belongs to, as perf's evlist__event2evsel; -1 when unknown. */
static int resolve(struct pabi_perfdata *pd, const struct perf_event_header *h)
{
	if (pd->nev == 1)
		return 0;
	const unsigned char *b = (const unsigned char *)(h + 1);
	size_t words = (h->size - sizeof(*h)) / 8;
	uint64_t id;
	if (h->type == PERF_RECORD_SAMPLE) {
		if (pd->id_pos < 0)
			return 0;
		if ((size_t)pd->id_pos >= words)
			return -1;
		id = rd64(b + 8 * (size_t)pd->id_pos);
	} else {
		if (!pd->sample_id_all || pd->is_pos < 0)
			return 0;
		if ((size_t)pd->is_pos > words)
			return -1;
		id = rd64((const unsigned char *)h + h->size - 8 * (size_t)pd->is_pos);
	}
	/* perf gives records without an id (id 0) to the first event. */
	return id ? event_by_id(pd, id) : 0;
}

int pabi_perfdata_record_event(struct pabi_perfdata *pd, const struct perf_event_header *h)
{
	return h->type >= PERFDATA_USER_TYPE_START ? -1 : resolve(pd, h);
}

static uint64_t record_time(const struct pabi_perfdata *pd, const struct perf_event_header *h,
			    int ev)
{
	const struct pabi_layout *l = &pd->ev[ev < 0 ? 0 : ev].layout;
	uint64_t t = l->sample_type;
	if (!(t & PERF_SAMPLE_TIME))
		return 0;
	if (h->type == PERF_RECORD_SAMPLE) {
		size_t w = !!(t & PERF_SAMPLE_IDENTIFIER) + !!(t & PERF_SAMPLE_IP) +
			   !!(t & PERF_SAMPLE_TID);
		if (h->size < sizeof(*h) + 8 * (w + 1))
			return 0;
		return rd64((const unsigned char *)(h + 1) + 8 * w);
	}
	struct pabi_sample_id sid;
	if (!pd->sample_id_all || pabi_parse_sample_id(l, h, &sid) < 0)
		return 0;
	return sid.time;
}

int pabi_perfdata_next(struct pabi_perfdata *pd, struct pabi_pd_record *r, char *err, size_t errlen)
{
	if (pd->pos >= pd->data_end)
		return 0;
	struct perf_event_header hh;
	size_t next;
	int ret = record_at(pd, pd->pos, &hh, &next, err, errlen);
	if (ret < 0)
		return ret;
	r->offset = pd->pos;
	const struct perf_event_header *h = (const void *)(pd->buf + pd->pos);
	/* The decoders read u64 fields in place: keep records 8-byte aligned. */
	if ((uintptr_t)h % 8) {
		memcpy(pd->scratch, h, hh.size);
		h = (const void *)pd->scratch;
	}
	r->scratch = (const unsigned char *)h == pd->scratch;
	pd->pos = next;
	r->h = h;
	/* perf's own records (HEADER_ATTR, FINISHED_ROUND, ...) belong to no event. */
	bool user = h->type >= PERFDATA_USER_TYPE_START;
	r->event = user ? -1 : resolve(pd, h);
	r->time = user ? 0 : record_time(pd, h, r->event);
	return 1;
}

void pabi_perfdata_rewind(struct pabi_perfdata *pd)
{
	pd->pos = pd->data_off;
}
