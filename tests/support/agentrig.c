/*
 * agentrig.c: one SPOP connection of the real runtime (conn.c + handler.c
 * + decide) on a private ev_loop, driven over a socketpair, with a fixed
 * snapshot built from a small config.  #included by tests/unit/agent/
 * test_conn.c and tests/fuzz/fuzz_agent.c, which play HAProxy's side.
 *
 * The rig is the composition root here (as worker.c is in the agent): its
 * conn_ops count every NOTIFY accepted, every cancel, and check that no
 * NOTIFY is delivered while a handler call made from outside a read
 * (rig.outside) is running: input is never re-entered from the write path.
 *
 * The snapshot: issuer "remote" (https://r.e, a jwks_url source, ES256)
 * whose key set holds only kid "k1", so a token with another kid parks;
 * routes /open (require none) and /jwt (require jwt).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "spoe/spop.h"

#include "config.h"
#include "conn.h"
#include "handler.h"
#include "jwks.h"
#include "list.h"
#include "loader.h"
#include "log.h"
#include "snapshot.h"
#include "stats.h"
#include "util.h"

#define RIG_OUT_MAX   (1u << 20)        /* bytes of agent output kept */
#define RIG_IDS_MAX   4096

/* ES256, kid "n" (not in the key set), iss https://r.e; signature zeros. */
#define RIG_PARK_TOKEN "eyJhbGciOiJFUzI1NiIsImtpZCI6Im4ifQ." \
	"eyJpc3MiOiJodHRwczovL3IuZSJ9." \
	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

struct rig_id {
	uint64_t sid, fid;
	unsigned notified, acked;
};

struct rig {
	struct ev_loop *loop;
	struct snapshot *snap;
	struct handler *h;
	struct conn_set *set;
	struct agent_stats *stats;
	struct conn_limits lim;
	struct conn *c;
	int peer;                       /* HAProxy's end */
	bool peer_eof;                  /* the agent closed its end */
	bool outside;                   /* in a handler call outside a read */
	bool no_read;                   /* HAProxy stops reading ACKs */
	bool keep_open;                 /* ... or does not close at EOF */
	unsigned accepted, cancelled, closed, reentered;
	unsigned acks, disconnects, after_disconnect, unknown_acks;
	uint8_t out[RIG_OUT_MAX];       /* what the agent sent, not yet parsed */
	size_t out_len;
	struct rig_id ids[RIG_IDS_MAX];
	size_t nids;
	ev_timer tick;
};

static __attribute__((unused)) struct rig_id *
rig_id(struct rig *r, uint64_t sid, uint64_t fid, bool add)
{
	for (size_t i = 0; i < r->nids; i++)
		if (r->ids[i].sid == sid && r->ids[i].fid == fid)
			return (&r->ids[i]);
	if (!add || r->nids == RIG_IDS_MAX)
		return (NULL);
	r->ids[r->nids] = (struct rig_id){ sid, fid, 0, 0 };
	return (&r->ids[r->nids++]);
}

static __attribute__((unused)) enum spop_err
rig_on_notify(void *arg, struct conn *c, uint64_t sid, uint64_t fid,
    const uint8_t *payload, size_t len, struct spop_writer *out)
{
	struct rig *r = arg;
	enum spop_err e;
	struct rig_id *id;

	if (r->outside)
		r->reentered++;
	e = handler_notify(r->h, c, sid, fid, payload, len, out);
	if (e == SPOP_ERR_NONE) {
		r->accepted++;
		if ((id = rig_id(r, sid, fid, true)) != NULL)
			id->notified++;
	}
	return (e);
}

static __attribute__((unused)) void
rig_on_cancel(void *arg, struct list *link)
{
	struct rig *r = arg;

	r->cancelled++;
	handler_cancel(r->h, link);
}

static __attribute__((unused)) void
rig_on_closed(void *arg, struct conn_set *set)
{
	struct rig *r = arg;

	(void)set;
	r->closed++;
}

static const struct conn_ops rig_ops = {
	.notify = rig_on_notify, .cancel = rig_on_cancel,
	.closed = rig_on_closed,
};

