/*
 * The DWARF unwinder (unwind.h): call stacks of perf samples through
 * libunwind's remote interface. Owns the accessors libunwind calls and one
 * libunwind address space per process (bounded LRU), each with the modules it
 * met and where they are mapped; the modules themselves (unwind_module.c) are
 * shared by every process. Once a process's modules are known, a sample costs
 * no allocation and no file I/O.
 */
#include "unwind_internal.h"

#include "process.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Exported by libunwind but not declared in its headers (tools/perf declares it the same way). */
extern int UNW_OBJ(dwarf_search_unwind_table)(unw_addr_space_t as, unw_word_t ip,
					      unw_dyn_info_t *di, unw_proc_info_t *pi,
					      int need_unwind_info, void *arg);

/*
 * Processes with a libunwind address space. Each costs ~26 KB (libunwind keeps
 * its 128-entry register-state cache inside it, and its Debian build ignores
 * unw_set_cache_size); 256 bound a system-wide session to ~7 MB. A process
 * that falls out is rebuilt on its next sample.
 */
#define UW_PROCS_MAX 256
#define UW_PROC_BUCKETS 512 /* power of two */

/*
 * How far above SP a read still counts as "in the stack" when it misses the
 * copy: a thread's stack is a few MB, and a CFA that far up means the dump
 * was too small, not that the address is foreign.
 */
#define UW_STACK_SPAN (256ull << 20)

/* A module as mapped in one process: runtime [lo, hi) = bias + ELF vaddrs. */
struct uw_mod_ref {
	uint64_t lo, hi, bias;
	struct uw_module *m;
	int status; /* the module's, or -ENOEXEC when this mapping fits none of its segments */
};

struct uw_proc {
	pid_t pid;
	unw_addr_space_t as;
	struct uw_mod_ref *mods; /* sorted by lo, non-overlapping */
	size_t nmods, cap;
	size_t last; /* index of the last ref hit */
	struct uw_proc *hnext;
	struct base_link lru;
};

/* Where the sample being unwound is; libunwind hands it back to each accessor. */
struct uw_ctx {
	struct uw_session *u;
	struct uw_proc *p;
	uint64_t regs[UW_PERF_REGS];
	uint64_t have; /* bit per perf register number present */
	const unsigned char *stack;
	uint64_t sp, stack_size;
	/* The file segment read last, as a window into its bytes: CFI reads come in runs. */
	uint64_t win_lo, win_hi;
	const unsigned char *win;
	bool in_find;  /* inside find_proc_info: memory is the module's CFI */
	int find_stop; /* why find_proc_info found nothing (-1: it did) */
	int mem_stop;  /* why a read failed first (-1: none did) */
};

struct uw_session {
	struct proc_model *procs;
	unw_accessors_t acc;
	struct uw_ctx ctx;
	/*
	 * The .debug_frame path reads through libunwind's local accessors, which
	 * take `arg` for their own cursor and look at its `validate` flag: an
	 * all-zero cursor keeps them from reading ours.
	 */
	unw_cursor_t zero_cursor;
	struct uw_proc *pbuckets[UW_PROC_BUCKETS];
	struct base_list plru; /* processes, most recent first */
	size_t nprocs;
	struct uw_modules modules;
	struct uw_stats stats;
};

