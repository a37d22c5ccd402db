/*
 * jwks.c: see jwks.h.
 *
 * The text goes through the strict tokenizer (json_doc_parse(): UTF-8,
 * duplicate names at every depth, \u0000, depth and width caps, and a
 * bound on its number of values), whose events build the cJSON tree, so
 * the tree only ever holds documents that mean the same thing to every
 * parser and are shaped like a key set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "b64url.h"
#include "json_doc.h"
#include "json_strict.h"
#include "jwa.h"
#include "util.h"
#include "jwks.h"

/* Decoded-size caps: RSA modulus (plus one tolerated leading zero), EC. */
#define RSA_N_MAX	(CRYPTO_RSA_MAX_BITS / 8 + 1)
#define RSA_E_MAX	8
#define EC_COORD_MAX	72
#define ED_KEY_MAX	40

/*
 * The deepest value a JWK Set needs is a string in a key's "x5c" or
 * "key_ops" array: set object 1, "keys" 2, key 3, array 4.  8 leaves room
 * for provider extensions (an object inside a key) without refusing a set
 * over them.  No object or array of a set needs more than JWKS_MAX_KEYS
 * members ("keys" itself; a key has about 10, an x5c chain a few), so a
 * wider one is refused before cJSON allocates a node for each member.
 */
#define JWKS_JSON_DEPTH	8
/*
 * Those caps bound each object and array, not their number: 256 arrays of
 * 256 arrays of 30 zeros is 4 MiB of depth-4 JSON that cJSON would turn
 * into 2 million nodes (~165 MiB).  A set needs far fewer values (a key
 * has about 10, x5c and key_ops included), so the document is refused
 * above JWKS_MAX_VALUES, before cJSON allocates anything.
 */
#define JWKS_MAX_VALUES	65536
static const struct json_limits jwks_limits = {
	JWKS_JSON_DEPTH, JWKS_MAX_KEYS, 1, JWKS_MAX_VALUES, 0
};

#define JWKS_STR_(x)	#x
#define JWKS_STR(x)	JWKS_STR_(x)

enum {
#define X_IDX(id, text) JWKS_JSON_##id,
	JSON_STRICT_REASONS(X_IDX)
#undef X_IDX
	JWKS_JSON_N
};
static const char *const jwks_json_plain[] = {
#define X_PLAIN(id, text) text,
	JSON_STRICT_REASONS(X_PLAIN)
#undef X_PLAIN
};
static const char *const jwks_json_error[] = {
#define X_ERR(id, text) "not valid JSON: " text,
	JSON_STRICT_REASONS(X_ERR)
#undef X_ERR
};

/*
 * The document error for json_strict reason ${why}: "not valid JSON: "
 * and the reason, or a plainer sentence for the JWKS-specific limits.
 */
static const char *
json_error(const char *why)
{
	size_t i;

	for (i = 0; i < JWKS_JSON_N; i++)
		if (why != NULL && strcmp(why, jwks_json_plain[i]) == 0)
			break;
	switch (i) {
	case JWKS_JSON_N:
		return ("not valid JSON");
	case JWKS_JSON_NOMEM:
		return ("out of memory");
	case JWKS_JSON_NOT_OBJECT:
		return ("not a JWK Set (top-level value is not an object)");
	case JWKS_JSON_TOO_DEEP:
		return ("JSON nested deeper than " JWKS_STR(JWKS_JSON_DEPTH)
		    " levels");
	case JWKS_JSON_TOO_MANY:
		return ("JSON object or array with more than "
		    JWKS_STR(JWKS_MAX_KEYS) " members");
	case JWKS_JSON_TOO_MANY_VALUES:
		return ("JSON document with more than "
		    JWKS_STR(JWKS_MAX_VALUES) " values");
	default:
		return (jwks_json_error[i]);
	}
}

static const char *const private_members[] = {
	"d", "p", "q", "dp", "dq", "qi", "oth", "k",
};

static const cJSON *
member(const cJSON *obj, const char *name)
{
	return (cJSON_GetObjectItemCaseSensitive(obj, name));
}

/*
 * Decode the base64url string member ${name} of ${obj} into ${buf}.
 * Return the decoded length, or -1 if it is absent, not a string, not
 * strict base64url or longer than ${cap}.
 */
