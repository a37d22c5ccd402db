/*
 * fetch.c: see fetch.h.  The only file that includes <curl/curl.h>.
 *
 * Threads.  Everything below runs on the fetcher thread, except
 * fetch_create()/fetch_snapshot()/fetch_start() (main thread, before the
 * thread exists), fetch_refetch() and fetch_reload() (any thread: they
 * only queue a message) and fetch_ready()/fetch_metrics() (main thread:
 * they read the display fields).  Display fields (struct srcstat, struct
 * credstat, the issuer table, the source and credential lists) are
 * written by the fetcher thread under f->lock and read under it; all else
 * is the fetcher thread's alone.  The lock is never held across I/O.
 *
 * libcurl multi is driven through its socket API: CURLMOPT_SOCKETFUNCTION
 * maps curl's sockets to ev_io watchers, CURLMOPT_TIMERFUNCTION to one
 * ev_timer (curl speaks milliseconds, libev seconds as a double), and
 * events go back through curl_multi_socket_action().
 *
 * Sources.  Per remote issuer: a JWKS source, plus a discovery source for
 * discovery_url issuers (the JWKS source then learns its URL from the
 * document).  Globally: the policy_url source and one source per
 * crl_urls entry.  Each has a timer for its next periodic fetch
 * (Cache-Control max-age clamped, jitter; exponential backoff after a
 * failure), its validators (ETag, Last-Modified), and its last good
 * document, also kept in state_dir.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <ev.h>

#include "abuf.h"
#include "config.h"
#include "crl.h"
#include "crypto.h"
#include "discovery.h"
#include "fileio.h"
#include "fetch.h"
#include "jwks.h"
#include "loader.h"
#include "log.h"
#include "refresh.h"
#include "snapshot.h"
#include "statemeta.h"
#include "stats.h"
#include "tokenresp.h"
#include "url.h"
#include "util.h"

#ifndef SPOA_VERSION
#define SPOA_VERSION "dev"
#endif

/* Messages waiting for the fetcher; more are dropped (a refetch is
 * single-flight anyway, parked requests have their deadline). */
#define INBOX_MAX               4096
/* Kids longer than a JWKS kid can be cannot be found by any refetch. */
#define KID_MSG_MAX             JWKS_KID_MAX
/* Negative cache of kids a refetch did not bring, per issuer. */
#define NEG_MAX                 256
/* Kids that asked for the refetch in flight, per issuer. */
#define PENDING_MAX             64
/* A token is renewed this long before it expires (at most). */
#define TOKEN_MARGIN_MAX        300
/* Header values we keep from responses. */
#define ETAG_MAX                512
#define LASTMOD_MAX             128
#define ERR_MAX                 256
/* Client secrets are small. */
#define SECRET_MAX              65536

enum src_kind { SRC_DISCOVERY, SRC_JWKS, SRC_POLICY, SRC_CRL };
static const char *const kind_name[] = { "discovery", "jwks", "policy", "crl" };
/* The most each kind's parser takes (policy: max_body_bytes alone). */
static const struct {
	size_t max;
	const char *what;
} doc_max[] = {
	[SRC_DISCOVERY] = { DISCOVERY_DOC_MAX, "a discovery document" },
	[SRC_JWKS] = { JWKS_MAX_DOC, "a key set" },
	[SRC_POLICY] = { SIZE_MAX, "a policy document" },
	[SRC_CRL] = { CRL_DOC_MAX, "a CRL" },
};

enum src_state { ST_PENDING, ST_OK, ST_STALE, ST_ERROR };
static const char *const state_name[] = { "pending", "ok", "stale", "error" };

/* What /readyz and /metrics show; written under f->lock. */
struct srcstat {
	enum src_state state;
	char last_error[ERR_MAX];
	char url[256];                  /* redacted */
	int64_t good_at;                /* 0: no document */
	int64_t next_at;                /* 0: nothing planned */
	uint64_t fetches, failures, not_modified, kid_refetches;
	uint64_t rejected;              /* documents refused (bad content) */
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

struct csock {
	struct fetcher *f;
	ev_io io;
};

enum msg_type { MSG_KID, MSG_RELOAD };

struct msg {
	struct msg *next;
	enum msg_type type;
	struct config *cfg;
	char *issuer;
	size_t kid_len;
	char kid[];
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
};

static void start_fetch(struct source *src);
static void publish(struct fetcher *f);
static void replan_issuers(struct fetcher *f);

/* ---- small helpers ---- */

static int64_t
now_s(void)
{
	return ((int64_t)time(NULL));
}

static uint32_t
rnd32(void)
{
	uint32_t r = 0;

	if (crypto_random(&r, sizeof(r)) != 0)
		r = (uint32_t)now_s() * 2654435761u;
	return (r);
}

static char *
dup_or_null(const char *s)
{
	return (s != NULL ? strdup(s) : NULL);
}

static const struct config *
file_cfg(const struct fetcher *f)
{
	return (f->file->cfg);
}

static const struct fetch_cfg *
fcfg(const struct fetcher *f)
{
	return (&f->file->cfg->fetch);
}

/* Copy the string ${src} into ${dst} of ${cap} > 0 bytes, truncating. */
static void
copy_trunc(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void
wipe_free(char *p, size_t len)
{
	if (p == NULL)
		return;
	explicit_bzero(p, len);
	free(p);
}

static void
set_error(struct fetcher *f, struct source *src, enum src_state st,
    const char *err)
{
	pthread_mutex_lock(&f->lock);
	src->st.state = st;
	if (err != NULL)
		snprintf(src->st.last_error, sizeof(src->st.last_error), "%s", err);
	else
		src->st.last_error[0] = '\0';
	pthread_mutex_unlock(&f->lock);
}

#define STAT_LOCKED(f, stmt) do {					\
	pthread_mutex_lock(&(f)->lock);					\
	stmt;								\
	pthread_mutex_unlock(&(f)->lock);				\
} while (0)

static void
set_display_url(struct fetcher *f, struct source *src)
{
	char red[sizeof(src->st.url)];

	url_redact(src->url != NULL ? src->url : src->conf_url, red, sizeof(red));
	STAT_LOCKED(f, memcpy(src->st.url, red, sizeof(red)));
}

/* ---- state_dir ---- */

static int
state_path(const struct fetcher *f, const struct source *src, char *out,
    size_t cap)
{
	char name[STATEMETA_NAME_LEN + 1];
	int n;

	if (file_cfg(f)->state_dir == NULL || statemeta_name(src->key, name) != 0)
		return (-1);
	n = snprintf(out, cap, "%s/%s", file_cfg(f)->state_dir, name);
	return (n > 0 && (size_t)n < cap ? 0 : -1);
}

static int
write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		p += w;
		len -= (size_t)w;
	}
	return (0);
}

/*
 * Write ${src}'s document to state_dir: temporary file, fsync, rename over
 * the old one, fsync the directory, so a crash leaves the old file or the
 * new one, never half of one.
 */
static void
state_save(struct fetcher *f, struct source *src)
{
	char path[4096], tmp[4200], *hdr = NULL;
	struct statemeta m;
	ssize_t hlen;
	int fd = -1, dfd;

	if (!src->have || file_cfg(f)->state_dir == NULL ||
	    state_path(f, src, path, sizeof(path)) != 0)
		return;
	memset(&m, 0, sizeof(m));
	m.key.p = src->key;
	m.key.len = strlen(src->key);
	m.url.p = src->url != NULL ? src->url : src->conf_url;
	m.url.len = strlen(m.url.p);
	if (src->etag != NULL) {
		m.etag.p = src->etag;
		m.etag.len = strlen(src->etag);
	}
	if (src->last_modified != NULL) {
		m.last_modified.p = src->last_modified;
		m.last_modified.len = strlen(src->last_modified);
	}
	m.fetched = src->st.good_at;
	m.body_len = src->doc_len;
	if ((hdr = malloc(STATEMETA_HEADER_MAX)) == NULL ||
	    (hlen = statemeta_format(&m, hdr, STATEMETA_HEADER_MAX)) < 0) {
		log_warn("%s: state_dir: cannot format the state file", src->id);
		goto out;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	/* A fresh file of ours: never through a link planted in its place,
	 * never into a leftover (a crash between open and rename). */
	if (unlink(tmp) != 0 && errno != ENOENT)
		log_warnp("%s: state_dir: cannot remove %s", src->id, tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1 || write_all(fd, hdr, (size_t)hlen) != 0 ||
	    write_all(fd, src->doc, src->doc_len) != 0 || fsync(fd) != 0) {
		log_warnp("%s: state_dir: cannot write %s", src->id, tmp);
		if (fd != -1)
			(void)unlink(tmp);
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		log_warnp("%s: state_dir: cannot write %s", src->id, tmp);
		(void)unlink(tmp);
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		log_warnp("%s: state_dir: cannot rename %s", src->id, tmp);
		(void)unlink(tmp);
		goto out;
	}
	dfd = open(file_cfg(f)->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1 || fsync(dfd) != 0)
		log_warnp("%s: state_dir: cannot sync %s", src->id,
		    file_cfg(f)->state_dir);
	if (dfd != -1)
		close(dfd);
	log_debug("%s: saved to state_dir", src->id);
out:
	if (fd != -1)
		close(fd);
	free(hdr);
}

/*
 * Read ${src}'s state file.  Return 0 with the whole file in *${buf}
 * (caller frees) and *${m} pointing into it, or -1 (nothing usable; why
 * logged unless the file simply does not exist).
 */
static int
state_read(struct fetcher *f, struct source *src, char **buf,
    struct statemeta *m)
{
	char path[4096], err[512];
	const char *why;
	size_t len;

	*buf = NULL;
	if (state_path(f, src, path, sizeof(path)) != 0)
		return (-1);
	if (access(path, F_OK) != 0)
		return (-1);
	if (fileio_read(path, (size_t)fcfg(f)->max_body_bytes +
	    STATEMETA_HEADER_MAX, buf, &len, err, sizeof(err)) != 0) {
		log_warn("%s: state_dir: cannot read \"%s\": %s", src->id, path,
		    err);
		return (-1);
	}
	if (statemeta_parse(*buf, len, m, &why) != 0) {
		log_warn("%s: state_dir: %s: %s; ignored", src->id, path, why);
		goto bad;
	}
	if (m->key.len != strlen(src->key) ||
	    memcmp(m->key.p, src->key, m->key.len) != 0) {
		log_warn("%s: state_dir: %s belongs to another source; ignored",
		    src->id, path);
		goto bad;
	}
	if (m->body_len > fcfg(f)->max_body_bytes) {
		log_warn("%s: state_dir: %s: body larger than "
		    "fetch.max_body_bytes; ignored", src->id, path);
		goto bad;
	}
	return (0);
bad:
	free(*buf);
	*buf = NULL;
	return (-1);
}

/* Create a missing state_dir (0700: cached documents are private). */
static void
ensure_state_dir(const struct config *cfg)
{
	struct stat st;

	if (cfg->state_dir == NULL || stat(cfg->state_dir, &st) == 0)
		return;
	if (mkdir(cfg->state_dir, 0700) != 0)
		log_warnp("state_dir %s: cannot create it; documents will not be "
		    "cached", cfg->state_dir);
	else
		log_info("state_dir %s: created", cfg->state_dir);
}

/* ---- the fetcher's view of the config ---- */

static const struct issuer_cfg *
issuer_by_name(const struct config *cfg, const char *name, size_t *idx)
{
	for (size_t i = 0; i < cfg->nissuers; i++) {
		if (strcmp(cfg->issuers[i].name, name) == 0) {
			if (idx != NULL)
				*idx = i;
			return (&cfg->issuers[i]);
		}
	}
	return (NULL);
}

static struct source *
find_jwks(struct fetcher *f, const char *issuer)
{
	for (struct source *s = f->sources; s != NULL; s = s->next)
		if (s->kind == SRC_JWKS && strcmp(s->issuer, issuer) == 0)
			return (s);
	return (NULL);
}

static struct cred *
find_cred(struct fetcher *f, const char *name)
{
	if (name == NULL)
		return (NULL);
	for (struct cred *c = f->creds; c != NULL; c = c->next)
		if (strcmp(c->c.name, name) == 0)
			return (c);
	return (NULL);
}

/* ---- HTTP transfers ---- */

static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb;

	if (n > x->max - x->len) {
		x->too_big = true;
		return (0);             /* aborts the transfer */
	}
	if (x->len + n + 1 > x->cap) {
		size_t ncap = x->cap ? x->cap : 16384;
		char *nb;

		while (ncap < x->len + n + 1)
			ncap *= 2;
		if (ncap > x->max + 1)
			ncap = x->max + 1;
		if (x->cred != NULL) {
			/* A token response: realloc() would leave a copy of
			 * it behind in the old block.  Move and wipe. */
			if ((nb = malloc(ncap)) == NULL)
				return (0);
			if (x->len > 0)
				memcpy(nb, x->body, x->len);
			wipe_free(x->body, x->cap);
		} else if ((nb = realloc(x->body, ncap)) == NULL) {
			return (0);
		}
		x->body = nb;
		x->cap = ncap;
	}
	memcpy(x->body + x->len, ptr, n);
	x->len += n;
	x->body[x->len] = '\0';
	return (n);
}

