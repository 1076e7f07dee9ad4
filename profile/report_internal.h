/*
 * The grouping `pmuprof report` and `pmuprof diff` share (report.c): a
 * profile's samples summed per --sort key, self (flat) and with callees
 * (cum), under perf's filters; and the units both print values in.
 */
#ifndef PMUPROF_REPORT_INTERNAL_H
#define PMUPROF_REPORT_INTERNAL_H

#include "base.h"
#include "profile.h"
#include "profile.pb-c.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define MAX_KEYS 4
#define KEY_SEP '\x1f' /* between a row key's parts */

/*
 * A frame's keys; "stack" is the sample's whole stack, root first; any other name is the
 * sample label of that key.
 */
enum key_kind { KEY_DSO, KEY_SYM, KEY_SRCLINE, KEY_LABEL, KEY_STACK };

struct sort_key {
	enum key_kind kind;
	char name[64]; /* as given: the column's header, and the label's key */
};

/* Sorted by id; ids are usually 1..n in order, so try the direct slot before searching. */
struct id_index {
	const void **v;
	size_t n;
};

/* One row: its key and its values per sample type. */
struct entry {
	char *key;     /* parts joined by KEY_SEP */
	int64_t *flat; /* [ntypes] */
	int64_t *cum;  /* [ntypes] */
	size_t last_sample;
};

struct rep {
	const Perftools__Profiles__Profile *m;
	struct id_index locs, fns, maps;
	struct sort_key keys[MAX_KEYS];
	int64_t label_key[MAX_KEYS]; /* string-table index of a label key's name, -1 if none */
	size_t nkeys;
	bool frame_keys; /* some key is a frame's: group every frame of the stack */
	bool children;   /* a frame's row shows its callees' values too (perf's --children) */
	bool stacks;     /* some sample has a caller: the profile has call graphs */
	const struct pprof_report_opts *opts; /* never NULL */
	int64_t filter_key[3]; /* string-table index of "comm", "pid", "tid"; -1 if absent */
	size_t ntypes;
	int64_t *total; /* [ntypes]: the sum of each type's values */

	struct entry *ent;
	size_t nent, cap_ent;
	struct base_htab index; /* entries by key */

	char *buf; /* the key being composed */
	size_t cap_buf, len_buf;
	char *stack; /* a "stack" key's part being composed */
	size_t cap_stack;

	/* -g: the call graph printed under each row */
	int graph;        /* 0 none, GRAPH_CALLER or GRAPH_CALLEE */
	double threshold; /* branches below this percent of the total are hidden */
	struct frame {
		const Perftools__Profiles__Location *loc;
		const Perftools__Profiles__Line *line;
	} *frames; /* one sample's */
	size_t cap_frames;
	struct cg_node *nodes; /* the tree of one row; nodes[0] is its root */
	char *cg_row;          /* the row's symbol, as the tree names it */
	size_t nnodes, cap_nodes;
};

/*
 * Groups pr's samples by opts' sort keys under its filters into r (opts NULL: the
 * defaults); `path` names the profile in messages. 0 or -errno with err set; r is
 * released with report_close either way.
 */
int report_open(struct rep *r, const struct pprof_read *pr, const char *path,
		const struct pprof_report_opts *opts, char *err, size_t errlen);
void report_close(struct rep *r);
/* The row of a composed key, or NULL. */
const struct entry *report_find(const struct rep *r, const char *key);

/* Percent of total (0 for a zero total). */
double report_pct(int64_t v, int64_t total);
/* Whether sample type t counts time (nanoseconds): shown as ms or s, never in a ratio. */
bool report_is_time(const Perftools__Profiles__Profile *m, size_t t);
/* A value in human units: 1.59s, 0.25ms for time; 600, 18.70K, 3.45M, 1.20G for counts. */
void report_human(char *buf, size_t len, int64_t v, bool time);
/*
 * The key columns of a table (r->nkeys of them): wkey[] set to the keys' names' widths
 * (key NULL) or widened to fit a row's composed key; the header's names and its rules of
 * dots; a row's parts and the newline (0 or -ENOMEM). The last column is unpadded.
 */
void report_key_widths(const struct rep *r, const char *key, size_t *wkey);
void report_print_key_names(const struct rep *r, const size_t *wkey, FILE *out);
void report_print_key_rules(const struct rep *r, const size_t *wkey, FILE *out);
int report_print_key(const char *key, const size_t *wkey, FILE *out);
/* The line under a table that --top or --percent-limit cut: how many rows it hides. */
void report_print_hidden(size_t hidden, FILE *out);

#endif
