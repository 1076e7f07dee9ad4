/*
 * Allocations at known sites, for libpmuprof_alloc.so's test: a 1 MiB
 * malloc in make_grid, a 256 KiB calloc in make_table, a 2 MiB anonymous
 * mmap in map_arena, 20,000 small mallocs in make_small (a few sampled),
 * then the grid freed and a new one made at (likely) the same address.
 * Every byte of the grid and the arena is written (their pages faulted in,
 * for numa record --alloc). Prints each block's address and each site
 * function's address.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

__attribute__((noinline)) void *make_grid(size_t n);
__attribute__((noinline)) void *make_grid(size_t n)
{
	char *p = malloc(n);
	if (p)
		memset(p, 1, n);
	return p;
}

__attribute__((noinline)) void *make_table(size_t n);
__attribute__((noinline)) void *make_table(size_t n)
{
	unsigned long *p = calloc(n / 8, 8);
	if (p) /* used here, so calloc is a call, not a tail jump that returns into main */
		p[0] = n;
	return p;
}

__attribute__((noinline)) void *map_arena(size_t n);
__attribute__((noinline)) void *map_arena(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void *small[20000];

__attribute__((noinline)) void make_small(void);
__attribute__((noinline)) void make_small(void)
{
	for (int i = 0; i < 20000; i++)
		small[i] = malloc(100);
}

int main(void)
{
	void *grid = make_grid(1 << 20);
	void *table = make_table(256 << 10);
	void *arena = map_arena(2 << 20);
	if (arena)
		memset(arena, 3, 2 << 20);
	make_small();
	printf("grid %p\ntable %p\narena %p\n", grid, table, arena);
	free(grid);
	void *grid2 = make_grid(1 << 20);
	printf("grid2 %p\n", grid2);
	printf("make_grid %p\nmake_table %p\nmap_arena %p\nmake_small %p\n", (void *)make_grid,
	       (void *)make_table, (void *)map_arena, (void *)make_small);
	munmap(arena, 2 << 20);
	for (int i = 0; i < 20000; i++)
		free(small[i]);
	free(table);
	free(grid2);
	return 0;
}
