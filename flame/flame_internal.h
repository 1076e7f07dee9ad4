/*
 * The prefix tree of frames the views share (tree.c), and the one way they
 * are written (flame_render).
 */
#ifndef PMUPROF_FLAME_INTERNAL_H
#define PMUPROF_FLAME_INTERNAL_H

#include "base.h"
#include "flame.h"

#include <stdint.h>
#include <stdio.h>

/* Node 0 is the root ("all"); a node's parent comes before it. */
struct flame_node {
	uint32_t parent, name;
};

/* Samples of one stack (leaf node) and one label set, values[ntypes] in vals. */
struct flame_entry {
	uint32_t node, set;
};

struct flame_tree {
	size_t ntypes;
	const char **type_name, **type_unit; /* [ntypes] */
	size_t type;                         /* the sample type chosen (flame_opts) */
	/*
	 * 1, or 2 for a differential tree: an entry's values are then the baseline's ntypes
	 * then the profile's ntypes (the types both profiles have).
	 */
	size_t nsides;

	char **names; /* deduplicated frame names and label values */
	size_t nnames, cap_names;
	struct base_htab name_ix;

	struct flame_node *nodes;
	size_t nnodes, cap_nodes;
	struct base_htab node_ix;

	const char **keys; /* label keys, in order of first use */
	size_t nkeys, cap_keys;
	uint32_t *sets; /* nsets * nkeys: a value's name id + 1, 0 for none */
	size_t nsets, cap_sets;
	struct base_htab set_ix;

	struct flame_entry *ent;
	int64_t *vals; /* nent * nsides * ntypes */
	size_t nent, cap_ent, cap_vals;
	struct base_htab ent_ix;

	/* Children in name order, after flame_tree_sort: child[first[i]..first[i+1]). */
	uint32_t *first, *child;
	int64_t *total; /* [nnodes]: the chosen type's value under each node */
	int64_t *self;  /* [nnodes]: its value at the node itself */
	int64_t *base_total, *base_self; /* the same of the baseline, in a differential tree */
};

/*
 * The tree of pr's samples, and of o->baseline's when set; o->sample_type picks t->type
 * (unknown: -EINVAL listing them).
 */
int flame_tree_build(struct flame_tree *t, const struct pprof_read *pr, const struct flame_opts *o,
		     char *err, size_t errlen);
/* Children sorted by name, and the chosen type's totals and self values. */
int flame_tree_sort(struct flame_tree *t);
void flame_tree_free(struct flame_tree *t);

/* Prints a view of the sorted tree t to f: 0 or -ENOMEM. */
typedef int (*flame_print_fn)(const struct flame_tree *t, const char *title, FILE *f);
/*
 * Builds and sorts pr's tree, prints it with print into memory, and writes
 * that to out (so a failure leaves out untouched); 0 or -errno, err set.
 */
int flame_render(const struct pprof_read *pr, const struct flame_opts *o, flame_print_fn print,
		 struct base_output *out, char *err, size_t errlen);

#endif
