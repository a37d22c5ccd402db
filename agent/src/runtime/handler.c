/*
 * handler.c: see handler.h.
 *
 * Nothing here closes a connection or re-enters its parser: an ACK for a
 * parked request is committed to the connection (sent on the next loop
 * turn), and a connection that cannot take it is aborted (closed on the
 * next loop turn).  So answering one parked request can never free
 * another one, and the parked list can be walked with a saved next.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ev.h>

#include "spoe/spop.h"

#include "answer.h"
#include "certcache.h"
#include "config.h"
#include "conn.h"
#include "decide.h"
#include "facts.h"
#include "handler.h"
#include "jwt.h"
#include "list.h"
#include "log.h"
#include "reason.h"
#include "snapshot.h"
#include "stats.h"
#include "tokcache.h"
#include "pop.h"
#include "util.h"
#include "verdict.h"

_Static_assert(REASON_COUNT <= LOG_KEY_REASONS_END,
    "one log_limited() key per reason code");

/* Parked requests per worker at most; past it, requests are decided at
 * once (key_unknown) instead of waiting for a refetch. */
#define PARKED_MAX 1024

struct handler {
	struct ev_loop *loop;
	struct snapshot *snap;        /* current; replaced between events */
	struct agent_stats *stats;
	struct tokcache *tokcache;    /* verified tokens, this worker only */
	struct certcache *certcache;  /* analysed client certificates */
	struct tokcache *dpop_replay; /* DPoP proofs seen (pop.h) */
	struct tokcache *dpop_keys;   /* DPoP proof keys (dpop.h) */
	struct list parked;           /* struct req.wlink */
	size_t nparked;
	double park_timeout;          /* seconds; 0: never park */
	bool draining;
	/* Metrics rows of the routes and issuers met under the current
	 * snapshot, by the address of their names (emptied at each new
	 * snapshot: a freed name's address may come back for another). */
	struct { const char *name; unsigned row; } rows[32];
	struct verdict scratch;       /* too big for the stack of a loop */
};

/* A parked request: everything needed to decide it again and answer it. */
struct req {
	struct list clink;            /* tracked on its conn */
	struct list wlink;            /* in handler.parked */
	struct conn *conn;
	struct handler *h;
	uint64_t sid, fid;
	size_t issuer;
	int64_t parked_ms;            /* util_mono_ms() when it parked */
	uint64_t t0_ns;               /* util_mono_ns() when it came */
	const char *kid;              /* the unknown kid, in data[] after facts */
	size_t kid_len;
	ev_timer timer;
	struct facts facts;           /* slices point into data[] */
	char data[];
};

static handler_refetch_fn *refetch_hook;
static void *refetch_arg;

/* "deny reason=<code>": the label of each reason's rate-limited lines. */
static char deny_labels[REASON_COUNT][48];
static pthread_once_t deny_labels_once = PTHREAD_ONCE_INIT;

static void
deny_labels_init(void)
{
	for (int r = 0; r < REASON_COUNT; r++)
		(void)snprintf(deny_labels[r], sizeof(deny_labels[r]),
		    "deny reason=%s", reason_name((enum reason)r));
}

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

/*
 * One line per decision: allows at debug, denies at info, a deny logged at
 * most LOG_LIMIT_BURST times a second per reason and worker (the rest is
 * counted and summed up in one "suppressed" line).  The request id is
 * HAProxy's unique-id, so the line joins HAProxy's log and APIM's; the
 * subject is a short hash, the token itself never appears.
 */
