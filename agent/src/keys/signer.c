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
#include <sys/file.h>
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
#include "json_doc.h"
#include "json_strict.h"
#include "jwks.h"
#include "util.h"
#include "signer.h"

/* A PEM private key file is small; refuse anything else. */
#define KEY_FILE_MAX	16384
#define NAME_MAX_LEN	128
#define RSA_BITS	2048
/* Keys read from the directory at most (the rest: an error). */
#define DIR_KEYS_MAX	64

static const char *const alg_name[] = { "ES256", "EdDSA", "RS256" };

struct skey {
	EVP_PKEY *pk;
	int64_t created;
	char kid[44];            /* base64url thumbprint */
	char jwk[640];           /* public JWK members, no braces */
};

struct signer {
	atomic_uint refs;
	enum signer_alg alg;
	int64_t next_load;
	size_t n;                /* keys[], newest first */
	size_t sig;              /* keys[sig] signs */
	struct skey keys[SIGNER_KEYS_MAX];
};

int
signer_alg_parse(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(alg_name); i++)
		if (strcmp(s, alg_name[i]) == 0)
			return ((int)i);
	return (-1);
}

const char *
signer_alg_name(enum signer_alg alg)
{
	return (alg_name[alg]);
}

static void
set_err(char *err, size_t errlen, const char *what, const char *path)
{
	(void)snprintf(err, errlen, "%s%s%s", what, path ? ": " : "",
	    path ? path : "");
}

/* ${n} bytes of the big-endian ${bn} parameter of ${pk} into ${out}
 * (${n} 0: its own length, returned); -1 on failure. */
static int
bn_out(const EVP_PKEY *pk, const char *name, uint8_t *out, size_t n)
{
	BIGNUM *bn = NULL;
	int rc;

	if (EVP_PKEY_get_bn_param(pk, name, &bn) != 1)
		return (-1);
	if (n == 0)
		rc = BN_bn2bin(bn, out);
	else
		rc = BN_bn2binpad(bn, out, (int)n) == (int)n ? (int)n : -1;
	BN_free(bn);
	return (rc);
}

/* The public JWK members of ${pk} (no braces) into ${out}. */
static int
public_jwk(EVP_PKEY *pk, enum signer_alg alg, char *out, size_t cap)
{
	uint8_t a[RSA_BITS / 8], b[32];
	char ba[RSA_BITS / 8 * 4 / 3 + 4], bb[48];
	size_t n = sizeof(b);
	int al, bl, w;

	switch (alg) {
	case SIGNER_ES256:
		if (bn_out(pk, OSSL_PKEY_PARAM_EC_PUB_X, a, 32) < 0 ||
		    bn_out(pk, OSSL_PKEY_PARAM_EC_PUB_Y, b, 32) < 0)
			return (-1);
		(void)b64url_encode(a, 32, ba, sizeof(ba));
		(void)b64url_encode(b, 32, bb, sizeof(bb));
		w = snprintf(out, cap, "\"kty\":\"EC\",\"crv\":\"P-256\","
		    "\"x\":\"%s\",\"y\":\"%s\"", ba, bb);
		break;
	case SIGNER_EDDSA:
		if (EVP_PKEY_get_raw_public_key(pk, b, &n) != 1 || n != 32)
			return (-1);
		(void)b64url_encode(b, 32, bb, sizeof(bb));
		w = snprintf(out, cap, "\"kty\":\"OKP\",\"crv\":\"Ed25519\","
		    "\"x\":\"%s\"", bb);
		break;
	case SIGNER_RS256:
		if (EVP_PKEY_get_bits(pk) != RSA_BITS ||
		    (al = bn_out(pk, OSSL_PKEY_PARAM_RSA_N, a, 0)) <= 0 ||
		    (bl = bn_out(pk, OSSL_PKEY_PARAM_RSA_E, b, 0)) <= 0 ||
		    bl > 8)
			return (-1);
		(void)b64url_encode(a, (size_t)al, ba, sizeof(ba));
		(void)b64url_encode(b, (size_t)bl, bb, sizeof(bb));
		w = snprintf(out, cap, "\"kty\":\"RSA\",\"n\":\"%s\","
		    "\"e\":\"%s\"", ba, bb);
		break;
	default:
		return (-1);
	}
	return (w > 0 && (size_t)w < cap ? 0 : -1);
}

