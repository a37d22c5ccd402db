/*
 * test_cert.c: client certificate analysis, identity rules, DN matching,
 * validity and RFC 8705 binding.
 *
 * The PKI comes from scripts/gen-pki.sh, run into a temporary directory at
 * setup; expected thumbprints and serials come from the openssl CLI, not
 * from our code.  Unusual certificates (multi-valued RDNs, BMPString,
 * embedded NULs, too many names, negative serials) are built here with the
 * OpenSSL API and a key generated at setup.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "testsupport.h"
#include "testpki.h"

#include "cert.h"
#include "config.h"

static struct ca_store *cas;
static EVP_PKEY *tkey;

static int
setup(void **state)
{
	if (pki_setup(state) != 0 || (cas = pki_client_cas()) == NULL)
		return (-1);
	tkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	return (tkey == NULL ? -1 : 0);
}

static int
teardown(void **state)
{
	ca_store_free(cas);
	EVP_PKEY_free(tkey);
	return (pki_teardown(state));
}

/* Analyse PEM file ${name}; it must succeed. */
static const struct cert_info *
analyze_file(const char *name, const struct ca_store *store)
{
	const struct cert_info *ci;
	const char *why = NULL;
	uint8_t *der;
	size_t len;

	der = pki_der(name, &len);
	ci = cert_analyze(der, len, store, &why);
	if (ci == NULL)
		fail_msg("%s: %s", name, why);
	free(der);
	return (ci);
}

/* ---- a small certificate factory ------------------------------------ */

struct dn_ent {
	const char *type;
	int mbtype;             /* MBSTRING_UTF8, V_ASN1_BMPSTRING, ... */
	const char *val;
	int len;                /* -1: strlen */
	int set;                /* 0: new RDN, -1: same RDN as previous */
};

#include "dn_cases.h"

struct san_ent {
	int type;               /* GEN_DNS, GEN_URI, GEN_EMAIL */
	const char *val;
	int len;                /* -1: strlen */
};

struct spec {
	const struct dn_ent *subject;   /* NULL: CN=test */
	const struct san_ent *sans;     /* NULL: none; ends with type 0 */
	int san_copies;                 /* 0/1: one extension, 2: duplicate */
	size_t many_dns;                /* add this many DNS names */
	long serial;                    /* 0: 0x42 */
	const char *serial_hex;         /* overrides serial */
};

static X509_NAME *
make_name(const struct dn_ent *e)
{
	X509_NAME *nm = X509_NAME_new();

	assert_non_null(nm);
	if (e == NULL) {
		assert_int_equal(X509_NAME_add_entry_by_txt(nm, "CN",
		    MBSTRING_UTF8, (const unsigned char *)"test", -1, -1, 0),
		    1);
		return (nm);
	}
	for (; e->type != NULL; e++)
		assert_int_equal(X509_NAME_add_entry_by_txt(nm, e->type,
		    e->mbtype, (const unsigned char *)e->val, e->len, -1,
		    e->set), 1);
	return (nm);
}

static void
add_sans(X509 *x, const struct spec *sp)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();

	assert_non_null(gens);
	for (const struct san_ent *s = sp->sans; s != NULL && s->type != 0;
	    s++) {
		GENERAL_NAME *g = GENERAL_NAME_new();
		ASN1_IA5STRING *v = ASN1_IA5STRING_new();

		assert_int_equal(ASN1_STRING_set(v, s->val, s->len), 1);
		GENERAL_NAME_set0_value(g, s->type, v);
		assert_true(sk_GENERAL_NAME_push(gens, g) > 0);
	}
	for (size_t i = 0; i < sp->many_dns; i++) {
		GENERAL_NAME *g = GENERAL_NAME_new();
		ASN1_IA5STRING *v = ASN1_IA5STRING_new();
		char name[64];

		snprintf(name, sizeof(name), "n%zu.example.org", i);
		assert_int_equal(ASN1_STRING_set(v, name, -1), 1);
		GENERAL_NAME_set0_value(g, GEN_DNS, v);
		assert_true(sk_GENERAL_NAME_push(gens, g) > 0);
	}
	for (int i = 0; i < (sp->san_copies ? sp->san_copies : 1); i++)
		assert_int_equal(X509_add1_ext_i2d(x, NID_subject_alt_name,
		    gens, 0, X509V3_ADD_APPEND), 1);
	GENERAL_NAMES_free(gens);
}

static uint8_t *
make_cert(const struct spec *sp, size_t *len)
{
	X509 *x = X509_new();
	X509_NAME *subj, *iss;
	unsigned char *der = NULL;
	uint8_t *out;
	int n;

	assert_non_null(x);
	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	if (sp->serial_hex != NULL) {
		BIGNUM *bn = NULL;

		assert_true(BN_hex2bn(&bn, sp->serial_hex) > 0);
		assert_non_null(BN_to_ASN1_INTEGER(bn,
		    X509_get_serialNumber(x)));
		BN_free(bn);
	} else {
		assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x),
		    sp->serial != 0 ? sp->serial : 0x42), 1);
	}
	subj = make_name(sp->subject);
	iss = make_name(NULL);
	assert_int_equal(X509_set_subject_name(x, subj), 1);
	assert_int_equal(X509_set_issuer_name(x, iss), 1);
	X509_NAME_free(subj);
	X509_NAME_free(iss);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
	assert_int_equal(X509_set_pubkey(x, tkey), 1);
	if (sp->sans != NULL || sp->many_dns > 0)
		add_sans(x, sp);
	assert_true(X509_sign(x, tkey, EVP_sha256()) > 0);
	n = i2d_X509(x, &der);
	assert_true(n > 0);
	X509_free(x);
	out = malloc((size_t)n);
	assert_non_null(out);
	memcpy(out, der, (size_t)n);
	OPENSSL_free(der);
	*len = (size_t)n;
	return (out);
}

/* Build ${sp} and analyse it; return the info or NULL with *${why}. */
static const struct cert_info *
analyze_spec(const struct spec *sp, const char **why)
{
	const struct cert_info *ci;
	uint8_t *der;
	size_t len;

	der = make_cert(sp, &len);
	*why = NULL;
	ci = cert_analyze(der, len, NULL, why);
	free(der);
	return (ci);
}

/* ---- analysis of the generated PKI ---------------------------------- */

/* base64url (no padding) of ${raw}, independently of cert.c. */
static void
b64url_ref(const uint8_t *raw, size_t n, char *out)
{
	unsigned char tmp[128];
	int k = EVP_EncodeBlock(tmp, raw, (int)n);

	for (int i = 0; i < k; i++) {
		char ch = (char)tmp[i];

		if (ch == '=') {
			k = i;
			break;
		}
		out[i] = ch == '+' ? '-' : ch == '/' ? '_' : ch;
	}
	out[k] = '\0';
}

