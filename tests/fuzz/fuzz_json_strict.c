/*
 * fuzz_json_strict.c: the one strict tokenizer (json_strict_parse) and the
 * cJSON trees built from its events (json_doc_parse), against cJSON's own
 * parser as the differential oracle.  Invariants:
 *  - json_strict_check() and json_doc_parse() accept the same documents
 *    and refuse the others for the same reason;
 *  - whatever the tokenizer accepts, cJSON_Parse accepts too, and the two
 *    trees are equal field for field (tree_diff.h); the one exception is a
 *    number longer than 63 bytes, which cJSON's parser cuts and then
 *    refuses;
 *  - cJSON's reprint of an accepted document is accepted again (so the two
 *    parsers agree on what the text is);
 *  - events are well formed: depths nest, END closes what opened, keys
 *    only in objects.
 * The first byte picks the limits; the rest is the document.
 *
 * The same document is also the payload of a token given to jws_parse():
 * it must agree with json_strict_check() (with require_object, as for a
 * payload) on every input: both accept, or both refuse for the same
 * reason.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "b64url.h"
#include "json_doc.h"
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
		if (j.payload == NULL || !cJSON_IsObject(j.payload))
			abort();
		jws_release(&j);
	} else if (detail == NULL || strncmp(detail, "payload: ", 9) != 0 ||
	    strcmp(detail + 9, why) != 0) {
		abort();	/* refused, but not for json_strict's reason */
	}
	free(tok);
}

/* What the event stream looked like; see check_event(). */
struct evstate {
	int open[JSON_STRICT_DEPTH_MAX + 1];	/* 1 object, 2 array */
	unsigned depth;
	size_t longest_number;
	int bad;
};

static const char *
check_event(void *arg, const struct json_event *ev)
{
	struct evstate *st = arg;

	if (ev->type == JSON_EV_END) {
		if (st->depth == 0 || ev->depth != st->depth - 1 ||
		    ev->key != NULL)
			st->bad = 1;
		else
			st->depth--;
		return (NULL);
	}
	if (ev->depth != st->depth ||
	    (ev->key != NULL) != (st->depth > 0 && st->open[st->depth - 1] == 1) ||
	    (ev->key != NULL && strlen(ev->key) != ev->key_len))
		st->bad = 1;
	if (ev->type == JSON_EV_STRING &&
	    (ev->str == NULL || strlen(ev->str) != ev->len))
		st->bad = 1;
	if (ev->type == JSON_EV_NUMBER && ev->len > st->longest_number)
		st->longest_number = ev->len;
	if (ev->type == JSON_EV_OBJECT || ev->type == JSON_EV_ARRAY) {
		if (st->depth > JSON_STRICT_DEPTH_MAX)
			st->bad = 1;
		else
			st->open[st->depth++] = ev->type == JSON_EV_OBJECT ? 1 : 2;
	}
	return (NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_limits lim = { 32, 2048, 0, 0, 0 };
	struct json_error e1, e2;
	struct evstate st;
	const char *why = NULL, *doc;
	char *copy, *re;
	cJSON *tree, *ours;
	int rc;

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

	memset(&st, 0, sizeof(st));
	rc = json_strict_parse(doc, size, &lim, check_event, &st, &e1);
	if (st.bad || (rc == 0 && st.depth != 0))
		abort();	/* malformed event stream */
	ours = json_doc_parse(doc, size, &lim, &e2);
	if ((rc == 0) != (ours != NULL) ||
	    (rc != 0 && (strcmp(e1.why, e2.why) != 0 || e1.off != e2.off)))
		abort();	/* the builder changed the verdict */
	if (json_strict_check(doc, size, &lim, &why) != rc ||
	    (rc != 0 && strcmp(why, e1.why) != 0))
		abort();
	if (rc != 0) {
		if (why == NULL || e1.off > size || e1.line == 0 || e1.col == 0)
			abort();
		return (0);
	}
	/* cJSON gets an exact-size copy: no NUL after the text. */
	if ((copy = malloc(size ? size : 1)) == NULL)
		abort();
	memcpy(copy, doc, size);
	tree = cJSON_ParseWithLength(copy, size);
	if (tree == NULL) {
		if (st.longest_number <= 63)
			abort();	/* strict accepted what cJSON refuses */
		goto out;
	}
	if (st.longest_number <= 63 && tree_diff(ours, tree, 0) != 0)
		abort();	/* the trees differ */
	if (lim.require_object && !cJSON_IsObject(tree))
		abort();
	re = cJSON_PrintUnformatted(tree);
	if (re != NULL) {
		if (json_strict_check(re, strlen(re), &lim, &why) != 0)
			abort();	/* the reprint must stay acceptable */
		cJSON_free(re);
	}
	cJSON_Delete(tree);
out:
	cJSON_Delete(ours);
	free(copy);
	return (0);
}
