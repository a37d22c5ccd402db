/*
 * log.h: leveled, format-checked logging to stderr.
 *
 * One line per call, written with a single write(2) so lines from several
 * threads never interleave.  The level test happens in the macro, before the
 * arguments are evaluated (Redis serverLog), so a debug line costs nothing
 * when debug is off.
 *
 * Never pass a token, a key or a secret to these functions: log the kid,
 * the reason code and a short hash instead (DESIGN.md §4).
 */
#ifndef SPOA_LOG_H
#define SPOA_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARN  = 1,
	LOG_LVL_INFO  = 2,
	LOG_LVL_DEBUG = 3,
};

/* Current threshold; read without a lock (a torn read is impossible for int). */
extern volatile int log_threshold;

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

/* log_emit(lvl, with_errno, fmt, ...): unconditional; use the macros. */
void log_emit(enum log_level lvl, int with_errno, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define LOG_AT(lvl, e, ...) do {					\
	if ((int)(lvl) <= log_threshold)				\
		log_emit((lvl), (e), __VA_ARGS__);			\
} while (0)

#define log_error(...)  LOG_AT(LOG_LVL_ERROR, 0, __VA_ARGS__)
#define log_errorp(...) LOG_AT(LOG_LVL_ERROR, 1, __VA_ARGS__)  /* + strerror(errno) */
#define log_warn(...)   LOG_AT(LOG_LVL_WARN, 0, __VA_ARGS__)
#define log_warnp(...)  LOG_AT(LOG_LVL_WARN, 1, __VA_ARGS__)
#define log_info(...)   LOG_AT(LOG_LVL_INFO, 0, __VA_ARGS__)
#define log_debug(...)  LOG_AT(LOG_LVL_DEBUG, 0, __VA_ARGS__)

#endif /* !SPOA_LOG_H */
