/*
 * pmuprof numa pages: where one object of a running process has its pages
 * now, by node — a variable by name (--symbol), a range (--addr ADDR,LEN),
 * or every mapping with pages present. The placement is numa/'s; this file
 * parses flags and prints.
 */
#include "cli.h"
#include "numa.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMD "numa pages"
/* Mappings the listing shows without --all. */
#define LIST_MAPS 20

void cli_numa_pages_usage(FILE *out)
{
	fprintf(out,
		"usage: pmuprof numa pages -p PID [--symbol NAME | --addr ADDR,LEN] [--all]\n"
		"  Where a running process's pages are now, by NUMA node (asked of the kernel\n"
		"  page by page: move_pages without moving).\n"
		"  -p, --pid PID       the process\n"
		"      --symbol NAME   a global or static variable of its program or libraries\n"
		"      --addr ADDR,LEN a range of its address space (e.g. 0x7f0000000000,64M)\n"
		"      --all           every mapping with pages present (default: the %d largest)\n",
		LIST_MAPS);
}

/* LEN as a byte count with an optional K/M/G suffix (powers of 1024). */
static int parse_len(const char *s, uint64_t *len)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s || s[0] == '-')
		return -EINVAL;
	int shift = 0;
	if (*end == 'K' || *end == 'k')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	if (shift)
		end++;
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -EINVAL;
	*len = (uint64_t)v << shift;
	return 0;
}

static int parse_range(const char *s, uint64_t *addr, uint64_t *len)
{
	char *end;
	errno = 0;
	*addr = strtoull(s, &end, 0);
	if (errno || end == s || *end != ',' || s[0] == '-' || parse_len(end + 1, len) < 0 || !*len)
		return cli_error(CMD, "malformed --addr '%s'; expected ADDR,LEN, e.g. 0x7f0000000000,64M",
				 s),
		       -EINVAL;
	return 0;
}

int cli_numa_pages(int argc, char **argv)
{
	enum { OPT_SYMBOL = 256, OPT_ADDR, OPT_ALL };
	static const struct option longopts[] = {
		{"pid", required_argument, NULL, 'p'},
		{"symbol", required_argument, NULL, OPT_SYMBOL},
		{"addr", required_argument, NULL, OPT_ADDR},
		{"all", no_argument, NULL, OPT_ALL},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *pid_str = NULL, *symbol = NULL, *range = NULL;
	bool all = false;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "p:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': pid_str = optarg; break;
		case OPT_SYMBOL: symbol = optarg; break;
		case OPT_ADDR: range = optarg; break;
		case OPT_ALL: all = true; break;
		case 'h': cli_numa_pages_usage(stdout); return 0;
		default: cli_option_error(CMD, argv, "p"); return 2;
		}
	}
	if (optind < argc)
		return cli_error(CMD, "unexpected argument '%s' (the process is given with -p PID)",
				 argv[optind]),
		       2;
	if (!pid_str)
		return cli_error(CMD, "which process? give -p PID"), 2;
	char *end;
	errno = 0;
	long pid = strtol(pid_str, &end, 10);
	if (errno || *end || end == pid_str || pid <= 0 || pid > INT32_MAX)
		return cli_error(CMD, "-p needs one process id, not '%s'", pid_str), 2;
	if (symbol && range)
		return cli_error(CMD, "choose --symbol or --addr, not both"), 2;

	char err[BASE_ERR_MAX];
	struct topo *t = NULL;
	int nnodes = 1;
	if (topo_load(&t, NULL, err, sizeof(err)) == 0) {
		nnodes = topo_nnodes(t);
		topo_free(t);
	}
	struct numa_placement one, *v = &one;
	size_t n = 1;
	int ret;
	if (symbol) {
		ret = numa_place_symbol((pid_t)pid, symbol, &one, err, sizeof(err));
	} else if (range) {
		uint64_t addr, len;
		if (parse_range(range, &addr, &len) < 0)
			return 2;
		ret = numa_place_range((pid_t)pid, addr, len, &one, err, sizeof(err));
	} else {
		ret = numa_place_maps((pid_t)pid, &v, &n, err, sizeof(err));
	}
	if (ret < 0) {
		cli_error(CMD, "%s", err);
		return ret == -EINVAL || ret == -ENOENT ? 2 : 1;
	}
	if (nnodes < 2)
		printf("# one NUMA node: every page is on node 0, and placement has no effect here\n");
	size_t shown = !symbol && !range && !all && n > LIST_MAPS ? LIST_MAPS : n;
	numa_placement_print(v, shown, nnodes, stdout);
	if (shown < n)
		printf("# %zu more mappings with pages present (--all shows them)\n", n - shown);
	if (v != &one)
		free(v);
	if (fflush(stdout) != 0)
		return cli_error(CMD, "cannot write the placement: %s", strerror(errno)), 1;
	return 0;
}