static void
check_digests(const char *name, const struct cert_info *ci)
{
	uint8_t want256[32], want1[20];
	char b64[64], hex[65];

	assert_int_equal(pki_fingerprint(name, "sha256", want256, 32), 32);
	assert_int_equal(pki_fingerprint(name, "sha1", want1, 20), 20);
	assert_memory_equal(ci->sha256, want256, 32);
	assert_memory_equal(ci->sha1, want1, 20);
	b64url_ref(want256, 32, b64);
	assert_int_equal(strlen(ci->sha256_b64), 43);
	assert_string_equal(ci->sha256_b64, b64);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", want256[i]);
	assert_string_equal(ci->sha256_hex, hex);
	assert_int_equal(strlen(ci->sha1_hex), 40);
}

/* openssl's serial, normalised like config.c does. */
static char *
openssl_serial(const char *name)
{
	char *s = pki_sh("openssl x509 -in '%s' -noout -serial", name);
	char *eq = strchr(s, '='), *p, *r;

	assert_non_null(eq);
	for (p = eq + 1; *p == '0' && p[1] != '\0'; p++)
		;
	r = strdup(p);
	for (char *q = r; *q != '\0'; q++)
		if (*q >= 'A' && *q <= 'F')
			*q = (char)(*q + 32);
	free(s);
	return (r);
}

static void
test_analyze_valid(void **state)
{
	const struct cert_info *ci = analyze_file("client-valid.pem", cas);
	uint8_t int256[32];
	char *serial = openssl_serial("client-valid.crt");

	(void)state;
	check_digests("client-valid.crt", ci);
	assert_string_equal(ci->subject,
	    "CN=client-valid,OU=orders,O=spoa-iam tests");
	assert_string_equal(ci->issuer,
	    "CN=spoa-iam test intermediate,O=spoa-iam tests");
	assert_string_equal(ci->cn, "client-valid");
	assert_string_equal(ci->serial, serial);
	assert_string_equal(ci->serial, "1001");
	assert_int_equal(ci->serial_len, 2);
	assert_false(ci->serial_neg);
	assert_int_equal(ci->ndns, 1);
	assert_string_equal(ci->dns[0], "client-valid.example.org");
	assert_int_equal(ci->nemails, 1);
	assert_string_equal(ci->emails[0], "ops@example.org");
	assert_int_equal(ci->nuris, 0);
	/* gen-pki: -days 825 from now; openssl reads the clock once per
	 * date, so a second may tick between the two. */
	assert_in_range(ci->not_after - ci->not_before, 825 * 86400,
	    825 * 86400 + 1);
	assert_true(ci->not_before <= (int64_t)time(NULL) + 5);
	/* The intermediate of clients-ca.pem issued it. */
	assert_true(ci->has_issuer_sha256);
	assert_int_equal(pki_fingerprint("int.pem", "sha256", int256, 32), 32);
	assert_memory_equal(ci->issuer_sha256, int256, 32);
	assert_int_equal(ci->ca_gen, ca_store_gen(cas));
	free(serial);
	cert_info_unref(ci);

	/* Without a store: no issuer thumbprint. */
	ci = analyze_file("client-valid.pem", NULL);
	assert_false(ci->has_issuer_sha256);
	assert_int_equal(ci->ca_gen, 0);
	cert_info_unref(ci);
}

static void
test_analyze_others(void **state)
{
	const struct cert_info *ci;
	char *serial;

	(void)state;
	ci = analyze_file("client-spiffe.pem", cas);
	check_digests("client-spiffe.crt", ci);
	assert_string_equal(ci->subject, "CN=orders-workload,O=spoa-iam tests");
	assert_string_equal(ci->cn, "orders-workload");
	assert_int_equal(ci->nuris, 1);
	assert_string_equal(ci->uris[0], "spiffe://example.org/ns/prod/sa/orders");
	assert_int_equal(ci->ndns, 0);
	assert_int_equal(ci->nemails, 0);
	assert_true(ci->has_issuer_sha256);
	cert_info_unref(ci);

	/* 0x0777: leading zero dropped. */
	ci = analyze_file("client-foreign.pem", cas);
	check_digests("client-foreign.crt", ci);
	serial = openssl_serial("client-foreign.crt");
	assert_string_equal(ci->serial, "777");
	assert_string_equal(ci->serial, serial);
	assert_string_equal(ci->subject, "CN=client-foreign");
	assert_string_equal(ci->issuer, "CN=foreign root");
	assert_false(ci->has_issuer_sha256);    /* not in clients-ca.pem */
	free(serial);
	cert_info_unref(ci);

	ci = analyze_file("client-expired.pem", cas);
	assert_int_equal(ci->not_before, 1577836800);   /* 2020-01-01 */
	assert_int_equal(ci->not_after, 1609459200);    /* 2021-01-01 */
	cert_info_unref(ci);
	ci = analyze_file("client-future.pem", cas);
	assert_int_equal(ci->not_before, 2208988800);   /* 2040-01-01 */
	assert_int_equal(ci->not_after, 2240611200);    /* 2041-01-01 */
	cert_info_unref(ci);

	/* The CA certificates themselves: the root signs the intermediate. */
	ci = analyze_file("int.pem", cas);
	assert_true(ci->has_issuer_sha256);
	assert_memory_equal(ci->issuer_sha256, ca_store_sha256(cas, 1), 32);
	assert_string_equal(ci->cn, "spoa-iam test intermediate");
	cert_info_unref(ci);
	ci = analyze_file("ca.pem", cas);       /* self-signed root */
	assert_true(ci->has_issuer_sha256);
	assert_memory_equal(ci->issuer_sha256, ci->sha256, 32);
	cert_info_unref(ci);
}

static void
expect_refused(const uint8_t *der, size_t len, const char *want)
{
	const char *why = NULL;
	const struct cert_info *ci = cert_analyze(der, len, cas, &why);

	assert_null(ci);
	assert_non_null(why);
	if (want != NULL && strcmp(why, want) != 0)
		fail_msg("expected \"%s\", got \"%s\"", want, why);
}

