/*
 * pmuprof c2c: cache-line sharing analysis. Owns the "c2c" dispatcher and
 * "c2c watch": resolving the watched line (--symbol via the executable's ELF
 * symbol table, or --addr), pacing the watchpoint windows of sampler/watch.c
 * (duty cycle), tallying hits per word x thread and per code location, and
 * the verdict (false / true sharing / none).
 */
#include "cli.h"
#include "export.h"
#include "sampler.h"
#include "symbols.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CMD "c2c watch"

struct watch_opts {
	const char *symbol, *addr_str, *pid_str;
	uint32_t len;
	bool rw, reopen;
	double duty;       /* percent of each window period that is armed */
	unsigned period_ms; /* window period */
	double duration;    /* -p: seconds, 0 = until the process exits or Ctrl-C */
	char **cmd;
};

/* Hits of one thread on one word, in write (0) or read-write (1) windows. */
struct word_row {
	int word;
	uint32_t pid, tid;
	uint64_t hits[2];
	char comm[17];
};

struct loc_row {
	uint64_t ip;
	uint32_t pid;
	int word;
	bool rw;
	uint64_t hits;
};

struct tally {
	struct word_row *rows;
	size_t nrows, caprows;
	struct loc_row *locs;
	size_t nlocs, caplocs;
	struct proc_model *pm; /* maps read while the process runs, for symbolizing */
	size_t synced_locs;    /* nlocs when the maps were last read */
};

static void read_comm(uint32_t pid, uint32_t tid, char *out, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%u/task/%u/comm", pid, tid);
	FILE *f = fopen(path, "re");
	snprintf(out, len, "?");
	if (!f)
		return;
	if (fgets(out, (int)len, f))
		out[strcspn(out, "\n")] = 0;
	fclose(f);
}

static int on_hit(void *arg, const struct smp_watch_hit *h)
{
	struct tally *t = arg;
	struct word_row *r = NULL;
	for (size_t i = 0; i < t->nrows && !r; i++)
		if (t->rows[i].word == h->word && t->rows[i].tid == h->tid)
			r = &t->rows[i];
	if (!r) {
		if (t->nrows == t->caprows) {
			size_t cap = t->caprows ? t->caprows * 2 : 16;
			struct word_row *n = realloc(t->rows, cap * sizeof(*n));
			if (!n)
				return -ENOMEM;
			t->rows = n, t->caprows = cap;
		}
		r = &t->rows[t->nrows++];
		memset(r, 0, sizeof(*r));
		r->word = h->word, r->pid = h->pid, r->tid = h->tid;
		/* Read now: the drain follows the window, so the thread is most likely alive. */
		read_comm(h->pid, h->tid, r->comm, sizeof(r->comm));
	}
	r->hits[h->rw]++;
	struct loc_row *l = NULL;
	for (size_t i = 0; i < t->nlocs && !l; i++)
		if (t->locs[i].ip == h->ip && t->locs[i].word == h->word && t->locs[i].rw == h->rw)
			l = &t->locs[i];
	if (!l) {
		if (t->nlocs == t->caplocs) {
			size_t cap = t->caplocs ? t->caplocs * 2 : 16;
			struct loc_row *n = realloc(t->locs, cap * sizeof(*n));
			if (!n)
				return -ENOMEM;
			t->locs = n, t->caplocs = cap;
		}
		l = &t->locs[t->nlocs++];
		*l = (struct loc_row){.ip = h->ip, .pid = h->pid, .word = h->word, .rw = h->rw};
	}
	l->hits++;
	return 0;
}

/* --- the watched address ----------------------------------------------------- */

/* The file execvp would run for argv0. */
static int find_exe(const char *argv0, char *out, size_t len)
{
	if (strchr(argv0, '/'))
		return snprintf(out, len, "%s", argv0) < (int)len ? 0 : -ENAMETOOLONG;
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		snprintf(out, len, "%.*s/%s", (int)n, path, argv0);
		if (access(out, X_OK) == 0)
			return 0;
		path += n + (path[n] == ':');
	}
	return -ENOENT;
}

struct elf_sym_info {
	uint64_t value, size;
	bool pie;
	uint64_t first_load; /* lowest PT_LOAD vaddr, page aligned (load bias of a PIE) */
};

