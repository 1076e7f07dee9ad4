/*
 * pprof builder, writer and reader: a profile with three sample types,
 * mappings with build ids, inline frames, labels and comments is built from
 * many repeated samples, written gzipped, read back and checked field by
 * field; failures leave nothing behind; and `go tool pprof` (when installed)
 * reads the file without complaint.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "profile.h"
#include "profile.pb-c.h"

typedef Perftools__Profiles__Profile Profile;

#define N_CHASE 1000
#define N_BRANCHY 500
#define PERIOD 100003

struct fixture {
	char dir[256];
	char path[300];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/pmuprof-test-pprof-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/profile.pb.gz", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	DIR *d = opendir(f->dir);
	if (d) {
		struct dirent *de;
		char p[600];
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "%s/%s", f->dir, de->d_name);
			if (unlink(p) < 0)
				rmdir(p);
		}
		closedir(d);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

static size_t count_entries(const char *dir)
{
	size_t n = 0;
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *de;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* Ids handed out, for the checks after reading back. */
struct ids {
	uint64_t map_exe, map_libc;
	uint64_t fn_chase, fn_inner, fn_main, fn_branchy, fn_memcpy;
	uint64_t loc_chase, loc_main, loc_branchy, loc_libc;
};

static const struct pprof_value_type types3[] = {
	{ "samples", "count" },
	{ "cycles", "count" },
	{ "cache-misses", "count" },
};

static struct pprof *build(struct ids *id)
{
	char err[256] = "";
	struct pprof *p;
	if (pprof_new(&p, types3, 3, err, sizeof(err)) != 0)
		fail_msg("pprof_new: %s", err);

	struct pprof_mapping_desc exe = {
		.start = 0x400000, .limit = 0x500000, .offset = 0,
		.filename = "/opt/bench/chase", .build_id = "0123456789abcdef0123456789abcdef01234567",
		.has_functions = true, .has_filenames = true, .has_line_numbers = true,
		.has_inline_frames = true,
	};
	struct pprof_mapping_desc libc = {
		.start = 0x7f0000000000, .limit = 0x7f0000200000, .offset = 0x28000,
		.filename = "/usr/lib/x86_64-linux-gnu/libc.so.6", .build_id = "feedface",
		.has_functions = true,
	};
	id->map_exe = pprof_add_mapping(p, &exe);
	id->map_libc = pprof_add_mapping(p, &libc);
	assert_int_equal(id->map_exe, 1);
	assert_int_equal(id->map_libc, 2);
	assert_int_equal(pprof_add_mapping(p, &exe), id->map_exe); /* deduplicated */

	id->fn_chase = pprof_add_function(p, "chase", "chase", "/src/bench/chase.c", 10);
	id->fn_inner = pprof_add_function(p, "load_next", "load_next", "/src/bench/chase.c", 4);
	id->fn_main = pprof_add_function(p, "main", "main", "/src/bench/main.c", 50);
	id->fn_branchy = pprof_add_function(p, "branchy", "_Z7branchyv", "/src/bench/branchy.c", 7);
	id->fn_memcpy = pprof_add_function(p, "memcpy", NULL, NULL, 0);
	assert_true(id->fn_chase && id->fn_inner && id->fn_main && id->fn_branchy && id->fn_memcpy);
	assert_int_equal(pprof_add_function(p, "chase", "chase", "/src/bench/chase.c", 10),
			 id->fn_chase);

	/* load_next inlined into chase: innermost first. */
	struct pprof_line chase_lines[] = { { id->fn_inner, 6 }, { id->fn_chase, 14 } };
	struct pprof_line main_lines[] = { { id->fn_main, 61 } };
	struct pprof_line branchy_lines[] = { { id->fn_branchy, 9 } };
	struct pprof_line memcpy_lines[] = { { id->fn_memcpy, 0 } };
	id->loc_chase = pprof_add_location(p, id->map_exe, 0x401234, chase_lines, 2);
	id->loc_main = pprof_add_location(p, id->map_exe, 0x400800, main_lines, 1);
	id->loc_branchy = pprof_add_location(p, id->map_exe, 0x402000, branchy_lines, 1);
	id->loc_libc = pprof_add_location(p, id->map_libc, 0x7f0000031000, memcpy_lines, 1);
	assert_true(id->loc_chase && id->loc_main && id->loc_branchy && id->loc_libc);
	assert_int_equal(pprof_add_location(p, id->map_exe, 0x401234, chase_lines, 2),
			 id->loc_chase);
	/* Unknown function or mapping ids are refused. */
	struct pprof_line bad[] = { { 99, 1 } };
	assert_int_equal(pprof_add_location(p, id->map_exe, 0x409999, bad, 1), 0);
	assert_int_equal(pprof_add_location(p, 42, 0x409999, NULL, 0), 0);