/* libunwind's register numbers (DWARF's) to perf's; -1 for those perf does not sample. */
static int unw_to_perf(unw_regnum_t r)
{
#if defined(__x86_64__)
	static const int8_t map[] = {
		[UNW_X86_64_RAX] = PERF_REG_X86_AX, [UNW_X86_64_RDX] = PERF_REG_X86_DX,
		[UNW_X86_64_RCX] = PERF_REG_X86_CX, [UNW_X86_64_RBX] = PERF_REG_X86_BX,
		[UNW_X86_64_RSI] = PERF_REG_X86_SI, [UNW_X86_64_RDI] = PERF_REG_X86_DI,
		[UNW_X86_64_RBP] = PERF_REG_X86_BP, [UNW_X86_64_RSP] = PERF_REG_X86_SP,
		[UNW_X86_64_R8] = PERF_REG_X86_R8,  [UNW_X86_64_R9] = PERF_REG_X86_R9,
		[UNW_X86_64_R10] = PERF_REG_X86_R10, [UNW_X86_64_R11] = PERF_REG_X86_R11,
		[UNW_X86_64_R12] = PERF_REG_X86_R12, [UNW_X86_64_R13] = PERF_REG_X86_R13,
		[UNW_X86_64_R14] = PERF_REG_X86_R14, [UNW_X86_64_R15] = PERF_REG_X86_R15,
		[UNW_X86_64_RIP] = PERF_REG_X86_IP,
	};
	return r >= 0 && (size_t)r < sizeof(map) / sizeof(map[0]) ? map[r] : -1;
#else
	/* X0..X30 (X29 the frame pointer, X30 the link register), SP, PC in both numberings. */
	if (r >= UNW_AARCH64_X0 && r <= UNW_AARCH64_X30)
		return PERF_REG_ARM64_X0 + (r - UNW_AARCH64_X0);
	if (r == UNW_AARCH64_SP)
		return PERF_REG_ARM64_SP;
	if (r == UNW_AARCH64_PC)
		return PERF_REG_ARM64_PC;
	return -1;
#endif
}

uint64_t uw_sample_regs_mask(void)
{
	uint64_t all = (1ull << UW_PERF_REGS) - 1;
#if defined(__x86_64__)
	/* Not the segment registers, which CFI never uses (perf leaves them out too). */
	all &= ~((1ull << PERF_REG_X86_DS) | (1ull << PERF_REG_X86_ES) |
		 (1ull << PERF_REG_X86_FS) | (1ull << PERF_REG_X86_GS));
#endif
	return all;
}

const char *uw_stop_name(enum uw_stop s)
{
	static const char *const names[] = {
		[UW_STOP_END] = "end", [UW_STOP_DEPTH] = "depth", [UW_STOP_STACK] = "stack",
		[UW_STOP_NO_CFI] = "no-cfi", [UW_STOP_NO_MAP] = "no-map",
		[UW_STOP_ERROR] = "error",
	};
	return (unsigned)s <= UW_STOP_ERROR ? names[s] : "?";
}

/*
 * Reads the 8 bytes at runtime address addr of module reference r from the
 * file's bytes, and makes their segment the context's window.
 */
static int module_read(struct uw_ctx *c, const struct uw_mod_ref *r, uint64_t addr,
		       unw_word_t *out)
{
	const struct uw_module *m = r->m;
	uint64_t va = addr - r->bias;
	for (size_t i = 0; i < m->nloads; i++) {
		const struct bin_load *l = &m->loads[i];
		if (va < l->vaddr || va - l->vaddr >= l->filesz || l->offset >= m->image_size)
			continue;
		uint64_t off = l->offset + (va - l->vaddr);
		if (off >= m->image_size)
			return -1;
		size_t n = m->image_size - off < 8 ? (size_t)(m->image_size - off) : 8;
		unw_word_t w = 0;
		memcpy(&w, m->image + off, n);
		*out = w;
		uint64_t len = l->filesz < m->image_size - l->offset ? l->filesz
								      : m->image_size - l->offset;
		c->win_lo = r->bias + l->vaddr;
		c->win_hi = c->win_lo + len;
		c->win = m->image + l->offset;
		return 0;
	}
	return -1;
}

/* ---- processes ---------------------------------------------------------------- */

/* Chained buckets, not a base_htab: processes leave (LRU) and base_htab has no removal. */
static size_t proc_bucket(pid_t pid)
{
	return base_htab_mix(0, (uint32_t)pid) & (UW_PROC_BUCKETS - 1);
}

static void proc_drop(struct uw_session *u, struct uw_proc *p)
{
	u->ctx.win_lo = u->ctx.win_hi = 0;
	struct uw_proc **pp = &u->pbuckets[proc_bucket(p->pid)];
	while (*pp && *pp != p)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = p->hnext;
	base_list_unlink(&u->plru, &p->lru);
	u->nprocs--;
	if (p->as) {
		unw_flush_cache(p->as, 0, 0);
		unw_destroy_addr_space(p->as);
	}
	for (size_t i = 0; i < p->nmods; i++)
		uw_module_put(&u->modules, p->mods[i].m);
	free(p->mods);
	free(p);
}

