/*
 * perf's --control protocol, the reading side (record --control; the
 * harness API writes it): one command a line, "enable", "disable",
 * "snapshot", "stop", "ping". Kept apart from the fifo handling in cli/ so
 * that the parser can be tested and fuzzed on bytes.
 */
#include "pmu.h"

#include <stdio.h>
#include <string.h>

static enum pmu_control_cmd parse_command(const char *line)
{
	static const struct {
		const char *word;
		enum pmu_control_cmd cmd;
	} cmds[] = {{"enable", PMU_CTL_ENABLE},     {"disable", PMU_CTL_DISABLE},
		    {"snapshot", PMU_CTL_SNAPSHOT}, {"stop", PMU_CTL_STOP},
		    {"ping", PMU_CTL_PING}};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(line, cmds[i].word) == 0)
			return cmds[i].cmd;
	return PMU_CTL_UNKNOWN;
}

enum pmu_control_cmd pmu_control_take(char *buf, size_t *used, size_t cap, char *last,
				      size_t lastlen)
{
	for (;;) {
		char *nl = memchr(buf, '\n', *used);
		if (!nl)
			break;
		size_t len = (size_t)(nl - buf), rest = *used - len - 1;
		char line[PMU_CONTROL_LINE_MAX];
		/* A NUL inside a line ends its word, as the old string copy did. */
		snprintf(line, sizeof(line), "%.*s", (int)len, buf);
		memmove(buf, nl + 1, rest);
		*used = rest;
		if (!line[0])
			continue; /* blank line */
		snprintf(last, lastlen, "%s", line);
		return parse_command(line);
	}
	if (*used >= cap) {
		*used = 0; /* a line longer than any command: drop it */
		snprintf(last, lastlen, "(a line of %zu bytes or more)", cap);
		return PMU_CTL_UNKNOWN;
	}
	return PMU_CTL_NONE;
}
