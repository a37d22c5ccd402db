/*
 * b64url.h: strict base64url (RFC 7515 §2, RFC 4648 §5) without padding.
 *
 * Only the canonical encoding of a byte string is accepted: the alphabet is
 * [A-Za-z0-9_-] and nothing else (no '=', '+', '/', whitespace or NUL), a
 * length that is 1 mod 4 is invalid, and the unused low bits of the last
 * character must be zero.  So every byte string has exactly one accepted
 * encoding and a token cannot be altered without changing what it decodes to
 * (Wycheproof "ModifiedUnusedBits", jwt.md S13).
 */
#ifndef SPOA_B64URL_H
#define SPOA_B64URL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * b64url_decoded_len(len):
 * The number of bytes that ${len} characters of base64url decode to
 * (floor(len * 3 / 4)).  Exact for every valid length; for an invalid one
 * (len % 4 == 1) it is an upper bound, which is all a caller sizing a buffer
 * needs.
 */
size_t b64url_decoded_len(size_t len);

/*
 * b64url_encoded_len(len):
 * The number of characters (without a NUL) that ${len} bytes encode to:
 * ceil(len * 4 / 3).  ${len} must be below SIZE_MAX / 4.
 */
size_t b64url_encoded_len(size_t len);

/*
 * b64url_decode(in, len, out, cap):
 * Decode the ${len} characters at ${in} (not NUL-terminated; never read past
 * ${len}) into ${out}, which holds ${cap} bytes.  Return the decoded length,
 * or -1 if the input is not canonical unpadded base64url (see above) or the
 * result would not fit in ${cap} bytes.  An empty input decodes to 0 bytes.
 * On error the contents of ${out} are unspecified; on success the bytes
 * after the decoded length (up to ${cap}) may have been written too (the
 * decoder stores eight bytes at a time).  ${out} must not overlap ${in}.
 */
ssize_t b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap);

/*
 * b64url_encode(in, len, out, cap):
 * Encode the ${len} bytes at ${in} as unpadded base64url into ${out} and
 * NUL-terminate it; ${cap} must be at least b64url_encoded_len(${len}) + 1.
 * Return the number of characters written (without the NUL).  If ${cap} is
 * too small return 0 and leave "" in ${out} when ${cap} > 0 (an empty input
 * also returns 0, with "" in ${out}).
 */
size_t b64url_encode(const uint8_t *in, size_t len, char *out, size_t cap);

#endif /* !SPOA_B64URL_H */
