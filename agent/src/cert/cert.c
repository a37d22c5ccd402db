/*
 * cert.c: see cert.h.  Certificate analysis (cert_analyze()) and the checks
 * on an analysed certificate; the folder's shared helpers (cert_int.h).
 * DNs are in cert_dn.c, CA stores in ca_store.c, client_cert rules in
 * cert_rule.c, CRLs in crl.c.
 *
 * A struct cert_info is the public part of a struct cert_obj, which adds
 * the reference count and the two DNs in comparable form.  Everything is
 * computed once, in cert_analyze(); afterwards the object is only read.
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

#include "config-t.h"
#include "crypto.h"
#include "util.h"
#include "cert_int.h"
#include "b64url.h"
#include "cert.h"

/* ---- text ----------------------------------------------------------- */

void
cert_hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* ---- dates ---------------------------------------------------------- */

int
cert_x509_time(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
		ERR_clear_error();
		return (-1);
	}
	/* ASN1_TIME_to_tm() gives UTC; years 0..9999 fit a time_t. */
	*out = (int64_t)timegm(&tm);
	return (0);
}

/* ---- allocation failures -------------------------------------------- */

bool
cert_ossl_nomem(void)
{
	unsigned long e;
	bool nomem = false;

	while ((e = ERR_get_error()) != 0) {
		if (ERR_SYSTEM_ERROR(e) ? ERR_GET_REASON(e) == ENOMEM :
		    ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE)
			nomem = true;
	}
	return (nomem);
}

/* ---- helpers of the folder (cert_int.h) ------------------------------ */

int
cert_serial_key(const ASN1_INTEGER *sn, const uint8_t **p, size_t *len,
    bool *neg)
{
	const uint8_t *d = ASN1_STRING_get0_data(sn);
	size_t n = (size_t)ASN1_STRING_length(sn);

	while (n > 0 && *d == 0) {
		d++;
		n--;
	}
	if (n > CERT_SERIAL_MAX)
		return (-1);
	*p = d;
	*len = n;
	*neg = ASN1_STRING_type(sn) == V_ASN1_NEG_INTEGER;
	return (0);
}

void
cert_set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Never prompt for a PEM pass phrase. */
int
cert_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return (0);
}


/* ---- analysis ------------------------------------------------------- */

static struct cert_obj *
obj_of(const struct cert_info *ci)
{
	/* pub is the first member; the object is mutable, only shared. */
	return ((struct cert_obj *)(uintptr_t)ci);
}

static void
strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
obj_free(struct cert_obj *o)
{
	struct cert_info *ci = &o->pub;

	free(ci->subject);
	free(ci->issuer);
	free(ci->cn);
	free(ci->serial);
	strv_free(ci->dns, ci->ndns);
	strv_free(ci->uris, ci->nuris);
	strv_free(ci->emails, ci->nemails);
	cert_dn_clear(&o->sdn);
	cert_dn_clear(&o->idn);
	free(o);
}

/* Bytes fit for a name: bounded, no NUL nor control character. */
static const char *
name_bytes_ok(const uint8_t *p, size_t n)
{
	if (n > CERT_NAME_MAX)
		return ("name in the certificate too long");
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			return ("control character in a certificate name");
	return (NULL);
}

static char *
dup_bytes(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s != NULL) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return (s);
}

static const char nomem_msg[] = "out of memory";

static const char *
add_san(char ***v, size_t *n, const ASN1_IA5STRING *s, bool *nomem)
{
	const uint8_t *p = ASN1_STRING_get0_data(s);
	size_t len = (size_t)ASN1_STRING_length(s);
	const char *w;
	char **nv;

	if (*n == CERT_SAN_MAX)
		return ("too many subjectAltName entries of one kind");
	if ((w = name_bytes_ok(p, len)) != NULL)
		return (w);
	if ((nv = realloc(*v, (*n + 1) * sizeof(**v))) == NULL) {
		*nomem = true;
		return (nomem_msg);
	}
	*v = nv;
	if ((nv[*n] = dup_bytes(p, len)) == NULL) {
		*nomem = true;
		return (nomem_msg);
	}
	(*n)++;
	return (NULL);
}

