/*
 * cfg_assert.c: identity assertions for APIM in the configuration: the
 * top-level assertion_* keys and a route's "assertion" object (README
 * "Identity assertions").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "signer.h"
#include "cfg_int.h"
#include "config.h"

#define TTL_DEFAULT      300
#define TTL_MIN          10
#define TTL_MAX          3600
#define ROTATE_DEFAULT   86400u
#define ROTATE_MIN       5u
#define ROTATE_MAX       31536000u
/* Published before it signs: more than APIM's hourly refresh of its
 * OpenID configuration, so that its cache has a key before it is used. */
#define AHEAD_DEFAULT    3900u
/* A key stays published this long past the longest ttl_s (clock skew of
 * the verifiers). */
#define KEEP_MARGIN_S    60u
#define AUDIENCE_MAX     1024

void
cfg_parse_assertion_top(struct pctx *c, const cJSON *root, struct config *cfg)
{
	static const char *const needs_issuer[] = {
		"assertion_alg", "assertion_key_rotate_s",
		"assertion_key_publish_ahead_s", "assertion_jwks_file", NULL
	};
	struct quoted q;
	const char *s;
	int r, alg;

	cfg->assertion_alg = SIGNER_ES256;
	cfg->assertion_key_rotate_s = ROTATE_DEFAULT;
	r = cfg_get_str(c, root, "", "assertion_issuer", false, NULL, 0,
	    &cfg->assertion_issuer);
	if (r == PRESENT && cfg->assertion_issuer[0] == '\0')
		cfg_perr(c, "assertion_issuer", "must not be empty");
	if (r == PRESENT && cfg->state_dir == NULL)
		cfg_perr(c, "assertion_issuer", "needs state_dir (the "
		    "assertion signing keys are kept there)");
	if (r == ABSENT) {
		for (size_t i = 0; needs_issuer[i] != NULL; i++)
			if (cfg_get(root, needs_issuer[i]) != NULL)
				cfg_perr(c, needs_issuer[i], "requires "
				    "assertion_issuer");
	}
	if (cfg_get_sval(c, root, "", "assertion_alg", false, &s) == PRESENT) {
		if ((alg = signer_alg_parse(s)) < 0)
			cfg_perr(c, "assertion_alg", "must be ES256, EdDSA or "
			    "RS256 (got %s)", cfg_quote(&q, s));
		else
			cfg->assertion_alg = alg;
	}
	(void)cfg_get_u32(c, root, "", "assertion_key_rotate_s", ROTATE_MIN,
	    ROTATE_MAX, &cfg->assertion_key_rotate_s);
	cfg->assertion_key_ahead_s = AHEAD_DEFAULT;
	if (cfg->assertion_key_rotate_s / 2 < AHEAD_DEFAULT)
		cfg->assertion_key_ahead_s = cfg->assertion_key_rotate_s / 2;
	if (cfg_get_u32(c, root, "", "assertion_key_publish_ahead_s", 0,
	    ROTATE_MAX, &cfg->assertion_key_ahead_s) == PRESENT &&
	    cfg->assertion_key_ahead_s >= cfg->assertion_key_rotate_s)
		cfg_perr(c, "assertion_key_publish_ahead_s", "must be below "
		    "assertion_key_rotate_s (%u)",
		    (unsigned)cfg->assertion_key_rotate_s);
	(void)cfg_get_str(c, root, "", "assertion_jwks_file", false, NULL,
	    SV_PATH, &cfg->assertion_jwks_file);
}

/* SHA-256 input: each field with its length, so none can run into the
 * next. */
static void
ctx_add(uint8_t *buf, size_t cap, size_t *n, const char *s)
{
	size_t len = strlen(s);
	uint32_t l32 = (uint32_t)len;

	if (*n + 4 + len > cap) {
		*n = cap + 1;           /* too long: marks the result unusable */
		return;
	}
	memcpy(buf + *n, &l32, 4);
	memcpy(buf + *n + 4, s, len);
	*n += 4 + len;
}

static int
assertion_ctx(const struct config *top, const struct route_cfg *r,
    struct assertion_cfg *a)
{
	uint8_t buf[4096], h[32];
	char ttl[16];
	size_t n = 0;

