/*
 * One ELF module for the symbolizer: its PT_LOAD segments (file offset to
 * vaddr), its GNU build id, its separate debug file (by build id, else by
 * .gnu_debuglink), its function symbols as a sorted table (the debug file's
 * .symtab, else the file's .symtab, else .dynsym), and its line tables
 * through an offline Dwfl opened on first need.
 */
#include "symbols_internal.h"

#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEBUG_ROOT "/usr/lib/debug"

struct elf_file {
	int fd;
	Elf *elf;
};

static void elf_file_close(struct elf_file *f)
{
	if (f->elf)
		elf_end(f->elf);
	if (f->fd >= 0)
		close(f->fd);
	f->elf = NULL;
	f->fd = -1;
}

/* 0, or -ENOENT for anything that makes the file unreadable as ELF. */
static int elf_file_open(struct elf_file *f, const char *path)
{
	f->elf = NULL;
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return -ENOENT;
	f->elf = elf_begin(f->fd, ELF_C_READ_MMAP, NULL);
	if (!f->elf || elf_kind(f->elf) != ELF_K_ELF) {
		elf_file_close(f);
		return -ENOENT;
	}
	return 0;
}

static void build_id_hex(Elf *elf, char hex[41])
{
	const void *bits;
	ssize_t n = dwelf_elf_gnu_build_id(elf, &bits);
	hex[0] = '\0';
	if (n <= 0)
		return;
	if (n > 20) /* longer ids do not fit pprof's field; the first 20 bytes still key */
		n = 20;
	for (ssize_t i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", ((const unsigned char *)bits)[i]);
}

static Elf_Scn *find_section(Elf *elf, GElf_Word type, GElf_Shdr *shdr)
{
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));)
		if (gelf_getshdr(scn, shdr) && shdr->sh_type == type)
			return scn;
	return NULL;
}

