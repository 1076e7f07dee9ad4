/*
 * pmuprof list [GLOB]: the events usable on this host, grouped as perf list
 * groups them, with descriptions where sysfs or libpfm4 give them; the
 * presets first, each with the events it expands to on this CPU.
 */
#include "cli.h"
#include "pmu.h"

#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

struct list_state {
	const char *filter;    /* glob, or NULL for all */
	int only_group;        /* -1: any group; else one enum pmu_list_group */
	int last_group;
	char last_pmu[128];
	size_t shown;
	bool no_hw_pending; /* say "no hardware PMU" where the hardware group would be */
};

static const char *group_heading(const struct pmu_list_entry *e, char *buf, size_t len)
{
	switch (e->group) {
	case PMU_LIST_HARDWARE: return "Hardware events:";
	case PMU_LIST_CACHE: return "Hardware cache events:";
	case PMU_LIST_SOFTWARE: return "Software events:";
	case PMU_LIST_SYSFS:
		snprintf(buf, len, "Kernel PMU '%s' (sysfs):", e->pmu);
		return buf;
	case PMU_LIST_TRACEPOINT: return "Tracepoint events:";
	case PMU_LIST_LIBPFM:
		snprintf(buf, len, "libpfm4 PMU '%s' (native names):", e->pmu);
		return buf;
	case PMU_LIST_PRESET:
		snprintf(buf, len, "Presets (expanded for %s):", e->pmu);
		return buf;
	}
	return "";
}

static bool matches(const struct list_state *st, const char *name)
{
	if (!st->filter)
		return true;
	if (strpbrk(st->filter, "*?["))
		return fnmatch(st->filter, name, FNM_CASEFOLD) == 0;
	return strcasestr(name, st->filter) != NULL; /* plain word: substring, like perf */
}

static void say_no_hw(struct list_state *st)
{
	printf("%sHardware events:\n  (none: this host exposes no hardware PMU; software "
	       "events still work)\n",
	       st->shown ? "\n" : "");
	st->no_hw_pending = false;
	st->last_group = PMU_LIST_HARDWARE;
	st->shown++;
}

static int show(const struct pmu_list_entry *e, void *arg)
{
	struct list_state *st = arg;
	if (st->only_group >= 0 && (int)e->group != st->only_group)
		return 0;
	if (st->only_group < 0 && !matches(st, e->name))
		return 0;
	if (st->no_hw_pending && e->group != PMU_LIST_PRESET)
		say_no_hw(st);
	const char *pmu = e->pmu ? e->pmu : "";
	if ((int)e->group != st->last_group || strcmp(pmu, st->last_pmu) != 0) {
		char buf[256];
		printf("%s%s\n", st->shown ? "\n" : "", group_heading(e, buf, sizeof(buf)));
		st->last_group = (int)e->group;
		snprintf(st->last_pmu, sizeof(st->last_pmu), "%s", pmu);
	}
	if (e->desc && *e->desc) {
		/* Later lines of a description (a preset's events) line up under its first. */
		const char *d = e->desc, *nl = strchr(d, '\n');
		printf("  %-44s %.*s\n", e->name, (int)(nl ? nl - d : (long)strlen(d)), d);
		while (nl) {
			d = nl + 1;
			nl = strchr(d, '\n');
			printf("  %-44s %.*s\n", "", (int)(nl ? nl - d : (long)strlen(d)), d);
		}
	} else {
		printf("  %s\n", e->name);
	}
	st->shown++;
	return 0;
}

int cmd_list(int argc, char **argv)
{
	if (argc > 2 || (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))) {
		fprintf(argc > 2 ? stderr : stdout,
			"usage: pmuprof list [presets|hw|sw|cache|pmu|tracepoint|pfm|GLOB]\n"
			"  GLOB matches event names (a plain word matches as a substring)\n");
		return argc > 2 ? 2 : 0;
	}
	struct list_state st = {.only_group = -1, .last_group = -1};
	if (argc == 2) {
		static const struct {
			const char *word;
			enum pmu_list_group group;
		} groups[] = {{"hw", PMU_LIST_HARDWARE},  {"hardware", PMU_LIST_HARDWARE},
			      {"cache", PMU_LIST_CACHE},   {"sw", PMU_LIST_SOFTWARE},
			      {"software", PMU_LIST_SOFTWARE}, {"pmu", PMU_LIST_SYSFS},
			      {"tracepoint", PMU_LIST_TRACEPOINT},
			      {"pfm", PMU_LIST_LIBPFM},    {"libpfm", PMU_LIST_LIBPFM},
			      {"presets", PMU_LIST_PRESET}, {"preset", PMU_LIST_PRESET}};
		for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
			if (strcmp(argv[1], groups[i].word) == 0)
				st.only_group = (int)groups[i].group;
		if (st.only_group < 0)
			st.filter = argv[1];
	}
	char err[BASE_ERR_MAX];
	struct pmu_ctx *ctx;
	if (pmu_ctx_new(&ctx, NULL, err, sizeof(err)) < 0) {
		cli_error("list", "%s", err);
		return 1;
	}
	bool want_hw = st.only_group == PMU_LIST_HARDWARE || (st.only_group < 0 && !st.filter);
	/* Printed by show() after the presets, where the hardware events would be. */
	st.no_hw_pending = want_hw && !pmu_host_has_hw_counters();
	pmu_list_events(ctx, true, show, &st);
	pmu_ctx_free(ctx);
	if (st.no_hw_pending)
		say_no_hw(&st); /* `list hw`: no hardware entry came to print it before */
	/* Tracepoints this user cannot read are missing from the list: say why, never "none". */
	char events[PATH_MAX];
	bool want_tp = st.only_group < 0 || st.only_group == PMU_LIST_TRACEPOINT;
	if (want_tp && pmu_tp_events_dir(events, sizeof(events), err, sizeof(err)) < 0) {
		if (st.shown == 0 && st.only_group < 0)
			cli_error("list",
				  "no events match '%s', and tracepoints cannot be listed: %s",
				  argv[1], err);
		else if (st.shown == 0)
			cli_error("list", "cannot list tracepoints: %s", err);
		else
			cli_error("list", "tracepoints not listed: %s", err);
		return st.shown ? 0 : 1;
	}
	if (st.shown == 0)
		printf("no events match '%s'\n", argv[1]);
	return 0;
}
