/*
 * Kernel PMUs as sysfs describes them under bus/event_source/devices/<pmu>/:
 * `type` (the attr.type to use), `format/<term>` (where a term's bits go in
 * config/config1/config2, e.g. "config:0-7,32-35"), `events/<name>` (named
 * events as term lists, with optional .unit and .scale) and `caps/`.
 * Read once into the pmu_ctx; the parser then places terms without I/O.
 */
#include "pmu_internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int pmu_read_small_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	size_t n = fread(buf, 1, len - 1, f);
	int bad = ferror(f);
	fclose(f);
	if (bad)
		return -EIO;
	buf[n] = 0;
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		buf[--n] = 0;
	return 0;
}

/* "config1:0-7,32-35" -> word 1, ranges {0,7},{32,35}. */
static int parse_format(const char *text, struct pmu_format *fmt)
{
	const char *p = text;
	if (strncmp(p, "config", 6) != 0)
		return -EINVAL;
	p += 6;
	fmt->word = 0;
	if (isdigit((unsigned char)*p))
		fmt->word = (unsigned)(*p++ - '0');
	if (fmt->word > 2 || *p++ != ':')
		return -EINVAL;
	fmt->nranges = 0;
	while (*p) {
		char *end;
		unsigned long lo = strtoul(p, &end, 10), hi = lo;
		if (end == p)
			return -EINVAL;
		p = end;
		if (*p == '-') {
			hi = strtoul(p + 1, &end, 10);
			if (end == p + 1)
				return -EINVAL;
			p = end;
		}
		if (lo > hi || hi > 63 || fmt->nranges == 4)
			return -EINVAL;
		fmt->ranges[fmt->nranges++] = (struct pmu_format_range){(unsigned)lo, (unsigned)hi};
		if (*p == ',')
			p++;
		else if (*p)
			return -EINVAL;
	}
	return fmt->nranges ? 0 : -EINVAL;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a > b && strcmp(s + a - b, suffix) == 0;
}

static int load_formats(struct pmu_sysfs *pmu, const char *dir)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/format", dir);
	DIR *d = opendir(path);
	if (!d)
		return 0; /* software-style PMUs have no format/ */
	struct dirent *de;
	int ret = 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char file[PATH_MAX + 256], text[256];
		snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
		struct pmu_format fmt = {0};
		snprintf(fmt.name, sizeof(fmt.name), "%s", de->d_name);
		if (pmu_read_small_file(file, text, sizeof(text)) < 0 ||
		    parse_format(text, &fmt) < 0)
			continue; /* a format we cannot read is one term the user cannot use */
		struct pmu_format *grown =
			realloc(pmu->formats, (pmu->nformats + 1) * sizeof(*pmu->formats));
		if (!grown) {
			ret = -ENOMEM;
			break;
		}
		pmu->formats = grown;
		pmu->formats[pmu->nformats++] = fmt;
	}
	closedir(d);
	return ret;
}

static int load_aliases(struct pmu_sysfs *pmu, const char *dir)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/events", dir);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	struct dirent *de;
	int ret = 0;
	while ((de = readdir(d)) != NULL) {
		const char *n = de->d_name;
		if (n[0] == '.' || has_suffix(n, ".unit") || has_suffix(n, ".scale") ||
		    has_suffix(n, ".per-pkg") || has_suffix(n, ".snapshot"))
			continue;
		char file[PATH_MAX + 256], text[256];
		struct pmu_alias a = {.scale = 1.0};
		snprintf(a.name, sizeof(a.name), "%s", n);
		snprintf(file, sizeof(file), "%s/%s", path, n);
		if (pmu_read_small_file(file, a.terms, sizeof(a.terms)) < 0)
			continue;
		snprintf(file, sizeof(file), "%s/%s.unit", path, n);
		if (pmu_read_small_file(file, text, sizeof(text)) == 0)
			snprintf(a.unit, sizeof(a.unit), "%s", text);
		snprintf(file, sizeof(file), "%s/%s.scale", path, n);
		if (pmu_read_small_file(file, text, sizeof(text)) == 0) {
			char *end;
			double s = strtod(text, &end);
			if (end != text && s > 0)
				a.scale = s;
		}
		struct pmu_alias *grown =
			realloc(pmu->aliases, (pmu->naliases + 1) * sizeof(*pmu->aliases));
		if (!grown) {
			ret = -ENOMEM;
			break;
		}
		pmu->aliases = grown;
		pmu->aliases[pmu->naliases++] = a;
	}
	closedir(d);
	return ret;
}

static int cmp_pmu(const void *a, const void *b)
{
	return strcmp(((const struct pmu_sysfs *)a)->name, ((const struct pmu_sysfs *)b)->name);
}

static int cmp_alias(const void *a, const void *b)
{
	return strcmp(((const struct pmu_alias *)a)->name, ((const struct pmu_alias *)b)->name);
}

