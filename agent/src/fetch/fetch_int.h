/*
 * fetch_int.h: what the files of the fetcher share (fetch.h is the API).
 * Only the files of agent/src/fetch/ that make up the fetcher include it:
 *
 *   fetch.c     the API: life cycle, the inbox (reloads, unknown kids),
 *               publication of snapshots
 *   transfer.c  HTTP transfers: curl easy handles, bounded bodies, kept
 *               headers; libcurl multi driven by libev
 *   source.c    a source's life: scheduling, failures and backoff,
 *               starting a fetch, its completion, accepting documents,
 *               unknown-kid refetch pacing
 *   plan.c      which sources and credentials exist: planned from the
 *               config and the policy, re-planned on policy and reload
 *   cred.c      credentials: managed-identity and client-credentials
 *               tokens, cached and wiped
 *   statedir.c  state_dir files: the last good documents on disk
 *   status.c    the display fields: /readyz and /metrics
 *   asrtkeys.c  the assertion signing keys: loads, rotation, JWKS
 *
 * Threads.  Everything runs on the fetcher thread, except
 * fetch_create()/fetch_snapshot()/fetch_start() (main thread, before the
 * thread exists), fetch_refetch() and fetch_reload() (any thread: they
 * only queue a message) and fetch_ready()/fetch_metrics() (main thread:
 * they read the display fields).  Display fields (struct srcstat, struct
 * credstat, the issuer table, the source and credential lists) are
 * written by the fetcher thread under f->lock and read under it; all else
 * is the fetcher thread's alone.  The lock is never held across I/O.
 */
#ifndef SPOA_FETCH_INT_H
#define SPOA_FETCH_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <ev.h>

#include "config.h"
#include "crypto.h"
#include "fetch.h"
#include "refresh.h"
#include "signer.h"
#include "snapshot.h"

struct abuf;
struct statemeta;

#ifndef SPOA_VERSION
#define SPOA_VERSION "dev"
#endif

/* Negative cache of kids a refetch did not bring, per issuer. */
#define NEG_MAX                 256
/* Kids that asked for the refetch in flight, per issuer. */
#define PENDING_MAX             64
/* Header values we keep from responses. */
#define ETAG_MAX                512
#define LASTMOD_MAX             128
#define ERR_MAX                 256

enum src_kind { SRC_DISCOVERY, SRC_JWKS, SRC_POLICY, SRC_CRL };
/* source_kind_name[kind]: "discovery", "jwks", "policy", "crl". */
extern const char *const source_kind_name[];

enum src_state { ST_PENDING, ST_OK, ST_STALE, ST_ERROR };

/* What /readyz and /metrics show; written under f->lock. */
struct srcstat {
	enum src_state state;
	char last_error[ERR_MAX];
	char url[256];                  /* redacted */
	int64_t good_at;                /* 0: no document */
	int64_t next_at;                /* 0: nothing planned */
	uint64_t fetches, failures, not_modified, kid_refetches;
	uint64_t rejected;              /* documents refused (bad content) */
	size_t nkeys;                   /* keys of the set in use (JWKS) */
};

struct xfer;

struct negkid {
	uint8_t h[16];
	int64_t until;
};

struct source {
	struct source *next;
	struct fetcher *f;
	enum src_kind kind;
	char *id;                       /* "jwks:entra", "policy", "crl:<url>" */
	char *key;                      /* state file identity */
	char *issuer;                   /* DISCOVERY, JWKS: issuer name */
	char *conf_url;                 /* configured URL (+appid) */
	char *url;                      /* what is fetched; NULL until known */
	char *appid;                    /* DISCOVERY: appended to jwks_uri */
	char *ca_file;
	char *cred;                     /* credential name, or NULL */
	struct source *jwks;            /* DISCOVERY: its JWKS source */
	struct source *disc;            /* JWKS behind discovery */
	bool keep;                      /* re-planning mark */

