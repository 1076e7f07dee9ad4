/*
 * OTLP encoding (otlp/otlp_encode.c): a pprof with three sample types, two
 * processes, threads, cpus, a kernel frame, inline frames and a build id is
 * encoded as an ExportProfilesServiceRequest, decoded back with the
 * generated C code and checked: the dictionary's zero values at index 0, no
 * duplicates in any table, every index in range, one resource per process
 * with its attributes, per-process per-type totals equal to the pprof's,
 * sample/location/mapping attributes, distinct random profile ids, the
 * original payload once; `protoc --decode` reads the bytes against proto/.
 * Also: resource attribute parsing and its errors, samples without a pid,
 * bad input, the atomic file writer (including a full disk), and trace
 * context labels (trace_id/span_id) becoming deduplicated Links.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "otlp.h"
#include "profile.h"
#include "profile.pb-c.h"
#include "opentelemetry/proto/collector/profiles/v1development/profiles_service.pb-c.h"

typedef Opentelemetry__Proto__Collector__Profiles__V1development__ExportProfilesServiceRequest Req;
typedef Opentelemetry__Proto__Profiles__V1development__ProfilesDictionary Dict;
typedef Opentelemetry__Proto__Profiles__V1development__ResourceProfiles ResourceProfiles;
typedef Opentelemetry__Proto__Profiles__V1development__Profile OProfile;
typedef Opentelemetry__Proto__Profiles__V1development__Sample OSample;
typedef Opentelemetry__Proto__Profiles__V1development__Location OLocation;
typedef Opentelemetry__Proto__Profiles__V1development__Mapping OMapping;
typedef Opentelemetry__Proto__Profiles__V1development__KeyValueAndUnit KVU;
typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;

#define STR_CASE OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE
#define INT_CASE OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE

#define PERIOD 100003
#define KADDR 0xffffffff81234567ull

static const struct pprof_value_type types3[] = {
	{ "samples", "count" },
	{ "cycles", "count" },
	{ "cache-misses", "count" },
};

static Req *unpack_req(const uint8_t *b, size_t n)
{
	Req *r = opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__unpack(
		NULL, n, b);
	assert_non_null(r);
	return r;
}

static void free_req(Req *r)
{
	opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__free_unpacked(
		r, NULL);
}

/*
 * Two processes (4242: threads 4243/4244 on cpus 0/1; 5151: one thread),
 * a kernel frame under a user stack, load_next inlined into chase, and a
 * sample whose tid label is a string (it must merge with the numeric one).
 */
static uint8_t *build_pprof(size_t *len)
{
	char err[256] = "";
	struct pprof *p;
	if (pprof_new(&p, types3, 3, err, sizeof(err)) != 0)
		fail_msg("pprof_new: %s", err);
	struct pprof_mapping_desc exe = {
		.start = 0x400000, .limit = 0x500000, .filename = "/opt/bench/chase",
		.build_id = "0123456789abcdef0123456789abcdef01234567", .has_functions = true,
	};
	struct pprof_mapping_desc other = {
		.start = 0x400000, .limit = 0x480000, .filename = "/usr/bin/other",
	};
	struct pprof_mapping_desc kern = {
		.start = 0xffffffff81000000ull, .limit = 0xffffffff82000000ull,
		.filename = "[kernel.kallsyms]",
	};
	uint64_t m_exe = pprof_add_mapping(p, &exe), m_other = pprof_add_mapping(p, &other);
	uint64_t m_kern = pprof_add_mapping(p, &kern);
	uint64_t f_chase = pprof_add_function(p, "chase", "chase", "/src/chase.c", 10);
	uint64_t f_inner = pprof_add_function(p, "load_next", "load_next", "/src/chase.c", 4);
	uint64_t f_main = pprof_add_function(p, "main", "main", "/src/main.c", 50);
	uint64_t f_kern = pprof_add_function(p, "asm_exc_page_fault", NULL, NULL, 0);
	uint64_t f_other = pprof_add_function(p, "spin", "spin", "/src/other.c", 3);
	struct pprof_line l_chase[] = { { f_inner, 6 }, { f_chase, 14 } };
	struct pprof_line l_main[] = { { f_main, 61 } };
	struct pprof_line l_kern[] = { { f_kern, 0 } };
	struct pprof_line l_other[] = { { f_other, 5 } };
	uint64_t loc_chase = pprof_add_location(p, m_exe, 0x401234, l_chase, 2);
	uint64_t loc_main = pprof_add_location(p, m_exe, 0x400800, l_main, 1);
	uint64_t loc_kern = pprof_add_location(p, m_kern, KADDR, l_kern, 1);
	uint64_t loc_other = pprof_add_location(p, m_other, 0x400100, l_other, 1);
	/* The same main() in the other binary: same function, different mapping. */
	uint64_t loc_omain = pprof_add_location(p, m_other, 0x400200, l_main, 1);
	assert_true(loc_chase && loc_main && loc_kern && loc_other && loc_omain);

	uint64_t st_user[] = { loc_chase, loc_main };
	uint64_t st_kern[] = { loc_kern, loc_chase, loc_main };
	uint64_t st_other[] = { loc_other, loc_omain };
	struct pprof_label a0[] = {
		{ .key = "pid", .num = 4242, .num_unit = "pid" },
		{ .key = "tid", .num = 4243, .num_unit = "tid" },
		{ .key = "comm", .str = "chase" },
		{ .key = "cpu", .num = 0, .num_unit = "cpu" },
	};
	struct pprof_label a0_strtid[] = {
		{ .key = "pid", .num = 4242, .num_unit = "pid" },
		{ .key = "tid", .str = "4243" },
		{ .key = "comm", .str = "chase" },
		{ .key = "cpu", .num = 0, .num_unit = "cpu" },
	};
	struct pprof_label a1[] = {
		{ .key = "pid", .num = 4242, .num_unit = "pid" },
		{ .key = "tid", .num = 4244, .num_unit = "tid" },
		{ .key = "comm", .str = "chase-worker" },
		{ .key = "cpu", .num = 1, .num_unit = "cpu" },
	};
	struct pprof_label b0[] = {
		{ .key = "pid", .num = 5151, .num_unit = "pid" },
		{ .key = "tid", .num = 5151, .num_unit = "tid" },
		{ .key = "comm", .str = "other" },
		{ .key = "cpu", .num = 1, .num_unit = "cpu" },
		{ .key = "node", .num = 0 },
	};
	struct pprof_label b1[] = {
		{ .key = "pid", .num = 5151, .num_unit = "pid" },
		{ .key = "tid", .num = 5152, .num_unit = "tid" },
		{ .key = "comm", .str = "other-io" },
		{ .key = "cpu", .num = 0, .num_unit = "cpu" },
		{ .key = "node", .num = 0 },
	};
	for (int i = 0; i < 100; i++) {
		int64_t v[] = { 1, PERIOD, i % 2 ? 0 : 7 };
		assert_int_equal(pprof_add_sample(p, st_user, 2, v, a0, 4), 0);
		assert_int_equal(pprof_add_sample(p, st_user, 2, v, a1, 4), 0);
	}
	int64_t vk[] = { 3, 3 * PERIOD, 0 };
	assert_int_equal(pprof_add_sample(p, st_kern, 3, vk, a0, 4), 0);
	int64_t vs[] = { 2, 2 * PERIOD, 11 };
	assert_int_equal(pprof_add_sample(p, st_user, 2, vs, a0_strtid, 4), 0);
	int64_t vo[] = { 40, 40 * PERIOD, 13 };
	assert_int_equal(pprof_add_sample(p, st_other, 2, vo, b0, 5), 0);
	/* Only cache-misses: the samples and cycles profiles must not list it. */
	int64_t vc[] = { 0, 0, 17 };
	assert_int_equal(pprof_add_sample(p, st_other, 2, vc, b1, 5), 0);

	pprof_set_period(p, "cycles", "count", PERIOD);
	pprof_set_time(p, 1700000000123456789LL, 3500000000LL);
	uint8_t *buf;
	if (pprof_encode(p, &buf, len, err, sizeof(err)) != 0)
		fail_msg("pprof_encode: %s", err);
	pprof_free(p);
	return buf;
}

