/*
 * abuf.h: a growable text buffer (the admin endpoints' answers, the
 * fetcher's /readyz and /metrics parts).  Bounded: past ABUF_MAX, or when
 * memory runs out, it stops growing and says so (oom); the text written so
 * far stays.
 */
#ifndef SPOA_ABUF_H
#define SPOA_ABUF_H

#include <stdbool.h>
#include <stddef.h>

/* Largest buffer (the admin endpoints answer at most this much). */
#define ABUF_MAX	(4u << 20)

struct abuf {
	char *p;                /* NUL-terminated when len > 0 */
	size_t len, cap;
	bool oom;               /* a write did not fit: the text is cut */
};

/*
 * abuf_printf(b, fmt, ...):
 * Append printf-formatted text to ${b}, growing it (doubling, up to
 * ABUF_MAX).  If it cannot grow, ${b}->oom is set and this and every later
 * call append nothing.
 */
void abuf_printf(struct abuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* abuf_free(b): release ${b}'s memory; ${b} is empty again. */
void abuf_free(struct abuf *b);

#endif /* !SPOA_ABUF_H */
