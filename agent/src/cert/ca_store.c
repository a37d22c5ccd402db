/*
 * ca_store.c: see cert.h (the client CA store).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto.h"
#include "fileio.h"
#include "util.h"
#include "cert_int.h"
#include "cert.h"

#define CA_STORE_MAX            4096            /* certificates per bundle */
#define CA_FILE_MAX             (16u << 20)     /* bytes of a bundle file */

static atomic_uint_fast64_t ca_store_counter;

struct ca_store *
ca_store_load_mem(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	struct ca_store *cas = NULL;
	BIO *b = NULL;
	X509 *x = NULL;

	if (len > INT_MAX) {
		cert_set_err(err, errlen, "%zu bytes is too large", len);
		goto fail;
	}
	if ((cas = calloc(1, sizeof(*cas))) == NULL ||
	    (b = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		cert_set_err(err, errlen, "out of memory");
		goto fail;
	}
	for (;;) {
		struct ca_ent *v;
		unsigned int mdlen = 0;

		ERR_clear_error();
		x = PEM_read_bio_X509(b, NULL, cert_no_passphrase, NULL);
		if (x == NULL) {
			unsigned long e = ERR_peek_last_error();

			if (ERR_GET_LIB(e) == ERR_LIB_PEM &&
			    ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
				break;  /* end of the bundle */
			cert_set_err(err, errlen,
			    "certificate %zu: bad PEM or DER", cas->n + 1);
			goto fail;
		}
		if (cas->n == CA_STORE_MAX) {
			cert_set_err(err, errlen, "more than %d certificates",
			    CA_STORE_MAX);
			goto fail;
		}
		if (X509_check_ca(x) == 0) {
			cert_set_err(err, errlen,
			    "certificate %zu is not a CA certificate",
			    cas->n + 1);
			goto fail;
		}
		/* Cache extensions and key ids now, before threads share it. */
		(void)X509_get0_subject_key_id(x);
		if (X509_get0_pubkey(x) == NULL) {
			cert_set_err(err, errlen,
			    "certificate %zu: unusable public key", cas->n + 1);
			goto fail;
		}
		v = realloc(cas->v, (cas->n + 1) * sizeof(*cas->v));
		if (v == NULL) {
			cert_set_err(err, errlen, "out of memory");
			goto fail;
		}
		cas->v = v;
		if (X509_digest(x, EVP_sha256(), v[cas->n].sha256, &mdlen) != 1 ||
		    mdlen != 32) {
			cert_set_err(err, errlen, "certificate %zu: digest failed",
			    cas->n + 1);
			goto fail;
		}
		v[cas->n++].x = x;
		x = NULL;
	}
	if (cas->n == 0) {
		cert_set_err(err, errlen, "no certificate found");
		goto fail;
	}
	BIO_free(b);
	ERR_clear_error();
	cas->gen = atomic_fetch_add(&ca_store_counter, 1) + 1;
	return (cas);
fail:
	X509_free(x);
	BIO_free(b);
	ca_store_free(cas);
	ERR_clear_error();
	return (NULL);
}

struct ca_store *
ca_store_load(const char *path, char *err, size_t errlen)
{
	struct ca_store *cas;
	char why[FILEIO_WHY_MAX], sub[256], *buf;
	size_t len;

	if (fileio_read(path, CA_FILE_MAX, &buf, &len, why, sizeof(why)) != 0) {
		cert_set_err(err, errlen, "%s: cannot read: %s", path, why);
		return (NULL);
	}
	cas = ca_store_load_mem((const uint8_t *)buf, len, sub, sizeof(sub));
	if (cas == NULL)
		cert_set_err(err, errlen, "%s: %s", path, sub);
	free(buf);
	return (cas);
}

uint64_t
ca_store_gen(const struct ca_store *cas)
{
	return (cas == NULL ? 0 : cas->gen);
}

size_t
ca_store_count(const struct ca_store *cas)
{
	return (cas == NULL ? 0 : cas->n);
}

const uint8_t *
ca_store_sha256(const struct ca_store *cas, size_t i)
{
	if (cas == NULL || i >= cas->n)
		return (NULL);
	return (cas->v[i].sha256);
}

X509 *
ca_store_cert(const struct ca_store *cas, size_t i)
{
	if (cas == NULL || i >= cas->n)
		return (NULL);
	return (cas->v[i].x);
}

void
ca_store_free(struct ca_store *cas)
{
	if (cas == NULL)
		return;
	for (size_t i = 0; i < cas->n; i++)
		X509_free(cas->v[i].x);
	free(cas->v);
	free(cas);
}

