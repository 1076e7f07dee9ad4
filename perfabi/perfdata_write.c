/*
 * perf.data writer: perf's file mode, streamed while recording.
 *
 * Owns: the layout on the way out (the PERFILE2 header, the data section,
 * the feature sections perf reads without complaint, the attr table with
 * its id arrays), and the records synthesized from /proc for processes that
 * existed before recording (an MMAP2 per executable mapping, a COMM per
 * thread), as `perf record` synthesizes them.
 *
 * On disk: [header][data][feature index][feature bodies][ids][attr table].
 * perf looks for the feature index right after the data section, so the
 * tables, known only at the end, go last; the header is rewritten then.
 * The file is a base output (opened with the writer, so a bad path fails
 * before recording starts; published atomically or copied to a device or
 * FIFO at the end). Any write error discards the content at once (a full
 * disk gets its space back) and makes every later call fail with the same
 * cause.
 */
#include "perfabi.h"
#include "perfdata_format.h"

#include "base.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define PDW_BUF_SIZE (1u << 20)
#define PDW_NAME_ALIGN 64 /* perf pads header strings to this */


struct pdw_event {
	struct perf_event_attr attr;
	char *name;
	uint64_t *ids;
	size_t nids;
};

/* A growable byte buffer for the feature bodies, built in memory at the end. */
struct pdw_bytes {
	unsigned char *p;
	size_t len, cap;
	bool oom;
};

struct pabi_pdw {
	struct base_output *out;
	int fd; /* the output's content descriptor (seekable) */
	char *path;
	unsigned char *buf;
	size_t used;      /* bytes in buf, not yet written */
	uint64_t pos;     /* file offset of the end of what is written or buffered */
	bool round_open;  /* records since the last FINISHED_ROUND */
	struct pdw_event *ev;
	size_t nev;
	char **argv; /* HEADER_CMDLINE */
	int argc;
	char *version;
	int clockid;
	uint64_t tod_ns, clock_ns; /* one reading of both clocks (HEADER_CLOCK_DATA) */
	int error;                 /* sticky: the first failure */
	char errmsg[BASE_ERR_MAX];
	bool finished;
};

/* --- errors and raw output -------------------------------------------------- */

/* The content goes now; every later call reports this failure. */
static int fail_io(struct pabi_pdw *w, int e, const char *step, char *err, size_t errlen)
{
	if (!w->error) {
		w->error = -e;
		base_output_fail(w->out, step, -e, NULL, w->errmsg, sizeof(w->errmsg));
		w->fd = -1;
	}
	return base_fail(err, errlen, w->error, "%s", w->errmsg);
}

static int flush(struct pabi_pdw *w, char *err, size_t errlen)
{
	int ret = base_write_all(w->fd, w->buf, w->used);
	if (ret < 0)
		return fail_io(w, -ret, "writing", err, errlen);
	w->used = 0;
	return 0;
}

/* Appends n bytes at the end of the file (through the buffer). */
static int put(struct pabi_pdw *w, const void *p, size_t n, char *err, size_t errlen)
{
	if (w->error)
		return base_fail(err, errlen, w->error, "%s", w->errmsg);
	if (PDW_BUF_SIZE - w->used < n) {
		int ret = flush(w, err, errlen);
		if (ret < 0)
			return ret;
	}
	if (n > PDW_BUF_SIZE) { /* only the tables can be this large: straight out */
		int ret = base_write_all(w->fd, p, n);
		if (ret < 0)
			return fail_io(w, -ret, "writing", err, errlen);
	} else {
		memcpy(w->buf + w->used, p, n);
		w->used += n;
	}
	w->pos += n;
	return 0;
}

/* --- opening and events --------------------------------------------------- */

static char *dup_str(const char *s)
{
	return s ? strdup(s) : NULL;
}

