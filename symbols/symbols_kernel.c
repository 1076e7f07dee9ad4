/*
 * Symbols that do not come from ELF files: the kernel's text symbols from
 * /proc/kallsyms (read once, lazily) and JIT code from /tmp/perf-PID.map
 * (per pid, re-read when the file changes, trusted only when owned by the
 * process's user or root).
 */
#include "symbols_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- kallsyms ---- */

void sym_kernel_release(struct sym_kernel *k)
{
	sym_table_free(&k->t);
	k->loaded = k->available = false;
}

static const char *skip_blanks(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* A hex digit's value plus one; 0 for anything else. */
static const unsigned char hex_digit[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7,
	['7'] = 8, ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14,
	['e'] = 15, ['f'] = 16, ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15,
	['F'] = 16,
};

/* Bytes of x (each < 0x80) in [lo, hi] get 0x80, the others 0 (no carry crosses a byte). */
static inline uint64_t bytes_in(uint64_t x, unsigned lo, unsigned hi)
{
	const uint64_t ones = 0x0101010101010101ull;
	return (x + ones * (0x80 - lo)) & ~(x + ones * (0x7f - hi)) & ones * 0x80;
}

/*
 * Eight hex digits, the first in the lowest byte (as loaded from memory on
 * x86), to their value; false if any byte is not a hex digit. SWAR: a byte's
 * digit is its low nibble, plus 9 for a letter; then the nibbles are packed
 * pairwise, most significant first.
 */
static inline bool hex8(uint64_t x, uint32_t *out)
{
	const uint64_t ones = 0x0101010101010101ull;
	if (x & ones * 0x80)
		return false;
	uint64_t digits = bytes_in(x, '0', '9');
	uint64_t letters = bytes_in(x | ones * 0x20, 'a', 'f');
	if ((digits | letters) != ones * 0x80)
		return false;
	uint64_t n = (x & ones * 0x0f) + (letters >> 7) * 9;
	n = __builtin_bswap64(n); /* the first digit in the highest byte */
	n = (n | n >> 4) & 0x00ff00ff00ff00ffull;
	n = (n | n >> 8) & 0x0000ffff0000ffffull;
	n = (n | n >> 16) & 0x00000000ffffffffull;
	*out = (uint32_t)n;
	return true;
}

/*
 * Hex digits to a value; *p moves past them (strtoull's locale handling cost
 * ~450 instructions a line). The kernel prints 16 digits and a blank: those
 * are read eight at a time, anything else one digit at a time.
 */
static uint64_t parse_hex(const char **p, const char *end)
{
	const char *q = *p;
	uint32_t hi, lo;
	uint64_t a, b;
	if (end - q > 16 && (q[16] == ' ' || q[16] == '\t')) {
		memcpy(&a, q, 8);
		memcpy(&b, q + 8, 8);
		if (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && hex8(a, &hi) && hex8(b, &lo)) {
			*p = q + 16;
			return (uint64_t)hi << 32 | lo;
		}
	}
	uint64_t v = 0;
	unsigned d;
	for (; q < end && (d = hex_digit[(unsigned char)*q]) != 0; q++)
		v = v << 4 | (d - 1);
	*p = q;
	return v;
}

/* One "ADDR TYPE NAME [module]" line (without its newline); text symbols only. */
static int kallsyms_line(struct sym_builder *b, const char *line, const char *end, bool *nonzero)
{
	const char *p = line;
	uint64_t addr = parse_hex(&p, end);
	if (p == line)
		return 0;
	const char *q = skip_blanks(p, end);
	if (q >= end)
		return 0;
	char type = *q;
	if (type != 't' && type != 'T' && type != 'w' && type != 'W')
		return 0;
	q = skip_blanks(q + 1, end);
	if (q >= end)
		return 0; /* no name */
	/* The kernel prints "%px %c %s\t[%s]": the name runs to a tab before the module, or the end. */
	const char *name_end = memchr(q, '\t', (size_t)(end - q));
	if (!name_end)
		name_end = end;
	while (name_end > q && (name_end[-1] == ' ' || name_end[-1] == '\r'))
		name_end--;
	size_t len = (size_t)(name_end - q);
	if (len == 0 || addr == 0)
		return 0; /* kptr_restrict: every address reads as zero */
	*nonzero = true;
	/*
	 * Of the names at one address the last listed wins, whatever their types: perf gives
	 * each kallsyms symbol the size up to the next one, so all but the last of an
	 * address's names are empty, and it keeps a sized symbol over an empty one
	 * (__x64_sys_sched_yield, not __ia32_sys_sched_yield listed before it).
	 */
	return sym_builder_add(b, addr, 0, false, 0, UINT32_MAX - (uint32_t)b->n, q, len);
}

/*
 * kallsyms has no sizes: each text symbol runs to the next one. Read in
 * large chunks: procfs reports a 1 KiB block size, so stdio would make a
 * system call (and a seq_file restart) per kilobyte of its ~5 MB.
 */
#define KALLSYMS_CHUNK (256u * 1024u)

int sym_kernel_load(struct sym_kernel *k, const char *kallsyms_path)
{
	sym_kernel_release(k);
	k->loaded = true;
	int fd = open(kallsyms_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ENOENT;
	char *buf = malloc(KALLSYMS_CHUNK);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	struct sym_builder b = {0};
	size_t have = 0; /* bytes of an unfinished line kept at buf's start */
	int ret = 0;
	bool nonzero = false;
	for (;;) {
		ssize_t got = read(fd, buf + have, KALLSYMS_CHUNK - have);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			ret = -errno;
			break;
		}
		size_t len = have + (size_t)got;
		const char *p = buf, *end = buf + len;
		const char *nl;
		while (ret == 0 && (nl = memchr(p, '\n', (size_t)(end - p)))) {
			ret = kallsyms_line(&b, p, nl, &nonzero);
			p = nl + 1;
		}
		if (ret < 0)
			break;
		have = (size_t)(end - p);
		if (got == 0) { /* a last line without a newline */
			if (have)
				ret = kallsyms_line(&b, p, end, &nonzero);
			break;
		}
		if (have == KALLSYMS_CHUNK) { /* no newline in a whole chunk: not kallsyms */
			ret = -EINVAL;
			break;
		}
		memmove(buf, p, have);
	}
	free(buf);
	close(fd);
	if (ret == 0)
		ret = sym_builder_finish(&b, &k->t);
	else
		sym_builder_free(&b);
	k->available = ret == 0 && nonzero;
	return ret;
}

/* The kernel's table stays for the cache's life (read once, ~60 ms); it counts in its bytes. */
bool sym_kernel_available(struct sym_cache *c)
{
	if (!c)
		return false;
	if (!c->kernel.loaded) {
		sym_kernel_load(&c->kernel, "/proc/kallsyms");
		c->bytes += c->kernel.t.bytes;
		sym_cache_settle(c, NULL, NULL);
	}
	return c->kernel.available;
}

int sym_lookup_kernel(struct sym_cache *c, uint64_t addr, struct sym_result *out)
{
	memset(out, 0, sizeof(*out));
	if (!sym_kernel_available(c))
		return -ENOENT;
	out->elf_vaddr = addr;
	struct sym_entry *e = sym_table_find(&c->kernel.t, addr);
	if (e) {
		/* The kernel table lives as long as the cache; its names are C's. */
		out->function = out->system_name = e->name;
		out->func_start = e->start;
	}
	return 0;
}

/* A symbol the kernel emits for the padding before a function: objtool's __pfx_, kCFI's __cfi_. */
static bool kernel_padding_symbol(const char *name)
{
	return strncmp(name, "__pfx_", 6) == 0 || strncmp(name, "__cfi_", 6) == 0;
}

uint64_t sym_kernel_table_caller_addr(const struct sym_table *t, uint64_t ret)
{
	const struct sym_entry *f = sym_table_find(t, ret);
	if (f && f->start == ret && ret > 0) {
		const struct sym_entry *pad = sym_table_find(t, ret - 1);
		if (pad && kernel_padding_symbol(pad->name))
			return ret;
	}
	return ret - 1;
}

uint64_t sym_kernel_caller_addr(struct sym_cache *c, uint64_t ret)
{
	if (!sym_kernel_available(c))
		return ret - 1;
	return sym_kernel_table_caller_addr(&c->kernel.t, ret);
}

/* ---- JIT maps ---- */

void sym_jit_release(struct sym_jit *j)
{
	sym_table_free(&j->t);
	memset(j, 0, sizeof(*j));
}

static void jit_map_path(char *buf, size_t len, pid_t pid)
{
	snprintf(buf, len, "/tmp/perf-%d.map", (int)pid);
}

/*
 * Anyone can write /tmp/perf-PID.map for any PID: believe only the
 * process's own user, root, or ourselves (the profiler's user wrote it or
 * ran the process). When the process has exited its uid is unknown.
 */
static bool jit_owner_trusted(uid_t owner, pid_t pid)
{
	if (owner == 0 || owner == geteuid())
		return true;
	uid_t uid;
	return base_proc_owner(pid, &uid) == 0 && uid == owner;
}

/* Lines are "START SIZE name" in hex without 0x; a later line wins at the same start. */
int sym_jit_load(struct sym_jit *j, pid_t pid)
{
	sym_jit_release(j);
	char path[64];
	jit_map_path(path, sizeof(path), pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -ENOENT;
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || !jit_owner_trusted(st.st_uid, pid)) {
		close(fd);
		return -ENOENT;
	}
	FILE *f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	struct sym_builder b = {0};
	char *line = NULL;
	size_t cap = 0;
	int ret = 0;
	uint32_t lineno = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) > 0) {
		lineno++;
		char *p, *q;
		unsigned long long start = strtoull(line, &p, 16);
		if (p == line || (*p != ' ' && *p != '\t'))
			continue;
		unsigned long long size = strtoull(p, &q, 16);
		if (q == p || (*q != ' ' && *q != '\t'))
			continue;
		const char *name = skip_blanks(q, line + n);
		size_t len = strcspn(name, "\r\n");
		if (len == 0 || start == 0)
			continue;
		bool sized = size > 0;
		uint32_t rank = (sized ? 0u : 1u) << 31 | (0x7fffffffu - (lineno & 0x7fffffffu));
		ret = sym_builder_add(&b, start, size, sized, 0, rank, name, len);
		if (ret < 0)
			break;
	}
	free(line);
	fclose(f);
	if (ret < 0) {
		sym_builder_free(&b);
		return ret;
	}
	ret = sym_builder_finish(&b, &j->t);
	if (ret < 0)
		return ret;
	j->pid = pid;
	j->dev = st.st_dev;
	j->ino = st.st_ino;
	j->size = st.st_size;
	j->uid = st.st_uid;
	j->mtime = st.st_mtim;
	j->ctime = st.st_ctim;
	return 0;
}

