/*
 * The perf.data writer (perfabi/perfdata_write.c): a file with known attrs,
 * ids and records, plus records synthesized from this process's /proc and
 * the kernel's map from /proc/kallsyms,
 * read back by our reader (perfabi/perfdata.c) field by field; the header
 * and feature sections checked byte by byte; failures leave no file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sampler.h"

#define BASE (PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | \
	      PERF_SAMPLE_CPU | PERF_SAMPLE_PERIOD)

static const uint64_t ev_ids[2] = {11, 12}, dummy_ids[2] = {21, 22};

static void make_attrs(struct perf_event_attr *ev, struct perf_event_attr *dummy)
{
	memset(ev, 0, sizeof(*ev));
	ev->type = PERF_TYPE_SOFTWARE;
	ev->size = sizeof(*ev);
	ev->config = PERF_COUNT_SW_CPU_CLOCK;
	ev->sample_period = 100000;
	ev->sample_type = BASE | PERF_SAMPLE_CALLCHAIN;
	ev->read_format = PERF_FORMAT_ID;
	ev->sample_id_all = 1;
	ev->use_clockid = 1;
	ev->clockid = 1;
	*dummy = *ev;
	dummy->config = PERF_COUNT_SW_DUMMY;
	dummy->sample_type = BASE;
	dummy->sample_period = 0;
	dummy->mmap = dummy->mmap2 = dummy->comm = dummy->task = 1;
}

/* A record assembled in 8-byte words. */
struct rec {
	uint64_t w[64];
	size_t n;
};

static void w64(struct rec *r, uint64_t v)
{
	r->w[r->n++] = v;
}

static void w32x2(struct rec *r, uint32_t lo, uint32_t hi)
{
	w64(r, lo | (uint64_t)hi << 32);
}

static const struct perf_event_header *seal(struct rec *r, uint32_t type)
{
	struct perf_event_header h = {.type = type, .misc = 0, .size = (uint16_t)(8 * r->n)};
	memcpy(&r->w[0], &h, sizeof(h));
	return (const struct perf_event_header *)r->w;
}

static char *temp_dir(void)
{
	char tmpl[] = "/tmp/pdw-test-XXXXXX";
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	return strdup(d);
}

/* Files left in dir (besides . and ..). */
static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	unsigned char *b = malloc(*len);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, *len, f), *len);
	fclose(f);
	return b;
}

