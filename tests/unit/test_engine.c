/*
 * The engine on a synthetic source (two CPUs, two sampling events and the
 * side-band dummy): records out of order across the CPUs reach the tool in
 * time order, only up to each batch's safe time; each callback gets the
 * parsed fields; the period of an event without PERIOD comes from its attr;
 * LOST by its body's id, LOST_SAMPLES by its own, THROTTLE counted per
 * event; pid -1 maps stay out of the process model; the main process is
 * the one with the most samples but the idle task. Then a perf.data file
 * (written with the perf.data writer): FINISHED_ROUND releases the records
 * up to the newest time of the round before, as perf's ordered events.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "profile.pb-c.h"
#include "synth.h"

#define ID_CYCLES 100 /* event 0: samples PERIOD */
#define ID_FIXED 200  /* event 1: a fixed period, no PERIOD in its samples */
#define ID_DUMMY 300  /* event 2: side-band */
#define FIXED_PERIOD 5000
#define BASE                                                                                       \
	(PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |            \
	 PERF_SAMPLE_CPU)

/* --- a scripted source ----------------------------------------------------------- */

static void script_init(struct synth_script *s, struct eng_source *src)
{
	static const uint64_t ids[] = {ID_CYCLES, ID_FIXED, ID_DUMMY};
	static const char *const names[] = {"cycles", "fixed", "dummy:u"};
	synth_init(s, src, 3, ids, names);
	for (int i = 0; i < 3; i++)
		s->attr[i].sample_type = BASE;
	s->attr[0].type = PERF_TYPE_HARDWARE;
	s->attr[0].sample_type |= PERF_SAMPLE_PERIOD;
	s->attr[0].freq = 1;
	s->attr[1].type = PERF_TYPE_SOFTWARE;
	s->attr[1].config = PERF_COUNT_SW_PAGE_FAULTS;
	s->attr[1].sample_period = FIXED_PERIOD;
	s->attr[2].type = PERF_TYPE_SOFTWARE;
	s->attr[2].config = PERF_COUNT_SW_DUMMY;
}

static void sample(struct synth_script *s, int batch, int cpu, uint64_t id, uint32_t pid,
		   uint64_t ip, uint64_t time)
{
	struct synth_rec r = {.n = 0};
	synth_w64(&r, id);
	synth_w64(&r, ip);
	synth_w32x2(&r, pid, pid + 1);
	synth_w64(&r, time);
	synth_w32x2(&r, (uint32_t)cpu, 0);
	if (id != ID_FIXED)
		synth_w64(&r, 7); /* PERIOD */
	synth_put(s, batch, cpu, time, &r, PERF_RECORD_SAMPLE);
}

/* An executable page of pid at addr. */
static void mmap2(struct synth_script *s, int batch, int cpu, int32_t pid, uint64_t addr,
		  uint64_t time, const char *file)
{
	synth_mmap2(s, batch, cpu, pid, addr, 0x1000, 5 /* PROT_READ | PROT_EXEC */, time, file,
		    ID_DUMMY);
}

/* --- what the tool saw --------------------------------------------------------- */

struct seen {
	struct eng *e;
	struct proc_model *procs;
	struct {
		char what; /* 's'ample, 'm'map, 'c'omm, 'f'ork, 'x' exit, 'l'ost, 't'hrottle */
		int ev;
		uint64_t time, ip, period, n;
		uint32_t pid, tid, cpu;
		bool mapped, flag;
	} r[64];
	int n, rounds;
};

static int seen_sample(void *arg, const struct eng_event *ev, const struct pabi_sample *smp)
{
	struct seen *s = arg;
	s->r[s->n].what = 's';
	s->r[s->n].ev = (int)(ev - eng_event(s->e, 0));
	s->r[s->n].time = smp->time;
	s->r[s->n].ip = smp->ip;
	s->r[s->n].period = smp->period;
	s->r[s->n].pid = smp->pid;
	s->r[s->n].tid = smp->tid;
	s->r[s->n].cpu = smp->cpu;
	s->r[s->n++].mapped = proc_find_map(s->procs, (pid_t)smp->pid, smp->ip) != NULL;
	return 0;
}

