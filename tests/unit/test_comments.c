/*
 * The profile's comments (profile/comments.c), the one builder record, agent
 * and import use: 64 events of 128-character names and a long command line
 * fit whole (the fixed 4 KiB and 1 KiB buffers it replaces overflowed the
 * stack), a line past PPROF_COMMENT_MAX is cut with "...", and the lost and
 * throttled counts appear once, split by event only where there are some.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "profile.pb-c.h"

#define NEV 64
#define NAME_LEN 128

/* The comments of p, decoded from its encoding (not from the builder's state). */
static Perftools__Profiles__Profile *decode(const struct pprof *p)
{
	uint8_t *buf;
	size_t len;
	char err[256];
	assert_int_equal(pprof_encode(p, &buf, &len, err, sizeof(err)), 0);
	Perftools__Profiles__Profile *m = perftools__profiles__profile__unpack(NULL, len, buf);
	free(buf);
	assert_non_null(m);
	return m;
}

static const char *comment(const Perftools__Profiles__Profile *m, size_t i)
{
	assert_true(i < m->n_comment);
	return m->string_table[m->comment[i]];
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static struct pprof *new_profile(void)
{
	static const struct pprof_value_type t[] = {{"samples", "count"}};
	struct pprof *p;
	char err[256];
	assert_int_equal(pprof_new(&p, t, 1, err, sizeof(err)), 0);
	return p;
}

static void test_many_long_names(void **state)
{
	(void)state;
	static char names[NEV][NAME_LEN + 1];
	struct pprof_event_counts ev[NEV];
	for (int i = 0; i < NEV; i++) {
		char prefix[8];
		snprintf(prefix, sizeof(prefix), "ev%02d-", i);
		memset(names[i], 'a' + i % 26, NAME_LEN);
		memcpy(names[i], prefix, 5);
		names[i][NAME_LEN] = '\0';
		ev[i] = (struct pprof_event_counts){names[i], 1000 + (uint64_t)i, i == 3 ? 7 : 0,
						    i == 63 ? 2 : 0};
	}
	char *argv[2 * NEV + 2];
	int argc = 0;
	argv[argc++] = "record";
	for (int i = 0; i < NEV; i++) {
		argv[argc++] = "-e";
		argv[argc++] = names[i];
	}
	struct pprof *p = new_profile();
	struct pprof_run_comments c = {.head = "pmuprof 9.9",
				       .argc = argc,
				       .argv = argv,
				       .ev = ev,
				       .nev = NEV,
				       .unattributed_lost = 5};
	assert_int_equal(pprof_add_run_comments(p, &c), 0);
	Perftools__Profiles__Profile *m = decode(p);
	assert_int_equal(m->n_comment, 3);
	const char *cmd = comment(m, 0), *samples = comment(m, 1), *lost = comment(m, 2);
	assert_true(strncmp(cmd, "pmuprof 9.9: record -e ev00-", 28) == 0);
	assert_true(strlen(samples) > NEV * NAME_LEN);
	for (int i = 0; i < NEV; i++) {
		char want[NAME_LEN + 32];
		snprintf(want, sizeof(want), "%s=%d", names[i], 1000 + i);
		assert_non_null(strstr(samples, want));
		assert_int_equal(count(cmd, names[i]), 1);
	}
	assert_null(strstr(cmd, "..."));
	assert_null(strstr(samples, "lost"));
	assert_int_equal(count(samples, "="), NEV);
	/* 7 on event 3 plus 5 no event claims; throttles only on event 63 */
	char want[3 * NAME_LEN];
	snprintf(want, sizeof(want), "lost samples: 12 (%s 7); throttle events: 2 (%s 2)", names[3],
		 names[63]);
	assert_string_equal(lost, want);
	perftools__profiles__profile__free_unpacked(m, NULL);
	pprof_free(p);
}

/* One event, nothing lost (the common case), no command line (the agent's windows). */
static void test_plain(void **state)
{
	(void)state;
	struct pprof_event_counts ev = {"cpu-clock", 543, 0, 0};
	struct pprof *p = new_profile();
	struct pprof_run_comments c = {.head = "pmuprof 9.9 agent window 3", .ev = &ev, .nev = 1};
	assert_int_equal(pprof_add_run_comments(p, &c), 0);
	Perftools__Profiles__Profile *m = decode(p);
	assert_int_equal(m->n_comment, 3);
	assert_string_equal(comment(m, 0), "pmuprof 9.9 agent window 3");
	assert_string_equal(comment(m, 1), "samples: cpu-clock=543");
	assert_string_equal(comment(m, 2), "lost samples: 0; throttle events: 0");
	perftools__profiles__profile__free_unpacked(m, NULL);
	pprof_free(p);
}

/* A command line longer than PPROF_COMMENT_MAX is cut, with "..." saying so. */
static void test_cut(void **state)
{
	(void)state;
	size_t n = PPROF_COMMENT_MAX / 1000 + 2;
	char **argv = calloc(n, sizeof(*argv));
	char *arg = malloc(1001);
	assert_non_null(argv);
	assert_non_null(arg);
	memset(arg, 'z', 1000);
	arg[1000] = '\0';
	for (size_t i = 0; i < n; i++)
		argv[i] = arg;
	struct pprof *p = new_profile();
	struct pprof_run_comments c = {.head = "pmuprof 9.9", .argc = (int)n, .argv = argv};
	assert_int_equal(pprof_add_run_comments(p, &c), 0);
	Perftools__Profiles__Profile *m = decode(p);
	assert_int_equal(m->n_comment, 2); /* no events: no samples line */
	const char *cmd = comment(m, 0);
	assert_true(strlen(cmd) < PPROF_COMMENT_MAX);
	assert_true(strlen(cmd) > PPROF_COMMENT_MAX - 1100);
	assert_string_equal(cmd + strlen(cmd) - 4, " ...");
	perftools__profiles__profile__free_unpacked(m, NULL);
	pprof_free(p);
	free(arg);
	free(argv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_long_names),
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_cut),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
