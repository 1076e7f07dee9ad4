/*
 * Probe program for tests/unit/test_symbols.c, built non-PIE and split
 * (stripped, symbols and DWARF in a .gnu_debuglink file). It prints, for each
 * probe function, "PATH FILE_OFFSET LINE NAME": where the call inside the
 * probe sits in the mapped file, and the source line of that call.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__)
#define NOIPA __attribute__((noipa))
#else
#define NOIPA __attribute__((noinline))
#endif

struct probe {
	uintptr_t ip; /* a return address inside the probe */
	int line;
};

static NOIPA uintptr_t where(void)
{
	return (uintptr_t)__builtin_return_address(0);
}

static NOIPA void probe_static(struct probe *p)
{
	p->ip = where(); p->line = __LINE__;
}

NOIPA void probe_global(struct probe *p);
NOIPA void probe_global(struct probe *p)
{
	volatile int spin = 3;
	while (spin > 0)
		spin--;
	p->ip = where(); p->line = __LINE__;
}

/* The mapping of addr in /proc/self/maps: its path and the file offset of addr. */
static int file_offset(uintptr_t addr, char *path, size_t len, uint64_t *off)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[4200];
	int ret = -1;
	while (f && fgets(line, sizeof(line), f)) {
		uintptr_t lo, hi;
		uint64_t pgoff;
		int pos = 0;
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %*s %" SCNx64 " %*s %*s %n", &lo, &hi,
			   &pgoff, &pos) < 3 || pos == 0 || addr < lo || addr >= hi)
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(path, len, "%s", line + pos);
		*off = addr - lo + pgoff;
		ret = 0;
		break;
	}
	if (f)
		fclose(f);
	return ret;
}

static void report(const char *name, const struct probe *p)
{
	char path[4096];
	uint64_t off;
	/* ip - 1: the call instruction, whose line is the probe's. */
	if (file_offset(p->ip - 1, path, sizeof(path), &off) == 0)
		printf("%s %" PRIx64 " %d %s\n", path, off, p->line, name);
}

int main(void)
{
	struct probe a, b;
	probe_static(&a);
	probe_global(&b);
	report("probe_static", &a);
	report("probe_global", &b);
	return 0;
}