static int seen_header(struct seen *s, char what, const struct perf_event_header *h)
{
	uint32_t pid;
	memcpy(&pid, h + 1, 4);
	s->r[s->n].what = what;
	s->r[s->n++].pid = pid;
	return 0;
}

static int seen_mmap(void *arg, const struct perf_event_header *h)
{
	return seen_header(arg, 'm', h);
}

static int seen_comm(void *arg, const struct perf_event_header *h)
{
	return seen_header(arg, 'c', h);
}

static int seen_fork(void *arg, const struct perf_event_header *h)
{
	return seen_header(arg, 'f', h);
}

static int seen_exit(void *arg, const struct perf_event_header *h)
{
	return seen_header(arg, 'x', h);
}

static int seen_lost(void *arg, int ev, uint64_t n)
{
	struct seen *s = arg;
	s->r[s->n].what = 'l';
	s->r[s->n].ev = ev;
	s->r[s->n++].n = n;
	return 0;
}

static int seen_throttle(void *arg, int ev, bool unthrottle)
{
	struct seen *s = arg;
	s->r[s->n].what = 't';
	s->r[s->n].ev = ev;
	s->r[s->n++].flag = unthrottle;
	return 0;
}

static int seen_round(void *arg)
{
	((struct seen *)arg)->rounds++;
	return 0;
}

static const struct eng_tool seen_tool = {
	.sample = seen_sample,
	.mmap = seen_mmap,
	.comm = seen_comm,
	.fork = seen_fork,
	.exit = seen_exit,
	.lost = seen_lost,
	.throttle = seen_throttle,
	.finished_round = seen_round,
};

static struct eng *engine(struct seen *s, const struct eng_source *src)
{
	char err[BASE_ERR_MAX];
	struct eng_tool tool = seen_tool;
	tool.arg = s;
	struct eng_options o = {.profile = true, .tool = &tool};
	assert_int_equal(proc_model_new(&s->procs), 0);
	assert_int_equal(eng_new(&s->e, src, s->procs, &o, err, sizeof(err)), 0);
	return s->e;
}

/* --- tests --------------------------------------------------------------------- */

static void test_time_order_across_cpus(void **state)
{
	(void)state;
	struct synth_script sc;
	struct eng_source src;
	script_init(&sc, &src);
	sc.nbatches = 2;
	/* batch 0: cpu0 t=10,40; cpu1 t=5,25 (its mapping at 20); safe time 30 */
	sample(&sc, 0, 0, ID_CYCLES, 42, 0x401000, 10);
	sample(&sc, 0, 0, ID_CYCLES, 42, 0x401010, 40);
	sample(&sc, 0, 1, ID_CYCLES, 42, 0x401020, 5);
	mmap2(&sc, 0, 1, 42, 0x401000, 20, "/bin/app");
	sample(&sc, 0, 1, ID_FIXED, 42, 0x401030, 25);
	sc.safe[0] = 30;
	/* batch 1: cpu1 t=35 */
	sample(&sc, 1, 1, ID_CYCLES, 42, 0x401040, 35);
	sc.safe[1] = 38;
	struct seen s = {0};
	struct eng *e = engine(&s, &src);

	assert_int_equal(eng_pump(e), 0);
	assert_int_equal(s.n, 4); /* 5, 10, mmap 20, 25: t=40 waits for the safe time */
	assert_int_equal(s.rounds, 1);
	uint64_t want[] = {5, 10, 0, 25};
	char what[] = {'s', 's', 'm', 's'};
	for (int i = 0; i < 4; i++) {
		assert_int_equal(s.r[i].what, what[i]);
		if (what[i] == 's')
			assert_int_equal(s.r[i].time, want[i]);
	}
	/* the parsed fields */
	assert_int_equal(s.r[0].ip, 0x401020);
	assert_int_equal(s.r[0].cpu, 1);
	assert_int_equal(s.r[0].pid, 42);
	assert_int_equal(s.r[0].tid, 43);
	assert_int_equal(s.r[0].period, 7);
	assert_false(s.r[0].mapped); /* before its MMAP2 */
	assert_int_equal(s.r[2].pid, 42);
	assert_int_equal(s.r[3].ev, 1);
	assert_int_equal(s.r[3].period, FIXED_PERIOD); /* from the attr */
	assert_true(s.r[3].mapped);

	assert_int_equal(eng_pump(e), 0); /* t=35 only: 40 is still past 38 */
	assert_int_equal(s.n, 5);
	assert_int_equal(s.r[4].time, 35);
	assert_int_equal(eng_pump(e), 0); /* final */
	assert_int_equal(s.n, 6);
	assert_int_equal(s.r[5].time, 40);
	assert_int_equal(s.rounds, 3);

	assert_int_equal(eng_event(e, 0)->samples, 4);
	assert_int_equal(eng_event(e, 1)->samples, 1);
	assert_int_equal(eng_ntypes(e), 2); /* the dummy is no sample type */
	assert_int_equal(eng_event(e, 2)->type, -1);
	assert_int_equal(agg_samples(eng_agg(e), 0), 4);
	assert_int_equal(agg_samples(eng_agg(e), 1), 1);
	assert_int_equal(eng_main_pid(e), 42);
	eng_free(e);
	assert_int_equal(sc.released, 3); /* every chunk given back */
	proc_model_free(s.procs);
}

