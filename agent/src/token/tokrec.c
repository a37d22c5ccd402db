/*
 * tokrec.c: see tokrec.h.
 *
 * Bits of a record, by schema range: one per scope name, per role name
 * (the token holds it), per rule claim (present and not null), per rule
 * value (the claim holds it), per claims_to_vars claim (present but not
 * sendable).  Text slots: the six identity values (the issuer's slot holds
 * the token's "iss" whether or not it is sent), the kid, then one per
 * claims_to_vars claim.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "b64url.h"
#include "claims.h"
#include "config-t.h"
#include "tenant.h"
#include "util.h"
#include "tokrec.h"

/* Text slots besides the claims_to_vars values. */
#define SLOT_KID	TOKREC_NIDENT
#define SLOT_VARS	(TOKREC_NIDENT + 1)

/* Rendering results besides a length (claims_render_words()'s too). */
#define R_ABSENT	(-1)
#define R_UNSENDABLE	(-2)

/* A claims rule value, with the index of its claim in rpaths. */
struct rs_value {
	size_t path;
	const struct claim_value *v;
};

struct rs_rule {
	const char *name;          /* its claim, for *missing */
	enum claim_match match;
	uint32_t present;          /* bit: the claim is present, not null */
	uint32_t *values;          /* bits of its values, in rule order */
	size_t nvalues;
};

struct rs_var {
	const char *name;          /* the variable */
	uint32_t path;             /* index in vpaths */
};

/* A route's rules as bit indexes, each list in the config's order. */
struct rs_route {
	uint32_t *scopes_all, *scopes_any, *roles_all, *roles_any;
	struct rs_rule *rules;
	struct rs_var *vars;
};

struct tokrec_schema {
	const struct config *cfg;
	/* Vocabularies, sorted, distinct (pointers into cfg). */
	const char **scopes, **roles, **rpaths, **vpaths;
	size_t nscopes, nroles, nrpaths, nvpaths;
	struct rs_value *values;   /* sorted by claim, then value */
	size_t nvalues;
	size_t *vfirst;            /* [nrpaths + 1]: each claim's values */
	/* First bit of each range. */
	uint32_t b_scope, b_role, b_present, b_value, b_unsend, nbits;
	uint16_t nwords;
	uint32_t nslots;
	struct rs_route *routes;   /* [cfg->nroutes] */
	uint8_t (*fp)[TOKREC_FP_LEN]; /* [cfg->nissuers] */
	uint32_t *pool;            /* every route's bit index lists */
	struct rs_rule *rule_pool;
	struct rs_var *var_pool;
};

/* ---- vocabularies ------------------------------------------------------- */

static int
cmp_str(const void *a, const void *b)
{
	return (strcmp(*(const char *const *)a, *(const char *const *)b));
}

/* Sort ${v} and drop repeats; return how many are left. */
static size_t
sort_distinct(const char **v, size_t n)
{
	size_t k = 0;

	if (n == 0)
		return (0);
	qsort(v, n, sizeof(*v), cmp_str);
	for (size_t i = 1; i < n; i++)
		if (strcmp(v[i], v[k]) != 0)
			v[++k] = v[i];
	return (k + 1);
}

/* Index of ${s} in the sorted ${v}; the schema only looks up names it put
 * there, so a miss is a bug. */
static uint32_t
find_str(const char **v, size_t n, const char *s)
{
	const char **p = bsearch(&s, v, n, sizeof(*v), cmp_str);

	SPOA_ASSERT(p != NULL);
	return (p != NULL ? (uint32_t)(p - v) : 0);
}

static int
cmp_claim_value(const struct claim_value *a, const struct claim_value *b)
{
	if (a->type != b->type)
		return (a->type < b->type ? -1 : 1);
	switch (a->type) {
	case CLAIM_VAL_STRING:
		return (strcmp(a->s, b->s));
	case CLAIM_VAL_NUMBER:
		/* 0 and -0 are one value, as claims_value_has() sees them. */
		return ((a->num > b->num) - (a->num < b->num));
	case CLAIM_VAL_BOOL:
		return ((int)a->b - (int)b->b);
	}
	return (0);
}

static int
cmp_rs_value(const void *pa, const void *pb)
{
	const struct rs_value *a = pa, *b = pb;

	if (a->path != b->path)
		return (a->path < b->path ? -1 : 1);
	return (cmp_claim_value(a->v, b->v));
}

/* How many of each list the routes name, repeats included. */
struct counts {
	size_t scopes, roles, rules, values, vars;
};

static void
count_mentions(const struct config *cfg, struct counts *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t r = 0; r < cfg->nroutes; r++) {
		const struct route_cfg *rt = &cfg->routes[r];

		c->scopes += rt->scopes_any.n + rt->scopes_all.n;
		c->roles += rt->roles_any.n + rt->roles_all.n;
		c->rules += rt->nclaims;
		for (size_t k = 0; k < rt->nclaims; k++)
			c->values += rt->claims[k].nvalues;
		c->vars += rt->nclaims_to_vars;
	}
}

static void
add_names(const char **v, size_t *n, const struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		v[(*n)++] = l->v[i];
}