/* What the pprof says: totals per (pid, type). */
struct totals {
	int64_t pid[4];
	int64_t v[4][3];
	size_t n;
};

static const char *PS(const Perftools__Profiles__Profile *m, int64_t i)
{
	assert_true(i >= 0 && (size_t)i < m->n_string_table);
	return m->string_table[i];
}

static void pprof_totals(const uint8_t *b, size_t n, struct totals *t)
{
	Perftools__Profiles__Profile *m = perftools__profiles__profile__unpack(NULL, n, b);
	assert_non_null(m);
	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < m->n_sample; i++) {
		const Perftools__Profiles__Sample *s = m->sample[i];
		int64_t pid = -1;
		for (size_t j = 0; j < s->n_label; j++)
			if (strcmp(PS(m, s->label[j]->key), "pid") == 0)
				pid = s->label[j]->num;
		size_t k;
		for (k = 0; k < t->n && t->pid[k] != pid; k++)
			;
		if (k == t->n) {
			assert_true(t->n < 4);
			t->pid[t->n++] = pid;
		}
		for (size_t ty = 0; ty < 3; ty++)
			t->v[k][ty] += s->value[ty];
	}
	perftools__profiles__profile__free_unpacked(m, NULL);
}

/* --- checks on the decoded request -------------------------------------------------------- */

static const char *DS(const Dict *d, int32_t i)
{
	assert_true(i >= 0 && (size_t)i < d->n_string_table);
	return d->string_table[i];
}

/* Serialized form of a message, to compare entries of a table for equality. */
static uint8_t *packed(const ProtobufCMessage *m, size_t *n)
{
	*n = protobuf_c_message_get_packed_size(m);
	uint8_t *b = malloc(*n ? *n : 1);
	assert_non_null(b);
	assert_int_equal(protobuf_c_message_pack(m, b), *n);
	return b;
}

static void check_unique(void **msgs, size_t n, const char *table)
{
	uint8_t **b = calloc(n, sizeof(*b));
	size_t *len = calloc(n, sizeof(*len));
	assert_true(b && len);
	for (size_t i = 0; i < n; i++)
		b[i] = packed(msgs[i], &len[i]);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (len[i] == len[j] && memcmp(b[i], b[j], len[i]) == 0)
				fail_msg("%s[%zu] and [%zu] are the same entry", table, i, j);
	for (size_t i = 0; i < n; i++)
		free(b[i]);
	free(b);
	free(len);
}

static void check_attr_indices(const Dict *d, const int32_t *ai, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_true(ai[i] > 0 && (size_t)ai[i] < d->n_attribute_table);
	/* Keys unique within one attribute list. */
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			assert_int_not_equal(d->attribute_table[ai[i]]->key_strindex,
					     d->attribute_table[ai[j]]->key_strindex);
}

