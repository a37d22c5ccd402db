/*
 * statemeta.h: the format of the fetcher's state_dir files.  Pure: no I/O
 * (the fetcher reads and writes the files).
 *
 * One file per source holds the last good document with what a restart
 * needs to trust it and to revalidate it cheaply: the source identity (so
 * a hash collision or a renamed source is detected), the URL it came from,
 * when it was fetched, and its validators.  A text header, an empty line,
 * then the body bytes:
 *
 *     spoa-iam-state 1
 *     key jwks entra https://login.example/keys
 *     url https://login.example/keys
 *     fetched 1767225600
 *     etag "abc"
 *     last-modified Thu, 01 Jan 2026 00:00:00 GMT
 *     length 1234
 *
 *     <1234 bytes of body>
 *
 * Header values are printable ASCII (0x20..0x7e); etag and last-modified
 * are optional, every other line is required, in this order.  The file
 * name is statemeta_name(key): 32 hex digits of SHA-256(key) + ".state".
 */
#ifndef SPOA_STATEMETA_H
#define SPOA_STATEMETA_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define STATEMETA_MAGIC         "spoa-iam-state 1"
#define STATEMETA_VALUE_MAX     4096
#define STATEMETA_HEADER_MAX    (6 * (STATEMETA_VALUE_MAX + 32))
#define STATEMETA_NAME_LEN      38      /* 32 hex + ".state" */

/* A slice of the parsed buffer (not NUL-terminated); p NULL = absent. */
struct statemeta_str {
	const char *p;
	size_t len;
};

struct statemeta {
	struct statemeta_str key, url, etag, last_modified;
	int64_t fetched;                /* seconds since the epoch */
	const char *body;               /* points into the parsed buffer */
	size_t body_len;
};

/*
 * statemeta_parse(buf, len, m, why):
 * Parse a whole state file of ${len} bytes at ${buf} into *${m}, whose
 * slices point into ${buf}.  The body must be exactly "length" bytes.
 * Return 0, or -1 with a constant reason in *${why}.
 */
int statemeta_parse(const char *buf, size_t len, struct statemeta *m,
    const char **why);

/*
 * statemeta_format(m, out, cap):
 * Write the header for ${m} (everything up to and including the empty
 * line; ${m}->body is not copied, ${m}->body_len is the length line) into
 * ${out} of ${cap} bytes.  An etag or last-modified value that is not
 * printable ASCII or longer than STATEMETA_VALUE_MAX is left out (it
 * cannot be sent back anyway); a bad key or url fails.  Return the header
 * length, or -1.
 */
ssize_t statemeta_format(const struct statemeta *m, char *out, size_t cap);

/*
 * statemeta_name(key, out):
 * The file name for the source identity ${key} (NUL-terminated) into
 * ${out} (STATEMETA_NAME_LEN + 1 bytes).  Return 0, or -1 if hashing
 * fails.
 */
int statemeta_name(const char *key, char out[STATEMETA_NAME_LEN + 1]);

#endif /* !SPOA_STATEMETA_H */