/* Gather, sort and deduplicate every vocabulary.  -1 if out of memory. */
static int
build_vocab(struct tokrec_schema *rs, const struct counts *c)
{
	const struct config *cfg = rs->cfg;
	size_t ns = 0, nr = 0, np = 0, nv = 0, nx = 0;

	rs->scopes = calloc(c->scopes + 1, sizeof(*rs->scopes));
	rs->roles = calloc(c->roles + 1, sizeof(*rs->roles));
	rs->rpaths = calloc(c->rules + 1, sizeof(*rs->rpaths));
	rs->vpaths = calloc(c->vars + 1, sizeof(*rs->vpaths));
	rs->values = calloc(c->values + 1, sizeof(*rs->values));
	if (rs->scopes == NULL || rs->roles == NULL || rs->rpaths == NULL ||
	    rs->vpaths == NULL || rs->values == NULL)
		return (-1);
	for (size_t r = 0; r < cfg->nroutes; r++) {
		const struct route_cfg *rt = &cfg->routes[r];

		add_names(rs->scopes, &ns, &rt->scopes_all);
		add_names(rs->scopes, &ns, &rt->scopes_any);
		add_names(rs->roles, &nr, &rt->roles_all);
		add_names(rs->roles, &nr, &rt->roles_any);
		for (size_t k = 0; k < rt->nclaims; k++)
			rs->rpaths[np++] = rt->claims[k].name;
		for (size_t k = 0; k < rt->nclaims_to_vars; k++)
			rs->vpaths[nx++] = rt->claims_to_vars[k].claim;
	}
	rs->nscopes = sort_distinct(rs->scopes, ns);
	rs->nroles = sort_distinct(rs->roles, nr);
	rs->nrpaths = sort_distinct(rs->rpaths, np);
	rs->nvpaths = sort_distinct(rs->vpaths, nx);

	/* Rule values, by claim: each claim's values are one run. */
	for (size_t r = 0; r < cfg->nroutes; r++) {
		const struct route_cfg *rt = &cfg->routes[r];

		for (size_t k = 0; k < rt->nclaims; k++) {
			const struct claim_rule *cr = &rt->claims[k];
			size_t p = find_str(rs->rpaths, rs->nrpaths, cr->name);

			for (size_t i = 0; i < cr->nvalues; i++)
				rs->values[nv++] = (struct rs_value){ p,
				    &cr->values[i] };
		}
	}
	if (nv > 0) {
		size_t k = 0;

		qsort(rs->values, nv, sizeof(*rs->values), cmp_rs_value);
		for (size_t i = 1; i < nv; i++)
			if (cmp_rs_value(&rs->values[i], &rs->values[k]) != 0)
				rs->values[++k] = rs->values[i];
		nv = k + 1;
	}
	rs->nvalues = nv;
	if ((rs->vfirst = calloc(rs->nrpaths + 1, sizeof(*rs->vfirst))) == NULL)
		return (-1);
	for (size_t p = 0, i = 0; p <= rs->nrpaths; p++) {
		while (i < nv && rs->values[i].path < p)
			i++;
		rs->vfirst[p] = i;
	}
	return (0);
}

/* The bit of rule value ${v} of claim ${path}. */
static uint32_t
value_bit(const struct tokrec_schema *rs, size_t path,
    const struct claim_value *v)
{
	struct rs_value key = { path, v };
	const struct rs_value *p = bsearch(&key, rs->values, rs->nvalues,
	    sizeof(key), cmp_rs_value);

	SPOA_ASSERT(p != NULL);
	return (rs->b_value + (p != NULL ? (uint32_t)(p - rs->values) : 0));
}

/* ---- routes ------------------------------------------------------------- */

/* Bits of the names of ${l} (vocabulary ${v} starting at bit ${b0}). */
static uint32_t *
name_bits(uint32_t **pool, const struct strlist *l, const char **v,
    size_t n, uint32_t b0)
{
	uint32_t *out = *pool;

	for (size_t i = 0; i < l->n; i++)
		out[i] = b0 + find_str(v, n, l->v[i]);
	*pool += l->n;
	return (out);
}

static int
build_routes(struct tokrec_schema *rs, const struct counts *c)
{
	const struct config *cfg = rs->cfg;
	uint32_t *pool;
	struct rs_rule *rules;
	struct rs_var *vars;

	rs->routes = calloc(cfg->nroutes + 1, sizeof(*rs->routes));
	rs->pool = calloc(c->scopes + c->roles + c->values + 1,
	    sizeof(*rs->pool));
	rs->rule_pool = calloc(c->rules + 1, sizeof(*rs->rule_pool));
	rs->var_pool = calloc(c->vars + 1, sizeof(*rs->var_pool));
	if (rs->routes == NULL || rs->pool == NULL || rs->rule_pool == NULL ||
	    rs->var_pool == NULL)
		return (-1);
	pool = rs->pool;
	rules = rs->rule_pool;
	vars = rs->var_pool;
	for (size_t r = 0; r < cfg->nroutes; r++) {
		const struct route_cfg *rt = &cfg->routes[r];
		struct rs_route *o = &rs->routes[r];

		o->scopes_all = name_bits(&pool, &rt->scopes_all, rs->scopes,
		    rs->nscopes, rs->b_scope);
		o->scopes_any = name_bits(&pool, &rt->scopes_any, rs->scopes,
		    rs->nscopes, rs->b_scope);
		o->roles_all = name_bits(&pool, &rt->roles_all, rs->roles,
		    rs->nroles, rs->b_role);
		o->roles_any = name_bits(&pool, &rt->roles_any, rs->roles,
		    rs->nroles, rs->b_role);
		o->rules = rules;
		for (size_t k = 0; k < rt->nclaims; k++) {
			const struct claim_rule *cr = &rt->claims[k];
			size_t p = find_str(rs->rpaths, rs->nrpaths, cr->name);
			struct rs_rule *ru = rules++;

			ru->name = cr->name;
			ru->match = cr->match;
			ru->present = rs->b_present + (uint32_t)p;
			ru->values = pool;
			ru->nvalues = cr->nvalues;
			for (size_t i = 0; i < cr->nvalues; i++)
				*pool++ = value_bit(rs, p, &cr->values[i]);
		}
		o->vars = vars;
		for (size_t k = 0; k < rt->nclaims_to_vars; k++, vars++) {
			vars->name = rt->claims_to_vars[k].var;
			vars->path = find_str(rs->vpaths, rs->nvpaths,
			    rt->claims_to_vars[k].claim);
		}
	}
	return (0);
}

