/*
 * report: a profile with a known distribution (main calls chase and
 * branchy; chase takes 600 cycles and 90 cache misses, branchy 300 and 5)
 * printed as tables; checks order, children and self shares, --no-children,
 * the value columns, the cache-misses per 1k cycles ratio, -e, --sort keys,
 * --top, inline frames and errors; human units and [k] markers; filters
 * and -g's trees.
 * Then a profile with sample types that have no samples (numa record's
 * tracepoints that never fired): one line names them, no table and no
 * ratio column for them, with and without --sort.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profile.h"

struct fixture {
	char dir[128];
	char path[192];
	char *out; /* the last report */
	size_t outlen;
};

static const struct pprof_value_type types3[] = {
	{ "samples", "count" },
	{ "cycles", "count" },
	{ "cache-misses", "count" },
};

static void write_profile(const char *path, bool inline_frames)
{
	char err[256] = "";
	struct pprof *p;
	assert_int_equal(pprof_new(&p, types3, 3, err, sizeof(err)), 0);
	struct pprof_mapping_desc exe = { .start = 0x400000, .limit = 0x500000,
					  .filename = "/opt/bench/chase", .build_id = "abcd",
					  .has_functions = true };
	struct pprof_mapping_desc lib = { .start = 0x7f0000000000, .limit = 0x7f0000100000,
					  .filename = "/usr/lib/libbranchy.so",
					  .has_functions = true };
	uint64_t m_exe = pprof_add_mapping(p, &exe), m_lib = pprof_add_mapping(p, &lib);
	uint64_t f_main = pprof_add_function(p, "main", NULL, "/src/main.c", 1);
	uint64_t f_chase = pprof_add_function(p, "chase", NULL, "/src/chase.c", 10);
	uint64_t f_branchy = pprof_add_function(p, "branchy", NULL, "/src/branchy.c", 20);
	uint64_t f_load = pprof_add_function(p, "load_next", NULL, "/src/chase.c", 3);
	struct pprof_line l_main = { f_main, 5 }, l_branchy = { f_branchy, 22 };
	struct pprof_line l_chase[] = { { f_load, 4 }, { f_chase, 12 } };
	uint64_t loc_main = pprof_add_location(p, m_exe, 0x400100, &l_main, 1);
	uint64_t loc_chase = inline_frames ? pprof_add_location(p, m_exe, 0x400200, l_chase, 2)
					   : pprof_add_location(p, m_exe, 0x400200, &l_chase[1], 1);
	uint64_t loc_branchy = pprof_add_location(p, m_lib, 0x7f0000000300, &l_branchy, 1);
	uint64_t st_chase[] = { loc_chase, loc_main }, st_branchy[] = { loc_branchy, loc_main };
	struct pprof_label comm_a = { .key = "comm", .str = "chase" };
	struct pprof_label comm_b = { .key = "comm", .str = "worker" };
	/* Added one period at a time, as the aggregator would. */
	for (int i = 0; i < 6; i++) {
		int64_t v[] = { 1, 100, 15 };
		assert_int_equal(pprof_add_sample(p, st_chase, 2, v, &comm_a, 1), 0);
	}
	for (int i = 0; i < 3; i++) {
		int64_t v[] = { 1, 100, i == 0 ? 5 : 0 };
		assert_int_equal(pprof_add_sample(p, st_branchy, 2, v, i ? &comm_a : &comm_b, 1),
				 0);
	}
	pprof_set_period(p, "cycles", "count", 100);
	pprof_set_default_sample_type(p, "cycles");
	assert_int_equal(pprof_add_comment(p, "pmuprof record -e cycles,cache-misses -- ./chase"),
			 0);
	assert_int_equal(pprof_add_comment(p, "lost 0 samples"), 0);
	assert_int_equal(pprof_write(p, path, NULL, err, sizeof(err)), 0);
	pprof_free(p);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/pmuprof-test-report-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/profile.pb.gz", f->dir);
	write_profile(f->path, false);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	unlink(f->path);
	rmdir(f->dir);
	free(f->out);
	free(f);
	return 0;
}

