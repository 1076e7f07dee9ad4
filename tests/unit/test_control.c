/*
 * perf's --control protocol, reading side (pmu/control.c): commands split
 * across reads, blank lines, unknown words, a line longer than the buffer,
 * and the last line kept for messages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "pmu.h"

struct parser {
	char buf[PMU_CONTROL_LINE_MAX], last[PMU_CONTROL_LINE_MAX];
	size_t used;
};

static void feed(struct parser *p, const char *s)
{
	size_t n = strlen(s);
	assert_true(p->used + n <= sizeof(p->buf));
	memcpy(p->buf + p->used, s, n);
	p->used += n;
}

static enum pmu_control_cmd take(struct parser *p)
{
	return pmu_control_take(p->buf, &p->used, sizeof(p->buf), p->last, sizeof(p->last));
}

static void test_commands(void **state)
{
	(void)state;
	struct parser p = {.used = 0};
	feed(&p, "enable\n\nsnap");
	assert_int_equal(take(&p), PMU_CTL_ENABLE);
	assert_string_equal(p.last, "enable");
	assert_int_equal(take(&p), PMU_CTL_NONE); /* "snap" waits for the rest of its line */
	feed(&p, "shot\nstop\nping\ndisable\nfrobnicate\n");
	assert_int_equal(take(&p), PMU_CTL_SNAPSHOT);
	assert_int_equal(take(&p), PMU_CTL_STOP);
	assert_int_equal(take(&p), PMU_CTL_PING);
	assert_int_equal(take(&p), PMU_CTL_DISABLE);
	assert_int_equal(take(&p), PMU_CTL_UNKNOWN);
	assert_string_equal(p.last, "frobnicate");
	assert_int_equal(take(&p), PMU_CTL_NONE);
	assert_int_equal(p.used, 0);
}

static void test_overlong(void **state)
{
	(void)state;
	struct parser p = {.used = 0};
	memset(p.buf, 'x', sizeof(p.buf));
	p.used = sizeof(p.buf);
	assert_int_equal(take(&p), PMU_CTL_UNKNOWN);
	assert_int_equal(p.used, 0);
	assert_non_null(strstr(p.last, "256 bytes"));
	feed(&p, "stop\n");
	assert_int_equal(take(&p), PMU_CTL_STOP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_overlong),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
