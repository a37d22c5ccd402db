/*
 * test_wycheproof_jws.c: every case of Wycheproof json_web_signature_test.json
 * (jwt.md §4) through the JWS layer exactly as jwt.c uses it for the
 * signature part of a token, and the RFC 7515 Appendix A.4 example (whose
 * payload is not JSON either).
 *
 * The JWS layer, as in jwt.c verify_sig():
 *   jws_parse() (strict: three segments, canonical base64url, header rules,
 *   alg "none" refused) with payload_opaque, because these payloads are
 *   octets ("foo"), not JWT claims;
 *   -> the key set: the group's public JWK through jwks_parse() (the same
 *   rules as a jwks_file or a fetched JWKS), or, for an "oct" group, the
 *   secret as the issuer's HMAC secret (keyset_hmac(); key sets never carry
 *   secrets);
 *   -> key selection: HS* uses the secret whatever the kid says; otherwise
 *   the token's kid must name a key of the set, and without a kid the keys
 *   whose algs allow the token's alg are tried (at most 4, like jwt.c);
 *   -> the key's algs must allow the header's alg (S3);
 *   -> crypto_verify().
 * Only the issuer's own allow-list is left out: the groups have no issuer.
 *
 * Expected: "valid" verifies, "invalid" does not.  Where our stricter rules
 * refuse a "valid" vector, the case is listed in strict_rejects[] below
 * with the reason, the rejection is asserted to be that reason, and (where
 * it can be) the vector repaired is shown to verify, so the list cannot
 * hide anything else.  Skips with a message when the vectors are absent.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "b64url.h"
#include "crypto.h"
#include "jwa.h"
#include "jwks.h"
#include "jws.h"
#include "reason.h"
#include "testsupport.h"
#include "util.h"

#define WP_FILE		"wycheproof/json_web_signature_test.json"
#define NOKID_MAX_TRIES	4	/* as jwt.c */

/*
 * "valid" vectors we refuse on purpose.  ${why} is the exact reason our
 * layer gives; ${repair} says how the vector is fixed to prove that this is
 * the only thing in the way.
 */
enum repair { REPAIR_NONE, REPAIR_DROP_JWK_ALG, REPAIR_DROP_QMARK };

static const struct {
	int tc;
	const char *why;
	enum repair repair;
	const char *reason;	/* for people */
} strict_rejects[] = {
	{ 346, "algorithm not allowed for this key", REPAIR_DROP_JWK_ALG,
	  "rfc7520 Figure20: the token says PS384 but the group's JWK says "
	  "\"alg\":\"PS256\"; a key's alg binds it to that one algorithm "
	  "(RFC 8725 §3.1, jwt.md S3), so the JWK does not verify PS384" },
	{ 347, "no key set", REPAIR_DROP_JWK_ALG,
	  "rfc7520 Figure27 (ES512): the group's JWK says \"alg\":\"ES521\", "
	  "which is not a JWS algorithm (RFC 7518 names it ES512); jwks_parse "
	  "skips a key whose alg is unknown rather than guess, and a set with "
	  "no usable key is refused" },
	{ 350, "algorithm not allowed for this key", REPAIR_DROP_JWK_ALG,
	  "rfc7520WithKeyOps Figure20: same PS256 JWK for a PS384 token" },
	{ 351, "no key set", REPAIR_DROP_JWK_ALG,
	  "rfc7520WithKeyOps Figure27: same \"alg\":\"ES521\" JWK" },
	{ 372, "header: invalid base64url", REPAIR_DROP_QMARK,
	  "base64 InvalidCharacterInsertedInHeader: '?' is not in the "
	  "base64url alphabet (RFC 7515 §2, RFC 4648 §5); we never skip "
	  "characters, so one token has exactly one decoding" },
	{ 373, "payload: invalid base64url", REPAIR_DROP_QMARK,
	  "base64 InvalidCharacterInsertedInPayload: '?' in the payload "
	  "segment, as above" },
};

