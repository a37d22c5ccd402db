/*
 * jws.h: the Authorization header and compact JWS parsing (RFC 7515 §7.1),
 * before any signature is checked.
 *
 * jws_parse() splits and decodes a token, validates both JSON parts by the
 * rules of json_strict_check() (no duplicate keys, UTF-8, depth and member
 * caps), each in one pass of the strict tokenizer: the header's events give
 * the fields the verifier needs (no tree), the payload's build its cJSON
 * tree with cJSON's constructors (json_doc.h).  It does no cryptography: the
 * result is NOT trusted until the signature over jws.signing_input has been
 * verified with a key and algorithm taken from our own key set.
 *
 * Header parameters that name or carry keys (jku, x5u, jwk, x5c, x5t,
 * x5t#S256) are ignored on purpose (RFC 8725 §3.10, jwt.md S7): they are
 * not exposed here, they change no decision, and nothing is ever fetched
 * from them.  Callers must not read them from jws.header either.
 */
#ifndef SPOA_JWS_H
#define SPOA_JWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "jwa.h"
#include "reason.h"

struct cJSON;
struct strlist;

/* Ceilings applied by jws_parse(); JWS_LIMITS_DEFAULT gives the defaults. */
struct jws_limits {
	size_t max_token;		/* whole token, bytes (config max_token_bytes) */
	unsigned header_max_depth;	/* JSON nesting of the header */
	unsigned header_max_members;	/* per object/array in the header */
	unsigned payload_max_depth;
	unsigned payload_max_members;
	/*
	 * Off by default, and never set by the token path (jwt.c).  When set,
	 * the payload is an opaque octet sequence (RFC 7515 allows any; the
	 * Wycheproof and RFC 7515 A.4 vectors carry "foo", "Payload"): its
	 * segment must still be canonical base64url but may be empty, it is
	 * not decoded as JSON, and jws.payload is NULL.  For the JWS-layer
	 * tests only; a JWT payload is always a JSON object.
	 */
	bool payload_opaque;
};

#define JWS_LIMITS_DEFAULT	{ 8192, 16, 256, 32, 2048, false }

/* Longest accepted kid, in bytes. */
#define JWS_KID_MAX		256

/*
 * A parsed token.  Filled by jws_parse(), released by jws_release(); the
 * payload tree lives as long as the struct (its strings are in
 * payload_text): read it, never keep it.
 * kid and typ are NUL-terminated and point into hdr_text (their length is
 * also the strlen: \u0000 is rejected).  The header has no tree: the
 * fields above are read from the strict tokenizer's events as it checks
 * the header.  signing_input points into the caller's token buffer, so it
 * is valid only while that buffer is.
 */
struct jws {
	enum jws_alg alg;
	const char *kid;		/* NULL if absent */
	size_t kid_len;			/* 1 .. JWS_KID_MAX */
	const char *typ;		/* NULL if absent */
	size_t typ_len;
	char *hdr_text;			/* owned: kid and typ (NULL if neither) */
	struct cJSON *payload;		/* JSON object, owned; NULL only with
					 * jws_limits.payload_opaque; its names
					 * and strings are in payload_text */
	char *payload_text;		/* owned (json_doc_parse_ref()) */
	const char *signing_input;	/* "b64(header).b64(payload)" */
	size_t signing_input_len;
	uint8_t *sig;			/* decoded signature, owned */
	size_t sig_len;			/* >= 1 */
};

/* Results of jws_bearer() besides 0. */
#define JWS_BEARER_NONE		(-1)
#define JWS_BEARER_MALFORMED	(-2)