static const char rig_config[] =
    "{\"listen\": [\"127.0.0.1:1\"], \"park_timeout_ms\": %u,\n"
    " \"issuers\": [{\"name\": \"remote\", \"issuer\": \"https://r.e\",\n"
    "   \"jwks_url\": \"https://r.e/keys\", \"algorithms\": [\"ES256\"],\n"
    "   \"audiences\": [\"api://x\"]}],\n"
    " \"routes\": [{\"name\": \"open\", \"path_prefix\": \"/open\", \"require\": \"none\"},\n"
    "   {\"name\": \"jwt\", \"path_prefix\": \"/jwt\", \"require\": \"jwt\"}]}\n";

/* The P-256 base point as a public key, kid "k1": a valid point. */
static const char rig_jwks[] = "{\"keys\": [{\"kty\": \"EC\", \"crv\": \"P-256\","
    " \"kid\": \"k1\", \"x\": \"axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY\","
    " \"y\": \"T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU\"}]}";

/* A snapshot of rig_config with park_timeout_ms ${park_ms}; NULL on error. */
static __attribute__((unused)) struct snapshot *
rig_snapshot(unsigned park_ms)
{
	char doc[1024], err[256];
	struct config_errors errs = { 0 };
	struct config *cfg = NULL;
	struct snapshot *s = NULL;
	struct keyset *ks = NULL;
	int n = snprintf(doc, sizeof(doc), rig_config, park_ms);

	if (n < 0 || (size_t)n >= sizeof(doc) ||
	    config_parse(doc, (size_t)n, NULL, &cfg, &errs) != 0 ||
	    loader_build(cfg, NULL, &s, &errs) != 0 ||
	    loader_keys_from_doc("rig", rig_jwks, sizeof(rig_jwks) - 1, &ks,
	    err, sizeof(err)) != 0) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "rig: %s\n", errs.v[i]);
		config_errors_free(&errs);
		snapshot_unref(s);
		return (NULL);
	}
	snapshot_set_keys(s, 0, ks, (int64_t)time(NULL));
	keyset_unref(ks);
	return (s);
}

/*
 * A snapshot after ${old}: same config and keys; the refetch of issuer 0
 * ended now (requests parked before are decided for good).
 */
static __attribute__((unused)) struct snapshot *
rig_refetched(const struct snapshot *old)
{
	struct snapshot *s = snapshot_derive(old, old->cfg);

	if (s != NULL)
		s->kid_served_ms[0] = util_mono_ms();
	return (s);
}

static __attribute__((unused)) void
rig_on_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
}

static struct agent_stats rig_stats;

/*
 * rig_open(r, loop, snap, lim): ${r} serves one connection on ${loop}
 * (the caller's, reused) under ${snap} (a reference is taken) and ${lim}.
 * Return 0, or -1.
 */
static __attribute__((unused)) int
rig_open(struct rig *r, struct ev_loop *loop, struct snapshot *snap,
    const struct conn_limits *lim)
{
	int sv[2];

	memset(r, 0, sizeof(*r));
	r->loop = loop;
	r->stats = &rig_stats;
	r->lim = *lim;
	r->snap = snap;
	if ((r->h = handler_new(loop, snap, r->stats)) == NULL)
		return (-1);
	if ((r->set = conn_set_new(loop, lim, &rig_ops, r, r->stats)) == NULL)
		return (-1);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv) != 0)
		return (-1);
	r->peer = sv[1];
	r->c = conn_new(r->set, sv[0]);
	ev_timer_init(&r->tick, rig_on_tick, 0.005, 0.005);
	ev_timer_start(loop, &r->tick);
	return (r->c != NULL ? 0 : -1);
}

/* Read what the agent sent into r->out; note its EOF. */
static __attribute__((unused)) void
rig_drain_peer(struct rig *r)
{
	while (!r->no_read && !r->peer_eof && r->out_len < sizeof(r->out)) {
		ssize_t n = read(r->peer, r->out + r->out_len,
		    sizeof(r->out) - r->out_len);

		if (n > 0)
			r->out_len += (size_t)n;
		else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			/* The agent is done: close our side too, as HAProxy
			 * does (the agent waits for that before it closes). */
			r->peer_eof = true;
			if (!r->keep_open)
				(void)shutdown(r->peer, SHUT_WR);
		} else
			break;
	}
}

