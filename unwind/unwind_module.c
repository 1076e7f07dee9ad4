/*
 * Per-module unwind data for the unwinder (unwind.c), read from the file's
 * binary (binary.h: mapped read-only, access_mem reads its bytes; its PT_LOAD
 * segments; its separate debug file): its .eh_frame_hdr binary search table,
 * and its .debug_frame — from the file, or from the separate debug file —
 * indexed the way libunwind searches it. A bounded LRU keyed by path and
 * build id (else the file's identity), shared by every process of a session;
 * modules a process still uses stay.
 */
#include "unwind_internal.h"

#include "base.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>

/* Reads a DW_EH_PE-encoded value of .eh_frame_hdr; `pc` is the vaddr of p. */
static int read_encoded(uint8_t enc, const unsigned char **pp, const unsigned char *end,
			uint64_t pc, uint64_t datarel, uint64_t *out)
{
	const unsigned char *p = *pp;
	uint64_t v = 0;
	size_t n;
	bool is_signed = false;
	if (enc == 0xff) /* DW_EH_PE_omit */
		return -ENOENT;
	switch (enc & 0x0f) {
	case 0x00: n = 8; break;                  /* absptr */
	case 0x02: n = 2; break;                  /* udata2 */
	case 0x03: n = 4; break;                  /* udata4 */
	case 0x04: n = 8; break;                  /* udata8 */
	case 0x0a: n = 2; is_signed = true; break; /* sdata2 */
	case 0x0b: n = 4; is_signed = true; break; /* sdata4 */
	case 0x0c: n = 8; is_signed = true; break; /* sdata8 */
	default: return -ENOTSUP;                 /* LEB128 never appears here in practice */
	}
	if ((size_t)(end - p) < n)
		return -EINVAL;
	memcpy(&v, p, n); /* little-endian host and target */
	if (is_signed && n < 8 && (v >> (8 * n - 1)))
		v |= ~0ull << (8 * n);
	switch (enc & 0x70) {
	case 0x00: break;
	case 0x10: v += pc; break;      /* pcrel */
	case 0x30: v += datarel; break; /* datarel */
	default: return -ENOTSUP;
	}
	*pp = p + n;
	*out = v;
	return 0;
}

/* .eh_frame_hdr: version 1, then eh_frame_ptr, fde_count, a datarel|sdata4 table. */
static void parse_eh_frame_hdr(struct uw_module *m, const GElf_Phdr *ph)
{
	if (ph->p_offset >= m->image_size || ph->p_filesz > m->image_size - ph->p_offset ||
	    ph->p_filesz < 4)
		return;
	const unsigned char *h = m->image + ph->p_offset, *end = h + ph->p_filesz, *p = h + 4;
	uint64_t eh_frame, count;
	if (h[0] != 1 || h[3] != 0x3b)
		return; /* no search table: libunwind's remote path needs one */
	if (read_encoded(h[1], &p, end, ph->p_vaddr + 4, ph->p_vaddr, &eh_frame) < 0 ||
	    read_encoded(h[2], &p, end, ph->p_vaddr + (uint64_t)(p - h), ph->p_vaddr, &count) < 0)
		return;
	uint64_t off = (uint64_t)(p - h);
	if (count == 0 || count > (ph->p_filesz - off) / sizeof(struct uw_table_entry))
		return;
	m->has_hdr = true;
	m->hdr_vaddr = ph->p_vaddr;
	m->table_off = off;
	m->fde_count = count;
}

/* Checks m->elf is for this machine and finds its .eh_frame_hdr; m->loads are set. */
static int module_parse(struct uw_module *m)
{
	GElf_Ehdr eh;
	size_t n;
	if (!gelf_getehdr(m->elf, &eh) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_machine != UW_EM_MACHINE)
		return -ENOEXEC;
	if (elf_getphdrnum(m->elf, &n) != 0 || n == 0 || m->nloads == 0)
		return -ENOEXEC;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(m->elf, (int)i, &ph) && ph.p_type == PT_GNU_EH_FRAME)
			parse_eh_frame_hdr(m, &ph);
	}
	m->lo_vaddr = UINT64_MAX;
	for (size_t i = 0; i < m->nloads; i++) {
		const struct bin_load *l = &m->loads[i];
		if (l->vaddr < m->lo_vaddr)
			m->lo_vaddr = l->vaddr;
		if (l->vaddr + l->memsz > m->hi_vaddr)
			m->hi_vaddr = l->vaddr + l->memsz;
	}
	return 0;
}

