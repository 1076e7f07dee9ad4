/*
 * pmuprof topology: the machine as hwloc sees it and the reader plan that
 * `record` would use for all online CPUs.
 */
#include "cli.h"
#include "pmu.h"
#include "topology.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

int cmd_topology(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"readers", required_argument, NULL, 'r'},
		{"synthetic", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *readers = NULL, *synthetic = NULL;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': readers = optarg; break;
		case 's': synthetic = optarg; break;
		case 'h':
			printf("usage: pmuprof topology [--readers node|l3|cpu|N] [--synthetic DESC]\n"
			       "  DESC is an hwloc synthetic topology, e.g. 'pack:2 numa:2 core:8 pu:2'\n");
			return 0;
		default:
			cli_option_error("topology", argv, "");
			return 2;
		}
	}
	char err[BASE_ERR_MAX];
	struct topo *t = NULL;
	struct topo_plan plan = {0};
	int *cpus = NULL, ncpus = 0, status = 1;
	enum topo_reader_mode mode = TOPO_READERS_NODE;
	int count = 0;
	if (readers && topo_parse_readers(readers, &mode, &count, err, sizeof(err)) < 0) {
		cli_error("topology", "%s", err);
		return 2;
	}
	if (topo_load(&t, synthetic, err, sizeof(err)) < 0) {
		cli_error("topology", "%s", err);
		return synthetic ? 2 : 1;
	}
	if (synthetic) {
		ncpus = topo_ncpus(t);
		cpus = malloc((size_t)ncpus * sizeof(int));
		for (int i = 0; cpus && i < ncpus; i++)
			cpus[i] = i;
	} else if (pmu_online_cpus(&cpus, &ncpus, err, sizeof(err)) < 0) {
		cli_error("topology", "%s", err);
		goto out;
	}
	if (!cpus) {
		cli_error("topology", "out of memory");
		goto out;
	}
	topo_print(t, stdout);
	if (topo_plan_readers(t, mode, count, cpus, ncpus, &plan, err, sizeof(err)) < 0) {
		cli_error("topology", "%s", err);
		goto out;
	}
	printf("\nreader plan (--readers %s):\n", readers ? readers : "node");
	topo_plan_print(&plan, stdout);
	status = 0;
out:
	topo_plan_free(&plan);
	topo_free(t);
	free(cpus);
	return status;
}