	uint64_t st_chase[] = { id->loc_chase, id->loc_main };
	uint64_t st_branchy[] = { id->loc_branchy, id->loc_main };
	uint64_t st_libc[] = { id->loc_libc, id->loc_chase, id->loc_main };
	struct pprof_label lab_a[] = {
		{ .key = "pid", .num = 4242, .num_unit = "pid" },
		{ .key = "tid", .num = 4243, .num_unit = "tid" },
		{ .key = "comm", .str = "chase" },
		{ .key = "cpu", .num = 1, .num_unit = "cpu" },
	};
	/* The same labels in another order: must land in the same sample. */
	struct pprof_label lab_a_shuffled[] = { lab_a[3], lab_a[2], lab_a[0], lab_a[1] };
	struct pprof_label lab_b[] = {
		{ .key = "pid", .num = 4242, .num_unit = "pid" },
		{ .key = "tid", .num = 4244, .num_unit = "tid" },
		{ .key = "comm", .str = "chase-worker" },
		{ .key = "cpu", .num = 1, .num_unit = "cpu" },
	};
	for (int i = 0; i < N_CHASE; i++) {
		int64_t v[] = { 1, PERIOD, i % 2 ? 0 : 10007 };
		assert_int_equal(pprof_add_sample(p, st_chase, 2, v,
						  i % 3 ? lab_a : lab_a_shuffled, 4), 0);
	}
	for (int i = 0; i < N_BRANCHY; i++) {
		int64_t v[] = { 1, PERIOD, 0 };
		assert_int_equal(pprof_add_sample(p, st_branchy, 2, v, lab_b, 4), 0);
	}
	int64_t v1[] = { 1, 0, 10007 };
	assert_int_equal(pprof_add_sample(p, st_libc, 3, v1, lab_a, 4), 0);
	/* An unknown location id is refused, and counts nothing. */
	uint64_t st_bad[] = { 77 };
	assert_int_equal(pprof_add_sample(p, st_bad, 1, v1, NULL, 0), -EINVAL);
	assert_int_equal(pprof_nsamples(p), 3);

	pprof_set_period(p, "cycles", "count", PERIOD);
	pprof_set_time(p, 1700000000123456789LL, 3500000000LL);
	pprof_set_default_sample_type(p, "cycles");
	assert_int_equal(pprof_add_comment(p, "pmuprof record -e cycles,cache-misses -- ./chase"), 0);
	assert_int_equal(pprof_add_comment(p, "lost 0 samples, throttled 2 times"), 0);
	return p;
}

static const char *S(const Profile *m, int64_t i)
{
	assert_true(i >= 0 && (size_t)i < m->n_string_table);
	return m->string_table[i];
}

static const Perftools__Profiles__Location *find_loc(const Profile *m, uint64_t id)
{
	for (size_t i = 0; i < m->n_location; i++)
		if (m->location[i]->id == id)
			return m->location[i];
	fail_msg("location %llu missing", (unsigned long long)id);
	return NULL;
}

static const Perftools__Profiles__Function *find_fn(const Profile *m, uint64_t id)
{
	for (size_t i = 0; i < m->n_function; i++)
		if (m->function[i]->id == id)
			return m->function[i];
	fail_msg("function %llu missing", (unsigned long long)id);
	return NULL;
}

static const Perftools__Profiles__Label *find_label(const Profile *m,
						    const Perftools__Profiles__Sample *s,
						    const char *key)
{
	for (size_t i = 0; i < s->n_label; i++)
		if (strcmp(S(m, s->label[i]->key), key) == 0)
			return s->label[i];
	fail_msg("label %s missing", key);
	return NULL;
}

/* The location at an address: the written ids follow the written order, not the builder's. */
static const Perftools__Profiles__Location *loc_at(const Profile *m, uint64_t mapping_id,
						   uint64_t address)
{
	for (size_t i = 0; i < m->n_location; i++)
		if (m->location[i]->mapping_id == mapping_id && m->location[i]->address == address)
			return m->location[i];
	fail_msg("no location at %#llx", (unsigned long long)address);
	return NULL;
}

static const Perftools__Profiles__Function *fn_named(const Profile *m, const char *name)
{
	for (size_t i = 0; i < m->n_function; i++)
		if (strcmp(S(m, m->function[i]->name), name) == 0)
			return m->function[i];
	fail_msg("no function %s", name);
	return NULL;
}

static void check_ids_unique(const uint64_t *ids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		assert_true(ids[i] != 0);
		for (size_t j = i + 1; j < n; j++)
			assert_true(ids[i] != ids[j]);
	}
}

