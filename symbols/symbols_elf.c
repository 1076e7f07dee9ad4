/*
 * One ELF module for the symbolizer, read from its binary (binary.h: the
 * file, its segments, build id and separate debug file): its function
 * symbols as a sorted table (the debug file's .symtab, else the file's
 * .symtab, else .dynsym), its data objects likewise
 * but only when first asked for, and its line tables and inline frames
 * through an offline Dwfl opened on first need, with an estimate of what
 * libdw holds for it (for the cache's byte budget).
 */
#include "symbols_internal.h"

#include <dwarf.h>
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static Elf_Scn *find_section(Elf *elf, GElf_Word type, GElf_Shdr *shdr)
{
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));)
		if (gelf_getshdr(scn, shdr) && shdr->sh_type == type)
			return scn;
	return NULL;
}

static enum sym_bind bind_of(unsigned char bind)
{
	switch (bind) {
	case STB_GLOBAL:
	case STB_GNU_UNIQUE:
		return SYM_BIND_GLOBAL;
	case STB_WEAK:
		return SYM_BIND_WEAK;
	default:
		return SYM_BIND_LOCAL;
	}
}

/* Function symbols: FUNC and IFUNC, and sized NOTYPE ones in code (assembly often omits the type). */
static bool want_function(int type, const GElf_Sym *sym, const GElf_Shdr *sec)
{
	if (type == STT_FUNC || type == STT_GNU_IFUNC)
		return true;
	return type == STT_NOTYPE && sym->st_size > 0 && (sec->sh_flags & SHF_EXECINSTR);
}

/*
 * Data symbols: OBJECT and COMMON in an allocated section. TLS symbols are
 * offsets into each thread's block, not addresses, so they are left out.
 */
static bool want_data(int type, const GElf_Shdr *sec)
{
	return (type == STT_OBJECT || type == STT_COMMON) && (sec->sh_flags & SHF_ALLOC);
}

/*
 * The function (or, for an `exact` builder, data) symbols of one symbol
 * table. Version suffixes (memcpy@GLIBC_2.2.5) are dropped from names.
 */
static int read_symbols(Elf *elf, Elf_Scn *symscn, const GElf_Shdr *symhdr, struct sym_builder *b)
{
	Elf_Data *data = elf_getdata(symscn, NULL);
	if (!data || symhdr->sh_entsize == 0)
		return 0;
	/* Section indexes past 0xff00 live in a SHT_SYMTAB_SHNDX section. */
	Elf_Data *xdata = NULL;
	size_t symndx = elf_ndxscn(symscn);
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB_SHNDX && sh.sh_link == symndx)
			xdata = elf_getdata(scn, NULL);
	}
	size_t count = symhdr->sh_size / symhdr->sh_entsize;
	for (size_t i = 1; i < count; i++) {
		GElf_Sym sym;
		Elf32_Word xndx = 0;
		if (!gelf_getsymshndx(data, xdata, (int)i, &sym, &xndx))
			continue;
		int type = GELF_ST_TYPE(sym.st_info);
		if (b->exact ? type != STT_OBJECT && type != STT_COMMON
			     : type != STT_FUNC && type != STT_GNU_IFUNC && type != STT_NOTYPE)
			continue; /* cheap pre-filter before the section lookup */
		size_t shndx = sym.st_shndx == SHN_XINDEX ? xndx : sym.st_shndx;
		if (shndx == SHN_UNDEF || (sym.st_shndx >= SHN_LORESERVE && sym.st_shndx != SHN_XINDEX) ||
		    sym.st_value == 0)
			continue;
		GElf_Shdr sec;
		Elf_Scn *secscn = elf_getscn(elf, shndx);
		if (!secscn || !gelf_getshdr(secscn, &sec))
			continue;
		if (b->exact ? !want_data(type, &sec) : !want_function(type, &sym, &sec))
			continue;
		const char *name = elf_strptr(elf, symhdr->sh_link, sym.st_name);
		if (!name || !name[0] || name[0] == '$') /* '$x'-style mapping symbols are not functions */
			continue;
		size_t len = strcspn(name, "@");
		if (len == 0)
			len = strlen(name);
		bool sized = sym.st_size > 0;
		uint64_t limit = sec.sh_addr + sec.sh_size;
		uint32_t rank = sym_rank(sized, bind_of(GELF_ST_BIND(sym.st_info)), name, len);
		int ret = sym_builder_add(b, sym.st_value, sym.st_size, sized, limit, rank, name, len);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Functions (data: objects) from the debug file's .symtab, else the file's .symtab, else .dynsym. */
static int build_table(Elf *main, Elf *dbg, bool data, struct sym_table *out)
{
	struct sym_builder b = {.exact = data};
	GElf_Shdr shdr;
	Elf *src = NULL;
	Elf_Scn *scn = NULL;
	if (dbg && (scn = find_section(dbg, SHT_SYMTAB, &shdr)))
		src = dbg;
	else if ((scn = find_section(main, SHT_SYMTAB, &shdr)))
		src = main;
	else if ((scn = find_section(main, SHT_DYNSYM, &shdr)))
		src = main;
	if (!src)
		return 0;
	int ret = read_symbols(src, scn, &shdr, &b);
	if (ret < 0) {
		sym_builder_free(&b);
		return ret;
	}
	return sym_builder_finish(&b, out);
}

/* Plain debug sections read all over (names, abbreviations, ranges): their pages count whole. */
static bool read_all_over(const char *name)
{
	static const char *const names[] = {".debug_abbrev", ".debug_aranges", ".debug_str",
					    ".debug_line_str", ".debug_str_offsets", ".debug_addr",
					    ".debug_ranges", ".debug_rnglists"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	return false;
}

/*
 * What libdw will hold once it opens the DWARF in elf, from the section
 * headers as stored (libdw rewrites them as it decompresses). It decompresses
 * every compressed debug section on opening (libc's 3.8 MB became 10 MB,
 * measured), reading the compressed bytes through the file's mapping: both
 * count. A plain section is only mapped and costs the pages touched: the ones
 * read all over count whole; .debug_info counts per CU as lookups reach it
 * (*info_mapped, see cu_entry); the line program's decoded rows count per CU
 * (cu_count_lines); what is never read (locations, macros, frames) not at all.
 */
static size_t debug_sections_bytes(Elf *elf, bool *info_mapped)
{
	size_t shstrndx, bytes = 0;
	if (!elf || elf_getshdrstrndx(elf, &shstrndx) != 0)
		return 0;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
			continue;
		const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name)
			continue;
		GElf_Chdr ch;
		if (strncmp(name, ".zdebug_", 8) == 0) /* its size sits in a header only decompression reads */
			bytes += 4 * sh.sh_size;
		else if (strncmp(name, ".debug_", 7) != 0)
			continue;
		else if ((sh.sh_flags & SHF_COMPRESSED) && gelf_getchdr(scn, &ch))
			bytes += sh.sh_size + ch.ch_size;
		else if (read_all_over(name))
			bytes += sh.sh_size;
		else if (strcmp(name, ".debug_info") == 0)
			*info_mapped = true;
	}
	return bytes;
}

