/*
 * otlp_http — delivery of ExportProfilesServiceRequest bodies over OTLP/HTTP.
 *
 * Owns: reading the OTEL_EXPORTER_OTLP_* configuration; one libcurl easy
 * handle per exporter, reused so that the connection stays alive between
 * exports; the retry policy (429/502/503/504 and connection failures only,
 * Retry-After when given, else exponential backoff with full jitter, all
 * within a time budget); decoding the response's partial_success; and the
 * on-disk spool: files written atomically and named by time, so that the
 * name order is the delivery order, bounded in bytes, replayed oldest first
 * before every export, with what the endpoint rejects for good moved to
 * rejected/ instead of being retried forever.
 *
 * The spool holds the request bodies as given (uncompressed): a later run
 * may be configured with or without gzip, and compresses at send time.
 */
#include "base.h"
#include "otlp.h"
#include "base.h"

#include "opentelemetry/proto/collector/profiles/v1development/profiles_service.pb-c.h"

#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

typedef Opentelemetry__Proto__Collector__Profiles__V1development__ExportProfilesServiceResponse
	ExportResponse;
typedef Opentelemetry__Proto__Collector__Profiles__V1development__ExportProfilesPartialSuccess
	PartialSuccess;

#define DEFAULT_TIMEOUT_MS 10000L
#define DEFAULT_BUDGET_MS 30000L
#define DEFAULT_SPOOL_MAX (256ull << 20)
#define BACKOFF_BASE_MS 500L
#define BACKOFF_CAP_MS 10000L
#define RETRY_AFTER_MAX_MS (3600L * 1000) /* a larger Retry-After is surely a typo */
#define RESP_MAX (64 * 1024) /* response bytes kept: a partial_success or an error page */
#define SNIPPET 120          /* response bytes quoted in a log line */
#define SPOOL_SUFFIX ".otlp"

struct otlp_http {
	struct otlp_http_config c;
	CURL *curl;
	struct curl_slist *hdrs;
	uint64_t rng;  /* xorshift64* state for the backoff jitter */
	unsigned seq;  /* spool file sequence within this process */
	char *resp;    /* the last response body, RESP_MAX bytes at most, NUL-terminated */
	size_t resp_len;
	bool resp_trunc;
	long retry_after_ms; /* of the last response, -1: none */
	char curl_err[CURL_ERROR_SIZE];
	atomic_bool aborted; /* otlp_http_abort(): no more waiting, nothing more sent */
	/*
	 * The spool folder, opened once (-1 until it exists) and checked to be
	 * ours: every file in it is reached relative to it, never by path. The
	 * lock serialises the spool between an export thread and a caller
	 * spooling what its queue cannot hold.
	 */
	int spool_fd;
	pthread_mutex_t spool_mu;
};

/* What one POST came to. */
enum outcome {
	DELIVERED, /* 2xx */
	RETRYABLE, /* 429/502/503/504, or the connection failed or timed out */
	REJECTED,  /* any other HTTP status: retrying cannot help */
	BROKEN,    /* retrying cannot help, but the data is fine (TLS, bad URL, redirect) */
};

struct attempt {
	enum outcome o;
	int status;          /* HTTP status, 0 when none */
	long retry_after_ms; /* -1: none */
	char why[256];       /* "HTTP 503" or curl's message */
};

/* --- small helpers ------------------------------------------------------------ */

static double now_s(void)
{
	return (double)base_mono_ns() / 1e9;
}

static void logline(const struct otlp_http *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* One line per event; formatted first so that concurrent writers do not interleave it. */
static void logline(const struct otlp_http *h, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	FILE *f = h->c.log ? h->c.log : stderr;
	fprintf(f, "pmuprof otlp: %s\n", buf);
	fflush(f);
}

/* The first bytes of the last response, printable, for a log line. */
static void snippet(const struct otlp_http *h, char *out, size_t outlen)
{
	size_t n = 0;
	for (size_t i = 0; i < h->resp_len && n + 4 < outlen && i < SNIPPET; i++) {
		unsigned char ch = (unsigned char)h->resp[i];
		out[n++] = ch >= 0x20 && ch < 0x7f ? (char)ch : (ch == '\n' || ch == '\t' ? ' ' : '.');
	}
	if ((h->resp_len > SNIPPET || h->resp_trunc) && n + 4 <= outlen) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
	if (!n)
		snprintf(out, outlen, "(empty body)");
}

static uint64_t next_rand(struct otlp_http *h)
{
	uint64_t x = h->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	h->rng = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* Full jitter: uniform in [0, min(cap, base * 2^(retry-1))] (retry counts from 1). */
static long backoff_ms(struct otlp_http *h, int retry)
{
	long ceil = BACKOFF_BASE_MS;
	for (int i = 1; i < retry && ceil < BACKOFF_CAP_MS; i++)
		ceil *= 2;
	if (ceil > BACKOFF_CAP_MS)
		ceil = BACKOFF_CAP_MS;
	return (long)(next_rand(h) % (uint64_t)(ceil + 1));
}

/*
 * Sleeps ms; -EINTR when a signal or otlp_http_abort() cut it short, so that
 * SIGTERM is not held up by a 10 s backoff (the body goes to the spool
 * instead). Slices of 50 ms at most: the abort is seen promptly.
 */
static int sleep_ms(struct otlp_http *h, long ms)
{
	while (ms > 0) {
		if (atomic_load(&h->aborted))
			return -EINTR;
		long step = ms < 50 ? ms : 50;
		struct timespec ts = { .tv_sec = 0, .tv_nsec = step * 1000000L };
		if (nanosleep(&ts, NULL))
			return -errno;
		ms -= step;
	}
	return atomic_load(&h->aborted) ? -EINTR : 0;
}

static int gzip_bytes(const uint8_t *in, size_t len, uint8_t **out, size_t *outlen)
{
	z_stream z = { 0 };
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	uLong cap = deflateBound(&z, (uLong)len);
	uint8_t *buf = malloc(cap);
	if (!buf) {
		deflateEnd(&z);
		return -ENOMEM;
	}
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	z.next_out = buf;
	z.avail_out = (uInt)cap;
	int rc = deflate(&z, Z_FINISH);
	*outlen = z.total_out;
	deflateEnd(&z);
	if (rc != Z_STREAM_END) {
		free(buf);
		return -EIO;
	}
	*out = buf;
	return 0;
}

/* --- configuration ------------------------------------------------------------ */

/* The signal-specific variable (OTEL_EXPORTER_OTLP_PROFILES_x) wins over the generic one. */
static const char *env_otlp(const char *suffix, char *name, size_t namelen)
{
	snprintf(name, namelen, "OTEL_EXPORTER_OTLP_PROFILES_%s", suffix);
	const char *v = getenv(name);
	if (v && *v)
		return v;
	snprintf(name, namelen, "OTEL_EXPORTER_OTLP_%s", suffix);
	v = getenv(name);
	return v && *v ? v : NULL;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* s[0..n) trimmed and percent-decoded into out; -EINVAL on a bad escape or a control byte. */
static int pct_decode(const char *s, size_t n, char *out, size_t outlen)
{
	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int ch = (unsigned char)s[i];
		if (ch == '%') {
			if (i + 2 >= n)
				return -EINVAL;
			int a = hexval((unsigned char)s[i + 1]), b = hexval((unsigned char)s[i + 2]);
			if (a < 0 || b < 0)
				return -EINVAL;
			ch = a * 16 + b;
			i += 2;
		}
		/* a decoded CR or LF would smuggle another header into the request */
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return -EINVAL;
		if (o + 1 >= outlen)
			return -EINVAL;
		out[o++] = (char)ch;
	}
	out[o] = '\0';
	return 0;
}

/* RFC 9110 token characters, what a header name may hold. */
static bool is_token(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s))
			return false;
	return true;
}

