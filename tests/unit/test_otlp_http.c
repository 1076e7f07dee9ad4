/*
 * OTLP/HTTP delivery (otlp/otlp_http.c) against tests/e2e/otlp_receiver.py,
 * run as a subprocess and scripted over its /_control path: configuration
 * from the environment; bodies arrive intact with the expected headers,
 * gzipped or not; 503 with Retry-After is retried after the delay, 502 with
 * backoff; 400 is not retried and is logged; partial_success is logged and
 * not retried; with the receiver down exports are spooled and, once it is
 * up, delivered oldest first; a full spool fails loudly; a spooled file
 * the receiver rejects for good is moved to rejected/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "otlp.h"

#define RECEIVER TEST_DATA_DIR "/../e2e/otlp_receiver.py"

/* --- the receiver subprocess ---------------------------------------------------- */

struct receiver {
	pid_t pid;
	int port;
};

/* Starts the receiver on port (0: a free one); it prints the port it took. */
static int receiver_start(struct receiver *r, int port)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	char arg[16];
	snprintf(arg, sizeof(arg), "%d", port);
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		execlp("python3", "python3", RECEIVER, "--port", arg, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	FILE *f = fdopen(p[0], "r");
	char line[64] = "";
	if (!f || !fgets(line, sizeof(line), f) || atoi(line) <= 0) {
		if (f)
			fclose(f);
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		return -EIO;
	}
	fclose(f);
	r->pid = pid;
	r->port = atoi(line);
	return 0;
}

/* Stops it and waits, so that the port is free when this returns. */
static void receiver_stop(struct receiver *r)
{
	if (r->pid <= 0)
		return;
	kill(r->pid, SIGTERM);
	waitpid(r->pid, NULL, 0);
	r->pid = 0;
}

struct buf {
	char *p;
	size_t n;
};

static size_t buf_write(char *data, size_t size, size_t nmemb, void *ud)
{
	struct buf *b = ud;
	size_t n = size * nmemb;
	char *q = realloc(b->p, b->n + n + 1);
	if (!q)
		return 0;
	memcpy(q + b->n, data, n);
	b->p = q;
	b->n += n;
	b->p[b->n] = '\0';
	return n;
}

/* A request to the receiver's own paths; the HTTP status, the body in out (to free). */
static long ctl_http(const struct receiver *r, const char *path, const char *post, struct buf *out)
{
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", r->port, path);
	CURL *e = curl_easy_init();
	assert_non_null(e);
	memset(out, 0, sizeof(*out));
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, buf_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, out);
	if (post)
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, post);
	CURLcode cc = curl_easy_perform(e);
	long status = 0;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(e);
	assert_int_equal(cc, CURLE_OK);
	return status;
}

static void script(const struct receiver *r, const char *json)
{
	struct buf b;
	long st = ctl_http(r, "/_control", json, &b);
	if (st != 200)
		fail_msg("receiver refused %s: %s", json, b.p ? b.p : "");
	free(b.p);
}

static int request_count(const struct receiver *r)
{
	struct buf b;
	assert_int_equal(ctl_http(r, "/_count", NULL, &b), 200);
	int n = atoi(b.p);
	free(b.p);
	return n;
}

/* Request i's body as the receiver decoded it (to free). */
static struct buf request_body(const struct receiver *r, int i)
{
	char path[64];
	struct buf b;
	snprintf(path, sizeof(path), "/_requests/%d/body", i);
	assert_int_equal(ctl_http(r, path, NULL, &b), 200);
	return b;
}

/* The value of header name (lower case, or ":path" etc.) in request i, in out. */
static void request_header(const struct receiver *r, int i, const char *name, char *out,
			   size_t outlen)
{
	char path[64], key[128];
	struct buf b;
	snprintf(path, sizeof(path), "/_requests/%d/headers", i);
	assert_int_equal(ctl_http(r, path, NULL, &b), 200);
	snprintf(key, sizeof(key), "%s: ", name);
	out[0] = '\0';
	for (char *line = b.p; line && *line;) {
		char *nl = strchr(line, '\n');
		if (!strncmp(line, key, strlen(key))) {
			size_t n = (size_t)((nl ? nl : line + strlen(line)) - line) - strlen(key);
			snprintf(out, outlen, "%.*s", (int)n, line + strlen(key));
			break;
		}
		line = nl ? nl + 1 : NULL;
	}
	free(b.p);
}