/* ---- fingerprints ------------------------------------------------------- */

/*
 * What a record of an issuer depends on, as unambiguous bytes (every
 * string and list with its length): a version of the record's layout, the
 * vocabularies (they give every bit and value its place), and the
 * issuer's settings that decide whether a token is accepted (issuer
 * values, tenants, audiences, algorithms, typ) or how its record is
 * compiled (scopes and roles claims).  Its key set is not here: a record
 * is checked against the key set of the snapshot it is used under.
 * Settings a cache hit checks again (clock skew, require_exp,
 * max_lifetime_s, max_stale_s) are not either.
 */
struct canon {
	uint8_t *p;
	size_t len, cap;
	bool oom;
};

static void
canon_bytes(struct canon *c, const void *p, size_t n)
{
	if (c->oom)
		return;
	if (n > c->cap - c->len) {
		size_t cap = c->cap ? c->cap : 1024;
		uint8_t *np;

		while (n > cap - c->len)
			cap *= 2;
		if ((np = realloc(c->p, cap)) == NULL) {
			c->oom = true;
			return;
		}
		c->p = np;
		c->cap = cap;
	}
	memcpy(c->p + c->len, p, n);
	c->len += n;
}

static void
canon_u32(struct canon *c, uint64_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
	    (uint8_t)(v >> 24) };

	canon_bytes(c, b, sizeof(b));
}

static void
canon_str(struct canon *c, const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	canon_u32(c, s != NULL ? n + 1 : 0);  /* NULL and "" differ */
	canon_bytes(c, s, n);
}

static void
canon_strs(struct canon *c, const char *const *v, size_t n)
{
	canon_u32(c, n);
	for (size_t i = 0; i < n; i++)
		canon_str(c, v[i]);
}

static void
canon_vocab(struct canon *c, const struct tokrec_schema *rs)
{
	canon_str(c, "spoa-iam token record 1");
	canon_strs(c, rs->scopes, rs->nscopes);
	canon_strs(c, rs->roles, rs->nroles);
	canon_strs(c, rs->rpaths, rs->nrpaths);
	canon_u32(c, rs->nvalues);
	for (size_t i = 0; i < rs->nvalues; i++) {
		const struct claim_value *v = rs->values[i].v;
		double num = v->num == 0 ? 0.0 : v->num;   /* -0 is 0 */

		canon_u32(c, rs->values[i].path);
		canon_u32(c, (uint32_t)v->type);
		if (v->type == CLAIM_VAL_STRING)
			canon_str(c, v->s);
		else if (v->type == CLAIM_VAL_NUMBER)
			canon_bytes(c, &num, sizeof(num));
		else
			canon_u32(c, v->b);
	}
	canon_strs(c, rs->vpaths, rs->nvpaths);
}

static void
canon_issuer(struct canon *c, const struct issuer_cfg *is)
{
	canon_str(c, is->name);
	canon_strs(c, (const char *const *)is->issuer.v, is->issuer.n);
	canon_strs(c, (const char *const *)is->tenants.v, is->tenants.n);
	canon_u32(c, is->any_tenant);
	canon_strs(c, (const char *const *)is->audiences.v, is->audiences.n);
	canon_u32(c, is->algorithms);
	canon_u32(c, is->typ_check);
	canon_strs(c, (const char *const *)is->typ.v, is->typ.n);
	canon_u32(c, is->typ_absent_ok);
	canon_strs(c, (const char *const *)is->scopes_claims.v,
	    is->scopes_claims.n);
	canon_strs(c, (const char *const *)is->roles_claims.v,
	    is->roles_claims.n);
}

static int
build_fingerprints(struct tokrec_schema *rs, tokrec_digest_fn *digest)
{
	const struct config *cfg = rs->cfg;
	struct canon c = { NULL, 0, 0, false };
	uint8_t d[32];
	size_t vocab_len;
	int rc = -1;

	if ((rs->fp = calloc(cfg->nissuers + 1, sizeof(*rs->fp))) == NULL)
		return (-1);
	canon_vocab(&c, rs);
	vocab_len = c.len;
	for (size_t i = 0; i < cfg->nissuers; i++) {
		c.len = vocab_len;
		canon_issuer(&c, &cfg->issuers[i]);
		if (c.oom || digest(c.p, c.len, d) != 0)
			goto out;
		memcpy(rs->fp[i], d, TOKREC_FP_LEN);
	}
	rc = 0;
out:
	free(c.p);
	return (rc);
}

