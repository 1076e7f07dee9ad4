/*
 * The perf record layout: which u64s a PERF_RECORD_SAMPLE carries, in the
 * order of include/uapi/linux/perf_event.h (every sample_type bit up to
 * PERF_SAMPLE_AUX; sizes from the whole attr: read_format, the register
 * masks, branch_sample_type), and the sample_id trailer of side-band
 * records. Bounds are checked against the header size so a corrupt or
 * truncated record is rejected, never read past.
 */
#include "perfabi.h"

#include <errno.h>
#include <string.h>

void pabi_layout_from_attr(struct pabi_layout *l, const struct perf_event_attr *attr)
{
	l->sample_type = attr->sample_type;
	l->read_format = attr->read_format;
	l->regs_user_mask = attr->sample_regs_user;
	l->regs_intr_mask = attr->sample_regs_intr;
	l->branch_sample_type = attr->branch_sample_type;
}

/* A cursor over the u64 words of a record body. */
struct cursor {
	const unsigned char *p, *end;
};

static int take(struct cursor *c, uint64_t *v)
{
	if (c->end - c->p < 8)
		return -EINVAL;
	memcpy(v, c->p, 8);
	c->p += 8;
	return 0;
}

static int take_pair32(struct cursor *c, uint32_t *a, uint32_t *b)
{
	uint64_t v;
	if (take(c, &v) < 0)
		return -EINVAL;
	*a = (uint32_t)v; /* little-endian u32 pair as the kernel writes it */
	*b = (uint32_t)(v >> 32);
	return 0;
}

static int skip(struct cursor *c, uint64_t bytes)
{
	if ((uint64_t)(c->end - c->p) < bytes)
		return -EINVAL;
	c->p += bytes;
	return 0;
}

/* n u64 words (n read from the record: n * 8 must not wrap). */
static int skip_words(struct cursor *c, uint64_t n, const uint64_t **at)
{
	*at = (const uint64_t *)c->p;
	if (n > (uint64_t)(c->end - c->p) / 8)
		return -EINVAL;
	c->p += n * 8;
	return 0;
}

/* { u64 abi; u64 regs[weight(mask)]; }: the registers only when abi is not NONE. */
static int take_regs(struct cursor *c, uint64_t mask, uint64_t *abi, const uint64_t **regs)
{
	if (take(c, abi) < 0)
		return -EINVAL;
	if (!*abi)
		return 0;
	return skip_words(c, (uint64_t)__builtin_popcountll(mask), regs);
}

/* { u64 nr; u64 hw_idx (HW_INDEX); {from, to, flags}[nr]; u64 counters[nr] (COUNTERS); } */
static int take_branches(const struct pabi_layout *l, struct cursor *c, struct pabi_sample *s)
{
	s->branch_hw_idx = (uint64_t)-1;
	if (take(c, &s->nr_branch) < 0 || s->nr_branch > (1u << 16))
		return -EINVAL;
	if ((l->branch_sample_type & PERF_SAMPLE_BRANCH_HW_INDEX) && take(c, &s->branch_hw_idx) < 0)
		return -EINVAL;
	if (skip_words(c, 3 * s->nr_branch, &s->branch) < 0)
		return -EINVAL;
	if ((l->branch_sample_type & PERF_SAMPLE_BRANCH_COUNTERS) &&
	    skip_words(c, s->nr_branch, &s->branch_counters) < 0)
		return -EINVAL;
	return 0;
}

static int parse_read(const struct pabi_layout *l, struct cursor *c, struct pabi_sample *s)
{
	uint64_t rf = l->read_format, nr = 1;
	if (rf & PERF_FORMAT_GROUP) {
		if (take(c, &nr) < 0 || nr > sizeof(s->read) / sizeof(s->read[0]))
			return -EINVAL;
	}
	memset(s->read, 0, nr * sizeof(s->read[0]));
	if (!(rf & PERF_FORMAT_GROUP) && take(c, &s->read[0].value) < 0)
		return -EINVAL; /* non-group layout: the value comes before the times */
	if ((rf & PERF_FORMAT_TOTAL_TIME_ENABLED) && take(c, &s->time_enabled) < 0)
		return -EINVAL;
	if ((rf & PERF_FORMAT_TOTAL_TIME_RUNNING) && take(c, &s->time_running) < 0)
		return -EINVAL;
	for (uint64_t i = 0; i < nr; i++) {
		struct pabi_read_value *r = &s->read[i];
		if ((rf & PERF_FORMAT_GROUP) && take(c, &r->value) < 0)
			return -EINVAL;
		if ((rf & PERF_FORMAT_ID) && take(c, &r->id) < 0)
			return -EINVAL;
		if ((rf & PERF_FORMAT_LOST) && take(c, &r->lost) < 0)
			return -EINVAL;
	}
	s->nr_read = nr;
	return 0;
}

