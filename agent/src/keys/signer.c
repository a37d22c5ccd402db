/*
 * signer.c: see signer.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cjson/cJSON.h>

#include "abuf.h"
#include "b64url.h"
#include "fileio.h"
#include "jwks.h"
#include "util.h"
#include "signer.h"

/* A PEM private key file is small; refuse anything else. */
#define KEY_FILE_MAX	16384
#define NAME_MAX_LEN	128

static const char *const alg_name[] = { "ES256", "EdDSA" };

struct skey {
	EVP_PKEY *pk;
	int64_t created;
	char kid[44];            /* base64url thumbprint */
	char jwk[512];           /* public JWK members, no braces */
};

struct signer {
	atomic_uint refs;
	enum signer_alg alg;
	int64_t next_rotation;
	size_t n;                /* keys[0] signs; newest first */
	struct skey keys[SIGNER_KEYS_MAX];
};

int
signer_alg_parse(const char *s)
{
	if (strcmp(s, "ES256") == 0)
		return (SIGNER_ES256);
	if (strcmp(s, "EdDSA") == 0)
		return (SIGNER_EDDSA);
	return (-1);
}

static void
set_err(char *err, size_t errlen, const char *what, const char *path)
{
	(void)snprintf(err, errlen, "%s%s%s", what, path ? ": " : "",
	    path ? path : "");
}

/* ${n} bytes of the big-endian ${bn} parameter of ${pk} into ${out}. */
static int
bn_out(const EVP_PKEY *pk, const char *name, uint8_t *out, size_t n)
{
	BIGNUM *bn = NULL;
	int rc;

	if (EVP_PKEY_get_bn_param(pk, name, &bn) != 1)
		return (-1);
	rc = BN_bn2binpad(bn, out, (int)n) == (int)n ? 0 : -1;
	BN_free(bn);
	return (rc);
}

/* Fill ${k}'s public JWK members and its kid from its key. */
static int
describe(struct skey *k, enum signer_alg alg)
{
	uint8_t x[32], y[32], tp[32];
	char bx[48], by[48], doc[600];
	const char *why;
	cJSON *j;
	size_t n = sizeof(x);
	int rc;

	if (alg == SIGNER_ES256) {
		if (bn_out(k->pk, OSSL_PKEY_PARAM_EC_PUB_X, x, 32) != 0 ||
		    bn_out(k->pk, OSSL_PKEY_PARAM_EC_PUB_Y, y, 32) != 0)
			return (-1);
		(void)b64url_encode(x, 32, bx, sizeof(bx));
		(void)b64url_encode(y, 32, by, sizeof(by));
		(void)snprintf(k->jwk, sizeof(k->jwk), "\"kty\":\"EC\","
		    "\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"", bx, by);
	} else {
		if (EVP_PKEY_get_raw_public_key(k->pk, x, &n) != 1 || n != 32)
			return (-1);
		(void)b64url_encode(x, 32, bx, sizeof(bx));
		(void)snprintf(k->jwk, sizeof(k->jwk), "\"kty\":\"OKP\","
		    "\"crv\":\"Ed25519\",\"x\":\"%s\"", bx);
	}
	(void)snprintf(doc, sizeof(doc), "{%s}", k->jwk);
	if ((j = cJSON_Parse(doc)) == NULL)
		return (-1);
	rc = jwks_thumbprint(j, tp, &why);
	cJSON_Delete(j);
	if (rc != 0)
		return (-1);
	(void)b64url_encode(tp, 32, k->kid, sizeof(k->kid));
	return (0);
}

/* Read the private key of ${path}; it must be of ${alg}. */
static EVP_PKEY *
read_key(const char *path, enum signer_alg alg)
{
	char why[FILEIO_WHY_MAX];
	char *buf = NULL;
	size_t len;
	BIO *b;
	EVP_PKEY *pk = NULL;

	if (fileio_read(path, KEY_FILE_MAX, &buf, &len, why, sizeof(why)) != 0)
		return (NULL);
	if ((b = BIO_new_mem_buf(buf, (int)len)) != NULL)
		pk = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	OPENSSL_cleanse(buf, len);
	free(buf);
	ERR_clear_error();
	if (pk != NULL && !EVP_PKEY_is_a(pk, alg == SIGNER_ES256 ? "EC" :
	    "ED25519")) {
		EVP_PKEY_free(pk);
		pk = NULL;
	}
	return (pk);
}

/* Write ${pk} to ${dir}/${name} (0600, temporary file, fsync, rename). */
static int
write_key(const char *dir, const char *name, EVP_PKEY *pk)
{
	char tmp[4096], path[4096];
	BIO *b = NULL;
	char *mem;
	long n;
	int fd = -1, rc = -1;

	(void)snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((b = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL) != 1)
		goto out;
	n = BIO_get_mem_data(b, &mem);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		goto out;
	if (write(fd, mem, (size_t)n) != (ssize_t)n || fsync(fd) != 0)
		goto out;
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto out;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0)
		(void)fsync(fd);
	rc = 0;
out:
	if (fd >= 0)
		(void)close(fd);
	if (rc != 0)
		(void)unlink(tmp);
	BIO_free_all(b);
	return (rc);
}