static struct uw_proc *proc_get(struct uw_session *u, pid_t pid)
{
	size_t b = proc_bucket(pid);
	for (struct uw_proc *p = u->pbuckets[b]; p; p = p->hnext) {
		if (p->pid == pid) {
			if (u->plru.head != &p->lru) {
				base_list_unlink(&u->plru, &p->lru);
				base_list_push_front(&u->plru, &p->lru);
			}
			return p;
		}
	}
	struct uw_proc *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	p->as = unw_create_addr_space(&u->acc, 0);
	if (!p->as) {
		free(p);
		return NULL;
	}
	/*
	 * GLOBAL: the register-state cache inside this address space. PER_THREAD
	 * would be one thread-local cache keyed by IP alone, shared by every
	 * process's address space (and Debian's build, without __thread, turns it
	 * into GLOBAL anyway). NONE re-reads the CFI at every step, ~4x slower.
	 */
	unw_set_caching_policy(p->as, UNW_CACHE_GLOBAL);
	p->hnext = u->pbuckets[b];
	u->pbuckets[b] = p;
	base_list_push_front(&u->plru, &p->lru);
	if (++u->nprocs > UW_PROCS_MAX)
		proc_drop(u, BASE_ENTRY(u->plru.tail, struct uw_proc, lru));
	return p;
}

void uw_flush_pid(struct uw_session *u, pid_t pid)
{
	for (struct uw_proc *p = u->pbuckets[proc_bucket(pid)]; p; p = p->hnext) {
		if (p->pid == pid) {
			proc_drop(u, p);
			return;
		}
	}
}

/* Inserts a module reference, replacing any older one it overlaps (a remap). */
static struct uw_mod_ref *proc_add_ref(struct uw_session *u, struct uw_proc *p,
				       const struct uw_mod_ref *r)
{
	size_t i = 0;
	u->ctx.win_lo = u->ctx.win_hi = 0;
	while (i < p->nmods) {
		struct uw_mod_ref *o = &p->mods[i];
		if (o->hi <= r->lo || o->lo >= r->hi) {
			i++;
			continue;
		}
		uw_module_put(&u->modules, o->m);
		memmove(o, o + 1, (p->nmods - i - 1) * sizeof(*o));
		p->nmods--;
	}
	if (p->nmods == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 16;
		struct uw_mod_ref *g = realloc(p->mods, cap * sizeof(*g));
		if (!g)
			return NULL;
		p->mods = g;
		p->cap = cap;
	}
	size_t pos = 0;
	while (pos < p->nmods && p->mods[pos].lo < r->lo)
		pos++;
	memmove(&p->mods[pos + 1], &p->mods[pos], (p->nmods - pos) * sizeof(*r));
	p->mods[pos] = *r;
	p->nmods++;
	p->last = pos;
	return &p->mods[pos];
}

/* The load bias of module m as `map` maps it: runtime = vaddr + bias. */
static bool map_bias(const struct uw_module *m, const struct proc_map *map, uint64_t *bias)
{
	const struct bin_load *best = NULL;
	for (size_t i = 0; i < m->nloads; i++) {
		const struct bin_load *l = &m->loads[i];
		uint64_t page_off = l->offset & ~(uint64_t)4095;
		if (map->pgoff < page_off || map->pgoff >= l->offset + l->filesz)
			continue;
		if (!best || (l->flags & PF_X))
			best = l; /* a code mapping: prefer the executable segment */
	}
	if (!best)
		return false;
	*bias = map->start - map->pgoff + best->offset - best->vaddr;
	return true;
}

/* Why resolve() found no module: the stop reason it means for an IP. */
enum uw_miss {
	MISS_NO_MAP = UW_STOP_NO_MAP, /* no mapping at all */
	MISS_ANON = UW_STOP_NO_CFI,   /* anonymous or JIT code: no file, no CFI */
	MISS_NOMEM = UW_STOP_ERROR,
};

/*
 * The module covering addr in the sample's process: one already met (its
 * whole PT_LOAD extent, so .eh_frame_hdr in a read-only segment the model
 * never saw is found too), else the model's mapping. NULL when no file
 * backs addr, *miss saying whether anything (anonymous or JIT code) does.
 */
