/*
 * fetch.h: out-of-band fetching, and the one thread that publishes
 * snapshots.
 *
 * The fetcher thread runs its own libev loop driving libcurl's multi
 * interface.  It keeps every remote source of the config current: OpenID
 * discovery documents and the JWKS they name, jwks_url key sets, the
 * policy_url document and crl_urls, with tokens from the configured
 * credentials (managed identity, client credentials, client certificate).
 * Each good document is validated off to the side, written to state_dir,
 * and published to the workers inside a new snapshot; a bad document, a
 * failed fetch or an outage keeps the last good one (its age shows on
 * /readyz and /metrics).  The same thread applies SIGHUP reloads (main
 * parses the file and hands the config over), so snapshots have exactly
 * one publisher.  See agent/DESIGN.md "Fetching".
 *
 * Life cycle (main.c): fetch_create() (loads state_dir synchronously, so
 * the first snapshot already has the cached keys and policy),
 * fetch_snapshot() for the workers, fetch_start() once the workers exist,
 * fetch_reload() on SIGHUP, fetch_stop() before the workers are joined,
 * fetch_free() after.
 */
#ifndef SPOA_FETCH_H
#define SPOA_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct abuf;
struct agent_stats;
struct config;
struct config_errors;
struct crlset;
struct snapshot;
struct fetcher;

/*
 * fetch_create(cfg, stats, out, errs):
 * Take ownership of the parsed config file ${cfg} (even on failure), build
 * the first snapshot from it (loader_build_ref()) and from the documents
 * cached in its state_dir (policy, discovery, key sets, CRLs: read
 * synchronously here), and prepare the fetcher thread without starting it.
 * ${stats} (outlives the fetcher) gets reload counters.  Return 0 with the
 * fetcher in *${out}, or -1 with the config errors appended to ${errs}.
 * Call before any thread starts (it initialises libcurl).
 *
 * CRLs: with crl_urls, the snapshot's CRL set is built (crlset_build(),
 * against the client_ca_file store) from the crl_files and the last good
 * document of every crl_urls source; a fetched CRL that makes the build
 * fail is refused and the previous set stays.  Until a set is built for
 * the config in use (start, reload) there is none (mTLS: not_ready); a
 * reload never keeps the previous config's set.
 */
int fetch_create(struct config *cfg, struct agent_stats *stats,
    struct fetcher **out, struct config_errors *errs);

/*
 * fetch_snapshot(f): a new reference to the current snapshot, for the
 * workers' start.  Before fetch_start() only.
 */
struct snapshot *fetch_snapshot(struct fetcher *f);

/*
 * Where the fetcher sends what the workers must know (main.c wires the
 * workers' inboxes here; the fetcher knows nothing of workers).  Both are
 * called on the fetcher thread and must not block: publish() hands ${s}
 * to ${target}, which takes its own reference if it keeps it; kid_absent()
 * says that no refetch brings ${kid} of issuer index ${issuer}.
 */
struct fetch_sink {
	void (*publish)(void *target, struct snapshot *s);
	void (*kid_absent)(void *target, size_t issuer, const char *kid,
	    size_t kid_len);
};

/*
 * fetch_start(f, sink, targets, n):
 * Start the fetcher thread; it hands every new snapshot, and every "kid
 * absent" answer, to each of the ${n} ${targets} through ${sink} (both
 * copied; the targets must outlive fetch_stop()), and begins fetching
 * every source at once (conditional requests when a cached document has
 * validators).  Return 0, or -1 (logged).
 */
int fetch_start(struct fetcher *f, const struct fetch_sink *sink,
    void *const *targets, size_t n);

/*
 * fetch_reload(f, cfg):
 * Hand a newly parsed config file to the fetcher (ownership passes, even
 * if the fetcher is not running: then it is freed).  The fetcher builds
 * the snapshot with the last good policy document and the current key
 * sets, publishes it and re-plans its sources, logging "reload:
 * configuration applied" and counting reloads_ok; or logs each error and
 * "reload: rejected (N errors); keeping the running configuration" and
 * counts reloads_failed.  Thread-safe; returns at once.
 */
void fetch_reload(struct fetcher *f, struct config *cfg);

/*
 * fetch_refetch(arg, issuer, kid, kid_len):
 * The handler's refetch hook (handler_refetch_fn; ${arg} is the fetcher):
 * a worker parked a request on the unknown ${kid} of the issuer named
 * ${issuer}.  Queues a message for the fetcher (one lock, no I/O) and
 * returns.  Unless the kid is in the issuer's negative cache (then the
 * workers are told at once, so the requests parked on that kid, and only
 * those, are answered key_unknown without waiting for their deadline), the
 * fetcher refetches that issuer's key set: at once, or
 * kid_refetch_interval_ms after the last refetch made for kids (one
 * attempt serves every kid asked before it started).  When an attempt
 * ends (new keys, 304 or failure) the snapshot published carries its start
 * time (kid_served_ms), which decides every request parked before it; the
 * kids it did not bring after a good answer are remembered for
 * kid_negative_ttl_s.
 */
void fetch_refetch(void *arg, const char *issuer, const char *kid,
    size_t kid_len);

/*
 * fetch_ready(arg, body), fetch_metrics(arg, body):
 * Admin providers (admin.h; ${arg} is the fetcher), called on the main
 * thread.  fetch_ready() appends one JSON object with an entry per source
 * ({kind, url, state, age_s, last_error, fetches, failures, next_refresh_s
 * ...}), per credential and per issuer, and returns true when every issuer
 * has a usable key set (not older than fetch.max_stale_s when set) and the
 * policy, if policy_url is configured, is loaded.  fetch_metrics() appends
 * spoa_iam_fetch_* lines with a source="..." label.
 */
bool fetch_ready(void *arg, struct abuf *body);
void fetch_metrics(void *arg, struct abuf *body);

/*
 * fetch_assertion_jwks(arg, body):
 * Admin provider (main thread): append the JWK Set of the assertion keys
 * in use to ${body} and return true, or return false when assertions are
 * off (no assertion_issuer).
 */
bool fetch_assertion_jwks(void *arg, struct abuf *body);

/*
 * fetch_stop(f): stop the thread (transfers in flight are abandoned) and
 * wait for it.  Refetch hooks called afterwards are ignored.  NULL or a
 * fetcher that never started: no-op.
 */
void fetch_stop(struct fetcher *f);

/* fetch_free(f): after fetch_stop() and after the workers ended.  NULL: no-op. */
void fetch_free(struct fetcher *f);

#endif /* !SPOA_FETCH_H */