/* ${len} bytes at ${p} start with the header name ${name} and a colon. */
static const char *
header_value(const char *p, size_t len, const char *name, size_t *vlen)
{
	size_t n = strlen(name);
	const char *v, *end = p + len;

	if (len <= n || strncasecmp(p, name, n) != 0 || p[n] != ':')
		return (NULL);
	v = p + n + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' ||
	    end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*vlen = (size_t)(end - v);
	return (v);
}

static void
keep_value(char *dst, size_t cap, const char *v, size_t n)
{
	dst[0] = '\0';
	if (n == 0 || n >= cap)
		return;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
			return;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static size_t
on_header(char *buf, size_t size, size_t nitems, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nitems, vlen;
	const char *v;

	if (n >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
		/* A new response (after a redirect or 100): start over. */
		x->etag[0] = x->lastmod[0] = '\0';
		x->cc_len = 0;
		x->cc_seen = x->cc_over = false;
		return (n);
	}
	if ((v = header_value(buf, n, "etag", &vlen)) != NULL) {
		keep_value(x->etag, sizeof(x->etag), v, vlen);
	} else if ((v = header_value(buf, n, "last-modified", &vlen)) != NULL) {
		keep_value(x->lastmod, sizeof(x->lastmod), v, vlen);
	} else if ((v = header_value(buf, n, "cache-control", &vlen)) != NULL) {
		/* Several field lines make one list (RFC 9110 §5.3). */
		size_t need = vlen + (x->cc_len ? 1 : 0);

		x->cc_seen = true;
		if (need > sizeof(x->cc) - 1 - x->cc_len) {
			x->cc_over = true;
		} else {
			if (x->cc_len)
				x->cc[x->cc_len++] = ',';
			memcpy(x->cc + x->cc_len, v, vlen);
			x->cc_len += vlen;
			x->cc[x->cc_len] = '\0';
		}
	}
	return (n);
}

static void
xfer_free(struct xfer *x)
{
	if (x == NULL)
		return;
	if (x->easy != NULL) {
		curl_multi_remove_handle(x->f->multi, x->easy);
		curl_easy_cleanup(x->easy);
	}
	for (struct curl_slist *h = x->hdrs; h != NULL; h = h->next)
		explicit_bzero(h->data, strlen(h->data));
	curl_slist_free_all(x->hdrs);
	wipe_free(x->post, x->post_len);
	free(x->url);
	if (x->cred != NULL)
		wipe_free(x->body, x->cap);
	else
		free(x->body);
	free(x);
}

static int
add_header(struct xfer *x, const char *name, const char *value)
{
	size_t n = strlen(name) + 2 + strlen(value) + 1;
	char *line = malloc(n);
	struct curl_slist *l;

	if (line == NULL)
		return (-1);
	snprintf(line, n, "%s: %s", name, value);
	l = curl_slist_append(x->hdrs, line);
	wipe_free(line, n);
	if (l == NULL)
		return (-1);
	x->hdrs = l;
	return (0);
}

/* Common options.  ${allow_http}: the IMDS endpoint and CRL distribution
 * points are plain http.  ${kind_max}: the most bytes the document's own
 * parser takes (${kind}: its name), which lowers fetch.max_body_bytes, so
 * nothing larger is downloaded only to be refused. */
static struct xfer *
xfer_new(struct fetcher *f, const char *url, const char *ca_file,
    bool allow_http, size_t kind_max, const char *kind)
{
	const struct fetch_cfg *fc = fcfg(f);
	const char *protos = allow_http || fc->insecure_skip_verify_for_tests ?
	    "http,https" : "https";
	struct xfer *x = calloc(1, sizeof(*x));

	if (x == NULL)
		return (NULL);
	x->f = f;
	x->max = fc->max_body_bytes;
	if (kind_max < x->max) {
		x->max = kind_max;
		x->max_of = kind;
	}
	if ((x->easy = curl_easy_init()) == NULL) {
		free(x);
		return (NULL);
	}
	curl_easy_setopt(x->easy, CURLOPT_URL, url);
	curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
	curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)fc->connect_timeout_ms);
	curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, (long)fc->timeout_ms);
	curl_easy_setopt(x->easy, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)x->max);
	curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, protos);
	curl_easy_setopt(x->easy, CURLOPT_REDIR_PROTOCOLS_STR, protos);
	curl_easy_setopt(x->easy, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(x->easy, CURLOPT_MAXREDIRS, 3L);
	curl_easy_setopt(x->easy, CURLOPT_USERAGENT, "spoa-iam/" SPOA_VERSION);
	if (fc->insecure_skip_verify_for_tests) {
		char red[256];

		log_warn("fetch %s: TLS certificate verification is OFF "
		    "(fetch.insecure_skip_verify_for_tests): test use only",
		    url_redact(url, red, sizeof(red)));
		curl_easy_setopt(x->easy, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(x->easy, CURLOPT_SSL_VERIFYHOST, 0L);
	} else {
		curl_easy_setopt(x->easy, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(x->easy, CURLOPT_SSL_VERIFYHOST, 2L);
	}
	if (ca_file != NULL)
		curl_easy_setopt(x->easy, CURLOPT_CAINFO, ca_file);
	return (x);
}

static int
xfer_go(struct xfer *x)
{
	if (x->hdrs != NULL)
		curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->hdrs);
	if (curl_multi_add_handle(x->f->multi, x->easy) != CURLM_OK)
		return (-1);
	return (0);
}

/*
 * A peer that closes without answering shows up as CURLE_GOT_NOTHING on a
 * fresh connection, but as a send or receive error ("Connection died,
 * tried 5 times") when curl had reused pooled connections. Both mean the
 * same thing to an operator, so they get one message.
 */
static bool
no_response(struct xfer *x, CURLcode res)
{
	long hdr = 0;

	if (res != CURLE_GOT_NOTHING && res != CURLE_SEND_ERROR &&
	    res != CURLE_RECV_ERROR)
		return (false);
	if (curl_easy_getinfo(x->easy, CURLINFO_HEADER_SIZE, &hdr) != CURLE_OK)
		return (false);
	return (hdr == 0);
}

static const char *
xfer_error(struct xfer *x, CURLcode res, char *buf, size_t cap)
{
	if (x->too_big || res == CURLE_FILESIZE_EXCEEDED)
		if (x->max_of == NULL)
			snprintf(buf, cap, "body larger than "
			    "fetch.max_body_bytes (%zu)", x->max);
		else
			snprintf(buf, cap, "body larger than %zu bytes, the "
			    "most %s may be", x->max, x->max_of);
	else if (no_response(x, res))
		snprintf(buf, cap, "server closed the connection without a "
		    "response (%.160s)", x->errbuf[0] != '\0' ? x->errbuf :
		    curl_easy_strerror(res));
	else if (x->errbuf[0] != '\0')
		snprintf(buf, cap, "%s", x->errbuf);
	else
		snprintf(buf, cap, "%s", curl_easy_strerror(res));
	return (buf);
}

/* ---- credentials ---- */

static void
cred_copy(struct credential *d, const struct credential *s)
{
	d->name = dup_or_null(s->name);
	d->type = s->type;
	d->endpoint = dup_or_null(s->endpoint);
	d->resource = dup_or_null(s->resource);
	d->client_id = dup_or_null(s->client_id);
	d->api_version = dup_or_null(s->api_version);
	d->token_url = dup_or_null(s->token_url);
	d->client_secret_file = dup_or_null(s->client_secret_file);
	d->client_secret_env = dup_or_null(s->client_secret_env);
	d->scope = dup_or_null(s->scope);
	d->ca_file = dup_or_null(s->ca_file);
	d->cert_file = dup_or_null(s->cert_file);
	d->key_file = dup_or_null(s->key_file);
}

static bool
cred_same(const struct credential *a, const struct credential *b)
{
	return (a->type == b->type && util_streq(a->name, b->name) &&
	    util_streq(a->endpoint, b->endpoint) && util_streq(a->resource, b->resource) &&
	    util_streq(a->client_id, b->client_id) &&
	    util_streq(a->api_version, b->api_version) &&
	    util_streq(a->token_url, b->token_url) &&
	    util_streq(a->client_secret_file, b->client_secret_file) &&
	    util_streq(a->client_secret_env, b->client_secret_env) &&
	    util_streq(a->scope, b->scope) && util_streq(a->ca_file, b->ca_file) &&
	    util_streq(a->cert_file, b->cert_file) && util_streq(a->key_file, b->key_file));
}

static void
cred_free(struct cred *c)
{
	struct credential *d = &c->c;

	if (c->xfer != NULL)
		xfer_free(c->xfer);
	wipe_free(c->token, c->token_len);
	free(d->name);
	free(d->endpoint);
	free(d->resource);
	free(d->client_id);
	free(d->api_version);
	free(d->token_url);
	free(d->client_secret_file);
	free(d->client_secret_env);
	free(d->scope);
	free(d->ca_file);
	free(d->cert_file);
	free(d->key_file);
	free(c);
}

static bool
cred_has_token(const struct cred *c)
{
	return (c->c.type != CRED_CLIENT_CERT);
}

/* A cached token still good for a while. */
static bool
token_fresh(const struct cred *c, int64_t now)
{
	int64_t margin;

	if (c->token == NULL)
		return (false);
	margin = (c->expires_at - c->obtained_at) / 4;
	if (margin > TOKEN_MARGIN_MAX)
		margin = TOKEN_MARGIN_MAX;
	return (now < c->expires_at - margin);
}

static void
cred_drop_token(struct fetcher *f, struct cred *c)
{
	wipe_free(c->token, c->token_len);
	c->token = NULL;
	c->token_len = 0;
	STAT_LOCKED(f, c->st.expires_at = 0);
}

/* The client secret (loader_read_secret()); wipe it after use. */
static char *
read_secret(const struct credential *c, size_t *len, char *err, size_t errlen)
{
	char why[ERR_MAX - 24];
	char *buf;

	if (loader_read_secret(c->client_secret_file, c->client_secret_env,
	    SECRET_MAX, &buf, len, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s: %s", c->client_secret_file != NULL ?
		    "client_secret_file" : "client_secret_env", why);
		return (NULL);
	}
	return (buf);
}

/* Append "&name=<enc value>" (no '&' first) to the form in ${x}. */
static int
form_add(char *form, size_t cap, size_t *o, const char *name, const char *v,
    size_t vlen)
{
	int n;
	ssize_t e;

	n = snprintf(form + *o, cap - *o, "%s%s=", *o ? "&" : "", name);
	if (n < 0 || (size_t)n >= cap - *o)
		return (-1);
	*o += (size_t)n;
	e = url_encode(v, vlen, form + *o, cap - *o);
	if (e < 0)
		return (-1);
	*o += (size_t)e;
	return (0);
}

static void cred_done(struct xfer *x, CURLcode res);

/* Start a token request for ${c}, unless one is in flight. */
static int
cred_request(struct fetcher *f, struct cred *c, char *err, size_t errlen)
{
	const struct credential *cc = &c->c;
	const char *ca = cc->ca_file != NULL ? cc->ca_file : fcfg(f)->ca_file;
	struct xfer *x = NULL;
	char *url = NULL;

	if (c->xfer != NULL)
		return (0);
	if (cc->type == CRED_MANAGED_IDENTITY) {
		char *u1, *u2 = NULL;

		u1 = url_add_param(cc->endpoint, "api-version", cc->api_version ?
		    cc->api_version : "2018-02-01");
		if (u1 != NULL)
			u2 = url_add_param(u1, "resource", cc->resource);
		free(u1);
		if (u2 != NULL && cc->client_id != NULL) {
			url = url_add_param(u2, "client_id", cc->client_id);
			free(u2);
		} else {
			url = u2;
		}
		if (url == NULL || (x = xfer_new(f, url, ca, true,
		    TOKENRESP_DOC_MAX, "a token response")) == NULL ||
		    curl_easy_setopt(x->easy, CURLOPT_NOPROXY, "*") != CURLE_OK ||
		    add_header(x, "Metadata", "true") != 0 ||
		    add_header(x, "Accept", "application/json") != 0) {
			snprintf(err, errlen, "cannot prepare the request");
			goto bad;
		}
	} else {
		size_t slen = 0, cap, o = 0;
		char *secret = read_secret(cc, &slen, err, errlen);

		if (secret == NULL)
			goto bad;
		cap = 64 + 3 * (strlen(cc->client_id) + slen +
		    (cc->scope ? strlen(cc->scope) : 0));
		x = xfer_new(f, cc->token_url, ca, false, TOKENRESP_DOC_MAX,
		    "a token response");
		if (x == NULL || (x->post = malloc(cap)) == NULL) {
			wipe_free(secret, slen);
			snprintf(err, errlen, "out of memory");
			goto bad;
		}
		x->post_len = cap;
		x->post[0] = '\0';
		if (form_add(x->post, cap, &o, "grant_type", "client_credentials",
		    18) != 0 ||
		    form_add(x->post, cap, &o, "client_id", cc->client_id,
		    strlen(cc->client_id)) != 0 ||
		    form_add(x->post, cap, &o, "client_secret", secret, slen) != 0 ||
		    (cc->scope != NULL && form_add(x->post, cap, &o, "scope",
		    cc->scope, strlen(cc->scope)) != 0)) {
			wipe_free(secret, slen);
			snprintf(err, errlen, "cannot build the token request");
			goto bad;
		}
		wipe_free(secret, slen);
		curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE, (long)o);
		curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, x->post);
		if (add_header(x, "Accept", "application/json") != 0) {
			snprintf(err, errlen, "out of memory");
			goto bad;
		}
	}
	x->cred = c;
	if (xfer_go(x) != 0) {
		snprintf(err, errlen, "cannot start the transfer");
		goto bad;
	}
	c->xfer = x;
	STAT_LOCKED(f, c->st.fetches++);
	log_debug("credential %s: requesting a token", cc->name);
	free(url);
	return (0);