/* Runs the report with these options into f->out; returns pprof_report_print's result. */
static int report_opts(struct fixture *f, const struct pprof_report_opts *o, char *err,
		       size_t errlen)
{
	free(f->out);
	f->out = NULL;
	FILE *mem = open_memstream(&f->out, &f->outlen);
	assert_non_null(mem);
	int rc = pprof_report_print(f->path, o, mem, err, errlen);
	assert_int_equal(fclose(mem), 0);
	return rc;
}

static int report(struct fixture *f, const char *type, const char *sort, int top, char *err,
		  size_t errlen)
{
	struct pprof_report_opts o = {.sample_type = type, .sort = sort, .top = top};
	return report_opts(f, &o, err, errlen);
}

/* The table of one sample type: from its header to the next table. */
static const char *table(const char *out, const char *type, char *buf, size_t buflen)
{
	char head[128];
	snprintf(head, sizeof(head), "# Samples of '%s'", type);
	const char *s = strstr(out, head);
	if (!s)
		return NULL;
	const char *e = strstr(s + 1, "# Samples of '");
	size_t n = e ? (size_t)(e - s) : strlen(s);
	assert_true(n < buflen);
	memcpy(buf, s, n);
	buf[n] = '\0';
	return buf;
}

/*
 * The data row whose last nkeys columns are key (its columns joined by single spaces, the
 * [.] marker a column of its own): its first columns joined the same way into lead, and
 * its position in the table. -1 if there is none.
 */
static int find_row(const char *tab, const char *key, size_t nkeys, char *lead, size_t len)
{
	char *copy = strdup(tab);
	assert_non_null(copy);
	int line = 0, found = -1;
	char *save = NULL;
	for (char *l = strtok_r(copy, "\n", &save); l && found < 0;
	     l = strtok_r(NULL, "\n", &save)) {
		if (l[0] == '#')
			continue;
		line++;
		char *tok[24];
		size_t n = 0;
		char *s2 = NULL;
		for (char *t = strtok_r(l, " ", &s2); t && n < 24; t = strtok_r(NULL, " ", &s2))
			tok[n++] = t;
		if (n <= nkeys)
			continue;
		char joined[256] = "";
		for (size_t i = n - nkeys; i < n; i++)
			snprintf(joined + strlen(joined), sizeof(joined) - strlen(joined), "%s%s",
				 i > n - nkeys ? " " : "", tok[i]);
		if (strcmp(joined, key) != 0)
			continue;
		lead[0] = '\0';
		for (size_t i = 0; i < n - nkeys; i++)
			snprintf(lead + strlen(lead), len - strlen(lead), "%s%s", i ? " " : "",
				 tok[i]);
		found = line;
	}
	free(copy);
	return found;
}

/* The row of key (nkeys columns) starts with the columns want; returns its position. */
static int expect_row(const char *tab, const char *key, size_t nkeys, const char *want)
{
	char lead[256];
	int line = find_row(tab, key, nkeys, lead, sizeof(lead));
	if (line < 0)
		fail_msg("no row '%s' in:\n%s", key, tab);
	if (strncmp(lead, want, strlen(want)) != 0)
		fail_msg("row '%s': '%s', want '%s...' in:\n%s", key, lead, want, tab);
	return line;
}