static ssize_t
b64_member(const cJSON *obj, const char *name, uint8_t *buf, size_t cap)
{
	const cJSON *m = member(obj, name);
	size_t len;

	if (!cJSON_IsString(m) || m->valuestring == NULL)
		return (-1);
	len = strlen(m->valuestring);
	if (b64url_decoded_len(len) > cap)
		return (-1);
	return (b64url_decode(m->valuestring, len, buf, cap));
}

static void
report_skip(struct jwks_report *rep, size_t index, const cJSON *el,
    const char *why)
{
	struct jwks_skipped *s;
	const cJSON *kid;
	size_t i, n;

	if (rep->n_skipped++ >= JWKS_REPORT_MAX)
		return;
	s = &rep->skipped[rep->n_skipped - 1];
	s->index = index;
	s->why = why;
	s->kid[0] = '\0';
	kid = cJSON_IsObject(el) ? member(el, "kid") : NULL;
	if (!cJSON_IsString(kid) || kid->valuestring == NULL)
		return;
	/* Printable ASCII only, so a caller can log it as is. */
	n = strlen(kid->valuestring);
	i = util_printable(s->kid, JWKS_REPORT_KID + 1, kid->valuestring, n);
	if (n > JWKS_REPORT_KID)
		memcpy(s->kid + i, "...", 4);
}

static char *
dup_string(const char *s, size_t len)
{
	char *p;

	if ((p = malloc(len + 1)) == NULL)
		return (NULL);
	memcpy(p, s, len);
	p[len] = '\0';
	return (p);
}

/* "key_ops", if present: an array of distinct strings with "verify". */
static int
key_ops_ok(const cJSON *ops)
{
	const cJSON *a, *b;
	int verify = 0;

	if (!cJSON_IsArray(ops))
		return (0);
	for (a = ops->child; a != NULL; a = a->next) {
		if (!cJSON_IsString(a) || a->valuestring == NULL)
			return (0);
		for (b = a->next; b != NULL; b = b->next)
			if (cJSON_IsString(b) && b->valuestring != NULL &&
			    strcmp(a->valuestring, b->valuestring) == 0)
				return (0);	/* RFC 7517 §4.3 */
		if (strcmp(a->valuestring, "verify") == 0)
			verify = 1;
	}
	return (verify);
}

static struct crypto_key *
jwk_key_rsa(const cJSON *el, const char **why)
{
	uint8_t n[RSA_N_MAX], e[RSA_E_MAX];
	ssize_t nl, el_;

	if ((nl = b64_member(el, "n", n, sizeof(n))) < 0) {
		*why = "RSA n missing, not base64url or too long";
		return (NULL);
	}
	if ((el_ = b64_member(el, "e", e, sizeof(e))) < 0) {
		*why = "RSA e missing, not base64url or too long";
		return (NULL);
	}
	return (crypto_key_rsa(n, (size_t)nl, e, (size_t)el_, why));
}

static struct crypto_key *
jwk_key_ec(const cJSON *el, const char **why)
{
	uint8_t x[EC_COORD_MAX], y[EC_COORD_MAX];
	const cJSON *crv = member(el, "crv");
	ssize_t xl, yl;
	int c;

	if (!cJSON_IsString(crv) || crv->valuestring == NULL ||
	    (c = crypto_curve_parse(crv->valuestring,
	    strlen(crv->valuestring))) < 0) {
		*why = "EC crv missing or not P-256/P-384/P-521";
		return (NULL);
	}
	if ((xl = b64_member(el, "x", x, sizeof(x))) < 0 ||
	    (yl = b64_member(el, "y", y, sizeof(y))) < 0) {
		*why = "EC x/y missing, not base64url or too long";
		return (NULL);
	}
	return (crypto_key_ec((enum crypto_curve)c, x, (size_t)xl, y,
	    (size_t)yl, why));
}