bad:
	/* ${x} is NULL when the secret or the URL could not be had. */
	if (x != NULL) {
		x->cred = NULL;
		xfer_free(x);
	}
	free(url);
	return (-1);
}

/* ---- sources: scheduling and failures ---- */

static void
sched(struct source *src, double delay)
{
	struct fetcher *f = src->f;

	ev_timer_stop(f->loop, &src->timer);
	ev_timer_set(&src->timer, delay, 0.);
	ev_timer_start(f->loop, &src->timer);
	STAT_LOCKED(f, src->st.next_at = now_s() + (int64_t)(delay + 0.5));
}

/* Is ${h} in ${src}'s negative cache? */
static bool
neg_has(const struct source *src, const uint8_t h[16], int64_t now)
{
	for (size_t i = 0; i < NEG_MAX; i++)
		if (src->neg[i].until > now && memcmp(src->neg[i].h, h, 16) == 0)
			return (true);
	return (false);
}

static void
neg_add(struct fetcher *f, struct source *src, const uint8_t h[16],
    int64_t now)
{
	int64_t ttl = (int64_t)file_cfg(f)->kid_negative_ttl_s;

	if (neg_has(src, h, now))
		return;
	memcpy(src->neg[src->neg_next].h, h, 16);
	src->neg[src->neg_next].until = now + ttl;
	src->neg_next = (src->neg_next + 1) % NEG_MAX;
}

static int
kid_hash(const char *kid, size_t len, uint8_t h[16])
{
	uint8_t full[32];

	if (crypto_sha256(kid, len, full) != 0)
		return (-1);
	memcpy(h, full, 16);
	return (0);
}

/*
 * Start a refetch for the pending kids of ${src} now, or once
 * kid_refetch_interval_ms has passed since the last attempt made for kids
 * (on the source's timer), unless an attempt runs (its end calls this
 * again).  An attacker's random kids thus cost one fetch per interval at
 * most, while a newly published key waits at most one interval.
 */
static void
kid_schedule(struct source *src)
{
	int64_t wait = src->kid_attempt_ms +
	    (int64_t)file_cfg(src->f)->kid_refetch_interval_ms - util_mono_ms();

	if (!src->kid_wanted || src->xfer != NULL || src->wait_token)
		return;
	if (src->kid_attempt_ms == 0 || wait <= 0)
		start_fetch(src);
	else
		sched(src, (double)wait / 1000.0);
}

/*
 * An attempt of ${src} that started at ${start_ms} ended (${answered}: 200
 * or 304).  The kids asked before it started are answered: after a good
 * answer those still unknown go to the negative cache; either way the next
 * snapshot carries kid_served_ms = ${start_ms}, which decides every
 * request parked before then.  Kids asked since wait for the next attempt.
 */
static void
kid_resolve(struct source *src, int64_t start_ms, bool answered)
{
	struct fetcher *f = src->f;
	int64_t now = now_s();
	size_t w = 0;

	for (size_t i = 0; i < src->npending; i++) {
		if (src->pending[i].at_ms <= start_ms) {
			if (answered)
				neg_add(f, src, src->pending[i].h, now);
			continue;
		}
		src->pending[w++] = src->pending[i];
	}
	src->npending = w;
	if (start_ms > src->kid_served_ms) {
		src->kid_served_ms = start_ms;
		f->dirty = true;
	}
	src->kid_wanted = w > 0;
	kid_schedule(src);
}

/* An attempt of ${src} ended: answer the kids it covers. */
static void
end_attempt(struct source *src, bool answered)
{
	if (src->kind == SRC_JWKS)
		kid_resolve(src, src->attempt_ms, answered);
}

static void
src_fail(struct source *src, const char *err, bool bad_doc)
{
	struct fetcher *f = src->f;
	double delay;

	src->failures++;
	delay = refresh_backoff(src->failures, fcfg(f)->backoff_max_s, rnd32());
	STAT_LOCKED(f, {
		src->st.failures++;
		if (bad_doc)
			src->st.rejected++;
	});
	set_error(f, src, src->have ? ST_STALE : ST_ERROR, err);
	log_warn("%s: %s (failure %u in a row; %s; retry in %.1f s)", src->id,
	    err, src->failures, src->have ? "keeping the last good document" :
	    "no document yet", delay);
	sched(src, delay);
	end_attempt(src, false);
	if (src->kind == SRC_DISCOVERY && src->jwks != NULL &&
	    src->jwks->url == NULL)
		kid_resolve(src->jwks, util_mono_ms(), false);
}

/* ---- accepting documents ---- */

static int
accept_jwks(struct fetcher *f, struct source *src, const char *body,
    size_t len, char *err, size_t errlen)
{
	struct keyset *ks = NULL;

	if (loader_keys_from_doc(src->id, body, len, &ks, err, errlen) != 0)
		return (-1);
	if (keyset_equal(ks, src->keys)) {
		keyset_unref(ks);
		return (0);
	}
	keyset_unref(src->keys);
	src->keys = ks;
	f->dirty = true;
	return (0);
}

static void
set_jwks_url(struct fetcher *f, struct source *jw, const char *url)
{
	if (util_streq(jw->url, url))
		return;
	free(jw->url);
	jw->url = strdup(url);
	FREE_AND_NULL(jw->etag);
	FREE_AND_NULL(jw->last_modified);
	jw->fetched_run = false;
	set_display_url(f, jw);
}

static int
accept_discovery(struct fetcher *f, struct source *src, const char *body,
    size_t len, char *err, size_t errlen)
{
	const struct issuer_cfg *is = issuer_by_name(snapshot_config(f->base),
	    src->issuer, NULL);
	struct discovery d;
	const char *why;
	char *jw;

	if (is == NULL) {
		snprintf(err, errlen, "issuer no longer configured");
		return (-1);
	}
	if (discovery_parse(body, len, fcfg(f)->insecure_skip_verify_for_tests,
	    &d, &why) != 0) {
		snprintf(err, errlen, "bad discovery document: %s", why);
		return (-1);
	}
	if (!discovery_issuer_match(d.issuer, is)) {
		char shown[160];

		url_redact(d.issuer, shown, sizeof(shown));
		snprintf(err, errlen, "discovery document issuer \"%s\" does not "
		    "match the configured issuer", shown);
		discovery_release(&d);
		return (-1);
	}
	jw = src->appid != NULL ? url_add_param(d.jwks_uri, "appid", src->appid) :
	    strdup(d.jwks_uri);
	discovery_release(&d);
	if (jw == NULL) {
		snprintf(err, errlen, "jwks_uri too long");
		return (-1);
	}
	if (src->jwks != NULL) {
		if (src->jwks->url != NULL && !util_streq(src->jwks->url, jw))
			log_info("%s: jwks_uri changed", src->jwks->id);
		set_jwks_url(f, src->jwks, jw);
	}
	free(jw);
	return (0);
}

