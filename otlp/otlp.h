/*
 * otlp — the same profile as OpenTelemetry profiles (OTLP, v1development):
 * encoding and delivery.
 *
 * Owns: translating a pprof profile (profile.proto bytes, as pprof_encode
 * gives them) into one ExportProfilesServiceRequest (otlp_encode.c): one
 * shared ProfilesDictionary whose every table starts with the zero value and
 * holds no duplicates, one ResourceProfiles per process (split by the pprof's
 * "pid" label) with resource attributes, scope "pmuprof", and one Profile per
 * sample type; writing it to a file; and delivering it over OTLP/HTTP with
 * libcurl (otlp_http.c): retries with jittered exponential backoff for
 * 429/502/503/504 and connection failures only, Retry-After honoured,
 * partial_success logged and never retried, a bounded on-disk spool for
 * what cannot be delivered in time, replayed oldest first.
 *
 * Uses protobuf-c code generated from proto/opentelemetry/... at build time.
 */
#ifndef PMUPROF_OTLP_H
#define PMUPROF_OTLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct base_output; /* base.h */

/* What the encoder needs to know about a process for its resource attributes. */
struct otlp_process {
	const char *executable_name; /* process.executable.name (basename), may be NULL */
	const char *executable_path; /* process.executable.path, may be NULL */
	const char *command_line;    /* process.command_line, may be NULL */
};

struct otlp_options {
	/*
	 * service.name: NULL means OTEL_SERVICE_NAME if set, else each process's
	 * executable name (else "unknown_service").
	 */
	const char *service_name;
	/* OTEL_RESOURCE_ATTRIBUTES syntax "k=v,k2=v2" (percent-decoded); NULL: the env var. */
	const char *resource_attributes;
	const char *host_name;     /* host.name; NULL: gethostname() */
	const char *scope_version; /* the pmuprof version */
	/* --otlp-payload: attach these (gzipped pprof) bytes once, as original_payload "pprof". */
	const uint8_t *original_payload;
	size_t original_payload_len;
	/* Process details by pid (0 when found); NULL or non-zero: only process.pid is written. */
	int (*process_info)(void *ctx, int64_t pid, struct otlp_process *out);
	void *process_ctx;
};

/*
 * pprof (uncompressed profile.proto bytes) -> serialized
 * ExportProfilesServiceRequest (malloc'd). Values of each Profile equal the
 * pprof's for the same stack and labels; sample labels become attributes
 * thread.id, thread.name, cpu.logical_number; mappings carry
 * process.executable.build_id.gnu; locations profile.frame.type.
 */
int otlp_encode_request(const uint8_t *pprof, size_t pprof_len, const struct otlp_options *o,
			uint8_t **out, size_t *out_len, char *err, size_t errlen);

/* Writes the request (binary protobuf) to an output (base.h: atomically, or in place). */
int otlp_write_output(struct base_output *out, const uint8_t *bytes, size_t len, char *err,
		      size_t errlen);
/* The same to a name, opened and closed here. */
int otlp_write_file(const char *path, const uint8_t *bytes, size_t len, char *err, size_t errlen);

/* --- OTLP/HTTP ------------------------------------------------------------------- */

struct otlp_http_config {
	/*
	 * Where to POST: from --otlp-endpoint or OTEL_EXPORTER_OTLP_ENDPOINT as
	 * "{endpoint}/v1development/profiles"; OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT
	 * is used verbatim. Filled by otlp_http_config_from_env().
	 */
	char url[1024];
	char headers[2048];     /* OTEL_EXPORTER_OTLP_HEADERS: "k=v,k2=v2" */
	long timeout_ms;        /* OTEL_EXPORTER_OTLP_TIMEOUT, default 10000 */
	bool gzip;              /* OTEL_EXPORTER_OTLP_COMPRESSION=gzip */
	long retry_budget_ms;   /* total time spent retrying one export, default 30000 */
	char spool_dir[1024];   /* --spool DIR, default $XDG_STATE_HOME/pmuprof/spool */
	uint64_t spool_max_bytes; /* default 256 MiB */
	FILE *log;              /* one line per event (retries, partial success, spool) */
	/* User-Agent: "pmuprof" from otlp_http_config_from_env(); callers set "pmuprof/<version>". */
	char user_agent[64];
};

/*
 * Fills c from the environment and the command line's endpoint (NULL: env
 * only); -EINVAL with a one-line message when no endpoint is configured or a
 * variable is malformed.
 */