static void
log_verdict(const struct facts *f, const struct verdict *v, uint64_t t0_ns)
{
	char uid[129], src[64], path[129];
	enum log_level lvl = v->allow ? LOG_LVL_DEBUG : LOG_LVL_INFO;

	if (!LOG_ON(lvl) || (!v->allow && !log_limited((unsigned)v->reason,
	    deny_labels[v->reason])))
		return;
	{
		const struct log_field fields[] = {
			{ "unique_id", printable(uid, sizeof(uid),
			    f->unique_id.ptr, f->unique_id.len), 0, false },
			{ "route", v->route ? v->route : "-", 0, false },
			{ "result", v->allow ? "allow" : "deny", 0, false },
			{ "reason", reason_name(v->reason), 0, false },
			{ "status", NULL, v->status, true },
			{ "src", facts_src_text(f, src, sizeof(src)), 0, false },
			{ "path", printable(path, sizeof(path), f->path.ptr,
			    f->path.len), 0, false },
			{ "issuer", v->issuer, 0, false },
			{ "kid", v->kid[0] ? v->kid : NULL, 0, false },
			{ "sub_hash", v->sub_hash[0] ? v->sub_hash : NULL, 0,
			    false },
			{ "us", NULL, (long long)((util_mono_ns() - t0_ns) /
			    1000), true },
			/* Last: free text, spaces and all, in the text form. */
			{ "detail", v->detail ? v->detail : "-", 0, false },
		};

		log_event(lvl, v->allow ? "allow" : "deny", fields,
		    ARRAY_SIZE(fields));
	}
}

static int64_t
now_s(void)
{
	return ((int64_t)time(NULL));
}

/* The metrics row of label ${name} (a route or issuer name of the current
 * config, compared by address first: a request costs no string compare). */
static unsigned
row_of(struct handler *h, struct stats_names *names, unsigned max,
    const char *name)
{
	size_t slot = ((uintptr_t)name >> 3) % ARRAY_SIZE(h->rows);

	if (name == NULL)
		return (STATS_ROW_NONE);
	if (h->rows[slot].name != name) {
		h->rows[slot].name = name;
		h->rows[slot].row = stats_row(names, max, name);
	}
	return (h->rows[slot].row);
}

/* The caches' sizes and evictions, as the metrics show them. */
static void
cache_gauges(struct handler *h)
{
	struct agent_stats *st = h->stats;

	if (h->tokcache != NULL) {
		STAT_SET(st, token_cache_entries, tokcache_count(h->tokcache));
		STAT_SET(st, token_cache_evictions,
		    tokcache_evictions(h->tokcache));
	}
	STAT_SET(st, dpop_replay_entries, tokcache_count(h->dpop_replay));
	STAT_SET(st, dpop_replay_evictions, tokcache_evictions(h->dpop_replay));
	if (h->certcache != NULL) {
		struct certcache_stats cs;

		certcache_stats(h->certcache, &cs);
		STAT_SET(st, cert_cache_entries, cs.entries);
		STAT_SET(st, cert_cache_evictions, cs.evictions);
	}
}

/* Count decided ${v} (received at ${t0_ns}) under its route, its
 * verification under its issuer, and its time. */
static void
account(struct handler *h, const struct verdict *v, uint64_t t0_ns)
{
	struct agent_stats *st = h->stats;
	unsigned row = row_of(h, &st->names_routes, STATS_ROUTES, v->route);

	STAT_INC(st, route_decisions[row][v->reason]);
	if (v->verif_alg >= 0 && v->verif_alg < STATS_ALGS &&
	    v->issuer != NULL) {
		unsigned irow = row_of(h, &st->names_issuers, STATS_ISSUERS,
		    v->issuer);

		STAT_INC(st, verifications[irow][v->verif_alg][v->verif_outcome]);
	}
	stats_observe(&st->decision_duration, util_mono_ns() - t0_ns);
	cache_gauges(h);
}