int pmu_sysfs_load(struct pmu_ctx *ctx, char *err, size_t errlen)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/bus/event_source/devices", ctx->root);
	DIR *d = opendir(path);
	if (!d)
		return base_fail(
			err, errlen, -errno,
			"cannot read %s: %s; is sysfs mounted? (mount -t sysfs sysfs /sys)", path,
			strerror(errno));
	struct dirent *de;
	int ret = 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char dir[PATH_MAX + 256], file[PATH_MAX + 300], text[64];
		snprintf(dir, sizeof(dir), "%s/%s", path, de->d_name);
		snprintf(file, sizeof(file), "%s/type", dir);
		if (pmu_read_small_file(file, text, sizeof(text)) < 0)
			continue;
		struct pmu_sysfs pmu = {.max_precise = -1};
		snprintf(pmu.name, sizeof(pmu.name), "%s", de->d_name);
		pmu.type = (uint32_t)strtoul(text, NULL, 10);
		snprintf(file, sizeof(file), "%s/caps/max_precise", dir);
		if (pmu_read_small_file(file, text, sizeof(text)) == 0)
			pmu.max_precise = atoi(text);
		if ((ret = load_formats(&pmu, dir)) < 0 || (ret = load_aliases(&pmu, dir)) < 0) {
			free(pmu.formats);
			free(pmu.aliases);
			break;
		}
		if (pmu.naliases) /* qsort's base must not be NULL, even for no elements */
			qsort(pmu.aliases, pmu.naliases, sizeof(*pmu.aliases), cmp_alias);
		struct pmu_sysfs *grown = realloc(ctx->pmus, (ctx->npmus + 1) * sizeof(*ctx->pmus));
		if (!grown) {
			free(pmu.formats);
			free(pmu.aliases);
			ret = -ENOMEM;
			break;
		}
		ctx->pmus = grown;
		ctx->pmus[ctx->npmus++] = pmu;
	}
	closedir(d);
	if (ret < 0)
		return base_fail(err, errlen, ret, "cannot load PMU descriptions from %s: %s", path,
				 strerror(-ret));
	if (ctx->npmus)
		qsort(ctx->pmus, ctx->npmus, sizeof(*ctx->pmus), cmp_pmu);
	return 0;
}

void pmu_sysfs_free(struct pmu_ctx *ctx)
{
	for (size_t i = 0; i < ctx->npmus; i++) {
		free(ctx->pmus[i].formats);
		free(ctx->pmus[i].aliases);
	}
	free(ctx->pmus);
	ctx->pmus = NULL;
	ctx->npmus = 0;
}

const struct pmu_sysfs *pmu_sysfs_find(const struct pmu_ctx *ctx, const char *name)
{
	for (size_t i = 0; i < ctx->npmus; i++)
		if (strcmp(ctx->pmus[i].name, name) == 0)
			return &ctx->pmus[i];
	return NULL;
}

const struct pmu_sysfs *pmu_sysfs_find_type(const struct pmu_ctx *ctx, uint32_t type)
{
	for (size_t i = 0; i < ctx->npmus; i++)
		if (ctx->pmus[i].type == type)
			return &ctx->pmus[i];
	return NULL;
}

const struct pmu_sysfs *pmu_sysfs_core(const struct pmu_ctx *ctx)
{
	/* x86 names its core PMU "cpu" (hybrid: "cpu_core"); arm64 "armv8_*". */
	static const char *const core_names[] = {"cpu", "cpu_core", NULL};
	for (const char *const *n = core_names; *n; n++) {
		const struct pmu_sysfs *p = pmu_sysfs_find(ctx, *n);
		if (p)
			return p;
	}
	for (size_t i = 0; i < ctx->npmus; i++)
		if (strncmp(ctx->pmus[i].name, "armv8_", 6) == 0)
			return &ctx->pmus[i];
	return NULL;
}

const struct pmu_format *pmu_sysfs_format(const struct pmu_sysfs *pmu, const char *name)
{
	for (size_t i = 0; i < pmu->nformats; i++)
		if (strcmp(pmu->formats[i].name, name) == 0)
			return &pmu->formats[i];
	return NULL;
}

const struct pmu_alias *pmu_sysfs_alias(const struct pmu_sysfs *pmu, const char *name)
{
	struct pmu_alias key;
	if (pmu->naliases == 0)
		return NULL;
	snprintf(key.name, sizeof(key.name), "%s", name);
	return bsearch(&key, pmu->aliases, pmu->naliases, sizeof(*pmu->aliases), cmp_alias);
}

unsigned pmu_format_bits(const struct pmu_format *fmt)
{
	unsigned bits = 0;
	for (unsigned i = 0; i < fmt->nranges; i++)
		bits += fmt->ranges[i].hi - fmt->ranges[i].lo + 1;
	return bits;
}

int pmu_format_place(const struct pmu_format *fmt, uint64_t value, struct perf_event_attr *attr)
{
	__u64 *word = fmt->word == 0   ? &attr->config
			 : fmt->word == 1 ? &attr->config1
					  : &attr->config2;
	unsigned bits = pmu_format_bits(fmt);
	if (bits < 64 && (value >> bits) != 0)
		return -ERANGE;
	/* Low bits of the value fill the first range, the next bits the second, ... */
	for (unsigned i = 0; i < fmt->nranges; i++) {
		unsigned lo = fmt->ranges[i].lo, width = fmt->ranges[i].hi - lo + 1;
		uint64_t mask = width == 64 ? ~0ULL : ((1ULL << width) - 1);
		*word = (*word & ~(mask << lo)) | ((value & mask) << lo);
		value = width == 64 ? 0 : value >> width;
	}
	return 0;
}
