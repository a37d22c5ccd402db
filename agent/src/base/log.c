/*
 * log.c: see log.h.
 *
 * The ring is a byte ring of records, each a 2-byte length then the line.
 * Producers take the mutex only to copy a line in; the writer takes it
 * only to copy a batch out, and writes with the mutex released.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* Room for about a thousand deny lines: a second or more of a flood,
 * after rate limiting, before lines are dropped. */
#define LOG_RING_BYTES (256u * 1024u)
#define LOG_LINE_MAX 2048

_Atomic int log_threshold = LOG_LVL_INFO;

static log_sink_fn *log_sink;
static void *log_sink_arg;

static const char *const log_names[] = { "error", "warn", "info", "debug" };

static struct {
	pthread_mutex_t lock;
	pthread_cond_t more;          /* producers -> writer: lines queued */
	pthread_cond_t drained;       /* writer -> log_flush(): ring empty */
	pthread_t thread;
	_Atomic bool running;         /* lines go through the ring */
	bool stopping;
	bool waiting;                 /* the writer sleeps on ${more} */
	bool writing;                 /* the writer holds a batch */
	size_t head, len;             /* first byte, bytes queued */
	uint64_t dropped;             /* under ${lock} */
	uint8_t buf[LOG_RING_BYTES];
} ring = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.more = PTHREAD_COND_INITIALIZER,
	.drained = PTHREAD_COND_INITIALIZER,
};

static _Atomic uint64_t suppressed_total;

int
log_level_parse(const char *s, enum log_level *out)
{
	size_t i;

	for (i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++) {
		if (strcmp(s, log_names[i]) == 0) {
			*out = (enum log_level)i;
			return (0);
		}
	}
	return (-1);
}

void
log_set_level(enum log_level lvl)
{
	atomic_store_explicit(&log_threshold, (int)lvl, memory_order_relaxed);
}

void
log_set_sink(log_sink_fn *fn, void *arg)
{
	log_sink = fn;
	log_sink_arg = arg;
}

/* Write ${n} bytes of ${p} to stderr, whatever it takes (or until it
 * fails for good). */
static void
write_all(const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDERR_FILENO, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* Copy ${n} bytes into the ring at its end (the caller checked room). */
static void
ring_copy_in(const void *src, size_t n)
{
	size_t at = (ring.head + ring.len) % LOG_RING_BYTES;
	size_t first = LOG_RING_BYTES - at < n ? LOG_RING_BYTES - at : n;

	memcpy(ring.buf + at, src, first);
	memcpy(ring.buf, (const uint8_t *)src + first, n - first);
	ring.len += n;
}

/* Queue one line; false if the writer is not running. */
static bool
ring_put(const char *line, size_t n)
{
	uint8_t hdr[2] = { (uint8_t)(n >> 8), (uint8_t)n };
	bool wake = false;

	if (!atomic_load_explicit(&ring.running, memory_order_acquire))
		return (false);
	pthread_mutex_lock(&ring.lock);
	if (!ring.running) {
		pthread_mutex_unlock(&ring.lock);
		return (false);
	}
	if (LOG_RING_BYTES - ring.len < n + sizeof(hdr)) {
		ring.dropped++;
	} else {
		ring_copy_in(hdr, sizeof(hdr));
		ring_copy_in(line, n);
		wake = ring.waiting;
	}
	pthread_mutex_unlock(&ring.lock);
	if (wake)
		pthread_cond_signal(&ring.more);
	return (true);
}

/* Move whole records from the ring into ${out} (LOG_RING_BYTES); return
 * the bytes of lines (the length headers are left out).  Under the lock. */
static size_t
ring_take(uint8_t *out)
{
	size_t n = 0;

	while (ring.len >= 2) {
		size_t len = (size_t)ring.buf[ring.head] << 8 |
		    ring.buf[(ring.head + 1) % LOG_RING_BYTES];
		size_t at = (ring.head + 2) % LOG_RING_BYTES;
		size_t first = LOG_RING_BYTES - at < len ? LOG_RING_BYTES - at : len;

		memcpy(out + n, ring.buf + at, first);
		memcpy(out + n + first, ring.buf, len - first);
		n += len;
		ring.head = (at + len) % LOG_RING_BYTES;
		ring.len -= len + 2;
	}
	return (n);
}

static void *
writer_main(void *arg)
{
	static uint8_t batch[LOG_RING_BYTES];

	(void)arg;
	pthread_mutex_lock(&ring.lock);
	for (;;) {
		size_t n;

		while (ring.len == 0 && !ring.stopping) {
			ring.waiting = true;
			pthread_cond_wait(&ring.more, &ring.lock);
			ring.waiting = false;
		}
		if (ring.len == 0) {
			/* Stopping, and everything is written: lines from
			 * now on are written by their callers. */
			atomic_store_explicit(&ring.running, false,
			    memory_order_release);
			break;
		}
		n = ring_take(batch);
		ring.writing = true;
		pthread_mutex_unlock(&ring.lock);
		write_all(batch, n);    /* may block: nobody waits for it */
		pthread_mutex_lock(&ring.lock);
		ring.writing = false;
		if (ring.len == 0)
			pthread_cond_broadcast(&ring.drained);
	}
	pthread_cond_broadcast(&ring.drained);
	pthread_mutex_unlock(&ring.lock);
	return (NULL);
}

int
log_writer_start(void)
{
	int rc;

	pthread_mutex_lock(&ring.lock);
	if (ring.running) {
		pthread_mutex_unlock(&ring.lock);
		return (0);
	}
	ring.stopping = false;
	rc = pthread_create(&ring.thread, NULL, writer_main, NULL);
	if (rc == 0)
		atomic_store_explicit(&ring.running, true, memory_order_release);
	pthread_mutex_unlock(&ring.lock);
	if (rc != 0) {
		errno = rc;
		log_errorp("log: cannot start the writer thread; writing directly");
		return (-1);
	}
	return (0);
}

void
log_writer_stop(void)
{
	pthread_mutex_lock(&ring.lock);
	if (!ring.running) {
		pthread_mutex_unlock(&ring.lock);
		return;
	}
	/* The writer drains the ring, lines queued meanwhile included, then
	 * clears ${running} under the lock and ends. */
	ring.stopping = true;
	pthread_cond_signal(&ring.more);
	pthread_mutex_unlock(&ring.lock);
	pthread_join(ring.thread, NULL);
}

int
log_flush(unsigned timeout_ms)
{
	struct timespec until;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&ring.lock);
	while (ring.running && (ring.len > 0 || ring.writing) && rc == 0)
		rc = pthread_cond_timedwait(&ring.drained, &ring.lock, &until);
	rc = (ring.len > 0 || ring.writing) ? -1 : 0;
	pthread_mutex_unlock(&ring.lock);
	return (rc);
}

