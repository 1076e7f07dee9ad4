/*
 * The process model: what side-band records say about each process, applied
 * in time order. Per process, the executable mappings sorted by address
 * (a new mapping replaces what it overlaps, as mmap(2) does), the executable
 * path, and the name of each thread. exec resets a process's mappings; fork
 * copies them; threads share them.
 */
#include "process.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct proc {
	pid_t pid;
	struct proc_map *maps; /* sorted by start, non-overlapping */
	size_t nmaps, cap;
	char *exe;
	bool exited;
	bool exe_pending; /* the next file mapping after exec is the executable */
};

struct thread {
	pid_t tid, pid;
	char comm[16];
	bool exited;
};

/* pid or tid -> entry: the entries in insertion order, found through a base_htab. */
struct pid_entry {
	pid_t pid;
	void *val;
};

struct slot_map {
	struct base_htab index;
	struct pid_entry *v;
	size_t n, cap;
};

struct proc_model {
	struct slot_map procs;   /* pid -> struct proc */
	struct slot_map threads; /* tid -> struct thread */
	uint64_t maps_gen;       /* proc_maps_generation */
};

static uint64_t hash_pid(pid_t pid)
{
	return base_htab_mix(0, (uint32_t)pid);
}

static bool pid_eq(const void *ctx, uint32_t idx, const void *key)
{
	return ((const struct slot_map *)ctx)->v[idx].pid == *(const pid_t *)key;
}

static void **map_find(const struct slot_map *m, pid_t pid)
{
	if (m->index.cap == 0 || pid < 0)
		return NULL;
	const struct base_htab_slot *s = base_htab_find(&m->index, hash_pid(pid), pid_eq, m, &pid);
	return s->idx1 ? &m->v[s->idx1 - 1].val : NULL;
}

static int map_put(struct slot_map *m, pid_t pid, void *val)
{
	if (pid < 0)
		return -EINVAL;
	if (m->n >= UINT32_MAX || base_htab_reserve(&m->index) < 0 || BASE_GROW(m->v, m->cap, m->n + 1) < 0)
		return -ENOMEM;
	uint64_t h = hash_pid(pid);
	struct base_htab_slot *s = base_htab_find(&m->index, h, pid_eq, m, &pid);
	if (s->idx1) {
		m->v[s->idx1 - 1].val = val;
		return 0;
	}
	m->v[m->n] = (struct pid_entry){pid, val};
	s->hash = h;
	s->idx1 = (uint32_t)++m->n;
	m->index.n++;
	return 0;
}