static void test_sideband_and_loss(void **state)
{
	(void)state;
	struct synth_script sc;
	struct eng_source src;
	script_init(&sc, &src);
	struct synth_rec r = {.n = 0};
	/* perf's kernel map (pid -1): not a process of the model */
	mmap2(&sc, 0, 0, -1, 0xffffffff81000000ULL, 1, "[kernel]");
	synth_w32x2(&r, 42, 42); /* COMM */
	memcpy(&r.w[r.n + 1], "app\0\0\0\0\0", 8);
	r.n++;
	synth_trailer(&r, 42, 2, 0, ID_DUMMY);
	synth_put(&sc, 0, 0, 2, &r, PERF_RECORD_COMM);
	synth_w32x2(&r, 50, 42); /* FORK: pid, ppid, tid, ptid, time */
	synth_w32x2(&r, 50, 42);
	synth_w64(&r, 3);
	synth_trailer(&r, 50, 3, 0, ID_DUMMY);
	synth_put(&sc, 0, 0, 3, &r, PERF_RECORD_FORK);
	synth_w64(&r, ID_FIXED); /* LOST: id, lost */
	synth_w64(&r, 9);
	synth_trailer(&r, 0, 4, 0, ID_DUMMY);
	synth_put(&sc, 0, 0, 4, &r, PERF_RECORD_LOST);
	synth_w64(&r, 999); /* LOST of an id no event has */
	synth_w64(&r, 2);
	synth_trailer(&r, 0, 5, 0, ID_DUMMY);
	synth_put(&sc, 0, 0, 5, &r, PERF_RECORD_LOST);
	synth_w64(&r, 4); /* LOST_SAMPLES: lost, then its own event's trailer */
	synth_trailer(&r, 42, 6, 1, ID_CYCLES);
	synth_put(&sc, 0, 1, 6, &r, PERF_RECORD_LOST_SAMPLES);
	synth_w64(&r, 7); /* THROTTLE, UNTHROTTLE: time, id, stream_id */
	synth_w64(&r, ID_CYCLES);
	synth_w64(&r, ID_CYCLES);
	synth_trailer(&r, 42, 7, 1, ID_CYCLES);
	synth_put(&sc, 0, 1, 7, &r, PERF_RECORD_THROTTLE);
	synth_w64(&r, 8);
	synth_w64(&r, ID_CYCLES);
	synth_w64(&r, ID_CYCLES);
	synth_trailer(&r, 42, 8, 1, ID_CYCLES);
	synth_put(&sc, 0, 1, 8, &r, PERF_RECORD_UNTHROTTLE);
	synth_w32x2(&r, 50, 42); /* EXIT */
	synth_w32x2(&r, 50, 42);
	synth_w64(&r, 9);
	synth_trailer(&r, 50, 9, 0, ID_DUMMY);
	synth_put(&sc, 0, 0, 9, &r, PERF_RECORD_EXIT);
	sample(&sc, 0, 1, 777, 42, 0x1, 10); /* an unknown id */
	struct seen s = {0};
	struct eng *e = engine(&s, &src);
	assert_int_equal(eng_pump(e), 0);

	char what[] = {'c', 'f', 'l', 'l', 'l', 't', 't', 'x'};
	assert_int_equal(s.n, 8); /* no mmap callback for the kernel map, no unknown sample */
	for (int i = 0; i < 8; i++)
		assert_int_equal(s.r[i].what, what[i]);
	assert_null(proc_find_map(s.procs, -1, 0xffffffff81000000ULL));
	assert_string_equal(proc_comm(s.procs, 42, 42), "app");
	assert_int_equal(s.r[2].ev, 1);
	assert_int_equal(s.r[2].n, 9);
	assert_int_equal(s.r[3].ev, -1);
	assert_int_equal(s.r[4].ev, 0);
	assert_false(s.r[5].flag);
	assert_true(s.r[6].flag);
	assert_int_equal(eng_event(e, 0)->lost, 4);
	assert_int_equal(eng_event(e, 1)->lost, 9);
	assert_int_equal(eng_event(e, 0)->throttles, 1);
	struct eng_stats st;
	eng_get_stats(e, &st);
	assert_int_equal(st.unattributed_lost, 2);
	assert_int_equal(st.unknown_id, 1);
	assert_int_equal(st.bad, 0);
	uint64_t lost, throttles;
	eng_loss_totals(e, &lost, &throttles);
	assert_int_equal(lost, 15);
	assert_int_equal(throttles, 1);
	char line[128];
	assert_true(eng_skipped_summary(e, line, sizeof(line)) > 0);
	assert_string_equal(line, "malformed records skipped: 0; samples of unknown event id: 1");
	eng_free(e);
	proc_model_free(s.procs);
}