/*
 * Defects of the vector file itself: these "invalid" cases are byte for byte
 * the "valid" case ${same_as} (their names speak of '=' padding, which the
 * file does not contain), so no verifier can give both answers.  Checked:
 * still identical to ${same_as}, or, once the file carries the padding,
 * refused as non-canonical base64url.
 */
static const struct {
	int tc, same_as;
	const char *why_if_fixed;
} vector_defects[] = {
	{ 367, 357, "signature: invalid base64url" },	/* invalidBase64Padding */
	{ 370, 357, "payload: invalid base64url" },	/* ...PaddingInPayload */
};

static const char *
jstr(const cJSON *obj, const char *name)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, name);

	return (cJSON_IsString(m) ? m->valuestring : NULL);
}

/* The key material of a group, as the agent would hold it. */
struct group_keys {
	struct keyset *pub;	/* from the public JWK, or NULL */
	struct keyset *hmac;	/* from an oct JWK's "k", or NULL */
	const char *pub_error;	/* why jwks_parse refused, or NULL */
};

/* {"keys":[jwk]} through jwks_parse(), optionally without "alg". */
static struct keyset *
set_from_jwk(const cJSON *jwk, bool drop_alg, const char **err)
{
	struct jwks_report rep;
	struct keyset *ks = NULL;
	cJSON *doc = cJSON_CreateObject(), *arr = cJSON_CreateArray();
	cJSON *k = cJSON_Duplicate(jwk, 1);
	char *text;

	assert_non_null(doc);
	assert_non_null(arr);
	assert_non_null(k);
	if (drop_alg)
		cJSON_DeleteItemFromObjectCaseSensitive(k, "alg");
	cJSON_AddItemToArray(arr, k);
	cJSON_AddItemToObject(doc, "keys", arr);
	text = cJSON_PrintUnformatted(doc);
	assert_non_null(text);
	memset(&rep, 0, sizeof(rep));
	if (jwks_parse(text, strlen(text), &ks, &rep) != 0) {
		*err = rep.error;
		ks = NULL;
	}
	cJSON_free(text);
	cJSON_Delete(doc);
	return (ks);
}

static void
group_keys_load(const cJSON *g, bool drop_alg, struct group_keys *gk)
{
	const cJSON *pub = cJSON_GetObjectItemCaseSensitive(g, "public");
	const cJSON *priv = cJSON_GetObjectItemCaseSensitive(g, "private");
	const char *kty = priv != NULL ? jstr(priv, "kty") : NULL;

	memset(gk, 0, sizeof(*gk));
	if (pub != NULL)
		gk->pub = set_from_jwk(pub, drop_alg, &gk->pub_error);
	if (kty != NULL && strcmp(kty, "oct") == 0) {
		const char *k = jstr(priv, "k"), *why = NULL;
		uint8_t secret[256];
		ssize_t n;

		assert_non_null(k);
		n = b64url_decode(k, strlen(k), secret, sizeof(secret));
		assert_true(n > 0);
		gk->hmac = keyset_hmac(secret, (size_t)n, &why);
		if (gk->hmac == NULL)
			fail_msg("oct key refused: %s", why);
	}
}

static void
group_keys_free(struct group_keys *gk)
{
	keyset_unref(gk->pub);
	keyset_unref(gk->hmac);
}

/*
 * The JWS layer of jwt.c for ${tok}; 0 if it verifies, else -1 with the
 * stage that refused it in *${why} (jws_parse's detail, or the key
 * selection / signature outcome, worded as jwt.c words it).
 */