int pabi_parse_sample(const struct pabi_layout *l, const struct perf_event_header *h,
		      struct pabi_sample *s)
{
	struct cursor c = {(const unsigned char *)(h + 1), (const unsigned char *)h + h->size};
	uint64_t t = l->sample_type;
	memset(s, 0, offsetof(struct pabi_sample, read)); /* parse_read sets the entries it fills */
	s->cpu = (uint32_t)-1;
	s->misc = h->misc;
	if ((t & PERF_SAMPLE_IDENTIFIER) && take(&c, &s->id) < 0)
		return -EINVAL;
	if ((t & PERF_SAMPLE_IP) && take(&c, &s->ip) < 0)
		return -EINVAL;
	if ((t & PERF_SAMPLE_TID) && take_pair32(&c, &s->pid, &s->tid) < 0)
		return -EINVAL;
	if ((t & PERF_SAMPLE_TIME) && take(&c, &s->time) < 0)
		return -EINVAL;
	if ((t & PERF_SAMPLE_ADDR) && take(&c, &s->addr) < 0)
		return -EINVAL;
	if ((t & PERF_SAMPLE_ID) && take(&c, &s->id) < 0)
		return -EINVAL;
	if ((t & PERF_SAMPLE_STREAM_ID) && take(&c, &s->stream_id) < 0)
		return -EINVAL;
	if (t & PERF_SAMPLE_CPU) {
		uint32_t res;
		if (take_pair32(&c, &s->cpu, &res) < 0)
			return -EINVAL;
	}
	if ((t & PERF_SAMPLE_PERIOD) && take(&c, &s->period) < 0)
		return -EINVAL;
	if ((t & PERF_SAMPLE_READ) && parse_read(l, &c, s) < 0)
		return -EINVAL;
	if (t & PERF_SAMPLE_CALLCHAIN) {
		if (take(&c, &s->nr_callchain) < 0 || s->nr_callchain > (1u << 16) ||
		    skip_words(&c, s->nr_callchain, &s->callchain) < 0)
			return -EINVAL;
	}
	if (t & PERF_SAMPLE_RAW) {
		uint32_t size;
		/* u32 size then data; the whole is padded to 8 bytes. */
		if (c.end - c.p < 4)
			return -EINVAL;
		memcpy(&size, c.p, 4);
		const unsigned char *raw = c.p + 4;
		if (skip(&c, (4 + (uint64_t)size + 7) & ~7ULL) < 0)
			return -EINVAL;
		s->raw = raw;
		s->raw_size = size;
	}
	if ((t & PERF_SAMPLE_BRANCH_STACK) && take_branches(l, &c, s) < 0)
		return -EINVAL;
	if ((t & PERF_SAMPLE_REGS_USER) &&
	    take_regs(&c, l->regs_user_mask, &s->regs_abi, &s->regs) < 0)
		return -EINVAL;
	if (t & PERF_SAMPLE_STACK_USER) {
		if (take(&c, &s->stack_size) < 0)
			return -EINVAL;
		if (s->stack_size) {
			s->stack = c.p;
			if (skip(&c, s->stack_size) < 0 || take(&c, &s->stack_dyn_size) < 0 ||
			    s->stack_dyn_size > s->stack_size)
				return -EINVAL;
		}
	}
	if (t & (PERF_SAMPLE_WEIGHT | PERF_SAMPLE_WEIGHT_STRUCT)) {
		if (take(&c, &s->weight) < 0)
			return -EINVAL;
		if (t & PERF_SAMPLE_WEIGHT_STRUCT) { /* u32 var1_dw, u16 var2_w, u16 var3_w */
			s->ins_lat = (uint16_t)(s->weight >> 32);
			s->retire_lat = (uint16_t)(s->weight >> 48);
			s->weight = (uint32_t)s->weight;
		}
	}
	if ((t & PERF_SAMPLE_DATA_SRC) && take(&c, &s->data_src) < 0)
		return -EINVAL;
	if ((t & PERF_SAMPLE_TRANSACTION) && take(&c, &s->transaction) < 0)
		return -EINVAL;
	if ((t & PERF_SAMPLE_REGS_INTR) &&
	    take_regs(&c, l->regs_intr_mask, &s->regs_intr_abi, &s->regs_intr) < 0)
		return -EINVAL;
	if ((t & PERF_SAMPLE_PHYS_ADDR) && take(&c, &s->phys_addr) < 0)
		return -EINVAL;
	if ((t & PERF_SAMPLE_CGROUP) && take(&c, &s->cgroup) < 0)
		return -EINVAL;
	if ((t & PERF_SAMPLE_DATA_PAGE_SIZE) && take(&c, &s->data_page_size) < 0)
		return -EINVAL;
	if ((t & PERF_SAMPLE_CODE_PAGE_SIZE) && take(&c, &s->code_page_size) < 0)
		return -EINVAL;
	if (t & PERF_SAMPLE_AUX) {
		if (take(&c, &s->aux_size) < 0)
			return -EINVAL;
		s->aux = c.p;
		if (skip(&c, s->aux_size) < 0)
			return -EINVAL;
	}
	return 0;
}