/* The engine's profile as a reader of it sees it: encoded and decoded. */
static struct pprof_read *profile_of(struct eng *e)
{
	char err[BASE_ERR_MAX];
	uint8_t *raw;
	size_t len;
	assert_int_equal(pprof_encode(agg_profile(eng_agg(e)), &raw, &len, err, sizeof(err)), 0);
	struct pprof_read *r;
	assert_int_equal(pprof_read_mem(&r, "t", raw, len, 0, err, sizeof(err)), 0);
	free(raw);
	return r;
}

/*
 * One address of one process in two files, one mapped over the other
 * between the samples: each sample's location is in the file mapped at its
 * time (the aggregation's per-frame location cache starts over on an MMAP).
 */
static void test_remapped_address(void **state)
{
	(void)state;
	struct synth_script sc;
	struct eng_source src;
	script_init(&sc, &src);
	sc.nbatches = 1;
	mmap2(&sc, 0, 0, 42, 0x401000, 1, "/bin/app");
	sample(&sc, 0, 0, ID_CYCLES, 42, 0x401010, 2);
	mmap2(&sc, 0, 0, 42, 0x401000, 3, "/bin/other");
	sample(&sc, 0, 0, ID_CYCLES, 42, 0x401010, 4);
	sc.safe[0] = 10;
	struct seen s = {0};
	struct eng *e = engine(&s, &src);
	assert_int_equal(eng_pump(e), 0);
	assert_int_equal(eng_pump(e), 0); /* final */
	assert_int_equal(agg_samples(eng_agg(e), 0), 2);

	struct pprof_read *r = profile_of(e);
	const Perftools__Profiles__Profile *m = pprof_read_message(r);
	assert_int_equal(m->n_sample, 2);
	assert_int_equal(m->n_location, 2);
	bool app = false, other = false;
	for (size_t i = 0; i < m->n_location; i++) {
		const Perftools__Profiles__Location *l = m->location[i];
		assert_int_equal(l->address, 0x401010);
		for (size_t j = 0; j < m->n_mapping; j++)
			if (m->mapping[j]->id == l->mapping_id) {
				const char *f = m->string_table[m->mapping[j]->filename];
				app |= strcmp(f, "/bin/app") == 0;
				other |= strcmp(f, "/bin/other") == 0;
			}
	}
	assert_true(app && other);
	pprof_read_free(r);
	eng_free(e);
	proc_model_free(s.procs);
}