/* Fill ${k}'s public JWK members and its kid (RFC 7638) from its key. */
static int
describe(struct skey *k, enum signer_alg alg)
{
	static const struct json_limits lim = { 2, 16, 1, 0, 0 };
	char doc[sizeof(k->jwk) + 2];
	uint8_t tp[32];
	const char *why;
	cJSON *j;
	int rc, w;

	if (public_jwk(k->pk, alg, k->jwk, sizeof(k->jwk)) != 0)
		return (-1);
	w = snprintf(doc, sizeof(doc), "{%s}", k->jwk);
	if (w < 0 || (size_t)w >= sizeof(doc) ||
	    (j = json_doc_parse(doc, (size_t)w, &lim, NULL)) == NULL)
		return (-1);
	rc = jwks_thumbprint(j, tp, &why);
	cJSON_Delete(j);
	if (rc != 0)
		return (-1);
	(void)b64url_encode(tp, 32, k->kid, sizeof(k->kid));
	return (0);
}

static bool
key_is(const EVP_PKEY *pk, enum signer_alg alg)
{
	static const char *const type[] = { "EC", "ED25519", "RSA" };

	if (!EVP_PKEY_is_a(pk, type[alg]))
		return (false);
	if (alg == SIGNER_RS256)
		return (EVP_PKEY_get_bits(pk) == RSA_BITS);
	if (alg == SIGNER_ES256) {
		char grp[32];

		return (EVP_PKEY_get_utf8_string_param(pk,
		    OSSL_PKEY_PARAM_GROUP_NAME, grp, sizeof(grp), NULL) == 1 &&
		    strcmp(grp, "prime256v1") == 0);
	}
	return (true);
}

/*
 * Read the private key of ${path}: only the agent may read it, and it
 * must be a key of ${alg}.  NULL with the reason in ${err}.
 */
static EVP_PKEY *
read_key(const char *path, enum signer_alg alg, char *err, size_t errlen)
{
	char why[FILEIO_WHY_MAX];
	char *buf = NULL;
	size_t len;
	BIO *b;
	EVP_PKEY *pk = NULL;

	if (fileio_read_private(path, KEY_FILE_MAX, &buf, &len, why,
	    sizeof(why)) != 0) {
		(void)snprintf(err, errlen, "assertion key %s: %s", path, why);
		return (NULL);
	}
	if ((b = BIO_new_mem_buf(buf, (int)len)) != NULL)
		pk = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	OPENSSL_cleanse(buf, len);
	free(buf);
	ERR_clear_error();
	if (pk != NULL && !key_is(pk, alg)) {
		EVP_PKEY_free(pk);
		pk = NULL;
	}
	if (pk == NULL)
		(void)snprintf(err, errlen, "assertion key %s: not a private "
		    "key of the assertion algorithm (%s)", path, alg_name[alg]);
	return (pk);
}

/* Write ${pk} to ${dir}/${name}: a new temporary file made 0600 (never
 * an existing one, never through a link), fsync, rename, fsync of the
 * directory. */
