/*
 * reason.c: see reason.h.
 */
#include <string.h>

#include "reason.h"
#include "util.h"

static const struct {
	const char *name;
	int status;
} reasons[REASON_COUNT] = {
	[REASON_OK]                    = { "ok", 200 },
	[REASON_NO_ROUTE]              = { "no_route", 403 },
	[REASON_TOKEN_MISSING]         = { "token_missing", 401 },
	[REASON_TOKEN_MALFORMED]       = { "token_malformed", 401 },
	[REASON_TOKEN_UNSUPPORTED_ALG] = { "token_unsupported_alg", 401 },
	[REASON_ISSUER_UNKNOWN]        = { "issuer_unknown", 401 },
	[REASON_KEY_UNKNOWN]           = { "key_unknown", 401 },
	[REASON_SIGNATURE_INVALID]     = { "signature_invalid", 401 },
	[REASON_TOKEN_EXPIRED]         = { "token_expired", 401 },
	[REASON_TOKEN_NOT_YET_VALID]   = { "token_not_yet_valid", 401 },
	[REASON_AUDIENCE_MISMATCH]     = { "audience_mismatch", 401 },
	[REASON_CLAIM_MISMATCH]        = { "claim_mismatch", 403 },
	[REASON_SCOPE_MISSING]         = { "scope_missing", 403 },
	[REASON_ROLE_MISSING]          = { "role_missing", 403 },
	[REASON_CERT_REQUIRED]         = { "cert_required", 401 },
	[REASON_CERT_INVALID]          = { "cert_invalid", 401 },
	[REASON_CERT_NOT_ALLOWED]      = { "cert_not_allowed", 403 },
	[REASON_CERT_REVOKED]          = { "cert_revoked", 401 },
	[REASON_CERT_BINDING_MISMATCH] = { "cert_binding_mismatch", 401 },
	[REASON_SOURCE_DENIED]         = { "source_denied", 403 },
	[REASON_NOT_READY]             = { "not_ready", 503 },
	[REASON_IDENTITY_UNSENDABLE]   = { "identity_unsendable", 403 },
	[REASON_DPOP_INVALID]          = { "dpop_invalid", 401 },
	[REASON_DPOP_REPLAYED]         = { "dpop_replayed", 401 },
	[REASON_DPOP_BINDING_MISMATCH] = { "dpop_binding_mismatch", 401 },
};

const char *
reason_name(enum reason r)
{
	if ((unsigned)r >= REASON_COUNT)
		return ("unknown");
	return (reasons[r].name);
}

int
reason_status(enum reason r)
{
	if ((unsigned)r >= REASON_COUNT)
		return (403);
	return (reasons[r].status);
}

int
reason_parse(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(reasons); i++)
		if (strcmp(reasons[i].name, s) == 0)
			return ((int)i);
	return (-1);
}
