/*
 * test_signer.c: the agent's assertion keys (keys/signer.c): made and kept
 * in a directory (0600), rotated with overlap, and JWTs whose signatures
 * OpenSSL verifies here against the published JWK Set (parsed by cJSON,
 * keys rebuilt with OpenSSL's own parameters, not the agent's code).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "testsupport.h"
#include "testjose.h"

#include "abuf.h"
#include "signer.h"

#define T0	((int64_t)1700000000)
#define DAY	86400u

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/spoa-test-signer.XXXXXX");
	assert_non_null(mkdtemp(dir));
	return (0);
}

static int
teardown(void **state)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[512];

	(void)state;
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' && (de->d_name[1] == '\0' ||
		    strcmp(de->d_name, "..") == 0))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	if (d != NULL)
		closedir(d);
	rmdir(dir);
	return (0);
}

static size_t
count_files(void)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "assertion-", 10) == 0)
			n++;
	closedir(d);
	return (n);
}

static size_t
b64u_dec(const char *in, size_t len, uint8_t *out)
{
	char tmp[4096];

	assert_true(len < sizeof(tmp));
	memcpy(tmp, in, len);
	tmp[len] = '\0';
	return (b64u_decode_test(tmp, out));
}

/* An RSA public key from JWK ${j}'s n and e, by OpenSSL. */
static EVP_PKEY *
rsa_of(const cJSON *j)
{
	static uint8_t n[600], e[16];
	const char *ns = cJSON_GetObjectItem(j, "n")->valuestring;
	const char *es = cJSON_GetObjectItem(j, "e")->valuestring;
	size_t nl = b64u_dec(ns, strlen(ns), n), el = b64u_dec(es, strlen(es), e);
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	BIGNUM *bn = BN_bin2bn(n, (int)nl, NULL), *be = BN_bin2bn(e, (int)el,
	    NULL);
	OSSL_PARAM *p;
	EVP_PKEY_CTX *c;
	EVP_PKEY *pk = NULL;

	assert_int_equal(nl, 256);
	OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn);
	OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, be);
	p = OSSL_PARAM_BLD_to_param(b);
	c = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	assert_int_equal(EVP_PKEY_fromdata_init(c), 1);
	assert_int_equal(EVP_PKEY_fromdata(c, &pk, EVP_PKEY_PUBLIC_KEY, p), 1);
	EVP_PKEY_CTX_free(c);
	OSSL_PARAM_free(p);
	OSSL_PARAM_BLD_free(b);
	BN_free(bn);
	BN_free(be);
	return (pk);
}

/* The public key of JWK ${j}, built by OpenSSL from its parameters. */
static EVP_PKEY *
key_of(const cJSON *j)
{
	const char *kty = cJSON_GetObjectItem(j, "kty")->valuestring;
	uint8_t x[64], y[64], pub[65];
	size_t xl;
	EVP_PKEY_CTX *c;
	EVP_PKEY *pk = NULL;
	OSSL_PARAM p[3];

	if (strcmp(kty, "RSA") == 0)
		return (rsa_of(j));
	xl = b64u_dec(cJSON_GetObjectItem(j, "x")->valuestring,
	    strlen(cJSON_GetObjectItem(j, "x")->valuestring), x);
	if (strcmp(kty, "OKP") == 0)
		return (EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x,
		    xl));
	assert_int_equal(b64u_dec(cJSON_GetObjectItem(j, "y")->valuestring,
	    strlen(cJSON_GetObjectItem(j, "y")->valuestring), y), 32);
	pub[0] = 4;
	memcpy(pub + 1, x, 32);
	memcpy(pub + 33, y, 32);
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
	    "P-256", 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub,
	    65);
	p[2] = OSSL_PARAM_construct_end();
	c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	assert_int_equal(EVP_PKEY_fromdata_init(c), 1);
	assert_int_equal(EVP_PKEY_fromdata(c, &pk, EVP_PKEY_PUBLIC_KEY, p), 1);
	EVP_PKEY_CTX_free(c);
	return (pk);
}

/* Verify the compact JWT ${jwt} against the JWK Set text ${jwks}; return
 * the kid that verified it ("" if none). */