/* Account for and encode a decided verdict into ${out}. */
static enum spop_err
answer(struct handler *h, const struct facts *f, struct verdict *v,
    uint64_t t0_ns, uint64_t sid, uint64_t fid, struct spop_writer *out,
    uint32_t mfs)
{
	unsigned opts = snapshot_config(h->snap)->answer;
	ssize_t n = answer_encode(v, opts, sid, fid, out, mfs);

	if (n < 0 && v->allow) {
		/* The identity does not fit the frame HAProxy negotiated:
		 * refused whole, never sent in part. */
		verdict_set(v, REASON_IDENTITY_UNSENDABLE, "answer larger "
		    "than the negotiated max-frame-size (tune.bufsize)");
		verdict_drop_vars(v);
		n = answer_encode(v, opts, sid, fid, out, mfs);
	}
	account(h, v, t0_ns);
	log_verdict(f, v, t0_ns);
	if (n < 0) {
		log_error("cannot encode the ACK for stream %llu frame %llu",
		    (unsigned long long)sid, (unsigned long long)fid);
		return (SPOP_ERR_RES);
	}
	STAT_INC(h->stats, ack_total);
	return (SPOP_ERR_NONE);
}

static void
req_free(struct req *r)
{
	ev_timer_stop(r->h->loop, &r->timer);
	list_del(&r->wlink);
	r->h->nparked--;
	STAT_SET(r->h->stats, parked_now, r->h->nparked);
	free(r);
}

/*
 * Ask for a refetch of the keys of the issuer a request parks on, unless
 * another request of ${h} is parked on the same kid already (it asked; the
 * fetcher answers every request parked on a kid at once).  O(parked),
 * bounded by PARKED_MAX, on the park path only.
 */
static void
ask_refetch(struct handler *h, const struct decide_env *env)
{
	const struct config *cfg = snapshot_config(h->snap);
	struct list *l;

	if (refetch_hook == NULL || env->park_issuer >= cfg->nissuers)
		return;
	for (l = h->parked.next; l != &h->parked; l = l->next) {
		const struct req *r = container_of(l, struct req, wlink);

		if (r->issuer == env->park_issuer &&
		    r->kid_len == env->park_kid_len &&
		    memcmp(r->kid, env->park_kid, env->park_kid_len) == 0)
			return;
	}
	STAT_INC(h->stats, parked_refetch_asks);
	refetch_hook(refetch_arg, cfg->issuers[env->park_issuer].name,
	    env->park_kid, env->park_kid_len);
}

/*
 * Decide a parked request again under the current snapshot and answer it.
 * Unless ${final} (its deadline passed, or the fetcher said the refetch is
 * over), a request whose key is still being fetched stays parked with its
 * original deadline.  Frees ${r} unless it stays parked; frees nothing
 * else.
 */
static void
redecide(struct req *r, bool final, bool timed_out)
{
	struct handler *h = r->h;
	struct conn *c = r->conn;
	const struct config *cfg = snapshot_config(h->snap);
	struct decide_env env = {
		.now = now_s(), .tokcache = h->tokcache,
		.certcache = h->certcache, .stats = h->stats,
		.dpop_replay = h->dpop_replay, .dpop_keys = h->dpop_keys,
	};
	struct spop_writer out;

	/* A fetch of the key set that started after the request parked has
	 * ended: its snapshot is the answer, there is nothing more to wait
	 * for. */
	if (r->issuer < cfg->nissuers &&
	    snapshot_kid_served(h->snap, r->issuer) >= r->parked_ms)
		final = true;
	env.may_park = !final && !h->draining;

	if (decide(&r->facts, h->snap, &env, &h->scratch) == DECIDE_PARK) {
		/* Still waiting for the refetch asked when it parked (the
		 * fetcher single-flights): no new request. */
		r->issuer = env.park_issuer;
		return;
	}
	if (timed_out)
		STAT_INC(h->stats, parked_timeouts);
	stats_observe(&h->stats->parked_duration,
	    util_mono_ns() - r->t0_ns);
	conn_untrack(c, &r->clink);
	if (conn_writer(c, &out) == 0 &&
	    answer(h, &r->facts, &h->scratch, r->t0_ns, r->sid, r->fid, &out,
	    conn_max_frame(c)) == SPOP_ERR_NONE) {
		conn_commit(c, &out);
	} else {
		/* No room for the ACK (the peer stopped reading): close, so
		 * HAProxy fails this request now instead of at its timeout. */
		log_warn("cannot queue the ACK of a parked request: closing "
		    "the connection");
		conn_abort(c);
	}
	req_free(r);
}