static uint64_t rd64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static uint32_t rd32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* Header and features as perf reads them: sections in place, strings as perf pads them. */
static void check_layout(const unsigned char *b, size_t len, size_t nev)
{
	assert_memory_equal(b, "PERFILE2", 8);
	assert_int_equal(rd64(b + 8), 104);
	uint64_t asz = rd64(b + 16);
	assert_int_equal(asz, sizeof(struct perf_event_attr) + 16);
	uint64_t aoff = rd64(b + 24), asize = rd64(b + 32), doff = rd64(b + 40),
		 dsize = rd64(b + 48);
	assert_int_equal(asize, nev * asz);
	assert_int_equal(doff, 104);
	assert_true(aoff + asize <= len && doff + dsize <= len);
	assert_int_equal(rd64(b + 56), 0); /* event_types */
	assert_int_equal(rd64(b + 64), 0);
	/* features 3-7, 11, 12, 23, 29, in bit order after the data */
	uint64_t feat = rd64(b + 72);
	static const int bits[] = {3, 4, 5, 6, 7, 11, 12, 23, 29};
	uint64_t want = 0;
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		want |= 1ULL << bits[i];
	assert_int_equal(feat, want);
	assert_int_equal(rd64(b + 80) | rd64(b + 88) | rd64(b + 96), 0);
	const unsigned char *index = b + doff + dsize;
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		uint64_t off = rd64(index + 16 * i), size = rd64(index + 16 * i + 8);
		assert_true(off + size <= len && size > 0);
		const unsigned char *p = b + off;
		if (bits[i] == 7) { /* NRCPUS: available, online */
			assert_int_equal(size, 8);
			assert_int_equal(rd32(p + 4), sysconf(_SC_NPROCESSORS_ONLN));
		} else if (bits[i] == 5) { /* VERSION: u32 padded length, string */
			assert_int_equal(rd32(p), 64);
			assert_string_equal((const char *)p + 4, "pmuprof test");
		} else if (bits[i] == 11) { /* CMDLINE: u32 count, strings */
			assert_int_equal(rd32(p), 3);
			assert_int_equal(rd32(p + 4), 64);
			assert_string_equal((const char *)p + 8, "pmuprof");
			assert_string_equal((const char *)p + 8 + 64 + 4, "record");
		} else if (bits[i] == 12) { /* EVENT_DESC: count, attr size, entries */
			assert_int_equal(rd32(p), nev);
			assert_int_equal(rd32(p + 4), sizeof(struct perf_event_attr));
			const unsigned char *e = p + 8 + sizeof(struct perf_event_attr);
			assert_int_equal(rd32(e), 2); /* ids */
			assert_int_equal(rd32(e + 4), 64);
			assert_string_equal((const char *)e + 8, "cpu-clock");
			assert_int_equal(rd64(e + 8 + 64), ev_ids[0]);
		} else if (bits[i] == 29) { /* CLOCK_DATA: version 1, clockid */
			assert_int_equal(size, 24);
			assert_int_equal(rd32(p), 1);
			assert_int_equal(rd32(p + 4), 1);
		}
	}
	/* each attr entry: the attr, then its ids section */
	for (size_t i = 0; i < nev; i++) {
		const unsigned char *a = b + aoff + i * asz;
		assert_int_equal(rd32(a + 4), sizeof(struct perf_event_attr));
		uint64_t ioff = rd64(a + sizeof(struct perf_event_attr));
		uint64_t isize = rd64(a + sizeof(struct perf_event_attr) + 8);
		assert_int_equal(isize, 16);
		assert_int_equal(rd64(b + ioff), i == 0 ? ev_ids[0] : dummy_ids[0]);
		assert_int_equal(rd64(b + ioff + 8), i == 0 ? ev_ids[1] : dummy_ids[1]);
	}
}

/*
 * _text from /proc/kallsyms (_stext when a kernel lists no _text), 0 when
 * hidden: what the kernel's map must start at.
 */
static uint64_t kernel_text_addr(void)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	char line[512];
	unsigned long long addr = 0, stext = 0;
	while (f && fgets(line, sizeof(line), f)) {
		size_t n = strlen(line);
		if (n > 7 && strcmp(line + n - 7, " _text\n") == 0) {
			sscanf(line, "%llx", &addr);
			break;
		}
		if (n > 8 && strcmp(line + n - 8, " _stext\n") == 0)
			sscanf(line, "%llx", &stext);
	}
	if (!addr)
		addr = stext;
	if (f)
		fclose(f);
	return addr;
}

/* The synthesizer's records, written as record's pipeline writes them. */
static int write_synthesized(void *w, const struct perf_event_header *h)
{
	char e[256];
	return pabi_pdw_write(w, h, e, sizeof(e));
}