/*
 * m's binary (pin when given, else the file at m's path), with a reference
 * taken, when it is readable and the file want_build_id names.
 */
static int bin_attach(struct sym_module *m, const char *want_build_id, struct bin *pin)
{
	if (m->bin)
		return 0;
	int ret;
	struct bin *b = pin;
	if (b)
		bin_hold(m->bins, b);
	else if (!(b = bin_get(m->bins, m->path, &ret)))
		return ret == -ENOMEM ? ret : -ENOENT;
	/* A file replaced since the samples were taken: its symbols would lie. */
	if (b->status < 0 || bin_check_build_id(b, want_build_id) < 0) {
		bin_put(m->bins, b);
		return -ENOENT;
	}
	m->bin = b;
	return 0;
}

int sym_elf_load(struct sym_module *m, const char *want_build_id, struct bin *pin)
{
	sym_elf_release(m); /* a reload after sym_elf_unload reads the segments again too */
	int ret = bin_attach(m, want_build_id, pin);
	if (ret < 0)
		return ret;
	struct bin *b = m->bin;
	snprintf(m->build_id, sizeof(m->build_id), "%s",
		 want_build_id ? want_build_id : b->build_id);
	m->loads = malloc((b->nloads ? b->nloads : 1) * sizeof(*m->loads));
	if (!m->loads)
		return -ENOMEM;
	memcpy(m->loads, b->loads, b->nloads * sizeof(*m->loads));
	m->nloads = b->nloads;
	Elf *dbg = bin_debug_elf(b);
	ret = build_table(b->elf, dbg, false, &m->syms);
	/* Counted once lines are opened (where libdwfl finds the DWARF too: the debug file, else the file). */
	m->dw_info_mapped = false;
	m->dw_open_bytes = dbg ? debug_sections_bytes(dbg, &m->dw_info_mapped) : 0;
	if (m->dw_open_bytes == 0 && !m->dw_info_mapped)
		m->dw_open_bytes = debug_sections_bytes(b->elf, &m->dw_info_mapped);
	return ret;
}

/* Read apart from functions so that profiles which never ask for data pay nothing. */
int sym_elf_load_data(struct sym_module *m)
{
	int ret = bin_attach(m, m->build_id, NULL);
	if (ret < 0)
		return ret;
	return build_table(m->bin->elf, bin_debug_elf(m->bin), true, &m->data);
}