static void
test_refused_encodings(void **state)
{
	uint8_t *der, *buf, rnd[1500];
	size_t len, pemlen;
	char *pem;

	(void)state;
	der = pki_der("client-valid.pem", &len);
	buf = malloc(CERT_DER_MAX + 2);
	assert_non_null(buf);

	expect_refused(NULL, 0, "empty certificate");
	expect_refused(der, 0, "empty certificate");
	/* Truncated anywhere. */
	for (size_t cut = 1; cut < len; cut += (cut < 16 ? 1 : 37))
		expect_refused(der, len - cut,
		    "not a DER-encoded X.509 certificate");
	/* Trailing garbage, even one byte. */
	memcpy(buf, der, len);
	buf[len] = 0;
	expect_refused(buf, len + 1, "trailing bytes after the certificate");
	memcpy(buf + len, der, len);
	expect_refused(buf, 2 * len, "trailing bytes after the certificate");
	/* Too large, whatever it holds. */
	memset(buf, 0x30, CERT_DER_MAX + 1);
	expect_refused(buf, CERT_DER_MAX + 1, "certificate larger than 64 KiB");
	/* Random bytes. */
	srand(1234);
	for (int t = 0; t < 200; t++) {
		size_t n = 1 + (size_t)rand() % sizeof(rnd);

		for (size_t i = 0; i < n; i++)
			rnd[i] = (uint8_t)rand();
		if (t % 2 == 0) {
			rnd[0] = 0x30;  /* looks like a SEQUENCE */
			rnd[1] = 0x82;
		}
		expect_refused(rnd, n, NULL);
	}
	/* PEM text instead of DER. */
	pem = (char *)pki_file("client-valid.crt", &pemlen);
	expect_refused((const uint8_t *)pem, pemlen,
	    "not a DER-encoded X.509 certificate");
	free(pem);
	/* A signature bit flip still parses: analysis does not check trust,
	 * but the thumbprint changes and no CA of the store signed it. */
	memcpy(buf, der, len);
	buf[len - 1] ^= 1;
	{
		const char *why = NULL;
		const struct cert_info *ci = cert_analyze(buf, len, cas, &why);

		assert_non_null(ci);
		assert_false(ci->has_issuer_sha256);
		cert_info_unref(ci);
	}
	/* BER length (long form where short form fits) is not DER. */
	{
		size_t l2 = len;
		const struct cert_info *ci;
		const char *why = NULL;

		/* der: 30 82 HH LL ...: re-encode the outer length as 83 00 HH LL */
		assert_int_equal(der[0], 0x30);
		assert_int_equal(der[1], 0x82);
		buf[0] = 0x30;
		buf[1] = 0x83;
		buf[2] = 0x00;
		memcpy(buf + 3, der + 2, len - 2);
		l2 = len + 1;
		ci = cert_analyze(buf, l2, cas, &why);
		assert_null(ci);
		assert_non_null(why);
	}
	free(buf);
	free(der);
}

static void
test_refused_names(void **state)
{
	static const struct san_ent nul_dns[] = {
		{ GEN_DNS, "good.example.org", -1 },
		{ GEN_DNS, "evil.example.org\0.good.example.org", 34 },
		{ 0, NULL, 0 }
	};
	static const struct san_ent ctl_uri[] = {
		{ GEN_URI, "spiffe://x/\ny", -1 }, { 0, NULL, 0 }
	};
	static const struct san_ent nul_email[] = {
		{ GEN_EMAIL, "a@b\0c", 5 }, { 0, NULL, 0 }
	};
	static const struct dn_ent cn_nul[] = {
		{ "CN", MBSTRING_UTF8, "a\0b", 3, 0 }, { NULL, 0, NULL, 0, 0 }
	};
	static const struct dn_ent cn_ctl[] = {
		{ "CN", MBSTRING_UTF8, "a\x1b[31m", -1, 0 },
		{ NULL, 0, NULL, 0, 0 }
	};
	char longname[CERT_NAME_MAX + 2];
	struct san_ent long_dns[] = {
		{ GEN_DNS, longname, CERT_NAME_MAX + 1 }, { 0, NULL, 0 }
	};
	const struct cert_info *ci;
	const char *why;
	struct spec sp;

	(void)state;
	memset(longname, 'a', sizeof(longname));
	memset(&sp, 0, sizeof(sp));

	sp.sans = nul_dns;
	assert_null(analyze_spec(&sp, &why));
	assert_string_equal(why, "control character in a certificate name");
	sp.sans = ctl_uri;
	assert_null(analyze_spec(&sp, &why));
	assert_string_equal(why, "control character in a certificate name");
	sp.sans = nul_email;
	assert_null(analyze_spec(&sp, &why));
	assert_string_equal(why, "control character in a certificate name");
	sp.sans = long_dns;
	assert_null(analyze_spec(&sp, &why));
	assert_string_equal(why, "name in the certificate too long");
	long_dns[0].len = CERT_NAME_MAX;
	ci = analyze_spec(&sp, &why);
	assert_non_null(ci);
	assert_int_equal(strlen(ci->dns[0]), CERT_NAME_MAX);
	cert_info_unref(ci);

	/* At most CERT_SAN_MAX names of one kind. */
	sp.sans = NULL;
	sp.many_dns = CERT_SAN_MAX;
	ci = analyze_spec(&sp, &why);
	assert_non_null(ci);
	assert_int_equal(ci->ndns, CERT_SAN_MAX);
	assert_string_equal(ci->dns[CERT_SAN_MAX - 1], "n63.example.org");
	cert_info_unref(ci);
	sp.many_dns = CERT_SAN_MAX + 1;
	assert_null(analyze_spec(&sp, &why));
	assert_string_equal(why, "too many subjectAltName entries of one kind");

	/* Two subjectAltName extensions: OpenSSL flags the certificate
	 * (EXFLAG_INVALID) before our own duplicate check sees it. */
	sp.many_dns = 1;
	sp.san_copies = 2;
	assert_null(analyze_spec(&sp, &why));
	assert_string_equal(why, "invalid certificate extensions");
	sp.many_dns = 0;
	sp.san_copies = 0;

	sp.subject = cn_nul;
	assert_null(analyze_spec(&sp, &why));
	assert_string_equal(why, "control character in a certificate name");
	sp.subject = cn_ctl;
	assert_null(analyze_spec(&sp, &why));
	assert_string_equal(why, "control character in a certificate name");
}

static void
test_serials(void **state)
{
	const struct cert_info *ci;
	const char *why;
	struct spec sp;

	(void)state;
	memset(&sp, 0, sizeof(sp));
	sp.serial = -5;
	ci = analyze_spec(&sp, &why);
	assert_non_null(ci);
	assert_string_equal(ci->serial, "-5");
	assert_true(ci->serial_neg);
	cert_info_unref(ci);

	sp.serial = 0;
	sp.serial_hex = "00ABCDEF0123";
	ci = analyze_spec(&sp, &why);
	assert_non_null(ci);
	assert_string_equal(ci->serial, "abcdef0123");
	assert_int_equal(ci->serial_len, 5);
	cert_info_unref(ci);

	sp.serial_hex = "80";   /* DER 02 02 00 80 */
	ci = analyze_spec(&sp, &why);
	assert_non_null(ci);
	assert_string_equal(ci->serial, "80");
	assert_int_equal(ci->serial_len, 1);
	assert_int_equal(ci->serial_bytes[0], 0x80);
	cert_info_unref(ci);

	sp.serial_hex = "1";
	ci = analyze_spec(&sp, &why);
	assert_non_null(ci);
	assert_string_equal(ci->serial, "1");
	cert_info_unref(ci);

	/* CERT_SERIAL_MAX bytes pass, one more does not. */
	{
		char hex[2 * CERT_SERIAL_MAX + 3];

		memset(hex, '7', 2 * CERT_SERIAL_MAX);
		hex[2 * CERT_SERIAL_MAX] = '\0';
		sp.serial_hex = hex;
		ci = analyze_spec(&sp, &why);
		assert_non_null(ci);
		assert_int_equal(ci->serial_len, CERT_SERIAL_MAX);
		assert_int_equal(strlen(ci->serial), 2 * CERT_SERIAL_MAX);
		cert_info_unref(ci);
		memset(hex, '7', 2 * CERT_SERIAL_MAX + 2);
		hex[2 * CERT_SERIAL_MAX + 2] = '\0';
		assert_null(analyze_spec(&sp, &why));
		assert_string_equal(why, "serial number too long");
	}
}