/* A cycles sample (event 0 given CALLCHAIN) whose kernel callchain is chain[0..n). */
static void chain_sample(struct synth_script *s, uint32_t pid, const uint64_t *chain, uint64_t n,
			 uint64_t time)
{
	struct synth_rec r = {.n = 0};
	synth_w64(&r, ID_CYCLES);
	synth_w64(&r, chain[1]);
	synth_w32x2(&r, pid, pid + 1);
	synth_w64(&r, time);
	synth_w32x2(&r, 0, 0);
	synth_w64(&r, 7); /* PERIOD */
	synth_w64(&r, n);
	for (uint64_t i = 0; i < n; i++)
		synth_w64(&r, chain[i]);
	synth_put(s, 0, 0, time, &r, PERF_RECORD_SAMPLE);
}

/*
 * The same callchain before and after its file is mapped over: each sample's
 * frames are in the file mapped at its time (a stack cached by its raw
 * callchain goes with the location cache's generation), and the same chain
 * again aggregates with the second.
 */
static void test_remapped_stack(void **state)
{
	(void)state;
	struct synth_script sc;
	struct eng_source src;
	script_init(&sc, &src);
	sc.attr[0].sample_type |= PERF_SAMPLE_CALLCHAIN;
	sc.nbatches = 1;
	const uint64_t chain[] = {PERF_CONTEXT_USER, 0x401010, 0x401020, 0x401030};
	mmap2(&sc, 0, 0, 42, 0x401000, 1, "/bin/app");
	chain_sample(&sc, 42, chain, 4, 2);
	chain_sample(&sc, 42, chain, 4, 3);
	mmap2(&sc, 0, 0, 42, 0x401000, 4, "/bin/other");
	chain_sample(&sc, 42, chain, 4, 5);
	chain_sample(&sc, 42, chain, 4, 6);
	sc.safe[0] = 10;
	struct seen s = {0};
	struct eng *e = engine(&s, &src);
	assert_int_equal(eng_pump(e), 0);
	assert_int_equal(eng_pump(e), 0); /* final */
	assert_int_equal(agg_samples(eng_agg(e), 0), 4);

	struct pprof_read *r = profile_of(e);
	const Perftools__Profiles__Profile *m = pprof_read_message(r);
	assert_int_equal(m->n_sample, 2);
	int app = 0, other = 0;
	for (size_t i = 0; i < m->n_sample; i++) {
		const Perftools__Profiles__Sample *sm = m->sample[i];
		assert_int_equal(sm->n_location_id, 3);
		assert_int_equal(sm->value[0], 2);
		const char *file = NULL;
		for (size_t k = 0; k < sm->n_location_id; k++)
			for (size_t j = 0; j < m->n_location; j++) {
				const Perftools__Profiles__Location *l = m->location[j];
				if (l->id != sm->location_id[k])
					continue;
				for (size_t q = 0; q < m->n_mapping; q++)
					if (m->mapping[q]->id == l->mapping_id) {
						const char *f = m->string_table[m->mapping[q]->filename];
						assert_true(!file || strcmp(file, f) == 0);
						file = f;
					}
			}
		assert_non_null(file);
		app += strcmp(file, "/bin/app") == 0;
		other += strcmp(file, "/bin/other") == 0;
	}
	assert_true(app == 1 && other == 1);
	pprof_read_free(r);
	eng_free(e);
	proc_model_free(s.procs);
}

