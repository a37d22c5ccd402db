/*
 * bench_parse.c: jws_parse() alone, on an Entra-sized RS256 access token
 * (a 5-member header, a payload of about 1 KB of JSON with the claims
 * Entra ID puts in a user token, a 256-byte signature).  This is the parse
 * layer of every verified-token-cache miss: base64url, strict JSON and the
 * tree.  No clock and no I/O in the loop, so instruction counts are stable:
 *
 *	valgrind --tool=callgrind build/bench_parse 1000
 *	perf stat -e instructions:u build/bench_parse 100000   (where counted)
 *
 * Usage: bench_parse [iterations]; prints ns per parse (wall clock,
 * noisy) and a checksum so that the work is not optimised away.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "b64url.h"
#include "jws.h"
#include "reason.h"

static const char hdr[] = "{\"typ\":\"JWT\",\"nonce\":"
    "\"kS3Hq0Xo1c0nJmJ9x0Yd6bNf3o2F1uQyW7v8P4aZ5kE\",\"alg\":\"RS256\","
    "\"x5t\":\"CNv0OI3RwqlHFEVnaoMAshCH2XE\",\"kid\":"
    "\"CNv0OI3RwqlHFEVnaoMAshCH2XE\"}";

static const char pay[] = "{\"aud\":\"api://orders\",\"iss\":"
    "\"https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/\","
    "\"iat\":1717000000,\"nbf\":1717000000,\"exp\":1717004170,"
    "\"acct\":0,\"acr\":\"1\",\"aio\":\"AVQAq/8WAAAAbFb1Jd0tQHqvN4oaMJ0+"
    "YhA1WqG8d6rXn0sJd5Lk3hP2cVbTf9Wq7mZx1yRe4UoI+kQ=\",\"amr\":[\"pwd\","
    "\"mfa\"],\"appid\":\"0d4a0e5c-8a7b-4c1e-9c9e-2f6d2a1b3c4d\","
    "\"appidacr\":\"0\",\"family_name\":\"Example\",\"given_name\":"
    "\"Alice\",\"idtyp\":\"user\",\"ipaddr\":\"203.0.113.42\",\"name\":"
    "\"Alice Example\",\"oid\":\"6f1c2d3e-4a5b-6c7d-8e9f-0a1b2c3d4e5f\","
    "\"onprem_sid\":\"S-1-5-21-2127521184-1604012920-1887927527-"
    "24561234\",\"puid\":\"10032001A2B3C4D5\",\"rh\":\"0.AXEAv4j5cvGGr0"
    "GRqy180BHbR1wOSg17isZMnJ4vbSobPE1xAKc.\",\"roles\":[\"Orders.Admin\","
    "\"Reader\"],\"scp\":\"Orders.Read Orders.Write User.Read\",\"sub\":"
    "\"Yb5JYt0H8nT2xkT9pZ1a6Q3rW4sE5dF6gH7jK8lM9nO\",\"tid\":"
    "\"72f988bf-86f1-41af-91ab-2d7cd011db47\",\"unique_name\":"
    "\"alice@example.com\",\"upn\":\"alice@example.com\",\"uti\":"
    "\"AbCdEfGhIjKlMnOpQrStUv\",\"ver\":\"1.0\",\"wids\":["
    "\"b79fbf4d-3ef9-4689-8143-76b194e85509\"],\"xms_tcdt\":1289241547,"
    "\"xms_cc\":[\"CP1\"],\"xms_ssm\":\"1\"}";

static char *
make_token(size_t *len)
{
	uint8_t sig[256];
	size_t cap, n;
	char *t;

	for (size_t i = 0; i < sizeof(sig); i++)
		sig[i] = (uint8_t)(i * 131 + 7);
	cap = b64url_encoded_len(sizeof(hdr)) + b64url_encoded_len(sizeof(pay))
	    + b64url_encoded_len(sizeof(sig)) + 3;
	if ((t = malloc(cap)) == NULL)
		return (NULL);
	n = b64url_encode((const uint8_t *)hdr, sizeof(hdr) - 1, t, cap);
	t[n++] = '.';
	n += b64url_encode((const uint8_t *)pay, sizeof(pay) - 1, t + n,
	    cap - n);
	t[n++] = '.';
	n += b64url_encode(sig, sizeof(sig), t + n, cap - n);
	*len = n;
	return (t);
}

int
main(int argc, char **argv)
{
	long iters = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;
	struct timespec t0, t1;
	const char *detail;
	uint64_t sum = 0;
	enum reason r;
	struct jws j;
	size_t len;
	char *tok;

	if ((tok = make_token(&len)) == NULL || iters <= 0)
		return (1);
	/* One checked parse first: the benchmark must measure success. */
	if (jws_parse(tok, len, NULL, &j, &r, &detail) != 0) {
		fprintf(stderr, "bench_parse: token rejected: %s\n", detail);
		return (1);
	}
	jws_release(&j);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < iters; i++) {
		if (jws_parse(tok, len, NULL, &j, &r, &detail) != 0)
			return (1);
		sum += j.sig_len + (uint64_t)cJSON_GetArraySize(j.payload);
		jws_release(&j);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("token %zu bytes (header %zu, payload %zu JSON bytes), "
	    "%ld parses, %.1f ns/parse (wall), checksum %" PRIu64 "\n", len,
	    sizeof(hdr) - 1, sizeof(pay) - 1, iters,
	    ((double)(t1.tv_sec - t0.tv_sec) * 1e9 +
	    (double)(t1.tv_nsec - t0.tv_nsec)) / (double)iters, sum);
	free(tok);
	return (0);
}