static double request_time(const struct receiver *r, int i)
{
	char v[64];
	request_header(r, i, ":time", v, sizeof(v));
	return atof(v);
}

/* --- fixture ----------------------------------------------------------------- */

struct fixture {
	struct receiver rcv;
	char dir[128];   /* spool dir's parent, removed at the end */
	char spool[256];
	struct otlp_http_config c;
	FILE *log;
	char *logbuf;
	size_t loglen;
	char err[512];
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/pmuprof-test-otlp-http-XXXXXX");
	if (!mkdtemp(f->dir) || receiver_start(&f->rcv, 0)) {
		free(f);
		return -1;
	}
	/* a spool two levels down checks mkdir -p */
	snprintf(f->spool, sizeof(f->spool), "%s/state/spool", f->dir);
	f->log = open_memstream(&f->logbuf, &f->loglen);
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", f->rcv.port);
	unsetenv("OTEL_EXPORTER_OTLP_HEADERS");
	unsetenv("OTEL_EXPORTER_OTLP_COMPRESSION");
	unsetenv("OTEL_EXPORTER_OTLP_TIMEOUT");
	unsetenv("OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT");
	if (otlp_http_config_from_env(&f->c, url, f->spool, f->err, sizeof(f->err))) {
		fprintf(stderr, "config: %s\n", f->err);
		return -1;
	}
	f->c.log = f->log;
	f->c.timeout_ms = 3000;
	f->c.retry_budget_ms = 5000;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	receiver_stop(&f->rcv);
	fflush(f->log);
	if (getenv("TEST_SHOW_LOG") && f->logbuf) /* to read the exporter's lines */
		fputs(f->logbuf, stderr);
	fclose(f->log);
	free(f->logbuf);
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* The log so far (flushed: the exporter flushes each line). */
static const char *logtext(struct fixture *f)
{
	fflush(f->log);
	return f->logbuf ? f->logbuf : "";
}

#define assert_contains(hay, needle)                                                    \
	do {                                                                            \
		if (!strstr((hay), (needle)))                                           \
			fail_msg("expected \"%s\" in: %s", (needle), (hay));            \
	} while (0)

static uint8_t *make_body(size_t n, unsigned seed, bool compressible)
{
	uint8_t *b = malloc(n);
	assert_non_null(b);
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		b[i] = compressible ? (uint8_t)("profile "[i % 8] + (i / 997) % 3) : (uint8_t)(x >> 24);
	}
	return b;
}

static void assert_body(const struct receiver *r, int i, const uint8_t *want, size_t n)
{
	struct buf b = request_body(r, i);
	assert_int_equal(b.n, n);
	assert_memory_equal(b.p, want, n);
	free(b.p);
}

static size_t count_files(const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name), sl = strlen(suffix);
		if (de->d_name[0] != '.' && l > sl && !strcmp(de->d_name + l - sl, suffix))
			n++;
	}
	closedir(d);
	return n;
}

/* --- configuration -------------------------------------------------------------- */

static const char *const otel_vars[] = {
	"OTEL_EXPORTER_OTLP_ENDPOINT",	       "OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT",
	"OTEL_EXPORTER_OTLP_HEADERS",	       "OTEL_EXPORTER_OTLP_PROFILES_HEADERS",
	"OTEL_EXPORTER_OTLP_TIMEOUT",	       "OTEL_EXPORTER_OTLP_PROFILES_TIMEOUT",
	"OTEL_EXPORTER_OTLP_COMPRESSION",      "OTEL_EXPORTER_OTLP_PROFILES_COMPRESSION",
	"XDG_STATE_HOME",
};