static void comm(struct synth_script *s, int cpu, uint32_t pid, uint32_t tid, const char *name,
		 uint64_t time)
{
	struct synth_rec r = {.n = 0};
	synth_w32x2(&r, pid, tid);
	memset(&r.w[r.n + 1], 0, 16);
	memcpy(&r.w[r.n + 1], name, strlen(name));
	r.n += 2;
	synth_trailer(&r, pid, time, (uint32_t)cpu, ID_DUMMY);
	synth_put(s, 0, cpu, time, &r, PERF_RECORD_COMM);
}

/* The comm label of each sample, in the profile's sample order. */
static int sample_comms(struct eng *e, char comms[][16], int max)
{
	struct pprof_read *r = profile_of(e);
	const Perftools__Profiles__Profile *m = pprof_read_message(r);
	int n = 0;
	for (size_t i = 0; i < m->n_sample && n < max; i++)
		for (size_t j = 0; j < m->sample[i]->n_label; j++) {
			const Perftools__Profiles__Label *l = m->sample[i]->label[j];
			if (strcmp(m->string_table[l->key], "comm") == 0)
				snprintf(comms[n++], 16, "%s", m->string_table[l->str]);
		}
	pprof_read_free(r);
	return n;
}

/*
 * A thread renamed between its samples: each sample carries the name it had
 * then (a thread's label set is interned once, until a COMM record).
 */
static void test_renamed_thread(void **state)
{
	(void)state;
	struct synth_script sc;
	struct eng_source src;
	script_init(&sc, &src);
	sc.nbatches = 1;
	mmap2(&sc, 0, 0, 42, 0x401000, 1, "/bin/app");
	comm(&sc, 0, 42, 43, "app", 2);
	sample(&sc, 0, 0, ID_CYCLES, 42, 0x401010, 3); /* pid 42, tid 43 */
	sample(&sc, 0, 0, ID_CYCLES, 42, 0x401010, 4);
	comm(&sc, 0, 42, 43, "worker", 5);
	sample(&sc, 0, 0, ID_CYCLES, 42, 0x401010, 6);
	sc.safe[0] = 10;
	struct seen s = {0};
	struct eng *e = engine(&s, &src);
	assert_int_equal(eng_pump(e), 0);
	assert_int_equal(eng_pump(e), 0); /* final */
	assert_int_equal(agg_samples(eng_agg(e), 0), 3);
	char comms[4][16];
	assert_int_equal(sample_comms(e, comms, 4), 2); /* "app" twice aggregates */
	assert_true((strcmp(comms[0], "app") == 0 && strcmp(comms[1], "worker") == 0) ||
		    (strcmp(comms[0], "worker") == 0 && strcmp(comms[1], "app") == 0));
	eng_free(e);
	proc_model_free(s.procs);
}

static void test_main_pid(void **state)
{
	(void)state;
	struct synth_script sc;
	struct eng_source src;
	script_init(&sc, &src);
	/* the idle task (pid 0) samples most, then 7 (4 samples, not in a row), then 9 (3) */
	uint32_t pids[] = {0, 7, 0, 9, 9, 0, 7, 9, 0, 7, 0, 7};
	for (size_t i = 0; i < sizeof(pids) / sizeof(pids[0]); i++)
		sample(&sc, 0, (int)(i % SYNTH_CPUS), ID_CYCLES, pids[i], 0x1000, 10 + i);
	struct seen s = {0};
	struct eng *e = engine(&s, &src);
	assert_int_equal(eng_main_pid(e), 0);
	assert_int_equal(eng_pump(e), 0);
	assert_int_equal(eng_main_pid(e), 7);
	eng_free(e);
	proc_model_free(s.procs);
}

