/*
 * fuzz_dpop.c: DPoP proofs (dpop_check()) and the URI matching behind
 * htu and metadata URLs (httpuri.c) on arbitrary bytes.  Invariants: a
 * refusal always says why and an acceptance never does; an accepted proof
 * is a compact JWS whose iat is in the window, and checking it again
 * gives the same thumbprint and replay key, with a key cache too (built,
 * then found); the same proof for another
 * method or without the access token it was made for is refused (htm and
 * ath are checked); httpuri_split() stays inside its input and a URI with
 * a query, fragment or user information names no request.  The seeds are
 * proofs minted by Python `cryptography` for the request below.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dpop.h"
#include "httpuri.h"
#include "jwa.h"
#include "tokcache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW	((int64_t)1700000000)
#define TOKEN	"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln"

static struct dpop_req
request(void)
{
	struct dpop_req q;

	memset(&q, 0, sizeof(q));
	q.method = "POST";
	q.method_len = 4;
	q.scheme = "https";
	q.scheme_len = 5;
	q.host = "api.example.com";
	q.host_len = 15;
	q.path = "/orders/1";
	q.path_len = 9;
	q.token = TOKEN;
	q.token_len = strlen(TOKEN);
	q.now = NOW;
	q.max_age_s = 300;
	q.algs = JWS_ALG_ASYMMETRIC_MASK;
	return (q);
}

static void
check_uri(const char *s, size_t size)
{
	const struct httpuri_req u = {
		"https", 5, "api.example.com", 15, "/orders/1", 9,
	};
	const char *auth, *path;
	size_t al, pl;
	unsigned port = httpuri_split(s, size, &auth, &al, &path, &pl);

	if (port != 0 && (port != 443 && port != 80))
		abort();
	if (port != 0 && (auth < s || auth + al != path ||
	    (size_t)(path - s) + pl != size || memchr(auth, '@', al) != NULL))
		abort();
	if (httpuri_names(s, size, &u) && (port == 0 ||
	    memchr(s, '?', size) != NULL || memchr(s, '#', size) != NULL))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *d = NULL, *d2 = NULL;
	struct dpop_req q = request();
	struct dpop_proof a, b;
	int rc;

	check_uri(s, size);
	rc = dpop_check(s, size, &q, &a, &d);
	if (rc != 0 && rc != -1)
		abort();
	if ((rc == 0) != (d == NULL))
		abort();
	if (rc != 0)
		return (0);
	if (memchr(s, '.', size) == NULL || a.iat < NOW - 300 ||
	    a.iat > NOW + DPOP_FUTURE_S)
		abort();
	if (dpop_check(s, size, &q, &b, &d2) != 0 ||
	    memcmp(a.jkt, b.jkt, 32) != 0 ||
	    memcmp(a.replay_key, b.replay_key, 32) != 0)
		abort();
	/* With a key cache: built on the first, found on the second, the
	 * same answer both times. */
	if ((q.keys = dpop_keys_new()) == NULL)
		abort();
	for (int i = 0; i < 2; i++)
		if (dpop_check(s, size, &q, &b, &d2) != 0 ||
		    memcmp(a.jkt, b.jkt, 32) != 0 ||
		    tokcache_count(q.keys) != 1)
			abort();
	tokcache_free(q.keys);
	q.keys = NULL;
	q.method = "GET";
	q.method_len = 3;
	if (dpop_check(s, size, &q, &b, &d2) == 0)
		abort();
	q = request();
	q.token = "another.access.token";
	q.token_len = strlen(q.token);
	if (dpop_check(s, size, &q, &b, &d2) == 0)
		abort();
	return (0);
}