/* ---- the schema --------------------------------------------------------- */

void
tokrec_schema_free(struct tokrec_schema *rs)
{
	if (rs == NULL)
		return;
	free(rs->scopes);
	free(rs->roles);
	free(rs->rpaths);
	free(rs->vpaths);
	free(rs->values);
	free(rs->vfirst);
	free(rs->routes);
	free(rs->fp);
	free(rs->pool);
	free(rs->rule_pool);
	free(rs->var_pool);
	free(rs);
}

struct tokrec_schema *
tokrec_schema_new(const struct config *cfg, tokrec_digest_fn *digest)
{
	struct tokrec_schema *rs;
	struct counts c;
	size_t nbits;

	count_mentions(cfg, &c);
	if (c.scopes + c.roles + c.rules + c.values + c.vars >
	    TOKREC_MENTIONS_MAX)
		return (NULL);
	if ((rs = calloc(1, sizeof(*rs))) == NULL)
		return (NULL);
	rs->cfg = cfg;
	if (build_vocab(rs, &c) != 0)
		goto fail;
	nbits = rs->nscopes + rs->nroles + rs->nrpaths + rs->nvalues +
	    rs->nvpaths;
	rs->b_scope = 0;
	rs->b_role = (uint32_t)rs->nscopes;
	rs->b_present = rs->b_role + (uint32_t)rs->nroles;
	rs->b_value = rs->b_present + (uint32_t)rs->nrpaths;
	rs->b_unsend = rs->b_value + (uint32_t)rs->nvalues;
	rs->nbits = (uint32_t)nbits;
	rs->nwords = (uint16_t)((nbits + 63) / 64);
	rs->nslots = SLOT_VARS + (uint32_t)rs->nvpaths;
	if (build_routes(rs, &c) != 0 || build_fingerprints(rs, digest) != 0)
		goto fail;
	return (rs);
fail:
	tokrec_schema_free(rs);
	return (NULL);
}

ssize_t
tokrec_schema_issuer(const struct tokrec_schema *rs, const struct tokrec *rec)
{
	size_t n = rs->cfg->nissuers;

	if (rec->issuer < n &&
	    memcmp(rs->fp[rec->issuer], rec->fp, TOKREC_FP_LEN) == 0)
		return ((ssize_t)rec->issuer);
	for (size_t i = 0; i < n; i++)
		if (memcmp(rs->fp[i], rec->fp, TOKREC_FP_LEN) == 0)
			return ((ssize_t)i);
	return (-1);
}

/* ---- the record's layout ------------------------------------------------ */

static uint64_t *
rec_bits(const struct tokrec *rec)
{
	return ((uint64_t *)(uintptr_t)rec->data);
}

static bool
bit(const struct tokrec *rec, uint32_t b)
{
	return ((rec_bits(rec)[b / 64] >> (b % 64)) & 1);
}

static enum tokrec_cnf
cnf_state(const struct tokrec *rec, unsigned shift)
{
	return ((enum tokrec_cnf)((rec->flags >> shift) & 3));
}

/* The decoded thumbprints, right after the bits. */
static const uint8_t *
rec_thumbs(const struct tokrec *rec)
{
	return ((const uint8_t *)(rec->data + rec->nwords));
}

/* The text offsets, right after the thumbprints. */
static uint8_t *
rec_offs(const struct tokrec *rec)
{
	return ((uint8_t *)(uintptr_t)rec->data + rec->offs_at);
}

static size_t
off_size(const struct tokrec *rec)
{
	return ((rec->flags & TOKREC_F_WIDE) ? sizeof(uint32_t) :
	    sizeof(uint16_t));
}

static uint32_t
off_get(const struct tokrec *rec, uint32_t k)
{
	const uint8_t *o = rec_offs(rec);
	uint32_t w;
	uint16_t h;

	if (rec->flags & TOKREC_F_WIDE) {
		memcpy(&w, o + 4 * (size_t)k, sizeof(w));
		return (w);
	}
	memcpy(&h, o + 2 * (size_t)k, sizeof(h));
	return (h);
}

static void
off_set(struct tokrec *rec, uint32_t k, uint32_t v)
{
	uint8_t *o = rec_offs(rec);
	uint16_t h = (uint16_t)v;

	if (rec->flags & TOKREC_F_WIDE)
		memcpy(o + 4 * (size_t)k, &v, sizeof(v));
	else
		memcpy(o + 2 * (size_t)k, &h, sizeof(h));
}

static uint32_t
nslots(const struct tokrec *rec)
{
	return (SLOT_VARS + (uint32_t)rec->nvars);
}

static char *
rec_text(const struct tokrec *rec)
{
	return ((char *)(rec_offs(rec) + off_size(rec) *
	    ((size_t)nslots(rec) + 1)));
}

/* Text slot ${k}: NULL when empty. */
static const char *
slot(const struct tokrec *rec, uint32_t k, size_t *len)
{
	uint32_t a = off_get(rec, k), b = off_get(rec, k + 1);

	if (b == a) {
		*len = 0;
		return (NULL);
	}
	*len = b - a - 1;
	return (rec_text(rec) + a);
}