/*
 * The vDSO has no file: the kernel maps the same image into every 64-bit
 * process, so ours stands in for the profiled process's (perf does the same).
 */
static int module_open_vdso(struct uw_module *m)
{
	const unsigned char *base = (const unsigned char *)getauxval(AT_SYSINFO_EHDR);
	if (!base)
		return -ENOENT;
	/* elf_memory needs the size: the headers bound it (section headers come last). */
	Elf *probe = elf_memory((char *)base, sizeof(Elf64_Ehdr));
	GElf_Ehdr eh;
	if (!probe || !gelf_getehdr(probe, &eh)) {
		if (probe)
			elf_end(probe);
		return -ENOEXEC;
	}
	elf_end(probe);
	size_t size = eh.e_shoff + (size_t)eh.e_shnum * eh.e_shentsize;
	size_t ph_end = eh.e_phoff + (size_t)eh.e_phnum * eh.e_phentsize;
	if (ph_end > size)
		size = ph_end;
	if (size < sizeof(Elf64_Ehdr) || size > (64u << 10))
		return -ENOEXEC;
	m->owned = malloc(size);
	if (!m->owned)
		return -ENOMEM;
	memcpy(m->owned, base, size); /* a private copy: libelf may not write to it, but could */
	m->elf = elf_memory(m->owned, size);
	if (!m->elf)
		return -ENOEXEC;
	m->image = m->owned;
	m->image_size = size;
	int ret = bin_read_loads(m->elf, &m->owned_loads, &m->nloads);
	m->loads = m->owned_loads;
	return ret < 0 ? ret : module_parse(m);
}

/* The module's binary, checked against the id the mapping carried (-ESTALE: replaced since). */
static int module_open(struct uw_modules *c, struct uw_module *m, const char *build_id)
{
	if (strcmp(m->path, "[vdso]") == 0)
		return module_open_vdso(m);
	int ret;
	m->bin = bin_get(c->bins, m->path, &ret);
	if (!m->bin)
		return ret;
	if (m->bin->status < 0)
		return m->bin->status;
	m->elf = m->bin->elf;
	m->image = m->bin->image;
	m->image_size = m->bin->image_size;
	m->loads = m->bin->loads;
	m->nloads = m->bin->nloads;
	ret = module_parse(m);
	return ret < 0 ? ret : bin_check_build_id(m->bin, build_id);
}

/* The heap a module holds beyond its binary: its .debug_frame copy and index. */
static size_t module_bytes(const struct uw_module *m)
{
	return m->df_buf ? m->dfl.debug_frame_size + 16 + m->dfl.index_size : 0;
}

static void module_free(struct uw_modules *c, struct uw_module *m)
{
	bin_cache_charge(c->bins, -(ptrdiff_t)module_bytes(m));
	if (m->bin)
		bin_put(c->bins, m->bin);
	else if (m->elf)
		elf_end(m->elf);
	free(m->owned);
	free(m->owned_loads);
	free(m->df_buf);
	free(m->dfl.index);
	free(m->path);
	free(m);
}

/* The module holding an LRU link (NULL for NULL). */
static struct uw_module *mod_of(struct base_link *l)
{
	return BASE_ENTRY(l, struct uw_module, lru);
}

/* Chained buckets, not a base_htab: modules leave (LRU, budget) and base_htab has no removal. */
static size_t module_bucket(const char *path, const char *bid)
{
	uint64_t h = base_htab_mix(base_htab_hash_bytes(path, strlen(path)),
				   base_htab_hash_bytes(bid, strlen(bid)));
	return h & (UW_MODULE_BUCKETS - 1);
}