typedef int (*header_fn)(void *ctx, const char *name, const char *value);

/*
 * Walks an OTEL_EXPORTER_OTLP_HEADERS list ("k=v,k2=v2", W3C Baggage-like:
 * items and their parts trimmed, percent-decoded; empty items skipped) and
 * calls fn for each; -EINVAL with a message naming the bad item.
 */
static int parse_headers(const char *list, const char *var, header_fn fn, void *ctx, char *err,
			 size_t errlen)
{
	const char *p = list;
	while (*p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', n);
		char name[256], value[2048];
		bool blank = true;
		for (size_t i = 0; i < n; i++)
			if (p[i] != ' ' && p[i] != '\t')
				blank = false;
		if (!blank) {
			if (!eq || pct_decode(p, (size_t)(eq - p), name, sizeof(name)) ||
			    !is_token(name) ||
			    pct_decode(eq + 1, n - (size_t)(eq + 1 - p), value, sizeof(value))) {
				return base_fail(err, errlen, -EINVAL,
						 "%s: malformed entry '%.*s' (expected key=value, "
						 "percent-encoded, comma-separated)",
						 var, (int)(n > 80 ? 80 : n), p);
			}
			if (fn) {
				int rc = fn(ctx, name, value);
				if (rc)
					return rc;
			}
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

static bool has_http_scheme(const char *u)
{
	return !strncasecmp(u, "http://", 7) || !strncasecmp(u, "https://", 8);
}

int otlp_http_config_from_env(struct otlp_http_config *c, const char *endpoint_flag,
			      const char *spool_flag, char *err, size_t errlen)
{
	char var[64];
	memset(c, 0, sizeof(*c));
	c->timeout_ms = DEFAULT_TIMEOUT_MS;
	c->retry_budget_ms = DEFAULT_BUDGET_MS;
	c->spool_max_bytes = DEFAULT_SPOOL_MAX;
	snprintf(c->user_agent, sizeof(c->user_agent), "pmuprof");

	/* The command line wins; then the profiles-specific URL, verbatim; then the base URL. */
	const char *base = NULL, *src = NULL;
	const char *full = getenv("OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT");
	if (endpoint_flag && *endpoint_flag) {
		base = endpoint_flag;
		src = "--otlp-endpoint";
	} else if (full && *full) {
		src = "OTEL_EXPORTER_OTLP_PROFILES_ENDPOINT";
	} else {
		base = getenv("OTEL_EXPORTER_OTLP_ENDPOINT");
		src = "OTEL_EXPORTER_OTLP_ENDPOINT";
		if (!base || !*base) {
			return base_fail(
				err, errlen, -EINVAL,
				"no OTLP endpoint: pass --otlp-endpoint URL or set "
				"OTEL_EXPORTER_OTLP_ENDPOINT (e.g. http://localhost:4318)");
		}
	}
	const char *u = base ? base : full;
	if (!has_http_scheme(u)) {
		return base_fail(err, errlen, -EINVAL,
				 "%s '%s' must start with http:// or https:// (OTLP/HTTP, e.g. "
				 "http://localhost:4318)",
				 src, u);
	}
	int n;
	if (base) {
		size_t len = strlen(base);
		while (len && base[len - 1] == '/')
			len--;
		n = snprintf(c->url, sizeof(c->url), "%.*s/v1development/profiles", (int)len, base);
	} else {
		n = snprintf(c->url, sizeof(c->url), "%s", full);
	}
	if (n < 0 || (size_t)n >= sizeof(c->url)) {
		return base_fail(err, errlen, -EINVAL, "%s is too long (at most %zu bytes)", src,
				 sizeof(c->url) - 1);
	}

	const char *v = env_otlp("HEADERS", var, sizeof(var));
	if (v) {
		if (strlen(v) >= sizeof(c->headers)) {
			return base_fail(err, errlen, -EINVAL, "%s is too long (at most %zu bytes)",
					 var, sizeof(c->headers) - 1);
		}
		int rc = parse_headers(v, var, NULL, NULL, err, errlen);
		if (rc)
			return rc;
		snprintf(c->headers, sizeof(c->headers), "%s", v);
	}

	v = env_otlp("TIMEOUT", var, sizeof(var));
	if (v) {
		char *end;
		errno = 0;
		long t = strtol(v, &end, 10);
		if (errno || end == v || *end || t <= 0) {
			return base_fail(err, errlen, -EINVAL,
					 "%s='%s' is not a positive number of milliseconds", var,
					 v);
		}
		c->timeout_ms = t;
	}

	v = env_otlp("COMPRESSION", var, sizeof(var));
	if (v) {
		if (!strcasecmp(v, "gzip")) {
			c->gzip = true;
		} else if (strcasecmp(v, "none")) {
			return base_fail(err, errlen, -EINVAL, "%s='%s': expected gzip or none",
					 var, v);
		}
	}

	/* XDG: a relative XDG_STATE_HOME is invalid and ignored. */
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	if (spool_flag && *spool_flag)
		n = snprintf(c->spool_dir, sizeof(c->spool_dir), "%s", spool_flag);
	else if (xdg && xdg[0] == '/')
		n = snprintf(c->spool_dir, sizeof(c->spool_dir), "%s/pmuprof/spool", xdg);
	else if (home && home[0] == '/')
		n = snprintf(c->spool_dir, sizeof(c->spool_dir), "%s/.local/state/pmuprof/spool",
			     home);
	else {
		return base_fail(
			err, errlen, -EINVAL,
			"no directory for the OTLP spool: neither XDG_STATE_HOME nor HOME is "
			"set; pass --spool DIR");
	}
	if (n < 0 || (size_t)n >= sizeof(c->spool_dir)) {
		return base_fail(err, errlen, -EINVAL,
				 "the spool directory's path is too long (at most %zu bytes)",
				 sizeof(c->spool_dir) - 1);
	}
	return 0;
}

static int spool_open(struct otlp_http *h, bool create, char *err, size_t errlen);

/* --- the HTTP handle ---------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct otlp_http *h = ud;
	size_t n = size * nmemb, room = RESP_MAX - h->resp_len;
	if (n > room)
		h->resp_trunc = true;
	size_t take = n < room ? n : room;
	memcpy(h->resp + h->resp_len, data, take);
	h->resp_len += take;
	h->resp[h->resp_len] = '\0';
	return n; /* the rest is read and dropped, so that the connection stays usable */
}

/*
 * libcurl is loaded when the first exporter is made, not linked: its ~30
 * libraries (TLS, Kerberos, LDAP, SSH, ...) were most of the dynamic
 * loader's work at every start of every command (7 M of 10 M cycles),
 * though only OTLP delivery needs it. Then its process-wide initialisation,
 * its one documented global: it must run before any other libcurl call and
 * before threads race to it (curl_easy_init would do it lazily, but not
 * thread-safely in older releases). Both happen once, under curl_once; the
 * table is only read after. Neither is undone: other libcurl users in the
 * process may still need the library, and unloading TLS libraries is unsafe.
 */
#define LIBCURL_SONAME "libcurl.so.4"

static struct {
	CURLcode (*global_init)(long flags);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
	CURLcode (*easy_perform)(CURL *curl);
	CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
	void (*easy_cleanup)(CURL *curl);
	const char *(*easy_strerror)(CURLcode code);
	struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
	void (*slist_free_all)(struct curl_slist *list);
	time_t (*getdate)(const char *date, const time_t *unused);
} lc;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;
static char curl_load_err[256]; /* why libcurl could not be loaded; "" when it was */

/* dlsym into a function pointer: POSIX guarantees the conversion works. */
static bool curl_sym(void *lib, const char *name, void *fnp)
{
	void *f = dlsym(lib, name);
	if (!f)
		snprintf(curl_load_err, sizeof(curl_load_err), "%s has no %s", LIBCURL_SONAME, name);
	memcpy(fnp, &f, sizeof(f));
	return f != NULL;
}

static void curl_init_once(void)
{
	void *lib = dlopen(LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		snprintf(curl_load_err, sizeof(curl_load_err), "%s", dlerror());
		return;
	}
	if (curl_sym(lib, "curl_global_init", &lc.global_init) &&
	    curl_sym(lib, "curl_easy_init", &lc.easy_init) &&
	    curl_sym(lib, "curl_easy_setopt", &lc.easy_setopt) &&
	    curl_sym(lib, "curl_easy_perform", &lc.easy_perform) &&
	    curl_sym(lib, "curl_easy_getinfo", &lc.easy_getinfo) &&
	    curl_sym(lib, "curl_easy_cleanup", &lc.easy_cleanup) &&
	    curl_sym(lib, "curl_easy_strerror", &lc.easy_strerror) &&
	    curl_sym(lib, "curl_slist_append", &lc.slist_append) &&
	    curl_sym(lib, "curl_slist_free_all", &lc.slist_free_all) &&
	    curl_sym(lib, "curl_getdate", &lc.getdate))
		curl_init_rc = lc.global_init(CURL_GLOBAL_DEFAULT);
}

/* Retry-After: delay-seconds or an HTTP-date (RFC 9110 10.2.3). */
static long parse_retry_after(const char *v)
{
	if (!*v)
		return -1;
	bool digits = true;
	for (const char *p = v; *p; p++)
		if (!isdigit((unsigned char)*p))
			digits = false;
	long long ms;
	if (digits) {
		if (strlen(v) > 9)
			return RETRY_AFTER_MAX_MS;
		ms = atoll(v) * 1000;
	} else {
		time_t t = lc.getdate(v, NULL);
		if (t == -1)
			return -1;
		ms = ((long long)t - (long long)time(NULL)) * 1000;
		if (ms < 0)
			ms = 0;
	}
	return ms > RETRY_AFTER_MAX_MS ? RETRY_AFTER_MAX_MS : (long)ms;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
	struct otlp_http *h = ud;
	size_t n = size * nmemb;
	static const char ra[] = "Retry-After:";
	if (n >= 5 && !memcmp(data, "HTTP/", 5)) {
		/* a new response (after a 100 Continue, say): forget the previous one's */
		h->retry_after_ms = -1;
		h->resp_len = 0;
		h->resp_trunc = false;
		h->resp[0] = '\0';
	} else if (n > sizeof(ra) - 1 && !strncasecmp(data, ra, sizeof(ra) - 1)) {
		char v[128];
		const char *p = data + sizeof(ra) - 1, *e = data + n;
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		while (e > p && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\t'))
			e--;
		size_t len = (size_t)(e - p) < sizeof(v) - 1 ? (size_t)(e - p) : sizeof(v) - 1;
		memcpy(v, p, len);
		v[len] = '\0';
		h->retry_after_ms = parse_retry_after(v);
	}
	return n;
}

/* Ends the transfer under way once otlp_http_abort() was called. */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	const struct otlp_http *h = ud;
	return atomic_load(&h->aborted) ? 1 : 0;
}

static int add_header(void *ctx, const char *name, const char *value)
{
	struct otlp_http *h = ctx;
	char line[2400];
	/* curl drops a "Name:" without a value; "Name;" sends it empty */
	if (*value)
		snprintf(line, sizeof(line), "%s: %s", name, value);
	else
		snprintf(line, sizeof(line), "%s;", name);
	struct curl_slist *l = lc.slist_append(h->hdrs, line);
	if (!l)
		return -ENOMEM;
	h->hdrs = l;
	return 0;
}

int otlp_http_new(struct otlp_http **out, const struct otlp_http_config *c, char *err,
		  size_t errlen)
{
	*out = NULL;
	if (!c->url[0] || !has_http_scheme(c->url)) {
		return base_fail(err, errlen, -EINVAL,
				 "OTLP endpoint '%s' is not an http:// or https:// URL", c->url);
	}
	if (!c->spool_dir[0]) {
		return base_fail(err, errlen, -EINVAL,
				 "no OTLP spool directory configured; pass --spool DIR");
	}
	pthread_once(&curl_once, curl_init_once);
	if (curl_load_err[0]) {
		return base_fail(err, errlen, -ENOENT,
				 "cannot load libcurl for OTLP/HTTP delivery (%s); install "
				 "Debian's libcurl4 package",
				 curl_load_err);
	}
	if (curl_init_rc != CURLE_OK) {
		return base_fail(err, errlen, -EIO, "libcurl failed to initialise: %s",
				 lc.easy_strerror(curl_init_rc));
	}
	struct otlp_http *h = calloc(1, sizeof(*h));
	if (!h)
		goto nomem;
	h->spool_fd = -1;
	atomic_init(&h->aborted, false);
	pthread_mutex_init(&h->spool_mu, NULL);
	h->c = *c;
	if (h->c.timeout_ms <= 0)
		h->c.timeout_ms = DEFAULT_TIMEOUT_MS;
	if (h->c.retry_budget_ms < 0)
		h->c.retry_budget_ms = 0;
	if (!h->c.user_agent[0])
		snprintf(h->c.user_agent, sizeof(h->c.user_agent), "pmuprof");
	h->retry_after_ms = -1;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	h->rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40) ^
		 (uint64_t)(uintptr_t)h;
	if (!h->rng)
		h->rng = 0x9e3779b97f4a7c15ull;
	h->resp = malloc(RESP_MAX + 1);
	h->curl = lc.easy_init();
	if (!h->resp || !h->curl)
		goto nomem;

	/* "Expect:" stops curl from waiting for a 100 Continue before large bodies */
	const char *fixed[] = { "Content-Type: application/x-protobuf", "Expect:",
				h->c.gzip ? "Content-Encoding: gzip" : NULL };
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		if (!fixed[i])
			continue;
		struct curl_slist *l = lc.slist_append(h->hdrs, fixed[i]);
		if (!l)
			goto nomem;
		h->hdrs = l;
	}
	int rc = parse_headers(h->c.headers, "OTEL_EXPORTER_OTLP_HEADERS", add_header, h, err,
			       errlen);
	if (rc) {
		if (rc == -ENOMEM)
			goto nomem;
		otlp_http_free(h);
		return rc;
	}

	CURL *e = h->curl;
	CURLcode cc = CURLE_OK;
#define SETOPT(opt, val)                                       \
	do {                                                   \
		if (cc == CURLE_OK)                            \
			cc = lc.easy_setopt(e, opt, val);    \
	} while (0)
	SETOPT(CURLOPT_URL, h->c.url);
	SETOPT(CURLOPT_POST, 1L);
	SETOPT(CURLOPT_HTTPHEADER, h->hdrs);
	SETOPT(CURLOPT_USERAGENT, h->c.user_agent);
	SETOPT(CURLOPT_TIMEOUT_MS, h->c.timeout_ms);
	/* libcurl must not use signals (SIGALRM for DNS timeouts) in a threaded program */
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(CURLOPT_WRITEFUNCTION, on_body);
	SETOPT(CURLOPT_WRITEDATA, h);
	SETOPT(CURLOPT_HEADERFUNCTION, on_header);
	SETOPT(CURLOPT_HEADERDATA, h);
	SETOPT(CURLOPT_ERRORBUFFER, h->curl_err);
	SETOPT(CURLOPT_XFERINFOFUNCTION, on_progress);
	SETOPT(CURLOPT_XFERINFODATA, h);
	SETOPT(CURLOPT_NOPROGRESS, 0L);
#undef SETOPT
	if (cc != CURLE_OK) {
		base_fail(err, errlen, 0, "libcurl rejected an option for %s: %s", h->c.url,
			  lc.easy_strerror(cc));
		otlp_http_free(h);
		return -EINVAL;
	}
	/* A spool folder that exists is checked now: refused before any profiling starts. */
	rc = spool_open(h, false, err, errlen);
	if (rc < 0 && rc != -ENOENT) {
		otlp_http_free(h);
		return rc;
	}
	*out = h;
	return 0;
nomem:
	otlp_http_free(h);
	return base_fail(err, errlen, -ENOMEM, "out of memory setting up the OTLP exporter");
}

