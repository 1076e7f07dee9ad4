/*
 * The event-string parser: perf's event syntax to perf_event_attr.
 *
 * Resolution order for a plain NAME[:MODS] follows perf: generic hardware
 * and software names, cache events, raw rNNNN, named events of sysfs PMUs,
 * then libpfm4 (which knows the CPU's native names where it has tables).
 * PMU/terms/ strings place each term through the PMU's sysfs format files.
 * A bare preset name (sharing, cache) expands to several events, each its
 * own entry in the list (see presets.c).
 */
#include "pfm.h"
#include "pmu_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int pmu_ctx_new(struct pmu_ctx **out, const char *sysfs_root, char *err, size_t errlen)
{
	struct pmu_ctx *ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	snprintf(ctx->root, sizeof(ctx->root), "%s", sysfs_root ? sysfs_root : "/sys");
	int ret = pmu_sysfs_load(ctx, err, errlen);
	if (ret == 0 && (ret = pmu_cpu_detect(&ctx->cpu, err, errlen)) < 0)
		pmu_sysfs_free(ctx);
	if (ret < 0) {
		free(ctx);
		return ret;
	}
	*out = ctx;
	return 0;
}

void pmu_ctx_free(struct pmu_ctx *ctx)
{
	if (!ctx)
		return;
	pmu_sysfs_free(ctx);
	free(ctx);
}

bool pmu_event_is_clock(const struct pmu_event *ev)
{
	return ev->attr.type == PERF_TYPE_SOFTWARE &&
	       (ev->attr.config == PERF_COUNT_SW_CPU_CLOCK ||
		ev->attr.config == PERF_COUNT_SW_TASK_CLOCK);
}

void pmu_event_list_free(struct pmu_event_list *list)
{
	free(list->ev);
	list->ev = NULL;
	list->n = list->cap = 0;
	list->notice[0] = 0;
}

static struct pmu_event *list_push(struct pmu_event_list *list)
{
	if (list->n == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 8;
		struct pmu_event *grown = realloc(list->ev, cap * sizeof(*grown));
		if (!grown)
			return NULL;
		list->ev = grown;
		list->cap = cap;
	}
	struct pmu_event *ev = &list->ev[list->n++];
	memset(ev, 0, sizeof(*ev));
	ev->attr.size = sizeof(ev->attr);
	ev->scale = 1.0;
	ev->leader = (int)(list->n - 1);
	ev->group_size = 1;
	return ev;
}

/* --- numbers and names ----------------------------------------------------- */

static int parse_u64(const char *s, uint64_t *v)
{
	if (!*s || *s == '-')
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 0);
	if (errno || *end)
		return -EINVAL;
	*v = x;
	return 0;
}

static const struct pmu_named_event *find_generic(const char *name)
{
	for (size_t i = 0; i < pmu_generic_events_count; i++)
		if (strcmp(pmu_generic_events[i].name, name) == 0)
			return &pmu_generic_events[i];
	return NULL;
}

static bool is_raw(const char *s)
{
	if (s[0] != 'r' || !s[1] || strlen(s) > 17)
		return false;
	for (const char *p = s + 1; *p; p++)
		if (!isxdigit((unsigned char)*p))
			return false;
	return true;
}

static void set_display_name(struct pmu_event *ev, const char *name)
{
	snprintf(ev->name, sizeof(ev->name), "%s", name);
}

/* --- modifiers ------------------------------------------------------------- */

struct mods {
	bool u, k, h, sample_read;
	int precise;
	bool precise_max, guest_only, host_only, pinned, exclusive, exclude_idle;
};

static int parse_mods(const char *s, const char *event, struct mods *m, char *err, size_t errlen)
{
	for (const char *p = s; *p; p++) {
		switch (*p) {
		case 'u': m->u = true; break;
		case 'k': m->k = true; break;
		case 'h': m->h = true; break;
		case 'p': m->precise++; break;
		case 'P': m->precise_max = true; break;
		case 'S': m->sample_read = true; break;
		case 'G': m->guest_only = true; break;
		case 'H': m->host_only = true; break;
		case 'D': m->pinned = true; break;
		case 'e': m->exclusive = true; break;
		case 'I': m->exclude_idle = true; break;
		case 'W': break; /* weak group: we never split groups, accepted for perf compatibility */
		default:
			return base_fail(err, errlen, -EINVAL,
					 "invalid modifier '%c' in event '%s'; valid modifiers are "
					 "u k h p pp ppp P S G H D e I W (see perf-list(1))",
					 *p, event);
		}
	}
	if (m->precise > 3)
		return base_fail(err, errlen, -EINVAL,
				 "event '%s': at most three 'p' modifiers (:ppp) are allowed",
				 event);
	return 0;
}

