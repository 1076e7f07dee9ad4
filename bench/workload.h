/*
 * workload.h - tiny helpers shared by the pmuprof benchmark workloads.
 *
 *  - a fixed-seed xorshift64* PRNG (never seeded from the clock, so every
 *    run with the same arguments does exactly the same work), and
 *  - a minimal "--name VALUE" / "--name=VALUE" / "--flag" argument parser.
 *
 * Everything is static inline so each workload stays a single .c file and
 * unused helpers do not trigger -Wunused-function.
 */
#ifndef PMUPROF_BENCH_WORKLOAD_H
#define PMUPROF_BENCH_WORKLOAD_H

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Seed used by every workload unless it derives a per-purpose seed from it. */
#define WL_SEED UINT64_C(0x9E3779B97F4A7C15)

/* ---------------------------------------------------------------- PRNG -- */

typedef struct {
    uint64_t s;
} wl_rng;

static inline wl_rng wl_rng_init(uint64_t seed)
{
    wl_rng r = { seed ? seed : WL_SEED }; /* state must never be zero */
    return r;
}

/* xorshift64* (Vigna): good enough statistically, tiny and deterministic. */
static inline uint64_t wl_rng_next(wl_rng *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * UINT64_C(0x2545F4914F6CDD1D);
}

/* Uniform-ish value in [0, bound); bound must be > 0. The modulo bias is
 * negligible for the buffer sizes used here and, above all, deterministic. */
static inline uint64_t wl_rng_below(wl_rng *r, uint64_t bound)
{
    return wl_rng_next(r) % bound;
}

/* ------------------------------------------------------- arg parsing -- */

enum wl_opt_kind {
    WL_U64,    /* unsigned integer, stored in uint64_t, range [min, max] */
    WL_DOUBLE, /* finite double > 0, stored in double                  */
    WL_FLAG,   /* no value; stores 1 in int                             */
};

typedef struct {
    const char *name;      /* without the leading "--" */
    enum wl_opt_kind kind;
    void *dst;             /* uint64_t *, double * or int * */
    uint64_t min, max;     /* only for WL_U64 */
} wl_opt;

/* Print a one-line error to stderr and exit 2 (bad usage). */
static inline void wl_die_usage(const char *prog, const char *msg, const char *arg)
{
    fprintf(stderr, "%s: %s '%s' (try --help)\n", prog, msg, arg);
    exit(2);
}

static inline void wl_set_value(const char *prog, const wl_opt *o, const char *val)
{
    char *end = NULL;

    if (val == NULL || *val == '\0')
        wl_die_usage(prog, "missing value for option", o->name);
    errno = 0;
    if (o->kind == WL_U64) {
        /* strtoull silently accepts "-1"; reject any sign explicitly. */
        if (val[0] < '0' || val[0] > '9')
            wl_die_usage(prog, "invalid number", val);
        unsigned long long v = strtoull(val, &end, 0);
        if (errno || *end != '\0')
            wl_die_usage(prog, "invalid number", val);
        if (v < o->min || v > o->max)
            wl_die_usage(prog, "value out of range", val);
        *(uint64_t *)o->dst = (uint64_t)v;
    } else { /* WL_DOUBLE */
        double v = strtod(val, &end);
        if (errno || *end != '\0' || !isfinite(v) || !(v > 0.0))
            wl_die_usage(prog, "invalid positive number", val);
        *(double *)o->dst = v;
    }
}

/*
 * Parse argv against opts[0..nopts). "--help"/"-h" prints `usage` to stdout
 * and exits 0. Unknown options, positional arguments, missing or malformed
 * values print one line to stderr and exit 2.
 */
static inline void wl_parse_args(int argc, char **argv, const char *usage,
                                 const wl_opt *opts, size_t nopts)
{
    const char *prog = argc > 0 ? argv[0] : "workload";
    const char *slash = strrchr(prog, '/');
    if (slash)
        prog = slash + 1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            exit(0);
        }
        if (strncmp(a, "--", 2) != 0)
            wl_die_usage(prog, "unexpected argument", a);

        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const wl_opt *o = NULL;
        for (size_t k = 0; k < nopts; k++) {
            if (strlen(opts[k].name) == nlen && strncmp(opts[k].name, name, nlen) == 0) {
                o = &opts[k];
                break;
            }
        }
        if (o == NULL)
            wl_die_usage(prog, "unknown option", a);

        if (o->kind == WL_FLAG) {
            if (eq)
                wl_die_usage(prog, "option takes no value", a);
            *(int *)o->dst = 1;
        } else if (eq) {
            wl_set_value(prog, o, eq + 1);
        } else {
            if (i + 1 >= argc)
                wl_die_usage(prog, "missing value for option", a);
            wl_set_value(prog, o, argv[++i]);
        }
    }
}

#endif /* PMUPROF_BENCH_WORKLOAD_H */
