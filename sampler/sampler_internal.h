/*
 * sampler's private parts shared between its files: the spill file a
 * reader writes chunks to when the consumer lags (spill.c).
 */
#ifndef PMUPROF_SAMPLER_INTERNAL_H
#define PMUPROF_SAMPLER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/*
 * One reader's spill file: an unnamed file in $TMPDIR, appended to by the
 * reader and read back by the consumer, each chunk once, in any order. The
 * space of a chunk read back is given back to the file system at once
 * (hole punching), and once every spilled chunk was read the reader writes
 * from the start again, so the file holds about the backlog, not the run.
 */
struct smp_spill {
	int fd;          /* -1 until the first spill */
	uint64_t end;    /* where the next chunk goes (reader only) */
	int pending;     /* atomic: chunks written and not yet read back */
	int error;       /* atomic: the first write's failure (-errno), 0 if none */
	uint64_t bytes;  /* atomic: bytes written over the run */
	uint64_t chunks; /* atomic: chunks written over the run */
};

void smp_spill_init(struct smp_spill *sp);
/* Appends len bytes (reader); *off is where. 0 or -errno (then nothing was added). */
int smp_spill_write(struct smp_spill *sp, const void *data, size_t len, uint64_t *off);
/* Reads a chunk back (data NULL: drops it) and frees its space (consumer). 0 or -errno. */
int smp_spill_read(struct smp_spill *sp, uint64_t off, void *data, size_t len);
void smp_spill_close(struct smp_spill *sp);

#endif
