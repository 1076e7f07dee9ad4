/*
 * stat's counts as a pprof (engine/stat_profile.c), decoded from its
 * encoding: one sample type per supported event (clocks in nanoseconds),
 * values scaled by enabled/running as stat prints them, one sample per
 * group with the mode's labels (each with a unit), on one frame naming what
 * was counted (in a mapping that has its functions), and the run's and the
 * events' comments.
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

#include "engine.h"
#include "profile.pb-c.h"

typedef Perftools__Profiles__Profile Profile;

/* One socket, two nodes of two cores of two CPUs: CPUs 0-3 on node 0, 4-7 on node 1. */
#define SYN "pack:1 numa:2 core:2 pu:2"
#define NEV 3 /* task-clock, page-faults, cycles (cycles: not supported) */

struct fixture {
	struct pmu_ctx *ctx;
	struct pmu_event_list evs;
	struct topo *topo;
	bool supported[NEV];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];
	assert_non_null(f);
	assert_int_equal(pmu_ctx_new(&f->ctx, TEST_SYSFS_ROOT, err, sizeof(err)), 0);
	assert_int_equal(pmu_parse_events(f->ctx, "task-clock,page-faults,cycles", &f->evs, err,
					  sizeof(err)),
			 0);
	assert_int_equal(f->evs.n, NEV);
	assert_int_equal(topo_load(&f->topo, SYN, err, sizeof(err)), 0);
	f->supported[0] = f->supported[1] = true;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	pmu_event_list_free(&f->evs);
	pmu_ctx_free(f->ctx);
	topo_free(f->topo);
	free(f);
	return 0;
}

static Profile *build(const struct eng_stat_counts *c)
{
	struct pprof *p;
	uint8_t *buf;
	size_t len;
	char err[256] = "";
	int ret = eng_stat_profile(&p, c, err, sizeof(err));
	if (ret < 0)
		fail_msg("eng_stat_profile: %d %s", ret, err);
	assert_int_equal(pprof_encode(p, &buf, &len, err, sizeof(err)), 0);
	pprof_free(p);
	Profile *m = perftools__profiles__profile__unpack(NULL, len, buf);
	free(buf);
	assert_non_null(m);
	return m;
}

static const char *str(const Profile *m, int64_t i)
{
	assert_true(i >= 0 && (size_t)i < m->n_string_table);
	return m->string_table[i];
}

static bool has_comment(const Profile *m, const char *text)
{
	for (size_t i = 0; i < m->n_comment; i++)
		if (strstr(str(m, m->comment[i]), text))
			return true;
	return false;
}

/* The numeric label `key` of sample s (with its unit `key`), -1 when absent. */
static int64_t label(const Profile *m, const Perftools__Profiles__Sample *s, const char *key)
{
	for (size_t i = 0; i < s->n_label; i++) {
		if (strcmp(str(m, s->label[i]->key), key) != 0)
			continue;
		assert_string_equal(str(m, s->label[i]->num_unit), key);
		return s->label[i]->num;
	}
	return -1;
}

/* The sample's one frame's function name. */
static const char *frame(const Profile *m, const Perftools__Profiles__Sample *s)
{
	assert_int_equal(s->n_location_id, 1);
	for (size_t i = 0; i < m->n_location; i++) {
		if (m->location[i]->id != s->location_id[0])
			continue;
		assert_int_equal(m->location[i]->n_line, 1);
		/* A mapping that has its functions: pprof neither invents one nor symbolizes. */
		assert_int_equal(m->n_mapping, 1);
		assert_int_equal(m->location[i]->mapping_id, m->mapping[0]->id);
		assert_true(m->mapping[0]->has_functions);
		for (size_t j = 0; j < m->n_function; j++)
			if (m->function[j]->id == m->location[i]->line[0]->function_id)
				return str(m, m->function[j]->name);
	}
	fail_msg("the sample's location or function is missing");
	return NULL;
}