int otlp_http_config_from_env(struct otlp_http_config *c, const char *endpoint_flag,
			      const char *spool_flag, char *err, size_t errlen);

struct otlp_export_result {
	int http_status;      /* last status seen (0: no HTTP response) */
	int attempts;         /* 1 + retries */
	double latency_s;     /* from the first attempt to the outcome */
	size_t bytes_sent;    /* body bytes of the successful attempt (after gzip) */
	bool spooled;         /* not delivered in the retry budget: written to the spool */
	bool partial;         /* the receiver reported partial_success */
	int64_t rejected;     /* partial_success.rejected_profiles */
	char message[256];    /* partial_success.error_message or the last error */
};

/*
 * Decodes a 2xx response body (an ExportProfilesServiceResponse): 1 when it
 * reports a partial success (rejected profiles, or a warning copied to msg),
 * 0 when the delivery was whole, -EINVAL when the body is not such a message.
 */
int otlp_decode_response(const uint8_t *body, size_t len, int64_t *rejected, char *msg,
			 size_t msglen);

struct otlp_http;
int otlp_http_new(struct otlp_http **out, const struct otlp_http_config *c, char *err,
		  size_t errlen);
void otlp_http_free(struct otlp_http *h);

/*
 * Delivers one request body: first whatever the spool holds (oldest first,
 * while the endpoint accepts), then this one. Every retry sends the same
 * bytes (OTLP delivery is at-least-once: a backend drops a copy by its
 * profile ids). time_ns (the profile's start; 0: now) orders the body in
 * the spool. Returns 0 when delivered, 1 when spooled, negative errno (with
 * err) when it could be neither delivered nor spooled (permanent 4xx other
 * than 429: logged and dropped, -EPROTO; spool full: -ENOSPC) — never
 * silently.
 */
int otlp_http_export(struct otlp_http *h, const uint8_t *body, size_t len, int64_t time_ns,
		     struct otlp_export_result *res, char *err, size_t errlen);
/* Puts body in the spool without trying to send it (why: for the log); 1 or -errno. */
int otlp_http_spool(struct otlp_http *h, const uint8_t *body, size_t len, int64_t time_ns,
		    const char *why, char *err, size_t errlen);
/* Tries to deliver the spool only (e.g. at exit); the number of files delivered. */
int otlp_http_flush_spool(struct otlp_http *h, char *err, size_t errlen);
/* Files and bytes waiting in the spool. */
void otlp_http_spool_usage(struct otlp_http *h, size_t *files, uint64_t *bytes);
/*
 * From another thread: nothing more is sent, a wait to retry ends at once
 * and the transfer under way within a second (libcurl's progress callback
 * runs at least once a second); what is not delivered goes to the spool.
 */
void otlp_http_abort(struct otlp_http *h);

/* --- delivery on a thread of its own (otlp_queue.c) ------------------------------ */

/* What became of the bodies handed to a queue, one count per body (a window). */
struct otlp_queue_stats {
	unsigned delivered; /* the endpoint took it (a partial success included) */
	unsigned spooled;   /* kept in the spool for a later delivery */
	unsigned rejected;  /* refused for good by the endpoint (4xx), logged */
	unsigned lost;      /* neither delivered nor spooled (spool full or unwritable) */
	unsigned resends;   /* the same bytes sent again after a failed attempt */
};

struct otlp_queue;
/*
 * Starts the thread that delivers through h, which from then on belongs to
 * it (but for otlp_http_spool and otlp_http_spool_usage, safe alongside);
 * depth bodies wait at most. One line per body goes to log.
 */
int otlp_queue_new(struct otlp_queue **out, struct otlp_http *h, size_t depth, FILE *log,
		   char *err, size_t errlen);
/*
 * Hands body (malloc'd, freed by the queue) over for delivery, never waiting
 * for the network. A full queue sends its oldest body to the spool. 0, or
 * -errno when that one could not be spooled either (logged, counted lost).
 */
int otlp_queue_push(struct otlp_queue *q, uint8_t *body, size_t len, int64_t time_ns,
		    unsigned window);
void otlp_queue_stats(struct otlp_queue *q, struct otlp_queue_stats *st);
/*
 * Delivers what is queued for up to grace_s seconds, then ends the transfer
 * under way and spools the rest; joins the thread, fills st, frees q.
 */
void otlp_queue_close(struct otlp_queue *q, double grace_s, struct otlp_queue_stats *st);

#endif
