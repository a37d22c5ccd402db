/*
 * log.h: leveled, format-checked logging to stderr.
 *
 * One line per call; lines from several threads never interleave.  The
 * level test happens in the macro, before the arguments are evaluated
 * (Redis serverLog), so a debug line costs nothing when debug is off.
 *
 * Once log_writer_start() has run, no caller ever writes to stderr itself:
 * a line goes into a bounded ring (LOG_RING_BYTES) under a mutex held only
 * for the copy, and a writer thread drains the ring to stderr.  A worker
 * thus never waits for a slow or blocked stderr (a full pipe under a flood
 * of denied requests would otherwise stall every worker, and HAProxy would
 * fail closed for everyone): when the ring is full the line is dropped and
 * counted (log_dropped(), spoa_iam_log_dropped_total).  Before the writer
 * starts and after it stops (start-up, --check, tests), lines are written
 * at once with one write(2).  log_limited() rate-limits repeated lines per
 * key and thread, ending each suppressed burst with a "suppressed N" line.
 *
 * Never pass a token, a key or a secret to these functions: log the kid,
 * the reason code and a short hash instead (DESIGN.md §4).
 */
#ifndef SPOA_LOG_H
#define SPOA_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARN  = 1,
	LOG_LVL_INFO  = 2,
	LOG_LVL_DEBUG = 3,
};

/* Current threshold: written by the main thread (reload), read by all. */
extern _Atomic int log_threshold;

/*
 * log_level_parse(s, out):
 * Parse "error", "warn", "info" or "debug" into *${out}.  Return 0, or -1
 * if ${s} names no level.
 */
int log_level_parse(const char *s, enum log_level *out);

/* log_set_level(lvl): set the threshold for all threads. */
void log_set_level(enum log_level lvl);

/*
 * log_set_sink(fn, arg):
 * Route formatted lines to ${fn}(${arg}, level, line) instead of stderr
 * (tests use this to assert what is and is not logged).  NULL restores
 * stderr.  Not thread-safe: call before threads start.
 */
typedef void log_sink_fn(void *arg, enum log_level lvl, const char *line);
void log_set_sink(log_sink_fn *fn, void *arg);

/*
 * log_writer_start(): from now on, lines go through the ring and the
 * writer thread.  Return 0, or -1 if the thread cannot be created (lines
 * are then still written directly).  Call from one thread, once.
 */
int log_writer_start(void);

/*
 * log_writer_stop(): write every line still in the ring, stop the writer
 * thread, and write directly again.  No line accepted before the call is
 * lost.  No-op if the writer is not running.
 */
void log_writer_stop(void);

/*
 * log_flush(timeout_ms): wait until the writer has written every line
 * queued so far, ${timeout_ms} at most (for an exit that cannot join the
 * writer).  Return 0 if the ring is empty, -1 on timeout.
 */
int log_flush(unsigned timeout_ms);

/* log_dropped(): lines dropped because the ring was full. */
uint64_t log_dropped(void);

/* log_suppressed(): lines left out by log_limited(). */
uint64_t log_suppressed(void);

/* Keys of log_limited(), in [0, LOG_LIMIT_KEYS); lines per key, thread
 * and second.  [0, LOG_KEY_REASONS_END): deny lines, one key per reason
 * code; the others are named here. */
#define LOG_LIMIT_KEYS 64
#define LOG_LIMIT_BURST 20
#define LOG_KEY_REASONS_END	48
#define LOG_KEY_FRAME_TIMEOUT	48
#define LOG_KEY_FRAME_BUDGET	49
#define LOG_KEY_CONN_SHED	50

/*
 * log_limited(key, label):
 * Rate limit for a repeated line of the calling thread: return true for
 * the first LOG_LIMIT_BURST calls with ${key} in each second, false for
 * the others (counted).  The first call of a later second first logs
 * "${label}: suppressed N lines ..." for the N calls refused since.  Keys
 * out of range are never limited.  Use log_info_limited().
 */
bool log_limited(unsigned key, const char *label);

/*
 * log_limited_flush(): log the pending "suppressed N" lines of the calling
 * thread now (a thread about to end).
 */
void log_limited_flush(void);

/* log_emit(lvl, with_errno, fmt, ...): unconditional; use the macros. */
void log_emit(enum log_level lvl, int with_errno, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define LOG_ON(lvl) ((int)(lvl) <= atomic_load_explicit(&log_threshold, \
	memory_order_relaxed))
#define LOG_AT(lvl, e, ...) do {					\
	if (LOG_ON(lvl))						\
		log_emit((lvl), (e), __VA_ARGS__);			\
} while (0)

#define log_error(...)  LOG_AT(LOG_LVL_ERROR, 0, __VA_ARGS__)
#define log_errorp(...) LOG_AT(LOG_LVL_ERROR, 1, __VA_ARGS__)  /* + strerror(errno) */
#define log_warn(...)   LOG_AT(LOG_LVL_WARN, 0, __VA_ARGS__)
#define log_warnp(...)  LOG_AT(LOG_LVL_WARN, 1, __VA_ARGS__)
#define log_info(...)   LOG_AT(LOG_LVL_INFO, 0, __VA_ARGS__)
#define log_debug(...)  LOG_AT(LOG_LVL_DEBUG, 0, __VA_ARGS__)
/* An info line rate-limited by log_limited(${key}, ${label}). */
#define log_info_limited(key, label, ...) do {				\
	if (LOG_ON(LOG_LVL_INFO) && log_limited((key), (label)))	\
		log_emit(LOG_LVL_INFO, 0, __VA_ARGS__);			\
} while (0)

#endif /* !SPOA_LOG_H */