/* Parse "assertion-<time>-<alg>.pem"; its time, or -1. */
static int64_t
name_time(const char *name, enum signer_alg alg)
{
	char suffix[32];
	const char *p = name + sizeof("assertion-") - 1;
	int64_t t = 0;

	if (strncmp(name, "assertion-", sizeof("assertion-") - 1) != 0)
		return (-1);
	for (; *p >= '0' && *p <= '9'; p++) {
		if (t > (INT64_MAX - 9) / 10)
			return (-1);
		t = t * 10 + (*p - '0');
	}
	(void)snprintf(suffix, sizeof(suffix), "-%s.pem", alg_name[alg]);
	return (p > name + sizeof("assertion-") - 1 && strcmp(p, suffix) == 0 ?
	    t : -1);
}

static void
signer_free(struct signer *s)
{
	for (size_t i = 0; i < s->n; i++)
		EVP_PKEY_free(s->keys[i].pk);
	free(s);
}

/* Keep ${k} in ${s}, newest first; the oldest beyond the cap goes. */
static void
keep_key(struct signer *s, struct skey *k)
{
	size_t i = 0;

	while (i < s->n && s->keys[i].created >= k->created)
		i++;
	if (i >= SIGNER_KEYS_MAX) {
		EVP_PKEY_free(k->pk);
		return;
	}
	if (s->n == SIGNER_KEYS_MAX)
		EVP_PKEY_free(s->keys[--s->n].pk);
	memmove(&s->keys[i + 1], &s->keys[i], (s->n - i) * sizeof(*k));
	s->keys[i] = *k;
	s->n++;
}

struct signer *
signer_load(const char *dir, enum signer_alg alg, int64_t now,
    uint32_t rotate_s, uint32_t keep_s, char *err, size_t errlen)
{
	struct signer *s = calloc(1, sizeof(*s));
	char path[4096];
	struct dirent *de;
	DIR *d = NULL;
	int64_t t;

	if (s == NULL) {
		set_err(err, errlen, "out of memory", NULL);
		return (NULL);
	}
	atomic_init(&s->refs, 1);
	s->alg = alg;
	if ((d = opendir(dir)) == NULL) {
		set_err(err, errlen, "cannot open the key directory", dir);
		goto fail;
	}
	while ((de = readdir(d)) != NULL) {
		struct skey k;

		if ((t = name_time(de->d_name, alg)) < 0)
			continue;
		(void)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (t + (int64_t)rotate_s + (int64_t)keep_s < now) {
			(void)unlink(path);     /* past its publication */
			continue;
		}
		memset(&k, 0, sizeof(k));
		k.created = t;
		if ((k.pk = read_key(path, alg)) == NULL ||
		    describe(&k, alg) != 0) {
			EVP_PKEY_free(k.pk);
			set_err(err, errlen, "not a private key of the "
			    "assertion algorithm", path);
			goto fail;
		}
		keep_key(s, &k);
	}
	closedir(d);
	d = NULL;
	if (s->n == 0 || s->keys[0].created + (int64_t)rotate_s <= now) {
		struct skey k;
		char name[NAME_MAX_LEN];

		memset(&k, 0, sizeof(k));
		k.created = now;
		k.pk = alg == SIGNER_ES256 ?
		    EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256") :
		    EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		(void)snprintf(name, sizeof(name), "assertion-%lld-%s.pem",
		    (long long)now, alg_name[alg]);
		if (k.pk == NULL || describe(&k, alg) != 0 ||
		    write_key(dir, name, k.pk) != 0) {
			EVP_PKEY_free(k.pk);
			set_err(err, errlen, "cannot make and save a signing key "
			    "in", dir);
			goto fail;
		}
		keep_key(s, &k);
	}
	s->next_rotation = s->keys[0].created + (int64_t)rotate_s;
	return (s);
fail:
	if (d != NULL)
		closedir(d);
	signer_free(s);
	ERR_clear_error();
	return (NULL);
}