static bool jit_unchanged(const struct sym_jit *j, const struct stat *st)
{
	/* The owner too: a chown within one tick of the last write leaves ctime as it was. */
	return j->dev == st->st_dev && j->ino == st->st_ino && j->size == st->st_size &&
	       j->uid == st->st_uid &&
	       j->mtime.tv_sec == st->st_mtim.tv_sec && j->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	       j->ctime.tv_sec == st->st_ctim.tv_sec && j->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

int sym_lookup_jit(struct sym_cache *c, pid_t pid, uint64_t addr, struct sym_result *out)
{
	memset(out, 0, sizeof(*out));
	if (!c || pid <= 0)
		return -EINVAL;
	struct sym_jit *j = NULL, *victim = &c->jit[0];
	for (size_t i = 0; i < SYM_JIT_MAX; i++) {
		if (c->jit[i].pid == pid) {
			j = &c->jit[i];
			break;
		}
		if (c->jit[i].used < victim->used)
			victim = &c->jit[i];
	}
	char path[64];
	struct stat st;
	jit_map_path(path, sizeof(path), pid);
	if (lstat(path, &st) != 0) {
		if (j) {
			c->bytes -= j->t.bytes;
			sym_jit_release(j);
		}
		return -ENOENT;
	}
	if (!j || !jit_unchanged(j, &st)) {
		if (!j)
			j = victim; /* an empty slot has used == 0, so it goes first */
		c->bytes -= j->t.bytes;
		int ret = sym_jit_load(j, pid);
		c->bytes += j->t.bytes;
		if (ret < 0)
			return ret;
	}
	j->used = ++c->jit_tick;
	out->elf_vaddr = addr;
	struct sym_entry *e = sym_table_find(&j->t, addr);
	if (e) {
		/* The table's: valid until this map is read again; written readable by the runtime. */
		out->function = out->system_name = e->name;
		out->func_start = e->start;
	}
	sym_cache_settle(c, NULL, j);
	return 0;
}