size_t
tokrec_bytes(const struct tokrec *rec)
{
	return ((size_t)(rec_text(rec) - (const char *)rec) +
	    off_get(rec, nslots(rec)));
}

/* ---- compiling ---------------------------------------------------------- */

/*
 * Values are rendered into these per-thread buffers first, to size the
 * record: the identity values together (at most one answer's arena), and
 * each claims_to_vars value alone, as the answer takes them.
 */
static _Thread_local char ident_buf[TOKREC_RENDER_CAP];
static _Thread_local char var_buf[TOKREC_RENDER_CAP];

/* A claim rendered for a variable. */
static ssize_t
render(const cJSON *item, char *buf, size_t cap)
{
	ssize_t n;

	if (item == NULL || cJSON_IsNull(item))
		return (R_ABSENT);
	n = claims_render(item, buf, cap);
	return (n < 0 ? R_UNSENDABLE : n);
}

/* A plain string claim (client id, tenant) as a value. */
static ssize_t
plain(const char *s, char *buf, size_t cap)
{
	size_t n;

	if (s == NULL)
		return (R_ABSENT);
	if ((n = strlen(s)) >= cap)
		return (R_UNSENDABLE);
	memcpy(buf, s, n);
	return ((ssize_t)n);
}

/* The identity values, rendered one after the other into ident_buf. */
struct ident {
	ssize_t n[TOKREC_NIDENT];  /* length, or < 0: none */
	size_t at[TOKREC_NIDENT];
	bool unsendable;
	bool crlf;                 /* one holds CR or LF (not rendered) */
};

static void
render_identity(const cJSON *p, const struct issuer_cfg *is,
    struct ident *id)
{
	size_t off = 0, cap = sizeof(ident_buf);

	id->unsendable = false;
	id->crlf = false;
	for (int i = 0; i < TOKREC_NIDENT; i++) {
		char *o = ident_buf + off;
		size_t room = cap - off;
		ssize_t n;

		switch (i) {
		case TOKREC_SUB:
			n = render(claims_get(p, "sub"), o, room);
			break;
		case TOKREC_ISS:
			n = render(claims_get(p, "iss"), o, room);
			break;
		case TOKREC_CLIENT:
			n = plain(claims_client_id(p), o, room);
			break;
		case TOKREC_TENANT:
			n = plain(claims_tenant(p), o, room);
			break;
		case TOKREC_SCOPES:
			n = claims_render_words(p, CLAIMS_SCOPES,
			    &is->scopes_claims, o, room);
			break;
		default:
			n = claims_render_words(p, CLAIMS_ROLES,
			    &is->roles_claims, o, room);
			break;
		}
		/* Present but not sendable whole: the token's requests
		 * are refused, never answered without it. */
		if (n == R_UNSENDABLE || (n >= 0 &&
		    (size_t)n > TOKREC_VALUE_MAX)) {
			id->unsendable = true;
			n = R_ABSENT;
		}
		id->n[i] = n;
		if (n <= 0)
			continue;       /* absent or empty: no variable */
		/* The client id and tenant are taken as they are: whether
		 * they hold a line break is decided once, here. */
		if ((i == TOKREC_CLIENT || i == TOKREC_TENANT) &&
		    (memchr(o, '\r', (size_t)n) != NULL ||
		    memchr(o, '\n', (size_t)n) != NULL))
			id->crlf = true;
		id->at[i] = off;
		off += (size_t)n + 1;
		ident_buf[off - 1] = '\0';
	}
}

static void
set_bit(uint64_t *bits, uint32_t b)
{
	bits[b / 64] |= UINT64_C(1) << (b % 64);
}

/* The scope, role and claims-rule bits of ${p}. */
static void
compile_bits(const struct tokrec_schema *rs, const struct issuer_cfg *is,
    const cJSON *p, uint64_t *bits)
{
	const cJSON *cs[CLAIMS_SOURCES_MAX];
	size_t n;

	if (rs->nscopes > 0) {
		n = claims_words_gather(p, CLAIMS_SCOPES, &is->scopes_claims,
		    cs);
		for (size_t i = 0; i < rs->nscopes; i++)
			if (claims_words_has(cs, n, rs->scopes[i]))
				set_bit(bits, rs->b_scope + (uint32_t)i);
	}
	if (rs->nroles > 0) {
		n = claims_words_gather(p, CLAIMS_ROLES, &is->roles_claims, cs);
		for (size_t i = 0; i < rs->nroles; i++)
			if (claims_words_has(cs, n, rs->roles[i]))
				set_bit(bits, rs->b_role + (uint32_t)i);
	}
	for (size_t k = 0; k < rs->nrpaths; k++) {
		const cJSON *c = claims_get(p, rs->rpaths[k]);

		if (c == NULL || cJSON_IsNull(c))
			continue;
		set_bit(bits, rs->b_present + (uint32_t)k);
		for (size_t i = rs->vfirst[k]; i < rs->vfirst[k + 1]; i++)
			if (claims_value_has(c, rs->values[i].v))
				set_bit(bits, rs->b_value + (uint32_t)i);
	}
}