static void test_config_from_env(void **state)
{
	(void)state;
	struct otlp_http_config c;
	char err[512];
	char *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	for (size_t i = 0; i < sizeof(otel_vars) / sizeof(otel_vars[0]); i++)
		unsetenv(otel_vars[i]);

	/* no endpoint at all */
	err[0] = '\0';
	assert_int_equal(otlp_http_config_from_env(&c, NULL, NULL, err, sizeof(err)), -EINVAL);
	assert_contains(err, "OTEL_EXPORTER_OTLP_ENDPOINT");

	/* the base endpoint gets the path, a trailing slash stripped; defaults */
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/", 1);
	setenv("HOME", "/home/someone", 1);
	assert_int_equal(otlp_http_config_from_env(&c, NULL, NULL, err, sizeof(err)), 0);
	assert_string_equal(c.url, "http://collector:4318/v1development/profiles");
	assert_int_equal(c.timeout_ms, 10000);
	assert_false(c.gzip);
	assert_int_equal(c.retry_budget_ms, 30000);
	assert_true(c.spool_max_bytes == 256ull << 20);
	assert_string_equal(c.spool_dir, "/home/someone/.local/state/pmuprof/spool");
	assert_string_equal(c.user_agent, "pmuprof");
	assert_string_equal(c.headers, "");
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318/base", 1);
	assert_int_equal(otlp_http_config_from_env(&c, NULL, NULL, err, sizeof(err)), 0);
	assert_string_equal(c.url, "https://collector:4318/base/v1development/profiles");

	/* XDG_STATE_HOME when absolute; --spool wins */
	setenv("XDG_STATE_HOME", "/var/state", 1);
	assert_int_equal(otlp_http_config_from_env(&c, NULL, NULL, err, sizeof(err)), 0);
	assert_string_equal(c.spool_dir, "/var/state/pmuprof/spool");
	setenv("XDG_STATE_HOME", "relative/state", 1);
	assert_int_equal(otlp_http_config_from_env(&c, NULL, NULL, err, sizeof(err)), 0);
	assert_string_equal(c.spool_dir, "/home/someone/.local/state/pmuprof/spool");
	assert_int_equal(otlp_http_config_from_env(&c, NULL, "/my/spool", err, sizeof(err)), 0);
	assert_string_equal(c.spool_dir, "/my/spool");
	unsetenv("XDG_STATE_HOME");

	/* the profiles endpoint is used verbatim; the flag wins over both */
	setenv("OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT", "http://other:9999/custom/path/", 1);
	assert_int_equal(otlp_http_config_from_env(&c, NULL, NULL, err, sizeof(err)), 0);
	assert_string_equal(c.url, "http://other:9999/custom/path/");
	assert_int_equal(otlp_http_config_from_env(&c, "http://flag:4318", NULL, err, sizeof(err)),
			 0);
	assert_string_equal(c.url, "http://flag:4318/v1development/profiles");
	unsetenv("OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT");

	/* an endpoint without a scheme */
	err[0] = '\0';
	assert_int_equal(otlp_http_config_from_env(&c, "localhost:4318", NULL, err, sizeof(err)),
			 -EINVAL);
	assert_contains(err, "http://");

	/* headers: kept as given (decoded when sent), malformed ones refused */
	setenv("OTEL_EXPORTER_OTLP_HEADERS", "api-key=secret%20value , x-tenant=a%2Cb,", 1);
	assert_int_equal(otlp_http_config_from_env(&c, NULL, NULL, err, sizeof(err)), 0);
	assert_string_equal(c.headers, "api-key=secret%20value , x-tenant=a%2Cb,");
	const char *bad[] = { "novalue", "k=v,=v2", "k=%zz", "k=abc%4", "k=v%0D%0AEvil: 1",
			      "bad key=v" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("OTEL_EXPORTER_OTLP_HEADERS", bad[i], 1);
		err[0] = '\0';
		if (otlp_http_config_from_env(&c, NULL, NULL, err, sizeof(err)) != -EINVAL)
			fail_msg("headers '%s' accepted", bad[i]);
		assert_contains(err, "OTEL_EXPORTER_OTLP_HEADERS");
		assert_contains(err, "malformed");
	}
	unsetenv("OTEL_EXPORTER_OTLP_HEADERS");

	/* timeout in ms */
	setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "2500", 1);
	assert_int_equal(otlp_http_config_from_env(&c, NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(c.timeout_ms, 2500);
	setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "10s", 1);
	assert_int_equal(otlp_http_config_from_env(&c, NULL, NULL, err, sizeof(err)), -EINVAL);
	assert_contains(err, "OTEL_EXPORTER_OTLP_TIMEOUT");
	unsetenv("OTEL_EXPORTER_OTLP_TIMEOUT");

	/* compression; the profiles-specific variable wins */
	setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip", 1);
	assert_int_equal(otlp_http_config_from_env(&c, NULL, NULL, err, sizeof(err)), 0);
	assert_true(c.gzip);
	setenv("OTEL_EXPORTER_OTLP_PROFILES_COMPRESSION", "none", 1);
	assert_int_equal(otlp_http_config_from_env(&c, NULL, NULL, err, sizeof(err)), 0);
	assert_false(c.gzip);
	unsetenv("OTEL_EXPORTER_OTLP_PROFILES_COMPRESSION");
	setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "brotli", 1);
	assert_int_equal(otlp_http_config_from_env(&c, NULL, NULL, err, sizeof(err)), -EINVAL);
	assert_contains(err, "gzip");
	unsetenv("OTEL_EXPORTER_OTLP_COMPRESSION");

	/* no HOME, no XDG_STATE_HOME, no --spool */
	unsetenv("HOME");
	assert_int_equal(otlp_http_config_from_env(&c, NULL, NULL, err, sizeof(err)), -EINVAL);
	assert_contains(err, "--spool");

	unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");
	if (home) {
		setenv("HOME", home, 1);
		free(home);
	}
}

