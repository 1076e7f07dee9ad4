/*
 * The readers' spill file: chunks written, read back in any order with the
 * same bytes, their space given back, the file reused from its start once
 * every chunk was read, and a $TMPDIR that cannot hold it reported as such.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sampler_internal.h"

static void fill(unsigned char *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)(seed * 131 + i * 7);
}

static void test_spill_round_trip(void **state)
{
	(void)state;
	struct smp_spill sp;
	smp_spill_init(&sp);
	enum { A = 100, B = 70000, C = 4096 };
	static unsigned char a[A], b[B], c[C], back[B];
	fill(a, A, 1);
	fill(b, B, 2);
	fill(c, C, 3);
	uint64_t oa, ob, oc;
	assert_int_equal(smp_spill_write(&sp, a, A, &oa), 0);
	assert_int_equal(smp_spill_write(&sp, b, B, &ob), 0);
	assert_int_equal(smp_spill_write(&sp, c, C, &oc), 0);
	assert_int_equal(oa, 0);
	assert_int_equal(ob, A);
	assert_int_equal(oc, A + B);
	assert_int_equal(sp.pending, 3);
	assert_int_equal(sp.bytes, A + B + C);

	/* Out of order, as rings' chunks are taken. */
	assert_int_equal(smp_spill_read(&sp, ob, back, B), 0);
	assert_memory_equal(back, b, B);
	assert_int_equal(smp_spill_read(&sp, oc, back, C), 0);
	assert_memory_equal(back, c, C);
	/* The read-back chunk's space is a hole now (where the file system punches them). */
	struct stat st;
	assert_int_equal(fstat(sp.fd, &st), 0);
	assert_true((uint64_t)st.st_blocks * 512 <= (uint64_t)(A + B + C));
	assert_int_equal(smp_spill_read(&sp, oa, NULL, A), 0); /* dropped unread */
	assert_int_equal(sp.pending, 0);

	/* Everything was read: the next chunk starts the file over. */
	uint64_t od;
	assert_int_equal(smp_spill_write(&sp, c, C, &od), 0);
	assert_int_equal(od, 0);
	assert_int_equal(smp_spill_read(&sp, od, back, C), 0);
	assert_memory_equal(back, c, C);
	assert_int_equal(sp.chunks, 4);
	smp_spill_close(&sp);
	assert_int_equal(sp.fd, -1);
}

static void test_spill_no_tmpdir(void **state)
{
	(void)state;
	const char *old = getenv("TMPDIR");
	char *saved = old ? strdup(old) : NULL;
	setenv("TMPDIR", "/nonexistent/pmuprof-test", 1);
	struct smp_spill sp;
	smp_spill_init(&sp);
	unsigned char b[64] = {0};
	uint64_t off = 7;
	assert_int_equal(smp_spill_write(&sp, b, sizeof(b), &off), -ENOENT);
	assert_int_equal(off, 7);
	assert_int_equal(sp.pending, 0);
	assert_int_equal(sp.bytes, 0);
	smp_spill_close(&sp);
	if (saved)
		setenv("TMPDIR", saved, 1);
	else
		unsetenv("TMPDIR");
	free(saved);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spill_round_trip),
		cmocka_unit_test(test_spill_no_tmpdir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
