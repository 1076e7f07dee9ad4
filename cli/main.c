/*
 * pmuprof: hardware performance-counter profiler. Subcommand dispatch.
 */
#include "cli.h"
#include "version.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: pmuprof <command> [options]\n"
		"\n"
		"commands:\n"
		"  list [GLOB]     list the events this host can count (hw, sw, cache, pmu, pfm, or a glob)\n"
		"  stat [-e EVENTS] [-a | -C CPUS | -p PID] [-A] [-x SEP | -j] [-o FILE] [-- CMD ...]\n"
		"                  count events for a command, processes or CPUs\n"
		"  record [-e EVENTS] [-c N | -F HZ] [-g] [-o FILE] [-a | -C | -p | -t] [-- CMD ...]\n"
		"                  sample events into a pprof profile (default pmuprof.pb.gz)\n"
		"  report [FILE]   top functions per sample type of a recorded profile\n"
		"  diff BASELINE FILE\n"
		"                  two profiles compared per function or stack (as perf diff)\n"
		"  topology        the machine (packages, nodes, caches) and the reader plan\n"
		"  agent [--interval S] [--otlp-endpoint URL] [-a | -C | -p]\n"
		"                  continuous profiling: export OTLP profiles every interval\n"
		"  import perf.data [-o FILE] [--otlp FILE] [--c2c]\n"
		"                  perf's recordings as pprof/OTLP (and a c2c report)\n"
		"  c2c watch (--symbol NAME | --addr ADDR) -- CMD\n"
		"                  prove false sharing with hardware watchpoints\n"
		"  numa record [-o FILE] [-c N] [--alloc] (-p PID | -a | -- CMD ...)\n"
		"                  where pages live, who first touched them, local/remote faults\n"
		"  numa report [FILE] [--json]\n"
		"                  per object, function and thread, with verdicts and their fixes\n"
		"  numa pages -p PID [--symbol NAME | --addr ADDR,LEN]\n"
		"                  where a running process's pages are now, by node\n"
		"  version         print the version\n"
		"\n"
		"Run 'pmuprof <command> --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "list") == 0)
		return cmd_list(argc - 1, argv + 1);
	if (strcmp(cmd, "stat") == 0)
		return cmd_stat(argc - 1, argv + 1);
	if (strcmp(cmd, "record") == 0)
		return cmd_record(argc - 1, argv + 1);
	if (strcmp(cmd, "report") == 0)
		return cmd_report(argc - 1, argv + 1);
	if (strcmp(cmd, "diff") == 0)
		return cmd_diff(argc - 1, argv + 1);
	if (strcmp(cmd, "topology") == 0)
		return cmd_topology(argc - 1, argv + 1);
	if (strcmp(cmd, "agent") == 0)
		return cmd_agent(argc - 1, argv + 1);
	if (strcmp(cmd, "import") == 0)
		return cmd_import(argc - 1, argv + 1);
	if (strcmp(cmd, "c2c") == 0)
		return cmd_c2c(argc - 1, argv + 1);
	if (strcmp(cmd, "numa") == 0)
		return cmd_numa(argc - 1, argv + 1);
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("pmuprof %s\n", PMUPROF_VERSION);
		return 0;
	}
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		usage(stdout);
		return 0;
	}
	cli_error(NULL, "unknown command '%s'; commands are list, stat, record, report, diff, topology, agent, import, c2c, numa, version (see pmuprof --help)",
		  cmd);
	return 2;
}