/* --- delivery -------------------------------------------------------------------- */

static void test_export_plain(void **state)
{
	struct fixture *f = *state;
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", f->rcv.port);
	setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=a%2Cb, authorization=Bearer%20tok,x-empty=",
	       1);
	struct otlp_http_config c;
	assert_int_equal(otlp_http_config_from_env(&c, url, f->spool, f->err, sizeof(f->err)), 0);
	unsetenv("OTEL_EXPORTER_OTLP_HEADERS");
	c.log = f->log;
	snprintf(c.user_agent, sizeof(c.user_agent), "pmuprof/9.9-test");
	struct otlp_http *h;
	assert_int_equal(otlp_http_new(&h, &c, f->err, sizeof(f->err)), 0);

	size_t n = 5000;
	uint8_t *body = make_body(n, 1, false);
	struct otlp_export_result res;
	assert_int_equal(otlp_http_export(h, body, n, 0, &res, f->err, sizeof(f->err)), 0);
	assert_int_equal(res.http_status, 200);
	assert_int_equal(res.attempts, 1);
	assert_int_equal(res.bytes_sent, n);
	assert_false(res.spooled);
	assert_false(res.partial);
	assert_int_equal(request_count(&f->rcv), 1);
	assert_body(&f->rcv, 0, body, n);

	char v[256];
	request_header(&f->rcv, 0, ":path", v, sizeof(v));
	assert_string_equal(v, "/v1development/profiles");
	request_header(&f->rcv, 0, "content-type", v, sizeof(v));
	assert_string_equal(v, "application/x-protobuf");
	request_header(&f->rcv, 0, "user-agent", v, sizeof(v));
	assert_string_equal(v, "pmuprof/9.9-test");
	request_header(&f->rcv, 0, "x-tenant", v, sizeof(v));
	assert_string_equal(v, "a,b");
	request_header(&f->rcv, 0, "authorization", v, sizeof(v));
	assert_string_equal(v, "Bearer tok");
	request_header(&f->rcv, 0, "content-encoding", v, sizeof(v));
	assert_string_equal(v, "");

	/* the same handle again (the kept-alive connection), and an empty body */
	assert_int_equal(otlp_http_export(h, body, n, 0, &res, f->err, sizeof(f->err)), 0);
	assert_int_equal(otlp_http_export(h, NULL, 0, 0, &res, f->err, sizeof(f->err)), 0);
	assert_int_equal(request_count(&f->rcv), 3);
	assert_body(&f->rcv, 1, body, n);
	assert_body(&f->rcv, 2, body, 0);
	assert_int_equal(count_files(f->spool, ".otlp"), 0);
	free(body);
	otlp_http_free(h);
}

