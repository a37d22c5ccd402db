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

/* The public key of JWK ${j}, built by OpenSSL from its parameters. */
static EVP_PKEY *
key_of(const cJSON *j)
{
	const char *kty = cJSON_GetObjectItem(j, "kty")->valuestring;
	uint8_t x[64], y[64], pub[65];
	size_t xl = b64u_dec(cJSON_GetObjectItem(j, "x")->valuestring,
	    strlen(cJSON_GetObjectItem(j, "x")->valuestring), x);
	EVP_PKEY_CTX *c;
	EVP_PKEY *pk = NULL;
	OSSL_PARAM p[3];

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
	uint8_t hdr[512], sig[128], der[160];
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
		    EVP_PKEY_is_a(pk, "EC") ? EVP_sha256() : NULL, NULL, pk), 1);
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

static void
rotation(enum signer_alg alg)
{
	char err[256], jwt[SIGNER_JWT_MAX], kid1[64], *set;
	const char *claims = "{\"iss\":\"spoa-iam\",\"sub\":\"alice\"}";
	struct signer *s;
	struct stat st;
	char path[512];
	DIR *d;
	struct dirent *de;

	/* A key is made, 0600, and signs verifiable JWTs. */
	s = signer_load(dir, alg, T0, DAY, 3600, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(count_files(), 1);
	d = opendir(dir);
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "assertion-", 10) == 0)
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
	closedir(d);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true(signer_sign_jwt(s, claims, strlen(claims), jwt,
	    sizeof(jwt)) > 0);
	set = jwks_text(s);
	snprintf(kid1, sizeof(kid1), "%s", signer_kid(s));
	assert_string_equal(verify(jwt, set), kid1);
	/* A tampered JWT does not verify (one signature character changed
	 * for another base64url character, well before the last). */
	{
		char *c = &jwt[strlen(jwt) - 5];

		*c = *c == 'A' ? 'B' : 'A';
	}
	assert_string_equal(verify(jwt, set), "");
	free(set);
	assert_int_equal(signer_next_rotation(s), T0 + DAY);
	signer_unref(s);

	/* Loaded again before its rotation: the same key. */
	s = signer_load(dir, alg, T0 + DAY - 1, DAY, 3600, err, sizeof(err));
	assert_non_null(s);
	assert_string_equal(signer_kid(s), kid1);
	signer_unref(s);

	/* Rotated: a new key signs, the old one is still published. */
	s = signer_load(dir, alg, T0 + DAY, DAY, 3600, err, sizeof(err));
	assert_non_null(s);
	assert_string_not_equal(signer_kid(s), kid1);
	assert_int_equal(count_files(), 2);
	assert_true(signer_sign_jwt(s, claims, strlen(claims), jwt,
	    sizeof(jwt)) > 0);
	set = jwks_text(s);
	assert_string_equal(verify(jwt, set), signer_kid(s));
	assert_non_null(strstr(set, kid1));
	free(set);
	signer_unref(s);

	/* Past the overlap: the old key is gone, file and all. */
	s = signer_load(dir, alg, T0 + DAY + 3601, DAY, 3600, err, sizeof(err));
	assert_non_null(s);
	set = jwks_text(s);
	assert_null(strstr(set, kid1));
	assert_int_equal(count_files(), 1);
	free(set);
	/* No room: refused, not cut. */
	assert_int_equal(signer_sign_jwt(s, claims, strlen(claims), jwt, 40),
	    -1);
	signer_unref(s);
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
	char err[256], path[512];
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/assertion-%lld-ES256.pem", dir,
	    (long long)T0);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("not a key\n", f);
	fclose(f);
	assert_null(signer_load(dir, SIGNER_ES256, T0 + 10, DAY, 3600, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "not a private key"));
	assert_null(signer_load("/nonexistent/dir", SIGNER_ES256, T0, DAY,
	    3600, err, sizeof(err)));
	assert_int_equal(signer_alg_parse("ES256"), SIGNER_ES256);
	assert_int_equal(signer_alg_parse("EdDSA"), SIGNER_EDDSA);
	assert_int_equal(signer_alg_parse("RS256"), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_es256, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eddsa, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_file, setup, teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
