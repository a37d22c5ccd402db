/*
 * bench_crypto.c: cost of one crypto_verify() (a verified-token cache
 * miss) for RS256 (2048), ES256 and EdDSA, next to the bare OpenSSL
 * operation measured in the same process, so the ratio to
 * `openssl speed -seconds 3 rsa2048 ecdsap256 ed25519` can be stated.
 *
 * Usage: bench_crypto [seconds-per-case] [message-bytes]
 * Run it on an idle machine, right before or after `openssl speed`.
 * Tests and benchmarks may call OpenSSL directly (to make keys and sign);
 * agent modules other than crypto.c may not.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "crypto.h"

#define ROUNDS 31

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

static void
die(const char *what)
{
	fprintf(stderr, "bench_crypto: %s failed\n", what);
	exit(1);
}

struct bcase {
	const char *name;
	struct crypto_key *key;
	enum jws_alg alg;
	EVP_PKEY *pkey;		/* private key, for the raw baseline */
	uint8_t sig[512];	/* JWS encoding */
	size_t sig_len;
	uint8_t rawsig[512];	/* OpenSSL encoding (DER for ECDSA) */
	size_t rawsig_len;
};

static void
sign_case(struct bcase *c, const uint8_t *msg, size_t len)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	const EVP_MD *md = c->alg == JWS_ALG_EDDSA ? NULL : EVP_sha256();

	c->rawsig_len = sizeof(c->rawsig);
	if (m == NULL || EVP_DigestSignInit(m, NULL, md, NULL, c->pkey) != 1 ||
	    EVP_DigestSign(m, c->rawsig, &c->rawsig_len, msg, len) != 1)
		die("sign");
	EVP_MD_CTX_free(m);
	if (c->alg == JWS_ALG_ES256) {
		const unsigned char *p = c->rawsig;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)c->rawsig_len);

		if (es == NULL ||
		    BN_bn2binpad(ECDSA_SIG_get0_r(es), c->sig, 32) != 32 ||
		    BN_bn2binpad(ECDSA_SIG_get0_s(es), c->sig + 32, 32) != 32)
			die("R||S");
		c->sig_len = 64;
		ECDSA_SIG_free(es);
	} else {
		memcpy(c->sig, c->rawsig, c->rawsig_len);
		c->sig_len = c->rawsig_len;
	}
}

static struct crypto_key *
public_key(EVP_PKEY *pk, enum jws_alg alg)
{
	uint8_t a[512], b[512];
	BIGNUM *x = NULL, *y = NULL;
	struct crypto_key *k = NULL;
	const char *why = NULL;
	size_t la;

	switch (alg) {
	case JWS_ALG_RS256:
		if (!EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &x) ||
		    !EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &y))
			die("rsa params");
		k = crypto_key_rsa(a, (size_t)BN_bn2bin(x, a), b,
		    (size_t)BN_bn2bin(y, b), &why);
		break;
	case JWS_ALG_ES256:
		if (!EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_X, &x) ||
		    !EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_EC_PUB_Y, &y) ||
		    BN_bn2binpad(x, a, 32) != 32 || BN_bn2binpad(y, b, 32) != 32)
			die("ec params");
		k = crypto_key_ec(CRYPTO_CURVE_P256, a, 32, b, 32, &why);
		break;
	default:
		la = sizeof(a);
		if (EVP_PKEY_get_raw_public_key(pk, a, &la) != 1)
			die("ed25519 raw");
		k = crypto_key_ed25519(a, la, &why);
		break;
	}
	BN_free(x);
	BN_free(y);
	if (k == NULL) {
		fprintf(stderr, "bench_crypto: key: %s\n", why);
		exit(1);
	}
	return (k);
}

