/*
 * transfer.c: HTTP transfers (see fetch_int.h).  The one place that sets
 * curl easy options common to every request (protocols, timeouts, size
 * caps, TLS verification), collects bodies within their cap and keeps the
 * response headers the fetcher uses (ETag, Last-Modified,
 * Cache-Control).
 *
 * libcurl multi is driven through its socket API: CURLMOPT_SOCKETFUNCTION
 * maps curl's sockets to ev_io watchers, CURLMOPT_TIMERFUNCTION to one
 * ev_timer (curl speaks milliseconds, libev seconds as a double), and
 * events go back through curl_multi_socket_action(); a finished transfer
 * goes to source_done() or cred_done(), then is freed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fetch_int.h"
#include "log.h"
#include "url.h"

/* A socket of curl's, watched for the fetcher's loop. */
struct csock {
	struct fetcher *f;
	ev_io io;
};

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

void
transfer_free(struct xfer *x)
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

int
transfer_add_header(struct xfer *x, const char *name, const char *value)
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
struct xfer *
transfer_new(struct fetcher *f, const char *url, const char *ca_file,
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

int
transfer_go(struct xfer *x)
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

const char *
transfer_error(struct xfer *x, CURLcode res, char *buf, size_t cap)
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
			source_done(x, res);
		else if (x->cred != NULL)
			cred_done(x, res);
		transfer_free(x);
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

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static bool curl_ok;

static void
curl_init_once(void)
{
	curl_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

bool
transfer_global_init(void)
{
	pthread_once(&curl_once, curl_init_once);
	return (curl_ok);
}

int
transfer_multi_init(struct fetcher *f)
{
	if ((f->multi = curl_multi_init()) == NULL)
		return (-1);
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, curl_sock_cb);
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, f);
	curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb);
	curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, f);
	ev_timer_init(&f->curl_timer, on_curl_timer, 0., 0.);
	f->curl_timer.data = f;
	return (0);
}
