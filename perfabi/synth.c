/*
 * Synthesized records: what the kernel would have announced for processes
 * that already run had they started during the recording, built from /proc
 * as `perf record` synthesizes them (a COMM per thread, an MMAP2 per
 * executable mapping, the kernel's own map). Made once and handed to one
 * consumer, which applies them to the process model and writes the same
 * bytes to a perf.data, so the two cannot disagree.
 */
#include "perfabi.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Record under construction: at most one u16-sized record. */
struct synth_rec {
	unsigned char b[65536];
	size_t len;
};

static void rec_put(struct synth_rec *r, const void *p, size_t n)
{
	memcpy(r->b + r->len, p, n);
	r->len += n;
}

static void rec_u32(struct synth_rec *r, uint32_t v)
{
	rec_put(r, &v, 4);
}

static void rec_u64(struct synth_rec *r, uint64_t v)
{
	rec_put(r, &v, 8);
}

/* A NUL-terminated string padded with zeros to 8 bytes, as the kernel writes names. */
static void rec_name(struct synth_rec *r, const char *s, size_t maxlen)
{
	size_t n = strnlen(s, maxlen);
	size_t padded = (n + 1 + 7) & ~(size_t)7;
	memset(r->b + r->len, 0, padded);
	memcpy(r->b + r->len, s, n);
	r->len += padded;
}

/* The sample_id trailer (sample_id_all) for the layout's sample_type, in the kernel's order. */
static void rec_trailer(struct synth_rec *r, const struct pabi_layout *l,
			const struct pabi_sample_id *sid, uint32_t pid, uint32_t tid)
{
	uint64_t t = l->sample_type;
	if (t & PERF_SAMPLE_TID) {
		rec_u32(r, pid);
		rec_u32(r, tid);
	}
	if (t & PERF_SAMPLE_TIME)
		rec_u64(r, sid->time);
	if (t & PERF_SAMPLE_ID)
		rec_u64(r, sid->id);
	if (t & PERF_SAMPLE_STREAM_ID)
		rec_u64(r, sid->id);
	if (t & PERF_SAMPLE_CPU) {
		rec_u32(r, sid->cpu);
		rec_u32(r, 0);
	}
	if (t & PERF_SAMPLE_IDENTIFIER)
		rec_u64(r, sid->id);
}

/* The record, header filled in, to the consumer. */
struct synth_out {
	pabi_synth_fn fn;
	void *arg;
	bool failed; /* the consumer refused a record: stop, whatever /proc still holds */
	bool data;   /* every mapping, not only executable ones */
	struct synth_rec r;
};

static int rec_emit(struct synth_out *o, uint32_t type, uint16_t misc)
{
	struct perf_event_header h = {.type = type, .misc = misc, .size = (uint16_t)o->r.len};
	memcpy(o->r.b, &h, sizeof(h));
	int ret = o->fn(o->arg, (const struct perf_event_header *)o->r.b);
	o->failed |= ret < 0;
	return ret;
}

/* One line of /proc/PID/maps as an MMAP2 record; 0 when the line is skipped. */
static int synth_mmap(struct synth_out *o, pid_t tgid, char *line, const struct pabi_layout *l,
		      const struct pabi_sample_id *sid)
{
	struct synth_rec *r = &o->r;
	unsigned long long start, end, pgoff, ino;
	unsigned int maj, min;
	char perms[8];
	int name_at = 0;
	if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms, &pgoff, &maj,
		   &min, &ino, &name_at) < 7 ||
	    name_at == 0 || end <= start)
		return 0;
	bool exec = perms[2] == 'x';
	if (!exec && !o->data)
		return 0; /* as perf without --data: samples only land in code */
	char *name = line + name_at;
	name[strcspn(name, "\n")] = 0;
	if (!*name)
		name = "//anon"; /* perf's name for anonymous code (JITs) */
	r->len = sizeof(struct perf_event_header);
	rec_u32(r, (uint32_t)tgid);
	rec_u32(r, (uint32_t)tgid);
	rec_u64(r, start);
	rec_u64(r, end - start);
	rec_u64(r, pgoff);
	rec_u32(r, maj);
	rec_u32(r, min);
	rec_u64(r, ino);
	rec_u64(r, 0); /* ino_generation */
	rec_u32(r, (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
			   (exec ? PROT_EXEC : 0));
	rec_u32(r, perms[3] == 's' ? MAP_SHARED : MAP_PRIVATE);
	rec_name(r, name, PATH_MAX);
	rec_trailer(r, l, sid, (uint32_t)tgid, (uint32_t)tgid);
	return rec_emit(o, PERF_RECORD_MMAP2,
			PERF_RECORD_MISC_USER | (exec ? 0 : PERF_RECORD_MISC_MMAP_DATA));
}

static int synth_comm(struct synth_out *o, pid_t tgid, pid_t tid, const struct pabi_layout *l,
		      const struct pabi_sample_id *sid)
{
	struct synth_rec *r = &o->r;
	char comm[64];
	if (base_proc_comm(tgid, tid, comm, sizeof(comm)) < 0)
		return 0; /* the thread ended meanwhile */
	r->len = sizeof(struct perf_event_header);
	rec_u32(r, (uint32_t)tgid);
	rec_u32(r, (uint32_t)tid);
	rec_name(r, comm, 16); /* TASK_COMM_LEN */
	rec_trailer(r, l, sid, (uint32_t)tgid, (uint32_t)tid);
	return rec_emit(o, PERF_RECORD_COMM, 0);
}

