/*
 * Synthetic perf records for the unit tests of the engine and of what it
 * feeds (numa/): records built word by word, framed into per-CPU chunks as
 * the sampler's readers queue them, and a scripted engine source handing the
 * chunks out batch by batch, each batch with its safe time.
 */
#ifndef PMUPROF_TEST_SYNTH_H
#define PMUPROF_TEST_SYNTH_H

#include "engine.h"

#include <stddef.h>
#include <stdint.h>

#define SYNTH_CPUS 2
#define SYNTH_BATCHES 4
#define SYNTH_EVENTS 3

/* A record being built: the header's word, then u64 words. */
struct synth_rec {
	uint64_t w[32];
	size_t n;
};

void synth_w64(struct synth_rec *r, uint64_t v);
/* Two u32 in one word, lo first (pid, tid; cpu, res). */
void synth_w32x2(struct synth_rec *r, uint32_t lo, uint32_t hi);
/* The sample_id trailer of TID | TIME | CPU | IDENTIFIER (tid = pid). */
void synth_trailer(struct synth_rec *r, uint32_t pid, uint64_t time, uint32_t cpu, uint64_t id);

struct synth_script {
	struct smp_chunk *chunks[SYNTH_BATCHES][SYNTH_CPUS];
	uint64_t safe[SYNTH_BATCHES]; /* each batch's safe time */
	int nbatches, next, released; /* batches given out; chunks given back */
	size_t nevents;
	/* size and sample_id_all set by synth_init; the rest is the test's */
	struct perf_event_attr attr[SYNTH_EVENTS];
	const char *name[SYNTH_EVENTS];
	uint64_t id[SYNTH_EVENTS]; /* the sample id of each event */
};

/*
 * An empty script of nevents events with these ids and names, one batch of safe time
 * UINT64_MAX (tests with more set nbatches and safe[]), and the engine source reading it.
 */
void synth_init(struct synth_script *s, struct eng_source *src, size_t nevents, const uint64_t *ids,
		const char *const *names);
/* Appends r, its header made of type and its length, to the chunk of (batch, cpu); empties r. */
void synth_put(struct synth_script *s, int batch, int cpu, uint64_t time, struct synth_rec *r,
	       uint32_t type);
/* An MMAP2 of pid's [addr, addr + len) of file (16 bytes at most), its trailer of event id. */
void synth_mmap2(struct synth_script *s, int batch, int cpu, int32_t pid, uint64_t addr,
		 uint64_t len, uint32_t prot, uint64_t time, const char *file, uint64_t id);

#endif