/* cnf member ${name} (as binding reads it: "cnf", then ${name} in it). */
static enum tokrec_cnf
cnf_thumb(const cJSON *p, const char *name, uint8_t out[32])
{
	const cJSON *t = claims_get(claims_get(p, "cnf"), name);
	uint8_t raw[33];
	size_t len;

	if (t == NULL)
		return (TOKREC_CNF_ABSENT);
	if (!cJSON_IsString(t) || t->valuestring == NULL)
		return (TOKREC_CNF_NOT_STRING);
	/* Exactly 43 canonical base64url characters: 32 bytes
	 * (b64url_decode refuses padding, other alphabets and non-zero
	 * unused bits), as cert_x5t_matches() reads it. */
	len = strlen(t->valuestring);
	if (len != 43 || b64url_decode(t->valuestring, len, raw,
	    sizeof(raw)) != 32)
		return (TOKREC_CNF_UNDECODABLE);
	memcpy(out, raw, 32);
	return (TOKREC_CNF_SHA256);
}

/* Slots and claims_to_vars a plan sizes on the stack (more: the heap). */
#define PLAN_SLOTS	32

/* What the record will hold, sized before its one allocation. */
struct plan {
	struct ident id;
	const char *iss;
	ssize_t *vn;               /* [nvpaths]: claims_to_vars lengths */
	uint32_t *slen;            /* [nslots]: bytes with the NUL; 0: empty */
	ssize_t vn_small[PLAN_SLOTS];
	uint32_t slen_small[PLAN_SLOTS];
	enum tokrec_cnf x5t, jkt;
	uint8_t x5t_sha[32], jkt_sha[32];
	bool tid_in_iss;
	uint16_t tid_at;
	size_t text;
};

/* Size every text slot.  -1 if out of memory or too large. */
static int
plan_text(const struct tokrec_schema *rs, const cJSON *p,
    const struct tokrec_in *in, struct plan *pl)
{
	if (rs->nslots <= PLAN_SLOTS) {
		pl->vn = pl->vn_small;
		pl->slen = pl->slen_small;
	} else {
		pl->vn = calloc(rs->nvpaths + 1, sizeof(*pl->vn));
		pl->slen = calloc(rs->nslots, sizeof(*pl->slen));
		if (pl->vn == NULL || pl->slen == NULL)
			return (-1);
	}
	for (int i = 0; i < TOKREC_NIDENT; i++)
		if (pl->id.n[i] > 0)
			pl->slen[i] = (uint32_t)pl->id.n[i] + 1;
	/* The issuer's slot holds "iss" even when it is not sent: a key's
	 * own issuer is checked against it (tokrec_iss()). */
	pl->iss = claims_string(p, "iss");
	pl->slen[TOKREC_ISS] = pl->iss != NULL && pl->iss[0] != '\0' ?
	    (uint32_t)strlen(pl->iss) + 1 : 0;
	if (in->kid != NULL && in->kid_len > 0)
		pl->slen[SLOT_KID] = (uint32_t)in->kid_len + 1;
	/* Entra's tid is the GUID in its iss: kept once. */
	if (pl->id.n[TOKREC_TENANT] == CLAIMS_GUID_LEN &&
	    pl->slen[TOKREC_ISS] > 0) {
		const char *g = memmem(pl->iss, pl->slen[TOKREC_ISS] - 1,
		    ident_buf + pl->id.at[TOKREC_TENANT], CLAIMS_GUID_LEN);

		if (g != NULL && g - pl->iss <= UINT16_MAX) {
			pl->tid_in_iss = true;
			pl->tid_at = (uint16_t)(g - pl->iss);
			pl->slen[TOKREC_TENANT] = 0;
		}
	}
	/* claims_to_vars values are sized here, then rendered again into
	 * their place: rendering is a pure function of the claim. */
	for (size_t k = 0; k < rs->nvpaths; k++) {
		pl->vn[k] = render(claims_get(p, rs->vpaths[k]), var_buf,
		    sizeof(var_buf));
		if (pl->vn[k] > 0)
			pl->slen[SLOT_VARS + k] = (uint32_t)pl->vn[k] + 1;
	}
	pl->text = 0;
	for (uint32_t k = 0; k < rs->nslots; k++) {
		if (pl->slen[k] > UINT32_MAX - pl->text)
			return (-1);
		pl->text += pl->slen[k];
	}
	return (0);
}

/* Write slot ${k} of ${rec}, whose offset is set. */
static void
fill_slot(struct tokrec *rec, const struct tokrec_schema *rs,
    const cJSON *p, const struct tokrec_in *in, const struct plan *pl,
    uint32_t k)
{
	char *dst = rec_text(rec) + off_get(rec, k);
	size_t n = pl->slen[k] - 1;
	const char *src = NULL;

	if (k == TOKREC_ISS)
		src = pl->iss;
	else if (k < TOKREC_NIDENT)
		src = ident_buf + pl->id.at[k];
	else if (k == SLOT_KID)
		src = in->kid;
	if (src != NULL) {
		memcpy(dst, src, n);
		dst[n] = '\0';
		return;
	}
	if (claims_render(claims_get(p, rs->vpaths[k - SLOT_VARS]), dst,
	    n + 1) != (ssize_t)n)
		SPOA_ASSERT(!"a claims_to_vars value rendered differently");
}

