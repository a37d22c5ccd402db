/*
 * handler.c: NOTIFY → facts → decide() → ACK, and the parking of requests
 * that wait for a key refetch.
 *
 * Completion contract (agent/DESIGN.md): every NOTIFY gets exactly one ACK.
 * Most are answered inside handler_notify(); a parked one is answered by
 * redecide() — when a new snapshot has its key or says a key set fetch
 * that started after the request parked has ended (kid_served_ms), when
 * the fetcher says no refetch will bring its kid (handler_kid_absent()),
 * or when its deadline passes — unless its connection closed first (then
 * handler_cancel() frees it without answering).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "spoe/spop.h"

#include "answer.h"
#include "config.h"
#include "decide.h"
#include "facts.h"
#include "handler.h"
#include "jwt.h"
#include "log.h"
#include "reason.h"
#include "runtime.h"
#include "snapshot.h"
#include "stats.h"
#include "tokcache.h"
#include "util.h"
#include "verdict.h"

/* A parked request: everything needed to decide it again and answer it. */
struct req {
	struct rt_link clink;       /* in its conn's list */
	struct rt_link wlink;       /* in the worker's parked list */
	struct conn *conn;
	struct wctx *w;
	uint64_t sid, fid;
	size_t issuer;
	int64_t parked_ms;          /* util_mono_ms() when it parked */
	const char *kid;            /* the unknown kid, in data[] after facts */
	size_t kid_len;
	ev_timer timer;
	struct facts facts;         /* slices point into data[] */
	char data[];
};

static handler_refetch_fn *refetch_hook;
static void *refetch_arg;

/* Parked requests per worker at most; past it, requests are decided at
 * once (key_unknown) instead of waiting for a refetch. */
#define PARKED_MAX 1024

/* One scratch verdict per worker thread: too big for the stack of a loop. */
static _Thread_local struct verdict scratch;

void
handler_set_refetch(handler_refetch_fn *fn, void *arg)
{
	refetch_hook = fn;
	refetch_arg = arg;
}

/* Copy ${len} bytes of ${p} as printable ASCII for a log line. */
static const char *
printable(char *buf, size_t cap, const char *p, size_t len)
{
	if (p == NULL || util_printable(buf, cap, p, len) == 0)
		return ("-");
	return (buf);
}

static void
log_verdict(const struct facts *f, const struct verdict *v)
{
	char uid[129], src[64], path[129];

	if (v->allow) {
		log_debug("allow unique_id=%s route=%s src=%s",
		    printable(uid, sizeof(uid), f->unique_id.ptr, f->unique_id.len),
		    v->route ? v->route : "-", facts_src_text(f, src, sizeof(src)));
		return;
	}
	log_info("deny unique_id=%s route=%s reason=%s status=%d src=%s "
	    "path=%s detail=%s",
	    printable(uid, sizeof(uid), f->unique_id.ptr, f->unique_id.len),
	    v->route ? v->route : "-", reason_name(v->reason), v->status,
	    facts_src_text(f, src, sizeof(src)),
	    printable(path, sizeof(path), f->path.ptr, f->path.len),
	    v->detail ? v->detail : "-");
}

static int64_t
now_s(void)
{
	return ((int64_t)time(NULL));
}

/* Account for and encode a decided verdict into ${out}. */
static enum spop_err
answer(struct wctx *w, const struct facts *f, struct verdict *v,
    uint64_t sid, uint64_t fid, struct spop_writer *out, uint32_t mfs)
{
	ssize_t n = answer_encode(v, sid, fid, out, mfs);

	if (n < 0 && v->allow) {
		/* The identity does not fit the frame HAProxy negotiated:
		 * refused whole, never sent in part. */
		verdict_set(v, REASON_IDENTITY_UNSENDABLE, "answer larger "
		    "than the negotiated max-frame-size (tune.bufsize)");
		verdict_drop_vars(v);
		n = answer_encode(v, sid, fid, out, mfs);
	}
	STAT_INC(w->stats, decisions[v->reason]);
	log_verdict(f, v);
	if (n < 0) {
		log_error("cannot encode the ACK for stream %llu frame %llu",
		    (unsigned long long)sid, (unsigned long long)fid);
		return (SPOP_ERR_RES);
	}
	STAT_INC(w->stats, ack_total);
	return (SPOP_ERR_NONE);
}