void otlp_http_free(struct otlp_http *h)
{
	if (!h)
		return;
	if (h->curl)
		lc.easy_cleanup(h->curl);
	if (h->hdrs)
		lc.slist_free_all(h->hdrs);
	if (h->spool_fd >= 0)
		close(h->spool_fd);
	pthread_mutex_destroy(&h->spool_mu);
	free(h->resp);
	free(h);
}

void otlp_http_abort(struct otlp_http *h)
{
	atomic_store(&h->aborted, true);
}

static bool retryable_curl(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		return true;
	default:
		return false;
	}
}

/* One POST of wire (already compressed when configured). */
static void post_once(struct otlp_http *h, const uint8_t *wire, size_t len, struct attempt *a)
{
	memset(a, 0, sizeof(*a));
	h->resp_len = 0;
	h->resp_trunc = false;
	h->resp[0] = '\0';
	h->retry_after_ms = -1;
	h->curl_err[0] = '\0';
	a->retry_after_ms = -1;
	if (atomic_load(&h->aborted)) {
		a->o = RETRYABLE;
		snprintf(a->why, sizeof(a->why), "not sent: the exporter is stopping");
		return;
	}
	lc.easy_setopt(h->curl, CURLOPT_POSTFIELDS, len ? (const char *)wire : "");
	lc.easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	CURLcode cc = lc.easy_perform(h->curl);
	if (cc != CURLE_OK) {
		a->o = retryable_curl(cc) || cc == CURLE_ABORTED_BY_CALLBACK ? RETRYABLE : BROKEN;
		snprintf(a->why, sizeof(a->why), "%s",
			 h->curl_err[0] ? h->curl_err : lc.easy_strerror(cc));
		return;
	}
	long status = 0;
	lc.easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
	a->status = (int)status;
	a->retry_after_ms = h->retry_after_ms;
	snprintf(a->why, sizeof(a->why), "HTTP %ld", status);
	if (status >= 200 && status < 300)
		a->o = DELIVERED;
	else if (status == 429 || status == 502 || status == 503 || status == 504)
		a->o = RETRYABLE;
	else if (status >= 300 && status < 400) {
		/* not followed (a POST must not wander off with its headers); the data is fine */
		a->o = BROKEN;
		snprintf(a->why, sizeof(a->why),
			 "HTTP %ld redirect, not followed: configure the endpoint it points to",
			 status);
	} else
		a->o = REJECTED;
}

