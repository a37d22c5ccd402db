/*
 * verdict.c: see verdict.h.
 */
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
	v->www_authenticate[0] = '\0';
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
}

int
verdict_add(struct verdict *v, const char *name, const char *val, size_t len)
{
	if (v->nvars >= VERDICT_MAX_VARS || len > VERDICT_VALUE_MAX ||
	    len > VERDICT_ARENA - v->arena_used)
		return (-1);
	for (size_t i = 0; i < len; i++)
		if (val[i] == '\r' || val[i] == '\n' || val[i] == '\0')
			return (-1);
	memcpy(v->arena + v->arena_used, val, len);
	v->vars[v->nvars].name = name;
	v->vars[v->nvars].val = v->arena + v->arena_used;
	v->vars[v->nvars].len = len;
	v->arena_used += len;
	v->nvars++;
	return (0);
}

const struct verdict_var *
verdict_get(const struct verdict *v, const char *name)
{
	for (size_t i = 0; i < v->nvars; i++)
		if (strcmp(v->vars[i].name, name) == 0)
			return (&v->vars[i]);
	return (NULL);
}