/* ---- line tables ---- */

/* What find_debuginfo_bin answers from: the module's binary and the debug cache's folder. */
struct debug_ask {
	struct bin *bin;
	const char *dir;
};

/*
 * libdwfl's search for the separate debug file, answered from the module's
 * binary (userdata), which found it once: the debug cache's plain copy when
 * there is one, else the file itself. Without one there, libdwfl's own
 * search runs only when debuginfod is configured (the paths it would try
 * are the ones already tried).
 */
static int find_debuginfo_bin(Dwfl_Module *mod, void **userdata, const char *modname,
			      Dwarf_Addr base, const char *file_name, const char *debuglink_file,
			      GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	struct debug_ask *ask = userdata ? *userdata : NULL;
	if (ask) {
		int fd = bin_debug_dup(ask->bin, ask->dir, debuginfo_file_name);
		if (fd >= 0)
			return fd;
		if (fd != -ENOENT)
			return -1; /* found, but unusable now (descriptors or memory ran out) */
	}
	const char *urls = getenv("DEBUGINFOD_URLS");
	if (!urls || !urls[0])
		return -1;
	return dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file,
					    debuglink_crc, debuginfo_file_name);
}

/* Immutable, so not global mutable state; libdwfl only reads it. */
static const Dwfl_Callbacks offline_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = find_debuginfo_bin,
	.section_address = dwfl_offline_section_address,
};

static bool dwarf_has_line_section(Dwarf *dw)
{
	Elf *elf = dwarf_getelf(dw);
	size_t shstrndx;
	if (!elf || elf_getshdrstrndx(elf, &shstrndx) != 0)
		return false;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS || sh.sh_size == 0)
			continue;
		const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (name && (strcmp(name, ".debug_line") == 0 || strcmp(name, ".zdebug_line") == 0))
			return true;
	}
	return false;
}

/* Whether elf's debug sections are compressed (Go binaries, gcc -gz): libdw inflates them in place. */
static bool debug_compressed(Elf *elf)
{
	size_t shstrndx;
	if (!elf || elf_getshdrstrndx(elf, &shstrndx) != 0)
		return false;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		const char *name;
		if (gelf_getshdr(scn, &sh) && (name = elf_strptr(elf, shstrndx, sh.sh_name)) &&
		    (strncmp(name, ".zdebug", 7) == 0 ||
		     ((sh.sh_flags & SHF_COMPRESSED) && strncmp(name, ".debug", 6) == 0)))
			return true;
	}
	return false;
}

/* All debug sections of elf, as they stand (decompressed, once libdw opened it). */
static size_t alt_sections_bytes(Elf *elf)
{
	size_t shstrndx, bytes = 0;
	if (!elf || elf_getshdrstrndx(elf, &shstrndx) != 0)
		return 0;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		const char *name;
		if (gelf_getshdr(scn, &sh) && sh.sh_type != SHT_NOBITS &&
		    (name = elf_strptr(elf, shstrndx, sh.sh_name)) && strncmp(name, ".debug_", 7) == 0)
			bytes += sh.sh_size;
	}
	return bytes;
}

int sym_elf_lines_open(struct sym_module *m, const char *debug_dir)
{
	if (m->dwfl_state != 0)
		return m->dwfl_state > 0;
	m->dwfl_state = -1;
	if (!m->bin)
		return 0; /* the heavy part is not loaded */
	Dwfl *dwfl = dwfl_begin(&offline_callbacks);
	if (!dwfl)
		return 0;
	dwfl_report_begin(dwfl);
	/*
	 * The binary's mapping, not the file again: libelf only reads it (the
	 * cast), and the module holds the binary until the Dwfl is closed. A
	 * binary with its own compressed DWARF libdw would inflate in place,
	 * writing to that read-only mapping (a Go binary crashed pmuprof so):
	 * libdwfl opens that file itself, mapped copy-on-write.
	 */
	Dwfl_Module *mod =
		debug_compressed(m->bin->elf)
			? dwfl_report_offline(dwfl, m->path, m->path, -1)
			: dwfl_report_offline_memory(dwfl, m->path, m->path, (char *)m->bin->image,
						     m->bin->image_size);
	dwfl_report_end(dwfl, NULL, NULL);
	struct debug_ask ask = {m->bin, debug_dir};
	void **userdata;
	if (mod && dwfl_module_info(mod, &userdata, NULL, NULL, NULL, NULL, NULL, NULL))
		*userdata = &ask; /* read by find_debuginfo_bin, below */
	GElf_Addr bias = 0;
	Dwarf_Addr dwbias;
	Dwarf *dw = NULL;
	Elf *main_elf = NULL;
	bool ok = mod && (main_elf = dwfl_module_getelf(mod, &bias)) &&
		  (dw = dwfl_module_getdwarf(mod, &dwbias));
	if (mod && dwfl_module_info(mod, &userdata, NULL, NULL, NULL, NULL, NULL, NULL))
		*userdata = NULL; /* ask dies with this frame */
	/* The DWARF came from the debug cache's plain copy (the file had none of its own). */
	bool swapping = ok && debug_dir && m->bin->plain_state > 0 && dwarf_getelf(dw) != main_elf;
	if (!ok || !dwarf_has_line_section(dw)) {
		dwfl_end(dwfl); /* keep no descriptors open for modules without lines */
		return 0;
	}
	m->dwfl = dwfl;
	m->dmod = mod;
	m->bias = bias;
	bool mapped;
	/* The plain copy is mapped, not inflated: count it as such a file is counted. */
	m->dw_bytes = swapping ? debug_sections_bytes(dwarf_getelf(dw), &mapped) : m->dw_open_bytes;
	Dwarf *alt = dwarf_getalt(dw); /* a dwz file, opened along: counted whole */
	if (alt)
		m->dw_bytes += alt_sections_bytes(dwarf_getelf(alt));
	m->has_lines = true;
	m->dwfl_state = 1;
	return 1;
}

