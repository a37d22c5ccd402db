/*
 * cred.c: credentials (see fetch_int.h).  Tokens from the managed-identity
 * endpoint (GET with Metadata: true; no proxy) or an OAuth2
 * client-credentials grant (POST form; the secret is read for each
 * request and wiped) are cached until min(300 s, lifetime/4) before they
 * expire, one request in flight per credential, and dropped on a 401 from
 * a source.  Tokens, secrets, request bodies and header lists holding them
 * are wiped before they are freed; none is ever logged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fetch_int.h"
#include "loader.h"
#include "log.h"
#include "tokenresp.h"
#include "url.h"
#include "util.h"

/* A token is renewed this long before it expires (at most). */
#define TOKEN_MARGIN_MAX        300
/* Client secrets are small. */
#define SECRET_MAX              65536

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

struct cred *
cred_find(struct fetcher *f, const char *name)
{
	if (name == NULL)
		return (NULL);
	for (struct cred *c = f->creds; c != NULL; c = c->next)
		if (strcmp(c->c.name, name) == 0)
			return (c);
	return (NULL);
}

void
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

bool
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

void
cred_free(struct cred *c)
{
	struct credential *d = &c->c;

	if (c->xfer != NULL)
		transfer_free(c->xfer);
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

bool
cred_has_token(const struct cred *c)
{
	return (c->c.type != CRED_CLIENT_CERT);
}

/* A cached token still good for a while. */
bool
cred_token_fresh(const struct cred *c, int64_t now)
{
	int64_t margin;

	if (c->token == NULL)
		return (false);
	margin = (c->expires_at - c->obtained_at) / 4;
	if (margin > TOKEN_MARGIN_MAX)
		margin = TOKEN_MARGIN_MAX;
	return (now < c->expires_at - margin);
}

void
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

/* Start a token request for ${c}, unless one is in flight. */
int
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
		if (url == NULL || (x = transfer_new(f, url, ca, true,
		    TOKENRESP_DOC_MAX, "a token response")) == NULL ||
		    curl_easy_setopt(x->easy, CURLOPT_NOPROXY, "*") != CURLE_OK ||
		    transfer_add_header(x, "Metadata", "true") != 0 ||
		    transfer_add_header(x, "Accept", "application/json") != 0) {
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
		x = transfer_new(f, cc->token_url, ca, false, TOKENRESP_DOC_MAX,
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
		if (transfer_add_header(x, "Accept", "application/json") != 0) {
			snprintf(err, errlen, "out of memory");
			goto bad;
		}
	}
	x->cred = c;
	if (transfer_go(x) != 0) {
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
		transfer_free(x);
	}
	free(url);
	return (-1);
}

void
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
		transfer_error(x, res, err, sizeof(err));
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
			source_start(s);
		else
			source_fail(s, msg, false);
	}
}