static const char *
get_sans(X509 *x, struct cert_info *ci, bool *nomem)
{
	GENERAL_NAMES *gens;
	const char *w = NULL;
	int crit = -1;

	ERR_clear_error();
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	if (gens == NULL) {
		if (crit == -1)
			return (NULL);  /* no SAN extension */
		/* Duplicates and bad encodings were refused before, as
		 * EXFLAG_INVALID (extensions_invalid()); this is a backstop. */
		if (cert_ossl_nomem()) {
			*nomem = true;
			return (nomem_msg);
		}
		return ("malformed subjectAltName");
	}
	for (int i = 0; i < sk_GENERAL_NAME_num(gens) && w == NULL; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		switch (g->type) {
		case GEN_DNS:
			w = add_san(&ci->dns, &ci->ndns, g->d.dNSName, nomem);
			break;
		case GEN_URI:
			w = add_san(&ci->uris, &ci->nuris,
			    g->d.uniformResourceIdentifier, nomem);
			break;
		case GEN_EMAIL:
			w = add_san(&ci->emails, &ci->nemails, g->d.rfc822Name,
			    nomem);
			break;
		default:
			break;
		}
	}
	GENERAL_NAMES_free(gens);
	return (w);
}

static const char *
get_cn(const X509_NAME *subj, struct cert_info *ci, bool *nomem)
{
	unsigned char *u = NULL;
	const char *w;
	int i, n;

	i = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
	if (i < 0)
		return (NULL);
	ERR_clear_error();
	n = ASN1_STRING_to_UTF8(&u,
	    X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i)));
	if (n < 0) {
		if (cert_ossl_nomem()) {
			*nomem = true;
			return (nomem_msg);
		}
		return ("common name is not a string");
	}
	if ((w = name_bytes_ok(u, (size_t)n)) == NULL &&
	    (ci->cn = dup_bytes(u, (size_t)n)) == NULL) {
		*nomem = true;
		w = nomem_msg;
	}
	OPENSSL_free(u);
	return (w);
}

static const char *
get_serial(const X509 *x, struct cert_info *ci, bool *nomem)
{
	const uint8_t *p;
	size_t n, o = 0;
	char hex[2 * CERT_SERIAL_MAX + 2];

	if (cert_serial_key(X509_get0_serialNumber(x), &p, &n,
	    &ci->serial_neg) != 0)
		return ("serial number too long");
	if (n > 0)
		memcpy(ci->serial_bytes, p, n);
	ci->serial_len = n;
	if (ci->serial_neg)
		hex[o++] = '-';
	cert_hex_encode(p, n, hex + o);
	if (n == 0) {
		hex[o] = '0';
		hex[o + 1] = '\0';
	} else if (hex[o] == '0') {
		memmove(hex + o, hex + o + 1, 2 * n);   /* one leading zero */
	}
	if ((ci->serial = strdup(hex)) == NULL) {
		*nomem = true;
		return (nomem_msg);
	}
	return (NULL);
}

/*
 * The index of the CA of ${cas} that signed ${x}, or -1.  *${doubt} is set
 * if some CA was turned down for more than its name: a failed allocation
 * inside X509_check_issued() or X509_verify() can look like such a "no"
 * without a trace in the error queue.
 */
static long
issuer_index(X509 *x, const struct ca_store *cas, bool *doubt)
{
	for (size_t i = 0; i < ca_store_count(cas); i++) {
		X509 *ca = cas->v[i].x;
		EVP_PKEY *k;
		int rc;

		/* Issuer name, AKID/SKID, keyUsage keyCertSign. */
		if ((rc = X509_check_issued(ca, x)) != X509_V_OK) {
			if (rc != X509_V_ERR_SUBJECT_ISSUER_MISMATCH)
				*doubt = true;
			continue;
		}
		if ((k = X509_get0_pubkey(ca)) == NULL || X509_verify(x, k) != 1) {
			*doubt = true;
			continue;
		}
		return ((long)i);
	}
	return (-1);
}

