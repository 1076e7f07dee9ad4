/*
 * A probe for the unwinder's .debug_frame fallback: built without
 * .eh_frame for its own code (-fno-asynchronous-unwind-tables, see
 * CMakeLists.txt) and without frame pointers, it captures its registers and
 * stack three calls deep and writes the fixture to argv[1]
 * (tests/data/unwind/uw_capture.h), for tests/unit/test_unwind.c to unwind.
 */
#include "uw_capture.h"

#define PROBE __attribute__((noipa))

static struct uw_fx fx;
static int probe_status = -1;

PROBE static int probe_f3(int x)
{
	uint64_t regs[UW_FX_NREGS];
	uw_capture_regs(regs);
	probe_status = uw_fx_finish(&fx, regs, 64 << 10);
	__asm__ volatile("" ::: "memory"); /* no tail call: the frame must stay */
	return x + 3;
}

PROBE static int probe_f2(int x)
{
	int r = probe_f3(x + 1);
	__asm__ volatile("" ::: "memory");
	return r * 2;
}

PROBE static int probe_f1(int x)
{
	int r = probe_f2(x + 1);
	__asm__ volatile("" ::: "memory");
	return r - 1;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s FIXTURE-OUT\n", argv[0]);
		return 2;
	}
	volatile int seed = argc;
	int r = probe_f1(seed);
	if (probe_status != 0 || uw_fx_save(&fx, argv[1]) != 0) {
		fprintf(stderr, "uw_probe: cannot capture or write %s\n", argv[1]);
		return 1;
	}
	uw_fx_free(&fx);
	return r == 0; /* keeps r alive; never 0 here */
}