/* ---- inline frames ---- */

/* Scopes nest deeper than frames (lexical blocks); real code stays far below. */
#define SYM_SCOPES_MAX 64

/* The DIEs whose code contains pc, outermost first (the CU excluded). */
struct scope_walk {
	Dwarf_Addr pc;
	int n;
	Dwarf_Die chain[SYM_SCOPES_MAX];
};

static bool is_code_scope(int tag)
{
	switch (tag) {
	case DW_TAG_subprogram:
	case DW_TAG_inlined_subroutine:
	case DW_TAG_lexical_block:
	case DW_TAG_try_block:
	case DW_TAG_catch_block:
		return true;
	default:
		return false;
	}
}

static bool has_pc_attrs(Dwarf_Die *die)
{
	return dwarf_hasattr(die, DW_AT_low_pc) || dwarf_hasattr(die, DW_AT_ranges);
}

static void scope_descend(struct scope_walk *w, Dwarf_Die *parent, int level);

/* Descends into die when something under it contains pc; true if so. */
static bool scope_through(struct scope_walk *w, Dwarf_Die *die, int level)
{
	int before = w->n;
	scope_descend(w, die, level + 1);
	return w->n > before;
}

/*
 * Appends the scopes under parent that contain w->pc, outermost first. Like
 * libdw's own scope walk it looks through namespaces, Fortran modules and
 * imported (dwz) units, and also through blocks that carry no addresses (their
 * inlined children still do); but only when no code scope at this level
 * matched. dwarf_getscopes is not used: past the innermost inlined instance
 * it returns the scopes of the abstract definition, not the callers.
 */
static void scope_descend(struct scope_walk *w, Dwarf_Die *parent, int level)
{
	Dwarf_Die first, child;
	if (level >= 2 * SYM_SCOPES_MAX || dwarf_child(parent, &first) != 0)
		return;
	child = first;
	do {
		if (is_code_scope(dwarf_tag(&child)) && dwarf_haspc(&child, w->pc) > 0) {
			if (w->n >= SYM_SCOPES_MAX)
				return;
			w->chain[w->n++] = child;
			scope_descend(w, &child, level + 1);
			return;
		}
	} while (dwarf_siblingof(&child, &child) == 0);
	child = first;
	do {
		Dwarf_Attribute attr;
		Dwarf_Die unit;
		switch (dwarf_tag(&child)) {
		case DW_TAG_namespace:
		case DW_TAG_module:
			if (scope_through(w, &child, level))
				return;
			break;
		case DW_TAG_imported_unit:
			if (dwarf_formref_die(dwarf_attr(&child, DW_AT_import, &attr), &unit) &&
			    scope_through(w, &unit, level))
				return;
			break;
		case DW_TAG_lexical_block:
		case DW_TAG_try_block:
		case DW_TAG_catch_block:
			if (!has_pc_attrs(&child) && scope_through(w, &child, level))
				return;
			break;
		default:
			break;
		}
	} while (dwarf_siblingof(&child, &child) == 0);
}

/*
 * The top level of a CU, indexed: a CU holds thousands of DIEs (mostly types
 * and declarations from headers), and walking its siblings for every address
 * cost ~30 us in libc. The code scopes found at the top (also through
 * namespaces, modules, imported units, blocks without addresses) are listed
 * once per CU by address range; a lookup then descends into one function.
 */