static const char *
verify(const char *jwt, const char *jwks)
{
	static char kid_out[64];
	const char *d1 = strchr(jwt, '.'), *d2 = strrchr(jwt, '.');
	uint8_t hdr[512], sig[512], der[160];
	size_t hl = b64u_dec(jwt, (size_t)(d1 - jwt), hdr);
	size_t sl = b64u_dec(d2 + 1, strlen(d2 + 1), sig);
	cJSON *h, *set, *k;
	const char *kid;

	hdr[hl] = '\0';
	h = cJSON_Parse((char *)hdr);
	set = cJSON_Parse(jwks);
	assert_non_null(h);
	assert_non_null(set);
	kid = cJSON_GetObjectItem(h, "kid")->valuestring;
	kid_out[0] = '\0';
	cJSON_ArrayForEach(k, cJSON_GetObjectItem(set, "keys")) {
		EVP_PKEY *pk;
		EVP_MD_CTX *m;
		const uint8_t *s = sig;
		size_t slen = sl;
		int ok;

		if (strcmp(cJSON_GetObjectItem(k, "kid")->valuestring, kid) != 0)
			continue;
		pk = key_of(k);
		if (EVP_PKEY_is_a(pk, "EC")) {
			ECDSA_SIG *es = ECDSA_SIG_new();
			unsigned char *dp = der;

			assert_int_equal(sl, 64);
			ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL),
			    BN_bin2bn(sig + 32, 32, NULL));
			slen = (size_t)i2d_ECDSA_SIG(es, &dp);
			s = der;
			ECDSA_SIG_free(es);
		}
		m = EVP_MD_CTX_new();
		assert_int_equal(EVP_DigestVerifyInit(m, NULL,
		    EVP_PKEY_is_a(pk, "ED25519") ? NULL : EVP_sha256(), NULL,
		    pk), 1);
		ok = EVP_DigestVerify(m, s, slen, (const uint8_t *)jwt,
		    (size_t)(d2 - jwt));
		EVP_MD_CTX_free(m);
		EVP_PKEY_free(pk);
		if (ok == 1)
			snprintf(kid_out, sizeof(kid_out), "%s", kid);
	}
	cJSON_Delete(h);
	cJSON_Delete(set);
	return (kid_out);
}

static char *
jwks_text(const struct signer *s)
{
	struct abuf b = { 0 };

	signer_jwks(s, &b);
	assert_false(b.oom);
	return (b.p);
}

static struct signer *
load(enum signer_alg alg, int64_t now, uint32_t ahead, uint32_t keep,
    bool *made)
{
	struct signer_policy pol = { alg, DAY, ahead, keep };
	char err[256];
	struct signer *s = signer_load(dir, &pol, now, made, err, sizeof(err));

	if (s == NULL)
		fail_msg("signer_load: %s", err);
	return (s);
}

/* A JWT signed by ${s}: the kid that verifies it against ${s}'s JWKS. */
static const char *
sign_verify(const struct signer *s, char *jwt)
{
	static const char claims[] = "{\"iss\":\"spoa-iam\",\"sub\":\"alice\"}";
	static char kid[64];
	char *set;

	assert_true(signer_sign_jwt(s, claims, strlen(claims), jwt,
	    SIGNER_JWT_MAX) > 0);
	set = jwks_text(s);
	snprintf(kid, sizeof(kid), "%s", verify(jwt, set));
	free(set);
	return (kid);
}