/* With call graphs, perf's default: Children and Self, sorted by children; [.] markers. */
static void test_default(void **state)
{
	struct fixture *f = *state;
	char err[512] = "";
	char tab[8192];
	if (report(f, NULL, NULL, 0, err, sizeof(err)) != 0)
		fail_msg("report: %s", err);
	const char *out = f->out;

	/* Comments once, at the top; no table for the plain sample count. */
	assert_non_null(strstr(out, "# pmuprof record -e cycles,cache-misses -- ./chase\n"));
	assert_non_null(strstr(out, "# lost 0 samples\n"));
	assert_true(strstr(out, "# lost 0 samples") < strstr(out, "# Samples of"));
	assert_null(strstr(strstr(out, "# lost") + 1, "# lost"));
	assert_null(strstr(out, "# Samples of 'samples'"));

	/* One value column per event, and cache-misses per 1k of the first event, cycles. */
	assert_non_null(table(out, "cycles", tab, sizeof(tab)));
	assert_non_null(strstr(tab, "# Samples of 'cycles' (unit count): total 900, period 100\n"));
	assert_non_null(strstr(tab, "# Children      Self  cycles  cache-misses  "
				    "cache-misses/1k cycles  sym\n"));
	int mainr = expect_row(tab, "[.] main", 2, "100.00% 0.00% 900 95 105.6");
	int chase = expect_row(tab, "[.] chase", 2, "66.67% 66.67% 600 90 150.0");
	int branchy = expect_row(tab, "[.] branchy", 2, "33.33% 33.33% 300 5 16.7");
	assert_true(mainr < chase && chase < branchy);

	assert_non_null(table(out, "cache-misses", tab, sizeof(tab)));
	assert_non_null(strstr(tab, "# Samples of 'cache-misses' (unit count): total 95\n"));
	assert_non_null(strstr(tab, "cache-misses/1k cycles"));
	mainr = expect_row(tab, "[.] main", 2, "100.00% 0.00% 900 95 105.6");
	chase = expect_row(tab, "[.] chase", 2, "94.74% 94.74% 600 90 150.0");
	branchy = expect_row(tab, "[.] branchy", 2, "5.26% 5.26% 300 5 16.7");
	assert_true(mainr < chase && chase < branchy);
}

/* --no-children: one Overhead column, the self values, and no row for main (no self). */
static void test_no_children(void **state)
{
	struct fixture *f = *state;
	char err[512] = "";
	char tab[8192], lead[256];
	struct pprof_report_opts o = {.sample_type = "cycles", .children = -1};
	assert_int_equal(report_opts(f, &o, err, sizeof(err)), 0);
	assert_non_null(table(f->out, "cycles", tab, sizeof(tab)));
	assert_non_null(strstr(tab, "# Overhead  cycles  cache-misses  cache-misses/1k cycles  "
				    "sym\n# ........  ......"));
	assert_null(strstr(tab, "Children"));
	expect_row(tab, "[.] chase", 2, "66.67% 600 90 150.0");
	expect_row(tab, "[.] branchy", 2, "33.33% 300 5 16.7");
	assert_int_equal(find_row(tab, "[.] main", 2, lead, sizeof(lead)), -1);

	/* --children without call graphs is asked for, so it is given. */
	o.children = 1;
	o.sort = "comm";
	assert_int_equal(report_opts(f, &o, err, sizeof(err)), 0);
	assert_non_null(strstr(f->out, "# Overhead  cycles"));
}