static int
jws_layer_verify(const char *tok, size_t len, const struct group_keys *gk,
    const char **why)
{
	struct jws_limits lim = JWS_LIMITS_DEFAULT;
	const struct jwk *cands[NOKID_MAX_TRIES];
	const struct keyset *ks;
	size_t ncands = 0;
	enum reason r;
	struct jws j;
	bool hmac;
	int rc = -1;

	lim.payload_opaque = true;
	if (jws_parse(tok, len, &lim, &j, &r, why) != 0)
		return (-1);
	assert_null(j.payload);
	hmac = (JWS_ALG_BIT(j.alg) & JWS_ALG_HMAC_MASK) != 0;
	ks = hmac ? gk->hmac : gk->pub;
	if (ks == NULL) {
		*why = hmac ? "no secret for HMAC" : "no key set";
		goto out;
	}
	if (hmac) {
		cands[ncands++] = keyset_find(ks, NULL, 0);
	} else if (j.kid != NULL) {
		const struct jwk *k = keyset_find(ks, j.kid, j.kid_len);

		if (k == NULL) {
			*why = "kid unknown";
			goto out;
		}
		cands[ncands++] = k;
	} else {
		for (size_t i = 0; i < keyset_count(ks) && ncands < NOKID_MAX_TRIES; i++)
			if (keyset_key(ks, i)->algs & JWS_ALG_BIT(j.alg))
				cands[ncands++] = keyset_key(ks, i);
		if (ncands == 0) {
			*why = "no key for this algorithm";
			goto out;
		}
	}
	*why = "signature invalid";
	for (size_t c = 0; c < ncands; c++) {
		if (cands[c] == NULL)
			continue;
		if (!(cands[c]->algs & JWS_ALG_BIT(j.alg))) {
			*why = "algorithm not allowed for this key";
			goto out;
		}
		if (crypto_verify(cands[c]->key, j.alg,
		    (const uint8_t *)j.signing_input, j.signing_input_len,
		    j.sig, j.sig_len) == 0) {
			*why = NULL;
			rc = 0;
			goto out;
		}
	}
out:
	jws_release(&j);
	return (rc);
}

static int
defect_index(int tc)
{
	for (size_t i = 0; i < ARRAY_SIZE(vector_defects); i++)
		if (vector_defects[i].tc == tc)
			return ((int)i);
	return (-1);
}

/* The "jws" of case ${tc} in ${groups}, or NULL. */
static const char *
find_case(const cJSON *groups, int tc)
{
	const cJSON *g, *t;

	cJSON_ArrayForEach(g, groups)
		cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(g,
		    "tests"))
			if ((int)cJSON_GetObjectItemCaseSensitive(t,
			    "tcId")->valuedouble == tc)
				return (jstr(t, "jws"));
	return (NULL);
}

static int
strict_index(int tc)
{
	for (size_t i = 0; i < ARRAY_SIZE(strict_rejects); i++)
		if (strict_rejects[i].tc == tc)
			return ((int)i);
	return (-1);
}

/* Show that the strict rejection ${si} of ${tok} is the only obstacle. */
static void
repair_and_verify(size_t si, const cJSON *g, const char *tok)
{
	struct group_keys gk;
	const char *why = NULL;
	char *fixed;
	size_t n = 0;

	switch (strict_rejects[si].repair) {
	case REPAIR_DROP_JWK_ALG:
		group_keys_load(g, true, &gk);
		if (jws_layer_verify(tok, strlen(tok), &gk, &why) != 0)
			fail_msg("tcId %d: still refused without the JWK alg: %s",
			    strict_rejects[si].tc, why);
		group_keys_free(&gk);
		break;
	case REPAIR_DROP_QMARK:
		fixed = malloc(strlen(tok) + 1);
		assert_non_null(fixed);
		for (const char *p = tok; *p != '\0'; p++)
			if (*p != '?')
				fixed[n++] = *p;
		fixed[n] = '\0';
		assert_true(n + 1 == strlen(tok));
		group_keys_load(g, false, &gk);
		if (jws_layer_verify(fixed, n, &gk, &why) != 0)
			fail_msg("tcId %d: still refused without the '?': %s",
			    strict_rejects[si].tc, why);
		group_keys_free(&gk);
		free(fixed);
		break;
	case REPAIR_NONE:
		break;
	}
}

struct tally {
	const char *why;
	size_t n;
};

