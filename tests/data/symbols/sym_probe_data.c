/*
 * Probe program for the data-symbol tests of tests/unit/test_symbols.c,
 * built as a PIE and again split (stripped, .symtab in a .gnu_debuglink
 * file). It holds known objects in .data, .bss and .rodata, global and
 * static, an alias, and a size-0 label; it prints "PATH path" and then, per
 * object, "NAME VADDR SIZE OFFSET": the object's ELF virtual address (its
 * address less the load bias), its size, and the file offset of its address
 * in /proc/self/maps (-1 when the page is not mapped from the file).
 */
#include <inttypes.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int data_counter = 42;                 /* .data, global */
static long data_hits = 7;             /* .data, static */
double data_table[64] = {1.0};         /* .data, an array */
char bss_buffer[4096];                 /* .bss, global */
static int bss_flag;                   /* .bss, static */
const struct pair { int a, b; } ro_pair = {1, 2}; /* .rodata */
__thread int tls_counter = 3;          /* TLS: an offset, never a data address */
/* A weak alias of data_counter: the global name wins at the shared address. */
extern int data_counter_alias __attribute__((weak, alias("data_counter")));

/* A label without a size: it names its own address and nothing after it. */
__asm__(".pushsection .data\n"
	".balign 16\n"
	".globl data_marker\n"
	".type data_marker, @object\n"
	"data_marker:\n"
	".fill 16, 1, 0\n"
	".popsection\n");
extern char data_marker[];

static uintptr_t load_bias;

static int first_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	load_bias = info->dlpi_addr; /* the first one is the executable */
	return 1;
}

/* The file offset of addr per /proc/self/maps, or -1; the mapped path into path. */
static int64_t file_offset(uintptr_t addr, char *path, size_t len)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[4200];
	int64_t off = -1;
	while (f && fgets(line, sizeof(line), f)) {
		uintptr_t lo, hi;
		uint64_t pgoff;
		int pos = 0;
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %*s %" SCNx64 " %*s %*s %n", &lo, &hi,
			   &pgoff, &pos) < 3 || pos == 0 || addr < lo || addr >= hi)
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (line[pos] == '/') {
			snprintf(path, len, "%s", line + pos);
			off = (int64_t)(addr - lo + pgoff);
		}
		break;
	}
	if (f)
		fclose(f);
	return off;
}

static void report(const char *name, const volatile void *p, size_t size)
{
	char path[4096];
	printf("%s %" PRIxPTR " %zu %" PRId64 "\n", name, (uintptr_t)p - load_bias, size,
	       file_offset((uintptr_t)p, path, sizeof(path)));
}

int main(void)
{
	char path[4096] = "";
	dl_iterate_phdr(first_object, NULL);
	file_offset((uintptr_t)&main, path, sizeof(path));
	printf("PATH %s\n", path);
	bss_flag = data_counter + (int)data_hits + tls_counter; /* keeps the statics */
	report("data_counter", &data_counter, sizeof(data_counter));
	report("data_hits", &data_hits, sizeof(data_hits));
	report("data_table", data_table, sizeof(data_table));
	report("bss_buffer", bss_buffer, sizeof(bss_buffer));
	report("bss_flag", &bss_flag, sizeof(bss_flag));
	report("ro_pair", &ro_pair, sizeof(ro_pair));
	report("data_marker", data_marker, 0);
	return data_counter_alias == 42 ? 0 : 1;
}
