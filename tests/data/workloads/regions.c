/*
 * Workload for the sample-label test (tests/e2e/test_region_labels.py):
 * alternates two regions, "A" running work_a and "B" running work_b, each
 * for about 50 ms per turn, 1.5 s in all; inside B a fixed trace context is
 * current. It writes the recorder channel directly (channel/channel.h), without
 * libpmuprof, so the channel and the labelling are tested on their own.
 * Outside `pmuprof record` it simply runs.
 */
#include "channel.h"

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define TURN_NS 50000000ULL
#define TURNS 15 /* per region */

static const uint8_t trace_id[16] = {0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6,
				     0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36};
static const uint8_t span_id[8] = {0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Distinct bodies (and noclone), so that no compiler pass folds A and B into one function. */
__attribute__((noinline, noclone)) static uint64_t work_a(uint64_t until)
{
	uint64_t x = 1;
	do {
		for (int i = 0; i < 100000; i++)
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	} while (now_ns() < until);
	return x;
}

__attribute__((noinline, noclone)) static uint64_t work_b(uint64_t until)
{
	uint64_t x = 88172645463325252ULL;
	do {
		for (int i = 0; i < 100000; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
		}
	} while (now_ns() < until);
	return x;
}

int main(void)
{
	struct channel *ch = channel_attach_env(); /* NULL: not under record */
	static const uint8_t none16[16], none8[8];
	uint64_t sink = 0;
	for (int t = 0; t < TURNS; t++) {
		channel_write(ch, CHANNEL_REGION_BEGIN, "A", NULL, NULL);
		sink += work_a(now_ns() + TURN_NS);
		channel_write(ch, CHANNEL_REGION_END, "A", NULL, NULL);

		channel_write(ch, CHANNEL_REGION_BEGIN, "B", NULL, NULL);
		channel_write(ch, CHANNEL_TRACE, NULL, trace_id, span_id);
		sink += work_b(now_ns() + TURN_NS);
		channel_write(ch, CHANNEL_TRACE, NULL, none16, none8);
		channel_write(ch, CHANNEL_REGION_END, "B", NULL, NULL);
	}
	printf("regions: %s, %d turns each (%llx)\n", ch ? "labelled" : "not under record", TURNS,
	       (unsigned long long)sink);
	channel_close(ch);
	return 0;
}
