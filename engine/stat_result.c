/*
 * stat --compare's input: what pmuprof stat -j (or perf stat -j) wrote, one
 * flat JSON object per line (perf -o adds "#" comment lines). Only that shape
 * is read: string, number and number-array values, no nesting.
 */
#include "engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct jcur {
	const char *p;
};

static void skip_ws(struct jcur *c)
{
	while (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n')
		c->p++;
}

/* A JSON string into buf (escapes taken as the character they escape); -1 if malformed. */
static int read_string(struct jcur *c, char *buf, size_t len)
{
	size_t n = 0;
	if (*c->p != '"')
		return -1;
	for (c->p++; *c->p && *c->p != '"'; c->p++) {
		if (*c->p == '\\' && !*++c->p)
			return -1;
		if (n + 1 < len)
			buf[n++] = *c->p;
	}
	if (*c->p != '"')
		return -1;
	c->p++;
	buf[n] = '\0';
	return 0;
}

static int read_number(struct jcur *c, double *v)
{
	char *end;
	*v = strtod(c->p, &end);
	if (end == c->p)
		return -1;
	c->p = end;
	return 0;
}

/* What a line says of one event; keys not listed here are skipped. */
struct line {
	char event[128], unit[32], value[64], group[64];
	double *runs;
	size_t nruns;
};

/* One object; 0, -1 if it is not a flat object, -ENOMEM. */
static int parse_line(const char *text, struct line *l)
{
	static const char *const group_keys[] = {"cpu", "node", "socket", "core"};
	struct jcur c = {text};
	size_t cap = 0;
	skip_ws(&c);
	if (*c.p++ != '{')
		return -1;
	skip_ws(&c);
	if (*c.p == '}')
		return 0;
	for (;;) {
		char key[64], sval[128];
		skip_ws(&c);
		if (read_string(&c, key, sizeof(key)) < 0)
			return -1;
		skip_ws(&c);
		if (*c.p++ != ':')
			return -1;
		skip_ws(&c);
		if (*c.p == '"') {
			if (read_string(&c, sval, sizeof(sval)) < 0)
				return -1;
			if (!strcmp(key, "event"))
				snprintf(l->event, sizeof(l->event), "%s", sval);
			else if (!strcmp(key, "unit"))
				snprintf(l->unit, sizeof(l->unit), "%s", sval);
			else if (!strcmp(key, "counter-value"))
				snprintf(l->value, sizeof(l->value), "%s", sval);
			for (size_t i = 0; i < sizeof(group_keys) / sizeof(*group_keys); i++)
				if (!strcmp(key, group_keys[i]))
					snprintf(l->group, sizeof(l->group), "%s %s", key, sval);
		} else if (*c.p == '[') {
			bool runs = !strcmp(key, "run-values");
			c.p++;
			skip_ws(&c);
			while (*c.p != ']') {
				double v;
				if (read_number(&c, &v) < 0)
					return -1;
				if (runs) {
					if (BASE_GROW(l->runs, cap, l->nruns + 1) < 0)
						return -ENOMEM;
					l->runs[l->nruns++] = v;
				}
				skip_ws(&c);
				if (*c.p == ',')
					c.p++;
				else if (*c.p != ']')
					return -1;
				skip_ws(&c);
			}
			c.p++;
		} else {
			double v;
			if (read_number(&c, &v) < 0)
				return -1;
		}
		skip_ws(&c);
		if (*c.p == '}')
			break;
		if (*c.p++ != ',')
			return -1;
	}
	c.p++;
	skip_ws(&c);
	return *c.p ? -1 : 0;
}

/* The line's event as an entry: each run's count, or the one counter-value. */
static int add_entry(struct eng_stat_result *r, size_t *cap, struct line *l)
{
	if (BASE_GROW(r->e, *cap, r->n + 1) < 0)
		return -ENOMEM;
	struct eng_stat_entry *e = &r->e[r->n++];
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s%s%s", l->group, l->group[0] ? " " : "", l->event);
	snprintf(e->unit, sizeof(e->unit), "%s", l->unit);
	if (l->nruns) {
		e->values = l->runs;
		e->n = l->nruns;
		l->runs = NULL;
		return 0;
	}
	char *end;
	double v = strtod(l->value, &end);
	if (end == l->value || *end) /* "<not supported>", "<not counted>" */
		return 0;
	if (!(e->values = malloc(sizeof(*e->values))))
		return -ENOMEM;
	e->values[0] = v;
	e->n = 1;
	return 0;
}

int eng_stat_result_load(const char *path, struct eng_stat_result *r, char *err, size_t errlen)
{
	const char *fix = "write it with pmuprof stat -j -o FILE (-r N for a test over runs)";
	memset(r, 0, sizeof(*r));
	FILE *f = fopen(path, "r");
	if (!f)
		return base_fail(err, errlen, -errno, "cannot read %s: %s; %s", path,
				 strerror(errno), fix);
	char *text = NULL;
	size_t textcap = 0, cap = 0, lineno = 0;
	int ret = 0;
	ssize_t len;
	while (ret == 0 && (len = getline(&text, &textcap, f)) >= 0) {
		lineno++;
		struct line l = {0};
		/* blank lines, and perf -o's "# started on ..." */
		if (strspn(text, " \t\r\n") == (size_t)len || text[0] == '#')
			continue;
		ret = parse_line(text, &l);
		if (ret == -1)
			ret = base_fail(err, errlen, -EINVAL,
					"%s line %zu is not stat's JSON (one flat object a line); %s",
					path, lineno, fix);
		else if (ret == 0 && l.event[0])
			ret = add_entry(r, &cap, &l);
		if (ret == -ENOMEM)
			base_fail(err, errlen, ret, "out of memory");
		free(l.runs);
	}
	if (ret == 0 && ferror(f))
		ret = base_fail(err, errlen, -EIO, "cannot read %s: %s", path, strerror(EIO));
	if (ret == 0 && r->n == 0)
		ret = base_fail(err, errlen, -EINVAL, "%s holds no counts of stat's JSON; %s", path,
				fix);
	free(text);
	fclose(f);
	if (ret < 0)
		eng_stat_result_free(r);
	return ret;
}

void eng_stat_result_free(struct eng_stat_result *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->e[i].values);
	free(r->e);
	memset(r, 0, sizeof(*r));
}
