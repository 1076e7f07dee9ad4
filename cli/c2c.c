/*
 * pmuprof c2c: cache-line sharing analysis. Owns the "c2c" dispatcher and
 * "c2c watch": running the command stopped until the watched line is known
 * (--symbol is looked up in the process once it has exec'd, by
 * c2c/c2c_resolve.c), the probe that watchpoints fire here at all, pacing
 * the watchpoint windows of sampler/watch.c (duty cycle) and printing the
 * tally and verdict of c2c/c2c.c.
 */
#include "cli.h"
#include "engine.h"
#include "sampler.h"
#include "symbols.h"

#include <errno.h>
#include <fcntl.h>
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
	bool dry_run;       /* resolve and print the address, run the command unwatched */
	double duty;       /* percent of each window period that is armed */
	unsigned period_ms; /* window period */
	double duration;    /* -p: seconds, 0 = until the process exits or Ctrl-C */
	char **cmd;
};

struct tally {
	struct c2c_watch_tally w;
	struct proc_model *pm; /* maps read while the process runs, for symbolizing */
	struct sym_cache *sc;  /* NULL: locations stay unsymbolized */
	size_t synced_locs;    /* w.nlocs when the maps were last read */
};

static void read_comm(uint32_t pid, uint32_t tid, char *out, size_t len)
{
	if (base_proc_comm((pid_t)pid, (pid_t)tid, out, len) < 0 || !out[0])
		snprintf(out, len, "?");
}

static int on_hit(void *arg, const struct smp_watch_hit *h)
{
	struct tally *t = arg;
	struct c2c_watch_row *r = c2c_watch_add(&t->w, h);
	if (!r)
		return -ENOMEM;
	/* Named on its first hit: the drain follows the window, so the thread is most likely alive. */
	if (!r->comm[0])
		read_comm(h->pid, h->tid, r->comm, sizeof(r->comm));
	return 0;
}

/* --- the watched address ----------------------------------------------------- */

/* --addr's value, or NAME and OFF of --symbol NAME[+OFF]. */
static int parse_target(const struct watch_opts *o, uint64_t *addr, char *name, size_t namelen,
			char *err, size_t errlen)
{
	char *end;
	errno = 0;
	if (o->addr_str) {
		*addr = strtoull(o->addr_str, &end, 0);
		if (errno || *end || end == o->addr_str)
			return base_fail(err, errlen, -EINVAL,
					 "malformed --addr '%s'; expected e.g. 0x404040",
					 o->addr_str);
		return 0;
	}
	snprintf(name, namelen, "%s", o->symbol);
	*addr = 0;
	char *plus = strchr(name, '+');
	if (plus) {
		*plus = 0;
		*addr = strtoull(plus + 1, &end, 0);
		if (errno || *end || end == plus + 1 || !*name)
			return base_fail(err, errlen, -EINVAL,
					 "malformed --symbol '%s'; expected NAME[+OFF]", o->symbol);
	}
	return 0;
}

/*
 * NAME's address in process pid as it is now, plus *addr (the +OFF) on
 * entry. 0, -ENOENT when no file the process maps has it (err says so), or
 * -errno.
 */
static int symbol_address(struct c2c_resolver *res, struct proc_model *pm, pid_t pid,
			  const char *name, uint64_t *addr, const char **file, char *err,
			  size_t errlen)
{
	uint64_t at = 0;
	int ret = c2c_symbol_address(res, pid, name, &at, NULL, file);
	if (ret == -ENOENT) {
		const char *exe = proc_exe(pm, pid);
		return base_fail(err, errlen, ret,
				 "no symbol '%s' in %s or the libraries it loaded (a "
				 "global or static variable; is the binary stripped?)",
				 name, exe ? exe : "the program");
	}
	if (ret < 0)
		return base_fail(err, errlen, ret, "cannot read process %d's mappings: %s",
				 (int)pid, strerror(-ret));
	*addr += at;
	return 0;
}

/*
 * NAME in a command stopped at its exec (the program and the loader are
 * mapped), else run on to its entry point (the libraries it links are mapped
 * too). It stays stopped for the watchpoints.
 */