static struct uw_mod_ref *resolve(struct uw_ctx *c, uint64_t addr, enum uw_miss *miss)
{
	struct uw_proc *p = c->p;
	*miss = MISS_NO_MAP;
	if (p->last < p->nmods) {
		struct uw_mod_ref *r = &p->mods[p->last];
		if (addr - r->lo < r->hi - r->lo)
			return r; /* consecutive reads mostly stay in one module */
	}
	size_t lo = 0, hi = p->nmods;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (p->mods[mid].hi <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < p->nmods && p->mods[lo].lo <= addr) {
		p->last = lo;
		return &p->mods[lo];
	}
	struct proc_map *map = proc_find_map(c->u->procs, p->pid, addr);
	if (!map)
		return NULL;
	*miss = MISS_ANON;
	if (map->filename[0] != '/' && strcmp(map->filename, "[vdso]") != 0)
		return NULL;
	*miss = MISS_NOMEM;
	struct uw_module *m = uw_module_get(&c->u->modules, map->filename, map->build_id);
	if (!m)
		return NULL;
	struct uw_mod_ref r = {.lo = map->start, .hi = map->end, .m = m, .status = m->status};
	uint64_t bias;
	if (m->status == 0 && map_bias(m, map, &bias)) {
		r.bias = bias;
		r.lo = bias + m->lo_vaddr;
		r.hi = bias + m->hi_vaddr;
		if (r.lo > map->start)
			r.lo = map->start;
		if (r.hi < map->end)
			r.hi = map->end;
	} else if (m->status == 0) {
		r.status = -ENOEXEC;
	}
	struct uw_mod_ref *ref = proc_add_ref(c->u, p, &r);
	if (!ref)
		uw_module_put(&c->u->modules, m);
	return ref;
}

/* ---- accessors ------------------------------------------------------------------ */

static void note_mem_stop(struct uw_ctx *c, enum uw_stop s)
{
	if (c->mem_stop < 0)
		c->mem_stop = (int)s;
}

static int find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi,
			  int need_unwind_info, void *arg)
{
	struct uw_ctx *c = arg;
	enum uw_miss miss;
	struct uw_mod_ref *r = resolve(c, ip, &miss);
	if (!r || r->status < 0) {
		if (c->find_stop < 0)
			c->find_stop = r ? UW_STOP_NO_CFI : (int)miss;
		return -UNW_ENOINFO;
	}
	struct uw_module *m = r->m;
	int ret = -UNW_ENOINFO;
	unw_dyn_info_t di;
	c->in_find = true;
	if (m->has_hdr) {
		memset(&di, 0, sizeof(di));
		di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
		di.start_ip = r->lo;
		di.end_ip = r->hi;
		di.u.rti.segbase = r->bias + m->hdr_vaddr;
		di.u.rti.table_data = di.u.rti.segbase + m->table_off;
		di.u.rti.table_len = m->fde_count * sizeof(struct uw_table_entry) / sizeof(unw_word_t);
		ret = UNW_OBJ(dwarf_search_unwind_table)(as, ip, &di, pi, need_unwind_info, arg);
	}
#if UW_DEBUG_FRAME
	if (ret == -UNW_ENOINFO && uw_module_debug_frame(&c->u->modules, m) == 0) {
		memset(&di, 0, sizeof(di));
		di.format = UNW_INFO_FORMAT_TABLE;
		di.start_ip = r->lo;
		di.end_ip = r->hi;
		di.u.ti.segbase = r->bias;
		di.u.ti.table_data = (unw_word_t *)&m->dfl;
		di.u.ti.table_len = sizeof(m->dfl) / sizeof(unw_word_t);
		ret = UNW_OBJ(dwarf_search_unwind_table)(as, ip, &di, pi, need_unwind_info,
							 &c->u->zero_cursor);
	}
#endif
	c->in_find = false;
	if (ret < 0 && c->find_stop < 0)
		c->find_stop = UW_STOP_NO_CFI; /* none for ip, or unreadable: the module's fault */
	return ret;
}