static void check_dictionary(const Dict *d)
{
	assert_non_null(d);
	/* Zero values at index 0 of every table. */
	assert_true(d->n_string_table > 0 && d->n_mapping_table > 0 && d->n_location_table > 0 &&
		    d->n_function_table > 0 && d->n_link_table > 0 && d->n_attribute_table > 0 &&
		    d->n_stack_table > 0);
	assert_string_equal(d->string_table[0], "");
	size_t n;
	uint8_t *b;
	void *zeros[] = { d->mapping_table[0], d->location_table[0], d->function_table[0],
			  d->link_table[0], d->attribute_table[0], d->stack_table[0] };
	for (size_t i = 0; i < sizeof(zeros) / sizeof(zeros[0]); i++) {
		b = packed(zeros[i], &n);
		assert_int_equal(n, 0); /* proto3: the zero value packs to nothing */
		free(b);
	}
	/* No duplicates. */
	for (size_t i = 0; i < d->n_string_table; i++)
		for (size_t j = i + 1; j < d->n_string_table; j++)
			if (strcmp(d->string_table[i], d->string_table[j]) == 0)
				fail_msg("string_table[%zu] and [%zu] are both \"%s\"", i, j,
					 d->string_table[i]);
	check_unique((void **)d->mapping_table, d->n_mapping_table, "mapping_table");
	check_unique((void **)d->location_table, d->n_location_table, "location_table");
	check_unique((void **)d->function_table, d->n_function_table, "function_table");
	check_unique((void **)d->link_table, d->n_link_table, "link_table");
	check_unique((void **)d->attribute_table, d->n_attribute_table, "attribute_table");
	check_unique((void **)d->stack_table, d->n_stack_table, "stack_table");
	/* Every index in range. */
	for (size_t i = 0; i < d->n_mapping_table; i++) {
		(void)DS(d, d->mapping_table[i]->filename_strindex);
		check_attr_indices(d, d->mapping_table[i]->attribute_indices,
				   d->mapping_table[i]->n_attribute_indices);
	}
	for (size_t i = 0; i < d->n_function_table; i++) {
		(void)DS(d, d->function_table[i]->name_strindex);
		(void)DS(d, d->function_table[i]->system_name_strindex);
		(void)DS(d, d->function_table[i]->filename_strindex);
	}
	for (size_t i = 0; i < d->n_location_table; i++) {
		const OLocation *l = d->location_table[i];
		assert_true(l->mapping_index >= 0 && (size_t)l->mapping_index < d->n_mapping_table);
		for (size_t j = 0; j < l->n_lines; j++)
			assert_true(l->lines[j]->function_index > 0 &&
				    (size_t)l->lines[j]->function_index < d->n_function_table);
		check_attr_indices(d, l->attribute_indices, l->n_attribute_indices);
	}
	for (size_t i = 0; i < d->n_stack_table; i++)
		for (size_t j = 0; j < d->stack_table[i]->n_location_indices; j++)
			assert_true(d->stack_table[i]->location_indices[j] > 0 &&
				    (size_t)d->stack_table[i]->location_indices[j] <
					    d->n_location_table);
	for (size_t i = 1; i < d->n_attribute_table; i++) {
		const KVU *a = d->attribute_table[i];
		assert_true(a->key_strindex > 0);
		(void)DS(d, a->key_strindex);
		(void)DS(d, a->unit_strindex);
		assert_non_null(a->value);
	}
}

static const AnyValue *res_attr(const ResourceProfiles *rp, const char *key)
{
	for (size_t i = 0; i < rp->resource->n_attributes; i++)
		if (strcmp(rp->resource->attributes[i]->key, key) == 0)
			return rp->resource->attributes[i]->value;
	return NULL;
}

static const char *res_str(const ResourceProfiles *rp, const char *key)
{
	const AnyValue *v = res_attr(rp, key);
	if (!v)
		return NULL;
	assert_int_equal(v->value_case, STR_CASE);
	return v->string_value;
}

/* The value of the attribute `key` among ai, or NULL. */
static const AnyValue *attr_in(const Dict *d, const int32_t *ai, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(DS(d, d->attribute_table[ai[i]]->key_strindex), key) == 0)
			return d->attribute_table[ai[i]]->value;
	return NULL;
}

static int fake_process_info(void *ctx, int64_t pid, struct otlp_process *out)
{
	(void)ctx;
	if (pid != 4242)
		return -ESRCH;
	out->executable_name = "chase";
	out->executable_path = "/opt/bench/chase";
	out->command_line = "/opt/bench/chase --size 64M";
	return 0;
}

static const uint8_t fake_payload[] = { 0x1f, 0x8b, 8, 0, 'p', 'p', 'r', 'o', 'f' };

static void encode_ok(const uint8_t *pp, size_t pplen, const struct otlp_options *o, uint8_t **out,
		      size_t *out_len)
{
	char err[256] = "";
	int rc = otlp_encode_request(pp, pplen, o, out, out_len, err, sizeof(err));
	if (rc != 0)
		fail_msg("otlp_encode_request: %d %s", rc, err);
	assert_non_null(*out);
}