static struct crypto_key *
jwk_key_okp(const cJSON *el, const char **why)
{
	const cJSON *crv = member(el, "crv");
	uint8_t x[ED_KEY_MAX];
	ssize_t xl;

	if (!cJSON_IsString(crv) || crv->valuestring == NULL ||
	    strcmp(crv->valuestring, "Ed25519") != 0) {
		*why = "OKP crv missing or not Ed25519";
		return (NULL);
	}
	if ((xl = b64_member(el, "x", x, sizeof(x))) < 0) {
		*why = "OKP x missing, not base64url or too long";
		return (NULL);
	}
	return (crypto_key_ed25519(x, (size_t)xl, why));
}

/*
 * The members of the JWK ${el} besides its key material (kty, no private
 * member, kid, use, key_ops, issuer, alg), checked; *${kid}, *${iss} and
 * *${alg} set to those present.  Return 0, or -1 with *${why}.
 */
static int
jwk_members(const cJSON *el, const cJSON **kid, const cJSON **iss,
    const cJSON **alg, const char **why)
{
	const cJSON *kty, *use, *ops;
	const char *s;
	size_t i, len;

	if (!cJSON_IsObject(el)) {
		*why = "key is not a JSON object";
		return (-1);
	}
	kty = member(el, "kty");
	if (!cJSON_IsString(kty) || kty->valuestring == NULL) {
		*why = "kty missing or not a string";
		return (-1);
	}
	s = kty->valuestring;
	if (strcmp(s, "oct") == 0) {
		*why = "symmetric (oct) keys are not taken from a key set";
		return (-1);
	}
	if (strcmp(s, "RSA") != 0 && strcmp(s, "EC") != 0 &&
	    strcmp(s, "OKP") != 0) {
		*why = "unsupported kty";
		return (-1);
	}
	for (i = 0; i < ARRAY_SIZE(private_members); i++) {
		if (member(el, private_members[i]) != NULL) {
			*why = "private key material in a public key set";
			return (-1);
		}
	}
	if ((*kid = member(el, "kid")) != NULL) {
		if (!cJSON_IsString(*kid) || (*kid)->valuestring == NULL) {
			*why = "kid is not a string";
			return (-1);
		}
		len = strlen((*kid)->valuestring);
		if (len == 0 || len > JWKS_KID_MAX) {
			*why = "kid empty or longer than 256 bytes";
			return (-1);
		}
	}
	if ((use = member(el, "use")) != NULL &&
	    (!cJSON_IsString(use) || use->valuestring == NULL ||
	    strcmp(use->valuestring, "sig") != 0)) {
		*why = "use is not \"sig\"";
		return (-1);
	}
	if ((ops = member(el, "key_ops")) != NULL && !key_ops_ok(ops)) {
		*why = "key_ops does not allow verify";
		return (-1);
	}
	if ((*iss = member(el, "issuer")) != NULL &&
	    (!cJSON_IsString(*iss) || (*iss)->valuestring == NULL ||
	    strlen((*iss)->valuestring) > JWKS_ISSUER_MAX)) {
		*why = "issuer is not a string or too long";
		return (-1);
	}
	if ((*alg = member(el, "alg")) != NULL &&
	    (!cJSON_IsString(*alg) || (*alg)->valuestring == NULL)) {
		*why = "alg is not a string";
		return (-1);
	}
	return (0);
}

/* The algorithms a key of ${key_algs} may verify under its "alg" member
 * ${alg} (NULL: all of them); 0 with *${why} if they disagree. */
static uint32_t
jwk_algs(uint32_t key_algs, const cJSON *alg, const char **why)
{
	int a;

	if (alg == NULL)
		return (key_algs);
	a = jwa_parse(alg->valuestring, strlen(alg->valuestring));
	if (a < 0) {
		*why = "alg is not a supported JWS algorithm";
		return (0);
	}
	if ((key_algs & JWS_ALG_BIT(a)) == 0) {
		*why = "alg does not match the key type or curve";
		return (0);
	}
	return (JWS_ALG_BIT(a));
}

