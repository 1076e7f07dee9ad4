/*
 * The OTLP side of record and agent: a finished pprof re-encoded as an
 * ExportProfilesServiceRequest with each process's resource attributes,
 * written to a file and/or delivered over OTLP/HTTP.
 */
#include "cli.h"
#include "engine.h"
#include "otlp.h"
#include "version.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* process.command_line: the workload's argv as we ran it, else /proc/PID/cmdline. */
static void command_line(const struct cli_otlp_ctx *c, int64_t pid, char *buf, size_t len)
{
	buf[0] = 0;
	if (pid == c->workload && c->argv) {
		size_t used = 0;
		for (char **a = c->argv; *a && used < len; a++)
			used += (size_t)snprintf(buf + used, len - used, "%s%s", a == c->argv ? "" : " ", *a);
		return;
	}
	base_proc_cmdline((pid_t)pid, buf, len);
}

static int process_info(void *ctx, int64_t pid, struct otlp_process *out)
{
	struct cli_otlp_ctx *c = ctx;
	const char *exe = proc_exe(c->procs, (pid_t)pid);
	command_line(c, pid, c->cmdline, sizeof(c->cmdline));
	if (!exe && !c->cmdline[0])
		return -1;
	out->executable_path = exe;
	const char *slash = exe ? strrchr(exe, '/') : NULL;
	out->executable_name = slash ? slash + 1 : exe;
	out->command_line = c->cmdline[0] ? c->cmdline : NULL;
	return 0;
}

/* The pprof gzipped, for --otlp-payload's original_payload. */
static int gzip_bytes(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	size_t cap = deflateBound(&z, len) + 32;
	*out = malloc(cap);
	if (!*out) {
		deflateEnd(&z);
		return -1;
	}
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	z.next_out = *out;
	z.avail_out = (uInt)cap;
	int rc = deflate(&z, Z_FINISH);
	*out_len = cap - z.avail_out;
	deflateEnd(&z);
	if (rc != Z_STREAM_END) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

int cli_otlp_encode(struct cli_otlp_ctx *c, const struct pprof *prof, bool payload,
		    uint8_t **req, size_t *req_len, char *err, size_t errlen)
{
	uint8_t *raw = NULL, *gz = NULL;
	size_t raw_len = 0, gz_len = 0;
	int ret = pprof_encode(prof, &raw, &raw_len, err, errlen);
	if (ret < 0)
		return ret;
	if (payload && gzip_bytes(raw, raw_len, &gz, &gz_len) < 0) {
		free(raw);
		return base_fail(err, errlen, -ENOMEM, "cannot compress the pprof payload");
	}
	struct otlp_options o = {
		.scope_version = PMUPROF_VERSION,
		.original_payload = gz,
		.original_payload_len = gz_len,
		.process_info = process_info,
		.process_ctx = c,
	};
	ret = otlp_encode_request(raw, raw_len, &o, req, req_len, err, errlen);
	free(raw);
	free(gz);
	return ret;
}

void cli_otlp_log_result(FILE *log, const char *cmd, const struct otlp_export_result *r,
			 int outcome, size_t request_len)
{
	fprintf(log,
		"pmuprof %s: otlp export %s: %zu bytes (%zu sent), status %d, %d attempt%s, %.0f ms",
		cmd, outcome == 0 ? "delivered" : outcome == 1 ? "spooled" : "failed", request_len,
		r->bytes_sent, r->http_status, r->attempts, r->attempts == 1 ? "" : "s",
		r->latency_s * 1e3);
	if (r->partial)
		fprintf(log, ", partial success: %lld rejected: %s", (long long)r->rejected,
			r->message);
	else if (outcome < 0 && r->message[0])
		fprintf(log, ": %s", r->message);
	fputc('\n', log);
	fflush(log);
}

int cli_otlp_post(const char *endpoint, const char *spool, const uint8_t *req, size_t len,
		  const char *cmd, char *err, size_t errlen)
{
	struct otlp_http_config cfg;
	int ret = otlp_http_config_from_env(&cfg, endpoint, spool, err, errlen);
	if (ret < 0)
		return ret;
	snprintf(cfg.user_agent, sizeof(cfg.user_agent), "pmuprof/%s", PMUPROF_VERSION);
	cfg.log = stderr;
	struct otlp_http *h;
	if ((ret = otlp_http_new(&h, &cfg, err, errlen)) < 0)
		return ret;
	struct otlp_export_result r;
	memset(&r, 0, sizeof(r));
	ret = otlp_http_export(h, req, len, 0, &r, err, errlen);
	cli_otlp_log_result(stderr, cmd, &r, ret, len);
	otlp_http_free(h);
	return ret < 0 ? ret : 0;
}
