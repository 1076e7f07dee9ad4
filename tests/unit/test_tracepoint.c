/*
 * Unit tests of tracepoints as events: format files copied from a 6.18
 * kernel's tracefs (tests/data/tracefs, also the tree TRACEFS_PATH points
 * the parser at), the fields read out of raw payloads built here, format
 * text that must be refused, and "sys:name" strings with globs and errors.
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

#include "pmu.h"

#define TRACEFS TEST_DATA_DIR "/tracefs"

static void load(struct pmu_tp_format *f, const char *sys, const char *name)
{
	char err[BASE_ERR_MAX] = "";
	if (pmu_tp_format_read(f, sys, name, err, sizeof(err)) < 0)
		fail_msg("%s:%s: %s", sys, name, err);
}

static const struct pmu_tp_field *field(const struct pmu_tp_format *f, const char *name)
{
	const struct pmu_tp_field *fld = pmu_tp_field(f, name);
	if (!fld)
		fail_msg("%s has no field %s", f->name, name);
	return fld;
}

static void test_format_fixtures(void **state)
{
	(void)state;
	struct pmu_tp_format f;
	load(&f, "sched", "sched_switch");
	assert_string_equal(f.name, "sched_switch");
	assert_int_equal(f.id, 372);
	assert_int_equal(f.nfields, 11); /* 4 common fields, 7 of its own */
	const struct pmu_tp_field *x = field(&f, "common_type");
	assert_int_equal(x->offset, 0);
	assert_int_equal(x->size, 2);
	assert_false(x->is_signed);
	x = field(&f, "prev_comm");
	assert_string_equal(x->type, "char[16]");
	assert_true(x->is_array);
	assert_int_equal(x->offset, 8);
	assert_int_equal(x->size, 16);
	x = field(&f, "prev_state");
	assert_string_equal(x->type, "long");
	assert_int_equal(x->offset, 32);
	assert_int_equal(x->size, 8);
	assert_true(x->is_signed);
	x = field(&f, "next_prio");
	assert_int_equal(x->offset, 60);
	assert_null(pmu_tp_field(&f, "next"));
	pmu_tp_format_free(&f);

	load(&f, "sched", "sched_move_numa");
	x = field(&f, "src_nid");
	assert_string_equal(x->type, "int");
	assert_int_equal(x->offset, 24);
	assert_true(x->is_signed);
	assert_int_equal(field(&f, "dst_nid")->offset, 32);
	pmu_tp_format_free(&f);

	load(&f, "migrate", "mm_migrate_pages");
	x = field(&f, "succeeded");
	assert_string_equal(x->type, "unsigned long");
	assert_int_equal(x->offset, 8);
	assert_int_equal(x->size, 8);
	assert_false(x->is_signed);
	assert_string_equal(field(&f, "mode")->type, "enum migrate_mode");
	pmu_tp_format_free(&f);

	load(&f, "sched", "sched_process_exec");
	x = field(&f, "filename");
	assert_string_equal(x->type, "__data_loc char[]");
	assert_int_equal(x->loc, PMU_TP_DATA_LOC);
	assert_true(x->is_array);
	assert_int_equal(x->offset, 8);
	assert_int_equal(field(&f, "old_pid")->offset, 16);
	pmu_tp_format_free(&f);
}

static void put(unsigned char *raw, size_t off, const void *v, size_t n)
{
	memcpy(raw + off, v, n);
}

