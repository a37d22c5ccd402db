/*
 * jwa.h: JWS algorithm identifiers (RFC 7518 §3, RFC 8037).  "none" has no
 * identifier here on purpose: it can never be selected.
 */
#ifndef SPOA_JWA_H
#define SPOA_JWA_H

#include <stddef.h>
#include <stdint.h>

enum jws_alg {
	JWS_ALG_RS256, JWS_ALG_RS384, JWS_ALG_RS512,
	JWS_ALG_PS256, JWS_ALG_PS384, JWS_ALG_PS512,
	JWS_ALG_ES256, JWS_ALG_ES384, JWS_ALG_ES512,
	JWS_ALG_EDDSA,
	JWS_ALG_HS256, JWS_ALG_HS384, JWS_ALG_HS512,
	JWS_ALG_COUNT
};

#define JWS_ALG_BIT(a)            (1u << (a))
#define JWS_ALG_HMAC_MASK \
	(JWS_ALG_BIT(JWS_ALG_HS256) | JWS_ALG_BIT(JWS_ALG_HS384) | \
	 JWS_ALG_BIT(JWS_ALG_HS512))
#define JWS_ALG_ASYMMETRIC_MASK   (JWS_ALG_BIT(JWS_ALG_HS256) - 1u)

/*
 * jwa_parse(s, len):
 * Map "RS256" ... "EdDSA", "HS256" ... (exact, case-sensitive, as RFC 7518
 * defines them) to enum jws_alg.  Return -1 for anything else, including
 * "none", "NONE" and "None".
 */
int jwa_parse(const char *s, size_t len);

/* jwa_name(a): the RFC name of ${a}, or "?" if out of range. */
const char *jwa_name(enum jws_alg a);

/* jwa_hash_len(a): digest length in bytes (32/48/64; 64 for EdDSA). */
size_t jwa_hash_len(enum jws_alg a);

#endif /* !SPOA_JWA_H */