static int
write_key(const char *dir, const char *name, EVP_PKEY *pk)
{
	char tmp[4096], path[4096];
	BIO *b = NULL;
	char *mem = NULL;
	long n = 0;
	int fd = -1, rc = -1, w;

	w = snprintf(tmp, sizeof(tmp), "%s/.%s.%ld.tmp", dir, name,
	    (long)getpid());
	if (w < 0 || (size_t)w >= sizeof(tmp))
		return (-1);
	w = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (w < 0 || (size_t)w >= sizeof(path))
		return (-1);
	(void)unlink(tmp);      /* our own leftover, if any */
	if ((b = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL) != 1)
		goto out;
	n = BIO_get_mem_data(b, &mem);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) < 0)
		goto out;
	if (n <= 0 || write(fd, mem, (size_t)n) != (ssize_t)n || fsync(fd) != 0)
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
	if (b != NULL && (n = BIO_get_mem_data(b, &mem)) > 0)
		OPENSSL_cleanse(mem, (size_t)n);        /* the PEM text */
	BIO_free_all(b);
	return (rc);
}

/* Parse "assertion-<time>-<alg>.pem"; its time, or -1. */
static int64_t
name_time(const char *name, enum signer_alg alg)
{
	static const char pre[] = "assertion-";
	char suffix[32];
	const char *p = name + sizeof(pre) - 1;
	int64_t t = 0;

	if (strlen(name) < sizeof(pre) - 1 ||
	    memcmp(name, pre, sizeof(pre) - 1) != 0)
		return (-1);
	for (; *p >= '0' && *p <= '9'; p++) {
		if (t > (INT64_MAX - 9) / 10)
			return (-1);
		t = t * 10 + (*p - '0');
	}
	(void)snprintf(suffix, sizeof(suffix), "-%s.pem", alg_name[alg]);
	return (p > name + sizeof(pre) - 1 && strcmp(p, suffix) == 0 ? t : -1);
}

static void
skey_clear(struct skey *k)
{
	EVP_PKEY_free(k->pk);
	k->pk = NULL;
}

static void
signer_free(struct signer *s)
{
	for (size_t i = 0; i < s->n; i++)
		skey_clear(&s->keys[i]);
	free(s);
}

/* Newest first. */
static int
by_created_desc(const void *a, const void *b)
{
	const struct skey *x = a, *y = b;

	return (x->created < y->created ? 1 : x->created > y->created ? -1 : 0);
}

static EVP_PKEY *
keygen(enum signer_alg alg)
{
	switch (alg) {
	case SIGNER_ES256:
		return (EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"));
	case SIGNER_EDDSA:
		return (EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"));
	case SIGNER_RS256:
		return (EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)RSA_BITS));
	}
	return (NULL);
}

/* Make a key created at ${now}, write it to ${dir}, describe it. */
static int
make_key(const char *dir, enum signer_alg alg, int64_t now, struct skey *k)
{
	char name[NAME_MAX_LEN];

	memset(k, 0, sizeof(*k));
	k->created = now;
	(void)snprintf(name, sizeof(name), "assertion-%lld-%s.pem",
	    (long long)now, alg_name[alg]);
	if ((k->pk = keygen(alg)) == NULL || describe(k, alg) != 0 ||
	    write_key(dir, name, k->pk) != 0) {
		skey_clear(k);
		return (-1);
	}
	return (0);
}

/* Read every key of ${alg} in ${dir} into ${v} (at most DIR_KEYS_MAX);
 * unreadable ones are an error. */
static int
read_dir(const char *dir, enum signer_alg alg, struct skey *v, size_t *n,
    char *err, size_t errlen)
{
	char path[4096];
	struct dirent *de;
	DIR *d;
	int64_t t;
	int rc = 0;

	*n = 0;
	if ((d = opendir(dir)) == NULL) {
		set_err(err, errlen, "cannot open the key directory", dir);
		return (-1);
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		struct skey *k = &v[*n];

		if ((t = name_time(de->d_name, alg)) < 0)
			continue;
		if (*n == DIR_KEYS_MAX) {
			set_err(err, errlen, "too many assertion keys in", dir);
			rc = -1;
			break;
		}
		(void)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		memset(k, 0, sizeof(*k));
		k->created = t;
		if ((k->pk = read_key(path, alg, err, errlen)) == NULL) {
			rc = -1;
		} else if (describe(k, alg) != 0) {
			set_err(err, errlen, "cannot describe the key", path);
			skey_clear(k);
			rc = -1;
		} else {
			(*n)++;
		}
	}
	closedir(d);
	return (rc);
}