static void test_round_trip(void **state)
{
	(void)state;
	char *dir = temp_dir(), path[PATH_MAX], err[BASE_ERR_MAX];
	snprintf(path, sizeof(path), "%s/out.data", dir);
	struct perf_event_attr ev, dummy;
	make_attrs(&ev, &dummy);
	const char *argv[] = {"pmuprof", "record", "-e"};
	struct pabi_pdw_info info = {
		.version = "pmuprof test", .argc = 3, .argv = argv, .clockid = 1};
	struct pabi_pdw *w;
	assert_int_equal(pabi_pdw_open(&w, path, &info, err, sizeof(err)), 0);
	assert_int_equal(entries(dir), 1); /* the temporary file only */
	assert_int_equal(pabi_pdw_add_event(w, &ev, "cpu-clock", ev_ids, 2, err, sizeof(err)), 0);
	assert_int_equal(pabi_pdw_add_event(w, &dummy, "dummy:u", dummy_ids, 2, err, sizeof(err)),
			 0);

	/* this process as -p would find it: its threads' names and its code mappings */
	struct pabi_layout dl;
	pabi_layout_from_attr(&dl, &dummy);
	struct pabi_sample_id sid = {.cpu = 1, .id = dummy_ids[1]};
	assert_int_equal(
		pabi_synthesize(getpid(), false, &dl, &sid, write_synthesized, w, err, sizeof(err)), 0);
	assert_int_equal(
		pabi_synthesize(999999999, false, &dl, &sid, write_synthesized, w, err, sizeof(err)),
		-ENOENT);
	assert_int_equal(pabi_synthesize_kernel(&dl, &sid, write_synthesized, w, err, sizeof(err)),
			 0);
	uint64_t text = kernel_text_addr();

	struct rec comm = {.n = 1}, sample = {.n = 1}, lost = {.n = 1};
	w32x2(&comm, 7, 8);
	memcpy(&comm.w[comm.n++], "work\0\0\0\0", 8);
	w32x2(&comm, 7, 8); /* trailer: TID, TIME, CPU, IDENTIFIER */
	w64(&comm, 5);
	w32x2(&comm, 1, 0);
	w64(&comm, dummy_ids[0]);
	const struct perf_event_header *hc = seal(&comm, PERF_RECORD_COMM);
	w64(&sample, ev_ids[1]); /* IDENTIFIER, IP, TID, TIME, CPU, PERIOD, CALLCHAIN */
	w64(&sample, 0x401000);
	w32x2(&sample, 7, 8);
	w64(&sample, 6);
	w32x2(&sample, 1, 0);
	w64(&sample, 100000);
	w64(&sample, 2);
	w64(&sample, 0x401000);
	w64(&sample, 0x402000);
	const struct perf_event_header *hs = seal(&sample, PERF_RECORD_SAMPLE);
	w64(&lost, ev_ids[0]); /* id, lost, trailer */
	w64(&lost, 3);
	w32x2(&lost, 7, 8);
	w64(&lost, 7);
	w32x2(&lost, 0, 0);
	w64(&lost, ev_ids[0]);
	const struct perf_event_header *hl = seal(&lost, PERF_RECORD_LOST);

	assert_int_equal(pabi_pdw_write(w, hc, err, sizeof(err)), 0);
	assert_int_equal(pabi_pdw_write(w, hs, err, sizeof(err)), 0);
	assert_int_equal(pabi_pdw_finish_round(w, err, sizeof(err)), 0);
	assert_int_equal(pabi_pdw_finish_round(w, err, sizeof(err)), 0); /* nothing new: none */
	assert_int_equal(pabi_pdw_write(w, hl, err, sizeof(err)), 0);
	struct perf_event_header bad = {.type = PERF_RECORD_SAMPLE, .size = 4};
	assert_int_equal(pabi_pdw_write(w, &bad, err, sizeof(err)), -EINVAL);
	uint64_t size = 0;
	assert_int_equal(pabi_pdw_finish(w, &size, err, sizeof(err)), 0);
	pabi_pdw_close(w);
	assert_int_equal(entries(dir), 1); /* the file, renamed; no temporary left */
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal((uint64_t)st.st_size, size);

	size_t len;
	unsigned char *raw = slurp(path, &len);
	check_layout(raw, len, 2);
	free(raw);

	/* read back */
	struct pabi_perfdata *pd;
	assert_int_equal(pabi_perfdata_open(&pd, path, err, sizeof(err)), 0);
	assert_false(pabi_perfdata_is_pipe(pd));
	assert_int_equal(pabi_perfdata_nevents(pd), 2);
	const struct pabi_pd_event *e0 = pabi_perfdata_event(pd, 0),
				   *e1 = pabi_perfdata_event(pd, 1);
	assert_string_equal(e0->name, "cpu-clock");
	assert_string_equal(e1->name, "dummy:u");
	assert_memory_equal(&e0->attr, &ev, sizeof(ev));
	assert_memory_equal(&e1->attr, &dummy, sizeof(dummy));
	assert_int_equal(pabi_perfdata_event_of_id(pd, 11), 0);
	assert_int_equal(pabi_perfdata_event_of_id(pd, 12), 0);
	assert_int_equal(pabi_perfdata_event_of_id(pd, 21), 1);
	assert_int_equal(pabi_perfdata_event_of_id(pd, 22), 1);

	char exe[PATH_MAX], self_comm[32] = "";
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = 0;
	FILE *cf = fopen("/proc/self/comm", "r");
	assert_non_null(cf);
	assert_non_null(fgets(self_comm, sizeof(self_comm), cf));
	fclose(cf);
	self_comm[strcspn(self_comm, "\n")] = 0;
	struct pabi_pd_record r;
	int synth_comm = 0, synth_mmap = 0, exe_mmap = 0, kernel = 0, rounds = 0, k = 0;
	const struct perf_event_header *want[] = {hc, hs, NULL, hl, NULL};
	while (pabi_perfdata_next(pd, &r, err, sizeof(err)) == 1) {
		const struct perf_event_header *h = r.h;
		if (k == 0 && h->type == PERF_RECORD_MMAP) {
			/* the kernel's map: pid -1, [kernel.kallsyms]_text at _text */
			struct pabi_sample_id s;
			const uint32_t *p32 = (const uint32_t *)(h + 1);
			const uint64_t *p64 = (const uint64_t *)(p32 + 2);
			assert_int_equal(h->misc, PERF_RECORD_MISC_KERNEL);
			assert_int_equal(p32[0], UINT32_MAX);
			assert_int_equal(p64[0], text);
			assert_int_equal(p64[2], text);
			assert_true(p64[0] + p64[1] == UINT64_MAX);
			assert_string_equal((const char *)(p64 + 3), "[kernel.kallsyms]_text");
			assert_int_equal(r.event, 1);
			assert_int_equal(pabi_parse_sample_id(&e1->layout, h, &s), 0);
			assert_int_equal(s.id, dummy_ids[1]);
			kernel++;
			continue;
		}
		if (k == 0 && (h->type == PERF_RECORD_COMM || h->type == PERF_RECORD_MMAP2) &&
		    r.time == 0) {
			/* synthesized: the dummy's trailer with this process's pid */
			struct pabi_sample_id s;
			assert_int_equal(r.event, 1);
			assert_int_equal(pabi_parse_sample_id(&e1->layout, h, &s), 0);
			assert_int_equal(s.id, dummy_ids[1]);
			assert_int_equal(s.cpu, 1);
			assert_int_equal(s.pid, getpid());
			const uint32_t *ids32 = (const uint32_t *)(h + 1);
			assert_int_equal(ids32[0], getpid());
			if (h->type == PERF_RECORD_COMM) {
				synth_comm++;
				assert_string_equal((const char *)(ids32 + 2), self_comm);
			} else {
				synth_mmap++;
				assert_int_equal(h->misc, PERF_RECORD_MISC_USER);
				/* pid tid addr len pgoff maj min ino gen prot flags filename */
				const char *fn = (const char *)h + 8 + 8 + 3 * 8 + 8 + 8 + 8 + 8;
				exe_mmap += strcmp(fn, exe) == 0;
			}
			continue;
		}
		assert_true(k < 5);
		if (!want[k]) {
			assert_int_equal(h->type, 68); /* FINISHED_ROUND */
			assert_int_equal(h->size, 8);
			assert_int_equal(r.event, -1);
			rounds++;
		} else {
			assert_int_equal(h->size, want[k]->size);
			assert_memory_equal(h, want[k], h->size);
		}
		if (want[k] == hc) {
			assert_int_equal(r.event, 1);
			assert_int_equal(r.time, 5);
		} else if (want[k] == hs) {
			struct pabi_sample s;
			assert_int_equal(r.event, 0);
			assert_int_equal(r.time, 6);
			assert_int_equal(pabi_parse_sample(&e0->layout, h, &s), 0);
			assert_int_equal(s.id, ev_ids[1]);
			assert_int_equal(s.ip, 0x401000);
			assert_int_equal(s.period, 100000);
			assert_int_equal(s.nr_callchain, 2);
			assert_int_equal(s.callchain[1], 0x402000);
		} else if (want[k] == hl) {
			uint64_t id, nlost;
			assert_int_equal(r.event, 0);
			assert_int_equal(pabi_record_loss(h, &id, &nlost), 1);
			assert_int_equal(id, ev_ids[0]);
			assert_int_equal(nlost, 3);
		}
		k++;
	}
	assert_int_equal(k, 5); /* a round after the LOST record too, at the finish */
	assert_int_equal(rounds, 2);
	assert_int_equal(synth_comm, 1); /* one thread */
	assert_true(synth_mmap >= 2);    /* the test binary, libc, ... */
	assert_int_equal(exe_mmap, 1);   /* one executable mapping of the binary */
	assert_int_equal(kernel, text != 0); /* none when kallsyms hides the addresses */
	pabi_perfdata_close(pd);
	unlink(path);
	rmdir(dir);
	free(dir);
}

