/*
 * fuzz_json_strict.c: the strict JSON pre-validator.  Invariant: whatever
 * json_strict accepts, cJSON accepts too, and cJSON's reprint of it is
 * accepted again (so the two parsers agree on what the text is).  The
 * first byte picks the limits; the rest is the document.
 *
 * The same document is also the payload of a token given to jws_parse(),
 * whose one-pass parser must agree with json_strict_check() (with
 * require_object, as for a payload) on every input: both accept, or both
 * refuse for the same reason; and what it accepts is cJSON's tree.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "b64url.h"
#include "json_strict.h"
#include "jws.h"
#include "reason.h"
#include "tree_diff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ${doc} as the payload of a token: jws_parse() against json_strict. */
static void
cross_check_jws(const char *doc, size_t size, const struct json_limits *lim)
{
	static const char hdr[] = "eyJhbGciOiJSUzI1NiJ9.";	/* {"alg":"RS256"} */
	struct jws_limits jl = JWS_LIMITS_DEFAULT;
	struct json_limits pl = *lim;
	const char *why = NULL, *detail = NULL;
	size_t cap, n;
	enum reason r;
	struct jws j;
	char *tok;
	int rs, rj;

	if (size == 0)
		return;		/* an empty payload segment is refused earlier */
	jl.max_token = SIZE_MAX;
	jl.payload_max_depth = lim->max_depth;
	jl.payload_max_members = lim->max_members;
	pl.require_object = 1;
	cap = sizeof(hdr) + b64url_encoded_len(size) + 8;
	if ((tok = malloc(cap)) == NULL)
		return;
	memcpy(tok, hdr, sizeof(hdr) - 1);
	n = sizeof(hdr) - 1;
	n += b64url_encode((const uint8_t *)doc, size, tok + n, cap - n);
	memcpy(tok + n, ".c2ln", 5);
	n += 5;

	rs = json_strict_check(doc, size, &pl, &why);
	rj = jws_parse(tok, n, &jl, &j, &r, &detail);
	if (rs != rj)
		abort();
	if (rj == 0) {
		cJSON *ref = cJSON_ParseWithLength(doc, size);

		if (ref == NULL || tree_diff(j.payload, ref, 0) != 0)
			abort();
		cJSON_Delete(ref);
		jws_release(&j);
	} else if (detail == NULL || strncmp(detail, "payload: ", 9) != 0 ||
	    strcmp(detail + 9, why) != 0) {
		abort();	/* refused, but not for json_strict's reason */
	}
	free(tok);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_limits lim = { 32, 2048, 0, 0 };
	const char *why = NULL, *doc;
	char *copy, *re;
	cJSON *tree;

	if (size == 0)
		return (0);
	lim.require_object = data[0] & 1;
	if (data[0] & 2) {
		lim.max_depth = 1 + (data[0] >> 4);
		lim.max_members = 1 + ((data[0] >> 2) & 3) * 3;
	}
	doc = (const char *)data + 1;
	size--;
	cross_check_jws(doc, size, &lim);

	if (json_strict_check(doc, size, &lim, &why) != 0) {
		if (why == NULL)
			abort();
		return (0);
	}
	/* cJSON gets an exact-size copy: no NUL after the text. */
	if ((copy = malloc(size ? size : 1)) == NULL)
		return (0);
	memcpy(copy, doc, size);
	tree = cJSON_ParseWithLength(copy, size);
	if (tree == NULL)
		abort();	/* strict accepted what cJSON refuses */
	if (lim.require_object && !cJSON_IsObject(tree))
		abort();
	re = cJSON_PrintUnformatted(tree);
	if (re != NULL) {
		if (json_strict_check(re, strlen(re), &lim, &why) != 0)
			abort();	/* the reprint must stay acceptable */
		cJSON_free(re);
	}
	cJSON_Delete(tree);
	free(copy);
	return (0);
}
