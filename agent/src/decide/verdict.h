/*
 * verdict.h: the answer to one check-request: allow or not, the status
 * HAProxy should return, the reason code, and the variables to set.
 */
#ifndef SPOA_VERDICT_H
#define SPOA_VERDICT_H

#include <stdbool.h>
#include <stddef.h>

#include "reason.h"

#define VERDICT_MAX_VARS   64
/*
 * All variable values of one answer.  The real bound is the SPOE frame
 * HAProxy negotiated (max-frame-size: tune.bufsize - 4 by default, 16380
 * bytes; the agent's own max_frame_size caps it at 65532 unless raised):
 * an answer that does not fit is refused whole (identity_unsendable), never
 * cut.  The arena holds the largest frame the default config negotiates.
 */
#define VERDICT_ARENA      65536
#define VERDICT_VALUE_MAX  VERDICT_ARENA  /* one variable's value, bytes */

struct verdict_var {
	const char *name;     /* without scope and prefix: "sub", "claim_email" */
	const char *val;      /* in the verdict arena */
	size_t len;
};

struct verdict {
	enum reason reason;
	bool allow;
	int status;
	const char *route;    /* matched route name (borrowed), or NULL */
	const char *detail;   /* short constant text for logs, or NULL */
	/* For metrics and logs (never sent to HAProxy): */
	const char *issuer;   /* the token's issuer (config name), or NULL */
	int verif_alg;        /* a verification happened (cache miss): its */
	enum reason verif_outcome; /* alg and outcome; verif_alg -1: none */
	char kid[65];         /* the token's kid, printable, or "" */
	char sub_hash[17];    /* hex of SHA-256(sub), 8 bytes, or "" */
	/* The challenge of a refusal, as parts (pop_challenge() renders
	 * them for the route into www_authenticate); constant or config
	 * strings.  ch_dpop: the request used the DPoP scheme. */
	bool ch_set, ch_dpop;
	const char *ch_error, *ch_desc, *ch_scope;
	char www_authenticate[4096];
	size_t nvars;
	struct verdict_var vars[VERDICT_MAX_VARS];
	size_t arena_used;
	char arena[VERDICT_ARENA];
};

/* verdict_init(v): empty, not allowed, reason ok pending. */
void verdict_init(struct verdict *v);

/*
 * verdict_set(v, r, detail): the outcome: ${r} decides allow (r == ok) and
 * status (reason_status()).  ${detail} must be a constant string.  Any
 * WWW-Authenticate challenge set for an earlier outcome is dropped.
 */
void verdict_set(struct verdict *v, enum reason r, const char *detail);

/*
 * verdict_challenge(v, error, desc, scope):
 * Note the challenge of ${v}'s refusal (RFC 6750 §3 error code,
 * description and scope; each constant, from the config, or NULL):
 * pop_challenge() renders it into www_authenticate for the route.
 */
void verdict_challenge(struct verdict *v, const char *error,
    const char *desc, const char *scope);

/*
 * verdict_add(v, name, val, len):
 * Add variable ${name} (a constant or a string that outlives the verdict)
 * with a copy of ${val}.  Values with CR, LF or NUL (HAProxy turns these
 * variables into headers), additions past the arena and past
 * VERDICT_MAX_VARS are refused (-1): the caller must then refuse the
 * request (identity_unsendable) rather than answer without the value.
 */
int verdict_add(struct verdict *v, const char *name, const char *val, size_t len);

/*
 * verdict_add_clean(v, name, val, len):
 * verdict_add() for a value the caller knows holds no CR, LF or NUL (a
 * cached token's values, checked once when its record was compiled):
 * the same bounds, without looking at every byte again.
 */
int verdict_add_clean(struct verdict *v, const char *name, const char *val,
    size_t len);

/* verdict_drop_vars(v): forget every variable added (a refusal sends none). */
void verdict_drop_vars(struct verdict *v);

/* verdict_get(v, name): the value of variable ${name}, or NULL (tests). */
const struct verdict_var *verdict_get(const struct verdict *v, const char *name);

#endif /* !SPOA_VERDICT_H */