static void test_failures(void **state)
{
	(void)state;
	char err[BASE_ERR_MAX];
	struct pabi_pdw *w = NULL;
	int ret = pabi_pdw_open(&w, "/nonexistent-pmuprof-dir/x.data", NULL, err, sizeof(err));
	assert_int_equal(ret, -ENOENT);
	assert_null(w);
	assert_non_null(strstr(err, "cannot write perf.data /nonexistent-pmuprof-dir/x.data: "
				    "creating /nonexistent-pmuprof-dir/x.data.tmp."));
	assert_non_null(strstr(err, "does not exist"));
	assert_int_equal(pabi_pdw_open(&w, "", NULL, err, sizeof(err)), -EINVAL);

	/* abandoned before the finish: nothing is left */
	char *dir = temp_dir(), path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/y.data", dir);
	assert_int_equal(pabi_pdw_open(&w, path, NULL, err, sizeof(err)), 0);
	struct perf_event_header h = {.type = 68, .size = 8};
	assert_int_equal(pabi_pdw_write(w, &h, err, sizeof(err)), 0);
	assert_int_equal(entries(dir), 1);
	pabi_pdw_close(w);
	assert_int_equal(entries(dir), 0);

	/* the rename fails (the target became a non-empty directory): the temporary goes */
	assert_int_equal(pabi_pdw_open(&w, path, NULL, err, sizeof(err)), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	char inner[PATH_MAX + 8];
	snprintf(inner, sizeof(inner), "%s/z", path);
	FILE *f = fopen(inner, "w");
	assert_non_null(f);
	fclose(f);
	ret = pabi_pdw_finish(w, NULL, err, sizeof(err));
	assert_true(ret < 0);
	assert_non_null(strstr(err, "renaming"));
	assert_int_equal(pabi_pdw_write(w, &h, err, sizeof(err)), ret); /* sticky */
	pabi_pdw_close(w);
	assert_int_equal(entries(dir), 1);
	/* a directory is refused at once */
	struct pabi_pdw *w2 = NULL;
	assert_int_equal(pabi_pdw_open(&w2, path, NULL, err, sizeof(err)), -EISDIR);
	assert_null(w2);
	assert_non_null(strstr(err, "is a directory"));
	unlink(inner);
	rmdir(path);
	rmdir(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_failures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
