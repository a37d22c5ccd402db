/*
 * fuzz_rsa_pkcs1.c: every RS256/384/512 signature goes through OpenSSL's
 * EVP_PKEY_verify, on a verify context that crypto.c prepares once per key
 * and algorithm and that each thread then re-uses for every verification
 * (crypto.c "thread_vctx").  This target holds that re-used context to the
 * answers of a fresh context built here for each call, and both to the
 * one correct encoding: whatever a previous verification (valid, invalid,
 * wrong length, another algorithm) left in the re-used context must not
 * change the next answer.
 *
 * Input: one byte choosing the algorithm and the mode, then bytes.
 *  - mode "encoded message": the bytes (left-padded or cut to the modulus
 *    length) are an EMSA-PKCS1-v1_5 candidate EM; it is raised to the
 *    private exponent here (a raw RSA private operation), so the verifiers
 *    see a signature whose public operation yields exactly that EM.  The
 *    corpus holds the correct encodings of the fixed message's digests, so
 *    mutations explore padding, DigestInfo and digest variants (the
 *    Bleichenbacher-style forgeries a lax parser would accept).
 *  - mode "raw signature": the bytes are the signature itself (values
 *    above the modulus, wrong lengths).
 * Invariants: crypto_verify() == a fresh EVP_PKEY_verify; in mode
 * "encoded message" a valid answer if and only if EM is the encoding
 * RFC 8017 §9.2 gives (built here from the digest, independently).
 *
 * The key is a throwaway RSA-2048 test key made for this target only.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define K	256

static const char test_key[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCsuJheyKmxL+En\n"
    "GqjY7JxuflafDy9DA8XYi0Du4df6foE2QHPanitzFfYfAglkIYM5Z5JlfG0lysm4\n"
    "cxhVlM+ju1DFoMGfSreN2Hhg1uu9D7mYQAQcpr6LZGMoT3iFnGw7nHJ/c7w+0Wz/\n"
    "dJJwbFrAccXVOiEBaF2O1apWu6/Ov0LLoFTvrIU1tVg09f9LA8NLsp25deEy0lOg\n"
    "ZhF2allR3TD79FidUu7aZ8aH7q7iLnHwIe1Ap8ctzfiaDca74rLq6Wyan58TETUR\n"
    "J44K0YF9UW1S1ol5vpd+w3HARCGoOOOllVwQXecivZh9SrNqijHtcKWSKiG9uZKJ\n"
    "bZX4Xvq7AgMBAAECggEACF8gH4P5WZm4/4S2x2Dciix8dVQulcByj/bb7Fgs+Dq2\n"
    "d5MzKlb9QyQ+3CzkmKJZMmiXO20G+0xzb4nAlbFTSRvUo+eRSu+7qtfhqcvw/CZt\n"
    "d/guWtcoKChy9+q2LD+zLUZ9dDj/WEodTtpvGJzf3zEEhju9isxssHYhvfd1437k\n"
    "Pj9WXMeSjfpx/LlEM2EFiDNM0UpeOpMp8z75M6lfSRgWze1AMJR82rsokNWxij16\n"
    "VjCvV7pF+LWA+dcEQgXfDY6YZuTF5+8/gGmLg931nMn5ZCg1s+TPJcuCociOJYPM\n"
    "8B//nq3iyLRbwT6+a9Fww7OyvdKV+RfB/yD7aDTCIQKBgQDl7gQG9aAruaYIBfyp\n"
    "z9TupLPqhkq9pZSvNnbwfV4pXLDSgb1LtZHnEPRFI2pdWzT3B5/Iol4haaFCj/PY\n"
    "OBfCRioktQCJFrfNhuQbQX600riIAi+FAWHaeyX+7Ngyvz0OMvxVDNIwPTrtwQDf\n"
    "btS3xVwpjsPCfLDervWii8+F2wKBgQDATgeakeN2abmlmOQ5la4DA9mqplwOe0cH\n"
    "d+xFoZl4FxKB2x9OhUv53gBGhVZPhI4qdsqh/GjcXmOemY4tdDAToE19DFTqz+Py\n"
    "bV4W/9iLFby0TfwX7Lxlw9qp96Hvd/U6ov+Pj/oB4USS/iwd1zZBnCKiArqRFfBl\n"
    "m5vPtOskoQKBgBPtfQvdXfRsMqefXTaafKnyPGWnHfMx1qEY51YQh4iuL+UOuYlG\n"
    "Q07zeThEyYMt1HlUf9SzvdTHguJx94BV3DlKO3zS8yjufx+hAUQbeQ/S84tWJSgx\n"
    "5nk5EyH1BQfg6zm/0X7NjaoApIrWn2y9/lGvGT3A0daZV/r0zvU3iNThAoGBAIr2\n"
    "V+xMS/B/idWuXA14qhwnphz4xkD4uGUfNa9DjWEIWylXLJJTJInU8KIFLE+d3BW3\n"
    "bcoMWcIUuywajnEuKqekCRq51Isx2uiOO5WnH9WxyYEJcYfgXGu1UcfM2Enxh1Xt\n"
    "/3rAccr1+9W0sjCGGgDjUOt9yU+aaPMjtT4s4FbBAoGBALYtPEfkOIdCpQMUMFio\n"
    "5jfgLj6VNWI+N+jPxOjp5GqOlJqJgPvzeDRFAOnL4nFE4KQtAy8rSWz1lA4IIOiO\n"
    "C55pB87O5FGiyhqzeVVqf33oxii5te9+o3VCSOslOc8TAHw3hQ7pYhfUMv6VehhQ\n"
    "j/5DUCkeZ8wpZewdmeZrtts+\n"
    "-----END PRIVATE KEY-----\n"
    ;

static const uint8_t msg[] = "spoa-iam fuzz_rsa_pkcs1";

static EVP_PKEY *priv;
static struct crypto_key *pub;

static const enum jws_alg algs[3] = {
	JWS_ALG_RS256, JWS_ALG_RS384, JWS_ALG_RS512,
};

static const char *const md_name[3] = { "SHA256", "SHA384", "SHA512" };

/* The verdict of a fresh EVP_PKEY_verify context: 0 valid, -1 not. */
static int
fresh_verify(int i, const uint8_t *sig, size_t sl)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(priv, NULL);
	uint8_t h[64];
	unsigned int hl = 0;
	int ok;

	if (c == NULL || EVP_Digest(msg, sizeof(msg) - 1, h, &hl,
	    EVP_get_digestbyname(md_name[i]), NULL) != 1)
		abort();
	ok = EVP_PKEY_verify_init(c) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(c,
	    EVP_get_digestbyname(md_name[i])) == 1 &&
	    EVP_PKEY_verify(c, sig, sl, h, hl) == 1;
	EVP_PKEY_CTX_free(c);
	return (ok ? 0 : -1);
}