int pabi_pdw_open(struct pabi_pdw **out, const char *path, const struct pabi_pdw_info *info,
		  char *err, size_t errlen)
{
	*out = NULL;
	if (!path || !*path)
		return base_fail(err, errlen, -EINVAL, "--perf-data needs a file name");
	struct pabi_pdw *w = calloc(1, sizeof(*w));
	if (!w)
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	w->fd = -1;
	w->clockid = info ? info->clockid : CLOCK_MONOTONIC;
	w->path = strdup(path);
	w->buf = malloc(PDW_BUF_SIZE);
	int argc = info && info->argv ? info->argc : 0;
	w->argv = calloc((size_t)argc + 1, sizeof(char *));
	w->version = dup_str(info ? info->version : NULL);
	bool oom = !w->path || !w->buf || !w->argv ||
		   (info && info->version && !w->version);
	for (int i = 0; i < argc && !oom; i++, w->argc++)
		oom = !(w->argv[i] = strdup(info->argv[i]));
	if (oom) {
		pabi_pdw_close(w);
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	}
	struct base_output_opts oo = {.mode = 0600, .flags = BASE_OUTPUT_SEEKABLE,
				      .what = "perf.data", .flag = "--perf-data"};
	int ret = base_output_open(&w->out, path, &oo, err, errlen);
	if (ret == 0)
		ret = base_output_begin(w->out, &w->fd, err, errlen);
	if (ret < 0) {
		pabi_pdw_close(w);
		return ret;
	}
	struct timespec tod, clk;
	clock_gettime(CLOCK_REALTIME, &tod);
	clock_gettime(w->clockid, &clk);
	w->tod_ns = (uint64_t)tod.tv_sec * 1000000000ULL + (uint64_t)tod.tv_nsec;
	w->clock_ns = (uint64_t)clk.tv_sec * 1000000000ULL + (uint64_t)clk.tv_nsec;
	/* The header's place; rewritten by pabi_pdw_finish once the sections are known. */
	static const unsigned char zero[PERFDATA_HEADER_SIZE];
	ret = put(w, zero, sizeof(zero), err, errlen);
	if (ret < 0) {
		pabi_pdw_close(w);
		return ret;
	}
	*out = w;
	return 0;
}

int pabi_pdw_add_event(struct pabi_pdw *w, const struct perf_event_attr *attr, const char *name,
		       const uint64_t *ids, size_t nids, char *err, size_t errlen)
{
	struct pdw_event *n = realloc(w->ev, (w->nev + 1) * sizeof(*n));
	if (!n)
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	w->ev = n;
	struct pdw_event *e = &w->ev[w->nev];
	memset(e, 0, sizeof(*e));
	e->attr = *attr;
	e->attr.size = sizeof(e->attr); /* perf finds the ids section after attr.size bytes */
	e->name = strdup(name ? name : "");
	e->ids = malloc((nids ? nids : 1) * sizeof(uint64_t));
	if (!e->name || !e->ids) {
		free(e->name);
		free(e->ids);
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	}
	if (nids)
		memcpy(e->ids, ids, nids * sizeof(uint64_t));
	e->nids = nids;
	w->nev++;
	return 0;
}

/* --- records ------------------------------------------------------------------ */

int pabi_pdw_write(struct pabi_pdw *w, const struct perf_event_header *h, char *err, size_t errlen)
{
	if (h->size < sizeof(*h))
		return base_fail(err, errlen, -EINVAL, "record of type %u has bad size %u", h->type,
				 h->size);
	int ret = put(w, h, h->size, err, errlen);
	if (ret == 0)
		w->round_open = true;
	return ret;
}

int pabi_pdw_finish_round(struct pabi_pdw *w, char *err, size_t errlen)
{
	if (!w->round_open)
		return w->error ? base_fail(err, errlen, w->error, "%s", w->errmsg) : 0;
	/* perf's ordered-events queue flushes what earlier rounds delivered at each one. */
	struct perf_event_header h = {.type = PERFDATA_FINISHED_ROUND, .size = sizeof(h)};
	int ret = put(w, &h, sizeof(h), err, errlen);
	if (ret == 0)
		w->round_open = false;
	return ret;
}

/* --- the tables at the end --------------------------------------------------------- */