static void test_export_gzip(void **state)
{
	struct fixture *f = *state;
	f->c.gzip = true;
	struct otlp_http *h;
	assert_int_equal(otlp_http_new(&h, &f->c, f->err, sizeof(f->err)), 0);
	size_t n = 100000;
	uint8_t *body = make_body(n, 2, true);
	struct otlp_export_result res;
	assert_int_equal(otlp_http_export(h, body, n, 0, &res, f->err, sizeof(f->err)), 0);
	assert_body(&f->rcv, 0, body, n);
	char v[64];
	request_header(&f->rcv, 0, "content-encoding", v, sizeof(v));
	assert_string_equal(v, "gzip");
	request_header(&f->rcv, 0, ":raw-length", v, sizeof(v));
	assert_int_equal((size_t)atol(v), res.bytes_sent);
	assert_true(res.bytes_sent < n / 10);
	free(body);
	otlp_http_free(h);
}

static void test_retry_after(void **state)
{
	struct fixture *f = *state;
	struct otlp_http *h;
	assert_int_equal(otlp_http_new(&h, &f->c, f->err, sizeof(f->err)), 0);
	size_t n = 3000;
	uint8_t *body = make_body(n, 3, false);
	struct otlp_export_result res;

	/* 503 with Retry-After: 1 -> the 2nd attempt, a second later */
	script(&f->rcv, "{\"status\": 503, \"count\": 1, \"retry_after\": \"1\"}");
	assert_int_equal(otlp_http_export(h, body, n, 0, &res, f->err, sizeof(f->err)), 0);
	assert_int_equal(res.attempts, 2);
	assert_int_equal(res.http_status, 200);
	assert_true(res.latency_s >= 1.0);
	assert_int_equal(request_count(&f->rcv), 2);
	assert_true(request_time(&f->rcv, 1) - request_time(&f->rcv, 0) >= 0.99);
	assert_body(&f->rcv, 1, body, n);
	assert_contains(logtext(f), "HTTP 503");
	assert_contains(logtext(f), "Retry-After");

	/* Retry-After as an HTTP-date in the past: at once */
	script(&f->rcv, "{\"status\": 429, \"count\": 1, "
			"\"retry_after\": \"Wed, 21 Oct 2015 07:28:00 GMT\"}");
	assert_int_equal(otlp_http_export(h, body, n, 0, &res, f->err, sizeof(f->err)), 0);
	assert_int_equal(res.attempts, 2);
	assert_true(res.latency_s < 0.9);

	/* 502 twice without Retry-After: jittered backoff of at most 0.5 s, then 1 s */
	script(&f->rcv, "{\"status\": 502, \"count\": 2}");
	assert_int_equal(otlp_http_export(h, body, n, 0, &res, f->err, sizeof(f->err)), 0);
	assert_int_equal(res.attempts, 3);
	assert_true(res.latency_s < 1.5 + 0.5);
	assert_int_equal(request_count(&f->rcv), 7);
	assert_int_equal(count_files(f->spool, ".otlp"), 0);
	free(body);
	otlp_http_free(h);
}