/* Build *${out} from the JWK ${el}; 0, or -1 with a constant *${why}. */
static int
jwk_parse(const cJSON *el, struct jwk *out, const char **why)
{
	const cJSON *kid = NULL, *alg = NULL, *iss = NULL;
	struct crypto_key *key = NULL;
	const char *s;

	memset(out, 0, sizeof(*out));
	if (jwk_members(el, &kid, &iss, &alg, why) != 0)
		return (-1);
	s = member(el, "kty")->valuestring;
	if (strcmp(s, "RSA") == 0)
		key = jwk_key_rsa(el, why);
	else if (strcmp(s, "EC") == 0)
		key = jwk_key_ec(el, why);
	else
		key = jwk_key_okp(el, why);
	if (key == NULL)
		return (-1);
	if ((out->algs = jwk_algs(crypto_key_algs(key), alg, why)) == 0)
		goto err;
	*why = "out of memory";
	if (kid != NULL) {
		out->kid_len = strlen(kid->valuestring);
		if ((out->kid = dup_string(kid->valuestring,
		    out->kid_len)) == NULL)
			goto err;
	}
	if (iss != NULL && (out->issuer = dup_string(iss->valuestring,
	    strlen(iss->valuestring))) == NULL)
		goto err;
	out->key = key;
	crypto_key_fingerprint(key, out->fp);
	*why = NULL;
	return (0);
err:
	crypto_key_free(key);
	out->key = NULL;
	keyset_key_clear(out);
	return (-1);
}

/*
 * Keys sharing a kid: keep one of a group of identical keys, drop every
 * key of a group that differs (the token's kid could select either).
 */
static void
dedupe_kids(struct jwk *keys, size_t *n, const size_t *index,
    const cJSON *const *elems, struct jwks_report *rep)
{
	uint8_t drop[JWKS_MAX_KEYS] = { 0 };
	size_t i, j, w;

	for (i = 0; i < *n; i++) {
		const struct jwk *a = &keys[i];
		int clash = 0;

		if (a->kid == NULL || drop[i] == 2)
			continue;
		for (j = i + 1; j < *n; j++) {
			const struct jwk *b = &keys[j];

			if (b->kid == NULL || b->kid_len != a->kid_len ||
			    memcmp(a->kid, b->kid, a->kid_len) != 0)
				continue;
			if (keyset_key_same(a, b) && drop[j] == 0)
				drop[j] = 1;
			else
				clash = 1;
		}
		if (!clash)
			continue;
		for (j = i; j < *n; j++)
			if (keys[j].kid != NULL && keys[j].kid_len == a->kid_len &&
			    memcmp(keys[j].kid, a->kid, a->kid_len) == 0)
				drop[j] = 2;
	}
	for (i = 0, w = 0; i < *n; i++) {
		if (drop[i] != 0) {
			report_skip(rep, index[i], elems[i], drop[i] == 1 ?
			    "identical duplicate of an earlier key" :
			    "kid shared by different keys");
			keyset_key_clear(&keys[i]);
			continue;
		}
		if (w != i) {
			keys[w] = keys[i];
			memset(&keys[i], 0, sizeof(keys[i]));
		}
		w++;
	}
	*n = w;
}

int
jwks_parse(const char *buf, size_t len, struct keyset **out,
    struct jwks_report *rep)
{
	struct jwks_report scratch;
	const cJSON *keys, *el;
	const cJSON *elems[JWKS_MAX_KEYS];
	size_t index[JWKS_MAX_KEYS];
	struct jwk *arr = NULL;
	struct keyset *ks;
	cJSON *root = NULL;
	struct json_error jerr;
	const char *why;
	size_t n, i, kept = 0;
	int rc = -1;