/* protoc --decode over proto/ accepts the bytes (skipped with a reason without protoc). */
static void protoc_decodes(const uint8_t *b, size_t n)
{
	if (access("/usr/bin/protoc", X_OK) != 0) {
		print_message("skipping protoc --decode: /usr/bin/protoc not installed\n");
		return;
	}
	char tmp[] = "/tmp/pmuprof-test-otlp-req-XXXXXX";
	int fd = mkstemp(tmp);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, b, n), (ssize_t)n);
	close(fd);
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "/usr/bin/protoc --decode=opentelemetry.proto.collector.profiles.v1development."
		 "ExportProfilesServiceRequest --proto_path=%s/../../proto "
		 "opentelemetry/proto/collector/profiles/v1development/profiles_service.proto "
		 "< %s 2>&1",
		 TEST_DATA_DIR, tmp);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	char line[512];
	size_t lines = 0;
	bool saw_dictionary = false, saw_profile_type = false;
	while (fgets(line, sizeof(line), f)) {
		lines++;
		saw_dictionary |= strncmp(line, "dictionary {", 12) == 0;
		saw_profile_type |= strstr(line, "sample_type {") != NULL;
	}
	int st = pclose(f);
	unlink(tmp);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_true(lines > 10 && saw_dictionary && saw_profile_type);
}