static void bytes_put(struct pdw_bytes *b, const void *p, size_t n)
{
	if (b->oom)
		return;
	if (b->cap - b->len < n) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap - b->len < n)
			cap *= 2;
		unsigned char *q = realloc(b->p, cap);
		if (!q) {
			b->oom = true;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void bytes_u32(struct pdw_bytes *b, uint32_t v)
{
	bytes_put(b, &v, 4);
}

/* perf's header string: u32 length (NUL included, padded to 64), then the padded bytes. */
static void bytes_string(struct pdw_bytes *b, const char *s)
{
	static const unsigned char zero[PDW_NAME_ALIGN];
	size_t n = strlen(s) + 1;
	size_t padded = (n + PDW_NAME_ALIGN - 1) / PDW_NAME_ALIGN * PDW_NAME_ALIGN;
	bytes_u32(b, (uint32_t)padded);
	bytes_put(b, s, n);
	bytes_put(b, zero, padded - n);
}

/* The body of feature `bit` into b. */
static void feature_body(const struct pabi_pdw *w, int bit, struct pdw_bytes *b)
{
	struct utsname u;
	if (uname(&u) < 0)
		memset(&u, 0, sizeof(u));
	switch (bit) {
	case PERFDATA_FEAT_HOSTNAME: bytes_string(b, u.nodename); break;
	case PERFDATA_FEAT_OSRELEASE: bytes_string(b, u.release); break;
	case PERFDATA_FEAT_VERSION: bytes_string(b, w->version); break;
	case PERFDATA_FEAT_ARCH: bytes_string(b, u.machine); break;
	case PERFDATA_FEAT_NRCPUS: {
		long conf = sysconf(_SC_NPROCESSORS_CONF), onln = sysconf(_SC_NPROCESSORS_ONLN);
		bytes_u32(b, (uint32_t)(conf > 0 ? conf : 1)); /* available, then online */
		bytes_u32(b, (uint32_t)(onln > 0 ? onln : 1));
		break;
	}
	case PERFDATA_FEAT_CMDLINE:
		bytes_u32(b, (uint32_t)w->argc);
		for (int i = 0; i < w->argc; i++)
			bytes_string(b, w->argv[i]);
		break;
	case PERFDATA_FEAT_EVENT_DESC:
		/* Names by position: perf pairs entry i with attr i of the table. */
		bytes_u32(b, (uint32_t)w->nev);
		bytes_u32(b, (uint32_t)sizeof(struct perf_event_attr));
		for (size_t i = 0; i < w->nev; i++) {
			bytes_put(b, &w->ev[i].attr, sizeof(w->ev[i].attr));
			bytes_u32(b, (uint32_t)w->ev[i].nids);
			bytes_string(b, w->ev[i].name);
			bytes_put(b, w->ev[i].ids, w->ev[i].nids * sizeof(uint64_t));
		}
		break;
	case PERFDATA_FEAT_CLOCKID: {
		struct timespec res = {0, 1};
		clock_getres(w->clockid, &res);
		uint64_t ns = (uint64_t)res.tv_sec * 1000000000ULL + (uint64_t)res.tv_nsec;
		bytes_put(b, &ns, 8);
		break;
	}
	case PERFDATA_FEAT_CLOCK_DATA: /* lets perf script --tod turn sample times into wall time */
		bytes_u32(b, 1); /* version */
		bytes_u32(b, (uint32_t)w->clockid);
		bytes_put(b, &w->tod_ns, 8);
		bytes_put(b, &w->clock_ns, 8);
		break;
	default: break;
	}
}

static const int features[] = {
	PERFDATA_FEAT_HOSTNAME, PERFDATA_FEAT_OSRELEASE, PERFDATA_FEAT_VERSION, PERFDATA_FEAT_ARCH,
	PERFDATA_FEAT_NRCPUS,   PERFDATA_FEAT_CMDLINE,   PERFDATA_FEAT_EVENT_DESC, PERFDATA_FEAT_CLOCKID,
	PERFDATA_FEAT_CLOCK_DATA,
};

static bool feature_present(const struct pabi_pdw *w, int bit)
{
	return bit != PERFDATA_FEAT_VERSION || w->version;
}

/*
 * Right after the data: the index (one offset/size pair per feature bit set,
 * in bit order), then the bodies. Sets the bits in feat.
 */
static int write_features(struct pabi_pdw *w, uint64_t feat[PERFDATA_FEAT_BITS / 64], char *err,
			  size_t errlen)
{
	size_t n = 0;
	for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++)
		n += feature_present(w, features[i]);
	struct pdw_bytes body = {0};
	uint64_t (*index)[2] = calloc(n, sizeof(*index));
	if (!index)
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	uint64_t at = w->pos + n * sizeof(*index);
	size_t k = 0;
	for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
		int bit = features[i];
		if (!feature_present(w, bit))
			continue;
		size_t before = body.len;
		feature_body(w, bit, &body);
		index[k][0] = at + before;
		index[k][1] = body.len - before;
		feat[bit / 64] |= 1ULL << (bit % 64);
		k++;
	}
	int ret = body.oom ? base_fail(err, errlen, -ENOMEM, "out of memory") : 0;
	if (ret == 0)
		ret = put(w, index, n * sizeof(*index), err, errlen);
	if (ret == 0 && body.len)
		ret = put(w, body.p, body.len, err, errlen);
	free(index);
	free(body.p);
	return ret;
}