int otlp_decode_response(const uint8_t *body, size_t len, int64_t *rejected, char *msg,
			 size_t msglen)
{
	*rejected = 0;
	if (msglen)
		msg[0] = '\0';
	ExportResponse *r =
		opentelemetry__proto__collector__profiles__v1development__export_profiles_service_response__unpack(
			NULL, len, body);
	if (!r)
		return -EINVAL;
	PartialSuccess *ps = r->partial_success;
	int partial = ps && (ps->rejected_profiles || (ps->error_message && *ps->error_message));
	if (partial) {
		*rejected = ps->rejected_profiles;
		/* the collector's text, escaped: no control byte of it reaches a log or terminal */
		if (ps->error_message)
			base_escape(ps->error_message, strlen(ps->error_message), msg, msglen);
	}
	opentelemetry__proto__collector__profiles__v1development__export_profiles_service_response__free_unpacked(
		r, NULL);
	return partial;
}

/*
 * After a 2xx: partial_success, when the response carries a non-empty one
 * (rejected_profiles > 0, or a warning in error_message), is logged and
 * reported. what names the body for the log ("the export", a spool file).
 */
static void check_partial(struct otlp_http *h, const char *what, struct otlp_export_result *res)
{
	if (!h->resp_len)
		return; /* an empty body is an empty, fully successful response */
	int64_t rejected;
	char msg[sizeof(res->message)];
	int partial = h->resp_trunc ? -EINVAL
				    : otlp_decode_response((const uint8_t *)h->resp, h->resp_len,
							   &rejected, msg, sizeof(msg));
	if (partial < 0) {
		char snip[SNIPPET + 8];
		snippet(h, snip, sizeof(snip));
		logline(h, "%s: HTTP 200 from %s with a body that is not an "
			   "ExportProfilesServiceResponse (%zu bytes: %s); taken as delivered",
			what, h->c.url, h->resp_len, snip);
		return;
	}
	if (partial) {
		logline(h, "%s: partial success from %s: %" PRId64 " profiles rejected%s%s "
			   "(not retried)",
			what, h->c.url, rejected, *msg ? ": " : "", msg);
		if (res) {
			res->partial = true;
			res->rejected = rejected;
			snprintf(res->message, sizeof(res->message), "%s", msg);
		}
	}
}

