/*
 * The spill file: where a reader puts the records the consumer has not
 * taken yet once their memory budget is used up, so draining the kernel's
 * rings never waits for processing (a full ring loses samples; a lagging
 * consumer only delays the profile).
 */
#include "sampler_internal.h"
#include "base.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

void smp_spill_init(struct smp_spill *sp)
{
	*sp = (struct smp_spill){.fd = -1};
}

int smp_spill_write(struct smp_spill *sp, const void *data, size_t len, uint64_t *off)
{
	if (sp->fd < 0) {
		int fd = base_scratch_file(NULL);
		if (fd < 0)
			return fd;
		sp->fd = fd;
	}
	/* Everything written was read back (and punched out): start over. */
	if (__atomic_load_n(&sp->pending, __ATOMIC_ACQUIRE) == 0)
		sp->end = 0;
	const unsigned char *p = data;
	for (size_t done = 0; done < len;) {
		ssize_t n = pwrite(sp->fd, p + done, len - done, (off_t)(sp->end + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	*off = sp->end;
	sp->end += len;
	__atomic_add_fetch(&sp->pending, 1, __ATOMIC_ACQ_REL);
	__atomic_add_fetch(&sp->bytes, len, __ATOMIC_RELAXED);
	__atomic_add_fetch(&sp->chunks, 1, __ATOMIC_RELAXED);
	return 0;
}

int smp_spill_read(struct smp_spill *sp, uint64_t off, void *data, size_t len)
{
	unsigned char *p = data;
	int ret = 0;
	for (size_t done = 0; data && done < len;) {
		ssize_t n = pread(sp->fd, p + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			break;
		}
		done += (size_t)n;
	}
	/* Best effort: a file system without holes keeps the space until the end. */
	(void)fallocate(sp->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len);
	/* After the punch: a reader that sees no chunk pending may write over this range. */
	__atomic_sub_fetch(&sp->pending, 1, __ATOMIC_ACQ_REL);
	return ret;
}

void smp_spill_close(struct smp_spill *sp)
{
	if (sp->fd >= 0)
		close(sp->fd);
	sp->fd = -1;
}