static void
fill_record(struct tokrec *rec, const struct tokrec_schema *rs,
    const cJSON *p, const struct tokrec_in *in, const struct plan *pl)
{
	const struct issuer_cfg *is = &rs->cfg->issuers[in->issuer];
	uint8_t *th;
	uint32_t at = 0;

	rec->issuer = (uint32_t)in->issuer;
	memcpy(rec->fp, rs->fp[in->issuer], TOKREC_FP_LEN);
	rec->alg = (uint8_t)in->alg;
	rec->flags = (uint16_t)((in->hmac ? TOKREC_F_HMAC : 0) |
	    (in->times->has_exp ? TOKREC_F_EXP : 0) |
	    (in->times->has_nbf ? TOKREC_F_NBF : 0) |
	    (in->times->has_iat ? TOKREC_F_IAT : 0) |
	    (in->sub_hash != NULL ? TOKREC_F_SUB_HASH : 0) |
	    (pl->id.unsendable ? TOKREC_F_UNSENDABLE : 0) |
	    (pl->id.n[TOKREC_ISS] > 0 ? TOKREC_F_ISS_SENT : 0) |
	    ((unsigned)pl->x5t << TOKREC_F_X5T_SHIFT) |
	    ((unsigned)pl->jkt << TOKREC_F_JKT_SHIFT) |
	    (pl->text > UINT16_MAX ? TOKREC_F_WIDE : 0) |
	    (pl->tid_in_iss ? TOKREC_F_TID_IN_ISS : 0) |
	    (pl->id.crlf ? TOKREC_F_IDENT_CRLF : 0));
	rec->exp = in->times->exp;
	rec->nbf = in->times->nbf;
	rec->iat = in->times->iat;
	memcpy(rec->key_fp, in->key_fp, sizeof(rec->key_fp));
	rec->tid_at = pl->tid_at;
	if (in->sub_hash != NULL)
		memcpy(rec->sub_hash, in->sub_hash, sizeof(rec->sub_hash));
	rec->nwords = rs->nwords;
	rec->nvars = (uint16_t)rs->nvpaths;
	rec->offs_at = (uint16_t)(rs->nwords * sizeof(uint64_t) + 32 *
	    ((pl->x5t == TOKREC_CNF_SHA256) + (pl->jkt == TOKREC_CNF_SHA256)));

	compile_bits(rs, is, p, rec_bits(rec));
	th = (uint8_t *)(uintptr_t)rec_thumbs(rec);
	if (pl->x5t == TOKREC_CNF_SHA256) {
		memcpy(th, pl->x5t_sha, 32);
		th += 32;
	}
	if (pl->jkt == TOKREC_CNF_SHA256)
		memcpy(th, pl->jkt_sha, 32);

	off_set(rec, 0, 0);
	for (uint32_t k = 0; k < nslots(rec); k++) {
		at += pl->slen[k];
		off_set(rec, k + 1, at);
		if (pl->slen[k] > 0)
			fill_slot(rec, rs, p, in, pl, k);
	}
	for (size_t k = 0; k < rs->nvpaths; k++)
		if (pl->vn[k] == R_UNSENDABLE)
			set_bit(rec_bits(rec), rs->b_unsend + (uint32_t)k);
}

struct tokrec *
tokrec_compile(const struct tokrec_schema *rs, const cJSON *payload,
    const struct tokrec_in *in)
{
	struct plan pl;
	struct tokrec *rec = NULL;
	size_t head, nth;

	memset(&pl, 0, sizeof(pl));
	render_identity(payload, &rs->cfg->issuers[in->issuer], &pl.id);
	if (plan_text(rs, payload, in, &pl) != 0)
		goto out;
	pl.x5t = cnf_thumb(payload, "x5t#S256", pl.x5t_sha);
	pl.jkt = cnf_thumb(payload, "jkt", pl.jkt_sha);
	nth = (pl.x5t == TOKREC_CNF_SHA256) + (pl.jkt == TOKREC_CNF_SHA256);
	head = sizeof(*rec) + (size_t)rs->nwords * sizeof(uint64_t) +
	    32 * nth + ((size_t)rs->nslots + 1) * (pl.text > UINT16_MAX ?
	    sizeof(uint32_t) : sizeof(uint16_t));
	if ((rec = calloc(1, head + pl.text)) == NULL)
		goto out;
	fill_record(rec, rs, payload, in, &pl);
	SPOA_ASSERT(tokrec_bytes(rec) == head + pl.text);
out:
	if (pl.vn != pl.vn_small)
		free(pl.vn);
	if (pl.slen != pl.slen_small)
		free(pl.slen);
	return (rec);
}

void
tokrec_free(struct tokrec *rec)
{
	free(rec);
}

/* ---- reading ------------------------------------------------------------ */

const char *
tokrec_ident(const struct tokrec *rec, enum tokrec_ident i, size_t *len)
{
	if (i == TOKREC_ISS && !(rec->flags & TOKREC_F_ISS_SENT)) {
		*len = 0;
		return (NULL);
	}
	if (i == TOKREC_TENANT && (rec->flags & TOKREC_F_TID_IN_ISS)) {
		*len = CLAIMS_GUID_LEN;
		return (tokrec_iss(rec) + rec->tid_at);
	}
	return (slot(rec, (uint32_t)i, len));
}

