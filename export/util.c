/* Small pieces export/ shares (see util.h). */
#include "util.h"

#include "base.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int htab_reserve(struct htab *h)
{
	if ((h->n + 1) * 2 <= h->cap)
		return 0;
	size_t ncap = h->cap ? h->cap * 2 : 64;
	struct htab_slot *ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	for (size_t i = 0; i < h->cap; i++) {
		if (!h->slot[i].idx1)
			continue;
		size_t j = h->slot[i].hash & (ncap - 1);
		while (ns[j].idx1)
			j = (j + 1) & (ncap - 1);
		ns[j] = h->slot[i];
	}
	free(h->slot);
	h->slot = ns;
	h->cap = ncap;
	return 0;
}

struct htab_slot *htab_find(const struct htab *h, uint64_t hash, htab_eq_fn eq, const void *ctx,
			    const void *key)
{
	size_t j = hash & (h->cap - 1);
	for (;;) {
		struct htab_slot *s = &h->slot[j];
		if (!s->idx1 || (s->hash == hash && eq(ctx, s->idx1 - 1, key)))
			return s;
		j = (j + 1) & (h->cap - 1);
	}
}

void htab_free(struct htab *h)
{
	free(h->slot);
	h->slot = NULL;
	h->cap = h->n = 0;
}

uint64_t htab_hash_bytes(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull ^ n;
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, s, 8);
		h = htab_mix(h, w);
		s += 8;
		n -= 8;
	}
	/* The tail byte by byte: memcpy of a variable length into w stalls store forwarding. */
	uint64_t w = 0;
	for (size_t i = 0; i < n; i++)
		w |= (uint64_t)(uint8_t)s[i] << (8 * i);
	return htab_mix(h, w);
}

void exp_set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int exp_mkdir_p(const char *path)
{
	char p[PATH_MAX];
	if ((size_t)snprintf(p, sizeof(p), "%s", path) >= sizeof(p))
		return -ENAMETOOLONG;
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s)
			continue;
		char saved = *s;
		*s = '\0';
		if (mkdir(p, 0700) && errno != EEXIST)
			return -errno;
		*s = saved;
		if (!saved)
			break;
	}
	struct stat st;
	if (stat(p, &st))
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int exp_write_atomic(const char *path, mode_t mode, exp_fill_fn fill, void *arg,
		     const char *what, char *err, size_t errlen)
{
	struct base_output_opts o = {.mode = mode, .flags = BASE_OUTPUT_NO_FOLLOW, .what = what};
	return base_write_file(path, &o, fill, arg, err, errlen);
}

int exp_grow(void **arr, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 16;
	while (n < need) {
		if (n > SIZE_MAX / 2)
			return -ENOMEM;
		n *= 2;
	}
	if (n > SIZE_MAX / size)
		return -ENOMEM;
	void *q = realloc(*arr, n * size);
	if (!q)
		return -ENOMEM;
	*arr = q;
	*cap = n;
	return 0;
}