/* ---- DN matching ---------------------------------------------------- */

/*
 * Compile ${text} and match it against ${dn}: false if it does not
 * compile (what the text matcher answered for unparseable text), so the
 * yes/no tables below keep their meaning.
 */
static bool
dn_match(const char *text, const struct cert_dn *dn)
{
	struct cert_dn_rule *r = NULL;
	const char *why = NULL;
	bool m;

	if (cert_dn_compile(text, &r, &why) != 0) {
		assert_null(r);
		assert_non_null(why);
		return (false);
	}
	assert_non_null(r);
	m = cert_dn_rule_match(r, dn);
	cert_dn_rule_free(r);
	return (m);
}

static void
test_dn_match_pki(void **state)
{
	const struct cert_info *ci = analyze_file("client-valid.pem", cas);
	static const char *const yes[] = {
		"CN=client-valid,OU=orders,O=spoa-iam tests",
		"CN=client-valid, OU=orders, O=spoa-iam tests",
		"  CN = client-valid ,OU= orders,  O =spoa-iam tests  ",
		"cn=Client-Valid,ou=ORDERS,o=spoa-iam    tests",
		"CN=client-valid;OU=orders;O=spoa-iam tests",
		"CN=client-valid,OU=orders,O=\"spoa-iam tests\"",
		"CN=client\\2dvalid,OU=orders,O=spoa-iam\\ tests",
		("commonName=client-valid,organizationalUnitName=orders,"
		    "organizationName=spoa-iam tests"),
		"2.5.4.3=client-valid,OU=orders,O=spoa-iam tests",
		"OID.2.5.4.3=client-valid,OU=orders,O=spoa-iam tests",
	};
	static const char *const no[] = {
		"O=spoa-iam tests,OU=orders,CN=client-valid",   /* order */
		"CN=client-valid,O=spoa-iam tests,OU=orders",
		"CN=client-valid,OU=orders",                    /* fewer */
		"CN=client-valid,OU=orders,O=spoa-iam tests,C=US",
		"CN=client-valid+OU=orders,O=spoa-iam tests",   /* RDN shape */
		"CN=client-valid,OU=orders,O=spoa-iam test",
		"CN=client-valid,OU=orders,O=spoa-iamtests",
		"CN=client-valid,OU=orders,O=#0c0e73706f612d69616d207465737473",
		"XX=client-valid,OU=orders,O=spoa-iam tests",   /* unknown type */
		"CN=client-valid,OU=orders,O=\"spoa-iam tests",  /* unterminated */
		"CN=client-valid,OU=orders,O=spoa-iam tests\\",
		"CN=client-valid,OU=orders,O",
		"client-valid",
		"",
		",",
		"CN=client-valid,,OU=orders,O=spoa-iam tests",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!dn_match(yes[i], ci->subject_dn))
			fail_msg("should match: %s", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (dn_match(no[i], ci->subject_dn))
			fail_msg("should not match: %s", no[i]);
	/* The printed form matches itself; subject is not issuer. */
	assert_true(dn_match(ci->subject, ci->subject_dn));
	assert_true(dn_match(ci->issuer, ci->issuer_dn));
	assert_false(dn_match(ci->subject, ci->issuer_dn));
	assert_false(dn_match(NULL, ci->subject_dn));
	assert_false(dn_match("CN=x", NULL));
	cert_info_unref(ci);
}

/* X509_NAME_cmp() of the certificate subject and a name built from
 * (type, value) pairs in DER order, each its own RDN. */
static int
openssl_cmp(const uint8_t *der, size_t len, const char *const *tv, size_t n)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	X509_NAME *nm = X509_NAME_new();
	int r;

	assert_non_null(x);
	for (size_t i = 0; i < n; i += 2)
		assert_int_equal(X509_NAME_add_entry_by_txt(nm, tv[i],
		    MBSTRING_UTF8, (const unsigned char *)tv[i + 1], -1, -1, 0),
		    1);
	r = X509_NAME_cmp(X509_get_subject_name(x), nm);
	X509_NAME_free(nm);
	X509_free(x);
	return (r);
}

