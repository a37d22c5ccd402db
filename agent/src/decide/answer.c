/*
 * answer.c: see answer.h.
 */
#include <string.h>

#include "spoe/spop.h"

#include "config-t.h"
#include "answer.h"
#include "verdict.h"

static void
set_str(struct spop_writer *w, const char *name, const char *val, size_t len)
{
	spop_w_set_var_str(w, SPOP_SCOPE_TXN, name, strlen(name), val, len);
}

/* What an ACK carries, from everything down to the minimum. */
enum answer_level { ANS_FULL, ANS_CORE, ANS_MIN };

static ssize_t
encode(const struct verdict *v, unsigned opts, uint64_t sid, uint64_t fid,
    struct spop_writer *w, uint32_t max_frame_size, enum answer_level lvl)
{
	struct spop_data d;
	const char *reason = reason_name(v->reason);

	spop_w_begin(w, SPOP_FRM_T_AGENT_ACK, SPOP_FRM_FL_FIN, sid, fid);
	d = spop_data_bool(v->allow);
	spop_w_set_var(w, SPOP_SCOPE_TXN, "allow", 5, &d);
	if (!v->allow || (opts & ANSWER_OK_STATUS)) {
		d = spop_data_int32(v->status);
		spop_w_set_var(w, SPOP_SCOPE_TXN, "status", 6, &d);
	}
	if (!v->allow || (opts & ANSWER_OK_REASON))
		set_str(w, "reason", reason, strlen(reason));
	/* A route name is never empty (config). */
	if (lvl <= ANS_CORE && v->route != NULL)
		set_str(w, "route", v->route, strlen(v->route));
	if (lvl <= ANS_CORE && v->www_authenticate[0] != '\0')
		set_str(w, "www_authenticate", v->www_authenticate,
		    strlen(v->www_authenticate));
	if (lvl == ANS_FULL)
		for (size_t i = 0; i < v->nvars; i++)
			if (v->vars[i].len > 0)
				set_str(w, v->vars[i].name, v->vars[i].val,
				    v->vars[i].len);
	return (spop_w_end(w, max_frame_size));
}

ssize_t
answer_encode(const struct verdict *v, unsigned opts, uint64_t sid,
    uint64_t fid, struct spop_writer *w, uint32_t max_frame_size)
{
	ssize_t n = encode(v, opts, sid, fid, w, max_frame_size, ANS_FULL);

	/* Never an allowed request with part of its identity. */
	if (n < 0 && v->allow)
		return (-1);
	if (n < 0)
		n = encode(v, opts, sid, fid, w, max_frame_size, ANS_CORE);
	/* allow, status and reason always fit in the 256-byte minimum. */
	if (n < 0)
		n = encode(v, opts, sid, fid, w, max_frame_size, ANS_MIN);
	return (n);
}