/*
 * Rebuild the CRL set from the crl_files and the crl_urls documents, with
 * ${cand} as ${src}'s document (NULL: the documents as they are).  One bad
 * document fails the whole build (crlset_build()), which is what keeps a
 * bad download from replacing a good one.
 */
static int
accept_crl(struct fetcher *f, struct source *src, const char *cand,
    size_t cand_len, char *err, size_t errlen)
{
	const struct config *cfg = snapshot_config(f->base);
	const struct ca_store *cas = f->base->cfg->cas;
	const struct crl_doc *fdocs;
	struct crl_doc *docs = NULL;
	struct crlset *cs = NULL;
	size_t n, cap;
	int rc = -1;

	if (cas == NULL) {
		snprintf(err, errlen, "crl_urls need client_ca_file (the CA "
		    "that signs the CRLs)");
		return (-1);
	}
	/* The crl_files, as the loader read them for this config file. */
	fdocs = crl_files_docs(f->file->crl_files, &n);
	if (n != cfg->crl_files.n) {
		snprintf(err, errlen, "crl_files not loaded");
		return (-1);
	}
	cap = n;
	for (struct source *s = f->sources; s != NULL; s = s->next)
		if (s->kind == SRC_CRL)
			cap++;
	if ((docs = calloc(cap ? cap : 1, sizeof(*docs))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	if (n > 0)
		memcpy(docs, fdocs, n * sizeof(*docs));
	for (struct source *s = f->sources; s != NULL; s = s->next) {
		if (s->kind != SRC_CRL)
			continue;
		if (s == src && cand != NULL) {
			docs[n].name = s->st.url;    /* no query secret */
			docs[n].buf = (const uint8_t *)cand;
			docs[n++].len = cand_len;
		} else if (s->have) {
			docs[n].name = s->st.url;    /* no query secret */
			docs[n].buf = (const uint8_t *)s->doc;
			docs[n++].len = s->doc_len;
		}
	}
	err[0] = '\0';
	if (crlset_build(docs, n, cas, now_s(), &cs, err, errlen) != 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "CRL refused");
		goto out;
	}
	crlset_unref(f->crls);
	f->crls = cs;
	f->dirty = true;
	log_info("crl_urls: %zu CRL%s, %zu revoked serial%s", crlset_count(cs),
	    crlset_count(cs) == 1 ? "" : "s", crlset_entries(cs),
	    crlset_entries(cs) == 1 ? "" : "s");
	rc = 0;
out:
	free(docs);
	return (rc);
}

/*
 * Apply a policy document: build the base snapshot from the config file
 * and it.  Errors are logged, one per line; the first is returned.
 */
static int
accept_policy(struct fetcher *f, const char *body, size_t len, char *err,
    size_t errlen)
{
	struct config_errors errs = { 0 };
	struct snapshot *nb = NULL;
	const struct config *c;

	if (loader_build_ref(f->file, body, len, f->base, &nb, &errs) != 0) {
		for (size_t i = 0; i < errs.n; i++)
			log_error("policy_url: %s", errs.v[i]);
		log_error("policy_url: document rejected (%zu error%s); keeping "
		    "the policy in use", errs.n, errs.n == 1 ? "" : "s");
		snprintf(err, errlen, "policy document rejected: %s",
		    errs.n ? errs.v[0] : "out of memory");
		config_errors_free(&errs);
		return (-1);
	}
	snapshot_unref(f->base);
	f->base = nb;
	c = snapshot_config(nb);
	log_info("policy_url: policy applied%s%s (%zu issuer%s, %zu route%s)",
	    c->policy_version ? ", version " : "",
	    c->policy_version ? c->policy_version : "",
	    c->nissuers, c->nissuers == 1 ? "" : "s",
	    c->nroutes, c->nroutes == 1 ? "" : "s");
	f->dirty = true;
	replan_issuers(f);
	return (0);
}

static int
accept_doc(struct fetcher *f, struct source *src, const char *body,
    size_t len, char *err, size_t errlen)
{
	/* The document in use, byte for byte (a server without validators
	 * answers 200 each time): nothing to check, rebuild or publish. */
	if (src->have && src->doc_len == len && memcmp(src->doc, body, len) == 0)
		return (0);
	switch (src->kind) {
	case SRC_DISCOVERY:
		return (accept_discovery(f, src, body, len, err, errlen));
	case SRC_JWKS:
		return (accept_jwks(f, src, body, len, err, errlen));
	case SRC_POLICY:
		return (accept_policy(f, body, len, err, errlen));
	case SRC_CRL:
		return (accept_crl(f, src, body, len, err, errlen));
	}
	return (-1);
}

/*
 * A NUL-terminated copy of the ${len} bytes at ${body}, made before the
 * document is accepted: a document is accepted only if it can be kept, so
 * ${src}->doc is always the one in use (CRL rebuilds, state_dir, the
 * unchanged-bytes check of accept_doc()).  NULL if out of memory.
 */
static char *
doc_copy(const char *body, size_t len)
{
	char *d = malloc(len + 1);

	if (d != NULL) {
		memcpy(d, body, len);
		d[len] = '\0';
	}
	return (d);
}

/* Make the accepted ${copy} (from doc_copy()) ${src}'s document. */
static void
keep_doc(struct source *src, char *copy, size_t len)
{
	free(src->doc);
	src->doc = copy;
	src->doc_len = len;
	src->have = true;
}

static void
set_validators(struct source *src, const char *etag, size_t elen,
    const char *lm, size_t llen, bool replace)
{
	if (elen > 0 || replace) {
		free(src->etag);
		src->etag = elen > 0 ? strndup(etag, elen) : NULL;
	}
	if (llen > 0 || replace) {
		free(src->last_modified);
		src->last_modified = llen > 0 ? strndup(lm, llen) : NULL;
	}
}

/* Load ${src}'s state file, if any; true if a document was taken. */
static bool
state_load(struct fetcher *f, struct source *src)
{
	struct statemeta m;
	char *buf = NULL, *copy, err[ERR_MAX];
	int64_t now = now_s();

	if (state_read(f, src, &buf, &m) != 0)
		return (false);
	/* Behind discovery, a key set is only as good as the discovery
	 * document that named its URL: without one accepted (loaded just
	 * before), or for another jwks_uri, the file is not used. */
	if (src->kind == SRC_JWKS && src->disc != NULL && (src->url == NULL ||
	    m.url.len != strlen(src->url) ||
	    memcmp(m.url.p, src->url, m.url.len) != 0)) {
		log_info("%s: state_dir document not used: %s", src->id,
		    src->url == NULL ? "no accepted discovery document names "
		    "its URL" : "discovery now names another jwks_uri");
		free(buf);
		return (false);
	}
	if ((copy = doc_copy(m.body, m.body_len)) == NULL) {
		log_warn("%s: state_dir document not used: out of memory",
		    src->id);
		free(buf);
		return (false);
	}
	/* CRLs are built together once all are loaded (see callers). */
	if (src->kind != SRC_CRL &&
	    accept_doc(f, src, m.body, m.body_len, err, sizeof(err)) != 0) {
		log_warn("%s: state_dir document not used: %s", src->id, err);
		free(copy);
		free(buf);
		return (false);
	}
	keep_doc(src, copy, m.body_len);
	/* Validators only apply to the URL they came from. */
	if (src->url != NULL && m.url.len == strlen(src->url) &&
	    memcmp(m.url.p, src->url, m.url.len) == 0)
		set_validators(src, m.etag.p, m.etag.p ? m.etag.len : 0,
		    m.last_modified.p, m.last_modified.p ? m.last_modified.len : 0,
		    true);
	STAT_LOCKED(f, {
		src->st.good_at = m.fetched > now ? now : m.fetched;
		src->st.state = ST_STALE;
		snprintf(src->st.last_error, sizeof(src->st.last_error),
		    "loaded from state_dir; not revalidated yet");
	});
	log_info("%s: loaded from state_dir (%lld s old)", src->id,
	    (long long)(now - src->st.good_at));
	set_display_url(f, src);
	f->dirty = true;
	free(buf);
	return (true);
}

/* ---- sources: completion ---- */

static void
src_done(struct xfer *x, CURLcode res)
{
	struct source *src = x->src;
	struct fetcher *f = x->f;
	struct refresh_cc cc, *ccp = NULL;
	char err[ERR_MAX];
	long code = 0;
	int64_t now = now_s();
	bool not_modified = false;
	uint32_t next;

	src->xfer = NULL;
	if (!util_streq(x->url, src->url)) {
		/* Discovery named another jwks_uri while this ran: whatever
		 * came back is not the document of the URL now in use. */
		log_debug("%s: URL changed during the fetch; fetching again",
		    src->id);
		start_fetch(src);
		return;
	}
	if (res != CURLE_OK) {
		src_fail(src, xfer_error(x, res, err, sizeof(err)), false);
		return;
	}
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
	if (code == 401 && src->cred != NULL) {
		struct cred *c = find_cred(f, src->cred);

		/* The token may have been revoked: get a new one next time. */
		if (c != NULL && cred_has_token(c))
			cred_drop_token(f, c);
	}
	if (code == 304) {
		if (!src->have) {
			src_fail(src, "304 Not Modified without a cached document",
			    false);
			return;
		}
		not_modified = true;
		set_validators(src, x->etag, strlen(x->etag), x->lastmod,
		    strlen(x->lastmod), false);
		if (src->kind == SRC_JWKS || src->kind == SRC_POLICY)
			f->dirty = true;        /* keys_at / policy_at move */
	} else if (code == 200) {
		const char *body = x->body ? x->body : "";
		char *copy = doc_copy(body, x->len);

		if (copy == NULL) {
			src_fail(src, "out of memory", false);
			return;
		}
		if (accept_doc(f, src, body, x->len, err, sizeof(err)) != 0) {
			free(copy);
			src_fail(src, err, true);
			return;
		}
		keep_doc(src, copy, x->len);
		set_validators(src, x->etag, strlen(x->etag), x->lastmod,
		    strlen(x->lastmod), true);
		if (src->kind == SRC_JWKS || src->kind == SRC_POLICY)
			f->dirty = true;
	} else {
		snprintf(err, sizeof(err), "HTTP status %ld", code);
		src_fail(src, err, false);
		return;
	}
	src->failures = 0;
	src->fetched_run = true;
	STAT_LOCKED(f, {
		src->st.good_at = now;
		if (not_modified)
			src->st.not_modified++;
	});
	set_error(f, src, ST_OK, NULL);
	if (x->cc_seen && !x->cc_over && refresh_parse_cc(x->cc, x->cc_len,
	    &cc) == 0)
		ccp = &cc;
	next = refresh_interval(ccp, fcfg(f)->refresh_min_s,
	    fcfg(f)->refresh_max_s, rnd32());
	log_debug("%s: %s; next refresh in %u s", src->id, not_modified ?
	    "not modified" : "fetched", next);
	sched(src, next);
	state_save(f, src);
	end_attempt(src, true);
	/* A new (or first) jwks_uri: fetch the keys now. */
	if (src->kind == SRC_DISCOVERY && src->jwks != NULL &&
	    !src->jwks->fetched_run && src->jwks->xfer == NULL)
		start_fetch(src->jwks);
}

/* ---- sources: starting a fetch ---- */

static void
start_fetch(struct source *src)
{
	struct fetcher *f = src->f;
	struct cred *c = find_cred(f, src->cred);
	struct xfer *x = NULL;
	char err[ERR_MAX];
	const char *accept;

	if (src->xfer != NULL || src->wait_token)
		return;
	if (src->kind == SRC_JWKS && src->url == NULL) {
		/* Its URL comes from discovery, which will start it. */
		if (src->disc != NULL && src->disc->xfer == NULL &&
		    !src->disc->wait_token)
			start_fetch(src->disc);
		return;
	}
	if (c != NULL && cred_has_token(c) && !token_fresh(c, now_s())) {
		if (c->token != NULL)
			cred_drop_token(f, c);
		if (cred_request(f, c, err, sizeof(err)) != 0) {
			char msg[2 * ERR_MAX];

			STAT_LOCKED(f, {
				c->st.failures++;
				c->st.failed = true;
				snprintf(c->st.last_error, sizeof(c->st.last_error),
				    "%s", err);
			});
			snprintf(msg, sizeof(msg), "credential %s: %s", c->c.name, err);
			src_fail(src, msg, false);
			return;
		}
		src->wait_token = true;
		return;
	}
	/* CRL distribution points are usually plain http, and a CRL is
	 * signed (checked against client_ca_file): http is fine there.
	 * Everything else is https only. */
	x = xfer_new(f, src->url, src->ca_file, src->kind == SRC_CRL,
	    doc_max[src->kind].max, doc_max[src->kind].what);
	if (x == NULL)
		goto bad;
	x->src = src;
	if ((x->url = strdup(src->url)) == NULL)
		goto bad;
	accept = src->kind == SRC_CRL ?
	    "application/pkix-crl, application/x-pem-file, */*" :
	    "application/json";
	if (add_header(x, "Accept", accept) != 0)
		goto bad;
	if (src->have && src->etag != NULL &&
	    add_header(x, "If-None-Match", src->etag) != 0)
		goto bad;
	if (src->have && src->last_modified != NULL &&
	    add_header(x, "If-Modified-Since", src->last_modified) != 0)
		goto bad;
	if (c != NULL && c->c.type == CRED_CLIENT_CERT) {
		curl_easy_setopt(x->easy, CURLOPT_SSLCERT, c->c.cert_file);
		curl_easy_setopt(x->easy, CURLOPT_SSLKEY, c->c.key_file);
	} else if (c != NULL) {
		size_t n = 7 + c->token_len + 1;
		char *v = malloc(n);

		if (v == NULL)
			goto bad;
		snprintf(v, n, "Bearer %s", c->token);
		if (add_header(x, "Authorization", v) != 0) {
			wipe_free(v, n);
			goto bad;
		}
		wipe_free(v, n);
	}
	if (xfer_go(x) != 0)
		goto bad;
	src->xfer = x;
	src->attempt_ms = util_mono_ms();
	if (src->kid_wanted)
		src->kid_attempt_ms = src->attempt_ms;
	STAT_LOCKED(f, {
		src->st.fetches++;
		src->st.next_at = 0;
	});
	ev_timer_stop(f->loop, &src->timer);
	log_debug("%s: fetching", src->id);
	return;
bad:
	if (x != NULL)
		x->src = NULL;
	xfer_free(x);
	src_fail(src, "cannot start the transfer", false);
}

static void
cred_done(struct xfer *x, CURLcode res)
{
	struct cred *c = x->cred;
	struct fetcher *f = x->f;
	char err[ERR_MAX] = "", msg[2 * ERR_MAX] = "";
	char *tok = NULL;
	size_t tlen = 0;
	int64_t now = now_s(), exp = 0;
	long code = 0;

	c->xfer = NULL;
	if (res != CURLE_OK) {
		xfer_error(x, res, err, sizeof(err));
	} else {
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
		if (tokenresp_parse(x->body ? x->body : "", x->len, now, &tok,
		    &tlen, &exp, err, sizeof(err)) == 0 && code != 200) {
			wipe_free(tok, tlen);
			tok = NULL;
			snprintf(err, sizeof(err), "HTTP status %ld", code);
		} else if (tok == NULL && code != 200) {
			char e2[2 * ERR_MAX];

			snprintf(e2, sizeof(e2), "HTTP status %ld: %s", code, err);
			copy_trunc(err, sizeof(err), e2);
		}
	}
	if (tok != NULL) {
		wipe_free(c->token, c->token_len);
		c->token = tok;
		c->token_len = tlen;
		c->obtained_at = now;
		c->expires_at = exp;
		STAT_LOCKED(f, {
			c->st.expires_at = exp;
			c->st.failed = false;
			c->st.last_error[0] = '\0';
		});
		log_info("credential %s: token obtained, valid for %lld s",
		    c->c.name, (long long)(exp - now));
	} else {
		STAT_LOCKED(f, {
			c->st.failures++;
			c->st.failed = true;
			snprintf(c->st.last_error, sizeof(c->st.last_error), "%s", err);
		});
		log_warn("credential %s: no token: %s", c->c.name, err);
		/* What the sources that waited for it fail with. */
		snprintf(msg, sizeof(msg), "credential %s: %s", c->c.name, err);
	}
	/* Wake the sources that waited for it. */
	for (struct source *s = f->sources; s != NULL; s = s->next) {
		if (!s->wait_token || !util_streq(s->cred, c->c.name))
			continue;
		s->wait_token = false;
		if (tok != NULL)
			start_fetch(s);
		else
			src_fail(s, msg, false);
	}
}

/* ---- curl multi <-> libev ---- */

static void
check_done(struct fetcher *f)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(f->multi, &left)) != NULL) {
		struct xfer *x;
		char *priv = NULL;
		CURLcode res;

		if (m->msg != CURLMSG_DONE)
			continue;
		res = m->data.result;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
		if (priv == NULL)
			continue;
		x = (struct xfer *)(void *)priv;
		curl_multi_remove_handle(f->multi, x->easy);
		if (x->src != NULL)
			src_done(x, res);
		else if (x->cred != NULL)
			cred_done(x, res);
		xfer_free(x);
	}
}

