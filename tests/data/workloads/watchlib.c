/*
 * A shared library with a variable of its own, for c2c watch --symbol on a
 * library. The program never names the variable (a PIE that did would get a
 * copy of it by a copy relocation): it asks watch_lib_where() for its address.
 */
#include <stdint.h>

volatile uint64_t watch_lib_word[8];

void *watch_lib_where(void);
void *watch_lib_where(void)
{
    return (void *)&watch_lib_word[0];
}

void watch_lib_touch(uint64_t n);
void watch_lib_touch(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        watch_lib_word[1]++;
}
