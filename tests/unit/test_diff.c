/*
 * diff: two profiles of known shape. The baseline: main calls chase (600
 * cycles) and branchy (300). The new one: chase 300, branchy 600, and a new
 * function fresh (100). Shares move by known points (chase 66.67% -> 30%,
 * branchy 33.33% -> 60%, fresh new at 10%), rows come largest change first,
 * a profile against itself is all zeros, "stack" rows compare whole stacks,
 * -e picks one type, no type in common is an error naming both profiles'.
 * The differential views: folded stacks carry both values, the SVG colours
 * a grown frame red and a shrunk one blue, the HTML page has both sides.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base.h"
#include "flame.h"
#include "profile.h"
#include "view_text.h"

/*
 * A profile: main;chase with `chase` of the event, main;branchy with `branchy`, main;fresh
 * with `fresh`; and as much of a second event `extra` where it is not NULL.
 */
static struct pprof_read *make_profile2(const char *event, const char *extra, int64_t chase,
					int64_t branchy, int64_t fresh)
{
	const struct pprof_value_type types[] = { { "samples", "count" }, { event, "count" },
						  { extra ? extra : "", "count" } };
	char err[256] = "";
	struct pprof *p;
	assert_int_equal(pprof_new(&p, types, extra ? 3 : 2, err, sizeof(err)), 0);
	struct pprof_mapping_desc exe = { .start = 0x400000, .limit = 0x500000,
					  .filename = "/opt/app", .has_functions = true };
	uint64_t m = pprof_add_mapping(p, &exe);
	const char *names[] = { "main", "chase", "branchy", "fresh" };
	uint64_t loc[4];
	for (int i = 0; i < 4; i++) {
		struct pprof_line l = { pprof_add_function(p, names[i], NULL, "app.c", 1 + i), 0 };
		loc[i] = pprof_add_location(p, m, 0x400100 + 0x100 * (uint64_t)i, &l, 1);
	}
	struct pprof_label comm = { .key = "comm", .str = "app" };
	int64_t values[] = { chase, branchy, fresh };
	for (int i = 0; i < 3; i++) {
		uint64_t stack[] = { loc[1 + i], loc[0] };
		int64_t v[] = { values[i] / 100, values[i], values[i] };
		if (values[i])
			assert_int_equal(pprof_add_sample(p, stack, 2, v, &comm, 1), 0);
	}
	pprof_set_default_sample_type(p, event);
	return view_text_read(p);
}

static struct pprof_read *make_profile(const char *event, int64_t chase, int64_t branchy,
				       int64_t fresh)
{
	return make_profile2(event, NULL, chase, branchy, fresh);
}

/* The diff's text (malloc'd); *rc its result. */
static char *diff_text(const struct pprof_read *a, const struct pprof_read *b,
		       const struct pprof_report_opts *o, int *rc, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	assert_non_null(mem);
	*rc = pprof_diff_print(a, "before.pb", b, "after.pb", o, mem, err, errlen);
	assert_int_equal(fclose(mem), 0);
	return text;
}

/* The row of the text naming sym (its line), or NULL. */
static const char *row_of(const char *text, const char *sym)
{
	char want[64];
	snprintf(want, sizeof(want), "[.] %s\n", sym);
	const char *s = strstr(text, want);
	if (!s)
		return NULL;
	while (s > text && s[-1] != '\n')
		s--;
	return s;
}