/* --- the spool ---------------------------------------------------------------- */

/*
 * The spool folder, opened once: created (0700, with its parents) when
 * create, then refused unless it is ours (or root's) and nobody else may
 * write it, since every file in it is read and sent with this user's
 * credentials. 0; -ENOENT when absent and !create; else -errno with err.
 * Called with spool_mu held, or before any other thread has h.
 */
static int spool_open(struct otlp_http *h, bool create, char *err, size_t errlen)
{
	struct stat st;
	if (h->spool_fd >= 0 && !fstat(h->spool_fd, &st) && st.st_nlink > 0)
		return 0;
	if (h->spool_fd >= 0) { /* removed under us: made again, or whatever now has its name */
		close(h->spool_fd);
		h->spool_fd = -1;
	}
	if (create) {
		int rc = base_mkdir_p(h->c.spool_dir);
		if (rc) {
			return base_fail(err, errlen, rc,
					 "cannot create the OTLP spool folder %s: %s",
					 h->c.spool_dir, strerror(-rc));
		}
	}
	int fd = base_open_private_dir(h->c.spool_dir, "OTLP spool folder", err, errlen);
	if (fd < 0)
		return fd;
	h->spool_fd = fd;
	return 0;
}

static bool spool_name(const char *n)
{
	size_t len = strlen(n), sl = sizeof(SPOOL_SUFFIX) - 1;
	return n[0] != '.' && len > sl && !strcmp(n + len - sl, SPOOL_SUFFIX);
}