struct signer *
signer_ref(struct signer *s)
{
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	return (s);
}

void
signer_unref(struct signer *s)
{
	if (s != NULL &&
	    atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
		signer_free(s);
}

int64_t
signer_next_rotation(const struct signer *s)
{
	return (s->next_rotation);
}

const char *
signer_kid(const struct signer *s)
{
	return (s->keys[0].kid);
}

/* Sign ${msg} with ${k}: JWS signature bytes (ES256: R || S) in ${sig}. */
static ssize_t
sign_raw(const struct skey *k, enum signer_alg alg, const char *msg,
    size_t len, uint8_t sig[128])
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	uint8_t der[128];
	size_t sl = sizeof(der);
	ssize_t rc = -1;

	if (m == NULL || EVP_DigestSignInit(m, NULL, alg == SIGNER_ES256 ?
	    EVP_sha256() : NULL, NULL, k->pk) != 1 ||
	    EVP_DigestSign(m, der, &sl, (const uint8_t *)msg, len) != 1)
		goto out;
	if (alg == SIGNER_EDDSA) {
		memcpy(sig, der, sl);
		rc = (ssize_t)sl;
	} else {
		const unsigned char *p = der;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)sl);

		if (es != NULL && BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32) ==
		    32 && BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32) == 32)
			rc = 64;
		ECDSA_SIG_free(es);
	}
out:
	EVP_MD_CTX_free(m);
	ERR_clear_error();
	return (rc);
}

ssize_t
signer_sign_jwt(const struct signer *s, const char *claims, size_t len,
    char *out, size_t cap)
{
	const struct skey *k = &s->keys[0];
	char hdr[128];
	uint8_t sig[128];
	size_t n, hl;
	ssize_t sl;
	int w;

	w = snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"kid\":\"%s\","
	    "\"typ\":\"JWT\"}", alg_name[s->alg], k->kid);
	if (w < 0 || (size_t)w >= sizeof(hdr))
		return (-1);
	hl = (size_t)w;
	if (b64url_encoded_len(hl) + b64url_encoded_len(len) +
	    b64url_encoded_len(sizeof(sig)) + 3 > cap)
		return (-1);
	n = b64url_encode((const uint8_t *)hdr, hl, out, cap);
	out[n++] = '.';
	n += b64url_encode((const uint8_t *)claims, len, out + n, cap - n);
	if ((sl = sign_raw(k, s->alg, out, n, sig)) < 0)
		return (-1);
	out[n++] = '.';
	n += b64url_encode(sig, (size_t)sl, out + n, cap - n);
	out[n] = '\0';
	return ((ssize_t)n);
}

void
signer_jwks(const struct signer *s, struct abuf *out)
{
	abuf_printf(out, "{\"keys\":[");
	for (size_t i = 0; i < s->n; i++)
		abuf_printf(out, "%s{%s,\"kid\":\"%s\",\"use\":\"sig\","
		    "\"alg\":\"%s\"}", i ? "," : "", s->keys[i].jwk,
		    s->keys[i].kid, alg_name[s->alg]);
	abuf_printf(out, "]}");
}