static void apply_mods(const struct pmu_ctx *ctx, struct pmu_event *ev, const struct mods *m)
{
	struct perf_event_attr *a = &ev->attr;
	if (m->u || m->k || m->h) {
		/* perf's rule: naming any privilege level excludes the unnamed ones. */
		a->exclude_user = !m->u;
		a->exclude_kernel = !m->k;
		a->exclude_hv = !m->h;
		ev->priv_explicit = true;
	}
	if (m->precise)
		a->precise_ip = (unsigned)m->precise;
	if (m->precise_max) {
		int max = pmu_host_max_precise(ctx);
		a->precise_ip = (unsigned)(max > 0 ? max : 0);
	}
	if (m->guest_only)
		a->exclude_host = 1;
	if (m->host_only)
		a->exclude_guest = 1;
	if (m->pinned)
		a->pinned = 1;
	if (m->exclusive)
		a->exclusive = 1;
	if (m->exclude_idle)
		a->exclude_idle = 1;
}

/* --- terms (PMU/terms/ and NAME/terms/) ------------------------------------ */

static int apply_terms(const struct pmu_ctx *ctx, const struct pmu_sysfs *pmu, const char *terms,
		       struct pmu_event *ev, const char *event, int depth, char *err,
		       size_t errlen);

static void suggest_term(const struct pmu_sysfs *pmu, const char *key, char *buf, size_t len)
{
	const char *best = NULL;
	size_t bestd = (size_t)-1;
	for (size_t i = 0; i < pmu->nformats; i++) {
		size_t d = pmu_edit_distance(key, pmu->formats[i].name);
		if (d < bestd)
			bestd = d, best = pmu->formats[i].name;
	}
	for (size_t i = 0; i < pmu->naliases; i++) {
		size_t d = pmu_edit_distance(key, pmu->aliases[i].name);
		if (d < bestd)
			bestd = d, best = pmu->aliases[i].name;
	}
	size_t limit = strlen(key) / 3 + 1;
	if (best && bestd <= (limit > 2 ? limit : 2))
		snprintf(buf, len, "; did you mean '%s'?", best);
	else
		buf[0] = 0;
}

/* Terms every event accepts, whatever its PMU. 1 = handled, 0 = not ours, <0 = error. */
static int apply_common_term(const char *key, const char *val, struct pmu_event *ev,
			     const char *event, char *err, size_t errlen)
{
	uint64_t v = 1;
	if (strcmp(key, "name") == 0) {
		if (!val || !*val)
			return base_fail(err, errlen, -EINVAL, "event '%s': name= needs a value",
					 event);
		size_t n = strlen(val);
		if (n >= 2 && (val[0] == '\'' || val[0] == '"') && val[n - 1] == val[0])
			snprintf(ev->name, sizeof(ev->name), "%.*s", (int)(n - 2), val + 1);
		else
			set_display_name(ev, val);
		return 1;
	}
	static const char *const numeric[] = {"period", "freq", "config", "config1", "config2",
					      NULL};
	bool is_numeric = false;
	for (const char *const *k = numeric; *k; k++)
		is_numeric |= strcmp(key, *k) == 0;
	if (!is_numeric)
		return 0;
	if (!val || parse_u64(val, &v) < 0)
		return base_fail(err, errlen, -EINVAL,
				 "event '%s': term '%s' needs a number (e.g. %s=0x10 or %s=100000)",
				 event, key, key, key);
	if (strcmp(key, "period") == 0) {
		if (v == 0)
			return base_fail(err, errlen, -EINVAL,
					 "event '%s': period must be greater than zero", event);
		ev->attr.sample_period = v;
		ev->attr.freq = 0;
		ev->period_explicit = true;
	} else if (strcmp(key, "freq") == 0) {
		if (v == 0)
			return base_fail(err, errlen, -EINVAL,
					 "event '%s': freq must be greater than zero", event);
		ev->attr.sample_freq = v;
		ev->attr.freq = 1;
		ev->period_explicit = true;
	} else if (strcmp(key, "config") == 0) {
		ev->attr.config = v;
	} else if (strcmp(key, "config1") == 0) {
		ev->attr.config1 = v;
	} else {
		ev->attr.config2 = v;
	}
	return 1;
}