static void
on_park_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	redecide(container_of(t, struct req, timer), true, true);
}

void
handler_cancel(struct handler *h, struct list *link)
{
	(void)h;
	/* The connection already unlinked ${link}. */
	req_free(container_of(link, struct req, clink));
}

/*
 * Decide again the parked requests on ${kid} (${kid_len} bytes) of
 * ${issuer} (${kid} NULL: all of them).  redecide() frees at most the
 * request it is given, so the walk keeps its next link.
 */
static void
retry(struct handler *h, size_t issuer, const char *kid, size_t kid_len,
    bool final)
{
	struct list *l, *next;

	list_for_each_safe(l, next, &h->parked) {
		struct req *r = container_of(l, struct req, wlink);

		if (kid == NULL || (r->issuer == issuer &&
		    r->kid_len == kid_len &&
		    memcmp(r->kid, kid, kid_len) == 0))
			redecide(r, final, false);
	}
}

void
handler_kid_absent(struct handler *h, size_t issuer, const char *kid,
    size_t kid_len)
{
	if (kid != NULL && kid_len > 0)
		retry(h, issuer, kid, kid_len, true);
}

void
handler_set_snapshot(struct handler *h, struct snapshot *snap)
{
	struct snapshot *old = h->snap;

	h->snap = snap;
	memset(h->rows, 0, sizeof(h->rows));    /* names may be freed */
	/* Verified tokens whose key set changed (or whose config was
	 * replaced) die now, not at their exp; a publication that changed
	 * no key set (a 304 revalidation) sweeps nothing. */
	if (jwt_cache_sweep(h->tokcache, old, snap))
		STAT_INC(h->stats, token_cache_sweeps);
	cache_gauges(h);
	/* Parked requests: decided now if the new snapshot has their key or
	 * ends a fetch that started after they parked; the others keep
	 * waiting (for the next fetch, or their deadline). */
	retry(h, SIZE_MAX, NULL, 0, false);
	snapshot_unref(old);
}

void
handler_drain(struct handler *h)
{
	h->draining = true;
}

size_t
handler_parked(const struct handler *h)
{
	return (h->nparked);
}