static int synthesize(struct synth_out *o, pid_t id, const struct pabi_layout *l,
		      const struct pabi_sample_id *sid, char *err, size_t errlen)
{
	pid_t tgid = id;
	int ret = base_proc_tgid(id, &tgid);
	if (ret < 0)
		return base_fail(err, errlen, ret, "cannot read /proc/%d/status: %s", (int)id,
				 strerror(-ret));
	char path[64], line[PATH_MAX + 256];
	/* Threads first: perf attaches the maps to the thread group once it knows the thread. */
	snprintf(path, sizeof(path), "/proc/%d/task", (int)tgid);
	DIR *d = opendir(path);
	if (!d)
		return base_fail(err, errlen, -errno, "cannot read %s: %s", path, strerror(errno));
	struct dirent *de;
	while (ret == 0 && (de = readdir(d)) != NULL)
		if (isdigit((unsigned char)de->d_name[0]))
			ret = synth_comm(o, tgid, (pid_t)atoi(de->d_name), l, sid);
	closedir(d);
	if (ret < 0)
		return ret;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)tgid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0; /* gone since: its threads' names are all it leaves */
	while (ret == 0 && fgets(line, sizeof(line), f))
		ret = synth_mmap(o, tgid, line, l, sid);
	fclose(f);
	return ret;
}

static struct synth_out *out_new(bool data, pabi_synth_fn fn, void *arg)
{
	struct synth_out *o = malloc(sizeof(*o));
	if (o) {
		o->data = data;
		o->fn = fn;
		o->arg = arg;
		o->failed = false;
		o->r.len = 0;
	}
	return o;
}

int pabi_synthesize(pid_t pid, bool data, const struct pabi_layout *l,
		    const struct pabi_sample_id *sid, pabi_synth_fn fn, void *arg, char *err,
		    size_t errlen)
{
	struct synth_out *o = out_new(data, fn, arg);
	if (!o)
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	int ret = synthesize(o, pid, l, sid, err, errlen);
	free(o);
	return ret;
}

int pabi_synthesize_all(bool data, const struct pabi_layout *l, const struct pabi_sample_id *sid,
			pabi_synth_fn fn, void *arg, char *err, size_t errlen)
{
	DIR *d = opendir("/proc");
	if (!d)
		return base_fail(err, errlen, -errno, "cannot read /proc: %s", strerror(errno));
	struct synth_out *o = out_new(data, fn, arg);
	int ret = o ? 0 : base_fail(err, errlen, -ENOMEM, "out of memory");
	struct dirent *de;
	while (ret == 0 && (de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		ret = synthesize(o, (pid_t)atoi(de->d_name), l, sid, err, errlen);
		if (ret < 0 && !o->failed)
			ret = 0; /* the process ended meanwhile: only the consumer's failures count */
	}
	closedir(d);
	free(o);
	return ret;
}

/* Where the kernel's text starts, from /proc/kallsyms; 0 when hidden (kptr_restrict). */
static uint64_t kernel_text(void)
{
	FILE *f = fopen("/proc/kallsyms", "re");
	if (!f)
		return 0;
	char line[512], name[256], type;
	unsigned long long addr, text = 0, stext = 0;
	/* Both sit among the first lines; the whole file is megabytes. */
	for (int i = 0; i < 4096 && !text && fgets(line, sizeof(line), f); i++) {
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3)
			continue;
		if (strcmp(name, "_text") == 0)
			text = addr;
		else if (strcmp(name, "_stext") == 0)
			stext = addr;
	}
	fclose(f);
	return text ? text : stext;
}

int pabi_synthesize_kernel(const struct pabi_layout *l, const struct pabi_sample_id *sid,
			   pabi_synth_fn fn, void *arg, char *err, size_t errlen)
{
	uint64_t text = kernel_text();
	if (!text)
		return 0; /* addresses hidden: perf will say so, as for its own recordings */
	struct synth_out *o = out_new(false, fn, arg);
	if (!o)
		return base_fail(err, errlen, -ENOMEM, "out of memory");
	struct synth_rec *r = &o->r;
	/*
	 * perf's kernel map: pid -1, "[kernel.kallsyms]" then the symbol whose
	 * address pgoff carries, so perf report relocates /proc/kallsyms onto it.
	 */
	r->len = sizeof(struct perf_event_header);
	rec_u32(r, UINT32_MAX);
	rec_u32(r, 0);
	rec_u64(r, text);
	rec_u64(r, UINT64_MAX - text); /* modules lie above the text: the map covers them */
	rec_u64(r, text);
	rec_name(r, "[kernel.kallsyms]_text", 64);
	rec_trailer(r, l, sid, UINT32_MAX, 0);
	int ret = rec_emit(o, PERF_RECORD_MMAP, PERF_RECORD_MISC_KERNEL);
	free(o);
	return ret;
}