static void test_encode_request(void **state)
{
	(void)state;
	unsetenv("OTEL_SERVICE_NAME");
	unsetenv("OTEL_RESOURCE_ATTRIBUTES");
	size_t pplen;
	uint8_t *pp = build_pprof(&pplen);
	struct totals want;
	pprof_totals(pp, pplen, &want);
	assert_int_equal(want.n, 2);

	struct otlp_options o = {
		.resource_attributes = "deployment.environment=test, team = perf%20tools%2Cinc ,",
		.host_name = "testhost",
		.scope_version = "9.9.9",
		.original_payload = fake_payload,
		.original_payload_len = sizeof(fake_payload),
		.process_info = fake_process_info,
	};
	uint8_t *out;
	size_t n;
	encode_ok(pp, pplen, &o, &out, &n);
	protoc_decodes(out, n);
	Req *r = unpack_req(out, n);
	const Dict *d = r->dictionary;
	check_dictionary(d);

	assert_int_equal(r->n_resource_profiles, 2);
	size_t payloads = 0;
	uint8_t ids[6][16];
	size_t nids = 0;
	for (size_t ri = 0; ri < r->n_resource_profiles; ri++) {
		const ResourceProfiles *rp = r->resource_profiles[ri];
		const AnyValue *pid = res_attr(rp, "process.pid");
		assert_non_null(pid);
		assert_int_equal(pid->value_case, INT_CASE);
		size_t wi;
		for (wi = 0; wi < want.n && want.pid[wi] != pid->int_value; wi++)
			;
		assert_true(wi < want.n);
		if (pid->int_value == 4242) {
			assert_string_equal(res_str(rp, "service.name"), "chase");
			assert_string_equal(res_str(rp, "process.executable.name"), "chase");
			assert_string_equal(res_str(rp, "process.executable.path"), "/opt/bench/chase");
			assert_string_equal(res_str(rp, "process.command_line"),
					    "/opt/bench/chase --size 64M");
		} else {
			assert_int_equal(pid->int_value, 5151);
			/* process_info failed: only the pid; the service name falls back. */
			assert_string_equal(res_str(rp, "service.name"), "unknown_service");
			assert_null(res_attr(rp, "process.executable.name"));
			assert_null(res_attr(rp, "process.command_line"));
		}
		assert_string_equal(res_str(rp, "host.name"), "testhost");
		assert_string_equal(res_str(rp, "os.type"), "linux");
		assert_string_equal(res_str(rp, "deployment.environment"), "test");
		assert_string_equal(res_str(rp, "team"), "perf tools,inc");
		/* Resource keys are unique. */
		for (size_t i = 0; i < rp->resource->n_attributes; i++)
			for (size_t j = i + 1; j < rp->resource->n_attributes; j++)
				assert_string_not_equal(rp->resource->attributes[i]->key,
							rp->resource->attributes[j]->key);

		assert_int_equal(rp->n_scope_profiles, 1);
		const Opentelemetry__Proto__Profiles__V1development__ScopeProfiles *sp =
			rp->scope_profiles[0];
		assert_string_equal(sp->scope->name, "pmuprof");
		assert_string_equal(sp->scope->version, "9.9.9");
		assert_int_equal(sp->n_profiles, 3);
		for (size_t t = 0; t < 3; t++) {
			const OProfile *p = sp->profiles[t];
			assert_string_equal(DS(d, p->sample_type->type_strindex), types3[t].type);
			assert_string_equal(DS(d, p->sample_type->unit_strindex), types3[t].unit);
			assert_non_null(p->period_type);
			assert_string_equal(DS(d, p->period_type->type_strindex), "cycles");
			assert_int_equal(p->period, PERIOD);
			assert_int_equal(p->time_unix_nano, 1700000000123456789ULL);
			assert_int_equal(p->duration_nano, 3500000000ULL);
			assert_int_equal(p->profile_id.len, 16);
			bool nonzero = false;
			for (size_t i = 0; i < 16; i++)
				nonzero |= p->profile_id.data[i] != 0;
			assert_true(nonzero);
			assert_true(nids < 6);
			memcpy(ids[nids++], p->profile_id.data, 16);
			if (p->original_payload.len) {
				payloads++;
				assert_string_equal(p->original_payload_format, "pprof");
				assert_memory_equal(p->original_payload.data, fake_payload,
						    sizeof(fake_payload));
			}
			int64_t total = 0;
			for (size_t si = 0; si < p->n_samples; si++) {
				const OSample *s = p->samples[si];
				assert_true(s->stack_index > 0 &&
					    (size_t)s->stack_index < d->n_stack_table);
				assert_true(s->link_index >= 0 && (size_t)s->link_index < d->n_link_table);
				assert_int_equal(s->n_values, 1);
				assert_true(s->values[0] != 0);
				total += s->values[0];
				check_attr_indices(d, s->attribute_indices, s->n_attribute_indices);
				const AnyValue *tid = attr_in(d, s->attribute_indices,
							      s->n_attribute_indices, "thread.id");
				const AnyValue *tn = attr_in(d, s->attribute_indices,
							     s->n_attribute_indices, "thread.name");
				const AnyValue *cpu = attr_in(d, s->attribute_indices,
							      s->n_attribute_indices, "cpu.logical_number");
				assert_true(tid && tn && cpu);
				assert_int_equal(tid->value_case, INT_CASE);
				assert_int_equal(tn->value_case, STR_CASE);
				assert_int_equal(cpu->value_case, INT_CASE);
				assert_null(attr_in(d, s->attribute_indices, s->n_attribute_indices, "pid"));
				/* Identical (stack, attributes) pairs are merged. */
				for (size_t sj = si + 1; sj < p->n_samples; sj++) {
					const OSample *s2 = p->samples[sj];
					assert_false(s2->stack_index == s->stack_index &&
						     s2->n_attribute_indices == s->n_attribute_indices &&
						     memcmp(s2->attribute_indices, s->attribute_indices,
							    s->n_attribute_indices * sizeof(int32_t)) == 0);
				}
				if (pid->int_value == 5151) {
					const AnyValue *node = attr_in(d, s->attribute_indices,
								       s->n_attribute_indices, "node");
					assert_non_null(node);
					assert_int_equal(node->int_value, 0);
				}
			}
			assert_int_equal(total, want.v[wi][t]);
			/* The sample with only cache-misses appears in that profile only. */
			if (pid->int_value == 5151)
				assert_int_equal(p->n_samples, t == 2 ? 2 : 1);
			/* 4242: thread 4243 (user stack, merged str/num tid), 4243 kernel, 4244. */
			if (pid->int_value == 4242)
				assert_int_equal(p->n_samples, t == 2 ? 2 : 3);
		}
	}
	assert_int_equal(payloads, 1);
	for (size_t i = 0; i < nids; i++)
		for (size_t j = i + 1; j < nids; j++)
			assert_memory_not_equal(ids[i], ids[j], 16);

	/* Frames: kernel vs native, inline lines innermost first, build id on the mapping. */
	bool saw_kernel = false, saw_inline = false, saw_build_id = false;
	for (size_t i = 1; i < d->n_location_table; i++) {
		const OLocation *l = d->location_table[i];
		const AnyValue *ft = attr_in(d, l->attribute_indices, l->n_attribute_indices,
					     "profile.frame.type");
		assert_non_null(ft);
		const OMapping *m = d->mapping_table[l->mapping_index];
		if (l->address == KADDR) {
			saw_kernel = true;
			assert_string_equal(ft->string_value, "kernel");
			assert_string_equal(DS(d, m->filename_strindex), "[kernel.kallsyms]");
		} else {
			assert_string_equal(ft->string_value, "native");
		}
		if (l->address == 0x401234) {
			saw_inline = true;
			assert_int_equal(l->n_lines, 2);
			assert_string_equal(
				DS(d, d->function_table[l->lines[0]->function_index]->name_strindex),
				"load_next");
			assert_int_equal(l->lines[0]->line, 6);
			assert_string_equal(
				DS(d, d->function_table[l->lines[1]->function_index]->name_strindex),
				"chase");
			assert_int_equal(l->lines[1]->line, 14);
			assert_string_equal(DS(d, m->filename_strindex), "/opt/bench/chase");
			const AnyValue *bid = attr_in(d, m->attribute_indices, m->n_attribute_indices,
						      "process.executable.build_id.gnu");
			assert_non_null(bid);
			assert_string_equal(bid->string_value,
					    "0123456789abcdef0123456789abcdef01234567");
			saw_build_id = true;
		}
	}
	assert_true(saw_kernel && saw_inline && saw_build_id);
	/* The kernel stack is leaf first: kernel frame, then chase, then main. */
	bool saw_kstack = false;
	for (size_t i = 1; i < d->n_stack_table; i++) {
		const Opentelemetry__Proto__Profiles__V1development__Stack *s = d->stack_table[i];
		if (d->location_table[s->location_indices[0]]->address != KADDR)
			continue;
		saw_kstack = true;
		assert_int_equal(s->n_location_indices, 3);
		assert_int_equal(d->location_table[s->location_indices[1]]->address, 0x401234);
		assert_int_equal(d->location_table[s->location_indices[2]]->address, 0x400800);
	}
	assert_true(saw_kstack);
	/* main() appears once in function_table though two locations use it. */
	size_t mains = 0;
	for (size_t i = 0; i < d->n_function_table; i++)
		mains += strcmp(DS(d, d->function_table[i]->name_strindex), "main") == 0;
	assert_int_equal(mains, 1);

	free_req(r);
	free(out);
	free(pp);
}