struct cu_scope {
	Dwarf_Addr lo, hi;
	Dwarf_Addr maxhi; /* the highest hi of this entry and all before it */
	uint32_t seq;     /* DIE order: among overlapping aliases the first wins, as in a walk */
	Dwarf_Die die;
};

/* One CU touched: whether its line table was counted, and its index once built. */
struct sym_cu_scopes {
	Dwarf_Off cu; /* the CU DIE's offset; 0 marks an empty slot */
	bool lines_counted, indexed;
	struct cu_scope *v;
	size_t n, cap;
};

static int cu_scope_add(struct sym_cu_scopes *t, Dwarf_Die *die)
{
	Dwarf_Addr base, lo, hi;
	for (ptrdiff_t off = 0; (off = dwarf_ranges(die, off, &base, &lo, &hi)) > 0;) {
		if (hi <= lo)
			continue;
		if (t->n == t->cap) {
			size_t ncap = t->cap ? t->cap * 2 : 64;
			struct cu_scope *nv = realloc(t->v, ncap * sizeof(*nv));
			if (!nv)
				return -ENOMEM;
			t->v = nv;
			t->cap = ncap;
		}
		t->v[t->n] = (struct cu_scope){.lo = lo, .hi = hi, .seq = (uint32_t)t->n, .die = *die};
		t->n++;
	}
	return 0;
}

static int cu_scope_collect(struct sym_cu_scopes *t, Dwarf_Die *parent, int level)
{
	Dwarf_Die child;
	if (level >= SYM_SCOPES_MAX || dwarf_child(parent, &child) != 0)
		return 0;
	do {
		Dwarf_Attribute attr;
		Dwarf_Die unit;
		int ret = 0, tag = dwarf_tag(&child);
		if (is_code_scope(tag) && has_pc_attrs(&child))
			ret = cu_scope_add(t, &child);
		else if (tag == DW_TAG_namespace || tag == DW_TAG_module ||
			 (is_code_scope(tag) && tag != DW_TAG_subprogram &&
			  tag != DW_TAG_inlined_subroutine))
			ret = cu_scope_collect(t, &child, level + 1);
		else if (tag == DW_TAG_imported_unit &&
			 dwarf_formref_die(dwarf_attr(&child, DW_AT_import, &attr), &unit))
			ret = cu_scope_collect(t, &unit, level + 1);
		if (ret < 0)
			return ret;
	} while (dwarf_siblingof(&child, &child) == 0);
	return 0;
}