	/* The last good document. */
	bool have;
	char *doc;
	size_t doc_len;
	char *etag, *last_modified;
	struct keyset *keys;            /* JWKS */
	bool fetched_run;               /* 200/304 since start or URL change */

	/* Scheduling. */
	ev_timer timer;
	struct xfer *xfer;
	bool wait_token;
	unsigned failures;              /* in a row */

	/*
	 * Unknown-kid refetches (JWKS).  Times are util_mono_ms().  An
	 * attempt answers the kids that were asked before it started; a kid
	 * asked later waits for the next one, which starts no sooner than
	 * kid_refetch_interval_ms after the last attempt made for kids.
	 */
	bool kid_wanted;                /* kids are pending */
	int64_t attempt_ms;             /* start of the attempt in flight */
	int64_t kid_attempt_ms;         /* start of the last attempt for kids */
	int64_t kid_served_ms;          /* start of the last finished attempt */
	struct {
		uint8_t h[16];          /* kid_hash() */
		int64_t at_ms;          /* when it was asked */
	} pending[PENDING_MAX];
	size_t npending;
	struct negkid neg[NEG_MAX];
	size_t neg_next;

	struct srcstat st;
};

struct credstat {
	char last_error[ERR_MAX];
	int64_t expires_at;             /* 0: no token */
	uint64_t fetches, failures;
	bool failed;                    /* last attempt failed */
};

struct cred {
	struct cred *next;
	struct credential c;            /* deep copy */
	char *token;                    /* secret: wiped before free */
	size_t token_len;
	int64_t obtained_at, expires_at;
	struct xfer *xfer;
	bool keep;
	struct credstat st;
};

struct xfer {
	struct fetcher *f;
	CURL *easy;
	struct source *src;             /* a document, or */
	struct cred *cred;              /* a token */
	char *url;                      /* src: the URL fetched */
	struct curl_slist *hdrs;        /* may hold a bearer token: wiped */
	char *post;                     /* may hold a secret: wiped */
	size_t post_len;
	char *body;
	size_t len, cap, max;
	const char *max_of;             /* NULL: ${max} is max_body_bytes;
					 * else the kind it is the most of */
	bool too_big;
	char etag[ETAG_MAX], lastmod[LASTMOD_MAX];
	char cc[REFRESH_CC_MAX + 1];
	size_t cc_len;
	bool cc_seen, cc_over;
	char errbuf[CURL_ERROR_SIZE];
};

/* /readyz per issuer, rebuilt at each publication (under f->lock). */
struct issuer_stat {
	char *name;
	const char *keys_from;          /* "discovery", "jwks_url", ... */
	bool has_keys, remote;
	int64_t keys_at;
};

struct fetcher {
	struct agent_stats *stats;
	struct fetch_sink sink;         /* where snapshots and kid news go */
	void **targets;                 /* one per worker */
	size_t nworkers;

	pthread_t thread;
	bool started;
	struct ev_loop *loop;
	ev_async wake;
	ev_timer curl_timer;
	ev_prepare prep;
	CURLM *multi;

	pthread_mutex_t inbox_lock;
	struct msg *head, *tail;
	size_t inbox_n;
	bool closed;
	bool stopping;                  /* fetch_stop(): end the loop */

	pthread_mutex_t lock;
	struct cfgref *file;            /* the config file as parsed */
	struct snapshot *base;          /* file + policy, local keys; private */
	struct snapshot *cur;           /* last published */
	struct crlset *crls;
	struct source *sources;
	struct cred *creds;
	bool dirty;                     /* publish before the loop sleeps */

	/* Display (under lock). */
	struct issuer_stat *istat;
	size_t nistat;
	bool policy_configured, policy_loaded;
	int64_t policy_at;
	uint32_t max_stale_s;

