/*
 * asrtkeys.c: the assertion signing keys on the fetcher thread (signer.h):
 * loaded with the config (fetch_create(), reloads), rotated by a timer at
 * signer_next_load(), handed to the workers inside every snapshot
 * published after, written as a JWK Set to assertion_jwks_file, and shown
 * on the admin port (GET /assertion-jwks.json) and in /metrics.
 */
#include <stdio.h>
#include <string.h>

#include "abuf.h"
#include "log.h"
#include "signer.h"
#include "fetch_int.h"

/* After a failed rotation, the next try (the current key keeps signing). */
#define RETRY_S         60.

static void
policy_of(const struct fetcher *f, struct signer_policy *p)
{
	const struct config *file = file_cfg(f);

	memset(p, 0, sizeof(*p));
	p->alg = (enum signer_alg)file->assertion_alg;
	p->rotate_s = file->assertion_key_rotate_s;
	p->ahead_s = file->assertion_key_ahead_s;
	/* The routes may come from a policy document: the base has them. */
	p->keep_s = config_assertion_keep_s(snapshot_config(f->base));
}

/* Write ${s}'s JWK Set to assertion_jwks_file (0644: public keys). */
static void
write_jwks(const struct fetcher *f, const struct signer *s)
{
	const char *path = file_cfg(f)->assertion_jwks_file;
	struct abuf b = { 0 };
	char dir[4096];
	const char *slash;

	if (path == NULL)
		return;
	signer_jwks(s, &b);
	abuf_printf(&b, "\n");
	slash = strrchr(path, '/');
	(void)snprintf(dir, sizeof(dir), "%.*s", slash == NULL ? 1 :
	    slash == path ? 1 : (int)(slash - path), slash == NULL ? "." :
	    path);
	if (!b.oom)
		(void)statedir_write(dir, path, b.p, b.len, "", 0, 0644,
		    "assertion_jwks_file");
	abuf_free(&b);
}

static void
arm(struct fetcher *f, double in_s)
{
	ev_timer_stop(f->loop, &f->asrt_timer);
	ev_timer_set(&f->asrt_timer, in_s > 0. ? in_s : 0., 0.);
	ev_timer_start(f->loop, &f->asrt_timer);
}

int
asrtkeys_load(struct fetcher *f, char *err, size_t errlen)
{
	const struct config *file = file_cfg(f);
	struct signer_policy pol;
	struct signer *s, *old;
	int64_t now = now_s();
	bool made = false;

	if (file->assertion_issuer == NULL) {
		ev_timer_stop(f->loop, &f->asrt_timer);
		pthread_mutex_lock(&f->lock);
		old = f->signer;
		f->signer = NULL;
		pthread_mutex_unlock(&f->lock);
		signer_unref(old);
		return (0);
	}
	policy_of(f, &pol);
	s = signer_load(file->state_dir, &pol, now, &made, err, errlen);
	if (s == NULL) {
		pthread_mutex_lock(&f->lock);
		f->asrt_errors++;
		pthread_mutex_unlock(&f->lock);
		return (-1);
	}
	pthread_mutex_lock(&f->lock);
	old = f->signer;
	f->signer = s;
	f->asrt_pol = pol;
	f->asrt_made += made;
	pthread_mutex_unlock(&f->lock);
	signer_unref(old);
	write_jwks(f, s);
	if (made || old == NULL || strcmp(signer_kid(old), signer_kid(s)) != 0)
		log_info("assertion keys: %zu published (%s), kid %s signs%s",
		    signer_nkeys(s), signer_alg_name(pol.alg), signer_kid(s),
		    made ? "; a new key was made" : "");
	arm(f, (double)(signer_next_load(s) - now));
	f->dirty = true;
	return (0);
}

void
asrtkeys_refresh(struct fetcher *f)
{
	char err[512];

	if (asrtkeys_load(f, err, sizeof(err)) != 0) {
		log_error("assertion keys: %s; %s, next try in %.0f s", err,
		    f->signer != NULL ? "the current key keeps signing" :
		    "assertions cannot be issued (not_ready)", RETRY_S);
		arm(f, RETRY_S);
	}
}

static void
on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	asrtkeys_refresh(t->data);
}

void
asrtkeys_init(struct fetcher *f)
{
	ev_timer_init(&f->asrt_timer, on_timer, 0., 0.);
	f->asrt_timer.data = f;
}

void
asrtkeys_check(struct fetcher *f)
{
	struct signer_policy pol;

	if (f->signer == NULL || file_cfg(f)->assertion_issuer == NULL)
		return;
	policy_of(f, &pol);
	/* A policy document changed the longest ttl_s: keys stay published
	 * for it. */
	if (pol.keep_s != f->asrt_pol.keep_s)
		asrtkeys_refresh(f);
}

bool
fetch_assertion_jwks(void *arg, struct abuf *body)
{
	struct fetcher *f = arg;
	struct signer *s = NULL;

	pthread_mutex_lock(&f->lock);
	if (f->signer != NULL)
		s = signer_ref(f->signer);
	pthread_mutex_unlock(&f->lock);
	if (s == NULL)
		return (false);
	signer_jwks(s, body);
	abuf_printf(body, "\n");
	signer_unref(s);
	return (true);
}

void
asrtkeys_metrics(struct fetcher *f, struct abuf *b)
{
	abuf_printf(b, "# HELP spoa_iam_assertion_keys Assertion signing keys "
	    "published (0: assertions off).\n# TYPE spoa_iam_assertion_keys "
	    "gauge\nspoa_iam_assertion_keys %zu\n"
	    "# HELP spoa_iam_assertion_keys_made_total Assertion signing keys "
	    "this process made (the first one and every rotation).\n"
	    "# TYPE spoa_iam_assertion_keys_made_total counter\n"
	    "spoa_iam_assertion_keys_made_total %llu\n"
	    "# HELP spoa_iam_assertion_key_errors_total Failed loads or "
	    "rotations of the assertion keys (the current key keeps "
	    "signing).\n# TYPE spoa_iam_assertion_key_errors_total counter\n"
	    "spoa_iam_assertion_key_errors_total %llu\n",
	    f->signer != NULL ? signer_nkeys(f->signer) : 0,
	    (unsigned long long)f->asrt_made,
	    (unsigned long long)f->asrt_errors);
}
