/*
 * Tracepoint format files (events/<sys>/<name>/format) and the fields of a
 * sample's raw payload. The text is untrusted (perf.data files carry it):
 * every line is checked, and a field is read only inside the payload.
 */
#include "pmu.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

void pmu_tp_format_free(struct pmu_tp_format *f)
{
	free(f->fields);
	free(f->print_fmt);
	memset(f, 0, sizeof(*f));
}

/* "offset:8" in a field line's attributes; false when absent or not a number. */
static bool attr_u32(const char *line, const char *key, uint32_t *v)
{
	const char *p = line;
	size_t klen = strlen(key);
	while ((p = strstr(p, key)) != NULL) {
		if ((p == line || p[-1] == '\t' || p[-1] == ' ' || p[-1] == ';') && p[klen] == ':')
			break;
		p += klen;
	}
	if (!p)
		return false;
	char *end;
	errno = 0;
	unsigned long x = strtoul(p + klen + 1, &end, 10);
	if (errno || end == p + klen + 1 || *end != ';' || x > UINT32_MAX)
		return false;
	*v = (uint32_t)x;
	return true;
}

/* "unsigned long args[6]" -> name "args", type "unsigned long[6]". */
static int parse_decl(const char *decl, size_t len, struct pmu_tp_field *fld)
{
	while (len && isspace((unsigned char)decl[len - 1]))
		len--;
	size_t array = len; /* start of "[N]", or len */
	if (len && decl[len - 1] == ']') {
		while (array && decl[array - 1] != '[')
			array--;
		if (!array)
			return -EINVAL;
		array--;
	}
	size_t name_end = array, name = name_end;
	while (name && (isalnum((unsigned char)decl[name - 1]) || decl[name - 1] == '_'))
		name--;
	size_t type_end = name;
	while (type_end && isspace((unsigned char)decl[type_end - 1]))
		type_end--;
	if (name == name_end || type_end == 0 || name_end - name >= sizeof(fld->name) ||
	    type_end + (len - array) >= sizeof(fld->type))
		return -EINVAL;
	memcpy(fld->name, decl + name, name_end - name);
	fld->name[name_end - name] = 0;
	snprintf(fld->type, sizeof(fld->type), "%.*s%.*s", (int)type_end, decl, (int)(len - array),
		 decl + array);
	fld->is_array = strchr(fld->type, '[') != NULL; /* "char[16]", "__data_loc char[]" */
	if (strncmp(fld->type, "__data_loc ", 11) == 0)
		fld->loc = PMU_TP_DATA_LOC;
	else if (strncmp(fld->type, "__rel_loc ", 10) == 0)
		fld->loc = PMU_TP_REL_LOC;
	return 0;
}

static int parse_field(const char *line, struct pmu_tp_field *fld, char *err, size_t errlen,
		       unsigned lineno)
{
	memset(fld, 0, sizeof(*fld));
	const char *decl = line + strlen("field:");
	const char *semi = strchr(decl, ';');
	uint32_t is_signed = 0;
	if (!semi || parse_decl(decl, (size_t)(semi - decl), fld) < 0)
		return base_fail(err, errlen, -EINVAL,
				 "tracepoint format line %u: malformed field declaration", lineno);
	if (!attr_u32(semi, "offset", &fld->offset) || !attr_u32(semi, "size", &fld->size))
		return base_fail(err, errlen, -EINVAL,
				 "tracepoint format line %u: field '%s' lacks offset: or size:",
				 lineno, fld->name);
	if ((uint64_t)fld->offset + fld->size > UINT32_MAX)
		return base_fail(err, errlen, -ERANGE,
				 "tracepoint format line %u: field '%s' ends past 4 GiB", lineno,
				 fld->name);
	if (fld->loc != PMU_TP_PLAIN && fld->size != 4)
		return base_fail(err, errlen, -EINVAL,
				 "tracepoint format line %u: dynamic field '%s' has size %u, not 4",
				 lineno, fld->name, fld->size);
	fld->is_signed =
		attr_u32(semi, "signed", &is_signed) && is_signed; /* absent before 2.6.31 */
	return 0;
}