static void test_400_not_retried(void **state)
{
	struct fixture *f = *state;
	struct otlp_http *h;
	assert_int_equal(otlp_http_new(&h, &f->c, f->err, sizeof(f->err)), 0);
	uint8_t *body = make_body(100, 4, false);
	struct otlp_export_result res;
	script(&f->rcv, "{\"status\": 400, \"count\": 5, \"body\": \"bad request: no dictionary\"}");
	f->err[0] = '\0';
	assert_int_equal(otlp_http_export(h, body, 100, 0, &res, f->err, sizeof(f->err)), -EPROTO);
	assert_int_equal(res.attempts, 1);
	assert_int_equal(res.http_status, 400);
	assert_false(res.spooled);
	assert_int_equal(request_count(&f->rcv), 1);
	assert_contains(f->err, "400");
	const char *log = logtext(f);
	assert_contains(log, "HTTP 400");
	assert_contains(log, "no dictionary");
	assert_contains(log, "dropped");
	assert_int_equal(count_files(f->spool, ".otlp"), 0);
	free(body);
	otlp_http_free(h);
}

static void test_partial_success(void **state)
{
	struct fixture *f = *state;
	struct otlp_http *h;
	assert_int_equal(otlp_http_new(&h, &f->c, f->err, sizeof(f->err)), 0);
	uint8_t *body = make_body(100, 5, false);
	struct otlp_export_result res;
	script(&f->rcv, "{\"partial\": [3, \"3 profiles too old\"], \"count\": 1}");
	assert_int_equal(otlp_http_export(h, body, 100, 0, &res, f->err, sizeof(f->err)), 0);
	assert_true(res.partial);
	assert_int_equal(res.rejected, 3);
	assert_string_equal(res.message, "3 profiles too old");
	assert_int_equal(res.attempts, 1);
	assert_int_equal(request_count(&f->rcv), 1);
	assert_contains(logtext(f), "partial success");
	assert_contains(logtext(f), "3 profiles rejected: 3 profiles too old");
	free(body);
	otlp_http_free(h);
}

/* --- the spool ----------------------------------------------------------------- */

static void test_down_then_up(void **state)
{
	struct fixture *f = *state;
	int port = f->rcv.port;
	receiver_stop(&f->rcv); /* nothing listens on port now */
	f->c.retry_budget_ms = 300;
	struct otlp_http *h;
	assert_int_equal(otlp_http_new(&h, &f->c, f->err, sizeof(f->err)), 0);
	uint8_t *a = make_body(1000, 10, false), *b = make_body(2000, 11, false),
		*c = make_body(3000, 12, false);
	struct otlp_export_result res;

	assert_int_equal(otlp_http_export(h, a, 1000, 0, &res, f->err, sizeof(f->err)), 1);
	assert_true(res.spooled);
	assert_true(res.attempts >= 1);
	assert_int_equal(res.http_status, 0);
	assert_contains(logtext(f), "spooled");
	size_t files;
	uint64_t bytes;
	otlp_http_spool_usage(h, &files, &bytes);
	assert_int_equal(files, 1);
	assert_int_equal(bytes, 1000);
	assert_int_equal(count_files(f->spool, ".otlp"), 1);

	/* still down: the replay fails, so b joins the spool behind a */
	assert_int_equal(otlp_http_export(h, b, 2000, 0, &res, f->err, sizeof(f->err)), 1);
	otlp_http_spool_usage(h, &files, &bytes);
	assert_int_equal(files, 2);
	assert_int_equal(bytes, 3000);
	struct stat st;
	assert_int_equal(stat(f->spool, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);

	/* up again on the same port: a, b, then c, and the spool is empty */
	assert_int_equal(receiver_start(&f->rcv, port), 0);
	assert_int_equal(f->rcv.port, port);
	assert_int_equal(otlp_http_export(h, c, 3000, 0, &res, f->err, sizeof(f->err)), 0);
	assert_false(res.spooled);
	assert_int_equal(request_count(&f->rcv), 3);
	assert_body(&f->rcv, 0, a, 1000);
	assert_body(&f->rcv, 1, b, 2000);
	assert_body(&f->rcv, 2, c, 3000);
	otlp_http_spool_usage(h, &files, &bytes);
	assert_int_equal(files, 0);
	assert_int_equal(bytes, 0);
	assert_contains(logtext(f), "delivered spooled");
	assert_int_equal(otlp_http_flush_spool(h, f->err, sizeof(f->err)), 0);
	free(a);
	free(b);
	free(c);
	otlp_http_free(h);
}

/* A server that takes the connection and never answers: timeouts are retried, then spooled. */
static void test_timeout_retried(void **state)
{
	struct fixture *f = *state;
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s, 16), 0); /* the kernel completes the handshakes; no accept */
	assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &sl), 0);
	snprintf(f->c.url, sizeof(f->c.url), "http://127.0.0.1:%d/v1development/profiles",
		 ntohs(sa.sin_port));
	f->c.timeout_ms = 200;
	/*
	 * Room for a second attempt even where the first is slow to start (libcurl
	 * loaded and set up under qemu-user took most of a 700 ms budget).
	 */
	f->c.retry_budget_ms = 2000;
	struct otlp_http *h;
	assert_int_equal(otlp_http_new(&h, &f->c, f->err, sizeof(f->err)), 0);
	uint8_t *body = make_body(100, 40, false);
	struct otlp_export_result res;
	assert_int_equal(otlp_http_export(h, body, 100, 0, &res, f->err, sizeof(f->err)), 1);
	assert_true(res.spooled);
	assert_true(res.attempts >= 2);
	assert_contains(logtext(f), "retry 1");
	assert_contains(logtext(f), "imed out");
	assert_int_equal(count_files(f->spool, ".otlp"), 1);
	free(body);
	otlp_http_free(h);
	close(s);
}

