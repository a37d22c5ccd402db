/*
 * reason.h: the stable reason codes of the contract (txn.iam.reason) and the
 * HTTP status each one implies.  Missing or bad credentials are 401; a valid
 * identity without permission is 403; not_ready is 503; an identity that
 * cannot be handed to HAProxy in full (identity_unsendable) is 403.
 */
#ifndef SPOA_REASON_H
#define SPOA_REASON_H

enum reason {
	REASON_OK = 0,
	REASON_NO_ROUTE,
	REASON_TOKEN_MISSING,
	REASON_TOKEN_MALFORMED,
	REASON_TOKEN_UNSUPPORTED_ALG,
	REASON_ISSUER_UNKNOWN,
	REASON_KEY_UNKNOWN,
	REASON_SIGNATURE_INVALID,
	REASON_TOKEN_EXPIRED,
	REASON_TOKEN_NOT_YET_VALID,
	REASON_AUDIENCE_MISMATCH,
	REASON_CLAIM_MISMATCH,
	REASON_SCOPE_MISSING,
	REASON_ROLE_MISSING,
	REASON_CERT_REQUIRED,
	REASON_CERT_INVALID,
	REASON_CERT_NOT_ALLOWED,
	REASON_CERT_REVOKED,
	REASON_CERT_BINDING_MISMATCH,
	REASON_SOURCE_DENIED,
	REASON_NOT_READY,
	REASON_IDENTITY_UNSENDABLE,
	REASON_DPOP_INVALID,
	REASON_DPOP_REPLAYED,
	REASON_DPOP_BINDING_MISMATCH,
	REASON_COUNT
};

/* reason_name(r): the contract's code, e.g. "token_expired". */
const char *reason_name(enum reason r);

/* reason_status(r): 200, 401, 403 or 503. */
int reason_status(enum reason r);

/* reason_parse(s): the enum for a code name, or -1 (tests, tools). */
int reason_parse(const char *s);

#endif /* !SPOA_REASON_H */