/* Breakpoint PMU terms: the address, length and access type live outside config. */
static int apply_breakpoint_term(const char *key, const char *val, struct pmu_event *ev,
				 const char *event, char *err, size_t errlen)
{
	uint64_t v;
	bool addr = strcmp(key, "bp_addr") == 0, len = strcmp(key, "bp_len") == 0,
	     type = strcmp(key, "bp_type") == 0;
	if (!addr && !len && !type)
		return 0;
	if (!val || parse_u64(val, &v) < 0)
		return base_fail(err, errlen, -EINVAL, "event '%s': term '%s' needs a number",
				 event, key);
	if (addr)
		ev->attr.bp_addr = v;
	else if (len)
		ev->attr.bp_len = v;
	else
		ev->attr.bp_type = (uint32_t)v;
	return 1;
}

static int apply_one_term(const struct pmu_ctx *ctx, const struct pmu_sysfs *pmu, char *term,
			  struct pmu_event *ev, const char *event, int depth, char *err,
			  size_t errlen)
{
	char *eq = strchr(term, '=');
	const char *val = NULL;
	if (eq) {
		*eq = 0;
		val = eq + 1;
	}
	const char *key = term;
	int ret = apply_common_term(key, val, ev, event, err, errlen);
	if (ret)
		return ret < 0 ? ret : 0;
	if (!pmu)
		return base_fail(err, errlen, -EINVAL,
				 "event '%s': unknown term '%s' (valid here: period, freq, name, "
				 "config, config1, config2)",
				 event, key);
	if (pmu->type == PERF_TYPE_BREAKPOINT) {
		ret = apply_breakpoint_term(key, val, ev, event, err, errlen);
		if (ret)
			return ret < 0 ? ret : 0;
	}
	const struct pmu_format *fmt = pmu_sysfs_format(pmu, key);
	if (fmt) {
		uint64_t v = 1; /* a bare flag term ("edge") means 1, as in perf */
		if (val && parse_u64(val, &v) < 0)
			return base_fail(err, errlen, -EINVAL,
					 "event '%s': value '%s' of term '%s' is not a number",
					 event, val, key);
		if (pmu_format_place(fmt, v, &ev->attr) < 0)
			return base_fail(err, errlen, -ERANGE,
					 "event '%s': value %#llx does not fit term '%s' (%u bits)",
					 event, (unsigned long long)v, key, pmu_format_bits(fmt));
		return 0;
	}
	const struct pmu_alias *alias = val ? NULL : pmu_sysfs_alias(pmu, key);
	if (alias) {
		if (depth > 0)
			return base_fail(err, errlen, -EINVAL,
					 "event '%s': sysfs event '%s' refers to another event",
					 event, key);
		snprintf(ev->unit, sizeof(ev->unit), "%s", alias->unit);
		ev->scale = alias->scale;
		return apply_terms(ctx, pmu, alias->terms, ev, event, depth + 1, err, errlen);
	}
	const struct pmu_named_event *g = val ? NULL : find_generic(key);
	if (g && g->type == PERF_TYPE_HARDWARE && pmu == pmu_sysfs_core(ctx)) {
		/* "cpu/cycles/": a generic event bound to this core PMU (hybrid: extended type). */
		ev->attr.type = PERF_TYPE_HARDWARE;
		ev->attr.config = g->config;
		if (strcmp(pmu->name, "cpu") != 0)
			ev->attr.config |= (uint64_t)pmu->type << 32;
		return 0;
	}
	char hint[160];
	suggest_term(pmu, key, hint, sizeof(hint));
	return base_fail(err, errlen, -EINVAL,
			 "event '%s': PMU '%s' has no term or event '%s'%s (run 'pmuprof list %s/' "
			 "to see its events and terms)",
			 event, pmu->name, key, hint, pmu->name);
}

static int apply_terms(const struct pmu_ctx *ctx, const struct pmu_sysfs *pmu, const char *terms,
		       struct pmu_event *ev, const char *event, int depth, char *err,
		       size_t errlen)
{
	char *copy = strdup(terms);
	if (!copy)
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	int ret = 0;
	char *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t && ret == 0; t = strtok_r(NULL, ",", &save)) {
		while (isspace((unsigned char)*t))
			t++;
		if (*t == 0)
			continue;
		/* Parameterised sysfs events ("...,param=?") need a value we do not have. */
		if (depth > 0 && strstr(t, "=?")) {
			ret = base_fail(
				err, errlen, -EINVAL,
				"event '%s' needs a parameter (%s); give it explicitly in the "
				"PMU/term=value/ form",
				event, t);
			break;
		}
		ret = apply_one_term(ctx, pmu, t, ev, event, depth, err, errlen);
	}
	free(copy);
	return ret;
}

/* --- single events ---------------------------------------------------------- */

