/*
 * otlp_queue — OTLP/HTTP delivery on a thread of its own, so that whoever
 * produces the profiles (the agent's sampling loop) never waits for the
 * network: a slow, hanging or absent collector costs queue slots and spool
 * files, not sampling time.
 *
 * Owns: a bounded FIFO of request bodies, the thread that delivers them one
 * by one through otlp_http_export (spool replay, retries, spooling all
 * included), the overflow policy (the oldest queued body goes to the spool,
 * so that the spool only ever holds bodies older than the queue's and the
 * endpoint still sees profiles in time order), one log line per body, and
 * the counts of what became of them.
 */
#include "otlp.h"
#include "base.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct queued {
	uint8_t *body;
	size_t len;
	int64_t time_ns;
	unsigned window;
};

struct otlp_queue {
	struct otlp_http *h;
	FILE *log;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t work; /* a body was queued, or closing */
	pthread_cond_t idle; /* a body was dealt with */
	struct queued *q;    /* ring of cap slots */
	size_t cap, head, n;
	bool busy, closing;
	struct otlp_queue_stats st;
};

static void count(struct otlp_queue *q, int outcome, int attempts)
{
	pthread_mutex_lock(&q->mu);
	if (outcome == 0)
		q->st.delivered++;
	else if (outcome == 1)
		q->st.spooled++;
	else if (outcome == -EPROTO)
		q->st.rejected++;
	else
		q->st.lost++;
	if (attempts > 1)
		q->st.resends += (unsigned)(attempts - 1);
	pthread_mutex_unlock(&q->mu);
}

/* One line per body: what became of it, and how many times the same bytes were sent again. */
static void log_outcome(struct otlp_queue *q, const struct queued *b, int rc,
			const struct otlp_export_result *r, const char *err)
{
	char line[1024];
	const char *what = rc == 0 ? "delivered" : rc == 1 ? "spooled" : rc == -EPROTO ? "rejected"
										   : "lost";
	int resends = r->attempts > 1 ? r->attempts - 1 : 0;
	int n;
	if (r->attempts)
		n = snprintf(line, sizeof(line),
			     "pmuprof otlp: window %u: %s, %zu bytes, status %d, %d attempt%s (%d "
			     "resend%s), %.0f ms",
			     b->window, what, b->len, r->http_status, r->attempts,
			     r->attempts == 1 ? "" : "s", resends, resends == 1 ? "" : "s",
			     r->latency_s * 1e3);
	else
		n = snprintf(line, sizeof(line), "pmuprof otlp: window %u: %s, %zu bytes, not sent",
			     b->window, what, b->len);
	if (n > 0 && (size_t)n < sizeof(line)) {
		if (r->partial)
			snprintf(line + n, sizeof(line) - (size_t)n,
				 "; partial success: %lld rejected: %s", (long long)r->rejected,
				 r->message);
		else if (rc < 0)
			snprintf(line + n, sizeof(line) - (size_t)n, ": %s", err);
	}
	fprintf(q->log, "%s\n", line); /* one call: lines of other threads do not interleave */
	fflush(q->log);
}

static void *deliver(void *arg)
{
	struct otlp_queue *q = arg;
	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (!q->n && !q->closing)
			pthread_cond_wait(&q->work, &q->mu);
		if (!q->n)
			break;
		struct queued b = q->q[q->head];
		q->head = (q->head + 1) % q->cap;
		q->n--;
		q->busy = true;
		pthread_mutex_unlock(&q->mu);

		struct otlp_export_result r;
		char err[512] = "";
		memset(&r, 0, sizeof(r));
		int rc = otlp_http_export(q->h, b.body, b.len, b.time_ns, &r, err, sizeof(err));
		free(b.body);
		log_outcome(q, &b, rc, &r, err);
		count(q, rc, r.attempts);

		pthread_mutex_lock(&q->mu);
		q->busy = false;
		pthread_cond_broadcast(&q->idle);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

int otlp_queue_new(struct otlp_queue **out, struct otlp_http *h, size_t depth, FILE *log,
		   char *err, size_t errlen)
{
	*out = NULL;
	struct otlp_queue *q = calloc(1, sizeof(*q));
	if (q)
		q->q = calloc(depth ? depth : 1, sizeof(*q->q));
	if (!q || !q->q) {
		if (q)
			free(q->q);
		free(q);
		return base_fail(err, errlen, -ENOMEM, "out of memory for the OTLP export queue");
	}
	q->h = h;
	q->log = log ? log : stderr;
	q->cap = depth ? depth : 1;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->work, &ca);
	pthread_cond_init(&q->idle, &ca);
	pthread_condattr_destroy(&ca);
	/* Signals are the producer's to take (SIGHUP, SIGTERM): the thread blocks them all. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = pthread_create(&q->thread, NULL, deliver, q);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		pthread_cond_destroy(&q->work);
		pthread_cond_destroy(&q->idle);
		pthread_mutex_destroy(&q->mu);
		free(q->q);
		free(q);
		return base_fail(err, errlen, -rc, "cannot start the OTLP export thread: %s",
				 strerror(rc));
	}
	*out = q;
	return 0;
}

int otlp_queue_push(struct otlp_queue *q, uint8_t *body, size_t len, int64_t time_ns,
		    unsigned window)
{
	struct queued old = {0};
	bool full;
	pthread_mutex_lock(&q->mu);
	full = q->n == q->cap;
	if (full) {
		old = q->q[q->head];
		q->head = (q->head + 1) % q->cap;
		q->n--;
	}
	q->q[(q->head + q->n) % q->cap] = (struct queued){body, len, time_ns, window};
	q->n++;
	pthread_cond_signal(&q->work);
	pthread_mutex_unlock(&q->mu);
	if (!full)
		return 0;

	char err[512] = "", why[128];
	snprintf(why, sizeof(why), "the export queue is full (%zu window%s): the endpoint is "
				   "slower than the windows", q->cap, q->cap == 1 ? "" : "s");
	int rc = otlp_http_spool(q->h, old.body, old.len, old.time_ns, why, err, sizeof(err));
	struct otlp_export_result r;
	memset(&r, 0, sizeof(r));
	log_outcome(q, &old, rc < 0 ? rc : 1, &r, err);
	count(q, rc < 0 ? rc : 1, 0);
	free(old.body);
	return rc < 0 ? rc : 0;
}

void otlp_queue_stats(struct otlp_queue *q, struct otlp_queue_stats *st)
{
	pthread_mutex_lock(&q->mu);
	*st = q->st;
	pthread_mutex_unlock(&q->mu);
}

void otlp_queue_close(struct otlp_queue *q, double grace_s, struct otlp_queue_stats *st)
{
	if (!q) {
		if (st)
			memset(st, 0, sizeof(*st));
		return;
	}
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += (time_t)grace_s;
	deadline.tv_nsec += (long)((grace_s - (double)(time_t)grace_s) * 1e9);
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&q->mu);
	q->closing = true;
	pthread_cond_signal(&q->work);
	while ((q->n || q->busy) && pthread_cond_timedwait(&q->idle, &q->mu, &deadline) == 0)
		;
	bool late = q->n || q->busy;
	pthread_mutex_unlock(&q->mu);
	/* Past the grace: the transfer under way ends, what is left goes to the spool at once. */
	if (late)
		otlp_http_abort(q->h);
	pthread_join(q->thread, NULL);
	if (st)
		*st = q->st;
	pthread_cond_destroy(&q->work);
	pthread_cond_destroy(&q->idle);
	pthread_mutex_destroy(&q->mu);
	free(q->q);
	free(q);
}