static int cu_scope_cmp(const void *pa, const void *pb)
{
	const struct cu_scope *a = pa, *b = pb;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static size_t cu_slot(size_t cap, Dwarf_Off cu)
{
	return (size_t)((cu * 0x9e3779b97f4a7c15ull) >> 20) & (cap - 1);
}

/*
 * The entry of a CU (its DIE offset), made on first touch: libdw then holds
 * the CU's abbreviations and bookkeeping. NULL when out of memory. Entries
 * move when the table grows: do not keep one across calls.
 */
static struct sym_cu_scopes *cu_entry(struct sym_module *m, Dwarf_Die *cudie)
{
	Dwarf_Off cu = dwarf_dieoffset(cudie);
	if (cu == 0 || cu == (Dwarf_Off)-1)
		return NULL;
	for (size_t k = m->cu_cap ? cu_slot(m->cu_cap, cu) : 0; m->cu_cap && m->cu_scopes[k].cu;
	     k = (k + 1) & (m->cu_cap - 1))
		if (m->cu_scopes[k].cu == cu)
			return &m->cu_scopes[k];
	if ((m->cu_used + 1) * 2 > m->cu_cap) {
		size_t ncap = m->cu_cap ? m->cu_cap * 2 : 64;
		struct sym_cu_scopes *nt = calloc(ncap, sizeof(*nt));
		if (!nt)
			return NULL;
		for (size_t i = 0; i < m->cu_cap; i++) {
			if (!m->cu_scopes[i].cu)
				continue;
			size_t k = cu_slot(ncap, m->cu_scopes[i].cu);
			while (nt[k].cu)
				k = (k + 1) & (ncap - 1);
			nt[k] = m->cu_scopes[i];
		}
		free(m->cu_scopes);
		m->cu_bytes += (ncap - m->cu_cap) * sizeof(*nt);
		m->cu_scopes = nt;
		m->cu_cap = ncap;
	}
	size_t k = cu_slot(m->cu_cap, cu);
	while (m->cu_scopes[k].cu)
		k = (k + 1) & (m->cu_cap - 1);
	m->cu_scopes[k].cu = cu;
	m->cu_used++;
	m->dw_bytes += SYM_DW_CU_BYTES;
	/* A plain .debug_info is mapped: this CU's part of it is now read. */
	Dwarf_Off unit = cu - dwarf_cuoffset(cudie), next;
	if (m->dw_info_mapped && dwarf_next_unit(dwarf_cu_getdwarf(cudie->cu), unit, &next, NULL, NULL,
						 NULL, NULL, NULL, NULL, NULL) == 0 && next > unit)
		m->dw_bytes += next - unit;
	return &m->cu_scopes[k];
}

/* The index of the CU at cudie, built on first use. */
static int cu_scopes_get(struct sym_module *m, Dwarf_Die *cudie, struct sym_cu_scopes **out)
{
	Dwarf_Off cu = dwarf_dieoffset(cudie);
	if (cu == 0 || cu == (Dwarf_Off)-1)
		return -ENOENT;
	struct sym_cu_scopes *e = cu_entry(m, cudie);
	if (!e)
		return -ENOMEM;
	if (!e->indexed) {
		struct sym_cu_scopes t = {0};
		int ret = cu_scope_collect(&t, cudie, 0);
		if (ret < 0) {
			free(t.v);
			return ret;
		}
		if (t.n) /* qsort's base must not be NULL, even for no elements */
			qsort(t.v, t.n, sizeof(*t.v), cu_scope_cmp);
		for (size_t i = 0; i < t.n; i++)
			t.v[i].maxhi = i && t.v[i - 1].maxhi > t.v[i].hi ? t.v[i - 1].maxhi : t.v[i].hi;
		e->v = t.v;
		e->n = t.n;
		e->cap = t.cap;
		e->indexed = true;
		m->cu_bytes += t.cap * sizeof(*t.v);
	}
	*out = e;
	return 0;
}

/* libdw decodes a CU's whole line table on its first lookup: count it once. */
static void cu_count_lines(struct sym_module *m, Dwarf_Die *cudie)
{
	struct sym_cu_scopes *e = cu_entry(m, cudie);
	Dwarf_Lines *lines;
	size_t n;
	if (!e || e->lines_counted)
		return;
	e->lines_counted = true;
	if (dwarf_getsrclines(cudie, &lines, &n) == 0) /* decoded already: no work */
		m->dw_bytes += n * SYM_DW_LINE_BYTES;
}

int sym_elf_line(struct sym_module *m, uint64_t vaddr, const char **file, int *line)
{
	*file = NULL;
	*line = 0;
	if (!m->dmod)
		return -ENOENT;
	Dwfl_Line *l = dwfl_module_getsrc(m->dmod, vaddr + m->bias);
	if (!l)
		return -ENOENT;
	*file = dwfl_lineinfo(l, NULL, line, NULL, NULL, NULL);
	Dwarf_Die *cudie = dwfl_linecu(l);
	if (cudie)
		cu_count_lines(m, cudie);
	return 0;
}

/* The top-level code scope containing pc (the first in DIE order among aliases), or NULL. */
static const struct cu_scope *cu_scopes_find(const struct sym_cu_scopes *t, Dwarf_Addr pc)
{
	size_t lo = 0, hi = t->n; /* the first entry starting above pc */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->v[mid].lo <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	const struct cu_scope *best = NULL;
	for (size_t j = lo; j > 0 && t->v[j - 1].maxhi > pc; j--) {
		const struct cu_scope *e = &t->v[j - 1];
		if (pc < e->hi && (!best || e->seq < best->seq))
			best = e;
	}
	return best;
}

static void cu_scopes_free(struct sym_module *m)
{
	for (size_t i = 0; i < m->cu_cap; i++)
		free(m->cu_scopes[i].v);
	free(m->cu_scopes);
	m->cu_scopes = NULL;
	m->cu_cap = m->cu_used = 0;
	m->cu_bytes = 0;
}

/* The DIE declaring die's function: DW_AT_abstract_origin, then DW_AT_specification, followed. */
static void die_declaration(Dwarf_Die *die, Dwarf_Die *decl)
{
	*decl = *die;
	for (int i = 0; i < 8; i++) { /* a few hops at most; bounded against a cycle */
		Dwarf_Attribute attr;
		Dwarf_Attribute *a = dwarf_attr(decl, DW_AT_abstract_origin, &attr);
		if (!a)
			a = dwarf_attr(decl, DW_AT_specification, &attr);
		Dwarf_Die next;
		if (!a || !dwarf_formref_die(a, &next))
			return;
		*decl = next;
	}
}

/* Languages whose functions live in namespaces and types, written with `::`. */
static bool lang_scoped(Dwarf_Die *die)
{
	Dwarf_Die cu;
	if (!dwarf_diecu(die, &cu, NULL, NULL))
		return false;
	switch (dwarf_srclang(&cu)) {
	case DW_LANG_C_plus_plus:
	case DW_LANG_C_plus_plus_03:
	case DW_LANG_C_plus_plus_11:
	case DW_LANG_C_plus_plus_14:
	case DW_LANG_Rust:
		return true;
	default:
		return false;
	}
}

/* The name a scope DIE adds to a qualified name (as c++filt spells unnamed ones), or NULL. */
static const char *scope_part(Dwarf_Die *scope)
{
	const char *name = dwarf_diename(scope);
	switch (dwarf_tag(scope)) {
	case DW_TAG_namespace:
		return name ? name : "(anonymous namespace)";
	case DW_TAG_class_type:
	case DW_TAG_structure_type:
	case DW_TAG_union_type:
		return name ? name : "{unnamed type}";
	case DW_TAG_subprogram: /* a local class's function */
		return name;
	default:
		return NULL;
	}
}

/*
 * name qualified with the namespaces and types enclosing decl (the
 * declaration, which sits in them), kept in m's names map by decl's address:
 * libdw has no parent links, and dwarf_getscopes_die walks the unit to find
 * them, once per function. name itself when memory runs out.
 */
static const char *qualified_name(struct sym_module *m, Dwarf_Die *decl, const char *name)
{
	const char *known = sym_names_find(m, decl->addr);
	if (known)
		return known;
	Dwarf_Die *scopes = NULL;
	int n = dwarf_getscopes_die(decl, &scopes); /* decl first, its unit last */
	size_t len = strlen(name) + 1;
	for (int i = 1; i < n; i++) {
		const char *part = scope_part(&scopes[i]);
		if (part)
			len += strlen(part) + 2;
	}
	char *full = malloc(len);
	const char *kept = NULL;
	if (full) {
		char *at = full;
		for (int i = n - 1; i >= 1; i--) {
			const char *part = scope_part(&scopes[i]);
			if (part)
				at += sprintf(at, "%s::", part);
		}
		strcpy(at, name);
		kept = sym_names_add(m, decl->addr, full);
		free(full);
	}
	free(scopes);
	return kept ? kept : name;
}

/*
 * A function DIE's names (through DW_AT_abstract_origin and
 * DW_AT_specification): a mangled linkage name, which spells namespaces,
 * classes, template arguments and parameters, demangled; else DW_AT_name,
 * qualified with its namespaces and types in C++ and Rust (a static function
 * inlined everywhere has no linkage name); C's linkage names (glibc's
 * __GI_ aliases) are not the source's name. Both NULL when it has no name.
 */
static void die_names(struct sym_module *m, Dwarf_Die *die, struct sym_frame *f)
{
	Dwarf_Attribute attr;
	const char *linkage = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
	if (!linkage) /* what GCC wrote before DWARF 4 named it */
		linkage = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
	if (linkage && sym_looks_mangled(linkage)) {
		f->system_name = linkage;
		f->function = sym_demangled(m, linkage);
		return;
	}
	const char *name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attr));
	Dwarf_Die decl;
	if (name) {
		die_declaration(die, &decl);
		if (lang_scoped(&decl))
			name = qualified_name(m, &decl, name);
	}
	f->function = f->system_name = name;
}

