/*
 * cert.c: see cert.h.
 *
 * A struct cert_info is the public part of a struct cert_obj, which adds
 * the reference count and the two DNs in comparable form.  Everything is
 * computed once, in cert_analyze(); afterwards the object is only read.
 *
 * DN comparison mirrors OpenSSL's canonical form (x_name.c,
 * asn1_string_canon, what X509_NAME_cmp compares): per attribute, the value
 * converted to UTF-8, leading and trailing whitespace dropped, inner runs
 * of whitespace collapsed to one space, ASCII lowercased.  The certificate
 * side is canonicalised at analysis time; a configured DN string is parsed,
 * its types resolved and its values canonicalised once, by
 * cert_dn_compile() when the configuration is loaded.  On the request path
 * (cert_rule_match) a DN rule is only compared: no parsing, no OpenSSL
 * call, no allocation.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
#include "fileio.h"
#include "util.h"
#include "cert_int.h"
#include "b64url.h"
#include "cert.h"

#define CA_STORE_MAX            4096            /* certificates per bundle */
#define CA_FILE_MAX             (16u << 20)     /* bytes of a bundle file */
#define DN_TYPE_MAX             128             /* bytes of a type in text */

static const char dn_too_long[] = "values longer than 4096 bytes in all";

struct cert_dn_ent {
	int nid;                /* NID_undef if OpenSSL does not know it */
	char *oid;              /* dotted OID, only when nid is NID_undef */
	int set;                /* RDN index, DER order */
	uint8_t *canon;         /* NULL: not a string type, never matches */
	size_t canon_len;
};

struct cert_dn {
	struct cert_dn_ent *e;  /* DER order, so sets are non-decreasing */
	size_t n;
	int nrdn;
};

struct cert_obj {
	struct cert_info pub;   /* first: a cert_info pointer converts back */
	atomic_uint refs;
	struct cert_dn sdn, idn;
};

struct ca_ent {
	X509 *x;
	uint8_t sha256[32];
};

struct ca_store {
	struct ca_ent *v;
	size_t n;
	uint64_t gen;
};

static atomic_uint_fast64_t ca_store_counter;

/* ---- text helpers --------------------------------------------------- */

static void
hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* OpenSSL's ossl_isspace(): the C locale's space characters. */
static bool
is_space(unsigned char ch)
{
	return (ch == ' ' || (ch >= '\t' && ch <= '\r'));
}

/* NUL-terminated ${a} and ${b} equal ignoring ASCII case. */
static bool
eq_ascii_nocase(const char *a, const char *b)
{
	size_t n = strlen(a);

	return (strlen(b) == n && util_mem_caseeq(a, b, n));
}

/*
 * The canonical form of a DN value (asn1_string_canon): trim whitespace,
 * collapse inner runs to one space, lowercase ASCII.  ${out} holds ${len}
 * bytes; return the length written.
 */
static size_t
dn_canon(const uint8_t *in, size_t len, uint8_t *out)
{
	size_t i = 0, o = 0;

	while (len > 0 && is_space(in[0])) {
		in++;
		len--;
	}
	while (len > 0 && is_space(in[len - 1]))
		len--;
	while (i < len) {
		if (in[i] >= 0x80) {
			out[o++] = in[i++];
		} else if (is_space(in[i])) {
			out[o++] = ' ';
			while (i < len && is_space(in[i]))
				i++;
		} else {
			out[o++] = (unsigned char)util_ascii_lower((char)in[i++]);
		}
	}
	return (o);
}

/* ---- dates ---------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (era * 146097 + (int64_t)doe - 719468);
}

int
cert_x509_time(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
		ERR_clear_error();
		return (-1);
	}
	*out = days_from_civil((int64_t)tm.tm_year + 1900,
	    (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday) * 86400 +
	    (int64_t)tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
	return (0);
}

/* ---- allocation failures -------------------------------------------- */

/*
 * Whether OpenSSL's error queue holds an allocation failure (its own
 * ERR_R_MALLOC_FAILURE, or ENOMEM); empties the queue.  Called after an
 * OpenSSL call failed, to tell "out of memory" from "bad certificate".
 */
static bool
ossl_nomem(void)
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

/* ---- names ---------------------------------------------------------- */

