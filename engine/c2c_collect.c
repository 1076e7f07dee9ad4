/* c2c report's samples from the engine (engine.h). */
#include "engine.h"
#include "base.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int c2c_collect_sample(void *arg, const struct eng_event *ev, const struct pabi_sample *s)
{
	struct c2c_collect *c = arg;
	uint64_t st = ev->attr.sample_type;
	if ((st & (PERF_SAMPLE_ADDR | PERF_SAMPLE_DATA_SRC)) !=
	    (PERF_SAMPLE_ADDR | PERF_SAMPLE_DATA_SRC))
		return 0;
	if (BASE_GROW(c->s, c->cap, c->n + 1) < 0)
		return -ENOMEM;
	int32_t cpu = (st & PERF_SAMPLE_CPU) ? (int32_t)s->cpu : -1;
	/*
	 * perf counts a data address outside every known mapping as "no map", and
	 * looks it up in the maps of the sample's mode: a sample taken in the kernel
	 * resolves its data address among kernel maps, which hold no user memory
	 * (nor the kernel's direct map) — so only user-mode samples can map.
	 */
	bool ip_kernel = pabi_addr_is_kernel(pabi_mode_of_misc(s->misc), s->ip);
	bool mapped =
		s->addr && !ip_kernel && proc_find_map(c->procs, (pid_t)s->pid, s->addr) != NULL;
	c->s[c->n++] = (struct c2c_sample){
		.pid = s->pid,
		.tid = s->tid,
		.cpu = cpu,
		.node = c->node_of_cpu && cpu >= 0 ? c->node_of_cpu(c->node_ctx, cpu) : -1,
		.ip = s->ip,
		.ip_kernel = ip_kernel,
		.addr = s->addr,
		.data_src = s->data_src,
		.weight = s->weight, /* the latency for WEIGHT_STRUCT (pabi_parse_sample) */
		.is_store = strstr(ev->name, "store") != NULL,
		.nomap = !mapped,
	};
	if (c->names)
		c2c_resolve(c->names, &c->s[c->n - 1]);
	return 0;
}

void c2c_collect_free(struct c2c_collect *c)
{
	free(c->s);
	c2c_resolver_free(c->names);
	memset(c, 0, sizeof(*c));
}