	(void)snprintf(ttl, sizeof(ttl), "%u", (unsigned)a->ttl_s);
	ctx_add(buf, sizeof(buf), &n, "spoa-iam assertion v1");
	ctx_add(buf, sizeof(buf), &n, top->assertion_issuer);
	ctx_add(buf, sizeof(buf), &n,
	    signer_alg_name((enum signer_alg)top->assertion_alg));
	ctx_add(buf, sizeof(buf), &n, r->name);
	ctx_add(buf, sizeof(buf), &n, a->audience);
	ctx_add(buf, sizeof(buf), &n, ttl);
	ctx_add(buf, sizeof(buf), &n, a->request_id ? "rid" : "");
	if (n > sizeof(buf) || crypto_sha256(buf, n, h) != 0)
		return (-1);
	memcpy(a->ctx, h, sizeof(a->ctx));
	return (0);
}

void
cfg_parse_route_assertion(struct pctx *c, const cJSON *o, const char *path,
    struct route_cfg *r)
{
	static const char *const keys[] = { "audience", "ttl_s", "request_id",
		NULL };
	const struct config *top = c->top;
	struct assertion_cfg *a;
	const cJSON *ao;
	char p[CFG_PATH_MAX], tp[CFG_PATH_MAX];
	uint64_t span;

	if ((ao = cfg_get_obj(c, o, path, "assertion")) == NULL)
		return;
	cfg_path_key(p, sizeof(p), path, "assertion");
	if ((a = cfg_xcalloc(c, 1, sizeof(*a))) == NULL)
		return;
	r->assertion = a;
	cfg_check_keys(c, ao, p, keys);
	if (cfg_get_str(c, ao, p, "audience", true, NULL, 0, &a->audience) ==
	    PRESENT && (a->audience[0] == '\0' ||
	    strlen(a->audience) > AUDIENCE_MAX)) {
		cfg_path_key(tp, sizeof(tp), p, "audience");
		cfg_perr(c, tp, "must be 1 to %d bytes", AUDIENCE_MAX);
	}
	a->ttl_s = TTL_DEFAULT;
	(void)cfg_get_u32(c, ao, p, "ttl_s", TTL_MIN, TTL_MAX, &a->ttl_s);
	(void)cfg_get_bool(c, ao, p, "request_id", &a->request_id);
	if (top == NULL || top->assertion_issuer == NULL) {
		cfg_perr(c, p, "requires the top-level assertion_issuer (and "
		    "state_dir) in the config file");
		return;
	}
	/* Every key is published from ahead_s before it signs to keep_s
	 * after: at most SIGNER_KEYS_MAX of them at once. */
	span = (uint64_t)a->ttl_s + KEEP_MARGIN_S + top->assertion_key_ahead_s;
	if (span > (uint64_t)(SIGNER_KEYS_MAX - 2) *
	    top->assertion_key_rotate_s) {
		cfg_path_key(tp, sizeof(tp), p, "ttl_s");
		cfg_perr(c, tp, "%u with assertion_key_rotate_s %u and "
		    "assertion_key_publish_ahead_s %u would publish more than "
		    "%d keys at once: rotate less often", (unsigned)a->ttl_s,
		    (unsigned)top->assertion_key_rotate_s,
		    (unsigned)top->assertion_key_ahead_s, SIGNER_KEYS_MAX);
	}
	if (a->audience != NULL && r->name != NULL &&
	    assertion_ctx(top, r, a) != 0)
		cfg_perr(c, p, "route name and audience too long");
}

void
cfg_copy_assertion_top(struct pctx *c, const struct config *b,
    struct config *d)
{
	d->assertion_issuer = cfg_xstrdup(c, b->assertion_issuer);
	d->assertion_alg = b->assertion_alg;
	d->assertion_key_rotate_s = b->assertion_key_rotate_s;
	d->assertion_key_ahead_s = b->assertion_key_ahead_s;
	d->assertion_jwks_file = cfg_xstrdup(c, b->assertion_jwks_file);
}

void
cfg_free_assertion(struct config *cfg)
{
	free(cfg->assertion_issuer);
	free(cfg->assertion_jwks_file);
}

void
cfg_free_route_assertion(struct route_cfg *r)
{
	if (r->assertion == NULL)
		return;
	free(r->assertion->audience);
	free(r->assertion);
	r->assertion = NULL;
}

uint32_t
config_assertion_keep_s(const struct config *cfg)
{
	uint32_t ttl = 0;

	for (size_t i = 0; i < cfg->nroutes; i++)
		if (cfg->routes[i].assertion != NULL &&
		    cfg->routes[i].assertion->ttl_s > ttl)
			ttl = cfg->routes[i].assertion->ttl_s;
	return ((ttl > 0 ? ttl : TTL_DEFAULT) + KEEP_MARGIN_S);
}