/* The sum: one sample, no labels; a multiplexed clock scaled; the unsupported event left out. */
static void test_sum(void **state)
{
	struct fixture *f = *state;
	struct pmu_count counts[NEV] = {
		{.value = 1000, .enabled = 2000, .running = 500}, /* ran a quarter: x4 */
		{.value = 7, .enabled = 10, .running = 10},
		{0},
	};
	char *argv[] = {"stat", "-e", "task-clock,page-faults,cycles", "--", "sleep", "1", NULL};
	struct eng_stat_counts c = {.evs = &f->evs,
				    .supported = f->supported,
				    .counts = counts,
				    .what = "sleep",
				    .time_nanos = 1234567890,
				    .duration_nanos = 2000,
				    .head = "pmuprof test",
				    .argc = 6,
				    .argv = argv};
	Profile *m = build(&c);
	assert_int_equal(m->n_sample_type, 2);
	assert_string_equal(str(m, m->sample_type[0]->type), "task-clock");
	assert_string_equal(str(m, m->sample_type[0]->unit), "nanoseconds");
	assert_string_equal(str(m, m->sample_type[1]->type), "page-faults");
	assert_string_equal(str(m, m->sample_type[1]->unit), "count");
	assert_string_equal(str(m, m->default_sample_type), "task-clock");
	assert_int_equal(m->n_sample, 1);
	assert_int_equal(m->sample[0]->n_value, 2);
	assert_int_equal(m->sample[0]->value[0], 4000);
	assert_int_equal(m->sample[0]->value[1], 7);
	assert_int_equal(m->sample[0]->n_label, 0);
	assert_string_equal(frame(m, m->sample[0]), "sleep");
	assert_int_equal(m->time_nanos, 1234567890);
	assert_int_equal(m->duration_nanos, 2000);
	assert_true(
		has_comment(m, "pmuprof test: stat -e task-clock,page-faults,cycles -- sleep 1"));
	assert_true(has_comment(m, "event task-clock: multiplexed, counted 25.00% of its enabled "
				   "time; values scaled by enabled/running"));
	assert_true(
		has_comment(m, "event page-faults: counted all of its enabled time, not scaled"));
	assert_true(has_comment(m, "event cycles: not supported by this host, left out"));
	assert_false(has_comment(m, "lost samples")); /* counting loses nothing */
	perftools__profiles__profile__free_unpacked(m, NULL);
}

/* Groups of mode over CPUs 0, 1, 4, 5, 6; counts[g] of page-faults = 100 + g. */
static Profile *grouped(struct fixture *f, enum topo_aggr mode, struct topo_group **g, int *n)
{
	int cpus[] = {0, 1, 4, 5, 6};
	char err[256] = "";
	assert_int_equal(topo_group_cpus(f->topo, mode, cpus, 5, g, n, err, sizeof(err)), 0);
	struct pmu_count *counts = calloc((size_t)*n * NEV, sizeof(*counts));
	assert_non_null(counts);
	for (int i = 0; i < *n; i++) {
		counts[i * NEV] = (struct pmu_count){.value = 10, .enabled = 10, .running = 10};
		counts[i * NEV + 1] = (struct pmu_count){
			.value = 100 + (uint64_t)i, .enabled = 10, .running = 10};
	}
	struct eng_stat_counts c = {.evs = &f->evs,
				    .supported = f->supported,
				    .counts = counts,
				    .groups = *g,
				    .ngroups = (size_t)*n,
				    .mode = mode,
				    .topo = f->topo,
				    .what = "all CPUs",
				    .head = "pmuprof test"};
	Profile *m = build(&c);
	free(counts);
	assert_int_equal(m->n_sample, (size_t)*n);
	for (size_t i = 0; i < m->n_sample; i++)
		assert_string_equal(frame(m, m->sample[i]), "all CPUs");
	return m;
}