static void test_known_change(void **state)
{
	(void)state;
	struct pprof_read *a = make_profile("cycles", 600, 300, 0);
	struct pprof_read *b = make_profile("cycles", 300, 600, 100);
	char err[BASE_ERR_MAX] = "";
	int rc;
	char *text = diff_text(a, b, NULL, &rc, err, sizeof(err));
	assert_int_equal(rc, 0);
	assert_non_null(strstr(text, "# baseline: before.pb\n# new:      after.pb\n"));
	assert_non_null(strstr(text, "# Event 'cycles': baseline total 900, new total 1000\n"));
	assert_non_null(strstr(text, "# Baseline       New     Delta   Ratio  dso  sym\n"));
	const char *chase = row_of(text, "chase"), *branchy = row_of(text, "branchy"),
		   *fresh = row_of(text, "fresh");
	assert_non_null(chase);
	assert_non_null(branchy);
	assert_non_null(fresh);
	/* Shares of each profile's own total; delta in points; ratio of the shares. */
	assert_memory_equal(chase, "    66.67%    30.00%   -36.67%   0.450  app  [.] chase", 53);
	assert_memory_equal(branchy, "    33.33%    60.00%   +26.67%   1.800  app  [.] branchy", 55);
	/* New where the baseline has none: its baseline column blank, as perf diff's. */
	assert_memory_equal(fresh, "              10.00%   +10.00%     new  app  [.] fresh", 53);
	assert_true(chase < branchy && branchy < fresh); /* largest change first */
	assert_null(strstr(text, "[.] main\n")); /* main has no self value in either */
	free(text);

	/* Swapped: the same rows, signs reversed; fresh is gone. */
	text = diff_text(b, a, NULL, &rc, err, sizeof(err));
	assert_int_equal(rc, 0);
	assert_memory_equal(row_of(text, "chase"), "    30.00%    66.67%   +36.67%   2.222", 37);
	assert_memory_equal(row_of(text, "fresh"), "    10.00%     0.00%   -10.00%    gone", 37);
	free(text);
	pprof_read_free(a);
	pprof_read_free(b);
}

static void test_self_diff(void **state)
{
	(void)state;
	struct pprof_read *a = make_profile("cycles", 600, 300, 100);
	char err[BASE_ERR_MAX] = "";
	int rc;
	const char *sorts[] = { NULL, "stack", "comm", "sym" };
	for (size_t i = 0; i < sizeof(sorts) / sizeof(sorts[0]); i++) {
		struct pprof_report_opts o = { .sort = sorts[i] };
		char *text = diff_text(a, a, &o, &rc, err, sizeof(err));
		assert_int_equal(rc, 0);
		size_t rows = 0;
		for (char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
			if (*line == '#')
				continue;
			rows++;
			assert_non_null(strstr(line, "+0.00%   1.000"));
		}
		assert_int_equal(rows, sorts[i] && strcmp(sorts[i], "comm") == 0 ? 1 : 3);
		free(text);
	}
	pprof_read_free(a);
}

static void test_stack_rows(void **state)
{
	(void)state;
	struct pprof_read *a = make_profile("cycles", 600, 300, 0);
	struct pprof_read *b = make_profile("cycles", 300, 600, 100);
	char err[BASE_ERR_MAX] = "";
	int rc;
	struct pprof_report_opts o = { .sort = "stack" };
	char *text = diff_text(a, b, &o, &rc, err, sizeof(err));
	assert_int_equal(rc, 0);
	assert_non_null(strstr(text, "   -36.67%   0.450  main;chase\n"));
	assert_non_null(strstr(text, "   +26.67%   1.800  main;branchy\n"));
	assert_non_null(strstr(text, "   +10.00%     new  main;fresh\n"));
	free(text);
	/* report speaks the same key. */
	char *rep = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&rep, &len);
	assert_int_equal(pprof_report_print_read(b, "after.pb", &o, mem, err, sizeof(err)), 0);
	fclose(mem);
	assert_non_null(strstr(rep, "main;branchy\n"));
	free(rep);
	pprof_read_free(a);
	pprof_read_free(b);
}