/* cert_x509_name_text(), and *${nomem} set if it failed for lack of memory. */
static int
name_text(const X509_NAME *name, char **out, bool *nomem)
{
	BIO *b;
	char *p;
	long n;
	int ret = -1;

	*out = NULL;
	ERR_clear_error();
	if ((b = BIO_new(BIO_s_mem())) == NULL) {
		*nomem = true;
		goto out;
	}
	if (X509_NAME_print_ex(b, name, 0,
	    XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0) {
		*nomem = ossl_nomem();
		goto out;
	}
	n = BIO_get_mem_data(b, &p);
	if (n < 0 || n > CERT_DN_TEXT_MAX || memchr(p, '\0', (size_t)n) != NULL)
		goto out;
	if ((*out = malloc((size_t)n + 1)) == NULL) {
		*nomem = true;
		goto out;
	}
	memcpy(*out, p, (size_t)n);
	(*out)[n] = '\0';
	ret = 0;
out:
	BIO_free(b);
	ERR_clear_error();
	return (ret);
}

int
cert_x509_name_text(const X509_NAME *name, char **out)
{
	bool nomem = false;

	return (name_text(name, out, &nomem));
}

static void
dn_clear(struct cert_dn *dn)
{
	for (size_t i = 0; i < dn->n; i++) {
		free(dn->e[i].oid);
		free(dn->e[i].canon);
	}
	free(dn->e);
	memset(dn, 0, sizeof(*dn));
}

/*
 * ${name} in comparable form.  Return 0, or -1 (a bound exceeded, or an
 * allocation failure: then *${nomem} is set).
 */
static int
dn_build(const X509_NAME *name, struct cert_dn *dn, bool *nomem)
{
	int n = X509_NAME_entry_count(name);

	if (n < 0 || n > CERT_DN_ENTRIES_MAX)
		return (-1);
	ERR_clear_error();
	if ((dn->e = calloc(n > 0 ? (size_t)n : 1, sizeof(*dn->e))) == NULL) {
		*nomem = true;
		return (-1);
	}
	for (int i = 0; i < n; i++) {
		const X509_NAME_ENTRY *ne = X509_NAME_get_entry(name, i);
		struct cert_dn_ent *e = &dn->e[i];
		unsigned char *u = NULL;
		char oid[128];
		int ul;

		dn->n++;
		e->set = X509_NAME_ENTRY_set(ne);
		if (e->set < 0 || (i > 0 && e->set < dn->e[i - 1].set) ||
		    e->set >= CERT_DN_ENTRIES_MAX)
			return (-1);
		e->nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(ne));
		if (e->nid == NID_undef) {
			ul = OBJ_obj2txt(oid, sizeof(oid),
			    X509_NAME_ENTRY_get_object(ne), 1);
			if (ul <= 0) {
				*nomem = ossl_nomem();
				return (-1);
			}
			if ((size_t)ul >= sizeof(oid))
				return (-1);
			if ((e->oid = strdup(oid)) == NULL) {
				*nomem = true;
				return (-1);
			}
		}
		ul = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(ne));
		if (ul < 0) {
			if (ossl_nomem()) {
				*nomem = true;
				return (-1);
			}
			continue;       /* not a string: never matches */
		}
		e->canon = malloc(ul > 0 ? (size_t)ul : 1);
		if (e->canon == NULL) {
			OPENSSL_free(u);
			*nomem = true;
			return (-1);
		}
		e->canon_len = dn_canon(u, (size_t)ul, e->canon);
		OPENSSL_free(u);
	}
	dn->nrdn = n > 0 ? dn->e[n - 1].set + 1 : 0;
	return (0);
}

/* Attribute type names users write, case-insensitively (RFC 4514 and the
 * Windows/APIM spellings). */
