/*
 * flame: a small profile with a known shape (a comm with a space, an inline
 * frame, a kernel frame, an unsymbolized one, a ';' and a "</script>" in
 * names, two threads) folded exactly; --no-inline, -e and the default type;
 * an unknown type lists the types; the HTML page keeps names from ending
 * its script and carries every type and the label sets; the SVG escapes.
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

static const struct pprof_value_type types[] = {
	{ "samples", "count" },
	{ "cycles", "count" },
};

static struct pprof_read *make_profile(bool labels)
{
	char err[256] = "";
	struct pprof *p;
	assert_int_equal(pprof_new(&p, types, 2, err, sizeof(err)), 0);
	struct pprof_mapping_desc exe = { .start = 0x400000, .limit = 0x500000,
					  .filename = "/opt/app", .has_functions = true };
	struct pprof_mapping_desc kern = { .start = 0xffffffff81000000,
					   .limit = 0xffffffff82000000,
					   .filename = "[kernel.kallsyms]", .has_functions = true };
	uint64_t m_exe = pprof_add_mapping(p, &exe), m_k = pprof_add_mapping(p, &kern);
	uint64_t f_main = pprof_add_function(p, "main", NULL, "main.c", 1);
	uint64_t f_work = pprof_add_function(p, "work;odd", NULL, "main.c", 10);
	uint64_t f_inl = pprof_add_function(p, "step</script>", NULL, "main.c", 3);
	uint64_t f_sys = pprof_add_function(p, "do_syscall_64", NULL, NULL, 0);
	struct pprof_line l_main = { f_main, 5 }, l_sys = { f_sys, 0 };
	struct pprof_line l_work[] = { { f_inl, 4 }, { f_work, 12 } }; /* innermost first */
	uint64_t loc_main = pprof_add_location(p, m_exe, 0x400100, &l_main, 1);
	uint64_t loc_work = pprof_add_location(p, m_exe, 0x400200, l_work, 2);
	uint64_t loc_sys = pprof_add_location(p, m_k, 0xffffffff81000100, &l_sys, 1);
	uint64_t loc_unk = pprof_add_location(p, m_exe, 0x400300, NULL, 0);
	uint64_t st_work[] = { loc_work, loc_main }, st_sys[] = { loc_sys, loc_unk, loc_main };
	struct pprof_label t1[] = { { .key = "comm", .str = "my app" }, { .key = "tid", .num = 7 } };
	struct pprof_label t2[] = { { .key = "comm", .str = "my app" }, { .key = "tid", .num = 8 } };
	int64_t v1[] = { 3, 300 }, v2[] = { 1, 100 }, v3[] = { 2, 50 };
	size_t nl = labels ? 2 : 0;
	assert_int_equal(pprof_add_sample(p, st_work, 2, v1, t1, nl), 0);
	assert_int_equal(pprof_add_sample(p, st_work, 2, v2, t2, nl), 0);
	assert_int_equal(pprof_add_sample(p, st_sys, 3, v3, t1, nl), 0);
	pprof_set_default_sample_type(p, "cycles");
	return view_text_read(p);
}

/* The view of the known profile (malloc'd); rc from the view. */
static char *view(view_text_fn fn, const struct flame_opts *o, bool labels, int *rc, char *err,
		  size_t errlen)
{
	struct pprof_read *r = make_profile(labels);
	char *text = view_text(fn, r, o, rc, err, errlen);
	pprof_read_free(r);
	return text;
}

static void test_folded(void **state)
{
	(void)state;
	char err[BASE_ERR_MAX];
	int rc;
	struct flame_opts o = { .title = "t.pb" };
	char *text = view(flame_write_folded, &o, true, &rc, err, sizeof(err));
	assert_int_equal(rc, 0);
	/* cycles by default; comm root with '_'; inline frame of its own; ';' -> ':'; _[k]. */
	assert_string_equal(text, "my_app;main;[unknown];do_syscall_64_[k] 50\n"
				  "my_app;main;work:odd;step</script> 400\n");
	free(text);

	o.no_inline = true;
	o.sample_type = "samples";
	text = view(flame_write_folded, &o, true, &rc, err, sizeof(err));
	assert_int_equal(rc, 0);
	assert_string_equal(text, "my_app;main;[unknown];do_syscall_64_[k] 2\n"
				  "my_app;main;work:odd 4\n");
	free(text);

	/* A profile without labels (another tool's): no comm root frame. */
	o.no_inline = false;
	text = view(flame_write_folded, &o, false, &rc, err, sizeof(err));
	assert_int_equal(rc, 0);
	assert_string_equal(text, "main;[unknown];do_syscall_64_[k] 2\n"
				  "main;work:odd;step</script> 4\n");
	free(text);

	o.sample_type = "cache-misses";
	text = view(flame_write_folded, &o, true, &rc, err, sizeof(err));
	assert_int_equal(rc, -EINVAL);
	assert_string_equal(err, "unknown sample type 'cache-misses' in t.pb; give -e one of: "
				 "samples, cycles");
	free(text);
}

static void test_html(void **state)
{
	(void)state;
	char err[BASE_ERR_MAX];
	int rc;
	struct flame_opts o = { .title = "t.pb" };
	char *text = view(flame_write_html, &o, true, &rc, err, sizeof(err));
	assert_int_equal(rc, 0);
	const char *data = strstr(text, "<script id=\"flame-data\" type=\"application/json\">");
	assert_non_null(data);
	/* The data's script ends where its JSON does: the name's "</script>" is escaped. */
	const char *end = strstr(data, "</script>");
	assert_non_null(end);
	assert_memory_equal(end - 2, "]}</script>", 11);
	assert_non_null(strstr(data, "\"step\\u003c/script\\u003e\""));
	assert_non_null(strstr(data, "\"types\":[[\"samples\",\"count\"],[\"cycles\",\"count\"]]"));
	assert_non_null(strstr(data, "\"type\":1,"));
	assert_non_null(strstr(data, "\"keys\":[\"comm\",\"tid\"]"));
	assert_null(strstr(text, "/*DATA*/"));
	assert_null(strstr(text, "http://"));
	assert_null(strstr(text, "https://"));
	free(text);
}

static void test_svg(void **state)
{
	(void)state;
	char err[BASE_ERR_MAX];
	int rc;
	struct flame_opts o = { .title = "t.pb", .sample_type = "samples" };
	char *text = view(flame_write_svg, &o, true, &rc, err, sizeof(err));
	assert_int_equal(rc, 0);
	assert_non_null(strstr(text, "<svg "));
	assert_non_null(strstr(text, "<title>step&lt;/script&gt; (4 count, 66.67%)</title>"));
	assert_null(strstr(text, "step</script>"));
	assert_non_null(strstr(text, "(samples)</text>"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_folded),
		cmocka_unit_test(test_html),
		cmocka_unit_test(test_svg),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