static void test_types(void **state)
{
	(void)state;
	struct pprof_read *a = make_profile2("cycles", "branches", 600, 300, 0);
	struct pprof_read *b = make_profile2("cycles", "instructions", 300, 600, 100);
	struct pprof_read *c = make_profile("instructions", 300, 600, 100);
	char err[BASE_ERR_MAX] = "";
	int rc;
	/* Each type only one has is named; the one both have is compared. */
	char *text = diff_text(a, b, NULL, &rc, err, sizeof(err));
	assert_int_equal(rc, 0);
	assert_non_null(strstr(text, "# Event 'cycles'"));
	assert_null(strstr(text, "# Event 'instructions'"));
	assert_non_null(strstr(text, "# 'instructions' is only in after.pb: not compared\n"));
	assert_non_null(strstr(text, "# 'branches' is only in before.pb: not compared\n"));
	free(text);
	/* -e names one type: it must be in both. */
	struct pprof_report_opts o = { .sample_type = "instructions" };
	text = diff_text(a, b, &o, &rc, err, sizeof(err));
	assert_int_equal(rc, -EINVAL);
	assert_non_null(strstr(err, "sample type 'instructions' is not in both profiles"));
	assert_non_null(strstr(err, "after.pb has cycles, instructions"));
	free(text);
	/* Only the sample count in common: the events differ, nothing to compare. */
	text = diff_text(a, c, NULL, &rc, err, sizeof(err));
	assert_int_equal(rc, -EINVAL);
	assert_non_null(strstr(err, "before.pb and after.pb have no event in common "
				    "(cycles, branches; instructions)"));
	free(text);
	o.sample_type = "samples";
	text = diff_text(a, c, &o, &rc, err, sizeof(err));
	assert_int_equal(rc, -EINVAL);
	assert_non_null(strstr(err, "-e samples: the samples of before.pb are of cycles, branches"));
	free(text);
	/* The views refuse it too. */
	char view_err[BASE_ERR_MAX] = "";
	struct flame_opts fo = { .title = "after.pb", .baseline = a, .baseline_title = "before.pb" };
	free(view_text(flame_write_folded, c, &fo, &rc, view_err, sizeof(view_err)));
	assert_int_equal(rc, -EINVAL);
	assert_non_null(strstr(view_err, "have no event in common"));
	fo.sample_type = "samples";
	free(view_text(flame_write_svg, c, &fo, &rc, view_err, sizeof(view_err)));
	assert_int_equal(rc, -EINVAL);
	pprof_read_free(a);
	pprof_read_free(b);
	pprof_read_free(c);
}

/* The differential view of a against b. */
static char *diff_view(view_text_fn fn, const struct pprof_read *a, const struct pprof_read *b)
{
	char err[BASE_ERR_MAX] = "";
	int rc;
	struct flame_opts o = { .title = "after.pb", .baseline = a, .baseline_title = "before.pb" };
	char *text = view_text(fn, b, &o, &rc, err, sizeof(err));
	assert_int_equal(rc, 0);
	return text;
}

static void test_views(void **state)
{
	(void)state;
	struct pprof_read *a = make_profile("cycles", 600, 300, 0);
	struct pprof_read *b = make_profile("cycles", 300, 600, 100);
	char *text = diff_view(flame_write_folded, a, b);
	/* flamegraph.pl's differential input: the baseline's value, then the new one's. */
	assert_string_equal(text, "app;main;branchy 300 600\n"
				  "app;main;chase 600 300\n"
				  "app;main;fresh 0 100\n");
	free(text);
	text = diff_view(flame_write_svg, a, b);
	assert_non_null(strstr(text, "Differential Flame Graph: before.pb \xe2\x86\x92 after.pb"));
	/* chase shrank the most: full blue; branchy grew 26.67 of 36.67 points: red. */
	assert_non_null(strstr(text, "chase (300 count, 30.00%; baseline 600, 66.67%; -36.67 points)"));
	const char *chase = strstr(text, "chase (300");
	assert_non_null(strstr(chase, "fill=\"rgb(0,0,255)\""));
	const char *branchy = strstr(text, "branchy (600");
	assert_non_null(branchy);
	assert_non_null(strstr(branchy, "fill=\"rgb(255,57,57)\""));
	free(text);
	text = diff_view(flame_write_html, a, b);
	assert_non_null(strstr(text, "\"sides\":2"));
	assert_non_null(strstr(text, "\"types\":[[\"samples\",\"count\"],[\"cycles\",\"count\"]]"));
	free(text);
	pprof_read_free(a);
	pprof_read_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_change),
		cmocka_unit_test(test_self_diff),
		cmocka_unit_test(test_stack_rows),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_views),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