/* Bare OpenSSL verify of the same signature, context reused (best case). */
static double
bench_raw(struct bcase *c, const uint8_t *msg, size_t len, double secs)
{
	EVP_PKEY_CTX *pc = NULL;
	EVP_MD_CTX *mc = NULL;
	uint8_t h[32];
	unsigned int hl;
	double t0, t;
	long n = 0;
	int r;

	if (c->alg == JWS_ALG_EDDSA) {
		if ((mc = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestVerifyInit(mc, NULL, NULL, NULL, c->pkey) != 1)
			die("raw ed init");
	} else {
		if ((pc = EVP_PKEY_CTX_new(c->pkey, NULL)) == NULL ||
		    EVP_PKEY_verify_init(pc) != 1 ||
		    EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256()) != 1)
			die("raw init");
		if (EVP_Digest(msg, len, h, &hl, EVP_sha256(), NULL) != 1)
			die("digest");
	}
	t0 = now();
	do {
		for (int i = 0; i < 64; i++, n++) {
			if (mc != NULL)
				r = EVP_DigestVerify(mc, c->rawsig, c->rawsig_len,
				    msg, len);
			else
				r = EVP_PKEY_verify(pc, c->rawsig, c->rawsig_len,
				    h, 32);
			if (r != 1)
				die("raw verify");
		}
	} while ((t = now() - t0) < secs);
	EVP_PKEY_CTX_free(pc);
	EVP_MD_CTX_free(mc);
	return (t / (double)n * 1e6);
}

static double
bench_ours(struct bcase *c, const uint8_t *msg, size_t len, double secs)
{
	double t0, t;
	long n = 0;

	t0 = now();
	do {
		for (int i = 0; i < 64; i++, n++)
			if (crypto_verify(c->key, c->alg, msg, len, c->sig,
			    c->sig_len) != 0)
				die("crypto_verify");
	} while ((t = now() - t0) < secs);
	return (t / (double)n * 1e6);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return ((x > y) - (x < y));
}

int
main(int argc, char **argv)
{
	struct bcase cases[3] = {
		{ .name = "RS256 (RSA-2048)", .alg = JWS_ALG_RS256 },
		{ .name = "ES256 (P-256)", .alg = JWS_ALG_ES256 },
		{ .name = "EdDSA (Ed25519)", .alg = JWS_ALG_EDDSA },
	};
	double secs = argc > 1 ? strtod(argv[1], NULL) : 3.0;
	size_t len = argc > 2 ? strtoul(argv[2], NULL, 10) : 32;
	uint8_t *msg;
	int i, round;

	if (secs <= 0 || len == 0 || len > 1 << 20)
		die("arguments");
	if ((msg = malloc(len)) == NULL)
		die("malloc");
	for (size_t j = 0; j < len; j++)
		msg[j] = (uint8_t)('A' + j % 26);
	cases[0].pkey = EVP_RSA_gen(2048);
	cases[1].pkey = EVP_EC_gen("P-256");
	cases[2].pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	for (i = 0; i < 3; i++) {
		if (cases[i].pkey == NULL)
			die("keygen");
		sign_case(&cases[i], msg, len);
		cases[i].key = public_key(cases[i].pkey, cases[i].alg);
	}

	/*
	 * Shared machines are noisy: alternate short runs of both, many
	 * times, and report the median and the minimum of each.
	 */
	printf("message %zu bytes, %d alternating rounds of %.2f s each\n",
	    len, ROUNDS, secs / ROUNDS);
	printf("%-18s %22s %22s %13s\n", "alg", "raw EVP us (med/min)",
	    "crypto_verify (med/min)", "ratio med/min");
	for (i = 0; i < 3; i++) {
		double raw[ROUNDS], ours[ROUNDS];

		for (round = 0; round < ROUNDS; round++) {
			raw[round] = bench_raw(&cases[i], msg, len,
			    secs / ROUNDS);
			ours[round] = bench_ours(&cases[i], msg, len,
			    secs / ROUNDS);
		}
		qsort(raw, ROUNDS, sizeof(double), cmp_double);
		qsort(ours, ROUNDS, sizeof(double), cmp_double);
		printf("%-18s %11.2f/%10.2f %11.2f/%10.2f %6.3f/%6.3f\n",
		    cases[i].name, raw[ROUNDS / 2], raw[0], ours[ROUNDS / 2],
		    ours[0], ours[ROUNDS / 2] / raw[ROUNDS / 2],
		    ours[0] / raw[0]);
	}
	for (i = 0; i < 3; i++) {
		crypto_key_free(cases[i].key);
		EVP_PKEY_free(cases[i].pkey);
	}
	free(msg);
	return (0);
}