static const struct {
	const char *name;
	int nid;
} dn_types[] = {
	{ "CN", NID_commonName }, { "commonName", NID_commonName },
	{ "C", NID_countryName }, { "countryName", NID_countryName },
	{ "L", NID_localityName }, { "localityName", NID_localityName },
	{ "ST", NID_stateOrProvinceName }, { "S", NID_stateOrProvinceName },
	{ "stateOrProvinceName", NID_stateOrProvinceName },
	{ "O", NID_organizationName },
	{ "organizationName", NID_organizationName },
	{ "OU", NID_organizationalUnitName },
	{ "organizationalUnitName", NID_organizationalUnitName },
	{ "STREET", NID_streetAddress }, { "streetAddress", NID_streetAddress },
	{ "DC", NID_domainComponent }, { "domainComponent", NID_domainComponent },
	{ "UID", NID_userId }, { "userId", NID_userId },
	{ "E", NID_pkcs9_emailAddress }, { "EMAIL", NID_pkcs9_emailAddress },
	{ "emailAddress", NID_pkcs9_emailAddress },
	{ "serialNumber", NID_serialNumber },
	{ "T", NID_title }, { "title", NID_title },
	{ "G", NID_givenName }, { "GN", NID_givenName },
	{ "givenName", NID_givenName },
	{ "SN", NID_surname }, { "surname", NID_surname },
	{ "initials", NID_initials }, { "pseudonym", NID_pseudonym },
	{ "generationQualifier", NID_generationQualifier },
	{ "dnQualifier", NID_dnQualifier }, { "postalCode", NID_postalCode },
	{ "businessCategory", NID_businessCategory },
	{ "organizationIdentifier", NID_organizationIdentifier },
	{ "jurisdictionC", NID_jurisdictionCountryName },
	{ "jurisdictionST", NID_jurisdictionStateOrProvinceName },
	{ "jurisdictionL", NID_jurisdictionLocalityName },
};

/* One attribute of a DN written in a rule. */
struct dn_attr {
	int nid;
	const char *oid;        /* in the value bytes, when nid is undef */
	const uint8_t *val;     /* canonical, in the value bytes */
	size_t vlen;
	int rdn;                /* text order: 0 = most specific */
};

/* What dn_parse() fills: attributes pointing into buf. */
struct dn_scratch {
	uint8_t buf[CERT_DN_TEXT_MAX];
	size_t used;
	struct dn_attr a[CERT_DN_ENTRIES_MAX];
	size_t n;
	int nrdn;
};

/*
 * A compiled DN rule: one allocation, the attributes then the bytes they
 * point into (canonical values and dotted OIDs), read-only once built.
 */
struct cert_dn_rule {
	size_t n;
	int nrdn;
	struct dn_attr a[];
};

static const char dn_bad_type[] = "unknown attribute type";

/* Resolve the type text ${t} (${len} bytes); NULL, or a reason. */
static const char *
dn_type(struct dn_scratch *s, const char *t, size_t len, struct dn_attr *a)
{
	char name[DN_TYPE_MAX];
	ASN1_OBJECT *obj;
	bool numeric = true;
	int nid, n;

	if (len >= 4 && (t[0] == 'O' || t[0] == 'o') &&
	    (t[1] == 'I' || t[1] == 'i') && (t[2] == 'D' || t[2] == 'd') &&
	    t[3] == '.') {
		t += 4;         /* "OID.2.5.4.3" (Windows) */
		len -= 4;
	}
	if (len == 0)
		return ("attribute type missing");
	if (len >= sizeof(name))
		return (dn_bad_type);
	memcpy(name, t, len);
	name[len] = '\0';
	for (size_t i = 0; i < len; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || name[i] == '.'))
			numeric = false;
	a->oid = NULL;
	if (!numeric) {
		/*
		 * The usual spellings in any case first (RFC 4514: "uid" is
		 * userId, though OpenSSL prints uniqueIdentifier as "uid";
		 * that one holds a BIT STRING, which never matches anyway),
		 * then every other short or long name OpenSSL knows.
		 */
		nid = NID_undef;
		for (size_t i = 0; nid == NID_undef && i < ARRAY_SIZE(dn_types);
		    i++)
			if (eq_ascii_nocase(name, dn_types[i].name))
				nid = dn_types[i].nid;
		if (nid == NID_undef) {
			nid = OBJ_txt2nid(name);
			ERR_clear_error();
		}
		if (nid == NID_undef)
			return (dn_bad_type);
		a->nid = nid;
		return (NULL);
	}
	if ((obj = OBJ_txt2obj(name, 1)) == NULL) {
		ERR_clear_error();
		return ("not a valid OID");
	}
	a->nid = OBJ_obj2nid(obj);
	if (a->nid == NID_undef) {
		size_t room = sizeof(s->buf) - s->used;

		n = OBJ_obj2txt((char *)s->buf + s->used, (int)room, obj, 1);
		if (n <= 0 || (size_t)n >= room) {
			ASN1_OBJECT_free(obj);
			ERR_clear_error();
			return (n <= 0 ? "not a valid OID" : dn_too_long);
		}
		a->oid = (const char *)s->buf + s->used;
		s->used += (size_t)n + 1;
	}
	ASN1_OBJECT_free(obj);
	return (NULL);
}