/* Parse the whole frames of r->out: count ACKs per id, DISCONNECTs. */
static __attribute__((unused)) void
rig_parse(struct rig *r)
{
	size_t off = 0;

	for (;;) {
		struct spop_frame f;
		enum spop_err err;
		uint32_t flen;

		if (spop_frame_peek(r->out + off, r->out_len - off, &flen) != 1 ||
		    flen > r->out_len - off - SPOP_FRAME_LEN_SIZE)
			break;
		if (spop_frame_decode(r->out + off + SPOP_FRAME_LEN_SIZE, flen,
		    &f, &err) == 0) {
			if (r->disconnects > 0)
				r->after_disconnect++;
			if (f.type == SPOP_FRM_T_AGENT_ACK) {
				struct rig_id *id = rig_id(r, f.stream_id,
				    f.frame_id, false);

				r->acks++;
				if (id == NULL)
					r->unknown_acks++;
				else
					id->acked++;
			} else if (f.type == SPOP_FRM_T_AGENT_DISCON) {
				r->disconnects++;
			}
		}
		off += SPOP_FRAME_LEN_SIZE + flen;
	}
	memmove(r->out, r->out + off, r->out_len - off);
	r->out_len -= off;
}

/* Run the loop for about ${ms} milliseconds, taking the agent's output. */
static __attribute__((unused)) void
rig_run(struct rig *r, unsigned ms)
{
	int64_t until = util_mono_ms() + ms;

	do {
		ev_run(r->loop, EVRUN_ONCE);
		rig_drain_peer(r);
		rig_parse(r);
	} while (util_mono_ms() < until);
}

/* Send ${len} bytes to the agent (as far as the socket takes them now,
 * running the loop meanwhile); return what was sent. */
static __attribute__((unused)) size_t
rig_send(struct rig *r, const void *p, size_t len)
{
	size_t done = 0;
	int spins = 0;

	while (done < len && spins < 200) {
		ssize_t n = send(r->peer, (const uint8_t *)p + done, len - done,
		    MSG_NOSIGNAL);

		if (n > 0) {
			done += (size_t)n;
			spins = 0;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			break;
		spins++;
		ev_run(r->loop, EVRUN_ONCE);
		rig_drain_peer(r);
		rig_parse(r);
	}
	return (done);
}

/* HAPROXY-HELLO offering ${mfs} and pipelining, into ${buf}; its size. */
static __attribute__((unused)) size_t
rig_hello(uint8_t *buf, size_t cap, uint32_t mfs)
{
	ssize_t n = spop_haproxy_hello_encode(buf, cap, "2.0", mfs,
	    "pipelining", false, NULL);

	return (n > 0 ? (size_t)n : 0);
}

/* A check-request NOTIFY for ${path}, with ${token} as bearer if not NULL. */
static __attribute__((unused)) size_t
rig_notify(uint8_t *buf, size_t cap, uint64_t sid, uint64_t fid,
    const char *path, const char *token)
{
	struct spop_writer w;
	char authz[512];
	struct spop_data d;
	ssize_t n;

	spop_w_init(&w, buf, cap);
	spop_w_begin(&w, SPOP_FRM_T_HAPROXY_NOTIFY, SPOP_FRM_FL_FIN, sid, fid);
	spop_w_message(&w, "check-request", token ? 4 : 3);
	d = spop_data_str("GET", 3);
	spop_w_kv(&w, "method", &d);
	d = spop_data_str("api", 3);
	spop_w_kv(&w, "host", &d);
	d = spop_data_str(path, strlen(path));
	spop_w_kv(&w, "path", &d);
	if (token != NULL) {
		int a = snprintf(authz, sizeof(authz), "Bearer %s", token);

		d = spop_data_str(authz, (size_t)a);
		spop_w_kv(&w, "authz", &d);
	}
	n = spop_w_end(&w, 65532);
	return (n > 0 ? (size_t)n : 0);
}

/* HAPROXY-DISCONNECT, status 0. */
static __attribute__((unused)) size_t
rig_disconnect(uint8_t *buf, size_t cap)
{
	ssize_t n = spop_disconnect_encode(buf, cap, SPOP_FRM_T_HAPROXY_DISCON,
	    SPOP_ERR_NONE, "normal");

	return (n > 0 ? (size_t)n : 0);
}

/* Close the connection (if still open), the handler and the peer. */
static __attribute__((unused)) void
rig_close(struct rig *r)
{
	ev_timer_stop(r->loop, &r->tick);
	conn_set_free(r->set);
	handler_free(r->h);
	if (r->peer >= 0)
		close(r->peer);
	r->peer = -1;
}