/* A symbol's link-time address by name: .symtab first (has statics), else .dynsym. */
static int elf_symbol(const char *file, const char *name, struct elf_sym_info *out, char *err,
		      size_t errlen)
{
	elf_version(EV_CURRENT);
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pmu_fail(err, errlen, -errno, "cannot open %s: %s", file, strerror(errno));
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	GElf_Ehdr eh;
	int ret = -ENOENT;
	if (!e || !gelf_getehdr(e, &eh)) {
		ret = pmu_fail(err, errlen, -EINVAL, "%s is not an ELF file", file);
		goto out;
	}
	out->pie = eh.e_type == ET_DYN;
	out->first_load = UINT64_MAX;
	size_t nph = 0;
	elf_getphdrnum(e, &nph);
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD && ph.p_vaddr < out->first_load)
			out->first_load = ph.p_vaddr & ~(uint64_t)0xfff;
	}
	for (int pass = 0; pass < 2 && ret == -ENOENT; pass++) {
		Elf_Scn *scn = NULL;
		while ((scn = elf_nextscn(e, scn)) != NULL && ret == -ENOENT) {
			GElf_Shdr sh;
			if (!gelf_getshdr(scn, &sh) || sh.sh_type != (pass ? SHT_DYNSYM : SHT_SYMTAB))
				continue;
			Elf_Data *d = elf_getdata(scn, NULL);
			size_t n = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
			for (size_t i = 0; d && i < n; i++) {
				GElf_Sym s;
				if (!gelf_getsym(d, (int)i, &s) || s.st_shndx == SHN_UNDEF)
					continue;
				const char *nm = elf_strptr(e, sh.sh_link, s.st_name);
				if (nm && strcmp(nm, name) == 0) {
					out->value = s.st_value, out->size = s.st_size;
					ret = 0;
					break;
				}
			}
		}
	}
	if (ret == -ENOENT)
		pmu_fail(err, errlen, ret, "no symbol '%s' in %s (a global or static variable; "
			 "is the binary stripped?)", name, file);
out:
	if (e)
		elf_end(e);
	close(fd);
	return ret;
}

/* Where a PIE executable is loaded in a running process: its mapping at file offset 0. */
static int exe_load_start(pid_t pid, uint64_t *start)
{
	char path[64], exe[PATH_MAX], line[PATH_MAX + 256];
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(path, exe, sizeof(exe) - 1);
	if (n < 0)
		return -errno;
	exe[n] = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	int ret = -ENOENT;
	while (ret && fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi, off;
		int pos = 0;
		if (sscanf(line, "%llx-%llx %*s %llx %*s %*s%n", &lo, &hi, &off, &pos) < 3)
			continue;
		char *file = line + pos;
		file += strspn(file, " ");
		file[strcspn(file, "\n")] = 0;
		if (off == 0 && strcmp(file, exe) == 0)
			*start = lo, ret = 0;
	}
	fclose(f);
	return ret;
}

/* "NAME[+OFF]" or --addr to the first byte watched; exe is the file holding the symbol. */
static int resolve_addr(const struct watch_opts *o, const char *exe, pid_t pid, uint64_t *addr,
			char *err, size_t errlen)
{
	if (o->addr_str) {
		char *end;
		errno = 0;
		*addr = strtoull(o->addr_str, &end, 0);
		if (errno || *end || end == o->addr_str)
			return pmu_fail(err, errlen, -EINVAL, "malformed --addr '%s'; expected e.g. 0x404040",
					o->addr_str);
		return 0;
	}
	char name[512];
	snprintf(name, sizeof(name), "%s", o->symbol);
	uint64_t off = 0;
	char *plus = strchr(name, '+');
	if (plus) {
		char *end;
		*plus = 0;
		errno = 0;
		off = strtoull(plus + 1, &end, 0);
		if (errno || *end || end == plus + 1)
			return pmu_fail(err, errlen, -EINVAL, "malformed --symbol '%s'; expected NAME[+OFF]",
					o->symbol);
	}
	struct elf_sym_info si = {0};
	int ret = elf_symbol(exe, name, &si, err, errlen);
	if (ret < 0)
		return ret;
	*addr = si.value + off;
	if (!si.pie)
		return 0; /* linked at its run-time address */
	if (pid <= 0)
		return pmu_fail(err, errlen, -EINVAL,
				"%s is position-independent (PIE): its address is known only once it "
				"runs; start it and use -p PID, or build it with -no-pie", exe);
	uint64_t start = 0;
	if ((ret = exe_load_start(pid, &start)) < 0)
		return pmu_fail(err, errlen, ret, "cannot find where %s is mapped in process %d",
				exe, (int)pid);
	*addr += start - si.first_load;
	return 0;
}