static void test_spool_full(void **state)
{
	struct fixture *f = *state;
	receiver_stop(&f->rcv);
	f->c.retry_budget_ms = 100;
	f->c.spool_max_bytes = 1000;
	struct otlp_http *h;
	assert_int_equal(otlp_http_new(&h, &f->c, f->err, sizeof(f->err)), 0);
	uint8_t *body = make_body(600, 20, false);
	struct otlp_export_result res;
	assert_int_equal(otlp_http_export(h, body, 600, 0, &res, f->err, sizeof(f->err)), 1);
	f->err[0] = '\0';
	assert_int_equal(otlp_http_export(h, body, 600, 0, &res, f->err, sizeof(f->err)), -ENOSPC);
	assert_false(res.spooled);
	assert_contains(f->err, f->spool);
	assert_contains(f->err, "limit 1000 bytes");
	assert_contains(f->err, "dropped");
	assert_contains(logtext(f), "full");
	size_t files;
	uint64_t bytes;
	otlp_http_spool_usage(h, &files, &bytes);
	assert_int_equal(files, 1);
	assert_int_equal(bytes, 600);
	free(body);
	otlp_http_free(h);
}

static void test_spooled_rejected(void **state)
{
	struct fixture *f = *state;
	int port = f->rcv.port;
	receiver_stop(&f->rcv);
	f->c.retry_budget_ms = 100;
	struct otlp_http *h;
	assert_int_equal(otlp_http_new(&h, &f->c, f->err, sizeof(f->err)), 0);
	uint8_t *body = make_body(500, 30, false);
	struct otlp_export_result res;
	assert_int_equal(otlp_http_export(h, body, 500, 0, &res, f->err, sizeof(f->err)), 1);

	assert_int_equal(receiver_start(&f->rcv, port), 0);
	script(&f->rcv, "{\"status\": 400, \"count\": 1, \"body\": \"unparseable\"}");
	assert_int_equal(otlp_http_flush_spool(h, f->err, sizeof(f->err)), 0);
	assert_int_equal(request_count(&f->rcv), 1);
	size_t files;
	otlp_http_spool_usage(h, &files, NULL);
	assert_int_equal(files, 0);
	char rej[300];
	snprintf(rej, sizeof(rej), "%s/rejected", f->spool);
	assert_int_equal(count_files(rej, ".otlp"), 1);
	assert_contains(logtext(f), "HTTP 400");
	assert_contains(logtext(f), "moved to");

	/* and it is not tried again */
	assert_int_equal(otlp_http_export(h, body, 500, 0, &res, f->err, sizeof(f->err)), 0);
	assert_int_equal(request_count(&f->rcv), 2);
	free(body);
	otlp_http_free(h);
}

