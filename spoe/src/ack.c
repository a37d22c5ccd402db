/*
 * ack.c: ACK payloads (haproxy doc/SPOE.txt §3.4):
 *   SET-VAR   : <01> <NB-ARGS=03> <SCOPE:1> <NAME:STRING> <VALUE:TYPED-DATA>
 *   UNSET-VAR : <02> <NB-ARGS=02> <SCOPE:1> <NAME:STRING>
 */
#include "spop-int.h"

int
spop_action_next(struct spop_cursor *c, struct spop_action *a)
{
	const uint8_t *p = c->p, *end = c->end;
	struct spop_slice name;
	struct spop_data value;
	uint8_t type, nargs, scope;
	ssize_t r;

	if (p == end)
		return (0);
	if ((size_t)(end - p) < 3)
		return (-1);
	type = p[0];
	nargs = p[1];
	scope = p[2];
	p += 3;
	if (type == SPOP_ACT_T_SET_VAR) {
		if (nargs != 3)
			return (-1);
	} else if (type == SPOP_ACT_T_UNSET_VAR) {
		if (nargs != 2)
			return (-1);
	} else {
		return (-1);
	}
	if (scope > SPOP_SCOPE_RES)
		return (-1);
	if ((r = spop_string_decode(p, (size_t)(end - p), &name)) < 0)
		return (-1);
	p += r;
	if (type == SPOP_ACT_T_SET_VAR) {
		if ((r = spop_data_decode(p, (size_t)(end - p), &value)) < 0)
			return (-1);
		p += r;
	} else {
		value = spop_data_null();
	}
	a->type = (enum spop_action_type)type;
	a->scope = (enum spop_scope)scope;
	a->name = name;
	a->value = value;
	c->p = p;
	return (1);
}