static bool
is_dn_sep(char ch)
{
	return (ch == ',' || ch == ';' || ch == '+');
}

/*
 * Parse the DN text ${p} into ${s} (see cert_dn_compile() for the
 * grammar).  Return NULL, or a constant reason if it is malformed or
 * exceeds the scratch space.
 */
static const char *
dn_parse(const char *p, struct dn_scratch *s)
{
	const char *w;

	s->used = 0;
	s->n = 0;
	s->nrdn = 0;
	if (*p == '\0')
		return ("empty");
	for (;;) {
		struct dn_attr *a;
		const char *t, *te;
		uint8_t *raw;
		size_t rawlen = 0, room;

		if (s->n == ARRAY_SIZE(s->a))
			return ("more than 64 attributes");
		a = &s->a[s->n];
		while (is_space((unsigned char)*p))
			p++;
		for (t = p; *p != '=' && *p != '\0' && !is_dn_sep(*p); p++)
			;
		if (*p != '=')
			return (t == p ? "empty attribute" :
			    "attribute without '='");
		for (te = p; te > t && is_space((unsigned char)te[-1]); te--)
			;
		if ((w = dn_type(s, t, (size_t)(te - t), a)) != NULL)
			return (w);
		p++;
		while (is_space((unsigned char)*p))
			p++;
		if (*p == '#')
			return ("#hex (BER) values are not supported");
		raw = s->buf + s->used;
		room = sizeof(s->buf) - s->used;
		if (*p == '"') {
			for (p++; *p != '"'; p++) {
				if (*p == '\0')
					return ("unterminated quoted value");
				if (rawlen == room)
					return (dn_too_long);
				if (*p == '\\') {
					p++;
					if (*p == '\0')
						return ("unterminated quoted "
						    "value");
				}
				raw[rawlen++] = (uint8_t)*p;
			}
			p++;
			while (is_space((unsigned char)*p))
				p++;
			if (*p != '\0' && !is_dn_sep(*p))
				return ("text after a quoted value");
		} else {
			for (; *p != '\0' && !is_dn_sep(*p); p++) {
				int hi, lo;

				if (rawlen == room)
					return (dn_too_long);
				if (*p != '\\') {
					if (*p == '"')
						return ("'\"' inside an unquoted "
						    "value");
					raw[rawlen++] = (uint8_t)*p;
					continue;
				}
				p++;
				if ((hi = util_hexval((unsigned char)p[0])) >= 0 &&
				    (lo = util_hexval((unsigned char)p[1])) >= 0) {
					raw[rawlen++] = (uint8_t)(hi << 4 | lo);
					p++;
				} else if (*p != '\0') {
					raw[rawlen++] = (uint8_t)*p;
				} else {
					return ("'\\' at the end");
				}
			}
		}
		/* Canonicalise in place: the output is never longer. */
		a->vlen = dn_canon(raw, rawlen, raw);
		a->val = raw;
		s->used += a->vlen;
		a->rdn = s->nrdn;
		s->n++;
		if (*p == '\0')
			break;
		if (*p != '+')
			s->nrdn++;
		p++;
	}
	s->nrdn++;
	return (NULL);
}

int
cert_dn_compile(const char *text, struct cert_dn_rule **out,
    const char **why)
{
	struct dn_scratch s;
	struct cert_dn_rule *r;
	const char *w;
	uint8_t *bytes;

	*out = NULL;
	w = text == NULL ? "empty" : dn_parse(text, &s);
	if (w != NULL) {
		if (why != NULL)
			*why = w;
		return (-1);
	}
	r = malloc(sizeof(*r) + s.n * sizeof(r->a[0]) + s.used);
	if (r == NULL) {
		if (why != NULL)
			*why = NULL;    /* not the text's fault */
		return (-1);
	}
	r->n = s.n;
	r->nrdn = s.nrdn;
	bytes = (uint8_t *)&r->a[s.n];
	memcpy(bytes, s.buf, s.used);
	for (size_t i = 0; i < s.n; i++) {
		r->a[i] = s.a[i];
		r->a[i].val = bytes + (s.a[i].val - s.buf);
		if (s.a[i].oid != NULL)
			r->a[i].oid = (const char *)bytes +
			    ((const uint8_t *)s.a[i].oid - s.buf);
	}
	*out = r;
	return (0);
}