/*
 * What pmuprof itself spooled: a regular file of this user with one link.
 * Anything else under a spool name (a symbolic link, a FIFO, a hard link to
 * another file, another user's file) was planted: never read. The reason, or NULL.
 */
static const char *not_ours(const struct stat *st)
{
	if (S_ISLNK(st->st_mode))
		return "a symbolic link";
	if (!S_ISREG(st->st_mode))
		return "not a regular file";
	if (st->st_uid != geteuid())
		return "another user's file";
	if (st->st_nlink != 1)
		return "a hard link";
	return NULL;
}

struct spool_list {
	char **names; /* sorted: oldest first */
	size_t n;
	uint64_t bytes;
	size_t planted;      /* entries under a spool name that pmuprof did not write */
	char planted_1[256]; /* the first of them and why, for the log */
};

static void spool_list_free(struct spool_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	memset(l, 0, sizeof(*l));
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The spooled files (names only when want_names); a missing folder is an
 * empty spool. Entries are looked at, never followed (AT_SYMLINK_NOFOLLOW).
 * Called with spool_mu held.
 */
static int spool_scan(struct otlp_http *h, bool want_names, struct spool_list *l)
{
	memset(l, 0, sizeof(*l));
	int rc = spool_open(h, false, NULL, 0);
	if (rc)
		return rc == -ENOENT ? 0 : rc;
	/* a fresh open file description: readdir's offset is not shared with spool_fd */
	int fd = openat(h->spool_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		return rc;
	}
	size_t cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		struct stat st;
		if (!spool_name(de->d_name) ||
		    fstatat(h->spool_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW))
			continue;
		const char *why = not_ours(&st);
		if (why) {
			if (!l->planted++)
				snprintf(l->planted_1, sizeof(l->planted_1), "%.200s: %s", de->d_name,
					 why);
			continue;
		}
		l->bytes += (uint64_t)st.st_size;
		if (!want_names) {
			l->n++;
			continue;
		}
		if ((rc = BASE_GROW(l->names, cap, l->n + 1)) < 0)
			break;
		if (!(l->names[l->n] = strdup(de->d_name))) {
			rc = -ENOMEM;
			break;
		}
		l->n++;
	}
	closedir(d);
	if (rc) {
		spool_list_free(l);
		return rc;
	}
	if (l->n > 1 && want_names)
		qsort(l->names, l->n, sizeof(*l->names), cmp_names);
	return 0;
}

void otlp_http_spool_usage(struct otlp_http *h, size_t *files, uint64_t *bytes)
{
	struct spool_list l;
	size_t f = 0;
	uint64_t b = 0;
	pthread_mutex_lock(&h->spool_mu);
	if (!spool_scan(h, false, &l)) {
		f = l.n;
		b = l.bytes;
	}
	pthread_mutex_unlock(&h->spool_mu);
	if (files)
		*files = f;
	if (bytes)
		*bytes = b;
}

/*
 * Writes body into the spool: temporary name, fsync, rename to a name that
 * sorts by the profile's time ("<time_ns>-<pid>-<seq>.otlp"; 0: now), so
 * that the spool replays in profile order however late a body reached it.
 * 1, or -ENOSPC when the spool would exceed its bound (nothing written), or
 * -errno.
 */