/* "mem:ADDR[/LEN][:rwx]": a hardware breakpoint (watchpoint), perf's syntax. */
static int parse_breakpoint(const char *tok, struct pmu_event *ev, char *err, size_t errlen)
{
	char buf[PMU_NAME_MAX];
	snprintf(buf, sizeof(buf), "%s", tok + 4);
	char *access = strchr(buf, ':');
	if (access)
		*access++ = 0;
	char *len = strchr(buf, '/');
	if (len)
		*len++ = 0;
	uint64_t addr, blen = 0;
	if (parse_u64(buf, &addr) < 0 || (len && parse_u64(len, &blen) < 0))
		return base_fail(err, errlen, -EINVAL,
				 "malformed breakpoint '%s'; expected mem:ADDR[/LEN][:rwx], e.g. "
				 "mem:0x601040/8:w",
				 tok);
	unsigned type = 0;
	for (const char *p = access ? access : "rw"; *p; p++) {
		if (*p == 'r')
			type |= 1; /* HW_BREAKPOINT_R */
		else if (*p == 'w')
			type |= 2; /* HW_BREAKPOINT_W */
		else if (*p == 'x')
			type |= 4; /* HW_BREAKPOINT_X */
		else
			return base_fail(err, errlen, -EINVAL,
					 "breakpoint '%s': access '%c' is not one of r, w, x", tok,
					 *p);
	}
	if ((type & 4) && (type & 3))
		return base_fail(err, errlen, -EINVAL,
				 "breakpoint '%s': execute (x) cannot be combined with r or w",
				 tok);
	ev->attr.type = PERF_TYPE_BREAKPOINT;
	ev->attr.bp_type = type;
	ev->attr.bp_addr = addr;
	ev->attr.bp_len = blen ? blen : (type & 4) ? sizeof(long) : 4;
	ev->attr.sample_period = 1; /* every hit, as perf */
	set_display_name(ev, tok);
	return 0;
}

/* "PMU/terms/MODS" or "NAME/terms/MODS". */
static int parse_pmu_event(const struct pmu_ctx *ctx, const char *tok, struct pmu_event *ev,
			   char *err, size_t errlen)
{
	const char *first = strchr(tok, '/'), *last = strrchr(tok, '/');
	if (first == last)
		return base_fail(err, errlen, -EINVAL,
				 "malformed event '%s': the term list is not closed; expected "
				 "PMU/term=value,.../, e.g. cpu/event=0x44,umask=0x04/",
				 tok);
	char prefix[PMU_NAME_MAX], terms[256];
	snprintf(prefix, sizeof(prefix), "%.*s", (int)(first - tok), tok);
	snprintf(terms, sizeof(terms), "%.*s", (int)(last - first - 1), first + 1);
	const char *modstr = last + 1;
	if (*modstr == ':')
		modstr++;
	set_display_name(ev, tok);
	struct mods m = {0};
	int ret = parse_mods(modstr, tok, &m, err, errlen);
	if (ret < 0)
		return ret;

	const struct pmu_sysfs *pmu = pmu_sysfs_find(ctx, prefix);
	uint64_t cache_config;
	const struct pmu_named_event *g = find_generic(prefix);
	if (pmu) {
		ev->attr.type = pmu->type;
		if (strcmp(pmu->name, "cpu") == 0 || pmu->type == PERF_TYPE_RAW)
			ev->attr.type = PERF_TYPE_RAW;
	} else if (g) {
		ev->attr.type = g->type;
		ev->attr.config = g->config;
	} else if (pmu_cache_lookup(prefix, &cache_config) == 0) {
		ev->attr.type = PERF_TYPE_HW_CACHE;
		ev->attr.config = cache_config;
	} else if (!pmu_sysfs_core(ctx) && (strcmp(prefix, "cpu") == 0 ||
					     strncmp(prefix, "cpu_", 4) == 0)) {
		return base_fail(err, errlen, -ENOENT,
				 "event '%s' needs the CPU's PMU '%s', but this host exposes no "
				 "hardware PMU (typical of a VM without a virtual PMU); use "
				 "software events such as cpu-clock or task-clock",
				 tok, prefix);
	} else {
		char hint[256] = "";
		pmu_suggest(ctx, prefix, hint, sizeof(hint));
		char names[256] = "";
		size_t used = 0;
		for (size_t i = 0; i < ctx->npmus && used < sizeof(names) - 1; i++) {
			int n = snprintf(names + used, sizeof(names) - used, "%s%s", i ? ", " : "",
					 ctx->pmus[i].name);
			if (n < 0)
				break;
			used += (size_t)n;
		}
		return base_fail(err, errlen, -ENOENT,
				 "unknown PMU '%s' in event '%s'%s (PMUs on this host: %s)", prefix,
				 tok, hint, names);
	}
	if (*terms == 0 && pmu)
		return base_fail(err, errlen, -EINVAL,
				 "event '%s' has no terms; name an event or give term=value, e.g. "
				 "%s/event=0x3c/",
				 tok, prefix);
	ret = apply_terms(ctx, pmu, terms, ev, tok, 0, err, errlen);
	if (ret < 0)
		return ret;
	if (pmu && pmu->type == PERF_TYPE_BREAKPOINT && ev->attr.bp_type == 0)
		return base_fail(err, errlen, -EINVAL,
				 "event '%s': a breakpoint needs bp_addr=, bp_len= and bp_type= "
				 "(1=r, 2=w, 3=rw, 4=x); or write mem:ADDR/LEN:rw",
				 tok);
	apply_mods(ctx, ev, &m);
	return 0;
}