static void
req_free(struct req *r)
{
	ev_timer_stop(r->w->loop, &r->timer);
	rt_list_del(&r->wlink);
	r->w->nparked--;
	free(r);
}

/*
 * Ask for a refetch of the keys of the issuer a request parks on, unless
 * another request of ${w} is parked on the same kid already (it asked; the
 * fetcher answers every request parked on a kid at once).  O(parked),
 * bounded by PARKED_MAX, on the park path only.
 */
static void
ask_refetch(struct wctx *w, const struct decide_env *env)
{
	const struct config *cfg = snapshot_config(w->snap);

	if (refetch_hook == NULL || env->park_issuer >= cfg->nissuers)
		return;
	for (struct rt_link *l = w->parked.next; l != &w->parked; l = l->next) {
		const struct req *r = rt_container(l, struct req, wlink);

		if (r->issuer == env->park_issuer &&
		    r->kid_len == env->park_kid_len &&
		    memcmp(r->kid, env->park_kid, env->park_kid_len) == 0)
			return;
	}
	STAT_INC(w->stats, parked_refetch_asks);
	refetch_hook(refetch_arg, cfg->issuers[env->park_issuer].name,
	    env->park_kid, env->park_kid_len);
}

/*
 * Decide a parked request again under the worker's current snapshot and
 * answer it.  Unless ${final} (its deadline passed, or the fetcher said
 * the refetch is over), a request whose key is still being fetched stays
 * parked with its original deadline.
 */
static void
redecide(struct req *r, bool final, bool timed_out)
{
	struct wctx *w = r->w;
	struct conn *c = r->conn;
	const struct config *cfg = snapshot_config(w->snap);
	struct decide_env env = {
		.now = now_s(), .tokcache = w->tokcache,
		.certcache = w->certcache, .stats = w->stats,
	};
	struct spop_writer out;

	/* A fetch of the key set that started after the request parked has
	 * ended: its snapshot is the answer, there is nothing more to wait
	 * for. */
	if (r->issuer < cfg->nissuers &&
	    w->snap->kid_served_ms[r->issuer] >= r->parked_ms)
		final = true;
	env.may_park = !final && !w->draining;

	if (decide(&r->facts, w->snap, &env, &scratch) == DECIDE_PARK) {
		/* Still waiting for the refetch asked when it parked (the
		 * fetcher single-flights): no new request. */
		r->issuer = env.park_issuer;
		return;
	}
	if (timed_out)
		STAT_INC(w->stats, parked_timeouts);
	/* Unlink first: committing may close the connection, which would
	 * otherwise cancel (free) this very request. */
	conn_req_detach(c, &r->clink);
	if (conn_writer(c, &out) == 0 &&
	    answer(w, &r->facts, &scratch, r->sid, r->fid, &out,
	    conn_max_frame(c)) == SPOP_ERR_NONE) {
		conn_commit(c, &out);
		conn_req_done(c);
	} else {
		/* No room for the ACK (the peer stopped reading): close, so
		 * HAProxy fails this request now instead of at its timeout. */
		log_warn("cannot queue the ACK of a parked request: closing "
		    "the connection");
		conn_close(c);
	}
	req_free(r);
}

static void
on_park_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct req *r = rt_container(t, struct req, timer);

	(void)loop;
	(void)revents;
	redecide(r, true, true);
}

void
handler_cancel(struct rt_link *link)
{
	/* The connection already unlinked ${link}. */
	req_free(rt_container(link, struct req, clink));
}

/*
 * Decide again the parked requests on ${kid} (${kid_len} bytes) of
 * ${issuer} (${kid} NULL: all of them).  They are first moved to a private
 * list and taken from its head one at a time: answering one may close its
 * connection and cancel (free) others, which then simply leave that list;
 * no pointer to a freed request is ever followed.
 */
static void
retry(struct wctx *w, size_t issuer, const char *kid, size_t kid_len,
    bool final)
{
	struct rt_link todo, *l, *next;

	rt_list_init(&todo);
	for (l = w->parked.next; l != &w->parked; l = next) {
		struct req *r = rt_container(l, struct req, wlink);

		next = l->next;
		if (kid == NULL || (r->issuer == issuer &&
		    r->kid_len == kid_len &&
		    memcmp(r->kid, kid, kid_len) == 0)) {
			rt_list_del(l);
			rt_list_add(&todo, l);
		}
	}
	while (!rt_list_empty(&todo)) {
		struct req *r = rt_container(todo.next, struct req, wlink);

		rt_list_del(&r->wlink);
		rt_list_add(&w->parked, &r->wlink);
		redecide(r, final, false);
	}
}