static void
on_sock(struct ev_loop *loop, ev_io *w, int revents)
{
	struct csock *cs = (struct csock *)(void *)((char *)w -
	    offsetof(struct csock, io));
	struct fetcher *f = cs->f;
	int flags = 0, running;

	(void)loop;
	if (revents & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (revents & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(f->multi, w->fd, flags, &running);
	check_done(f);
}

static void
on_curl_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct fetcher *f = t->data;
	int running;

	(void)loop;
	(void)revents;
	curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(f);
}

static int
curl_sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct fetcher *f = userp;
	struct csock *cs = socketp;
	int ev;

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		if (cs != NULL) {
			ev_io_stop(f->loop, &cs->io);
			free(cs);
			curl_multi_assign(f->multi, s, NULL);
		}
		return (0);
	}
	ev = ((what & CURL_POLL_IN) ? EV_READ : 0) |
	    ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
	if (cs == NULL) {
		if ((cs = calloc(1, sizeof(*cs))) == NULL)
			return (-1);
		cs->f = f;
		ev_io_init(&cs->io, on_sock, s, ev);
		curl_multi_assign(f->multi, s, cs);
	} else {
		ev_io_stop(f->loop, &cs->io);
		ev_io_set(&cs->io, s, ev);
	}
	ev_io_start(f->loop, &cs->io);
	return (0);
}

static int
curl_timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	struct fetcher *f = userp;

	(void)m;
	ev_timer_stop(f->loop, &f->curl_timer);
	if (timeout_ms >= 0) {
		/* curl counts milliseconds, libev seconds. */
		ev_timer_set(&f->curl_timer, (double)timeout_ms / 1000.0, 0.);
		ev_timer_start(f->loop, &f->curl_timer);
	}
	return (0);
}

static void
on_src_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct source *src = t->data;

	(void)loop;
	(void)revents;
	start_fetch(src);
}

/* ---- planning sources ---- */

static void
src_free(struct fetcher *f, struct source *src)
{
	if (src == NULL)
		return;
	if (src->xfer != NULL) {
		src->xfer->src = NULL;
		xfer_free(src->xfer);
	}
	if (f->loop != NULL)
		ev_timer_stop(f->loop, &src->timer);
	keyset_unref(src->keys);
	free(src->id);
	free(src->key);
	free(src->issuer);
	free(src->conf_url);
	free(src->url);
	free(src->appid);
	free(src->ca_file);
	free(src->cred);
	free(src->doc);
	free(src->etag);
	free(src->last_modified);
	free(src);
}

static struct source *
src_new(struct fetcher *f, enum src_kind kind, const char *issuer,
    const char *conf_url)
{
	struct source *src = calloc(1, sizeof(*src));
	char red[200], *id = NULL, *key = NULL;
	size_t n;

	if (src == NULL)
		return (NULL);
	src->f = f;
	src->kind = kind;
	src->keep = true;
	n = strlen(conf_url) + (issuer ? strlen(issuer) : 0) + 32;
	id = malloc(n + sizeof(red));
	key = malloc(n);
	if (id == NULL || key == NULL)
		goto bad;
	if (kind == SRC_CRL)
		snprintf(id, n + sizeof(red), "crl:%s",
		    url_redact(conf_url, red, sizeof(red)));
	else if (issuer != NULL)
		snprintf(id, n + sizeof(red), "%s:%s", kind_name[kind], issuer);
	else
		snprintf(id, n + sizeof(red), "%s", kind_name[kind]);
	snprintf(key, n, "%s %s %s", kind_name[kind], issuer ? issuer : "-",
	    conf_url);
	src->id = id;
	src->key = key;
	src->issuer = dup_or_null(issuer);
	src->conf_url = strdup(conf_url);
	if ((issuer != NULL && src->issuer == NULL) || src->conf_url == NULL)
		goto bad2;
	ev_timer_init(&src->timer, on_src_timer, 0., 0.);
	src->timer.data = src;
	snprintf(src->st.url, sizeof(src->st.url), "%s",
	    url_redact(conf_url, red, sizeof(red)));
	return (src);
bad:
	free(id);
	free(key);
	free(src);
	return (NULL);
bad2:
	src_free(f, src);
	return (NULL);
}

static void
src_link(struct fetcher *f, struct source *src)
{
	STAT_LOCKED(f, {
		src->next = f->sources;
		f->sources = src;
	});
}

static void
set_src_opts(struct source *src, const char *ca, const char *cred)
{
	if (!util_streq(src->ca_file, ca)) {
		free(src->ca_file);
		src->ca_file = dup_or_null(ca);
	}
	if (!util_streq(src->cred, cred)) {
		free(src->cred);
		src->cred = dup_or_null(cred);
		/* It waited for a token of the old credential, whose completion
		 * no longer wakes it: fetch again with the new one. */
		if (src->wait_token) {
			src->wait_token = false;
			if (src->f->started)
				sched(src, 0.);
		}
	}
}

