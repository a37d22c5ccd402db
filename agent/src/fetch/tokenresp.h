/*
 * tokenresp.h: access-token responses of OAuth 2.0 token endpoints
 * (RFC 6749 §5.1: client-credentials grant) and of Azure managed-identity
 * endpoints (IMDS and compatible: the same members, but expires_in and
 * expires_on are often strings).  Pure: no I/O.
 *
 * The token is a secret: it is never put in an error message, and every
 * copy this module makes other than the result is wiped before release.
 */
#ifndef SPOA_TOKENRESP_H
#define SPOA_TOKENRESP_H

#include <stddef.h>
#include <stdint.h>

#define TOKENRESP_DOC_MAX       (256u << 10)
#define TOKENRESP_TOKEN_MAX     16384
/* Lifetime assumed when the response gives none (RFC 6749 §5.1 makes
 * expires_in only RECOMMENDED). */
#define TOKENRESP_DEFAULT_TTL   300
/* Longest lifetime believed. */
#define TOKENRESP_MAX_TTL       86400

/*
 * tokenresp_parse(buf, len, now, token, token_len, expires_at, err, errlen):
 * Parse the ${len}-byte JSON response at ${buf} (need not be
 * NUL-terminated; strict JSON).  Requirements: "access_token" a non-empty
 * string of at most TOKENRESP_TOKEN_MAX visible ASCII characters (no
 * space: it goes into an Authorization header); "token_type", if present,
 * "Bearer" in any case.  Lifetime: "expires_in" (a number or a decimal
 * string of seconds) if present, else "expires_on" (epoch seconds, number
 * or decimal string) minus ${now}, else TOKENRESP_DEFAULT_TTL; it must be
 * positive and is capped at TOKENRESP_MAX_TTL.  On success store a
 * malloc'd NUL-terminated copy of the token in *${token} (the caller wipes
 * and frees it), its length in *${token_len}, ${now} + lifetime in
 * *${expires_at}, and return 0.  On failure return -1 with a reason in
 * ${err} (never token bytes; for an OAuth error response, its "error"
 * code, sanitised).
 */
int tokenresp_parse(const char *buf, size_t len, int64_t now, char **token,
    size_t *token_len, int64_t *expires_at, char *err, size_t errlen);

#endif /* !SPOA_TOKENRESP_H */