const char *
tokrec_iss(const struct tokrec *rec)
{
	size_t len;
	const char *s = slot(rec, TOKREC_ISS, &len);

	return (s != NULL ? s : "");
}

const char *
tokrec_kid(const struct tokrec *rec, size_t *len)
{
	return (slot(rec, SLOT_KID, len));
}

void
tokrec_tenant_guid(const struct tokrec *rec, char out[CLAIMS_GUID_LEN + 1])
{
	size_t len;
	const char *tid = tokrec_ident(rec, TOKREC_TENANT, &len);

	out[0] = '\0';
	if (tid == NULL || len != CLAIMS_GUID_LEN ||
	    !tenant_is_guid(tid, CLAIMS_GUID_LEN))
		return;
	for (size_t k = 0; k < CLAIMS_GUID_LEN; k++)
		out[k] = util_ascii_lower(tid[k]);
	out[CLAIMS_GUID_LEN] = '\0';
}

void
tokrec_times(const struct tokrec *rec, struct claim_times *t)
{
	t->has_exp = (rec->flags & TOKREC_F_EXP) != 0;
	t->has_nbf = (rec->flags & TOKREC_F_NBF) != 0;
	t->has_iat = (rec->flags & TOKREC_F_IAT) != 0;
	t->exp = rec->exp;
	t->nbf = rec->nbf;
	t->iat = rec->iat;
}

enum tokrec_cnf
tokrec_x5t(const struct tokrec *rec, const uint8_t **sha)
{
	enum tokrec_cnf c = cnf_state(rec, TOKREC_F_X5T_SHIFT);

	*sha = c == TOKREC_CNF_SHA256 ? rec_thumbs(rec) : NULL;
	return (c);
}

enum tokrec_cnf
tokrec_jkt(const struct tokrec *rec, const uint8_t **sha)
{
	enum tokrec_cnf c = cnf_state(rec, TOKREC_F_JKT_SHIFT);

	*sha = NULL;
	if (c == TOKREC_CNF_SHA256)
		*sha = rec_thumbs(rec) + 32 * (cnf_state(rec,
		    TOKREC_F_X5T_SHIFT) == TOKREC_CNF_SHA256);
	return (c);
}

/* ---- route checks ------------------------------------------------------- */

/*
 * claims_check_words()'s rule on bits: every name of the "all" list, then,
 * if the "any" list is not empty, one of it.
 */
static bool
words_ok(const struct tokrec *rec, const uint32_t *all,
    const struct strlist *all_names, const uint32_t *any,
    const struct strlist *any_names, const char **missing)
{
	for (size_t i = 0; i < all_names->n; i++) {
		if (!bit(rec, all[i])) {
			*missing = all_names->v[i];
			return (false);
		}
	}
	if (any_names->n == 0)
		return (true);
	for (size_t i = 0; i < any_names->n; i++)
		if (bit(rec, any[i]))
			return (true);
	*missing = any_names->v[0];
	return (false);
}

static bool
rule_ok(const struct tokrec *rec, const struct rs_rule *ru)
{
	if (!bit(rec, ru->present))
		return (false);
	switch (ru->match) {
	case CLAIM_MATCH_PRESENT:
		return (true);
	case CLAIM_MATCH_ALL:
		for (size_t i = 0; i < ru->nvalues; i++)
			if (!bit(rec, ru->values[i]))
				return (false);
		return (ru->nvalues > 0);
	case CLAIM_MATCH_ANY:
		break;
	}
	for (size_t i = 0; i < ru->nvalues; i++)
		if (bit(rec, ru->values[i]))
			return (true);
	return (false);
}

enum tokrec_check
tokrec_route_check(const struct tokrec_schema *rs, size_t route,
    const struct tokrec *rec, const char **missing)
{
	const struct route_cfg *rt = &rs->cfg->routes[route];
	const struct rs_route *r = &rs->routes[route];

	*missing = NULL;
	SPOA_ASSERT(rec->nwords == rs->nwords && nslots(rec) == rs->nslots);
	if (!words_ok(rec, r->scopes_all, &rt->scopes_all, r->scopes_any,
	    &rt->scopes_any, missing))
		return (TOKREC_SCOPE_MISSING);
	if (!words_ok(rec, r->roles_all, &rt->roles_all, r->roles_any,
	    &rt->roles_any, missing))
		return (TOKREC_ROLE_MISSING);
	for (size_t k = 0; k < rt->nclaims; k++) {
		if (!rule_ok(rec, &r->rules[k])) {
			*missing = r->rules[k].name;
			return (TOKREC_CLAIM_MISMATCH);
		}
	}
	return (TOKREC_PASS);
}

size_t
tokrec_route_nvars(const struct tokrec_schema *rs, size_t route)
{
	return (rs->cfg->routes[route].nclaims_to_vars);
}

int
tokrec_route_var(const struct tokrec_schema *rs, size_t route, size_t k,
    const struct tokrec *rec, const char **name, const char **val,
    size_t *len)
{
	const struct rs_var *v = &rs->routes[route].vars[k];

	*name = v->name;
	if (bit(rec, rs->b_unsend + v->path))
		return (TOKREC_VAR_UNSENDABLE);
	*val = slot(rec, SLOT_VARS + v->path, len);
	return (*val != NULL ? 0 : TOKREC_VAR_ABSENT);
}
