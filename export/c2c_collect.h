/*
 * c2c report's samples from the engine: every sample whose event carries a
 * data address and its data source, named (code and data symbols) at its
 * place in the time-ordered stream, when the process model holds the maps
 * of that moment.
 */
#ifndef PMUPROF_C2C_COLLECT_H
#define PMUPROF_C2C_COLLECT_H

#include "engine.h"

struct c2c_collect {
	struct proc_model *procs;
	struct c2c_resolver *names; /* NULL: addresses only */
	/* The NUMA node of a CPU (-1: unknown); NULL: unknown. */
	int (*node_of_cpu)(const void *ctx, int cpu);
	const void *node_ctx;
	struct c2c_sample *s;       /* what was collected */
	size_t n, cap;
};

/* An eng_tool.sample callback (arg: the collector); 0 or -ENOMEM. */
int c2c_collect_sample(void *arg, const struct eng_event *ev, const struct smp_sample *s);
void c2c_collect_free(struct c2c_collect *c);

#endif