uint64_t pabi_record_id(const struct perf_event_header *h)
{
	uint64_t id = 0;
	if (h->size < sizeof(*h) + 8)
		return 0;
	if (h->type == PERF_RECORD_SAMPLE)
		memcpy(&id, h + 1, 8);
	else
		memcpy(&id, (const unsigned char *)h + h->size - 8, 8);
	return id;
}

int pabi_parse_sample_id(const struct pabi_layout *l, const struct perf_event_header *h,
			 struct pabi_sample_id *out)
{
	uint64_t t = l->sample_type;
	size_t n = !!(t & PERF_SAMPLE_TID) + !!(t & PERF_SAMPLE_TIME) + !!(t & PERF_SAMPLE_ID) +
		   !!(t & PERF_SAMPLE_STREAM_ID) + !!(t & PERF_SAMPLE_CPU) +
		   !!(t & PERF_SAMPLE_IDENTIFIER);
	memset(out, 0, sizeof(*out));
	out->cpu = (uint32_t)-1;
	if (h->size < sizeof(*h) + n * 8)
		return -EINVAL;
	struct cursor c = {(const unsigned char *)h + h->size - n * 8,
			   (const unsigned char *)h + h->size};
	uint64_t v;
	uint32_t res;
	if ((t & PERF_SAMPLE_TID) && take_pair32(&c, &out->pid, &out->tid) < 0)
		return -EINVAL;
	if ((t & PERF_SAMPLE_TIME) && take(&c, &out->time) < 0)
		return -EINVAL;
	if ((t & PERF_SAMPLE_ID) && take(&c, &out->id) < 0)
		return -EINVAL;
	if ((t & PERF_SAMPLE_STREAM_ID) && take(&c, &v) < 0)
		return -EINVAL;
	if ((t & PERF_SAMPLE_CPU) && take_pair32(&c, &out->cpu, &res) < 0)
		return -EINVAL;
	if ((t & PERF_SAMPLE_IDENTIFIER) && take(&c, &out->id) < 0)
		return -EINVAL;
	return 0;
}

int pabi_record_loss(const struct perf_event_header *h, uint64_t *id, uint64_t *lost)
{
	uint64_t body[2];
	switch (h->type) {
	case PERF_RECORD_LOST:
		/* id, lost, then the sample_id trailer */
		if (h->size < sizeof(*h) + 16)
			return -EINVAL;
		memcpy(body, h + 1, 16);
		*id = body[0];
		*lost = body[1];
		return 1;
	case PERF_RECORD_LOST_SAMPLES:
		/* lost, then the trailer, whose IDENTIFIER names the event */
		if (h->size < sizeof(*h) + 16)
			return -EINVAL;
		memcpy(body, h + 1, 8);
		*lost = body[0];
		*id = pabi_record_id(h);
		return 1;
	default:
		return 0;
	}
}

size_t pabi_sample_compact(const struct pabi_layout *l, const struct perf_event_header *h,
			   unsigned char *out)
{
	struct pabi_sample s;
	if (!(l->sample_type & PERF_SAMPLE_STACK_USER) || pabi_parse_sample(l, h, &s) < 0 ||
	    !s.stack)
		return 0;
	uint64_t keep = (s.stack_dyn_size + 7) & ~7ULL;
	if (keep >= s.stack_size)
		return 0;
	const unsigned char *base = (const unsigned char *)h;
	size_t head = (size_t)(s.stack - base);            /* up to the stack bytes */
	size_t tail = head + s.stack_size + 8;              /* after the dyn_size field */
	size_t tail_len = h->size - tail;
	size_t size = head + keep + 8 + tail_len;
	memcpy(out, base, head);
	memcpy(out + head - 8, &keep, 8);                   /* the size field before the bytes */
	memcpy(out + head, s.stack, keep);
	memcpy(out + head + keep, &s.stack_dyn_size, 8);
	memcpy(out + head + keep + 8, base + tail, tail_len);
	struct perf_event_header nh = *h;
	nh.size = (uint16_t)size;
	memcpy(out, &nh, sizeof(nh));
	return size;
}