	/* Assertion keys (asrtkeys.c): ${signer} is written by the fetcher
	 * thread under lock, and read under it by others; the rest is the
	 * fetcher thread's (the counters: under lock). */
	struct signer *signer;
	struct signer_policy asrt_pol;
	ev_timer asrt_timer;
	uint64_t asrt_made, asrt_errors;
};

/* ---- small helpers ---- */

static inline int64_t
now_s(void)
{
	return ((int64_t)time(NULL));
}

static inline uint32_t
rnd32(void)
{
	uint32_t r = 0;

	if (crypto_random(&r, sizeof(r)) != 0)
		r = (uint32_t)now_s() * 2654435761u;
	return (r);
}

static inline char *
dup_or_null(const char *s)
{
	return (s != NULL ? strdup(s) : NULL);
}

static inline const struct config *
file_cfg(const struct fetcher *f)
{
	return (f->file->cfg);
}

static inline const struct fetch_cfg *
fcfg(const struct fetcher *f)
{
	return (&f->file->cfg->fetch);
}

static inline void
wipe_free(char *p, size_t len)
{
	if (p == NULL)
		return;
	explicit_bzero(p, len);
	free(p);
}

#define STAT_LOCKED(f, stmt) do {					\
	pthread_mutex_lock(&(f)->lock);					\
	stmt;								\
	pthread_mutex_unlock(&(f)->lock);				\
} while (0)

/* ---- transfer.c ---- */

/*
 * transfer_global_init(): initialise libcurl once for the process (the
 * first call does it; later ones return its result).  True if it is.
 */
bool transfer_global_init(void);

/*
 * transfer_multi_init(f): create ${f}'s curl multi handle, driven by
 * ${f}->loop (which must exist), and its timer.  Return 0, or -1.
 */
int transfer_multi_init(struct fetcher *f);

/*
 * transfer_new(f, url, ca_file, allow_http, kind_max, kind):
 * A transfer of ${url} with the common options: https only (http too when
 * ${allow_http}: the IMDS endpoint and CRL distribution points are plain
 * http), TLS checked against ${ca_file} (NULL: the system's), fetch
 * timeouts, redirects, and a body cap of fetch.max_body_bytes lowered to
 * ${kind_max}, the most bytes the document's own parser takes (${kind}:
 * its name, for the error), so nothing larger is downloaded only to be
 * refused.  Set ->src or ->cred, add headers, then transfer_go().  NULL
 * if out of memory.
 */
struct xfer *transfer_new(struct fetcher *f, const char *url,
    const char *ca_file, bool allow_http, size_t kind_max, const char *kind);

/*
 * transfer_add_header(x, name, value): add "${name}: ${value}" to the
 * request headers of ${x} (the copies that may hold a token are wiped).
 * Return 0, or -1 if out of memory.
 */
int transfer_add_header(struct xfer *x, const char *name, const char *value);

/*
 * transfer_go(x): start ${x} on its fetcher's multi handle.  Return 0 (its
 * end calls source_done() or cred_done(), then frees it), or -1 (the
 * caller still owns ${x}).
 */
int transfer_go(struct xfer *x);

/*
 * transfer_error(x, res, buf, cap): a message for the failed transfer
 * ${x} (${res}) in ${buf} of ${cap} bytes; returns ${buf}.
 */
const char *transfer_error(struct xfer *x, CURLcode res, char *buf,
    size_t cap);

/*
 * transfer_free(x): abandon ${x} if it runs and free it, wiping its
 * headers, its request body and (for a token) its response.  NULL: no-op.
 */
void transfer_free(struct xfer *x);

/* ---- cred.c ---- */

/* cred_find(f, name): ${f}'s credential named ${name}; NULL if none. */
struct cred *cred_find(struct fetcher *f, const char *name);

/* cred_copy(d, s): ${d} becomes a deep copy of ${s} (out of memory: a
 * field is NULL). */
void cred_copy(struct credential *d, const struct credential *s);

