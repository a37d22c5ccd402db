/*
 * testsupport.h: helpers for the cmocka unit tests.
 */
#ifndef SPOA_TESTSUPPORT_H
#define SPOA_TESTSUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/*
 * ts_hex(hex, out, cap): decode ${hex} (whitespace ignored, also a
 * "quoted" ASCII run, so golden vectors can be written like spop.md:
 * `0e "max-frame-size" 03 fcf006`).  Return the byte count; fail the test
 * on a bad digit or overflow.
 */
size_t ts_hex(const char *hex, uint8_t *out, size_t cap);

/*
 * ts_read_file(path, len): read a whole file into a NUL-terminated malloc'd
 * buffer; return NULL if it cannot be read.  Caller frees.
 */
char *ts_read_file(const char *path, size_t *len);

/*
 * ts_vectors_path(rel): "$SPOA_VECTORS/<rel>" if that file exists, else
 * NULL after printing a clear "skipped: ... absent" message.  Static buffer.
 */
const char *ts_vectors_path(const char *rel);

/* ts_source_path(rel): "$SPOA_SOURCE_DIR/<rel>" (static buffer). */
const char *ts_source_path(const char *rel);

/*
 * Log capture: ts_log_capture_start() routes agent logs into a buffer that
 * ts_log_captured() returns; ts_log_capture_stop() restores stderr.
 */
void ts_log_capture_start(void);
const char *ts_log_captured(void);
void ts_log_capture_stop(void);

/*
 * ts_facts_get(f, origin, path): zero *${f} and make it GET ${path} on
 * ${origin} ("https://host[:port]" or "http://..."): method, scheme, host
 * and path, borrowed from the arguments.
 */
struct facts;
void ts_facts_get(struct facts *f, const char *origin, const char *path);

#endif