/* Unlink and free the sources not marked to keep. */
static void
sweep_sources(struct fetcher *f, bool issuers)
{
	struct source **pp = &f->sources, *dead = NULL;

	pthread_mutex_lock(&f->lock);
	while (*pp != NULL) {
		struct source *s = *pp;
		bool mine = issuers == (s->kind == SRC_DISCOVERY ||
		    s->kind == SRC_JWKS);

		if (mine && !s->keep) {
			*pp = s->next;
			s->next = dead;
			dead = s;
		} else {
			pp = &s->next;
		}
	}
	pthread_mutex_unlock(&f->lock);
	while (dead != NULL) {
		struct source *n = dead->next;

		log_info("%s: no longer configured", dead->id);
		src_free(f, dead);
		dead = n;
	}
}

/* Drop ${src}'s document, validators and keys (they no longer apply). */
static void
src_forget(struct fetcher *f, struct source *src)
{
	src->have = false;
	FREE_AND_NULL(src->doc);
	src->doc_len = 0;
	FREE_AND_NULL(src->etag);
	FREE_AND_NULL(src->last_modified);
	keyset_unref(src->keys);
	src->keys = NULL;
	src->fetched_run = false;
	STAT_LOCKED(f, src->st.good_at = 0);
	f->dirty = true;
}

/*
 * A discovery source kept by a re-plan: its document must still name the
 * issuer as configured now (a reload or policy may change the issuer but
 * not the URL, and a 304 never checks again).  If it does not, the
 * document, the jwks_uri it gave and the keys from there are dropped, and
 * the document is fetched again (whole).
 */
static void
disc_recheck(struct fetcher *f, struct source *di)
{
	struct source *jw = di->jwks;
	char err[ERR_MAX];

	if (!di->have || accept_discovery(f, di, di->doc, di->doc_len, err,
	    sizeof(err)) == 0)
		return;
	log_warn("%s: %s; its jwks_uri and keys are no longer used", di->id,
	    err);
	STAT_LOCKED(f, di->st.rejected++);
	set_error(f, di, ST_ERROR, err);
	src_forget(f, di);
	if (jw != NULL) {
		src_forget(f, jw);
		FREE_AND_NULL(jw->url);
		set_display_url(f, jw);
		set_error(f, jw, ST_ERROR, "no jwks_uri: the discovery "
		    "document does not match the issuer");
	}
	if (f->started)
		sched(di, 0.);
}

/*
 * Sources for the remote issuers of the base config.  Sources whose
 * identity (issuer name, kind, URL with appid) is unchanged keep their
 * documents and schedule; new ones load their state_dir file.
 */
static void
replan_issuers(struct fetcher *f)
{
	const struct config *cfg = snapshot_config(f->base);
	const struct fetch_cfg *fc = fcfg(f);

	for (struct source *s = f->sources; s != NULL; s = s->next)
		if (s->kind == SRC_DISCOVERY || s->kind == SRC_JWKS)
			s->keep = false;
	for (size_t i = 0; i < cfg->nissuers; i++) {
		const struct issuer_cfg *is = &cfg->issuers[i];
		const char *ca = is->ca_file != NULL ? is->ca_file : fc->ca_file;
		struct source *jw, *di = NULL;
		char *conf;

		if (is->source != KEYS_DISCOVERY && is->source != KEYS_JWKS_URL)
			continue;
		conf = is->appid != NULL ? url_add_param(is->source_location,
		    "appid", is->appid) : strdup(is->source_location);
		if (conf == NULL) {
			log_error("issuer %s: key source URL too long", is->name);
			continue;
		}
		jw = find_jwks(f, is->name);
		if (jw != NULL && util_streq(jw->conf_url, conf) &&
		    (jw->disc != NULL) == (is->source == KEYS_DISCOVERY)) {
			jw->keep = true;
			if (jw->disc != NULL)
				jw->disc->keep = true;
			set_src_opts(jw, ca, is->credential);
			if (jw->disc != NULL) {
				set_src_opts(jw->disc, ca, is->credential);
				disc_recheck(f, jw->disc);
			}
			free(conf);
			continue;
		}
		/* New (or changed) source. */
		jw = src_new(f, SRC_JWKS, is->name, conf);
		if (jw == NULL)
			goto oom;
		if (is->source == KEYS_DISCOVERY) {
			di = src_new(f, SRC_DISCOVERY, is->name, conf);
			if (di == NULL) {
				src_free(f, jw);
				goto oom;
			}
			di->url = strdup(conf);
			di->appid = dup_or_null(is->appid);
			di->jwks = jw;
			jw->disc = di;
			set_src_opts(di, ca, is->credential);
		} else {
			jw->url = strdup(conf);
		}
		set_src_opts(jw, ca, is->credential);
		/* Identity changed: the old pair (if any) goes; mark it. */
		if (di != NULL)
			src_link(f, di);
		src_link(f, jw);
		if (di != NULL)
			(void)state_load(f, di);
		(void)state_load(f, jw);
		if (f->started) {
			if (di != NULL)
				sched(di, 0.);
			sched(jw, 0.);
		}
		free(conf);
		continue;
oom:
		free(conf);
		log_error("issuer %s: out of memory planning its sources", is->name);
	}
	/* A kept pair found by find_jwks() above may shadow an older one of
	 * the same issuer: only the first match is kept, the rest swept. */
	sweep_sources(f, true);
	f->dirty = true;
}

/* Credentials, policy and CRL sources of the config file. */
static void
replan_global(struct fetcher *f)
{
	const struct config *cfg = file_cfg(f);
	const struct fetch_cfg *fc = &cfg->fetch;
	struct cred **cp, *dead = NULL;
	bool found;

	/* Credentials: unchanged ones keep their token. */
	for (struct cred *c = f->creds; c != NULL; c = c->next)
		c->keep = false;
	for (size_t i = 0; i < cfg->ncredentials; i++) {
		struct cred *c;

		found = false;
		for (c = f->creds; c != NULL && !found; c = c->next) {
			if (cred_same(&c->c, &cfg->credentials[i])) {
				c->keep = true;
				found = true;
			}
		}
		if (found)
			continue;
		if ((c = calloc(1, sizeof(*c))) == NULL)
			continue;
		cred_copy(&c->c, &cfg->credentials[i]);
		c->keep = true;
		STAT_LOCKED(f, {
			c->next = f->creds;
			f->creds = c;
		});
	}
	pthread_mutex_lock(&f->lock);
	for (cp = &f->creds; *cp != NULL;) {
		struct cred *c = *cp;

		if (!c->keep) {
			*cp = c->next;
			c->next = dead;
			dead = c;
		} else {
			cp = &c->next;
		}
	}
	pthread_mutex_unlock(&f->lock);
	while (dead != NULL) {
		struct cred *n = dead->next;

		/* Sources waiting for it fail and retry with the new one. */
		for (struct source *s = f->sources; s != NULL; s = s->next)
			if (s->wait_token && util_streq(s->cred, dead->c.name)) {
				s->wait_token = false;
				if (f->started)
					sched(s, 0.);
			}
		cred_free(dead);
		dead = n;
	}

	/* Policy and CRL sources. */
	for (struct source *s = f->sources; s != NULL; s = s->next)
		if (s->kind == SRC_POLICY || s->kind == SRC_CRL)
			s->keep = false;
	for (size_t i = 0; i < cfg->crl_urls.n + 1; i++) {
		bool policy = i == cfg->crl_urls.n;
		const char *url = policy ? cfg->policy_url : cfg->crl_urls.v[i];
		enum src_kind kind = policy ? SRC_POLICY : SRC_CRL;
		const char *ca = policy && cfg->policy_ca_file ?
		    cfg->policy_ca_file : fc->ca_file;
		const char *cred = policy ? cfg->policy_credential : NULL;
		struct source *src = NULL;

		if (url == NULL)
			continue;
		for (struct source *s = f->sources; s != NULL; s = s->next)
			if (s->kind == kind && !s->keep &&
			    strcmp(s->conf_url, url) == 0) {
				src = s;
				break;
			}
		if (src != NULL) {
			src->keep = true;
			set_src_opts(src, ca, cred);
			continue;
		}
		if ((src = src_new(f, kind, NULL, url)) == NULL) {
			char red[200];

			log_error("%s: out of memory",
			    url_redact(url, red, sizeof(red)));
			continue;
		}
		src->url = strdup(url);
		set_src_opts(src, ca, cred);
		src_link(f, src);
		(void)state_load(f, src);
		if (f->started)
			sched(src, 0.);
	}
	sweep_sources(f, false);
	f->dirty = true;
}

/*
 * The CRL set after the base changed (start, reload) or CRL documents came
 * from state_dir: built from the crl_files and crl_urls documents of the
 * config now in use only.  Without crl_urls the base's (crl_files) set is
 * published; with crl_urls and no set built (no document yet, or the
 * documents kept from before do not build under this config), none is:
 * mTLS routes answer not_ready until one is.
 */
static void
rebuild_crls(struct fetcher *f)
{
	char err[ERR_MAX];

	crlset_unref(f->crls);
	f->crls = NULL;
	f->dirty = true;
	if (file_cfg(f)->crl_urls.n == 0)
		return;
	for (struct source *s = f->sources; s != NULL; s = s->next) {
		if (s->kind == SRC_CRL && s->have) {
			if (accept_crl(f, s, NULL, 0, err, sizeof(err)) == 0)
				return;
			log_warn("crl_urls: CRLs not used: %s", err);
			break;
		}
	}
	/* Documents that do not build (say, client_ca_file changed): fetch
	 * them whole again, not just revalidate them (a 304 builds nothing). */
	for (struct source *s = f->sources; s != NULL; s = s->next) {
		if (s->kind != SRC_CRL || !s->have)
			continue;
		FREE_AND_NULL(s->etag);
		FREE_AND_NULL(s->last_modified);
		if (f->started)
			sched(s, 0.);
	}
}

/* ---- publication ---- */

static const char *
keys_from(enum key_source s)
{
	switch (s) {
	case KEYS_DISCOVERY:
		return ("discovery");
	case KEYS_JWKS_URL:
		return ("jwks_url");
	case KEYS_JWKS_FILE:
		return ("jwks_file");
	case KEYS_NONE:
		return ("hmac");
	}
	return ("?");
}

static void
update_istat(struct fetcher *f, const struct snapshot *s)
{
	const struct config *cfg = snapshot_config(s);
	struct issuer_stat *st = calloc(cfg->nissuers ? cfg->nissuers : 1,
	    sizeof(*st)), *old;
	size_t nold;

	if (st == NULL)
		return;
	for (size_t i = 0; i < cfg->nissuers; i++) {
		const struct issuer_cfg *is = &cfg->issuers[i];

		st[i].name = strdup(is->name);
		st[i].keys_from = keys_from(is->source);
		st[i].remote = is->source == KEYS_DISCOVERY ||
		    is->source == KEYS_JWKS_URL;
		st[i].has_keys = is->source == KEYS_NONE ? s->hmac[i] != NULL :
		    s->keys[i] != NULL;
		st[i].keys_at = s->keys_at[i];
	}
	pthread_mutex_lock(&f->lock);
	old = f->istat;
	nold = f->nistat;
	f->istat = st;
	f->nistat = cfg->nissuers;
	f->policy_configured = file_cfg(f)->policy_url != NULL;
	f->policy_loaded = s->policy_loaded;
	f->policy_at = s->policy_at;
	f->max_stale_s = fcfg(f)->max_stale_s;
	pthread_mutex_unlock(&f->lock);
	for (size_t i = 0; i < nold; i++)
		free(old[i].name);
	free(old);
}