static void put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
	(void)as, (void)pi, (void)arg; /* libunwind frees what dwarf_search_unwind_table made */
}

static int get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *addr, void *arg)
{
	(void)as, (void)addr, (void)arg;
	return -UNW_ENOINFO; /* no dynamically registered unwind info in a remote process */
}

static int access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *valp, int write,
		      void *arg)
{
	struct uw_ctx *c = arg;
	(void)as;
	if (write)
		return -UNW_EINVAL; /* never: the sample is read-only */
	uint64_t off = addr - c->sp;
	if (addr >= c->sp && off < c->stack_size && c->stack_size - off >= 8) {
		memcpy(valp, c->stack + off, 8);
		return 0;
	}
	if (addr - c->win_lo < c->win_hi - c->win_lo && c->win_hi - addr >= 8) {
		memcpy(valp, c->win + (addr - c->win_lo), 8);
		return 0;
	}
	enum uw_miss miss;
	struct uw_mod_ref *r = resolve(c, addr, &miss);
	if (r && r->status == 0 && module_read(c, r, addr, valp) == 0)
		return 0;
	if (c->in_find || r)
		note_mem_stop(c, UW_STOP_NO_CFI); /* a module's bytes we cannot read */
	else if (addr >= c->sp && off < UW_STACK_SPAN)
		note_mem_stop(c, UW_STOP_STACK);
	else
		note_mem_stop(c, UW_STOP_NO_MAP);
	return -UNW_EINVAL;
}

static int access_reg(unw_addr_space_t as, unw_regnum_t regnum, unw_word_t *valp, int write,
		      void *arg)
{
	struct uw_ctx *c = arg;
	(void)as;
	if (write)
		return -UNW_EREADONLYREG;
	int r = unw_to_perf(regnum);
	if (r < 0 || !(c->have & (1ull << r)))
		return -UNW_EBADREG;
	*valp = c->regs[r];
	return 0;
}

static int access_fpreg(unw_addr_space_t as, unw_regnum_t num, unw_fpreg_t *val, int write,
			void *arg)
{
	(void)as, (void)num, (void)val, (void)write, (void)arg;
	return -UNW_EINVAL; /* perf samples no FP registers; CFI for them never matters here */
}

static int resume(unw_addr_space_t as, unw_cursor_t *cu, void *arg)
{
	(void)as, (void)cu, (void)arg;
	return -UNW_EINVAL;
}

static int get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf, size_t len,
			 unw_word_t *offp, void *arg)
{
	(void)as, (void)addr, (void)buf, (void)len, (void)offp, (void)arg;
	return -UNW_EINVAL; /* the symbolizer names frames */
}

/* ---- session ---------------------------------------------------------------------- */

int uw_new(struct uw_session **out, struct proc_model *procs, char *err, size_t errlen)
{
	*out = NULL;
	if (elf_version(EV_CURRENT) == EV_NONE) {
		snprintf(err, errlen, "unwind: libelf is too old for this program (%s)",
			 elf_errmsg(-1));
		return -ENOTSUP;
	}
	struct uw_session *u = calloc(1, sizeof(*u));
	if (!u) {
		snprintf(err, errlen, "unwind: out of memory");
		return -ENOMEM;
	}
	u->procs = procs;
	u->modules.own_bins = true;
	if (bin_cache_new(&u->modules.bins) < 0) {
		free(u);
		snprintf(err, errlen, "unwind: out of memory");
		return -ENOMEM;
	}
	u->acc = (unw_accessors_t){
		.find_proc_info = find_proc_info,
		.put_unwind_info = put_unwind_info,
		.get_dyn_info_list_addr = get_dyn_info_list_addr,
		.access_mem = access_mem,
		.access_reg = access_reg,
		.access_fpreg = access_fpreg,
		.resume = resume,
		.get_proc_name = get_proc_name,
	};
	u->ctx.u = u;
	*out = u;
	return 0;
}

int uw_use_binaries(struct uw_session *u, struct bin_cache *bins)
{
	if (u->modules.lru.head)
		return -EBUSY; /* its modules hold references into the other cache */
	if (u->modules.own_bins)
		bin_cache_free(u->modules.bins);
	u->modules.bins = bins;
	u->modules.own_bins = false;
	return 0;
}

