/*
 * strnum.h: bounded decimal number parsing (OpenBSD strtonum in spirit, but
 * on (buf, len) and without locale, sign or whitespace).  Pure: no I/O.
 */
#ifndef SPOA_STRNUM_H
#define SPOA_STRNUM_H

#include <stddef.h>
#include <stdint.h>

/*
 * strnum_u64(s, len, min, max, out):
 * Parse the ${len} bytes at ${s} as a canonical unsigned decimal number:
 * one or more ASCII digits, nothing else (no sign, no spaces, no "0x"), and
 * no leading zero unless the number is exactly "0" ("08" is refused: it is
 * ambiguous for a reader and for other parsers).  The value must lie in
 * [${min}, ${max}].  On success store it in *${out} and return 0; on any
 * failure (empty, junk, overflow, out of range) return -1 and leave
 * *${out} unchanged.  Never reads past ${len}; ${s} need not be
 * NUL-terminated.
 */
int strnum_u64(const char *s, size_t len, uint64_t min, uint64_t max,
    uint64_t *out);

#endif /* !SPOA_STRNUM_H */