static int spool_write(struct otlp_http *h, const uint8_t *body, size_t len, int64_t time_ns,
		       const char *why, struct otlp_export_result *res, char *err, size_t errlen)
{
	const char *dir = h->c.spool_dir;
	char werr[512];
	pthread_mutex_lock(&h->spool_mu);
	int rc = spool_open(h, true, werr, sizeof(werr));
	if (rc) {
		pthread_mutex_unlock(&h->spool_mu);
		base_fail(err, errlen, 0,
			  "OTLP export not delivered (%s) and %s; %zu bytes dropped", why, werr,
			  len);
		logline(h, "not delivered (%s) and %s; %zu bytes dropped", why, werr, len);
		return rc;
	}
	struct spool_list l;
	rc = spool_scan(h, false, &l);
	if (rc) {
		pthread_mutex_unlock(&h->spool_mu);
		base_fail(err, errlen, 0, "cannot read the OTLP spool %s: %s; %zu bytes dropped",
			  dir, strerror(-rc), len);
		logline(h, "cannot read the spool %s: %s; %zu bytes dropped", dir, strerror(-rc),
			len);
		return rc;
	}
	if (l.bytes + len > h->c.spool_max_bytes) {
		pthread_mutex_unlock(&h->spool_mu);
		base_fail(err, errlen, 0,
			  "OTLP export not delivered (%s) and the spool %s is full (%" PRIu64
			  " bytes in %zu files + %zu > limit %" PRIu64
			  " bytes): this profile is dropped; bring the endpoint back or raise "
			  "the spool limit",
			  why, dir, l.bytes, l.n, len, h->c.spool_max_bytes);
		logline(h, "not delivered (%s) and the spool %s is full (%" PRIu64 " + %zu bytes > "
			   "limit %" PRIu64 "): %zu bytes dropped",
			why, dir, l.bytes, len, h->c.spool_max_bytes, len);
		return -ENOSPC;
	}

	unsigned long long ns = (unsigned long long)time_ns;
	if (time_ns <= 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ns = (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
	}
	char name[96];
	snprintf(name, sizeof(name), "%020llu-%d-%06u" SPOOL_SUFFIX, ns, (int)getpid(), h->seq++);
	/* The temporary ("NAME.otlp.tmp.PID") does not end in .otlp: scans never see it. */
	struct base_bytes f = {body, len};
	rc = base_write_atomic_at(h->spool_fd, name, 0600, base_fill_bytes, &f, "spool file", werr,
				  sizeof(werr));
	pthread_mutex_unlock(&h->spool_mu);
	if (rc) {
		base_fail(err, errlen, 0,
			  "OTLP export not delivered (%s) and writing it to the spool %s failed: "
			  "%s; %zu bytes dropped",
			  why, dir, strerror(-rc), len);
		logline(h, "not delivered (%s); spooling to %s failed: %s; %zu bytes dropped", why,
			dir, strerror(-rc), len);
		return rc;
	}
	logline(h, "not delivered (%s); spooled %zu bytes as %s/%s (spool: %zu files, %" PRIu64
		   " bytes)",
		why, len, dir, name, l.n + 1, l.bytes + len);
	if (res) {
		res->spooled = true;
		snprintf(res->message, sizeof(res->message), "%s; spooled", why);
	}
	return 1;
}

int otlp_http_spool(struct otlp_http *h, const uint8_t *body, size_t len, int64_t time_ns,
		    const char *why, char *err, size_t errlen)
{
	return spool_write(h, body, len, time_ns, why, NULL, err, errlen);
}

/* A spooled file, opened without following a link and checked again once open. */
static int read_spooled(int dirfd, const char *name, uint8_t **out, size_t *len)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	struct stat st;
	int rc = fstat(fd, &st) ? -errno : not_ours(&st) ? -EPERM : 0;
	if (rc) {
		close(fd);
		return rc;
	}
	size_t n = (size_t)st.st_size, got = 0;
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = r < 0 ? -errno : -EIO;
			free(buf);
			close(fd);
			return rc;
		}
		got += (size_t)r;
	}
	close(fd);
	*out = buf;
	*len = n;
	return 0;
}

/* Body as it goes on the wire: gzipped when configured (*owned then to be freed). */
static int wire_body(struct otlp_http *h, const uint8_t *body, size_t len, const uint8_t **wire,
		     size_t *wlen, uint8_t **owned)
{
	*owned = NULL;
	if (!h->c.gzip) {
		*wire = body;
		*wlen = len;
		return 0;
	}
	int rc = gzip_bytes(body, len, owned, wlen);
	*wire = *owned;
	return rc;
}

/*
 * Moves a spooled file the endpoint rejected for good into rejected/,
 * made 0700 in the spool and opened without following a link: a planted
 * rejected/ link must not make this user move files anywhere else.
 */