void
cert_dn_rule_free(struct cert_dn_rule *rule)
{
	free(rule);
}

static bool
dn_attr_eq(const struct dn_attr *a, const struct cert_dn_ent *e)
{
	if (a->nid != e->nid)
		return (false);
	if (a->nid == NID_undef &&
	    (a->oid == NULL || e->oid == NULL || strcmp(a->oid, e->oid) != 0))
		return (false);
	return (e->canon != NULL && e->canon_len == a->vlen &&
	    memcmp(e->canon, a->val, a->vlen) == 0);
}

bool
cert_dn_rule_match(const struct cert_dn_rule *r, const struct cert_dn *dn)
{
	size_t j, ai = 0;

	if (r == NULL || dn == NULL || r->nrdn != dn->nrdn || r->n != dn->n)
		return (false);
	/* Text RDN k is certificate RDN (set) nrdn - 1 - k. */
	for (int k = 0; k < r->nrdn; k++) {
		int set = dn->nrdn - 1 - k;
		size_t cstart, cend, aend;
		uint64_t used = 0;

		for (cstart = 0; cstart < dn->n && dn->e[cstart].set != set;
		    cstart++)
			;
		for (cend = cstart; cend < dn->n && dn->e[cend].set == set;
		    cend++)
			;
		for (aend = ai; aend < r->n && r->a[aend].rdn == k; aend++)
			;
		if (cend - cstart != aend - ai)
			return (false);
		for (; ai < aend; ai++) {
			for (j = cstart; j < cend; j++) {
				if ((used >> (j - cstart) & 1) == 0 &&
				    dn_attr_eq(&r->a[ai], &dn->e[j]))
					break;
			}
			if (j == cend)
				return (false);
			used |= (uint64_t)1 << (j - cstart);
		}
	}
	return (true);
}