static void test_no_payload_and_env(void **state)
{
	(void)state;
	size_t pplen;
	uint8_t *pp = build_pprof(&pplen);
	setenv("OTEL_SERVICE_NAME", "from-env", 1);
	setenv("OTEL_RESOURCE_ATTRIBUTES", "service.name=ignored,k8s.pod.name=pod%2D1", 1);
	struct otlp_options o = { .process_info = fake_process_info };
	uint8_t *out;
	size_t n;
	encode_ok(pp, pplen, &o, &out, &n);
	Req *r = unpack_req(out, n);
	for (size_t ri = 0; ri < r->n_resource_profiles; ri++) {
		const ResourceProfiles *rp = r->resource_profiles[ri];
		assert_string_equal(res_str(rp, "service.name"), "from-env");
		assert_string_equal(res_str(rp, "k8s.pod.name"), "pod-1");
		assert_non_null(res_str(rp, "host.name")); /* gethostname() */
		const Opentelemetry__Proto__Profiles__V1development__ScopeProfiles *sp =
			rp->scope_profiles[0];
		for (size_t t = 0; t < sp->n_profiles; t++) {
			assert_int_equal(sp->profiles[t]->original_payload.len, 0);
			assert_string_equal(sp->profiles[t]->original_payload_format, "");
		}
	}
	free_req(r);
	free(out);

	/* OTEL_RESOURCE_ATTRIBUTES's service.name beats the executable name. */
	unsetenv("OTEL_SERVICE_NAME");
	encode_ok(pp, pplen, &o, &out, &n);
	r = unpack_req(out, n);
	for (size_t ri = 0; ri < r->n_resource_profiles; ri++)
		assert_string_equal(res_str(r->resource_profiles[ri], "service.name"), "ignored");
	free_req(r);
	free(out);

	/* An explicit service name beats everything. */
	o.service_name = "explicit";
	encode_ok(pp, pplen, &o, &out, &n);
	r = unpack_req(out, n);
	for (size_t ri = 0; ri < r->n_resource_profiles; ri++)
		assert_string_equal(res_str(r->resource_profiles[ri], "service.name"), "explicit");
	free_req(r);
	free(out);
	unsetenv("OTEL_RESOURCE_ATTRIBUTES");
	free(pp);
}

static void test_bad_resource_attributes(void **state)
{
	(void)state;
	size_t pplen;
	uint8_t *pp = build_pprof(&pplen);
	static const char *const bad[] = { "a=b,novalue", "=v", "k=%zz", "k=abc%2", "k=%" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct otlp_options o = { .resource_attributes = bad[i] };
		char err[256] = "";
		uint8_t *out = (uint8_t *)1;
		size_t n = 1;
		assert_int_equal(otlp_encode_request(pp, pplen, &o, &out, &n, err, sizeof(err)),
				 -EINVAL);
		assert_null(out);
		assert_int_equal(n, 0);
		assert_non_null(strstr(err, "resource attributes"));
		assert_non_null(strstr(err, "key1=value1"));
		assert_null(strchr(err, '\n'));
	}
	/* From the environment the message names the variable. */
	setenv("OTEL_RESOURCE_ATTRIBUTES", "oops", 1);
	char err[256] = "";
	uint8_t *out;
	size_t n;
	assert_int_equal(otlp_encode_request(pp, pplen, NULL, &out, &n, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "OTEL_RESOURCE_ATTRIBUTES"));
	unsetenv("OTEL_RESOURCE_ATTRIBUTES");
	/* Empty is fine. */
	struct otlp_options o = { .resource_attributes = "" };
	encode_ok(pp, pplen, &o, &out, &n);
	free(out);
	free(pp);
}

static void test_samples_without_pid(void **state)
{
	(void)state;
	unsetenv("OTEL_SERVICE_NAME");
	unsetenv("OTEL_RESOURCE_ATTRIBUTES");
	char err[256] = "";
	struct pprof *p;
	const struct pprof_value_type one[] = { { "cpu-clock", "nanoseconds" } };
	assert_int_equal(pprof_new(&p, one, 1, err, sizeof(err)), 0);
	uint64_t f = pprof_add_function(p, "f", NULL, NULL, 0);
	struct pprof_line lf[] = { { f, 1 } };
	uint64_t loc = pprof_add_location(p, 0, 0x1000, lf, 1);
	uint64_t st[] = { loc };
	int64_t v[] = { 5 };
	struct pprof_label with_pid[] = { { .key = "pid", .num = 7 }, { .key = "tid", .num = 7 } };
	struct pprof_label no_pid[] = { { .key = "tid", .num = 8 } };
	assert_int_equal(pprof_add_sample(p, st, 1, v, with_pid, 2), 0);
	assert_int_equal(pprof_add_sample(p, st, 1, v, no_pid, 1), 0);
	assert_int_equal(pprof_add_sample(p, st, 1, v, NULL, 0), 0);
	uint8_t *pp;
	size_t pplen;
	assert_int_equal(pprof_encode(p, &pp, &pplen, err, sizeof(err)), 0);
	pprof_free(p);

	uint8_t *out;
	size_t n;
	encode_ok(pp, pplen, NULL, &out, &n);
	protoc_decodes(out, n);
	Req *r = unpack_req(out, n);
	check_dictionary(r->dictionary);
	assert_int_equal(r->n_resource_profiles, 2);
	/* The process first, then the samples without a pid. */
	const ResourceProfiles *rp0 = r->resource_profiles[0], *rp1 = r->resource_profiles[1];
	assert_int_equal(res_attr(rp0, "process.pid")->int_value, 7);
	assert_null(res_attr(rp1, "process.pid"));
	assert_string_equal(res_str(rp1, "service.name"), "unknown_service");
	assert_int_equal(rp1->scope_profiles[0]->profiles[0]->n_samples, 2);
	/* A location without a mapping points at mapping 0. */
	const Dict *d = r->dictionary;
	assert_int_equal(d->location_table[1]->mapping_index, 0);
	assert_int_equal(d->n_mapping_table, 1);
	free_req(r);
	free(out);
	free(pp);

	/* No samples at all: one resource, empty profiles, the payload still rides. */
	assert_int_equal(pprof_new(&p, one, 1, err, sizeof(err)), 0);
	assert_int_equal(pprof_encode(p, &pp, &pplen, err, sizeof(err)), 0);
	pprof_free(p);
	struct otlp_options o = { .original_payload = fake_payload,
				  .original_payload_len = sizeof(fake_payload) };
	encode_ok(pp, pplen, &o, &out, &n);
	r = unpack_req(out, n);
	check_dictionary(r->dictionary);
	assert_int_equal(r->n_resource_profiles, 1);
	assert_int_equal(r->resource_profiles[0]->scope_profiles[0]->profiles[0]->n_samples, 0);
	assert_int_equal(r->resource_profiles[0]->scope_profiles[0]->profiles[0]->original_payload.len,
			 sizeof(fake_payload));
	free_req(r);
	free(out);
	free(pp);
}