static void check_profile(const Profile *m, const struct ids *id)
{
	assert_true(m->n_string_table > 0);
	assert_string_equal(m->string_table[0], "");
	/* No duplicates in the string table. */
	for (size_t i = 0; i < m->n_string_table; i++)
		for (size_t j = i + 1; j < m->n_string_table; j++)
			assert_true(strcmp(m->string_table[i], m->string_table[j]) != 0);

	assert_int_equal(m->n_sample_type, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(S(m, m->sample_type[i]->type), types3[i].type);
		assert_string_equal(S(m, m->sample_type[i]->unit), types3[i].unit);
	}
	assert_non_null(m->period_type);
	assert_string_equal(S(m, m->period_type->type), "cycles");
	assert_string_equal(S(m, m->period_type->unit), "count");
	assert_int_equal(m->period, PERIOD);
	assert_int_equal(m->time_nanos, 1700000000123456789LL);
	assert_int_equal(m->duration_nanos, 3500000000LL);
	assert_string_equal(S(m, m->default_sample_type), "cycles");
	assert_int_equal(m->n_comment, 2);
	assert_string_equal(S(m, m->comment[0]), "pmuprof record -e cycles,cache-misses -- ./chase");
	assert_string_equal(S(m, m->comment[1]), "lost 0 samples, throttled 2 times");

	/* Mappings. */
	assert_int_equal(m->n_mapping, 2);
	uint64_t mids[2] = { m->mapping[0]->id, m->mapping[1]->id };
	check_ids_unique(mids, 2);
	const Perftools__Profiles__Mapping *exe = m->mapping[0], *libc = m->mapping[1];
	assert_int_equal(exe->id, id->map_exe);
	assert_int_equal(exe->memory_start, 0x400000);
	assert_int_equal(exe->memory_limit, 0x500000);
	assert_int_equal(exe->file_offset, 0);
	assert_string_equal(S(m, exe->filename), "/opt/bench/chase");
	assert_string_equal(S(m, exe->build_id), "0123456789abcdef0123456789abcdef01234567");
	assert_true(exe->has_functions && exe->has_filenames && exe->has_line_numbers &&
		    exe->has_inline_frames);
	assert_int_equal(libc->id, id->map_libc);
	assert_int_equal(libc->memory_start, 0x7f0000000000);
	assert_int_equal(libc->file_offset, 0x28000);
	assert_string_equal(S(m, libc->filename), "/usr/lib/x86_64-linux-gnu/libc.so.6");
	assert_string_equal(S(m, libc->build_id), "feedface");
	assert_true(libc->has_functions);
	assert_false(libc->has_filenames || libc->has_line_numbers || libc->has_inline_frames);

	/* Functions. */
	assert_int_equal(m->n_function, 5);
	uint64_t fids[5];
	for (size_t i = 0; i < 5; i++)
		fids[i] = m->function[i]->id;
	check_ids_unique(fids, 5);
	const Perftools__Profiles__Function *fb = fn_named(m, "branchy");
	assert_string_equal(S(m, fb->name), "branchy");
	assert_string_equal(S(m, fb->system_name), "_Z7branchyv");
	assert_string_equal(S(m, fb->filename), "/src/bench/branchy.c");
	assert_int_equal(fb->start_line, 7);
	const Perftools__Profiles__Function *fm = fn_named(m, "memcpy");
	assert_string_equal(S(m, fm->name), "memcpy");
	assert_string_equal(S(m, fm->system_name), "");
	assert_string_equal(S(m, fm->filename), "");

	/* Locations, with the inline frames of chase. */
	assert_int_equal(m->n_location, 4);
	uint64_t lids[4];
	for (size_t i = 0; i < 4; i++)
		lids[i] = m->location[i]->id;
	check_ids_unique(lids, 4);
	const Perftools__Profiles__Location *lc = loc_at(m, id->map_exe, 0x401234);
	assert_int_equal(lc->mapping_id, id->map_exe);
	assert_int_equal(lc->address, 0x401234);
	assert_int_equal(lc->n_line, 2);
	assert_string_equal(S(m, find_fn(m, lc->line[0]->function_id)->name), "load_next");
	assert_int_equal(lc->line[0]->line, 6);
	assert_string_equal(S(m, find_fn(m, lc->line[1]->function_id)->name), "chase");
	assert_int_equal(lc->line[1]->line, 14);
	const Perftools__Profiles__Location *ll = loc_at(m, id->map_libc, 0x7f0000031000);
	assert_int_equal(ll->mapping_id, id->map_libc);
	assert_int_equal(ll->address, 0x7f0000031000);

	/* Samples: aggregated, one value per sample type. */
	assert_int_equal(m->n_sample, 3);
	int64_t sum[3] = { 0, 0, 0 };
	const Perftools__Profiles__Sample *s_chase = NULL, *s_branchy = NULL, *s_libc = NULL;
	for (size_t i = 0; i < m->n_sample; i++) {
		const Perftools__Profiles__Sample *s = m->sample[i];
		assert_int_equal(s->n_value, m->n_sample_type);
		for (size_t t = 0; t < 3; t++)
			sum[t] += s->value[t];
		for (size_t j = 0; j < s->n_location_id; j++)
			(void)find_loc(m, s->location_id[j]);
		if (s->location_id[0] == lc->id)
			s_chase = s;
		else if (s->location_id[0] == loc_at(m, id->map_exe, 0x402000)->id)
			s_branchy = s;
		else if (s->location_id[0] == ll->id)
			s_libc = s;
	}
	assert_non_null(s_chase);
	assert_non_null(s_branchy);
	assert_non_null(s_libc);
	assert_int_equal(sum[0], N_CHASE + N_BRANCHY + 1);
	assert_int_equal(sum[1], (int64_t)(N_CHASE + N_BRANCHY) * PERIOD);
	assert_int_equal(sum[2], (N_CHASE / 2 + 1) * 10007);

	assert_int_equal(s_chase->n_location_id, 2);
	assert_int_equal(s_chase->location_id[1], loc_at(m, id->map_exe, 0x400800)->id);
	assert_int_equal(s_chase->value[0], N_CHASE);
	assert_int_equal(s_chase->value[1], (int64_t)N_CHASE * PERIOD);
	assert_int_equal(s_chase->value[2], (N_CHASE / 2) * 10007);
	assert_int_equal(s_chase->n_label, 4);
	assert_int_equal(find_label(m, s_chase, "pid")->num, 4242);
	assert_string_equal(S(m, find_label(m, s_chase, "pid")->num_unit), "pid");
	assert_int_equal(find_label(m, s_chase, "tid")->num, 4243);
	assert_int_equal(find_label(m, s_chase, "cpu")->num, 1);
	assert_string_equal(S(m, find_label(m, s_chase, "comm")->str), "chase");
	assert_int_equal(find_label(m, s_chase, "comm")->num, 0);

	assert_int_equal(s_branchy->value[0], N_BRANCHY);
	assert_int_equal(s_branchy->value[2], 0);
	assert_int_equal(find_label(m, s_branchy, "tid")->num, 4244);
	assert_string_equal(S(m, find_label(m, s_branchy, "comm")->str), "chase-worker");

	assert_int_equal(s_libc->n_location_id, 3);
	assert_int_equal(s_libc->value[1], 0);
}

static void test_roundtrip(void **state)
{
	struct fixture *f = *state;
	struct ids id;
	struct pprof *p = build(&id);
	char err[512] = "";
	size_t written = 0;
	if (pprof_write(p, f->path, &written, err, sizeof(err)) != 0)
		fail_msg("pprof_write: %s", err);
	pprof_free(p);

	/* gzip on disk, and exactly what was reported as written; no temporary left. */
	struct stat st;
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal((size_t)st.st_size, written);
	assert_int_equal(count_entries(f->dir), 1);
	FILE *fp = fopen(f->path, "rb");
	assert_non_null(fp);
	unsigned char magic[2];
	assert_int_equal(fread(magic, 1, 2, fp), 2);
	fclose(fp);
	assert_int_equal(magic[0], 0x1f);
	assert_int_equal(magic[1], 0x8b);

	struct pprof_read *r;
	if (pprof_read_file(&r, f->path, 0, err, sizeof(err)) != 0)
		fail_msg("pprof_read_file: %s", err);
	if (pprof_check_valid(r, err, sizeof(err)) != 0)
		fail_msg("pprof_check_valid: %s", err);
	check_profile(pprof_read_message(r), &id);
	pprof_read_free(r);
}