void
handler_kid_absent(struct wctx *w, size_t issuer, const char *kid,
    size_t kid_len)
{
	if (kid != NULL && kid_len > 0)
		retry(w, issuer, kid, kid_len, true);
}

void
handler_snapshot_changed(struct wctx *w, const struct snapshot *old)
{
	/* Verified tokens whose key left the set (or whose config was
	 * replaced) die now, not at their exp.  O(entries), once per
	 * publication, which is rare next to requests. */
	(void)old;
	tokcache_sweep(w->tokcache, jwt_cache_keep, w->snap);
	/* Parked requests: decided now if the new snapshot has their key or
	 * ends a fetch that started after they parked; the others keep
	 * waiting (for the next fetch, or their deadline). */
	retry(w, SIZE_MAX, NULL, 0, false);
}

static int
park(struct wctx *w, struct conn *c, const struct facts *f, uint64_t sid,
    uint64_t fid, const struct decide_env *env)
{
	size_t need = facts_copy_size(f);
	struct req *r;

	/* Bounded: each parked request holds a copy of its frame's facts. */
	if (w->nparked >= PARKED_MAX ||
	    env->park_kid_len > sizeof(env->park_kid_buf) ||
	    (r = malloc(sizeof(*r) + need + env->park_kid_len)) == NULL)
		return (-1);
	if (facts_copy(f, &r->facts, r->data, need) != 0) {
		free(r);
		return (-1);
	}
	/* The token, hence its kid, is the same each time it is decided. */
	memcpy(r->data + need, env->park_kid, env->park_kid_len);
	r->kid = r->data + need;
	r->kid_len = env->park_kid_len;
	r->conn = c;
	r->w = w;
	r->sid = sid;
	r->fid = fid;
	r->issuer = env->park_issuer;
	r->parked_ms = util_mono_ms();
	ask_refetch(w, env);            /* before ${r} joins w->parked */
	conn_req_attach(c, &r->clink);
	rt_list_add(&w->parked, &r->wlink);
	w->nparked++;
	ev_timer_init(&r->timer, on_park_timeout, w->park_timeout, 0.);
	ev_timer_start(w->loop, &r->timer);
	STAT_INC(w->stats, parked_total);
	return (0);
}

enum spop_err
handler_notify(void *arg, uint64_t sid, uint64_t fid, const uint8_t *payload,
    size_t len, struct spop_writer *out)
{
	struct conn *c = arg;
	struct wctx *w = conn_wctx(c);
	struct spop_cursor cur;
	struct spop_message m;
	struct facts f;
	bool found = false;
	int r;

	STAT_INC(w->stats, notify_total);
	spop_cursor_init(&cur, payload, len);
	while ((r = spop_message_next(&cur, &m)) == 1) {
		if (MEM_EQ_LIT(m.name.ptr, m.name.len, "check-request")) {
			found = true;
			break;
		}
	}
	if (r < 0)
		return (SPOP_ERR_INVALID);
	if (!found) {
		/* Our SPOE file sends check-request only.  Anything else is a
		 * configuration error: answer (no stall) and fail closed. */
		verdict_init(&scratch);
		verdict_set(&scratch, REASON_NO_ROUTE, "no check-request message");
		memset(&f, 0, sizeof(f));
		return (answer(w, &f, &scratch, sid, fid, out, conn_max_frame(c)));
	}
	if (facts_from_args(&m.args, &f) != 0)
		return (SPOP_ERR_INVALID);

	struct decide_env env = {
		.now = now_s(), .tokcache = w->tokcache,
		.certcache = w->certcache, .stats = w->stats,
		.may_park = w->park_timeout > 0 && !w->draining,
	};
	if (decide(&f, w->snap, &env, &scratch) == DECIDE_PARK) {
		if (park(w, c, &f, sid, fid, &env) == 0)
			return (SPOP_ERR_NONE);
		/* Could not park: decide now without waiting. */
		env.may_park = false;
		(void)decide(&f, w->snap, &env, &scratch);
	}
	return (answer(w, &f, &scratch, sid, fid, out, conn_max_frame(c)));
}