static void test_sample_type(void **state)
{
	struct fixture *f = *state;
	char err[512] = "";
	char tab[8192];
	assert_int_equal(report(f, "cycles", NULL, 0, err, sizeof(err)), 0);
	assert_non_null(strstr(f->out, "# Samples of 'cycles'"));
	assert_null(strstr(f->out, "# Samples of 'cache-misses'"));
	/* "samples" can be asked for explicitly: its own column first, the events per 1k of it. */
	assert_int_equal(report(f, "samples", NULL, 0, err, sizeof(err)), 0);
	assert_non_null(table(f->out, "samples", tab, sizeof(tab)));
	expect_row(tab, "[.] chase", 2, "66.67% 66.67% 6 600 90 100000.0 15000.0");

	err[0] = '\0';
	assert_int_equal(report(f, "instructions", NULL, 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown sample type 'instructions'"));
	assert_non_null(strstr(err, "samples, cycles, cache-misses"));
	assert_null(strchr(err, '\n'));
}

static void test_sort_keys(void **state)
{
	struct fixture *f = *state;
	char err[512] = "";
	char tab[8192];

	assert_int_equal(report(f, "cycles", "dso,sym", 0, err, sizeof(err)), 0);
	assert_non_null(table(f->out, "cycles", tab, sizeof(tab)));
	assert_non_null(strstr(tab, "dso"));
	expect_row(tab, "chase [.] chase", 3, "66.67% 66.67% 600 90 150.0");
	expect_row(tab, "libbranchy.so [.] branchy", 3, "33.33% 33.33% 300 5 16.7");
	expect_row(tab, "chase [.] main", 3, "100.00% 0.00% 900");

	/* dso alone: main and chase share the executable, so its children is 100%. */
	assert_int_equal(report(f, "cycles", "dso", 0, err, sizeof(err)), 0);
	assert_non_null(table(f->out, "cycles", tab, sizeof(tab)));
	expect_row(tab, "chase", 1, "100.00% 66.67% 900");
	expect_row(tab, "libbranchy.so", 1, "33.33% 33.33% 300");

	/* comm from the sample label: one branchy sample ran as "worker". */
	assert_int_equal(report(f, "cycles", "comm,sym", 0, err, sizeof(err)), 0);
	assert_non_null(table(f->out, "cycles", tab, sizeof(tab)));
	expect_row(tab, "chase [.] chase", 3, "66.67% 66.67% 600");
	expect_row(tab, "chase [.] branchy", 3, "22.22% 22.22% 200");
	expect_row(tab, "worker [.] branchy", 3, "11.11% 11.11% 100");
	expect_row(tab, "chase [.] main", 3, "88.89% 0.00% 800");
	expect_row(tab, "worker [.] main", 3, "11.11% 0.00% 100");

	assert_int_equal(report(f, "cycles", "srcline", 0, err, sizeof(err)), 0);
	assert_non_null(table(f->out, "cycles", tab, sizeof(tab)));
	expect_row(tab, "chase.c:12", 1, "66.67% 66.67% 600");
	expect_row(tab, "branchy.c:22", 1, "33.33% 33.33% 300");
	expect_row(tab, "main.c:5", 1, "100.00% 0.00% 900");

	err[0] = '\0';
	assert_int_equal(report(f, NULL, "sym,cacheline", 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown --sort key 'cacheline'"));
	assert_non_null(strstr(err, "not dso, sym, srcline or stack"));
	assert_non_null(strstr(err, "(labels there: comm)"));
	assert_null(strchr(err, '\n'));
}

/* Labels alone: one row per label value, in perf report's layout (overhead, then the keys). */
static void test_sort_labels(void **state)
{
	struct fixture *f = *state;
	char err[512] = "";
	assert_int_equal(report(f, "cycles", "comm", 0, err, sizeof(err)), 0);
	/* The ratio column too: 90 cache-misses in chase's 800 cycles, 5 in worker's 100. */
	const char *want = "# Overhead  cycles  cache-misses  cache-misses/1k cycles  comm\n"
			   "# ........  ......  ............  ......................  ......\n"
			   "#\n"
			   "    88.89%     800            90                   112.5  chase\n"
			   "    11.11%     100             5                    50.0  worker\n";
	if (!strstr(f->out, want))
		fail_msg("no perf-style table of comm in:\n%s", f->out);
	/* Each sample counted once whatever its stack's depth: no Children column. */
	assert_null(strstr(f->out, "Children"));
}

static void test_top(void **state)
{
	struct fixture *f = *state;
	char err[512] = "";
	char tab[8192], lead[256];
	assert_int_equal(report(f, "cycles", NULL, 1, err, sizeof(err)), 0);
	assert_non_null(table(f->out, "cycles", tab, sizeof(tab)));
	expect_row(tab, "[.] main", 2, "100.00% 0.00% 900");
	assert_int_equal(find_row(tab, "[.] chase", 2, lead, sizeof(lead)), -1);
	assert_non_null(strstr(tab, "2 more entries"));
}

/* The leaf's innermost inline frame is the self entry; its caller counts in children. */
static void test_inline(void **state)
{
	struct fixture *f = *state;
	write_profile(f->path, true);
	char err[512] = "";
	char tab[8192];
	assert_int_equal(report(f, "cycles", NULL, 0, err, sizeof(err)), 0);
	assert_non_null(table(f->out, "cycles", tab, sizeof(tab)));
	expect_row(tab, "[.] load_next", 2, "66.67% 66.67% 600 90 150.0");
	expect_row(tab, "[.] chase", 2, "66.67% 0.00% 600");
	expect_row(tab, "[.] main", 2, "100.00% 0.00% 900");
}

/* perf's filters: samples of a comm, rows of a dso or symbols; shares of the whole total. */
static void test_filters(void **state)
{
	struct fixture *f = *state;
	char err[512] = "";
	char tab[8192], lead[256];
	struct pprof_report_opts o = {.sample_type = "cycles", .comms = "worker"};
	assert_int_equal(report_opts(f, &o, err, sizeof(err)), 0);
	assert_non_null(table(f->out, "cycles", tab, sizeof(tab)));
	expect_row(tab, "[.] main", 2, "11.11% 0.00% 100");
	expect_row(tab, "[.] branchy", 2, "11.11% 11.11% 100");
	assert_int_equal(find_row(tab, "[.] chase", 2, lead, sizeof(lead)), -1);

	o = (struct pprof_report_opts){.sample_type = "cycles", .dsos = "libbranchy.so,nosuch"};
	assert_int_equal(report_opts(f, &o, err, sizeof(err)), 0);
	assert_non_null(table(f->out, "cycles", tab, sizeof(tab)));
	expect_row(tab, "[.] branchy", 2, "33.33% 33.33% 300");
	assert_int_equal(find_row(tab, "[.] main", 2, lead, sizeof(lead)), -1);

	/* A dso by its path too; symbols by name; both filters at once. */
	o.dsos = "/opt/bench/chase";
	o.symbols = "chase";
	assert_int_equal(report_opts(f, &o, err, sizeof(err)), 0);
	assert_non_null(table(f->out, "cycles", tab, sizeof(tab)));
	expect_row(tab, "[.] chase", 2, "66.67% 66.67% 600");
	assert_int_equal(find_row(tab, "[.] main", 2, lead, sizeof(lead)), -1);
	assert_int_equal(find_row(tab, "[.] branchy", 2, lead, sizeof(lead)), -1);

	/* Rows below the limit, in the sorted share (children here), are hidden. */
	o = (struct pprof_report_opts){.sample_type = "cycles", .percent_limit = 50};
	assert_int_equal(report_opts(f, &o, err, sizeof(err)), 0);
	assert_non_null(table(f->out, "cycles", tab, sizeof(tab)));
	expect_row(tab, "[.] main", 2, "100.00%");
	expect_row(tab, "[.] chase", 2, "66.67%");
	assert_int_equal(find_row(tab, "[.] branchy", 2, lead, sizeof(lead)), -1);
	assert_null(strstr(tab, "more entries"));
}

/* -g: each row's tree as perf prints it, shares of the total, branches below the threshold hidden. */
static void test_call_graph(void **state)
{
	struct fixture *f = *state;
	char err[512] = "";
	struct pprof_report_opts o = {.sample_type = "cycles", .call_graph = "caller"};
	assert_int_equal(report_opts(f, &o, err, sizeof(err)), 0);
	/* main's paths all start at main: printed from below it, one branch per callee. */
	const char *want_main = "  [.] main\n"
				"            |\n"
				"            |--66.67%--chase\n"
				"            |\n"
				"             --33.33%--branchy\n";
	/* chase is a leaf: its path from the root down to it, one chain carrying all. */
	const char *want_chase = "  [.] chase\n"
				 "            |\n"
				 "            ---main\n"
				 "               chase\n";
	if (!strstr(f->out, want_main) || !strstr(f->out, want_chase))
		fail_msg("-g caller trees:\n%s", f->out);

	o = (struct pprof_report_opts){.sample_type = "cycles", .children = -1,
				       .call_graph = "callee,50"};
	assert_int_equal(report_opts(f, &o, err, sizeof(err)), 0);
	/* chase's caller carries 66.67 % of the total; branchy's 33.33 % is under 50. */
	if (!strstr(f->out, "  [.] chase\n            |\n            ---main\n") ||
	    !strstr(f->out, "  [.] branchy\n") || strstr(strstr(f->out, "  [.] branchy\n"), "|"))
		fail_msg("-g callee,50 trees:\n%s", f->out);

	/* perf's other spellings: options in any order, "" is graph,0.5,caller, none. */
	char *callee = strdup(f->out);
	o.call_graph = "50,callee,graph,function,percent";
	assert_int_equal(report_opts(f, &o, err, sizeof(err)), 0);
	assert_string_equal(f->out, callee);
	free(callee);
	o = (struct pprof_report_opts){.sample_type = "cycles", .call_graph = "caller"};
	assert_int_equal(report_opts(f, &o, err, sizeof(err)), 0);
	char *caller = strdup(f->out);
	o.call_graph = "";
	assert_int_equal(report_opts(f, &o, err, sizeof(err)), 0);
	assert_string_equal(f->out, caller);
	free(caller);
	o.call_graph = "none";
	assert_int_equal(report_opts(f, &o, err, sizeof(err)), 0);
	assert_null(strstr(f->out, "%--"));
	assert_null(strstr(f->out, "---main"));
	assert_true(pprof_report_is_call_graph("callee,1") && pprof_report_is_call_graph("0.5") &&
		    pprof_report_is_call_graph("fractal") && !pprof_report_is_call_graph("a.pb.gz") &&
		    !pprof_report_is_call_graph("") && !pprof_report_is_call_graph("1x"));

	const char *bad[][2] = { { "upward", "-g takes perf's call graph options" },
				 { "caller,", "-g takes perf's call graph options" },
				 { "fractal", "-g fractal is not supported" },
				 { "flat", "use --folded" } };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		o.call_graph = bad[i][0];
		assert_int_equal(report_opts(f, &o, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i][1]) || !strstr(err, bad[i][0]))
			fail_msg("-g %s: %s", bad[i][0], err);
	}
}

/*
 * Time events in ms or s, counts in K/M/G; no ratio relates a count to a time (the first
 * event here); kernel frames (the kernel's mapping, or an address in the kernel half) [k].
 */
static void test_units(void **state)
{
	struct fixture *f = *state;
	static const struct pprof_value_type types[] = {
		{ "samples", "count" },
		{ "cpu-clock", "nanoseconds" },
		{ "page-faults", "count" },
	};
	char err[512] = "";
	char tab[8192];
	struct pprof *p;
	assert_int_equal(pprof_new(&p, types, 3, err, sizeof(err)), 0);
	struct pprof_mapping_desc kmap = { .start = 0xffffffff81000000ULL,
					   .limit = 0xffffffff82000000ULL,
					   .filename = "[kernel.kallsyms]" };
	uint64_t mk = pprof_add_mapping(p, &kmap);
	uint64_t f_user = pprof_add_function(p, "work", NULL, NULL, 0);
	uint64_t f_kern = pprof_add_function(p, "clear_page", NULL, NULL, 0);
	uint64_t f_half = pprof_add_function(p, "irq_enable", NULL, NULL, 0);
	struct pprof_line lu = { f_user, 0 }, lk = { f_kern, 0 }, lh = { f_half, 0 };
	uint64_t loc_u = pprof_add_location(p, 0, 0x401000, &lu, 1);
	uint64_t loc_k = pprof_add_location(p, mk, 0xffffffff81001000ULL, &lk, 1);
	uint64_t loc_h = pprof_add_location(p, 0, 0xffffffff81002000ULL, &lh, 1);
	int64_t vu[] = { 6000, 1500000000, 3450000 }, vk[] = { 10, 2500000, 18700 },
		vh[] = { 1, 250000, 1200000000 };
	assert_int_equal(pprof_add_sample(p, &loc_u, 1, vu, NULL, 0), 0);
	assert_int_equal(pprof_add_sample(p, &loc_k, 1, vk, NULL, 0), 0);
	assert_int_equal(pprof_add_sample(p, &loc_h, 1, vh, NULL, 0), 0);
	assert_int_equal(pprof_write(p, f->path, NULL, err, sizeof(err)), 0);
	pprof_free(p);

	assert_int_equal(report(f, "cpu-clock", NULL, 0, err, sizeof(err)), 0);
	assert_non_null(table(f->out, "cpu-clock", tab, sizeof(tab)));
	assert_null(strstr(tab, "/1k")); /* no page-faults per 1k nanoseconds */
	assert_null(strstr(tab, "Children")); /* no call graphs: one Overhead column */
	expect_row(tab, "[.] work", 2, "99.82% 1.50s 3.45M");
	expect_row(tab, "[k] clear_page", 2, "0.17% 2.50ms 18.70K");
	expect_row(tab, "[k] irq_enable", 2, "0.02% 0.25ms 1.20G");
}

/*
 * numa record's shape: page faults with a node label, and tracepoints that never fired. The
 * empty types get one line instead of a table, and no ratio column in the others' tables.
 */
static void test_empty_types(void **state)
{
	struct fixture *f = *state;
	static const struct pprof_value_type types[] = {
		{ "samples", "count" },
		{ "page-faults", "count" },
		{ "migrate:mm_migrate_pages", "count" },
		{ "sched:sched_move_numa", "count" },
	};
	char err[512] = "";
	struct pprof *p;
	assert_int_equal(pprof_new(&p, types, 4, err, sizeof(err)), 0);
	uint64_t fn = pprof_add_function(p, "touch", NULL, "/src/touch.c", 1);
	struct pprof_line line = { fn, 2 };
	uint64_t loc = pprof_add_location(p, 0, 0x1000, &line, 1);
	struct pprof_label node = { .key = "node", .num = 0 };
	int64_t v[] = { 3, 3, 0, 0 };
	assert_int_equal(pprof_add_sample(p, &loc, 1, v, &node, 1), 0);
	assert_int_equal(pprof_write(p, f->path, NULL, err, sizeof(err)), 0);
	pprof_free(p);

	const char *sorts[] = { NULL, "node" };
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(report(f, NULL, sorts[i], 0, err, sizeof(err)), 0);
		const char *out = f->out;
		assert_non_null(strstr(out, "# Samples of 'page-faults' (unit count): total 3"));
		if (strstr(out, "# Samples of 'migrate:mm_migrate_pages'") ||
		    strstr(out, "# Samples of 'sched:sched_move_numa'") || strstr(out, "/1k"))
			fail_msg("a table or ratio column of a type without samples:\n%s", out);
		if (!strstr(out, "\n# no samples of 'migrate:mm_migrate_pages', "
				 "'sched:sched_move_numa': no table\n"))
			fail_msg("no line naming the types without samples:\n%s", out);
	}
	/* Asked for by name, an empty type is still one line, not an empty table. */
	assert_int_equal(report(f, "sched:sched_move_numa", "node", 0, err, sizeof(err)), 0);
	if (!strstr(f->out, "#\n# no samples of 'sched:sched_move_numa': no table\n") ||
	    strstr(f->out, "Overhead"))
		fail_msg("-s of a type without samples:\n%s", f->out);
}

static void test_errors(void **state)
{
	struct fixture *f = *state;
	char err[512] = "";
	char missing[256];
	snprintf(missing, sizeof(missing), "%s/nope.pb.gz", f->dir);
	struct pprof_report_opts o = {0};
	assert_int_equal(pprof_report_print(missing, &o, stdout, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, missing));
	assert_non_null(strstr(err, "No such file or directory"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_default, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_children, setup, teardown),
		cmocka_unit_test_setup_teardown(test_units, setup, teardown),
		cmocka_unit_test_setup_teardown(test_filters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_call_graph, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sample_type, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sort_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sort_labels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_top, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_types, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