/*
 * Build a snapshot from the base (config, local keys, secrets) and the
 * sources (remote keys, cooldowns, CRLs) and send it to every worker.
 * Snapshots of the same base share its config, so the workers' caches of
 * verified tokens survive (entries whose key left the set die in their
 * sweep).
 */
static void
publish(struct fetcher *f)
{
	struct snapshot *s = snapshot_derive(f->base, f->base->cfg);
	const struct config *cfg;

	f->dirty = false;
	if (s == NULL) {
		log_error("fetch: out of memory building a snapshot");
		f->dirty = true;
		return;
	}
	cfg = snapshot_config(s);
	for (size_t i = 0; i < cfg->nissuers; i++) {
		const struct issuer_cfg *is = &cfg->issuers[i];
		struct source *src;

		if (is->source != KEYS_DISCOVERY && is->source != KEYS_JWKS_URL)
			continue;
		src = find_jwks(f, is->name);
		snapshot_set_keys(s, i, src ? src->keys : NULL,
		    src && src->keys ? src->st.good_at : 0);
		s->kid_served_ms[i] = src ? src->kid_served_ms : 0;
	}
	/* With crl_urls, only a set built with their documents will do: the
	 * base's holds the crl_files alone. */
	if (file_cfg(f)->crl_urls.n > 0)
		snapshot_set_crls(s, f->crls != NULL ? crlset_ref(f->crls) :
		    NULL);
	s->policy_loaded = f->base->policy_loaded;
	for (struct source *p = f->sources; p != NULL; p = p->next)
		if (p->kind == SRC_POLICY && p->have)
			s->policy_at = p->st.good_at;
	for (size_t i = 0; i < f->nworkers; i++)
		f->sink.publish(f->targets[i], s);
	snapshot_unref(f->cur);
	f->cur = s;
	update_istat(f, s);
}

/* ---- the inbox ---- */

static void
post(struct fetcher *f, struct msg *m)
{
	bool sent = false;

	m->next = NULL;
	pthread_mutex_lock(&f->inbox_lock);
	if (!f->closed && (m->type != MSG_KID || f->inbox_n < INBOX_MAX)) {
		if (f->tail != NULL)
			f->tail->next = m;
		else
			f->head = m;
		f->tail = m;
		f->inbox_n++;
		sent = true;
	}
	pthread_mutex_unlock(&f->inbox_lock);
	if (sent) {
		ev_async_send(f->loop, &f->wake);
	} else {
		config_free(m->cfg);
		free(m->issuer);
		free(m);
	}
}

void
fetch_refetch(void *arg, const char *issuer, const char *kid, size_t kid_len)
{
	struct fetcher *f = arg;
	struct msg *m;

	if (f == NULL || issuer == NULL || kid == NULL || kid_len == 0 ||
	    kid_len > KID_MSG_MAX)
		return;
	if ((m = calloc(1, sizeof(*m) + kid_len)) == NULL)
		return;
	m->type = MSG_KID;
	if ((m->issuer = strdup(issuer)) == NULL) {
		free(m);
		return;
	}
	memcpy(m->kid, kid, kid_len);
	m->kid_len = kid_len;
	post(f, m);
}

void
fetch_reload(struct fetcher *f, struct config *cfg)
{
	struct msg *m = calloc(1, sizeof(*m));

	if (m == NULL) {
		log_error("reload: out of memory");
		config_free(cfg);
		return;
	}
	m->type = MSG_RELOAD;
	m->cfg = cfg;
	post(f, m);
}

static void
on_kid(struct fetcher *f, const char *issuer, const char *kid, size_t kid_len)
{
	struct source *src = find_jwks(f, issuer);
	int64_t now = now_s();
	uint8_t h[16];
	size_t idx;
	bool dup = false;

	if (src == NULL || kid_hash(kid, kid_len, h) != 0)
		return;
	/* Already known (the worker's snapshot was older): the snapshot
	 * that has it is published or about to be. */
	if (src->keys != NULL && keyset_find(src->keys, kid, kid_len) != NULL)
		return;
	if (neg_has(src, h, now)) {
		/* Known to be absent: answer the requests parked on this kid
		 * now.  Requests parked on other kids keep waiting. */
		if (issuer_by_name(snapshot_config(f->cur), issuer, &idx) != NULL)
			for (size_t i = 0; i < f->nworkers; i++)
				f->sink.kid_absent(f->targets[i], idx, kid,
				    kid_len);
		return;
	}
	for (size_t i = 0; i < src->npending && !dup; i++)
		dup = memcmp(src->pending[i].h, h, 16) == 0;
	if (!dup && src->npending < PENDING_MAX) {
		memcpy(src->pending[src->npending].h, h, 16);
		src->pending[src->npending++].at_ms = util_mono_ms();
	}
	if (src->kid_wanted)
		return;         /* single flight: the next attempt serves it */
	src->kid_wanted = true;
	STAT_LOCKED(f, src->st.kid_refetches++);
	{
		char shown[65];

		(void)util_printable(shown, sizeof(shown), kid, kid_len);
		log_info("%s: unknown kid \"%s\": refetching the key set",
		    src->id, shown);
	}
	kid_schedule(src);
}

static void
log_reload_errors(const struct config_errors *errs, struct agent_stats *st)
{
	for (size_t i = 0; i < errs->n; i++)
		log_error("reload: %s", errs->v[i]);
	log_error("reload: rejected (%zu error%s); keeping the running "
	    "configuration", errs->n, errs->n == 1 ? "" : "s");
	STAT_INC(st, reloads_failed);
}

static void
on_reload(struct fetcher *f, struct config *cfg)
{
	struct config_errors errs = { 0 };
	struct cfgref *file = cfgref_new(cfg);
	struct snapshot *nb = NULL;
	const char *doc = NULL;
	size_t len = 0;

	if (file == NULL) {
		log_error("reload: out of memory");
		return;
	}
	/* The last good policy document applies to the new file if it
	 * names the same policy_url. */
	if (cfg->policy_url != NULL) {
		for (struct source *s = f->sources; s != NULL; s = s->next)
			if (s->kind == SRC_POLICY && s->have &&
			    strcmp(s->conf_url, cfg->policy_url) == 0) {
				doc = s->doc;
				len = s->doc_len;
			}
	}
	if (loader_build_ref(file, doc, len, f->base, &nb, &errs) != 0) {
		log_reload_errors(&errs, f->stats);
		config_errors_free(&errs);
		cfgref_unref(file);
		return;
	}
	cfgref_unref(f->file);
	f->file = file;
	snapshot_unref(f->base);
	f->base = nb;
	log_set_level((enum log_level)cfg->log_level);
	ensure_state_dir(cfg);
	/* A new policy_url source loads (and applies) its state_dir copy. */
	replan_global(f);
	rebuild_crls(f);
	replan_issuers(f);
	publish(f);
	STAT_INC(f->stats, reloads_ok);
	log_info("reload: configuration applied");
}

static void
on_wake(struct ev_loop *loop, ev_async *a, int revents)
{
	struct fetcher *f = a->data;
	struct msg *m;
	bool stop;

	(void)revents;
	pthread_mutex_lock(&f->inbox_lock);
	m = f->head;
	f->head = f->tail = NULL;
	f->inbox_n = 0;
	stop = f->stopping;
	pthread_mutex_unlock(&f->inbox_lock);
	while (m != NULL) {
		struct msg *next = m->next;

		/* Stopping: what is queued is dropped. */
		if (!stop && m->type == MSG_KID) {
			on_kid(f, m->issuer, m->kid, m->kid_len);
		} else if (!stop && m->type == MSG_RELOAD) {
			on_reload(f, m->cfg);
			m->cfg = NULL;
		}
		config_free(m->cfg);
		free(m->issuer);
		free(m);
		m = next;
	}
	if (stop)
		ev_break(loop, EVBREAK_ALL);
}

static void
on_prepare(struct ev_loop *loop, ev_prepare *p, int revents)
{
	struct fetcher *f = p->data;

	(void)loop;
	(void)revents;
	if (f->dirty)
		publish(f);
}

/* ---- life cycle ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static bool curl_ok;

static void
curl_init_once(void)
{
	curl_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

int
fetch_create(struct config *cfg, struct agent_stats *stats,
    struct fetcher **out, struct config_errors *errs)
{
	struct fetcher *f;

	*out = NULL;
	pthread_once(&curl_once, curl_init_once);
	if (!curl_ok) {
		config_free(cfg);
		log_error("fetch: libcurl initialisation failed");
		return (-1);
	}
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		config_free(cfg);
		return (-1);
	}
	f->stats = stats;
	pthread_mutex_init(&f->inbox_lock, NULL);
	pthread_mutex_init(&f->lock, NULL);
	if ((f->file = cfgref_new(cfg)) == NULL)
		goto bad;
	if ((f->loop = ev_loop_new(EVFLAG_AUTO)) == NULL ||
	    (f->multi = curl_multi_init()) == NULL) {
		log_error("fetch: cannot create the event loop or curl handle");
		goto bad;
	}
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, curl_sock_cb);
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, f);
	curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb);
	curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, f);
	ev_async_init(&f->wake, on_wake);
	f->wake.data = f;
	ev_async_start(f->loop, &f->wake);
	ev_timer_init(&f->curl_timer, on_curl_timer, 0., 0.);
	f->curl_timer.data = f;
	ev_prepare_init(&f->prep, on_prepare);
	f->prep.data = f;
	ev_prepare_start(f->loop, &f->prep);

	if (loader_build_ref(f->file, NULL, 0, NULL, &f->base, errs) != 0)
		goto bad;
	ensure_state_dir(cfg);
	/* Cached documents: the policy first (it names the issuers), then
	 * the issuers' discovery documents and key sets, then CRLs. */
	replan_global(f);          /* loads (and applies) a cached policy */
	replan_issuers(f);
	rebuild_crls(f);
	publish(f);
	*out = f;
	return (0);
bad:
	fetch_free(f);
	return (-1);
}

struct snapshot *
fetch_snapshot(struct fetcher *f)
{
	return (snapshot_ref(f->cur));
}

static void *
fetch_main(void *arg)
{
	struct fetcher *f = arg;

	ev_run(f->loop, 0);
	return (NULL);
}

int
fetch_start(struct fetcher *f, const struct fetch_sink *sink,
    void *const *targets, size_t n)
{
	sigset_t all, old;
	int rc;

	if (n > 0) {
		f->targets = calloc(n, sizeof(*f->targets));
		if (f->targets == NULL)
			return (-1);
		memcpy(f->targets, targets, n * sizeof(*targets));
		f->sink = *sink;
		f->nworkers = n;
	}
	/* Everything is fetched at once: cached documents are revalidated
	 * (conditional requests), missing ones are wanted now. */
	for (struct source *s = f->sources; s != NULL; s = s->next)
		if (s->kind != SRC_JWKS || s->url != NULL)
			sched(s, 0.);
	f->started = true;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&f->thread, NULL, fetch_main, f);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		f->started = false;
		log_error("fetch: cannot create the fetcher thread");
		return (-1);
	}
	return (0);
}