static void
test_json_web_signature(void **state)
{
	const char *path = ts_vectors_path(WP_FILE);
	const cJSON *groups, *g, *t, *ntests;
	size_t valid = 0, invalid = 0, strict = 0, failures = 0, total = 0;
	size_t defects = 0, nwhy = 0;
	struct tally hist[32];
	size_t seen_strict[ARRAY_SIZE(strict_rejects)] = { 0 };
	cJSON *root;
	char *buf;
	size_t len;

	(void)state;
	if (path == NULL)
		skip();
	buf = ts_read_file(path, &len);
	assert_non_null(buf);
	root = cJSON_ParseWithLength(buf, len);
	free(buf);
	assert_non_null(root);
	groups = cJSON_GetObjectItemCaseSensitive(root, "testGroups");
	assert_true(cJSON_IsArray(groups));

	cJSON_ArrayForEach(g, groups) {
		size_t gvalid = 0, ginvalid = 0;
		const char *gname = jstr(g, "comment");
		struct group_keys gk;

		group_keys_load(g, false, &gk);
		cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(g,
		    "tests")) {
			const char *res = jstr(t, "result"), *tok = jstr(t, "jws");
			int tc = (int)cJSON_GetObjectItemCaseSensitive(t,
			    "tcId")->valuedouble;
			const char *why = NULL;
			int r, si;

			assert_non_null(res);
			assert_non_null(tok);
			/* No "acceptable" in this file: each case has one answer. */
			assert_true(strcmp(res, "valid") == 0 ||
			    strcmp(res, "invalid") == 0);
			total++;
			r = jws_layer_verify(tok, strlen(tok), &gk, &why);
			if ((si = defect_index(tc)) >= 0) {
				const char *twin = find_case(groups,
				    vector_defects[si].same_as);

				assert_string_equal(res, "invalid");
				assert_non_null(twin);
				defects++;
				if (strcmp(tok, twin) == 0) {
					/* The file's defect: same answer as
					 * its valid twin, by construction. */
					assert_int_equal(r, 0);
					printf("  defect: tcId %d is byte-identical "
					    "to valid tcId %d (no padding in the "
					    "file); not counted\n", tc,
					    vector_defects[si].same_as);
				} else {
					assert_int_equal(r, -1);
					assert_string_equal(why,
					    vector_defects[si].why_if_fixed);
				}
				continue;
			}
			si = strict_index(tc);
			if (si >= 0) {
				/* Listed: a "valid" vector we refuse, for the
				 * listed reason and no other. */
				assert_string_equal(res, "valid");
				strict++;
				seen_strict[si]++;
				if (r == 0 || why == NULL ||
				    strcmp(why, strict_rejects[si].why) != 0) {
					failures++;
					printf("  FAIL tcId %d: expected the strict "
					    "rejection \"%s\", got %s\n", tc,
					    strict_rejects[si].why,
					    r == 0 ? "valid" : why);
					continue;
				}
				printf("  strict: tcId %d (%s) refused: %s -- %s\n",
				    tc, jstr(t, "comment"), why,
				    strict_rejects[si].reason);
				repair_and_verify((size_t)si, g, tok);
				continue;
			}
			if (strcmp(res, "valid") == 0) {
				valid++;
				gvalid++;
			} else {
				invalid++;
				ginvalid++;
			}
			if (r != 0) {
				size_t h;

				for (h = 0; h < nwhy; h++)
					if (strcmp(hist[h].why, why) == 0)
						break;
				if (h == nwhy && nwhy < ARRAY_SIZE(hist))
					hist[nwhy++] = (struct tally){ why, 0 };
				if (h < nwhy)
					hist[h].n++;
			}
			if ((r == 0) != (strcmp(res, "valid") == 0)) {
				failures++;
				printf("  FAIL tcId %d (%s / %s): expected %s, "
				    "got %s\n", tc, gname != NULL ? gname : "?",
				    jstr(t, "comment"), res,
				    r == 0 ? "valid" : why);
			}
		}
		printf("  group %-22s valid %3zu invalid %3zu%s%s%s\n",
		    gname != NULL ? gname : "?", gvalid, ginvalid,
		    gk.pub_error ? "  (public JWK refused: " : "",
		    gk.pub_error ? gk.pub_error : "", gk.pub_error ? ")" : "");
		group_keys_free(&gk);
	}
	ntests = cJSON_GetObjectItemCaseSensitive(root, "numberOfTests");
	printf("  %s: %zu cases: valid verified %zu, invalid refused %zu, "
	    "valid refused by stricter rules %zu (listed), defective vectors "
	    "%zu (listed), failures %zu\n", WP_FILE, total, valid, invalid,
	    strict, defects, failures);
	printf("  invalid cases refused at:\n");
	for (size_t h = 0; h < nwhy; h++)
		printf("    %4zu  %s\n", hist[h].n, hist[h].why);
	assert_true(cJSON_IsNumber(ntests));
	assert_int_equal(total, (size_t)ntests->valuedouble);
	cJSON_Delete(root);
	assert_int_equal(failures, 0);
	/* Every listed exception exists in the file, once. */
	for (size_t i = 0; i < ARRAY_SIZE(strict_rejects); i++)
		assert_int_equal(seen_strict[i], 1);
	assert_int_equal(defects, ARRAY_SIZE(vector_defects));
	assert_int_equal(valid + invalid + strict + defects, total);
	assert_true(valid > 0 && invalid > 0);
}