/* cred_same(a, b): true if ${a} and ${b} are the same credential. */
bool cred_same(const struct credential *a, const struct credential *b);

/* cred_free(c): free ${c}, its transfer and its token (wiped). */
void cred_free(struct cred *c);

/* cred_has_token(c): true if ${c} gives tokens (not a client cert). */
bool cred_has_token(const struct cred *c);

/* cred_token_fresh(c, now): true if ${c} has a token still good at ${now}
 * for a while (min(300 s, lifetime / 4) before it expires). */
bool cred_token_fresh(const struct cred *c, int64_t now);

/* cred_drop_token(f, c): forget ${c}'s token (wiped). */
void cred_drop_token(struct fetcher *f, struct cred *c);

/*
 * cred_request(f, c, err, errlen): start a token request for ${c}, unless
 * one is in flight; its end wakes the sources waiting for the token.
 * Return 0, or -1 with the reason in ${err} of ${errlen} bytes.
 */
int cred_request(struct fetcher *f, struct cred *c, char *err,
    size_t errlen);

/* cred_done(x, res): the token request ${x} ended with ${res}. */
void cred_done(struct xfer *x, CURLcode res);

/* ---- source.c ---- */

/* source_set_error(f, src, st, err): ${src}'s displayed state becomes
 * ${st}, its last error ${err} (NULL: none). */
void source_set_error(struct fetcher *f, struct source *src,
    enum src_state st, const char *err);

/* source_set_display_url(f, src): show ${src}'s URL (redacted). */
void source_set_display_url(struct fetcher *f, struct source *src);

/* source_sched(src, delay): fetch ${src} in ${delay} seconds. */
void source_sched(struct source *src, double delay);

/*
 * source_fail(src, err, bad_doc): an attempt of ${src} failed with ${err}
 * (${bad_doc}: the document was refused for its content); it keeps its
 * last good document and retries after a backoff.
 */
void source_fail(struct source *src, const char *err, bool bad_doc);

/*
 * source_accept_discovery(f, src, body, len, err, errlen):
 * Check the discovery document at ${body} (${len} bytes) of ${src}
 * against its issuer as configured now and give its jwks_uri (appid
 * appended) to the JWKS source.  Return 0, or -1 with the reason in
 * ${err} of ${errlen} bytes.
 */
int source_accept_discovery(struct fetcher *f, struct source *src,
    const char *body, size_t len, char *err, size_t errlen);

/*
 * source_accept_crl(f, src, cand, cand_len, err, errlen):
 * Rebuild ${f}'s CRL set from the crl_files and the crl_urls documents,
 * with ${cand} (${cand_len} bytes) as ${src}'s document (NULL: the
 * documents as they are).  Return 0, or -1 with the reason in ${err} of
 * ${errlen} bytes (the set in use stays).
 */
int source_accept_crl(struct fetcher *f, struct source *src,
    const char *cand, size_t cand_len, char *err, size_t errlen);

/* source_load_state(f, src): take ${src}'s state_dir document, if any and
 * still good; true if one was taken. */
bool source_load_state(struct fetcher *f, struct source *src);

/* source_start(src): fetch ${src} now (a token first if its credential
 * has none), unless a fetch or a token request for it runs. */
void source_start(struct source *src);

/* source_done(x, res): the document transfer ${x} ended with ${res}. */
void source_done(struct xfer *x, CURLcode res);

/* source_on_timer(loop, t, revents): a source's timer (t->data). */
void source_on_timer(struct ev_loop *loop, ev_timer *t, int revents);

/*
 * source_kid_asked(f, issuer, kid, kid_len): a worker parked a request on
 * the unknown ${kid} of the issuer named ${issuer}: answer at once from
 * the negative cache, or join the next refetch of its key set (paced).
 */
void source_kid_asked(struct fetcher *f, const char *issuer, const char *kid,
    size_t kid_len);

/* ---- plan.c ---- */