/* Uncompressed profile.proto bytes read back as well (pprof accepts both). */
static void test_read_uncompressed(void **state)
{
	struct fixture *f = *state;
	struct ids id;
	struct pprof *p = build(&id);
	char err[512] = "";
	uint8_t *buf;
	size_t len;
	assert_int_equal(pprof_encode(p, &buf, &len, err, sizeof(err)), 0);
	pprof_free(p);
	assert_true(len > 0);
	FILE *fp = fopen(f->path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(buf, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
	free(buf);

	struct pprof_read *r;
	if (pprof_read_file(&r, f->path, 0, err, sizeof(err)) != 0)
		fail_msg("pprof_read_file: %s", err);
	if (pprof_check_valid(r, err, sizeof(err)) != 0)
		fail_msg("pprof_check_valid: %s", err);
	check_profile(pprof_read_message(r), &id);
	pprof_read_free(r);
}

static void test_write_errors(void **state)
{
	struct fixture *f = *state;
	struct ids id;
	struct pprof *p = build(&id);
	char err[512] = "";
	char bad[400];

	/* A directory that does not exist: a message naming the path and the cause. */
	snprintf(bad, sizeof(bad), "%s/missing/profile.pb.gz", f->dir);
	size_t written = 123;
	int rc = pprof_write(p, bad, &written, err, sizeof(err));
	assert_int_equal(rc, -ENOENT);
	assert_int_equal(written, 0);
	assert_non_null(strstr(err, bad));
	assert_non_null(strstr(err, "No such file or directory"));
	assert_null(strchr(err, '\n'));
	assert_int_equal(count_entries(f->dir), 0);

	/* rename onto a directory fails after the data was written: the temporary goes away. */
	snprintf(bad, sizeof(bad), "%s/adir", f->dir);
	assert_int_equal(mkdir(bad, 0755), 0);
	err[0] = '\0';
	rc = pprof_write(p, bad, NULL, err, sizeof(err));
	assert_true(rc < 0);
	assert_non_null(strstr(err, bad));
	assert_int_equal(count_entries(f->dir), 1); /* only adir */
	assert_int_equal(rmdir(bad), 0);
	pprof_free(p);

	/* Reading: missing file, empty file, garbage. */
	struct pprof_read *r = NULL;
	rc = pprof_read_file(&r, f->path, 0, err, sizeof(err));
	assert_int_equal(rc, -ENOENT);
	assert_null(r);
	assert_non_null(strstr(err, f->path));
	FILE *fp = fopen(f->path, "wb");
	assert_non_null(fp);
	assert_int_equal(fclose(fp), 0);
	assert_true(pprof_read_file(&r, f->path, 0, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "empty"));
	fp = fopen(f->path, "wb");
	assert_non_null(fp);
	fputs("\x1f\x8bthis is not gzip", fp);
	assert_int_equal(fclose(fp), 0);
	assert_true(pprof_read_file(&r, f->path, 0, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "gzip"));
	fp = fopen(f->path, "wb");
	assert_non_null(fp);
	fputs("\xff\xff\xff\xff\xff not a protobuf", fp);
	assert_int_equal(fclose(fp), 0);
	assert_true(pprof_read_file(&r, f->path, 0, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "not a pprof profile"));
	assert_null(r);
}

/* pprof_check_valid finds what the reader lets through: sparse ids, dangling references. */
/* Lines and mapping flags set after the location and mapping were added, as deferred symbolization does. */
static void test_set_lines_later(void **state)
{
	(void)state;
	char err[256] = "";
	struct pprof *p;
	assert_int_equal(pprof_new(&p, types3, 3, err, sizeof(err)), 0);
	struct pprof_mapping_desc d = {
		.start = 0x400000, .limit = 0x500000, .filename = "/bin/app"};
	uint64_t map = pprof_add_mapping(p, &d);
	uint64_t loc = pprof_add_location(p, map, 0x401000, NULL, 0);
	uint64_t fn = pprof_add_function(p, "inner", "inner", "app.c", 0);
	uint64_t fn2 = pprof_add_function(p, "outer", "outer", "app.c", 0);
	struct pprof_line lines[] = {{fn, 10}, {fn2, 20}};
	assert_int_equal(pprof_set_location_lines(p, loc + 1, lines, 2), -EINVAL); /* no such */
	struct pprof_line bad = {fn2 + 1, 1};
	assert_int_equal(pprof_set_location_lines(p, loc, &bad, 1), -EINVAL);
	uint64_t none = pprof_add_location(p, 0, 0, lines, 1); /* no address: keyed by its lines */
	assert_int_equal(pprof_set_location_lines(p, none, lines, 2), -EINVAL);
	assert_int_equal(pprof_set_location_lines(p, loc, lines, 2), 0);
	assert_int_equal(pprof_set_location_lines(p, loc, lines, 1), -EINVAL); /* has lines */
	/* Still the same location for its address. */
	assert_int_equal(pprof_add_location(p, map, 0x401000, NULL, 0), loc);
	d.has_functions = d.has_inline_frames = true;
	assert_int_equal(pprof_set_mapping_flags(p, map + 1, &d), -EINVAL);
	assert_int_equal(pprof_set_mapping_flags(p, map, &d), 0);
	int64_t v[3] = {1, 2, 3};
	assert_int_equal(pprof_add_sample(p, &loc, 1, v, NULL, 0), 0);

	uint8_t *raw;
	size_t len;
	assert_int_equal(pprof_encode(p, &raw, &len, err, sizeof(err)), 0);
	struct pprof_read *r;
	assert_int_equal(pprof_read_mem(&r, "t", raw, len, 0, err, sizeof(err)), 0);
	assert_int_equal(pprof_check_valid(r, err, sizeof(err)), 0);
	const Profile *m = pprof_read_message(r);
	/* Written ids follow the written order: the location is found by its address. */
	const Perftools__Profiles__Location *l = loc_at(m, m->mapping[0]->id, 0x401000);
	assert_non_null(l);
	assert_int_equal(l->n_line, 2);
	assert_string_equal(S(m, find_fn(m, l->line[0]->function_id)->name), "inner");
	assert_int_equal(l->line[0]->line, 10);
	assert_string_equal(S(m, find_fn(m, l->line[1]->function_id)->name), "outer");
	assert_int_equal(l->line[1]->line, 20);
	assert_true(m->mapping[0]->has_functions);
	assert_true(m->mapping[0]->has_inline_frames);
	assert_false(m->mapping[0]->has_filenames);
	pprof_read_free(r);
	free(raw);
	pprof_free(p);
}

static void test_check_valid(void **state)
{
	(void)state;
	char *strings[] = {"", "samples", "count", "f"};
	Perftools__Profiles__ValueType vt = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
	vt.type = 1;
	vt.unit = 2;
	Perftools__Profiles__ValueType *vts[] = {&vt};
	Perftools__Profiles__Function fn = PERFTOOLS__PROFILES__FUNCTION__INIT;
	fn.id = 1;
	fn.name = 3;
	Perftools__Profiles__Function *fns[] = {&fn};
	Perftools__Profiles__Line line = PERFTOOLS__PROFILES__LINE__INIT;
	line.function_id = 1;
	Perftools__Profiles__Line *lines[] = {&line};
	Perftools__Profiles__Location loc = PERFTOOLS__PROFILES__LOCATION__INIT;
	loc.id = 1;
	loc.n_line = 1;
	loc.line = lines;
	Perftools__Profiles__Location *locs[] = {&loc};
	uint64_t lid[] = {1};
	int64_t val[] = {5};
	Perftools__Profiles__Sample smp = PERFTOOLS__PROFILES__SAMPLE__INIT;
	smp.n_location_id = 1;
	smp.location_id = lid;
	smp.n_value = 1;
	smp.value = val;
	Perftools__Profiles__Sample *smps[] = {&smp};
	Perftools__Profiles__Profile m = PERFTOOLS__PROFILES__PROFILE__INIT;
	m.n_sample_type = 1;
	m.sample_type = vts;
	m.n_sample = 1;
	m.sample = smps;
	m.n_location = 1;
	m.location = locs;
	m.n_function = 1;
	m.function = fns;
	m.n_string_table = 4;
	m.string_table = strings;
	struct {
		uint64_t *field, value;
		const char *why;
	} cases[] = {
		{NULL, 0, NULL},
		{&loc.id, 2, "location ids are not 1..n"},
		{&fn.id, 7, "function ids are not 1..n"},
		{&line.function_id, 2, "names a function that does not exist"},
		{&lid[0], 3, "names a location that does not exist"},
		{&loc.mapping_id, 1, "names a mapping that does not exist"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t saved = cases[i].field ? *cases[i].field : 0;
		if (cases[i].field)
			*cases[i].field = cases[i].value;
		uint8_t buf[512];
		size_t n = perftools__profiles__profile__pack(&m, buf);
		struct pprof_read *r;
		char err[256];
		assert_int_equal(pprof_read_mem(&r, "t", buf, n, 0, err, sizeof(err)), 0);
		int rc = pprof_check_valid(r, err, sizeof(err));
		if (cases[i].why) {
			assert_int_equal(rc, -EINVAL);
			if (!strstr(err, cases[i].why))
				fail_msg("case %zu: %s", i, err);
		} else {
			assert_int_equal(rc, 0);
		}
		pprof_read_free(r);
		if (cases[i].field)
			*cases[i].field = saved;
	}
}

/* Location ids 0 are "no address": such locations differ by their lines. */
static void test_address_zero_and_types(void **state)
{
	(void)state;
	char err[256] = "";
	struct pprof *p;
	assert_int_equal(pprof_new(&p, types3, 0, err, sizeof(err)), -EINVAL);
	assert_null(p);
	assert_true(strlen(err) > 0);
	assert_int_equal(pprof_new(&p, types3, 3, err, sizeof(err)), 0);
	uint64_t fa = pprof_add_function(p, "a", NULL, NULL, 0);
	uint64_t fb = pprof_add_function(p, "b", NULL, NULL, 0);
	struct pprof_line la = { fa, 0 }, lb = { fb, 0 };
	uint64_t l1 = pprof_add_location(p, 0, 0, &la, 1);
	uint64_t l2 = pprof_add_location(p, 0, 0, &lb, 1);
	assert_true(l1 && l2 && l1 != l2);
	assert_int_equal(pprof_add_location(p, 0, 0, &la, 1), l1);
	/* An empty stack is a sample too. */
	int64_t v[] = { 1, 2, 3 };
	assert_int_equal(pprof_add_sample(p, NULL, 0, v, NULL, 0), 0);
	assert_int_equal(pprof_add_sample(p, NULL, 0, v, NULL, 0), 0);
	assert_int_equal(pprof_nsamples(p), 1);
	pprof_free(p);
}

/*
 * Label sets: interned once whatever the order of their labels; a sample
 * added with a set's id is the same sample as one added with its labels; an
 * unknown set id is refused; every sample is written with its set's labels.
 */
static void test_label_sets(void **state)
{
	(void)state;
	char err[256] = "";
	struct pprof *p;
	assert_int_equal(pprof_new(&p, types3, 3, err, sizeof(err)), 0);
	struct pprof_line l = { pprof_add_function(p, "f", NULL, NULL, 0), 0 };
	uint64_t loc = pprof_add_location(p, 0, 0x1000, &l, 1);
	struct pprof_label a[] = {
		{ .key = "pid", .num = 7, .num_unit = "pid" },
		{ .key = "comm", .str = "app" },
	};
	struct pprof_label a_reversed[] = { a[1], a[0] };
	struct pprof_label b[] = { { .key = "comm", .str = "other" } };
	uint32_t sa, sa2, sb, none;
	assert_int_equal(pprof_add_label_set(p, a, 2, &sa), 0);
	assert_int_equal(pprof_add_label_set(p, a_reversed, 2, &sa2), 0);
	assert_int_equal(pprof_add_label_set(p, b, 1, &sb), 0);
	assert_int_equal(pprof_add_label_set(p, NULL, 0, &none), 0);
	assert_true(sa != 0 && sa == sa2 && sb != 0 && sb != sa);
	assert_int_equal(none, 0);
	assert_int_equal(pprof_add_label_set(p, NULL, 1, &none), -EINVAL);

	int64_t v[] = { 1, 10, 100 };
	assert_int_equal(pprof_add_sample_labelled(p, &loc, 1, v, sa), 0);
	assert_int_equal(pprof_add_sample(p, &loc, 1, v, a_reversed, 2), 0);
	assert_int_equal(pprof_add_sample_labelled(p, &loc, 1, v, sb), 0);
	assert_int_equal(pprof_add_sample_labelled(p, &loc, 1, v, 0), 0);
	assert_int_equal(pprof_add_sample_labelled(p, &loc, 1, v, sb + 1), -EINVAL);
	assert_int_equal(pprof_nsamples(p), 3);

	uint8_t *buf;
	size_t len;
	assert_int_equal(pprof_encode(p, &buf, &len, err, sizeof(err)), 0);
	Profile *m = perftools__profiles__profile__unpack(NULL, len, buf);
	assert_non_null(m);
	assert_int_equal(m->n_sample, 3);
	int with_a = 0, with_b = 0, bare = 0;
	for (size_t i = 0; i < m->n_sample; i++) {
		const Perftools__Profiles__Sample *sm = m->sample[i];
		if (sm->n_label == 0) {
			bare++;
			assert_int_equal(sm->value[0], 1);
			continue;
		}
		const char *comm = NULL;
		int64_t pid = 0;
		for (size_t j = 0; j < sm->n_label; j++) {
			const char *key = m->string_table[sm->label[j]->key];
			if (strcmp(key, "comm") == 0)
				comm = m->string_table[sm->label[j]->str];
			else if (strcmp(key, "pid") == 0)
				pid = sm->label[j]->num;
		}
		assert_non_null(comm);
		if (strcmp(comm, "app") == 0) {
			with_a++;
			assert_int_equal(sm->n_label, 2);
			assert_int_equal(pid, 7);
			assert_int_equal(sm->value[2], 200); /* both adds aggregated */
		} else {
			with_b++;
			assert_string_equal(comm, "other");
			assert_int_equal(sm->n_label, 1);
			assert_int_equal(sm->value[2], 100);
		}
	}
	assert_true(with_a == 1 && with_b == 1 && bare == 1);
	perftools__profiles__profile__free_unpacked(m, NULL);
	free(buf);
	pprof_free(p);
}

/* Many distinct stacks and labels: the tables grow and still aggregate exactly. */
static void test_many_stacks(void **state)
{
	(void)state;
	char err[256] = "";
	struct pprof *p;
	assert_int_equal(pprof_new(&p, types3, 3, err, sizeof(err)), 0);
	uint64_t locs[64];
	for (int i = 0; i < 64; i++) {
		char name[32];
		snprintf(name, sizeof(name), "f%d", i);
		struct pprof_line l = { pprof_add_function(p, name, NULL, NULL, 0), 0 };
		locs[i] = pprof_add_location(p, 0, 0x1000 + (uint64_t)i * 16, &l, 1);
		assert_true(locs[i] != 0);
	}
	for (int rep = 0; rep < 3; rep++)
		for (int i = 0; i < 5000; i++) {
			/* i in base 64 over the leaf frames: 5000 distinct stacks. */
			uint64_t st[8];
			for (int d = 0; d < 8; d++)
				st[d] = locs[d < 3 ? (i >> (6 * d)) % 64 : d];
			char comm[16];
			snprintf(comm, sizeof(comm), "t%d", i % 5);
			struct pprof_label lab = { .key = "comm", .str = comm };
			int64_t v[] = { 1, 10, 100 };
			assert_int_equal(pprof_add_sample(p, st, 8, v, &lab, 1), 0);
		}
	assert_int_equal(pprof_nsamples(p), 5000);
	uint8_t *buf;
	size_t len;
	assert_int_equal(pprof_encode(p, &buf, &len, err, sizeof(err)), 0);
	Profile *m = perftools__profiles__profile__unpack(NULL, len, buf);
	assert_non_null(m);
	assert_int_equal(m->n_sample, 5000);
	for (size_t i = 0; i < m->n_sample; i++) {
		assert_int_equal(m->sample[i]->value[0], 3);
		assert_int_equal(m->sample[i]->value[2], 300);
	}
	perftools__profiles__profile__free_unpacked(m, NULL);
	free(buf);
	pprof_free(p);
}

/*
 * The written order, for gzip: locations by (mapping, address), functions as
 * those locations first name them, samples by their stacks from the root; ids
 * 1..n in that order, every reference following; a system name equal to the
 * name is left out (pprof reads an empty one as the name), a different one kept.
 */
static void test_written_order(void **state)
{
	(void)state;
	struct ids id;
	struct pprof *p = build(&id);
	char err[256] = "";
	uint8_t *buf;
	size_t len;
	assert_int_equal(pprof_encode(p, &buf, &len, err, sizeof(err)), 0);
	pprof_free(p);
	Profile *m = perftools__profiles__profile__unpack(NULL, len, buf);
	assert_non_null(m);
	for (size_t i = 0; i < m->n_location; i++) {
		const Perftools__Profiles__Location *l = m->location[i];
		assert_int_equal(l->id, i + 1);
		if (i > 0) {
			const Perftools__Profiles__Location *prev = m->location[i - 1];
			assert_true(prev->mapping_id < l->mapping_id ||
				    (prev->mapping_id == l->mapping_id && prev->address < l->address));
		}
	}
	/* main (0x400800) first, then chase's two (inner frame first), branchy, memcpy. */
	static const char *const fn_order[] = { "main", "load_next", "chase", "branchy", "memcpy" };
	assert_int_equal(m->n_function, 5);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(m->function[i]->id, i + 1);
		assert_string_equal(S(m, m->function[i]->name), fn_order[i]);
	}
	assert_string_equal(S(m, fn_named(m, "chase")->system_name), "");
	assert_string_equal(S(m, fn_named(m, "branchy")->system_name), "_Z7branchyv");
	/* Root first: every stack ends in main (location 1); then chase's before branchy's. */
	uint64_t chase = loc_at(m, id.map_exe, 0x401234)->id;
	assert_int_equal(m->n_sample, 3);
	for (size_t i = 1; i < m->n_sample; i++) {
		const Perftools__Profiles__Sample *a = m->sample[i - 1], *b = m->sample[i];
		assert_int_equal(a->location_id[a->n_location_id - 1], 1);
		assert_true(a->location_id[a->n_location_id - 2] <=
			    b->location_id[b->n_location_id - 2]);
	}
	assert_int_equal(m->sample[0]->location_id[0], chase); /* {chase, main} */
	assert_int_equal(m->sample[0]->n_location_id, 2);
	perftools__profiles__profile__free_unpacked(m, NULL);
	free(buf);
}

/* VmRSS or VmHWM of this process, KiB (-1 if /proc says nothing). */
static long status_kib(const char *field)
{
	FILE *fp = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	size_t n = strlen(field);
	while (fp && fgets(line, sizeof(line), fp))
		if (strncmp(line, field, n) == 0 && line[n] == ':')
			v = atol(line + n + 1);
	if (fp)
		fclose(fp);
	return v;
}

/*
 * Encoding costs about the encoded bytes, not a message struct per sample,
 * label, location and line: the peak RSS while pprof_encode runs (VmHWM, reset
 * through /proc/self/clear_refs) grows by less than twice the encoding's size.
 */
static void test_encode_memory(void **state)
{
	(void)state;
#if defined(__SANITIZE_ADDRESS__)
	skip(); /* the sanitizer's quarantine and shadow say nothing of the encoder's own */
#endif
	char err[256] = "";
	struct pprof *p;
	assert_int_equal(pprof_new(&p, types3, 3, err, sizeof(err)), 0);
	enum { NLOC = 4096, NSMP = 60000, DEPTH = 12 };
	static uint64_t locs[NLOC];
	for (int i = 0; i < NLOC; i++) {
		char name[32];
		snprintf(name, sizeof(name), "f%d", i / 4);
		struct pprof_line l = { pprof_add_function(p, name, name, "/src/f.c", 0), i % 97 };
		locs[i] = pprof_add_location(p, 0, 0x400000 + (uint64_t)i * 24, &l, 1);
		assert_true(locs[i] != 0);
	}
	for (int i = 0; i < NSMP; i++) {
		uint64_t st[DEPTH];
		for (int d = 0; d < DEPTH; d++)
			st[d] = locs[((uint64_t)i * 2654435761u >> (d * 2)) % NLOC];
		struct pprof_label lab[] = {
			{ .key = "pid", .num = 100, .num_unit = "pid" },
			{ .key = "tid", .num = 100 + i % 8, .num_unit = "tid" },
			{ .key = "comm", .str = "worker" },
			{ .key = "cpu", .num = i % 2, .num_unit = "cpu" },
		};
		int64_t v[] = { 1, 10, 100 };
		assert_int_equal(pprof_add_sample(p, st, DEPTH, v, lab, 4), 0);
	}
	FILE *fp = fopen("/proc/self/clear_refs", "w");
	if (!fp || fputs("5", fp) < 0 || fclose(fp) != 0 || status_kib("VmHWM") < 0) {
		print_message("SKIP: cannot reset the peak RSS here\n");
		pprof_free(p);
		skip();
	}
	long before = status_kib("VmRSS");
	uint8_t *buf;
	size_t len;
	assert_int_equal(pprof_encode(p, &buf, &len, err, sizeof(err)), 0);
	long grew = status_kib("VmHWM") - before;
	print_message("%d samples: %zu KiB encoded, peak RSS +%ld KiB while encoding\n", NSMP,
		      len >> 10, grew);
	assert_true(grew < (long)(2 * len >> 10));
	free(buf);
	pprof_free(p);
}

/* Runs cmd with stderr folded into stdout; returns the exit status, output in out. */
static int run(const char *cmd, char *out, size_t outlen)
{
	FILE *fp = popen(cmd, "r");
	assert_non_null(fp);
	size_t n = fread(out, 1, outlen - 1, fp);
	out[n] = '\0';
	/* Drain the rest so the child never blocks on a full pipe. */
	char sink[4096];
	while (fread(sink, 1, sizeof(sink), fp) > 0)
		;
	int st = pclose(fp);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The late comment's fill runs once the rest is compressed and written; its text is the comment. */
struct late_probe {
	char tmp[320];
	off_t written_then;
	int calls;
};

static void late_fill(void *arg, char *buf, size_t len)
{
	struct late_probe *lp = arg;
	struct stat st;
	lp->written_then = stat(lp->tmp, &st) == 0 ? st.st_size : -1;
	lp->calls++;
	snprintf(buf, len, "late: call %d", lp->calls);
}

static void test_late_comment(void **state)
{
	struct fixture *f = *state;
	char err[256] = "";
	struct pprof *p;
	assert_int_equal(pprof_new(&p, types3, 3, err, sizeof(err)), 0);
	/* ~600 KB of function names that compress poorly: many deflate blocks before the comment. */
	for (int i = 0; i < 20000; i++) {
		char name[40];
		snprintf(name, sizeof(name), "fn_%08x_%08x", (unsigned)i * 2654435761u,
			 (unsigned)i * 40503u);
		struct pprof_line l = {pprof_add_function(p, name, NULL, NULL, 0), 0};
		uint64_t loc = pprof_add_location(p, 0, 0x1000 + (uint64_t)i * 16, &l, 1);
		int64_t v[] = {1, 2, 3};
		assert_int_equal(pprof_add_sample(p, &loc, 1, v, NULL, 0), 0);
	}
	assert_int_equal(pprof_add_comment(p, "before"), 0);
	struct late_probe lp = {.calls = 0};
	assert_int_equal(pprof_add_late_comment(p, 8, late_fill, &lp), -EINVAL);
	assert_int_equal(pprof_add_late_comment(p, 64, late_fill, &lp), 0);
	snprintf(lp.tmp, sizeof(lp.tmp), "%s.tmp.%ld", f->path, (long)getpid());
	size_t written = 0;
	if (pprof_write(p, f->path, &written, err, sizeof(err)) != 0)
		fail_msg("pprof_write: %s", err);
	assert_int_equal(lp.calls, 1);
	/* All but deflate's last window had reached the file when the comment was made. */
	assert_true(lp.written_then > 0 && (size_t)lp.written_then + 65536 >= written);

	struct pprof_read *r;
	if (pprof_read_file(&r, f->path, 0, err, sizeof(err)) != 0)
		fail_msg("pprof_read_file: %s", err);
	if (pprof_check_valid(r, err, sizeof(err)) != 0)
		fail_msg("pprof_check_valid: %s", err);
	const Profile *m = pprof_read_message(r);
	assert_int_equal(m->n_comment, 2);
	assert_string_equal(m->string_table[m->comment[0]], "before");
	const char *late = m->string_table[m->comment[1]];
	assert_int_equal(strlen(late), 64);
	assert_memory_equal(late, "late: call 1 ", 13); /* padded with spaces */
	pprof_read_free(r);

	/* pprof_encode fills it too (OTLP carries the same bytes); a cleared one is gone. */
	uint8_t *buf;
	size_t len;
	assert_int_equal(pprof_encode(p, &buf, &len, err, sizeof(err)), 0);
	assert_int_equal(lp.calls, 2);
	assert_non_null(memmem(buf, len, "late: call 2", 12));
	free(buf);
	pprof_clear_comments(p);
	assert_int_equal(pprof_encode(p, &buf, &len, err, sizeof(err)), 0);
	assert_int_equal(lp.calls, 2);
	free(buf);
	pprof_free(p);
}

static void test_go_tool_pprof(void **state)
{
	struct fixture *f = *state;
	if (system("command -v go >/dev/null 2>&1") != 0) {
		print_message("[  SKIP    ] go is not on PATH (Debian: apt-get install golang-go): "
			      "not checking that go tool pprof reads the profile\n");
		skip();
	}
	/* go tool wants a writable build cache (first run compiles pprof). */
	if (!getenv("GOCACHE"))
		setenv("GOCACHE", "/tmp/pmuprof-test-gocache", 1);
	if (!getenv("HOME"))
		setenv("HOME", "/tmp", 1);

	struct ids id;
	struct pprof *p = build(&id);
	char err[512] = "";
	if (pprof_write(p, f->path, NULL, err, sizeof(err)) != 0)
		fail_msg("pprof_write: %s", err);
	pprof_free(p);

	static char out[1 << 16];
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "go tool pprof -raw '%s' 2>&1", f->path);
	int rc = run(cmd, out, sizeof(out));
	if (rc != 0 || strstr(out, "Warning") || strstr(out, "error"))
		fail_msg("%s: exit %d:\n%s", cmd, rc, out);
	assert_non_null(strstr(out, "load_next"));
	assert_non_null(strstr(out, "chase"));
	assert_non_null(strstr(out, "cache-misses/count"));

	snprintf(cmd, sizeof(cmd), "go tool pprof -top -sample_index=cycles '%s' 2>&1", f->path);
	rc = run(cmd, out, sizeof(out));
	if (rc != 0 || strstr(out, "Warning") || strstr(out, "error"))
		fail_msg("%s: exit %d:\n%s", cmd, rc, out);
	assert_non_null(strstr(out, "branchy"));
	assert_non_null(strstr(out, "load_next"));
	assert_non_null(strstr(out, "main"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
		cmocka_unit_test(test_set_lines_later),
		cmocka_unit_test_setup_teardown(test_read_uncompressed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_errors, setup, teardown),
		cmocka_unit_test(test_address_zero_and_types),
		cmocka_unit_test(test_label_sets),
		cmocka_unit_test(test_many_stacks),
		cmocka_unit_test(test_written_order),
		cmocka_unit_test(test_encode_memory),
		cmocka_unit_test(test_check_valid),
		cmocka_unit_test_setup_teardown(test_late_comment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_go_tool_pprof, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