static void
rotation(enum signer_alg alg)
{
	char jwt[SIGNER_JWT_MAX], kid1[64], *set;
	struct signer *s;
	struct stat st;
	char path[512];
	DIR *d;
	struct dirent *de;
	bool made;

	/* A key is made, 0600, and signs verifiable JWTs. */
	s = load(alg, T0, 0, 3600, &made);
	assert_true(made);
	assert_int_equal(count_files(), 1);
	d = opendir(dir);
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "assertion-", 10) == 0)
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
	closedir(d);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(kid1, sizeof(kid1), "%s", signer_kid(s));
	assert_int_equal(strlen(kid1), 43);
	assert_string_equal(sign_verify(s, jwt), kid1);
	/* A tampered JWT does not verify (one signature character changed
	 * for another base64url character, well before the last). */
	set = jwks_text(s);
	{
		char *c = &jwt[strlen(jwt) - 5];

		*c = *c == 'A' ? 'B' : 'A';
	}
	assert_string_equal(verify(jwt, set), "");
	free(set);
	assert_int_equal(signer_next_load(s), T0 + DAY);
	signer_unref(s);

	/* Loaded again before its rotation: the same key, none made. */
	s = load(alg, T0 + DAY - 1, 0, 3600, &made);
	assert_false(made);
	assert_string_equal(signer_kid(s), kid1);
	signer_unref(s);

	/* Rotated: a new key signs, the old one is still published. */
	s = load(alg, T0 + DAY, 0, 3600, &made);
	assert_true(made);
	assert_string_not_equal(signer_kid(s), kid1);
	assert_int_equal(count_files(), 2);
	assert_string_equal(sign_verify(s, jwt), signer_kid(s));
	assert_true(signer_publishes(s, kid1));
	assert_int_equal(signer_nkeys(s), 2);
	/* Next load: when the old key leaves the set. */
	assert_int_equal(signer_next_load(s), T0 + DAY + 3600);
	signer_unref(s);

	/* Past the overlap: the old key is gone, file and all. */
	s = load(alg, T0 + DAY + 3600, 0, 3600, &made);
	assert_false(made);
	set = jwks_text(s);
	assert_null(strstr(set, kid1));
	assert_false(signer_publishes(s, kid1));
	assert_int_equal(count_files(), 1);
	free(set);
	/* No room: refused, not cut. */
	assert_int_equal(signer_sign_jwt(s, "{}", 2, jwt, 40), -1);
	signer_unref(s);
}

static void
test_rs256(void **state)
{
	(void)state;
	rotation(SIGNER_RS256);
}

/*
 * Published ahead: a new key is published publish_ahead seconds before it
 * signs; the old one signs meanwhile, then stays published keep seconds.
 */
static void
test_publish_ahead(void **state)
{
	const uint32_t ahead = 3900, keep = 360;
	char jwt[SIGNER_JWT_MAX], kid1[64], kid2[64];
	struct signer *s;
	bool made;

	(void)state;
	/* An empty directory: its first key signs at once. */
	s = load(SIGNER_ES256, T0, ahead, keep, &made);
	snprintf(kid1, sizeof(kid1), "%s", signer_kid(s));
	assert_string_equal(sign_verify(s, jwt), kid1);
	assert_int_equal(signer_next_load(s), T0 + DAY);
	signer_unref(s);

	/* Rotation due: the next key is made and published, not used. */
	s = load(SIGNER_ES256, T0 + DAY, ahead, keep, &made);
	assert_true(made);
	assert_string_equal(signer_kid(s), kid1);
	assert_int_equal(signer_nkeys(s), 2);
	{
		char *set = jwks_text(s);

		/* The signing key first, then the one to come. */
		assert_true(strstr(set, kid1) != NULL);
		assert_true(strstr(set, kid1) < strstr(set, "},{"));
		free(set);
	}
	assert_string_equal(sign_verify(s, jwt), kid1);
	assert_int_equal(signer_next_load(s), T0 + DAY + ahead);
	signer_unref(s);

	/* Its time: the new key signs, the old one stays keep seconds. */
	s = load(SIGNER_ES256, T0 + DAY + ahead, ahead, keep, &made);
	assert_false(made);
	snprintf(kid2, sizeof(kid2), "%s", signer_kid(s));
	assert_string_not_equal(kid2, kid1);
	assert_string_equal(sign_verify(s, jwt), kid2);
	assert_true(signer_publishes(s, kid1));
	assert_int_equal(signer_next_load(s), T0 + DAY + ahead + keep);
	signer_unref(s);
	s = load(SIGNER_ES256, T0 + DAY + ahead + keep - 1, ahead, keep, NULL);
	assert_true(signer_publishes(s, kid1));
	signer_unref(s);
	s = load(SIGNER_ES256, T0 + DAY + ahead + keep, ahead, keep, NULL);
	assert_false(signer_publishes(s, kid1));
	assert_string_equal(signer_kid(s), kid2);
	assert_int_equal(count_files(), 1);
	signer_unref(s);
}

/* Two processes sharing the directory: the second uses the key the
 * first made, it makes none. */
