/*
 * notify.c: NOTIFY payloads (haproxy doc/SPOE.txt §3.2.6):
 *   LIST-OF-MESSAGES: [ <NAME:STRING> <NB-ARGS:1 byte> <KV-LIST of NB-ARGS> ]
 */
#include "spop-int.h"

int
spop_message_next(struct spop_cursor *c, struct spop_message *m)
{
	struct spop_cursor args;
	struct spop_slice name, k;
	struct spop_data v;
	const uint8_t *p = c->p;
	unsigned nargs, i;
	ssize_t r;

	if (p == c->end)
		return (0);
	if ((r = spop_string_decode(p, (size_t)(c->end - p), &name)) < 0)
		return (-1);
	p += r;
	if (p == c->end)
		return (-1);
	nargs = *p++;   /* unsigned: 0..255 */

	/*
	 * Walk every argument now, so that a caller iterating m->args with
	 * spop_kv_next() never meets an error: the whole message is valid
	 * or it is refused here.
	 */
	args.p = p;
	args.end = c->end;
	for (i = 0; i < nargs; i++) {
		if (spop_kv_next(&args, &k, &v) != 1)
			return (-1);
	}
	m->name = name;
	m->nargs = nargs;
	m->args.p = p;
	m->args.end = args.p;
	c->p = args.p;
	return (1);
}