static void module_drop(struct uw_modules *c, struct uw_module *m)
{
	struct uw_module **pp = &c->buckets[module_bucket(m->path, m->key_build_id)];
	while (*pp && *pp != m)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = m->hnext;
	base_list_unlink(&c->lru, &m->lru);
	c->n--;
	module_free(c, m);
}

/* Over the byte budget shared with the symbolizer, unused modules go whatever their number. */
static bool over_budget(const struct uw_modules *c)
{
	size_t budget = bin_cache_budget(c->bins);
	return budget && bin_cache_bytes(c->bins) > budget;
}

static void modules_trim(struct uw_modules *c)
{
	for (struct uw_module *m = mod_of(c->lru.tail);
	     m && (c->n > UW_MODULES_MAX || over_budget(c));) {
		struct uw_module *prev = mod_of(m->lru.prev);
		if (m->refs == 0)
			module_drop(c, m);
		m = prev;
	}
}

void uw_module_put(struct uw_modules *c, struct uw_module *m)
{
	if (m && m->refs > 0 && --m->refs == 0)
		modules_trim(c);
}

void uw_modules_free(struct uw_modules *c)
{
	while (c->lru.head)
		module_drop(c, mod_of(c->lru.head));
	if (c->own_bins)
		bin_cache_free(c->bins);
	c->bins = NULL;
}

struct uw_module *uw_module_get(struct uw_modules *c, const char *path, const char *build_id)
{
	const char *bid = build_id ? build_id : "";
	struct stat st = {0};
	if (!bid[0] && path[0] == '/' && stat(path, &st) != 0)
		memset(&st, 0, sizeof(st)); /* keyed as "missing"; module_open says why */
	size_t b = module_bucket(path, bid);
	for (struct uw_module *m = c->buckets[b]; m; m = m->hnext) {
		if (strcmp(m->path, path) != 0 || strcmp(m->key_build_id, bid) != 0)
			continue;
		if (!bid[0] && (m->dev != st.st_dev || m->ino != st.st_ino ||
				m->size != st.st_size || m->mtime.tv_sec != st.st_mtim.tv_sec ||
				m->mtime.tv_nsec != st.st_mtim.tv_nsec))
			continue; /* the file was replaced: a new entry; the old one ages out */
		base_list_unlink(&c->lru, &m->lru);
		base_list_push_front(&c->lru, &m->lru);
		m->refs++;
		return m;
	}
	struct uw_module *m = calloc(1, sizeof(*m));
	if (!m || !(m->path = strdup(path))) {
		free(m);
		return NULL;
	}
	snprintf(m->key_build_id, sizeof(m->key_build_id), "%s", bid);
	m->dev = st.st_dev;
	m->ino = st.st_ino;
	m->size = st.st_size;
	m->mtime = st.st_mtim;
	m->status = module_open(c, m, bid); /* -ESTALE: the file on disk is not the one mapped */
	if (m->status < 0) {
		bin_put(c->bins, m->bin);
		m->bin = NULL;
		if (m->elf && m->owned)
			elf_end(m->elf);
		m->elf = NULL;
		m->image = NULL;
		m->loads = NULL;
		m->nloads = 0;
	}
	m->hnext = c->buckets[b];
	c->buckets[b] = m;
	base_list_push_front(&c->lru, &m->lru);
	c->n++;
	m->refs = 1;
	modules_trim(c);
	return m;
}

/* ---- .debug_frame ----------------------------------------------------------------- */

#if UW_DEBUG_FRAME
/*
 * Copies `name` out of elf, padded so aligned word reads stay inside; a
 * compressed section is inflated in elf itself (the binary's handle, where
 * it then stays plain for every user of the binary).
 */