static int symbol_in_child(struct cli_child *child, struct c2c_resolver *res,
			   struct proc_model *pm, const char *name, uint64_t *addr,
			   const char **file, char *err, size_t errlen)
{
	uint64_t off = *addr;
	int ret = symbol_address(res, pm, child->pid, name, addr, file, err, errlen);
	if (ret != -ENOENT)
		return ret;
	*addr = off;
	ret = cli_child_run_to_entry(child);
	if (ret == -ENOTSUP)
		return base_fail(err, errlen, -ENOENT,
				 "no symbol '%s' in the program (on this "
				 "architecture symbols of shared libraries are not looked up; use "
				 "--addr or -p PID)",
				 name);
	if (ret < 0)
		return base_fail(err, errlen, ret, "the command ended before its entry point (%s)",
				 strerror(-ret));
	return symbol_address(res, pm, child->pid, name, addr, file, err, errlen);
}

/* --- the report ------------------------------------------------------------------ */

static int cmp_loc(const void *a, const void *b)
{
	const struct c2c_watch_loc *x = a, *y = b;
	return x->hits < y->hits ? 1 : x->hits > y->hits ? -1 : 0;
}

static int cmp_row(const void *a, const void *b)
{
	const struct c2c_watch_row *x = a, *y = b;
	if (x->word != y->word)
		return x->word - y->word;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static int print_report(struct tally *tl, const struct watch_opts *o, const char *what,
			uint64_t addr, pid_t pid, const struct smp_watch_stats *st,
			const struct smp_watch_probe *pr, double run_s, double armed_ms)
{
	struct c2c_watch_tally *t = &tl->w;
	int nwords = (int)(o->len / 8);
	printf("\nc2c watch: %s = 0x%llx, %u bytes (%d words), %s watchpoints, process %d\n", what,
	       (unsigned long long)addr, o->len, nwords, o->rw ? "write and read-write" : "write",
	       (int)pid);
	bool rotates = nwords > st->slots || o->rw;
	printf("watched %.3f s of %.3f s (duty %.1f %%: %.1f ms every %u ms, %d word%s at a time, "
	       "%s); %llu windows, %llu hits, %llu lost\n",
	       (double)st->armed_ns / 1e9, run_s, o->duty, armed_ms, o->period_ms,
	       st->slots, st->slots == 1 ? "" : "s",
	       !rotates ? "no rotation" : st->modify ? "rotated by modify" : "rotated by reopen",
	       (unsigned long long)st->windows,
	       (unsigned long long)st->hits, (unsigned long long)st->lost);
	if (pr->slots < SMP_WATCH_SLOTS && nwords > 1)
		printf("one word at a time: here a hit is also reported on another watched word (the "
		       "probe's two words, written %llu times each in turn, counted %llu and %llu "
		       "hits; QEMU's TCG does this), which would name words never written\n",
		       (unsigned long long)pr->pair_writes, (unsigned long long)pr->pair_hits[0],
		       (unsigned long long)pr->pair_hits[1]);
	if (t->nrows) /* qsort's base must not be NULL, even for no elements */
		qsort(t->rows, t->nrows, sizeof(*t->rows), cmp_row);
	printf("\n%-5s %-7s %-8s %-16s %-6s %12s %14s\n", "word", "offset", "tid", "comm", "access",
	       "hits", "hits/s armed");
	for (size_t i = 0; i < t->nrows; i++) {
		const struct c2c_watch_row *r = &t->rows[i];
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
	struct proc_model *pm = tl->pm;
	struct sym_cache *sc = tl->sc;
	printf("\n%12s %-5s %-6s %-18s %s\n", "hits", "word", "access", "ip", "location");
	for (size_t i = 0; i < t->nlocs && i < 20; i++) {
		const struct c2c_watch_loc *l = &t->locs[i];
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
	const char *v;
	if (c2c_watch_verdict(t, &v) < 0) {
		fflush(stdout);
		cli_error(CMD, "out of memory drawing the verdict");
		return -ENOMEM;
	}
	if (v)
		printf("\nverdict: %s\n", v);
	else
		printf("\nno verdict: no access to the line was observed (the program did not touch "
		       "it while it was armed, %.1f %% of the time: run longer or raise --duty; or "
		       "the address is not the one the program uses; kernel accesses are not "
		       "watched)\n", o->duty);
	fflush(stdout);
	return 0;
}

/* --- c2c watch ------------------------------------------------------------------- */

static void watch_usage(FILE *f)
{
	fprintf(f,
		"usage: pmuprof c2c watch (--symbol NAME[+OFF] | --addr ADDR) [--len 64] [--rw]\n"
		"                         [--duty PCT] [--window MS] [--dry-run]\n"
		"                         (-- CMD [ARGS] | -p PID [--duration S])\n"
		"  Hardware watchpoints on the 8-byte words of a cache line, four words at a time,\n"
		"  armed PCT %% of every window (default 3 %% of 100 ms); prints hits per word and\n"
		"  thread, code locations and the verdict (false, true, true+false sharing, none).\n"
		"  --symbol: a global or static variable of the program or a library it links,\n"
		"  placed where the process loaded it (PIE too; needs the symbol table). A probe\n"
		"  first checks that watchpoints fire on this host (and watches one word at a time\n"
		"  where a hit is also reported on another word); no hit at all gives no verdict.\n"
		"  --rw: also read-write windows (tells reads from writes). --reopen: rotate by\n"
		"  reopening the watchpoints (what happens where the kernel cannot modify inherited\n"
		"  ones; misses processes the command forked). --dry-run: print the address the\n"
		"  symbol resolves to and run the command unwatched.\n");
}

static int parse_watch(int argc, char **argv, struct watch_opts *o)
{
	static const struct option longs[] = {
		{"symbol", required_argument, NULL, 's'}, {"addr", required_argument, NULL, 'a'},
		{"len", required_argument, NULL, 'l'},    {"rw", no_argument, NULL, 'r'},
		{"duty", required_argument, NULL, 'd'},   {"window", required_argument, NULL, 'w'},
		{"pid", required_argument, NULL, 'p'},    {"duration", required_argument, NULL, 'D'},
		{"reopen", no_argument, NULL, 'R'},       {"help", no_argument, NULL, 'h'},
		{"dry-run", no_argument, NULL, 'n'},
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
		case 'n': o->dry_run = true; break;
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

/* Frees what cmd_watch made; status passes through. */
static int watch_done(int status, struct cli_child *child, struct tally *t,
		      struct c2c_resolver *res)
{
	cli_child_abandon(child);
	c2c_watch_tally_free(&t->w);
	c2c_resolver_free(res);
	sym_cache_free(t->sc);
	proc_model_free(t->pm);
	return status;
}

static int cmd_watch(int argc, char **argv)
{
	struct watch_opts o;
	int st = parse_watch(argc, argv, &o);
	if (st >= 0)
		return st;
	char err[512], name[512] = "";
	uint64_t addr = 0;
	pid_t pid = -1;
	if (parse_target(&o, &addr, name, sizeof(name), err, sizeof(err)) < 0) {
		cli_error(CMD, "%s", err);
		return 2;
	}
	if (o.pid_str) {
		char *end;
		long v = strtol(o.pid_str, &end, 10);
		if (*end || v <= 0) {
			cli_error(CMD, "malformed -p '%s'; expected one process id", o.pid_str);
			return 2;
		}
		pid = (pid_t)v;
	}
	/* Zero hits from watchpoints that cannot fire would read as "no sharing": probe first. */
	struct smp_watch_probe probe = {.slots = SMP_WATCH_SLOTS};
	if (!o.dry_run && smp_watch_probe(&probe, err, sizeof(err)) < 0) {
		cli_error(CMD, "%s", err);
		return 1;
	}
	struct cli_child child = {.pid = -1, .go_fd = -1, .err_fd = -1};
	struct tally t = {0};
	struct c2c_resolver *res = NULL;
	char cache_dir[PATH_MAX];
	if (proc_model_new(&t.pm) < 0 || sym_cache_new(&t.sc, err, sizeof(err)) < 0 ||
	    sym_cache_set_debug_dir(t.sc, cli_cache_dir(cache_dir, sizeof(cache_dir))) < 0 ||
	    c2c_resolver_new(&res, t.pm, t.sc) < 0) {
		cli_error(CMD, "out of memory");
		return watch_done(1, &child, &t, res);
	}
	if (!o.pid_str) {
		if (cli_child_prepare(&child, o.cmd, err, sizeof(err)) < 0) {
			cli_error(CMD, "%s", err);
			return watch_done(1, &child, &t, res);
		}
		pid = child.pid;
	}
	const char *file = NULL;
	if (o.symbol && !o.pid_str) {
		/* Stopped at its exec: a PIE's and the libraries' addresses exist only from then on. */
		int e = cli_child_go_stopped(&child);
		if (e < 0 && !child.traced) {
			cli_error(CMD, "cannot start the command stopped under ptrace: %s (is "
				  "kernel.yama.ptrace_scope 3?); use --addr or -p PID", strerror(-e));
			return watch_done(1, &child, &t, res);
		}
		if (e < 0) {
			cli_error(CMD, "cannot run '%s': %s", o.cmd[0], strerror(-e));
			return watch_done(e == -ENOENT ? 127 : 126, &child, &t, res);
		}
		if (symbol_in_child(&child, res, t.pm, name, &addr, &file, err, sizeof(err)) < 0) {
			cli_error(CMD, "%s", err);
			return watch_done(2, &child, &t, res);
		}
	} else if (o.symbol &&
		   symbol_address(res, t.pm, pid, name, &addr, &file, err, sizeof(err)) < 0) {
		cli_error(CMD, "%s", err);
		return watch_done(2, &child, &t, res);
	}
	const char *what = o.symbol ? o.symbol : o.addr_str;
	if (o.dry_run) {
		printf("c2c watch: %s = 0x%llx%s%s, process %d: dry run, not watched\n", what,
		       (unsigned long long)addr, file ? " in " : "", file ? file : "", (int)pid);
		fflush(stdout);
		if (o.pid_str)
			return watch_done(0, &child, &t, res);
		int e = child.traced ? cli_child_release(&child) : cli_child_go(&child);
		struct rusage ru;
		if (e < 0 || cli_child_wait(pid, &st, &ru) < 0) {
			cli_error(CMD, "cannot run '%s': %s", o.cmd[0], strerror(e < 0 ? -e : errno));
			return watch_done(127, &child, &t, res);
		}
		child.pid = -1;
		return watch_done(st, &child, &t, res);
	}
	uint64_t base = addr & ~(uint64_t)7; /* watchpoints cover aligned words */
	struct smp_watch_options wo = {
		.addr = base, .len = o.len, .rw = o.rw, .pid = pid,
		.enable_on_exec = !o.pid_str && !child.traced, .reopen = o.reopen,
		.slots = probe.slots,
	};
	struct smp_watch *w = NULL;
	if (smp_watch_open(&w, &wo, err, sizeof(err)) < 0) {
		cli_error(CMD, "%s", err);
		return watch_done(1, &child, &t, res);
	}
	cli_signals_install(o.pid_str ? 0 : pid);
	double t0 = cli_mono_s();
	if (!o.pid_str) {
		int e = child.traced ? cli_child_release(&child) : cli_child_go(&child);
		if (e < 0) {
			cli_error(CMD, "cannot run '%s': %s", o.cmd[0], strerror(-e));
			smp_watch_close(w);
			return watch_done(127, &child, &t, res);
		}
	}
	/* A pidfd wakes the pacing loop the moment the process ends. */
	int pidfd = cli_pidfd(pid);
	double armed_ms = o.period_ms * o.duty / 100.0;
	double off_ms = o.period_ms - armed_ms;
	int status = 0, ret = 0;
	bool armed = false, done = false, exited = false;
	while (!done && ret == 0) {
		if (!armed)
			ret = smp_watch_arm(w, err, sizeof(err));
		else
			ret = smp_watch_disarm(w, on_hit, &t, err, sizeof(err));
		if (ret < 0)
			break;
		if (armed && t.w.nlocs > t.synced_locs) {
			/* New code addresses: read the maps now, while the process still exists. */
			proc_synthesize(t.pm, pid, false);
			t.synced_locs = t.w.nlocs;
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
	child.pid = -1; /* reaped */
	if (print_report(&t, &o, what, base, pid, &ws, &probe, run_s, armed_ms) < 0)
		ret = -ENOMEM;
	if (ws.lost)
		cli_error(CMD, "%llu hits were lost (ring full): rates are underestimated; "
			  "lower --duty", (unsigned long long)ws.lost);
	smp_watch_close(w);
	if (pidfd >= 0)
		close(pidfd);
	if (ret < 0)
		return watch_done(1, &child, &t, res);
	return watch_done(o.pid_str ? 0 : status, &child, &t, res);
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