void
fetch_stop(struct fetcher *f)
{
	if (f == NULL || !f->started)
		return;
	/* A flag, not a message: stopping must not depend on memory. */
	pthread_mutex_lock(&f->inbox_lock);
	f->stopping = true;
	f->closed = true;
	pthread_mutex_unlock(&f->inbox_lock);
	ev_async_send(f->loop, &f->wake);
	pthread_join(f->thread, NULL);
	f->started = false;
}

void
fetch_free(struct fetcher *f)
{
	struct msg *m;

	if (f == NULL)
		return;
	pthread_mutex_lock(&f->inbox_lock);
	f->closed = true;
	m = f->head;
	f->head = f->tail = NULL;
	pthread_mutex_unlock(&f->inbox_lock);
	while (m != NULL) {
		struct msg *n = m->next;

		config_free(m->cfg);
		free(m->issuer);
		free(m);
		m = n;
	}
	while (f->sources != NULL) {
		struct source *s = f->sources;

		f->sources = s->next;
		src_free(f, s);
	}
	while (f->creds != NULL) {
		struct cred *c = f->creds;

		f->creds = c->next;
		cred_free(c);
	}
	if (f->multi != NULL)
		curl_multi_cleanup(f->multi);
	if (f->loop != NULL)
		ev_loop_destroy(f->loop);
	for (size_t i = 0; i < f->nistat; i++)
		free(f->istat[i].name);
	free(f->istat);
	crlset_unref(f->crls);
	snapshot_unref(f->cur);
	snapshot_unref(f->base);
	cfgref_unref(f->file);
	free(f->targets);
	pthread_mutex_destroy(&f->inbox_lock);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

/* ---- admin providers ---- */

static void
json_str(struct abuf *b, const char *s)
{
	if (s == NULL || *s == '\0') {
		abuf_printf(b, "null");
		return;
	}
	abuf_printf(b, "\"");
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			abuf_printf(b, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			abuf_printf(b, "\\u%04x", c);
		else
			abuf_printf(b, "%c", c);
	}
	abuf_printf(b, "\"");
}

static bool
issuer_ready(const struct issuer_stat *is, uint32_t max_stale, int64_t now)
{
	if (!is->has_keys)
		return (false);
	return (!is->remote || max_stale == 0 ||
	    now - is->keys_at <= (int64_t)max_stale);
}

bool
fetch_ready(void *arg, struct abuf *b)
{
	struct fetcher *f = arg;
	int64_t now = now_s();
	bool ok = true, first = true;

	pthread_mutex_lock(&f->lock);
	abuf_printf(b, "{");
	for (struct source *s = f->sources; s != NULL; s = s->next) {
		const struct srcstat *st = &s->st;

		abuf_printf(b, "%s", first ? "" : ",");
		first = false;
		json_str(b, s->id);
		abuf_printf(b, ":{\"kind\":\"%s\",\"url\":", kind_name[s->kind]);
		json_str(b, st->url);
		abuf_printf(b, ",\"state\":\"%s\",\"age_s\":", state_name[st->state]);
		if (st->good_at > 0)
			abuf_printf(b, "%lld", (long long)(now - st->good_at));
		else
			abuf_printf(b, "null");
		abuf_printf(b, ",\"last_error\":");
		json_str(b, st->last_error);
		abuf_printf(b, ",\"fetches\":%llu,\"failures\":%llu,"
		    "\"not_modified\":%llu,\"rejected\":%llu",
		    (unsigned long long)st->fetches,
		    (unsigned long long)st->failures,
		    (unsigned long long)st->not_modified,
		    (unsigned long long)st->rejected);
		if (s->kind == SRC_JWKS)
			abuf_printf(b, ",\"kid_refetches\":%llu",
			    (unsigned long long)st->kid_refetches);
		abuf_printf(b, ",\"next_refresh_s\":");
		if (st->next_at > 0)
			abuf_printf(b, "%lld", (long long)(st->next_at > now ?
			    st->next_at - now : 0));
		else
			abuf_printf(b, "null");
		abuf_printf(b, "}");
	}
	for (const struct cred *c = f->creds; c != NULL; c = c->next) {
		static const char *const tname[] = {
			"managed_identity", "client_credentials", "client_certificate",
		};
		const struct credstat *st = &c->st;

		abuf_printf(b, "%s\"credential:%s\":{\"kind\":\"%s\",\"state\":\"%s\"",
		    first ? "" : ",", c->c.name, tname[c->c.type],
		    c->c.type == CRED_CLIENT_CERT ? "ok" : st->failed ? "error" :
		    st->expires_at > now ? "ok" : "pending");
		first = false;
		if (c->c.type != CRED_CLIENT_CERT) {
			abuf_printf(b, ",\"token_expires_in_s\":");
			if (st->expires_at > now)
				abuf_printf(b, "%lld", (long long)(st->expires_at - now));
			else
				abuf_printf(b, "null");
			abuf_printf(b, ",\"fetches\":%llu,\"failures\":%llu,"
			    "\"last_error\":", (unsigned long long)st->fetches,
			    (unsigned long long)st->failures);
			json_str(b, st->last_error);
		}
		abuf_printf(b, "}");
	}
	for (size_t i = 0; i < f->nistat; i++) {
		const struct issuer_stat *is = &f->istat[i];
		bool r = issuer_ready(is, f->max_stale_s, now);

		abuf_printf(b, "%s\"issuer:%s\":{\"kind\":\"issuer\",\"keys_from\":\"%s\","
		    "\"state\":\"%s\"", first ? "" : ",", is->name, is->keys_from,
		    r ? "ok" : is->has_keys ? "stale" : "pending");
		first = false;
		if (is->remote) {
			abuf_printf(b, ",\"keys_age_s\":");
			if (is->has_keys)
				abuf_printf(b, "%lld", (long long)(now - is->keys_at));
			else
				abuf_printf(b, "null");
		}
		abuf_printf(b, "}");
		ok = ok && r;
	}
	if (f->policy_configured && (!f->policy_loaded || (f->max_stale_s > 0 &&
	    now - f->policy_at > (int64_t)f->max_stale_s)))
		ok = false;
	abuf_printf(b, "%s\"policy_loaded\":%s}", first ? "" : ",",
	    !f->policy_configured ? "null" : f->policy_loaded ? "true" : "false");
	pthread_mutex_unlock(&f->lock);
	return (ok);
}

static void
prom_label(struct abuf *b, const char *s)
{
	abuf_printf(b, "\"");
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			abuf_printf(b, "\\%c", *s);
		else if (*s == '\n')
			abuf_printf(b, "\\n");
		else
			abuf_printf(b, "%c", *s);
	}
	abuf_printf(b, "\"");
}

enum metric { M_FETCHES, M_FAILURES, M_NOT_MODIFIED, M_REJECTED, M_KID, M_AGE,
	M_UP, M_NEXT, M_COUNT };

void
fetch_metrics(void *arg, struct abuf *b)
{
	static const struct {
		const char *name, *type, *help;
	} m[M_COUNT] = {
		{ "spoa_iam_fetch_requests_total", "counter",
		  "Fetches started, per source." },
		{ "spoa_iam_fetch_failures_total", "counter",
		  "Failed fetches (transport, HTTP status, refused document)." },
		{ "spoa_iam_fetch_not_modified_total", "counter",
		  "Fetches answered 304 Not Modified." },
		{ "spoa_iam_fetch_rejected_total", "counter",
		  "Documents refused for their content (last good one kept)." },
		{ "spoa_iam_fetch_kid_refetches_total", "counter",
		  "Key-set refetches triggered by an unknown kid." },
		{ "spoa_iam_fetch_age_seconds", "gauge",
		  "Age of the document in use (-1: none yet)." },
		{ "spoa_iam_fetch_up", "gauge",
		  "1 if the last fetch of the source succeeded." },
		{ "spoa_iam_fetch_next_refresh_seconds", "gauge",
		  "Seconds until the next planned fetch (-1: none planned)." },
	};
	struct fetcher *f = arg;
	int64_t now = now_s();

	pthread_mutex_lock(&f->lock);
	for (int k = 0; k < M_COUNT; k++) {
		abuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", m[k].name,
		    m[k].help, m[k].name, m[k].type);
		for (struct source *s = f->sources; s != NULL; s = s->next) {
			const struct srcstat *st = &s->st;
			long long v = 0;

			switch (k) {
			case M_FETCHES: v = (long long)st->fetches; break;
			case M_FAILURES: v = (long long)st->failures; break;
			case M_NOT_MODIFIED: v = (long long)st->not_modified; break;
			case M_REJECTED: v = (long long)st->rejected; break;
			case M_KID:
				if (s->kind != SRC_JWKS)
					continue;
				v = (long long)st->kid_refetches;
				break;
			case M_AGE:
				v = st->good_at > 0 ? now - st->good_at : -1;
				break;
			case M_UP: v = st->state == ST_OK; break;
			case M_NEXT:
				v = st->next_at > 0 ? (st->next_at > now ?
				    st->next_at - now : 0) : -1;
				break;
			}
			abuf_printf(b, "%s{source=", m[k].name);
			prom_label(b, s->id);
			abuf_printf(b, "} %lld\n", v);
		}
	}
	abuf_printf(b, "# HELP spoa_iam_fetch_token_requests_total Token "
	    "requests per credential.\n# TYPE spoa_iam_fetch_token_requests_total "
	    "counter\n");
	for (const struct cred *c = f->creds; c != NULL; c = c->next)
		if (c->c.type != CRED_CLIENT_CERT)
			abuf_printf(b, "spoa_iam_fetch_token_requests_total"
			    "{credential=\"%s\"} %llu\n", c->c.name,
			    (unsigned long long)c->st.fetches);
	abuf_printf(b, "# HELP spoa_iam_fetch_token_failures_total Failed token "
	    "requests per credential.\n# TYPE spoa_iam_fetch_token_failures_total "
	    "counter\n");
	for (const struct cred *c = f->creds; c != NULL; c = c->next)
		if (c->c.type != CRED_CLIENT_CERT)
			abuf_printf(b, "spoa_iam_fetch_token_failures_total"
			    "{credential=\"%s\"} %llu\n", c->c.name,
			    (unsigned long long)c->st.failures);
	abuf_printf(b, "# HELP spoa_iam_issuer_keys_age_seconds Age of each "
	    "issuer's key set in use (-1: none).\n# TYPE "
	    "spoa_iam_issuer_keys_age_seconds gauge\n");
	for (size_t i = 0; i < f->nistat; i++) {
		const struct issuer_stat *is = &f->istat[i];

		abuf_printf(b, "spoa_iam_issuer_keys_age_seconds{issuer=\"%s\"} "
		    "%lld\n", is->name, (long long)(!is->has_keys ? -1 :
		    is->remote ? now - is->keys_at : 0));
	}
	abuf_printf(b, "# HELP spoa_iam_policy_loaded 1 once the policy_url "
	    "document is applied (1 without policy_url).\n# TYPE "
	    "spoa_iam_policy_loaded gauge\nspoa_iam_policy_loaded %d\n",
	    !f->policy_configured || f->policy_loaded);
	pthread_mutex_unlock(&f->lock);
}