static void
test_dn_match_special(void **state)
{
	/* DER order: O, then one RDN holding CN and OU, UTF-8 and BMP. */
	static const struct dn_ent multi[] = {
		{ "O", MBSTRING_UTF8, "Contoso, Inc.", -1, 0 },
		{ "CN", MBSTRING_UTF8, "a", -1, 0 },
		{ "OU", MBSTRING_UTF8, "b", -1, -1 },
		{ NULL, 0, NULL, 0, 0 }
	};
	static const struct dn_ent intl[] = {
		{ "C", MBSTRING_ASC, "DE", -1, 0 },
		{ "O", V_ASN1_BMPSTRING, "\0Z\0o\0\xeb", 6, 0 },        /* Zoë */
		{ "CN", MBSTRING_UTF8, "Jos\xc3\xa9 #1 <x>", -1, 0 },
		{ "1.2.3.4.5", MBSTRING_UTF8, "odd", -1, 0 },
		{ NULL, 0, NULL, 0, 0 }
	};
	static const char *const multi_yes[] = {
		"CN=a+OU=b,O=Contoso\\, Inc.",
		"OU=b+CN=a,O=Contoso\\, Inc.",
		"OU=b + CN=a, O=\"Contoso, Inc.\"",
		"CN=A+OU=B,O=contoso\\2c inc.",
	};
	static const char *const multi_no[] = {
		"CN=a,OU=b,O=Contoso\\, Inc.",          /* two RDNs */
		"CN=a+OU=b,O=Contoso, Inc.",            /* "Inc." has no '=' */
		"CN=a+OU=b+OU=b,O=Contoso\\, Inc.",
		"CN=a+CN=a,O=Contoso\\, Inc.",
		"CN=a,O=Contoso\\, Inc.",
	};
	static const char *const intl_yes[] = {
		"CN=Jos\xc3\xa9 #1 \\<x\\>,O=Zo\xc3\xab,C=DE",
		"CN=jos\xc3\xa9 #1 <x>,O=zo\xc3\xab,C=de",
		"CN=Jos\\c3\\a9 #1 <x>,O=Zo\xc3\xab,C=DE",
		"CN=Jos\xc3\xa9 #1 <x>,O=Zo\xc3\xab,C=DE",
	};
	static const char *const intl_no[] = {
		"CN=JOS\xc3\x89 #1 <x>,O=Zo\xc3\xab,C=DE",  /* É: no Unicode folding */
		"CN=Jos\xc3\xa9 #1 <x>,O=Zoe,C=DE",
		"CN=Jos\xc3\xa9 #1 <x>,O=Zo\xc3\xab,C=DE,1.2.3.4.5=odd",
	};
	const struct cert_info *ci;
	const char *why;
	struct spec sp;
	uint8_t *der;
	size_t len;

	(void)state;
	memset(&sp, 0, sizeof(sp));
	sp.subject = multi;
	ci = analyze_spec(&sp, &why);
	assert_non_null(ci);
	/* OpenSSL prints RDNs and the attributes inside them reversed. */
	assert_string_equal(ci->subject, "OU=b+CN=a,O=Contoso\\, Inc.");
	assert_string_equal(ci->cn, "a");
	for (size_t i = 0; i < sizeof(multi_yes) / sizeof(multi_yes[0]); i++)
		if (!dn_match(multi_yes[i], ci->subject_dn))
			fail_msg("should match: %s", multi_yes[i]);
	for (size_t i = 0; i < sizeof(multi_no) / sizeof(multi_no[0]); i++)
		if (dn_match(multi_no[i], ci->subject_dn))
			fail_msg("should not match: %s", multi_no[i]);
	assert_true(dn_match(ci->subject, ci->subject_dn));
	cert_info_unref(ci);

	sp.subject = intl;
	ci = analyze_spec(&sp, &why);
	assert_non_null(ci);
	/* Unknown OID dumped as DER hex; UTF-8 kept; <> escaped. */
	assert_string_equal(ci->subject,
	    "1.2.3.4.5=#0C036F6464,CN=Jos\xc3\xa9 #1 \\<x\\>,O=Zo\xc3\xab,C=DE");
	assert_string_equal(ci->cn, "Jos\xc3\xa9 #1 <x>");
	for (size_t i = 0; i < sizeof(intl_yes) / sizeof(intl_yes[0]); i++) {
		char text[256];

		snprintf(text, sizeof(text), "1.2.3.4.5=odd,%s", intl_yes[i]);
		if (!dn_match(text, ci->subject_dn))
			fail_msg("should match: %s", text);
		snprintf(text, sizeof(text), "1.2.3.4.5=ODD ,%s", intl_yes[i]);
		if (!dn_match(text, ci->subject_dn))
			fail_msg("should match: %s", text);
	}
	for (size_t i = 0; i < sizeof(intl_no) / sizeof(intl_no[0]); i++) {
		char text[256];

		snprintf(text, sizeof(text), "1.2.3.4.5=odd,%s", intl_no[i]);
		if (dn_match(text, ci->subject_dn))
			fail_msg("should not match: %s", text);
	}
	/* The printed form dumps the unknown attribute: it cannot match. */
	assert_false(dn_match(ci->subject, ci->subject_dn));
	assert_false(dn_match("1.2.3.4.6=odd,CN=Jos\xc3\xa9 #1 <x>,"
	    "O=Zo\xc3\xab,C=DE", ci->subject_dn));
	cert_info_unref(ci);

	/* LDAP style: uid is userId (RFC 4514), in any case. */
	{
		static const struct dn_ent ldap[] = {
			{ "DC", MBSTRING_ASC, "com", -1, 0 },
			{ "DC", MBSTRING_ASC, "example", -1, 0 },
			{ "UID", MBSTRING_UTF8, "jdoe", -1, 0 },
			{ NULL, 0, NULL, 0, 0 }
		};

		sp.subject = ldap;
		ci = analyze_spec(&sp, &why);
		assert_non_null(ci);
		assert_string_equal(ci->subject, "UID=jdoe,DC=example,DC=com");
		assert_true(dn_match("uid=jdoe,dc=example,dc=com",
		    ci->subject_dn));
		assert_true(dn_match("userId=jdoe, DC=Example, DC=COM",
		    ci->subject_dn));
		assert_true(dn_match("0.9.2342.19200300.100.1.1=jdoe,"
		    "0.9.2342.19200300.100.1.25=example,DC=com", ci->subject_dn));
		assert_false(dn_match("CN=jdoe,dc=example,dc=com",
		    ci->subject_dn));
		assert_false(dn_match("uid=jdoe,dc=com,dc=example",
		    ci->subject_dn));
		assert_null(ci->cn);
		cert_info_unref(ci);
	}

	/* Our verdicts agree with X509_NAME_cmp on the same names. */
	sp.subject = intl;
	der = make_cert(&sp, &len);
	{
		static const char *const same[] = {
			"C", "de", "O", "ZO\xc3\xab", "CN", "jos\xc3\xa9  #1 <X>",
			"1.2.3.4.5", "odd"
		};
		static const char *const other[] = {
			"C", "DE", "O", "Zo\xc3\xab", "CN", "Jos\xc3\xa9 #1 <x>",
			"1.2.3.4.5", "even"
		};

		assert_int_equal(openssl_cmp(der, len, same, 8), 0);
		assert_int_not_equal(openssl_cmp(der, len, other, 8), 0);
		ci = cert_analyze(der, len, NULL, &why);
		assert_non_null(ci);
		assert_true(dn_match("1.2.3.4.5=odd,CN=jos\xc3\xa9  #1 <X>,"
		    "O=ZO\xc3\xab,C=de", ci->subject_dn));
		assert_false(dn_match("1.2.3.4.5=even,CN=Jos\xc3\xa9 #1 <x>,"
		    "O=Zo\xc3\xab,C=DE", ci->subject_dn));
		cert_info_unref(ci);
	}
	free(der);
}

/*
 * The compiled rules agree with the text matcher they replace: a text it
 * could not parse does not compile, any other compiles and matches exactly
 * the DNs it matched (dn_cases.h holds its verdicts).
 */
static void
test_dn_compiled_as_text(void **state)
{
	const struct cert_info *ci[DNCASE_NDN];
	size_t refused = 0, matched = 0;
	const char *why;
	struct spec sp;

	(void)state;
	assert_int_equal(sizeof(dncase_want) / sizeof(dncase_want[0]),
	    DNCASE_NTEXT);
	memset(&sp, 0, sizeof(sp));
	for (size_t j = 0; j < DNCASE_NDN; j++) {
		sp.subject = dncase_dns[j];
		ci[j] = analyze_spec(&sp, &why);
		if (ci[j] == NULL)
			fail_msg("DN %zu: %s", j, why);
	}
	for (size_t i = 0; i < DNCASE_NTEXT; i++) {
		const char *text = dncase_texts[i];
		struct cert_dn_rule *r = (struct cert_dn_rule *)(void *)&sp;
		int rc;

		why = NULL;
		rc = cert_dn_compile(text, &r, &why);
		if (dncase_want[i] == NULL) {
			if (rc == 0)
				fail_msg("compiles, was refused: %s", text);
			assert_int_equal(rc, -1);
			assert_null(r);
			assert_non_null(why);
			refused++;
			continue;
		}
		if (rc != 0)
			fail_msg("does not compile (%s): %s", why, text);
		assert_non_null(r);
		assert_int_equal(strlen(dncase_want[i]), DNCASE_NDN);
		for (size_t j = 0; j < DNCASE_NDN; j++) {
			bool want = dncase_want[i][j] == '1';

			if (cert_dn_rule_match(r, ci[j]->subject_dn) != want)
				fail_msg("text %zu, DN %zu: want %d: %s", i, j,
				    want, text);
			/* Every issuer is CN=test. */
			if (cert_dn_rule_match(r, ci[j]->issuer_dn))
				fail_msg("matches CN=test: %s", text);
			matched += want;
		}
		assert_false(cert_dn_rule_match(r, NULL));
		cert_dn_rule_free(r);
	}
	/* The tables exercise both sides. */
	assert_true(refused >= 25);
	assert_true(matched >= 40);
	for (size_t j = 0; j < DNCASE_NDN; j++)
		cert_info_unref(ci[j]);
}