/*
 * The one EMSA-PKCS1-v1_5 encoding of msg's digest for algs[${i}] (RFC
 * 8017 §9.2: 00 01 ff..ff 00 DigestInfo H), into ${em}.
 */
static void
expected_em(int i, uint8_t em[K])
{
	static const uint8_t di[3][19] = {
		{ 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
		  0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20 },
		{ 0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
		  0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30 },
		{ 0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
		  0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40 },
	};
	size_t hl = 32 + 16 * (size_t)i, tl = sizeof(di[0]) + hl;
	unsigned int ol = 0;

	em[0] = 0x00;
	em[1] = 0x01;
	memset(em + 2, 0xff, K - tl - 3);
	em[K - tl - 1] = 0x00;
	memcpy(em + K - tl, di[i], sizeof(di[0]));
	if (EVP_Digest(msg, sizeof(msg) - 1, em + K - hl, &ol,
	    EVP_get_digestbyname(md_name[i]), NULL) != 1 || ol != hl)
		abort();
}

/* Sign msg with algs[${i}] through OpenSSL; 0 if both verifiers accept. */
static int
sign_ok(int i)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	uint8_t sig[K];
	size_t sl = K;
	int ok;

	if (m == NULL)
		abort();
	ok = EVP_DigestSignInit_ex(m, NULL, md_name[i], NULL, NULL, priv, NULL) == 1
	    && EVP_DigestSign(m, sig, &sl, msg, sizeof(msg) - 1) == 1 &&
	    sl == K && crypto_verify(pub, algs[i], msg, sizeof(msg) - 1, sig,
	    sl) == 0 && fresh_verify(i, sig, sl) == 0;
	EVP_MD_CTX_free(m);
	return (ok ? 0 : -1);
}

static void
setup(void)
{
	BIO *bio;
	char *pem = NULL;
	long len;
	const char *why;

	if ((bio = BIO_new_mem_buf(test_key, -1)) == NULL ||
	    (priv = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL)
		abort();
	BIO_free(bio);
	if ((bio = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PUBKEY(bio, priv) != 1 ||
	    (len = BIO_get_mem_data(bio, &pem)) <= 0 ||
	    (pub = crypto_key_from_pem(pem, (size_t)len, &why)) == NULL)
		abort();
	BIO_free(bio);
	/* Both roads accept what OpenSSL signs, or this target proves nothing. */
	for (int i = 0; i < 3; i++)
		if (sign_ok(i) != 0)
			abort();
}

/* sig = em^d mod n; -1 if em >= n. */
static int
raw_private(const uint8_t em[K], uint8_t sig[K])
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(priv, NULL);
	size_t sl = K;
	int ok;

	if (c == NULL)
		abort();
	ok = EVP_PKEY_sign_init(c) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(c, RSA_NO_PADDING) == 1 &&
	    EVP_PKEY_sign(c, sig, &sl, em, K) == 1 && sl == K;
	EVP_PKEY_CTX_free(c);
	return (ok ? 0 : -1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t em[K], want[K], sig[K];
	const uint8_t *sp = sig;
	size_t sl = K;
	int i, reused, fresh, raw;

	if (pub == NULL)
		setup();
	if (size < 1)
		return (0);
	i = (data[0] & 0x7f) % 3;
	raw = (data[0] & 0x80) != 0;
	data++;
	size--;
	if (!raw) {
		/* Encoded message: right-aligned in K bytes. */
		memset(em, 0, K);
		if (size > K) {
			data += size - K;
			size = K;
		}
		memcpy(em + K - size, data, size);
		if (raw_private(em, sig) != 0)
			return (0);	/* em >= n */
	} else {
		sp = data;
		sl = size;
	}
	reused = crypto_verify(pub, algs[i], msg, sizeof(msg) - 1, sp, sl);
	fresh = fresh_verify(i, sp, sl);
	if (reused != fresh)
		abort();
	if (!raw) {
		expected_em(i, want);
		if ((reused == 0) != (memcmp(em, want, K) == 0))
			abort();
	}
	return (0);
}