/* --- a perf.data file: FINISHED_ROUND ------------------------------------------ */

static void pd_sample(struct pabi_pdw *w, uint64_t time)
{
	struct synth_rec r = {.n = 0};
	synth_w64(&r, ID_CYCLES);
	synth_w64(&r, 0x401000 + time);
	synth_w32x2(&r, 42, 42);
	synth_w64(&r, time);
	synth_w32x2(&r, 0, 0);
	synth_w64(&r, 1);
	struct perf_event_header h = {PERF_RECORD_SAMPLE, 0, (uint16_t)(8 * (r.n + 1))};
	memcpy(&r.w[0], &h, 8);
	char err[BASE_ERR_MAX];
	assert_int_equal(pabi_pdw_write(w, (const struct perf_event_header *)r.w, err, sizeof(err)),
			 0);
}

static void test_perfdata_rounds(void **state)
{
	(void)state;
	char dir[] = "/tmp/pmuprof-test-engine-XXXXXX", path[PATH_MAX], err[BASE_ERR_MAX];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/rounds.data", dir);
	struct synth_script sc;
	struct eng_source unused;
	script_init(&sc, &unused); /* for its attrs */
	struct pabi_pdw *w;
	assert_int_equal(pabi_pdw_open(&w, path, NULL, err, sizeof(err)), 0);
	uint64_t ids[] = {ID_CYCLES}, dummy_ids[] = {ID_DUMMY};
	assert_int_equal(pabi_pdw_add_event(w, &sc.attr[0], "cycles", ids, 1, err, sizeof(err)), 0);
	assert_int_equal(
		pabi_pdw_add_event(w, &sc.attr[2], "dummy:u", dummy_ids, 1, err, sizeof(err)), 0);
	/* round 1: 100, 300; round 2: 200, 400; then 250 and the end */
	pd_sample(w, 100);
	pd_sample(w, 300);
	assert_int_equal(pabi_pdw_finish_round(w, err, sizeof(err)), 0);
	pd_sample(w, 200);
	pd_sample(w, 400);
	assert_int_equal(pabi_pdw_finish_round(w, err, sizeof(err)), 0);
	pd_sample(w, 250);
	assert_int_equal(pabi_pdw_finish(w, NULL, err, sizeof(err)), 0);
	pabi_pdw_close(w);

	struct pabi_perfdata *pd;
	assert_int_equal(pabi_perfdata_open(&pd, path, err, sizeof(err)), 0);
	struct eng_source src;
	assert_int_equal(eng_source_from_perfdata(&src, pd), 0);
	struct seen s = {0};
	struct eng *e = engine(&s, &src);
	/* the first round releases nothing: no round before it */
	assert_int_equal(eng_pump(e), 0);
	assert_int_equal(s.n, 0);
	/* the second, up to round 1's newest (300), in time order across both rounds */
	assert_int_equal(eng_pump(e), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.r[0].time, 100);
	assert_int_equal(s.r[1].time, 200);
	assert_int_equal(s.r[2].time, 300);
	/* the end: the rest, in time order (250 after 300, as perf delivers it) */
	assert_int_equal(eng_run(e, err, sizeof(err)), 0);
	assert_int_equal(s.n, 5);
	assert_int_equal(s.r[3].time, 250);
	assert_int_equal(s.r[4].time, 400);
	assert_int_equal(eng_event(e, 0)->samples, 5);
	assert_int_equal(eng_ntypes(e), 1);
	eng_free(e);
	eng_source_free(&src);
	pabi_perfdata_close(pd);
	proc_model_free(s.procs);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_order_across_cpus),
		cmocka_unit_test(test_sideband_and_loss),
		cmocka_unit_test(test_main_pid),
		cmocka_unit_test(test_remapped_address),
		cmocka_unit_test(test_renamed_thread),
		cmocka_unit_test(test_remapped_stack),
		cmocka_unit_test(test_perfdata_rounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