/* --- the report ------------------------------------------------------------------ */

static int cmp_loc(const void *a, const void *b)
{
	const struct loc_row *x = a, *y = b;
	return x->hits < y->hits ? 1 : x->hits > y->hits ? -1 : 0;
}

static int cmp_row(const void *a, const void *b)
{
	const struct word_row *x = a, *y = b;
	if (x->word != y->word)
		return x->word - y->word;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

/*
 * Writes: any hit in a write window. Reads: hits only in read-write windows
 * (x86 has no read-only watchpoints, so a read is a read-write hit of a
 * thread that never hit the word in a write window).
 */
static const char *verdict(const struct tally *t)
{
	bool ww_false = false, rw_false = false, rw_true = false;
	for (size_t i = 0; i < t->nrows; i++) {
		const struct word_row *a = &t->rows[i];
		if (!a->hits[0])
			continue; /* a is a writer of a->word */
		for (size_t j = 0; j < t->nrows; j++) {
			const struct word_row *b = &t->rows[j];
			if (b->tid == a->tid)
				continue;
			bool b_writes = b->hits[0] > 0, b_reads = !b_writes && b->hits[1] > 0;
			if (b_writes && b->word == a->word)
				return "true sharing (the same word written by more than one thread)";
			ww_false |= b_writes && b->word != a->word;
			rw_false |= b_reads && b->word != a->word;
			rw_true |= b_reads && b->word == a->word;
		}
	}
	if (ww_false)
		return "false sharing (different words written by different threads)";
	if (rw_true)
		return "true sharing (a word written by one thread is read by another)";
	if (rw_false)
		return "false sharing (read-write: one thread writes a word, another reads a "
		       "different word of the line)";
	return "none (only one thread touches the line)";
}

static void print_report(struct tally *t, const struct watch_opts *o, const char *what,
			 uint64_t addr, pid_t pid, const struct smp_watch_stats *st, double run_s,
			 double armed_ms)
{
	int nwords = (int)(o->len / 8);
	printf("\nc2c watch: %s = 0x%llx, %u bytes (%d words), %s watchpoints, process %d\n", what,
	       (unsigned long long)addr, o->len, nwords, o->rw ? "write and read-write" : "write",
	       (int)pid);
	bool rotates = nwords > SMP_WATCH_SLOTS || o->rw;
	printf("watched %.3f s of %.3f s (duty %.1f %%: %.1f ms every %u ms, %d word%s at a time, "
	       "%s); %llu windows, %llu hits, %llu lost\n",
	       (double)st->armed_ns / 1e9, run_s, o->duty, armed_ms, o->period_ms,
	       nwords < SMP_WATCH_SLOTS ? nwords : SMP_WATCH_SLOTS, nwords == 1 ? "" : "s",
	       !rotates ? "no rotation" : st->modify ? "rotated by modify" : "rotated by reopen",
	       (unsigned long long)st->windows,
	       (unsigned long long)st->hits, (unsigned long long)st->lost);
	if (t->nrows) /* qsort's base must not be NULL, even for no elements */
		qsort(t->rows, t->nrows, sizeof(*t->rows), cmp_row);
	printf("\n%-5s %-7s %-8s %-16s %-6s %12s %14s\n", "word", "offset", "tid", "comm", "access",
	       "hits", "hits/s armed");
	for (size_t i = 0; i < t->nrows; i++) {
		const struct word_row *r = &t->rows[i];
		for (int m = 0; m < 2; m++) {
			if (!r->hits[m])
				continue;
			double ns = (double)st->word_ns[r->word][m];
			char hits[32], rate[32];
			cli_format_count((double)r->hits[m], hits, sizeof(hits));
			cli_format_count(ns > 0 ? (double)r->hits[m] * 1e9 / ns : 0, rate, sizeof(rate));
			const char *acc = m == 0 ? "write" : r->hits[0] ? "rw" : "read";
			printf("%-5d +%-6d %-8u %-16s %-6s %12s %14s\n", r->word, r->word * 8, r->tid,
			       r->comm, acc, hits, rate);
		}
	}
	if (!t->nrows)
		printf("(no hits while the line was watched)\n");
	/*
	 * Each word was armed for part of the run only: a rate per word and thread,
	 * summed over the line (read-write windows also see the writes: the larger).
	 */
	double line_rate = 0;
	for (size_t i = 0; i < t->nrows; i++) {
		double best = 0;
		for (int m = 0; m < 2; m++) {
			double ns = (double)st->word_ns[t->rows[i].word][m];
			if (ns > 0 && (double)t->rows[i].hits[m] * 1e9 / ns > best)
				best = (double)t->rows[i].hits[m] * 1e9 / ns;
		}
		line_rate += best;
	}
	char rate_s[32], est_s[32];
	cli_format_count(line_rate, rate_s, sizeof(rate_s));
	cli_format_count(line_rate * run_s, est_s, sizeof(est_s));
	printf("estimated hit rate: %s hits/s on the line while armed (~%s over the run; every hit "
	       "traps, so an unwatched run is faster)\n", rate_s, est_s);

	/* Code locations, symbolized against the process's maps as they were while it ran. */
	if (t->nlocs)
		qsort(t->locs, t->nlocs, sizeof(*t->locs), cmp_loc);
	struct proc_model *pm = t->pm;
	struct sym_cache *sc = NULL;
	char err[256];
	char cache_dir[PATH_MAX];
	if (t->nlocs && sym_cache_new(&sc, err, sizeof(err)) == 0 &&
	    sym_cache_set_debug_dir(sc, cli_cache_dir(cache_dir, sizeof(cache_dir))) < 0) {
		sym_cache_free(sc);
		sc = NULL;
	}
	printf("\n%12s %-5s %-6s %-18s %s\n", "hits", "word", "access", "ip", "location");
	for (size_t i = 0; i < t->nlocs && i < 20; i++) {
		const struct loc_row *l = &t->locs[i];
		char where[512] = "?";
		struct proc_map *m = pm ? proc_find_map(pm, (pid_t)l->pid, l->ip) : NULL;
		if (!m && pm)
			m = proc_find_map(pm, pid, l->ip); /* a forked child runs the same binary */
		struct sym_result sr;
		if (m && sc && sym_lookup_file(sc, m->filename, m->build_id[0] ? m->build_id : NULL,
					       l->ip - m->start + m->pgoff, &sr) == 0 && sr.function) {
			int n = snprintf(where, sizeof(where), "%s+0x%llx", sr.function,
					 (unsigned long long)(sr.elf_vaddr - sr.func_start));
			if (sr.file && n > 0 && (size_t)n < sizeof(where))
				snprintf(where + n, sizeof(where) - (size_t)n, " (%s:%d)", sr.file, sr.line);
		} else if (m) {
			snprintf(where, sizeof(where), "%s+0x%llx", m->filename,
				 (unsigned long long)(l->ip - m->start + m->pgoff));
		}
		char hits[32];
		cli_format_count((double)l->hits, hits, sizeof(hits));
		printf("%12s %-5d %-6s 0x%-16llx %s\n", hits, l->word, l->rw ? "rw" : "write",
		       (unsigned long long)l->ip, where);
	}
	if (sc)
		sym_cache_free(sc);
	printf("\nverdict: %s\n", verdict(t));
	fflush(stdout);
}

/* --- c2c watch ------------------------------------------------------------------- */

static void watch_usage(FILE *f)
{
	fprintf(f,
		"usage: pmuprof c2c watch (--symbol NAME[+OFF] | --addr ADDR) [--len 64] [--rw]\n"
		"                         [--duty PCT] [--window MS] (-- CMD [ARGS] | -p PID [--duration S])\n"
		"  Hardware watchpoints on the 8-byte words of a cache line, four words at a time,\n"
		"  armed PCT %% of every window (default 3 %% of 100 ms); prints hits per word and\n"
		"  thread, code locations and the verdict (false sharing, true sharing, none).\n"
		"  --symbol needs the symbol table of a non-PIE executable (build with -no-pie),\n"
		"  or -p PID for a running PIE. --rw: also read-write windows (tells reads from\n"
		"  writes). --reopen: rotate by reopening the watchpoints (what happens where the\n"
		"  kernel cannot modify inherited ones; misses processes the command forked).\n");
}

static int parse_watch(int argc, char **argv, struct watch_opts *o)
{
	static const struct option longs[] = {
		{"symbol", required_argument, NULL, 's'}, {"addr", required_argument, NULL, 'a'},
		{"len", required_argument, NULL, 'l'},    {"rw", no_argument, NULL, 'r'},
		{"duty", required_argument, NULL, 'd'},   {"window", required_argument, NULL, 'w'},
		{"pid", required_argument, NULL, 'p'},    {"duration", required_argument, NULL, 'D'},
		{"reopen", no_argument, NULL, 'R'},       {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	/* 3 ms armed every 100 ms: the slowdown stays under 10 % with a margin. */
	*o = (struct watch_opts){.len = 64, .duty = 3, .period_ms = 100};
	optind = 1;
	opterr = 0; /* our own one-line messages */
	int c;
	char *end;
	while ((c = getopt_long(argc, argv, "+p:h", longs, NULL)) != -1) {
		switch (c) {
		case 's': o->symbol = optarg; break;
		case 'a': o->addr_str = optarg; break;
		case 'p': o->pid_str = optarg; break;
		case 'r': o->rw = true; break;
		case 'R': o->reopen = true; break;
		case 'l': {
			unsigned long v = strtoul(optarg, &end, 0);
			if (*end || v == 0 || v % 8 || v > 8 * SMP_WATCH_MAX_WORDS) {
				cli_error(CMD, "--len %s: expected a multiple of 8 from 8 to %d", optarg,
					  8 * SMP_WATCH_MAX_WORDS);
				return 2;
			}
			o->len = (uint32_t)v;
			break;
		}
		case 'd':
			o->duty = strtod(optarg, &end);
			if (*end || !(o->duty > 0) || o->duty > 100) {
				cli_error(CMD, "--duty %s: expected a percentage in (0, 100]", optarg);
				return 2;
			}
			break;
		case 'w': {
			unsigned long v = strtoul(optarg, &end, 0);
			if (*end || v < 2 || v > 10000) {
				cli_error(CMD, "--window %s: expected milliseconds from 2 to 10000", optarg);
				return 2;
			}
			o->period_ms = (unsigned)v;
			break;
		}
		case 'D':
			if (cli_parse_seconds(CMD, "--duration", optarg, &o->duration) < 0)
				return 2;
			break;
		case 'h': watch_usage(stdout); return 0;
		default:
			if (optopt && strchr("saldwpD", optopt) && optind > 0)
				cli_error(CMD, "option %s needs a value (see pmuprof c2c watch --help)",
					  argv[optind - 1]);
			else
				cli_option_error(CMD, argv, "");
			return 2;
		}
	}
	o->cmd = argv + optind;
	if (!o->symbol == !o->addr_str) {
		cli_error(CMD, "give exactly one of --symbol NAME[+OFF] and --addr ADDR");
		return 2;
	}
	if (!*o->cmd == !o->pid_str) {
		cli_error(CMD, "give a command after -- or -p PID (not both)");
		return 2;
	}
	return -1;
}

static int cmd_watch(int argc, char **argv)
{
	struct watch_opts o;
	int st = parse_watch(argc, argv, &o);
	if (st >= 0)
		return st;
	char err[512], exe[PATH_MAX];
	struct cli_child child = {.pid = -1, .go_fd = -1, .err_fd = -1};
	pid_t pid = -1;
	if (o.pid_str) {
		char *end;
		long v = strtol(o.pid_str, &end, 10);
		if (*end || v <= 0) {
			cli_error(CMD, "malformed -p '%s'; expected one process id", o.pid_str);
			return 2;
		}
		pid = (pid_t)v;
		snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)pid);
	} else if (o.symbol && find_exe(o.cmd[0], exe, sizeof(exe)) < 0) {
		cli_error(CMD, "cannot find '%s' in PATH", o.cmd[0]);
		return 127;
	}
	uint64_t addr = 0;
	if (resolve_addr(&o, exe, o.pid_str ? pid : -1, &addr, err, sizeof(err)) < 0) {
		cli_error(CMD, "%s", err);
		return 2;
	}
	uint64_t base = addr & ~(uint64_t)7; /* watchpoints cover aligned words */
	if (!o.pid_str) {
		if (cli_child_prepare(&child, o.cmd, err, sizeof(err)) < 0) {
			cli_error(CMD, "%s", err);
			return 1;
		}
		pid = child.pid;
	}
	struct smp_watch_options wo = {
		.addr = base, .len = o.len, .rw = o.rw, .pid = pid, .enable_on_exec = !o.pid_str,
		.reopen = o.reopen,
	};
	struct smp_watch *w = NULL;
	if (smp_watch_open(&w, &wo, err, sizeof(err)) < 0) {
		cli_error(CMD, "%s", err);
		cli_child_abandon(&child);
		return 1;
	}
	cli_signals_install(o.pid_str ? 0 : pid);
	double t0 = cli_mono_s();
	if (!o.pid_str) {
		int e = cli_child_go(&child);
		if (e < 0) {
			cli_error(CMD, "cannot run '%s': %s", o.cmd[0], strerror(-e));
			smp_watch_close(w);
			int ignored;
			struct rusage ru;
			cli_child_wait(pid, &ignored, &ru);
			return 127;
		}
	}
	/* A pidfd wakes the pacing loop the moment the process ends. */
	int pidfd = cli_pidfd(pid);
	double armed_ms = o.period_ms * o.duty / 100.0;
	double off_ms = o.period_ms - armed_ms;
	struct tally t = {0};
	if (proc_model_new(&t.pm) < 0)
		t.pm = NULL; /* locations then stay unsymbolized */
	int status = 0, ret = 0;
	bool armed = false, done = false, exited = false;
	while (!done && ret == 0) {
		if (!armed)
			ret = smp_watch_arm(w, err, sizeof(err));
		else
			ret = smp_watch_disarm(w, on_hit, &t, err, sizeof(err));
		if (ret < 0)
			break;
		if (armed && t.nlocs > t.synced_locs && t.pm) {
			/* New code addresses: read the maps now, while the process still exists. */
			proc_synthesize(t.pm, pid);
			t.synced_locs = t.nlocs;
		}
		armed = !armed;
		if (cli_nap(pidfd, armed ? armed_ms : off_ms)) /* -p: not our child, so no wait4 */
			exited = true;
		if (!o.pid_str) {
			if (cli_child_poll(pid, &status) == 1)
				done = true;
		} else {
			if (exited || (kill(pid, 0) < 0 && errno == ESRCH))
				done = true;
			if (cli_signals_pending() ||
			    (o.duration > 0 && cli_mono_s() - t0 >= o.duration))
				done = true;
		}
	}
	double run_s = cli_mono_s() - t0;
	if (ret == -ESRCH)
		ret = 0; /* the process ended while the words were being moved */
	if (ret == 0)
		ret = smp_watch_disarm(w, on_hit, &t, err, sizeof(err));
	if (ret == -ESRCH)
		ret = 0;
	if (ret < 0)
		cli_error(CMD, "%s", err);
	struct smp_watch_stats ws;
	smp_watch_get_stats(w, &ws);
	if (!o.pid_str && !done) {
		struct rusage ru;
		cli_child_wait(pid, &status, &ru);
	}
	char what[600];
	if (o.symbol)
		snprintf(what, sizeof(what), "%s", o.symbol);
	else
		snprintf(what, sizeof(what), "%s", o.addr_str);
	print_report(&t, &o, what, base, pid, &ws, run_s, armed_ms);
	if (ws.lost)
		cli_error(CMD, "%llu hits were lost (ring full): rates are underestimated; "
			  "lower --duty", (unsigned long long)ws.lost);
	smp_watch_close(w);
	if (pidfd >= 0)
		close(pidfd);
	free(t.rows);
	free(t.locs);
	if (t.pm)
		proc_model_free(t.pm);
	if (ret < 0)
		return 1;
	return o.pid_str ? 0 : status;
}

int cmd_c2c(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		FILE *f = argc < 2 ? stderr : stdout;
		fprintf(f, "usage: pmuprof c2c record [-o perf.data] ... (pmuprof c2c record --help)\n"
			   "       pmuprof c2c report [-i perf.data] ... (pmuprof c2c report --help)\n"
			   "       pmuprof c2c watch ...                 (pmuprof c2c watch --help)\n");
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "watch") == 0)
		return cmd_watch(argc - 1, argv + 1);
	if (strcmp(argv[1], "report") == 0)
		return cmd_c2c_report(argc - 1, argv + 1);
	if (strcmp(argv[1], "record") == 0)
		return cmd_c2c_record(argc - 1, argv + 1);
	cli_error("c2c", "unknown subcommand '%s'; try pmuprof c2c record|report|watch --help",
		  argv[1]);
	return 2;
}