/* --- the export queue (otlp_queue.c) ---------------------------------------------- */

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void wait_requests(const struct receiver *r, int n)
{
	for (int i = 0; i < 200 && request_count(r) < n; i++)
		usleep(25 * 1000);
	assert_int_equal(request_count(r), n);
}

/*
 * A slow endpoint and a queue of one: pushing never waits for it; the body a
 * full queue pushes out goes to the spool, and the endpoint still receives
 * the three in time order (A, then B from the spool, then C).
 */
static void test_queue_overflow_in_order(void **state)
{
	struct fixture *f = *state;
	script(&f->rcv, "{\"delay\": 1.0, \"count\": 1}");
	struct otlp_http *h;
	struct otlp_queue *q;
	assert_int_equal(otlp_http_new(&h, &f->c, f->err, sizeof(f->err)), 0);
	assert_int_equal(otlp_queue_new(&q, h, 1, f->log, f->err, sizeof(f->err)), 0);
	uint8_t *want[3];
	for (int i = 0; i < 3; i++)
		want[i] = make_body(300, 50 + (unsigned)i, false);
	uint8_t *a = malloc(300), *b = malloc(300), *c = malloc(300);
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	memcpy(a, want[0], 300);
	memcpy(b, want[1], 300);
	memcpy(c, want[2], 300);
	double t0 = mono_s();
	assert_int_equal(otlp_queue_push(q, a, 300, 1000, 0), 0);
	wait_requests(&f->rcv, 1); /* A is on the wire, its answer 1 s away */
	assert_int_equal(otlp_queue_push(q, b, 300, 2000, 1), 0);
	assert_int_equal(otlp_queue_push(q, c, 300, 3000, 2), 0); /* B to the spool */
	assert_true(mono_s() - t0 < 0.9);                         /* nobody waited for A */
	assert_int_equal(count_files(f->spool, ".otlp"), 1);
	struct otlp_queue_stats st;
	otlp_queue_close(q, 5.0, &st);
	assert_int_equal(request_count(&f->rcv), 3);
	for (int i = 0; i < 3; i++)
		assert_body(&f->rcv, i, want[i], 300);
	assert_int_equal(st.delivered, 2);
	assert_int_equal(st.spooled, 1);
	assert_int_equal(st.lost, 0);
	assert_int_equal(count_files(f->spool, ".otlp"), 0);
	assert_contains(logtext(f), "export queue is full");
	for (int i = 0; i < 3; i++)
		free(want[i]);
	otlp_http_free(h);
}

/* Closing past its grace ends a transfer that hangs: the body is spooled, not waited for. */
static void test_queue_close_aborts(void **state)
{
	struct fixture *f = *state;
	script(&f->rcv, "{\"delay\": 10, \"count\": 5}");
	f->c.timeout_ms = 20000;
	struct otlp_http *h;
	struct otlp_queue *q;
	assert_int_equal(otlp_http_new(&h, &f->c, f->err, sizeof(f->err)), 0);
	assert_int_equal(otlp_queue_new(&q, h, 4, f->log, f->err, sizeof(f->err)), 0);
	assert_int_equal(otlp_queue_push(q, make_body(200, 60, false), 200, 0, 7), 0);
	wait_requests(&f->rcv, 1);
	double t0 = mono_s();
	struct otlp_queue_stats st;
	otlp_queue_close(q, 0.3, &st);
	double took = mono_s() - t0;
	assert_true(took < 2.0);
	assert_int_equal(st.spooled, 1);
	assert_int_equal(st.lost, 0);
	assert_int_equal(count_files(f->spool, ".otlp"), 1);
	assert_contains(logtext(f), "window 7: spooled");
	otlp_http_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_from_env),
		cmocka_unit_test_setup_teardown(test_export_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_export_gzip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_after, setup, teardown),
		cmocka_unit_test_setup_teardown(test_400_not_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partial_success, setup, teardown),
		cmocka_unit_test_setup_teardown(test_down_then_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spooled_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_overflow_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_close_aborts, setup, teardown),
	};
	/* the test's own control requests use libcurl too */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
