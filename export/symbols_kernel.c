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

static const char *skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* kallsyms has no sizes: each text symbol runs to the next one. */
int sym_kernel_load(struct sym_kernel *k, const char *kallsyms_path)
{
	sym_kernel_release(k);
	k->loaded = true;
	FILE *f = fopen(kallsyms_path, "re");
	if (!f)
		return -ENOENT;
	struct sym_builder b = {0};
	char *line = NULL;
	size_t cap = 0;
	int ret = 0;
	bool nonzero = false;
	while (getline(&line, &cap, f) > 0) {
		char *p;
		unsigned long long addr = strtoull(line, &p, 16);
		if (p == line)
			continue;
		const char *q = skip_blanks(p);
		char type = *q;
		if (type != 't' && type != 'T' && type != 'w' && type != 'W')
			continue;
		q = skip_blanks(q + 1);
		size_t len = strcspn(q, " \t\n"); /* the name; a "[module]" may follow */
		if (len == 0)
			continue;
		if (addr == 0)
			continue; /* kptr_restrict: every address reads as zero */
		nonzero = true;
		enum sym_bind bind = type == 'T' ? SYM_BIND_GLOBAL :
				     type == 'W' ? SYM_BIND_WEAK : SYM_BIND_LOCAL;
		ret = sym_builder_add(&b, addr, 0, false, 0, sym_rank(false, bind, q, len), q, len);
		if (ret < 0)
			break;
	}
	free(line);
	fclose(f);
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
		out->function = e->name; /* the kernel table lives as long as the cache */
		out->func_start = e->start;
	}
	return 0;
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
	char proc[32];
	struct stat st;
	snprintf(proc, sizeof(proc), "/proc/%d", (int)pid);
	return stat(proc, &st) == 0 && st.st_uid == owner;
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
		const char *name = skip_blanks(q);
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
	j->mtime = st.st_mtim;
	j->ctime = st.st_ctim;
	return 0;
}

static bool jit_unchanged(const struct sym_jit *j, const struct stat *st)
{
	return j->dev == st->st_dev && j->ino == st->st_ino && j->size == st->st_size &&
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
		out->function = e->name; /* the table's: valid until this map is read again */
		out->func_start = e->start;
	}
	sym_cache_settle(c, NULL, j);
	return 0;
}