static int
park(struct handler *h, struct conn *c, const struct facts *f, uint64_t t0_ns,
    uint64_t sid, uint64_t fid, const struct decide_env *env)
{
	size_t need = facts_copy_size(f);
	struct req *r;

	/* Bounded: each parked request holds a copy of its frame's facts. */
	if (h->nparked >= PARKED_MAX ||
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
	r->h = h;
	r->sid = sid;
	r->fid = fid;
	r->issuer = env->park_issuer;
	r->parked_ms = util_mono_ms();
	r->t0_ns = t0_ns;
	ask_refetch(h, env);            /* before ${r} joins h->parked */
	conn_track(c, &r->clink);
	list_add_tail(&h->parked, &r->wlink);
	h->nparked++;
	STAT_SET(h->stats, parked_now, h->nparked);
	ev_timer_init(&r->timer, on_park_timeout, h->park_timeout, 0.);
	ev_timer_start(h->loop, &r->timer);
	STAT_INC(h->stats, parked_total);
	return (0);
}

/* check-retry: the same question, asked again by haproxy.cfg when the
 * first got no answer (iam.spoe.conf). */
static bool
is_check(const struct spop_message *m)
{
	return (MEM_EQ_LIT(m->name.ptr, m->name.len, "check-request") ||
	    MEM_EQ_LIT(m->name.ptr, m->name.len, "check-retry"));
}

/* The facts of a NOTIFY's first check message, read while it is walked. */
struct scan {
	struct facts f;
	const uint8_t *msg;             /* the message seen last */
	bool want;                      /* ... is a check message */
};

static void
scan_arg(void *arg, const struct spop_message *m,
    const struct spop_slice *name, const struct spop_data *value)
{
	struct scan *s = arg;

	if (s->msg != m->name.ptr) {
		s->msg = m->name.ptr;
		s->want = is_check(m);
	}
	if (s->want)
		facts_arg(&s->f, name, value);
}

enum spop_err
handler_notify(struct handler *h, struct conn *c, uint64_t sid, uint64_t fid,
    const uint8_t *payload, size_t len, struct spop_writer *out)
{
	struct spop_cursor cur;
	struct spop_message m;
	struct scan sc = { .msg = NULL };
	struct facts *f = &sc.f;
	bool found = false;
	uint64_t t0 = util_mono_ns();
	int r;

	STAT_INC(h->stats, notify_total);
	facts_init(f);
	spop_cursor_init(&cur, payload, len);
	/* One pass: each message is validated whole, and the first check
	 * message's arguments become the facts as they are validated. */
	while ((r = spop_message_walk(&cur, &m, scan_arg, &sc)) == 1) {
		if (is_check(&m)) {
			found = true;
			break;
		}
	}
	if (r < 0)
		return (SPOP_ERR_INVALID);
	if (!found) {
		/* Our SPOE file sends check-request and check-retry only.
		 * Anything else is a configuration error: answer (no stall)
		 * and fail closed. */
		verdict_init(&h->scratch);
		verdict_set(&h->scratch, REASON_NO_ROUTE,
		    "no check-request message");
		return (answer(h, f, &h->scratch, t0, sid, fid, out,
		    conn_max_frame(c)));
	}

	struct decide_env env = {
		.now = now_s(), .tokcache = h->tokcache,
		.certcache = h->certcache, .stats = h->stats,
		.dpop_replay = h->dpop_replay, .dpop_keys = h->dpop_keys,
		.may_park = h->park_timeout > 0 && !h->draining,
	};
	if (decide(f, h->snap, &env, &h->scratch) == DECIDE_PARK) {
		if (park(h, c, f, t0, sid, fid, &env) == 0)
			return (SPOP_ERR_NONE);
		/* Could not park: decide now without waiting. */
		env.may_park = false;
		(void)decide(f, h->snap, &env, &h->scratch);
	}
	return (answer(h, f, &h->scratch, t0, sid, fid, out,
	    conn_max_frame(c)));
}

struct handler *
handler_new(struct ev_loop *loop, struct snapshot *snap,
    struct agent_stats *stats)
{
	const struct config *cfg = snapshot_config(snap);
	struct handler *h;

	(void)pthread_once(&deny_labels_once, deny_labels_init);
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		goto err0;
	h->tokcache = tokcache_new(cfg->token_cache_entries);
	if (h->tokcache == NULL && cfg->token_cache_entries > 0)
		goto err1;
	h->certcache = certcache_new(cfg->cert_cache_entries);
	if (h->certcache == NULL)
		goto err2;
	if ((h->dpop_replay = tokcache_new(POP_REPLAY_ENTRIES)) == NULL ||
	    (h->dpop_keys = dpop_keys_new()) == NULL) {
		tokcache_free(h->dpop_replay);
		certcache_free(h->certcache);
		goto err2;
	}
	h->loop = loop;
	h->stats = stats;
	h->park_timeout = cfg->park_timeout_ms / 1000.0;
	list_init(&h->parked);
	h->snap = snapshot_ref(snap);
	return (h);

err2:
	tokcache_free(h->tokcache);
err1:
	free(h);
err0:
	return (NULL);
}

void
handler_free(struct handler *h)
{
	struct list *l;

	if (h == NULL)
		return;
	/* Normally none: closing the connections cancelled them. */
	while ((l = list_first(&h->parked)) != NULL)
		req_free(container_of(l, struct req, wlink));
	tokcache_free(h->tokcache);
	certcache_free(h->certcache);
	tokcache_free(h->dpop_replay);
	tokcache_free(h->dpop_keys);
	snapshot_unref(h->snap);
	free(h);
}
