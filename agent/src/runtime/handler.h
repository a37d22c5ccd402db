/*
 * handler.h: the request lifecycle of one worker: NOTIFY -> facts ->
 * decide() -> ACK, and the parking of requests that wait for a key
 * refetch.  It depends down on a narrow connection API (conn.h: write an
 * ACK, track a pending request) and knows nothing of workers or inboxes:
 * worker.c wires it to its connections and its inbox.
 *
 * Completion contract (agent/DESIGN.md): every NOTIFY handed to
 * handler_notify() gets exactly one ACK.  Most are answered inside the
 * call; a parked one is answered later — when a new snapshot has its key
 * or ends a key set fetch that started after it parked, when the fetcher
 * says no refetch will bring its kid (handler_kid_absent()), or at its
 * deadline — unless its connection closed first (handler_cancel(): it is
 * forgotten, never answered).
 */
#ifndef SPOA_HANDLER_H
#define SPOA_HANDLER_H

#include <stddef.h>
#include <stdint.h>

#include "spoe/spop-t.h"

struct ev_loop;
struct conn;
struct list;
struct handler;
struct snapshot;
struct agent_stats;

/*
 * A refetch request: the issuer named ${issuer} (its config name; indexes
 * differ between snapshots) saw the unknown kid ${kid} (${kid_len} bytes).
 * Both are borrowed for the call only.  Called on a worker thread when a
 * request parks on a kid that no other parked request of that worker
 * waits for (not once per parked request, and not again when a new
 * snapshot leaves requests parked); must not block.
 */
typedef void handler_refetch_fn(void *arg, const char *issuer,
    const char *kid, size_t kid_len);

/* handler_set_refetch(fn, arg): install the hook before workers start. */
void handler_set_refetch(handler_refetch_fn *fn, void *arg);

/*
 * handler_new(loop, snap, stats):
 * The request handler of one worker thread, on ${loop}, deciding under
 * ${snap} (a new reference is taken) with the verified-token and
 * certificate caches and the park timeout its config sets, counting in
 * ${stats} (that thread's block).  NULL on allocation failure.
 */
struct handler *handler_new(struct ev_loop *loop, struct snapshot *snap,
    struct agent_stats *stats);

/*
 * handler_free(h): release ${h}, its caches and its snapshot reference.
 * Its connections must be closed first (no request is parked then).
 * NULL is a no-op.
 */
void handler_free(struct handler *h);

/*
 * handler_notify(h, c, sid, fid, payload, len, out):
 * A NOTIFY on ${c} (the conn_ops notify callback): decide it and encode
 * the ACK into ${out}, or park it (tracked on ${c}) and answer it later
 * through conn_writer()/conn_commit().  ${payload} is borrowed for the
 * call.  Return SPOP_ERR_NONE, or the DISCONNECT status for a payload
 * that is not a valid list of messages.
 */
enum spop_err handler_notify(struct handler *h, struct conn *c, uint64_t sid,
    uint64_t fid, const uint8_t *payload, size_t len,
    struct spop_writer *out);

/*
 * handler_cancel(h, link): the request tracked as ${link} lost its
 * connection (the conn_ops cancel callback): free it, unanswered.
 */
void handler_cancel(struct handler *h, struct list *link);

/*
 * handler_set_snapshot(h, snap): decide under ${snap} from now on (the
 * caller's reference passes to ${h}; the previous one is released): drop
 * the verified tokens whose key set changed, and decide the parked
 * requests again (those still waiting for a refetch stay parked).
 */
void handler_set_snapshot(struct handler *h, struct snapshot *snap);

/*
 * handler_kid_absent(h, issuer, kid, kid_len): answer the requests parked
 * on the kid ${kid} (${kid_len} bytes) of issuer index ${issuer} of the
 * current snapshot: the fetcher says no refetch will bring that key
 * (negative cache), so they are decided without further parking.  Requests
 * parked on other kids, even of the same issuer, are left alone.
 */
void handler_kid_absent(struct handler *h, size_t issuer, const char *kid,
    size_t kid_len);

/*
 * handler_drain(h): the worker is stopping: no request parks from now on
 * (those parked already keep their deadline).
 */
void handler_drain(struct handler *h);

/* handler_parked(h): requests parked now (tests). */
size_t handler_parked(const struct handler *h);

#endif /* !SPOA_HANDLER_H */
