/*
 * A position-independent program (gcc's default) with a variable of its own
 * in .bss and one in the shared library it links: prints where both are
 * ("watch_word 0x..." / "watch_lib_word 0x...") and writes each N times, for
 * c2c watch --symbol on a PIE and on a library.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

void *watch_lib_where(void);
void watch_lib_touch(uint64_t n);

volatile uint64_t watch_word[8];

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 0) : 1000;
    printf("watch_word %p\nwatch_lib_word %p\n", (void *)&watch_word[0], watch_lib_where());
    fflush(stdout);
    for (uint64_t i = 0; i < n; i++)
        watch_word[0]++;
    watch_lib_touch(n);
    return 0;
}