static void
unlink_key(const char *dir, const struct skey *k, enum signer_alg alg)
{
	char path[4096];

	(void)snprintf(path, sizeof(path), "%s/assertion-%lld-%s.pem", dir,
	    (long long)k->created, alg_name[alg]);
	(void)unlink(path);
}

static int64_t
min64(int64_t a, int64_t b)
{
	return (a < b ? a : b);
}

struct signer *
signer_load(const char *dir, const struct signer_policy *pol, int64_t now,
    bool *made, char *err, size_t errlen)
{
	struct skey *v = NULL;
	struct signer *s = NULL;
	size_t n = 0, i, keep;
	int64_t next;
	int dfd = -1;

	if (made != NULL)
		*made = false;
	if (pol->rotate_s == 0 || (unsigned)pol->alg >= ARRAY_SIZE(alg_name)) {
		set_err(err, errlen, "bad key policy", NULL);
		return (NULL);
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (v = calloc(DIR_KEYS_MAX + 1, sizeof(*v))) == NULL) {
		set_err(err, errlen, "out of memory", NULL);
		goto fail;
	}
	atomic_init(&s->refs, 1);
	s->alg = pol->alg;
	/* One process at a time reads, makes and removes keys. */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    flock(dfd, LOCK_EX) != 0) {
		set_err(err, errlen, "cannot open and lock the key directory",
		    dir);
		goto fail;
	}
	if (read_dir(dir, pol->alg, v, &n, err, errlen) != 0)
		goto fail;
	qsort(v, n, sizeof(*v), by_created_desc);
	if (n == 0 || v[0].created + (int64_t)pol->rotate_s <= now) {
		memmove(&v[1], &v[0], n * sizeof(*v));
		if (make_key(dir, pol->alg, now, &v[0]) != 0) {
			memmove(&v[0], &v[1], n * sizeof(*v));
			set_err(err, errlen, "cannot make and save a signing key "
			    "in", dir);
			goto fail;
		}
		n++;
		if (made != NULL)
			*made = true;
	}
	/* The newest key published ahead_s ago signs; none yet (a new
	 * directory, or keys made ahead by another process only): the
	 * oldest. */
	for (i = 0; i < n && v[i].created + (int64_t)pol->ahead_s > now; i++)
		;
	s->sig = i < n ? i : n - 1;
	/* Keys older than the signing one stopped signing when the next
	 * newer one started: published keep_s more, then removed. */
	next = v[0].created + (int64_t)pol->rotate_s;
	for (i = 0; i < s->sig; i++)
		next = min64(next, v[i].created + (int64_t)pol->ahead_s);
	keep = n;
	for (i = s->sig + 1; i < n; i++) {
		int64_t end = v[i - 1].created + (int64_t)pol->ahead_s +
		    (int64_t)pol->keep_s;

		if (end <= now) {
			keep = i;
			break;
		}
		next = min64(next, end);
	}
	for (i = keep; i < n; i++) {
		unlink_key(dir, &v[i], pol->alg);
		skey_clear(&v[i]);
	}
	n = keep;
	/* More than can be published (a config allowing it is refused):
	 * the oldest are left out, not removed. */
	for (i = SIGNER_KEYS_MAX; i < n; i++)
		skey_clear(&v[i]);
	if (n > SIGNER_KEYS_MAX)
		n = SIGNER_KEYS_MAX;
	if (s->sig >= n)
		s->sig = n - 1;
	memcpy(s->keys, v, n * sizeof(*v));
	s->n = n;
	s->next_load = next > now ? next : now + 1;
	(void)close(dfd);       /* releases the lock */
	free(v);
	return (s);
