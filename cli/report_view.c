/*
 * pmuprof report's and diff's views: --folded (folded stacks) and
 * --flamegraph OUT, an interactive HTML page or a static SVG by OUT's
 * extension; diff's are differential, of the baseline and the profile.
 */
#include "cli.h"
#include "base.h"
#include "flame.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

int cli_view_open(struct cli_view *v, const char *input)
{
	const char *name = v->folded ? (v->output ? v->output : "-") : v->flamegraph;
	if (v->folded && v->flamegraph) {
		cli_error(v->cmd, "--folded and --flamegraph are two views: give one per run");
		return 2;
	}
	if (v->flamegraph && !ends_with(name, ".html") && !ends_with(name, ".htm") &&
	    !ends_with(name, ".svg")) {
		cli_error(v->cmd, "--flamegraph %s: name the page OUT.html (interactive) or "
			  "OUT.svg (static)", name);
		return 2;
	}
	struct base_output_opts oo = {.mode = 0644,
				      .what = v->folded ? "folded stacks" : "flame graph",
				      .flag = v->folded ? "-o" : "--flamegraph"};
	char err[BASE_ERR_MAX];
	if (base_output_open(&v->out, name, &oo, err, sizeof(err)) < 0) {
		cli_error(v->cmd, "%s", err);
		return 2;
	}
	/* diff reads two inputs: the output may be neither. */
	int rc = 0;
	if (v->baseline_path &&
	    (rc = base_outputs_distinct(&v->out, 1, v->baseline_path, err, sizeof(err))) < 0)
		cli_error(v->cmd, "%s", err);
	if (rc == 0)
		rc = cli_outputs_ready(v->cmd, &v->out, 1, input);
	if (rc < 0) {
		cli_view_close(v); /* no temporary is left behind */
		return 2;
	}
	return 0;
}

int cli_view_write(struct cli_view *v, const struct pprof_read *pr, const char *path,
		   const char *sample_type)
{
	struct flame_opts fo = {.sample_type = sample_type,
				.title = path,
				.no_inline = v->no_inline,
				.baseline = v->baseline,
				.baseline_title = v->baseline_path};
	char err[BASE_ERR_MAX];
	int rc = v->folded			  ? flame_write_folded(pr, &fo, v->out, err, sizeof(err))
		 : ends_with(v->flamegraph, ".svg") ? flame_write_svg(pr, &fo, v->out, err, sizeof(err))
						    : flame_write_html(pr, &fo, v->out, err, sizeof(err));
	if (rc < 0) {
		cli_error(v->cmd, "%s", err);
		return rc == -EINVAL ? 2 : 1;
	}
	return 0;
}

void cli_view_close(struct cli_view *v)
{
	base_output_close(v->out);
	v->out = NULL;
}
