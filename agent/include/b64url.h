/*
 * b64url.h: strict base64url (RFC 4648 §5) without padding, as JWS uses it
 * (RFC 7515 §2).  One canonical text per byte string: no '=', no
 * whitespace, no '+' or '/', and the unused low bits of the last symbol
 * must be zero.
 */
#ifndef SPOA_B64URL_H
#define SPOA_B64URL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * b64url_decoded_len(len):
 * The number of bytes that ${len} input characters decode to (an upper
 * bound that is exact for valid input; no validation).
 */
size_t b64url_decoded_len(size_t len);

/*
 * b64url_decode(in, len, out, cap):
 * Decode the ${len} characters at ${in} into ${out} (${cap} bytes).  Only
 * [A-Za-z0-9_-] are accepted; len % 4 == 1 and non-zero unused bits are
 * invalid.  Return the decoded length, or -1 on invalid input or if ${cap}
 * is too small.  Never reads past ${len}; ${out} may be written partially
 * on error.
 */
ssize_t b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap);

/*
 * b64url_encode(in, len, out, cap):
 * Encode ${len} bytes without padding into ${out}.  Return the number of
 * characters written (not counting the NUL, which is written if there is
 * room), or 0 if ${cap} cannot hold the encoding (nothing is written then).
 */
size_t b64url_encode(const uint8_t *in, size_t len, char *out, size_t cap);

#endif /* !SPOA_B64URL_H */