static int copy_section(Elf *elf, const char *name, char **buf, size_t *size)
{
	size_t shstrndx;
	if (elf_getshdrstrndx(elf, &shstrndx) != 0)
		return -ENOENT;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS)
			continue;
		const char *n = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!n || strcmp(n, name) != 0)
			continue;
		if ((sh.sh_flags & SHF_COMPRESSED) && elf_compress(scn, 0, 0) < 0)
			return -EINVAL;
		Elf_Data *d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf || d->d_size == 0)
			return -ENOENT;
		*buf = calloc(1, d->d_size + 16);
		if (!*buf)
			return -ENOMEM;
		memcpy(*buf, d->d_buf, d->d_size);
		*size = d->d_size;
		return 0;
	}
	return -ENOENT;
}

/* The file's own .debug_frame, else its separate debug file's (binary.h finds it once). */
static int find_debug_frame(struct uw_module *m, char **buf, size_t *size)
{
	if (copy_section(m->elf, ".debug_frame", buf, size) == 0)
		return 0;
	Elf *dbg = m->bin ? bin_debug_elf(m->bin) : NULL;
	return dbg ? copy_section(dbg, ".debug_frame", buf, size) : -ENOENT;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct uw_table_entry *x = a, *y = b;
	if (x->start_ip_offset != y->start_ip_offset)
		return x->start_ip_offset < y->start_ip_offset ? -1 : 1;
	return (x->fde_offset > y->fde_offset) - (x->fde_offset < y->fde_offset);
}

/*
 * The sorted (initial location, FDE offset) index libunwind's TABLE search
 * wants. Both are int32 there: a module linked above 2 GB or a section over
 * 2 GB cannot use it.
 */
static int index_debug_frame(struct uw_module *m, const unsigned char *d, size_t size)
{
	size_t cap = 64, n = 0, off = 0;
	struct uw_table_entry *v = malloc(cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	while (off + 4 <= size) {
		uint32_t len32;
		uint64_t len, id, loc;
		size_t hdr = 4, idsize = 4;
		memcpy(&len32, d + off, 4);
		if (len32 == 0) {
			off += 4;
			continue;
		}
		len = len32;
		if (len32 == 0xffffffffu) {
			if (off + 12 > size)
				break;
			memcpy(&len, d + off + 4, 8);
			hdr = 12;
			idsize = 8;
		}
		if (len > size - off - hdr || len < idsize)
			break;
		size_t end = off + hdr + (size_t)len;
		id = 0;
		memcpy(&id, d + off + hdr, idsize);
		bool cie = idsize == 4 ? id == 0xffffffffu : id == ~0ull;
		if (!cie && off + hdr + idsize + 8 <= end) {
			memcpy(&loc, d + off + hdr + idsize, 8);
			if (loc > INT32_MAX || off > INT32_MAX) {
				free(v);
				return -ERANGE;
			}
			if (n == cap) {
				struct uw_table_entry *g = realloc(v, 2 * cap * sizeof(*v));
				if (!g) {
					free(v);
					return -ENOMEM;
				}
				v = g;
				cap *= 2;
			}
			v[n++] = (struct uw_table_entry){(int32_t)loc, (int32_t)off};
		}
		off = end;
	}
	if (n == 0) {
		free(v);
		return -ENOENT;
	}
	qsort(v, n, sizeof(*v), cmp_entry);
	m->dfl.index = v;
	m->dfl.index_size = n * sizeof(*v);
	return 0;
}

int uw_module_debug_frame(struct uw_modules *c, struct uw_module *m)
{
	if (m->df_state == 0) {
		char *buf = NULL;
		size_t size = 0;
		int ret = find_debug_frame(m, &buf, &size);
		if (ret == 0)
			ret = index_debug_frame(m, (const unsigned char *)buf, size);
		if (ret == 0) {
			m->df_buf = buf;
			m->dfl.debug_frame = buf;
			m->dfl.debug_frame_size = size;
			m->df_state = 1;
			bin_cache_charge(c->bins, (ptrdiff_t)module_bytes(m));
		} else {
			free(buf);
			m->df_state = ret < 0 ? ret : -ENOENT;
		}
	}
	return m->df_state > 0 ? 0 : m->df_state;
}
#endif

