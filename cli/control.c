/*
 * record --control fifo:CTL[,ACK]: perf's control protocol. Commands arrive
 * one per line on the CTL fifo — enable, disable, snapshot, stop, ping —
 * and each is acknowledged with "ack\n" on the ACK fifo when there is one.
 * The fifos are opened read-write so that opening never blocks and a writer
 * that comes and goes never makes the reader see end-of-file.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int open_fifo(const char *path, char *err, size_t errlen)
{
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISFIFO(st.st_mode)) {
		return base_fail(err, errlen, -EINVAL,
				 "--control: '%s' is not a fifo; create it with mkfifo %s", path,
				 path);
	}
	int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		return base_fail(err, errlen, -e, "--control: cannot open fifo '%s': %s", path,
				 strerror(e));
	}
	return fd;
}

int cli_control_open(struct cli_control *c, const char *spec, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	c->ctl_fd = c->ack_fd = -1;
	if (strncmp(spec, "fifo:", 5) != 0 || !spec[5]) {
		return base_fail(err, errlen, -EINVAL, "--control takes fifo:CTL[,ACK], not '%s'", spec);
	}
	snprintf(c->paths, sizeof(c->paths), "%s", spec + 5);
	char ctl[sizeof(c->paths)];
	snprintf(ctl, sizeof(ctl), "%s", c->paths);
	char *ack = strchr(ctl, ',');
	if (ack)
		*ack++ = 0;
	int fd = open_fifo(ctl, err, errlen);
	if (fd < 0)
		return fd;
	c->ctl_fd = fd;
	if (ack && *ack) {
		if ((fd = open_fifo(ack, err, errlen)) < 0) {
			cli_control_close(c);
			return fd;
		}
		c->ack_fd = fd;
	}
	return 0;
}

enum cli_control_cmd cli_control_poll(struct cli_control *c)
{
	if (c->ctl_fd < 0)
		return CLI_CTL_NONE;
	for (;;) {
		enum pmu_control_cmd cmd = pmu_control_take(c->buf, &c->used, sizeof(c->buf), c->last,
							    sizeof(c->last));
		if (cmd != PMU_CTL_NONE)
			return (enum cli_control_cmd)cmd;
		ssize_t n = read(c->ctl_fd, c->buf + c->used, sizeof(c->buf) - c->used);
		if (n <= 0)
			return CLI_CTL_NONE; /* EAGAIN: nothing more for now */
		c->used += (size_t)n;
	}
}

void cli_control_ack(struct cli_control *c)
{
	/* A reader that is not listening must not stall the recorder: non-blocking, best effort. */
	if (c->ack_fd >= 0 && write(c->ack_fd, "ack\n", 4) < 0)
		return;
}

void cli_control_close(struct cli_control *c)
{
	if (c->ctl_fd >= 0)
		close(c->ctl_fd);
	if (c->ack_fd >= 0)
		close(c->ack_fd);
	c->ctl_fd = c->ack_fd = -1;
}
