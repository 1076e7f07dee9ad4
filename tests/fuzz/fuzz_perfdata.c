/*
 * The perf.data reader (import, c2c report -i): the file and its tables,
 * every record resolved to its event, samples and sample_id trailers
 * parsed with the event's layout, loss records, and the process model fed
 * as import feeds it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine.h"
#include "sampler.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The reader maps a path: give it the bytes as an anonymous file. */
	int fd = memfd_create("perf.data", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	char path[64], err[BASE_ERR_MAX];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	struct pabi_perfdata *pd;
	struct proc_model *procs;
	if (proc_model_new(&procs) < 0)
		abort();
	if (pabi_perfdata_open(&pd, path, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < pabi_perfdata_nevents(pd); i++)
			(void)pabi_perfdata_cpu_node(pd, (int)i - 1);
		struct pabi_pd_record r;
		static unsigned char compact[1 << 16];
		while (pabi_perfdata_next(pd, &r, err, sizeof(err)) > 0) {
			const struct perf_event_header *h = r.h;
			if (r.event < 0) {
				if (h->type < 64)
					(void)proc_apply_record(procs, h);
				continue;
			}
			const struct pabi_layout *l =
				&pabi_perfdata_event(pd, (size_t)r.event)->layout;
			if (h->type == PERF_RECORD_SAMPLE) {
				struct pabi_sample s;
				if (pabi_parse_sample(l, h, &s) == 0 && s.nr_callchain)
					(void)(s.callchain[0] + s.callchain[s.nr_callchain - 1]);
				(void)pabi_sample_compact(l, h, compact);
				continue;
			}
			struct pabi_sample_id sid;
			uint64_t id, lost;
			(void)pabi_parse_sample_id(l, h, &sid);
			(void)pabi_record_loss(h, &id, &lost);
			(void)proc_apply_record(procs, h);
		}
		pabi_perfdata_close(pd);
	}
	proc_model_free(procs);
	close(fd);
	return 0;
}