fail:
	if (dfd >= 0)
		(void)close(dfd);
	for (i = 0; v != NULL && i < n; i++)
		skey_clear(&v[i]);
	free(v);
	free(s);
	ERR_clear_error();
	return (NULL);
}

int
signer_check(const char *dir, enum signer_alg alg, char *err, size_t errlen)
{
	struct skey *v = calloc(DIR_KEYS_MAX + 1, sizeof(*v));
	struct stat st;
	size_t n = 0;
	int rc;

	if (v == NULL) {
		set_err(err, errlen, "out of memory", NULL);
		return (-1);
	}
	rc = stat(dir, &st) != 0 && errno == ENOENT ? 0 :
	    read_dir(dir, alg, v, &n, err, errlen);
	for (size_t i = 0; i < n; i++)
		skey_clear(&v[i]);
	free(v);
	ERR_clear_error();
	return (rc);
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
signer_next_load(const struct signer *s)
{
	return (s->next_load);
}

enum signer_alg
signer_alg(const struct signer *s)
{
	return (s->alg);
}

const char *
signer_kid(const struct signer *s)
{
	return (s->keys[s->sig].kid);
}

size_t
signer_nkeys(const struct signer *s)
{
	return (s->n);
}

bool
signer_publishes(const struct signer *s, const char *kid)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->keys[i].kid, kid) == 0)
			return (true);
	return (false);
}

/* Sign ${msg} with ${k}: the JWS signature bytes (ES256: R || S). */
static ssize_t
sign_raw(const struct skey *k, enum signer_alg alg, const char *msg,
    size_t len, uint8_t *sig, size_t cap)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	uint8_t der[RSA_BITS / 8 + 16];
	size_t sl = sizeof(der);
	ssize_t rc = -1;

	if (m == NULL || EVP_DigestSignInit(m, NULL, alg == SIGNER_EDDSA ?
	    NULL : EVP_sha256(), NULL, k->pk) != 1 ||
	    EVP_DigestSign(m, der, &sl, (const uint8_t *)msg, len) != 1)
		goto out;
	if (alg != SIGNER_ES256) {
		if (sl <= cap) {
			memcpy(sig, der, sl);
			rc = (ssize_t)sl;
		}
	} else {
		const unsigned char *p = der;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)sl);

		if (es != NULL && cap >= 64 &&
		    BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32) == 32 &&
		    BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32) == 32)
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
	const struct skey *k = &s->keys[s->sig];
	char hdr[128];
	uint8_t sig[RSA_BITS / 8];
	size_t n, hl;
	ssize_t sl;
	int w;

	w = snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"kid\":\"%s\","
	    "\"typ\":\"JWT\"}", alg_name[s->alg], k->kid);
	if (w < 0 || (size_t)w >= sizeof(hdr))
		return (-1);
	hl = (size_t)w;
	if (len > cap || b64url_encoded_len(hl) + b64url_encoded_len(len) +
	    b64url_encoded_len(sizeof(sig)) + 3 > cap)
		return (-1);
	n = b64url_encode((const uint8_t *)hdr, hl, out, cap);
	out[n++] = '.';
	n += b64url_encode((const uint8_t *)claims, len, out + n, cap - n);
	if ((sl = sign_raw(k, s->alg, out, n, sig, sizeof(sig))) < 0)
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
	for (size_t j = 0; j < s->n; j++) {
		/* The signing key first: verifiers that try keys in order. */
		size_t i = j == 0 ? s->sig : j <= s->sig ? j - 1 : j;

		abuf_printf(out, "%s{%s,\"kid\":\"%s\",\"use\":\"sig\","
		    "\"alg\":\"%s\"}", j ? "," : "", s->keys[i].jwk,
		    s->keys[i].kid, alg_name[s->alg]);
	}
	abuf_printf(out, "]}");
}