static void
test_shared_dir(void **state)
{
	struct signer *a, *b;
	bool made;

	(void)state;
	a = load(SIGNER_EDDSA, T0, 0, 600, &made);
	assert_true(made);
	b = load(SIGNER_EDDSA, T0 + 5, 0, 600, &made);
	assert_false(made);
	assert_string_equal(signer_kid(a), signer_kid(b));
	assert_int_equal(count_files(), 1);
	signer_unref(a);
	signer_unref(b);
}

/* A key file others may read: refused loudly, naming the file and mode;
 * and so is one that is a link. */
static void
test_key_mode(void **state)
{
	struct signer_policy pol = { SIGNER_ES256, DAY, 0, 600 };
	char err[256], path[512], link[512];
	struct signer *s;

	(void)state;
	/* --check's view: nothing yet, then one good key. */
	assert_int_equal(signer_check(dir, SIGNER_ES256, err, sizeof(err)), 0);
	assert_int_equal(signer_check("/nonexistent/d", SIGNER_ES256, err,
	    sizeof(err)), 0);
	s = load(SIGNER_ES256, T0, 0, 600, NULL);
	signer_unref(s);
	assert_int_equal(signer_check(dir, SIGNER_ES256, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/assertion-%lld-ES256.pem", dir,
	    (long long)T0);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(signer_check(dir, SIGNER_ES256, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "mode 0644"));
	assert_int_equal(count_files(), 1);     /* --check changes nothing */
	assert_null(signer_load(dir, &pol, T0 + 1, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "mode 0644"));
	assert_int_equal(chmod(path, 0640), 0);
	assert_null(signer_load(dir, &pol, T0 + 1, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "mode 0640"));
	/* 0400 is fine: only the agent reads it. */
	assert_int_equal(chmod(path, 0400), 0);
	s = signer_load(dir, &pol, T0 + 1, NULL, err, sizeof(err));
	assert_non_null(s);
	signer_unref(s);
	/* A symbolic link in the key's place. */
	assert_int_equal(chmod(path, 0600), 0);
	snprintf(link, sizeof(link), "%s/keep.pem", dir);
	assert_int_equal(rename(path, link), 0);
	assert_int_equal(symlink(link, path), 0);
	assert_null(signer_load(dir, &pol, T0 + 1, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, path));
}

static void
test_es256(void **state)
{
	(void)state;
	rotation(SIGNER_ES256);
}

static void
test_eddsa(void **state)
{
	(void)state;
	rotation(SIGNER_EDDSA);
}

/* A file that is not a key of the algorithm: an error, not skipped. */
static void
test_bad_file(void **state)
{
	struct signer_policy pol = { SIGNER_ES256, DAY, 0, 3600 };
	char err[256], path[512];
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/assertion-%lld-ES256.pem", dir,
	    (long long)T0);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("not a key\n", f);
	fclose(f);
	assert_int_equal(chmod(path, 0600), 0);
	assert_null(signer_load(dir, &pol, T0 + 10, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "not a private key"));
	/* A key of another algorithm under this one's name. */
	{
		struct signer_policy ed = { SIGNER_EDDSA, DAY, 0, 3600 };
		char p2[512];
		struct signer *s;

		unlink(path);
		s = signer_load(dir, &ed, T0, NULL, err, sizeof(err));
		assert_non_null(s);
		signer_unref(s);
		snprintf(p2, sizeof(p2), "%s/assertion-%lld-EdDSA.pem", dir,
		    (long long)T0);
		assert_int_equal(rename(p2, path), 0);
		assert_null(signer_load(dir, &pol, T0 + 10, NULL, err,
		    sizeof(err)));
		assert_non_null(strstr(err, "not a private key"));
	}
	assert_null(signer_load("/nonexistent/dir", &pol, T0, NULL, err,
	    sizeof(err)));
	assert_int_equal(signer_alg_parse("ES256"), SIGNER_ES256);
	assert_int_equal(signer_alg_parse("EdDSA"), SIGNER_EDDSA);
	assert_int_equal(signer_alg_parse("RS256"), SIGNER_RS256);
	assert_int_equal(signer_alg_parse("ES384"), -1);
	assert_int_equal(signer_alg_parse("none"), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_es256, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eddsa, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rs256, setup, teardown),
		cmocka_unit_test_setup_teardown(test_publish_ahead, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_shared_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_file, setup, teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