void uw_free(struct uw_session *u)
{
	if (!u)
		return;
	while (u->plru.head)
		proc_drop(u, BASE_ENTRY(u->plru.head, struct uw_proc, lru));
	uw_modules_free(&u->modules);
	free(u);
}

void uw_get_stats(const struct uw_session *u, struct uw_stats *out)
{
	*out = u->stats;
}

/* Unpacks the sample's registers by perf register number. */
static void load_regs(struct uw_ctx *c, const struct uw_sample *s)
{
	size_t k = 0;
	c->have = 0;
	for (int r = 0; r < UW_PERF_REGS; r++) {
		if (!(s->regs_mask & (1ull << r)))
			continue;
		c->regs[r] = s->regs[k++];
		c->have |= 1ull << r;
	}
}

static int finish(struct uw_session *u, int n, enum uw_stop why, enum uw_stop *stop)
{
	u->stats.stacks++;
	u->stats.frames += (uint64_t)n;
	u->stats.stops[why]++;
	u->stats.masks_skipped = uw_masks_skipped;
	*stop = why;
	return n;
}

int uw_unwind(struct uw_session *u, const struct uw_sample *s, uint64_t *ips, int max,
	      enum uw_stop *stop)
{
	struct uw_ctx *c = &u->ctx;
	*stop = UW_STOP_ERROR;
	if (s->regs_abi != PERF_SAMPLE_REGS_ABI_64 || !s->regs)
		return 0; /* no registers (kernel thread, or a 32-bit task): nothing to unwind */
	load_regs(c, s);
	uint64_t need = (1ull << UW_PERF_REG_IP) | (1ull << UW_PERF_REG_SP);
	if ((c->have & need) != need)
		return 0;
	if (max <= 0)
		return finish(u, 0, UW_STOP_DEPTH, stop);
	ips[0] = c->regs[UW_PERF_REG_IP];
	if (max == 1)
		return finish(u, 1, UW_STOP_DEPTH, stop);
	c->p = proc_get(u, s->pid);
	if (!c->p)
		return finish(u, 1, UW_STOP_ERROR, stop);
	c->sp = c->regs[UW_PERF_REG_SP];
	c->stack = s->stack;
	c->stack_size = s->stack ? s->stack_size : 0;
	c->in_find = false;
	c->find_stop = c->mem_stop = -1;
	c->win_lo = c->win_hi = 0; /* another process, maybe */

	unw_cursor_t cur;
	if (unw_init_remote(&cur, c->p->as, c) < 0)
		return finish(u, 1, c->mem_stop >= 0 ? (enum uw_stop)c->mem_stop : UW_STOP_ERROR,
			      stop);
	uint64_t sp = c->sp;
	int n = 1;
	enum uw_stop why;
	for (;;) {
		if (n >= max) {
			why = UW_STOP_DEPTH;
			break;
		}
		c->find_stop = c->mem_stop = -1;
		uw_stepping = true;
		int ret = unw_step(&cur);
		uw_stepping = false;
		/*
		 * No CFI for this frame: libunwind then guesses from RBP, which
		 * code without frame pointers does not keep. Stop instead.
		 */
		if (c->find_stop >= 0) {
			why = (enum uw_stop)c->find_stop;
			break;
		}
		if (ret < 0) {
			why = c->mem_stop >= 0 ? (enum uw_stop)c->mem_stop : UW_STOP_ERROR;
			break;
		}
		unw_word_t nip = 0, nsp = 0;
		if (ret == 0 || unw_get_reg(&cur, UNW_REG_IP, &nip) < 0 || nip == 0) {
			why = UW_STOP_END;
			break;
		}
		/*
		 * A frame sits above its callee, or at its SP when the callee keeps
		 * no frame (an arm64 leaf: its return address is in LR): anything
		 * else, or the same place twice, is a loop.
		 */
		if (unw_get_reg(&cur, UNW_REG_SP, &nsp) < 0 || nsp < sp ||
		    (nsp == sp && nip == ips[n - 1])) {
			why = UW_STOP_ERROR;
			break;
		}
		ips[n++] = nip;
		sp = nsp;
	}
	return finish(u, n, why, stop);
}