/*
 * RFC 7515 Appendix A.4 (ES512, payload "Payload", not JSON): the JWK and
 * the compact JWS as published in RFC 7515 §A.4.1 (public part of the key
 * only).  It must verify, and the signing input or signature altered in
 * any byte must not.
 */
#define RFC7515_A4_JWK \
	"{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-521\"," \
	"\"x\":\"AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6O" \
	"vLFV1jSfS9tsz4qUxcWceqwQGk\"," \
	"\"y\":\"ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL" \
	"4Kkd0AZMaZmh9ubmf63e3kyMj2\"}]}"
#define RFC7515_A4_JWS \
	"eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA." \
	"AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZqwqT2SI" \
	"-KGDKB34XO0aw_7XdtAG8GaSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8KpEHwJjyqOgzDO" \
	"7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn"

static void
test_rfc7515_a4(void **state)
{
	struct jwks_report rep;
	struct group_keys gk;
	const char *why = NULL;
	char tok[sizeof(RFC7515_A4_JWS)];
	size_t n = strlen(RFC7515_A4_JWS), flips = 0;

	(void)state;
	memset(&gk, 0, sizeof(gk));
	memset(&rep, 0, sizeof(rep));
	assert_int_equal(jwks_parse(RFC7515_A4_JWK, strlen(RFC7515_A4_JWK),
	    &gk.pub, &rep), 0);
	assert_int_equal(keyset_key(gk.pub, 0)->algs, JWS_ALG_BIT(JWS_ALG_ES512));
	memcpy(tok, RFC7515_A4_JWS, n + 1);
	if (jws_layer_verify(tok, n, &gk, &why) != 0)
		fail_msg("RFC 7515 A.4 does not verify: %s", why);
	/* And as a JWT it is refused: "Payload" is not a claims object. */
	{
		struct jws j;
		enum reason r;
		assert_int_equal(jws_parse(tok, n, NULL, &j, &r, &why), -1);
		assert_int_equal(r, REASON_TOKEN_MALFORMED);
	}
	/* One character changed anywhere (header, payload, signature):
	 * never verifies.  Changing 'A' <-> 'B' keeps the alphabet. */
	for (size_t i = 0; i < n; i++) {
		if (tok[i] == '.')
			continue;
		tok[i] = tok[i] == 'A' ? 'B' : 'A';
		if (jws_layer_verify(tok, n, &gk, &why) == 0)
			fail_msg("RFC 7515 A.4 altered at %zu still verifies", i);
		tok[i] = RFC7515_A4_JWS[i];
		flips++;
	}
	assert_true(flips > 200);
	/* The last byte of S cleared: 131 bytes instead of 132. */
	tok[n - 2] = '\0';
	assert_int_equal(jws_layer_verify(tok, n - 2, &gk, &why), -1);
	keyset_unref(gk.pub);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_web_signature),
		cmocka_unit_test(test_rfc7515_a4),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