/* Refusals carry their reason; bounds are those of the text matcher. */
static void
test_dn_compile_errors(void **state)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "", "empty" },
		{ "CN=a,Bogus=zz", "unknown attribute type" },
		{ "not a dn", "attribute without '='" },
		{ "#0403", "attribute without '='" },
		{ "CN=#0403", "#hex (BER) values are not supported" },
		{ "CN= #0403", "#hex (BER) values are not supported" },
		{ "=x", "attribute type missing" },
		{ "OID.=x", "attribute type missing" },
		{ "1.40=x", "not a valid OID" },
		{ "CN=a,,O=b", "empty attribute" },
		{ "CN=a+", "empty attribute" },
		{ ",", "empty attribute" },
		{ "CN=\"a", "unterminated quoted value" },
		{ "CN=\"a\\", "unterminated quoted value" },
		{ "CN=\"a\" b", "text after a quoted value" },
		{ "CN=a\"b", "'\"' inside an unquoted value" },
		{ "CN=a\\", "'\\' at the end" },
	};
	struct cert_dn_rule *r;
	const char *why;
	char *text, *p;
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		r = (struct cert_dn_rule *)(void *)&why;
		if (cert_dn_compile(bad[i].text, &r, &why) != -1)
			fail_msg("compiles: %s", bad[i].text);
		assert_null(r);
		if (why == NULL || strcmp(why, bad[i].why) != 0)
			fail_msg("%s: got %s, want %s", bad[i].text,
			    why != NULL ? why : "NULL", bad[i].why);
	}
	why = NULL;
	assert_int_equal(cert_dn_compile(NULL, &r, &why), -1);
	assert_string_equal(why, "empty");
	assert_int_equal(cert_dn_compile("CN=#00", &r, NULL), -1);

	/* 64 attributes compile, 65 do not. */
	n = 65 * 5;
	text = malloc(n + 1);
	assert_non_null(text);
	for (p = text, n = 0; n < 65; n++, p += 5)
		memcpy(p, "CN=a,", 5);
	p[-1] = '\0';
	assert_int_equal(cert_dn_compile(text, &r, &why), -1);
	assert_string_equal(why, "more than 64 attributes");
	text[64 * 5 - 1] = '\0';
	assert_int_equal(cert_dn_compile(text, &r, &why), 0);
	cert_dn_rule_free(r);
	free(text);

	/* Values of CERT_DN_TEXT_MAX bytes in all, not one more (escaped
	 * spaces count before the canonical form trims them). */
	text = malloc(CERT_DN_TEXT_MAX + 16);
	assert_non_null(text);
	memcpy(text, "CN=", 3);
	memset(text + 3, 'x', CERT_DN_TEXT_MAX);
	text[3 + CERT_DN_TEXT_MAX] = '\0';
	assert_int_equal(cert_dn_compile(text, &r, &why), 0);
	cert_dn_rule_free(r);
	text[3 + CERT_DN_TEXT_MAX] = 'x';
	text[4 + CERT_DN_TEXT_MAX] = '\0';
	assert_int_equal(cert_dn_compile(text, &r, &why), -1);
	assert_string_equal(why, "values longer than 4096 bytes in all");
	free(text);
	cert_dn_rule_free(NULL);
}

/* A compiled rule keeps nothing of its text: it matches after the text is
 * gone, and the same way as the text did. */
static void
test_dn_rule_owns(void **state)
{
	const struct cert_info *ci = analyze_file("client-valid.pem", cas);
	struct cert_dn_rule *r = NULL, *o = NULL;
	char *text = strdup("cn = Client-Valid , OU=orders;O=\"spoa-iam "
	    "  tests\"");
	const char *why = NULL;

	(void)state;
	assert_non_null(text);
	assert_int_equal(cert_dn_compile(text, &r, &why), 0);
	assert_int_equal(cert_dn_compile("OID.1.2.3.4=x,CN=client-valid", &o,
	    &why), 0);
	memset(text, 'Z', strlen(text));
	free(text);
	assert_true(cert_dn_rule_match(r, ci->subject_dn));
	assert_false(cert_dn_rule_match(r, ci->issuer_dn));
	assert_false(cert_dn_rule_match(o, ci->subject_dn));
	assert_false(cert_dn_rule_match(NULL, ci->subject_dn));
	cert_dn_rule_free(r);
	cert_dn_rule_free(o);
	cert_info_unref(ci);
}

/* ---- rules ---------------------------------------------------------- */

static struct config *rule_cfg;