/* The sample of the first profile with this thread, region ("" none) and link index. */
static const OSample *find_sample(const Dict *d, const OProfile *p, int64_t tid, const char *region,
				  int32_t link)
{
	for (size_t i = 0; i < p->n_samples; i++) {
		const OSample *s = p->samples[i];
		const int32_t *ai = s->attribute_indices;
		const AnyValue *t = attr_in(d, ai, s->n_attribute_indices, "thread.id");
		const AnyValue *r = attr_in(d, ai, s->n_attribute_indices, "region");
		if (t && t->int_value == tid && s->link_index == link &&
		    strcmp(r ? r->string_value : "", region) == 0)
			return s;
	}
	return NULL;
}

static void test_links(void **state)
{
	(void)state;
	char err[256] = "";
	struct pprof *p;
	const struct pprof_value_type one[] = { { "cpu-clock", "nanoseconds" } };
	assert_int_equal(pprof_new(&p, one, 1, err, sizeof(err)), 0);
	uint64_t f = pprof_add_function(p, "work_b", NULL, NULL, 0);
	struct pprof_line lf[] = { { f, 1 } };
	uint64_t st[] = { pprof_add_location(p, 0, 0x1000, lf, 1) };
	const char *T = "4bf92f3577b34da6a3ce929d0e0e4736", *S = "00f067aa0ba902b7";
	struct pprof_label traced10[] = {
		{ .key = "pid", .num = 10 }, { .key = "tid", .num = 10 },
		{ .key = "region", .str = "B" },
		{ .key = "trace_id", .str = T }, { .key = "span_id", .str = S },
	};
	struct pprof_label traced11[] = {
		{ .key = "pid", .num = 10 }, { .key = "tid", .num = 11 },
		{ .key = "region", .str = "B" },
		{ .key = "trace_id", .str = T }, { .key = "span_id", .str = S },
	};
	struct pprof_label upper12[] = { /* the same ids in upper case: the same Link */
		{ .key = "pid", .num = 10 }, { .key = "tid", .num = 12 },
		{ .key = "trace_id", .str = "4BF92F3577B34DA6A3CE929D0E0E4736" },
		{ .key = "span_id", .str = "00F067AA0BA902B7" },
	};
	struct pprof_label other13[] = {
		{ .key = "pid", .num = 10 }, { .key = "tid", .num = 13 },
		{ .key = "trace_id", .str = "0102030405060708090a0b0c0d0e0f10" },
		{ .key = "span_id", .str = "1112131415161718" },
	};
	struct pprof_label untraced10[] = { /* differs from traced10 only by the link */
		{ .key = "pid", .num = 10 }, { .key = "tid", .num = 10 },
		{ .key = "region", .str = "B" },
	};
	struct pprof_label malformed14[] = {
		{ .key = "pid", .num = 10 }, { .key = "tid", .num = 14 },
		{ .key = "trace_id", .str = "not-hex" }, { .key = "span_id", .str = S },
	};
	struct pprof_label zero15[] = {
		{ .key = "pid", .num = 10 }, { .key = "tid", .num = 15 },
		{ .key = "trace_id", .str = "00000000000000000000000000000000" },
		{ .key = "span_id", .str = S },
	};
	int64_t v[] = { 1000 };
	assert_int_equal(pprof_add_sample(p, st, 1, v, traced10, 5), 0);
	assert_int_equal(pprof_add_sample(p, st, 1, v, traced11, 5), 0);
	assert_int_equal(pprof_add_sample(p, st, 1, v, upper12, 4), 0);
	assert_int_equal(pprof_add_sample(p, st, 1, v, other13, 4), 0);
	assert_int_equal(pprof_add_sample(p, st, 1, v, untraced10, 3), 0);
	assert_int_equal(pprof_add_sample(p, st, 1, v, malformed14, 4), 0);
	assert_int_equal(pprof_add_sample(p, st, 1, v, zero15, 4), 0);
	uint8_t *pp;
	size_t pplen;
	assert_int_equal(pprof_encode(p, &pp, &pplen, err, sizeof(err)), 0);
	pprof_free(p);

	uint8_t *out;
	size_t n;
	encode_ok(pp, pplen, NULL, &out, &n);
	protoc_decodes(out, n);
	Req *r = unpack_req(out, n);
	const Dict *d = r->dictionary;
	check_dictionary(d); /* link 0 the zero value, no duplicate links */
	assert_int_equal(d->n_link_table, 3);
	const uint8_t tb[16] = { 0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
				 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36 };
	const uint8_t sb[8] = { 0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7 };
	const Opentelemetry__Proto__Profiles__V1development__Link *l1 = d->link_table[1];
	assert_int_equal(l1->trace_id.len, 16);
	assert_int_equal(l1->span_id.len, 8);
	assert_memory_equal(l1->trace_id.data, tb, 16);
	assert_memory_equal(l1->span_id.data, sb, 8);
	assert_int_equal(d->link_table[2]->trace_id.data[0], 0x01);
	assert_int_equal(d->link_table[2]->span_id.data[7], 0x18);

	const OProfile *prof = r->resource_profiles[0]->scope_profiles[0]->profiles[0];
	assert_int_equal(prof->n_samples, 7);
	const OSample *s10 = find_sample(d, prof, 10, "B", 1);
	assert_non_null(s10);
	/* The link carries the ids: they are not repeated as attributes. */
	assert_null(attr_in(d, s10->attribute_indices, s10->n_attribute_indices, "trace_id"));
	assert_null(attr_in(d, s10->attribute_indices, s10->n_attribute_indices, "span_id"));
	assert_non_null(find_sample(d, prof, 11, "B", 1));
	assert_non_null(find_sample(d, prof, 12, "", 1));
	assert_non_null(find_sample(d, prof, 13, "", 2));
	assert_non_null(find_sample(d, prof, 10, "B", 0));
	/* Ids that form no valid link stay plain attributes. */
	const OSample *s14 = find_sample(d, prof, 14, "", 0);
	assert_non_null(s14);
	const AnyValue *tv =
		attr_in(d, s14->attribute_indices, s14->n_attribute_indices, "trace_id");
	assert_non_null(tv);
	assert_string_equal(tv->string_value, "not-hex");
	const OSample *s15 = find_sample(d, prof, 15, "", 0);
	assert_non_null(s15);
	assert_non_null(attr_in(d, s15->attribute_indices, s15->n_attribute_indices, "span_id"));
	free_req(r);
	free(out);
	free(pp);
}

