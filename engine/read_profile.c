/*
 * A profile for the views (report, folded stacks, flame graphs, diff): a
 * pprof read as it is, or a perf.data turned into one in memory as
 * `pmuprof import` does (same engine, symbolized unless asked not to).
 */
#include "engine.h"

#include <errno.h>
#include <stdlib.h>

int eng_perfdata_node_of_cpu(const void *pd, int cpu)
{
	return pabi_perfdata_cpu_node(pd, cpu);
}

/* A perf.data's samples aggregated into a profile, encoded and read back. */
static int read_perf_data(struct pprof_read **out, const char *path,
			  const struct eng_read_opts *o, char *err, size_t errlen)
{
	struct pabi_perfdata *pd = NULL;
	struct proc_model *procs = NULL;
	struct eng_source src = {0};
	struct eng *e = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	int ret = pabi_perfdata_open(&pd, path, err, errlen);
	if (ret < 0)
		return ret;
	if (proc_model_new(&procs) < 0 || eng_source_from_perfdata(&src, pd) < 0) {
		ret = base_fail(err, errlen, -ENOMEM, "out of memory reading %s", path);
		goto out;
	}
	struct eng_options eo = {
		.profile = true,
		.symbolize = o ? o->symbolize : true,
		.debug_cache_dir = o ? o->debug_cache_dir : NULL,
	};
	if (pabi_perfdata_nnodes(pd) > 1) {
		eo.node_of_cpu = eng_perfdata_node_of_cpu;
		eo.node_ctx = pd;
	}
	if ((ret = eng_new(&e, &src, procs, &eo, err, errlen)) < 0 ||
	    (ret = eng_run(e, err, errlen)) < 0)
		goto out;
	if ((ret = pprof_encode(agg_profile(eng_agg(e)), &buf, &len, err, errlen)) < 0)
		goto out;
	ret = pprof_read_mem(out, path, buf, len, 0, err, errlen);
out:
	free(buf);
	eng_free(e);
	eng_source_free(&src);
	proc_model_free(procs);
	pabi_perfdata_close(pd);
	return ret;
}

int eng_read_profile(struct pprof_read **out, const char *path, const struct eng_read_opts *o,
		     char *err, size_t errlen)
{
	*out = NULL;
	if (pabi_perfdata_probe(path))
		return read_perf_data(out, path, o, err, errlen);
	return pprof_read_file(out, path, o ? o->max_inflated : 0, err, errlen);
}