/* The call site of an inlined instance: DW_AT_call_file in its unit's file table, DW_AT_call_line. */
static void call_site(Dwarf_Die *die, const char **file, int *line)
{
	Dwarf_Attribute attr;
	Dwarf_Word v;
	Dwarf_Die cu;
	Dwarf_Files *files;
	size_t nfiles;
	*file = NULL;
	*line = 0;
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_line, &attr), &v) == 0 && v <= INT_MAX)
		*line = (int)v;
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &attr), &v) == 0 &&
	    dwarf_diecu(die, &cu, NULL, NULL) && dwarf_getsrcfiles(&cu, &files, &nfiles) == 0 &&
	    v < nfiles)
		*file = dwarf_filesrc(files, v, NULL, NULL);
}

int sym_elf_frames(struct sym_module *m, uint64_t vaddr, struct sym_frame *out, size_t max)
{
	if (!m->dmod || max == 0)
		return 0;
	Dwarf_Addr bias;
	Dwarf_Die *cudie = dwfl_module_addrdie(m->dmod, vaddr + m->bias, &bias);
	if (!cudie)
		return 0;
	struct sym_cu_scopes *t;
	int ret = cu_scopes_get(m, cudie, &t);
	if (ret < 0)
		return ret == -ENOMEM ? ret : 0;
	struct scope_walk w = {.pc = vaddr + m->bias - bias};
	const struct cu_scope *top = cu_scopes_find(t, w.pc);
	if (top) {
		w.chain[w.n++] = top->die;
		scope_descend(&w, &w.chain[0], 1);
	}

	const char *file;
	int line;
	sym_elf_line(m, vaddr, &file, &line); /* the innermost frame's line: the line table's */
	size_t n = 0;
	for (int i = w.n - 1; i >= 0 && n < max; i--) {
		int tag = dwarf_tag(&w.chain[i]);
		if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram)
			continue; /* a lexical block: same function */
		die_names(m, &w.chain[i], &out[n]);
		out[n].file = file;
		out[n].line = line;
		if (tag == DW_TAG_subprogram) {
			struct sym_entry *e = sym_table_find(&m->syms, vaddr);
			/*
			 * Nameless or artificial: the symbol table may know. A
			 * mangled symbol names the code as perf does, also where
			 * the DWARF has no linkage name (a lambda's operator()) or
			 * calls a clone (_Z...isra.0, _Z....cold: a function of
			 * its own) by its origin's name.
			 */
			if (e && (!out[n].function || sym_looks_mangled(e->name))) {
				out[n].function = sym_demangled(m, e->name);
				out[n].system_name = e->name;
			}
			n++;
			break; /* the concrete function: its callers are the unwinder's business */
		}
		n++;
		call_site(&w.chain[i], &file, &line); /* where the caller's frame stands */
	}
	return (int)n;
}

