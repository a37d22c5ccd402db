/*
 * util.h: small helpers shared by every module.  No library dependencies.
 */
#ifndef SPOA_UTIL_H
#define SPOA_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Free ${p} and set it to NULL (HAProxy ha_free, curl curlx_safefree). */
#define FREE_AND_NULL(p) do { free(p); (p) = NULL; } while (0)

/*
 * SPOA_ASSERT(cond): an internal invariant, never a check on peer input.
 * Aborts in sanitizer/fuzz/debug builds (SPOA_DEBUG_STRICT), compiled out
 * otherwise.
 */
#if defined(SPOA_DEBUG_STRICT) && SPOA_DEBUG_STRICT
#include <stdio.h>
#define SPOA_ASSERT(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: assertion failed: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)
#else
#define SPOA_ASSERT(cond) do { (void)sizeof(cond); } while (0)
#endif

/* True if the ${len} bytes at ${p} are exactly the string literal ${lit}. */
#define MEM_EQ_LIT(p, len, lit)						\
	((len) == sizeof(lit) - 1 && memcmp((p), (lit), sizeof(lit) - 1) == 0)

/*
 * util_mono_ms(): CLOCK_MONOTONIC in milliseconds.  One clock for every
 * thread: the fetcher stamps a refetch with it, the workers a parked
 * request.
 */
static inline int64_t
util_mono_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* util_mono_ns(): CLOCK_MONOTONIC in nanoseconds (latency histograms). */
static inline uint64_t
util_mono_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
}

/* util_hexval(ch): the value of hex digit ${ch} (either case), or -1. */
static inline int
util_hexval(unsigned char ch)
{
	if (ch >= '0' && ch <= '9')
		return (ch - '0');
	if (ch >= 'a' && ch <= 'f')
		return (ch - 'a' + 10);
	if (ch >= 'A' && ch <= 'F')
		return (ch - 'A' + 10);
	return (-1);
}

/* util_streq(a, b): both NULL, or both strings and equal. */
static inline bool
util_streq(const char *a, const char *b)
{
	return (a == NULL || b == NULL ? a == b : strcmp(a, b) == 0);
}

/* util_ascii_lower(ch): ${ch} lowercased if it is an ASCII capital. */
static inline char
util_ascii_lower(char ch)
{
	return ((ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch);
}

/* util_mem_caseeq(a, b, n): the ${n} bytes at ${a} and ${b} are equal
 * ignoring ASCII case (never locale-dependent, unlike strncasecmp). */
static inline bool
util_mem_caseeq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (util_ascii_lower(a[i]) != util_ascii_lower(b[i]))
			return (false);
	return (true);
}

/* util_str_caseeq(a, b): NUL-terminated ${a} and ${b} equal ignoring ASCII
 * case. */
static inline bool
util_str_caseeq(const char *a, const char *b)
{
	size_t n = strlen(a);

	return (strlen(b) == n && util_mem_caseeq(a, b, n));
}

/*
 * util_printable(dst, cap, src, len):
 * Copy at most ${cap} - 1 of the ${len} bytes at ${src} into ${dst} (${cap}
 * >= 1) as printable ASCII for a log line: control bytes, DEL, bytes above
 * 0x7f, '"' and '\\' become '?', so the text can be quoted as it is.
 * NUL-terminate and return the number of bytes written.
 */
static inline size_t
util_printable(char *dst, size_t cap, const char *src, size_t len)
{
	size_t n = 0;

	for (; n < len && n + 1 < cap; n++) {
		unsigned char c = (unsigned char)src[n];

		dst[n] = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ?
		    (char)c : '?';
	}
	dst[n] = '\0';
	return (n);
}

#endif /* !SPOA_UTIL_H */
