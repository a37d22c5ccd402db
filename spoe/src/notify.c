/*
 * notify.c: NOTIFY payloads (haproxy doc/SPOE.txt §3.2.6):
 *   LIST-OF-MESSAGES: [ <NAME:STRING> <NB-ARGS:1 byte> <KV-LIST of NB-ARGS> ]
 */
#include "spop-int.h"

int
spop_message_walk(struct spop_cursor *c, struct spop_message *m,
    spop_arg_fn *fn, void *arg)
{
	struct spop_cursor args;
	struct spop_slice k;
	struct spop_data v;
	const uint8_t *p = c->p;
	unsigned i;
	ssize_t r;

	if (p == c->end)
		return (0);
	if ((r = spop_string_decode(p, (size_t)(c->end - p), &m->name)) < 0)
		return (-1);
	p += r;
	if (p == c->end)
		return (-1);
	m->nargs = *p++;   /* unsigned: 0..255 */
	m->args.p = m->args.end = p;

	/*
	 * Walk every argument now, so that a caller iterating m->args with
	 * spop_kv_next() never meets an error: the whole message is valid
	 * or it is refused here.  ${fn} sees each one as it is validated.
	 */
	args.p = p;
	args.end = c->end;
	for (i = 0; i < m->nargs; i++) {
		if (spop_kv_next(&args, &k, &v) != 1)
			return (-1);
		if (fn != NULL)
			fn(arg, m, &k, &v);
	}
	m->args.end = args.p;
	c->p = args.p;
	return (1);
}

int
spop_message_next(struct spop_cursor *c, struct spop_message *m)
{
	return (spop_message_walk(c, m, NULL, NULL));
}