/* Whether the DIE tree under die holds a DIE with this tag (bounded depth). */
static bool tree_has_tag(Dwarf_Die *die, int tag, int level)
{
	Dwarf_Die child;
	if (level > 4 * SYM_SCOPES_MAX || dwarf_child(die, &child) != 0)
		return false;
	do {
		if (dwarf_tag(&child) == tag || tree_has_tag(&child, tag, level + 1))
			return true;
	} while (dwarf_siblingof(&child, &child) == 0);
	return false;
}

/*
 * A unit's abbreviation table lists every tag its DIEs use, in a few hundred
 * bytes: read the tables and only walk the DIEs of a unit whose table has
 * DW_TAG_inlined_subroutine, to confirm one exists. Units sharing a table are
 * read once when consecutive.
 */
int sym_elf_has_inlines(struct sym_module *m)
{
	if (m->inline_state != 0)
		return m->inline_state > 0;
	m->inline_state = -1;
	Dwarf_Addr dwbias;
	Dwarf *dw = m->dmod ? dwfl_module_getdwarf(m->dmod, &dwbias) : NULL;
	if (!dw)
		return 0;
	Dwarf_CU *cu = NULL;
	Dwarf_Half version;
	uint8_t unit_type;
	Dwarf_Die cudie, subdie;
	Dwarf_Off last = (Dwarf_Off)-1;
	bool listed = false; /* by the table at `last` */
	while (dwarf_get_units(dw, cu, &cu, &version, &unit_type, &cudie, &subdie) == 0) {
		Dwarf_Off abbrev_off;
		if (!dwarf_cu_die(cu, &cudie, NULL, &abbrev_off, NULL, NULL, NULL, NULL))
			continue;
		if (abbrev_off != last) {
			last = abbrev_off;
			listed = false;
			for (Dwarf_Off off = 0;;) {
				size_t len = 0;
				Dwarf_Abbrev *ab = dwarf_getabbrev(&cudie, off, &len);
				if (!ab || ab == DWARF_END_ABBREV || len == 0)
					break;
				if (dwarf_getabbrevtag(ab) == DW_TAG_inlined_subroutine) {
					listed = true;
					break;
				}
				off += len;
			}
		}
		if (listed && tree_has_tag(&cudie, DW_TAG_inlined_subroutine, 0)) {
			m->inline_state = 1;
			break;
		}
	}
	return m->inline_state > 0;
}

void sym_elf_unload(struct sym_module *m)
{
	sym_dmap_free(&m->names); /* keyed by strings of the tables and the DWARF */
	cu_scopes_free(m);
	if (m->dwfl)
		dwfl_end(m->dwfl);
	m->dwfl = NULL;
	m->dmod = NULL;
	m->dwfl_state = 0;
	m->has_lines = false;
	m->inline_state = 0;
	m->dw_bytes = 0;
	sym_table_free(&m->syms);
	sym_table_free(&m->data);
	m->data_state = 0;
	bin_put(m->bins, m->bin); /* after dwfl_end: the Dwfl read the binary's mapping */
	m->bin = NULL;
}

void sym_elf_release(struct sym_module *m)
{
	sym_elf_unload(m);
	free(m->loads);
	m->loads = NULL;
	m->nloads = 0;
}

int sym_read_build_id(const char *path, char hex[41])
{
	return bin_read_build_id(path, hex);
}