/* Each event's ids, then the attr table (attr + the file section of its ids). */
static int write_attrs(struct pabi_pdw *w, uint64_t *attrs_off, char *err, size_t errlen)
{
	uint64_t *ids_off = calloc(w->nev ? w->nev : 1, sizeof(uint64_t));
	if (!ids_off)
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	int ret = 0;
	for (size_t i = 0; i < w->nev && ret == 0; i++) {
		ids_off[i] = w->pos;
		ret = put(w, w->ev[i].ids, w->ev[i].nids * sizeof(uint64_t), err, errlen);
	}
	*attrs_off = w->pos;
	for (size_t i = 0; i < w->nev && ret == 0; i++) {
		uint64_t section[2] = {ids_off[i], w->ev[i].nids * sizeof(uint64_t)};
		ret = put(w, &w->ev[i].attr, sizeof(w->ev[i].attr), err, errlen);
		if (ret == 0)
			ret = put(w, section, sizeof(section), err, errlen);
	}
	free(ids_off);
	return ret;
}

int pabi_pdw_finish(struct pabi_pdw *w, uint64_t *size, char *err, size_t errlen)
{
	if (w->error)
		return base_fail(err, errlen, w->error, "%s", w->errmsg);
	if (w->finished)
		return base_fail(err, errlen, -EINVAL, "perf.data %s is already written", w->path);
	int ret = pabi_pdw_finish_round(w, err, errlen);
	if (ret < 0)
		return ret;
	uint64_t data_size = w->pos - PERFDATA_HEADER_SIZE, attrs_off = 0;
	uint64_t feat[PERFDATA_FEAT_BITS / 64] = {0};
	if ((ret = write_features(w, feat, err, errlen)) < 0 ||
	    (ret = write_attrs(w, &attrs_off, err, errlen)) < 0 || (ret = flush(w, err, errlen)) < 0)
		return ret;
	uint64_t h[PERFDATA_HEADER_SIZE / 8] = {
		PERFDATA_MAGIC2,
		PERFDATA_HEADER_SIZE,
		sizeof(struct perf_event_attr) + 16, /* an attr and the section of its ids */
		attrs_off,
		w->nev * (sizeof(struct perf_event_attr) + 16),
		PERFDATA_HEADER_SIZE,
		data_size,
		0, 0, /* event_types: unused since perf 2.6.38 */
		feat[0], feat[1], feat[2], feat[3],
	};
	ssize_t n = pwrite(w->fd, h, sizeof(h), 0);
	if (n != (ssize_t)sizeof(h))
		return fail_io(w, n < 0 ? errno : EIO, "writing the header of", err, errlen);
	w->fd = -1;
	ret = base_output_commit(w->out, w->errmsg, sizeof(w->errmsg));
	if (ret < 0) {
		w->error = ret;
		return base_fail(err, errlen, ret, "%s", w->errmsg);
	}
	w->finished = true;
	if (size)
		*size = w->pos;
	return 0;
}

struct base_output *pabi_pdw_output(struct pabi_pdw *w)
{
	return w ? w->out : NULL;
}

void pabi_pdw_close(struct pabi_pdw *w)
{
	if (!w)
		return;
	base_output_close(w->out); /* not finished: never leave a partial file behind */
	for (size_t i = 0; i < w->nev; i++) {
		free(w->ev[i].name);
		free(w->ev[i].ids);
	}
	for (int i = 0; w->argv && i < w->argc; i++)
		free(w->argv[i]);
	free(w->argv);
	free(w->ev);
	free(w->version);
	free(w->buf);
	free(w->path);
	free(w);
}