/* The sample whose page-faults value is 100 + g, i.e. group g's. */
static const Perftools__Profiles__Sample *of_group(const Profile *m, int g)
{
	for (size_t i = 0; i < m->n_sample; i++)
		if (m->sample[i]->value[1] == 100 + g)
			return m->sample[i];
	fail_msg("no sample of group %d", g);
	return NULL;
}

static void test_per_node(void **state)
{
	struct topo_group *g;
	int n;
	Profile *m = grouped(*state, TOPO_AGGR_NODE, &g, &n);
	assert_int_equal(n, 2);
	for (int i = 0; i < n; i++) {
		const Perftools__Profiles__Sample *s = of_group(m, i);
		assert_int_equal(s->n_label, 1);
		assert_int_equal(label(m, s, "node"), i); /* node 0 too: a unit keeps it in Go */
	}
	topo_groups_free(g, n);
	perftools__profiles__profile__free_unpacked(m, NULL);
}

static void test_per_socket(void **state)
{
	struct topo_group *g;
	int n;
	Profile *m = grouped(*state, TOPO_AGGR_SOCKET, &g, &n);
	assert_int_equal(n, 1);
	assert_int_equal(m->sample[0]->n_label, 1);
	assert_int_equal(label(m, m->sample[0], "socket"), 0);
	assert_int_equal(m->sample[0]->value[1], 100);
	topo_groups_free(g, n);
	perftools__profiles__profile__free_unpacked(m, NULL);
}

/* Cores: CPUs 0 and 1 share core 0; 4 and 5 core 2; 6 is on core 3. */
static void test_per_core(void **state)
{
	struct topo_group *g;
	int n;
	Profile *m = grouped(*state, TOPO_AGGR_CORE, &g, &n);
	assert_int_equal(n, 3);
	int cores[] = {0, 2, 3};
	for (int i = 0; i < n; i++) {
		const Perftools__Profiles__Sample *s = of_group(m, i);
		assert_int_equal(s->n_label, 3);
		assert_int_equal(label(m, s, "core"), cores[i]);
		assert_int_equal(label(m, s, "socket"), 0);
		assert_int_equal(label(m, s, "die"), g[i].id.die);
	}
	topo_groups_free(g, n);
	perftools__profiles__profile__free_unpacked(m, NULL);
}

/* -A: one sample per CPU, labelled with the CPU and its node. */
static void test_per_cpu(void **state)
{
	struct topo_group *g;
	int n;
	Profile *m = grouped(*state, TOPO_AGGR_CPU, &g, &n);
	assert_int_equal(n, 5);
	int cpus[] = {0, 1, 4, 5, 6}, nodes[] = {0, 0, 1, 1, 1};
	for (int i = 0; i < n; i++) {
		const Perftools__Profiles__Sample *s = of_group(m, i);
		assert_int_equal(s->n_label, 2);
		assert_int_equal(label(m, s, "cpu"), cpus[i]);
		assert_int_equal(label(m, s, "node"), nodes[i]);
	}
	topo_groups_free(g, n);
	perftools__profiles__profile__free_unpacked(m, NULL);
}

/* Nothing supported: no profile, and an error that says so. */
static void test_nothing_counted(void **state)
{
	struct fixture *f = *state;
	bool none[NEV] = {false};
	struct pmu_count counts[NEV] = {{0}};
	struct eng_stat_counts c = {
		.evs = &f->evs, .supported = none, .counts = counts, .what = "x", .head = "h"};
	struct pprof *p = (struct pprof *)1;
	char err[256] = "";
	assert_int_equal(eng_stat_profile(&p, &c, err, sizeof(err)), -EINVAL);
	assert_null(p);
	assert_non_null(strstr(err, "no event was counted"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sum),        cmocka_unit_test(test_per_node),
		cmocka_unit_test(test_per_socket), cmocka_unit_test(test_per_core),
		cmocka_unit_test(test_per_cpu),    cmocka_unit_test(test_nothing_counted),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
