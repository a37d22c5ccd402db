/*
 * verdict.c: see verdict.h.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "verdict.h"

void
verdict_init(struct verdict *v)
{
	v->reason = REASON_OK;
	v->allow = false;
	v->status = 403;
	v->route = NULL;
	v->detail = NULL;
	v->issuer = NULL;
	v->verif_alg = -1;
	v->verif_outcome = REASON_OK;
	v->kid[0] = '\0';
	v->sub_hash[0] = '\0';
	v->www_authenticate[0] = '\0';
	v->ch_set = v->ch_dpop = false;
	v->nvars = 0;
	v->arena_used = 0;
}

void
verdict_set(struct verdict *v, enum reason r, const char *detail)
{
	v->reason = r;
	v->allow = (r == REASON_OK);
	v->status = reason_status(r);
	v->detail = detail;
	v->www_authenticate[0] = '\0';    /* a challenge was for the old one */
	v->ch_set = false;
}

void
verdict_challenge(struct verdict *v, const char *error, const char *desc,
    const char *scope)
{
	v->ch_set = true;
	v->ch_error = error;
	v->ch_desc = desc;
	v->ch_scope = scope;
}

/* A byte of ${w} is zero (Mycroft's test); ${w} ^ c * ONES finds c. */
#define ONES		UINT64_C(0x0101010101010101)
#define HAS_ZERO(w)	(((w) - ONES) & ~(w) & (ONES << 7))

/* True if CR, LF or NUL occurs in the ${len} bytes at ${p}: eight at a
 * time, since every answer variable of every request goes through here. */
static bool
has_crlfnul(const char *p, size_t len)
{
	size_t i = 0;
	uint64_t w;

	for (; len - i >= 8; i += 8) {
		memcpy(&w, p + i, 8);
		if (HAS_ZERO(w) | HAS_ZERO(w ^ (ONES * '\r')) |
		    HAS_ZERO(w ^ (ONES * '\n')))
			return (true);
	}
	for (; i < len; i++)
		if (p[i] == '\r' || p[i] == '\n' || p[i] == '\0')
			return (true);
	return (false);
}

int
verdict_add(struct verdict *v, const char *name, const char *val, size_t len)
{
	if (has_crlfnul(val, len))
		return (-1);
	return (verdict_add_clean(v, name, val, len));
}

int
verdict_add_clean(struct verdict *v, const char *name, const char *val,
    size_t len)
{
	if (v->nvars >= VERDICT_MAX_VARS || len > VERDICT_ARENA - v->arena_used)
		return (-1);
	memcpy(v->arena + v->arena_used, val, len);
	v->vars[v->nvars].name = name;
	v->vars[v->nvars].val = v->arena + v->arena_used;
	v->vars[v->nvars].len = len;
	v->arena_used += len;
	v->nvars++;
	return (0);
}

void
verdict_drop_vars(struct verdict *v)
{
	v->nvars = 0;
	v->arena_used = 0;
}

const struct verdict_var *
verdict_get(const struct verdict *v, const char *name)
{
	for (size_t i = 0; i < v->nvars; i++)
		if (strcmp(v->vars[i].name, name) == 0)
			return (&v->vars[i]);
	return (NULL);
}