/* A bare name that is a named event of some sysfs PMU (core PMU first), as perf allows. */
static const struct pmu_sysfs *find_bare_alias(const struct pmu_ctx *ctx, const char *name,
					       const struct pmu_alias **alias)
{
	const struct pmu_sysfs *core = pmu_sysfs_core(ctx);
	if (core && (*alias = pmu_sysfs_alias(core, name)) != NULL)
		return core;
	for (size_t i = 0; i < ctx->npmus; i++)
		if ((*alias = pmu_sysfs_alias(&ctx->pmus[i], name)) != NULL)
			return &ctx->pmus[i];
	return NULL;
}

/* Splits "name:mods" into base (a copy) and the modifier string (within base; "" if none). */
static const char *split_mods(const char *tok, char base[PMU_NAME_MAX])
{
	snprintf(base, PMU_NAME_MAX, "%s", tok);
	char *colon = strchr(base, ':');
	if (!colon)
		return "";
	*colon = 0;
	return colon + 1;
}

static int parse_named_event(const struct pmu_ctx *ctx, const char *tok, struct pmu_event *ev,
			     char *err, size_t errlen)
{
	char base[PMU_NAME_MAX];
	const char *modstr = split_mods(tok, base);
	set_display_name(ev, tok);

	const struct pmu_named_event *g = find_generic(base);
	uint64_t config;
	const struct pmu_alias *alias = NULL;
	const struct pmu_sysfs *apmu = NULL;
	if (g) {
		ev->attr.type = g->type;
		ev->attr.config = g->config;
	} else if (pmu_cache_lookup(base, &config) == 0) {
		ev->attr.type = PERF_TYPE_HW_CACHE;
		ev->attr.config = config;
	} else if (is_raw(base)) {
		ev->attr.type = PERF_TYPE_RAW;
		ev->attr.config = strtoull(base + 1, NULL, 16);
	} else if ((apmu = find_bare_alias(ctx, base, &alias)) != NULL) {
		ev->attr.type = strcmp(apmu->name, "cpu") == 0 ? PERF_TYPE_RAW : apmu->type;
		snprintf(ev->unit, sizeof(ev->unit), "%s", alias->unit);
		ev->scale = alias->scale;
		int ret = apply_terms(ctx, apmu, alias->terms, ev, tok, 1, err, errlen);
		if (ret < 0)
			return ret;
	} else {
		/* Last resort: libpfm4's default PMU (the CPU's native table when it has one). */
		char pfm_err[BASE_ERR_MAX];
		if (pmu_pfm_init() == 0 &&
		    pmu_pfm_encode(tok, &ev->attr, sizeof(ev->attr), pfm_err, sizeof(pfm_err)) == 0) {
			ev->attr.size = sizeof(ev->attr);
			return 0;
		}
		char hint[256] = "";
		pmu_suggest(ctx, base, hint, sizeof(hint));
		return base_fail(err, errlen, -ENOENT,
				 "unknown event '%s'%s (run 'pmuprof list' to see the events of "
				 "this host)",
				 base, hint);
	}
	if (pmu_event_is_clock(ev))
		snprintf(ev->unit, sizeof(ev->unit), "msec");
	struct mods m = {0};
	int ret = parse_mods(modstr, tok, &m, err, errlen);
	if (ret < 0)
		return ret;
	apply_mods(ctx, ev, &m);
	return 0;
}

