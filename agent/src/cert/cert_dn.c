/*
 * cert_dn.c: distinguished names (cert.h: cert_dn_compile(),
 * cert_dn_rule_match(), cert_dn_x509_text()).
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

#include "util.h"
#include "cert_int.h"
#include "cert.h"

#define DN_TYPE_MAX             128             /* bytes of a type in text */

static const char dn_too_long[] = "values longer than 4096 bytes in all";

/* OpenSSL's ossl_isspace(): the C locale's space characters. */
static bool
is_space(unsigned char ch)
{
	return (ch == ' ' || (ch >= '\t' && ch <= '\r'));
}

size_t
cert_dn_canon(const uint8_t *in, size_t len, uint8_t *out)
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

/* ---- names ---------------------------------------------------------- */

/* cert_dn_x509_text(), and *${nomem} set if it failed for lack of memory. */
int
cert_dn_x509_text_ex(const X509_NAME *name, char **out, bool *nomem)
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
		*nomem = cert_ossl_nomem();
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
cert_dn_x509_text(const X509_NAME *name, char **out)
{
	bool nomem = false;

	return (cert_dn_x509_text_ex(name, out, &nomem));
}

void
cert_dn_clear(struct cert_dn *dn)
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
int
cert_dn_build(const X509_NAME *name, struct cert_dn *dn, bool *nomem)
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
				*nomem = cert_ossl_nomem();
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
			if (cert_ossl_nomem()) {
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
		e->canon_len = cert_dn_canon(u, (size_t)ul, e->canon);
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
			if (util_str_caseeq(name, dn_types[i].name))
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
		a->vlen = cert_dn_canon(raw, rawlen, raw);
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