static void test_field_values(void **state)
{
	(void)state;
	struct pmu_tp_format f;
	uint64_t v;
	/* mm_migrate_pages: 64 bytes of fields (+4 padding, as the kernel aligns the record). */
	load(&f, "migrate", "mm_migrate_pages");
	unsigned char raw[68] = {0};
	uint64_t succeeded = 12345, failed = 7;
	int32_t reason = -1;
	put(raw, 8, &succeeded, 8);
	put(raw, 16, &failed, 8);
	put(raw, 60, &reason, 4);
	assert_int_equal(pmu_tp_field_int(field(&f, "succeeded"), raw, sizeof(raw), &v), 0);
	assert_int_equal(v, 12345);
	assert_int_equal(pmu_tp_field_int(field(&f, "failed"), raw, sizeof(raw), &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(pmu_tp_field_int(field(&f, "reason"), raw, sizeof(raw), &v), 0);
	assert_int_equal((int64_t)v, -1); /* signed: sign-extended */
	/* A payload cut short: the field past its end is refused, the ones before still read. */
	assert_int_equal(pmu_tp_field_int(field(&f, "reason"), raw, 62, &v), -ERANGE);
	assert_int_equal(pmu_tp_field_int(field(&f, "succeeded"), raw, 16, &v), 0);
	assert_int_equal(pmu_tp_field_int(field(&f, "succeeded"), raw, 15, &v), -ERANGE);
	pmu_tp_format_free(&f);

	/* sched_move_numa: negative node ids are -1 (no node). */
	load(&f, "sched", "sched_move_numa");
	unsigned char mv[40] = {0};
	int32_t src = 1, dst = -1;
	put(mv, 24, &src, 4);
	put(mv, 32, &dst, 4);
	assert_int_equal(pmu_tp_field_int(field(&f, "src_nid"), mv, sizeof(mv), &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(pmu_tp_field_int(field(&f, "dst_nid"), mv, sizeof(mv), &v), 0);
	assert_int_equal((int64_t)v, -1);
	pmu_tp_format_free(&f);

	/* sched_switch: an array is bytes, not an integer. */
	load(&f, "sched", "sched_switch");
	unsigned char sw[64] = {0};
	memcpy(sw + 8, "prev-task", 10);
	const void *p;
	size_t n;
	assert_int_equal(pmu_tp_field_int(field(&f, "prev_comm"), sw, sizeof(sw), &v), -EINVAL);
	assert_int_equal(pmu_tp_field_data(field(&f, "prev_comm"), sw, sizeof(sw), &p, &n), 0);
	assert_int_equal(n, 16);
	assert_string_equal(p, "prev-task");
	pmu_tp_format_free(&f);

	/* sched_process_exec: __data_loc filename, its text after the fixed fields. */
	load(&f, "sched", "sched_process_exec");
	unsigned char ex[32] = {0};
	uint32_t loc = 20 | 10u << 16;
	put(ex, 8, &loc, 4);
	memcpy(ex + 20, "/bin/true", 10);
	const struct pmu_tp_field *fn = field(&f, "filename");
	assert_int_equal(pmu_tp_field_data(fn, ex, sizeof(ex), &p, &n), 0);
	assert_int_equal(n, 10);
	assert_string_equal(p, "/bin/true");
	assert_int_equal(pmu_tp_field_int(fn, ex, sizeof(ex), &v), -EINVAL);
	/* Its data past the payload's end: refused. */
	assert_int_equal(pmu_tp_field_data(fn, ex, 29, &p, &n), -ERANGE);
	loc = 0xfff0 | 0xffffu << 16;
	put(ex, 8, &loc, 4);
	assert_int_equal(pmu_tp_field_data(fn, ex, sizeof(ex), &p, &n), -ERANGE);
	pmu_tp_format_free(&f);

	/* __rel_loc: the offset counts from the field's end. */
	static const char rel[] = "name: r\nID: 9\nformat:\n"
				  "\tfield:__rel_loc char[] s;\toffset:8;\tsize:4;\tsigned:0;\n";
	char err[BASE_ERR_MAX];
	assert_int_equal(pmu_tp_format_parse(&f, rel, sizeof(rel) - 1, err, sizeof(err)), 0);
	assert_int_equal(f.fields[0].loc, PMU_TP_REL_LOC);
	unsigned char rl[20] = {0};
	loc = 2 | 3u << 16;
	put(rl, 8, &loc, 4);
	memcpy(rl + 14, "ab", 3);
	assert_int_equal(pmu_tp_field_data(&f.fields[0], rl, sizeof(rl), &p, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(p, "ab");
	pmu_tp_format_free(&f);
}

/* print fmt's __print_symbolic names: mm_migrate_pages' reason and mode as the kernel prints them. */
static void test_symbolic(void **state)
{
	(void)state;
	struct pmu_tp_format f;
	char buf[64];
	load(&f, "migrate", "mm_migrate_pages");
	assert_non_null(f.print_fmt);
	assert_string_equal(pmu_tp_symbolic(&f, "reason", 5, buf, sizeof(buf)), "numa_misplaced");
	assert_string_equal(pmu_tp_symbolic(&f, "reason", 0, buf, sizeof(buf)), "compaction");
	assert_string_equal(pmu_tp_symbolic(&f, "mode", 2, buf, sizeof(buf)), "MIGRATE_SYNC");
	assert_null(pmu_tp_symbolic(&f, "reason", 99, buf, sizeof(buf)));
	assert_null(pmu_tp_symbolic(&f, "succeeded", 1, buf, sizeof(buf))); /* printed as a number */
	assert_null(pmu_tp_symbolic(&f, "no_such_field", 1, buf, sizeof(buf)));
	pmu_tp_format_free(&f);
	/* Cut short or malformed pairs name nothing and read nothing beyond the text. */
	static const char *const bad[] = {
		"__print_symbolic(REC->reason, {5",
		"__print_symbolic(REC->reason, {5, \"numa",
		"__print_symbolic(REC->reason, {x, \"a\"})",
		"__print_symbolic(REC->reason, {1, \"a\"",
		"__print_symbolic(REC->reason,",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pmu_tp_format g = {.print_fmt = (char *)bad[i]};
		assert_null(pmu_tp_symbolic(&g, "reason", 5, buf, sizeof(buf)));
	}
}

static void test_format_refused(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int ret;
		const char *msg;
	} bad[] = {
		{"", -EINVAL, "no ID: line"},
		{"name: x\nID: 5\nformat:\nprint fmt: \"\"\n", -EINVAL, "no field: lines"},
		{"ID: x5\n\tfield:int a;\toffset:0;\tsize:4;\tsigned:1;\n", -EINVAL, "line 1"},
		{"ID: 5\n\tfield:int a;\tsize:4;\tsigned:1;\n", -EINVAL, "lacks offset"},
		{"ID: 5\n\tfield:int a;\toffset:-1;\tsize:4;\n", -EINVAL, "lacks offset"},
		{"ID: 5\n\tfield:int;\toffset:0;\tsize:4;\n", -EINVAL, "malformed field"},
		{"ID: 5\n\tfield:int a[;\toffset:0;\tsize:4;\n", -EINVAL, "malformed field"},
		{"ID: 5\n\tfield:a;\toffset:0;\tsize:4;\n", -EINVAL, "malformed field"},
		{"ID: 5\n\tfield:int a\toffset:0;\tsize:4;\n", -EINVAL, "lacks offset"},
		{"ID: 5\n\tfield:int a;\toffset:4294967295;\tsize:8;\n", -ERANGE, "past 4 GiB"},
		{"ID: 5\n\tfield:__data_loc char[] s;\toffset:0;\tsize:8;\n", -EINVAL, "not 4"},
		{"ID: 5\n\tfield:int "
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa;"
		 "\toffset:0;\tsize:4;\n",
		 -EINVAL, "malformed field"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pmu_tp_format f;
		char err[BASE_ERR_MAX] = "";
		int ret =
			pmu_tp_format_parse(&f, bad[i].text, strlen(bad[i].text), err, sizeof(err));
		if (ret != bad[i].ret || !strstr(err, bad[i].msg))
			fail_msg("case %zu: %d \"%s\", expected %d \"%s\"", i, ret, err, bad[i].ret,
				 bad[i].msg);
		assert_int_equal(f.nfields, 0);
		assert_null(f.fields);
	}
	/* A NUL inside the text. */
	static const char nul[] = "ID: 5\n\tfield:int a;\0offset:0;\tsize:4;\n";
	struct pmu_tp_format f;
	char err[BASE_ERR_MAX];
	assert_int_equal(pmu_tp_format_parse(&f, nul, sizeof(nul) - 1, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "NUL"));
	/* Text without a final newline, and signed: absent (older kernels): unsigned. */
	static const char old[] = "ID: 5\n\tfield:int a;\toffset:0;\tsize:4;";
	assert_int_equal(pmu_tp_format_parse(&f, old, sizeof(old) - 1, err, sizeof(err)), 0);
	assert_int_equal(f.nfields, 1);
	assert_false(f.fields[0].is_signed);
	pmu_tp_format_free(&f);
}

static struct pmu_ctx *g_ctx;

static int parse(const char *spec, struct pmu_event_list *list, char *err)
{
	memset(list, 0, sizeof(*list));
	err[0] = 0;
	return pmu_parse_events(g_ctx, spec, list, err, BASE_ERR_MAX);
}

static void test_parse_tracepoints(void **state)
{
	(void)state;
	struct pmu_event_list l;
	char err[BASE_ERR_MAX];
	if (parse("sched:sched_switch", &l, err) < 0)
		fail_msg("%s", err);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.ev[0].attr.type, PERF_TYPE_TRACEPOINT);
	assert_int_equal(l.ev[0].attr.config, 372);
	assert_int_equal(l.ev[0].attr.sample_period, 1);
	assert_true(l.ev[0].period_default);
	assert_false(l.ev[0].period_explicit);
	assert_string_equal(l.ev[0].name, "sched:sched_switch");
	pmu_event_list_free(&l);

	/* Globs in either part, sorted as perf lists them; each its own event. */
	assert_int_equal(parse("sched:sched_*numa,migrate:*", &l, err), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.ev[0].name, "sched:sched_move_numa");
	assert_string_equal(l.ev[1].name, "sched:sched_swap_numa");
	assert_string_equal(l.ev[2].name, "migrate:mm_migrate_pages");
	assert_int_equal(l.ev[2].attr.config, 713);
	pmu_event_list_free(&l);
	assert_int_equal(parse("*:sched_process_*", &l, err), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.ev[0].name, "sched:sched_process_exec");
	pmu_event_list_free(&l);

	/* Modifiers after the name; a group of a glob and another event. */
	assert_int_equal(parse("sched:sched_switch:k", &l, err), 0);
	assert_true(l.ev[0].attr.exclude_user);
	assert_false(l.ev[0].attr.exclude_kernel);
	assert_string_equal(l.ev[0].name, "sched:sched_switch:k");
	pmu_event_list_free(&l);
	assert_int_equal(parse("{task-clock,sched:sched_*numa}", &l, err), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.ev[0].group_size, 3);
	assert_int_equal(l.ev[2].leader, 0);
	pmu_event_list_free(&l);

	/* Errors: one line naming the cause, the near names and where to look. */
	static const struct {
		const char *spec, *msg;
	} bad[] = {
		{"sched:sched_swich", "unknown tracepoint 'sched:sched_swich'; did you mean "
				      "'sched:sched_switch'?"},
		{"shed:sched_switch", "did you mean 'sched:sched_switch'?"},
		{"sched:mm_migrate_pages", "did you mean 'migrate:mm_migrate_pages'?"},
		{"sched:zzz*", "no tracepoint matches 'sched:zzz*'"},
		{"zzz*:*", "no tracepoint matches 'zzz*:*'"},
		{"sched:sched_switch:q", "invalid modifier 'q'"},
		{"cycles:q", "invalid modifier 'q'"}, /* an event's bad modifier, no tracepoint */
		{"sched:sched_switch_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		 "is too long"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = parse(bad[i].spec, &l, err);
		if (ret >= 0 || !strstr(err, bad[i].msg) || strchr(err, '\n'))
			fail_msg("'%s': %d \"%s\", expected \"%s\"", bad[i].spec, ret, err,
				 bad[i].msg);
		assert_int_equal(l.n, 0);
		pmu_event_list_free(&l);
	}
	setenv("TRACEFS_PATH", TEST_DATA_DIR "/no-such-tracefs", 1);
	assert_int_equal(parse("sched:sched_switch", &l, err), -ENOENT);
	assert_non_null(strstr(err, "has no events/ directory"));
	pmu_event_list_free(&l);
	setenv("TRACEFS_PATH", TRACEFS, 1);
}

static void test_explain_permission(void **state)
{
	(void)state;
	struct pmu_event_list l;
	char err[BASE_ERR_MAX];
	assert_int_equal(parse("sched:sched_switch", &l, err), 0);
	struct perf_event_attr a = l.ev[0].attr;
	char want[64];
	pmu_explain_open_error(g_ctx, &l.ev[0], &a, EACCES, 0, -1, err, sizeof(err));
	snprintf(want, sizeof(want), "perf_event_paranoid<=1 (it is %d)", pmu_paranoid_level());
	if (!strstr(err, "counting a tracepoint (it fires in kernel code) needs") ||
	    !strstr(err, want))
		fail_msg("counting: %s", err);
	a.sample_type |= PERF_SAMPLE_RAW;
	pmu_explain_open_error(g_ctx, &l.ev[0], &a, EPERM, 0, -1, err, sizeof(err));
	if (!strstr(err, "sampling a tracepoint (its payload is kernel data) needs "
			 "kernel.perf_event_paranoid<=-1"))
		fail_msg("sampling: %s", err);
	pmu_event_list_free(&l);
}

static int collect(const struct pmu_list_entry *e, void *arg)
{
	if (e->group == PMU_LIST_TRACEPOINT) {
		char *names = arg;
		strcat(strcat(names, e->name), " ");
	}
	return 0;
}

static void test_list(void **state)
{
	(void)state;
	char names[1024] = "";
	assert_int_equal(pmu_list_events(g_ctx, false, collect, names), 0);
	assert_string_equal(names, "migrate:mm_migrate_pages sched:sched_move_numa "
				   "sched:sched_process_exec sched:sched_process_fork "
				   "sched:sched_swap_numa sched:sched_switch ");
}

static int setup(void **state)
{
	(void)state;
	char err[BASE_ERR_MAX];
	setenv("TRACEFS_PATH", TRACEFS, 1);
	return pmu_ctx_new(&g_ctx, TEST_SYSFS_ROOT, err, sizeof(err));
}

static int teardown(void **state)
{
	(void)state;
	pmu_ctx_free(g_ctx);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_fixtures),    cmocka_unit_test(test_field_values),
		cmocka_unit_test(test_symbolic),
		cmocka_unit_test(test_format_refused),     cmocka_unit_test(test_parse_tracepoints),
		cmocka_unit_test(test_explain_permission), cmocka_unit_test(test_list),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