static int reject_spooled(struct otlp_http *h, const char *name, char *err, size_t errlen)
{
	pthread_mutex_lock(&h->spool_mu);
	int rc = 0, rfd = -1;
	if (mkdirat(h->spool_fd, "rejected", 0700) && errno != EEXIST)
		rc = -errno;
	if (!rc && (rfd = openat(h->spool_fd, "rejected",
				 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		rc = errno == ELOOP || errno == ENOTDIR ? -ENOTDIR : -errno;
	if (rc)
		base_fail(err, errlen, 0, "%s",
			  rc == -ENOTDIR ? "rejected is not a folder (a "
					   "symbolic link?): not followed"
					 : strerror(-rc));
	if (!rc) {
		char path[sizeof(h->c.spool_dir) + 16];
		snprintf(path, sizeof(path), "%s/rejected", h->c.spool_dir);
		rc = base_check_private_dir(rfd, path, "folder", err, errlen);
	}
	if (!rc && renameat(h->spool_fd, name, rfd, name)) {
		rc = -errno;
		base_fail(err, errlen, 0, "%s", strerror(-rc));
	}
	if (rfd >= 0)
		close(rfd);
	pthread_mutex_unlock(&h->spool_mu);
	return rc;
}

/*
 * Delivers the spool oldest first, one attempt per file. Stops at the first
 * file the endpoint does not take for a reason that may pass (*blocked set,
 * the reason in why); files it rejects for good go to rejected/. Returns
 * the number delivered, or -errno when the spool cannot be read.
 */
static int replay(struct otlp_http *h, bool *blocked, char *why, size_t whylen)
{
	*blocked = false;
	struct spool_list l;
	pthread_mutex_lock(&h->spool_mu);
	int rc = spool_scan(h, true, &l);
	pthread_mutex_unlock(&h->spool_mu);
	if (rc) {
		snprintf(why, whylen, "cannot read the spool %s: %s", h->c.spool_dir, strerror(-rc));
		logline(h, "%s", why);
		return rc;
	}
	if (l.planted)
		logline(h, "spool %s: %zu entr%s pmuprof did not write (%s): skipped, never "
			   "followed or sent; remove %s",
			h->c.spool_dir, l.planted, l.planted == 1 ? "y" : "ies", l.planted_1,
			l.planted == 1 ? "it" : "them");
	int delivered = 0;
	for (size_t i = 0; i < l.n; i++) {
		const char *name = l.names[i];
		uint8_t *body = NULL, *gz = NULL;
		size_t len = 0, wlen = 0;
		const uint8_t *wire;
		pthread_mutex_lock(&h->spool_mu); /* spool_fd is reopened if the folder was removed */
		rc = read_spooled(h->spool_fd, name, &body, &len);
		pthread_mutex_unlock(&h->spool_mu);
		if (rc == -ENOENT)
			continue; /* another exporter sharing the spool took it */
		if (rc) {
			logline(h, "cannot read spooled %s/%s: %s; left in place", h->c.spool_dir, name,
				rc == -EPERM || rc == -ELOOP ? "not a file pmuprof wrote"
							     : strerror(-rc));
			continue;
		}
		rc = wire_body(h, body, len, &wire, &wlen, &gz);
		if (rc) {
			free(body);
			snprintf(why, whylen, "compressing spooled %s failed", name);
			*blocked = true;
			break;
		}
		struct attempt a;
		post_once(h, wire, wlen, &a);
		free(gz);
		free(body);
		if (a.o == DELIVERED) {
			pthread_mutex_lock(&h->spool_mu);
			unlinkat(h->spool_fd, name, 0);
			pthread_mutex_unlock(&h->spool_mu);
			delivered++;
			logline(h, "delivered spooled %s/%s (%zu bytes, HTTP %d); %zu left",
				h->c.spool_dir, name, len, a.status, l.n - i - 1);
			check_partial(h, "spooled file", NULL);
		} else if (a.o == REJECTED) {
			char snip[SNIPPET + 8], rerr[512] = "";
			snippet(h, snip, sizeof(snip));
			int mrc = reject_spooled(h, name, rerr, sizeof(rerr));
			if (mrc)
				logline(h, "spooled %s/%s rejected by %s with HTTP %d (%s); moving it to "
					   "rejected/ failed: %s; left in place",
					h->c.spool_dir, name, h->c.url, a.status, snip, rerr);
			else
				logline(h, "spooled %s/%s rejected by %s with HTTP %d (%s); moved to "
					   "%s/rejected/ (not retried)",
					h->c.spool_dir, name, h->c.url, a.status, snip, h->c.spool_dir);
		} else {
			snprintf(why, whylen, "%s", a.why);
			*blocked = true;
			logline(h, "spool replay to %s stopped at %s: %s; %zu left in the spool",
				h->c.url, name, a.why, l.n - i);
			break;
		}
	}
	spool_list_free(&l);
	return delivered;
}

int otlp_http_flush_spool(struct otlp_http *h, char *err, size_t errlen)
{
	bool blocked;
	char why[256] = "";
	int rc = replay(h, &blocked, why, sizeof(why));
	if (rc < 0)
		base_fail(err, errlen, 0, "%s", why);
	else if (blocked)
		base_fail(err, errlen, 0, "OTLP spool %s not fully delivered to %s: %s",
			  h->c.spool_dir, h->c.url, why);
	return rc;
}

int otlp_http_export(struct otlp_http *h, const uint8_t *body, size_t len, int64_t time_ns,
		     struct otlp_export_result *res, char *err, size_t errlen)
{
	struct otlp_export_result local;
	if (!res)
		res = &local;
	memset(res, 0, sizeof(*res));

	/*
	 * The spool first, so that the endpoint sees profiles in time order. If
	 * it is still failing, this body joins the spool right away: trying it
	 * now would put it ahead of older ones, and an outage then costs one
	 * attempt per export rather than a whole retry budget.
	 */
	bool blocked;
	char why[300] = "";
	replay(h, &blocked, why, sizeof(why));
	if (blocked) {
		char w[340];
		snprintf(w, sizeof(w), "spool replay failed: %s", why);
		return spool_write(h, body, len, time_ns, w, res, err, errlen);
	}

	const uint8_t *wire;
	uint8_t *gz;
	size_t wlen;
	int rc = wire_body(h, body, len, &wire, &wlen, &gz);
	if (rc) {
		return base_fail(err, errlen, rc, "gzip of the %zu-byte OTLP request failed", len);
	}
	double t0 = now_s();
	struct attempt a;
	for (int attempt = 1;; attempt++) {
		res->attempts = attempt;
		post_once(h, wire, wlen, &a);
		res->http_status = a.status;
		if (a.o == DELIVERED) {
			res->bytes_sent = wlen;
			check_partial(h, "export", res);
			rc = 0;
			break;
		}
		if (a.o == REJECTED) {
			char snip[SNIPPET + 8];
			snippet(h, snip, sizeof(snip));
			logline(h, "export rejected by %s with HTTP %d (not retried; %zu bytes "
				   "dropped): %s",
				h->c.url, a.status, len, snip);
			base_fail(err, errlen, 0,
				  "OTLP endpoint %s rejected the export with HTTP %d: %s; the "
				  "profile is dropped (not retryable)",
				  h->c.url, a.status, snip);
			snprintf(res->message, sizeof(res->message), "HTTP %d: %s", a.status, snip);
			rc = -EPROTO;
			break;
		}
		if (a.o == BROKEN) {
			/* not worth retrying, but the data is fine: keep it for a fixed setup */
			rc = spool_write(h, body, len, time_ns, a.why, res, err, errlen);
			break;
		}
		bool told = a.retry_after_ms >= 0;
		long delay = told ? a.retry_after_ms : backoff_ms(h, attempt);
		long spent = (long)((now_s() - t0) * 1000);
		if (spent + delay > h->c.retry_budget_ms) {
			char w[400];
			snprintf(w, sizeof(w), "%s; gave up after %d attempts in %ld ms (retry budget %ld ms)",
				 a.why, attempt, spent, h->c.retry_budget_ms);
			rc = spool_write(h, body, len, time_ns, w, res, err, errlen);
			break;
		}
		logline(h, "POST %s: %s; retry %d in %.3f s%s", h->c.url, a.why, attempt,
			delay / 1000.0, told ? " (Retry-After)" : "");
		if (sleep_ms(h, delay)) {
			char w[300];
			snprintf(w, sizeof(w),
				 "%s; interrupted (a signal, or stopping) while waiting to retry",
				 a.why);
			rc = spool_write(h, body, len, time_ns, w, res, err, errlen);
			break;
		}
	}
	res->latency_s = now_s() - t0;
	free(gz);
	return rc;
}