static void map_free(struct slot_map *m)
{
	base_htab_free(&m->index);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

int proc_model_new(struct proc_model **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

static void free_maps(struct proc *p)
{
	for (size_t i = 0; i < p->nmaps; i++)
		free((char *)p->maps[i].filename);
	p->nmaps = 0;
}

static void free_proc(struct proc *p)
{
	free_maps(p);
	free(p->maps);
	free(p->exe);
	free(p);
}

void proc_model_free(struct proc_model *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->procs.n; i++)
		if (m->procs.v[i].val)
			free_proc(m->procs.v[i].val);
	for (size_t i = 0; i < m->threads.n; i++)
		free(m->threads.v[i].val);
	map_free(&m->procs);
	map_free(&m->threads);
	free(m);
}

static struct proc *get_proc(struct proc_model *m, pid_t pid)
{
	void **v = map_find(&m->procs, pid);
	if (v)
		return *v;
	struct proc *p = calloc(1, sizeof(*p));
	if (!p || map_put(&m->procs, pid, p) < 0) {
		free(p);
		return NULL;
	}
	p->pid = pid;
	return p;
}

static struct thread *get_thread(struct proc_model *m, pid_t pid, pid_t tid)
{
	void **v = map_find(&m->threads, tid);
	if (v) {
		struct thread *t = *v;
		t->pid = pid;
		return t;
	}
	struct thread *t = calloc(1, sizeof(*t));
	if (!t || map_put(&m->threads, tid, t) < 0) {
		free(t);
		return NULL;
	}
	t->tid = tid;
	t->pid = pid;
	return t;
}

static int reserve_maps(struct proc *p, size_t n)
{
	if (n <= p->cap)
		return 0;
	size_t cap = p->cap ? p->cap : 16;
	while (cap < n)
		cap *= 2;
	struct proc_map *g = realloc(p->maps, cap * sizeof(*g));
	if (!g)
		return -ENOMEM;
	p->maps = g;
	p->cap = cap;
	return 0;
}

/* Inserts [start, end) replacing the parts of older mappings it covers. */
static int insert_map(struct proc *p, const struct proc_map *nm)
{
	if (reserve_maps(p, p->nmaps + 2) < 0)
		return -ENOMEM;
	size_t i = 0;
	while (i < p->nmaps) {
		struct proc_map *o = &p->maps[i];
		if (o->end <= nm->start || o->start >= nm->end) {
			i++;
			continue;
		}
		if (o->start < nm->start && o->end > nm->end) {
			/* The new mapping punches a hole: split the old one in two. */
			struct proc_map right = *o;
			right.pgoff += nm->end - o->start;
			right.start = nm->end;
			right.filename = strdup(o->filename);
			if (!right.filename)
				return -ENOMEM;
			o->end = nm->start;
			o->cookie = right.cookie = 0; /* each part is a new pprof mapping */
			memmove(&p->maps[i + 2], &p->maps[i + 1], (p->nmaps - i - 1) * sizeof(*o));
			p->maps[i + 1] = right;
			p->nmaps++;
			i += 2;
		} else if (o->start < nm->start) {
			o->end = nm->start;
			o->cookie = 0;
			i++;
		} else if (o->end > nm->end) {
			o->pgoff += nm->end - o->start;
			o->start = nm->end;
			o->cookie = 0;
			i++;
		} else {
			free((char *)o->filename);
			memmove(o, o + 1, (p->nmaps - i - 1) * sizeof(*o));
			p->nmaps--;
		}
	}
	size_t pos = 0;
	while (pos < p->nmaps && p->maps[pos].start < nm->start)
		pos++;
	memmove(&p->maps[pos + 1], &p->maps[pos], (p->nmaps - pos) * sizeof(*nm));
	p->maps[pos] = *nm;
	p->nmaps++;
	return 0;
}

int proc_on_mmap(struct proc_model *m, pid_t pid, uint64_t start, uint64_t len, uint64_t pgoff,
		 const char *filename, const char *build_id, uint32_t prot, uint32_t flags)
{
	struct proc *p = get_proc(m, pid);
	if (!p)
		return -ENOMEM;
	m->maps_gen++;
	struct proc_map nm = {.start = start, .end = start + len, .pgoff = pgoff,
			      .prot = prot, .flags = flags};
	nm.filename = strdup(filename);
	if (!nm.filename)
		return -ENOMEM;
	snprintf(nm.build_id, sizeof(nm.build_id), "%s", build_id ? build_id : "");
	/*
	 * The executable: the first file mapped after exec, or, for a process
	 * known from the start only through its maps (synthesized from /proc in
	 * address order), its lowest file mapping.
	 */
	if ((p->exe_pending || !p->exe) && filename[0] == '/') {
		free(p->exe);
		p->exe = strdup(filename);
		p->exe_pending = false;
	}
	int ret = insert_map(p, &nm);
	if (ret < 0)
		free((char *)nm.filename);
	return ret;
}

int proc_on_comm(struct proc_model *m, pid_t pid, pid_t tid, const char *comm, bool exec)
{
	struct thread *t = get_thread(m, pid, tid);
	if (!t)
		return -ENOMEM;
	snprintf(t->comm, sizeof(t->comm), "%s", comm);
	if (exec) {
		struct proc *p = get_proc(m, pid);
		if (!p)
			return -ENOMEM;
		free_maps(p); /* a new program: the old mappings are gone */
		m->maps_gen++;
		p->exe_pending = true;
		p->exited = false;
	}
	return 0;
}

int proc_on_fork(struct proc_model *m, pid_t pid, pid_t ppid, pid_t tid, pid_t ptid)
{
	struct thread *parent = NULL;
	void **v = map_find(&m->threads, ptid);
	if (v)
		parent = *v;
	struct thread *t = get_thread(m, pid, tid);
	if (!t)
		return -ENOMEM;
	if (parent)
		memcpy(t->comm, parent->comm, sizeof(t->comm));
	if (pid == ppid)
		return 0; /* a new thread shares its process's mappings */
	struct proc *pp = get_proc(m, ppid), *p = get_proc(m, pid);
	if (!pp || !p)
		return -ENOMEM;
	m->maps_gen++;
	free_maps(p);
	if (reserve_maps(p, pp->nmaps) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < pp->nmaps; i++) {
		p->maps[i] = pp->maps[i];
		p->maps[i].filename = strdup(pp->maps[i].filename);
		if (!p->maps[i].filename)
			return p->nmaps = i, -ENOMEM;
	}
	p->nmaps = pp->nmaps;
	free(p->exe);
	p->exe = pp->exe ? strdup(pp->exe) : NULL;
	return 0;
}

void proc_on_exit(struct proc_model *m, pid_t pid, pid_t tid)
{
	/* Marked, not freed: samples taken before the exit may still be in flight. */
	void **v = map_find(&m->threads, tid);
	if (v)
		((struct thread *)*v)->exited = true;
	if (pid != tid)
		return;
	v = map_find(&m->procs, pid);
	if (v)
		((struct proc *)*v)->exited = true;
}

int proc_model_forget_exited(struct proc_model *m)
{
	/* Rebuild both tables with the live entries: simpler than tombstones, and rare. */
	m->maps_gen++; /* a pid may come back as another process */
	struct slot_map procs = {0}, threads = {0};
	int forgotten = 0, ret = 0;
	for (size_t i = 0; i < m->procs.n; i++) {
		struct proc *p = m->procs.v[i].val;
		if (!p)
			continue;
		if (p->exited || ret < 0 || (ret = map_put(&procs, m->procs.v[i].pid, p)) < 0) {
			forgotten += p->exited;
			free_proc(p);
		}
	}
	for (size_t i = 0; i < m->threads.n; i++) {
		struct thread *t = m->threads.v[i].val;
		if (!t)
			continue;
		/* A thread goes with its process; a known process that is gone took it along. */
		bool proc_gone = !map_find(&procs, t->pid) && map_find(&m->procs, t->pid);
		if (t->exited || proc_gone || ret < 0 ||
		    (ret = map_put(&threads, m->threads.v[i].pid, t)) < 0)
			free(t);
	}
	map_free(&m->procs);
	map_free(&m->threads);
	m->procs = procs;
	m->threads = threads;
	return ret < 0 ? ret : forgotten;
}

size_t proc_model_size(const struct proc_model *m)
{
	return m->procs.n;
}

/* MMAP2 body: pid, tid, addr, len, pgoff, {maj,min,ino,gen | bid_size,res,bid[20]}, prot, flags, name */
struct mmap2_body {
	uint32_t pid, tid;
	uint64_t addr, len, pgoff;
	union {
		struct {
			uint32_t maj, min;
			uint64_t ino, ino_generation;
		};
		struct {
			uint8_t build_id_size, reserved1;
			uint16_t reserved2;
			uint8_t build_id[20];
		};
	};
	uint32_t prot, flags;
};

static const char *bounded_name(const struct perf_event_header *h, const char *name)
{
	const char *end = (const char *)h + h->size;
	return memchr(name, 0, (size_t)(end - name)) ? name : NULL;
}

int proc_apply_record(struct proc_model *m, const struct perf_event_header *h)
{
	const unsigned char *body = (const unsigned char *)(h + 1);
	size_t len = h->size - sizeof(*h);
	switch (h->type) {
	case PERF_RECORD_MMAP2: {
		struct mmap2_body b;
		if (len < sizeof(b))
			return -EINVAL;
		memcpy(&b, body, sizeof(b));
		const char *name = bounded_name(h, (const char *)body + sizeof(b));
		if (!name)
			return -EINVAL;
		char bid[41] = "";
		if ((h->misc & PERF_RECORD_MISC_MMAP_BUILD_ID) && b.build_id_size <= 20)
			for (unsigned i = 0; i < b.build_id_size; i++)
				snprintf(bid + 2 * i, 3, "%02x", b.build_id[i]);
		return proc_on_mmap(m, (pid_t)b.pid, b.addr, b.len, b.pgoff, name, bid, b.prot,
				    b.flags);
	}
	case PERF_RECORD_MMAP: {
		struct {
			uint32_t pid, tid;
			uint64_t addr, len, pgoff;
		} b;
		if (len < sizeof(b))
			return -EINVAL;
		memcpy(&b, body, sizeof(b));
		const char *name = bounded_name(h, (const char *)body + sizeof(b));
		if (!name)
			return -EINVAL;
		return proc_on_mmap(m, (pid_t)b.pid, b.addr, b.len, b.pgoff, name, NULL, 0, 0);
	}
	case PERF_RECORD_COMM: {
		uint32_t ids[2];
		if (len < sizeof(ids) + 1)
			return -EINVAL;
		memcpy(ids, body, sizeof(ids));
		const char *name = bounded_name(h, (const char *)body + sizeof(ids));
		if (!name)
			return -EINVAL;
		return proc_on_comm(m, (pid_t)ids[0], (pid_t)ids[1], name,
				    h->misc & PERF_RECORD_MISC_COMM_EXEC);
	}
	case PERF_RECORD_FORK:
	case PERF_RECORD_EXIT: {
		uint32_t ids[4]; /* pid, ppid, tid, ptid */
		if (len < sizeof(ids))
			return -EINVAL;
		memcpy(ids, body, sizeof(ids));
		if (h->type == PERF_RECORD_FORK)
			return proc_on_fork(m, (pid_t)ids[0], (pid_t)ids[1], (pid_t)ids[2],
					    (pid_t)ids[3]);
		proc_on_exit(m, (pid_t)ids[0], (pid_t)ids[2]);
		return 0;
	}
	default:
		return 0;
	}
}

uint64_t proc_maps_generation(const struct proc_model *m)
{
	return m->maps_gen;
}

struct proc_map *proc_find_map(struct proc_model *m, pid_t pid, uint64_t addr)
{
	void **v = map_find(&m->procs, pid);
	if (!v)
		return NULL;
	struct proc *p = *v;
	size_t lo = 0, hi = p->nmaps;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (p->maps[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < p->nmaps && p->maps[lo].start <= addr ? &p->maps[lo] : NULL;
}

struct proc_map *proc_prev_map(struct proc_model *m, pid_t pid, const struct proc_map *map)
{
	void **v = map_find(&m->procs, pid);
	if (!v)
		return NULL;
	struct proc *p = *v;
	if (map <= p->maps || map >= p->maps + p->nmaps)
		return NULL;
	return (struct proc_map *)map - 1;
}

struct proc_map *proc_next_map(struct proc_model *m, pid_t pid, const struct proc_map *map)
{
	void **v = map_find(&m->procs, pid);
	if (!v)
		return NULL;
	struct proc *p = *v;
	if (!map)
		return p->nmaps ? p->maps : NULL;
	if (map < p->maps || map + 1 >= p->maps + p->nmaps)
		return NULL;
	return (struct proc_map *)map + 1;
}

const char *proc_comm(const struct proc_model *m, pid_t pid, pid_t tid)
{
	if (pid == 0 && tid == 0)
		return "swapper"; /* the idle task: no COMM record ever names it */
	void **v = map_find(&m->threads, tid);
	if (!v || !((struct thread *)*v)->comm[0])
		v = map_find(&m->threads, pid);
	return v && ((struct thread *)*v)->comm[0] ? ((struct thread *)*v)->comm : NULL;
}

const char *proc_exe(const struct proc_model *m, pid_t pid)
{
	void **v = map_find(&m->procs, pid);
	return v ? ((struct proc *)*v)->exe : NULL;
}

static int apply_synthesized(void *m, const struct perf_event_header *h)
{
	return proc_apply_record(m, h);
}

int proc_synthesize(struct proc_model *m, pid_t pid, bool data)
{
	static const struct pabi_layout no_trailer;
	static const struct pabi_sample_id no_id;
	return pabi_synthesize(pid, data, &no_trailer, &no_id, apply_synthesized, m, NULL, 0);
}