int pmu_tp_format_parse(struct pmu_tp_format *out, const char *text, size_t len, char *err,
			size_t errlen)
{
	memset(out, 0, sizeof(*out));
	size_t cap = 0;
	bool have_id = false;
	unsigned lineno = 0;
	int ret = 0;
	for (size_t at = 0; at < len && ret == 0;) {
		const char *nl = memchr(text + at, '\n', len - at);
		size_t n = nl ? (size_t)(nl - (text + at)) : len - at;
		char line[512];
		lineno++;
		if (memchr(text + at, 0, n)) {
			ret = base_fail(err, errlen, -EINVAL,
					"tracepoint format line %u holds a NUL byte", lineno);
			break;
		}
		/* A longer line is print fmt's (or garbage): no field is that long. */
		snprintf(line, sizeof(line), "%.*s", (int)(n < sizeof(line) ? n : sizeof(line) - 1),
			 text + at);
		const char *whole = text + at; /* the line untruncated, n bytes */
		at += n + 1;
		const char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, "name: ", 6) == 0) {
			snprintf(out->name, sizeof(out->name), "%s", p + 6);
		} else if (strncmp(p, "ID: ", 4) == 0) {
			char *end;
			errno = 0;
			out->id = strtoull(p + 4, &end, 10);
			if (errno || end == p + 4 || *end)
				ret = base_fail(err, errlen, -EINVAL,
						"tracepoint format line %u: ID is not a number",
						lineno);
			have_id = true;
		} else if (strncmp(p, "field:", 6) == 0) {
			if ((ret = BASE_GROW(out->fields, cap, out->nfields + 1)) < 0)
				ret = base_fail(err, errlen, ret, "out of memory");
			else if ((ret = parse_field(p, &out->fields[out->nfields], err, errlen,
						    lineno)) == 0)
				out->nfields++;
		} else if (strncmp(p, "print fmt:", 10) == 0) {
			size_t skip = (size_t)(p - line) + 10;
			while (skip < n && whole[skip] == ' ')
				skip++;
			if (skip <= n && !(out->print_fmt = strndup(whole + skip, n - skip)))
				ret = base_fail(err, errlen, -ENOMEM, "out of memory");
			break;
		}
	}
	if (ret == 0 && (!have_id || out->nfields == 0))
		ret = base_fail(err, errlen, -EINVAL, "not a tracepoint format file: it has no %s",
				have_id ? "field: lines" : "ID: line");
	if (ret < 0)
		pmu_tp_format_free(out);
	return ret;
}

const char *pmu_tp_symbolic(const struct pmu_tp_format *f, const char *field, uint64_t value,
			    char *buf, size_t len)
{
	char key[96];
	snprintf(key, sizeof(key), "__print_symbolic(REC->%s,", field);
	const char *p = f->print_fmt ? strstr(f->print_fmt, key) : NULL;
	if (!p || !len)
		return NULL;
	p += strlen(key);
	/* Pairs {N, "name"} up to the call's closing parenthesis; the names hold no brace. */
	for (;;) {
		while (*p == ' ' || *p == ',')
			p++;
		if (*p != '{')
			return NULL;
		char *end;
		errno = 0;
		unsigned long long v = strtoull(p + 1, &end, 0);
		if (errno || end == p + 1)
			return NULL;
		const char *q = end;
		while (*q == ' ' || *q == ',')
			q++;
		const char *close = *q == '"' ? strchr(q + 1, '"') : NULL;
		if (!close)
			return NULL;
		if (v == value) {
			snprintf(buf, len, "%.*s", (int)(close - q - 1), q + 1);
			return buf;
		}
		p = strchr(close, '}');
		if (!p)
			return NULL;
		p++;
	}
}

const struct pmu_tp_field *pmu_tp_field(const struct pmu_tp_format *f, const char *name)
{
	for (size_t i = 0; i < f->nfields; i++)
		if (strcmp(f->fields[i].name, name) == 0)
			return &f->fields[i];
	return NULL;
}

int pmu_tp_field_data(const struct pmu_tp_field *fld, const void *raw, size_t rawlen,
		      const void **data, size_t *len)
{
	if ((uint64_t)fld->offset + fld->size > rawlen)
		return -ERANGE;
	const unsigned char *base = raw;
	if (fld->loc == PMU_TP_PLAIN) {
		*data = base + fld->offset;
		*len = fld->size;
		return 0;
	}
	/* A u32: the data's offset in the low half, its length in the high half. */
	uint32_t loc;
	memcpy(&loc, base + fld->offset, sizeof(loc));
	uint64_t off = loc & 0xffff, n = loc >> 16;
	if (fld->loc == PMU_TP_REL_LOC)
		off += (uint64_t)fld->offset + fld->size; /* from the end of the field */
	if (off + n > rawlen)
		return -ERANGE;
	*data = base + off;
	*len = (size_t)n;
	return 0;
}

int pmu_tp_field_int(const struct pmu_tp_field *fld, const void *raw, size_t rawlen,
		     uint64_t *value)
{
	unsigned size = fld->size;
	if (fld->is_array || fld->loc != PMU_TP_PLAIN ||
	    (size != 1 && size != 2 && size != 4 && size != 8))
		return -EINVAL;
	const void *p;
	size_t n;
	int ret = pmu_tp_field_data(fld, raw, rawlen, &p, &n);
	if (ret < 0)
		return ret;
	/* The payload is in the recording host's byte order, as the kernel wrote it. */
	union {
		uint8_t u8;
		uint16_t u16;
		uint32_t u32;
		uint64_t u64;
	} x;
	memcpy(&x, p, size);
	uint64_t v = size == 1 ? x.u8 : size == 2 ? x.u16 : size == 4 ? x.u32 : x.u64;
	if (fld->is_signed && size < 8) {
		unsigned shift = 64 - 8 * size;
		v = (uint64_t)((int64_t)(v << shift) >> shift);
	}
	*value = v;
	return 0;
}