uint64_t
log_dropped(void)
{
	uint64_t n;

	pthread_mutex_lock(&ring.lock);
	n = ring.dropped;
	pthread_mutex_unlock(&ring.lock);
	return (n);
}

uint64_t
log_suppressed(void)
{
	return (atomic_load_explicit(&suppressed_total, memory_order_relaxed));
}

/* Per thread: the current second and what it let through per key. */
static _Thread_local struct {
	int64_t second;
	uint32_t passed;
	uint64_t refused;
	const char *label;
} limits[LOG_LIMIT_KEYS];

static int64_t
coarse_second(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ((int64_t)ts.tv_sec);
}

/* Log and reset the refused count of key ${k}. */
static void
report_suppressed(unsigned k)
{
	uint64_t n = limits[k].refused;

	if (n == 0)
		return;
	limits[k].refused = 0;
	atomic_fetch_add_explicit(&suppressed_total, n, memory_order_relaxed);
	log_emit(LOG_LVL_INFO, 0, "%s: suppressed %llu lines (more than %d "
	    "a second)", limits[k].label ? limits[k].label : "log",
	    (unsigned long long)n, LOG_LIMIT_BURST);
}

bool
log_limited(unsigned key, const char *label)
{
	int64_t now;

	if (key >= LOG_LIMIT_KEYS)
		return (true);
	now = coarse_second();
	if (limits[key].second != now) {
		report_suppressed(key);
		limits[key].second = now;
		limits[key].passed = 0;
	}
	limits[key].label = label;
	if (limits[key].passed < LOG_LIMIT_BURST) {
		limits[key].passed++;
		return (true);
	}
	limits[key].refused++;
	return (false);
}

void
log_limited_flush(void)
{
	for (unsigned k = 0; k < LOG_LIMIT_KEYS; k++)
		report_suppressed(k);
}

void
log_emit(enum log_level lvl, int with_errno, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	size_t n;
	int saved = errno;
	int r;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	r = snprintf(line, sizeof(line),
	    "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ spoa-iam[%d] %s: ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L, (int)getpid(),
	    log_names[lvl]);
	n = (r < 0) ? 0 : (size_t)r;

	va_start(ap, fmt);
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (r > 0)
		n += ((size_t)r < sizeof(line) - n) ? (size_t)r : sizeof(line) - n - 1;

	if (with_errno && n < sizeof(line) - 1) {
		char eb[128];

		r = snprintf(line + n, sizeof(line) - n, ": %s",
		    strerror_r(saved, eb, sizeof(eb)));
		if (r > 0)
			n += ((size_t)r < sizeof(line) - n) ? (size_t)r :
			    sizeof(line) - n - 1;
	}

	/* Keep one record per line whatever the message contains. */
	for (size_t i = 0; i < n; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	line[n] = '\0';

	if (log_sink != NULL)
		log_sink(log_sink_arg, lvl, line);
	else if (!ring_put(line, n))
		write_all((const uint8_t *)line, n);
	errno = saved;
}