static void test_bad_input(void **state)
{
	(void)state;
	char err[256] = "";
	uint8_t *out;
	size_t n;
	assert_int_equal(otlp_encode_request(fake_payload, sizeof(fake_payload), NULL, &out, &n, err,
					     sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "gzipped"));
	static const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	assert_int_equal(otlp_encode_request(junk, sizeof(junk), NULL, &out, &n, err, sizeof(err)),
			 -EBADMSG);
	assert_non_null(strstr(err, "not a pprof"));
	assert_null(out);
}

/* --- the file writer ------------------------------------------------------------------- */

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

static void test_write_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/pmuprof-test-otlp-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128], err[256] = "";
	snprintf(path, sizeof(path), "%s/profile.otlp.pb", dir);
	uint8_t data[5000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	assert_int_equal(otlp_write_file(path, data, sizeof(data), err, sizeof(err)), 0);
	/* Overwriting replaces the file atomically. */
	assert_int_equal(otlp_write_file(path, data, 100, err, sizeof(err)), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 100);
	FILE *f = fopen(path, "rb");
	uint8_t back[100];
	assert_int_equal(fread(back, 1, sizeof(back), f), 100);
	fclose(f);
	assert_memory_equal(back, data, 100);
	assert_int_equal(count_entries(dir), 1);

	/* A missing directory: a clean error, nothing created. */
	char bad[160];
	snprintf(bad, sizeof(bad), "%s/nodir/x.pb", dir);
	assert_int_equal(otlp_write_file(bad, data, 10, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "No such file or directory"));
	assert_null(strchr(err, '\n'));
	assert_int_equal(count_entries(dir), 1);
	unlink(path);
	rmdir(dir);
}

/*
 * A full disk: a 16 KiB tmpfs in a private mount namespace (a child process,
 * so nothing leaks into the test's view); skipped with the reason when
 * mounting is not permitted.
 */
static void test_write_file_full_disk(void **state)
{
	(void)state;
	char dir[] = "/tmp/pmuprof-test-otlp-full-XXXXXX";
	assert_non_null(mkdtemp(dir));
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("tmpfs", dir, "tmpfs", 0, "size=16k") < 0) {
			printf("skipping the full-disk case: cannot mount a tmpfs (%s)\n",
			       strerror(errno));
			_exit(77);
		}
		static uint8_t big[256 * 1024];
		char path[128], err[256] = "";
		snprintf(path, sizeof(path), "%s/full.pb", dir);
		int rc = otlp_write_file(path, big, sizeof(big), err, sizeof(err));
		bool ok = rc == -ENOSPC && strstr(err, "No space left on device") &&
			  !strchr(err, '\n');
		DIR *d = opendir(dir);
		struct dirent *de;
		size_t left = 0;
		while (d && (de = readdir(d)))
			left += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
		if (d)
			closedir(d);
		if (!ok || left)
			printf("full disk: rc %d, \"%s\", %zu files left\n", rc, err, left);
		umount(dir);
		_exit(ok && !left ? 0 : 1);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	rmdir(dir);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_request),
		cmocka_unit_test(test_no_payload_and_env),
		cmocka_unit_test(test_bad_resource_attributes),
		cmocka_unit_test(test_samples_without_pid),
		cmocka_unit_test(test_links),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_write_file),
		cmocka_unit_test(test_write_file_full_disk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