/*
 * Record the CA of ${cas} that signed ${x}.  Return 0, or -1 if the answer
 * may be wrong for lack of memory: an allocation failure was reported, or
 * a CA turned down for more than its name was accepted on a second look.
 */
static int
find_issuer(X509 *x, const struct ca_store *cas, struct cert_info *ci)
{
	bool doubt = false;
	long i;

	ERR_clear_error();
	i = issuer_index(x, cas, &doubt);
	if (cert_ossl_nomem())
		return (-1);
	if (i < 0 && doubt) {
		doubt = false;
		i = issuer_index(x, cas, &doubt);
		ERR_clear_error();
		if (i >= 0)
			return (-1);    /* the first "no" was not the CA's */
	}
	if (i >= 0) {
		ci->has_issuer_sha256 = true;
		memcpy(ci->issuer_sha256, cas->v[i].sha256, 32);
	}
	return (0);
}

/*
 * Whether OpenSSL found the extensions of ${x} (decoded from the ${len}
 * bytes at ${der}) invalid.  An allocation failure while it decodes them
 * looks the same (EXFLAG_INVALID, and its error queue keeps only "invalid
 * certificate"), and a refusal is remembered: so decode the bytes once
 * more and believe it only if the second look agrees; else set *${nomem}.
 */
static bool
extensions_invalid(X509 *x, const uint8_t *der, size_t len, bool *nomem)
{
	const unsigned char *p = der;
	uint32_t flags = X509_get_extension_flags(x);
	X509 *y;

	if ((flags & EXFLAG_INVALID) == 0)
		return (false);
	ERR_clear_error();
	if ((y = d2i_X509(NULL, &p, (long)len)) == NULL ||
	    X509_get_extension_flags(y) != flags)
		*nomem = true;  /* decoded once already: not the bytes */
	X509_free(y);
	ERR_clear_error();
	return (true);
}

const struct cert_info *
cert_analyze_ex(const uint8_t *der, size_t len, const struct ca_store *cas,
    const char **why, bool *temporary)
{
	const unsigned char *p = der;
	unsigned char *re = NULL;
	struct cert_obj *o = NULL;
	struct cert_info *ci;
	const char *w = NULL;
	bool nomem = false, nodigest = false;
	X509 *x = NULL;
	int rl;

	ERR_clear_error();
	if (der == NULL || len == 0) {
		w = "empty certificate";
		goto fail;
	}
	if (len > CERT_DER_MAX) {
		w = "certificate larger than 64 KiB";
		goto fail;
	}
	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL) {
		nomem = cert_ossl_nomem();
		w = "not a DER-encoded X.509 certificate";
		goto fail;
	}
	if ((size_t)(p - der) != len) {
		w = "trailing bytes after the certificate";
		goto fail;
	}
	rl = i2d_X509(x, &re);
	if (rl < 0 || (size_t)rl != len || memcmp(re, der, len) != 0) {
		nomem = rl < 0 && cert_ossl_nomem();
		w = "certificate is not in canonical DER";
		goto fail;
	}
	if (extensions_invalid(x, der, len, &nomem)) {
		w = "invalid certificate extensions";
		goto fail;
	}
	if ((o = calloc(1, sizeof(*o))) == NULL) {
		nomem = true;
		goto fail;
	}
	atomic_init(&o->refs, 1);
	ci = &o->pub;
	if (crypto_sha256(der, len, ci->sha256) != 0 ||
	    crypto_sha1(der, len, ci->sha1) != 0) {
		nodigest = true;        /* says nothing about the certificate */
		w = "digest failed";
		goto fail;
	}
	(void)b64url_encode(ci->sha256, 32, ci->sha256_b64, sizeof(ci->sha256_b64));
	cert_hex_encode(ci->sha256, 32, ci->sha256_hex);
	cert_hex_encode(ci->sha1, 20, ci->sha1_hex);

	if (cert_dn_x509_text_ex(X509_get_subject_name(x), &ci->subject, &nomem) != 0 ||
	    cert_dn_x509_text_ex(X509_get_issuer_name(x), &ci->issuer, &nomem) != 0 ||
	    cert_dn_build(X509_get_subject_name(x), &o->sdn, &nomem) != 0 ||
	    cert_dn_build(X509_get_issuer_name(x), &o->idn, &nomem) != 0) {
		w = "subject or issuer name unprintable or too large";
		goto fail;
	}
	ci->subject_dn = &o->sdn;
	ci->issuer_dn = &o->idn;
	if ((w = get_cn(X509_get_subject_name(x), ci, &nomem)) != NULL ||
	    (w = get_serial(x, ci, &nomem)) != NULL ||
	    (w = get_sans(x, ci, &nomem)) != NULL)
		goto fail;
	if (cert_x509_time(X509_get0_notBefore(x), &ci->not_before) != 0 ||
	    cert_x509_time(X509_get0_notAfter(x), &ci->not_after) != 0) {
		w = "bad validity dates";
		goto fail;
	}
	if (cas != NULL) {
		if (find_issuer(x, cas, ci) != 0) {
			nomem = true;
			goto fail;
		}
		ci->ca_gen = cas->gen;
	}
	OPENSSL_free(re);
	X509_free(x);
	ERR_clear_error();
	return (ci);