static bool same_file(int fd_a, int fd_b)
{
	struct stat a, b;
	return fstat(fd_a, &a) == 0 && fstat(fd_b, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

/* A usable debug file is ELF, has a .symtab and (when both have one) the same build id. */
static bool debug_candidate(struct elf_file *dbg, const char *cand, const struct elf_file *main,
			    const char *bid)
{
	GElf_Shdr shdr;
	if (elf_file_open(dbg, cand) != 0)
		return false;
	if (!same_file(dbg->fd, main->fd) && find_section(dbg->elf, SHT_SYMTAB, &shdr)) {
		char dbid[41];
		build_id_hex(dbg->elf, dbid);
		if (!bid[0] || !dbid[0] || sym_build_id_matches(bid, dbid))
			return true;
	}
	elf_file_close(dbg);
	return false;
}

/*
 * The separate debug file, searched where gdb and libdwfl look:
 * /usr/lib/debug/.build-id/xx/rest.debug, then the .gnu_debuglink name next
 * to the file, in its .debug/ directory, and under /usr/lib/debug/<dir>.
 */
static bool find_debug_file(struct elf_file *dbg, const char *path, const struct elf_file *main,
			    const char *bid)
{
	char cand[PATH_MAX];
	if (strlen(bid) > 2) {
		snprintf(cand, sizeof(cand), DEBUG_ROOT "/.build-id/%.2s/%s.debug", bid, bid + 2);
		if (debug_candidate(dbg, cand, main, bid))
			return true;
	}
	GElf_Word crc;
	const char *link = dwelf_elf_gnu_debuglink(main->elf, &crc);
	if (!link || !link[0] || strchr(link, '/'))
		return false;
	/* Both the directory as named and as resolved: /lib is often a link to /usr/lib. */
	char dirs[2][PATH_MAX];
	snprintf(dirs[0], sizeof(dirs[0]), "%s", path);
	char *slash = strrchr(dirs[0], '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(dirs[0], sizeof(dirs[0]), ".");
	int ndirs = 1;
	if (realpath(path, dirs[1])) {
		slash = strrchr(dirs[1], '/');
		if (slash)
			*slash = '\0';
		if (strcmp(dirs[0], dirs[1]) != 0)
			ndirs = 2;
	}
	for (int d = 0; d < ndirs; d++) {
		static const char *const fmts[] = {"%s/%s", "%s/.debug/%s", DEBUG_ROOT "%s/%s"};
		for (size_t k = 0; k < sizeof(fmts) / sizeof(fmts[0]); k++) {
			if (k == 2 && dirs[d][0] != '/')
				continue;
			snprintf(cand, sizeof(cand), fmts[k], dirs[d], link);
			if (debug_candidate(dbg, cand, main, bid))
				return true;
		}
	}
	return false;
}

static int read_loads(struct sym_module *m, Elf *elf)
{
	size_t n;
	if (elf_getphdrnum(elf, &n) != 0)
		return 0; /* no program headers: nothing maps, so nothing symbolizes */
	m->loads = calloc(n ? n : 1, sizeof(*m->loads));
	if (!m->loads)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		m->loads[m->nloads].offset = ph.p_offset;
		m->loads[m->nloads].filesz = ph.p_filesz;
		m->loads[m->nloads].vaddr = ph.p_vaddr;
		m->nloads++;
	}
	return 0;
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

/*
 * Function symbols of one symbol table: FUNC and IFUNC, and NOTYPE ones that
 * carry a size inside executable code (hand-written assembly often omits the
 * type). Version suffixes (memcpy@GLIBC_2.2.5) are dropped from names.
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
		if (type != STT_FUNC && type != STT_GNU_IFUNC && type != STT_NOTYPE)
			continue;
		size_t shndx = sym.st_shndx == SHN_XINDEX ? xndx : sym.st_shndx;
		if (shndx == SHN_UNDEF || (sym.st_shndx >= SHN_LORESERVE && sym.st_shndx != SHN_XINDEX) ||
		    sym.st_value == 0)
			continue;
		GElf_Shdr sec;
		Elf_Scn *secscn = elf_getscn(elf, shndx);
		if (!secscn || !gelf_getshdr(secscn, &sec))
			continue;
		if (type == STT_NOTYPE && (sym.st_size == 0 || !(sec.sh_flags & SHF_EXECINSTR)))
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

static int build_table(struct sym_module *m, const struct elf_file *main,
		       const struct elf_file *dbg)
{
	struct sym_builder b = {0};
	GElf_Shdr shdr;
	Elf *src = NULL;
	Elf_Scn *scn = NULL;
	if (dbg->elf && (scn = find_section(dbg->elf, SHT_SYMTAB, &shdr)))
		src = dbg->elf;
	else if ((scn = find_section(main->elf, SHT_SYMTAB, &shdr)))
		src = main->elf;
	else if ((scn = find_section(main->elf, SHT_DYNSYM, &shdr)))
		src = main->elf;
	if (!src)
		return 0;
	int ret = read_symbols(src, scn, &shdr, &b);
	if (ret < 0) {
		sym_builder_free(&b);
		return ret;
	}
	return sym_builder_finish(&b, &m->syms);
}

int sym_elf_load(struct sym_module *m, const char *path, const char *want_build_id)
{
	struct elf_file main = {.fd = -1}, dbg = {.fd = -1};
	int ret = elf_file_open(&main, path);
	if (ret < 0)
		return ret;
	char bid[41];
	build_id_hex(main.elf, bid);
	if (want_build_id && bid[0] && !sym_build_id_matches(want_build_id, bid)) {
		/* The file was replaced since the samples were taken: its symbols would lie. */
		ret = -ENOENT;
		goto out;
	}
	snprintf(m->build_id, sizeof(m->build_id), "%s", want_build_id ? want_build_id : bid);
	ret = read_loads(m, main.elf);
	if (ret < 0)
		goto out;
	find_debug_file(&dbg, path, &main, bid[0] ? bid : m->build_id);
	ret = build_table(m, &main, &dbg);
out:
	elf_file_close(&dbg);
	elf_file_close(&main);
	return ret;
}

/* ---- line tables ---- */

/* Immutable, so not global mutable state; libdwfl only reads it. */
static const Dwfl_Callbacks offline_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
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

int sym_elf_lines_open(struct sym_module *m)
{
	if (m->dwfl_state != 0)
		return m->dwfl_state > 0;
	m->dwfl_state = -1;
	Dwfl *dwfl = dwfl_begin(&offline_callbacks);
	if (!dwfl)
		return 0;
	dwfl_report_begin(dwfl);
	Dwfl_Module *mod = dwfl_report_offline(dwfl, m->path, m->path, -1);
	dwfl_report_end(dwfl, NULL, NULL);
	GElf_Addr bias = 0;
	Dwarf_Addr dwbias;
	Dwarf *dw;
	if (!mod || !dwfl_module_getelf(mod, &bias) || !(dw = dwfl_module_getdwarf(mod, &dwbias)) ||
	    !dwarf_has_line_section(dw)) {
		dwfl_end(dwfl); /* keep no descriptors open for modules without lines */
		return 0;
	}
	m->dwfl = dwfl;
	m->dmod = mod;
	m->bias = bias;
	m->has_lines = true;
	m->dwfl_state = 1;
	return 1;
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
	return 0;
}

void sym_elf_release(struct sym_module *m)
{
	if (m->dwfl)
		dwfl_end(m->dwfl);
	m->dwfl = NULL;
	m->dmod = NULL;
	sym_table_free(&m->syms);
	free(m->loads);
	m->loads = NULL;
	m->nloads = 0;
}
