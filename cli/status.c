/*
 * The live status line of a long record or agent, as perf record's "[ perf
 * record: Woken up ... ]" but updated in place: elapsed time, samples and
 * losses taken from the rings, and megabytes read. Only on a terminal
 * (stderr), after the first second, once a second; cleared before the
 * run's own summary is printed.
 */
#include "cli.h"
#include "sampler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STATUS_FIRST_S 1.0
#define STATUS_EVERY_S 1.0

void cli_status_init(struct cli_status *st, const char *cmd)
{
	const char *term = getenv("TERM");
	memset(st, 0, sizeof(*st));
	st->cmd = cmd;
	st->on = isatty(STDERR_FILENO) && !(term && strcmp(term, "dumb") == 0);
	st->start = cli_mono_s();
	st->next = st->start + STATUS_FIRST_S;
}

/* 1234567 -> "1,234,567" */
static void thousands(char *buf, size_t len, uint64_t v)
{
	char digits[24];
	int n = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)v);
	size_t o = 0;
	for (int i = 0; i < n && o + 2 < len; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
}

void cli_status_update(struct cli_status *st, const struct smp_session *s)
{
	double now = cli_mono_s();
	if (!st->on || now < st->next)
		return;
	st->next = now + STATUS_EVERY_S;
	struct smp_stats ss;
	smp_get_stats(s, &ss);
	char samples[32], lost[32];
	thousands(samples, sizeof(samples), ss.samples);
	thousands(lost, sizeof(lost), ss.lost);
	/* \r and erase-to-end: the line is rewritten in place, never scrolled. */
	fprintf(stderr, "\r[ pmuprof %s: %.0f s, %s samples, %s lost, %.1f MB ]\033[K", st->cmd,
		now - st->start, samples, lost, (double)ss.bytes_read / 1e6);
	fflush(stderr);
	st->shown = true;
}

void cli_status_clear(struct cli_status *st)
{
	if (!st->shown)
		return;
	fputs("\r\033[K", stderr);
	fflush(stderr);
	st->shown = false;
}
