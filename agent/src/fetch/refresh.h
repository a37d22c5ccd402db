/*
 * refresh.h: when to fetch a remote document again.  Pure: no I/O, no
 * clock, no random source (the caller passes the time and a random value).
 *
 *  - Cache-Control (RFC 9111 §5.2) on a good response sets the next
 *    refresh: max-age, clamped between fetch.refresh_min_s and
 *    fetch.refresh_max_s, minus up to 10 % of jitter (so that many agents
 *    started together do not refresh together).  no-cache, no-store, a
 *    max-age of 0, an invalid or a repeated max-age mean "stale at once":
 *    the shortest interval, refresh_min_s.  Without a max-age the default
 *    interval (REFRESH_DEFAULT_S) applies, clamped the same way.
 *  - A failed fetch is retried with exponential backoff: base * 2^(n-1)
 *    after the n-th failure in a row, capped at fetch.backoff_max_s, with
 *    "equal jitter" (a uniform value between half the delay and the
 *    delay).
 */
#ifndef SPOA_REFRESH_H
#define SPOA_REFRESH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Interval without a usable max-age: hourly (Entra's guidance). */
#define REFRESH_DEFAULT_S       3600
/* RFC 9111 §1.2.2: delta-seconds beyond this are taken as this. */
#define REFRESH_DELTA_MAX       2147483648u
/* Longest Cache-Control value we look at; longer headers are refused. */
#define REFRESH_CC_MAX          4096
/* First retry delay after a failure. */
#define REFRESH_BACKOFF_BASE_S  1

struct refresh_cc {
	bool has_max_age;       /* one valid max-age directive */
	uint64_t max_age;       /* seconds, at most REFRESH_DELTA_MAX */
	bool stale;             /* no-cache, no-store, bad or repeated max-age */
};

/*
 * refresh_parse_cc(buf, len, cc):
 * Parse the Cache-Control field value of ${len} bytes at ${buf} (several
 * field lines joined with ","; need not be NUL-terminated; never read past
 * ${len}) into *${cc}.  Directive names are case-insensitive; arguments
 * are tokens or quoted strings; unknown directives are ignored.  Return 0,
 * or -1 if the value is not a Cache-Control list at all (bad characters,
 * unterminated quoted string, longer than REFRESH_CC_MAX); then *${cc} says
 * nothing (has_max_age and stale false) and the caller uses the default.
 */
int refresh_parse_cc(const char *buf, size_t len, struct refresh_cc *cc);

/*
 * refresh_interval(cc, min_s, max_s, rnd):
 * Seconds until the next periodic fetch of a document whose last response
 * carried ${cc} (NULL: no Cache-Control): see the top of this file.
 * ${rnd} is a uniformly random 32-bit value.  The result lies in
 * [${min_s}, ${max_s}] (if ${min_s} > ${max_s}, ${max_s} wins).
 */
uint32_t refresh_interval(const struct refresh_cc *cc, uint32_t min_s,
    uint32_t max_s, uint32_t rnd);

/*
 * refresh_backoff(failures, cap_s, rnd):
 * Seconds to wait after the ${failures}-th consecutive failure (>= 1; 0 is
 * treated as 1): a value in [d/2, d] where d = min(${cap_s},
 * REFRESH_BACKOFF_BASE_S * 2^(failures-1)), chosen by the random 32-bit
 * ${rnd}.  ${cap_s} of 0 is treated as 1.
 */
double refresh_backoff(unsigned failures, uint32_t cap_s, uint32_t rnd);

#endif /* !SPOA_REFRESH_H */