static int parse_one(const struct pmu_ctx *ctx, const char *tok, struct pmu_event *ev,
		     char *err, size_t errlen)
{
	if (*tok == 0)
		return base_fail(err, errlen, -EINVAL,
				 "empty event name in the event list; separate events with single "
				 "commas, e.g. -e cycles,instructions");
	if (strlen(tok) >= PMU_NAME_MAX)
		return base_fail(err, errlen, -ENAMETOOLONG,
				 "event string '%.40s...' is too long (max %d characters)", tok,
				 PMU_NAME_MAX - 1);
	if (strncmp(tok, "mem:", 4) == 0)
		return parse_breakpoint(tok, ev, err, errlen);
	if (strstr(tok, "::")) {
		if (pmu_pfm_init() < 0)
			return base_fail(err, errlen, -ENODEV,
					 "event '%s' is a libpfm4 name but libpfm4 failed to "
					 "initialise; use a sysfs or raw event instead",
					 tok);
		int ret = pmu_pfm_encode(tok, &ev->attr, sizeof(ev->attr), err, errlen);
		ev->attr.size = sizeof(ev->attr);
		set_display_name(ev, tok);
		return ret;
	}
	if (strchr(tok, '/'))
		return parse_pmu_event(ctx, tok, ev, err, errlen);
	return parse_named_event(ctx, tok, ev, err, errlen);
}

/* --- presets ---------------------------------------------------------------- */

/* "sharing" or "cache:u": a preset name with optional modifiers, nothing else. */
static bool is_preset_token(const char *tok)
{
	char base[PMU_NAME_MAX];
	snprintf(base, sizeof(base), "%s", tok);
	base[strcspn(base, ":")] = 0;
	return !strchr(tok, '/') && pmu_preset_is(base);
}

/* Adds a notice line to the list's, keeping earlier ones. */
static void add_notice(struct pmu_event_list *list, const char *notice)
{
	if (!*notice || strstr(list->notice, notice))
		return;
	size_t used = strlen(list->notice);
	snprintf(list->notice + used, sizeof(list->notice) - used, "%s%s", used ? "; " : "",
		 notice);
}

/* Appends the preset's events; *added says how many. The list is unchanged on error. */
static int push_preset(const struct pmu_ctx *ctx, const char *tok, struct pmu_event_list *list,
		       size_t *added, char *err, size_t errlen)
{
	char base[PMU_NAME_MAX];
	const char *modstr = split_mods(tok, base);
	struct mods m = {0};
	int ret = parse_mods(modstr, tok, &m, err, errlen);
	if (ret < 0)
		return ret;
	struct pmu_preset_item items[PMU_PRESET_MAX];
	size_t n = 0;
	char notice[BASE_ERR_MAX] = "";
	ret = pmu_preset_expand(ctx, base, items, &n, notice, sizeof(notice), err, errlen);
	if (ret < 0)
		return ret;
	size_t before = list->n;
	for (size_t i = 0; i < n; i++) {
		struct pmu_event *ev = list_push(list);
		if (!ev) {
			list->n = before;
			return base_fail(err, errlen, -ENOMEM, "out of memory");
		}
		int self = (int)(list->n - 1);
		*ev = items[i].ev;
		snprintf(ev->preset, sizeof(ev->preset), "%s", tok);
		ev->leader = self;
		ev->group_size = 1;
		apply_mods(ctx, ev, &m);
		if (*modstr) {
			size_t l = strlen(ev->name);
			snprintf(ev->name + l, sizeof(ev->name) - l, ":%s", modstr);
		}
	}
	add_notice(list, notice);
	*added = n;
	return 0;
}

/* --- tracepoints ----------------------------------------------------------- */

/* Modifier letters only: the suffix of "cycles:u". */
static bool is_mods(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr("ukhpPSGHDeIW", s[i]))
			return false;
	return n > 0;
}

/*
 * "sys:name[:mods]": a ':' followed by something other than modifiers, no
 * '/', no "::", and before it no event name (whose modifiers are then wrong).
 */
static bool is_tracepoint_token(const struct pmu_ctx *ctx, const char *tok)
{
	const char *colon = strchr(tok, ':');
	if (!colon || colon == tok || strchr(tok, '/') || strstr(tok, "::") ||
	    strncmp(tok, "mem:", 4) == 0)
		return false;
	const char *rest = colon + 1, *end = strchr(rest, ':');
	if (is_mods(rest, end ? (size_t)(end - rest) : strlen(rest)))
		return false;
	char base[PMU_NAME_MAX];
	split_mods(tok, base);
	uint64_t config;
	const struct pmu_alias *alias;
	return !find_generic(base) && pmu_cache_lookup(base, &config) < 0 && !is_raw(base) &&
	       !find_bare_alias(ctx, base, &alias) && !pmu_preset_is(base);
}

struct tp_push {
	const struct pmu_ctx *ctx;
	struct pmu_event_list *list;
	const char *modstr;
	struct mods m;
	char *err;
	size_t errlen;
};