	if (rep == NULL)
		rep = &scratch;
	memset(rep, 0, sizeof(*rep));
	rep->error = "out of memory";
	if (buf == NULL || len == 0 || len > JWKS_MAX_DOC) {
		rep->error = "document empty or too large";
		goto out;
	}
	if ((root = json_doc_parse(buf, len, &jwks_limits, &jerr)) == NULL) {
		rep->error = json_error(jerr.why);
		goto out;
	}
	if (!cJSON_IsObject(root) ||
	    !cJSON_IsArray(keys = member(root, "keys"))) {
		rep->error = "not a JWK Set (no \"keys\" array)";
		goto out;
	}
	/* jwks_limits already caps "keys"; this guards elems[] and index[]. */
	for (n = 0, el = keys->child; el != NULL; el = el->next)
		if (++n > JWKS_MAX_KEYS) {
			rep->error = "more than 256 keys";
			goto out;
		}
	rep->n_in = n;
	if ((arr = calloc(n > 0 ? n : 1, sizeof(*arr))) == NULL)
		goto out;
	for (i = 0, el = keys->child; el != NULL; el = el->next, i++) {
		if (jwk_parse(el, &arr[kept], &why) != 0) {
			report_skip(rep, i, el, why);
			continue;
		}
		index[kept] = i;
		elems[kept] = el;
		kept++;
	}
	dedupe_kids(arr, &kept, index, elems, rep);
	if (kept == 0) {
		rep->error = "no usable key";
		goto out;
	}
	/* The set takes the array, whatever the result. */
	ks = keyset_new(arr, kept);
	arr = NULL;
	kept = 0;
	if (ks == NULL)
		goto out;
	rep->n_kept = keyset_count(ks);
	rep->error = NULL;
	*out = ks;
	rc = 0;
out:
	for (i = 0; i < kept; i++)
		keyset_key_clear(&arr[i]);
	free(arr);
	cJSON_Delete(root);
	return (rc);
}

/* ---- single JWKs (DPoP proofs carry their key) ------------------------- */

int
jwks_key_from_json(const cJSON *el, struct jwk *out, const char **why)
{
	return (jwk_parse(el, out, why));
}

int
jwks_key_check(const cJSON *el, uint32_t key_algs, uint32_t *algs,
    const char **why)
{
	const cJSON *kid = NULL, *alg = NULL, *iss = NULL;

	if (jwk_members(el, &kid, &iss, &alg, why) != 0 ||
	    (*algs = jwk_algs(key_algs, alg, why)) == 0)
		return (-1);
	*why = NULL;
	return (0);
}

/* Append the JSON string member ${name}: "name":"value" (the value as it
 * stands: checked base64url or a fixed name, nothing to escape). */
static int
tp_member(char *buf, size_t cap, size_t *n, const char *name, const char *v,
    bool last)
{
	int w = snprintf(buf + *n, cap - *n, "\"%s\":\"%s\"%s", name, v,
	    last ? "}" : ",");

	if (w < 0 || (size_t)w >= cap - *n)
		return (-1);
	*n += (size_t)w;
	return (0);
}

int
jwks_thumbprint(const cJSON *el, uint8_t out[32], const char **why)
{
	/* RFC 7638 §3.2: the required members only, in lexicographic order,
	 * no whitespace.  Their values must be the strict base64url (or
	 * curve name) the key was built from. */
	static const char *const rsa[] = { "e", "kty", "n", NULL };
	static const char *const ec[] = { "crv", "kty", "x", "y", NULL };
	static const char *const okp[] = { "crv", "kty", "x", NULL };
	const char *const *names;
	const cJSON *kty = member(el, "kty");
	char buf[2048];
	size_t n = 1;

	*why = "not a JWK with kty RSA, EC or OKP";
	buf[0] = '{';
	if (!cJSON_IsString(kty) || kty->valuestring == NULL)
		return (-1);
	if (strcmp(kty->valuestring, "RSA") == 0)
		names = rsa;
	else if (strcmp(kty->valuestring, "EC") == 0)
		names = ec;
	else if (strcmp(kty->valuestring, "OKP") == 0)
		names = okp;
	else
		return (-1);
	for (size_t i = 0; names[i] != NULL; i++) {
		const cJSON *m = member(el, names[i]);
		const char *v;

		*why = "a required JWK member is missing or not a string";
		if (!cJSON_IsString(m) || (v = m->valuestring) == NULL)
			return (-1);
		for (const char *p = v; *p != '\0'; p++)
			if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' &&
			    *p <= 'z') || (*p >= '0' && *p <= '9') ||
			    *p == '-' || *p == '_')) {
				*why = "a JWK member is not base64url";
				return (-1);
			}
		if (tp_member(buf, sizeof(buf), &n, names[i], v,
		    names[i + 1] == NULL) != 0) {
			*why = "JWK too large";
			return (-1);
		}
	}
	if (crypto_sha256(buf, n, out) != 0) {
		*why = "out of memory";
		return (-1);
	}
	*why = NULL;
	return (0);
}