/*
 * jws_bearer(authz, len, tok, tok_len):
 * Extract the token from the Authorization header value ${authz} of ${len}
 * bytes (RFC 6750 §2.1): optional SP/HT, the scheme "Bearer" in any case,
 * one or more SP, a token68 ([A-Za-z0-9._~+/-]+ then '='*), optional
 * trailing SP/HT, nothing else.  On success store a pointer into ${authz}
 * and the token's length in *${tok} and *${tok_len} and return 0.
 * Return JWS_BEARER_NONE (-1) if there is no Bearer credential (${authz} is
 * NULL, empty, or another scheme such as Basic: the caller answers
 * token_missing), or JWS_BEARER_MALFORMED (-2) if the scheme is Bearer but
 * what follows is not exactly one token68 (token_malformed).
 */
int jws_bearer(const char *authz, size_t len, const char **tok,
    size_t *tok_len);

/*
 * jws_bearer_span(authz, len, tok, tok_len):
 * jws_bearer() without looking at the credential's characters: the same
 * scheme rules and answers (-1, -2), then *${tok}, *${tok_len} = the rest
 * of the value after "Bearer" and its spaces, without trailing SP/HT
 * (-2 if nothing is left).  Whenever jws_bearer() returns 0, this returns 0
 * with the same span (token68 characters are never SP or HT); a span that
 * jws_bearer() refuses is returned as well.  So use it only to look up
 * something stored under a span that jws_bearer() accepted, which proves the
 * header well-formed (the verified-token cache: a hit skips a scan of every
 * token byte), or hand it to jws_parse(), whose three canonical base64url
 * segments are a strict subset of token68 (what jwt_decide() does on a miss).
 */
int jws_bearer_span(const char *authz, size_t len, const char **tok,
    size_t *tok_len);

/*
 * jws_parse(tok, len, lim, out, reason, detail):
 * Parse the compact JWS ${tok} of ${len} bytes (not NUL-terminated; never
 * read past ${len}) under the ceilings ${lim} (NULL: JWS_LIMITS_DEFAULT).
 * The token must be at most ${lim}->max_token bytes, have exactly three
 * non-empty segments of canonical base64url (JWE's five segments and the
 * JSON serialization are refused), and its header and payload must be JSON
 * objects that pass json_strict_check() with the header/payload limits
 * (with ${lim}->payload_opaque the payload segment may be empty and is
 * only checked to be canonical base64url).
 * Header rules: "alg" is a string naming an algorithm of jwa.h ("none" in
 * any case and unknown names: token_unsupported_alg; absent or not a
 * string: token_malformed); "crit" in any form (even []), "b64", "enc" and
 * "zip" are refused (we implement no extension, RFC 7515 §4.1.11); "kid" if
 * present is a string of 1..JWS_KID_MAX bytes; "typ" if present is a
 * string.  The header is checked before the signature segment and the
 * payload, so an unsecured token ("alg":"none", empty signature) is
 * reported as token_unsupported_alg.
 * On success fill *${out}, set *${reason} = REASON_OK and *${detail} = NULL,
 * and return 0; the caller releases *${out} with jws_release().  On failure return -1 with *${out} empty (jws_release() is
 * still safe), *${reason} = REASON_TOKEN_MALFORMED or
 * REASON_TOKEN_UNSUPPORTED_ALG, and *${detail} = a short constant English
 * string (for logs and error_description) that never contains token bytes.
 * ${detail} may be NULL.
 */
int jws_parse(const char *tok, size_t len, const struct jws_limits *lim,
    struct jws *out, enum reason *reason, const char **detail);

/* jws_release(j): free what ${j} owns and zero it; NULL is a no-op. */
void jws_release(struct jws *j);

/*
 * jws_typ_allowed(j, allowed):
 * RFC 8725 §3.11 explicit typing, for the caller's typ allow-list (jwt.md
 * S15).  Return true if ${allowed} is empty (not checked), or the token has
 * a typ equal to one entry, compared case-insensitively and ignoring an
 * "application/" prefix on either side (RFC 7515 §4.1.9: "at+jwt" equals
 * "application/at+jwt").  A token without typ fails a non-empty list.
 */
bool jws_typ_allowed(const struct jws *j, const struct strlist *allowed);

#endif /* !SPOA_JWS_H */