/* plan_issuer_by_name(cfg, name, idx): the issuer of ${cfg} named
 * ${name}, its index in *${idx} (if not NULL); NULL if none. */
const struct issuer_cfg *plan_issuer_by_name(const struct config *cfg,
    const char *name, size_t *idx);

/* plan_find_jwks(f, issuer): the JWKS source of the issuer named
 * ${issuer}; NULL if none. */
struct source *plan_find_jwks(struct fetcher *f, const char *issuer);

/* plan_issuers(f): (re-)plan the sources of the remote issuers of the
 * base config. */
void plan_issuers(struct fetcher *f);

/* plan_global(f): (re-)plan the credentials, the policy and the CRL
 * sources of the config file. */
void plan_global(struct fetcher *f);

/* plan_crls(f): rebuild the CRL set after the base changed (start,
 * reload) or CRL documents came from state_dir. */
void plan_crls(struct fetcher *f);

/* plan_clear(f): free every source and credential of ${f}. */
void plan_clear(struct fetcher *f);

/* ---- statedir.c ---- */

/* statedir_save(f, src): write ${src}'s document to state_dir (errors are
 * logged; the old file stays). */
void statedir_save(struct fetcher *f, struct source *src);

/*
 * statedir_read(f, src, buf, m): read ${src}'s state file.  Return 0 with
 * the whole file in *${buf} (caller frees) and *${m} pointing into it, or
 * -1 (nothing usable; why logged unless the file does not exist).
 */
int statedir_read(struct fetcher *f, struct source *src, char **buf,
    struct statemeta *m);

/*
 * statedir_write(dir, path, a, alen, b, blen, mode, who):
 * Write ${a} then ${b} to ${path} in directory ${dir}: a temporary file
 * created ${mode} (never through a link, never a leftover), fsync, rename
 * over the old one, fsync of ${dir}, so a crash leaves the old file or the
 * new one, never half of one.  Return 0, or -1 (logged, naming ${who}).
 */
int statedir_write(const char *dir, const char *path, const void *a,
    size_t alen, const void *b, size_t blen, unsigned mode, const char *who);

/* statedir_ensure(cfg): create ${cfg}'s missing state_dir (0700). */
void statedir_ensure(const struct config *cfg);

/* ---- asrtkeys.c ---- */

/* asrtkeys_init(f): set up the rotation timer (fetch_create()). */
void asrtkeys_init(struct fetcher *f);

/*
 * asrtkeys_load(f, err, errlen):
 * Load (or rotate) the assertion keys of the config file in use into
 * f->signer, write assertion_jwks_file, arm the timer for the next load,
 * and mark a publication due; without assertion_issuer, drop them.
 * Return 0, or -1 with the reason in ${err} (the keys in use stay).
 */
int asrtkeys_load(struct fetcher *f, char *err, size_t errlen);

/* asrtkeys_refresh(f): asrtkeys_load(), and on failure an error logged
 * and another try in a minute (the timer). */
void asrtkeys_refresh(struct fetcher *f);

/* asrtkeys_check(f): load again when the base's longest ttl_s changed
 * (a policy document): keys stay published that long. */
void asrtkeys_check(struct fetcher *f);

/* asrtkeys_metrics(f, b): spoa_iam_assertion_* lines; under f->lock. */
void asrtkeys_metrics(struct fetcher *f, struct abuf *b);

/* ---- status.c ---- */

/* status_update_issuers(f, s): the per-issuer display of the snapshot
 * ${s} being published. */
void status_update_issuers(struct fetcher *f, const struct snapshot *s);

/* status_ready(f, body), status_metrics(f, body): fetch_ready() and
 * fetch_metrics() (fetch.h). */
bool status_ready(struct fetcher *f, struct abuf *body);
void status_metrics(struct fetcher *f, struct abuf *body);

#endif /* !SPOA_FETCH_INT_H */
