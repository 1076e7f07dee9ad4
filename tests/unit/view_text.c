/* A flame/ view as text for the unit tests (view_text.h). */
#include "view_text.h"
#include "profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct pprof_read *view_text_read(struct pprof *p)
{
	char err[BASE_ERR_MAX];
	uint8_t *buf;
	size_t len;
	struct pprof_read *r;
	if (pprof_encode(p, &buf, &len, err, sizeof(err)) < 0)
		abort();
	pprof_free(p);
	if (pprof_read_mem(&r, "t.pb", buf, len, 0, err, sizeof(err)) < 0)
		abort();
	free(buf);
	return r;
}

char *view_text(view_text_fn fn, const struct pprof_read *pr, const struct flame_opts *o, int *rc,
		char *err, size_t errlen)
{
	char path[] = "/tmp/test_view.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		abort();
	close(fd);
	struct base_output *out;
	struct base_output_opts oo = { .mode = 0644, .what = "view", .flag = "-o" };
	if (base_output_open(&out, path, &oo, err, errlen) < 0)
		abort();
	*rc = fn(pr, o, out, err, errlen);
	base_output_close(out);
	FILE *f = fopen(path, "r");
	char *text = calloc(1, 1 << 20);
	if (!f || !text)
		abort();
	size_t n = fread(text, 1, (1 << 20) - 1, f);
	text[n] = '\0';
	fclose(f);
	unlink(path);
	return text;
}