static int push_tracepoint(const char *sys, const char *name, uint64_t id, void *arg)
{
	struct tp_push *p = arg;
	struct pmu_event *ev = list_push(p->list);
	if (!ev)
		return base_fail(p->err, p->errlen, -ENOMEM, "out of memory");
	ev->attr.type = PERF_TYPE_TRACEPOINT;
	ev->attr.config = id;
	ev->attr.sample_period = 1; /* every hit, as perf, unless -c or -F say otherwise */
	ev->period_default = true;
	snprintf(ev->name, sizeof(ev->name), "%s:%s%s%s", sys, name, *p->modstr ? ":" : "",
		 p->modstr);
	apply_mods(p->ctx, ev, &p->m);
	return 0;
}

/*
 * Appends the tracepoints "sys:name[:mods]" names (globs give several); *added
 * says how many. A libpfm4 name with a unit mask ("inst_retired:any_p") has
 * the same shape: where no tracepoint subsystem is called so, it is tried
 * as one. The list is unchanged on error.
 */
static int push_tracepoints(const struct pmu_ctx *ctx, const char *tok, struct pmu_event_list *list,
			    size_t *added, char *err, size_t errlen)
{
	char sys[PMU_NAME_MAX];
	if (strlen(tok) >= sizeof(sys))
		return base_fail(err, errlen, -ENAMETOOLONG,
				 "event string '%.40s...' is too long (max %d characters)", tok,
				 PMU_NAME_MAX - 1);
	snprintf(sys, sizeof(sys), "%s", tok);
	char *name = strchr(sys, ':');
	*name++ = 0;
	char *mods = strchr(name, ':');
	if (mods)
		*mods++ = 0;
	struct tp_push p = {ctx, list, mods ? mods : "", {0}, err, errlen};
	int ret = parse_mods(p.modstr, tok, &p.m, err, errlen);
	if (ret < 0)
		return ret;
	size_t before = list->n;
	bool no_subsystem;
	ret = pmu_tp_resolve(ctx, sys, name, push_tracepoint, &p, &no_subsystem, err, errlen);
	if (ret < 0) {
		list->n = before;
		struct perf_event_attr attr;
		char pfm_err[BASE_ERR_MAX];
		bool tracefs_said_no = ret != -ENOENT || no_subsystem;
		if (!tracefs_said_no || pmu_pfm_init() < 0 ||
		    pmu_pfm_encode(tok, &attr, sizeof(attr), pfm_err, sizeof(pfm_err)) < 0)
			return ret;
		struct pmu_event *ev = list_push(list);
		if (!ev)
			return base_fail(err, errlen, -ENOMEM, "out of memory");
		ev->attr = attr;
		ev->attr.size = sizeof(ev->attr);
		set_display_name(ev, tok);
	}
	*added = list->n - before;
	return 0;
}

/* --- lists and groups ------------------------------------------------------- */

/*
 * Splits the next item off *p: up to a top-level comma, keeping commas inside
 * {...} and PMU/.../ term lists. Returns the item length; *p advances past it.
 */
static size_t next_item(const char **p)
{
	const char *s = *p;
	const char *item = s; /* start of the innermost item: "mem:" ones use '/' for a length */
	int braces = 0;
	bool in_terms = false;
	size_t i = 0;
	for (; s[i]; i++) {
		char c = s[i];
		if (c == '{') {
			braces++;
			item = s + i + 1;
		} else if (c == '}') {
			braces--;
		} else if (c == '/' && strncmp(item, "mem:", 4) != 0) {
			in_terms = !in_terms;
		} else if (c == ',' && !in_terms) {
			if (braces == 0)
				break;
			item = s + i + 1;
		}
	}
	*p = s + i + (s[i] == ',');
	return i;
}

static int parse_group(const struct pmu_ctx *ctx, const char *item, size_t len,
		       struct pmu_event_list *list, char *err, size_t errlen)
{
	const char *close = NULL;
	for (size_t i = len; i > 0; i--)
		if (item[i - 1] == '}') {
			close = item + i - 1;
			break;
		}
	if (!close)
		return base_fail(err, errlen, -EINVAL,
				 "malformed group '%.*s': missing '}'; write {ev1,ev2}[:mods]",
				 (int)len, item);
	const char *gmods = close + 1;
	if (*gmods == ':')
		gmods++;
	char modbuf[32];
	snprintf(modbuf, sizeof(modbuf), "%.*s", (int)(item + len - gmods), gmods);
	if (gmods < item + len && *(close + 1) != ':')
		return base_fail(err, errlen, -EINVAL,
				 "malformed group '%.*s': expected ':' after '}'", (int)len, item);
	char inner[1024];
	if ((size_t)(close - item - 1) >= sizeof(inner))
		return base_fail(err, errlen, -ENAMETOOLONG, "group '%.40s...' is too long", item);
	snprintf(inner, sizeof(inner), "%.*s", (int)(close - item - 1), item + 1);
	if (strchr(inner, '{') || strchr(inner, '}'))
		return base_fail(err, errlen, -EINVAL, "malformed group '%.*s': groups cannot nest",
				 (int)len, item);
	if (!*inner)
		return base_fail(err, errlen, -EINVAL, "empty group '{}' in the event list");