fail:
	if (o != NULL)
		obj_free(o);
	OPENSSL_free(re);
	X509_free(x);
	ERR_clear_error();
	if (nomem)
		w = nomem_msg;
	if (why != NULL)
		*why = w;
	if (temporary != NULL)
		*temporary = nomem || nodigest;
	return (NULL);
}

const struct cert_info *
cert_analyze(const uint8_t *der, size_t len, const struct ca_store *cas,
    const char **why)
{
	return (cert_analyze_ex(der, len, cas, why, NULL));
}

const struct cert_info *
cert_info_ref(const struct cert_info *ci)
{
	atomic_fetch_add_explicit(&obj_of(ci)->refs, 1, memory_order_relaxed);
	return (ci);
}

void
cert_info_unref(const struct cert_info *ci)
{
	struct cert_obj *o;

	if (ci == NULL)
		return;
	o = obj_of(ci);
	if (atomic_fetch_sub_explicit(&o->refs, 1, memory_order_acq_rel) != 1)
		return;
	obj_free(o);
}


/* ---- checks on an analysed certificate ------------------------------ */

int
cert_validity(const struct cert_info *ci, int64_t now, uint32_t skew_s)
{
	/* Dates come from ASN1_TIME (years 0..9999): no overflow here. */
	if (now < ci->not_before - (int64_t)skew_s)
		return (-1);
	if (now > ci->not_after + (int64_t)skew_s)
		return (-1);
	return (0);
}

int
cert_x5t_matches(const uint8_t sha256[32], const char *x5t_s256, size_t len)
{
	uint8_t raw[33];

	/* Exactly 43 canonical base64url characters: 32 bytes (b64url_decode
	 * refuses padding, other alphabets and non-zero unused bits). */
	if (x5t_s256 == NULL || len != 43 ||
	    b64url_decode(x5t_s256, len, raw, sizeof(raw)) != 32)
		return (0);
	return (CRYPTO_memcmp(raw, sha256, 32) == 0 ? 1 : 0);
}

int
cert_binding_ok(const struct cert_info *ci, const char *x5t_s256, size_t len)
{
	if (ci == NULL)
		return (0);
	return (cert_x5t_matches(ci->sha256, x5t_s256, len));
}
