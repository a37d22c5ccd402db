/*
 * inspect.h: decoding a token for a person (the inspect command).
 */
#ifndef SPOA_INSPECT_H
#define SPOA_INSPECT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * inspect_token(out, tok, len):
 * For "spoa-iam inspect TOKEN": print to ${out} a "NOT VERIFIED" banner,
 * the header and payload pretty-printed, the UTC date and the time relative
 * to now of exp, nbf and iat, the signature length, and what jws_parse()
 * with default limits thinks of the token (the reason code and detail when
 * it fails).  Decoding is lenient where it can be (padding, '+' and '/',
 * non-canonical bits, a leading "Bearer ", surrounding whitespace) so that
 * broken tokens can still be looked at.  Return 0 if the header and the
 * payload decoded to JSON, 1 otherwise.  Prints token content: for the
 * operator's terminal only, never for logs.
 */
int inspect_token(FILE *out, const char *tok, size_t len);

/* inspect_token_at(out, tok, len, now): inspect_token() with a given clock. */
int inspect_token_at(FILE *out, const char *tok, size_t len, int64_t now);

#endif /* !SPOA_INSPECT_H */