	struct mods gm = {0};
	char whole[PMU_NAME_MAX];
	snprintf(whole, sizeof(whole), "%.*s", (int)len, item);
	int ret = parse_mods(modbuf, whole, &gm, err, errlen);
	if (ret < 0)
		return ret;

	size_t first = list->n;
	const char *p = inner;
	while (*p) {
		const char *start = p;
		size_t n = next_item(&p);
		char tok[PMU_NAME_MAX * 2];
		if (n >= sizeof(tok))
			return base_fail(err, errlen, -ENAMETOOLONG, "event '%.40s...' is too long",
					 start);
		snprintf(tok, sizeof(tok), "%.*s", (int)n, start);
		size_t from = list->n, added = 1;
		bool preset = is_preset_token(tok),
		     tracepoints = !preset && is_tracepoint_token(ctx, tok);
		if (preset || tracepoints) {
			/* A preset or a tracepoint glob in a group: each of its events is a member. */
			ret = preset ? push_preset(ctx, tok, list, &added, err, errlen)
				     : push_tracepoints(ctx, tok, list, &added, err, errlen);
			if (ret < 0)
				return ret;
		} else {
			struct pmu_event *ev = list_push(list);
			if (!ev)
				return base_fail(err, errlen, -ENOMEM, "out of memory");
			ret = parse_one(ctx, tok, ev, err, errlen);
			if (ret < 0)
				return ret;
		}
		for (size_t i = from; i < from + added; i++) {
			struct pmu_event *ev = &list->ev[i];
			ev->leader = (int)first;
			/* Group modifiers apply to every member, after its own. */
			if (!ev->priv_explicit || !(gm.u || gm.k || gm.h))
				apply_mods(ctx, ev, &gm);
			else {
				struct mods rest = gm;
				rest.u = rest.k = rest.h = false;
				apply_mods(ctx, ev, &rest);
			}
			if (*modbuf) {
				/* perf's spelling: "ev:u" gets "ev:uS", a bare name gets ":S". */
				const char *spelled = preset || tracepoints ? ev->name : tok;
				size_t l = strlen(ev->name);
				snprintf(ev->name + l, sizeof(ev->name) - l, "%s%s",
					 strchr(spelled, ':') || strchr(spelled, '/') ? "" : ":",
					 modbuf);
			}
		}
	}
	list->ev[first].group_size = (int)(list->n - first);
	list->ev[first].sample_read = gm.sample_read;
	return 0;
}

int pmu_parse_events(const struct pmu_ctx *ctx, const char *spec, struct pmu_event_list *out,
		     char *err, size_t errlen)
{
	size_t before = out->n;
	const char *p = spec;
	int ret = 0;
	if (!spec || !*spec)
		return base_fail(err, errlen, -EINVAL,
				 "empty event list; give events like -e cycles,instructions");
	while (*p && ret == 0) {
		const char *start = p;
		size_t n = next_item(&p);
		if (n > 0 && start[0] == '{') {
			ret = parse_group(ctx, start, n, out, err, errlen);
			continue;
		}
		if (memchr(start, '}', n))
			return out->n = before,
			       base_fail(err, errlen, -EINVAL,
					 "malformed event list '%s': '}' without '{'", spec);
		char tok[PMU_NAME_MAX * 2];
		if (n >= sizeof(tok)) {
			ret = base_fail(err, errlen, -ENAMETOOLONG, "event '%.40s...' is too long",
					start);
			break;
		}
		snprintf(tok, sizeof(tok), "%.*s", (int)n, start);
		size_t added;
		struct pmu_event *ev;
		if (is_preset_token(tok))
			ret = push_preset(ctx, tok, out, &added, err, errlen);
		else if (is_tracepoint_token(ctx, tok))
			ret = push_tracepoints(ctx, tok, out, &added, err, errlen);
		else if (!(ev = list_push(out)))
			ret = base_fail(err, errlen, -ENOMEM, "out of memory");
		else
			ret = parse_one(ctx, tok, ev, err, errlen);
		if (ret == 0 && p > spec && p[-1] == ',' && *p == 0)
			ret = base_fail(err, errlen, -EINVAL,
					"malformed event list '%s': trailing comma", spec);
	}
	if (ret < 0)
		out->n = before;
	return ret;
}