/* ---- CA store ------------------------------------------------------- */

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
	dn_clear(&o->sdn);
	dn_clear(&o->idn);
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
		if (ossl_nomem()) {
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
		if (ossl_nomem()) {
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
	hex_encode(p, n, hex + o);
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
	if (ossl_nomem())
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
		nomem = ossl_nomem();
		w = "not a DER-encoded X.509 certificate";
		goto fail;
	}
	if ((size_t)(p - der) != len) {
		w = "trailing bytes after the certificate";
		goto fail;
	}
	rl = i2d_X509(x, &re);
	if (rl < 0 || (size_t)rl != len || memcmp(re, der, len) != 0) {
		nomem = rl < 0 && ossl_nomem();
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
	hex_encode(ci->sha256, 32, ci->sha256_hex);
	hex_encode(ci->sha1, 20, ci->sha1_hex);

	if (name_text(X509_get_subject_name(x), &ci->subject, &nomem) != 0 ||
	    name_text(X509_get_issuer_name(x), &ci->issuer, &nomem) != 0 ||
	    dn_build(X509_get_subject_name(x), &o->sdn, &nomem) != 0 ||
	    dn_build(X509_get_issuer_name(x), &o->idn, &nomem) != 0) {
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

/* ---- checks --------------------------------------------------------- */

static bool
bytes_in(const uint8_t *v, size_t n, size_t width, const uint8_t *val)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(v + i * width, val, width) == 0)
			return (true);
	return (false);
}

static bool
str_in(const struct strlist *l, const char *s)
{
	if (s == NULL)
		return (false);
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return (true);
	return (false);
}

/* Some certificate name of ${v} equals ${s}. */
static bool
name_is(char *const *v, size_t n, const char *s, bool nocase)
{
	for (size_t i = 0; i < n; i++)
		if (nocase ? eq_ascii_nocase(v[i], s) : strcmp(v[i], s) == 0)
			return (true);
	return (false);
}

/* Some certificate name of ${v} is in ${l}. */
static bool
names_in(const struct strlist *l, char *const *v, size_t n, bool nocase)
{
	for (size_t i = 0; i < l->n; i++)
		if (name_is(v, n, l->v[i], nocase))
			return (true);
	return (false);
}

static bool
dn_in(const struct dnlist *l, const struct cert_dn *dn)
{
	for (size_t i = 0; i < l->n; i++)
		if (cert_dn_rule_match(l->dn[i], dn))
			return (true);
	return (false);
}

/* Every attribute given in ${id} matches (and at least one is given). */
static bool
identity_matches(const struct cert_identity *id, const struct cert_info *ci)
{
	size_t given = 0;

#define ATTR(cond, ok) do {						\
	if (cond) {							\
		given++;						\
		if (!(ok))						\
			return (false);					\
	}								\
} while (0)
	ATTR(id->has_sha256, memcmp(id->sha256, ci->sha256, 32) == 0);
	ATTR(id->has_sha1, memcmp(id->sha1, ci->sha1, 20) == 0);
	ATTR(id->has_issuer_sha256, ci->has_issuer_sha256 &&
	    memcmp(id->issuer_sha256, ci->issuer_sha256, 32) == 0);
	ATTR(id->serial != NULL, strcmp(id->serial, ci->serial) == 0);
	ATTR(id->common_name != NULL,
	    ci->cn != NULL && strcmp(id->common_name, ci->cn) == 0);
	ATTR(id->subject_dn != NULL, cert_dn_rule_match(id->subject_dn,
	    ci->subject_dn));
	ATTR(id->issuer_dn != NULL, cert_dn_rule_match(id->issuer_dn,
	    ci->issuer_dn));
	ATTR(id->dns_name != NULL, name_is(ci->dns, ci->ndns, id->dns_name,
	    true));
	ATTR(id->uri != NULL, name_is(ci->uris, ci->nuris, id->uri, false));
	ATTR(id->email != NULL, name_is(ci->emails, ci->nemails, id->email,
	    false));
#undef ATTR
	return (given > 0);
}

int
cert_rule_match(const struct cert_rule *rule, const struct cert_info *ci,
    const char **why)
{
	const char *w = NULL;
	size_t i;

	if (rule->nsha256 > 0 && !bytes_in((const uint8_t *)rule->sha256,
	    rule->nsha256, 32, ci->sha256))
		w = "certificate thumbprint not allowed";
	else if (rule->nsha1 > 0 && !bytes_in((const uint8_t *)rule->sha1,
	    rule->nsha1, 20, ci->sha1))
		w = "certificate SHA-1 thumbprint not allowed";
	else if (rule->nissuer_sha256 > 0 && (!ci->has_issuer_sha256 ||
	    !bytes_in((const uint8_t *)rule->issuer_sha256,
	    rule->nissuer_sha256, 32, ci->issuer_sha256)))
		w = "issuing CA not allowed";
	else if (rule->serials.n > 0 && !str_in(&rule->serials, ci->serial))
		w = "serial number not allowed";
	else if (rule->common_names.n > 0 &&
	    !str_in(&rule->common_names, ci->cn))
		w = "common name not allowed";
	else if (rule->subjects.n > 0 && !dn_in(&rule->subjects,
	    ci->subject_dn))
		w = "subject not allowed";
	else if (rule->issuers.n > 0 && !dn_in(&rule->issuers, ci->issuer_dn))
		w = "issuer not allowed";
	else if (rule->dns_names.n > 0 && !names_in(&rule->dns_names, ci->dns,
	    ci->ndns, true))
		w = "DNS name not allowed";
	else if (rule->uris.n > 0 && !names_in(&rule->uris, ci->uris,
	    ci->nuris, false))
		w = "URI not allowed";
	else if (rule->emails.n > 0 && !names_in(&rule->emails, ci->emails,
	    ci->nemails, false))
		w = "email not allowed";
	else if (rule->nidentities > 0) {
		for (i = 0; i < rule->nidentities; i++)
			if (identity_matches(&rule->identities[i], ci))
				break;
		if (i == rule->nidentities)
			w = "no identity matches";
	}
	if (w == NULL)
		return (0);
	if (why != NULL)
		*why = w;
	return (-1);
}

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