/* The client_cert rule written (single quotes) in ${json}. */
static const struct cert_rule *
rule(const char *json)
{
	struct config_errors e = { NULL, 0 };
	char doc[8192];

	config_free(rule_cfg);
	rule_cfg = NULL;
	snprintf(doc, sizeof(doc),
	    "{'listen':['127.0.0.1:1'],'client_ca_file':'/x/ca.pem',"
	    "'routes':[{'name':'r','require':'mtls','client_cert':%s}]}", json);
	for (char *p = doc; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	if (config_parse(doc, strlen(doc), NULL, &rule_cfg, &e) != 0) {
		for (size_t i = 0; i < e.n; i++)
			fprintf(stderr, "config: %s\n", e.v[i]);
		config_errors_free(&e);
		fail_msg("bad rule: %s", json);
	}
	return (rule_cfg->routes[0].client_cert);
}

static void
rule_pass(const char *json, const struct cert_info *ci)
{
	const char *why = NULL;

	if (cert_rule_match(rule(json), ci, &why) != 0)
		fail_msg("rule %s should pass, failed: %s", json, why);
}

static void
rule_fail(const char *json, const struct cert_info *ci, const char *want)
{
	const char *why = NULL;

	if (cert_rule_match(rule(json), ci, &why) == 0)
		fail_msg("rule %s should fail", json);
	assert_non_null(why);
	if (strcmp(why, want) != 0)
		fail_msg("rule %s: expected \"%s\", got \"%s\"", json, want,
		    why);
}

static void
test_rules(void **state)
{
	const struct cert_info *cv = analyze_file("client-valid.pem", cas);
	const struct cert_info *sp = analyze_file("client-spiffe.pem", cas);
	const struct cert_info *nocas = analyze_file("client-valid.pem", NULL);
	char *fp256 = pki_fingerprint_text("client-valid.crt", "sha256");
	char *fp1 = pki_fingerprint_text("client-valid.crt", "sha1");
	char *other256 = pki_fingerprint_text("client-spiffe.crt", "sha256");
	char *other1 = pki_fingerprint_text("client-spiffe.crt", "sha1");
	char *int256 = pki_fingerprint_text("int.pem", "sha256");
	char *root256 = pki_fingerprint_text("ca.pem", "sha256");
	char j[1024];

	(void)state;
	rule_pass("{}", cv);

	snprintf(j, sizeof(j), "{'thumbprints_sha256':['%s']}", fp256);
	rule_pass(j, cv);
	rule_fail(j, sp, "certificate thumbprint not allowed");
	snprintf(j, sizeof(j), "{'thumbprints_sha256':['%s','%s']}", other256,
	    cv->sha256_b64);
	rule_pass(j, cv);
	rule_pass(j, sp);
	snprintf(j, sizeof(j), "{'thumbprints_sha256':['%s']}", cv->sha256_hex);
	rule_pass(j, cv);

	snprintf(j, sizeof(j), "{'thumbprints_sha1':['%s']}", fp1);
	rule_pass(j, cv);
	snprintf(j, sizeof(j), "{'thumbprints_sha1':['%s']}", other1);
	rule_fail(j, cv, "certificate SHA-1 thumbprint not allowed");

	rule_pass("{'serials':['00:10:01']}", cv);
	rule_pass("{'serials':['1002','001001']}", cv);
	rule_fail("{'serials':['1002']}", cv, "serial number not allowed");

	rule_pass("{'common_names':['nope','client-valid']}", cv);
	rule_fail("{'common_names':['Client-Valid']}", cv, "common name not allowed");

	rule_pass("{'subjects':['CN=client-valid, OU=orders, O=spoa-iam tests']}", cv);
	rule_fail("{'subjects':['O=spoa-iam tests,OU=orders,CN=client-valid']}", cv,
	    "subject not allowed");
	rule_pass("{'issuers':['CN=spoa-iam test intermediate,O=spoa-iam tests']}",
	    cv);
	rule_fail("{'issuers':['CN=spoa-iam test root,O=spoa-iam tests']}", cv,
	    "issuer not allowed");
	rule_fail("{'issuers':['CN=client-valid,OU=orders,O=spoa-iam tests']}", cv,
	    "issuer not allowed");

	snprintf(j, sizeof(j), "{'issuer_thumbprints_sha256':['%s']}", int256);
	rule_pass(j, cv);
	rule_pass(j, sp);
	rule_fail(j, nocas, "issuing CA not allowed");
	snprintf(j, sizeof(j), "{'issuer_thumbprints_sha256':['%s']}", root256);
	rule_fail(j, cv, "issuing CA not allowed");

	rule_pass("{'dns_names':['CLIENT-VALID.example.ORG']}", cv);
	rule_fail("{'dns_names':['other.example.org']}", cv, "DNS name not allowed");
	rule_fail("{'dns_names':['*.example.org']}", cv, "DNS name not allowed");
	rule_fail("{'dns_names':['client-valid.example.org']}", sp,
	    "DNS name not allowed");

	rule_pass("{'uris':['spiffe://example.org/ns/prod/sa/orders']}", sp);
	rule_fail("{'uris':['spiffe://example.org/ns/prod/sa/other']}", sp,
	    "URI not allowed");
	rule_fail("{'uris':['SPIFFE://example.org/ns/prod/sa/orders']}", sp,
	    "URI not allowed");
	rule_fail("{'uris':['spiffe://example.org/ns/prod/sa/orders']}", cv,
	    "URI not allowed");

	rule_pass("{'emails':['ops@example.org']}", cv);
	rule_fail("{'emails':['OPS@example.org']}", cv, "email not allowed");

	/* Every list applies. */
	rule_pass("{'common_names':['client-valid'],'dns_names':"
	    "['client-valid.example.org'],'emails':['ops@example.org']}", cv);
	rule_fail("{'common_names':['client-valid'],'dns_names':['nope']}", cv,
	    "DNS name not allowed");

	/* Identities: all attributes of at least one. */
	rule_fail("{'identities':[{'common_name':'client-valid','dns_name':'nope'}]}",
	    cv, "no identity matches");
	rule_pass("{'identities':[{'common_name':'client-valid',"
	    "'dns_name':'client-valid.example.org'}]}", cv);
	rule_pass("{'identities':[{'common_name':'x'},{'serial':'1001'}]}", cv);
	rule_fail("{'identities':[{'common_name':'x'},{'serial':'1002'}]}", cv,
	    "no identity matches");
	rule_pass("{'identities':[{'subject':'cn=client-valid,ou=orders,"
	    "o=spoa-iam tests','issuer':'CN=spoa-iam test intermediate,"
	    "O=spoa-iam tests','email':'ops@example.org'}]}", cv);
	rule_fail("{'identities':[{'subject':'CN=client-valid,OU=orders,"
	    "O=spoa-iam tests','issuer':'CN=spoa-iam test root,"
	    "O=spoa-iam tests'}]}", cv, "no identity matches");
	rule_pass("{'identities':[{'uri':'spiffe://example.org/ns/prod/sa/orders',"
	    "'common_name':'orders-workload'}]}", sp);
	rule_fail("{'identities':[{'uri':'spiffe://example.org/ns/prod/sa/orders',"
	    "'common_name':'client-valid'}]}", sp, "no identity matches");
	snprintf(j, sizeof(j), "{'identities':[{'thumbprint_sha256':'%s',"
	    "'thumbprint_sha1':'%s','issuer_thumbprint_sha256':'%s'}]}", fp256,
	    fp1, int256);
	rule_pass(j, cv);
	rule_fail(j, nocas, "no identity matches");
	rule_fail(j, sp, "no identity matches");
	snprintf(j, sizeof(j), "{'identities':[{'thumbprint_sha256':'%s',"
	    "'thumbprint_sha1':'%s'}]}", fp256, other1);
	rule_fail(j, cv, "no identity matches");
	/* Lists and identities both apply. */
	rule_fail("{'common_names':['other'],'identities':[{'serial':'1001'}]}", cv,
	    "common name not allowed");

	config_free(rule_cfg);
	rule_cfg = NULL;
	free(fp256);
	free(fp1);
	free(other256);
	free(other1);
	free(int256);
	free(root256);
	cert_info_unref(cv);
	cert_info_unref(sp);
	cert_info_unref(nocas);
}

/* ---- validity and binding ------------------------------------------- */

static void
test_validity(void **state)
{
	const struct cert_info *cv = analyze_file("client-valid.pem", cas);
	const struct cert_info *ex = analyze_file("client-expired.pem", cas);
	const struct cert_info *fu = analyze_file("client-future.pem", cas);
	int64_t now = (int64_t)time(NULL);

	(void)state;
	assert_int_equal(cert_validity(cv, now, 0), 0);
	assert_int_equal(cert_validity(ex, now, 0), -1);
	assert_int_equal(cert_validity(ex, now, 3600), -1);
	assert_int_equal(cert_validity(fu, now, 0), -1);
	assert_int_equal(cert_validity(fu, now, 86400), -1);
	/* A skew of 136 years reaches 2040. */
	assert_int_equal(cert_validity(fu, now, UINT32_MAX), 0);

	/* Boundaries: inclusive, then widened by the skew. */
	assert_int_equal(cert_validity(ex, 1609459200, 0), 0);
	assert_int_equal(cert_validity(ex, 1609459201, 0), -1);
	assert_int_equal(cert_validity(ex, 1609459210, 9), -1);
	assert_int_equal(cert_validity(ex, 1609459210, 10), 0);
	assert_int_equal(cert_validity(ex, 1577836800, 0), 0);
	assert_int_equal(cert_validity(ex, 1577836799, 0), -1);
	assert_int_equal(cert_validity(ex, 1577836790, 9), -1);
	assert_int_equal(cert_validity(ex, 1577836790, 10), 0);
	assert_int_equal(cert_validity(fu, 2208988800 - 60, 60), 0);
	assert_int_equal(cert_validity(fu, 2208988800 - 61, 60), -1);
	assert_int_equal(cert_validity(fu, INT64_MIN, UINT32_MAX), -1);
	assert_int_equal(cert_validity(fu, INT64_MAX, UINT32_MAX), -1);
	cert_info_unref(cv);
	cert_info_unref(ex);
	cert_info_unref(fu);
}

static void
test_binding(void **state)
{
	const struct cert_info *cv = analyze_file("client-valid.pem", cas);
	const struct cert_info *sp = analyze_file("client-spiffe.pem", cas);
	char t[64];
	int v;

	(void)state;
	assert_int_equal(cert_binding_ok(cv, cv->sha256_b64, 43), 1);
	assert_int_equal(cert_binding_ok(sp, sp->sha256_b64, 43), 1);
	/* Another certificate's thumbprint. */
	assert_int_equal(cert_binding_ok(cv, sp->sha256_b64, 43), 0);
	/* Wrong lengths, padding, standard alphabet, NULLs. */
	assert_int_equal(cert_binding_ok(cv, cv->sha256_b64, 42), 0);
	memcpy(t, cv->sha256_b64, 43);
	t[43] = '=';
	assert_int_equal(cert_binding_ok(cv, t, 44), 0);
	t[43] = 'A';
	assert_int_equal(cert_binding_ok(cv, t, 44), 0);
	assert_int_equal(cert_binding_ok(cv, cv->sha256_hex, 64), 0);
	assert_int_equal(cert_binding_ok(NULL, cv->sha256_b64, 43), 0);
	assert_int_equal(cert_binding_ok(cv, NULL, 43), 0);
	assert_int_equal(cert_binding_ok(cv, "", 0), 0);
	for (int i = 0; i < 43; i++) {
		memcpy(t, cv->sha256_b64, 43);
		if (t[i] == '-' || t[i] == '_') {
			t[i] = t[i] == '-' ? '+' : '/';
			assert_int_equal(cert_binding_ok(cv, t, 43), 0);
		}
	}
	/* Non-canonical: the two unused bits of the last character set
	 * (same 32 bytes once decoded leniently). */
	memcpy(t, cv->sha256_b64, 43);
	for (v = 0; v < 64; v++)
		if ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789-_"[v] == t[42])
			break;
	assert_int_equal(v & 3, 0);
	t[42] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_"[v | 1];
	assert_int_equal(cert_binding_ok(cv, t, 43), 0);
	/* One bit anywhere. */
	for (int i = 0; i < 43; i++) {
		memcpy(t, cv->sha256_b64, 43);
		t[i] = t[i] == 'A' ? 'Q' : 'A';
		assert_int_equal(cert_binding_ok(cv, t, 43), 0);
	}
	/* Embedded NUL with the right length. */
	memcpy(t, cv->sha256_b64, 43);
	t[20] = '\0';
	assert_int_equal(cert_binding_ok(cv, t, 43), 0);
	cert_info_unref(cv);
	cert_info_unref(sp);
}

/* ---- CA store ------------------------------------------------------- */

static void
test_ca_store(void **state)
{
	struct ca_store *s;
	uint8_t want[32];
	char err[256];

	(void)state;
	assert_int_equal(ca_store_count(cas), 2);
	assert_int_equal(pki_fingerprint("int.pem", "sha256", want, 32), 32);
	assert_memory_equal(ca_store_sha256(cas, 0), want, 32);
	assert_int_equal(pki_fingerprint("ca.pem", "sha256", want, 32), 32);
	assert_memory_equal(ca_store_sha256(cas, 1), want, 32);
	assert_null(ca_store_sha256(cas, 2));
	assert_int_not_equal(ca_store_gen(cas), 0);
	assert_int_equal(ca_store_gen(NULL), 0);

	s = ca_store_load(pki_path("ca.pem"), err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(ca_store_count(s), 1);
	assert_int_not_equal(ca_store_gen(s), ca_store_gen(cas));
	ca_store_free(s);

	/* A leaf is not a CA; a bundle with a leaf fails as a whole. */
	assert_null(ca_store_load(pki_path("client-valid.crt"), err,
	    sizeof(err)));
	assert_non_null(strstr(err, "certificate 1 is not a CA certificate"));
	assert_null(ca_store_load(pki_path("server-chain.crt"), err,
	    sizeof(err)));
	assert_non_null(strstr(err, "is not a CA"));
	assert_null(ca_store_load(pki_path("missing.pem"), err, sizeof(err)));
	assert_non_null(strstr(err,
	    "missing.pem: cannot read: No such file or directory"));
	assert_null(ca_store_load(pki_path("crl.pem"), err, sizeof(err)));
	assert_non_null(strstr(err, "no certificate found"));
	assert_null(ca_store_load_mem((const uint8_t *)"", 0, err,
	    sizeof(err)));
	assert_string_equal(err, "no certificate found");
	{
		static const char bad[] = "-----BEGIN CERTIFICATE-----\n"
		    "MIIBkTCB+wIJAK!!!\n-----END CERTIFICATE-----\n";

		assert_null(ca_store_load_mem((const uint8_t *)bad,
		    sizeof(bad) - 1, err, sizeof(err)));
		assert_string_equal(err, "certificate 1: bad PEM or DER");
	}
	ca_store_free(NULL);
}

static void
test_refcount(void **state)
{
	const struct cert_info *ci = analyze_file("client-valid.pem", cas);

	(void)state;
	assert_ptr_equal(cert_info_ref(ci), ci);
	cert_info_unref(ci);
	assert_string_equal(ci->cn, "client-valid");     /* still alive */
	cert_info_unref(ci);
	cert_info_unref(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_analyze_valid),
		cmocka_unit_test(test_analyze_others),
		cmocka_unit_test(test_refused_encodings),
		cmocka_unit_test(test_refused_names),
		cmocka_unit_test(test_serials),
		cmocka_unit_test(test_dn_match_pki),
		cmocka_unit_test(test_dn_match_special),
		cmocka_unit_test(test_dn_compiled_as_text),
		cmocka_unit_test(test_dn_compile_errors),
		cmocka_unit_test(test_dn_rule_owns),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_validity),
		cmocka_unit_test(test_binding),
		cmocka_unit_test(test_ca_store),
		cmocka_unit_test(test_refcount),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
